"""Test submissions for cnn_foundations, each named by the behaviour it shows the grader.

As in tests/submissions/lab07.py: every submission is the reference solution with one small,
explicit textual change (`replace` insists on exactly one match); `expected` lists the checks that
must NOT pass with their status, every other graded check must pass; `hints` gives a substring
each of those checks' messages must contain (case-insensitive).

Grading budget: a submission is graded on the cheap checks (everything but the VGG16 builds and
the autoencoder's training run) plus the expensive checks listed in its `extra` (those that run
the code it changes); the reference, the template and the notebook are graded on every check.

    python -m tests.submissions.foundations DEST         # writes the DEMO submissions into DEST
    python -m tests.submissions.foundations DEST --all   # writes every submission
"""

import sys
from dataclasses import dataclass

from tests.submissions import lab07
from tests.submissions.lab07 import check_ids
from tests.submissions import command_line, write_submissions

ROOT = lab07.ROOT
ASSIGNMENT = "cnn_foundations"
REFERENCE = ROOT / "reference_solutions" / f"{ASSIGNMENT}.py"
RUBRIC = ROOT / "rubric" / f"{ASSIGNMENT}.yaml"
TEMPLATE = ROOT / "student_template" / f"{ASSIGNMENT}.py"
TEMPLATE_NOTEBOOK = ROOT / "student_template" / f"{ASSIGNMENT}.ipynb"

ALL_CHECKS = check_ids(RUBRIC)
VGG = ("vgg_transfer", "vgg_transfer_hidden")
TRAINING = ("autoencoder_reconstruction",)
EXPENSIVE = VGG + TRAINING
CHEAP = tuple(c for c in ALL_CHECKS if c not in EXPENSIVE)
TRANSFORMS = ("train_transform", "train_transform_hidden")
INIT_STATS = ("init_uniform", "init_normal", "init_normal_hidden")


@dataclass(frozen=True)
class Submission(lab07.Submission):
    extra: tuple = ()  # expensive checks graded besides the cheap ones
    full: bool = False  # graded on every check

    @property
    def checks(self):
        """The check ids this submission is graded on, in rubric order."""
        chosen = set(CHEAP) | set(self.extra) | set(self.expected)
        return tuple(c for c in ALL_CHECKS if self.full or c in chosen)


def replace(text, old, new):
    """`text` with `old` replaced by `new`; `old` must occur exactly once."""
    count = text.count(old)
    if count != 1:
        raise ValueError(f"the mutation expects {old!r} exactly once in the reference, found it {count} time(s); "
                         "the reference changed: update tests/submissions/foundations.py")
    return text.replace(old, new)


def _edit(*pairs):
    def mutate(source):
        for old, new in pairs:
            source = replace(source, old, new)
        return source
    return mutate


def _unchanged(source):
    return source


def _same(checks, value):
    return {check_id: value for check_id in checks}


def template_notebook_with_reference(reference_source):
    return lab07.template_notebook_with_reference(reference_source, TEMPLATE_NOTEBOOK)


NORMALIZE = "        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),\n"
TRAIN_TAIL = "        transforms.RandomRotation(10),\n        transforms.ToTensor(),\n" + NORMALIZE
TEST_HEAD = "    return transforms.Compose([\n        transforms.ToTensor(),\n" + NORMALIZE
FAN_IN = "layer.weight[0].numel()"
BIAS_ZERO = "                if layer.bias is not None:\n                    layer.bias.zero_()\n"
SCHEME_GUARD = ("    if scheme not in (\"uniform\", \"normal\"):\n        raise ValueError(f\"unknown initialisation "
                "scheme {scheme!r}: use 'uniform' or 'normal'\")\n")
FREEZE = "    for param in model.features.parameters():\n        param.requires_grad = False\n"
SGD = "torch.optim.SGD(model.classifier.parameters(), lr=lr)"
SIGMOID = "        return torch.sigmoid(self.t_conv2(x))  # (N, 1, 28, 28)\n"

SUBMISSIONS_LIST = [
    Submission("passes_all", "the reference solution, unchanged", _unchanged, full=True),
    # ---- transforms
    Submission(
        "train_no_flip", "train_transform leaves out RandomHorizontalFlip",
        _edit(("        transforms.RandomHorizontalFlip(),\n", "")),
        expected=_same(TRANSFORMS, "failed"), hints=_same(TRANSFORMS, "flipped the image horizontally never")),
    Submission(
        "train_vertical_flip", "train_transform flips vertically instead of horizontally",
        _edit(("transforms.RandomHorizontalFlip()", "transforms.RandomVerticalFlip()")),
        expected=_same(TRANSFORMS, "failed"), hints=_same(TRANSFORMS, "is not a horizontal flip")),
    Submission(
        "train_rotates_30", "train_transform rotates by up to 30 degrees",
        _edit(("transforms.RandomRotation(10)", "transforms.RandomRotation(30)")),
        expected=_same(TRANSFORMS, "failed"), hints=_same(TRANSFORMS, "must stay within 10 degrees")),
    Submission(
        "train_no_rotation", "train_transform leaves out RandomRotation",
        _edit(("        transforms.RandomRotation(10),\n", "")),
        expected=_same(TRANSFORMS, "failed"), hints=_same(TRANSFORMS, "hardly rotates")),
    Submission(
        "train_not_normalized", "train_transform converts to a tensor but does not normalize (values in [0, 1])",
        _edit((TRAIN_TAIL, "        transforms.RandomRotation(10),\n        transforms.ToTensor(),\n")),
        expected=_same(TRANSFORMS, "failed"), hints=_same(TRANSFORMS, "without the normalization")),
    Submission(
        "test_augments", "test_transform flips at random too",
        _edit((TEST_HEAD, "    return transforms.Compose([\n        transforms.RandomHorizontalFlip(),\n"
                          "        transforms.ToTensor(),\n" + NORMALIZE)),
        expected={"test_transform": "failed"}, hints={"test_transform": "must not augment"}),
    Submission(
        "test_not_normalized", "test_transform only converts to a tensor",
        _edit((TEST_HEAD, "    return transforms.Compose([\n        transforms.ToTensor(),\n")),
        expected={"test_transform": "failed"}, hints={"test_transform": "without the normalization"}),
    # ---- flattening
    Submission(
        "flatten_whole_batch", "flatten_images flattens the whole batch into one vector",
        _edit(("return x.reshape(x.shape[0], -1)", "return x.flatten()")),
        expected=_same(("flatten_images", "flatten_images_hidden"), "failed"),
        hints=_same(("flatten_images", "flatten_images_hidden"), "should have shape")),
    # ---- weight initialisation
    Submission(
        "init_fan_out", "init_weights uses y = 1/sqrt(number of output units) instead of the fan-in",
        _edit((FAN_IN, "layer.weight.shape[0]")),
        expected=_same(INIT_STATS, "failed"), hints=_same(INIT_STATS, "y uses the fan-in")),
    Submission(
        "init_bias_untouched", "init_weights leaves the biases as they were",
        _edit((BIAS_ZERO, "")),
        expected=_same(INIT_STATS, "failed"), hints=_same(INIT_STATS, "set every bias to 0")),
    Submission(
        "init_normal_variance_y", "init_weights 'normal' uses y as the variance (std y**2)",
        _edit(("layer.weight.normal_(0.0, y)", "layer.weight.normal_(0.0, y * y)")),
        expected=_same(("init_normal", "init_normal_hidden"), "failed"),
        hints=_same(("init_normal", "init_normal_hidden"), "but N(0, y) has std y")),
    Submission(
        "init_normal_is_uniform", "init_weights 'normal' draws from a uniform distribution with std y",
        _edit(("layer.weight.normal_(0.0, y)", "layer.weight.uniform_(-y * 3 ** 0.5, y * 3 ** 0.5)")),
        expected=_same(("init_normal", "init_normal_hidden"), "failed"),
        hints=_same(("init_normal", "init_normal_hidden"), "not normally distributed")),
    Submission(
        "init_top_level_only", "init_weights only visits the model's direct children, missing nested layers",
        _edit(("for layer in model.modules():", "for layer in model.children():")),
        expected=_same(INIT_STATS, "failed"), hints=_same(INIT_STATS, "nested ones too")),
    Submission(
        "init_accepts_any_scheme", "init_weights does not refuse an unknown scheme",
        _edit((SCHEME_GUARD, "")),
        expected={"init_unknown_scheme": "failed"}, hints={"init_unknown_scheme": "returned without an error"}),
    # ---- the training loop
    Submission(
        "epoch_mean_of_batches", "train_one_epoch averages the batch losses instead of the samples' losses",
        _edit(("        train_loss += loss.item() * data.size(0)\n", "        train_loss += loss.item()\n"),
              ("    return train_loss / count\n", "    return train_loss / len(loader)\n")),
        expected=_same(("train_one_epoch", "train_one_epoch_hidden"), "failed"),
        hints=_same(("train_one_epoch", "train_one_epoch_hidden"), "mean of the batch losses")),
    Submission(
        "epoch_no_zero_grad", "train_one_epoch never clears the gradients",
        _edit(("        optimizer.zero_grad()\n", "")),
        expected=_same(("train_one_epoch", "train_one_epoch_hidden"), "failed"),
        hints=_same(("train_one_epoch", "train_one_epoch_hidden"), "optimizer.zero_grad()")),
    Submission(
        "epoch_no_step", "train_one_epoch never calls optimizer.step()",
        _edit(("        optimizer.step()\n", "")),
        expected=_same(("train_one_epoch", "train_one_epoch_hidden"), "failed"),
        hints=_same(("train_one_epoch", "train_one_epoch_hidden"), "did not change")),
    Submission(
        "evaluate_train_mode", "evaluate never calls model.eval()",
        _edit(("    model.eval()\n    total_loss", "    total_loss")),
        expected=_same(("evaluate", "evaluate_hidden"), "failed"),
        hints=_same(("evaluate", "evaluate_hidden"), "call model.eval()")),
    Submission(
        "evaluate_with_gradients", "evaluate runs without torch.no_grad()",
        _edit(("    with torch.no_grad():\n        for data, target in loader:",
               "    if True:\n        for data, target in loader:")),
        expected=_same(("evaluate", "evaluate_hidden"), "failed"),
        hints=_same(("evaluate", "evaluate_hidden"), "torch.no_grad()")),
    # ---- transfer learning
    Submission(
        "vgg_features_not_frozen", "build_vgg_transfer does not freeze `features`",
        _edit((FREEZE, "")), extra=VGG[:1],
        expected={"vgg_transfer": "failed"}, hints={"vgg_transfer": "`features` is not frozen"}),
    Submission(
        "vgg_head_always_5", "build_vgg_transfer ignores num_classes and always makes 5 outputs: only the hidden "
        "check (3 classes) notices",
        _edit(("nn.Linear(model.classifier[6].in_features, num_classes)",
               "nn.Linear(model.classifier[6].in_features, 5)")),
        extra=VGG, expected={"vgg_transfer_hidden": "failed"}, hints={"vgg_transfer_hidden": "Linear(4096, 3)"}),
    Submission(
        "vgg_is_vgg11", "build_vgg_transfer starts from VGG11 instead of VGG16",
        _edit(("    model = torchvision.models.vgg16(weights=weights)",
               "    model = torchvision.models.vgg11(weights=weights)")),
        extra=VGG[:1], expected={"vgg_transfer": "failed"}, hints={"vgg_transfer": "is not torchvision's VGG16"}),
    Submission(
        "optimizer_all_parameters", "transfer_optimizer optimizes model.parameters(), frozen features included",
        _edit((SGD, "torch.optim.SGD(model.parameters(), lr=lr)")),
        extra=VGG[:1], expected={"vgg_transfer": "failed"}, hints={"vgg_transfer": "only the classifier's parameters"}),
    Submission(
        "optimizer_fixed_lr", "transfer_optimizer ignores `lr` and always uses 0.001: only the hidden check notices",
        _edit((SGD, "torch.optim.SGD(model.classifier.parameters(), lr=0.001)")),
        extra=VGG, expected={"vgg_transfer_hidden": "failed"}, hints={"vgg_transfer_hidden": "should be 0.05"}),
    # ---- the autoencoder
    Submission(
        "autoencoder_no_sigmoid", "ConvAutoencoder's decoder ends without a sigmoid, so outputs leave [0, 1]",
        _edit((SIGMOID, "        return self.t_conv2(x)  # (N, 1, 28, 28)\n")), extra=TRAINING,
        expected={"autoencoder_interface": "failed"},
        hints={"autoencoder_interface": "end the decoder with a sigmoid"}),
    Submission(
        "autoencoder_sigmoid_twice", "ConvAutoencoder squashes its output twice, so it cannot reach black or white "
        "and reconstructs badly",
        _edit((SIGMOID, "        return torch.sigmoid(torch.sigmoid(self.t_conv2(x)))\n")), extra=TRAINING,
        expected={"autoencoder_reconstruction": "failed"}, hints={"autoencoder_reconstruction": "above the accepted"}),
    Submission(
        "autoencoder_no_compression", "ConvAutoencoder's code has 20 channels of 7x7: 980 values, more than the 784 "
        "pixels of the input",
        _edit(("nn.Conv2d(16, 4, 3, padding=1)", "nn.Conv2d(16, 20, 3, padding=1)"),
              ("nn.ConvTranspose2d(4, 16, 2, stride=2)", "nn.ConvTranspose2d(20, 16, 2, stride=2)")),
        extra=TRAINING, expected={"autoencoder_interface": "failed"},
        hints={"autoencoder_interface": "must be compressed"}),
    Submission(
        "autoencoder_wrong_size", "ConvAutoencoder's last transposed convolution has kernel 3: outputs are 29x29",
        _edit(("nn.ConvTranspose2d(16, 1, 2, stride=2)", "nn.ConvTranspose2d(16, 1, 3, stride=2)")), extra=TRAINING,
        expected={"autoencoder_shape": "failed", "autoencoder_reconstruction": "failed"},
        hints={"autoencoder_shape": "should have shape (5, 1, 28, 28)",
               "autoencoder_reconstruction": "(N, 1, 28, 28)"}),
    # ---- style transfer
    Submission(
        "gram_not_averaged", "gram_matrix returns F Fᵀ without dividing by H * W",
        _edit(("return flat @ flat.T / (height * width)", "return flat @ flat.T")),
        expected=_same(("gram_matrix", "gram_matrix_hidden"), "failed"),
        hints={"gram_matrix": "times 20", "gram_matrix_hidden": "the expected result times"}),
    # ---- the whole module
    Submission(
        "syntax_error", "a missing colon after `def gram_matrix(features) -> torch.Tensor`",
        _edit(("def gram_matrix(features) -> torch.Tensor:", "def gram_matrix(features) -> torch.Tensor")),
        expected=_same(CHEAP, "error"), hints=_same(CHEAP, "syntax error"),
        load=("Could not load syntax_error.py: your module has a syntax error: expected ':'",
              "line 255: def gram_matrix(features) -> torch.Tensor")),
    Submission(
        "template_notebook_with_reference", "the committed template notebook with every stubbed cell filled in from "
        "the reference", template_notebook_with_reference, suffix=".ipynb", full=True),
]
SUBMISSIONS = {s.name: s for s in SUBMISSIONS_LIST}
assert len(SUBMISSIONS) == len(SUBMISSIONS_LIST), "duplicate submission names"
for _submission in SUBMISSIONS_LIST:
    _unknown = (set(_submission.expected) | set(_submission.hints) | set(_submission.extra)) - set(ALL_CHECKS)
    assert not _unknown, f"{_submission.name}: no check {sorted(_unknown)} in {RUBRIC.name}"

DEMO = ["passes_all", "train_no_flip", "epoch_mean_of_batches", "vgg_features_not_frozen",
        "autoencoder_sigmoid_twice", "template_notebook_with_reference"]


def checks_for(name):
    """The check ids `name` is graded on: the cheap ones and its `extra`, or every one when `full`."""
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
