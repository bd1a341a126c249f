#!/usr/bin/env bash
# Noise2Noise vs supervised with the N2N paper's training noise (re-drawn every step, random levels:
# Gaussian sigma in [0,50], Poisson peak in [5,50]), trained on train400 for MINUTES each, evaluated on BSD68
# (Gaussian sigma=25 / Poisson peak=30, PROTOCOL noise) and Set12 (sigma=25).
# Usage: bash scripts/n2n_paper_runs.sh OUTDIR GAUSS_MINUTES POISSON_MINUTES
set -euo pipefail
out=${1:?outdir}; gm=${2:?gaussian minutes}; pm=${3:?poisson minutes}
data=${NOISE2X_DATA:-../shared/data}
mkdir -p "$out"
for m in supervised noise2noise; do
  noise2x train --method $m --data "$data/train400" --add-noise gaussian:sigma=0..50 --set data.resample_noise=true \
    --minutes "$gm" --seed 0 --out "$out/${m}_gauss0-50.safetensors" 2>&1 | tr '\r' '\n' | tail -n 2
done
for m in supervised noise2noise; do
  noise2x train --method $m --data "$data/train400" --add-noise poisson:peak=5..50 --set data.resample_noise=true \
    --minutes "$pm" --seed 0 --out "$out/${m}_poisson5-50.safetensors" 2>&1 | tr '\r' '\n' | tail -n 2
done
g="$out/supervised_gauss0-50.safetensors,$out/noise2noise_gauss0-50.safetensors"
p="$out/supervised_poisson5-50.safetensors,$out/noise2noise_poisson5-50.safetensors"
noise2x bench --methods "$g" --dataset "$data/bsd68" --noise gaussian:sigma=25 --out "$out/bsd68_g25.json"
noise2x bench --methods "$p" --dataset "$data/bsd68" --noise poisson:peak=30 --out "$out/bsd68_p30.json"
noise2x bench --methods "bm3d,$g" --dataset "$data/set12" --noise gaussian:sigma=25 --out "$out/set12_g25.json"
