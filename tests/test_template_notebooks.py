"""Issue 13's acceptance: each assignment's template notebook with the reference's code pasted into
the cells the student fills (tests/notebooks/pasted.py) scores full marks on every check, public
and hidden (what `grader grade` runs), loaded cell by cell with nothing skipped."""

import json
import shutil
import time

import pytest

from grader import rubric as rubrics
from grader.grading import Options, grade_file
from tests.notebooks import pasted
from tests.submissions import a3

SECONDS = 90  # each grades real training: lab07 27 s, lab11 25 s, a3 21 s, foundations 62 s on 2 loaded cores


def test_only_the_stubbed_cells_get_the_references_code():
    text, filled = pasted.pasted("lab11_fashion_cnn")
    template = json.loads((pasted.ROOT / "student_template" / "lab11_fashion_cnn.ipynb").read_text(encoding="utf-8"))
    cells = json.loads(text)["cells"]
    changed = [n for n, (a, b) in enumerate(zip(template["cells"], cells), 1) if a != b]
    assert changed == list(filled) and len(cells) == len(template["cells"])
    sources = ["".join(c["source"]) for c in cells]
    assert not any("SOLUTION" in s or "TEMPLATE" in s or "not implemented yet" in s for s in sources)
    train = next(s for s in sources if "def train_epoch" in s)  # the find-the-bugs cell: the fix, not the bugs
    assert "optimizer.zero_grad()" in train and all(c["id"] == t["id"] for c, t in zip(cells, template["cells"]))


def test_a_template_out_of_step_with_the_reference_is_refused(tmp_path):
    for folder in ("student_template", "reference_solutions"):
        shutil.copytree(pasted.ROOT / folder, tmp_path / folder)
    path = tmp_path / "student_template" / "lab07_convnets.ipynb"
    book = json.loads(path.read_text(encoding="utf-8"))
    book["cells"][0]["source"] = "an edited introduction"
    path.write_text(json.dumps(book), encoding="utf-8")
    with pytest.raises(ValueError, match="markdown cell 1 differs"):
        pasted.pasted("lab07_convnets", tmp_path)
    book["cells"].pop()
    path.write_text(json.dumps(book), encoding="utf-8")
    with pytest.raises(ValueError, match="regenerate the template"):
        pasted.pasted("lab07_convnets", tmp_path)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", pasted.ASSIGNMENTS)
def test_the_template_notebook_with_the_reference_pasted_in_scores_full_marks(name, tmp_path):
    rubric = rubrics.load(name)
    path = pasted.write(name, tmp_path)
    started = time.monotonic()
    result = grade_file(path, rubric, Options())
    seconds = time.monotonic() - started
    described = "\n".join(result.load.lines() + [f"{c.id}: {c.status}: {c.message}" for c in result.checks])
    assert [c.id for c in result.checks] == [c.id for c in rubric.checks]
    manual = set(a3.MANUAL) if name == a3.ASSIGNMENT else set()  # written answers: a TA scores those
    wrong = {c.id: c.status for c in result.checks if c.status != ("pending" if c.id in manual else "passed")}
    assert not wrong, f"{name}: {wrong}\n{described}"
    assert result.score == result.max_score - sum(c.max_points for c in result.checks if c.id in manual)
    assert result.load.ok and result.load.kind == "notebook" and result.load.events == (), described
    assert seconds < SECONDS, f"{name}: grading took {seconds:.0f} s"
