"""`make demo` / `noise2x demo`: sample images bundled with scikit-image, synthetic
noise, the available methods, a PSNR table and picture grids (no download)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import Noise2xError, UsageError

SIGMA = 25.0
PEAK = 30.0


def sample_images() -> dict[str, np.ndarray]:
    """Gray and colour samples that ship inside scikit-image (8-bit units, float64)."""
    from skimage import data

    camera = data.camera().astype(np.float64)[::2, ::2]  # 256x256 gray
    coins = data.coins().astype(np.float64)  # 303x384 gray
    astronaut = data.astronaut().astype(np.float64)[::2, ::2]  # 256x256 RGB
    return {"camera": camera, "coins": coins, "astronaut": astronaut}


def scenes() -> list[tuple[str, str, list[tuple[str, dict[str, Any]]]]]:
    """(image, noise spec, [(label, denoise keyword arguments)]): the best method of each family."""
    from .pretrained import find

    gauss = f"gaussian:sigma={SIGMA:g}"
    gray_gauss: list[tuple[str, dict[str, Any]]] = [("noise2x denoise (no options)", {})]
    if find("gray-gaussian-selfsup") is not None:
        gray_gauss.append(("self-supervised model", {"model": "gray-gaussian-selfsup"}))
    gray_gauss += [("zero-shot ZS-N2N", {"method": "zs_n2n"}), ("BM3D (sigma given)", {"method": "bm3d", "noise": gauss})]
    return [
        ("camera", gauss, gray_gauss),
        ("coins", f"poisson:peak={PEAK:g}", [
            ("noise2x denoise (no options)", {}),
            ("BM3D + Anscombe (peak given)", {"method": "bm3d", "noise": f"poisson:peak={PEAK:g}"}),
        ]),
        ("astronaut", gauss, [
            ("noise2x denoise (no options)", {}),
            ("zero-shot ZS-N2N", {"method": "zs_n2n"}),
            ("CBM3D (sigma given)", {"method": "bm3d", "noise": gauss}),
        ]),
    ]


def run_demo(*, out: str | Path = "demo-output", progress: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run the demo and write ``out``/{results.json, results.md, <image>_grid.png}.

    Returns
    -------
    list of dict
        One row per (image, method): PSNR, SSIM, seconds, and what the automatic choice used.
    """
    from .api import denoise
    from .figures import picture_grid
    from .fsutil import atomic_path
    from .metrics import psnr, ssim
    from .noise import parse_noise
    from .predict import COLOUR_LABELS

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"demo output {folder} is a file; give a folder (--out)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Noise2xError(f"cannot create the demo output folder {folder}: {exc.strerror or exc}") from None
    images = sample_images()
    rows: list[dict[str, Any]] = []
    for index, (name, noise, methods) in enumerate(scenes()):
        clean = images[name]
        spec = parse_noise(noise)
        noisy = spec.apply(clean, rng=index)
        panels = [noisy]
        # (unclipped, as PROTOCOL.md and bench measure the noisy input: clipped, it read above bench's, a QA pass)
        captions = [f"noisy {psnr(clean, noisy, clip=False):.2f} dB"]
        rows.append({"image": name, "noise": noise, "method": "noisy input", "psnr": psnr(clean, noisy, clip=False),
                     "ssim": ssim(clean, noisy, clip=False), "seconds": 0.0, "used": ""})
        for label, kwargs in methods:
            progress(f"demo: {name} {clean.shape} {noise} - {label} ...")
            info: dict[str, Any] = {}
            t0 = time.perf_counter()
            pred = denoise(noisy, rng=0, info=info, progress=progress, **kwargs)
            seconds = time.perf_counter() - t0
            used = short = info.get("method") or f"model {kwargs.get('model')}"
            if info.get("colour"):
                used += " on " + COLOUR_LABELS[info["colour"]]
                # short enough for a caption
                short = short.removeprefix("model ") + (" (planes)" if info["colour"] == "luma" else " (channels)")
            rows.append({"image": name, "noise": noise, "method": label, "psnr": psnr(clean, pred),
                         "ssim": ssim(clean, pred), "seconds": seconds, "used": used, "why": info.get("auto", "")})
            panels.append(pred)
            captions.append(f"{label.replace('noise2x denoise (no options)', 'auto: ' + short)} {rows[-1]['psnr']:.2f} dB")
        panels.append(clean)
        captions.append("clean")
        picture_grid([panels], [captions], folder / f"{name}_grid.png")
    table = ["| image | noise | method | used | PSNR (dB) | SSIM | seconds |", "|---|---|---|---|---|---|---|"]
    table += [f"| {r['image']} | {r['noise']} | {r['method']} | {r['used']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
              f"{r['seconds']:.1f} |" for r in rows]
    with atomic_path(folder / "results.md") as tmp:
        tmp.write_text("Synthetic noise (seeded) on scikit-image samples, CPU. PSNR/SSIM as in PROTOCOL.md (the "
                       "noisy input unclipped, each output clipped); seconds: one call each, start-up and model "
                       "loading included (no warm-up, unlike noise2x bench)\n\n" + "\n".join(table) + "\n")
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps({"rows": rows}, indent=2))
    print("\n".join(table))
    print(f"demo: wrote {folder}/results.md and picture grids {', '.join(sorted(p.name for p in folder.glob('*_grid.png')))}")
    return rows
