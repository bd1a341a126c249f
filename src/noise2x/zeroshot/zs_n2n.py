"""ZS-N2N: Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023), our own implementation.

A tiny network (two 3x3 convs of 48 channels (32 in the ``cpu`` preset) and a 1x1 conv, LeakyReLU 0.2)
is trained on the one noisy image to predict its noise. The image is split by
the two diagonal 2x2 downsamplers into two half-size images whose noise is
independent (for pixel-wise independent noise) while their content is nearly
the same, so each can serve as the other's Noise2Noise target:

* residual loss: the denoised first half should match the noisy second half
  and vice versa (MSE);
* consistency loss: denoising then downsampling should agree with
  downsampling then denoising (MSE).

Adam, lr 1e-3 halved every 1000 steps, as in the authors' notebook. The
``cpu`` preset trains an image larger than 256x256 on 16 fixed 64x64 tiles
spread over it (:func:`training_tiles`) and denoises the whole image.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UsageError
from .nets import (NoiseNet, Reporter, autocast, check_precision, checked_in_8bit_units, from_tensor, in_bands,
                   make_generators, new_network, to_tensor, whole, zero_shot_device, device_name, zero_shot_preset)

__all__ = ["zs_n2n", "pair_downsample", "zs_n2n_loss", "training_tiles", "PRESETS"]

#: Settings per preset. ``paper``: the paper's ~2000 Adam steps; ``code``: the
#: authors' notebook (3000 steps); ``cpu``: the default, sized so that a
#: 256x256 RGB image takes under a minute on a 2-core CPU, also in the host's
#: slower phases: the paper's schedule (lr 1e-3 halved half-way) in 900 steps
#: of a 32-channel net, which beat 48 channels at equal time on calibration
#: crops (scripts/zs_n2n_schedule.py; BENCHMARKS.md gives what it costs in
#: PSNR). 1000 steps took 38-48 s per crop in the benchmark but 62-65 s through
#: the CLI in the host's slowest phase measured; 900 steps cost 0.04 dB on the
#: calibration crops for 13% less time, and took 42-51 s through the CLI while
#: the host slowed from 42 to 59 ms per step (BENCHMARKS.md).
#: ``tile``, ``tiles``: the cpu preset trains an image of more than 16 64x64
#: tiles' pixels (a 256x256 image's) on 16 such tiles spread over it on a
#: fixed grid (:func:`training_tiles`), so a photo of any size costs the
#: training time of a 256x256 one; ``tile`` 0 (the papers' presets) trains
#: on the whole image, whose steps grow with its size. The same tiles at
#: every step: in development runs on full CBSD68 images, a random crop per
#: step (one of 256x256, or 16 of 64x64) lost several times more against
#: whole-image training than fixed tiles did. On those images the tiles cost
#: 0.05 dB for 2.4 times less time (BENCHMARKS.md, "Zero-shot: larger
#: images").
#: ``gpu`` (what ``preset="auto"`` runs on a CUDA GPU): the paper's 2000 steps of 48 channels, on the cpu
#: preset's tiles of an image larger than 256x256, for a GPU's speed (about 4 s per 256x256 crop on an H200
#: with the cpu preset). On the calibration crops (CBSD68 20-23, white sigma 25) it gained +0.35 dB over the
#: cpu preset (28.21 against 27.86; +0.01 to +0.72 per crop), at 187.5 s per crop on 2 CPU cores
#: (benchmarks/zs_n2n_schedule_round6.json; BENCHMARKS.md, "ZS-N2N's gpu preset").
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"steps": 900, "lr": 1e-3, "step_size": 450, "gamma": 0.5, "width": 32, "tile": 64, "tiles": 16},
    "paper": {"steps": 2000, "lr": 1e-3, "step_size": 1000, "gamma": 0.5, "width": 48, "tile": 0, "tiles": 16},
    "code": {"steps": 3000, "lr": 1e-3, "step_size": 1000, "gamma": 0.5, "width": 48, "tile": 0, "tiles": 16},
    "gpu": {"steps": 2000, "lr": 1e-3, "step_size": 1000, "gamma": 0.5, "width": 48, "tile": 64, "tiles": 16},
}


def pair_downsample(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two diagonal 2x2 downsamplers of ZS-N2N.

    Parameters
    ----------
    x : Tensor
        (B,C,H,W); an odd last row or column is dropped.

    Returns
    -------
    (Tensor, Tensor)
        (B,C,H//2,W//2) each: the mean of the anti-diagonal pixels (top-right,
        bottom-left) of every 2x2 block, and the mean of the diagonal ones
        (top-left, bottom-right).
    """
    h, w = (x.shape[-2] // 2) * 2, (x.shape[-1] // 2) * 2
    x = x[..., :h, :w]
    tl, tr = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    bl, br = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    return 0.5 * (tr + bl), 0.5 * (tl + br)


def zs_n2n_loss(net: Callable[[torch.Tensor], torch.Tensor], noisy: torch.Tensor) -> torch.Tensor:
    """The ZS-N2N loss: residual loss + consistency loss, both mean squared errors.

    Parameters
    ----------
    net : callable
        Maps a (B,C,h,w) noisy tensor to its predicted noise.
    noisy : Tensor
        (B,C,H,W) noisy image.

    Returns
    -------
    Tensor
        A scalar.
    """
    n1, n2 = pair_downsample(noisy)
    d1 = n1 - net(n1)
    d2 = n2 - net(n2)
    residual = 0.5 * (F.mse_loss(d2, n1) + F.mse_loss(d1, n2))
    full1, full2 = pair_downsample(noisy - net(noisy))
    consistency = 0.5 * (F.mse_loss(full1, d1) + F.mse_loss(full2, d2))
    return residual + consistency


def training_tiles(height: int, width: int, tile: int, count: int) -> list[tuple[int, int, int, int]]:
    """The ``(top, left, height, width)`` boxes ZS-N2N trains on.

    The whole image when ``tile`` is 0 or the image has at most ``count``
    tiles' pixels. Otherwise about ``count`` tiles of ``tile`` x ``tile``
    (even sides, no larger than the image) on a grid of rows x columns
    shaped like the image, evenly spaced from edge to edge (centred on an
    axis with one tile), at even offsets so that every 2x2 block the
    downsamplers average is one of the image's; tiles that would repeat (an
    image thinner than its grid) are dropped.
    """
    if tile <= 0 or height * width <= count * tile * tile:
        return [(0, 0, height, width)]
    th, tw = min(tile, height) // 2 * 2, min(tile, width) // 2 * 2
    rows = int(min(count, max(1, round(math.sqrt(count * height / width)))))
    cols = int(min(count, max(1, round(count / rows))))

    def starts(length: int, size: int, n: int) -> list[int]:
        if n == 1:
            return [(length - size) // 4 * 2]                                  # one tile: centred
        return sorted({int(v) // 2 * 2 for v in np.linspace(0, length - size, n)})

    return [(t, v, th, tw) for t in starts(height, th, rows) for v in starts(width, tw, cols)]


def zs_n2n(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    progress: Callable[[str], None] | None = None,
    info: dict[str, Any] | None = None,
    preset: str = "auto",
    steps: int | None = None,
    lr: float | None = None,
    step_size: int | None = None,
    gamma: float | None = None,
    width: int | None = None,
    tile: int | None = None,
    tiles: int | None = None,
    precision: str = "fp32",
    device: str = "auto",
) -> np.ndarray:
    """Denoise one image with Zero-Shot Noise2Noise (trained on that image alone).

    Parameters
    ----------
    noisy : ndarray
        (H,W) or (H,W,C) float image, at least 4x4, in its own units: 8-bit
        units (values may lie outside [0,255]) and larger ones (16-bit) are
        used as they are; smaller ones ([0, 1] data, a very dark image) are
        brought up to 8-bit units first, and the result back
        (:func:`~noise2x.zeroshot.nets.units_map`).
    noise : NoiseSpec, optional
        Unused (ZS-N2N needs no noise model); accepted for the common contract.
    rng : None, int or numpy Generator
        Seeds the network's initialisation.
    progress : callable, optional
        Receives a few progress lines.
    info : dict, optional
        Filled with the settings used, ``units`` (the offset and scale of
        that map; 0 and 1 for 8-bit and larger units), the final loss and the wall time.
    preset : {"auto", "cpu", "gpu", "paper", "code"}
        Default settings: ``auto`` (default) is ``gpu`` on a CUDA GPU, else
        ``cpu``; ``cpu`` (900 steps, lr halved every 450, 32 channels),
        ``gpu`` (the paper's 2000 steps of 48 channels, on the cpu preset's
        tiles of a large image), ``paper`` (2000 steps, halved every 1000,
        on the whole image) or ``code`` (the authors' notebook: 3000 steps,
        halved every 1000).
    steps, lr, step_size, gamma, width : optional
        Override the preset: Adam steps, learning rate, StepLR period and
        factor, channels of the two 3x3 convs.
    tile, tiles : int, optional
        An image of more than ``tiles`` x ``tile`` x ``tile`` pixels trains
        on ``tiles`` tiles of ``tile`` x ``tile`` spread over it
        (:func:`training_tiles`), the same at every step; ``tile`` 0 trains
        on the whole image (``paper``, ``code``; the ``cpu`` preset uses 16
        tiles of 64). The result is always the whole image's, computed in
        bands above :data:`~noise2x.zeroshot.nets.BAND_PIXELS` pixels (exact:
        the network sees 5x5 pixels).
    precision : {"fp32", "bf16"}
        ``bf16``: the training steps' forward passes and the prediction run
        under ``torch.autocast`` in bfloat16 (the weights and Adam's state
        stay float32); about 1.7 times as fast on a CPU with bfloat16
        instructions, 0.015 dB lower (BENCHMARKS.md, "bf16 (mixed-precision) training"). On a GPU
        in bfloat16 too.
    device : str
        Where the network trains and predicts: ``auto`` (a CUDA GPU when
        there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        The initial weights are drawn on the CPU whatever the device, so a
        seed starts from the same network everywhere (the results then
        differ only by the devices' arithmetic).

    Returns
    -------
    ndarray
        float64, the input's shape and units (not clipped).
    """
    dev = zero_shot_device(device, "zs_n2n")
    preset = zero_shot_preset(preset, dev, PRESETS, "zs_n2n")
    cfg = dict(PRESETS[preset])
    overrides = {"steps": steps, "lr": lr, "step_size": step_size, "gamma": gamma, "width": width, "tile": tile,
                 "tiles": tiles}
    for key, value in overrides.items():
        if value is not None:
            cfg[key] = value
    try:
        steps_, width_, step_size_ = whole(cfg["steps"]), whole(cfg["width"]), whole(cfg["step_size"])
        tile_, tiles_ = whole(cfg["tile"]), whole(cfg["tiles"])
        cfg["lr"], cfg["gamma"] = float(cfg["lr"]), float(cfg["gamma"])
    except (TypeError, ValueError) as exc:
        raise UsageError(f"zs_n2n: option values must be numbers ({exc})") from None
    if (steps_ < 1 or width_ < 1 or step_size_ < 1 or not float(cfg["lr"]) > 0 or not 0 < float(cfg["gamma"]) <= 1
            or tile_ < 0 or 0 < tile_ < 4 or tiles_ < 1):
        raise UsageError("zs_n2n: need steps >= 1 (0 returned the untrained network's output), width >= 1, "
                         "step_size >= 1, lr > 0, 0 < gamma <= 1, tile 0 (whole image) or >= 4 and tiles >= 1")
    check_precision(precision, "zs_n2n")
    image, units = checked_in_8bit_units(noisy, name="zs_n2n input")
    start = time.perf_counter()
    _, gen = make_generators(rng)
    # channels-last: the convolutions of this wide, shallow net run faster on CPUs (BENCHMARKS.md)
    x = to_tensor(image, dev).contiguous(memory_format=torch.channels_last)
    net = new_network(NoiseNet, x.shape[1], width_, gen=gen, device=dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=float(cfg["lr"]))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size_, gamma=float(cfg["gamma"]))
    h, w = image.shape[:2]
    boxes = training_tiles(h, w, tile_, tiles_)
    what = f"zs_n2n {h}x{w}" + ("" if dev.type == "cpu" else f" on {device_name(dev)}")
    xs = x
    if boxes[0][2:] != (h, w):
        xs = torch.cat([x[..., t: t + th, v: v + tw] for t, v, th, tw in boxes])
        xs = xs.contiguous(memory_format=torch.channels_last)
        what += f" (training on {len(boxes)} tiles of {boxes[0][2]}x{boxes[0][3]})"
    report = Reporter(progress, what, steps_)
    loss_value = float("nan")
    for i in range(steps_):
        with autocast(precision, dev):
            loss = zs_n2n_loss(net, xs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if report.due(i) or i == steps_ - 1:  # (reading the loss waits for a GPU: only when it is shown or kept)
            loss_value = float(loss.detach())
            report.step(i, loss_value)
    with torch.no_grad(), autocast(precision, dev):
        out = x - in_bands(net, x, margin=8).float()
    if info is not None:
        info.update({"preset": preset, **cfg, "precision": precision, "device": str(dev), "units": units,
                     "final_loss": loss_value, "seconds": time.perf_counter() - start})
    return from_tensor(out, image) / units["scale"] + units["offset"]
