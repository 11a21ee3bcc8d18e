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

from grader.sandbox.cgroups import ChildCgroup

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CHILD_MAIN = Path(__file__).resolve().with_name("child_main.py")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one child; the rubric sets memory and time, the rest are defaults."""

    import_seconds: float = 60.0
    memory_bytes: int = 4 << 30
    file_bytes: int = 64 << 20
    open_files: int = 256
    max_processes: int = 64  # threads count too; torch needs headroom (see SANDBOX_NOTES)
    cpu_seconds: int = 3600
    slot: int = 0  # parallel worker number: each slot's children run under their own uid (bwrap as root)
    device: str = "cpu"  # "cuda": the child may see the GPU(s) the grader sees
    output_keep_bytes: int = 64 << 10
    threads: int = 1

    def memory_text(self):
        gib = self.memory_bytes / (1 << 30)
        return f"{gib:g} GiB" if gib >= 1 else f"{self.memory_bytes >> 20} MiB"


def child_environment(workdir, threads, device="cpu"):
    """A minimal, fixed environment: nothing of the grader's own, no tokens, no proxies."""
    threads = str(max(1, threads))
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "0") if device == "cuda" else ""
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
        "CUDA_VISIBLE_DEVICES": gpus,
    }


def child_command(submission, module_name, req_fd, resp_fd, threads, package_root=PACKAGE_ROOT):
    """The child's command line; `package_root` is where the grader package is seen from the child."""
    child_main = Path(package_root) / CHILD_MAIN.relative_to(PACKAGE_ROOT)
    # -I: isolated (no user site, no PYTHON* variables, script folder not on sys.path);
    # -u: unbuffered, so prints before a crash still reach the report; -B: no .pyc files.
    return [sys.executable, "-I", "-u", "-B", str(child_main), "--submission", str(submission),
            "--module-name", module_name, "--package-root", str(package_root),
            "--req-fd", str(req_fd), "--resp-fd", str(resp_fd), "--threads", str(threads)]


@dataclass
class Child:
    """A started child: its process (the group leader) and its cgroup, if any."""

    process: subprocess.Popen
    cgroup: ChildCgroup | None = None
    signal_in_exit_code: bool = False  # a wrapper (bwrap) reports a signal death as exit code 128 + signal

    def kill(self):
        """SIGKILL the whole tree: the cgroup's tasks (daemons too), then the process group; reap."""
        if self.cgroup:
            self.cgroup.kill_all()
        kill_tree(self.process)
        if self.cgroup:
            self.cgroup.kill_all()
            self.cgroup.remove()

    def memory_killed(self):
        return bool(self.cgroup and self.cgroup.oom_killed())


def prepare(limits):
    """A preexec function applying the limits and entering a fresh cgroup; returns (fn, cgroup)."""
    cgroup = ChildCgroup.create(limits.memory_bytes, limits.max_processes)

    def apply():
        if cgroup:
            cgroup.enter()
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    return apply, cgroup


def start_process(workdir, submission, module_name, limits, req_fd, resp_fd):
    """Start the child as a plain process in a new session and cgroup; returns a Child."""
    command = child_command(submission, module_name, req_fd, resp_fd, limits.threads)
    return spawn(command, workdir, child_environment(workdir, limits.threads, limits.device), limits,
                 (req_fd, resp_fd))


def spawn(command, cwd, env, limits, fds):
    """Popen with pipes for output, the given fds kept open, a new session, limits and cgroup."""
    preexec, cgroup = prepare(limits)
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, pass_fds=fds, start_new_session=True,
                                   preexec_fn=preexec)
    except BaseException:
        if cgroup:
            cgroup.remove()
        raise
    return Child(process, cgroup)


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
