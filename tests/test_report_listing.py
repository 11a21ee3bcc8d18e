"""The report shows the student's file as graded (grader/report/listing.py): each cell with its
number, markdown as plain text, no outputs, what did not run marked with its load event; and
log.txt carries the load report. Student text never becomes markup."""

import json
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from grader.batch.discover import Source
from grader.batch.runner import _log
from grader.loading import Event, LoadReport
from grader.report import listing, render
from grader.results import CheckResult, SubmissionResult
from tests.notebooks import build, code, markdown

HOSTILE = ("<script>window.pwned = 1</script></pre><img src=x onerror=\"window.pwned = 2\">"
           "<a href=\"javascript:window.pwned = 3\">click</a>")
SECRET_OUTPUT = "OUTPUT-THE-REPORT-MUST-NOT-SHOW"


class Markup(HTMLParser):
    """Every tag of a page, with its attributes; the text inside <pre> elements."""

    def __init__(self):
        super().__init__()
        self.tags, self.pre, self.depth = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.depth += tag == "pre"
        if tag == "pre":
            self.pre.append("")

    def handle_endtag(self, tag):
        self.depth -= tag == "pre"

    def handle_data(self, data):
        if self.depth:
            self.pre[-1] += data


def active_markup(page):
    """What in `page` could run or lead somewhere: scripts, images, links, handlers, javascript: URLs."""
    parser = Markup()
    parser.feed(page)
    bad = [(tag, attrs) for tag, attrs in parser.tags if tag in ("script", "img", "a", "iframe", "object")]
    bad += [(tag, name) for tag, attrs in parser.tags for name, value in attrs.items()
            if name.startswith("on") or "javascript:" in (value or "")]
    return bad, parser


def hostile_notebook(tmp_path):
    output = {"output_type": "display_data", "metadata": {},
              "data": {"text/html": f"<script>{SECRET_OUTPUT}</script>", "text/plain": SECRET_OUTPUT}}
    cells = [markdown(f"# Lab\n{HOSTILE}"), code("import torch\nX = 1"),
             code(f"print('{HOSTILE}')\nraise ValueError('no')", outputs=[output]),
             {"cell_type": "raw", "metadata": {}, "source": "javascript:alert(1)"},
             code("# grader: skip\nimport time"), code("while True:\n    pass  # </pre><script>x()</script>"),
             code("def f():\n    return X")]
    path = tmp_path / "lab07_convnets.ipynb"
    path.write_text(build(cells), encoding="utf-8")
    events = (Event(3, 1, "print(...)", "raised", "ValueError: no", "cell 3, line 2", at_line=2),
              Event(5, 1, "# grader: skip", "skipped", "starts with `# grader: skip`"),
              Event(6, 1, "while True:", "interrupted", seconds=3.0, at_line=2))
    return path, LoadReport(path.name, "notebook", events)


def result_with(load):
    check = CheckResult("c1", "A check", 1.0, 1.0, "passed", "")
    return SubmissionResult("lab07_convnets", "lab07_convnets", (check,), load=load)


def test_the_notebook_is_shown_as_graded_and_nothing_of_it_is_markup(tmp_path):
    path, load = hostile_notebook(tmp_path)
    page = render.render_report(result_with(load), path.name, source=path)
    bad, parser = active_markup(page)
    assert bad == [], bad
    shown = "".join(parser.pre)
    assert shown.count(HOSTILE) == 2 and "javascript:alert(1)" in shown  # as text: the markdown and cell 3
    assert "</pre><script>x()</script>" in shown and SECRET_OUTPUT not in page  # outputs are not shown
    view = listing.listing_view(path, load)
    assert [(p["title"], p["kind"], p["status"]) for p in view["parts"]] == [
        ("cell 1", "markdown", ""), ("cell 2", "code", ""), ("cell 3", "code", "raised"), ("cell 4", "raw", ""),
        ("cell 5", "code", "skipped"), ("cell 6", "code", "interrupted"), ("cell 7", "code", "")]
    for part, event in zip([view["parts"][i] for i in (2, 4, 5)], load.events):
        assert part["mark"] == event.describe() and f'id="{part["title"].replace(" ", "-")}"' in page
    assert view["parts"][2]["lines"] == [(1, f"print('{HOSTILE}')"), (2, "raise ValueError('no')")]


def test_the_markup_check_catches_a_report_that_renders_student_text():
    """The check above fails where the template would not escape (it is not vacuous)."""
    loose = Environment(loader=FileSystemLoader(render.HERE / "templates"), autoescape=False)
    view = {"listing": {"kind": "notebook", "cut": "", "parts": [
        {"title": "cell 1", "kind": "markdown", "status": "", "mark": "", "lines": [(1, HOSTILE)]}]}}
    page = loose.get_template("report.html.j2").render(css="", rows=[], figures=[], curves=[], warnings=[], **view)
    bad, _ = active_markup(page)
    assert {tag for tag, _ in bad} >= {"script", "img", "a"}


def test_a_script_is_shown_statement_by_statement_with_what_did_not_run(tmp_path):
    path = tmp_path / "lab.py"
    path.write_text("import torch\n\n# a demo call\nimage = load('https://x')\n\n\n@decorate\ndef f():\n"
                    "    return 1\n\nif __name__ == \"__main__\":\n    train()\n", encoding="utf-8")
    event = Event(None, 4, "image = load('https://x')", "raised", "OSError: no network", "line 4", network=True)
    view = listing.listing_view(path, LoadReport(path.name, "script", (event,)))
    parts = [(p["title"], p["status"]) for p in view["parts"]]
    assert parts == [("lines 1-2", ""), ("lines 3-6", "raised"), ("lines 7-10", ""), ("lines 11-12", "skipped")]
    assert view["parts"][1]["mark"] == event.describe() and "the grader has no internet" in event.describe()
    assert view["parts"][1]["lines"][0] == (3, "# a demo call") and view["parts"][3]["mark"] == listing.MAIN_BLOCK
    path.write_text("def f(:\n    pass\n", encoding="utf-8")  # does not parse: shown whole, unmarked
    assert [p["lines"] for p in listing.listing_view(path)["parts"]] == [[(1, "def f(:"), (2, "    pass")]]


def test_the_listing_is_escaped_and_capped(tmp_path):
    path = tmp_path / "lab.py"
    path.write_text("x = '\x1b[31m\u202e'\n" + "z = '" + "a" * 5000 + "'\n" + "y = 1\n" * (listing.MAX_LINES + 5),
                    encoding="utf-8")
    view = listing.listing_view(path)
    lines = [line for part in view["parts"] for _, line in part["lines"]]
    assert lines[0] == "x = '\\x1b[31m\\u202e'" and len(lines) == listing.MAX_LINES
    assert len(lines[1]) == listing.MAX_LINE_CHARS and lines[1].endswith("[... cut: 5006 characters in all]")
    assert view["cut"].startswith("7 more lines not shown")
    assert listing.listing_view(tmp_path / "absent.ipynb") is None
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    assert listing.listing_view(tmp_path / "bad.ipynb") is None


def test_log_txt_carries_the_load_report(tmp_path):
    _, load = hostile_notebook(tmp_path)
    forged = Event(7, 1, "x", "raised", "NameError: y\nscore 99 / 1", seconds=0.25)
    load = LoadReport(load.file, load.kind, load.events + (forged,), notes=("cell 2 `!ls`",))
    log = _log(Source("ann", Path("ann.ipynb"), "class/ann.ipynb"), result_with(load))
    lines = log.splitlines()
    words = [" ".join(line.split()) for line in lines if line.startswith("  ")]  # columns aligned with spaces
    assert "load 'lab07_convnets.ipynb' (notebook): 4 cells did not run to the end" in lines
    assert "cell 3, line 2 raised 0.00 s ValueError: no" in words
    assert "cell 5, line 1 skipped 0.00 s starts with `# grader: skip`" in words
    assert "cell 6, line 2 interrupted 3.00 s" in words
    assert "cell 7, line 1 raised 0.25 s NameError: y" in words  # one line: the rest cannot pass for a line
    assert not any(line.startswith("score 99") for line in lines) and "  not run: cell 2 `!ls`" in lines
    unusable = LoadReport("x.txt", "script", problem="a submission must be a .py module", unreadable=True)
    assert "load 'x.txt' (script): not run: a submission must be a .py module" in _log(
        Source("x", Path("x.txt"), "x.txt"), result_with(unusable))
    assert "load" not in _log(Source("x", Path("x.py"), "x.py"), result_with(None)).split("score")[1]
