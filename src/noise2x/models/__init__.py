"""Networks and the scaling wrapper; ``ARCHITECTURES`` maps names to classes."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from ..errors import UsageError
from .blindspot import BlindSpotNet
from .care_unet import CAREUNet
from .dncnn import DnCNN
from .gan import GANPair, WGANPair
from .scaled import ScaledModel
from .unet import UNet

ARCHITECTURES = {"unet": UNet, "dncnn": DnCNN, "gan": GANPair, "wgan": WGANPair, "blindspot": BlindSpotNet,
                 "care_unet": CAREUNet}


def arch_parameters(arch: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of architecture ``arch`` (name -> Parameter)."""
    cls = _arch_class(arch)
    params = dict(inspect.signature(cls.__init__).parameters)
    params.pop("self", None)
    return {k: p for k, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def build_model(arch: str, **args: Any) -> nn.Module:
    """Build the bare network ``arch`` with keyword arguments ``args``.

    Raises
    ------
    UsageError
        Unknown architecture or argument (the message lists the valid ones).
    """
    cls = _arch_class(arch)
    valid = arch_parameters(arch)
    unknown = sorted(set(args) - set(valid))
    if unknown:
        raise UsageError(f"unknown argument(s) {', '.join(unknown)} for architecture {arch!r}; "
                         f"valid: {', '.join(valid)}")
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid arguments for architecture {arch!r}: {exc}") from None


def _arch_class(arch: str) -> type:
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise UsageError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHITECTURES)}") from None


__all__ = ["ARCHITECTURES", "BlindSpotNet", "CAREUNet", "DnCNN", "GANPair", "ScaledModel", "WGANPair", "UNet",
           "arch_parameters", "build_model"]
