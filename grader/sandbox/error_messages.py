"""The messages of a student's failure, built from the child's description of it.

Everything the child says is a claim: every field is capped and escaped (grader.text) before it
becomes part of a message, and the message says what the student can do about it.
"""

import re

from grader import text as safe
from grader.loading import missing_message


def _fields(error):
    """The child's (type, message, traceback), each capped and escaped (grader.text)."""
    kind = safe.clean(error.get("type"), "type", multiline=False) or "Exception"
    return kind, safe.clean(error.get("message"), "message"), safe.clean(error.get("traceback"), "traceback").strip()


def import_error_message(error, short=False):
    """The message of an import that failed, from the child's (untrusted) description of it; `short`:
    one line for each check (the full one, with the student's lines, is said once in the load report)."""
    error = error if type(error) is dict else {}
    kind, text, where = _fields(error)
    if kind == "SyntaxError":
        head = "your module has a syntax error"
    elif kind == "SystemExit":
        head = "your module exited during import (it called sys.exit())"
    else:
        head = f"your module raised {kind} while being imported"
    if short:
        at = where.splitlines()[-1].split(":")[0] if where else ""
        return f"{head}{f' at {at}' if at else ''}: {text} (nothing else could run: see the load report)" \
            if text else head
    return _join(head, text, where)


def student_error_message(error, doing, limits, probe="", load_report=None):
    """Turn the child's description of an exception into a message a student can act on.

    Every field is the child's claim, so it is capped and escaped here (grader.text). An answer
    that the probe is unknown is a forgery: the parent sends only probes the sandbox has."""
    error = error if type(error) is dict else {}
    function = safe.clean(error.get("function"), "function", multiline=False)
    subject = f"`{function}`" if function else doing
    if error.get("kind") == "missing":
        defines = error.get("defines") if type(error.get("defines")) is list else []
        defines = [safe.clean(d, "function", multiline=False) for d in defines[:200] if type(d) is str]
        return missing_message(function, defines, load_report)
    if error.get("kind") == "unknown_probe":
        return (f"the sandbox answered that it has no probe {probe!r}, which it does have: the submission "
                f"interfered with the grader's code while running {doing}")
    kind, text, where = _fields(error)
    if kind == "NotImplementedError":
        return f"{subject} is not implemented yet (it raises NotImplementedError)"
    if kind == "MemoryError":
        return f"your code exceeded the {limits.memory_text()} memory limit while running {subject}"
    if kind == "SystemExit":
        return f"{subject} called sys.exit(); a submission must return its result instead"
    message = _join(f"{subject} raised {kind}", text, where)
    undefined = re.match(r"name '(\w+)' is not defined", text) if kind == "NameError" else None
    event = load_report.defined_in(undefined.group(1)) if undefined and load_report else None
    if event is not None:
        message += f"\n(`{undefined.group(1)}` is defined in {event.unit}, which did not run to the end: see the load report)"
    return message


def _join(head, text, where):
    message = f"{head}: {text}" if text else head
    return f"{message}\n{where}" if where else message
