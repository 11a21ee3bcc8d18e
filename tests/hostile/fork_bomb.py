# expect: conv_shapes=failed|timeout intermediate_size=passed
# backends: bwrap process
"""A fork bomb, bounded by the submission itself at 200 processes (the process backend runs as
root, where RLIMIT_NPROC does nothing): each fork becomes `sleep 120` whose argv[0] is the test's
marker, and the parent goes on forking through failures. Then it returns a wrong answer. The
test asserts that no marked process survives the grade and that the right constant is graded."""
import os

MARKER = "__MARKER__"
CAP = 200


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    started = failed = 0
    for _ in range(CAP):
        try:
            pid = os.fork()
        except OSError:
            failed += 1
            continue
        if pid == 0:
            try:
                os.execv("/bin/sleep", [MARKER, "120"])
            finally:
                os._exit(0)
        started += 1
    print(f"fork bomb: {started} started, {failed} refused")
    return {"weight": (started,), "bias": (failed,)}


INTERMEDIATE_SIZE = 512
