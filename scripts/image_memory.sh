#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) and time of `noise2x denoise IMAGE` with no options
# (the noise read, a shipped model chosen and applied) on single 16-bit images of growing size: a smooth pattern
# plus white noise (std 800 DN), as camera or microscope data.
# Usage: bash scripts/image_memory.sh [WORKDIR] [SIZES] [rgb]   (default sizes: 512 2048 4000 6000; rgb: colour
# images, the pattern and its noise in each channel, which go through the luminance/chrominance planes)
set -euo pipefail
work=${1:-/tmp/noise2x_image_memory}
sizes=${2:-512 2048 4000 6000}
colour=${3:-}
mkdir -p "$work"
for n in $sizes; do
  python - "$work/img$n.tif" "$n" "$colour" <<'PY'
import sys
import numpy as np
import tifffile
n = int(sys.argv[2])
yy, xx = np.mgrid[0:n, 0:n]
pattern = 20000 + 8000 * np.sin(xx / 50) * np.cos(yy / 70)
if sys.argv[3] == "rgb":
    pattern = np.stack([pattern, pattern[::-1] * 0.9, pattern[:, ::-1] * 0.8], axis=-1)
img = pattern + np.random.default_rng(0).normal(0, 800, pattern.shape)
tifffile.imwrite(sys.argv[1], img.astype(np.uint16), photometric="rgb" if img.ndim == 3 else "minisblack")
PY
  /usr/bin/time -v python -m noise2x denoise "$work/img$n.tif" --out "$work/img${n}_out.tif" >/dev/null \
    2>"$work/img$n.log"
  kb=$(grep "Maximum resident" "$work/img$n.log" | awk '{print $NF}')
  wall=$(grep "Elapsed (wall clock)" "$work/img$n.log" | awk '{print $NF}')
  echo "${n}x${n} ($(python -c "print(round($n * $n / 1e6, 1))") MP): peak $((kb / 1024)) MB, $wall"
done
