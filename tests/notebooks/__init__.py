"""Notebooks and scripts as students hand them in, named by behaviour (tests/test_notebooks.py).

Each is built from a reference solution's own notebook (grader.assign.make_notebook) with the
cells real course notebooks have around the answers: demo calls that download, `display`,
shell lines and magics, a training cell left at the top level, a cell that loops, a package
Colab has and the grader lacks, cells tagged not to be graded. The answers stay the
reference's, so the repository holds no second copy of a solution; a mutation makes one wrong.
"""

import base64
import json

from grader.assign import make_notebook

PNG_1PX = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b4a5e90000000049454e44ae426082")).decode()


def code(source, tags=(), outputs=()):
    """A code cell (nbformat 4.5: with an id); `tags` go into its metadata."""
    return {"cell_type": "code", "metadata": {"tags": list(tags)} if tags else {}, "source": source,
            "outputs": list(outputs), "execution_count": None}


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def image_output():
    """What a plot cell keeps after running: a PNG display output."""
    return {"output_type": "display_data", "data": {"image/png": PNG_1PX, "text/plain": "<Figure>"},
            "metadata": {}}


def reference_cells(reference_source):
    """The reference's notebook cells (markdown and code), as the template notebook has them."""
    return json.loads(make_notebook(reference_source))["cells"]


def text_of(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def build(cells, minor=5, widgets=False):
    """A notebook of `cells`: nbformat 4.5 with cell ids, or 4.0 (`minor=0`) with one-string
    sources and no ids; `widgets` adds the widget state Colab and Jupyter save."""
    out = []
    for number, cell in enumerate(cells):
        cell = dict(cell)
        if minor >= 5:
            cell["id"] = f"c{number}"
            cell["source"] = text_of(cell).splitlines(keepends=True)
        else:
            cell.pop("id", None)
            cell["source"] = text_of(cell)
        out.append(cell)
    metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"}}
    if widgets:
        metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                              "version_minor": 0}}
    return json.dumps({"nbformat": 4, "nbformat_minor": minor, "metadata": metadata, "cells": out}, indent=1) + "\n"


def insert_after(cells, marker, *new):
    """`cells` with `new` cells after the one whose source contains `marker` (exactly one)."""
    found = [i for i, c in enumerate(cells) if marker in text_of(c)]
    if len(found) != 1:
        raise ValueError(f"expected one cell containing {marker!r}, found {len(found)}")
    return cells[:found[0] + 1] + list(new) + cells[found[0] + 1:]


def edit_cell(cells, marker, fn):
    """`cells` with the one cell containing `marker` replaced by fn(its source)."""
    found = [i for i, c in enumerate(cells) if marker in text_of(c)]
    if len(found) != 1:
        raise ValueError(f"expected one cell containing {marker!r}, found {len(found)}")
    cells = list(cells)
    cells[found[0]] = dict(cells[found[0]], source=fn(text_of(cells[found[0]])))
    return cells


def number_of(notebook_text, marker):
    """The 1-based position (markdown counted) of the cell containing `marker`."""
    cells = json.loads(notebook_text)["cells"]
    [index] = [i for i, c in enumerate(cells) if marker in text_of(c)]
    return index + 1
