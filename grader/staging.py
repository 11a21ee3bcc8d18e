"""Turn a submission file (.py or .ipynb) into what the child runs: its cells, or its script.

A notebook becomes its code cells, each with its number in the notebook (markdown cells
counted, as a student counts them), its first line, and its code with IPython's own input
transformations applied (`%magic`, `%%cell magic`, `!cmd`, `x = !cmd`, `obj?`), so the child can
run it cell by cell as a kernel would (grader/sandbox/cells.py). Cells tagged `skip-grading` or
starting with a `# grader: skip` line are not run. A script is run statement by statement by the
child from the file itself, so its line numbers are the file's own.

`Staged.source` is the whole code as one text (cells joined, magics dropped): similarity and the
submission's digest read that. Unreadable files raise SubmissionError, which grading turns into a
zero with the reason. The size caps are on the code (5 MB) and on the raw notebook file (50 MB):
a notebook's outputs (images, logs) are not code. Suffixes are matched in any case.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError

MAX_SOURCE_BYTES = 5 << 20  # of code: a .py file, or a notebook's code cells
MAX_NOTEBOOK_BYTES = 50 << 20  # of a notebook file, outputs included
SKIP_TAG = "skip-grading"
SKIP_LINE = "# grader: skip"
FIRST_LINE_CHARS = 120


@dataclass(frozen=True)
class Cell:
    """One code cell of a notebook, in the student's coordinates."""

    number: int  # its position in the notebook, 1-based, markdown cells counted
    code: str  # what runs: IPython syntax transformed
    text: str  # the code as the student wrote it (what tracebacks quote)
    first_line: str  # its first non-blank line as the student wrote it
    offset: int = 0  # blank lines above the code, so that line numbers stay the cell's own
    skip: str = ""  # why it is not run, when it is not


@dataclass(frozen=True)
class Staged:
    name: str  # the submission's name, from its file name
    source: str  # all the code as one text (notebook cells joined, magics dropped)
    file_name: str = ""  # the file the student handed in
    cells: tuple = ()  # a notebook's code cells (Cell); empty for a script

    @property
    def kind(self):
        return "notebook" if self.file_name.lower().endswith(".ipynb") else "script"

    def plan(self, cell_seconds, load_seconds, probes=()):
        """What the child runs, as JSON sent on its request pipe (grader/sandbox/cells.py reads it): a
        notebook's cells to run (a script is run from its file), the time budgets, and the sources of
        the course's own probes ((file name, text) pairs: grader.plugins)."""
        plan = {"kind": self.kind, "cell_seconds": cell_seconds, "load_seconds": load_seconds,
                "probes": [list(p) for p in probes]}
        if self.kind == "notebook":
            plan["cells"] = [{"cell": c.number, "source": c.code, "text": c.text, "offset": c.offset}
                             for c in self.cells if not c.skip]
        return json.dumps(plan).encode("utf-8")


def submission_name(path):
    return Path(path).stem


def stage(path):
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{path.name}: a submission must be a .py module or an .ipynb notebook")
    size = path.stat().st_size
    cap = MAX_NOTEBOOK_BYTES if suffix == ".ipynb" else MAX_SOURCE_BYTES
    if size > cap:
        what = "a notebook file (outputs included)" if suffix == ".ipynb" else "the code of a submission"
        raise SubmissionError(f"{path.name} is {size / 1e6:.0f} MB; {what} may be at most {cap >> 20} MB")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise SubmissionError(f"{path.name} is a binary file, not Python code or a notebook")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    cells = ()
    if suffix == ".ipynb":
        raw = _code_cells(text, path.name)
        source = _joined(raw)
        cells = tuple(_cell(number, code, tags) for number, code, tags in raw)
    else:
        source = text
    code = len(source.encode("utf-8", "surrogatepass"))
    if code > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path.name} holds {code / 1e6:.0f} MB of code; the code of a submission may be "
                              f"at most {MAX_SOURCE_BYTES >> 20} MB")
    return Staged(submission_name(path), source, path.name, cells)


def notebook_source(text, name="notebook"):
    """The code cells of a notebook joined into one text, magics and shell lines dropped."""
    return _joined(_code_cells(text, name))


def _code_cells(text, name):
    """[(cell number, source, tags)] of the notebook's non-empty code cells."""
    try:
        notebook = json.loads(text)
    except ValueError as exc:
        short = getattr(exc, "pos", 0) >= len(text.rstrip()) - 1  # the error is at the very end
        reason = "the file ends too early: it was cut short" if short else "not JSON"
        raise SubmissionError(f"{name} is not a valid notebook ({reason}: {exc}); save it again from "
                              "Jupyter or Colab and hand in that file") from None
    except RecursionError:
        raise SubmissionError(f"{name} is not a valid notebook (nested too deeply)") from None
    cells = notebook.get("cells") if type(notebook) is dict else None
    if type(cells) is not list:
        raise SubmissionError(f"{name} is not a valid notebook (no list of cells)")
    out = []
    for index, cell in enumerate(cells):
        if type(cell) is not dict or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if type(source) is list and all(type(s) is str for s in source):
            source = "".join(source)
        if type(source) is not str:
            raise SubmissionError(f"{name}: cell {index + 1} has no readable source")
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if type(metadata) is dict else None
        tags = tuple(t for t in tags if type(t) is str) if type(tags) is list else ()
        if source.strip():
            out.append((index + 1, source, tags))
    return out


def _joined(cells):
    chunks = []
    for _, source, _ in cells:
        if not source.lstrip().startswith("%%"):
            chunks.append("\n".join(_without_magic(line) for line in source.splitlines()))
    return "\n\n".join(chunks) + "\n"


def _without_magic(line):
    """A `%magic` or `!shell` line becomes `pass` at the same indentation, so blocks stay valid."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return line[:len(line) - len(stripped)] + "pass  # grader: dropped a magic or shell line"
    return line


def _cell(number, source, tags):
    """A Cell: leading blank lines counted (IPython would drop them), IPython syntax transformed."""
    lines = source.splitlines(keepends=True)
    offset = 0
    while offset < len(lines) and not lines[offset].strip():
        offset += 1
    body = "".join(lines[offset:])
    shown = [line.strip() for line in body.splitlines() if line.strip()]
    first = shown[0]
    skip = ""
    if SKIP_TAG in tags:
        skip = f"tagged {SKIP_TAG}"
    elif first.lower().replace(" ", "") == SKIP_LINE.replace(" ", ""):
        skip = f"starts with `{SKIP_LINE}`"
    if first.startswith("%%") and len(shown) > 1:  # `%%time` alone says little: show what it times
        first = f"{first} | {shown[1]}"
    first = first if len(first) <= FIRST_LINE_CHARS else first[:FIRST_LINE_CHARS - 3] + "..."
    return Cell(number, "" if skip else transform(body), body, first, offset, skip)


def transform(code):
    """IPython's own input transformations (magics, shell lines, help) of one cell; plain Python
    is returned as it is. Only text is transformed here: nothing of the student's runs."""
    if not any(mark in code for mark in "%!?") and not code[:1].isspace() and ">>>" not in code:
        return code
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(code)
    except Exception:  # noqa: BLE001 - text IPython cannot read is left for the compiler to explain
        return code
