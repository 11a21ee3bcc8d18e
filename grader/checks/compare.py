"""Comparing a student's value with the reference's, both decoded from their children.

`compare(got, want)` returns None when they match within the tolerances, else a sentence for the
student; for tensors it also says how the two differ when the difference has a simple form (a wrong
sign, a constant factor, a flipped kernel, a transpose, a shape off by one or a missing dimension),
because that is usually the student's mistake.
"""

import math

import numpy as np

from grader.errors import GraderError
from grader.sandbox.values import Opaque, Tensor, describe


class ReferenceValueError(GraderError):
    """The reference returned something that is not plain data: the course's mistake, not the student's."""


def _numeric(value):
    if isinstance(value, Tensor):
        value = value.array
    if type(value) is np.ndarray and value.dtype.kind in "biuf":
        return value
    return None


def how_they_differ(got, want, atol, rtol):
    """A short phrase naming a simple relation between arrays `got` and `want`, or ''."""
    close = lambda a: a.shape == want.shape and np.allclose(a, want, atol=atol, rtol=rtol)  # noqa: E731
    if got.shape != want.shape:
        if got.ndim == want.ndim and sum(abs(g - w) for g, w in zip(got.shape, want.shape)) == 1:
            return "its shape is off by one in one dimension (check the borders, the padding or the stride)"
        if tuple(d for d in got.shape if d != 1) == tuple(d for d in want.shape if d != 1):
            return "it has an extra or a missing dimension of size 1"
        if got.size == want.size:
            if got.ndim == want.ndim == 2 and close(got.T):
                return "it is the transpose of the expected result"
            return "it has the right number of entries in another shape (check the order of the dimensions)"
        return ""
    if close(-got):
        return "it has the wrong sign"
    flat_got, flat_want = got.ravel(), want.ravel()
    big = int(np.argmax(np.abs(flat_want))) if flat_want.size else 0
    if flat_want.size and abs(flat_want[big]) > atol:
        factor = flat_got[big] / flat_want[big]
        if factor != 0 and np.isfinite(factor) and close(got / factor):
            return f"it is the expected result times {factor:.4g}"
    if got.ndim >= 2:
        if close(np.flip(got, axis=(-2, -1))):
            return "it is the expected result rotated by 180 degrees (a flipped kernel: convolution instead of cross-correlation)"
        if got.shape[-1] == got.shape[-2] and close(np.swapaxes(got, -1, -2)):
            return "it is the transpose of the expected result"
    return ""


def _compare_arrays(got, want, atol, rtol, where):
    array = _numeric(got)
    if array is None:
        return f"{where} should be a tensor, but it is {describe(got)}"
    array, want = array.astype(np.float64), want.astype(np.float64)
    if array.shape == want.shape and np.allclose(array, want, atol=atol, rtol=rtol, equal_nan=False):
        return None
    hint = how_they_differ(array, want, atol, rtol)
    if array.shape != want.shape:
        return f"{where} has shape {array.shape}, but it should have shape {want.shape}" + (f": {hint}" if hint else "")
    worst = float(np.nanmax(np.abs(array - want))) if array.size else 0.0
    return f"{where} differs from the expected values (largest difference {worst:.4g})" + (f": {hint}" if hint else "")


def compare(got, want, atol=1e-5, rtol=1e-4, where="the result"):
    """None when `got` matches the reference's `want` (both decoded values), else why not."""
    if isinstance(want, Opaque):
        raise ReferenceValueError(f"the reference's {where} is {describe(want)}, which cannot be compared")
    wanted = _numeric(want)
    if wanted is not None:
        return _compare_arrays(got, wanted, atol, rtol, where)
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
            return f"{where} should be a dict with keys {sorted(want, key=str)}, but it is {describe(got)}"
        for key in want:
            problem = compare(got[key], want[key], atol, rtol, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    raise ReferenceValueError(f"the reference's {where} is of unsupported type {type(want).__name__}")
