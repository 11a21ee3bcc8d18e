"""The output folder of a batch: one folder a submission, and class-wide files derived from them.

`<id>/results.json` is written last and atomically; its `graded_with` key (grader.batch.provenance:
content, rubric, manual scores, sandbox, device, data set, grader version) says what it was graded
with, and `--resume` reuses exactly those whose key is the batch's. The class files (grades.csv,
results.jsonl, index.html) are rebuilt from them: a current result is shown as graded; one graded
with anything else (the run stopped before regrading it) is marked stale, with why, and its old
score is not shown; a submission with no result yet is marked "not graded". A result in the folder
whose submission this run was not given (a regrade of one student) keeps its row: graded, or
stale when it was graded with another rubric or set-up.
"""

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from grader import text
from grader.batch import provenance
from grader.batch.discover import Source
from grader.batch.gradescope import gradescope_results
from grader.report.index import write_index
from grader.report.render import atomic_write

STATES = ("graded", "stale", "not graded")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(source):
    return sha256(source.path) if source.path else f"problem:{source.problem}"


@dataclass(frozen=True)
class Entry:
    """One submission in the class files: its state, its stored result (graded only) and why."""

    source: object
    state: str  # one of STATES
    result: dict | None = None
    reason: str = ""


class Store:
    def __init__(self, out_dir, rubric, key=None):
        self.out = Path(out_dir)
        self.rubric = rubric
        self.key = key or {"rubric_sha256": rubric.digest}  # grader.batch.provenance.batch_key

    def folder(self, submission_id):
        return self.out / submission_id

    def stored(self, source):
        """The parsed `<id>/results.json` of `source`, or None."""
        return self._read(source.id)

    def _read(self, submission_id):
        try:
            stored = json.loads((self.folder(submission_id) / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return stored if isinstance(stored, dict) else None

    def wanted(self, content, scores=None, submission_id=""):
        return provenance.submission_key(self.key, content, scores.digest(submission_id) if scores else "")

    def done(self, source, content, scores=None):
        """The stored results of `source` when graded with exactly the current key, else None."""
        stored = self.stored(source)
        if stored and stored.get("graded_with") == self.wanted(content, scores, source.id):
            return stored
        return None

    def write(self, source, result_json, content, report_html, log_text, scores=None):
        """Write the report, log and Gradescope file, then results.json last (the 'done' mark)."""
        folder = self.folder(source.id)
        key = self.wanted(content, scores, source.id)
        applied = sorted(scores.for_submission(source.id).values(), key=lambda s: s.check) if scores else []
        data = dict(result_json, submission=source.id, source=source.origin, name=getattr(source, "name", ""),
                    submission_sha256=content, rubric_sha256=self.rubric.digest, graded_with=key,
                    manual_scores=[{"check": s.check, "points": s.points, "comment": s.comment} for s in applied])
        if key["manual_sha256"]:
            data["manual_sha256"] = key["manual_sha256"]
        if source.problem:
            data["problem"] = source.problem  # kept for the class files of a later run without this source
        atomic_write(folder / "report.html", report_html)
        atomic_write(folder / "log.txt", log_text)
        atomic_write(folder / "gradescope.json", json.dumps(gradescope_results(data), indent=2) + "\n")
        atomic_write(folder / "results.json", json.dumps(data, indent=2) + "\n")
        return data

    def entries(self, sources, scores=None):
        """An Entry a source, and one for every submission graded into this folder before but not
        given now (`earlier`), sorted by id: graded (current key), stale (why) or not graded."""
        out = self.earlier({s.id for s in sources})
        for source in sources:
            stored = self.stored(source)
            if stored is None:
                out.append(Entry(source, "not graded", reason="no result yet: run again (--resume) to grade it"))
                continue
            wanted = self.wanted(content_hash(source), scores, source.id)
            why = provenance.differences(stored.get("graded_with"), wanted)
            if why:
                out.append(Entry(source, "stale", reason="graded with " + ", ".join(why)
                                 + "; run again (--resume) to regrade it"))
            else:
                out.append(Entry(source, "graded", stored))
        return sorted(out, key=lambda e: e.source.id)

    def earlier(self, ids):
        """Entries of the results in this folder whose submission is not among `ids` (a regrade of
        one student keeps the others): graded when everything but the file and the TA's scores,
        which this run was not given, is the current key; else stale, with why."""
        out = []
        for path in sorted(self.out.glob("*/results.json")) if self.out.is_dir() else ():
            submission = path.parent.name
            if submission in ids or submission.startswith("_"):
                continue
            stored = self._read(submission)
            if not stored or stored.get("submission") != submission:
                continue
            source = Source(submission, None, str(stored.get("source", "")), str(stored.get("problem", "")),
                            str(stored.get("name", "")))
            graded_with = stored.get("graded_with")
            kept = {k: graded_with.get(k) for k in ("submission_sha256", "manual_sha256")} \
                if isinstance(graded_with, dict) else {}
            why = provenance.differences(graded_with, dict(self.key, **kept))
            if why:
                out.append(Entry(source, "stale", reason="graded with " + ", ".join(why)
                                 + "; grade its file again to regrade it"))
            else:
                out.append(Entry(source, "graded", stored))
        return out

    def write_class_files(self, entries, status_columns=False):
        """grades.csv (with a status column a check when `status_columns`), results.jsonl and
        index.html of `entries` (from `entries()`)."""
        atomic_write(self.out / "grades.csv", gradebook(self.rubric, entries, status_columns))
        lines = [dict(e.result, state="graded") if e.result else
                 {"submission": e.source.id, "name": getattr(e.source, "name", ""), "state": e.state, "reason": e.reason}
                 for e in entries]
        atomic_write(self.out / "results.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in lines))
        others = [{"id": e.source.id, "state": e.state, "reason": e.reason} for e in entries if not e.result]
        write_index(self.out / "index.html", self.rubric.assignment, [e.result for e in entries if e.result], others,
                    title=self.rubric.title)


def gradebook(rubric, entries, status_columns=False):
    """grades.csv: a row a submission: submission, score, max_score, a column a check (its points),
    with `status_columns` then a column a check of its status (`<id> status`: passed, failed, error,
    timeout, pending), then state and name. A pending check reads "pending" (not 0); a stale or
    ungraded row has no score, only its state."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    ids = [c.id for c in rubric.checks]
    statuses = [f"{i} status" for i in ids] if status_columns else []
    writer.writerow(["submission", "score", "max_score", *ids, *statuses, "state", "name"])
    for entry in entries:
        name = _cell(getattr(entry.source, "name", "") or "")
        if entry.result is None:
            writer.writerow([entry.source.id, entry.state, _num(rubric.max_score), *("" for _ in ids + statuses),
                             _cell(f"{entry.state}: {entry.reason}"), name])
            continue
        result = entry.result
        cells = {c["id"]: ("pending" if c["status"] == "pending" else _num(c["points"])) for c in result["checks"]}
        status = {c["id"]: _cell(str(c["status"])) for c in result["checks"]} if status_columns else {}
        pending = [c["id"] for c in result["checks"] if c["status"] == "pending"]
        state = "graded" + (f"; pending (awaiting a TA): {' '.join(pending)}" if pending else "")
        if entry.source.problem:
            state += f"; not gradable: {entry.source.problem}"
        writer.writerow([result["submission"], _num(result["score"]), _num(result["max_score"]),
                         *(cells.get(i, "") for i in ids), *(status.get(i, "") for i in ids if status_columns),
                         _cell(state), name])
    return buffer.getvalue()


def _cell(value):
    """A text cell of grades.csv: control characters escaped, capped, and never read by a
    spreadsheet as a formula (a leading = + - @ gets an apostrophe)."""
    value = text.inline(value, "line")
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)
