# expect: conv_shapes=error intermediate_size=error
# expect-message: conv_shapes~"exited during import" intermediate_size~"exit code 0"
# backends: bwrap process
"""Exits with status 0 at import (os._exit, no exception to catch), after defining right
answers, hoping a clean exit code reads as success."""
import os

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}


print("all checks passed")
os._exit(0)
