#!/bin/sh
# The test-image figures of BENCHMARKS.md, "Texture read as strongly correlated noise": noise2x bench of the
# no-option call (auto) on BSD68 and CBSD68 photos with weak white noise (sigma 0.3, 0.5, 1; the first 12) and with
# correlated noise (sigma 5, 10, 25, beta 1; the first 24 and 12), with the working tree's code and with the code
# before the growth and white-share tests (5ae6594, from a worktree through PYTHONPATH).
# Run from the repository root, nothing else running: sh scripts/texture_route_runs.sh
set -e
. .venv/bin/activate
rm -rf /tmp/wt_tex; git worktree prune; git worktree add -q /tmp/wt_tex 5ae6594
PYTHONPATH=/tmp/wt_tex/src python -c "import noise2x; assert noise2x.__file__.startswith('/tmp/wt_tex'), noise2x.__file__"
for spec in "gaussian:sigma=0.3:g03:12" "gaussian:sigma=0.5:g05:12" "gaussian:sigma=1:g1:12" \
            "correlated:sigma=5,beta=1:c5b1:12" "correlated:sigma=10,beta=1:c10b1:24" "correlated:sigma=25,beta=1:c25b1:24"; do
  n=${spec##*:}; rest=${spec%:*}; tag=${rest##*:}; noise=${rest%:*}
  for ds in bsd68 cbsd68; do
    limit=$n; [ $ds = cbsd68 ] && limit=12
    noise2x bench --methods auto --dataset ../shared/data/$ds --noise "$noise" --limit $limit --out benchmarks/texture_route_${ds}_${tag}.json
    PYTHONPATH=/tmp/wt_tex/src noise2x bench --methods auto --dataset ../shared/data/$ds --noise "$noise" --limit $limit --out benchmarks/texture_route_${ds}_${tag}_5ae6594.json
  done
done
git worktree remove --force /tmp/wt_tex; git worktree prune
echo done
