"""Choosing how children are isolated: bubblewrap where it works, else a plain process, loudly."""

from grader.errors import SandboxError
from grader.sandbox import bwrap, launch

CHOICES = ("auto", "bwrap", "process")
NOT_ISOLATED = ("WARNING: this run was NOT isolated: student code ran as a plain process with resource "
                "limits only, able to read what this user can read ({why}). Install bubblewrap for the sandbox.")


def resolve(name):
    """Return ("bwrap" or "process", warnings) for sandbox `name`; 'bwrap' fails clearly when unavailable."""
    if name not in CHOICES:
        raise SandboxError(f"unknown sandbox '{name}' (choose from {', '.join(CHOICES)})")
    if name == "process":
        return "process", (NOT_ISOLATED.format(why="--sandbox process was chosen"),)
    ok, why = bwrap.available()
    if ok:
        return "bwrap", ()
    if name == "bwrap":
        raise SandboxError(f"--sandbox bwrap was asked for, but {why}")
    return "process", (NOT_ISOLATED.format(why=why),)


def choose(name):
    """Return (starter of fresh children, warnings) for sandbox `name`."""
    kind, warnings = resolve(name)
    return (bwrap.start_bwrap if kind == "bwrap" else launch.start_process), warnings
