"""The registry of check kinds: a decorator plus a dict, validated at registration.

A check kind is one function `run(ctx) -> Verdict` registered under a name with the parameters
it accepts. The rubric loader validates every check's parameters against this registry before any
student code runs. A kind fails a check by raising `Fail(message)` or returning a failed Verdict.
"""

from dataclasses import dataclass, field
from typing import Any, Callable

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind: accepted types, default, and an optional deeper validator."""

    types: tuple
    default: Any = REQUIRED
    validate: Callable[[Any], str | None] | None = None
    doc: str = ""

    @property
    def required(self):
        return self.default is REQUIRED


@dataclass(frozen=True)
class Artifact:
    """Something a check shows in the report: a PNG figure or a curve of numbers."""

    kind: str  # "png" or "curve"
    title: str
    data: Any  # bytes for png, list[float] for curve


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""
    artifacts: tuple = field(default_factory=tuple)
    value: float | None = None  # the measured quantity, e.g. an accuracy (used by calibration)


class Fail(Exception):
    """Raised by a check kind to fail the check with a message for the student."""

    def __init__(self, message, artifacts=(), value=None):
        super().__init__(message)
        self.message, self.artifacts, self.value = message, tuple(artifacts), value


class Pending(Exception):
    """Raised by a check kind whose points a person gives (a free-text answer): status 'pending'."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# A kind with a threshold direction compares the number it measures (`Verdict(value=...)`) with its
# parameter THRESHOLD_PARAM: "at_least" (higher is better, e.g. an accuracy) or "at_most" (lower is
# better, e.g. an error). `grader calibrate` and `grader verify` handle every such kind.
THRESHOLD_DIRECTIONS = ("at_least", "at_most")
THRESHOLD_PARAM = "threshold"


@dataclass(frozen=True)
class CheckKind:
    name: str
    params: dict
    run: Callable
    doc: str
    uses_data: bool = False
    threshold_direction: str | None = None  # None, "at_least" or "at_most" (see THRESHOLD_DIRECTIONS)
    probes: tuple = ()  # names of the child-side probes it asks for (grader.sandbox.probes)
    oracle: tuple = ()  # its parameters naming functions or values the reference solution must define

    def worst(self, values):
        """The worst of measured `values` for this kind's threshold direction."""
        return min(values) if self.threshold_direction == "at_least" else max(values)

    def clears(self, value, threshold):
        """Whether a measured `value` is on the right side of (or at) `threshold`."""
        return value >= threshold if self.threshold_direction == "at_least" else value <= threshold


KINDS: dict[str, CheckKind] = {}


def check_kind(name, /, *, uses_data=False, threshold_direction=None, probes=(), oracle=(), **params):
    """Register `run(ctx) -> Verdict` as check kind `name` accepting `params` (name -> Param);
    `probes` names every child-side probe the kind asks for (`ctx.probe` refuses any other, and a
    rubric using the kind is refused when one of them is not a probe of grader.sandbox.probes);
    `oracle` names the string parameters that name what the reference solution must define (the
    kind asks `ctx.expected` for its answers; a rubric naming something the reference lacks is
    refused when it loads);
    `uses_data` kinds need the rubric's data set, which is loaded before any student code runs;
    `threshold_direction` ("at_least" or "at_most") marks a kind whose measured value must clear
    its parameter `threshold`, which calibration and verification then cover. (The keyword is not
    `threshold`: that is the name of the bound parameter itself.)"""
    for pname, spec in params.items():
        if not isinstance(spec, Param):
            raise TypeError(f"check kind {name!r}: parameter {pname!r} must be declared with Param(...)")
    if threshold_direction not in (None, *THRESHOLD_DIRECTIONS):
        raise ValueError(f"check kind {name!r}: threshold_direction must be None, 'at_least' (higher is better) or "
                         f"'at_most' (lower is better), not {threshold_direction!r}")
    if threshold_direction is not None and THRESHOLD_PARAM not in params:
        raise ValueError(f"check kind {name!r}: threshold_direction={threshold_direction!r} needs a parameter "
                         f"{THRESHOLD_PARAM!r} (the bound its measured value is compared with)")

    if type(probes) is not tuple or not all(type(p) is str and p for p in probes):
        raise TypeError(f"check kind {name!r}: probes must be a tuple of probe names, not {probes!r}")
    if type(oracle) is not tuple or not all(p in params and params[p].types == (str,) for p in oracle):
        raise TypeError(f"check kind {name!r}: oracle must be a tuple of its own string parameters, not {oracle!r}")

    def register(run):
        if name in KINDS:
            raise ValueError(f"check kind {name!r} is registered twice ({KINDS[name].run.__module__} and {run.__module__})")
        KINDS[name] = CheckKind(name, params, run, (run.__doc__ or "").strip(), uses_data, threshold_direction,
                                probes, oracle)
        return run
    return register


def unknown_probes(kind):
    """The probe names `kind` declares that the child side does not register (sorted)."""
    from grader.sandbox import probes as child_probes  # our own code: imported only to read the names

    return sorted(set(kind.probes) - child_probes.names())


def validate_params(kind_name, params):
    """Return (filled params, None) or (None, problem) for a check's parameters."""
    kind = KINDS.get(kind_name)
    if kind is None:
        return None, f"unknown kind '{kind_name}' (known kinds: {', '.join(sorted(KINDS))})"
    missing = unknown_probes(kind)
    if missing:
        return None, (f"kind '{kind_name}' ({kind.run.__module__}) asks for probe(s) {', '.join(missing)}, which the "
                      "sandbox does not have: a bug of the grader's check library, not of the rubric")
    if type(params) is not dict:
        return None, "'params' must be a mapping"
    unknown = sorted(set(params) - set(kind.params))
    if unknown:
        return None, f"unknown parameter(s) {', '.join(unknown)} for kind '{kind_name}' (allowed: {', '.join(sorted(kind.params)) or 'none'})"
    filled = {}
    for pname, spec in kind.params.items():
        if pname not in params:
            if spec.required:
                return None, f"missing required parameter '{pname}' for kind '{kind_name}'"
            filled[pname] = spec.default
            continue
        value = params[pname]
        if not _has_type(value, spec.types):
            names = " or ".join(t.__name__ for t in spec.types)
            return None, f"parameter '{pname}' must be {names}, got {type(value).__name__} {value!r}"
        problem = spec.validate(value) if spec.validate else None
        if problem:
            return None, f"parameter '{pname}': {problem}"
        filled[pname] = value
    return filled, None


def _has_type(value, types):
    if type(value) is bool:
        return bool in types
    if type(value) is int and float in types:
        return True
    return type(value) in types


# ---- validators shared by kinds ----------------------------------------------------------------

def shape_list(value):
    """A list of shapes, each a non-empty list of positive ints."""
    if not value:
        return "must not be empty"
    for shape in value:
        if type(shape) is not list or not shape or not all(type(d) is int and d > 0 for d in shape):
            return f"{shape!r} is not a shape (a list of positive ints)"
    return None


def positive(value):
    return None if value > 0 else "must be positive"


def fraction(value):
    return None if 0 <= value <= 1 else "must be between 0 and 1"
