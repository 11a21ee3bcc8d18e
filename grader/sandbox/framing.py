"""Wire format between parent and child: a length-prefixed JSON header followed by raw blobs.

A frame is `u32 header length | header JSON | blob bytes...`; the header lists its blobs as
`[[name, nbytes], ...]` under the key "blobs". Blobs are `.npy` bytes (read in the parent with
`numpy.load(allow_pickle=False)`) or PNG bytes. Nothing here ever unpickles.
"""

import json
import struct

HEADER_LIMIT = 1 << 20  # 1 MiB of JSON is far more than any honest observation needs
LENGTH = struct.Struct(">I")


class FrameError(Exception):
    """A frame that is malformed or larger than allowed."""


def pack(header, blobs=None):
    """Serialise `header` (a JSON-able dict) and `blobs` (name -> bytes) into one frame."""
    blobs = blobs or {}
    header = dict(header, blobs=[[name, len(data)] for name, data in blobs.items()])
    body = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if len(body) > HEADER_LIMIT:
        raise FrameError(f"header of {len(body)} bytes exceeds {HEADER_LIMIT}")
    return LENGTH.pack(len(body)) + body + b"".join(blobs.values())


class FrameReader:
    """Incremental parser: feed bytes, take complete frames; enforces the size limits."""

    def __init__(self, blob_limit):
        self.blob_limit = blob_limit
        self.buffer = bytearray()
        self._header = None
        self._need = None

    def feed(self, data):
        self.buffer += data

    def next_frame(self):
        """Return (header, blobs) when a whole frame is buffered, else None.

        Any failure to parse what arrived (RecursionError of a header nested thousands of lists
        deep, MemoryError, anything) is a FrameError: a malformed message is the sender's fault."""
        try:
            return self._next_frame()
        except FrameError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever hostile bytes make the parser raise
            raise FrameError(f"message could not be parsed: {type(exc).__name__}") from None

    def _next_frame(self):
        if self._header is None:
            if len(self.buffer) < LENGTH.size:
                return None
            (size,) = LENGTH.unpack_from(self.buffer)
            if size > HEADER_LIMIT:
                raise FrameError(f"message header of {size} bytes exceeds the {HEADER_LIMIT} byte limit")
            if len(self.buffer) < LENGTH.size + size:
                return None
            raw = bytes(self.buffer[LENGTH.size:LENGTH.size + size])
            del self.buffer[:LENGTH.size + size]
            self._header = _parse_header(raw)
            self._need = _blob_sizes(self._header, self.blob_limit)
        total = sum(n for _, n in self._need)
        if len(self.buffer) < total:
            return None
        blobs, offset = {}, 0
        for name, n in self._need:
            blobs[name] = bytes(self.buffer[offset:offset + n])
            offset += n
        del self.buffer[:total]
        header, self._header, self._need = self._header, None, None
        return header, blobs

    def pending_bytes(self):
        return len(self.buffer)


def _parse_header(raw):
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"message header is not valid JSON: {str(exc)[:200]}") from None
    if type(header) is not dict:
        raise FrameError("message header is not a JSON object")
    return header


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _blob_sizes(header, limit):
    spec = header.get("blobs", [])
    if type(spec) is not list:
        raise FrameError("'blobs' is not a list")
    sizes, seen = [], set()
    for item in spec:
        if (type(item) is not list or len(item) != 2 or type(item[0]) is not str
                or type(item[1]) is not int or item[1] < 0 or item[0] in seen):
            raise FrameError("malformed blob list")
        seen.add(item[0])
        sizes.append((item[0], item[1]))
    if sum(n for _, n in sizes) > limit:
        raise FrameError(f"message carries more than the {limit} byte limit of data")
    return sizes
