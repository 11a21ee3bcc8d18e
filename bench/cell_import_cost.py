"""Import cost of cell-by-cell execution (issue 13) against the joined module it replaced.

The same notebook (lab07's template notebook with the reference pasted in, as
tests/submissions/lab07.py builds it) is loaded two ways, each in a fresh interpreter that has
already imported what the child imports before the submission (torch) and the libraries the
notebook imports (so that both sides time only the student's code and the machinery around it):
- "joined": the code cells joined into one module (grader.staging.notebook_source), written to a
  file and imported with importlib, as the child did before;
- "cells": grader.sandbox.cells.load on the plan grader.staging builds (each cell compiled on its
  own, under its budget timer, its failures recorded).
The sides alternate, ROUNDS times; the medians and their ratio are printed. Also reported: the
same without pre-importing the libraries (the whole load as the child pays it).

    .venv/bin/python bench/cell_import_cost.py [--rounds 7]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.2  # issue 13: cell-by-cell loading costs at most 1.2x the joined module
DRIVER = r"""
import json, sys, time
sys.dont_write_bytecode = True  # as the child (python -B): the joined module is compiled each time, never read from a .pyc
sys.path.insert(0, sys.argv[1])
import torch
if sys.argv[4] == "warm":
    import io, matplotlib.figure, matplotlib.pyplot, numpy, requests, torchvision, PIL.Image
from grader import staging
path, side = sys.argv[2], sys.argv[3]
staged = staging.stage(path)
if side == "joined":
    import importlib.util
    module_file = path + ".joined.py"
    open(module_file, "w").write(staged.source)
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("lab07_convnets", module_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lab07_convnets"] = module
    spec.loader.exec_module(module)
    events = []
else:
    from grader.sandbox import cells
    plan = json.loads(staged.plan(20, 60))
    started = time.perf_counter()
    module, load = cells.load(path, "lab07_convnets", plan)
    events = load["events"]
seconds = time.perf_counter() - started
assert callable(module.build_classifier) and not events, events
print(json.dumps({"seconds": seconds}))
"""


def notebook(folder):
    sys.path.insert(0, str(ROOT))
    from tests.submissions import lab07

    [path] = lab07.materialize(folder, ["template_notebook_with_reference"])
    return path


def once(path, side, mode):
    done = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT), str(path), side, mode], capture_output=True,
                          text=True, timeout=300, cwd=path.parent)
    if done.returncode != 0:  # a side that did not load the notebook gives no figure
        raise SystemExit(f"REFUSED: the {side} side failed, no ratio reported:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--modes", default="warm,cold", help="warm: libraries imported before timing; cold: not")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = notebook(folder)
        for mode in args.modes.split(","):
            times = {"joined": [], "cells": []}
            for _ in range(args.rounds):
                for side in times:
                    times[side].append(once(path, side, mode))
            joined, cells = (statistics.median(times[s]) for s in ("joined", "cells"))
            print(f"{mode}: joined module {joined * 1000:.1f} ms, cell by cell {cells * 1000:.1f} ms, "
                  f"ratio {cells / joined:.3f}x (target <= {TARGET}x; medians of {args.rounds})")


if __name__ == "__main__":
    main()
