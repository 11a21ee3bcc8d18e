# expect: conv_shapes=passed intermediate_size=passed
# backends: bwrap process
"""Calls sys.exit(0) at import, after defining right answers, hoping a clean exit reads as success.
As in a notebook kernel, the SystemExit is recorded and the right answers are graded on their own
merit (os._exit, which no one can catch, is exit_at_import.py)."""
import sys

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}


print("all checks passed")
sys.exit(0)
