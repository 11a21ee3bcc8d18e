"""End-to-end grading of the cnn_foundations test submissions (tests/submissions/foundations.py),
the student template and the reference, plus unit tests of the parent-side analyses of
grader/checks/fdn_*.py.

Each submission is graded once by a module-wide pool of threads started as soon as the first test
asks; a mutant is graded on the cheap checks plus the expensive ones its mutation concerns (see
`Submission.checks`), the reference, the template and the notebook on every check.
"""

import ast
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from grader import rubric as rubrics
from grader import plugins
from grader.rubric import RUBRIC_DIR
from grader.checks.registry import KINDS
from grader.grading import Options, grade_file
from tests.submissions import foundations as subs
from tests.submissions.foundations import ALL_CHECKS, SUBMISSIONS

fdn_models, fdn_transforms = (plugins.kind_module(RUBRIC_DIR, m) for m in ("autoencoder_transfer", "transform_pipeline"))

ROOT = subs.ROOT
TEMPLATE = ROOT / "student_template" / f"{subs.ASSIGNMENT}.py"
TEMPLATE_KEY = "<student template>"
WORKERS = int(os.environ.get("GRADER_TEST_WORKERS") or max(1, min(4, os.cpu_count() or 1)))
NEW_KINDS = {"train_transform_pipeline", "test_transform_pipeline", "init_statistics",
             "train_one_epoch", "evaluate_loop", "frozen_backbone_transfer", "autoencoder_interface",
             "max_reconstruction_error"}


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rubric():
    return rubrics.load(subs.ASSIGNMENT)


class Grades:
    """Grades submissions in a thread pool; `grades[name]` waits for (result, seconds)."""

    def __init__(self, directory, rubric):
        self.directory, self.rubric = directory, rubric
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grade")
        self.futures = {}

    def start(self, names):
        for name in names:
            if name not in self.futures:
                self.futures[name] = self.pool.submit(self._grade, name)

    def __getitem__(self, name):
        self.start([name])
        return self.futures[name].result()

    def _grade(self, name):
        if name == TEMPLATE_KEY:
            path, only = TEMPLATE, ()
        else:
            [path] = subs.materialize(self.directory, [name])
            submission = SUBMISSIONS[name]
            only = () if submission.full else submission.checks
        started = time.monotonic()
        result = grade_file(path, self.rubric, Options(only=only))
        return result, time.monotonic() - started

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _cost(name):
    """Start the longest grades first so the pool ends together."""
    if name == TEMPLATE_KEY:
        return 1
    submission = SUBMISSIONS[name]
    return 3 if submission.full else 2 if submission.extra else 1


def _needed(session):
    names = []
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.append(callspec.params["name"])
        names.extend(getattr(getattr(item, "function", None), "grades", ()))
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: -_cost(n))


def uses_grades(*names):
    def mark(function):
        function.grades = names
        return function
    return mark


@pytest.fixture(scope="module")
def grades(request, tmp_path_factory, rubric):
    pool = Grades(tmp_path_factory.mktemp("submissions"), rubric)
    pool.start(_needed(request.session))
    yield pool
    pool.close()


def _describe(result):
    return "\n".join(f"  {c.id}: {c.status}: {c.message}" for c in result.checks)


# ---- the submissions library (fast) ----------------------------------------------------------------

def test_every_mutation_applies_and_changes_the_reference():
    reference = subs.REFERENCE.read_text(encoding="utf-8")
    for name, submission in SUBMISSIONS.items():
        text = submission.text(reference)
        assert (text == reference) == (name == "passes_all"), name
        if submission.suffix == ".py" and name != "syntax_error":
            ast.parse(text)
        for check_id, status in submission.expected.items():
            assert status in ("failed", "error", "timeout"), (name, check_id, status)
            assert check_id in submission.checks, (name, check_id)
        assert set(submission.expected) <= set(submission.hints), f"{name}: give a hint for each non-pass"
    with pytest.raises(SyntaxError):
        ast.parse(SUBMISSIONS["syntax_error"].text(reference))


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


def test_main_materializes_the_demo(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.submissions.foundations", str(tmp_path / "demo")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(n + SUBMISSIONS[n].suffix for n in subs.DEMO)


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


# ---- grading each submission ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_submission(name, grades, rubric):
    submission = SUBMISSIONS[name]
    result, _ = grades[name]
    statuses = {c.id: c.status for c in result.checks}
    graded = list(ALL_CHECKS) if submission.full else list(submission.checks)
    assert list(statuses) == graded
    wrong = {i: (statuses[i], submission.status(i)) for i in graded if statuses[i] != submission.status(i)}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{_describe(result)}"
    for check in result.checks:
        assert check.points == (check.max_points if check.status == "passed" else 0), check
        if check.status != "passed":
            assert check.message.strip(), f"{name}: {check.id} failed without a message"
    if submission.full:
        assert result.score == result.max_score == rubric.max_score, _describe(result)
    messages = {c.id: c.message for c in result.checks}
    missing = {i: hint for i, hint in submission.hints.items() if hint.lower() not in messages[i].lower()}
    assert not missing, f"{name}: hints missing from the messages {missing}\n{_describe(result)}"


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades("passes_all")
def test_reference_reports_show_the_augmented_images_and_the_reconstructions(grades):
    result, seconds = grades["passes_all"]
    checks = {c.id: c for c in result.checks}
    assert [a.kind for a in checks["train_transform"].artifacts] == ["png"]
    assert [a.kind for a in checks["autoencoder_reconstruction"].artifacts] == ["curve", "png"]
    assert all(a.data[:8] == b"\x89PNG\r\n\x1a\n" for c in checks.values() for a in c.artifacts if a.kind == "png")
    assert checks["autoencoder_reconstruction"].value is not None
    assert seconds < 120, f"grading the reference took {seconds:.0f} s"


@pytest.mark.slow
@pytest.mark.sandbox
@uses_grades(TEMPLATE_KEY)
def test_student_template_gets_zero_with_not_implemented_messages(grades, rubric):
    result, _ = grades[TEMPLATE_KEY]
    assert [c.id for c in result.checks] == list(ALL_CHECKS)
    assert all(c.status in ("failed", "error") for c in result.checks), _describe(result)
    assert result.score == 0 and result.max_score == rubric.max_score
    vague = [c.id for c in result.checks if "not implemented yet" not in c.message]
    assert not vague, _describe(result)
