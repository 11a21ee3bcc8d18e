"""Calibrate the thresholds of a rubric on its reference solution over several seeds.

Every check whose kind has a threshold direction (`check_kind(..., threshold_direction=...)`:
"at_least" for min_accuracy, "at_most" for fdn_max_reconstruction_error) is run on the reference
with K different seeds through the real grading pipeline (sandbox included), and the value it
measures (`Verdict(value=...)`) is recorded. The recommended threshold lies a margin beyond the
worst seed, rounded outwards:

- at_least (higher is better): worst = the lowest value; recommended = floor((worst - 0.03) * 100) / 100,
  an absolute margin of 3 points of accuracy, rounded down to 0.01.
- at_most (lower is better): worst = the highest value; recommended = ceil((worst + 0.5 worst) * 200) / 200,
  a margin of 50% of the worst value, rounded up to 0.005. An error such as a reconstruction MSE
  has no natural scale and its spread over seeds grows with its size and is skewed (the
  reference's autoencoder error over 10 seeds ran from 0.018 to 0.035, the worst of the first 5
  seeds being 0.025), so the margin is relative.

The record (data source, time, versions) is written beside the rubric. A rubric with no such check
is refused: nothing is run and no record is written.
"""

import dataclasses
import datetime
import math
import platform
import time
from pathlib import Path

import yaml

from grader.checks.registry import KINDS, THRESHOLD_PARAM
from grader.errors import GraderError

MARGIN = 0.03  # at_least: absolute margin below the worst seed (an accuracy in 0..1)
RELATIVE_MARGIN = 0.5  # at_most: margin above the worst seed, as a share of it
STEP = {"at_least": 0.01, "at_most": 0.005}  # what the recommendation is rounded to (outwards)
VALUE_KEYS = {"min_accuracy": "accuracies"}  # the key of the measured values (default "values")
BUDGET_KEYS = ("epochs", "train_size", "test_size", "batch_size", "lr")


# ---- the arithmetic (pure) ------------------------------------------------------------------------

def threshold_checks(rubric):
    """[(check, kind)] for every check of `rubric` whose kind has a threshold direction."""
    return [(c, KINDS[c.kind]) for c in rubric.checks if c.kind in KINDS and KINDS[c.kind].threshold_direction]


def margin_for(direction, worst, margin=None):
    """The margin left beyond the worst seed: `margin` when given, else MARGIN (at_least) or
    RELATIVE_MARGIN times the worst value (at_most)."""
    if margin is not None:
        return margin
    return MARGIN if direction == "at_least" else RELATIVE_MARGIN * abs(worst)


def recommend(direction, values, margin=None):
    """(worst, margin, recommended threshold) for measured `values` in `direction`:
    at_least: floor((min - margin) * 100) / 100; at_most: ceil((max + margin) * 200) / 200.
    (A tiny tolerance keeps an exact multiple of the step from being rounded a step further.)"""
    if direction not in STEP:
        raise ValueError(f"unknown threshold direction {direction!r}")
    if not values:
        raise ValueError("no measured values to recommend a threshold from")
    if direction == "at_least":
        worst = min(values)
        used = margin_for(direction, worst, margin)
        return worst, used, math.floor((worst - used) * 100 + 1e-9) / 100
    worst = max(values)
    used = margin_for(direction, worst, margin)
    return worst, used, math.ceil((worst + used) * 200 - 1e-9) / 200


def _rounded(value):
    return float(f"{value:.4g}")


def check_record(check, kind, values, seconds, margin=None):
    """The calibration record of one check from the `values` its kind measured over seeds 0..K-1."""
    direction = kind.threshold_direction
    values = [_rounded(v) for v in values]
    worst, used, recommended = recommend(direction, values, margin)
    record = {"check": check.id, "kind": kind.name, "direction": direction, "seeds": list(range(len(values))),
              VALUE_KEYS.get(kind.name, "values"): values,
              "min": min(values), "mean": _rounded(sum(values) / len(values)), "max": max(values),
              "seconds_per_seed": seconds, "margin": _rounded(used)}
    if direction == "at_most" and margin is None:
        record["relative_margin"] = RELATIVE_MARGIN
    record.update({"recommended_threshold": recommended, "threshold_in_rubric": check.params[THRESHOLD_PARAM],
                   "budget": {k: check.params[k] for k in BUDGET_KEYS if k in check.params}})
    return record


def within_recommendation(entry):
    """Whether the rubric's threshold is at the recommended one or more lenient than it."""
    rubric, recommended = entry["threshold_in_rubric"], entry["recommended_threshold"]
    return rubric <= recommended if entry.get("direction", "at_least") == "at_least" else rubric >= recommended


def summary_line(entry):
    """One line for the terminal about a check's record."""
    side = "at least" if entry.get("direction", "at_least") == "at_least" else "at most"
    note = "" if within_recommendation(entry) else "; the rubric's threshold is STRICTER than recommended"
    return (f"  {entry['check']} ({side}): min {entry['min']:.4g} mean {entry['mean']:.4g} max {entry['max']:.4g}; "
            f"recommended threshold {entry['recommended_threshold']} (rubric has {entry['threshold_in_rubric']}){note}")


# ---- running the reference --------------------------------------------------------------------------

def calibrate(rubric, reference, seeds=5, margin=None, options=None):
    """Return the calibration record (a dict) of every check of `rubric` whose kind has a threshold
    direction; `margin` overrides the per-direction default. Raises GraderError, having run
    nothing, when there is no such check."""
    checks = threshold_checks(rubric)
    if not checks:
        raise GraderError(f"{rubric.assignment} has no check with a threshold to calibrate (no check's kind has a "
                          f"threshold direction); nothing was run and no calibration record was written")
    import torch

    from grader import data as datasets
    from grader.grading import Options

    options = options or Options()
    records = []
    for check, kind in checks:
        values, seconds = _measure(rubric, reference, check, seeds, options)
        records.append(check_record(check, kind, values, seconds, margin))
    split = datasets.load(rubric.dataset, options.data_dir) if rubric.dataset else None
    return {
        "assignment": rubric.assignment, "date": datetime.date.today().isoformat(),
        "data_source": split.source if split else None, "torch": str(torch.__version__),
        "device": f"cpu ({platform.machine()}, {options.threads} thread(s) a child)",
        "sandbox": options.sandbox, "rubric_sha256": rubric.digest, "checks": records,
    }


def _measure(rubric, reference, check, seeds, options):
    """The values `check` measures on the reference with seeds 0..seeds-1, and the seconds each took."""
    from grader.grading import grade_file

    values, seconds = [], []
    for seed in range(seeds):
        trial = dataclasses.replace(check, seed=seed)
        started = time.monotonic()
        result = grade_file(reference, dataclasses.replace(rubric, checks=(trial,)), options)
        seconds.append(round(time.monotonic() - started, 2))
        outcome = result.checks[0]
        if outcome.value is None:
            raise RuntimeError(f"the reference measured nothing on check {check.id} with seed {seed} "
                               f"({outcome.status}): {outcome.message}")
        values.append(outcome.value)
    return values, seconds


# ---- the record file --------------------------------------------------------------------------------

def record_path(rubric):
    return Path(rubric.path).with_name(f"{rubric.assignment}.calibration.yaml")


HEADER = {
    "at_least": "# at_least (higher is better): recommended_threshold = worst (lowest) seed minus the margin,\n"
                "#   rounded down to 0.01.\n",
    "at_most": "# at_most (lower is better): recommended_threshold = worst (highest) seed plus the margin\n"
               "#   (relative_margin times the worst seed), rounded up to 0.005.\n",
}


def write_record(rubric, record):
    """Write `record` beside the rubric and return its path; a record without checks is refused
    (an existing record is left as it is)."""
    if not record.get("checks"):
        raise GraderError(f"no check of {rubric.assignment} was calibrated; {record_path(rubric).name} was not written")
    directions = [d for d in HEADER if any(c.get("direction") == d for c in record["checks"])]
    header = ("# Written by `grader calibrate`: what the reference solution measures over several seeds, for each\n"
              "# check with a threshold.\n" + "".join(HEADER[d] for d in directions))
    record_path(rubric).write_text(header + yaml.safe_dump(record, sort_keys=False))
    return record_path(rubric)
