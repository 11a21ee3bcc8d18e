"""The fork server: submissions forked from one zygote are reset between each other, a hostile
one cannot harm its neighbours, and a killed zygote is replaced."""

import os
import time
from pathlib import Path

import pytest
import yaml

from grader import rubric as rubrics
from grader.grading import Options, grade_file
from grader.sandbox import bwrap, zygote

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ("conv_shapes", "intermediate_size")
BWRAP_OK, BWRAP_WHY = bwrap.available()

GOOD = '''
import torch
INTERMEDIATE_SIZE = 512
def conv_parameter_shapes(i, o, k):
    conv = torch.nn.Conv2d(i, o, k)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}
'''
LEAVES_TRACES = GOOD + '''
import os, subprocess
open("/tmp/left-behind", "w").write("x")
open("/dev/shm/left-behind", "w").write("x")
subprocess.Popen(["sleep", "600"], start_new_session=True)  # detached
'''
SEES_NO_TRACES = '''
import os, torch
_clean = not os.path.exists("/tmp/left-behind") and not os.path.exists("/dev/shm/left-behind")
_clean = _clean and not [p for p in os.listdir(".") if p != os.path.basename(__file__)]
INTERMEDIATE_SIZE = 512 if _clean else 0
def conv_parameter_shapes(i, o, k):
    conv = torch.nn.Conv2d(i, o, k)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}
'''
KILLS_ZYGOTE = '''
import os, signal
INTERMEDIATE_SIZE = 512
def conv_parameter_shapes(i, o, k):
    os.kill(os.getppid(), signal.SIGKILL)  # the zygote: its parent
    return None
'''
STOPS_ZYGOTE = '''
import os, signal
INTERMEDIATE_SIZE = 512
os.kill(os.getppid(), signal.SIGSTOP)  # freeze the zygote for whoever comes next
def conv_parameter_shapes(i, o, k):
    return None
'''
WRITES_JUNK = GOOD + '''
open("junk.bin", "wb").write(b"x" * 1000)
'''


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=10) for c in raw["checks"] if c["id"] in CHECKS]
    raw["import_time_limit"] = 20
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return rubrics.load_file(path)


def grade(tmp_path, rubric, source, name, backend):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    result = grade_file(path, rubric, Options(sandbox=backend, fork_server=True))
    return {c.id: c for c in result.checks}


def processes_named(text):
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


BACKENDS = [pytest.param("bwrap", marks=[] if BWRAP_OK else [pytest.mark.skip(reason=BWRAP_WHY)]), "process"]


@pytest.mark.sandbox
@pytest.mark.skipif(not BWRAP_OK, reason=BWRAP_WHY)
def test_reset_between_submissions(tmp_path, rubric):
    """Under bwrap, /tmp and /dev/shm are the sandbox's own: the reset wipes them and kills strays."""
    before = set(processes_named("sleep 600"))
    leaving = grade(tmp_path, rubric, LEAVES_TRACES, "leaves", "bwrap")
    assert all(c.status == "passed" for c in leaving.values()), [c.message for c in leaving.values()]
    time.sleep(0.5)
    assert set(processes_named("sleep 600")) <= before, "a detached process outlived its submission"
    after = grade(tmp_path, rubric, SEES_NO_TRACES, "next", "bwrap")
    assert after["intermediate_size"].status == "passed", "the next submission saw the previous one's files"


@pytest.mark.sandbox
def test_process_backend_reset_kills_strays(tmp_path, rubric):
    """Without bwrap there is no private /tmp (not isolated), but stray processes still go."""
    before = set(processes_named("sleep 601"))
    source = GOOD + "\nimport subprocess\nsubprocess.Popen(['sleep', '601'], start_new_session=True)\n"
    grade(tmp_path, rubric, source, "strays", "process")
    time.sleep(0.5)
    assert set(processes_named("sleep 601")) <= before


@pytest.mark.sandbox
@pytest.mark.parametrize("backend", BACKENDS)
def test_work_folder_is_emptied(tmp_path, rubric, backend):
    grade(tmp_path, rubric, WRITES_JUNK, "junk", backend)
    after = grade(tmp_path, rubric, SEES_NO_TRACES, "next", backend)
    assert after["intermediate_size"].status == "passed"


@pytest.mark.sandbox
@pytest.mark.skipif(not BWRAP_OK, reason=BWRAP_WHY)
@pytest.mark.parametrize("source", [KILLS_ZYGOTE, STOPS_ZYGOTE], ids=["kills", "stops"])
def test_a_zygote_killed_or_stopped_by_a_child_is_replaced(tmp_path, rubric, source):
    hostile = grade(tmp_path, rubric, source, "hostile", "bwrap")
    assert hostile["conv_shapes"].status in ("error", "failed", "timeout") and hostile["conv_shapes"].points == 0
    good = grade(tmp_path, rubric, GOOD, "good", "bwrap")
    assert [c.status for c in good.values()] == ["passed", "passed"], [c.message for c in good.values()]


def test_pool_closes_every_zygote(tmp_path, rubric):
    grade(tmp_path, rubric, GOOD, "good", "process")
    zygotes = list(zygote._POOL.values())
    assert zygotes
    zygote.close_all()
    assert not zygote._POOL and all(z.child is None and not z.workdir.exists() for z in zygotes)


def test_mounts_below_the_wiped_folders_are_kept_and_their_holders_entered():
    from grader.sandbox.slot_state import mounts_below

    info = "\n".join([
        "36 35 0:31 / / rw - tmpfs tmpfs rw",
        "40 36 0:33 / /tmp rw - tmpfs tmpfs rw",
        "41 40 8:1 /x/venv /tmp/ci/clone/.venv ro - ext4 /dev/sda1 ro",
        "42 41 8:1 /x/venv/lib /tmp/ci/clone/.venv/lib ro - ext4 /dev/sda1 ro",
        "43 36 8:1 /y /tmp2/elsewhere ro - ext4 /dev/sda1 ro",
        r"44 40 8:1 /z /tmp/with\040space ro - ext4 /dev/sda1 ro",
    ])
    points, above = mounts_below(info)
    assert points == {"/tmp/ci/clone/.venv", "/tmp/ci/clone/.venv/lib", "/tmp/with space"}
    assert above == {"/tmp/ci", "/tmp/ci/clone", "/tmp/ci/clone/.venv"}


SCRIPT = """
import sys
from pathlib import Path
from grader import rubric as rubrics
from grader.grading import Options, grade_file
from grader.sandbox import zygote
rubric = rubrics.load_file(sys.argv[2])
for _ in range(3):
    result = grade_file(Path(sys.argv[1]), rubric, Options(sandbox="bwrap", fork_server=True))
    print(result.score, result.max_score, [(z.replacements, z.replace_reason) for z in zygote._POOL.values()])
zygote.close_all()
"""


@pytest.mark.sandbox
@pytest.mark.skipif(not BWRAP_OK, reason=BWRAP_WHY)
def test_a_virtual_environment_under_tmp_survives_resets(tmp_path, rubric):
    """A course cloned under /tmp puts the venv's read-only mount inside the sandbox's /tmp: the
    reset must neither walk it nor count it as left over (which replaced the zygote every time)."""
    import subprocess
    import sys

    holder = Path("/tmp") / f"grader-test-venv-{os.getpid()}"
    holder.mkdir()
    try:
        (holder / "venv").symlink_to(Path(sys.prefix))
        source = tmp_path / "lab07_convnets.py"
        source.write_text(GOOD + "\nopen('/tmp/stray.txt', 'w').write('x')  # wiped by the reset\n")
        done = subprocess.run([str(holder / "venv" / "bin" / "python"), "-c", SCRIPT, str(source), str(rubric.path)],
                              cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 3 and all(line == "2.0 2.0 [(0, None)]" for line in lines), lines
    finally:
        (holder / "venv").unlink()
        holder.rmdir()
