"""Child-side probes: each calls the student's code in one way and returns plain observations.

A probe never judges. It builds, calls and measures, and returns data for the parent to check.
Probes are named by what they observe; the parent's check kinds choose which to ask for. Every
module of this package is imported on start, so a new probe is one function in a module here,
registered with `@probe("name")`. A course's own probes (grader.plugins) arrive as sources in the
child's plan and are imported by `load_course` as modules of the package `course_probes`.
"""

import importlib
import importlib.abc
import importlib.util
import pkgutil
import sys
import traceback
from pathlib import Path

PROBES = {}
COURSE_PACKAGE = "course_probes"
_loaded = []  # set once every module of this package is imported


class StudentError(Exception):
    """The student's function `function` raised `error`."""

    def __init__(self, function, error):
        super().__init__(function)
        self.function, self.error = function, error


class Missing(Exception):
    """The submission does not define a name the assignment requires."""


def probe(name):
    def register(fn):
        if PROBES.get(name, fn) is not fn:
            raise ValueError(f"probe {name!r} is registered twice ({PROBES[name].__module__} and {fn.__module__})")
        PROBES[name] = fn
        return fn
    return register


class UnknownProbe(Exception):
    """The parent asked for a probe this side does not register: the grader's mistake."""


def names():
    """The names of every registered probe (the parent reads them to validate check kinds)."""
    load_all()
    return set(PROBES)


def run(name, module, args, blobs):
    load_all()
    if type(name) is not str or name not in PROBES:
        raise UnknownProbe(str(name)[:200])
    return PROBES[name](module, args, blobs)


def student(module, name):
    try:
        return getattr(module, name)
    except AttributeError:
        raise Missing(name, getattr(module, "__name__", None)) from None


def call(module, name, *args, **kwargs):
    fn = student(module, name)
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from student code included
        raise StudentError(name, exc) from exc


def describe_error(exc, submission):
    """Plain-data description of a failure, with the traceback lines of the student's file."""
    function = None
    if isinstance(exc, Missing):
        from grader.sandbox.cells import defined_names

        module = sys.modules.get(exc.args[1]) if len(exc.args) > 1 else None
        return {"kind": "missing", "function": str(exc.args[0]), "type": "AttributeError", "message": "",
                "traceback": "", "defines": defined_names(module) if module is not None else []}
    if isinstance(exc, UnknownProbe):
        return {"kind": "unknown_probe", "function": None, "type": "UnknownProbe", "message": str(exc),
                "traceback": ""}
    if isinstance(exc, StudentError):
        function, exc = exc.function, exc.error
    return {
        "kind": "raised",
        "function": function,
        "type": _safe(lambda: type(exc).__name__),
        "message": _safe(lambda: exc.msg if isinstance(exc, SyntaxError) else str(exc))[:500],
        "traceback": _student_traceback(exc, submission),
    }


def _student_traceback(exc, submission):
    """The frames of the student's own code, in the student's coordinates ('cell 3, line 2' or
    'line 57': grader.sandbox.cells), innermost last."""
    from grader.sandbox.cells import where

    try:
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [(where(f.filename, f.lineno), f) for f in frames]
        lines = [f"{at}, in {f.name}: {(f.line or '').strip()}" for at, f in mine if at][-5:]
        if isinstance(exc, SyntaxError) and exc.lineno:
            at = where(exc.filename, exc.lineno) or f"line {exc.lineno}"
            lines.append(f"{at}: {(exc.text or '').strip()}")
        return "\n".join(lines)[:2000]
    except Exception:
        return ""


def _safe(fn):
    try:
        return str(fn())
    except Exception:
        return "<unprintable>"


def native(value):
    """Turn decoded request arguments into what a student function expects (tensors as torch)."""
    import torch

    from grader.sandbox.values import Tensor

    if isinstance(value, Tensor):
        return torch.from_numpy(value.array.copy())
    if isinstance(value, list):
        return [native(v) for v in value]
    if isinstance(value, tuple):
        return tuple(native(v) for v in value)
    if isinstance(value, dict):
        return {k: native(v) for k, v in value.items()}
    return value


def decoded(args, key, blobs):
    """Decode the tagged argument list/dict `key` of a request (absent means empty)."""
    from grader.sandbox.values import decode

    if key not in args:
        return [] if key == "args" else {}
    return native(decode(args[key], blobs))


def load_all():
    """Import every probe module of this package once (they register themselves)."""
    if _loaded:
        return
    _loaded.append(True)
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def load_course(sources, package=COURSE_PACKAGE):
    """Import a course's probe modules from their sources ((file name, text), ...) as modules of
    `package` (each course its own); they may import this package and each other (relatively:
    `from .other import x`). A probe name registered twice is refused (ValueError), as for the
    built-in ones."""
    load_all()
    modules = {f"{package}.{Path(name).stem}": (name, text) for name, text in sources or ()}
    if not modules:
        return
    if package in sys.modules:
        raise ValueError(f"the course probes' package {package!r} is already loaded")
    sys.meta_path.insert(0, _SourceFinder(package, modules))
    for module_name in sorted(modules):
        importlib.import_module(module_name)


class _SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the course's probe modules among the sources given (and their package), nowhere else."""

    def __init__(self, package, modules):
        self.package, self.modules = package, modules

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.package:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if fullname in self.modules:
            return importlib.util.spec_from_loader(fullname, self, origin=self.modules[fullname][0])
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__ == self.package:
            module.__path__ = []
            return
        name, text = self.modules[module.__name__]
        exec(compile(text, f"<course probes {name}>", "exec"), module.__dict__)


def _class_name(value):
    return type(value).__name__


def _short_repr(layer):
    text = _safe(lambda: repr(layer)).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."
