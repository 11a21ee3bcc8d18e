"""Check kinds and reference implementations of a3_fashion_classifier ("A simple classifier").

- Values and examples: a declared list (`CLASS_NAMES`) against the rubric's value; the examples
  `pick_examples` takes from a dataset of training images made here are found again in it, with
  their labels, and are of different classes.
- Figures, judged from what the child reports about their axes: the panels of `show_examples`
  are titled with the class of the image they show; `plot_loss_curves` draws each run's loss as
  a labelled line, with a legend and labelled axes. Their PNGs go to the report.
- Training by behaviour on small budgets of training images: `train`'s history has an entry an
  epoch and its last accuracy is the accuracy the parent computes from the trained model's
  predictions; with lr=0 nothing moves; `lr_sweep` trains a fresh model a rate; the small CNN
  beats the base MLP under the same budget, judged on held-out images whose labels stay here.
- Models compared inside one run: the wider MLP has as many Linear layers as the student's base
  MLP and more units, the deeper one more Linear layers. Parameters are counted here from the
  shapes and flags the child reports, with parts frozen by the grader.
- Gradients on the grader's own small MLP with weights and a batch made here: `mean_gradient`
  and the first values of `gradient_curve` equal what the parent computes with torch.
- Written answers: present and non-empty, then `pending` until a TA's score is merged
  (grader.manual).
"""

import dataclasses
import io
import math
import re
from contextlib import contextmanager

import numpy as np

from grader.checks import expect
from grader.checks.cases import compare, reference_impl
from grader.checks.context import CheckContext
from grader.checks.figures import _png
from grader.checks.registry import Artifact, Fail, Param, Pending, Verdict, check_kind, fraction, positive
from grader.checks.training import min_accuracy as shared_min_accuracy
from grader.data import subset
from grader.sandbox import workfiles
from grader.sandbox.values import Tensor, describe

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


# ---- reference implementations (function_cases) ------------------------------------------------

@reference_impl("a3_epochs_to_reach")
def epochs_to_reach(history, target=0.9):
    """The 1-based epoch at which history["accuracy"] first reaches `target`, else None."""
    for epoch, accuracy in enumerate(history["accuracy"], start=1):
        if accuracy >= target:
            return epoch
    return None


# ---- helpers ---------------------------------------------------------------------------------------

@contextmanager
def _inputs(ctx, **arrays):
    """An npz file of `arrays` in the child's folder (a new file, safely made), removed afterwards."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    name = workfiles.put(ctx.workdir, ".npz", buffer.getvalue())
    try:
        yield name
    finally:
        workfiles.remove(ctx.workdir, name)


def _training_split(ctx, train_size, validation_size):
    """A seeded subset of the training images: (train_x, train_y, val_x, val_y), flat float32."""
    split = ctx.data()
    x, y = subset(split.train_x, split.train_y, train_size + validation_size, ctx.check.seed)
    return x[:train_size], y[:train_size], x[train_size:], y[train_size:]


def _module(report, what):
    report = expect.mapping(report, what, ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"{what} should return an nn.Module, but it returned a {report['class']}")
    return report


def _parameter_rows(report, what):
    """[(name, shape, requires_grad)] from a probe's report, types checked exactly."""
    rows = report.get("parameters")
    if type(rows) is not list:
        raise Fail(f"{what}: the grader could not read the parameters")
    out = []
    for row in rows:
        if type(row) is not list or len(row) != 3 or type(row[0]) is not str or type(row[2]) is not bool:
            raise Fail(f"{what}: the grader could not read the parameters")
        out.append((row[0], expect.shape(row[1], f"parameter {row[0]}'s shape"), row[2]))
    return out


def _trainable(rows):
    return sum(math.prod(shape) for _, shape, grad in rows if grad)


def _history(value, what, epochs):
    """A training history: a dict with 'loss' and 'accuracy', `epochs` finite floats each, the
    accuracies fractions in 0..1. Returns (losses, accuracies)."""
    if type(value) is not dict or "loss" not in value or "accuracy" not in value:
        raise Fail(f"{what} should be a dict with keys 'loss' and 'accuracy', but it is {describe(value)}")
    losses = expect.floats(value["loss"], f"{what}['loss']", length=epochs)
    accuracies = expect.floats(value["accuracy"], f"{what}['accuracy']", length=epochs)
    outside = [a for a in accuracies if not 0.0 <= a <= 1.0]
    if outside:
        raise Fail(f"{what}['accuracy'] holds {outside[0]:g}: an accuracy is a fraction between 0 and 1 "
                   "(correct predictions divided by the number of images), not a percentage or a count")
    return losses, accuracies


def _number_text(value):
    return f"{value:g}" if type(value) is float else str(value)


# ---- Q1.1: a declared list, examples and their figure -------------------------------------------------

def _plain_value(value):
    if type(value) in (str, int, float, bool):
        return None
    if type(value) is list:
        for item in value:
            problem = _plain_value(item)
            if problem:
                return problem
        return None if value else "must not be empty"
    return f"{value!r} is not a string, number or list of them"


@check_kind("a3_declared_value",
            name=Param((str,)),
            expected=Param((list, str, int, float, bool), validate=_plain_value,
                           doc="the value, compared strictly by type (a list may also be a tuple)"),
            meaning=Param((str,), default="the value asked for"))
def declared_value(ctx):
    """A module-level value the student declares (a list of names, a string, a number) equals the
    rubric's value, item by item and by type."""
    name = ctx.params["name"]
    value = ctx.probe("attribute", f"reading `{name}`", name=name)
    if value is None:
        raise Fail(f"`{name}` is not implemented yet (it is still None)")
    problem = compare(value, ctx.params["expected"], 0.0, 0.0, f"`{name}`")
    if problem:
        raise Fail(f"{problem}; `{name}` should be {ctx.params['meaning']}")
    return Verdict(True, f"`{name}` is right")


@check_kind("a3_pick_examples", uses_data=True,
            function=Param((str,)),
            n=Param((int,), default=3, validate=positive),
            pool=Param((int,), default=200, validate=positive, doc="training images in the dataset given"))
def pick_examples(ctx):
    """`function(dataset, n)` on a dataset of training images made here returns n (image, label)
    pairs, each an image of that dataset with its own label, of n different classes."""
    p = ctx.params
    split = ctx.data()
    pool_x, pool_y = subset(split.train_x, split.train_y, p["pool"], ctx.check.seed)
    if len(set(pool_y.tolist())) < p["n"]:
        raise Fail(f"rubric error: the pool of {p['pool']} images has fewer than {p['n']} classes")
    call = f"`{p['function']}(dataset, {p['n']})`"
    with _inputs(ctx, train_x=pool_x, train_y=pool_y) as name:
        got = ctx.probe("a3_pick_examples", f"`{p['function']}`", data=name, function=p["function"], n=p["n"])
    if type(got) not in (list, tuple) or len(got) != p["n"]:
        raise Fail(f"{call} should return a list of {p['n']} (image, label) pairs, but it returned {describe(got)}")
    labels = []
    for index, pair in enumerate(got, start=1):
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise Fail(f"item {index} of what {call} returned should be an (image, label) pair, "
                       f"but it is {describe(pair)}")
        image = expect.array(pair[0], f"the image of example {index}")
        label = pair[1]
        if type(label) is not int:
            raise Fail(f"the label of example {index} should be an int, but it is {describe(label)}; "
                       "use int(label) or label.item()")
        if image.size != 28 * 28:
            raise Fail(f"the image of example {index} has shape {image.shape}: it should be an image of the "
                       "dataset as the dataset holds it, (1, 28, 28)")
        flat = image.astype(np.float32).reshape(-1)
        matches = np.flatnonzero(np.abs(pool_x - flat).max(axis=1) <= 1e-6)
        if not len(matches):
            raise Fail(f"the image of example {index} is not one of the dataset's images: return the images "
                       "of the dataset you are given, unchanged")
        if label not in pool_y[matches].tolist():
            truth = int(pool_y[matches[0]])
            raise Fail(f"example {index} is labelled {label}, but the dataset labels that image {truth} "
                       f"({FASHION_CLASSES[truth]}): keep each image's own label")
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise Fail(f"the examples should be of {p['n']} different classes, but their labels are {labels}")
    names = ", ".join(FASHION_CLASSES[i] if 0 <= i < 10 else str(i) for i in labels)
    return Verdict(True, f"{p['n']} images of different classes from the dataset: {names}")


def _classes_named(title, class_names):
    """The indices of the class names a title contains (case-insensitive, whole names only, so
    that 'T-shirt/top' does not also count as 'Shirt')."""
    found = set()
    for index, name in enumerate(class_names):
        if re.search(r"(?<![A-Za-z/-])" + re.escape(name.lower()) + r"(?![A-Za-z/-])", title.lower()):
            found.add(index)
    return found


def _normalised(image):
    image = np.asarray(image, dtype=np.float64).reshape(28, 28)
    span = image.max() - image.min()
    return (image - image.min()) / span if span > 0 else image * 0


def _which_example(pixels, examples):
    """The index of the example whose picture a panel shows (up to scaling), or None."""
    if not isinstance(pixels, np.ndarray) or pixels.dtype.kind not in "biuf" or pixels.size != 28 * 28:
        return None
    shown = _normalised(pixels)
    distances = [np.abs(shown - _normalised(image)).max() for image, _ in examples]
    best = int(np.argmin(distances))
    return best if distances[best] < 0.05 else None


def _figure_report(ctx, function, args):
    """Call a plotting function through the a3_figure probe: (report, artifacts) of a Figure."""
    report = ctx.probe("a3_figure", f"`{function}`", call_args=args, function=function)
    report = expect.mapping(report, f"`{function}`", ["class", "is_figure"])
    if report["is_figure"] is not True:
        raise Fail(f"`{function}` should return a matplotlib Figure, but it returned a {report['class']}")
    artifacts = (Artifact("png", ctx.params["title"], _png(report.get("png"))),)
    axes = report.get("axes") if type(report.get("axes")) is list else []
    return [a for a in axes if type(a) is dict], report, artifacts


@check_kind("a3_example_figure", uses_data=True,
            function=Param((str,)),
            n=Param((int,), default=3, validate=positive),
            class_names=Param((list,), default=FASHION_CLASSES),
            title=Param((str,), default="Your examples"))
def example_figure(ctx):
    """`function(examples)` on (image, label) pairs of training images of different classes
    returns a Figure with one panel an image, each titled with the name of its image's class."""
    p = ctx.params
    split = ctx.data()
    rng = np.random.default_rng(ctx.check.seed)
    classes = rng.choice(len(p["class_names"]), size=p["n"], replace=False)
    examples = []
    for label in classes:
        index = rng.choice(np.flatnonzero(split.train_y == label))
        examples.append((split.train_x[index].reshape(1, 28, 28), int(label)))
    sent = [(Tensor(image), label) for image, label in examples]
    axes, _, artifacts = _figure_report(ctx, p["function"], [sent])
    panels = [a for a in axes if type(a.get("images")) is int and a["images"] > 0]
    if len(panels) != p["n"]:
        raise Fail(f"for {p['n']} examples the figure should have {p['n']} panels with an image (one an example, "
                   f"drawn with imshow), but it has {len(panels)}", artifacts)
    shown = []
    for position, panel in enumerate(panels):
        index = _which_example(panel.get("pixels"), examples)
        index = position if index is None else index
        shown.append(index)
        title = panel.get("title") if type(panel.get("title")) is str else ""
        label = examples[index][1]
        want = p["class_names"][label]
        if not title.strip():
            raise Fail(f"panel {position + 1} has no title: title each panel with its image's class name "
                       f"(this one shows a {want})", artifacts)
        named = _classes_named(title, p["class_names"])
        if named != {label}:
            raise Fail(f"panel {position + 1} shows a {want} (label {label}), but its title is {title!r}: "
                       "title each panel with the class name of its label (CLASS_NAMES[label])", artifacts)
    if len(set(shown)) != len(shown):
        raise Fail("the figure shows the same example twice: one panel an example", artifacts)
    titles = ", ".join(repr(panels[i].get("title")) for i in range(len(panels)))
    return Verdict(True, f"{len(panels)} panels titled with their classes: {titles}", artifacts)


def _run_named(label, run):
    """Does a legend label name the run: its number (any notation) or its name?"""
    if type(run) in (int, float):
        for token in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", label):
            if math.isclose(float(token), float(run), rel_tol=1e-9):
                return True
        return False
    return str(run).lower() in label.lower()


def _fake_histories(runs, epochs, seed):
    """Made-up histories, one a run, with clearly different decreasing loss curves."""
    rng = np.random.default_rng(seed)
    histories = {}
    for index, run in enumerate(runs):
        start = 2.3 - 0.25 * index + rng.uniform(0, 0.1)
        rate = 0.3 + 0.15 * index
        loss = [round(float(start * math.exp(-rate * t) + 0.2 + rng.uniform(0, 0.05)), 4) for t in range(epochs)]
        accuracy = [round(min(0.95, 0.4 + 0.5 * (1 - math.exp(-rate * (t + 1)))), 4) for t in range(epochs)]
        histories[run] = {"loss": loss, "accuracy": accuracy}
    return histories


def _runs(value):
    if not value or not all(type(v) in (int, float, str) for v in value):
        return "must be a non-empty list of run names (numbers or strings)"
    return None if len(set(map(str, value))) == len(value) else "run names must differ"


@check_kind("a3_loss_curves_figure",
            function=Param((str,)),
            runs=Param((list,), validate=_runs, doc="the keys of the histories passed (learning rates, names)"),
            epochs=Param((int,), default=5, validate=positive),
            title=Param((str,), default="Your loss curves"))
def loss_curves_figure(ctx):
    """`function(histories)` on made-up histories returns a Figure with each run's loss as a line
    labelled with the run's name, a legend showing it, and both axes labelled."""
    p = ctx.params
    histories = _fake_histories(p["runs"], p["epochs"], ctx.check.seed)
    axes, report, artifacts = _figure_report(ctx, p["function"], [histories])
    figure_legend = [t for legend in (report.get("figure_legends") or []) if type(legend) is list
                     for t in legend if type(t) is str]
    labels = []
    for run, history in histories.items():
        found = None
        for ax in axes:
            for line in ax.get("lines") if type(ax.get("lines")) is list else []:
                y = line.get("y") if type(line) is dict else None
                if (type(y) is list and len(y) == len(history["loss"]) and all(type(v) is float for v in y)
                        and np.allclose(y, history["loss"], atol=1e-6)):
                    found = (ax, line)
                    break
            if found:
                break
        if found is None:
            raise Fail(f"no line of the figure shows the loss of run {run!r}: plot each history's 'loss' "
                       "list, one line a run", artifacts)
        ax, line = found
        label = line.get("label") if type(line.get("label")) is str else ""
        if not label.strip() or label.startswith("_"):
            raise Fail(f"the line of run {run!r} has no label: pass label=... to plot, naming the run",
                       artifacts)
        if not _run_named(label, run):
            raise Fail(f"the line of run {run!r} is labelled {label!r}, which does not name the run "
                       f"(e.g. 'lr = {_number_text(run)}')", artifacts)
        legend = ax.get("legend") if type(ax.get("legend")) is list else []
        if label not in legend and label not in figure_legend:
            raise Fail(f"the figure has no legend showing {label!r}: call ax.legend() after plotting", artifacts)
        for axis in ("xlabel", "ylabel"):
            if not (type(ax.get(axis)) is str and ax[axis].strip()):
                raise Fail(f"label both axes of the plot (ax.set_xlabel('epoch'), ax.set_ylabel('loss')); "
                           f"the {axis[0]}-axis has no label", artifacts)
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise Fail(f"two runs share a label ({labels}): give each line its run's name", artifacts)
    return Verdict(True, f"{len(labels)} labelled loss curves with a legend and labelled axes", artifacts)


# ---- Q1.2: training ---------------------------------------------------------------------------------------

@check_kind("a3_train_history", uses_data=True,
            function=Param((str,)),
            factory=Param((str,), default="build_mlp"),
            epochs=Param((int,), default=2, validate=positive),
            lr=Param((float,), default=0.1, validate=lambda v: None if v >= 0 else "must not be negative"),
            train_size=Param((int,), default=1000, validate=positive),
            validation_size=Param((int,), default=320, validate=positive),
            batch_size=Param((int,), default=64, validate=positive))
def train_history(ctx):
    """`function(model, train_loader, test_loader, epochs, lr)` on a fresh model: one loss and one
    accuracy an epoch, the last accuracy equal to the trained model's accuracy on the test
    loader's images (computed here from its predictions); the weights move with lr > 0 (and the
    loss goes down) and stay put with lr = 0."""
    p = ctx.params
    train_x, train_y, val_x, val_y = _training_split(ctx, p["train_size"], p["validation_size"])
    call = f"`{p['function']}({p['factory']}(), train_loader, test_loader, {p['epochs']}, lr={p['lr']:g})`"
    with _inputs(ctx, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y) as name:
        report = ctx.probe("a3_train", f"`{p['function']}`", data=name, factory=p["factory"], train=p["function"],
                           epochs=p["epochs"], lr=p["lr"], batch_size=p["batch_size"], device=ctx.device)
    report = _module(report, f"`{p['factory']}()`")
    losses, accuracies = _history(report.get("history"), f"the history {call} returned", p["epochs"])
    curve = (Artifact("curve", f"training loss per epoch ({p['function']}, lr={p['lr']:g})", losses),)
    moved = report.get("moved")
    if type(moved) is not float:
        raise Fail("the grader could not read how the weights changed", curve)
    if p["lr"] == 0 and moved > 0:
        raise Fail(f"with lr=0 training must leave the weights unchanged, but {call} moved them by up to "
                   f"{moved:.3g}: use the `lr` argument as SGD's learning rate", curve)
    if p["lr"] > 0 and moved == 0:
        raise Fail(f"{call} did not change the model's weights: compute the loss, call backward() and "
                   "optimizer.step() for each batch", curve)
    predictions = expect.array(report.get("predictions"), "the trained model's predictions")
    accuracy = float(np.mean(predictions == val_y))
    if abs(accuracies[-1] - accuracy) > 1e-4:
        raise Fail(f"the history's last accuracy is {accuracies[-1]:.4f}, but the trained model classifies "
                   f"{accuracy:.4f} of test_loader's images correctly: after each epoch, compute the accuracy on "
                   "test_loader in eval mode", curve)
    if p["lr"] > 0 and p["epochs"] >= 2 and not losses[-1] < losses[0]:
        raise Fail(f"the mean training loss should go down over {p['epochs']} epochs at lr={p['lr']:g}, but it "
                   f"went from {losses[0]:.4f} to {losses[-1]:.4f}", curve)
    done = "weights unchanged at lr=0" if p["lr"] == 0 else f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    return Verdict(True, f"one loss and accuracy an epoch; last accuracy {accuracies[-1]:.3f} matches the model; "
                         f"{done}", curve)


def _rates(value):
    if not value or not all(type(v) in (int, float) and v > 0 for v in value):
        return "must be a non-empty list of positive learning rates"
    return None if len(set(value)) == len(value) else "learning rates must differ"


@check_kind("a3_lr_sweep", uses_data=True,
            function=Param((str,)),
            factory=Param((str,), default="build_mlp"),
            train=Param((str,), default="train"),
            lrs=Param((list,), validate=_rates),
            epochs=Param((int,), default=1, validate=positive),
            train_size=Param((int,), default=400, validate=positive),
            validation_size=Param((int,), default=128, validate=positive),
            batch_size=Param((int,), default=64, validate=positive))
def lr_sweep(ctx):
    """`function(train_loader, test_loader, lrs, epochs)` returns a history for each rate with
    `epochs` entries, training a fresh `factory()` for each rate (the child counts the calls of
    the factory and records the rate and epochs each call of `train` gets)."""
    p = ctx.params
    train_x, train_y, val_x, val_y = _training_split(ctx, p["train_size"], p["validation_size"])
    rates = [float(r) for r in p["lrs"]]
    call = f"`{p['function']}(train_loader, test_loader, lrs={tuple(p['lrs'])}, epochs={p['epochs']})`"
    with _inputs(ctx, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y) as name:
        report = ctx.probe("a3_lr_sweep", f"`{p['function']}`", data=name, function=p["function"],
                           factory=p["factory"], train=p["train"], lrs=p["lrs"], epochs=p["epochs"],
                           batch_size=p["batch_size"], device=ctx.device)
    report = expect.mapping(report, call, ["result", "built", "calls"])
    result = report["result"]
    if type(result) is not dict:
        raise Fail(f"{call} should return a dict (learning rate -> history), but it returned {describe(result)}")
    keys = list(result)
    numeric = [k for k in keys if type(k) in (int, float)]
    if len(numeric) != len(keys) or sorted(float(k) for k in keys) != sorted(rates):
        raise Fail(f"{call} should return one entry per learning rate, keyed by the rates themselves "
                   f"{tuple(p['lrs'])}, but its keys are {keys}")
    artifacts = []
    for key in keys:
        losses, _ = _history(result[key], f"the history of lr={_number_text(key)}", p["epochs"])
        artifacts.append(Artifact("curve", f"training loss per epoch, lr={_number_text(key)}", losses))
    built = report["built"]
    if type(built) is not int or built < len(rates):
        raise Fail(f"{call} should train a fresh `{p['factory']}()` for each learning rate, but it called "
                   f"`{p['factory']}()` {built} time(s) for {len(rates)} rates", artifacts)
    calls = [c for c in report["calls"] if type(c) is dict] if type(report["calls"]) is list else []
    if calls:
        used = sorted(float(c["lr"]) for c in calls if type(c.get("lr")) in (int, float))
        if len(used) == len(calls) and used != sorted(rates):
            raise Fail(f"{call} called `{p['train']}` with the learning rates {used} instead of each of "
                       f"{sorted(rates)} once", artifacts)
        epochs = {c.get("epochs") for c in calls} - {None}
        if epochs and epochs != {p["epochs"]}:
            raise Fail(f"{call} called `{p['train']}` with epochs={sorted(epochs)}; pass on its `epochs` "
                       f"argument ({p['epochs']})", artifacts)
        models = [c.get("model") for c in calls]
        if None not in models and len(set(models)) != len(models):
            raise Fail(f"{call} trained the same model for more than one learning rate: build a fresh "
                       f"`{p['factory']}()` for each rate", artifacts)
    return Verdict(True, f"a history of {p['epochs']} epoch(s) for each of the rates {tuple(p['lrs'])}, "
                         "each from a fresh model", tuple(artifacts))


class _ArgmaxContext(CheckContext):
    """min_accuracy's context with the assignment's training probe: the grader predicts by argmax."""

    def probe(self, name, doing, /, call_args=None, blobs=None, **args):
        return super().probe("a3_train_predict" if name == "train_predict" else name, doing,
                             call_args=call_args, blobs=blobs, **args)


@check_kind("a3_min_accuracy", uses_data=True, threshold_direction="at_least",
            factory=Param((str,)),
            train=Param((str,)),
            predict=Param((str,), default="", doc="unused: the grader predicts by argmax of the model's outputs"),
            threshold=Param((float,), validate=fraction),
            epochs=Param((int,), validate=positive),
            train_size=Param((int,), validate=positive),
            test_size=Param((int,), validate=positive),
            batch_size=Param((int,), default=64, validate=positive),
            input_shape=Param((list,), default=[]),
            validation=Param((int,), default=0),
            train_kwargs=Param((dict,), default={}),
            losses_key=Param((str,), default=""))
def min_accuracy(ctx):
    """min_accuracy for an assignment without a `predict` function: the model trained with the
    student's loop is evaluated by the argmax of its outputs in eval mode, without gradients."""
    argmax_ctx = _ArgmaxContext(**{f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)})
    return shared_min_accuracy(argmax_ctx)


@check_kind("a3_beats", uses_data=True,
            model=Param((str,)),
            baseline=Param((str,)),
            train=Param((str,), default="train"),
            epochs=Param((int,), default=6, validate=positive),
            lr=Param((float,), default=0.1, validate=positive),
            train_size=Param((int,), default=2000, validate=positive),
            validation_size=Param((int,), default=128, validate=positive),
            test_size=Param((int,), default=1000, validate=positive),
            batch_size=Param((int,), default=64, validate=positive))
def beats(ctx):
    """Under the same budget (data, epochs, lr, the student's `train`, one epoch at a time), the
    model's best accuracy on held-out images over the epochs is above the baseline's."""
    p = ctx.params
    train_x, train_y, val_x, val_y = _training_split(ctx, p["train_size"], p["validation_size"])
    split = ctx.data()
    test_x, test_y = subset(split.test_x, split.test_y, p["test_size"], ctx.check.seed + 1)
    best, artifacts = {}, []
    with _inputs(ctx, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y, test_x=test_x) as name:
        for factory in (p["model"], p["baseline"]):
            report = ctx.probe("a3_train_curve", f"training `{factory}()` with `{p['train']}`", data=name,
                               factory=factory, train=p["train"], epochs=p["epochs"], lr=p["lr"],
                               batch_size=p["batch_size"], device=ctx.device)
            report = _module(report, f"`{factory}()`")
            runs = report.get("predictions")
            if type(runs) is not list or len(runs) != p["epochs"]:
                raise Fail("the grader could not read the predictions", artifacts)
            accuracies = [float(np.mean(expect.array(r, "the predictions", ndim=1) == test_y)) for r in runs]
            artifacts.append(Artifact("curve", f"held-out accuracy per epoch, {factory}()", accuracies))
            best[factory] = max(accuracies)
    budget = (f"{p['epochs']} epochs of {p['train_size']} training images at lr={p['lr']:g}, "
              f"best of {p['test_size']} held-out images")
    if not best[p["model"]] > best[p["baseline"]]:
        raise Fail(f"`{p['model']}()` reaches {best[p['model']]:.1%} but `{p['baseline']}()` {best[p['baseline']]:.1%} "
                   f"under the same budget ({budget}): the small CNN should do better than the MLP. Is it a "
                   "real CNN (convolutions, activations, pooling) that trains well with plain SGD?",
                   artifacts, value=best[p["model"]])
    return Verdict(True, f"`{p['model']}()` {best[p['model']]:.1%} against `{p['baseline']}()` "
                         f"{best[p['baseline']]:.1%} ({budget})", tuple(artifacts), value=best[p["model"]])


# ---- Q1.5: models -----------------------------------------------------------------------------------------

def _summary(ctx, factory):
    report = _module(ctx.probe("a3_model_summary", f"`{factory}`", factory=factory), f"`{factory}()`")
    linear = report.get("linear")
    if type(linear) is not list:
        raise Fail(f"`{factory}()`: the grader could not read the layers")
    shapes = [expect.shape(s, f"a Linear layer of `{factory}()`") for s in linear]
    return shapes, _trainable(_parameter_rows(report, f"`{factory}()`"))


@check_kind("a3_compare_models",
            model=Param((str,)),
            relation=Param((str,), validate=lambda v: None if v in ("wider", "deeper") else "must be wider or deeper"),
            base=Param((str,), default="build_mlp"))
def compare_models(ctx):
    """Built in the same run as the student's base MLP: 'wider' has as many Linear layers as the
    base, more hidden units and more trainable parameters; 'deeper' has more Linear layers."""
    p = ctx.params
    base_layers, base_count = _summary(ctx, p["base"])
    layers, count = _summary(ctx, p["model"])
    model, base = f"`{p['model']}()`", f"`{p['base']}()`"
    if not base_layers:
        raise Fail(f"{base} has no Linear layer to compare with")
    if p["relation"] == "deeper":
        if len(layers) <= len(base_layers):
            raise Fail(f"{model} should have more layers than {base}, but it has {len(layers)} Linear layers "
                       f"and {base} has {len(base_layers)}: add hidden layers")
        return Verdict(True, f"{model} has {len(layers)} Linear layers, {base} {len(base_layers)} "
                             f"({count:,} and {base_count:,} trainable parameters)")
    if len(layers) != len(base_layers):
        raise Fail(f"{model} should have as many layers as {base} ({len(base_layers)} Linear layers) with more "
                   f"units in them, but it has {len(layers)} Linear layers")
    hidden, base_hidden = sum(s[0] for s in layers[:-1]), sum(s[0] for s in base_layers[:-1])
    if hidden <= base_hidden or count <= base_count:
        raise Fail(f"{model}'s hidden layers should have more units than {base}'s ({base_hidden} in all), but they "
                   f"have {hidden} ({count:,} trainable parameters against {base_count:,})")
    return Verdict(True, f"{model}: {len(layers)} Linear layers like {base}, {hidden} hidden units against "
                         f"{base_hidden}, {count:,} trainable parameters against {base_count:,}")


@check_kind("a3_count_parameters",
            function=Param((str,)),
            factory=Param((str,)),
            freeze=Param((str,), default="none",
                         validate=lambda v: None if v in ("none", "first", "all_but_last")
                         else "must be none, first or all_but_last"))
def count_parameters(ctx):
    """`function(model)` on a model built by a student factory, with the layers `freeze` names
    frozen by the grader, equals the trainable count computed here from the reported shapes."""
    p = ctx.params
    report = ctx.probe("a3_count_parameters", f"`{p['function']}`", function=p["function"], factory=p["factory"],
                       freeze=p["freeze"])
    report = _module(report, f"`{p['factory']}()`")
    rows = _parameter_rows(report, f"`{p['factory']}()`")
    want, frozen = _trainable(rows), sum(math.prod(s) for _, s, grad in rows if not grad)
    what = {"none": "", "first": " with its first layer frozen",
            "all_but_last": " with every layer but the last frozen"}[p["freeze"]]
    got = expect.integer(report.get("count"), f"`{p['function']}(model)`")
    if got != want:
        hint = (" (it counts the frozen parameters too: count only those with requires_grad)"
                if got == want + frozen and frozen else "")
        raise Fail(f"`{p['function']}` gives {got:,} for `{p['factory']}()`{what}, which has {want:,} trainable "
                   f"parameters{hint}")
    return Verdict(True, f"{want:,} trainable parameters in `{p['factory']}()`{what}")


# ---- Q1.6: gradients on the grader's own small MLP ---------------------------------------------------------

def _sizes(value):
    if len(value) < 2 or not all(type(v) is int and v > 0 for v in value) or value[0] != 28 * 28:
        return "must be layer widths from 784 to the classes, e.g. [784, 32, 10]"
    return None


def _grader_mlp(weights, frozen):
    """The grader's MLP (Flatten, Linear, ReLU, ..., Linear) with `weights`, built here too."""
    import torch
    from torch import nn

    layers = [nn.Flatten()]
    for index, (weight, bias) in enumerate(weights):
        linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        linear.requires_grad_(index not in frozen)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _gradient_inputs(ctx, sizes, count):
    """Seeded weights (PyTorch's default Linear init) and `count` training images with labels."""
    import torch

    generator = torch.Generator().manual_seed(ctx.check.seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(n_in)
        weights.append(((torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound,
                        (torch.rand(n_out, generator=generator) * 2 - 1) * bound))
    split = ctx.data()
    x, y = subset(split.train_x, split.train_y, count, ctx.check.seed)
    return weights, torch.from_numpy(x).reshape(-1, 1, 28, 28), torch.from_numpy(y)


def _mean_gradient(model):
    """The mean of every gradient entry of the trainable parameters, in float64."""
    import torch

    grads = [p.grad.double().flatten() for p in model.parameters() if p.requires_grad]
    flat = torch.cat(grads)
    return float(flat.mean()), float(flat.abs().mean())


def _for_child(weights, x, y):
    return [[(Tensor(w.numpy()), Tensor(b.numpy())) for w, b in weights], Tensor(x.numpy()), Tensor(y.numpy())]


def _close(got, want, scale):
    """Equal up to float32 summation: within 1e-4 of the mean absolute gradient entry."""
    return abs(got - want) <= 1e-4 * scale + 1e-12


def _float(value, what):
    if type(value) is not float:
        hint = "; use .item() to turn a one-element tensor into a float" if isinstance(value, Tensor) else ""
        raise Fail(f"{what} should be a float, but it is {describe(value)}{hint}")
    if not math.isfinite(value):
        raise Fail(f"{what} is {value}: it should be a finite number")
    return value


@check_kind("a3_mean_gradient", uses_data=True,
            function=Param((str,)),
            sizes=Param((list,), default=[784, 32, 10], validate=_sizes),
            frozen=Param((list,), default=[], doc="indices of Linear layers that do not require gradients"),
            batch_size=Param((int,), default=32, validate=positive))
def mean_gradient(ctx):
    """After one backward pass of cross-entropy through the grader's MLP (weights and a batch of
    training images made here), `function(model)` equals the mean of every gradient entry of the
    trainable parameters, computed here with torch on the same weights and batch."""
    import torch

    p = ctx.params
    weights, x, y = _gradient_inputs(ctx, p["sizes"], p["batch_size"])
    model = _grader_mlp(weights, set(p["frozen"]))
    torch.nn.CrossEntropyLoss()(model(x), y).backward()
    want, scale = _mean_gradient(model)
    got = ctx.probe("a3_mean_gradient", f"`{p['function']}`", call_args=_for_child(weights, x, y),
                    function=p["function"], frozen=p["frozen"])
    what = " (some layers frozen)" if p["frozen"] else ""
    got = _float(got, f"`{p['function']}(model)`")
    if not _close(got, want, scale):
        hint = ""
        if _close(got, scale, scale):
            hint = ": that is the mean of the absolute values; average the gradients themselves"
        raise Fail(f"`{p['function']}(model)` is {got:.6g} for the grader's MLP{what}, but the mean of all gradient "
                   f"entries of its trainable parameters is {want:.6g}{hint}. Average every entry of every "
                   "trainable parameter's .grad together (not the mean of each parameter's mean)")
    return Verdict(True, f"mean gradient {got:.4g} matches the grader's {want:.4g}{what}")


@check_kind("a3_gradient_curve", uses_data=True,
            function=Param((str,)),
            sizes=Param((list,), default=[784, 32, 10], validate=_sizes),
            frozen=Param((list,), default=[]),
            steps=Param((int,), default=5, validate=positive),
            lr=Param((float,), default=0.1, validate=positive),
            batch_size=Param((int,), default=16, validate=positive))
def gradient_curve(ctx):
    """`function(model, loader, steps, lr)` on the grader's MLP and a loader of training batches
    made here returns `steps` finite floats; the first equals the mean gradient the parent
    computes on the first batch, and the rest follow plain SGD steps at `lr` as replayed here."""
    import torch

    p = ctx.params
    weights, x, y = _gradient_inputs(ctx, p["sizes"], p["steps"] * p["batch_size"])
    model = _grader_mlp(weights, set(p["frozen"]))
    optimizer = torch.optim.SGD([q for q in model.parameters() if q.requires_grad], lr=p["lr"])
    want, scales = [], []
    for step in range(p["steps"]):
        batch = slice(step * p["batch_size"], (step + 1) * p["batch_size"])
        optimizer.zero_grad()
        torch.nn.CrossEntropyLoss()(model(x[batch]), y[batch]).backward()
        mean, scale = _mean_gradient(model)
        want.append(mean)
        scales.append(scale)
        optimizer.step()
    got = ctx.probe("a3_gradient_curve", f"`{p['function']}`", call_args=_for_child(weights, x, y),
                    function=p["function"], frozen=p["frozen"], steps=p["steps"], lr=p["lr"],
                    batch_size=p["batch_size"])
    call = f"`{p['function']}(model, loader, steps={p['steps']}, lr={p['lr']:g})`"
    if type(got) in (list, tuple) and got and all(isinstance(v, Tensor) for v in got):
        raise Fail(f"{call} should return a list of floats, but it holds tensors; use .item()")
    curve = expect.floats(got, call, length=p["steps"])
    artifacts = (Artifact("curve", f"mean gradient per training step ({p['function']})", curve),)
    if not _close(curve[0], want[0], scales[0]):
        raise Fail(f"the first value of {call} is {curve[0]:.6g}, but the mean gradient after the first batch's "
                   f"backward pass is {want[0]:.6g}: record `mean_gradient(model)` right after loss.backward()",
                   artifacts)
    for step in range(1, p["steps"]):
        if not abs(curve[step] - want[step]) <= 1e-3 * scales[step] + 1e-10:
            raise Fail(f"value {step + 1} of {call} is {curve[step]:.6g}, but after {step} plain SGD step(s) at "
                       f"lr={p['lr']:g} the mean gradient is {want[step]:.6g}: zero the gradients before each "
                       "backward pass and take one optimizer.step() per batch, with SGD at `lr`", artifacts)
    return Verdict(True, f"{p['steps']} values, matching plain SGD at lr={p['lr']:g} "
                         f"(first {curve[0]:.4g})", artifacts)


# ---- written answers ---------------------------------------------------------------------------------------

@check_kind("a3_written_answer",
            name=Param((str,), default="ANSWERS"),
            key=Param((str,)),
            min_words=Param((int,), default=3, validate=positive))
def written_answer(ctx):
    """The answer to question `key` in the dict `name` is text of at least `min_words` words; its
    points stay pending until a TA's score is merged (`grader grade --manual-scores`)."""
    name, key = ctx.params["name"], ctx.params["key"]
    answers = ctx.probe("attribute", f"reading `{name}`", name=name)
    if answers is None:
        raise Fail(f"`{name}` is not implemented yet (it is still None)")
    if type(answers) is not dict:
        raise Fail(f"`{name}` should be a dict of answers keyed by question ('{key}': '...'), but it is "
                   f"{describe(answers)}")
    if key not in answers:
        raise Fail(f"`{name}` has no answer to question {key}: add `{name}['{key}']`")
    text = answers[key]
    if text is None:
        raise Fail(f"the answer to question {key} is not implemented yet (`{name}['{key}']` is still None)")
    if type(text) is not str:
        raise Fail(f"`{name}['{key}']` should be your answer as a string, but it is {describe(text)}")
    words = len(text.split())
    if words < ctx.params["min_words"]:
        raise Fail(f"the answer to question {key} is {'empty' if not words else 'too short'}: write it in "
                   f"`{name}['{key}']`")
    excerpt = " ".join(text.split())
    excerpt = excerpt if len(excerpt) <= 300 else excerpt[:297] + "..."
    raise Pending(f"answer received ({words} words); a TA grades it: \"{excerpt}\"")
