#!/usr/bin/env bash
# How the normal request's cost and over-unlearning depend on how far the model was trained
# (README, "Why the normal 50% request costs 6 points"): a preset trained on CIFAR-10 batches 1-3
# (80/20, seed 0) keeps its network after every epoch; each snapshot gets the normal 10% and 50%
# requests of experiments/cifar10-paper.json, and the snapshots named in PUSH the 10% Pushing-I
# request too. Resumable: a rerun goes on from the checkpoint and skips finished measurements.
# Usage: scripts/experiments/fit-sweep.sh [PRESET] [EPOCHS]   (lab, 16: about 50 minutes on 2 cores)
# Env: OVERUNLEARN_DATA (the datasets), OUT (default ~/.cache/overunlearn/fit-sweep-PRESET),
#      PUSH (default "5 12"), BIN (default: the release CLI of scripts/env.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRESET="${1:-lab}"
EPOCHS="${2:-16}"
OUT="${OUT:-$HOME/.cache/overunlearn/fit-sweep-$PRESET}"
PUSH="${PUSH:-5 12}"
BIN="${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/overunlearn/target}/release/overunlearn}"
mkdir -p "$OUT/snapshots"
python3 - "$ROOT/experiments/cifar10-paper.json" "$OUT" "$PRESET" <<'PY'
import json, sys
base, out, preset = sys.argv[1:]
c = json.load(open(base))
c.pop("model", None)
c["run"]["preset"] = preset
c["run"]["train"]["optimizer"] = "amsgrad" if preset == "paper" else "adam"
c.update(attacks=[], labels=["original"])
json.dump(c, open(f"{out}/normal.json", "w"), indent=1)
c.update(percentages=[10.0], attacks=[{"attack": "pushing_i", "targeted": False}])
json.dump(c, open(f"{out}/push10.json", "w"), indent=1)
PY
train=(--preset "$PRESET" --batches 1,2,3 --validation 0.2 --seed 0 --patience 100)
if [ -f "$OUT/checkpoint/state.json" ]; then
  "$BIN" train --resume "$OUT/checkpoint" --epochs "$EPOCHS" --snapshots "$OUT/snapshots"
else
  "$BIN" train "${train[@]}" --epochs "$EPOCHS" --checkpoint "$OUT/checkpoint" \
    --snapshots "$OUT/snapshots"
fi
measure() { # config, epoch, report name
  [ -s "$OUT/$3.json" ] && return
  "$BIN" reproduce --config "$OUT/$1.json" --model "$OUT/snapshots/epoch-$2.bin" --json \
    --markdown "$OUT/$3.md" >"$OUT/$3.tmp" && mv "$OUT/$3.tmp" "$OUT/$3.json"
}
for epoch in $(seq 1 "$EPOCHS"); do measure normal "$epoch" "normal-$epoch"; done
for epoch in $PUSH; do measure push10 "$epoch" "push10-$epoch"; done
python3 - "$OUT" "$EPOCHS" "$PUSH" <<'PY'
import json, sys
out, epochs, push = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
state = json.load(open(f"{out}/checkpoint/state.json"))
val = {h["epoch"]: h["val_loss"] for h in state["history"]}
print("| epoch | train % (eval) | val loss | test % | class A % | normal 10%: overall / class A "
      "| normal 50%: overall (cost) / class A | `update_norm` 10% / 50% |")
print("|--:|--:|--:|--:|--:|--:|--:|--:|")
for e in range(1, epochs + 1):
    r = json.load(open(f"{out}/normal-{e}.json"))
    b, (r10, r50) = r["before"], r["rows"]
    a = r["class_names"].index(r["config"]["class_a"])
    low = " (lowest)" if val[e] == min(val.values()) else ""
    print(f"| {e} | {r['train_accuracy']*100:.1f} | {val[e]:.3f}{low} | {b['accuracy']*100:.1f} "
          f"| {b['per_class'][a]*100:.1f} | {r10['accuracy']*100:.1f} / "
          f"{r10['accuracy_a']*100:.1f} | {r50['accuracy']*100:.1f} "
          f"({(b['accuracy']-r50['accuracy'])*100:.1f}) / {r50['accuracy_a']*100:.1f} "
          f"| {r10['update_norm']:.2f} / {r50['update_norm']:.2f} |")
for e in push:
    rows = json.load(open(f"{out}/push10-{e}.json"))["rows"]
    normal, pushed = rows
    print(f"epoch {e}, 10%: class A {normal['accuracy_a']*100:.1f}% after the normal request, "
          f"{pushed['accuracy_a']*100:.1f}% after Pushing-I ({pushed['crafted']} crafted, "
          f"SSIM {pushed['mean_ssim']:.3f}; update_norm {normal['update_norm']:.2f} / "
          f"{pushed['update_norm']:.2f})")
PY
