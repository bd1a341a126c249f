#!/usr/bin/env python
"""No options given, very weak white noise: a shipped model or BM3D (``noise2x.pretrained.WEAK_SIGMA``)?

The shipped white-noise models are blind to the noise level; on an image with very weak noise (sigma 1-2
in 8-bit units: a well-exposed photo) they take fine texture for noise, and at sigma 1 fell below the noisy
input itself. BM3D is told the level (the estimate, which is reliable there: the PCA estimator of
``noise2x.estimate.sigma``). This script runs the package end to end on each image with the rule off
(``WEAK_SIGMA = 0``: the model route) and with BM3D wherever the route is white Gaussian noise
(``WEAK_SIGMA = inf``; a correlated reading too), records the estimated sigma, and so gives, for any
threshold, what the choice would score. It also runs the two shipped white-noise models as they are
(``wide``: gray-gaussian, ``narrow``: gray-gaussian-low; a colour photo through its planes), for the images
whose noise reads as correlated, which the choice gives to the wide model (at these levels the reading is
mostly fine texture). With ``--declared`` the same for the noise given
(``--noise gaussian:sigma=S``; white Gaussian noises only). Noise per PROTOCOL.md (image ``i`` of the
sorted folder, ``rng = i``; not clipped, as ``noise2x bench`` draws it). Calibration images only:
train400 (gray; no table scores them) and CBSD68 photos 60-67 (colour; the tables use the first 24).
Usage (the runs behind BENCHMARKS.md, "Very weak noise")::

    python scripts/weak_noise_calibration.py --declared --rgb-images "" --out benchmarks/weak_noise_calibration_gray.json
    python scripts/weak_noise_calibration.py --gray-images "" --out benchmarks/weak_noise_calibration_rgb.json
    python scripts/weak_noise_calibration.py --show FILE [MORE.json...]   # rows pooled
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import (add_image_set_args, add_run_args, denoise_forced, image_sets,  # the same image
                                  noisy_images, record)  # sets, options, run record and forced constants

NOISES = ("gaussian:sigma=0.5;gaussian:sigma=1;gaussian:sigma=1.5;gaussian:sigma=2;gaussian:sigma=3;gaussian:sigma=4;"
          "gaussian:sigma=5;gaussian:sigma=7;gaussian:sigma=10;correlated:sigma=3,beta=0.5;"
          "correlated:sigma=5,beta=0.5;correlated:sigma=5,beta=1;correlated:sigma=10,beta=0.5;"
          "correlated:sigma=10,beta=1;correlated:sigma=25,beta=0.5;correlated:sigma=25,beta=1;"
          "poisson:peak=1000;poisson:peak=3000")
THRESHOLDS = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, float("inf"))


def _run(noisy: np.ndarray, weak: float, noise: Any = None) -> tuple[np.ndarray, dict[str, Any], float]:
    """The package with ``WEAK_SIGMA`` set to ``weak`` for this call: output, info, seconds."""
    return denoise_forced(noisy, {"WEAK_SIGMA": weak}, noise)


def measure(sets: list[tuple[str, Path, list[int]]], noises: list[str], declared: bool) -> list[dict[str, Any]]:
    from noise2x import api
    from noise2x.metrics import psnr

    rows = []
    for name, path, text, clean, noisy in noisy_images(sets, noises):
        model, m_info, m_sec = _run(noisy, 0.0)
        bm3d, b_info, b_sec = _run(noisy, float("inf"))
        wide, narrow = (api.denoise(noisy, model=m) for m in ("gray-gaussian", "gray-gaussian-low"))
        row = {"set": name, "image": path.name, "channels": 1 if noisy.ndim == 2 else noisy.shape[2],
               "noise": text, "noisy": round(psnr(clean, noisy), 3),
               "sigma": m_info.get("estimated_sigma"), "beta": m_info.get("estimated_beta"),
               "model": round(psnr(clean, model), 3), "bm3d": round(psnr(clean, bm3d), 3),
               "wide": round(psnr(clean, wide), 3), "narrow": round(psnr(clean, narrow), 3),
               "to_bm3d": b_info.get("method") == "bm3d", "model_route": m_info.get("auto"),
               "seconds_model": round(m_sec, 3), "seconds_bm3d": round(b_sec, 3)}
        if declared and text.startswith("gaussian:"):
            d_model, _, _ = _run(noisy, 0.0, text)
            d_bm3d, _, _ = _run(noisy, float("inf"), text)
            row.update({"declared_sigma": float(text.split("=")[1]), "declared_model": round(psnr(clean, d_model), 3),
                        "declared_bm3d": round(psnr(clean, d_bm3d), 3)})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _above(r: dict[str, Any]) -> float:
    """The route above the threshold, as the package takes it since this script's first runs: the model route, but
    the narrow model for a correlated reading whose level (the estimated sigma on the planes the model sees) lies
    in its range 0..20 (the package takes the bright-end level, at least this one: near 20 it may keep the wide)."""
    from noise2x import pretrained

    corr = "correlated" in (r["model_route"] or "")
    if corr and r["to_bm3d"] and "narrow" in r and r["sigma"] * pretrained.plane_share(r["channels"]) <= 20.0:
        return r["narrow"]
    return r["model"]


def _pick(r: dict[str, Any], t: float, declared: bool = False) -> float:
    if declared:
        return r["declared_bm3d"] if r["declared_sigma"] < t else r["declared_model"]
    return r["bm3d"] if r["to_bm3d"] and r["sigma"] < t else _above(r)


def show(rows: list[dict[str, Any]], current: float) -> None:
    print(f"Current rule: BM3D where the white noise's sigma is below {current:g}\n")
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        print(f"**{name}** ({len({r['image'] for r in sub})} images; mean PSNR in dB; estimated sigma: median; "
              f"seconds: mean per image)\n")
        print("| noise | noisy | model route | BM3D route | estimated sigma | white route | current rule "
              "(BM3D on) | seconds model / BM3D |")
        print("|---|---|---|---|---|---|---|---|")
        # model route: as the package took it with the rule off when the run was made (a correlated reading:
        # the wide model); current rule: BM3D below the threshold, else the route of _above
        for noise in dict.fromkeys(r["noise"] for r in sub):
            rs = [r for r in sub if r["noise"] == noise]
            n_b = sum(r["to_bm3d"] and r["sigma"] < current for r in rs)
            print(f"| `{noise}` | {np.mean([r['noisy'] for r in rs]):.2f} | {np.mean([r['model'] for r in rs]):.2f} | "
                  f"{np.mean([r['bm3d'] for r in rs]):.2f} | {np.median([r['sigma'] for r in rs]):.2f} | "
                  f"{sum(r['to_bm3d'] for r in rs)} of {len(rs)} | {np.mean([_pick(r, current) for r in rs]):.2f} "
                  f"({n_b}) | {np.mean([r['seconds_model'] for r in rs]):.2f} / "
                  f"{np.mean([r['seconds_bm3d'] for r in rs]):.2f} |")
        print()
    corr = [r for r in rows if "wide" in r and "correlated" in (r["model_route"] or "")]
    if corr:
        print("**Noise read as correlated** (the model route: the wide model on those images): the wide and the "
              "narrow model as they are, and BM3D with the estimated sigma; mean PSNR in dB\n")
        print("| set | noise | read as correlated | estimated sigma | wide | narrow | BM3D |")
        print("|---|---|---|---|---|---|---|")
        for key in dict.fromkeys((r["set"], r["noise"]) for r in corr):
            rs = [r for r in corr if (r["set"], r["noise"]) == key]
            n_all = sum((r["set"], r["noise"]) == key for r in rows)
            print(f"| {key[0]} | `{key[1]}` | {len(rs)} of {n_all} | {np.median([r['sigma'] for r in rs]):.2f} | "
                  f"{np.mean([r['wide'] for r in rs]):.2f} | {np.mean([r['narrow'] for r in rs]):.2f} | "
                  f"{np.mean([r['bm3d'] for r in rs]):.2f} |")
        print()
    for declared in (False, True):
        use = [r for r in rows if not declared or "declared_model" in r]
        if not use:
            continue
        sets = list(dict.fromkeys(r["set"] for r in use))
        what = "given" if declared else "estimated"
        above = "the model" if declared else "the model route (a correlated reading: the narrow model in its range)"
        print(f"**Threshold, noise {what}** (BM3D where the {what} sigma is below it, else {above}): mean loss "
              f"against the better of the two per image (dB), by image set and pooled; worst single image; images "
              f"taking BM3D\n")
        print("| threshold | " + " | ".join(sets) + " | pooled mean | pooled worst | BM3D on |")
        print("|---" * (len(sets) + 4) + "|")
        for t in THRESHOLDS:
            loss: dict[str, list[float]] = {k: [] for k in sets}
            for r in use:
                best = max(r["declared_bm3d"], r["declared_model"]) if declared else max(r["bm3d"], _above(r))
                loss[r["set"]].append(_pick(r, t, declared) - best)
            pooled = np.array([v for k in sets for v in loss[k]])
            n_b = sum((r["declared_sigma"] < t) if declared else (r["to_bm3d"] and r["sigma"] < t) for r in use)
            print(f"| {t:g} | " + " | ".join(f"{np.mean(loss[k]):.3f}" for k in sets)
                  + f" | {pooled.mean():.3f} | {pooled.min():.2f} | {n_b} of {len(use)} |")
        print()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    add_run_args(p, NOISES)
    p.add_argument("--declared", action="store_true", help="also the noise given (white Gaussian noises)")
    args = p.parse_args(argv)
    from noise2x import pretrained

    if args.show:
        show([r for f in args.show for r in json.loads(f.read_text())["rows"]], pretrained.WEAK_SIGMA)
        return 0
    sets = image_sets(args, "weak_noise_calibration")
    if sets is None:
        return 1
    t0 = time.time()
    rows = measure(sets, [n for n in args.noises.split(";") if n], args.declared)
    record(rows, t0, "weak_noise_calibration", argv, args.out, {"weak_sigma": pretrained.WEAK_SIGMA})
    show(rows, pretrained.WEAK_SIGMA)
    return 0


if __name__ == "__main__":
    sys.exit(main())
