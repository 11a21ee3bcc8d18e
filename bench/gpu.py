"""GPU figures (on a machine with CUDA; CI never runs this): a full `grader grade` of each
reference on CUDA versus CPU, and the throughput of a batch of lab07 submissions on both.

    python bench/gpu.py [--workers 4] [--batch 20] [--sandbox auto]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def grade(paths, assignment, out, device, sandbox, workers=1):
    command = [sys.executable, "-m", "grader", "grade", *map(str, paths), "--assignment", assignment, "--out",
               str(out), "--device", device, "--sandbox", sandbox, "--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-1500:], done.stderr[-1500:])
    rows = (Path(out) / "grades.csv").read_text().splitlines()[1:] if (Path(out) / "grades.csv").exists() else []
    return seconds, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--assignments", nargs="*", help="references to time (default: all)")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}",
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
    out = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    for reference in sorted((ROOT / "reference_solutions").glob("*.py")):
        if args.assignments and reference.stem not in args.assignments:
            continue
        times = {}
        for device in ("cpu", "cuda"):
            seconds, rows = grade([reference], reference.stem, out / f"{reference.stem}-{device}", device, args.sandbox)
            times[device] = seconds
            print(f"reference {reference.stem} on {device}: {seconds:.1f} s, score {rows[0].split(',')[1:3] if rows else '?'}")
        print(f"  ratio cuda/cpu {times['cuda'] / times['cpu']:.2f}")
    from tests.submissions import lab07

    names = [n for n in lab07.SUBMISSIONS if n != "training_hangs"]
    source = lab07.REFERENCE.read_text()
    batch = out / "class"
    batch.mkdir()
    for i in range(args.batch):
        sub = lab07.SUBMISSIONS[names[i % len(names)]]
        (batch / f"s{i:03d}_{sub.name}{sub.suffix}").write_text(sub.text(source))
    results = {}
    for device in ("cpu", "cuda"):
        seconds, rows = grade([batch], "lab07_convnets", out / f"batch-{device}", device, args.sandbox, args.workers)
        results[device] = rows
        print(f"batch of {args.batch} lab07 submissions, {args.workers} workers, {device}: {seconds:.1f} s, "
              f"{args.batch / seconds * 3600:.0f} an hour")
    print("gradebooks equal on cpu and cuda:", results["cpu"] == results["cuda"])
    if results["cpu"] != results["cuda"]:
        for a, b in zip(results["cpu"], results["cuda"]):
            if a != b:
                print("  cpu ", a, "\n  cuda", b)


if __name__ == "__main__":
    main()
