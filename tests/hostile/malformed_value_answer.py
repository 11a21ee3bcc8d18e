# expect: conv_shapes=error intermediate_size=error convnet_shape=error
# expect-message: conv_shapes~"could not be read" intermediate_size~"raised Exception" convnet_shape~"could not be read"
# backends: bwrap process
"""Answers the grader itself with well-formed frames whose contents are malformed: a dict keyed
by a tuple holding a list (unhashable once decoded), an error description whose fields are
lists and numbers instead of text, and a value nested as deep as the header limit lets JSON
nest. The grader must fail each check and blame the submission, never report an internal error."""
import json
import os
import struct
import sys


def _send(header):
    request_id = resp_fd = None
    frame = sys._getframe()
    while frame is not None:
        request_id = frame.f_locals.get("request_id", request_id)
        resp_fd = frame.f_locals.get("resp_fd", resp_fd)
        frame = frame.f_back
    body = json.dumps(dict(header, id=request_id, type="answer", blobs=[])).encode()
    os.write(resp_fd, struct.pack(">I", len(body)) + body)
    os._exit(0)


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    key = {"t": "tuple", "v": [{"t": "list", "v": [], "n": 0}], "n": 1}
    _send({"ok": True, "value": {"t": "dict", "v": [[key, {"t": "int", "v": 1}]]}})


def __getattr__(name):  # reading INTERMEDIATE_SIZE: an error whose fields are not text
    _send({"ok": False, "error": {"kind": "raised", "function": ["f"] * 100, "type": {"a": [1, 2]},
                                  "message": 10 ** 30, "traceback": [[["deep"]]] * 50}})


def build_convnet():
    value = {"t": "int", "v": 1}
    for _ in range(400):
        value = {"t": "list", "v": [value], "n": 1}
    _send({"ok": True, "value": value})
