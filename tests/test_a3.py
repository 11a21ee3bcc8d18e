"""a3_fashion_classifier end to end: the behaviour-named submissions of tests/submissions/a3.py, the
student template, the reference's report, and the pure parts of its check kinds.

Each submission is graded once, on the checks it declares (all but the two slow training checks
unless its change can reach them), by a module-wide pool of threads started as soon as the first
test asks; the tests then only read the results.
"""

import ast
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner

from grader import rubric as rubrics
from grader import plugins
from grader.checks.registry import KINDS
from grader.rubric import RUBRIC_DIR
from grader.cli import main as cli
from grader.grading import Options, grade_file
from grader.report import render_report
from tests.submissions import a3
from tests.submissions.a3 import ALL_CHECKS, MANUAL, SUBMISSIONS

a3_data, a3_models, a3_training = (plugins.kind_module(RUBRIC_DIR, m) for m in ("examples", "gradients", "histories"))


def _plugin(kind):
    """Is `kind` one of the course's plug-in kinds (rubric/plugins/kinds/)?"""
    return KINDS[kind].run.__module__.startswith(plugins.KINDS_PACKAGE)


ROOT = a3.ROOT
TEMPLATE = ROOT / "student_template" / f"{a3.ASSIGNMENT}.py"
TEMPLATE_KEY = "<student template>"
WORKERS = int(os.environ.get("GRADER_TEST_WORKERS") or max(1, min(4, os.cpu_count() or 1)))


# ---- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rubric():
    return rubrics.load(a3.ASSIGNMENT)


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
            path, only = TEMPLATE, ()
        else:
            [path] = a3.materialize(self.directory, [name])
            only = SUBMISSIONS[name].checks
        started = time.monotonic()
        result = grade_file(path, self.rubric, Options(only=only))
        return result, time.monotonic() - started

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def uses_grades(*names):
    def mark(function):
        function.grades = names
        return function
    return mark


def _needed(session):
    """The grades the selected tests of this module read, the slowest (full grades) first."""
    names = []
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.append(callspec.params["name"])
        names.extend(getattr(getattr(item, "function", None), "grades", ()))
    names = list(dict.fromkeys(names))
    full = lambda n: n == TEMPLATE_KEY or not SUBMISSIONS[n].skip  # noqa: E731
    return sorted(names, key=lambda n: not full(n))


@pytest.fixture(scope="module")
def grades(request, tmp_path_factory, rubric):
    pool = Grades(tmp_path_factory.mktemp("submissions"), rubric)
    pool.start(_needed(request.session))
    yield pool
    pool.close()


def _describe(result):
    return "\n".join(f"  {c.id}: {c.status}: {c.message}" for c in result.checks)


# ---- the submissions library and the rubric (fast) ----------------------------------------------------

def test_every_mutation_applies_and_changes_the_reference():
    reference = a3.REFERENCE.read_text(encoding="utf-8")
    for name, submission in SUBMISSIONS.items():
        text = submission.text(reference)
        assert (text == reference) == (name == "passes_all"), name
        if submission.suffix == ".py" and name != "syntax_error":
            ast.parse(text)
        for check_id, status in submission.expected.items():
            assert status in ("failed", "error", "timeout"), (name, check_id, status)
        assert set(submission.expected) <= set(submission.hints), f"{name}: give a hint for each non-pass"
    with pytest.raises(SyntaxError):
        ast.parse(SUBMISSIONS["syntax_error"].text(reference))


def test_every_new_check_kind_is_failed_by_some_submission(rubric):
    kinds_failed = {check.kind for check in rubric.checks
                    if any(check.id in s.expected for s in SUBMISSIONS.values()
                           if set(s.expected) != set(ALL_CHECKS))}
    new = {check.kind for check in rubric.checks if _plugin(check.kind)}
    assert new <= kinds_failed, f"kinds without a failing submission: {sorted(new - kinds_failed)}"
    assert "function_cases" in kinds_failed


def test_rubric_checks_cover_the_contract(rubric):
    functions = {c.params.get(k) for c in rubric.checks for k in ("function", "factory", "name", "model")}
    for name in ("CLASS_NAMES", "pick_examples", "show_examples", "train", "lr_sweep", "plot_loss_curves",
                 "epochs_to_reach", "build_wider_mlp", "build_deeper_mlp", "count_parameters", "mean_gradient",
                 "gradient_curve", "build_small_cnn", "ANSWERS", "build_mlp"):
        assert name in functions, name
    assert {c.params["key"] for c in rubric.checks if c.kind == "written_answer"} == {"1.4", "1.5", "1.7"}
    assert {c.id for c in rubric.checks if c.kind == "written_answer"} == set(MANUAL)
    assert {c.visibility for c in rubric.checks} == {"public", "hidden"}


def test_class_names_are_matched_whole_and_without_case():
    names = a3_data.FASHION_CLASSES
    assert a3_data._classes_named("Shirt", names) == {6}
    assert a3_data._classes_named("T-shirt/top", names) == {0}
    assert a3_data._classes_named("label 0: t-shirt/top", names) == {0}
    assert a3_data._classes_named("ankle boot (9)", names) == {9}
    assert a3_data._classes_named("7", names) == set()
    assert a3_data._classes_named("Shirt or Coat", names) == {4, 6}


def test_a_run_is_named_by_its_number_in_any_notation_or_by_its_name():
    assert a3_training._run_named("lr = 0.001", 0.001)
    assert a3_training._run_named("lr=1e-3", 0.001)
    assert a3_training._run_named("learning rate 1", 1)
    assert not a3_training._run_named("lr = 0.1", 1)
    assert not a3_training._run_named("run 2", 0.01)
    assert a3_training._run_named("deeper MLP", "Deeper")


def test_made_up_histories_differ_run_to_run():
    histories = a3_training._fake_histories([1, 0.1, 0.01], 5, seed=3)
    curves = [h["loss"] for h in histories.values()]
    assert all(len(c) == 5 for c in curves)
    assert all(not np.allclose(a, b, atol=1e-3) for i, a in enumerate(curves) for b in curves[i + 1:])
    assert histories == a3_training._fake_histories([1, 0.1, 0.01], 5, seed=3)


def test_the_parents_mean_gradient_is_over_trainable_entries():
    import torch

    generator = torch.Generator().manual_seed(0)
    weights = [(torch.rand(4, 784, generator=generator) - 0.5, torch.rand(4, generator=generator) - 0.5),
               (torch.rand(3, 4, generator=generator) - 0.5, torch.rand(3, generator=generator) - 0.5)]
    model = a3_models._grader_mlp(weights, frozen={0})
    x, y = torch.rand(5, 1, 28, 28, generator=generator), torch.tensor([0, 1, 2, 1, 0])
    torch.nn.CrossEntropyLoss()(model(x), y).backward()
    mean, scale = a3_models._mean_gradient(model)
    grads = torch.cat([model[3].weight.grad.flatten(), model[3].bias.grad.flatten()]).double()
    assert math.isclose(mean, float(grads.mean()), rel_tol=1e-12)
    assert math.isclose(scale, float(grads.abs().mean()), rel_tol=1e-12)


def test_materialize_and_main(tmp_path):
    paths = a3.materialize(tmp_path / "out", ["passes_all", "template_notebook_with_reference"])
    assert [p.name for p in paths] == ["passes_all.py", "template_notebook_with_reference.ipynb"]
    notebook = json.loads(paths[1].read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]
    assert not any(marker in s for s in sources for marker in a3.lab07.STUB_MARKERS)
    assert a3.main([str(tmp_path / "demo")]) == 0
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(
        n + SUBMISSIONS[n].suffix for n in a3.DEMO)


# ---- grading each submission ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_submission(name, grades, rubric):
    submission = SUBMISSIONS[name]
    result, _ = grades[name]
    statuses = {c.id: c.status for c in result.checks}
    assert list(statuses) == list(submission.checks)
    wrong = {i: (statuses[i], submission.status(i)) for i in statuses if statuses[i] != submission.status(i)}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{_describe(result)}"
    for check in result.checks:
        assert check.points == (check.max_points if check.status == "passed" else 0), check
        if check.status != "passed":
            assert check.message.strip(), f"{name}: {check.id} without a message"
    manual = sum(c.max_points for c in result.checks if c.id in MANUAL and c.status == "pending")
    if not submission.expected:
        assert result.score == result.max_score - manual  # full marks, manual items aside
    elif set(submission.expected) == set(ALL_CHECKS):
        assert result.score == 0
    else:
        assert 0 < result.score < result.max_score - manual
    messages = {c.id: c.message for c in result.checks}
    missing = {i: hint for i, hint in submission.hints.items() if hint.lower() not in messages[i].lower()}
    assert not missing, f"{name}: hints missing from the messages {missing}\n{_describe(result)}"


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades("passes_all")
def test_reference_gets_full_marks_and_its_figures_reach_the_report(grades, rubric):
    result, seconds = grades["passes_all"]
    assert [c.id for c in result.checks] == list(ALL_CHECKS)
    pending = {c.id for c in result.checks if c.status == "pending"}
    assert pending == set(MANUAL)
    assert result.score == rubric.max_score - sum(c.points for c in rubric.checks if c.id in MANUAL)
    for check in result.checks:
        if check.id in MANUAL:
            assert "a TA grades it" in check.message and "words" in check.message
    by_id = {c.id: c for c in result.checks}
    for check_id in ("show_examples", "loss_curves", "loss_curves_hidden"):
        [artifact] = by_id[check_id].artifacts
        assert artifact.kind == "png" and artifact.data.startswith(b"\x89PNG")
    assert by_id["cnn_accuracy"].value >= 0.7
    html = render_report(result, "passes_all.py")
    assert html.count("data:image/png;base64,") >= 3
    assert "pending (a TA grades it)" in html


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(TEMPLATE_KEY)
def test_student_template_gets_zero_with_not_implemented_messages(grades, rubric):
    result, _ = grades[TEMPLATE_KEY]
    assert [c.id for c in result.checks] == list(ALL_CHECKS)
    assert all(c.status in ("failed", "error") for c in result.checks), _describe(result)
    assert result.score == 0 and result.max_score == rubric.max_score
    vague = [c.id for c in result.checks if "not implemented yet" not in c.message]
    assert not vague, _describe(result)


@pytest.mark.slow
@pytest.mark.sandbox
def test_cli_check_exits_0_when_only_answers_are_pending(tmp_path):
    [path] = a3.materialize(tmp_path, ["passes_all"])
    result = CliRunner().invoke(cli, ["check", str(path), "--assignment", a3.ASSIGNMENT, "--only", "class_names",
                                      "--only", "answer_1_4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "PENDING" in result.output and "PASS" in result.output
    assert "Score: 1 / 3 (1 of 2 checks passed)" in result.output
