#!/usr/bin/env python
"""The zero-shot table's crops again, for BM3D given the noise's spectrum: does MASH beat the classical filter?

``scripts/zeroshot_bench.py`` scores MASH and ZS-N2N on 256x256 centre crops of the first CBSD68 photos with BM3D
given an estimated white sigma beside them (BENCHMARKS.md, "Zero-shot: MASH and ZS-N2N"). Since 0b75f49 BM3D can
be given a correlated noise's power spectrum (``noise2x.classical.correlated_psd``). This script draws the same
crops and noise (PROTOCOL.md, ``index = i``) and scores, on each: BM3D given the spectrum of the declared noise
(``bm3d(noisy, noise=spec)``), and ``noise2x.denoise`` with no options and with the noise declared; it reads the
table's MASH, ZS-N2N and BM3D figures from that table's JSON for the comparison (the same crops and noise: the
noisy PSNR is checked against the JSON's). Usage (the run behind BENCHMARKS.md)::

    python scripts/zeroshot_bm3d_psd.py --table benchmarks/zeroshot_cbsd68_256.json --out benchmarks/zeroshot_bm3d_psd.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from zeroshot_bench import DATA, _score, _timed, centre_crop, run_meta, write_json


def measure(table: dict[str, Any], dataset: Path, size: int) -> dict[str, Any]:
    from noise2x import api
    from noise2x.classical import bm3d
    from noise2x.io import list_images, read_image
    from noise2x.noise import parse_noise, protocol_noisy

    files = list_images(dataset)
    rows: dict[str, Any] = {}
    for spec, per in table["table"].items():
        got: dict[str, list[dict[str, Any]]] = {}
        for i, ref in enumerate(per["noisy"]):
            path = files[i]
            if path.name != ref["file"]:
                raise SystemExit(f"image {i} is {path.name}, the table's {ref['file']}")
            clean = centre_crop(read_image(path), size)
            noisy = protocol_noisy(clean, spec, index=i)
            score = _score(clean, noisy, None, clip=False, file=path.name)
            if abs(score["psnr"] - ref["psnr"]) > 1e-6:
                raise SystemExit(f"{path.name}, {spec}: noisy PSNR {score['psnr']:.6f}, the table's {ref['psnr']:.6f}")
            out, sec = _timed(lambda: bm3d(noisy, noise=parse_noise(spec)))
            got.setdefault("bm3d_spectrum", []).append(_score(clean, out, sec, file=path.name))
            for name, noise in (("auto", None), ("auto_noise", spec)):
                info: dict[str, Any] = {}
                out, sec = _timed(lambda: api.denoise(noisy, noise=noise, info=info))
                got.setdefault(name, []).append(_score(clean, out, sec, file=path.name, route=info.get("method")))
            print(f"[{spec} {i + 1}/{len(per['noisy'])}] " + ", ".join(
                f"{k} {v[-1]['psnr']:.2f}" for k, v in got.items()), file=sys.stderr, flush=True)
        rows[spec] = got
    return rows


def markdown(table: dict[str, Any], rows: dict[str, Any]) -> str:
    specs = list(rows)
    lines = ["| method | " + " | ".join(f"`{s}` PSNR / SSIM" for s in specs) + " | s / image |",
             "|---" * (len(specs) + 2) + "|"]
    names = [("noisy", "noisy input", table), ("bm3d", "BM3D (sigma estimated; the table's)", table),
             ("zs_n2n", "ZS-N2N (the table's)", table), ("mash", "MASH (the table's)", table),
             ("bm3d_spectrum", "BM3D given the noise's spectrum", None), ("auto", "`noise2x denoise` (no options)", None),
             ("auto_noise", "`noise2x denoise --noise SPEC`", None)]
    for key, label, source in names:
        cells, secs = [], []
        for spec in specs:
            per = (source["table"][spec] if source is not None else rows[spec])[key]
            cells.append(f"{np.mean([r['psnr'] for r in per]):.2f} / {np.mean([r['ssim'] for r in per]):.4f}")
            secs += [r["seconds"] for r in per if r.get("seconds") is not None]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {np.mean(secs):.1f} |" if secs else
                     f"| {label} | " + " | ".join(cells) + " | – |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", type=Path, required=True, help="the zero-shot table's JSON (zeroshot_bench.py --out)")
    p.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--out", type=Path)
    p.add_argument("--show", action="store_true", help="print the table of --out; runs nothing")
    args = p.parse_args(argv)
    table = json.loads(args.table.read_text())
    if args.show:
        print(markdown(table, json.loads(args.out.read_text())["rows"]))
        return 0
    if not args.dataset.is_dir():
        print(f"zeroshot_bm3d_psd: data folder missing: {args.dataset}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    rows = measure(table, args.dataset, args.size)
    if args.out:
        write_json(args.out, {"rows": rows, "meta": run_meta("zeroshot_bm3d_psd.py", argv, t0)})
    print(markdown(table, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
