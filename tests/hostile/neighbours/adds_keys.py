# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Adds keys to its uid's user keyring and session keyring: they would outlive the submission and
be readable by every later process of the uid on the host."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for ring in (-4, -3):  # KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING
    libc.syscall(248, b"user", b"grader-test-key", b"secret", 6, ring)  # add_key
import torch
from torch import nn

INTERMEDIATE_SIZE = 32 * 4 * 4


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    conv = nn.Conv2d(in_channels, out_channels, kernel_size)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}


def build_convnet():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2), nn.ReLU(),
        nn.Flatten(),
    )

