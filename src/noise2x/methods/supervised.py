"""The supervised baseline (Noise2Clean / Noise2True): the target is the clean image."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import UsageError
from .base import Method

LOSSES = ("l2", "l1")


@dataclasses.dataclass
class SupervisedOptions:
    """Options of :class:`Supervised`.

    Attributes
    ----------
    loss : {"l2", "l1"}
        Mean squared or mean absolute error against the clean target.
    """

    loss: str = "l2"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise UsageError(f"method.loss={self.loss!r} is not valid for supervised; valid: {', '.join(LOSSES)}")


class Supervised(Method):
    """Train on (noisy, clean) pairs; the upper bound the self-supervised methods aim at."""

    name: ClassVar[str] = "supervised"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy", "clean"})
    Options: ClassVar[type] = SupervisedOptions

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": mean error between net(noisy) and clean}``, in normalised units."""
        self.check_batch(batch)
        pred = model.net(model.normalize(batch.noisy))
        diff = pred - model.normalize(batch.clean)
        err = diff.square() if self.options.loss == "l2" else diff.abs()
        return {"model": err.mean()}
