# Calibration panel of pooling, correct: the reference solution with one change:
# train_pooling_net's default rate is Adam's usual 1e-3.
"""Pooling, stride and padding.

A fifth course's one assignment (the harness's proof of extensibility, after seed 001's
"Convolutional pooling", "Convolutional stride" and "Padding" slides), on Fashion-MNIST.
The only formula today: n_out = floor((n_in + 2p - k) / s) + 1.
"""

# %%
import torch
from torch import nn

# %% [markdown]
# ## Step 1 - The only formula
#
# A convolution or pooling window of size `kernel`, moved by `stride` over an input of `size`
# features padded with `padding` on each side, gives floor((size + 2 padding - kernel) / stride) + 1
# outputs. Write it as a function.

# %%
def pooled_size(size, kernel, stride=1, padding=0) -> int:
    """Return the number of outputs (an int) of a window of `kernel` moved by `stride` over
    `size` inputs padded with `padding` on each side."""
    # BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    # END SOLUTION


# %% [markdown]
# ## Step 2 - Max pooling by hand
#
# Without torch's pooling functions, return the maximum of each `kernel` x `kernel` window of a
# 2-D tensor, the windows moved by `stride` (no padding).

# %%
def max_pool(x, kernel, stride) -> torch.Tensor:
    """Return the (H_out, W_out) tensor of the maxima of the `kernel` x `kernel` windows of the
    (H, W) tensor `x`, moved by `stride` in both directions."""
    # BEGIN SOLUTION
    windows = x.unfold(0, kernel, stride).unfold(1, kernel, stride)
    return windows.amax(dim=(-2, -1))
    # END SOLUTION


# %% [markdown]
# ## Step 3 - A network that pools
#
# Build, for images of shape (N, 1, 28, 28):
#
# - Conv 5 x 5 (1 -> 8 channels, padding 2) -> ReLU -> MaxPool 2 x 2
# - Conv 3 x 3 (8 -> 16 channels, padding 1) -> ReLU -> MaxPool 2 x 2
# - Flatten -> Dropout(0.25) -> Linear(FEATURES, 10)
#
# Compute by hand the number of features after the last pooling layer and store it in `FEATURES`.

# %%
FEATURES = 16 * 7 * 7  # SOLUTION


def build_pooling_net() -> nn.Module:
    """Return the network above as an `nn.Sequential` mapping (N, 1, 28, 28) to 10 logits."""
    # BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(FEATURES, 10),
    )
    # END SOLUTION


# %% [markdown]
# ## Step 4 - Train it with a decaying learning rate
#
# Train with Adam and `torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=gamma)`,
# stepping the scheduler once an epoch. First write down the rate each epoch uses.

# %%
def decayed_rates(lr, gamma, epochs) -> list:
    """Return the learning rate (a float) each of `epochs` epochs trains with when StepLR
    (step_size=1, `gamma`) starts at `lr`."""
    # BEGIN SOLUTION
    return [lr * gamma**epoch for epoch in range(epochs)]
    # END SOLUTION


def train_pooling_net(model, loader, epochs, lr=1e-3, gamma=0.7) -> list:
    """Train `model` in place with cross-entropy on the (x, y) batches of `loader`, Adam at `lr`
    decayed by StepLR(step_size=1, `gamma`) each epoch; return each epoch's mean loss (floats)."""
    # BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=gamma)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
        scheduler.step()
        history.append(total / max(count, 1))
    return history
    # END SOLUTION
