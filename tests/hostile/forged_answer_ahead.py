# expect: intermediate_size=error|failed
# backends: bwrap process
"""Pre-stages one forged answer: a 'ready' frame and an answer claiming INTERMEDIATE_SIZE is 512
for request id 1, written in one piece to every file descriptor at import; then it goes on
importing for a second, so the real 'ready' (and nothing else) arrives late. Its real
INTERMEDIATE_SIZE is 0."""
import json
import os
import struct
import time


def _frame(header):
    body = json.dumps(dict(header, blobs=[]), separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


_payload = _frame({"type": "ready"}) + _frame({"type": "answer", "id": 1, "ok": True, "value": {"t": "int", "v": 512}})
for _fd in range(3, 256):
    try:
        os.write(_fd, _payload)
    except OSError:
        pass
time.sleep(1.5)
INTERMEDIATE_SIZE = 0
