"""Manual scores survive a run without `--manual-scores`: the points a TA gave before are kept.

Every results.json records the manual scores applied to it. A run given no manual-scores file
takes them from there, for each submission whose file is unchanged and whose scores still fit the
rubric (the check exists, the points are within what it is worth), and says so; scores of a
submission whose file changed, or that no longer fit, are dropped with a note naming them, never
silently. A run given a file uses that file alone: it replaces what was applied before.
"""

import math

from grader import manual
from grader.batch.store import content_hash

KEPT = "manual scores kept from the previous run"


def kept_scores(store, sources, rubric):
    """(ManualScores or None, notes) from the results stored for `sources`."""
    worth = {c.id: c.points for c in rubric.checks}
    kept, notes, carried = [], [], set()
    for source in sources:
        stored = store.stored(source)
        rows = stored.get("manual_scores") if stored else None
        if not rows or not isinstance(rows, list):
            continue
        if stored.get("submission_sha256") != content_hash(source):
            notes.append(f"the manual scores of {source.id} were dropped: its file changed since they were given; "
                         "score it again with --manual-scores")
            continue
        for row in rows:
            score = _score(source.id, row, worth)
            if score is None:
                notes.append(f"a manual score of {source.id} no longer fits the rubric and was dropped: {row!r}")
            else:
                kept.append(score)
                carried.add(source.id)
    if carried:
        notes.append(f"kept the manual scores given before to {len(carried)} submission(s) "
                     f"({', '.join(sorted(carried))}); pass --manual-scores FILE to replace them")
    return (manual.ManualScores(KEPT, tuple(kept)) if kept else None), notes


def _score(submission, row, worth):
    """A ManualScore from a stored row, or None when it does not fit the current rubric."""
    if not isinstance(row, dict) or row.get("check") not in worth:
        return None
    points, comment = row.get("points"), row.get("comment", "")
    if type(points) not in (int, float) or not math.isfinite(points) or not 0 <= points <= worth[row["check"]]:
        return None
    if not isinstance(comment, str):
        return None
    return manual.ManualScore(submission, row["check"], float(points), comment, 0)
