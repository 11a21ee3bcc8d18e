# expect: conv_shapes=error intermediate_size=passed
# expect-message: conv_shapes~"killed"
# backends: bwrap process
# isolate: subprocess 40
# xfail[process]: the process backend runs the child with the grader's own uid (root here) and no pid namespace, so os.kill(os.getppid(), SIGKILL) from student code kills the grading process
# xfail-sign[process]: did not survive|cgroups left behind|work folders left behind
"""Inside a function: SIGKILL its parent, every process it may signal (kill(-1), only where
/proc/1 is bubblewrap, so never on the host) and its own process group. The test grades it in a
separate grading process and asserts that process survives and grades the next check."""
import os
import signal

INTERMEDIATE_SIZE = 512


def _inside_bwrap():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return b"bwrap" in f.read()
    except OSError:
        return False


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    attempts = []
    for target in (os.getppid(), os.getpgid(os.getppid()) if os.getppid() > 1 else None):
        if target is None:
            continue
        for how in (os.kill, os.killpg):
            try:
                how(target, signal.SIGKILL)
                attempts.append(f"{how.__name__}({target}) ok")
            except OSError as exc:
                attempts.append(f"{how.__name__}({target}) {exc}")
    print(attempts, flush=True)
    if _inside_bwrap() and os.getuid() != 0:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    os.killpg(0, signal.SIGKILL)
    return {"weight": (0,), "bias": (0,)}
