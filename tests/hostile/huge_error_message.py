# expect: conv_shapes=error intermediate_size=error
# expect-message: conv_shapes~"characters in all" intermediate_size~"characters in all"
# backends: bwrap process
"""Raises a 10 MB message, and replaces the child-side runtime's description of errors (which
caps each field) with one that sends every field (function, type, message, traceback) near the
1 MiB frame limit, as a student controlling the child can. The parent must cap each field
itself: the outputs stay small."""
import sys

_probes = sys.modules["grader.sandbox.probes"]
_HUGE = 230_000


def _describe_error(exc, submission):
    return {"kind": "raised", "function": "f" * _HUGE, "type": "T" * _HUGE,
            "message": "\x1b[31m" + "m" * _HUGE, "traceback": "line 1, in x: y\n" * (_HUGE // 16)}


_probes.describe_error = _describe_error


def __getattr__(name):  # reading any missing name (INTERMEDIATE_SIZE) raises 10 MB too
    raise ValueError("spam " * 2_000_000)


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    raise ValueError("spam " * 2_000_000)  # 10 MB
