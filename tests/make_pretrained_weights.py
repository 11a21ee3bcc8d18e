"""Writes tests/hostile/pretrained_weights.py: a lab07 submission whose model ships weights trained here
beforehand (int8, zlib, base64: about 13 KB of source) and whose `train_classifier` does nothing.

Run from the repository root: `.venv/bin/python -m tests.make_pretrained_weights`. It trains the lab07
classifier on the training images of the grader's MNIST (never its test images) with the true
labels, so that without the grader's secret relabelling the file scores the accuracy check in full.
"""

import base64
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from grader import data

TARGET = Path(__file__).resolve().parent / "hostile" / "pretrained_weights.py"

HEADER = '''\
# expect: accuracy=failed
# expect-message: accuracy~"below the required"
# backends: bwrap process
"""Pretrained weights: `train_classifier` does nothing, `build_classifier` loads weights trained
beforehand on MNIST's true labels (embedded below, written by tests/make_pretrained_weights.py).
Without the grader's secret relabelling it scores the accuracy check in full (tests/test_relabel.py
shows it); with it, its predictions of the true classes are wrong for every class."""
import base64
import zlib

import numpy as np
import torch
from torch import nn

SCALES = {scales}
BLOB = """
{blob}
"""


def build_classifier():
    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2), nn.Flatten(), nn.Linear(512, 10))
    raw = np.frombuffer(zlib.decompress(base64.b64decode("".join(BLOB.split()))), dtype=np.int8)
    state, at = {{}}, 0
    for (name, tensor), scale in zip(model.state_dict().items(), SCALES):
        size = tensor.numel()
        state[name] = torch.from_numpy(raw[at:at + size].astype(np.float32) * scale).reshape(tensor.shape)
        at += size
    model.load_state_dict(state)
    return model


def train_classifier(model, loader, epochs, lr=0.001):
    return [0.3 / (epoch + 1) for epoch in range(epochs)]  # no training: a made-up loss curve


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1)
'''


def _model():
    return nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 2), nn.Flatten(),
                         nn.Linear(512, 10))


def train(epochs=15):
    split = data.load("mnist")
    torch.manual_seed(0)
    x, y = torch.from_numpy(split.train_x), torch.from_numpy(split.train_y)
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model, split


def quantised(model):
    """(scales, int8 bytes) of every tensor of the state dict, in order."""
    scales, parts = [], []
    for tensor in model.state_dict().values():
        values = tensor.detach().numpy().ravel()
        scale = float(np.abs(values).max()) / 127 or 1.0
        scales.append(float(f"{scale:.6g}"))
        parts.append(np.clip(np.round(values / scales[-1]), -127, 127).astype(np.int8))
    return scales, np.concatenate(parts).tobytes()


def main():
    model, split = train()
    scales, raw = quantised(model)
    blob = "\n".join(textwrap.wrap(base64.b64encode(zlib.compress(raw, 9)).decode("ascii"), 100))
    TARGET.write_text(HEADER.format(scales=scales, blob=blob), encoding="utf-8")
    model.eval()
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(split.test_x)).argmax(1).numpy() == split.test_y).mean())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes); float accuracy on the test split {accuracy:.3f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
