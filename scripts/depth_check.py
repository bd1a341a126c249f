"""Depth maps: a fill value read from an image's values (noise2x.estimate.fill_value: a depth camera's dropouts)
and a noise growing with the level (estimate.noise_power, api.power_law_read: the power transform route); what
they do on depth maps, and which committed benchmark inputs they touch.

    python scripts/depth_check.py [--shared ../shared] [--benchmarks benchmarks] [--seeds 3]
                                  [--out benchmarks/depth_check.json]

Depth maps: synthetic scenes of 192x192 px in millimetres (a floor slanted from 600 to 3600 mm, two boxes at
900 and 1500 mm, a sphere), noise of sigma 1.5e-6 z^2 (0.5 to 19 mm, as a time-of-flight or stereo camera's grows
with depth), rounded to whole mm; a share of the pixels dropped out (scattered, and a 4-px occlusion shadow beside
each box), written 0 in uint16 or -9999 in float32. Each is denoised with no options, and with BM3D given the
noise's RMS sigma, each with the dropouts read as a fill (the default) and read as data (blank_value='none').
Figures on the pixels holding data, against the clean depth: RMSE (mm), also of those nearer than 1 m and of those
beyond 2.5 m; of the dropouts, the share still holding the fill value; of the data pixels, the share moved more
than 100 mm from their clean depth.

Scope: every dataset/noise pair of the committed benchmark files rebuilt by PROTOCOL.md (as fill_rule_scope.py),
and every clean image of the shared datasets: the inputs in which fill_value finds a fill, and the gray ones the
power route takes (power_law_read); on any other the no-option call is as before.
"""
import os
import time
import warnings

import numpy as np

from noise2x import api, io
from noise2x.api import power_law_read
from noise2x.errors import NoteWarning
from noise2x.estimate import fill_value

from _record import benchmark_inputs, finish, scope_args

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
    near, far = clean[data] < 1000, clean[data] > 2500
    return {"rmse": round(float(np.sqrt(np.mean(err ** 2))), 3),
            "rmse_near": round(float(np.sqrt(np.mean(err[near] ** 2))), 3),
            "rmse_far": round(float(np.sqrt(np.mean(err[far] ** 2))), 3),
            "holes_kept": round(float(np.mean(out[holes] == fill)), 4),
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
                       "noisy": figures(image.astype(float), clean, holes, fill),
                       "found": fill_value(image) is not None}
                told = {"method": "bm3d", "noise": f"gaussian:sigma={sigma:.3f}"}  # (the noise's RMS over the map)
                for name, kwargs in (("default", {}), ("bm3d", told)):
                    for read, value in (("fill", None), ("data", "none")):
                        info = {}
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", NoteWarning)
                            out = api.denoise(image, blank_value=value, info=info, **kwargs)
                        route = str(info.get("method")) + (f", {info['transform']}" if "transform" in info else "")
                        row[f"{name}_{read}"] = {**figures(out, clean, holes, fill), "route": route,
                                                 **({"q": round(info["estimated_power"], 3)}
                                                    if "estimated_power" in info else {})}
                rows.append(row)
                print(row, flush=True)
    return rows


def scope(shared: str, benchmarks: str) -> dict:
    touched, powered, inputs = [], [], 0
    cache = {}
    for name, y in benchmark_inputs(shared, benchmarks, cache):
        inputs += 1
        if fill_value(y) is not None:
            touched.append(name)
        if y.ndim == 2 and power_law_read(y) is not None:
            powered.append(name)
    clean, clean_powered = [], []
    for ds in sorted(os.listdir(os.path.join(shared, "data"))):
        root = os.path.join(shared, "data", ds)
        for p in io.list_images(root) if os.path.isdir(root) else []:
            image = cache.get(p)
            image = io.read_image(p) if image is None else image
            if fill_value(image) is not None:
                clean.append(f"{ds} {os.path.basename(str(p))}")
            if image.ndim == 2 and power_law_read(image) is not None:
                clean_powered.append(f"{ds} {os.path.basename(str(p))}")
    print("benchmark inputs", inputs, "fill read", touched, "power route", powered, "clean images: fill read", clean,
          "power route", clean_powered, flush=True)
    return {"benchmark_inputs": inputs, "benchmark_inputs_fill_read": touched, "benchmark_inputs_power_route": powered,
            "clean_images_fill_read": clean, "clean_images_power_route": clean_powered}


def main(argv=None) -> int:
    args = scope_args(argv)
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
                    for k in ("rmse", "rmse_near", "rmse_far", "holes_kept", "moved_100mm")}
    finish(args, "depth_check.py", start, rows, summary, scope)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
