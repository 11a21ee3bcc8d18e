"""Time a full `grader check` of a reference under the bwrap and process backends, interleaved.

Prints each run, the medians and the ratio bwrap/process (target: at most 1.10). Absolute
seconds are noisy on a shared machine; runs alternate so that load affects both alike.

    .venv/bin/python bench/sandbox_overhead.py [--assignment lab07_convnets] [--runs 3]
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_check(assignment, sandbox):
    command = [str(Path(sys.executable).with_name("grader")), "check",
               str(ROOT / "reference_solutions" / f"{assignment}.py"), "--sandbox", sandbox]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"grader check failed under {sandbox}:\n{done.stdout}\n{done.stderr}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="lab07_convnets")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = {"process": [], "bwrap": []}
    for run in range(args.runs):
        for sandbox in ("process", "bwrap") if run % 2 == 0 else ("bwrap", "process"):
            times[sandbox].append(timed_check(args.assignment, sandbox))
            print(f"run {run + 1} {sandbox:<8} {times[sandbox][-1]:6.2f} s", flush=True)
    process, bwrap = statistics.median(times["process"]), statistics.median(times["bwrap"])
    print(f"median process {process:.2f} s, bwrap {bwrap:.2f} s, ratio bwrap/process {bwrap / process:.3f} "
          f"(target <= 1.10)")


if __name__ == "__main__":
    main()
