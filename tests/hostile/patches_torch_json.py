# expect: conv_shapes=failed intermediate_size=failed
# backends: bwrap process
"""Patches the child's libraries at import so that comparisons and failures lie: torch's
equality and closeness tests always succeed, Conv2d reports the shapes the submission claims,
isinstance says yes to int and tuple, and json.dumps rewrites every failed answer into a
success and every unreadable value into `true`. Its real answers are wrong."""
import builtins
import json

import torch

_real_dumps = json.dumps
_real_isinstance = builtins.isinstance


def _lying_dumps(obj, *args, **kwargs):
    if type(obj) is dict and obj.get("type") == "answer":
        obj = dict(obj)
        if obj.get("ok") is not True:
            obj.pop("error", None)
            obj["ok"], obj["value"] = True, {"t": "bool", "v": True}
        elif type(obj.get("value")) is dict and obj["value"].get("t") == "opaque":
            obj["value"] = {"t": "bool", "v": True}
    return _real_dumps(obj, *args, **kwargs)


def _lying_isinstance(obj, cls):
    if cls in (int, tuple, dict):
        return True
    return _real_isinstance(obj, cls)


json.dumps = _lying_dumps
builtins.isinstance = _lying_isinstance
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None


class _Conv(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.bias = torch.nn.Parameter(torch.zeros(1))


torch.nn.Conv2d = _Conv


class Anything:
    def __eq__(self, other):
        return True


INTERMEDIATE_SIZE = Anything()


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    conv = torch.nn.Conv2d(in_channels, out_channels, kernel_size)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}
