"""Handing out and exporting: the student bundle, and a Gradescope autograder.

The student bundle holds the template (.py and .ipynb), the public part of the rubric, the
grader's own wheel (grader.wheel: installing it keeps the student's torch) and a README whose
install line works from the bundle alone; nothing hidden (no hidden check, its parameters or
thresholds, no reference code). The
Gradescope autograder holds the grader's source and the full rubric; its `run_autograder` grades
`/autograder/submission/` under bubblewrap only and writes `/autograder/results/results.json`
(grader.gradescope_autograder).
"""

import io
import shlex
import shutil
import zipfile
from pathlib import Path

import yaml

from grader import plugins
from grader.errors import GraderError
from grader.rubric import load

PACKAGE = Path(__file__).resolve().parent
README = """# {title}

Your files: `{name}.py` (or the notebook `{name}.ipynb`: hand in one of them). Each function says
what to do in its docstring; replace each `raise NotImplementedError(...)` with your code and each
`None` answer with your value.

## Install the checker (once)

In a terminal, in this folder, with the Python you work with (it keeps your torch and torchvision;
it needs Python 3.11 or newer and torch 2.2 or newer):

    {install}

In Jupyter or Colab, upload this folder's files and run `%pip install ./{wheel}` in a cell.

## Check your work before handing in

    grader check {name}.py          # or: grader check {name}.ipynb

It runs the public checks ({count} of them, {points:g} points) on your file and prints what passed,
why not, and what to fix first; `--html report.html` also writes a report with your figures.

Inside a notebook (Jupyter, Colab), after running your cells, in a new cell:

    from grader import notebook
    notebook.check()                # or one check: notebook.check("{first}")

It runs the same public checks on the code you ran and shows the table in the notebook. Where
bubblewrap is not installed (Colab, macOS, Windows) your self-check runs without the sandbox; the
course's grading always runs in it.

More checks, hidden here, run when your work is graded, so make every function right, not just
the checked cases.
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission. grader.gradescope_autograder chooses the file named
# {name}.py or .ipynb, grades it only under bubblewrap (or refuses, saying so in results.json:
# never unisolated) and writes results/results.json itself.
set -uo pipefail
ROOT=${{AUTOGRADER_ROOT:-/autograder}}
PYTHON=${{GRADER_PYTHON:-python3}}
cd "$ROOT/source" || exit 1
"$PYTHON" -m grader.gradescope_autograder --root "$ROOT" --assignment {quoted}
"""

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when building the autograder image.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-pip bubblewrap
python3 -m pip install --upgrade pip
python3 -m pip install /autograder/source
python3 -c "from grader import relabel; relabel.secret()"  # one relabelling secret an image: regrades agree
"""


def public_rubric(rubric):
    """The rubric's YAML with only its public checks (and no comments); `builds_on` keeps only
    public ids, so no hidden check is named."""
    raw = yaml.safe_load(Path(rubric.path).read_text(encoding="utf-8"))
    raw["checks"] = [c for c in raw["checks"] if c.get("visibility") == "public"]
    public = {c["id"] for c in raw["checks"]}
    for check in raw["checks"]:
        if "builds_on" in check:
            check["builds_on"] = [b for b in check["builds_on"] if b in public]
            if not check["builds_on"]:
                del check["builds_on"]
    return yaml.safe_dump(raw, sort_keys=False)


def install_line(wheel_name):
    """The README's install command: the bundled wheel, from the bundle's folder."""
    return f"python -m pip install ./{wheel_name}"


def release(root, name, out, wheel=True):
    """Write the student bundle of assignment `name` into `out`; returns the files written."""
    root, out = Path(root), Path(out)
    rubric = load(name, root / "rubric")
    sources = [root / "student_template" / f"{name}.py", root / "student_template" / f"{name}.ipynb"]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise GraderError(f"no template: {', '.join(missing)}; run `grader assign -a {name}` first")
    (out / "rubric").mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        shutil.copyfile(source, out / source.name)
        written.append(out / source.name)
    (out / "rubric" / f"{name}.yaml").write_text(public_rubric(rubric), encoding="utf-8")
    written.append(out / "rubric" / f"{name}.yaml")
    for relative, data in _plugin_files(root, rubric):  # the course's own kinds and probes (grader.plugins)
        (out / "rubric" / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / "rubric" / relative).write_bytes(data)
        written.append(out / "rubric" / relative)
    if wheel:
        from grader.wheel import build

        for old in out.glob("grader-*.whl"):
            old.unlink()
        written.append(build(out))
    public = rubric.selected(("public",))
    wheel_name = written[-1].name if wheel else "grader-<version>-py3-none-any.whl"
    (out / "README.md").write_text(README.format(
        title=rubric.title, name=name, count=len(public), points=sum(c.points for c in public),
        install=install_line(wheel_name), wheel=wheel_name, first=public[0].id if public else "check_id"),
        encoding="utf-8")
    return written + [out / "README.md"]


def _plugin_files(root, rubric):
    """[(path relative to rubric/, bytes)] of the course's plug-in kinds and probes, when the rubric
    uses one of its kinds (else none)."""
    from grader.checks.registry import KINDS

    if not any(KINDS[c.kind].run.__module__.startswith(plugins.KINDS_PACKAGE) for c in rubric.checks):
        return []
    folder = plugins.folder(Path(root) / "rubric")
    return [(str(p.relative_to(folder.parent)), p.read_bytes())
            for part in ("kinds", "probes") for p in sorted((folder / part).glob("*.py"))]


def export_gradescope(root, name, out_zip, sandbox="auto"):
    """Write a Gradescope autograder zip for assignment `name`; returns its path. The autograder
    grades under bubblewrap only (`auto` and `bwrap` alike): what runs there is a student's."""
    if sandbox not in ("auto", "bwrap"):
        raise GraderError("the Gradescope autograder never runs student code unisolated: --sandbox process is "
                          "refused (where bubblewrap cannot start, it refuses to grade and says so)")
    root = Path(root)
    rubric = load(name, root / "rubric")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        _add(zf, "setup.sh", SETUP, executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(name=name, quoted=shlex.quote(name)), executable=True)
        _add(zf, "source/pyproject.toml", (root / "pyproject.toml").read_text())
        _add(zf, "source/README.md", f"Autograder of {name}, exported by `grader export gradescope`.\n")
        _add(zf, f"source/rubric/{name}.yaml", Path(rubric.path).read_text())
        for relative, data in _plugin_files(root, rubric):
            _add(zf, f"source/rubric/{relative}", data)
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                _add(zf, f"source/grader/{path.relative_to(PACKAGE)}", path.read_bytes())
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    out_zip.write_bytes(buffer.getvalue())
    return out_zip


def _add(zf, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: the same input gives the same zip
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
