# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Tries to import the harness's parent-side modules (check logic, rubric loading, relabelling,
data) from inside the sandbox and prints which it could; only the child runtime may be there."""
import importlib
import sys

found = []
for name in ("grader.checks", "grader.rubric", "grader.relabel", "grader.data", "grader.grading",
             "grader.checks.training", "grader.batch"):
    try:
        importlib.import_module(name)
        found.append(name)
    except Exception:
        pass
print("INTERNALS-IMPORTED:", ",".join(found) or "none", flush=True)
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

