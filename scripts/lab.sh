#!/usr/bin/env bash
# Starts the lab: installs what it needs, builds the wasm core and the page, and serves it on
# 127.0.0.1 with the data directory at /datasets/ (downloading CIFAR-10 there first when the
# directory has no dataset at all). PORT picks the port (default 4173).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

if [ ! -e "$OVERUNLEARN_DATA/cifar-10-batches-bin/data_batch_1.bin" ] &&
  [ ! -e "$OVERUNLEARN_DATA/cifar-10-binary.tar.gz" ]; then
  build_cli
  step "downloading CIFAR-10 into $OVERUNLEARN_DATA"
  "$OVERUNLEARN" download --dataset cifar10 --data "$OVERUNLEARN_DATA"
fi
build_web
step "serving the lab (data: $OVERUNLEARN_DATA)"
echo "The lab: http://127.0.0.1:${PORT:-4173}/"
exec npx vite preview --host 127.0.0.1 --port "${PORT:-4173}" --strictPort
