"""Downscaled photos: the no-option call against BM3D (CBM3D for colour) on photos halved in size.

    python scripts/downscaled_check.py [--full | --subsampled] [--data ../shared/data/cbsd68] [--limit 8]
        [--noises ...] [--out F.json]
    python scripts/downscaled_check.py --markdown F.json ...     (the table of BENCHMARKS.md)

Each photo i is halved by averaging 2x2 blocks (a resize as image editors do it; the clean reference; --full:
left at its own size, for comparison; --subsampled: every second pixel of each row and column kept, as a
nearest-neighbour resize or one colour plane of a camera's Bayer mosaic does, which aliases fine texture), then
gets PROTOCOL noise (rng = i), unrounded. Rows: the noisy input, `denoise` with no options (not told the noise),
BM3D with the sigma read by the same estimator (not told it either), and BM3D told the true sigma. A halved
photo holds more detail per pixel than the training images of the shipped models (train400, full size).
"""
import json
import os
import time

import numpy as np

from noise2x import api, estimate, io
from noise2x.metrics import psnr
from noise2x.noise import parse_noise, protocol_noisy

from _record import check_args, write_record

COLUMNS = ("noisy", "auto", "bm3d_estimated", "bm3d_true")


def halved(image: np.ndarray) -> np.ndarray:
    """The mean of each 2x2 block (an odd last row or column dropped)."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2, *image.shape[2:]).mean(axis=(1, 3))


def reference(image: np.ndarray, size: str) -> np.ndarray:
    """The clean picture of each kind of run: the photo ``halved`` (2x2 means), ``subsampled`` (every second
    pixel of each row and column) or at its ``full`` size."""
    return {"halved": halved, "subsampled": lambda a: a[::2, ::2], "full": lambda a: a}[size](image)


def markdown(paths: list[str]) -> str:
    """The table of BENCHMARKS.md from records this script wrote."""
    lines = ["| photos | noise | noisy | no options (route) | BM3D, sigma estimated | BM3D, true sigma | "
             "no options behind BM3D (estimated) on |", "|---|---|---|---|---|---|---|"]
    for path in paths:
        with open(path) as fh:
            record = json.load(fh)
        data = os.path.basename(os.path.normpath(record["meta"]["command"].split("--data ")[1].split()[0]))
        data += {"halved": ", halved", "full": ", full size", "subsampled": ", subsampled"}[record.get("size", "halved")]
        for spec, s in record["summary"].items():
            routes = sorted({x["auto_route"].removeprefix("model ") for x in record["rows"] if x["noise"] == spec})
            lines.append(f"| {data}, first {s['images']} | `{spec}` | {s['noisy']:.2f} | {s['auto']:.2f} "
                         f"({', '.join(routes)}) | {s['bm3d_estimated']:.2f} | {s['bm3d_true']:.2f} | "
                         f"{s['auto_behind_bm3d_estimated']} of {s['images']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--markdown"]:
        print(markdown(argv[1:]))
        return 0
    size = "full" if "--full" in argv else "subsampled" if "--subsampled" in argv else "halved"
    args = check_args([a for a in argv if a not in ("--full", "--subsampled")], "cbsd68",
                      noises="gaussian:sigma=5,gaussian:sigma=15,gaussian:sigma=25")
    start = time.time()
    rows = []
    for spec in args.noises.split(","):
        true_sigma = parse_noise(spec).params["sigma"]
        for i, path in enumerate(io.list_images(args.data)[: args.limit]):
            clean = reference(io.read_image(path), size)
            noisy = protocol_noisy(clean, spec, index=i)
            info = {}
            t0 = time.time()
            auto = api.denoise(noisy, info=info)
            t_auto = time.time() - t0
            est = estimate.sigma(noisy)
            row = {"noise": spec, "image": os.path.basename(str(path)), "shape": list(clean.shape),
                   "noisy": psnr(clean, noisy, clip=False), "auto": psnr(clean, auto),
                   "auto_route": str(info.get("method")),
                   "auto_seconds": t_auto, "estimated_sigma": est,
                   "bm3d_estimated": psnr(clean, api.denoise(noisy, method="bm3d", options={"sigma": est})),
                   "bm3d_true": psnr(clean, api.denoise(noisy, method="bm3d", options={"sigma": true_sigma}))}
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for spec in args.noises.split(","):
        r = [x for x in rows if x["noise"] == spec]
        summary[spec] = {k: round(float(np.mean([x[k] for x in r])), 3) for k in COLUMNS}
        summary[spec]["auto_behind_bm3d_estimated"] = sum(x["auto"] < x["bm3d_estimated"] for x in r)
        summary[spec]["images"] = len(r)
        summary[spec]["estimated_sigma"] = [round(float(x["estimated_sigma"]), 2) for x in r]
        print(spec, summary[spec], flush=True)
    if args.out:
        write_record(args.out, "downscaled_check.py" + ("" if size == "halved" else f" --{size}"), args, start,
                     rows=rows, summary=summary, size=size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
