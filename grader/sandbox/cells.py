"""Child side: run a submission as a notebook kernel would, one cell (or top-level statement) at a time.

Each unit is compiled on its own, under its student coordinates (`<cell N>` for a notebook's
cell N, the file's own lines for a script), with the `from __future__` features of the units
before it, and runs in the one module namespace under a time budget: past it, the unit is
interrupted with KeyboardInterrupt, as Jupyter interrupts a kernel. A unit that raises is
recorded (where, the error in one line, the names it would have bound) and skipped; the next
runs. What is recorded goes to the parent with the "ready" message, as plain data to validate.
Imports nothing of the parent side of the grader (CHILD_RUNTIME in grader/sandbox/bwrap.py).
"""

import __future__
import ast
import importlib.util
import json
import linecache
import os
import re
import signal
import sys
import time
import types

from grader.sandbox import shell

DEFAULT_CELL_SECONDS = 20.0
RESERVE_SECONDS = 3.0  # kept back from the import's wall clock for the probes' start and the answer
MIN_CELL_SECONDS = 0.5
FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
NETWORK_TYPES = {"ConnectionError", "URLError", "gaierror", "MaxRetryError", "NewConnectionError",
                 "NameResolutionError", "ConnectTimeout", "ConnectTimeoutError", "SSLError"}
NETWORK_TEXT = re.compile(r"name resolution|Name or service not known|Network is unreachable|"
                          r"Error downloading|urlopen error|Max retries exceeded|getaddrinfo", re.I)
MAGIC_LINE = re.compile(r"^[ \t]*[%!].*$", re.M)
SHELL_VALUE = re.compile(r"=[ \t]*[!%].*$", re.M)
_CELLS = {}  # compiled file name -> cell number, for every cell of this submission
_future = 0  # the __future__ features in force: those of every unit compiled so far
_SCRIPT = {"path": None}  # the script file, when the submission is one


class _Alarm:
    armed = False
    fired = False


def where(filename, lineno):
    """'cell 3, line 2' or 'line 57' for code of the submission; None for anything else."""
    if filename in _CELLS:
        return f"cell {_CELLS[filename]}, line {lineno}"
    if filename and filename == _SCRIPT["path"]:
        return f"line {lineno}"
    return None


def load(path, module_name, plan=None):
    """Run the submission: the notebook cells of `plan` (the parent's, grader.staging.Staged.plan),
    or else the script at `path`; returns (module, load report). Raises only when nothing can run
    (a script that does not parse)."""
    started = time.monotonic()
    plan = plan if type(plan) is dict else {}
    cell_seconds = float(plan.get("cell_seconds") or DEFAULT_CELL_SECONDS)
    load_seconds = plan.get("load_seconds")
    deadline = started + float(load_seconds) if load_seconds else None
    if type(plan.get("deadline")) in (int, float):  # the parent's own, which started before this interpreter did
        deadline = float(plan["deadline"])
    deadline = deadline - RESERVE_SECONDS if deadline is not None else None
    if plan.get("kind") == "notebook":
        module, units = _notebook(plan["cells"], module_name)
    else:
        module, units = _script(os.path.abspath(path), module_name)
    sys.modules[module_name] = module
    namespace = module.__dict__
    namespace.setdefault("__builtins__", __builtins__)
    stand_in = shell.Shell(namespace)
    for name, value in shell.notebook_globals(stand_in).items():
        namespace.setdefault(name, value)
    events = []
    for unit in units:
        budget = cell_seconds if deadline is None else max(MIN_CELL_SECONDS, min(cell_seconds, deadline - time.monotonic()))
        stand_in.cell = unit["cell"]
        event = _run_unit(unit, namespace, budget)
        if event:
            events.append(event)
    notes = [n for n in list(stand_in.notes)[:20] if type(n) is dict]  # the submission may have changed them
    return module, json.loads(json.dumps({"events": events, "notes": notes}, default=str))


def _notebook(cells, module_name):
    module = types.ModuleType(module_name)
    units = []
    for cell in cells:
        number, source, offset = int(cell["cell"]), str(cell["source"]), int(cell.get("offset", 0))
        filename = f"<cell {number}>"
        _CELLS[filename] = number
        shown = "\n" * offset + str(cell.get("text", source))  # as the student wrote it, for tracebacks
        linecache.cache[filename] = (len(shown), None, shown.splitlines(keepends=True), filename)
        units.append({"cell": number, "source": "\n" * offset + source, "shown": shown, "filename": filename,
                      "line": offset + 1, "tree": None})
    return module, units


def _script(path, module_name):
    """The script's top-level statements as units; a file that does not parse raises SyntaxError."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    _SCRIPT["path"] = path
    with open(path, "rb") as f:
        data = f.read()
    tree = ast.parse(data, path)
    units = [{"cell": None, "source": None, "filename": path, "line": node.lineno, "tree": node} for node in tree.body]
    lines = data.decode("utf-8-sig", "replace").splitlines()
    for unit in units:
        unit["first_line"] = lines[unit["line"] - 1].strip()[:120] if unit["line"] <= len(lines) else ""
    return module, units


def _run_unit(unit, namespace, budget):
    """Compile and run one unit; None when it ran to the end, else the record of what happened."""
    global _future
    started = time.monotonic()
    try:
        if unit["tree"] is not None:
            code = compile(ast.Module([unit["tree"]], []), unit["filename"], "exec", _future, True)
        else:
            code = compile(unit["source"], unit["filename"], "exec", _future, True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as exc:
        return _record(unit, exc, "syntax" if isinstance(exc, SyntaxError) else "raised", 0.0)
    _future |= code.co_flags & FUTURE_FLAGS
    try:
        run_timed(code, namespace, budget)
    except BaseException as exc:  # noqa: BLE001 - anything a cell raises is recorded, as Jupyter shows it
        interrupted = _Alarm.fired and isinstance(exc, KeyboardInterrupt)
        return _record(unit, exc, "interrupted" if interrupted else "raised", time.monotonic() - started, budget)
    return None


def compile_flags():
    return _future


def run_timed(code, namespace, seconds):
    """exec(code, namespace), interrupted with KeyboardInterrupt after `seconds` (and every second
    after that, should the code catch it)."""
    previous = signal.signal(signal.SIGALRM, _interrupt)
    _Alarm.fired, _Alarm.armed = False, True
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01), 1.0)
    try:
        exec(code, namespace)  # noqa: S102 - the student's cell, inside the sandbox
    finally:
        _Alarm.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _interrupt(signum, frame):
    """Interrupt the cell, unless it is importing a module: a module left half imported would break
    every later cell that uses it, so the interrupt waits for the import to end (the timer fires
    again every second; the import's wall clock still bounds it all)."""
    if not _Alarm.armed or _importing(frame):
        return
    _Alarm.fired = True
    raise KeyboardInterrupt("interrupted: the cell ran past its time budget")


def _importing(frame):
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _record(unit, exc, status, seconds, budget=0.0):
    """Plain data on a unit that did not run to its end."""
    line, at = unit["line"], None
    location = where(getattr(exc, "filename", None), getattr(exc, "lineno", None)) if status == "syntax" else None
    if location is None:
        frames = _student_frames(exc)
        location = frames[-1][0] if frames else (f"cell {unit['cell']}" if unit["cell"] else f"line {line}")
        at = next((f for f in frames if f[1] == unit["filename"]), None)  # the unit's own line that was running
    elif getattr(exc, "lineno", None):
        at = (location, unit["filename"], exc.lineno)
    return {
        "cell": unit["cell"], "line": line, "first_line": unit.get("first_line", ""), "status": status,
        "at_line": at[2] if at else line, "at_text": linecache.getline(unit["filename"], at[2]).strip()[:120] if at else "",
        "type": _text(lambda: type(exc).__name__),
        "message": _text(lambda: exc.msg if isinstance(exc, SyntaxError) else str(exc))[:500],
        "where": location, "seconds": round(budget if status == "interrupted" else seconds, 2),
        "network": _is_network(exc), "package": _missing_package(exc), "binds": sorted(bound_names(unit))[:50],
    }


def _student_frames(exc):
    """(where, file name, line) of each frame of the student's code in the traceback, outermost first."""
    out, tb = [], exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        location = where(filename, tb.tb_lineno)
        if location:
            out.append((location, filename, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _is_network(exc):
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in NETWORK_TYPES or NETWORK_TEXT.search(_text(lambda: str(exc))):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _missing_package(exc):
    if isinstance(exc, ModuleNotFoundError) and type(exc.name) is str:
        return exc.name.split(".")[0]
    return ""


def bound_names(unit):
    """The names a unit binds at its top level (defs, classes, assignments, imports); for code that
    does not parse, those of its `def`, `class` and `NAME =` lines."""
    tree = unit["tree"]
    if tree is None:
        text = MAGIC_LINE.sub("", SHELL_VALUE.sub("= None", unit["shown"]))  # as written, magics left out
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            found = re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)|^(\w+)\s*(?::[^=]*)?=(?!=)", text, re.M)
            return {a or b for a, b in found}
    names = set()
    _binds(tree.body if isinstance(tree, ast.Module) else [tree], names)
    return names


def _binds(body, names):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*")
        elif isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith)):
            for target in [getattr(node, "target", None)] + [i.optional_vars for i in getattr(node, "items", [])]:
                if target is not None:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            inner = getattr(node, "body", []) + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
            for handler in getattr(node, "handlers", []):
                inner = inner + handler.body
            _binds(inner, names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))


def defined_names(module):
    """What the submission defines that a check could ask for: its own functions and classes, and
    its upper-case constants."""
    out = []
    for name, value in list(vars(module).items()):
        if name.startswith("_"):
            continue
        own = isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == module.__name__
        if own or (name.isupper() and isinstance(value, (int, float, str, tuple, list, dict))):
            out.append(name)
    return sorted(out)[:200]


def _text(fn):
    try:
        return str(fn())
    except Exception:  # noqa: BLE001
        return "<unprintable>"
