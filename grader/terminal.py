"""What `grader check` prints on a terminal: status colours and the closing summary.

Colour only when the stream is a terminal and `NO_COLOR` is unset (https://no-color.org); the
summary lists the failed public checks by points, most first, each with the first line of its
message (what to fix), so a student starts with what costs most.
"""

import os

COLOURS = {"passed": "32", "failed": "31", "error": "35", "timeout": "33", "pending": "36"}  # ANSI SGR
SUMMARY_ROWS = 10
FIX_WIDTH = 110


def colour_enabled(stream, environ=None):
    """Whether to colour `stream`: a terminal, and NO_COLOR unset (an empty NO_COLOR counts as unset)."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def paint(status, text, enabled):
    """`text` in the colour of `status` (bold for a failure) when `enabled`."""
    if not enabled or status not in COLOURS:
        return text
    bold = "1;" if status in ("failed", "error", "timeout") else ""
    return f"\x1b[{bold}{COLOURS[status]}m{text}\x1b[0m"


def first_line(message, width=FIX_WIDTH):
    """The first non-empty line of a check's message, cut to `width` characters."""
    line = next((line.strip() for line in (message or "").splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def fix_first(result, file_name=None, number=None):
    """Lines of the closing summary: the failed checks of `result`, most points first (none when
    everything passed)."""
    number = number or (lambda v: int(v) if float(v).is_integer() else round(v, 2))
    failed = [c for c in result.checks if c.status in ("failed", "error", "timeout")]
    if not failed:
        return []
    failed.sort(key=lambda c: (-c.max_points, c.id))
    lost = sum(c.max_points - c.points for c in failed)
    lines = [f"To fix first ({len(failed)} failed, {number(lost)} points; most points first):"]
    for check in failed[:SUMMARY_ROWS]:
        fix = first_line(check.message) or check.status
        lines.append(f"  {number(check.max_points):>4} pts  {check.id}: {fix}")
    if len(failed) > SUMMARY_ROWS:
        lines.append(f"  ... and {len(failed) - SUMMARY_ROWS} more above")
    if file_name:
        lines.append(f"Re-run one check: grader check {file_name} --only {failed[0].id}")
    return lines
