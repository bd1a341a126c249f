#!/usr/bin/env python
"""Zero-shot benchmark: MASH against ZS-N2N (and MASH's ablations) on 256x256 centre crops of CBSD68.

Three parts, all following PROTOCOL.md (image ``i`` = the i-th file in sorted
order; its noise drawn with ``rng = i`` on the crop; predictions clipped to
[0, 255] before PSNR/SSIM; every method seeded with ``rng = i``):

* ``table``: per noise (correlated beta = 0.5 and 1, sigma 25; white Gaussian
  sigma 25) the noisy input, BM3D (sigma estimated), ZS-N2N, MASH and two MASH
  ablations: no local shuffling (same probe and ratio, shuffling off) and a
  fixed ratio 0.5 (no probe, no shuffling: the authors' baseline), on every
  noise (on white noise the ablation shows what the probe's low ratio is
  worth). The no-shuffle row reuses MASH's own output where MASH did not
  shuffle (the two runs would be identical).
* ``confusion``: MASH's step 2 against the true correlation: beta = 0
  (white), 0.5 and 1; the right level is the one whose ratio denoises best at
  the cpu budget (see ``EXPECTED``). It uses the probes
  of the table's MASH runs plus probe-only runs on further images; the probe
  standard deviations do not depend on the thresholds, so the paper's and the
  authors' code's thresholds are both tabulated from the same probes.
* ``presets`` (optional, slow): the ``cpu`` preset against the papers'
  settings (``preset="paper"``) on a few images, to show what the CPU budget
  costs. ``--preset-settings cpu`` re-runs the cpu preset alone (after a
  change to it) and keeps the paper settings' rows of the merged earlier run,
  whose command the table then names too.
* ``seeds`` (optional): MASH against its fixed-ratio-0.5 ablation on the
  table's crops and noise (``--seed-noises``), re-trained with ``--seeds``
  further seeds per crop (``rng = i + 1000 s``, s = 1, 2, ...; the noise stays
  the table's). Both are single-image trainings, so one seed per crop can hide
  a small difference; the mean over seeds (the table's seed included) says
  whether it holds.

Usage (the figures in BENCHMARKS.md come from these commands, run in this
order; each merges the earlier parts from, and writes back to, one JSON)::

    python scripts/zeroshot_bench.py --parts presets --preset-methods zs_n2n --preset-images 2 \\
        --images 4 --out benchmarks/zeroshot_cbsd68_256.json
    python scripts/zeroshot_bench.py --parts table,confusion --images 4 --confusion-images 4 \\
        --merge benchmarks/zeroshot_cbsd68_256.json --out benchmarks/zeroshot_cbsd68_256.json \\
        --benchmarks BENCHMARKS.md
    python scripts/zeroshot_bench.py --parts seeds --images 4 --seeds 1 \\
        --merge benchmarks/zeroshot_cbsd68_256.json --out benchmarks/zeroshot_cbsd68_256.json \\
        --benchmarks BENCHMARKS.md

``--benchmarks FILE`` replaces (or appends) the section
``## Zero-shot: MASH and ZS-N2N`` of that Markdown file with the tables of
this run, leaving the rest of the file untouched. When only some parts are
run, the other parts' tables are read from the JSON files named by
``--merge``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from noise2x.benchmark import machine_info
from noise2x.classical import bm3d
from noise2x.fsutil import atomic_path
from noise2x.io import list_images, read_image
from noise2x.metrics import psnr, ssim
from noise2x.noise import protocol_noisy
from noise2x.zeroshot import mash, zs_n2n
from noise2x.zeroshot.mash import PRESETS as MASH_PRESETS
from noise2x.zeroshot.mash import probe_correlation, select_ratio
from noise2x.zeroshot.zs_n2n import PRESETS as ZS_PRESETS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SECTION = "## Zero-shot: MASH and ZS-N2N"
NOISES = ("correlated:sigma=25,beta=0.5", "correlated:sigma=25,beta=1", "gaussian:sigma=25")
#: The level whose ratio denoises best at the cpu preset's budget, measured on
#: calibration images (CBSD68 20-24, never the test crops; for beta = 0.5 by
#: scripts/mash_calibration.py, benchmarks/mash_calibration.json): the low
#: ratio (0.2) for white noise, the medium ratio (0.5) for beta = 0.5 and the
#: high ratio (0.8) for beta = 1.
EXPECTED = {0.0: "low", 0.5: "medium", 1.0: "high"}
BETAS = (0.0, 0.5, 1.0)
LEVELS = ("low", "medium", "high")


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centre ``size`` x ``size`` crop (the whole side when the image is smaller)."""
    h, w = image.shape[:2]
    ch, cw = min(size, h), min(size, w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return image[top: top + ch, left: left + cw]


def select_files(dataset: Path, first: int, count: int, *, calibration: bool = False) -> tuple[list[Path], str]:
    """Images ``first`` .. ``first + count - 1`` of ``dataset`` (sorted), or ``([], error line)``.

    ``calibration``: the script may only read calibration images (index 12 and up; 0-3 are the zero-shot
    table's test crops, 0-11 the confusion table's).
    """
    if calibration and first < 12:
        return [], "--first must be at least 12 (images 0-11 are test and confusion crops)"
    if not dataset.is_dir():
        return [], f"dataset folder not found: {dataset}"
    files = list_images(dataset)[first: first + count]
    if not files:
        return [], f"no {'calibration ' if calibration else ''}images from index {first} in {dataset}"
    return files, ""


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (numpy numbers as floats)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, default=float))


def calibration_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a calibration script (MASH's on CBSD68 crops from index 20, never the test crops):
    ``--dataset``, ``--first``, ``--images``, ``--size``, ``--noises``."""
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--first", type=int, default=20, help="first calibration index (sorted order; >= 12)")
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--noises", default=";".join(NOISES), help="semicolon-separated noise specs")


def earlier_runs(path: Path | None, option: str = "--out") -> list[dict[str, Any]] | None:
    """The ``"runs"`` of a calibration script's earlier JSON at ``path`` ([] where there is none yet), or None
    after one error line when the file is not such a JSON (``option`` names it in that line)."""
    if path is None or not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())["runs"]
        if not isinstance(runs, list):
            raise TypeError("runs is not a list")
        return runs
    except (OSError, ValueError, KeyError, TypeError):
        print(f"error: {path} is not this script's JSON; choose another {option}", file=sys.stderr)
        return None


def calibration_inputs(args: Any) -> tuple[list[Path], list[dict[str, Any]]] | None:
    """A resumable calibration script's images (``--dataset``, ``--first``, ``--images``: calibration images
    only) and the runs already in its ``--out``, or None after one error line."""
    files, error = select_files(args.dataset, args.first, args.images, calibration=True)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return None
    runs = earlier_runs(args.out)
    return None if runs is None else (files, runs)


def print_runs(render: Callable[[], str], what: str) -> int:
    """Print ``render()`` (tables of recorded runs) and return 0, or one error line and 2 if they cannot be read.

    ``what`` names the runs in the error line; a ``KeyError`` is a row or the
    meta lacking a field.
    """
    try:
        print(render())
    except KeyError as exc:
        print(f"error: cannot read {what}: a row or the meta lacks the field {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: cannot read {what}: {exc}", file=sys.stderr)
        return 2
    return 0


def script_command(script: str, argv: list[str] | None) -> str:
    """The command line that ran ``scripts/<script>`` with ``argv`` (default: this process's arguments)."""
    return f"python scripts/{script} " + " ".join(argv if argv is not None else sys.argv[1:])


def run_meta(script: str, argv: list[str] | None, t_start: float) -> dict[str, Any]:
    """A run's machine, date, wall time since ``t_start`` (perf_counter) and command line."""
    return {"machine": machine_info(), "date": time.strftime("%Y-%m-%d"), "wall_s": time.perf_counter() - t_start,
            "command": script_command(script, argv)}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _score(clean: np.ndarray, out: np.ndarray, seconds: float | None, *, clip: bool = True,
           **extra: Any) -> dict[str, Any]:
    """PSNR/SSIM of one prediction (clipped to [0,255] first, PROTOCOL.md; the noisy input is not clipped)."""
    row = {"psnr": psnr(clean, out, clip=clip), "ssim": ssim(clean, out, clip=clip), "seconds": seconds}
    row.update(extra)
    return row


def run_table(files: list[Path], *, size: int, noises: tuple[str, ...]) -> dict[str, Any]:
    """Every method on every crop and noise; returns per-noise, per-method lists of per-image rows."""
    results: dict[str, Any] = {}
    for spec in noises:
        per: dict[str, list[dict[str, Any]]] = {}
        for i, path in enumerate(files):
            clean = centre_crop(read_image(path), size)
            noisy = protocol_noisy(clean, spec, index=i)
            tag = f"[{spec} {i + 1}/{len(files)} {path.name}]"
            per.setdefault("noisy", []).append(_score(clean, noisy, None, clip=False, file=path.name))

            out, sec = _timed(lambda: bm3d(noisy))
            per.setdefault("bm3d", []).append(_score(clean, out, sec, file=path.name))

            out, sec = _timed(lambda: zs_n2n(noisy, rng=i))
            per.setdefault("zs_n2n", []).append(_score(clean, out, sec, file=path.name))
            _say(f"{tag} zs_n2n {per['zs_n2n'][-1]['psnr']:.2f} dB {sec:.0f} s")

            info: dict[str, Any] = {}
            out, sec = _timed(lambda: mash(noisy, rng=i, info=info, progress=_say))
            choice = {"gap": info["gap"], "gaps": info["gaps"],
                      "probe_std": {str(k): v for k, v in info["probe_std"].items()},
                      "probe_std_all": {str(k): v for k, v in info["probe_std_all"].items()},
                      "level": info["level"], "ratio": info["ratio"], "shuffled": info["shuffled"],
                      "flat_fraction": info["flat_fraction"]}
            per.setdefault("mash", []).append(_score(clean, out, sec, file=path.name, **choice))
            _say(f"{tag} mash {per['mash'][-1]['psnr']:.2f} dB {sec:.0f} s ({info['level']}, ratio {info['ratio']})")

            # the ablations on white noise too: where the adaptive ratio should differ from 0.5 the most
            if info["shuffled"]:
                out2, sec2 = _timed(lambda: mash(noisy, rng=i, shuffle="off"))
                reused = False
            else:
                out2, sec2, reused = out, sec, True
            per.setdefault("mash_no_shuffle", []).append(
                _score(clean, out2, sec2, file=path.name, reused_mash_output=reused))

            out3, sec3 = _timed(lambda: mash(noisy, rng=i, ratio=0.5))
            per.setdefault("mash_ratio_0.5", []).append(_score(clean, out3, sec3, file=path.name))
            _say(f"{tag} no-shuffle {per['mash_no_shuffle'][-1]['psnr']:.2f} dB, "
                 f"ratio 0.5 {per['mash_ratio_0.5'][-1]['psnr']:.2f} dB")
        results[spec] = per
    return results


def run_confusion(files: list[Path], *, size: int, start: int, betas: tuple[float, ...]) -> list[dict[str, Any]]:
    """Probe-only runs (cpu preset) on images ``start..``; one row per image and beta."""
    rows = []
    for j, path in enumerate(files):
        i = start + j
        clean = centre_crop(read_image(path), size)
        for beta in betas:
            spec = f"correlated:sigma=25,beta={beta:g}"
            noisy = protocol_noisy(clean, spec, index=i)
            found, sec = _timed(lambda: probe_correlation(noisy, rng=i))
            rows.append({"file": path.name, "index": i, "beta": beta, "gap": found["gap"], "gaps": found["gaps"],
                         "level": found["level"],
                         "probe_std": {str(k): v for k, v in found["probe_std"].items()},
                         "probe_std_all": {str(k): v for k, v in found["probe_std_all"].items()}, "seconds": sec})
            _say(f"[probe {path.name} beta {beta:g}] gap {found['gap']:.2f} -> {found['level']} ({sec:.0f} s)")
    return rows


def run_presets(files: list[Path], *, size: int, methods: tuple[str, ...] = ("mash", "zs_n2n"),
                settings: tuple[str, ...] = ("cpu", "paper"),
                earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """cpu preset against the papers' settings: MASH on beta = 1, ZS-N2N on white noise (``methods`` of them).

    Only the presets in ``settings`` are run; the others' rows are taken from
    ``earlier`` (the merged presets blocks, which must hold them for the same
    noise and files), and the block keeps that run's stamp under ``"kept"``.
    """
    cases = [("mash", "correlated:sigma=25,beta=1", mash), ("zs_n2n", "gaussian:sigma=25", zs_n2n)]
    cases = [c for c in cases if c[0] in methods]
    kept = [p for p in ("cpu", "paper") if p not in settings]
    out: dict[str, Any] = {}
    for name, spec, fn in cases:
        old = (earlier or {}).get(name, {})
        old_rows = {r["file"]: r for r in old.get("rows", [])} if old.get("noise") == spec else {}
        missing = [f.name for f in files if any(p not in old_rows.get(f.name, {}) for p in kept)]
        if kept and missing:
            raise ValueError(f"presets: no earlier {'/'.join(kept)} row of {name} for {', '.join(missing)} "
                             "to keep (--merge the JSON that has them, or run every setting)")
        t0 = time.perf_counter()
        rows = []
        for i, path in enumerate(files):
            clean = centre_crop(read_image(path), size)
            noisy = protocol_noisy(clean, spec, index=i)
            row: dict[str, Any] = {"file": path.name, "noisy": psnr(clean, noisy, clip=False)}
            for preset in ("cpu", "paper"):
                if preset in kept:
                    row[preset] = old_rows[path.name][preset]
                    continue
                res, sec = _timed(lambda: fn(noisy, rng=i, preset=preset))
                row[preset] = {"psnr": psnr(clean, res), "ssim": ssim(clean, res), "seconds": sec}
                _say(f"[presets {name} {path.name}] {preset}: {row[preset]['psnr']:.2f} dB {sec:.0f} s")
            rows.append(row)
        out[name] = {"noise": spec, "rows": rows, "wall_s": time.perf_counter() - t0}
        if kept:
            stamp = {k: old.get(k) for k in ("command", "date", "cpu", "wall_s")}
            out[name]["kept"] = {p: old.get("kept", {}).get(p, stamp) for p in kept}
    return out


def run_seeds(files: list[Path], *, size: int, noises: tuple[str, ...], seeds: int) -> dict[str, Any]:
    """MASH and MASH at a fixed ratio 0.5, re-trained with seeds ``i + 1000 s`` (s = 1..seeds) on each crop."""
    out: dict[str, Any] = {}
    for spec in noises:
        rows = []
        for i, path in enumerate(files):
            clean = centre_crop(read_image(path), size)
            noisy = protocol_noisy(clean, spec, index=i)
            for s in range(1, seeds + 1):
                seed = i + 1000 * s
                row: dict[str, Any] = {"file": path.name, "index": i, "seed": seed}
                info: dict[str, Any] = {}
                res, sec = _timed(lambda: mash(noisy, rng=seed, info=info))
                row["mash"] = _score(clean, res, sec, level=info["level"], gap=info["gap"], gaps=info["gaps"])
                res, sec = _timed(lambda: mash(noisy, rng=seed, ratio=0.5))
                row["mash_ratio_0.5"] = _score(clean, res, sec)
                _say(f"[seeds {spec} {path.name} seed {seed}] mash {row['mash']['psnr']:.2f} dB "
                     f"({info['level']}), ratio 0.5 {row['mash_ratio_0.5']['psnr']:.2f} dB")
                rows.append(row)
        out[spec] = rows
    return out


def seed_means(result: dict[str, Any], spec: str) -> dict[str, Any]:
    """Per-crop and overall means over seeds (the table's seed ``rng = i`` included) of MASH and ratio 0.5."""
    keys = ("mash", "mash_ratio_0.5")
    table = result.get("table", {}).get(spec, {})
    per: dict[str, dict[str, list[float]]] = {}
    for k in keys:
        for r in table.get(k, []):
            per.setdefault(r["file"], {kk: [] for kk in keys})[k].append(r["psnr"])
    for r in result["seeds"][spec]:
        for k in keys:
            per.setdefault(r["file"], {kk: [] for kk in keys})[k].append(r[k]["psnr"])
    crops = {f: {k: float(np.mean(v[k])) for k in keys} | {"n": len(v["mash"])} for f, v in per.items()}
    wins = sum(c["mash"] > c["mash_ratio_0.5"] for c in crops.values())
    return {"crops": crops, "wins": wins,
            "mean": {k: float(np.mean([c[k] for c in crops.values()])) for k in keys}}


# ---------------------------------------------------------------- tables

def _mean(rows: list[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else float("nan")


def _abs_gap_all(row: dict[str, Any]) -> float:
    """The paper's gap: |std_high - std_low| over every pixel (8-bit units)."""
    stds = row["probe_std_all"]
    return abs(stds["0.8"] - stds["0.2"])


def confusion_counts(samples: list[tuple[float, float]], *, preset: str) -> dict[float, dict[str, int]]:
    """Counts of (beta -> chosen level) for (beta, gap) samples under a preset's thresholds."""
    cfg = MASH_PRESETS[preset]
    counts = {beta: {lvl: 0 for lvl in LEVELS} for beta in BETAS}
    for beta, gap in samples:
        _, level = select_ratio(gap, eps_low=cfg["eps_low"], eps_high=cfg["eps_high"],
                                ratio_low=cfg["ratio_low"], ratio_medium=cfg["ratio_medium"],
                                ratio_high=cfg["ratio_high"])
        counts[beta][level] += 1
    return counts


def _probe_rows(result: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    """(beta, row) for every probe of a run: the table's MASH runs and the probe-only runs."""
    rows = []
    for spec, per in result.get("table", {}).items():
        beta = 0.0 if spec.startswith("gaussian") else float(spec.rsplit("beta=", 1)[1])
        rows += [(beta, r) for r in per.get("mash", [])]
    rows += [(r["beta"], r) for r in result.get("confusion", [])]
    return rows


def stamp_presets(result: dict[str, Any], meta: dict[str, Any]) -> None:
    """Give each presets block merged from an earlier run that run's command, date, CPU and wall time.

    A later presets run of another method then replaces only its own block,
    and the table still names the command behind each row.
    """
    for block in result.get("presets", {}).values():
        if "command" not in block:
            block.update({"command": meta["commands"].get("presets", ""), "date": meta["dates"].get("presets"),
                          "cpu": meta["cpus"].get("presets"), "wall_s": meta["wall"].get("presets", 0.0)})


def _date(meta: dict[str, Any], part: str) -> str:
    """'run on DATE (CPU), ' for a part of the result (merged parts keep the date and CPU of their own run)."""
    date = (meta.get("dates") or {}).get(part) or meta.get("date")
    cpu = (meta.get("cpus") or {}).get(part)
    return f"run on {date}{f' ({cpu})' if cpu else ''}, " if date else ""


def markdown(result: dict[str, Any]) -> str:
    """The BENCHMARKS.md section for a run (and whatever parts were merged into it)."""
    lines = [SECTION, ""]
    meta = result["meta"]
    lines += [
        "Single-image (zero-shot) denoising: each method trains a fresh network on the one noisy image it "
        "denoises. Written by `scripts/zeroshot_bench.py`; raw per-image numbers in the JSON files named below.",
        "",
        f"* Machine: CPU, {meta['machine'].get('usable_cores')} cores ({meta['machine'].get('cpu_model')}), "
        f"torch threads {meta['torch_threads']}, "
        + ("**shared with other jobs during the run** (timings are upper bounds; an idle machine is faster)."
           if meta.get("shared_machine", True) else "no other job running (`scripts/queue.sh`)."),
        f"* Data: {meta['size']}x{meta['size']} centre crops of the first {meta['images']} CBSD68 images (sorted names), noise per "
        "PROTOCOL.md (`rng = i`), correlated noise from `noise2x.noise.correlated` (radius 2).",
        "* Defaults (`preset=cpu`): ZS-N2N {zs}; MASH {mash}.".format(
            zs=meta["zs_n2n_cpu"], mash=meta["mash_cpu"]),
        "",
    ]
    table = result.get("table")
    if table:
        lines += [f"Command: `{meta['commands'].get('table', '')}` ({_date(meta, 'table')}wall time "
                  f"{meta['wall'].get('table', 0) / 60:.0f} min).", ""]
        methods = [("noisy", "noisy input"), ("bm3d", "BM3D (sigma estimated)"), ("zs_n2n", "ZS-N2N"),
                   ("mash", "**MASH**"), ("mash_no_shuffle", "MASH without shuffling"),
                   ("mash_ratio_0.5", "MASH, fixed ratio 0.5 (no probe, no shuffling)")]
        specs = list(table)
        # with several noise levels, the mean over them: a user's images come with any correlation, and a
        # fixed ratio that suits one level loses on the others (the point of the paper's ablation)
        mixed = len(specs) > 1
        lines.append("| method | " + " | ".join(f"`{s}` PSNR / SSIM" for s in specs)
                     + (" | mean of the noises PSNR" if mixed else "") + " | s / image |")
        lines.append("|---|" + "---|" * (len(specs) + 1 + mixed))
        for key, label in methods:
            cells, secs, psnrs = [], [], []
            for s in specs:
                rows = table[s].get(key)
                if rows:
                    psnrs.append(_mean(rows, "psnr"))
                    cells.append(f"{psnrs[-1]:.2f} / {_mean(rows, 'ssim'):.4f}")
                    if key != "noisy":
                        secs += [r["seconds"] for r in rows if not r.get("reused_mash_output")]
                else:
                    cells.append("–")
            if mixed:
                cells.append(f"{np.mean(psnrs):.2f}" if len(psnrs) == len(specs) else "–")
            sec = f"{np.mean(secs):.0f}" if secs else "–"
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {sec} |")
        lines.append("")
        chosen = []
        for s in specs:
            picks = [f"{r['level']} ({r['gap']:.2f})" for r in table[s]["mash"]]
            chosen.append(f"`{s}`: " + ", ".join(picks))
        lines += ["MASH's choice per image (level, probe gap of the cpu rule): " + "; ".join(chosen) + ".", ""]
    probes = _probe_rows(result)
    if probes:
        n = len(probes)
        cpu = MASH_PRESETS["cpu"]
        lines += [
            f"**Step 2 against the true correlation** ({n} probes with the cpu preset's training: the table's "
            f"MASH runs plus probe-only runs on {len({r['file'] for r in result.get('confusion', [])})} further "
            "crops at beta = 0, 0.5 and 1). Rows: the noise; columns: the level chosen (ratio 0.2 / 0.5 / 0.8 "
            "for the paper's ratios). The right choice is the level whose ratio denoises best at this budget, "
            "measured on calibration images (CBSD68 20-24, not test crops; `scripts/mash_calibration.py`, "
            "benchmarks/mash_calibration.json): " + ", ".join(
                f"{EXPECTED[b]} for beta = {b:g}" for b in BETAS) + ". The same probes are scored with "
            "three rules: the cpu preset's (gap "
            f"{'relative to the larger std' if cpu['relative_gap'] else 'in 8-bit units'} over the flattest "
            f"{cpu['probe_fraction']:.0%} of the image, thresholds {cpu['eps_low']:g} / {cpu['eps_high']:g}) "
            "and the paper's and the authors' code's (gap in 8-bit units over every pixel).",
            "",
        ]
        rules = [("cpu", [(b, r["gap"]) for b, r in probes]),
                 ("paper", [(b, _abs_gap_all(r)) for b, r in probes]),
                 ("code", [(b, _abs_gap_all(r)) for b, r in probes])]
        for preset, samples in rules:
            cfg = MASH_PRESETS[preset]
            counts = confusion_counts(samples, preset=preset)
            right = sum(counts[b][EXPECTED[b]] for b in BETAS)
            lines += [f"Rule `{preset}` (thresholds {cfg['eps_low']:g} / {cfg['eps_high']:g}): "
                      f"{right}/{n} right.", "",
                      "| noise \\ chosen | low | medium | high |", "|---|---|---|---|"]
            for b in BETAS:
                lines.append(f"| beta = {b:g} (right: {EXPECTED[b]}) | "
                             + " | ".join(str(counts[b][c]) for c in LEVELS) + " |")
            lines.append("")
            gaps = {b: [g for bb, g in samples if bb == b] for b in BETAS}
            lines += [f"Gap by noise, rule `{preset}` (mean, min-max): " + "; ".join(
                f"beta {b:g}: {np.mean(v):.3g} ({min(v):.3g}-{max(v):.3g})" for b, v in gaps.items() if v) + ".", ""]
        if "confusion" in meta["commands"]:
            lines += [f"Probe-only command: `{meta['commands']['confusion']}` "
                      f"({_date(meta, 'confusion')}wall time {meta['wall'].get('confusion', 0) / 60:.0f} min).", ""]
    presets = result.get("presets")
    if presets:
        lines += ["**What the CPU budget costs** (the commands below the table):", "",
                  "| method | noise | images | noisy | cpu preset PSNR (s / image) | paper settings PSNR (s / image) |",
                  "|---|---|---|---|---|---|"]
        runs = []
        for name, block in presets.items():
            rows = block["rows"]
            cpu = f"{np.mean([r['cpu']['psnr'] for r in rows]):.2f} ({np.mean([r['cpu']['seconds'] for r in rows]):.0f})"
            pap = f"{np.mean([r['paper']['psnr'] for r in rows]):.2f} ({np.mean([r['paper']['seconds'] for r in rows]):.0f})"
            lines.append(f"| {name} | `{block['noise']}` | {len(rows)} | "
                         f"{np.mean([r['noisy'] for r in rows]):.2f} | {cpu} | {pap} |")
            command = block.get("command", meta["commands"].get("presets", ""))
            cpu_name = f" ({block['cpu']})" if block.get("cpu") else ""
            when = f"run on {block['date']}{cpu_name}, " if block.get("date") else _date(meta, "presets")
            wall = block.get("wall_s", meta["wall"].get("presets", 0))
            line = f"- {name}: `{command}` ({when}wall time {wall / 60:.0f} min)"
            for preset, old in block.get("kept", {}).items():
                old_cpu = f" ({old['cpu']})" if old.get("cpu") else ""
                old_when = f"run on {old['date']}{old_cpu}, " if old.get("date") else ""
                line += (f"; its {'paper settings' if preset == 'paper' else 'cpu preset'} column is kept from "
                         f"`{old.get('command', '')}` ({old_when}wall time {(old.get('wall_s') or 0) / 60:.0f} min)")
            runs.append(line)
        lines += ["", *runs, ""]
    for spec in result.get("seeds", {}):
        m = seed_means(result, spec)
        n = sorted({c["n"] for c in m["crops"].values()})
        lines += [f"**Seeds** (`{spec}`, MASH against its fixed ratio 0.5; command: "
                  f"`{meta['commands'].get('seeds', '')}`, {_date(meta, 'seeds')}wall time "
                  f"{meta['wall'].get('seeds', 0) / 60:.0f} min): each crop re-trained with further seeds "
                  "(same noise), mean PSNR over " + "/".join(map(str, n)) + " seeds per crop, the table's "
                  "seed included.", "",
                  "| crop | MASH | fixed ratio 0.5 | MASH - ratio 0.5 |", "|---|---|---|---|"]
        for f, c in m["crops"].items():
            lines.append(f"| {f} | {c['mash']:.2f} | {c['mash_ratio_0.5']:.2f} | "
                         f"{c['mash'] - c['mash_ratio_0.5']:+.2f} |")
        lines += [f"| mean | {m['mean']['mash']:.2f} | {m['mean']['mash_ratio_0.5']:.2f} | "
                  f"{m['mean']['mash'] - m['mean']['mash_ratio_0.5']:+.2f} |", "",
                  f"MASH ahead on {m['wins']} of {len(m['crops'])} crops.", ""]
    return "\n".join(lines).rstrip() + "\n"


def update_section(path: Path, text: str) -> None:
    """Replace this script's section of a Markdown file (or append it), atomically."""
    old = path.read_text() if path.exists() else ""
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + ("\n\n" if old.strip() else "") + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        tail = old[nxt + 1:] if nxt >= 0 else ""
        new = old[:start] + text + ("\n" + tail if tail else "")
    with atomic_path(path) as tmp:
        tmp.write_text(new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATA / "cbsd68")
    parser.add_argument("--parts", default="table,confusion",
                        help="comma list of: table, confusion, presets, seeds")
    parser.add_argument("--images", type=int, default=4, help="images in the table (the first N)")
    parser.add_argument("--confusion-images", type=int, default=8,
                        help="further images (after the table's) probed at beta 0, 0.5 and 1")
    parser.add_argument("--preset-images", type=int, default=2, help="images for the presets part")
    parser.add_argument("--preset-methods", default="mash,zs_n2n", help="methods of the presets part")
    parser.add_argument("--preset-settings", default="cpu,paper",
                        help="presets run in the presets part (the others are kept from the merged JSON)")
    parser.add_argument("--seeds", type=int, default=2, help="further seeds per crop of the seeds part")
    parser.add_argument("--seed-noises", default=NOISES[0], help="semicolon-separated noise specs of the seeds part")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, help="JSON file with every per-image number")
    parser.add_argument("--noises", default=";".join(NOISES), help="semicolon-separated noise specs of the table")
    parser.add_argument("--shared-machine", action="store_true",
                        help="say in the section that other jobs ran beside this one (timings are upper bounds)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="earlier JSON outputs to merge in")
    parser.add_argument("--benchmarks", type=Path, help="Markdown file whose zero-shot section is replaced")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - {"table", "confusion", "presets", "seeds"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    files = list_images(args.dataset)
    command = script_command("zeroshot_bench.py", argv)
    result: dict[str, Any] = {}
    meta = {
        "machine": machine_info(), "torch_threads": torch.get_num_threads(), "images": args.images,
        "size": args.size, "date": time.strftime("%Y-%m-%d"), "commands": {}, "wall": {},
        "shared_machine": bool(args.shared_machine), "dates": {}, "cpus": {},
        "zs_n2n_cpu": "{steps} Adam steps, lr {lr:g} halved every {step_size}, {width} channels".format(**ZS_PRESETS["cpu"]),
        "mash_cpu": ("{probe_repeats} x 2 probes of {probe_steps} and a final training of {steps} Adam steps"
                     + (" that continues a probe's network" if MASH_PRESETS["cpu"]["warm_start"] else "")
                     + (" (gradient norm clipped at {grad_clip:g})" if MASH_PRESETS["cpu"]["grad_clip"] else "")
                     + " on random {crop}x{crop} crops, K = {predictions}").format(**MASH_PRESETS["cpu"]),
    }
    for path in args.merge:
        earlier = json.loads(path.read_text())
        result.update({k: v for k, v in earlier.items() if k != "meta"})
        meta["commands"].update(earlier.get("meta", {}).get("commands", {}))
        meta["wall"].update(earlier.get("meta", {}).get("wall", {}))
        old_meta = earlier.get("meta", {})
        meta["dates"].update(old_meta.get("dates") or {k: old_meta.get("date") for k in old_meta.get("commands", {})})
        meta["cpus"].update(old_meta.get("cpus") or {})
    if "table" in parts:
        t0 = time.perf_counter()
        noises = tuple(n.strip() for n in args.noises.split(";") if n.strip())
        result["table"] = run_table(files[: args.images], size=args.size, noises=noises)
        meta["wall"]["table"] = time.perf_counter() - t0
        meta["commands"]["table"] = command
        meta["dates"]["table"] = meta["date"]
        meta["cpus"]["table"] = meta["machine"].get("cpu_model")
    if "confusion" in parts and args.confusion_images > 0:
        t0 = time.perf_counter()
        extra = files[args.images: args.images + args.confusion_images]
        result["confusion"] = run_confusion(extra, size=args.size, start=args.images, betas=(0.0, 0.5, 1.0))
        meta["wall"]["confusion"] = time.perf_counter() - t0
        meta["commands"]["confusion"] = command
        meta["dates"]["confusion"] = meta["date"]
        meta["cpus"]["confusion"] = meta["machine"].get("cpu_model")
    stamp_presets(result, meta)
    if "presets" in parts:
        t0 = time.perf_counter()
        methods = tuple(m.strip() for m in args.preset_methods.split(",") if m.strip())
        settings = tuple(p.strip() for p in args.preset_settings.split(",") if p.strip())
        if not settings or set(settings) - {"cpu", "paper"}:
            print(f"error: --preset-settings takes cpu and/or paper, got '{args.preset_settings}'", file=sys.stderr)
            return 2
        try:
            fresh = run_presets(files[: args.preset_images], size=args.size, methods=methods, settings=settings,
                                earlier=result.get("presets"))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for block in fresh.values():
            block.update({"command": command, "date": meta["date"], "cpu": meta["machine"].get("cpu_model")})
        result["presets"] = {**result.get("presets", {}), **fresh}  # a method re-run replaces its block only
        meta["wall"]["presets"] = time.perf_counter() - t0
        meta["commands"]["presets"] = command
        meta["dates"]["presets"] = meta["date"]
        meta["cpus"]["presets"] = meta["machine"].get("cpu_model")
    if "seeds" in parts:
        seed_noises = tuple(n.strip() for n in args.seed_noises.split(";") if n.strip())
        missing = [n for n in seed_noises if n not in result.get("table", {})]
        if missing:
            print(f"error: the seeds part needs the table's run of {missing[0]} (run it or --merge its JSON)",
                  file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        result["seeds"] = run_seeds(files[: args.images], size=args.size, noises=seed_noises, seeds=args.seeds)
        meta["wall"]["seeds"] = time.perf_counter() - t0
        meta["commands"]["seeds"] = command
        meta["dates"]["seeds"] = meta["date"]
        meta["cpus"]["seeds"] = meta["machine"].get("cpu_model")
    result["meta"] = meta
    if args.out:
        write_json(args.out, result)
    text = markdown(result)
    if args.benchmarks:
        update_section(args.benchmarks, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
