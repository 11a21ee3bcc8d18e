# Calibration panel of lab07_convnets, broken: the reference solution with one change:
# train_classifier shuffles the labels of each batch: the loss ignores which
# image has which label.
# fails: train_mean_loss, accuracy
"""Lab 07: Training Convolutional Nets.

In this exercise we look more closely at convolutional networks. The key ideas behind
convnets are local connectivity and weight sharing, which lead us to convolutions.
Before learning convolutional filters, we construct some by hand.
"""

# %%
import io

import matplotlib.figure
import numpy as np
import requests
import torch
import torchvision
from PIL import Image
from torch import nn

# %% [markdown]
# ## Step 1 - Image processing
#
# Write a function that downloads an image at a given URL, converts it to greyscale
# and returns it as a 2-D array of shape (H, W).
#
# Tip: use the `requests` and the `PIL` Python libraries.

# %%
def load_greyscale(url: str) -> np.ndarray:
    """Download the image at `url` with `requests`, convert it to greyscale with PIL
    and return it as a 2-D numpy array (H, W) with values 0..255 (or 0..1)."""
    # BEGIN SOLUTION
    response = requests.get(url, timeout=10)
    image = Image.open(io.BytesIO(response.content)).convert("L")
    return np.asarray(image)
    # END SOLUTION


# %% [markdown]
# ## Step 2 - The torch.nn.Conv2d object
#
# Research how to access the parameters of the convolution module `torch.nn.Conv2d`
# and make sure you understand how kernel size, input channels and output channels
# define the shapes of the parameter tensors.

# %%
def conv_parameter_shapes(in_channels, out_channels, kernel_size) -> dict:
    """Create a real `nn.Conv2d(in_channels, out_channels, kernel_size)` (kernel_size is
    an int or a pair) and return `{"weight": <shape tuple>, "bias": <shape tuple>}`
    read off its parameters."""
    # BEGIN SOLUTION
    conv = nn.Conv2d(in_channels, out_channels, kernel_size)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}
    # END SOLUTION


# %% [markdown]
# ## Step 3 - Manually creating convolutions
#
# Create a Conv2d module with 1 input channel, 2 output channels and kernel size 3:
#
# - set the weights of the first output channel to a vertical edge detector,
# - set the weights of the second output channel to a horizontal edge detector,
# - neither channel may respond to flat (constant) regions of the image.
#
# Then apply it to a greyscale image of your choice (as a batch of size 1) and
# visualize the outputs next to the image.

# %%
def make_edge_detector() -> nn.Conv2d:
    """Return an `nn.Conv2d(1, 2, 3)` whose output channel 0 detects vertical edges and
    channel 1 horizontal edges, with zero response on flat regions (set the weights
    and bias yourself, without tracking gradients)."""
    # BEGIN SOLUTION
    conv = nn.Conv2d(1, 2, 3)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    with torch.no_grad():
        conv.weight[0, 0] = sobel
        conv.weight[1, 0] = sobel.T
        conv.bias.zero_()
    return conv
    # END SOLUTION


def edge_maps(image) -> torch.Tensor:
    """Apply `make_edge_detector()` to an (H, W) image (tensor or numpy array) and
    return its output as a float tensor of shape (2, H-2, W-2), without gradients."""
    # BEGIN SOLUTION
    if isinstance(image, torch.Tensor):
        x = image.detach().to(torch.float32)
    else:
        x = torch.from_numpy(np.array(image, dtype=np.float32))
    detector = make_edge_detector()
    with torch.no_grad():
        out = detector(x[None, None])
    return out[0].detach()
    # END SOLUTION


def plot_edge_maps(image) -> matplotlib.figure.Figure:
    """Return a matplotlib Figure showing the image and both of its edge maps side by
    side (three panels), each panel with a title."""
    # BEGIN SOLUTION
    maps = edge_maps(image)
    fig = matplotlib.figure.Figure(figsize=(12, 4))
    axes = fig.subplots(1, 3)
    picture = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    panels = [(picture, "image"), (maps[0].numpy(), "vertical edges"),
              (maps[1].numpy(), "horizontal edges")]
    for ax, (data, title) in zip(axes, panels):
        ax.imshow(data, cmap="gray")
        ax.set_title(title)
        ax.axis("off")
    return fig
    # END SOLUTION


# %% [markdown]
# ## Step 4 - Make a CNN
#
# Create a ConvNet with the following structure:
#
# - Conv 5 x 5 (1 -> 16 channels) -> ReLU -> MaxPool 2 x 2
# - Conv 3 x 3 (16 -> 16 channels) -> ReLU -> MaxPool 2 x 2
# - Conv 2 x 2 (16 -> 32 channels)
#
# Find out what the output on a random MNIST-like tensor is, i.e. `x = torch.randn(123, 1, 28, 28)`.
#
# - Use `torch.nn.Unflatten` to make the model work with "flattened" MNIST tensors as in the
#   prior exercise, i.e. the model should work with `x = torch.randn(123, 784)`.
# - Use `torch.nn.Flatten` to flatten all remaining dimensions after the three convolutions.
#
# How big is this intermediate representation of an image? Store the answer in
# `INTERMEDIATE_SIZE`.

# %%
def build_convnet() -> nn.Module:
    """Return the ConvNet above as an `nn.Sequential` that takes flattened images (N, 784):
    Unflatten -> the three convolutions (with ReLU and max pooling) -> Flatten."""
    # BEGIN SOLUTION
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2),
        nn.Flatten(),
    )
    # END SOLUTION


INTERMEDIATE_SIZE = 32 * 4 * 4  # SOLUTION

# %% [markdown]
# ## Step 5 - Train a CNN on MNIST
#
# - Take note of the number of outputs after Flatten and add a final linear projection
#   layer (i.e. a perceptron) to the network to predict 10 logits.
# - Adapt your solution from Exercise 6 to train the CNN on MNIST images.
#
# The grader calls `train_classifier` without `lr`: choose an optimizer and a default
# learning rate that train this model well within a few epochs.

# %%
def build_classifier() -> nn.Module:
    """Return `build_convnet()` followed by one linear layer that maps the intermediate
    representation to 10 logits."""
    # BEGIN SOLUTION
    return nn.Sequential(build_convnet(), nn.Linear(INTERMEDIATE_SIZE, 10))
    # END SOLUTION


def train_classifier(model, loader, epochs, lr=2e-3) -> list:
    """Train `model` in place with cross-entropy on the (x, y) batches of `loader` for
    `epochs` epochs; return the mean training loss of each epoch as a list of floats."""
    # BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y[torch.randperm(len(y))])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
        history.append(total / max(count, 1))
    return history
    # END SOLUTION


def predict(model, x) -> torch.Tensor:
    """Return the predicted class index of each row of `x` as an int64 tensor (N,),
    computed in eval mode without gradients."""
    # BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1)
    # END SOLUTION


# %% [markdown]
# ## Step 6 - Use a pretrained network
#
# Take torchvision's ResNet-18, freeze every parameter of its backbone and replace its
# final layer `fc` by a new, trainable linear layer for your own number of classes.
# Then build an optimizer that updates only the trainable parameters.

# %%
def build_transfer_model(num_classes, weights=None) -> nn.Module:
    """Return `torchvision.models.resnet18(weights=weights)` with every parameter frozen
    and `fc` replaced by a new trainable `nn.Linear(512, num_classes)`."""
    # BEGIN SOLUTION
    model = torchvision.models.resnet18(weights=weights)
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(512, num_classes)
    return model
    # END SOLUTION


def transfer_optimizer(model, lr) -> torch.optim.Optimizer:
    """Return an SGD optimizer (momentum 0.9) at learning rate `lr` over exactly the
    trainable parameters of `model`."""
    # BEGIN SOLUTION
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
    # END SOLUTION
