"""The blind-spot method of Laine et al. 2019 with Bayesian posterior-mean denoising.

"High-Quality Self-Supervised Deep Image Denoising" (Laine, Karras, Lehtinen,
Aila, NeurIPS 2019; reference code NVlabs/selfsupervised-denoising).

The network (:class:`noise2x.models.blindspot.BlindSpotNet`) predicts, for
every pixel and without seeing it, a Gaussian prior of the clean value:
mean ``mu`` and covariance ``Sigma_x`` (gray: a variance; RGB: a 3x3 matrix
``A A^T`` from an upper-triangular factor). With the noise model the noisy
pixel ``y`` is then ``N(mu, Sigma_x + Sigma_n)`` and the loss is its negative
log-likelihood per pixel,

    0.5 * (y - mu)^T (Sigma_x + Sigma_n)^-1 (y - mu) + 0.5 * log det(Sigma_x + Sigma_n),

computed through an explicit, element-wise Cholesky factor (float64, no
matrix inverse or determinant), averaged over the pixels. Every pixel of
every patch contributes (no masking). Denoising returns the posterior mean

    E[x | y] = mu + Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu)

(``posterior_mean=false`` returns ``mu``, the blind-spot estimate alone).

Noise models (``noise_model``):

* ``gaussian``: white Gaussian noise of known ``sigma`` (image units);
  ``gaussian_learned``: one sigma learned with the network;
  ``gaussian_per_image``: sigma estimated per image by a small auxiliary U-Net;
* ``poisson``: Poisson noise of known ``peak`` (``y = R * Poisson(peak x / R) / peak``,
  ``R = data_range``), approximated as Gaussian with variance ``R mu / peak``
  as in the paper; ``poisson_learned``: the factor ``R / peak`` is learned;
  ``poisson_per_image``: estimated per image, as sigma is;
* ``impulse``: each value replaced with probability ``alpha`` by a uniform
  value in ``[0, R]`` (per channel, as :func:`noise2x.noise.impulse` does; with
  ``whole_pixels``, from ``impulse:p=P,whole=1``, each pixel by a random colour,
  as the paper's noise); the loss matches the mean and covariance of that
  mixture, and the posterior mean is the exact mixture over which channels were
  replaced;
  ``impulse_learned``: alpha is learned (one for all images);
* ``speckle``: multiplicative speckle of known ``looks`` L (:func:`noise2x.noise.speckle`),
  approximated as Gaussian with variance ``mu^2 / L``, as the paper approximates
  Poisson noise; ``speckle_learned``: ``1 / L`` is learned (on a 4-look test image
  it ends near 4 looks with the regulariser below and without it, and near 3.5 at
  eight times its strength, which gives the noise more of the variance:
  ``test_learned_looks_converge``);
* ``auto``: resolved from the training noise by :meth:`BlindSpot.with_noise`
  (``--add-noise``): gaussian with a fixed sigma -> ``gaussian``, a sigma range
  -> ``gaussian_per_image``, poisson -> ``poisson`` (a range of peaks:
  ``poisson_per_image``, as the reference code's blind Poisson runs), impulse ->
  ``impulse`` (a range: ``impulse_learned``),
  speckle -> ``speckle`` (a range of looks: ``speckle_learned``);
  real noisy data (no spec) and other noises -> ``gaussian_learned``.

A learned level starts at ``noise_init`` (the reference code starts near zero:
``softplus(v - 4) + 1e-3`` of the raw value ``v``) and the loss subtracts the
reference code's small regulariser on the mean noise standard deviation, which
makes the noise, rather than the prior, take the variance the two could share,
at the reference code's strength (:meth:`BlindSpot.reg_weight`).

Units: the loss works in the model's normalised units (``(y - mean) / std``
per channel); sigma, peak and the uniform impulse range are given in image
units and converted with the model's ``std``. The reference code works in
[0, 1] units and weighs the std by ``reg`` = 0.1 against twice the negative
log-likelihood on gray images (once on colour ones): here ``reg * STD_SHARE / 2``
(gray) per normalised unit, the same strength for images whose std is a quarter
of their range. Until the weight was taken so, ``reg`` itself weighed the
normalised std, eight times the reference's on gray images: the learned sigma
came out 8 % high on BSD68 at sigma 25 (27.11), and 3.6 % (25.91) at the
reference's strength, 0.18 dB higher (BENCHMARKS.md, "The learned noise level's
regulariser").
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UsageError
from .base import DEFAULT_PRESETS, Method, check_preset

NOISE_MODELS = ("auto", "gaussian", "gaussian_learned", "gaussian_per_image", "poisson", "poisson_learned",
                "poisson_per_image", "impulse", "impulse_learned", "speckle", "speckle_learned")
#: Levels read per image by an auxiliary network (the reference code's ``noise_params='per_image'``). Not impulse
#: noise: a per-image alpha ran to its bound 0.999 within a few steps of a test run and stayed there (at alpha 1
#: the loss no longer depends on the prior mean, which then cannot learn), where the one global alpha, moving
#: slowly, left it; the reference code trains its blind impulse runs per image, for 1M+ steps.
PER_IMAGE = ("gaussian_per_image", "poisson_per_image")
LEARNED = ("gaussian_learned", "poisson_learned", "impulse_learned", "speckle_learned") + PER_IMAGE


def _family(noise_model: str) -> str:
    """``"poisson"`` of ``"poisson_per_image"``: the noise a model name is of."""
    return noise_model.split("_")[0]

#: Network arguments per preset. "cpu" narrows the full-resolution decoder and the
#: 1x1 head, which dominate the cost (see models/blindspot.py); "paper" is the paper's network.
NET_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"width": 8, "dec_width": 8, "depth": 2, "head_width": 16},
    "cpu": {"width": 32, "dec_width": 32, "depth": 3, "head_width": 64},
    "paper": {"width": 48, "depth": 5},
}

#: Variance floor (normalised units) of the noise and of the prior in the impulse model.
_EPS = 1e-6

#: The spread of natural images in [0, 1] units, about a quarter of their range (train400's std is 63 of 255):
#: what turns the reference code's regulariser weight, on a std in [0, 1] units, into one on the normalised std
STD_SHARE = 0.25


@dataclasses.dataclass
class BlindSpotOptions:
    """Options of :class:`BlindSpot` (``--set method.KEY=VALUE``).

    Attributes
    ----------
    noise_model : str
        One of ``NOISE_MODELS`` (see the module docstring); "auto" is resolved
        from the training noise.
    sigma : float
        Gaussian noise std in image units for ``noise_model=gaussian`` (0: taken
        from the noise spec: ``--add-noise`` when training, ``--noise`` when denoising).
    peak : float
        Poisson peak for ``noise_model=poisson`` (0: from the noise spec).
    alpha : float
        Impulse probability for ``noise_model=impulse`` (0: from the noise spec's ``p``).
    looks : float
        Number of looks for ``noise_model=speckle`` (0: from the noise spec).
    data_range : float
        Image range R of the Poisson and impulse models (255 for 8-bit images).
    posterior_mean : bool
        Denoise with the posterior mean (true) or return the prior mean ``mu``.
    reg : float
        Weight of the regulariser on a learned noise level, as the reference code gives it (0.1;
        :meth:`BlindSpot.reg_weight`).
    noise_gain : float
        Multiplier of the learned noise parameter in new networks (a higher
        effective learning rate for it; stored with the network).
    noise_init : float
        Initial learned Gaussian sigma (and Poisson factor R / peak) in units of
        the data's std: 1 (all the variance is noise) makes the level converge
        from above, which is fast; the reference code starts near zero (about
        0.02), from where only the regulariser lifts it, slowly. A learned
        impulse alpha starts at 0.02 as in the reference code.
    whole_pixels : bool
        Impulse noise replaces whole pixels (all channels at once: the
        Noise2Noise paper's and Laine et al.'s colour impulse noise,
        ``impulse:p=P,whole=1``) rather than each channel on its own; set from
        the noise spec.
    """

    noise_model: str = "auto"
    sigma: float = 0.0
    peak: float = 0.0
    alpha: float = 0.0
    looks: float = 0.0
    data_range: float = 255.0
    posterior_mean: bool = True
    reg: float = 0.1
    noise_gain: float = 10.0
    noise_init: float = 1.0
    whole_pixels: bool = False

    def __post_init__(self) -> None:
        if self.noise_model not in NOISE_MODELS:
            raise UsageError(f"method.noise_model={self.noise_model!r} is not valid; valid: {', '.join(NOISE_MODELS)}")
        for key in ("sigma", "peak", "alpha", "looks", "reg"):
            if not getattr(self, key) >= 0:
                raise UsageError(f"method.{key} must be >= 0, got {getattr(self, key)}")
        if not self.alpha < 1:
            raise UsageError(f"method.alpha is a probability in [0, 1), got {self.alpha}")
        if not self.data_range > 0 or not self.noise_gain > 0 or not self.noise_init > 1e-3:
            raise UsageError("method.data_range and method.noise_gain must be > 0, method.noise_init > 0.001")


# -- small-matrix algebra, element-wise over pixels ------------------------------------
# A C x C matrix field is a nested list M[i][j] of tensors that broadcast together
# (e.g. (B, H, W) or (B, 1, 1)); C is 1 or 3 in practice, so the loops are tiny.

Matrix = list  # list[list[Tensor]]


def factor_to_covariance(factor: Tensor, channels: int) -> Matrix:
    """``Sigma = A A^T`` from the upper-triangular factor entries (B, C(C+1)/2, H, W), row-major."""
    a: list[list[Any]] = [[None] * channels for _ in range(channels)]
    k = 0
    for i in range(channels):
        for j in range(i, channels):
            a[i][j] = factor[:, k]
            k += 1
    cov: list[list[Any]] = [[None] * channels for _ in range(channels)]
    for i in range(channels):
        for j in range(i, channels):
            cov[i][j] = cov[j][i] = sum(a[i][m] * a[j][m] for m in range(j, channels))
    return cov


def cholesky(cov: Matrix) -> Matrix:
    """Lower-triangular ``L`` with ``L L^T = cov`` (``cov`` symmetric positive definite), element-wise."""
    c = len(cov)
    low: list[list[Any]] = [[None] * c for _ in range(c)]
    for j in range(c):
        d = cov[j][j] - sum(low[j][k] ** 2 for k in range(j))
        low[j][j] = torch.sqrt(torch.clamp(d, min=1e-12))
        for i in range(j + 1, c):
            low[i][j] = (cov[i][j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    return low


def _solve_lower(low: Matrix, b: list[Tensor]) -> list[Tensor]:
    u: list[Tensor] = []
    for i in range(len(b)):
        u.append((b[i] - sum(low[i][k] * u[k] for k in range(i))) / low[i][i])
    return u


def _solve_upper_t(low: Matrix, u: list[Tensor]) -> list[Tensor]:
    """Solve ``L^T w = u``."""
    c = len(u)
    w: list[Any] = [None] * c
    for i in reversed(range(c)):
        w[i] = (u[i] - sum(low[k][i] * w[k] for k in range(i + 1, c))) / low[i][i]
    return w


def gaussian_nll(diff: list[Tensor], cov: Matrix) -> Tensor:
    """``0.5 d^T cov^-1 d + 0.5 log det cov`` per pixel (no 2 pi constant), through the Cholesky factor."""
    low = cholesky(cov)
    u = _solve_lower(low, diff)
    return 0.5 * sum(v * v for v in u) + sum(torch.log(low[i][i]) for i in range(len(diff)))


def _add_diag(cov: Matrix, diag: list[Tensor]) -> Matrix:
    c = len(cov)
    return [[cov[i][j] + diag[i] if i == j else cov[i][j] for j in range(c)] for i in range(c)]


def posterior_mean(noisy: list[Tensor], mu: list[Tensor], cov_x: Matrix, noise_var: list[Tensor]) -> list[Tensor]:
    """``mu + Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu)`` with a diagonal ``Sigma_n`` (per-channel variances)."""
    c = len(mu)
    diff = [noisy[i] - mu[i] for i in range(c)]
    low = cholesky(_add_diag(cov_x, noise_var))
    w = _solve_upper_t(low, _solve_lower(low, diff))
    return [mu[i] + sum(cov_x[i][j] * w[j] for j in range(c)) for i in range(c)]


def impulse_moments(mu: list[Tensor], cov_x: Matrix, alpha: Tensor, u_mean: list[Any],
                    u_var: list[Any], *, whole: bool = False) -> tuple[list[Tensor], Matrix]:
    """Mean and covariance of ``y`` when each channel of ``x ~ N(mu, Sigma_x)`` is replaced with probability
    ``alpha`` (independently) by a uniform value of mean ``u_mean`` and variance ``u_var``; ``whole``: each pixel,
    all its channels at once (the uniform values still independent across channels).

    ``E y = alpha u + (1 - alpha) mu``; ``Cov y = (1 - alpha)^2 Sigma_x`` off the diagonal and
    ``(1 - alpha) Sigma_x,cc + alpha u_var + alpha (1 - alpha) (u_mean - mu_c)^2`` on it; ``whole``:
    ``(1 - alpha) Sigma_x + alpha diag(u_var) + alpha (1 - alpha) (u_mean - mu)(u_mean - mu)^T``.
    """
    c = len(mu)
    mean = [alpha * u_mean[i] + (1 - alpha) * mu[i] for i in range(c)]
    cov: list[list[Any]] = [[None] * c for _ in range(c)]
    for i in range(c):
        for j in range(c):
            if i == j:
                cov[i][i] = ((1 - alpha) * cov_x[i][i] + alpha * u_var[i]
                             + alpha * (1 - alpha) * (u_mean[i] - mu[i]) ** 2)
            elif whole:
                cov[i][j] = (1 - alpha) * cov_x[i][j] + alpha * (1 - alpha) * (u_mean[i] - mu[i]) * (u_mean[j] - mu[j])
            else:
                cov[i][j] = (1 - alpha) ** 2 * cov_x[i][j]
    return mean, cov


def impulse_posterior_mean(noisy: list[Tensor], mu: list[Tensor], cov_x: Matrix, alpha: Tensor,
                           u_density: list[Any], *, eps: float = 1e-5, whole: bool = False) -> list[Tensor]:
    """Exact posterior mean of ``x`` under per-channel impulse noise with a Gaussian prior.

    A mixture over the ``2^C`` sets S of replaced channels: the clean channels K
    keep their observed values, the replaced ones get the prior's conditional
    mean given K; the weights are ``alpha^|S| (1-alpha)^|K| prod_S u_density
    N(y_K; mu_K, Sigma_x,KK + eps I)``. ``whole``: whole pixels replaced, two
    sets only (none, where the estimate is ``y``, and all, where it is ``mu``),
    weighted ``1 - alpha`` and ``alpha`` (Laine et al.'s impulse posterior).
    """
    c = len(mu)
    log_w, means = [], []
    for mask in ((0, 2 ** c - 1) if whole else range(2 ** c)):
        s = [i for i in range(c) if mask >> i & 1]
        k = [i for i in range(c) if not mask >> i & 1]
        if whole:  # (all or none replaced)
            lw = torch.log(alpha) if s else torch.log1p(-alpha)
        else:
            lw = len(s) * torch.log(alpha) + len(k) * torch.log1p(-alpha)
        for i in s:
            lw = lw + torch.log(torch.as_tensor(u_density[i], dtype=alpha.dtype, device=alpha.device))
        est = list(noisy)
        if k:
            sub = [[cov_x[i][j] + (eps if i == j else 0.0) for j in k] for i in k]
            low = cholesky(sub)
            diff = [noisy[i] - mu[i] for i in k]
            u = _solve_lower(low, diff)
            lw = lw - 0.5 * sum(v * v for v in u) - sum(torch.log(low[i][i]) for i in range(len(k))) \
                - 0.5 * len(k) * math.log(2 * math.pi)
            w = _solve_upper_t(low, u)
            for i in s:
                est[i] = mu[i] + sum(cov_x[i][kk] * w[n] for n, kk in enumerate(k))
        else:
            est = list(mu)
        log_w.append(lw)
        means.append(est)
    shape = torch.broadcast_shapes(*(t.shape for t in log_w), noisy[0].shape)
    weights = torch.softmax(torch.stack([t.expand(shape) for t in log_w]), dim=0)
    return [sum(weights[m] * means[m][i] for m in range(len(means))) for i in range(c)]


def _softplus_inv(y: float) -> float:
    """``x`` with ``softplus(x) = y`` (y > 0)."""
    return y + math.log(-math.expm1(-y))


def _channels(t: Tensor) -> list[Tensor]:
    return [t[:, i] for i in range(t.shape[1])]


class BlindSpot(Method):
    """Laine et al.'s blind-spot network trained by the noisy-pixel likelihood; posterior-mean inference."""

    name: ClassVar[str] = "blindspot"
    requires: ClassVar[frozenset[str]] = frozenset({"noisy"})
    Options: ClassVar[type] = BlindSpotOptions
    option_values: ClassVar[dict[str, str]] = {
        "noise_model": ", ".join(NOISE_MODELS) + " (auto: from --add-noise; on noisy data alone gaussian_learned; "
                       "a known level with method.sigma, method.peak, method.alpha or method.looks)"}
    # the posterior mean assumes each pixel's known (or learned) noise model: colour planes go channel by channel
    mixes_channels: ClassVar[bool] = False
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": dict(DEFAULT_PRESETS["tiny"]),
        # CPU: narrow full-resolution layers (NET_PRESETS), channels-last, small batches of
        # 64x64 patches (every pixel carries the loss), a high learning rate for short budgets.
        "cpu": {"data.patch_size": 64, "data.batch_size": 8, "train.lr": 1e-3, "train.val_every": 250,
                "train.channels_last": True},
        # the paper: batch 4 of 256x256, Adam 3e-4 (betas 0.9, 0.99), ramp-up over the first 10 %
        # and the Noise2Noise ramp-down over the last 30 %; its budget is 500k steps (--steps 500000). Two
        # differences from its code: the ramp-up is linear (there 0.5 - cos(pi t) / 2), and a level read per
        # image comes from a small U-Net (width 16, depth 2; there the full non-blind network)
        "paper": {"data.patch_size": 256, "data.batch_size": 4, "train.lr": 3e-4, "train.schedule": "rampdown",
                  "train.rampdown": 0.3, "train.warmup": 0.1, "train.beta2": 0.99, "train.val_every": 1000},
    }

    # -- configuration ------------------------------------------------------------
    def resolved_noise_model(self) -> str:
        """The noise model used: ``noise_model``, with an unresolved "auto" taken as ``gaussian_learned``."""
        nm = self.options.noise_model
        return "gaussian_learned" if nm == "auto" else nm

    def with_noise(self, noise: Any) -> "BlindSpot":
        """Resolve ``noise_model="auto"`` and take the known level from the noise spec.

        ``noise`` is the training noise (``--add-noise``) or, when denoising, the
        declared input noise (``--noise``): a spec string, a NoiseSpec, or None
        for real noisy data. A fixed level in the spec replaces ``sigma`` /
        ``peak`` / ``alpha`` of the matching known model; learned models stay learned.
        """
        from ..noise import parse_noise

        o = self.options
        spec = None if noise is None else parse_noise(noise)
        nm = o.noise_model
        changes: dict[str, Any] = {}
        if spec is None:
            if nm == "auto":
                changes["noise_model"] = "gaussian_learned"
            return self._replace(changes)
        family = spec.name
        sigma = spec.gaussian_sigma
        if nm == "auto":
            if family == "gaussian" and sigma is None:
                nm = "gaussian_per_image"
            elif sigma is not None:
                nm = "gaussian"
            elif family == "poisson":
                nm = "poisson" if not isinstance(spec.params.get("peak"), tuple) else "poisson_per_image"
            elif family == "impulse":
                nm = "impulse" if not isinstance(spec.params.get("p"), tuple) else "impulse_learned"
            elif family == "speckle":
                nm = "speckle" if not isinstance(spec.params.get("looks"), tuple) else "speckle_learned"
            else:
                nm = "gaussian_learned"
            changes["noise_model"] = nm
        if nm == "gaussian" and sigma is not None:
            changes["sigma"] = sigma
        elif nm == "poisson" and family == "poisson" and not isinstance(spec.params.get("peak"), tuple):
            changes["peak"] = float(spec.params["peak"])
        elif nm == "impulse" and family == "impulse" and not isinstance(spec.params.get("p"), tuple):
            changes["alpha"] = float(spec.params["p"])
        elif nm == "speckle" and family == "speckle" and not isinstance(spec.params.get("looks"), tuple):
            changes["looks"] = float(spec.params["looks"])
        if _family(nm) == "impulse" and family == "impulse":  # (whole pixels or channel by channel, as the spec)
            changes["whole_pixels"] = bool(spec.params.get("whole", 0.0))
        if _family(nm) in ("poisson", "impulse") and "data_range" in spec.params:
            changes["data_range"] = float(spec.params["data_range"])
        return self._replace(changes)

    def _replace(self, changes: dict[str, Any]) -> "BlindSpot":
        return self if not changes else type(self)(dataclasses.replace(self.options, **changes))

    def default_model(self, *, channels: int, preset: str) -> tuple[str, dict[str, Any]]:
        """``("blindspot", args)``: the preset's widths, plus the learned noise parameter the noise model needs."""
        args: dict[str, Any] = {"in_channels": channels}
        args.update(NET_PRESETS[check_preset(preset)])
        nm = self.resolved_noise_model()
        args["noise_params"] = "per_image" if nm in PER_IMAGE else ("global" if nm in LEARNED else "none")
        if args["noise_params"] != "none":
            args["noise_gain"] = self.options.noise_gain
        return "blindspot", args

    # -- the model's outputs ----------------------------------------------------------
    #: The raw learned level of the image whose tiles are denoised (see :meth:`for_tiles`); None: each input's own
    _image_level: float | None = None

    def for_tiles(self, model, whole: Callable[[Any], Any]) -> "BlindSpot":
        """The method for the tiles of one image. A noise level learned per image (:data:`PER_IMAGE`) is read
        once on the whole image, as without tiles: the mean over the image of the level network's output, which
        ``whole(module)`` gives tile by tile (an array of the image's shape); every tile then uses it. Each tile
        read its own level: the posterior mean's strength changed from tile to tile (a tiling QA pass). Other
        noise models: this method itself."""
        if self.resolved_noise_model() not in PER_IMAGE or not self.options.posterior_mean:
            return self
        net = self._net(model)
        level = whole(_LevelMap(model, net))
        tiles = copy.copy(self)
        tiles._image_level = float(net.noise_gain) * float(level.mean())
        return tiles

    def _net(self, model):
        from ..models.blindspot import BlindSpotNet

        if not isinstance(model.net, BlindSpotNet):
            raise UsageError(f"method blindspot needs the blindspot architecture, got {model.arch!r} "
                             f"(drop model.arch or set model.arch=blindspot)")
        return model.net

    def _dtype(self, t: Tensor) -> torch.dtype:
        return torch.float32 if t.device.type == "mps" else torch.float64

    def noise_level(self, model, z: Tensor, mu: Tensor) -> dict[str, Tensor]:
        """The noise parameters for normalised input ``z`` and prior mean ``mu`` (both (B, C, H, W)).

        Returns a dict with ``"var"``: per-channel noise variances in normalised
        units, each broadcastable to (B, H, W) (Gaussian, Poisson); or
        ``"alpha"`` (B, 1, 1) (impulse). ``"std"`` is the noise std to regularise
        (learned levels only) and ``"value"`` the level in the spec's terms
        (sigma in image units, peak, alpha, looks), (B,) for reporting.
        """
        nm = self.resolved_noise_model()
        o = self.options
        std = model.std.to(mu.dtype).reshape(-1)
        mean = model.mean.to(mu.dtype).reshape(-1)
        c = mu.shape[1]
        out: dict[str, Tensor] = {}
        if nm in LEARNED:
            net = self._net(model)
            if net.noise_params == "none":
                raise UsageError(f"method.noise_model={nm} needs a network that learned the noise level; this one "
                                 f"was trained with a known level (use noise_model=gaussian, poisson, impulse or "
                                 f"speckle with its level)")
            if self._image_level is None:
                raw = net.noise_estimate(z.to(model.mean.dtype)).to(mu.dtype).reshape(-1, 1, 1)  # (B, 1, 1), 0 at start
            else:  # (an image's tiles: its level read on the whole image, see for_tiles)
                raw = torch.full((mu.shape[0], 1, 1), self._image_level, dtype=mu.dtype, device=mu.device)
            offset = -4.0 if _family(nm) == "impulse" else _softplus_inv(o.noise_init - 1e-3)
            learned = F.softplus(raw + offset) + 1e-3
        if _family(nm) == "gaussian":
            if nm == "gaussian":
                if not o.sigma > 0:
                    raise UsageError("method.noise_model=gaussian needs the noise level: train with --add-noise "
                                     "gaussian:sigma=S, denoise with --noise gaussian:sigma=S, or --set method.sigma=S")
                sigma = torch.full((mu.shape[0], 1, 1), float(o.sigma), dtype=mu.dtype, device=mu.device)
            else:
                sigma = learned * std.mean()  # image units, one level for all channels
            s = [torch.clamp(sigma / std[i], min=math.sqrt(_EPS)) for i in range(c)]
            out["var"] = [v * v for v in s]
            out["std"] = sum(s) / c
            out["value"] = sigma.reshape(-1)
        elif _family(nm) == "poisson":
            if nm == "poisson":
                if not o.peak > 0:
                    raise UsageError("method.noise_model=poisson needs the peak: train with --add-noise "
                                     "poisson:peak=P, denoise with --noise poisson:peak=P, or --set method.peak=P")
                k = torch.full((mu.shape[0], 1, 1), o.data_range / o.peak, dtype=mu.dtype, device=mu.device)
            else:
                k = learned * std.mean()  # variance per unit intensity, image units (R / peak)
            x = [torch.clamp(mu[:, i] * std[i] + mean[i], min=1e-3 * o.data_range) for i in range(c)]
            out["var"] = [torch.clamp(x[i] * k / std[i] ** 2, min=_EPS) for i in range(c)]
            out["std"] = sum(torch.sqrt(v) for v in out["var"]) / c
            out["value"] = o.data_range / k.reshape(-1)
        elif _family(nm) == "speckle":
            if nm == "speckle":
                if not o.looks > 0:
                    raise UsageError("method.noise_model=speckle needs the looks: train with --add-noise "
                                     "speckle:looks=L, denoise with --noise speckle:looks=L, or --set method.looks=L")
                v = torch.full((mu.shape[0], 1, 1), 1.0 / o.looks, dtype=mu.dtype, device=mu.device)
            else:
                v = learned  # the relative variance 1 / looks
            # the Gamma speckle's variance x^2 / L at the prior mean x, x held above a thousandth of the channel's
            # mean intensity (a bound in no units: speckle multiplies)
            x = [torch.maximum(mu[:, i] * std[i] + mean[i], 1e-3 * mean[i].abs() + 1e-12) for i in range(c)]
            out["var"] = [torch.clamp(x[i] ** 2 * v / std[i] ** 2, min=_EPS) for i in range(c)]
            out["std"] = sum(torch.sqrt(w) for w in out["var"]) / c
            out["value"] = 1.0 / v.reshape(-1)
        else:  # impulse
            if nm == "impulse":
                if not o.alpha > 0:
                    raise UsageError("method.noise_model=impulse needs alpha: train with --add-noise impulse:p=P, "
                                     "denoise with --noise impulse:p=P, or --set method.alpha=P")
                alpha = torch.full((mu.shape[0], 1, 1), float(o.alpha), dtype=mu.dtype, device=mu.device)
            else:
                alpha = torch.clamp(learned, max=1.0 - 1e-3)
            out["alpha"] = alpha
            out["value"] = alpha.reshape(-1)
        return out

    def outputs(self, model, noisy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Normalised input ``z``, prior mean ``mu`` and factor entries, in float64 (float32 on MPS)."""
        net = self._net(model)
        z = model.normalize(noisy)
        out = net(z, full=True)
        dtype = self._dtype(out)
        c = z.shape[1]
        return z.to(dtype), out[:, :c].to(dtype), out[:, c:].to(dtype)

    def _uniform(self, model, dtype: torch.dtype) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Mean, variance and density of the uniform impulse values in normalised units, per channel."""
        r = self.options.data_range
        std = model.std.to(dtype).reshape(-1)
        mean = model.mean.to(dtype).reshape(-1)
        return ([(r / 2 - mean[i]) / std[i] for i in range(len(std))],
                [(r / std[i]) ** 2 / 12.0 for i in range(len(std))],
                [std[i] / r for i in range(len(std))])

    def reg_weight(self, channels: int) -> float:
        """The weight of the learned noise std (normalised units) in the loss: ``reg`` as the reference code
        weighs it, whose loss is twice the negative log-likelihood on gray images (once on colour ones) and whose
        std is in [0, 1] units, where natural images' spread is about a quarter of the range (:data:`STD_SHARE`):
        ``reg * 0.25 / 2`` per unit of the normalised std on gray images, ``reg * 0.25`` on colour ones."""
        return self.options.reg * STD_SHARE * (0.5 if channels == 1 else 1.0)

    def pixel_loss(self, model, noisy: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Per-pixel negative log-likelihood (B, H, W) and the noise parameters (see :meth:`noise_level`)."""
        z, mu, factor = self.outputs(model, noisy)
        c = z.shape[1]
        cov_x = factor_to_covariance(factor, c)
        noise = self.noise_level(model, z, mu)
        zs, mus = _channels(z), _channels(mu)
        if "alpha" in noise:
            u_mean, u_var, _ = self._uniform(model, z.dtype)
            alpha = noise["alpha"]
            mean_y, cov_y = impulse_moments(mus, cov_x, alpha, u_mean, u_var, whole=self.options.whole_pixels)
            cov_y = _add_diag(cov_y, [_EPS] * c)
            nll = gaussian_nll([zs[i] - mean_y[i] for i in range(c)], cov_y)
        else:
            nll = gaussian_nll([zs[i] - mus[i] for i in range(c)], _add_diag(cov_x, noise["var"]))
        return nll, noise

    # -- the contract -------------------------------------------------------------------
    def loss(self, model, batch, *, rng: torch.Generator, progress: float = 0.0) -> dict[str, Tensor]:
        """``{"model": mean NLL - reg_weight * mean learned noise std}`` in normalised units."""
        self.check_batch(batch)
        nll, noise = self.pixel_loss(model, batch.noisy)
        loss = nll.mean()
        if self.resolved_noise_model() in LEARNED and "std" in noise and self.options.reg > 0:
            loss = loss - self.reg_weight(batch.noisy.shape[1]) * noise["std"].mean()
        return {"model": loss.float()}

    def predict(self, model, noisy: Tensor) -> Tensor:
        """The posterior mean (or ``mu`` with ``posterior_mean=false``), image units."""
        z, mu, factor = self.outputs(model, noisy)
        if not self.options.posterior_mean:
            est = mu
        else:
            c = z.shape[1]
            cov_x = factor_to_covariance(factor, c)
            noise = self.noise_level(model, z, mu)
            zs, mus = _channels(z), _channels(mu)
            if "alpha" in noise:
                _, _, density = self._uniform(model, z.dtype)
                parts = impulse_posterior_mean(zs, mus, cov_x, noise["alpha"], density,
                                               whole=self.options.whole_pixels)
            else:
                parts = posterior_mean(zs, mus, cov_x, noise["var"])
            est = torch.stack(parts, dim=1)
        return model.denormalize(est.to(noisy.dtype))

    def learned_noise(self, model, noisy: Tensor) -> Tensor:
        """The noise level the model uses for ``noisy`` (B,): sigma (image units), peak, alpha or looks."""
        with torch.no_grad():
            z, mu, _ = self.outputs(model, noisy)
            return self.noise_level(model, z, mu)["value"].float()


class _LevelMap(torch.nn.Module):
    """A blind-spot model's level network as a model in image units (one output plane per input channel, all the
    same), for :meth:`BlindSpot.for_tiles` to run on an image's tiles."""

    def __init__(self, model, net) -> None:
        super().__init__()
        self.scaled = model
        self.net = net.noise_net  # (its alignment: the tiles' grid)
        self.in_channels = int(model.in_channels)

    @property
    def mean(self) -> Tensor:
        return self.scaled.mean

    @property
    def std(self) -> Tensor:
        return self.scaled.std

    def forward(self, x: Tensor) -> Tensor:
        z = self.scaled.normalize(x).to(self.scaled.mean.dtype)
        return self.net(z).expand(-1, self.in_channels, -1, -1)
