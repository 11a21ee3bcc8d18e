"""Grade many submissions in parallel worker threads, each submission in its own sandboxed child.

Workers only wait on their child processes, so threads suffice in the parent. Each worker has a
slot (its children's uid under bwrap). Each child uses `options.threads` torch threads (1 by
default), so that N workers on N cores do not oversubscribe the machine and the grades do not
depend on the number of workers (float results can change with the thread count). Ctrl-C kills every child and writes nothing half-done.
Identical submissions of a batch (same normalised content, same rubric: `duplicate_key`) are graded
once: each later copy gets that result under its own id, with its own report and files, and its
log says whose result it reuses.
"""

import copy
import dataclasses
import hashlib
import json
import os
import queue
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from tqdm import tqdm

from grader import manual, text
from grader.batch.store import content_hash
from grader.grading import grade_file, unusable_submission
from grader.report import render_report
from grader.sandbox import session


class Interrupted(Exception):
    """The batch was stopped with Ctrl-C; finished submissions are kept, the rest not written."""


@dataclass
class Summary:
    graded: list = field(default_factory=list)  # ids graded in this run
    skipped: list = field(default_factory=list)  # ids whose stored results were reused (--resume)
    duplicates: int = 0  # graded ids whose result is an identical earlier submission's (graded once)
    seconds: float = 0.0


def split_done(sources, store, resume, scores=None):
    """(Summary with the reused ids, [(source, content hash)] still to grade): with `resume`, a
    result is reused only when its whole key (grader.batch.provenance) is the current one."""
    summary, todo = Summary(), []
    for source in sources:
        content = content_hash(source)
        if resume and store.done(source, content, scores):
            summary.skipped.append(source.id)
        else:
            todo.append((source, content))
    return summary, todo


def duplicate_key(source, rubric):
    """What makes two submissions identical for grading: the rubric's digest, the file's kind and
    its content normalised as the grader reads it (line endings and a byte-order mark, trailing
    blank space at the end; for a notebook only its cells' kinds and sources, not outputs, execution
    counts or metadata). None for a submission that cannot be read (graded on its own)."""
    if source.path is None:
        return None
    try:
        raw = source.path.read_bytes()
    except OSError:
        return None
    suffix = source.path.suffix.lower()
    body = _normalised(raw.decode("utf-8", errors="surrogateescape"))
    if suffix == ".ipynb":
        try:
            cells = json.loads(raw).get("cells")
            body = json.dumps([[c.get("cell_type"), _normalised(_cell_source(c))] for c in cells])
        except (ValueError, TypeError, AttributeError, RecursionError):
            pass  # not a notebook: its normalised text is its key, and staging says what is wrong
    digest = hashlib.sha256(body.encode("utf-8", errors="surrogateescape")).hexdigest()
    return rubric.digest, suffix, digest


def _normalised(text_):
    return text_.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").rstrip()


def _cell_source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def split_duplicates(todo, rubric):
    """([(source, content, [(copy, its content), ...])] to grade, number of copies): each later
    submission with the `duplicate_key` of an earlier one rides along with that one."""
    firsts, by_key, copies = [], {}, 0
    for source, content in todo:
        key = duplicate_key(source, rubric)
        if key is not None and key in by_key:
            by_key[key][2].append((source, content))
            copies += 1
            continue
        entry = (source, content, [])
        firsts.append(entry)
        if key is not None:
            by_key[key] = entry
    return firsts, copies


def reused_result(result, first, source, scores=None):
    """`result` (graded for `first`, TA scores not merged) as `source`'s: its id, its file name in
    place of the first's in every message, its own manual scores."""
    old, new = first.path.name, source.path.name
    renamed = _renamed(result, old, new) if old != new else result
    renamed = dataclasses.replace(renamed, submission=source.id)
    return manual.merge(renamed, scores) if scores else renamed


def _renamed(value, old, new):
    """A copy of `value` (result dataclasses, tuples, strings) with `old` replaced by `new` in its text;
    fields are set directly, so text already escaped is not escaped again."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, tuple):
        return tuple(_renamed(v, old, new) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = copy.copy(value)
        for f in dataclasses.fields(value):
            if f.name != "artifacts":
                object.__setattr__(out, f.name, _renamed(getattr(value, f.name), old, new))
        return out
    return value


def grade_all(sources, rubric, store, options, workers=1, resume=False, show_progress=True, scores=None):
    """Grade `sources` into `store`, a TA's `scores` (grader.manual) merged; returns a Summary.
    Raises Interrupted on Ctrl-C."""
    summary, todo = split_done(sources, store, resume, scores)
    todo, summary.duplicates = split_duplicates(todo, rubric)
    if workers * options.threads > (os.cpu_count() or 1):
        print(f"note: {workers} workers x {options.threads} torch thread(s) exceed the {os.cpu_count()} cores",
              file=sys.stderr)
    slots = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    stop = threading.Event()
    bar = tqdm(total=len(todo) + summary.duplicates, unit="submission", disable=not show_progress or not todo, dynamic_ncols=True)
    failures = []
    started = time.monotonic()

    def job(source, content, copies):
        slot = slots.get()
        try:
            if stop.is_set():
                return []
            run_options = dataclasses.replace(options, slot=slot)
            plain = grade_source(source, rubric, run_options)
            if stop.is_set():  # interrupted mid-way: its children were killed, the result is not real
                return []
            result = manual.merge(plain, scores) if scores else plain
            store.write(source, result.to_json(), content, *outputs(source, result), scores=scores)
            done = [(source, result)]
            for twin, twin_content in copies:
                reused = reused_result(plain, source, twin, scores)
                note = (f"graded once: same normalised content and rubric as {text.name(source.id)}, "
                        "whose result is reused")
                store.write(twin, reused.to_json(), twin_content, *outputs(twin, reused, note), scores=scores)
                done.append((twin, reused))
            return done
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool:
        pending = {pool.submit(job, *entry): entry[0] for entry in todo}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.pop(future)
                    for source, result in future.result():
                        summary.graded.append(source.id)
                        if any(c.status in ("error", "timeout") for c in result.checks):
                            failures.append(source.id)
                        bar.update(1)
                    bar.set_postfix_str(f"with errors: {len(failures)}"
                                        + (f" (last: {text.inline(failures[-1], 'name')})" if failures else ""))
        except KeyboardInterrupt:
            stop.set()
            session.kill_all()
            for future in pending:
                future.cancel()
            session.kill_all()
            bar.close()
            raise Interrupted(f"interrupted: {len(summary.graded)} of {len(todo) + summary.duplicates} graded "
                              "and kept") from None
    bar.close()
    summary.seconds = time.monotonic() - started
    return summary


def grade_source(source, rubric, options, scores=None):
    """Grade one discovered submission (an unusable one gets its problem as every check's error),
    then merge a TA's `scores` into it."""
    if source.path is None:
        result = unusable_submission(rubric, source.id, source.problem, options)
    else:
        result = dataclasses.replace(grade_file(source.path, rubric, options), submission=source.id)
    return manual.merge(result, scores) if scores else result


def outputs(source, result, note=""):
    """(report HTML, log text) of one graded submission; `note` is a line of ours for the log."""
    name = source.path.name if source.path else source.id
    return render_report(result, name, result.warnings, source.path), _log(source, result, note)


def _log(source, result, note=""):
    """log.txt: names written with repr and every message escaped (grader.text), so that no student
    text can forge a line of it or carry a terminal escape sequence."""
    lines = [f"submission {text.name(source.id)} from {text.name(source.origin)}",
             f"score {result.score:g} / {result.max_score:g}", *([note] if note else []), ""]
    if result.load is not None:
        lines += _load_lines(result.load) + [""]
    for check in result.checks:
        lines.append(f"{check.status:<8} {check.points:g}/{check.max_points:g} {check.id} ({check.seconds:.1f} s)")
        if check.message and check.status != "passed":
            lines += ["    " + line for line in text.block(check.message).split("\n")]
    output = text.block(result.output, "output")  # each of its lines marked: it cannot pass for ours
    lines += ["", "output of the submission:"] + (["  | " + line for line in output.split("\n")] if output else ["(none)"])
    return "\n".join(lines) + "\n"


def _load_lines(load):
    """The load report in log.txt: one line an event (cell or line, status, seconds, the error in one
    line), every field escaped so that none can forge a line of the log."""
    head = f"load {text.name(load.file)} ({load.kind}): "
    if load.problem:
        return [head + "not run: " + text.inline(load.problem, "message")]
    units = ("cells" if load.kind == "notebook" else "statements") if len(load.events) != 1 else \
        ("cell" if load.kind == "notebook" else "statement")
    out = [head + (f"{len(load.events)} {units} did not run to the end" if load.events else "every unit ran")]
    for e in load.events:
        unit = f"cell {e.cell}, line {e.at_line or e.line}" if e.cell is not None else f"line {e.line}"
        unit += f" (at line {e.at_line})" if e.cell is None and e.at_line not in (0, e.line) else ""
        error = text.inline(e.error.strip().splitlines()[0] if e.error.strip() else "", "message")
        out.append(f"  {unit:<18} {e.status:<11} {e.seconds:7.2f} s  {error}")
    return out + [f"  not run: {text.inline(note, 'function')}" for note in load.notes]
