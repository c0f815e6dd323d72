#!/usr/bin/env bash
# The prepared job for a borrowed GPU machine that cannot download and receives at most 64 MB per
# upload: the speed benchmark, the scoring benchmark and as much of the MNIST / Fashion-MNIST boards
# as fits, each step one command of well under 10 minutes (about 12 in all, machine start included).
#
#   here, once (needs PyPI):  benchmarks/device_job.sh pack
#       .device-job/ (git-ignored): call-1/ = the wheels torch-fidelity, pydantic and submitit need that
#       the device lacks, plus data piece 1; call-2/, call-3/ = data pieces 2 and 3. The data (MNIST,
#       Fashion-MNIST, the TorchScript FID detector from $GAN_BENCH_DATA) is one tar cut into <= 45 MB
#       pieces, with the md5 of the tar and of each piece.
#   on the device, one call per upload, carrying .device-job/call-N (the machine must stay warm between
#   calls: what arrives is kept in $DEVICE_JOB_STORE, default /tmp/gan-bench-device-job):
#       benchmarks/device_job.sh receive                  # calls 1 and 2 (seconds each)
#       benchmarks/device_job.sh receive bench            # call 3: join + md5-check, install, benchmarks (~5 min)
#       benchmarks/device_job.sh board [seconds]          # call 4: board cells until the time is up (300)
#   The benchmarks: DCGAN's training step, ours vs the plain loop of train_throughput.py, plain and with
#   bf16, channels_last, compile and all three (WGAN-GP plain and all three), then eval_speed.py's
#   10,000-sample scoring, whose warm row is the one with the real statistics cached.
#
# What comes back ($OUT: at most 8 files, none deeper than 2 folders, so runs travel as one tar):
#   hardware.json, bench.txt (the benchmarks' parseable lines), bench.log; board.txt, board.log and
#   board-runs.tar.gz (the run store, runs/<paper>/<dataset>/<budget>/<run>/ without checkpoints).
#
# DEVICE_JOB_DRY_RUN=1 runs every step on this machine's CPU at tiny sizes (seconds to a minute): pack
# without wheels, 1 MB pieces ($DEVICE_JOB_PIECE_SIZE changes it), a few benchmark steps, and
# smoke-budget board cells without scoring. DEVICE_JOB_PACK moves .device-job/ (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PACK=${DEVICE_JOB_PACK:-$REPO/.device-job}
STORE=${DEVICE_JOB_STORE:-/tmp/gan-bench-device-job}
OUT=${OUT:-$STORE/out}
DRY=${DEVICE_JOB_DRY_RUN:-0}
PY=${PYTHON:-python3}
PIECE=${DEVICE_JOB_PIECE_SIZE:-45MB}  # split's size (MB = 1000 kB): each call carries one piece with the repo, under 64 MB
[ "$DRY" = 1 ] && PIECE=${DEVICE_JOB_PIECE_SIZE:-1M}
WHEELS=(torch-fidelity pydantic pydantic-core annotated-types typing-inspection typing-extensions submitit)

say() { echo "device_job: $*" >&2; }
fail() { echo "error: $*" >&2; exit 2; }

pack() {
  local data=${GAN_BENCH_DATA:-../shared/data}
  local detector=${GAN_BENCH_TORCHSCRIPT_INCEPTION:-$data/inception/nvidia-inception-2015-12-05-pool3-torchscript.pt}
  [ -d "$data/MNIST/raw" ] && [ -d "$data/FashionMNIST/raw" ] || fail "$data: no MNIST/raw and FashionMNIST/raw to pack"
  [ -f "$detector" ] || fail "$detector: no TorchScript detector to pack"
  rm -rf "$PACK" && mkdir -p "$PACK/build" "$PACK/call-1/wheels"
  if [ "$DRY" != 1 ]; then  # versions pinned to this checkout's environment, for the device's Python 3.12
    local pins=() name
    for name in "${WHEELS[@]}"; do pins+=("$name==$("$PY" -c "import importlib.metadata as m; print(m.version('$name'))")"); done
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$PACK/call-1/wheels" "${pins[@]}"
  fi
  mkdir -p "$PACK/build/data/inception"
  cp -rL "$data/MNIST" "$data/FashionMNIST" "$PACK/build/data/"
  cp "$detector" "$PACK/build/data/inception/detector.pt"
  tar -C "$PACK/build" -cf "$PACK/build/data.tar" data
  (cd "$PACK/build" && split -b "$PIECE" -d -a 2 data.tar data.tar.part- && md5sum data.tar data.tar.part-* > data.md5)
  local pieces=("$PACK"/build/data.tar.part-*) n=${#pieces[@]} i=1
  [ "$DRY" = 1 ] || [ "$n" -le 3 ] || fail "the data is $n pieces; the plan above carries 3"
  for piece in "${pieces[@]}"; do mkdir -p "$PACK/call-$i" && mv "$piece" "$PACK/call-$i/"; i=$((i + 1)); done
  cp "$PACK/build/data.md5" "$PACK/call-1/"
  rm -rf "$PACK/build"
  for call in "$PACK"/call-*; do say "$(basename "$call"): $(du -sm "$call" | cut -f1) MB"; done
}

receive() {  # keep what this call carried where the next calls find it
  mkdir -p "$STORE/pieces"
  local got=0 call
  for call in "$PACK"/call-*; do
    [ -d "$call" ] || continue
    [ -d "$call/wheels" ] && cp -r "$call/wheels" "$STORE/"
    cp "$call"/data.* "$STORE/pieces/" 2>/dev/null && got=1
  done
  [ "$got" = 1 ] || fail "no .device-job/call-N carried in this call"
  say "have $(ls "$STORE/pieces" | tr '\n' ' ')"
}

setup() {  # join and check the data, install the wheels: idempotent
  if [ ! -d "$STORE/data" ]; then
    [ -f "$STORE/pieces/data.md5" ] || fail "data.md5 not received (call 1 carries it)"
    (cd "$STORE/pieces" && grep 'part-' data.md5 | md5sum -c --quiet) || fail "a data piece is missing or damaged"
    (cd "$STORE/pieces" && cat data.tar.part-* > data.tar && grep ' data.tar$' data.md5 | md5sum -c --quiet) \
      || fail "the joined data does not match its md5"
    tar -C "$STORE" -xf "$STORE/pieces/data.tar" && rm "$STORE/pieces/data.tar"
  fi
  if compgen -G "$STORE/wheels/*.whl" >/dev/null && [ ! -d "$STORE/site" ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$STORE/site" "$STORE"/wheels/*.whl
  fi
  export PYTHONPATH=$STORE/site:$REPO${PYTHONPATH:+:$PYTHONPATH}
  export GAN_BENCH_DATA=$STORE/data GAN_BENCH_CACHE=$STORE/cache PYTHONUNBUFFERED=1
  export GAN_BENCH_TORCHSCRIPT_INCEPTION=$STORE/data/inception/detector.pt
  mkdir -p "$OUT"
  "$PY" - > "$OUT/hardware.json" <<'EOF'
import json, os, platform, subprocess, torch
cuda = torch.cuda.is_available()
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True) if cuda else None
print(json.dumps({"gpu": torch.cuda.get_device_name(0) if cuda else None,
                  "nvidia_smi": smi.stdout.strip() if smi else None, "torch": torch.__version__,
                  "cuda": torch.version.cuda, "cpus": os.cpu_count(), "platform": platform.platform(),
                  "python": platform.python_version()}, indent=1))
EOF
}

bench() {
  setup
  local device=cuda steps=200 repeats=2 samples=10000 papers=(dcgan wgan-gp)
  local configs=("" "--amp bf16" "--channels-last" "--compile" "--amp bf16 --channels-last --compile")
  # bf16 is left out on CPU, where it is many times slower: the dry run checks the switches reach the script.
  if [ "$DRY" = 1 ]; then device=cpu steps=2 repeats=1 samples=64 papers=(dcgan) configs=("" "--channels-last"); fi
  local cifar=$GAN_BENCH_DATA
  if [ ! -d "$cifar/cifar-10-batches-py" ]; then  # speed does not depend on the pixels: random CIFAR-shaped data, once
    cifar=$STORE/cifar-like
    [ -d "$cifar/cifar-10-batches-py" ] || "$PY" -c "import sys; from pathlib import Path; from tests.fixtures import \
write_cifar10_like; write_cifar10_like(Path(sys.argv[1]), per_batch=int(sys.argv[2]))" "$cifar" $((DRY == 1 ? 200 : 2000))
  fi
  : > "$OUT/bench.txt"
  for paper in "${papers[@]}"; do
    local these=("${configs[@]}")
    [ "$paper" = dcgan ] || these=("${configs[0]}" "${configs[-1]}")  # plain and all switches: time is short
    for config in "${these[@]}"; do
      # shellcheck disable=SC2086  # the switches are words
      "$PY" benchmarks/train_throughput.py --device $device --paper $paper --steps $steps --repeats $repeats --data-root "$cifar" $config \
        2>&1 | tee -a "$OUT/bench.log" | grep '^train_throughput ' >> "$OUT/bench.txt" || say "train_throughput $paper $config failed"
    done
  done
  # Scoring: 10,000 samples of the TorchScript detector with the real statistics cached (the warm row).
  "$PY" benchmarks/eval_speed.py --device $device --samples $samples --extractor torchscript 2>&1 \
    | tee -a "$OUT/bench.log" | grep '^eval_speed ' >> "$OUT/bench.txt" || say "eval_speed failed"
  cat "$OUT/bench.txt"
}

board() {
  setup
  local seconds=${1:-300} budget=standard device=cuda extra=() jobs=${DEVICE_JOB_PARALLEL:-4}
  if [ "$DRY" = 1 ]; then budget=smoke device=cpu extra=(--no-eval) jobs=1; fi
  local deadline=$(( $(date +%s) + seconds )) runs=$STORE/runs
  # The cells, seed 0 of every paper first, each board in turn: the Lucic et al. study's cells (its own
  # `paper` budget: 20 epochs, 10,000 samples vs the test split; hours on a CPU) before the classic boards.
  # A dry run takes the first two cells of the classic MNIST board at the smoke budget.
  local boards=(boards/lucic-mnist.yaml boards/mnist.yaml boards/fashion-mnist.yaml boards/lucic-fashion-mnist.yaml)
  [ "$DRY" = 1 ] && boards=(boards/mnist.yaml)
  "$PY" - "$budget" "${boards[@]}" > "$STORE/cells.txt" <<'EOF'
import sys, yaml
budget, boards = sys.argv[1], [yaml.safe_load(open(path)) for path in sys.argv[2:]]
for seed in range(max(len(b["seeds"]) for b in boards)):
    for b in boards:
        for paper in b["papers"]:
            if seed < len(b["seeds"]):  # a board's own budget (the study's `paper`); smoke in a dry run
                print(paper, b["datasets"][0], "smoke" if budget == "smoke" else b["budgets"][0], b["seeds"][seed])
EOF
  [ "$DRY" = 1 ] && head -n 2 "$STORE/cells.txt" > "$STORE/cells.dry" && mv "$STORE/cells.dry" "$STORE/cells.txt"
  : > "$OUT/board.log"
  while read -r paper dataset budget_name seed; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    local left=$(( deadline - $(date +%s) ))
    [ "$left" -gt 30 ] || { say "time is up: $paper/$dataset/$seed and later cells not started"; break; }
    # SIGTERM at the deadline: the run saves a checkpoint (resumable later), it writes no result.
    timeout -s TERM "$left" "$PY" -m harness.cli run "$paper" --dataset "$dataset" --budget "$budget_name" \
      --seed "$seed" --device "$device" --runs-dir "$runs" "${extra[@]}" < /dev/null >> "$OUT/board.log" 2>&1 &
  done < "$STORE/cells.txt"
  wait || true
  "$PY" - "$runs" > "$OUT/board.txt" <<'EOF'
import json, sys
from pathlib import Path
for result in sorted(Path(sys.argv[1]).glob("*/*/*/*/result.json")):
    r = json.loads(result.read_text())
    final = r.get("scores") or [{}]
    scores = " ".join(f"{name}={value:.4g}" for name, value in final[-1].get("metrics", {}).items())
    print(result.parent.relative_to(sys.argv[1]), r["status"], f"{r['progress']['wall_clock_s']:.0f}s", scores)
EOF
  tar -C "$STORE" --exclude=checkpoint.pt -czf "$OUT/board-runs.tar.gz" runs
  cat "$OUT/board.txt"
}

[ $# -ge 1 ] || fail "usage: benchmarks/device_job.sh pack | receive [bench] | bench | board [seconds]"
while [ $# -gt 0 ]; do
  case "$1" in
    pack) pack ;;
    receive) receive ;;
    bench) bench ;;
    board) if [[ ${2:-} =~ ^[0-9]+$ ]]; then board "$2"; shift; else board; fi ;;
    *) fail "unknown step '$1': choose pack, receive, bench or board" ;;
  esac
  shift
done
