# expect: conv_shapes=failed convnet_shape=failed intermediate_size=failed
# backends: bwrap process
"""Objects that say yes to every comparison in place of ints, tuples, dicts and shapes: an int
subclass worth 7 that equals everything, a tuple and a dict that equal everything, and a model
whose output is a tensor subclass with such a shape."""
import torch
from torch import nn


class Yes(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__

    def __index__(self):
        return 512


class YesTuple(tuple):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = tuple.__hash__


class YesDict(dict):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def keys(self):
        return {"weight", "bias"}


INTERMEDIATE_SIZE = Yes(7)


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    if in_channels == 1:
        return YesDict(weight=YesTuple((Yes(1),)), bias=YesTuple((Yes(1),)))
    return {"weight": YesTuple((Yes(1), Yes(2))), "bias": YesTuple((Yes(3),))}


class YesTensor(torch.Tensor):
    @property
    def shape(self):
        return YesTuple((Yes(1), Yes(1)))

    def size(self, *args):
        return self.shape


class Liar(nn.Module):
    def forward(self, x):
        return torch.Tensor._make_subclass(YesTensor, torch.zeros(1))


def build_convnet():
    return Liar()
