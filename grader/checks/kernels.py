"""Check kinds on hand-set convolution kernels, judged by behaviour on images made here.

The child only reports the Conv2d's weight and bias; the parent convolves its own synthetic
vertical-edge, horizontal-edge and flat images. Any kernel that responds to the right edge and
not to the other one or to flat regions passes (Sobel, Prewitt, either sign).
"""

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind
from grader.sandbox.values import Tensor

LEAK = 0.05  # a response below 5% of the detector's own edge response counts as "no response"


def detector_weights(ctx, factory):
    """The (2, 1, 3, 3) weight and (2,) bias of the student's detector, validated."""
    import torch

    info = ctx.probe("module_info", f"`{factory}`", factory=factory, values=True)
    info = expect.mapping(info, f"`{factory}()`", ["class", "is_module"])
    conv = info.get("conv")
    if info["is_module"] is not True or type(conv) is not dict:
        raise Fail(f"`{factory}()` should return an nn.Conv2d, but it returned a {info['class']}")
    if (conv.get("in_channels"), conv.get("out_channels"), conv.get("kernel_size")) != (1, 2, (3, 3)):
        raise Fail(f"the detector should be Conv2d(1, 2, kernel_size=3), but it has {conv.get('in_channels')} input "
                   f"channel(s), {conv.get('out_channels')} output channel(s) and kernel size {conv.get('kernel_size')}")
    if conv.get("stride") != (1, 1) or conv.get("padding") != (0, 0):
        raise Fail(f"the detector should use stride 1 and no padding, but it has stride {conv.get('stride')} "
                   f"and padding {conv.get('padding')}")
    values = info.get("values") if type(info.get("values")) is dict else {}
    weight = expect.array(values.get("weight"), "the detector's weight", ndim=4)
    if weight.shape != (2, 1, 3, 3):
        raise Fail(f"the detector's weight should have shape (2, 1, 3, 3), but it has {weight.shape}")
    bias = values.get("bias")
    bias = np.zeros(2) if bias is None else expect.array(bias, "the detector's bias", ndim=1)
    return torch.from_numpy(weight.astype(np.float64)), torch.from_numpy(bias.astype(np.float64))


def edge_images(size=12):
    """Synthetic test images: a vertical step edge, a horizontal step edge, a flat grey field."""
    import torch

    vertical = torch.zeros(size, size, dtype=torch.float64)
    vertical[:, size // 2:] = 1.0
    return {"vertical": vertical, "horizontal": vertical.T.contiguous(),
            "flat": torch.full((size, size), 0.7, dtype=torch.float64)}


def responses(weight, bias):
    """Largest absolute response of each output channel to each synthetic image."""
    import torch.nn.functional as F

    out = {}
    for name, image in edge_images().items():
        maps = F.conv2d(image[None, None], weight, bias)[0]
        out[name] = [float(maps[c].abs().max()) for c in range(2)]
    return out


def judge(resp):
    """Return None when channel 0 detects vertical and channel 1 horizontal edges, else why not."""
    problem = _problem(resp, vertical=0, horizontal=1)
    if problem and _problem(resp, vertical=1, horizontal=0) is None:
        return ("your channels are swapped: channel 0 responds to horizontal edges and channel 1 to vertical "
                "edges; channel 0 must detect vertical edges and channel 1 horizontal edges")
    return problem


def _problem(resp, vertical, horizontal):
    if max(max(r) for r in resp.values()) < 1e-6:
        return "the detector does not respond to edges at all; set its weights to edge kernels (e.g. Sobel)"
    for channel, kind, other in ((vertical, "vertical", "horizontal"), (horizontal, "horizontal", "vertical")):
        own, leak, flat = resp[kind][channel], resp[other][channel], resp["flat"][channel]
        if own < 1e-6:
            return f"channel {channel} does not respond to {kind} edges"
        if flat > LEAK * own:
            return (f"channel {channel} responds on flat regions; its kernel weights should sum to zero "
                    "and its bias should be zero")
        if leak > LEAK * own:
            return f"channel {channel} responds to {other} edges as well as {kind} ones; it must detect only {kind} edges"
    return None


@check_kind("edge_kernels", probes=("module_info",), factory=Param((str,)))
def edge_kernels(ctx):
    """Channel 0 responds to vertical edges, channel 1 to horizontal edges, neither to flat regions."""
    weight, bias = detector_weights(ctx, ctx.params["factory"])
    problem = judge(responses(weight, bias))
    if problem:
        raise Fail(problem)
    return Verdict(True, "channel 0 detects vertical edges, channel 1 horizontal edges, flat regions give 0")


@check_kind("edge_maps", probes=("call", "module_info"),
            function=Param((str,)),
            factory=Param((str,)),
            size=Param((list,), default=[9, 14]))
def edge_maps(ctx):
    """`edge_maps(image)` equals the student's own detector applied to an image made here."""
    import torch
    import torch.nn.functional as F

    height, width = ctx.params["size"]
    weight, bias = detector_weights(ctx, ctx.params["factory"])
    image = torch.rand(height, width, generator=torch.Generator().manual_seed(ctx.check.seed))
    got = expect.array(ctx.call(ctx.params["function"], Tensor(image.numpy())), "the result", allow_numpy=True)
    want = F.conv2d(image.double()[None, None], weight, bias)[0].numpy()
    if got.shape != want.shape:
        raise Fail(f"for an image of shape ({height}, {width}) the result should have shape {want.shape}, "
                   f"but it has shape {got.shape}")
    if not np.allclose(got, want, atol=1e-4, rtol=1e-4):
        raise Fail("the maps differ from your detector's output on the same image "
                   f"(largest difference {np.abs(got - want).max():.3g})")
    return Verdict(True, f"maps of shape {want.shape} match the detector's output")
