"""Check kinds of cnn_foundations' data transforms, matched here against the parent's own flips and rotations.

- `train_transform_pipeline` / `test_transform_pipeline`: the child applies the student's transform to an
  RGB image made here; the parent matches every output against its own flips and rotations of
  that image, converted and normalized (torchvision's functional API), and counts flips and
  measures angles.
"""

import functools

import numpy as np

from grader.checks import expect
from .panels import panel_figure
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, fraction, positive
from grader.sandbox.values import Opaque

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
    report = ctx.probe("transform_outputs", f"`{function}`", call_args=[pixels], function=function, calls=calls)
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


@check_kind("train_transform_pipeline", probes=("transform_outputs",),
            function=Param((str,), default="train_transform"),
            size=Param((list,), default=[40, 56], doc="[H, W] of the RGB image made here"),
            calls=Param((int,), default=40, validate=positive, doc="seeded applications of the transform"),
            max_angle=Param((float,), default=10.0, doc="the largest rotation allowed, in degrees"),
            flip_share=Param((list,), default=[0.25, 0.75], doc="accepted share of flipped outputs"),
            min_rotated=Param((float,), default=0.25, validate=fraction,
                              doc="least share of outputs rotated by 2 degrees or more"),
            tolerance=Param((float,), default=0.06, doc="largest mean difference from the best-matching "
                                                        "flip and rotation (values in [-1, 1])"))
def train_transform_pipeline(ctx):
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
    return (Artifact("png", "your training transform on the grader's image", panel_figure(panels, 2, "augmented")),)


@check_kind("test_transform_pipeline", probes=("transform_outputs",),
            function=Param((str,), default="test_transform"),
            size=Param((list,), default=[36, 44], doc="[H, W] of the RGB image made here"),
            calls=Param((int,), default=8, validate=positive),
            atol=Param((float,), default=1e-4))
def test_transform_pipeline(ctx):
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
