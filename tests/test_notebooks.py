"""Notebooks and scripts as students write them (tests/notebooks/): graded cell by cell, nothing
lost to one bad line; the load report said once, in the student's coordinates."""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from click.testing import CliRunner

from grader import rubric as rubrics
from grader.cli import main as cli
from grader.grading import Options, grade_file
from tests.notebooks import lab07 as panel
from tests.notebooks import number_of

CELL_SECONDS = 3
# Every check but the slow ones (training, the ResNet transfer): those run in the slow full-marks test.
FAST = ("greyscale", "conv_shapes", "edge_kernels", "edge_maps", "edge_figure", "convnet_shape",
        "intermediate_size", "convnet_parameters", "classifier_shape", "classifier_parameters")


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    """lab07's rubric with a cell budget of CELL_SECONDS, so that the top-level training stops soon."""
    source = rubrics.load("lab07_convnets")
    raw = yaml.safe_load(source.path.read_text(encoding="utf-8"))
    raw["cell_time_limit"] = CELL_SECONDS
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return rubrics.load_file(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return {p.stem: p for p in panel.materialize(tmp_path_factory.mktemp("notebooks"))}


@pytest.fixture(scope="module")
def grades(rubric, files):
    """Each case graded once on the FAST checks, two at a time (a grade mostly waits on its child)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_grade, path, rubric) for name, path in files.items()}
        yield {name: future.result() for name, future in futures.items()}


def _grade(path, rubric):
    started = time.monotonic()
    result = grade_file(path, rubric, Options(only=FAST))
    return result, time.monotonic() - started


def _describe(result):
    return "\n".join(["load:", *result.load.lines(), "checks:"] +
                     [f"  {c.id}: {c.status}: {c.message}" for c in result.checks])


@pytest.mark.sandbox
@pytest.mark.parametrize("case", panel.CASES, ids=lambda c: c.name)
def test_case(case, grades, files):
    result, seconds = grades[case.name]
    statuses = {c.id: c.status for c in result.checks}
    wrong = {i: s for i, s in statuses.items() if s != case.expected.get(i, "passed")}
    assert not wrong, f"{case.name}: {wrong}\n{_describe(result)}"
    text = files[case.name].read_text(encoding="utf-8")
    messages = {c.id: c.message for c in result.checks}
    for check_id, hint in case.hints.items():
        hint = hint.format(build_convnet=number_of(text, "def build_convnet")) if case.suffix == ".ipynb" else hint
        assert hint in messages[check_id], f"{case.name}: {check_id}\n{_describe(result)}"
    banner = "\n".join(result.load.lines())
    missing = [part for part in case.load if part not in banner]
    assert not missing, f"{case.name}: missing {missing}\n{_describe(result)}"
    assert result.to_json()["load"]["banner"] == result.load.lines()
    assert seconds < 60, f"{case.name}: grading took {seconds:.0f} s"


@pytest.mark.sandbox
def test_banner_lists_each_cell_once_in_the_students_coordinates(grades, files):
    result, _ = grades["messy_notebook_full_marks"]
    text = files["messy_notebook_full_marks"].read_text(encoding="utf-8")
    lines = result.load.lines()
    units = [re.match(r"  (cell \d+) ", line).group(1) for line in lines[1:] if line.startswith("  cell")]
    assert len(units) == len(set(units)) == 9, "\n".join(lines)
    demo = number_of(text, "image = load_greyscale(")
    [line] = [x for x in lines if x.startswith(f"  cell {demo} ")]
    assert f"(line 1, via cell {number_of(text, 'def load_greyscale')}, line " in line, line  # inside load_greyscale
    loop = number_of(text, "while True")
    assert re.search(rf"cell {loop} `step = 0`: interrupted after {CELL_SECONDS} s, .*\(line [23] `", "\n".join(lines))
    assert not any("lab07_convnets.py" in line or ".load.json" in line for line in lines)  # never the grader's files
    load = result.to_json()["load"]
    assert load["ok"] and load["kind"] == "notebook" and load["file"] == "messy_notebook_full_marks.ipynb"
    statuses = {e["cell"]: e["status"] for e in load["events"]}
    assert statuses[number_of(text, "not for grading")] == "skipped"
    assert statuses[number_of(text, "while True")] == "interrupted"
    assert all(c.status == "passed" for c in result.checks)  # and no check repeats what the banner says
    assert not any("wandb" in c.message for c in result.checks)


@pytest.mark.sandbox
def test_script_statements_run_one_by_one_in_the_files_own_lines(grades, files):
    result, _ = grades["script_with_demo_calls"]
    lines = files["script_with_demo_calls"].read_text(encoding="utf-8").splitlines()
    demo = 1 + next(i for i, line in enumerate(lines) if line.startswith("image = load_greyscale("))
    banner = "\n".join(result.load.lines())
    assert f"line {demo} `image = load_greyscale(" in banner, banner
    assert f"line {demo + 1} `print(image.shape)`: raised NameError" in banner, banner
    assert "sleep" not in banner and result.load.kind == "script"  # the __main__ block never ran


def test_unusable_files_are_explained_in_one_line(tmp_path):
    """`grader check` on a .txt, a truncated notebook or a binary file: one line of reason, exit 1."""
    good = panel.messy_notebook(panel.REFERENCE.read_text(encoding="utf-8"))
    cases = {"lab07_convnets.txt": (good, "must be a .py module or an .ipynb notebook"),
             "lab07_convnets.ipynb": (good[:len(good) // 2], "it was cut short"),
             "lab07_convnets.py": ("\x00\x01\x02" * 100, "is a binary file")}
    for name, (content, reason) in cases.items():
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_text(content, encoding="utf-8")
        done = CliRunner().invoke(cli, ["check", str(folder / name), "--assignment", "lab07_convnets"])
        assert done.exit_code == 1, done.output
        reasons = [line for line in done.output.splitlines() if line.startswith("Cannot grade")]
        assert len(reasons) == 1 and reason in reasons[0], done.output
        assert "Score:" not in done.output and "ERROR" not in done.output, done.output


@pytest.mark.sandbox
def test_the_report_and_the_log_show_the_file_as_graded_with_each_event_at_its_unit(grades, files):
    """Each cell (or statement) the banner lists is marked in the report's listing with that same
    event, no other is; the notebook's outputs (a PNG) are not in the report; log.txt lists each event."""
    from pathlib import Path

    from grader.batch.discover import Source
    from grader.batch.runner import outputs
    from grader.report.listing import MAIN_BLOCK, listing_view
    from tests.notebooks import PNG_1PX

    for name in ("messy_notebook_full_marks", "script_with_demo_calls"):
        result, _ = grades[name]
        path = files[name]
        view = listing_view(path, result.load)
        marked = {p["title"]: p["mark"] for p in view["parts"] if p["mark"]}
        if result.load.kind == "notebook":
            assert marked == {e.unit: e.describe() for e in result.load.events}
        else:  # a statement is titled by its lines: its event's line opens them (or comments above it)
            assert sorted(marked.values()) == sorted([e.describe() for e in result.load.events] + [MAIN_BLOCK])
        page, log = outputs(Source(name, Path(path), str(path)), result)
        assert 'id="listing"' in page and PNG_1PX not in page
        for event in result.load.events:
            assert any(line.startswith(f"  {event.unit}") and event.status in line for line in log.splitlines()), log
