"""Self-check inside a running Jupyter or Colab notebook, with the same checks as `grader check`.

    from grader import notebook
    notebook.check()              # every public check
    notebook.check("accuracy")    # one check by id

The code checked is the code this kernel ran: the cells in the order they were run (a cell run
again unchanged counts once; cells that call the self-check are left out), written to a notebook
file and graded by the same pipeline as `grader check` (staged cell by cell in a sandboxed child;
the kernel never imports the code again). The table is shown inline as HTML with the statuses,
points and messages of `grader check`. Where bubblewrap cannot run (Colab, macOS, Windows) it
says once, plainly, that the self-check is not isolated and that the course's grading is.
"""

import html
import os
import tempfile
from pathlib import Path

from grader.errors import GraderError

STATUS_TEXT = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "pending": "PENDING"}
STATUS_STYLE = {"passed": "#1a6e2e", "failed": "#a3191a", "error": "#7a1f7a", "timeout": "#7a4a00",
                "pending": "#1d4f7a"}  # dark text on white: WCAG AA
NOT_ISOLATED = ("Note: this self-check is not isolated: bubblewrap is not available here, so your code runs "
                "as a plain process with your own permissions. The course's grading runs it in the sandbox.")
_state = {"warned": False}
last_result = None  # the SubmissionResult of the latest check(), for code that wants the numbers


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise GraderError("notebook.check() runs inside a Jupyter or Colab notebook; in a terminal use: grader check FILE")
    return shell


def _calls_self_check(source):
    return "notebook.check" in source or "grader import notebook" in source or "grader.notebook" in source


def code_cells(history):
    """The cells to grade from the kernel's raw input history: in run order, an unchanged rerun
    once, without cells that call the self-check (run it in a cell of its own)."""
    seen, cells = set(), []
    for source in history:
        if not source or not source.strip() or _calls_self_check(source) or source in seen:
            continue
        seen.add(source)
        cells.append(source)
    return cells


def _notebook_name(shell):
    """The notebook's file name where the front end tells it (Jupyter server, VS Code), else None."""
    for raw in (os.environ.get("JPY_SESSION_NAME"), shell.user_ns.get("__vsc_ipynb_file__")):
        if raw and str(raw).endswith(".ipynb"):
            return Path(str(raw)).stem
    return None


def _assignment(shell, given, dirs):
    from grader import rubric as rubrics

    if given:
        return given
    known = rubrics.known_assignments(dirs)
    name = _notebook_name(shell) or ""
    matches = sorted((k for k in known if k in name), key=len, reverse=True)
    if matches:
        return matches[0]
    for folder in dirs:  # the nearest rubric folder (the bundle's) with one assignment decides
        here = rubrics.known_assignments([folder])
        if len(here) == 1:
            return here[0]
    raise GraderError("which assignment? call notebook.check(assignment=NAME) with one of: "
                      f"{', '.join(known) or 'none found (put the bundle rubric/ folder beside this notebook)'}")


def _write_notebook(cells, folder, name):
    import nbformat

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = Path(folder) / f"{name}.ipynb"
    path.write_text(nbformat.writes(book), encoding="utf-8")
    return path


def check(only=None, *, assignment=None, path=None, sandbox="auto", data_dir=None, show=True):
    """Run the public checks (or the one check `only`) on this kernel's code, or on the notebook
    or module file `path`, and show the table inline; returns nothing (see `last_result`)."""
    shell = _shell()
    try:
        _check(shell, only, assignment, path, sandbox, data_dir, show)
    except GraderError as exc:  # a set-up problem: one plain line, no traceback
        if not show:
            raise
        _display(f'<p class="grader-error" style="color:#a3191a"><strong>Error:</strong> {html.escape(str(exc))}</p>',
                 f"Error: {exc}", show)


def _check(shell, only, assignment, path, sandbox, data_dir, show):
    global last_result
    from grader import rubric as rubrics
    from grader.grading import Options, grade_file
    from grader.sandbox import backends

    dirs = rubrics.search_dirs(path)
    name = _assignment(shell, assignment, dirs)
    rubric = rubrics.load_file(rubrics.rubric_path(name, dirs=dirs))
    public = [c.id for c in rubric.selected(("public",))]
    wanted = (only,) if isinstance(only, str) else tuple(only or ())
    missing = [c for c in wanted if c not in public]
    if missing:
        raise GraderError(f"no public check {', '.join(missing)} in {rubric.path.name}; its public checks: {', '.join(public)}")
    _, warnings = backends.resolve(sandbox)
    if warnings and not _state["warned"]:
        _state["warned"] = True
        _display(f'<p class="grader-note"><strong>{html.escape(NOT_ISOLATED)}</strong></p>', NOT_ISOLATED, show)
    options = Options(visibility=("public",), only=wanted, data_dir=data_dir, sandbox=sandbox)
    with tempfile.TemporaryDirectory(prefix="grader-notebook-") as folder:
        target = Path(path) if path else _write_notebook(code_cells(shell.history_manager.input_hist_raw), folder, name)
        result = grade_file(target, rubric, options)
    last_result = result
    _display(table_html(result), table_text(result), show)


def _display(markup, plain, show):
    if not show:
        return
    from IPython.display import HTML, display

    display(HTML(markup), metadata={"grader": True}) if markup else print(plain)


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def table_html(result):
    """The result table: a row a check (status, points, id, title, message), every text escaped."""
    from grader import terminal

    rows = []
    for c in result.checks:
        colour = STATUS_STYLE.get(c.status, "#333")
        message = "" if c.status == "passed" else html.escape(c.message).replace("\n", "<br>")
        rows.append(f'<tr data-check="{html.escape(c.id)}" data-status="{html.escape(c.status)}">'
                    f'<td style="color:{colour};font-weight:bold">{STATUS_TEXT.get(c.status, c.status.upper())}</td>'
                    f'<td style="text-align:right">{_num(c.points)} / {_num(c.max_points)}</td>'
                    f'<td><code>{html.escape(c.id)}</code> {html.escape(c.title)}'
                    f'<div style="white-space:pre-wrap">{message}</div></td></tr>')
    passed = sum(c.status == "passed" for c in result.checks)
    fixes = "".join(f"<li>{html.escape(line.strip())}</li>" for line in terminal.fix_first(result, number=_num)[1:])
    return (f'<div class="grader-result"><table style="border-collapse:collapse;text-align:left">'
            f'<thead><tr><th>Status</th><th>Points</th><th>Check</th></tr></thead><tbody>{"".join(rows)}</tbody>'
            f'</table><p class="grader-score"><strong>Score: {_num(result.score)} / {_num(result.max_score)}</strong> '
            f'({passed} of {len(result.checks)} checks passed)</p>'
            + (f'<p>To fix first (most points first):</p><ol>{fixes}</ol>' if fixes else "") + "</div>")


def table_text(result):
    return "\n".join(f"{STATUS_TEXT.get(c.status, c.status)} {_num(c.points)}/{_num(c.max_points)} {c.id}"
                     for c in result.checks)
