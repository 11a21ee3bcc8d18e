"""Rubric files: load a YAML rubric and validate it against the registry of check kinds.

An invalid rubric is refused before any student code runs, naming the file, the check id and
what is wrong. `Check` and `Rubric` are frozen: grading never changes them.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader.checks import registry
from grader.checks.oracle import missing_in_reference
from grader.errors import GraderError, RubricError, did_you_mean

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubric"
VISIBILITIES = ("public", "hidden")
TOP_KEYS = {"assignment", "title", "dataset", "import_time_limit", "cell_time_limit", "memory_limit_mb", "checks"}
DEFAULT_CELL_SECONDS = 20  # a notebook cell's (a script statement's) budget while loading: stops top-level training
CHECK_KEYS = {"id", "title", "kind", "points", "visibility", "time_limit", "params", "seed", "builds_on"}


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    kind: str
    points: float
    visibility: str
    time_limit: float
    params: dict
    seed: int
    builds_on: tuple = ()  # ids of checks whose subject this one uses: its failure then points at theirs


@dataclass(frozen=True)
class Rubric:
    assignment: str
    title: str
    dataset: str | None
    import_time_limit: float
    memory_limit_mb: int
    checks: tuple
    path: Path
    digest: str
    cell_time_limit: float = DEFAULT_CELL_SECONDS
    probe_sources: tuple = ()  # ((file name, source), ...) of the course's own probes (grader.plugins)

    @property
    def max_score(self):
        return sum(c.points for c in self.checks)

    def selected(self, visibility):
        """The checks whose visibility is in `visibility` (a tuple such as ("public",))."""
        return tuple(c for c in self.checks if c.visibility in visibility)


def course_dirs():
    """The course's own rubric folders (grader.course: --course, GRADER_COURSE, the nearest course
    folder at or above the current one, then this package's repository in a development install)."""
    from grader import course

    return _existing([folder / "rubric" for folder in course.candidates()])


def search_dirs(near=None):
    """Where `grader check` looks for rubrics: beside the submission (a release bundle's rubric/),
    the nearest rubric/ at or above the current folder, then the course's. `grader grade` uses
    course_dirs() only: a student's file never chooses the rubric it is graded on."""
    cwd = Path.cwd().resolve()
    above = next((f / "rubric" for f in (cwd, *cwd.parents) if (f / "rubric").is_dir()), cwd / "rubric")
    dirs = ([Path(near).resolve().parent / "rubric"] if near else []) + [above]
    return _existing(dirs + course_dirs())


def _existing(dirs):
    dirs = [Path(d).resolve() for d in dirs]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d not in dirs[:i]]


def known_assignments(dirs):
    return sorted({p.stem for d in dirs for p in Path(d).glob("*.yaml") if "." not in p.stem})


def rubric_path(assignment, rubric_dir=None, near=None, dirs=None):
    dirs = [Path(rubric_dir)] if rubric_dir else (dirs if dirs is not None else search_dirs(near))
    for folder in dirs:
        path = folder / f"{assignment}.yaml"
        if path.is_file():
            return path
    known = known_assignments(dirs)
    where = ", ".join(str(d) for d in dirs) or "no rubric folder found"
    raise GraderError(f"no rubric for assignment '{assignment}' in {where} "
                      f"(known: {', '.join(known) or 'none'}; or pass --rubric FILE or a course folder)")


def resolve_given(given, assignment):
    """--rubric: a rubric file, or a course folder (its rubric/<assignment>.yaml, or <assignment>.yaml in it)."""
    given = Path(given)
    if not given.is_dir():
        return given
    if not assignment:
        raise GraderError(f"--rubric {given} is a folder: pass --assignment too")
    folders = [given / "rubric", given]
    return rubric_path(assignment, dirs=[f for f in folders if f.is_dir()])


def load(assignment, rubric_dir=None, near=None):
    return load_file(rubric_path(assignment, rubric_dir, near))


def load_file(path):
    """Parse and validate one rubric file; raises RubricError naming what is wrong."""
    import grader.checks  # noqa: F401 - registers every kind
    from grader import plugins

    path = Path(path)
    probe_sources = plugins.load(path.parent)  # the course's own kinds and probes, beside its rubrics
    raw_bytes = path.read_bytes()
    try:
        raw = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if type(raw) is not dict:
        raise RubricError(path, None, "the rubric must be a mapping with 'assignment' and 'checks'")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise RubricError(path, None, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(TOP_KEYS))})")
    assignment = raw.get("assignment")
    if type(assignment) is not str or not assignment:
        raise RubricError(path, None, "'assignment' must be a non-empty string")
    if type(raw.get("checks")) is not list or not raw["checks"]:
        raise RubricError(path, None, "'checks' must be a non-empty list")
    import_limit = _number(raw.get("import_time_limit", 60), path, None, "import_time_limit")
    cell_limit = _number(raw.get("cell_time_limit", DEFAULT_CELL_SECONDS), path, None, "cell_time_limit")
    memory = raw.get("memory_limit_mb", 4096)
    if type(memory) is not int or memory < 256:
        raise RubricError(path, None, "'memory_limit_mb' must be an int of at least 256")
    checks, seen = [], set()
    for index, entry in enumerate(raw["checks"]):
        check = _load_check(entry, index, path)
        if check.id in seen:
            raise RubricError(path, check.id, "duplicate check id")
        seen.add(check.id)
        checks.append(check)
    for index, check in enumerate(checks):  # ids of no check are let be: a rubric cut down to some checks loads
        below = [b for b in check.builds_on if b in {c.id for c in checks[index:]}]
        if below:
            raise RubricError(path, check.id, f"'builds_on' must name checks above this one, not {', '.join(below)}")
    for check_id, problem in missing_in_reference(path, assignment, checks, registry.KINDS):
        raise RubricError(path, check_id, problem)
    return Rubric(assignment, str(raw.get("title", assignment)), raw.get("dataset"), import_limit,
                  memory, tuple(checks), path, hashlib.sha256(raw_bytes).hexdigest(), cell_limit, probe_sources)


def _load_check(entry, index, path):
    if type(entry) is not dict:
        raise RubricError(path, f"#{index + 1}", "each check must be a mapping")
    check_id = entry.get("id")
    if type(check_id) is not str or not check_id.replace("_", "").replace("-", "").isalnum():
        raise RubricError(path, f"#{index + 1}", "'id' must be a string of letters, digits, '-' and '_'")
    unknown = sorted(set(entry) - CHECK_KEYS)
    if unknown:
        raise RubricError(path, check_id, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(CHECK_KEYS))})")
    for key in ("title", "kind", "points", "visibility", "time_limit"):
        if key not in entry:
            raise RubricError(path, check_id, f"missing '{key}'")
    if type(entry["title"]) is not str:
        raise RubricError(path, check_id, "'title' must be a string")
    if entry["visibility"] not in VISIBILITIES:
        raise RubricError(path, check_id, f"'visibility' must be one of {', '.join(VISIBILITIES)}")
    points = _number(entry["points"], path, check_id, "points", allow_zero=True)
    time_limit = _number(entry["time_limit"], path, check_id, "time_limit")
    if type(entry["kind"]) is not str or entry["kind"] not in registry.KINDS:
        raise RubricError(path, check_id, f"unknown kind {entry['kind']!r}"
                          + (did_you_mean(entry["kind"], registry.KINDS) or " (`grader schema` lists every kind)"))
    params, problem = registry.validate_params(entry["kind"], entry.get("params", {}))
    if problem:
        raise RubricError(path, check_id, problem)
    seed = entry.get("seed", int(hashlib.sha256(check_id.encode()).hexdigest()[:8], 16))
    if type(seed) is not int:
        raise RubricError(path, check_id, "'seed' must be an int")
    builds_on = entry.get("builds_on", [])
    if type(builds_on) is not list or not all(type(b) is str for b in builds_on) or check_id in builds_on:
        raise RubricError(path, check_id, "'builds_on' must be a list of other checks' ids")
    return Check(check_id, entry["title"], entry["kind"], points, entry["visibility"], time_limit, params, seed,
                 tuple(builds_on))


def _yaml_error(path, exc):
    """A YAML syntax error as one line: file:line:column and what the parser says."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
    problem = " ".join((problem or str(exc)).split())
    if mark is None:
        return RubricError(path, None, f"not valid YAML: {problem}")
    return RubricError(path, None, f"not valid YAML: {problem}", line=mark.line + 1, column=mark.column + 1)


def _number(value, path, check_id, key, allow_zero=False):
    if type(value) not in (int, float) or value < 0 or (value == 0 and not allow_zero):
        raise RubricError(path, check_id, f"'{key}' must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)
