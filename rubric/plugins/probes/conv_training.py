"""Probes of lab11_fashion_cnn: trace a model's forward pass, watch dropout, run the training loop.

They report what happened (the torch operations a forward pass called, outputs, final weights,
the mode a model was in when it ran, learning rates); the parent's kinds in
grader/checks/lab11_*.py judge it. The small models built here record, at every forward pass,
whether they were in training mode and whether gradients were tracked.
"""

from grader.sandbox.probes import StudentError, _class_name, call, decoded, probe
from grader.sandbox.probes.steps import watched_steps

MAX_OPS = 400  # torch operations recorded in one forward pass


def _build(module, factory):
    """The student's model, or the report that it is not an nn.Module."""
    import torch

    model = call(module, factory)
    if not isinstance(model, torch.nn.Module):
        return None, {"class": _class_name(model), "is_module": False}
    return model, {"class": _class_name(model), "is_module": True}


def _forward(model, x, factory):
    try:
        return model(x)
    except BaseException as exc:  # noqa: BLE001 - the student's forward pass failed
        raise StudentError(f"{factory}.forward", exc) from exc


def _shape(value):
    import torch

    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


@probe("forward_trace")
def probe_trace(module, args, blobs):
    """One forward pass in train mode under a TorchFunctionMode: the torch functions it called, in
    order, with the shapes of their first two tensor arguments (input and weight), and the output."""
    import torch
    from torch.overrides import TorchFunctionMode

    model, report = _build(module, args["factory"])
    if model is None:
        return report
    ops = []

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, fargs=(), kwargs=None):
            if len(ops) < MAX_OPS:
                tensors = [a for a in fargs if isinstance(a, torch.Tensor)][:2]
                ops.append([str(getattr(func, "__name__", ""))[:60]] + [tuple(t.shape) for t in tensors])
            return func(*fargs, **(kwargs or {}))

    [x] = decoded(args, "args", blobs)
    model.train()
    with torch.no_grad(), Recorder():
        out = _forward(model, x, args["factory"])
    report.update(ops=ops, output=_shape(out))
    return report


@probe("dropout_passes")
def probe_dropout(module, args, blobs):
    """The model's outputs for the same batch: two passes in train mode under different seeds, then
    the same two seeds in eval mode."""
    import torch

    model, report = _build(module, args["factory"])
    if model is None:
        return report
    [x] = decoded(args, "args", blobs)
    outputs = {}
    for mode in ("train", "eval"):
        getattr(model, mode)()
        for seed in args["seeds"]:
            torch.manual_seed(seed)
            with torch.no_grad():
                outputs[f"{mode}_{seed}"] = _forward(model, x, args["factory"])
    report["outputs"] = outputs
    return report


class _Watched:
    """Factory of a flatten + linear model that records its mode at every forward pass."""

    @staticmethod
    def make(weight, bias):
        import torch
        from torch import nn

        class Watched(nn.Module):
            def __init__(self):
                super().__init__()
                self.flatten = nn.Flatten()
                self.linear = nn.Linear(weight.shape[1], weight.shape[0])
                with torch.no_grad():
                    self.linear.weight.copy_(weight)
                    self.linear.bias.copy_(bias)
                self.seen = []  # (training, grad enabled) at each forward pass

            def forward(self, x):
                if len(self.seen) < 1000:
                    self.seen.append((bool(self.training), bool(torch.is_grad_enabled())))
                return self.linear(self.flatten(x))

        return Watched()


def _loader(x, y, batch_size, shuffle=False):
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


@probe("train_epoch_watched")
def probe_train_epoch(module, args, blobs):
    """Run the student's `train_epoch` once on the parent's weights and batches (in order) with
    cross-entropy and plain SGD at the parent's rate; report its return value and the final weights."""
    import torch
    from torch import nn

    weight, bias, x, y = decoded(args, "args", blobs)
    model = _Watched.make(weight, bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=args["lr"])
    returned = call(module, args["function"], model, _loader(x, y, args["batch_size"]), nn.CrossEntropyLoss(),
                    optimizer)
    return {"returned": returned, "weight": model.linear.weight.detach().clone(),
            "bias": model.linear.bias.detach().clone(), "seen": model.seen}


@probe("fit_watched")
def probe_fit(module, args, blobs):
    """Run the student's `fit` on a small model left in eval mode (as after a prediction); report
    what it returned, the mode of every forward pass and every optimizer step (its rate)."""
    weight, bias, x, y = decoded(args, "args", blobs)
    model = _Watched.make(weight, bias)
    model.eval()
    steps, handle = watched_steps(model)
    try:
        history = call(module, args["function"], model, _loader(x, y, args["batch_size"], shuffle=True),
                       args["epochs"])
    finally:
        handle.remove()
    return {"history": history, "seen": model.seen, "steps": steps}


@probe("predicted_classes")
def probe_predict(module, args, blobs):
    """Call the student's `predict` on a small model left in train mode; report the predictions and
    the mode of every forward pass."""
    weight, bias, x = decoded(args, "args", blobs)
    model = _Watched.make(weight, bias)
    model.train()
    predictions = call(module, args["function"], model, x)
    return {"predictions": predictions, "seen": model.seen}


@probe("optimizer_schedule")
def probe_optimizer(module, args, blobs):
    """Call `make_optimizer(model, lr)` on a small CNN; report the optimizer's parameter groups and
    the learning rates after each of `epochs` scheduler steps (one optimizer step before each)."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    names = {id(p): name for name, p in model.named_parameters()}
    report = {"parameters": [name for name, p in model.named_parameters() if p.requires_grad]}
    result = call(module, args["function"], model, args["lr"])
    report["returned"] = {"class": _class_name(result),
                          "length": len(result) if type(result) in (tuple, list) else None}
    if type(result) not in (tuple, list) or len(result) != 2:
        return report
    optimizer, scheduler = result
    report["optimizer"] = {"class": _class_name(optimizer),
                           "is_optimizer": isinstance(optimizer, torch.optim.Optimizer)}
    report["scheduler"] = {"class": _class_name(scheduler),
                           "is_scheduler": isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)}
    if not report["optimizer"]["is_optimizer"] or not callable(getattr(scheduler, "step", None)):
        return report
    report["groups"] = [[names.get(id(p), "<not a parameter of the model>") for p in g["params"]]
                        for g in optimizer.param_groups]
    rates = [[float(g["lr"]) for g in optimizer.param_groups]]
    x = torch.rand(8, 1, 8, 8)
    try:
        for _ in range(args["epochs"]):
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
            scheduler.step()
            rates.append([float(g["lr"]) for g in optimizer.param_groups])
    except BaseException as exc:  # noqa: BLE001 - the student's optimizer or scheduler failed
        raise StudentError(args["function"], exc) from exc
    report["rates"] = rates
    return report
