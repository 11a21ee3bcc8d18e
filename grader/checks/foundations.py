"""Check kinds of cnn_foundations (the lecture notes' workflow), judged here in the parent.

- `fdn_train_transform` / `fdn_test_transform`: the child applies the student's transform to an
  RGB image made here; the parent matches every output against its own flips and rotations of
  that image, converted and normalized (torchvision's functional API), and counts flips and
  measures angles.
- `fdn_init_statistics` / `fdn_init_unknown_scheme`: the child returns the weights after
  `init_weights`; the parent computes their bounds, spread and shape of distribution.
- `fdn_train_one_epoch` / `fdn_evaluate`: the child runs the student's loop on a model the grader
  defines (with a recorder of each forward pass's mode) and the parent's data and weights; the
  parent replays the same computation and compares the loss, the accuracy and the weights.
- `fdn_vgg_transfer`: VGG16's parameter shapes (built here on the meta device, no memory),
  what is frozen and what the optimizer holds.
- `fdn_autoencoder` / `fdn_max_reconstruction_error`: the autoencoder's interface, then its
  reconstruction error on held-out Fashion-MNIST images after a short training run with the
  grader's loop; the threshold is calibrated (`calibrate_reconstruction`).
- `@reference_impl("fdn_flatten_images")`, `@reference_impl("fdn_gram_matrix")` for function_cases.
"""

import datetime
import functools
import io
import math
import platform
import time

import numpy as np

from grader.checks import expect
from grader.checks.cases import reference_impl
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, fraction, positive
from grader.sandbox.session import ProbeFailure
from grader.sandbox.values import Opaque, Tensor, describe

# ---- reference implementations for function_cases ----------------------------------------------------


@reference_impl("fdn_flatten_images")
def flatten_images(x):
    """(N, C, H, W) -> (N, C*H*W)."""
    return x.reshape(x.shape[0], -1)


@reference_impl("fdn_gram_matrix")
def gram_matrix(features):
    """(C, H, W) -> F Fᵀ / (H W) with F the (C, H W) reshape, computed in float64."""
    channels, height, width = features.shape
    flat = features.double().reshape(channels, height * width)
    return flat @ flat.T / (height * width)


# ---- shared helpers -----------------------------------------------------------------------------------

def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=70)
    return buffer.getvalue()


def _figure(panels, rows, title):
    """A PNG of greyscale or RGB panels [(array HxW or HxWx3 in [0, 1], caption)] on `rows` rows."""
    from matplotlib.figure import Figure

    cols = math.ceil(len(panels) / rows)
    fig = Figure(figsize=(1.6 * cols, 1.8 * rows))
    fig.suptitle(title, fontsize=9)
    for index, (image, caption) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, index + 1)
        ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(caption, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


# ---- transforms -----------------------------------------------------------------------------------------

ANGLE_STEP = 0.5  # degrees between the rotations the outputs are matched against
ANGLE_SPAN = 45.0  # the largest rotation matched, either way


def transform_image(height, width, seed):
    """A smooth RGB test image (uint8 H x W x 3) whose mirror image and rotations differ from it:
    red grows from left to right, green has three blobs off centre, blue a tilted wave."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx, radius = (height - 1) / 2, (width - 1) / 2, min(height, width) / 2
    image = np.zeros((height, width, 3))
    image[..., 0] = 0.15 + 0.7 * xx / (width - 1)
    for _ in range(3):
        angle, distance = rng.uniform(0, 2 * np.pi), rng.uniform(0.35, 0.6) * radius
        by, bx = cy + distance * np.sin(angle), cx + distance * np.cos(angle)
        image[..., 1] += 0.8 * np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / (2 * (0.12 * radius) ** 2))
    tilt = rng.uniform(0, np.pi)
    image[..., 2] = 0.5 + 0.4 * np.sin(((xx - cx) * np.cos(tilt) + (yy - cy) * np.sin(tilt)) / (0.25 * radius))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def normalized(pixels):
    """To tensor and Normalize(0.5, 0.5), computed here: (3, H, W) float64 in [-1, 1]."""
    return (np.asarray(pixels, dtype=np.float64).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5


@functools.lru_cache(maxsize=4)
def _candidates(pixels_bytes, height, width):
    """(flips, angles, stack (K, 3, H, W)) of the image flipped or not, rotated by each angle
    (nearest neighbour, as RandomRotation), converted and normalized."""
    import torchvision.transforms.functional as TF
    from PIL import Image

    pixels = np.frombuffer(pixels_bytes, dtype=np.uint8).reshape(height, width, 3)
    image = Image.fromarray(pixels, "RGB")
    steps = np.arange(ANGLE_STEP, ANGLE_SPAN + 1e-9, ANGLE_STEP)
    # 0, +step, -step, +2 step, ...: equally good matches (nearest-neighbour rotations by a small
    # angle can leave every pixel in place) resolve to the smallest angle
    angles = np.concatenate([[0.0], np.stack([steps, -steps], axis=1).ravel()])
    flips, turns, stack = [], [], []
    for flip in (False, True):
        source = TF.hflip(image) if flip else image
        for angle in angles:
            flips.append(flip)
            turns.append(float(angle))
            stack.append(normalized(np.asarray(TF.rotate(source, float(angle)))))
    return np.array(flips), np.array(turns), np.stack(stack).astype(np.float32)  # about 10 MB for 40 x 56


def _disc(height, width):
    """Pixels that stay inside the image under any rotation (the fill of the corners is free)."""
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= (min(height, width) / 2 - 1.5) ** 2


def _transform_outputs(ctx, function, pixels, calls):
    """The outputs of the student's transform on `pixels`, each checked to be a float (3, H, W)
    tensor with values in [-1, 1]; returns them as float64 arrays."""
    height, width = pixels.shape[:2]
    report = ctx.probe("fdn_transform", f"`{function}`", call_args=[pixels], function=function, calls=calls)
    report = expect.mapping(report, f"`{function}()`", ["callable"])
    if report["callable"] is not True:
        raise Fail(f"`{function}()` should return a transform (a callable such as transforms.Compose([...])), "
                   f"but it returned a {report.get('class')}")
    outputs = report.get("outputs")
    if type(outputs) is not list or len(outputs) != calls:
        raise Fail(f"`{function}()`: the grader could not read the transformed images")
    arrays = []
    for value in outputs:
        if isinstance(value, Opaque) and "PIL" in value.type_name:
            raise Fail(f"`{function}()` returns a PIL image, not a tensor: add transforms.ToTensor() "
                       "(and the normalization) after the augmentation")
        array = expect.array(value, f"the image transformed by `{function}()`", allow_numpy=False)
        if array.shape != (3, height, width):
            hint = " (channels last: use transforms.ToTensor())" if array.shape == (height, width, 3) else ""
            raise Fail(f"for an RGB image of height {height} and width {width} the transform should return a tensor "
                       f"of shape (3, {height}, {width}), but it returned shape {array.shape}{hint}")
        if array.dtype.kind != "f":
            raise Fail(f"the transform should return a float tensor, but its dtype is {array.dtype}; "
                       "use transforms.ToTensor()")
        low, high = float(array.min()), float(array.max())
        if low < -1 - 1e-5 or high > 1 + 1e-5:
            raise Fail(f"the transformed values range from {low:.3g} to {high:.3g}, outside [-1, 1]; convert with "
                       "transforms.ToTensor() and normalize each channel with mean 0.5 and std 0.5")
        arrays.append(array.astype(np.float64))
    return arrays


@check_kind("fdn_train_transform",
            function=Param((str,), default="train_transform"),
            size=Param((list,), default=[40, 56], doc="[H, W] of the RGB image made here"),
            calls=Param((int,), default=40, validate=positive, doc="seeded applications of the transform"),
            max_angle=Param((float,), default=10.0, doc="the largest rotation allowed, in degrees"),
            flip_share=Param((list,), default=[0.25, 0.75], doc="accepted share of flipped outputs"),
            min_rotated=Param((float,), default=0.25, validate=fraction,
                              doc="least share of outputs rotated by 2 degrees or more"),
            tolerance=Param((float,), default=0.06, doc="largest mean difference from the best-matching "
                                                        "flip and rotation (values in [-1, 1])"))
def fdn_train_transform(ctx):
    """The training transform flips about half of the time, rotates by up to `max_angle` degrees,
    and converts and normalizes: every output matches one of the parent's flips and rotations."""
    p = ctx.params
    height, width = p["size"]
    pixels = transform_image(height, width, ctx.check.seed)
    outputs = _transform_outputs(ctx, p["function"], pixels, p["calls"])
    flips, angles, stack = _candidates(pixels.tobytes(), height, width)
    mask = _disc(height, width)
    inside = stack[:, :, mask]
    found = []
    for index, output in enumerate(outputs):
        errors = np.abs(inside - output[:, mask][None]).mean(axis=(1, 2))
        best = int(errors.argmin())
        if errors[best] > p["tolerance"]:
            raise Fail(_unmatched(output, inside, mask, errors[best], index, p["calls"]))
        found.append((bool(flips[best]), float(angles[best])))
    flipped = sum(f for f, _ in found)
    share = flipped / len(found)
    low, high = p["flip_share"]
    turned = [abs(a) for _, a in found]
    artifact = _transform_figure(pixels, outputs[:9], found[:9])
    if not low <= share <= high:
        how = "never" if flipped == 0 else "always" if flipped == len(found) else f"{flipped} of {len(found)} times"
        raise Fail(f"the transform flipped the image horizontally {how} over {len(found)} calls; a random "
                   f"horizontal flip happens about half of the time (accepted: {low:.0%} to {high:.0%})", artifact)
    if max(turned) > p["max_angle"] + ANGLE_STEP:
        raise Fail(f"the transform rotated the image by up to {max(turned):.1f} degrees; rotations must stay within "
                   f"{p['max_angle']:g} degrees either way (transforms.RandomRotation({p['max_angle']:g}))", artifact)
    rotated = sum(a >= 2.0 for a in turned) / len(turned)
    if rotated < p["min_rotated"] or max(turned) < p["max_angle"] / 2:
        raise Fail(f"the transform hardly rotates the image (largest rotation {max(turned):.1f} degrees over "
                   f"{len(found)} calls); add a random rotation of up to {p['max_angle']:g} degrees", artifact)
    return Verdict(True, f"flipped {flipped} of {len(found)} times, rotations from {min(a for _, a in found):+.1f} to "
                         f"{max(a for _, a in found):+.1f} degrees, converted and normalized to [-1, 1]", artifact)


def _unmatched(output, inside, mask, error, index, calls):
    """Why output `index` matches no flip and rotation of the image."""
    unnormalized = np.abs(inside - output[:, mask][None] * 2 + 1).mean(axis=(1, 2)).min()
    if unnormalized < 0.06:
        return ("the values are those of transforms.ToTensor() (in [0, 1]) without the normalization; add "
                "transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) after ToTensor()")
    return (f"output {index + 1} of {calls} is not a horizontal flip and/or rotation of the image, converted and "
            f"normalized with mean 0.5 and std 0.5 (mean difference {error:.3f} from the closest one); the training "
            "transform should flip horizontally, rotate by up to 10 degrees, convert to a tensor and normalize, "
            "nothing else")


def _transform_figure(pixels, outputs, found):
    panels = [(pixels / 255.0, "the image")]
    panels += [(o.transpose(1, 2, 0) * 0.5 + 0.5, f"{'flip, ' if f else ''}{a:+.1f}°")
               for o, (f, a) in zip(outputs, found)]
    return (Artifact("png", "your training transform on the grader's image", _figure(panels, 2, "augmented")),)


@check_kind("fdn_test_transform",
            function=Param((str,), default="test_transform"),
            size=Param((list,), default=[36, 44], doc="[H, W] of the RGB image made here"),
            calls=Param((int,), default=8, validate=positive),
            atol=Param((float,), default=1e-4))
def fdn_test_transform(ctx):
    """The test transform is deterministic and equals to-tensor + normalize computed here."""
    p = ctx.params
    height, width = p["size"]
    pixels = transform_image(height, width, ctx.check.seed)
    outputs = _transform_outputs(ctx, p["function"], pixels, p["calls"])
    if any(np.abs(o - outputs[0]).max() > p["atol"] for o in outputs[1:]):
        raise Fail(f"`{p['function']}()` gave different results for the same image over {p['calls']} calls; the test "
                   "transform must not augment at random (only ToTensor and Normalize)")
    want = normalized(pixels)
    worst = float(np.abs(outputs[0] - want).max())
    if worst > p["atol"]:
        if np.abs(outputs[0] - (want + 1) / 2).max() <= p["atol"]:
            raise Fail("the values are those of transforms.ToTensor() (in [0, 1]) without the normalization; add "
                       "transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))")
        if np.abs(outputs[0] - want[:, :, ::-1]).max() <= p["atol"]:
            raise Fail("the test transform flips the image; it should only convert and normalize")
        raise Fail(f"the result differs from ToTensor() followed by Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) on "
                   f"the same image (largest difference {worst:.3g})")
    return Verdict(True, f"deterministic over {p['calls']} calls and equal to ToTensor + Normalize(0.5, 0.5)")


# ---- weight initialisation ----------------------------------------------------------------------------

WEIGHT_FILL, BIAS_FILL = 0.123, 0.5  # what the probe sets before calling init_weights


def _valid_layers(value):
    for entry in value:
        ok = (type(entry) is list and entry and entry[0] in ("conv", "linear")
              and len(entry) == (4 if entry[0] == "conv" else 3) and all(type(v) is int and v > 0 for v in entry[1:]))
        if not ok:
            return f"{entry!r} is not ['conv', in, out, kernel] or ['linear', in, out]"
    return None if value else "must not be empty"


def _layer_table(layers):
    """[(what, weight name, weight shape, bias name, fan-in, other y's that are common mistakes)]."""
    table = []
    for index, entry in enumerate(layers):
        if entry[0] == "conv":
            _, c_in, c_out, k = entry
            table.append((f"Conv2d({c_in}, {c_out}, {k}) (nested in a Sequential)", f"{index}.0.weight",
                          (c_out, c_in, k, k), f"{index}.0.bias", c_in * k * k,
                          {"1/sqrt(in_channels)": c_in, "1/sqrt(out_channels)": c_out,
                           "1/sqrt(out_channels x kernel area)": c_out * k * k}))
        else:
            _, n_in, n_out = entry
            table.append((f"Linear({n_in}, {n_out})", f"{index}.weight", (n_out, n_in), f"{index}.bias", n_in,
                          {"1/sqrt(out_features)": n_out}))
    return table


def _init_params(ctx, function, scheme, layers):
    report = ctx.probe("fdn_init", f"`{function}`", function=function, scheme=scheme, layers=layers,
                       weight_fill=WEIGHT_FILL, bias_fill=BIAS_FILL)
    params = expect.mapping(report, f"`{function}`", ["params"])["params"]
    if type(params) is not dict:
        raise Fail(f"`{function}`: the grader could not read the model's parameters")
    return params


def _mistaken_y(implied, mistakes):
    for label, n in mistakes.items():
        if abs(implied - 1 / math.sqrt(n)) <= 0.03 / math.sqrt(n):
            return f"; your y looks like {label} = {1 / math.sqrt(n):.4g}: y uses the fan-in"
    return ""


@check_kind("fdn_init_statistics",
            function=Param((str,), default="init_weights"),
            scheme=Param((str,), validate=lambda v: None if v in ("uniform", "normal")
                         else "must be uniform or normal"),
            tolerance=Param((float,), default=0.05, doc="relative tolerance of the spread (std) and mean"),
            layers=Param((list,), default=[["conv", 16, 32, 5], ["linear", 1000, 500]], validate=_valid_layers))
def fdn_init_statistics(ctx):
    """After `init_weights(model, scheme)` on the grader's model (weights and biases set to
    constants before), every layer's weights are spread as U(-y, y) or N(0, y) with
    y = 1/sqrt(fan_in) and every bias is 0; the statistics are computed here."""
    p = ctx.params
    params = _init_params(ctx, p["function"], p["scheme"], p["layers"])
    tol, call = p["tolerance"], f"`{p['function']}(model, \"{p['scheme']}\")`"
    notes = []
    for what, w_name, w_shape, b_name, fan_in, mistakes in _layer_table(p["layers"]):
        weight = expect.array(params.get(w_name), f"the weight of the {what}")
        bias = expect.array(params.get(b_name), f"the bias of the {what}")
        if weight.shape != w_shape or bias.shape != (w_shape[0],):
            raise Fail(f"{call} changed the shape of the {what}'s parameters; initialise them in place")
        if np.all(weight == np.float32(WEIGHT_FILL)):
            raise Fail(f"{call} did not change the weights of the {what}; initialise every nn.Linear and nn.Conv2d "
                       "of the model, nested ones too (iterate over model.modules())")
        w = weight.astype(np.float64).ravel()
        if w.min() == w.max():
            raise Fail(f"after {call} every weight of the {what} is {w[0]:.4g}: constant weights make every unit "
                       "compute the same output; draw them at random")
        if np.any(bias != 0):
            raise Fail(f"after {call} the biases of the {what} are not 0 (they range from {bias.min():.3g} to "
                       f"{bias.max():.3g}); set every bias to 0")
        y = 1 / math.sqrt(fan_in)
        mean, std, top = float(w.mean()), float(w.std()), float(np.abs(w).max())
        # sampling noise of a small layer widens the tolerances (5 standard errors at least)
        mean_tol, std_tol = max(tol, 5 / math.sqrt(w.size)) * y, max(tol, 5 / math.sqrt(2 * w.size))
        share_tol = max(0.03, 5 * math.sqrt(0.6827 * 0.3173 / w.size))
        where = f"the {what} (fan-in {fan_in}, so y = 1/sqrt({fan_in}) = {y:.4g})"
        if abs(mean) > mean_tol:
            raise Fail(f"the weights of {where} have mean {mean:.4g}; both schemes are centred on 0")
        if p["scheme"] == "uniform":
            if top > y * (1 + 1e-4) + 1e-7:
                raise Fail(f"the weights of {where} go up to {top:.4g} in absolute value, beyond y; U(-y, y) stays "
                           f"within ±y{_mistaken_y(top, mistakes)}")
            if abs(std - y / math.sqrt(3)) > std_tol * y / math.sqrt(3) or top < (1 - tol) * y:
                raise Fail(f"the weights of {where} have std {std:.4g} and reach ±{top:.4g}; U(-y, y) has std "
                           f"y/sqrt(3) = {y / math.sqrt(3):.4g} and fills the whole interval"
                           f"{_mistaken_y(std * math.sqrt(3), mistakes)}")
        else:
            if abs(std - y) > std_tol * y:
                raise Fail(f"the weights of {where} have std {std:.4g}, but N(0, y) has std y = {y:.4g} (tolerance "
                           f"{std_tol:.0%}){_mistaken_y(std, mistakes)}")
            within = float(np.mean(np.abs(w - mean) <= std))
            if abs(within - 0.6827) > share_tol:
                raise Fail(f"the weights of {where} have the right std but are not normally distributed: "
                           f"{within:.1%} of them lie within one std of the mean, not 68%; use a normal distribution")
        notes.append(f"{what}: mean {mean:+.2g}, std {std:.4g}, max |w| {top:.4g}")
    return Verdict(True, f"{p['scheme']} with y = 1/sqrt(fan_in), biases 0: " + "; ".join(notes))


@check_kind("fdn_init_unknown_scheme",
            function=Param((str,), default="init_weights"),
            scheme=Param((str,), default="xavier"),
            exception=Param((str,), default="ValueError"))
def fdn_init_unknown_scheme(ctx):
    """`init_weights(model, <unknown scheme>)` raises the documented exception."""
    p = ctx.params
    call = f"{p['function']}(model, {p['scheme']!r})"
    try:
        _init_params(ctx, p["function"], p["scheme"], [["linear", 4, 3]])
    except ProbeFailure as exc:
        if exc.error_type == p["exception"]:
            return Verdict(True, f"{call} raises {p['exception']}")
        if exc.error_type in (None, "NotImplementedError"):
            raise
        raise Fail(f"{call} should raise {p['exception']}, but {exc.message}") from None
    raise Fail(f"{call} should raise {p['exception']} for an unknown scheme, but it returned without an error")


# ---- the training loop --------------------------------------------------------------------------------

def _loop_inputs(seed, samples, image_shape, hidden, classes):
    """Seeded data (x in [0, 1], y class indices) and initial weights of the grader's model."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    features = math.prod(image_shape)
    x = torch.rand(samples, *image_shape, generator=generator)
    y = torch.randint(0, classes, (samples,), generator=generator)
    weights = {}
    for index, (n_in, n_out) in ((2, (features, hidden)), (4, (hidden, classes))):
        scale = 2.0 / math.sqrt(n_in)
        weights[f"{index}.weight"] = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * scale
        weights[f"{index}.bias"] = (torch.rand(n_out, generator=generator) * 2 - 1) * scale
    return x, y, weights, features


def _parent_model(features, hidden, classes, weights):
    """The grader's model, rebuilt here (nn.Identity where the child has its recorder)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Flatten(), torch.nn.Linear(features, hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    model.load_state_dict({k: v.clone() for k, v in weights.items()})
    return model


def _batches(x, y, batch_size):
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


def _replay_epoch(model, batches, lr, zero_grad=True, step=True):
    """One epoch of SGD as the notes' six steps do it (or with a step left out); returns each
    batch's mean loss."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for data, target in batches:
        if zero_grad:
            optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        if step:
            optimizer.step()
        losses.append(loss.item())
    return losses


def _loop_report(ctx, p, mode, x, y, weights, sizes):
    extra = {"lr": p["lr"]} if mode == "train" else {}
    report = ctx.probe("fdn_loop", f"`{p['function']}`",
                       call_args=[{k: Tensor(v.numpy()) for k, v in weights.items()}, Tensor(x.numpy()),
                                  Tensor(y.numpy())],
                       function=p["function"], mode=mode, sizes=list(sizes), batch_size=p["batch_size"], **extra)
    report = expect.mapping(report, f"`{p['function']}`", ["result", "calls", "params"])
    calls = report["calls"]
    if type(calls) is not list or not all(type(c) is list and len(c) == 3 and type(c[0]) is bool
                                          and type(c[1]) is bool and type(c[2]) is int for c in calls):
        raise Fail(f"`{p['function']}`: the grader could not read what the model saw")
    return report


def _check_batches(function, calls, batches, what):
    seen = [c[2] for c in calls]
    want = [len(b[1]) for b in batches]
    if not seen:
        raise Fail(f"`{function}` never called the model; {what}")
    if seen != want:
        if len(seen) > len(want) and seen[:len(want)] == want:
            raise Fail(f"`{function}` went over the loader more than once ({len(seen)} forward passes for "
                       f"{len(want)} batches); it should make exactly one pass")
        raise Fail(f"the model saw batches of sizes {seen}, but one pass over the loader gives batches of sizes "
                   f"{want}; use every (data, target) batch of the loader once")


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


LOOP_PARAMS = dict(samples=Param((int,), default=22, validate=positive, doc="data set size (not a multiple "
                                                                          "of the batch size)"),
                   batch_size=Param((int,), default=8, validate=positive),
                   image_shape=Param((list,), default=[1, 4, 4], doc="shape of one input"),
                   hidden=Param((int,), default=12, validate=positive),
                   classes=Param((int,), default=4, validate=positive))


@check_kind("fdn_train_one_epoch",
            function=Param((str,), default="train_one_epoch"),
            lr=Param((float,), default=0.5, validate=positive),
            **LOOP_PARAMS)
def fdn_train_one_epoch(ctx):
    """On the grader's model, initial weights and fixed loader, one epoch of the student's loop
    leaves the same weights as the notes' six steps replayed here, and returns the exact mean
    loss per sample (summed `loss.item() * data.size(0)` over the data set size)."""
    p = ctx.params
    x, y, weights, features = _loop_inputs(ctx.check.seed, p["samples"], p["image_shape"], p["hidden"], p["classes"])
    sizes = (features, p["hidden"], p["classes"])
    report = _loop_report(ctx, p, "train", x, y, weights, sizes)
    batches = _batches(x, y, p["batch_size"])
    _check_batches(p["function"], report["calls"], batches, "pass each batch through it (the forward pass)")
    model = _parent_model(*sizes, weights)
    losses = _replay_epoch(model, batches, p["lr"])
    got = report["params"]
    if type(got) is not dict or set(got) != set(weights):
        raise Fail(f"`{p['function']}`: the grader could not read the model's weights")
    got = {k: expect.array(v, f"the weight {k}") for k, v in got.items()}

    def same(state):
        return all(np.allclose(got[k], state[k].detach().numpy(), rtol=1e-4, atol=1e-5) for k in got)

    if not same(model.state_dict()):
        if same(weights):
            raise Fail("the model's weights did not change during the epoch; for every batch compute the loss, "
                       "call loss.backward() and then optimizer.step()")
        variant = _parent_model(*sizes, weights)
        _replay_epoch(variant, batches, p["lr"], zero_grad=False)
        if same(variant.state_dict()):
            raise Fail("the gradients add up from batch to batch: call optimizer.zero_grad() at the start of every "
                       "batch, before loss.backward()")
        raise Fail("after one epoch the model's weights differ from those of the notes' six steps (zero_grad, "
                   "forward, loss, backward, step for every batch, in the loader's order)")
    value = report["result"]
    if isinstance(value, (Tensor, np.ndarray)):
        raise Fail(f"`{p['function']}` should return the mean loss as a Python float, but it returned "
                   f"{describe(value)}; accumulate loss.item() * data.size(0)")
    if type(value) not in (float, int):
        raise Fail(f"`{p['function']}` should return the mean loss per sample as a float, but it returned "
                   f"{describe(value)}")
    counts = [len(b[1]) for b in batches]
    want = sum(l * n for l, n in zip(losses, counts)) / sum(counts)
    if not _close(value, want):
        problems = [(sum(losses) / len(losses), "the mean of the batch losses; weight each batch's loss by its size "
                                                "(loss.item() * data.size(0)) and divide by the number of samples"),
                    (sum(l * n for l, n in zip(losses, counts)), "the summed loss; divide it by the number of samples "
                                                                 "in the data set"),
                    (sum(losses), "the sum of the batch means; multiply each by data.size(0) and divide the total by "
                                  "the number of samples"),
                    (losses[-1], "the last batch's loss; accumulate over the whole epoch")]
        hint = next((text for wrong, text in problems if _close(value, wrong)), "")
        raise Fail(f"`{p['function']}` returned {value:.6g}, but the mean loss per sample over the epoch is "
                   f"{want:.6g}" + (f": it looks like {hint}" if hint else ""))
    return Verdict(True, f"weights after one epoch match the six steps; mean loss per sample {want:.4f} over "
                         f"{sum(counts)} samples in batches of {counts}")


@check_kind("fdn_evaluate",
            function=Param((str,), default="evaluate"),
            **LOOP_PARAMS)
def fdn_evaluate(ctx):
    """`evaluate` runs the model in eval mode without gradients (recorded at every forward pass)
    and returns the exact mean loss per sample and the accuracy (0..1), computed here."""
    import torch

    p = ctx.params
    x, y, weights, features = _loop_inputs(ctx.check.seed, p["samples"], p["image_shape"], p["hidden"], p["classes"])
    sizes = (features, p["hidden"], p["classes"])
    report = _loop_report(ctx, p, "evaluate", x, y, weights, sizes)
    batches = _batches(x, y, p["batch_size"])
    calls = report["calls"]
    _check_batches(p["function"], calls, batches, "evaluate it on every batch")
    if any(training for training, _, _ in calls):
        raise Fail("the model was in training mode during the evaluation; call model.eval() before the loop")
    if any(grad for _, grad, _ in calls):
        raise Fail("gradients were being tracked during the evaluation; run the loop inside `with torch.no_grad():`")
    value = report["result"]
    if type(value) not in (tuple, list) or len(value) != 2:
        raise Fail(f"`{p['function']}` should return a pair (mean loss, accuracy), but it returned {describe(value)}")
    for item, what in zip(value, ("the mean loss", "the accuracy")):
        if type(item) not in (float, int):
            raise Fail(f"{what} returned by `{p['function']}` should be a Python float, but it is {describe(item)}"
                       " (use .item())")
    model = _parent_model(*sizes, weights).eval()
    criterion = torch.nn.CrossEntropyLoss()
    with torch.no_grad():
        losses = [criterion(model(data), target).item() for data, target in batches]
        correct = sum(int((model(data).argmax(dim=1) == target).sum()) for data, target in batches)
    counts = [len(b[1]) for b in batches]
    want_loss = sum(l * n for l, n in zip(losses, counts)) / sum(counts)
    want_acc = correct / sum(counts)
    loss, accuracy = float(value[0]), float(value[1])
    if not _close(loss, want_loss):
        hint = (": it looks like the mean of the batch losses; weight each by data.size(0) and divide by the number "
                "of samples") if _close(loss, sum(losses) / len(losses)) else ""
        raise Fail(f"the mean loss returned is {loss:.6g}, but the mean loss per sample is {want_loss:.6g}{hint}")
    if not _close(accuracy, want_acc):
        hint = "; return the accuracy as a fraction between 0 and 1" if _close(accuracy, 100 * want_acc) else ""
        raise Fail(f"the accuracy returned is {accuracy:.6g}, but {correct} of {sum(counts)} samples are classified "
                   f"right (accuracy {want_acc:.6g}){hint}")
    return Verdict(True, f"eval mode, no gradients, mean loss {want_loss:.4f} and accuracy {want_acc:.3f} right")


# ---- transfer learning ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def vgg16_shapes():
    """Parameter name -> shape of torchvision's VGG16, built on the meta device (no memory)."""
    import torch
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg16(weights=None)
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def _rows(report, what):
    rows = report.get("parameters")
    if type(rows) is not list:
        raise Fail(f"{what}: the grader could not read the parameters")
    out = []
    for row in rows:
        if type(row) is not list or len(row) != 3 or type(row[0]) is not str or type(row[2]) is not bool:
            raise Fail(f"{what}: the grader could not read the parameters")
        out.append((row[0], expect.shape(row[1], f"parameter {row[0]}'s shape"), row[2]))
    return out


def _none_or(types):
    return types + (type(None),)


@check_kind("fdn_vgg_transfer",
            factory=Param((str,), default="build_vgg_transfer"),
            optimizer=Param((str,), default="transfer_optimizer"),
            num_classes=Param(_none_or((int,)), default=None, doc="null: call the factory without it"),
            lr=Param(_none_or((float,)), default=None, doc="null: call the optimizer function without it"),
            default_classes=Param((int,), default=5),
            default_lr=Param((float,), default=0.001))
def fdn_vgg_transfer(ctx):
    """torchvision's VGG16 (shapes compared with VGG16 built here on the meta device) with
    `features` frozen, `classifier[6]` a new trainable Linear(4096, num_classes), and an SGD
    optimizer over exactly the classifier's parameters at the requested rate."""
    p = ctx.params
    classes = p["default_classes"] if p["num_classes"] is None else p["num_classes"]
    rate = p["default_lr"] if p["lr"] is None else p["lr"]
    build = f"{p['factory']}({'' if p['num_classes'] is None else p['num_classes']})"
    optimize = f"{p['optimizer']}(model{'' if p['lr'] is None else f', {rate}'})"
    report = ctx.probe("fdn_vgg", f"`{p['factory']}`", factory=p["factory"], optimizer=p["optimizer"],
                       num_classes=p["num_classes"], lr=p["lr"])
    report = expect.mapping(report, f"`{build}`", ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"`{build}` should return an nn.Module, but it returned a {report['class']}")
    rows = _rows(report, f"`{build}`")
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


@check_kind("fdn_autoencoder",
            cls=Param((str,), default="ConvAutoencoder"),
            batch=Param((int,), default=4, validate=positive))
def fdn_autoencoder(ctx):
    """The autoencoder's output has values in [0, 1], and `encode(x)` returns a tensor with
    fewer values per image than the 784 pixels of the input."""
    import torch

    p = ctx.params
    cls, n = p["cls"], p["batch"]
    x = torch.rand(n, *IMAGE, generator=torch.Generator().manual_seed(ctx.check.seed))
    report = _built(ctx.probe("fdn_autoencoder", f"`{cls}`", call_args=[Tensor(x.numpy())], cls=cls), cls)
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


@check_kind("fdn_max_reconstruction_error", uses_data=True,
            cls=Param((str,), default="ConvAutoencoder"),
            threshold=Param((float,), validate=positive, doc="largest mean squared error accepted (pixels in [0, 1])"),
            epochs=Param((int,), default=2, validate=positive),
            train_size=Param((int,), default=3000, validate=positive),
            test_size=Param((int,), default=500, validate=positive),
            batch_size=Param((int,), default=32, validate=positive),
            lr=Param((float,), default=0.005, validate=positive, doc="Adam's learning rate in the grader's loop"))
def fdn_max_reconstruction_error(ctx):
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
        report = ctx.probe("fdn_reconstruct", f"training `{p['cls']}`", data=inputs.name, cls=p["cls"],
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
    picture = Artifact("png", f"held-out images (top) and their reconstructions by {p['cls']} (bottom)",
                       _figure([(want[i, 0], "image") for i in range(8)] + [(got[i, 0], "rebuilt") for i in range(8)],
                               2, f"mean squared error {error:.4f}"))
    where = f"after {p['epochs']} epochs on {len(train_x)} images, on {len(want)} held-out Fashion-MNIST images"
    if error > p["threshold"]:
        raise Fail(f"the mean squared reconstruction error {error:.4f} {where} is above the accepted "
                   f"{p['threshold']:g}; compare the images with their reconstructions in the report", (curve, picture),
                   value=error)
    return Verdict(True, f"mean squared reconstruction error {error:.4f} {where} (at most {p['threshold']:g})",
                   (curve, picture), value=error)


# ---- calibration of fdn_max_reconstruction_error -----------------------------------------------------

def calibrate_reconstruction(rubric, reference, seeds=10, margin=0.015, options=None):
    """Like `grader calibrate` for the upper bounds of fdn_max_reconstruction_error checks: run each
    on the reference over `seeds` seeds; recommended threshold = worst seed plus `margin`, rounded
    up to 0.005. Returns the record in the format of grader.calibrate's."""
    import dataclasses

    import torch

    from grader import data as datasets
    from grader.grading import Options, grade_file

    options = options or Options()
    records = []
    for check in (c for c in rubric.checks if c.kind == "fdn_max_reconstruction_error"):
        errors, seconds = [], []
        for seed in range(seeds):
            trial = dataclasses.replace(check, seed=seed)
            started = time.monotonic()
            result = grade_file(reference, dataclasses.replace(rubric, checks=(trial,)), options)
            seconds.append(round(time.monotonic() - started, 2))
            outcome = result.checks[0]
            if outcome.value is None:
                raise RuntimeError(f"the reference failed check {check.id} with seed {seed}: {outcome.message}")
            errors.append(round(outcome.value, 5))
        worst = max(errors)
        records.append({
            "check": check.id, "kind": check.kind, "direction": "max", "seeds": list(range(seeds)),
            "errors": errors, "min": min(errors), "mean": round(sum(errors) / seeds, 5), "max": worst,
            "seconds_per_seed": seconds, "margin": margin,
            "recommended_threshold": math.ceil((worst + margin) * 200 - 1e-9) / 200,
            "threshold_in_rubric": check.params["threshold"],
            "budget": {k: check.params[k] for k in ("epochs", "train_size", "test_size", "batch_size", "lr")},
        })
    split = datasets.load(rubric.dataset, options.data_dir) if rubric.dataset else None
    return {
        "assignment": rubric.assignment, "date": datetime.date.today().isoformat(),
        "data_source": split.source if split else None, "torch": str(torch.__version__),
        "device": f"cpu ({platform.machine()}, {options.threads} thread(s) a child)",
        "sandbox": options.sandbox, "rubric_sha256": rubric.digest, "checks": records,
    }


def write_reconstruction_calibration(assignment="cnn_foundations", seeds=10):
    """Calibrate and write rubric/<assignment>.calibration.yaml (what `grader calibrate` writes for
    min_accuracy checks). Run: python -c "from grader.checks.foundations import
    write_reconstruction_calibration as w; w()"."""
    from pathlib import Path

    import yaml

    from grader import rubric as rubrics

    rubric = rubrics.load(assignment)
    reference = Path(rubric.path).parents[1] / "reference_solutions" / f"{assignment}.py"
    record = calibrate_reconstruction(rubric, reference, seeds)
    path = Path(rubric.path).with_name(f"{assignment}.calibration.yaml")
    header = ("# Calibration of the fdn_max_reconstruction_error checks (an upper bound, so `grader calibrate`,\n"
              "# which handles min_accuracy, does not cover them): the reference's mean squared reconstruction\n"
              "# error over several seeds. recommended_threshold = worst seed plus the margin, rounded up to 0.005.\n"
              "# Written by grader.checks.foundations.write_reconstruction_calibration().\n")
    path.write_text(header + yaml.safe_dump(record, sort_keys=False))
    return path
