#!/usr/bin/env bash
# GPU figures (run on a machine with CUDA; CI never runs this): a full `grader grade` of each
# reference on CUDA versus CPU, and batch throughput of lab07 submissions on CUDA versus CPU.
#   bench/gpu.sh [PYTHON] [WORKERS] [BATCH]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}; WORKERS=${2:-4}; BATCH=${3:-20}
SANDBOX=${SANDBOX:-auto}
G="$PY -m grader"
OUT=${OUT:-/tmp/gpu-bench}; mkdir -p "$OUT"
nvidia-smi -L || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
for ref in reference_solutions/*.py; do
  name=$(basename "$ref" .py)
  for device in cpu cuda; do
    start=$(date +%s.%N)
    $G grade "$ref" --assignment "$name" --out "$OUT/ref-$name-$device" --device $device --sandbox $SANDBOX >/dev/null 2>"$OUT/ref-$name-$device.err"
    rc=$?
    end=$(date +%s.%N)
    score=$(tail -n +2 "$OUT/ref-$name-$device/grades.csv" 2>/dev/null | cut -d, -f2,3)
    echo "reference $name on $device: $(echo "$end - $start" | bc) s, score $score, exit $rc"
  done
done
$PY - "$OUT/class" "$BATCH" <<'PYEOF'
import sys
from pathlib import Path
from tests.submissions import lab07
dest, count = Path(sys.argv[1]), int(sys.argv[2])
names = [n for n in lab07.SUBMISSIONS if n != "training_hangs"]
reference = lab07.REFERENCE.read_text()
dest.mkdir(parents=True, exist_ok=True)
for i in range(count):
    sub = lab07.SUBMISSIONS[names[i % len(names)]]
    (dest / f"s{i:03d}_{sub.name}{sub.suffix}").write_text(sub.text(reference))
PYEOF
for device in cpu cuda; do
  start=$(date +%s.%N)
  $G grade "$OUT/class" --assignment lab07_convnets --out "$OUT/batch-$device" --workers $WORKERS --device $device --sandbox $SANDBOX >/dev/null 2>"$OUT/batch-$device.err"
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc)
  echo "batch of $BATCH lab07 submissions, $WORKERS workers, $device: $secs s, $(echo "$BATCH * 3600 / $secs" | bc) an hour"
done
cmp -s "$OUT/batch-cpu/grades.csv" "$OUT/batch-cuda/grades.csv" && echo "gradebooks equal on cpu and cuda" || { echo "gradebooks differ:"; diff "$OUT/batch-cpu/grades.csv" "$OUT/batch-cuda/grades.csv"; }
