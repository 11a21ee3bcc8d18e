"""Turn a submission file (.py or .ipynb) into the module source the child imports.

Notebooks: code cells joined in order; `%` magics, `%%` cell magics and `!` shell lines dropped.
Unreadable files raise SubmissionError, which grading turns into a zero with the reason.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError

MAX_SOURCE_BYTES = 5 << 20


@dataclass(frozen=True)
class Staged:
    name: str  # the submission's name, from its file name
    source: str


def submission_name(path):
    return Path(path).stem


def stage(path):
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path} is not a file")
    if path.suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{path.name}: a submission must be a .py module or an .ipynb notebook")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path.name} is {size / 1e6:.0f} MB; a submission may be at most {MAX_SOURCE_BYTES >> 20} MB")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    source = notebook_source(text, path.name) if path.suffix == ".ipynb" else text
    return Staged(submission_name(path), source)


def notebook_source(text, name="notebook"):
    """The code cells of a notebook joined into one module, magics and shell lines dropped."""
    try:
        notebook = json.loads(text)
    except ValueError as exc:
        raise SubmissionError(f"{name} is not a valid notebook (not JSON: {exc})") from None
    except RecursionError:
        raise SubmissionError(f"{name} is not a valid notebook (nested too deeply)") from None
    cells = notebook.get("cells") if type(notebook) is dict else None
    if type(cells) is not list:
        raise SubmissionError(f"{name} is not a valid notebook (no list of cells)")
    chunks = []
    for index, cell in enumerate(cells):
        if type(cell) is not dict or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if type(source) is list and all(type(s) is str for s in source):
            source = "".join(source)
        if type(source) is not str:
            raise SubmissionError(f"{name}: cell {index + 1} has no readable source")
        if source.lstrip().startswith("%%"):
            continue
        chunks.append("\n".join(_without_magic(line) for line in source.splitlines()))
    return "\n\n".join(chunks) + "\n"


def _without_magic(line):
    """A `%magic` or `!shell` line becomes `pass` at the same indentation, so blocks stay valid."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return line[:len(line) - len(stripped)] + "pass  # grader: dropped a magic or shell line"
    return line
