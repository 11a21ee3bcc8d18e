"""Probes of cnn_foundations: transforms, weight initialisation, the training loop, VGG16
transfer and the convolutional autoencoder.

Each probe builds what the grader defines (images, models, loaders, optimizers) from plain
data the parent sends, calls the student's code on it and returns what it observes: tensors,
parameters, the recorded mode of each forward pass. The parent judges.
"""

import numpy as np

from grader.sandbox.probes import StudentError, _class_name, call, decoded, probe
from grader.sandbox.probes.generic import build_layers


def _as_student(name, fn, *args):
    """Call `fn` (student code reached through an object) so its exceptions are attributed to `name`."""
    try:
        return fn(*args)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from student code included
        raise StudentError(name, exc) from exc


# ---- transforms -----------------------------------------------------------------------------------

@probe("transform_outputs")
def probe_transform(module, args, blobs):
    """Build the student's transform once and apply it `calls` times to the parent's RGB image
    (sent as a uint8 (H, W, 3) array, made into a PIL image here); return every output."""
    from PIL import Image

    [pixels] = decoded(args, "args", blobs)
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "RGB")
    name = args["function"]
    transform = call(module, name)
    if not callable(transform):
        return {"callable": False, "class": _class_name(transform)}
    outputs = [_plain(_as_student(name, transform, image.copy())) for _ in range(args["calls"])]
    return {"callable": True, "outputs": outputs}


def _plain(value):
    """A tensor subclass (torchvision.transforms.v2 returns tv_tensors.Image) as a plain tensor."""
    import torch

    if type(value) is not torch.Tensor and isinstance(value, torch.Tensor):
        try:
            return torch.Tensor.as_subclass(value, torch.Tensor).detach().clone()
        except Exception:  # noqa: BLE001 - left as it is; the parent reports what it got
            return value
    return value


# ---- weight initialisation ----------------------------------------------------------------------------

@probe("init_parameters")
def probe_init(module, args, blobs):
    """Call `init_weights(model, scheme)` on a model built from the parent's spec whose weights
    and biases were first set to constants; return every parameter afterwards."""
    import torch

    model = build_layers(args["layers"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.fill_(args["bias_fill"] if name.endswith("bias") else args["weight_fill"])
    returned = call(module, args["function"], model, args["scheme"])
    return {"params": {name: p.detach().clone() for name, p in model.named_parameters()},
            "returned": _class_name(returned)}


# ---- the training loop ------------------------------------------------------------------------------

def loop_model(features, hidden, classes):
    """The grader's small classifier: a recorder, Flatten, Linear, ReLU, Linear."""
    import torch

    class Recorder(torch.nn.Module):
        """Records, for every forward pass, the mode, whether gradients are on and the batch size."""

        def __init__(self):
            super().__init__()
            self.calls = []

        def forward(self, x):
            self.calls.append([bool(self.training), bool(torch.is_grad_enabled()), int(x.shape[0])])
            return x

    return torch.nn.Sequential(Recorder(), torch.nn.Flatten(), torch.nn.Linear(features, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, classes))


@probe("epoch_loop")
def probe_loop(module, args, blobs):
    """Run the student's `train_one_epoch` (mode "train": SGD at `lr`) or `evaluate` (mode
    "evaluate") on the grader's model with the parent's initial weights and a fixed loader of the
    parent's data (no shuffling); the model is in training mode before the call. Return the
    result, what each forward pass saw and the parameters afterwards."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    weights, x, y = decoded(args, "args", blobs)
    model = loop_model(*args["sizes"])
    model.load_state_dict(weights)
    model.train()
    loader = DataLoader(TensorDataset(x, y), batch_size=args["batch_size"], shuffle=False)
    criterion = torch.nn.CrossEntropyLoss()
    if args["mode"] == "train":
        optimizer = torch.optim.SGD(model.parameters(), lr=args["lr"])
        result = call(module, args["function"], model, loader, criterion, optimizer)
    else:
        result = call(module, args["function"], model, loader, criterion)
    return {"result": result, "calls": model[0].calls,
            "params": {name: p.detach().clone() for name, p in model.state_dict().items()}}


# ---- transfer learning ------------------------------------------------------------------------------

@probe("backbone_transfer")
def probe_vgg(module, args, blobs):
    """Build the transfer model (with `num_classes`, or the default when it is None) and its
    optimizer (with `lr`, or the default); report parameters, the head and the optimizer."""
    import torch

    factory_args = [] if args["num_classes"] is None else [args["num_classes"]]
    model = call(module, args["factory"], *factory_args)
    if not isinstance(model, torch.nn.Module):
        return {"class": _class_name(model), "is_module": False}
    names = {id(p): name for name, p in model.named_parameters()}
    report = {"class": _class_name(model), "is_module": True,
              "parameters": [[n, tuple(p.shape), bool(p.requires_grad)] for n, p in model.named_parameters()]}
    optimizer_args = [] if args["lr"] is None else [args["lr"]]
    optimizer = call(module, args["optimizer"], model, *optimizer_args)
    if not isinstance(optimizer, torch.optim.Optimizer):
        report["optimizer"] = {"class": _class_name(optimizer), "is_optimizer": False}
        return report
    groups = [{"lr": float(g.get("lr", float("nan"))),
               "params": [names.get(id(p), "<not a parameter of the model>") for p in g["params"]]}
              for g in optimizer.param_groups]
    report["optimizer"] = {"class": _class_name(optimizer), "is_optimizer": True,
                           "sgd": type(optimizer) is torch.optim.SGD, "groups": groups}
    return report


# ---- the autoencoder --------------------------------------------------------------------------------

@probe("autoencoder_interface")
def probe_autoencoder(module, args, blobs):
    """Build the autoencoder; return its output and its `encode` result for the parent's batch."""
    import torch

    [x] = decoded(args, "args", blobs)
    name = args["cls"]
    model = call(module, name)
    if not isinstance(model, torch.nn.Module):
        return {"class": _class_name(model), "is_module": False}
    encode = getattr(model, "encode", None)
    with torch.no_grad():
        output = _as_student(name, model, x)
        code = _as_student(f"{name}.encode", encode, x) if callable(encode) else None
    return {"class": _class_name(model), "is_module": True, "output": output,
            "has_encode": callable(encode), "code": code}


@probe("reconstruction")
def probe_reconstruct(module, args, blobs):
    """Train the autoencoder with the grader's own loop (Adam, mean squared error) on the
    training images of the parent's file; return the loss of each epoch and the
    reconstructions of its held-out images. `device` puts the model and the images there."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    device = torch.device(args.get("device") or "cpu")
    data = np.load(args["data"], allow_pickle=False)
    train_x = torch.from_numpy(data["train_x"]).reshape(-1, 1, 28, 28).to(device)
    test_x = torch.from_numpy(data["test_x"]).reshape(-1, 1, 28, 28).to(device)
    name = args["cls"]
    model = call(module, name)
    if not isinstance(model, torch.nn.Module):
        return {"class": _class_name(model), "is_module": False}
    model = _as_student(name, model.to, device)
    optimizer = _as_student(name, lambda: torch.optim.Adam(model.parameters(), lr=args["lr"]))
    loader = DataLoader(TensorDataset(train_x), batch_size=args["batch_size"], shuffle=True)
    losses = []
    model.train()
    for _ in range(args["epochs"]):
        total = 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            output = _as_student(name, model, batch)
            if not isinstance(output, torch.Tensor) or output.shape != batch.shape:
                shape = tuple(output.shape) if isinstance(output, torch.Tensor) else None
                return {"class": _class_name(model), "is_module": True, "bad_output": _class_name(output),
                        "batch_shape": tuple(batch.shape), "output_shape": shape}
            loss = _as_student(name, torch.nn.functional.mse_loss, output, batch)
            _as_student(name, loss.backward)
            optimizer.step()
            total += float(loss.item()) * len(batch)
        losses.append(total / len(train_x))
    model.eval()
    with torch.no_grad():
        reconstructions = _as_student(name, model, test_x)
    return {"class": _class_name(model), "is_module": True, "losses": losses, "reconstructions": reconstructions}
