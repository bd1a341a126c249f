"""Photometry after denoising: the counts of faint spots, measured in apertures, against their counts in the clean
image, for each route a fluorescence or astronomy user may take.

    python scripts/flux_check.py [--realisations 3] [--size 192] [--out benchmarks/flux_check.json]

Each realisation (seed 100 + r): a background of 10 photons, 6 x 6 Gaussian spots (sigma 1.5 px) on a grid 32 px
apart, rows of 100, 300, 1000 and 3000 photons (then again), Poisson noise (gain 1). Each spot's counts: the sum in
a disc of radius 5 px less the disc's area times the median of an annulus of 8 to 13 px, as a ratio of the same
measurement on the clean image; per flux, the mean ratio over the spots and realisations and its standard error.
Routes (``--routes``): ``noisy``, the input; ``no_options``, `noise2x.denoise(image)`; ``bm3d_gain1``, BM3D told
the gain (`--set gain=1`: the variance made even by the generalised Anscombe transform); ``bm3d`` and ``nlm`` with
no noise given; ``gray-gaussian``, the shipped model.
"""
import argparse
import os
import time
import warnings

import numpy as np

from noise2x import api
from noise2x.errors import UnitsWarning

from _record import write_record

FLUXES = (100, 300, 1000, 3000)
BACKGROUND = 10.0
ROUTES = {
    "noisy": None,
    "no_options": {},
    "bm3d_gain1": {"method": "bm3d", "options": {"gain": 1}},
    "bm3d": {"method": "bm3d"},
    "nlm": {"method": "nlm"},
    "gray-gaussian": {"model": "gray-gaussian"},
}


def scene(size: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float, int]]]:
    """The clean image (photons) and its spots (x, y, flux): a grid 32 px apart, 16 px from the border, each spot's
    centre moved by up to half a pixel."""
    clean = np.full((size, size), BACKGROUND)
    yy, xx = np.mgrid[0:size, 0:size]
    spots = []
    for row, y in enumerate(range(16, size - 15, 32)):
        for x in range(16, size - 15, 32):
            cx, cy = x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5)
            flux = FLUXES[row % len(FLUXES)]
            clean += flux / (2 * np.pi * 1.5 ** 2) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 1.5 ** 2))
            spots.append((cx, cy, flux))
    return clean, spots


def counts(image: np.ndarray, spots: list[tuple[float, float, int]]) -> np.ndarray:
    """Each spot's counts in a disc of 5 px, less the disc's area times its annulus' (8 to 13 px) median."""
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    out = []
    for cx, cy, _ in spots:
        r2 = (xx - cx) ** 2 + (yy - cy) ** 2
        disc, ring = r2 <= 25, (r2 >= 64) & (r2 <= 169)
        out.append(image[disc].sum() - disc.sum() * np.median(image[ring]))
    return np.array(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realisations", type=int, default=3)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--routes", default=",".join(ROUTES), help="comma-separated, of: " + ", ".join(ROUTES))
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    start = time.time()
    ratios: dict[str, list[np.ndarray]] = {r: [] for r in routes}
    fluxes = []
    chosen = set()
    for r in range(args.realisations):
        rng = np.random.default_rng(100 + r)
        clean, spots = scene(args.size, rng)
        noisy = rng.poisson(clean).astype(np.float64)
        truth = counts(clean, spots)
        fluxes.append([f for _, _, f in spots])
        for name in routes:
            if ROUTES[name] is None:
                out = noisy
            else:
                info = {}
                with warnings.catch_warnings():  # (BM3D and NLM given no noise say it reads as shot noise: measured)
                    warnings.simplefilter("ignore", UnitsWarning)
                    out = api.denoise(noisy, info=info, **ROUTES[name])
                if name == "no_options":
                    chosen.add(str(info.get("method")))
            ratios[name].append(counts(out, spots) / truth)
    flux = np.concatenate(fluxes)
    table = {}
    for name in routes:
        ratio = np.concatenate(ratios[name])
        table[name] = {str(f): {"ratio": round(float(ratio[flux == f].mean()), 4),
                                "stderr": round(float(ratio[flux == f].std(ddof=1) / np.sqrt((flux == f).sum())), 4),
                                "spots": int((flux == f).sum())} for f in FLUXES if (flux == f).sum() > 1}
        print(name, {f: v["ratio"] for f, v in table[name].items()}, flush=True)
    print("no options took:", ", ".join(sorted(chosen)), flush=True)
    if args.out:
        write_record(args.out, os.path.basename(__file__), args, start, background=BACKGROUND, routes=table,
                     no_options_took=sorted(chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
