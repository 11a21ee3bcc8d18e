# expect: conv_shapes=passed intermediate_size=failed
# backends: bwrap process
"""Writes 100 MB: 50 MB to stdout at import and 50 MB to stderr inside a function, in 1 MB
writes. Its shapes are right, its constant is not. The test asserts the kept output stays well
under 1 MB and says how much was dropped."""
import sys

CHUNK = ("spam " * 200 + "\n") * 1040  # about 1 MB
for _ in range(50):
    sys.stdout.write(CHUNK)
sys.stdout.flush()
INTERMEDIATE_SIZE = 511


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    if in_channels == 1:
        for _ in range(50):
            sys.stderr.write(CHUNK)
        sys.stderr.flush()
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}
