"""Submissions become modules: notebooks joined, magics dropped, unreadable files refused."""

import json

import pytest

from grader.errors import SubmissionError
from grader.staging import notebook_source, stage


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
