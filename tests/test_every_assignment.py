"""What every assignment must satisfy, over each library of tests/submissions/ (the four course
assignments and the fifth course of tests/courses/pooling).

A library's submissions are the reference with one named change each (fast). Graded, the
reference earns full marks on every check, the student template nothing, each message saying
what is not implemented, and each behaviour-named submission exactly the statuses, points,
message hints and load report its table says. The grades come from the session's pool
(tests/conftest.py): each once, on the checks its library names.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LIBRARIES, TEMPLATE_KEY, describe, rubric_of, statuses

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = list(LIBRARIES)
SUBMISSIONS = [(assignment, name) for assignment, library in LIBRARIES.items() for name in library.SUBMISSIONS]
NOT_PASSED = ("failed", "error", "timeout")


def _key_id(key):
    return "-".join(key)


# ---- the libraries (fast) -------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_library_names_the_rubric_checks_in_order(assignment):
    assert LIBRARIES[assignment].ALL_CHECKS == tuple(c.id for c in rubric_of(assignment).checks)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mutation_applies_and_changes_the_reference(assignment):
    """Only passes_all is the reference itself; only syntax_error breaks the syntax; each check a
    submission must not pass has a status that is not a pass and a hint, on a check it is graded on."""
    library = LIBRARIES[assignment]
    reference = library.REFERENCE.read_text(encoding="utf-8")
    for name, submission in library.SUBMISSIONS.items():
        text = submission.text(reference)
        assert (text == reference) == (name == "passes_all"), name
        assert (submission.suffix == ".ipynb") == text.lstrip().startswith("{"), f"{name}: a notebook is JSON"
        if submission.suffix == ".py" and name != "syntax_error":
            ast.parse(text)
        graded = set(library.checks_for(name))
        assert graded <= set(library.ALL_CHECKS), name
        for check_id, status in submission.expected.items():
            assert status in NOT_PASSED, (name, check_id, status)
        assert set(submission.expected) <= set(submission.hints), f"{name}: give a hint for each non-pass"
        assert set(submission.hints) <= graded, f"{name}: a hint for a check it is not graded on"
        assert set(submission.time_limits) <= graded, f"{name}: a time limit for a check it is not graded on"


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if "syntax_error" in LIBRARIES[a].SUBMISSIONS])
def test_the_syntax_error_does_not_parse(assignment):
    library = LIBRARIES[assignment]
    with pytest.raises(SyntaxError):
        ast.parse(library.SUBMISSIONS["syntax_error"].text(library.REFERENCE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_materialize_writes_the_named_files_and_main_the_demo(assignment, tmp_path):
    library = LIBRARIES[assignment]
    paths = library.materialize(tmp_path / "named", library.DEMO)
    assert [p.name for p in paths] == [n + library.SUBMISSIONS[n].suffix for n in library.DEMO]
    [reference] = library.materialize(tmp_path / "reference", ["passes_all"])
    assert reference.read_text(encoding="utf-8") == library.REFERENCE.read_text(encoding="utf-8")
    with pytest.raises(KeyError, match="nosuch"):
        library.materialize(tmp_path, ["nosuch"])
    assert len(library.materialize(tmp_path / "all")) == len(library.SUBMISSIONS)
    done = subprocess.run([sys.executable, "-m", library.__name__, str(tmp_path / "demo")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert written == sorted(n + library.SUBMISSIONS[n].suffix for n in library.DEMO)


# ---- graded ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("key", [(a, "passes_all") for a in ASSIGNMENTS], ids=ASSIGNMENTS)
def test_the_reference_gets_full_marks_on_every_check(key, grades):
    """Only checks a person scores (pending) earn nothing yet."""
    result, _ = grades[key]
    rubric = rubric_of(key[0])
    assert [c.id for c in result.checks] == [c.id for c in rubric.checks]
    assert all(c.status in ("passed", "pending") for c in result.checks), describe(result)
    pending = sum(c.max_points for c in result.checks if c.status == "pending")
    assert result.max_score == rubric.max_score and result.score == rubric.max_score - pending, describe(result)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("key", [(a, TEMPLATE_KEY) for a in ASSIGNMENTS], ids=ASSIGNMENTS)
def test_the_student_template_gets_zero_saying_what_is_not_implemented(key, grades):
    """Each message says "not implemented yet", or what the library's TEMPLATE_HINTS says instead
    (lab11's template ships a loop with two bugs to find)."""
    result, _ = grades[key]
    library, rubric = LIBRARIES[key[0]], rubric_of(key[0])
    assert [c.id for c in result.checks] == list(library.ALL_CHECKS)
    assert all(c.status in ("failed", "error") for c in result.checks), describe(result)
    assert result.score == 0 and result.max_score == rubric.max_score, describe(result)
    hints = getattr(library, "TEMPLATE_HINTS", {})
    vague = [c.id for c in result.checks if hints.get(c.id, "not implemented yet") not in c.message]
    assert not vague, describe(result)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("key", SUBMISSIONS, ids=_key_id)
def test_submission(key, grades):
    """The statuses, points and messages of each graded check, and the load report, are the table's."""
    assignment, name = key
    library, submission = LIBRARIES[assignment], LIBRARIES[assignment].SUBMISSIONS[name]
    result, _ = grades[key]
    graded, got = list(library.checks_for(name)), statuses(result)
    assert list(got) == graded
    wrong = {i: (got[i], submission.status(i)) for i in graded if got[i] != submission.status(i)}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{describe(result)}"
    points = {c.id: c.points for c in rubric_of(assignment).checks}
    for check in result.checks:
        assert check.max_points == points[check.id], check
        assert check.points == (check.max_points if check.status == "passed" else 0), check
        if check.status != "passed":
            assert check.message.strip(), f"{name}: {check.id} did not pass without a message"
    assert result.score == sum(points[i] for i in graded if submission.status(i) == "passed"), describe(result)
    pending = sum(points[i] for i in graded if submission.status(i) == "pending")
    if submission.expected and not set(submission.expected) >= set(graded):  # partly right: some points, not all
        assert 0 < result.score < result.max_score - pending, describe(result)
    _assert_hints(submission, result)
    banner = "\n".join(result.load.lines())
    assert all(part in banner for part in submission.load), f"{name}: the load report says\n{banner}"
    assert bool(banner) == bool(submission.load), f"{name}: unexpected load report\n{banner}"


def _assert_hints(submission, result):
    """Each hint is in its check's message (case-insensitive); a known issue of the grader expects
    them missing and xfails, so that a fix shows."""
    messages = {c.id: c.message.lower() for c in result.checks}
    missing = {i: hint for i, hint in submission.hints.items() if hint.lower() not in messages[i]}
    if submission.known_issue:
        assert missing, f"{submission.name}: the known issue seems fixed; drop `known_issue` ({submission.known_issue})"
        pytest.xfail(submission.known_issue)
    assert not missing, f"{submission.name}: hints missing from the messages {missing}\n{describe(result)}"
