# expect: conv_shapes=failed|error intermediate_size=error|failed
# backends: bwrap process
"""Pickle payloads aimed at the parent: results whose __reduce__ would create a folder on the
host if anyone unpickled them, and, for INTERMEDIATE_SIZE, a patched child encoder that sends a
pickled object array as the .npy blob. The test asserts the folder never appears."""
import io
import os

import numpy as np

TARGET = "__HOST_DIR__/__MARKER__-unpickled"


class Payload:
    def __reduce__(self):
        return (os.mkdir, (TARGET,))


class PayloadTuple(tuple):
    def __reduce__(self):
        return (os.mkdir, (TARGET,))


SENTINEL = Payload()
INTERMEDIATE_SIZE = SENTINEL

try:  # the child's own encoder lives in the same (untrusted) process: patch it
    from grader.sandbox import values as _values

    _original = _values.Encoder.encode

    def _encode(self, value, depth=0):
        if value is SENTINEL:
            buffer = io.BytesIO()
            np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
            name = f"b{len(self.blobs)}"
            self.blobs[name] = buffer.getvalue()
            return {"t": "ndarray", "blob": name}
        return _original(self, value, depth)

    _values.Encoder.encode = _encode
except Exception as exc:  # noqa: BLE001
    print("could not patch the encoder:", exc)


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    return {"weight": PayloadTuple((out_channels, in_channels, 3, 3)), "bias": Payload()}
