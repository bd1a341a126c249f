"""Colour-filter (Bayer) mosaics, a camera's raw data, as ``noise2x.estimate.mosaic_score`` reads them, and what
denoising them plane by plane (``noise2x.denoise(..., cfa=...)``) gives. The check behind
``noise2x.estimate.MOSAIC_SCORE``.

    python scripts/mosaic_check.py [--out benchmarks/mosaic_check.json]

Scores: gray photos (BSD68 and Set12, every one; Train400, every fourth), whole and their top-left 64-pixel crops,
with white Gaussian noise of sigma 0 to 50 (seeded): the largest score, and how many pass MOSAIC_SCORE. RGGB mosaics
of CBSD68 (whole, and top-left 128-pixel crops): the photo linearised (sRGB), its channels weighed by a camera's
responses (0.5, 1, 0.7: green the most sensitive; and 1, 1, 1: white-balanced), scaled to a peak of 10 to 4000
electrons, shot noise and read noise of 2 electrons (seeded): the smallest and median score, and how many pass.

Denoising: the first 6 CBSD68 photos as 12-bit raw mosaics (black level 256, 2 DN per electron, read noise 3 DN,
the channels' responses 0.5, 1, 0.7) at two exposures (80% and 5% of the full well at the brightest): PSNR (peak:
the clean mosaic's largest value less the black level) of the noisy mosaic, of no options (its planes each alone,
read as a mosaic), of no options with cfa="none" (the image whole), and of BM3D given the camera's gain, read noise
and black level on each plane.
"""
import argparse
import time

import numpy as np

from noise2x import api, estimate
from noise2x.io import list_images, read_image

from _record import write_record

BLACK, WHITE, GAIN, READ = 256.0, 4095, 2.0, 3.0


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB: red at even rows and columns, blue at odd ones."""
    out = rgb[..., 1].copy()
    out[0::2, 0::2], out[1::2, 1::2] = rgb[0::2, 0::2, 0], rgb[1::2, 1::2, 2]
    return out


def linear(image: np.ndarray) -> np.ndarray:
    """An 8-bit sRGB photo as linear light in [0, 1]."""
    c = image / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="benchmarks/mosaic_check.json")
    args = p.parse_args()
    start = time.time()
    rng = np.random.default_rng(0)
    gray = [read_image(f) for name in ("bsd68", "set12") for f in list_images(f"{args.data}/{name}")]
    gray += [read_image(f) for f in list_images(f"{args.data}/train400")[::4]]
    gray = [g.mean(axis=2) if g.ndim == 3 else g for g in gray]
    photos = []
    for sigma in (0, 5, 25, 50):
        for crop in (None, 64):
            scores = []
            for g in gray:
                g = g if crop is None else g[:crop, :crop]
                scores.append(estimate.mosaic_score(g + rng.normal(0, sigma, g.shape) if sigma else g))
            row = {"images": "bsd68, set12, train400 (every 4th), gray", "crop": crop, "white_sigma": sigma,
                   "n": len(scores), "largest": round(float(max(scores)), 2),
                   "passing": int(sum(s > estimate.MOSAIC_SCORE for s in scores))}
            photos.append(row)
            print(row, flush=True)
    colour = [linear(read_image(f)) for f in list_images(f"{args.data}/cbsd68")]
    mosaics = []
    for response in ((0.5, 1.0, 0.7), (1.0, 1.0, 1.0)):
        for peak in (4000, 400, 40, 10):
            for crop in (None, 128):
                scores = []
                for c in colour:
                    c = c if crop is None else c[:crop, :crop]
                    e = mosaic(c * np.array(response)) * peak
                    scores.append(estimate.mosaic_score(rng.poisson(e) + rng.normal(0, 2, e.shape)))
                row = {"images": "cbsd68, RGGB", "crop": crop, "response": response, "peak_electrons": peak,
                       "n": len(scores), "smallest": round(float(min(scores)), 2),
                       "median": round(float(np.median(scores)), 2),
                       "passing": int(sum(s > estimate.MOSAIC_SCORE for s in scores))}
                mosaics.append(row)
                print(row, flush=True)
    denoised = []
    for exposure in (0.8, 0.05):
        for f, c in zip(list_images(f"{args.data}/cbsd68")[:6], colour[:6]):
            e = mosaic(c * np.array([0.5, 1.0, 0.7])) * (WHITE - BLACK) / GAIN * exposure
            clean = e * GAIN + BLACK
            noisy = np.clip(np.round(rng.poisson(e) * GAIN + rng.normal(0, READ, e.shape) + BLACK), 0, WHITE)
            peak = float(clean.max()) - BLACK

            def psnr(x: np.ndarray) -> float:
                return round(float(10 * np.log10(peak ** 2 / np.mean((x - clean) ** 2))), 2)

            info: dict = {}
            row = {"image": f.name, "exposure": exposure, "noisy": psnr(noisy)}
            row["planes"] = psnr(api.denoise(noisy, info=info, progress=lambda line: None))
            row["score"] = info.get("cfa")
            row["whole"] = psnr(api.denoise(noisy, cfa="none", progress=lambda line: None))
            row["bm3d_gain_planes"] = psnr(api.denoise(noisy, method="bm3d", progress=lambda line: None,
                                                       options={"gain": GAIN, "sigma": READ, "black": BLACK}))
            denoised.append(row)
            print(row, flush=True)
    write_record(args.out, "mosaic_check.py", args, start, photos=photos, mosaics=mosaics, denoised=denoised,
                 mosaic_score=estimate.MOSAIC_SCORE)


if __name__ == "__main__":
    main()
