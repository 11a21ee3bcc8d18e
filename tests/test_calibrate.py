"""Thresholds proven on panels: the registry's `threshold_direction`, the separation arithmetic of
grader.calibrate for both directions, the panels' layout (grader.panels), the records it writes
(or refuses to write), verify's findings from a record both ways, and the committed records of every
assignment (every panel variant recorded; correct ones graded in full, broken ones failing exactly
the checks of their mistake). No child process is started except in the one slow test."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from grader import calibrate as calibration
from grader import panels
from grader import rubric as rubrics
from grader.checks.registry import KINDS, Param, check_kind
from grader.errors import GraderError
from grader.verify import _calibration_findings

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("lab07_convnets", "lab11_fashion_cnn", "a3_fashion_classifier", "cnn_foundations")


def _rubric(tmp_path, assignment="lab07_convnets", keep=None):
    """A real rubric, moved to `tmp_path` (so records land there), holding the checks `keep` selects."""
    rubric = rubrics.load(assignment)
    checks = tuple(c for c in rubric.checks if keep is None or keep(c))
    return dataclasses.replace(rubric, checks=checks, path=tmp_path / f"{assignment}.yaml")


# ---- the registry ---------------------------------------------------------------------------------

def test_the_threshold_kinds_have_their_directions():
    lab07, fdn = rubrics.load("lab07_convnets"), rubrics.load("cnn_foundations")
    [(_, at_least)] = calibration.threshold_checks(lab07)
    [(_, at_most)] = calibration.threshold_checks(fdn)
    assert (at_least.threshold_direction, at_most.threshold_direction) == ("at_least", "at_most")
    assert KINDS["output_shape"].threshold_direction is None
    assert at_least.worst([0.9, 0.8, 0.95]) == 0.8 and at_most.worst([0.02, 0.04, 0.03]) == 0.04
    assert at_least.clears(0.8, 0.8) and not at_least.clears(0.79, 0.8)
    assert at_most.clears(0.05, 0.05) and not at_most.clears(0.051, 0.05)


@pytest.mark.parametrize("direction", ["above", "max", "at-least", True, 1])
def test_the_registry_refuses_a_bad_threshold_direction(direction):
    with pytest.raises(ValueError, match=r"check kind 'bad_direction': threshold_direction must be None, "
                                         r"'at_least' .* or 'at_most'"):
        check_kind("bad_direction", threshold_direction=direction, threshold=Param((float,)))
    assert "bad_direction" not in KINDS


def test_the_registry_refuses_a_direction_without_a_threshold_parameter():
    with pytest.raises(ValueError, match="needs a parameter 'threshold'"):
        check_kind("no_bound", threshold_direction="at_most", limit=Param((float,)))
    assert "no_bound" not in KINDS


# ---- the arithmetic ------------------------------------------------------------------------------------

def test_the_standard_error_of_an_accuracy_is_binomial_and_of_an_error_the_spread_over_seeds():
    assert calibration.standard_error([0.9, 0.9], test_size=1000) == pytest.approx((0.09 / 1000) ** 0.5)
    assert calibration.standard_error([0.5], test_size=100) == pytest.approx(0.05)
    assert calibration.standard_error([0.02, 0.04]) == pytest.approx(0.01414, abs=1e-5)
    assert calibration.standard_error([0.02]) == 0.0


def _stats(values, test_size=1000):
    return calibration.variant_stats(values, [1.0] * len(values), test_size)


def test_an_open_gap_at_least_recommends_its_midpoint_rounded_down():
    correct = [_stats([0.93, 0.94, 0.935]), _stats([0.70, 0.74, 0.72])]
    broken = [_stats([0.10, 0.12, 0.11]), _stats([0.20, 0.09, 0.11])]
    high, low = calibration.bounds("at_least", correct, broken)
    se = (0.72 * 0.28 / 1000) ** 0.5
    assert high == pytest.approx(0.72 - 2 * se, abs=1e-4) and high < 0.70  # 2 se below the mean, under the worst seed
    assert low == pytest.approx(0.20)  # the best broken seed
    assert calibration.is_open("at_least", high, low)
    assert calibration.recommend("at_least", high, low) == 0.44  # (0.6916 + 0.20) / 2 rounded down
    assert calibration.in_gap("at_least", 0.44, high, low) and calibration.in_gap("at_least", 0.69, high, low)
    assert not calibration.in_gap("at_least", 0.70, high, low) and not calibration.in_gap("at_least", 0.20, high, low)


def test_two_standard_errors_below_the_mean_can_be_the_correct_bound():
    # mean 0.80 on 100 images: se 0.04, so 0.72 is below the worst seed 0.79; on 10,000 images the seed
    high, _ = calibration.bounds("at_least", [_stats([0.79, 0.81], test_size=100)], [])
    assert high == pytest.approx(0.72)
    high, _ = calibration.bounds("at_least", [_stats([0.79, 0.81], test_size=10000)], [])
    assert high == pytest.approx(0.79)


def test_overlapping_panels_have_no_gap_and_ask_for_a_larger_budget(tmp_path):
    rubric = _rubric(tmp_path)
    [(check, kind)] = calibration.threshold_checks(rubric)
    correct, broken = panels.Variant("slow", "correct", Path("s.py")), panels.Variant("x", "broken", Path("x.py"),
                                                                                       (check.id,))
    entry = calibration.check_record(check, kind, [(correct, {"values": [0.30, 0.45], "seconds": [1, 1]}),
                                                   (broken, {"values": [0.35, 0.20], "seconds": [1, 1]})])
    assert entry["gap"] is False and entry["recommended_threshold"] is None
    assert entry["recommended_budget"]["epochs"] == 2 * check.params["epochs"]
    assert "NO GAP" in calibration.summary_line(entry) and "calibrate again" in calibration.summary_line(entry)


def test_at_most_mirrors_the_gap():
    correct = [_stats([0.018, 0.025, 0.021], None)]
    broken = [_stats([0.090, 0.095, 0.085], None)]
    high, low = calibration.bounds("at_most", correct, broken)
    assert high == pytest.approx(0.0213 + 2 * 0.0035, abs=1e-3)  # mean + 2 sd, above the worst seed 0.025
    assert low == pytest.approx(0.09 - 2 * 0.005)  # mean - 2 sd, below the best broken seed 0.085
    recommended = calibration.recommend("at_most", high, low)
    assert recommended == 0.055 and calibration.in_gap("at_most", recommended, high, low)
    assert not calibration.in_gap("at_most", 0.02, high, low) and not calibration.in_gap("at_most", 0.09, high, low)


def test_a_correct_variant_that_measured_nothing_closes_the_gap_and_crashed_broken_ones_fail_anywhere():
    assert calibration.bounds("at_least", [_stats([0.9, None])], [_stats([0.1])])[0] is None
    assert not calibration.is_open("at_least", None, 0.1)
    high, low = calibration.bounds("at_least", [_stats([0.9, 0.91])], [_stats([None, None])])
    assert low is None and calibration.is_open("at_least", high, low) and calibration.in_gap("at_least", 0.5, high, low)


def test_recommend_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="unknown threshold direction"):
        calibration.recommend("max", 0.9, 0.1)


# ---- panels --------------------------------------------------------------------------------------------

def test_a_broken_variant_must_declare_its_checks(tmp_path):
    rubric = _rubric(tmp_path)
    folder = panels.panel_dir(rubric) / "broken"
    folder.mkdir(parents=True)
    (folder / "silent.py").write_text("# no declaration\n")
    with pytest.raises(GraderError, match="silent.py has no '# fails:' line"):
        panels.variants(rubric, tmp_path / "ref.py")
    (folder / "silent.py").write_text("# fails: accuracy, no_such_check\n")
    with pytest.raises(GraderError, match="names checks the rubric lacks: no_such_check"):
        panels.variants(rubric, tmp_path / "ref.py")
    (folder / "silent.py").write_text("# fails: accuracy\n")
    [reference, silent] = panels.variants(rubric, tmp_path / "ref.py")
    assert (reference.name, reference.panel) == ("reference", "correct") and silent.fails == ("accuracy",)


# ---- records ---------------------------------------------------------------------------------------------

def test_a_rubric_without_a_threshold_check_is_refused_and_nothing_is_written(tmp_path):
    rubric = _rubric(tmp_path, keep=lambda c: c.id != "accuracy")
    assert rubric.checks and not calibration.threshold_checks(rubric)
    with pytest.raises(GraderError, match="no check with a threshold to calibrate.*no calibration record was written"):
        calibration.calibrate(rubric, tmp_path / "reference.py", seeds=2)
    assert not calibration.record_path(rubric).exists()


def test_an_empty_record_is_not_written_and_an_old_one_is_kept(tmp_path):
    rubric = _rubric(tmp_path)
    path = calibration.record_path(rubric)
    path.write_text("old: record\n")
    with pytest.raises(GraderError, match="was not written"):
        calibration.write_record(rubric, {"assignment": rubric.assignment, "checks": []})
    assert path.read_text() == "old: record\n"


# ---- verify, from a record both ways -----------------------------------------------------------------------

def _record(rubric, correct, broken, threshold=None):
    """A record of `rubric`'s threshold check with the reference and `correct`, `broken` values."""
    import torch

    [(check, kind)] = calibration.threshold_checks(rubric)
    if threshold is not None:
        params = {**check.params, "threshold": threshold}
        rubric = dataclasses.replace(rubric, checks=(dataclasses.replace(check, params=params),))
        check = rubric.checks[0]
    results = [(panels.Variant("reference", "correct", Path("r.py")), {"values": correct, "seconds": [1.0] * 3}),
               (panels.Variant("no_step", "broken", Path("b.py"), (check.id,)), {"values": broken, "seconds": [1.0] * 3})]
    record = {"torch": str(torch.__version__), "checks": [calibration.check_record(check, kind, results)]}
    calibration.record_path(rubric).write_text(yaml.safe_dump(record))
    return rubric


def _only_threshold(tmp_path, assignment="lab07_convnets"):
    return _rubric(tmp_path, assignment, keep=lambda c: KINDS[c.kind].threshold_direction is not None)


def test_verify_passes_a_threshold_inside_the_recorded_gap(tmp_path):
    rubric = _record(_only_threshold(tmp_path), [0.93, 0.94, 0.95], [0.1, 0.11, 0.09], threshold=0.5)
    [finding] = list(_calibration_findings(rubric))
    assert finding.ok and not finding.warning and "in the proven gap" in finding.detail


def test_verify_fails_a_threshold_outside_the_gap(tmp_path):
    rubric = _record(_only_threshold(tmp_path), [0.80, 0.82, 0.81], [0.1, 0.11, 0.09], threshold=0.9)
    [finding] = list(_calibration_findings(rubric))
    assert not finding.ok and "threshold 0.9 lies outside the proven gap (broken 0.119 .. correct 0.7852)" in finding.detail


def test_verify_fails_a_record_without_a_gap(tmp_path):
    rubric = _record(_only_threshold(tmp_path), [0.30, 0.45, 0.40], [0.35, 0.2, 0.1], threshold=0.3)
    [finding] = list(_calibration_findings(rubric))
    assert not finding.ok and "no gap between the broken variants" in finding.detail
    assert "a larger budget is needed" in finding.detail


def test_verify_fails_an_upper_bound_outside_its_gap_and_passes_one_inside(tmp_path):
    rubric = _record(_only_threshold(tmp_path, "cnn_foundations"), [0.02, 0.025, 0.022], [0.09, 0.1, 0.095],
                     threshold=0.1)
    assert not list(_calibration_findings(rubric))[0].ok
    rubric = _record(rubric, [0.02, 0.025, 0.022], [0.09, 0.1, 0.095], threshold=0.05)
    assert list(_calibration_findings(rubric))[0].ok


def test_verify_fails_a_record_of_another_budget_or_missing_a_variant(tmp_path):
    rubric = _record(_only_threshold(tmp_path), [0.93, 0.94, 0.95], [0.1, 0.11, 0.09], threshold=0.5)
    [check] = rubric.checks
    longer = dataclasses.replace(rubric, checks=(dataclasses.replace(check, params={**check.params, "epochs": 99}),))
    [finding] = list(_calibration_findings(longer))
    assert not finding.ok and "the record was made with budget" in finding.detail and "'epochs': 99" in finding.detail
    folder = panels.panel_dir(rubric) / "correct"
    folder.mkdir(parents=True)
    (folder / "adam.py").write_text("# a new correct variant\n")
    [finding] = list(_calibration_findings(rubric))
    assert not finding.ok and "variants not in the record: correct/adam" in finding.detail


def test_verify_fails_without_a_record(tmp_path):
    [finding] = list(_calibration_findings(_only_threshold(tmp_path)))
    assert not finding.ok and "no panel calibration of accuracy" in finding.detail


# ---- the committed records -----------------------------------------------------------------------------------

def _variant_values(record, variant, check_id):
    """A variant's values of a threshold check over the seeds: from the check's panel entry, else
    (a broken variant whose mistake another check catches) from the variant's own row."""
    entry = next(e for e in record["checks"] if e["check"] == check_id)
    for row in entry[variant["panel"]]:
        if row["variant"] == variant["variant"]:
            return row["values"]
    return (variant.get("values") or {}).get(check_id)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_committed_record_proves_separation_on_every_panel_variant(assignment):
    rubric = rubrics.load(assignment)
    findings = list(_calibration_findings(rubric))
    assert findings and all(f.ok for f in findings), [f.detail for f in findings if not f.ok]
    record = yaml.safe_load(calibration.record_path(rubric).read_text())
    graded = {(v["panel"], v["variant"]): v for v in record["variants"]}
    on_disk = panels.variants(rubric, ROOT / "reference_solutions" / f"{assignment}.py")
    assert sorted(graded) == sorted((v.panel, v.name) for v in on_disk)
    thresholds = {e["check"]: next(c for c in rubric.checks if c.id == e["check"]) for e in record["checks"]}
    for variant in on_disk:
        failed = set(graded[variant.panel, variant.name]["failed"]) - set(thresholds)
        for check_id, check in thresholds.items():  # judged at the rubric's threshold, on every seed
            values = _variant_values(record, graded[variant.panel, variant.name], check_id)
            assert values, f"{variant.panel}/{variant.name}: no values of {check_id} in the record"
            if not all(v is not None and KINDS[check.kind].clears(v, check.params["threshold"]) for v in values):
                failed.add(check_id)
        assert sorted(failed) == sorted(variant.fails), f"{variant.panel}/{variant.name} failed {sorted(failed)}"
    for entry in record["checks"]:
        check = next(c for c in rubric.checks if c.id == entry["check"])
        threshold, kind = check.params["threshold"], KINDS[check.kind]
        assert all(kind.clears(v, threshold) for c in entry["correct"] for v in c["values"])
        assert not any(kind.clears(v, threshold) for b in entry["broken"] for v in b["values"] if v is not None)
