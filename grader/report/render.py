"""Render one submission's feedback report: total, a row a check, figures, the loss curve, and the
student's file as graded (grader.report.listing).

The template only displays a flat, pre-computed view (`report_view`); CSS lives in its own file
and is inlined so that a report is one self-contained file a TA can send to a student.
"""

import base64
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from grader import text
from grader.report.curve import curve_svg  # noqa: F401 (re-exported)
from grader.report.listing import listing_view

HERE = Path(__file__).resolve().parent
ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)  # student text is hostile
STATUS_LABEL = {"passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out",
                "pending": "pending (a TA grades it)"}


def rerun_command(result, check_id, submission_file):
    """The one command that re-runs a single check locally (shell-quoted: the file name is the student's)."""
    return text.command("grader", "check", submission_file, "--assignment", result.assignment, "--only", check_id)


def report_view(result, submission_file, warnings=(), source=None):
    """Everything the template shows, as plain strings and numbers; `source` is the file graded,
    shown as graded (grader.report.listing) when given."""
    rows, figures, curves = [], [], []
    for check in result.checks:
        rows.append({
            "id": check.id, "title": check.title, "status": check.status,
            "status_label": STATUS_LABEL.get(check.status, check.status),
            "points": _number(check.points), "max_points": _number(check.max_points),
            "message": check.message, "visibility": check.visibility,
            "seconds": f"{check.seconds:.1f}",
            "rerun": rerun_command(result, check.id, submission_file) if check.visibility == "public" else "",
        })
        for artifact in check.artifacts:
            if artifact.kind == "png":
                figures.append({"title": text.inline(artifact.title), "check": check.id,
                                "src": "data:image/png;base64," + base64.b64encode(artifact.data).decode()})
            elif artifact.kind == "curve":
                curves.append({"title": text.inline(artifact.title), "check": check.id,
                               "svg": curve_svg(artifact.data)})
    return {
        "assignment": result.assignment, "submission": text.inline(result.submission, "name"),
        "score": _number(result.score), "max_score": _number(result.max_score),
        "percent": round(100 * result.score / result.max_score) if result.max_score else 0,
        "rows": rows, "figures": figures, "curves": curves,
        "passed": sum(1 for c in result.checks if c.status == "passed"), "total": len(result.checks),
        "warnings": [text.block(w) for w in warnings] + list(result.warnings),
        "check_all": text.command("grader", "check", submission_file, "--assignment", result.assignment),
        "output": result.output,
        "load": result.load.lines() if getattr(result, "load", None) else [],
        "listing": listing_view(source, getattr(result, "load", None)) if source else None,
    }


def render_report(result, submission_file, warnings=(), source=None):
    css = (HERE / "templates" / "report.css").read_text()
    return ENV.get_template("report.html.j2").render(css=css, **report_view(result, submission_file, warnings, source))


def write_report(result, path, submission_file, warnings=()):
    """Write the report of the file `submission_file` atomically (a reader never sees half a file)."""
    atomic_write(Path(path), render_report(result, submission_file, warnings, source=submission_file))


def atomic_write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _number(value):
    return int(value) if float(value).is_integer() else round(value, 2)
