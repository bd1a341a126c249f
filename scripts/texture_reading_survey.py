#!/usr/bin/env python
"""How often weak white noise on a photo reads as strongly correlated noise that the texture tests let through.

The no-option choice gives a correlated reading of beta >= 0.9 to BM3D given its spectrum only where the reading's
growth (``noise2x.estimate.correlation_growth``) is at most ``CORRELATED_PSD_GROWTH`` and its white share (the white
sigma read over the correlated reading's sigma) at least ``CORRELATED_PSD_WHITE_SHARE``. This script reads (no
denoiser run) train400 images with white noise drawn as PROTOCOL.md draws it (image ``i`` of the sorted folder,
``rng = i``), counts the readings of beta >= 0.9 and those that pass both tests, and lists the images that passed
(for ``scripts/correlated_psd_calibration.py --gray-images``). Beside them, per reading that passed and per
correlated noise (``--correlated``) on the same images: the second differences beyond the correlation model's reach,
lag 9 over lag 5 on the flattest 10% of the pixels (1 for noise of the model), a candidate third sign. It also
prints the white share of the model's noise itself (correlated noise of beta 1 on a smooth image). Usage (the run
behind BENCHMARKS.md, "Texture read as strongly correlated noise")::

    python scripts/texture_reading_survey.py --images 0-199 --skip 20-27,40-47
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from pg_route_calibration import DATA, _indices  # the same data folder and index ranges

from noise2x import estimate, pretrained
from noise2x.io import list_images, read_image
from noise2x.noise import correlated, parse_noise, protocol_noisy


def reach(y: np.ndarray) -> float:
    """The second differences' robust variance at lag 9 over lag 5, on the flattest 10% of the pixels."""
    keep = estimate._flat_centres(y, far=9, fraction=0.1, data_range=255.0)
    return estimate._second_difference_var(y, 9, keep) / estimate._second_difference_var(y, 5, keep)


def passes(y: np.ndarray) -> tuple[bool, bool, float, float]:
    """(beta >= CORRELATED_PSD_BETA, both texture tests passed, the correlated sigma, the white share)."""
    corr_sigma, beta = estimate.correlation_by_channel(y)
    if beta < pretrained.CORRELATED_PSD_BETA:
        return False, False, corr_sigma, float("nan")
    share = estimate.sigma(y) / corr_sigma if corr_sigma > 0 else float("inf")
    ok = share >= pretrained.CORRELATED_PSD_WHITE_SHARE and \
        estimate.correlation_growth(y) <= pretrained.CORRELATED_PSD_GROWTH
    return True, ok, corr_sigma, share


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gray", type=Path, default=DATA / "train400")
    p.add_argument("--images", default="0-199", help="indices in the sorted folder (a-b ranges)")
    p.add_argument("--skip", default="20-27,40-47", help="indices left out (the calibration images)")
    p.add_argument("--noises", default="gaussian:sigma=0.5;gaussian:sigma=1")
    p.add_argument("--correlated", default="correlated:sigma=3,beta=1;correlated:sigma=5,beta=1")
    args = p.parse_args(argv)
    if not args.gray.is_dir():
        print(f"texture_reading_survey: data folder missing: {args.gray}", file=sys.stderr)
        return 1
    files = sorted(list_images(args.gray))
    skip = set(_indices(args.skip))
    idx = [i for i in _indices(args.images) if i not in skip and i < len(files)]
    clean = {i: read_image(files[i]) for i in idx}
    passed: set[int] = set()
    reaches: list[float] = []
    print(f"{len(idx)} images of {args.gray.name}; rules: beta >= {pretrained.CORRELATED_PSD_BETA:g}, growth <= "
          f"{pretrained.CORRELATED_PSD_GROWTH:g}, white share >= {pretrained.CORRELATED_PSD_WHITE_SHARE:g}\n")
    print("| noise | read beta >= 0.9 | passed both tests | sigma read (passed) | lag 9 / lag 5 (passed) |")
    print("|---|---|---|---|---|")
    for spec in filter(None, args.noises.split(";")):
        strong, ok, sig, rch = 0, [], [], []
        for i in idx:
            y = protocol_noisy(clean[i], parse_noise(spec), index=i)
            s, good, corr_sigma, _ = passes(y)
            strong += s
            if good:
                ok.append(i)
                sig.append(corr_sigma)
                rch.append(reach(y))
        passed |= set(ok)
        reaches += rch
        span = lambda v: f"{min(v):.2f}-{max(v):.2f}" if v else "–"  # noqa: E731
        print(f"| `{spec}` | {strong} of {len(idx)} | {len(ok)} | {span(sig)} | {span(rch)} |")
    print(f"\nimages that passed (either noise): {','.join(map(str, sorted(passed)))}\n")
    print("| correlated noise, on all the images | read beta >= 0.9 | passed both tests | lag 9 / lag 5 (passed): "
          "lowest, median, highest |")
    print("|---|---|---|---|")
    for spec in filter(None, args.correlated.split(";")):
        strong, rch = 0, []
        for i in idx:
            y = protocol_noisy(clean[i], parse_noise(spec), index=i)
            s, good, _, _ = passes(y)
            strong += s
            if good:
                rch.append(reach(y))
        cells = f"{min(rch):.2f}, {np.median(rch):.2f}, {max(rch):.2f}" if rch else "–"
        print(f"| `{spec}` | {strong} of {len(idx)} | {len(rch)} | {cells} |")
    yy, xx = np.mgrid[0:200, 0:240]
    smooth = 10 + 200 * xx / 239.0
    shares = [estimate.sigma(y) / estimate.correlation_by_channel(y)[0]
              for y in (correlated(smooth, sigma=5, beta=1.0, rng=s) for s in range(3))]
    print(f"\nwhite share of the model's noise (correlated sigma 5, beta 1 on a smooth 200x240 ramp, 3 draws): "
          f"{min(shares):.3f}-{max(shares):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
