"""Choosing how children are isolated: bubblewrap where it works, else a plain process, loudly."""

from grader.errors import SandboxError
from grader.sandbox import bwrap, launch

CHOICES = ("auto", "bwrap", "process")
NOT_ISOLATED = ("WARNING: this run was NOT isolated: student code ran as a plain process with resource "
                "limits only, able to read what this user can read ({why}). Install bubblewrap for the sandbox.")


def choose(name):
    """Return (starter, warnings) for sandbox `name`; 'bwrap' fails clearly when unavailable."""
    if name not in CHOICES:
        raise SandboxError(f"unknown sandbox '{name}' (choose from {', '.join(CHOICES)})")
    if name == "process":
        return launch.start_process, (NOT_ISOLATED.format(why="--sandbox process was chosen"),)
    ok, why = bwrap.available()
    if ok:
        return bwrap.start_bwrap, ()
    if name == "bwrap":
        raise SandboxError(f"--sandbox bwrap was asked for, but {why}")
    return launch.start_process, (NOT_ISOLATED.format(why=why),)
