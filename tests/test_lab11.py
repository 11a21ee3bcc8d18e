"""lab11_fashion_cnn beyond what every assignment satisfies (tests/test_every_assignment.py): its
submissions library, the find-the-bugs template block (grader.template_blocks), the parent-side
pieces of its plug-in kinds and the reference's training run.

The grades come from the session's pool (tests/conftest.py); only the submissions in
`lab11.TRAINED` are graded with the training check.
"""

import ast
import json
import re

import pytest

from grader import rubric as rubrics
from grader import template_blocks
from grader.assign import make_template
from grader import plugins
from grader.rubric import RUBRIC_DIR
from grader.errors import GraderError
from tests.conftest import is_plugin_kind, uses_grades
from tests.submissions import lab11
from tests.submissions.lab11 import ALL_CHECKS, SUBMISSIONS

ASSIGNMENT = lab11.ASSIGNMENT
conv_block_structure = plugins.kind_module(RUBRIC_DIR, "conv_structure")


@pytest.fixture(scope="module")
def reference():
    return lab11.REFERENCE.read_text(encoding="utf-8")


# ---- the submissions library (fast) ---------------------------------------------------------------

def test_every_check_is_proved_both_ways():
    """Each check passes for the reference and fails for at least one named submission."""
    failing = {c for s in SUBMISSIONS.values() if s.name != "syntax_error" for c in s.expected}
    assert set(ALL_CHECKS) <= failing | {"simple_shape", "fashion_shape", "accuracy"}, set(ALL_CHECKS) - failing
    new_kinds = {c.kind for c in rubrics.load(lab11.ASSIGNMENT).checks if is_plugin_kind(c.kind)}
    by_kind = {c.id: c.kind for c in rubrics.load(lab11.ASSIGNMENT).checks}
    proved = {by_kind[c] for c in failing if is_plugin_kind(by_kind[c])}
    assert new_kinds == proved, new_kinds - proved


def test_notebook_variant_fills_every_stub_of_the_template(reference):
    notebook = json.loads(SUBMISSIONS["template_notebook_with_reference"].text(reference))
    template = json.loads(lab11.TEMPLATE_NOTEBOOK.read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in notebook["cells"]] == [c["cell_type"] for c in template["cells"]]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]
    assert not any(marker in s for s in sources for marker in ("not implemented yet", "TODO: replace None"))
    assert any("optimizer.zero_grad()" in s and "def fit(" in s for s in sources)


# ---- the find-the-bugs template block ---------------------------------------------------------------

def test_filled_template_ships_train_epoch_with_the_two_bugs(reference):
    filled = template_blocks.fill(make_template(reference))
    assert template_blocks.has_blocks(reference) and not template_blocks.has_blocks(filled)
    functions = {n.name: n for n in ast.walk(ast.parse(filled)) if isinstance(n, ast.FunctionDef)}
    body = ast.get_source_segment(filled, functions["train_epoch"])
    assert "NotImplementedError" not in body and "loss.backward()" in body and "optimizer.step()" in body
    assert "zero_grad" not in body  # bug 1
    assert "total += loss.item()\n" in body and "len(loader.dataset)" in body  # bug 2
    for name in ("conv_output_size", "make_filter", "convolve2d", "make_optimizer", "fit", "predict"):
        assert f'raise NotImplementedError("{name}: not implemented yet")' in filled, name
    assert "BEGIN TEMPLATE" not in filled and "SOLUTION" not in filled


def test_the_reference_runs_the_fixed_loop(reference):
    functions = {n.name: n for n in ast.walk(ast.parse(reference)) if isinstance(n, ast.FunctionDef)}
    code = ast.unparse(functions["train_epoch"])  # comments (the template block) are gone
    assert "optimizer.zero_grad()" in code and "len(loader.dataset)" not in code


def test_committed_template_is_the_generator_output_with_or_without_blocks_filled(reference):
    """While grader.assign does not fill template blocks, the template stubs train_epoch and keeps the
    buggy loop as comments; once it does, the template ships the buggy loop."""
    committed = lab11.TEMPLATE.read_text(encoding="utf-8")
    plain = make_template(reference)
    assert committed in (plain, template_blocks.fill(plain))


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    # BEGIN TEMPLATE\n    # return 1\n    # END TEMPLATE\n", "must directly follow"),
    ('def f():\n    raise NotImplementedError("f: not implemented yet")\n    # BEGIN TEMPLATE\n    # return 1\n',
     "never closed"),
    ('def f():\n    raise NotImplementedError("f: not implemented yet")\n    # BEGIN TEMPLATE\n    return 1\n'
     "    # END TEMPLATE\n", "must be '# ' + code"),
    ("x = 1\n# END TEMPLATE\n", "without a matching"),
    ('def f():\n    raise NotImplementedError("f: not implemented yet")\n  # BEGIN TEMPLATE\n  # return 1\n'
     "  # END TEMPLATE\n", "same indentation"),
])
def test_malformed_template_blocks_are_refused(source, problem):
    with pytest.raises(GraderError, match=re.escape(problem)):
        template_blocks.fill(source)


def test_fill_keeps_blank_lines_and_indentation():
    source = ('def f(x):\n    """Doc."""\n    raise NotImplementedError("f: not implemented yet")\n'
              "    # BEGIN TEMPLATE\n    # y = x\n    #\n    # if y:\n    #     return y\n    # END TEMPLATE\n")
    assert template_blocks.fill(source) == 'def f(x):\n    """Doc."""\n    y = x\n\n    if y:\n        return y\n'


# ---- parent-side pieces -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("conv2d", "conv"), ("relu_", "act"), ("leaky_relu", "act"),
                                        ("max_pool2d", "pool"), ("adaptive_avg_pool2d", "pool"),
                                        ("dropout", "dropout"), ("feature_alpha_dropout", "dropout"),
                                        ("linear", "linear"), ("__matmul__", "linear"), ("view", None)])
def test_traced_functions_are_classified(name, kind):
    assert conv_block_structure.category(name) == kind


def test_blocks_pair_each_convolution_with_what_follows_it():
    conv = ("conv", "conv2d", (2, 1, 28, 28), (8, 1, 3, 3))
    ops = [conv, ("act", "relu", None, None), ("pool", "max_pool2d", None, None),
           ("conv", "conv2d", (2, 8, 13, 13), (16, 8, 3, 3)), ("pool", "max_pool2d", None, None),
           ("linear", "linear", (2, 400), (10, 400)), ("act", "relu", None, None)]
    blocks = conv_block_structure._blocks(ops)
    assert [(b["act"], b["pool"], b["filters"]) for b in blocks] == [(True, True, 8), (False, True, 16)]
    assert conv_block_structure._first_linear_after_convs(ops)[2] == (2, 400)


# ---- graded -------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(ASSIGNMENT, "passes_all")
def test_the_reference_trains_to_the_calibrated_accuracy_in_time(grades):
    result, seconds = grades[ASSIGNMENT, "passes_all"]
    [accuracy] = [c for c in result.checks if c.id == "accuracy"]
    assert accuracy.status == "passed" and accuracy.value >= 0.74, accuracy
    assert accuracy.seconds < 60, f"training took {accuracy.seconds:.0f} s"
    assert any(a.kind == "curve" and len(a.data) == 2 for a in accuracy.artifacts)
