"""Reference implementations of lab11_fashion_cnn's convolution exercises, for `function_cases`.

The lecture's filter table, `nn.Conv2d`'s real output size and `F.conv2d`, all computed here in the
parent.
"""

from grader.checks.cases import reference_impl

FILTERS = {  # the lecture's table, in its order
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge_1": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "edge_2": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge_3": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box_blur": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "gaussian_blur": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
}
SCALE = {"box_blur": 9, "gaussian_blur": 16}


@reference_impl("lab11_filter")
def filter_table(name):
    """The lecture's 3x3 filter `name` as a float64 tensor."""
    import torch
    return torch.tensor(FILTERS[name], dtype=torch.float64) / SCALE.get(name, 1)


@reference_impl("lab11_conv_output_size")
def conv_output_size(n_in, kernel_size, padding=0, stride=1):
    """The width of a real nn.Conv2d's output for an input n_in wide."""
    import torch
    conv = torch.nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n_in, n_in)).shape[-1])


@reference_impl("lab11_convolve2d")
def convolve2d(image, kernel, stride=1, padding=0):
    """F.conv2d of one (H, W) image with one (kh, kw) kernel, in float64."""
    import torch.nn.functional as F
    return F.conv2d(image.double()[None, None], kernel.double()[None, None], stride=stride, padding=padding)[0, 0]
