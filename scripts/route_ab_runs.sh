#!/bin/sh
# A/B runs of the no-option call: noise2x bench --methods auto (or METHOD) on BSD68 and CBSD68 photos, with the working tree's code
# (benchmarks/PREFIX_DATASET_TAG.json) and with the code of commit BASE, from a worktree through PYTHONPATH
# (benchmarks/PREFIX_DATASET_TAG_BASE.json). Each SPEC is NOISE:TAG:N, N the BSD68 photos taken (CBSD68: 12).
# METHOD=auto_noise (the choice told the noise) in place of auto, the no-option call.
# Run from the repository root, nothing else running: sh scripts/route_ab_runs.sh BASE PREFIX SPEC...
set -e
method=${METHOD:-auto}
base=$1; prefix=$2; shift 2
. .venv/bin/activate
wt=/tmp/wt_$prefix
rm -rf "$wt"; git worktree prune; git worktree add -q "$wt" "$base"
PYTHONPATH=$wt/src python -c "import noise2x, sys; assert noise2x.__file__.startswith(sys.argv[1]), noise2x.__file__" "$wt"
for spec in "$@"; do
  n=${spec##*:}; rest=${spec%:*}; tag=${rest##*:}; noise=${rest%:*}
  for ds in bsd68 cbsd68; do
    limit=$n; [ $ds = cbsd68 ] && limit=12
    noise2x bench --methods $method --dataset ../shared/data/$ds --noise "$noise" --limit $limit --out benchmarks/${prefix}_${ds}_${tag}.json
    PYTHONPATH=$wt/src noise2x bench --methods $method --dataset ../shared/data/$ds --noise "$noise" --limit $limit --out benchmarks/${prefix}_${ds}_${tag}_${base}.json
  done
done
git worktree remove --force "$wt"; git worktree prune
echo done
