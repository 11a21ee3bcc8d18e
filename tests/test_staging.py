"""Submissions become what the child runs: a notebook's cells (IPython syntax transformed, skip
tags honoured, the student's cell numbers and lines kept), a script as it is; unreadable files
refused with a reason."""

import json

import pytest

from grader.errors import SubmissionError
from grader.staging import notebook_source, stage, transform


def notebook(*cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": source, **({"outputs": [], "execution_count": None} if kind == "code" else {})}
        for kind, source in cells]})


def test_code_cells_are_joined_and_magics_dropped():
    text = notebook(("markdown", "# Title"), ("code", ["import os\n", "%matplotlib inline\n", "x = 1"]),
                    ("code", "if x:\n    !ls\ny = 2"), ("code", "%%time\nz = 3"))
    source = notebook_source(text)
    namespace = {}
    exec(compile(source, "nb", "exec"), namespace)
    assert namespace["x"] == 1 and namespace["y"] == 2 and "z" not in namespace
    assert "Title" not in source


def test_malformed_notebook_is_refused(tmp_path):
    path = tmp_path / "lab.ipynb"
    path.write_text("{not json")
    with pytest.raises(SubmissionError, match="not a valid notebook"):
        stage(path)


def test_non_utf8_file_is_refused(tmp_path):
    path = tmp_path / "lab.py"
    path.write_bytes(b"x = '\xff\xfe'\n")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        stage(path)


def test_wrong_suffix_is_refused(tmp_path):
    path = tmp_path / "lab.txt"
    path.write_text("x = 1")
    with pytest.raises(SubmissionError, match=".py module or an .ipynb"):
        stage(path)


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "lab.py"
    path.write_bytes(b"#" * (6 << 20))
    with pytest.raises(SubmissionError, match="at most"):
        stage(path)


def _staged(tmp_path, *cells, name="lab.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": meta, "source": source} for kind, source, meta in cells]}))
    return stage(path)


def test_cells_keep_their_notebook_numbers_first_lines_and_offsets(tmp_path):
    staged = _staged(tmp_path, ("markdown", "# Title", {}), ("code", "\n\n  x = 1\n  y = 2", {}),
                     ("code", "", {}), ("code", ["%%time\n", "def f():\n", "    return 1"], {}))
    assert staged.kind == "notebook" and staged.file_name == "lab.ipynb"
    first, second = staged.cells
    assert (first.number, first.offset, first.first_line) == (2, 2, "x = 1")  # markdown counted, blank lines kept
    assert first.code == "x = 1\ny = 2\n"  # IPython's dedent of a pasted, indented cell
    assert (second.number, second.first_line) == (4, "%%time | def f():")
    assert second.code.startswith("get_ipython().run_cell_magic('time', '',") and "def f()" in second.text
    plan = json.loads(staged.plan(7, 60))
    assert plan["kind"] == "notebook" and plan["cell_seconds"] == 7 and plan["load_seconds"] == 60
    assert [c["cell"] for c in plan["cells"]] == [2, 4] and plan["cells"][0]["offset"] == 2


def test_ipython_syntax_is_transformed_and_plain_python_left_alone():
    assert transform("files = !ls\nprint(files)") == "files = get_ipython().getoutput('ls')\nprint(files)\n"
    assert transform("if x:\n    !ls\ny = 2") == "if x:\n    get_ipython().system('ls')\ny = 2\n"
    assert transform("model?") == "get_ipython().run_line_magic('pinfo', 'model')\n"
    assert transform("%matplotlib inline") == "get_ipython().run_line_magic('matplotlib', 'inline')\n"
    assert transform("print('100%')\nx = 5 % 3\n") == "print('100%')\nx = 5 % 3\n"
    assert transform("def f(:\n    pass\n") == "def f(:\n    pass\n"  # left for the compiler to explain
    assert transform("y = x != 1\n") == "y = x != 1\n"
    plain = "def f(x):\n    return x + 1\n"
    assert transform(plain) is plain


def test_skip_tags_and_skip_lines_are_not_run(tmp_path):
    staged = _staged(tmp_path, ("code", "import time\ntime.sleep(100)", {"tags": ["skip-grading"]}),
                     ("code", "# grader: skip\nraise SystemExit", {}), ("code", "X = 1", {"tags": ["other"]}))
    skips = [(c.number, c.skip) for c in staged.cells]
    assert skips == [(1, "tagged skip-grading"), (2, "starts with `# grader: skip`"), (3, "")]
    assert [c["cell"] for c in json.loads(staged.plan(20, 60))["cells"]] == [3]


def test_a_script_is_run_from_its_own_file(tmp_path):
    path = tmp_path / "lab.py"
    path.write_text("X = 1\n")
    staged = stage(path)
    assert staged.kind == "script" and staged.cells == () and staged.source == "X = 1\n"
    assert "cells" not in json.loads(staged.plan(20, 60))


def test_truncated_and_binary_files_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "lab.ipynb"
    path.write_text(notebook(("code", "X = 1"))[:-7])
    with pytest.raises(SubmissionError, match="cut short"):
        stage(path)
    path = tmp_path / "lab.py"
    path.write_bytes(b"\x7fELF\x02\x01\x00\x00" * 10)
    with pytest.raises(SubmissionError, match="binary file"):
        stage(path)
