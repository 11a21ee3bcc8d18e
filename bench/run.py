"""The harness's own cost, measured side by side in one run; prints each ratio next to its target.

    .venv/bin/python bench/run.py                # the CPU parts (about 10 minutes on 2 cores)
    .venv/bin/python bench/run.py --class300     # also a class of 300 lab07 submissions, 2 workers
    .venv/bin/python bench/run.py --only startup overhead

Absolute seconds are noisy on a shared machine; each pair runs alternately, medians are compared.
GPU figures come from bench/gpu.py on a machine with CUDA.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
PY = sys.executable
GRADER = [PY, "-m", "grader"]
REFERENCE = ROOT / "reference_solutions" / "lab07_convnets.py"
RUBRIC = ROOT / "rubric" / "lab07_convnets.yaml"


def timed(command, **kwargs):
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, **kwargs)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def pair(label_a, run_a, label_b, run_b, runs):
    """Median seconds of two commands run alternately."""
    times = {label_a: [], label_b: []}
    for i in range(runs):
        for label, run in ((label_a, run_a), (label_b, run_b)) if i % 2 == 0 else ((label_b, run_b), (label_a, run_a)):
            times[label].append(run())
    return {k: statistics.median(v) for k, v in times.items()}, times


def report(name, value, target, better="lower", unit="x", problems=()):
    """The figure's line; REFUSED without a number when a side did not do its work (`problems`)."""
    if problems:
        print(f"  => {name}: REFUSED ({'; '.join(problems)})", flush=True)
        return {"figure": name, "refused": list(problems), "ok": False}
    ok = value <= target if better == "lower" else value >= target
    print(f"  => {name}: {value:.2f}{unit} (target {'<=' if better == 'lower' else '>='} {target}{unit}) "
          f"{'OK' if ok else 'MISSED'}", flush=True)
    return {"figure": name, "value": round(value, 3), "target": target, "ok": ok}


def rubric_with(tmp, ids):
    raw = yaml.safe_load(RUBRIC.read_text())
    raw["checks"] = [c for c in raw["checks"] if c["id"] in ids]
    path = Path(tmp) / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, raw


BARE_TRAINING = r"""
import importlib.util, sys, random
import numpy as np, torch
from torch.utils.data import DataLoader, TensorDataset
from grader import data as datasets
seed, train_size, test_size, epochs, batch = map(int, sys.argv[2:7])
split = datasets.load("mnist")
payload, test_y = datasets.child_inputs(split, train_size, test_size, seed)
import io
arrays = np.load(io.BytesIO(payload))
spec = importlib.util.spec_from_file_location("reference", sys.argv[1])
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
torch.set_num_threads(1)
random.seed(seed); np.random.seed(seed % 2**32); torch.manual_seed(seed)
loader = DataLoader(TensorDataset(torch.from_numpy(arrays["train_x"]), torch.from_numpy(arrays["train_y"])),
                    batch_size=batch, shuffle=True)
model = ref.build_classifier()
ref.train_classifier(model, loader, epochs)
pred = ref.predict(model, torch.from_numpy(arrays["test_x"])).numpy()
print("ACCURACY", float((pred == test_y).mean()))
"""


def overhead(tmp, runs):
    print("1. overhead: `grader grade` of the lab07 reference's training check vs the same work bare", flush=True)
    rubric, raw = rubric_with(tmp, {"accuracy"})
    p = raw["checks"][0]["params"]
    from grader.rubric import load_file

    seed = load_file(rubric).checks[0].seed
    bare = [PY, "-c", BARE_TRAINING, str(REFERENCE), str(seed), str(p["train_size"]), str(p["test_size"]),
            str(p["epochs"]), str(p["batch_size"])]
    ours = [*GRADER, "grade", str(REFERENCE), "--rubric", str(rubric), "--out", str(Path(tmp) / "ov"),
            "--fresh-children", "--sandbox", "bwrap"]
    medians, times = pair("grader", lambda: timed(ours)[0], "bare", lambda: timed(bare)[0], runs)
    accuracy_bare = float(timed(bare)[1].split("ACCURACY")[1])
    accuracy_ours = json.loads((Path(tmp) / "ov" / "lab07_convnets" / "results.json").read_text())["checks"][0]["value"]
    print(f"  grader {times['grader']} s, bare {times['bare']} s; accuracy grader {accuracy_ours:.4f}, "
          f"bare {accuracy_bare:.4f} ({'same work' if abs(accuracy_ours - accuracy_bare) < 1e-9 else 'DIFFERENT work'})")
    return report("grade/bare", medians["grader"] / medians["bare"], 1.10)


def startup(tmp, runs):
    print("2. start-up: `grader check` with the quick checks vs `python -c 'import torch; import <submission>'`",
          flush=True)
    quick = ("intermediate_size", "conv_shapes", "convnet_shape")
    ours = [*GRADER, "check", str(REFERENCE), *[a for c in quick for a in ("--only", c)], "--sandbox", "bwrap"]
    bare = [PY, "-c", "import importlib.util, torch; s = importlib.util.spec_from_file_location('m', "
                      f"{str(REFERENCE)!r}); s.loader.exec_module(importlib.util.module_from_spec(s))"]
    medians, times = pair("check", lambda: timed(ours)[0], "bare", lambda: timed(bare)[0], runs)
    print(f"  grader check {times['check']} s, bare import {times['bare']} s")
    return report("check/bare", medians["check"] / medians["bare"], 1.5)


def make_class(folder, count):
    from tests.submissions import lab07

    names = [n for n in lab07.SUBMISSIONS if n != "training_hangs"]
    source = lab07.REFERENCE.read_text()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = lab07.SUBMISSIONS[names[i % len(names)]] if i % 3 else lab07.SUBMISSIONS["passes_all"]
        text = sub.text(source)  # a line of its own: identical files are graded once, and this figure is of 300 grades
        if sub.suffix == ".py":
            text += f"\n# student {i:03d}\n"
        elif sub.suffix == ".ipynb":
            notebook = json.loads(text)
            notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [f"student {i:03d}"]})
            text = json.dumps(notebook)
        (folder / f"s{i:03d}_{sub.name}{sub.suffix}").write_text(text)
    return folder


def scaling(tmp, runs):
    print("3. scaling: a batch of 20 lab07 submissions with 1 and with 2 workers", flush=True)
    batch = make_class(Path(tmp) / "class20", 20)
    one = lambda: timed([*GRADER, "grade", str(batch), "-a", "lab07_convnets", "--out", str(Path(tmp) / "w1"),  # noqa: E731
                         "--workers", "1"])[0]
    two = lambda: timed([*GRADER, "grade", str(batch), "-a", "lab07_convnets", "--out", str(Path(tmp) / "w2"),  # noqa: E731
                         "--workers", "2"])[0]
    medians, times = pair("1 worker", one, "2 workers", two, runs)
    print(f"  1 worker {times['1 worker']} s ({20 / medians['1 worker'] * 3600:.0f}/h), "
          f"2 workers {times['2 workers']} s ({20 / medians['2 workers'] * 3600:.0f}/h)")
    same = (Path(tmp) / "w1" / "grades.csv").read_text() == (Path(tmp) / "w2" / "grades.csv").read_text()
    print(f"  gradebooks of 1 and 2 workers {'equal' if same else 'DIFFER'}")
    return report("speed-up 2 workers / 1", medians["1 worker"] / medians["2 workers"], 1.8, better="higher")


ASSERTIONS = r"""
import io, numpy as np, torch, torch.nn.functional as F
from PIL import Image
for args, w, b in [((1, 2, 3), (2, 1, 3, 3), (2,)), ((3, 8, (5, 3)), (8, 3, 5, 3), (8,)),
                   ((4, 7, (2, 6)), (7, 4, 2, 6), (7,))]:
    got = conv_parameter_shapes(*args); assert got == {"weight": w, "bias": b}, args
det = make_edge_detector()
v = torch.zeros(12, 12); v[:, 6:] = 1
r = lambda img: F.conv2d(img[None, None], det.weight.detach(), det.bias.detach())[0].abs().amax(dim=(1, 2))
assert r(v)[0] > 0 and r(v)[1] < 1e-6 and r(v.T)[1] > 0 and r(v.T)[0] < 1e-6
assert tuple(edge_maps(torch.rand(9, 14)).shape) == (2, 7, 12)
assert len([a for a in plot_edge_maps(torch.rand(28, 28)).get_axes() if a.get_images()]) >= 3
assert tuple(build_convnet()(torch.randn(123, 784)).shape) == (123, 512) and INTERMEDIATE_SIZE == 512
assert tuple(build_classifier()(torch.randn(7, 784)).shape) == (7, 10)
assert sum(p.numel() for p in build_classifier().parameters()) == 9946
arrays = np.load(DATA_FILE)
torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(arrays["train_x"]),
                                     torch.from_numpy(arrays["train_y"])), batch_size=BATCH_SIZE, shuffle=True)
model = build_classifier(); train_classifier(model, loader, EPOCHS)
assert (predict(model, torch.from_numpy(arrays["test_x"])).numpy() == arrays["test_y"]).mean() >= THRESHOLD
for k, lr in ((10, 0.01), (3, 0.05), (7, 0.01)):
    m = build_transfer_model(k); o = transfer_optimizer(m, lr)
    assert all(not p.requires_grad for n, p in m.named_parameters() if not n.startswith("fc."))
    assert tuple(m.fc.weight.shape) == (k, 512) and o.param_groups[0]["lr"] == lr
print("ALL ASSERTIONS PASSED")
"""


def accuracy_budget():
    """lab07's accuracy check as the rubric sets it: the peer side trains exactly what the grader does."""
    from grader import rubric as rubrics

    [check] = [c for c in rubrics.load("lab07_convnets").checks if c.id == "accuracy"]
    return check.params


def assertion_cell(data_file):
    """The peer side's checks as one cell, at the rubric's training budget."""
    p = accuracy_budget()
    return (f"DATA_FILE = {str(data_file)!r}\nEPOCHS, BATCH_SIZE, THRESHOLD = {p['epochs']}, {p['batch_size']}, "
            f"{p['threshold']}\n" + ASSERTIONS)


def peer_engine(tmp, runs):
    print("4. peer engine: nbclient executing the reference notebook + assertions vs `grader grade` of it", flush=True)
    import nbformat

    from grader import data as datasets
    from tests.submissions import lab07

    notebook_text = lab07.SUBMISSIONS["template_notebook_with_reference"].text(REFERENCE.read_text())
    path = Path(tmp) / "lab07_convnets.ipynb"
    path.write_text(notebook_text)
    split = datasets.load("mnist")
    payload, test_y = datasets.child_inputs(split, accuracy_budget()["train_size"], accuracy_budget()["test_size"], 0)
    import io

    import numpy as np

    arrays = dict(np.load(io.BytesIO(payload)))
    np.savez(Path(tmp) / "data.npz", test_y=test_y, **arrays)
    nb = nbformat.reads(notebook_text, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(assertion_cell(Path(tmp) / "data.npz")))
    peer = Path(tmp) / "peer.ipynb"
    nbformat.write(nb, peer)
    runner = ("import sys, nbformat; from nbclient import NotebookClient; nb = nbformat.read(sys.argv[1], 4); "
              "NotebookClient(nb, timeout=600, kernel_name='python3').execute(); "
              "print('ALL ASSERTIONS PASSED' in str(nb.cells[-1].outputs))")
    theirs = [PY, "-c", runner, str(peer)]
    ours = [*GRADER, "grade", str(path), "-a", "lab07_convnets", "--out", str(Path(tmp) / "nbours"), "--sandbox", "bwrap"]
    problems = []

    def run_theirs():  # counts only when the kernel ran every cell and the assertions passed
        seconds, out = timed(theirs)
        if out.strip().splitlines()[-1:] != ["True"]:
            problems.append(f"nbclient did not pass the assertions ({seconds:.2f} s): {out[-300:]!r}")
        return seconds

    def run_ours():
        seconds, _ = timed(ours)
        result = json.loads((Path(tmp) / "nbours" / "lab07_convnets" / "results.json").read_text())
        if not any(c["id"] == "accuracy" and c.get("value") is not None for c in result["checks"]):
            problems.append("the grader did not train the notebook")
        return seconds

    medians, times = pair("grader", run_ours, "nbclient", run_theirs, runs)
    print(f"  grader {times['grader']} s (15 checks, sandboxed), nbclient {times['nbclient']} s "
          f"(same checks as asserts, unsandboxed, one kernel)")
    return report("grader/nbclient", medians["grader"] / medians["nbclient"], 0.5, problems=problems)


NB_RUNNER = ("import sys, nbformat; from nbclient import NotebookClient\n"
             "for path in sys.argv[1:]:\n"
             "    nb = nbformat.read(path, 4); NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
             "    print('PASSED' if 'ALL ASSERTIONS PASSED' in str(nb.cells[-1].outputs) else 'FAILED', flush=True)\n")


def notebook_class(tmp, runs, count=20, workers=2):
    """Figure 2: `grader grade` of a class of notebooks (2 workers) / nbclient executing each in a fresh
    kernel with the same checks as assertions (2 processes, the notebooks dealt between them)."""
    print(f"2. a class of {count} lab07 notebooks: `grader grade` / nbclient, {workers} processes each", flush=True)
    import io

    import nbformat
    import numpy as np

    import realistic_class
    from grader import data as datasets
    from grader.assign import make_notebook

    split = datasets.load("mnist")
    payload, test_y = datasets.child_inputs(split, accuracy_budget()["train_size"], accuracy_budget()["test_size"], 0)
    np.savez(Path(tmp) / "data.npz", test_y=test_y, **dict(np.load(io.BytesIO(payload))))
    correct = [p for p in realistic_class.plan("lab07_convnets", count * 2, seed=3) if p.tier == "correct"][:count]
    ours_dir, peer_dir = Path(tmp) / "nb-class", Path(tmp) / "nb-peer"
    ours_dir.mkdir()
    peer_dir.mkdir()
    for i, item in enumerate(correct):
        text = item.text if item.suffix == ".ipynb" else make_notebook(item.text)
        (ours_dir / f"s{i:03d}.ipynb").write_text(text)
        nb = nbformat.reads(text, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(assertion_cell(Path(tmp) / "data.npz")))
        nbformat.write(nb, peer_dir / f"s{i:03d}.ipynb")
    problems = []

    def run_ours():
        out = Path(tmp) / "nb-out"
        seconds, _ = timed([*GRADER, "grade", str(ours_dir), "-a", "lab07_convnets", "--out", str(out),
                            "--workers", str(workers)])
        trained = sum(any(c["id"] == "accuracy" and c.get("value") is not None for c in
                          json.loads(f.read_text())["checks"]) for f in out.glob("*/results.json"))
        if trained != len(correct):
            problems.append(f"the grader trained {trained} of {len(correct)} notebooks")
        return seconds

    def run_theirs():
        paths = sorted(peer_dir.glob("*.ipynb"))
        started = time.perf_counter()
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one torch thread, as the grader's children
        procs = [subprocess.Popen([PY, "-c", NB_RUNNER, *map(str, paths[w::workers])], cwd=ROOT, text=True, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for w in range(workers)]
        outs = [proc.communicate()[0] for proc in procs]
        seconds = time.perf_counter() - started
        passed = sum(out.split().count("PASSED") for out in outs)
        if passed != len(paths):
            problems.append(f"nbclient passed the assertions in {passed} of {len(paths)} notebooks ({seconds:.1f} s)")
        return seconds

    medians, times = pair("grader", run_ours, "nbclient", run_theirs, runs)
    print(f"  grader {times['grader']} s (full rubric, sandboxed, fork server), nbclient {times['nbclient']} s "
          "(same checks as asserts, unsandboxed, a kernel a notebook)")
    return report("class of notebooks grader/nbclient", medians["grader"] / medians["nbclient"], 0.5,
                  problems=problems)


def memory(tmp, runs):
    print("7. memory: peak resident memory of the parent and of the largest child, full lab07 grade", flush=True)
    probe = ("import resource, sys; from grader import commands; "
             "commands.grade(paths=[sys.argv[1]], assignment='lab07_convnets', out_dir=sys.argv[2], "
             "fork_server=False, sandbox='process', echo=lambda *a, **k: None, progress=False); "
             "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    _, out = timed([PY, "-c", probe, str(REFERENCE), str(Path(tmp) / "mem")])
    parent_kb, child_kb = map(int, out.split("RSS")[1].split())
    limit_mb = yaml.safe_load(RUBRIC.read_text())["memory_limit_mb"]
    print(f"  parent {parent_kb / 1024:.0f} MiB, largest child {child_kb / 1024:.0f} MiB, child limit {limit_mb} MiB")
    return report("largest child / memory limit", child_kb / 1024 / limit_mb, 0.5)


def class300(tmp, runs):
    print("6. a class of 300 lab07 submissions, 2 workers, fork server", flush=True)
    batch = make_class(Path(tmp) / "class300", 300)
    seconds, _ = timed([*GRADER, "grade", str(batch), "-a", "lab07_convnets", "--out", str(Path(tmp) / "c300"),
                        "--workers", "2"])
    print(f"  300 submissions in {seconds:.0f} s ({300 / seconds * 3600:.0f} an hour, {seconds / 300:.2f} s each)")
    return report("class of 300, minutes", seconds / 60, 10, unit=" min")


PARTS = {"overhead": overhead, "startup": startup, "scaling": scaling, "peer": peer_engine, "memory": memory,
         "notebooks": notebook_class}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(PARTS) + ["class300"])
    parser.add_argument("--class300", action="store_true")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--realistic", action="store_true", help="the five figures of a realistic class: "
                        "bench/realistic.py (floor, reset, copies, oracle) and the class of notebooks")
    parser.add_argument("--n", type=int, default=20, help="--realistic: class size (the issue's: 300)")
    parser.add_argument("--notebooks", type=int, default=20, help="--realistic: notebooks in figure 2")
    parser.add_argument("--dups-n", type=int, default=40, help="--realistic: class size of figure 4 (copies)")
    args = parser.parse_args()
    if args.realistic:
        subprocess.run([PY, "-u", str(ROOT / "bench" / "realistic.py"), "--n", str(args.n), "--dups-n", str(args.dups_n),
                        "--only", "floor", "dups"], check=True)  # figure 6 (gradebooks): bench/realistic.py --only gradebooks
        with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
            notebook_class(tmp, 1, args.notebooks)
        return
    names = args.only or list(PARTS) + (["class300"] if args.class300 else [])
    figures = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        for name in names:
            part = class300 if name == "class300" else PARTS[name]
            figures.append(part(Path(tmp) / name if Path(tmp, name).mkdir() is None else tmp, args.runs))
    print(f"\n{sum(f['ok'] for f in figures)} of {len(figures)} targets met in {time.time() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
