"""Check kinds of a3_fashion_classifier's data step: the declared `CLASS_NAMES`, the examples
`pick_examples` takes from a dataset made here, and the figure `show_examples` draws of them."""

import re

import numpy as np

from grader.checks import expect
from .reports import figure_report, npz_inputs
from grader.checks.registry import Fail, Param, Verdict, check_kind, positive
from grader.data import subset
from grader.sandbox.values import Tensor, describe


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


# ---- examples -------------------------------------------------------------------------------------

@check_kind("pick_examples", probes=("pick_examples",), uses_data=True,
            function=Param((str,)),
            n=Param((int,), default=3, validate=positive),
            pool=Param((int,), default=200, validate=positive, doc="training images in the dataset given"))
def pick_examples(ctx):
    """`function(dataset, n)` on a dataset of training images made here returns n (image, label)
    pairs, each an image of that dataset with its own label, of n different classes."""
    p = ctx.params
    split = ctx.data()
    pool_x, pool_y = subset(split.train_x, split.train_y, p["pool"], ctx.check.seed)
    if len(set(pool_y.tolist())) < p["n"]:
        raise Fail(f"rubric error: the pool of {p['pool']} images has fewer than {p['n']} classes")
    call = f"`{p['function']}(dataset, {p['n']})`"
    with npz_inputs(ctx, train_x=pool_x, train_y=pool_y) as name:
        got = ctx.probe("pick_examples", f"`{p['function']}`", data=name, function=p["function"], n=p["n"])
    if type(got) not in (list, tuple) or len(got) != p["n"]:
        raise Fail(f"{call} should return a list of {p['n']} (image, label) pairs, but it returned {describe(got)}")
    labels = []
    for index, pair in enumerate(got, start=1):
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise Fail(f"item {index} of what {call} returned should be an (image, label) pair, "
                       f"but it is {describe(pair)}")
        image = expect.array(pair[0], f"the image of example {index}")
        label = pair[1]
        if type(label) is not int:
            raise Fail(f"the label of example {index} should be an int, but it is {describe(label)}; "
                       "use int(label) or label.item()")
        if image.size != 28 * 28:
            raise Fail(f"the image of example {index} has shape {image.shape}: it should be an image of the "
                       "dataset as the dataset holds it, (1, 28, 28)")
        flat = image.astype(np.float32).reshape(-1)
        matches = np.flatnonzero(np.abs(pool_x - flat).max(axis=1) <= 1e-6)
        if not len(matches):
            raise Fail(f"the image of example {index} is not one of the dataset's images: return the images "
                       "of the dataset you are given, unchanged")
        if label not in pool_y[matches].tolist():
            truth = int(pool_y[matches[0]])
            raise Fail(f"example {index} is labelled {label}, but the dataset labels that image {truth} "
                       f"({FASHION_CLASSES[truth]}): keep each image's own label")
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise Fail(f"the examples should be of {p['n']} different classes, but their labels are {labels}")
    names = ", ".join(FASHION_CLASSES[i] if 0 <= i < 10 else str(i) for i in labels)
    return Verdict(True, f"{p['n']} images of different classes from the dataset: {names}")


# ---- their figure ---------------------------------------------------------------------------------

def _classes_named(title, class_names):
    """The indices of the class names a title contains (case-insensitive, whole names only, so
    that 'T-shirt/top' does not also count as 'Shirt')."""
    found = set()
    for index, name in enumerate(class_names):
        if re.search(r"(?<![A-Za-z/-])" + re.escape(name.lower()) + r"(?![A-Za-z/-])", title.lower()):
            found.add(index)
    return found


def _normalised(image):
    image = np.asarray(image, dtype=np.float64).reshape(28, 28)
    span = image.max() - image.min()
    return (image - image.min()) / span if span > 0 else image * 0


def _which_example(pixels, examples):
    """The index of the example whose picture a panel shows (up to scaling), or None."""
    if not isinstance(pixels, np.ndarray) or pixels.dtype.kind not in "biuf" or pixels.size != 28 * 28:
        return None
    shown = _normalised(pixels)
    distances = [np.abs(shown - _normalised(image)).max() for image, _ in examples]
    best = int(np.argmin(distances))
    return best if distances[best] < 0.05 else None


@check_kind("examples_figure", probes=("figure_axes",), uses_data=True,
            function=Param((str,)),
            n=Param((int,), default=3, validate=positive),
            class_names=Param((list,), default=FASHION_CLASSES),
            title=Param((str,), default="Your examples"))
def example_figure(ctx):
    """`function(examples)` on (image, label) pairs of training images of different classes
    returns a Figure with one panel an image, each titled with the name of its image's class."""
    p = ctx.params
    split = ctx.data()
    rng = np.random.default_rng(ctx.check.seed)
    classes = rng.choice(len(p["class_names"]), size=p["n"], replace=False)
    examples = []
    for label in classes:
        index = rng.choice(np.flatnonzero(split.train_y == label))
        examples.append((split.train_x[index].reshape(1, 28, 28), int(label)))
    sent = [(Tensor(image), label) for image, label in examples]
    axes, _, artifacts = figure_report(ctx, p["function"], [sent])
    panels = [a for a in axes if type(a.get("images")) is int and a["images"] > 0]
    if len(panels) != p["n"]:
        raise Fail(f"for {p['n']} examples the figure should have {p['n']} panels with an image (one an example, "
                   f"drawn with imshow), but it has {len(panels)}", artifacts)
    shown = []
    for position, panel in enumerate(panels):
        index = _which_example(panel.get("pixels"), examples)
        index = position if index is None else index
        shown.append(index)
        title = panel.get("title") if type(panel.get("title")) is str else ""
        label = examples[index][1]
        want = p["class_names"][label]
        if not title.strip():
            raise Fail(f"panel {position + 1} has no title: title each panel with its image's class name "
                       f"(this one shows a {want})", artifacts)
        named = _classes_named(title, p["class_names"])
        if named != {label}:
            raise Fail(f"panel {position + 1} shows a {want} (label {label}), but its title is {title!r}: "
                       "title each panel with the class name of its label (CLASS_NAMES[label])", artifacts)
    if len(set(shown)) != len(shown):
        raise Fail("the figure shows the same example twice: one panel an example", artifacts)
    titles = ", ".join(repr(panels[i].get("title")) for i in range(len(panels)))
    return Verdict(True, f"{len(panels)} panels titled with their classes: {titles}", artifacts)
