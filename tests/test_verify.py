"""`grader verify` holds on the repository and catches one broken thing at a time in a copy."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
KEEP = ("edge_kernels", "intermediate_size", "convnet_shape", "accuracy")


@pytest.fixture
def course(tmp_path):
    """A copy of the course repository holding lab07 only, with a smaller rubric (fast to verify)."""
    for folder in ("rubric", "reference_solutions", "student_template"):
        (tmp_path / folder).mkdir()
    for name in ("reference_solutions/lab07_convnets.py", "student_template/lab07_convnets.py",
                 "student_template/lab07_convnets.ipynb"):
        shutil.copy(ROOT / name, tmp_path / name)
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [c for c in raw["checks"] if c["id"] in KEEP]
    for check in raw["checks"]:  # the course's rubric names no missing check (verify says so otherwise)
        check["builds_on"] = [b for b in check.get("builds_on", []) if b in KEEP]
    accuracy = next(c for c in raw["checks"] if c["id"] == "accuracy")
    accuracy["params"].update(train_size=2000, test_size=500)
    accuracy["params"]["threshold"] = 0.8
    (tmp_path / "rubric" / "lab07_convnets.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    _panel_record(tmp_path / "rubric" / "lab07_convnets.yaml")
    return tmp_path


def _panel_record(path):
    """A calibration record for the copy's smaller budget (values as a panel run would give: the
    reference well above 0.8, a loop that never steps at chance), so verify reads a proven gap."""
    from grader import calibrate as calibration
    from grader import panels
    from grader import rubric as rubrics

    import torch

    rubric = rubrics.load_file(path)
    [(check, kind)] = calibration.threshold_checks(rubric)
    results = [(panels.Variant("reference", "correct", path), {"values": [0.93, 0.92, 0.94], "seconds": [3, 3, 3]}),
               (panels.Variant("no_step", "broken", path, (check.id,)), {"values": [0.1, 0.11, 0.09], "seconds": [3] * 3})]
    record = {"torch": str(torch.__version__), "checks": [calibration.check_record(check, kind, results)]}
    calibration.record_path(rubric).write_text(yaml.safe_dump(record))


def verify(root):
    done = subprocess.run([GRADER, "verify", "--root", str(root), "--seeds", "1"], capture_output=True, text=True,
                          timeout=900)
    return done.returncode, done.stdout + done.stderr


def edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_copy_verifies(course):
    code, out = verify(course)
    assert code == 0, out
    assert "FAIL" not in out and "reference earns full marks" in out


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_reference_bug_is_caught(course):
    edit(course / "reference_solutions" / "lab07_convnets.py", "conv.weight[1, 0] = sobel.T", "conv.weight[1, 0] = sobel")
    code, out = verify(course)
    assert code == 1
    assert "FAIL  lab07_convnets           reference earns full marks: edge_kernels: failed" in out


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_solution_left_in_the_template_is_caught(course):
    edit(course / "student_template" / "lab07_convnets.py",
         '    raise NotImplementedError("conv_parameter_shapes: not implemented yet")',
         '    conv = nn.Conv2d(in_channels, out_channels, kernel_size)\n'
         '    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}')
    code, out = verify(course)
    assert code == 1
    assert "FAIL  lab07_convnets           template holds no solution code: solution code in lab07_convnets.py" in out
    assert "FAIL  lab07_convnets           template is generated from the reference: stale" in out


def test_a_builds_on_naming_no_check_is_caught(course):
    path = course / "rubric" / "lab07_convnets.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["checks"][-1]["builds_on"] = ["convnet_shape", "predikt"]
    path.write_text(yaml.safe_dump(raw))
    code, out = verify(course)
    assert code == 1
    assert "'builds_on' names no check of the rubric: accuracy -> predikt" in out


def test_an_unknown_rubric_kind_is_caught(course):
    path = course / "rubric" / "lab07_convnets.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["checks"][0]["kind"] = "edge_kernelz"
    path.write_text(yaml.safe_dump(raw))
    code, out = verify(course)
    assert code == 1
    assert "rubric is valid" in out and "unknown kind 'edge_kernelz'" in out and "check 'edge_kernels'" in out


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_threshold_the_reference_cannot_reach_is_caught(course):
    path = course / "rubric" / "lab07_convnets.yaml"
    raw = yaml.safe_load(path.read_text())
    next(c for c in raw["checks"] if c["id"] == "accuracy")["params"]["threshold"] = 0.995
    path.write_text(yaml.safe_dump(raw))
    code, out = verify(course)
    assert code == 1
    assert "FAIL  lab07_convnets           threshold of accuracy is cleared over seeds" in out
