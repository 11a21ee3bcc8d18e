"""bench/realistic_class.py makes the class it says (tiers, notebooks, copies), a bench figure whose
side did not do its work is refused instead of printed as a ratio, and a small realistic class has one
gradebook however it is graded (1 or 2 workers, fork server or fresh children: issue 17)."""

import ast
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import floor_replay  # noqa: E402
import gradebooks  # noqa: E402
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


def test_gradebooks_that_differ_in_a_cell_or_lack_rows_are_not_equal():
    """The comparison itself: one changed cell is named with its values, a missing row or a failed
    run is refused; equal books give neither."""
    compare = gradebooks.compare  # bench/gradebooks.py, which bench/realistic.py prints
    row = {"submission": "s1", "score": "3", "accuracy": "4", "accuracy status": "passed"}
    books = dict.fromkeys(realistic.WAYS, [row])
    assert compare(books, 1) == ([], [])
    changed = dict(books, **{"2 fresh": [dict(row, accuracy="0", **{"accuracy status": "timeout"})]})
    assert compare(changed, 1) == ([], ["s1: accuracy: '4' (1 fork, 2 fork, 1 fresh) / '0' (2 fresh); "
                                        "accuracy status: 'passed' (1 fork, 2 fork, 1 fresh) / 'timeout' (2 fresh)"])
    assert compare(dict(books, **{"1 fresh": []}), 1)[0] == ["1 fresh: 0 rows of 1 submissions"]
    assert compare(dict(books, **{"2 fork": "failed: GraderError: x"}), 2)[0][0] == "1 fork: 1 rows of 2 submissions"


SMALL = ["correct", "correct_notebook", "swapped_kernels", "wrong_intermediate_size", "syntax_error", "exit_in_function"]
CHEAP = ["conv_shapes", "edge_kernels", "intermediate_size", "convnet_shape", "classifier_shape"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_small_class_has_the_same_gradebook_with_1_or_2_workers_fork_server_or_fresh_children(tmp_path):
    """Issue 17: six submissions of lab07 drawn by realistic_class (two correct, one a notebook; two
    with one mistake; a syntax error and a sys.exit that kills the child twice) graded three of the
    ways of bench/realistic.py, one step along each axis (1 -> 2 workers with the fork server, fork
    server -> fresh children with 2 workers: the bench runs all four), every grades.csv cell (points
    and status of each check) equal. CHEAP checks only, no accuracy: the four ways took about 110 s
    on the loaded 2-core machine (a fresh child imports torch, some 9 s under load)."""
    planned = realistic_class.plan("lab07_convnets", 80)
    picked = [next(p for p in planned if p.name == name) for name in SMALL]
    realistic_class.write(tmp_path / "class", picked)
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text(encoding="utf-8"))
    raw["checks"] = [c for c in raw["checks"] if c["id"] in CHEAP]
    rubric = tmp_path / "lab07_convnets.yaml"
    rubric.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    books = realistic.grade_ways(tmp_path / "class", "lab07_convnets", tmp_path / "out", str(rubric),
                                 ways=("1 fork", "2 fork", "2 fresh"))
    problems, differences = gradebooks.compare(books, len(picked))
    assert not problems and not differences, "\n".join(problems + differences)
    scores = {row["submission"]: float(row["score"]) for row in books["1 fork"]}
    assert len(set(scores.values())) >= 3, scores  # full marks, a lost point, nothing: the tiers are told apart


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_floor_replays_bare_every_probe_the_grader_s_children_answered(tmp_path):
    """Figure 1's floor is the grader's own probe requests replayed without the harness: a class of
    three graded with the recorder on answers N probes in its children; the bare processes answer
    the same N from the record (the training check's data set, which the parent puts in the work
    folder, included), and nothing from a record that holds no request of theirs (the figure refuses
    then). CHEAP checks and the accuracy check, fork server, 2 workers."""
    planned = realistic_class.plan("lab07_convnets", 80)
    picked = [next(p for p in planned if p.name == name) for name in SMALL[:3]]
    written = realistic_class.write(tmp_path / "class", picked)
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text(encoding="utf-8"))
    raw["checks"] = [c for c in raw["checks"] if c["id"] in CHEAP + ["accuracy"]]
    rubric = tmp_path / "lab07_convnets.yaml"
    rubric.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    recorder = floor_replay.Recorder(tmp_path / "record")
    try:
        _, _, rows = realistic.grade(tmp_path / "class", "lab07_convnets", tmp_path / "out", 2,
                                     tmp_path / "expected", rubric_file=str(rubric))
    finally:
        recorder.undo()
        from grader.sandbox import zygote
        zygote.close_all()
    paths = [path for path, _ in written]
    expected = recorder.answered(paths)
    assert len(rows) == 3 and expected >= 3 * len(CHEAP), (rows, recorder.requests.keys())
    assert sum("put" in r for p in paths for r in recorder.requests[str(p)]) == 3  # one training set each
    _, answered = floor_replay.bare(paths, "lab07_convnets", 2, recorder.save(paths))
    assert answered == expected
    _, answered = floor_replay.bare(paths, "lab07_convnets", 2, recorder.save([tmp_path / "nobody.py"]))
    assert answered == 0
