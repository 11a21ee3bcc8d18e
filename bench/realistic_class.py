"""A realistic class of N submissions for lab07_convnets or lab11_fashion_cnn, as a course sees it.

Tiers (proportions of N, rounded; the rest is correct):
  - 75 % correct variants: other optimizers and learning rates (Adam, AdamW, SGD with momentum,
    RMSprop), for lab11 other schedulers and wider or narrower FashionCNNs that meet the contract,
    harmless extra code (comments, prints, a helper); one in four a notebook (.ipynb).
  - 17 % with one mistake that still trains (a wrong kernel, a wrong constant, a frozen backbone left
    trainable, an optimizer that ignores lr, no zero_grad, ...): they train and lose some points.
  - 8 % broken, hanging or hostile: a syntax error, training that never ends, sys.exit in a
    function, 1 MB of output, a fork bomb at import, reading /etc/shadow and the grader's files.
Every correct or nearly correct one trains. Submissions are the reference with textual edits (no
second copy of a solution); each `Planned` says its tier and whether it trains.
"""

import random
from dataclasses import dataclass
from pathlib import Path

from tests.submissions import lab07, lab11

SHARES = {"correct": 0.75, "one_mistake": 0.17, "broken": 0.08}


@dataclass(frozen=True)
class Planned:
    name: str
    tier: str  # correct | one_mistake | broken
    text: str
    suffix: str
    trains: bool


def _edit(source, *pairs):
    for old, new in pairs:
        source = lab07.replace(source, old, new)
    return source


def _lab07_correct(reference, rng):
    adam = lab07.ADAM
    optimizers = [
        (adam, adam, "lr=2e-3"), (adam, adam, "lr=1e-3"),
        (adam, "    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)\n", "lr=2e-3"),
        (adam, "    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n", "lr=0.05"),
        (adam, "    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr)\n", "lr=1e-3"),
    ]
    old, new, lr = rng.choice(optimizers)
    text = _edit(reference, (old, new), ("def train_classifier(model, loader, epochs, lr=2e-3)",
                                         f"def train_classifier(model, loader, epochs, {lr})"))
    extra = rng.choice(["", "\n# my notes: the loss goes down after epoch 1\n",
                        "\ndef helper_count(model):\n    return sum(p.numel() for p in model.parameters())\n",
                        f'\nprint("student {rng.randrange(10**6)} ready")\n'])
    return text + extra


LAB07_MISTAKES = ["swapped_kernels", "flat_response_bias", "wrong_intermediate_size", "optimizer_fixed_lr",
                  "backbone_not_frozen", "greyscale_keeps_colour", "predict_returns_float", "no_optimizer_step"]
LAB11_MISTAKES = ["box_blur_not_normalized", "edges_out_of_order", "convolve_ignores_stride", "simple_flatten_wrong",
                  "fashion_no_dropout", "no_lr_decay", "optimizer_ignores_lr", "no_zero_grad",
                  "mean_of_batch_means", "fit_never_steps_scheduler"]


def _lab11_correct(reference, rng):
    text = reference
    choice = rng.randrange(4)
    if choice == 1:
        text = _edit(text, (lab11.ADAM, "    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n"),
                     ("def fit(model, loader, epochs, lr=5e-3)", "def fit(model, loader, epochs, lr=0.05)"))
    elif choice == 2:
        text = _edit(text, (lab11.SCHEDULER, "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, "
                                             "gamma=0.5)\n"))
    elif choice == 3:  # a wider network: 24 and 48 filters, FASHION_FLATTEN follows
        text = _edit(text, ("nn.Conv2d(1, 16, kernel_size=3, padding=1)", "nn.Conv2d(1, 24, kernel_size=3, padding=1)"),
                     ("nn.Conv2d(16, 32, kernel_size=3, padding=1)", "nn.Conv2d(24, 48, kernel_size=3, padding=1)"))
        text = text.replace("FASHION_FLATTEN = 32 * 7 * 7", "FASHION_FLATTEN = 48 * 7 * 7")
    return text + rng.choice(["", "\n# I tried lr 0.01 first: too slow\n"])


HOSTILE = {
    "fork_bomb": "\nimport os\nfor _ in range(200):\n    try:\n        os.fork()\n    except OSError:\n        break\n",
    "reads_secrets": "\nfor _p in ('/etc/shadow', '/root/.ssh/id_rsa', '/work/main/grader/checks/training.py'):\n"
                     "    try:\n        print(open(_p).read()[:100])\n    except OSError as _e:\n        print(_e)\n",
}


def _broken(module, reference, kind):
    if kind in HOSTILE:
        return reference + HOSTILE[kind]
    return module.SUBMISSIONS[kind].text(reference)


def plan(assignment, count, seed=0):
    """[Planned] of a class of `count` (see the module docstring), in a shuffled order."""
    rng = random.Random(seed)
    module = lab07 if assignment == "lab07_convnets" else lab11
    reference = module.REFERENCE.read_text()
    mistakes = LAB07_MISTAKES if module is lab07 else LAB11_MISTAKES
    broken_kinds = ["syntax_error", "fork_bomb", "reads_secrets"] + (
        ["training_hangs", "exit_in_function", "prints_a_lot"] if module is lab07 else [])
    n_broken = round(count * SHARES["broken"])
    n_mistake = round(count * SHARES["one_mistake"])
    out = []
    for i in range(count):
        if i < n_broken:
            kind = broken_kinds[i % len(broken_kinds)]
            out.append(Planned(kind, "broken", _broken(module, reference, kind), ".py", False))
        elif i < n_broken + n_mistake:
            kind = mistakes[(i - n_broken) % len(mistakes)]
            sub = module.SUBMISSIONS[kind]
            out.append(Planned(kind, "one_mistake", sub.text(reference) + f"\n# student {i:03d}\n", sub.suffix, True))
        else:  # students' files differ at least by a line of their own: no two are identical by chance
            text = (_lab07_correct if module is lab07 else _lab11_correct)(reference, rng)
            out.append(Planned("correct", "correct", text + f"\n# student {i:03d}\n", ".py", True))
    for index, item in enumerate(out):  # one correct in four as a notebook
        if item.tier == "correct" and rng.random() < 0.25:
            from grader.assign import make_notebook

            out[index] = Planned("correct_notebook", "correct", make_notebook(item.text), ".ipynb", True)
    rng.shuffle(out)
    return out


def write(folder, planned, duplicates=0.0, seed=0):
    """Write `planned` into `folder` as s###_<name><suffix>; with `duplicates`, that share of the
    files (rounded) are copies of earlier correct ones. Returns [(path, Planned)]."""
    rng = random.Random(seed + 1)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    planned = list(planned)
    copies = round(len(planned) * duplicates)
    correct = [i for i, p in enumerate(planned) if p.tier == "correct"]
    for slot in rng.sample(range(len(planned) // 2, len(planned)), copies) if copies else []:
        source = rng.choice([i for i in correct if i < len(planned) // 2])
        planned[slot] = planned[source]
    written = []
    for i, item in enumerate(planned):
        path = folder / f"s{i:03d}_{item.name}{item.suffix}"
        path.write_text(item.text, encoding="utf-8")
        written.append((path, item))
    return written


def proportions(planned):
    tiers = {t: sum(p.tier == t for p in planned) for t in SHARES}
    notebooks = sum(p.suffix == ".ipynb" for p in planned)
    return f"{tiers['correct']} correct ({notebooks} notebooks), {tiers['one_mistake']} with one mistake, " \
           f"{tiers['broken']} broken/hanging/hostile"
