"""Noise2Self (Batson & Royer 2019): J-invariant training with grid masks.

The pixels are split into ``width**2`` interleaved grids (every ``width``-th
row and column, 16 grids for the reference ``width=4``). Each training step
masks one grid per image (a random phase), fills the masked pixels from their
neighbours (``interpolate``: the 3x3 donut average without the centre; or
``zero``), and trains the network to predict the original noisy values there;
the loss counts the masked pixels only. Masked pixels are ``width`` apart and
the fill uses only the 8 neighbours, so the network input, and hence the
prediction at a masked pixel, does not depend on that pixel's own noisy value.

Inference is a single unmasked pass (the reference ``infer_single_pass``).
Colour images: the grid hides a pixel in all its channels at once (the
reference masker is shared across channels), so no channel's noise at a
masked pixel reaches its prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from .. import masking
from ..errors import UsageError
from ..masking_torch import donut_fill, index, numpy_rng
from .base import DEFAULT_PRESETS, Method

MODES = ("interpolate", "zero")
LOSSES = ("l2", "l1")


@dataclasses.dataclass
class Noise2SelfOptions:
    """Options of :class:`Noise2Self` (``--set method.KEY=VALUE``).

    Attributes
    ----------
    width : int
        Grid spacing (4 in the reference code: 1/16 of the pixels masked per step).
    mode : {"interpolate", "zero"}
        Fill masked pixels with the donut average of their neighbours, or zero.
    loss : {"l2", "l1"}
        Error on the masked pixels.
    """

    width: int = 4
    mode: str = "interpolate"
    loss: str = "l2"

    def __post_init__(self) -> None:
        if int(self.width) != self.width or self.width < 2:
            raise UsageError(f"method.width must be an integer >= 2, got {self.width}")
        self.width = int(self.width)
        if self.mode not in MODES:
            raise UsageError(f"method.mode={self.mode!r} is not valid; valid: {', '.join(MODES)}")
        if self.loss not in LOSSES:
            raise UsageError(f"method.loss={self.loss!r} is not valid for noise2self; valid: {', '.join(LOSSES)}")


class Noise2Self(Method):
    """J-invariant self-supervision with interleaved grid masks."""

    name: ClassVar[str] = "noise2self"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy"})
    Options: ClassVar[type] = Noise2SelfOptions
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: 1/16 of the pixels carry loss at every step already, so the
        # default grid is kept; small batches for many steps.
        "cpu": {**DEFAULT_PRESETS["cpu"], "data.batch_size": 16, "train.lr": 1e-3},
        # Settings matched to the other blind-spot methods' BSD68 runs (the
        # Noise2Self paper reports no BSD68 training): patch 64, batch 64, lr 4e-4.
        "paper": {"data.patch_size": 64, "data.batch_size": 64, "train.lr": 4e-4},
    }

    def mask_batch(self, z: Tensor, *, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """Grid-masked input and mask for a normalised batch (one random grid phase per image).

        Parameters
        ----------
        z : Tensor
            (B, C, h, w) in normalised units (not modified).
        rng : torch.Generator
            Source of randomness.

        Returns
        -------
        (Tensor, Tensor)
            Network input and bool mask (B, C, h, w), True at the masked pixels.
        """
        w = self.options.width
        g = numpy_rng(rng)
        b, c, h, wd = z.shape
        mask = torch.zeros(z.shape, dtype=torch.bool, device=z.device)
        for i, k in enumerate(g.integers(0, w * w, size=b)):
            coords = masking.grid_coords((c, h, wd), width=w, phase=masking.grid_phase(int(k), w))
            mask[(torch.full((len(coords[0]),), i, dtype=torch.long, device=z.device), *index(coords, z.device))] = True
        fill = donut_fill(z) if self.options.mode == "interpolate" else torch.zeros_like(z)
        return torch.where(mask, fill, z), mask

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": mean error at the masked pixels}`` in normalised units."""
        self.check_batch(batch)
        z = model.normalize(batch.noisy)
        x, mask = self.mask_batch(z, rng=rng)
        diff = model.net(x)[mask] - z[mask]
        err = diff.square() if self.options.loss == "l2" else diff.abs()
        return {"model": err.mean()}
