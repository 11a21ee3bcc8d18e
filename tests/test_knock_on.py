"""Knock-on failures point at their cause (`builds_on`): the rubric refuses a dependency that is
not a check above, a failed check whose cause failed names it, and the student bundle's public
rubric never names a hidden check."""

import pytest
import yaml

from grader import knock_on
from grader import rubric as rubrics
from grader.errors import RubricError
from grader.release import public_rubric
from grader.results import CheckResult

BASE = {"title": "t", "kind": "declared_constant", "points": 1, "time_limit": 5,
        "params": {"name": "X", "expected": 3}}


def write(tmp_path, checks):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump({"assignment": "toy", "checks": checks}))
    return path


def test_builds_on_must_name_checks_above(tmp_path):
    ok = [dict(BASE, id="size", visibility="public"), dict(BASE, id="conv", visibility="public", builds_on=["size"])]
    assert rubrics.load_file(write(tmp_path, ok)).checks[1].builds_on == ("size",)
    below = [dict(BASE, id="conv", visibility="public", builds_on=["size"]), dict(BASE, id="size", visibility="public")]
    with pytest.raises(RubricError, match="must name checks above this one, not size"):
        rubrics.load_file(write(tmp_path, below))
    cut_down = [dict(BASE, id="conv", visibility="public", builds_on=["size"])]  # a copy keeping some checks loads
    assert rubrics.load_file(write(tmp_path, cut_down)).checks[0].builds_on == ("size",)
    with pytest.raises(RubricError, match="'builds_on' must be a list"):
        rubrics.load_file(write(tmp_path, [dict(BASE, id="conv", visibility="public", builds_on="size")]))


def _result(check_id, status, message=""):
    return CheckResult(check_id, f"title of {check_id}", 0.0 if status != "passed" else 1.0, 1.0, status, message)


def test_a_failure_whose_cause_failed_names_it_and_no_other_is_touched(tmp_path):
    path = write(tmp_path, [dict(BASE, id="size", visibility="public"), dict(BASE, id="other", visibility="public"),
                            dict(BASE, id="conv", visibility="public", builds_on=["size", "other"])])
    conv = rubrics.load_file(path).checks[2]
    earlier = [_result("size", "failed", "size is 27, expected 28"), _result("other", "passed")]
    note = knock_on.annotated(conv, _result("conv", "failed", "has shape (4, 5)"), earlier).message
    assert note.startswith("has shape (4, 5)\nThis check builds on size (title of size), which failed too")
    assert "other" not in note.split("\n", 1)[1]
    assert knock_on.annotated(conv, _result("conv", "passed"), earlier).message == ""
    clean = [_result("size", "passed"), _result("other", "passed")]
    assert knock_on.annotated(conv, _result("conv", "failed", "wrong"), clean).message == "wrong"
    timed_out = [_result("size", "timeout", "did not finish")]
    assert "builds on size" in knock_on.annotated(conv, _result("conv", "error", "boom"), timed_out).message


def test_the_public_rubric_names_no_hidden_check(tmp_path):
    path = write(tmp_path, [dict(BASE, id="size", visibility="public"), dict(BASE, id="size_secret", visibility="hidden"),
                            dict(BASE, id="conv", visibility="public", builds_on=["size", "size_secret"]),
                            dict(BASE, id="conv2", visibility="public", builds_on=["size_secret"])])
    text = public_rubric(rubrics.load_file(path))
    assert "size_secret" not in text
    public = write(tmp_path, yaml.safe_load(text)["checks"])
    assert {c.id: c.builds_on for c in rubrics.load_file(public).checks} == {"size": (), "conv": ("size",), "conv2": ()}
