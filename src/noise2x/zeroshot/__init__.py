"""Zero-shot denoisers: each trains a fresh network on the one image it denoises.

Each is a direct method ``fn(noisy, *, noise=None, rng=None, progress=None,
info=None, **options) -> ndarray`` like the classical ones, with a
``preset="auto"|"cpu"|"paper"|"code"`` option (``auto``: ZS-N2N's ``gpu``
preset on a CUDA GPU, else ``cpu``) and a ``device`` option:

* ``mash``: Masked and Shuffled blind-spot denoising (Chihaoui & Favaro, CVPR
  2024), for real, spatially correlated noise;
* ``zs_n2n``: Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023), for
  pixel-wise independent noise.
"""

from __future__ import annotations

from .mash import mash
from .zs_n2n import zs_n2n

ZERO_SHOT = {"mash": mash, "zs_n2n": zs_n2n}

__all__ = ["ZERO_SHOT", "mash", "zs_n2n"]
