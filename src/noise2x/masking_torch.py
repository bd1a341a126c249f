"""Thin torch helpers that apply the coordinates sampled by :mod:`noise2x.masking` to tensors.

The sampling itself stays in numpy (:mod:`noise2x.masking`); these helpers
turn a ``torch.Generator`` into a numpy generator, coordinates into tensor
indices, and implement the two local filters the methods need on (B, C, H, W)
tensors (the donut average and Neighbor2Neighbor's sub-image gather).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import masking

__all__ = ["numpy_rng", "index", "donut_fill", "subimage"]


def numpy_rng(rng: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from ``rng`` (advances ``rng``; same ``rng`` state, same stream).

    Parameters
    ----------
    rng : torch.Generator
        The method's only source of randomness.

    Returns
    -------
    numpy.random.Generator
    """
    seed = torch.randint(0, 2**62, (1,), generator=rng, device=rng.device)
    return np.random.default_rng(int(seed.item()))


def index(coords: tuple[np.ndarray, ...], device: torch.device | str) -> tuple[Tensor, ...]:
    """numpy coordinates -> a tuple of int64 tensors on ``device`` usable for advanced indexing."""
    return tuple(torch.as_tensor(np.ascontiguousarray(c), dtype=torch.long, device=device) for c in coords)


def donut_fill(z: Tensor) -> Tensor:
    """Each pixel replaced by the 3x3 donut average of its neighbours (centre weight 0), per channel.

    At the image border the weights of the missing neighbours are dropped and
    the rest renormalised (the reference code pads with zeros instead, which
    pulls border values towards zero).

    Parameters
    ----------
    z : Tensor
        (B, C, H, W).

    Returns
    -------
    Tensor
        (B, C, H, W); ``z`` itself is not modified.
    """
    c = z.shape[1]
    k = torch.as_tensor(masking.donut_kernel(), dtype=z.dtype, device=z.device)
    weight = k.expand(c, 1, 3, 3)
    num = F.conv2d(F.pad(z, (1, 1, 1, 1)), weight, groups=c)
    ones = torch.ones((1, 1, *z.shape[-2:]), dtype=z.dtype, device=z.device)
    den = F.conv2d(F.pad(ones, (1, 1, 1, 1)), k.view(1, 1, 3, 3))
    return num / den


def subimage(z: Tensor, position: Tensor) -> Tensor:
    """Gather one pixel per 2x2 cell: the half-resolution sub-image of Neighbor2Neighbor.

    Parameters
    ----------
    z : Tensor
        (B, C, H, W) with even H and W.
    position : Tensor
        (B, H // 2, W // 2) int64 in {0, 1, 2, 3}: which pixel of each cell
        (row ``k // 2``, column ``k % 2``); the same pixel is taken in every channel.

    Returns
    -------
    Tensor
        (B, C, H // 2, W // 2).
    """
    b, c, h, w = z.shape
    if h % 2 or w % 2:
        raise ValueError("sub-sampling needs even height and width")
    cells = z.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(b, c, h // 2, w // 2, 4)
    idx = position.to(z.device)[:, None, :, :, None].expand(b, c, h // 2, w // 2, 1)
    return torch.gather(cells, 4, idx).squeeze(4)
