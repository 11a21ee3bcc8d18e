"""Unprivileged uids for the children, never shared by two grader runs at once.

Under bwrap as root each worker slot's children run as a uid of their own. Two TAs' batches on
one machine must not meet (a process may signal or re-limit any process of its uid), so a uid is
leased with an exclusive flock on a lock file, held until this grader process exits; another run
takes the next free uid. The lease is per process: a worker process forked later leases its own.
"""

import fcntl
import os
import threading
from pathlib import Path

FIRST_UID = 61000
COUNT = 4000  # uids 61000-64999: no account uses them on Debian (system < 1000, users from 1000 up)
LOCK_DIR = Path("/run/lock/grader-uids")
_LEASES = {}  # (pid, slot) -> (uid, fd)
_LOCK = threading.Lock()


class NoFreeUid(OSError):
    """Every uid of the range is leased by another grader run."""


def uid_for_slot(slot):
    """The uid the children of `slot` run as in this process, leased on first use."""
    key = (os.getpid(), slot)
    with _LOCK:
        if key not in _LEASES:
            _LEASES[key] = _lease(slot)
        return _LEASES[key][0]


def _lease(slot):
    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    taken = {uid for (pid, _), (uid, _) in _LEASES.items() if pid == os.getpid()}
    start = slot % COUNT  # prefer FIRST_UID + slot, as before: stable uids in logs of a single run
    for step in range(COUNT):
        uid = FIRST_UID + (start + step) % COUNT
        if uid in taken:
            continue
        fd = os.open(LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise NoFreeUid(f"all {COUNT} sandbox uids are in use by other grader runs")


def leased():
    """The uids this process holds (for tests)."""
    return sorted(uid for (pid, _), (uid, _) in _LEASES.items() if pid == os.getpid())
