#!/usr/bin/env bash
# Benchmarks this project against the peers a user would pick instead, in one run, and prints
# one table: training and inference images/s of the `tutorial`, `lab` and `paper` presets
# natively (ours on flex vs PyTorch on the CPU, on 2 threads and on 1), of `tutorial` and `lab`
# in headless Chromium (ours on flex and WebGPU vs TensorFlow.js 4.22 on wasm and WebGPU), the wasm download size, the time from
# page load to the first training step, and the cost of pushing with each search.
#   bash scripts/bench.sh [--quick] [--webgpu-lab]
# --quick: a short smoke run (figures not for the README). --webgpu-lab: also the `lab` preset on
# WebGPU, which on this machine's software adapter adds about 15 minutes (one step each).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

QUICK=""
BROWSER_FLAGS=()
for arg in "$@"; do
  case "$arg" in
  --quick) QUICK=--quick ;;
  --webgpu-lab) BROWSER_FLAGS+=(--webgpu-lab) ;;
  *) echo "usage: bash scripts/bench.sh [--quick] [--webgpu-lab]" >&2 && exit 2 ;;
  esac
done
BENCH="$ROOT/tests/bench"
VENV="${OVERUNLEARN_BENCH_VENV:-$HOME/.cache/overunlearn/bench-venv}"
THREADS=2

ensure_chromium

# TF.js, its wasm and WebGPU backends, playwright-core: tests/bench's own package.json.
if [ ! -d "$BENCH/node_modules/@tensorflow/tfjs-backend-wasm" ] ||
  [ "$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]; then
  step "installing the bench page's npm packages"
  (cd "$BENCH" && npm ci --no-audit --no-fund)
fi

# PyTorch in a virtual environment outside the clone (see tests/bench/requirements.txt for why
# it is the CUDA wheel with its nvidia-* packages: PyPI serves no CPU-only Linux wheel).
STAMP="$VENV/.requirements.sha256"
if ! sha256sum --status -c "$STAMP" 2>/dev/null; then
  step "installing PyTorch into $VENV (once: about 3 GB download)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$BENCH/requirements.txt"
  "$VENV/bin/python" -c 'import torch; torch.zeros(1)'
  sha256sum "$BENCH/requirements.txt" >"$STAMP"
fi

build_cli
build_pkg
# The wasm the lab ships (wasm-opt -Oz, cached by hash): its size and speed are what users get.
ensure_node_modules
optimize_pkg

DATA="$OVERUNLEARN_DATA"
if [ ! -f "$DATA/cifar-10-batches-bin/data_batch_1.bin" ]; then
  echo "error: $DATA/cifar-10-batches-bin/ (extracted CIFAR-10) is needed" >&2
  exit 1
fi
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LINES="$OUT/figures.jsonl"
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE="$(load)"

# this project's CLI: `--json` pretty-prints; one line per figure here.
ours_native() {
  "$OVERUNLEARN" bench --data "$DATA" --json "$@" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); t=r["throughput"]
t.update(kind="throughput", where="native", peer="ours-flex", preset=t["config"]["preset"]); print(json.dumps(t))
for p in r.get("push") or []: p["kind"]="push"; print(json.dumps(p))'
}
if [ -n "$QUICK" ]; then
  NATIVE_T=(--warmup 1 --steps 2 --runs 2 --inference-batches 1)
  NATIVE_L=("${NATIVE_T[@]}")
  NATIVE_P=("${NATIVE_T[@]}")
  BROWSER_FLAGS+=(--quick)
  PUSH=1
else
  NATIVE_T=(--warmup 3 --steps 10 --runs 5 --inference-batches 4)
  NATIVE_L=(--warmup 2 --steps 5 --runs 5 --inference-batches 2)
  # The paper's model: about 90 training images/s here, so fewer and shorter runs.
  NATIVE_P=(--warmup 1 --steps 3 --runs 3 --inference-batches 1)
  PUSH=5
fi

# On 2 threads (the bar) and on 1. PyTorch gets OMP_WAIT_POLICY=PASSIVE: with libgomp's default
# spin-waiting, one core busy with anything else cut its 2-thread training here from about 1,400
# to 280 images/s (its best setting is the fair comparison).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
for threads in $THREADS 1; do
  where=native
  [ "$threads" = "$THREADS" ] || where=native1
  step "native: this project (flex, rayon on $threads threads) and PyTorch ($threads threads)"
  export RAYON_NUM_THREADS=$threads
  for preset in tutorial lab paper; do
    case $preset in
    tutorial) args=("${NATIVE_T[@]}") ;;
    lab) args=("${NATIVE_L[@]}") ;;
    paper) args=("${NATIVE_P[@]}") ;;
    esac
    ours_native --preset "$preset" "${args[@]}" | WHERE=$where python3 -c 'import json,os,sys
for l in sys.stdin: r=json.loads(l); r.update(where=os.environ["WHERE"]); print(json.dumps(r))' >>"$LINES"
    "$VENV/bin/python" "$BENCH/torch_bench.py" --data "$DATA" --threads "$threads" --preset "$preset" \
      "${args[@]}" | WHERE=$where python3 -c 'import json,os,sys
for l in sys.stdin: r=json.loads(l); r.update(kind="throughput", where=os.environ["WHERE"]); print(json.dumps(r))' >>"$LINES"
  done
done
export RAYON_NUM_THREADS=$THREADS

step "Chromium: this project (flex, WebGPU) and TF.js (wasm, WebGPU)"
node "$BENCH/run.mjs" --pkg "$ROOT/pkg" --data "$DATA" "${BROWSER_FLAGS[@]}" >>"$LINES"

step "wasm download size (the CPU builds and the WebGPU build)"
for build in cpu threads webgpu; do
  dir="$ROOT/pkg"
  [ $build != cpu ] && dir="$ROOT/pkg/$build"
  WASM="$dir/overunlearn_bg.wasm"
  JS="$dir/overunlearn.js"
  printf '{"kind":"size","build":"%s","wasm_raw":%d,"wasm_gzip":%d,"js_raw":%d,"js_gzip":%d}\n' \
    $build "$(stat -c %s "$WASM")" "$(gzip -9 -c "$WASM" | wc -c)" \
    "$(stat -c %s "$JS")" "$(gzip -9 -c "$JS" | wc -c)" >>"$LINES"
done

step "pushing: ZOO, efficient, white-box ($PUSH samples each, tutorial model trained here)"
ours_native --preset tutorial --warmup 1 --steps 1 --runs 1 --inference-batches 1 \
  --push-samples $PUSH --push-epochs 2 | grep '"kind": "push"' >>"$LINES"
printf '{"kind":"push_meta","note":"%s"}\n' \
  "tutorial model, 2 epochs on data_batch_1, native flex; first $PUSH correctly classified test images" >>"$LINES"

printf '{"kind":"machine","cpu":"%s","cores":%d,"load_before":"%s","load_after":"%s","date":"%s"}\n' \
  "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(nproc)" "$LOAD_BEFORE" "$(load)" \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" >>"$LINES"

step "figures"
node "$BENCH/report.mjs" "$LINES"
