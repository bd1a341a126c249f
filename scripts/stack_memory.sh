#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) of `noise2x denoise` on a 40 x 512 x 512 uint16
# ImageJ stack and on one 512 x 512 frame of the same kind (the baseline: Python, torch, the method), with NLM
# given the noise. Usage: bash scripts/stack_memory.sh [WORKDIR]   (PYTHONPATH=... measures another checkout)
set -euo pipefail
work=${1:-/tmp/noise2x_stack_memory}
mkdir -p "$work"
python - "$work" <<'PY'
import sys
import numpy as np
import tifffile
rng = np.random.default_rng(0)
tifffile.imwrite(f"{sys.argv[1]}/stack.tif", (1000 + rng.normal(0, 50, (40, 512, 512))).astype(np.uint16),
                 imagej=True, metadata={"axes": "ZYX"})
tifffile.imwrite(f"{sys.argv[1]}/frame.tif", (1000 + rng.normal(0, 50, (512, 512))).astype(np.uint16))
PY
for name in stack frame; do
  kb=$( { /usr/bin/time -v python -m noise2x denoise "$work/$name.tif" --method nlm --noise gaussian:sigma=50 \
          --out "$work/${name}_out.tif" >/dev/null 2>"$work/$name.log"; } 2>&1; grep "Maximum resident" "$work/$name.log" | awk '{print $NF}')
  echo "$name: peak $((kb / 1024)) MB"
done
