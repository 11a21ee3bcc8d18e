"""Tests that the student template is generated from the reference without leaking the solution."""

import ast
import importlib.util
import inspect
import json
from pathlib import Path

import nbformat
import pytest

from grader.assign import expected_outputs, generate, make_notebook, make_template, solution_regions_left
from grader.errors import GraderError

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solutions" / "lab07_convnets.py"
TEMPLATE_DIR = ROOT / "student_template"
FUNCTIONS = [
    "load_greyscale", "conv_parameter_shapes", "make_edge_detector", "edge_maps", "plot_edge_maps",
    "build_convnet", "build_classifier", "train_classifier", "predict", "build_transfer_model",
    "transfer_optimizer",
]
# Arguments that would be valid for a finished solution, so only the stub can raise.
CALLS = {
    "load_greyscale": ("http://example.invalid/x.png",), "conv_parameter_shapes": (1, 2, 3),
    "edge_maps": ([[0.0] * 5] * 5,), "plot_edge_maps": ([[0.0] * 5] * 5,),
    "train_classifier": (None, [], 1), "predict": (None, None), "build_transfer_model": (3,),
    "transfer_optimizer": (None, 0.1),
}


@pytest.fixture(scope="module")
def template():
    return make_template(REFERENCE.read_text(encoding="utf-8"))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_has_no_markers_or_solution_code(template):
    assert solution_regions_left(template) == []
    assert "SOLUTION" not in template
    for leak in ["Adam", "-2.0, 0.0, 2.0", "Conv2d(1, 16, 5)", "32 * 4 * 4", "requires_grad = False",
                 "momentum=0.9)", "argmax", "Image.open", "CrossEntropyLoss"]:
        assert leak not in template, leak
    assert "INTERMEDIATE_SIZE = None  # TODO: replace None with your answer" in template


def test_reference_has_regions_and_keeps_docstrings(template):
    reference = REFERENCE.read_text(encoding="utf-8")
    assert len(solution_regions_left(reference)) == 2 * len(FUNCTIONS) + 1
    ref_docs = {n.name: ast.get_docstring(n) for n in ast.walk(ast.parse(reference)) if isinstance(n, ast.FunctionDef)}
    tpl_docs = {n.name: ast.get_docstring(n) for n in ast.walk(ast.parse(template)) if isinstance(n, ast.FunctionDef)}
    assert ref_docs == tpl_docs and set(ref_docs) == set(FUNCTIONS)
    assert all(ref_docs.values())


def test_every_function_body_is_one_raise(template):
    for node in ast.parse(template).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:]
            assert len(body) == 1 and isinstance(body[0], ast.Raise), node.name
            assert f'raise NotImplementedError("{node.name}: not implemented yet")' in template


def test_generated_module_imports_and_every_function_raises(tmp_path):
    paths = generate(REFERENCE, tmp_path)
    module = _load(paths[0], "lab07_template_under_test")
    assert module.INTERMEDIATE_SIZE is None
    for name in FUNCTIONS:
        function = getattr(module, name)
        args = CALLS.get(name, ())
        inspect.signature(function).bind(*args)
        with pytest.raises(NotImplementedError, match=name):
            function(*args)


def test_reference_signatures_match_template(tmp_path):
    reference = _load(REFERENCE, "lab07_reference_under_test")
    stub = _load(generate(REFERENCE, tmp_path)[0], "lab07_template_signatures")
    for name in FUNCTIONS:
        assert inspect.signature(getattr(reference, name)) == inspect.signature(getattr(stub, name)), name


@pytest.mark.parametrize("reference", sorted((ROOT / "reference_solutions").glob("*.py")), ids=lambda p: p.stem)
def test_committed_template_matches_generator(reference):
    expected = expected_outputs(reference)
    assert sorted(expected) == [f"{reference.stem}.ipynb", f"{reference.stem}.py"]
    for name, text in expected.items():
        committed = (TEMPLATE_DIR / name).read_bytes().decode("utf-8")
        assert committed == text, (
            f"student_template/{name} differs from the generated template: edit the reference solution "
            f"and run `grader assign` instead of editing the template by hand"
        )


@pytest.mark.parametrize("reference", sorted((ROOT / "reference_solutions").glob("*.py")), ids=lambda p: p.stem)
def test_every_template_leaks_no_solution_and_validates(reference):
    outputs = expected_outputs(reference)
    assert solution_regions_left(outputs[f"{reference.stem}.py"]) == []
    nbformat.validate(nbformat.reads(outputs[f"{reference.stem}.ipynb"], as_version=4))


def test_notebook_validates_and_mirrors_cells(template):
    text = make_notebook(template)
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("Lab 07: Training Convolutional Nets.")
    assert kinds.count("markdown") == 7
    assert [cell.id for cell in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))]
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.metadata.language_info.name == "python"
    steps = [cell.source.splitlines()[0] for cell in notebook.cells[1:] if cell.cell_type == "markdown"]
    assert [s.split(" - ")[0] for s in steps] == [f"## Step {i}" for i in range(1, 7)]
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "# %%" not in code and solution_regions_left(code) == []
    for cell in notebook.cells:
        assert cell.source == cell.source.strip("\n")
    assert json.loads(text)["nbformat"] == 4


def test_regenerating_is_byte_identical(tmp_path):
    first = [p.read_bytes() for p in generate(REFERENCE, tmp_path / "a")]
    second = [p.read_bytes() for p in generate(REFERENCE, tmp_path / "b")]
    again = [p.read_bytes() for p in generate(REFERENCE, tmp_path / "a")]
    assert first == second == again
    assert all(data.endswith(b"\n") and not data.endswith(b"\n\n") for data in first)


@pytest.mark.parametrize("source, line", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", 2),
    ("def f():\n    return 1\n    # END SOLUTION\n", 3),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", 3),
    ("x = 1\nprint(x)  # SOLUTION\n", 2),
])
def test_unbalanced_markers_raise_with_line(source, line):
    with pytest.raises(GraderError, match=f"line {line}\\b"):
        make_template(source)


def test_small_template_fallback_name_and_constant():
    source = ('"""Doc."""\n# %%\nX: int = 3  # SOLUTION\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n'
              "class A:\n    def m(self):\n        \"\"\"M.\"\"\"\n        # BEGIN SOLUTION\n        pass\n"
              "        # END SOLUTION\n")
    result = make_template(source)
    assert "X = None  # TODO: replace None with your answer" in result
    assert 'raise NotImplementedError("this step: not implemented yet")' in result
    assert '        raise NotImplementedError("m: not implemented yet")' in result
    assert solution_regions_left(result) == []
    assert solution_regions_left(source) == [3, 4, 6, 10, 12]
