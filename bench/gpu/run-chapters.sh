#!/bin/bash
# On a device machine, from the project's root: run chapters' code cells in order, as the book
# would, and write a log per chapter (and the glued values, the first figures) to $OUT.
#   bash bench/gpu/run-chapters.sh 15-visualizing 18-resnet-training
# The device machine has PyTorch, NumPy, numba, scikit-learn, scikit-image and matplotlib but
# no Jupyter: myst_nb.glue and IPython are replaced by the small stand-ins in stubs/ when missing.
# Wheels of other packages (mnist1d) go in bench/gpu/whl (see README.md).
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 MPLBACKEND=Agg OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
if ls "$here"/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$here"/whl/*.whl || exit 1
fi
stubs=""
python3 -c "import myst_nb" 2>/dev/null || stubs="$here/stubs"
export PYTHONPATH=$PWD:${stubs:+$stubs:}/tmp/site
{ nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } 2>&1 | tee "$OUT/env.txt"
for ch in "$@"; do
  echo "== $ch"
  GLUE_OUT="$OUT/$ch-glue.json" timeout "${CHAPTER_TIMEOUT:-300}" \
    python3 "$here/run_chapter.py" "chapters/$ch/index.md" "$ch" > "$OUT/$ch.log" 2>&1
  echo "exit $?"; grep -E "FAILED|ran in|Error" "$OUT/$ch.log" | tail -3
done
