"""Grade many submissions in parallel worker threads, each submission in its own sandboxed child.

Workers only wait on their child processes, so threads suffice in the parent. Each worker has a
slot (its children's uid under bwrap). Each child uses `options.threads` torch threads (1 by
default), so that N workers on N cores do not oversubscribe the machine and the grades do not
depend on the number of workers (float results can change with the thread count). Ctrl-C kills every child and writes nothing half-done.
"""

import dataclasses
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


def grade_all(sources, rubric, store, options, workers=1, resume=False, show_progress=True, scores=None):
    """Grade `sources` into `store`, a TA's `scores` (grader.manual) merged; returns a Summary.
    Raises Interrupted on Ctrl-C."""
    summary, todo = split_done(sources, store, resume, scores)
    if workers * options.threads > (os.cpu_count() or 1):
        print(f"note: {workers} workers x {options.threads} torch thread(s) exceed the {os.cpu_count()} cores",
              file=sys.stderr)
    slots = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    stop = threading.Event()
    bar = tqdm(total=len(todo), unit="submission", disable=not show_progress or not todo, dynamic_ncols=True)
    failures = []
    started = time.monotonic()

    def job(source, content):
        slot = slots.get()
        try:
            if stop.is_set():
                return None
            run_options = dataclasses.replace(options, slot=slot)
            result = grade_source(source, rubric, run_options, scores)
            if stop.is_set():  # interrupted mid-way: its children were killed, the result is not real
                return None
            store.write(source, result.to_json(), content, *outputs(source, result), scores=scores)
            return result
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool:
        pending = {pool.submit(job, source, content): source for source, content in todo}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    source = pending.pop(future)
                    result = future.result()
                    summary.graded.append(source.id)
                    if result and any(c.status in ("error", "timeout") for c in result.checks):
                        failures.append(source.id)
                    bar.set_postfix_str(f"with errors: {len(failures)}"
                                        + (f" (last: {text.inline(failures[-1], 'name')})" if failures else ""))
                    bar.update(1)
        except KeyboardInterrupt:
            stop.set()
            session.kill_all()
            for future in pending:
                future.cancel()
            session.kill_all()
            bar.close()
            raise Interrupted(f"interrupted: {len(summary.graded)} of {len(todo)} graded and kept") from None
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


def outputs(source, result):
    """(report HTML, log text) of one graded submission."""
    name = source.path.name if source.path else source.id
    return render_report(result, name, result.warnings), _log(source, result)


def _log(source, result):
    """log.txt: names written with repr and every message escaped (grader.text), so that no student
    text can forge a line of it or carry a terminal escape sequence."""
    lines = [f"submission {text.name(source.id)} from {text.name(source.origin)}",
             f"score {result.score:g} / {result.max_score:g}", ""]
    for check in result.checks:
        lines.append(f"{check.status:<8} {check.points:g}/{check.max_points:g} {check.id} ({check.seconds:.1f} s)")
        if check.message and check.status != "passed":
            lines += ["    " + line for line in text.block(check.message).split("\n")]
    output = text.block(result.output, "output")  # each of its lines marked: it cannot pass for ours
    lines += ["", "output of the submission:"] + (["  | " + line for line in output.split("\n")] if output else ["(none)"])
    return "\n".join(lines) + "\n"
