"""What a check kind gets to work with: its parameters, the child, a time budget and the data."""

import time
from dataclasses import dataclass, field
from typing import Callable

from grader.checks.registry import KINDS
from grader import relabel
from grader.sandbox.values import Encoder


class UndeclaredProbe(Exception):
    """A check kind asked for a probe it does not declare: a bug of the grader, reported as ours."""


@dataclass
class CheckContext:
    """One check being run: `probe`/`call` ask the child within the check's remaining time."""

    check: object
    session: object
    workdir: object
    data: Callable = None  # returns the rubric's data set (grader.data.Split), loaded on first use
    device: str = "cpu"  # where training probes put the model and data
    digest: str = ""  # sha256 of the submission's staged source: keys the secret relabelling
    oracle: object = None  # grader.checks.oracle.Oracle: the reference solution's answers
    started: float = field(default_factory=time.monotonic)

    @property
    def params(self):
        return self.check.params

    def relabeling(self):
        """This check's secret renaming of the classes for this submission (grader.relabel)."""
        return relabel.for_check(self.check, self.digest, relabel.classes_of(self.data()))

    def training_data(self):
        """The data set with its classes renamed: what training kinds send (labels) and compare with."""
        return self.relabeling().split(self.data())

    def _declared(self, name):
        kind = KINDS.get(self.check.kind)
        if kind is None or name not in kind.probes:
            raise UndeclaredProbe(f"check kind {self.check.kind!r} asked for probe {name!r}, which it does not "
                                  f"declare (it declares {', '.join(kind.probes) if kind else 'nothing'})")

    def remaining(self):
        return max(0.5, self.check.time_limit - (time.monotonic() - self.started))

    def probe(self, name, doing, /, call_args=None, blobs=None, **args):
        """Run probe `name`; `call_args` (a list, arrays wrapped in values.Tensor) go to the student call.
        Only a probe the kind declares (`check_kind(..., probes=...)`) is sent to the child."""
        self._declared(name)
        args, blobs = _with_call_args(args, blobs, call_args)
        return self.session.probe(name, args, timeout=self.remaining(), seed=self.check.seed,
                                  blobs=blobs, doing=doing, limit=self.check.time_limit)

    def expected(self, name, doing, /, call_args=None, blobs=None, **args):
        """What the reference solution answers to the probe `probe(name, ...)` would send the student
        (grader.checks.oracle: its own child, cached). Only a declared probe may be asked."""
        self._declared(name)
        if self.oracle is None:
            raise UndeclaredProbe(f"check kind {self.check.kind!r} needs the reference solution, but no oracle was given")
        args, blobs = _with_call_args(args, blobs, call_args)
        return self.oracle.expected(self.check, name, args, blobs, doing)

    def call(self, function, *args):
        """Call student function `function` with plain arguments (wrap arrays in values.Tensor)."""
        return self.probe("call", f"`{function}`", call_args=args, function=function)


def _with_call_args(args, blobs, call_args):
    """The request's arguments with `call_args` encoded under "args" (arrays as blobs)."""
    if call_args is None:
        return args, blobs
    encoder = Encoder()
    args = {**args, "args": encoder.encode(list(call_args))}
    return args, {**(blobs or {}), **encoder.blobs}
