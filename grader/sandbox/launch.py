"""How a child process is started: its command line, environment and resource limits.

The process backend runs the child as a plain process in its own session (process group) with
rlimits and a scrubbed environment. Stronger isolation (bubblewrap) wraps the same command.
"""

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CHILD_MAIN = Path(__file__).resolve().with_name("child_main.py")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one child; the rubric sets memory and time, the rest are defaults."""

    import_seconds: float = 60.0
    memory_bytes: int = 4 << 30
    file_bytes: int = 64 << 20
    open_files: int = 256
    output_keep_bytes: int = 64 << 10
    threads: int = 1

    def memory_text(self):
        gib = self.memory_bytes / (1 << 30)
        return f"{gib:g} GiB" if gib >= 1 else f"{self.memory_bytes >> 20} MiB"


def child_environment(workdir, threads):
    """A minimal, fixed environment: nothing of the grader's own, no tokens, no proxies."""
    threads = str(max(1, threads))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(Path(workdir) / ".matplotlib"),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "TORCH_HOME": str(Path(workdir) / ".torch"),
        "CUDA_VISIBLE_DEVICES": "",
    }


def child_command(submission, module_name, req_fd, resp_fd, threads, package_root=PACKAGE_ROOT):
    """The child's command line; `package_root` is where the grader package is seen from the child."""
    child_main = Path(package_root) / CHILD_MAIN.relative_to(PACKAGE_ROOT)
    # -I: isolated (no user site, no PYTHON* variables, script folder not on sys.path);
    # -u: unbuffered, so prints before a crash still reach the report; -B: no .pyc files.
    return [sys.executable, "-I", "-u", "-B", str(child_main), "--submission", str(submission),
            "--module-name", module_name, "--package-root", str(package_root),
            "--req-fd", str(req_fd), "--resp-fd", str(resp_fd), "--threads", str(threads)]


def rlimits(limits):
    """A preexec function applying the limits (inherited by bwrap and the child it starts)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def start_process(workdir, submission, module_name, limits, req_fd, resp_fd):
    """Start the child as a plain process in a new session; returns the Popen."""
    return subprocess.Popen(
        child_command(submission, module_name, req_fd, resp_fd, limits.threads),
        cwd=workdir, env=child_environment(workdir, limits.threads),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        pass_fds=(req_fd, resp_fd), start_new_session=True,
        preexec_fn=rlimits(limits),
    )


def kill_tree(process):
    """SIGKILL the child's whole process group, then reap it."""
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
