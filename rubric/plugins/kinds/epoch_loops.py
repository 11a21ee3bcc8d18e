"""Check kinds of cnn_foundations' training and evaluation loops, replayed here on the grader's model and data.

- `train_one_epoch` / `evaluate_loop`: the child runs the student's loop on a model the grader
  defines (with a recorder of each forward pass's mode) and the parent's data and weights; the
  parent replays the same computation and compares the loss, the accuracy and the weights.
"""

import math

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor, describe

def _loop_inputs(seed, samples, image_shape, hidden, classes):
    """Seeded data (x in [0, 1], y class indices) and initial weights of the grader's model."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    features = math.prod(image_shape)
    x = torch.rand(samples, *image_shape, generator=generator)
    y = torch.randint(0, classes, (samples,), generator=generator)
    weights = {}
    for index, (n_in, n_out) in ((2, (features, hidden)), (4, (hidden, classes))):
        scale = 2.0 / math.sqrt(n_in)
        weights[f"{index}.weight"] = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * scale
        weights[f"{index}.bias"] = (torch.rand(n_out, generator=generator) * 2 - 1) * scale
    return x, y, weights, features


def _parent_model(features, hidden, classes, weights):
    """The grader's model, rebuilt here (nn.Identity where the child has its recorder)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Flatten(), torch.nn.Linear(features, hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    model.load_state_dict({k: v.clone() for k, v in weights.items()})
    return model


def _batches(x, y, batch_size):
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


def _replay_epoch(model, batches, lr, zero_grad=True, step=True):
    """One epoch of SGD as the notes' six steps do it (or with a step left out); returns each
    batch's mean loss."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for data, target in batches:
        if zero_grad:
            optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        if step:
            optimizer.step()
        losses.append(loss.item())
    return losses


def _loop_report(ctx, p, mode, x, y, weights, sizes):
    extra = {"lr": p["lr"]} if mode == "train" else {}
    report = ctx.probe("epoch_loop", f"`{p['function']}`",
                       call_args=[{k: Tensor(v.numpy()) for k, v in weights.items()}, Tensor(x.numpy()),
                                  Tensor(y.numpy())],
                       function=p["function"], mode=mode, sizes=list(sizes), batch_size=p["batch_size"], **extra)
    report = expect.mapping(report, f"`{p['function']}`", ["result", "calls", "params"])
    calls = report["calls"]
    if type(calls) is not list or not all(type(c) is list and len(c) == 3 and type(c[0]) is bool
                                          and type(c[1]) is bool and type(c[2]) is int for c in calls):
        raise Fail(f"`{p['function']}`: the grader could not read what the model saw")
    return report


def _check_batches(function, calls, batches, what):
    seen = [c[2] for c in calls]
    want = [len(b[1]) for b in batches]
    if not seen:
        raise Fail(f"`{function}` never called the model; {what}")
    if seen != want:
        if len(seen) > len(want) and seen[:len(want)] == want:
            raise Fail(f"`{function}` went over the loader more than once ({len(seen)} forward passes for "
                       f"{len(want)} batches); it should make exactly one pass")
        raise Fail(f"the model saw batches of sizes {seen}, but one pass over the loader gives batches of sizes "
                   f"{want}; use every (data, target) batch of the loader once")


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


LOOP_PARAMS = dict(samples=Param((int,), default=22, validate=positive, doc="data set size (not a multiple "
                                                                          "of the batch size)"),
                   batch_size=Param((int,), default=8, validate=positive),
                   image_shape=Param((list,), default=[1, 4, 4], doc="shape of one input"),
                   hidden=Param((int,), default=12, validate=positive),
                   classes=Param((int,), default=4, validate=positive))


@check_kind("train_one_epoch", probes=("epoch_loop",),
            function=Param((str,), default="train_one_epoch"),
            lr=Param((float,), default=0.5, validate=positive),
            **LOOP_PARAMS)
def train_one_epoch(ctx):
    """On the grader's model, initial weights and fixed loader, one epoch of the student's loop
    leaves the same weights as the notes' six steps replayed here, and returns the exact mean
    loss per sample (summed `loss.item() * data.size(0)` over the data set size)."""
    p = ctx.params
    x, y, weights, features = _loop_inputs(ctx.check.seed, p["samples"], p["image_shape"], p["hidden"], p["classes"])
    sizes = (features, p["hidden"], p["classes"])
    report = _loop_report(ctx, p, "train", x, y, weights, sizes)
    batches = _batches(x, y, p["batch_size"])
    _check_batches(p["function"], report["calls"], batches, "pass each batch through it (the forward pass)")
    model = _parent_model(*sizes, weights)
    losses = _replay_epoch(model, batches, p["lr"])
    _check_trained_weights(report["params"], p["function"], model, weights, sizes, batches, p["lr"])
    counts = [len(b[1]) for b in batches]
    want = _check_mean_loss(report["result"], p["function"], losses, counts)
    return Verdict(True, f"weights after one epoch match the six steps; mean loss per sample {want:.4f} over "
                         f"{sum(counts)} samples in batches of {counts}")


def _check_trained_weights(got, function, model, weights, sizes, batches, lr):
    """Fail unless the weights the child reports after the epoch are those of the parent's replay
    `model`; names the likely mistake (no step, gradients never zeroed)."""
    if type(got) is not dict or set(got) != set(weights):
        raise Fail(f"`{function}`: the grader could not read the model's weights")
    got = {k: expect.array(v, f"the weight {k}") for k, v in got.items()}

    def same(state):
        return all(np.allclose(got[k], state[k].detach().numpy(), rtol=1e-4, atol=1e-5) for k in got)

    if same(model.state_dict()):
        return
    if same(weights):
        raise Fail("the model's weights did not change during the epoch; for every batch compute the loss, "
                   "call loss.backward() and then optimizer.step()")
    variant = _parent_model(*sizes, weights)
    _replay_epoch(variant, batches, lr, zero_grad=False)
    if same(variant.state_dict()):
        raise Fail("the gradients add up from batch to batch: call optimizer.zero_grad() at the start of every "
                   "batch, before loss.backward()")
    raise Fail("after one epoch the model's weights differ from those of the notes' six steps (zero_grad, "
               "forward, loss, backward, step for every batch, in the loader's order)")


def _check_mean_loss(value, function, losses, counts):
    """Fail unless `value` (what the loop returned) is the mean loss per sample of the batch
    `losses` of sizes `counts`; names the likely mistake. Returns the mean loss."""
    if isinstance(value, (Tensor, np.ndarray)):
        raise Fail(f"`{function}` should return the mean loss as a Python float, but it returned "
                   f"{describe(value)}; accumulate loss.item() * data.size(0)")
    if type(value) not in (float, int):
        raise Fail(f"`{function}` should return the mean loss per sample as a float, but it returned "
                   f"{describe(value)}")
    want = sum(l * n for l, n in zip(losses, counts)) / sum(counts)
    if not _close(value, want):
        problems = [(sum(losses) / len(losses), "the mean of the batch losses; weight each batch's loss by its size "
                                                "(loss.item() * data.size(0)) and divide by the number of samples"),
                    (sum(l * n for l, n in zip(losses, counts)), "the summed loss; divide it by the number of samples "
                                                                 "in the data set"),
                    (sum(losses), "the sum of the batch means; multiply each by data.size(0) and divide the total by "
                                  "the number of samples"),
                    (losses[-1], "the last batch's loss; accumulate over the whole epoch")]
        hint = next((text for wrong, text in problems if _close(value, wrong)), "")
        raise Fail(f"`{function}` returned {value:.6g}, but the mean loss per sample over the epoch is "
                   f"{want:.6g}" + (f": it looks like {hint}" if hint else ""))
    return want


@check_kind("evaluate_loop", probes=("epoch_loop",),
            function=Param((str,), default="evaluate"),
            **LOOP_PARAMS)
def evaluate_loop(ctx):
    """`evaluate` runs the model in eval mode without gradients (recorded at every forward pass)
    and returns the exact mean loss per sample and the accuracy (0..1), computed here."""
    import torch

    p = ctx.params
    x, y, weights, features = _loop_inputs(ctx.check.seed, p["samples"], p["image_shape"], p["hidden"], p["classes"])
    sizes = (features, p["hidden"], p["classes"])
    report = _loop_report(ctx, p, "evaluate", x, y, weights, sizes)
    batches = _batches(x, y, p["batch_size"])
    calls = report["calls"]
    _check_batches(p["function"], calls, batches, "evaluate it on every batch")
    if any(training for training, _, _ in calls):
        raise Fail("the model was in training mode during the evaluation; call model.eval() before the loop")
    if any(grad for _, grad, _ in calls):
        raise Fail("gradients were being tracked during the evaluation; run the loop inside `with torch.no_grad():`")
    value = report["result"]
    if type(value) not in (tuple, list) or len(value) != 2:
        raise Fail(f"`{p['function']}` should return a pair (mean loss, accuracy), but it returned {describe(value)}")
    for item, what in zip(value, ("the mean loss", "the accuracy")):
        if type(item) not in (float, int):
            raise Fail(f"{what} returned by `{p['function']}` should be a Python float, but it is {describe(item)}"
                       " (use .item())")
    model = _parent_model(*sizes, weights).eval()
    criterion = torch.nn.CrossEntropyLoss()
    with torch.no_grad():
        losses = [criterion(model(data), target).item() for data, target in batches]
        correct = sum(int((model(data).argmax(dim=1) == target).sum()) for data, target in batches)
    counts = [len(b[1]) for b in batches]
    want_loss = sum(l * n for l, n in zip(losses, counts)) / sum(counts)
    want_acc = correct / sum(counts)
    loss, accuracy = float(value[0]), float(value[1])
    if not _close(loss, want_loss):
        hint = (": it looks like the mean of the batch losses; weight each by data.size(0) and divide by the number "
                "of samples") if _close(loss, sum(losses) / len(losses)) else ""
        raise Fail(f"the mean loss returned is {loss:.6g}, but the mean loss per sample is {want_loss:.6g}{hint}")
    if not _close(accuracy, want_acc):
        hint = "; return the accuracy as a fraction between 0 and 1" if _close(accuracy, 100 * want_acc) else ""
        raise Fail(f"the accuracy returned is {accuracy:.6g}, but {correct} of {sum(counts)} samples are classified "
                   f"right (accuracy {want_acc:.6g}){hint}")
    return Verdict(True, f"eval mode, no gradients, mean loss {want_loss:.4f} and accuracy {want_acc:.3f} right")
