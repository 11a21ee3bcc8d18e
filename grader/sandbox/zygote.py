"""The fork server (zygote) of one worker slot, seen from the parent.

Starting a child costs an interpreter and `import torch` (seconds); a zygote pays that once per
worker slot and forks a fresh child per submission. It runs in the same sandbox as a child would
(bwrap namespaces, rlimits, cgroup, unprivileged uid) with one work folder. Between submissions
it is reset: every process but the zygote killed, the work folder, /tmp and /dev/shm wiped. What
changes against fresh children: submissions of one slot share the zygote's memory image (read
only to them) and uid; a child that kills or stops the zygote is caught by the next ping and the
zygote is replaced.
"""

import atexit
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from grader.sandbox import bwrap, launch, uids, workfiles

ZYGOTE_MAIN = Path(__file__).resolve().with_name("zygote_main.py")
CONTROL_SECONDS = 10
START_SECONDS = 120
MEMORY_SLACK = 128 << 20  # what a reset may leave charged to the slot above the zygote's own memory
_POOL = {}
_POOL_LOCK = threading.Lock()


class ZygoteError(Exception):
    """The zygote did not answer: it is replaced and the submission's child counts as crashed."""


class Zygote:
    def __init__(self, sandbox, limits):
        self.sandbox, self.limits = sandbox, limits
        self.workdir = Path(workfiles.make_workdir(f"grader-slot{limits.slot}-"))
        self.child = None
        self.lock = threading.Lock()
        self.replace_reason = None  # set when a reset left something behind: the next ensure() replaces it
        self.replacements = 0
        self.pending_reset = False  # a reset was asked for and its verdict not read yet

    # ---- lifecycle -------------------------------------------------------------------------

    def ensure(self):
        """A running zygote in its starting state: answering, untampered, clean after the last reset."""
        self._finish_reset()
        if self.child is not None and self.child.process.poll() is None and not self.replace_reason:
            try:
                if self.request("ping").get("pong") is True:
                    return
            except ZygoteError:
                pass
        self.stop()
        self._start()

    def _start(self):
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        inside_root = bwrap.INSIDE_PACKAGE_ROOT if self.sandbox == "bwrap" else launch.PACKAGE_ROOT
        main = Path(inside_root) / ZYGOTE_MAIN.relative_to(launch.PACKAGE_ROOT)
        command = [sys.executable, "-I", "-u", "-B", str(main), "--package-root", str(inside_root),
                   "--control-fd", str(child_end.fileno())]
        try:
            if self.sandbox == "bwrap":
                command.append("--namespace-reset")
                self.child = bwrap.start_command(self.workdir, command, self.limits, (child_end.fileno(),))
            else:
                env = launch.child_environment(self.workdir, self.limits.threads, self.limits.device)
                self.child = launch.spawn(command, self.workdir, env, self.limits, (child_end.fileno(),))
        finally:
            child_end.close()
        for stream in (self.child.process.stdout, self.child.process.stderr):
            threading.Thread(target=_drain, args=(stream,), daemon=True).start()
        self.sock = parent_end
        self.request("ping", timeout=START_SECONDS)  # answered once torch is imported
        self.infrastructure = set(self.child.cgroup.pids()) if self.child.cgroup else set()
        self.baseline_bytes = self.child.cgroup.resident_bytes() if self.child.cgroup else None
        self.replace_reason = None

    def stop(self):
        self.pending_reset = False
        if self.child is not None:
            self.replacements += 1
            self.child.kill()
            self.sock.close()
            self.child = None

    def close(self):
        self.stop()
        workfiles.remove_workdir(self.workdir)

    # ---- control ---------------------------------------------------------------------------

    def request(self, op, fds=(), timeout=CONTROL_SECONDS, **fields):
        self._finish_reset()
        if self.child is None:
            raise ZygoteError(f"the fork server was replaced before {op!r}")
        self._send(op, fds, timeout, fields)
        return self._answer(op, timeout)

    def _send(self, op, fds, timeout, fields):
        try:
            self.sock.settimeout(timeout)
            socket.send_fds(self.sock, [json.dumps(dict(fields, op=op)).encode()], list(fds))
        except OSError as exc:
            self.stop()
            raise ZygoteError(f"the fork server did not take {op!r}: {exc}") from None

    def _answer(self, op, timeout):
        try:
            self.sock.settimeout(timeout)
            reply = self.sock.recv(1 << 16)
            if not reply:
                raise OSError("closed")
            return json.loads(reply)
        except (OSError, ValueError) as exc:
            self.stop()
            raise ZygoteError(f"the fork server did not answer {op!r}: {exc}") from None

    def fresh_workdir(self):
        """The work folder, emptied (files of the previous submission removed); a new one, and a new
        zygote, when something of the previous submission cannot be removed. The previous child is
        dead first (the pending reset's verdict read): none can write into it while it is emptied."""
        with self.lock:
            self._finish_reset()
        try:
            workfiles.empty(self.workdir)
        except OSError:
            with self.lock:
                self.stop()
                workfiles.remove_workdir(self.workdir)
                self.workdir = Path(workfiles.make_workdir(f"grader-slot{self.limits.slot}-"))
        return self.workdir

    def reset(self):
        """Ask the zygote to kill every process but its own and wipe /tmp and /dev/shm, without
        waiting: the parent writes the previous submission's outputs meanwhile. The verdict is read
        (_finish_reset) before the zygote is used again, so no child is forked from an unchecked slot."""
        if self.child is None or self.pending_reset:
            return
        try:
            self._send("reset", (), CONTROL_SECONDS, {})
            self.pending_reset = True
        except ZygoteError:
            return
        if self.child and self.child.cgroup:  # strays outside the pid namespace are signalled now
            self.child.cgroup.kill_all(keep=self.infrastructure, wait=False)

    def _finish_reset(self):
        """The reset's verdict: the cgroup's strays killed, then anything left (files, IPC, memory
        above the baseline) replaces the zygote."""
        if not self.pending_reset:
            return
        self.pending_reset = False
        try:
            reply = self._answer("reset", CONTROL_SECONDS)
        except ZygoteError:
            return
        if self.child and self.child.cgroup:
            self.child.cgroup.kill_all(keep=self.infrastructure)
        problems = list(reply.get("problems") or []) if reply.get("clean") is not True else []
        if reply.get("clean") is not True and not problems:
            problems = ["the fork server did not confirm a clean reset"]
        problems += self._memory_problems()
        if problems:
            self.replace_reason = "; ".join(str(p) for p in problems)
            self.stop()

    def _memory_problems(self):
        """Memory charged to the slot beyond the zygote's own after a reset (leaked shm, tmpfs)."""
        cgroup = self.child.cgroup if self.child else None
        if cgroup is None or self.baseline_bytes is None:
            return []
        now = cgroup.resident_bytes()
        if now is not None and now > self.baseline_bytes + MEMORY_SLACK:
            return [f"{(now - self.baseline_bytes) >> 20} MiB still charged to the slot after the reset"]
        return []

    # ---- the starter ChildSession uses -------------------------------------------------------

    def start_child(self, workdir, submission, module_name, limits, req_fd, resp_fd):
        with self.lock:
            self.ensure()
            if self.sandbox == "bwrap" and os.geteuid() == 0:
                bwrap.hand_over(self.workdir, uids.uid_for_slot(self.limits.slot))
            inside = (Path(bwrap.INSIDE_WORKDIR) if self.sandbox == "bwrap" else self.workdir) / Path(submission).name
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            oom_before = self.child.cgroup.oom_kills() if self.child.cgroup else 0
            try:
                reply = self.request("spawn", fds=(req_fd, resp_fd, out_w, err_w), submission=str(inside),
                                     module_name=module_name, threads=limits.threads)
            finally:
                os.close(out_w)
                os.close(err_w)
            if type(reply.get("pid")) is not int:
                self.stop()
                raise ZygoteError(f"the fork server refused to fork: {reply}")
            return ForkedChild(self, reply["pid"], os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"), oom_before)


class ForkedChild:
    """A child forked by the zygote, with the interface of launch.Child."""

    signal_in_exit_code = False  # the zygote reports the child's own wait status

    def __init__(self, zygote, pid, stdout, stderr, oom_before):
        self.zygote, self.pid, self.oom_before = zygote, pid, oom_before
        self.process = _ProcessView(self, stdout, stderr)

    def kill(self):
        self.zygote.reset()

    def memory_killed(self):
        cgroup = self.zygote.child.cgroup if self.zygote.child else None
        return bool(cgroup and cgroup.oom_kills() > self.oom_before)

    def status(self):
        if self.zygote.child is None:
            return -9
        try:
            return self.zygote.request("status", pid=self.pid).get("status")
        except ZygoteError:
            return -9


class _ProcessView:
    """The slice of subprocess.Popen that ChildSession uses."""

    def __init__(self, child, stdout, stderr):
        self.child, self.stdout, self.stderr = child, stdout, stderr

    def poll(self):
        return self.child.status()

    def wait(self, timeout=None):
        deadline = time.monotonic() + (timeout or 0)
        while True:
            status = self.child.status()
            if status is not None or time.monotonic() >= deadline:
                return status
            time.sleep(0.05)


def _drain(stream):
    while stream.read(1 << 16):
        pass


def zygote_for(sandbox, limits):
    """The pooled zygote of this sandbox kind and slot (one per distinct set of limits)."""
    key = (sandbox, limits)
    with _POOL_LOCK:
        if key not in _POOL:
            _POOL[key] = Zygote(sandbox, limits)
        return _POOL[key]


@atexit.register
def close_all():
    with _POOL_LOCK:
        for zygote in _POOL.values():
            zygote.close()
        _POOL.clear()
