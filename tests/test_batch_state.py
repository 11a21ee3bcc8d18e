"""Class files describe the current state exactly: a result counts only when graded with the
current content, rubric, manual scores, sandbox, device, data set and grader; anything else is
regraded (--resume) or, when the run stops first, marked stale; pending checks read "pending";
manual scores given before are kept until a file replaces them."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader.batch import provenance
from grader.batch.discover import Source
from grader.batch.manual_kept import kept_scores
from grader.batch.store import Store
from grader.grading import Options, unusable_submission
from grader.rubric import load_file
from tests.test_batch_inputs import CHECK, GOOD, WRONG

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
ANSWER = 'ANSWERS = {"1.4": "a large rate diverges, a tiny one barely moves"}\n'


def cut_rubric(folder, assignment, ids, **changes):
    """rubric/<assignment>.yaml with only the checks `ids`, short limits, `changes` on each check."""
    raw = yaml.safe_load((ROOT / "rubric" / f"{assignment}.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=10, **changes) for c in raw["checks"] if c["id"] in ids]
    raw["import_time_limit"] = 30
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def grade(paths, out, rubric, *extra, assignment="lab07_convnets"):
    return subprocess.run([GRADER, "grade", *map(str, paths), "--assignment", assignment, "--rubric", str(rubric),
                           "--out", str(out), *map(str, extra)], capture_output=True, text=True, timeout=600)


def table(out):
    with open(out / "grades.csv", encoding="utf-8", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


# ---- the key and the states (no child) ---------------------------------------------------------------

KEY = {"sandbox": "bwrap", "device": "cpu", "dataset_sha256": "d1", "grader": "0.1+aaaa", "threads": 1}


@pytest.mark.parametrize("field, value, words", [
    ("sandbox", "process", "sandbox process (now bwrap)"), ("device", "cuda", "device cuda (now cpu)"),
    ("dataset_sha256", "d2", "another data set"), ("grader", "0.1+bbbb", "another grader version"),
    ("rubric_sha256", "r2", "another rubric"), ("threads", 4, "torch threads 4 (now 1)"),
])
def test_a_result_graded_with_anything_else_is_stale_and_says_why(tmp_path, field, value, words):
    rubric = load_file(cut_rubric(tmp_path / "rubric", "lab07_convnets", (CHECK,)))
    current = dict(provenance.batch_key(rubric, Options(), "bwrap", dataset="d1"), **KEY)
    alice, bob, carol = (tmp_path / f"{n}.py" for n in ("alice", "bob", "carol"))
    for path in (alice, bob, carol):
        path.write_text(GOOD)
    sources = [Source(p.stem, p, str(p), name=p.stem.title()) for p in (alice, bob, carol)]
    result = unusable_submission(rubric, "x", "a made-up result").to_json()
    now, before = Store(tmp_path / "out", rubric, current), Store(tmp_path / "out", rubric, dict(current, **{field: value}))
    now.write(sources[0], dict(result, submission="alice"), provenance_hash(alice), "<html>", "log")
    before.write(sources[1], dict(result, submission="bob"), provenance_hash(bob), "<html>", "log")
    entries = now.entries(sources)
    assert [(e.source.id, e.state) for e in entries] == [("alice", "graded"), ("bob", "stale"), ("carol", "not graded")]
    assert words in entries[1].reason
    now.write_class_files(entries)
    rows = table(tmp_path / "out")
    assert rows["alice"]["state"] == "graded" and rows["alice"]["name"] == "Alice"
    assert rows["bob"]["score"] == "stale" and rows["bob"][CHECK] == "" and words in rows["bob"]["state"]
    assert rows["carol"]["score"] == "not graded"
    lines = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["submission"], r["state"]) for r in lines] == [("alice", "graded"), ("bob", "stale"),
                                                             ("carol", "not graded")]
    assert "checks" not in lines[1]  # a stale score is not shown as if it were current
    index = (tmp_path / "out" / "index.html").read_text()
    assert "Not graded with the current rubric and set-up" in index and words.split(" (")[0] in index
    assert now.done(sources[0], provenance_hash(alice)) and not now.done(sources[1], provenance_hash(bob))
    alice.write_text(WRONG)  # the file changed since: stale too
    assert now.entries(sources)[0].state == "stale" and "the file changed" in now.entries(sources)[0].reason


def provenance_hash(path):
    from grader.batch.store import sha256

    return sha256(path)


def test_kept_manual_scores_are_those_that_still_fit(tmp_path):
    rubric = load_file(cut_rubric(tmp_path / "rubric", "a3_fashion_classifier", ("answer_1_4",)))
    store = Store(tmp_path / "out", rubric)
    sources = []
    for name, points in (("alice", 1.5), ("bob", 2), ("carol", 99), ("dave", 1)):
        (tmp_path / f"{name}.py").write_text(ANSWER)
        source = Source(name, tmp_path / f"{name}.py", name)
        folder = tmp_path / "out" / name
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({"submission_sha256": provenance_hash(source.path),
                                                         "manual_scores": [{"check": "answer_1_4", "points": points,
                                                                            "comment": "ok"}]}))
        sources.append(source)
    (tmp_path / "dave.py").write_text(ANSWER + "# changed\n")
    scores, notes = kept_scores(store, sources, rubric)
    assert {s.submission: s.points for s in scores.scores} == {"alice": 1.5, "bob": 2}
    assert any("carol" in n and "no longer fits" in n for n in notes)
    assert any("dave" in n and "file changed" in n for n in notes)
    assert any("kept the manual scores given before to 2 submission(s) (alice, bob)" in n for n in notes)


# ---- whole runs through the CLI (the process sandbox: fast) --------------------------------------------

@pytest.mark.sandbox
def test_an_interrupted_run_after_a_rubric_change_leaves_the_old_rows_marked_stale(tmp_path):
    flag = tmp_path / "slow-now"
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a_first.py").write_text(GOOD)
    (tmp_path / "class" / "z_slow.py").write_text(f"import os, time\nif os.path.exists({str(flag)!r}):\n"
                                                  "    time.sleep(60)\n" + GOOD)
    old = cut_rubric(tmp_path / "old", "lab07_convnets", (CHECK,))
    new = cut_rubric(tmp_path / "new", "lab07_convnets", (CHECK,), points=3)
    out = tmp_path / "out"
    assert grade([tmp_path / "class"], out, old, "--sandbox", "process").returncode == 0
    assert {k: r["score"] for k, r in table(out).items()} == {"a_first": "1", "z_slow": "1"}
    flag.write_text("")
    process = subprocess.Popen([GRADER, "grade", str(tmp_path / "class"), "--assignment", "lab07_convnets",
                                "--rubric", str(new), "--out", str(out), "--sandbox", "process"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_at_a_terminal)
    digest = load_file(new).digest
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stored = json.loads((out / "a_first" / "results.json").read_text())
        if stored.get("rubric_sha256") == digest:
            break
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-2000:]
    rows = table(out)
    assert rows["a_first"]["score"] == "3" and rows["a_first"]["state"] == "graded"
    assert rows["z_slow"]["score"] == "stale" and rows["z_slow"][CHECK] == ""
    assert "another rubric" in rows["z_slow"]["state"] and "--resume" in rows["z_slow"]["state"]
    assert "z_slow" in (out / "index.html").read_text().split("Not graded with the current rubric")[1]
    flag.unlink()
    resumed = grade([tmp_path / "class"], out, new, "--sandbox", "process", "--resume")
    assert resumed.returncode == 0 and "(--resume)" in resumed.stdout, resumed.stderr[-2000:]  # reuse: see below
    assert {k: (r["score"], r["state"]) for k, r in table(out).items()} == {"a_first": ("3", "graded"),
                                                                          "z_slow": ("3", "graded")}


@pytest.mark.sandbox
def test_resume_regrades_what_another_sandbox_or_thread_count_graded(tmp_path):
    (tmp_path / "alice.py").write_text(GOOD)
    rubric = cut_rubric(tmp_path / "rubric", "lab07_convnets", (CHECK,))
    out = tmp_path / "out"
    runs = [("process", "1", "Graded 1, reused 0"), ("process", "1", "Graded 0, reused 1"),
            ("bwrap", "1", "Graded 1, reused 0"), ("bwrap", "1", "Graded 0, reused 1"),
            ("bwrap", "2", "Graded 1, reused 0")]
    for sandbox, threads, said in runs:
        done = grade([tmp_path / "alice.py"], out, rubric, "--sandbox", sandbox, "--threads", threads, "--resume")
        assert done.returncode == 0 and said in done.stdout, (sandbox, threads, done.stdout, done.stderr[-2000:])
        stored = json.loads((out / "alice" / "results.json").read_text())
        assert stored["graded_with"]["sandbox"] == sandbox and stored["graded_with"]["threads"] == int(threads)


def test_pending_reads_pending_and_manual_scores_stay_until_a_file_replaces_them(tmp_path):
    rubric = cut_rubric(tmp_path / "rubric", "a3_fashion_classifier", ("answer_1_4",))
    for name in ("alice", "bob"):
        (tmp_path / f"{name}.py").write_text(ANSWER)
    paths, out = [tmp_path / "alice.py", tmp_path / "bob.py"], tmp_path / "out"
    extra = ("--sandbox", "process", "--resume")

    def run(*more):
        done = grade(paths, out, rubric, *extra, *more, assignment="a3_fashion_classifier")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done, {k: (r["score"], r["answer_1_4"], r["state"]) for k, r in table(out).items()}

    _, rows = run()
    assert rows["alice"] == ("0", "pending", "graded; pending (awaiting a TA): answer_1_4")
    first = tmp_path / "first.csv"
    first.write_text("submission,check,points,comment\nalice,answer_1_4,1.5,clear\n")
    done, rows = run("--manual-scores", first)
    assert rows["alice"] == ("1.5", "1.5", "graded") and rows["bob"][1] == "pending" and "reused 1" in done.stdout
    done, rows = run()  # no file: the scores given before are kept, and nothing is regraded
    assert rows["alice"] == ("1.5", "1.5", "graded") and "Graded 0, reused 2" in done.stdout
    assert "kept the manual scores given before to 1 submission(s) (alice)" in done.stdout
    second = tmp_path / "second.csv"
    second.write_text("submission,check,points,comment\nbob,answer_1_4,2,good\n")
    _, rows = run("--manual-scores", second)  # a file replaces what was applied before
    assert rows["alice"][1] == "pending" and rows["bob"] == ("2", "2", "graded")


def _as_at_a_terminal():
    """Ctrl-C reaches the grader as at a terminal: a shell's background job (`./dev test &`) ignores
    SIGINT, and a child inherits that, so Python would never raise KeyboardInterrupt in it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
