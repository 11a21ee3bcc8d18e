"""Thresholds with a direction: the registry's `threshold_direction`, the recommendation arithmetic of
grader.calibrate for both directions, the records it writes (or refuses to write) and verify's
calibration warnings. No child process is started: the arithmetic is pure."""

import dataclasses

import pytest
import yaml

from grader import calibrate as calibration
from grader import rubric as rubrics
from grader.checks.registry import KINDS, Param, check_kind
from grader.errors import GraderError
from grader.verify import _calibration_findings


def _rubric(tmp_path, assignment="lab07_convnets", keep=None):
    """A real rubric, moved to `tmp_path` (so records land there), holding the checks `keep` selects."""
    rubric = rubrics.load(assignment)
    checks = tuple(c for c in rubric.checks if keep is None or keep(c))
    return dataclasses.replace(rubric, checks=checks, path=tmp_path / f"{assignment}.yaml")


# ---- the registry ---------------------------------------------------------------------------------

def test_the_threshold_kinds_have_their_directions():
    rubrics.load("cnn_foundations")  # its course plug-in registers max_reconstruction_error
    assert KINDS["min_accuracy"].threshold_direction == "at_least"
    assert KINDS["max_reconstruction_error"].threshold_direction == "at_most"
    assert KINDS["output_shape"].threshold_direction is None
    at_least, at_most = KINDS["min_accuracy"], KINDS["max_reconstruction_error"]
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


# ---- the recommendation ------------------------------------------------------------------------------

@pytest.mark.parametrize("values, margin, expected", [
    ([0.9712, 0.9655, 0.9801], None, (0.9655, 0.03, 0.93)),  # 0.9355 rounded down to 0.01
    ([0.95, 0.93, 0.97], None, (0.93, 0.03, 0.90)),  # an exact step stays (no 0.89 from float error)
    ([0.999, 1.0], None, (0.999, 0.03, 0.96)),
    ([0.9655], 0.05, (0.9655, 0.05, 0.91)),  # an explicit margin
])
def test_at_least_recommends_the_worst_seed_minus_the_margin_rounded_down(values, margin, expected):
    worst, used, recommended = calibration.recommend("at_least", values, margin)
    assert (worst, used) == expected[:2] and recommended == pytest.approx(expected[2], abs=1e-12)
    assert recommended <= worst - used + 1e-12 and recommended > worst - used - 0.01


@pytest.mark.parametrize("values, margin, expected", [
    ([0.01782, 0.02039, 0.02474], None, (0.02474, 0.01237, 0.04)),  # 0.03711 rounded up to 0.005
    ([0.02, 0.01], None, (0.02, 0.01, 0.03)),  # an exact step stays (no 0.035 from float error)
    ([0.03488, 0.0176], None, (0.03488, 0.01744, 0.055)),
    ([0.02474], 0.015, (0.02474, 0.015, 0.04)),  # an explicit (absolute) margin
    ([1.2, 2.5], None, (2.5, 1.25, 3.75)),  # a value above 1: no clipping to a fraction
])
def test_at_most_recommends_the_worst_seed_plus_a_relative_margin_rounded_up(values, margin, expected):
    worst, used, recommended = calibration.recommend("at_most", values, margin)
    assert worst == expected[0] and used == pytest.approx(expected[1])
    assert recommended == pytest.approx(expected[2], abs=1e-12)
    assert worst + used - 1e-12 <= recommended < worst + used + 0.005


def test_recommend_refuses_an_unknown_direction_or_no_values():
    with pytest.raises(ValueError, match="unknown threshold direction"):
        calibration.recommend("max", [0.1])
    with pytest.raises(ValueError, match="no measured values"):
        calibration.recommend("at_most", [])


def test_records_keep_lab07s_format_and_name_the_direction(tmp_path):
    rubric = _rubric(tmp_path)
    [(check, kind)] = calibration.threshold_checks(rubric)
    entry = calibration.check_record(check, kind, [0.97123, 0.9655, 0.98], [3.1, 2.9, 3.0])
    assert list(entry) == ["check", "kind", "direction", "seeds", "accuracies", "min", "mean", "max",
                           "seconds_per_seed", "margin", "recommended_threshold", "threshold_in_rubric", "budget"]
    assert entry["direction"] == "at_least" and entry["accuracies"] == [0.9712, 0.9655, 0.98]
    assert (entry["min"], entry["max"], entry["recommended_threshold"]) == (0.9655, 0.98, 0.93)
    assert entry["threshold_in_rubric"] == check.params["threshold"]
    assert entry["budget"] == {k: check.params[k] for k in ("epochs", "train_size", "test_size", "batch_size")}
    assert calibration.within_recommendation(entry) == (check.params["threshold"] <= 0.93)


def test_an_upper_bound_is_recorded_with_its_relative_margin(tmp_path):
    rubric = _rubric(tmp_path, "cnn_foundations")
    [(check, kind)] = calibration.threshold_checks(rubric)
    assert check.kind == "max_reconstruction_error"
    entry = calibration.check_record(check, kind, [0.017823, 0.020391, 0.024744], [8.0, 7.5, 7.9])
    assert entry["direction"] == "at_most" and entry["values"] == [0.01782, 0.02039, 0.02474]
    assert entry["max"] == 0.02474 and entry["relative_margin"] == calibration.RELATIVE_MARGIN
    assert entry["recommended_threshold"] == 0.04 and entry["max"] < entry["recommended_threshold"]
    assert entry["budget"] == {k: check.params[k] for k in ("epochs", "train_size", "test_size", "batch_size", "lr")}
    assert calibration.within_recommendation(entry) == (check.params["threshold"] >= 0.04)
    assert "(at most)" in calibration.summary_line(entry)


# ---- no check to calibrate: no file ----------------------------------------------------------------

def test_a_rubric_without_a_threshold_check_is_refused_and_nothing_is_written(tmp_path):
    rubric = _rubric(tmp_path, keep=lambda c: c.kind != "min_accuracy")
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


def test_a_written_record_reads_back(tmp_path):
    rubric = _rubric(tmp_path, "cnn_foundations")
    [(check, kind)] = calibration.threshold_checks(rubric)
    record = {"assignment": rubric.assignment, "torch": "2.0",
              "checks": [calibration.check_record(check, kind, [0.02, 0.03], [1.0, 1.0])]}
    path = calibration.write_record(rubric, record)
    text = path.read_text()
    assert "# at_most (lower is better)" in text and "# at_least" not in text
    assert yaml.safe_load(text) == record


# ---- verify's calibration warnings ----------------------------------------------------------------------

def _findings(rubric, checks):
    path = calibration.record_path(rubric)
    import torch

    path.write_text(yaml.safe_dump({"torch": str(torch.__version__), "checks": checks}))
    return list(_calibration_findings(rubric))


def test_verify_warns_about_a_missing_or_wrong_direction_record_of_an_upper_bound(tmp_path):
    rubric = _rubric(tmp_path, "cnn_foundations")
    [(check, _)] = calibration.threshold_checks(rubric)
    [missing] = _findings(rubric, [])
    assert missing.warning and "no calibration record" in missing.detail
    [wrong] = _findings(rubric, [{"check": check.id, "direction": "max"}])
    assert wrong.warning and "not for an at_most threshold" in wrong.detail
    assert _findings(rubric, [{"check": check.id, "direction": "at_most"}]) == []


def test_verify_accepts_lab07s_record_without_a_direction(tmp_path):
    rubric = _rubric(tmp_path)
    [(check, _)] = calibration.threshold_checks(rubric)
    assert _findings(rubric, [{"check": check.id, "accuracies": [0.95]}]) == []
