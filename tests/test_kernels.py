"""The edge-kernel verdict, computed in the parent, on kernels a student might write."""

import pytest
import torch

from grader.checks.kernels import judge, responses

SOBEL = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
PREWITT = torch.tensor([[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=torch.float64)
LAPLACE = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float64)


def verdict(vertical, horizontal, bias=(0.0, 0.0)):
    weight = torch.stack([vertical, horizontal])[:, None]
    return judge(responses(weight, torch.tensor(bias, dtype=torch.float64)))


@pytest.mark.parametrize("kernel", [SOBEL, PREWITT, -SOBEL, -PREWITT, 0.25 * SOBEL])
def test_edge_kernels_pass_in_either_sign(kernel):
    assert verdict(kernel, kernel.T) is None


def test_mixed_signs_pass():
    assert verdict(SOBEL, -PREWITT.T) is None


def test_swapped_channels_are_named_swapped():
    message = verdict(SOBEL.T, SOBEL)
    assert message is not None and "swapped" in message


def test_laplacian_responds_to_both_edges():
    message = verdict(LAPLACE, LAPLACE)
    assert message is not None and "as well as" in message


def test_bias_makes_flat_regions_respond():
    message = verdict(SOBEL, SOBEL.T, bias=(1.0, 0.0))
    assert message is not None and "flat" in message


def test_zero_kernels_respond_to_nothing():
    zero = torch.zeros(3, 3, dtype=torch.float64)
    assert "does not respond" in verdict(zero, zero)


def test_same_kernel_twice_fails_for_channel_one():
    message = verdict(SOBEL, SOBEL)
    assert message is not None and "channel 1" in message
