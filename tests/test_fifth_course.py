"""A fifth course, end to end, with no file of grader/ written for it (issue 12's proof of extensibility).

tests/courses/pooling/ holds a rubric/ and a reference_solutions/ only (seed 001's pooling, stride
and padding, on Fashion-MNIST), written with the harness's general kinds. Every command runs as
the `grader` CLI on a copy of that folder named by --course or GRADER_COURSE: `assign` writes the
template, `check` gives the reference full public marks and the template zero, `grade` gives the
template zero, `verify` exits 0 and `calibrate` writes a record. The slow commands start together,
as subprocesses, the first time a test asks for one, and the tests read their outcomes. What every
assignment satisfies (the reference's full marks, the template's zero, each behaviour-named
submission of tests/submissions/pooling.py losing exactly its checks) is proved for this course
too by tests/test_every_assignment.py.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader import rubric as rubrics
from grader.cli import main as cli
from grader.errors import GraderError
from tests.submissions import pooling
from tests.submissions.pooling import ALL_CHECKS, ASSIGNMENT, COURSE, SUBMISSIONS

GRADER = str(Path(sys.executable).with_name("grader"))
PACKAGE = Path(__file__).resolve().parents[1] / "grader"
STEPS = ("pooled_size", "max_pool", "build_pooling_net", "decayed_rates", "train_pooling_net")
PUBLIC_POINTS = 9  # the public checks' points (grader check)
TEMPLATE = "template"  # the submission name of the template in the graded class


def _invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def _copy(tmp_path_factory, name):
    """A copy of the course folder with the template `grader assign --course` wrote into it."""
    root = tmp_path_factory.mktemp(name) / "pooling"
    shutil.copytree(COURSE, root)
    done = _invoke("assign", "--course", root)
    assert done.exit_code == 0, done.output
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return _copy(tmp_path_factory, "course")


class Runs:
    """The slow commands, started together as subprocesses; `runs[name]` waits for (exit code, output)."""

    def __init__(self, course, calibrated, work):
        (work / "class").mkdir()
        shutil.copy(course / "student_template" / f"{ASSIGNMENT}.py", work / "class" / f"{TEMPLATE}.py")
        self.out = work / "graded"
        at = ["--course", str(course)]
        commands = {
            "grade": ["grade", str(work / "class" / f"{TEMPLATE}.py"), "-a", ASSIGNMENT, "--out", str(self.out), *at],
            "check_reference": ["check", str(course / "reference_solutions" / f"{ASSIGNMENT}.py"), *at],
            "check_template": ["check", str(course / "student_template" / f"{ASSIGNMENT}.py"), *at],
            "verify": ["verify", "--seeds", "1"],  # the course named by GRADER_COURSE alone
            "calibrate": ["calibrate", "-a", ASSIGNMENT, "--seeds", "2", "--course", str(calibrated)],
        }
        env = {**os.environ, "GRADER_COURSE": str(course)}
        self.started = {name: subprocess.Popen([GRADER, *argv], cwd=work, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True)
                        for name, argv in commands.items()}

    def __getitem__(self, name):
        process = self.started[name]
        output, _ = process.communicate(timeout=600)
        return process.returncode, output

    def close(self):
        for process in self.started.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    return _copy(tmp_path_factory, "calibrated")


@pytest.fixture(scope="module")
def runs(course, calibrated, tmp_path_factory):
    started = Runs(course, calibrated, tmp_path_factory.mktemp("runs"))
    yield started
    started.close()


def _results(runs, name):
    return json.loads((runs.out / name / "results.json").read_text(encoding="utf-8"))


def _describe(data):
    return "\n".join(f"  {c['id']}: {c['status']}: {c['message']}" for c in data["checks"])


# ---- the course itself (fast) ---------------------------------------------------------------------

def test_the_course_is_a_rubric_and_a_reference_only():
    files = sorted(str(p.relative_to(COURSE)) for p in COURSE.rglob("*") if p.is_file())
    assert files == ["reference_solutions/pooling.py", "rubric/panels/pooling/broken/no_step.py",
                     "rubric/panels/pooling/correct/adam_1e-3.py", "rubric/pooling.calibration.yaml",
                     "rubric/pooling.yaml"]


def test_nothing_in_the_package_names_the_course():
    named = [(str(p.relative_to(PACKAGE)), word) for p in sorted(PACKAGE.rglob("*.py"))
             for word in (*STEPS, "FEATURES", "courses/pooling") if word in p.read_text(encoding="utf-8")]
    assert not named, named


def test_every_kind_of_the_rubric_is_general_and_the_reference_defines_each_function():
    rubric = rubrics.load_file(pooling.RUBRIC)  # resolves kinds, probes and the oracle's names
    assert [c.id for c in rubric.checks] == list(ALL_CHECKS) and rubric.max_score == 11
    assert {c.kind for c in rubric.checks} <= {"function_cases", "declared_constant", "output_shape", "has_layers",
                                               "parameter_count", "min_accuracy"}
    defined = {n.name for n in ast.parse(pooling.REFERENCE.read_text(encoding="utf-8")).body
               if isinstance(n, ast.FunctionDef)}
    assert set(STEPS) == defined


def test_a_rubric_naming_a_function_the_reference_lacks_is_refused_at_load(tmp_path):
    root = tmp_path / "pooling"
    shutil.copytree(COURSE, root)
    path = root / "rubric" / f"{ASSIGNMENT}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("function: decayed_rates", "function: decayed_rate"))
    with pytest.raises(GraderError, match="check 'decayed_rates'.*defines no 'decayed_rate'"):
        rubrics.load_file(path)


def test_assign_writes_a_template_stubbing_every_step(course):
    text = (course / "student_template" / f"{ASSIGNMENT}.py").read_text(encoding="utf-8")
    for step in STEPS:
        assert f'raise NotImplementedError("{step}: not implemented yet")' in text, step
    assert "FEATURES = None  # TODO" in text and "SOLUTION" not in text and "amax" not in text
    assert json.loads((course / "student_template" / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8"))["cells"]
    again = _invoke("assign", "--check", env={"GRADER_COURSE": str(course)})
    assert again.exit_code == 0 and "templates are up to date" in again.output, again.output


def test_every_mutation_names_the_checks_it_loses_and_each_check_is_lost_by_one():
    for name, submission in SUBMISSIONS.items():
        assert set(submission.expected) == set(submission.hints), name
    lost = {i for s in SUBMISSIONS.values() for i in s.expected}
    assert lost >= set(ALL_CHECKS) - {"features", "net_parameters"}, set(ALL_CHECKS) - lost


def test_the_committed_calibration_record_proves_separation_on_the_panels():
    from grader.verify import _calibration_findings

    findings = list(_calibration_findings(rubrics.load_file(pooling.RUBRIC)))
    assert findings and all(f.ok for f in findings), [f.detail for f in findings]


# ---- the commands, end to end ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
def test_grade_gives_the_template_zero_saying_what_is_not_implemented(runs):
    code, output = runs["grade"]
    assert code == 0, output
    data = _results(runs, TEMPLATE)
    assert [c["id"] for c in data["checks"]] == list(ALL_CHECKS), _describe(data)  # hidden checks too
    assert data["score"] == 0 and data["max_score"] == 11, _describe(data)
    assert all(c["status"] in ("failed", "error") and "not implemented yet" in c["message"] for c in data["checks"])


@pytest.mark.slow
@pytest.mark.sandbox
def test_check_gives_the_reference_full_public_marks_and_the_template_zero(runs):
    code, output = runs["check_reference"]
    assert code == 0, output
    assert f"Score: {PUBLIC_POINTS} / {PUBLIC_POINTS} (7 of 7 checks passed)" in output, output
    assert "pooled_size_hidden" not in output  # hidden checks stay out of `check`
    code, output = runs["check_template"]
    assert code == 1, output
    assert f"Score: 0 / {PUBLIC_POINTS} (0 of 7 checks passed)" in output, output


@pytest.mark.slow
@pytest.mark.sandbox
def test_verify_holds_on_the_course_named_by_the_environment(runs):
    code, output = runs["verify"]
    assert code == 0, output
    for item in ("rubric is valid: 9 checks, 11 points", "reference earns full marks: 11 / 11",
                 "threshold of accuracy is cleared over seeds", "template earns nothing without a crash: 0 points",
                 "template is generated from the reference: up to date"):
        assert item in output, output
    assert "FAIL" not in output and "WARN" not in output, output


@pytest.mark.slow
@pytest.mark.sandbox
def test_calibrate_writes_a_record_beside_the_rubric(runs, calibrated):
    code, output = runs["calibrate"]
    assert code == 0, output
    path = calibrated / "rubric" / f"{ASSIGNMENT}.calibration.yaml"
    assert f"Record: {path}" in output, output
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    [entry] = record["checks"]
    assert record["assignment"] == ASSIGNMENT and entry["check"] == "accuracy" and entry["seeds"] == [0, 1]
    assert [c["variant"] for c in entry["correct"]] == ["reference", "adam_1e-3"], entry
    assert [b["variant"] for b in entry["broken"]] == ["no_step"], entry
    assert all(0.5 <= a <= 1 for a in entry["correct"][0]["values"]), entry
    assert entry["gap"] and entry["broken_bound"] < entry["recommended_threshold"] <= entry["correct_bound"], entry