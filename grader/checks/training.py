"""Check kind for a training run: minimum accuracy on held-out data whose labels stay here.

The child builds the model, trains it with the student's loop on a seeded training subset and
returns predictions for test images; the parent computes the accuracy. The loss curve goes to
the report.
"""

import numpy as np

from grader.checks import expect
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, fraction, positive
from grader.data import child_inputs
from grader.sandbox import workfiles


@check_kind("min_accuracy", probes=("train_predict",), uses_data=True, threshold_direction="at_least",
            factory=Param((str,)),
            train=Param((str,)),
            predict=Param((str,), default="", doc="the student's prediction function; empty: the grader "
                                                  "predicts by argmax of the model's outputs in eval mode"),
            threshold=Param((float,), validate=fraction),
            epochs=Param((int,), validate=positive),
            train_size=Param((int,), validate=positive),
            test_size=Param((int,), validate=positive),
            batch_size=Param((int,), default=64, validate=positive),
            input_shape=Param((list,), default=[], doc="shape of one image as the model takes it, e.g. [1, 28, 28]"),
            validation=Param((int,), default=0, doc="training images held out as a labelled loader passed "
                                                    "after the training loader"),
            train_kwargs=Param((dict,), default={}, doc="keyword arguments of the training function"),
            losses_key=Param((str,), default="", doc="key of the loss list when training returns a dict"))
def min_accuracy(ctx):
    """Trained with the student's own loop, the model reaches `threshold` accuracy on unseen data."""
    p = ctx.params
    split = ctx.training_data()  # classes secretly renamed: a model trained beforehand scores near 0
    data, test_y = child_inputs(split, p["train_size"] + p["validation"], p["test_size"], ctx.check.seed)
    inputs = workfiles.put(ctx.workdir, ".npz", data)
    try:
        result = ctx.probe("train_predict", f"training with `{p['train']}`", data=inputs, factory=p["factory"],
                           train=p["train"], predict=p["predict"], epochs=p["epochs"], batch_size=p["batch_size"],
                           input_shape=p["input_shape"], validation=p["validation"],
                           train_kwargs=p["train_kwargs"], losses_key=p["losses_key"], device=ctx.device)
    finally:
        workfiles.remove(ctx.workdir, inputs)
    result = expect.mapping(result, "the training run", ["losses", "predictions"])
    what = f"the losses returned by `{p['train']}`" + (f" (key '{p['losses_key']}')" if p["losses_key"] else "")
    losses = expect.floats(result["losses"], what, length=p["epochs"])
    curve = (Artifact("curve", f"training loss per epoch ({p['train']})", losses),)
    predictor = f"`{p['predict']}`" if p["predict"] else f"`{p['factory']}()`'s argmax"
    predictions = expect.array(result["predictions"], f"the value returned by {predictor}")
    if predictions.ndim == 2:
        raise Fail(f"{predictor} returned scores of shape {predictions.shape}; it should return class indices "
                   "of shape (N,): use argmax over the class dimension", curve)
    if predictions.shape != test_y.shape:
        raise Fail(f"{predictor} should return one class index per image, shape {test_y.shape}, "
                   f"but returned shape {predictions.shape}", curve)
    if predictions.dtype.kind not in "iu":
        raise Fail(f"{predictor} should return class indices (an integer tensor), not {predictions.dtype} "
                   "scores; use argmax", curve)
    accuracy = float(np.mean(predictions == test_y))
    where = f"after {p['epochs']} epochs on {len(test_y)} held-out images"
    if accuracy < p["threshold"]:
        raise Fail(f"accuracy {accuracy:.1%} {where} is below the required {p['threshold']:.0%}; "
                   "check the loss curve: does it go down?", curve, value=accuracy)
    return Verdict(True, f"accuracy {accuracy:.1%} {where} (required {p['threshold']:.0%})", curve, value=accuracy)
