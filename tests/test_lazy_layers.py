"""Models with lazy layers (nn.LazyLinear, nn.LazyConv2d) are judged like any other: the model
checks create their parameters by one forward pass before reading them, and where a check has no
input to run, the message says why it cannot count them."""

import pytest
import yaml

from grader import rubric as rubrics
from grader.grading import Options, grade_file

CHECK = {"title": "t", "points": 1, "visibility": "public", "time_limit": 20}
RUBRIC = {"assignment": "lazy", "checks": [
    dict(CHECK, id="count", kind="parameter_count", params={"factory": "build", "trainable": 2 * 1 * 3 * 3 + 2 + 2 * 6 * 6 * 10 + 10,
                                                         "input_shape": [1, 8, 8]}),
    dict(CHECK, id="count_without_input", kind="parameter_count", params={"factory": "build", "trainable": 1}),
    dict(CHECK, id="student_count", kind="parameter_count",
         params={"factory": "build", "function": "count", "freeze": "first", "input_shape": [1, 8, 8]}),
    dict(CHECK, id="shape", kind="output_shape", params={"factory": "build", "inputs": [[3, 1, 8, 8]],
                                                          "outputs": [[3, 10]]}),
    dict(CHECK, id="logits", kind="raw_logits", params={"factory": "build", "input_shape": [1, 8, 8]}),
    dict(CHECK, id="layers", kind="has_layers", params={"factory": "build", "kinds": ["LazyConv2d"]}),  # no input
]}

LAZY = '''
import torch
from torch import nn
def build():
    return nn.Sequential(nn.LazyConv2d(2, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
def count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
'''
BROKEN_LAZY = '''
import torch
from torch import nn
def build():
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(4), nn.Linear(5, 10))  # 4 features into a layer of 5
def count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
'''


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    path = tmp_path_factory.mktemp("course") / "lazy.yaml"
    path.write_text(yaml.safe_dump(RUBRIC))
    return rubrics.load_file(path)


def grade(tmp_path, rubric, source):
    path = tmp_path / "lazy.py"
    path.write_text(source)
    return {c.id: c for c in grade_file(path, rubric, Options(sandbox="process")).checks}


@pytest.mark.sandbox
def test_lazy_layers_are_created_before_they_are_counted(tmp_path, rubric):
    checks = grade(tmp_path, rubric, LAZY)
    assert {k: c.status for k, c in checks.items() if k != "count_without_input"} == {
        "count": "passed", "student_count": "passed", "shape": "passed", "logits": "passed", "layers": "passed"}, checks
    without = checks["count_without_input"]
    assert without.status == "failed"
    assert "lazy layers" in without.message and "runs none" in without.message, without.message


@pytest.mark.sandbox
def test_a_lazy_model_whose_first_forward_pass_fails_says_so(tmp_path, rubric):
    checks = grade(tmp_path, rubric, BROKEN_LAZY)
    assert checks["count"].status == "failed"
    assert "the forward pass that creates its parameters failed" in checks["count"].message, checks["count"].message
