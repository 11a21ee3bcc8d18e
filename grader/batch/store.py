"""The output folder of a batch: one folder a submission, and class-wide files derived from them.

`<id>/results.json` is written last and atomically, so its presence (with the submission's
content hash and the rubric's hash) means "done": `--resume` skips exactly those. The class-wide
files (grades.csv, results.jsonl, index.html) are rebuilt from every `<id>/results.json`, so a
resumed batch ends with the same files as an uninterrupted one.
"""

import csv
import hashlib
import io
import json
from pathlib import Path

from grader.batch.gradescope import gradescope_results
from grader.report.render import atomic_write


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Store:
    def __init__(self, out_dir, rubric):
        self.out = Path(out_dir)
        self.rubric = rubric

    def folder(self, submission_id):
        return self.out / submission_id

    def done(self, source, content_hash, manual_digest=""):
        """The stored results of `source` when they match its content, this rubric and its manual
        scores (grader.manual's digest, "" for none), else None."""
        path = self.folder(source.id) / "results.json"
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (stored.get("submission_sha256") == content_hash and stored.get("rubric_sha256") == self.rubric.digest
                and stored.get("manual_sha256", "") == manual_digest):
            return stored
        return None

    def write(self, source, result_json, content_hash, report_html, log_text, manual_digest=""):
        """Write the report, log and Gradescope file, then results.json last (the 'done' mark)."""
        folder = self.folder(source.id)
        data = dict(result_json, submission=source.id, source=source.origin,
                    submission_sha256=content_hash, rubric_sha256=self.rubric.digest)
        if manual_digest:
            data["manual_sha256"] = manual_digest
        atomic_write(folder / "report.html", report_html)
        atomic_write(folder / "log.txt", log_text)
        atomic_write(folder / "gradescope.json", json.dumps(gradescope_results(data), indent=2) + "\n")
        atomic_write(folder / "results.json", json.dumps(data, indent=2) + "\n")
        return data

    def all_results(self, ids):
        """The stored results of `ids` (those that exist), sorted by id."""
        out = []
        for submission_id in sorted(ids):
            path = self.folder(submission_id) / "results.json"
            if path.is_file():
                out.append(json.loads(path.read_text(encoding="utf-8")))
        return out

    def write_class_files(self, results):
        atomic_write(self.out / "grades.csv", gradebook(self.rubric, results))
        atomic_write(self.out / "results.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in results))


def gradebook(rubric, results):
    """grades.csv: a row a submission (submission, score, max_score, then a column a check)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    ids = [c.id for c in rubric.checks]
    writer.writerow(["submission", "score", "max_score", *ids])
    for result in sorted(results, key=lambda r: r["submission"]):
        points = {c["id"]: _num(c["points"]) for c in result["checks"]}
        writer.writerow([result["submission"], _num(result["score"]), _num(result["max_score"]),
                         *(points.get(i, "") for i in ids)])
    return buffer.getvalue()


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)
