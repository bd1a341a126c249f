#!/usr/bin/env bash
# Fine-tuning (noise2x train --init) against training from scratch, at equal CPU minutes: METHOD trained on
# train400 with synthetic NOISE (noisy images only: the self-supervised methods never see a clean one), once
# from a fresh network and once from the shipped model INIT, for each budget; then BSD68 (first 16 images)
# with the same noise through `noise2x bench`, INIT as it is included.
# Usage: bash scripts/finetune_runs.sh OUTDIR [MINUTES ...]   (default budgets: 2 6)
# NOISE2X_NOISE (poisson:peak=10), NOISE2X_METHOD (neighbor2neighbor), NOISE2X_INIT (gray-gaussian-selfsup).
set -euo pipefail
out=${1:?usage: finetune_runs.sh OUTDIR [MINUTES ...]}; shift
budgets=("$@"); [ ${#budgets[@]} -gt 0 ] || budgets=(2 6)
noise=${NOISE2X_NOISE:-poisson:peak=10}
method=${NOISE2X_METHOD:-neighbor2neighbor}
init=${NOISE2X_INIT:-gray-gaussian-selfsup}
data=${NOISE2X_DATA:-../shared/data}
mkdir -p "$out"
models=("$(python -c "from noise2x.pretrained import model_path; print(model_path('$init'))")")
for m in "${budgets[@]}"; do
  for start in scratch init; do
    f="$out/${method}_${start}_${m}min.safetensors"
    if [ ! -f "$f" ]; then
      extra=(); [ "$start" = init ] && extra=(--init "$init")
      noise2x train --method "$method" --data "$data/train400" --add-noise "$noise" --minutes "$m" --seed 0 \
        "${extra[@]}" --out "$f" 2>&1 | tr '\r' '\n' | tail -n 2
    else
      echo "kept $f (delete it to train again)"
    fi
    models+=("$f")
  done
done
list=$(IFS=,; echo "${models[*]}")
noise2x bench --methods "$list" --dataset "$data/bsd68" --limit 16 --noise "$noise" --out "$out/bsd68_first16.json"
