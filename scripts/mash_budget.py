#!/usr/bin/env python
"""MASH's fixed-ratio ablation given more training steps, up to as many as MASH trains in all.

MASH (cpu preset) trains 2 x 2 probes of 600 Adam steps and a final training of 2000 steps of a
fresh network; its fixed-ratio ablation trains 2000 steps of a fresh network and no
probe. So when MASH picks the ablation's ratio (medium, 0.5, at beta = 0.5), any lead it has comes from
its longer training, not from the ratio. This script trains the fixed ratio 0.5 for longer on the
zero-shot table's crops and noise (same crops, noise and seeds ``rng = i`` as
``scripts/zeroshot_bench.py``): ``--steps 2600`` is the final training plus one probe,
``--steps 4400`` every step MASH trains. ``--with-mash`` also runs MASH itself (the table has it for
crops 0-3). ``--grad-clip`` sets MASH's ``grad_clip`` for every run (default 0: unclipped, although the cpu
preset now clips at 1, so that the recorded commands give their figures again). Predictions are clipped to
[0, 255] before PSNR (PROTOCOL.md). Usage::

    python scripts/mash_budget.py --images 4 --steps 2600,4400 --out benchmarks/mash_budget.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from noise2x.io import read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import mash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import DATA, centre_crop, run_meta, select_files, write_json  # noqa: E402  (the table's crop)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--first", type=int, default=0, help="first image (sorted order; the table uses 0-3)")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--noise", default="correlated:sigma=25,beta=0.5")
    parser.add_argument("--ratio", type=float, default=0.5, help="the fixed masking ratio")
    parser.add_argument("--steps", default="2600,4400", help="comma list of final-training steps")
    parser.add_argument("--with-mash", action="store_true", help="also run MASH (cpu preset) on each crop")
    parser.add_argument("--grad-clip", type=float, default=0.0,
                        help="MASH's grad_clip for every run (0 = no clipping, as in the runs recorded "
                             "before the cpu preset clipped at 1)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        steps = []
    if not steps or min(steps) < 1:
        print(f"error: --steps needs positive integers, got '{args.steps}'", file=sys.stderr)
        return 2
    if not args.grad_clip >= 0:
        print(f"error: --grad-clip must be >= 0, got {args.grad_clip}", file=sys.stderr)
        return 2
    files, error = select_files(args.dataset, args.first, args.images)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for j, path in enumerate(files):
        i = args.first + j
        clean = centre_crop(read_image(path), args.size)
        noisy = protocol_noisy(clean, args.noise, index=i)
        row: dict[str, Any] = {"file": path.name, "index": i, "noisy": psnr(clean, noisy, clip=False)}
        if args.with_mash:
            info: dict[str, Any] = {}
            t0 = time.perf_counter()
            out = mash(noisy, rng=i, info=info, grad_clip=args.grad_clip)
            row["mash"] = {"psnr": psnr(clean, out), "seconds": time.perf_counter() - t0, "level": info["level"],
                           "ratio": info["ratio"]}
            _say(f"[{path.name}] mash: {row['mash']['psnr']:.2f} dB ({info['level']}) "
                 f"{row['mash']['seconds']:.0f} s")
        for n in steps:
            t0 = time.perf_counter()
            out = mash(noisy, rng=i, ratio=args.ratio, steps=n, grad_clip=args.grad_clip)
            row[f"ratio {args.ratio:g}, {n} steps"] = {"psnr": psnr(clean, out), "seconds": time.perf_counter() - t0}
            _say(f"[{path.name}] ratio {args.ratio:g}, {n} steps: {psnr(clean, out):.2f} dB "
                 f"{time.perf_counter() - t0:.0f} s")
        rows.append(row)
    keys = [k for k in rows[0] if isinstance(rows[0][k], dict)]
    summary = {k: {"psnr": float(np.mean([r[k]["psnr"] for r in rows])),
                   "seconds": float(np.mean([r[k]["seconds"] for r in rows]))} for k in keys}
    result = {"rows": rows, "summary": summary,
              "meta": {"noise": args.noise, "grad_clip": args.grad_clip,
                       **run_meta("mash_budget.py", argv, t_start)}}
    print(json.dumps(summary, indent=1))
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
