#!/usr/bin/env python
"""No options given, a weak noise read as signal-dependent: the Poisson route or BM3D (``WEAK_POISSON_SIGMA``)?

White Gaussian noise weaker than ``noise2x.pretrained.WEAK_SIGMA`` goes to BM3D, not to a shipped model (blind
to the level, the models take fine texture for noise there). A noise whose estimated Poisson-Gaussian fit
counts as signal-dependent took the Poisson route whatever its level: the Anscombe transform and a white-noise
model for weak noise. On some photos with very weak white noise the fit reads the texture's brightness
dependence as shot noise (BSD68 test008 at white sigma 0.3: peak about 4500, 8.7 dB below the noisy input).
This script runs the package end to end with the weak-Poisson rule off (``WEAK_POISSON_SIGMA = 0``: the
Poisson route) and, on the images read as signal-dependent, two BM3D routes:

* ``bm3d_white``: BM3D with the estimated white sigma (``noise2x.estimate.sigma``), as for weak white noise;
* ``bm3d_gat``: the generalised Anscombe transform with the estimated gain and read noise, BM3D at sigma 1,
  the closed-form approximation of the exact unbiased inverse (``noise2x.classical.bm3d`` given that
  Poisson-Gaussian noise).

It records each reading's noise std at the image's mean level (``sqrt(a * mean + max(b, 0))``, 8-bit units),
and so gives, for any threshold on it, what either rule would score. With ``--declared`` the noise is given
instead (``--noise poisson:peak=P``): the package's route with the rule off against BM3D told the noise. Noise
per PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``). Calibration images only: train400 (gray) and
CBSD68 photos 60-67 (colour; the tables use the first 24). Usage (the run behind BENCHMARKS.md, "Weak noise read as signal-dependent")::

    python scripts/weak_poisson_calibration.py --out benchmarks/weak_poisson_calibration.json
    python scripts/weak_poisson_calibration.py --declared --noises "poisson:peak=300;poisson:peak=1000;..." --out F
    python scripts/weak_poisson_calibration.py --show FILE [MORE.json...]   # rows pooled
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import (add_image_set_args, add_run_args, denoise_forced, groups,  # the same image sets,
                                  noisy_images, run_calibration,  # options, run record, forced constants and
                                  threshold_table)  # the tables of a threshold's losses

NOISES = ("gaussian:sigma=0.3;gaussian:sigma=0.5;gaussian:sigma=1;gaussian:sigma=2;gaussian:sigma=3;"
          "poisson:peak=300;poisson:peak=1000;poisson:peak=3000;poisson:peak=10000;"
          "poisson_gaussian:peak=1000,sigma=1")
THRESHOLDS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, float("inf"))
VARIANTS = ("bm3d_white", "bm3d_gat")
ZERO_LEVELS = (-float("inf"), 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, float("inf"))


def std_at_mean(a: float, b: float, mean: float) -> float:
    """The noise std a Poisson-Gaussian reading (variance ``a * x + b``) gives at the level ``mean``."""
    return float(np.sqrt(max(a * mean + max(b, 0.0), 0.0)))


def zero_level(a: float, b: float, mean: float) -> float:
    """Where the reading's variance line ``a * x + b`` reaches 0, as a fraction of the level ``mean``: about 0 or
    below (``b >= 0``: read noise) for a sensor's noise; well above it where the fit read texture that grows with
    the brightness."""
    return float(-b / (a * mean)) if a > 0 and mean > 0 else float("-inf")


def gat_noise(a: float, b: float) -> Any:
    """The Poisson(-Gaussian) noise spec of a reading, for ``noise2x.classical.bm3d``'s Anscombe route."""
    from noise2x.noise import parse_noise

    peak = 255.0 / a
    read = float(np.sqrt(max(b, 0.0)))
    return parse_noise(f"poisson_gaussian:peak={peak:.8g},sigma={read:.8g}" if read > 0 else f"poisson:peak={peak:.8g}")


def measure(sets: list[tuple[str, Path, list[int]]], noises: list[str], declared: bool = False) -> list[dict[str, Any]]:
    from noise2x import classical
    from noise2x.metrics import psnr
    from noise2x.noise import parse_noise

    rows = []
    for name, path, text, clean, noisy in noisy_images(sets, noises):
        if declared:  # the noise given (Poisson noises): the package's route with the rule off, and BM3D told it
            spec = parse_noise(text)
            given, _, given_sec = denoise_forced(noisy, {"WEAK_POISSON_SIGMA": 0.0}, spec)
            t0 = time.perf_counter()
            told = classical.bm3d(noisy, noise=spec)
            row = {"set": name, "image": path.name, "channels": 1 if noisy.ndim == 2 else noisy.shape[2],
                   "noise": text, "noisy": round(psnr(clean, noisy), 3), "mean": round(float(np.mean(noisy)), 3),
                   "declared_route": round(psnr(clean, given), 3), "declared_bm3d": round(psnr(clean, told), 3),
                   "declared_std_at_mean": round(std_at_mean(255.0 / float(spec.params["peak"]), 0.0,
                                                             float(np.mean(noisy))), 4),
                   "seconds_declared_route": round(given_sec, 3),
                   "seconds_declared_bm3d": round(time.perf_counter() - t0, 3)}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            continue
        route, info, sec = denoise_forced(noisy, {"WEAK_POISSON_SIGMA": 0.0})
        a, b = float(info.get("estimated_poisson_a", 0.0)), float(info.get("estimated_poisson_b", 0.0))
        sigma = float(info.get("estimated_sigma", 0.0))
        row = {"set": name, "image": path.name, "channels": 1 if noisy.ndim == 2 else noisy.shape[2],
               "noise": text, "noisy": round(psnr(clean, noisy), 3), "route": round(psnr(clean, route), 3),
               "auto": info.get("auto"), "method": info.get("method"), "sigma": sigma, "poisson_a": a,
               "poisson_b": b, "mean": round(float(np.mean(noisy)), 3),
               "std_at_mean": round(std_at_mean(a, b, float(np.mean(noisy))), 4),
               "zero_level": round(zero_level(a, b, float(np.mean(noisy))), 4),
               "read_poisson": "estimated_peak" in info, "seconds_route": round(sec, 3)}
        if row["read_poisson"]:
            t0 = time.perf_counter()
            white = classical.bm3d(noisy, sigma=max(sigma, 0.1))
            t1 = time.perf_counter()
            gat = classical.bm3d(noisy, noise=gat_noise(a, b))
            t2 = time.perf_counter()
            row.update({"bm3d_white": round(psnr(clean, white), 3), "bm3d_gat": round(psnr(clean, gat), 3),
                        "seconds_bm3d_white": round(t1 - t0, 3), "seconds_bm3d_gat": round(t2 - t1, 3)})
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "auto"}), file=sys.stderr, flush=True)
    return rows


def pick(r: dict[str, Any], t: float, variant: str) -> float:
    """What the rule (``variant`` where the reading is signal-dependent and its std at the mean below ``t``) scores."""
    return r[variant] if r["read_poisson"] and r["std_at_mean"] < t else r["route"]


def show(rows: list[dict[str, Any]], current: float, zero: float) -> None:
    show_declared([r for r in rows if "declared_route" in r], current)
    rows = [r for r in rows if "route" in r]
    if not rows:
        return
    print(f"Current rule: the std at the mean level below {current:g}: BM3D with the white sigma where the zero level "
          f"is above {zero:g}, else after the transform\n")
    for name, sub in groups(rows, "set").items():
        print(f"**{name}** ({len({r['image'] for r in sub})} images; mean PSNR in dB; std at the mean level: median "
              f"over the images read as signal-dependent; seconds: mean per image read so)\n")
        print("| noise | noisy | Poisson route (rule off) | read as signal-dependent | std at mean | on those: route | "
              "BM3D white sigma | BM3D after the transform | current rule (white / transform) | seconds route / BM3D |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for noise, rs in groups(sub, "noise").items():
            ps = [r for r in rs if r["read_poisson"]]
            weak = [r for r in ps if r["std_at_mean"] < current]
            n_white = sum(zero_level(r["poisson_a"], r["poisson_b"], r["mean"]) > zero for r in weak)
            cells = ([f"{np.median([r['std_at_mean'] for r in ps]):.2f}"]
                     + [f"{np.mean([r[k] for r in ps]):.2f}" for k in ("route", *VARIANTS)]) if ps else ["–"] * 4
            secs = (f"{np.mean([r['seconds_route'] for r in ps]):.2f} / {np.mean([r['seconds_bm3d_white'] for r in ps]):.2f}"
                    if ps else "–")
            print(f"| `{noise}` | {np.mean([r['noisy'] for r in rs]):.2f} | {np.mean([r['route'] for r in rs]):.2f} | "
                  f"{len(ps)} of {len(rs)} | " + " | ".join(cells)
                  + f" | {np.mean([pick_split(r, current, zero, True) for r in rs]):.2f} ({n_white} / "
                  f"{len(weak) - n_white}) | {secs} |")
        print()
    ps = [r for r in rows if r["read_poisson"]]
    if not ps:
        print("No image read as signal-dependent: nothing to score.")
        return
    for variant in VARIANTS:
        print(f"**Threshold, {variant}** (it where the reading is signal-dependent and its std at the mean level below "
              f"the threshold, else the Poisson route): mean loss against the better of the two per image (dB) over "
              f"the images read as signal-dependent, by set and pooled; worst single image; images taking BM3D\n")
        threshold_table(ps, THRESHOLDS, lambda r, t: pick(r, t, variant), lambda r: max(r["route"], r[variant]),
                        lambda r, t: r["std_at_mean"] < t)
    show_split(ps)
    d = np.array([pick_split(r, current, zero, True) - r["route"] for r in rows])
    print(f"Current rule against the route before, per image: ahead on {int((d > 0.05).sum())}, behind on "
          f"{int((d < -0.05).sum())} (by at most {-min(d.min(), 0.0):.2f} dB) of {len(rows)} (0.05 dB either way)\n")
    left = [r for r in ps if pick_split(r, current, zero, True) < max(r["route"], *(r[k] for k in VARIANTS)) - 1.0]
    print("Readings where the current rule is more than 1 dB behind the best route:" if left else
          "No reading where the current rule is more than 1 dB behind the best route.")
    for r in left:
        print(f"- {r['set']} {r['image']}, `{r['noise']}`: std at mean {r['std_at_mean']:.2f}, zero level "
              f"{zero_level(r['poisson_a'], r['poisson_b'], r['mean']):.2f}; route {r['route']:.2f}, BM3D white sigma "
              f"{r['bm3d_white']:.2f}, after the transform {r['bm3d_gat']:.2f}, current rule "
              f"{pick_split(r, current, zero, True):.2f}")


def pick_split(r: dict[str, Any], t: float, z: float, else_gat: bool) -> float:
    """The two-sign rule: where the reading is signal-dependent and its std at the mean level below ``t``, BM3D at
    the white sigma if its zero level is above ``z``, else (``else_gat``) BM3D after the transform or the route."""
    if not (r["read_poisson"] and r["std_at_mean"] < t):
        return r["route"]
    if zero_level(r["poisson_a"], r["poisson_b"], r["mean"]) > z:
        return r["bm3d_white"]
    return r["bm3d_gat"] if else_gat else r["route"]


def show_declared(rows: list[dict[str, Any]], current: float) -> None:
    """The noise given (``--declared``): per noise the package's route with the rule off and BM3D told the noise;
    per threshold on the given noise's std at the mean level, the loss against the better of the two per image."""
    if not rows:
        return
    print("**The noise given** (mean PSNR in dB; std at the mean level of the given peak: median; seconds: mean)\n")
    print("| set | noise | noisy | route (rule off) | BM3D told the noise | std at mean | current rule (BM3D on) | "
          "seconds route / BM3D |")
    print("|---|---|---|---|---|---|---|---|")
    for key in dict.fromkeys((r["set"], r["noise"]) for r in rows):
        rs = [r for r in rows if (r["set"], r["noise"]) == key]
        rule = [r["declared_bm3d"] if r["declared_std_at_mean"] < current else r["declared_route"] for r in rs]
        print(f"| {key[0]} | `{key[1]}` | {np.mean([r['noisy'] for r in rs]):.2f} | "
              f"{np.mean([r['declared_route'] for r in rs]):.2f} | {np.mean([r['declared_bm3d'] for r in rs]):.2f} | "
              f"{np.median([r['declared_std_at_mean'] for r in rs]):.2f} | {np.mean(rule):.2f} "
              f"({sum(r['declared_std_at_mean'] < current for r in rs)}) | "
              f"{np.mean([r['seconds_declared_route'] for r in rs]):.2f} / "
              f"{np.mean([r['seconds_declared_bm3d'] for r in rs]):.2f} |")
    print()
    print("| threshold (given) | pooled mean loss | worst | BM3D on |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        loss = np.array([(r["declared_bm3d"] if r["declared_std_at_mean"] < t else r["declared_route"])
                         - max(r["declared_bm3d"], r["declared_route"]) for r in rows])
        print(f"| {t:g} | {loss.mean():.3f} | {loss.min():.2f} | "
              f"{sum(r['declared_std_at_mean'] < t for r in rows)} of {len(rows)} |")
    print()


def show_split(ps: list[dict[str, Any]]) -> None:
    """Per threshold on the std at the mean (rows) and on the zero level (columns): mean loss against the best of
    the three routes per image over the images read as signal-dependent, and the worst image."""
    for else_gat in (False, True):
        what = "BM3D after the transform" if else_gat else "the Poisson route"
        print(f"**Two signs** (std at the mean level below the row's threshold: BM3D at the white sigma where the "
              f"variance line's zero level is above the column's fraction of the mean level, else {what}): mean loss "
              f"against the best of the three routes per image (dB) / worst image, over the {len(ps)} images read as "
              f"signal-dependent\n")
        print("| std below \\ zero level above | " + " | ".join(f"{z:g}" for z in ZERO_LEVELS) + " |")
        print("|---" * (len(ZERO_LEVELS) + 1) + "|")
        for t in THRESHOLDS[1:]:
            cells = []
            for z in ZERO_LEVELS:
                loss = np.array([pick_split(r, t, z, else_gat) - max(r["route"], *(r[k] for k in VARIANTS))
                                 for r in ps])
                cells.append(f"{loss.mean():.3f} / {loss.min():.2f}")
            print(f"| {t:g} | " + " | ".join(cells) + " |")
        print()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    add_run_args(p, NOISES)
    p.add_argument("--declared", action="store_true", help="the noise given instead (Poisson noises of one peak): the "
                   "package's route with the rule off, and BM3D told the noise (the Anscombe transform of that peak)")
    args = p.parse_args(argv)
    from noise2x import pretrained

    return run_calibration(args, argv, "weak_poisson_calibration",
                           lambda sets, noises: measure(sets, noises, args.declared),
                           lambda rows: show(rows, pretrained.WEAK_POISSON_SIGMA, pretrained.POISSON_ZERO_LEVEL),
                           {"weak_poisson_sigma": pretrained.WEAK_POISSON_SIGMA,
                            "poisson_zero_level": pretrained.POISSON_ZERO_LEVEL})


if __name__ == "__main__":
    sys.exit(main())
