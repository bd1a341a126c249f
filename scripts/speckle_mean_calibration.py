"""The window of the speckle log route's mean correction, on calibration images (train400, not test photos).

BM3D told a speckle denoises its logarithm; the result's local mean came out high (5-6 % on flat areas at one look,
a QA pass). The correction multiplies it by the ratio of the noisy image's local mean (unbiased: the speckle has mean
1) to its own, both Gaussian-smoothed with std S pixels. This prints the mean PSNR of BM3D's log route on the first
N train400 images (every 25th), with speckle of each number of looks (PROTOCOL seeds), uncorrected (S 0) and for each
S, and the mean of a flat image of 100 before and after.

Usage: python scripts/speckle_mean_calibration.py [--looks 1,4] [--windows 0,4,8,16] [--images 8]
"""

from __future__ import annotations

import argparse
import glob

import numpy as np

import noise2x
from noise2x.classical import _bm3d_core, inverse_speckle_log, keep_speckle_mean, speckle_of
from noise2x.metrics import psnr
from noise2x.noise import parse_noise


def _uncorrected(y: np.ndarray, spec) -> np.ndarray:
    """BM3D's log route without the mean correction."""
    log = speckle_of(y, spec)
    return inverse_speckle_log(_bm3d_core(log["mapped"], log["sigma"], profile="np"), looks=log["looks"], lo=log["lo"],
                               scale=log["scale"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--looks", default="1,4")
    ap.add_argument("--windows", default="0,4,8,16")
    ap.add_argument("--images", type=int, default=8)
    args = ap.parse_args()
    files = sorted(glob.glob("../shared/data/train400/*"))[::25][:args.images]
    windows = [float(w) for w in args.windows.split(",")]
    for looks in (float(v) for v in args.looks.split(",")):
        spec = parse_noise(f"speckle:looks={looks:g}")
        scores: dict[float, list[float]] = {w: [] for w in windows}
        for i, f in enumerate(files):
            x = noise2x.read_image(f)
            y = spec.apply(x, rng=i)
            o = _uncorrected(y, spec)
            for w in windows:
                scores[w].append(psnr(x, np.clip(keep_speckle_mean(y, o.copy(), w), 0, 255)))
        flat = np.full((96, 96), 100.0)
        yf = spec.apply(flat, rng=0)
        of = _uncorrected(yf, spec)
        print(f"looks {looks:g}: " + ", ".join(f"S {w:g}: {np.mean(v):.3f} dB" for w, v in scores.items())
              + f"; flat 100 (noisy mean {yf.mean():.2f}): " + ", ".join(
                  f"S {w:g}: {keep_speckle_mean(yf, of.copy(), w).mean():.2f}" for w in windows), flush=True)


if __name__ == "__main__":
    main()
