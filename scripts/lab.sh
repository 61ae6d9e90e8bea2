#!/usr/bin/env bash
# Starts the lab. Until the browser page lands, this trains the `lab` preset on CIFAR-10
# (data_batch_1) with the native CLI and prints the test accuracy.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

if [ ! -e "$OVERUNLEARN_DATA/cifar-10-batches-bin/data_batch_1.bin" ] &&
  [ ! -e "$OVERUNLEARN_DATA/cifar-10-binary.tar.gz" ]; then
  build_cli
  step "downloading CIFAR-10 into $OVERUNLEARN_DATA"
  "$OVERUNLEARN" download --dataset cifar10 --data "$OVERUNLEARN_DATA"
fi
build_cli
step "training the lab preset on CIFAR-10 data_batch_1 (data: $OVERUNLEARN_DATA)"
"$OVERUNLEARN" train --dataset cifar10 --data "$OVERUNLEARN_DATA" --batches 1 --preset lab \
  --epochs "${EPOCHS:-10}" --seed 0 --out "${MODEL:-$ROOT/target-lab-model.bin}" "$@"
