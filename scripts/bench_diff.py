#!/usr/bin/env python
"""Compare two `noise2x bench` JSON files of the same images, method by method (figures are read, never typed).

For each method in both files: the mean PSNR and SSIM of each, the mean and the largest per-image PSNR
difference (B - A), the images where B is ahead, and the seconds per image of each.

Usage: python scripts/bench_diff.py A.json B.json [more pairs: A2.json B2.json ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def compare(a: dict, b: dict, worst: bool = False) -> list[str]:
    """One Markdown row per method of ``a`` that ``b`` also has (the noisy row left out); ``worst``: with the
    smallest per-image difference too (B's largest loss, where it lost)."""
    rows_b = {r["method"]: r for r in b["rows"]}
    out = []
    for ra in a["rows"]:
        rb = rows_b.get(ra["method"])
        if rb is None or ra["method"] == "noisy":
            continue
        pa = {e["file"]: e["psnr"] for e in ra["per_image"]}
        pb = {e["file"]: e["psnr"] for e in rb["per_image"]}
        files = sorted(set(pa) & set(pb))
        if not files:
            continue
        diffs = [pb[f] - pa[f] for f in files]
        ahead = sum(d > 0 for d in diffs)
        out.append(f"| {ra['method']} | {Path(a['dataset']).name}, {a['noise']} | {len(files)} | {ra['psnr']:.4f} / {ra['ssim']:.4f} | "
                   f"{rb['psnr']:.4f} / {rb['ssim']:.4f} | {sum(diffs) / len(diffs):+.4f} | "
                   f"{max(diffs, key=abs):+.4f} | " + (f"{min(diffs):+.4f} | " if worst else "")
                   + f"{ahead} | {ra['seconds_per_image']:.3f} | "
                   f"{rb['seconds_per_image']:.3f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", help="pairs of bench JSON files: A B [A2 B2 ...]")
    ap.add_argument("--worst", action="store_true", help="a column with the smallest per-image difference too")
    args = ap.parse_args()
    if len(args.files) % 2:
        ap.error("give the files in pairs (A B)")
    print("| method | data, noise | images | A: PSNR / SSIM | B: PSNR / SSIM | B - A: mean (dB) | "
          "largest per image (dB) | " + ("smallest per image (dB) | " if args.worst else "")
          + "images with B ahead | A: s/image | B: s/image |")
    print("|---" * (11 if args.worst else 10) + "|")
    for fa, fb in zip(args.files[::2], args.files[1::2]):
        a, b = (json.loads(Path(f).read_text()) for f in (fa, fb))
        for line in compare(a, b, args.worst):
            print(line)


if __name__ == "__main__":
    main()
