# expect: conv_shapes=error intermediate_size=error
# expect-message: conv_shapes~"sys.exit" intermediate_size~"exited during import"
# backends: bwrap process
"""Calls sys.exit(0) at import, after defining right answers."""
import sys

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}


print("all checks passed")
sys.exit(0)
