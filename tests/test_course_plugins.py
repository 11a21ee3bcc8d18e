"""Course plug-ins (grader/plugins.py): a course's own kinds and probes in rubric/plugins/, registered
under the built-ins' rules when one of its rubrics loads, and only the probes reach the sandbox."""

import textwrap

import pytest

from grader import plugins
from grader import rubric as rubrics
from grader.checks.registry import KINDS
from grader.errors import GraderError, RubricError
from grader.grading import Options, grade_file
from grader.sandbox import bwrap

KIND = '''
from grader.checks.registry import Fail, Param, Verdict, check_kind

from .wording import listed


@check_kind("{kind}", probes=("{probe}",), function=Param((str,)))
def run(ctx):
    """The student's function returns an empty list (test kind)."""
    found = ctx.probe("{probe}", "calling it", function=ctx.params["function"])
    if found:
        raise Fail("reached from the sandbox: " + listed(found))
    return Verdict(True, "nothing reached")
'''
WORDING = "def listed(items):\n    return ', '.join(str(i) for i in items)\n"
PROBE = '''
from grader.sandbox.probes import call, probe

from .shared import as_list


@probe("{probe}")
def run(module, args, blobs):
    return as_list(call(module, args["function"]))
'''
SHARED = "def as_list(value):\n    return [str(v) for v in value]\n"


def _course(root, tag, kind=None, probe=None, declared=None):
    """A course folder with one rubric whose check uses the plug-in kind (names made unique by `tag`)."""
    kind, probe = kind or f"test_reach_{tag}", probe or f"test_reach_probe_{tag}"
    files = {"rubric/plugins/kinds/reach.py": KIND.format(kind=kind, probe=declared or probe),
             "rubric/plugins/kinds/wording.py": WORDING,
             "rubric/plugins/probes/reach.py": PROBE.format(probe=probe),
             "rubric/plugins/probes/shared.py": SHARED,
             "reference_solutions/reach.py": "def leaks():\n    return []\n",
             f"rubric/reach.yaml": textwrap.dedent(f"""\
                 assignment: reach
                 checks:
                 - {{id: reach, title: nothing reached, kind: {kind}, points: 1, visibility: public,
                    time_limit: 60, params: {{function: leaks}}}}
                 """)}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root / "rubric" / "reach.yaml"


def test_plugin_kinds_register_only_when_a_rubric_of_the_course_loads(tmp_path):
    path = _course(tmp_path, "load")
    assert "test_reach_load" not in KINDS
    rubric = rubrics.load_file(path)
    assert KINDS["test_reach_load"].probes == ("test_reach_probe_load",)
    assert [name for name, _ in rubric.probe_sources] == ["reach.py", "shared.py"]
    assert rubrics.load_file(path).probe_sources == rubric.probe_sources  # loaded once, not refused the second time


def test_a_plugin_kind_named_like_a_builtin_one_is_refused(tmp_path):
    path = _course(tmp_path, "dup", kind="min_accuracy")
    with pytest.raises(GraderError, match="min_accuracy.*registered twice"):
        rubrics.load_file(path)


def test_a_plugin_probe_named_like_a_builtin_one_is_refused(tmp_path):
    path = _course(tmp_path, "dupprobe", probe="call")
    with pytest.raises(GraderError, match="probe 'call' is registered twice"):
        rubrics.load_file(path)


def test_a_plugin_kind_asking_for_a_probe_nobody_registers_is_refused_at_load(tmp_path):
    path = _course(tmp_path, "undeclared", declared="test_no_such_probe")
    with pytest.raises(RubricError, match="test_no_such_probe"):
        rubrics.load_file(path)


LEAKS = '''
import importlib
import sys


def leaks():
    found = []
    for name in ("grader.checks", "grader.rubric", "grader.plugins", "grader.relabel", "grader.grading",
                 "{package}", "{package}.reach"):
        try:
            importlib.import_module(name)
            found.append(name)
        except Exception:
            pass
    for path in ({kind_file!r}, {rubric_file!r}):
        try:
            open(path).read()
            found.append(path)
        except OSError:
            pass
    if "course_probes.reach" not in sys.modules:
        found.append("the course probes are missing")
    return found
'''


@pytest.mark.sandbox
@pytest.mark.skipif(not bwrap.available()[0], reason="needs bubblewrap: the process backend mounts nothing")
def test_a_submission_reaches_no_parent_side_module_nor_a_plugin_kind(tmp_path):
    path = _course(tmp_path / "course", "sandbox")
    rubric = rubrics.load_file(path)
    package = plugins.kind_module(path.parent, "reach").__name__.rpartition(".")[0]
    submission = tmp_path / "reach.py"
    submission.write_text(LEAKS.format(package=package, kind_file=str(path.parent / "plugins/kinds/reach.py"),
                                       rubric_file=str(path)))
    [result] = grade_file(submission, rubric, Options(sandbox="bwrap")).checks
    assert result.status == "passed", result.message
    # the same submission outside the sandbox reads the plug-in kind: the check can fail
    [result] = grade_file(submission, rubric, Options(sandbox="process")).checks
    assert result.status == "failed" and "plugins/kinds/reach.py" in result.message, result.message
