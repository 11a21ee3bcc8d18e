"""The Gradescope autograder treats what runs on Gradescope's machine as hostile: a submission that
tries to read source/ (the full rubric) and rewrite results/ gets neither, isolated or refused;
the file graded is the one named after the assignment, and the others are reported."""

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.errors import GraderError
from grader.gradescope_autograder import choose
from grader.release import export_gradescope
from tests.test_batch_inputs import GOOD, WRONG

ROOT = Path(__file__).resolve().parents[1]
NAME = "lab07_convnets"
SECRET = "SECRET-7f3a9c"  # a comment of the shipped rubric: seen only by whoever reads the file


def hostile(root):
    """Full marks earned honestly, plus: read the rubric, rewrite results.json, leave a daemon."""
    return GOOD + f'''
import os, time
ROOTS = ["/autograder", {str(root)!r}]
for base in ROOTS:
    try:
        print("RUBRIC:", open(base + "/source/rubric/{NAME}.yaml").read())
    except OSError as exc:
        print("no rubric:", type(exc).__name__)
    try:
        os.makedirs(base + "/results", exist_ok=True)
        open(base + "/results/results.json", "w").write('{{"score": 1000, "output": "pwned"}}')
        open(base + "/results/PWNED", "w").write("x")
    except OSError as exc:
        print("no results:", type(exc).__name__)
if os.fork() == 0:
    os.setsid()
    for _ in range(100):
        for base in ROOTS:
            try:
                open(base + "/results/results.json", "w").write('{{"score": 1000, "output": "daemon"}}')
            except OSError:
                pass
        time.sleep(0.1)
    os._exit(0)
'''


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """An autograder zip of a course whose lab07 rubric has two cheap checks (one hidden) and a secret."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "pyproject.toml", course / "pyproject.toml")
    raw = yaml.safe_load((ROOT / "rubric" / f"{NAME}.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=10) for c in raw["checks"] if c["id"] in ("conv_shapes", "conv_shapes_hidden")]
    raw["import_time_limit"] = 30
    (course / "rubric").mkdir()
    (course / "rubric" / f"{NAME}.yaml").write_text(f"# {SECRET}\n" + yaml.safe_dump(raw))
    return export_gradescope(course, NAME, course / "autograder.zip")


def stand_in(archive, base, files, path_prefix=None):
    """Run run_autograder in a stand-in of /autograder holding `files` (name -> text); returns
    (root, completed process)."""
    root = base / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "source")
    for item in (root / "source" / "source").iterdir():  # as tests/test_release.py lays it out
        shutil.move(str(item), root / "source" / item.name)
    (root / "source" / "source").rmdir()
    for name, body in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(body(root) if callable(body) else body)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    if path_prefix:
        env["PATH"] = f"{path_prefix}:{env['PATH']}"
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    return root, done


def failing_bwrap(folder):
    folder.mkdir()
    (folder / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    (folder / "bwrap").chmod(0o755)
    return folder


# ---- which file is graded (no child) -----------------------------------------------------------------

def _folder(tmp_path, names):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    return tmp_path


@pytest.mark.parametrize("names, graded, others", [
    (["my.lab07_convnets.py"], "my.lab07_convnets.py", []),
    (["homework.py"], "homework.py", []),
    (["aaa_helper.py", "lab07_convnets.py"], "lab07_convnets.py", ["aaa_helper.py"]),
    (["Lab07_Convnets.IPYNB", "notes.txt"], "Lab07_Convnets.IPYNB", ["notes.txt"]),
    (["src/lab07_convnets.py", "src/utils.py", ".hidden.py"], "src/lab07_convnets.py", ["src/utils.py"]),
])
def test_the_file_named_after_the_assignment_is_graded_and_the_others_reported(tmp_path, names, graded, others):
    chosen, rest, problem = choose(_folder(tmp_path, names), NAME)
    assert problem == "" and chosen == tmp_path / graded and rest == others


@pytest.mark.parametrize("names, why", [
    ([], "no .py or .ipynb file (nothing)"),
    (["notes.txt"], "no .py or .ipynb file (notes.txt)"),
    (["a.py", "b.py"], "several candidate files (a.py, b.py)"),
    (["lab07_convnets.py", "x/lab07_convnets.py"], "several candidate files"),
])
def test_no_unique_candidate_is_an_error_that_lists_the_files(tmp_path, names, why):
    chosen, _, problem = choose(_folder(tmp_path, names), NAME)
    assert chosen is None and why in problem and f"named {NAME}.py" in problem


def test_a_linked_file_is_never_graded(tmp_path):
    (tmp_path / "secret.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lab07_convnets.py").symlink_to(tmp_path / "secret.py")
    chosen, _, _ = choose(tmp_path / "sub", NAME)
    assert chosen is None


def test_the_export_refuses_an_unisolated_sandbox(tmp_path):
    with pytest.raises(GraderError, match="never runs student code unisolated"):
        export_gradescope(ROOT, NAME, tmp_path / "a.zip", sandbox="process")


# ---- the stand-in of /autograder ---------------------------------------------------------------------

def test_without_namespaces_nothing_of_the_student_runs_and_results_say_why(autograder, tmp_path):
    root, done = stand_in(autograder, tmp_path, {f"{NAME}.py": hostile}, failing_bwrap(tmp_path / "bin"))
    assert done.returncode == 0, done.stderr[-2000:]
    time.sleep(1)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["tests"] == []
    assert "Your code was not run" in results["output"] and "No permissions to create new namespace" in results["output"]
    assert not (root / "results" / "PWNED").exists() and SECRET not in json.dumps(results)
    assert "REFUSED to grade unisolated" in done.stdout


@pytest.mark.slow
@pytest.mark.sandbox
def test_isolated_a_hostile_submission_reads_no_rubric_and_writes_no_results(autograder, tmp_path):
    root, done = stand_in(autograder, tmp_path, {f"{NAME}.py": hostile, "helper.py": WRONG})
    assert done.returncode == 0, done.stderr[-2000:]
    first = (root / "results" / "results.json").read_text()
    time.sleep(3)  # a daemon that outlived the grade would rewrite it by now
    assert (root / "results" / "results.json").read_text() == first
    results = json.loads(first)
    assert results["score"] == 2 and [t["score"] for t in results["tests"]] == [1, 1]
    assert results["output"] == f"Graded {NAME}.py. Not graded (only one file is graded): helper.py."
    assert SECRET not in first and "pwned" not in first and "daemon" not in first
    assert not (root / "results" / "PWNED").exists()
    assert sorted(p.name for p in (root / "results").iterdir()) == ["results.json"]
