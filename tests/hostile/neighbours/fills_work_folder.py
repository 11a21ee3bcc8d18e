# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Fills its work folder with 30,000 files and as many 50 MB files as it may write, stopping at the
first error, then does its own work (the host's disk and inodes must not fill)."""
import os

os.makedirs("many", exist_ok=True)
try:
    for i in range(30000):
        open(os.path.join("many", str(i)), "wb").close()
except OSError:
    pass
chunk = b"\x00" * (50 << 20)
try:
    for i in range(40):
        with open(f"big{i}", "wb") as f:
            f.write(chunk)
except OSError:
    pass
del chunk
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

