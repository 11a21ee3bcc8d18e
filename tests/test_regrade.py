"""No data lost on a regrade: `grader grade one_student.py --out graded/` into a class folder updates
that student's row and keeps every other row of grades.csv, results.jsonl and index.html; and
grades.csv's optional status column a check (--status-columns)."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import provenance
from grader.batch.discover import Source
from grader.batch.store import Entry, Store, gradebook
from grader.grading import Options, unusable_submission
from grader.rubric import load_file
from tests.test_batch_inputs import CHECK, GOOD, WRONG
from tests.test_batch_state import cut_rubric

GRADER = str(Path(sys.executable).with_name("grader"))
CHECKS = (CHECK, "conv_shapes_hidden")  # two cheap checks: one public, one hidden


def grade(paths, out, rubric, *extra):
    return subprocess.run([GRADER, "grade", *map(str, paths), "--assignment", "lab07_convnets", "--rubric",
                           str(rubric), "--out", str(out), "--sandbox", "process", *extra],
                          capture_output=True, text=True, timeout=600)


def csv_rows(out):
    with open(out / "grades.csv", encoding="utf-8", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def jsonl_rows(out):
    return {r["submission"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


def grid_rows(out):
    """submission -> its row's text in the class overview's grid (tags dropped)."""
    import re

    html = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="student"[^>]*data-id="([^"]*)"[^>]*>(.*?)</tr>', html, re.S)
    return {sid: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for sid, body in rows}


@pytest.mark.sandbox
def test_regrading_one_student_keeps_every_other_row(tmp_path):
    rubric = cut_rubric(tmp_path / "rubric", "lab07_convnets", CHECKS)
    folder = tmp_path / "class"
    folder.mkdir()
    for name, body in (("alice", GOOD), ("bob", WRONG), ("carol", GOOD), ("dave", "def broken(:\n")):
        (folder / f"{name}.py").write_text(body)
    out = tmp_path / "graded"
    first = grade([folder], out, rubric, "--status-columns")
    assert first.returncode == 0, first.stderr[-2000:]
    before_csv, before_jsonl, before_grid = csv_rows(out), jsonl_rows(out), grid_rows(out)
    assert before_csv["bob"]["score"] == "0" and before_csv["bob"][f"{CHECK} status"] == "failed"
    assert before_csv["alice"][f"{CHECK} status"] == "passed" and before_csv["dave"][f"{CHECK} status"] == "error"
    assert set(before_grid) == {"alice", "bob", "carol", "dave"}

    (folder / "bob.py").write_text(GOOD)  # bob fixed his file; only he is graded again
    again = grade([folder / "bob.py"], out, rubric, "--status-columns")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Grading 1 submission(s)" in again.stdout
    after_csv, after_jsonl, after_grid = csv_rows(out), jsonl_rows(out), grid_rows(out)
    assert list(after_csv) == ["alice", "bob", "carol", "dave"] and list(after_jsonl) == list(after_csv)
    for other in ("alice", "carol", "dave"):  # kept exactly as they were
        assert after_csv[other] == before_csv[other], after_csv[other]
        assert after_jsonl[other] == before_jsonl[other]
        assert after_grid[other] == before_grid[other]
    assert after_csv["bob"]["score"] == "2" and after_csv["bob"][f"{CHECK} status"] == "passed"
    assert after_jsonl["bob"]["score"] == 2 and after_jsonl["bob"]["state"] == "graded"
    assert after_grid["bob"] != before_grid["bob"] and "4 submissions" in (out / "index.html").read_text()


def stored_result(rubric, submission):
    return dict(unusable_submission(rubric, submission, "a made-up result").to_json(), submission=submission)


def test_rows_graded_before_are_kept_graded_or_stale_with_why(tmp_path):
    rubric = load_file(cut_rubric(tmp_path / "rubric", "lab07_convnets", (CHECK,)))
    key = provenance.batch_key(rubric, Options(), "bwrap", dataset="d1")
    files = {n: tmp_path / f"{n}.py" for n in ("alice", "bob", "carol")}
    for path in files.values():
        path.write_text(GOOD)
    alice, bob = Source("alice", files["alice"], "alice.py", name="Alice"), Source("bob", files["bob"], "bob.py", name="Bob")
    carol = Source("carol", None, "carol.zip!x.py", problem="an encrypted member", name="Carol")
    now, older = Store(tmp_path / "out", rubric, key), Store(tmp_path / "out", rubric, dict(key, rubric_sha256="r0"))
    now.write(alice, stored_result(rubric, "alice"), "sha-a", "<html>", "log")
    older.write(bob, stored_result(rubric, "bob"), "sha-b", "<html>", "log")
    now.write(carol, stored_result(rubric, "carol"), "problem:x", "<html>", "log")
    (tmp_path / "out" / "_unpacked" / "x").mkdir(parents=True)
    (tmp_path / "out" / "_unpacked" / "x" / "results.json").write_text('{"submission": "x"}')
    entries = now.entries([])  # a run given none of them
    assert [(e.source.id, e.state, e.source.name) for e in entries] == [
        ("alice", "graded", "Alice"), ("bob", "stale", "Bob"), ("carol", "graded", "Carol")]
    assert "another rubric" in entries[1].reason and "grade its file again" in entries[1].reason
    table = list(csv.DictReader(io.StringIO(gradebook(rubric, entries))))
    assert "not gradable: an encrypted member" in table[2]["state"]  # the problem is kept with its result
    assert table[1]["score"] == "stale"


def test_status_columns_are_optional_and_follow_the_points():
    from tests.test_report import sample_result
    from grader.rubric import load

    rubric = load("lab07_convnets")
    entries = [Entry(Source("alice", None, "alice.py", name="Alice"), "graded", sample_result().to_json()),
               Entry(Source("bob", None, "bob.py"), "not graded", reason="no result yet")]
    ids = [c.id for c in rubric.checks]
    plain = list(csv.reader(io.StringIO(gradebook(rubric, entries))))
    assert plain[0] == ["submission", "score", "max_score", *ids, "state", "name"]
    table = list(csv.reader(io.StringIO(gradebook(rubric, entries, status_columns=True))))
    assert table[0] == ["submission", "score", "max_score", *ids, *(f"{i} status" for i in ids), "state", "name"]
    alice = dict(zip(table[0], table[1]))
    assert (alice["edge_figure status"], alice["accuracy status"], alice["transfer_hidden status"]) == \
        ("passed", "failed", "timeout")
    assert alice["accuracy"] == "0" and alice["greyscale status"] == "" and alice["name"] == "Alice"
    bob = dict(zip(table[0], table[2]))
    assert bob["accuracy status"] == "" and bob["score"] == "not graded" and len(table[2]) == len(table[0])
