"""Networks and the scaling wrapper; ``ARCHITECTURES`` maps names to classes."""

from __future__ import annotations

import contextlib
import inspect
import threading
from typing import Any, Iterator

import torch
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


#: held while a network is built from torch's global RNG (:func:`global_rng`)
_GLOBAL_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def global_rng(seed: int | None = None) -> Iterator[None]:
    """Torch's global RNG for building a network (its layers' default initialisation draws from it), seeded with
    ``seed`` (None: as it is), the caller's state restored after; held by one thread of the process at a time:
    two trainings with their seeds in two threads drew their initial weights from each other's seeding (in 6 of
    16 runs of a concurrency QA pass), and a model loaded beside them restored a state under them."""
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def _arch_class(arch: str) -> type:
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise UsageError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHITECTURES)}") from None


__all__ = ["ARCHITECTURES", "BlindSpotNet", "CAREUNet", "DnCNN", "GANPair", "ScaledModel", "WGANPair", "UNet",
           "arch_parameters", "build_model", "global_rng"]
