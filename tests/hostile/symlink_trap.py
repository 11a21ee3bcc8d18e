# expect: intermediate_size=failed accuracy=error|failed
# backends: bwrap
"""Plants symlinks in its work folder at import, named like the files the parent writes there
later (the training check's data-<check id>.npz), pointing at a file outside the sandbox. The
test creates that victim file first and asserts it is unchanged after grading."""
import os

for _name in ("data-accuracy.npz", "data-accuracy.npz.npz"):
    try:
        os.symlink("__HOST_DIR__/victim.txt", _name)
    except OSError as exc:
        print("could not plant", _name, exc)

INTERMEDIATE_SIZE = 0


def build_classifier():
    raise RuntimeError("this submission only sets a trap")
