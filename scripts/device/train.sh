#!/bin/bash
# Call 2 of 2 (see prep.sh): the paper model on CIFAR-10 batches 1-3 (80/20 split), checkpointed every
# epoch, stopped after LIMIT seconds; the checkpoint and log come back in $OUT.
cd "$(dirname "$0")/.."
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
G=/tmp/gpu; D=$G/data/cifar-10-batches-bin
[ -f $G/prep-done ] || { echo "fresh machine: call 1 did not run here"; exit 3; }
xz -T8 -dc .gpu/data_batch_3.bin.xz > $D/data_batch_3.bin || exit 4
BACKEND=${BACKEND:-$(cat $G/backend)}; LIMIT=${LIMIT:-480}
echo "backend $BACKEND, limit $LIMIT s"
timeout $LIMIT $G/overunlearn train --data $G/data --backend $BACKEND --preset paper --batches 1,2,3 \
  --validation 0.2 --epochs 100 --patience 10 --seed 0 --checkpoint $G/ckpt --out $G/paper.bin --json \
  > $OUT/report.json 2> $OUT/train.log
echo "train exit $?"
sleep 1
cp $G/ckpt/state.json $G/ckpt/run.json $G/ckpt/weights.bin $G/ckpt/best.bin $OUT/ 2>/dev/null
split -n 2 -d $G/ckpt/optimizer.bpk $OUT/optimizer.bpk.part 2>/dev/null
ls -la $OUT; tail -30 $OUT/train.log
python3 -c "import json;s=json.load(open('$OUT/state.json'));[print(e['epoch'],round(e['train_loss'],4),round(e['val_loss'],4),round(e['val_accuracy'],4),round(e['seconds'],1)) for e in s['history']]" 2>&1 | tail -40
