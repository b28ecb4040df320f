#!/bin/bash
# One prepared device check for a session that is lent a GPU, from the project's root:
#   bash bench/gpu/check-on-gpu.sh            (OUT defaults to /tmp/device-out)
# 1. the loop against the raw rate on the GPU (full ResNet-18, batch 512, 50,000 images, 3
#    epochs, data on the device and through a DataLoader);
# 2. the training chapters' code cells as the book runs them (profiles as the pages choose);
# 3. torchrun with two processes (NCCL when there are 2 GPUs), --sync-batchnorm.
# Try it first on the CPU: DEVICE=cpu QUICK=1 bash bench/gpu/check-on-gpu.sh
here=$(cd "$(dirname "$0")" && pwd)
export OUT=${OUT:-/tmp/device-out} TQDM_DISABLE=1
mkdir -p "$OUT"
device=${DEVICE:-cuda}
if [ -n "$QUICK" ]; then
  sizes="--model resnet18-eighth --batch 64 --n 512 --epochs 1 --steps 3"
  chapters="15-visualizing"
else
  sizes="--model resnet18 --batch 512 --n 50000 --epochs 3"
  chapters=${CHAPTERS:-"11-lenet 15-visualizing 17-mnist1d 18-resnet-training"}
fi
stubs=""
python3 -c "import myst_nb" 2>/dev/null || stubs="$here/stubs"
export PYTHONPATH=$PWD:${stubs:+$stubs:}/tmp/site
python3 bench/loop_efficiency.py --device "$device" $sizes --loader --no-save \
  > "$OUT/loop_efficiency.txt" 2>&1
echo "loop efficiency: exit $?"; tail -4 "$OUT/loop_efficiency.txt"
bash "$here/run-chapters.sh" $chapters
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -ge 2 ]; then
  timeout 300 torchrun --standalone --nproc_per_node=2 -m cnnbook.train --dataset mnist1d \
    --model cnn --epochs 3 --sync-batchnorm > "$OUT/torchrun-syncbn.txt" 2>&1
  echo "torchrun with SyncBatchNorm: exit $?"; tail -2 "$OUT/torchrun-syncbn.txt"
fi
