"""Identical submissions of a batch are graded once (grader.batch.runner): a later copy with the
same normalised content and rubric reuses the first's result under its own id, with its own
report and log, and its log says so. Grading is replaced by a counting stub: no child runs."""

import json
from pathlib import Path

import pytest

from grader import rubric as rubrics
from grader.batch import runner
from grader.batch.discover import Source
from grader.batch.store import Store
from grader.grading import Options
from grader.loading import LoadReport
from grader.results import CheckResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[1]
CODE = "import torch\n\ndef conv_output_size(n, k, padding=0, stride=1):\n    return (n + 2 * padding - k) // stride + 1\n"


@pytest.fixture(scope="module")
def rubric():
    return rubrics.load_file(ROOT / "rubric" / "lab11_fashion_cnn.yaml")


def notebook(sources, outputs="", count=None):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "execution_count": count,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": outputs}] if outputs else []}
             for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def source(folder, name, text_):
    path = folder / name
    path.write_text(text_, newline="")
    return Source(id=path.stem, path=path, origin=str(path))


def test_the_key_ignores_line_endings_outputs_and_metadata_but_not_code(tmp_path, rubric):
    key = lambda s: runner.duplicate_key(s, rubric)  # noqa: E731
    a = source(tmp_path, "a.py", CODE)
    assert key(source(tmp_path, "b.py", CODE.replace("\n", "\r\n") + "\n\n")) == key(a)
    assert key(source(tmp_path, "c.py", CODE.replace("// stride", "/ stride"))) != key(a)
    assert key(source(tmp_path, "d.ipynb", CODE)) != key(a)  # another kind of file is graded differently
    nb = key(source(tmp_path, "e.ipynb", notebook([CODE, "x = 1"])))
    assert key(source(tmp_path, "f.ipynb", notebook([CODE, "x = 1"], outputs="42\n", count=7))) == nb
    assert key(source(tmp_path, "g.ipynb", notebook([CODE, "x = 2"]))) != nb
    assert key(Source(id="gone", path=None, origin="zip", problem="empty")) is None


def test_split_keeps_the_first_and_attaches_its_copies(tmp_path, rubric):
    sources = [source(tmp_path, f"s{i}.py", CODE if i % 3 == 0 else CODE + f"# {i}\n") for i in range(7)]
    firsts, copies = runner.split_duplicates([(s, f"h{s.id}") for s in sources], rubric)
    assert copies == 2 and [f[0].id for f in firsts] == ["s0", "s1", "s2", "s4", "s5"]
    assert [(c.id, h) for c, h in firsts[0][2]] == [("s3", "hs3"), ("s6", "hs6")]


def fake_result(path):
    """What grading `path` gives: its file name appears in the load report and a message."""
    load = LoadReport(path.name, "script", notes=(f"{path.name}: 1 shell command not run",))
    checks = (CheckResult("output_size", "sizes", 1.0, 1.0, "passed", ""),
              CheckResult("accuracy", "trained", 0.0, 3.0, "failed", f"{path.name} reached 0.51, below 0.74"))
    return SubmissionResult("lab11_fashion_cnn", path.stem, checks, "hello\n", (), load)


def test_a_class_with_copies_grades_each_content_once(tmp_path, rubric, monkeypatch):
    graded = []

    def grade_source(src, rubric_, options, scores=None):
        graded.append(src.id)
        return fake_result(src.path)

    monkeypatch.setattr(runner, "grade_source", grade_source)
    folder = tmp_path / "class"
    folder.mkdir()
    sources = [source(folder, "ann.py", CODE), source(folder, "bob.py", CODE + "# mine\n"),
               source(folder, "cyd.py", CODE.replace("\n", "\r\n"))]
    store = Store(tmp_path / "out", rubric)
    summary = runner.grade_all(sources, rubric, store, Options(), workers=2, show_progress=False)
    assert sorted(graded) == ["ann", "bob"] and summary.duplicates == 1
    assert sorted(summary.graded) == ["ann", "bob", "cyd"]
    copy = json.loads((tmp_path / "out" / "cyd" / "results.json").read_text())
    first = json.loads((tmp_path / "out" / "ann" / "results.json").read_text())
    assert copy["submission"] == "cyd" and copy["score"] == first["score"] == 1.0
    assert copy["submission_sha256"] != first["submission_sha256"]  # its own file's digest (CRLF)
    assert copy["load"]["file"] == "cyd.py" and "cyd.py reached 0.51" in copy["checks"][1]["message"]
    assert "ann.py" not in json.dumps(copy) and "\"ann\"" not in json.dumps(copy)  # nothing of the first student's is shown to the second
    assert "cyd.py reached 0.51" in (tmp_path / "out" / "cyd" / "report.html").read_text()
    log = (tmp_path / "out" / "cyd" / "log.txt").read_text()
    assert "graded once: same normalised content and rubric as 'ann'" in log
    assert "graded once" not in (tmp_path / "out" / "ann" / "log.txt").read_text()
    assert "graded once" not in (tmp_path / "out" / "bob" / "log.txt").read_text()


def test_without_copies_every_submission_is_graded(tmp_path, rubric, monkeypatch):
    graded = []
    monkeypatch.setattr(runner, "grade_source", lambda src, *a, **k: graded.append(src.id) or fake_result(src.path))
    sources = [source(tmp_path, f"s{i}.py", CODE + f"# {i}\n") for i in range(4)]
    summary = runner.grade_all(sources, rubric, Store(tmp_path / "out", rubric), Options(), show_progress=False)
    assert sorted(graded) == ["s0", "s1", "s2", "s3"] and summary.duplicates == 0
