"""function_cases and raises, proved both ways on tiny submissions, with the course's reference
solution as the oracle (grader.checks.oracle), and the comparison's diagnoses of tensors."""

import numpy as np
import pytest
import torch
import yaml

from grader import rubric as rubrics
from grader.checks.cases import _spec_text, build_arg, reproduction
from grader.checks.compare import compare, how_they_differ
from grader.errors import RubricError
from grader.grading import Options, grade_file
from grader.sandbox.values import Tensor

RUBRIC = {"assignment": "toy", "checks": [
    {"id": "scale_sum", "title": "t", "kind": "function_cases", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "scale_sum",
                "cases": [{"args": [{"tensor": {"shape": [3, 4], "seed": 1}}]},
                          {"args": [{"tensor": [[1, 2], [3, 4]]}], "kwargs": {"k": 3}}]}},
    {"id": "out_size", "title": "t", "kind": "function_cases", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "out_size",
                "cases": [{"args": [28, 5]}, {"args": [7, 3], "kwargs": {"padding": 1, "stride": 2}}]}},
    {"id": "refuses", "title": "t", "kind": "raises", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "pick", "args": ["nonsense"], "exception": "ValueError"}},
]}

REFERENCE = '''
import torch
def scale_sum(x, k=2):
    return (x * k).sum(dim=0)
def out_size(n, k, padding=0, stride=1):
    return torch.nn.Conv2d(1, 1, k, stride=stride, padding=padding)(torch.zeros(1, 1, n, n)).shape[-1]
def pick(name):
    if name != "ok":
        raise ValueError(name)
'''
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


def course(base, reference=REFERENCE, rubric=RUBRIC):
    """A course folder: rubric/toy.yaml and reference_solutions/toy.py."""
    (base / "rubric").mkdir(parents=True)
    (base / "reference_solutions").mkdir()
    (base / "reference_solutions" / "toy.py").write_text(reference)
    path = base / "rubric" / "toy.yaml"
    path.write_text(yaml.safe_dump(rubric))
    return path


@pytest.fixture(scope="module")
def expected_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("expected")


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    return rubrics.load_file(course(tmp_path_factory.mktemp("course")))


def grade(tmp_path, rubric, source, expected_dir):
    path = tmp_path / "toy.py"
    path.write_text(source)
    return {c.id: c for c in grade_file(path, rubric, Options(sandbox="process", expected_dir=expected_dir)).checks}


@pytest.mark.sandbox
def test_correct_functions_pass(tmp_path, rubric, expected_dir):
    checks = grade(tmp_path, rubric, GOOD, expected_dir)
    assert {c.status for c in checks.values()} == {"passed"}, checks


@pytest.mark.sandbox
def test_wrong_functions_fail_with_the_call_in_the_message(tmp_path, rubric, expected_dir):
    checks = grade(tmp_path, rubric, BAD, expected_dir)
    assert checks["scale_sum"].status == "failed" and "scale_sum(<tensor (3, 4)>)" in checks["scale_sum"].message
    assert checks["out_size"].status == "failed" and "should be an int" in checks["out_size"].message
    assert checks["refuses"].status == "failed" and "should raise ValueError" in checks["refuses"].message


@pytest.mark.sandbox
def test_a_failed_case_says_how_to_reproduce_it(tmp_path, rubric, expected_dir):
    checks = grade(tmp_path, rubric, BAD, expected_dir)
    message = checks["scale_sum"].message
    line = next(l for l in message.splitlines() if l.startswith("to reproduce: "))
    assert line == "to reproduce: scale_sum(torch.rand(3, 4, generator=torch.Generator().manual_seed(1)))"


@pytest.mark.parametrize("spec", [
    {"tensor": {"shape": [3, 4], "seed": 1}},
    {"tensor": {"shape": [2, 3], "seed": 7, "low": -1, "high": 1}},
    {"tensor": [[1, 0, -1], [2, 0, -2]]},
    {"tensor": [3, 1], "dtype": "int64"},
    {"tensor": {"shape": [5], "seed": 2, "high": 10}, "dtype": "int64"},
    {"tuple": [1, {"tensor": [[2.5]]}]},
    [1, "two", None],
])
def test_the_reproduction_builds_the_same_argument(spec):
    built, again = build_arg(spec), eval(_spec_text(spec), {"torch": torch})  # noqa: S307 - our own text
    flat = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]  # noqa: E731
    for a, b in zip(flat(built), flat(again), strict=True):
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and torch.equal(a, b)
        else:
            assert a == b


def test_a_long_reproduction_is_capped():
    text = reproduction("f", {"args": [list(range(500))]}, limit=100)
    assert len(text) == 100 and text.endswith("...")


MISTAKES_RUBRIC = {"assignment": "toy", "checks": [
    {"id": "correlate", "title": "t", "kind": "function_cases", "points": 1, "visibility": "public", "time_limit": 10,
     "params": {"function": "correlate",
                "cases": [{"args": [{"tensor": {"shape": [5, 5], "seed": 1}},
                                    {"tensor": {"shape": [3, 3], "seed": 2, "low": -1, "high": 1}}]}],
                "mistakes": [{"arg": 1, "transform": "flip", "says": "the kernel is flipped"},
                             {"arg": 1, "transform": "transpose", "says": "the kernel is transposed"}]}}]}
CORRELATE = """
import torch
def correlate(image, kernel):
    return torch.nn.functional.conv2d(image[None, None], {kernel}[None, None])[0, 0]
"""


@pytest.mark.sandbox
@pytest.mark.parametrize("kernel, phrase", [
    ("kernel", None), ("kernel.flip(0, 1)", "the kernel is flipped"), ("kernel.T", "the kernel is transposed"),
    ("-kernel", "wrong sign"),
])
def test_a_mistake_the_rubric_names_is_recognised_on_a_wrong_result(tmp_path, expected_dir, kernel, phrase):
    rubric = rubrics.load_file(course(tmp_path / "course", CORRELATE.format(kernel="kernel"), MISTAKES_RUBRIC))
    [check] = grade(tmp_path, rubric, CORRELATE.format(kernel=kernel), expected_dir).values()
    if phrase is None:
        assert check.status == "passed", check.message
    else:
        assert check.status == "failed" and phrase in check.message, check.message
        assert ("rotated by 180" in check.message) == (phrase == "the kernel is flipped")


def test_a_malformed_mistake_is_refused_at_load(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(MISTAKES_RUBRIC))
    bad["checks"][0]["params"]["mistakes"] = [{"arg": 1, "transform": "mirror", "says": "x"}]
    with pytest.raises(RubricError, match="transform"):
        rubrics.load_file(course(tmp_path, CORRELATE.format(kernel="kernel"), bad))


@pytest.mark.sandbox
def test_wrong_exception_and_wrong_padding_fail(tmp_path, rubric, expected_dir):
    checks = grade(tmp_path, rubric, WRONG_EXCEPTION, expected_dir)
    assert checks["scale_sum"].status == "passed"
    assert checks["out_size"].status == "failed" and "padding=1" in checks["out_size"].message
    assert checks["refuses"].status == "failed" and "KeyError" in checks["refuses"].message


def test_compare_is_strict_about_types():
    assert compare(True, 1, 0, 0) is not None  # a bool is not an int
    assert compare(3, 3, 0, 0) is None
    assert compare(Tensor(torch.ones(2).numpy()), Tensor(torch.ones(2).numpy()), 1e-6, 0) is None
    assert "shape" in compare(Tensor(torch.ones(3).numpy()), Tensor(torch.ones(2).numpy()), 1e-6, 0)
    assert "should be a tensor" in compare([1.0, 1.0], Tensor(torch.ones(2).numpy()), 1e-6, 0)
    assert compare([1, (2, 3)], [1, (2, 3)], 0, 0) is None


def test_build_arg_makes_seeded_tensors_and_tuples():
    a = build_arg({"tensor": {"shape": [2, 2], "seed": 5}})
    assert torch.equal(a, build_arg({"tensor": {"shape": [2, 2], "seed": 5}}))
    assert build_arg({"tuple": [1, 2]}) == (1, 2)
    assert build_arg({"tensor": [1, 2], "dtype": "int64"}).dtype == torch.int64


@pytest.mark.parametrize("change, phrase", [
    (lambda w: -w, "wrong sign"),
    (lambda w: 2.5 * w, "times 2.5"),
    (lambda w: np.flip(w, axis=(0, 1)), "rotated by 180 degrees"),
    (lambda w: w.T, "transpose"),
    (lambda w: w[:-1], "off by one"),
    (lambda w: w[None], "dimension of size 1"),
])
def test_compare_says_how_a_tensor_differs(change, phrase):
    want = np.arange(12, dtype=np.float64).reshape(3, 4) - 4.5
    message = compare(Tensor(np.ascontiguousarray(change(want))), Tensor(want), 1e-6, 0)
    assert message and phrase in message, message
    noisy = want + np.random.default_rng(0).normal(size=want.shape)
    assert how_they_differ(noisy, want, 1e-6, 0) == ""


def test_a_function_the_reference_lacks_is_refused_at_load(tmp_path):
    with pytest.raises(RubricError, match="defines no 'out_size'") as caught:
        rubrics.load_file(course(tmp_path, reference=REFERENCE.replace("def out_size", "def outsize")))
    assert "check 'out_size'" in str(caught.value) and "toy.yaml" in str(caught.value)


@pytest.mark.slow
@pytest.mark.sandbox
def test_expected_values_come_from_the_cache_once_computed(tmp_path):
    """The reference's answers are cached; a changed reference is a new key; a broken reference
    is the grader's set-up error, never the student's, and costs only the checks that need it."""
    rubric = rubrics.load_file(course(tmp_path / "course"))
    cache = tmp_path / "cache"
    (tmp_path / "toy.py").write_text(GOOD)
    first = grade_file(tmp_path / "toy.py", rubric, Options(sandbox="process", expected_dir=cache))
    assert {c.status for c in first.checks} == {"passed"}
    assert len(list(cache.rglob("*.frame"))) == 4  # one per case of the two function_cases checks
    reference = tmp_path / "course" / "reference_solutions" / "toy.py"
    stamp = {p: p.stat().st_mtime_ns for p in cache.rglob("*.frame")}
    again = grade_file(tmp_path / "toy.py", rubric, Options(sandbox="process", expected_dir=cache))
    assert {c.status for c in again.checks} == {"passed"}
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.frame")} == stamp  # read, not recomputed
    reference.write_text(REFERENCE + "# changed\n")
    grade_file(tmp_path / "toy.py", rubric, Options(sandbox="process", expected_dir=cache))
    assert len(list(cache.rglob("*.frame"))) == 8  # a changed reference is a new key
    reference.write_text(REFERENCE.replace("return (x * k).sum(dim=0)", "raise RuntimeError('broken')"))
    broken = {c.id: c for c in grade_file(tmp_path / "toy.py", rubric,
                                          Options(sandbox="process", expected_dir=tmp_path / "empty")).checks}
    assert broken["scale_sum"].status == "error" and "not your fault" in broken["scale_sum"].message
    assert "reference solution" in broken["scale_sum"].message
    assert broken["out_size"].status == broken["refuses"].status == "passed"


def test_a_mistake_names_a_transformed_argument_or_an_ignored_keyword():
    from grader.checks.cases import _valid_mistakes

    assert _valid_mistakes([{"arg": 1, "transform": "flip", "says": "flipped"},
                            {"kwarg": "padding", "transform": "ignored", "says": "no padding"}]) is None
    for wrong in ({"kwarg": "padding", "transform": "flip", "says": "x"}, {"arg": 1, "transform": "ignored", "says": "x"},
                  {"kwarg": 3, "transform": "ignored", "says": "x"}, {"kwarg": "padding", "transform": "ignored"}):
        assert "is not a mapping" in _valid_mistakes([wrong]), wrong
