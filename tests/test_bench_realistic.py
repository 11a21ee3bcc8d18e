"""bench/realistic_class.py makes the class it says (tiers, notebooks, copies), and a bench figure
whose side did not do its work is refused instead of printed as a ratio. No grading here."""

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import realistic  # noqa: E402
import realistic_class  # noqa: E402


@pytest.mark.parametrize("assignment", ["lab07_convnets", "lab11_fashion_cnn"])
def test_a_class_of_40_has_the_stated_proportions_and_valid_code(assignment):
    planned = realistic_class.plan(assignment, 40)
    tiers = [p.tier for p in planned]
    assert (tiers.count("correct"), tiers.count("one_mistake"), tiers.count("broken")) == (30, 7, 3)
    assert any(p.suffix == ".ipynb" for p in planned) and all(p.trains == (p.tier != "broken") for p in planned)
    assert len({p.text for p in planned if p.tier == "correct"}) > 3  # variants, not one copy
    for p in planned:
        if p.trains:
            code = "\n".join("".join(c["source"]) for c in json.loads(p.text)["cells"]
                             if c["cell_type"] == "code") if p.suffix == ".ipynb" else p.text
            ast.parse(code)  # every trainable one at least compiles
    assert realistic_class.plan(assignment, 40) == planned  # the same class every run


def test_copies_are_the_share_asked_for(tmp_path):
    planned = [p for p in realistic_class.plan("lab07_convnets", 30) if p.trains]
    written = realistic_class.write(tmp_path, planned, duplicates=0.10)
    texts = [path.read_text() for path, _ in written]
    assert len(set(p.text for p in planned)) == len(planned)  # no copies unless asked for
    assert len(texts) - len(set(texts)) == round(len(planned) * 0.10) and len(written) == len(planned)


def test_a_figure_with_a_side_that_failed_is_refused(capsys):
    refused = realistic.figure("x", 0.01, 1.0, ["nbclient passed the assertions in 0 of 20 notebooks"])
    assert "value" not in refused and "REFUSED" in capsys.readouterr().out
    assert realistic.figure("x", 0.5, 1.0, [])["ok"] is True
