"""The report's loss curve as inline SVG, with honest axes: labelled ticks at round values with as
many digits as they need to differ, the data's range stated under the chart, and a y-axis at least
a tenth of the values' size tall, so a curve that barely moves (2.3042 -> 2.3036) is drawn flat
instead of stretched into a steep descent."""

import html
import math

MIN_RELATIVE_SPAN = 0.1  # the y-axis spans at least this fraction of the largest |value|


def _nice_step(span, ticks=5):
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over `span`."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def y_axis(values):
    """(bottom, top, ticks, decimals) of the y-axis of `values` (finite floats, at least one)."""
    low, high = min(values), max(values)
    span = max(high - low, MIN_RELATIVE_SPAN * max(abs(low), abs(high))) or 1.0
    middle = (low + high) / 2
    low, high = min(low, middle - span / 2), max(high, middle + span / 2)
    step = _nice_step(high - low)
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    ticks = [bottom + i * step for i in range(round((top - bottom) / step) + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return bottom, top, ticks, decimals


def _x_ticks(count):
    step = 1 if count <= 12 else _nice_step(count - 1, ticks=6)
    ticks = list(range(1, count + 1, max(1, int(step))))
    return ticks if ticks[-1] == count else ticks + [count]


def _number(value, decimals):
    return f"{value:.{decimals}f}"


def curve_svg(values, width=460, height=210, left=58, right=16, top=14, bottom=52):
    """A line chart of `values` (one point an epoch) with labelled ticks on both axes and the
    range of the values stated; '' for no values, a note for values that are not finite."""
    values = [float(v) for v in values]
    if not values:
        return ""
    if not all(math.isfinite(v) for v in values):
        return '<p class="curve-note">the loss is not a finite number in every epoch (nan or inf)</p>'
    y_low, y_high, y_ticks, decimals = y_axis(values)
    plot_w, plot_h = width - left - right, height - top - bottom
    x_of = lambda epoch: left + (epoch - 1) / max(len(values) - 1, 1) * plot_w  # noqa: E731
    y_of = lambda v: top + (y_high - v) / (y_high - y_low) * plot_h  # noqa: E731
    parts = [f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
             f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>']
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
                     f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{_number(tick, decimals)}</text>')
    for epoch in _x_ticks(len(values)):
        x = x_of(epoch)
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 15}" text-anchor="middle">{epoch}</text>')
    points = [(x_of(i + 1), y_of(v)) for i, v in enumerate(values)]
    parts.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
    digits = decimals + 2
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>epoch {i + 1}: {v:.{digits}f}</title></circle>'
              for i, ((x, y), v) in enumerate(zip(points, values))]
    change = values[-1] - values[0]
    relative = f" ({change / abs(values[0]):+.1%})" if values[0] else ""
    stated = (f"range {_number(min(values), digits)} to {_number(max(values), digits)}; "
              f"first to last epoch {change:+.{digits}f}{relative}")
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 29}" text-anchor="middle">epoch</text>'
                 f'<text class="range" x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                 f'{html.escape(stated)}</text>')
    label = f"one value an epoch, from {values[0]:.{digits}f} to {values[-1]:.{digits}f}"
    return (f'<svg class="curve" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">'
            + "".join(parts) + "</svg>")
