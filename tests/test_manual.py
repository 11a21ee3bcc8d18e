"""Manual scores (grader.manual): parsing and validating a TA's CSV, merging it into results, and
`grader grade --manual-scores` end to end (skipped until the option is wired into the CLI)."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader import manual
from grader.cli import main as cli
from grader.errors import GraderError
from grader.report import render_report
from grader.results import STATUSES, CheckResult, SubmissionResult
from grader.rubric import Check, Rubric

HEADER = "submission,check,points,comment\n"


@pytest.fixture
def rubric():
    checks = tuple(Check(i, f"title of {i}", kind, points, "public", 20.0, {}, 0)
                   for i, kind, points in (("answer_1_4", "written_answer", 2.0), ("answer_1_7", "written_answer", 3.0),
                                           ("train", "train_history", 2.0)))
    return Rubric("a3_fashion_classifier", "A3", None, 60.0, 4096, checks, Path("rubric/a3.yaml"), "0" * 64)


def _result(submission="alice", answer_1_4="pending", train="passed"):
    checks = (
        CheckResult("answer_1_4", "Q1.4", 0.0, 2.0, answer_1_4, "answer received (40 words); a TA grades it"),
        CheckResult("answer_1_7", "Q1.7", 0.0, 3.0, "pending", "answer received (12 words); a TA grades it"),
        CheckResult("train", "Q1.2", 2.0 if train == "passed" else 0.0, 2.0, train, "ok", seconds=1.5),
    )
    return SubmissionResult("a3_fashion_classifier", submission, checks, "printed", ("a warning",))


def _problems(text, rubric):
    with pytest.raises(manual.ManualScoresError) as info:
        manual.parse(text, rubric, "scores.csv")
    return info.value.problems


# ---- parsing ----------------------------------------------------------------------------------------

def test_a_valid_file_with_quoted_comments_and_blank_lines(rubric):
    text = ('\ufeffSubmission, Check ,Points,Comment\n'
            'alice,answer_1_4,1.5,"clear, but says nothing about lr = 1"\n'
            '\n'
            'alice,answer_1_7,3,\n'
            'bob,answer_1_4,0,"two lines:\nfirst, second"\n'
            'bob,answer_1_7,2\n')
    scores = manual.parse(text.lstrip("\ufeff"), rubric, "scores.csv")
    assert [(s.submission, s.check, s.points, s.line) for s in scores.scores] == [
        ("alice", "answer_1_4", 1.5, 2), ("alice", "answer_1_7", 3.0, 4), ("bob", "answer_1_4", 0.0, 5),
        ("bob", "answer_1_7", 2.0, 7)]
    assert scores.scores[0].comment == "clear, but says nothing about lr = 1"
    assert scores.scores[2].comment == "two lines:\nfirst, second"
    assert scores.scores[1].comment == scores.scores[3].comment == ""
    assert scores.submissions == {"alice", "bob"}
    assert set(scores.for_submission("alice")) == {"answer_1_4", "answer_1_7"}


def test_a_header_without_the_comment_column(rubric):
    scores = manual.parse("submission,check,points\nalice,answer_1_4,2\n", rubric)
    assert scores.scores[0].points == 2.0 and scores.scores[0].comment == ""


def test_every_bad_line_is_named_with_its_problem(rubric):
    text = HEADER + "\n".join([
        "alice,answer_14,1,",                # 2: unknown check, with a suggestion
        "alice,answer_1_4,two,",             # 3: not a number
        "alice,answer_1_7,-1,",              # 4: negative
        "alice,answer_1_7,3.5,",             # 5: more than the check is worth
        "alice,answer_1_7,nan,",             # 6: not finite
        "alice,answer_1_7",                  # 7: too few fields
        "alice,answer_1_7,1,good,but,long",  # 8: too many fields
        ",answer_1_7,1,",                    # 9: no submission
        "bob,answer_1_7,1,",                 # 10: fine
        "bob,answer_1_7,2,again",            # 11: duplicate
    ]) + "\n"
    problems = _problems(text, rubric)
    assert problems == [
        "line 2: no check 'answer_14' in the rubric of a3_fashion_classifier (did you mean 'answer_1_4'?)",
        "line 3: points 'two' is not a number",
        "line 4: points must be a number from 0 to 3, got '-1'",
        "line 5: 3.5 points is more than check 'answer_1_7' is worth (3)",
        "line 6: points must be a number from 0 to 3, got 'nan'",
        "line 7: 2 fields, expected 3 or 4 (submission, check, points, comment)",
        "line 8: 6 fields, expected 3 or 4 (submission, check, points, comment); put a comment containing "
        "commas in double quotes",
        "line 9: the submission is empty (use its id, the first column of grades.csv)",
        "line 11: a second score for submission 'bob', check 'answer_1_7' (the first is on line 10)",
    ]


def test_the_error_names_the_file_counts_the_problems_and_is_a_usage_error(rubric):
    with pytest.raises(manual.ManualScoresError) as info:
        manual.parse(HEADER + "alice,nosuch,1,\n", rubric, "scores.csv")
    error = info.value
    assert isinstance(error, GraderError) and error.exit_code == 2
    assert str(error).startswith("invalid manual scores scores.csv (1 problem):\n  line 2: no check 'nosuch'")


def test_many_problems_are_cut_after_twenty(rubric):
    text = HEADER + "".join(f"s{i},nosuch,1,\n" for i in range(25))
    with pytest.raises(manual.ManualScoresError) as info:
        manual.parse(text, rubric, "scores.csv")
    assert len(info.value.problems) == 25
    assert "(25 problems)" in str(info.value) and "... and 5 more" in str(info.value)


@pytest.mark.parametrize("text, problem", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("alice,answer_1_4,2,\n", "line 1: the first line must be the header 'submission,check,points,comment'"),
    ("student,question,score\n", "line 1: the first line must be the header"),
    (HEADER + 'alice,answer_1_4,2,"open quote\n', "not valid CSV"),
])
def test_header_empty_file_and_broken_quoting(rubric, text, problem):
    [found] = _problems(text, rubric)
    assert problem in found


def test_load_reads_utf8_with_a_byte_order_mark(tmp_path, rubric):
    path = tmp_path / "scores.csv"
    path.write_bytes(("\ufeff" + HEADER + "zoë,answer_1_4,2,très bien\n").encode("utf-8"))
    scores = manual.load(path, rubric)
    assert scores.path == str(path)
    assert (scores.scores[0].submission, scores.scores[0].comment) == ("zoë", "très bien")


def test_load_refuses_a_missing_or_non_utf8_file(tmp_path, rubric):
    with pytest.raises(manual.ManualScoresError, match="cannot read the file"):
        manual.load(tmp_path / "nothing.csv", rubric)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "zoë,answer_1_4,2,\n").encode("latin-1"))
    with pytest.raises(manual.ManualScoresError, match="not UTF-8"):
        manual.load(latin, rubric)


def test_scores_of_submissions_not_graded_are_refused_with_their_lines(rubric):
    scores = manual.parse(HEADER + "alice,answer_1_4,2,\nalcie,answer_1_7,1,\nzed,answer_1_7,1,\n", rubric, "s.csv")
    manual.check_submissions(scores, ["alice", "alcie", "zed", "other"])
    with pytest.raises(manual.ManualScoresError) as info:
        manual.check_submissions(scores, ["alice", "bob"])
    assert info.value.problems == ["line 3: no submission 'alcie' among those graded (did you mean 'alice'?)",
                                   "line 4: no submission 'zed' among those graded"]


def test_digest_changes_with_a_submissions_scores_only(rubric):
    one = manual.parse(HEADER + "alice,answer_1_4,2,\nbob,answer_1_4,1,\n", rubric)
    reordered = manual.parse(HEADER + "bob,answer_1_4,1,\nalice,answer_1_4,2,\n", rubric)
    changed = manual.parse(HEADER + "alice,answer_1_4,1.5,\nbob,answer_1_4,1,\n", rubric)
    commented = manual.parse(HEADER + "alice,answer_1_4,2,nice\nbob,answer_1_4,1,\n", rubric)
    assert one.digest("alice") == reordered.digest("alice") != changed.digest("alice") != commented.digest("alice")
    assert one.digest("bob") == changed.digest("bob")
    assert one.digest("carol") == ""
    assert one.only("alice").scores == one.scores[:1] and one.only("alice").path == one.path
    assert one.only("alice").digest("alice") == one.digest("alice")


# ---- merging ----------------------------------------------------------------------------------------

def test_merge_scores_pending_checks_and_returns_a_new_result(rubric):
    scores = manual.parse(HEADER + 'alice,answer_1_4,1.5,"clear, <b>short</b>"\nalice,answer_1_7,0,off topic\n'
                          "bob,answer_1_4,2,\n", rubric, "scores.csv")
    original = _result()
    merged = manual.merge(original, scores)
    assert merged is not original and original.checks[0].status == "pending"  # the input is left alone
    first, second, train = merged.checks
    assert (first.status, first.points, first.max_points) == ("passed", 1.5, 2.0)
    assert first.message == "scored by a TA: 1.5 / 2\nclear, <b>short</b>"
    assert (second.status, second.points) == ("failed", 0.0)
    assert second.message == "scored by a TA: 0 / 3\noff topic"
    assert train == original.checks[2]
    assert merged.score == 3.5 and merged.max_score == original.max_score
    assert (merged.output, merged.warnings) == ("printed", ("a warning",))
    assert {c["status"] for c in merged.to_json()["checks"]} <= set(STATUSES)


def test_full_points_pass_and_other_submissions_are_untouched(rubric):
    scores = manual.parse(HEADER + "alice,answer_1_4,2,\n", rubric)
    assert manual.merge(_result(), scores).checks[0].status == "passed"
    bob = _result("bob")
    assert manual.merge(bob, scores).checks == bob.checks


def test_a_score_for_a_check_that_is_not_pending_is_not_applied_but_warned(rubric):
    scores = manual.parse(HEADER + "alice,answer_1_4,2,\nalice,train,0,\n", rubric, "scores.csv")
    merged = manual.merge(_result(answer_1_4="failed", train="passed"), scores)
    assert [c.status for c in merged.checks] == ["failed", "pending", "passed"]
    assert merged.score == 2.0
    assert merged.warnings[0] == "a warning"
    assert merged.warnings[1:] == (
        "scores.csv, line 2: the score for check 'answer_1_4' was not applied: the grader failed it, only checks "
        "awaiting a TA (pending) take manual scores",
        "scores.csv, line 3: the score for check 'train' was not applied: the grader passed it, only checks "
        "awaiting a TA (pending) take manual scores")


def test_a_score_for_a_check_not_run_is_warned(rubric):
    scores = manual.parse(HEADER + "alice,answer_1_7,3,\n", rubric, "scores.csv")
    only_first = SubmissionResult("a3_fashion_classifier", "alice", _result().checks[:1])
    merged = manual.merge(only_first, scores)
    assert merged.checks == only_first.checks
    assert merged.warnings == ("scores.csv, line 2: the score for check 'answer_1_7' was not applied: the check "
                               "was not run for this submission",)


def test_the_report_shows_the_tas_score_and_escapes_the_comment(rubric):
    scores = manual.parse(HEADER + 'alice,answer_1_4,1.5,"<script>alert(1)</script> good"\n', rubric)
    html = render_report(manual.merge(_result(), scores), "alice.py")
    assert "scored by a TA: 1.5 / 2" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# ---- grader grade --manual-scores -------------------------------------------------------------------

WIRED = any(param.name == "manual_scores" for param in cli.commands["grade"].params)
needs_option = pytest.mark.skipif(not WIRED, reason="grader grade has no --manual-scores option yet")
QUICK = ("class_names", "answer_1_4", "answer_1_7")


@pytest.fixture
def quick_rubric(tmp_path):
    """The a3 rubric cut down to one quick check and two written answers."""
    from tests.submissions import a3

    raw = yaml.safe_load(a3.RUBRIC.read_text(encoding="utf-8"))
    raw["checks"] = [c for c in raw["checks"] if c["id"] in QUICK]
    path = tmp_path / "rubric" / f"{a3.ASSIGNMENT}.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _grade(paths, out, rubric, *extra):
    from tests.submissions import a3

    return CliRunner().invoke(cli, ["grade", *map(str, paths), "--assignment", a3.ASSIGNMENT, "--rubric", str(rubric),
                                    "--out", str(out), *map(str, extra)], catch_exceptions=False)


@needs_option
@pytest.mark.slow
@pytest.mark.sandbox
def test_grade_merges_manual_scores_and_resume_regrades_only_changed_ones(tmp_path, quick_rubric):
    from tests.submissions import a3

    paths = a3.materialize(tmp_path / "in", ["passes_all", "answers_incomplete"])
    scores = tmp_path / "scores.csv"
    scores.write_text("submission,check,points,comment\n"
                      'passes_all,answer_1_4,1.5,"good, <b>but</b> short"\n'
                      "passes_all,answer_1_7,3,\n"
                      "answers_incomplete,answer_1_4,2,\n"
                      "answers_incomplete,answer_1_7,1,\n", encoding="utf-8")
    out = tmp_path / "out"
    run = _grade(paths, out, quick_rubric, "--manual-scores", scores)
    assert run.exit_code == 0, run.output
    assert "note: answers_incomplete:" in run.output and "line 5" in run.output and "only checks" in run.output
    full = json.loads((out / "passes_all" / "results.json").read_text())
    checks = {c["id"]: c for c in full["checks"]}
    assert (checks["answer_1_4"]["status"], checks["answer_1_4"]["points"]) == ("passed", 1.5)
    assert checks["answer_1_4"]["message"] == "scored by a TA: 1.5 / 2\ngood, <b>but</b> short"
    assert full["score"] == 1 + 1.5 + 3 and "manual_sha256" in full
    partial = json.loads((out / "answers_incomplete" / "results.json").read_text())
    assert {c["id"]: c["status"] for c in partial["checks"]} == {"class_names": "passed", "answer_1_4": "passed",
                                                                  "answer_1_7": "failed"}
    assert partial["score"] == 1 + 2
    assert "&lt;b&gt;but&lt;/b&gt;" in (out / "passes_all" / "report.html").read_text()
    rows = [line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]]
    assert [",".join(r[:6]) for r in rows] == ["answers_incomplete,3,6,1,2,0", "passes_all,5.5,6,1,1.5,3"]
    assert [r[6] for r in rows] == ["graded", "graded"]  # the state column (issue 11)
    again = _grade(paths, out, quick_rubric, "--manual-scores", scores, "--resume")
    assert "Graded 0, reused 2" in again.output
    scores.write_text(scores.read_text().replace("passes_all,answer_1_7,3,", "passes_all,answer_1_7,2,"))
    changed = _grade(paths, out, quick_rubric, "--manual-scores", scores, "--resume")
    assert "Graded 1, reused 1" in changed.output, changed.output
    assert json.loads((out / "passes_all" / "results.json").read_text())["score"] == 4.5
    plain = _grade(paths, out, quick_rubric, "--resume")
    assert "Graded 0, reused 2" in plain.output, plain.output  # without the file the scores given are kept (issue 11)
    assert json.loads((out / "passes_all" / "results.json").read_text())["score"] == 4.5


@needs_option
def test_a_bad_manual_scores_file_stops_grade_before_anything_runs(tmp_path, quick_rubric):
    from tests.submissions import a3

    paths = a3.materialize(tmp_path / "in", ["passes_all"])
    scores = tmp_path / "scores.csv"
    scores.write_text("submission,check,points,comment\npasses_all,answer_14,9,\nnobody,answer_1_4,1,\n")
    run = _grade(paths, tmp_path / "out", quick_rubric, "--manual-scores", scores)
    assert run.exit_code == 2
    assert "line 2: no check 'answer_14'" in run.output and "did you mean 'answer_1_4'" in run.output
    assert not (tmp_path / "out" / "passes_all").exists()
    scores.write_text("submission,check,points,comment\nnobody,answer_1_4,1,\n")
    run = _grade(paths, tmp_path / "out", quick_rubric, "--manual-scores", scores)
    assert run.exit_code == 2 and "line 2: no submission 'nobody' among those graded" in run.output
    assert not (tmp_path / "out" / "passes_all").exists()
