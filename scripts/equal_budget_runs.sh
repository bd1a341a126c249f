#!/usr/bin/env bash
# Issues #4/#5: the self-supervised methods after one longer, equal CPU budget, on BSD68.
# Trains each method for MINUTES on train400 (Gaussian sigma=25; blindspot also Poisson peak=30),
# with sigma/peak known and learned for blindspot, then benchmarks BSD68 with PROTOCOL noise.
# mu rows are copies of the blindspot files with posterior_mean=false (scripts/blindspot_mu_copy.py).
# CAREamics' Noise2Void (the peer) is trained in the same run with the same budget (scripts/careamics_peer.sh).
# Usage: bash scripts/equal_budget_runs.sh OUTDIR MINUTES [STEP ...]   STEP: train | careamics | bench (default: all)
#        ONLY="noise2void blindspot_g25_known ..." limits the train step to those names (a run can be split).
set -euo pipefail
out=${1:?usage: equal_budget_runs.sh OUTDIR MINUTES}; minutes=${2:?minutes}; shift 2
steps=${*:-train careamics bench}
data=${NOISE2X_DATA:-../shared/data}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

train() {  # NAME METHOD NOISE [noise2x train args...]
  local name=$1 method=$2 noise=$3; shift 3
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  if [ -f "$out/$name.safetensors" ]; then echo "kept $out/$name.safetensors (delete it to train again)"; return; fi
  noise2x train --method "$method" --data "$data/train400" --add-noise "$noise" --minutes "$minutes" \
    --seed 0 --out "$out/$name.safetensors" "$@" 2>&1 | tr '\r' '\n' | tail -n 3
}

if [[ " $steps " == *" train "* ]]; then
  for m in noise2void noise2self noise2same noise2same_pro neighbor2neighbor; do
    train "$m" "$m" gaussian:sigma=25
  done
  train blindspot_g25_known blindspot gaussian:sigma=25 --set noise_model=gaussian
  train blindspot_g25_learned blindspot gaussian:sigma=25 --set noise_model=gaussian_learned
  train blindspot_p30_known blindspot poisson:peak=30 --set noise_model=poisson
  train blindspot_p30_learned blindspot poisson:peak=30 --set noise_model=poisson_learned
  for f in "$out"/blindspot_*_known.safetensors "$out"/blindspot_*_learned.safetensors; do
    [ -f "$f" ] || continue
    python "$here/blindspot_mu_copy.py" "$f" "${f%.safetensors}_mu.safetensors"
  done
fi
if [[ " $steps " == *" careamics "* ]]; then
  bash "$here/careamics_peer.sh" "$minutes" "$out/careamics_n2v.json" --datasets bsd68
fi
if [[ " $steps " == *" bench "* ]]; then
  g="$out/noise2void.safetensors,$out/noise2self.safetensors,$out/noise2same.safetensors"
  g="$g,$out/noise2same_pro.safetensors,$out/neighbor2neighbor.safetensors"
  for k in known learned; do g="$g,$out/blindspot_g25_${k}_mu.safetensors,$out/blindspot_g25_$k.safetensors"; done
  p=""
  for k in known learned; do p="$p,$out/blindspot_p30_${k}_mu.safetensors,$out/blindspot_p30_$k.safetensors"; done
  noise2x bench --methods "$g" --dataset "$data/bsd68" --noise gaussian:sigma=25 --out "$out/bsd68_g25.json"
  noise2x bench --methods "${p#,}" --dataset "$data/bsd68" --noise poisson:peak=30 --out "$out/bsd68_p30.json"
fi
