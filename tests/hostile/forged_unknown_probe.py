# expect: conv_shapes=error intermediate_size=error
# expect-message: conv_shapes~"interfered with the grader" intermediate_size~"interfered with the grader"
# backends: bwrap process
"""Replaces the child runtime's probe dispatcher so that every request is answered "unknown
probe", hoping the grader reports its own error ("not your fault") instead of a failed check.
The grader only ever asks for probes the sandbox has, so the claim blames the submission."""
import sys

_probes = sys.modules["grader.sandbox.probes"]


def _run(name, module, args, blobs):
    raise _probes.UnknownProbe(name)


_probes.run = _run
INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    return {"weight": (out_channels, in_channels, kernel_size, kernel_size), "bias": (out_channels,)}
