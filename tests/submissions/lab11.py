"""Test submissions for lab11_fashion_cnn, each named by the behaviour it shows the grader.

As in tests/submissions/lab07.py: every submission is the reference solution with one small,
explicit textual change, `expected` lists the checks that must NOT pass (with their status) and
`hints` a substring each of their messages must contain. Only the submissions in `TRAINED` are
graded with the training check `accuracy` (it trains a CNN for seconds); the others are graded
with every other check (`checks_for`).

    python -m tests.submissions.lab11 DEST         # writes the DEMO submissions into DEST
    python -m tests.submissions.lab11 DEST --all   # writes every submission
"""

import sys
from functools import partial
from pathlib import Path

from tests.submissions.lab07 import Submission, check_ids, replace, template_notebook_with_reference
from tests.submissions import command_line, write_submissions

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "lab11_fashion_cnn"
REFERENCE = ROOT / "reference_solutions" / f"{ASSIGNMENT}.py"
RUBRIC = ROOT / "rubric" / f"{ASSIGNMENT}.yaml"
TEMPLATE = ROOT / "student_template" / f"{ASSIGNMENT}.py"
TEMPLATE_NOTEBOOK = ROOT / "student_template" / f"{ASSIGNMENT}.ipynb"
ALL_CHECKS = check_ids(RUBRIC)
TRAINING_CHECKS = ("accuracy",)


def _edit(*pairs):
    """A mutation applying `replace` for each (old, new) pair in order."""
    def mutate(source):
        for old, new in pairs:
            source = replace(source, old, new)
        return source
    return mutate


def _unchanged(source):
    return source


def _every(value):
    return {check_id: value for check_id in ALL_CHECKS}


def template_with_buggy_loop(reference_source):
    """The student template as the generator makes it, with the template block filled in: the
    buggy `train_epoch` loop the find-the-bugs exercise ships (grader.template_blocks)."""
    from grader import template_blocks
    from grader.assign import make_template

    return template_blocks.fill(make_template(reference_source))


AFTER_IMPORTS = "from torch import nn\n"
OUTPUT_SIZE = "    return (n_in + 2 * padding - kernel_size) // stride + 1\n"
EDGE_1, EDGE_3 = "[[1, 0, -1], [0, 0, 0], [-1, 0, 1]]", "[[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]"
PATCH = "            out[i, j] = (patch * kernel).sum()\n"
BLOCK_2 = ("            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 14, 14)\n"
           "            nn.ReLU(),\n"
           "            nn.MaxPool2d(2),  # (N, 32, 7, 7)\n")
CLASSIFIER = ("            nn.Dropout(0.25),\n            nn.Linear(FASHION_FLATTEN, 128),\n            nn.ReLU(),\n"
              "            nn.Dropout(0.25),\n            nn.Linear(128, 10),\n")
SCHEDULER = "    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.7)\n"
ADAM = "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
ACCUMULATE = "        total += loss.item() * x.size(0)\n"
PREDICT = "    with torch.no_grad():\n        return model(x).argmax(dim=1)\n"
OUTPUT_SIZES = ("output_size", "output_size_hidden", "convolve", "convolve_hidden")
RATES = ("lr_decay", "lr_decay_hidden")
BUG_HINTS = {"bug_zero_grad": "gradients accumulate", "bug_mean_loss": "weigh each batch's loss by its size"}

SUBMISSIONS_LIST = [
    Submission("passes_all", "the reference solution, unchanged", _unchanged),

    # Part 1 - conv_output_size (function_cases against a real Conv2d); convolve2d uses it.
    Submission(
        "output_size_single_padding", "conv_output_size adds the padding once instead of on both sides "
        "(convolve2d, which sizes its result with it, then gets padded cases wrong too)",
        _edit((OUTPUT_SIZE, "    return (n_in + padding - kernel_size) // stride + 1\n")),
        expected={c: "failed" for c in OUTPUT_SIZES},
        hints={"output_size": "expected 28", "output_size_hidden": "conv_output_size(",
               "convolve": "builds on output_size (", "convolve_hidden": "builds on output_size ("}),

    # Part 2 - make_filter (exact values of the lecture's table) and ValueError on an unknown name.
    Submission(
        "box_blur_not_normalized", "box_blur is all ones, not divided by 9",
        _edit(('"box_blur": [[1 / 9] * 3] * 3,', '"box_blur": [[1] * 3] * 3,')),
        expected={"filters": "failed"}, hints={"filters": "make_filter('box_blur')"}),
    Submission(
        "edges_out_of_order", "edge_1 and edge_3 are swapped (not the table's order)",
        _edit((f'"edge_1": {EDGE_1},', f'"edge_1": {EDGE_3},'), (f'"edge_3": {EDGE_3},', f'"edge_3": {EDGE_1},')),
        expected={"filters": "failed"}, hints={"filters": "make_filter('edge_1')"}),
    Submission(
        "unknown_filter_key_error", "make_filter looks the name up without checking it: KeyError, not ValueError",
        _edit(("    if name not in filters:\n        raise ValueError(f\"unknown filter {name!r}; known: "
               "{', '.join(filters)}\")\n", "")),
        expected={"filter_unknown": "failed"}, hints={"filter_unknown": "KeyError"}),

    # Part 3 - convolve2d against F.conv2d.
    Submission(
        "convolve_flips_kernel", "convolve2d flips the kernel (a true convolution, not nn.Conv2d's cross-correlation)",
        _edit((PATCH, "            out[i, j] = (patch * kernel.flip(0, 1)).sum()\n")),
        expected={"convolve": "failed", "convolve_hidden": "failed"},
        hints={"convolve": "the kernel is flipped", "convolve_hidden": "with argument 2 rotated by 180 degrees"}),
    Submission(
        "convolve_ignores_padding", "convolve2d never pads the image and sizes its result without the padding",
        _edit(("    padded = torch.zeros(height + 2 * padding, width + 2 * padding)\n"
               "    padded[padding:padding + height, padding:padding + width] = image\n", "    padded = image\n"),
              ("    out = torch.zeros(conv_output_size(height, kh, padding, stride), conv_output_size(width, kw, padding, stride))\n",
               "    out = torch.zeros(conv_output_size(height, kh, 0, stride), conv_output_size(width, kw, 0, stride))\n")),
        expected={"convolve": "failed", "convolve_hidden": "failed"},
        hints={"convolve": "without `padding=1`: the padding is not applied", "convolve_hidden": "the padding is not applied"}),
    Submission(
        "convolve_ignores_stride", "convolve2d sizes the result for the stride but moves one pixel at a time",
        _edit(("            patch = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]\n",
               "            patch = padded[i:i + kh, j:j + kw]\n")),
        expected={"convolve": "failed", "convolve_hidden": "failed"},
        hints={"convolve": "stride=2", "convolve_hidden": "stride=3"}),
    Submission(
        "convolve_with_unfold", "convolve2d takes the patches with F.unfold and one matrix product: by hand, "
        "as the exercise allows",
        _edit(("    image = torch.as_tensor(image, dtype=torch.float32)\n",
               "    image = torch.as_tensor(image, dtype=torch.float32)\n"
               "    kernel = torch.as_tensor(kernel, dtype=torch.float32)\n"
               "    rows = conv_output_size(image.shape[0], kernel.shape[0], padding, stride)\n"
               "    cols = conv_output_size(image.shape[1], kernel.shape[1], padding, stride)\n"
               "    patches = F.unfold(image[None, None], kernel.shape, padding=padding, stride=stride)\n"
               "    return (kernel.reshape(1, -1) @ patches[0]).reshape(rows, cols)\n"))),
    Submission(
        "convolve_with_conv2d", "convolve2d calls F.conv2d itself: the values are right, but the exercise asks "
        "for loops or unfold",
        _edit(("    image = torch.as_tensor(image, dtype=torch.float32)\n",
               "    image = torch.as_tensor(image, dtype=torch.float32)\n"
               "    kernel = torch.as_tensor(kernel, dtype=torch.float32)\n"
               "    return F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]\n")),
        expected={"convolve_by_hand": "failed"}, hints={"convolve_by_hand": "calls torch's conv2d"}),

    # Part 4 - SimpleCNN exactly as the lecture, and SIMPLE_FLATTEN.
    Submission(
        "simple_conv2_kernel_3", "SimpleCNN's conv2 has a 3x3 kernel, so fc gets 500 features, not 320",
        _edit(("nn.Conv2d(10, 20, kernel_size=5)", "nn.Conv2d(10, 20, kernel_size=3)")),
        expected={"simple_shape": "failed", "simple_parameters": "failed", "simple_architecture": "error",
                  "simple_logits": "failed"},
        hints={"simple_shape": "your layers:", "simple_parameters": "expected 8,490 trainable",
               "simple_architecture": "SimpleCNN.forward", "simple_logits": "fails on an input of shape (16, 1, 28, 28)"}),
    Submission(
        "simple_avg_pooling", "SimpleCNN pools with nn.AvgPool2d, not the lecture's max pooling (same shapes)",
        _edit(("self.mp = nn.MaxPool2d(2)", "self.mp = nn.AvgPool2d(2)")),
        expected={"simple_architecture": "failed"}, hints={"simple_architecture": "avg_pool2d"}),
    Submission(
        "simple_softmax", "SimpleCNN returns F.softmax of its logits (probabilities)",
        _edit(("        return self.fc(x)\n", "        return F.softmax(self.fc(x), dim=1)\n")),
        expected={"simple_logits": "failed"}, hints={"simple_logits": "ends in a softmax"}),
    Submission(
        "simple_flatten_wrong", "SIMPLE_FLATTEN is 500 (computed with one pooling too few); fc uses the literal 320",
        _edit(("SIMPLE_FLATTEN = 20 * 4 * 4  # SOLUTION", "SIMPLE_FLATTEN = 20 * 5 * 5"),
              ("nn.Linear(SIMPLE_FLATTEN, 10)", "nn.Linear(320, 10)")),
        expected={"simple_flatten": "failed"}, hints={"simple_flatten": "is 500"}),

    # Part 5 - FashionCNN's architecture, dropout and FASHION_FLATTEN.
    Submission(
        "fashion_one_conv_block", "FashionCNN has a single convolutional block (FASHION_FLATTEN adjusted to match)",
        _edit((BLOCK_2, ""), ("FASHION_FLATTEN = 32 * 7 * 7  # SOLUTION", "FASHION_FLATTEN = 16 * 14 * 14")),
        expected={"fashion_architecture": "failed"}, hints={"fashion_architecture": "but it has 1"}),
    Submission(
        "fashion_no_activation_in_block_2", "FashionCNN's second convolution has pooling but no activation",
        _edit((BLOCK_2, BLOCK_2.replace("            nn.ReLU(),\n", ""))),
        expected={"fashion_architecture": "failed"}, hints={"fashion_architecture": "activation NO, pooling yes"}),
    Submission(
        "fashion_two_filters", "FashionCNN's first convolution has only 2 filters",
        _edit(("nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 28, 28)",
               "nn.Conv2d(1, 2, kernel_size=3, padding=1),  # (N, 2, 28, 28)"),
              ("nn.Conv2d(16, 32, kernel_size=3, padding=1)", "nn.Conv2d(2, 32, kernel_size=3, padding=1)")),
        expected={"fashion_architecture": "failed"}, hints={"fashion_architecture": "has 2"}),
    Submission(
        "fashion_no_dropout", "FashionCNN's classifier has no dropout",
        _edit((CLASSIFIER, CLASSIFIER.replace("            nn.Dropout(0.25),\n", ""))),
        expected={"fashion_architecture": "failed", "fashion_dropout": "failed"},
        hints={"fashion_architecture": "no dropout", "fashion_dropout": "dropout is not active"}),
    Submission(
        "fashion_dropout_always_on", "FashionCNN's forward adds F.dropout(x, 0.25), whose `training` defaults "
        "to True, so dropout stays on in eval mode",
        _edit(("        return self.classifier(self.features(x))\n",
               "        return self.classifier(F.dropout(self.features(x), 0.25))\n")),
        expected={"fashion_dropout": "failed"}, hints={"fashion_dropout": "still active after model.eval()"}),
    Submission(
        "fashion_log_softmax", "FashionCNN returns log-probabilities (F.log_softmax at the end); it still trains "
        "with cross-entropy",
        _edit(("        return self.classifier(self.features(x))\n",
               "        return F.log_softmax(self.classifier(self.features(x)), dim=1)\n")),
        expected={"fashion_logits": "failed"}, hints={"fashion_logits": "log_softmax"}),
    Submission(
        "fashion_flatten_wrong", "FASHION_FLATTEN is 32 * 14 * 14 (one pooling forgotten); the Linear layer "
        "uses the right literal 1568",
        _edit(("FASHION_FLATTEN = 32 * 7 * 7  # SOLUTION", "FASHION_FLATTEN = 32 * 14 * 14"),
              ("nn.Linear(FASHION_FLATTEN, 128)", "nn.Linear(1568, 128)")),
        expected={"fashion_flatten": "failed"}, hints={"fashion_flatten": "feeds 1,568 features"}),

    # Part 6 - learning-rate decay.
    Submission(
        "no_lr_decay", "the scheduler keeps the rate constant (gamma 1.0)",
        _edit((SCHEDULER, SCHEDULER.replace("gamma=0.7", "gamma=1.0"))),
        expected={"lr_decay": "failed", "lr_decay_hidden": "failed", "fit_history": "failed"},
        hints={"lr_decay": "should lower the learning rate", "lr_decay_hidden": "should lower the learning rate",
               "fit_history": "should decay"}),
    Submission(
        "lr_rises", "the scheduler multiplies the rate by 1.3 an epoch",
        _edit((SCHEDULER, SCHEDULER.replace("gamma=0.7", "gamma=1.3"))),
        expected={"lr_decay": "failed", "lr_decay_hidden": "failed", "fit_history": "failed"},
        hints={"lr_decay": "never go up", "lr_decay_hidden": "never go up", "fit_history": "never go up"}),
    Submission(
        "step_lr_every_5_epochs", "StepLR(step_size=5): the rate drops within the public check's 10 epochs, but "
        "not within the hidden check's 4 or fit's 3",
        _edit((SCHEDULER, "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)\n")),
        expected={"lr_decay_hidden": "failed", "fit_history": "failed"},
        hints={"lr_decay_hidden": "after 4 steps", "fit_history": "should decay"}),
    Submission(
        "optimizer_misses_parameters", "make_optimizer leaves the model's first parameter out",
        _edit((ADAM, "    optimizer = torch.optim.Adam(list(model.parameters())[1:], lr=lr)\n")),
        expected={c: "failed" for c in RATES}, hints={c: "misses 0.weight" for c in RATES}),
    Submission(
        "optimizer_ignores_lr", "make_optimizer always uses lr=0.001",
        _edit((ADAM, "    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)\n")),
        expected={c: "failed" for c in RATES},
        hints={"lr_decay": "should start at 0.01", "lr_decay_hidden": "should start at 0.25"}),

    # Part 6 - the two bugs of train_epoch, and train mode.
    Submission(
        "no_zero_grad", "train_epoch never calls optimizer.zero_grad(): gradients accumulate (bug 1 left in)",
        _edit(("        optimizer.zero_grad()\n", "")),
        expected={"bug_zero_grad": "failed"}, hints={"bug_zero_grad": "gradients accumulate"}),
    Submission(
        "sum_of_batch_means_over_samples", "train_epoch adds the batch means but divides by the number of "
        "samples (bug 2 left in, as the template ships it)",
        _edit((ACCUMULATE, "        total += loss.item()\n")),
        expected={"bug_mean_loss": "failed"}, hints={"bug_mean_loss": "weigh each batch's loss by its size"}),
    Submission(
        "mean_of_batch_means", "train_epoch returns the mean of the batch means (wrong when the last batch is smaller)",
        _edit((ACCUMULATE, "        total += loss.item()\n"), ("        count += x.size(0)\n", "        count += 1\n")),
        expected={"bug_mean_loss": "failed"}, hints={"bug_mean_loss": "the mean of the batch means"}),
    Submission(
        "no_train_mode", "train_epoch never calls model.train(), so after a prediction it trains in eval mode",
        _edit(("    model.train()\n", "")),
        expected={"train_mode": "failed"}, hints={"train_mode": "call model.train()"}),
    Submission(
        "fit_returns_losses_only", "fit returns the list of losses instead of the dict",
        _edit(("    return history\n", '    return history["loss"]\n')),
        expected={"fit_history": "failed"}, hints={"fit_history": "should return a dict"}),
    Submission(
        "fit_never_steps_scheduler", "fit never calls scheduler.step()",
        _edit(("        scheduler.step()\n", "")),
        expected={"fit_history": "failed"}, hints={"fit_history": "should decay"}),
    Submission(
        "fit_reports_planned_rates", "fit never steps the scheduler and reports the rates it should have had "
        "(lr * 0.7 ** epoch)",
        _edit(('        history["lr"].append(optimizer.param_groups[0]["lr"])\n',
               '        history["lr"].append(lr * 0.7 ** len(history["lr"]))\n'),
              ("        scheduler.step()\n", "")),
        expected={"fit_history": "failed"}, hints={"fit_history": "but its optimizer stepped at"}),
    Submission(
        "scheduler_stepped_every_batch", "fit trains with a loop of its own that steps the scheduler after every "
        "batch, so the rate collapses within the first epoch",
        _edit(("        history[\"loss\"].append(train_epoch(model, loader, criterion, optimizer))\n        scheduler.step()\n",
               "        model.train()\n        total, count = 0.0, 0\n        for x, y in loader:\n"
               "            optimizer.zero_grad()\n            loss = criterion(model(x), y)\n            loss.backward()\n"
               "            optimizer.step()\n            scheduler.step()\n"
               "            total += loss.item() * x.size(0)\n            count += x.size(0)\n"
               "        history[\"loss\"].append(total / count)\n")),
        expected={"fit_history": "failed"}, hints={"fit_history": "changed within epoch 1"}),

    # Part 7 - predict.
    Submission(
        "predict_in_train_mode", "predict does not call model.eval()",
        _edit(("    model.eval()\n", "")),
        expected={"predict": "failed"}, hints={"predict": "call model.eval()"}),
    Submission(
        "predict_tracks_gradients", "predict runs without torch.no_grad()",
        _edit((PREDICT, "    return model(x).argmax(dim=1)\n")),
        expected={"predict": "failed"}, hints={"predict": "torch.no_grad()"}),

    # Whole submissions.
    Submission(
        "syntax_error", "a missing colon after `def make_filter(name) -> torch.Tensor`",
        _edit(("def make_filter(name) -> torch.Tensor:", "def make_filter(name) -> torch.Tensor")),
        expected=_every("error"), hints=_every("syntax error"),
        load=("Could not load syntax_error.py: your module has a syntax error: expected ':'",
              "line 54: def make_filter(name) -> torch.Tensor")),
    Submission(
        "template_with_buggy_loop", "the student template with the find-the-bugs block filled in: everything "
        "stubbed except train_epoch, which has the two bugs",
        template_with_buggy_loop,
        expected={**_every("error"), "simple_flatten": "failed", "fashion_flatten": "failed",
                  "bug_zero_grad": "failed", "bug_mean_loss": "failed"},
        hints={**_every("not implemented yet"), **BUG_HINTS}),
    Submission(
        "template_notebook_with_reference", "the committed template notebook with every stubbed cell "
        "filled in from the reference",
        partial(template_notebook_with_reference, template_path=TEMPLATE_NOTEBOOK), suffix=".ipynb"),
]
SUBMISSIONS = {s.name: s for s in SUBMISSIONS_LIST}
assert len(SUBMISSIONS) == len(SUBMISSIONS_LIST), "duplicate submission names"
for _submission in SUBMISSIONS_LIST:
    _unknown = (set(_submission.expected) | set(_submission.hints)) - set(ALL_CHECKS)
    assert not _unknown, f"{_submission.name}: no check {sorted(_unknown)} in {RUBRIC.name}"

# Graded with the training check too; every other submission without it.
TRAINED = {"passes_all", "template_notebook_with_reference", "syntax_error", "template_with_buggy_loop"}
DEMO = ["passes_all", "fashion_dropout_always_on", "no_zero_grad", "template_with_buggy_loop",
        "template_notebook_with_reference"]


def checks_for(name):
    """The check ids `name` is graded with."""
    if name in TRAINED:
        return ALL_CHECKS
    return tuple(c for c in ALL_CHECKS if c not in TRAINING_CHECKS)


def student_template(dest):
    """The student template to grade: the committed one (`dest` is not needed)."""
    return TEMPLATE


# What the committed template's messages say instead of "not implemented yet": once it ships the
# buggy loop (grader.template_blocks fills the block), the bug checks name the bugs.
_SHIPS_BUGGY_LOOP = 'raise NotImplementedError("train_epoch' not in TEMPLATE.read_text(encoding="utf-8")
TEMPLATE_HINTS = BUG_HINTS if _SHIPS_BUGGY_LOOP else {}


def materialize(dest, names=None, reference=None):
    """Write `<dest>/<name><suffix>` for each named submission (all when `names` is None) from the
    reference solution at `reference` (default: the committed one); returns the paths written."""
    return write_submissions(SUBMISSIONS, reference or REFERENCE, dest, names)


def main(argv=None):
    return command_line(__spec__.name if __spec__ else __name__, materialize, DEMO, argv)


if __name__ == "__main__":
    sys.exit(main())
