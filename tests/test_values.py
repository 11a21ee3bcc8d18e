"""The wire encoding: exact types only, strict decoding, no pickle anywhere."""

import io
import pickle

import numpy as np
import pytest
import torch

from grader.sandbox import framing
from grader.sandbox.values import DecodeError, Encoder, Opaque, Tensor, decode


def roundtrip(value):
    encoder = Encoder()
    node = encoder.encode(value)
    frame = framing.pack({"value": node}, encoder.blobs)
    reader = framing.FrameReader(blob_limit=1 << 20)
    reader.feed(frame)
    header, blobs = reader.next_frame()
    return decode(header["value"], blobs)


def test_plain_values_roundtrip():
    value = {"weight": (2, 1, 3, 3), "bias": [2], "ok": True, "x": 1.5, "s": "hi", "n": None}
    assert roundtrip(value) == value


def test_tensor_and_array_roundtrip():
    got = roundtrip([torch.arange(6).reshape(2, 3), np.ones(3, dtype=np.float32)])
    assert isinstance(got[0], Tensor) and got[0].array.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(got[1]) is np.ndarray and got[1].dtype == np.float32


def test_torch_size_is_a_tuple():
    assert roundtrip(torch.nn.Conv2d(1, 2, 3).weight.shape) == (2, 1, 3, 3)


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_objects_that_claim_equality_arrive_opaque():
    got = roundtrip([AlwaysEqual(3)])
    assert isinstance(got[0], Opaque) and got[0] != 3


def test_tensor_subclass_is_not_trusted():
    class Sneaky(torch.Tensor):
        pass

    got = roundtrip(torch.zeros(2).as_subclass(Sneaky))
    assert isinstance(got, Opaque)


def test_pickled_array_blob_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(DecodeError):
        decode({"t": "ndarray", "blob": "b0"}, {"b0": buffer.getvalue()})


def test_raw_pickle_blob_is_refused():
    with pytest.raises(DecodeError):
        decode({"t": "ndarray", "blob": "b0"}, {"b0": pickle.dumps([1, 2])})


@pytest.mark.parametrize("node", [
    {"t": "int", "v": "3"}, {"t": "int", "v": True}, {"t": "bool", "v": 1}, {"t": "weird"},
    {"t": "tuple", "v": "ab"}, {"t": "ndarray", "blob": "missing"}, [], "x",
])
def test_malformed_values_are_refused(node):
    with pytest.raises(DecodeError):
        decode(node, {})


def test_oversized_frames_are_refused():
    reader = framing.FrameReader(blob_limit=10)
    reader.feed(framing.pack({"x": 1}, {"b": b"x" * 11}))
    with pytest.raises(framing.FrameError):
        reader.next_frame()


def test_oversized_header_is_refused():
    reader = framing.FrameReader(blob_limit=10)
    reader.feed((framing.HEADER_LIMIT + 1).to_bytes(4, "big"))
    with pytest.raises(framing.FrameError):
        reader.next_frame()


def test_non_json_header_is_refused():
    reader = framing.FrameReader(blob_limit=10)
    reader.feed((5).to_bytes(4, "big") + b"\x80abcd")
    with pytest.raises(framing.FrameError):
        reader.next_frame()


def test_frames_arrive_in_pieces():
    data = framing.pack({"id": 1}, {"a": b"12345"}) + framing.pack({"id": 2})
    reader = framing.FrameReader(blob_limit=100)
    frames = []
    for byte in data:
        reader.feed(bytes([byte]))
        frame = reader.next_frame()
        if frame:
            frames.append(frame)
    assert [h["id"] for h, _ in frames] == [1, 2] and frames[0][1] == {"a": b"12345"}
