"""Batch grading: discovery, safe archives, resumable outputs, parallel workers, interruption."""

import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.batch.archive import extract_zip
from grader.batch.discover import discover
from grader.batch.gradescope import gradescope_results
from tests.submissions import lab07

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
QUICK_CHECKS = ("conv_shapes", "conv_shapes_hidden", "edge_kernels", "intermediate_size", "convnet_shape")
HANG = ("def conv_parameter_shapes(in_channels, out_channels, kernel_size) -> dict:\n",
        "def conv_parameter_shapes(in_channels, out_channels, kernel_size) -> dict:\n    while True:\n        pass\n")


# ---- archives and discovery (no child processes) ----------------------------------------------

def make_zip(path, members):
    """members: name -> bytes, or ("symlink", target)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members.items():
            if isinstance(body, tuple):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, body[1])
            else:
                zf.writestr(name, body)
    return path


def test_zip_extraction_writes_nothing_outside_the_target(tmp_path):
    archive = make_zip(tmp_path / "export.zip", {
        "alice_1_2_lab07_convnets.py": b"x = 1\n",
        "../escaped.py": b"owned\n",
        "/tmp/absolute_escape.py": b"owned\n",
        "nested/../../escaped2.py": b"owned\n",
        "link.py": ("symlink", "/etc/passwd"),
    })
    target = tmp_path / "out" / "unpacked"
    before = set(tmp_path.rglob("*"))
    extracted, skipped = extract_zip(archive, target)
    assert [p.name for p in extracted] == ["alice_1_2_lab07_convnets.py"]
    assert len(skipped) == 4
    new = set(tmp_path.rglob("*")) - before
    assert all(p.resolve().is_relative_to(target.resolve()) or p == target or p == target.parent for p in new)
    assert not Path("/tmp/absolute_escape.py").exists() and not (tmp_path / "escaped.py").exists()
    assert not any(p.is_symlink() for p in target.rglob("*"))


def test_zip_bomb_members_are_skipped(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.py", b"0" * (10 << 20))
    extracted, skipped = extract_zip(archive, tmp_path / "t")
    assert extracted == [] and "compression ratio" in skipped[0]


def test_discovery_of_files_student_folders_and_lms_names(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "bob.py").write_text("x = 1")
    (tmp_path / "files" / "notes.txt").write_text("ignored")
    moodle = tmp_path / "files" / "Carol Smith_4242_assignsubmission_file_"
    moodle.mkdir()
    (moodle / "lab07_convnets.ipynb").write_text("{}")
    two = tmp_path / "files" / "dave"
    two.mkdir()
    (two / "a.py").write_text("")
    (two / "b.py").write_text("")
    canvas = make_zip(tmp_path / "canvas.zip", {"erin_77_123_lab07_convnets.py": b"x = 2\n",
                                                "erin_77_124_lab07_convnets-1.py": b"x = 3\n"})
    sources, notes = discover([tmp_path / "files", canvas], "lab07_convnets", tmp_path / "unpacked")
    by_id = {s.id: s for s in sources}
    assert set(by_id) == {"bob", "Carol-Smith_4242", "dave", "erin_77"}  # one student, one submission
    assert by_id["Carol-Smith_4242"].path.name == "lab07_convnets.ipynb"
    assert by_id["erin_77"].path.name == "erin_77_123_lab07_convnets.py"  # the one named after the assignment
    assert "several candidate files" in by_id["dave"].problem and by_id["dave"].path is None
    assert any("notes.txt" in n for n in notes) and any("not graded: erin_77_124" in n for n in notes)


def test_gradescope_results_follow_the_format():
    result = {"score": 1, "checks": [
        {"id": "a", "title": "A", "points": 1, "max_points": 1, "status": "passed", "message": "ok", "visibility": "public"},
        {"id": "b", "title": "B", "points": 0, "max_points": 2, "status": "timeout", "message": "slow", "visibility": "hidden"},
    ]}
    out = gradescope_results(result)
    assert out["score"] == 1 and len(out["tests"]) == 2
    for test in out["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    assert out["tests"][1]["visibility"] == "after_published"


# ---- whole batches (child processes) -----------------------------------------------------------

@pytest.fixture(scope="module")
def quick_rubric(tmp_path_factory):
    """lab07's quick checks only, with short limits, so that a batch of dozens takes minutes."""
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=5) for c in raw["checks"] if c["id"] in QUICK_CHECKS]
    raw["import_time_limit"] = 30
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def class_of(folder, count):
    """`count` submissions: correct, partly wrong, broken, hanging and notebooks, as files."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = lab07.REFERENCE.read_text()
    kinds = ["passes_all", "swapped_kernels", "conv3_wrong_kernel", "syntax_error", "wrong_intermediate_size",
             "template_notebook_with_reference", "hang"]
    for index in range(count):
        kind = kinds[index % len(kinds)]
        if kind == "hang":
            text, suffix = lab07.replace(reference, *HANG), ".py"
        else:
            submission = lab07.SUBMISSIONS[kind]
            text, suffix = submission.text(reference), submission.suffix
        (folder / f"student{index:02d}_{kind}{suffix}").write_text(text)
    return folder


def run_grade(paths, out, rubric, *extra):
    return subprocess.run([GRADER, "grade", *map(str, paths), "--assignment", "lab07_convnets", "--rubric",
                           str(rubric), "--out", str(out), *extra], capture_output=True, text=True, timeout=1200)


def rows(out):
    with open(out / "grades.csv") as f:
        return list(csv.reader(f))


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_class_of_60_in_an_lms_zip_with_two_workers(tmp_path, quick_rubric):
    files = class_of(tmp_path / "class", 60)
    archive = tmp_path / "canvas_export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, path in enumerate(sorted(files.iterdir())):
            zf.write(path, f"{path.stem.split('_')[0]}_{1000 + i}_{5000 + i}_{path.name}")
    started = time.monotonic()
    done = run_grade([archive], tmp_path / "out", quick_rubric, "--workers", "2")
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    table = rows(tmp_path / "out")
    assert len(table) == 61 and table[0][:3] == ["submission", "score", "max_score"]
    for row in table[1:]:
        folder = tmp_path / "out" / row[0]
        assert (folder / "report.html").is_file() and (folder / "results.json").is_file()
    hanging = [json.loads((tmp_path / "out" / r[0] / "results.json").read_text()) for r in table[1:]
               if "_hang" in json.loads((tmp_path / "out" / r[0] / "results.json").read_text())["source"]]
    assert len(hanging) == 8
    assert all({c["id"]: c["status"] for c in h["checks"]}["conv_shapes"] == "timeout" for h in hanging)
    assert "submission" in done.stderr  # tqdm's progress bar, on stderr
    print(f"60 submissions, 2 workers: {seconds:.0f} s ({60 / seconds * 3600:.0f} an hour)")


@pytest.mark.slow
@pytest.mark.sandbox
def test_kill_9_then_resume_gives_the_uninterrupted_gradebook(tmp_path, quick_rubric):
    files = class_of(tmp_path / "class", 10)
    reference = run_grade([files], tmp_path / "straight", quick_rubric, "--workers", "2")
    assert reference.returncode == 0, reference.stderr[-2000:]
    out = tmp_path / "killed"
    process = subprocess.Popen([GRADER, "grade", str(files), "--assignment", "lab07_convnets", "--rubric",
                                str(quick_rubric), "--out", str(out), "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(out.glob("*/results.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert 4 <= len(finished) < 10
    resumed = run_grade([files], out, quick_rubric, "--workers", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"reused {len(finished)} (--resume)" in resumed.stdout
    assert {k: (out / k / "results.json").stat().st_mtime_ns for k in finished} == finished  # not redone
    assert rows(out) == rows(tmp_path / "straight")


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_changed_rubric_regrades_on_resume(tmp_path, quick_rubric):
    files = class_of(tmp_path / "class", 2)
    assert run_grade([files], tmp_path / "out", quick_rubric).returncode == 0
    changed = tmp_path / "lab07_convnets.yaml"
    raw = yaml.safe_load(quick_rubric.read_text())
    raw["checks"][0]["points"] = 3
    changed.write_text(yaml.safe_dump(raw))
    again = run_grade([files], tmp_path / "out", changed, "--resume")
    assert again.returncode == 0 and "reused 0 (--resume)" in again.stdout


@pytest.mark.slow
@pytest.mark.sandbox
def test_ctrl_c_stops_cleanly_and_leaves_no_child(tmp_path, quick_rubric):
    files = class_of(tmp_path / "class", 8)
    work = tmp_path / "work"  # the children's work folders, named on their command lines (or bwrap's)
    work.mkdir()
    process = subprocess.Popen([GRADER, "grade", str(files), "--assignment", "lab07_convnets", "--rubric",
                                str(quick_rubric), "--out", str(tmp_path / "out"), "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, TMPDIR=str(work)), preexec_fn=_as_at_a_terminal)
    deadline = time.monotonic() + 120
    while not _processes_mentioning(str(work)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(str(work)), "no child process started"
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-2000:]
    assert "--resume" in stderr
    time.sleep(1)
    assert not _processes_mentioning(str(work)), "child processes outlived the interrupted batch"
    assert not list(work.iterdir()), "work folders were left behind"


def _as_at_a_terminal():
    """Ctrl-C reaches the grader as at a terminal: a shell's background job (`./dev test &`) ignores
    SIGINT, and a child inherits that, so Python would never raise KeyboardInterrupt in it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _processes_mentioning(text):
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.sandbox
def test_dask_on_loopback_gives_the_local_gradebook(tmp_path, quick_rubric):
    files = class_of(tmp_path / "class", 7)
    local = run_grade([files], tmp_path / "local", quick_rubric, "--workers", "2")
    assert local.returncode == 0, local.stderr[-2000:]
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = [subprocess.Popen([str(bin_dir / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                 "--nworkers", "1", "--no-dashboard", "--name", f"w{i}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path) for i in range(2)]
    try:
        done = run_grade([files], tmp_path / "dask", quick_rubric, "--scheduler", f"tcp://127.0.0.1:{port}",
                        "--trust-network")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Dask cluster" in done.stdout
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert rows(tmp_path / "dask") == rows(tmp_path / "local")
    assert (tmp_path / "dask" / "index.html").is_file()
