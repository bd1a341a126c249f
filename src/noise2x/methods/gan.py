"""Adversarial denoising (ImageDenoisingGAN, and a WGAN variant): supervised, noisy -> clean.

A generator ``G`` (the denoiser) and a discriminator ``D`` (architectures
``gan`` and ``wgan`` of :mod:`noise2x.models.gan`) train against each other on
(noisy, clean) pairs. Each step returns two losses, in this order (the trainer
takes both gradients from one forward pass, then steps one optimiser per key,
the critic first: the generator's adversarial gradient is taken against the
critic before this step's update, where the reference re-evaluates it after the
critic's step, a method review found; simultaneous updates, one forward pass
instead of two):

* ``"critic"`` (``D``'s parameters): ``gan``: binary cross-entropy of D's patch
  logits, clean images real and ``G(noisy)`` fake; ``wgan``:
  ``mean D(fake) - mean D(real)`` (the Wasserstein critic), with D's weights
  clipped to ``[-clip, clip]`` after each of its steps.
* ``"model"`` (``G``'s parameters)::

      adversarial_weight * adv  +  pixel_weight * mean((G(x) - clean)^2)
      + feature_weight * mean((VGG(G(x)) - VGG(clean))^2)
      + smoothness_weight * (mean(dx G(x)^2) + mean(dy G(x)^2))

  with ``adv = -log sigmoid(D(G(x)))`` averaged over the patch map (``gan``,
  the non-saturating form) or ``-mean D(G(x))`` (``wgan``); ``VGG`` is VGG16 up
  to relu2_2 on the image in [0, 1] (8-bit units / 255; other units by their
  peak, :func:`vgg_peak`), ImageNet-normalised,
  gray repeated to three channels (:func:`noise2x.models.gan.load_vgg_features`;
  give torchvision's ``vgg16`` weight file with ``--set method.vgg_weights=PATH``);
  ``dx``, ``dy`` are differences of neighbouring pixels. The four terms are
  also logged (``log/adversarial``, ``log/pixel``, ``log/feature``,
  ``log/smoothness``: the run's ``log.csv`` columns ``loss_*``).

Weights: 0.5, 1, 1 and ``w_s`` = 0.0001 (the write-up's value; presets "cpu"
and "paper") or 1.0 (the reference code's; preset "code"). With
``reduction="sum"`` (the default, as the reference code) the pixel and
smoothness means above are multiplied by half their number of values
(``tf.nn.l2_loss``: half the sum of squares over the batch) and the feature
mean by its number of values over the layer's 128 channels (the reference's
``get_style_loss``: the sum of squares divided by the channel count), while the
adversarial term stays a mean over the patch map: the adversarial term then
guides the generator without dominating it, and the balance depends on the
batch and patch size, as in the reference. ``reduction="mean"`` keeps every
term a mean; measured on the CPU preset, the adversarial term then dominates:
held-out PSNR peaked at 25.8 dB after 500 steps and fell to 21 dB once the
discriminator won (BENCHMARKS.md). The logged terms are always means.

``n_critic > 1`` makes ``n_critic - 1`` critic-only steps before each step that
updates both (a trainer step is one batch: ``--steps`` counts critic steps
too). The "wgan" preset follows iteapoy/GANDenoising: a DnCNN generator, the
critic, RMSProp (lr 2e-4, decay 0.9, a constant rate), clipping at 0.01, 5
critic steps per generator step; its content loss here is the pixel L2 (the
reference uses -PSNR - 0.1 SSIM), its critic signs are the usual ones (the
reference's critic loss has the sign of the generator's), it has no 25-critic-step
warm-up, and each round updates the generator once (the reference: twice). The
wgan preset keeps the published sizes; on a CPU, the cpu preset with
``method.adversarial=wgan`` (and the other settings of the wgan preset) uses a
10-layer, 48-channel DnCNN.

Options default to the bare adversarial + pixel + smoothness loss
(``feature_weight=0``, so that the method runs without the VGG file); the
training presets cpu, paper and code set ``feature_weight=1``: without
``vgg_weights`` such a run stops at its first step with a message saying what
to give (or ``--set method.feature_weight=0``).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UsageError
from .base import DEFAULT_PRESETS, LOG_PREFIX, Method, check_preset

ADVERSARIAL = ("gan", "wgan")
OPTIMIZERS = ("adam", "rmsprop")

#: Network sizes per preset size (see :mod:`noise2x.models.gan`). The CPU generator keeps
#: the published layers and widths but makes the 2nd and 3rd encoder convolutions stride 2
#: (``down=2``): the residual blocks run on a quarter of the pixels, ~0.2 instead of ~2
#: MFLOP per pixel (the full-resolution generator made only ~180 steps in 4 CPU-minutes);
#: the discriminator is halved in width (24) so that its three passes per step stay a
#: small part of it.
GAN_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 8, "res_blocks": 1, "down": 2, "d_width": 8},
    "cpu": {"width": 32, "res_blocks": 3, "down": 2, "d_width": 24},
    "paper": {"width": 32, "res_blocks": 3, "down": 1, "d_width": 48},
}
WGAN_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"depth": 3, "width": 8, "critic_width": 8},
    "cpu": {"depth": 10, "width": 48, "critic_width": 32},
    "paper": {"depth": 17, "width": 64, "critic_width": 64},
}
#: The size behind each of this method's own presets.
PRESET_SIZE = {"code": "paper", "wgan": "paper"}


@dataclasses.dataclass
class GANOptions:
    """Options of :class:`GAN` (``--set method.KEY=VALUE``).

    Attributes
    ----------
    adversarial : {"gan", "wgan"}
        Cross-entropy discriminator or Wasserstein critic (and its architecture).
    adversarial_weight, pixel_weight, feature_weight, smoothness_weight : float
        Weights of the generator's loss terms (0.5, 1, 0 here -- the cpu, paper
        and code presets set 1 --, 0.0001).
    vgg_weights : str
        Path of torchvision's VGG16 state dict (``vgg16-397923af.pth``), needed
        when ``feature_weight > 0``.
    n_critic : int
        Critic steps per generator step (1; 5 in the wgan preset).
    clip : float
        Clip the critic's weights to [-clip, clip] after its steps (0: off; 0.01 for wgan).
    optimizer : {"adam", "rmsprop"}
        Of both networks (Adam with the ``train.*`` betas, or RMSProp as for WGAN).
    reduction : {"sum", "mean"}
        How the pixel, feature and smoothness terms enter the generator's loss:
        "sum" (default), as the reference code (``tf.nn.l2_loss``: half the sum
        of squares over the batch; the feature term's sum over the layer's
        channels), against an adversarial term averaged over
        the patch map, so the adversarial term guides rather than dominates;
        "mean": every term a mean (the weights then compare per-pixel means:
        the adversarial term dominates, and on a CPU budget the discriminator
        wins and the output degrades, see BENCHMARKS.md).
    """

    adversarial: str = "gan"
    adversarial_weight: float = 0.5
    pixel_weight: float = 1.0
    feature_weight: float = 0.0
    smoothness_weight: float = 1e-4
    vgg_weights: str = ""
    n_critic: int = 1
    clip: float = 0.0
    optimizer: str = "adam"
    reduction: str = "sum"

    def __post_init__(self) -> None:
        if self.adversarial not in ADVERSARIAL:
            raise UsageError(f"method.adversarial={self.adversarial!r} is not valid; valid: {', '.join(ADVERSARIAL)}")
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"method.optimizer={self.optimizer!r} is not valid; valid: {', '.join(OPTIMIZERS)}")
        for name in ("adversarial_weight", "pixel_weight", "feature_weight", "smoothness_weight", "clip"):
            if not getattr(self, name) >= 0:
                raise UsageError(f"method.{name} must be >= 0, got {getattr(self, name)}")
        if self.reduction not in ("sum", "mean"):
            raise UsageError(f"method.reduction={self.reduction!r} is not valid; valid: sum, mean")
        if self.n_critic < 1:
            raise UsageError(f"method.n_critic must be >= 1, got {self.n_critic}")


#: The published networks on 16 patches of 128x128 (the references use 5 images of 256x256),
#: Adam 5e-4: the reference code's 0.002 first wrecked the output of this generator (held-out
#: PSNR 12 dB after 10 steps, 22 dB after 40; 5e-4: 22 and 25 dB; CPU, batch 8 of 64x64).
_PAPER = {"data.patch_size": 128, "data.batch_size": 16, "train.lr": 5e-4, "method.feature_weight": 1.0}


def vgg_peak(model: Any) -> float:
    """What the images are divided by for VGG16, which takes [0, 1]: the peak of the training data's units as the
    model's normalisation reads them (``mean + 3 std`` at most 1.5: [0, 1] data; at most 1.5 x 255: 8-bit), else
    that upper value itself (16-bit data, counts): 16-bit images divided by 255 gave VGG values up to 257 (a
    method review)."""
    top = float((model.mean + 3 * model.std).max())
    return 1.0 if top <= 1.5 else 255.0 if top <= 1.5 * 255 else top


class GAN(Method):
    """Supervised adversarial denoising: a generator against a patch discriminator (or a WGAN critic)."""

    name: ClassVar[str] = "gan"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy", "clean"})
    Options: ClassVar[type] = GANOptions
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: the strided generator (GAN_SIZES), batch 8 of 64x64, Adam 1e-3.
        "cpu": {**DEFAULT_PRESETS["cpu"], "data.batch_size": 8, "train.lr": 1e-3, "method.feature_weight": 1.0},
        # The write-up: full-resolution generator, w_s = 0.0001.
        "paper": dict(_PAPER),
        # The reference code: as "paper" with w_s = 1, and its optimiser: TensorFlow's Adam defaults (beta2 0.999)
        # at a constant rate (the trainer's default beta2 is 0.99 and its rate ramps down: a method review).
        "code": {**_PAPER, "method.smoothness_weight": 1.0, "train.beta2": 0.999, "train.schedule": "constant"},
        # iteapoy/GANDenoising: DnCNN generator, critic, RMSProp 2e-4 (TensorFlow's decay 0.9) at a constant rate
        # (as the WGAN paper's Algorithm 1; it ramped down here, a GAN QA pass), clipping 0.01, 5 critic steps.
        "wgan": {"data.patch_size": 128, "data.batch_size": 16, "train.lr": 2e-4, "train.schedule": "constant",
                 "method.adversarial": "wgan", "method.optimizer": "rmsprop", "method.n_critic": 5, "method.clip": 0.01,
                 "method.feature_weight": 0.0, "method.smoothness_weight": 0.0, "method.reduction": "mean"},
    }

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        # a cache of the fixed VGG16 weights (read once, one copy per device and dtype)
        self._vgg_source: torch.nn.Module | None = None
        self._vgg: dict[tuple[str, torch.dtype], torch.nn.Module] = {}

    # -- architecture -------------------------------------------------------------
    def default_model(self, *, channels: int, preset: str) -> tuple[str, dict[str, Any]]:
        """``("gan", args)`` or, with ``adversarial="wgan"``, ``("wgan", args)`` sized by the preset."""
        size = check_preset(PRESET_SIZE.get(preset, preset))
        arch, sizes = ("wgan", WGAN_SIZES) if self.options.adversarial == "wgan" else ("gan", GAN_SIZES)
        return arch, {"in_channels": channels, **sizes[size]}

    @staticmethod
    def _pair(model) -> tuple[torch.nn.Module, torch.nn.Module]:
        net = model.net
        g, d = getattr(net, "generator", None), getattr(net, "discriminator", None)
        if not isinstance(g, torch.nn.Module) or not isinstance(d, torch.nn.Module):
            raise UsageError(f"method gan needs a generator/discriminator architecture (model.arch=gan or wgan), "
                             f"got {getattr(model, 'arch', type(net).__name__)!r}")
        return g, d

    def parameters_for(self, key: str, model) -> Iterable[torch.nn.Parameter]:
        """The discriminator's parameters for "critic", the generator's for "model"."""
        g, d = self._pair(model)
        if key == "critic":
            return list(d.parameters())
        if key == "model":
            return list(g.parameters())
        raise UsageError(f"method gan has no loss {key!r}")

    # -- training hooks -----------------------------------------------------------
    def make_optimizer(self, key: str, params: list[torch.nn.Parameter], *, lr: float,
                       betas: tuple[float, float], weight_decay: float) -> torch.optim.Optimizer:
        """Adam (``train.*`` betas) or RMSProp, as ``method.optimizer`` says, for both networks."""
        if self.options.optimizer == "rmsprop":  # (TensorFlow's RMSProp decay, 0.9, the reference's; PyTorch's 0.99)
            return torch.optim.RMSprop(params, lr=lr, alpha=0.9, weight_decay=weight_decay)
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)

    def after_step(self, key: str, model) -> None:
        """Clip the critic's weights to [-clip, clip] after its step (when ``clip > 0``)."""
        if key == "critic" and self.options.clip > 0:
            _, d = self._pair(model)
            with torch.no_grad():
                for p in d.parameters():
                    p.clamp_(-self.options.clip, self.options.clip)

    def generator_step(self, step: int) -> bool:
        """Whether training step ``step`` (0-based) also updates the generator (every ``n_critic``-th)."""
        n = self.options.n_critic
        return step % n == n - 1

    def step_losses(self, model, batch, *, rng: torch.Generator, progress: float, step: int) -> dict[str, Tensor]:
        """Both losses on generator steps; only ``{"critic": ...}`` on critic-only steps."""
        if self.generator_step(step):
            return self.loss(model, batch, rng=rng, progress=progress)
        self.check_batch(batch)
        g, d = self._pair(model)
        with torch.no_grad():
            fake = g(model.normalize(batch.noisy))
        return {"critic": self.critic_loss(d, model.normalize(batch.clean), fake)}

    # -- losses -------------------------------------------------------------------
    def critic_loss(self, d: torch.nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """The discriminator's loss on normalised clean images ``real`` and generated ``fake`` (detached here)."""
        real_score, fake_score = d(real), d(fake.detach())
        if self.options.adversarial == "wgan":
            return fake_score.mean() - real_score.mean()
        return (F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score))
                + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score)))

    def adversarial_term(self, d: torch.nn.Module, fake: Tensor) -> Tensor:
        """The generator's adversarial loss: ``-log sigmoid(D(fake))`` (gan) or ``-D(fake)`` (wgan), averaged."""
        score = d(fake)
        if self.options.adversarial == "wgan":
            return -score.mean()
        return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))

    @staticmethod
    def smoothness_term(x: Tensor) -> Tensor:
        """Mean squared difference of horizontal neighbours plus that of vertical neighbours."""
        terms = []
        if x.shape[-1] > 1:
            terms.append((x[..., :, 1:] - x[..., :, :-1]).square().mean())
        if x.shape[-2] > 1:
            terms.append((x[..., 1:, :] - x[..., :-1, :]).square().mean())
        return sum(terms, x.new_zeros(()))

    def vgg(self, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
        """The VGG16 feature module on ``device`` (read once from ``vgg_weights``)."""
        key = (str(device), dtype)
        if key not in self._vgg:
            if self._vgg_source is None:
                if not self.options.vgg_weights:
                    raise UsageError(
                        f"the gan feature loss (method.feature_weight={self.options.feature_weight:g}) needs VGG16 "
                        "weights: give torchvision's vgg16 weight file with --set method.vgg_weights=PATH "
                        "(e.g. vgg16-397923af.pth), or set method.feature_weight=0")
                from ..models.gan import load_vgg_features

                self._vgg_source = load_vgg_features(self.options.vgg_weights)
            self._vgg[key] = copy.deepcopy(self._vgg_source).to(device=device, dtype=dtype)
        return self._vgg[key]

    def files_read(self) -> dict[str, str]:
        """``{"vgg_weights": SHA-256}`` once the VGG16 weights were read."""
        sha = getattr(self._vgg_source, "source_sha256", None)
        return {"vgg_weights": sha} if sha else {}

    def feature_term(self, model, pred: Tensor, clean: Tensor) -> Tensor:
        """Mean squared difference of the VGG16 relu2_2 features of ``pred`` and ``clean`` (image units)."""
        return self._feature_diff(model, pred, clean).square().mean()

    def _feature_diff(self, model, pred: Tensor, clean: Tensor) -> Tensor:
        vgg = self.vgg(pred.device, pred.dtype)
        peak = vgg_peak(model)
        with torch.no_grad():
            target = vgg(clean / peak)
        return vgg(pred / peak) - target

    def terms(self, model, batch) -> dict[str, Tensor]:
        """The critic loss and the generator's four (unweighted) terms for one batch.

        Returns
        -------
        dict
            ``critic``, ``adversarial``, ``pixel``, ``feature`` (only when
            ``feature_weight > 0``), ``smoothness``.
        """
        return self._terms_and_sizes(model, batch)[0]

    def _terms_and_sizes(self, model, batch) -> tuple[dict[str, Tensor], dict[str, int]]:
        """:meth:`terms` and the factor that turns each mean of the pixel, feature and smoothness terms into the
        reference's sum (``reduction="sum"``)."""
        self.check_batch(batch)
        g, d = self._pair(model)
        z, clean = model.normalize(batch.noisy), model.normalize(batch.clean)
        fake = g(z)
        out = {"critic": self.critic_loss(d, clean, fake),
               "adversarial": self.adversarial_term(d, fake),
               "pixel": (fake - clean).square().mean()}
        # what each mean is multiplied by under reduction "sum", as the reference's terms are: tf.nn.l2_loss
        # (half the sum of squares) for the pixel and smoothness terms; its get_style_loss, the sum of squares
        # over the layer's channels (128), for the feature term (a method review found it taken as half the sum:
        # 64 times the reference's weight)
        sizes = {"pixel": fake.numel() / 2, "smoothness": fake.numel() / 2}
        if self.options.feature_weight > 0:
            diff = self._feature_diff(model, model.denormalize(fake), batch.clean)
            out["feature"] = diff.square().mean()
            sizes["feature"] = diff.numel() / diff.shape[1]
        out["smoothness"] = self.smoothness_term(fake)
        return out, sizes

    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"critic": D loss, "model": weighted G loss, "log/<term>": each term}`` (normalised units)."""
        t, sizes = self._terms_and_sizes(model, batch)
        o = self.options
        weights = {"adversarial": o.adversarial_weight, "pixel": o.pixel_weight, "feature": o.feature_weight,
                   "smoothness": o.smoothness_weight}
        if o.reduction == "sum":  # the reference's sums (l2_loss: half the sum of squares; the feature term's: over C)
            weights = {k: (w * sizes[k] if k in sizes else w) for k, w in weights.items()}
        total = sum((weights[k] * v for k, v in t.items() if k != "critic"), t["pixel"].new_zeros(()))
        out = {"critic": t["critic"], "model": total}
        out.update({LOG_PREFIX + k: v for k, v in t.items() if k != "critic"})
        return out

