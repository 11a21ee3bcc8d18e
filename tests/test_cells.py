"""The child's cell runner (grader/sandbox/cells.py) and the parent's reading of what it reports
(grader/loading.py), without a sandbox: cells compiled one by one in the student's coordinates,
failures recorded and skipped, a budget interrupting like Jupyter, never in the middle of an import."""

import itertools
import json
import sys
import time

import pytest

from grader import loading
from grader.sandbox import cells

_names = itertools.count()


def run_notebook(tmp_path, *sources, seconds=5.0, load_seconds=None):
    """Run `sources` as the code cells 1, 2, ... of a notebook; returns (module, LoadReport)."""
    plan = {"kind": "notebook", "cell_seconds": seconds, "load_seconds": load_seconds,
            "cells": [{"cell": n, "source": s, "text": s, "offset": 0} for n, s in enumerate(sources, 1)]}
    name = f"student_nb_{next(_names)}"
    try:
        module, raw = cells.load(str(tmp_path / "lab.ipynb"), name, json.loads(json.dumps(plan)))
    finally:
        sys.modules.pop(name, None)
    events, notes = loading.from_child(json.loads(json.dumps(raw)), {n: s.splitlines()[0] for n, s in
                                                                     enumerate(sources, 1)})
    return module, loading.LoadReport("lab.ipynb", "notebook", events, notes)


def test_a_failing_cell_is_recorded_and_the_next_cells_still_run(tmp_path):
    module, report = run_notebook(tmp_path, "import os\nX = 1", "Y = undefined + 1", "def f():\n    return X")
    assert module.f() == 1 and not hasattr(module, "Y")
    [event] = report.events
    assert (event.cell, event.status, event.error) == (2, "raised", "NameError: name 'undefined' is not defined")
    assert event.binds == ("Y",) and report.defined_in("Y") is event


def test_future_imports_and_ipython_magics_work_per_cell(tmp_path):
    from grader.staging import transform

    module, report = run_notebook(
        tmp_path, "from __future__ import annotations\ndef g(x: Undefined) -> int:\n    return 2",
        transform("%%time\ndef h():\n    return g(0)"), transform("files = !ls\n%matplotlib inline\nZ = len(files)"),
        transform("%time W = h() + 1"), "display(W)\nshell = repr(get_ipython())")
    assert report.events == () and module.h() == 2 and module.Z == 0 and module.W == 3
    assert module.g.__annotations__ == {"x": "Undefined", "return": "int"}  # the future import holds for its cell
    assert "stand-in" in module.shell and report.notes == ("cell 3 `!ls`",)


def test_errors_point_at_the_students_cell_and_line(tmp_path):
    from grader.staging import transform

    _, report = run_notebook(tmp_path, "def load(url):\n    x = 1\n    raise OSError('no network')",
                             "image = load('https://x')", transform("%%time\na = 1\nb = 1 / 0"), "def f(:\n  pass")
    demo, timed, broken = report.events
    assert demo.where == "cell 1, line 3" and "(line 1, via cell 1, line 3)" in demo.describe()
    assert timed.where == "cell 3, line 3" and timed.error == "ZeroDivisionError: division by zero"
    assert broken.status == "syntax" and broken.where == "cell 4, line 1" and "has a syntax error:" in broken.describe()


def test_a_cell_past_its_budget_is_interrupted_and_the_next_runs(tmp_path):
    started = time.monotonic()
    module, report = run_notebook(tmp_path, "step = 0\nwhile True:\n    step += 1", "DONE = step > 0", seconds=0.5)
    assert time.monotonic() - started < 5 and module.DONE
    [event] = report.events
    assert event.status == "interrupted" and event.seconds == 0.5 and "interrupted after 0.5 s" in event.describe()


def test_a_cell_that_catches_the_interrupt_is_interrupted_again(tmp_path):
    loop = "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n    CAUGHT = 1\nwhile True:\n    pass"
    module, report = run_notebook(tmp_path, loop, "AFTER = 1", seconds=0.3)
    assert module.CAUGHT == module.AFTER == 1 and report.events[0].status == "interrupted"
    assert report.events[0].at_line in (6, 7)  # the second loop


def test_an_import_in_progress_is_not_interrupted(tmp_path):
    (tmp_path / "slow_module_for_cells.py").write_text("import time\ntime.sleep(1.0)\nREADY = True\n")
    sys.path.insert(0, str(tmp_path))
    try:
        module, report = run_notebook(tmp_path, "import slow_module_for_cells as slow\nwhile True:\n    pass",
                                      seconds=0.3)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slow_module_for_cells", None)
    assert module.slow.READY is True  # imported whole, then the loop was interrupted
    assert report.events[0].status == "interrupted" and report.events[0].at_line == 2


def test_a_script_runs_statement_by_statement_and_skips_its_main_block(tmp_path):
    script = tmp_path / "lab.py"
    script.write_text("import missing_package_xyz\nA = 1\nraise SystemExit(3)\n"
                      "def f():\n    return A\nif __name__ == '__main__':\n    B = 1\n")
    module, raw = cells.load(str(script), "student_script_1")
    sys.modules.pop("student_script_1", None)
    events, _ = loading.from_child(raw)
    assert module.f() == 1 and not hasattr(module, "B")
    assert [(e.line, e.status, e.package) for e in events] == [(1, "raised", "missing_package_xyz"), (3, "raised", "")]
    assert "do not call sys.exit()" in events[1].describe() and events[0].first_line == "import missing_package_xyz"
    script.write_text("A = 1\ndef f(:\n    pass\n")
    with pytest.raises(SyntaxError):
        cells.load(str(script), "student_script_2")


def test_missing_names_get_suggestions_or_the_cell_that_failed():
    event = loading.Event(12, 1, "print(mean)", "raised", "NameError: name 'mean' is not defined", binds=("build_convnet",))
    report = loading.LoadReport("lab.ipynb", "notebook", (event,))
    message = loading.missing_message("build_convnet", ["Net"], report)
    assert message.startswith("`build_convnet` is defined in cell 12 `print(mean)`, which raised NameError")
    message = loading.missing_message("build_classifier", ["Net", "build_clasifier", "test", "train"], None)
    assert message == ("your module does not define `build_classifier`; it defines `build_clasifier`, `Net`, "
                       "`test`, `train`")


def test_the_childs_load_report_is_validated_capped_and_escaped():
    hostile = {"events": [{"status": "raised", "cell": "3", "line": 1.5, "type": ["x"], "message": "\x1b[31m" + "m" * 10**5,
                           "where": 7, "binds": ["ok", 3, "\u202e"], "network": "yes"},
                          {"status": "passed"}, "junk"] + [{"status": "raised"}] * 500,
               "notes": [{"what": "\x1b]52;c;x\x07", "cell": 2}, {"what": 5}]}
    events, notes = loading.from_child(hostile)
    assert len(events) == loading.MAX_EVENTS - 2
    first = events[0]
    assert first.cell is None and first.line == 0 and first.network is False and first.binds == ("ok", "\\u202e")
    assert "\x1b" not in first.error and len(first.error) < 2_100
    assert notes == ("cell 2 `\\x1b]52;c;x\\x07`",)
    assert loading.from_child("nonsense") == ((), ())


def test_the_parents_deadline_shortens_the_budgets_so_the_load_ends_in_time(tmp_path):
    """The parent's import clock started before the child's interpreter did: its deadline (on the
    shared monotonic clock) bounds every cell, keeping back RESERVE_SECONDS for the answer."""
    plan = {"kind": "notebook", "cell_seconds": 60, "deadline": time.monotonic() + cells.RESERVE_SECONDS + 0.5,
            "cells": [{"cell": 1, "source": "while True:\n    pass", "offset": 0}, {"cell": 2, "source": "X = 1"}]}
    started = time.monotonic()
    module, raw = cells.load(str(tmp_path / "lab.ipynb"), "student_deadline", plan)
    sys.modules.pop("student_deadline", None)
    assert time.monotonic() - started < 3 and module.X == 1
    assert raw["events"][0]["status"] == "interrupted"


def test_the_students_first_lines_are_escaped_before_the_terminal():
    """The parent reads a cell's first line from the student's file: a terminal escape in it (or in
    a skipped cell's) is shown escaped, never sent raw to the TA's terminal."""
    from types import SimpleNamespace

    from grader import loading

    hostile = "x = 1  # \x1b[2J\x1b]0;owned\x07"
    events, _ = loading.from_child({"events": [{"cell": 3, "line": 1, "status": "raised", "type": "ValueError",
                                                "message": "boom"}]}, first_lines={3: hostile})
    skipped = loading.skipped([SimpleNamespace(number=4, offset=0, first_line=hostile, skip="tagged \x1b[31m")])
    report = loading.LoadReport("lab.ipynb", "notebook", events + skipped)
    text = "\n".join(report.lines())
    assert "\x1b" not in text and "\x07" not in text and text.count("x = 1") == 2, text


def test_the_load_advice_is_given_only_where_top_level_work_was_cut_or_reached_the_network():
    quiet = loading.LoadReport("lab.py", "script")
    assert quiet.to_json()["advice"] == ""
    raised = loading.LoadReport("lab.py", "script", (loading.Event(None, 3, "x = 1 / 0", "raised", "ZeroDivisionError"),))
    assert raised.to_json()["advice"] == ""
    cut = loading.LoadReport("lab.py", "script", (loading.Event(None, 9, "train(model)", "interrupted", seconds=30),))
    offline = loading.LoadReport("lab.py", "script", (loading.Event(None, 2, "download()", "raised", "URLError",
                                                                    network=True),))
    assert cut.to_json()["advice"] == offline.to_json()["advice"] == loading.ADVICE
