"""Offsets shared by whole columns or rows (stripes: a sensor's fixed-pattern noise) as ``noise2x.estimate.stripes``
reads them, and where the no-option route's note (``noise2x.api.stripes_note``) comes. The check behind
``noise2x.pretrained.STRIPE_LEAST``.

    python scripts/stripe_check.py [--out benchmarks/stripe_check.json]

Natural images (BSD68 and Set12, gray; CBSD68 in colour; RNI15's real noise as it is) with white Gaussian noise of
sigma 0.5 to 25 (seeded): the largest reading, in 8-bit units, and how many images the note names. Stripes: the
first 10 BSD68 images, and a smooth thermal-like scene in 14-bit counts (7600 to 8800), with white noise of sigma 5
(8-bit units; 5 counts for the scene) and column offsets of std 1 to 12 (seeded): the reading against the offsets'
own std, and how many are noted. Sinograms (parallel-beam, of three discs, 180 angles by 128 or 256 bins, seeded)
with white noise and bin offsets (a CT detector's: rings once reconstructed): the same. Crops of 128 and 192 pixels
(every 48 pixels) of every BSD68 and Set12 image, clean and with white noise of sigma 1: how many are noted, of which
images (the scene's edges and fine cloth read as stripes where there is next to no noise).
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


def sinogram(bins: int, seed: int) -> np.ndarray:
    """A parallel-beam sinogram of three discs (180 angles, ``bins`` detector bins), values up to about 1.7."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(0, np.pi, 180, endpoint=False)[:, None]
    s = np.arange(float(bins))[None, :] - bins / 2
    out = np.zeros((180, bins))
    for (cx, cy), r, mu in (((15, 10), 25, 0.02), ((-20, -15), 15, 0.03), ((0, 0), 55, 0.01)):
        cx, cy = cx + rng.uniform(-5, 5), cy + rng.uniform(-5, 5)
        along = s - (cx * np.cos(theta) + cy * np.sin(theta))
        out += 2 * mu * np.sqrt(np.clip(r * r - along ** 2, 0, None))
    return out


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
    sinograms = [sinogram(128 if k < 5 else 256, k) for k in range(10)]
    for scene_name, scenes, white, stds in (("bsd68 (first 10)", bsd, 5.0, (1.0, 2.0, 5.0, 12.0)),
                                            ("thermal 14-bit counts", [thermal(k) for k in range(10)], 5.0,
                                             (1.0, 2.0, 5.0, 12.0)),
                                            ("sinograms (128 or 256 bins)", sinograms, 0.01, (0.01, 0.05))):
        for std in stds:
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
    crops = []
    for sigma in (0, 1):
        noted, names, count = 0, set(), 0
        for name in ("bsd68", "set12"):
            for f in list_images(f"{args.data}/{name}"):
                image = read_image(f)
                image = image.mean(axis=2) if image.ndim == 3 else image
                for side in (128, 192):
                    for top in range(0, image.shape[0] - side + 1, 48):
                        for left in range(0, image.shape[1] - side + 1, 48):
                            crop = image[top:top + side, left:left + side]
                            crop = crop + rng.normal(0, sigma, crop.shape) if sigma else crop
                            count += 1
                            if (max(estimate.stripes(crop)) >= pretrained.STRIPE_LEAST
                                    and api.stripes_note(pretrained.choose(crop)) is not None):
                                noted += 1
                                names.add(f"{name}/{f.name}")
        row = {"crops": "bsd68 and set12, 128 and 192 px every 48", "white_sigma": sigma, "crops_read": count,
               "noted": noted, "noted_of": sorted(names)}
        crops.append(row)
        print(row, flush=True)
    write_record(args.out, "stripe_check.py", args, start, natural=natural, striped=striped, crops=crops,
                 stripe_least=pretrained.STRIPE_LEAST, stripe_share=pretrained.STRIPE_SHARE)


if __name__ == "__main__":
    main()
