"""The state of a fork server's slot that must not outlive a submission: what a reset wipes and
verifies, and the server's own fingerprint.

Runs inside the sandbox, in the fork server (grader/sandbox/zygote_main.py). A reset removes
everything under /tmp and /dev/shm whatever modes the child set, but keeps the sandbox's own
mounts there (a venv cloned under /tmp, say); `leftovers` says what survived (files, SysV IPC
objects), so the parent can replace the server. `fingerprint` is the state of the server that a
child of the same uid could try to change (limits, priority, scheduling, affinity, I/O priority).
"""

import ctypes
import os
import platform
import resource
import shutil
import subprocess


def listing(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


WIPED = ("/tmp", "/dev/shm")
_MOUNTS = set()  # the sandbox's own mount points under WIPED (a venv cloned under /tmp, say): kept
_ABOVE_MOUNTS = set()  # the folders bwrap made to hold them: entered, never removed


def mounts_below(mountinfo, folders=WIPED):
    """(mount points strictly below `folders`, the folders between them and `folders`) from the
    text of /proc/self/mountinfo. A reset neither walks nor removes the sandbox's own mounts."""
    points, above = set(), set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        for folder in folders:
            if point.startswith(folder + "/"):
                points.add(point)
                parent = os.path.dirname(point)
                while parent != folder:
                    above.add(parent)
                    parent = os.path.dirname(parent)
    return points, above


def note_mounts():
    try:
        with open("/proc/self/mountinfo") as f:
            points, above = mounts_below(f.read())
    except OSError:
        return
    _MOUNTS.update(points)
    _ABOVE_MOUNTS.update(above)


def wipe(folder):
    """Remove everything under `folder`, whatever modes the child set (it had our uid: we own it),
    but the sandbox's own mount points and the folders that hold them."""
    entries = []
    for path in (os.path.join(folder, name) for name in listing(folder)):
        if path in _MOUNTS:
            continue
        if path in _ABOVE_MOUNTS and not os.path.islink(path):
            wipe(path)
        else:
            entries.append(path)
    remove(entries)


def strays(folder):
    """What is under `folder` that is neither a kept mount nor a folder holding one."""
    left = []
    for path in (os.path.join(folder, name) for name in listing(folder)):
        if path in _MOUNTS:
            continue
        if path in _ABOVE_MOUNTS and not os.path.islink(path):
            left += strays(path)
        else:
            left.append(path)
    return left


def remove(entries):
    """Remove these files and trees, whatever their modes."""
    entries = list(entries)
    stack = list(entries)
    while stack:  # give back the owner's rights top-down, without recursion (trees may be deep)
        path = stack.pop()
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.chmod(path, 0o700)
                stack += [os.path.join(path, name) for name in os.listdir(path)]
            except OSError:
                pass
    for path in entries:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except (OSError, RecursionError):
            subprocess.run(["rm", "-rf", "--one-file-system", "--", path], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def leftovers(namespace_reset):
    """What a reset failed to remove: files in /tmp or /dev/shm, SysV IPC objects of the namespace."""
    if not namespace_reset:
        return []
    problems = []
    for folder in WIPED:
        try:
            os.listdir(folder)
            left = strays(folder)
        except OSError as exc:
            left = [f"(unreadable: {exc.strerror})"]
        if left:
            problems.append(f"{len(left)} entries left in {folder} (such as {sorted(left)[0]!r})")
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        if rows:
            problems.append(f"{len(rows)} SysV {kind} objects left")
    return problems


IOPRIO_GET = {"x86_64": 252, "aarch64": 31}


def fingerprint(libc):
    """The state of this process that a child of the same uid could try to change."""
    state = {}
    for name in sorted(n for n in dir(resource) if n.startswith("RLIMIT_")):
        try:
            state[name] = resource.getrlimit(getattr(resource, name))
        except (OSError, ValueError):
            pass
    state["priority"] = os.getpriority(os.PRIO_PROCESS, 0)
    state["policy"] = os.sched_getscheduler(0)
    state["sched_priority"] = os.sched_getparam(0).sched_priority
    state["affinity"] = sorted(os.sched_getaffinity(0))
    number = IOPRIO_GET.get(platform.machine())
    if number is not None:
        libc.syscall.restype = ctypes.c_long
        state["ioprio"] = libc.syscall(ctypes.c_long(number), ctypes.c_long(1), ctypes.c_long(0))
    return state


def differences(before, now):
    return [f"{key}: {before.get(key)} -> {now.get(key)}" for key in sorted(set(before) | set(now))
            if before.get(key) != now.get(key)]
