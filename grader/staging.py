"""Turn a submission file (.py or .ipynb) into the module source the child imports.

Notebooks: code cells joined in order; `%` magics, `%%` cell magics and `!` shell lines dropped.
Unreadable files raise SubmissionError, which grading turns into a zero with the reason. The
size caps are on the code (5 MB) and on the raw notebook file (50 MB): a notebook's outputs
(images, logs) are not code, and a correct notebook with megabytes of figures is graded.
Suffixes are matched in any case (`.PY`, `.IPYNB`).
"""

import json
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError

MAX_SOURCE_BYTES = 5 << 20  # of code: a .py file, or a notebook's code cells
MAX_NOTEBOOK_BYTES = 50 << 20  # of a notebook file, outputs included


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
    suffix = path.suffix.lower()
    if suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{path.name}: a submission must be a .py module or an .ipynb notebook")
    size = path.stat().st_size
    cap = MAX_NOTEBOOK_BYTES if suffix == ".ipynb" else MAX_SOURCE_BYTES
    if size > cap:
        what = "a notebook file (outputs included)" if suffix == ".ipynb" else "the code of a submission"
        raise SubmissionError(f"{path.name} is {size / 1e6:.0f} MB; {what} may be at most {cap >> 20} MB")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    source = notebook_source(text, path.name) if suffix == ".ipynb" else text
    code = len(source.encode("utf-8", "surrogatepass"))
    if code > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path.name} holds {code / 1e6:.0f} MB of code; the code of a submission may be "
                              f"at most {MAX_SOURCE_BYTES >> 20} MB")
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
