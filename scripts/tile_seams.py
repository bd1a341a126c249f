"""Tiled against whole-image inference: how far a model's tiled output is from its output on the whole image.

A 704x704 gray mosaic of BSD68 photos with Gaussian noise (sigma 25, seed 0) is denoised by each model whole
(tile 0) and in noise2x's default tiles (256, overlap 32), with the context each tile gets by default (the
network's measured reach, `noise2x.predict.model_reach`) and with the fixed 16 pixels every network got before.
Models: the shipped gray-gaussian and untrained networks (the seams come from the architecture: how far the
output reads): the cpu and paper U-Nets and the cpu blind-spot network (Laine et al.), its posterior mean with
a noise level learned per image (a level network with random weights, which reads the image's content).

Usage: python scripts/tile_seams.py [--data ../shared/data/bsd68] [--out benchmarks/tile_seams.json]
       python scripts/tile_seams.py --markdown benchmarks/tile_seams.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _record import write_record  # noqa: E402

from noise2x.io import list_images, read_image  # noqa: E402
from noise2x.methods import get_method  # noqa: E402
from noise2x.models import ScaledModel, build_model  # noqa: E402
from noise2x.predict import denoise_array, model_reach  # noqa: E402


def mosaic(folder: str) -> np.ndarray:
    files = list_images(folder)
    a, b = read_image(files[0]), read_image(files[1])
    clean = np.concatenate([a[:480, :320], b[:480, :320], a[:480, :64]], axis=1)
    return np.concatenate([clean, clean[:224]], axis=0)


def models() -> list[tuple[str, object, object]]:
    """(label, model, method or None)."""
    import noise2x

    torch.manual_seed(0)
    shipped = noise2x.load_model("gray-gaussian")
    out = [("gray-gaussian (shipped)", shipped.model, shipped.method)]
    for label, args in (("U-Net cpu (untrained)", {"width": 32, "depth": 3}),
                        ("U-Net paper (untrained)", {"width": 48, "depth": 5})):
        net = build_model("unet", in_channels=1, out_channels=1, **args)
        out.append((label, ScaledModel(net, arch="unet", arch_args=args, mean=[110.0], std=[50.0]).eval(), None))
    m = get_method("blindspot", {"noise_model": "gaussian_per_image"})
    arch, args = m.default_model(channels=1, preset="cpu")
    net = build_model(arch, **args)
    with torch.no_grad():  # (a level that reads the content; it starts at zeros)
        net.noise_net.out.weight.normal_(0.0, 0.01)
    model = ScaledModel(net, arch=arch, arch_args=args, mean=[110.0], std=[50.0]).eval()
    mu = get_method("blindspot", {"noise_model": "gaussian_per_image", "posterior_mean": False})
    out += [("blind-spot cpu, its mean (untrained)", model, mu),
            ("blind-spot cpu, posterior mean, level per image (untrained)", copy.deepcopy(model), m)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bsd68"))
    ap.add_argument("--out", default="benchmarks/tile_seams.json")
    ap.add_argument("--markdown", default=None, help="print the table of a result file")
    args = ap.parse_args()
    if args.markdown:
        with open(args.markdown) as fh:
            rows = json.load(fh)["rows"]
        print("| model | reach (px; s to measure) | 16 px of context: max / mean difference, pixels > 1 | the reach's "
              "context: max / mean difference, pixels > 1 | seconds: whole / tiles with 16 px / tiles with the reach |")
        print("|---|---|---|---|---|")
        for r in rows:
            b, a = r["context_16"], r["default"]
            print(f"| {r['model']} | {r['reach']} ({r['reach_seconds']:.2f}) | {b['max']:.3g} / {b['mean']:.2g}, "
                  f"{b['over_1']} | {a['max']:.2g} / {a['mean']:.2g}, {a['over_1']} | {r['whole_seconds']:.1f} / "
                  f"{b['seconds']:.1f} / "
                  f"{a['seconds']:.1f} |")
        return
    start = time.time()
    clean = mosaic(args.data)
    noisy = clean + 25.0 * np.random.default_rng(0).standard_normal(clean.shape)
    rows = []
    for label, model, method in models():
        t0 = time.perf_counter()
        reach = model_reach(model)  # (measured once per model, here)
        reach_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        whole = denoise_array(model, noisy, method=method, tile=0)
        whole_s = time.perf_counter() - t0
        row = {"model": label, "reach": reach, "reach_seconds": reach_s, "whole_seconds": whole_s}
        for key, context in (("context_16", 16), ("default", None)):
            t0 = time.perf_counter()
            tiled = denoise_array(model, noisy, method=method, tile=256, overlap=32, context=context)
            seconds = time.perf_counter() - t0
            d = np.abs(tiled.astype(np.float64) - whole)
            row[key] = {"max": float(d.max()), "mean": float(d.mean()), "over_1": int((d > 1).sum()),
                        "seconds": seconds}
        rows.append(row)
        print(label, row, flush=True)
    write_record(args.out, "tile_seams.py", args, start, image=list(noisy.shape), noise="gaussian:sigma=25",
                 tile=256, overlap=32, rows=rows)


if __name__ == "__main__":
    main()
