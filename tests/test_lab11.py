"""lab11_fashion_cnn end to end: the test submissions of tests/submissions/lab11.py, the committed
student template, the find-the-bugs template block (grader.template_blocks) and the parent-side
pieces of grader/checks/lab11_*.py.

Each submission is graded once, by a module-wide pool of threads started as soon as the first
test asks; only the submissions in `lab11.TRAINED` are graded with the training check.
"""

import ast
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader import rubric as rubrics
from grader import template_blocks
from grader.assign import make_template
from grader import plugins
from grader.checks.registry import KINDS
from grader.rubric import RUBRIC_DIR
from grader.errors import GraderError
from grader.grading import Options, grade_file
from tests.submissions import lab11
from tests.submissions.lab11 import ALL_CHECKS, SUBMISSIONS

conv_block_structure = plugins.kind_module(RUBRIC_DIR, "conv_structure")


def _plugin(kind):
    """Is `kind` one of the course's plug-in kinds (rubric/plugins/kinds/)?"""
    return KINDS[kind].run.__module__.startswith(plugins.KINDS_PACKAGE)


TEMPLATE_KEY = "<student template>"
WORKERS = int(os.environ.get("GRADER_TEST_WORKERS") or max(1, min(4, os.cpu_count() or 1)))
BUG_HINTS = {"bug_zero_grad": "gradients accumulate", "bug_mean_loss": "weigh each batch's loss by its size"}


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rubric():
    return rubrics.load(lab11.ASSIGNMENT)


@pytest.fixture(scope="module")
def reference():
    return lab11.REFERENCE.read_text(encoding="utf-8")


class Grades:
    """Grades submissions in a thread pool; `grades[name]` waits for (result, seconds)."""

    def __init__(self, directory, rubric):
        self.directory, self.rubric = directory, rubric
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grade")
        self.futures = {}

    def start(self, names):
        for name in names:
            if name not in self.futures:
                self.futures[name] = self.pool.submit(self._grade, name)

    def __getitem__(self, name):
        self.start([name])
        return self.futures[name].result()

    def _grade(self, name):
        if name == TEMPLATE_KEY:
            path, only = lab11.TEMPLATE, ALL_CHECKS
        else:
            [path] = lab11.materialize(self.directory, [name])
            only = lab11.checks_for(name)
        started = time.monotonic()
        result = grade_file(path, self.rubric, Options(only=only))
        return result, time.monotonic() - started

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _needed(session):
    """The grades the selected tests of this module ask for: the training ones first, then in test order."""
    names = []
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.append(callspec.params["name"])
        names.extend(getattr(getattr(item, "function", None), "grades", ()))
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: n not in lab11.TRAINED)


def uses_grades(*names):
    def mark(function):
        function.grades = names
        return function
    return mark


@pytest.fixture(scope="module")
def grades(request, tmp_path_factory, rubric):
    pool = Grades(tmp_path_factory.mktemp("lab11-submissions"), rubric)
    pool.start(_needed(request.session))
    yield pool
    pool.close()


def _describe(result):
    return "\n".join(f"  {c.id}: {c.status}: {c.message}" for c in result.checks)


# ---- the submissions library (fast) ---------------------------------------------------------------

def test_every_mutation_applies_and_changes_the_reference(reference):
    for name, submission in SUBMISSIONS.items():
        text = submission.text(reference)
        assert (text == reference) == (name == "passes_all"), name
        if submission.suffix == ".py" and name != "syntax_error":
            ast.parse(text)
        for check_id, status in submission.expected.items():
            assert status in ("failed", "error", "timeout"), (name, check_id, status)
        assert set(submission.expected) <= set(submission.hints), f"{name}: give a hint for each non-pass"
        graded = set(lab11.checks_for(name))
        assert set(submission.expected) <= graded, f"{name}: expects a result of a check it is not graded with"
    with pytest.raises(SyntaxError):
        ast.parse(SUBMISSIONS["syntax_error"].text(reference))


def test_every_check_is_proved_both_ways():
    """Each check passes for the reference and fails for at least one named submission."""
    failing = {c for s in SUBMISSIONS.values() if s.name != "syntax_error" for c in s.expected}
    assert set(ALL_CHECKS) <= failing | {"simple_shape", "fashion_shape", "accuracy"}, set(ALL_CHECKS) - failing
    new_kinds = {c.kind for c in rubrics.load(lab11.ASSIGNMENT).checks if _plugin(c.kind)}
    by_kind = {c.id: c.kind for c in rubrics.load(lab11.ASSIGNMENT).checks}
    proved = {by_kind[c] for c in failing if _plugin(by_kind[c])}
    assert new_kinds == proved, new_kinds - proved


def test_notebook_variant_fills_every_stub_of_the_template(reference):
    notebook = json.loads(SUBMISSIONS["template_notebook_with_reference"].text(reference))
    template = json.loads(lab11.TEMPLATE_NOTEBOOK.read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in notebook["cells"]] == [c["cell_type"] for c in template["cells"]]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]
    assert not any(marker in s for s in sources for marker in ("not implemented yet", "TODO: replace None"))
    assert any("optimizer.zero_grad()" in s and "def fit(" in s for s in sources)


def test_materialize_writes_the_named_files(tmp_path):
    paths = lab11.materialize(tmp_path, ["passes_all", "template_notebook_with_reference"])
    assert [p.name for p in paths] == ["passes_all.py", "template_notebook_with_reference.ipynb"]
    with pytest.raises(KeyError, match="nosuch"):
        lab11.materialize(tmp_path, ["nosuch"])


def test_calibration_record_matches_the_rubric(rubric):
    import yaml

    record = yaml.safe_load(rubric.path.with_name(f"{lab11.ASSIGNMENT}.calibration.yaml").read_text(encoding="utf-8"))
    thresholds = {c.id: c.params["threshold"] for c in rubric.checks if c.kind == "min_accuracy"}
    assert {r["check"] for r in record["checks"]} == set(thresholds)
    for entry in record["checks"]:
        assert len(entry["seeds"]) >= 5 and entry["min"] == min(entry["accuracies"])
        assert thresholds[entry["check"]] <= entry["recommended_threshold"] < entry["min"]
        check = next(c for c in rubric.checks if c.id == entry["check"])
        assert entry["budget"] == {k: check.params[k] for k in entry["budget"]}
        assert entry["budget"]["train_size"] <= 5000 and entry["budget"]["epochs"] <= 3  # CI's time budget


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


# ---- grading each submission --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_submission(name, grades, rubric):
    submission = SUBMISSIONS[name]
    result, _ = grades[name]
    graded = lab11.checks_for(name)
    statuses = {c.id: c.status for c in result.checks}
    assert list(statuses) == list(graded)
    wrong = {i: (statuses[i], submission.status(i)) for i in graded if statuses[i] != submission.status(i)}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{_describe(result)}"
    for check in result.checks:
        assert check.points == (check.max_points if check.status == "passed" else 0), check
        if check.status != "passed":
            assert check.message.strip(), f"{name}: {check.id} failed without a message"
    assert result.max_score == sum(c.points for c in rubric.checks if c.id in graded)
    if not submission.expected:
        assert result.score == result.max_score
    elif set(submission.expected) >= set(graded):
        assert result.score == 0
    else:
        assert 0 < result.score < result.max_score
    messages = {c.id: c.message for c in result.checks}
    missing = {i: hint for i, hint in submission.hints.items()
               if i in messages and hint.lower() not in messages[i].lower()}
    assert not missing, f"{name}: hints missing from the messages {missing}\n{_describe(result)}"


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(TEMPLATE_KEY)
def test_student_template_gets_zero_with_clear_messages(grades, rubric):
    result, _ = grades[TEMPLATE_KEY]
    assert [c.id for c in result.checks] == list(ALL_CHECKS)
    assert result.score == 0 and result.max_score == rubric.max_score, _describe(result)
    assert all(c.status in ("failed", "error") for c in result.checks), _describe(result)
    ships_buggy_loop = 'raise NotImplementedError("train_epoch' not in lab11.TEMPLATE.read_text(encoding="utf-8")
    for check in result.checks:
        hint = BUG_HINTS.get(check.id) if ships_buggy_loop else None
        assert (hint or "not implemented yet") in check.message, _describe(result)


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades("passes_all")
def test_the_reference_trains_to_the_calibrated_accuracy_in_time(grades, rubric):
    result, seconds = grades["passes_all"]
    [accuracy] = [c for c in result.checks if c.id == "accuracy"]
    assert accuracy.status == "passed" and accuracy.value >= 0.74, accuracy
    assert accuracy.seconds < 60, f"training took {accuracy.seconds:.0f} s"
    assert any(a.kind == "curve" and len(a.data) == 2 for a in accuracy.artifacts)
