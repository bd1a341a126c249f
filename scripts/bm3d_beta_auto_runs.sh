#!/bin/sh
# The figures of BENCHMARKS.md, "BM3D with beta=auto": noise2x bench of bm3d not told the noise (--estimate-noise),
# as it is (a white sigma estimated) and with --set beta=auto (beta and sigma read from the image), on BSD68
# (first 24) and CBSD68 (first 12), at correlated and white noise. Run from the repository root, nothing else
# running: sh scripts/bm3d_beta_auto_runs.sh
set -e
. .venv/bin/activate
for spec in "correlated:sigma=25,beta=1:c25b1" "correlated:sigma=25,beta=0.5:c25b05" "gaussian:sigma=25:g25" "gaussian:sigma=5:g5"; do
  noise=${spec%:*}; tag=${spec##*:}
  for ds in "bsd68 24" "cbsd68 12"; do
    set -- $ds
    noise2x bench --methods bm3d --estimate-noise --dataset ../shared/data/$1 --noise "$noise" --limit $2 --out benchmarks/bm3d_auto_$1_${tag}_white.json
    noise2x bench --methods bm3d --estimate-noise --set beta=auto --dataset ../shared/data/$1 --noise "$noise" --limit $2 --out benchmarks/bm3d_auto_$1_${tag}.json
  done
done
echo done
