"""Check kinds and reference implementations of lab11_fashion_cnn.

- Reference implementations for `function_cases`: the lecture's filter table, `nn.Conv2d`'s real
  output size and `F.conv2d`, all computed here in the parent.
- Architecture by inspection: the child traces one forward pass (the torch functions it called,
  in order); the parent finds the convolutional blocks, their activations, pooling and filters,
  the dropout of the classifier part and what the first Linear layer receives.
- Dropout by behaviour: outputs in train mode differ between seeds, in eval mode they do not.
- The training loop by behaviour, on small models and batches made here: gradients must not
  accumulate across steps (the final weights are replayed here), the returned loss is the exact
  per-sample mean, `fit` trains in train mode and returns a decaying learning rate, `predict` runs
  in eval mode without gradients, and the scheduler of `make_optimizer` lowers the rate.
"""

import math

import numpy as np

from grader.checks import expect
from grader.checks.cases import reference_impl
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor, describe

# ---- reference implementations (function_cases) ------------------------------------------------

FILTERS = {  # the lecture's table, in its order
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge_1": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "edge_2": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge_3": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box_blur": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "gaussian_blur": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
}
SCALE = {"box_blur": 9, "gaussian_blur": 16}


@reference_impl("lab11_filter")
def filter_table(name):
    """The lecture's 3x3 filter `name` as a float64 tensor."""
    import torch
    return torch.tensor(FILTERS[name], dtype=torch.float64) / SCALE.get(name, 1)


@reference_impl("lab11_conv_output_size")
def conv_output_size(n_in, kernel_size, padding=0, stride=1):
    """The width of a real nn.Conv2d's output for an input n_in wide."""
    import torch
    conv = torch.nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n_in, n_in)).shape[-1])


@reference_impl("lab11_convolve2d")
def convolve2d(image, kernel, stride=1, padding=0):
    """F.conv2d of one (H, W) image with one (kh, kw) kernel, in float64."""
    import torch.nn.functional as F
    return F.conv2d(image.double()[None, None], kernel.double()[None, None], stride=stride, padding=padding)[0, 0]


# ---- reading a traced forward pass ---------------------------------------------------------------

ACTIVATIONS = {"relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh",
               "hardtanh", "softplus", "prelu", "rrelu", "hardswish", "hardsigmoid", "softsign", "logsigmoid",
               "threshold", "glu"}
LINEAR = {"linear", "matmul", "mm", "addmm", "bilinear"}


def category(name):
    """What a traced torch function is: conv, act, pool, dropout, linear or None."""
    base = name.strip("_")
    if base == "conv2d":
        return "conv"
    if base in ACTIVATIONS:
        return "act"
    if "pool" in base:
        return "pool"
    if "dropout" in base:
        return "dropout"
    if base in LINEAR:
        return "linear"
    return None


def _trace(ctx, factory, input_shape, batch=2):
    """The ops of one forward pass of `factory()` as [(category, name, input shape, weight shape)]."""
    import torch
    x = torch.rand(batch, *input_shape, generator=torch.Generator().manual_seed(ctx.check.seed))
    report = ctx.probe("lab11_trace", f"`{factory}`", call_args=[Tensor(x.numpy())], factory=factory)
    report = expect.mapping(report, f"`{factory}()`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{factory}()` should make an nn.Module, but it made a {report['class']}")
    ops = report.get("ops")
    if type(ops) is not list:
        raise Fail(f"`{factory}`: the grader could not read the forward pass")
    out = []
    for op in ops:
        if type(op) is not list or not op or type(op[0]) is not str:
            raise Fail(f"`{factory}`: the grader could not read the forward pass")
        shapes = [expect.shape(s, "a traced shape") for s in op[1:3]]
        kind = category(op[0])
        if kind:
            out.append((kind, op[0], shapes[0] if shapes else None, shapes[1] if len(shapes) > 1 else None))
    return out, report.get("output")


def _blocks(ops):
    """Each conv with the ops up to the next conv (the last: up to the first linear op after it)."""
    convs = [i for i, op in enumerate(ops) if op[0] == "conv"]
    blocks = []
    for n, start in enumerate(convs):
        end = convs[n + 1] if n + 1 < len(convs) else next(
            (i for i in range(start, len(ops)) if ops[i][0] == "linear"), len(ops))
        kinds = {op[0] for op in ops[start + 1:end]}
        weight = ops[start][3]
        filters = weight[0] if weight and len(weight) == 4 else None
        kernel = "x".join(map(str, weight[2:])) if weight and len(weight) == 4 else "?"
        channels = f"{weight[1]}->{weight[0]}" if weight and len(weight) == 4 else "?"
        blocks.append({"act": "act" in kinds, "pool": "pool" in kinds, "filters": filters,
                       "text": f"conv {n + 1} ({channels} channels, {kernel} kernel)"})
    return blocks


def _first_linear_after_convs(ops):
    convs = [i for i, op in enumerate(ops) if op[0] == "conv"]
    start = convs[-1] if convs else 0
    return next((op for op in ops[start:] if op[0] == "linear"), None)


@check_kind("lab11_architecture",
            factory=Param((str,), doc="the model class (or a function) that builds the model"),
            input_shape=Param((list,), default=[1, 28, 28]),
            min_blocks=Param((int,), default=2, validate=positive,
                             doc="conv layers that are each followed by an activation and pooling"),
            min_filters=Param((int,), default=4, validate=positive, doc="output channels of each such conv"),
            dropout=Param((bool,), default=True, doc="require dropout after the last conv (the classifier part)"))
def architecture(ctx):
    """By inspection of one traced forward pass: at least `min_blocks` convolutions, each followed
    by an activation and pooling (in either order) before the next one, each with at least
    `min_filters` filters, and (when `dropout`) a dropout after the last convolution."""
    p = ctx.params
    ops, _ = _trace(ctx, p["factory"], p["input_shape"])
    blocks = _blocks(ops)
    name = f"`{p['factory']}`"
    if not blocks:
        raise Fail(f"{name}'s forward pass uses no 2-D convolution (nn.Conv2d or F.conv2d)")
    complete = [b for b in blocks if b["act"] and b["pool"]]
    listing = "; ".join(f"{b['text']}: activation {'yes' if b['act'] else 'NO'}, pooling {'yes' if b['pool'] else 'NO'}"
                        for b in blocks)
    if len(complete) < p["min_blocks"]:
        raise Fail(f"{name} should have at least {p['min_blocks']} convolutional layers each followed by an "
                   f"activation function and pooling, but it has {len(complete)}: {listing}")
    few = [b for b in complete if b["filters"] is None or b["filters"] < p["min_filters"]]
    if few:
        raise Fail(f"each convolutional layer should have several filters (at least {p['min_filters']} output "
                   f"channels), but {few[0]['text']} has {few[0]['filters']}")
    last_conv = max(i for i, op in enumerate(ops) if op[0] == "conv")
    has_dropout = any(op[0] == "dropout" for op in ops[last_conv:])
    if p["dropout"] and not has_dropout:
        raise Fail(f"{name} has no dropout in its classifier part (after the last convolution); "
                   "add nn.Dropout before or between its Linear layers")
    extra = ", dropout in the classifier" if p["dropout"] else ""
    return Verdict(True, f"{len(complete)} convolutional blocks with activation and pooling "
                         f"({', '.join(str(b['filters']) for b in complete)} filters){extra}")


@check_kind("lab11_dropout_modes",
            factory=Param((str,)),
            input_shape=Param((list,), default=[1, 28, 28]),
            batch=Param((int,), default=4, validate=positive))
def dropout_modes(ctx):
    """Dropout is active in train mode (two forward passes with different seeds differ) and off in
    eval mode (the same two passes agree)."""
    import torch
    p = ctx.params
    x = torch.rand(p["batch"], *p["input_shape"], generator=torch.Generator().manual_seed(ctx.check.seed))
    seeds = [ctx.check.seed % 1000 + 1, ctx.check.seed % 1000 + 2]
    report = ctx.probe("lab11_dropout", f"`{p['factory']}`", call_args=[Tensor(x.numpy())], factory=p["factory"],
                       seeds=seeds)
    report = expect.mapping(report, f"`{p['factory']}()`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{p['factory']}()` should make an nn.Module, but it made a {report['class']}")
    outputs = report.get("outputs") if type(report.get("outputs")) is dict else {}
    got = {}
    for mode in ("train", "eval"):
        for seed in seeds:
            got[mode, seed] = expect.array(outputs.get(f"{mode}_{seed}"), f"the output in {mode} mode",
                                           allow_numpy=False).astype(np.float64)
    if got["train", seeds[0]].shape != got["train", seeds[1]].shape:
        raise Fail("the output's shape changes between two forward passes")
    train_gap = float(np.abs(got["train", seeds[0]] - got["train", seeds[1]]).max())
    eval_gap = float(np.abs(got["eval", seeds[0]] - got["eval", seeds[1]]).max())
    if train_gap <= 1e-6:
        raise Fail("in train mode two forward passes with different random seeds give the same output: "
                   "dropout is not active while training (use nn.Dropout with p > 0)")
    if eval_gap > 1e-6:
        raise Fail(f"in eval mode two forward passes give different outputs (by up to {eval_gap:.3g}): dropout is "
                   "still active after model.eval(); use nn.Dropout, or F.dropout(x, p, training=self.training)")
    return Verdict(True, f"dropout changes the output in train mode (by up to {train_gap:.3g}) and is off in eval mode")


@check_kind("lab11_flatten_matches",
            name=Param((str,), doc="the module-level int the student computed by hand"),
            factory=Param((str,)),
            input_shape=Param((list,), default=[1, 28, 28]))
def flatten_matches(ctx):
    """The hand-computed constant equals the number of features the student's own model feeds its
    first Linear layer after the last convolution."""
    p = ctx.params
    value = ctx.probe("attribute", f"reading `{p['name']}`", name=p["name"])
    if value is None:
        raise Fail(f"`{p['name']}` is not implemented yet (it is still None)")
    expect.integer(value, f"`{p['name']}`")
    ops, _ = _trace(ctx, p["factory"], p["input_shape"])
    linear = _first_linear_after_convs(ops)
    if not any(op[0] == "conv" for op in ops) or linear is None:
        raise Fail(f"`{p['factory']}`'s forward pass has no convolution followed by a Linear layer, so there is "
                   f"nothing to compare `{p['name']}` with")
    shape = linear[2]
    if shape is None or len(shape) != 2:
        raise Fail(f"the first Linear layer after the last convolution receives a tensor of shape {shape}; "
                   "flatten the feature maps to (N, features) first")
    if value != shape[1]:
        raise Fail(f"`{p['name']}` is {value}, but your `{p['factory']}` feeds {shape[1]:,} features to its first "
                   "Linear layer; work it out again: channels x height x width after the last pooling")
    return Verdict(True, f"`{p['name']}` = {value} is what the first Linear layer receives")


# ---- the training loop -------------------------------------------------------------------------

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
    report = ctx.probe("lab11_train_epoch", f"`{p['function']}`", call_args=_wire(weight, bias, x, y),
                       function=p["function"], batch_size=batch_size, lr=lr)
    report = expect.mapping(report, f"`{p['function']}`", ["returned", "weight", "bias"])
    return (weight, bias, x, y), report


@check_kind("lab11_epoch_gradients",
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


@check_kind("lab11_epoch_mean_loss",
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
    report = ctx.probe("lab11_fit", f"`{p['function']}`", call_args=_wire(weight, bias, x, y),
                       function=p["function"], batch_size=batch_size, epochs=epochs)
    return expect.mapping(report, f"`{p['function']}`", ["history", "seen"])


@check_kind("lab11_fit_history",
            function=Param((str,)),
            epochs=Param((int,), default=3, validate=positive),
            samples=Param((int,), default=64, validate=positive),
            batch_size=Param((int,), default=16, validate=positive))
def fit_history(ctx):
    """`fit` returns {"loss": [...], "lr": [...]} with one float an epoch; the rate never rises and
    ends lower than it started."""
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
    return Verdict(True, f"one loss and one learning rate an epoch; the rate decays: {_rates(rates)}")


def _rates(rates):
    return "[" + ", ".join(f"{r:.3g}" for r in rates) + "]"


@check_kind("lab11_train_mode",
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


@check_kind("lab11_predict",
            function=Param((str,)),
            samples=Param((int,), default=20, validate=positive))
def predict(ctx):
    """`predict` returns int64 class indices (N,) equal to the argmax of the model's logits, computed in
    eval mode without gradient tracking (on a small model left in train mode)."""
    import torch.nn.functional as F
    p = ctx.params
    weight, bias, x, _ = _watched_inputs(ctx.check.seed, p["samples"])
    report = ctx.probe("lab11_predict", f"`{p['function']}`", call_args=_wire(weight, bias, x),
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
        raise Fail(f"`{p['function']}` ran the model in train mode, where dropout is active; call model.eval() first")
    if any(grad for _, grad in seen):
        raise Fail(f"`{p['function']}` tracked gradients; predict under torch.no_grad()")
    return Verdict(True, "class indices equal to the argmax of the logits, in eval mode without gradients")


@check_kind("lab11_lr_decay",
            function=Param((str,)),
            lr=Param((float,), validate=positive),
            epochs=Param((int,), default=10, validate=positive))
def lr_decay(ctx):
    """`make_optimizer(model, lr)` returns (optimizer, scheduler): the optimizer holds every trainable
    parameter at rate `lr`; over `epochs` scheduler steps the rate never rises and goes down at least once."""
    p = ctx.params
    fn, lr = p["function"], p["lr"]
    report = ctx.probe("lab11_optimizer", f"`{fn}`", function=fn, lr=lr, epochs=p["epochs"])
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
