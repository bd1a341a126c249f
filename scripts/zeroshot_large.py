#!/usr/bin/env python
"""The zero-shot methods on images larger than the zero-shot table's 256x256 crops.

A user's photo is rarely 256x256. Three parts, each written to the JSON file given by ``--out``
(parts already there are kept unless re-run):

* ``tiles``: ZS-N2N's cpu preset, which trains a larger image on 16 fixed 64x64 tiles spread over it,
  against training on the whole image (``tile=0``, what it did before, and what the paper does), on
  the full CBSD68 images (321x481), white Gaussian noise sigma 25 (``rng = i``, noise per PROTOCOL.md).
* ``probe``: MASH's steps 1-2 on the centre 256x256 window (the cpu preset's ``probe_window``)
  against the whole image (``probe_window=0``, what it did before), on full CBSD68 images (321x481;
  ``--probe-scale 2`` enlarges them twice, cubic), noise ``correlated:sigma=25,beta=B`` for B in 0,
  0.5, 1 (``index = i``): the level each reads, and the seconds (``probe_correlation``, probe only).
  The right level is low, medium and high (BENCHMARKS.md, the zero-shot confusion table).
* ``mosaic``: the same comparison on a 2x2 mosaic of the first four CBSD68 images (642x962, native
  resolution; portrait images turned), betas from ``--mosaic-betas``.
* ``sizes``: wall time of ``noise2x denoise --method M`` end to end (as ``zeroshot_cli_time.py``) on
  images of the given sizes (``S`` for S x S, or ``HxW``), made by resizing CBSD68's first image (cubic) and adding
  white
  Gaussian noise sigma 25 (ZS-N2N) or the beta = 1 correlated noise (MASH), saved as 8-bit PNGs. The
  PSNR against the resized clean image is kept too; a resized photo is smoother than a real photo of
  that size, so those PSNRs are not comparable with the table's.

Usage::

    python scripts/zeroshot_large.py --parts tiles --images 4 --out benchmarks/zeroshot_large.json
    python scripts/zeroshot_large.py --parts sizes --sizes 256,1024,3000x4000 --methods zs_n2n,mash \\
        --merge benchmarks/zeroshot_large.json --out benchmarks/zeroshot_large.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noise2x.benchmark import machine_info
from noise2x.io import list_images, read_image, write_image
from noise2x.metrics import psnr, ssim
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import zs_n2n
from noise2x.zeroshot.mash import probe_correlation
from noise2x.zeroshot.zs_n2n import PRESETS as ZS_PRESETS
from noise2x.zeroshot.zs_n2n import training_tiles

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import DATA, script_command, write_json  # noqa: E402
from zeroshot_cli_time import CLI, step_time  # noqa: E402

PARTS = ("tiles", "probe", "mosaic", "sizes")
ZS_TILES = int(ZS_PRESETS["cpu"]["tiles"])
#: The noise each method of the sizes part gets; ``auto`` is `noise2x denoise` with no options, ``auto-bf16``
#: the same with ``--precision bf16``; ``mash-bf16`` MASH with it.
SPECS = {"zs_n2n": "gaussian:sigma=25", "mash": "correlated:sigma=25,beta=1", "auto": "gaussian:sigma=25",
         "auto-bf16": "gaussian:sigma=25", "mash-bf16": "correlated:sigma=25,beta=1"}
#: The ``noise2x denoise`` options of each method of the sizes part.
CLI_OPTIONS = {"auto": [], "auto-bf16": ["--precision", "bf16"],
               "mash-bf16": ["--method", "mash", "--precision", "bf16"]}
#: A method of the sizes part named ``M-nothp`` runs ``M`` with PyTorch's transparent huge pages off
#: (``THP_MEM_ALLOC_ENABLE=0``; the CLI turns them on otherwise).
NO_THP = "-nothp"


def cli_run(method: str) -> tuple[str, list[str], dict[str, str]]:
    """The base method, its ``noise2x denoise`` options and its environment, for a sizes-part method
    (checked by :func:`main`)."""
    env = dict(os.environ)
    if method.endswith(NO_THP):
        method = method[: -len(NO_THP)]
        env["THP_MEM_ALLOC_ENABLE"] = "0"
    return method, CLI_OPTIONS.get(method, ["--method", method]), env


def _say(msg: str) -> None:
    print(msg, flush=True)


def landscape(image: np.ndarray) -> np.ndarray:
    """The image turned a quarter turn when it is taller than wide."""
    return np.ascontiguousarray(np.rot90(image)) if image.shape[0] > image.shape[1] else image


def run_tiles(files: list[Path]) -> list[dict[str, Any]]:
    rows = []
    spec = SPECS["zs_n2n"]
    for i, path in enumerate(files):
        clean = read_image(path)
        noisy = protocol_noisy(clean, spec, index=i)
        row: dict[str, Any] = {"file": path.name, "shape": list(clean.shape), "noise": spec,
                               "noisy_psnr": psnr(clean, noisy)}
        for label, tile in (("tiles", None), ("whole", 0)):
            info: dict[str, Any] = {}
            t0 = time.perf_counter()
            out = zs_n2n(noisy, rng=i, tile=tile, info=info)
            row[label] = {"psnr": psnr(clean, out, clip=True), "ssim": ssim(clean, out, clip=True),
                          "seconds": time.perf_counter() - t0, "tile": info["tile"]}
        _say(f"tiles {i + 1}/{len(files)} {path.name}: noisy {row['noisy_psnr']:.2f}, tiles "
             f"{row['tiles']['psnr']:.2f} dB {row['tiles']['seconds']:.0f} s, whole "
             f"{row['whole']['psnr']:.2f} dB {row['whole']['seconds']:.0f} s")
        rows.append(row)
    return rows


def resized(image: np.ndarray, shape: tuple[int, int], *, anti_aliasing: bool = False) -> np.ndarray:
    """The image resized to ``shape`` (cubic), clipped to 0..255."""
    from skimage.transform import resize

    return np.clip(resize(image, shape, order=3, anti_aliasing=anti_aliasing, preserve_range=True), 0, 255)


def mosaic(images: list[np.ndarray]) -> np.ndarray:
    """Four images of one shape side by side in a 2x2 grid."""
    return np.concatenate([np.concatenate(images[:2], axis=1), np.concatenate(images[2:4], axis=1)], axis=0)


def run_probe(files: list[Path], betas: list[float], scale: int, *, as_mosaic: bool = False) -> list[dict[str, Any]]:
    rows = []
    pictures = [landscape(read_image(path)) for path in files]
    if as_mosaic:
        pictures = [mosaic(pictures)]
    for i, clean in enumerate(pictures):
        path = files[i] if not as_mosaic else Path("+".join(p.stem for p in files))
        if scale > 1:
            clean = resized(clean, (clean.shape[0] * scale, clean.shape[1] * scale))
        for beta in betas:
            spec = f"correlated:sigma=25,beta={beta:g}"
            noisy = protocol_noisy(clean, spec, index=i)
            row: dict[str, Any] = {"file": path.name, "shape": list(clean.shape), "noise": spec}
            for label, window in (("window", None), ("whole", 0)):
                t0 = time.perf_counter()
                found = probe_correlation(noisy, rng=i, probe_window=window)
                row[label] = {"level": found["level"], "gap": found["gap"], "seconds": time.perf_counter() - t0}
            _say(f"probe {path.name} {spec}: window {row['window']['level']} ({row['window']['gap']:.3f}, "
                 f"{row['window']['seconds']:.0f} s), whole {row['whole']['level']} "
                 f"({row['whole']['gap']:.3f}, {row['whole']['seconds']:.0f} s)")
            rows.append(row)
    return rows


def parse_size(text: str) -> tuple[int, int]:
    """``"S"`` -> (S, S); ``"HxW"`` -> (H, W)."""
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise ValueError(text)
    return int(parts[0]), int(parts[1])


def run_sizes(files: list[Path], sizes: list[tuple[int, int]], methods: list[str]) -> dict[str, Any]:
    base = read_image(files[0])
    rows: list[dict[str, Any]] = []
    before = step_time()
    _say(f"before: {before}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            clean = resized(base, size, anti_aliasing=True)
            name = f"{size[0]}x{size[1]}"
            for method in methods:
                base_method, options, env = cli_run(method)
                noisy = protocol_noisy(clean, SPECS[base_method], index=0)
                src, dst = Path(tmp) / "in.png", Path(tmp) / "out.png"
                noisy8 = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
                write_image(src, noisy8)
                cmd = [CLI, "denoise", *options, str(src), "--out", str(dst)]
                t0 = time.perf_counter()
                done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
                wall = time.perf_counter() - t0
                if done.returncode != 0:
                    raise SystemExit(f"error: {' '.join(cmd)} failed: {done.stderr.strip()}")
                out = read_image(dst)
                row = {"size": name, "method": method, "noise": SPECS[base_method], "wall_s": round(wall, 2),
                       "noisy_psnr": psnr(clean, noisy8), "psnr": psnr(clean, out, clip=True)}
                _say(f"sizes {name} {method}: {wall:.1f} s wall, {row['noisy_psnr']:.2f} -> "
                     f"{row['psnr']:.2f} dB")
                rows.append(row)
    after = step_time()
    _say(f"after: {after}")
    return {"step_time_before": before, "step_time_after": after, "source": files[0].name, "rows": rows}


def _when(entry: dict[str, Any]) -> str:
    cpu = entry["machine"].get("cpu_model", "CPU")
    return f"`{entry['command']}` ({entry['date']}, {cpu}, {entry['wall_min']} min)"


def markdown(result: dict[str, Any]) -> str:
    """The tables of BENCHMARKS.md's "Zero-shot: larger images" section, from the JSON file."""
    out: list[str] = []
    if "tiles" in result:
        rows = result["tiles"]["rows"]
        out += [f"ZS-N2N's cpu preset on full CBSD68 images, white Gaussian sigma 25: {_when(result['tiles'])}", "",
                "| image | size | noisy | tiles of 64x64 (default) PSNR / SSIM, s | whole image (`tile=0`) "
                "PSNR / SSIM, s |", "|---|---|---|---|---|"]
        for r in rows:
            t, w = r["tiles"], r["whole"]
            out.append(f"| {r['file']} | {r['shape'][0]}x{r['shape'][1]} | {r['noisy_psnr']:.2f} | "
                       f"{t['psnr']:.2f} / {t['ssim']:.4f}, {t['seconds']:.0f} | "
                       f"{w['psnr']:.2f} / {w['ssim']:.4f}, {w['seconds']:.0f} |")
        mt, mw = (float(np.mean([r[k]["psnr"] for r in rows])) for k in ("tiles", "whole"))
        st, sw = (float(np.mean([r[k]["seconds"] for r in rows])) for k in ("tiles", "whole"))
        counts = sorted({len(training_tiles(r["shape"][0], r["shape"][1], r["tiles"]["tile"], ZS_TILES))
                         for r in rows})
        out += [f"| mean | | {np.mean([r['noisy_psnr'] for r in rows]):.2f} | {mt:.2f}, {st:.0f} | "
                f"{mw:.2f}, {sw:.0f} |", "",
                f"Tiles per image: {', '.join(map(str, counts))} (`training_tiles`: a grid shaped like the image).", ""]
    for part in ("probe", "mosaic"):
        if part not in result:
            continue
        rows = result[part]["rows"]
        right = {"0": "low", "0.5": "medium", "1": "high"}
        what = "full CBSD68 images" if part == "probe" else "a 2x2 mosaic of CBSD68 images"
        out += [f"MASH's steps 1-2 on {what}: {_when(result[part])}", "",
                "| image | size | noise | centre 256x256 window (default): level (gap), s | "
                "whole image (`probe_window=0`): level (gap), s |", "|---|---|---|---|---|"]
        for r in rows:
            a, b = r["window"], r["whole"]
            out.append(f"| {r['file']} | {r['shape'][0]}x{r['shape'][1]} | `{r['noise']}` | "
                       f"{a['level']} ({a['gap']:.3f}), {a['seconds']:.0f} | "
                       f"{b['level']} ({b['gap']:.3f}), {b['seconds']:.0f} |")
        out.append("")
        for label, name in (("window", "Centre window"), ("whole", "Whole image")):
            hits = sum(r[label]["level"] == right.get(r["noise"].split("beta=")[-1]) for r in rows)
            out.append(f"{name}: right level (low at beta 0, medium at 0.5, high at 1) on {hits} of {len(rows)}.")
        out.append("")
    if "sizes" in result:
        entry = result["sizes"]
        auto = " (auto: no options; auto-bf16: `--precision bf16`)" if any(r["method"] == "auto-bf16"
                                                                          for r in entry["rows"]) else \
            " (auto: no options)" if any(r["method"] == "auto" for r in entry["rows"]) else ""
        if any(r["method"] == "mash-bf16" for r in entry["rows"]):
            auto += " (mash-bf16: `--method mash --precision bf16`)"
        if any(r["method"].endswith(NO_THP) for r in entry["rows"]):
            auto += f" (M{NO_THP}: the same with `THP_MEM_ALLOC_ENABLE=0`, huge pages off)"
        out += [f"`noise2x denoise --method M`{auto} end to end: {_when(entry)}; host speed "
                f"(`scripts/zeroshot_step_time.py`) before: {entry['step_time_before']}; after: "
                f"{entry['step_time_after']}.", "",
                "| image (resized from " + entry["source"] + ") | method | noise | wall s | noisy | PSNR |",
                "|---|---|---|---|---|---|"]
        for r in entry["rows"]:
            out.append(f"| {r['size']} | {r['method']} | `{r['noise']}` | {r['wall_s']:.0f} | "
                       f"{r['noisy_psnr']:.2f} | {r['psnr']:.2f} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="tiles", help=f"comma list of {', '.join(PARTS)}")
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--images", type=int, default=4, help="images of the tiles part (first N, sorted)")
    parser.add_argument("--probe-images", type=int, default=2, help="images of the probe part (first N)")
    parser.add_argument("--mosaic-betas", default="0", help="beta values of the mosaic part")
    parser.add_argument("--probe-scale", type=int, default=1, help="enlarge the probe part's images this many times")
    parser.add_argument("--betas", default="0,0.5,1", help="beta values of the probe part")
    parser.add_argument("--sizes", default="256,1024", help="sizes of the sizes part: S (S x S) or HxW, comma list")
    parser.add_argument("--methods", default="zs_n2n,mash", help="methods of the sizes part")
    parser.add_argument("--merge", type=Path, help="an earlier JSON file whose other parts are kept")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    parser.add_argument("--show", type=Path, help="print the Markdown tables of this JSON file and stop")
    args = parser.parse_args(argv)
    if args.show:
        if not args.show.is_file():
            print(f"error: {args.show} not found", file=sys.stderr)
            return 2
        print(markdown(json.loads(args.show.read_text())))
        return 0
    if args.out is None:
        print("error: --out is required (or --show FILE)", file=sys.stderr)
        return 2
    parts = [p for p in args.parts.split(",") if p]
    methods = [m for m in args.methods.split(",") if m]
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s]
        betas = [float(b) for b in args.betas.split(",") if b]
        mosaic_betas = [float(b) for b in args.mosaic_betas.split(",") if b]
    except ValueError:
        print("error: --sizes must be a comma list of integers and --betas of numbers", file=sys.stderr)
        return 2
    if (not parts or any(p not in PARTS for p in parts) or any(m.removesuffix(NO_THP) not in SPECS for m in methods)
            or args.images < 1 or args.probe_images < 1 or args.probe_scale < 1 or any(min(s) < 16 for s in sizes)):
        print(f"error: --parts must be a comma list of {', '.join(PARTS)}, --methods of {', '.join(SPECS)} "
              f"(each also as M{NO_THP}), "
              "--images and --probe-images >= 1, --sizes >= 16", file=sys.stderr)
        return 2
    files = list_images(args.dataset) if args.dataset.is_dir() else []
    need = max(args.images, args.probe_images, 4 if "mosaic" in parts else 1)
    if len(files) < need:
        print(f"error: {args.dataset} has {len(files)} images; the parts need {need} (../shared/data missing?)",
              file=sys.stderr)
        return 2
    result: dict[str, Any] = json.loads(args.merge.read_text()) if args.merge and args.merge.exists() else {}
    torch.set_num_threads(2)
    for part in parts:
        t0 = time.time()
        if part == "tiles":
            data: Any = run_tiles(files[: args.images])
        elif part == "probe":
            data = run_probe(files[: args.probe_images], betas, args.probe_scale)
        elif part == "mosaic":
            data = run_probe(files[:4], mosaic_betas, 1, as_mosaic=True)
        else:
            data = run_sizes(files, sizes, methods)
        entry = {"command": script_command("zeroshot_large.py", argv),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine_info(),
                 "wall_min": round((time.time() - t0) / 60, 1)}
        entry.update(data if isinstance(data, dict) else {"rows": data})
        result[part] = entry
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
