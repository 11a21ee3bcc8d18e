"""Libraries of test submissions named by behaviour, one module an assignment.

Each module defines ASSIGNMENT, RUBRIC, REFERENCE, ALL_CHECKS (the rubric's check ids),
SUBMISSIONS (name -> Submission), DEMO, `materialize(dest, names)`, `checks_for(name)` (the checks
a submission is graded on) and `student_template(dest)` (the template to grade), and may define
TEMPLATE_HINTS (check id -> what the template's message says instead of "not implemented yet").
It uses the two helpers here to write them out and to offer
`python -m tests.submissions.<module> DEST [--all]`. tests/conftest.py lists the modules.
"""

import sys
from pathlib import Path


def write_submissions(submissions, reference, dest, names=None):
    """Write `<dest>/<name><suffix>` for each named submission (all when `names` is None), each the
    mutation of the reference solution's text; returns the paths written."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    source = Path(reference).read_text(encoding="utf-8")
    names = list(submissions) if names is None else list(names)
    unknown = [n for n in names if n not in submissions]
    if unknown:
        raise KeyError(f"unknown submission(s) {', '.join(unknown)} (known: {', '.join(submissions)})")
    paths = []
    for name in names:
        submission = submissions[name]
        path = dest / f"{name}{submission.suffix}"
        path.write_text(submission.text(source), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def command_line(module, materialize, demo, argv=None):
    """`python -m tests.submissions.<module> DEST [--all]`: write the DEMO (or every) submission."""
    argv = list(sys.argv[1:] if argv is None else argv)
    every = "--all" in argv
    args = [a for a in argv if a != "--all"]
    if len(args) != 1:
        print(f"usage: python -m {module} DEST [--all]", file=sys.stderr)
        return 2
    for path in materialize(args[0], None if every else demo):
        print(path)
    return 0
