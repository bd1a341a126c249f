"""Short fine-tuning runs (train --init) of a trained model on the data it was trained on: how far its first
steps move it, with and without a learning-rate warm-up (the QA case behind FINETUNE_WARMUP in noise2x.train).

A Noise2Noise U-Net is trained 80 steps on pairs of 96x96 train400 crops ([0, 1] units, Gaussian sigma 0.1), then
fine-tuned from it for 1, 5, 20 and 80 steps with each setting; each model denoises a 128x128 crop of Set12 02.
Steps, seeds and threads are fixed: the figures do not depend on the machine's load.

Usage: python scripts/finetune_short.py OUTDIR [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import noise2x

SETTINGS = (["train.warmup=0"], ["train.lr=1e-4", "train.warmup=0"], ["train.warmup=0.2"],
            ["train.lr=3e-4", "train.warmup=0.1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    args = ap.parse_args()
    d = Path(args.out)
    for sub in ("A", "B"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(Path(args.data) / "train400"))
    for i, f in enumerate(names[:24]):
        c = noise2x.read_image(Path(args.data) / "train400" / f)[:96, :96] / 255.0
        noise2x.write_image(d / "A" / f"{i:02d}.tif", noise2x.noise.gaussian(c, sigma=0.1, rng=i).astype(np.float32))
        noise2x.write_image(d / "B" / f"{i:02d}.tif",
                            noise2x.noise.gaussian(c, sigma=0.1, rng=1000 + i).astype(np.float32))
    clean = noise2x.read_image(Path(args.data) / "set12" / "02.png")[:128, :128] / 255.0
    noisy = noise2x.noise.gaussian(clean, sigma=0.1, rng=7)

    def psnr(model) -> float:
        return round(noise2x.psnr(clean, model.denoise(noisy).astype(float), data_range=1), 2)

    base = noise2x.train("noise2noise", data=d / "A", data2=d / "B", out=d / "base.safetensors", steps=80, seed=0,
                         progress=False, threads=1, overrides=["train.warmup=0"])
    print(f"noisy {noise2x.psnr(clean, noisy, data_range=1):.2f} dB, the model fine-tuned from: {psnr(base)} dB")
    print("| settings | 1 step | 5 steps | 20 steps | 80 steps |\n|---|---|---|---|---|")
    for extra in SETTINGS:
        row = []
        for steps in (1, 5, 20, 80):
            tuned = noise2x.train("noise2noise", data=d / "A", data2=d / "B", out=d / "tuned.safetensors",
                                  steps=steps, seed=0, progress=False, threads=1, init=d / "base.safetensors",
                                  overrides=extra)
            row.append(psnr(tuned))
        print(f"| {', '.join(extra)} | " + " | ".join(f"{v:.2f}" for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
