# expect: conv_shapes=error convnet_shape=error intermediate_size=passed
# expect-message: conv_shapes~"exited while running" convnet_shape~"sys.exit"
# backends: bwrap process
"""os._exit(0) inside one function and sys.exit(0) inside another; the constant is right and
must still be graded (the child is restarted after the exit)."""
import os
import sys

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    print("conv_shapes passed")
    os._exit(0)


def build_convnet():
    sys.exit(0)
