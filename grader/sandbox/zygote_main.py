"""Entry point of the fork server: imports torch once, then forks a fresh child per request.

Runs inside the sandbox like a child (`python -I zygote_main.py ...`), but never runs student
code itself. Over its control socket (from the parent only) it takes:
  spawn {submission, module_name, threads} + 4 fds (requests, answers, stdout, stderr) -> {pid}
  status {pid} -> {status}: the child's wait status once it has ended, else null
  reset -> every other process of the sandbox killed, /tmp and /dev/shm wiped (bwrap only),
           then {clean, problems}: whether nothing of the last child is left (files, IPC objects)
  ping -> pong, or {tampered: [...]} when its own limits, priority, scheduling policy,
          affinity or I/O priority are no longer those it started with
The server is not dumpable, so its children (same uid) can neither ptrace it nor read its fds;
their seccomp filter (grader.sandbox.seccomp) refuses prlimit, setpriority, sched_* and
ioprio_set against it, and it checks its own state before every fork all the same: a server
that differs is replaced by the parent.
"""

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def main():
    args = _parse_args()
    sys.path.insert(0, args.package_root)
    folders = {os.path.realpath(f) for f in (os.getcwd(), os.environ.get("HOME"), os.environ.get("TMPDIR")) if f}
    before = {folder: set(_listing(folder)) for folder in folders}
    _preload()
    for folder, names in before.items():  # caches torch and matplotlib made: not the first child's to see
        _remove(os.path.join(folder, name) for name in _listing(folder) if name not in names)
    if args.namespace_reset:
        _note_mounts()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    control = socket.socket(fileno=args.control_fd)
    statuses = {}
    baseline = _fingerprint(libc)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        _reap(statuses)
        request = json.loads(message)
        tampered = _differences(baseline, _fingerprint(libc))
        if tampered and request.get("op") in ("ping", "spawn"):
            for fd in fds:
                os.close(fd)
            reply = {"tampered": tampered}
        else:
            reply = _handle(request, fds, control, libc, statuses, args.namespace_reset)
        control.send(json.dumps(reply).encode())


def _preload():
    """What every child would import anyway, imported once here (never run: no thread pools)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure  # noqa: F401
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    from grader.sandbox import probes

    probes.load_all()


def _handle(request, fds, control, libc, statuses, namespace_reset):
    op = request.get("op")
    if op == "ping":
        return {"pong": True}
    if op == "status":
        return {"status": statuses.get(request.get("pid"))}
    if op == "reset":
        killed = _reset(namespace_reset, statuses)
        problems = leftovers(namespace_reset)
        return {"killed": killed, "clean": not problems, "problems": problems}
    if op == "spawn" and len(fds) == 4:
        pid = os.fork()
        if pid == 0:
            _become_child(request, fds, control, libc)
        for fd in fds:
            os.close(fd)
        return {"pid": pid}
    for fd in fds:
        os.close(fd)
    return {"error": f"bad request {op!r}"}


def _become_child(request, fds, control, libc):
    try:
        control.close()  # the child must not reach the control socket
        os.setsid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        req_fd, resp_fd, out_fd, err_fd = fds
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.close(out_fd)
        os.close(err_fd)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        from grader.sandbox.child_main import serve

        serve(request["submission"], request["module_name"], req_fd, resp_fd, request.get("threads", 1))
    finally:
        os._exit(70)


def _reap(statuses):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = os.waitstatus_to_exitcode(status)


def _reset(namespace_reset, statuses):
    """Kill every process of the sandbox but pid 1 and this one; wipe /tmp and /dev/shm."""
    killed = 0
    if namespace_reset:
        me = os.getpid()
        seen = set()
        for attempt in range(300):  # at most about 2.5 s; a killed process is gone in a few ms
            others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
            if not others:
                break
            for pid in others:
                try:
                    os.kill(pid, signal.SIGKILL)
                    seen.add(pid)
                except (ProcessLookupError, PermissionError):
                    pass
            _reap(statuses)  # our own children (the submission's) are reaped here, the rest by pid 1
            time.sleep(0.001 if attempt < 50 else 0.01)
        killed = len(seen)
        for folder in WIPED:
            _wipe(folder)
    _reap(statuses)
    return killed


def _listing(folder):
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


def _note_mounts():
    try:
        with open("/proc/self/mountinfo") as f:
            points, above = mounts_below(f.read())
    except OSError:
        return
    _MOUNTS.update(points)
    _ABOVE_MOUNTS.update(above)


def _wipe(folder):
    """Remove everything under `folder`, whatever modes the child set (it had our uid: we own it),
    but the sandbox's own mount points and the folders that hold them."""
    entries = []
    for path in (os.path.join(folder, name) for name in _listing(folder)):
        if path in _MOUNTS:
            continue
        if path in _ABOVE_MOUNTS and not os.path.islink(path):
            _wipe(path)
        else:
            entries.append(path)
    _remove(entries)


def _strays(folder):
    """What is under `folder` that is neither a kept mount nor a folder holding one."""
    left = []
    for path in (os.path.join(folder, name) for name in _listing(folder)):
        if path in _MOUNTS:
            continue
        if path in _ABOVE_MOUNTS and not os.path.islink(path):
            left += _strays(path)
        else:
            left.append(path)
    return left


def _remove(entries):
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
            left = _strays(folder)
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


def _fingerprint(libc):
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


def _differences(before, now):
    return [f"{key}: {before.get(key)} -> {now.get(key)}" for key in sorted(set(before) | set(now))
            if before.get(key) != now.get(key)]


def _parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--package-root", required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--namespace-reset", action="store_true",
                        help="inside a pid namespace: reset may kill every other process it sees")
    return parser.parse_args()


if __name__ == "__main__":
    main()
