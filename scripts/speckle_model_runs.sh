#!/bin/sh
# The speckle model's figures in BENCHMARKS.md, "Speckle noise": the trained file (before it is shipped as
# gray-speckle) on BSD68 (first 24) at 1, 4, 16 and 64 looks (64: beyond its range of 1..16), and CBSD68 (first 12)
# at 4 looks, channel by channel. Training (30 CPU-minutes, 2026-12-06):
#   noise2x train --method supervised --data ../shared/data/train400 --add-noise speckle:looks=1..16 \
#     --set data.resample_noise=true --minutes 30 --seed 0 --out runs/speckle/supervised_speckle1-16_30min.safetensors
# Run from the repository root, nothing else running: sh scripts/speckle_model_runs.sh
set -e
. .venv/bin/activate
M=runs/speckle/supervised_speckle1-16_30min.safetensors
for L in 1 4 16 64; do
  noise2x bench --methods $M --dataset ../shared/data/bsd68 --noise speckle:looks=$L --limit 24 \
    --out benchmarks/speckle_model_bsd68_L$L.json
done
noise2x bench --methods $M --dataset ../shared/data/cbsd68 --noise speckle:looks=4 --limit 12 --colour channels \
  --out benchmarks/speckle_model_cbsd68_L4.json
echo done
