#!/usr/bin/env python
"""No options given, noise read as spatially correlated: a white-noise model, or BM3D given the noise's spectrum?

No shipped model is trained for spatially correlated noise; up to this script the no-option choice gave such a
reading to a white-noise model, which removes the noise's white part only (at beta = 1 there is none, and the
model left the noise as it was). BM3D given the noise's power spectral density (Makinen, Azzari & Foi 2020;
``noise2x.classical.correlated_psd`` of the marginal sigma and beta that ``noise2x.estimate.correlation`` reads)
filters the correlated part too. This script runs the package end to end on each image with that route off
(``CORRELATED_PSD_BETA = inf``: the route before) and on (``0``: BM3D for every correlated reading), records the
estimated marginal sigma, beta and white part, and so gives, for any rule on them, what the choice would score:
a threshold on beta (the package's rule), and one tried and not kept, the white parts' agreement (the white part
the texture-robust ``noise2x.estimate.sigma`` reads over the one the correlated reading gives,
sigma * sqrt(1 - beta), at least a threshold).
White noises are in the set because weak white noise on textured images reads as correlated (the texture):
there the route must not lose; Poisson noises because the route comes before the Poisson test. The same for the
noise declared (``--noise correlated:...``: ``DECLARED_PSD_BETA``, off and on), on the correlated noises. Noise per PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``; not
clipped). Calibration images only: train400 (gray) and CBSD68 photos 60-67 (colour; the tables use the first
24). Usage (the runs behind BENCHMARKS.md, "Correlated noise: BM3D given its spectrum")::

    python scripts/correlated_psd_calibration.py --rgb-images "" --out benchmarks/correlated_psd_calibration_gray.json
    python scripts/correlated_psd_calibration.py --gray-images "" --out benchmarks/correlated_psd_calibration_rgb.json
    python scripts/correlated_psd_calibration.py --show FILE [MORE.json...]   # rows pooled
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import (DATA, add_image_set_args, add_run_args, denoise_forced,  # the same image sets,
                                  image_sets, noisy_images, record)  # options, run record and forced constants

from noise2x.fsutil import atomic_path
from noise2x.io import list_images, read_image
from noise2x.noise import parse_noise, protocol_noisy

NOISES = ("gaussian:sigma=3;gaussian:sigma=5;gaussian:sigma=10;gaussian:sigma=25;"
          "correlated:sigma=3,beta=0.5;correlated:sigma=5,beta=0.5;correlated:sigma=5,beta=1;"
          "correlated:sigma=10,beta=0.5;correlated:sigma=10,beta=1;correlated:sigma=15,beta=0.5;"
          "correlated:sigma=15,beta=1;correlated:sigma=25,beta=0.5;correlated:sigma=25,beta=1;"
          "poisson:peak=2;poisson:peak=10;poisson:peak=30")
INF = float("inf")
#: (beta threshold, white-parts agreement threshold, growth limit, least white share) the rules table scores (the
#: second: a rule not kept; the third: the growth of the reading from the flattest 3% of the pixels to 30%, at most
#: this; the fourth: the white sigma read over the correlated reading's sigma, at least this)
RULES = tuple((b, c, INF, 0.0) for b in (0.8, 0.9, 0.95, INF) for c in (0.7, 0.8, 0.9, 0.95, INF)) + tuple(
    (b, INF, INF, 0.0) for b in (0.4, 0.5, 0.6, 0.7)) + tuple(
    (0.9, INF, g, w) for g in (1.1, 1.15, 1.2, 1.25, 1.3, 1.4, INF) for w in (0.0, 0.05, 0.06, 0.07, 0.08, 0.09))


def _run(noisy: np.ndarray, on: bool, noise: str | None = None) -> tuple[np.ndarray, dict[str, Any], float]:
    """The package with the spectrum route for every correlated reading (``on``: ``CORRELATED_PSD_BETA = 0``, with
    no growth or white-share test: ``CORRELATED_PSD_GROWTH = inf``, ``CORRELATED_PSD_WHITE_SHARE = 0``) or for none (inf); where ``noise`` is given, for every declared
    correlated noise (``DECLARED_PSD_BETA = 0``) or none (inf): output, info, seconds."""
    if noise is None:
        return denoise_forced(noisy, {"CORRELATED_PSD_BETA": 0.0 if on else float("inf"),
                                      "CORRELATED_PSD_GROWTH": float("inf"), "CORRELATED_PSD_WHITE_SHARE": 0.0}, noise)
    return denoise_forced(noisy, {"DECLARED_PSD_BETA": 0.0 if on else float("inf")}, noise)


def _growth(noisy: np.ndarray) -> float:
    """The reading's growth from the flattest 3% of the pixels to 30% (``noise2x.estimate.correlation_growth``),
    as the choice reads it on these images (8-bit, whole), rounded."""
    from noise2x import estimate

    return round(estimate.correlation_growth(noisy), 3)


def measure(sets: list[tuple[str, Path, list[int]]], noises: list[str]) -> list[dict[str, Any]]:
    from noise2x import pretrained
    from noise2x.metrics import psnr

    rows = []
    for name, path, text, clean, noisy in noisy_images(sets, noises):
        before, b_info, b_sec = _run(noisy, False)
        row = {"set": name, "image": path.name, "channels": 1 if noisy.ndim == 2 else noisy.shape[2],
               "noise": text, "noisy": round(psnr(clean, noisy), 3),
               "sigma": b_info.get("estimated_correlated_sigma"), "beta": b_info.get("estimated_beta"),
               "white_sigma": b_info.get("estimated_sigma"), "growth": _growth(noisy),
               "before": round(psnr(clean, before), 3), "route_before": b_info.get("method"),
               "poisson_before": "signal-dependent" in str(b_info.get("auto")),
               "seconds_before": round(b_sec, 3)}
        if row["beta"] > pretrained.CORRELATED_BETA:  # (else the route cannot change: not run again)
            after, a_info, a_sec = _run(noisy, True)
            row.update({"psd": a_info.get("method") == "bm3d" and "beta" in a_info,
                        "after": round(psnr(clean, after), 3), "seconds_after": round(a_sec, 3)})
        else:
            row.update({"psd": False, "after": row["before"], "seconds_after": row["seconds_before"]})
        if text.startswith("correlated:"):
            d_before, _, d_sec = _run(noisy, False, text)
            d_after, _, da_sec = _run(noisy, True, text)
            row.update({"declared_beta": float(text.split("beta=")[1]), "declared_before": round(psnr(clean, d_before), 3),
                        "declared_after": round(psnr(clean, d_after), 3), "seconds_declared_before": round(d_sec, 3),
                        "seconds_declared_after": round(da_sec, 3)})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _consistency(r: dict[str, Any]) -> float:
    """The white part read by the robust estimator over the one the correlated reading gives (the rule not kept)."""
    part = r["sigma"] * np.sqrt(max(1.0 - r["beta"], 0.0))
    return r["white_sigma"] / part if part > 0 else float("inf")


def _taken(r: dict[str, Any], beta: float, consistency: float, growth: float = INF, share: float = 0.0) -> bool:
    """Whether the spectrum route takes the row's image under the rule (beta, consistency, growth, white share; a
    row recorded without its growth: none, as the package read before its growth test)."""
    return bool(r["psd"] and (r["beta"] >= beta or (np.isfinite(consistency) and _consistency(r) >= consistency))
                and r.get("growth", 1.0) <= growth and r["white_sigma"] >= share * r["sigma"])


def _pick(r: dict[str, Any], beta: float, consistency: float, growth: float = INF, share: float = 0.0) -> float:
    return r["after"] if _taken(r, beta, consistency, growth, share) else r["before"]


def show(rows: list[dict[str, Any]], current: float, declared: float, growth: float = INF, share: float = 0.0
         ) -> None:
    consistent = float("inf")  # (the white parts' agreement: not the package's rule)
    grows = f" and it grows by at most {growth:g} (flattest 3% to 30% of the pixels)" if np.isfinite(growth) else ""
    grows += f" and its white share is at least {share:g}" if share > 0 else ""
    print(f"Current rules: BM3D given the spectrum where a correlated reading's beta is at least {current:g}{grows}; "
          f"a declared correlated noise where its beta is at least {declared:g}\n")
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        print(f"**{name}** ({len({r['image'] for r in sub})} images; mean PSNR in dB; seconds: mean per image)\n")
        tests = np.isfinite(growth) or share > 0  # (a column for the beta rule alone, without the texture tests)
        print("| noise | noisy | route before | taking the spectrum route (of which read before as Poisson) | before, "
              "on those | BM3D given the spectrum, on those | current rules (all images) | "
              + ("beta alone, no texture tests (all images) | " if tests else "")
              + "seconds before / current | declared: before / BM3D given the spectrum |")
        print("|---" * (10 if tests else 9) + "|")
        for noise in dict.fromkeys(r["noise"] for r in sub):
            rs = [r for r in sub if r["noise"] == noise]
            cs = [r for r in rs if _taken(r, current, consistent, growth, share)]
            pois = sum(r["poisson_before"] for r in cs)
            on = (f"{np.mean([r['before'] for r in cs]):.2f} | {np.mean([r['after'] for r in cs]):.2f}" if cs
                  else "– | –")
            now = [r["seconds_after"] if _taken(r, current, consistent, growth, share) else r["seconds_before"] for r in rs]
            dec = (f"{np.mean([r['declared_before'] for r in rs]):.2f} / {np.mean([r['declared_after'] for r in rs]):.2f}"
                   if all("declared_before" in r for r in rs) else "–")
            alone = f"{np.mean([_pick(r, current, consistent) for r in rs]):.2f} | " if tests else ""
            print(f"| `{noise}` | {np.mean([r['noisy'] for r in rs]):.2f} | {np.mean([r['before'] for r in rs]):.2f} | "
                  f"{len(cs)} of {len(rs)} ({pois}) | {on} | "
                  f"{np.mean([_pick(r, current, consistent, growth, share) for r in rs]):.2f} | {alone}"
                  f"{np.mean([r['seconds_before'] for r in rs]):.2f} / {np.mean(now):.2f} | {dec} |")
        print()
    left = [r for r in rows if _taken(r, current, consistent) and not _taken(r, current, consistent, growth, share)]
    if left:
        print(f"**Taken for texture** (readings of beta {current:g} and more that the growth or white-share test "
              "leaves to the route before), given to BM3D with the spectrum read all the same: images, how many gained, "
              "the largest gain and loss against the route before (dB)\n")
        print("| set | noise | readings | gained | largest gain | largest loss |")
        print("|---|---|---|---|---|---|")
        for name in dict.fromkeys(r["set"] for r in left):
            for noise in dict.fromkeys(r["noise"] for r in left if r["set"] == name):
                d = [r["after"] - r["before"] for r in left if r["set"] == name and r["noise"] == noise]
                print(f"| {name} | `{noise}` | {len(d)} | {sum(x > 0 for x in d)} | {max(d):+.2f} | {min(d):+.2f} |")
        print()
    print(f"**Readings below beta {current:g}** (correlated readings the rule leaves to the model), given to BM3D with "
          "the spectrum read all the same: images, how many gained, the largest gain and loss (dB)\n")
    print("| set | noise | readings | gained | largest gain | largest loss |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["set"] for r in rows):
        for kind, match in (("white Gaussian", "gaussian:"), ("correlated, beta 0.5", "beta=0.5")):
            rs = [r for r in rows if r["set"] == name and match in r["noise"] and r["psd"] and r["beta"] < current]
            if rs:
                d = [r["after"] - r["before"] for r in rs]
                print(f"| {name} | {kind} | {len(rs)} | {sum(x > 0 for x in d)} | {max(d):+.2f} | {min(d):+.2f} |")
    print()
    sets = list(dict.fromkeys(r["set"] for r in rows))
    print("**Rules** (BM3D given the spectrum where the estimated beta is at least the first figure, or, the rule "
          "tried and not kept, the white parts agree to the second; and where the reading grows by at most the third "
          "from the flattest 3% of the pixels to 30%, and the white sigma read is at least the fourth times the "
          "correlated reading's sigma): mean loss against the better of the two routes per image (dB), "
          "by image set and pooled; worst single image; images losing more than 1 dB that way; images taking it\n")
    print("| beta | white parts | growth | white share | " + " | ".join(sets) + " | pooled mean | pooled worst | "
          "losing > 1 dB | taken by |")
    print("|---" * (len(sets) + 8) + "|")
    for beta, consistency, most, least in RULES:
        loss: dict[str, list[float]] = {k: [] for k in sets}
        for r in rows:
            loss[r["set"]].append(_pick(r, beta, consistency, most, least) - max(r["before"], r["after"]))
        pooled = np.array([v for k in sets for v in loss[k]])
        n = sum(_taken(r, beta, consistency, most, least) for r in rows)
        print(f"| {beta:g} | {consistency:g} | {most:g} | {least:g} | "
              + " | ".join(f"{np.mean(loss[k]):.3f}" for k in sets)
              + f" | {pooled.mean():.3f} | {pooled.min():.2f} | {int(np.sum(pooled < -1))} | {n} of {len(rows)} |")
    print()
    declared = [r for r in rows if "declared_beta" in r]
    if declared:
        print("**Declared noise** (BM3D given the declared noise's spectrum where its beta is at least the figure, "
              "else the white-noise model on its white part): mean loss against the better of the two per image "
              "(dB), by image set and pooled; worst single image; images losing more than 1 dB that way\n")
        dsets = list(dict.fromkeys(r["set"] for r in declared))
        print("| declared beta at least | " + " | ".join(dsets) + " | pooled mean | pooled worst | losing > 1 dB |")
        print("|---" * (len(dsets) + 4) + "|")
        for beta in sorted({r["declared_beta"] for r in declared} | {float("inf")}):
            dloss: dict[str, list[float]] = {k: [] for k in dsets}
            for r in declared:
                got = r["declared_after"] if r["declared_beta"] >= beta else r["declared_before"]
                dloss[r["set"]].append(got - max(r["declared_after"], r["declared_before"]))
            pooled = np.array([v for k in dsets for v in dloss[k]])
            print(f"| {beta:g} | " + " | ".join(f"{np.mean(dloss[k]):.3f}" for k in dsets)
                  + f" | {pooled.mean():.3f} | {pooled.min():.2f} | {int(np.sum(pooled < -1))} |")
        print()


def add_growth(files: list[Path]) -> int:
    """Each row's growth reading added to the recorded runs ``files`` (rewritten in place, atomically): the image
    read from the data folder of its set's name, the noise drawn as PROTOCOL.md draws it for its index there."""
    for f in files:
        run = json.loads(f.read_text())
        folders: dict[str, list[Path]] = {}
        for r in run["rows"]:
            names = folders.setdefault(r["set"], sorted(list_images(DATA / r["set"])))
            i = [p.name for p in names].index(r["image"])
            r["growth"] = _growth(protocol_noisy(read_image(names[i]), parse_noise(r["noise"]), index=i))
        run["meta"]["growth_added"] = "rows' growth added by --add-growth on " + time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                             time.gmtime())
        with atomic_path(f) as tmp:
            tmp.write_text(json.dumps(run, indent=1))
        print(f"{f}: growth added to {len(run['rows'])} rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_image_set_args(p)
    add_run_args(p, NOISES)
    p.add_argument("--add-growth", type=Path, nargs="+", help="add each row's growth reading (not recorded before "
                   "the growth test) to these earlier runs' files, the noise drawn again as they drew it; runs no "
                   "denoiser")
    args = p.parse_args(argv)
    from noise2x import pretrained

    if args.add_growth:
        return add_growth(args.add_growth)
    if args.show:
        show([r for f in args.show for r in json.loads(f.read_text())["rows"]], pretrained.CORRELATED_PSD_BETA,
             pretrained.DECLARED_PSD_BETA, pretrained.CORRELATED_PSD_GROWTH, pretrained.CORRELATED_PSD_WHITE_SHARE)
        return 0
    sets = image_sets(args, "correlated_psd_calibration")
    if sets is None:
        return 1
    t0 = time.time()
    rows = measure(sets, [n for n in args.noises.split(";") if n])
    record(rows, t0, "correlated_psd_calibration", argv, args.out,
           {"correlated_psd_beta": pretrained.CORRELATED_PSD_BETA, "declared_psd_beta": pretrained.DECLARED_PSD_BETA})
    show(rows, pretrained.CORRELATED_PSD_BETA, pretrained.DECLARED_PSD_BETA, pretrained.CORRELATED_PSD_GROWTH,
         pretrained.CORRELATED_PSD_WHITE_SHARE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
