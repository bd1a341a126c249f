"""MASH: Masked and Shuffled Blind Spot Denoising (Chihaoui & Favaro, CVPR 2024), our own implementation.

A fresh U-Net is trained on the one noisy image. At every step a random
Bernoulli mask hides a fraction ``ratio`` of the entries (each pixel and
channel independently); the network sees the image with the hidden entries set
to zero and the loss (L1, as the authors' code's ``nn.L1Loss``; the paper writes
a squared norm) is taken on the hidden entries only. The denoised
image is the average of ``predictions`` masked predictions.

Real noise is often spatially correlated, and the best masking ratio grows
with the correlation. MASH therefore works in three steps:

1. **Probe.** Train with a low and a high masking ratio (0.2 and 0.8), average
   the masked predictions of each and measure the standard deviation of the
   residual ``noisy - estimate``. For white noise the two agree; the more
   correlated the noise, the more the low-ratio network reproduces it and the
   larger the gap. The paper measures over every pixel in 8-bit units; the
   ``cpu`` preset measures over the flattest quarter of the image (where
   texture lost by a briefly trained network does not inflate the gap),
   divides the gap by the larger std (``probe_fraction``, ``relative_gap``)
   and trains each probe twice, keeping the better-trained one
   (``probe_repeats``).
2. **Choose.** Gap below ``eps_low``: weak correlation, ratio ``ratio_low``;
   above ``eps_high``: strong correlation, ratio ``ratio_high`` and local
   shuffling; otherwise ``ratio_medium``. Presets: the paper's thresholds
   1.5 / 2.5 with ratios 0.2 / 0.8 / 0.5 and the authors' code's 1.0 / 2.0
   with 0.1 / 0.9 / 0.5.
3. **Train** with that ratio. With strong correlation, after ``shuffle_at``
   steps the target (not the input) becomes a *local pixel shuffle* of the
   noisy image: inside each ``tile`` x ``tile`` tile lying in a flat region
   (every 2x2 block of the current estimate has a standard deviation below
   ``flat_threshold`` times the image's largest) the pixels are randomly
   permuted, which breaks the noise's local correlation while keeping the
   (nearly constant) signal.

The ``cpu`` preset (the default) trains a narrower U-Net on random 64x64 crops
so that a 256x256 RGB image takes about two minutes on a 2-core CPU, measures
the probe over the flattest part of the image, relative to the noise level,
with lower thresholds for gray images than for colour ones, and clips step
3's gradient norm at 1 (see :data:`PRESETS`); on an image larger than 256x256
it runs steps 1-2 on the centre 256x256 window. BENCHMARKS.md gives what it
costs against the paper's settings (``preset="paper"``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import torch

from ..errors import UsageError
from ..io import to_8bit_units
from ..noise import generator
from .nets import (BAND_PIXELS, MaskedUNet, Reporter, autocast, check_precision, checked_in_8bit_units, device_name,
                   from_tensor, in_bands, make_generators, new_network, to_tensor, whole, zero_shot_device,
                   zero_shot_preset)

__all__ = [
    "mash",
    "probe_correlation",
    "PRESETS",
    "PROBE_RATIOS",
    "probe_pair",
    "sample_keep_mask",
    "masked_l1",
    "masked_average",
    "probe_statistics",
    "flattest_region",
    "select_ratio",
    "block_std",
    "flat_tiles",
    "local_shuffle",
    "probe_window_box",
    "probe_thresholds",
]

#: The two masking ratios of the probe (step 1).
PROBE_RATIOS = (0.2, 0.8)

_COMMON: dict[str, Any] = {
    "lr": 4e-4,
    "predictions": 10,
    "width": 48,
    "shuffle_at": 50,
    "tile": 4,
    "flat_threshold": 0.5,
    "probe_fraction": 1.0,
    "relative_gap": False,
    "probe_repeats": 1,
    "warm_start": False,
    "grad_clip": 0.0,
    "probe_window": 0,
    "gray_eps_low": None,
    "gray_eps_high": None,
}
_PAPER_STEP2 = {"eps_low": 1.5, "eps_high": 2.5, "ratio_low": 0.2, "ratio_medium": 0.5, "ratio_high": 0.8}
_CODE_STEP2 = {"eps_low": 1.0, "eps_high": 2.0, "ratio_low": 0.1, "ratio_medium": 0.5, "ratio_high": 0.9}

#: Settings per preset. ``paper`` and ``code`` differ only in step 2's
#: thresholds and ratios; both train 800 steps on the whole image (the
#: authors' configuration for RGB images: lr 4e-4 with cosine annealing,
#: K = 10, shuffling after 50 steps, flat threshold 0.5, the U-Net of width
#: 48). ``cpu`` (the default) is sized for about two minutes on a 2-core CPU
#: for a 256x256 RGB image: a U-Net of width 32 trained with lr 1e-3 on
#: random 64x64 crops (many cheap steps converge much further than a few
#: whole-image steps), shuffling after a quarter of the training with the
#: flat threshold of the authors' FMDD configuration (0.1), and a probe
#: measured where it is reliable at that budget: over the flattest quarter of
#: the image, relative to the noise level. Its thresholds (0.12 / 0.24) were
#: calibrated on CBSD68 images 20-32, never the benchmark's test crops
#: (``scripts/mash_calibration.py``, benchmarks/mash_calibration*.json): each
#: is where the fewest of the 13 calibration probes of its two neighbouring
#: correlation levels are misread (white noise against beta = 0.5 of the
#: ``correlated`` noise, beta = 0.5 against beta = 1; 3 of 39 misread). At
#: this budget the low ratio suits white noise, the medium ratio beta = 0.5
#: (+0.18 dB over the low ratio on images 20-24; also ahead of 0.35 and 0.65,
#: benchmarks/mash_ratio_grid.json) and the high ratio beta = 1.
#: One-channel images get their own thresholds (``gray_eps_low`` /
#: ``gray_eps_high``, 0.04 / 0.13): on gray photos the probe's gap came out
#: lower than on colour ones for the same noise (BSD68 images 36-43, the
#: gray versions of CBSD68 36-43: beta = 0.5 gaps 0.023-0.121, read as low by
#: the colour threshold on 6 of 8; the colour crops of CBSD68 36-39 gave
#: 0.142-0.194 where their gray versions gave 0.023-0.051), set the same
#: way on those 8 gray images (1 of 16 misread at each threshold at most;
#: BENCHMARKS.md, "Zero-shot: MASH's step 2 on gray images"; held out on
#: BSD68 44-47: 11 of 12 right, 6 of 12 with the colour thresholds).
#: Why the gray gap is lower (``scripts/mash_probe_anatomy.py``): on gray
#: crops the ratio-0.8 probe reproduces two to three times the fraction of
#: correlated noise it does on colour ones, and for white noise the two
#: probes' other errors (signal lost, other pixels' noise) cancel on gray
#: but not on colour.
#: The papers' presets use ``eps_*`` for every image. Both pairs were set at
#: sigma 25; at sigma 10 the gap grows (colour white noise 0.10-0.21) and
#: the probe reads noise as more correlated than it is: the signal the
#: probes lose does not shrink with the noise, and weighs more beside weaker
#: noise (BENCHMARKS.md, "Zero-shot: what MASH's probe gap is made of").
#: The probe pair is trained twice and each ratio keeps its lowest residual
#: std (``probe_repeats``): one 600-step probe in a few ends far from
#: converged, which once read a beta = 0.5 crop as strongly correlated
#: (BENCHMARKS.md, the seeds part). The thresholds were set on single probes;
#: a second repeat only removes such failures.
#: Every preset starts step 3 from a fresh network, as the paper and the
#: authors' code do. ``warm_start=True`` continues the best-trained probe
#: network instead; it was tried as the cpu default and not kept: on the
#: zero-shot table's crops it moved MASH by -0.87 to +0.66 dB per crop and
#: +0.09 dB on average over the three noises, the size of a change of random
#: state (BENCHMARKS.md, benchmarks/mash_warm_start_table.json).
#: The cpu preset clips the gradient's global norm at 1 before each Adam step
#: of step 3 (``grad_clip``; the probes are never clipped, and the paper's
#: presets do not clip, as the paper). Unclipped, a longer training broke
#: down once (the fixed ratio at 4400 steps: 16.4 dB on one crop, 23.9 with
#: a limit of 1). At the preset's budget, on 25 calibration runs (CBSD68
#: 20-29), a limit of 1 gained +0.05 dB on average (-0.35 to +0.54 per crop;
#: no noise's mean below -0.05, the rule set before the runs), and a limit
#: of 10, reached on 2 of the 25 runs, +0.003 (BENCHMARKS.md,
#: benchmarks/mash_grad_clip.json).
#: ``probe_window``: the cpu preset runs steps 1-2 (probe training and
#: measurement) on the centre 256x256 window of a larger image, the size its
#: thresholds were calibrated on (``probe_window_box``); step 3 trains on the
#: whole image. Probes trained on a larger image for the same 600 steps see
#: each pixel less often and probably end less converged; the gap grew: on two
#: full CBSD68 images (321x481) at three noises the whole-image gap was the
#: larger on all 6 runs, and read one beta = 0.5 noise as high (the window:
#: 6 of 6 right; BENCHMARKS.md, "Zero-shot: larger images"). A window also
#: keeps the probe's cost that of a 256x256 image. The papers' presets probe
#: the whole image (0).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {**_COMMON, **_PAPER_STEP2, "probe_steps": 600, "steps": 2000, "crop": 64, "width": 32, "lr": 1e-3,
            "shuffle_at": 500, "flat_threshold": 0.1, "probe_fraction": 0.25, "relative_gap": True,
            "eps_low": 0.12, "eps_high": 0.24, "gray_eps_low": 0.04, "gray_eps_high": 0.13,
            "probe_repeats": 2, "grad_clip": 1.0, "probe_window": 256},
    "paper": {**_COMMON, **_PAPER_STEP2, "probe_steps": 800, "steps": 800, "crop": 0},
    "code": {**_COMMON, **_CODE_STEP2, "probe_steps": 800, "steps": 800, "crop": 0},
}

_SHUFFLE = ("auto", "on", "off")
_AVERAGE = ("all", "hidden")


# ---------------------------------------------------------------- masking and loss

def sample_keep_mask(shape: tuple[int, ...], ratio: float, *, generator: torch.Generator,
                     per_pixel: bool = False) -> torch.Tensor:
    """A Bernoulli mask: 1 for kept (visible) entries, 0 for hidden ones.

    Parameters
    ----------
    shape : tuple of int
        The mask's shape, e.g. (1,C,H,W): every pixel and channel is drawn
        independently (the paper, and every preset).
    ratio : float
        Probability that an entry is hidden (the masking ratio), in [0, 1).
    generator : torch.Generator
        The source of randomness.
    per_pixel : bool
        Draw one value per pixel and use it for all channels (dimension 1),
        so that a pixel is hidden or visible whole. A diagnostic
        (``scripts/mash_probe_anatomy.py``); no preset uses it.

    Returns
    -------
    Tensor
        float32 of ``shape`` with values in {0, 1}.
    """
    if per_pixel and len(shape) > 1:
        one = torch.rand((shape[0], 1, *shape[2:]), generator=generator)
        return (one >= ratio).to(torch.float32).expand(shape).contiguous()
    draws = torch.rand(shape, generator=generator)
    return (draws >= ratio).to(torch.float32)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hidden entries only (``hidden`` = 1 there, 0 elsewhere).

    Entries that are not hidden contribute nothing, not even a gradient.
    """
    count = hidden.sum().clamp_min(1.0)
    return ((pred - target).abs() * hidden).sum() / count


def masked_average(net: torch.nn.Module, x: torch.Tensor, ratio: float, count: int,
                   *, generator: torch.Generator, precision: str = "fp32", hidden_only: bool = False,
                   per_pixel: bool = False) -> torch.Tensor:
    """Average of ``count`` predictions of ``net`` from ``x`` with fresh random masks of ``ratio``.

    Each mask covers the whole image; an image of more than
    :data:`~noise2x.zeroshot.nets.BAND_PIXELS` pixels goes through the
    network in bands of rows with 64 rows of context (aligned with the
    U-Net's 32-pixel grid), which bounds the memory and differs from the
    whole-image prediction only slightly near the bands' edges. With
    ``precision="bf16"`` the network runs under ``torch.autocast`` in
    bfloat16; the average is float32.

    ``hidden_only=False`` (the paper and the authors' code) averages every
    entry of every prediction. ``True`` averages each entry over the
    predictions in which it was hidden, where the network was trained: its
    output at a visible entry is never trained and may follow that entry's
    own value (the average then depends on each pixel's own noise, and on
    weak noise came out biased). The masks are then stratified: one uniform
    draw ``u`` per entry, and prediction ``j`` hides the entries with
    ``(u + j / count) mod 1 < ratio``, so that each mask is still an
    independent Bernoulli(``ratio``) draw per entry while every entry is
    hidden in ``floor`` or ``ceil`` of ``ratio * count`` predictions (at
    least one when ``ratio * count >= 1``). The result at an entry then does
    not depend on the entry's own value (the blind-spot property).
    ``per_pixel`` draws the masks of ``hidden_only=False`` per pixel
    (:func:`sample_keep_mask`).
    """
    total = torch.zeros_like(x)
    if hidden_only:
        if ratio * count < 1:
            raise UsageError(f"mash: averaging hidden entries only needs predictions x ratio >= 1, "
                             f"got {count} x {ratio}")
        u = torch.rand(tuple(x.shape), generator=generator).to(x.device)
        seen = torch.zeros_like(x)
    with torch.no_grad(), autocast(precision, x.device):
        for j in range(count):
            if hidden_only:
                hidden = (torch.remainder(u + j / count, 1.0) < ratio).to(torch.float32)
                total += in_bands(net, x * (1.0 - hidden), margin=_BAND_MARGIN, align=32).float() * hidden
                seen += hidden
            else:
                keep = sample_keep_mask(tuple(x.shape), ratio, generator=generator, per_pixel=per_pixel).to(x.device)
                total += in_bands(net, x * keep, margin=_BAND_MARGIN, align=32).float()
    return total / seen if hidden_only else total / count


#: Rows of context above and below each band of :func:`masked_average`.
_BAND_MARGIN = 64


def probe_window_box(height: int, width: int, side: int) -> tuple[int, int, int, int]:
    """Where steps 1-2 run: the ``(top, left, height, width)`` of the image's centre window.

    ``side`` 0 gives the whole image; otherwise the centre ``min(side,
    height)`` x ``min(side, width)`` window (the whole image when it is no
    larger).
    """
    if side <= 0:
        return 0, 0, height, width
    wh, ww = min(side, height), min(side, width)
    return (height - wh) // 2, (width - ww) // 2, wh, ww


# ---------------------------------------------------------------- step 2

def probe_statistics(noisy: np.ndarray, est_low: np.ndarray, est_high: np.ndarray, *, fraction: float = 1.0,
                     relative: bool = False, tile: int = 8, to_8bit: float = 1.0) -> dict[str, Any]:
    """Step 1's measurement: the residual standard deviations of the two probes and their gap.

    Parameters
    ----------
    noisy : ndarray
        (H,W) or (H,W,C) noisy image (8-bit units).
    est_low, est_high : ndarray
        The averaged masked predictions after training with the low (0.2) and
        the high (0.8) probe ratio, same shape as ``noisy``.
    fraction : float
        Measure over the flattest ``fraction`` of the image: the ``tile`` x
        ``tile`` tiles whose standard deviation in the mean of the two
        estimates is lowest. 1 (the paper) measures over every pixel.
    relative : bool
        False (the paper): ``gap = |std_high - std_low|`` in 8-bit units.
        True: that difference divided by the larger std (scale-free).
    tile : int
        Tile side for ``fraction < 1``.
    to_8bit : float
        The factor from the image's units to 8-bit units, for the paper's
        absolute gap (an image in larger units, e.g. 16-bit, is used as it
        is: :func:`noise2x.io.to_8bit_units`). 1 for 8-bit data.

    Returns
    -------
    dict
        ``std_low``, ``std_high`` (over the chosen region), ``gap`` and
        ``std_low_all``, ``std_high_all`` (over every pixel).
    """
    noisy = np.asarray(noisy, dtype=np.float64)
    r_low = noisy - np.asarray(est_low, dtype=np.float64)
    r_high = noisy - np.asarray(est_high, dtype=np.float64)
    out = {"std_low_all": float(r_low.std()), "std_high_all": float(r_high.std())}
    region = flattest_region((np.asarray(est_low) + np.asarray(est_high)) / 2, fraction=fraction, tile=tile)
    low, high = float(r_low[region].std()), float(r_high[region].std())
    out.update({"std_low": low, "std_high": high, "gap": _gap(low, high, relative=relative, to_8bit=to_8bit)})
    return out


def _gap(low: float, high: float, *, relative: bool, to_8bit: float = 1.0) -> float:
    gap = abs(high - low)
    return gap / max(low, high, 1e-12) if relative else gap * to_8bit


def flattest_region(estimate: np.ndarray, *, fraction: float, tile: int = 8) -> np.ndarray:
    """Pixels of the flattest ``fraction`` of an image's ``tile`` x ``tile`` tiles.

    Parameters
    ----------
    estimate : ndarray
        (H,W) or (H,W,C) image (colour is averaged over channels).
    fraction : float
        In (0, 1]; 1 (or an image smaller than a tile) selects every pixel.
    tile : int
        Tile side; pixels beyond the last full tile are never selected when
        ``fraction < 1``.

    Returns
    -------
    ndarray of bool
        (H,W) mask.
    """
    gray = np.asarray(estimate, dtype=np.float64)
    if gray.ndim == 3:
        gray = gray.mean(axis=-1)
    ht, wt = gray.shape[0] // tile, gray.shape[1] // tile
    if fraction >= 1 or ht * wt == 0:
        return np.ones(gray.shape, dtype=bool)
    stds = block_std(gray, block=tile)
    keep = stds <= np.quantile(stds, fraction)
    mask = np.zeros(gray.shape, dtype=bool)
    mask[: ht * tile, : wt * tile] = np.repeat(np.repeat(keep, tile, axis=0), tile, axis=1)
    return mask


def select_ratio(gap: float, *, eps_low: float, eps_high: float,
                 ratio_low: float, ratio_medium: float, ratio_high: float) -> tuple[float, str]:
    """Step 2: the masking ratio from the probe's gap (:func:`probe_statistics`).

    Parameters
    ----------
    gap : float
        The difference between the residual standard deviations after
        training with the high and the low probe ratio.
    eps_low, eps_high : float
        Thresholds on the gap.
    ratio_low, ratio_medium, ratio_high : float
        The ratio for weak, medium and strong correlation.

    Returns
    -------
    (float, str)
        The ratio and the correlation level: ``"low"`` (gap below
        ``eps_low``), ``"medium"`` or ``"high"`` (gap above ``eps_high``; the
        level at which MASH also shuffles).
    """
    if not eps_low <= eps_high:
        raise UsageError(f"mash: eps_low ({eps_low}) must not exceed eps_high ({eps_high})")
    if gap > eps_high:
        return ratio_high, "high"
    if gap < eps_low:
        return ratio_low, "low"
    return ratio_medium, "medium"


# ---------------------------------------------------------------- local pixel shuffling

def block_std(image: np.ndarray, *, block: int = 2) -> np.ndarray:
    """Standard deviation of each non-overlapping ``block`` x ``block`` block of a 2-D image.

    Returns an array of shape (H // block, W // block); a last partial row or
    column of blocks is left out.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"block_std expects a 2-D image, got shape {img.shape}")
    hb, wb = img.shape[0] // block, img.shape[1] // block
    blocks = img[: hb * block, : wb * block].reshape(hb, block, wb, block)
    return blocks.std(axis=(1, 3))


def flat_tiles(estimate: np.ndarray, *, threshold: float, tile: int = 4, block: int = 2) -> np.ndarray:
    """Which ``tile`` x ``tile`` tiles lie in flat regions of ``estimate``.

    A tile is flat when every ``block`` x ``block`` block inside it has a
    standard deviation below ``threshold`` times the largest block standard
    deviation of the image (colour images are averaged over channels first).
    This is the authors' code (their SIDD script, a copy of which the code index
    holds: ``calculate_sliding_std`` over blocks of ``std_kernel_size`` with
    stride ``std_kernel_size`` and ``nn.Upsample(mode='nearest')``, so each
    block's deviation from its own mean, on the channel mean of the estimate; a
    tile shuffled where no pixel reaches the threshold). The paper's text speaks
    of each tile's standard deviation, which would also see an edge lying on a
    block border inside a tile, as this test does not (a method review).

    Parameters
    ----------
    estimate : ndarray
        (H,W) or (H,W,C), the current denoised estimate.
    threshold : float
        Relative threshold in [0, 1].
    tile, block : int
        Tile size (a multiple of ``block``) and block size.

    Returns
    -------
    ndarray of bool
        Shape (H // tile, W // tile).
    """
    if tile % block:
        raise UsageError(f"mash: tile ({tile}) must be a multiple of {block}")
    gray = np.asarray(estimate, dtype=np.float64)
    if gray.ndim == 3:
        gray = gray.mean(axis=-1)
    stds = block_std(gray, block=block)
    peak = stds.max() if stds.size else 0.0
    texture = stds >= threshold * peak if peak > 0 else np.zeros(stds.shape, dtype=bool)
    ht, wt = gray.shape[0] // tile, gray.shape[1] // tile
    k = tile // block
    per_tile = texture[: ht * k, : wt * k].reshape(ht, k, wt, k).any(axis=(1, 3))
    return ~per_tile


def local_shuffle(image: np.ndarray, flat: np.ndarray, *, tile: int = 4, rng: Any = None) -> np.ndarray:
    """Randomly permute the pixels inside each flat ``tile`` x ``tile`` tile.

    Every flat tile gets its own random permutation, shared by all channels
    (a pixel moves with its colour). Pixels of other tiles, and of the last
    rows and columns that do not fill a tile, stay in place. The input is not
    modified.

    Parameters
    ----------
    image : ndarray
        (H,W) or (H,W,C).
    flat : ndarray of bool
        (H // tile, W // tile), as returned by :func:`flat_tiles`.
    tile : int
        Tile size.
    rng : None, int or numpy Generator
        The source of the permutations.

    Returns
    -------
    ndarray
        A new array of the input's shape and dtype.
    """
    img = np.asarray(image)
    out = img.copy()
    ht, wt = img.shape[0] // tile, img.shape[1] // tile
    flat = np.asarray(flat, dtype=bool)
    if flat.shape != (ht, wt):
        raise ValueError(f"flat has shape {flat.shape}, expected {(ht, wt)} for tile {tile}")
    tiles = np.argwhere(flat)
    if len(tiles) == 0:
        return out
    gen = generator(rng)
    perms = np.argsort(gen.random((len(tiles), tile * tile)), axis=1)
    region = out[: ht * tile, : wt * tile]
    shaped = region.reshape(ht, tile, wt, tile, *img.shape[2:]).swapaxes(1, 2)
    shaped = shaped.reshape(ht, wt, tile * tile, *img.shape[2:])
    rows, cols = tiles[:, 0], tiles[:, 1]
    picked = shaped[rows, cols]                                        # (n, tile*tile, ...)
    shaped[rows, cols] = np.take_along_axis(picked, perms.reshape(perms.shape + (1,) * (img.ndim - 2)), axis=1)
    shaped = shaped.reshape(ht, wt, tile, tile, *img.shape[2:]).swapaxes(1, 2)
    out[: ht * tile, : wt * tile] = shaped.reshape(region.shape)
    return out


# ---------------------------------------------------------------- training

def _train(
    x: torch.Tensor,
    *,
    ratio: float,
    steps: int,
    cfg: dict[str, Any],
    gen: torch.Generator,
    report: Reporter,
    on_step: Callable[[int, torch.nn.Module], torch.Tensor | None] | None = None,
    init: torch.nn.Module | None = None,
    clip: float = 0.0,
    stats: dict[str, Any] | None = None,
    precision: str = "fp32",
    per_pixel: bool = False,
) -> tuple[torch.nn.Module, float]:
    """Train a U-Net on ``x`` with masking ratio ``ratio``; return it and its last loss.

    The network is fresh unless ``init`` is given (a network already trained
    on ``x``, which is trained further in place, with a fresh optimiser and
    schedule). ``on_step(i, net)`` runs after step ``i`` and may return a new
    target (the local shuffle); until then the target is ``x`` itself.
    ``clip > 0`` clips the gradient's global norm to ``clip`` before each step;
    ``stats`` then receives ``clipped_steps`` (steps whose norm exceeded
    ``clip``) and ``max_grad_norm`` (before clipping). ``precision="bf16"``
    runs each step's forward pass and loss under ``torch.autocast`` in
    bfloat16 (weights, gradients and Adam's state stay float32).
    ``per_pixel`` draws the masks per pixel (:func:`sample_keep_mask`).
    """
    # channels-last weights make the convolutions run channels-last (faster on CPUs, BENCHMARKS.md)
    if init is None:
        init = new_network(MaskedUNet, x.shape[1], int(cfg["width"]), gen=gen, device=x.device)
    net = init.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=float(cfg["lr"]))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    target = x
    h, w = x.shape[-2:]
    crop = int(cfg["crop"])
    ch, cw = (min(crop, h), min(crop, w)) if crop > 0 else (h, w)
    loss_value = float("nan")
    norms: list[torch.Tensor] = []
    for i in range(steps):
        if (ch, cw) != (h, w):
            top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
            xs = x[..., top: top + ch, left: left + cw]
            ts = target[..., top: top + ch, left: left + cw]
        else:
            xs, ts = x, target
        # every draw on the CPU generator (the same draws on every device), then moved to x's device
        keep = sample_keep_mask(tuple(xs.shape), ratio, generator=gen, per_pixel=per_pixel).to(x.device)
        with autocast(precision, x.device):
            loss = masked_l1(net(xs * keep), ts, 1.0 - keep)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            norms.append(torch.nn.utils.clip_grad_norm_(net.parameters(), clip))
        opt.step()
        sched.step()
        if report.due(i) or i == steps - 1:  # (reading the loss waits for a GPU: only when it is shown or kept)
            loss_value = float(loss.detach())
            report.step(i, loss_value)
        if on_step is not None:
            new_target = on_step(i, net)
            if new_target is not None:
                target = new_target
    if stats is not None and norms:
        seen = torch.stack(norms)
        stats.update({"clipped_steps": int((seen > clip).sum()), "max_grad_norm": float(seen.max())})
    return net, loss_value


def _as_bool(value: Any, key: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"mash: {key} must be true or false, got '{value}'")


def _config(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``preset`` (a name of :data:`PRESETS`, checked by ``nets.zero_shot_preset``) with
    ``overrides``, checked."""
    cfg = dict(PRESETS[preset])
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise TypeError(f"mash: unexpected option(s) {', '.join(unknown)}; valid: {', '.join(sorted(cfg))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    cfg.update(given)
    for key in ("eps_low", "eps_high"):
        # one-channel images have their own thresholds; a threshold the caller gives applies to every image
        if cfg[f"gray_{key}"] is None or (key in given and f"gray_{key}" not in given):
            cfg[f"gray_{key}"] = cfg[key]
    try:
        for key in ("probe_steps", "steps", "predictions", "width", "shuffle_at", "tile", "crop", "probe_repeats",
                    "probe_window"):
            cfg[key] = whole(cfg[key])
        for key in ("lr", "grad_clip", "probe_fraction", "flat_threshold", "eps_low", "eps_high", "gray_eps_low",
                    "gray_eps_high", "ratio_low", "ratio_medium", "ratio_high"):
            cfg[key] = float(cfg[key])
    except (TypeError, ValueError) as exc:
        raise UsageError(f"mash: option values must be numbers ({exc})") from None
    cfg["relative_gap"] = _as_bool(cfg["relative_gap"], "relative_gap")
    cfg["warm_start"] = _as_bool(cfg["warm_start"], "warm_start")
    bad = [k for k in ("shuffle_at", "crop", "probe_window") if cfg[k] < 0]
    bad += [k for k in ("probe_steps", "steps") if cfg[k] < 1]  # (0: an untrained network's output, 100% clipped)
    if not cfg["grad_clip"] >= 0:  # also rejects NaN
        bad.append("grad_clip")
    bad += [k for k in ("predictions", "width", "probe_repeats") if cfg[k] < 1]
    bad += [k for k in ("ratio_low", "ratio_medium", "ratio_high") if not 0 <= cfg[k] < 1]
    if cfg["tile"] < 2 or cfg["tile"] % 2:
        bad.append("tile")
    if not cfg["lr"] > 0:
        bad.append("lr")
    if not 0 < cfg["probe_fraction"] <= 1:
        bad.append("probe_fraction")
    for prefix in ("", "gray_"):                      # checked here, not after minutes of probe training
        if not cfg[f"{prefix}eps_low"] <= cfg[f"{prefix}eps_high"]:
            raise UsageError(f"mash: {prefix}eps_low ({cfg[f'{prefix}eps_low']:g}) must not exceed "
                             f"{prefix}eps_high ({cfg[f'{prefix}eps_high']:g})")
    if bad:
        raise UsageError(f"mash: invalid option value(s): {', '.join(bad)} (steps, probe_steps >= 1, predictions and "
                         "probe_repeats >= 1, probe_window >= 0, "
                         "ratios in [0,1), tile even >= 2, lr > 0, grad_clip >= 0, probe_fraction in (0,1])")
    return cfg


def probe_pair(x: torch.Tensor, image: np.ndarray, *, cfg: dict[str, Any], gen: torch.Generator,
               progress: Callable[[str], None] | None = None, prefix: str | None = None, label: str = "",
               per_pixel: bool = False) -> tuple[list[np.ndarray], list[torch.nn.Module]]:
    """Step 1's training: one probe per ratio of :data:`PROBE_RATIOS`, each averaged over masked predictions.

    ``x`` is the tensor of ``image`` (8-bit units), ``cfg`` a preset's
    settings (``probe_steps``, ``predictions`` and the training's). Returns
    the estimates (numpy, ``image``'s shape) and the trained networks, in the
    order of :data:`PROBE_RATIOS`. Each progress line starts with ``prefix``
    (default ``"mash HxW"`` of ``image``) and ends with ``label``;
    ``per_pixel`` as in :func:`sample_keep_mask` (a diagnostic).
    """
    if prefix is None:
        prefix = f"mash {image.shape[0]}x{image.shape[1]}"
    estimates, trained = [], []
    for probe in PROBE_RATIOS:
        report = Reporter(progress, f"{prefix} probe ratio {probe}{label}", cfg["probe_steps"], lines=2)
        net, _ = _train(x, ratio=probe, steps=cfg["probe_steps"], cfg=cfg, gen=gen, report=report,
                        per_pixel=per_pixel)
        estimates.append(from_tensor(masked_average(net, x, probe, cfg["predictions"], generator=gen,
                                                    per_pixel=per_pixel), image))
        trained.append(net)
    return estimates, trained


def _probe(x: torch.Tensor, image: np.ndarray, *, cfg: dict[str, Any], gen: torch.Generator,
           progress: Callable[[str], None] | None) -> dict[str, Any]:
    """Steps 1 and 2 on the tensor ``x`` of ``image``: the probe's stds, gap, level and ratio.

    With ``probe_repeats`` R > 1 the pair of probe trainings is repeated R
    times (each repeat continues the random stream, so the first repeat is the
    single probe). A briefly trained probe now and then ends far from
    converged (its residual std then includes lost signal, e.g. 34.5 instead
    of about 26 for the ratio-0.8 probe of one CBSD68 crop at beta = 0.5);
    training further only lowers the residual std, so each ratio's std is its
    lowest over the repeats (the best-trained probe) and the gap is taken
    between those. The result's ``"_nets"`` holds that best-trained network
    of each ratio (``warm_start``).
    """
    size = f"{image.shape[0]}x{image.shape[1]}"
    repeats = cfg["probe_repeats"]
    relative = bool(cfg["relative_gap"])
    to_8bit = 1.0 if relative else to_8bit_units(image)[1]       # the paper's absolute gap is in 8-bit units
    top, left, wh, ww = probe_window_box(image.shape[0], image.shape[1], int(cfg["probe_window"]))
    if (wh, ww) != image.shape[:2]:
        if progress is not None:
            progress(f"mash {size}: probe on the centre {wh}x{ww} window")
        image = image[top: top + wh, left: left + ww]
        x = x[..., top: top + wh, left: left + ww]
    runs = []
    nets: dict[float, torch.nn.Module] = {}
    for r in range(repeats):
        estimates, trained = probe_pair(x, image, cfg=cfg, gen=gen, progress=progress, prefix=f"mash {size}",
                                        label=f" ({r + 1}/{repeats})" if repeats > 1 else "")
        runs.append(probe_statistics(image, estimates[0], estimates[1], fraction=float(cfg["probe_fraction"]),
                                     relative=relative, to_8bit=to_8bit))
        for probe, net, key in zip(PROBE_RATIOS, trained, ("std_low", "std_high")):
            if runs[-1][key] <= min(run[key] for run in runs):                # this repeat's probe is the best yet
                nets[probe] = net
    stats = {key: float(min(run[key] for run in runs)) for key in ("std_low", "std_high", "std_low_all",
                                                                     "std_high_all")}
    stats["gap"] = _gap(stats["std_low"], stats["std_high"], relative=relative, to_8bit=to_8bit)
    eps_low, eps_high = probe_thresholds(image, cfg)
    chosen, level = select_ratio(stats["gap"], eps_low=eps_low, eps_high=eps_high,
                                 ratio_low=float(cfg["ratio_low"]), ratio_medium=float(cfg["ratio_medium"]),
                                 ratio_high=float(cfg["ratio_high"]))
    low, high = stats["std_low"], stats["std_high"]
    if progress is not None:
        progress(f"mash {size}: probe stds {low:.2f} / {high:.2f} (gap {stats['gap']:.3g}, thresholds "
                 f"{eps_low:g} / {eps_high:g}) -> {level} "
                 f"correlation, ratio {chosen:g}")
    return {"probe_std": {PROBE_RATIOS[0]: low, PROBE_RATIOS[1]: high},
            "probe_std_all": {PROBE_RATIOS[0]: stats["std_low_all"], PROBE_RATIOS[1]: stats["std_high_all"]},
            "gap": stats["gap"], "gaps": [run["gap"] for run in runs], "thresholds": (eps_low, eps_high),
            "level": level, "ratio": chosen,
            "_nets": nets}


def probe_thresholds(image: np.ndarray, cfg: dict[str, Any]) -> tuple[float, float]:
    """Step 2's ``(eps_low, eps_high)`` for ``image``: ``gray_eps_*`` for one channel, else ``eps_*``."""
    gray = np.ndim(image) == 2 or np.shape(image)[-1] == 1
    prefix = "gray_" if gray else ""
    return float(cfg[f"{prefix}eps_low"]), float(cfg[f"{prefix}eps_high"])


def probe_correlation(
    noisy: np.ndarray,
    *,
    rng: Any = None,
    progress: Callable[[str], None] | None = None,
    preset: str = "auto",
    device: str = "auto",
    **options: Any,
) -> dict[str, Any]:
    """MASH's steps 1-2 alone: how correlated the noise of ``noisy`` looks, and the ratio MASH would use.

    Parameters
    ----------
    noisy : ndarray
        (H,W) or (H,W,C) image, in its own units (as for :func:`mash`).
    rng : None, int or numpy Generator
        As for :func:`mash` (the same seed gives the same probe as ``mash``).
    progress : callable, optional
        Receives progress lines.
    preset : {"auto", "cpu", "paper", "code"}
        As for :func:`mash`.
    device : str
        As for :func:`mash`.
    **options
        Any of :func:`mash`'s training options (``probe_steps``, ``predictions``,
        ``lr``, ``crop``, ``width``, ``eps_low``, ``eps_high``, ``ratio_low``,
        ``ratio_medium``, ``ratio_high``, ``probe_window``, ...).

    Returns
    -------
    dict
        ``probe_std`` ({0.2: std, 0.8: std}, in the units of the image
        mapped by ``units``), ``gap``, ``gaps`` (each repeat's own gap,
        see ``probe_repeats``), ``thresholds`` (the ``(eps_low, eps_high)``
        used: :func:`probe_thresholds`), ``level`` (``"low"``, ``"medium"`` or
        ``"high"``), ``ratio`` and ``units`` (``offset`` and ``scale`` of the
        map to 8-bit units; 0 and 1 for 8-bit and larger units).
    """
    dev = zero_shot_device(device, "mash")
    preset = zero_shot_preset(preset, dev, PRESETS, "mash")
    cfg = _config(preset, options)
    image, units = checked_in_8bit_units(noisy, name="mash input")
    _, gen = make_generators(rng)
    found = _probe(to_tensor(image, dev), image, cfg=cfg, gen=gen, progress=progress)
    del found["_nets"]
    return {**found, "units": units}


def mash(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    progress: Callable[[str], None] | None = None,
    info: dict[str, Any] | None = None,
    preset: str = "auto",
    ratio: float | None = None,
    shuffle: str = "auto",
    steps: int | None = None,
    probe_steps: int | None = None,
    predictions: int | None = None,
    lr: float | None = None,
    crop: int | None = None,
    width: int | None = None,
    eps_low: float | None = None,
    eps_high: float | None = None,
    gray_eps_low: float | None = None,
    gray_eps_high: float | None = None,
    ratio_low: float | None = None,
    ratio_medium: float | None = None,
    ratio_high: float | None = None,
    shuffle_at: int | None = None,
    tile: int | None = None,
    flat_threshold: float | None = None,
    probe_fraction: float | None = None,
    relative_gap: bool | None = None,
    probe_repeats: int | None = None,
    warm_start: bool | None = None,
    grad_clip: float | None = None,
    probe_window: int | None = None,
    precision: str = "fp32",
    average: str = "all",
    device: str = "auto",
) -> np.ndarray:
    """Denoise one image with MASH (masked and shuffled blind-spot training on that image alone).

    Parameters
    ----------
    noisy : ndarray
        (H,W) or (H,W,C) float image, at least 4x4, any aspect ratio, in its
        own units: 8-bit units (values may lie outside [0,255]) and larger
        ones (16-bit) are used as they are; smaller ones ([0, 1] data, a very
        dark image) are brought up to 8-bit units first, and the result back
        (:func:`~noise2x.zeroshot.nets.units_map`). The paper and code
        presets' absolute gap is measured in 8-bit units whatever the
        image's units.
    noise : NoiseSpec, optional
        Unused (MASH needs no noise model); accepted for the common contract.
    rng : None, int or numpy Generator
        Seeds initialisation, masks, crops and shuffles.
    progress : callable, optional
        Receives progress lines.
    info : dict, optional
        Filled with what was chosen: ``probe_std`` ({ratio: std}), ``gap``,
        ``gaps`` (one per probe repeat), ``thresholds`` (step 2's, by the
        image's channels: :func:`probe_thresholds`),
        ``level``, ``ratio``, ``shuffled``, ``flat_fraction``,
        ``warm_start_from`` (the ratio of the probe network step 3 started
        from, or None), with ``grad_clip`` also ``clipped_steps`` (steps of
        the final training whose gradient norm exceeded it) and
        ``max_grad_norm``, ``units`` (offset and scale of the map to 8-bit
        units; 0 and 1 for 8-bit and larger units), ``precision``, the settings and
        ``seconds``.
    preset : {"auto", "cpu", "paper", "code"}
        ``auto`` (default): ``cpu`` on every device (a longer final training
        for a GPU's speed was measured and not kept: BENCHMARKS.md, "MASH's
        final training at 4000 steps").
        ``cpu``: two pairs of probes of 600 steps and a final
        training of 2000 steps on random 64x64 crops with a U-Net of width 32
        and lr 1e-3; the probe
        gap is measured over the flattest quarter of the image relative to
        the noise level (thresholds 0.12 / 0.24; 0.04 / 0.13 for a gray
        image), ratios 0.2 / 0.5 / 0.8.
        ``paper``: the authors' settings, 800 steps each on the whole image,
        gap in 8-bit units over every pixel with thresholds 1.5 / 2.5, ratios
        0.2 / 0.5 / 0.8. ``code``: as ``paper`` with the authors' code's
        thresholds 1.0 / 2.0 and ratios 0.1 / 0.5 / 0.9. See :data:`PRESETS`.
    ratio : float, optional
        A fixed masking ratio: skips steps 1-2 (no probe, no shuffling unless
        ``shuffle="on"``).
    shuffle : {"auto", "on", "off"}
        Local pixel shuffling: when step 2 finds strong correlation (``auto``),
        always, or never.
    steps, probe_steps : int, optional
        Adam steps of the final training and of each probe.
    predictions : int, optional
        Masked predictions averaged (K) for the probe, the flat-region
        estimate and the output.
    lr : float, optional
        Adam learning rate (cosine annealed to 0).
    crop : int, optional
        Side of the random training crops; 0 trains on the whole image.
    width : int, optional
        Channels of the U-Net's encoder (48 in the paper).
    eps_low, eps_high, ratio_low, ratio_medium, ratio_high : float, optional
        Step 2's thresholds and ratios. Given thresholds apply to every
        image, gray ones included.
    gray_eps_low, gray_eps_high : float, optional
        Step 2's thresholds for a one-channel image (the cpu preset's are
        lower than its colour ones; the papers' presets use ``eps_*``).
    shuffle_at : int, optional
        Step of the final training after which the target is shuffled.
    tile : int, optional
        Side of the shuffling tiles (4).
    flat_threshold : float, optional
        A 2x2 block is flat when its std is below this fraction of the largest.
    probe_fraction : float, optional
        The probe's stds are measured over this fraction of the image (its
        flattest 8x8 tiles); 1 = every pixel, as in the paper.
    relative_gap : bool, optional
        Step 2 compares the gap divided by the larger std (scale-free) instead
        of the gap in 8-bit units (the paper).
    probe_repeats : int, optional
        Step 1 is repeated this many times (fresh probe trainings); each
        ratio's residual std is its lowest over the repeats (1 in the paper).
    warm_start : bool, optional
        Step 3 continues training the best-trained probe network (of the
        high ratio when it shuffles, else of the low one), with a fresh
        optimiser and schedule, instead of a fresh network (as in the paper;
        every preset's default). Needs the probe: ignored when ``ratio`` is
        given.
    grad_clip : float, optional
        Before each Adam step of the final training (step 3, or the only
        training when ``ratio`` is given) the gradient's global norm is
        clipped to this value; 0 does not clip (the paper and code presets;
        the cpu preset clips at 1). The probes are never clipped: step 2's
        thresholds were calibrated on unclipped probes.
    probe_window : int, optional
        Steps 1-2 (probe training and measurement) run on the centre window
        of this side of a larger image (:func:`probe_window_box`); 0 probes
        the whole image (the paper and code presets; the cpu preset uses
        256). Step 3 and the output always use the whole image.
    precision : {"fp32", "bf16"}
        ``bf16`` runs step 3 (its training steps, the shuffle's flat-region
        estimate) and the output's predictions under ``torch.autocast`` in
        bfloat16: faster on CPUs with bfloat16 instructions (BENCHMARKS.md,
        "bf16 (mixed-precision) training"). Steps 1-2 stay float32 whatever
        it is: step 2's thresholds were calibrated on float32 probes, so the
        level chosen does not depend on it.
    average : {"all", "hidden"}
        How step 3's predictions are averaged (the output and the shuffle's
        flat-region estimate): ``all`` every entry of every prediction, as
        the paper and the authors' code do; ``hidden`` each entry over the
        predictions that hid it (:func:`masked_average`, ``hidden_only``).
        The probes (steps 1-2) always use ``all``, on which step 2's
        thresholds were set.
    device : str
        Where the networks train and predict: ``auto`` (a CUDA GPU when
        there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or
        ``mps``. Every random draw (initial weights, masks, crops, shuffles)
        comes from a generator on the CPU whatever the device, so a seed
        makes the same draws everywhere and the results differ only by the
        devices' arithmetic (step 2 may then read a gap next to a threshold
        the other way).

    Returns
    -------
    ndarray
        float64, the input's shape and units (not clipped).
    """
    if shuffle not in _SHUFFLE:
        raise UsageError(f"mash: shuffle must be one of {', '.join(_SHUFFLE)}, got '{shuffle}'")
    if average not in _AVERAGE:
        raise UsageError(f"mash: average must be one of {', '.join(_AVERAGE)}, got '{average}'")
    check_precision(precision, "mash")
    dev = zero_shot_device(device, "mash")
    preset = zero_shot_preset(preset, dev, PRESETS, "mash")
    cfg = _config(preset, {
        "steps": steps, "probe_steps": probe_steps, "predictions": predictions, "lr": lr, "crop": crop,
        "width": width, "eps_low": eps_low, "eps_high": eps_high, "gray_eps_low": gray_eps_low,
        "gray_eps_high": gray_eps_high, "ratio_low": ratio_low,
        "ratio_medium": ratio_medium, "ratio_high": ratio_high, "shuffle_at": shuffle_at, "tile": tile,
        "flat_threshold": flat_threshold, "probe_fraction": probe_fraction, "relative_gap": relative_gap,
        "probe_repeats": probe_repeats, "warm_start": warm_start, "grad_clip": grad_clip,
        "probe_window": probe_window,
    })
    if ratio is not None:
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            raise UsageError(f"mash: ratio must be a number in [0, 1), got {ratio!r}") from None
        if not 0 <= ratio < 1:
            raise UsageError(f"mash: ratio must be in [0, 1), got {ratio}")
    image, units = checked_in_8bit_units(noisy, name="mash input")
    start = time.perf_counter()
    np_rng, gen = make_generators(rng)
    x = to_tensor(image, dev)
    size = f"{image.shape[0]}x{image.shape[1]}"
    say = progress or (lambda _msg: None)
    if dev.type != "cpu":
        say(f"mash {size}: on {device_name(dev)}")
    details: dict[str, Any] = {"preset": preset, **cfg, "units": units, "precision": precision, "average": average,
                               "device": str(dev)}
    hidden_only = average == "hidden"
    lowest = float(ratio) if ratio is not None else min(cfg["ratio_low"], cfg["ratio_medium"], cfg["ratio_high"])
    if hidden_only and cfg["predictions"] * lowest < 1:
        raise UsageError(f"mash: average=hidden needs predictions x ratio >= 1 for every ratio it may use, got "
                         f"{cfg['predictions']} x {lowest:g}")
    k = cfg["predictions"]

    init, init_ratio = None, None
    if ratio is None:
        found = _probe(x, image, cfg=cfg, gen=gen, progress=progress)
        chosen, level = found["ratio"], found["level"]
        details.update({key: found[key] for key in ("probe_std", "probe_std_all", "gap", "gaps", "thresholds",
                                                    "level")})
        if cfg["warm_start"]:
            # the probe network of the high ratio for strong correlation, else that of the low ratio
            init_ratio = PROBE_RATIOS[1] if level == "high" else PROBE_RATIOS[0]
            init = found["_nets"][init_ratio]
            say(f"mash {size}: training on from the ratio-{init_ratio:g} probe's network (warm_start)")
        del found
    else:
        chosen, level = float(ratio), None
        details.update({"probe_std": None, "probe_std_all": None, "gap": None, "gaps": None, "thresholds": None,
                        "level": None})
    details["warm_start_from"] = init_ratio
    do_shuffle = shuffle == "on" or (shuffle == "auto" and level == "high")
    details.update({"ratio": chosen, "shuffled": False, "flat_fraction": None})

    def maybe_shuffle(i: int, net: torch.nn.Module) -> torch.Tensor | None:
        if not do_shuffle or i != min(cfg["shuffle_at"], cfg["steps"] - 1):
            return None
        estimate = from_tensor(masked_average(net, x, chosen, k, generator=gen, precision=precision,
                                              hidden_only=hidden_only), image)
        flat = flat_tiles(estimate, threshold=float(cfg["flat_threshold"]), tile=cfg["tile"])
        details.update({"shuffled": True, "flat_fraction": float(flat.mean()) if flat.size else 0.0})
        say(f"mash {size}: shuffling {int(flat.sum())} of {flat.size} tiles ({cfg['tile']}x{cfg['tile']}) "
            "in flat regions")
        return to_tensor(local_shuffle(image, flat, tile=cfg["tile"], rng=np_rng), dev)

    report = Reporter(progress, f"mash {size} ratio {chosen:g}", cfg["steps"])
    net, loss_value = _train(x, ratio=chosen, steps=cfg["steps"], cfg=cfg, gen=gen, report=report,
                             on_step=maybe_shuffle, init=init, clip=cfg["grad_clip"], stats=details,
                             precision=precision)
    if image.shape[0] * image.shape[1] > BAND_PIXELS:
        say(f"mash {size}: averaging {k} masked predictions of the whole image")
    out = masked_average(net, x, chosen, k, generator=gen, precision=precision, hidden_only=hidden_only)
    details.update({"final_loss": loss_value, "seconds": time.perf_counter() - start})
    if info is not None:
        info.update(details)
    return from_tensor(out, image) / units["scale"] + units["offset"]
