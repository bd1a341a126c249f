"""Noise2SamePro: Noise2Same whose lambda is estimated from the residual at the end of training.

Noise2Same's weight ``lambda = 2 sigma`` needs the noise level. Noise2SamePro
(the reference implementation LessThread/Noise2SamePro) replaces it by
``2 * sqrt(rec)``, the root of the reconstruction MSE, i.e. sigma estimated from
the residual ``f(x) - x``:

    rec + 2 * sqrt(rec) * sqrt(inv + eps)

Gradients flow through both factors as in the reference; ``detach_sigma``
stops them through ``sqrt(rec)``. Training is plain Noise2Same (weight
``lam``) for the first ``T - a`` steps and Noise2SamePro for the last ``a``
(``pro_fraction = a / T``, 1/16 by default, as the reference's 7500 + 500 of
8000) within one run: the switch happens when ``progress >= 1 - pro_fraction``
and the optimiser and learning-rate schedule simply continue.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..errors import UsageError
from .base import DEFAULT_PRESETS
from .noise2same import PAPER, Noise2Same, Noise2SameOptions


@dataclasses.dataclass
class Noise2SameProOptions(Noise2SameOptions):
    """Options of :class:`Noise2SamePro`: those of Noise2Same plus

    Attributes
    ----------
    pro_fraction : float
        Fraction ``a / T`` of the budget trained with the Pro loss, at the end (1/16).
    detach_sigma : bool
        Stop gradients through the ``sqrt(rec)`` factor.
    """

    pro_fraction: float = 1.0 / 16.0
    detach_sigma: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.pro_fraction <= 1.0:
            raise UsageError(f"method.pro_fraction must be in [0, 1], got {self.pro_fraction}")


class Noise2SamePro(Noise2Same):
    """Noise2Same, then Noise2SamePro for the last ``pro_fraction`` of the budget."""

    name: ClassVar[str] = "noise2same_pro"
    Options: ClassVar[type] = Noise2SameProOptions
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: as Noise2Same (two forward passes per step: batches of 8; lambda 0.95 before the switch;
        # 2 % of the pixels masked, donut replacement)
        "cpu": {**DEFAULT_PRESETS["cpu"], "data.batch_size": 8, "train.lr": 1e-3, "method.lam": 0.95,
                "method.percent": 2.0, "method.masking": "donut"},
        # the reference trains Noise2Same with lambda = 2 (sigma 1) before switching
        "paper": {**PAPER, "method.lam": 2.0, "method.masking": "gaussian"},
    }

    def is_pro(self, progress: float) -> bool:
        """Whether the Pro loss is used at ``progress`` (fraction of the budget used)."""
        return float(progress) >= 1.0 - self.options.pro_fraction

    def combine(self, rec: Tensor, inv: Tensor, *, progress: float) -> Tensor:
        """Noise2Same's loss before the switch, ``rec + 2 sqrt(rec) sqrt(inv + eps)`` after it."""
        if not self.is_pro(progress):
            return super().combine(rec, inv, progress=progress)
        sigma = torch.sqrt(rec + self.options.eps)
        if self.options.detach_sigma:
            sigma = sigma.detach()
        return rec + 2.0 * sigma * torch.sqrt(inv + self.options.eps)
