"""HTML feedback reports: a flat view of a SubmissionResult rendered with jinja2."""

from grader.report.render import render_report, write_report  # noqa: F401
