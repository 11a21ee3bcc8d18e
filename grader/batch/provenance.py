"""What a stored result was graded with: the key that `--resume` and the class files compare.

A result counts as current only when every part of its key equals the batch's: the submission's
content, the rubric (its digest), the TA's manual scores of that submission, the sandbox kind
(bwrap or process), the device, the data set (a digest of its arrays), the grader's version (a
digest of the package's files, so an edited check kind counts) and the checks and torch threads
asked for. Anything else is graded again, or, when the run stops first, marked stale.
"""

import functools
import hashlib
from pathlib import Path

import numpy as np

import grader
from grader.checks import KINDS

PACKAGE = Path(grader.__file__).resolve().parent
FIELDS = {  # key field -> how a difference is told to the TA
    "submission_sha256": "the file changed", "rubric_sha256": "another rubric", "manual_sha256": "other manual scores",
    "sandbox": "sandbox", "device": "device", "dataset_sha256": "another data set", "grader": "another grader version",
    "checks": "other checks", "threads": "torch threads",
}


@functools.lru_cache(maxsize=1)
def grader_fingerprint():
    """`<version>+<digest of every file of the grader package>`."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{grader.__version__}+{digest.hexdigest()[:16]}"


@functools.lru_cache(maxsize=4)
def dataset_fingerprint(dataset, data_dir=None):
    """A digest of the data set's arrays (shape, dtype and bytes of each), as grader.data loads it."""
    from grader import data as datasets

    split = datasets.load(dataset, data_dir)
    digest = hashlib.sha256(dataset.encode())
    for array in (split.train_x, split.train_y, split.test_x, split.test_y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def uses_data(rubric, options):
    return any(KINDS[c.kind].uses_data for c in selected_checks(rubric, options))


def selected_checks(rubric, options):
    return [c for c in rubric.selected(options.visibility) if not options.only or c.id in options.only]


def batch_key(rubric, options, sandbox_kind, dataset=None):
    """The parts of the key shared by every submission of a batch. `dataset` (a fingerprint) is
    computed here when not given and the selected checks train."""
    if dataset is None:
        dataset = dataset_fingerprint(rubric.dataset, options.data_dir) if uses_data(rubric, options) else "none"
    return {"rubric_sha256": rubric.digest, "sandbox": sandbox_kind, "device": options.device,
            "dataset_sha256": dataset, "grader": grader_fingerprint(),
            "checks": [c.id for c in selected_checks(rubric, options)], "threads": options.threads}


def submission_key(batch, content_hash, manual_digest=""):
    return dict(batch, submission_sha256=content_hash, manual_sha256=manual_digest)


def differences(stored, wanted):
    """What differs between a stored key and the wanted one, in words ([] when they agree)."""
    if not isinstance(stored, dict):
        return ["graded by an older grader that recorded no key"]
    out = []
    for name, words in FIELDS.items():
        if stored.get(name) != wanted.get(name):
            if name in ("sandbox", "device", "threads"):
                out.append(f"{words} {stored.get(name)} (now {wanted.get(name)})")
            else:
                out.append(words)
    return out
