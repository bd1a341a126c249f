#!/usr/bin/env bash
# CAREamics' Noise2Void as a peer, trained for the same CPU budget as ours, with ../shared/peers/careamics_n2v.py.
# Builds a virtualenv OUTSIDE the repository (careamics pins torchvision, which cannot be installed beside the
# CPU torch: see ../shared/peers/RESULTS.md; we follow its 3-step workaround and its torchvision stub).
# Usage: bash scripts/careamics_peer.sh MINUTES OUT.json [extra args for careamics_n2v.py]
set -euo pipefail
minutes=${1:?minutes}; out=${2:?out json}; shift 2
venv=${CAREAMICS_VENV:-$HOME/.cache/noise2x-careamics-venv}
peers=$(cd "$(dirname "$0")/../../shared/peers" && pwd)
# careamics imports only with the torchvision stub on the path, after lightning (as careamics_n2v.py does)
check="import sys, lightning, torchmetrics; sys.path.insert(0, '$peers/_torchvision_stub'); import careamics"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "$check" 2>/dev/null; then
  python3 -m venv "$venv"
  echo "torch==2.13.0" > "$venv/constraints.txt"
  "$venv/bin/pip" install -q torch==2.13.0
  "$venv/bin/pip" install -q -c "$venv/constraints.txt" --no-deps careamics==0.3.5
  "$venv/bin/pip" install -q -c "$venv/constraints.txt" "bioimageio-core<=0.11.0,>=0.9.0" \
    "lightning!=2.6.2,!=2.6.3,<=2.6.6,>=2.2" "matplotlib<=3.11.2" "microssim<=0.0.5" "numpy<=2.4.6,>=1.21" \
    "pillow<=13.0.0" "psutil<=7.2.2" "pydantic<=2.14.1,>=2.11" "pyyaml!=6.0.0,<=6.0.3" "scikit-image<=0.26.0" \
    "tifffile<=2026.3.3" "torchmetrics<1.9.0,>0.7.0" "zarr<4.0.0,>=3.0.0"
  "$venv/bin/pip" uninstall -y -q torchvision 2>/dev/null || true
fi
work=$(mktemp -d)
data=$(cd "$peers/../data" && pwd)
out=$(realpath -m "$out")
cp -r "$peers" "$work/peers"   # the peer script writes into its own results/: keep ../shared untouched
cd "$work/peers"
PEERS_DATA="$data" "$venv/bin/python" careamics_n2v.py --minutes "$minutes" --workdir "$work/run" \
  --out careamics_n2v.json "$@"
mkdir -p "$(dirname "$out")"
cp results/careamics_n2v.json "$out"
rm -rf "$work"
