"""What the no-option route does with bilevel (black-and-white) images: 1-bit text pages with scanner specks,
halftones and dithers. The check behind ``noise2x.pretrained.DITHER_SHARE`` and the despeckle route.

    python scripts/bilevel_check.py [--pages 6] [--out benchmarks/bilevel_check.json]

Text pages: ``--pages`` pages of 600x800 pixels, text in Pillow's own font (DejaVu Sans) at 10 to 36 pixels (about
7 to 26 points at 100 dpi, 2.4 to 8.6 at 300), each line at its size, thresholded at 128, and a rule 1 pixel thick;
each with 0.3%, 1% and 3% of its pixels flipped (seeded); and pages in one type size (10, 12, 14, 18, 24 and 30
pixels, lines 1.2 and 1.5 times that apart: a regular line pitch), the same in a monospaced font (DejaVu Sans
Mono, where the system has it: a typewriter's grid of characters) and pages of 14-pixel text on forms ruled both
ways every 12 to 32 pixels, each with 1% flipped. For each: the no-option route, the pixels wrong before and
after it, the ink (black pixels) of the clean page lost and the time. Halftones and dithers: the first 20 BSD68
images thresholded against a 45-degree cosine dot screen of 4, 6 and 8 pixels, and dithered by Pillow's
Floyd-Steinberg error diffusion: the share the route leaves as they are (their dots are the picture), and the
least share of their minority tone (``pretrained.minority_share``).
"""
import argparse
import os
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from noise2x import api, estimate, pretrained
from noise2x.io import list_images, read_image

from _record import write_record
from periodic_check import halftone

WORDS = ("the quick brown fox jumps over a lazy dog; pack my box with five dozen liquor jugs. 0123456789, (i) j! "
         "Sphinx of black quartz, judge my vow: 3.14% is not 42.").split()


#: A monospaced font (a typewriter's, a line printer's: its characters on a grid), where the system has it
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def page(seed: int, size: int | None = None, leading: float = 1.5, mono: bool = False, ruled: int = 0) -> np.ndarray:
    """A bilevel text page (1 white, 0 black): lines of text at sizes drawn from 10 to 36 pixels, or all at
    ``size`` (a regular line pitch of ``leading`` times it), in Pillow's font or ``mono``spaced (:data:`MONO`);
    ``ruled``: ruled as a form, lines every so many pixels both ways."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (800, 600), 255)
    draw = ImageDraw.Draw(im)
    y = 8
    while y < 560:
        line = size or int(rng.choice([10, 12, 14, 18, 24, 36]))
        font = ImageFont.truetype(MONO, line) if mono else ImageFont.load_default(size=line)
        draw.text((10, y), " ".join(rng.choice(WORDS, 14)), font=font, fill=0)
        y += int(line * leading)
    draw.line([(10, 590), (790, 590)], fill=0, width=1)
    out = (np.asarray(im) >= 128).astype(np.float64)
    if ruled:
        out[::ruled] = 0
        out[:, ::ruled] = 0
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="../shared/data/bsd68")
    p.add_argument("--pages", type=int, default=6)
    p.add_argument("--out", default="benchmarks/bilevel_check.json")
    args = p.parse_args()
    start = time.time()
    rows = []
    kinds = [(f"sizes mixed, {flips:.1%} flipped", flips, [(k, None, 1.5, False, 0) for k in range(args.pages)])
             for flips in (0.003, 0.01, 0.03)]
    one = [(s, lead) for s in (10, 12, 14, 18, 24, 30) for lead in (1.2, 1.5)]
    kinds.append(("one size, 1.0% flipped", 0.01, [(k, size, leading, False, 0) for k, (size, leading) in
                                                   enumerate(one)]))
    if os.path.exists(MONO):
        kinds.append(("monospaced, one size, 1.0% flipped", 0.01, [(k, size, leading, True, 0) for k, (size, leading)
                                                                   in enumerate(one)]))
    kinds.append(("ruled forms (12 to 32 px), 1.0% flipped", 0.01, [(k, 14, 1.5, False, ruled) for k, ruled in
                                                                    enumerate((12, 16, 20, 24, 32))]))
    for name, flips, pages in kinds:
        wrong_in = wrong_out = ink = lost = 0
        routes: dict[str, int] = {}
        took = 0.0
        for k, size, leading, mono, ruled in pages:
            clean = page(k, size, leading, mono, ruled) * 255
            rng = np.random.default_rng(1000 + k)
            noisy = np.where(rng.random(clean.shape) < flips, 255 - clean, clean)
            info: dict = {}
            t0 = time.perf_counter()
            out = api.denoise(noisy, info=info)
            took += time.perf_counter() - t0
            route = f"{info.get('method')}, size {info.get('speck_size')}"
            routes[route] = routes.get(route, 0) + 1
            wrong_in += int(np.count_nonzero(noisy != clean))
            wrong_out += int(np.count_nonzero(out != clean))
            ink += int(np.count_nonzero(clean == 0))
            lost += int(np.count_nonzero((clean == 0) & (out != 0) & (noisy == 0)))
        row = {"pages_of": name, "flipped": flips, "pages": len(pages), "routes": routes, "wrong_before": wrong_in,
               "wrong_after": wrong_out, "ink_pixels": ink, "ink_lost": lost,
               "seconds_per_page": round(took / len(pages), 3)}
        rows.append(row)
        print(row, flush=True)
    files = sorted(list_images(args.dataset))[:20]
    pictures = []
    for name, make in [(f"halftone, screen {s} px", lambda img, s=s: halftone(img, s)) for s in (4, 6, 8)] + [
            ("Floyd-Steinberg dither", lambda img: np.asarray(Image.fromarray(img.astype(np.uint8)).convert("1"),
                                                              dtype=np.float64) * 255)]:
        left, shares = 0, []
        for f in files:
            picture = make(read_image(f))
            choice = pretrained.choose(picture)
            left += int(choice.method == "despeckle" and choice.options.get("size") == 0)
            shares.append(pretrained.minority_share(estimate.periodic_window(picture)))
        pictures.append({"picture": name, "images": len(files), "left_as_is": left,
                         "minority_share_min": round(min(shares), 3)})
        print(pictures[-1], flush=True)
    write_record(args.out, "bilevel_check.py", args, start, pages=rows, pictures=pictures,
                 dither_share=pretrained.DITHER_SHARE, periodic_peak=pretrained.PERIODIC_PEAK)


if __name__ == "__main__":
    main()
