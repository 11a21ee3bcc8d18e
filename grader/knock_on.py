"""Knock-on failures point at their cause. A check whose subject uses another check's subject
says so in the rubric (`builds_on: [output_size]`: convolve2d sizes its result with
conv_output_size; the checks it names come before it). When it fails while one of those failed
too, its message ends by naming that check, so the student fixes the cause first instead of
hunting in the wrong function."""

from dataclasses import replace

FAILING = ("failed", "error", "timeout")


def annotated(check, result, earlier):
    """`result` of `check`, its message pointing at the failed checks among `earlier` (this run's
    results so far) that the check builds on."""
    causes = [r for r in earlier if r.id in check.builds_on and r.status in FAILING]
    if result.status not in FAILING or not causes:
        return result
    named = "; ".join(f"{c.id} ({c.title})" for c in causes)
    return replace(result, message=f"{result.message}\nThis check builds on {named}, which failed too: fix that "
                                   "first, and this one may pass with it.")
