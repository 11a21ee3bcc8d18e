"""function_cases and raises, proved both ways on tiny submissions (one child each)."""

import pytest
import torch
import yaml

from grader import rubric as rubrics
from grader.checks.cases import REFERENCE_IMPLS, build_arg, compare, reference_impl
from grader.grading import Options, grade_file
from grader.sandbox.values import Tensor

if "test_scale_sum" not in REFERENCE_IMPLS:
    @reference_impl("test_scale_sum")
    def _scale_sum(x, k=2):
        return (x * k).sum(dim=0)

    @reference_impl("test_out_size")
    def _out_size(n, k, padding=0, stride=1):
        return torch.nn.Conv2d(1, 1, k, stride=stride, padding=padding)(torch.zeros(1, 1, n, n)).shape[-1]

RUBRIC = {"assignment": "toy", "checks": [
    {"id": "scale_sum", "title": "t", "kind": "function_cases", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "scale_sum", "reference": "test_scale_sum",
                "cases": [{"args": [{"tensor": {"shape": [3, 4], "seed": 1}}]},
                          {"args": [{"tensor": [[1, 2], [3, 4]]}], "kwargs": {"k": 3}}]}},
    {"id": "out_size", "title": "t", "kind": "function_cases", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "out_size", "reference": "test_out_size",
                "cases": [{"args": [28, 5]}, {"args": [7, 3], "kwargs": {"padding": 1, "stride": 2}}]}},
    {"id": "refuses", "title": "t", "kind": "raises", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "pick", "args": ["nonsense"], "exception": "ValueError"}},
]}

GOOD = '''
def scale_sum(x, k=2):
    return (x * k).sum(dim=0)
def out_size(n, k, padding=0, stride=1):
    return (n + 2 * padding - k) // stride + 1
def pick(name):
    if name != "ok":
        raise ValueError(name)
'''
BAD = '''
def scale_sum(x, k=2):
    return (x * 2).sum(dim=1)
def out_size(n, k, padding=0, stride=1):
    return float((n + 2 * padding - k) // stride + 1)
def pick(name):
    return None
'''
WRONG_EXCEPTION = '''
def scale_sum(x, k=2):
    return (x * k).sum(dim=0)
def out_size(n, k, padding=0, stride=1):
    return (n - k) // stride + 1
def pick(name):
    raise KeyError(name)
'''


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    path = tmp_path_factory.mktemp("rubric") / "toy.yaml"
    path.write_text(yaml.safe_dump(RUBRIC))
    return rubrics.load_file(path)


def grade(tmp_path, rubric, source):
    path = tmp_path / "toy.py"
    path.write_text(source)
    return {c.id: c for c in grade_file(path, rubric, Options(sandbox="process")).checks}


@pytest.mark.sandbox
def test_correct_functions_pass(tmp_path, rubric):
    checks = grade(tmp_path, rubric, GOOD)
    assert {c.status for c in checks.values()} == {"passed"}, checks


@pytest.mark.sandbox
def test_wrong_functions_fail_with_the_call_in_the_message(tmp_path, rubric):
    checks = grade(tmp_path, rubric, BAD)
    assert checks["scale_sum"].status == "failed" and "scale_sum(<tensor (3, 4)>)" in checks["scale_sum"].message
    assert checks["out_size"].status == "failed" and "should be an int" in checks["out_size"].message
    assert checks["refuses"].status == "failed" and "should raise ValueError" in checks["refuses"].message


@pytest.mark.sandbox
def test_wrong_exception_and_wrong_padding_fail(tmp_path, rubric):
    checks = grade(tmp_path, rubric, WRONG_EXCEPTION)
    assert checks["scale_sum"].status == "passed"
    assert checks["out_size"].status == "failed" and "padding=1" in checks["out_size"].message
    assert checks["refuses"].status == "failed" and "KeyError" in checks["refuses"].message


def test_compare_is_strict_about_types():
    assert compare(True, 1, 0, 0) is not None  # a bool is not an int
    assert compare(3, 3, 0, 0) is None
    assert compare(Tensor(torch.ones(2).numpy()), torch.ones(2), 1e-6, 0) is None
    assert "shape" in compare(Tensor(torch.ones(3).numpy()), torch.ones(2), 1e-6, 0)
    assert compare([1, (2, 3)], [1, (2, 3)], 0, 0) is None


def test_build_arg_makes_seeded_tensors_and_tuples():
    a = build_arg({"tensor": {"shape": [2, 2], "seed": 5}})
    assert torch.equal(a, build_arg({"tensor": {"shape": [2, 2], "seed": 5}}))
    assert build_arg({"tuple": [1, 2]}) == (1, 2)
    assert build_arg({"tensor": [1, 2], "dtype": "int64"}).dtype == torch.int64
