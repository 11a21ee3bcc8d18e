"""a3_fashion_classifier beyond what every assignment satisfies (tests/test_every_assignment.py):
the rubric's coverage of the contract, the pure parts of its plug-in kinds, the reference's
figures and report, the written answers a TA grades, and `grader check` with pending answers.

The grades come from the session's pool (tests/conftest.py): each submission on the checks it
declares (all but the slow training checks unless its change can reach them).
"""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from grader import plugins
from grader.rubric import RUBRIC_DIR
from grader.cli import main as cli
from grader.report import render_report
from tests.conftest import is_plugin_kind, uses_grades
from tests.submissions import a3
from tests.submissions.a3 import ALL_CHECKS, MANUAL, SUBMISSIONS

a3_data, a3_models, a3_training = (plugins.kind_module(RUBRIC_DIR, m) for m in ("examples", "gradients", "histories"))

ASSIGNMENT = a3.ASSIGNMENT


# ---- the submissions library and the rubric (fast) ----------------------------------------------------

def test_every_new_check_kind_is_failed_by_some_submission(rubric):
    kinds_failed = {check.kind for check in rubric.checks
                    if any(check.id in s.expected for s in SUBMISSIONS.values()
                           if set(s.expected) != set(ALL_CHECKS))}
    new = {check.kind for check in rubric.checks if is_plugin_kind(check.kind)}
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


def test_notebook_variant_fills_every_stub_of_the_template(tmp_path):
    [path] = a3.materialize(tmp_path, ["template_notebook_with_reference"])
    notebook = json.loads(path.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]
    assert not any(marker in s for s in sources for marker in a3.lab07.STUB_MARKERS)


# ---- graded -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(ASSIGNMENT, "passes_all")
def test_reference_gets_full_marks_and_its_figures_reach_the_report(grades, rubric):
    result, seconds = grades[ASSIGNMENT, "passes_all"]
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
def test_cli_check_exits_0_when_only_answers_are_pending(tmp_path):
    [path] = a3.materialize(tmp_path, ["passes_all"])
    result = CliRunner().invoke(cli, ["check", str(path), "--assignment", a3.ASSIGNMENT, "--only", "class_names",
                                      "--only", "answer_1_4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "PENDING" in result.output and "PASS" in result.output
    assert "Score: 1 / 3 (1 of 2 checks passed)" in result.output
