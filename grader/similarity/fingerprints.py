"""Winnowed fingerprints of normalised tokens, with the code that was handed out taken away.

A k-gram is K consecutive normalised tokens; its hash is a polynomial over the tokens' stable ids
(numpy, wrapping in 64 bits). Winnowing keeps in every window of WINDOW consecutive k-gram hashes
the smallest (the rightmost on a tie), so any run of K + WINDOW - 1 tokens that two submissions
share yields at least one common fingerprint, while a submission keeps about 2/(WINDOW+1) of its
k-grams. Handed-out code (the student template, lecture code) is excluded by its k-grams: every
k-gram of those files is removed from a submission's fingerprints, and the tokens those k-grams
cover are not the student's own, so they count neither as matched nor in the denominator.
"""

from dataclasses import dataclass

import numpy as np

from grader.similarity.tokens import Tokens, normalise

K = 12  # tokens in a k-gram
WINDOW = 8  # k-grams in a winnowing window: shared runs of K + WINDOW - 1 = 19 tokens are always found
_BASE = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, eq=False)
class Document:
    """One submission ready to compare."""

    id: str
    origin: str
    tokens: Tokens
    hashes: np.ndarray  # every k-gram hash, by start token
    kept: np.ndarray  # bool per k-gram: not handed out
    own: np.ndarray  # bool per token: not covered by a handed-out k-gram
    fp_hashes: np.ndarray  # winnowed, handed-out ones removed
    fp_positions: np.ndarray  # the start token of each fingerprint
    fp_unique: np.ndarray  # sorted distinct fingerprint hashes
    own_count: int = 0  # how many tokens are the student's own
    archive: str = ""  # the past term it comes from ("" for this term)

    @property
    def label(self):
        return f"{self.archive}/{self.id}" if self.archive else self.id


def kgram_hashes(ids, k=K):
    """The hash of every k-gram of the token ids (an empty array when there are fewer than k)."""
    values = np.asarray(ids, dtype=np.uint64)
    count = len(values) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(k):
            hashes = hashes * _BASE + values[offset:offset + count]
    return hashes


def winnow(hashes, window=WINDOW):
    """The positions of the fingerprints of `hashes`: the rightmost minimum of every window."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= window:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
    rightmost = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(len(windows)) + rightmost)


def covered(positions, length, k=K):
    """bool per token: inside some k-gram starting at one of `positions`."""
    marks = np.zeros(length + 1, dtype=np.int32)
    positions = np.asarray(positions, dtype=np.int64)
    np.add.at(marks, positions, 1)
    np.add.at(marks, np.minimum(positions + k, length), -1)
    return np.cumsum(marks[:length]) > 0


def handed_out(sources):
    """The sorted distinct k-gram hashes of the handed-out sources (template, lecture code)."""
    parts = [kgram_hashes(normalise(source).ids) for source in sources]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def document(doc_id, origin, source, excluded, archive=""):
    """The Document of `source`, with the k-grams in `excluded` (from handed_out) taken away."""
    tokens = normalise(source)
    hashes = kgram_hashes(tokens.ids)
    out = np.isin(hashes, excluded, assume_unique=False)
    own = ~covered(np.flatnonzero(out), len(tokens.kinds))
    positions = winnow(hashes)
    positions = positions[~out[positions]] if len(positions) else positions
    fp_hashes = hashes[positions]
    return Document(doc_id, origin, tokens, hashes, ~out, own, fp_hashes, positions, np.unique(fp_hashes),
                    int(own.sum()), archive)
