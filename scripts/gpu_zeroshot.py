#!/usr/bin/env python
"""The zero-shot methods (MASH, ZS-N2N) on a CUDA GPU: quality and time against the CPU's figures.

Run on a machine with a GPU; each run is written to the JSON file as soon as it ends (a run cut short by
a time limit keeps what it finished). Parts (``--parts``, in this order):

* ``table``: the zero-shot table's crops and noises (256x256 centre crops of the first ``--images``
  CBSD68 images; ``correlated:sigma=25,beta=0.5``, ``beta=1`` and white ``gaussian:sigma=25``; noise
  and seeds as ``scripts/zeroshot_bench.py``: ``rng = i``): ZS-N2N, MASH and MASH's fixed-ratio-0.5
  ablation with the ``cpu`` preset (the CPU's default), on the GPU.
* ``gpu``: the same crops with ZS-N2N's ``gpu`` preset (what ``preset=auto`` runs on a CUDA GPU).
* ``paper``: the same crops with the papers' settings (``preset=paper``), which take 4 to 25 minutes
  per crop on a 2-core CPU (BENCHMARKS.md, "What the CPU budget costs").
* ``large``: ``noise2x denoise --method M --device cuda`` end to end (a new process: importing torch,
  CUDA's start, reading and writing the PNG included) on the first CBSD68 image resized (cubic) to each
  of ``--sizes``, with the noise of ``scripts/zeroshot_large.py``'s sizes part (white sigma 25 for
  ZS-N2N, beta = 1 for MASH), as that part runs on the CPU.

Every random draw of the zero-shot methods is made on the CPU whatever the device, so a crop starts
from the same weights and masks as on the CPU; the results differ only by the devices' arithmetic.

Usage::

    python scripts/gpu_zeroshot.py OUT.json [--data DIR] [--parts table,paper,large] [--images 4]
                                   [--noises "SPEC;SPEC"] [--methods zs_n2n,mash] [--resume EARLIER.json]
    python scripts/gpu_zeroshot.py --show OUT.json [--cpu benchmarks/zeroshot_cbsd68_256.json]
                                   [--cpu-large benchmarks/zeroshot_large.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from zeroshot_bench import NOISES, centre_crop, script_command, write_json  # noqa: E402

PARTS = ("table", "gpu", "paper", "large")
#: The methods of the table and paper parts: name -> (function name, options).
RUNS = {
    "table": {"zs_n2n": ("zs_n2n", {"preset": "cpu"}), "mash": ("mash", {"preset": "cpu"}),
              "mash_ratio_0.5": ("mash", {"ratio": 0.5, "preset": "cpu"})},
    "gpu": {"zs_n2n": ("zs_n2n", {"preset": "gpu"})},
    "paper": {"zs_n2n": ("zs_n2n", {"preset": "paper"}), "mash": ("mash", {"preset": "paper"})},
}
#: The noise of the large part per method (that of scripts/zeroshot_large.py's sizes part).
LARGE_NOISE = {"zs_n2n": "gaussian:sigma=25", "mash": "correlated:sigma=25,beta=1"}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _data(arg: str | None) -> Path:
    return Path(arg or os.environ.get("NOISE2X_DATA") or HERE.parent.parent / "shared" / "data")


#: ``--quick``: tiny trainings, to check the script end to end on a CPU (its figures mean nothing).
QUICK = {"zs_n2n": {"steps": 5}, "mash": {"steps": 5, "probe_steps": 5, "predictions": 2}}


def run_crops(result: dict[str, Any], part: str, files: list[Path], out: Path, device: str,
              quick: bool = False, noises: tuple[str, ...] = NOISES, methods: tuple[str, ...] | None = None) -> None:
    """The table or paper part: every method of ``RUNS[part]`` on every crop and noise, saved run by run."""
    import torch

    from noise2x.io import read_image
    from noise2x.metrics import psnr, ssim
    from noise2x.noise import protocol_noisy
    from noise2x.zeroshot import ZERO_SHOT

    rows = result.setdefault(part, [])
    done = {(r["noise"], r["file"], r["method"]) for r in rows}
    for spec in noises:
        for i, path in enumerate(files):
            clean = centre_crop(read_image(path), 256)
            noisy = protocol_noisy(clean, spec, index=i)
            for name, (fn, options) in RUNS[part].items():
                if (spec, path.name, name) in done or (methods and name not in methods):
                    continue
                info: dict[str, Any] = {}
                torch.cuda.synchronize() if torch.cuda.is_available() else None
                t0 = time.perf_counter()
                pred = ZERO_SHOT[fn](noisy, rng=i, info=info, device=device, **options, **(QUICK[fn] if quick else {}))
                seconds = time.perf_counter() - t0
                row = {"noise": spec, "file": path.name, "method": name, "psnr": psnr(clean, pred, clip=True),
                       "ssim": ssim(clean, pred, clip=True), "seconds": seconds, "device": info.get("device"),
                       "level": info.get("level"), "gap": info.get("gap")}
                rows.append(row)
                result["meta"]["wall_s"] = time.perf_counter() - result["meta"]["_t0"]
                save(out, result)
                _say(f"{part} {spec} {path.name} {name}: {row['psnr']:.2f} dB in {seconds:.1f} s"
                     + (f" ({row['level']})" if row["level"] else ""))


def run_large(result: dict[str, Any], files: list[Path], sizes: list[str], out: Path, device: str,
              quick: bool = False) -> None:
    """The large part: the CLI end to end on resized images, saved run by run."""
    from zeroshot_large import parse_size, resized

    from noise2x.io import read_image, write_image
    from noise2x.metrics import psnr
    from noise2x.noise import protocol_noisy

    base = read_image(files[0])
    rows = result.setdefault("large", [])
    with tempfile.TemporaryDirectory() as tmp:
        for text in sizes:
            size = parse_size(text)
            clean = resized(base, size, anti_aliasing=True)
            for method, spec in LARGE_NOISE.items():
                noisy8 = np.clip(np.round(protocol_noisy(clean, spec, index=0)), 0, 255).astype(np.uint8)
                src, dst = Path(tmp) / "in.png", Path(tmp) / "out.png"
                write_image(src, noisy8)
                cmd = [sys.executable, "-m", "noise2x", "denoise", "--method", method, "--device", device, str(src),
                       "--out", str(dst)]
                cmd += [f"--set={k}={v}" for k, v in (QUICK[method] if quick else {}).items()]
                t0 = time.perf_counter()
                run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                wall = time.perf_counter() - t0
                if run.returncode != 0:
                    raise SystemExit(f"error: {' '.join(cmd)} failed: {run.stderr.strip()[-500:]}")
                row = {"size": f"{size[0]}x{size[1]}", "method": method, "noise": spec, "wall_s": wall,
                       "noisy_psnr": psnr(clean, noisy8), "psnr": psnr(clean, read_image(dst), clip=True),
                       "source": files[0].name}
                rows.append(row)
                save(out, result)
                _say(f"large {row['size']} {method}: {wall:.1f} s wall, {row['noisy_psnr']:.2f} -> "
                     f"{row['psnr']:.2f} dB")


def save(out: Path, result: dict[str, Any]) -> None:
    write_json(out, {**result, "meta": {k: v for k, v in result["meta"].items() if not k.startswith("_")}})


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def show(path: Path, cpu: Path | None, cpu_large: Path | None) -> str:
    """Markdown tables of a run, beside the CPU's figures for the same crops where given."""
    run = json.loads(path.read_text())
    meta = run["meta"]
    lines = [f"Run{'s' if meta.get('earlier') else ''}: "
             + "; then ".join(f"`{m['command']}` ({m['date']}, {m['gpu']}, torch {m['torch']}, "
                              f"{m.get('wall_s', 0) / 60:.1f} min)" for m in [*meta.get("earlier", []), meta])
             + ".", ""]
    cpu_table = json.loads(cpu.read_text())["table"] if cpu else {}
    for part, title in (("table", "`cpu` preset"), ("gpu", "`gpu` preset (`preset=auto` on a GPU)"),
                        ("paper", "papers' settings (`preset=paper`)")):
        rows = run.get(part) or []
        if not rows:
            continue
        lines += [f"**{title} on the GPU**" + (" against the CPU's zero-shot table (same crops, noise and seeds)"
                                                if part == "table" and cpu_table else ""), ""]
        head = "| method | noise | crops | GPU PSNR | GPU s / crop |"
        if part == "table" and cpu_table:
            head += " CPU PSNR | GPU - CPU per crop (dB) | CPU s / crop | levels GPU / CPU |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for name in RUNS[part]:
            for spec in NOISES:
                sel = [r for r in rows if r["method"] == name and r["noise"] == spec]
                if not sel:
                    continue
                line = (f"| {name} | `{spec}` | {len(sel)} | {_mean([r['psnr'] for r in sel]):.2f} | "
                        f"{_mean([r['seconds'] for r in sel]):.1f} |")
                ref = {r["file"]: r for r in cpu_table.get(spec, {}).get(name, [])}
                if part == "table" and cpu_table:
                    pairs = [(r, ref[r["file"]]) for r in sel if r["file"] in ref]
                    diffs = ", ".join(f"{g['psnr'] - c['psnr']:+.2f}" for g, c in pairs)
                    levels = (" ".join(str(g.get("level") or "-")[0] for g, _ in pairs) + " / "
                              + " ".join(str(c.get("level") or "-")[0] for _, c in pairs)) if name == "mash" else ""
                    line += (f" {_mean([c['psnr'] for _, c in pairs]):.2f} | {diffs} | "
                             f"{_mean([c['seconds'] for _, c in pairs]):.0f} | {levels} |")
                lines.append(line)
        lines.append("")
    large = run.get("large") or []
    if large:
        ref_rows = json.loads(cpu_large.read_text()).get("sizes", {}).get("rows", []) if cpu_large else []
        ref = {(r["size"], r["method"]): r for r in ref_rows}
        lines += ["**`noise2x denoise --method M --device cuda` end to end** (first CBSD68 image resized; "
                  "CPU: the same command's figures of \"Zero-shot: larger images\")", "",
                  "| size | method | noise | GPU wall s | CPU wall s | noisy | GPU PSNR | CPU PSNR |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in large:
            c = ref.get((r["size"], r["method"]), {})
            cw = f"{c['wall_s']:.0f}" if "wall_s" in c else "-"
            cp = f"{c['psnr']:.2f}" if "psnr" in c else "-"
            lines.append(f"| {r['size']} | {r['method']} | `{r['noise']}` | {r['wall_s']:.1f} | {cw} | "
                         f"{r['noisy_psnr']:.2f} | {r['psnr']:.2f} | {cp} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="JSON file of the runs (written as they end)")
    parser.add_argument("--data", help="folder holding cbsd68 (default: $NOISE2X_DATA, else ../shared/data)")
    parser.add_argument("--parts", default="table,paper,large", help=f"comma list of {', '.join(PARTS)}")
    parser.add_argument("--images", type=int, default=4, help="crops (the first N CBSD68 images)")
    parser.add_argument("--sizes", default="1024,3000x4000", help="sizes of the large part")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--noises", default=";".join(NOISES), help="semicolon list of the table's noises to run")
    parser.add_argument("--methods", help="comma list of the table's methods to run (default: all)")
    parser.add_argument("--resume", type=Path, help="an earlier run's JSON: its runs are kept, not re-run")
    parser.add_argument("--quick", action="store_true", help="tiny trainings: checks the script, not the methods")
    parser.add_argument("--show", action="store_true", help="print the tables of OUT (a finished run)")
    parser.add_argument("--cpu", type=Path, help="the CPU's zero-shot JSON, for --show")
    parser.add_argument("--cpu-large", type=Path, help="the CPU's zeroshot_large JSON, for --show")
    args = parser.parse_args(argv)
    if args.show:
        try:
            print(show(args.out, args.cpu, args.cpu_large))
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot read {args.out}: {exc}", file=sys.stderr)
            return 2
        return 0
    parts = [p for p in args.parts.split(",") if p]
    if set(parts) - set(PARTS):
        print(f"error: --parts takes {', '.join(PARTS)}", file=sys.stderr)
        return 2
    folder = _data(args.data) / "cbsd68"
    if not folder.is_dir():
        print(f"error: dataset folder not found: {folder}", file=sys.stderr)
        return 2
    import torch

    from noise2x.io import list_images
    from noise2x.zeroshot import zs_n2n

    from noise2x.errors import UsageError
    from noise2x.predict import resolve_device

    try:
        resolve_device(args.device)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = list_images(folder)[: args.images]
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    result: dict[str, Any] = {"meta": {"command": script_command("gpu_zeroshot.py", argv), "gpu": gpu,
                                       "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                        time.gmtime()),
                                       "_t0": time.perf_counter()}}
    result["meta"]["quick"] = args.quick
    if args.resume:
        earlier = json.loads(args.resume.read_text())
        result.update({k: v for k, v in earlier.items() if k != "meta"})
        result["meta"]["earlier"] = [*earlier["meta"].get("earlier", []), earlier["meta"]]
    noises = tuple(n for n in args.noises.split(";") if n)
    methods = tuple(m for m in (args.methods or "").split(",") if m) or None
    warm = 128 + 25 * np.random.default_rng(0).standard_normal((64, 64))
    zs_n2n(warm, steps=3, device=args.device)  # CUDA's start-up, outside the timed runs
    for part in parts:
        if part == "large":
            run_large(result, files, [s for s in args.sizes.split(",") if s], args.out, args.device, args.quick)
        else:
            run_crops(result, part, files, args.out, args.device, args.quick, noises, methods)
    result["meta"]["wall_s"] = time.perf_counter() - result["meta"]["_t0"]
    save(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
