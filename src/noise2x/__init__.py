"""noise2x: learn image denoisers from noisy images alone.

The top-level names are loaded lazily so that ``import noise2x`` (and the
numpy-only modules ``io``, ``noise``, ``estimate``, ``metrics``, ``tiling``,
``patches``, ``masking``) never import torch.

>>> import noise2x
>>> clean = noise2x.read_image("photo.png")            # doctest: +SKIP
>>> noisy = noise2x.noise.gaussian(clean, sigma=25, rng=0)   # doctest: +SKIP
>>> out = noise2x.denoise(noisy, method="bm3d")          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # the lazy names below, as type checkers and editors see them (never imported at run time here)
    from . import api, benchmark, classical, errors, estimate, io, metrics, noise
    from .api import available_methods as methods, bench, denoise, load_model, train
    from .io import list_images, read_image, read_stack, read_stack_with_alpha, write_image
    from .metrics import psnr, ssim

_LAZY = {
    "read_image": ("noise2x.io", "read_image"),
    "read_stack": ("noise2x.io", "read_stack"),
    "read_stack_with_alpha": ("noise2x.io", "read_stack_with_alpha"),
    "write_image": ("noise2x.io", "write_image"),
    "list_images": ("noise2x.io", "list_images"),
    "psnr": ("noise2x.metrics", "psnr"),
    "ssim": ("noise2x.metrics", "ssim"),
    "denoise": ("noise2x.api", "denoise"),
    "train": ("noise2x.api", "train"),
    "load_model": ("noise2x.api", "load_model"),
    "bench": ("noise2x.api", "bench"),
    "methods": ("noise2x.api", "available_methods"),
}
_SUBMODULES = {"io", "noise", "estimate", "metrics", "classical", "benchmark", "api", "errors"}

__all__ = ["__version__", "api", "bench", "benchmark", "classical", "denoise", "errors", "estimate", "io",
           "list_images", "load_model", "methods", "metrics", "noise", "psnr", "read_image", "read_stack",
           "read_stack_with_alpha", "ssim", "train", "write_image"]  # (_LAZY's and _SUBMODULES' names: a test)

from .config import guard_fork as _guard_fork  # noqa: E402

_guard_fork()  # (a fork-started worker runs torch on one thread: more hang; see config.FORKED)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"noise2x.{name}")
    raise AttributeError(f"module 'noise2x' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
