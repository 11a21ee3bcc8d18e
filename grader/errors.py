"""One exception tree for everything the grader refuses; each carries its CLI exit code.

Exit codes of every command: 0 success, 1 failed checks (or items that do not hold), 2 a usage
or set-up error (any GraderError: printed as one `Error: ...` line), 130 interrupted (Ctrl-C).
"""

import difflib

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class GraderError(Exception):
    """A problem the user can fix (bad input, missing set-up). Printed as `Error: ...`."""

    exit_code = 2


class RubricError(GraderError):
    """The rubric file is invalid: names the file, the check id and what is wrong."""

    def __init__(self, path, check_id, problem, line=None, column=None):
        self.path, self.check_id, self.problem = str(path), check_id, problem
        self.line, self.column = line, column
        if line is not None:  # file:line:column, as editors and terminals link it
            super().__init__(f"invalid rubric {self.path}:{line}:{column or 1}: {problem}")
            return
        where = f"check '{check_id}'" if check_id else "top level"
        super().__init__(f"invalid rubric {self.path}, {where}: {problem}")


def did_you_mean(word, choices, what="one"):
    """` (did you mean X or Y?)` with the choices closest to `word`, else ` (known: A, B, ...)`
    for a short list and nothing for a long one: never a list of dozens."""
    close = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=0.6)
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    choices = sorted(choices)
    return f" ({what}: {', '.join(choices)})" if 0 < len(choices) <= 12 else ""


class SubmissionError(GraderError):
    """A submission file cannot be read or turned into a module (not the student's code failing)."""


class DataError(GraderError):
    """A data set the rubric needs is not available; says how to get it."""


class SandboxError(GraderError):
    """The sandbox could not be started (set-up problem, not the student's fault)."""


def output_file(path, option):
    """Refuse, before anything runs, an output file that cannot be written: a folder, a path
    under a file, or a folder where nothing can be created. `-` (stdout) is always fine."""
    from pathlib import Path

    if path in (None, "-"):
        return
    path = Path(path)
    if path.is_dir():
        raise GraderError(f"{option} {path} is a folder; give a file name")
    output_folder(path.parent, option, shown=path)


def output_folder(path, option, shown=None):
    """Make folder `path` (and its parents) and prove it writable with a probe file, or refuse
    in one line naming the option; used for --out before a batch starts, not 15 s into it."""
    import tempfile
    from pathlib import Path

    path, shown = Path(path), shown if shown is not None else path
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise GraderError(f"{option} {shown}: {parent} is a file, not a folder")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".grader-write-test-"):
            pass
    except OSError as exc:
        raise GraderError(f"{option} {shown}: cannot write there ({exc.strerror or exc})") from None


def require_module(name, message):
    """Refuse in one line when optional dependency `name` is not installed (e.g. Dask's
    `distributed`, an extra of the package)."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        raise GraderError(message)
