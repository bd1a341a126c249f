#!/usr/bin/env python
"""Calibrate MASH's cpu step 2 (thresholds and the level each beta should get) on calibration images only.

On 256x256 centre crops of CBSD68 images the zero-shot table and the
confusion table never use (sorted indices 20, 21, ...; the table uses 0-3 and
the confusion table 4-11), with noise drawn as in PROTOCOL.md (``rng = i``), ``correlated`` at
sigma 25 (``--sigma`` draws it at another level; every threshold was set at 25):

* ``probe``: the cpu probe (step 1) at beta = 0, 0.5 and 1, giving the gap
  each correlation level produces, from which the thresholds are set;
* ``train``: at each beta of ``--betas``, the final training (step 3, cpu
  preset, seed ``rng = i``) with each level's ratio forced: low (0.2, no
  shuffle), medium (0.5, no shuffle) and high (0.8 with local shuffling),
  plus medium with shuffling for information. The level whose ratio denoises
  best on average is the "right" level of the confusion table
  (``EXPECTED`` in zeroshot_bench.py). ``--ratios 0.35,0.5,...`` forces
  these ratios (no shuffling) instead, to map PSNR against the ratio.
  ``--grad-clip`` sets their ``grad_clip``; its default 0 does not clip, as
  in the runs recorded before the cpu preset clipped at 1, so that their
  commands give their figures again. The probes are never clipped.

Predictions are clipped to [0, 255] before PSNR (PROTOCOL.md).

``--thresholds FILE ...`` reads the probes of earlier runs instead and sets
each cpu threshold where it misreads the fewest calibration probes of the two
neighbouring betas (eps_low between beta 0 and 0.5, eps_high between 0.5 and
1; a gap above eps_high reads high, below eps_low low): the midpoint between
two consecutive gaps, the widest such interval among the best ones, rounded
to 0.01. Usage (the runs behind BENCHMARKS.md)::

    python scripts/mash_calibration.py --images 5 --out benchmarks/mash_calibration.json
    python scripts/mash_calibration.py --first 25 --images 8 --betas "" \\
        --out benchmarks/mash_calibration_probes.json
    python scripts/mash_calibration.py --thresholds benchmarks/mash_calibration.json \\
        benchmarks/mash_calibration_probes.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from noise2x.io import read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import mash
from noise2x.zeroshot.mash import PRESETS, probe_correlation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import centre_crop, run_meta, select_files, write_json  # noqa: E402  (the table's crop)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cbsd68"
#: name -> (ratio, shuffle) of the forced final training
CONFIGS = {
    "low (0.2)": (PRESETS["cpu"]["ratio_low"], "off"),
    "medium (0.5)": (PRESETS["cpu"]["ratio_medium"], "off"),
    "medium (0.5) + shuffle": (PRESETS["cpu"]["ratio_medium"], "on"),
    "high (0.8) + shuffle": (PRESETS["cpu"]["ratio_high"], "on"),
}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def best_threshold(lower: list[float], upper: list[float]) -> dict[str, Any]:
    """The threshold t (gap > t reads as the upper class) misreading the fewest of two samples' gaps."""
    values = sorted(set(lower) | set(upper))
    best: tuple[int, float, float] | None = None
    for a, b in zip(values[:-1], values[1:]):
        t = (a + b) / 2
        errors = sum(g > t for g in lower) + sum(g <= t for g in upper)
        if best is None or (errors, -(b - a)) < (best[0], -best[2]):
            best = (errors, t, b - a)
    if best is None:
        raise ValueError("need at least two distinct gaps")
    errors, t, _ = best
    return {"threshold": round(t, 2), "misread": int(errors), "of": len(lower) + len(upper)}


def thresholds(paths: list[Path]) -> dict[str, Any]:
    """eps_low / eps_high from the probes of earlier calibration runs (see the module docstring)."""
    gaps: dict[float, list[float]] = {}
    sigmas: set[float] = set()
    for path in paths:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        try:
            probes = [(float(p["beta"]), float(p["gap"])) for p in json.loads(text)["probes"]]
            sigmas.update(float(p.get("sigma", 25.0)) for p in json.loads(text)["probes"])  # runs before --sigma: 25
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError(f"{path} is not a calibration run of this script (no probes)") from None
        for beta, gap in probes:
            gaps.setdefault(beta, []).append(gap)
    if len(sigmas) > 1:
        raise ValueError(f"probes at several noise levels (sigma {', '.join(f'{v:g}' for v in sorted(sigmas))}): "
                         "set thresholds from one level at a time")
    missing = [b for b in (0.0, 0.5, 1.0) if len(gaps.get(b, [])) == 0]
    if missing:
        raise ValueError(f"no calibration probe at beta {missing[0]:g}")
    return {"eps_low": best_threshold(gaps[0.0], gaps[0.5]), "eps_high": best_threshold(gaps[0.5], gaps[1.0]),
            "gaps": {f"{b:g}": {"n": len(v), "min": min(v), "max": max(v)} for b, v in sorted(gaps.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATA)
    parser.add_argument("--first", type=int, default=20, help="first calibration index (sorted order)")
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sigma", type=float, default=25.0, help="the correlated noise's sigma (8-bit units)")
    parser.add_argument("--betas", default="0.5", help="comma list of betas for the forced trainings")
    parser.add_argument("--probe-betas", default="0,0.5,1", help="comma list of betas probed")
    parser.add_argument("--ratios", default="",
                        help="comma list of ratios: force these (no shuffling) in the trainings instead of the levels")
    parser.add_argument("--grad-clip", type=float, default=0.0,
                        help="grad_clip of the forced trainings (0 = no clipping, as in the runs recorded "
                             "before the cpu preset clipped at 1)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--thresholds", type=Path, nargs="+", metavar="FILE",
                        help="set the cpu thresholds from these runs' probes (runs nothing)")
    args = parser.parse_args(argv)
    if args.thresholds:
        try:
            print(json.dumps(thresholds(args.thresholds), indent=1))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if not args.sigma > 0:
        print(f"error: --sigma must be > 0, got {args.sigma}", file=sys.stderr)
        return 2
    if not args.grad_clip >= 0:
        print(f"error: --grad-clip must be >= 0, got {args.grad_clip}", file=sys.stderr)
        return 2
    configs = CONFIGS
    if args.ratios.strip():
        try:
            ratios = [float(r) for r in args.ratios.split(",") if r.strip()]
        except ValueError:
            ratios = []
        if not ratios or not all(0 < r < 1 for r in ratios):
            print(f"error: --ratios needs numbers strictly between 0 and 1, got '{args.ratios}'", file=sys.stderr)
            return 2
        configs = {f"ratio {r:g}": (r, "off") for r in ratios}
    files, error = select_files(args.dataset, args.first, args.images, calibration=True)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    probe_betas = [float(b) for b in args.probe_betas.split(",") if b.strip()]
    train_betas = [float(b) for b in args.betas.split(",") if b.strip()]
    t_start = time.perf_counter()
    probes: list[dict[str, Any]] = []
    trains: list[dict[str, Any]] = []
    for j, path in enumerate(files):
        i = args.first + j
        clean = centre_crop(read_image(path), args.size)
        for beta in sorted(set(probe_betas) | set(train_betas)):
            noisy = protocol_noisy(clean, f"correlated:sigma={args.sigma:g},beta={beta:g}", index=i)
            if beta in probe_betas:
                t0 = time.perf_counter()
                found = probe_correlation(noisy, rng=i)
                probes.append({"file": path.name, "index": i, "sigma": args.sigma, "beta": beta, "gap": found["gap"],
                               "gaps": found.get("gaps"), "level": found["level"],
                               "seconds": time.perf_counter() - t0})
                _say(f"[{path.name} beta {beta:g}] probe gap {found['gap']:.3f} -> {found['level']}")
            if beta not in train_betas:
                continue
            row: dict[str, Any] = {"file": path.name, "index": i, "sigma": args.sigma, "beta": beta,
                                   "noisy": psnr(clean, noisy, clip=False)}
            for name, (ratio, shuffle) in configs.items():
                t0 = time.perf_counter()
                out = mash(noisy, rng=i, ratio=ratio, shuffle=shuffle, grad_clip=args.grad_clip)
                row[name] = {"psnr": psnr(clean, out), "seconds": time.perf_counter() - t0}
                _say(f"[{path.name} beta {beta:g}] {name}: {row[name]['psnr']:.2f} dB "
                     f"{row[name]['seconds']:.0f} s")
            trains.append(row)
    summary: dict[str, Any] = {"gap": {}, "psnr": {}}
    for beta in probe_betas:
        gaps = [p["gap"] for p in probes if p["beta"] == beta]
        summary["gap"][f"{beta:g}"] = {"min": min(gaps), "max": max(gaps), "mean": float(np.mean(gaps))}
    for beta in train_betas:
        rows = [r for r in trains if r["beta"] == beta]
        summary["psnr"][f"{beta:g}"] = {name: float(np.mean([r[name]["psnr"] for r in rows])) for name in configs}
    result = {"probes": probes, "trains": trains, "summary": summary,
              "meta": {**run_meta("mash_calibration.py", argv, t_start), "grad_clip": args.grad_clip}}
    print(json.dumps(summary, indent=1))
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
