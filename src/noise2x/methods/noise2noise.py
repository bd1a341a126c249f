"""Noise2Noise (Lehtinen et al. 2018): the target is an independent noisy copy.

The loss fits the statistic of the noise that the estimate should recover:
L2 (mean) for zero-mean noise such as Gaussian and Poisson, L1 (median) for
noise with a median at the clean value (text overlays, as in the paper, and
salt-and-pepper or pixel dropout (bernoulli) hitting under half the pixels,
whose mean is not the clean value: dropout's is (1 - p) times it), and the
paper's annealed L0 (mode) for random-valued impulse noise:
``(|f(x) - y| + eps) ** gamma`` with ``gamma`` annealed linearly from 2 to 0
over training (``progress``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..errors import UsageError
from .base import Method

LOSSES = ("auto", "l2", "l1", "l0")
#: The loss "auto" picks for a training noise (others: "l2"), following the paper.
AUTO_LOSS = {"text": "l1", "impulse": "l0", "salt_pepper": "l1", "bernoulli": "l1"}


@dataclasses.dataclass
class Noise2NoiseOptions:
    """Options of :class:`Noise2Noise`.

    Attributes
    ----------
    loss : {"auto", "l2", "l1", "l0"}
        L2 for Gaussian/Poisson, L1 for text overlays, salt-and-pepper and
        pixel dropout (bernoulli), the annealed L0 for random-valued impulse
        noise. "auto" picks by the training noise (``--add-noise``); L2 when
        the noise is not known.
    l0_eps : float
        The epsilon of the L0 loss (1e-8 in the paper).
    gamma_start, gamma_end : float
        The L0 exponent is annealed linearly from ``gamma_start`` to ``gamma_end``.
    swap : bool
        Randomly swap input and target per sample (both are equally noisy).
    """

    loss: str = "auto"
    l0_eps: float = 1e-8
    gamma_start: float = 2.0
    gamma_end: float = 0.0
    swap: bool = True

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise UsageError(f"method.loss={self.loss!r} is not valid for noise2noise; valid: {', '.join(LOSSES)}")
        if self.l0_eps <= 0:
            raise UsageError("method.l0_eps must be > 0")


class Noise2Noise(Method):
    """Train on pairs of independent noisy observations of the same content."""

    name: ClassVar[str] = "noise2noise"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy", "noisy2"})
    Options: ClassVar[type] = Noise2NoiseOptions
    option_values: ClassVar[dict[str, str]] = {
        "loss": "auto (from the training noise: l0 impulse, l1 text and salt-and-pepper, else l2), l2, l1, l0"}

    def training_note(self, noise: Any) -> str | None:
        """With real pairs (no noise spec) ``loss=auto`` is L2, unsaid before (a paired-data QA pass)."""
        if self.options.loss != "auto" or noise is not None:
            return None
        return ("noise2noise trains with the L2 loss (the noise is not given: it learns the mean of the targets); "
                "for impulse noise --set method.loss=l0, for text or salt-and-pepper noise method.loss=l1, as the "
                "Noise2Noise paper")

    def with_noise(self, noise) -> "Noise2Noise":
        """Resolve ``loss="auto"`` from the training noise (see ``AUTO_LOSS``)."""
        if self.options.loss != "auto":
            return self
        name = getattr(noise, "name", None)
        if isinstance(noise, str):
            from ..noise import parse_noise

            noise = parse_noise(noise)
            name = noise.name
        if name == "bernoulli":  # dropout of half the pixels or more: the target's median and mode are 0
            p = (getattr(noise, "params", None) or {}).get("p", 0.0)
            top = max(p) if isinstance(p, (tuple, list)) else float(p)
            if top >= 0.5:
                raise UsageError(f"noise2noise cannot learn pixel dropout of p={top:g}: with half the pixels or "
                                 f"more dropped, the mean, median and mode of a noisy target are all off the clean "
                                 f"value (0 for most pixels), and L1 learned a black image; use p < 0.5, or "
                                 f"method.loss=l2, whose result is (1 - p) times the image")
        return Noise2Noise(dataclasses.replace(self.options, loss=AUTO_LOSS.get(name, "l2")))

    @property
    def validation_progress(self) -> float:  # type: ignore[override]
        """Where the L0 loss's exponent is 1: the L1 error, which ranks a denoiser of impulse noise right (at its
        end, near 0, every error weighs about 1; at its start, 2, the squared error ranked a mean-like output above
        the clean image on impulse noise, a QA re-check). Other losses do not depend on progress."""
        o = self.options
        if o.gamma_end == o.gamma_start:
            return 0.0
        return min(max((1.0 - o.gamma_start) / (o.gamma_end - o.gamma_start), 0.0), 1.0)

    def gamma(self, progress: float) -> float:
        """The L0 exponent at ``progress`` in [0, 1]."""
        p = min(max(float(progress), 0.0), 1.0)
        o = self.options
        return o.gamma_start + (o.gamma_end - o.gamma_start) * p

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": error between net(noisy) and noisy2}``, in normalised units."""
        self.check_batch(batch)
        src, tgt = batch.noisy, batch.noisy2
        if self.options.swap:
            flip = torch.rand(src.shape[0], 1, 1, 1, generator=rng, device=rng.device) < 0.5
            flip = flip.to(src.device)
            src, tgt = torch.where(flip, tgt, src), torch.where(flip, src, tgt)
        diff = model.net(model.normalize(src)) - model.normalize(tgt)
        kind = self.options.loss
        if kind in ("l2", "auto"):
            err = diff.square()
        elif kind == "l1":
            err = diff.abs()
        else:
            err = (diff.abs() + self.options.l0_eps).pow(self.gamma(progress))
        return {"model": err.mean()}
