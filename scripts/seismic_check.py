"""Signed data, seismic sections: the no-option route on them (never read as shot noise: pretrained.SIGNED_SIGMAS;
a noise level that changes down the section evened first: api.level_profile, api.BAND_VARY), dead traces
(api.zero_area_note), and which committed benchmark inputs these rules touch.

    python scripts/seismic_check.py [--shared ../shared] [--benchmarks benchmarks] [--seeds 3]
                                    [--out benchmarks/seismic_check.json]

Sections: synthetic, float, time down the rows, 128x512 ("wide") and 512x128 ("tall"): 25 dipping reflectors
(a Ricker wavelet, amplitudes about 3e4), decaying to 5% at the bottom. Noise, white Gaussian, of sigma s = 3% of
the clean peak: "even" (s everywhere), "loud_top" (s (1 + 9 exp(-6 t)), t the depth in [0, 1]: ten times louder
at the top), "agc" (s exp(2.6 t): an automatic gain control's, 13 times louder at the bottom); "correlated"
(AR(1) along time, phi 0.9, marginal sigma s: not evened, for the record). Arms: the no-option call ("default");
with the noise level never evened (BAND_VARY infinite: "not_evened"); as before both rules (SIGNED_SIGMAS and
BAND_VARY infinite: "unsigned_reading"); BM3D given the noise's RMS sigma ("bm3d_rms"). Figures: RMSE against the
clean section, of the whole section and of its top and bottom quarters; the route taken.

Dead traces: the even sections with 4 traces set to 0: whether the note names them, and the largest value the
no-option call leaves in them (the note's --blank-value 0 keeps them 0).

Scope: every dataset/noise pair of the committed benchmark files rebuilt by PROTOCOL.md (as depth_check.py), and
every clean image of the shared datasets: those read as signed data, and of them those whose no-option route
(method, model, options) differs from the route with the rule off; those evened; those whose full-length lines
get a note; those with a fill read.
"""
import os
import time
import warnings

import numpy as np
from scipy import ndimage

from noise2x import api, io
from noise2x import pretrained
from noise2x.estimate import fill_value

from _record import benchmark_inputs, finish, scope_args

NOISES = ("even", "loud_top", "agc", "correlated")


def section(nt: int, nx: int, seed: int) -> np.ndarray:
    """A clean section, time down the rows: dipping reflectors (a Ricker wavelet), amplitudes about 3e4,
    decaying to 5% at the bottom (tests/test_signed.py's too)."""
    rng = np.random.default_rng(seed)
    refl = np.zeros((nt, nx))
    x = np.arange(nx)
    for _ in range(25):
        t = (rng.uniform(0, nt) + rng.uniform(-0.3, 0.3) * x).astype(int)
        inside = (t >= 0) & (t < nt)
        refl[t[inside], x[inside]] += rng.choice([-1, 1]) * rng.uniform(0.3, 1)
    s = (np.arange(41) - 20) * 0.06 * np.pi
    ricker = (1 - 2 * s * s) * np.exp(-s * s)
    return ndimage.convolve1d(refl, ricker, axis=0, mode="constant") * np.exp(-3 * np.arange(nt) / nt)[:, None] * 3e4


def noisy_section(clean: np.ndarray, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + seed)
    s = 0.03 * float(np.abs(clean).max())
    t = np.arange(clean.shape[0])[:, None] / clean.shape[0]
    if kind == "correlated":
        from scipy.signal import lfilter

        return clean + lfilter([1.0], [1.0, -0.9], rng.normal(0, s * np.sqrt(1 - 0.81), clean.shape), axis=0)
    level = {"even": s + 0 * t, "loud_top": s * (1 + 9 * np.exp(-6 * t)), "agc": s * np.exp(2.6 * t)}[kind]
    return clean + level * rng.normal(size=clean.shape)


def figures(out: np.ndarray, clean: np.ndarray) -> dict:
    q = clean.shape[0] // 4
    err = out - clean
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "rmse_top": float(np.sqrt(np.mean(err[:q] ** 2))),
            "rmse_bottom": float(np.sqrt(np.mean(err[-q:] ** 2)))}


def run_arm(arm: str, noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, str]:
    saved = api.BAND_VARY, pretrained.SIGNED_SIGMAS
    info: dict = {}
    try:
        if arm in ("not_evened", "unsigned_reading"):
            api.BAND_VARY = float("inf")
        if arm == "unsigned_reading":
            pretrained.SIGNED_SIGMAS = float("inf")
        if arm == "bm3d_rms":
            sigma = float(np.sqrt(np.mean((noisy - clean) ** 2)))
            return api.denoise(noisy, method="bm3d", options={"sigma": sigma}), "bm3d (RMS sigma given)"
        out = api.denoise(noisy, info=info)
    finally:
        api.BAND_VARY, pretrained.SIGNED_SIGMAS = saved
    return out, f"{info.get('method')}" + (f", {info['transform']}" if "transform" in info else "")


def section_rows(seeds: int) -> list:
    rows = []
    for shape_name, (nt, nx) in (("wide", (128, 512)), ("tall", (512, 128))):
        for seed in range(seeds):
            clean = section(nt, nx, seed)
            for kind in NOISES:
                noisy = noisy_section(clean, kind, seed)
                row = {"shape": shape_name, "seed": seed, "noise": kind, "noisy": figures(noisy, clean)}
                for arm in ("default", "not_evened", "unsigned_reading", "bm3d_rms"):
                    t0 = time.time()
                    out, route = run_arm(arm, noisy, clean)
                    row[arm] = {**figures(out, clean), "route": route, "seconds": round(time.time() - t0, 2)}
                rows.append(row)
                print(shape_name, seed, kind, {k: round(v["rmse"]) for k, v in row.items()
                                               if isinstance(v, dict)}, row["default"]["route"], flush=True)
            dead = noisy_section(clean, "even", seed)
            traces = [5, 6, nx // 2, nx - 3]
            dead[:, traces] = 0.0
            note = api.zero_area_note(dead)
            out = api.denoise(dead)
            rows.append({"shape": shape_name, "seed": seed, "noise": "even, 4 dead traces",
                         "note": note, "dead_trace_max_abs": float(np.abs(out[:, traces]).max()),
                         "blank_value_0_keeps": bool((api.denoise(dead, blank_value=0)[:, traces] == 0).all())})
    return rows


def scope(shared: str, benchmarks: str) -> dict:
    signed, changed, evened, lines, filled, inputs, read = [], [], [], [], [], 0, 0
    cache = {}

    def look(image, name: str) -> None:
        nonlocal read
        gray = image if image.ndim == 2 else None
        if "from end to end" in (api.zero_area_note(image) or ""):
            lines.append(name)
        if fill_value(image) is not None:
            filled.append(name)
        if float(np.percentile(image, 1)) < 0:  # (read as signed only where its 1st percentile lies below 0)
            read += 1
            route = api.no_option_route(image)
            choice = route[0]
            if choice.facts.get("signed"):
                signed.append(name)
                saved, pretrained.SIGNED_SIGMAS = pretrained.SIGNED_SIGMAS, float("inf")
                try:
                    before = api.no_option_route(image)
                finally:
                    pretrained.SIGNED_SIGMAS = saved
                if (before[0].method, before[2], before[3], before[0].options) != (
                        choice.method, route[2], route[3], choice.options):
                    changed.append(name)
                if gray is not None and api.level_profile(gray, choice) is not None:
                    evened.append(name)

    for name, y in benchmark_inputs(shared, benchmarks, cache):
        inputs += 1
        look(y, name)
    clean = 0
    for ds in sorted(os.listdir(os.path.join(shared, "data"))):
        root = os.path.join(shared, "data", ds)
        for p in io.list_images(root) if os.path.isdir(root) else []:
            image = cache.get(p)
            look(io.read_image(p) if image is None else image, f"clean {ds} {os.path.basename(str(p))}")
            clean += 1
    found = {"benchmark_inputs": inputs, "clean_images": clean, "read_for_sign (1st percentile below 0)": read,
             "signed": signed, "signed_route_changed": changed, "evened": evened, "full_length_lines_note": lines,
             "fill_read": filled}
    print(found, flush=True)
    return found


def main(argv=None) -> int:
    args = scope_args(argv)
    start = time.time()
    warnings.simplefilter("ignore")  # (notes said as warnings from Python: the record keeps the figures)
    rows = section_rows(args.seeds)
    summary = {}
    for kind in NOISES:
        r = [x for x in rows if x["noise"] == kind]
        summary[kind] = {f"{arm} {k}": round(float(np.mean([x[arm][k] for x in r])), 1)
                         for arm in ("noisy", "default", "not_evened", "unsigned_reading", "bm3d_rms")
                         for k in ("rmse", "rmse_top", "rmse_bottom")}
        summary[kind]["default routes"] = sorted({x["default"]["route"].split(" (changes")[0] for x in r})
    finish(args, "seismic_check.py", start, rows, summary, scope)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
