"""Check kinds on plain student functions and declared values: greyscale loading, Conv2d shapes, constants."""

import io

import numpy as np
from PIL import Image

from grader.checks import expect
from grader.checks.compare import compare
from grader.checks.registry import Fail, Param, Verdict, check_kind


@check_kind("greyscale_download", probes=("greyscale",),
            function=Param((str,)),
            size=Param((list,), default=[23, 31], doc="[H, W] of the generated image"))
def greyscale_download(ctx):
    """The child serves a generated colour PNG on 127.0.0.1; the student's loader must return
    PIL's greyscale of those bytes as an (H, W) array, on a 0..255 or a 0..1 scale."""
    height, width = ctx.params["size"]
    png = _colour_png(height, width, ctx.check.seed)
    value = ctx.probe("greyscale", f"`{ctx.params['function']}`", blobs={"image": png},
                      function=ctx.params["function"], image="image")
    got = expect.array(value, "the returned image", allow_tensor=False).astype(np.float64)
    if got.shape != (height, width):
        hint = " (it still has colour channels)" if got.shape[:2] == (height, width) else ""
        raise Fail(f"the returned array should have shape (H, W) = ({height}, {width}), but it has shape {got.shape}{hint}")
    want = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    for scale in (1.0, 255.0):
        if np.abs(got * scale - want).max() <= 1.0:
            return Verdict(True, f"greyscale image of shape {got.shape} matches PIL's conversion")
    raise Fail("the shape is right but the values differ from PIL's greyscale conversion "
               f"(largest difference {np.abs(got - want).max():.1f} on the 0..255 scale); "
               "use Image.open(...).convert('L')")


def _colour_png(height, width, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _cases(value):
    for case in value:
        ok = type(case) is list and len(case) == 3 and all(type(v) is int for v in case[:2])
        kernel = case[2] if ok else None
        if not ok or not (type(kernel) is int or (type(kernel) is list and len(kernel) == 2)):
            return f"{case!r} is not [in_channels, out_channels, kernel] (kernel an int or [h, w])"
    return None if value else "must not be empty"


@check_kind("conv_parameter_shapes", probes=("call",),
            function=Param((str,)),
            cases=Param((list,), validate=_cases, doc="[in, out, kernel] cases, kernel an int or a pair"))
def conv_parameter_shapes(ctx):
    """The student's shapes for Conv2d(in, out, kernel) equal those of a real nn.Conv2d built here."""
    import torch

    name = ctx.params["function"]
    for c_in, c_out, kernel in ctx.params["cases"]:
        kernel = tuple(kernel) if type(kernel) is list else kernel
        conv = torch.nn.Conv2d(c_in, c_out, kernel)
        want = {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}
        got = ctx.call(name, c_in, c_out, kernel)
        call = f"{name}({c_in}, {c_out}, {kernel!r})"
        if type(got) is not dict or set(got) != {"weight", "bias"}:
            raise Fail(f"{call} should return a dict with keys 'weight' and 'bias', but it returned {expect.describe(got)}")
        for key in ("weight", "bias"):
            if expect.shape(got[key], f"{call}['{key}']") != want[key]:
                raise Fail(f"{call}['{key}'] is {tuple(got[key])}, but a real Conv2d's {key} has shape {want[key]}")
    return Verdict(True, f"shapes right for {len(ctx.params['cases'])} cases, int and pair kernel sizes")


def _plain_value(value):
    if type(value) in (str, int, float, bool):
        return None
    if type(value) is list:
        for item in value:
            problem = _plain_value(item)
            if problem:
                return problem
        return None if value else "must not be empty"
    return f"{value!r} is not a string, number or list of them"


@check_kind("declared_constant", probes=("attribute",),
            name=Param((str,)),
            expected=Param((list, str, int, float, bool), validate=_plain_value,
                           doc="the value, compared strictly by type (a list may also be a tuple)"),
            meaning=Param((str,), default="the real value"))
def declared_constant(ctx):
    """A module-level value the student declares (an int computed by hand, a list of names, a
    string, a number) equals the rubric's value, item by item and by type."""
    name, want = ctx.params["name"], ctx.params["expected"]
    value = ctx.probe("attribute", f"reading `{name}`", name=name)
    if value is None:
        raise Fail(f"`{name}` is not implemented yet (it is still None)")
    if type(want) is int:
        expect.integer(value, f"`{name}`")
        if value != want:
            raise Fail(f"`{name}` is {value}, which is not {ctx.params['meaning']}; work it out again layer by layer")
        return Verdict(True, f"`{name}` = {value} is right")
    problem = compare(value, want, 0.0, 0.0, f"`{name}`")
    if problem:
        raise Fail(f"{problem}; `{name}` should be {ctx.params['meaning']}")
    return Verdict(True, f"`{name}` is right")
