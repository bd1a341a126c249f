#!/usr/bin/env python
"""Does ``noise2x.estimate.jpeg_blocks`` tell JPEGs from images that never went through JPEG, under noise?

The first photos of each dataset, with the noises of ``--noises`` (PROTOCOL.md, ``index = i``, rounded to 8 bits,
clipped) and clean, read as they are and after saving as JPEG at each quality (Pillow, as
``scripts/jpeg_route_check.py`` saves them): the excess ``jpeg_blocks`` reads, whether the grid it finds is
the JPEG's (offset (0, 0)), the rounding spread ``jpeg_rounding`` reads on that grid (small on a JPEG as its
decoder left it, near 1 where noise was added after) and the share ``jpeg_fine_steps`` reads there (about 0 up to
quality 90, larger on a near-lossless JPEG). The datasets' photos are themselves decoded JPEGs (the
BSD's originals), so a clean photo reads as one. Usage (the run behind BENCHMARKS.md, "Noisy JPEGs")::

    python scripts/jpeg_blocks_check.py --out benchmarks/jpeg_blocks_check.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from jpeg_route_check import jpeg, present  # (the same JPEG round trip, the same data check)
from pg_route_calibration import DATA, record


def measure(datasets: list[str], count: int, noises: list[str], qualities: list[int]) -> list[dict[str, Any]]:
    from noise2x.estimate import jpeg_blocks, jpeg_fine_steps, jpeg_rounding
    from noise2x.io import list_images, read_image
    from noise2x.noise import protocol_noisy

    rows = []
    for name in datasets:
        for i, path in enumerate(list_images(DATA / name)[:count]):
            clean = read_image(path)
            for noise in noises:
                src = clean if noise == "clean" else protocol_noisy(clean, noise, index=i)
                src = np.clip(np.round(src), 0, 255)
                for q in [0, *qualities]:
                    x = src if q == 0 else jpeg(src, q)
                    excess, offset = jpeg_blocks(x)
                    rows.append({"set": name, "image": path.name, "noise": noise, "quality": q or None,
                                 "excess": round(excess, 4), "offset": list(offset),
                                 "rounding": round(jpeg_rounding(x, offset), 4),
                                 "fine": round(jpeg_fine_steps(x, offset), 4)})
    return rows


def show(rows: list[dict[str, Any]], threshold: float) -> None:
    print(f"jpeg_blocks excess (min / median / max over the photos); grid found at the JPEG's offset; read as JPEG "
          f"(excess >= {threshold:g})\n")
    rounding = all("rounding" in r for r in rows)  # (jpeg_rounding: in the files recorded since 2026-12-05 02:30)
    fine = all("fine" in r for r in rows)  # (jpeg_fine_steps: since 2026-12-05 04:00)
    print("| set | noise | saved as | excess | at the JPEG's grid | read as JPEG |"
          + (" rounding spread (jpeg_rounding) |" if rounding else "") + (" fine steps (jpeg_fine_steps) |" if fine else ""))
    print("|---|---|---|---|---|---|" + ("---|" if rounding else "") + ("---|" if fine else ""))
    for key in dict.fromkeys((r["set"], r["noise"], r["quality"]) for r in rows):
        rs = [r for r in rows if (r["set"], r["noise"], r["quality"]) == key]
        e = [r["excess"] for r in rs]
        grid = sum(r["offset"] == [0, 0] for r in rs) if key[2] else None
        spread = _spread([r["rounding"] for r in rs]) if rounding else ""
        spread += _spread([r["fine"] for r in rs], 4) if fine else ""
        print(f"| {key[0]} | {key[1]} | {'as it is' if key[2] is None else f'JPEG {key[2]}'} | "
              f"{min(e):.3f} / {np.median(e):.3f} / {max(e):.3f} | {'–' if grid is None else f'{grid} of {len(rs)}'} | "
              f"{sum(x >= threshold for x in e)} of {len(rs)} |{spread}")
    print()


def _spread(values: list[float], digits: int = 2) -> str:
    v = [x for x in values if x == x]  # (nan: no near-zero coefficient)
    return f" {min(v):.{digits}f} / {np.median(v):.{digits}f} / {max(v):.{digits}f} |" if v else " – |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="bsd68,cbsd68")
    p.add_argument("--images", type=int, default=12, help="the first N photos of each")
    p.add_argument("--noises", default="clean;gaussian:sigma=5;gaussian:sigma=10;gaussian:sigma=25;poisson:peak=10")
    p.add_argument("--qualities", default="50,75,90,95", help="JPEG qualities, comma-separated")
    p.add_argument("--out", type=Path)
    p.add_argument("--show", type=Path, help="print the table of an earlier run's file; runs nothing")
    args = p.parse_args(argv)
    from noise2x.pretrained import JPEG_EXCESS

    if args.show:
        show(json.loads(args.show.read_text())["rows"], JPEG_EXCESS)
        return 0
    datasets = present(args.datasets, "jpeg_blocks_check", DATA)
    if datasets is None:
        return 1
    t0 = time.time()
    rows = measure(datasets, args.images, [n for n in args.noises.split(";") if n],
                   [int(q) for q in args.qualities.split(",")])
    record(rows, t0, "jpeg_blocks_check", argv, args.out, {"jpeg_excess": JPEG_EXCESS})
    show(rows, JPEG_EXCESS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
