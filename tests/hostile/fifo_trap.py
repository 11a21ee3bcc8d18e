# expect: intermediate_size=failed accuracy=error|failed
# backends: bwrap
# isolate: subprocess 25
# xfail: the trusted parent opens <workdir>/data-accuracy.npz for writing (np.savez in grader.data.write_child_inputs) outside any time limit; a FIFO of that name planted by the child at import makes open() block forever, so the grading process hangs (no check time limit applies before the probe starts)
# xfail-sign: grading process hung|cgroups left behind|work folders left behind
"""Plants a FIFO named like the training check's input file in its work folder at import and
never opens it: the parent's write of the training data would block forever."""
import os

try:
    os.mkfifo("data-accuracy.npz")
except OSError as exc:
    print("could not plant the fifo:", exc)

INTERMEDIATE_SIZE = 0


def build_classifier():
    raise RuntimeError("this submission only sets a trap")
