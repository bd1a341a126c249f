#!/usr/bin/env bash
# Run job scripts from runs/queue/ one at a time, in name order (timed benchmarks must not overlap).
cd "$(dirname "$0")/.."
[ -f .venv/bin/activate ] && . .venv/bin/activate
while true; do
  job=$(ls runs/queue/*.sh 2>/dev/null | sort | head -n 1 || true)
  if [ -z "$job" ]; then sleep 15; continue; fi
  name=$(basename "$job" .sh)
  mv "$job" "runs/done/$name.sh"
  echo "$(date -u +%FT%TZ) start $name" >> runs/queue.log
  bash "runs/done/$name.sh" > "runs/done/$name.log" 2>&1; rc=$?
  echo "$(date -u +%FT%TZ) end $name rc=$rc" >> runs/queue.log
done
