#!/usr/bin/env python
"""JPEG photos through the spectrum route: does BM3D given a correlated reading's spectrum harm them?

A JPEG's compression leaves an error that is spatially correlated (8x8 blocks), and most clean JPEG photos read
as strongly correlated noise (beta near 1, sigma 1-11): since 0b75f49 the no-option choice gives them to BM3D
given that spectrum (``noise2x.pretrained.CORRELATED_PSD_BETA``). This script saves the first photos of a dataset
as JPEG at some qualities, clean or with the noise of ``--noise`` (PROTOCOL.md, ``index = i``, rounded to 8 bits
first), and runs ``noise2x.denoise`` on each with the route on and off (``CORRELATED_PSD_BETA`` 0.9 and inf),
scoring both against the clean photo. Usage (the runs behind BENCHMARKS.md, "Correlated noise: BM3D given its
spectrum")::

    python scripts/jpeg_route_check.py --out benchmarks/jpeg_route_clean.json
    python scripts/jpeg_route_check.py --noise gaussian:sigma=15 --qualities 75,90 --out benchmarks/jpeg_route_g15.json

``--alternatives`` scores the general shipped model and BM3D at the white sigma read beside them (BENCHMARKS.md,
"Noisy JPEGs"); each row records the JPEG signs the no-option call reads (``--add-signs`` adds them to an earlier
run's rows); ``--show`` of several runs prints the rules table of their rows pooled, ``--compare A B`` the
no-option call of two runs photo by photo.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pg_route_calibration import DATA, denoise_forced, record  # (the forced-constant run and the run record)

#: The shipped model ``--alternatives`` compares: the general one, blind to the level (sigma 0..50)
ALTERNATIVE_MODEL = "gray-gaussian"
#: The white sigma below which the no-option call gives the image to BM3D (noise2x.pretrained.WEAK_SIGMA), and
#: the correlated reading from which it gives it to BM3D with that noise's spectrum (CORRELATED_PSD_BETA)
WEAK, PSD_BETA = 5.0, 0.9
#: The JPEG signs a rule may use (noise2x.pretrained.JPEG_EXCESS, JPEG_ROUNDING, JPEG_FINE): read as a JPEG, as its
#: decoder left it (no noise added after), quantised coarsely (quality up to about 90)
EXCESS, ROUNDING, FINE = 0.05, 0.4, 0.001
#: The white sigma below which the rule takes such a photo (noise2x.pretrained.JPEG_MODEL_SIGMA), and the narrow
#: model an image too large for BM3D gets instead of the weak-noise BM3D (``--add-model`` adds its column)
RULE_SIGMA, NARROW_MODEL = 4.5, "gray-gaussian-low"
#: What the no-option call's reason says where that rule took the photo
JPEG_RULE = "a JPEG as its decoder left it"


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (8-bit units) saved as a JPEG of ``quality`` and read back, float64."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im, dtype=np.float64)


def signs(x: np.ndarray) -> dict[str, Any]:
    """The JPEG signs of ``x`` (8-bit units) as the no-option call reads them (:func:`noise2x.pretrained.jpeg_signs`):
    ``jpeg_excess``, and where it reads as a JPEG ``jpeg_rounding`` and ``jpeg_fine`` (None: too few unclipped blocks
    on the grid to read them, where the call applies no JPEG rule); empty where they do not apply."""
    from noise2x.pretrained import jpeg_signs

    found = jpeg_signs(x)
    if found is None:
        return {}
    row = {"jpeg_excess": round(found["excess"], 3)}
    if found["how"] != "none":
        row["jpeg_rounding"] = round(found["rounding"], 3) if found["how"] != "unknown" else None
        row["jpeg_fine"] = round(found["fine"], 4) if found["how"] != "unknown" else None
    return row


def add_columns(path: Path, model: str | None = None) -> int:
    """The JPEG signs (:func:`signs`), or with ``model`` the PSNR of that shipped model as it is (column
    ``model:NAME``), added to each row of an earlier run's file (each photo rebuilt as that run made it: the noise
    of its index, the JPEG of its quality), written back atomically; the number of rows."""
    from noise2x import api
    from noise2x.fsutil import atomic_path
    from noise2x.io import list_images, read_image
    from noise2x.metrics import psnr
    from noise2x.noise import protocol_noisy

    result = json.loads(path.read_text())
    noise = result["meta"].get("noise")
    names: dict[str, list[str]] = {}
    for row in result["rows"]:
        if row["set"] not in names:
            names[row["set"]] = [q.name for q in list_images(DATA / row["set"])]
        i = names[row["set"]].index(row["image"])
        clean = read_image(DATA / row["set"] / row["image"])
        x = jpeg(clean if noise is None else protocol_noisy(clean, noise, index=i), row["quality"])
        if round(psnr(clean, x), 3) != row["jpeg"]:  # (not the photo that run made: the data or the noise differ)
            raise SystemExit(f"{path}: {row['set']}/{row['image']} at quality {row['quality']} is not rebuilt as "
                             f"recorded (JPEG PSNR {psnr(clean, x):.3f}, recorded {row['jpeg']})")
        if model is None:
            row.update(signs(x))
        else:
            row[f"model:{model}"] = round(psnr(clean, api.denoise(x, model=model)), 3)
            print(json.dumps({k: row[k] for k in ("set", "image", "quality", f"model:{model}")}), file=sys.stderr,
                  flush=True)
    option = "--add-signs" if model is None else f"--add-model {model}"
    result["meta"]["signs_added" if model is None else f"model_added:{model}"] = (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()) + f" by python scripts/jpeg_route_check.py {option} {path}")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    return len(result["rows"])


def measure(datasets: list[str], count: int, qualities: list[int], noise: str | None,
            alternatives: bool = False, first: int = 0) -> list[dict[str, Any]]:
    from noise2x import api, classical
    from noise2x.io import list_images, read_image
    from noise2x.metrics import psnr
    from noise2x.noise import protocol_noisy

    rows = []
    for name in datasets:
        for i, path in enumerate(list_images(DATA / name)[first: first + count], start=first):
            clean = read_image(path)
            src = clean if noise is None else protocol_noisy(clean, noise, index=i)
            for q in qualities:
                x = jpeg(src, q)
                off, o_info, _ = denoise_forced(x, {"CORRELATED_PSD_BETA": float("inf")})
                on, n_info, _ = denoise_forced(x, {"CORRELATED_PSD_BETA": 0.9})
                row = {"set": name, "image": path.name, "quality": q, "jpeg": round(psnr(clean, x), 3),
                       "off": round(psnr(clean, off), 3), "on": round(psnr(clean, on), 3),
                       "route_on": n_info.get("method"), "beta": n_info.get("estimated_beta"),
                       "sigma": n_info.get("estimated_correlated_sigma"),
                       "white_sigma": n_info.get("estimated_sigma"), **signs(x)}
                if alternatives:  # the general blind model as it is, and BM3D with the white sigma it estimates
                    row["model"] = round(psnr(clean, api.denoise(x, model=ALTERNATIVE_MODEL)), 3)
                    row["bm3d"] = round(psnr(clean, classical.bm3d(x)), 3)
                    if JPEG_RULE in str(n_info.get("auto")):  # the no-option call without the JPEG rule, as before it
                        norule, r_info, _ = denoise_forced(x, {"CORRELATED_PSD_BETA": 0.9, "JPEG_MODEL_SIGMA": 0.0})
                        row["norule"], row["route_norule"] = round(psnr(clean, norule), 3), r_info.get("method")
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def show(rows: list[dict[str, Any]], noise: str | None) -> None:
    alt = all("model" in r for r in rows)
    print(f"JPEG photos ({noise or 'clean'}); mean PSNR against the clean photo (dB)\n")
    print("| set | quality | images | JPEG | route off | route on | taken by | on - off: mean, min, max (taken) |"
          + (f" `{ALTERNATIVE_MODEL}` | BM3D (white sigma estimated) | white sigma read | best of the three: on, model, "
             "BM3D |" if alt else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|---|---|---|" if alt else ""))
    for key in dict.fromkeys((r["set"], r["quality"]) for r in rows):
        rs = [r for r in rows if (r["set"], r["quality"]) == key]
        taken = [r["on"] - r["off"] for r in rs if r["on"] != r["off"]]
        spread = f"{np.mean(taken):+.2f}, {min(taken):+.2f}, {max(taken):+.2f}" if taken else "–"
        print(f"| {key[0]} | {key[1]} | {len(rs)} | {np.mean([r['jpeg'] for r in rs]):.2f} | "
              f"{np.mean([r['off'] for r in rs]):.2f} | {np.mean([r['on'] for r in rs]):.2f} | "
              f"{len(taken)} of {len(rs)} | {spread} |" + (_alternatives(rs) if alt else ""))
    print()
    if alt:  # the general model against the two BM3D routes of the no-option call
        for what, match in (
                (f"BM3D with the white sigma read, below {WEAK:g} (weak noise)",
                 lambda r: r["beta"] < PSD_BETA and r["white_sigma"] < WEAK),
                ("BM3D given the spectrum of the correlated noise read", lambda r: r["beta"] >= PSD_BETA)):
            d = [r["model"] - r["on"] for r in rows if r["route_on"] == "bm3d" and match(r)]
            if d:
                print(f"Where the no-option call took {what}: `{ALTERNATIVE_MODEL}` ahead on {sum(x > 0 for x in d)} "
                      f"of {len(d)} photos, by {np.mean(d):+.2f} dB on average ({min(d):+.2f} to {max(d):+.2f})\n")


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    """The no-option call of two runs (A, B: e.g. the code before and after a change) on the same photos and
    qualities, per set and quality: mean PSNR, and the per-photo change where it changed."""
    key = lambda r: (r["set"], r["image"], r["quality"])  # noqa: E731
    old = {key(r): r for r in a}
    pairs = [(old[key(r)], r) for r in b if key(r) in old]
    print("| set | quality | photos | A: no options | B: no options | B - A: mean | changed | B - A on those: min, max |")
    print("|---|---|---|---|---|---|---|---|")
    for sq in dict.fromkeys((r["set"], r["quality"]) for _, r in pairs):
        ps = [(x, y) for x, y in pairs if (y["set"], y["quality"]) == sq]
        d = [y["on"] - x["on"] for x, y in ps]
        ch = [v for v in d if v != 0]
        spread = f"{min(ch):+.2f}, {max(ch):+.2f}" if ch else "–"
        print(f"| {sq[0]} | {sq[1]} | {len(ps)} | {np.mean([x['on'] for x, _ in ps]):.2f} | "
              f"{np.mean([y['on'] for _, y in ps]):.2f} | {np.mean(d):+.2f} | {len(ch)} of {len(ps)} | {spread} |")
    print()


def rules(rows: list[dict[str, Any]]) -> None:
    """Rules tried on the pooled rows of ``--alternatives`` runs: the general model instead of the no-option call's
    weak-noise BM3D (white sigma read below ``WEAK``) where that sigma is below a threshold: mean change against
    the no-option call over the photos that rule takes, the worst and best photo, and how many gained. Where the
    rows carry the JPEG signs (:func:`signs`), the same again with the rule taking only photos read as JPEGs as
    their decoder left them (excess at least ``EXCESS``, rounding spread below ``ROUNDING``)."""
    rows = [r for r in rows if "model" in r]
    tables = [("", lambda r: True)]
    if rows and all("jpeg_fine" in r for r in rows):
        tables.append((f", on photos read as JPEGs as decoded, coarsely quantised (excess >= {EXCESS:g}, rounding "
                       f"spread < {ROUNDING:g}, fine steps < {FINE:g})",
                       lambda r: r["jpeg_excess"] >= EXCESS and None not in (r["jpeg_rounding"], r["jpeg_fine"])
                       and r["jpeg_rounding"] < ROUNDING and r["jpeg_fine"] < FINE))
    for what, jpeg_sign in tables:
        print("**Rules** (the general model instead of the no-option call's weak-noise BM3D where the white sigma "
              f"read is below the figure{what}; {len(rows)} photos pooled)\n")
        print("| white sigma below | taken | gained | mean change (taken) | worst | best | mean change (all photos) |")
        print("|---|---|---|---|---|---|---|")
        for cut in (1.0, 2.0, 3.0, 4.0, 4.5, WEAK):
            d = [r["model"] - _before(r)[0] for r in rows
                 if _before(r)[1] == "bm3d" and r["beta"] < PSD_BETA and r["white_sigma"] < cut and jpeg_sign(r)]
            if d:
                print(f"| {cut:g} | {len(d)} | {sum(x > 0 for x in d)} | {np.mean(d):+.2f} | {min(d):+.2f} | "
                      f"{max(d):+.2f} | {sum(d) / len(rows):+.3f} |")
        print()
    narrow = f"model:{NARROW_MODEL}"
    if len(tables) > 1 and all(narrow in r for r in rows):  # what an image above WEAK_MAX_PIXELS would get there
        d = [r["model"] - r[narrow] for r in rows if _before(r)[1] == "bm3d" and r["beta"] < PSD_BETA
             and r["white_sigma"] < RULE_SIGMA and tables[1][1](r)]
        if d:
            print(f"On the photos the rule takes (JPEGs as decoded, coarsely quantised, white sigma read below "
                  f"{RULE_SIGMA:g}), "
                  f"`{ALTERNATIVE_MODEL}` against `{NARROW_MODEL}` (which an image too large for BM3D gets there): "
                  f"ahead on {sum(x > 0 for x in d)} of {len(d)}, by {np.mean(d):+.2f} dB on average ({min(d):+.2f} "
                  f"to {max(d):+.2f})\n")


def _before(row: dict[str, Any]) -> tuple[float, str]:
    """The no-option call's PSNR and route on a row as they were before the JPEG rule (runs since it record them
    where the rule took the photo: ``norule``)."""
    return (row["norule"], row["route_norule"]) if "norule" in row else (row["on"], row["route_on"])


def _alternatives(rs: list[dict[str, Any]]) -> str:
    best = [int(np.argmax([r["on"], r["model"], r["bm3d"]])) for r in rs]
    return (f" {np.mean([r['model'] for r in rs]):.2f} | {np.mean([r['bm3d'] for r in rs]):.2f} | "
            f"{min(r['white_sigma'] for r in rs):.1f}-{max(r['white_sigma'] for r in rs):.1f} | "
            f"{best.count(0)}, {best.count(1)}, {best.count(2)} |")


def present(names: str, script: str, root: Path) -> list[str] | None:
    """The datasets of a comma-separated list, or None (one error line) where a folder is missing in ``root``."""
    datasets = [d for d in names.split(",") if d]
    missing = [d for d in datasets if not (root / d).is_dir()]
    if missing:
        print(f"{script}: data folder missing: {root / missing[0]}", file=sys.stderr)
        return None
    return datasets


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="bsd68,cbsd68")
    p.add_argument("--images", type=int, default=6, help="N photos of each")
    p.add_argument("--first", type=int, default=0, help="from this photo on (sorted order; calibration photos: "
                   "train400 20.., CBSD68 60..)")
    p.add_argument("--qualities", default="20,40,70", help="JPEG qualities, comma-separated")
    p.add_argument("--noise", help="noise put on the photo before saving it (default: none)")
    p.add_argument("--out", type=Path)
    p.add_argument("--alternatives", action="store_true",
                   help=f"also score the shipped model {ALTERNATIVE_MODEL!r} as it is and BM3D with the white sigma "
                        "it estimates (noisy JPEGs: the no-option call reads the noise low)")
    p.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"),
                   help="the no-option call of two earlier runs compared photo by photo; runs nothing")
    p.add_argument("--add-signs", type=Path, nargs="+", metavar="FILE",
                   help="add the JPEG signs (excess, rounding spread) to the rows of earlier runs' files, each photo "
                        "rebuilt as the run made it (nothing denoised)")
    p.add_argument("--add-model", nargs=2, action="append", metavar=("NAME", "FILE"),
                   help="add the PSNR of the shipped model NAME as it is to the rows of an earlier run's file, each "
                        "photo rebuilt as the run made it (repeatable)")
    p.add_argument("--show", type=Path, nargs="+", help="print the tables of earlier runs' files (several: and the "
                   "rules table of their rows pooled); runs nothing")
    args = p.parse_args(argv)
    if args.compare:
        compare(*(json.loads(f.read_text())["rows"] for f in args.compare))
        return 0
    if args.add_signs or args.add_model:
        for f in args.add_signs or []:
            print(f"{f}: signs added to {add_columns(f)} rows")
        for name, f in args.add_model or []:
            print(f"{f}: {name} added to {add_columns(Path(f), name)} rows")
        return 0
    if args.show:
        results = [json.loads(f.read_text()) for f in args.show]
        for result in results:
            show(result["rows"], result["meta"].get("noise"))
        if len(results) > 1:
            rules([r for result in results for r in result["rows"]])
        return 0
    datasets = present(args.datasets, "jpeg_route_check", DATA)
    if datasets is None:
        return 1
    t0 = time.time()
    rows = measure(datasets, args.images, [int(q) for q in args.qualities.split(",")], args.noise, args.alternatives,
                   args.first)
    record(rows, t0, "jpeg_route_check", argv, args.out, {"noise": args.noise})
    show(rows, args.noise)
    return 0


if __name__ == "__main__":
    sys.exit(main())
