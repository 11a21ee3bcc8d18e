"""Handing out: the student bundle holds nothing hidden and `grader check` runs from it; the
Gradescope autograder, run in a stand-in of /autograder, grades a reference and a template."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from grader import plugins
from grader import rubric as rubrics
from grader.checks.registry import KINDS
from grader.release import export_gradescope, release

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
NAME = "lab07_convnets"


def hidden_fingerprints(rubric):
    """Strings that would reveal hidden material: hidden ids, their distinctive parameter values,
    and the reference's solution lines."""
    prints = set()
    for check in rubric.checks:
        if check.visibility == "hidden":
            prints.add(check.id)
            for value in check.params.values():
                if type(value) is int and value > 999:
                    prints.add(str(value))
                elif type(value) is list and len(json.dumps(value)) > 8:  # e.g. hidden kernel-size cases
                    prints.add(json.dumps(value).replace(" ", ""))
    from grader.verify import _leaked_lines

    reference = (ROOT / "reference_solutions" / f"{NAME}.py").read_text()
    solution = [line.strip() for line in reference.splitlines()
                if _leaked_lines(reference, line.strip())]
    return prints, solution


def test_bundle_holds_no_hidden_material(tmp_path):
    rubric = rubrics.load(NAME)
    written = release(ROOT, NAME, tmp_path / "bundle")
    wheel = tmp_path / "bundle" / "grader-0.1.0-py3-none-any.whl"
    course_plugins = plugins.folder(ROOT / "rubric")
    plugin_files = {str(p.relative_to(course_plugins.parent)) for part in ("kinds", "probes")
                    for p in (course_plugins / part).glob("*.py")}
    assert any(KINDS[c.kind].run.__module__.startswith(plugins.KINDS_PACKAGE) for c in rubric.checks)
    assert {str(p.relative_to(tmp_path / "bundle" / "rubric")) for p in written
            if "plugins" in p.parts} == plugin_files  # the course's own kinds travel with its rubric
    assert {p.name for p in written if "plugins" not in p.parts} == {
        f"{NAME}.py", f"{NAME}.ipynb", f"{NAME}.yaml", "README.md", wheel.name}
    prints, solution = hidden_fingerprints(rubric)
    assert prints and solution  # the test looks for something
    texts = {str(p): p.read_text() for p in (tmp_path / "bundle").rglob("*") if p.is_file() and p != wheel}
    with zipfile.ZipFile(wheel) as zf:
        assert all(n.startswith(("grader/", "grader-0.1.0.dist-info/")) for n in zf.namelist())
        texts.update({n: zf.read(n).decode("utf-8", "replace") for n in zf.namelist()})
    for path, text in texts.items():
        text = text.replace(" ", "")
        assert not [line for line in solution if line.replace(" ", "") in text], path
        if not path.startswith("grader/"):  # the grader's own source may name a check id in passing
            assert not [p for p in prints if p.replace(" ", "") in text], path
    bundled = yaml.safe_load((tmp_path / "bundle" / "rubric" / f"{NAME}.yaml").read_text())
    assert {c["id"] for c in bundled["checks"]} == {c.id for c in rubric.selected(("public",))}


@pytest.mark.sandbox
def test_grader_check_runs_from_the_bundle(tmp_path):
    bundle = tmp_path / "bundle"
    release(ROOT, NAME, bundle)
    rubric_file = bundle / "rubric" / f"{NAME}.yaml"
    raw = yaml.safe_load(rubric_file.read_text())
    raw["checks"] = [dict(c, title="BUNDLED " + c["title"]) for c in raw["checks"] if c["id"] == "intermediate_size"]
    rubric_file.write_text(yaml.safe_dump(raw))
    done = subprocess.run([GRADER, "check", f"{NAME}.py"], cwd=bundle, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "BUNDLED" in done.stdout and "not implemented yet" in done.stdout
    assert "Score: 0 / 1" in done.stdout  # only the bundle's rubric ran


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    archive = export_gradescope(ROOT, NAME, base / "autograder.zip", sandbox="auto")
    return archive


def run_in_stand_in(archive, base, submission):
    root = base / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "source")
        # the zip's source/ folder is what Gradescope puts in /autograder/source
    inner = root / "source" / "source"
    for item in inner.iterdir():
        shutil.move(str(item), root / "source" / item.name)
    inner.rmdir()
    shutil.copy(submission, root / "submission" / submission.name)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_autograder_zip_has_what_gradescope_needs(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", f"source/rubric/{NAME}.yaml", "source/grader/cli.py",
                "source/pyproject.toml"} <= names
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111
        assert "reference_solutions" not in " ".join(names)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("which, full", [("reference_solutions", True), ("student_template", False)])
def test_autograder_in_a_stand_in_of_slash_autograder(autograder, tmp_path, which, full):
    results = run_in_stand_in(autograder, tmp_path, ROOT / which / f"{NAME}.py")
    max_score = sum(t["max_score"] for t in results["tests"])
    assert results["score"] == (max_score if full else 0)
    assert max_score == rubrics.load(NAME).max_score
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert isinstance(test["score"], (int, float)) and isinstance(test["output"], str)
