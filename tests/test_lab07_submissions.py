"""End-to-end grading of the lab07 test submissions (tests/submissions/lab07.py), the student
template and the `grader` CLI.

Each submission is graded once, with all checks, by a module-wide pool of threads that starts
every grade the selected tests need as soon as the first one asks (a grade mostly waits on its
child process); the tests then only read the results.
"""

import ast
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader import rubric as rubrics
from grader.cli import main as cli
from grader.grading import Options, grade_file
from tests.submissions import lab07
from tests.submissions.lab07 import ALL_CHECKS, SUBMISSIONS

ROOT = lab07.ROOT
TEMPLATE = ROOT / "student_template" / f"{lab07.ASSIGNMENT}.py"
TEMPLATE_KEY = "<student template>"
HANG_NAME = "training_hangs"
HANG_LIMIT = 12  # seconds for the accuracy check when grading the submission that hangs
WORKERS = int(os.environ.get("GRADER_TEST_WORKERS") or max(1, min(4, os.cpu_count() or 1)))
RESULT_KEYS = {"assignment", "submission", "score", "max_score", "checks"}
CHECK_KEYS = {"id", "title", "points", "max_points", "status", "message"}


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rubric():
    return rubrics.load(lab07.ASSIGNMENT)


@pytest.fixture(scope="module")
def hang_rubric(tmp_path_factory, rubric):
    """A copy of the rubric whose accuracy check has a time limit of HANG_LIMIT seconds."""
    raw = yaml.safe_load(rubric.path.read_text(encoding="utf-8"))
    [accuracy] = [c for c in raw["checks"] if c["id"] == "accuracy"]
    accuracy["time_limit"] = HANG_LIMIT
    path = tmp_path_factory.mktemp("rubric") / f"{lab07.ASSIGNMENT}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return rubrics.load_file(path)


class Grades:
    """Grades submissions in a thread pool; `grades[name]` waits for (result, seconds)."""

    def __init__(self, directory, rubric, hang_rubric):
        self.directory, self.rubric, self.hang_rubric = directory, rubric, hang_rubric
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grade")
        self.futures = {}

    def start(self, names):
        for name in names:
            if name not in self.futures:
                self.futures[name] = self.pool.submit(self._grade, name)

    def __getitem__(self, name):
        self.start([name])
        return self.futures[name].result()

    def _grade(self, name):
        if name == TEMPLATE_KEY:
            path, rubric = TEMPLATE, self.rubric
        else:
            [path] = lab07.materialize(self.directory, [name])
            rubric = self.hang_rubric if name == HANG_NAME else self.rubric
        started = time.monotonic()
        result = grade_file(path, rubric, Options())
        return result, time.monotonic() - started

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _needed(session):
    """The grades the selected tests of this module ask for: the slowest first, then in test order."""
    names = []
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.append(callspec.params["name"])
        names.extend(getattr(getattr(item, "function", None), "grades", ()))
    names = list(dict.fromkeys(names))  # in test order, once each
    return sorted(names, key=lambda n: n != HANG_NAME)  # stable: the slowest first, then test order


def uses_grades(*names):
    """Declare which grades a test reads, so the pool starts them early."""
    def mark(function):
        function.grades = names
        return function
    return mark


@pytest.fixture(scope="module")
def grades(request, tmp_path_factory, rubric, hang_rubric):
    pool = Grades(tmp_path_factory.mktemp("submissions"), rubric, hang_rubric)
    pool.start(_needed(request.session))
    yield pool
    pool.close()


def _statuses(result):
    return {c.id: c.status for c in result.checks}


def _describe(result):
    return "\n".join(f"  {c.id}: {c.status}: {c.message}" for c in result.checks)


# ---- the library itself (fast) --------------------------------------------------------------------

def test_every_mutation_applies_and_changes_the_reference():
    reference = lab07.REFERENCE.read_text(encoding="utf-8")
    for name, submission in SUBMISSIONS.items():
        text = submission.text(reference)
        assert (text == reference) == (name == "passes_all"), name
        if submission.suffix == ".py" and name != "syntax_error":
            ast.parse(text)  # only syntax_error may break the syntax
        for check_id, status in submission.expected.items():
            assert status in ("failed", "error", "timeout"), (name, check_id, status)
        if submission.expected:
            assert set(submission.hints) <= set(ALL_CHECKS)
            assert set(submission.expected) <= set(submission.hints), f"{name}: give a hint for each non-pass"
    with pytest.raises(SyntaxError):
        ast.parse(SUBMISSIONS["syntax_error"].text(reference))


def test_replace_insists_on_exactly_one_match():
    assert lab07.replace("a b c", "b", "x") == "a x c"
    with pytest.raises(ValueError, match="exactly once"):
        lab07.replace("a b b", "b", "x")
    with pytest.raises(ValueError, match="0 time"):
        lab07.replace("a b c", "z", "x")


def test_notebook_variant_fills_every_stub_of_the_template():
    template = json.loads(lab07.TEMPLATE_NOTEBOOK.read_text(encoding="utf-8"))
    text = SUBMISSIONS["template_notebook_with_reference"].text(lab07.REFERENCE.read_text(encoding="utf-8"))
    notebook = json.loads(text)
    assert len(notebook["cells"]) == len(template["cells"])
    assert [c["cell_type"] for c in notebook["cells"]] == [c["cell_type"] for c in template["cells"]]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]
    assert not any(marker in s for s in sources for marker in lab07.STUB_MARKERS)
    assert any("def build_convnet" in s and "nn.Conv2d(16, 32, 2)" in s for s in sources)


def test_materialize_writes_the_named_files(tmp_path):
    paths = lab07.materialize(tmp_path / "out", ["passes_all", "template_notebook_with_reference"])
    assert [p.name for p in paths] == ["passes_all.py", "template_notebook_with_reference.ipynb"]
    assert paths[0].read_text(encoding="utf-8") == lab07.REFERENCE.read_text(encoding="utf-8")
    with pytest.raises(KeyError, match="nosuch"):
        lab07.materialize(tmp_path, ["nosuch"])
    assert len(lab07.materialize(tmp_path / "all")) == len(SUBMISSIONS)


def test_main_materializes_the_demo_from_the_repo_root(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.submissions.lab07", str(tmp_path / "demo")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert written == sorted(n + SUBMISSIONS[n].suffix for n in lab07.DEMO)


# ---- grading each submission ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_submission(name, grades, rubric):
    submission = SUBMISSIONS[name]
    result, _ = grades[name]
    statuses = _statuses(result)
    assert list(statuses) == list(ALL_CHECKS) == [c.id for c in rubric.checks]
    wrong = {i: (statuses[i], submission.status(i)) for i in ALL_CHECKS if statuses[i] != submission.status(i)}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{_describe(result)}"
    for check in result.checks:
        assert check.points == (check.max_points if check.status == "passed" else 0), check
        if check.status != "passed":
            assert check.message.strip(), f"{name}: {check.id} failed without a message"
    assert result.max_score == rubric.max_score
    if not submission.expected:
        assert result.score == result.max_score
    elif set(submission.expected) == set(ALL_CHECKS):
        assert result.score == 0
    else:
        assert 0 < result.score < result.max_score
    messages = {c.id: c.message for c in result.checks}
    missing = {i: hint for i, hint in submission.hints.items() if hint.lower() not in messages[i].lower()}
    if submission.known_issue:
        assert missing, f"{name}: the known issue seems fixed; drop `known_issue` ({submission.known_issue})"
        pytest.xfail(submission.known_issue)
    assert not missing, f"{name}: hints missing from the messages {missing}\n{_describe(result)}"
    banner = "\n".join(result.load.lines())
    assert all(part in banner for part in submission.load), f"{name}: the load report says\n{banner}"
    assert bool(banner) == bool(submission.load), f"{name}: unexpected load report\n{banner}"


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(HANG_NAME)
def test_training_that_hangs_times_out_and_the_later_checks_still_run(grades, hang_rubric):
    assert {c.id: c.time_limit for c in hang_rubric.checks}["accuracy"] == HANG_LIMIT
    result, seconds = grades[HANG_NAME]
    checks = {c.id: c for c in result.checks}
    assert checks["accuracy"].status == "timeout", _describe(result)
    assert f"within the {HANG_LIMIT:g} s time limit" in checks["accuracy"].message  # the rubric's limit
    assert HANG_LIMIT - 1 <= checks["accuracy"].seconds < HANG_LIMIT + 10
    assert seconds < 45, f"grading took {seconds:.0f} s"
    after = ALL_CHECKS[ALL_CHECKS.index("accuracy") + 1:]
    assert after, "the rubric has no check after accuracy"
    assert all(checks[i].status == "passed" for i in after), _describe(result)  # the child was restarted


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades("prints_a_lot")
def test_printed_output_is_kept_but_capped(grades):
    result, _ = grades["prints_a_lot"]
    assert result.score == result.max_score
    assert "xxxxxxxx" in result.output
    assert len(result.output) < 200_000
    assert "more bytes of output dropped" in result.output


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(TEMPLATE_KEY)
def test_student_template_gets_zero_with_not_implemented_messages(grades, rubric):
    result, _ = grades[TEMPLATE_KEY]
    assert [c.id for c in result.checks] == list(ALL_CHECKS)
    passed = [c.id for c in result.checks if c.status == "passed"]
    assert not passed, _describe(result)
    assert all(c.status in ("failed", "error") for c in result.checks), _describe(result)
    assert result.score == 0 and result.max_score == rubric.max_score
    vague = [c.id for c in result.checks if "not implemented yet" not in c.message]
    assert not vague, _describe(result)


# ---- the command line -----------------------------------------------------------------------------

def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _both(result):
    """stdout and stderr of a CliRunner result (click >= 8.2 keeps stderr apart)."""
    try:
        stderr = result.stderr
    except ValueError:  # older click: stderr mixed into output
        stderr = ""
    return result.output + stderr


@pytest.mark.slow
@pytest.mark.sandbox
def test_cli_check_passes_all_exits_0_with_pass_rows(tmp_path):
    [path] = lab07.materialize(tmp_path, ["passes_all"])
    only = ["conv_shapes", "edge_kernels", "intermediate_size"]
    result = _invoke("check", path, "--assignment", lab07.ASSIGNMENT, *[a for i in only for a in ("--only", i)])
    assert result.exit_code == 0, _both(result)
    rows = [line.split() for line in result.output.splitlines() if line.startswith("  PASS")]
    assert [row[4].rstrip(":") for row in rows] == only, result.output
    assert "FAIL" not in result.output and "ERROR" not in result.output
    assert "Score: 4 / 4 (3 of 3 checks passed)" in result.output


@pytest.mark.slow
@pytest.mark.sandbox
def test_cli_check_on_the_template_exits_1():
    # the assignment is inferred from the file name lab07_convnets.py
    result = _invoke("check", TEMPLATE, "--only", "intermediate_size")
    assert result.exit_code == 1, _both(result)
    assert "FAIL" in result.output and "not implemented yet" in result.output
    assert "Score: 0 / 1" in result.output


def test_cli_check_on_a_missing_file_exits_2(tmp_path):
    result = _invoke("check", tmp_path / "nothing_here.py", "--assignment", lab07.ASSIGNMENT)
    assert result.exit_code == 2
    assert "does not exist" in _both(result)


def test_cli_check_with_an_unknown_assignment_exits_2(tmp_path):
    [path] = lab07.materialize(tmp_path, ["passes_all"])
    result = _invoke("check", path, "--assignment", "nosuch")
    assert result.exit_code == 2
    text = _both(result)
    assert "Error:" in text and "nosuch" in text and lab07.ASSIGNMENT in text


def test_cli_check_with_an_unknown_check_id_exits_2(tmp_path):
    [path] = lab07.materialize(tmp_path, ["passes_all"])
    result = _invoke("check", path, "--assignment", lab07.ASSIGNMENT, "--only", "nosuch_check")
    assert result.exit_code == 2
    assert "Error:" in _both(result) and "nosuch_check" in _both(result)


def test_cli_check_of_a_hidden_check_says_it_is_hidden(tmp_path):
    [path] = lab07.materialize(tmp_path, ["passes_all"])
    result = _invoke("check", path, "--assignment", lab07.ASSIGNMENT, "--only", "conv_shapes_hidden")
    assert result.exit_code == 2
    assert "hidden" in _both(result)


@pytest.mark.slow
@pytest.mark.sandbox
def test_cli_grade_writes_results_reports_and_gradebook(tmp_path, rubric):
    paths = lab07.materialize(tmp_path / "in", ["syntax_error", "passes_all"])
    out = tmp_path / "out"
    result = _invoke("grade", *paths, "--assignment", lab07.ASSIGNMENT, "--out", out)
    assert result.exit_code == 0, _both(result)
    scores = {}
    for name in ("syntax_error", "passes_all"):
        data = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        assert RESULT_KEYS <= set(data)
        assert data["assignment"] == lab07.ASSIGNMENT and data["submission"] == name
        assert [c["id"] for c in data["checks"]] == list(ALL_CHECKS)
        for check in data["checks"]:
            assert CHECK_KEYS <= set(check), check
        assert data["max_score"] == rubric.max_score
        assert data["score"] == sum(c["points"] for c in data["checks"])
        scores[name] = data["score"]
        html = (out / name / "report.html").read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html") and name in html
    assert scores == {"syntax_error": 0, "passes_all": rubric.max_score}
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["submission", "score", "max_score", *ALL_CHECKS, "state", "name"]
    body = {row[0]: row for row in rows[1:]}
    assert sorted(body) == ["passes_all", "syntax_error"]
    max_score = str(int(rubric.max_score))
    assert body["passes_all"][1:3] == [max_score, max_score]
    assert body["syntax_error"][1:3] == ["0", max_score]
    assert set(body["syntax_error"][3:-2]) == {"0"} and body["syntax_error"][-2].startswith("graded")
