#!/usr/bin/env python
"""Wall time of everyday noise2x commands end to end (start-up, imports, reading, the work, writing), for this
checkout and, with ``--base COMMIT``, for that commit of the same repository (cloned into a temporary folder,
run with the same Python), each command run ``--runs`` times in turn and its median kept.

The inputs are made here: one 64x64 gray PNG and a folder of 8 128x128 gray PNGs, a smooth pattern with white
Gaussian noise (sigma 20, seed 0), clipped to 8 bits. Usage::

    python scripts/startup_time.py --base 6eb6fe9 --runs 3 --out benchmarks/startup_time.json
    python scripts/startup_time.py --markdown benchmarks/startup_time.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: label, the arguments after ``noise2x`` ({img}: the small image, {folder}: the folder, {out}: a scratch folder)
COMMANDS = [
    ("methods", ["methods"]),
    ("info MODEL", ["info", "gray-gaussian"]),
    ("info IMAGE", ["info", "{img}"]),
    ("denoise IMAGE --method nlm", ["denoise", "{img}", "--method", "nlm", "--out", "{out}/nlm.png", "-q"]),
    ("denoise IMAGE (no options)", ["denoise", "{img}", "--out", "{out}/auto.png", "-q"]),
    ("denoise FOLDER --model gray-gaussian (8 images)",
     ["denoise", "{folder}", "--model", "gray-gaussian", "--out", "{out}/model/", "-q"]),
]
REPO = Path(__file__).resolve().parents[1]


def make_inputs(where: Path) -> tuple[Path, Path]:
    from PIL import Image

    rng = np.random.default_rng(0)

    def noisy(n: int) -> np.ndarray:
        y, x = np.mgrid[0:n, 0:n]
        clean = 128 + 60 * np.sin(x / 6.0) * np.cos(y / 9.0)
        return np.clip(np.round(clean + rng.normal(0, 20, clean.shape)), 0, 255).astype(np.uint8)

    img = where / "small.png"
    Image.fromarray(noisy(64)).save(img)
    folder = where / "folder"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(noisy(128)).save(folder / f"{i}.png")
    return img, folder


def run(src: Path | None, args: list[str]) -> tuple[float, int]:
    env = dict(os.environ)
    if src is not None:  # (the other commit's package first on the path)
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "noise2x", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, done.returncode


def version(src: Path | None) -> str:
    env = dict(os.environ, **({"PYTHONPATH": str(src)} if src is not None else {}))
    return subprocess.run([sys.executable, "-m", "noise2x", "--version"], env=env, capture_output=True,
                          text=True).stdout.strip()


def markdown(result: dict) -> str:
    labels = list(result["versions"])
    lines = ["| command | " + " | ".join(f"{result['versions'][k]} (s)" for k in labels) + " |",
             "|---|" + "---|" * len(labels)]
    for name, row in result["medians"].items():
        lines.append(f"| `{name}` | " + " | ".join(f"{row[k]:.2f}" for k in labels) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="a commit of this repository to time as well")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="comma list of command labels (default: all)")
    parser.add_argument("--out", type=Path, help="JSON file for the result")
    parser.add_argument("--markdown", type=Path, help="print the table of a result file and stop")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    commands = [c for c in COMMANDS if not args.only or c[0] in args.only.split(",")]
    from noise2x.benchmark import machine_info

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        img, folder = make_inputs(tmp_path)
        trees: dict[str, Path | None] = {"this": None}
        if args.base:
            subprocess.run(["git", "clone", "-q", str(REPO), str(tmp_path / "base")], check=True)
            subprocess.run(["git", "-C", str(tmp_path / "base"), "checkout", "-q", args.base], check=True)
            trees = {"base": tmp_path / "base" / "src", **trees}
        versions = {k: version(v) for k, v in trees.items()}
        times: dict[str, dict[str, list[float]]] = {name: {k: [] for k in trees} for name, _ in commands}
        for _ in range(args.runs):  # (in turn: a change in the host's speed reaches every tree alike)
            for name, template in commands:
                for key, src in trees.items():
                    out = tmp_path / f"out-{key}"
                    out.mkdir(exist_ok=True)
                    argv_ = [a.format(img=img, folder=folder, out=out) for a in template]
                    seconds, code = run(src, argv_)
                    if code != 0:
                        print(f"error: noise2x {' '.join(argv_)} ({versions[key]}) exited {code}", file=sys.stderr)
                        return 1
                    times[name][key].append(seconds)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine_info(),
              "command": "python scripts/startup_time.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "runs": args.runs, "versions": versions, "times": times,
              "medians": {n: {k: statistics.median(v) for k, v in row.items()} for n, row in times.items()}}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
