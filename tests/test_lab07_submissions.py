"""lab07_convnets beyond what every assignment satisfies (tests/test_every_assignment.py): its
submissions library's own helpers, a training that hangs, capped output, and the `grader` CLI.

The grades come from the session's pool (tests/conftest.py), so a submission graded for
tests/test_every_assignment.py in the same session is not graded again.
"""

import csv
import json

import pytest
from click.testing import CliRunner

from grader.cli import main as cli
from tests.conftest import describe, uses_grades
from tests.submissions import lab07
from tests.submissions.lab07 import ALL_CHECKS, SUBMISSIONS

ASSIGNMENT = lab07.ASSIGNMENT
TEMPLATE = lab07.TEMPLATE
HANG_NAME = "training_hangs"
HANG_LIMIT = SUBMISSIONS[HANG_NAME].time_limits["accuracy"]  # seconds, instead of the rubric's limit
RESULT_KEYS = {"assignment", "submission", "score", "max_score", "checks"}
CHECK_KEYS = {"id", "title", "points", "max_points", "status", "message"}


# ---- the library itself (fast) --------------------------------------------------------------------

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


# ---- grading -------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(ASSIGNMENT, HANG_NAME)
def test_training_that_hangs_times_out_and_the_later_checks_still_run(grades):
    assert {c.id: c.time_limit for c in grades.rubric((ASSIGNMENT, HANG_NAME)).checks}["accuracy"] == HANG_LIMIT
    result, seconds = grades[ASSIGNMENT, HANG_NAME]
    checks = {c.id: c for c in result.checks}
    assert checks["accuracy"].status == "timeout", describe(result)
    assert f"within the {HANG_LIMIT:g} s time limit" in checks["accuracy"].message  # the rubric's limit
    assert HANG_LIMIT - 1 <= checks["accuracy"].seconds < HANG_LIMIT + 10
    assert seconds < 45, f"grading took {seconds:.0f} s"
    after = ALL_CHECKS[ALL_CHECKS.index("accuracy") + 1:]
    assert after, "the rubric has no check after accuracy"
    assert all(checks[i].status == "passed" for i in after), describe(result)  # the child was restarted


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(ASSIGNMENT, "prints_a_lot")
def test_printed_output_is_kept_but_capped(grades):
    result, _ = grades[ASSIGNMENT, "prints_a_lot"]
    assert result.score == result.max_score
    assert "xxxxxxxx" in result.output
    assert len(result.output) < 200_000
    assert "more bytes of output dropped" in result.output


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
