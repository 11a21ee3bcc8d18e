"""Dask, safe by construction: what a cluster sends back is plain data checked against the rubric,
task keys cannot be claimed in advance, a plain tcp:// scheduler needs --trust-network, and a
worker that cannot isolate refuses. The cluster test runs a scheduler and two workers on 127.0.0.1
beside a rogue client."""

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader.batch import dask_executor, remote_results
from grader.batch.remote_results import RemoteResultError, WorkerRefused
from grader.errors import GraderError
from grader.loading import Event, LoadReport
from grader.results import CheckResult, SubmissionResult
from grader.rubric import load_file
from tests.test_batch_inputs import CHECK, GOOD, WRONG

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
BIN = Path(sys.executable).parent
EXPECTED = {"grader": "g+1", "sandbox": "bwrap", "dataset": "none"}


@pytest.fixture(scope="module")
def two_checks(tmp_path_factory):
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=10) for c in raw["checks"] if c["id"] in (CHECK, "conv_shapes_hidden")]
    raw["import_time_limit"] = 30
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def answer(rubric, statuses, submission="alice", **changes):
    """A worker's JSON answer for `rubric` with the given statuses; `changes` override its fields."""
    checks = tuple(CheckResult(c.id, c.title, c.points if s == "passed" else 0.0, c.points, s, "msg", c.visibility, 0.1)
                   for c, s in zip(rubric.checks, statuses))
    data = json.loads(remote_results.encode(SubmissionResult(rubric.assignment, submission, checks), "g+1", "bwrap",
                                            "none", "w0"))
    for path, value in changes.items():
        where = data
        *parents, last = path.split(".")
        for part in parents:
            where = where[int(part)] if part.isdigit() else where[part]
        where[int(last) if last.isdigit() else last] = value
    return json.dumps(data)


def decode(rubric, raw):
    return remote_results.decode(raw, list(rubric.checks), rubric.assignment, "alice", EXPECTED)


# ---- the client's check of an answer (no cluster) --------------------------------------------------

def test_an_honest_answer_is_taken_with_the_clients_own_titles(two_checks):
    rubric = load_file(two_checks)
    result = decode(rubric, answer(rubric, ["passed", "failed"], **{"result.checks.0.title": "FORGED"}))
    assert [c.status for c in result.checks] == ["passed", "failed"] and result.score == rubric.checks[0].points
    assert result.checks[0].title == rubric.checks[0].title


def test_the_load_report_travels_checked_and_escaped(two_checks):
    """What did not run while loading reaches the client's report; the worker's text is escaped and
    capped again, and a load report that is not one is dropped, not trusted."""
    rubric = load_file(two_checks)
    load = LoadReport("alice.ipynb", "notebook", (Event(3, 1, "download()", "raised", "URLError: offline", network=True),))
    data = json.loads(answer(rubric, ["passed", "failed"]))
    data["result"]["load"] = load.to_json()
    data["result"]["load"]["events"].append({"cell": "x", "line": 2, "first_line": "\u202e" + "y" * 100000,
                                             "status": "interrupted", "error": "e", "seconds": -5})
    result = decode(rubric, json.dumps(data))
    first, forged = result.load.events
    assert result.load.kind == "notebook" and first.cell == 3 and first.network and "URLError" in first.error
    assert "cell 3 `download()`: raised URLError: offline" in result.load.lines()[1]
    assert forged.cell is None and forged.seconds == 0.0 and "\u202e" not in forged.first_line
    assert len(forged.first_line) < 5000  # capped (100,000 characters were sent)
    data["result"]["load"] = {"file": 1, "kind": "virus"}
    assert decode(rubric, json.dumps(data)).load is None


@pytest.mark.parametrize("changes, why", [
    ({"result.checks.1.points": 1000, "result.score": 1001}, "points out of"),
    ({"result.checks.1.points": 1, "result.score": 2}, "do not match 'failed'"),
    ({"result.score": 1000}, "not the sum"),
    ({"result.checks.0.id": "mallory"}, "check ids"),
    ({"result.submission": "mallory"}, "another assignment or submission"),
    ({"result.checks.0.status": "excellent"}, "unknown status"),
    ({"result.checks.0.max_points": 1000}, "max_points"),
    ({"grader": "0.0+forged"}, "grader"),
    ({"sandbox": "process"}, "sandbox"),
    ({"dataset": "other"}, "dataset"),
    ({"extra": 1}, "unexpected fields"),
    ({"artifacts.0": [{"kind": "png", "title": "x", "data": "PHNjcmlwdD4="}]}, "not a PNG"),
])
def test_a_forged_answer_is_refused_with_the_reason(two_checks, changes, why):
    rubric = load_file(two_checks)
    with pytest.raises(RemoteResultError, match=why):
        decode(rubric, answer(rubric, ["passed", "failed"], **changes))


@pytest.mark.parametrize("raw", [b"\x80\x04K\x01.", {"score": 1000}, "mallory,1000,2", "[1, 2]", "x" * 10])
def test_anything_but_a_graders_json_text_is_refused(two_checks, raw):
    with pytest.raises(RemoteResultError):
        decode(load_file(two_checks), raw)


def test_a_worker_that_cannot_isolate_refuses_and_runs_nothing(two_checks, monkeypatch, tmp_path):
    from grader.sandbox import bwrap

    monkeypatch.setattr(bwrap, "available", lambda: (False, "bwrap could not create namespaces"))
    marker = tmp_path / "ran"
    payload = {"id": "alice", "origin": "alice.py", "problem": "", "file_name": "alice.py",
               "content": f"open({str(marker)!r}, 'w')\n".encode(), "assignment": "lab07_convnets",
               "rubric": two_checks.read_text(), "options": None}
    raw = dask_executor.grade_remote(payload)
    with pytest.raises(WorkerRefused, match="cannot isolate student code"):
        decode(load_file(two_checks), raw)
    assert not marker.exists()
    monkeypatch.undo()
    crashed = dask_executor.grade_remote({})  # a worker's own failure is text too, never an exception
    with pytest.raises(WorkerRefused, match="grading failed on the worker"):
        decode(load_file(two_checks), crashed)


@pytest.mark.parametrize("address, flags, why", [
    ("tcp://10.0.0.5:8786", {}, "refusing the plain tcp:// scheduler"),
    ("10.0.0.5:8786", {}, "refusing the plain tcp:// scheduler"),
    ("ws://10.0.0.5:8786", {"trust_network": True}, "use tls://"),
    ("tls://10.0.0.5:8786", {}, "needs --tls-ca"),
    ("tcp://10.0.0.5:8786", {"trust_network": True, "tls_ca": "ca.pem"}, "plain tcp:// scheduler"),
])
def test_an_untrusted_scheduler_address_is_refused(address, flags, why):
    with pytest.raises(GraderError, match=why):
        dask_executor.security_for(address, **flags)
    assert dask_executor.security_for("tcp://127.0.0.1:8786", trust_network=True) is None


def test_grade_refuses_a_plain_scheduler_before_anything_runs(two_checks, tmp_path):
    (tmp_path / "alice.py").write_text(GOOD)
    done = subprocess.run([GRADER, "grade", str(tmp_path / "alice.py"), "--rubric", str(two_checks), "--out",
                           str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "--trust-network" in done.stderr
    assert not (tmp_path / "out" / "grades.csv").exists() and not (tmp_path / "out" / "alice").exists()


# ---- a cluster on 127.0.0.1 with a rogue client ------------------------------------------------------

class Payload:
    """Unpickled, it writes a file: proof that whoever unpickled it ran our code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def forged_csv():
    return "mallory,1000,2"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, cwd, env=None):
    return subprocess.Popen([str(BIN / "dask"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=cwd, env=env)


def _stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _workers(address, count, cwd, env=None):
    return [_start(["worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", f"w{i}"],
                   cwd, env) for i in range(count)]


def _wait_for_workers(client, count):
    deadline = time.monotonic() + 60
    while len(client.scheduler_info()["workers"]) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(client.scheduler_info()["workers"]) == count


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_rogue_client_of_the_cluster_cannot_forge_grades_nor_run_code_here(tmp_path, two_checks, monkeypatch):
    from distributed import Client, Future

    from grader.batch.discover import Source

    from grader.batch import ids
    from grader.batch.store import sha256

    folder = tmp_path / "class"
    folder.mkdir()
    for name, body in {"alice": GOOD, "bob": WRONG, "carol": GOOD}.items():
        (folder / f"{name}.py").write_text(body)
    marker = str(tmp_path / "PWNED")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    rogue_env = dict(os.environ, PYTHONPATH=str(ROOT))  # the rogue's functions are importable there
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], tmp_path,
                       rogue_env)
    workers = _workers(address, 2, tmp_path, rogue_env)
    try:
        with Client(address, timeout=30) as rogue:
            _wait_for_workers(rogue, 2)
            planted = []  # under the keys an older client used (grade-<id>-<sha256[:12]>)
            for path in sorted(folder.iterdir()):
                key = f"grade-{ids.name_id(path.stem)}-{sha256(path)[:12]}"
                planted.append(rogue.submit(forged_csv, key=key, pure=False))
                planted.append(rogue.submit(Payload, marker, key=key + "-pickle", pure=False))
            rogue.gather(planted[::2])
            assert str(planted[1].result()) is not None and os.path.exists(marker)  # the rogue ran it itself
            os.unlink(marker)
            out = tmp_path / "out"
            done = subprocess.run([GRADER, "grade", str(folder), "--assignment", "lab07_convnets", "--rubric",
                                   str(two_checks), "--out", str(out), "--scheduler", address, "--trust-network"],
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
            monkeypatch.setattr(dask_executor, "RESULT_SECONDS", 5)
            with Client(address, timeout=30, deserializers=dask_executor.DESERIALIZERS) as ta:
                problem = dask_executor._collect(Future(planted[1].key, ta), Source("alice", None, "alice.py"), "",
                                                 load_file(two_checks), [], {}, None, None)
            assert "no usable answer" in problem and not os.path.exists(marker)  # the TA's client never unpickles
    finally:
        _stop([*workers, scheduler])
    with open(out / "grades.csv", encoding="utf-8") as f:
        table = {row["submission"]: row for row in csv.DictReader(f)}
    assert {k: (v["score"], v["state"]) for k, v in table.items()} == {
        "alice": ("2", "graded"), "bob": ("0", "graded"), "carol": ("2", "graded")}
    assert "mallory" not in (out / "results.jsonl").read_text() and not os.path.exists(marker)
    assert "NOT isolated" not in (out / "alice" / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.sandbox
def test_workers_that_cannot_isolate_refuse_and_the_ta_is_told(tmp_path, two_checks):
    from distributed import Client

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    (tmp_path / "alice.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w')\n" + GOOD)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], tmp_path)
    workers = _workers(address, 1, tmp_path, dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}"))
    try:
        with Client(address, timeout=30) as client:
            _wait_for_workers(client, 1)
        done = subprocess.run([GRADER, "grade", str(tmp_path / "alice.py"), "--rubric", str(two_checks), "--out",
                               str(tmp_path / "out"), "--scheduler", address, "--trust-network"],
                              capture_output=True, text=True, timeout=300)
    finally:
        _stop([*workers, scheduler])
    assert done.returncode == 2, done.stderr[-3000:]
    assert "REFUSED: alice: worker w0 refused to grade: it cannot isolate student code" in done.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out" / "alice" / "results.json").exists()
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8") as f:
        assert [(r["submission"], r["score"]) for r in csv.DictReader(f)] == [("alice", "not graded")]
