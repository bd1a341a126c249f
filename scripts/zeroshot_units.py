#!/usr/bin/env python
"""The zero-shot methods on one picture given in 8-bit units, in [0, 1] and in 16-bit units.

The same noisy crop (CBSD68 calibration image ``--index``, PROTOCOL noise) is handed to each method
multiplied by 1 (8-bit units), 1/255 (a float image in [0, 1]) and 257 (what a 16-bit file of the
picture holds); the result is divided by the factor again and scored in 8-bit units (predictions
clipped, PROTOCOL.md). A method that works in the image's own units scores the same on all three.
The JSON records which code ran (the git commit of the imported noise2x) and is rewritten after every
run. Usage::

    python scripts/zeroshot_units.py --out benchmarks/zeroshot_units.json
    python scripts/zeroshot_units.py --markdown benchmarks/zeroshot_units.json   # its table for BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import noise2x
from noise2x.api import call_direct
from noise2x.io import read_image
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import DATA, centre_crop, run_meta, select_files, write_json  # noqa: E402

#: name -> factor the 8-bit picture is multiplied by
UNITS = {"8-bit": 1.0, "0..1": 1 / 255, "16-bit": 257.0}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def code_version() -> str:
    """The git commit (and "+changes" when the tree differs from it) of the noise2x that is imported."""
    root = Path(noise2x.__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def markdown(result: dict[str, Any]) -> str:
    lines = ["| method | input units | PSNR (dB) | noisy (dB) | s |", "|---|---|---|---|---|"]
    for r in result["runs"]:
        lines.append(f"| {r['method']} | {r['units']} | {r['psnr']:.2f} | {r['noisy']:.2f} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--index", type=int, default=20, help="calibration image index (sorted order, 12 and up)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--noise", default="gaussian:sigma=25")
    parser.add_argument("--methods", default="zs_n2n,mash")
    parser.add_argument("--units", default=",".join(UNITS), help=f"comma list of {', '.join(UNITS)}")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="print the table of a result file and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        try:
            print(markdown(json.loads(args.markdown.read_text())))
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot read {args.markdown}: {exc}", file=sys.stderr)
            return 1
        return 0
    units = [u.strip() for u in args.units.split(",") if u.strip()]
    unknown = [u for u in units if u not in UNITS]
    if unknown or not units:
        print(f"error: --units takes a comma list of {', '.join(UNITS)}; got '{args.units}'", file=sys.stderr)
        return 2
    if args.out is None:
        print("error: --out FILE is needed (or --markdown FILE)", file=sys.stderr)
        return 2
    files, error = select_files(args.dataset, args.index, 1, calibration=True)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    code = code_version()             # the tree as it is imported now; later edits do not change this run
    clean = centre_crop(read_image(files[0]), args.size)
    noisy = protocol_noisy(clean, args.noise, index=args.index)
    result: dict[str, Any] = {"runs": [], "meta": {}}
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for name in units:
            factor = UNITS[name]
            info: dict[str, Any] = {}
            t0 = time.perf_counter()
            out = call_direct(method, noisy * factor, rng=args.index, info=info) / factor
            run = {"method": method, "units": name, "factor": factor, "file": files[0].name, "index": args.index,
                   "noise": args.noise, "psnr": psnr(clean, out), "noisy": psnr(clean, noisy, clip=False),
                   "seconds": time.perf_counter() - t0, "map": info.get("units")}
            result["runs"].append(run)
            result["meta"] = {**run_meta("zeroshot_units.py", argv, t_start), "code": code}
            write_json(args.out, result)
            _say(f"{method} {name}: {run['psnr']:.2f} dB (noisy {run['noisy']:.2f}), {run['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
