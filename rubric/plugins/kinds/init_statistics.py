"""Check kinds of cnn_foundations' weight initialisation, judged from the statistics of the weights it leaves.

- `init_statistics`: the child returns the weights after
  `init_weights`; the parent computes their bounds, spread and shape of distribution.
"""

import math

import numpy as np

from grader.checks import expect
from grader.checks.registry import Fail, Param, Verdict, check_kind

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
    report = ctx.probe("init_parameters", f"`{function}`", function=function, scheme=scheme, layers=layers,
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


@check_kind("init_statistics", probes=("init_parameters",),
            function=Param((str,), default="init_weights"),
            scheme=Param((str,), validate=lambda v: None if v in ("uniform", "normal")
                         else "must be uniform or normal"),
            tolerance=Param((float,), default=0.05, doc="relative tolerance of the spread (std) and mean"),
            layers=Param((list,), default=[["conv", 16, 32, 5], ["linear", 1000, 500]], validate=_valid_layers))
def init_statistics(ctx):
    """After `init_weights(model, scheme)` on the grader's model (weights and biases set to
    constants before), every layer's weights are spread as U(-y, y) or N(0, y) with
    y = 1/sqrt(fan_in) and every bias is 0; the statistics are computed here."""
    p = ctx.params
    params = _init_params(ctx, p["function"], p["scheme"], p["layers"])
    call = f"`{p['function']}(model, \"{p['scheme']}\")`"
    notes = [_layer_statistics(params, layer, p["scheme"], p["tolerance"], call) for layer in _layer_table(p["layers"])]
    return Verdict(True, f"{p['scheme']} with y = 1/sqrt(fan_in), biases 0: " + "; ".join(notes))


def _initialised_weights(params, layer, call):
    """One layer's weights (float64, flat) once they are shown to be re-initialised: same shapes,
    changed, not constant, and biases 0."""
    what, w_name, w_shape, b_name, _, _ = layer
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
    return w


def _layer_statistics(params, layer, scheme, tol, call):
    """Fail unless one layer's weights are spread as `scheme` with y = 1/sqrt(fan_in) (within
    `tol`, widened for sampling noise); returns a note of its statistics."""
    what, _, _, _, fan_in, mistakes = layer
    w = _initialised_weights(params, layer, call)
    y = 1 / math.sqrt(fan_in)
    mean, std, top = float(w.mean()), float(w.std()), float(np.abs(w).max())
    # sampling noise of a small layer widens the tolerances (5 standard errors at least)
    mean_tol, std_tol = max(tol, 5 / math.sqrt(w.size)) * y, max(tol, 5 / math.sqrt(2 * w.size))
    share_tol = max(0.03, 5 * math.sqrt(0.6827 * 0.3173 / w.size))
    where = f"the {what} (fan-in {fan_in}, so y = 1/sqrt({fan_in}) = {y:.4g})"
    if abs(mean) > mean_tol:
        raise Fail(f"the weights of {where} have mean {mean:.4g}; both schemes are centred on 0")
    if scheme == "uniform":
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
    return f"{what}: mean {mean:+.2g}, std {std:.4g}, max |w| {top:.4g}"
