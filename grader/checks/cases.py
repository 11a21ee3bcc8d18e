"""Check kinds that compare a student function with the parent's own computation on given cases.

`function_cases` calls the student's function on each case (hidden cases stay in the rubric) and
compares the result with a reference implementation that runs here in the parent, registered with
`@reference_impl("name")`. `raises` checks that bad input is refused with the right exception.

Case arguments in YAML are plain values, or tagged: `{tensor: [[...]]}` (a literal float32
tensor), `{tensor: {shape: [...], seed: n, low: 0, high: 1}}` (a seeded uniform tensor),
`{tuple: [...]}`, with an optional `dtype: int64` beside `tensor`.
"""

import math

import numpy as np

from grader.checks.registry import Fail, Param, Verdict, check_kind
from grader.sandbox.session import ProbeFailure
from grader.sandbox.values import Tensor, describe

REFERENCE_IMPLS = {}


def reference_impl(name):
    """Register a parent-side reference implementation under `name` (refused twice)."""
    def register(fn):
        if name in REFERENCE_IMPLS:
            raise ValueError(f"reference implementation {name!r} is registered twice")
        REFERENCE_IMPLS[name] = fn
        return fn
    return register


def build_arg(spec):
    """A case argument from its YAML spec (see the module docstring)."""
    import torch

    if type(spec) is dict and "tuple" in spec:
        return tuple(build_arg(v) for v in spec["tuple"])
    if type(spec) is dict and "tensor" in spec:
        dtype = getattr(torch, spec.get("dtype", "float32"))
        body = spec["tensor"]
        if type(body) is dict:
            generator = torch.Generator().manual_seed(body.get("seed", 0))
            low, high = body.get("low", 0.0), body.get("high", 1.0)
            return (torch.rand(*body["shape"], generator=generator) * (high - low) + low).to(dtype)
        return torch.tensor(body, dtype=dtype)
    if type(spec) is list:
        return [build_arg(v) for v in spec]
    return spec


def _for_child(value):
    """Arguments as the wire encoding wants them: tensors wrapped so the child gets torch tensors."""
    import torch

    if isinstance(value, torch.Tensor):
        return Tensor(value.numpy())
    if isinstance(value, (list, tuple)):
        return type(value)(_for_child(v) for v in value)
    return value


def _valid_cases(value):
    for case in value:
        if type(case) is not dict or type(case.get("args", [])) is not list or type(case.get("kwargs", {})) is not dict:
            return f"{case!r} is not a mapping with 'args' (a list) and optional 'kwargs' (a mapping)"
    return None if value else "must not be empty"


def compare(got, want, atol, rtol, where="the result"):
    """None when `got` (decoded from the child) matches `want` (computed here), else why not."""
    import torch

    if isinstance(want, torch.Tensor):
        want = want.detach().double().numpy()
        if isinstance(got, Tensor):
            got = got.array
        if type(got) is not np.ndarray or got.dtype.kind not in "biuf":
            return f"{where} should be a tensor, but it is {describe(got)}"
        if got.shape != want.shape:
            return f"{where} has shape {got.shape}, but it should have shape {want.shape}"
        if not np.allclose(got.astype(np.float64), want, atol=atol, rtol=rtol, equal_nan=False):
            worst = float(np.nanmax(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
            return f"{where} differs from the expected values (largest difference {worst:.4g})"
        return None
    if type(want) is bool or want is None or type(want) is str:
        return None if (type(got) is type(want) and got == want) else f"{where} is {describe(got)}, expected {want!r}"
    if type(want) is int:
        if type(got) is not int:
            return f"{where} should be an int, but it is {describe(got)}"
        return None if got == want else f"{where} is {got}, expected {want}"
    if type(want) is float:
        if type(got) not in (int, float) or not math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
            return f"{where} is {describe(got)}, expected {want:.6g}"
        return None
    if type(want) in (list, tuple):
        if type(got) not in (list, tuple) or len(got) != len(want):
            return f"{where} should be a sequence of {len(want)} items, but it is {describe(got)}"
        for index, (g, w) in enumerate(zip(got, want)):
            problem = compare(g, w, atol, rtol, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if type(want) is dict:
        if type(got) is not dict or set(got) != set(want):
            return f"{where} should be a dict with keys {sorted(want)}, but it is {describe(got)}"
        for key in want:
            problem = compare(got[key], want[key], atol, rtol, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    raise TypeError(f"reference value of unsupported type {type(want).__name__}")


def _call_text(function, args, kwargs):
    parts = [_short_arg(a) for a in args] + [f"{k}={_short_arg(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def _short_arg(value):
    import torch

    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@check_kind("function_cases", probes=("call",),
            function=Param((str,)),
            reference=Param((str,), doc="name of a parent-side implementation registered with @reference_impl"),
            cases=Param((list,), validate=_valid_cases),
            atol=Param((float,), default=1e-5),
            rtol=Param((float,), default=1e-4))
def function_cases(ctx):
    """The student's function returns what the parent's reference computes, on every case."""
    p = ctx.params
    impl = REFERENCE_IMPLS.get(p["reference"])
    if impl is None:
        raise Fail(f"rubric error: no reference implementation named {p['reference']!r}")
    for case in p["cases"]:
        args = [build_arg(a) for a in case.get("args", [])]
        kwargs = {k: build_arg(v) for k, v in case.get("kwargs", {}).items()}
        want = impl(*args, **kwargs)
        got = ctx.probe("call", f"`{p['function']}`", call_args=[_for_child(a) for a in args],
                        function=p["function"], kwargs=_encoded(kwargs))
        problem = compare(got, want, p["atol"], p["rtol"], f"`{_call_text(p['function'], args, kwargs)}`")
        if problem:
            raise Fail(problem)
    return Verdict(True, f"right on all {len(p['cases'])} cases")


def _encoded(kwargs):
    from grader.sandbox.values import Encoder

    encoder = Encoder()
    node = encoder.encode({k: _for_child(v) for k, v in kwargs.items()})
    if encoder.blobs:
        raise Fail("rubric error: tensor keyword arguments are not supported; pass tensors positionally")
    return node


@check_kind("raises", probes=("call",),
            function=Param((str,)),
            args=Param((list,), default=[]),
            exception=Param((str,), default="ValueError"))
def raises(ctx):
    """Calling the function with bad arguments raises the documented exception."""
    p = ctx.params
    call = _call_text(p["function"], p["args"], {})
    try:
        got = ctx.probe("call", f"`{p['function']}`", call_args=[_for_child(build_arg(a)) for a in p["args"]],
                        function=p["function"])
    except ProbeFailure as exc:
        if exc.error_type == p["exception"]:
            return Verdict(True, f"{call} raises {p['exception']}")
        if exc.error_type in (None, "NotImplementedError"):
            raise  # not implemented, missing, timed out or crashed: reported as such
        raise Fail(f"{call} should raise {p['exception']}, but {exc.message}") from None
    raise Fail(f"{call} should raise {p['exception']}, but it returned {describe(got)}")
