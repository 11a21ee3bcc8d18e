"""Helpers that the a3_fashion_classifier check kinds share (no kinds): npz data files for the child,
and the reports of a built model and of a figure."""

import io
from contextlib import contextmanager

import numpy as np

from grader.checks import expect
from grader.checks.figures import png_bytes
from grader.checks.registry import Artifact, Fail
from grader.sandbox import workfiles


@contextmanager
def npz_inputs(ctx, **arrays):
    """An npz file of `arrays` in the child's folder (a new file, safely made), removed afterwards."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    name = workfiles.put(ctx.workdir, ".npz", buffer.getvalue())
    try:
        yield name
    finally:
        workfiles.remove(ctx.workdir, name)


def module_report(report, what):
    """A probe's report of what a factory built, checked to be an nn.Module."""
    report = expect.mapping(report, what, ["class", "is_module"])
    if report["is_module"] is not True:
        raise Fail(f"{what} should return an nn.Module, but it returned a {report['class']}")
    return report


def figure_report(ctx, function, args):
    """Call a plotting function through the figure_axes probe: (axes, report, artifacts) of a Figure."""
    report = ctx.probe("figure_axes", f"`{function}`", call_args=args, function=function)
    report = expect.mapping(report, f"`{function}`", ["class", "is_figure"])
    if report["is_figure"] is not True:
        raise Fail(f"`{function}` should return a matplotlib Figure, but it returned a {report['class']}")
    artifacts = (Artifact("png", ctx.params["title"], png_bytes(report.get("png"))),)
    axes = report.get("axes") if type(report.get("axes")) is list else []
    return [a for a in axes if type(a) is dict], report, artifacts
