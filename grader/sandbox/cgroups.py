"""Cgroup v1 limits for one child (process count and memory), where this process may create them.

RLIMIT_NPROC does nothing for root and counts per uid; the `pids` controller bounds a fork bomb
whoever runs it, and the `memory` controller gives a hard memory limit whose kills we can tell
apart from crashes (`oom_kill` in memory.oom_control). Killing every task of the cgroup also
catches a daemon that left the child's process group. Without root or cgroup v1 this is a no-op.
"""

import itertools
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
_counter = itertools.count()


class ChildCgroup:
    """One cgroup per controller for one child process tree."""

    def __init__(self, dirs):
        self.dirs = dirs  # controller -> Path

    @classmethod
    def create(cls, memory_bytes, max_pids):
        """A new cgroup with the limits set, or None where cgroups cannot be used."""
        if os.geteuid() != 0 or not all((ROOT / c / "cgroup.procs").exists() for c in CONTROLLERS):
            return None
        name = f"grader-{os.getpid()}-{next(_counter)}"
        dirs = {}
        try:
            for controller in CONTROLLERS:
                path = ROOT / controller / name
                path.mkdir()
                dirs[controller] = path
            (dirs["pids"] / "pids.max").write_text(str(max_pids))
            (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            _try_write(dirs["memory"] / "memory.swappiness", "0")
        except OSError:
            cls(dirs).remove()
            return None
        return cls(dirs)

    def enter(self):
        """Put the calling process in the cgroup (run in the child before exec)."""
        for path in self.dirs.values():
            with open(path / "cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def oom_killed(self):
        """True when the memory limit made the kernel kill a process of this cgroup."""
        return self.oom_kills() > 0

    def pids(self):
        return _read_pids(self.dirs["pids"] / "cgroup.procs") if "pids" in self.dirs else []

    def oom_kills(self):
        """How many processes of this cgroup the kernel killed for memory so far."""
        try:
            text = (self.dirs["memory"] / "memory.oom_control").read_text()
        except (OSError, KeyError):
            return 0
        fields = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(fields.get("oom_kill", "0"))

    def resident_bytes(self):
        """Anonymous memory plus tmpfs and shared memory charged to the cgroup (page cache left out:
        reading the data set is not a leak). None where the memory controller is not used."""
        try:
            text = (self.dirs["memory"] / "memory.stat").read_text()
        except (OSError, KeyError):
            return None
        fields = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(fields.get("rss", 0)) + int(fields.get("shmem", 0))

    def kill_all(self, keep=frozenset(), wait=True):
        """SIGKILL every task but `keep` until none is left (a forking task may add new ones meanwhile);
        with `wait=False`, one round of signals and no waiting."""
        procs = self.dirs.get("pids")
        if procs is None:
            return
        for _ in range(100 if wait else 1):
            pids = [p for p in _read_pids(procs / "cgroup.procs") if p not in keep]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if wait:
                time.sleep(0.02)

    def remove(self):
        for path in self.dirs.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _read_pids(path):
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def _try_write(path, text):
    try:
        path.write_text(text)
    except OSError:
        pass
