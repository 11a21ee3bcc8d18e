"""Find the submissions in what a TA passes: files, folders of files, per-student folders, zips.

Each submission gets a stable id from its name: the file stem for a folder of files; the student
folder for per-student folders (Moodle: `Full Name_12345_assignsubmission_file_`); the leading
`name_12345` of Canvas-style file names (`name_12345_67890_lab07.py`). Problems with one entry
become a per-submission error, and the batch goes on.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from grader.batch.archive import extract_zip
from grader.errors import GraderError, SubmissionError

SUFFIXES = (".py", ".ipynb")
_CANVAS = re.compile(r"^(?P<who>[A-Za-z][A-Za-z0-9-]*?)(?:_LATE)?_(?P<num>\d+)_\d+_")
_MOODLE = re.compile(r"^(?P<who>.+?)_(?P<num>\d+)_assignsubmission_")


@dataclass(frozen=True)
class Source:
    """One submission to grade: a stable id and the file (None with `problem` when unusable)."""

    id: str
    path: Path | None
    origin: str
    problem: str = ""


def discover(paths, assignment, unpack_dir):
    """(submissions under `paths` with unique ids in a stable order, notes on what was skipped)."""
    found, notes = [], []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise GraderError(f"{path} does not exist")
        if path.is_file() and path.suffix == ".zip":
            sources, skipped = _from_zip(path, assignment, Path(unpack_dir) / _slug(path.stem))
            found += sources
            notes += [f"{path.name}: skipped {s}" for s in skipped]
        elif path.is_file():
            found.append(_from_file(path))
        else:
            found += _from_folder(path, assignment)
    return _unique(found), notes


def _from_file(path):
    match = _CANVAS.match(path.name)
    who = f"{match['who']}_{match['num']}" if match else path.stem
    if path.suffix not in SUFFIXES:
        return Source(_slug(who), None, str(path), f"{path.name} is not a .py or .ipynb file")
    return Source(_slug(who), path, str(path))


def _from_folder(folder, assignment):
    entries = sorted(folder.iterdir())
    subfolders = [e for e in entries if e.is_dir() and not e.name.startswith(".")]
    files = [e for e in entries if e.is_file() and e.suffix in SUFFIXES]
    found = [_from_file(f) for f in files]
    for student in subfolders:
        found.append(_from_student_folder(student, assignment))
    return found


def _from_student_folder(folder, assignment):
    match = _MOODLE.match(folder.name)
    who = _slug(f"{match['who']}_{match['num']}" if match else folder.name)
    candidates = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES and not p.is_symlink())
    if not candidates:
        return Source(who, None, str(folder), "no .py or .ipynb file in the student's folder")
    named = [p for p in candidates if assignment in p.stem]
    chosen = named or candidates
    if len(chosen) > 1:
        names = ", ".join(p.name for p in chosen[:4])
        return Source(who, None, str(folder), f"several candidate files ({names}); hand in one, named {assignment}.py")
    return Source(who, chosen[0], str(folder))


def _from_zip(archive, assignment, target):
    try:
        _, skipped = extract_zip(archive, target)
    except SubmissionError as exc:
        return [Source(_slug(archive.stem), None, str(archive), str(exc))], []
    return _from_folder(target, assignment), skipped


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "submission"


def _unique(sources):
    seen, out = {}, []
    for source in sources:
        count = seen.get(source.id, 0) + 1
        seen[source.id] = count
        out.append(source if count == 1 else Source(f"{source.id}-{count}", source.path, source.origin, source.problem))
    return out
