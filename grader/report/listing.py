"""The student's file as it was graded, for the report: each cell (or top-level statement) with its
number, what did not run marked with its load event, and no outputs.

A notebook is shown cell by cell, numbered as the load report numbers them (markdown counted):
code with its line numbers, markdown and raw cells as plain preformatted text (nothing the
student wrote is rendered as HTML), and no outputs (they may hold anything). A script is shown
as its top-level statements with the file's own line numbers; a statement that did not run to
its end carries its event, and an `if __name__ == "__main__":` block is marked as not run. The
file is only read here (as text, and a script parsed by `ast`), never run; every line is escaped
(grader.text) and the listing is capped, so a 5 MB submission makes a report that still opens.
The template autoescapes all of it.
"""

import ast
import json
from pathlib import Path

from grader import text

MAX_LINES = 20_000  # over the whole listing
MAX_LINE_CHARS = 1_000
MAIN_BLOCK = 'not run when graded: the `if __name__ == "__main__":` block (only a direct run of the file runs it)'


def listing_view(path, load=None):
    """{"kind", "parts", "cut"} for the template, or None when the file cannot be read as one."""
    try:
        raw = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, TypeError, ValueError):
        return None
    events = tuple(getattr(load, "events", ()) or ())
    notebook = str(path).lower().endswith(".ipynb")
    parts = _notebook_parts(raw, events) if notebook else _script_parts(raw, events)
    if parts is None:
        return None
    return _capped("notebook" if notebook else "script", parts)


def _part(title, kind, first, lines, event=None, mark=""):
    """One block of the listing: its numbered lines and, when it did not run, why."""
    return {"title": title, "kind": kind, "lines": [(first + i, line) for i, line in enumerate(lines)],
            "status": event.status if event is not None else ("skipped" if mark else ""),
            "mark": event.describe() if event is not None else mark}


def _notebook_parts(raw, events):
    try:
        book = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    cells = book.get("cells") if type(book) is dict else None
    if type(cells) is not list:
        return None
    by_cell = {e.cell: e for e in events if e.cell is not None}
    parts = []
    for number, cell in enumerate(cells, 1):
        kind = cell.get("cell_type") if type(cell) is dict else None
        source = cell.get("source", "") if type(cell) is dict else ""
        if type(source) is list:
            source = "".join(s for s in source if type(s) is str)
        if kind not in ("code", "markdown", "raw") or type(source) is not str:
            continue
        if kind == "code" and not source.strip():
            continue  # an empty code cell: nothing ran, nothing to show
        parts.append(_part(f"cell {number}", kind, 1, _lines(source), by_cell.get(number)))
    return parts


def _lines(source):
    """The lines as Python's compiler counts them (only \\n, \\r\\n and \\r end a line)."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if len(lines) > 1 and lines[-1] == "" else lines


def _script_parts(raw, events):
    """The file split at its top-level statements (the comments above a statement go with it)."""
    lines = _lines(raw)
    try:
        body = ast.parse(raw).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        body = []  # shown whole: the load report says why nothing ran
    by_line = {e.line: e for e in events if e.cell is None}
    cut = [1] + [_start(node, previous, lines) for previous, node in zip(body, body[1:])] + [len(lines) + 1]
    parts = []
    for index, (start, end) in enumerate(zip(cut, cut[1:])):
        node = body[index] if body else None
        event = by_line.get(node.lineno) if node is not None else None
        mark = MAIN_BLOCK if event is None and _is_main_block(node) else ""
        title = f"line {start}" if end - start == 1 else f"lines {start}-{end - 1}"
        parts.append(_part(title, "code", start, lines[start - 1:end - 1], event, mark))
    return parts


def _start(node, previous, lines):
    """The first line shown with `node`: its decorators and the comment lines right above it (blank
    lines stay with the statement before)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while start - 1 > previous.end_lineno and lines[start - 2].lstrip().startswith("#"):
        start -= 1
    return start


def _is_main_block(node):
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.ops) != 1:
        return False
    sides = [node.test.left, *node.test.comparators]
    return isinstance(node.test.ops[0], ast.Eq) and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) \
        and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


def _capped(kind, parts):
    """Every line escaped and cut to MAX_LINE_CHARS; at most MAX_LINES lines in all."""
    shown, left, out = 0, MAX_LINES, []
    for part in parts:
        if left <= 0:
            break
        lines = part["lines"][:left]
        left -= len(lines)
        shown += len(lines)
        out.append(dict(part, mark=text.inline(part["mark"], "check_message"),
                        lines=[(n, text.cap(text.escape(line.expandtabs(4)), MAX_LINE_CHARS)) for n, line in lines]))
    total = sum(len(p["lines"]) for p in parts)
    cut = f"{total - shown} more lines not shown (the listing shows {MAX_LINES})" if shown < total else ""
    return {"kind": kind, "parts": out, "cut": cut}
