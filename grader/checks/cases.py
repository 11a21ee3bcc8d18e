"""Check kinds that compare a student function with the reference solution's on given cases.

`function_cases` calls the student's function on each case (hidden cases stay in the rubric) and
compares the result with what the reference solution's function of the same name returns on the
same arguments (grader.checks.oracle: the reference runs in its own child, the answers are
cached). `raises` checks that bad input is refused with the right exception; `avoids_ops` that a
function written by hand does not call the library function it replaces.

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


TRANSFORMS = {"flip": ("rotated by 180 degrees", lambda t: t.flip(-2, -1)),
              "transpose": ("transposed", lambda t: t.transpose(-2, -1)),
              "negate": ("negated", lambda t: -t)}


def _valid_mistakes(value):
    for entry in value:
        if type(entry) is dict and set(entry) == {"kwarg", "transform", "says"} and type(entry["kwarg"]) is str \
                and entry["transform"] == "ignored" and type(entry["says"]) is str:
            continue
        if (type(entry) is not dict or set(entry) != {"arg", "transform", "says"} or type(entry["arg"]) is not int
                or entry["arg"] < 0 or entry["transform"] not in TRANSFORMS or type(entry["says"]) is not str):
            return (f"{entry!r} is not a mapping of arg (a position), transform ({', '.join(TRANSFORMS)}) "
                    "and says (the mistake in the student's words), nor of kwarg (a keyword argument), "
                    "transform: ignored and says")
    return None


@check_kind("function_cases", probes=("call",), oracle=("function",),
            function=Param((str,), doc="the function of the student and of the reference solution"),
            cases=Param((list,), validate=_valid_cases),
            atol=Param((float,), default=1e-5),
            rtol=Param((float,), default=1e-4),
            mistakes=Param((list,), default=[], validate=_valid_mistakes,
                           doc="common mistakes recognised on a wrong result: the student's result equals the "
                               "reference's on the case with tensor argument `arg` transformed (flip, transpose, "
                               "negate), or with keyword argument `kwarg` left out (transform: ignored); the "
                               "message then says `says`"))
def function_cases(ctx):
    """The student's function returns what the reference solution's returns, on every case; a wrong
    result that the reference gives on a transformed argument is named as that mistake."""
    p = ctx.params
    for case in p["cases"]:
        args = [build_arg(a) for a in case.get("args", [])]
        kwargs = {k: build_arg(v) for k, v in case.get("kwargs", {}).items()}
        request = dict(call_args=[_for_child(a) for a in args], function=p["function"], kwargs=_encoded(kwargs))
        want = ctx.expected("call", f"`{p['function']}`", **request)
        got = ctx.probe("call", f"`{p['function']}`", **request)
        call = f"`{_call_text(p['function'], args, kwargs)}`"
        problem = compare(got, want, p["atol"], p["rtol"], call)
        if problem:
            raise Fail(f"{_recognised(ctx, p, args, kwargs, request, got, call) or problem}\n"
                       f"to reproduce: {reproduction(p['function'], case)}")
    return Verdict(True, f"right on all {len(p['cases'])} cases")


def _spec_text(spec):
    """Python that builds the argument `spec` describes (see the module docstring)."""
    if type(spec) is dict and "tuple" in spec:
        items = [_spec_text(v) for v in spec["tuple"]]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
    if type(spec) is dict and "tensor" in spec:
        body = spec["tensor"]
        if type(body) is not dict:
            return f"torch.tensor({body!r}, dtype=torch.{spec.get('dtype', 'float32')})"
        shape = ", ".join(str(d) for d in body["shape"])
        text = f"torch.rand({shape}, generator=torch.Generator().manual_seed({body.get('seed', 0)}))"
        low, high = body.get("low", 0.0), body.get("high", 1.0)
        if (low, high) != (0.0, 1.0):
            text = f"({text} * {high - low:g} {'-' if low < 0 else '+'} {abs(low):g})"
        return text + (f".to(torch.{spec['dtype']})" if "dtype" in spec else "")
    if type(spec) is list:
        return f"[{', '.join(_spec_text(v) for v in spec)}]"
    return repr(spec)


def reproduction(function, case, limit=600):
    """The case as one Python call a student can paste, capped at `limit` characters."""
    parts = [_spec_text(a) for a in case.get("args", [])]
    parts += [f"{k}={_spec_text(v)}" for k, v in case.get("kwargs", {}).items()]
    text = f"{function}({', '.join(parts)})"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _recognised(ctx, p, args, kwargs, request, got, call):
    """The rubric's sentence for the first of its `mistakes` whose transformed case the reference
    answers with the student's result, or None."""
    import torch

    for mistake in p["mistakes"]:
        if "kwarg" in mistake:
            found = _ignored_kwarg(ctx, p, mistake, kwargs, request, got, call)
            if found:
                return found
            continue
        index = mistake["arg"]
        if index >= len(args) or not isinstance(args[index], torch.Tensor) or args[index].dim() < 2:
            continue
        text, transform = TRANSFORMS[mistake["transform"]]
        changed = list(args)
        changed[index] = transform(args[index]).contiguous()
        if torch.equal(changed[index], args[index]):
            continue  # the transform changes nothing here (a symmetric kernel): no evidence either way
        other = dict(request, call_args=[_for_child(a) for a in changed])
        if compare(got, ctx.expected("call", f"`{p['function']}`", **other), p["atol"], p["rtol"], call) is None:
            return (f"{call} returns what it should return with argument {index + 1} {text}: "
                    f"{mistake['says']}")
    return None


def _ignored_kwarg(ctx, p, mistake, kwargs, request, got, call):
    """The mistake's sentence when the student's result is the reference's without keyword argument
    `kwarg` (its default), on a case that passes it; else None."""
    name = mistake["kwarg"]
    if name not in kwargs:
        return None  # the case does not pass it: no evidence either way
    other = dict(request, kwargs=_encoded({k: v for k, v in kwargs.items() if k != name}))
    if compare(got, ctx.expected("call", f"`{p['function']}`", **other), p["atol"], p["rtol"], call) is None:
        return f"{call} returns what it should return without `{name}={_short_arg(kwargs[name])}`: {mistake['says']}"
    return None


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


def _op_names(value):
    if not value or not all(type(v) is str and v.strip("_").isidentifier() for v in value):
        return "must be a non-empty list of torch function names, e.g. [conv2d]"
    return None


@check_kind("avoids_ops", probes=("call_traced",),
            function=Param((str,)),
            args=Param((list,), default=[]),
            kwargs=Param((dict,), default={}),
            ops=Param((list,), validate=_op_names, doc="torch functions the function must not call, e.g. [conv2d]"),
            instead=Param((str,), default="", doc="what the assignment asks for instead, said on failure"))
def avoids_ops(ctx):
    """Called on the given arguments, the function calls none of the torch functions `ops` (by name,
    leading underscores ignored, as a TorchFunctionMode in the child sees them): the assignment asks
    for it to be written by hand."""
    p = ctx.params
    args = [build_arg(a) for a in p["args"]]
    kwargs = {k: build_arg(v) for k, v in p["kwargs"].items()}
    report = ctx.probe("call_traced", f"`{p['function']}`", call_args=[_for_child(a) for a in args],
                       function=p["function"], kwargs=_encoded(kwargs))
    seen = report.get("ops") if type(report) is dict else None
    if type(seen) is not list or not all(type(n) is str for n in seen):
        raise Fail(f"`{p['function']}`: the grader could not read which torch functions it called")
    banned = {n.strip("_") for n in p["ops"]}
    used = sorted({n for n in seen if n.strip("_") in banned})
    if used:
        instead = f"; {p['instead']}" if p["instead"] else ""
        raise Fail(f"`{_call_text(p['function'], args, kwargs)}` calls torch's {', '.join(used)}: the assignment "
                   f"asks you to compute it yourself{instead}")
    return Verdict(True, f"computed without {', '.join(sorted(banned))}")
