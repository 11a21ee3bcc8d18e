"""The grading pipeline of one submission: stage, start the child, run each check, score.

Every failure of the student's code ends as a CheckResult; only problems of the set-up (no data,
a bad rubric) raise. Bugs of the grader itself become an 'error' result naming them as ours.
"""

import hashlib
import importlib
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from grader import data as datasets
from grader import knock_on
from grader import text
from grader.checks.context import CheckContext
from grader.checks.oracle import Oracle
from grader.checks.registry import KINDS, Fail, Pending
from grader.errors import DataError, GraderError, SubmissionError
from grader.loading import LoadReport, from_child, skipped
from grader.results import CheckResult, SubmissionResult, score
from grader.sandbox import backends, workfiles
from grader.sandbox.launch import Limits
from grader.sandbox.session import ChildSession, ProbeFailure
from grader.sandbox.zygote import zygote_for
from grader.staging import stage, submission_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """How to grade: which checks, where the data is, how many threads the child may use."""

    visibility: tuple = ("public", "hidden")
    only: tuple = ()  # check ids; empty means all selected by visibility
    data_dir: str | None = None
    threads: int = 1
    sandbox: str = "auto"  # auto | bwrap | process (see grader.sandbox.backends)
    slot: int = 0  # worker slot when grading in parallel
    device: str = "cpu"  # cpu | cuda: where training checks run (resolve "auto" with grader.devices)
    fork_server: bool = False  # fork children from a zygote that imported torch once (grader.sandbox.zygote)
    expected_dir: str | None = None  # cache of the reference's expected values (default: the user's cache)


def grade_file(path, rubric, options=Options(), on_check=None, on_load=None):
    """Grade one submission file against `rubric`; returns a SubmissionResult. `on_load` gets the
    LoadReport (what did not run while loading) before the first check runs."""
    checks = [c for c in rubric.selected(options.visibility) if not options.only or c.id in options.only]
    try:
        staged = stage(path)
    except SubmissionError as exc:
        return unusable_submission(rubric, submission_name(path), str(exc), options, Path(path).name, on_load)
    except (RecursionError, MemoryError, OSError) as exc:
        problem = f"{Path(path).name} could not be read ({type(exc).__name__})"
        return unusable_submission(rubric, submission_name(path), problem, options, Path(path).name, on_load)
    kind, warnings = backends.resolve(options.sandbox)
    limits = Limits(import_seconds=rubric.import_time_limit, memory_bytes=rubric.memory_limit_mb << 20,
                    threads=options.threads, slot=options.slot, device=options.device)
    _warm_parent_torch()
    loader = _data_loader(rubric, options)
    if any(KINDS[c.kind].uses_data for c in checks):
        loader()  # a missing data set is a set-up error: say so before any student code runs
    if options.fork_server:
        zygote = zygote_for(kind, limits)
        starter, workdir = zygote.start_child, zygote.fresh_workdir()
    else:
        starter, workdir = backends.choose(options.sandbox)[0], Path(workfiles.make_workdir("grader-"))
    digest = hashlib.sha256(staged.source.encode("utf-8")).hexdigest()  # keys the secret relabelling
    oracle = Oracle(rubric, limits, backends.choose(options.sandbox)[0], options.expected_dir)
    try:
        module_file = workdir / f"{rubric.assignment}.py"  # a notebook has no file: its cells go in the plan
        if staged.kind == "script":
            workfiles.put(workdir, ".py", staged.source.encode("utf-8"), module_file.name)
        plan = staged.plan(rubric.cell_time_limit, rubric.import_time_limit, rubric.probe_sources)
        results = []
        with ChildSession(workdir, module_file, rubric.assignment, limits, starter, plan) as session:
            load = _load_report(session, staged) if checks else None
            if on_load and load:
                on_load(load)
            for check in checks:
                result = knock_on.annotated(check, run_check(check, session, workdir, loader, digest, oracle), results)
                results.append(result)
                if on_check:
                    on_check(result)
            output = session.output()
        return SubmissionResult(rubric.assignment, staged.name, tuple(results), output, warnings, load)
    finally:
        oracle.close()
        if not options.fork_server:  # a fork server's work folder is emptied before its next use
            workfiles.remove_workdir(workdir)


_WARMING = []


def _warm_parent_torch():
    """Import torch in a background thread while the child starts: shape and kernel checks build
    their expected values with torch here, and its first import (about 1.2 s) would otherwise wait
    until the first such check. Once per process; an import that fails is left to the check."""
    if _WARMING or "torch" in sys.modules:
        return
    _WARMING.append(threading.Thread(target=_import_quietly, args=("torch",), name="warm-torch", daemon=True))
    _WARMING[0].start()


def _import_quietly(name):
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - whoever imports it next gets the error
        pass


def unusable_submission(rubric, name, problem, options=Options(), file_name="", on_load=None):
    """The result of a submission that cannot be run at all: every check an error saying why."""
    checks = [c for c in rubric.selected(options.visibility) if not options.only or c.id in options.only]
    kind = "notebook" if file_name.lower().endswith(".ipynb") else "script"
    load = LoadReport(file_name or name, kind, problem=problem, unreadable=True)
    if on_load:
        on_load(load)
    return SubmissionResult(rubric.assignment, name, tuple(_result(c, "error", problem, 0.0) for c in checks),
                            load=load)


def _load_report(session, staged):
    """Start the child and say what did not run while it loaded (grader.loading)."""
    raw, failure = session.loaded()
    if failure is not None:
        problem, _, detail = session.import_problem.partition("\n")
        report = LoadReport(staged.file_name, staged.kind, skipped(staged.cells), problem=problem, detail=detail)
    else:
        events, notes = from_child(raw, {c.number: c.first_line for c in staged.cells})
        events = tuple(sorted(skipped(staged.cells) + events, key=lambda e: (e.cell or 0, e.line)))
        report = LoadReport(staged.file_name, staged.kind, events, notes)
    session.load_report = report
    return report


def run_check(check, session, workdir, loader, digest="", oracle=None):
    """Run one check; whatever happens becomes a CheckResult. `digest` (the submission's) keys the
    secret relabelling of training checks (grader.relabel); `oracle` gives the reference's answers."""
    started = time.monotonic()
    ctx = CheckContext(check, session, workdir, loader, device=session.limits.device, digest=digest, oracle=oracle)
    artifacts, value = (), None
    try:
        verdict = KINDS[check.kind].run(ctx)
        status = "passed" if verdict.passed else "failed"
        message, artifacts, value = verdict.message, verdict.artifacts, verdict.value
    except Fail as exc:
        status, message, artifacts, value = "failed", exc.message, exc.artifacts, exc.value
    except Pending as exc:
        status, message = "pending", exc.message
    except ProbeFailure as exc:
        status, message = exc.status, exc.message
    except DataError:
        raise
    except GraderError as exc:  # the course's set-up (e.g. its reference failed): not the student's fault
        log.error("set-up error in check %s: %s", check.id, text.block(str(exc)))
        status, message = "error", f"grader set-up error (not your fault; please report it to the course staff): {exc}"
    except Exception:
        # the traceback may quote values the child sent: escaped, it cannot reach the terminal raw
        log.error("internal error in check %s:\n%s", check.id, text.block(traceback.format_exc()))
        status, message = "error", "internal grader error (not your fault); please report it to the course staff"
    return _result(check, status, message, time.monotonic() - started, artifacts, value)


def _result(check, status, message, seconds, artifacts=(), value=None):
    return CheckResult(check.id, check.title, score(check, status), check.points, status, message,
                       check.visibility, seconds, tuple(artifacts), value)


def _data_loader(rubric, options):
    """A function returning the rubric's data set; grader.data caches it per process."""
    def load():
        if not rubric.dataset:
            raise DataError(f"rubric {rubric.path} uses a training check but names no 'dataset'")
        return datasets.load(rubric.dataset, options.data_dir)
    return load
