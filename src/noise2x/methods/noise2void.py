"""Noise2Void (Krull et al. 2019), with the N2V2 (Höck et al. 2022) and structN2V options.

In each training patch a few pixels (``percent`` of them, one per box of side
``round(sqrt(100 / percent))``: stratified sampling) are replaced, and the
network is trained to predict their ORIGINAL noisy values from the rest: it
cannot learn the identity, and as the noise is pixel-wise independent its
best guess is the clean value. The loss counts the masked pixels only.

Replacement (``replacement``):

* ``uniform`` -- a neighbour drawn uniformly from the ``(2r+1)^2`` window,
  never the pixel itself (``radius`` r = 2 in the BSD68 reproduction, 5 by default);
* ``median`` -- the median of that window without the centre (N2V2).

N2V2 (``n2v2=True``) also changes the network: max-blur-pooling instead of
max-pooling and no skip connection from the input to the last decoder level;
together they remove N2V's checkerboard artefacts. structN2V (``struct``, e.g.
``horizontal:2`` for noise correlated along rows) hides the pixels of a
structuring mask centred on each blind spot too (they get uniform random
values in [-2, 2] of the normalised units, as in the reference code, and are
never used as a replacement).

Colour images: every channel of every patch gets its own blind spots (the
reference code's ``single_net_per_channel=False`` mode); at a blind spot the
network still sees the pixel's other channels, which is right when the noise
is independent across channels (synthetic noise) and leaks it when it is not
(demosaicked camera noise: prefer the grayscale channel or structN2V there).

Inference is a plain forward pass on the unmasked image.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .. import masking
from ..errors import UsageError
from ..masking_torch import index, numpy_rng
from ..patches import d4
from .base import DEFAULT_PRESETS, Method, default_unet

REPLACEMENTS = ("uniform", "median")
LOSSES = ("l2", "l1")


@dataclasses.dataclass
class Noise2VoidOptions:
    """Options of :class:`Noise2Void` (``--set method.KEY=VALUE``).

    Attributes
    ----------
    percent : float
        Percentage of pixels masked per patch and channel (1.5 by default as in
        the reference code; 0.198 in its BSD68 reproduction), as the reference
        takes it: one blind spot per box of side ``round(sqrt(100 / percent))``
        (20 and 40 both mask 25%; above 44, every pixel: a run refuses it).
    radius : int
        Radius of the replacement window (5 by default; 2 for BSD68).
    replacement : {"uniform", "median"}
        Random neighbour (N2V) or window median (N2V2), centre excluded in both.
    loss : {"l2", "l1"}
        Squared (default) or absolute error on the masked pixels.
    n2v2 : bool
        N2V2: median replacement, blur-pool downsampling, no top-level skip.
    struct : str
        structN2V mask: ``""`` (none), ``horizontal:R``, ``vertical:R`` or a
        nested 0/1 list such as ``[[0,1,1,1,0]]``. With a mask, ``data.augment``
        and ``--tta`` use only the transforms that keep it (flips and the half
        turn for a row or a column), so the noise keeps its axis.
    spare_blind_spots : bool
        Never refill a blind spot from another blind spot of the patch (nor take one into N2V2's median): the
        reference code may, and then the other blind spot's target lies in the window.
    """

    percent: float = 1.5
    radius: int = 5
    replacement: str = "uniform"
    loss: str = "l2"
    n2v2: bool = False
    struct: str = ""
    spare_blind_spots: bool = False

    def __post_init__(self) -> None:
        masking.box_size(self.percent)  # validates the percentage (one masking every pixel: refused by training,
        # config.resolve_model; a model file trained so still loads)
        if int(self.radius) != self.radius or self.radius < 1:
            raise UsageError(f"method.radius must be an integer >= 1, got {self.radius}")
        self.radius = int(self.radius)
        if self.n2v2 and self.replacement == "uniform":
            self.replacement = "median"
        if self.replacement not in REPLACEMENTS:
            raise UsageError(f"method.replacement={self.replacement!r} is not valid; valid: {', '.join(REPLACEMENTS)}")
        if self.loss not in LOSSES:
            raise UsageError(f"method.loss={self.loss!r} is not valid for noise2void; valid: {', '.join(LOSSES)}")
        mask = masking.struct_mask_from_spec(self.struct)
        if mask is not None:
            masking.window_offsets(self.radius, struct_mask=mask)  # the window must keep a candidate


#: The share (percent) of a training patch's pixels that blind spots and their structN2V masks may replace in a
#: preset (:meth:`Noise2Void.tune_preset`). In 150-step runs on line-correlated noise (an SEM user's QA pass, one
#: seed) a 9-pixel row mask gave 28.1, 27.9, 25.5 and 19.5 dB at 6%, 13%, 25% and 46% of the input replaced; a
#: 3-pixel mask 21.7 dB at 19%, 21.0 at 6%.
STRUCT_REPLACED = 12.5


class Noise2Void(Method):
    """Blind-spot training by pixel replacement (Noise2Void / N2V2 / structN2V)."""

    option_values: ClassVar[dict[str, str]] = {
        "struct": "horizontal:R (noise correlated along rows: R pixels hidden on each side of a blind spot, 2R+1 in "
                  "all; CAREamics' struct_n2v_span=S is R=(S-1)/2), vertical:R, or a 0/1 list such as [[0,1,1,1,0]]",
        "replacement": ", ".join(REPLACEMENTS), "loss": "l2, l1"}

    name: ClassVar[str] = "noise2void"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy"})
    Options: ClassVar[type] = Noise2VoidOptions
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: one blind spot per 4x4 box (6.25 %, 256 per 64x64 patch instead of
        # 61 at 1.5 % or 8 at 0.198 %): the forward and backward passes cost the
        # same whatever the count, so more blind spots give more loss terms per
        # second, the deciding factor when only a few hundred steps fit in the
        # budget (Noise2Self masks the same 1/16 and learned faster in our 2-minute
        # runs); the short window (r=2) of the BSD68 setting; batch 16, lr 1e-3.
        "cpu": {**DEFAULT_PRESETS["cpu"], "data.batch_size": 16, "train.lr": 1e-3,
                "method.percent": 6.25, "method.radius": 2},
        # The reference BSD68 reproduction: CSBDeep's U-Net (depth 2, 96 first features, batch norm, residual
        # output: default_model), patch 64, batch 128, Adam lr 4e-4,
        # 0.198 % blind spots, 5x5 window, L2; its budget is 200 epochs x 400
        # steps (give --steps 80000) and it halves the lr on validation plateaus
        # (here: the trainer's schedule; --set train.schedule=plateau halves it on plateaus too, its patience
        # counted in validation checks, every train.val_every steps, not in epochs).
        "paper": {"data.patch_size": 64, "data.batch_size": 128, "train.lr": 4e-4,
                  "method.percent": 0.198, "method.radius": 2, "method.loss": "l2"},
    }

    @classmethod
    def tune_preset(cls, values: dict[str, Any], options: Any, preset: str, *,
                    given: set[str]) -> tuple[dict[str, Any], str | None]:
        """A structN2V mask replaces its pixels beside each blind spot too: about ``percent`` times the mask's pixels
        of the input are replaced. A preset's blind spots are thinned to keep that share at :data:`STRUCT_REPLACED`
        percent (the ``cpu`` preset's 6.25% with ``horizontal:4`` replaced 46%, and its model lost 8 dB to one of
        1.5%, in an SEM user's QA pass)."""
        struct = getattr(options, "struct", None)
        mask = masking.struct_mask_from_spec(struct)
        percent = values.get("method.percent")
        if mask is None or percent is None or "percent" in given:
            return values, None
        centre = mask[mask.shape[0] // 2, mask.shape[1] // 2]
        hidden, percent = int(mask.sum()) + int(centre == 0), float(percent)  # (the blind spot and its mask's)
        if percent * hidden <= STRUCT_REPLACED:
            return values, None
        thinned = float(f"{STRUCT_REPLACED / hidden:.3g}")
        note = (f"the {preset} preset's method.percent {percent:g} lowered to {thinned:g} with the structN2V mask "
                f"{struct} ({hidden} pixels replaced for each blind spot: at most "
                f"{STRUCT_REPLACED:g}% of the input; --set method.percent=P chooses)")
        return {**values, "method.percent": thinned}, note

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.struct_mask = masking.struct_mask_from_spec(self.options.struct)

    @property
    def symmetries(self) -> tuple[int, ...]:
        """With a structN2V mask, only the transforms that leave the mask as it is (for a row or a column: the
        flips and the half turn): a quarter turn would run the noise along the other axis, past the mask (half the
        patches of the default augmentation did, a QA pass)."""
        mask = self.struct_mask
        if mask is None:
            return tuple(range(8))
        return tuple(k for k in range(8) if np.array_equal(d4(mask, k), mask))

    def default_model(self, *, channels: int, preset: str) -> tuple[str, dict[str, Any]]:
        """The U-Net of the preset; with ``n2v2`` blur-pooling and no top-level skip."""
        if self.options.n2v2:
            return default_unet(channels=channels, preset=preset, blurpool=True, top_skip=False)
        if preset == "paper":  # the reference BSD68 reproduction's network: CSBDeep's U-Net (see its module)
            return "care_unet", {"in_channels": channels, "out_channels": channels, "width": 96, "depth": 2,
                                 "convs": 2, "batchnorm": True, "residual": True}
        return default_unet(channels=channels, preset=preset)

    def mask_batch(self, z: Tensor, *, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """Blind-spot input and mask for a normalised batch.

        Parameters
        ----------
        z : Tensor
            (B, C, h, w) in normalised units (not modified).
        rng : torch.Generator
            Source of randomness.

        Returns
        -------
        (Tensor, Tensor)
            The network input (blind spots and structN2V pixels replaced) and
            a bool mask, True at the blind spots (where the loss is taken).
        """
        o = self.options
        g = numpy_rng(rng)
        shape = tuple(z.shape)
        coords = masking.stratified_coords(shape, percent=o.percent, rng=g)
        at = index(coords, z.device)
        if o.replacement == "uniform":
            src = masking.neighbour_coords(coords, shape=shape, radius=o.radius, rng=g, struct_mask=self.struct_mask,
                                           spare_blind_spots=o.spare_blind_spots)
            values = z.detach()[index(src, z.device)]
        else:
            med = masking.median_values(z.detach().cpu().numpy(), coords, radius=o.radius,
                                        struct_mask=self.struct_mask, spare_blind_spots=o.spare_blind_spots)
            values = torch.as_tensor(med, dtype=z.dtype, device=z.device)
        x = z.detach().clone()
        x[at] = values
        if self.struct_mask is not None:
            hidden = masking.struct_coords(coords, shape=shape, struct_mask=self.struct_mask)
            n = len(hidden[0])
            if n:
                noise = torch.rand(n, generator=rng, device=rng.device).to(device=z.device, dtype=z.dtype)
                x[index(hidden, z.device)] = noise * 4.0 - 2.0
        mask = torch.zeros(shape, dtype=torch.bool, device=z.device)
        mask[at] = True
        return x, mask

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": mean error at the blind spots}`` in normalised units."""
        self.check_batch(batch)
        z = model.normalize(batch.noisy)
        x, mask = self.mask_batch(z, rng=rng)
        diff = model.net(x)[mask] - z[mask]
        err = diff.square() if self.options.loss == "l2" else diff.abs()
        return {"model": err.mean()}
