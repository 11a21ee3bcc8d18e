"""The student template notebook with the reference solution's code pasted in, as a student who
got every answer right hands it in.

The committed template (student_template/<name>.ipynb) is the reference's percent cells with each
solution region stubbed (grader.assign): so its cells line up one for one with the reference's.
A cell the student fills is one whose template code differs from the reference's cell read as a
student would write it: solution markers (`# BEGIN/END SOLUTION`, a trailing `# SOLUTION`) gone
and template blocks (the buggy code a find-the-bugs exercise ships, grader.template_blocks) left
out. That cell gets the reference's code; every other cell, markdown included, stays the
template's own, so the notebook keeps the template's cells, ids and metadata.
"""

import json
import re
from pathlib import Path

from grader import assign, template_blocks

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ("lab07_convnets", "lab11_fashion_cnn", "a3_fashion_classifier", "cnn_foundations")
STUB_MARKERS = ("not implemented yet", "TODO: replace None with your answer")
_TAG = re.compile(r"\s*#\s*SOLUTION\s*$")


def as_student_writes(code):
    """A reference cell's code without the course's markers: what a student's correct cell holds."""
    out, in_block = [], False
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped in (assign.BEGIN, assign.END):
            continue
        if stripped == template_blocks.BEGIN:
            in_block = True
        elif stripped == template_blocks.END:
            in_block = False
        elif not in_block:
            out.append(_TAG.sub("", line))
    return "\n".join(out)


def _text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def pasted(name, root=ROOT):
    """(notebook JSON text, the 1-based numbers of the cells pasted into) for assignment `name`."""
    template_path = root / "student_template" / f"{name}.ipynb"
    template = json.loads(template_path.read_text(encoding="utf-8"))
    reference = json.loads(assign.make_notebook((root / "reference_solutions" / f"{name}.py").read_text(encoding="utf-8")))
    if len(template["cells"]) != len(reference["cells"]):
        raise ValueError(f"{template_path} has {len(template['cells'])} cells, the reference's percent cells "
                         f"{len(reference['cells'])}: regenerate the template with `grader assign`")
    filled = []
    for number, (cell, answer) in enumerate(zip(template["cells"], reference["cells"]), 1):
        if cell["cell_type"] != answer["cell_type"]:
            raise ValueError(f"{template_path}: cell {number} is {cell['cell_type']}, the reference's "
                             f"{answer['cell_type']}")
        code = as_student_writes(_text(answer))
        if cell["cell_type"] == "code" and _text(cell) != code:
            cell["source"] = code.splitlines(keepends=True)
            filled.append(number)
        elif _text(cell) != _text(answer):
            raise ValueError(f"{template_path}: markdown cell {number} differs from the reference's")
    left = [n for n, c in enumerate(template["cells"], 1) if any(m in _text(c) for m in STUB_MARKERS)
            or assign.solution_regions_left(_text(c))]
    if not filled or left:
        raise ValueError(f"{template_path}: cells pasted into {filled}, stubs or markers left in {left}")
    return json.dumps(template, indent=1, ensure_ascii=False) + "\n", tuple(filled)


def write(name, folder, root=ROOT):
    """Write `<folder>/<name>.ipynb` (the file name `grader` infers the assignment from)."""
    path = Path(folder) / f"{name}.ipynb"
    path.write_text(pasted(name, root)[0], encoding="utf-8")
    return path
