"""Pairwise similarity of Documents, and the matching regions of a pair for the side-by-side view.

A pair's matched tokens are, on each side, the student's own tokens inside a fingerprint that the
other side has too; its similarity is both sides' matched tokens over both sides' own tokens
(0..1). This term's submissions are compared with each other and with every past-term (archive)
submission; past terms are not compared among themselves. A pair is flagged when its similarity
reaches the threshold and at least `min_tokens` tokens match: two submissions that filled in the
same short stubs the same obvious way share a large fraction of very little code.
"""

from dataclasses import dataclass

import numpy as np

from grader.similarity.fingerprints import K, covered

MAX_POSITIONS = 8  # places of one k-gram in the other submission that the view looks at
MAX_CANDIDATES = 200_000  # matching k-gram places the view of one pair looks at
CHUNK = 4_000_000  # (documents x fingerprints) cells of one step of matched_matrix


@dataclass(frozen=True)
class Pair:
    a: object  # Document
    b: object
    matched_a: int
    matched_b: int

    @property
    def matched(self):
        return self.matched_a + self.matched_b

    @property
    def similarity(self):
        own = self.a.own_count + self.b.own_count
        return self.matched / own if own else 0.0

    def share(self, side):
        """The fraction of one side's own code that matches the other side."""
        doc, matched = (self.a, self.matched_a) if side == "a" else (self.b, self.matched_b)
        return matched / doc.own_count if doc.own_count else 0.0


def matched_tokens(doc, shared):
    """The own tokens of `doc` inside its fingerprints whose hash is in `shared` (sorted)."""
    if not len(shared):
        return 0
    positions = doc.fp_positions[np.isin(doc.fp_hashes, shared, assume_unique=False)]
    return int((covered(positions, len(doc.own)) & doc.own).sum())


def compare(a, b):
    """The Pair of two Documents (one at a time; all_pairs does a whole class at once)."""
    shared = np.intersect1d(a.fp_unique, b.fp_unique, assume_unique=True)
    return Pair(a, b, matched_tokens(a, shared), matched_tokens(b, shared))


def all_pairs(term, archive=()):
    """Every pair of this term's Documents and each of them with each archive Document,
    highest similarity first (then by labels, so the order is stable)."""
    docs = list(term) + list(archive)
    matched = matched_matrix(docs)
    count = len(term)
    pairs = [Pair(term[i], term[j], int(matched[i, j]), int(matched[j, i]))
             for i in range(count) for j in range(i + 1, count)]
    pairs += [Pair(term[i], docs[j], int(matched[i, j]), int(matched[j, i]))
              for i in range(count) for j in range(count, len(docs))]
    scores = {id(p): p.similarity for p in pairs}
    return sorted(pairs, key=lambda p: (-scores[id(p)], -p.matched, p.a.label, p.b.label))


def matched_matrix(docs):
    """matched[i, j]: the own tokens of docs[i] inside its fingerprints that docs[j] has too."""
    hashes = np.concatenate([d.fp_unique for d in docs] + [np.zeros(0, np.uint64)])
    owners = np.concatenate([np.full(len(d.fp_unique), i) for i, d in enumerate(docs)] + [np.zeros(0, np.int64)])
    order = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[order], owners[order]
    matched = np.zeros((len(docs), len(docs)), dtype=np.int64)
    for index, doc in enumerate(docs):
        matched[index] = _matched_row(doc, hashes, owners, len(docs))
    return matched


def _matched_row(doc, hashes, owners, count):
    """Own tokens of `doc` matched by each of `count` documents, all at once: a fingerprint at
    start s_i counts the own tokens of [s_i, min(s_i + K, next start)), so overlaps count once."""
    positions, length = doc.fp_positions, len(doc.own)
    row = np.zeros(count, dtype=np.int64)
    if not len(positions):
        return row
    low = np.searchsorted(hashes, doc.fp_hashes, "left")
    high = np.searchsorted(hashes, doc.fp_hashes, "right")
    spans = high - low
    which = np.repeat(np.arange(len(positions)), spans)
    offsets = np.repeat(low - (np.cumsum(spans) - spans), spans) + np.arange(int(spans.sum()))
    prefix = np.concatenate([[0], np.cumsum(doc.own)])
    ends = np.minimum(positions + K, length)
    step = max(1, CHUNK // len(positions))
    for first in range(0, count, step):
        block = np.zeros((min(step, count - first), len(positions)), dtype=bool)
        inside = (owners[offsets] >= first) & (owners[offsets] < first + len(block))
        block[owners[offsets][inside] - first, which[inside]] = True
        starts = np.where(block, positions[None, :], length)
        following = np.minimum.accumulate(starts[:, ::-1], axis=1)[:, ::-1]
        following = np.concatenate([following[:, 1:], np.full((len(block), 1), length)], axis=1)
        stops = np.minimum(ends[None, :], following)
        gains = prefix[stops] - prefix[positions][None, :]
        row[first:first + len(block)] = np.where(block, gains, 0).sum(axis=1)
    return row


def flagged(pairs, threshold, min_tokens):
    return [p for p in pairs if p.similarity >= threshold and p.matched >= min_tokens and p.matched > 0]


def regions(a, b, k=K):
    """[(a_first, a_end, b_first, b_end)] token ranges that match, longest first, none overlapping
    another on either side (greedy tiling of runs of equal kept k-grams)."""
    places = {}
    for j in np.flatnonzero(b.kept).tolist():
        spots = places.setdefault(int(b.hashes[j]), [])
        if len(spots) < MAX_POSITIONS:
            spots.append(j)
    candidates = []
    for i in np.flatnonzero(a.kept).tolist():
        for j in places.get(int(a.hashes[i]), ()):
            candidates.append((j - i, i))
        if len(candidates) >= MAX_CANDIDATES:
            break
    runs = _runs(sorted(candidates), k)
    used_a, used_b = np.zeros(len(a.own), bool), np.zeros(len(b.own), bool)
    tiles = []
    for a0, b0, length in sorted(runs, key=lambda r: (-r[2], r[0], r[1])):
        for start, end in _free(used_a[a0:a0 + length] | used_b[b0:b0 + length], k):
            used_a[a0 + start:a0 + end] = True
            used_b[b0 + start:b0 + end] = True
            tiles.append((a0 + start, a0 + end, b0 + start, b0 + end))
    return sorted(tiles, key=lambda t: (-(t[1] - t[0]), t[0]))


def _runs(candidates, k):
    """[(a_first, b_first, tokens)]: consecutive k-gram matches on one diagonal merged."""
    runs = []
    for diagonal, i in candidates:
        if runs and runs[-1][3] == diagonal and runs[-1][4] == i - 1:
            a0, b0, _, _, _ = runs[-1]
            runs[-1] = (a0, b0, i - a0 + k, diagonal, i)
        else:
            runs.append((i, i + diagonal, k, diagonal, i))
    return [(a0, b0, length) for a0, b0, length, _, _ in runs]


def _free(taken, k):
    """[(start, end)] of the stretches of at least k tokens where `taken` is False."""
    out, start = [], None
    for index, busy in enumerate(taken.tolist() + [True]):
        if not busy and start is None:
            start = index
        elif busy and start is not None:
            if index - start >= k:
                out.append((start, index))
            start = None
    return out
