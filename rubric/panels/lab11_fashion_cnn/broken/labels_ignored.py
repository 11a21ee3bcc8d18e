# Calibration panel of lab11_fashion_cnn, broken: the reference solution with one change:
# train_epoch shuffles the labels of each batch.
# fails: bug_zero_grad, bug_mean_loss, accuracy
"""Lab 11: PyTorch - Convolutional Network.

Convolution by hand first: the size of a convolution's output, the classic 3x3 filters and a
cross-correlation written with loops. Then the basic CNN of PyTorch Lecture 10, and finally a
convolutional network of your own design that classifies Fashion-MNIST, trained with dropout and
learning-rate decay.

Every loader the grader gives your functions yields batches `(x, y)`: images `x` of shape
(B, 1, 28, 28), float32 in [0, 1], and int64 class indices `y`. Models return raw logits.
"""

# %%
import torch
import torch.nn.functional as F
from torch import nn

# %% [markdown]
# ## Part 1 - The only formula today
#
# A convolution with kernel size $k$, padding $p$ and stride $s$ turns $n_{in}$ input features
# (along one dimension) into
#
# $$n_{out} = \left\lfloor \frac{n_{in} + 2p - k}{s} \right\rfloor + 1$$
#
# output features. Write it as a function that returns an `int`.

# %%
def conv_output_size(n_in, kernel_size, padding=0, stride=1) -> int:
    """Return the number of output features of a convolution along one dimension:
    floor((n_in + 2 * padding - kernel_size) / stride) + 1, as an int."""
    # BEGIN SOLUTION
    return (n_in + 2 * padding - kernel_size) // stride + 1
    # END SOLUTION


# %% [markdown]
# ## Part 2 - Convolutional filters
#
# The lecture's table of 3x3 filters:
#
# | operation | name | filter |
# |---|---|---|
# | Identity | `identity` | [[0, 0, 0], [0, 1, 0], [0, 0, 0]] |
# | Edge detection | `edge_1` | [[1, 0, -1], [0, 0, 0], [-1, 0, 1]] |
# | Edge detection | `edge_2` | [[0, 1, 0], [1, -4, 1], [0, 1, 0]] |
# | Edge detection | `edge_3` | [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]] |
# | Sharpen | `sharpen` | [[0, -1, 0], [-1, 5, -1], [0, -1, 0]] |
# | Box blur (normalized) | `box_blur` | 1/9 [[1, 1, 1], [1, 1, 1], [1, 1, 1]] |
# | Gaussian blur (approximation) | `gaussian_blur` | 1/16 [[1, 2, 1], [2, 4, 2], [1, 2, 1]] |
#
# Return each filter as a float tensor of shape (3, 3); any other name raises `ValueError`.

# %%
def make_filter(name) -> torch.Tensor:
    """Return the lecture's 3x3 filter called `name` (identity, edge_1, edge_2, edge_3, sharpen,
    box_blur, gaussian_blur) as a float tensor of shape (3, 3); raise ValueError for any other name."""
    # BEGIN SOLUTION
    filters = {
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "edge_1": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
        "edge_2": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "edge_3": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "box_blur": [[1 / 9] * 3] * 3,
        "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    }
    if name not in filters:
        raise ValueError(f"unknown filter {name!r}; known: {', '.join(filters)}")
    return torch.tensor(filters[name], dtype=torch.float32)
    # END SOLUTION


# %% [markdown]
# ## Part 3 - Convolution by hand
#
# Slide the kernel over the image: at each position, multiply the patch under the kernel with the
# kernel element by element and add everything up (this is what `nn.Conv2d` computes: a
# cross-correlation, the kernel is not flipped). Move by `stride` pixels and pad the image with
# `padding` zeros on every side first. Use loops (or `Tensor.unfold`), not `F.conv2d`, and use
# `conv_output_size` for the size of the result.

# %%
def convolve2d(image, kernel, stride=1, padding=0) -> torch.Tensor:
    """Cross-correlate the 2-D `image` (H, W) with the 2-D `kernel` (kh, kw) by hand, with zero
    padding `padding` on every side and step `stride`; return a float tensor of shape
    (conv_output_size(H, kh, padding, stride), conv_output_size(W, kw, padding, stride))."""
    # BEGIN SOLUTION
    image = torch.as_tensor(image, dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    (height, width), (kh, kw) = image.shape, kernel.shape
    padded = torch.zeros(height + 2 * padding, width + 2 * padding)
    padded[padding:padding + height, padding:padding + width] = image
    out = torch.zeros(conv_output_size(height, kh, padding, stride), conv_output_size(width, kw, padding, stride))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            patch = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = (patch * kernel).sum()
    return out
    # END SOLUTION


# %% [markdown]
# ## Part 4 - The basic CNN of PyTorch Lecture 10
#
# Build the lecture's network for 28x28 greyscale images:
#
# - `conv1`: Conv2d 1 -> 10 channels, kernel 5x5, then 2x2 max pooling and ReLU
# - `conv2`: Conv2d 10 -> 20 channels, kernel 5x5, then 2x2 max pooling and ReLU
# - flatten, then `fc`: one Linear layer to 10 logits (no softmax)
#
# How many features does `fc` receive? Work it out by hand with the formula above and store it
# in `SIMPLE_FLATTEN`.

# %%
SIMPLE_FLATTEN = 20 * 4 * 4  # SOLUTION


class SimpleCNN(nn.Module):
    """The lecture-10 CNN: (N, 1, 28, 28) -> (N, 10) logits."""

    def __init__(self):
        super().__init__()
        # BEGIN SOLUTION
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(SIMPLE_FLATTEN, 10)
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        in_size = x.size(0)
        x = F.relu(self.mp(self.conv1(x)))
        x = F.relu(self.mp(self.conv2(x)))
        x = x.view(in_size, -1)
        return self.fc(x)
        # END SOLUTION


# %% [markdown]
# ## Part 5 - A convolutional network for Fashion-MNIST
#
# - Define at least 2 convolutional layers, each with several filters, an activation function
#   and pooling.
# - For regularisation, use dropout (it is enough to use it in the classifier part). Make sure it
#   is only active in training mode.
# - Compute by hand the number of neurons after the last convolutional block (what the first
#   Linear layer of the classifier receives) and store it in `FASHION_FLATTEN`.
#
# The model maps (N, 1, 28, 28) to (N, 10) logits.

# %%
FASHION_FLATTEN = 32 * 7 * 7  # SOLUTION


class FashionCNN(nn.Module):
    """Your Fashion-MNIST CNN: (N, 1, 28, 28) -> (N, 10) logits, with dropout in the classifier."""

    def __init__(self):
        super().__init__()
        # BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 16, 14, 14)
            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 32, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(FASHION_FLATTEN, 128),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(128, 10),
        )
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        return self.classifier(self.features(x))
        # END SOLUTION


# %% [markdown]
# ## Part 6 - Training with learning-rate decay, and two bugs
#
# - `make_optimizer(model, lr)` returns an optimizer over the model's parameters at rate `lr`,
#   and a learning-rate scheduler that lowers the rate as the epochs pass (`scheduler.step()` is
#   called once an epoch). The grader trains for only 2 or 3 epochs: let the rate go down after
#   every epoch (e.g. `torch.optim.lr_scheduler.ExponentialLR` or `StepLR(step_size=1)`).
# - `train_epoch` trains for one epoch and returns the mean loss per sample. The loop you are given
#   has two bugs: find them and fix them.
# - `fit` puts it together: one `train_epoch` and one `scheduler.step()` an epoch; it returns
#   `{"loss": [...], "lr": [...]}`, the mean training loss and the learning rate of each epoch.
#   The grader calls it without `lr`: choose a default that trains your model well in 2 epochs.

# %%
def make_optimizer(model, lr):
    """Return `(optimizer, scheduler)`: an optimizer over every trainable parameter of `model` at
    learning rate `lr`, and a scheduler that lowers the rate at each `scheduler.step()` (once an
    epoch) and never raises it."""
    # BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.7)
    return optimizer, scheduler
    # END SOLUTION


def train_epoch(model, loader, criterion, optimizer) -> float:
    """Train `model` for one epoch on the (x, y) batches of `loader` and return the mean loss per
    sample over the epoch, as a float. The loop the template ships has two bugs: find and fix them."""
    # BEGIN SOLUTION
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y[torch.randperm(len(y))])
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
        count += x.size(0)
    return total / count
    # END SOLUTION
    # BEGIN TEMPLATE
    # model.train()
    # total = 0.0
    # for x, y in loader:
    #     outputs = model(x)
    #     loss = criterion(outputs, y)
    #     loss.backward()
    #     optimizer.step()
    #     total += loss.item()
    # return total / len(loader.dataset)
    # END TEMPLATE


def fit(model, loader, epochs, lr=5e-3) -> dict:
    """Train `model` in place for `epochs` epochs with cross-entropy, `make_optimizer(model, lr)`
    and `train_epoch`, stepping the scheduler once an epoch; return `{"loss": [...], "lr": [...]}`:
    the mean training loss and the learning rate used, one float each per epoch."""
    # BEGIN SOLUTION
    optimizer, scheduler = make_optimizer(model, lr)
    criterion = nn.CrossEntropyLoss()
    history = {"loss": [], "lr": []}
    for _ in range(epochs):
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["loss"].append(train_epoch(model, loader, criterion, optimizer))
        scheduler.step()
    return history
    # END SOLUTION


# %% [markdown]
# ## Part 7 - Predictions
#
# Return the predicted class of each image, with the model in evaluation mode (dropout off) and
# without tracking gradients.

# %%
def predict(model, x) -> torch.Tensor:
    """Return the predicted class index of each image of `x` as an int64 tensor (N,), computed in
    eval mode without gradients."""
    # BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1)
    # END SOLUTION
