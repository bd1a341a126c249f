#!/usr/bin/env python
"""MASH with a longer final training (step 3), on calibration crops: what more steps buy where time is cheap
(a GPU, where MASH's cpu preset takes about 30 s per 256x256 crop).

The cpu preset trains 2 x 2 probes of 600 Adam steps and a final training of 2000 steps (its shuffle after
500, a quarter). Here the final training runs ``--steps`` steps (the shuffle after a quarter of them), all
else the cpu preset's, on CBSD68 calibration crops (index 20 and up, never the zero-shot table's test crops;
noise and seeds as ``scripts/mash_grad_clip.py``: noise ``index = i``, ``rng = i``). The 2000-step runs are
the cpu preset itself: ``--baseline benchmarks/mash_grad_clip.json`` takes them from that script's
``grad_clip = 1`` runs (the cpu preset's clip) instead of training them again, after ``--check`` crops of
them were trained again here and gave the same PSNR. Every random draw is made on the CPU whatever the
device, so these runs give a GPU's results up to its arithmetic. Usage::

    python scripts/mash_steps.py --steps 4000 --baseline benchmarks/mash_grad_clip.json --check 1 \\
        --out benchmarks/mash_steps.json
    python scripts/mash_steps.py --markdown benchmarks/mash_steps.json
"""

from __future__ import annotations

import argparse
import json
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
from zeroshot_bench import (calibration_arguments, calibration_inputs, centre_crop, earlier_runs,  # noqa: E402
                            print_runs, script_command, write_json)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def markdown(result: dict[str, Any]) -> str:
    """Per noise and step count: crops, mean PSNR, the gain over 2000 steps per crop, levels, seconds."""
    runs = result["runs"]
    base = {(r["noise"], r["index"]): r["psnr"] for r in runs if r["steps"] == 2000}
    lines = ["| noise | final steps | crops | MASH (dB) | gain over 2000 steps (dB): mean, per crop | "
             "levels (low/medium/high) | s per crop |", "|---|---|---|---|---|---|---|"]
    gains_all = []
    for noise in dict.fromkeys(r["noise"] for r in runs):
        for steps in sorted({r["steps"] for r in runs if r["noise"] == noise}):
            sel = [r for r in runs if r["noise"] == noise and r["steps"] == steps]
            gains = [r["psnr"] - base[(noise, r["index"])] for r in sel if (noise, r["index"]) in base]
            if steps != 2000:
                gains_all += gains
            gain = "-" if steps == 2000 or not gains else (f"{np.mean(gains):+.2f}: "
                                                           + ", ".join(f"{g:+.2f}" for g in gains))
            levels = "/".join(str(sum(r["level"] == lv for r in sel)) for lv in ("low", "medium", "high"))
            secs = [r["seconds"] for r in sel if r.get("seconds")]
            lines.append(f"| {noise} | {steps} | {len(sel)} | {np.mean([r['psnr'] for r in sel]):.2f} | {gain} | "
                         f"{levels} | {f'{np.mean(secs):.0f}' if secs else '-'} |")
    if gains_all:
        lines += ["", f"Mean gain over every crop and noise: {np.mean(gains_all):+.3f} dB ({len(gains_all)} runs, "
                  f"{sum(g > 0 for g in gains_all)} ahead)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    calibration_arguments(parser)
    parser.add_argument("--steps", default="4000", help="comma list of final-training steps")
    parser.add_argument("--baseline", type=Path, help="mash_grad_clip.py's JSON: its grad_clip = 1 runs are "
                        "the 2000-step runs")
    parser.add_argument("--check", type=int, default=1, help="baseline runs trained again to check them")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--markdown", type=Path, metavar="JSON", help="print the table of this JSON and stop")
    args = parser.parse_args(argv)
    if args.markdown:
        return print_runs(lambda: markdown(json.loads(args.markdown.read_text())), f"{args.markdown}")
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        steps = []
    noises = [n.strip() for n in args.noises.split(";") if n.strip()]
    if not steps or min(steps) < 1 or not noises:
        print("error: --steps needs whole numbers >= 1 and --noises a noise", file=sys.stderr)
        return 2
    inputs = calibration_inputs(args)
    baseline = earlier_runs(args.baseline, "--baseline") if args.baseline and inputs else []
    if inputs is None or baseline is None:
        return 2
    files, runs = inputs
    if args.baseline and not args.baseline.is_file():
        print(f"error: --baseline {args.baseline} not found", file=sys.stderr)
        return 2
    wanted = {(n, args.first + j) for n in noises for j in range(len(files))}
    if not any(r["steps"] == 2000 for r in runs):
        for r in baseline:
            if r["clip"] == 1 and (r["noise"], r["index"]) in wanted:
                runs.append({**r, "steps": 2000, "from": str(args.baseline)})
    command = script_command("mash_steps.py", argv)
    t_start = time.perf_counter()
    checks = sum("check_psnr" in r for r in runs)  # (those of an earlier run count)
    for noise in noises:
        for j, path in enumerate(files):
            i = args.first + j
            clean = centre_crop(read_image(path), args.size)
            noisy = protocol_noisy(clean, noise, index=i)
            todo = [s for s in steps if not any(r["noise"] == noise and r["index"] == i and r["steps"] == s
                                                and "from" not in r for r in runs)]
            earlier = next((r for r in runs if r["noise"] == noise and r["index"] == i and r["steps"] == 2000
                            and "from" in r and "check_psnr" not in r), None)
            if earlier is not None and checks < args.check:
                todo = [2000] + todo
                checks += 1
            for s in todo:
                info: dict[str, Any] = {}
                t0 = time.perf_counter()
                out = mash(noisy, rng=i, steps=s, shuffle_at=s // 4, info=info)
                run = {"noise": noise, "file": path.name, "index": i, "steps": s, "psnr": psnr(clean, out),
                       "noisy": psnr(clean, noisy, clip=False), "level": info["level"], "gap": info["gap"],
                       "seconds": time.perf_counter() - t0, "date": time.strftime("%Y-%m-%d"), "command": command}
                if s == 2000 and earlier is not None:  # the check of a baseline run
                    earlier["check_psnr"] = run["psnr"]
                    _say(f"[{path.name} {noise}] check: {run['psnr']:.4f} dB here, {earlier['psnr']:.4f} recorded")
                else:
                    runs.append(run)
                    _say(f"[{path.name} {noise}] {s} steps: {run['psnr']:.2f} dB ({run['level']}) "
                         f"{run['seconds']:.0f} s")
                if args.out:
                    write_json(args.out, {"runs": runs, "meta": {"machine": machine_info(), "last_command": command,
                                                                 "last_wall_s": time.perf_counter() - t_start}})
    print(markdown({"runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
