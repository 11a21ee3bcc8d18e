"""The secret relabelling of training checks (grader/relabel.py): a permutation with no fixed point,
stable for a submission, drawn from a secret made once with mode 0600; the training kinds send
renamed labels and compare with renamed labels, so a model that learns from the labels handed
over keeps its accuracy exactly while one trained beforehand scores near 0."""

import os
import stat
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from grader import relabel
from grader.data import Split
from grader.rubric import Check


HOST_CACHE = os.environ.get("XDG_CACHE_HOME")  # before the fixture points it at a temporary folder


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
    with pytest.raises(relabel.SecretError, match="only you can read"):
        relabel.secret()


def test_a_damaged_secret_is_refused(own_key):
    relabel.secret()
    own_key.write_bytes(b"short")
    with pytest.raises(relabel.SecretError, match="damaged"):
        relabel.secret()


def test_a_secret_that_cannot_be_made_is_a_set_up_error_naming_the_way_out(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GRADER_RELABEL_KEY", str(blocker / "relabel.key"))
    with pytest.raises(relabel.SecretError, match="GRADER_RELABEL_KEY"):
        relabel.secret()


def test_grader_relabel_key_names_a_shared_secret(tmp_path, monkeypatch, own_key):
    shared = tmp_path / "shared.key"
    monkeypatch.setenv("GRADER_RELABEL_KEY", str(shared))
    key = relabel.secret()
    assert shared.read_bytes() == key and not own_key.exists()


# ---- the training kinds, with a fake child ------------------------------------------------------

def _clusters(seed=0, train=7000, test=1500, classes=10):
    """A synthetic data set of ten well separated clusters of 784 values in [0, 1]."""
    rng = np.random.default_rng(seed)
    centres = (0.5 + 0.04 * rng.normal(size=(classes, 784))).astype(np.float32)

    def draw(n):
        y = rng.integers(0, classes, n).astype(np.int64)
        x = np.clip(centres[y] + rng.normal(0, 0.3, (n, 784)).astype(np.float32), 0, 1).astype(np.float32)
        return x, y
    (train_x, train_y), (test_x, test_y) = draw(train), draw(test)
    return Split(train_x, train_y, test_x, test_y, "clusters")


DATA = _clusters()


def _centroids(train_x, train_y, x):
    """A learner that uses only the labels it is given: the nearest class mean (exactly label-equivariant)."""
    labels = np.unique(train_y)
    means = np.stack([train_x[train_y == c].mean(axis=0) for c in labels])
    return labels[((x[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)].astype(np.int64)


def _pretrained(x):
    """A model trained beforehand on the true labels: it knows every image's true class."""
    rows = {row.tobytes(): label for row, label in zip(DATA.test_x, DATA.test_y)}
    return np.array([rows[row.astype(np.float32).tobytes()] for row in x.reshape(len(x), -1)], dtype=np.int64)


class FakeSession:
    """Answers the training probes as a child would: from the npz file the parent put in the work folder."""

    def __init__(self, workdir, learner):
        self.workdir, self.learner = workdir, learner

    def probe(self, name, args, **_):
        data = np.load(self.workdir / args["data"], allow_pickle=False)
        flat = {k: data[k].reshape(len(data[k]), -1) if k.endswith("_x") else data[k] for k in data.files}
        held = args.get("validation", 0)
        train_x, train_y = flat["train_x"], flat["train_y"]
        if held:
            train_x, train_y = train_x[:-held], train_y[:-held]

        def guess(x):
            if self.learner == "pretrained":
                return _pretrained(x)
            return _centroids(train_x, train_y, x)
        if name == "train_predict":
            return {"losses": [0.5] * args["epochs"], "predictions": guess(flat["test_x"])}
        if name == "train_history_run":
            predictions = guess(flat["val_x"])
            accuracy = float(np.mean(predictions == flat["val_y"]))  # on the labels it was given
            return {"class": "Net", "is_module": True, "moved": 0.1, "predictions": predictions,
                    "history": {"loss": [1.0, 0.5][:args["epochs"]], "accuracy": [accuracy] * args["epochs"]}}
        raise AssertionError(f"unexpected probe {name}")


TRAINING_CHECKS = [("lab07_convnets", "accuracy"), ("lab11_fashion_cnn", "accuracy"),
                   ("a3_fashion_classifier", "cnn_accuracy"), ("a3_fashion_classifier", "train")]


def _run(assignment, check_id, learner, tmp_path):
    from grader import rubric as rubrics
    from grader.checks.context import CheckContext
    from grader.checks.registry import KINDS, Fail

    [check] = [c for c in rubrics.load(assignment).checks if c.id == check_id]
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    ctx = CheckContext(check, FakeSession(workdir, learner), workdir, lambda: DATA, digest="12" * 32)
    try:
        verdict = KINDS[check.kind].run(ctx)
        return verdict.passed, verdict.value, verdict.message
    except Fail as exc:
        return False, exc.value, exc.message


@pytest.mark.parametrize("assignment,check_id", TRAINING_CHECKS, ids=[f"{a}-{c}" for a, c in TRAINING_CHECKS])
def test_a_learner_of_the_labels_given_scores_exactly_as_without_renaming(assignment, check_id, tmp_path,
                                                                          monkeypatch):
    renamed = _run(assignment, check_id, "centroids", tmp_path)
    monkeypatch.setattr(relabel, "_IDENTITY_FOR_TESTS", True)
    plain = _run(assignment, check_id, "centroids", tmp_path)
    assert renamed[0] and plain[0], (renamed, plain)
    assert renamed[1] == plain[1]  # zero cost: the same accuracy, to the last image
    assert list((tmp_path / "work").iterdir()) == []  # the data file for the child is removed


@pytest.mark.parametrize("assignment,check_id", TRAINING_CHECKS[:3], ids=[f"{a}-{c}" for a, c in TRAINING_CHECKS[:3]])
def test_a_model_trained_beforehand_scores_zero_with_renaming_and_full_without(assignment, check_id, tmp_path,
                                                                              monkeypatch):
    passed, accuracy, message = _run(assignment, check_id, "pretrained", tmp_path)
    assert not passed and accuracy == 0.0, message  # every class renamed: every true-class answer is wrong
    monkeypatch.setattr(relabel, "_IDENTITY_FOR_TESTS", True)
    passed, accuracy, message = _run(assignment, check_id, "pretrained", tmp_path)
    if check_id != "cnn_beats_mlp":  # (there the baseline, trained beforehand too, ties)
        assert passed and accuracy == 1.0, message


def test_checks_showing_a_labels_own_class_keep_the_true_labels(tmp_path):
    """pick_examples and examples_figure read ctx.data(): the true labels and class names."""
    from grader.checks.context import CheckContext
    from grader import rubric as rubrics

    [check] = [c for c in rubrics.load("a3_fashion_classifier").checks if c.id == "pick_examples"]
    ctx = CheckContext(check, None, tmp_path, lambda: DATA, digest="12" * 32)
    assert np.array_equal(ctx.data().train_y, DATA.train_y)
    assert not np.any(ctx.training_data().train_y == DATA.train_y)


# ---- sandboxed: the hostile submission and the secret -------------------------------------------

PRETRAINED = Path(__file__).resolve().parent / "hostile" / "pretrained_weights.py"


def _grade_accuracy(path, sandbox="auto"):
    from grader import rubric as rubrics
    from grader.grading import Options, grade_file

    [result] = grade_file(path, rubrics.load("lab07_convnets"), Options(sandbox=sandbox, only=("accuracy",))).checks
    return result


@pytest.mark.sandbox
@pytest.mark.slow
def test_weights_trained_beforehand_score_zero_with_the_relabelling_and_full_marks_without(monkeypatch):
    """tests/hostile/pretrained_weights.py: `train_classifier` does nothing, the model is MNIST-trained."""
    result = _grade_accuracy(PRETRAINED)
    assert result.status == "failed" and result.points == 0, result.message
    assert result.value < 0.05, result.message  # below chance (10 %): every true class is renamed
    assert "below the required" in result.message
    monkeypatch.setattr(relabel, "_IDENTITY_FOR_TESTS", True)
    result = _grade_accuracy(PRETRAINED)
    assert result.status == "passed" and result.points == result.max_points, result.message
    assert result.value >= 0.9


@pytest.mark.sandbox
@pytest.mark.skipif(not __import__("grader.sandbox.bwrap", fromlist=["available"]).available()[0],
                    reason="bubblewrap sandbox unavailable")
def test_the_sandboxed_child_cannot_read_the_secret(tmp_path, monkeypatch):
    """A submission that reads the installation's secret file at import: under bwrap it is not there."""
    from grader import rubric as rubrics
    from grader.grading import Options, grade_file

    if HOST_CACHE:
        monkeypatch.setenv("XDG_CACHE_HOME", HOST_CACHE)
    else:
        monkeypatch.delenv("XDG_CACHE_HOME")
    relabel.secret()  # the real one, in the grader's cache folder, as grading makes it
    own_key = relabel.key_path()
    attacker = tmp_path / "lab07_convnets.py"
    attacker.write_text(f"try:\n    INTERMEDIATE_SIZE = 512 if open({str(own_key)!r}, 'rb').read() else 0\n"
                        "except OSError:\n    INTERMEDIATE_SIZE = -1\n", encoding="utf-8")
    [result] = grade_file(attacker, rubrics.load("lab07_convnets"),
                          Options(sandbox="bwrap", only=("intermediate_size",))).checks
    assert result.status == "failed" and "-1" in result.message, result.message
    [result] = grade_file(attacker, rubrics.load("lab07_convnets"),
                          Options(sandbox="process", only=("intermediate_size",))).checks
    assert result.status == "passed", result.message  # the unisolated backend hides nothing (documented)


def test_the_gradescope_image_makes_its_secret_once_at_build_time():
    """Gradescope runs each submission in a fresh container of one image: the secret is made when the
    image is built, so that a regrade uses the same renaming (and gives the same score)."""
    from grader.release import SETUP

    lines = SETUP.splitlines()
    made = [i for i, line in enumerate(lines) if "relabel.secret()" in line]
    installed = [i for i, line in enumerate(lines) if "pip install /autograder/source" in line]
    assert made and installed and made[0] > installed[0]
