"""Tagged encoding of the values a student function returns, and their strict decoding.

The child turns whatever a student function returned into tagged JSON plus `.npy` blobs, looking
only at exact built-in types (`type(x) is int`): an object that merely claims to be an int or
a tuple arrives as `Opaque`. The parent rebuilds plain values from that JSON, so no object made
by student code ever reaches a comparison in the parent.
"""

import io
import math
from dataclasses import dataclass

import numpy as np

MAX_ITEMS = 10_000
MAX_STR = 2_000
MAX_DEPTH = 8


@dataclass(frozen=True)
class Opaque:
    """Something the child could not encode as plain data: its type name and a short repr."""

    type_name: str
    text: str

    def __str__(self):
        return f"<{self.type_name}>"


@dataclass(frozen=True)
class Tensor:
    """A torch tensor observed in the child, as a numpy array (decoded with allow_pickle=False)."""

    array: np.ndarray


class DecodeError(Exception):
    """The child's message does not follow the value encoding."""


# ---- child side -----------------------------------------------------------------------------

class Encoder:
    """Collects blobs while encoding; one Encoder per response."""

    def __init__(self):
        self.blobs = {}

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            return {"t": "opaque", "type": "deeply nested", "text": ""}
        kind = type(value)
        if value is None:
            return {"t": "none"}
        if kind is bool:
            return {"t": "bool", "v": value}
        if kind is int:
            return {"t": "int", "v": value} if abs(value) < 2**63 else {"t": "opaque", "type": "int", "text": "huge"}
        if kind is float:
            return {"t": "float", "v": value if math.isfinite(value) else repr(value)}
        if kind is str:
            return {"t": "str", "v": value[:MAX_STR]}
        if kind in (list, tuple):
            items = [self.encode(v, depth + 1) for v in value[:MAX_ITEMS]]
            return {"t": kind.__name__, "v": items, "n": len(value)}
        if kind is dict:
            pairs = [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                     for k, v in list(value.items())[:MAX_ITEMS]]
            return {"t": "dict", "v": pairs}
        if kind is np.ndarray:
            return {"t": "ndarray", "blob": self._array_blob(value)}
        if kind is Tensor:  # the parent asking for a torch tensor argument
            return {"t": "tensor", "blob": self._array_blob(value.array)}
        if isinstance(value, np.generic) and kind in _NUMPY_SCALARS:
            return self.encode(value.item(), depth)
        return self._encode_torch(value, depth)

    def _encode_torch(self, value, depth):
        import torch  # imported lazily: the parent never needs it for encoding

        kind = type(value)
        if kind is torch.Size:
            return {"t": "tuple", "v": [self.encode(int(v)) for v in value], "n": len(value)}
        if kind is torch.Tensor or kind is torch.nn.Parameter:
            array = torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value)))
            return {"t": "tensor", "blob": self._array_blob(array)}
        return {"t": "opaque", "type": _type_name(value), "text": _safe_repr(value)}

    def _array_blob(self, array):
        if array.dtype.hasobject:
            raise TypeError("an array of Python objects cannot be sent back")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        name = f"b{len(self.blobs)}"
        self.blobs[name] = buffer.getvalue()
        return name


_NUMPY_SCALARS = {np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                  np.float16, np.float32, np.float64, np.bool_}


def _type_name(value):
    try:
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}"[:200]
    except Exception:
        return "unknown"


def _safe_repr(value):
    try:
        return str(repr(value))[:200]
    except Exception:
        return "<repr failed>"


# ---- parent side ----------------------------------------------------------------------------

def decode(node, blobs):
    """Rebuild a plain value from the child's tagged JSON; raises DecodeError on anything odd.

    Whatever else goes wrong on a hostile value (an unhashable dict key, a MemoryError, a
    RecursionError) is a DecodeError too: a malformed answer is the submission's failure."""
    try:
        return _decode(node, blobs, 0)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything the child's data makes our decoding raise
        raise DecodeError(f"malformed value ({type(exc).__name__})") from None


def _decode(node, blobs, depth):
    if type(node) is not dict or type(node.get("t")) is not str or depth > MAX_DEPTH + 1:
        raise DecodeError("malformed value")
    tag, v = node["t"], node.get("v")
    if tag == "none":
        return None
    if tag == "bool" and type(v) is bool:
        return v
    if tag == "int" and type(v) is int:
        return v
    if tag == "float":
        if type(v) is float:
            return v
        if type(v) is int:
            return float(v)
        if v in ("nan", "inf", "-inf"):
            return float(v)
    if tag == "str" and type(v) is str:
        return v
    if tag in ("list", "tuple") and type(v) is list and len(v) <= MAX_ITEMS:
        items = [_decode(item, blobs, depth + 1) for item in v]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and type(v) is list and len(v) <= MAX_ITEMS:
        out = {}
        for pair in v:
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict entry")
            key = _decode(pair[0], blobs, depth + 1)
            if type(key) not in (str, int, bool, float, type(None), tuple):
                key = str(key)
            out[key] = _decode(pair[1], blobs, depth + 1)
        return out
    if tag in ("ndarray", "tensor"):
        array = load_array(blobs, node.get("blob"))
        return array if tag == "ndarray" else Tensor(array)
    if tag == "opaque":
        return Opaque(str(node.get("type", "unknown"))[:200], str(node.get("text", ""))[:200])
    raise DecodeError(f"unknown or malformed value tag {tag!r}")


def load_array(blobs, name):
    """Read one `.npy` blob without pickle; refuses object arrays and anything malformed."""
    if type(name) is not str or name not in blobs:
        raise DecodeError("value refers to a missing blob")
    try:
        array = np.load(io.BytesIO(blobs[name]), allow_pickle=False)
    except Exception as exc:
        raise DecodeError(f"unreadable array: {type(exc).__name__}") from None
    if type(array) is not np.ndarray or array.dtype.hasobject:
        raise DecodeError("not a plain numeric array")
    return array


def describe(value):
    """A short student-facing description of a decoded value's type."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.array.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
    return f"a {type(value).__name__} ({_short(value)})"


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
