#!/bin/sh
# The figures of BENCHMARKS.md, "Noisy JPEGs" (noise weaker than sigma 0.5 added after a JPEG): noise2x bench of
# the no-option call (auto) on BSD68 and CBSD68 photos (the first 12; the BSD's photos are decoded JPEGs) with
# white noise of sigma 0.3 and 0.5 added, with the working tree's code and with the code before the JPEG rule
# (3b09227, from a worktree through PYTHONPATH). Run from the repository root: sh scripts/jpeg_weak_after_runs.sh
set -e
. .venv/bin/activate
rm -rf /tmp/wt_jpeg; git worktree prune; git worktree add -q /tmp/wt_jpeg 3b09227
PYTHONPATH=/tmp/wt_jpeg/src python -c "import noise2x; assert noise2x.__file__.startswith('/tmp/wt_jpeg'), noise2x.__file__"
for spec in "gaussian:sigma=0.3:g03" "gaussian:sigma=0.5:g05"; do
  noise=${spec%:*}; tag=${spec##*:}
  for ds in bsd68 cbsd68; do
    noise2x bench --methods auto --dataset ../shared/data/$ds --noise "$noise" --limit 12 --out benchmarks/jpeg_after_${ds}_${tag}.json
    old=benchmarks/jpeg_after_${ds}_${tag}_3b09227.json  # (made once: the code before the rule does not change)
    [ -f $old ] || PYTHONPATH=/tmp/wt_jpeg/src noise2x bench --methods auto --dataset ../shared/data/$ds --noise "$noise" --limit 12 --out $old
  done
done
git worktree remove --force /tmp/wt_jpeg; git worktree prune
echo done
