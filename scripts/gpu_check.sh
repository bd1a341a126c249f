#!/usr/bin/env bash
# The checks and figures that need a CUDA GPU, in one run (a lent GPU machine is held by the minute).
#
#   NOISE2X_DATA=DATA bash scripts/gpu_check.sh OUTDIR [MINUTES] [SECONDS_PER_METHOD]   (MINUTES a whole number)
#
# 1. tests/test_cuda.py (skipped without a GPU): every method trains on CUDA, its file loads on the CPU,
#    the shipped models match the CPU in fp32 and within 0.1 dB in bf16/fp16, tiles, blind spot, resume,
#    GPU memory of a large image.
# 2. the methods in $GPU_CHECK_METHODS (default: blindspot neighbor2neighbor) trained MINUTES (default 2) each
#    with train.preset=auto (= paper on a GPU) on DATA/train400, Gaussian sigma 25, benched on DATA/bsd68.
# 3. scripts/gpu_speed.py: each method's paper preset in steps/s and GPU memory; inference speed.
# 4. (part "zeroshot", not in the default) scripts/gpu_zeroshot.py: ZS-N2N's gpu preset on the zero-shot table's
#    crops (DATA/cbsd68, its first 4 images) and MASH/ZS-N2N end to end on large images, into OUTDIR.
# $GPU_CHECK_PARTS (default: "tests train speed") says which parts run. Each part writes into OUTDIR as it
# goes (at most 8 files: a lent machine returns no more); the run folders stay in a temporary folder. python
# is the python3 on the PATH, with src/ on PYTHONPATH.
# On a lent machine (the device tool) ../shared does not travel: copy DATA/train400 and DATA/bsd68 into a
# folder that .git/info/exclude ignores (e.g. .gpudata), carry it, run with NOISE2X_DATA=.gpudata and
# OUTDIR=$OUT, and delete the copy afterwards (benchmark data never go into the repository).
set -u
out=${1:?usage: NOISE2X_DATA=DATA bash scripts/gpu_check.sh OUTDIR [MINUTES] [SECONDS_PER_METHOD]}
minutes=${2:-2}
per_method=${3:-10}
parts=${GPU_CHECK_PARTS:-tests train speed}
methods=${GPU_CHECK_METHODS:-blindspot neighbor2neighbor}
data=${NOISE2X_DATA:?set NOISE2X_DATA to the folder holding train400 and bsd68}
here=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 NOISE2X_DATA="$data"
work=$(mktemp -d)
mkdir -p "$out"
n2x() { python3 -m noise2x "$@"; }

{ date -u; nvidia-smi -L;
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"; nproc; } \
  > "$out/env.txt" 2>&1
cat "$out/env.txt"

[[ " $parts " == *" tests "* ]] && { echo "== 1. tests/test_cuda.py"; (cd "$here" && timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -rs -s) 2>&1 \
  | tee "$out/test_cuda.log" | grep -v '^\s*$' | tail -25; }

[[ " $parts " == *" train "* ]] && { echo "== 2. paper preset, $minutes minutes each, then BSD68"
models=
for m in $methods; do
  timeout $((minutes * 60 + 90)) python3 -m noise2x train --method "$m" --data "$data/train400" --add-noise gaussian:sigma=25 --minutes "$minutes" --seed 0 \
    --device cuda --out "$work/$m.safetensors" > "$work/train_$m.log" 2>&1
  echo "$m: rc $? $(tail -c 300 "$work/train_$m.log" | tr '\r' '\n' | tail -2)"
  cp "$work/$m.safetensors" "$out/" 2>/dev/null
  models=${models:+$models,}$work/$m.safetensors
done
n2x bench --methods "$models" --dataset "$data/bsd68" --noise gaussian:sigma=25 --out "$out/gpu_paper_bsd68_g25.json" \
  2>&1 | tail -6; }

[[ " $parts " == *" speed "* ]] && { echo "== 3. speed of each paper preset and of inference"
  timeout 200 python3 "$here/scripts/gpu_speed.py" "$out/gpu_speed.json" "$per_method" 2>&1 | tail -15; }

[[ " $parts " == *" zeroshot "* ]] && { echo "== 4. zero-shot: ZS-N2N's gpu preset, large images"
  timeout 400 python3 "$here/scripts/gpu_zeroshot.py" "$out/gpu_zeroshot.json" --data "$data" --parts gpu,large \
    2>&1 | tail -15; }
true
