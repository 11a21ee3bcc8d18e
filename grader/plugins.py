"""Course plug-ins: the check kinds and probes a course keeps beside its rubrics.

A course folder may hold, next to its rubric files, `rubric/plugins/kinds/*.py` (parent side: check
kinds registered with `grader.checks.registry.check_kind`) and `rubric/plugins/probes/*.py` (child
side: probes registered with `grader.sandbox.probes.probe`). They follow the rules of the built-in
ones: a name registered twice is refused, a kind declares its probes, and both are resolved when a
rubric of that course loads (`grader.rubric.load_file` calls `load`). The kinds are imported in
the parent only then. The probes are never mounted as files: their sources travel in the child's
plan (`Rubric.probe_sources`) and the child, or the reference's child, imports them from there, so
nothing else of the course folder enters the sandbox.
"""

import hashlib
import importlib
import sys
import types
from pathlib import Path

from grader.errors import GraderError

FOLDER = "plugins"
KINDS_PACKAGE = "course_kinds"  # the parent's package of a course's kinds: course_kinds_<digest>.<module>
_loaded = {}  # digest of the plug-in files -> (package name of its kinds, probe sources)


class PluginError(GraderError):
    """A course plug-in could not be loaded (it fails to import, or registers a name twice)."""


def folder(rubric_dir):
    """`rubric/plugins/` of the course whose rubric files are in `rubric_dir`."""
    return Path(rubric_dir).resolve() / FOLDER


def _modules(path):
    return sorted(p for p in path.glob("*.py") if p.is_file()) if path.is_dir() else []


def probe_sources(rubric_dir):
    """((file name, source), ...) of the course's probe modules, sorted: what the child imports."""
    return tuple((p.name, p.read_text(encoding="utf-8")) for p in _modules(folder(rubric_dir) / "probes"))


def digest(rubric_dir):
    """sha256 of the course's plug-in files (names and bytes): one copy of them or another is the same."""
    root, hasher = folder(rubric_dir), hashlib.sha256()
    for path in [*_modules(root / "kinds"), *_modules(root / "probes")]:
        hasher.update(f"{path.parent.name}/{path.name}\0".encode() + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def load(rubric_dir):
    """Register the course's kinds (parent side) and its probes' names, once for the same plug-ins
    (a release bundle's copy of them is the same); returns the probe sources the child must import
    (empty without plug-ins)."""
    root, key = folder(rubric_dir), digest(rubric_dir)
    if key in _loaded:
        return _loaded[key][1]
    sources = probe_sources(rubric_dir)
    from grader.sandbox import probes

    try:
        # the same loader the child runs, so the names are known before anything runs
        probes.load_course(sources, f"{probes.COURSE_PACKAGE}_{key[:12]}")
    except Exception as exc:  # noqa: BLE001 - the course's code: any failure is its set-up error
        raise PluginError(f"the course's probes in {root / 'probes'} could not be loaded: "
                          f"{type(exc).__name__}: {exc}") from None
    package = _kinds_package(root / "kinds", key[:12])
    for path in _modules(root / "kinds"):
        try:
            importlib.import_module(f"{package}.{path.stem}")
        except Exception as exc:  # noqa: BLE001
            raise PluginError(f"the course's check kinds in {path} could not be loaded: "
                              f"{type(exc).__name__}: {exc}") from None
    _loaded[key] = (package, sources)
    return sources


def _kinds_package(path, tag):
    """A package over `path`, so that a course's kind modules import each other relatively."""
    name = f"{KINDS_PACKAGE}_{tag}"
    package = types.ModuleType(name, f"check kinds of the course plug-ins in {path}")
    package.__path__ = [str(path)]
    sys.modules[name] = package
    return name


def kind_module(rubric_dir, stem):
    """The imported module `stem` of the course's kinds (for tests of a plug-in's helpers)."""
    load(rubric_dir)
    return sys.modules[f"{_loaded[digest(rubric_dir)][0]}.{stem}"]
