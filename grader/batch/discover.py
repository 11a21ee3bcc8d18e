"""Find the submissions in what a TA passes: files, folders of files, per-student folders, zips.

Every input that could be a submission becomes exactly one Source, with an error (`problem`)
where it cannot be graded, and the batch goes on:
- a file (any case of `.py`, `.ipynb`) is a student of its own, named by its stem; a Canvas
  file (`name_12345_67890_homework.py`) or a Moodle one belongs to the student of its number;
- a folder inside a PATH is one student (Moodle: `Full Name_12345_assignsubmission_file_`);
- a student's own zip (also inside an export) is unpacked with the export's caps, 2 levels deep;
- a student with several files hands in the one named after the assignment, else gets an error
  that lists them; unreadable, oversized, linked or badly packed files are errors with the reason;
- metadata (`__MACOSX`, `.DS_Store`, `._x`, hidden folders) and other files are noted, not graded.
Ids come from grader.batch.ids. Each run unpacks into fresh folders under `unpack_dir`, whose
earlier contents are removed first: a stale extraction is never graded again.
"""

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from grader.batch import ids
from grader.batch.archive import Budget, is_metadata, unpack
from grader.errors import GraderError, SubmissionError

SUFFIXES = (".py", ".ipynb")
MAX_NESTING = 2  # zips inside the export (or folder), and one more level inside those
MAX_WALK_ENTRIES = 20000
MAX_WALK_DEPTH = 32


@dataclass(frozen=True)
class Source:
    """One submission to grade: a stable id and the file (None with `problem` when unusable)."""

    id: str
    path: Path | None
    origin: str
    problem: str = ""
    name: str = ""  # the student's name as the input gives it (grades.csv keeps it)


@dataclass(frozen=True)
class _Entry:
    parts: tuple  # its path inside the PATH given (a folder or a zip)
    path: Path | None
    origin: str
    problem: str = ""


@dataclass
class _Student:
    key: str  # unique in the batch: a clash of ids is resolved with its hash
    wanted: str  # the id before clashes
    name: str
    origin: str
    files: list = field(default_factory=list)


def discover(paths, assignment, unpack_dir):
    """(submissions under `paths` with unique ids, sorted by id; notes on what was not graded)."""
    unpack_dir = Path(unpack_dir)
    _clear(unpack_dir)
    students, notes = [], []
    for path, label in _labels(paths, notes):
        if path.is_file() and not _is_zip(path.name):
            students.append(_single_file(path, label))
            continue
        budget, fresh = Budget(), _fresh_dirs(unpack_dir, label)
        if path.is_file():
            try:
                members, more = unpack(path, next(fresh), budget)
            except SubmissionError as exc:
                students.append(_Student(label, ids.name_id(path.stem), path.stem, str(path), [_Entry(
                    (path.name,), None, str(path), str(exc))]))
                continue
            entries = [_Entry(m.parts, m.path, _member_origin(path, m, members), m.problem) for m in members]
        else:
            entries, more = _walk(path)
        notes += more
        found, more = _group(entries, label, path)
        for student in found:
            student.files = _expand(student.files, fresh, budget, notes, depth=1)
        students += found
        notes += more
    final = ids.unique([(s.wanted, s.key) for s in students])
    sources = [_source(student, submission_id, assignment, notes) for student, submission_id in zip(students, final)]
    return sorted(sources, key=lambda s: s.id), notes


def _labels(paths, notes):
    """(path, label) for each distinct PATH; the label (its name, or its full path when two share
    a name) is part of every key made from it."""
    seen, out = set(), []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise GraderError(f"{path} does not exist")
        if path.resolve() in seen:
            notes.append(f"{path}: given twice, graded once")
            continue
        seen.add(path.resolve())
        out.append(path)
    names = [p.name for p in out]
    return [(p, p.name if names.count(p.name) == 1 else str(p.resolve())) for p in out]


def _clear(unpack_dir):
    """Remove what earlier runs unpacked (only ever our own files)."""
    if unpack_dir.is_dir() and not unpack_dir.is_symlink():
        for child in unpack_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    elif unpack_dir.is_symlink():
        unpack_dir.unlink()
    unpack_dir.mkdir(parents=True, exist_ok=True)


def _fresh_dirs(unpack_dir, label):
    """New, empty folders (not yet made) under a fresh folder of its own for one PATH."""
    root = Path(tempfile.mkdtemp(dir=unpack_dir, prefix=ids.transliterate(Path(label).name)[:40] + "-"))
    count = 0
    while True:
        count += 1
        yield root / str(count)


def _is_zip(name):
    return PurePosixPath(name).suffix.lower() == ".zip"


def _is_candidate(name):
    return PurePosixPath(name).suffix.lower() in SUFFIXES


def _member_origin(archive, member, members):
    twice = sum(m.name == member.name for m in members) > 1
    return f"{archive}:{member.name}" + (f" (member {member.index + 1})" if twice else "")


def _single_file(path, label):
    """A file given as a PATH: a student of its own."""
    lms = ids.lms_name(path.name)
    if lms:
        wanted, name = ids.number_id(lms[0], lms[1]), lms[0]
    else:
        wanted, name = ids.name_id(path.stem), path.stem
    problem = "" if _is_candidate(path.name) else f"{path.name} is not a .py or .ipynb file"
    return _Student(label, wanted, name, str(path), [_Entry((path.name,), None if problem else path, str(path), problem)])


def _walk(folder):
    """([_Entry] of the files under `folder`, notes); links are not followed, only named."""
    entries, notes, metadata = [], [], 0
    stack = [((), folder)]
    while stack:
        parts, here = stack.pop()
        try:
            with os.scandir(here) as scan:
                children = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            if not parts:
                raise GraderError(f"{folder} cannot be read ({type(exc).__name__})") from None
            entries.append(_Entry(parts + ("(unreadable folder)",), None, str(here),
                                  f"cannot be read ({type(exc).__name__})"))
            continue
        for child in children:
            child_parts = parts + (child.name,)
            if is_metadata(child_parts):
                metadata += 1
            elif len(entries) >= MAX_WALK_ENTRIES:
                notes.append(f"{folder}: more than {MAX_WALK_ENTRIES} files; the rest were not looked at")
                return entries, notes
            elif child.is_symlink():
                entries.append(_Entry(child_parts, None, child.path, "a symbolic link (not followed)"))
            elif child.is_dir(follow_symlinks=False) and len(child_parts) < MAX_WALK_DEPTH:
                stack.append((child_parts, Path(child.path)))
            else:
                entries.append(_Entry(child_parts, Path(child.path), child.path))
    if metadata:
        notes.append(f"{folder}: ignored {metadata} metadata entr{'y' if metadata == 1 else 'ies'} (.DS_Store, __MACOSX, ...)")
    return entries, notes


def _group(entries, label, root):
    """([_Student] of one PATH, notes): a folder is a student, a file with an LMS name belongs to
    its number, any other .py, .ipynb or .zip file is a student of its own."""
    students, ignored = {}, []
    counts = {}
    for entry in entries:
        counts[entry.parts] = counts.get(entry.parts, 0) + 1
    for index, entry in enumerate(entries):
        top = entry.parts[0]
        lms = ids.lms_name(top)
        if lms:
            key, wanted, name, origin = f"lms:{lms[1]}", ids.number_id(lms[0], lms[1]), lms[0], f"{root} (student number {lms[1]})"
        elif len(entry.parts) > 1:
            key, wanted, name, origin = f"dir:{top}", ids.name_id(top), top, str(Path(root) / top)
        elif _is_candidate(top) or _is_zip(top):
            stem = PurePosixPath(top).stem
            key = f"file:{top}" + (f"#{index}" if counts[entry.parts] > 1 else "")
            wanted, name, origin = ids.name_id(stem), stem, entry.origin
        else:
            ignored.append(top)
            continue
        key = f"{label}\0{key}"
        students.setdefault(key, _Student(key, wanted, name, origin)).files.append(entry)
    notes = [f"{label}: ignored {len(ignored)} file(s) that are not .py, .ipynb or .zip "
             f"({', '.join(ignored[:3])}{', ...' if len(ignored) > 3 else ''})"] if ignored else []
    return list(students.values()), notes


def _expand(files, fresh, budget, notes, depth):
    """A student's files with each zip among them replaced by its members (the export's caps)."""
    out = []
    for entry in files:
        if not (_is_zip(entry.parts[-1]) and entry.path and not entry.problem):
            out.append(entry)
            continue
        if depth > MAX_NESTING:
            out.append(replace(entry, path=None, problem=f"a zip inside a zip more than {MAX_NESTING} levels deep"))
            continue
        try:
            members, more = unpack(entry.path, next(fresh), budget)
        except SubmissionError as exc:
            out.append(replace(entry, path=None, problem=str(exc)))
            continue
        notes += more
        inner = [_Entry(entry.parts + m.parts, m.path, _member_origin(entry.origin, m, members), m.problem)
                 for m in members]
        out += _expand(inner, fresh, budget, notes, depth + 1) if inner else [replace(entry, path=None, problem="an empty zip")]
    return out


def _source(student, submission_id, assignment, notes):
    """The one Source of a student: the file to grade, or the reason there is none."""
    chosen, problem = _choose(student.files, assignment)
    if chosen and not problem:
        others = [_shown(e) for e in student.files if e is not chosen and _is_candidate(e.parts[-1])]
        if others:
            notes.append(f"{submission_id}: graded {_shown(chosen)}; not graded: {', '.join(others[:5])}")
        return Source(submission_id, chosen.path, chosen.origin, "", student.name)
    return Source(submission_id, None, chosen.origin if chosen else student.origin, problem, student.name)


def _choose(files, assignment):
    """(the entry to grade or None, its problem or '')."""
    candidates = [e for e in files if _is_candidate(e.parts[-1]) or (_is_zip(e.parts[-1]) and e.problem)]
    if not candidates:
        found = ", ".join(_shown(e) + (f" ({e.problem})" if e.problem else "") for e in files[:5])
        return None, f"no .py or .ipynb file (found: {found or 'nothing'})"
    if len(candidates) > 1:
        wanted = assignment.casefold()
        named = [e for e in candidates if _bare(e.parts[-1]) == wanted] or \
                [e for e in candidates if wanted in _bare(e.parts[-1])]
        if len(named) != 1:
            listed = ", ".join(_shown(e) for e in (named or candidates)[:5])
            return None, (f"several candidate files ({listed}); hand in one, named {assignment}.py "
                          f"or {assignment}.ipynb")
        candidates = named
    entry = candidates[0]
    if entry.problem:
        return entry, f"{_shown(entry)}: {entry.problem}"
    return entry, _unreadable(entry.path)


def _bare(file_name):
    """A file's own stem, without the LMS's prefix, case-folded."""
    lms = ids.lms_name(file_name)
    return PurePosixPath(lms[2] if lms and lms[2] else file_name).stem.casefold()


def _shown(entry):
    return "/".join(entry.parts)


def _unreadable(path):
    """Why the file cannot be read ('' when it can): never blocks on a FIFO."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return f"{path.name} is not a regular file"
        with open(path, "rb"):
            return ""
    except OSError as exc:
        return f"{path.name} cannot be read ({type(exc).__name__})"
