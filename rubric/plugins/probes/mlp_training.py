"""Probes of a3_fashion_classifier: datasets, figures, training runs and models (its gradients:
gradient_steps.py).

Each probe builds what the grader defines (datasets and loaders from the parent's training
images, the small gradient models from the parent's weights), calls the student's code on it
and returns what it observes: returned values, the figure's axes, predictions, parameter
shapes, which student functions were called with what. The parent judges.
"""

import io

import numpy as np

from grader.sandbox.probes import _class_name, call, decoded, probe
from grader.sandbox.probes.generic import argmax_predictions
from grader.sandbox.probes.steps import watched_steps

MAX_POINTS = 1_000  # points of a plotted line reported back
MAX_PIXELS = 10_000  # pixels of a panel's image reported back (a 28 x 28 picture has 784)


def _load(args):
    """The parent's npz file as torch tensors on the run's device (`device`, default cpu),
    images reshaped to (N, 1, 28, 28)."""
    import torch

    device = _device(args)
    data = np.load(args["data"], allow_pickle=False)
    out = {}
    for key in data.files:
        tensor = torch.from_numpy(data[key])
        out[key] = (tensor.reshape(-1, 1, 28, 28) if key.endswith("_x") else tensor).to(device)
    return out


def _device(args):
    import torch

    return torch.device(args.get("device") or "cpu")


def _loader(x, y, batch_size, shuffle=False):
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def _model(module, factory, device=None):
    """The student's model (moved to `device` when given); a report instead when it is not an nn.Module."""
    import torch

    model = call(module, factory)
    if not isinstance(model, torch.nn.Module):
        return None, {"class": _class_name(model), "is_module": False}
    if device is not None:
        model = model.to(device)  # the loaders yield tensors on the same device
    return model, {"class": _class_name(model), "is_module": True}


def _parameters(model):
    return [[name, tuple(p.shape), bool(p.requires_grad)] for name, p in model.named_parameters()]


# ---- Q1.1: examples and figures -------------------------------------------------------------------

def _image_dataset(images, labels):
    """A dataset of the parent's images that behaves like torchvision's FashionMNIST with the demo's
    ToTensor transform: item i is (a float (1, 28, 28) image, an int label); `targets`, `data` and
    `classes` as torchvision has them."""
    import torch
    from torch.utils.data import Dataset

    class FashionImages(Dataset):
        classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]

        def __init__(self):
            self.images, self.targets = images, labels
            self.data = (images * 255).round().to(torch.uint8).reshape(-1, 28, 28)

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, index):
            return self.images[index], int(self.targets[index])

    return FashionImages()


@probe("pick_examples")
def probe_pick_examples(module, args, blobs):
    """Call `pick_examples(dataset, n)` on a dataset of the parent's training images (see
    `_image_dataset`); return what it returns."""
    data = _load(args)
    return call(module, args["function"], _image_dataset(data["train_x"], data["train_y"]), args["n"])


@probe("figure_axes")
def probe_figure(module, args, blobs):
    """Call a plotting function; report every axes (title, axis labels, legend, lines with their
    labels and data, the first image's pixels), the figure's legends and its PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = call(module, args["function"], *decoded(args, "args", blobs))
    if not isinstance(fig, Figure):
        return {"class": _class_name(fig), "is_figure": False}
    axes = [_axes_report(ax) for ax in fig.get_axes()]
    legends = [[t.get_text() for t in legend.get_texts()] for legend in fig.legends]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    png = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    return {"class": _class_name(fig), "is_figure": True, "axes": axes, "figure_legends": legends, "png": png}


def _numbers(values, limit):
    """A float64 array of what a plot holds, or None when it is not numeric (dates, text)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array if array.size <= limit else None


def _axes_report(ax):
    images = ax.get_images()
    pixels = _numbers(images[0].get_array(), MAX_PIXELS) if images else None
    legend = ax.get_legend()
    lines = []
    for line in ax.get_lines():
        x, y = _numbers(line.get_xdata(), MAX_POINTS), _numbers(line.get_ydata(), MAX_POINTS)
        lines.append({"label": str(line.get_label()),
                      "x": [float(v) for v in x.ravel()] if x is not None else None,
                      "y": [float(v) for v in y.ravel()] if y is not None else None})
    return {"title": ax.get_title() or "", "xlabel": ax.get_xlabel() or "", "ylabel": ax.get_ylabel() or "",
            "images": len(images), "pixels": pixels, "lines": lines,
            "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else None}


# ---- Q1.2: training -------------------------------------------------------------------------------

@probe("train_history_run")
def probe_train(module, args, blobs):
    """Train a fresh student model with `train(model, train_loader, val_loader, epochs, lr)`;
    return the history, how far the weights moved and the model's predictions on the
    validation images."""
    data = _load(args)
    model, report = _model(module, args["factory"], _device(args))
    if model is None:
        return report
    before = [p.detach().clone() for p in model.parameters()]
    train_loader = _loader(data["train_x"], data["train_y"], args["batch_size"], shuffle=True)
    val_loader = _loader(data["val_x"], data["val_y"], args["batch_size"])
    history = call(module, args["train"], model, train_loader, val_loader, args["epochs"], args["lr"])
    after = list(model.parameters())
    moved = max((float((a.detach() - b).abs().max()) for a, b in zip(after, before) if a.shape == b.shape),
                default=0.0)
    report.update(history=history, moved=moved, predictions=argmax_predictions(model, data["val_x"], args["factory"]))
    return report


@probe("train_watched_steps")
def probe_train_watched(module, args, blobs):
    """`train(model, train_loader, test_loader, epochs, lr)` (or, with signature loader_epochs,
    `train(model, loader, epochs, lr=lr)`) on the grader's flatten + linear model
    with the parent's weights and batches in order (so the parent can replay plain SGD and the
    per-sample losses); report the history, the final weights, every optimizer step seen and the
    logits of every training forward pass."""
    import torch
    from torch import nn

    weight, bias, x, y, val_x, val_y = decoded(args, "args", blobs)
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    model = nn.Sequential(nn.Flatten(), linear)
    steps, handle = watched_steps(model)
    forwards = []  # the logits of each training forward pass, so the parent can score them whatever the steps did

    def record(layer, inputs, output):
        if layer.training and torch.is_grad_enabled() and len(forwards) < 400 and isinstance(output, torch.Tensor):
            forwards.append(output.detach().clone())

    recording = model.register_forward_hook(record)
    try:
        if args.get("signature") == "loader_epochs":  # train(model, loader, epochs, lr=...)
            history = call(module, args["train"], model, _loader(x, y, args["batch_size"]), args["epochs"],
                           lr=args["lr"])
        else:
            history = call(module, args["train"], model, _loader(x, y, args["batch_size"]),
                           _loader(val_x, val_y, args["batch_size"]), args["epochs"], args["lr"])
    finally:
        handle.remove()
        recording.remove()
    return {"history": history, "weight": linear.weight.detach().clone(), "bias": linear.bias.detach().clone(),
            "steps": steps, "forwards": forwards}


@probe("lr_sweep")
def probe_lr_sweep(module, args, blobs):
    """Call `lr_sweep(train_loader, val_loader, lrs, epochs)` while counting the calls of the
    student's model factory and recording, for each call of the student's training function,
    its learning rate, its epochs and which built model it trained."""
    import inspect

    import torch

    data, device = _load(args), _device(args)
    factory_name, train_name = args["factory"], args["train"]
    factory, train = getattr(module, factory_name, None), getattr(module, train_name, None)
    built, calls = [], []  # built: every model the factory made, kept alive so identities stay unique

    def counting_factory(*a, **k):
        model = factory(*a, **k)
        if isinstance(model, torch.nn.Module):
            model = model.to(device)  # the loaders yield tensors on the run's device
        built.append(model)
        return model

    def recording_train(*a, **k):
        try:
            bound = inspect.signature(train).bind(*a, **k).arguments
        except (TypeError, ValueError):
            bound = {}
        names = list(inspect.signature(train).parameters) if bound else []
        model = bound.get(names[0]) if names else None
        lr, epochs = bound.get("lr"), bound.get("epochs")
        calls.append({"lr": lr if type(lr) in (int, float) else None,
                      "epochs": epochs if type(epochs) is int else None,
                      "model": next((i for i, m in enumerate(built) if m is model), None)})
        return train(*a, **k)

    patched = {}
    if callable(factory):
        patched[factory_name] = counting_factory
    if callable(train):
        patched[train_name] = recording_train
    originals = {name: getattr(module, name) for name in patched}
    for name, fn in patched.items():
        setattr(module, name, fn)
    try:
        train_loader = _loader(data["train_x"], data["train_y"], args["batch_size"], shuffle=True)
        val_loader = _loader(data["val_x"], data["val_y"], args["batch_size"])
        result = call(module, args["function"], train_loader, val_loader, tuple(args["lrs"]), args["epochs"])
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)
    return {"result": result, "built": len(built), "calls": calls}


# ---- Q1.5: models -----------------------------------------------------------------------------------

@probe("model_summary")
def probe_model_summary(module, args, blobs):
    """Build a model with a student factory; report its Linear layers' weight shapes (in module
    order) and every parameter's name, shape and requires_grad."""
    import torch

    model, report = _model(module, args["factory"])
    if model is None:
        return report
    report["linear"] = [tuple(m.weight.shape) for m in model.modules()
                        if isinstance(m, torch.nn.Linear) and isinstance(getattr(m, "weight", None), torch.Tensor)]
    report["parameters"] = _parameters(model)
    return report
