#!/bin/bash
# Training the paper model on a lent GPU machine (the `device` tool), call 1 of 2: unpack the CLI and
# CIFAR-10 batches 1-2, then a short smoke test of wgpu and flex; the faster backend is written to
# /tmp/gpu/backend for call 2 (scripts/device/train.sh). How it was run (2026-11-28):
#   here: strip + xz the release CLI to .gpu/overunlearn.xz; xz -9 each data_batch_N.bin into .gpu/;
#         copy batches.meta.txt and the first 1,000 test records (test_batch_1000.bin) into .gpu/;
#         fetch the Vulkan/EGL loaders into .gl/ (/work/.library/device/README.md); copy these scripts
#         into .gpu/ (.gl/ and .gpu/ are ignored through .git/info/exclude).
#   call 1: carry .gl, .gpu/overunlearn.xz, .gpu/data_batch_{1,2}.bin.xz, .gpu/batches.meta.txt,
#           .gpu/test_batch_1000.bin, .gpu/prep.sh, .gpu/train.sh; run `bash .gpu/prep.sh`.
#   call 2 (at once: the machine stays warm 30 s): carry .gl, .gpu/data_batch_3.bin.xz, .gpu/train.sh;
#           run `LIMIT=530 bash .gpu/train.sh`. Three batches and the CLI exceed one call's 64 MiB.
# The checkpoint comes back in $OUT (the optimiser record split in two: cat the parts) and resumes
# here with `overunlearn train --resume DIR`.
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
G=/tmp/gpu; D=$G/data/cifar-10-batches-bin; mkdir -p $D
xz -dc .gpu/overunlearn.xz > $G/overunlearn & 
for n in 1 2; do xz -T4 -dc .gpu/data_batch_$n.bin.xz > $D/data_batch_$n.bin & done
cp .gpu/batches.meta.txt .gpu/test_batch_1000.bin $D/ && mv $D/test_batch_1000.bin $D/test_batch.bin
wait; chmod +x $G/overunlearn; ls -la $G $D
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
best=flex; best_rate=0
for b in wgpu flex; do
  echo "== smoke $b"
  if [ $b = wgpu ]; then size="--per-class 300 --epochs 2"; else size="--per-class 60 --epochs 1"; fi
  ( time timeout 100 $G/overunlearn train --data $G/data --backend $b --preset paper --batches 1 \
    $size --validation 0.2 --test-per-class 10 --seed 0 ) > $G/smoke-$b.log 2>&1
  grep -E "epoch|accuracy|rror|panic|real" $G/smoke-$b.log | head -12
  rate=$(grep -oE "[0-9]+ img/s" $G/smoke-$b.log | tail -1 | grep -oE "[0-9]+")
  if [ -n "$rate" ] && [ "$rate" -gt "$best_rate" ]; then best=$b; best_rate=$rate; fi
done 2>&1 | tee $OUT/smoke.log
grep -h -oE "[0-9]+ img/s" $G/smoke-wgpu.log >/dev/null 2>&1
w=$(grep -oE "[0-9]+ img/s" $G/smoke-wgpu.log | tail -1 | grep -oE "[0-9]+"); f=$(grep -oE "[0-9]+ img/s" $G/smoke-flex.log | tail -1 | grep -oE "[0-9]+")
if [ -n "$w" ] && [ "${w:-0}" -gt "${f:-0}" ]; then echo wgpu > $G/backend; else echo flex > $G/backend; fi
echo "chosen: $(cat $G/backend) (wgpu ${w:-none} img/s, flex ${f:-none} img/s)" | tee -a $OUT/smoke.log
echo ok > $G/prep-done
