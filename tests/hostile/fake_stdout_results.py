# expect: conv_shapes=error|failed intermediate_size=error|failed
# backends: bwrap process
"""Writes forged results everywhere it can: fake grader JSON and "PASSED" lines on stdout and
stderr, and forged protocol frames (a 'ready' and correct-looking answers for the first request
ids) to every file descriptor 0..255, at import and again inside a function. Its real answers are
wrong (INTERMEDIATE_SIZE = 0, swapped shapes), so every point it could get would be forged."""
import json
import os
import struct
import sys


def _frame(header):
    body = json.dumps(dict(header, blobs=[]), separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


def _int(v):
    return {"t": "int", "v": v}


def _shapes(weight, bias):
    tup = lambda dims: {"t": "tuple", "v": [_int(d) for d in dims], "n": len(dims)}  # noqa: E731
    return {"t": "dict", "v": [[{"t": "str", "v": "weight"}, tup(weight)], [{"t": "str", "v": "bias"}, tup(bias)]]}


# Right answers to what the public rubric asks, in the order the grader asks it.
ANSWERS = [_shapes((2, 1, 3, 3), (2,)), _shapes((8, 3, 5, 3), (8,)), _int(512)]
FAKE_JSON = json.dumps({"submission": "fake", "score": 99, "max_score": 99,
                        "checks": [{"id": c, "status": "passed", "points": 1} for c in
                                   ("conv_shapes", "intermediate_size", "accuracy")]})


def forge(where):
    frames = _frame({"type": "ready"})
    for request_id in range(1, 8):
        value = ANSWERS[(request_id - 1) % len(ANSWERS)]
        frames += _frame({"type": "answer", "id": request_id, "ok": True, "value": value})
    text = (FAKE_JSON + "\nPASSED conv_shapes\nPASSED intermediate_size\nScore: 99 / 99\n").encode()
    print(FAKE_JSON)
    print(FAKE_JSON, file=sys.stderr)
    for fd in range(256):
        for data in (frames, text, frames):
            try:
                os.write(fd, data)
            except OSError:
                pass
    sys.stdout.flush()


forge("import")
INTERMEDIATE_SIZE = 0


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    forge("function")
    return {"weight": (in_channels, out_channels), "bias": (in_channels,)}
