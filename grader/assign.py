"""Generates the student template (.py and .ipynb) from a percent-format reference solution."""

import ast
import re
from pathlib import Path

import nbformat

from grader import template_blocks
from grader.errors import GraderError

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_ANSWER = re.compile(r"^(\s*)([A-Za-z_]\w*)\s*(?::[^=]*)?=.*#\s*SOLUTION\s*$")
_ANSWER_TAG = re.compile(r"#\s*SOLUTION\s*$")
_ANY_MARKER = re.compile(r"#\s*(?:(?:BEGIN|END)\s+)?SOLUTION\b")
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)")
_TODO = "None  # TODO: replace None with your answer"


def _lines(source: str) -> list[str]:
    """Splits source into lines without their line endings (any of \\n, \\r\\n, \\r)."""
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _enclosing_function(lines: list[str], index: int, indent: str) -> str:
    """Returns the name of the nearest `def` above line `index` indented less than `indent`."""
    for line in reversed(lines[:index]):
        match = _DEF.match(line)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return "this step"


def make_template(reference_source: str) -> str:
    """Returns the reference source with every solution region and answer constant stubbed out."""
    lines = _lines(reference_source)
    out, begin_line = [], None
    for index, line in enumerate(lines):
        number, stripped = index + 1, line.strip()
        if stripped == BEGIN:
            if begin_line is not None:
                raise GraderError(f"line {number}: nested '{BEGIN}' (region opened on line {begin_line})")
            begin_line = number
            indent = line[: len(line) - len(line.lstrip())]
            name = _enclosing_function(lines, index, indent)
            out.append(f'{indent}raise NotImplementedError("{name}: not implemented yet")')
        elif stripped == END:
            if begin_line is None:
                raise GraderError(f"line {number}: '{END}' without a matching '{BEGIN}'")
            begin_line = None
        elif begin_line is not None:
            continue
        elif _ANSWER_TAG.search(line):
            match = _ANSWER.match(line)
            if not match:
                raise GraderError(f"line {number}: '# SOLUTION' must end a line 'NAME = value  # SOLUTION'")
            out.append(f"{match.group(1)}{match.group(2)} = {_TODO}")
        else:
            out.append(line)
    if begin_line is not None:
        raise GraderError(f"line {begin_line}: '{BEGIN}' is never closed by '{END}'")
    return template_blocks.fill("\n".join(out).rstrip("\n") + "\n")


def solution_regions_left(source: str) -> list[int]:
    """Returns the 1-based line numbers of any solution marker still present in `source`."""
    return [n for n, line in enumerate(_lines(source), 1) if _ANY_MARKER.search(line)]


def _trim(lines: list[str]) -> str:
    """Joins lines after dropping leading and trailing blank ones."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def _uncomment(line: str) -> str:
    """Strips the leading '# ' (or '#') of a markdown comment line."""
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line


def make_notebook(source: str) -> str:
    """Converts percent-format source into a deterministic nbformat v4 notebook JSON string."""
    lines = _lines(source)
    cells = []
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=True)
    if docstring is not None:
        cells.append(("markdown", docstring.strip()))
        lines = lines[tree.body[0].end_lineno:]
    kind, chunk = "code", []
    for line in lines + ["# %%"]:
        if line.startswith("# %%"):
            text = _trim([_uncomment(x) for x in chunk] if kind == "markdown" else chunk)
            if text:
                cells.append((kind, text))
            kind, chunk = ("markdown" if "[markdown]" in line else "code"), []
        else:
            chunk.append(line)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for number, (kind, text) in enumerate(cells):
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        cell.id = f"cell-{number}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return nbformat.writes(notebook).rstrip("\n") + "\n"


def expected_outputs(reference_path) -> dict[str, str]:
    """Returns filename -> text of the template files `generate` writes for `reference_path`."""
    reference_path = Path(reference_path)
    template = make_template(reference_path.read_text(encoding="utf-8"))
    stem = reference_path.stem
    return {f"{stem}.py": template, f"{stem}.ipynb": make_notebook(template)}


def generate(reference_path, template_dir) -> list[Path]:
    """Writes the .py and .ipynb templates of `reference_path` into `template_dir`; returns their paths."""
    template_dir = Path(template_dir)
    template_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in expected_outputs(reference_path).items():
        path = template_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths
