#!/usr/bin/env python
"""Declared Poisson-Gaussian noise: the generalised Anscombe transform or the white-noise model as it is.

``noise2x denoise IMAGE --noise poisson_gaussian:peak=P,sigma=S`` has two routes to the shipped white-noise
model ``gray-gaussian`` (no model is trained for this noise):

* ``transform``: the generalised Anscombe transform with the declared gain and sigma, the model (since
  afc1cea the weak-noise ``gray-gaussian-low`` where the stabilised noise lies in its range, as the
  package's route does), the closed-form approximation of the exact unbiased inverse
  (``noise2x.pretrained.stabilised``);
* ``model``: the model on the image as it is. It was trained on every sigma in 0..50 without being told
  which, so it also meets a noise whose level follows the signal.
* ``white`` (since 2026-12-03): the package told a white Gaussian noise of the noise's std at the image's
  mean level: the model as it is within its range; above it, the image scaled down to bring that noise to
  the top of the range (as for strong white noise).

It also gives what ``noise2x denoise IMAGE`` does with no options (the noise estimated) on the same images.

The package takes the transform where the shot-noise variance at the image's mean level is at least
``noise2x.pretrained.DECLARED_SHOT_DOMINATES`` times the read-noise variance (up to the change after 43d2ace
also where the noise there was beyond the model's range; now the ``white`` route); on a gray image whose peak a shipped
Poisson model's range holds, that model as it is (the column "package's choice" is the package end to end
with the noise given). This script measures both
routes (and, on gray images, the Poisson model ``gray-poisson`` as it is) on a grid of peaks and sigmas,
noise drawn as in PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``), on calibration images: gray
train400 images and colour CBSD68 photos that no table of BENCHMARKS.md scores this noise on (60-67; the
tables use the first 24). It prints, per noise, each route's mean PSNR and the package's choice, and,
pooled over every image, what each threshold on the shot fraction loses against the better of the two
routes per image. Usage (the run behind BENCHMARKS.md)::

    python scripts/pg_route_calibration.py --out benchmarks/pg_route_calibration.json
    python scripts/pg_route_calibration.py --show benchmarks/pg_route_calibration.json   # tables only
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from noise2x.benchmark import machine_info
from noise2x.fsutil import atomic_path
from noise2x.io import list_images, read_image
from noise2x.noise import parse_noise, protocol_noisy

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
THRESHOLDS = (0.5, 0.6, 2 / 3, 0.75, 0.8, 0.85, 0.9, 0.95)


def _indices(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):  # "" for none (a set left out)
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def noisy_images(sets: list[tuple[str, Path, list[int]]], specs: list[Any]) -> Iterator[tuple[str, Path, Any, np.ndarray,
                                                                                       np.ndarray]]:
    """``(set name, file, spec, clean, noisy)`` for each set, spec and image index, in that order; the noise
    drawn as PROTOCOL.md draws it for image ``i`` of the sorted folder (``rng = i``)."""
    for name, folder, indices in sets:
        if not indices:
            continue
        files = sorted(list_images(folder))
        for spec in specs:
            for i in indices:
                clean = read_image(files[i])
                yield name, files[i], spec, clean, protocol_noisy(clean, spec, index=i)


def measure(sets: list[tuple[str, Path, list[int]]], peaks: list[float], sigmas: list[float],
            offset_route: bool = False) -> list[dict[str, Any]]:
    from noise2x import api, pretrained
    from noise2x.classical import anscombe, inverse_anscombe
    from noise2x.metrics import psnr

    gaussian = api._cached_model(pretrained.model_path("gray-gaussian"))
    poisson = api._cached_model(pretrained.model_path("gray-poisson"))
    rows = []
    specs = [parse_noise(f"poisson_gaussian:peak={p:g},sigma={s:g}") for p in peaks for s in sigmas]
    for name, path, spec, clean, noisy in noisy_images(sets, specs):
        peak, sig = float(spec.params["peak"]), float(spec.params["sigma"])
        choice = pretrained.choose(noisy, noise=spec)
        alpha = 255.0 / peak
        gain = pretrained._stabilised_gain(alpha, sig, 0.0, pretrained.model_path("gray-gaussian"))
        stab = anscombe(noisy, alpha=alpha, sigma=sig) * gain
        # after the transform, the model the package's route takes (the weak-noise one where the
        # stabilised noise, on the planes the model sees, lies in its range; since afc1cea)
        channels = 1 if noisy.ndim == 2 else noisy.shape[2]
        after = pretrained._narrow_or(pretrained.model_path("gray-gaussian"),
                                      gain * pretrained.plane_share(channels))
        routes = {
            "model": gaussian.denoise(noisy),
            "transform": inverse_anscombe(np.asarray(api._cached_model(after).denoise(stab)) / gain,
                                          alpha=alpha, sigma=sig),
        }
        if offset_route:
            # the transform with its offset taken away: the stabilised f(0)..f(255) (not 0..f(255))
            # brought to about 0..255, the gain capped as the package's (a candidate, not used)
            f0, f255 = (float(anscombe(np.array(v), alpha=alpha, sigma=sig)) for v in (0.0, 255.0))
            gain0 = min(255.0 / (f255 - f0), 50.0)  # 50: gray-gaussian's top, the package's cap
            after0 = pretrained._narrow_or(pretrained.model_path("gray-gaussian"),
                                           gain0 * pretrained.plane_share(channels))
            shifted = (anscombe(noisy, alpha=alpha, sigma=sig) - f0) * gain0
            routes["transform_offset"] = inverse_anscombe(
                np.asarray(api._cached_model(after0).denoise(shifted)) / gain0 + f0, alpha=alpha, sigma=sig)
        if noisy.ndim == 2:
            routes["poisson_model"] = poisson.denoise(noisy)
        info: dict[str, Any] = {}
        routes["auto"] = api.denoise(noisy, info=info)  # no options: the noise estimated
        # the package told a white noise of the noise's std at the image's mean level: the model as
        # it is within its range, the image scaled down to bring the noise to its top above it
        level = float(np.sqrt(alpha * max(float(np.mean(noisy)), 0.0) + sig**2))
        routes["white"] = api.denoise(noisy, noise=f"gaussian:sigma={level:.6g}")
        given: dict[str, Any] = {}
        routes["declared"] = api.denoise(noisy, noise=spec, info=given)  # the package's choice
        to_poisson = choice.model is not None and "poisson" in choice.model.stem
        row = {"set": name, "image": path.name, "peak": peak, "sigma": sig,
               "shot_fraction": choice.facts["shot_fraction"],
               "choice": "transform" if "gat_alpha" in choice.facts else
               "poisson_model" if to_poisson else "model",
               "declared_route": given.get("transform", given["method"]),
               "transform_model": after.stem,
               "noisy": round(psnr(clean, noisy), 3), "auto_route": info.get("transform", info["method"]),
               "estimated_a": info.get("estimated_poisson_a"), "estimated_b": info.get("estimated_poisson_b")}
        row.update({k: round(psnr(clean, np.asarray(v, np.float64)), 3) for k, v in routes.items()})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def show(result: dict[str, Any]) -> None:
    rows = result["rows"]
    meta = result.get("meta", {})
    print(f"Package threshold: shot variance >= {meta.get('declared_shot_dominates')} x read variance "
          f"(shot fraction {meta.get('declared_shot_dominates', 0) / (1 + meta.get('declared_shot_dominates', 0)):.2f})\n")
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        gray = "poisson_model" in sub[0]
        print(f"**{name}** ({len({r['image'] for r in sub})} images; mean PSNR in dB)\n")
        head = "| peak | sigma | shot fraction | noisy | model as it is | transform |" + (" Poisson model |" if gray else "")
        white = "white" in sub[0]  # files from before 2026-12-03 19:00 UTC lack it
        shifted = "transform_offset" in sub[0]  # only with --offset-route
        head += " transform, offset taken away |" if shifted else ""
        head += " white-noise route |" if white else ""
        head += " no options (noise estimated) |"
        print(head + " package's choice |")
        print("|---" * (head.count("|") - 1 + 1) + "|")
        for key in dict.fromkeys((r["peak"], r["sigma"]) for r in sub):
            rs = [r for r in sub if (r["peak"], r["sigma"]) == key]
            m = {k: np.mean([r[k] for r in rs]) for k in ("shot_fraction", "noisy", "model", "transform")}
            # the package end to end with the noise given (files before it: the chosen route's column)
            chosen = np.mean([r["declared"] if "declared" in r else r[r["choice"]] for r in rs])
            n_t = sum(r["choice"] == "transform" for r in rs)
            n_p = sum(r["choice"] == "poisson_model" for r in rs)
            cells = [f"{key[0]:g}", f"{key[1]:g}", f"{m['shot_fraction']:.2f}", f"{m['noisy']:.2f}", f"{m['model']:.2f}",
                     f"{m['transform']:.2f}"]
            if gray:
                cells.append(f"{np.mean([r['poisson_model'] for r in rs]):.2f}")
            if shifted:
                cells.append(f"{np.mean([r['transform_offset'] for r in rs]):.2f}")
            if white:
                cells.append(f"{np.mean([r['white'] for r in rs]):.2f}")
            cells.append(f"{np.mean([r['auto'] for r in rs]):.2f}")
            cells.append(f"{chosen:.2f} (transform on {n_t} of {len(rs)}"
                         + (f", Poisson model on {n_p}" if n_p else "") + ")")
            print("| " + " | ".join(cells) + " |")
        print()
    print("**Threshold on the shot fraction** (transform at or above it), pooled over every image and noise: "
          "the loss against the better of the two routes per image, in dB\n")
    print("| threshold | " + " | ".join(dict.fromkeys(r["set"] for r in rows)) + " | pooled mean | pooled worst |")
    print("|---" * (len({r["set"] for r in rows}) + 3) + "|")
    for t in THRESHOLDS:
        loss = {}
        for r in rows:
            pick = r["transform"] if r["shot_fraction"] >= t else r["model"]
            loss.setdefault(r["set"], []).append(pick - max(r["transform"], r["model"]))
        pooled = np.concatenate([np.array(v) for v in loss.values()])
        print(f"| {t:.2f} | " + " | ".join(f"{np.mean(v):.3f}" for v in loss.values())
              + f" | {pooled.mean():.3f} | {pooled.min():.2f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    p.add_argument("--peaks", default="5,10,20,40,80")
    p.add_argument("--sigmas", default="0,5,10,20,30")
    p.add_argument("--offset-route", action="store_true",
                   help="also the transform with its offset f(0) taken away before the model (a candidate route)")
    p.add_argument("--out", type=Path)
    p.add_argument("--show", type=Path, help="print the tables of an earlier run's file; runs nothing")
    args = p.parse_args(argv)
    if args.show:
        show(json.loads(args.show.read_text()))
        return 0
    sets = image_sets(args, "pg_route_calibration")
    if sets is None:
        return 1
    from noise2x import pretrained

    t0 = time.time()
    rows = measure(sets, [float(v) for v in args.peaks.split(",")], [float(v) for v in args.sigmas.split(",")],
                   args.offset_route)
    result = record(rows, t0, "pg_route_calibration", argv, args.out,
                    {"declared_shot_dominates": pretrained.DECLARED_SHOT_DOMINATES})
    show(result)
    return 0


def denoise_forced(noisy: np.ndarray, settings: dict[str, float],
                   noise: Any = None) -> tuple[np.ndarray, dict[str, Any], float]:
    """``noise2x.denoise(noisy, noise=noise)`` with the ``noise2x.pretrained`` constants ``settings`` set for the
    call (restored after it): output (float64), info, seconds."""
    from noise2x import api, pretrained

    kept = {name: getattr(pretrained, name) for name in settings}
    for name, value in settings.items():
        setattr(pretrained, name, value)
    try:
        info: dict[str, Any] = {}
        t0 = time.perf_counter()
        out = api.denoise(noisy, noise=noise, info=info)
        seconds = time.perf_counter() - t0
    finally:
        for name, value in kept.items():
            setattr(pretrained, name, value)
    return np.asarray(out, np.float64), info, seconds


def add_image_set_args(p: argparse.ArgumentParser) -> None:
    """The calibration image sets' options (read by :func:`image_sets`)."""
    p.add_argument("--gray", type=Path, default=DATA / "train400")
    p.add_argument("--gray-images", default="20-27,40-47", help="indices in the sorted folder (a-b ranges)")
    p.add_argument("--rgb", type=Path, default=DATA / "cbsd68")
    p.add_argument("--rgb-images", default="60-67", help='"" leaves the colour set out')


def add_run_args(p: argparse.ArgumentParser, noises: str) -> None:
    """The calibration runs' options beside the image sets: ``--noises`` (default ``noises``), ``--out`` and
    ``--show`` (earlier runs' files, their rows pooled)."""
    p.add_argument("--noises", default=noises, help="noise specs separated by ';'")
    p.add_argument("--out", type=Path)
    p.add_argument("--show", type=Path, nargs="+", help="print the tables of earlier runs' files (several: their rows "
                   "pooled); runs nothing")


def image_sets(args: argparse.Namespace, script: str) -> list[tuple[str, Path, list[int]]] | None:
    """The gray and colour sets of ``--gray/--gray-images --rgb/--rgb-images``; None (said) if a folder is missing."""
    for folder in (args.gray, args.rgb):
        if not folder.is_dir():
            print(f"{script}: data folder missing: {folder}", file=sys.stderr)
            return None
    return [(args.gray.name, args.gray, _indices(args.gray_images)), (args.rgb.name, args.rgb, _indices(args.rgb_images))]


def groups(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    """``rows`` grouped by their value of ``key``, in the order the values first appear."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def threshold_table(rows: list[dict[str, Any]], thresholds: Any, chosen: Any, best: Any, taken: Any) -> None:
    """Print, per threshold ``t``, the mean loss of ``chosen(r, t)`` against ``best(r)`` by image set and pooled, the
    worst image, and how many rows ``taken(r, t)`` (e.g. go to BM3D)."""
    sets = list(groups(rows, "set"))
    print("| threshold | " + " | ".join(sets) + " | pooled mean | pooled worst | BM3D on |")
    print("|---" * (len(sets) + 4) + "|")
    for t in thresholds:
        loss = {k: [chosen(r, t) - best(r) for r in rs] for k, rs in groups(rows, "set").items()}
        pooled = np.array([v for k in sets for v in loss[k]])
        print(f"| {t:g} | " + " | ".join(f"{np.mean(loss[k]):.3f}" for k in sets)
              + f" | {pooled.mean():.3f} | {pooled.min():.2f} | {sum(bool(taken(r, t)) for r in rows)} of {len(rows)} |")
    print()


def run_calibration(args: argparse.Namespace, argv: list[str] | None, script: str, measure: Any, show: Any,
                    extra: dict[str, Any]) -> int:
    """A calibration script's main after its options are read: with ``--show``, ``show`` of the files' rows pooled;
    else ``measure(sets, noises)`` on the image sets, the run recorded (:func:`record`, with ``extra``) and shown."""
    if args.show:
        show([r for f in args.show for r in json.loads(f.read_text())["rows"]])
        return 0
    sets = image_sets(args, script)
    if sets is None:
        return 1
    t0 = time.time()
    rows = measure(sets, [n for n in args.noises.split(";") if n])
    record(rows, t0, script, argv, args.out, extra)
    show(rows)
    return 0


def record(rows: list[dict[str, Any]], t0: float, script: str, argv: list[str] | None, out: Path | None,
           extra: dict[str, Any]) -> dict[str, Any]:
    """A run's rows with its machine, date, time and command (and ``extra``), written atomically to ``out``."""
    result = {"rows": rows, "meta": {
        "machine": machine_info(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
        "wall_seconds": round(time.time() - t0, 1),
        "command": f"python scripts/{script}.py " + shlex.join(sys.argv[1:] if argv is None else argv), **extra}}
    if out:
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(main())
