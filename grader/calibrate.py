"""Calibrate the thresholds of a rubric on its panels of correct and broken solutions.

Every check whose kind has a threshold direction (`check_kind(..., threshold_direction=...)`:
"at_least" for an accuracy, "at_most" for a reconstruction error) is graded, through the real
pipeline (sandbox included), on every variant of the assignment's panels (grader/panels.py: the
reference and plausible correct set-ups; known-broken ones) with seeds 0..K-1. Per variant the
record keeps the values, their mean, min and max, the standard error of one measurement and the
seconds; and each variant's full grade (which checks it failed).

The standard error (SE) of one measurement on the held-out set: sqrt(p (1 - p) / n_test) for an
accuracy p on n_test images; for any other metric the standard deviation over the seeds (which
holds the held-out sampling and the training's own spread).

Separation (at_least; at_most is its mirror): the correct bound is the lowest, over the correct
variants, of min(worst seed, mean - 2 SE); the broken bound the highest, over the broken variants
whose declared mistake includes this check, of max(best seed, mean + 2 SE). The gap is open when
broken bound < correct bound; the recommended threshold is its midpoint rounded down to 0.01
(up to 0.005 for at_most), kept inside the gap. Where no gap is open the budget is too small: the
record says so, recommends a larger one, and `grader verify` fails.
"""

import datetime
import math
import platform
import statistics

import yaml

from grader.checks.registry import KINDS, THRESHOLD_PARAM
from grader.errors import GraderError

Z = 2  # standard errors between a variant's mean and the threshold
STEP = {"at_least": 0.01, "at_most": 0.005}  # what the recommendation is rounded to (towards the correct side)
ACCURACY_KINDS = ("min_accuracy",)  # kinds whose value is an accuracy on `test_size` held-out images
BUDGET_KEYS = ("epochs", "train_size", "validation", "test_size", "batch_size", "lr", "train_kwargs")


# ---- the arithmetic (pure) ------------------------------------------------------------------------

def threshold_checks(rubric):
    """[(check, kind)] for every check of `rubric` whose kind has a threshold direction."""
    return [(c, KINDS[c.kind]) for c in rubric.checks if c.kind in KINDS and KINDS[c.kind].threshold_direction]


def _rounded(value):
    return float(f"{value:.4g}")


def standard_error(values, test_size=None):
    """The SE of one measurement: binomial on `test_size` images for an accuracy, else the
    standard deviation over seeds (0 with one value)."""
    if test_size:
        mean = statistics.fmean(values)
        return math.sqrt(max(mean * (1 - mean), 0.0) / test_size)
    return statistics.stdev(values) if len(values) > 1 else 0.0


def variant_stats(values, seconds, test_size=None):
    """mean/min/max/se of the measured values (None: the seed measured nothing) and the seconds."""
    measured = [v for v in values if v is not None]
    stats = {"values": [None if v is None else _rounded(v) for v in values], "seconds": seconds}
    if measured:
        stats.update(mean=_rounded(statistics.fmean(measured)), min=_rounded(min(measured)),
                     max=_rounded(max(measured)), se=_rounded(standard_error(measured, test_size)))
    return stats


def bounds(direction, correct, broken):
    """(correct bound, broken bound) from the variants' stats (dicts of variant_stats). The correct
    bound is None when a correct variant measured nothing on some seed (it failed there); the
    broken bound is None when no broken variant measured anything (they fail at any threshold)."""
    at_least = direction == "at_least"
    if not correct or any(None in c["values"] for c in correct):
        correct_bound = None
    elif at_least:
        correct_bound = min(min(c["min"], c["mean"] - Z * c["se"]) for c in correct)
    else:
        correct_bound = max(max(c["max"], c["mean"] + Z * c["se"]) for c in correct)
    measured = [b for b in broken if "mean" in b]
    if not measured:
        broken_bound = None
    elif at_least:
        broken_bound = max(max(b["max"], b["mean"] + Z * b["se"]) for b in measured)
    else:
        broken_bound = min(min(b["min"], b["mean"] - Z * b["se"]) for b in measured)
    return _round_bound(correct_bound), _round_bound(broken_bound)


def _round_bound(value):
    return None if value is None else round(value, 4)


def is_open(direction, correct_bound, broken_bound):
    """Whether a threshold fits between the broken bound and the correct bound."""
    if correct_bound is None:
        return False
    if broken_bound is None:
        return True  # every broken variant measured nothing: they fail at any threshold
    return broken_bound < correct_bound if direction == "at_least" else correct_bound < broken_bound


def in_gap(direction, threshold, correct_bound, broken_bound):
    """Whether `threshold` separates: every correct variant clears it, no broken one does."""
    if not is_open(direction, correct_bound, broken_bound):
        return False
    if direction == "at_least":
        return threshold <= correct_bound and (broken_bound is None or threshold > broken_bound)
    return threshold >= correct_bound and (broken_bound is None or threshold < broken_bound)


def recommend(direction, correct_bound, broken_bound):
    """The midpoint of an open gap, rounded towards the broken side to STEP but kept inside (to
    0.001 where the step does not fit); None when the gap is closed."""
    if direction not in STEP:
        raise ValueError(f"unknown threshold direction {direction!r}")
    if not is_open(direction, correct_bound, broken_bound):
        return None
    if broken_bound is None:
        return correct_bound
    middle = (correct_bound + broken_bound) / 2
    for step in (STEP[direction], 0.001):
        scaled = middle / step
        value = round((math.floor(scaled + 1e-9) if direction == "at_least" else math.ceil(scaled - 1e-9)) * step, 4)
        if in_gap(direction, value, correct_bound, broken_bound):
            return value
    return round(middle, 4)


def larger_budget(check):
    """The budget to try when no gap opens: twice the epochs (the training images kept)."""
    budget = {k: check.params[k] for k in ("epochs", "train_size") if k in check.params}
    if "epochs" in budget:
        budget["epochs"] *= 2
    elif "train_size" in budget:
        budget["train_size"] *= 2
    return budget


def check_record(check, kind, results):
    """The record of one check from `results`: [(variant, {'values': [...], 'seconds': [...]})]."""
    direction = kind.threshold_direction
    test_size = check.params.get("test_size") if kind.name in ACCURACY_KINDS else None
    panels = {"correct": [], "broken": []}
    for variant, measured in results:
        if variant.panel == "broken" and check.id not in variant.fails:
            continue  # its mistake is caught by another check
        stats = variant_stats(measured["values"], measured["seconds"], test_size)
        panels[variant.panel].append({"variant": variant.name, **stats})
    correct_bound, broken_bound = bounds(direction, panels["correct"], panels["broken"])
    record = {"check": check.id, "kind": kind.name, "direction": direction,
              "seeds": list(range(len(results[0][1]["values"]))) if results else [],
              "se": "binomial, test_size" if test_size else "standard deviation over seeds",
              "budget": {k: check.params[k] for k in BUDGET_KEYS if k in check.params},
              "correct": panels["correct"], "broken": panels["broken"],
              "correct_bound": correct_bound, "broken_bound": broken_bound,
              "gap": is_open(direction, correct_bound, broken_bound),
              "recommended_threshold": recommend(direction, correct_bound, broken_bound),
              "threshold_in_rubric": check.params[THRESHOLD_PARAM]}
    if not record["gap"]:
        record["recommended_budget"] = larger_budget(check)
    return record


def summary_line(entry):
    """One or two lines for the terminal about a check's record."""
    side = "at least" if entry["direction"] == "at_least" else "at most"
    lines = [f"  {entry['check']} ({side}): " + ", ".join(
        f"{v['variant']} {v.get('mean', float('nan')):.4g}" for v in entry["correct"] + entry["broken"])]
    if entry["gap"]:
        ok = in_gap(entry["direction"], entry["threshold_in_rubric"], entry["correct_bound"], entry["broken_bound"])
        lines.append(f"    gap: broken bound {entry['broken_bound']} .. correct bound {entry['correct_bound']}; "
                     f"recommended threshold {entry['recommended_threshold']} (rubric has "
                     f"{entry['threshold_in_rubric']}{'' if ok else ', OUTSIDE the gap'})")
    else:
        lines.append(f"    NO GAP between broken ({entry['broken_bound']}) and correct ({entry['correct_bound']}) "
                     f"variants: the budget is too small; try {entry['recommended_budget']} and calibrate again")
    return "\n".join(lines)


# ---- running the panels -----------------------------------------------------------------------------

def calibrate(rubric, reference, seeds=3, options=None, echo=None):
    """The calibration record (a dict) of every threshold check of `rubric` over its panels.
    Raises GraderError, having run nothing, when there is no such check."""
    from grader import panels

    checks = threshold_checks(rubric)
    if not checks:
        raise GraderError(f"{rubric.assignment} has no check with a threshold to calibrate (no check's kind has a "
                          f"threshold direction); nothing was run and no calibration record was written")
    import torch

    from grader import data as datasets
    from grader.grading import Options

    options = options or Options()
    graded = []
    for variant in panels.variants(rubric, reference):
        graded.append((variant, panels.grade_variant(variant, rubric, [c for c, _ in checks], seeds, options)))
        if echo:
            echo(f"  {variant.panel}/{variant.name}: {graded[-1][1]['values']} "
                 f"(full grade {graded[-1][1]['full']['seconds']} s, failed {graded[-1][1]['full']['failed']})")
    records = [check_record(check, kind, [(v, {"values": g["values"][check.id], "seconds": g["seconds"][check.id]})
                                          for v, g in graded]) for check, kind in checks]
    full = [{"variant": v.name, "panel": v.panel, "fails_declared": list(v.fails), **g["full"],
             "values": {k: [None if x is None else _rounded(x) for x in xs] for k, xs in g["values"].items()}}
            for v, g in graded]  # values: also of a broken variant whose mistake another check catches
    split = datasets.load(rubric.dataset, options.data_dir) if rubric.dataset else None
    return {
        "assignment": rubric.assignment, "date": datetime.date.today().isoformat(),
        "data_source": split.source if split else None, "torch": str(torch.__version__),
        "device": f"cpu ({platform.machine()}, {options.threads} thread(s) a child)",
        "sandbox": options.sandbox, "rubric_sha256": rubric.digest, "checks": records, "variants": full,
    }


# ---- the record file --------------------------------------------------------------------------------

def record_path(rubric):
    from pathlib import Path

    return Path(rubric.path).with_name(f"{rubric.assignment}.calibration.yaml")


HEADER = ("# Written by `grader calibrate`: each threshold check graded on the panels of rubric/panels/<assignment>/\n"
          "# (correct and broken variants) over several seeds, through the real pipeline. se: the standard error\n"
          "# of one measurement (binomial on test_size for an accuracy, else the spread over seeds). The gap lies\n"
          "# between broken_bound (the best broken variant, best seed or mean + 2 se) and correct_bound (the worst\n"
          "# correct variant, worst seed or mean - 2 se); `grader verify` fails unless the rubric's threshold is in\n"
          "# it. variants: each variant's full grade (seconds, the checks it failed, the ones it declares).\n")


def write_record(rubric, record):
    """Write `record` beside the rubric and return its path; a record without checks is refused
    (an existing record is left as it is)."""
    if not record.get("checks"):
        raise GraderError(f"no check of {rubric.assignment} was calibrated; {record_path(rubric).name} was not written")
    record_path(rubric).write_text(HEADER + yaml.safe_dump(record, sort_keys=False))
    return record_path(rubric)
