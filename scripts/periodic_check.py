"""How strongly a halftone's dot screen, and how weakly natural images, stand out of their spectra: the calibration
of ``noise2x.estimate.periodic_pattern`` and ``noise2x.pretrained.PERIODIC_PEAK``.

    python scripts/periodic_check.py [--out benchmarks/periodic_check.json]

Natural images: BSD68, Set12 and RNI15 (real noise) in gray, with white noise of sigma 0, 1, 5 and 25 added
(seeded); the first 30 BSD68 images with noise of sigma 10, saved as JPEG at quality 10 to 75 (an 8x8 block grid);
drawings of straight and round edges (a step, a disc and a ramp; a page of 300 random strokes) at sigma 0 to 5
(the lines and rings they make in a spectrum are not peaks); text pages in one type size (scripts/bilevel_check.py's,
10 to 30 pixels, lines 1.2 and 1.5 times that apart), in a monospaced font, and on ruled forms, bilevel and as a
grey scan (blurred by 0.8 px, sigma 3): a line pitch repeats along one direction, a typewriter's characters and a
form's ruling along two, but they cover too little of the page for a screen (``pretrained.PATTERN_INK_SHARE``).
Halftones:
BSD68 test003 thresholded against a 45-degree cosine dot screen of period 4 to 12 pixels, sharp, blurred by 0.5 to
1.5 px and with noise of sigma 0 to 10. For each group: the largest and smallest peak read, and the no-option
choice's share of images given the pattern note (``noise2x.pretrained.choose``'s ``pattern_period`` fact).
"""
import argparse
import io
import os
import time

import numpy as np
from PIL import Image
from scipy import ndimage

from noise2x import estimate, pretrained
from noise2x.io import list_images, read_image

from _record import write_record


def gray(path) -> np.ndarray:
    img = read_image(path).astype(np.float64)
    return img.mean(axis=2) if img.ndim == 3 else img


def halftone(img: np.ndarray, period: float) -> np.ndarray:
    y, x = np.mgrid[: img.shape[0], : img.shape[1]]
    u, v = ((x + y) / np.sqrt(2) * 2 * np.pi / period, (x - y) / np.sqrt(2) * 2 * np.pi / period)
    return np.where(img > (np.cos(u) * np.cos(v) + 1) / 2 * 255, 255.0, 0.0)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im, dtype=np.float64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="benchmarks/periodic_check.json")
    args = p.parse_args()
    start = time.time()
    rng = np.random.default_rng(0)
    groups: dict[str, list[np.ndarray]] = {}
    for name in ("bsd68", "set12", "rni15"):
        for f in sorted(list_images(f"{args.data}/{name}")):
            img = gray(f)
            for s in (0, 1, 5, 25):
                groups.setdefault(f"natural, sigma {s}", []).append(img + rng.normal(0, s, img.shape) if s else img)
    for f in sorted(list_images(f"{args.data}/bsd68"))[:30]:
        noisy = gray(f) + rng.normal(0, 10, gray(f).shape)
        for q in (10, 30, 50, 75):
            groups.setdefault("JPEG of natural + sigma 10", []).append(jpeg(noisy, q))
    yy, xx = np.mgrid[0:128, 0:128]
    drawing = 90 + 60 * (xx > 64) + 40 * ((yy - 40) ** 2 + (xx - 40) ** 2 < 400) + 0.2 * yy
    page = np.full((600, 800), 255.0)
    for _ in range(300):
        r, c = rng.integers(0, 580), rng.integers(0, 780)
        page[r:r + rng.integers(3, 20), c:c + rng.integers(3, 6)] = 0
    for s in (0, 1, 2, 5):
        groups.setdefault("drawings of edges", []).extend(img + rng.normal(0, s, img.shape) for img in (drawing, page))
    from bilevel_check import MONO
    from bilevel_check import page as text_page

    one = [(s, lead) for s in (10, 12, 14, 18, 24, 30) for lead in (1.2, 1.5)]
    pages = [("text pages in one type size", [text_page(k, s, lead) for k, (s, lead) in enumerate(one)])]
    if os.path.exists(MONO):  # (a typewriter's grid of characters repeats along both directions)
        pages.append(("text pages in a monospaced font", [text_page(k, s, lead, True) for k, (s, lead) in
                                                          enumerate(one)]))
    pages.append(("forms ruled every 12 to 32 px, with text", [text_page(k, 14, 1.5, False, r) for k, r in
                                                               enumerate((12, 16, 20, 24, 32))]))
    for name, texts in pages:
        for text in texts:  # (one type size: a regular line pitch, whose harmonics are peaks)
            groups.setdefault(f"{name}, bilevel", []).append(text * 255)
            grey = ndimage.gaussian_filter(text * 255 * 0.75 + 32, 0.8)  # (ink 32, paper 223: blurred, noisy)
            groups.setdefault(f"{name}, grey: blurred by 0.8 px, sigma 3", []).append(
                grey + rng.normal(0, 3, grey.shape))
    base = gray(f"{args.data}/bsd68/test003.png")
    for period in (4, 6, 8, 12):
        screen = halftone(base, period)
        for blur, s in ((0, 0), (0.5, 0), (0.8, 6), (1.2, 6), (1.5, 10)):
            img = ndimage.gaussian_filter(screen, blur) if blur else screen
            groups.setdefault(f"halftone, blur {blur} px, sigma {s}", []).append(img + rng.normal(0, s, img.shape))
    rows = []
    for group, images in groups.items():
        peaks = [estimate.periodic_pattern(img)[0] for img in images]
        shares = [pretrained.minority_share(estimate.periodic_window(img)) for img in images]
        noted = sum("pattern_period" in pretrained.choose(np.clip(img, 0, 255)).facts for img in images)
        rows.append({"group": group, "images": len(images), "peak_min": round(min(peaks), 1),
                     "peak_max": round(max(peaks), 1), "ink_share_min": round(min(shares), 3),
                     "ink_share_max": round(max(shares), 3), "noted": noted})
        print(f"{group:36s} {len(images):4d} images, peak {min(peaks):8.1f} .. {max(peaks):8.1f}, ink share "
              f"{min(shares):.3f} .. {max(shares):.3f}, noted {noted}", flush=True)
    write_record(args.out, "periodic_check.py", args, start, rows=rows, periodic_peak=pretrained.PERIODIC_PEAK,
                 pattern_ink_share=pretrained.PATTERN_INK_SHARE)


if __name__ == "__main__":
    main()
