# expect: conv_shapes=passed intermediate_size=failed
# backends: bwrap process
# xfail[process]: the process backend cannot catch a daemon: run as root the child can move itself to the root cgroup (write /sys/fs/cgroup/<controller>/cgroup.procs) and setsid, so Child.kill (cgroup kill_all + killpg) misses it; without root there is no cgroup at all and setsid alone escapes killpg. The daemon outlives the grade and writes files on the host afterwards
# xfail-sign[process]: processes left behind|files appeared
"""Detaches a daemon at import and another inside a function: double fork, setsid, leave the
cgroup where it can, ignore SIGTERM/SIGHUP, close the pipes, name itself after the test's
marker; it waits until the process that graded it is gone, then writes marker files into a host
folder, the host's /tmp and its own work folder. The test waits after grading and asserts no
marker file appears and no marked process is alive."""
import ctypes
import os
import signal
import time

MARKER = "__MARKER__"
HOST_DIR = "__HOST_DIR__"


def _leave_cgroups(pid):
    for controller in ("pids", "memory", "cpu,cpuacct", "cpu", "freezer", "systemd", "unified"):
        try:
            with open(f"/sys/fs/cgroup/{controller}/cgroup.procs", "w") as f:
                f.write(str(pid))
        except OSError:
            pass


def _name(text):
    try:
        ctypes.CDLL(None).prctl(15, text.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:  # noqa: BLE001
        pass


def spawn_daemon(tag):
    grader_child = os.getpid()
    cwd = os.getcwd()
    if os.fork() != 0:
        return
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        _leave_cgroups(os.getpid())
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        _name(MARKER)
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in range(0, 256):
            if fd != devnull:
                try:
                    os.close(fd)
                except OSError:
                    pass
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # act later: once the process that was graded is gone
            try:
                os.kill(grader_child, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.1)
        time.sleep(0.5)
        for folder in (HOST_DIR, "/tmp", cwd, "/dev/shm"):
            try:
                with open(os.path.join(folder, f"{MARKER}-daemon-{tag}"), "w") as f:
                    f.write("the daemon acted after grading\n")
            except OSError:
                pass
        time.sleep(120)
    finally:
        os._exit(0)


spawn_daemon("import")
INTERMEDIATE_SIZE = 0


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    if in_channels == 1:
        spawn_daemon("function")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}
