"""Time `grader similarity` on a generated class of 300 lab11 submissions (pairwise, one process).

    .venv/bin/python bench/similarity.py                 # 300 submissions, 10 planted near-copy pairs
    .venv/bin/python bench/similarity.py --size 100 --archive 100

The class is tests/similarity_classes.big_class: each submission the real template filled in with
one of three independent solutions a slot, at random (some slots left undone), and `planted`
pairs of a submission and its disguised copy (renamed, recommented, functions reordered,
reformatted). The figure is printed only when the work was done: similarity.csv holds every
pair, each planted pair is flagged with its side-by-side page, and no other pair scores as high
as the lowest planted one.
"""

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import similarity_classes as gen  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="submissions this term")
    parser.add_argument("--planted", type=int, default=10, help="near-copy pairs among them")
    parser.add_argument("--archive", type=int, default=0, help="submissions of a past term")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        planted = gen.big_class(tmp / "term", args.size, args.planted, seed=1)
        extra = []
        if args.archive:
            gen.big_class(tmp / "past", args.archive, 0, seed=2)
            extra = ["--archive", str(tmp / "past")]
        command = [sys.executable, "-m", "grader", "similarity", str(tmp / "term"), "--assignment", gen.ASSIGNMENT,
                   "--out", str(tmp / "out"), *extra]
        started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        problem = check(done, tmp / "out", args.size, args.archive, planted)
        if problem:
            print(f"NOT MEASURED: {problem}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}", file=sys.stderr)
            return 1
        pairs = args.size * (args.size - 1) // 2 + args.size * args.archive
        print(next(line for line in done.stdout.splitlines() if line.startswith("Compared")))
        print(f"similarity of {args.size} submissions" + (f" and {args.archive} of a past term" if args.archive else "")
              + f": {seconds:.1f} s wall, {cpu:.1f} s CPU, load average {os.getloadavg()[0]:.1f} "
              f"({pairs:,} pairs, {args.planted} planted near-copies all flagged first)")
    return 0


def check(done, out, size, archive, planted):
    """'' when the run did all of its work, else what is missing."""
    if done.returncode != 0:
        return f"exit status {done.returncode}"
    with open(out / "similarity.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != size * (size - 1) // 2 + size * archive:
        return f"similarity.csv has {len(rows)} pairs"
    scores = {frozenset((r["id_a"], r["id_b"])): float(r["similarity"]) for r in rows}
    wanted = [scores.get(frozenset(p), -1) for p in planted]
    lowest = min(wanted, default=1)
    others = [v for k, v in scores.items() if k not in {frozenset(p) for p in planted}]
    if lowest < 0.5 or (others and max(others) >= lowest):
        return f"a planted pair is not flagged above every other pair (lowest {lowest}, best other {max(others)})"
    pages = list((out / "_similarity").glob("pair-*.html"))
    if len(pages) < len(planted):
        return f"only {len(pages)} side-by-side pages"
    return ""


if __name__ == "__main__":
    sys.exit(main())
