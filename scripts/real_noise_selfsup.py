"""Self-supervised methods trained on REAL noisy images (RNI15, no clean reference, no --add-noise).

Each method is trained for MINUTES on ../shared/data/rni15 (the noisy images themselves), then denoises
centre crops of a few of them. There is no clean image, so the script writes a picture grid
(noisy | each method) and, as a number, the noise level noise2x estimates on each picture before and after
(noise2x.estimate.sigma, 8-bit units: lower = cleaner; it reads the white part of what is left).

Usage: python scripts/real_noise_selfsup.py [--minutes 2] [--methods noise2void,...] [--images Dog,Frog,...]
         [--out benchmarks/rni15_selfsup]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from noise2x import api, estimate
from noise2x.benchmark import machine_info
from noise2x.figures import picture_grid
from noise2x.io import read_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rni15"


def crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[top:top + size, left:left + size]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--methods", default="noise2void,noise2self,noise2same,noise2same_pro,neighbor2neighbor")
    ap.add_argument("--images", default="Dog,Frog,Glass")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="benchmarks/rni15_selfsup")
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    methods = args.methods.split(",")
    names = args.images.split(",")
    files = {f.stem: f for f in Path(args.data).iterdir()}
    noisy = {n: crop(read_image(files[n]), args.size) for n in names}
    outputs: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    record: dict[str, object] = {"date": time.strftime("%Y-%m-%d"), "machine": machine_info(),
                                 "command": "python scripts/real_noise_selfsup.py " + " ".join(
                                     f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
                                 "estimated_sigma": {n: {"noisy": round(estimate.sigma(noisy[n]), 2)} for n in names},
                                 "training": {}}
    with tempfile.TemporaryDirectory() as work:
        for m in methods:
            t0 = time.perf_counter()
            den = api.train(m, data=args.data, out=Path(work) / f"{m}.safetensors", minutes=args.minutes, seed=0)
            record["training"][m] = {"seconds": round(time.perf_counter() - t0, 1),
                                     "steps": den.metadata.get("steps")}
            for n in names:
                outputs[n][m] = api.denoise(noisy[n], model=den)
                record["estimated_sigma"][n][m] = round(estimate.sigma(outputs[n][m]), 2)
            print(m, record["training"][m], {n: record["estimated_sigma"][n][m] for n in names}, flush=True)
    rows = [[noisy[n]] + [outputs[n][m] for m in methods] for n in names]
    captions = [[f"{n} noisy (est. sigma {record['estimated_sigma'][n]['noisy']:.1f})"] +
                [f"{m} ({record['estimated_sigma'][n][m]:.1f})" for m in methods] for n in names]
    picture_grid(rows, captions, out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(f"wrote {out.with_suffix('.png')} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
