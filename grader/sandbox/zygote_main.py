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
import signal
import socket
import sys
import time

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
slot_state = None  # grader.sandbox.slot_state, imported by main() once the package root is on the path


def main():
    global slot_state
    args = _parse_args()
    sys.path.insert(0, args.package_root)
    from grader.sandbox import slot_state  # importable once the package root is on the path
    folders = {os.path.realpath(f) for f in (os.getcwd(), os.environ.get("HOME"), os.environ.get("TMPDIR")) if f}
    before = {folder: set(slot_state.listing(folder)) for folder in folders}
    _preload()
    for folder, names in before.items():  # caches torch and matplotlib made: not the first child's to see
        slot_state.remove(os.path.join(folder, name) for name in slot_state.listing(folder) if name not in names)
    if args.namespace_reset:
        slot_state.note_mounts()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    control = socket.socket(fileno=args.control_fd)
    statuses = {}
    baseline = slot_state.fingerprint(libc)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        _reap(statuses)
        request = json.loads(message)
        tampered = slot_state.differences(baseline, slot_state.fingerprint(libc))
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
        problems = slot_state.leftovers(namespace_reset)
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
        for folder in slot_state.WIPED:
            slot_state.wipe(folder)
    _reap(statuses)
    return killed


def _parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--package-root", required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--namespace-reset", action="store_true",
                        help="inside a pid namespace: reset may kill every other process it sees")
    return parser.parse_args()


if __name__ == "__main__":
    main()
