# expect: intermediate_size=failed accuracy=error|failed
# backends: bwrap
# isolate: subprocess 25
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
