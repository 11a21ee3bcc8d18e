"""What happened while a submission loaded, said once, in the student's terms (the `load` section).

The child runs a notebook cell by cell (a script statement by statement) and reports each unit
that did not run to its end; the parent adds the cells it chose not to run (skip tags) and, when
nothing could run at all, why. Everything from the child is a claim: each field is type-checked,
capped and escaped here (grader.text) before it reaches a terminal, results.json or a report.
"""

import difflib
from dataclasses import dataclass, field

from grader import text as safe

MAX_EVENTS = 200
ADVICE = ("code at the top level runs when graded: move downloads and training under "
          "`if __name__ == \"__main__\":` or into a function")
STATUSES = ("raised", "syntax", "interrupted", "skipped")


@dataclass(frozen=True)
class Event:
    """One cell (or top-level statement) that did not run to its end, or was not run."""

    cell: int | None  # the notebook's cell number; None for a script
    line: int  # its first line (a script's: in the file)
    first_line: str
    status: str  # raised | syntax | interrupted | skipped
    error: str = ""  # "NameError: name 'x' is not defined", or why it was skipped
    where: str = ""  # the innermost line of the student's code: "cell 3, line 2" or "line 57"
    seconds: float = 0.0
    network: bool = False
    package: str = ""  # the package a failed import asked for
    binds: tuple = ()  # the names it would have defined
    at_line: int = 0  # the unit's own line that was running (in its cell, or in the file)
    at_text: str = ""  # that line, as the student wrote it

    @property
    def unit(self):
        return f"cell {self.cell}" if self.cell is not None else f"line {self.line}"

    def describe(self):
        """One line: the unit, its first line, what happened and what to do."""
        head = f"{self.unit} `{self.first_line}`" if self.first_line else self.unit
        if self.status == "skipped":
            return f"{head}: not run ({self.error})"
        if self.status == "interrupted":
            return (f"{head}: interrupted after {self.seconds:g} s, the time a cell may run when graded "
                    f"({self._at()}); {ADVICE}")
        what = "has a syntax error:" if self.status == "syntax" else "raised"
        error = self.error if len(self.error) <= 300 else self.error[:297] + "..."
        line = f"{head}: {what} {error} ({self._at()})"
        if self.package:
            line += f"; `{self.package}` is not installed where your code is graded: do without it, or import it " \
                    "only inside the function that needs it"
        elif self.network:
            line += f"; the grader has no internet, and {ADVICE}"
        elif self.error.startswith("SystemExit"):
            line += "; do not call sys.exit() or exit() in a submission"
        return line

    def _at(self):
        """Where: the unit's own line that ran (and its code when it is not the first line), then the
        innermost line of the student's code when that is elsewhere ('via cell 7, line 5')."""
        own = f"line {self.at_line or self.line}"
        if self.at_text and self.at_text != self.first_line:
            own += f" `{self.at_text}`"
        mine = f"cell {self.cell}, line {self.at_line}" if self.cell is not None else f"line {self.at_line}"
        return own if not self.where or self.where == mine else f"{own}, via {self.where}"

    def to_json(self):
        return {"cell": self.cell, "line": self.line, "first_line": self.first_line, "status": self.status,
                "error": self.error, "where": self.where, "seconds": self.seconds, "network": self.network,
                "package": self.package}


@dataclass(frozen=True)
class LoadReport:
    """The `load` section: the file handed in, what did not run, notes, or why nothing could run."""

    file: str
    kind: str  # notebook | script
    events: tuple = ()
    notes: tuple = ()  # shell commands and magics that were not run
    problem: str = ""  # set when the submission could not be run at all
    unreadable: bool = False  # the file itself could not be read as a submission (nothing was started)
    detail: str = field(default="", compare=False)  # the problem's lines of code, when there are any

    @property
    def ok(self):
        return not self.problem

    def lines(self):
        """The banner, one line an item; empty when there is nothing to say."""
        name = safe.inline(self.file, "name")
        if self.problem:
            head = "Cannot grade" if self.unreadable else "Could not load"
            return [f"{head} {name}: {self.problem}"] + [f"  {line}" for line in self.detail.splitlines()]
        out = []
        if self.events:
            ran = "the other cells ran" if self.kind == "notebook" else "the rest of the file ran"
            out.append(f"Loading {name}: {len(self.events)} {self._units()} did not run to the end ({ran}):")
            out += [f"  {event.describe()}" for event in self.events]
        if self.notes:
            out.append("Not run when graded (shell commands and magics): " + "; ".join(self.notes))
        return out

    def _units(self):
        many = len(self.events) != 1
        return ("cells" if many else "cell") if self.kind == "notebook" else ("statements" if many else "statement")

    def defined_in(self, name):
        """The event of the unit that would have defined `name`, if one did."""
        return next((e for e in self.events if name in e.binds and e.status != "skipped"), None) or \
            next((e for e in self.events if name in e.binds), None)

    def to_json(self):
        return {"file": self.file, "kind": self.kind, "ok": self.ok, "problem": self.problem,
                "events": [e.to_json() for e in self.events], "notes": list(self.notes),
                "advice": ADVICE if any(e.status == "interrupted" or e.network for e in self.events) else "",
                "banner": self.lines()}


def from_child(load, first_lines=None):
    """(events, notes) from the child's untrusted `load` value; `first_lines` maps a notebook's
    cell numbers to their first lines as the parent read them."""
    load = load if type(load) is dict else {}
    raw = load.get("events") if type(load.get("events")) is list else []
    events = []
    for item in raw[:MAX_EVENTS]:
        if type(item) is not dict or item.get("status") not in STATUSES[:3]:
            continue
        cell = item.get("cell") if type(item.get("cell")) is int else None
        line = item.get("line") if type(item.get("line")) is int else 0
        first = safe.clean((first_lines or {}).get(cell) if cell is not None else item.get("first_line"), "line", False)
        message = item.get("message") if type(item.get("message")) is str else ""
        lines = message.strip().splitlines() or [""]
        message = lines[0] + (" ..." if len(lines) > 1 else "")  # one line: the rest is in the printed output
        kind, message = safe.clean(item.get("type"), "type", False), safe.clean(message, "message", False)
        binds = item.get("binds") if type(item.get("binds")) is list else []
        seconds = item.get("seconds") if type(item.get("seconds")) in (int, float) else 0.0
        events.append(Event(cell, line, first or "", item["status"], f"{kind}: {message}" if message else kind,
                            safe.clean(item.get("where"), "function", False), float(seconds),
                            item.get("network") is True, safe.clean(item.get("package"), "function", False),
                            tuple(safe.clean(b, "function", False) for b in binds[:50] if type(b) is str),
                            item.get("at_line") if type(item.get("at_line")) is int else 0,
                            safe.clean(item.get("at_text"), "function", False)))
    raw_notes = load.get("notes") if type(load.get("notes")) is list else []
    notes = []
    for note in raw_notes[:20]:
        if type(note) is dict and type(note.get("what")) is str:
            where = f"cell {note['cell']} " if type(note.get("cell")) is int else ""
            notes.append(f"{where}`{safe.clean(note['what'], 'function', False)}`")
    return tuple(events), tuple(notes)


def skipped(cells):
    """Events for the notebook cells the parent does not run (tagged, or marked in their first line)."""
    return tuple(Event(c.number, c.offset + 1, safe.inline(c.first_line), "skipped", safe.inline(c.skip, "message"))
                 for c in cells if c.skip)  # the student's text, escaped for the terminal like the child's


def missing_message(name, defines, report):
    """`name` is not defined: where it would have been, or what the module defines instead."""
    event = report.defined_in(name) if report else None
    if event is not None:
        what = "is not run when graded" if event.status == "skipped" else \
            "has a syntax error" if event.status == "syntax" else \
            "was interrupted" if event.status == "interrupted" else "raised"
        detail = f" ({event.error})" if event.status == "skipped" else f" {event.error}" if event.error and \
            event.status != "interrupted" else ""
        return f"`{name}` is defined in {event.unit} `{event.first_line}`, which {what}{detail}; so `{name}` " \
               "was never defined (see the load report above)"
    message = f"your module does not define `{name}`"
    if defines:
        close = difflib.get_close_matches(name, defines, n=3, cutoff=0.5)
        ordered = close + [d for d in defines if d not in close]
        shown = ", ".join(f"`{d}`" for d in ordered[:8]) + (", ..." if len(ordered) > 8 else "")
        message += f"; it defines {shown}"
    else:
        message += "; it defines no function, class or constant"
    failed = [e for e in (report.events if report else ()) if e.status != "skipped"]
    if failed:
        units = ", ".join(e.unit + (" (a syntax error)" if e.status == "syntax" else "") for e in failed[:4])
        more = f" and {len(failed) - 4} more" if len(failed) > 4 else ""
        message += f"; {units}{more} did not run to the end: see the load report"
    return message


def from_json(value):
    """A LoadReport from its to_json() form written by someone else (a Dask worker): every field
    type-checked, capped and escaped as the child's claims are; None when there is none."""
    if type(value) is not dict or type(value.get("file")) is not str or value.get("kind") not in ("notebook", "script"):
        return None
    raw = value.get("events") if type(value.get("events")) is list else []
    events = []
    for item in raw[:MAX_EVENTS]:
        if type(item) is not dict or item.get("status") not in STATUSES:
            continue
        cell, line, seconds = item.get("cell"), item.get("line"), item.get("seconds")
        events.append(Event(cell if type(cell) is int else None, line if type(line) is int else 0,
                            safe.clean(item.get("first_line"), "line", False), item["status"],
                            safe.clean(item.get("error"), "message", False), safe.clean(item.get("where"), "function", False),
                            float(seconds) if type(seconds) in (int, float) and seconds >= 0 else 0.0,
                            item.get("network") is True, safe.clean(item.get("package"), "function", False)))
    notes = value.get("notes") if type(value.get("notes")) is list else []
    return LoadReport(safe.clean(value["file"], "name", False), value["kind"], tuple(events),
                      tuple(safe.clean(n, "function", False) for n in notes[:20] if type(n) is str),
                      safe.clean(value.get("problem"), "message", False))
