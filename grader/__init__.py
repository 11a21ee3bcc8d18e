"""grader: grades PyTorch CNN course assignments in a sandbox and writes feedback reports."""

__version__ = "0.1.0"
