#!/usr/bin/env python
"""What large CPU tensors cost in page faults: MASH's masked predictions of a large image, by allocator setting.

Each setting runs in a fresh process (PyTorch reads ``THP_MEM_ALLOC_ENABLE`` once, and glibc's ``mallopt`` is
process-wide): MASH's cpu-preset U-Net (width 32, random weights, seeded) averages ``--count`` masked
predictions of a random RGB image of ``--size`` (``noise2x.zeroshot.mash.masked_average``, in bands above
2 MP, as ``noise2x denoise --method mash`` does after training). Settings:

* ``plain``: ``THP_MEM_ALLOC_ENABLE=0`` (what the CLI did before it set the switch);
* ``thp``: ``THP_MEM_ALLOC_ENABLE=1`` (the CLI's default since a340536);
* ``nommap``: huge pages off, and glibc told never to map large blocks nor give memory back
  (``mallopt(M_MMAP_MAX, 0)``, ``mallopt(M_TRIM_THRESHOLD, 2**40)``).

Each row: wall, user and system seconds and minor page faults of the predictions alone, the process's peak
resident memory, and the output's sum (the same for every setting when the arithmetic is unchanged).

Usage::

    python scripts/alloc_probe.py --size 3000x4000 --count 2 --out benchmarks/alloc_probe.json
    python scripts/alloc_probe.py --show benchmarks/alloc_probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SETTINGS = ("plain", "thp", "nommap")


def child(setting: str, height: int, width: int, count: int) -> dict[str, Any]:
    """One setting's measurement, in this process (called in a fresh one by :func:`main`)."""
    import ctypes
    import resource

    if setting == "nommap":
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)          # M_MMAP_MAX
        libc.mallopt(-1, 2**40)      # M_TRIM_THRESHOLD
    import torch

    from noise2x.zeroshot.mash import masked_average
    from noise2x.zeroshot.nets import MaskedUNet, new_network

    gen = torch.Generator().manual_seed(0)
    net = new_network(MaskedUNet, 3, 32, gen=gen).to(memory_format=torch.channels_last).eval()
    x = torch.rand(1, 3, height, width, generator=gen) * 255
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    y = masked_average(net, x, 0.5, count, generator=gen)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    return {"setting": setting, "wall_s": t1 - t0, "user_s": r1.ru_utime - r0.ru_utime,
            "sys_s": r1.ru_stime - r0.ru_stime, "minor_faults": r1.ru_minflt - r0.ru_minflt,
            "peak_rss_gb": r1.ru_maxrss / 2**20, "output_sum": float(y.double().sum())}


def markdown(result: dict[str, Any]) -> str:
    mp = result["height"] * result["width"] / 1e6
    out = [f"`{result['command']}` ({result['date']}, {result['machine'].get('cpu_model', 'CPU')}, "
           f"code {result['commit']}): {result['count']} masked predictions of a {result['height']}x"
           f"{result['width']} RGB image ({mp:.1f} MP)", "",
           "| setting | wall s | user s | system s | minor faults per MP and prediction | peak memory GB | "
           "output sum |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        out.append(f"| {r['setting']} | {r['wall_s']:.1f} | {r['user_s']:.1f} | {r['sys_s']:.1f} | "
                   f"{r['minor_faults'] / mp / result['count']:,.0f} | {r['peak_rss_gb']:.2f} | "
                   f"{r['output_sum']:.6e} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3000x4000", help="HxW of the image")
    parser.add_argument("--count", type=int, default=2, help="masked predictions averaged")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma list of {', '.join(SETTINGS)}")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    parser.add_argument("--show", type=Path, help="print the Markdown table of this JSON file and stop")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        height, width = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print("error: --size must be HxW", file=sys.stderr)
        return 2
    if args.child:
        print(json.dumps(child(args.child, height, width, args.count)))
        return 0
    if args.show:
        print(markdown(json.loads(args.show.read_text())), end="")
        return 0
    settings = [s for s in args.settings.split(",") if s]
    if args.out is None or not settings or any(s not in SETTINGS for s in settings) or args.count < 1 \
            or min(height, width) < 16:
        print(f"error: --out is required, --settings a comma list of {', '.join(SETTINGS)}, --count >= 1, "
              "--size >= 16x16", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from noise2x.benchmark import machine_info
    from zeroshot_bench import script_command, write_json

    rows = []
    for setting in settings:
        env = {**os.environ, "THP_MEM_ALLOC_ENABLE": "1" if setting == "thp" else "0"}
        done = subprocess.run([sys.executable, __file__, "--child", setting, "--size", args.size, "--count",
                               str(args.count)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"error: setting {setting} failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{setting}: {rows[-1]['wall_s']:.1f} s", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
    result = {"command": script_command("alloc_probe.py", argv), "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                       time.gmtime()),
              "machine": machine_info(), "commit": commit, "height": height, "width": width,
              "count": args.count, "rows": rows}
    write_json(args.out, result)
    print(markdown(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
