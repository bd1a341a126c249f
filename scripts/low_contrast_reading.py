#!/usr/bin/env python
"""No options given, flat and low-contrast images: does an estimated noise count as Poisson by chance?

``noise2x denoise IMAGE`` with no options estimates a Poisson-Gaussian noise, variance ``a * x + b`` at
level ``x`` (``noise2x.estimate.poisson_gaussian``), and reads it as signal-dependent where the shot part
dominates (``noise2x.pretrained.SHOT_DOMINATES``). On an image spanning few intensities the slope ``a`` is
ill-determined, and white noise can give a positive one large enough to read as Poisson. The package counts
the slope only where it is ``SLOPE_SIGNIFICANCE`` standard errors above 0. This script reads each noisy
image with that gate and without it (significance 0: any positive slope, as before the gate), and where
the two readings differ, denoises the image both ways with the package (no options) and scores both.

Images: the calibration sets of ``scripts/pg_route_calibration.py`` by default (``--gray ... --rgb ...``
to change), each with its contrast scaled about its mean by each of ``--contrasts`` (1 = as it is). Noise
per PROTOCOL.md on the scaled image (image ``i`` of the sorted folder, ``rng = i``; not clipped).
Usage (the runs behind BENCHMARKS.md)::

    python scripts/low_contrast_reading.py --out FILE    # calibration images, contrasts 1, 0.2, 0.1, 0.05
    python scripts/low_contrast_reading.py --show FILE [--changed-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pg_route_calibration import add_image_set_args, image_sets, record  # the same image sets and run record

NOISES = "gaussian:sigma=5;gaussian:sigma=10;gaussian:sigma=25;poisson:peak=30;poisson:peak=100;" \
         "poisson_gaussian:peak=40,sigma=10"
CONTRASTS = "1,0.2,0.1,0.05"


@contextmanager
def _gate(significance: float) -> Iterator[None]:
    """``noise2x.pretrained.SLOPE_SIGNIFICANCE`` set to ``significance`` inside the block, restored after."""
    from noise2x import pretrained

    kept = pretrained.SLOPE_SIGNIFICANCE
    pretrained.SLOPE_SIGNIFICANCE = significance
    try:
        yield
    finally:
        pretrained.SLOPE_SIGNIFICANCE = kept


def _reading(noisy: np.ndarray, significance: float) -> tuple[str, dict[str, Any]]:
    """What the choice reads (``poisson`` or ``gaussian``) and its facts, the gate at ``significance``."""
    from noise2x import api

    with _gate(significance):
        choice = api.choose_auto(noisy)
    return ("poisson" if "peak" in choice.facts else "gaussian"), choice.facts


def measure(sets: list[tuple[str, Path, list[int]]], noises: list[str], contrasts: list[float],
            significance: float) -> list[dict[str, Any]]:
    from noise2x.io import list_images, read_image

    rows: list[dict[str, Any]] = []
    for name, folder, indices in sets:
        files = sorted(list_images(folder))
        for c in contrasts:
            for spec in noises:
                for i in indices:
                    clean = read_image(files[i])
                    rows.append(_one(name, files[i], i, clean.mean() + c * (clean - clean.mean()), c, spec,
                                     significance))
    return rows


def _one(name: str, path: Path, i: int, low: np.ndarray, c: float, spec: str, significance: float) -> dict[str, Any]:
    """Image ``i`` at contrast ``c`` with noise ``spec``: both readings, and both denoisings where they differ."""
    from noise2x.metrics import psnr
    from noise2x.noise import protocol_noisy

    noisy = protocol_noisy(low, spec, index=i)
    gated, facts = _reading(noisy, significance)
    plain, _ = _reading(noisy, 0.0)
    row: dict[str, Any] = {"set": name, "file": path.name, "contrast": c, "noise": spec, "a": facts["poisson_a"],
                           "a_stderr": facts["poisson_a_stderr"], "b": facts["poisson_b"],
                           "reading": gated, "reading_without_gate": plain}
    if gated != plain:
        t0 = time.perf_counter()
        from noise2x import api

        for key, sig in (("psnr", significance), ("psnr_without_gate", 0.0)):
            with _gate(sig):  # the package with no options
                row[key] = psnr(low, np.asarray(api.denoise(noisy, info={}), np.float64))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        print(f"[{name} {path.name} c={c:g} {spec}] {plain} -> {gated}: "
              f"{row['psnr_without_gate']:.2f} -> {row['psnr']:.2f} dB", file=sys.stderr, flush=True)
    return row


def show(result: dict[str, Any], changed_only: bool = False) -> None:
    rows = result["rows"]
    meta = result.get("meta", {})
    print(f"# {meta.get('command', '')} ({meta.get('date', '')}, {meta.get('wall_seconds', '')} s; "
          f"gate: {meta.get('significance', '')} standard errors)\n")
    print("| set | contrast | noise | images | read as Poisson without gate / with | changed | PSNR on the changed "
          "ones, without gate -> with | mean gain over all images |")
    print("|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["set"], r["contrast"], r["noise"]) for r in rows}, key=lambda k: (k[0], -k[1], k[2]))
    for s, c, n in keys:
        sel = [r for r in rows if (r["set"], r["contrast"], r["noise"]) == (s, c, n)]
        before = sum(r["reading_without_gate"] == "poisson" for r in sel)
        after = sum(r["reading"] == "poisson" for r in sel)
        changed = [r for r in sel if "psnr" in r]
        if changed:
            pb = float(np.mean([r["psnr_without_gate"] for r in changed]))
            pa = float(np.mean([r["psnr"] for r in changed]))
            gain = sum(r["psnr"] - r["psnr_without_gate"] for r in changed) / len(sel)
            ahead = sum(r["psnr"] > r["psnr_without_gate"] for r in changed)
            cell = f"{pb:.2f} -> {pa:.2f} ({ahead}/{len(changed)} ahead)"
            mean = f"{gain:+.3f}"
        else:
            if changed_only:
                continue
            cell, mean = "–", "0"
        print(f"| {s} | {c:g} | `{n}` | {len(sel)} | {before} / {after} | {len(changed)} | {cell} | {mean} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    p.add_argument("--noises", default=NOISES, help="semicolon-separated noise specs")
    p.add_argument("--contrasts", default=CONTRASTS, help="comma list of contrast factors (1 = as it is)")
    p.add_argument("--out", type=Path)
    p.add_argument("--show", type=Path, metavar="FILE", help="print the table of an earlier run (runs nothing)")
    p.add_argument("--changed-only", action="store_true", help="with --show: only the rows where the gate changed "
                   "a reading (the others: no reading changed)")
    args = p.parse_args(argv)
    if args.show:
        show(json.loads(args.show.read_text()), args.changed_only)
        return 0
    sets = image_sets(args, "low_contrast_reading")
    if sets is None:
        return 2
    from noise2x import pretrained

    t0 = time.time()
    noises = [n for n in args.noises.split(";") if n.strip()]
    contrasts = [float(c) for c in args.contrasts.split(",") if c.strip()]
    rows = measure(sets, noises, contrasts, pretrained.SLOPE_SIGNIFICANCE)
    result = record(rows, t0, "low_contrast_reading", argv, args.out,
                    {"significance": pretrained.SLOPE_SIGNIFICANCE})
    show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
