"""The secret relabelling of training checks (grader/relabel.py): a permutation with no fixed point,
stable for a submission, drawn from a secret made once with mode 0600; the training kinds send
renamed labels and compare with renamed labels, so a model that learns from the labels handed
over keeps its accuracy exactly while one trained beforehand scores near 0."""

import os
import stat
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from grader import relabel
from grader.data import Split
from grader.errors import GraderError
from grader.rubric import Check


def _check(check_id="accuracy", seed=7):
    return Check(check_id, "t", "min_accuracy", 1.0, "public", 10.0, {}, seed)


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """Every test gets its own installation secret (the grader's cache folder under tmp_path)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_RELABEL_KEY", raising=False)
    return tmp_path / "cache" / "grader" / relabel.KEY_NAME


# ---- the permutation ----------------------------------------------------------------------------

def test_every_permutation_moves_every_class():
    seen = set()
    for n in range(400):
        mapping = relabel.for_check(_check(seed=n), f"{n:064x}", 10).mapping
        assert sorted(mapping) == list(range(10))
        assert all(mapping[c] != c for c in range(10)), mapping  # no fixed point, so never the identity
        seen.add(mapping)
    assert len(seen) > 390  # drawn, not one fixed renaming


def test_the_permutation_is_one_cycle_through_all_classes():
    mapping = relabel.for_check(_check(), "ab" * 32, 10).mapping
    c, visited = 0, []
    for _ in range(10):
        visited.append(c)
        c = mapping[c]
    assert sorted(visited) == list(range(10)) and c == 0


def test_stable_for_a_submission_and_different_for_another():
    a = relabel.for_check(_check(), "aa" * 32, 10)
    assert relabel.for_check(_check(), "aa" * 32, 10) == a  # the same submission graded twice
    others = {relabel.for_check(_check(), f"{d:064x}", 10) for d in range(20)}
    assert len(others) > 15
    by_check = {relabel.for_check(_check(f"check_{i}"), "aa" * 32, 10) for i in range(20)}
    assert len(by_check) > 15  # keyed with the check id too


def test_another_installation_secret_gives_another_permutation(own_key):
    first = [relabel.for_check(_check(seed=s), "cd" * 32, 10) for s in range(10)]
    own_key.unlink()
    second = [relabel.for_check(_check(seed=s), "cd" * 32, 10) for s in range(10)]
    assert first != second


def test_apply_and_restore_are_inverse():
    r = relabel.for_check(_check(), "ef" * 32, 10)
    labels = np.arange(10).repeat(3)
    renamed = r.apply(labels)
    assert renamed.dtype == np.int64 and not np.any(renamed == labels)
    assert np.array_equal(r.restore(renamed), labels)


def test_split_renames_train_and_test_labels_and_keeps_images():
    rng = np.random.default_rng(0)
    split = Split(rng.random((50, 4), dtype=np.float32), rng.integers(0, 10, 50), rng.random((20, 4), dtype=np.float32),
                  rng.integers(0, 10, 20), "test")
    r = relabel.for_check(_check(), "01" * 32, relabel.classes_of(split))
    renamed = r.split(split)
    assert renamed.train_x is split.train_x and renamed.test_x is split.test_x
    assert np.array_equal(renamed.train_y, r.apply(split.train_y))
    assert np.array_equal(renamed.test_y, r.apply(split.test_y))
    assert sorted(Counter(renamed.train_y.tolist()).values()) == sorted(Counter(split.train_y.tolist()).values())


def test_the_test_switch_gives_the_identity(monkeypatch):
    monkeypatch.setattr(relabel, "_IDENTITY_FOR_TESTS", True)
    assert relabel.for_check(_check(), "00" * 32, 10).mapping == tuple(range(10))


# ---- the secret ---------------------------------------------------------------------------------

def test_secret_is_made_once_with_mode_0600(own_key):
    assert not own_key.exists()
    key = relabel.secret()
    assert len(key) == relabel.KEY_BYTES
    assert stat.S_IMODE(own_key.stat().st_mode) == 0o600
    assert relabel.secret() == key
    assert [p.name for p in own_key.parent.iterdir()] == [relabel.KEY_NAME]  # no temporary file left


def test_a_secret_others_can_read_is_refused(own_key):
    relabel.secret()
    os.chmod(own_key, 0o644)
    with pytest.raises(GraderError, match="only you can read"):
        relabel.secret()


def test_a_damaged_secret_is_refused(own_key):
    relabel.secret()
    own_key.write_bytes(b"short")
    with pytest.raises(GraderError, match="damaged"):
        relabel.secret()


def test_grader_relabel_key_names_a_shared_secret(tmp_path, monkeypatch, own_key):
    shared = tmp_path / "shared.key"
    monkeypatch.setenv("GRADER_RELABEL_KEY", str(shared))
    key = relabel.secret()
    assert shared.read_bytes() == key and not own_key.exists()
