"""lab07_convnets handed in as students write it: behaviour-named notebooks and scripts.

`messy_notebook_full_marks` holds every kind of cell that used to zero a submission; the others
vary it: one wrong function, a defining cell that fails, old nbformat, a script with demo calls.
`expected` lists the checks that must not pass (every other graded check must); `load` the
substrings the load report must contain; `hints` substrings of a check's message.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.notebooks import build, code, edit_cell, image_output, insert_after, reference_cells
from tests.submissions.lab07 import REFERENCE, replace

DEMO_URL = "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
IMPORTS = "import io\n"


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    make: Callable[[str], str]  # reference source -> the file's text
    suffix: str = ".ipynb"
    expected: dict = field(default_factory=dict)
    load: tuple = ()
    hints: dict = field(default_factory=dict)


def messy_cells(source):
    """The reference's cells among the cells a real notebook has around them."""
    cells = reference_cells(source)
    cells = edit_cell(cells, IMPORTS, lambda s: "from __future__ import print_function\n%matplotlib inline\n" + s)
    cells = insert_after(cells, IMPORTS, code("!pip install wandb\nimport wandb\nwandb.init(project='lab07')"),
                         code("files = !ls\nprint(files[0])"), code("data_dir?"))
    cells = insert_after(cells, "def load_greyscale", code(f'image = load_greyscale("{DEMO_URL}")\n'
                                                           "plt.imshow(image, cmap='gray')", outputs=[image_output()]))
    cells = insert_after(cells, "def conv_parameter_shapes", code(
        "import torchvision\ntrain_set = torchvision.datasets.MNIST('data', train=True, download=True)"))
    cells = edit_cell(cells, "def make_edge_detector", lambda s: "%%capture captured\n" + s)
    cells = insert_after(cells, "def build_convnet", code("display(build_convnet())\nprint(undefined_in_demo)"))
    cells = edit_cell(cells, "def build_classifier", lambda s: "%%time\n" + s)
    cells = insert_after(cells, "def build_classifier", code(
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "loader = DataLoader(TensorDataset(torch.rand(60000, 784), torch.randint(0, 10, (60000,))), batch_size=64)\n"
        "model = build_classifier()\nlosses = train_classifier(model, loader, epochs=10)  # minutes of training\n"),
        code("step = 0\nwhile True:  # watch the loss forever\n    step += 1\n"),
        code("raise SystemExit('not for grading')", tags=["skip-grading"]),
        code("# grader: skip\nimport time\ntime.sleep(3600)"))
    return cells


def messy_notebook(source):
    return build(messy_cells(source), widgets=True)


def wrong_kernels(source):
    return messy_notebook(replace(source, "        conv.weight[0, 0] = sobel\n        conv.weight[1, 0] = sobel.T\n",
                                  "        conv.weight[0, 0] = sobel.T\n        conv.weight[1, 0] = sobel\n"))


def defining_cell_fails(source):
    """The cell defining build_convnet first prints a name no cell defines."""
    cells = edit_cell(messy_cells(source), "def build_convnet", lambda s: "print(mnist_mean)\n" + s)
    return build(cells)


def old_nbformat(source):
    return build(messy_cells(source), minor=0)


def script_with_demo_calls(source):
    """A .py file with the demo calls the lab's steps invite at the top level, and its training
    under `if __name__ == "__main__":`, which does not run when graded."""
    source = replace(source, "def conv_parameter_shapes(", f'image = load_greyscale("{DEMO_URL}")\nprint(image.shape)\n\n\n'
                     "def conv_parameter_shapes(")
    return source + ('\n\nprint(build_convnet()(torch.zeros(1, 784)).shape)\nimport wandb\n\n'
                     'if __name__ == "__main__":\n    import time\n    time.sleep(3600)\n')


CASES = [
    Case("messy_notebook_full_marks", "the reference's cells among demo downloads, display, shell lines, "
         "%%time and %%capture cells, a __future__ import, a missing package, top-level training, a loop "
         "and skip-tagged cells: every check passes", messy_notebook,
         load=("cells did not run to the end", "ModuleNotFoundError: No module named 'wandb'",
               "`wandb` is not installed where your code is graded", "IndexError: list index out of range",
               f'`image = load_greyscale("{DEMO_URL}")`', "the grader has no internet",
               "NameError: name 'undefined_in_demo' is not defined", "interrupted after 3 s",
               "line 4 `losses = train_classifier(model, loader, epochs=10)", "`step = 0`: interrupted",
               "not run (tagged skip-grading)", "not run (starts with `# grader: skip`)",
               "move downloads and training under `if __name__ == \"__main__\":`", "`!pip install wandb`")),
    Case("messy_notebook_wrong_kernels", "the same notebook with the edge kernels swapped: that check alone fails",
         wrong_kernels, expected={"edge_kernels": "failed"}, hints={"edge_kernels": "swapped"},
         load=("cells did not run to the end",)),
    Case("defining_cell_fails", "the cell defining build_convnet raises NameError before its def: the checks "
         "of build_convnet and of what calls it say which cell and why", defining_cell_fails,
         expected={"convnet_shape": "error", "intermediate_size": "error", "convnet_parameters": "error",
                   "classifier_shape": "error", "classifier_parameters": "error"},
         hints={"convnet_shape": "`build_convnet` is defined in cell {build_convnet}",
                "intermediate_size": "NameError: name 'mnist_mean' is not defined",
                "classifier_shape": "`build_convnet` is defined in cell {build_convnet}"},
         load=("NameError: name 'mnist_mean' is not defined (line 1)",)),
    Case("nbformat_4_0_one_string_sources", "the messy notebook saved as nbformat 4.0: sources as one string, "
         "no cell ids", old_nbformat, load=("cells did not run to the end",)),
    Case("script_with_demo_calls", "a .py file with a top-level demo download, a print and an absent package, "
         "its long run under `if __name__ == \"__main__\":`", script_with_demo_calls, suffix=".py",
         load=("3 statements did not run", "`image = load_greyscale(", "the grader has no internet",
               "`import wandb`", "the rest of the file ran")),
]
BY_NAME = {c.name: c for c in CASES}


def materialize(dest, names=None):
    """Write `<dest>/<name><suffix>` for each case; returns the paths."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    source = REFERENCE.read_text(encoding="utf-8")
    out = []
    for case in CASES if names is None else [BY_NAME[n] for n in names]:
        path = dest / f"{case.name}{case.suffix}"
        path.write_text(case.make(source), encoding="utf-8")
        out.append(path)
    return out
