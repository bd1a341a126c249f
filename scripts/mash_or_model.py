#!/usr/bin/env python
"""MASH against the shipped white-noise model on images whose noise reads as correlated.

Up to d7ee4a3, ``noise2x denoise IMAGE`` (no options) sent an image to MASH when its noise read as
spatially correlated; on a textured photo weak white noise can read so (BENCHMARKS.md, "White or
correlated"). This script measures what each choice gives: for each image of ``--dataset`` (default
BSD68; ``--images``, 0-based indices in sorted file order) and noise (``--noises``, drawn per
PROTOCOL.md with ``index = i``, rounded and clipped to 8 bits as a file holds it), the PSNR of the
noisy input, of the shipped ``gray-gaussian`` model (a colour image: through its luminance and
chrominance planes) and of MASH (cpu preset, ``rng = i``), with their seconds, MASH's level (and its
probe's gap and thresholds, in files written since the gray thresholds), and the
correlation estimate the choice reads (``noise2x.estimate.correlation``; colour: the channels'
medians). Results are written to ``--out`` after each run (a re-run with the same ``--out`` keeps
the rows already there and skips them). ``--show FILE`` prints the Markdown table of a results file.
``--mash-set KEY=VALUE`` passes options to MASH (a results file holds runs with one set of options).
Usage (the runs behind BENCHMARKS.md, "Correlated noise with no options: MASH or the model")::

    python scripts/mash_or_model.py --out benchmarks/mash_or_model.json
    python scripts/mash_or_model.py --dataset cbsd68 --images 0 \
        --noises "correlated:sigma=25,beta=0.5;correlated:sigma=25,beta=1" --out benchmarks/mash_or_model_rgb.json
    python scripts/mash_or_model.py --show benchmarks/mash_or_model.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
IMAGES = "31,6,19"
NOISES = ("gaussian:sigma=5;correlated:sigma=25,beta=1;correlated:sigma=10,beta=1;correlated:sigma=25,beta=0.5;"
          "correlated:sigma=10,beta=0.5")


def _row(index: int, path: Path, spec: str, mash_options: dict[str, str]) -> dict[str, Any]:
    import noise2x
    from noise2x import estimate
    from noise2x.io import read_image
    from noise2x.metrics import psnr
    from noise2x.noise import parse_noise, protocol_noisy

    clean = read_image(path).astype(np.float64)
    noisy = np.clip(np.round(protocol_noisy(clean, parse_noise(spec), index=index)), 0, 255)
    planes = [noisy] if noisy.ndim == 2 else [noisy[..., c] for c in range(noisy.shape[-1])]
    est = [estimate.correlation(p) for p in planes]
    row: dict[str, Any] = {"image": path.name, "index": index, "noise": spec, "noisy": psnr(clean, noisy),
                           "beta": float(np.median([e.beta for e in est])),
                           "sigma_all_lags": float(np.median([e.sigma for e in est])),
                           "sigma_white": float(np.median([estimate.sigma(p) for p in planes]))}
    runs = (("model", {"model": "gray-gaussian"}), ("mash", {"method": "mash", "rng": index, "options": mash_options}))
    for name, kw in runs:
        info: dict[str, Any] = {}
        start = time.perf_counter()
        out = noise2x.denoise(noisy, info=info, **kw)
        row[f"{name}_s"] = time.perf_counter() - start
        row[name] = psnr(clean, out)
        row[f"{name}_residual_std"] = float(np.std(noisy - out))
        if name == "mash":
            row["mash_level"] = info.get("level")
            row["mash_gap"] = info.get("gap")
            row["mash_thresholds"] = info.get("thresholds")
    return row


def _read(path: Path) -> dict[str, Any]:
    """A results file of this script; ValueError (one line) when it cannot be read or is not one."""
    try:
        result = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"{path} is not JSON") from None
    if not isinstance(result, dict) or not isinstance(result.get("rows"), list):
        raise ValueError(f"{path} is not a results file of mash_or_model.py (no rows)")
    return result


def show(path: Path) -> str:
    """The Markdown table of a results file, and the range of MASH's seconds."""
    rows = _read(path)["rows"]
    lines = ["| image | noise | estimated beta | noisy (dB) | gray-gaussian (dB) | MASH (dB), level "
             "| MASH - model (dB) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | `{r['noise']}` | {r['beta']:.2f} | {r['noisy']:.2f} | {r['model']:.2f} | "
                     f"{r['mash']:.2f}, {r['mash_level']} | {r['mash'] - r['model']:+.2f} |")
    seconds = [r["mash_s"] for r in rows]
    if seconds:
        lines.append(f"\nMASH took {min(seconds):.0f}-{max(seconds):.0f} s per image.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="bsd68", help="folder name in ../shared/data")
    ap.add_argument("--images", default=IMAGES, help="image indices, comma-separated")
    ap.add_argument("--noises", default=NOISES, help="noise specs, ';'-separated")
    ap.add_argument("--mash-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a MASH option (repeatable), e.g. average=hidden")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--show", type=Path)
    args = ap.parse_args(argv)
    if args.show:
        try:
            print(show(args.show))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"error: {exc if isinstance(exc, ValueError) else f'{args.show}: a row lacks {exc}'}",
                  file=sys.stderr)
            return 2
        return 0
    if args.out is None:
        ap.error("--out or --show is required")
    folder = DATA / args.dataset
    if not folder.is_dir():
        print(f"error: dataset folder {folder} not found", file=sys.stderr)
        return 2
    from noise2x.benchmark import machine_info
    from noise2x.errors import Noise2xError
    from noise2x.fsutil import atomic_path
    from noise2x.io import list_images
    from noise2x.noise import parse_noise

    files = list_images(folder)
    try:
        indices = [int(i) for i in args.images.split(",")]
    except ValueError:
        print(f"error: --images must be comma-separated whole numbers, got '{args.images}'", file=sys.stderr)
        return 2
    specs = args.noises.split(";")
    if any("=" not in item for item in args.mash_set):
        print("error: --mash-set takes KEY=VALUE", file=sys.stderr)
        return 2
    mash_options = dict(item.split("=", 1) for item in args.mash_set)
    try:
        for spec in specs:
            parse_noise(spec)
    except Noise2xError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if any(not 0 <= i < len(files) for i in indices):
        print(f"error: image indices must be in 0..{len(files) - 1} ({folder} holds {len(files)} images)",
              file=sys.stderr)
        return 2
    try:
        result = _read(args.out) if args.out.exists() else {"rows": []}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result.update({"command": " ".join(["python", "scripts/mash_or_model.py",
                                        *(argv if argv is not None else sys.argv[1:])]),
                   "machine": machine_info()})
    if result.get("mash_options", {}) != mash_options:  # files without the key: MASH's defaults
        print(f"error: {args.out} holds runs with MASH options {result.get('mash_options', {})}, not {mash_options}",
              file=sys.stderr)
        return 2
    result["mash_options"] = mash_options
    done = {(r["index"], r["noise"]) for r in result["rows"]}
    for spec in specs:
        for index in indices:
            if (index, spec) in done:
                continue
            row = _row(index, files[index], spec, mash_options)
            print(json.dumps(row), flush=True)
            result["rows"].append(row)
            with atomic_path(args.out) as tmp:
                Path(tmp).write_text(json.dumps(result, indent=1))
    print(show(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
