"""Neighbor2Neighbor (Huang et al. 2021): Noise2Noise between two sub-images of one noisy image.

A random neighbour sub-sampler picks, in every 2x2 cell, two different
4-adjacent pixels (one of the 8 ordered pairs, drawn independently per cell,
image and step; the same pixels in every channel), giving two half-resolution
images ``g1(y)`` and ``g2(y)`` whose noise is independent and whose content
nearly coincides. The loss is

    mse(f(g1(y)), g2(y)) + Gamma * mse(f(g1(y)) - g2(y), g1(f(y)) - g2(f(y)))

with ``f(y)`` computed without gradient; the regulariser corrects for the
half-pixel shift between the sub-images. ``Gamma`` ramps linearly from 0 to
``gamma`` (2) over the budget (the reference uses ``epoch / n_epochs * 2``).
Patches with an odd side lose their last row/column for the loss. Inference is
a single pass on the full-resolution image.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from .. import masking
from ..errors import InputError, UsageError
from ..masking_torch import numpy_rng, subimage
from .base import DEFAULT_PRESETS, Method


@dataclasses.dataclass
class Neighbor2NeighborOptions:
    """Options of :class:`Neighbor2Neighbor` (``--set method.KEY=VALUE``).

    Attributes
    ----------
    gamma : float
        Final weight of the regulariser (2 in the paper); it ramps up linearly with progress.
    rec_weight : float
        Weight of the reconstruction term (1).
    """

    gamma: float = 2.0
    rec_weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.gamma >= 0:
            raise UsageError(f"method.gamma must be >= 0, got {self.gamma}")
        if not self.rec_weight > 0:
            raise UsageError(f"method.rec_weight must be > 0, got {self.rec_weight}")


class Neighbor2Neighbor(Method):
    """Self-supervised training on neighbouring sub-images of each noisy image."""

    name: ClassVar[str] = "neighbor2neighbor"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy"})
    Options: ClassVar[type] = Neighbor2NeighborOptions
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: 128-pixel patches give 64-pixel sub-images (the network trains on
        # the half-resolution pair, so the patch is twice the usual side); the
        # unmasked loss uses every pixel, so small batches and a high lr work.
        "cpu": {**DEFAULT_PRESETS["cpu"], "data.patch_size": 128, "data.batch_size": 4, "train.lr": 1e-3},
        # The reference (train.py): patch 256, batch 4, Adam 3e-4 (betas 0.9, 0.999) halved at 20/40/60/80 % of
        # the budget. Its network is the Noise2Noise U-Net here (the reference's arch_unet differs: leaky ReLU 0.2,
        # transposed-convolution upsampling, three 1x1 convolutions at the top).
        "paper": {"data.patch_size": 256, "data.batch_size": 4, "train.lr": 3e-4, "train.schedule": "steps",
                  "train.beta2": 0.999},
    }

    def gamma_at(self, progress: float) -> float:
        """Regulariser weight at ``progress`` in [0, 1]: ``gamma * progress``."""
        return self.options.gamma * min(max(float(progress), 0.0), 1.0)

    def subsample(self, z: Tensor, *, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """Draw the sub-sampler: positions ``k1``, ``k2`` (B, H//2, W//2) of the two sub-images."""
        b, _, h, w = z.shape
        if h < 2 or w < 2:
            raise InputError(f"Neighbor2Neighbor needs patches of at least 2x2 pixels, got {h}x{w}")
        k1, k2 = masking.neighbour_pair_choice((b, h // 2, w // 2), rng=numpy_rng(rng))
        return (torch.as_tensor(k1, dtype=torch.long, device=z.device),
                torch.as_tensor(k2, dtype=torch.long, device=z.device))

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": Neighbor2Neighbor loss}`` in normalised units."""
        self.check_batch(batch)
        z = model.normalize(batch.noisy)
        h, w = z.shape[-2] // 2 * 2, z.shape[-1] // 2 * 2
        z = z[..., :h, :w]
        k1, k2 = self.subsample(z, rng=rng)
        g1, g2 = subimage(z, k1), subimage(z, k2)
        with torch.no_grad():
            full = model.net(z)
            exp_diff = subimage(full, k1) - subimage(full, k2)
        diff = model.net(g1) - g2
        rec = diff.square().mean()
        reg = (diff - exp_diff).square().mean()
        return {"model": self.options.rec_weight * rec + self.gamma_at(progress) * reg}
