#!/usr/bin/env bash
# The issues' 4-minute checks: train each method for 4 CPU-minutes on train400 with Gaussian sigma=25,
# then denoise Set12 with PROTOCOL noise through `noise2x bench` on the saved model files.
# Usage: bash scripts/four_minute_runs.sh OUTDIR METHOD [METHOD ...]
# NOISE2X_TRAIN_SET=KEY=VALUE adds one training setting (e.g. train.precision=bf16).
set -euo pipefail
out=${1:?usage: four_minute_runs.sh OUTDIR METHOD...}; shift
data=${NOISE2X_DATA:-../shared/data}
mkdir -p "$out"
models=()
for m in "$@"; do
  if [ -f "$out/$m.safetensors" ]; then echo "kept $out/$m.safetensors (delete it to train again)"; models+=("$out/$m.safetensors"); continue; fi
  noise2x train --method "$m" --data "$data/train400" --add-noise gaussian:sigma=25 --minutes 4 \
    --seed 0 ${NOISE2X_TRAIN_SET:+--set "$NOISE2X_TRAIN_SET"} --out "$out/$m.safetensors" 2>&1 | tr '\r' '\n' | tail -n 3
  models+=("$out/$m.safetensors")
done
list=$(IFS=,; echo "${models[*]}")
noise2x bench --methods "$list" --dataset "$data/set12" --noise gaussian:sigma=25 --out "$out/set12_g25.json"
