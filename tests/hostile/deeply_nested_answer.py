# expect: conv_shapes=error intermediate_size=passed
# expect-message: conv_shapes~"malformed message" conv_shapes~"conv_parameter_shapes"
# backends: bwrap process
"""Answers the grader itself, from inside a probe: it finds the request id and the answer pipe in
the child runtime's frames and sends an answer whose header is nested 5,000 lists deep (the
parent's JSON parser raises RecursionError on it), then exits. The grader must fail the check
and blame the submission, not report an internal error. Its constant is right."""
import json
import os
import struct
import sys


def _runtime():
    """(request id, answer fd) from the frames of the child runtime that called us."""
    request_id = resp_fd = None
    frame = sys._getframe()
    while frame is not None:
        request_id = frame.f_locals.get("request_id", request_id)
        resp_fd = frame.f_locals.get("resp_fd", resp_fd)
        frame = frame.f_back
    return request_id, resp_fd


def _send(header_text):
    request_id, resp_fd = _runtime()
    body = header_text.replace("__ID__", str(request_id)).encode()
    os.write(resp_fd, struct.pack(">I", len(body)) + body)
    os._exit(0)


INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    nested = "[" * 5000 + "]" * 5000
    _send('{"type":"answer","id":__ID__,"ok":true,"value":' + nested + ',"blobs":[]}')
