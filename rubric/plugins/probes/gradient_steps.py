"""Probes of a3_fashion_classifier's gradients (Q1.6), on the grader's own small MLP built from the
parent's weights: one backward pass then the student's `mean_gradient`, and the student's
`gradient_curve` with its measuring function watched, so the curve's steps are judged apart from
the measure's formula (which its own check judges).
"""

from grader.sandbox.probes import call, decoded, probe

MAX_CALLS = 1_000  # calls of the watched measuring function reported back


def _grader_mlp(weights, frozen):
    """The grader's own small MLP (Flatten, Linear, ReLU, ..., Linear) with the parent's weights;
    the layers listed in `frozen` do not require gradients."""
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


def _loader(x, y, batch_size):
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def _true_mean(model):
    """The mean of every gradient entry of the trainable parameters (float64), None without any."""
    import torch

    grads = [q.grad.double().flatten() for q in model.parameters() if q.requires_grad and q.grad is not None]
    return float(torch.cat(grads).mean()) if grads else None


@probe("mean_gradient")
def probe_mean_gradient(module, args, blobs):
    """One backward pass of cross-entropy on the parent's batch through the grader's MLP, then
    `mean_gradient(model)`; returns what the student's function returned."""
    from torch import nn

    weights, x, y = decoded(args, "args", blobs)
    model = _grader_mlp(weights, set(args["frozen"]))
    nn.CrossEntropyLoss()(model(x), y).backward()
    return call(module, args["function"], model)


@probe("gradient_curve")
def probe_gradient_curve(module, args, blobs):
    """`gradient_curve(model, loader, steps, lr)` on the grader's MLP and a loader of the parent's
    batches, in order. With `measure`, the module's function of that name is watched while the
    curve runs: each call's result and the true mean gradient of its model at that moment."""
    import torch

    weights, x, y = decoded(args, "args", blobs)
    model = _grader_mlp(weights, set(args["frozen"]))
    calls, name = [], args.get("measure") or ""
    original = getattr(module, name, None) if name else None

    def watched(*a, **k):
        value = original(*a, **k)
        if len(calls) < MAX_CALLS:
            target = a[0] if a and isinstance(a[0], torch.nn.Module) else model
            kept = value.detach().clone() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
            calls.append({"value": kept if type(kept) is float or isinstance(kept, torch.Tensor) else None,
                          "true": _true_mean(target)})
        return value

    if callable(original):
        setattr(module, name, watched)
    try:
        curve = call(module, args["function"], model, _loader(x, y, args["batch_size"]), args["steps"], args["lr"])
    finally:
        if callable(original):
            setattr(module, name, original)
    return {"curve": curve, "calls": calls}
