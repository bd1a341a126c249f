#!/usr/bin/env python
"""Wall time of ``noise2x denoise --method zs_n2n|mash`` end to end, on one 256x256 RGB file.

Issue #6's CPU budget is for a user's command, so this times the CLI itself (torch import, reading,
training, writing) on a file made as the zero-shot table makes its inputs: the 256x256 centre crop of
one CBSD68 image with the table's noise (``protocol_noisy(crop, spec, index=i)``, ``i`` the image's
place in sorted order), clipped to 0..255 and saved as an 8-bit PNG. ZS-N2N gets white Gaussian noise
(sigma 25), MASH the strongly correlated one (beta 1). The host's speed changes within a session, so
``scripts/zeroshot_step_time.py`` runs before and after and its channels-last line is kept beside the
walls. Usage::

    python scripts/zeroshot_cli_time.py --runs 2 --out runs/cli_time.json
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from noise2x.benchmark import machine_info
from noise2x.io import list_images, read_image, write_image
from noise2x.noise import protocol_noisy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import DATA, centre_crop, script_command, write_json  # noqa: E402  (the table's crop)

SPECS = {"zs_n2n": "gaussian:sigma=25", "mash": "correlated:sigma=25,beta=1"}
HERE = Path(__file__).resolve().parent
#: The CLI of the Python that runs this script (its virtual environment), else the one on PATH.
_BESIDE = Path(sys.executable).with_name("noise2x")
CLI = str(_BESIDE) if _BESIDE.exists() else "noise2x"


def step_time() -> str:
    """The channels-last line of scripts/zeroshot_step_time.py (the host's current speed)."""
    out = subprocess.run([sys.executable, str(HERE / "zeroshot_step_time.py")], capture_output=True,
                         text=True, check=True).stdout
    return next((line for line in out.splitlines() if line.startswith("channels_last")), out.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--image", default="101085.png", help="file name in the dataset")
    parser.add_argument("--methods", default="zs_n2n", help="comma list of zs_n2n, mash")
    parser.add_argument("--runs", type=int, default=2, help="CLI runs per method")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, help="JSON file for the walls")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    if any(m not in SPECS for m in methods) or args.runs < 1:
        print(f"error: --methods must be a comma list of {', '.join(SPECS)} and --runs >= 1", file=sys.stderr)
        return 2
    files = list_images(args.dataset) if args.dataset.is_dir() else []
    names = [p.name for p in files]
    if args.image not in names:
        print(f"error: {args.image} not found in {args.dataset}", file=sys.stderr)
        return 2
    index = names.index(args.image)
    clean = centre_crop(read_image(files[index]), args.size)
    result = {"command": script_command("zeroshot_cli_time.py", argv),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine_info(),
              "image": args.image, "index": index, "size": args.size, "runs": {}}
    result["step_time_before"] = step_time()
    print(f"before: {result['step_time_before']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            noisy = protocol_noisy(clean, SPECS[method], index=index)
            src = Path(tmp) / f"{method}_in.png"
            write_image(src, np.clip(np.round(noisy), 0, 255).astype(np.uint8))
            walls = []
            for r in range(args.runs):
                cmd = [CLI, "denoise", "--method", method, str(src), "--out", str(Path(tmp) / f"{method}_{r}.png")]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                walls.append(round(time.perf_counter() - t0, 2))
                print(f"{method} ({SPECS[method]}) run {r + 1}: {walls[-1]:.1f} s wall", flush=True)
            result["runs"][method] = {"noise": SPECS[method], "wall_s": walls}
    result["step_time_after"] = step_time()
    print(f"after: {result['step_time_after']}", flush=True)
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
