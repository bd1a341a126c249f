#!/bin/sh
# The test-image figures of BENCHMARKS.md, "Texture read as strongly correlated noise": noise2x bench of the
# no-option call (auto) on BSD68 and CBSD68 photos with weak white noise (sigma 0.3, 0.5, 1; the first 12) and with
# correlated noise (sigma 5, 10, 25, beta 1; the first 24 and 12), with the working tree's code and with the code
# before the growth and white-share tests (5ae6594, from a worktree through PYTHONPATH: scripts/route_ab_runs.sh).
# Run from the repository root, nothing else running: sh scripts/texture_route_runs.sh
exec sh scripts/route_ab_runs.sh 5ae6594 texture_route "gaussian:sigma=0.3:g03:12" "gaussian:sigma=0.5:g05:12" \
  "gaussian:sigma=1:g1:12" "correlated:sigma=5,beta=1:c5b1:12" "correlated:sigma=10,beta=1:c10b1:24" \
  "correlated:sigma=25,beta=1:c25b1:24"
