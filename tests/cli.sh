#!/usr/bin/env bash
# End-to-end checks of the native CLI on the real CIFAR-10 files in $OVERUNLEARN_DATA.
# Usage: tests/cli.sh path/to/overunlearn
set -uo pipefail
BIN="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
check() { # name, then a command that must succeed
  local name="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}
fails_with() { # expected message, then a command that must fail with it on stderr
  local want="$1"
  shift
  local out
  if out="$("$@" 2>&1)"; then
    echo "  expected failure, got success"
    return 1
  fi
  grep -qF -- "$want" <<<"$out" || {
    echo "  output: $out"
    return 1
  }
}
train() { # output report path, then extra flags
  local out="$1"
  shift
  "$BIN" train --dataset cifar10 --batches 1 --preset tutorial --per-class 60 --test-per-class 30 \
    --epochs 2 --seed 11 --json "$@" >"$out" 2>>"$WORK/train.log"
}

check "train --json writes a report and a model" train "$WORK/a.json" --out "$WORK/model.bin"
check "the report records config, seed, backend, version, accuracies and timings" \
  python3 "$HERE/cli_report.py" check "$WORK/a.json"
check "the same config and seed reproduce the same numbers" train "$WORK/b.json"
check "  (compared)" python3 "$HERE/cli_report.py" same "$WORK/a.json" "$WORK/b.json"
check "eval reads the saved model back with the same test accuracy" bash -c \
  "'$BIN' eval --dataset cifar10 --model '$WORK/model.bin' --test-per-class 30 --seed 11 --json >'$WORK/eval.json'"
check "  (compared)" python3 "$HERE/cli_report.py" eval "$WORK/a.json" "$WORK/eval.json"
head -c 100 "$WORK/model.bin" >"$WORK/cut.bin"
check "a truncated model file is refused" fails_with "cut.bin: truncated" "$BIN" eval --model "$WORK/cut.bin"
"$BIN" train --dataset cifar100 --preset tutorial --per-class 3 --test-per-class 1 --epochs 1 \
  --out "$WORK/c100.bin" >/dev/null 2>>"$WORK/train.log"
check "a model for another dataset is refused by eval" fails_with "c100.bin: was trained on 32x32 images of classes" \
  "$BIN" eval --dataset cifar10 --model "$WORK/c100.bin"
check "a NaN learning rate is refused" fails_with "learning_rate: NaN is not allowed: give a number in (0, 1]" \
  "$BIN" train --lr NaN --epochs 1 --per-class 1
check "a wrong data directory is named" fails_with "/no/such/dir: data directory does not exist" \
  "$BIN" train --data /no/such/dir --epochs 1
check "an unknown unlearning service is named, with the ones there are" \
  fails_with 'unknown service "grey" (expected one of reference, as_written, removal' \
  "$BIN" reproduce --model "$WORK/model.bin" --service grey
check "a tau that is neither a number nor calibrated is named" \
  fails_with "\"fast\" is neither a positive number nor \"calibrated\"" \
  "$BIN" reproduce --model "$WORK/model.bin" --tau fast
check "train --checkpoint then --resume equals the same epochs in one go" bash -c "
  set -e
  '$BIN' train --dataset cifar10 --batches 1 --preset tutorial --per-class 30 --test-per-class 10 --epochs 2 \
    --seed 5 --json >'$WORK/straight.json' 2>>'$WORK/train.log'
  '$BIN' train --dataset cifar10 --batches 1 --preset tutorial --per-class 30 --test-per-class 10 --epochs 1 \
    --seed 5 --checkpoint '$WORK/ckpt' >/dev/null 2>>'$WORK/train.log'
  '$BIN' train --resume '$WORK/ckpt' --epochs 2 --json >'$WORK/resumed.json' 2>>'$WORK/train.log'"
check "  (compared)" python3 "$HERE/cli_report.py" same "$WORK/straight.json" "$WORK/resumed.json"
check "train --snapshots keeps each epoch's network as a model file of the run" bash -c "
  set -e
  '$BIN' train --dataset cifar10 --batches 1 --preset tutorial --per-class 30 --test-per-class 10 --epochs 2 \
    --seed 5 --checkpoint '$WORK/snap-ckpt' --snapshots '$WORK/snaps' >/dev/null 2>>'$WORK/train.log'
  '$BIN' eval --model '$WORK/snaps/epoch-1.bin' >/dev/null 2>&1
  '$BIN' eval --model '$WORK/snaps/epoch-2.bin' >/dev/null 2>&1
  ! cmp -s '$WORK/snaps/epoch-1.bin' '$WORK/snaps/epoch-2.bin'"
check "train --snapshots without a checkpoint is refused before any work" \
  fails_with "give --checkpoint DIR (or --resume DIR) too" "$BIN" train --snapshots "$WORK/none" --epochs 1
check "a model name that is neither a file nor shipped is named, with the shipped ones" \
  fails_with '"nonesuch" is neither a file nor a shipped model (shipped in' "$BIN" eval --model nonesuch
mkdir -p "$WORK/models"
check "train --ship writes a model and its record that eval loads by name" bash -c "
  set -e
  export OVERUNLEARN_MODELS='$WORK/models'
  '$BIN' train --dataset cifar10 --batches 1 --preset tutorial --blocks 2 --per-class 20 --epochs 1 \
    --seed 3 --ship tiny --description 'A test.' >/dev/null 2>>'$WORK/train.log'
  '$BIN' eval --model tiny --json >'$WORK/tiny-eval.json' 2>/dev/null
  python3 '$HERE/cli_report.py' shipped '$WORK/models/tiny.json' '$WORK/tiny-eval.json'"
check "train --ship --precision f16 ships the rounded model, its record measured on it" bash -c "
  set -e
  export OVERUNLEARN_MODELS='$WORK/models'
  '$BIN' train --dataset cifar10 --batches 1 --preset tutorial --blocks 2 --per-class 20 --epochs 1 \
    --seed 3 --ship tiny16 --precision f16 --description 'A test.' >/dev/null 2>>'$WORK/train.log'
  '$BIN' eval --model tiny16 --json >'$WORK/tiny16-eval.json' 2>/dev/null
  python3 '$HERE/cli_report.py' shipped '$WORK/models/tiny16.json' '$WORK/tiny16-eval.json'
  python3 '$HERE/cli_report.py' half '$WORK/models/tiny16.bin' '$WORK/models/tiny.bin'"
check "train --ship refuses a test subset before training" \
  fails_with "test_per_class: 5: a shipped model records its accuracy on the whole test split" \
  env OVERUNLEARN_MODELS="$WORK/models" "$BIN" train --test-per-class 5 --ship tiny2 --description x --epochs 1
python3 "$HERE/cli_report.py" tiny-defend-config "$HERE/../experiments/defend-cifar10-lab.json" \
  "$WORK/defend.json"
check "defend measures each defence against seeded draws of each request kind" bash -c "
  '$BIN' defend --config '$WORK/defend.json' --draws 2 --screening-draws 20 --floors 0,0.2 --sisa-requests 1 \
    --crossings '$WORK/crossings' --json >'$WORK/defended.json' 2>>'$WORK/train.log'
  python3 '$HERE/cli_report.py' defend '$WORK/defended.json'"
check "defend run again resumes from the kept measurements to the same report" bash -c "
  '$BIN' defend --config '$WORK/defend.json' --draws 2 --screening-draws 20 --floors 0,0.2 --sisa-requests 1 \
    --crossings '$WORK/crossings' --json >'$WORK/defended-again.json' 2>'$WORK/again.log'
  grep -q '3 kinds, 6 defence rows, 2 floors done' '$WORK/again.log'
  python3 '$HERE/cli_report.py' same '$WORK/defended.json' '$WORK/defended-again.json'"
python3 "$HERE/cli_report.py" tiny-defend-config "$HERE/../experiments/defend-cifar10-lab.json" \
  "$WORK/undefended.json" none
check "reproduce --ship-crafted writes the crossings its requests use as one part per side and size" bash -c "
  set -e
  '$BIN' reproduce --config '$WORK/undefended.json' --crossings '$WORK/crossings' \
    --ship-crafted '$WORK' --json >/dev/null 2>>'$WORK/train.log'
  ls '$WORK' | grep -E '^[0-9a-f]{24}-u20\.json\.gz$'
  test \$(ls '$WORK'/*.json.gz | wc -l) -eq 1"
check "defend refuses a config without defences before any work" \
  fails_with "undefended.json: names no defences" "$BIN" defend --config "$WORK/undefended.json"
# Each shipped model (models/NAME.bin beside NAME.json) loads by name, matches its SHA-256 and
# evaluates to its recorded test accuracy within 0.1 points.
for report in "$HERE"/../models/*.json; do
  name="$(basename "$report" .json)"
  check "shipped model $name evaluates to its recorded accuracy" bash -c \
    "'$BIN' eval --model '$name' --json >'$WORK/$name.json' 2>/dev/null"
  check "  (compared)" python3 "$HERE/cli_report.py" shipped "$report" "$WORK/$name.json"
done
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
