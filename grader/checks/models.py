"""Check kinds on models a student builds: output shapes, raw logits, parameter counts, transfer learning.

The child reports each parameter's name, shape and `requires_grad`; counting and comparing
happen here in the parent.
"""

import math

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind, shape_list


def _module_info(ctx, factory, factory_args=(), **options):
    """Build the model in the child and return its description (layers, parameters, outputs)."""
    info = ctx.probe("module_info", f"`{factory}`", call_args=factory_args, factory=factory, **options)
    info = expect.mapping(info, f"`{factory}()`", ["class", "is_module"])
    if info["is_module"] is not True:
        raise Fail(f"`{factory}()` should return an nn.Module, but it returned a {info['class']}")
    return info


def _lazy_refused(info, factory):
    """A model whose lazy layers (nn.LazyLinear, ...) have no parameters yet cannot be counted."""
    if info.get("lazy"):
        raise Fail(f"`{factory}()` holds lazy layers (nn.LazyLinear, nn.LazyConv2d, ...): {str(info['lazy'])[:400]}. "
                   "Give each layer its input size (nn.Linear(in_features, out_features))")


@check_kind("output_shape", probes=("module_info",),
            factory=Param((str,)),
            inputs=Param((list,), validate=shape_list),
            outputs=Param((list,), validate=shape_list))
def output_shape(ctx):
    """The model built by `factory` maps each input shape to the expected output shape."""
    params = ctx.params
    if len(params["inputs"]) != len(params["outputs"]):
        raise Fail("rubric error: 'inputs' and 'outputs' differ in length")
    info = _module_info(ctx, params["factory"], inputs=params["inputs"])
    layers = "\n".join(str(layer) for layer in info.get("layers", []))
    seen_all = info.get("outputs", [])
    for index, (shape_in, shape_out) in enumerate(zip(params["inputs"], params["outputs"])):
        seen = seen_all[index] if index < len(seen_all) and type(seen_all[index]) is dict else {}
        if "error" in seen:
            raise Fail(f"the model fails on an input of shape {tuple(shape_in)}: {seen['error']}\nyour layers:\n{layers}")
        got = seen.get("shape")
        if type(got) is not tuple or got != tuple(shape_out):
            raise Fail(f"for an input of shape {tuple(shape_in)} the output should have shape {tuple(shape_out)}, "
                       f"but it has shape {got}\nyour layers:\n{layers}")
    return Verdict(True, "output shapes right for inputs " + ", ".join(str(tuple(s)) for s in params["inputs"]))


@check_kind("raw_logits", probes=("module_info",),
            factory=Param((str,)),
            input_shape=Param((list,), validate=lambda v: shape_list([v]), doc="one input, without the batch"),
            batch=Param((int,), default=16, validate=lambda v: None if v >= 2 else "must be at least 2"))
def raw_logits(ctx):
    """The model returns raw scores (logits), not probabilities: on a random batch in eval mode its
    rows are not all probability vectors (softmax) nor all log-probabilities (log_softmax), which
    cross-entropy would apply a second time."""
    p = ctx.params
    shape = [p["batch"], *p["input_shape"]]
    info = _module_info(ctx, p["factory"], inputs=[shape], output_values=True)
    seen = (info.get("outputs") or [{}])[0]
    seen = seen if type(seen) is dict else {}
    if "error" in seen:
        raise Fail(f"the model fails on an input of shape {tuple(shape)}: {seen['error']}")
    out = expect.array(seen.get("value"), f"the output of `{p['factory']}()`").astype(np.float64)
    if out.ndim != 2 or out.shape[1] < 2:
        raise Fail(f"the model should return a score for each class, of shape (N, classes); it returned {out.shape}")
    if not np.isfinite(out).all():
        raise Fail("the model's outputs on a random batch hold NaN or infinite values")
    top = out.max(axis=1)
    sums, log_sums = out.sum(axis=1), top + np.log(np.exp(out - top[:, None]).sum(axis=1))
    if (out >= -1e-6).all() and np.allclose(sums, 1, atol=1e-4):
        raise Fail(f"`{p['factory']}()` returns probabilities (each row is non-negative and sums to 1): it ends "
                   "in a softmax. Return raw logits and drop the softmax: nn.CrossEntropyLoss applies log-softmax "
                   "itself, and a softmax before it slows training down")
    if (out <= 1e-6).all() and np.allclose(log_sums, 0, atol=1e-4):
        raise Fail(f"`{p['factory']}()` returns log-probabilities (the exponentials of each row sum to 1): it ends "
                   "in a log_softmax. Return raw logits; nn.CrossEntropyLoss applies log-softmax itself")
    return Verdict(True, f"raw logits of shape {out.shape} (not probabilities)")


def _layer_kinds(value):
    if not value or not all(type(v) is str and v.isidentifier() for v in value):
        return "must be a non-empty list of layer class names, e.g. [Conv2d]"
    return None


@check_kind("has_layers", probes=("module_info",),
            factory=Param((str,)),
            kinds=Param((list,), validate=_layer_kinds, doc="layer classes the model must hold, each at least once"),
            meaning=Param((str,), default="", doc="what the layers make the model, said when one is missing"))
def has_layers(ctx):
    """The model built by `factory` holds at least one layer of each class in `kinds` (by class name,
    among its leaf modules as the child lists them)."""
    p = ctx.params
    info = _module_info(ctx, p["factory"])
    layers = [str(layer) for layer in info.get("layers", [])][:200]
    classes = {layer.split(": ", 1)[-1].split("(", 1)[0].strip() for layer in layers}
    missing = [kind for kind in p["kinds"] if kind not in classes]
    if missing:
        listing = "\n".join(layers) or "(no layers)"
        raise Fail(f"`{p['factory']}()` has no {' and no '.join(missing)} layer{'s' if len(missing) > 1 else ''}"
                   f"{': ' + p['meaning'] if p['meaning'] else ''}\nyour layers:\n{listing}")
    return Verdict(True, f"`{p['factory']}()` holds {', '.join(p['kinds'])} layers")


FREEZE = ("none", "first", "all_but_last")


@check_kind("parameter_count", probes=("module_info",),
            factory=Param((str,)),
            args=Param((list,), default=[]),
            trainable=Param((int,), default=None, doc="the trainable count the model must have (optional)"),
            frozen=Param((int,), default=0),
            function=Param((str,), default="", doc="a student function counting the trainable parameters"),
            freeze=Param((str,), default="none", validate=lambda v: None if v in FREEZE else
                         f"must be one of {', '.join(FREEZE)}", doc="layers the grader freezes before counting"),
            input_shape=Param((list,), default=None, validate=lambda v: shape_list([v]),
                              doc="one input, without the batch: lazy layers get their parameters from a "
                                  "forward pass on it before counting"))
def parameter_count(ctx):
    """Trainable and frozen parameter counts, computed here from the reported shapes and flags: the
    model's own (against `trainable` and `frozen`) and, with `function`, the student's count of the
    model's trainable parameters after the grader froze the layers `freeze` names."""
    p = ctx.params
    if p["trainable"] is None and not p["function"]:
        raise Fail("rubric error: parameter_count needs 'trainable' or 'function'")
    lazy_input = [2, *p["input_shape"]] if p["input_shape"] else None
    info = _module_info(ctx, p["factory"], factory_args=p["args"], freeze=p["freeze"], count=p["function"],
                        materialize=lazy_input)
    _lazy_refused(info, p["factory"])
    rows = expect.parameter_rows(info, f"`{p['factory']}()`")
    trainable = sum(math.prod(shape) for _, shape, grad in rows if grad)
    frozen = sum(math.prod(shape) for _, shape, grad in rows if not grad)
    if p["trainable"] is not None and (trainable, frozen) != (p["trainable"], p["frozen"]):
        raise Fail(f"`{p['factory']}()` has {trainable:,} trainable and {frozen:,} frozen parameters; expected "
                   f"{p['trainable']:,} trainable and {p['frozen']:,} frozen. Compare your layers with the assignment")
    if not p["function"]:
        return Verdict(True, f"{trainable:,} trainable and {frozen:,} frozen parameters")
    what = {"none": "", "first": " with its first layer frozen",
            "all_but_last": " with every layer but the last frozen"}[p["freeze"]]
    got = expect.integer(info.get("count"), f"`{p['function']}(model)`")
    if got != trainable:
        hint = (" (it counts the frozen parameters too: count only those with requires_grad)"
                if got == trainable + frozen and frozen else "")
        raise Fail(f"`{p['function']}` gives {got:,} for `{p['factory']}()`{what}, which has {trainable:,} trainable "
                   f"parameters{hint}")
    return Verdict(True, f"{trainable:,} trainable parameters in `{p['factory']}()`{what}")


@check_kind("transfer_learning", probes=("transfer",),
            factory=Param((str,)),
            optimizer=Param((str,)),
            num_classes=Param((int,)),
            in_features=Param((int,), default=512),
            head=Param((str,), default="fc"),
            lr=Param((float,), default=0.01))
def transfer_learning(ctx):
    """Backbone frozen, a new trainable head of the right shape, and an optimizer holding exactly
    the trainable parameters at the requested learning rate."""
    p = ctx.params
    report = ctx.probe("transfer", f"`{p['factory']}`", factory=p["factory"], num_classes=p["num_classes"],
                       optimizer=p["optimizer"], lr=p["lr"])
    report = expect.mapping(report, f"`{p['factory']}`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{p['factory']}({p['num_classes']})` should return an nn.Module, but it returned a {report['class']}")
    rows = expect.parameter_rows(report, f"`{p['factory']}({p['num_classes']})`")
    head = p["head"] + "."
    shapes = {name: shape for name, shape, _ in rows if name.startswith(head)}
    want = {head + "weight": (p["num_classes"], p["in_features"]), head + "bias": (p["num_classes"],)}
    if shapes != want:
        raise Fail(f"the new head `{p['head']}` should be Linear({p['in_features']}, {p['num_classes']}) "
                   f"with parameter shapes {want}, but it has {shapes or 'no parameters'}")
    thawed = [name for name, _, grad in rows if grad and not name.startswith(head)]
    if thawed:
        raise Fail(f"the backbone is not frozen: {len(thawed)} backbone parameters still require gradients "
                   f"(first: {', '.join(thawed[:3])}); set requires_grad = False on them")
    frozen_head = [name for name, _, grad in rows if not grad and name.startswith(head)]
    if frozen_head:
        raise Fail(f"the new head must be trainable, but {', '.join(frozen_head)} does not require gradients")
    _check_optimizer(report.get("optimizer"), {name for name, _, grad in rows if grad}, p)
    return Verdict(True, f"backbone frozen, head {p['head']} is Linear({p['in_features']}, {p['num_classes']}), "
                         "optimizer holds exactly the trainable parameters")


def _check_optimizer(optimizer, trainable, p):
    if type(optimizer) is not dict or optimizer.get("is_optimizer") is not True:
        got = optimizer.get("class") if type(optimizer) is dict else "nothing"
        raise Fail(f"`{p['optimizer']}(model, lr)` should return a torch.optim.Optimizer, but it returned a {got}")
    groups = optimizer.get("groups")
    if type(groups) is not list or not all(type(g) is dict for g in groups):
        raise Fail("the grader could not read the optimizer's parameter groups")
    held = [name for g in groups for name in (g.get("params") if type(g.get("params")) is list else [])]
    if len(held) != len(set(held)):
        raise Fail("the optimizer holds some parameters twice")
    extra, missing = set(held) - trainable, trainable - set(held)
    if extra:
        raise Fail(f"the optimizer also holds parameters that should stay frozen or are not in the model: "
                   f"{', '.join(sorted(map(str, extra))[:3])}")
    if missing:
        raise Fail(f"the optimizer is missing trainable parameters: {', '.join(sorted(missing)[:3])}")
    rates = {g.get("lr") for g in groups}
    if rates != {p["lr"]}:
        raise Fail(f"the optimizer's learning rate should be {p['lr']} (the `lr` argument), but it is {sorted(map(str, rates))}")
