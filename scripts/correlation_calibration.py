#!/usr/bin/env python
"""How often the automatic choice reads white noise as correlated, and the reverse; sets its threshold.

``noise2x denoise IMAGE`` (no options) sends an image to the zero-shot MASH
when :func:`noise2x.estimate.correlation` estimates a ``beta`` above
``noise2x.pretrained.CORRELATED_BETA``, and to a shipped white-noise model
otherwise. This script measures that estimate on gray images (RGB: the mean
of the channels, as the choice does) with noise drawn as in PROTOCOL.md
(image ``i`` of the sorted folder, ``rng = i``), rounded and clipped to
8 bits as an image file would hold it:

* white noise: Gaussian sigma 5..50 and Poisson peak 10 and 30 (should read
  at or below the threshold);
* correlated noise: ``correlated`` with beta 0.3, 0.5 and 1 (should read
  above it).

The calibration set (``--calib``, default every 4th train400 image: 100
images) sets the threshold: of 0.30, 0.35, ..., 0.60, the one with the fewest
misread images over all these noises (ties: the lowest). The evaluation sets
(``--eval``, default all of BSD68) are then scored with the package's
threshold. RNI15 (real noise, no truth) gets its estimates listed. Usage (the
run behind BENCHMARKS.md)::

    python scripts/correlation_calibration.py --out benchmarks/correlation_calibration.json

``--rgb DIR`` (e.g. CBSD68) scores colour images instead, with the noise drawn
on the colour image (each channel its own draw): the choice's reading
(``noise2x.pretrained.noise_beta``: the median of the channels' estimates)
against the estimate on the mean of the channels, at the package's threshold,
and lists the choice's reading of the real-noise images (``--real``). It
skips the calibration::

    python scripts/correlation_calibration.py --rgb ../shared/data/cbsd68 --out benchmarks/correlation_rgb.json

It prints Markdown tables (stdout) and writes every estimate to ``--out``.
``--compare OLD.json NEW.json`` prints, from two such files (say, before and
after a change of the estimator), the misread images per noise side by side,
each at its own run's package threshold, and runs nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from noise2x.benchmark import machine_info
from noise2x.fsutil import atomic_path
from noise2x.io import list_images, read_image
from noise2x.noise import parse_noise, protocol_noisy

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WHITE = ["gaussian:sigma=5", "gaussian:sigma=10", "gaussian:sigma=15", "gaussian:sigma=25", "gaussian:sigma=50",
         "poisson:peak=10", "poisson:peak=30"]
CORRELATED = ["correlated:sigma=10,beta=0.3", "correlated:sigma=5,beta=0.5", "correlated:sigma=10,beta=0.5",
              "correlated:sigma=25,beta=0.5", "correlated:sigma=10,beta=1", "correlated:sigma=25,beta=1"]
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(7)]


def _gray(path: Path) -> np.ndarray:
    img = read_image(path).astype(np.float64)
    return img.mean(axis=-1) if img.ndim == 3 else img


def _estimates(job: tuple[int, str, list[str]]) -> dict[str, float]:
    from noise2x import estimate

    index, path, specs = job
    clean = _gray(Path(path))
    out = {}
    for spec in specs:
        noisy = np.clip(np.round(protocol_noisy(clean, parse_noise(spec), index=index)), 0, 255)
        out[spec] = float(estimate.correlation(noisy).beta)
    return out


def _rgb_estimates(job: tuple[int, str, list[str]]) -> dict[str, tuple[float, float]]:
    """Per noise: (beta of the channels' mean, the choice's reading) of one colour image."""
    from noise2x import estimate
    from noise2x.pretrained import noise_beta

    index, path, specs = job
    clean = read_image(Path(path)).astype(np.float64)
    out = {}
    for spec in specs:
        noisy = np.clip(np.round(protocol_noisy(clean, parse_noise(spec), index=index)), 0, 255)
        out[spec] = (float(estimate.correlation(noisy.mean(axis=-1)).beta), noise_beta(noisy))
    return out


def run_rgb(folder: Path, specs: list[str], pool: Any, threshold: float) -> tuple[dict[str, Any], str]:
    """Colour images: misread counts of the two readings; returns the record and a Markdown table."""
    files = list_images(folder)
    rows = pool.map(_rgb_estimates, [(i, str(p), specs) for i, p in enumerate(files)])
    mean_b = {spec: [r[spec][0] for r in rows] for spec in specs}
    rule_b = {spec: [r[spec][1] for r in rows] for spec in specs}
    wrong_mean, wrong_rule = misread(mean_b, threshold), misread(rule_b, threshold)
    lines = ["| noise | misread, beta of the channels' mean | misread, median of the channels' betas (the choice) |",
             "|---|---|---|"]
    lines += [f"| `{spec}` | {wrong_mean[spec]}/{len(files)} | {wrong_rule[spec]}/{len(files)} |" for spec in specs]
    record = {"dataset": folder.name, "files": [p.name for p in files], "betas_channel_mean": mean_b,
              "betas_choice": rule_b, "misread_channel_mean": wrong_mean, "misread_choice": wrong_rule}
    return record, "\n".join(lines)


def _real_choice(path: str) -> float:
    from noise2x.pretrained import noise_beta

    return noise_beta(read_image(Path(path)).astype(np.float64))


def _real(path: str) -> float:
    from noise2x import estimate

    return float(estimate.correlation(_gray(Path(path))).beta)


def misread(betas: dict[str, list[float]], threshold: float) -> dict[str, int]:
    """Per noise, the images on the wrong side of ``threshold`` (white: above it; correlated: at or below)."""
    out = {}
    for spec, values in betas.items():
        b = np.asarray(values)
        out[spec] = int(np.sum(b <= threshold)) if spec.startswith("correlated") else int(np.sum(b > threshold))
    return out


def pick_threshold(betas: dict[str, list[float]]) -> tuple[float, dict[float, int]]:
    """The threshold of :data:`THRESHOLDS` with the fewest misread images in total (ties: the lowest)."""
    totals = {t: sum(misread(betas, t).values()) for t in THRESHOLDS}
    return min(THRESHOLDS, key=lambda t: (totals[t], t)), totals


def _table(betas: dict[str, list[float]], threshold: float) -> str:
    wrong = misread(betas, threshold)
    lines = [f"| noise | images | mean beta | 5-95% | misread at {threshold:g} |", "|---|---|---|---|---|"]
    for spec, values in betas.items():
        b = np.asarray(values)
        lines.append(f"| `{spec}` | {b.size} | {b.mean():.2f} | {np.percentile(b, 5):.2f}-{np.percentile(b, 95):.2f} "
                     f"| {wrong[spec]} ({100.0 * wrong[spec] / b.size:.0f}%) |")
    return "\n".join(lines)


def _run(folder: Path, step: int, specs: list[str], pool: Any) -> tuple[list[str], dict[str, list[float]]]:
    jobs = [(i, str(p), specs) for i, p in enumerate(list_images(folder))][::step]  # i: PROTOCOL index
    rows = pool.map(_estimates, jobs)
    return [Path(path).name for _, path, _ in jobs], {spec: [r[spec] for r in rows] for spec in specs}


def compare(old_path: Path, new_path: Path) -> str:
    """Side-by-side misread counts of two result files (calibration set and each evaluation set)."""
    old, new = (json.loads(Path(p).read_text()) for p in (old_path, new_path))
    sets = [("calibration", old["calibration"]["dataset"])] + [("eval", k) for k in new["eval"] if k in old["eval"]]
    head = "| noise | " + " | ".join(f"{label}, {p.stem} (beta > {r['threshold_in_package']:g})"
                                      for _, label in sets for p, r in ((old_path, old), (new_path, new))) + " |"
    lines = [head, "|---|" + "---|" * (2 * len(sets))]
    for spec in new["calibration"]["betas"]:
        cells = []
        for part, name in sets:
            for r in (old, new):
                block = r["calibration"] if part == "calibration" else r["eval"][name]
                n = misread({spec: block["betas"][spec]}, r["threshold_in_package"])[spec]
                cells.append(f"{n}/{len(block['betas'][spec])}")
        lines.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calib", type=Path, default=DATA / "train400")
    parser.add_argument("--calib-step", type=int, default=4, help="use every n-th calibration image")
    parser.add_argument("--eval", type=Path, nargs="*", default=[DATA / "bsd68"])
    parser.add_argument("--real", type=Path, default=DATA / "rni15")
    parser.add_argument("--rgb", type=Path, help="score these colour images instead (no calibration)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("OLD", "NEW"))
    args = parser.parse_args(argv)
    if args.compare:
        try:
            print(compare(*args.compare))
        except (OSError, ValueError) as err:
            print(f"error: cannot compare {args.compare[0]} and {args.compare[1]}: {err}", file=sys.stderr)
            return 2
        except (KeyError, TypeError) as err:
            print(f"error: {args.compare[0]} or {args.compare[1]} is not a result of this script (no {err})",
                  file=sys.stderr)
            return 2
        return 0
    from noise2x.pretrained import CORRELATED_BETA

    start = time.perf_counter()
    if args.rgb is not None:
        if not args.rgb.is_dir():
            print(f"error: dataset folder {args.rgb} not found", file=sys.stderr)
            return 2
        with Pool(2) as pool:
            record, table = run_rgb(args.rgb, WHITE + CORRELATED, pool, CORRELATED_BETA)
        print(f"## colour images: {args.rgb.name} ({len(record['files'])} images), threshold {CORRELATED_BETA:g}\n")
        print(table + "\n")
        result = {"threshold_in_package": CORRELATED_BETA, "rgb": record}
        if args.real.is_dir():
            with Pool(2) as pool:
                result["real_choice"] = _real_listing(
                    args.real, _real_choice, pool, "(real noise): the choice's reading (median of the channels' betas)")
        _write(args, argv, result, start)
        return 0
    for folder in [args.calib, *args.eval]:
        if not folder.is_dir():
            print(f"error: dataset folder {folder} not found (../shared/data missing?)", file=sys.stderr)
            return 2
    if args.calib_step < 1:
        print("error: --calib-step must be >= 1", file=sys.stderr)
        return 2
    specs = WHITE + CORRELATED
    result: dict[str, Any] = {"threshold_in_package": CORRELATED_BETA}
    with Pool(2) as pool:
        names, betas = _run(args.calib, args.calib_step, specs, pool)
        chosen, totals = pick_threshold(betas)
        result["calibration"] = {"dataset": args.calib.name, "files": names, "betas": betas,
                                 "misread_by_threshold": {str(t): n for t, n in totals.items()}, "chosen": chosen}
        print(f"## calibration: {args.calib.name} ({len(names)} images)\n")
        print("misread images (all noises) by threshold: " + ", ".join(f"{t:g}: {n}" for t, n in totals.items()))
        print(f"chosen: {chosen:g}; in the package: {CORRELATED_BETA:g}\n")
        print(_table(betas, CORRELATED_BETA) + "\n")
        result["eval"] = {}
        for folder in args.eval:
            names, betas = _run(folder, 1, specs, pool)
            result["eval"][folder.name] = {"files": names, "betas": betas,
                                           "misread": misread(betas, CORRELATED_BETA)}
            print(f"## evaluation: {folder.name} ({len(names)} images), threshold {CORRELATED_BETA:g}\n")
            print(_table(betas, CORRELATED_BETA) + "\n")
        if args.real.is_dir():
            result["real"] = _real_listing(args.real, _real, pool,
                                           "(real noise, gray mean of the channels): estimated beta")
    _write(args, argv, result, start)
    return 0


def _real_listing(folder: Path, reader: Any, pool: Any, heading: str) -> dict[str, Any]:
    """Each real-noise image's ``reader(path)`` (a beta), printed under "## FOLDER HEADING"."""
    files = list_images(folder)
    betas = dict(zip([p.name for p in files], pool.map(reader, [str(p) for p in files])))
    print(f"## {folder.name} {heading}\n")
    print(", ".join(f"{k} {v:.2f}" for k, v in betas.items()) + "\n")
    return {"dataset": folder.name, "betas": betas}


def _write(args: argparse.Namespace, argv: list[str] | None, result: dict[str, Any], start: float) -> None:
    result["meta"] = {"machine": machine_info(), "date": time.strftime("%Y-%m-%d"),
                      "wall_s": time.perf_counter() - start,
                      "command": "python scripts/correlation_calibration.py " + " ".join(argv or sys.argv[1:])}
    if args.out:
        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
