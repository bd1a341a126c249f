"""Sparse images (bright objects on a dark background, as fluorescence): the no-option result with the sparse rule
(noise2x.pretrained.SPARSE_SHARE) and without, against BM3D told the camera's noise.

    python scripts/sparse_check.py [--out benchmarks/sparse_check.json]

Each image: 256 x 256, 60 Gaussian spots (sigma 2-10 px, heights 0.2-1), scaled so the brightest pixel holds PEAK
photons, on an offset of 100 counts; Poisson noise (gain 1) and read noise of 2 counts, rounded to 16-bit counts
(seed 3). RMSE against the clean image, over all pixels and over the spots (clean above 100 + 0.23 * PEAK).
And a sky frame, which the rule must leave as it was: 256 x 256, sky 200 counts, 25 Gaussian stars (sigma 2 px,
2e3 to 1.2e6 counts), Poisson noise (gain 1) and read noise of 5 counts (seed 11); RMSE over the sky (clean under
200.5) and over all pixels.
"""
import argparse
import json

import numpy as np

from noise2x import api, pretrained
from noise2x.classical import bm3d

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=None)
ap.add_argument("--peaks", default="300,1000,3000,10000")
args = ap.parse_args()
result = {}
share = pretrained.SPARSE_SHARE
for peak in (float(p) for p in args.peaks.split(",")):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:256, 0:256]
    img = np.zeros((256, 256))
    for _ in range(60):
        y, x = rng.uniform(0, 256, 2)
        s, a = rng.uniform(2, 10), rng.uniform(0.2, 1)
        img += a * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * s * s))
    clean = img / img.max() * peak + 100
    noisy = np.clip(np.round(rng.poisson(clean - 100) + 100 + rng.normal(0, 2, clean.shape)), 0, 65535)
    spots = clean > 100 + 0.23 * peak
    outs = {"noisy": noisy}
    for name, value in (("rule_on", share), ("rule_off", 0.0)):
        pretrained.SPARSE_SHARE = value
        info = {}
        outs[name] = api.denoise(noisy, info=info)
        result.setdefault(str(int(peak)), {})[name + "_route"] = info.get("auto", "")
    pretrained.SPARSE_SHARE = share
    outs["bm3d_told"] = bm3d(noisy - 100, gain=1.0, sigma=2.0) + 100  # the camera's noise, its offset taken off
    for name, out in outs.items():
        err = out - clean
        result[str(int(peak))][name] = {"rmse": float(np.sqrt(np.mean(err ** 2))),
                                        "rmse_spots": float(np.sqrt(np.mean(err[spots] ** 2)))}
    print(int(peak), {k: {m: round(v, 2) for m, v in r.items()} if isinstance(r, dict) else r[:90]
                      for k, r in result[str(int(peak))].items()}, flush=True)
rng = np.random.default_rng(11)
yy, xx = np.mgrid[0:256, 0:256]
clean = np.full((256, 256), 200.0)
for cx, cy, flux in rng.uniform((10, 10, 2e3), (246, 246, 1.2e6), (25, 3)):
    clean += flux / (8 * np.pi) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8)
noisy = rng.poisson(clean) + rng.normal(0, 5, clean.shape)
sky, result["sky"] = clean < 200.5, {}
for name, value in (("noisy", None), ("rule_on", share), ("rule_off", 0.0)):
    out = noisy
    if value is not None:
        pretrained.SPARSE_SHARE, info = value, {}
        out = api.denoise(noisy, info=info)
        result["sky"][name + "_route"] = info.get("auto", "")
    err = out - clean
    result["sky"][name] = {"rmse": float(np.sqrt(np.mean(err ** 2))),
                           "rmse_sky": float(np.sqrt(np.mean(err[sky] ** 2)))}
pretrained.SPARSE_SHARE = share
print("sky", result["sky"], flush=True)
if args.out:
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
