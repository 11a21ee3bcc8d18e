"""Student text made safe to show: capped in length and with its control characters escaped.

Everything a submission chooses (the fields of an error its code raised, what it printed, the
name of its file) reaches the TA's terminal, results.json, report.html, gradescope.json and
log.txt. The child cannot be trusted to cap or clean it, so the parent does, here, before any
output: a C0 or C1 control character (newline and tab kept only in multi-line text), DEL, a
Unicode bidi control, a line or paragraph separator and a lone surrogate are shown escaped
(`\\x1b`, `\\u202e`), so no terminal escape sequence (colours, OSC 52 clipboard writes, cursor
moves), no reordered text and no forged line survives; and every field has a length cap.
Escaping is idempotent: the escaped form is plain printable ASCII.
"""

import re
import shlex

# Caps in characters, after escaping (a cut field ends with a note saying how much was cut).
CAPS = {
    "type": 100,  # an exception's class name
    "function": 200,  # the name of a student function
    "message": 2_000,  # an exception's message
    "traceback": 4_000,  # the student's lines of a traceback
    "name": 300,  # a file or submission name
    "check_message": 8_000,  # a check's whole message (head, message and traceback)
    "output": 64_000,  # everything the submission printed, over all its children
    "line": 2_000,  # one line of the grader's own terminal output that quotes a name
}

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE_INLINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + "\ud800-\udfff]")
_UNSAFE_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + "\ud800-\udfff]")


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text, multiline=False):
    """`text` with every unsafe character escaped (newline and tab kept when `multiline`)."""
    return (_UNSAFE_BLOCK if multiline else _UNSAFE_INLINE).sub(_escape, text)


def cap(text, limit):
    """`text` cut to at most `limit` characters, the cut said at its end."""
    return text if len(text) <= limit else _cut(text, limit, len(text))


def _cut(text, limit, total):
    note = f" [... cut: {total} characters in all]"
    return (text[:max(limit - len(note), 0)] + note)[:limit]


def clean(value, field, multiline=True):
    """A child-supplied `value` made safe for field `field` (a key of CAPS): non-text becomes ""."""
    if type(value) is not str:
        return ""
    limit = CAPS[field]
    text = escape(value[:limit * 2], multiline)  # cut first: a 10 MB message costs no more than a short one
    if len(text) <= limit and len(value) <= limit * 2:
        return text
    return _cut(text, limit, len(value))


def inline(value, field="line"):
    """One line: newlines and tabs escaped too."""
    return clean(str(value), field, multiline=False)


def block(value, field="check_message"):
    """Multi-line text: newlines and tabs kept, everything else unsafe escaped."""
    return clean(str(value), field, multiline=True)


def name(value):
    """A file or submission name for log lines: its repr (quotes, escapes), capped."""
    return cap(escape(repr(str(value))), CAPS["name"])


def command(*words):
    """A shell command line with each word quoted (shlex), then made safe to display."""
    return inline(" ".join(shlex.quote(str(w)) for w in words), "line")
