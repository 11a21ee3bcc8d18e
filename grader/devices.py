"""Where training checks run: `--device auto` picks CUDA when the parent sees a GPU."""

from grader.errors import GraderError

CHOICES = ("auto", "cpu", "cuda")


def resolve(device):
    """'cpu' or 'cuda' for `device` in CHOICES; 'cuda' without a GPU is a set-up error."""
    if device not in CHOICES:
        raise GraderError(f"unknown device '{device}' (choose from {', '.join(CHOICES)})")
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise GraderError("--device cuda was asked for, but torch sees no CUDA device here")
    return "cuda" if available else "cpu"
