"""Probes used by many check kinds: calls, attributes, models, figures, downloads, training."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from grader.sandbox.probes import StudentError, _class_name, _safe, _short_repr, call, decoded, probe, student
from grader.sandbox.probes.steps import step_summary, watched_steps


@probe("call")
def probe_call(module, args, blobs):
    """Call a student function with the given arguments; return its result. `models` (index ->
    layer spec, see build_layers) puts a model built here at those positions of the arguments."""
    positional = decoded(args, "args", blobs)
    for index, spec in sorted((int(i), s) for i, s in (args.get("models") or {}).items()):
        positional.insert(index, build_layers(spec))
    return call(module, args["function"], *positional, **decoded(args, "kwargs", blobs))


@probe("call_traced")
def probe_call_traced(module, args, blobs):
    """Call a student function under a TorchFunctionMode; report the names of the torch functions
    it called (each once, at most 200), not its result."""
    from torch.overrides import TorchFunctionMode

    names = set()

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, fargs=(), kwargs=None):
            if len(names) < 200:
                names.add(str(getattr(func, "__name__", ""))[:60])
            return func(*fargs, **(kwargs or {}))

    with Recorder():
        call(module, args["function"], *decoded(args, "args", blobs), **decoded(args, "kwargs", blobs))
    return {"ops": sorted(names)}


@probe("attribute")
def probe_attribute(module, args, blobs):
    """Read a module-level value such as a declared constant."""
    return student(module, args["name"])


@probe("module_info")
def probe_module_info(module, args, blobs):
    """Build a model with a student factory; report its layers, parameters and output shapes (with
    `output_values`, the outputs too, computed in eval mode)."""
    import torch

    model = call(module, args["factory"], *decoded(args, "args", blobs))
    info = {"class": _class_name(model), "is_module": isinstance(model, torch.nn.Module)}
    if not info["is_module"]:
        return info
    lazy = _materialize_lazy(model, args.get("materialize") or (args.get("inputs") or [None])[0])
    info["layers"] = [f"{name}: {_short_repr(layer)}" for name, layer in model.named_modules()
                      if name and not any(True for _ in layer.children())][:200]  # leaves only
    if lazy:  # no parameter shapes to read: the layers and the outputs only
        info["lazy"] = lazy
    else:
        freeze(model, args.get("freeze", "none"))
        if args.get("count"):  # the student's own counting function, on the model as frozen here
            info["count"] = call(module, args["count"], model)
        info["parameters"] = [[name, tuple(p.shape), bool(p.requires_grad)] for name, p in model.named_parameters()]
    if args.get("values") and not lazy:
        info["values"] = {name: p.detach().clone() for name, p in model.named_parameters()}
        info["conv"] = _conv_attributes(model)
    outputs = []
    if args.get("output_values"):  # the outputs themselves, in eval mode, for the parent to judge
        model.eval()
    for shape in args.get("inputs", []):
        try:
            with torch.no_grad():
                out = model(torch.randn(*shape))
            outputs.append({"shape": tuple(out.shape) if isinstance(out, torch.Tensor) else None,
                            "type": _class_name(out)})
            if args.get("output_values") and isinstance(out, torch.Tensor) and out.numel() <= 100_000:
                outputs[-1]["value"] = out.detach().float().clone()
        except BaseException as exc:  # noqa: BLE001
            outputs.append({"error": f"{type(exc).__name__}: {_safe(lambda: str(exc))[:300]}"})
    info["outputs"] = outputs
    return info


def _materialize_lazy(model, shape):
    """Create the parameters of lazy layers (nn.LazyLinear, ...) by one forward pass on a random
    batch of `shape`, in eval mode without gradients; what went wrong, or None when every
    parameter exists."""
    import torch
    from torch.nn.parameter import is_lazy

    if not any(is_lazy(p) for p in model.parameters()):
        return None
    if not shape:
        return "its parameters are created by its first forward pass, and this check runs none"
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.randn(*shape))
    except BaseException as exc:  # noqa: BLE001
        return f"the forward pass that creates its parameters failed: {type(exc).__name__}: {_safe(lambda: str(exc))[:300]}"
    finally:
        model.train(was_training)
    return None if not any(is_lazy(p) for p in model.parameters()) else "a forward pass left some uninitialised"


def freeze(model, which):
    """Freeze the parameterised leaf layers `which` names: none, first or all_but_last."""
    layers = [m for m in model.modules() if not list(m.children()) and list(m.parameters(recurse=False))]
    for layer in {"none": [], "first": layers[:1], "all_but_last": layers[:-1]}[which]:
        for p in layer.parameters(recurse=False):
            p.requires_grad_(False)


def build_layers(spec):
    """An nn.Sequential from the parent's spec: ["conv", in, out, kernel] (nested in its own
    Sequential with a ReLU, to test that nested layers are reached) or ["linear", in, out]."""
    import torch

    layers = []
    for entry in spec:
        if entry[0] == "conv":
            layers.append(torch.nn.Sequential(torch.nn.Conv2d(entry[1], entry[2], entry[3]), torch.nn.ReLU()))
        else:
            layers.append(torch.nn.Linear(entry[1], entry[2]))
    return torch.nn.Sequential(*layers)


def argmax_predictions(model, x, factory):
    """Class indices of `x` by argmax of the model's outputs, in eval mode without gradients (for an
    assignment without a `predict` function of its own)."""
    import torch

    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    except BaseException as exc:  # noqa: BLE001 - the student's forward pass failed
        raise StudentError(f"{factory}.forward", exc) from exc
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {_class_name(out)}"
        problem = ValueError(f"the model should return logits of shape (N, classes), but it returned {got}")
        raise StudentError(f"{factory}.forward", problem)
    return out.argmax(dim=1).to(torch.int64)


def _conv_attributes(model):
    import torch

    if type(model) is not torch.nn.Conv2d:
        return None
    return {"in_channels": model.in_channels, "out_channels": model.out_channels,
            "kernel_size": tuple(model.kernel_size), "stride": tuple(model.stride),
            "padding": model.padding if isinstance(model.padding, str) else tuple(model.padding)}


@probe("figure")
def probe_figure(module, args, blobs):
    """Call a plotting function; report its axes' titles and images, and the PNG it renders."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = call(module, args["function"], *decoded(args, "args", blobs))
    if not isinstance(fig, Figure):
        return {"class": _class_name(fig), "is_figure": False}
    axes = [{"title": ax.get_title() or "", "images": len(ax.get_images()),
             "lines": len(ax.get_lines())} for ax in fig.get_axes()]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    png = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    return {"class": _class_name(fig), "is_figure": True, "axes": axes, "png": png}


@probe("greyscale")
def probe_greyscale(module, args, blobs):
    """Serve the parent's image on 127.0.0.1 and call the student's loader with its URL."""
    payload = blobs[args["image"]]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(payload))
    # shutdown() waits for serve_forever's next poll: at the default 0.5 s that was half a second a grade
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{args.get('filename', 'image.png')}"
        return call(module, args["function"], url)
    finally:
        server.shutdown()
        server.server_close()


def _handler_for(payload):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass
    return Handler


@probe("train_predict")
def probe_train_predict(module, args, blobs):
    """Build, train on the labelled subset, predict the unlabelled one (with the student's `predict`,
    or by argmax of the model's outputs when none is named); return losses and predictions.

    Options: `device` puts the model and every batch on that device; `input_shape` reshapes each image (e.g. [1, 28, 28]); `validation` > 0 holds out that
    many training images as a labelled loader passed after the training loader; `train_kwargs`
    are passed by name; `losses_key` picks the loss list out of a returned dict."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    device = torch.device(args.get("device") or "cpu")
    data = np.load(args["data"], allow_pickle=False)
    shape = tuple(args.get("input_shape") or [data["train_x"].shape[1]])
    train_x = torch.from_numpy(data["train_x"]).reshape(-1, *shape).to(device)
    train_y = torch.from_numpy(data["train_y"]).to(device)
    test_x = torch.from_numpy(data["test_x"]).reshape(-1, *shape).to(device)
    loaders = []
    held_out = args.get("validation", 0)
    if held_out:
        train_x, val_x = train_x[:-held_out], train_x[-held_out:]
        train_y, val_y = train_y[:-held_out], train_y[-held_out:]
        loaders.append(DataLoader(TensorDataset(val_x, val_y), batch_size=args["batch_size"]))
    loaders.insert(0, DataLoader(TensorDataset(train_x, train_y), batch_size=args["batch_size"], shuffle=True))
    model = call(module, args["factory"])
    if isinstance(model, torch.nn.Module):
        model = model.to(device)  # the loaders yield tensors on the same device
    steps, handle = watched_steps(model) if isinstance(model, torch.nn.Module) else ([], None)
    try:
        history = call(module, args["train"], model, *loaders, args["epochs"], **args.get("train_kwargs", {}))
    finally:
        if handle is not None:
            handle.remove()
    losses = history.get(args["losses_key"]) if args.get("losses_key") and type(history) is dict else history
    if args.get("predict"):
        predictions = call(module, args["predict"], model, test_x)
    else:
        predictions = argmax_predictions(model, test_x, args["factory"])
    return {"losses": losses, "predictions": predictions, "optimizer": step_summary(steps)}


@probe("transfer")
def probe_transfer(module, args, blobs):
    """Build the transfer model and its optimizer; report what is frozen and what is optimized."""
    import torch

    model = call(module, args["factory"], args["num_classes"])
    if not isinstance(model, torch.nn.Module):
        return {"class": _class_name(model), "is_module": False}
    names = {id(p): name for name, p in model.named_parameters()}
    report = {"class": _class_name(model), "is_module": True,
              "parameters": [[n, tuple(p.shape), bool(p.requires_grad)] for n, p in model.named_parameters()],
              "fc": _class_name(getattr(model, "fc", None))}
    optimizer = call(module, args["optimizer"], model, args["lr"])
    if not isinstance(optimizer, torch.optim.Optimizer):
        report["optimizer"] = {"class": _class_name(optimizer), "is_optimizer": False}
        return report
    groups = [{"lr": float(g.get("lr", float("nan"))),
               "params": [names.get(id(p), "<not a parameter of the model>") for p in g["params"]]}
              for g in optimizer.param_groups]
    report["optimizer"] = {"class": _class_name(optimizer), "is_optimizer": True, "groups": groups}
    return report
