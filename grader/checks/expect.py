"""Strict readers of observations: each returns a plain value or raises Fail with a clear message.

Types are checked exactly (`type(x) is int`, never isinstance or ==), because the observation
came from untrusted code; decoded values are already plain, this adds the student-facing wording.
"""

import numpy as np

from grader.checks.registry import Fail
from grader.sandbox.values import Opaque, Tensor, describe


def mapping(value, what, keys):
    """A dict observation with at least `keys` (our own probes' output)."""
    if type(value) is not dict or not all(k in value for k in keys):
        raise Fail(f"{what}: the grader could not read the result")
    return value


def integer(value, what):
    if type(value) is not int:
        raise Fail(f"{what} should be an int, but it is {describe(value)}")
    return value


def shape(value, what):
    """A tuple (or list) of non-negative ints, as from `tuple(t.shape)`."""
    if type(value) not in (tuple, list) or not all(type(d) is int and d >= 0 for d in value):
        raise Fail(f"{what} should be a tuple of ints, but it is {describe(value)}")
    return tuple(value)


def parameter_rows(report, what):
    """[(name, shape, requires_grad)] from a probe's "parameters" rows, types checked exactly."""
    rows = report.get("parameters")
    if type(rows) is not list:
        raise Fail(f"{what}: the grader could not read the parameters")
    out = []
    for row in rows:
        if type(row) is not list or len(row) != 3 or type(row[0]) is not str or type(row[2]) is not bool:
            raise Fail(f"{what}: the grader could not read the parameters")
        out.append((row[0], shape(row[1], f"parameter {row[0]}'s shape"), row[2]))
    return out


def array(value, what, ndim=None, allow_numpy=True, allow_tensor=True):
    """A numeric array from a returned tensor or numpy array; finite values required."""
    if isinstance(value, Tensor) and allow_tensor:
        out = value.array
    elif type(value) is np.ndarray and allow_numpy:
        out = value
    else:
        wanted = " or ".join(n for n, ok in (("a tensor", allow_tensor), ("a numpy array", allow_numpy)) if ok)
        raise Fail(f"{what} should be {wanted}, but it is {describe(value)}")
    if out.dtype.kind not in "biuf":
        raise Fail(f"{what} should hold numbers, but its dtype is {out.dtype}")
    if ndim is not None and out.ndim != ndim:
        raise Fail(f"{what} should have {ndim} dimension{'s' if ndim != 1 else ''}, but its shape is {out.shape}")
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise Fail(f"{what} contains NaN or infinite values")
    return out


def floats(value, what, length=None):
    """A list of finite floats (python floats or ints), e.g. a loss history."""
    if type(value) not in (list, tuple) or not all(type(v) in (float, int) for v in value):
        raise Fail(f"{what} should be a list of floats, but it is {describe(value)}")
    if length is not None and len(value) != length:
        raise Fail(f"{what} should have {length} entries, but it has {len(value)}")
    if not all(np.isfinite(v) for v in value):
        raise Fail(f"{what} contains NaN or infinite values")
    return [float(v) for v in value]


def is_opaque(value):
    return isinstance(value, Opaque)
