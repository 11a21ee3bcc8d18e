"""Check kinds of a3's `train` contract, judged on the grader's own flatten + linear model with
weights and batches made here (in order, so every step can be replayed in the parent):

- trains_with_sgd: `train` steps plain SGD at the `lr` it is given (the final weights equal a replay
  of plain SGD, or the optimizer seen stepping is torch.optim.SGD at that lr);
- history_mean_loss: the history's loss is a mean over the epoch (per sample, or the mean of the
  batch means), not a sum (run at lr=0 so every batch sees the same weights).
"""

import math

import numpy as np

from grader.checks import expect
from .training_loop import _watched_inputs, _wire
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import describe

SGD_CLASS = "torch.optim.sgd.SGD"
SIGNATURES = ("train_test", "loader_epochs")


def _batches(samples, batch_size):
    return [(start, min(start + batch_size, samples)) for start in range(0, samples, batch_size)]


def _replay(weight, bias, x, y, batch_size, lr):
    """Plain SGD over the batches in order: (final weight, final bias, per-sample losses of each
    batch before its step), float32 as in the child."""
    import torch
    import torch.nn.functional as F

    w, b = weight.clone().requires_grad_(), bias.clone().requires_grad_()
    losses = []
    for start, stop in _batches(len(y), batch_size):
        each = F.cross_entropy(F.linear(x[start:stop].flatten(1), w, b), y[start:stop], reduction="none")
        losses.append(each.detach().double().numpy())
        each.mean().backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad, b.grad = None, None
    return w.detach(), b.detach(), losses


def _run(ctx, lr):
    """The student's `train` for the check's epochs on the watched model; (inputs, report)."""
    p = ctx.params
    weight, bias, x, y = _watched_inputs(ctx.check.seed, p["samples"] + p["validation_size"])
    x, val_x = x[:p["samples"]], x[p["samples"]:]
    y, val_y = y[:p["samples"]], y[p["samples"]:]
    report = ctx.probe("train_watched_steps", f"`{p['function']}`", train=p["function"], epochs=p["epochs"], lr=lr,
                       batch_size=p["batch_size"], signature=p["signature"],
                       call_args=_wire(weight, bias, x, y, val_x, val_y))
    report = expect.mapping(report, f"`{p['function']}`", ["history", "weight", "bias", "steps"])
    return (weight, bias, x, y), report


def _call_text(p, lr):
    steps = len(_batches(p["samples"], p["batch_size"])) * p["epochs"]
    loaders = "loader" if p["signature"] == "loader_epochs" else "train_loader, test_loader"
    return (f"`{p['function']}(model, {loaders}, epochs={p['epochs']}, lr={lr:g})` on a small "
            f"linear model ({p['samples']} images in batches of {p['batch_size']}, {steps} steps)")


def _optimizers_seen(steps):
    """'torch.optim.adam.Adam at lr=0.5 (momentum 0.9)' for each distinct optimizer that stepped."""
    seen = []
    for step in steps if type(steps) is list else []:
        if type(step) is not dict or not step.get("ours"):
            continue
        name = str(step.get("class"))
        text = f"{name.rsplit('.', 1)[-1]} at lr={step['lr']:g}" if type(step.get("lr")) is float else name
        if type(step.get("momentum")) is float and step["momentum"]:
            text += f" with momentum {step['momentum']:g}"
        if text not in seen:
            seen.append(text)
    return seen


def _sgd_at(steps, lr):
    """Did every observed step on the model come from torch.optim.SGD at `lr` (momentum allowed)?"""
    ours = [s for s in steps if type(s) is dict and s.get("ours")] if type(steps) is list else []
    return bool(ours) and all(s.get("class") == SGD_CLASS and type(s.get("lr")) is float
                              and math.isclose(s["lr"], lr, rel_tol=1e-6) for s in ours)


_COMMON = dict(function=Param((str,), default="train"),
               samples=Param((int,), default=50, validate=positive, doc="training images (not a multiple of batch_size)"),
               validation_size=Param((int,), default=20, validate=positive),
               batch_size=Param((int,), default=16, validate=positive),
               epochs=Param((int,), default=1, validate=positive),
               signature=Param((str,), default="train_test", validate=lambda v: None if v in SIGNATURES else
                               f"must be one of {', '.join(SIGNATURES)}", doc="how `function` is called: "
                               "train_test is (model, train_loader, test_loader, epochs, lr) and returns a dict "
                               "with 'loss'; loader_epochs is (model, loader, epochs, lr=lr) and returns the list"))


@check_kind("trains_with_sgd", probes=("train_watched_steps",), lr=Param((float,), default=0.5, validate=positive),
            **_COMMON)
def train_sgd(ctx):
    """`train` updates the model with SGD at the `lr` it is given: the final weights equal plain SGD
    replayed here, or every optimizer step seen on the model is torch.optim.SGD at that lr."""
    p = ctx.params
    (weight, bias, x, y), report = _run(ctx, p["lr"])
    call = _call_text(p, p["lr"])
    w, b = weight, bias
    for _ in range(p["epochs"]):
        w, b, _ = _replay(w, b, x, y, p["batch_size"], p["lr"])
    got_w = expect.array(report["weight"], "the final weight").astype(np.float64)
    got_b = expect.array(report["bias"], "the final bias").astype(np.float64)
    if (got_w.shape == tuple(w.shape) and got_b.shape == tuple(b.shape)
            and np.allclose(got_w, w.double().numpy(), atol=1e-4, rtol=0)
            and np.allclose(got_b, b.double().numpy(), atol=1e-4, rtol=0)):
        return Verdict(True, f"{call} ends at the weights of plain SGD at lr={p['lr']:g}")
    seen = _optimizers_seen(report["steps"])
    if _sgd_at(report["steps"], p["lr"]):
        return Verdict(True, f"{call} steps torch.optim.{' and '.join(seen)}")
    if seen:
        raise Fail(f"{call} stepped {' and '.join(seen)}; the assignment asks for SGD at the given rate: "
                   f"optimizer = torch.optim.SGD(model.parameters(), lr=lr)")
    if np.allclose(got_w, weight.double().numpy(), atol=1e-7, rtol=0):
        raise Fail(f"{call} did not change the model's weights: compute the loss, call backward() and "
                   "optimizer.step() for each batch")
    raise Fail(f"{call} ends at weights that differ from plain SGD at lr={p['lr']:g} on each batch's mean "
               "cross-entropy; use optimizer = torch.optim.SGD(model.parameters(), lr=lr) with "
               "nn.CrossEntropyLoss(), zero the gradients before each backward()")


def _epochs_scored(report, weight, bias, x, y, p):
    """[per-sample losses of each batch] for each epoch: replayed at the unchanged weights (lr=0),
    or, where the student's loop moved them anyway (an `lr or default` idiom), scored from the
    logits of its own training forward passes (one a batch, in order); None when neither fits."""
    got_w = expect.array(report["weight"], "the final weight").astype(np.float64)
    if got_w.shape == tuple(weight.shape) and np.allclose(got_w, weight.double().numpy(), atol=1e-7, rtol=0):
        return [_replay(weight, bias, x, y, p["batch_size"], 0.0)[2]] * p["epochs"]
    import torch
    import torch.nn.functional as F

    spans = _batches(len(y), p["batch_size"])
    forwards = report.get("forwards")
    if type(forwards) is not list or len(forwards) != len(spans) * p["epochs"]:
        return None
    epochs = []
    for k in range(p["epochs"]):
        batches = []
        for (start, stop), logits in zip(spans, forwards[k * len(spans):(k + 1) * len(spans)]):
            logits = expect.array(logits, "a training forward pass's output").astype(np.float64)
            if logits.shape != (stop - start, weight.shape[0]):
                return None
            each = F.cross_entropy(torch.from_numpy(logits), y[start:stop], reduction="none")
            batches.append(each.numpy())
        epochs.append(batches)
    return epochs


@check_kind("history_mean_loss", probes=("train_watched_steps",), **_COMMON)
def train_mean_loss(ctx):
    """Each epoch's loss in the history is the mean loss over the epoch: per sample, or the mean of
    the batch means; a sum is refused. Run with lr=0 (the weights stay put, whatever the
    optimizer); a loop that moves them anyway is scored on the logits of its own forward passes."""
    p = ctx.params
    (weight, bias, x, y), report = _run(ctx, 0.0)
    history = report["history"]
    if p["signature"] == "loader_epochs":
        if type(history) not in (list, tuple):
            raise Fail(f"{_call_text(p, 0.0)} should return the list of each epoch's mean training loss, but it "
                       f"returned {describe(history)}")
        losses = expect.floats(list(history), "the list it returned", length=p["epochs"])
    elif type(history) is not dict or "loss" not in history:
        raise Fail(f"{_call_text(p, 0.0)} should return a dict with key 'loss', but it returned {describe(history)}")
    else:
        losses = expect.floats(history["loss"], "the history's 'loss'", length=p["epochs"])
    epochs = _epochs_scored(report, weight, bias, x, y, p)
    if epochs is None:
        raise Fail(f"{_call_text(p, 0.0)} changed the model's weights although lr=0, and its training passes were "
                   "not one forward pass a batch, so the loss it records cannot be checked: give the `lr` "
                   "argument to the optimizer as its learning rate")
    sizes = ", ".join(str(len(b)) for b in epochs[0])
    near = lambda a, b: math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)  # noqa: E731
    for got, batches in zip(losses, epochs):
        per_sample = float(np.concatenate(batches).mean())
        batch_means = [float(b.mean()) for b in batches]
        if near(got, per_sample) or near(got, float(np.mean(batch_means))):
            continue
        sums = {"the sum of the batch means": sum(batch_means),
                "the sum of every sample's loss": float(np.concatenate(batches).sum())}
        for what, value in sums.items():
            if near(got, value):
                raise Fail(f"{_call_text(p, 0.0)} recorded a loss of {got:.4g}, {what} over the epoch; the mean "
                           f"training loss is {per_sample:.4g}: divide the summed loss by the number of samples "
                           f"(or of batches) before appending it")
        raise Fail(f"{_call_text(p, 0.0)} recorded a loss of {got:.4g}, but the mean training loss of that epoch "
                   f"(batches of {sizes} samples) is {per_sample:.4g}")
    return Verdict(True, f"the mean loss over the epoch ({losses[-1]:.4f}; batches of {sizes} samples)")
