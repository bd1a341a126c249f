"""Copy a trained model file into the package as a shipped pretrained model (src/noise2x/pretrained/).

The figures written into the model's metadata (shown by `noise2x info`) are read from `noise2x bench` JSON
outputs that benchmarked this very file (their row whose model_file is the source), never typed by hand.

Usage:
  python scripts/ship_models.py --source runs/x/supervised.safetensors --name gray-gaussian \
      --description "gray, white Gaussian noise sigma 0..50, supervised U-Net" --noise gaussian --range 0 50 \
      --auto --command "noise2x train ..." --bench runs/x/bsd68_g25.json runs/x/set12_g25.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from noise2x.checkpoint import read_metadata, update_metadata

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "noise2x" / "pretrained"


def results_for(source: Path, bench_files: list[str]) -> list[str]:
    lines = []
    for name in bench_files:
        result = json.loads(Path(name).read_text())
        for row in result["rows"]:
            if row.get("model_file") and Path(row["model_file"]).resolve() == source.resolve():
                lines.append(f"{result['dataset']} {result['noise']}: PSNR {row['psnr']:.2f} dB, "
                             f"SSIM {row['ssim']:.4f} ({result.get('command')}; {result['date']})")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--description", required=True)
    ap.add_argument("--noise", required=True, choices=["gaussian", "poisson", "speckle"])
    ap.add_argument("--range", nargs=2, type=float, required=True)
    ap.add_argument("--auto", action="store_true", help="the automatic choice may use it")
    ap.add_argument("--narrow", action="store_true",
                    help="with --auto: only for a level inside --range, before the other models (a weak-noise model)")
    ap.add_argument("--command", required=True, help="the exact training command")
    ap.add_argument("--bench", nargs="*", default=[], help="noise2x bench JSON files that measured this file")
    args = ap.parse_args()

    source = Path(args.source)
    meta = read_metadata(source)
    results = results_for(source, args.bench)
    target = PACKAGE / f"{args.name}.safetensors"
    update_metadata(source, {"pretrained": {
        "name": args.name, "description": args.description, "command": args.command,
        "budget": f"{meta.get('steps')} steps, {meta.get('seconds', 0):.0f} s on {meta.get('device')} "
                  f"({meta.get('threads')} threads)",
        "results": results}}, out=target)
    manifest_path = PACKAGE / "models.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else []
    row = {"name": args.name, "file": target.name, "description": args.description,
           "channels": int(meta["channels"]), "noise": args.noise, "range": list(args.range),
           "auto": bool(args.auto), "method": meta.get("method"), **({"narrow": True} if args.narrow else {})}
    names = [m["name"] for m in manifest]
    if args.name in names:  # a model shipped again (retrained) keeps its place in the list
        manifest[names.index(args.name)] = row
    else:
        manifest.append(row)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    size = target.stat().st_size / 2**20
    print(f"shipped {target} ({size:.2f} MB); {len(results)} result line(s)")
    for line in results:
        print("  " + line)


if __name__ == "__main__":
    main()
