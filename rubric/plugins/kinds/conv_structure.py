"""Check kinds of lab11_fashion_cnn's model: its architecture from one traced forward pass, its dropout by behaviour.

- Architecture by inspection: the child traces one forward pass (the torch functions it called,
  in order); the parent finds the convolutional blocks, their activations, pooling and filters,
  the dropout of the classifier part and what the first Linear layer receives.
- Dropout by behaviour: outputs in train mode differ between seeds, in eval mode they do not.
"""

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor

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
    report = ctx.probe("forward_trace", f"`{factory}`", call_args=[Tensor(x.numpy())], factory=factory)
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
        pools = [op[1] for op in ops[start + 1:end] if op[0] == "pool"]
        blocks.append({"act": "act" in kinds, "pool": bool(pools), "max_pool": any(_is_max_pool(n) for n in pools),
                       "pools": pools, "filters": filters,
                       "text": f"conv {n + 1} ({channels} channels, {kernel} kernel)"})
    return blocks


def _is_max_pool(name):
    """max_pool2d, adaptive_max_pool2d, max_pool2d_with_indices: pooling that keeps the maximum."""
    return "max_pool" in name.strip("_")


def _first_linear_after_convs(ops):
    convs = [i for i, op in enumerate(ops) if op[0] == "conv"]
    start = convs[-1] if convs else 0
    return next((op for op in ops[start:] if op[0] == "linear"), None)


@check_kind("conv_block_structure", probes=("forward_trace",),
            factory=Param((str,), doc="the model class (or a function) that builds the model"),
            input_shape=Param((list,), default=[1, 28, 28]),
            min_blocks=Param((int,), default=2, validate=positive,
                             doc="conv layers that are each followed by an activation and pooling"),
            min_filters=Param((int,), default=4, validate=positive, doc="output channels of each such conv"),
            dropout=Param((bool,), default=True, doc="require dropout after the last conv (the classifier part)"),
            pool=Param((str,), default="any", validate=lambda v: None if v in ("any", "max") else "must be any or max",
                       doc="the pooling each block needs: any kind, or max pooling"))
def architecture(ctx):
    """By inspection of one traced forward pass: at least `min_blocks` convolutions, each followed
    by an activation and pooling (in either order; max pooling when `pool` is max) before the next
    one, each with at least `min_filters` filters, and (when `dropout`) a dropout after the last
    convolution."""
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
    if p["pool"] == "max" and sum(b["max_pool"] for b in complete) < p["min_blocks"]:
        other = next(b for b in complete if not b["max_pool"])
        raise Fail(f"{name} should pool with max pooling (nn.MaxPool2d or F.max_pool2d) after each of its first "
                   f"{p['min_blocks']} convolutional layers, but {other['text']} is followed by "
                   f"{', '.join(sorted(set(other['pools'])))}")
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


@check_kind("dropout_modes", probes=("dropout_passes",),
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
    report = ctx.probe("dropout_passes", f"`{p['factory']}`", call_args=[Tensor(x.numpy())], factory=p["factory"],
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


@check_kind("flatten_size_matches", probes=("attribute", "forward_trace"),
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
