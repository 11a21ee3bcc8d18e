"""Secret relabelling of a training check's classes: no accuracy without training on the data handed over.

Each training check renames the data set's classes with a permutation the child never learns:
the child trains on renamed labels and the parent compares its predictions with the renamed
test labels. A model trained beforehand (weights shipped in the file) predicts the true classes,
which the permutation sends elsewhere, so it scores near 0 %, below chance. A model trained
from scratch only sees classes with other names: when its initialisation treats the output
units alike (every torch layer does), its accuracy has the same distribution as without the
renaming, so the cost to honest submissions is zero points (measured: bench/relabel_cost.py).

The permutation is a single cycle through all the classes (Sattolo's shuffle), so no class keeps
its label: never the identity, no fixed point. Its random numbers are HMAC-SHA256 of a
per-installation secret, keyed with the check's id and seed and the submission's content digest:
the same submission graded twice on this installation gets the same permutation, hence the
same score. The secret is a random file made once with mode 0600 in the grader's cache folder
(`relabel.key`; GRADER_RELABEL_KEY names another one, for a cluster whose workers share it).
The bubblewrap sandbox mounts no part of that folder; the unisolated process backend does not
hide it (nor anything else).

Relabelled (through `CheckContext.training_data`): `min_accuracy` and the course plug-ins'
`train_history` and `lr_sweep`
(the student's own accuracies are computed on the renamed labels they are given). Not relabelled:
`pick_examples` and `examples_figure`, whose meaning is a label's own class (an image keeps
its label; a panel is titled CLASS_NAMES[label]), and which award nothing for accuracy;
`mean_gradient` and `gradient_curve` (the grader's own MLP, replayed exactly here); the
training-loop kinds on synthetic data made here and replayed exactly; and
`max_reconstruction_error`, which has no labels, so an autoencoder shipped pretrained is not
caught (the grader's own loop trains it, but from the student's weights). No training check
shows class names or per-class figures to the student today; one that does maps its classes
back to the true ones with `Relabeling.restore`.

Not guaranteed: a submission may fit the renaming itself inside its training function (compare
a pretrained model's predictions with the labels it is given, ten numbers), which is learning
from the data handed over, if little of it.
"""

import dataclasses
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.errors import DataError

KEY_NAME = "relabel.key"
KEY_BYTES = 32
_IDENTITY_FOR_TESTS = False  # tests only: grade without the renaming to show what it prevents


class SecretError(DataError):
    """The relabelling secret is unusable: a set-up problem that stops the grade, like missing data."""


@dataclass(frozen=True)
class Relabeling:
    """`mapping[c]` is the label that true class c gets in the check's data."""

    mapping: tuple

    def apply(self, labels):
        """True class indices -> the labels the child trains on and the parent compares with."""
        return np.asarray(self.mapping, dtype=np.int64)[np.asarray(labels, dtype=np.int64)]

    def restore(self, labels):
        """Renamed labels (a prediction, a per-class figure's classes) -> the true classes."""
        inverse = np.argsort(np.asarray(self.mapping, dtype=np.int64))
        return inverse[np.asarray(labels, dtype=np.int64)]

    def split(self, split):
        """The data set (grader.data.Split) with its training and test labels renamed; images unchanged."""
        return dataclasses.replace(split, train_y=self.apply(split.train_y), test_y=self.apply(split.test_y))


def classes_of(split):
    """The number of classes of a data set: one more than its largest label."""
    return int(max(split.train_y.max(), split.test_y.max())) + 1


def for_check(check, digest, classes):
    """The relabelling of `check` (a rubric Check) for the submission whose content has sha256 `digest`."""
    if _IDENTITY_FOR_TESTS:
        return Relabeling(tuple(range(classes)))
    message = f"{check.id}\0{check.seed}\0{digest}".encode("utf-8")
    return Relabeling(cycle(_Stream(secret(), message), classes))


def cycle(stream, n):
    """A uniformly drawn single n-cycle (Sattolo's shuffle) from `stream.below(k)`: no fixed point."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = stream.below(i)  # j < i: every element moves
        order[i], order[j] = order[j], order[i]
    return tuple(order)


class _Stream:
    """Uniform integers from HMAC-SHA256(key, message || counter), by rejection (no modulo bias)."""

    def __init__(self, key, message):
        self.key, self.message, self.counter, self.pool = key, message, 0, b""

    def below(self, k):
        limit = (1 << 32) - (1 << 32) % k
        while True:
            if len(self.pool) < 4:
                block = hmac.new(self.key, self.message + self.counter.to_bytes(8, "big"), hashlib.sha256)
                self.pool += block.digest()
                self.counter += 1
            value, self.pool = int.from_bytes(self.pool[:4], "big"), self.pool[4:]
            if value < limit:
                return value % k


def key_path():
    from grader.data import cache_dir

    return Path(os.environ.get("GRADER_RELABEL_KEY") or cache_dir() / KEY_NAME)


def secret():
    """The installation's secret, made on first use (mode 0600, atomically, so parallel workers agree)."""
    path = key_path()
    try:
        if not path.exists():
            _make(path)
        info = path.stat()
        if info.st_mode & 0o077 or not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise SecretError(f"the relabelling secret {path} must be a file of yours that only you can read "
                              f"(mode 0600); it may have been seen by others: delete it and a new one is made")
        key = path.read_bytes()  # a regular file, never a FIFO that would block
    except OSError as exc:
        raise SecretError(f"the relabelling secret {path} cannot be made or read ({exc.strerror or exc}); "
                          "make its folder writable or set GRADER_RELABEL_KEY to another file") from None
    if len(key) < KEY_BYTES:
        raise SecretError(f"the relabelling secret {path} is damaged ({len(key)} bytes); delete it and a new one "
                          "is made")
    return key


def _make(path):
    """A new random key at `path`, written whole under a temporary name and linked into place."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(KEY_BYTES))
    try:
        os.link(tmp, path)  # fails when another worker made it first: then its key is used
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
