"""Parent side of one submission's child: start it, send probes, enforce deadlines, restart.

`ChildSession.probe` returns a decoded observation or raises `ProbeFailure` with a status and a
message in the student's terms. A child that hangs or dies is killed with its process group and
started again (re-importing the submission) for the next probe; an import that fails is final.
"""

import os
import secrets
import select
import signal
import threading
import time
import weakref

from grader import text as safe
from grader.sandbox import framing, launch, values
from grader.sandbox.error_messages import import_error_message, student_error_message
from grader.sandbox import probes as child_probes  # our own code: read for the probe names only

ANSWER_BLOB_LIMIT = 64 << 20
_LIVE = weakref.WeakSet()  # sessions with a running child, for kill_all()


def kill_all():
    """Kill every running child of this process (on Ctrl-C): nothing of them outlives the grader."""
    for session in list(_LIVE):
        session.close()


class ProbeFailure(Exception):
    """A probe did not yield an observation: status is 'error' or 'timeout'."""

    def __init__(self, status, message, error_type=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.error_type = error_type  # the exception's class name when student code raised


class UnknownProbe(Exception):
    """The grader asked for a probe the sandbox does not have: the grader's mistake, not the student's."""


class CapturedOutput:
    """Reads one stream of the child on a thread; keeps the first bytes, counts the rest."""

    def __init__(self, stream, keep):
        self.keep, self.kept, self.dropped = keep, bytearray(), 0
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream):
        while True:
            chunk = stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16)
            if not chunk:
                break
            room = self.keep - len(self.kept)
            self.kept += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        stream.close()


class ChildSession:
    """One submission's sandboxed child, restarted as needed; use as a context manager."""

    def __init__(self, workdir, submission, module_name, limits, starter=launch.start_process, plan=b""):
        self.workdir, self.submission, self.module_name = workdir, submission, module_name
        self.plan = plan  # what the child runs and its budgets (JSON: grader.staging.Staged.plan), sent first
        self.limits, self.starter = limits, starter
        self.child = None
        self.final_failure = None  # set when the import itself failed: every probe fails the same way
        self.import_problem = ""  # that failure in full (with the student's lines), said once by the caller
        self.load = None  # what the child's first load reported (untrusted: grader.loading validates it)
        self.load_report = None  # the caller's grader.loading.LoadReport, for messages about missing names
        self.outputs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- public -----------------------------------------------------------------------------

    def probe(self, name, args, timeout, seed=0, blobs=None, doing="your code", limit=None):
        """Run probe `name` in the child within `timeout` seconds; return the decoded value.

        `limit` is the time limit to name in a timeout message (the check's, when `timeout` is what
        is left of it)."""
        if name not in child_probes.names():
            raise UnknownProbe(f"the grader asked for probe {name!r}, which the sandbox does not have")
        if self.final_failure is None and self.child is None:
            self._start()
        if self.final_failure is not None:
            raise self.final_failure
        request_id = secrets.randbits(62)  # unpredictable: an answer cannot be forged ahead of its request
        header = {"type": "probe", "id": request_id, "probe": name, "args": args, "seed": seed}
        deadline = time.monotonic() + timeout
        if self._more_waiting():  # the child wrote before being asked: nothing it says can be trusted
            self._stop()
            raise ProbeFailure("error", f"the grader received an unsolicited message before running {doing}; "
                                        "a submission must not write to the grader's channel")
        try:
            self._send(framing.pack(header, blobs), deadline)
            answer, answer_blobs = self._receive(deadline)
        except _Timeout:
            self._stop()
            raise ProbeFailure("timeout", f"{doing} did not finish within the {limit or timeout:g} s time limit") from None
        except _Died:
            raise ProbeFailure("error", self._death_message(doing)) from None
        except framing.FrameError as exc:
            self._stop()
            raise ProbeFailure("error", f"the grader received a malformed message while running {doing} ({exc})") from None
        if answer.get("type") != "answer" or answer.get("id") != request_id or self._more_waiting():
            self._stop()
            raise ProbeFailure("error", f"the grader received an unsolicited or duplicate message while running "
                                        f"{doing}; a submission must not write to the grader's channel")
        if answer.get("ok") is not True:
            error = answer.get("error") if type(answer.get("error")) is dict else {}
            kind = safe.clean(error.get("type"), "type") if error.get("kind") == "raised" else ""
            message = student_error_message(error, doing, self.limits, name, self.load_report)
            raise ProbeFailure("error", message, kind or None)
        try:
            return values.decode(answer.get("value"), answer_blobs)
        except values.DecodeError as exc:
            self._stop()  # a child that sent a malformed value is not asked again: the next probe restarts it
            raise ProbeFailure("error", f"the result of {doing} could not be read: {exc}") from None

    def loaded(self):
        """Start the child unless it runs; returns (the child's load report, the import's failure or None)."""
        if self.final_failure is None and self.child is None:
            self._start()
        return self.load, self.final_failure

    def output(self):
        """Everything the student's code printed, over all restarts: capped, control characters escaped."""
        parts = [part for part in self.outputs if part.kept or part.dropped]
        text = safe.escape("".join(part.kept.decode("utf-8", "replace") for part in parts), multiline=True)
        dropped = sum(part.dropped for part in parts)
        room = safe.CAPS["output"] - 100  # left for the note
        if len(text) > room:
            dropped += len(text[room:].encode())
            text = text[:room]
        return text + (f"\n[... {dropped} more bytes of output dropped]" if dropped else "")

    def close(self):
        self._stop()

    # ---- child lifecycle ----------------------------------------------------------------------

    def _start(self):
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        try:
            self.child = self.starter(self.workdir, self.submission, self.module_name, self.limits, req_r, resp_w)
        finally:
            os.close(req_r)
            os.close(resp_w)
        keep = self.limits.output_keep_bytes
        _LIVE.add(self)
        process = self.child.process
        self.outputs += [CapturedOutput(process.stdout, keep), CapturedOutput(process.stderr, keep)]
        self.reader = framing.FrameReader(blob_limit=ANSWER_BLOB_LIMIT)
        deadline = time.monotonic() + self.limits.import_seconds
        try:
            # the deadline on the system's monotonic clock (shared with the child): its cells' budgets end before it
            self._send(framing.pack({"type": "plan", "deadline": deadline}, {"plan": self.plan or b"{}"}), deadline)
            hello, _ = self._receive(deadline)
        except _Timeout:
            self._fail_import("timeout", f"importing your module took longer than {self.limits.import_seconds:g} s")
            return
        except _Died:
            self._fail_import("error", self._death_message("your module", during_import=True))
            return
        except framing.FrameError:
            self._fail_import("error", "your module sent malformed data while it was being imported")
            return
        if hello.get("type") == "import_failed":
            self._fail_import("error", import_error_message(hello.get("error"), short=True),
                              import_error_message(hello.get("error")))
        elif hello.get("type") != "ready":
            self._fail_import("error", "your module sent unexpected data while it was being imported")
        elif self.load is None:
            self.load = hello.get("load")

    def _fail_import(self, status, message, full=""):
        self._stop()
        self.final_failure = ProbeFailure(status, message)
        self.import_problem = full or message

    def _stop(self):
        if self.child is None:
            return
        self.child.kill()
        for fd in (self.req_w, self.resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        for part in self.outputs[-2:]:
            part.thread.join(timeout=2)
        self.child = None

    def _death_message(self, doing, during_import=False):
        code = _exit_code(self.child.process)
        if code is not None and self.child.signal_in_exit_code and 128 < code < 160:
            code = 128 - code  # bwrap exits with 128 + the signal that killed the child
        memory = self.child.memory_killed()
        self._stop()
        when = "during import" if during_import else f"while running {doing}"
        if memory:
            return f"your code exceeded the {self.limits.memory_text()} memory limit {when} and was stopped"
        if code is not None and code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return f"your code used more than {self.limits.cpu_seconds} s of CPU time {when}"
            if sig == signal.SIGKILL:
                return f"the process running your code was killed {when}"
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            return f"the process running your code crashed {when} (signal {name})"
        subject = "your module" if during_import else "your code"
        return f"{subject} exited {when} (exit code {code}); do not call sys.exit() or os._exit() in a submission"

    # ---- pipes --------------------------------------------------------------------------------

    def _more_waiting(self):
        """True when bytes beyond the one answer are already there: a forged or duplicate frame."""
        if self.reader.pending_bytes():
            return True
        readable, _, _ = select.select([self.resp_r], [], [], 0)
        if not readable:
            return False
        chunk = os.read(self.resp_r, 1 << 16)  # empty at EOF: the child died, which the next probe reports
        self.reader.feed(chunk)
        return bool(chunk)

    def _send(self, data, deadline):
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            _, writable, _ = select.select([], [self.req_w], [], remaining)
            if writable:
                try:
                    view = view[os.write(self.req_w, view[:1 << 16]):]
                except BrokenPipeError:
                    raise _Died() from None

    def _receive(self, deadline):
        while True:
            frame = self.reader.next_frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            readable, _, _ = select.select([self.resp_r], [], [], remaining)
            if readable:
                chunk = os.read(self.resp_r, 1 << 20)
                if not chunk:
                    raise _Died()
                self.reader.feed(chunk)


def _exit_code(process):
    """The child's exit code, waiting briefly for it to finish dying (None if it will not)."""
    try:
        return process.wait(timeout=5)
    except Exception:
        return None


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass
