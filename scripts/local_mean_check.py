"""Weak noise on an image too large for BM3D: the shipped model's result with and without the local mean of what it
removed given back (noise2x.pretrained.LOCAL_MEAN_SIGMA).

    python scripts/local_mean_check.py [--shared ../shared] [--out benchmarks/local_mean_check.json]

1. Photos forced onto that route (WEAK_MAX_PIXELS set below their size): the first 12 BSD68 and 6 CBSD68 photos,
   PROTOCOL.md noise (index = i), white sigma 1 and 3 and Poisson peak 3000; mean PSNR (8-bit, clipped) per noise,
   and the least and largest gain per photo.
2. A synthetic sky frame of 1600 x 1600 (2.56 MP, above WEAK_MAX_PIXELS: the route as it is): sky 200 counts, 300
   Gaussian stars (sigma 2 px, 2e3 to 1.2e6 counts), Poisson noise (gain 1) and read noise of 5 counts, seed 11;
   the mean and the standard deviation of the error on the sky (pixels whose clean value is under 200.5), and the
   mean relative error of the stars' counts in apertures of 6 px (no sky subtracted).
"""
import argparse
import json
import os
import time

import numpy as np

from noise2x import api, io, pretrained
from noise2x.metrics import psnr
from noise2x.noise import parse_noise, protocol_noisy

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--out", default=None)
args = ap.parse_args()
keep = pretrained.LOCAL_MEAN_SIGMA


def both(image):
    """The no-option result with the local mean kept and without."""
    outs = []
    for share in (keep, 0.0):
        pretrained.LOCAL_MEAN_SIGMA = share
        outs.append(api.denoise(image))
    pretrained.LOCAL_MEAN_SIGMA = keep
    return outs


result = {"photos": {}, "sky": {}}
files = (io.list_images(os.path.join(args.shared, "data", "bsd68"))[:12]
         + io.list_images(os.path.join(args.shared, "data", "cbsd68"))[:6])
limit = pretrained.WEAK_MAX_PIXELS
pretrained.WEAK_MAX_PIXELS = 1000  # (every photo above it: the large-image route)
for spec in ("gaussian:sigma=1", "gaussian:sigma=3", "poisson:peak=3000"):
    noise, rows = parse_noise(spec), []
    for i, f in enumerate(files):
        clean = io.read_image(f)
        noisy = protocol_noisy(clean, noise, index=i)
        kept, plain = both(noisy)
        rows.append([psnr(clean, noisy), psnr(clean, plain), psnr(clean, kept)])
    r = np.array(rows)
    gain = r[:, 2] - r[:, 1]
    result["photos"][spec] = {"noisy": r[:, 0].mean(), "model": r[:, 1].mean(), "local_mean_kept": r[:, 2].mean(),
                              "gain_min": gain.min(), "gain_max": gain.max()}
    print(spec, {k: round(float(v), 3) for k, v in result["photos"][spec].items()}, flush=True)
pretrained.WEAK_MAX_PIXELS = limit
rng = np.random.default_rng(11)
n = 1600
clean = np.full((n, n), 200.0)
stars = []
for _ in range(300):
    cx, cy = rng.uniform(20, n - 20, 2)
    flux = rng.uniform(2e3, 50000 * 2 * np.pi * 4)
    y0, x0 = int(cy) - 12, int(cx) - 12
    yy, xx = np.mgrid[y0:y0 + 25, x0:x0 + 25]
    clean[y0:y0 + 25, x0:x0 + 25] += flux / (8 * np.pi) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8)
    stars.append((cx, cy, flux))
noisy = rng.poisson(clean) + rng.normal(0, 5, clean.shape)
t0 = time.perf_counter()
kept, plain = both(noisy)
sky = clean < 200.5
yy, xx = np.mgrid[0:n, 0:n]
for name, out in (("noisy", noisy), ("model", plain), ("local_mean_kept", kept)):
    err = out - clean
    flux = [float(err[(yy - cy) ** 2 + (xx - cx) ** 2 <= 36].sum() / f) for cx, cy, f in stars]
    result["sky"][name] = {"sky_bias": float(err[sky].mean()), "sky_std": float(err[sky].std()),
                           "star_flux_error_mean": float(np.mean(flux))}
    print("sky frame", name, {k: round(v, 4) for k, v in result["sky"][name].items()}, flush=True)
result["seconds"] = round(time.perf_counter() - t0, 1)
if args.out:
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1, default=float)
