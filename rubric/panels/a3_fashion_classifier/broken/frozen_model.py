# Calibration panel of a3_fashion_classifier, broken: the reference solution with one change:
# train's optimizer steps a copy of the model: the model trained stays as built.
# fails: train, train_sgd, cnn_accuracy
"""Assignment 3, Question 1: A simple classifier.

We provide demo code that trains a small network on Fashion-MNIST: 28 x 28 greyscale images of
ten kinds of clothing. Run through it "tutorial-style" to see what it does, then use it with the
lecture notes to implement, train and use neural networks in PyTorch: you will change the
training scheme and the network structure and report what you observe.

The grader hands your functions `DataLoader`s yielding `(x, y)`: `x` float32 images in [0, 1] of
shape (B, 1, 28, 28), `y` int64 labels 0..9. Models return raw logits (no softmax).
"""

# %%
import matplotlib.figure
import copy

import torch
from torch import nn

# %% [markdown]
# ## The demo's network
#
# The demo's multilayer perceptron (MLP), provided as is: it flattens each image and sends it
# through two hidden layers of 512 units. `build_mlp()` returns a fresh, untrained copy.

# %%
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):  # (N, 1, 28, 28) -> (N, 10) logits
        return self.linear_relu_stack(self.flatten(x))


def build_mlp() -> nn.Module:
    """The demo's base MLP, freshly initialised."""
    return NeuralNetwork()


# %% [markdown]
# ## Q1.1 The data (1 point)
#
# The labels 0-9 stand for clothing classes. Store their names, in label order, in `CLASS_NAMES`:
# 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
# 'Ankle boot'.
#
# Then extract 3 images of different types of clothing from the training dataset, print out the
# size/shape of the training images, and display the three with their class names:
#
# - `pick_examples(dataset, n)` returns `n` `(image, label)` pairs of `n` different classes taken
#   from a dataset such as the demo's `training_data` (item `i` is an `(image, label)` pair), each
#   image as the dataset holds it and each label an `int`;
# - `show_examples(examples)` returns a matplotlib Figure with one panel an image, each titled
#   with its class name.

# %%
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # SOLUTION


def pick_examples(dataset, n=3) -> list:
    """Return a list of `n` `(image, label)` pairs from `dataset`, each of a different class;
    `image` as the dataset holds it, `label` an int."""
    # BEGIN SOLUTION
    examples, seen = [], set()
    for index in range(len(dataset)):
        image, label = dataset[index]
        label = int(label)
        if label not in seen:
            seen.add(label)
            examples.append((image, label))
            if len(examples) == n:
                break
    return examples
    # END SOLUTION


def show_examples(examples) -> matplotlib.figure.Figure:
    """Return a Figure with one panel per `(image, label)` pair: the image, titled with the name
    of its class."""
    # BEGIN SOLUTION
    fig = matplotlib.figure.Figure(figsize=(3 * len(examples), 3.2))
    axes = fig.subplots(1, len(examples), squeeze=False)[0]
    for ax, (image, label) in zip(axes, examples):
        ax.imshow(torch.as_tensor(image).reshape(28, 28).numpy(), cmap="gray")
        ax.set_title(CLASS_NAMES[label])
        ax.axis("off")
    return fig
    # END SOLUTION


# %% [markdown]
# ## Q1.2 Learning rates (2 points)
#
# Run the training code for 10 epochs, for the learning rates 1, 0.1, 0.01 and 0.001. Fill in the
# table (learning rate, accuracy) and plot the loss curves of each experiment.
#
# - `train(model, train_loader, test_loader, epochs, lr)` trains `model` in place with SGD at
#   learning rate `lr` and cross-entropy; it returns `{"loss": [...], "accuracy": [...]}`: after
#   each epoch, the mean training loss and the accuracy (a fraction in 0..1) on `test_loader`;
# - `lr_sweep(train_loader, test_loader, lrs, epochs)` trains a fresh `build_mlp()` for each
#   learning rate and returns a dict: learning rate -> the history `train` returned;
# - `plot_loss_curves(histories)` draws a dict of histories (name -> history) as one labelled
#   loss curve a run, with a legend and both axes labelled.

# %%
def train(model, train_loader, test_loader, epochs, lr) -> dict:
    """Train `model` in place with SGD at `lr` on cross-entropy for `epochs` epochs; return
    `{"loss": [...], "accuracy": [...]}`, the mean training loss and the test accuracy (0..1)
    after each epoch."""
    # BEGIN SOLUTION
    optimizer = torch.optim.SGD(copy.deepcopy(model).parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "accuracy": []}
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
        history["loss"].append(total / max(count, 1))
        model.eval()
        correct, seen = 0, 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x).argmax(dim=1) == y).sum().item()
                seen += len(y)
        history["accuracy"].append(correct / max(seen, 1))
    return history
    # END SOLUTION


def lr_sweep(train_loader, test_loader, lrs=(1, 0.1, 0.01, 0.001), epochs=10) -> dict:
    """Train a fresh `build_mlp()` with `train` for each learning rate of `lrs`; return a dict
    learning rate -> history."""
    # BEGIN SOLUTION
    return {lr: train(build_mlp(), train_loader, test_loader, epochs, lr) for lr in lrs}
    # END SOLUTION


def plot_loss_curves(histories) -> matplotlib.figure.Figure:
    """Return a Figure with the training loss per epoch of every history in the dict
    `histories` (name -> history): one line a run, labelled with its name, a legend, and both
    axes labelled."""
    # BEGIN SOLUTION
    fig = matplotlib.figure.Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, history in histories.items():
        label = f"lr = {name:g}" if isinstance(name, (int, float)) else str(name)
        epochs = range(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.legend()
    return fig
    # END SOLUTION


# %% [markdown]
# ## Q1.3 Epochs to 90% (3 points)
#
# Report the number of epochs after which the accuracy reaches 90%, for each learning rate, and
# plot the loss curve of each experiment. `epochs_to_reach(history, target)` returns the first
# epoch (counting from 1) whose accuracy is at least `target`, or `None` when none is.

# %%
def epochs_to_reach(history, target=0.9):
    """The 1-based epoch at which `history["accuracy"]` first reaches `target`, else None."""
    # BEGIN SOLUTION
    for epoch, accuracy in enumerate(history["accuracy"], start=1):
        if accuracy >= target:
            return epoch
    return None
    # END SOLUTION


# %% [markdown]
# ## Q1.4 Learning rates compared (2 points)
#
# Compare the results of the tables of Q1.2 and Q1.3: what do you observe, and what is your
# understanding of the learning rate? Write your answer in `ANSWER_1_4`.

# %%
ANSWER_1_4 = "A rate of 1 is too large: the loss jumps around or diverges and accuracy stays low. 0.1 converges fastest and is the only one near 90% within 10 epochs; 0.01 learns steadily but slowly and 0.001 barely moves. The learning rate sets the step size: too big overshoots the minimum, too small wastes epochs."  # SOLUTION

# %% [markdown]
# ## Q1.5 Wider and deeper (5 points)
#
# Build a wider network (the same number of layers, more units in the hidden layer(s)) and a
# deeper one (more hidden layers); train each and record its accuracy and its number of
# trainable parameters, plot the loss curves, and write your conclusions in `ANSWER_1_5`.
# `count_parameters(model)` counts the trainable parameters only.

# %%
def build_wider_mlp() -> nn.Module:
    """The base MLP with more units in its hidden layers and the same number of layers."""
    # BEGIN SOLUTION
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 1024),
        nn.ReLU(),
        nn.Linear(1024, 1024),
        nn.ReLU(),
        nn.Linear(1024, 10),
    )
    # END SOLUTION


def build_deeper_mlp() -> nn.Module:
    """The base MLP with more hidden layers of the same width."""
    # BEGIN SOLUTION
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512),
        nn.ReLU(),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Linear(512, 10),
    )
    # END SOLUTION


def count_parameters(model) -> int:
    """The number of trainable parameters (entries of parameters that require gradients)."""
    # BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    # END SOLUTION


ANSWER_1_5 = "The wider MLP (1.86 M parameters) and the deeper one (1.20 M) reach about the same accuracy as the base (0.67 M), a point higher at best, at two to three times the cost; the deeper one starts more slowly with plain SGD. Adding capacity to an MLP buys little on Fashion-MNIST."  # SOLUTION

# %% [markdown]
# ## Q1.6 Gradients (2 points)
#
# Calculate the mean of the gradients of the loss with respect to all trainable parameters, and
# plot the curve of that mean over the first 100 training steps. What do you observe? The
# gradients are stored with the weights (`param.grad`) after `loss.backward()`.
#
# - `mean_gradient(model)` is the mean of every gradient entry of every trainable parameter,
#   after a backward pass;
# - `gradient_curve(model, loader, steps, lr)` takes `steps` plain SGD steps at `lr` on the
#   batches of `loader` (cross-entropy, gradients zeroed before each step) and returns the list
#   of `mean_gradient(model)` after each step's backward pass.

# %%
def mean_gradient(model) -> float:
    """The mean of all gradient entries of the trainable parameters of `model`, as a float."""
    # BEGIN SOLUTION
    grads = [p.grad.flatten() for p in model.parameters() if p.requires_grad and p.grad is not None]
    return torch.cat(grads).mean().item()
    # END SOLUTION


def gradient_curve(model, loader, steps=100, lr=0.1) -> list:
    """Train `model` with plain SGD at `lr` for `steps` steps on the batches of `loader`; return
    `mean_gradient(model)` after each step's backward pass."""
    # BEGIN SOLUTION
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    curve = []
    while len(curve) < steps:
        before = len(curve)
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            curve.append(mean_gradient(model))
            optimizer.step()
            if len(curve) == steps:
                break
        if len(curve) == before:
            raise ValueError("the loader is empty")
    return curve
    # END SOLUTION


# %% [markdown]
# ## Q1.7 A small CNN (5 points)
#
# Change the network to a small convolutional neural network and train it the same way. Discuss
# your findings about convergence, accuracy and number of parameters, relative to the MLPs, in
# `ANSWER_1_7`. Hint: look at the structure of the CNN in the Workshop 3 examples.

# %%
def build_small_cnn() -> nn.Module:
    """A small CNN for (N, 1, 28, 28) images returning 10 logits."""
    # BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),  # (N, 16, 28, 28)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 14, 14)
        nn.Conv2d(16, 32, 3, padding=1),  # (N, 32, 14, 14)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 7, 7)
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )
    # END SOLUTION


ANSWER_1_7 = "The small CNN has about 20 thousand parameters, 30 times fewer than the base MLP, yet it converges faster and reaches a higher accuracy (about 90% against 88% after 10 epochs), because its convolutions share weights across positions and see local patterns such as edges and textures."  # SOLUTION

# %% [markdown]
# ## Your written answers
#
# Keep this dictionary: the grader reads your answers from it.

# %%
ANSWERS = {"1.4": ANSWER_1_4, "1.5": ANSWER_1_5, "1.7": ANSWER_1_7}
