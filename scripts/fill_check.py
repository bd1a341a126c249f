"""A fill value read from an image's values (noise2x.estimate.fill_value): what it does on depth maps with dropouts,
and which committed benchmark inputs it touches.

    python scripts/fill_check.py [--shared ../shared] [--benchmarks benchmarks] [--seeds 3] [--out benchmarks/fill_check.json]

Depth maps: synthetic scenes of 192x192 px in millimetres (a floor slanted from 600 to 3600 mm, two boxes at
900 and 1500 mm, a sphere), noise of sigma 1.5e-6 z^2 (0.5 to 19 mm, as a time-of-flight or stereo camera's grows
with depth), rounded to whole mm; a share of the pixels dropped out (scattered, and a 4-px occlusion shadow beside
each box), written 0 in uint16 or -9999 in float32. Each is denoised with no options, and with BM3D given the
noise's RMS sigma, each with the dropouts read as a fill (the default) and read as data (blank_value='none').
Figures on the pixels holding data, against the clean depth: RMSE (mm); of the dropouts, the share still holding
the fill value; of the data pixels, the share moved more than 100 mm from their clean depth.

Scope: every dataset/noise pair of the committed benchmark files rebuilt by PROTOCOL.md (as fill_rule_scope.py),
and every clean image of the shared datasets: the inputs in which fill_value finds a fill (those the rule
touches; on any other the no-option call is as before).
"""
import argparse
import os
import time
import warnings

import numpy as np

from noise2x import api, io
from noise2x.errors import NoteWarning
from noise2x.estimate import fill_value
from noise2x.noise import parse_noise, protocol_noisy

from _record import benchmark_pairs, write_record

SHARES = (0.01, 0.03, 0.1, 0.3)


def scene(seed: int, n: int = 192):
    """(clean depth in mm, noisy uint16-rounded depth, dropout mask)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:n, :n].astype(float)
    clean = 600.0 + 3000.0 * y / (n - 1)
    shadow = np.zeros((n, n), bool)
    for depth in (900.0, 1500.0):
        (y0, x0), side = rng.integers(10, n - 70, size=2), int(rng.integers(30, 60))
        box = (slice(y0, y0 + side), slice(x0, x0 + side))
        clean[box] = np.minimum(clean[box], depth)
        shadow[y0:y0 + side, max(x0 - 4, 0):x0] = True
    cy, cx, r = n * 0.7, n * 0.7, n * 0.15
    inside = (y - cy) ** 2 + (x - cx) ** 2 < r * r
    bulge = np.sqrt(np.maximum(r * r - (y - cy) ** 2 - (x - cx) ** 2, 0)) * 10.0
    clean = np.where(inside, np.minimum(clean, 2000.0 - bulge), clean)
    noisy = np.round(clean + rng.normal(size=clean.shape) * 1.5e-6 * clean ** 2)
    return clean, noisy, shadow, rng


def figures(out, clean, holes, fill) -> dict:
    data = ~holes
    err = out[data] - clean[data]
    return {"rmse": round(float(np.sqrt(np.mean(err ** 2))), 3), "holes_kept": round(float(np.mean(out[holes] == fill)), 4),
            "moved_100mm": round(float(np.mean(np.abs(err) > 100)), 5)}


def depth_rows(seeds: int) -> list:
    rows = []
    for seed in range(seeds):
        clean, noisy, shadow, rng = scene(seed)
        drop = rng.random(clean.shape)
        for share in SHARES:
            holes = shadow | (drop < share)
            for kind, fill in (("uint16", 0.0), ("float32", -9999.0)) if share == 0.03 else (("uint16", 0.0),):
                image = np.where(holes, fill, noisy).astype(kind)
                sigma = float(np.sqrt(np.mean((noisy - clean)[~holes] ** 2)))
                row = {"seed": seed, "share": share, "kind": kind, "holes": round(float(holes.mean()), 4),
                       "noisy": figures(image.astype(float), clean, holes, fill), "found": fill_value(image) is not None}
                for name, kwargs in (("default", {}), ("bm3d", {"method": "bm3d", "noise": f"gaussian:sigma={sigma:.3f}"})):
                    for read, value in (("fill", None), ("data", "none")):
                        info = {}
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", NoteWarning)
                            out = api.denoise(image, blank_value=value, info=info, **kwargs)
                        row[f"{name}_{read}"] = {**figures(out, clean, holes, fill), "route": str(info.get("method"))}
                rows.append(row)
                print(row, flush=True)
    return rows


def scope(shared: str, benchmarks: str) -> dict:
    touched, inputs = [], 0
    cache = {}
    for (ds, spec), n in sorted(benchmark_pairs(benchmarks).items()):
        root = os.path.join(shared, "data", ds)
        if not os.path.isdir(root):
            continue
        try:
            ns = parse_noise(spec)
        except Exception:  # (a pair no spec of today's reads)
            continue
        for i, p in enumerate(io.list_images(root)[:n]):
            if p not in cache:
                cache[p] = io.read_image(p)
            try:
                y = protocol_noisy(cache[p], ns, index=i)
            except Exception:
                break
            inputs += 1
            if fill_value(y) is not None:
                touched.append(f"{ds} {spec} {os.path.basename(str(p))}")
    clean = []
    for ds in sorted(os.listdir(os.path.join(shared, "data"))):
        root = os.path.join(shared, "data", ds)
        for p in io.list_images(root) if os.path.isdir(root) else []:
            if fill_value(cache.get(p, io.read_image(p))) is not None:
                clean.append(f"{ds} {os.path.basename(str(p))}")
    print("benchmark inputs", inputs, "touched", touched, "clean images touched", clean, flush=True)
    return {"benchmark_inputs": inputs, "benchmark_inputs_touched": touched, "clean_images_touched": clean}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--benchmarks", default=os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    start = time.time()
    rows = depth_rows(args.seeds)
    summary = {}
    for share in SHARES:
        for kind in ("uint16", "float32"):
            r = [x for x in rows if x["share"] == share and x["kind"] == kind]
            if r:
                summary[f"{kind} {share:g}"] = {
                    f"{arm} {k}": round(float(np.mean([x[arm][k] for x in r])), 4)
                    for arm in ("noisy", "default_fill", "default_data", "bm3d_fill", "bm3d_data")
                    for k in ("rmse", "holes_kept", "moved_100mm")}
    for key, value in summary.items():
        print(key, value, flush=True)
    found = scope(args.shared, args.benchmarks) if os.path.isdir(os.path.join(args.shared, "data")) else {}
    if args.out:
        write_record(args.out, "fill_check.py", args, start, rows=rows, summary=summary, scope=found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
