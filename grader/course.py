"""Finding the course folder: the folder that holds `rubric/`, `reference_solutions/` and
`student_template/` of a course, wherever the grader itself is installed.

In this order: `--course DIR` (every command that needs a course takes it), the environment
variable `GRADER_COURSE`, the nearest folder at or above the current one that holds both
`rubric/` and `reference_solutions/`, and last the course repository this package was installed
from in development (`pip install -e .`). A wheel installed anywhere has no course of its own.
A release bundle (a `rubric/` without references) is not a course: only `grader check` looks
there (grader.rubric.search_dirs), so a student's folder never chooses what `grade` uses.
"""

import os
from pathlib import Path

from grader.errors import GraderError

ENV = "GRADER_COURSE"
PACKAGE_COURSE = Path(__file__).resolve().parents[1]  # the repository, in a development install
MARKERS = ("rubric", "reference_solutions")
_given = None  # set by --course


def set_course(path):
    """Use `path` as the course folder for the rest of this process (the --course option)."""
    global _given
    _given = Path(path) if path else None


def given():
    """The course folder named by --course or GRADER_COURSE, checked, else None."""
    raw = _given or os.environ.get(ENV) or None
    if raw is None:
        return None
    path = Path(raw).expanduser().resolve()
    origin = "--course" if _given else ENV
    if not path.is_dir():
        raise GraderError(f"{origin} {raw}: no such folder")
    if not (path / "rubric").is_dir():
        raise GraderError(f"{origin} {raw} is not a course folder: it has no rubric/")
    return path


def _is_course(folder):
    return all((folder / marker).is_dir() for marker in MARKERS)


def nearest(start=None):
    """The nearest folder at or above `start` (the current folder) holding rubric/ and
    reference_solutions/, else None."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_course(folder):
            return folder
    return None


def candidates():
    """Course folders in the order they are tried (the given one alone when one is given)."""
    explicit = given()
    if explicit:
        return [explicit]
    found = [nearest()] + ([PACKAGE_COURSE] if (PACKAGE_COURSE / "rubric").is_dir() else [])
    return list(dict.fromkeys(f for f in found if f))


def root():
    """The course folder of a staff command (assign, verify, calibrate, release, export)."""
    found = candidates()
    if not found:
        raise GraderError("no course folder found: pass --course DIR, set GRADER_COURSE, or run inside a course "
                          "(a folder with rubric/ and reference_solutions/)")
    return found[0]


def part(folder, name, needed_by):
    """`folder/name` (e.g. reference_solutions), or a one-line error saying what needs it."""
    path = Path(folder) / name
    if not path.is_dir():
        raise GraderError(f"the course folder {folder} has no {name}/ ({needed_by} needs it)")
    return path
