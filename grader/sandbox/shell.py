"""Child side: stand-ins for what a notebook kernel gives a cell (`get_ipython()`, `display`).

IPython's input transformations turn `%time x = f()` into `get_ipython().run_line_magic(...)`
and `!ls` into `get_ipython().system('ls')`; when graded there is no kernel, so the stand-in
runs what must run for the cell's names to exist (the code under `%time`, `%%time`, `%%timeit`,
`%%capture`, `%%writefile`'s file) and does nothing for the rest (plots, `%pip`, shell commands),
noting each once. `display(...)` shows nothing. Imports nothing of the parent side.
"""

import shlex
import sys

RUN_LINE = {"time", "timeit", "prun"}  # line magics whose statement runs (once)
RUN_CELL = {"time", "timeit", "prun", "capture", "python", "python3"}  # cell magics whose body runs
QUIET = {"matplotlib", "load_ext", "reload_ext", "autoreload", "aimport", "config", "pinfo", "pinfo2", "who",
         "whos", "precision", "pdb", "xmode", "tb", "history", "psource", "pdoc", "pylab"}  # not worth a note
MAX_NOTES = 20


class ShellOutput(list):
    """What `x = !cmd` gives when graded: no lines (the command does not run)."""

    s = n = p = ""

    @property
    def l(self):  # noqa: E743 - IPython's SList names
        return list(self)

    def grep(self, *args, **kwargs):
        return ShellOutput()

    def fields(self, *args):
        return ShellOutput()


class _Nothing:
    """Answers every attribute and call with itself: a display handle, a widget, `get_ipython().events`."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return None

    def __repr__(self):
        return "<nothing: no notebook kernel when graded>"


class Shell:
    """`get_ipython()` when graded."""

    kernel = None
    config = {}

    def __init__(self, namespace):
        self.user_ns = namespace
        self.cell = None  # the cell running now (set by grader.sandbox.cells)
        self.notes = []

    def __repr__(self):
        return "<grader's stand-in for an IPython shell: magics and shell commands do not run when graded>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Nothing()

    def _note(self, what):
        if len(self.notes) < MAX_NOTES and not any(n["what"] == what for n in self.notes):
            self.notes.append({"cell": self.cell, "what": what[:200]})

    def run_line_magic(self, name, line, _stack_depth=1):
        if name in RUN_LINE:
            return self._run(_statement(name, line), sys._getframe(1).f_lineno - 1, value=True)
        if name not in QUIET:
            self._note(f"%{name} {line}".strip())
        return None

    def run_cell_magic(self, name, line, cell):
        if name in RUN_CELL:
            result = self._run(cell, sys._getframe(1).f_lineno)
            words = line.split()
            if name == "capture" and words and words[-1].isidentifier():
                self.user_ns[words[-1]] = _Nothing()
            return result
        if name == "writefile" and line.strip():
            return self._write(line, cell)
        self._note(f"%%{name} {line}".strip())
        return None

    def magic(self, line):
        name, _, rest = line.lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def system(self, command):
        self._note(f"!{command}")
        return None

    def getoutput(self, command, split=True):
        self._note(f"!{command}")
        return ShellOutput() if split else ""

    def _run(self, code, lines_above, value=False):
        """Run `code` in the notebook's namespace as lines of the current cell."""
        from grader.sandbox import cells

        filename = sys._getframe(2).f_code.co_filename
        padded = "\n" * max(lines_above, 0) + code
        if value:
            try:
                compiled = compile(padded, filename, "eval", cells.compile_flags(), True)
            except SyntaxError:
                compiled = None
            if compiled is not None:
                return eval(compiled, self.user_ns)  # noqa: S307 - the student's own expression
        exec(compile(padded, filename, "exec", cells.compile_flags(), True), self.user_ns)  # noqa: S102
        return None

    def _write(self, line, cell):
        words = shlex.split(line)
        append = words[0] in ("-a", "--append")
        path = words[-1]
        with open(path, "a" if append else "w", encoding="utf-8") as f:
            f.write(cell)
        return None


def _statement(name, line):
    """The statement of `%time STATEMENT` or `%timeit [-n N -r R -o -q] STATEMENT`."""
    words = line.split(" ")
    if name != "time":
        while words and words[0].startswith("-"):
            takes_value = words[0] in ("-n", "-r", "-p", "-l", "-T", "-D", "-s")
            words = words[2:] if takes_value else words[1:]
    return " ".join(words).strip()


def display(*objects, **kwargs):
    """`display(df)` when graded: nothing is shown; with `display_id` a handle that does nothing."""
    return _Nothing() if kwargs.get("display_id") else None


def notebook_globals(stand_in):
    """The names a notebook kernel defines for every cell."""
    return {"get_ipython": lambda: stand_in, "display": display, "In": [""], "Out": {}}
