#!/bin/sh
# The test-image figures of BENCHMARKS.md, "Correlated noise: BM3D given its spectrum" (declared beta below 0.5):
# noise2x bench told the noise (auto_noise) at correlated beta 0.25, on BSD68 (first 24) and CBSD68 (first 12),
# with the working tree's code and with the code before DECLARED_PSD_BETA went below 0.5 (04ef5d2, from a
# worktree through PYTHONPATH). Run from the repository root, nothing else running: sh scripts/declared_beta_runs.sh
set -e
. .venv/bin/activate
rm -rf /tmp/wt_old; git worktree prune; git worktree add -q /tmp/wt_old 04ef5d2
PYTHONPATH=/tmp/wt_old/src python -c "import noise2x; assert noise2x.__file__.startswith('/tmp/wt_old'), noise2x.__file__; print(noise2x.__file__)"
for spec in "correlated:sigma=10,beta=0.25:c10b025" "correlated:sigma=25,beta=0.25:c25b025"; do
  noise=${spec%:*}; tag=${spec##*:}
  for ds in "bsd68 24" "cbsd68 12"; do
    set -- $ds
    noise2x bench --methods auto_noise --dataset ../shared/data/$1 --noise "$noise" --limit $2 --out benchmarks/declared_beta_$1_${tag}.json
    PYTHONPATH=/tmp/wt_old/src noise2x bench --methods auto_noise --dataset ../shared/data/$1 --noise "$noise" --limit $2 --out benchmarks/declared_beta_$1_${tag}_04ef5d2.json
  done
done
git worktree remove --force /tmp/wt_old; git worktree prune
echo done
