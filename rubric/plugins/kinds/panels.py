"""Figures for the reports of cnn_foundations' check kinds: image panels drawn here as PNG bytes."""

import io
import math

import numpy as np


def panel_figure(panels, rows, title):
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=70)
    return buffer.getvalue()
