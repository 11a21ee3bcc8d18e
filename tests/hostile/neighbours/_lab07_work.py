"""The honest lab07 work every file of this folder ends with (tests/test_neighbours.py appends it): each
attacker earns its points, so the only thing under test is what it leaves behind."""
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

