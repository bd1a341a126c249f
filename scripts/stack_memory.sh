#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) of `noise2x denoise` on a 40 x 512 x 512 uint16
# ImageJ stack and on one 512 x 512 frame of the same kind (the baseline: Python, torch, the method), with NLM
# given the noise. Usage: bash scripts/stack_memory.sh [WORKDIR] [fits]   (PYTHONPATH=... measures another
# checkout). With "fits": also the same stack as a FITS cube (16-bit, BZERO 32768), written as .fits and as .tif.
set -euo pipefail
work=${1:-/tmp/noise2x_stack_memory}
mkdir -p "$work"
python - "$work" ${2:-} <<'PY'
import sys
import numpy as np
import tifffile
rng = np.random.default_rng(0)
tifffile.imwrite(f"{sys.argv[1]}/stack.tif", (1000 + rng.normal(0, 50, (40, 512, 512))).astype(np.uint16),
                 imagej=True, metadata={"axes": "ZYX"})
tifffile.imwrite(f"{sys.argv[1]}/frame.tif", (1000 + rng.normal(0, 50, (512, 512))).astype(np.uint16))
if len(sys.argv) > 2:
    from astropy.io import fits
    fits.PrimaryHDU(tifffile.imread(f"{sys.argv[1]}/stack.tif")).writeto(f"{sys.argv[1]}/cube.fits", overwrite=True)
PY
cases="stack.tif:stack_out.tif frame.tif:frame_out.tif"
[ "${2:-}" = fits ] && cases="$cases cube.fits:cube_out.fits cube.fits:cube_out.tif"
for case in $cases; do
  src=${case%%:*} dst=${case#*:}
  kb=$( { /usr/bin/time -v python -m noise2x denoise "$work/$src" --method nlm --noise gaussian:sigma=50 \
          --out "$work/$dst" >/dev/null 2>"$work/$dst.log"; } 2>&1; grep "Maximum resident" "$work/$dst.log" | awk '{print $NF}')
  echo "${src%%.*} -> $dst: peak $((kb / 1024)) MB"
done
