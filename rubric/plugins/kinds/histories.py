"""Check kinds of a3_fashion_classifier's training, judged by behaviour on small budgets of training
images: `train`'s history, `lr_sweep`, the loss-curves figure, and the small CNN's accuracy and its
win over the base MLP on held-out images whose labels stay here."""

import math
import re

import numpy as np

from grader.checks import expect
from .reports import figure_report, module_report, npz_inputs
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, positive
from grader.data import subset
from grader.sandbox.values import describe


# ---- helpers --------------------------------------------------------------------------------------

def _training_split(ctx, train_size, validation_size):
    """A seeded subset of the training images: (train_x, train_y, val_x, val_y), flat float32, with the
    check's secretly renamed labels (grader.relabel)."""
    split = ctx.training_data()
    x, y = subset(split.train_x, split.train_y, train_size + validation_size, ctx.check.seed)
    return x[:train_size], y[:train_size], x[train_size:], y[train_size:]


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


# ---- Q1.2: the loss-curves figure -----------------------------------------------------------------

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


def _line_showing(axes, losses):
    """The first (axes, line) of the figure whose y values are `losses`, or None."""
    for ax in axes:
        for line in ax.get("lines") if type(ax.get("lines")) is list else []:
            y = line.get("y") if type(line) is dict else None
            if (type(y) is list and len(y) == len(losses) and all(type(v) is float for v in y)
                    and np.allclose(y, losses, atol=1e-6)):
                return ax, line
    return None


@check_kind("loss_curves_figure", probes=("figure_axes",),
            function=Param((str,)),
            runs=Param((list,), validate=_runs, doc="the keys of the histories passed (learning rates, names)"),
            epochs=Param((int,), default=5, validate=positive),
            title=Param((str,), default="Your loss curves"))
def loss_curves_figure(ctx):
    """`function(histories)` on made-up histories returns a Figure with each run's loss as a line
    labelled with the run's name, a legend showing it, and both axes labelled."""
    p = ctx.params
    histories = _fake_histories(p["runs"], p["epochs"], ctx.check.seed)
    axes, report, artifacts = figure_report(ctx, p["function"], [histories])
    figure_legend = [t for legend in (report.get("figure_legends") or []) if type(legend) is list
                     for t in legend if type(t) is str]
    labels = []
    for run, history in histories.items():
        found = _line_showing(axes, history["loss"])
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


# ---- Q1.2: training -------------------------------------------------------------------------------

@check_kind("train_history", probes=("train_history_run",), uses_data=True,
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
    steps = p["epochs"] * -(-p["train_size"] // p["batch_size"])
    call = (f"`{p['function']}({p['factory']}(), train_loader, test_loader, {p['epochs']}, lr={p['lr']:g})` "
            f"({p['train_size']:,} training images, {steps} steps of batch {p['batch_size']})")
    with npz_inputs(ctx, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y) as name:
        report = ctx.probe("train_history_run", f"`{p['function']}`", data=name, factory=p["factory"], train=p["function"],
                           epochs=p["epochs"], lr=p["lr"], batch_size=p["batch_size"], device=ctx.device)
    report = module_report(report, f"`{p['factory']}()`")
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
        raise Fail(f"the mean training loss should go down over {p['epochs']} epochs of {call}, but it went from "
                   f"{losses[0]:.4f} to {losses[-1]:.4f}: the model is not learning (a bug, not the budget): zero the "
                   "gradients, compute the loss on the model's outputs and the labels, call optimizer.step()", curve)
    done = "weights unchanged at lr=0" if p["lr"] == 0 else f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    return Verdict(True, f"one loss and accuracy an epoch; last accuracy {accuracies[-1]:.3f} matches the model; "
                         f"{done}", curve)


def _rates(value):
    if not value or not all(type(v) in (int, float) and v > 0 for v in value):
        return "must be a non-empty list of positive learning rates"
    return None if len(set(value)) == len(value) else "learning rates must differ"


def _check_train_calls(calls, p, rates, call, artifacts):
    """The calls of `train` the child recorded during the sweep: each rate once, the sweep's epochs,
    a different model each time."""
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


@check_kind("lr_sweep", probes=("lr_sweep",), uses_data=True,
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
    with npz_inputs(ctx, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y) as name:
        report = ctx.probe("lr_sweep", f"`{p['function']}`", data=name, function=p["function"],
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
        _check_train_calls(calls, p, rates, call, artifacts)
    return Verdict(True, f"a history of {p['epochs']} epoch(s) for each of the rates {tuple(p['lrs'])}, "
                         "each from a fresh model", tuple(artifacts))
