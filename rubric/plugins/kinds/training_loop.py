"""Check kinds of lab11_fashion_cnn's training loop, judged by behaviour on small models and batches made here.

Gradients must not accumulate across steps (the final weights are replayed here), the returned
loss is the exact per-sample mean, `fit` trains in train mode and returns a decaying learning
rate, `predict` runs in eval mode without gradients, and the scheduler of `make_optimizer` lowers
the rate.
"""

import math

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor, describe

def _watched_inputs(seed, samples, classes=10, shape=(1, 28, 28)):
    """Weights of a flatten + linear model and a labelled batch of images, made here."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    features = math.prod(shape)
    weight = torch.randn(classes, features, generator=gen) * 0.05
    bias = torch.randn(classes, generator=gen) * 0.1
    x = torch.rand(samples, *shape, generator=gen)
    y = torch.randint(0, classes, (samples,), generator=gen)
    return weight, bias, x, y


def _wire(*tensors):
    return [Tensor(t.numpy()) for t in tensors]


def _sgd_replay(weight, bias, x, y, batch_size, lr, accumulate):
    """The weights after one epoch of plain SGD over the batches in order (float32, as in the child)."""
    import torch.nn.functional as F
    import torch
    w, b = weight.clone().requires_grad_(), bias.clone().requires_grad_()
    for start in range(0, len(y), batch_size):
        xb, yb = x[start:start + batch_size].flatten(1), y[start:start + batch_size]
        F.cross_entropy(F.linear(xb, w, b), yb).backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if not accumulate:
            w.grad, b.grad = None, None
    return w.detach(), b.detach()


def _returned_float(value, function):
    if type(value) is float and math.isfinite(value):
        return value
    if isinstance(value, Tensor):
        raise Fail(f"`{function}` should return the mean loss as a float, but it returned a tensor; use .item()")
    raise Fail(f"`{function}` should return the mean loss as a float, but it returned {describe(value)}")


def _train_epoch(ctx, samples, batch_size, lr):
    p = ctx.params
    weight, bias, x, y = _watched_inputs(ctx.check.seed, samples)
    report = ctx.probe("train_epoch_watched", f"`{p['function']}`", call_args=_wire(weight, bias, x, y),
                       function=p["function"], batch_size=batch_size, lr=lr)
    report = expect.mapping(report, f"`{p['function']}`", ["returned", "weight", "bias"])
    return (weight, bias, x, y), report


@check_kind("epoch_sgd_steps", probes=("train_epoch_watched",),
            function=Param((str,)),
            samples=Param((int,), default=48, validate=positive),
            batch_size=Param((int,), default=16, validate=positive),
            lr=Param((float,), default=0.5, validate=positive))
def epoch_gradients(ctx):
    """One epoch of the student's loop with plain SGD ends at the weights that steps on each batch's
    own gradient give (replayed here): gradients must not accumulate from one step to the next."""
    p = ctx.params
    (weight, bias, x, y), report = _train_epoch(ctx, p["samples"], p["batch_size"], p["lr"])
    got_w = expect.array(report["weight"], "the final weight").astype(np.float64)
    got_b = expect.array(report["bias"], "the final bias").astype(np.float64)
    if got_w.shape != tuple(weight.shape) or got_b.shape != tuple(bias.shape):
        raise Fail(f"`{p['function']}` changed the shapes of the model's parameters")

    def near(w, b, tol=1e-4):
        return (np.allclose(got_w, w.double().numpy(), atol=tol, rtol=0)
                and np.allclose(got_b, b.double().numpy(), atol=tol, rtol=0))

    steps = -(-p["samples"] // p["batch_size"])
    if near(*_sgd_replay(weight, bias, x, y, p["batch_size"], p["lr"], accumulate=False)):
        return Verdict(True, f"{steps} SGD steps, each on its own batch's gradient")
    if near(*_sgd_replay(weight, bias, x, y, p["batch_size"], p["lr"], accumulate=True)):
        raise Fail("gradients accumulate across steps: each optimizer step also applies the gradients of all "
                   "earlier batches; every step should use only its own batch's gradient")
    if near(weight, bias, tol=1e-7):
        raise Fail(f"`{p['function']}` did not change the model's weights; it should call loss.backward() and "
                   "optimizer.step() for every batch")
    raise Fail(f"after one epoch with plain SGD the weights differ from {steps} steps on each batch's own gradient; "
               "for every batch: optimizer.zero_grad(), loss = criterion(model(x), y), loss.backward(), "
               "optimizer.step()")


@check_kind("epoch_mean_loss", probes=("train_epoch_watched",),
            function=Param((str,)),
            samples=Param((int,), default=50, validate=positive),
            batch_size=Param((int,), default=16, validate=positive))
def epoch_mean_loss(ctx):
    """The loop returns the exact mean loss per sample over the epoch, also when the last batch is
    smaller (run with a learning rate of 0 so every batch sees the same weights)."""
    import torch.nn.functional as F
    import torch
    p = ctx.params
    (weight, bias, x, y), report = _train_epoch(ctx, p["samples"], p["batch_size"], 0.0)
    got = _returned_float(report["returned"], p["function"])
    with torch.no_grad():
        losses = F.cross_entropy(F.linear(x.flatten(1), weight, bias), y, reduction="none").double()
    batches = [losses[i:i + p["batch_size"]] for i in range(0, p["samples"], p["batch_size"])]
    means = [float(b.mean()) for b in batches]
    want = float(losses.mean())
    sizes = ", ".join(str(len(b)) for b in batches)

    def near(value):
        return math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-6)

    if near(want):
        return Verdict(True, f"the mean loss per sample over batches of {sizes} samples ({got:.4f})")
    if near(sum(means) / p["samples"]):
        raise Fail(f"`{p['function']}` returned {got:.4g}, the sum of the batch means divided by the number of "
                   f"samples; the mean loss per sample is {want:.4g}: weigh each batch's loss by its size "
                   "before dividing by the number of samples")
    if near(sum(means) / len(means)):
        raise Fail(f"`{p['function']}` returned {got:.4g}, the mean of the batch means; with batches of {sizes} "
                   f"samples the mean loss per sample is {want:.4g}: weigh each batch's loss by its size")
    if near(sum(means)) or near(float(losses.sum())):
        raise Fail(f"`{p['function']}` returned {got:.4g}, a sum over the epoch; return the mean loss per sample "
                   f"({want:.4g})")
    raise Fail(f"`{p['function']}` returned {got:.4g}, but the mean loss per sample over the epoch is {want:.4g}")


def _seen(report, function):
    seen = report.get("seen")
    if type(seen) is not list or not all(type(s) in (list, tuple) and len(s) == 2
                                         and all(type(v) is bool for v in s) for s in seen):
        raise Fail(f"`{function}`: the grader could not read what the model saw")
    return seen


def _fit(ctx, samples, batch_size, epochs):
    p = ctx.params
    weight, bias, x, y = _watched_inputs(ctx.check.seed, samples)
    report = ctx.probe("fit_watched", f"`{p['function']}`", call_args=_wire(weight, bias, x, y),
                       function=p["function"], batch_size=batch_size, epochs=epochs)
    return expect.mapping(report, f"`{p['function']}`", ["history", "seen"])


@check_kind("fit_history", probes=("fit_watched",),
            function=Param((str,)),
            epochs=Param((int,), default=3, validate=positive),
            samples=Param((int,), default=64, validate=positive),
            batch_size=Param((int,), default=16, validate=positive))
def fit_history(ctx):
    """`fit` returns {"loss": [...], "lr": [...]} with one float an epoch; the rate never rises and
    ends lower than it started; the optimizer steps at one rate an epoch (the scheduler is stepped
    once an epoch) and the reported rates are those (or those set after each epoch)."""
    p = ctx.params
    report = _fit(ctx, p["samples"], p["batch_size"], p["epochs"])
    history, fn = report["history"], p["function"]
    if type(history) is not dict or not {"loss", "lr"} <= set(history):
        raise Fail(f"`{fn}` should return a dict with keys 'loss' and 'lr', but it returned {describe(history)}")
    losses = expect.floats(history["loss"], f"`{fn}`'s 'loss'", length=p["epochs"])
    rates = expect.floats(history["lr"], f"`{fn}`'s 'lr'", length=p["epochs"])
    if any(r <= 0 for r in rates):
        raise Fail(f"the learning rates should be positive, but `{fn}` returned {rates}")
    if any(b > a * (1 + 1e-9) for a, b in zip(rates, rates[1:])):
        raise Fail(f"the learning rate should never go up, but over {p['epochs']} epochs it was {_rates(rates)}")
    if not rates[-1] < rates[0]:
        raise Fail(f"the learning rate should decay, but over {p['epochs']} epochs it stayed {_rates(rates)}; "
                   "step the scheduler once an epoch and let it lower the rate after every epoch")
    if any(v < 0 for v in losses):
        raise Fail(f"the losses should be mean cross-entropies (not negative), but `{fn}` returned {losses}")
    stepped = _rates_stepped(report.get("steps"), p)
    if stepped is None:
        return Verdict(True, f"one loss and one learning rate an epoch; the rate decays: {_rates(rates)}")
    changed = next((k for k, epoch in enumerate(stepped) if max(epoch) > min(epoch) * (1 + 1e-6)), None)
    if changed is not None:
        raise Fail(f"the learning rate changed within epoch {changed + 1} ({_rates(stepped[changed])} over its "
                   f"{len(stepped[changed])} steps): call scheduler.step() once an epoch, after its batches, not "
                   "after each batch")
    used = [epoch[0] for epoch in stepped]
    same = lambda a, b: all(math.isclose(u, v, rel_tol=1e-6) for u, v in zip(a, b))  # noqa: E731
    if not (same(rates, used) or same(rates[:-1], used[1:])):  # the rate used, or the one set after the epoch
        raise Fail(f"`{fn}` reported the rates {_rates(rates)}, but its optimizer stepped at {_rates(used)}, one rate "
                   "an epoch: report optimizer.param_groups[0]['lr'], the rate the epoch used, and step the "
                   "scheduler once an epoch")
    return Verdict(True, f"one loss and one learning rate an epoch; the rate decays, {_rates(rates)}, and is the rate "
                         "the optimizer stepped at")


def _rates_stepped(steps, p):
    """The rate of each optimizer step on the model, one list an epoch; None when the steps are not
    one a batch (gradient accumulation, a loop the grader cannot split into epochs)."""
    ours = [s["lr"] for s in steps if type(s) is dict and s.get("ours") and type(s.get("lr")) is float] \
        if type(steps) is list else []
    per_epoch = -(-p["samples"] // p["batch_size"])
    if len(ours) != per_epoch * p["epochs"]:
        return None
    return [ours[k * per_epoch:(k + 1) * per_epoch] for k in range(p["epochs"])]


def _rates(rates):
    return "[" + ", ".join(f"{r:.3g}" for r in rates) + "]"


@check_kind("fit_train_mode", probes=("fit_watched",),
            function=Param((str,)),
            epochs=Param((int,), default=2, validate=positive),
            samples=Param((int,), default=32, validate=positive),
            batch_size=Param((int,), default=16, validate=positive))
def train_mode(ctx):
    """`fit` (through `train_epoch`) trains the model in train mode, even when it was left in eval
    mode by an earlier prediction, and with gradients."""
    p = ctx.params
    seen = _seen(_fit(ctx, p["samples"], p["batch_size"], p["epochs"]), p["function"])
    if not seen:
        raise Fail(f"`{p['function']}` never ran the model")
    in_eval = sum(1 for training, _ in seen if not training)
    if in_eval:
        raise Fail(f"the model was in eval mode during {in_eval} of {len(seen)} forward passes of training, so "
                   "dropout was off; call model.train() at the start of every epoch (a prediction leaves the "
                   "model in eval mode)")
    if not all(grad for _, grad in seen):
        raise Fail("the model ran without gradient tracking during training; do not train under torch.no_grad()")
    return Verdict(True, f"all {len(seen)} forward passes of training ran in train mode")


@check_kind("predicted_classes", probes=("predicted_classes",),
            function=Param((str,)),
            samples=Param((int,), default=20, validate=positive))
def predict(ctx):
    """`predict` returns int64 class indices (N,) equal to the argmax of the model's logits, computed in
    eval mode without gradient tracking (on a small model left in train mode)."""
    import torch.nn.functional as F
    p = ctx.params
    weight, bias, x, _ = _watched_inputs(ctx.check.seed, p["samples"])
    report = ctx.probe("predicted_classes", f"`{p['function']}`", call_args=_wire(weight, bias, x),
                       function=p["function"])
    report = expect.mapping(report, f"`{p['function']}`", ["predictions", "seen"])
    got = expect.array(report["predictions"], f"the value returned by `{p['function']}`", allow_numpy=False)
    want = F.linear(x.flatten(1), weight, bias).argmax(dim=1).numpy()
    if got.ndim == 2:
        raise Fail(f"`{p['function']}` returned scores of shape {got.shape}; return class indices of shape (N,): "
                   "use argmax over the class dimension")
    if got.dtype.kind not in "iu":
        raise Fail(f"`{p['function']}` should return class indices as an integer tensor, not {got.dtype}")
    if got.shape != want.shape or not np.array_equal(got, want):
        raise Fail(f"`{p['function']}` should return the argmax of the model's logits for each image")
    seen = _seen(report, p["function"])
    if any(training for training, _ in seen):
        raise Fail(f"`{p['function']}` ran the model in train mode (where dropout and batch norm act as in training); "
                   "call model.eval() first")
    if any(grad for _, grad in seen):
        raise Fail(f"`{p['function']}` tracked gradients; predict under torch.no_grad()")
    return Verdict(True, "class indices equal to the argmax of the logits, in eval mode without gradients")


@check_kind("lr_schedule", probes=("optimizer_schedule",),
            function=Param((str,)),
            lr=Param((float,), validate=positive),
            epochs=Param((int,), default=10, validate=positive))
def lr_decay(ctx):
    """`make_optimizer(model, lr)` returns (optimizer, scheduler): the optimizer holds every trainable
    parameter at rate `lr`; over `epochs` scheduler steps the rate never rises and goes down at least once."""
    p = ctx.params
    fn, lr = p["function"], p["lr"]
    report = ctx.probe("optimizer_schedule", f"`{fn}`", function=fn, lr=lr, epochs=p["epochs"])
    report = expect.mapping(report, f"`{fn}`", ["parameters", "returned"])
    returned = report["returned"] if type(report["returned"]) is dict else {}
    if "optimizer" not in report:
        raise Fail(f"`{fn}(model, lr)` should return a pair (optimizer, scheduler), but it returned a "
                   f"{returned.get('class')}" + (f" of length {returned['length']}" if returned.get("length") else ""))
    optimizer, scheduler = report["optimizer"], report.get("scheduler")
    if type(optimizer) is not dict or optimizer.get("is_optimizer") is not True:
        got = optimizer.get("class") if type(optimizer) is dict else "?"
        raise Fail(f"the first item `{fn}` returns should be a torch.optim.Optimizer, but it is a {got}")
    if "rates" not in report:
        got = scheduler.get("class") if type(scheduler) is dict else "?"
        raise Fail(f"the second item `{fn}` returns should be a learning-rate scheduler with a step() method, "
                   f"but it is a {got}")
    groups = report.get("groups")
    if type(groups) is not list or not all(type(g) is list and all(type(n) is str for n in g) for g in groups):
        raise Fail("the grader could not read the optimizer's parameter groups")
    held = {n for g in groups for n in g}
    trainable = set(report["parameters"]) if type(report["parameters"]) is list else set()
    missing = sorted(map(str, trainable - held))
    if not trainable or missing:
        raise Fail(f"the optimizer should hold every trainable parameter of the model, but it misses "
                   f"{', '.join(missing[:3])}; pass model.parameters()")
    rates = report["rates"]
    if type(rates) is not list or not rates or not all(type(r) is list and r and all(type(v) is float for v in r)
                                                       for r in rates):
        raise Fail("the grader could not read the learning rates")
    first = [r[0] for r in rates]
    if not all(math.isclose(v, lr, rel_tol=1e-9) for v in rates[0]):
        raise Fail(f"the optimizer's learning rate should start at {lr} (the `lr` argument), but it is {rates[0]}")
    if any(b > a * (1 + 1e-9) for a, b in zip(first, first[1:])):
        raise Fail(f"the learning rate should never go up, but over {p['epochs']} scheduler steps it was "
                   f"{_rates(first)}")
    if not first[-1] < first[0]:
        raise Fail(f"the scheduler should lower the learning rate, but after {p['epochs']} steps it is still "
                   f"{first[-1]:.3g}")
    return Verdict(True, f"the optimizer holds every parameter; over {p['epochs']} epochs the rate goes "
                         f"{first[0]:.3g} -> {first[-1]:.3g} and never rises")
