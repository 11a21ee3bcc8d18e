"""Test submissions for the fifth course's assignment `pooling` (tests/courses/pooling/), each the
reference solution with one small textual change named by the behaviour it shows the grader.

`expected` lists the checks that must NOT pass and their status (every other check must pass);
`hints` gives a substring each of their messages must contain (case-insensitively).

    python -m tests.submissions.pooling DEST         # writes the DEMO submissions into DEST
    python -m tests.submissions.pooling DEST --all   # writes every submission
"""

import sys
from pathlib import Path

from tests.submissions import command_line, write_submissions
from tests.submissions.lab07 import Submission, check_ids, replace

COURSE = Path(__file__).resolve().parents[1] / "courses" / "pooling"
ASSIGNMENT = "pooling"
REFERENCE = COURSE / "reference_solutions" / f"{ASSIGNMENT}.py"
RUBRIC = COURSE / "rubric" / f"{ASSIGNMENT}.yaml"
ALL_CHECKS = check_ids(RUBRIC)


def _edit(old, new):
    return lambda source: replace(source, old, new)


SUBMISSIONS_LIST = [
    Submission("passes_all", "the reference solution itself", lambda source: source),
    Submission(
        "pads_one_side_only", "pooled_size adds the padding once instead of on both sides",
        _edit("size + 2 * padding - kernel", "size + padding - kernel"),
        expected={"pooled_size": "failed", "pooled_size_hidden": "failed"},
        hints={"pooled_size": "pooled_size(28, 5, padding=2)", "pooled_size_hidden": "pooled_size(32, 5, 3, 2)"}),
    Submission(
        "average_pooling", "max_pool averages each window instead of taking its maximum",
        _edit("windows.amax(dim=(-2, -1))", "windows.mean(dim=(-2, -1))"),
        expected={"max_pool": "failed"}, hints={"max_pool": "max_pool(<tensor (6, 8)>, 2, 2)"}),
    Submission(
        "no_dropout", "the classifier has no dropout (the parameter count cannot tell)",
        _edit("        nn.Dropout(0.25),\n", ""),
        expected={"net_layers": "failed"}, hints={"net_layers": "no Dropout layer"}),
    Submission(
        "off_by_one_padding", "the second convolution has no padding, so 16 x 6 x 6 features reach "
        "a Linear layer made for FEATURES = 784",
        _edit("nn.Conv2d(8, 16, 3, padding=1)", "nn.Conv2d(8, 16, 3)"),
        expected={"net_shape": "failed", "accuracy": "error"},
        hints={"net_shape": "fails on an input of shape (5, 1, 28, 28)", "accuracy": "576"}),
    Submission(
        "decays_before_the_first_epoch", "decayed_rates starts one step of decay too early",
        _edit("lr * gamma**epoch for", "lr * gamma ** (epoch + 1) for"),
        expected={"decayed_rates": "failed"}, hints={"decayed_rates": "decayed_rates(0.01, 0.5, 3)"}),
]
SUBMISSIONS = {s.name: s for s in SUBMISSIONS_LIST}
assert len(SUBMISSIONS) == len(SUBMISSIONS_LIST), "duplicate submission names"
for _submission in SUBMISSIONS_LIST:
    _unknown = (set(_submission.expected) | set(_submission.hints)) - set(ALL_CHECKS)
    assert not _unknown, f"{_submission.name}: no check {sorted(_unknown)} in {RUBRIC.name}"
DEMO = list(SUBMISSIONS)


def checks_for(name):
    """The check ids `name` is graded on: every check."""
    return ALL_CHECKS


def student_template(dest):
    """The student template to grade: none is committed (the course is a rubric and a reference),
    so write the one `grader assign` makes into `dest`; returns its path."""
    from grader.assign import expected_outputs

    path = Path(dest) / f"{ASSIGNMENT}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(expected_outputs(REFERENCE)[path.name], encoding="utf-8", newline="\n")
    return path


def materialize(dest, names=None, reference=None):
    """Write `<dest>/<name>.py` for each named submission (all when `names` is None) from the
    reference solution at `reference` (default: the course's); returns the paths written."""
    return write_submissions(SUBMISSIONS, reference or REFERENCE, dest, names)


def main(argv=None):
    return command_line(__spec__.name if __spec__ else __name__, materialize, DEMO, argv)


if __name__ == "__main__":
    sys.exit(main())
