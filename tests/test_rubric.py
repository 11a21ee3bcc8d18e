"""Rubric loading refuses invalid rubrics before anything runs, naming file, check and problem."""

import pytest
import yaml

from grader import rubric as rubrics
from grader.errors import RubricError

GOOD = {
    "assignment": "demo", "dataset": "mnist",
    "checks": [{"id": "size", "title": "t", "kind": "declared_constant", "points": 1,
                "visibility": "public", "time_limit": 5, "params": {"name": "X", "expected": 3}}],
}


def write(tmp_path, data):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def broken(**changes):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["checks"][0].update(changes)
    return data


def test_the_committed_rubric_loads():
    rubric = rubrics.load("lab07_convnets")
    assert rubric.max_score > 0 and rubric.selected(("public",)) and rubric.selected(("hidden",))


def test_a_good_rubric_loads_with_defaults(tmp_path):
    rubric = rubrics.load_file(write(tmp_path, GOOD))
    check = rubric.checks[0]
    assert check.params == {"name": "X", "expected": 3, "meaning": "the real value"}
    assert type(check.seed) is int


@pytest.mark.parametrize("change, problem", [
    ({"kind": "no_such_kind"}, "unknown kind 'no_such_kind'"),
    ({"params": {"name": "X"}}, "missing required parameter 'expected'"),
    ({"params": {"name": "X", "expected": 3, "colour": 1}}, "unknown parameter(s) colour"),
    ({"params": {"name": "X", "expected": {"three": 3}}}, "parameter 'expected' must be list or str or int"),
    ({"params": {"name": "X", "expected": [[1, {"a": 2}]]}}, "parameter 'expected': {'a': 2} is not a string"),
    ({"visibility": "secret"}, "'visibility' must be one of"),
    ({"points": -1}, "'points' must be a non-negative number"),
    ({"time_limit": 0}, "'time_limit' must be a positive number"),
    ({"extra": 1}, "unknown key(s) extra"),
    ({"kind": "raw_logits", "params": {"factory": "Net", "input_shape": [1, 28, 28], "batch": 1}},
     "parameter 'batch': must be at least 2"),
    ({"kind": "raw_logits", "params": {"factory": "Net", "input_shape": [1, 0]}}, "parameter 'input_shape'"),
    ({"kind": "avoids_ops", "params": {"function": "f", "ops": []}}, "parameter 'ops': must be a non-empty list"),
    ({"kind": "avoids_ops", "params": {"function": "f", "ops": ["F.conv2d"]}}, "parameter 'ops': must be"),
])
def test_invalid_checks_are_refused_with_file_check_and_problem(tmp_path, change, problem):
    path = write(tmp_path, broken(**change))
    with pytest.raises(RubricError) as info:
        rubrics.load_file(path)
    message = str(info.value)
    assert str(path) in message and "check 'size'" in message and problem in message


def test_missing_key_is_named(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    del data["checks"][0]["time_limit"]
    with pytest.raises(RubricError, match="missing 'time_limit'"):
        rubrics.load_file(write(tmp_path, data))


def test_duplicate_ids_are_refused(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["checks"].append(data["checks"][0])
    with pytest.raises(RubricError, match="duplicate check id"):
        rubrics.load_file(write(tmp_path, data))


def test_threshold_out_of_range_is_refused(tmp_path):
    rubric = rubrics.load("lab07_convnets")
    data = yaml.safe_load(rubric.path.read_text())
    next(c for c in data["checks"] if c["kind"] == "min_accuracy")["params"]["threshold"] = 1.5
    with pytest.raises(RubricError, match="check 'accuracy'.*threshold.*between 0 and 1"):
        rubrics.load_file(write(tmp_path, data))


def test_bad_yaml_is_refused(tmp_path):
    with pytest.raises(RubricError, match="not valid YAML"):
        rubrics.load_file(write(tmp_path, "checks: [unclosed"))


def test_unknown_assignment_lists_known_ones():
    with pytest.raises(Exception, match="known: .*lab07_convnets"):
        rubrics.load("nosuch")


def test_every_kind_declares_documented_parameters():
    from grader.checks import KINDS

    for kind in KINDS.values():
        assert kind.doc, f"check kind {kind.name} has no docstring"
