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
    ran = budget_text(p, result.get("optimizer"))
    if accuracy < p["threshold"]:
        raise Fail(f"accuracy {accuracy:.1%} on {len(test_y)} held-out images is below the required "
                   f"{p['threshold']:.0%}, after {ran}. "
                   f"{diagnosis(losses, result.get('optimizer'), 'lr' in p['train_kwargs'])}", curve, value=accuracy)
    return Verdict(True, f"accuracy {accuracy:.1%} on {len(test_y)} held-out images (required "
                   f"{p['threshold']:.0%}), after {ran}", curve, value=accuracy)


def _optimizers(report):
    """The distinct optimizers the child saw stepping the model, as 'SGD at lr=0.01 with momentum 0.9'."""
    kinds = report.get("optimizers") if type(report) is dict and type(report.get("optimizers")) is list else []
    texts = []
    for kind in kinds[:5]:
        if type(kind) is not dict or type(kind.get("class")) is not str:
            continue
        text = kind["class"].rsplit(".", 1)[-1][:40]
        if type(kind.get("lr")) is float:
            text += f" at lr={kind['lr']:g}"
        if type(kind.get("momentum")) is float and kind["momentum"]:
            text += f" with momentum {kind['momentum']:g}"
        texts.append(text)
    return texts


def budget_text(p, report):
    """What the check ran, in the student's terms: '3 epochs of 4,000 images, 189 steps of batch 64,
    your train's Adam at lr=0.001'."""
    steps = p["epochs"] * -(-p["train_size"] // p["batch_size"])
    text = (f"{p['epochs']} epoch{'s' if p['epochs'] != 1 else ''} of {p['train_size']:,} training images, "
            f"{steps} steps of batch {p['batch_size']}")
    if p["train_kwargs"]:
        text += " with " + ", ".join(f"{k}={v!r}" for k, v in sorted(p["train_kwargs"].items()))
    seen = _optimizers(report)
    if seen:
        text += f"; your `{p['train']}` stepped {' and '.join(seen)}"
    return text


# Below these rates an optimizer of the class barely moves a model in a few hundred steps
# (the usual rates: SGD 0.01 to 0.1, the Adam family 1e-3, Adadelta 1.0).
SMALL_RATES = {"SGD": 1e-3, "Adam": 1e-4, "AdamW": 1e-4, "NAdam": 1e-4, "RAdam": 1e-4, "Adamax": 1e-4,
               "RMSprop": 1e-4, "Adagrad": 1e-3, "Adadelta": 1e-2}


def _small_rate(report):
    """'Adam at lr=1e-05' when the optimizer seen steps at a rate far below its class's usual one."""
    for kind in (report.get("optimizers") if type(report) is dict and type(report.get("optimizers")) is list else []):
        if type(kind) is not dict or type(kind.get("class")) is not str or type(kind.get("lr")) is not float:
            continue
        name = kind["class"].rsplit(".", 1)[-1]
        if name in SMALL_RATES and kind["lr"] < SMALL_RATES[name]:
            return f"{name} at lr={kind['lr']:g}"
    return None


def diagnosis(losses, report, lr_given=False):
    """Tell a loop that does not learn (a bug) from one that learns too slowly for the budget (a
    default rate far below the usual one is named), and a copy trained instead of the model."""
    steps = report.get("steps") if type(report) is dict else None
    if steps == 0 and not _optimizers(report):
        elsewhere = report.get("elsewhere") if type(report) is dict else None
        if type(elsewhere) is int and elsewhere > 0:
            return (f"An optimizer stepped {elsewhere} times, but never on the parameters of the model it was "
                    "given: train that model in place (not a copy such as copy.deepcopy(model), nor a new model)")
        return ("No optimizer step updated the model's parameters: build the optimizer on model.parameters() "
                "and call optimizer.step() after loss.backward() for each batch")
    if len(losses) < 2:
        return f"The training loss ended at {losses[-1]:.4f}; is it going down from epoch to epoch?"
    first, last = losses[0], losses[-1]
    trend = f"The training loss went from {first:.4f} to {last:.4f} over {len(losses)} epochs"
    small = None if lr_given else _small_rate(report)
    if small and not last < first - 0.1 * abs(first):
        return (f"{trend}: it barely moves, and your default rate, {small}, is far below the usual one for "
                "this optimizer (SGD 0.01 to 0.1, Adam 1e-3): raise the default learning rate")
    if not last < first - 0.01 * abs(first):
        return (f"{trend}: it does not go down, so the model is not learning. That is a bug rather than the "
                "budget: are the gradients zeroed each step, the loss computed on the model's outputs and "
                "the labels, and optimizer.step() called on the model's parameters?")
    if lr_given:
        return (f"{trend}: it goes down, but too slowly for this budget at the given learning rate. Look at "
                "the model: ReLU activations between layers, no Softmax before the cross-entropy loss, and "
                "enough channels before the last layer train faster under plain SGD")
    return (f"{trend}: it goes down, but too slowly for this budget. Make your loop learn faster here: a "
            "larger default learning rate, momentum (e.g. SGD with momentum=0.9), or Adam")
