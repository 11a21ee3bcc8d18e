"""Test submissions for lab07_convnets, each named by the behaviour it shows the grader.

Every submission is the reference solution with one small, explicit textual change (a mutant),
so the repository holds no second copy of the solution and a reference edit that makes a
mutation inapplicable fails loudly (`replace` insists on exactly one match).

`expected` lists the checks that must NOT pass and their status; every other check of the
rubric must pass. `hints` gives, per check, a substring its message must contain (compared
case-insensitively), which proves the message tells the student what is wrong.

    python -m tests.submissions.lab07 DEST         # writes the DEMO submissions into DEST
    python -m tests.submissions.lab07 DEST --all   # writes every submission
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml
from tests.submissions import command_line, write_submissions

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "lab07_convnets"
REFERENCE = ROOT / "reference_solutions" / f"{ASSIGNMENT}.py"
RUBRIC = ROOT / "rubric" / f"{ASSIGNMENT}.yaml"
TEMPLATE = ROOT / "student_template" / f"{ASSIGNMENT}.py"
TEMPLATE_NOTEBOOK = ROOT / "student_template" / f"{ASSIGNMENT}.ipynb"
# What a stubbed cell of the template contains (see grader.assign.make_template).
STUB_MARKERS = ("not implemented yet", "TODO: replace None with your answer")


def check_ids(rubric_path=RUBRIC):
    """The check ids of the rubric, in rubric order (read as plain YAML: no torch import)."""
    raw = yaml.safe_load(Path(rubric_path).read_text(encoding="utf-8"))
    return tuple(check["id"] for check in raw["checks"])


ALL_CHECKS = check_ids()


@dataclass(frozen=True)
class Submission:
    name: str
    description: str
    mutate: Callable[[str], str]  # reference source -> submission text (a .py module or notebook JSON)
    expected: dict = field(default_factory=dict)  # check id -> status, for the checks that must not pass
    hints: dict = field(default_factory=dict)  # check id -> substring of the message (case-insensitive)
    suffix: str = ".py"
    load: tuple = ()  # substrings the load report (the banner said once) must contain
    # A shortcoming of the grader this submission exposes: while set, the hints are expected to be
    # missing from the messages (the test xfails), and a hint that shows up means it was fixed.
    known_issue: str = ""
    # check id -> seconds: graded under this time limit instead of the rubric's (a hang is cut short)
    time_limits: dict = field(default_factory=dict)

    def text(self, reference_source):
        return self.mutate(reference_source)

    def status(self, check_id):
        """The status this submission must get for `check_id`."""
        return self.expected.get(check_id, "passed")


def replace(text, old, new):
    """`text` with `old` replaced by `new`; `old` must occur exactly once."""
    count = text.count(old)
    if count != 1:
        raise ValueError(f"the mutation expects {old!r} exactly once in the reference, found it {count} time(s); "
                         "the reference changed: update tests/submissions/lab07.py")
    return text.replace(old, new)


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
    """The same value for every check of the rubric."""
    return {check_id: value for check_id in ALL_CHECKS}


AFTER_IMPORTS = "from torch import nn\n"
SOBEL_CHANNELS = "        conv.weight[0, 0] = sobel\n        conv.weight[1, 0] = sobel.T\n"
FREEZE = "    for param in model.parameters():\n        param.requires_grad = False\n"
TRAINABLE_SGD = "torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)"
ADAM = "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
SHAPES = 'return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}'


def template_notebook_with_reference(reference_source, template_path=TEMPLATE_NOTEBOOK):
    """The committed template notebook with each stubbed code cell replaced by the reference's
    corresponding cell (from `grader.assign.make_notebook`, which keeps the template's cell
    structure); every other cell must be identical in both."""
    from grader.assign import make_notebook

    template = json.loads(Path(template_path).read_text(encoding="utf-8"))
    solved = json.loads(make_notebook(reference_source))
    if len(template["cells"]) != len(solved["cells"]):
        raise ValueError(f"{template_path} has {len(template['cells'])} cells but the reference makes "
                         f"{len(solved['cells'])}; regenerate the template with `grader assign`")
    replaced = 0
    for index, (cell, answer) in enumerate(zip(template["cells"], solved["cells"])):
        source = _cell_text(cell)
        if cell["cell_type"] != answer["cell_type"]:
            raise ValueError(f"cell {index + 1} is {cell['cell_type']} in the template but {answer['cell_type']} "
                             "in the reference's notebook")
        if cell["cell_type"] == "code" and any(marker in source for marker in STUB_MARKERS):
            cell["source"] = answer["source"]
            replaced += 1
        elif source != _cell_text(answer):
            raise ValueError(f"cell {index + 1} of {template_path} has no stub but differs from the reference; "
                             "regenerate the template with `grader assign`")
    if replaced == 0:
        raise ValueError(f"{template_path} has no stubbed code cell")
    return json.dumps(template, indent=1, ensure_ascii=False) + "\n"


def _cell_text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


SUBMISSIONS_LIST = [
    Submission(
        "passes_all", "the reference solution, unchanged", _unchanged),
    Submission(
        "swapped_kernels", "channel 0 gets the horizontal kernel and channel 1 the vertical one",
        _edit((SOBEL_CHANNELS, "        conv.weight[0, 0] = sobel.T\n        conv.weight[1, 0] = sobel\n")),
        expected={"edge_kernels": "failed"}, hints={"edge_kernels": "swapped"}),
    Submission(
        "laplacian_kernels", "channel 0 is a Laplacian, which responds to vertical and horizontal edges alike",
        _edit(("        conv.weight[0, 0] = sobel\n",
               "        conv.weight[0, 0] = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])\n")),
        expected={"edge_kernels": "failed"}, hints={"edge_kernels": "as well as"}),
    Submission(
        "flat_response_bias", "the detector's bias is 1.0, so flat regions respond",
        _edit(("conv.bias.zero_()", "conv.bias.fill_(1.0)")),
        expected={"edge_kernels": "failed"}, hints={"edge_kernels": "flat regions"}),
    Submission(
        "greyscale_keeps_colour", "load_greyscale returns the RGB array (H, W, 3)",
        _edit(('.convert("L")', '.convert("RGB")')),
        expected={"greyscale": "failed"}, hints={"greyscale": "colour channels"}),
    Submission(
        "greyscale_unit_scale", "load_greyscale returns values on a 0..1 scale, which is allowed",
        _edit(("    return np.asarray(image)\n", "    return np.asarray(image) / 255.0\n"))),
    Submission(
        "returns_torch_size", "conv_parameter_shapes returns torch.Size objects, which encode as tuples",
        _edit((SHAPES, 'return {"weight": conv.weight.shape, "bias": conv.bias.shape}'))),
    Submission(
        "returns_list_shapes", "conv_parameter_shapes returns lists instead of tuples, which is accepted",
        _edit((SHAPES, 'return {"weight": list(conv.weight.shape), "bias": list(conv.bias.shape)}'))),
    Submission(
        "missing_function", "`def edge_maps(` is renamed, so the module does not define edge_maps "
        "(and plot_edge_maps, which calls it, raises NameError)",
        _edit(("def edge_maps(image)", "def edge_map(image)")),
        expected={"edge_maps": "error", "edge_figure": "error"},
        hints={"edge_maps": "does not define `edge_maps`", "edge_figure": "NameError"}),
    Submission(
        "conv3_wrong_kernel", "the third convolution is 3x3 instead of 2x2 (288 features instead of 512); "
        "INTERMEDIATE_SIZE stays 512, so the classifier's Linear(512, 10) no longer fits",
        _edit(("nn.Conv2d(16, 32, 2)", "nn.Conv2d(16, 32, 3)")),
        expected={"convnet_shape": "failed", "convnet_parameters": "failed", "classifier_shape": "failed",
                  "classifier_parameters": "failed", "classifier_logits": "failed", "accuracy": "error"},
        hints={"convnet_shape": "your layers:", "classifier_shape": "your layers:",
               "classifier_logits": "fails on an input of shape (16, 784)",
               "convnet_parameters": "expected 4,816 trainable", "classifier_parameters": "expected 9,946 trainable",
               "accuracy": "RuntimeError"}),
    Submission(
        "wrong_intermediate_size", "INTERMEDIATE_SIZE is 800; build_classifier uses the literal 512 so it still works",
        _edit(("INTERMEDIATE_SIZE = 32 * 4 * 4  # SOLUTION", "INTERMEDIATE_SIZE = 800"),
              ("nn.Linear(INTERMEDIATE_SIZE, 10)", "nn.Linear(512, 10)")),
        expected={"intermediate_size": "failed"}, hints={"intermediate_size": "is 800"}),
    Submission(
        "exit_in_function", "build_convnet calls sys.exit() (and so does build_classifier, through it)",
        _edit(("    return nn.Sequential(\n        nn.Unflatten",
               "    import sys\n    sys.exit(1)\n    return nn.Sequential(\n        nn.Unflatten")),
        expected={"convnet_shape": "error", "convnet_parameters": "error", "convnet_architecture": "error",
                  "classifier_shape": "error", "classifier_parameters": "error", "classifier_logits": "error",
                  "accuracy": "error"},
        hints={"convnet_shape": "sys.exit()", "convnet_parameters": "sys.exit()", "convnet_architecture": "sys.exit()",
               "classifier_shape": "sys.exit()", "classifier_parameters": "sys.exit()",
               "classifier_logits": "sys.exit()", "accuracy": "sys.exit()"}),
    Submission(
        "no_optimizer_step", "train_classifier never calls optimizer.step(), so the model stays untrained",
        _edit(("            optimizer.step()\n", "")),
        expected={"accuracy": "failed"}, hints={"accuracy": "below"}),
    Submission(
        "predict_returns_logits", "predict returns the (N, 10) logits instead of their argmax",
        _edit(("return model(x).argmax(dim=1)", "return model(x)")),
        expected={"accuracy": "failed", "predict": "failed"},
        hints={"accuracy": "class indices", "predict": "return class indices of shape (N,)"}),
    Submission(
        "predict_returns_float", "predict returns the argmax as a float tensor",
        _edit(("return model(x).argmax(dim=1)", "return model(x).argmax(dim=1).float()")),
        expected={"accuracy": "failed", "predict": "failed"},
        hints={"accuracy": "class indices", "predict": "integer tensor"}),
    Submission(
        "convnet_avg_pooling", "build_convnet pools with nn.AvgPool2d instead of max pooling (same shapes and "
        "parameters)",
        _edit(("        nn.ReLU(),\n        nn.MaxPool2d(2),\n        nn.Conv2d(16, 16, 3),\n        nn.ReLU(),\n"
               "        nn.MaxPool2d(2),\n",
               "        nn.ReLU(),\n        nn.AvgPool2d(2),\n        nn.Conv2d(16, 16, 3),\n        nn.ReLU(),\n"
               "        nn.AvgPool2d(2),\n")),
        expected={"convnet_architecture": "failed"}, hints={"convnet_architecture": "max pooling"}),
    Submission(
        "convnet_no_relu", "build_convnet has no ReLU between its convolutions (a linear stack)",
        _edit(("        nn.Conv2d(1, 16, 5),\n        nn.ReLU(),\n", "        nn.Conv2d(1, 16, 5),\n"),
              ("        nn.Conv2d(16, 16, 3),\n        nn.ReLU(),\n", "        nn.Conv2d(16, 16, 3),\n")),
        expected={"convnet_architecture": "failed"}, hints={"convnet_architecture": "activation NO"}),
    Submission(
        "classifier_softmax", "build_classifier ends in nn.Softmax, so it returns probabilities, not logits",
        _edit(("nn.Sequential(build_convnet(), nn.Linear(INTERMEDIATE_SIZE, 10))",
               "nn.Sequential(build_convnet(), nn.Linear(INTERMEDIATE_SIZE, 10), nn.Softmax(dim=1))")),
        expected={"classifier_logits": "failed"}, hints={"classifier_logits": "ends in a softmax"}),
    Submission(
        "classifier_lazy_linear", "build_classifier's head is nn.LazyLinear(10): one linear projection whose input "
        "size comes from the first forward pass",
        _edit(("nn.Sequential(build_convnet(), nn.Linear(INTERMEDIATE_SIZE, 10))",
               "nn.Sequential(build_convnet(), nn.LazyLinear(10))"))),
    Submission(
        "default_lr_far_too_small", "train_classifier's default is Adam at lr=1e-5: the loss barely moves in the budget",
        _edit(("def train_classifier(model, loader, epochs, lr=2e-3)", "def train_classifier(model, loader, epochs, lr=1e-5)")),
        expected={"accuracy": "failed"}, hints={"accuracy": "Adam at lr=1e-05, is far below the usual one"}),
    Submission(
        "trains_a_copy", "train_classifier trains copy.deepcopy(model), so the model it was given never changes",
        _edit(("    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
               "    import copy\n    model = copy.deepcopy(model)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n")),
        expected={"accuracy": "failed"}, hints={"accuracy": "train that model in place"}),
    Submission(
        "summed_epoch_loss", "train_classifier returns the sum of the batch losses of each epoch, not their mean",
        _edit(("        history.append(total / max(count, 1))\n", "        history.append(total)\n")),
        expected={"train_mean_loss": "failed"}, hints={"train_mean_loss": "sum of every sample's loss"}),
    Submission(
        "lr_or_default", "train_classifier(model, loader, epochs, lr=None) with Adam at `lr or 2e-3`: a correct "
        "idiom that moves the weights even when the grader passes lr=0",
        _edit(("def train_classifier(model, loader, epochs, lr=2e-3)", "def train_classifier(model, loader, epochs, lr=None)"),
              (ADAM, "    optimizer = torch.optim.Adam(model.parameters(), lr=lr or 2e-3)\n"))),
    Submission(
        "lr_or_default_summed", "the `lr or 2e-3` idiom, and each epoch's loss is the sum over its samples",
        _edit(("def train_classifier(model, loader, epochs, lr=2e-3)", "def train_classifier(model, loader, epochs, lr=None)"),
              (ADAM, "    optimizer = torch.optim.Adam(model.parameters(), lr=lr or 2e-3)\n"),
              ("        history.append(total / max(count, 1))\n", "        history.append(total)\n")),
        expected={"train_mean_loss": "failed"}, hints={"train_mean_loss": "sum of every sample's loss"}),
    Submission(
        "predict_in_train_mode", "predict never calls model.eval()",
        _edit(("    model.eval()\n    with torch.no_grad():\n        return model(x).argmax(dim=1)\n",
               "    with torch.no_grad():\n        return model(x).argmax(dim=1)\n")),
        expected={"predict": "failed"}, hints={"predict": "call model.eval() first"}),
    Submission(
        "predict_tracks_gradients", "predict runs the model without torch.no_grad()",
        _edit(("    model.eval()\n    with torch.no_grad():\n        return model(x).argmax(dim=1)\n",
               "    model.eval()\n    return model(x).argmax(dim=1)\n")),
        expected={"predict": "failed"}, hints={"predict": "torch.no_grad()"}),
    Submission(
        "training_hangs", "train_classifier sleeps forever before training (test it with a short time limit)",
        _edit((ADAM, "    import time\n    while True:  # never ends\n        time.sleep(0.2)\n" + ADAM)),
        expected={"accuracy": "timeout", "train_mean_loss": "timeout"},
        hints={"accuracy": "did not finish", "train_mean_loss": "did not finish"},
        time_limits={"accuracy": 12, "train_mean_loss": 8}),
    Submission(
        "backbone_not_frozen", "build_transfer_model does not freeze the backbone",
        _edit((FREEZE, "")),
        expected={"transfer": "failed", "transfer_hidden": "failed", "transfer_parameters": "failed"},
        hints={"transfer": "not frozen", "transfer_hidden": "not frozen", "transfer_parameters": "frozen"}),
    Submission(
        "optimizer_all_params", "transfer_optimizer optimizes model.parameters(), frozen ones included",
        _edit((TRAINABLE_SGD, "torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)")),
        expected={"transfer": "failed", "transfer_hidden": "failed"},
        hints={"transfer": "should stay frozen", "transfer_hidden": "should stay frozen"}),
    Submission(
        "optimizer_fixed_lr", "transfer_optimizer ignores `lr` and always uses 0.01: only the hidden check "
        "(lr 0.05) notices",
        _edit((TRAINABLE_SGD, "torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, "
                              "momentum=0.9)")),
        expected={"transfer_hidden": "failed"}, hints={"transfer_hidden": "learning rate should be 0.05"}),
    Submission(
        "syntax_error", "a missing colon after `def build_convnet() -> nn.Module`",
        _edit(("def build_convnet() -> nn.Module:", "def build_convnet() -> nn.Module")),
        expected=_every("error"), hints=_every("syntax error"),
        load=("Could not load syntax_error.py: your module has a syntax error: expected ':'",
              "line 136: def build_convnet() -> nn.Module")),
    Submission(
        "raises_on_import", "the module raises RuntimeError right after its imports: that statement is "
        "recorded and skipped, as a notebook cell would be, and everything after it is graded",
        _edit((AFTER_IMPORTS, AFTER_IMPORTS + '\nraise RuntimeError("data folder not found")\n')),
        load=("1 statement did not run", "raise RuntimeError", "RuntimeError: data folder not found")),
    Submission(
        "prints_a_lot", "prints 1 MB at import and otherwise passes everything (the output is capped)",
        _edit((AFTER_IMPORTS, AFTER_IMPORTS + '\nprint("x" * 1_000_000)\n'))),
    Submission(
        "template_notebook_with_reference", "the committed template notebook with every stubbed cell "
        "filled in from the reference",
        template_notebook_with_reference, suffix=".ipynb"),
]
SUBMISSIONS = {s.name: s for s in SUBMISSIONS_LIST}
assert len(SUBMISSIONS) == len(SUBMISSIONS_LIST), "duplicate submission names"
for _submission in SUBMISSIONS_LIST:
    _unknown = (set(_submission.expected) | set(_submission.hints)) - set(ALL_CHECKS)
    assert not _unknown, f"{_submission.name}: no check {sorted(_unknown)} in {RUBRIC.name}"

DEMO = ["passes_all", "swapped_kernels", "conv3_wrong_kernel", "syntax_error", "template_notebook_with_reference"]


def checks_for(name):
    """The check ids `name` is graded on: every check."""
    return ALL_CHECKS


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
