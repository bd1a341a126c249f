#!/bin/sh
# The figures of BENCHMARKS.md, "Speckle noise: the homomorphic route": noise2x bench told the speckle (auto_noise:
# the no-option route told the noise; bm3d: BM3D told it, both through the logarithm) and with no options (auto),
# on BSD68 (first 24) at 1, 4, 16 and 64 looks and CBSD68 (first 12) at 4 looks.
# Run from the repository root, nothing else running: sh scripts/speckle_runs.sh
set -e
. .venv/bin/activate
for L in 1 4 16 64; do
  noise2x bench --methods auto_noise,bm3d,auto --dataset ../shared/data/bsd68 --noise speckle:looks=$L --limit 24 \
    --out benchmarks/speckle_bsd68_L$L.json
done
noise2x bench --methods auto_noise,bm3d,auto --dataset ../shared/data/cbsd68 --noise speckle:looks=4 --limit 12 \
  --out benchmarks/speckle_cbsd68_L4.json
echo done
