"""Per-submission cost of the fork server's second-round isolation (issue 10), before and after.

"Before" is the tree of the commit just before the isolation landed (a git worktree of
BEFORE_REV), "after" is this tree. In each, one driver process grades the same small lab07
submission N times with the fork server under bwrap (three quick checks: the submission's own
work is small, so the fixed costs per submission dominate: fork, seccomp filter, the zygote's
self-check, reset and leftover scan, tmpfs work folder). The first grade (zygote start) is left
out; the median of the others is the per-submission time. Trees alternate, three rounds each.
Refuses to print a ratio unless every grade on both sides had full marks.

    .venv/bin/python bench/isolation_cost.py [--n 15] [--rounds 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REV = "389b294"  # the parent of d9c6676, which added seccomp, the zygote self-check and the clean reset
CHECKS = ("conv_shapes", "convnet_shape", "intermediate_size")
DRIVER = r"""
import json, sys, time
from pathlib import Path
import grader
from grader import rubric as rubrics
from grader.grading import Options, grade_file
from grader.sandbox import zygote
rubric = rubrics.load("lab07_convnets")
path = Path(sys.argv[1]); n = int(sys.argv[2]); checks = tuple(sys.argv[3].split(","))
times, scores = [], []
for i in range(n):
    started = time.perf_counter()
    result = grade_file(path, rubric, Options(sandbox="bwrap", fork_server=True, only=checks))
    times.append(time.perf_counter() - started)
    scores.append([result.score, result.max_score])
zygote.close_all()
print(json.dumps({"package": grader.__file__, "times": times, "scores": scores}))
"""


def run_tree(tree, submission, n):
    done = subprocess.run([sys.executable, "-c", DRIVER, str(submission), str(n), ",".join(CHECKS)],
                          cwd=tree, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"the driver failed in {tree}:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if not data["package"].startswith(str(tree)):
        sys.exit(f"the driver in {tree} imported the grader from {data['package']}")
    failed = [s for s in data["scores"] if s[0] != s[1] or s[1] == 0]
    if failed:
        sys.exit(f"refusing to report: grades in {tree} were not full marks: {failed[:3]}")
    return data["times"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=15, help="grades per driver run (the first is left out)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as scratch:
        before = Path(scratch) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE_REV],
                       check=True, capture_output=True)
        try:
            submission = Path(scratch) / "lab07_convnets.py"
            submission.write_text((ROOT / "reference_solutions" / "lab07_convnets.py").read_text())
            per = {"before": [], "after": []}
            for round_ in range(args.rounds):
                order = (("before", before), ("after", ROOT))
                for side, tree in order if round_ % 2 == 0 else order[::-1]:
                    times = run_tree(tree, submission, args.n)[1:]
                    per[side] += times
                    print(f"round {round_ + 1} {side:<6} median {statistics.median(times) * 1000:7.1f} ms "
                          f"a submission ({len(times)} grades)", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    b, a = statistics.median(per["before"]), statistics.median(per["after"])
    print(f"per-submission, fork server, bwrap, {len(CHECKS)} quick checks: before {b * 1000:.1f} ms, "
          f"after {a * 1000:.1f} ms, ratio after/before {a / b:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
