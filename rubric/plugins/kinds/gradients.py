"""Check kinds of a3_fashion_classifier's models, judged inside one run: the wider and deeper MLPs
against the base MLP, `count_parameters` with layers frozen by the grader, and the gradients
`mean_gradient` and `gradient_curve` report for the grader's own small MLP."""

import math

import numpy as np

from grader.checks import expect
from .reports import module_report
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, positive
from grader.data import subset
from grader.sandbox.values import Tensor, describe


# ---- Q1.5: models ---------------------------------------------------------------------------------

def _trainable(rows):
    return sum(math.prod(shape) for _, shape, grad in rows if grad)


def _summary(ctx, factory):
    report = module_report(ctx.probe("model_summary", f"`{factory}`", factory=factory), f"`{factory}()`")
    linear = report.get("linear")
    if type(linear) is not list:
        raise Fail(f"`{factory}()`: the grader could not read the layers")
    shapes = [expect.shape(s, f"a Linear layer of `{factory}()`") for s in linear]
    return shapes, _trainable(expect.parameter_rows(report, f"`{factory}()`"))


@check_kind("model_variant", probes=("model_summary",),
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


# ---- Q1.6: gradients on the grader's own small MLP ------------------------------------------------

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


@check_kind("mean_gradient", probes=("mean_gradient",), uses_data=True,
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
    got = ctx.probe("mean_gradient", f"`{p['function']}`", call_args=_for_child(weights, x, y),
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


@check_kind("gradient_curve", probes=("gradient_curve",), uses_data=True,
            function=Param((str,)),
            sizes=Param((list,), default=[784, 32, 10], validate=_sizes),
            frozen=Param((list,), default=[]),
            steps=Param((int,), default=5, validate=positive),
            lr=Param((float,), default=0.1, validate=positive),
            batch_size=Param((int,), default=16, validate=positive),
            measure=Param((str,), default="", doc="the student's function the curve records at each step "
                          "(e.g. mean_gradient): watched, so a curve that returns its values is judged on "
                          "when it measured, and the measure's own formula is left to its own check"))
def gradient_curve(ctx):
    """`function(model, loader, steps, lr)` on the grader's MLP and a loader of training batches
    made here returns `steps` values; the first is the mean gradient the parent computes on the
    first batch, and the rest follow plain SGD steps at `lr` as replayed here. A curve that
    returns what the student's `measure` returned is judged on the true mean at each call."""
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
    report = ctx.probe("gradient_curve", f"`{p['function']}`", call_args=_for_child(weights, x, y),
                       function=p["function"], frozen=p["frozen"], steps=p["steps"], lr=p["lr"],
                       batch_size=p["batch_size"], measure=p["measure"])
    report = expect.mapping(report, f"`{p['function']}`", ["curve", "calls"])
    got = report["curve"]
    call = f"`{p['function']}(model, loader, steps={p['steps']}, lr={p['lr']:g})`"
    measured = _measured(got, report["calls"], p["steps"])
    if measured is not None:  # the curve returns the measure's values: judge when it measured
        return _judge_timing(measured, want, scales, call, p)
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


def _same(a, b):
    if type(a) is float and type(b) is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return np.array_equal(np.asarray(a.array), np.asarray(b.array), equal_nan=True)
    return False


def _measured(curve, calls, steps):
    """The true mean gradient at each of the measure's calls, when the curve is exactly the values
    the watched measure returned (one call a step); else None."""
    if type(curve) not in (list, tuple) or type(calls) is not list or not (len(curve) == len(calls) == steps):
        return None
    if not all(type(c) is dict and type(c.get("true")) is float and _same(v, c.get("value"))
               for v, c in zip(curve, calls)):
        return None
    return [c["true"] for c in calls]


def _judge_timing(measured, want, scales, call, p):
    """A curve built from the student's measure: at each call the model's gradients must be those
    of plain SGD at `lr` after that many steps (the measure's formula is its own check's)."""
    artifacts = (Artifact("curve", f"mean gradient per training step (measured at each `{p['measure']}` call)",
                          measured),)
    if not _close(measured[0], want[0], scales[0]):
        raise Fail(f"{call} calls `{p['measure']}` first when the model's mean gradient is {measured[0]:.6g}, but "
                   f"after the first batch's backward pass it is {want[0]:.6g}: call `{p['measure']}(model)` "
                   "right after loss.backward()", artifacts)
    for step in range(1, p["steps"]):
        if not abs(measured[step] - want[step]) <= 1e-3 * scales[step] + 1e-10:
            raise Fail(f"at call {step + 1} of `{p['measure']}` in {call} the model's mean gradient is "
                       f"{measured[step]:.6g}, but after {step} plain SGD step(s) at lr={p['lr']:g} it is "
                       f"{want[step]:.6g}: zero the gradients before each backward pass and take one "
                       "optimizer.step() per batch, with SGD at `lr`", artifacts)
    return Verdict(True, f"{p['steps']} values from `{p['measure']}`, each after the backward pass of one plain SGD "
                         f"step at lr={p['lr']:g} (the values' formula is `{p['measure']}`'s own check)", artifacts)
