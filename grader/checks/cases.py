"""Check kinds that compare a student function with the reference solution's on given cases.

`function_cases` calls the student's function on each case (hidden cases stay in the rubric) and
compares the result with what the reference solution's function of the same name returns on the
same arguments (grader.checks.oracle: the reference runs in its own child, the answers are
cached). `raises` checks that bad input is refused with the right exception.

Case arguments in YAML are plain values, or tagged: `{tensor: [[...]]}` (a literal float32
tensor), `{tensor: {shape: [...], seed: n, low: 0, high: 1}}` (a seeded uniform tensor),
`{tuple: [...]}`, with an optional `dtype: int64` beside `tensor`.
"""

from grader.checks.compare import compare
from grader.checks.registry import Fail, Param, Verdict, check_kind
from grader.sandbox.session import ProbeFailure
from grader.sandbox.values import Tensor, describe


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


def _call_text(function, args, kwargs):
    parts = [_short_arg(a) for a in args] + [f"{k}={_short_arg(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def _short_arg(value):
    import torch

    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@check_kind("function_cases", probes=("call",), oracle=("function",),
            function=Param((str,), doc="the function of the student and of the reference solution"),
            cases=Param((list,), validate=_valid_cases),
            atol=Param((float,), default=1e-5),
            rtol=Param((float,), default=1e-4))
def function_cases(ctx):
    """The student's function returns what the reference solution's returns, on every case."""
    p = ctx.params
    for case in p["cases"]:
        args = [build_arg(a) for a in case.get("args", [])]
        kwargs = {k: build_arg(v) for k, v in case.get("kwargs", {}).items()}
        request = dict(call_args=[_for_child(a) for a in args], function=p["function"], kwargs=_encoded(kwargs))
        want = ctx.expected("call", f"`{p['function']}`", **request)
        got = ctx.probe("call", f"`{p['function']}`", **request)
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


def _valid_models(value):
    for index, spec in value.items():
        if type(index) is not int or index < 0 or type(spec) is not list or not spec:
            return f"{index!r}: {spec!r} is not a position (an int) and a list of layers"
        for entry in spec:
            ok = (type(entry) is list and entry and entry[0] in ("conv", "linear")
                  and len(entry) == (4 if entry[0] == "conv" else 3) and all(type(v) is int and v > 0 for v in entry[1:]))
            if not ok:
                return f"{entry!r} is not ['conv', in, out, kernel] or ['linear', in, out]"
    return None


@check_kind("raises", probes=("call",),
            function=Param((str,)),
            args=Param((list,), default=[]),
            models=Param((dict,), default={}, validate=_valid_models,
                         doc="position -> layers of a model the child builds there among the arguments, "
                             "e.g. {0: [[linear, 4, 3]]}"),
            exception=Param((str,), default="ValueError"))
def raises(ctx):
    """Calling the function with bad arguments raises the documented exception."""
    p = ctx.params
    shown = list(p["args"])
    for index in sorted(p["models"]):
        shown.insert(index, _Shown("model"))
    call = _call_text(p["function"], shown, {})
    try:
        got = ctx.probe("call", f"`{p['function']}`", call_args=[_for_child(build_arg(a)) for a in p["args"]],
                        function=p["function"], models={str(i): s for i, s in p["models"].items()})
    except ProbeFailure as exc:
        if exc.error_type == p["exception"]:
            return Verdict(True, f"{call} raises {p['exception']}")
        if exc.error_type in (None, "NotImplementedError"):
            raise  # not implemented, missing, timed out or crashed: reported as such
        raise Fail(f"{call} should raise {p['exception']}, but {exc.message}") from None
    raise Fail(f"{call} should raise {p['exception']}, but it returned without an error ({describe(got)})")


class _Shown(str):
    """An argument shown by name in a call's text (`model`), not by its repr."""

    def __repr__(self):
        return str(self)
