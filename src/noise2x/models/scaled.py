"""The scaling wrapper that keeps normalisation inside the model.

Everything outside a model speaks the image's own units (8-bit images: 0..255).
:class:`ScaledModel` maps image units to normalised units with per-channel
``mean``/``std`` buffers, runs the bare network ``net`` there and maps back.
Losses are computed in normalised units (``model.normalize`` + ``model.net``)
so method hyper-parameters do not depend on the image range.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn


class ScaledModel(nn.Module):
    """A network wrapped with per-channel normalisation.

    Parameters
    ----------
    net : nn.Module
        The bare network, working on normalised (B, C, H, W) tensors.
    arch : str
        Architecture name (a key of ``noise2x.models.ARCHITECTURES``).
    arch_args : dict
        The keyword arguments ``net`` was built with (JSON-serialisable).
    mean, std : sequence of float
        Per-channel statistics of the (noisy) training data, in image units.
        Their length is the number of image channels.

    Attributes
    ----------
    net, arch, arch_args, in_channels
        As given; ``in_channels == len(mean)``.
    """

    def __init__(self, net: nn.Module, *, arch: str, arch_args: dict[str, Any],
                 mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        mean_t = torch.as_tensor(list(mean), dtype=torch.float32).reshape(1, -1, 1, 1)
        std_t = torch.as_tensor(list(std), dtype=torch.float32).reshape(1, -1, 1, 1)
        if mean_t.shape != std_t.shape:
            raise ValueError("mean and std must have one value per channel")
        if not torch.all(std_t > 0):
            raise ValueError("std must be positive")
        self.net = net
        self.arch = str(arch)
        self.arch_args = dict(arch_args)
        self.in_channels = int(mean_t.shape[1])
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def normalize(self, x: Tensor) -> Tensor:
        """Image units -> normalised units: ``(x - mean) / std`` per channel."""
        return (x - self.mean) / self.std

    def denormalize(self, z: Tensor) -> Tensor:
        """Normalised units -> image units: ``z * std + mean`` per channel."""
        return z * self.std + self.mean

    def forward(self, x: Tensor) -> Tensor:
        """Denoise ``x`` (B, C, H, W) in image units; the result is in image units."""
        return self.denormalize(self.net(self.normalize(x)))

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}, in_channels={self.in_channels}"
