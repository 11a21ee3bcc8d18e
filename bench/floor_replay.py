"""Figure 1's compute floor (bench/realistic.py): the probe requests the grader's children answered
while a class was graded, recorded per submission (`Recorder`), replayed bare (`bare`): the same
probes on the same files, seeds and data, without the sandbox, the fork server, the protocol, the
parent's checks or the reports."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


class Patches:
    """Functions of the grader replaced for the length of a bench run, and put back by `undo`."""

    def _wrap(self, owner, name, make):
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append((owner, name, original))

    def undo(self):
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


class Recorder(Patches):
    """Every probe request the grader's children answered while grading, in order, per submission
    file (the reference's, for the oracle, under "reference"): what the bare floor replays. Blobs
    (the training data) are kept once per content, in `folder`."""

    def __init__(self, folder):
        from grader.batch import runner
        from grader.checks import oracle
        from grader.sandbox import session, workfiles

        self.folder = Path(folder)
        (self.folder / "blobs").mkdir(parents=True, exist_ok=True)
        self.requests, self.reference = {}, None
        self._local, self._lock, self._undo = threading.local(), threading.Lock(), []
        self._wrap(runner, "grade_file", self._per_file)
        self._wrap(oracle.Oracle, "_child", self._mark_reference)
        self._wrap(session.ChildSession, "probe", self._recording)
        self._wrap(workfiles, "put", self._putting)  # data a probe reads from the work folder (training sets)

    def _per_file(self, original):
        def graded(path, *args, **kwargs):
            self._local.path = str(path)
            return original(path, *args, **kwargs)
        return graded

    def _mark_reference(self, original):
        def child(oracle_self):
            made = original(oracle_self)
            made.bench_reference = True
            self.reference = oracle_self.source()
            return made
        return child

    def _recording(self, original):
        def probe(session_self, name, args, timeout, seed=0, blobs=None, **kwargs):
            from grader.sandbox.session import ProbeFailure

            ok = None  # an exception of the grader's own (not the child's) is not recorded
            try:
                value = original(session_self, name, args, timeout, seed, blobs, **kwargs)
                ok = True
            except ProbeFailure as failure:  # a timeout is not replayed: the bare side has no limit
                ok = None if failure.status == "timeout" else False
                raise
            finally:
                key = "reference" if getattr(session_self, "bench_reference", False) else self._local.path
                if ok is not None:
                    self._keep(key, name, args, seed, blobs, ok)
            return value
        return probe

    def _putting(self, original):
        def put(workdir, suffix, data, name=None):
            name = original(workdir, suffix, data, name)
            path = getattr(self._local, "path", None)
            if path is not None and not name.endswith(".py"):
                with self._lock:
                    self.requests.setdefault(path, []).append({"put": name, "blob": self._blob(data)})
            return name
        return put

    def _blob(self, data):
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        target = self.folder / "blobs" / digest
        if not target.exists():
            target.write_bytes(data)
        return digest

    def _keep(self, key, name, args, seed, blobs, ok):
        names = {blob_name: self._blob(data) for blob_name, data in (blobs or {}).items()}
        with self._lock:
            self.requests.setdefault(key, []).append({"probe": name, "args": args, "seed": seed, "blobs": names,
                                                      "ok": ok})

    def answered(self, paths):
        return sum(r.get("ok", False) for p in paths for r in self.requests.get(str(p), ()))

    def save(self, paths):
        """The record file of `paths` (and of the reference's requests), for BARE."""
        keys = {"reference", *map(str, paths)}
        record = {"reference": self.reference, "requests": {k: v for k, v in self.requests.items() if k in keys}}
        target = self.folder / f"record-{len(list(self.folder.glob('record-*')))}.json"
        target.write_text(json.dumps(record))
        return target


BARE = r"""
import json, random, sys, types
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from grader import rubric as rubrics
from grader.sandbox import probes
from grader.staging import stage
rubric = rubrics.load_file(sys.argv[1])
record = json.loads(Path(sys.argv[2]).read_text())
blob_dir = Path(sys.argv[2]).parent / "blobs"
probes.load_all()  # the course's probes were registered when its rubric loaded

def module_of(name, source, label):
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, label, "exec"), module.__dict__)
    except BaseException as exc:  # a cell that fails in the child fails here: the rest is replayed
        print("LOADFAIL", label, type(exc).__name__, file=sys.stderr)
    return module

def replay(module, requests):
    answered = 0
    for request in requests:
        if "put" in request:  # a file the parent put in the work folder (here: the cwd) for the next probe
            Path(Path(request["put"]).name).write_bytes((blob_dir / request["blob"]).read_bytes())
            continue
        seed = request["seed"] if type(request["seed"]) is int else 0
        random.seed(seed); np.random.seed(seed % 2**32); torch.manual_seed(seed)
        blobs = {name: (blob_dir / digest).read_bytes() for name, digest in request["blobs"].items()}
        try:
            probes.run(request["probe"], module, request["args"], blobs)
            answered += 1
        except BaseException:
            pass
    return answered

total = 0
if sys.argv[3] == "with-reference" and record["reference"]:
    replay(module_of(rubric.assignment, record["reference"], "reference"), record["requests"].get("reference", ()))
for path in sys.argv[4:]:
    total += replay(module_of(rubric.assignment, stage(path).source, path), record["requests"].get(path, ()))
print("ANSWERED", total, flush=True)
"""


def bare(paths, assignment, workers, record):
    """(seconds, probes answered) of the bare floor: `workers` processes each importing torch once,
    the paths dealt round-robin, each file's recorded probes replayed in order in one module (the
    first process also replays the reference's, for the oracle's expected values)."""
    rubric = ROOT / "rubric" / f"{assignment}.yaml"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    workdirs = [tempfile.mkdtemp(prefix=f"bare-{w}-", dir=Path(record).parent) for w in range(workers)]
    started = time.perf_counter()
    procs = [subprocess.Popen([PY, "-c", BARE, str(rubric), str(record), "with-reference" if w == 0 else "-",
                               *map(str, paths[w::workers])], cwd=workdirs[w], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(workers)]
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    answered = sum(int(line.split()[1]) for out, _ in outs for line in out.splitlines() if line.startswith("ANSWERED "))
    return seconds, answered
