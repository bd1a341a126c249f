#!/usr/bin/env python
"""Would MASH gain from averaging its step-1 probes into its output? (a diagnostic, on calibration images).

MASH's cpu preset (``noise2x.zeroshot.mash``) trains two repeats of a probe
pair (masking ratios 0.2 and 0.8, 600 steps each) to choose its ratio, then
throws those four networks away and trains step 3 from a fresh network. The
fixed-ratio-0.5 ablation trains step 3 alone, so at beta = 0.5, where MASH
chooses ratio 0.5, the two tie by construction (BENCHMARKS.md). Averaging the
probes' estimates into MASH's output would use that work, as an ensemble of
networks does. This script measures whether it can help: it runs MASH's cpu
preset as it is (seed ``rng = i``), keeps the probes' estimates (each ratio's
averaged over its repeats), and scores against the clean image:

* ``out``, ``low``, ``high``: PSNR of MASH's output and of each probe ratio's
  estimate;
* ``corr_low``, ``corr_high``: correlation of the output's error with each
  probe's error (an average of estimates gains little when their errors are
  strongly correlated);
* ``mix``: ``w * out + (1 - w) * other`` for each ``--weights`` w and other =
  the low probe, the high probe and their mean (fixed weights, as a method
  would use);
* ``oracle``: the least-squares weights of (out, low, high) fitted to the
  clean image of that same crop, and their PSNR: an upper bound that no rule
  without the clean image can reach;
* ``kept_noise_*``, ``rest_*``: each estimate's error split into the
  fraction of each pixel's own noise it reproduces and a rest uncorrelated
  with that noise (``mash_probe_anatomy.split_error``), over the whole crop.

On 256x256 centre crops of calibration images (``--first`` 12 and up, as
``scripts/mash_calibration.py``), noise ``correlated:sigma=S,beta=B`` per
PROTOCOL.md (``index = i``). PSNR on predictions clipped to [0, 255]
(PROTOCOL.md). Usage (the run behind BENCHMARKS.md, "Tried and not kept:
averaging the probes into the output")::

    python scripts/mash_probe_ensemble.py --out benchmarks/mash_probe_ensemble.json
    python scripts/mash_probe_ensemble.py --show benchmarks/mash_probe_ensemble.json
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
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mash_probe_anatomy import split_error  # noqa: E402
from zeroshot_bench import centre_crop, print_runs, run_meta, select_files, write_json  # noqa: E402  (the table's crop)

M = importlib.import_module("noise2x.zeroshot.mash")   # the module (the package exports the function ``mash``)
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cbsd68"
OTHERS = ("low", "high", "both")


def mash_with_probes(noisy: np.ndarray, *, rng: int) -> tuple[np.ndarray, list[list[np.ndarray]], dict[str, Any]]:
    """MASH (cpu preset, unchanged) on ``noisy``: its output, each probe repeat's ``[low, high]`` estimates, its info."""
    repeats: list[list[np.ndarray]] = []
    real = M.probe_pair

    def keep(*args: Any, **kwargs: Any) -> Any:
        estimates, nets = real(*args, **kwargs)
        repeats.append([np.array(e, dtype=np.float64) for e in estimates])
        return estimates, nets

    M.probe_pair = keep
    try:
        info: dict[str, Any] = {}
        out = M.mash(noisy, rng=rng, info=info)
    finally:
        M.probe_pair = real
    return out, repeats, info


def score(clean: np.ndarray, out: np.ndarray, low: np.ndarray, high: np.ndarray,
          weights: list[float], noisy: np.ndarray | None = None) -> dict[str, Any]:
    """The PSNRs, error correlations, fixed-weight mixes and least-squares oracle described in the module doc."""
    clean = np.asarray(clean, dtype=np.float64)
    row: dict[str, Any] = {"out": psnr(clean, out), "low": psnr(clean, low), "high": psnr(clean, high)}
    error = (out - clean).ravel()
    for key, estimate in (("low", low), ("high", high)):
        row[f"corr_{key}"] = float(np.corrcoef(error, (estimate - clean).ravel())[0, 1])
    others = {"low": low, "high": high, "both": (low + high) / 2}
    row["mix"] = {f"{w:g}": {name: psnr(clean, w * out + (1 - w) * other) for name, other in others.items()}
                  for w in weights}
    basis = np.stack([out.ravel(), low.ravel(), high.ravel()], axis=1)
    fitted, *_ = np.linalg.lstsq(basis, clean.ravel(), rcond=None)
    row["oracle_weights"] = [float(v) for v in fitted]
    row["oracle"] = psnr(clean, (basis @ fitted).reshape(clean.shape))
    if noisy is not None:
        for key, estimate in (("out", out), ("low", low), ("high", high)):
            row[f"kept_noise_{key}"], row[f"rest_{key}"] = split_error(clean, noisy, estimate)
    return row


def show(path: Path) -> str:
    """Markdown: one row per crop and noise, then the mean change over MASH's output per noise."""
    data = json.loads(path.read_text())
    rows = data["rows"]
    weights = list(rows[0]["mix"]) if rows else []
    head = ["image", "beta", "level", "MASH", "probe 0.2", "probe 0.8", "error corr. 0.2 / 0.8"]
    head += [f"w={w}, + {o}" for w in weights for o in OTHERS] + ["oracle", "oracle weights (out, 0.2, 0.8)"]
    split = bool(rows) and "kept_noise_out" in rows[0]
    if split:
        head += ["noise kept MASH / 0.2 / 0.8", "rest of error MASH / 0.2 / 0.8"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["file"], f"{r['beta']:g}", r["level"], f"{r['out']:.2f}", f"{r['low']:.2f}", f"{r['high']:.2f}",
                 f"{r['corr_low']:.2f} / {r['corr_high']:.2f}"]
        cells += [f"{r['mix'][w][o]:.2f}" for w in weights for o in OTHERS]
        cells += [f"{r['oracle']:.2f}", ", ".join(f"{v:.2f}" for v in r["oracle_weights"])]
        if split:
            cells += [" / ".join(f"{r[f'kept_noise_{k}']:.2f}" for k in ("out", "low", "high")),
                      " / ".join(f"{r[f'rest_{k}']:.1f}" for k in ("out", "low", "high"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean change over MASH's output, dB (min to max over the crops):", "",
              "| beta | crops | " + " | ".join(f"w={w}, + {o}" for w in weights for o in OTHERS) + " | oracle |",
              "|---|---|" + "---|" * (len(weights) * len(OTHERS) + 1)]
    for beta in sorted({r["beta"] for r in rows}):
        group = [r for r in rows if r["beta"] == beta]

        def change(values: list[float]) -> str:
            return f"{np.mean(values):+.2f} ({min(values):+.2f} to {max(values):+.2f})"

        cells = [change([r["mix"][w][o] - r["out"] for r in group]) for w in weights for o in OTHERS]
        cells.append(change([r["oracle"] - r["out"] for r in group]))
        lines.append(f"| {beta:g} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA)
    parser.add_argument("--first", type=int, default=20, help="first calibration index (sorted order)")
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sigma", type=float, default=25.0, help="the correlated noise's sigma (8-bit units)")
    parser.add_argument("--betas", default="0.5,0,1", help="comma list of betas")
    parser.add_argument("--weights", default="0.7,0.8", help="comma list of MASH output's weight w in the mixes")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--show", type=Path, metavar="FILE", help="print a run as tables")
    args = parser.parse_args(argv)
    if args.show:
        return print_runs(lambda: show(args.show), str(args.show))
    try:
        betas = [float(b) for b in args.betas.split(",") if b.strip()]
        weights = [float(w) for w in args.weights.split(",") if w.strip()]
    except ValueError:
        betas, weights = [], []
    if not betas or not all(0 <= b <= 1 for b in betas) or not weights or not all(0 <= w <= 1 for w in weights):
        print("error: --betas and --weights need comma lists of numbers in [0, 1]", file=sys.stderr)
        return 2
    if not args.sigma > 0:
        print(f"error: --sigma must be > 0, got {args.sigma:g}", file=sys.stderr)
        return 2
    window = int(M.PRESETS["cpu"]["probe_window"])
    if not 0 < args.size <= window:                   # a larger crop is probed on its centre window only
        print(f"error: --size must be between 1 and {window} (the cpu probe's window), got {args.size}",
              file=sys.stderr)
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
        for beta in betas:
            noisy = protocol_noisy(clean, f"correlated:sigma={args.sigma:g},beta={beta:g}", index=i)
            t0 = time.perf_counter()
            out, repeats, info = mash_with_probes(noisy, rng=i)
            low = np.mean([r[0] for r in repeats], axis=0)
            high = np.mean([r[1] for r in repeats], axis=0)
            row = {"file": path.name, "index": i, "sigma": args.sigma, "beta": beta, "level": info["level"],
                   "gap": info["gap"], "repeats": len(repeats), **score(clean, out, low, high, weights, noisy),
                   "seconds": time.perf_counter() - t0}
            rows.append(row)
            print(f"[{path.name} beta {beta:g}] {row['level']}: MASH {row['out']:.2f}, probes {row['low']:.2f} / "
                  f"{row['high']:.2f}, error corr. {row['corr_low']:.2f} / {row['corr_high']:.2f}, "
                  f"oracle {row['oracle']:.2f}", file=sys.stderr, flush=True)
            if args.out:                                  # partial results survive an interruption
                write_json(args.out, {"rows": rows, "meta": run_meta("mash_probe_ensemble.py", argv, t_start)})
    if args.out:
        print(show(args.out))
    else:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
