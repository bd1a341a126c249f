"""`make demo` / `noise2x demo`: sample images bundled with scikit-image, synthetic
noise, the available methods, a PSNR table and picture grids (no download)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

SIGMA = 25.0


def sample_images() -> dict[str, np.ndarray]:
    """Gray and colour samples that ship inside scikit-image (8-bit units, float64)."""
    from skimage import data

    camera = data.camera().astype(np.float64)  # 512x512 gray
    astronaut = data.astronaut().astype(np.float64)[::2, ::2]  # 256x256 RGB
    return {"camera": camera, "astronaut": astronaut}


def demo_methods() -> list[tuple[str, str, dict[str, Any]]]:
    """(label, method, options) in display order: the best of each family available."""
    return [
        ("BM3D (sigma given)", "bm3d", {"noise": True}),
        ("NLM (sigma estimated)", "nlm", {}),
        ("NLM calibrated (Noise2Self)", "nlm_calibrated", {}),
    ]


def run_demo(*, out: str | Path = "demo-output", progress: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run the demo and write ``out``/{results.json, results.md, <image>_grid.png}.

    Returns
    -------
    list of dict
        One row per (image, method): PSNR, SSIM, seconds.
    """
    from .api import denoise
    from .figures import picture_grid
    from .fsutil import atomic_path
    from .metrics import psnr, ssim
    from .noise import gaussian, parse_noise

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    spec = parse_noise(f"gaussian:sigma={SIGMA:g}")
    rows: list[dict[str, Any]] = []
    for index, (name, clean) in enumerate(sample_images().items()):
        noisy = gaussian(clean, sigma=SIGMA, rng=index)
        panels = [noisy]
        captions = [f"noisy {psnr(clean, noisy):.2f} dB"]
        rows.append({"image": name, "method": "noisy input", "psnr": psnr(clean, noisy), "ssim": ssim(clean, noisy),
                     "seconds": 0.0})
        for label, method, opts in demo_methods():
            progress(f"demo: {name} {clean.shape} - {label} ...")
            t0 = time.perf_counter()
            pred = denoise(noisy, method=method, noise=spec if opts.get("noise") else None, rng=0)
            seconds = time.perf_counter() - t0
            rows.append({"image": name, "method": label, "psnr": psnr(clean, pred), "ssim": ssim(clean, pred),
                         "seconds": seconds})
            panels.append(pred)
            captions.append(f"{label} {rows[-1]['psnr']:.2f} dB")
        panels.append(clean)
        captions.append("clean")
        picture_grid([panels], [captions], folder / f"{name}_grid.png")
    table = ["| image | method | PSNR (dB) | SSIM | seconds |", "|---|---|---|---|---|"]
    table += [f"| {r['image']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['seconds']:.1f} |" for r in rows]
    with atomic_path(folder / "results.md") as tmp:
        tmp.write_text(f"Gaussian noise sigma={SIGMA:g} (seeded), CPU\n\n" + "\n".join(table) + "\n")
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps({"noise": str(spec), "rows": rows}, indent=2))
    print("\n".join(table))
    print(f"demo: wrote {folder}/results.md and picture grids {', '.join(sorted(p.name for p in folder.glob('*_grid.png')))}")
    return rows
