#!/usr/bin/env python
"""Picture grid of denoisers on test images: clean | noisy | one column per method or model file.

Each row is one image of DATASET (centre crop of ``--crop`` pixels) with the
PROTOCOL noise of its index in sorted file order (``default_rng(i)``). A column
is a method name (e.g. ``bm3d``, given the noise spec), ``auto`` (no options:
what ``noise2x denoise IMAGE`` does) or a ``.safetensors`` model file (label =
its file stem); the caption gives the crop's PSNR. The
whole image is denoised and then cropped, so a model sees what the benchmark saw.

Usage (BENCHMARKS.md's figures come from commands like)::

    python scripts/model_grid.py --dataset ../shared/data/set12 --images 04.png,08.png \\
        --noise gaussian:sigma=25 --columns runs/gan.safetensors,runs/supervised.safetensors \\
        --labels gan,supervised --out benchmarks/gan_vs_supervised.png

Writes the PNG (atomically) and a JSON beside it with the captions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from noise2x import api
    from noise2x.benchmark import _dataset_files
    from noise2x.figures import picture_grid
    from noise2x.fsutil import atomic_path
    from noise2x.io import read_image
    from noise2x.metrics import psnr
    from noise2x.noise import protocol_noisy

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--images", required=True, help="comma-separated file names of the dataset")
    p.add_argument("--noise", required=True)
    p.add_argument("--columns", required=True, help="comma-separated methods or .safetensors files")
    p.add_argument("--labels", default="", help="comma-separated column captions (default: names)")
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)

    _, files = _dataset_files(a.dataset, None)
    index = {Path(f).name: i for i, f in enumerate(files)}
    cols = [c.strip() for c in a.columns.split(",") if c.strip()]
    labels = [s.strip() for s in a.labels.split(",")] if a.labels else [Path(c).stem for c in cols]
    if len(labels) != len(cols):
        p.error("--labels needs one label per column")
    models = {c: api.load_model(c) for c in cols if c.endswith(".safetensors")}
    rows, caps, record = [], [], []
    for name in a.images.split(","):
        i = index[name]
        clean = read_image(files[i])
        noisy = protocol_noisy(clean, a.noise, index=i)
        h, w = clean.shape[:2]
        s = min(a.crop, h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2

        def crop(im):
            return im[y0:y0 + s, x0:x0 + s]

        row = [crop(clean), crop(noisy)]
        cap = [f"{name} clean", f"noisy {psnr(crop(clean), crop(noisy)):.2f}"]
        for c, label in zip(cols, labels):
            if c in models:
                out = api.denoise(noisy, model=models[c])
            elif c == "auto":  # `noise2x denoise IMAGE` with no options: the noise is estimated
                out = api.denoise(noisy)
            else:
                out = api.denoise(noisy, method=c, noise=a.noise)
            out = np.clip(out, 0, 255)
            row.append(crop(out))
            cap.append(f"{label} {psnr(crop(clean), crop(out)):.2f}")
        rows.append(row)
        caps.append(cap)
        record.append({"image": name, "captions": cap})
    out = picture_grid(rows, caps, a.out)
    with atomic_path(Path(a.out).with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({"command": " ".join(sys.argv), "noise": a.noise, "crop": a.crop,
                                   "rows": record}, indent=1))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
