"""The in-notebook self-check: a notebook executed headless (nbclient, a real IPython kernel)
that calls `notebook.check()` shows the table inline with the statuses of `grader check` on the
same code, one check by id, and the not-isolated note once."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from grader import notebook  # noqa: E402

GRADER = str(Path(sys.executable).with_name("grader"))
RUBRIC = """assignment: tiny
title: "Tiny: constants"
checks:
  - {id: answer, title: "ANSWER is 42", kind: declared_constant, points: 3, visibility: public, time_limit: 20,
     params: {name: ANSWER, expected: 42}}
  - {id: other, title: "OTHER is 7", kind: declared_constant, points: 1, visibility: public, time_limit: 20,
     params: {name: OTHER, expected: 7}}
  - {id: secret, title: "SECRET is 5", kind: declared_constant, points: 2, visibility: hidden, time_limit: 20,
     params: {name: SECRET, expected: 5}}
"""
CELLS = ["ANSWER = 40", "ANSWER = 41  # fixed, not yet right", "OTHER = 7\nprint('seven')"]


def statuses(markup):
    return dict(re.findall(r'data-check="([^"]+)" data-status="([^"]+)"', markup))


def html_outputs(cell):
    return [o["data"]["text/html"] for o in cell.outputs if o.get("output_type") == "display_data"
            and "text/html" in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    (folder / "rubric").mkdir()
    (folder / "rubric" / "tiny.yaml").write_text(RUBRIC)
    calls = ["from grader import notebook\nnotebook.check(sandbox='process')",
             "notebook.check('other', sandbox='process')",
             "notebook.check()"]
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(c) for c in CELLS + calls]
    client = nbclient.NotebookClient(book, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    (folder / "tiny.py").write_text("\n".join(CELLS[1:]) + "\n")  # what the kernel's state comes from
    return folder, book


def test_the_table_shows_the_statuses_of_grader_check(executed):
    folder, book = executed
    shown = html_outputs(book.cells[len(CELLS)])
    table = [h for h in shown if "grader-result" in h]
    assert len(table) == 1
    done = subprocess.run([GRADER, "check", "tiny.py", "--sandbox", "process", "--json", "-"], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    cli = {c["id"]: c["status"] for c in json.loads(done.stdout)["checks"]}
    assert statuses(table[0]) == cli == {"answer": "failed", "other": "passed"}
    assert "Score: 1 / 4" in table[0] and "`ANSWER` is 41" in table[0]  # the latest run of the cell counts
    assert "SECRET" not in table[0]  # public checks only


def test_one_check_by_id_and_the_not_isolated_note_once(executed):
    _, book = executed
    first, by_id, bwrap = (html_outputs(book.cells[len(CELLS) + i]) for i in range(3))
    assert sum(notebook.NOT_ISOLATED[:40] in h for h in first) == 1
    assert not any(notebook.NOT_ISOLATED[:40] in h for h in by_id + bwrap)  # said once
    assert [statuses(h) for h in by_id if "grader-result" in h] == [{"other": "passed"}]
    assert [statuses(h) for h in bwrap if "grader-result" in h] == [{"answer": "failed", "other": "passed"}]


def test_code_cells_keep_the_run_order_once_and_leave_the_self_check_out():
    history = ["", "import torch", "X = 1", "X = 1", "from grader import notebook\nnotebook.check()", "Y = X"]
    assert notebook.code_cells(history) == ["import torch", "X = 1", "Y = X"]


def test_outside_a_notebook_it_says_where_to_use_it():
    with pytest.raises(Exception, match="runs inside a Jupyter or Colab notebook; in a terminal use: grader check"):
        notebook.check()
