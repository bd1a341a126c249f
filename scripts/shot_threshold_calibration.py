#!/usr/bin/env python
"""No options given: when does an estimated noise count as Poisson (``noise2x.pretrained.SHOT_DOMINATES``)?

``noise2x denoise IMAGE`` with no options estimates a Poisson-Gaussian noise, variance ``a * x + b`` at
level ``x`` (``noise2x.estimate.poisson_gaussian``), and reads it as signal-dependent (the Poisson route:
``gray-poisson`` or ``gray-poisson-low``, or the Anscombe transform where the peak is above their ranges)
where ``a * mean > SHOT_DOMINATES * b`` (``SHOT_DOMINATES_GRAY`` on a gray image; and ``a * mean > 4``); else as white Gaussian noise of the
estimated sigma (the Gaussian route: ``gray-gaussian``, ``gray-gaussian-low`` for weak noise, the image
scaled down above the range). This script runs the package end to end on each image twice, once with the
Poisson route forced wherever the estimate allows it (threshold 0) and once with the Gaussian route (no
threshold), records the estimated ratio ``a * mean / b``, and so gives, for any threshold, what the choice
would score. Noise per PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``; not clipped, as
``noise2x bench`` draws it). The noises: white Gaussian, Poisson, and Poisson-Gaussian (a camera's shot and read
noise). Calibration images only: train400 images (gray; no table scores them) and CBSD68 photos 60-67
(colour; the tables use the first 24). Usage (the runs behind BENCHMARKS.md)::

    python scripts/shot_threshold_calibration.py --out benchmarks/shot_threshold_calibration.json
    python scripts/shot_threshold_calibration.py --show benchmarks/shot_threshold_calibration.json [MORE.json...]  # rows pooled
    python scripts/shot_threshold_calibration.py --compare AFTER.json BEFORE.json...   # before / after a change
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import (add_image_set_args, add_run_args, image_sets, noisy_images,  # the same image sets,
                                  record)  # options and run record

NOISES = ("gaussian:sigma=5;gaussian:sigma=10;gaussian:sigma=15;gaussian:sigma=25;gaussian:sigma=35;"
          "gaussian:sigma=50;poisson:peak=5;poisson:peak=10;poisson:peak=20;poisson:peak=30;poisson:peak=50;"
          "poisson_gaussian:peak=10,sigma=10;poisson_gaussian:peak=10,sigma=30;poisson_gaussian:peak=10,sigma=60;"
          "poisson_gaussian:peak=20,sigma=10;poisson_gaussian:peak=20,sigma=30;poisson_gaussian:peak=20,sigma=60;"
          "poisson_gaussian:peak=40,sigma=10;poisson_gaussian:peak=40,sigma=30;poisson_gaussian:peak=40,sigma=60;"
          "poisson_gaussian:peak=80,sigma=10;poisson_gaussian:peak=80,sigma=30")
THRESHOLDS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, float("inf"))


def _route(noisy: np.ndarray, threshold: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The package with no options, with ``SHOT_DOMINATES`` set to ``threshold`` for this call."""
    from noise2x import api, pretrained

    kept = pretrained.SHOT_DOMINATES, pretrained.SHOT_DOMINATES_GRAY
    pretrained.SHOT_DOMINATES = pretrained.SHOT_DOMINATES_GRAY = threshold
    try:
        info: dict[str, Any] = {}
        out = api.denoise(noisy, info=info)
    finally:
        pretrained.SHOT_DOMINATES, pretrained.SHOT_DOMINATES_GRAY = kept
    return np.asarray(out, np.float64), info


def measure(sets: list[tuple[str, Path, list[int]]], noises: list[str]) -> list[dict[str, Any]]:
    from noise2x import pretrained
    from noise2x.metrics import psnr

    rows = []
    for name, path, text, clean, noisy in noisy_images(sets, noises):
        poisson, p_info = _route(noisy, 0.0)
        gaussian, g_info = _route(noisy, float("inf"))
        a, b = p_info.get("estimated_poisson_a"), p_info.get("estimated_poisson_b")
        a_err = p_info.get("estimated_poisson_a_stderr", 0.0)  # the slope gate (since 76772b7), as the package
        mean = float(np.mean(noisy))
        eligible = a is not None and a > max(pretrained.SLOPE_SIGNIFICANCE * a_err, 0.0) and a * mean > 4.0
        ratio = (float("inf") if b is None or b <= 0 else a * mean / b) if eligible else None
        row = {"set": name, "image": path.name, "channels": 1 if noisy.ndim == 2 else noisy.shape[2],
               "noise": text, "noisy": round(psnr(clean, noisy), 3),
               "a": a, "b": b, "mean": round(mean, 3), "ratio": ratio,
               "poisson": round(psnr(clean, poisson), 3), "gaussian": round(psnr(clean, gaussian), 3),
               "poisson_route": p_info.get("auto"), "gaussian_route": g_info.get("auto")}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _pick(r: dict[str, Any], t: float) -> float:
    return r["poisson"] if r["ratio"] is not None and r["ratio"] > t else r["gaussian"]


def _kind(noise: str) -> str:
    return noise.split(":")[0]


def show(result: dict[str, Any], gray: float, colour: float) -> None:
    rows = result["rows"]
    print(f"Current rule: Poisson where a * mean > t * b (and a * mean > 4), t = {gray:g} on gray images, "
          f"{colour:g} on colour ones\n")
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        # the files of 2026-12-03 19:00-19:40 UTC lack "channels": their colour set is cbsd68
        current = gray if sub[0].get("channels", 3 if name == "cbsd68" else 1) == 1 else colour
        print(f"**{name}** ({len({r['image'] for r in sub})} images; mean PSNR in dB; ratio: estimated "
              f"a * mean / b, median)\n")
        print("| noise | noisy | Gaussian route | Poisson route | median ratio | current rule (Poisson on) |")
        print("|---|---|---|---|---|---|")
        for noise in dict.fromkeys(r["noise"] for r in sub):
            rs = [r for r in sub if r["noise"] == noise]
            ratios = [r["ratio"] if r["ratio"] is not None else 0.0 for r in rs]
            n_p = sum(r["ratio"] is not None and r["ratio"] > current for r in rs)
            print(f"| `{noise}` | {np.mean([r['noisy'] for r in rs]):.2f} | {np.mean([r['gaussian'] for r in rs]):.2f}"
                  f" | {np.mean([r['poisson'] for r in rs]):.2f} | {np.median(ratios):.2f} | "
                  f"{np.mean([_pick(r, current) for r in rs]):.2f} ({n_p} of {len(rs)}) |")
        print()
    sets = list(dict.fromkeys(r["set"] for r in rows))
    kinds = list(dict.fromkeys(_kind(r["noise"]) for r in rows))
    print("**Threshold** (Poisson route where the ratio is above it): mean loss against the better route per image "
          "(dB), by image set, by noise kind (both sets) and pooled; worst single image; images taking the "
          "Poisson route\n")
    print("| threshold | " + " | ".join(sets + kinds) + " | pooled mean | pooled worst | Poisson route on |")
    print("|---" * (len(sets) + len(kinds) + 4) + "|")
    for t in THRESHOLDS:
        loss: dict[str, list[float]] = {k: [] for k in sets + kinds}
        for r in rows:
            lost = _pick(r, t) - max(r["poisson"], r["gaussian"])
            loss[r["set"]].append(lost)
            loss[_kind(r["noise"])].append(lost)
        pooled = np.array([v for k in sets for v in loss[k]])
        n_p = sum(r["ratio"] is not None and r["ratio"] > t for r in rows)
        print(f"| {t:g} | " + " | ".join(f"{np.mean(loss[k]):.3f}" for k in sets + kinds)
              + f" | {pooled.mean():.3f} | {pooled.min():.2f} | {n_p} of {len(rows)} |")


def compare(after: dict[str, Any], befores: list[dict[str, Any]], old: tuple[float, float],
            new: tuple[float, float]) -> None:
    """Per set and noise: the choice before (thresholds ``old``, gray and colour, on the routes of the
    ``befores`` files, run at the earlier code) and after (``new`` on ``after``'s routes).

    An image the ``befores`` files lack takes its routes from ``after`` for both: for routes the change
    left as they were (say so where it is used)."""
    earlier = {(r["set"], r["image"], r["noise"]): r for b in befores for r in b["rows"]}

    def threshold(r: dict[str, Any], pair: tuple[float, float]) -> float:
        return pair[0] if r.get("channels", 3 if r["set"] == "cbsd68" else 1) == 1 else pair[1]

    print(f"Before: threshold {old[0]:g} gray, {old[1]:g} colour; after: {new[0]:g} gray, {new[1]:g} colour "
          f"(mean PSNR in dB)\n")
    print("| set | noise | images | before | after | after - before | ahead / behind | Poisson route before / after "
          "| routes before from |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in dict.fromkeys((r["set"], r["noise"]) for r in after["rows"]):
        rs = [r for r in after["rows"] if (r["set"], r["noise"]) == key]
        olds = [earlier.get((r["set"], r["image"], r["noise"]), r) for r in rs]
        b = np.array([_pick(o, threshold(o, old)) for o in olds])
        a = np.array([_pick(r, threshold(r, new)) for r in rs])
        n_b = sum(o["ratio"] is not None and o["ratio"] > threshold(o, old) for o in olds)
        n_a = sum(r["ratio"] is not None and r["ratio"] > threshold(r, new) for r in rs)
        n_old = sum((r["set"], r["image"], r["noise"]) in earlier for r in rs)
        source = "the earlier code" if n_old == len(rs) else "this file" if n_old == 0 else f"earlier code on {n_old}"
        d = a - b
        print(f"| {key[0]} | `{key[1]}` | {len(rs)} | {b.mean():.2f} | {a.mean():.2f} | {d.mean():+.3f} | "
              f"{int((d > 0.005).sum())} / {int((d < -0.005).sum())} | {n_b} / {n_a} | {source} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    add_run_args(p, NOISES)
    p.add_argument("--compare", type=Path, nargs="+", metavar="FILE",
                   help="AFTER BEFORE...: the choice after (the current thresholds) against before (--old)")
    p.add_argument("--old", default="2,2", help="the thresholds before, gray,colour (for --compare)")
    args = p.parse_args(argv)
    from noise2x import pretrained

    if args.compare:
        after, *befores = (json.loads(f.read_text()) for f in args.compare)
        old = tuple(float(v) for v in args.old.split(","))
        compare(after, befores, (old[0], old[1]), (pretrained.SHOT_DOMINATES_GRAY, pretrained.SHOT_DOMINATES))
        return 0
    if args.show:
        rows = [r for f in args.show for r in json.loads(f.read_text())["rows"]]
        show({"rows": rows}, pretrained.SHOT_DOMINATES_GRAY, pretrained.SHOT_DOMINATES)
        return 0
    sets = image_sets(args, "shot_threshold_calibration")
    if sets is None:
        return 1
    t0 = time.time()
    rows = measure(sets, [n for n in args.noises.split(";") if n])
    result = record(rows, t0, "shot_threshold_calibration", argv, args.out,
                    {"shot_dominates": pretrained.SHOT_DOMINATES, "shot_dominates_gray": pretrained.SHOT_DOMINATES_GRAY})
    show(result, pretrained.SHOT_DOMINATES_GRAY, pretrained.SHOT_DOMINATES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
