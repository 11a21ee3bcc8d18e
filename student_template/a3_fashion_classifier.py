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
CLASS_NAMES = None  # TODO: replace None with your answer


def pick_examples(dataset, n=3) -> list:
    """Return a list of `n` `(image, label)` pairs from `dataset`, each of a different class;
    `image` as the dataset holds it, `label` an int."""
    raise NotImplementedError("pick_examples: not implemented yet")


def show_examples(examples) -> matplotlib.figure.Figure:
    """Return a Figure with one panel per `(image, label)` pair: the image, titled with the name
    of its class."""
    raise NotImplementedError("show_examples: not implemented yet")


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
    raise NotImplementedError("train: not implemented yet")


def lr_sweep(train_loader, test_loader, lrs=(1, 0.1, 0.01, 0.001), epochs=10) -> dict:
    """Train a fresh `build_mlp()` with `train` for each learning rate of `lrs`; return a dict
    learning rate -> history."""
    raise NotImplementedError("lr_sweep: not implemented yet")


def plot_loss_curves(histories) -> matplotlib.figure.Figure:
    """Return a Figure with the training loss per epoch of every history in the dict
    `histories` (name -> history): one line a run, labelled with its name, a legend, and both
    axes labelled."""
    raise NotImplementedError("plot_loss_curves: not implemented yet")


# %% [markdown]
# ## Q1.3 Epochs to 90% (3 points)
#
# Report the number of epochs after which the accuracy reaches 90%, for each learning rate, and
# plot the loss curve of each experiment. `epochs_to_reach(history, target)` returns the first
# epoch (counting from 1) whose accuracy is at least `target`, or `None` when none is.

# %%
def epochs_to_reach(history, target=0.9):
    """The 1-based epoch at which `history["accuracy"]` first reaches `target`, else None."""
    raise NotImplementedError("epochs_to_reach: not implemented yet")


# %% [markdown]
# ## Q1.4 Learning rates compared (2 points)
#
# Compare the results of the tables of Q1.2 and Q1.3: what do you observe, and what is your
# understanding of the learning rate? Write your answer in `ANSWER_1_4`.

# %%
ANSWER_1_4 = None  # TODO: replace None with your answer

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
    raise NotImplementedError("build_wider_mlp: not implemented yet")


def build_deeper_mlp() -> nn.Module:
    """The base MLP with more hidden layers of the same width."""
    raise NotImplementedError("build_deeper_mlp: not implemented yet")


def count_parameters(model) -> int:
    """The number of trainable parameters (entries of parameters that require gradients)."""
    raise NotImplementedError("count_parameters: not implemented yet")


ANSWER_1_5 = None  # TODO: replace None with your answer

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
    raise NotImplementedError("mean_gradient: not implemented yet")


def gradient_curve(model, loader, steps=100, lr=0.1) -> list:
    """Train `model` with plain SGD at `lr` for `steps` steps on the batches of `loader`; return
    `mean_gradient(model)` after each step's backward pass."""
    raise NotImplementedError("gradient_curve: not implemented yet")


# %% [markdown]
# ## Q1.7 A small CNN (5 points)
#
# Change the network to a small convolutional neural network and train it the same way. Discuss
# your findings about convergence, accuracy and number of parameters, relative to the MLPs, in
# `ANSWER_1_7`. Hint: look at the structure of the CNN in the Workshop 3 examples.

# %%
def build_small_cnn() -> nn.Module:
    """A small CNN for (N, 1, 28, 28) images returning 10 logits."""
    raise NotImplementedError("build_small_cnn: not implemented yet")


ANSWER_1_7 = None  # TODO: replace None with your answer

# %% [markdown]
# ## Your written answers
#
# Keep this dictionary: the grader reads your answers from it.

# %%
ANSWERS = {"1.4": ANSWER_1_4, "1.5": ANSWER_1_5, "1.7": ANSWER_1_7}
