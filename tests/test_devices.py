"""--device: CPU by default, CUDA when asked for and present; a clear error when it is not."""

import pytest
import torch

from grader import devices
from grader import rubric as rubrics
from grader.errors import GraderError
from grader.grading import Options, grade_file
from tests.submissions import lab07


def test_cpu_is_always_cpu():
    assert devices.resolve("cpu") == "cpu"


def test_auto_follows_what_torch_sees():
    assert devices.resolve("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_setup_error():
    with pytest.raises(GraderError, match="no CUDA device"):
        devices.resolve("cuda")


def test_unknown_device_is_refused():
    with pytest.raises(GraderError, match="unknown device"):
        devices.resolve("tpu")


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_check_on_cuda(tmp_path):
    [path] = lab07.materialize(tmp_path, ["passes_all"])
    result = grade_file(path, rubrics.load("lab07_convnets"), Options(only=("accuracy",), device="cuda"))
    assert result.checks[0].status == "passed", result.checks[0].message
