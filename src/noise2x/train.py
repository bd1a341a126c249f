"""One method-agnostic training loop.

:func:`train` builds the data, the model and one optimiser per loss key
returned by the method (Adam unless the method's ``make_optimizer`` says
otherwise; its ``after_step`` runs after each optimiser step, e.g. to clip
weights), then steps until the budget (``--steps`` and/or ``--minutes``) is
used, validating every ``train.val_every`` steps: PSNR
against clean images when they are known, else the method's own loss on
fixed crops. The output model file holds the final weights (``train.keep=last``,
the default: the learning rate is ramped down to zero, as in the Noise2Noise
paper) or the best validated ones (``train.keep=best``). The run folder beside
it (``MODEL.run/``) holds ``config.json``, ``log.csv``, ``curve.png``,
``best.safetensors``, ``last.safetensors`` and ``state.safetensors``
(optimiser and random states, for ``--resume``). ``log.csv`` has a
``loss_NAME`` column for every loss besides "model" (a second optimised loss
such as "critic", or a term the method only logs as ``log/NAME``). A NaN or
infinite loss, or non-finite weights at a checkpoint, stops the run with an
error; the last good checkpoint stays in the run folder (``--resume`` continues
from it). It contains no method names.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io as _io
import json
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from .config import (TrainConfig, TrainSection, apply_overrides, check_config, preset_overrides,
                     resolve_model, resolve_preset)
from .errors import InputError, Noise2xError, TrainingInterrupted, UsageError, WriteFailed, escaped
from .fsutil import atomic_path, replace
from .metrics import clip_range

__all__ = ["TrainConfig", "TrainingInterrupted", "StepInfo", "lr_factor", "run_folder", "train", "train_model"]


@dataclasses.dataclass
class StepInfo:
    """Passed to callbacks after every step; set ``stop = True`` to end the run (resumable). ``loss``: the model's
    loss at the latest step that computed it (a GAN's critic-only steps keep the generator's: they showed the
    critic's, a GAN QA pass)."""

    step: int
    loss: float
    lr: float
    progress: float
    seconds: float
    stop: bool = False


def lr_factor(progress: float, *, schedule: str = "rampdown", rampdown: float = 0.3, warmup: float = 0.0) -> float:
    """Learning-rate multiplier at ``progress`` (fraction of the budget used, 0..1).

    "rampdown" is the Noise2Noise paper's schedule: 1 until ``1 - rampdown``, then
    ``(0.5 + cos(pi t) / 2) ** 2`` with ``t`` going 0 -> 1 over the last
    ``rampdown`` of the budget. "cosine" decays as ``(1 + cos(pi p)) / 2``;
    "steps" halves at each fifth of the budget (1, 0.5, 0.25, 0.125, 0.0625:
    Neighbor2Neighbor's reference ``MultiStepLR``); "constant" stays 1, and so
    does "plateau", whose lowering follows the validation figure (see
    :class:`Plateau`). An optional linear warm-up over the first ``warmup``.
    """
    p = min(max(float(progress), 0.0), 1.0)
    if schedule == "cosine":
        f = 0.5 * (1.0 + math.cos(math.pi * p))
    elif schedule == "rampdown":
        start = 1.0 - rampdown
        if rampdown > 0 and p >= start:
            t = (p - start) / rampdown
            f = (0.5 + math.cos(math.pi * t) / 2.0) ** 2
        else:
            f = 1.0
    elif schedule == "steps":
        f = 0.5 ** min(int(p * 5.0 + 1e-9), 4)
    elif schedule in ("constant", "plateau"):
        f = 1.0
    else:
        raise UsageError(f"unknown schedule {schedule!r}")
    if warmup > 0 and p < warmup:
        f *= (p / warmup) * 0.99 + 0.01
    return f


@dataclasses.dataclass
class Plateau:
    """The validation figure's course: the learning rate's multiplier of ``train.schedule="plateau"`` and the
    checks since the best figure (``train.early_stop``).

    As torch's ``ReduceLROnPlateau`` (relative threshold 1e-4): ``scale`` is multiplied by ``factor`` once more
    than ``patience`` checks in a row have not improved on ``ref`` (the best figure so far by that threshold; the
    checks are then counted afresh); ``since_best`` counts the checks since the best figure (strictly better, as
    ``train.keep=best`` takes it).
    """

    scale: float = 1.0
    ref: float | None = None
    bad: int = 0
    since_best: int = 0

    def update(self, metric: str, value: float, *, better: bool, patience: int, factor: float,
               lowering: bool) -> bool:
        """Count one check of figure ``value`` (``better``: a new best); True where the rate is lowered now."""
        self.since_best = 0 if better else self.since_best + 1
        margin = 1e-4 * abs(self.ref) if self.ref is not None else 0.0
        if self.ref is None or (value > self.ref + margin if metric == "psnr" else value < self.ref - margin):
            self.ref, self.bad = value, 0
            return False
        self.bad += 1
        if lowering and self.bad > patience:
            self.scale *= factor
            self.bad = 0
            return True
        return False


#: ``train.warmup`` of a run started from a trained network (``init``) unless set: its learning rate ramps up over
#: this share of the budget. One Noise2Noise step at the full rate took a model from 28.4 to 17.1 dB (a QA pass);
#: with it 28.4, and after 80 steps 29.8 against 29.4; on a shipped model fine-tuned 2 minutes for another noise
#: it changed nothing (24.86 against 24.84 dB, BENCHMARKS.md "Fine-tuning a shipped model")
FINETUNE_WARMUP = 0.2


def run_folder(out: str | Path) -> Path:
    """The run folder of a model file: ``M.safetensors`` -> ``M.run``."""
    out = Path(out)
    return out.with_name(out.stem + ".run")


# -- progress display ------------------------------------------------------------------
def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


#: Seconds between progress lines where stderr is no terminal (a line at each validation besides): a batch
#: job's log said nothing for the first 250 steps (1000 with the paper presets), a docs QA pass
OFF_TTY_EVERY = 30.0


class _Progress:
    def __init__(self, enabled: bool, stream=None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = 0.0 if self.tty else time.monotonic()
        self.width = 0

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self.last > 0.25:
                # (within the terminal's width: a longer line wraps, and each update left its wrapped rows behind,
                # on a 20-column terminal: a locale QA pass)
                text = text[:max(20, shutil.get_terminal_size((80, 24)).columns - 1)]
                pad = max(0, self.width - len(text))
                self.stream.write("\r" + text + " " * pad)
                self.stream.flush()
                self.width = len(text)
                self.last = now
        elif force or now - self.last >= OFF_TTY_EVERY:  # (a batch job's log: a line at least every so often)
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last = now

    def note(self, text: str) -> None:
        """A line of its own (on a terminal, below the progress line, which goes on under it)."""
        if not self.enabled:
            return
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()


# -- curve -------------------------------------------------------------------------------
def plot_curves(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Draw the training loss and the validation measure against the step to a PNG (Pillow); a method with a
    critic (the GAN) gets a third panel, its critic and adversarial losses (a GAN QA pass found neither plotted).
    A panel is on a log10 scale where all its values are above 0 (a WGAN's losses go below 0)."""
    from PIL import Image, ImageDraw

    def values(key: str) -> list[tuple[float, float]]:
        out = []
        for r in rows:
            v = r.get(key)
            if v not in (None, "") and math.isfinite(float(v)):
                out.append((float(r["step"]), float(v)))
        return out

    psnr = any(r.get("val_psnr") not in (None, "") for r in rows)
    panels = [("train loss", [("train_loss", (31, 119, 180))]),
              ("validation PSNR (dB)" if psnr else "validation loss", [("val_psnr" if psnr else "val_loss",
                                                                         (214, 39, 40))])]
    if any(r.get(LOSS_COLUMN + "critic") not in (None, "") for r in rows):
        panels.append(("critic (orange), adversarial (green) loss",
                       [(LOSS_COLUMN + "critic", (255, 127, 14)), (LOSS_COLUMN + "adversarial", (44, 160, 44))]))
    W, H, M = 450 * len(panels), 340, 48
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    pw = W // len(panels)
    for n, (title, lines) in enumerate(panels):
        x0, x1, y0, y1 = n * pw + M, (n + 1) * pw - 16, 28, H - 36
        draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
        series = [(values(key), color) for key, color in lines]
        every = [v for pts, _ in series for _, v in pts]
        log = bool(every) and min(every) > 0 and "PSNR" not in title
        draw.text((x0, 8), title + (" (log10)" if log else ""), fill=(0, 0, 0))
        series = [([(a, math.log10(b) if log else b) for a, b in pts], color) for pts, color in series]
        allpts = [p for pts, _ in series for p in pts]
        if not allpts:
            continue
        ax0, ax1 = min(p[0] for p in allpts), max(p[0] for p in allpts)
        ay0, ay1 = min(p[1] for p in allpts), max(p[1] for p in allpts)
        if ax1 == ax0:
            ax1 = ax0 + 1
        if ay1 == ay0:
            ay0, ay1 = ay0 - 0.5, ay1 + 0.5

        def tx(v: float) -> float:
            return x0 + 4 + (x1 - x0 - 8) * (v - ax0) / (ax1 - ax0)

        def ty(v: float) -> float:
            return y1 - 4 - (y1 - y0 - 8) * (v - ay0) / (ay1 - ay0)

        for pts, color in series:
            xy = [(tx(a), ty(b)) for a, b in pts]
            if len(xy) > 1:
                draw.line(xy, fill=color, width=2)
            for (a, b) in xy:
                draw.ellipse([a - 2, b - 2, a + 2, b + 2], fill=color)
        draw.text((x0 - 44, y0), f"{ay1:.3g}", fill=(0, 0, 0))
        draw.text((x0 - 44, y1 - 10), f"{ay0:.3g}", fill=(0, 0, 0))
        draw.text((x0, y1 + 6), f"{ax0:.0f}", fill=(0, 0, 0))
        draw.text((x1 - 40, y1 + 6), f"{ax1:.0f} steps", fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


LOG_COLUMNS = ("step", "seconds", "lr", "train_loss", "val_psnr", "val_loss", "steps_per_s")
#: Further columns: ``loss_NAME`` for every loss the method returns besides "model"
#: (another optimised loss such as "critic", or a logged term ``log/NAME``).
LOSS_COLUMN = "loss_"


def _write_log(rows: Sequence[dict[str, Any]], path: Path) -> None:
    columns = list(LOG_COLUMNS)
    for r in rows:
        columns += [k for k in r if k.startswith(LOSS_COLUMN) and k not in columns]
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) in (None, "") else r.get(k)) for k in columns})
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [dict(r) for r in csv.DictReader(f)]


def _write_json(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


# -- the loop ----------------------------------------------------------------------------
def _build_config(method: str, *, data, data2, val_data, add_noise, steps, minutes, seed, device,
                  overrides: Sequence[str], device_type: str | None = None) -> tuple[TrainConfig, str, str | None]:
    base = TrainConfig(method=method, data=str(data), data2=None if data2 is None else str(data2),
                       val_data=None if val_data is None else str(val_data),
                       add_noise=None if add_noise is None else str(add_noise),
                       train=TrainSection(steps=steps, minutes=minutes, seed=int(seed), device=str(device)))
    user = apply_overrides(base, overrides)
    from .predict import resolve_device

    dev = resolve_device(user.train.device)
    preset = resolve_preset(user, dev.type)
    from .config import _method_class, _with_section, split_override

    values = dict(item.split("=", 1) for item in preset_overrides(method, preset))
    given = {name.split(".", 1)[1] for name in (
        ".".join(split_override(_with_section(user, o))[:2]) for o in overrides) if name.startswith("method.")}
    values, note = _method_class(method).tune_preset(values, user.options, preset, given=given)
    cfg = apply_overrides(apply_overrides(base, [f"{k}={v}" for k, v in values.items()]), overrides)
    return cfg, preset, note


def _user_sets(cfg: TrainConfig, overrides: Sequence[str], name: str) -> bool:
    """Whether the user's settings give ``name`` ("section.key") themselves."""
    from .config import _with_section, split_override

    return any(".".join(split_override(_with_section(cfg, o))[:2]) == name for o in overrides)


def _fit_patch(cfg: TrainConfig, train_set: Any, align: int, preset: str, rows_held: bool = False) -> str | None:
    """A preset's patch size lowered to the smallest training image (a multiple of the network's alignment).

    The ``paper`` presets (picked by ``train.preset=auto`` on a GPU) crop 256 x 256 patches as the papers did
    from ImageNet; train400's images are 180 x 180. Returns the note to show, or None when the patches fit.
    """
    side = train_set.smallest_side()
    size = cfg.data_cfg.patch_size
    if side >= size:
        return None
    fitted = max(side // align * align, min(side, 4))
    cfg.data_cfg = dataclasses.replace(cfg.data_cfg, patch_size=fitted)
    return (f"the {preset} preset's data.patch_size {size} lowered to {fitted}: the smallest training image"
            + (" (less the bottom rows held out for validation)" if rows_held else "")
            + f" is {side} pixels on a side (--set data.patch_size=N chooses; overrides=['data.patch_size=N'] in "
              f"Python)")


def _init_network(cfg: TrainConfig, *, arch: str, channels: int) -> tuple[torch.nn.Module, str, dict[str, Any]]:
    """The network of the model ``cfg.init`` (a file or a shipped model's name) to start a run from: (network,
    architecture, its arguments). UsageError where it does not suit the run."""
    from .api import model_file
    from .checkpoint import load_model

    given = cfg.init
    if cfg.model.args or (cfg.model.arch and cfg.model.arch != arch):
        raise UsageError(f"--init (init=) {given} gives the network: drop the model.* settings")
    path = model_file(given)
    if not Path(path).is_file():
        raise UsageError(f"--init (init=) {given}: no such model file or shipped model (noise2x models lists those)")
    model, _ = load_model(path)
    if model.arch != arch:
        raise UsageError(f"--init (init=) {given} holds a {model.arch!r} network; {cfg.method} trains a {arch!r} "
                         f"network (start from a model trained with one)")
    if model.in_channels != channels:
        raise UsageError(f"--init (init=) {given} takes {model.in_channels}-channel images; the data have {channels}")
    return model.net, model.arch, dict(model.arch_args)


#: A C axis's channels, trained as frames, whose spreads (0.1 to 99.9 percentile) lie this many times apart, or
#: whose levels lie further apart than this many times the larger spread, are said to share one normalisation
SPREADS_APART = 5.0


def _channels_apart(channels: dict[int, tuple[float, float]] | None) -> str | None:
    """The note for the channels of a C axis (``channels``: each one's spread and level, ImageSet.channel_spans)
    whose values lie far apart, in spread or in level (see :data:`SPREADS_APART`); else None."""
    if not channels:
        return None
    spreads = {c: s for c, (s, _) in channels.items()}
    levels = {c: m for c, (_, m) in channels.items()}
    least, most = min(spreads, key=spreads.get), max(spreads, key=spreads.get)
    low, high = min(levels, key=levels.get), max(levels, key=levels.get)
    if not (spreads[least] > 0 and spreads[most] >= SPREADS_APART * spreads[least]
            or levels[high] - levels[low] > SPREADS_APART * spreads[most]):
        return None
    shown = ", ".join(f"channel {c} around {levels[c]:.4g}, spread {spreads[c]:.4g}" for c in sorted(channels))
    return (f"the training frames are the channels of a C axis, whose values lie far apart ({shown}; the median "
            f"value and the 0.1 to 99.9 percentile spread of its frames): one normalisation serves them all, and a "
            f"channel can come out noisier than it went in; train one model per channel")


def _full_scale_note(method, mean: Sequence[float], spans: Sequence[float] | None) -> str | None:
    """What to say where a method counts photons or impulses at ``method.data_range`` 255 (8-bit full scale, the
    default) and the training images are in other units ([0, 1], 16-bit); else None. A blind-spot network given
    ``method.peak=30`` on [0, 1] data learned a variance 255 times too large and came out at 6.6 dB (a QA pass)."""
    o = getattr(method, "options", None)
    model = getattr(o, "noise_model", None)
    if getattr(o, "data_range", None) != 255.0 or str(model).split("_")[0] not in ("poisson", "impulse"):
        return None
    top = max([abs(float(v)) for v in mean] + [float(v) for v in spans or []])
    if 0 < top <= 1.5:
        units, full = "[0, 1]", 1
    elif top > 510:
        units, full = "larger units (beyond 510: 16-bit?)", 65535
    else:
        return None
    what = "photons" if model.startswith("poisson") else "the impulses' values"
    return (f"method.noise_model={model} counts {what} at method.data_range 255 (8-bit full scale, the default), "
            f"and the training images are in {units}: give their full scale, --set method.data_range={full} "
            f"(overrides=['method.data_range={full}'] in Python)")


def _images_print(train_set: Any, val_set: Any) -> dict[str, Any]:
    """The training and validation images' names, as a count and a SHA-256 (a run's config.json keeps it:
    ``--resume`` refuses a folder whose images changed)."""
    import hashlib

    items = [("train", item.name) for item in train_set.items]
    items += [("val", item.name) for item in (val_set.items if val_set is not None else [])]
    names = [f"{part} {name}" for part, name in items]
    return {"count": len(names),
            "sha256": hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape")).hexdigest()}


def _validation_note(val_set, val_images: int) -> str:
    """What a small set's validation is: the bottom rows of its last images, or the training images again."""
    few = f"fewer than 2 x data.val_images = {2 * val_images} training images"
    if val_set.split == "rows":
        from .data import VAL_ROWS

        n = len(val_set)
        which = "the last image" if n == 1 else f"the last {n} images"
        return (f"validation on the bottom {VAL_ROWS:.0%} of the rows of {which}, "
                f"held out of training ({few}, so none held out whole); --val-data DIR (val_data= in Python) "
                f"validates on other images")
    return (f"validation reuses the training images ({few}, too small to hold rows out): its figures, and "
            f"best.safetensors, are read on images trained on; --val-data DIR (val_data= in Python) validates on "
            f"other images")


def _fields_for_validation(method, val_set) -> list[str]:
    return sorted(set(method.requires) | ({"clean"} & set(val_set.available)))


#: Where the mean magnitude and the 99.9th percentile of the magnitude of two sets of images both differ by more than
#: this factor (the median over a sample of their images), they are taken to be in other units (8-bit against [0, 1]
#: or 16-bit is a factor of 255 or 257; a dark image and its noisy copy differ by a few times in the mean only); by
#: more than :data:`UNITS_FACTOR_KINDS` where one set is 8-bit files and the other 16-bit (12-bit camera frames beside
#: 8-bit targets: 16 times, a QA re-check).
UNITS_FACTOR, UNITS_FACTOR_KINDS = 30.0, 4.0


def _other_units(train_set: Any, val_set: Any, kinds: dict[str, str | None] | None = None,
                 n_images: int = 8) -> list[str]:
    """What to say where the second images (data2: clean targets or noisy copies) or the validation images
    (val_data) are in other units than the training images, judged on up to ``n_images`` of each (images with no
    value but 0 left out); ``kinds``: the sample kind of each set's files ("data", "data2", "val_data"), where known.
    Supervised targets in [0, 1] beside 8-bit inputs trained a model of no use, unsaid (a QA pass); judged on the
    first image alone, an empty first target read as other units (a QA re-check)."""
    kinds = kinds or {}

    def level(a: np.ndarray) -> tuple[float, float]:
        a = np.abs(a[np.isfinite(a)].astype(np.float64))
        return (float(a.mean()), float(np.percentile(a, 99.9))) if a.size else (0.0, 0.0)

    def sample(image_set: Any) -> list[int]:
        n = len(image_set)
        return [int(i) for i in np.unique(np.linspace(0, n - 1, num=min(n, n_images)).round())]

    def apart(ratios: list[tuple[float, float]], key: str) -> bool:
        if not ratios:
            return False
        factor = UNITS_FACTOR_KINDS if {kinds.get("data"), kinds.get(key)} == {"uint8", "uint16"} else UNITS_FACTOR
        mid = [float(np.median([r[k] for r in ratios])) for k in (0, 1)]
        return all(max(r, 1.0 / r) > factor for r in mid)

    def said(x: tuple[float, float]) -> str:
        return f"values up to {x[1]:.4g} (mean {x[0]:.4g})"

    notes = []
    second = {"supervised": "clean", "pair": "noisy2"}.get(train_set.kind)
    if second is not None and second in train_set.available:
        pairs, shifts = [], []
        for i in sample(train_set):
            arrays = train_set._arrays(i, fixed=True)
            x, y = level(arrays["noisy"]), level(arrays[second])
            if min(x + y) > 0:
                pairs.append((x, y))
            a, b = (arrays[k][np.isfinite(arrays[k])].astype(np.float64) for k in ("noisy", second))
            if a.size and b.size:
                low, high = np.percentile(a, [1, 99])
                shifts.append((float(np.median(b) - np.median(a)), float(high - low)))
        shift, spread = (float(np.median([s[k] for s in shifts])) for k in (0, 1)) if shifts else (0.0, 0.0)
        if apart([(y[0] / x[0], y[1] / x[1]) for x, y in pairs], "data2"):
            x, y = (tuple(float(np.median([p[j][k] for p in pairs])) for k in (0, 1)) for j in (0, 1))
            notes.append(f"the {'clean targets' if second == 'clean' else 'second noisy copies'} (--data2, data2=) "
                         f"read in other units than the training images: {said(y)} against {said(x)} (medians over "
                         f"{len(pairs)} pairs); the network learns to map one scale to the other: give both in the "
                         f"same units")
        elif spread > 0 and abs(shift) > 0.25 * spread:  # (HU against HU + 1024: air came out at +149, unsaid: a
            # medical-imaging QA pass)
            notes.append(f"the {'clean targets' if second == 'clean' else 'second noisy copies'} (--data2, data2=) "
                         f"sit {shift:+.4g} from the training images (the median over {len(shifts)} pairs; the "
                         f"images' values span {spread:.4g}): the network learns the difference as part of the "
                         f"image (a stored intercept, another black level or exposure?): give both at the same "
                         f"level")
    if val_set is not None and getattr(val_set, "split", None) == "folder":
        field = "clean" if train_set.kind == "synthetic" else "noisy"
        mine = [v for v in (level(train_set._arrays(i, fixed=True)[field]) for i in sample(train_set)) if min(v) > 0]
        theirs = [v for v in (level(val_set._arrays(i, fixed=True)[field]) for i in sample(val_set)) if min(v) > 0]
        if mine and theirs:
            a = tuple(float(np.median([v[k] for v in mine])) for k in (0, 1))
            b = tuple(float(np.median([v[k] for v in theirs])) for k in (0, 1))
            if apart([(b[0] / a[0], b[1] / a[1])], "val_data"):
                notes.append(f"the validation images (--val-data, val_data=) read in other units than the training "
                             f"images: {said(b)} against {said(a)} (medians over {len(theirs)} and {len(mine)} "
                             f"images); validation, and the best checkpoint, would be measured on another scale: "
                             f"give them in the training images' units")
    return notes


def _set_kinds(cfg: TrainConfig) -> dict[str, str | None]:
    """The sample kind (uint8, uint16, float32) of the first file of each of a run's image sets, where it reads."""
    from .io import image_kind, list_images

    kinds: dict[str, str | None] = {}
    for key in ("data", "data2", "val_data"):
        path = getattr(cfg, key)
        try:
            kinds[key] = None if path is None else image_kind(list_images(path, recursive=cfg.data_cfg.recursive)[0])
        except (Noise2xError, OSError, IndexError):
            kinds[key] = None
    return kinds


def _val_peak(batches: Sequence[Any]) -> tuple[float, tuple[float, float]]:
    """The peak of the validation PSNR, from the clean crops of all ``batches``, and the range predictions are
    clipped to (:func:`noise2x.metrics.clip_range`, as ``noise2x.psnr`` and bench clip): 1 for data in [0, 1]
    (fractions up to 2, as low as -0.25: percentile-normalised data pass 0 and 1 a little; it was 255, 72 dB for 27,
    a QA pass), the range of other data with negative values ([-1, 1] read against its top, 1, was 6 dB low: a QA
    re-check), 255 for other data up to 255, else their largest value."""
    top = max(float(b.clean.max()) for b in batches)
    low = min(float(b.clean.min()) for b in batches)
    unit = (top <= 2.0 and low >= -0.25
            and any(bool((b.clean != torch.round(b.clean)).any()) for b in batches))  # (fractions)
    if low < 0.0:
        peak = 1.0 if unit else top - low
    else:
        peak = 1.0 if unit else 255.0 if top <= 255.5 else top
    return peak, clip_range(low, top, peak)


def _psnr(pred: torch.Tensor, clean: torch.Tensor, peak: float, clip: tuple[float, float] | None = None) -> float:
    pred = pred.clamp(*clip) if clip is not None else pred
    # (float64 on the CPU: an Apple GPU (MPS) has no float64, and a run there failed at its first validation)
    mse = torch.mean((pred.detach().cpu().double() - clean.detach().cpu().double()) ** 2).item()
    return float("inf") if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def _validate(method, model, batches, device, *, metric: str, channels_last: bool) -> float:
    """The validation figure: PSNR against clean crops, else the method's loss at its ``validation_progress`` (the
    same at every check, whatever the run's progress)."""
    model.eval()
    try:
        if metric == "psnr":
            values = []
            peak, clip = _val_peak(batches)
            with torch.inference_mode():
                for b in batches:
                    b = b.to(device)
                    x = b.noisy.contiguous(memory_format=torch.channels_last) if channels_last else b.noisy
                    values.append(_psnr(method.predict(model, x), b.clean, peak, clip))
            return float(np.mean(values))
        gen = torch.Generator(device=device).manual_seed(12345)
        losses = []
        with torch.no_grad():
            for b in batches:
                out = method.loss(model, b.to(device), rng=gen, progress=method.validation_progress)
                losses.append(float(out["model"]))
        return float(np.mean(losses))
    finally:
        model.train()


def _override_list(overrides: Any) -> Any:
    """``overrides`` as a list where it is a string (that setting alone) or a dict ({"method.struct": "vertical:3"}:
    its keys were read as settings without values, "must look like section.key=value", an SEM user's QA pass);
    None, none; a sequence as a list; another value as it is (refused by :func:`_checked_arguments`)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in overrides.items()]
    try:
        return list(overrides)
    except TypeError:
        return overrides


def _checked_arguments(method: str, *, steps: Any, seed: Any,
                       overrides: Any) -> tuple[int | None, int | None, list[str]]:
    """:func:`train`'s arguments of a wrong type as one UsageError (a TypeError from inside before): ``steps`` and
    ``seed`` whole numbers, ``overrides`` a sequence of strings (one string: that setting alone); a direct method
    named for training is told how to run it."""
    from .api import direct_methods

    if method in direct_methods():
        raise UsageError(f"method '{method}' is not trained; it denoises directly: noise2x denoise --method "
                         f"{method} (Python: noise2x.denoise(image, method='{method}'))")
    for name, value in (("steps", steps), ("seed", seed)):
        if value is None:  # (seed None: 0, or the saved run's with resume)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise UsageError(f"{name} must be a whole number, got {value!r}")
    overrides = _override_list(overrides)
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise UsageError(f"overrides must be strings such as 'train.lr=3e-4', got {overrides!r}")
    return (None if steps is None else int(steps)), (None if seed is None else int(seed)), overrides


@contextlib.contextmanager
def _run_lock(out: Any) -> Iterator[None]:
    """Hold ``out``'s lock file (``.NAME.lock`` beside it) while a run writes ``out`` and its run folder: a second
    run of the same ``out`` is refused (two runs side by side mixed their configs, logs and weights, both ending
    well, in a QA pass). A lock left by a run that was killed (its process gone, on this machine) is taken over."""
    if not isinstance(out, (str, os.PathLike)) or Path(out).is_dir():
        yield  # (train's own checks say what is wrong with out)
        return
    try:  # (made here, as train makes it: the jobs of an array start at once in a folder none has made yet)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield  # (train says why it cannot be made)
        return
    lock = Path(out).parent / f".{Path(out).name}.lock"
    me = f"{os.getpid()} {socket.gethostname()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid, _, host = lock.read_text().partition(" ")
            except OSError:
                pid, host = "", ""
            if host.strip() == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                lock.unlink(missing_ok=True)  # (a killed run's)
                continue
            raise UsageError(f"another noise2x train (process {pid or '?'} on {host.strip() or '?'}) is writing "
                             f"{out} and its run folder; wait for it or give another --out (if no run is going, "
                             f"remove {lock})") from None
        except OSError:
            yield  # (a folder that takes no lock file: as before)
            return
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        break
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text() == me:
                lock.unlink()


#: Windows, where os.kill(pid, 0) is no probe: it sends Ctrl+C (CTRL_C_EVENT is 0), or fails with WinError 87
_WINDOWS = os.name == "nt"


def _alive(pid: int) -> bool:
    """Whether the process ``pid`` of this machine runs; True where that cannot be told (its lock is kept)."""
    if _WINDOWS:  # (a stale lock broke every later run there: a portability QA pass)
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _alive_on_windows(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # (denied: it runs; 87: no such process)
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def train(method: str, *, data: Any, out: str | Path, data2: Any = None,
          add_noise: str | None = None, steps: int | None = None, minutes: float | None = None,
          seed: int | None = None, overrides: Sequence[str] = (), resume: bool = False, device: str = "auto",
          progress: bool = True, val_data: Any = None, init: Any = None,
          callbacks: Sequence[Callable[[StepInfo], None]] = (), threads: int | None = None,
          axes: str | None = None) -> Path:
    """Train ``method`` and write the model file ``out``.

    Parameters
    ----------
    method : str
        A key of ``noise2x.methods.METHODS``.
    data : path, array or list of arrays
        Folder of training images (noisy, or clean with ``add_noise``), or a multi-frame TIFF. Or the
        images themselves: one array whose axes ``axes`` names (a 2-D array is one gray image), or a list of
        arrays, each one (H,W) gray or (H,W,3) RGB image (:func:`noise2x.data.array_images`). A stack is a
        TIFF stack's frames: Noise2Noise pairs each with the next (of a TIFF file: along its time
        axis, :func:`noise2x.io.stack_pairs`). Arrays are written once, as TIFF, in the
        run folder (``arrays/data-<digest>``: a copy on disk, in their own kind for uint8/uint16, else
        float32), where its record and ``resume`` (given the same values) find them; the run folder keeps
        only those of its latest resumable run.
    out : path
        The model file to write (``.safetensors``); the run folder is ``out`` with ``.run``.
    data2 : path, array or list of arrays, optional
        Aligned second images: noisy copies (Noise2Noise) or clean targets (``data.pair``); arrays as ``data``.
    add_noise : str, optional
        Noise spec added to clean training images, e.g. ``"gaussian:sigma=25"``.
    steps, minutes : int, float, optional
        Budget (the first reached ends the run). At least one is required.
    seed : int, optional
        Seeds every random choice; the same seed gives the same run on the same device (and with the same
        threads: set them, ``NOISE2X_THREADS``, on a shared machine). None: 0, or the saved run's with
        ``resume`` (which refuses another).
    overrides : sequence of str, or dict
        Dotted settings, e.g. ``["train.lr=3e-4", "data.patch_size=64", "method.loss=l1"]`` (or
        ``{"train.lr": 3e-4, ...}``).
    resume : bool
        Continue the run saved in the run folder, with its settings: ``steps``/``minutes`` given here
        replace the budget; the device, threads and checkpointing (``train.val_every``, ``train.keep``)
        may change; another method option, data setting, schedule or seed is refused.
    device : str
        "auto", "cpu", "cuda", "cuda:N", "mps".
    progress : bool
        Show a progress line on stderr.
    val_data : path, array or list of arrays, optional
        Validation images (same kind as ``data``; arrays as ``data``); default: hold out the last
        ``data.val_images`` (8) training images; a set of fewer than twice as
        many holds out the bottom 10% of the rows of its last ones (at least
        16 rows; an image with fewer than 64 rows is trained on whole, and a
        set of such images alone is validated on itself, with a note).
    init : path, str or Denoiser, optional
        Start from the network of this model file, of the shipped model of
        this name, or of a model :func:`noise2x.train` or ``load_model``
        returned (written to the run folder as ``init.safetensors``)
        (fine-tuning): its architecture and weights, with the
        normalisation of this run's data. It must have the architecture the
        method trains (e.g. a U-Net for noise2void) and the data's channels;
        ``model.*`` settings cannot be given with it. The learning rate then
        warms up over the first 20% of the budget (at most what
        ``train.rampdown`` leaves) unless ``train.warmup`` is
        set (:data:`FINETUNE_WARMUP`); a run of a few tens of steps still
        moves the model: a lower ``train.lr`` (e.g. 1e-4) keeps it nearer.
    callbacks : sequence of callables
        Called with a :class:`StepInfo` after each step.
    threads : int, optional
        CPU threads for the run (``train.threads``; the CLI's ``--threads``). None: ``NOISE2X_THREADS``
        or ``OMP_NUM_THREADS`` where set, else the idle cores (a resumed run: its own).
    axes : str, optional
        The axes of ``data``, ``data2`` and ``val_data`` given as one array each: "YX", "YXC", "SYX" (a stack
        of gray images) or "SYXC" (:data:`noise2x.data.ARRAY_AXES`); the stack may be named T or Z ("TYX", "ZYX")
        and the channels put first ("CYX", "SCYX"); needed for a 3-D or 4-D array.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    UsageError
        Bad method, settings or data combination.
    InputError
        Unreadable images or run state.
    TrainingInterrupted
        Ctrl-C, SIGTERM (a job scheduler's time limit; exit_code 143) or a callback stopped the run, its state
        saved; it can be continued with ``resume=True``.
    """
    if data is None or out is None:  # (resume=True with data=None was told its data "differs")
        raise UsageError(f"{'data' if data is None else 'out'} is required: "
                         + ("the training images (a folder, a TIFF stack or arrays; to resume, the run's own)"
                            if data is None else "the model file to write (NAME.safetensors)"))
    for name, value in (("data", data), ("out", out), ("data2", data2), ("val_data", val_data), ("init", init)):
        if value is None or isinstance(value, (str, os.PathLike)):
            continue
        if name == "init" and type(value).__name__ == "Denoiser" and hasattr(value, "save"):
            continue  # (a model train or load_model returned: written to the run folder for the run's record)
        if name in ("out", "init"):  # (an array's repr was the error line)
            raise UsageError(f"{name} must be a path (str or Path) to a model file"
                             + (" or a model noise2x.train returned" if name == "init" else "")
                             + f", got {type(value).__name__}")
        if not (hasattr(value, "shape") or isinstance(value, (list, tuple))):
            raise UsageError(f"{name} must be a path (str or Path) to a folder of images or a TIFF stack, an "
                             f"array or a list of arrays, got {type(value).__name__}")
    if axes is not None and not any(v is not None and not isinstance(v, (str, os.PathLike))
                                    for v in (data, data2, val_data)):
        raise UsageError("axes names the axes of data given as an array; data is a path here: drop axes")
    overrides = _override_list(overrides)  # (a dict's keys alone went on beside threads=: a re-check)
    if threads is not None and isinstance(overrides, list):
        from .config import checked_threads

        overrides = [*overrides, f"train.threads={checked_threads(threads)}"]
    with _run_lock(out):  # (one run at a time writes out and its run folder)
        from .data import ARRAYS_FOLDER

        arrays = run_folder(out) / ARRAYS_FOLDER
        made = not arrays.parent.exists()
        try:
            if any(v is not None and not isinstance(v, (str, os.PathLike)) for v in (data, data2, val_data)):
                _precheck(method, out=out, add_noise=add_noise, steps=steps, minutes=minutes, seed=seed,
                          device=device, overrides=overrides, resume=resume)
            data, data2, val_data = _array_inputs(method, {"data": data, "data2": data2, "val_data": val_data},
                                                  arrays, axes=axes, overrides=overrides, resume=resume)
            if init is not None and not isinstance(init, (str, os.PathLike)):  # (a Denoiser)
                if resume:
                    raise UsageError("--resume continues the saved run's own weights; --init (init=) cannot be "
                                     "given with it")
                _checked_out(out)
                arrays.parent.mkdir(parents=True, exist_ok=True)
                init = init.save(arrays.parent / "init.safetensors")
            return _train(method, data=data, out=out, data2=data2, add_noise=add_noise, steps=steps,
                          minutes=minutes, seed=seed, overrides=overrides, resume=resume, device=device,
                          progress=progress, val_data=val_data, init=init, callbacks=callbacks)
        finally:
            _prune_arrays(arrays)
            if not (arrays.parent / "state.safetensors").is_file():  # (a run that saved nothing: its start too)
                with contextlib.suppress(OSError):
                    (arrays.parent / "init.safetensors").unlink()
            if made:  # (a run folder made for arrays of a call refused before it trained)
                with contextlib.suppress(OSError):
                    arrays.parent.rmdir()  # (where it is empty)


def _checked_out(out: str | Path) -> Path:
    """``out`` as a Path, refused where it is a folder or not named .safetensors."""
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a model file name such as {out / 'model.safetensors'}")
    if out.suffix.lower() != ".safetensors":  # (a model named photo.png would later be taken for an image)
        raise UsageError(f"--out (out=) {out}: a model file is named .safetensors, e.g. "
                         f"{out.with_suffix('.safetensors')}")
    try:  # (safetensors opens only UTF-8 paths: a model written under another name could not be read back, a QA
        os.fsencode(out.resolve()).decode("utf-8")  # re-check; the bytes on disk, not the locale's text of them:
    except UnicodeDecodeError:  # an ASCII locale refused UTF-8 names, a Latin-1 one passed others, a locale QA pass)
        raise UsageError(f"--out (out=) {escaped(str(out))}: a model file's path must be valid UTF-8 (the "
                         f"safetensors library opens no other); rename it") from None
    return out


def _precheck(method: str, *, out: Any, add_noise: Any, steps: Any, minutes: Any, seed: Any, device: str,
              overrides: Sequence[str], resume: bool) -> None:
    """What :func:`_train` checks of the arguments before it reads the data, checked before arrays are copied
    (a misspelt method or setting copied a whole stack first, and left its run folder: a QA pass)."""
    from .methods import get_method

    steps, seed, overrides = _checked_arguments(method, steps=steps, seed=seed, overrides=overrides)
    _checked_out(out)
    if not resume:
        cfg, _, _ = _build_config(method, data="", data2=None, val_data=None, add_noise=add_noise, steps=steps,
                               minutes=minutes, seed=0 if seed is None else seed, device=device, overrides=overrides)
        check_config(cfg)
        get_method(cfg.method, cfg.options).with_noise(_noise_spec(cfg.add_noise))


def _array_inputs(method: str, values: dict[str, Any], arrays: Path, *, axes: str | None,
                  overrides: Sequence[str], resume: bool) -> list[Any]:
    """``values`` (data, data2, val_data) as given where they are paths (or None); arrays written into a folder
    of ``arrays`` named by their digest (the same arrays, the same folder: ``resume`` finds it), and what training
    reads there returned in their place (:func:`noise2x.data.write_arrays`)."""
    given = {k: v for k, v in values.items() if v is not None and not isinstance(v, (str, os.PathLike))}
    if not given:
        return list(values.values())
    from .data import array_axes, array_images, arrays_digest, write_arrays

    blanks = False
    try:  # (NaN marks blank pixels only where data.blanks says so)
        blanks = bool(apply_overrides(TrainConfig(method=method, data=""),
                                      [o for o in overrides if "blanks" in o]).data_cfg.blanks)
    except Noise2xError:
        pass  # (a bad setting is said where the settings are read)
    images = {k: array_images(v, name=k, axes=axes, blanks=blanks) for k, v in given.items()}
    stack = {k: not isinstance(v, (list, tuple)) and axes is not None and array_axes(axes)[0].startswith("S")
             for k, v in given.items()}
    if "data" in images and "data2" in images:  # (said of the arrays, not of their copies' file names)
        one, two = images["data"], images["data2"]
        if len(one) != len(two):
            raise UsageError(f"data has {len(one)} images but data2 has {len(two)}; they must be aligned")
        for i, (x, y) in enumerate(zip(one, two)):
            if x.shape[:2] != y.shape[:2]:
                raise InputError(f"data[{i}] {x.shape} and data2[{i}] {y.shape} differ in size; they must be "
                                 f"aligned")
    digests = {k: arrays_digest(v, stack=stack[k]) for k, v in images.items()}
    if "data2" in digests and digests["data2"] == digests.get("data"):
        raise UsageError("data2 holds the same arrays as data; it holds the second copies (noise2noise: the same "
                         "scenes with independent noise) or the clean targets (supervised)")
    saved: dict[str, Any] = {}
    if resume and (arrays.parent / "config.json").is_file():
        try:
            saved = json.loads((arrays.parent / "config.json").read_text()).get("folders", {})
        except (OSError, ValueError, AttributeError):
            pass
    out = dict(values)
    for key in given:
        folder = arrays / f"{key}-{digests[key][:16]}"
        before = _arrays_entry(saved.get(key) if isinstance(saved, dict) else None, arrays)
        if before is not None and before != folder.name:
            raise UsageError(f"resume: the {key} arrays differ from the saved run's (in their values, shapes, kinds "
                             f"or form, one stack or a list: digest {digests[key][:16]}, the run's "
                             f"{before.rsplit('-', 1)[-1]}); resume with the same arrays or start a new run")
        try:
            out[key] = write_arrays(images[key], folder, key=key, stack=stack[key])
        except OSError as exc:
            raise InputError(f"the {key} arrays cannot be written to {folder} ({exc.strerror or exc})") from None
    return list(out.values())


def _arrays_entry(path: Any, arrays: Path) -> str | None:
    """The name of the folder of ``arrays`` that ``path`` (a run's data, as its config.json records it) lies in
    (arrays given to that run), or None."""
    if not isinstance(path, str):
        return None
    try:
        return Path(path).resolve().relative_to(arrays.resolve()).parts[0]
    except (ValueError, IndexError):
        return None


def _prune_arrays(arrays: Path) -> None:
    """Remove the folders of ``arrays`` (a run folder's) that its config.json does not name, and all where it
    holds no saved state: those of an earlier run, or of a run that failed before it saved anything (the run
    folder keeps a copy of its latest resumable run's)."""
    if not arrays.is_dir():
        return
    keep: set[str] = set()
    try:  # (a run that saved no state cannot be resumed: its copy goes too)
        folders = (json.loads((arrays.parent / "config.json").read_text()).get("folders", {})
                   if (arrays.parent / "state.safetensors").is_file() else {})
        keep = {_arrays_entry(v, arrays) for v in folders.values()}
    except (OSError, ValueError, AttributeError):
        pass
    for entry in arrays.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
    with contextlib.suppress(OSError):
        arrays.rmdir()  # (where it is empty)


def _train(method: str, *, data: str | Path, out: str | Path, data2: str | Path | None = None,
           add_noise: str | None = None, steps: int | None = None, minutes: float | None = None,
           seed: int | None = None, overrides: Sequence[str] = (), resume: bool = False, device: str = "auto",
           progress: bool = True,
           val_data: str | Path | None = None, init: str | Path | None = None,
           callbacks: Sequence[Callable[[StepInfo], None]] = ()) -> Path:
    """:func:`train`, its lock held."""
    from .checkpoint import load_model, load_state, save_model, save_state
    from .data import build_datasets
    from .methods import get_method
    from .models import ScaledModel, build_model, global_rng
    from .predict import auto_threads, resolve_device

    steps, seed, overrides = _checked_arguments(method, steps=steps, seed=seed, overrides=overrides)

    out = _checked_out(out)
    if str(out.parent) and not out.parent.is_dir():  # (made, as noise2x denoise and bench make theirs)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"the folder of --out cannot be made: {out.parent} ({exc.strerror})") from None
    if not os.access(out.parent, os.W_OK | os.X_OK):  # (before the work: its run folder failed with OSError's text)
        raise Noise2xError(f"the folder of --out is not writable: {out.parent}")  # (1, as denoise and bench say it)
    run = run_folder(out)
    state_path, last_path = run / "state.safetensors", run / "last.safetensors"
    best_path = run / "best.safetensors"

    finetune_note = preset_note = None
    if resume:
        if not state_path.exists() or not (run / "config.json").exists():
            raise UsageError(f"nothing to resume: no saved run in {run} (train without --resume first)")
        saved = json.loads((run / "config.json").read_text())
        cfg = TrainConfig.from_dict(saved["config"])
        if cfg.method != method:
            raise UsageError(f"the run in {run} trains {cfg.method!r}, not {method!r}")
        given = {"data": str(data), "data2": None if data2 is None else str(data2),
                 "val_data": None if val_data is None else str(val_data),  # (was dropped unsaid: a QA pass)
                 "add_noise": None if add_noise is None else str(add_noise)}
        where = saved.get("folders") or {}  # (the folders as the run found them: a job may start elsewhere)
        for key, value in given.items():
            saved_value = getattr(cfg, key)
            if key == "add_noise" or value is None or saved_value is None:
                differs = value is not None and value != saved_value
            else:  # the same folder, however written and from wherever the job starts
                differs = Path(value).resolve() != Path(where.get(key) or saved_value).resolve()
            if differs:
                shown = where.get(key) or saved_value
                raise UsageError(f"--resume: {key} differs from the saved run "
                                 f"({'it had none' if shown is None else repr(shown)}); "
                                 f"resume with the same inputs or start a new run")
        for key in ("data", "data2", "val_data"):  # (read from where they are, not from this working folder)
            if where.get(key):
                setattr(cfg, key, where[key])
        network, before = cfg.model, cfg.to_dict()
        cfg = apply_overrides(cfg, overrides)
        after = cfg.to_dict()
        # the saved run's settings go on: a changed method option, data setting or schedule would make the model
        # file's record of them wrong for the steps before (the ML-researcher QA pass); its budget, device, threads
        # and checkpointing may change
        changed = [f"{section}.{k}={after[section].get(k)!r} (saved run: {before[section].get(k)!r})"
                   for section, free in (("method", ()), ("data", ("cache_mb",)),
                                         ("train", ("steps", "minutes", "device", "threads", "val_every", "keep",
                                                    "channels_last", "early_stop")))
                   for k in sorted(set(before[section]) | set(after[section]))
                   if k not in free and before[section].get(k) != after[section].get(k)]
        if seed is not None and seed != cfg.train.seed:
            changed.append(f"seed {seed} (saved run: {cfg.train.seed})")
        if changed:
            raise UsageError(f"--resume continues the saved run with its own settings: {', '.join(changed)} "
                             f"differ{'s' if len(changed) == 1 else ''}; drop that --set (or --seed), or start a new "
                             f"run")
        if cfg.model != network:  # the saved weights fix the network; a changed one would be ignored
            old, new = {"arch": network.arch, **network.args}, {"arch": cfg.model.arch, **cfg.model.args}
            changed = ", ".join(f"model.{k}={new.get(k, 'default')} (saved run: {old.get(k, 'default')})"
                                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
            raise UsageError(f"--resume cannot change the network, its weights are saved: {changed}; "
                             f"drop that --set or start a new run")
        saved_budget = (cfg.train.steps, cfg.train.minutes)
        if steps is not None or minutes is not None:
            cfg.train = dataclasses.replace(cfg.train, steps=steps, minutes=minutes)
        preset = saved["preset"]
    else:
        cfg, preset, preset_note = _build_config(
            method, data=data, data2=data2, val_data=val_data, add_noise=add_noise, steps=steps, minutes=minutes,
            seed=0 if seed is None else seed, device=device, overrides=overrides)
        if init is not None:
            cfg.init = str(init)
            if not _user_sets(cfg, overrides, "train.warmup"):
                # a trained network at the full learning rate from the first step: Adam's first steps move every
                # weight by about lr, and one step took a model from 28.4 to 17.1 dB (a QA pass); a ramp-down of
                # more than 80% of the budget leaves room for a shorter warm-up only (it was skipped unsaid)
                warmup = min(FINETUNE_WARMUP, 1.0 - cfg.train.rampdown)
                cfg.train = dataclasses.replace(cfg.train, warmup=warmup)
                why = "" if warmup == FINETUNE_WARMUP else f", what train.rampdown={cfg.train.rampdown:g} leaves"
                finetune_note = (f"fine-tuning from {init}: the learning rate warms up over the first "
                                 f"{warmup:.0%} of the budget (train.warmup={warmup:g}{why}; "
                                 f"--set train.warmup=0 for none; overrides=['train.warmup=0'] in Python)"
                                 if warmup > 0 else
                                 f"fine-tuning from {init} with no warm-up of the learning rate: train.rampdown="
                                 f"{cfg.train.rampdown:g} leaves none (a lower train.lr, e.g. 1e-4, keeps the model "
                                 f"nearer its start)")
    if resume and init is not None and str(init) != cfg.init:
        raise UsageError(f"--resume continues the saved run's own weights; --init {init} cannot be given with it")
    check_config(cfg)
    t, d = cfg.train, cfg.data_cfg
    replayed = _replay_shares(t.replay, t.steps) if t.replay else None  # (refused before any work)
    dev = resolve_device(t.device if not resume or device == "auto" else device)
    if t.precision == "bf16" and dev.type not in ("cpu", "cuda"):
        raise UsageError(f"train.precision=bf16 does not run on the {dev.type} device; use fp32")
    as_given, train_noise = get_method(cfg.method, cfg.options), _noise_spec(cfg.add_noise)
    m = as_given.with_noise(train_noise)
    method_note = as_given.training_note(train_noise)

    train_set, val_set, held_out = build_datasets(
        data=cfg.data, requires=m.requires, data2=cfg.data2, add_noise=cfg.add_noise, val_data=cfg.val_data,
        pair=d.pair, resample=d.resample_noise, cache_mb=d.cache_mb, val_images=d.val_images, blanks=d.blanks,
        blank_value=d.blank_value, recursive=d.recursive, exclude=run)
    channels = train_set.channels
    images = _images_print(train_set, val_set)
    if resume and saved.get("images") and saved["images"] != images:
        # (a folder gaining or losing images between a stop and --resume went on unsaid: its validation images
        # changed with it, so best.safetensors compared scores of other sets; a QA pass)
        now = (len(train_set.items), 0 if val_set is None else len(val_set.items))
        then = (saved.get("train_images"), saved.get("val_images"))
        said = ("as many, other names" if now == then else
                f"{now[0]} training and {now[1]} validation images now, {then[0]} and {then[1]} in the saved run")
        raise UsageError(f"--resume: the images in the data differ from the saved run's ({said}); resume with the "
                         "same inputs or start a new run")
    if resume and saved.get("files_sha256"):  # (files replaced under their names went on unsaid: a QA pass)
        if _files_sha256(cfg, recursive=d.recursive, run=run) not in (None, saved["files_sha256"]):
            raise UsageError("--resume: the images in the data differ from the saved run's (the same names, other "
                             "contents); resume with the same inputs or start a new run")
    if progress and not resume and method_note:  # (after the data's checks: said of a run that goes on)
        print(f"noise2x: note: {method_note}", file=sys.stderr, flush=True)
    if progress and finetune_note:
        print(f"noise2x: note: {finetune_note}", file=sys.stderr, flush=True)
    if progress and preset_note:
        print(f"noise2x: note: {preset_note}", file=sys.stderr, flush=True)
    if progress and val_set is not None and val_set.split in ("rows", "reused"):
        print(f"noise2x: note: {_validation_note(val_set, d.val_images)}", file=sys.stderr, flush=True)
    if progress:  # (a folder's GIF or PGM files were left out unsaid: a format QA pass)
        from .io import unread_images, unread_note

        for value in (cfg.data, cfg.data2, cfg.val_data):
            other = [] if value is None else unread_images(value, recursive=d.recursive)
            if other:
                print(f"noise2x: note: {value}: {unread_note(other)}", file=sys.stderr, flush=True)
    if progress and train_set.paired_along == "Z":
        print("noise2x: note: the stack has no time axis: noise2noise pairs each z-plane with the next, a z-step "
              "apart, as two copies of one scene (a time series, axis T, pairs each time point with the next)",
              file=sys.stderr, flush=True)
    elif progress and train_set.paired_along not in (None, "T"):  # (a spectral cube's bands, paired as copies in
        # silence: each band's noise and its neighbour's are copies of one scene only where the bands are alike, a
        # hyperspectral user's QA pass)
        print(f"noise2x: note: noise2noise pairs each frame of {Path(cfg.data).name} with the next as two noisy "
              f"copies of one scene: right for repeated exposures; not for a spectral cube's bands or a changing "
              f"specimen's planes, which differ by more than their noise (give the second acquisition as --data2)",
              file=sys.stderr, flush=True)

    old_threads = torch.get_num_threads()
    if dev.type == "cpu":
        from . import config
        from .predict import cpu_count, forked_threads, user_threads

        # the threads change a run's arithmetic: the same seed gives the same model on as many threads. A resumed
        # run takes its own again (unless told), a new one the idle cores, said where fewer than the cores
        # (other jobs busy: a QA pass found two runs of one command differ by the host's load)
        saved_threads = saved.get("threads") if resume else None
        n = t.threads or user_threads() or (saved_threads if isinstance(saved_threads, int) and saved_threads > 0
                                             else auto_threads())
        if config.FORKED:  # (a fork-started process: more threads hang)
            n = forked_threads(n)
        torch.set_num_threads(n)
        if progress and not (t.threads or user_threads() or resume) and n < cpu_count():
            print(f"noise2x: note: training on {n} of {cpu_count()} CPU threads (the others busy with other jobs); "
                  f"the same seed gives the same model on as many threads: --threads {n} (or "
                  f"--set train.threads={n}; threads={n} in Python) to repeat this run"
                  + (" with --steps (a --minutes budget does not repeat)" if t.minutes is not None else ""),
                  file=sys.stderr, flush=True)
    if progress and seed is not None and t.minutes is not None and not resume:
        # (a QA pass found two --minutes runs of one seed and thread count far apart: the learning rate at each
        # step follows the clock)
        print("noise2x: note: a --minutes budget sets the learning rate by the clock: the same --seed does not "
              "repeat this run (a --steps budget does; so does --steps N --set train.replay=RUN/state.safetensors "
              "with its step count N)", file=sys.stderr, flush=True)
    fresh_run = not run.exists()  # (a run folder this run makes: its files go if no checkpoint could be kept)
    saved_step: int | None = None  # the step of the last checkpoint in the run folder
    step = 0
    try:
        if resume:
            model, last_meta = load_model(last_path)
            data_span = last_meta.get("data_span")
            if model.in_channels != channels:
                raise UsageError(f"the saved run has {model.in_channels}-channel images, the data {channels}")
            arch, args = model.arch, model.arch_args
        else:
            arch, args = resolve_model(cfg, channels=channels, preset=preset, method=m)
            mean, std = train_set.normalization(n_images=d.norm_images)
            data_span = train_set.spans
            units = None if cfg.add_noise is not None else _full_scale_note(m, mean, data_span)
            from .errors import TrainUnitsWarning, warn_outside

            if units:  # (said once, before the work; --add-noise's spec says its own)
                warn_outside(TrainUnitsWarning(units))
            for note in _other_units(train_set, val_set, _set_kinds(cfg)):
                warn_outside(TrainUnitsWarning(note))
            note = _channels_apart(train_set.channel_spans)
            if note:  # (the channels of a CYX stack, read as frames under one mean and deviation: the dim one came
                # out at -11.9 dB from 20.2, unsaid, a CAREamics user's QA pass; ones of like spreads far apart in
                # level at 9 dB from 28, a re-check)
                warn_outside(TrainUnitsWarning(note))
            if train_set.gray_as_rgb:  # (a 3-channel model, unsaid: a re-check)
                warn_outside(UserWarning(
                    "the training images are gray images stored as RGB (their three channels equal, in each image "
                    "read): the model learns 3 channels, 3 times a gray model's work, and takes RGB images only; "
                    "save them as gray images for a gray model (it denoises gray images stored as RGB too)"))
            if data_span and data_span[1] == 0 and cfg.add_noise is None:  # (a constant array trained a model that
                # gave large negative values, unsaid: a QA pass)
                warn_outside(UserWarning(f"the training images read flat (the sampled ones hold one value between "
                                         f"their 0.1 and 99.9 percentiles, {mean[0]:.4g} on average): there is no "
                                         f"noise to learn from; the model is trained all the same"))
            if cfg.init is not None:  # fine-tuning: the given model's network and weights
                net, arch, args = _init_network(cfg, arch=arch, channels=channels)
            else:
                with global_rng(t.seed):  # (its initial weights: torch's global RNG, one thread at a time)
                    net = build_model(arch, **args)
            model = ScaledModel(net, arch=arch, arch_args=args, mean=mean, std=std)
        model = model.to(dev).train()
        if t.channels_last:
            model = model.to(memory_format=torch.channels_last)
        n_params = sum(p.numel() for p in model.parameters())
        if not resume and _user_sets(cfg, overrides, "data.patch_size"):
            side, name = train_set.smallest()  # (here, not at the step that first draws it: a QA pass)
            if side < d.patch_size:
                raise UsageError(f"{name}: image of {side} pixels on its shorter side is smaller than the patch size "
                                 f"{d.patch_size}; lower data.patch_size")
        elif not resume:
            from .predict import model_alignment

            note = _fit_patch(cfg, train_set, model_alignment(model), preset,
                              rows_held=val_set is not None and val_set.split == "rows")
            if note is not None:
                d = cfg.data_cfg
                if progress:
                    print(f"noise2x: note: {note}", file=sys.stderr, flush=True)
        struct = getattr(m, "struct_mask", None)
        if not resume and struct is not None and max(struct.shape) > d.patch_size:
            # (horizontal:100, a 201-pixel mask, hid every pixel of its row in a 64-pixel patch, unsaid: a QA pass)
            raise UsageError(f"the structN2V mask {cfg.options.struct} spans {max(struct.shape)} pixels, more than the "
                             f"training patches' {d.patch_size}: give a mask of the noise's reach (horizontal:R hides "
                             f"R pixels on each side)")

        run.mkdir(exist_ok=True)
        resolved = {"config": cfg.to_dict(), "preset": preset, "arch": arch, "arch_args": args, "images": images,
                    "device": str(dev), "channels": channels, "parameters": n_params,
                    "train_images": len(train_set), "val_images": 0 if val_set is None else len(val_set),
                    "val_held_out": held_out, "val_split": None if val_set is None else val_set.split,
                    "threads": torch.get_num_threads() if dev.type == "cpu" else None,
                    # the data folders resolved: --resume from another working folder finds them the same
                    "folders": {k: str(Path(v).resolve()) for k, v in (("data", cfg.data), ("data2", cfg.data2),
                                                                         ("val_data", cfg.val_data)) if v is not None}}
        # the training images' bytes, a checksum (the names' alone missed an image changed: a QA re-check), kept
        # from the run's first start
        resolved["files_sha256"] = (saved.get("files_sha256") if resume else
                                    _files_sha256(cfg, recursive=d.recursive, run=run))
        if cfg.init is not None:  # the model started from, by its weights' checksum (a file renamed, or replaced
            # under its name, is told apart: a model-sharing QA pass)
            if resume:
                if isinstance(saved.get("init"), dict):
                    resolved["init"] = saved["init"]
            else:
                from .api import model_file
                from .checkpoint import read_metadata

                started = Path(model_file(cfg.init))
                resolved["init"] = {"file": str(started.resolve()), "sha256": read_metadata(started).get("sha256")}
        # an earlier run in the folder keeps its config.json until this run saves its first checkpoint: a run
        # that fails before that leaves the earlier one whole, and resumable
        config_written = resume or not state_path.exists()
        if config_written:
            _write_json(resolved, run / "config.json")

        from .methods.base import LOG_PREFIX

        np_rng = np.random.default_rng(t.seed)
        autocast = (torch.autocast(dev.type, dtype=torch.bfloat16) if t.precision == "bf16"
                    else contextlib.nullcontext())
        gen = torch.Generator(device=dev).manual_seed(t.seed + 1)
        optimizers: dict[str, torch.optim.Optimizer] = {}
        params: dict[str, list[torch.nn.Parameter]] = {}
        opt_states: dict[str, Any] = {}
        step, elapsed0, best, best_step = 0, 0.0, None, None
        course = Plateau()
        ended_by_stop = False  # (train.early_stop: the figure has not improved for as many checks)
        saved_step = None
        rows: list[dict[str, Any]] = []
        resumed_losses: tuple[dict, dict] = ({}, {})
        # each step's budget share (its learning rate, the method's progress): kept in the state, so that a
        # --minutes run, whose shares follow the clock, can be repeated (train.replay; a reproducibility QA pass)
        shares: list[float] = []
        if resume:
            opt_states, extra, info = load_state(state_path)
            step, elapsed0 = int(info["step"]), float(info["seconds"])
            if isinstance(last_meta.get("steps"), int) and last_meta["steps"] != step:  # (a checkpoint's two files
                # from two steps: a write between them failed, a full disk)
                raise UsageError(f"the run in {run} cannot be resumed: its weights are of step {last_meta['steps']}, "
                                 f"its training state of step {step} (a checkpoint's write was cut short); "
                                 f"start a new run, or --init {last_path} to fine-tune from its weights")
            saved_step = step
            best, best_step = info.get("best"), info.get("best_step")
            if isinstance(info.get("plateau"), dict):  # (a state written before train.schedule=plateau: none)
                course = Plateau(**info["plateau"])
            np_rng.bit_generator.state = info["np_rng"]
            try:
                gen.set_state(extra["torch_rng"])
            except RuntimeError:  # (another device's generator state: a run of a GPU resumed on the CPU, or back;
                # it stopped there, in a portability QA pass)
                gen.manual_seed(t.seed + 1 + step)
                if progress:
                    print(f"noise2x: note: the run's random state is of another device than {dev.type}: reseeded "
                          f"from the seed and step, so the rest of the run is not the one it would have been "
                          f"there", file=sys.stderr, flush=True)
            if "progress_trace" in extra and len(extra["progress_trace"]) == step:
                shares = extra["progress_trace"].tolist()
            rows = [r for r in _read_log(run / "log.csv") if int(r["step"]) <= step]
            if isinstance(info.get("loss_sum"), dict) and isinstance(info.get("loss_n"), dict):
                resumed_losses = (info["loss_sum"], info["loss_n"])
        # the threads of each part of the run (the same seed gives the same model on as many threads): a resumed
        # run on other threads than before says from which step (a QA re-check found only the last recorded)
        segments = [list(x) for x in (saved.get("threads_by_step") or (
            [[1, saved["threads"]]] if saved.get("threads") else [])) if isinstance(x, list)] if resume else []
        if resolved["threads"] is not None and (not segments or segments[-1][1] != resolved["threads"]):
            segments.append([step + 1, resolved["threads"]])
        resolved["threads_by_step"] = segments
        if config_written:
            _write_json(resolved, run / "config.json")

        metric = "none"
        val_batches: list = []
        if val_set is not None:
            fields = _fields_for_validation(m, val_set)
            val_batches = val_set.crops(fields, size=d.val_crop)
            metric = "psnr" if "clean" in fields else "loss"
        if metric == "none" and (t.schedule == "plateau" or t.early_stop):
            said = "train.schedule=plateau" if t.schedule == "plateau" else f"train.early_stop={t.early_stop}"
            raise UsageError(f"{said} follows the validation figure, and this run validates on nothing "
                             f"(data.val_images=0 and no --val-data): give it validation images")

        def budget_progress(s: int, seconds: float) -> float:
            parts = []
            if t.steps is not None:
                parts.append(s / t.steps)
            if t.minutes is not None:
                parts.append(seconds / (60.0 * t.minutes))
            return min(1.0, max(parts))

        if resume and progress and (t.steps, t.minutes) != saved_budget:
            # the schedule runs over the new budget: a finished run given more steps has its rate back up from
            # ~0 (a QA pass found it unsaid)
            def rate(budget: tuple[int | None, float | None]) -> float:
                parts = ([step / budget[0]] if budget[0] else []) + (
                    [elapsed0 / (60.0 * budget[1])] if budget[1] else [])
                return t.lr * lr_factor(min(1.0, max(parts or [0.0])), schedule=t.schedule, rampdown=t.rampdown,
                                        warmup=t.warmup)

            was, now = rate(saved_budget), rate((t.steps, t.minutes))
            if abs(now - was) > 0.05 * t.lr:
                print(f"noise2x: note: the learning-rate schedule ({t.schedule}) runs over the new budget: at step "
                      f"{step} the rate is {now:.3g} (it was {was:.3g} when the run stopped, by its budget)",
                      file=sys.stderr, flush=True)

        from .provenance import environment, utc_stamp

        software = environment()
        # what a model file carries of its making, since it travels alone (config.json stays in the run folder):
        # when, with what, on which images (a model-sharing QA pass found none of these in a shared file)
        from .provenance import path_text

        made_of = {"folders": {k: path_text(v) for k, v in resolved["folders"].items()},  # (the UTF-8 text of the
                   # names' bytes, whatever the locale: a locale re-check)
                   "training_images": resolved["train_images"],
                   "validation_images": resolved["val_images"], "names_sha256": images["sha256"],
                   **({"files_sha256": resolved["files_sha256"]} if resolved.get("files_sha256") else {})}

        def metadata(kind: str, val_value: float | None) -> dict[str, Any]:
            return {"trained_at": utc_stamp(), "environment": software, "training_data": made_of,
                    **({"init_from": resolved["init"]} if resolved.get("init") else {}),
                    "method": m.name, "method_options": m.options_dict(), "noise": cfg.add_noise,
                    **({"method_files_sha256": m.files_read()} if m.files_read() else {}),
                    "resample_noise": d.resample_noise, "config": cfg.to_dict(), "preset": preset,
                    "steps": step, "seconds": round(elapsed, 2), "device": str(dev), "parameters": n_params,
                    "threads": resolved["threads"], "threads_by_step": resolved["threads_by_step"],
                    "val_metric": None if metric == "none" else metric, "val_value": val_value,
                    "val_held_out": held_out, "checkpoint": kind,
                    **({"ended_by": {"early_stop": t.early_stop, "best_step": best_step, "step": step}}
                       if ended_by_stop else {}),
                    **({"data_span": data_span} if data_span else {})}

        def diverged(what: str, at: int) -> Noise2xError:
            if saved_step is None:
                kept = f"no checkpoint was saved yet (one is saved every train.val_every={t.val_every} steps)"
            else:
                kept = (f"the last good checkpoint (step {saved_step}) is kept in {last_path}; "
                        f"continue from it with --resume")
            return Noise2xError(f"{what} at step {at}; training stopped: {kept}. "
                                f"Lower the learning rate (train.lr, now {t.lr:g})")

        def check_weights() -> None:  # never checkpoint non-finite weights
            if not all(bool(torch.isfinite(v).all()) for v in model.state_dict().values() if v.is_floating_point()):
                raise diverged("the weights became NaN or infinite", step)

        def save_last(val_value: float | None, new_best: bool = False) -> None:
            """A checkpoint: the model (and the best one, ``new_best``) and the training state, each written
            beside its file and all put in place once all are written: a write that fails (a full disk) leaves
            the previous checkpoint whole (a QA re-check found its model replaced, its state not: no --resume)."""
            nonlocal saved_step, config_written
            if not config_written:  # (this run's first checkpoint replaces an earlier run's)
                _write_json(resolved, run / "config.json")
                config_written = True
            staged: list[tuple[Path, Path]] = []
            try:
                for final, kind in [(best_path, "best")] * new_best + [(last_path, "last")]:
                    staged.append((final.with_name(f".{final.name}.next"), final))
                    save_model(staged[-1][0], model, metadata=metadata(kind, val_value))
                extra = {"torch_rng": gen.get_state()}
                if len(shares) == step:  # (a run resumed from a state without them has none)
                    extra["progress_trace"] = torch.tensor(shares, dtype=torch.float64)
                # (the losses since the last log row: a resumed run logs the rows an uninterrupted one does)
                info = {"step": step, "seconds": elapsed, "best": best, "best_step": best_step,
                        "plateau": dataclasses.asdict(course), "np_rng": np_rng.bit_generator.state,
                        "loss_sum": loss_sum, "loss_n": loss_n}
                staged.append((state_path.with_name(f".{state_path.name}.next"), state_path))
                save_state(staged[-1][0], optimizers=optimizers, tensors=extra, info=info)
            except BaseException:
                for written, _ in staged:
                    written.unlink(missing_ok=True)
                raise
            for written, final in staged:
                replace(written, final)
            saved_step = step
            _write_log(rows, run / "log.csv")
            try:
                plot_curves(rows, run / "curve.png")
            except Exception:  # a plotting failure must never stop training
                pass

        if resume and budget_progress(step, elapsed0) >= 1.0:  # no step left: the run as it was (it appended a
            # row to its log and time to its record, a QA re-check)
            if progress:
                print(f"noise2x: note: nothing to train: the run has {step} steps ({elapsed0:.0f} s), all its budget "
                      f"(more: a larger --steps or --minutes); {out} is as it was", file=sys.stderr, flush=True)
            return out
        if resume and t.early_stop and course.since_best >= t.early_stop:
            if progress:
                print(f"noise2x: note: nothing to train: the run ended at step {step}, its validation figure not "
                      f"better than step {best_step}'s for {course.since_best} checks (train.early_stop="
                      f"{t.early_stop}; more: a larger one); {out} is as it was", file=sys.stderr, flush=True)
            return out
        bar = _Progress(progress)
        stop = {"flag": False, "signal": 0, "at": 0.0}
        old_handlers: dict = {}
        if threading.current_thread() is threading.main_thread():
            from .errors import REPEATED_STOP_S, Terminated, stop_signals

            def on_signal(signum, frame):  # first Ctrl-C, SIGTERM or SIGHUP: stop after this step, saved; second: abort
                if stop["flag"]:
                    if time.monotonic() - stop["at"] < REPEATED_STOP_S:  # (the same stop, signalled again)
                        return
                    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum=signum)
                stop["flag"], stop["signal"], stop["at"] = True, signum, time.monotonic()
            # (SIGTERM: a job scheduler's time limit, which then waits a little before it kills)
            old_handlers = {sig: signal.signal(sig, on_signal) for sig in stop_signals()}

        start = time.monotonic()
        elapsed = elapsed0
        loss_sum: dict[str, float] = dict(resumed_losses[0])
        loss_n: dict[str, int] = dict(resumed_losses[1])
        rate_t, rate_s = start, step
        shown_loss: float | None = None
        last_val = None
        val_value: float | None = None
        try:
            while True:
                elapsed = elapsed0 + (time.monotonic() - start)
                frac = budget_progress(step, elapsed)
                if frac >= 1.0 or stop["flag"]:
                    break
                if replayed is not None:  # (the replayed run's share at this step, not the clock's)
                    frac = replayed[step]
                shares.append(frac)
                lr = t.lr * lr_factor(frac, schedule=t.schedule, rampdown=t.rampdown, warmup=t.warmup) * course.scale
                batch = train_set.sample(sorted(m.requires), patch_size=d.patch_size, batch_size=d.batch_size,
                                         augment=d.augment, transforms=m.symmetries, rng=np_rng).to(dev)
                if t.channels_last:
                    batch = dataclasses.replace(batch, **{
                        f: getattr(batch, f).contiguous(memory_format=torch.channels_last) for f in batch.fields})
                with autocast:
                    losses = m.step_losses(model, batch, rng=gen, progress=frac, step=step)
                keys = [k for k in losses if not k.startswith(LOG_PREFIX)]
                if not keys:
                    raise Noise2xError(f"method {m.name!r} returned no loss to optimise at step {step + 1}")
                for key in keys:
                    if key not in optimizers:
                        params[key] = [p for p in m.parameters_for(key, model) if p.requires_grad]
                        optimizers[key] = m.make_optimizer(key, params[key], lr=t.lr, betas=(t.beta1, t.beta2),
                                                           weight_decay=t.weight_decay)
                        if key in opt_states:
                            optimizers[key].load_state_dict(opt_states[key])
                for key, value in losses.items():
                    if value.dim() != 0:
                        raise Noise2xError(f"method {m.name!r} returned a non-scalar loss {key!r}")
                    if not torch.isfinite(value):
                        name = key.removeprefix(LOG_PREFIX)
                        raise diverged(f"the {name} loss became {float(value.detach())}", step + 1)
                grads = []
                for i, key in enumerate(keys):
                    grads.append(torch.autograd.grad(losses[key], params[key], retain_graph=i < len(keys) - 1,
                                                     allow_unused=True))
                for key, gs in zip(keys, grads):
                    for p, g in zip(params[key], gs):
                        p.grad = g
                    if t.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(params[key], t.grad_clip)
                    for group in optimizers[key].param_groups:
                        group["lr"] = lr
                    optimizers[key].step()
                    optimizers[key].zero_grad(set_to_none=True)
                    m.after_step(key, model)
                step += 1
                for key, value in losses.items():
                    loss_sum[key] = loss_sum.get(key, 0.0) + float(value.detach())
                    loss_n[key] = loss_n.get(key, 0) + 1
                elapsed = elapsed0 + (time.monotonic() - start)
                if "model" in losses or shown_loss is None:
                    shown_loss = float(losses.get("model", losses[keys[0]]).detach())
                info = StepInfo(step=step, loss=shown_loss, lr=lr, progress=budget_progress(step, elapsed),
                                seconds=elapsed)
                for cb in callbacks:
                    cb(info)
                if info.stop:
                    stop["flag"] = True

                now = time.monotonic()
                rate = (step - rate_s) / max(now - rate_t, 1e-9)
                done = step % t.val_every == 0
                if done:
                    check_weights()
                    val_value = (_validate(m, model, val_batches, dev, metric=metric,
                                           channels_last=t.channels_last) if val_batches else None)
                    last_val = step
                    elapsed = elapsed0 + (time.monotonic() - start)
                    rows.append(_row(step, elapsed, lr, loss_sum, loss_n, metric, val_value, rate))
                    loss_sum, loss_n = {}, {}
                    rate_t, rate_s = time.monotonic(), step
                    better = val_value is not None and _better(metric, val_value, best)
                    if better:
                        best, best_step = val_value, step
                    if val_value is not None:
                        lowered = course.update(metric, val_value, better=better, patience=t.plateau_patience,
                                                factor=t.plateau_factor, lowering=t.schedule == "plateau")
                        if lowered and progress:
                            checks = f"{t.plateau_patience} check{'' if t.plateau_patience == 1 else 's'}"
                            bar.note(f"noise2x: note: step {step}: no better validation figure for more than "
                                     f"{checks}: the learning rate is now "
                                     f"{t.lr * course.scale:.3g} (train.schedule=plateau)")
                    if t.early_stop and course.since_best >= t.early_stop and budget_progress(step, elapsed) < 1:
                        ended_by_stop = True
                    save_last(val_value, new_best=better)
                bar.update(_status(step, t, info, rows, metric, rate, elapsed), force=done)
                if ended_by_stop:
                    break
            # end of budget (or stop request)
            # a stop (a signal, a callback) validates the model it leaves but logs no row and keeps no best there:
            # the run's log and best checkpoint are those of its budget, wherever it was stopped (a QA pass found a
            # resumed run's log, and so its curve, differing from the uninterrupted run's, for the same weights)
            stopped_early = budget_progress(step, elapsed) < 1.0 and not ended_by_stop
            new_best = False
            if last_val != step and step > 0:
                check_weights()
                val_value = (_validate(m, model, val_batches, dev, metric=metric,
                                       channels_last=t.channels_last) if val_batches else None)
                rate = (step - rate_s) / max(time.monotonic() - rate_t, 1e-9)
                if not stopped_early:
                    rows.append(_row(step, elapsed, t.lr * course.scale * lr_factor(
                        budget_progress(step, elapsed), schedule=t.schedule, rampdown=t.rampdown, warmup=t.warmup),
                        loss_sum, loss_n, metric, val_value, rate))
                if not stopped_early and val_value is not None and _better(metric, val_value, best):
                    best, best_step = val_value, step
                    new_best = True
                if isinstance(info, StepInfo):  # (a resumed run with no step left to take has none)
                    bar.update(_status(step, t, info, rows, metric, rate, elapsed), force=True)  # (the last stretch)
            elapsed = elapsed0 + (time.monotonic() - start)
            save_last(val_value, new_best=new_best)
            if t.keep == "best" and best_path.exists() and ended_by_stop:  # (the best weights, saved before the
                # stop was decided, and the file saying how the run ended: it did not, a re-check)
                from .checkpoint import update_metadata

                update_metadata(best_path, {"ended_by": {"early_stop": t.early_stop, "best_step": best_step,
                                                         "step": step}}, out=out)
            elif t.keep == "best" and best_path.exists():
                with atomic_path(out) as tmp:
                    shutil.copyfile(best_path, tmp)
            else:
                save_model(out, model, metadata=metadata("last", val_value))
        finally:
            bar.close()
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        done_all = budget_progress(step, elapsed) >= 1.0 or ended_by_stop
        if ended_by_stop and progress:
            print(f"noise2x: note: the run ended at step {step}: its validation figure not better than step "
                  f"{best_step}'s for {course.since_best} checks (train.early_stop={t.early_stop}); the model "
                  f"({'best' if t.keep == 'best' else 'last'} weights) is in {out}", file=sys.stderr, flush=True)
        if stop["flag"] and not done_all:
            total = f"/{t.steps}" if t.steps is not None else ""
            named = None if stop["signal"] in (0, signal.SIGINT) else signal.Signals(stop["signal"]).name
            why = f" ({named})" if named else ""
            stopped = TrainingInterrupted(f"training stopped{why} at step {step}{total}; the model so far is in "
                                          f"{out}; continue with --resume (resume=True in Python)")
            if named:
                stopped.exit_code = 128 + stop["signal"]  # (143, 129: as a shell reports a process it ended)
            raise stopped
        from .config import REPEAT_NOTE

        if progress and t.minutes is not None and len(shares) == step and REPEAT_NOTE.get():  # (how to repeat it)
            print(f"noise2x: note: to repeat this --minutes run: --steps {step} --set train.replay={state_path} "
                  f"(the same seed and threads)", file=sys.stderr, flush=True)
        return out
    except WriteFailed as exc:
        # a full disk or quota: "nothing was written" was said of the one file, while the run folder held the
        # others of a checkpoint half made, and no model at --out (a model-sharing QA pass, on a small disk)
        if saved_step is None and fresh_run:  # no checkpoint to keep: the run's files go
            shutil.rmtree(run, ignore_errors=True)
            kept = f"training stopped at step {step}; no checkpoint could be kept ({run} removed)"
        elif saved_step is None:
            kept = f"training stopped at step {step}; no checkpoint of this run was kept ({run} may hold partial files)"
        elif saved_step == step and last_path.exists():  # (all trained: --out could not be written)
            kept = f"the trained model is in {last_path}: copy it to {out} once there is space"
        else:
            kept = (f"training stopped at step {step}; the last whole checkpoint (step {saved_step}) is in {run}: "
                    f"free some space and continue with --resume")
        raise WriteFailed(f"{exc}; {kept}") from None
    except BaseException:  # (a run that failed before its first checkpoint left a run folder of its config alone)
        if saved_step is None and fresh_run:  # nothing to resume: the run's files go
            shutil.rmtree(run, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(old_threads)


def _files_sha256(cfg: TrainConfig, *, recursive: bool, run: Path) -> str | None:
    """SHA-256 over the names and bytes of the files of ``data``, ``data2`` and ``val_data`` (a folder's images as
    training reads them: :func:`noise2x.data.data_files`); None for data that are no files."""
    from .data import data_files
    from .provenance import file_lines, files_digest

    lines: list[str] = []
    for key in ("data", "data2", "val_data"):
        value = getattr(cfg, key)
        if value is None:
            continue
        p = Path(value)
        if not p.exists():
            return None
        files = [p] if p.is_file() else data_files(p, recursive=recursive, exclude=run)
        lines += [f"{key} {line}" for line in file_lines(files, p if p.is_dir() else p.parent)]
    return files_digest(lines) if lines else None


def _replay_shares(path: str, steps: int | None) -> list[float]:
    """The budget share of each step of the run whose training state is ``path`` (``train.replay``); UsageError
    where it holds none or fewer than ``steps``."""
    from .checkpoint import load_state

    if steps is None:
        raise UsageError(f"train.replay={path} repeats a run of a known number of steps: give --steps N (its steps)")
    try:
        _, extra, _ = load_state(path)
    except (Noise2xError, OSError) as exc:
        raise UsageError(f"train.replay={path}: {exc}") from None
    trace = extra.get("progress_trace")
    if trace is None:
        raise UsageError(f"train.replay={path}: this training state holds no step shares (written by a noise2x "
                         f"before they were kept, or resumed from one)")
    if len(trace) < steps:
        raise UsageError(f"train.replay={path} holds {len(trace)} steps; --steps {steps} is more")
    return [float(x) for x in trace.tolist()]


def _noise_spec(spec: str | None) -> Any:
    if spec is None:
        return None
    from .noise import parse_noise

    return parse_noise(spec)


def _better(metric: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value > best if metric == "psnr" else value < best


def _row(step, elapsed, lr, loss_sum, loss_n, metric, val_value, rate) -> dict[str, Any]:
    from .methods.base import LOG_PREFIX

    means = {k: v / max(loss_n.get(k, 0), 1) for k, v in loss_sum.items()}
    loss = means.get("model", next(iter(means.values()), None))
    row = {"step": step, "seconds": round(elapsed, 2), "lr": f"{lr:.6g}",
           "train_loss": None if loss is None else f"{loss:.6g}",
           "val_psnr": f"{val_value:.4f}" if metric == "psnr" and val_value is not None else None,
           "val_loss": f"{val_value:.6g}" if metric == "loss" and val_value is not None else None,
           "steps_per_s": f"{rate:.3f}"}
    for key, value in means.items():
        if key != "model":
            row[LOSS_COLUMN + key.removeprefix(LOG_PREFIX)] = f"{value:.6g}"
    return row


def _status(step: int, t: TrainSection, info: StepInfo, rows, metric: str, rate: float, elapsed: float) -> str:
    total = f"/{t.steps}" if t.steps is not None else ""
    parts = [f"step {step}{total}", f"loss {info.loss:.4g}"]
    if rows:
        r = rows[-1]
        if metric == "psnr" and r.get("val_psnr"):
            parts.append(f"val {float(r['val_psnr']):.2f} dB")
        elif metric == "loss" and r.get("val_loss"):
            parts.append(f"val loss {float(r['val_loss']):.4g}")
    parts.append(f"{rate:.2f} steps/s")
    remaining = []
    if t.steps is not None and rate > 0:
        remaining.append((t.steps - step) / rate)
    if t.minutes is not None:
        remaining.append(60.0 * t.minutes - elapsed)
    if remaining:
        parts.append(f"ETA {_clock(min(remaining))}")
    return " | ".join(parts)


def train_model(method: str, *, data: Any, out: str | Path | None = None, **kwargs: Any):
    """Like :func:`train` but returns the trained :class:`~noise2x.predict.Denoiser`.

    With ``out=None`` the model file and run folder go to a temporary folder
    (the Denoiser is loaded into memory; save it with ``.save(path)``).
    """
    from .predict import Denoiser

    if out is not None:
        return Denoiser.load(train(method, data=data, out=out, **kwargs))
    with tempfile.TemporaryDirectory(prefix="noise2x-") as tmp:
        path = train(method, data=data, out=Path(tmp) / f"{method}.safetensors", **kwargs)
        return Denoiser.load(path)


# ``noise2x.train`` is both this module and the API function ``noise2x.train(...)``
# (DESIGN.md). Once the module is imported, the package attribute ``train`` is the
# module, so the module itself must be callable: calling it runs the API function.
class _CallableModule(type(sys)):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .api import train as api_train

        return api_train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


def _as_the_api_function() -> None:
    """The signature and the help of the API function on the module that stands for it (``help(noise2x.train)``
    and ``inspect.signature`` showed the module, ``(*args, **kwargs)``, once it was imported: a QA pass)."""
    import inspect

    from .api import train as api_train

    module = sys.modules[__name__]
    module.__signature__ = inspect.signature(api_train)  # type: ignore[attr-defined]
    module.__doc__ = (f"noise2x.train(method, *, data, ...): {api_train.__doc__}\n\nThe module: "
                      f"{module.__doc__}")


_as_the_api_function()
