# expect: conv_shapes=error convnet_shape=error intermediate_size=passed
# expect-message: conv_shapes~"RecursionError" convnet_shape~"crashed"
# backends: bwrap process
"""Unbounded recursion: plain Python recursion in one function (RecursionError), and in another
a recursion limit raised to 10**8 with recursion through C (repr), which overflows the C stack
and crashes the process. The constant is right."""
import sys

INTERMEDIATE_SIZE = 512


def _down(n):
    return _down(n + 1) + 1


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    return _down(0)


class _Deep:
    def __repr__(self):
        return repr(_Deep())


def build_convnet():
    sys.setrecursionlimit(10**8)
    return repr(_Deep())
