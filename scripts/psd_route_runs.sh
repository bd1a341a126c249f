#!/bin/sh
# The test-image figures of BENCHMARKS.md, "Correlated noise: BM3D given its spectrum": noise2x bench with no
# options (auto) and with the noise declared (auto_noise), on BSD68 (first 24) and CBSD68 (first 12), with the
# working tree's code and with the code before the spectrum route (88836cc, from a worktree through PYTHONPATH).
# Run from the repository root, nothing else running: sh scripts/psd_route_runs.sh
set -e
. .venv/bin/activate
rm -rf /tmp/wt_old; git worktree prune; git worktree add -q /tmp/wt_old 88836cc
PYTHONPATH=/tmp/wt_old/src python -c "import noise2x; assert noise2x.__file__.startswith('/tmp/wt_old'), noise2x.__file__; print(noise2x.__file__)"
run() {  # tag dataset limit noise methods
  noise2x bench --methods $5 --dataset ../shared/data/$2 --noise "$4" --limit $3 --out benchmarks/psd_route_$2_$1.json
}
for spec in "correlated:sigma=10,beta=1:c10b1" "correlated:sigma=25,beta=0.5:c25b05" "correlated:sigma=25,beta=1:c25b1" "gaussian:sigma=5:g5"; do
  noise=${spec%:*}; tag=${spec##*:}
  methods=auto,auto_noise; [ "$tag" = g5 ] && methods=auto
  for ds in "bsd68 24" "cbsd68 12"; do
    set -- $ds
    run ${tag} $1 $2 "$noise" $methods
    PYTHONPATH=/tmp/wt_old/src noise2x bench --methods $methods --dataset ../shared/data/$1 --noise "$noise" --limit $2 --out benchmarks/psd_route_$1_${tag}_88836cc.json
  done
done
git worktree remove --force /tmp/wt_old; git worktree prune
echo done
