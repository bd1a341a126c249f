#!/usr/bin/env python
"""No options given, impulse noise: how often do isolated outliers (``noise2x.estimate.impulse_share``) tell it
apart from the other noises, and what does routing it to the zero-shot ZS-N2N (as ``--noise impulse:p=P`` does)
gain over the route it took before?

Impulse noise (random values, salt and pepper) is white, but the no-option reading took it for strongly correlated
noise of a small sigma (a noise QA pass: beta 0.37-1 on Set12) and sent it to a white-noise model or to BM3D given
that spectrum, which leave the impulses. ``--part share`` reads, for each image and noise, the share of isolated
outliers and whether the reading is signal-dependent (Poisson: such noise of a few photons makes outliers too, and
is read first), and prints per noise the share's range and, per threshold, how many images of each noise the
impulse route would take. ``--part psnr`` denoises impulse noises both ways (the route as chosen with the impulse
route off, and ZS-N2N) and gives the PSNR. Noise per PROTOCOL.md (image ``i`` of the sorted folder, ``rng = i``),
rounded and clipped to 8 bits as a file holds it. Usage (the runs behind BENCHMARKS.md, "Impulse noise with no
options")::

    python scripts/impulse_calibration.py --part share --out benchmarks/impulse_share_calibration.json
    python scripts/impulse_calibration.py --part share --gray ../shared/data/bsd68 --gray-images 0-67 \\
        --rgb ../shared/data/set12 --rgb-images 0-11 --out benchmarks/impulse_share_test.json
    python scripts/impulse_calibration.py --part psnr --gray-images 20-23 --rgb-images 60-61 \\
        --noises "impulse:p=0.01;impulse:p=0.05;salt_pepper:p=0.01;salt_pepper:p=0.05" --out benchmarks/impulse_psnr.json
    python scripts/impulse_calibration.py --show FILE
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import DATA, _indices, record

from noise2x.io import list_images, read_image

NOISES = ("none;gaussian:sigma=2;gaussian:sigma=5;gaussian:sigma=15;gaussian:sigma=25;gaussian:sigma=50;"
          "poisson:peak=1;poisson:peak=2;poisson:peak=5;poisson:peak=10;poisson:peak=30;"
          "correlated:sigma=10,beta=0.5;correlated:sigma=25,beta=0.5;correlated:sigma=10,beta=1;"
          "correlated:sigma=25,beta=1;speckle:looks=1;speckle:looks=4;"
          "impulse:p=0.005;impulse:p=0.01;impulse:p=0.02;impulse:p=0.05;impulse:p=0.1;impulse:p=0.2;"
          "salt_pepper:p=0.005;salt_pepper:p=0.01;salt_pepper:p=0.02;salt_pepper:p=0.05;salt_pepper:p=0.1")
THRESHOLDS = (0.002, 0.003, 0.004, 0.005, 0.006)


def _noisy(clean: np.ndarray, spec: str, index: int) -> np.ndarray:
    from noise2x.noise import protocol_noisy

    noisy = clean if spec == "none" else protocol_noisy(clean, spec, index=index)
    return np.clip(np.round(noisy), 0, 255)


def measure(sets: list[tuple[str, Path, list[int]]], specs: list[str], part: str) -> list[dict[str, Any]]:
    import noise2x
    from noise2x import estimate, pretrained

    rows = []
    for name, folder, indices in sets:
        if not indices:
            continue
        files = sorted(list_images(folder))
        for spec in specs:
            for i in indices:
                clean = read_image(files[i])
                noisy = _noisy(clean, spec, i)
                t0 = time.perf_counter()
                row: dict[str, Any] = {"set": name, "image": files[i].name, "noise": spec,
                                       "impulse_share": estimate.impulse_share(noisy)}
                off = pretrained.IMPULSE_SHARE
                try:
                    pretrained.IMPULSE_SHARE = float("inf")  # (the reading and route without the impulse route)
                    before = pretrained.choose(noisy)
                finally:
                    pretrained.IMPULSE_SHARE = off
                after = pretrained.choose(noisy)
                row.update(read_poisson="peak" in before.facts, read_peak=before.facts.get("peak"),
                           before=_route(before), after=_route(after))
                if part == "psnr":
                    try:
                        pretrained.IMPULSE_SHARE = float("inf")
                        row["psnr_before"] = noise2x.psnr(clean, noise2x.denoise(noisy))
                    finally:
                        pretrained.IMPULSE_SHARE = off
                    row["psnr_zs_n2n"] = noise2x.psnr(clean, noise2x.denoise(noisy, method="zs_n2n", rng=i))
                    row["psnr_noisy"] = noise2x.psnr(clean, noisy)
                row["seconds"] = round(time.perf_counter() - t0, 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def _route(choice: Any) -> str:
    return choice.method if choice.method else f"model {Path(choice.model).stem}"


def _read(row: dict[str, Any], result: dict[str, Any]) -> bool:
    """Whether the impulse share is read for ``row``: its noise not read as signal-dependent, or read so at a peak of
    at least ``IMPULSE_PEAK`` (the run's)."""
    return not row["read_poisson"] or row["read_peak"] >= result["meta"]["impulse_peak"]


def show(result: dict[str, Any]) -> None:
    rows = result["rows"]
    noises = list(dict.fromkeys(r["noise"] for r in rows))
    print(f"Impulse route: share over {result['meta']['impulse_share']:g}, where the noise is not read as "
          f"signal-dependent, or is read so at a peak of {result['meta']['impulse_peak']:g} or more.")
    print()
    print("| noise | images | read as Poisson | impulse share: min / median / max | "
          + " | ".join(f"taken at {t:g}" for t in THRESHOLDS) + " |")
    print("|---|---|---|---|" + "---|" * len(THRESHOLDS))
    for noise in noises:
        some = [r for r in rows if r["noise"] == noise]
        shares = np.array([r["impulse_share"] for r in some])
        taken = [sum(1 for r in some if _read(r, result) and r["impulse_share"] > t) for t in THRESHOLDS]
        print(f"| {noise} | {len(some)} | {sum(r['read_poisson'] for r in some)} | {shares.min():.5f} / "
              f"{np.median(shares):.5f} / {shares.max():.5f} | " + " | ".join(str(k) for k in taken) + " |")
    if any("psnr_zs_n2n" in r for r in rows):
        print()
        print("| noise | image | route before | noisy (dB) | route before (dB) | ZS-N2N (dB) | route now |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['noise']} | {r['set']}/{r['image']} | {r['before']} | {r['psnr_noisy']:.2f} | "
                  f"{r['psnr_before']:.2f} | {r['psnr_zs_n2n']:.2f} | {r['after']} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("share", "psnr"), default="share")
    p.add_argument("--gray", type=Path, default=DATA / "train400")
    p.add_argument("--gray-images", default="20-27,40-47", help="indices in the sorted folder (a-b ranges)")
    p.add_argument("--rgb", type=Path, default=DATA / "cbsd68")
    p.add_argument("--rgb-images", default="60-67", help='"" leaves the second set out')
    p.add_argument("--noises", default=NOISES, help="noise specs separated by ';' (none: the image as it is)")
    p.add_argument("--out", type=Path)
    p.add_argument("--show", type=Path, nargs="+")
    args = p.parse_args(argv)
    if args.show:
        for path in args.show:
            show(json.loads(path.read_text()))
        return 0
    for folder in (args.gray, args.rgb):
        if not folder.is_dir():
            print(f"impulse_calibration.py: data folder missing: {folder}", file=sys.stderr)
            return 1
    sets = [(args.gray.name, args.gray, _indices(args.gray_images)), (args.rgb.name, args.rgb, _indices(args.rgb_images))]
    t0 = time.time()
    rows = measure(sets, [s.strip() for s in args.noises.split(";") if s.strip()], args.part)
    from noise2x import pretrained

    result = record(rows, t0, "impulse_calibration", argv, args.out,
                    {"impulse_share": pretrained.IMPULSE_SHARE, "impulse_peak": pretrained.IMPULSE_PEAK})
    show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
