"""A regular pattern of fine period (an atomic lattice, a halftone's screen) under white noise: the no-option route
before (a shipped model, or BM3D given the pattern's own spectrum read as correlated noise) and since
``noise2x.pretrained.PATTERN_BM3D`` (BM3D at the white sigma read), and the natural images it reaches.

    python scripts/pattern_route_check.py [--out benchmarks/pattern_route_check.json]

Lattices: hexagonal (three cosines 60 degrees apart) and square (two), amplitude 40 about 100 (8-bit units), periods
4, 6, 8 and 12 px, 256x256, white noise of sigma 5, 10, 15 and 25; the hexagonal ones also as an AFM height map in
metres (amplitude 0.05 nm, noise 0.005 to 0.05 nm: the QA pass's), scored by RMSE in nm. Halftones: BSD68 test003,
test010 and test020 thresholded against scripts/periodic_check.py's dot screen of period 6, 8 and 12 px, blurred
by 1 and 1.5 px (a scan), white noise of sigma 3 and 10; scored against the blurred screen (sharper screens, and
screens of 4 px, read as impulse noise or as a colour-filter mosaic: routes this one leaves alone). Noise seeded per
case. Each denoised as one image (``cfa="none"``); whether the no-option call would read it as a colour-filter mosaic
instead is recorded apart (``read_as_mosaic``). Scope: BSD68 and Set12 with white noise of sigma 5, 15, 25 and 50
(PROTOCOL.md's seeds), the no-option choice read (no denoising): how many take the pattern route.
"""
import argparse
import time

import numpy as np
from scipy import ndimage

from noise2x import api, pretrained
from noise2x.estimate import MOSAIC_SCORE
from noise2x.io import list_images, read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy

from _record import write_record
from periodic_check import gray, halftone


def lattice(side: int, period: float, kind: str) -> np.ndarray:
    y, x = np.mgrid[:side, :side].astype(np.float64)
    angles = (0.0, np.pi / 3, 2 * np.pi / 3) if kind == "hexagonal" else (0.0, np.pi / 2)
    k = 2 * np.pi / period
    return 100.0 + 40.0 * sum(np.cos(k * (x * np.cos(a) + y * np.sin(a))) for a in angles) / len(angles)


def _quiet(line: str) -> None:
    """The notes of each call (the pattern's, every time) left unsaid."""


def routes(noisy: np.ndarray) -> dict:
    """The no-option result before (PATTERN_BM3D off) and since, with each route's name, the image taken as one
    (``cfa="none"``: a halftone's screen of period 4 can read as a colour-filter mosaic, whose planes the no-option
    call then denoises each alone; recorded apart)."""
    out, done = {}, {}
    for on in (False, True):
        kept = pretrained.PATTERN_BM3D
        pretrained.PATTERN_BM3D = on
        try:
            c = pretrained.choose(noisy)
            key = (c.method, str(c.model), repr(sorted(c.options.items())))  # (the same choice: denoised once)
            if key not in done:
                done[key] = api.denoise(noisy, progress=_quiet, cfa="none")
            out["since" if on else "before"] = (c.method or c.model.stem, done[key])
        finally:
            pretrained.PATTERN_BM3D = kept
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="benchmarks/pattern_route_check.json")
    args = p.parse_args()
    start = time.time()
    rng = np.random.default_rng(0)
    cases = []  # (group, name, clean, noisy, score)
    for kind in ("hexagonal", "square"):
        for period in (4, 6, 8, 12):
            clean = lattice(256, period, kind)
            for sigma in (5, 10, 15, 25):
                cases.append((f"{kind} lattice", f"period {period}, sigma {sigma}", clean,
                              clean + rng.normal(0, sigma, clean.shape), "psnr"))
    for period in (4, 6, 8, 12):  # (heights in metres: 0.05 nm about 0)
        clean = (lattice(256, period, "hexagonal") - 100.0) / 40.0 * 5e-11
        for sigma in (5e-12, 2e-11, 5e-11):
            cases.append(("AFM lattice, metres", f"period {period}, sigma {sigma * 1e9:g} nm", clean,
                          clean + rng.normal(0, sigma, clean.shape), "rmse_nm"))
    files = sorted(list_images(f"{args.data}/bsd68"))
    for name in ("test003", "test010", "test020"):
        img = gray(next(f for f in files if f.stem == name))
        for period in (6, 8, 12):  # (a sharp screen, or one of 4 px, reads as impulse noise or a colour-filter
            # mosaic, routes the pattern's does not touch: left out)
            for blur in (1.0, 1.5):
                clean = ndimage.gaussian_filter(halftone(img, period), blur)
                for sigma in (3, 10):
                    cases.append(("halftone", f"{name}, period {period}, blur {blur}, sigma {sigma}", clean,
                                  clean + rng.normal(0, sigma, clean.shape), "psnr"))
    rows = []
    for group, name, clean, noisy, score in cases:
        done = routes(noisy)

        def measure(out):
            if score == "psnr":
                return round(psnr(clean, out, data_range=255.0), 3)
            return round(float(np.sqrt(np.mean((out - clean) ** 2))) * 1e9, 5)

        row = {"group": group, "case": name, "score": score, "noisy": measure(noisy),
               "read_as_mosaic": bool(api.mosaic_read(noisy) > MOSAIC_SCORE),
               "route_before": done["before"][0], "before": measure(done["before"][1]),
               "route_since": done["since"][0], "since": measure(done["since"][1])}
        rows.append(row)
        print(row, flush=True)
    summary = {}
    for group in dict.fromkeys(r["group"] for r in rows):
        rs = [r for r in rows if r["group"] == group]
        sign = 1 if rs[0]["score"] == "psnr" else -1  # (an RMSE: lower is better)
        gain = [sign * (r["since"] - r["before"]) for r in rs]
        summary[group] = {"cases": len(rs), "score": rs[0]["score"],
                          "mean_noisy": round(float(np.mean([r["noisy"] for r in rs])), 4),
                          "mean_before": round(float(np.mean([r["before"] for r in rs])), 4),
                          "mean_since": round(float(np.mean([r["since"] for r in rs])), 4),
                          "gained": sum(g > 0 for g in gain), "lost": sum(g < 0 for g in gain),
                          "worst": round(float(min(gain)), 4), "best": round(float(max(gain)), 4),
                          "below_noisy_since": sum(sign * (r["since"] - r["noisy"]) < 0 for r in rs),
                          "read_as_mosaic": sum(r["read_as_mosaic"] for r in rs)}
        print(group, summary[group], flush=True)
    scope = {}
    for dataset in ("bsd68", "set12"):
        names = sorted(list_images(f"{args.data}/{dataset}"))
        for sigma in (5, 15, 25, 50):
            taken = []
            for i, f in enumerate(names):
                img = read_image(f)
                if img.ndim == 3:
                    img = img.mean(axis=2)
                c = pretrained.choose(protocol_noisy(img, f"gaussian:sigma={sigma}", index=i))
                if c.facts.get("pattern_route"):
                    taken.append(f.name)
            scope[f"{dataset}, sigma {sigma}"] = {"images": len(names), "pattern_route": taken}
            print(dataset, sigma, len(names), taken, flush=True)
    write_record(args.out, "pattern_route_check.py", args, start, rows=rows, summary=summary, scope=scope,
                 pattern_bm3d=pretrained.PATTERN_BM3D)


if __name__ == "__main__":
    main()
