# expect: conv_shapes=passed intermediate_size=passed
# backends: bwrap process
"""Builds a tree of folders 1,500 levels deep in its work folder (one mkdir and chdir at a time,
so no path is ever too long), with a file at the bottom and a folder of mode 000 on the way.
Its answers are right: the grade must still come back and the work folder must be removed."""
import os

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    if in_channels == 1:
        here = os.getcwd()
        os.mkdir("locked")
        os.chmod("locked", 0)
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        with open("bottom.txt", "w") as f:
            f.write("deep\n")
        os.chdir(here)
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}
