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
# the self-supervised methods (trained on speckled train400 images only, 10 CPU-minutes each, at 4 looks):
#   noise2x bench --methods neighbor2neighbor,noise2void --dataset ../shared/data/bsd68 --noise speckle:looks=4 \
#     --limit 24 --budget-minutes 10 --out benchmarks/speckle_selfsup_bsd68_L4.json
# the blind-spot network of Laine et al. (6 CPU-minutes each, at 4 looks) with its speckle noise model (since the
# change that added it; auto: speckle) and with the learned Gaussian one it took before:
#   noise2x bench --methods blindspot --dataset ../shared/data/bsd68 --noise speckle:looks=4 --limit 24 \
#     --budget-minutes 6 --out benchmarks/speckle_blindspot_bsd68_L4.json
#   noise2x bench --methods blindspot --dataset ../shared/data/bsd68 --noise speckle:looks=4 --limit 24 \
#     --budget-minutes 6 --set blindspot.method.noise_model=gaussian_learned \
#     --out benchmarks/speckle_blindspot_gaussian_learned_bsd68_L4.json
