"""The HTML report: totals, a row a check, figures and curves, and student text escaped."""

import csv
import io

from PIL import Image

from grader.checks.registry import Artifact
from grader.batch.discover import Source
from grader.batch.store import Entry, gradebook
from grader.report.render import curve_svg, render_report
from grader.results import CheckResult, SubmissionResult
from grader.rubric import load


def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def sample_result():
    return SubmissionResult("lab07_convnets", "alice", (
        CheckResult("edge_figure", "figure", 1, 1, "passed", "3 titled panels", "public", 0.4,
                    (Artifact("png", "Your edge maps", png_bytes()),)),
        CheckResult("accuracy", "training", 0, 4, "failed", "accuracy 12.0% is below <script>alert(1)</script>",
                    "public", 3.2, (Artifact("curve", "training loss", [2.3, 2.2, 2.25]),)),
        CheckResult("transfer_hidden", "hidden one", 0, 1, "timeout", "did not finish", "hidden", 60.0),
    ), output="print <b>bold</b>", warnings=("WARNING: this run was NOT isolated",))


def test_report_shows_total_rows_figures_and_curve():
    html = render_report(sample_result(), "alice.py")
    assert "1 / 6" in html and "1 of 3 checks passed" in html
    assert html.count('<tr class="') == 3
    assert "data:image/png;base64," in html and "<polyline" in html
    assert "grader check alice.py --assignment lab07_convnets --only accuracy" in html
    assert "NOT isolated" in html


def test_student_text_is_escaped():
    html = render_report(sample_result(), "alice.py")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


def test_hidden_checks_offer_no_local_rerun():
    html = render_report(sample_result(), "alice.py")
    assert "--only transfer_hidden" not in html


def test_curve_svg_has_a_point_an_epoch():
    assert curve_svg([1.0, 0.5, 0.25]).count("<circle") == 3
    assert curve_svg([]) == ""


def test_gradebook_has_a_column_a_check():
    rubric = load("lab07_convnets")
    entry = Entry(Source("alice", None, "alice.py", name="Alice"), "graded", sample_result().to_json())
    text = gradebook(rubric, [entry])
    header, row = text.splitlines()
    assert header.split(",")[:3] == ["submission", "score", "max_score"]
    assert header.split(",")[3:-2] == [c.id for c in rubric.checks] and header.split(",")[-2:] == ["state", "name"]
    assert row.startswith("alice,1,6,") and row.endswith(",graded,Alice")


def test_gradebook_shows_pending_stale_and_ungraded_rows_without_a_false_zero():
    rubric = load("lab07_convnets")
    result = sample_result().to_json()
    result["checks"][2] = dict(result["checks"][2], status="pending", points=0)
    entries = [Entry(Source("alice", None, "alice.py", name="=HYPERLINK(1)"), "graded", result),
               Entry(Source("bob", None, "bob.py", name="Bob"), "stale", reason="graded with another rubric"),
               Entry(Source("carol", None, "carol.py", name="Carol"), "not graded", reason="no result yet")]
    table = list(csv.DictReader(io.StringIO(gradebook(rubric, entries))))
    assert table[0]["transfer_hidden"] == "pending" and "pending (awaiting a TA): transfer_hidden" in table[0]["state"]
    assert table[0]["name"] == "'=HYPERLINK(1)"  # never a spreadsheet formula
    assert table[1]["score"] == "stale" and table[1]["accuracy"] == "" and "another rubric" in table[1]["state"]
    assert table[2]["score"] == "not graded" and table[2]["name"] == "Carol"
