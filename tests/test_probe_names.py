"""Check kinds name their probes: a misspelt probe is refused when the rubric loads, an undeclared
or unknown one at run time is the grader's error, and a child that claims a known probe is
unknown is blamed (it can only be a submission tampering with the child's runtime)."""

import ast
import inspect
import sys
from types import SimpleNamespace

import pytest
import yaml

import grader.checks
from grader import plugins
from grader import rubric as rubrics
from grader.checks.context import CheckContext, UndeclaredProbe
from grader.checks.registry import KINDS, Param, Verdict, check_kind, unknown_probes
from grader.errors import RubricError
from grader.grading import run_check
from grader.sandbox import probes as child_probes
from grader.sandbox.launch import Limits
from grader.sandbox.error_messages import student_error_message
from grader.sandbox.session import ChildSession, UnknownProbe

INTERNAL = "internal grader error (not your fault)"

plugins.load(rubrics.RUBRIC_DIR)  # the course's own kinds and probes are checked alike


def _probe_literals(node, module, seen):
    """Probe names written as literals in `node` and in the grader.checks functions it calls."""
    found = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "probe" and call.args:
            found |= {c.value for c in ast.walk(call.args[0]) if isinstance(c, ast.Constant) and type(c.value) is str}
        if isinstance(func, ast.Attribute) and func.attr == "call":
            found.add("call")  # CheckContext.call asks for the "call" probe
        target = getattr(module, func.id, None) if isinstance(func, ast.Name) else None
        if (inspect.isfunction(target) or inspect.isclass(target)) and target.__module__.startswith(("grader.checks", plugins.KINDS_PACKAGE)):
            key = (target.__module__, target.__qualname__)
            if key not in seen:
                seen.add(key)
                found |= _probe_literals(ast.parse(inspect.getsource(target)), sys.modules[target.__module__], seen)
    return found


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_declares_the_probes_its_code_asks_for_and_the_sandbox_has_them(name):
    kind = KINDS[name]
    used = _probe_literals(ast.parse(inspect.getsource(kind.run)), sys.modules[kind.run.__module__], set())
    assert used <= set(kind.probes), f"{name} asks for {sorted(used - set(kind.probes))} without declaring them"
    assert unknown_probes(kind) == []


@pytest.fixture
def misspelt_kind():
    @check_kind("test_misspelt_probe", probes=("trian_predict",), function=Param((str,)))
    def run(ctx):
        return Verdict(ctx.probe("trian_predict", "training") is None)
    yield KINDS["test_misspelt_probe"]
    del KINDS["test_misspelt_probe"]


def _rubric(tmp_path, kind):
    data = {"assignment": "demo", "checks": [{"id": "c1", "title": "t", "kind": kind, "points": 1,
                                              "visibility": "public", "time_limit": 5,
                                              "params": {"function": "f"}}]}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_misspelt_probe_name_is_refused_when_the_rubric_loads(tmp_path, misspelt_kind):
    with pytest.raises(RubricError) as info:
        rubrics.load_file(_rubric(tmp_path, "test_misspelt_probe"))
    message = str(info.value)
    assert "check 'c1'" in message and "trian_predict" in message and "the grader's check library" in message


def test_a_kind_with_known_probes_loads(tmp_path):
    @check_kind("test_good_probe", probes=("call",), function=Param((str,)))
    def run(ctx):
        return Verdict(True)
    try:
        assert rubrics.load_file(_rubric(tmp_path, "test_good_probe")).checks[0].kind == "test_good_probe"
    finally:
        del KINDS["test_good_probe"]


def test_probes_must_be_a_tuple_of_names():
    with pytest.raises(TypeError, match="probes must be a tuple"):
        check_kind("test_bad_probes", probes="call")


class _Session:
    """Records what would be sent to a child; the check never reaches one."""

    limits = Limits()

    def __init__(self):
        self.asked = []

    def probe(self, name, *args, **kwargs):
        self.asked.append(name)
        raise AssertionError("nothing must reach the child")


def _check(kind):
    return SimpleNamespace(id="c1", title="t", kind=kind, params={"function": "f"}, time_limit=5, seed=0,
                           points=1.0, visibility="public")


def test_an_undeclared_probe_is_refused_before_the_child_and_reported_as_the_graders(tmp_path):
    @check_kind("test_undeclared_probe", probes=("call",))
    def run(ctx):
        return Verdict(ctx.probe("attribute", "reading `X`", name="X") == 3)
    session = _Session()
    try:
        with pytest.raises(UndeclaredProbe, match="'attribute'"):
            CheckContext(_check("test_undeclared_probe"), session, tmp_path).probe("attribute", "reading")
        result = run_check(_check("test_undeclared_probe"), session, tmp_path, None)
    finally:
        del KINDS["test_undeclared_probe"]
    assert session.asked == [] and result.status == "error" and result.message.startswith(INTERNAL)


def test_a_probe_the_sandbox_lacks_is_the_graders_error_and_starts_no_child(tmp_path, misspelt_kind):
    def starter(*args):
        raise AssertionError("no child must start for an unknown probe")
    with ChildSession(tmp_path, tmp_path / "demo.py", "demo", Limits(), starter) as session:
        with pytest.raises(UnknownProbe, match="trian_predict"):
            session.probe("trian_predict", {}, timeout=5)
        result = run_check(_check("test_misspelt_probe"), session, tmp_path, None)
    assert result.status == "error" and result.message.startswith(INTERNAL)


def test_a_child_claiming_a_known_probe_is_unknown_is_blamed():
    assert "call" in child_probes.names()
    error = {"kind": "unknown_probe", "type": "UnknownProbe", "message": "call"}
    message = student_error_message(error, "`f`", Limits(), "call")
    assert "interfered with the grader" in message and INTERNAL not in message


def test_the_child_describes_an_unknown_probe_as_such():
    with pytest.raises(child_probes.UnknownProbe) as info:
        child_probes.run("no_such_probe", None, {}, {})
    assert child_probes.describe_error(info.value, "x.py")["kind"] == "unknown_probe"


def test_a_probe_name_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        child_probes.probe("call")(lambda module, args, blobs: None)
