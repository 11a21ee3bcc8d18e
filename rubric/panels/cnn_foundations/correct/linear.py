# Calibration panel of cnn_foundations, correct: the reference solution with one change:
# ConvAutoencoder's code is a linear layer of 64 units after the convolutions,
# decoded by a linear layer back to (N, 4, 7, 7).
"""CNN foundations: the lecture notes' workflow.

The notes walk through the steps of every image-classification project: load and preprocess
the data (normalize, flatten, augment), define the network, initialise its weights, specify a
loss function and an optimizer, train, and evaluate. They end with three ideas built on
convolutional networks: transfer learning, autoencoders and style transfer.

Each step below asks for one function (or class). Randomness comes from torch's global
generator: do not seed it yourself.
"""

# %%
import math

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as transforms
from torch import nn

# %% [markdown]
# ## Step 1 - Data processing: normalization and augmentation
#
# Convert the data to a normalized `torch.FloatTensor`. For the training set, augment the
# data so the network learns some rotation and mirror invariance:
#
# - flip the image horizontally at random (half of the time),
# - rotate it at random by up to 10 degrees either way,
# - convert it to a tensor (values in [0, 1]),
# - normalize each of the three channels with mean 0.5 and standard deviation 0.5, so the
#   values end up in [-1, 1].
#
# The test set is only converted and normalized: no augmentation, so that the evaluation is
# the same every time.

# %%
def train_transform():
    """Return the training transform for RGB PIL images: random horizontal flip, random
    rotation by up to 10 degrees, to tensor, normalize every channel with mean 0.5 and
    std 0.5. Its output is a float tensor (3, H, W) with values in [-1, 1]."""
    # BEGIN SOLUTION
    return transforms.Compose([
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(10),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ])
    # END SOLUTION


def test_transform():
    """Return the test transform for RGB PIL images: to tensor and the same normalization
    as `train_transform`, without any random augmentation."""
    # BEGIN SOLUTION
    return transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ])
    # END SOLUTION


# %% [markdown]
# ## Step 2 - Flattening the data for an MLP
#
# A multi-layer perceptron takes vectors, not images: convert a batch of images
# (N, C, H, W) into a batch of vectors (N, C*H*W).

# %%
def flatten_images(x) -> torch.Tensor:
    """Return the batch of images `x` (N, C, H, W) as a batch of vectors (N, C*H*W),
    each image's values in their original order."""
    # BEGIN SOLUTION
    return x.reshape(x.shape[0], -1)
    # END SOLUTION


# %% [markdown]
# ## Step 3 - Weight initialization
#
# Good initial weights place the network close to a good solution. Constant weights make
# every neuron of a layer compute the same output, so initialise them at random instead.
#
# Write `init_weights(model, scheme)`. For every `nn.Linear` and `nn.Conv2d` of the model
# (nested ones too), with y = 1 / sqrt(n) where n is the layer's number of inputs per
# output unit (its "fan-in": `in_features` for a linear layer, in_channels x kernel height x
# kernel width for a convolution):
#
# - `"uniform"`: weights drawn from the uniform distribution U(-y, y),
# - `"normal"`: weights drawn from the normal distribution with mean 0 and std y,
# - the biases set to 0.
#
# Any other scheme raises a `ValueError`.

# %%
def init_weights(model, scheme):
    """Initialise, in place, every nn.Linear and nn.Conv2d of `model`: weights from
    U(-y, y) ("uniform") or N(0, y) ("normal") with y = 1/sqrt(fan_in), biases 0.
    Raise ValueError for any other scheme."""
    # BEGIN SOLUTION
    if scheme not in ("uniform", "normal"):
        raise ValueError(f"unknown initialisation scheme {scheme!r}: use 'uniform' or 'normal'")
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            y = 1.0 / math.sqrt(layer.weight[0].numel())  # fan-in: the inputs of one output unit
            with torch.no_grad():
                if scheme == "uniform":
                    layer.weight.uniform_(-y, y)
                else:
                    layer.weight.normal_(0.0, y)
                if layer.bias is not None:
                    layer.bias.zero_()
    # END SOLUTION


# %% [markdown]
# ## Step 4 - Train and evaluate the network
#
# The steps for training on one batch, from the notes:
#
# 1. clear the gradients of all optimized variables,
# 2. forward pass: compute the predicted outputs by passing the inputs to the model,
# 3. calculate the loss,
# 4. backward pass: compute the gradient of the loss with respect to the model parameters,
# 5. perform a single optimization step (parameter update),
# 6. update the running training loss (`loss.item() * data.size(0)`).
#
# `train_one_epoch` returns the mean loss per sample: the running loss divided by the number
# of samples in the data set (the last batch may be smaller than the others).
#
# `evaluate` puts the model in evaluation mode, computes no gradients and returns the mean
# loss per sample and the accuracy, the fraction (0..1) of samples whose highest logit is
# the right class.

# %%
def train_one_epoch(model, loader, criterion, optimizer) -> float:
    """Train `model` for one pass over `loader` with the six steps above; return the mean
    loss per sample over the data set."""
    # BEGIN SOLUTION
    model.train()
    train_loss, count = 0.0, 0
    for data, target in loader:
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        train_loss += loss.item() * data.size(0)
        count += data.size(0)
    return train_loss / count
    # END SOLUTION


def evaluate(model, loader, criterion) -> tuple:
    """Return `(mean loss per sample, accuracy)` of `model` on `loader`, computed in eval
    mode without gradients; the accuracy is a fraction between 0 and 1."""
    # BEGIN SOLUTION
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            total_loss += criterion(output, target).item() * data.size(0)
            correct += int((output.argmax(dim=1) == target).sum().item())
            count += data.size(0)
    return total_loss / count, correct / count
    # END SOLUTION


# %% [markdown]
# ## Step 5 - Transfer learning
#
# Take a network trained on a large data set and adapt it to a new one: load torchvision's
# VGG16, freeze every parameter of its `features` part (the convolutional layers), and
# replace its last classifier layer `classifier[6]` by a new linear layer with one output
# per class of the new data set (5 flower classes in the notes). New layers require
# gradients by default. Then optimize the classifier's parameters with SGD.
#
# The grader calls `build_vgg_transfer` with `weights=None`: no weights are downloaded.

# %%
def build_vgg_transfer(num_classes=5, weights=None) -> nn.Module:
    """Return `torchvision.models.vgg16(weights=weights)` with every parameter of
    `features` frozen and `classifier[6]` replaced by a new `nn.Linear(4096, num_classes)`."""
    # BEGIN SOLUTION
    model = torchvision.models.vgg16(weights=weights)
    for param in model.features.parameters():
        param.requires_grad = False
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
    # END SOLUTION


def transfer_optimizer(model, lr=0.001) -> torch.optim.Optimizer:
    """Return `torch.optim.SGD` over the parameters of `model.classifier` (and nothing
    else) at learning rate `lr`."""
    # BEGIN SOLUTION
    return torch.optim.SGD(model.classifier.parameters(), lr=lr)
    # END SOLUTION


# %% [markdown]
# ## Step 6 - A convolutional autoencoder
#
# An autoencoder compresses its input into a smaller representation (the encoder) and
# reconstructs the input from it (the decoder); the point is to use the compressed
# representation. Build `ConvAutoencoder` for Fashion-MNIST images (N, 1, 28, 28):
#
# - `encode(x)` returns the compressed representation: convolutions and pooling, with fewer
#   values per image than the 784 pixels of the input,
# - `forward(x)` decodes it back (e.g. with transposed convolutions) to (N, 1, 28, 28) with
#   values in [0, 1] (end with a sigmoid).
#
# The grader trains it for a short while with its own loop (mean squared error, Adam) and
# measures how well it reconstructs images it has not seen.

# %%
class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: (N, 1, 28, 28) -> (N, 1, 28, 28) in [0, 1]."""

    def __init__(self):
        """Create the encoder's and the decoder's layers."""
        super().__init__()
        # BEGIN SOLUTION
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.t_conv1 = nn.ConvTranspose2d(4, 16, 2, stride=2)
        self.t_conv2 = nn.ConvTranspose2d(16, 1, 2, stride=2)
        self.to_code = nn.Linear(4 * 7 * 7, 64)
        self.from_code = nn.Linear(64, 4 * 7 * 7)
        # END SOLUTION

    def encode(self, x):
        """Return the compressed representation of the images `x` (N, 1, 28, 28)."""
        # BEGIN SOLUTION
        x = self.pool(F.relu(self.conv1(x)))  # (N, 16, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 4, 7, 7)
        return self.to_code(x.flatten(1))  # (N, 64)
        # END SOLUTION

    def forward(self, x):
        """Return the reconstruction of `x`: shape (N, 1, 28, 28), values in [0, 1]."""
        # BEGIN SOLUTION
        x = F.relu(self.t_conv1(F.relu(self.from_code(self.encode(x))).view(-1, 4, 7, 7)))  # (N, 16, 14, 14)
        return torch.sigmoid(self.t_conv2(x))  # (N, 1, 28, 28)
        # END SOLUTION


# %% [markdown]
# ## Step 7 - Style transfer: the Gram matrix
#
# Style transfer describes the style of an image by the correlations between the feature
# maps of a convolutional layer. For features of shape (C, H, W), reshape them into a
# matrix F of shape (C, H*W) (one row per feature map) and compute the Gram matrix
# F Fᵀ / (H*W), of shape (C, C).

# %%
def gram_matrix(features) -> torch.Tensor:
    """Return the Gram matrix (C, C) of `features` (C, H, W): F @ F.T / (H * W), where F is
    `features` reshaped to (C, H * W)."""
    # BEGIN SOLUTION
    channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    return flat @ flat.T / (height * width)
    # END SOLUTION
