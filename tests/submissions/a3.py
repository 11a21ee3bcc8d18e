"""Test submissions for a3_fashion_classifier, each named by the behaviour it shows the grader.

Every submission is the reference solution with one small, explicit textual change (a mutant),
as in tests/submissions/lab07.py (whose `replace`, `Submission` and notebook helper this reuses).
`expected` lists the checks that must not pass (status) and `hints` a substring of each one's
message; every other check must pass, except the written answers, which stay `pending`.
`skip` names checks a submission is not graded on, to keep the test file fast: the training
checks are run only for submissions whose change can reach them (those of the small CNN only for
changes of the CNN or of whole modules).

    python -m tests.submissions.a3 DEST         # writes the DEMO submissions into DEST
    python -m tests.submissions.a3 DEST --all   # writes every submission
"""

import sys
from dataclasses import dataclass, field
from functools import partial

from tests.submissions import lab07
from tests.submissions.lab07 import check_ids, replace
from tests.submissions import command_line, write_submissions

ROOT = lab07.ROOT
ASSIGNMENT = "a3_fashion_classifier"
REFERENCE = ROOT / "reference_solutions" / f"{ASSIGNMENT}.py"
RUBRIC = ROOT / "rubric" / f"{ASSIGNMENT}.yaml"
TEMPLATE = ROOT / "student_template" / f"{ASSIGNMENT}.py"
TEMPLATE_NOTEBOOK = ROOT / "student_template" / f"{ASSIGNMENT}.ipynb"
ALL_CHECKS = check_ids(RUBRIC)
MANUAL = ("answer_1_4", "answer_1_5", "answer_1_7")  # written answers: pending until a TA scores them
CNN_TRAINING = frozenset({"cnn_accuracy"})  # the slowest: training the small CNN
SLOW = CNN_TRAINING | {"train", "train_uses_lr", "train_sgd", "train_mean_loss", "lr_sweep"}  # every check that trains


@dataclass(frozen=True)
class Submission(lab07.Submission):
    skip: frozenset = field(default=SLOW)  # checks not graded for this submission (see the docstring)

    def status(self, check_id):
        return self.expected.get(check_id, "pending" if check_id in MANUAL else "passed")

    @property
    def checks(self):
        """The check ids this submission is graded on, in rubric order."""
        return tuple(c for c in ALL_CHECKS if c not in self.skip)


def _edit(*pairs):
    def mutate(source):
        for old, new in pairs:
            source = replace(source, old, new)
        return source
    return mutate


def _unchanged(source):
    return source


def _every(value):
    return {check_id: value for check_id in ALL_CHECKS}


AFTER_IMPORTS = "from torch import nn\n"
TRAIN_STEP = ("            optimizer.zero_grad()\n            loss = loss_fn(model(x), y)\n"
              "            loss.backward()\n            optimizer.step()\n")
CURVE_STEP = ("            optimizer.zero_grad()\n            loss_fn(model(x), y).backward()\n"
              "            curve.append(mean_gradient(model))\n            optimizer.step()\n")
CNN_HEAD = "        nn.Linear(32 * 7 * 7, 10),\n    )"
MEAN = "    return torch.cat(grads).mean().item()"
GRADS = "    grads = [p.grad.flatten() for p in model.parameters() if p.requires_grad and p.grad is not None]\n"
SWEEP = "    return {lr: train(build_mlp(), train_loader, test_loader, epochs, lr) for lr in lrs}"
TRAINING = frozenset()  # run every check
FIGURE_LOSS = '        ax.plot(epochs, history["loss"], marker="o", label=label)\n'

SUBMISSIONS_LIST = [
    Submission("passes_all", "the reference solution, unchanged", _unchanged, skip=TRAINING),
    # ---- Q1.1
    Submission(
        "class_names_misspelt", "CLASS_NAMES spells the last class 'Ankle Boot' (the titles, compared without "
        "case, still pass)",
        _edit(('"Bag", "Ankle boot"]  # SOLUTION', '"Bag", "Ankle Boot"]')),
        expected={"class_names": "failed"}, hints={"class_names": "expected 'Ankle boot'"}),
    Submission(
        "examples_of_one_class", "pick_examples takes the first n images whatever their class",
        _edit(("        if label not in seen:\n", "        if True:\n")),
        expected={"pick_examples": "failed", "pick_examples_hidden": "failed"},
        hints={"pick_examples": "different classes", "pick_examples_hidden": "different classes"}),
    Submission(
        "example_labels_are_tensors", "pick_examples returns each label as a 0-dimensional tensor",
        _edit(("            examples.append((image, label))\n",
               "            examples.append((image, torch.tensor(label)))\n")),
        expected={"pick_examples": "failed", "pick_examples_hidden": "failed"},
        hints={"pick_examples": "should be an int", "pick_examples_hidden": "should be an int"}),
    Submission(
        "examples_relabelled", "pick_examples returns each image with the next class's label",
        _edit(("            examples.append((image, label))\n",
               "            examples.append((image, (label + 1) % 10))\n")),
        expected={"pick_examples": "failed", "pick_examples_hidden": "failed"},
        hints={"pick_examples": "keep each image's own label", "pick_examples_hidden": "own label"}),
    Submission(
        "titles_are_label_numbers", "show_examples titles each panel with the label number",
        _edit(("        ax.set_title(CLASS_NAMES[label])\n", "        ax.set_title(str(label))\n")),
        expected={"show_examples": "failed"}, hints={"show_examples": "class name of its label"}),
    Submission(
        "examples_in_one_panel", "show_examples draws every image into the same panel",
        _edit(("    for ax, (image, label) in zip(axes, examples):\n",
               "    for ax, (image, label) in zip([axes[0]] * len(examples), examples):\n")),
        expected={"show_examples": "failed"}, hints={"show_examples": "panels with an image"}),
    # ---- Q1.2
    Submission(
        "accuracy_in_percent", "train records the accuracy as a percentage",
        _edit(('        history["accuracy"].append(correct / max(seen, 1))\n',
               '        history["accuracy"].append(100 * correct / max(seen, 1))\n')),
        expected={"train": "failed", "train_uses_lr": "failed", "lr_sweep": "failed"},
        hints={"train": "fraction between 0 and 1", "train_uses_lr": "not a percentage",
               "lr_sweep": "fraction between 0 and 1"},
        skip=CNN_TRAINING),
    Submission(
        "accuracy_on_training_data", "train measures the accuracy on train_loader instead of test_loader",
        _edit(("            for x, y in test_loader:\n", "            for x, y in train_loader:\n")),
        expected={"train": "failed", "train_uses_lr": "failed"},
        hints={"train": "accuracy on test_loader", "train_uses_lr": "accuracy on test_loader"},
        skip=CNN_TRAINING),
    Submission(
        "train_ignores_lr", "train always uses SGD at 0.1, whatever `lr` says: only the hidden lr=0 check sees it",
        _edit(("    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n    loss_fn = nn.CrossEntropyLoss()\n"
               "    history = ",
               "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n    loss_fn = nn.CrossEntropyLoss()\n"
               "    history = ")),
        expected={"train_uses_lr": "failed", "train_sgd": "failed"},  # its loss is still a mean: scored on its passes
        hints={"train_uses_lr": "use the `lr` argument", "train_sgd": "stepped SGD at lr=0.1"},
        skip=CNN_TRAINING),
    Submission(
        "train_never_steps", "train computes the gradients but never calls optimizer.step()",
        _edit((TRAIN_STEP, TRAIN_STEP.replace("            optimizer.step()\n", ""))),
        expected={"train": "failed", "train_sgd": "failed", "cnn_accuracy": "failed"},
        hints={"train": "did not change the model's weights", "train_sgd": "did not change the model's weights",
               "cnn_accuracy": "no optimizer step updated the model's parameters"},
        skip=frozenset()),
    Submission(
        "train_uses_adam", "train steps Adam at `lr` instead of SGD: everything else about it is right",
        _edit(("    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n    loss_fn = nn.CrossEntropyLoss()\n"
               "    history = ",
               "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    loss_fn = nn.CrossEntropyLoss()\n"
               "    history = ")),
        expected={"train_sgd": "failed"}, hints={"train_sgd": "stepped Adam at lr=0.5"},
        skip=CNN_TRAINING),
    Submission(
        "train_sums_epoch_loss", "train records the summed loss of the epoch instead of its mean",
        _edit(('        history["loss"].append(total / max(count, 1))\n', '        history["loss"].append(total)\n')),
        expected={"train_mean_loss": "failed"}, hints={"train_mean_loss": "the sum of every sample's loss"},
        skip=CNN_TRAINING),
    Submission(
        "sweep_reuses_one_model", "lr_sweep trains the same build_mlp() for every learning rate",
        _edit((SWEEP, "    model = build_mlp()\n    return {lr: train(model, train_loader, test_loader, epochs, lr) "
                      "for lr in lrs}")),
        expected={"lr_sweep": "failed"}, hints={"lr_sweep": "fresh `build_mlp()` for each learning rate"},
        skip=CNN_TRAINING),
    Submission(
        "sweep_keys_are_strings", "lr_sweep keys its histories by str(lr)",
        _edit((SWEEP, "    return {str(lr): train(build_mlp(), train_loader, test_loader, epochs, lr) for lr in lrs}")),
        expected={"lr_sweep": "failed"}, hints={"lr_sweep": "keyed by the rates themselves"},
        skip=CNN_TRAINING),
    Submission(
        "sweep_ignores_epochs", "lr_sweep always trains for 3 epochs",
        _edit((SWEEP, "    return {lr: train(build_mlp(), train_loader, test_loader, 3, lr) for lr in lrs}")),
        expected={"lr_sweep": "failed"}, hints={"lr_sweep": "should have 2 entries"},
        skip=CNN_TRAINING),
    Submission(
        "curves_without_legend", "plot_loss_curves labels its lines but never calls ax.legend()",
        _edit(("    ax.legend()\n", "")),
        expected={"loss_curves": "failed", "loss_curves_hidden": "failed"},
        hints={"loss_curves": "no legend", "loss_curves_hidden": "no legend"}),
    Submission(
        "curves_without_y_label", "plot_loss_curves labels the x-axis only",
        _edit(('    ax.set_ylabel("mean training loss")\n', "")),
        expected={"loss_curves": "failed", "loss_curves_hidden": "failed"},
        hints={"loss_curves": "the y-axis has no label", "loss_curves_hidden": "label both axes"}),
    Submission(
        "curves_unlabelled", "plot_loss_curves draws the lines without labels",
        _edit((FIGURE_LOSS, '        ax.plot(epochs, history["loss"], marker="o")\n')),
        expected={"loss_curves": "failed", "loss_curves_hidden": "failed"},
        hints={"loss_curves": "has no label", "loss_curves_hidden": "has no label"}),
    Submission(
        "curves_of_accuracy", "plot_loss_curves draws the accuracy instead of the loss",
        _edit((FIGURE_LOSS, '        ax.plot(epochs, history["accuracy"], marker="o", label=label)\n')),
        expected={"loss_curves": "failed", "loss_curves_hidden": "failed"},
        hints={"loss_curves": "shows the loss of run", "loss_curves_hidden": "shows the loss of run"}),
    # ---- Q1.3
    Submission(
        "epochs_counted_from_zero", "epochs_to_reach counts epochs from 0",
        _edit(('enumerate(history["accuracy"], start=1)', 'enumerate(history["accuracy"])')),
        expected={"epochs_to_reach": "failed", "epochs_to_reach_hidden": "failed"},
        hints={"epochs_to_reach": "is 2, expected 3", "epochs_to_reach_hidden": "expected"}),
    Submission(
        "target_must_be_exceeded", "epochs_to_reach needs an accuracy above the target: only the hidden case "
        "reaching it exactly notices",
        _edit(("        if accuracy >= target:\n", "        if accuracy > target:\n")),
        expected={"epochs_to_reach_hidden": "failed"}, hints={"epochs_to_reach_hidden": "is 3, expected 2"}),
    # ---- Q1.4, Q1.5, Q1.7 answers
    Submission(
        "answers_incomplete", "ANSWERS leaves out 1.5 and answers 1.7 with an empty string",
        _edit(('ANSWERS = {"1.4": ANSWER_1_4, "1.5": ANSWER_1_5, "1.7": ANSWER_1_7}',
               'ANSWERS = {"1.4": ANSWER_1_4, "1.7": "  "}')),
        expected={"answer_1_5": "failed", "answer_1_7": "failed"},
        hints={"answer_1_5": "no answer to question 1.5", "answer_1_7": "is empty"}),
    # ---- Q1.5
    Submission(
        "wider_adds_a_layer", "build_wider_mlp adds a hidden layer as well as units",
        _edit(("        nn.Linear(1024, 1024),\n", "        nn.Linear(1024, 1024),\n        nn.ReLU(),\n"
                                                   "        nn.Linear(1024, 1024),\n")),
        expected={"wider": "failed"}, hints={"wider": "but it has 4 Linear layers"}),
    Submission(
        "deeper_is_only_wider", "build_deeper_mlp returns the wider network",
        _edit(("    \"\"\"The base MLP with more hidden layers of the same width.\"\"\"\n    # BEGIN SOLUTION\n",
               "    \"\"\"The base MLP with more hidden layers of the same width.\"\"\"\n    # BEGIN SOLUTION\n"
               "    return build_wider_mlp()\n")),
        expected={"deeper": "failed"}, hints={"deeper": "add hidden layers"}),
    Submission(
        "wider_outputs_probabilities", "build_wider_mlp ends with a Softmax: the shared convention asks for raw logits",
        _edit(("        nn.Linear(1024, 10),\n", "        nn.Linear(1024, 10),\n        nn.Softmax(dim=1),\n")),
        expected={"wider_logits": "failed"}, hints={"wider_logits": "ends in a softmax"}),
    Submission(
        "deeper_outputs_log_probabilities", "build_deeper_mlp ends with a LogSoftmax (the NLLLoss habit)",
        _edit(("        nn.Linear(512, 512),\n        nn.ReLU(),\n        nn.Linear(512, 10),\n    )\n    # END SOLUTION\n\n\n"
               "def count_parameters",
               "        nn.Linear(512, 512),\n        nn.ReLU(),\n        nn.Linear(512, 10),\n        nn.LogSoftmax(dim=1),\n"
               "    )\n    # END SOLUTION\n\n\ndef count_parameters")),
        expected={"deeper_logits": "failed"}, hints={"deeper_logits": "log_softmax"}),
    Submission(
        "counts_frozen_parameters", "count_parameters counts every parameter, frozen ones too: only the hidden "
        "checks with frozen layers notice",
        _edit(("    return sum(p.numel() for p in model.parameters() if p.requires_grad)",
               "    return sum(p.numel() for p in model.parameters())")),
        expected={"count_parameters_frozen": "failed", "count_parameters_cnn": "failed"},
        hints={"count_parameters_frozen": "counts the frozen parameters too",
               "count_parameters_cnn": "only those with requires_grad"}),
    Submission(
        "counts_parameter_tensors", "count_parameters counts parameter tensors instead of their entries",
        _edit(("    return sum(p.numel() for p in model.parameters() if p.requires_grad)",
               "    return len([p for p in model.parameters() if p.requires_grad])")),
        expected={"count_parameters": "failed", "count_parameters_frozen": "failed", "count_parameters_cnn": "failed"},
        hints={"count_parameters": "gives 6 for", "count_parameters_frozen": "trainable parameters",
               "count_parameters_cnn": "gives 2 for"}),
    # ---- Q1.6
    Submission(
        "mean_of_parameter_means", "mean_gradient averages each parameter's mean gradient",
        _edit((MEAN, "    return torch.stack([g.mean() for g in grads]).mean().item()")),
        expected={"mean_gradient": "failed", "mean_gradient_frozen": "failed"},  # the curve records it rightly
        hints={"mean_gradient": "not the mean of each parameter's mean", "mean_gradient_frozen": "trainable",
               "gradient_curve": "values from `mean_gradient`", "gradient_curve_hidden": "own check"}),
    Submission(
        "mean_of_absolute_gradients", "mean_gradient averages the absolute values of the gradients",
        _edit((MEAN, "    return torch.cat(grads).abs().mean().item()")),
        expected={"mean_gradient": "failed", "mean_gradient_frozen": "failed"},  # the curve records it rightly
        hints={"mean_gradient": "mean of the absolute values", "mean_gradient_frozen": "absolute values",
               "gradient_curve": "each after the backward pass", "gradient_curve_hidden": "own check"}),
    Submission(
        "gradients_of_frozen_parameters", "mean_gradient reads every parameter's .grad, which is None for a "
        "frozen one: only the hidden check with a frozen layer notices",
        _edit((GRADS, "    grads = [p.grad.flatten() for p in model.parameters()]\n")),
        expected={"mean_gradient_frozen": "error"}, hints={"mean_gradient_frozen": "AttributeError"}),
    Submission(
        "mean_gradient_returns_tensor", "mean_gradient returns a 0-dimensional tensor instead of a float",
        _edit((MEAN, "    return torch.cat(grads).mean()")),
        expected={"mean_gradient": "failed", "mean_gradient_frozen": "failed"},  # the curve records it rightly
        hints={"mean_gradient": "use .item()", "mean_gradient_frozen": "should be a float",
               "gradient_curve": "values from `mean_gradient`"}),
    Submission(
        "curve_accumulates_gradients", "gradient_curve never zeroes the gradients, so they pile up",
        _edit((CURVE_STEP, CURVE_STEP.replace("            optimizer.zero_grad()\n", ""))),
        expected={"gradient_curve": "failed", "gradient_curve_hidden": "failed"},
        hints={"gradient_curve": "zero the gradients", "gradient_curve_hidden": "at call 2 of `mean_gradient`"}),
    Submission(
        "curve_never_steps", "gradient_curve never calls optimizer.step(), so the model does not change",
        _edit((CURVE_STEP, CURVE_STEP.replace("            optimizer.step()\n", ""))),
        expected={"gradient_curve": "failed", "gradient_curve_hidden": "failed"},
        hints={"gradient_curve": "plain SGD step", "gradient_curve_hidden": "optimizer.step()"}),
    # ---- Q1.7
    Submission(
        "cnn_outputs_probabilities", "build_small_cnn ends with a Softmax: cross-entropy trains it more slowly, "
        "but it trains, which is what the seed asks of Q1.7's CNN; the contract's raw logits lose their point",
        _edit((CNN_HEAD, "        nn.Linear(32 * 7 * 7, 10),\n        nn.Softmax(dim=1),\n    )")),
        expected={"cnn_logits": "failed"}, hints={"cnn_logits": "ends in a softmax"},
        skip=SLOW - CNN_TRAINING),
    Submission(
        "cnn_is_the_mlp", "build_small_cnn returns the base MLP, which has no convolution (its accuracy check "
        "is skipped: the MLP trains well)",
        _edit(("    return nn.Sequential(\n        nn.Conv2d(1, 16, 3, padding=1),",
               "    return build_mlp()\n    return nn.Sequential(\n        nn.Conv2d(1, 16, 3, padding=1),")),
        expected={"cnn_is_convolutional": "failed"}, hints={"cnn_is_convolutional": "has no Conv2d layer"},
        skip=frozenset({"cnn_accuracy"})),
    Submission(
        "cnn_returns_flat_scores", "build_small_cnn flattens its logits to (N * 10,)",
        _edit((CNN_HEAD, "        nn.Linear(32 * 7 * 7, 10),\n        nn.Flatten(0),\n    )")),
        expected={"cnn_shape": "failed", "cnn_logits": "failed", "cnn_accuracy": "error"},
        hints={"cnn_shape": "should have shape (5, 10)", "cnn_logits": "of shape (N, classes)",
               "cnn_accuracy": "ValueError"},
        skip=TRAINING),
    # ---- whole-module failures
    Submission(
        "syntax_error", "a missing colon after `def train(...) -> dict`",
        _edit(("def train(model, train_loader, test_loader, epochs, lr) -> dict:",
               "def train(model, train_loader, test_loader, epochs, lr) -> dict")),
        expected=_every("error"), hints=_every("syntax error"), skip=frozenset(),
        load=("Could not load syntax_error.py: your module has a syntax error: expected ':'",
              "line 111: def train(model, train_loader, test_loader, epochs, lr) -> dict")),
    Submission(
        "raises_on_import", "the module raises RuntimeError right after its imports: that statement is "
        "recorded and skipped, and everything after it is graded",
        _edit((AFTER_IMPORTS, AFTER_IMPORTS + '\nraise RuntimeError("data folder not found")\n')),
        load=("1 statement did not run", "RuntimeError: data folder not found")),
    Submission(
        "template_notebook_with_reference", "the committed template notebook with every stubbed cell "
        "filled in from the reference",
        partial(lab07.template_notebook_with_reference, template_path=TEMPLATE_NOTEBOOK), suffix=".ipynb",
        skip=TRAINING),
]
SUBMISSIONS = {s.name: s for s in SUBMISSIONS_LIST}
assert len(SUBMISSIONS) == len(SUBMISSIONS_LIST), "duplicate submission names"
for _submission in SUBMISSIONS_LIST:
    _unknown = (set(_submission.expected) | set(_submission.hints) | set(_submission.skip)) - set(ALL_CHECKS)
    assert not _unknown, f"{_submission.name}: no check {sorted(_unknown)} in {RUBRIC.name}"
    assert not set(_submission.expected) & set(_submission.skip), f"{_submission.name}: expects a skipped check"

DEMO = ["passes_all", "titles_are_label_numbers", "sweep_reuses_one_model", "mean_of_parameter_means",
        "syntax_error", "template_notebook_with_reference"]


def checks_for(name):
    """The check ids `name` is graded on (all but those it skips)."""
    return SUBMISSIONS[name].checks


def student_template(dest):
    """The student template to grade: the committed one (`dest` is not needed)."""
    return TEMPLATE


def materialize(dest, names=None, reference=None):
    """Write `<dest>/<name><suffix>` for each named submission (all when `names` is None) from the
    reference solution at `reference` (default: the committed one); returns the paths written."""
    return write_submissions(SUBMISSIONS, reference or REFERENCE, dest, names)


def main(argv=None):
    return command_line(__spec__.name if __spec__ else __name__, materialize, DEMO, argv)


if __name__ == "__main__":
    sys.exit(main())
