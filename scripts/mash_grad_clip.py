#!/usr/bin/env python
"""MASH (cpu preset) with and without clipping the gradient norm, on calibration crops only.

A diagnostic of the fixed-ratio ablation trained for 4400 steps (benchmarks/mash_budget.json) showed
an optimiser blow-up: the gradient norm, usually 0.35-0.5, jumped to about 1e5 in one step and the
training never recovered (16.4 dB, below the noisy input). This script measures whether clipping the
gradient's global norm before each Adam step (``grad_clip``: the final training only, never the probes) helps MASH at
its default budget, before any such change touches the test crops: it runs the cpu preset with each
``--clips`` value on CBSD68 calibration crops (sorted indices from 20, never the zero-shot table's
test crops 0-3 or the confusion crops up to 11), at each noise of the zero-shot table, with the
same seeds as the table (``rng = i``). Predictions are clipped to [0, 255] before PSNR
(PROTOCOL.md). The JSON is rewritten after every run, and a re-run with the same ``--out`` skips the
runs it already holds. Usage::

    python scripts/mash_grad_clip.py --first 20 --images 5 --clips 0,1 --out benchmarks/mash_grad_clip.json
    python scripts/mash_grad_clip.py --markdown benchmarks/mash_grad_clip.json   # its table for BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from noise2x.benchmark import machine_info
from noise2x.io import read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import mash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import (calibration_arguments, calibration_inputs, centre_crop,  # noqa: E402
                            script_command, write_json)  # (the table's crop and noises)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _clips(text: str) -> list[float]:
    try:
        values = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        return []
    return values if values and all(math.isfinite(v) and v >= 0 for v in values) else []


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per noise and clip: mean PSNR, mean seconds, levels chosen, and the mean gain over clip 0 per crop."""
    out: dict[str, dict[str, Any]] = {}
    plain = {(r["noise"], r["index"]): r["psnr"] for r in runs if r["clip"] == 0}
    for noise in dict.fromkeys(r["noise"] for r in runs):
        for clip in sorted({r["clip"] for r in runs if r["noise"] == noise}):
            sel = [r for r in runs if r["noise"] == noise and r["clip"] == clip]
            gains = [r["psnr"] - plain[(noise, r["index"])] for r in sel if (noise, r["index"]) in plain]
            out[f"{noise} | clip {clip:g}"] = {
                "crops": len(sel), "psnr": float(np.mean([r["psnr"] for r in sel])),
                "seconds": float(np.mean([r["seconds"] for r in sel])),
                "levels": {lv: sum(r["level"] == lv for r in sel) for lv in ("low", "medium", "high")},
                "gain_over_clip0": float(np.mean(gains)) if gains and clip != 0 else None,
                "gain_range": [float(min(gains)), float(max(gains))] if gains and clip != 0 else None,
            }
    return out


def markdown(result: dict[str, Any]) -> str:
    """A BENCHMARKS.md table of ``result``: per noise and clip, crops, mean PSNR, gain over clip 0, levels.

    Steps clipped (of the final training) are "?" for runs recorded before the script stored them.
    """
    lines = ["| noise | grad_clip | crops | MASH (dB) | gain over no clipping (dB): mean, per crop | "
             "levels (low/medium/high) | steps clipped, per crop | s per crop |", "|---|---|---|---|---|---|---|---|"]
    runs = result["runs"]
    plain = {(r["noise"], r["index"]): r["psnr"] for r in runs if r["clip"] == 0}
    for key, row in summarise(runs).items():
        noise, clip = key.split(" | clip ")
        per_crop = [r["psnr"] - plain[(noise, r["index"])] for r in runs
                    if r["noise"] == noise and r["clip"] == float(clip) and (noise, r["index"]) in plain]
        gain = ("-" if row["gain_over_clip0"] is None else
                f"{row['gain_over_clip0']:+.2f}: " + ", ".join(f"{g:+.2f}" for g in per_crop))
        levels = "/".join(str(row["levels"][lv]) for lv in ("low", "medium", "high"))
        clipped = "-" if float(clip) == 0 else ", ".join(
            "?" if r.get("clipped_steps") is None else str(r["clipped_steps"])
            for r in runs if r["noise"] == noise and r["clip"] == float(clip))
        lines.append(f"| {noise} | {clip} | {row['crops']} | {row['psnr']:.2f} | {gain} | {levels} | {clipped} | "
                     f"{row['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    calibration_arguments(parser)
    parser.add_argument("--clips", default="0,1", help="comma list of gradient-norm limits (0 = no clipping)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--markdown", type=Path, metavar="JSON", help="print the table of this JSON and stop")
    args = parser.parse_args(argv)
    if args.markdown:
        try:
            print(markdown(json.loads(args.markdown.read_text())))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: cannot read {args.markdown} as this script's JSON ({exc})", file=sys.stderr)
            return 2
        return 0
    clips = _clips(args.clips)
    noises = [n.strip() for n in args.noises.split(";") if n.strip()]
    if not clips:
        print(f"error: --clips needs numbers >= 0, got '{args.clips}'", file=sys.stderr)
        return 2
    if not noises:
        print("error: --noises is empty", file=sys.stderr)
        return 2
    inputs = calibration_inputs(args)
    if inputs is None:
        return 2
    files, runs = inputs
    done = {(r["noise"], r["index"], r["clip"]) for r in runs}
    command = script_command("mash_grad_clip.py", argv)
    t_start = time.perf_counter()
    for noise in noises:
        for j, path in enumerate(files):
            i = args.first + j
            clean = centre_crop(read_image(path), args.size)
            noisy = protocol_noisy(clean, noise, index=i)
            for clip in clips:
                if (noise, i, clip) in done:
                    continue
                info: dict[str, Any] = {}
                t0 = time.perf_counter()
                out = mash(noisy, rng=i, grad_clip=clip, info=info)
                run = {"noise": noise, "file": path.name, "index": i, "clip": clip, "psnr": psnr(clean, out),
                       "noisy": psnr(clean, noisy, clip=False), "level": info["level"], "gap": info["gap"],
                       "clipped_steps": info.get("clipped_steps"), "max_grad_norm": info.get("max_grad_norm"),
                       "seconds": time.perf_counter() - t0, "date": time.strftime("%Y-%m-%d"),
                       "command": command}
                runs.append(run)
                _say(f"[{path.name} {noise}] clip {clip:g}: {run['psnr']:.2f} dB ({run['level']}, gap "
                     f"{run['gap']:.3f}) {run['seconds']:.0f} s")
                if args.out:
                    result = {"runs": runs, "summary": summarise(runs),
                              "meta": {"machine": machine_info(), "last_command": command,
                                       "last_wall_s": time.perf_counter() - t_start}}
                    write_json(args.out, result)
    print(json.dumps(summarise(runs), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
