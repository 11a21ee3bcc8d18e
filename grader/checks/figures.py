"""Check kind for a plotting function: a Figure with enough titled image panels; PNG to the report."""

import io

import numpy as np
from PIL import Image

from grader.checks import expect
from grader.checks.registry import Artifact, Fail, Param, Verdict, check_kind, positive
from grader.sandbox.values import Tensor

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 4_000_000


@check_kind("figure", probes=("figure",),
            function=Param((str,)),
            input=Param((str,), default="edge_image", doc="what to pass: 'edge_image' (a (28, 28) picture) or 'none'"),
            panels=Param((int,), default=3, validate=positive),
            title=Param((str,), default="figure"))
def figure(ctx):
    """The function returns a matplotlib Figure with at least `panels` image panels, each titled."""
    p = ctx.params
    args = [Tensor(picture())] if p["input"] == "edge_image" else []
    report = ctx.probe("figure", f"`{p['function']}`", call_args=args, function=p["function"])
    report = expect.mapping(report, f"`{p['function']}`", ["class", "is_figure"])
    if report["is_figure"] is not True:
        raise Fail(f"`{p['function']}` should return a matplotlib Figure, but it returned a {report['class']}")
    png = png_bytes(report.get("png"))
    artifacts = (Artifact("png", p["title"], png),)
    axes = report.get("axes") if type(report.get("axes")) is list else []
    panels = [a for a in axes if type(a) is dict and type(a.get("images")) is int and a["images"] > 0]
    if len(panels) < p["panels"]:
        raise Fail(f"the figure should show {p['panels']} images side by side (the image and both maps), "
                   f"but it has {len(panels)} panel(s) with an image (use imshow)", artifacts)
    untitled = [i for i, a in enumerate(panels) if not (type(a.get("title")) is str and a["title"].strip())]
    if untitled:
        raise Fail(f"every panel needs a title; panel(s) {', '.join(str(i + 1) for i in untitled)} have none", artifacts)
    titles = ", ".join(repr(a["title"]) for a in panels)
    return Verdict(True, f"{len(panels)} titled panels: {titles}", artifacts)


def picture(size=28):
    """A greyscale test picture with edges in both directions: a bright square on a soft gradient."""
    image = np.tile(np.linspace(0.0, 0.3, size, dtype=np.float32), (size, 1))
    image[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1.0
    return image


def png_bytes(value):
    """PNG bytes from the child, verified to be a readable image of sane size."""
    data = expect.array(value, "the rendered figure", ndim=1, allow_tensor=False)
    raw = data.astype(np.uint8).tobytes()
    if not raw.startswith(PNG_SIGNATURE):
        raise Fail("the figure could not be rendered as PNG")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Fail("the figure is too large to show")
            image.verify()
    except Fail:
        raise
    except Exception:
        raise Fail("the figure could not be rendered as PNG") from None
    return raw
