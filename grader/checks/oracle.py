"""The reference solution as the oracle: expected values come from running the course's reference.

A kind asks `ctx.expected(probe, ...)` with the same probe and arguments it sends the student;
the oracle runs that probe on `reference_solutions/<assignment>.py` (beside the rubric's folder) in
a sandboxed child of its own, never the student's, and caches the answer on disk. The cache key is
the digest of the reference's source, the rubric entry (id, kind, params, seed), torch's version
and the request, so a class of 300 computes each expected value once, and a changed reference,
rubric entry or torch recomputes it. Cached answers are stored in the wire format (tagged JSON and
`.npy` blobs) and decoded with the same strict decoder as a child's answer: nothing is unpickled.
"""

import ast
import contextlib
import fcntl
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from grader.errors import GraderError
from grader.sandbox import framing, values, workfiles
from grader.sandbox.session import ChildSession, ProbeFailure
from grader.staging import stage

CACHE_BLOB_LIMIT = 256 << 20


class ReferenceFailure(GraderError):
    """The reference solution is missing or failed on a check's inputs: the course's problem, never
    the student's (the check is reported as an error of the grader's set-up)."""


def reference_path(rubric):
    """`reference_solutions/<assignment>.py` of the course folder that holds the rubric's folder."""
    return Path(rubric.path).resolve().parent.parent / "reference_solutions" / f"{rubric.assignment}.py"


def defined_names(path):
    """The names the reference's module defines at top level, read with `ast` (never imported here)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def missing_in_reference(rubric_path, assignment, checks, kinds):
    """[(check id, problem)] for checks naming what the reference does not define; [] when the course
    ships no reference (a student's bundle: the expected values then come from the cache)."""
    path = Path(rubric_path).resolve().parent.parent / "reference_solutions" / f"{assignment}.py"
    if not path.is_file():
        return []
    names = defined_names(path)
    problems = []
    for check in checks:
        for param in kinds[check.kind].oracle:
            if check.params[param] not in names:
                problems.append((check.id, f"parameter '{param}': the reference solution {path.name} defines no "
                                           f"{check.params[param]!r}, so it has no expected value to give"))
    return problems


def default_cache_dir():
    from grader.data import cache_dir

    return cache_dir() / "expected"


class Oracle:
    """Expected values of one rubric's checks, from its reference solution (started on first need)."""

    def __init__(self, rubric, limits, starter, cache_dir=None):
        self.rubric, self.limits, self.starter = rubric, limits, starter
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.path = reference_path(rubric)
        self._source = None
        self._session = self._workdir = None

    def source(self):
        if self._source is None:
            if not self.path.is_file():
                raise ReferenceFailure(f"the expected values of this rubric come from its reference solution "
                                      f"{self.path}, which does not exist")
            self._source = stage(self.path).source
        return self._source

    def key(self, check, probe, args, blobs):
        """The cache key of one request of one check (see the module docstring)."""
        request = {
            "reference": hashlib.sha256(self.source().encode("utf-8")).hexdigest(),
            "check": {"id": check.id, "kind": check.kind, "params": check.params, "seed": check.seed},
            "torch": _torch_version(), "probe": probe, "args": args, "course_probes": self.rubric.probe_sources,
            "blobs": {name: hashlib.sha256(data).hexdigest() for name, data in sorted((blobs or {}).items())},
        }
        return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()

    def expected(self, check, probe, args, blobs=None, doing="the reference solution"):
        """The reference's answer to probe `probe` with `args` (decoded like a child's answer)."""
        key = self.key(check, probe, args, blobs)
        cached = self._read(key)
        if cached is not None:
            return cached[0]
        with self._computing(key):  # a parallel worker missing the same key waits, then reads it
            cached = self._read(key)
            if cached is not None:
                return cached[0]
            try:
                value = self._child().probe(probe, args, timeout=check.time_limit, seed=check.seed, blobs=blobs,
                                            doing=f"the reference solution's {doing}", limit=check.time_limit)
            except ProbeFailure as exc:
                raise ReferenceFailure(f"check {check.id!r}: the reference solution {self.path.name} failed, so "
                                      f"there is nothing to compare with: {exc.message}") from None
            self._write(key, value)
        return value

    def close(self):
        if self._session is not None:
            self._session.close()
            workfiles.remove_workdir(self._workdir)
            self._session = self._workdir = None

    # ---- the reference's child and the cache ----------------------------------------------------

    def _child(self):
        if self._session is None:
            source = self.source().encode("utf-8")
            self._workdir = Path(workfiles.make_workdir("grader-reference-"))
            module = self._workdir / workfiles.put(self._workdir, ".py", source, f"{self.rubric.assignment}.py")
            plan = json.dumps({"probes": [list(p) for p in self.rubric.probe_sources]}).encode("utf-8")
            self._session = ChildSession(self._workdir, module, self.rubric.assignment, self.limits, self.starter,
                                         plan)
        return self._session

    def _file(self, key):
        return self.cache_dir / key[:2] / f"{key}.frame"

    @contextlib.contextmanager
    def _computing(self, key):
        """An exclusive lock on `key` (flock on a file beside its answer) for the worker computing
        it, so that a batch computes each expected value once even when workers miss together."""
        path = self._file(key).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, key):
        """(value,) from the cache, or None when absent or unreadable (then it is recomputed)."""
        try:
            data = self._file(key).read_bytes()
            reader = framing.FrameReader(CACHE_BLOB_LIMIT)
            reader.feed(data)
            header, blobs = reader.next_frame()
            return (values.decode(header["value"], blobs),)
        except (OSError, TypeError, KeyError, framing.FrameError, values.DecodeError):
            return None

    def _write(self, key, value):
        encoder = values.Encoder()
        frame = framing.pack({"value": encoder.encode(value)}, encoder.blobs)
        path = self._file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(frame)
        os.replace(temporary, path)  # atomic: a parallel worker reads the whole answer or none


def _torch_version():
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"
