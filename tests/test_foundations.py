"""cnn_foundations beyond what every assignment satisfies (tests/test_every_assignment.py): its
plug-in kinds, the parent-side analyses of rubric/plugins/kinds and the reference's figures.

The grades come from the session's pool (tests/conftest.py): a mutant on the cheap checks plus the
expensive ones its mutation concerns (see `Submission.checks`).
"""

import json
import math

import numpy as np
import pytest

from grader import plugins
from grader.rubric import RUBRIC_DIR
from grader.checks.registry import KINDS
from tests.conftest import uses_grades
from tests.submissions import foundations as subs
from tests.submissions.foundations import SUBMISSIONS

fdn_models, fdn_transforms = (plugins.kind_module(RUBRIC_DIR, m) for m in ("autoencoder_transfer", "transform_pipeline"))

ASSIGNMENT = subs.ASSIGNMENT
NEW_KINDS = {"train_transform_pipeline", "test_transform_pipeline", "init_statistics",
             "train_one_epoch", "evaluate_loop", "frozen_backbone_transfer", "autoencoder_interface",
             "max_reconstruction_error"}


# ---- the submissions library (fast) ----------------------------------------------------------------

def test_every_new_kind_is_in_the_rubric_and_proved_both_ways(rubric):
    modules = ("transform_pipeline", "init_statistics", "epoch_loops", "autoencoder_transfer")
    assert {k for k, v in KINDS.items() if v.run.__module__.rpartition(".")[2] in modules} == NEW_KINDS
    kind_of = {c.id: c.kind for c in rubric.checks}
    assert NEW_KINDS <= set(kind_of.values())
    failed_kinds = {kind_of[c] for s in SUBMISSIONS.values() for c, status in s.expected.items() if status == "failed"}
    assert NEW_KINDS <= failed_kinds, NEW_KINDS - failed_kinds


def test_notebook_variant_fills_every_stub_of_the_template():
    text = SUBMISSIONS["template_notebook_with_reference"].text(subs.REFERENCE.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in json.loads(text)["cells"]]
    assert not any(marker in s for s in sources for marker in subs.lab07.STUB_MARKERS)
    assert any("class ConvAutoencoder" in s and "torch.sigmoid" in s for s in sources)


# ---- the parent-side analyses (fast, no child) -------------------------------------------------------

def test_transform_image_is_asymmetric_and_candidates_identify_flip_and_angle():
    import torchvision.transforms.functional as TF
    from PIL import Image

    pixels = fdn_transforms.transform_image(40, 56, 7)
    assert pixels.dtype == np.uint8 and pixels.shape == (40, 56, 3)
    flips, angles, stack = fdn_transforms._candidates(pixels.tobytes(), 40, 56)
    mask = fdn_transforms._disc(40, 56)
    for flip, angle in ((False, 0.0), (True, 7.3), (False, -9.8)):
        image = Image.fromarray(pixels, "RGB")
        image = TF.rotate(TF.hflip(image) if flip else image, angle)
        output = fdn_transforms.normalized(np.asarray(image))
        errors = np.abs(stack[:, :, mask] - output[:, mask][None]).mean(axis=(1, 2))
        best = int(errors.argmin())
        assert bool(flips[best]) == flip and abs(angles[best] - angle) <= fdn_transforms.ANGLE_STEP
        assert errors[best] < 0.01
        other = np.abs(stack[:, :, mask][flips != flip] - output[:, mask][None]).mean(axis=(1, 2)).min()
        assert other > 0.1  # the mirror image is far from any rotation


def test_vgg16_shapes_come_from_the_meta_device():
    shapes = fdn_models.vgg16_shapes()
    assert shapes["classifier.6.weight"] == (1000, 4096) and len(shapes) == 32
    assert sum(math.prod(s) for n, s in shapes.items() if n.startswith("features.")) == 14_714_688


# ---- graded -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(ASSIGNMENT, "passes_all")
def test_reference_reports_show_the_augmented_images_and_the_reconstructions(grades):
    result, seconds = grades[ASSIGNMENT, "passes_all"]
    checks = {c.id: c for c in result.checks}
    assert [a.kind for a in checks["train_transform"].artifacts] == ["png"]
    assert [a.kind for a in checks["autoencoder_reconstruction"].artifacts] == ["curve", "png"]
    assert all(a.data[:8] == b"\x89PNG\r\n\x1a\n" for c in checks.values() for a in c.artifacts if a.kind == "png")
    assert checks["autoencoder_reconstruction"].value is not None
    assert seconds < 120, f"grading the reference took {seconds:.0f} s"
