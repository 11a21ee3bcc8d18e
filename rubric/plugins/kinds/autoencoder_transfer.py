"""Check kinds of the models cnn_foundations builds: VGG16 transfer learning and the convolutional autoencoder.

- `frozen_backbone_transfer`: VGG16's parameter shapes (built here on the meta device, no memory),
  what is frozen and what the optimizer holds.
- `autoencoder_interface` / `max_reconstruction_error`: the autoencoder's interface, then its
  reconstruction error on held-out Fashion-MNIST images after a short training run with the
  grader's loop; the threshold (an upper bound) is calibrated by `grader calibrate`.
"""

import functools
import math

import numpy as np

from grader.checks import expect
from .panels import panel_figure
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor

# ---- transfer learning ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def vgg16_shapes():
    """Parameter name -> shape of torchvision's VGG16, built on the meta device (no memory)."""
    import torch
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg16(weights=None)
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def _none_or(types):
    return types + (type(None),)


@check_kind("frozen_backbone_transfer", probes=("backbone_transfer",),
            factory=Param((str,), default="build_vgg_transfer"),
            optimizer=Param((str,), default="transfer_optimizer"),
            num_classes=Param(_none_or((int,)), default=None, doc="null: call the factory without it"),
            lr=Param(_none_or((float,)), default=None, doc="null: call the optimizer function without it"),
            default_classes=Param((int,), default=5),
            default_lr=Param((float,), default=0.001))
def frozen_backbone_transfer(ctx):
    """torchvision's VGG16 (shapes compared with VGG16 built here on the meta device) with
    `features` frozen, `classifier[6]` a new trainable Linear(4096, num_classes), and an SGD
    optimizer over exactly the classifier's parameters at the requested rate."""
    p = ctx.params
    classes = p["default_classes"] if p["num_classes"] is None else p["num_classes"]
    rate = p["default_lr"] if p["lr"] is None else p["lr"]
    build = f"{p['factory']}({'' if p['num_classes'] is None else p['num_classes']})"
    optimize = f"{p['optimizer']}(model{'' if p['lr'] is None else f', {rate}'})"
    report = ctx.probe("backbone_transfer", f"`{p['factory']}`", factory=p["factory"], optimizer=p["optimizer"],
                       num_classes=p["num_classes"], lr=p["lr"])
    report = expect.mapping(report, f"`{build}`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{build}` should return an nn.Module, but it returned a {report['class']}")
    rows = expect.parameter_rows(report, f"`{build}`")
    got = {name: shape for name, shape, _ in rows}
    want = dict(vgg16_shapes())
    want["classifier.6.weight"], want["classifier.6.bias"] = (classes, 4096), (classes,)
    head = {k: got.get(k) for k in ("classifier.6.weight", "classifier.6.bias")}
    if head != {k: want[k] for k in head}:
        raise Fail(f"`{build}`: classifier[6] should be a new nn.Linear(4096, {classes}) (weight "
                   f"{want['classifier.6.weight']}, bias {want['classifier.6.bias']}), but its parameters have "
                   f"shapes {head}")
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = [k for k in want if k in got and got[k] != want[k]]
    if missing or extra or wrong:
        first = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                 else f"{wrong[0]} has shape {got[wrong[0]]}, not {want[wrong[0]]}")
        raise Fail(f"`{build}` is not torchvision's VGG16 with a new last layer ({first}); start from "
                   "torchvision.models.vgg16(weights=weights)")
    thawed = [name for name, _, grad in rows if grad and name.startswith("features.")]
    if thawed:
        raise Fail(f"`features` is not frozen: {len(thawed)} of its parameters still require gradients (first: "
                   f"{thawed[0]}); set requires_grad = False on model.features.parameters()")
    frozen = [name for name, _, grad in rows if not grad and name.startswith("classifier.")]
    if frozen:
        raise Fail(f"the classifier must stay trainable, but {', '.join(frozen[:3])} do(es) not require gradients; "
                   "freeze only `features`")
    classifier = {name for name, _, _ in rows if name.startswith("classifier.")}
    _check_sgd(report.get("optimizer"), classifier, optimize, rate)
    return Verdict(True, f"VGG16, features frozen, classifier[6] = Linear(4096, {classes}); SGD over the classifier's "
                         f"{len(classifier)} parameters at lr {rate:g}")


def _check_sgd(optimizer, classifier, optimize, rate):
    if type(optimizer) is not dict or optimizer.get("is_optimizer") is not True:
        got = optimizer.get("class") if type(optimizer) is dict else "nothing"
        raise Fail(f"`{optimize}` should return a torch.optim.Optimizer, but it returned a {got}")
    if optimizer.get("sgd") is not True:
        raise Fail(f"`{optimize}` should return torch.optim.SGD, but it returned {optimizer.get('class')}")
    groups = optimizer.get("groups")
    if type(groups) is not list or not all(type(g) is dict and type(g.get("params")) is list for g in groups):
        raise Fail("the grader could not read the optimizer's parameter groups")
    held = [name for g in groups for name in g["params"]]
    if len(held) != len(set(held)):
        raise Fail(f"the optimizer of `{optimize}` holds some parameters twice")
    extra, missing = set(map(str, held)) - classifier, classifier - set(map(str, held))
    if extra:
        raise Fail(f"`{optimize}` should optimize only the classifier's parameters, but it also holds "
                   f"{', '.join(sorted(extra)[:3])}{' ...' if len(extra) > 3 else ''}; "
                   "pass model.classifier.parameters()")
    if missing:
        raise Fail(f"`{optimize}` should optimize every parameter of the classifier, but it misses "
                   f"{', '.join(sorted(missing)[:3])}")
    rates = sorted({g.get("lr") for g in groups}, key=str)
    if rates != [rate]:
        raise Fail(f"the learning rate of `{optimize}` should be {rate:g}, but it is {', '.join(map(str, rates))}")


# ---- the autoencoder --------------------------------------------------------------------------------

IMAGE = (1, 28, 28)


def _built(report, cls):
    report = expect.mapping(report, f"`{cls}()`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{cls}()` should make an nn.Module, but it made a {report['class']}")
    return report


@check_kind("autoencoder_interface", probes=("autoencoder_interface",),
            cls=Param((str,), default="ConvAutoencoder"),
            batch=Param((int,), default=4, validate=positive))
def autoencoder_interface(ctx):
    """The autoencoder's output has values in [0, 1], and `encode(x)` returns a tensor with
    fewer values per image than the 784 pixels of the input."""
    import torch

    p = ctx.params
    cls, n = p["cls"], p["batch"]
    x = torch.rand(n, *IMAGE, generator=torch.Generator().manual_seed(ctx.check.seed))
    report = _built(ctx.probe("autoencoder_interface", f"`{cls}`", call_args=[Tensor(x.numpy())], cls=cls), cls)
    output = expect.array(report.get("output"), f"the output of `{cls}` for a batch of shape {tuple(x.shape)}",
                          allow_numpy=False)
    if output.size and (output.min() < 0 or output.max() > 1):
        raise Fail(f"the output of `{cls}` ranges from {output.min():.3g} to {output.max():.3g}, but pixel values "
                   "are in [0, 1]: end the decoder with a sigmoid")
    if report.get("has_encode") is not True:
        raise Fail(f"`{cls}` has no method `encode(x)` returning the compressed representation")
    code = expect.array(report.get("code"), f"`{cls}.encode(x)` for a batch of shape {tuple(x.shape)}",
                        allow_numpy=False)
    if code.ndim < 2 or code.shape[0] != n:
        raise Fail(f"`{cls}.encode(x)` should return one representation per image (first dimension {n}), but its "
                   f"shape is {code.shape}")
    per_image, pixels = code.size // n, math.prod(IMAGE)
    if per_image >= pixels:
        raise Fail(f"`{cls}.encode(x)` returns {per_image} values per image (shape {code.shape[1:]}), not fewer "
                   f"than the {pixels} pixels of the input: the representation must be compressed (pooling, fewer "
                   "channels)")
    return Verdict(True, f"output in [0, 1]; encode gives {tuple(code.shape[1:])} = {per_image} values per image "
                         f"({per_image / pixels:.0%} of the input)")


@check_kind("max_reconstruction_error", probes=("reconstruction",), uses_data=True, threshold_direction="at_most",
            cls=Param((str,), default="ConvAutoencoder"),
            threshold=Param((float,), validate=positive, doc="largest mean squared error accepted (pixels in [0, 1])"),
            epochs=Param((int,), default=2, validate=positive),
            train_size=Param((int,), default=3000, validate=positive),
            test_size=Param((int,), default=500, validate=positive),
            batch_size=Param((int,), default=32, validate=positive),
            lr=Param((float,), default=0.005, validate=positive, doc="Adam's learning rate in the grader's loop"))
def max_reconstruction_error(ctx):
    """Trained for a few epochs by the grader's loop (Adam, mean squared error) on a seeded
    subset, the autoencoder reconstructs held-out images with a mean squared error of at most
    `threshold` (computed here; calibrated from the reference)."""
    from grader import data as datasets

    p = ctx.params
    split = ctx.data()
    train_x, _ = datasets.subset(split.train_x, split.train_y, p["train_size"], ctx.check.seed)
    test_x, _ = datasets.subset(split.test_x, split.test_y, p["test_size"], ctx.check.seed + 1)
    inputs = ctx.workdir / f"data-{ctx.check.id}.npz"
    np.savez(inputs, train_x=train_x, test_x=test_x)
    try:
        report = ctx.probe("reconstruction", f"training `{p['cls']}`", data=inputs.name, cls=p["cls"],
                           epochs=p["epochs"], batch_size=p["batch_size"], lr=p["lr"],
                           device=getattr(ctx, "device", "cpu"))
    finally:
        inputs.unlink(missing_ok=True)
    report = _built(report, p["cls"])
    if "bad_output" in report:
        shape = report.get("output_shape")
        raise Fail(f"for a batch of shape {report.get('batch_shape')} `{p['cls']}` returned "
                   f"{'a tensor of shape ' + str(shape) if shape is not None else 'a ' + str(report['bad_output'])}; "
                   "the reconstruction must have the input's shape (N, 1, 28, 28)")
    losses = expect.floats(report.get("losses"), "the training losses", length=p["epochs"])
    curve = Artifact("curve", f"reconstruction loss per epoch (grader's loop on {p['cls']})", losses)
    got = expect.array(report.get("reconstructions"), f"the reconstructions of `{p['cls']}`", allow_numpy=False)
    want = test_x.reshape(-1, *IMAGE)
    if got.shape != want.shape:
        raise Fail(f"the reconstructions of {len(want)} held-out images have shape {got.shape}, not {want.shape}",
                   (curve,))
    error = float(np.mean((got.astype(np.float64) - want) ** 2))
    panels = [(want[i, 0], "image") for i in range(8)] + [(got[i, 0], "rebuilt") for i in range(8)]
    picture = Artifact("png", f"held-out images (top) and their reconstructions by {p['cls']} (bottom)",
                       panel_figure(panels, 2, f"mean squared error {error:.4f}"))
    where = f"after {p['epochs']} epochs on {len(train_x)} images, on {len(want)} held-out Fashion-MNIST images"
    if error > p["threshold"]:
        raise Fail(f"the mean squared reconstruction error {error:.4f} {where} is above the accepted "
                   f"{p['threshold']:g}; compare the images with their reconstructions in the report", (curve, picture),
                   value=error)
    return Verdict(True, f"mean squared reconstruction error {error:.4f} {where} (at most {p['threshold']:g})",
                   (curve, picture), value=error)
