#!/usr/bin/env python
"""Tune ZS-N2N's cpu schedule at (about) equal time, on calibration images only.

Runs ``zs_n2n`` with several (steps, lr, step_size, gamma, width) settings on
256x256 centre crops of CBSD68 images that the zero-shot table never uses
(sorted indices 20, 21, ... as for MASH's calibration), white Gaussian noise
sigma 25 drawn as in PROTOCOL.md (``rng = i``), and prints / writes PSNR, gain
over the noisy input (unclipped, as in PROTOCOL.md) and seconds per setting.
The runs behind BENCHMARKS.md (2026-11-30) were ``--images 2`` with the
first six settings (all the script had then) and ``--images 2 --only`` the
last three; their JSON is benchmarks/zs_n2n_schedule_round1.json and
_round2.json. Those runs scored the noisy input clipped to [0, 255], so their
``gain`` fields are against the clipped input; their PSNR and seconds are as
now. The cpu preset later went to 1200 steps (lr halved after 600) for
time alone; ``--images 4 --only "1300 lr1e-3 /2 every 650 w32;1200 lr1e-3
/2 every 600 w32"`` measured its cost (2026-12-01,
benchmarks/zs_n2n_schedule_round3.json). Fewer steps, for a margin under the
60 s budget on a slower host: ``--images 4 --only "1200 lr1e-3 /2 every 600
w32;1100 lr1e-3 /2 every 550 w32;1000 lr1e-3 /2 every 500 w32"``
(benchmarks/zs_n2n_schedule_round4.json); after it the cpu preset went to
1000 steps (lr halved after 500). Fewer still, for the host's slowest
phases: ``--images 4 --only "1000 lr1e-3 /2 every 500 w32;900 lr1e-3 /2
every 450 w32;800 lr1e-3 /2 every 400 w32"``
(benchmarks/zs_n2n_schedule_round5.json); after it the cpu preset went to
900 steps (lr halved after 450). Usage::

    python scripts/zs_n2n_schedule.py --images 2 --out runs/zs_sched.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from noise2x.benchmark import machine_info
from noise2x.fsutil import atomic_path
from noise2x.io import list_images, read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import zs_n2n

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import centre_crop  # noqa: E402  (the table's crop)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cbsd68"

#: name -> overrides of zs_n2n (steps, lr, step_size, gamma, width)
SETTINGS = {
    "600 lr1e-3 /2 every 300 (old cpu)": dict(steps=600, lr=1e-3, step_size=300, gamma=0.5, width=48),
    "560 lr2e-3 /2 every 140": dict(steps=560, lr=2e-3, step_size=140, gamma=0.5, width=48),
    "560 lr3e-3 /2 every 140": dict(steps=560, lr=3e-3, step_size=140, gamma=0.5, width=48),
    "560 lr2e-3 /2 every 280": dict(steps=560, lr=2e-3, step_size=280, gamma=0.5, width=48),
    "560 lr4e-3 /2 every 112": dict(steps=560, lr=4e-3, step_size=112, gamma=0.5, width=48),
    "800 lr2e-3 /2 every 200 w32": dict(steps=800, lr=2e-3, step_size=200, gamma=0.5, width=32),
    "620 lr2e-3 /2 every 310": dict(steps=620, lr=2e-3, step_size=310, gamma=0.5, width=48),
    "1300 lr2e-3 /2 every 650 w32": dict(steps=1300, lr=2e-3, step_size=650, gamma=0.5, width=32),
    "1300 lr1e-3 /2 every 650 w32": dict(steps=1300, lr=1e-3, step_size=650, gamma=0.5, width=32),
    "1200 lr1e-3 /2 every 600 w32": dict(steps=1200, lr=1e-3, step_size=600, gamma=0.5, width=32),
    "1100 lr1e-3 /2 every 550 w32": dict(steps=1100, lr=1e-3, step_size=550, gamma=0.5, width=32),
    "1000 lr1e-3 /2 every 500 w32": dict(steps=1000, lr=1e-3, step_size=500, gamma=0.5, width=32),
    "900 lr1e-3 /2 every 450 w32": dict(steps=900, lr=1e-3, step_size=450, gamma=0.5, width=32),
    "800 lr1e-3 /2 every 400 w32": dict(steps=800, lr=1e-3, step_size=400, gamma=0.5, width=32),
    # the paper's settings (the gpu preset's, whose tiles are the whole image on a 256x256 crop)
    "2000 lr1e-3 /2 every 1000 (paper)": dict(steps=2000, lr=1e-3, step_size=1000, gamma=0.5, width=48),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATA)
    parser.add_argument("--first", type=int, default=20, help="first calibration index (sorted order)")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--only", default="", help="semicolon-separated setting names (default: all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.dataset.is_dir():
        print(f"error: dataset folder not found: {args.dataset}", file=sys.stderr)
        return 2
    files = list_images(args.dataset)[args.first: args.first + args.images]
    names = [n for n in args.only.split(";") if n] or list(SETTINGS)
    rows = []
    for i, path in enumerate(files, start=args.first):
        clean = centre_crop(read_image(path), args.size)
        noisy = protocol_noisy(clean, "gaussian:sigma=25", index=i)
        base = psnr(clean, noisy, clip=False)
        for name in names:
            t0 = time.perf_counter()
            out = zs_n2n(noisy, rng=i, **SETTINGS[name])
            sec = time.perf_counter() - t0
            p = psnr(clean, out)                      # clips the prediction to [0, 255]
            rows.append({"image": path.name, "index": i, "setting": name, **SETTINGS[name],
                         "psnr": p, "gain": p - base, "seconds": sec})
            print(f"{path.name} {name:32s} {p:6.2f} dB  gain {p - base:+.2f}  {sec:5.1f} s", flush=True)
    print("\nmean over images:")
    summary = {}
    for name in names:
        r = [x for x in rows if x["setting"] == name]
        summary[name] = {k: float(np.mean([x[k] for x in r])) for k in ("psnr", "gain", "seconds")}
        print(f"{name:32s} {summary[name]['psnr']:6.2f} dB  gain {summary[name]['gain']:+.2f}  "
              f"{summary[name]['seconds']:5.1f} s")
    if args.out:
        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps({"meta": {**machine_info(), "date": time.strftime("%Y-%m-%d"),
                                                      "command": " ".join(sys.argv)},
                                             "rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
