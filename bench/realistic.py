"""Figures on a realistic class (bench/realistic_class.py), each side measured in this run; a figure
whose either side did not do its work is refused (printed as REFUSED with why), never as a ratio.

    .venv/bin/python bench/realistic.py --n 300 --notebooks 20      # the issue's sizes
    .venv/bin/python bench/realistic.py --n 20 --notebooks 6 --only floor dups

1 floor: grading the trainable part of the class (correct + one mistake), full rubric, fork server,
  2 workers / every probe the children answered replayed bare (bench/floor_replay.py: same files,
  data, seeds, one torch thread, 2 processes each importing torch once), sides in turn by chunks.
3 reset: time the parent is blocked by Zygote.reset, _finish_reset and fresh_workdir per
  submission; the zygote's own time is one reset awaited at once after the batch.
4 dups: the same class with 10 % of it copies of earlier submissions / without (and, beside it, the
  copies class / its distinct files alone: what the copies themselves cost).
5 oracle: reference computations per batch against the distinct requests (from an empty cache).
6 gradebooks: the whole class graded with 1 and 2 workers, fork server and fresh children (full
  rubric): the four grades.csv equal in every cell, else each differing row (issue 17).
2 notebooks lives in bench/run.py's peer part (`--realistic` runs it on a class of notebooks).
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
import floor_replay  # noqa: E402
import gradebooks  # noqa: E402
import realistic_class  # noqa: E402

PY = sys.executable
TARGETS = {"floor": 1.15, "reset_ms": 50.0, "dups": 0.90, "oracle": 1.0}


class LoadSampler:
    """The 1-minute load average sampled every 20 s in a thread, for the record of the run."""

    def __init__(self, every=20.0):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        threading.Thread(target=self._run, args=(every,), daemon=True).start()

    def _run(self, every):
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def summary(self):
        self._stop.set()
        values = self.samples + [os.getloadavg()[0]]
        return (f"load average during the run: min {min(values):.1f}, median {statistics.median(values):.1f}, "
                f"max {max(values):.1f} ({len(values)} samples)")


def figure(name, value, target, problems, unit="x"):
    """The figure's line; REFUSED (no number) when `problems` says a side did not do its work."""
    if problems:
        print(f"  => {name}: REFUSED ({'; '.join(problems)})", flush=True)
        return {"figure": name, "refused": problems}
    ok = value <= target
    print(f"  => {name}: {value:.3f}{unit} (target <= {target}{unit}) {'OK' if ok else 'MISSED'}", flush=True)
    return {"figure": name, "value": round(value, 4), "target": target, "ok": ok}


class Instrumented(floor_replay.Patches):
    """Counts and times of the parent's reset calls and of the oracle's computations while grading."""

    def __init__(self, cache_dir):
        from grader.checks import oracle
        from grader.sandbox import zygote

        self.blocked, self.by_name, self.computed, self.keys = [], {}, 0, set()
        self._local = threading.local()
        self._undo = []
        for name in ("reset", "_finish_reset", "fresh_workdir"):
            self._wrap(zygote.Zygote, name, self._timer)
        self._wrap(oracle.Oracle, "_write", self._counter)
        self._wrap(oracle, "default_cache_dir", lambda original: lambda: Path(cache_dir))

    def _timer(self, original):
        def timed(*args, **kwargs):  # the outermost call only: fresh_workdir calls _finish_reset itself
            depth = getattr(self._local, "depth", 0)
            self._local.depth = depth + 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._local.depth = depth
                if depth == 0:
                    seconds = time.perf_counter() - started
                    self.blocked.append(seconds)
                    self.by_name.setdefault(original.__name__, []).append(seconds)
        return timed

    def _counter(self, original):
        def counted(oracle_self, key, value):
            self.computed += 1
            self.keys.add(key)
            return original(oracle_self, key, value)
        return counted

    @classmethod
    def merged(cls):
        """An empty record that `add` fills from several grading runs (no wrapping of its own)."""
        merged = cls.__new__(cls)
        merged.blocked, merged.by_name, merged.computed, merged.keys = [], {}, 0, set()
        return merged

    def add(self, other):
        self.blocked += other.blocked
        for name, seconds in other.by_name.items():
            self.by_name.setdefault(name, []).extend(seconds)
        self.computed += other.computed
        self.keys |= other.keys


def grade(folder, assignment, out, workers, cache_dir, **options):
    """(seconds, Instrumented, gradebook rows) of `grader grade` run in this process; `options` go
    to commands.grade (fork_server, rubric_file, status_columns)."""
    from grader import commands

    probe = Instrumented(cache_dir)
    started = time.perf_counter()
    try:
        commands.grade(paths=[str(folder)], assignment=assignment, out_dir=str(out), workers=workers,
                       echo=lambda *a, **k: None, progress=False, **options)
    finally:
        seconds = time.perf_counter() - started
        probe.undo()
    return seconds, probe, read_book(out)


def read_book(out):
    with open(Path(out) / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def floor_figure(tmp, assignment, n, workers, chunk):
    """Figure 1 with the sides interleaved: the class in chunks of `chunk`, each graded (its probe
    requests recorded) and then replayed bare, so that a change of the machine's load falls on both.
    Each chunk starts new fork servers and new bare processes (each side imports torch again)."""
    from grader.sandbox import zygote

    print(f"1. {assignment}: class cost / compute floor, {workers} workers, chunks of {chunk}", flush=True)
    planned = [p for p in realistic_class.plan(assignment, n) if p.trains]
    written = realistic_class.write(Path(tmp) / f"{assignment}-floor", planned)
    print(f"  class: {len(planned)} trainable submissions ({realistic_class.proportions(planned)})")
    recorder = floor_replay.Recorder(Path(tmp) / f"{assignment}-record")
    ours = floor = 0.0
    rows, answered, expected, probes_seen, merged = [], 0, 0, [], Instrumented.merged()
    try:
        for first in range(0, len(written), chunk):
            part = [path for path, _ in written[first:first + chunk]]
            folder = Path(tmp) / f"{assignment}-floor-{first}"
            folder.mkdir()
            for path in part:
                shutil.copyfile(path, folder / path.name)
            seconds, probe, book = grade(folder, assignment, Path(tmp) / f"{assignment}-out-{first}", workers,
                                         Path(tmp) / f"{assignment}-expected")
            merged.add(probe)
            last = first + chunk >= len(written)
            if last:
                probes_seen = reset_and_oracle(merged, len(written), workers)
            zygote.close_all()
            paths = [folder / path.name for path in part]
            bare_seconds, bare_answered = floor_replay.bare(paths, assignment, workers, recorder.save(paths))
            ours, floor, answered = ours + seconds, floor + bare_seconds, answered + bare_answered
            expected += recorder.answered(paths)
            rows += book
            print(f"  submissions {first}-{first + len(part) - 1}: grader {seconds:.1f} s, bare {bare_seconds:.1f} s "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        recorder.undo()
    problems = []
    if len(rows) != len(written):
        problems.append(f"the grader's gradebooks hold {len(rows)} of {len(written)} rows")
    if not expected or answered < 0.98 * expected:
        problems.append(f"the bare side answered {answered} of the {expected} probes the grader's children answered")
    print(f"  probes answered: grader's children {expected}, bare {answered}; grader {ours:.1f} s, bare {floor:.1f} s")
    return [figure(f"{assignment} class / floor", ours / floor if floor else 0, TARGETS["floor"], problems),
            *probes_seen]


def reset_and_oracle(probe, count, workers):
    from grader.sandbox import zygote

    print("3. fork server reset: parent blocked per submission (reset + _finish_reset + fresh_workdir)")
    per = sum(probe.blocked) / count if count else 0
    problems = [] if probe.blocked else ["no reset was timed: the fork server did not run"]
    for name, seconds in sorted(probe.by_name.items()):
        print(f"  {name}: {len(seconds)} calls, median {statistics.median(seconds) * 1000:.1f} ms, "
              f"max {max(seconds) * 1000:.1f} ms, total {sum(seconds):.2f} s")
    zygote_side = []
    for z in list(zygote._POOL.values()):
        if z.child is None:
            continue
        z._finish_reset()  # the last submission's verdict, else reset() returns at once and this times nothing
        started = time.perf_counter()
        z.reset()
        z._finish_reset()
        zygote_side.append(time.perf_counter() - started)
    if zygote_side:
        print(f"  a reset of an idle zygote, awaited at once (round trip): {', '.join(f'{s * 1000:.1f}' for s in zygote_side)} ms")
    out = [figure("parent blocked by reset, ms a submission", per * 1000, TARGETS["reset_ms"], problems, " ms")]
    print("5. oracle: reference computations in the batch / distinct requests")
    problems = [] if probe.keys else ["the oracle computed nothing (no check asked for expected values)"]
    print(f"  {probe.computed} computations, {len(probe.keys)} distinct, {count} submissions, {workers} workers")
    out.append(figure("oracle computations / distinct", probe.computed / max(1, len(probe.keys)),
                      TARGETS["oracle"], problems))
    return out


def dups_figure(tmp, assignment, n, workers):
    print(f"4. {assignment}: a class with 10 % identical copies / the same class without", flush=True)
    planned = [p for p in realistic_class.plan(assignment, n, seed=7) if p.trains]
    times, books, sizes = {}, {}, {}
    for label, share in (("unique", 0.0), ("copies", 0.10), ("distinct", 0.10)):
        folder = Path(tmp) / f"dups-{label}"
        written = realistic_class.write(folder, planned, duplicates=share)
        if label == "distinct":  # the copies class without its copies: what they add over it is their own cost
            seen = set()
            for path, item in written:
                if item.text in seen:
                    path.unlink()
                seen.add(item.text)
        sizes[label] = sum(1 for _ in folder.iterdir())
        times[label], _, books[label] = grade(folder, assignment, Path(tmp) / f"dups-out-{label}", workers,
                                              Path(tmp) / f"dups-expected-{label}")  # each side from an empty cache
    problems = [f"{k} graded {len(v)} of {sizes[k]}" for k, v in books.items() if len(v) != sizes[k]]
    print(f"  unique {times['unique']:.1f} s ({sizes['unique']} files), with copies {times['copies']:.1f} s "
          f"({sizes['copies'] - sizes['distinct']} of {sizes['copies']} files copies), the distinct files alone "
          f"{times['distinct']:.1f} s ({sizes['distinct']} files)")
    if not problems:  # what the figure cannot reach: the class's fixed start-up is not copied
        print(f"  the copies cost {times['copies'] - times['distinct']:+.1f} s over the distinct files alone "
              f"({times['copies'] / times['distinct']:.3f}x): each copy is graded once, with its original")
    return [figure("10 % copies / unique", times["copies"] / times["unique"], TARGETS["dups"], problems)]


WAYS = {"1 fork": (1, True), "2 fork": (2, True), "1 fresh": (1, False), "2 fresh": (2, False)}  # workers, fork server


def grade_ways(folder, assignment, out_root, rubric_file=None, ways=tuple(WAYS)):
    """{way: gradebook rows, or why it has none} of `folder` graded each of `ways` (names of WAYS) with
    status columns, each into its own out folder, from its own empty cache and new fork servers (as a
    CLI run would)."""
    from grader.sandbox import zygote

    books = {}
    for way, (workers, fork_server) in ((w, WAYS[w]) for w in ways):
        out = Path(out_root) / way.replace(" ", "-")
        try:
            seconds, _, books[way] = grade(folder, assignment, out, workers, f"{out}-expected", fork_server=fork_server,
                                           rubric_file=rubric_file, status_columns=True)
            print(f"  {way}: {len(books[way])} rows in {seconds:.1f} s", flush=True)
        except Exception as error:  # a run that failed is refused, not a crash of the bench
            books[way] = f"failed: {type(error).__name__}: {error}"
        finally:
            zygote.close_all()
    return books


def gradebooks_figure(tmp, assignment, n):
    """Print the class's gradebooks EQUAL across WAYS, or each differing row, or REFUSED; its record."""
    print(f"6. {assignment}: the class graded {len(WAYS)} ways ({', '.join(WAYS)}), gradebooks compared", flush=True)
    planned = realistic_class.plan(assignment, n)
    realistic_class.write(Path(tmp) / f"{assignment}-books", planned)
    print(f"  class: {len(planned)} submissions ({realistic_class.proportions(planned)})")
    books = grade_ways(Path(tmp) / f"{assignment}-books", assignment, Path(tmp) / f"{assignment}-books-out")
    problems, differences = gradebooks.compare(books, len(planned))
    if problems:
        return figure(f"{assignment} gradebooks", 0, 0, problems)
    for line in differences:
        print(f"  {line}")
    verdict = f"DIFFER in {len(differences)} rows" if differences else "EQUAL"
    print(f"  => {assignment} gradebooks: {verdict} ({len(planned)} rows, {len(WAYS)} ways)", flush=True)
    return {"figure": f"{assignment} gradebooks", "equal": not differences, "differences": differences}

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="class size (the issue's target: 300)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=50, help="figure 1: submissions graded, then replayed bare, in turn")
    parser.add_argument("--assignments", nargs="*", default=["lab07_convnets", "lab11_fashion_cnn"])
    parser.add_argument("--only", nargs="*", choices=["floor", "dups", "gradebooks"],
                        default=["floor", "dups", "gradebooks"])
    parser.add_argument("--dups-n", type=int, help="figure 4's class size (default: --n)")
    parser.add_argument("--gradebooks-n", type=int, help="figure 6's class size (default: --n; it grades 4 times)")
    parser.add_argument("--json")
    args = parser.parse_args()
    figures, started, load = [], time.time(), LoadSampler()
    with tempfile.TemporaryDirectory(prefix="grader-realistic-") as tmp:
        for assignment in args.assignments:
            if "floor" in args.only:
                figures += floor_figure(tmp, assignment, args.n, args.workers, args.chunk)
            if "gradebooks" in args.only:
                figures.append(gradebooks_figure(tmp, assignment, args.gradebooks_n or args.n))
        if "dups" in args.only:
            figures += dups_figure(tmp, args.assignments[0], args.dups_n or args.n, args.workers)
    print(f"\n{load.summary()}; {time.time() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
