"""A student's file never chooses the rubric it is graded on (issue 10, item 3).

`grader grade` takes its rubric from --rubric (a file or a course folder) or from the course
only, never from a rubric/ folder beside a submission; `check` (a release bundle keeps the
public rubric beside the student's file) may use one but warns when it differs from the course's.
Both say which rubric file they use and its digest."""

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from grader import rubric as rubrics

GRADER = str(Path(sys.executable).with_name("grader"))
COURSE_RUBRIC = rubrics.RUBRIC_DIR / "lab07_convnets.yaml"
FORGED = """assignment: lab07_convnets
dataset: mnist
checks:
  - {id: free, title: free points, kind: declared_constant, points: 21, visibility: public,
     time_limit: 5, params: {name: X, expected: 3}}
"""


def run(*args, cwd):
    return subprocess.run([GRADER, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def class_with_a_forged_rubric(tmp_path):
    """Two students; eve hands in rubric/lab07_convnets.yaml with one free 21-point check."""
    for student, code in (("eve", "X = 3\n"), ("bob", "X = 3\n")):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "lab07_convnets.py").write_text(code)
    (tmp_path / "class" / "eve" / "rubric").mkdir()
    (tmp_path / "class" / "eve" / "rubric" / "lab07_convnets.yaml").write_text(FORGED)
    return sorted(str(p) for p in (tmp_path / "class").glob("*/lab07_convnets.py"))


def test_grade_ignores_a_rubric_beside_a_submission(tmp_path):
    files = class_with_a_forged_rubric(tmp_path)
    files.sort(key=lambda f: "eve" not in f)  # eve's file first: it was the one looked beside
    done = run("grade", *files, "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    digest = hashlib.sha256(COURSE_RUBRIC.read_bytes()).hexdigest()[:16]
    assert f"Rubric: {COURSE_RUBRIC}" in done.stdout and digest in done.stdout
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    course = rubrics.load_file(COURSE_RUBRIC)
    assert len(rows) == 2 and "free" not in rows[0]
    assert all(float(r["max_score"]) == course.max_score and float(r["score"]) == 0 for r in rows)


def test_grade_takes_a_course_folder_or_file_given_with_rubric(tmp_path):
    files = class_with_a_forged_rubric(tmp_path)
    course = tmp_path / "course" / "rubric"
    course.mkdir(parents=True)
    (course / "lab07_convnets.yaml").write_text(FORGED.replace("free points", "given by the course"))
    done = run("grade", *files, "--rubric", str(tmp_path / "course"), "-a", "lab07_convnets", "--out", "out",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Rubric: {course / 'lab07_convnets.yaml'}" in done.stdout
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [float(r["score"]) for r in rows] == [21, 21]
    folder_without = run("grade", *files, "--rubric", str(tmp_path / "class" / "bob"), "-a", "lab07_convnets",
                         "--out", "out2", cwd=tmp_path)
    assert folder_without.returncode == 2 and "no rubric for assignment 'lab07_convnets'" in folder_without.stderr


def test_check_warns_when_the_rubric_beside_the_file_is_not_the_courses(tmp_path):
    files = class_with_a_forged_rubric(tmp_path)
    eve = next(f for f in files if "eve" in f)
    done = run("check", eve, cwd=tmp_path)
    forged = tmp_path / "class" / "eve" / "rubric" / "lab07_convnets.yaml"
    assert f"Rubric: {forged}" in done.stdout
    assert "warning: the public checks of this rubric differ from the course's" in done.stdout
    assert str(COURSE_RUBRIC) in done.stdout
    bob = next(f for f in files if "bob" in f)
    plain = run("check", bob, cwd=tmp_path)
    assert f"Rubric: {COURSE_RUBRIC}" in plain.stdout and "warning: the public checks" not in plain.stdout


def test_check_does_not_warn_about_a_release_bundles_public_rubric(tmp_path):
    """The bundle's rubric holds the course's public checks only: the same public checks, no warning."""
    import yaml

    raw = yaml.safe_load(COURSE_RUBRIC.read_text())
    raw["checks"] = [c for c in raw["checks"] if c.get("visibility", "public") == "public"]
    (tmp_path / "rubric").mkdir()
    (tmp_path / "rubric" / "lab07_convnets.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copytree(COURSE_RUBRIC.parent / "plugins", tmp_path / "rubric" / "plugins")  # as `grader release` bundles them
    (tmp_path / "lab07_convnets.py").write_text("X = 3\n")
    done = run("check", "lab07_convnets.py", cwd=tmp_path)
    assert f"Rubric: {tmp_path / 'rubric' / 'lab07_convnets.yaml'}" in done.stdout
    assert "warning" not in done.stdout, done.stdout
