#!/usr/bin/env python
"""Noise correlated along one axis, weaker than a line of beta 1: from which beta read along that axis should the
no-option choice give it to BM3D given the spectrum along it (``noise2x.pretrained.ONE_AXIS_PSD_BETA``)?

The threshold was set where line noise of beta 1 reads (0.90 on a BSD68 crop: ``correlation_direction_check.py``);
a scanning probe microscope's row noise of beta 0.7 (read 0.725 along the rows, 0 along the columns) then went to
the white-noise route, which removes its finest grain only (an AFM user's QA pass: RMSE 0.037 nm where BM3D given
the spectrum along the rows left 0.010). For each noisy image this script reads the choice at each threshold of
``--thresholds`` (the package's other rules as they are), denoises with each distinct choice once (the package end
to end, the threshold set for the call) and scores it (PSNR, PROTOCOL.md). White and Poisson noises are in the set
because texture along one direction reads as correlated there: the lower threshold must not lose on them. Noise
per PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``). Calibration images only: train400 (gray; the
colour set is optional, CBSD68 60-67). Usage (the run behind BENCHMARKS.md, "Noise correlated along one axis:
weaker lines")::

    python scripts/one_axis_calibration.py --rgb-images "" --out benchmarks/one_axis_calibration.json
    python scripts/one_axis_calibration.py --show benchmarks/one_axis_calibration.json
    python scripts/one_axis_calibration.py --rgb-images "" --verify benchmarks/one_axis_calibration.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import (add_image_set_args, add_run_args, denoise_forced, groups, image_sets,
                                  noisy_images, run_calibration)

from noise2x import pretrained
from noise2x.metrics import psnr
from noise2x.noise import parse_noise

NOISES = ("gaussian:sigma=1;gaussian:sigma=2;gaussian:sigma=5;gaussian:sigma=10;gaussian:sigma=25;poisson:peak=10;"
          "correlated:sigma=25,beta=0.5;correlated_rows:sigma=10,beta=0.5;correlated_rows:sigma=25,beta=0.5;"
          "correlated_rows:sigma=10,beta=0.7;correlated_rows:sigma=25,beta=0.7;correlated_columns:sigma=25,beta=0.7;"
          "correlated_rows:sigma=25,beta=1")
THRESHOLDS = (0.8, 0.7, 0.6, 0.5, 0.4)


def _choice_key(noisy: np.ndarray, threshold: float) -> str:
    """The no-option choice for ``noisy`` with the threshold set: its route and, for BM3D given a spectrum, the axis."""
    kept = pretrained.ONE_AXIS_PSD_BETA
    pretrained.ONE_AXIS_PSD_BETA = threshold
    try:
        c = pretrained.choose(noisy)
    finally:
        pretrained.ONE_AXIS_PSD_BETA = kept
    route = c.method or c.model.stem
    return route + (f" along {c.options['along']}" if c.options.get("along") else
                    " spectrum" if "beta" in c.options else "")


def measure(sets: list[tuple[str, Any, list[int]]], noises: list[str], thresholds: tuple[float, ...],
            moved_only: bool = False) -> list[dict]:
    """A row per noisy image: its readings along each axis, and the choice, PSNR and time at each threshold (with
    ``moved_only``, None where every threshold makes the same choice: a scope run, which denoises no such image)."""
    rows = []
    for name, path, spec, clean, noisy in noisy_images(sets, [parse_noise(n) for n in noises]):
        facts = pretrained.choose(noisy).facts
        keys = {t: _choice_key(noisy, t) for t in thresholds}
        scores: dict[str, tuple[float | None, float | None]] = {}
        for t, key in keys.items():
            if moved_only and len(set(keys.values())) == 1:
                scores[key] = (None, None)
            elif key not in scores:
                out, _, seconds = denoise_forced(noisy, {"ONE_AXIS_PSD_BETA": t})
                scores[key] = (round(psnr(clean, out), 3), round(seconds, 2))
        row = {"set": name, "image": path.name, "noise": str(spec), "noisy_psnr": round(psnr(clean, noisy), 3),
               "beta_rows": facts.get("beta_along_rows"), "beta_columns": facts.get("beta_along_columns"),
               "routes": {f"{t:g}": keys[t] for t in thresholds},
               "psnr": {f"{t:g}": scores[keys[t]][0] for t in thresholds},
               "seconds": {f"{t:g}": scores[keys[t]][1] for t in thresholds}}
        rows.append(row)
        print(f"{name} {path.name} {spec}: rows {row['beta_rows']} columns {row['beta_columns']} "
              + " ".join(f"{t}:{keys[t]} {scores[keys[t]][0]}" for t in thresholds), flush=True)
    return rows


def verify(sets: list[tuple[str, Any, list[int]]], record: dict) -> int:
    """The choices of a record's rows read again with the code as it is (run with the record's image sets): how
    many differ (said), e.g. after a change to another rule that a record run before it could have met."""
    kept = {(r["image"], r["noise"]): r["routes"] for r in record["rows"]}
    thresholds = [float(t) for t in record["meta"]["thresholds"]]
    noises = list(dict.fromkeys(r["noise"] for r in record["rows"]))
    same = differ = 0
    for name, path, spec, clean, noisy in noisy_images(sets, [parse_noise(n) for n in noises]):
        routes = kept.get((path.name, str(spec)))
        if routes is None:
            continue
        now = {f"{t:g}": _choice_key(noisy, t) for t in thresholds}
        if now == routes:
            same += 1
        else:
            differ += 1
            print(f"{name} {path.name} {spec}: recorded {routes}, now {now}", flush=True)
    print(f"{same} rows choose as recorded, {differ} differ")
    return differ


def show(rows: list[dict]) -> None:
    thresholds = list(rows[0]["psnr"])
    print("| noise | images | " + " | ".join(f"mean PSNR at {t}" for t in thresholds)
          + " | moved from " + thresholds[0] + " (gained / lost) at each |")
    print("|---" * (len(thresholds) + 3) + "|")
    for noise, rs in groups(rows, "noise").items():
        scored = [r for r in rs if r["psnr"][thresholds[0]] is not None]  # (a scope run: the moved images alone)
        means = [np.mean([r["psnr"][t] for r in scored]) if scored else float("nan") for t in thresholds]
        moved = []
        for t in thresholds[1:]:
            diffs = [r["psnr"][t] - r["psnr"][thresholds[0]] for r in rs
                     if r["routes"][t] != r["routes"][thresholds[0]]]
            moved.append(f"{t}: {len(diffs)} ({sum(d > 0 for d in diffs)}/{sum(d < 0 for d in diffs)}"
                         + (f", worst {min(diffs):+.2f}" if diffs else "") + ")")
        print(f"| {noise} | {len(rs)} | " + " | ".join(f"{m:.2f}" for m in means) + " | " + "; ".join(moved) + " |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    add_run_args(p, NOISES)
    p.add_argument("--thresholds", default=",".join(f"{t:g}" for t in THRESHOLDS),
                   help="the values of ONE_AXIS_PSD_BETA compared, the package's first")
    p.add_argument("--moved-only", action="store_true", help="denoise only the images some threshold moves (a scope "
                   "run over many images: the mean PSNRs are theirs)")
    p.add_argument("--verify", type=Path, help="a record made with these image sets and noises: its choices read again "
                   "(no denoising); the exit status is 1 where one differs")
    args = p.parse_args(argv)
    if args.verify:
        sets = image_sets(args, "one_axis_calibration")
        return 1 if sets is None or verify(sets, json.loads(args.verify.read_text())) else 0
    thresholds = tuple(float(t) for t in args.thresholds.split(","))
    return run_calibration(args, argv, "one_axis_calibration",
                           lambda sets, noises: measure(sets, noises, thresholds, args.moved_only), show,
                           {"thresholds": list(thresholds), "moved_only": args.moved_only})


if __name__ == "__main__":
    sys.exit(main())
