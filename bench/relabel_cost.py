"""What the secret relabelling of training checks (grader/relabel.py) costs honest submissions.

Grades each assignment's reference solution on every check that the relabelling touches, with
the relabelling and without it (the test-only identity switch), on the rubric's seed and
`--seeds` more, and prints the points and the measured value of each pair. Run from the
repository root: `.venv/bin/python bench/relabel_cost.py [--seeds N] [--assignments a,b]`.
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import relabel, rubric as rubrics  # noqa: E402
from grader.grading import Options, grade_file  # noqa: E402

TOUCHED = {"min_accuracy", "train_history", "lr_sweep"}
ASSIGNMENTS = ("lab07_convnets", "lab11_fashion_cnn", "a3_fashion_classifier")  # cnn_foundations has none


def grade(reference, rubric, check, seed, identity):
    relabel._IDENTITY_FOR_TESTS = identity
    trial = dataclasses.replace(rubric, checks=(dataclasses.replace(check, seed=seed),))
    [result] = grade_file(reference, trial, Options()).checks
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=0, help="seeds beyond the rubric's own")
    parser.add_argument("--assignments", default=",".join(ASSIGNMENTS))
    args = parser.parse_args()
    lost = 0.0
    print("| assignment | check | seed | points relabelled | points plain | value relabelled | value plain |")
    print("|---|---|---|---|---|---|---|")
    for name in args.assignments.split(","):
        rubric = rubrics.load(name)
        reference = ROOT / "reference_solutions" / f"{name}.py"
        for check in (c for c in rubric.checks if c.kind in TOUCHED):
            for seed in range(check.seed, check.seed + args.seeds + 1):
                started = time.monotonic()
                renamed, plain = (grade(reference, rubric, check, seed, identity) for identity in (False, True))
                lost += plain.points - renamed.points
                value = [f"{r.value:.4f}" if r.value is not None else "-" for r in (renamed, plain)]
                print(f"| {name} | {check.id} | {seed} | {renamed.points:g}/{check.points:g} | "
                      f"{plain.points:g}/{check.points:g} | {value[0]} | {value[1]} |"
                      f"  <!-- {time.monotonic() - started:.0f} s -->", flush=True)
    print(f"\npoints lost to the relabelling in all: {lost:g}")


if __name__ == "__main__":
    main()
