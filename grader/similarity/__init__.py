"""`grader similarity`: which submissions of a class share code that was not handed out.

tokens (normalised Python tokens) -> fingerprints (winnowed k-grams, handed-out code removed)
-> compare (pairwise scores, the matching regions of a pair) -> report (similarity.html, one
side-by-side page a flagged pair, similarity.csv). inputs finds the submissions as `grade` does.
Student code is only tokenised: never imported, never run.
"""

import time
from dataclasses import dataclass

from grader.similarity import compare, inputs, report

DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_TOKENS = 60


@dataclass(frozen=True)
class Outcome:
    inputs: object  # inputs.Inputs
    pairs: list  # every Pair, highest first
    flagged: list
    seconds: float


def run(paths, assignment, out_dir, archives=(), threshold=DEFAULT_THRESHOLD, min_tokens=DEFAULT_MIN_TOKENS,
        excludes=(), root=None):
    """Compare the submissions under `paths` (and with `archives`) and write the report into `out_dir`."""
    started = time.monotonic()
    found = inputs.collect(paths, assignment, out_dir, archives, excludes, root)
    pairs = compare.all_pairs(found.term, found.archive)
    flagged = compare.flagged(pairs, threshold, min_tokens)
    report.write_all(out_dir, assignment, found, pairs, flagged, threshold, min_tokens)
    return Outcome(found, pairs, flagged, time.monotonic() - started)
