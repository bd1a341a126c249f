#!/usr/bin/env python
"""Picture grid on RNI15 (real noise, no clean reference): noisy | MASH | ZS-N2N | BM3D (sigma estimated).

Each row is the centre crop of one RNI15 photograph; every method sees only
that crop. MASH and ZS-N2N run with their default (``cpu``) preset and
``rng = row index``; BM3D estimates the noise level from the crop. Captions
give MASH's choice (correlation level and masking ratio), BM3D's estimated
sigma and each method's seconds.

Usage (the README's figure comes from this command)::

    python scripts/rni15_grid.py --out docs/rni15_zeroshot.png

Writes the PNG (atomically) and a JSON beside it with the captions and timings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from noise2x.classical import bm3d
from noise2x.figures import picture_grid
from noise2x.io import read_image
from noise2x.zeroshot import mash, zs_n2n

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zeroshot_bench import centre_crop, script_command, write_json  # noqa: E402  (the zero-shot table's crop)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "rni15"
DEFAULT_IMAGES = "Dog.png,Frog.png,Movie.png,Window.png"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the RNI15 folder")
    parser.add_argument("--images", default=DEFAULT_IMAGES, help="comma-separated file names in --data")
    parser.add_argument("--size", type=int, default=256, help="side of the centre crops")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.images.split(",") if n.strip()]
    missing = [n for n in names if not (args.data / n).is_file()]
    if not names or missing:
        print(f"error: no such image in {args.data}: {', '.join(missing) or '(none named)'}", file=sys.stderr)
        return 2
    rows, captions, record = [], [], []
    for i, name in enumerate(names):
        noisy = centre_crop(read_image(args.data / name), args.size)
        entry: dict[str, Any] = {"file": name, "shape": list(noisy.shape)}
        t0 = time.perf_counter()
        m_info: dict[str, Any] = {}
        out_mash = mash(noisy, rng=i, info=m_info, progress=_say)
        entry["mash"] = {"seconds": time.perf_counter() - t0, "level": m_info["level"], "ratio": m_info["ratio"],
                         "gap": m_info["gap"], "shuffled": m_info["shuffled"]}
        t0 = time.perf_counter()
        out_zs = zs_n2n(noisy, rng=i)
        entry["zs_n2n"] = {"seconds": time.perf_counter() - t0}
        t0 = time.perf_counter()
        b_info: dict[str, Any] = {}
        out_bm3d = bm3d(noisy, info=b_info)
        entry["bm3d"] = {"seconds": time.perf_counter() - t0, "sigma": b_info.get("sigma")}
        _say(f"[{i + 1}] {name}: mash {entry['mash']['seconds']:.0f} s ({m_info['level']}, ratio {m_info['ratio']}), "
             f"zs_n2n {entry['zs_n2n']['seconds']:.0f} s, bm3d sigma {b_info.get('sigma', float('nan')):.1f}")
        rows.append([noisy, out_mash, out_zs, out_bm3d])
        captions.append([
            f"{name} (noisy)",
            f"MASH {m_info['level']}, ratio {m_info['ratio']:g}",
            "ZS-N2N",
            f"BM3D sigma {b_info.get('sigma', float('nan')):.1f} (est.)",
        ])
        record.append(entry)
    picture_grid(rows, captions, args.out)
    write_json(args.out.with_suffix(".json"), {"command": script_command("rni15_grid.py", argv),
                                               "date": time.strftime("%Y-%m-%d"), "rows": record})
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
