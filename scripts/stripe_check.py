"""Offsets shared by whole columns or rows (stripes: a sensor's fixed-pattern noise) as ``noise2x.estimate.stripes``
reads them, and where the no-option route's note (``noise2x.api.stripes_note``) comes. The check behind
``noise2x.pretrained.STRIPE_LEAST``.

    python scripts/stripe_check.py [--out benchmarks/stripe_check.json]

Natural images (BSD68 and Set12, gray; CBSD68 in colour; RNI15's real noise as it is) with white Gaussian noise of
sigma 0.5 to 25 (seeded): the largest reading, in 8-bit units, and how many images the note names. Stripes: the
first 10 BSD68 images, and a smooth thermal-like scene in 14-bit counts (7600 to 8800), with white noise of sigma 5
(8-bit units; 5 counts for the scene) and column offsets of std 1 to 12 (seeded): the reading against the offsets'
own std, and how many are noted.
"""
import argparse
import time

import numpy as np

from noise2x import api, estimate, pretrained
from noise2x.io import list_images, read_image

from _record import write_record


def thermal(seed: int) -> np.ndarray:
    """A smooth scene in a thermal camera's 14-bit counts: a sky gradient, a warm block and a disc, 256x320."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:320]
    scene = 7600 + 400 * yy / 256 + 300 * ((abs(xx - 100 - 20 * rng.random()) < 40) & (yy > 120))
    return scene + 500 * np.exp(-((xx - 230) ** 2 + (yy - 90) ** 2) / (2 * 30.0 ** 2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="benchmarks/stripe_check.json")
    args = p.parse_args()
    start = time.time()
    rng = np.random.default_rng(0)
    natural = []
    sets = [("bsd68", True, (0.5, 2, 5, 15, 25)), ("set12", True, (0.5, 2, 5, 15, 25)),
            ("cbsd68", False, (2, 15)), ("rni15", False, (0,))]
    for name, gray, sigmas in sets:
        files = list_images(f"{args.data}/{name}")
        for sigma in sigmas:
            top, noted = 0.0, 0
            for f in files:
                image = read_image(f)
                if gray and image.ndim == 3:
                    image = image.mean(axis=2)
                noisy = image + rng.normal(0, sigma, image.shape) if sigma else image
                top = max(top, max(estimate.stripes(noisy)))
                noted += api.stripes_note(pretrained.choose(noisy)) is not None
            row = {"dataset": name, "white_sigma": sigma, "images": len(files), "largest_reading": round(top, 3),
                   "noted": noted}
            natural.append(row)
            print(row, flush=True)
    bsd = [read_image(f) for f in list_images(f"{args.data}/bsd68")[:10]]
    bsd = [b.mean(axis=2) if b.ndim == 3 else b for b in bsd]
    striped = []
    for scene_name, scenes, white in (("bsd68 (first 10)", bsd, 5.0), ("thermal 14-bit counts", [thermal(k) for k in
                                                                                                   range(10)], 5.0)):
        for std in (1.0, 2.0, 5.0, 12.0):
            errors, noted = [], 0
            for scene in scenes:
                offsets = rng.normal(0, std, scene.shape[1])
                noisy = scene + rng.normal(0, white, scene.shape) + offsets[None, :]
                errors.append(estimate.stripes(noisy)[0] / offsets.std() - 1)
                noted += api.stripes_note(pretrained.choose(noisy)) is not None
            row = {"scene": scene_name, "white_sigma": white, "column_offsets_std": std, "images": len(scenes),
                   "reading_error_median": round(float(np.median(errors)), 3),
                   "reading_error_largest": round(float(max(errors, key=abs)), 3), "noted": noted}
            striped.append(row)
            print(row, flush=True)
    write_record(args.out, "stripe_check.py", args, start, natural=natural, striped=striped,
                 stripe_least=pretrained.STRIPE_LEAST, stripe_share=pretrained.STRIPE_SHARE)


if __name__ == "__main__":
    main()
