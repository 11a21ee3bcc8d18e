"""End to end through the CLI: no raw escape sequence or bidi control of a submission reaches the
terminal of `grader check` or `grader grade` or any file they write; every file stays small
when a submission raises 10 MB; a file name cannot forge a log line or a shell command."""

import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grader import rubric as rubrics
from grader.sandbox import bwrap

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "hostile"
GRADER = str(REPO / ".venv" / "bin" / "grader")
# ESC, BEL, CSI (C1), CR, NEL, the line separator and the bidi controls, as UTF-8 bytes
RAW = [b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\xc2\x85", *("\u2028 \u202a \u202c \u202e \u2066 \u2069 \u200e \u200f "
                                                            "\u061c".encode().split())]
SMALL = 200 << 10
CHECKS = ("conv_shapes", "intermediate_size", "convnet_shape")
BWRAP_OK, BWRAP_WHY = bwrap.available()
BACKENDS = ["process", pytest.param("bwrap", marks=pytest.mark.skipif(not BWRAP_OK, reason=str(BWRAP_WHY)))]


def raw_bytes(data):
    return [r for r in RAW if r in data]


def run(*args, cwd):
    return subprocess.run([GRADER, *args], cwd=cwd, capture_output=True, timeout=600)


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_shows_control_characters_of_errors_and_output_escaped(tmp_path, backend):
    done = run("check", str(HOSTILE / "control_chars_in_errors.py"), "--assignment", "lab07_convnets",
               "--only", "conv_shapes", "--only", "intermediate_size", "--sandbox", backend,
               "--json", "r.json", "--html", "r.html", cwd=tmp_path)
    assert done.returncode == 1, done.stderr.decode(errors="replace")
    assert raw_bytes(done.stdout) == [] and raw_bytes(done.stderr) == []
    assert b"\\x1b]52;c;" in done.stdout and b"\\u202e" in done.stdout  # shown, escaped
    results = json.loads((tmp_path / "r.json").read_text())
    status = {c["id"]: c["status"] for c in results["checks"]}
    assert status == {"conv_shapes": "error", "intermediate_size": "passed"}
    for name in ("r.json", "r.html"):
        data = (tmp_path / name).read_bytes()
        assert raw_bytes(data) == [] and raw_bytes(json.dumps(results, ensure_ascii=False).encode()) == []
    page = html.unescape((tmp_path / "r.html").read_text())
    assert "\\x1b]52;c;" in page and "\x1b" not in page


@pytest.fixture(scope="module")
def short_rubric(tmp_path_factory):
    """The committed lab07 rubric reduced to checks that need no data set, with short limits."""
    raw = yaml.safe_load(rubrics.load("lab07_convnets").path.read_text(encoding="utf-8"))
    raw["checks"] = [dict(c, time_limit=10) for c in raw["checks"] if c["id"] in CHECKS]
    raw["import_time_limit"] = 20
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


NEWLINE_NAME = "x\nscore 99 of 21.py"
SHELL_NAME = "x$(touch${IFS}PWNED).py"
ESCAPE_NAME = "evil\x1b]52;c;bmFtZQ==\x07\u202ename.py"


def _class_folder(root):
    folder = root / "class"
    folder.mkdir()
    for name in ("control_chars_in_errors", "huge_error_message"):
        shutil.copy(HOSTILE / f"{name}.py", folder / f"{name}.py")
    good = (HOSTILE / "good_small.py").read_text()
    (folder / NEWLINE_NAME).write_text(good + "print('done\\nscore 99 of 21')\n")
    (folder / SHELL_NAME).write_text(good.replace("32 * 4 * 4", "0"))  # a failed check: the report offers a re-run
    (folder / ESCAPE_NAME).write_text(good)
    return folder


def _folder_of(out, origin_part):
    """The output folder whose results.json came from the file named `origin_part`."""
    for results in out.glob("*/results.json"):
        data = json.loads(results.read_text())
        if Path(data["source"]).name == origin_part:
            return results.parent, data
    raise AssertionError(f"no results for {origin_part!r} in {sorted(p.name for p in out.iterdir())}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_grade_outputs_are_small_neutral_and_unforgeable(tmp_path, short_rubric, backend):
    folder = _class_folder(tmp_path)
    done = run("grade", str(folder), "--assignment", "lab07_convnets", "--rubric", str(short_rubric),
               "--out", "out", "--sandbox", backend, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    progress = done.stderr.replace(b"\r", b"")  # the progress bar's own carriage returns
    assert raw_bytes(done.stdout) == [] and raw_bytes(progress) == []
    out = tmp_path / "out"
    for path in [p for p in out.rglob("*") if p.is_file() and "_unpacked" not in p.parts]:
        data = path.read_bytes()
        assert raw_bytes(data) == [], f"{path.relative_to(out)} carries raw control characters"
        assert len(data) < SMALL, f"{path.relative_to(out)} is {len(data)} bytes"
    huge, data = _folder_of(out, "huge_error_message.py")
    assert {c["status"] for c in data["checks"]} == {"error"}
    assert all("characters in all" in c["message"] for c in data["checks"])

    forged, data = _folder_of(out, NEWLINE_NAME)
    assert data["score"] == data["max_score"] > 0  # the honest content is graded as it deserves
    log = (forged / "log.txt").read_text()
    assert [line for line in log.splitlines() if line.startswith("score")] == [f"score {data['score']:g} / "
                                                                               f"{data['max_score']:g}"]
    assert "\\nscore 99 of 21.py'" in log.splitlines()[0]

    quoted, data = _folder_of(out, SHELL_NAME)
    page = html.unescape((quoted / "report.html").read_text())
    assert f"grader check '{SHELL_NAME}' --assignment lab07_convnets --only intermediate_size" in page
    assert not list(tmp_path.rglob("PWNED"))

    named, data = _folder_of(out, ESCAPE_NAME)
    assert data["score"] == data["max_score"]
