#!/usr/bin/env python
"""Markdown table of `noise2x bench` JSON files, for BENCHMARKS.md (figures are read, never typed).

One row per method row of each file (the noisy row once per file), with the gain over that
file's noisy input and, for model files, how the model was trained (method, steps, seconds,
threads, training noise); a gray model run on colour images says how (its planes), and a forward pass
other than fp32 is named (noise2x bench --precision). A peer's JSON (../shared/peers, e.g. CAREamics' Noise2Void) gives
one row per dataset it measured.

Usage: python scripts/bench_table.py runs/a/set12_g25.json [more.json ...] [--label [FILE_STEM:]METHOD=LABEL ...]
       [--drop [FILE_STEM:]METHOD ...] [--no-noisy]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from noise2x.predict import COLOUR_LABELS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--label", action="append", default=[],
                    help="row label replacement, METHOD=LABEL, or FILE_STEM:METHOD=LABEL for one file's row")
    ap.add_argument("--no-noisy", action="store_true", help="leave out the noisy rows")
    ap.add_argument("--drop", action="append", default=[],
                    help="leave out a method's rows, METHOD or FILE_STEM:METHOD for one file's row")
    a = ap.parse_args()
    labels = dict(s.split("=", 1) for s in a.label)
    print("| method | data, noise | PSNR (dB) | gain (dB) | SSIM | s/image | training (method, steps, s, threads, noise) |")
    print("|---|---|---|---|---|---|---|")
    for f in a.files:
        d = json.loads(Path(f).read_text())
        if "rows" not in d and "results" in d:  # a peer result (../shared/peers/*.py, e.g. CAREamics N2V)
            peer_rows(d, labels)
            continue
        rows = d["rows"]
        noisy = next(r for r in rows if r["method"] == "noisy")
        for r in rows:
            if (r["method"] == "noisy" and a.no_noisy) or r["method"] in a.drop \
                    or f"{Path(f).stem}:{r['method']}" in a.drop:
                continue
            gain = "–" if r is noisy else f"{r['psnr'] - noisy['psnr']:+.2f}"
            spi = r.get("seconds_per_image")
            train = "–"
            if r.get("train_method"):
                noise = r.get("train_noise") or "real noise"
                if r.get("train_resample_noise"):
                    noise += ", re-drawn each step"
                if r.get("train_precision", "fp32") != "fp32":
                    noise += f", {r['train_precision']} steps"
                train = (f"{r['train_method']}, {r['train_steps']}, {r['train_time_s']:.0f}, "
                         f"{r.get('train_threads')}, {noise}")
            name = labels.get(f"{Path(f).stem}:{r['method']}", labels.get(r["method"], r["method"]))
            planes = {e["colour"] for e in r.get("per_image", []) if "colour" in e}
            if planes:  # a gray model on colour images (noise2x bench --colour)
                name += " on " + "/".join(COLOUR_LABELS[p] for p in sorted(planes))
            precisions = {e["precision"] for e in r.get("per_image", []) if "precision" in e}
            if precisions:  # noise2x bench --precision (fp32 is not recorded)
                name += ", " + "/".join(sorted(precisions)) + " forward pass"
            print(f"| {name} | {r['dataset']}, {r['noise']} | {r['psnr']:.2f} | {gain} | {r['ssim']:.4f} | "
                  f"{'–' if spi is None else f'{spi:.3f}'} | {train} |")


def peer_rows(d: dict, labels: dict) -> None:
    """Rows of a peer JSON (its own SSIM: skimage's 7x7 uniform window, so only PSNR compares with ours)."""
    t = d.get("training", {})
    train = (f"{t.get('optimizer_steps')} steps of batch {t.get('batch_size')}, {t.get('fit_seconds', 0):.0f} s, "
             f"{t.get('torch_threads')} threads") if t else "–"
    for r in d["results"]:
        gain = f"{r['psnr'] - r['psnr_noisy_unclipped']:+.2f}"
        name = labels.get(r["method"], r["method"])
        print(f"| {name} | {r['dataset']}, gaussian:sigma=25 | {r['psnr']:.2f} | {gain} | "
              f"({r['ssim']:.4f}, 7x7 window) | {r['sec_per_image']:.3f} | {train} |")


if __name__ == "__main__":
    main()
