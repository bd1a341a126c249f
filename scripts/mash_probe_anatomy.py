#!/usr/bin/env python
"""What MASH's probe gap is made of: noise reproduced against signal lost (a diagnostic, on calibration images).

MASH's step 1 (``noise2x.zeroshot.mash``) trains a probe at masking ratio
0.2 and one at 0.8 and compares the standard deviations of the residuals
``noisy - estimate`` over the flattest quarter of the image (the cpu
preset). The idea: the more correlated the noise, the more of it the
ratio-0.2 probe reproduces, so its residual std drops below the other's. But
a residual also holds the signal a briefly trained probe lost. With the clean
image known, this script splits each probe's residual in the measured region:
the estimate's error ``estimate - clean`` is ``k * noise`` (``kept_noise``:
the fraction of each pixel's own noise the estimate reproduces) plus a rest
uncorrelated with that noise (``lost``: the signal lost, and noise of other
pixels the estimate passes on), so that the residual's std is
``sqrt((1 - k)**2 * noise**2 + lost**2)``. These are recorded beside the gap,
signed (``(std_high - std_low) / max``; the cpu gap is its absolute value).

On 256x256 centre crops of calibration images (``--first`` 12 and up, as
``scripts/mash_calibration.py``), noise ``correlated:sigma=S,beta=B`` per
PROTOCOL.md (``index = i``), one probe pair per noise trained as the cpu
preset's first probe repeat (seed ``rng = i``: its gap is the first entry of
the calibration runs' ``gaps``). ``--mask pixel`` hides all channels of a
pixel together in the probes' training and averaging (no preset does; on a
gray image it changes nothing but the random stream). Usage (the runs behind
BENCHMARKS.md, "Zero-shot: what MASH's probe gap is made of")::

    python scripts/mash_probe_anatomy.py --dataset ../shared/data/bsd68 --out runs/anatomy_gray.json
    python scripts/mash_probe_anatomy.py --out runs/anatomy_colour.json
    python scripts/mash_probe_anatomy.py --mask pixel --out runs/anatomy_colour_pixel.json
    python scripts/mash_probe_anatomy.py --probe-steps 1200 --sigmas 10,25 --betas 0,0.5 \\
        --out runs/anatomy_colour_1200.json
    python scripts/mash_probe_anatomy.py --dataset ../shared/data/bsd68 --first 31 --images 1 --sigmas 5,10 \\
        --out runs/anatomy_gray_test032.json
    python scripts/mash_probe_anatomy.py --summary --show benchmarks/mash_probe_anatomy_colour.json ...
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from noise2x.io import read_image
from noise2x.noise import protocol_noisy
from noise2x.zeroshot.nets import make_generators, to_tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import centre_crop, print_runs, run_meta, select_files, write_json  # noqa: E402  (the table's crop)

M = importlib.import_module("noise2x.zeroshot.mash")   # the module (the package exports the function ``mash``)
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cbsd68"


def anatomy(clean: np.ndarray, noisy: np.ndarray, *, rng: int, per_pixel: bool,
            probe_steps: int | None = None) -> dict[str, float]:
    """One cpu probe pair on ``noisy`` (8-bit units) and its residuals split against ``clean``.

    ``probe_steps`` trains the probes for that many steps instead of the preset's.
    """
    cfg = M._config("cpu", {"probe_steps": probe_steps})
    image = np.asarray(noisy, dtype=np.float64)
    _, gen = make_generators(rng)
    (low, high), _ = M.probe_pair(to_tensor(image), image, cfg=cfg, gen=gen, per_pixel=per_pixel)
    region = M.flattest_region((low + high) / 2, fraction=float(cfg["probe_fraction"]))
    clean = np.asarray(clean, dtype=np.float64)
    out: dict[str, float] = {"std_low": float((image - low)[region].std()),
                             "std_high": float((image - high)[region].std()),
                             "noise": float((image - clean)[region].std())}
    for key, estimate in (("low", low), ("high", high)):
        out[f"kept_noise_{key}"], out[f"lost_{key}"] = split_error(clean[region], image[region], estimate[region])
    out["signed_gap"] = (out["std_high"] - out["std_low"]) / max(out["std_low"], out["std_high"], 1e-12)
    return out


def split_error(clean: np.ndarray, noisy: np.ndarray, estimate: np.ndarray) -> tuple[float, float]:
    """``(k, rest)``: the estimate's error is ``k * noise`` plus a rest uncorrelated with the noise (its std).

    ``k`` is the least-squares fraction of each entry's own noise (``noisy -
    clean``) in the error ``estimate - clean`` (both centred). Then the
    residual's variance is exactly ``(1 - k)**2 * var(noise) + rest**2``.
    """
    noise = np.asarray(noisy, dtype=np.float64) - clean
    noise = noise - noise.mean()
    error = np.asarray(estimate, dtype=np.float64) - clean
    error = error - error.mean()
    k = float((error * noise).mean() / max(float((noise * noise).mean()), 1e-12))
    return k, float((error - k * noise).std())


def show(paths: list[Path]) -> str:
    """A markdown table of the runs in ``paths``, one row per probe."""
    lines = ["| image | mask | sigma | beta | residual std low / high | noise | noise kept low / high "
             "| rest of the error low / high | signed gap |",
             "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        data = json.loads(path.read_text())
        for r in data["rows"]:
            lines.append(f"| {r['file']} | {data['meta']['mask']} | {r['sigma']:g} | {r['beta']:g} | "
                         f"{r['std_low']:.2f} / {r['std_high']:.2f} | {r['noise']:.2f} | "
                         f"{r['kept_noise_low']:.2f} / {r['kept_noise_high']:.2f} | "
                         f"{r['lost_low']:.2f} / {r['lost_high']:.2f} | {r['signed_gap']:+.3f} |")
    return "\n".join(lines)


def summary(paths: list[Path]) -> str:
    """A markdown table of the runs in ``paths``: per run file, sigma and beta, each figure's range over the images."""
    lines = ["| run | sigma | beta | images | noise kept low | noise kept high | rest of error low "
             "| rest of error high | signed gap |", "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        rows = json.loads(path.read_text())["rows"]
        for sigma, beta in sorted({(r["sigma"], r["beta"]) for r in rows}):
            group = [r for r in rows if (r["sigma"], r["beta"]) == (sigma, beta)]

            def span(key: str, fmt: str) -> str:
                values = [r[key] for r in group]
                return f"{min(values):{fmt}} to {max(values):{fmt}}"

            lines.append(f"| {path.stem} | {sigma:g} | {beta:g} | {len(group)} | {span('kept_noise_low', '.2f')} | "
                         f"{span('kept_noise_high', '.2f')} | {span('lost_low', '.1f')} | {span('lost_high', '.1f')} | "
                         f"{span('signed_gap', '+.3f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA)
    parser.add_argument("--first", type=int, default=36, help="first calibration index (sorted order)")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sigmas", default="10,25", help="comma list of the correlated noise's sigma (8-bit)")
    parser.add_argument("--betas", default="0,0.5,1", help="comma list of betas")
    parser.add_argument("--mask", choices=("entry", "pixel"), default="entry",
                        help="probe masks per entry (every preset) or per pixel")
    parser.add_argument("--probe-steps", type=int, help="train the probes this long (default: the cpu preset's)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--show", type=Path, nargs="+", metavar="FILE", help="print these runs as a table")
    parser.add_argument("--summary", action="store_true", help="with --show: each figure's range over the images")
    args = parser.parse_args(argv)
    if args.show:
        return print_runs(lambda: summary(args.show) if args.summary else show(args.show), "the runs")
    try:
        sigmas = [float(s) for s in args.sigmas.split(",") if s.strip()]
        betas = [float(b) for b in args.betas.split(",") if b.strip()]
    except ValueError:
        sigmas, betas = [], []
    if not sigmas or not betas or not all(s > 0 for s in sigmas) or not all(0 <= b <= 1 for b in betas):
        print("error: --sigmas needs numbers > 0 and --betas numbers in [0, 1]", file=sys.stderr)
        return 2
    if args.probe_steps is not None and args.probe_steps < 1:
        print(f"error: --probe-steps must be at least 1, got {args.probe_steps}", file=sys.stderr)
        return 2
    files, error = select_files(args.dataset, args.first, args.images, calibration=True)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for j, path in enumerate(files):
        i = args.first + j
        clean = centre_crop(read_image(path), args.size)
        for sigma in sigmas:
            for beta in betas:
                noisy = protocol_noisy(clean, f"correlated:sigma={sigma:g},beta={beta:g}", index=i)
                t0 = time.perf_counter()
                row = {"file": path.name, "index": i, "sigma": sigma, "beta": beta,
                       **anatomy(clean, noisy, rng=i, per_pixel=args.mask == "pixel", probe_steps=args.probe_steps),
                       "seconds": time.perf_counter() - t0}
                rows.append(row)
                print(f"[{path.name} sigma {sigma:g} beta {beta:g}] stds {row['std_low']:.2f} / "
                      f"{row['std_high']:.2f}, kept {row['kept_noise_low']:.2f} / {row['kept_noise_high']:.2f}, "
                      f"lost {row['lost_low']:.2f} / {row['lost_high']:.2f}, signed gap {row['signed_gap']:+.3f}",
                      file=sys.stderr, flush=True)
                if args.out:                                  # partial results survive an interruption
                    meta = {**run_meta("mash_probe_anatomy.py", argv, t_start), "mask": args.mask,
                            "probe_steps": args.probe_steps or M.PRESETS["cpu"]["probe_steps"]}
                    write_json(args.out, {"rows": rows, "meta": meta})
    print(show([args.out]) if args.out else json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
