"""Blank (NaN) pixels, as in a FITS mosaic: `denoise --blanks` (blanks=True: the blanks filled with a mirror image
of the data beside them and left out of the noise estimate) against what a user does without it: NaN set to 0,
or to the median of the data, and the image denoised as it is; and against the blanks filled with a copy of the
nearest data pixel (edge padding), also left out of the estimate ("edge").

    python scripts/blanks_check.py [--data ../shared/data/bsd68] [--limit 8] [--out benchmarks/blanks_bsd68.json]

Each image i: PROTOCOL noise (rng = i) on the clean image, kept as float (no rounding). Blank: the pixels left of
a slanted edge (a mosaic's footprint, about a quarter of the image) and 12 discs of radius 4 to 8 px (masked
stars) placed with rng 1000 + i. Each call is the no-option call (api.denoise with no method). PSNR on the
pixels holding data against the clean image (peak 255), and on those within 8 px of a blank one ("border").
"""
import json
import os
import time
import warnings

import numpy as np
from scipy import ndimage

from noise2x import api, io
from noise2x.errors import NoteWarning
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy

from _record import check_args, write_record

#: how far from a blank pixel a data pixel counts as "border"
BORDER = 8


def blank_layout(shape: tuple[int, int], seed: int) -> np.ndarray:
    """True where a pixel is blank: left of a slanted edge, and 12 discs of radius 4..8."""
    h, w = shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    blank = xx < w / 4 + 0.3 * (yy - h / 2)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(w / 4, w), rng.uniform(4, 8)
        blank |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return blank


def main(argv=None) -> int:
    args = check_args(argv, "bsd68")
    start = time.time()
    rows = []
    variants = ("blanks", "zero", "median", "edge")
    for spec in args.noises.split(","):
        for i, path in enumerate(io.list_images(args.data)[: args.limit]):
            clean = io.read_image(path)
            noisy = protocol_noisy(clean, spec, index=i)
            blank = blank_layout(clean.shape[:2], 1000 + i)
            data = ~blank
            border = data & ndimage.binary_dilation(blank, iterations=BORDER)
            with_nan = np.where(blank if noisy.ndim == 2 else blank[..., None], np.nan, noisy)
            row = {"noise": spec, "image": os.path.basename(str(path)), "blank_fraction": round(float(blank.mean()), 4),
                   "noisy": psnr(clean[data][None], noisy[data][None]), "noisy_border": psnr(clean[border][None], noisy[border][None])}
            for name in variants:
                info = {}
                if name == "blanks":
                    out = api.denoise(with_nan, blanks=True, info=info)
                elif name == "edge":
                    near = ndimage.distance_transform_edt(blank, return_distances=False, return_indices=True)
                    out = api.denoise(noisy[near[0], near[1]], mask=data, info=info)
                else:
                    fill = 0.0 if name == "zero" else float(np.median(noisy[data]))
                    with warnings.catch_warnings():  # (the fill of 0 is said as a note: measured here)
                        warnings.simplefilter("ignore", NoteWarning)
                        out = api.denoise(np.where(np.isnan(with_nan), fill, with_nan), info=info,
                                          blank_value="none")  # (the fill read as data, not as a fill)
                row[name] = psnr(clean[data][None], out[data][None])
                row[name + "_border"] = psnr(clean[border][None], out[border][None])
                row[name + "_route"] = str(info.get("method"))
                row[name + "_sigma"] = info.get("estimated_sigma")
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    keys = ["noisy", "noisy_border"] + [v + s for v in variants for s in ("", "_border")]
    for spec in args.noises.split(","):
        r = [x for x in rows if x["noise"] == spec]
        summary[spec] = {k: round(float(np.mean([x[k] for x in r])), 3) for k in keys}
        summary[spec]["blanks_ahead_of_zero"] = sum(x["blanks"] > x["zero"] for x in r)
        summary[spec]["blanks_ahead_of_median"] = sum(x["blanks"] > x["median"] for x in r)
        summary[spec]["blanks_ahead_of_edge"] = sum(x["blanks"] > x["edge"] for x in r)
        summary[spec]["images"] = len(r)
        print(spec, summary[spec], flush=True)
    if args.out:
        write_record(args.out, "blanks_check.py", args, start, rows=rows, summary=summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
