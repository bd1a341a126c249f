"""Inference throughput of noise2x models on this machine, beside its measured convolution throughput.

The physical limit is measured in the same run: a 3x3 convolution 64->64 channels on 1x64x256x256 float32
(the calibration of ../shared/peers/cpu_calibration.py), in GFLOP/s with FLOPs = 2*H*W*Cin*Cout*9.
Each model denoises a gray image of SIZE x SIZE through noise2x's tiled inference (api.denoise, tile 256),
its FLOPs per pixel are counted with torch.utils.flop_counter on one 256x256 tile,
so "efficiency" = achieved GFLOP/s / calibration GFLOP/s.

Each model runs, after a warm-up round, REPEATS rounds in which every combination of forward-pass
precision (--precisions; noise2x.predict.PRECISIONS) and memory layout (--layouts: channels_last, noise2x's
CPU default since 2026-12-02, and contiguous, the layout before; set through
noise2x.predict.CPU_CHANNELS_LAST) runs once, so that a change of the host's speed reaches every combination
alike; the median of each combination's runs is reported. "bf16 / fp32 max diff" is the largest difference
between the two outputs (8-bit units, on this untrained network, channels-last). The blind-spot row is the
network's mean (no posterior).

Usage: python scripts/throughput.py [--size 1024] [--repeats 3] [--out benchmarks/throughput.json]
       [--models unet-cpu,unet-paper,dncnn,...]   (architectures built untrained: speed does not need weights)
       [--precisions fp32,bf16] [--layouts channels_last,contiguous]
       python scripts/throughput.py --markdown benchmarks/throughput.json   (the BENCHMARKS.md table)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from noise2x.benchmark import machine_info
from noise2x.models import build_model
from noise2x.models.scaled import ScaledModel
from noise2x import predict
from noise2x.predict import denoise_array

ARCHS = {
    "unet-cpu": ("unet", {"in_channels": 1, "out_channels": 1, "width": 32, "depth": 3}),
    "unet-paper": ("unet", {"in_channels": 1, "out_channels": 1, "width": 48, "depth": 5}),
    "dncnn": ("dncnn", {"in_channels": 1, "out_channels": 1}),
    "blindspot-cpu": ("blindspot", {"in_channels": 1, "width": 32, "dec_width": 32, "depth": 3, "head_width": 64}),
}


def conv_gflops(repeats: int = 10) -> float:
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    x = torch.randn(1, 64, 256, 256)
    flops = 2 * 256 * 256 * 64 * 64 * 9
    times = []
    with torch.inference_mode():
        conv(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            conv(x)
            times.append(time.perf_counter() - t0)
    return flops / statistics.median(times) / 1e9


def flops_per_pixel(model: torch.nn.Module) -> float:
    x = torch.randn(1, 1, 256, 256)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return counter.get_total_flops() / (256 * 256)


def markdown(result: dict) -> str:
    """The BENCHMARKS.md table of a result file."""
    rows = result["rows"]
    extra = [k for k in ("layout", "precision") if any(k in r for r in rows)]
    head = ["model"] + extra + ["MFLOP/pixel", "MP/s", "achieved GFLOP/s", "fraction of the convolution limit"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"]] + [str(r.get(k, "")) for k in extra]
        cells += [f"{r['mflop_per_pixel']:.3f}", f"{r['mp_per_s']:.3f}", f"{r['gflop_per_s']:.1f}",
                  f"{r['efficiency']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    diffs = [f"{r['model']} {r['max_diff_vs_fp32']:.2f}" for r in rows
             if "max_diff_vs_fp32" in r and r.get("layout", "channels_last") == "channels_last"]
    if diffs:
        lines += ["", "bf16 / fp32 max diff (8-bit units, untrained networks): " + ", ".join(diffs) + "."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=",".join(ARCHS))
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--layouts", default="channels_last,contiguous")
    ap.add_argument("--out", default="benchmarks/throughput.json")
    ap.add_argument("--markdown", metavar="JSON", help="print the table of a result file and exit")
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return
    torch.manual_seed(0)
    image = np.random.default_rng(0).normal(128, 25, (args.size, args.size))
    rows = []
    calib_before = conv_gflops()
    for name in args.models.split(","):
        arch, arch_args = ARCHS[name]
        net = build_model(arch, **arch_args)
        model = ScaledModel(net, arch=arch, arch_args=arch_args, mean=[128.0], std=[64.0]).eval()
        fpp = flops_per_pixel(model)
        combos = [(layout, precision) for layout in args.layouts.split(",") for precision in args.precisions.split(",")]
        times: dict[tuple[str, str], list[float]] = {c: [] for c in combos}
        outputs = {}
        for round_ in range(args.repeats + 1):  # round 0 warms up; the combinations alternate within each round
            for layout, precision in combos:
                predict.CPU_CHANNELS_LAST = {"channels_last": True, "contiguous": False}[layout]
                t0 = time.perf_counter()
                outputs[layout, precision] = denoise_array(model, image, precision=precision)
                if round_:
                    times[layout, precision].append(time.perf_counter() - t0)
        for layout, precision in combos:
            sec = statistics.median(times[layout, precision])
            mps = args.size * args.size / sec / 1e6
            row = {"model": name, "arch": arch, "arch_args": arch_args, "layout": layout, "precision": precision,
                   "mflop_per_pixel": round(fpp / 1e6, 3), "seconds": round(sec, 3),
                   "runs_s": [round(t, 3) for t in times[layout, precision]],
                   "mp_per_s": round(mps, 4), "gflop_per_s": round(fpp * mps * 1e6 / 1e9, 2)}
            if precision != "fp32" and (layout, "fp32") in outputs:
                row["max_diff_vs_fp32"] = round(float(np.abs(outputs[layout, precision]
                                                             - outputs[layout, "fp32"]).max()), 4)
            rows.append(row)
            print(rows[-1], flush=True)
        predict.CPU_CHANNELS_LAST = True
    calib_after = conv_gflops()
    calib = statistics.median([calib_before, calib_after])
    for row in rows:
        row["efficiency"] = round(row["gflop_per_s"] / calib, 3)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine_info(), "threads": torch.get_num_threads(),
              "command": "python scripts/throughput.py " + " ".join(sys.argv[1:]),
              "image": f"{args.size}x{args.size} gray, tile 256, overlap 32",
              "conv_calibration_gflop_per_s": round(calib, 1),
              "conv_calibration_runs": [round(calib_before, 1), round(calib_after, 1)], "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"conv calibration {calib:.1f} GFLOP/s")
    print(markdown(result))


if __name__ == "__main__":
    main()
