"""Calibrate the accuracy thresholds of a rubric on its reference solution over several seeds.

Each min_accuracy check is run on the reference with K different seeds through the real grading
pipeline (sandbox included); the recommended threshold is the worst seed minus a margin, rounded
down. The record (data source, time, versions) is written beside the rubric.
"""

import dataclasses
import datetime
import math
import platform
import time
from pathlib import Path

import torch
import yaml

from grader import data as datasets
from grader.grading import Options, grade_file

MARGIN = 0.03


def calibrate(rubric, reference, seeds=5, margin=MARGIN, options=Options()):
    """Return the calibration record (a dict) of every min_accuracy check of `rubric`."""
    records = []
    for check in (c for c in rubric.checks if c.kind == "min_accuracy"):
        accuracies, seconds = [], []
        for seed in range(seeds):
            trial = dataclasses.replace(check, seed=seed)
            started = time.monotonic()
            result = grade_file(reference, dataclasses.replace(rubric, checks=(trial,)), options)
            seconds.append(round(time.monotonic() - started, 2))
            outcome = result.checks[0]
            if outcome.value is None:
                raise RuntimeError(f"the reference failed check {check.id} with seed {seed}: {outcome.message}")
            accuracies.append(round(outcome.value, 4))
        worst = min(accuracies)
        records.append({
            "check": check.id, "seeds": list(range(seeds)), "accuracies": accuracies,
            "min": worst, "mean": round(sum(accuracies) / seeds, 4), "max": max(accuracies),
            "seconds_per_seed": seconds, "margin": margin,
            "recommended_threshold": math.floor((worst - margin) * 100) / 100,
            "threshold_in_rubric": check.params["threshold"],
            "budget": {k: check.params[k] for k in ("epochs", "train_size", "test_size", "batch_size")},
        })
    split = datasets.load(rubric.dataset, options.data_dir) if rubric.dataset else None
    return {
        "assignment": rubric.assignment, "date": datetime.date.today().isoformat(),
        "data_source": split.source if split else None, "torch": str(torch.__version__),
        "device": f"cpu ({platform.machine()}, {options.threads} thread(s) a child)",
        "sandbox": options.sandbox, "rubric_sha256": rubric.digest, "checks": records,
    }


def record_path(rubric):
    return Path(rubric.path).with_name(f"{rubric.assignment}.calibration.yaml")


def write_record(rubric, record):
    header = ("# Written by `grader calibrate`: the reference solution's accuracy over several seeds.\n"
              "# recommended_threshold = worst seed minus the margin, rounded down to 0.01.\n")
    record_path(rubric).write_text(header + yaml.safe_dump(record, sort_keys=False))
    return record_path(rubric)
