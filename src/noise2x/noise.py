"""Synthetic noise models: pure, seeded functions, one per model, and the spec strings that name them.

Every model takes a clean image (H,W) or (H,W,3) in its own units (8-bit:
0..255) and returns a new float64 array of the same shape; the input is never
modified. Randomness comes only from ``rng`` (None, an int seed or a
``numpy.random.Generator``, passed to ``numpy.random.default_rng``).

Every model raises :class:`~noise2x.errors.UsageError` for a parameter out of
its range (or not a number, or not finite) and for a wrong kind of ``rng``, and
:class:`~noise2x.errors.InputError` for an image it cannot take (a wrong shape,
four channels, NaN). Those with a ``data_range`` (Poisson, impulse, salt and
pepper, text) warn with :class:`~noise2x.errors.UnitsWarning` where the image's
values do not fit it (a 16-bit image at the default 255).

Spec strings name a model and its parameters, e.g. ``gaussian:sigma=25``,
``poisson:peak=30``, ``correlated:sigma=25,beta=0.5``, ``impulse:p=0.2``; a
value ``lo..hi`` (``gaussian:sigma=0..50``) is drawn uniformly on each call
(blind training). :func:`parse_noise` is the one parser used everywhere.

PROTOCOL.md: test image ``i`` gets its noise from seed ``i``
(:func:`protocol_noisy`); training image ``j`` from seed ``1000 + j`` and its
second independent copy (Noise2Noise) from ``2000 + j``
(:func:`protocol_train_seed`).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import string
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import UsageError


def generator(rng) -> np.random.Generator:
    """``numpy.random.default_rng(rng)`` (None, a non-negative integer or a sequence of them, a SeedSequence or a
    Generator), a wrong kind of ``rng`` given as one UsageError (a TypeError or ValueError from numpy before)."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise UsageError(f"rng must be None, a non-negative integer (or a list of them) or a numpy Generator, "
                         f"got {rng!r}") from None
from .io import check_image

__all__ = [
    "NOISES",
    "NoiseSpec",
    "TRAIN_SEED",
    "TRAIN_SEED_SECOND",
    "bernoulli",
    "correlated",
    "correlated_columns",
    "correlated_covariance",
    "correlated_rows",
    "gaussian",
    "impulse",
    "parse_noise",
    "poisson",
    "poisson_gaussian",
    "protocol_noisy",
    "protocol_train_seed",
    "salt_pepper",
    "speckle",
    "text",
]

TRAIN_SEED = 1000
"""PROTOCOL: training image ``j`` gets its noise from seed ``TRAIN_SEED + j``."""
TRAIN_SEED_SECOND = 2000
"""PROTOCOL: the second noisy copy of training image ``j`` (Noise2Noise) uses seed ``TRAIN_SEED_SECOND + j``."""

# Valid values of every parameter name used by the models: (low, high, low inclusive, high inclusive).
# The bounds beyond 0 and 1 keep the arithmetic finite (a peak of 1e-300 overflowed the Anscombe transform, 1e300
# NumPy's Poisson sampler, in a QA pass) and lie far beyond any image's units.
_LIMITS = {
    "sigma": (0.0, 1e15, True, True),
    "peak": (1e-9, 1e15, True, True),
    "beta": (0.0, 1.0, True, True),
    "p": (0.0, 1.0, True, True),
    "radius": (0.0, 256.0, True, True),
    "data_range": (1e-30, 1e30, True, True),
    "looks": (1e-3, 1e15, True, True),
    "whole": (0.0, 1.0, True, True),
}
_INTEGER_PARAMS = {"radius", "whole"}


def _check_value(name: str, value) -> float:
    """Validate one parameter value; UsageError naming the valid range otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"noise parameter {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise UsageError(f"noise parameter {name} must be finite, got {value!r}")
    lo, hi, lo_in, hi_in = _LIMITS.get(name, (-math.inf, math.inf, True, True))
    if v < lo or v > hi or (v == lo and not lo_in) or (v == hi and not hi_in):
        left = "[" if lo_in else "("
        right = "]" if hi_in else ")"
        raise UsageError(f"noise parameter {name} must be in {left}{lo:g}, {hi:g}{right}, got {value!r}")
    if name in _INTEGER_PARAMS and v != int(v):
        raise UsageError(f"noise parameter {name} must be a whole number, got {value!r}")
    return v


def _prepare(clean) -> np.ndarray:
    return check_image(clean, name="clean")


def _like(out: np.ndarray, clean) -> np.ndarray:
    """Give the result the input's exact shape ((H,W,1) inputs are processed as (H,W))."""
    return out.reshape(np.shape(clean))


# --------------------------------------------------------------------------- models


def gaussian(clean, *, sigma: float, rng=None) -> np.ndarray:
    """Additive white Gaussian noise (PROTOCOL.md), not clipped.

    ``clean + sigma * np.random.default_rng(rng).standard_normal(clean.shape)``.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image in its own units.
    sigma : float
        Standard deviation, in the image's units (>= 0).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    sigma = _check_value("sigma", sigma)
    _sigma_scale_check(x, sigma, "gaussian")
    return _like(x + sigma * generator(rng).standard_normal(x.shape), clean)


def poisson(clean, *, peak: float = 30.0, rng=None, data_range: float = 255.0) -> np.ndarray:
    """Poisson (shot) noise with ``peak`` photons at full scale (PROTOCOL.md).

    ``data_range * rng.poisson(peak * clean / data_range) / peak``: zero-mean
    around ``clean`` with variance ``data_range * clean / peak``. Negative
    clean values are clamped to 0 for the rate.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    peak : float
        Expected photon count of a pixel at ``data_range`` (> 0); lower is noisier.
    rng : None, int or numpy.random.Generator
    data_range : float
        The image's full scale (255 for 8-bit).

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    peak = _check_value("peak", peak)
    data_range = _check_value("data_range", data_range)
    _full_scale_check(x, data_range, "poisson")
    _negative_rate_check(x, "poisson")
    g = generator(rng)
    return _like(_poisson(x, peak, g, data_range), clean)


def negative_rate_note(x: np.ndarray, name: str) -> str | None:
    """What to say where more than 1% of ``x`` is below 0: a Poisson rate is clamped to 0 there, and those pixels
    come out 0 (a mean-subtracted electron micrograph lost 70% of its pixels so, unsaid, in a QA pass); else None."""
    share = float(np.count_nonzero(np.asarray(x) < 0)) / max(np.size(x), 1)
    if share <= 0.01:
        return None
    return (f"{name} noise on an image with {100 * share:.0f}% of its values below 0: a photon count's rate cannot "
            "be negative, so those pixels come out 0; give the image an offset so that it holds intensities (>= 0)")


def _negative_rate_check(x: np.ndarray, name: str) -> None:
    """Warn (:class:`noise2x.errors.UnitsWarning`) with :func:`negative_rate_note`."""
    note = negative_rate_note(x, name)
    if note:
        from .errors import UnitsWarning, warn_outside

        warn_outside(UnitsWarning(note))


def _full_scale_check(x: np.ndarray, data_range: float, name: str) -> None:
    """Warn (:class:`noise2x.errors.UnitsWarning`) where ``data_range`` is 255, the default, and ``x`` is plainly in
    other units: values beyond 510 (16-bit), or fractions up to 1.5 ([0, 1]). A QA pass turned a [0, 1] image into
    the values 0, 8.5 and 17 with poisson(peak=30), and was told nothing."""
    if data_range != 255.0 or not x.size:
        return
    hi = float(np.max(x))
    if hi > 510.0 or (0.0 < hi <= 1.5 and bool(np.any(x != np.round(x)))):
        from .errors import UnitsWarning, warn_outside

        # (one text for all images in such units: Python says it once per line of the caller, not once per image
        # of a training folder, 19 lines for 24 images: a QA pass)
        units = "[0, 1] (values up to 1.5, with fractions)" if hi <= 1.5 else "larger units (values beyond 510)"
        warn_outside(UnitsWarning(f"{name} noise with data_range 255 (8-bit full scale, the default) on an image in "
                                  f"{units}: give data_range its full scale (e.g. "
                                  f"data_range={1 if hi <= 1.5 else 65535})"))


def sigma_scale_note(x: np.ndarray, sigma: float, name: str) -> str | None:
    """What to say where ``sigma`` is at least the full scale of an image plainly in [0, 1] (values up to 1.5, with
    fractions), else None: sigma 25 (an 8-bit figure, README's) on [0, 1] arrays trained a model on pure noise and
    was told nothing (a QA pass). One text whatever the sigma (a range's draws said one line each)."""
    if sigma < 1.0 or not np.size(x):
        return None
    hi = float(np.max(x))
    # (not [-1, 1], a QA re-check; percentile-normalised data pass 0 a little)
    if 0.0 < hi <= 1.5 and float(np.min(x)) >= -0.25 and bool(np.any(x != np.round(x))):
        return (f"{name} noise of a sigma of 1 or more on an image in [0, 1] (values up to 1.5, with fractions): "
                f"sigma is in the image's units, here beyond its full scale; 8-bit figures on such images are "
                f"sigma / 255 (25 -> 0.098)")
    return None


def _sigma_scale_check(x: np.ndarray, sigma: float, name: str) -> None:
    """Warn (:class:`noise2x.errors.UnitsWarning`) of :func:`sigma_scale_note`: sigma is in the image's units, so a
    warning, not an error."""
    note = sigma_scale_note(x, sigma, name)
    if note:
        from .errors import UnitsWarning, warn_outside

        warn_outside(UnitsWarning(note))  # (one text for all images: said once per line of the caller)


def _poisson(x: np.ndarray, peak: float, g: np.random.Generator, data_range: float) -> np.ndarray:
    counts = peak * np.maximum(x, 0.0) / data_range
    top = float(np.max(counts)) if counts.size else 0.0
    if not top < 1e18:  # (NumPy's sampler stops near 9.2e18: "lam value too large", an internal error)
        raise UsageError(f"poisson peak {peak:g} with data_range {data_range:g} gives {top:.3g} photons to a pixel, "
                         f"beyond 1e18: a larger data_range or a smaller peak")
    return data_range * g.poisson(counts) / peak


def poisson_gaussian(clean, *, peak: float, sigma: float, rng=None, data_range: float = 255.0) -> np.ndarray:
    """Poisson noise (as :func:`poisson`) plus white Gaussian noise of std ``sigma``.

    Both come from the same generator, Poisson first. Variance given the clean
    value ``x``: ``data_range * x / peak + sigma**2``.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    peak : float
        Photon count at full scale (> 0).
    sigma : float
        Standard deviation of the additive Gaussian part (>= 0).
    rng : None, int or numpy.random.Generator
    data_range : float
        The image's full scale.

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    peak = _check_value("peak", peak)
    sigma = _check_value("sigma", sigma)
    data_range = _check_value("data_range", data_range)
    _full_scale_check(x, data_range, "poisson_gaussian")
    _negative_rate_check(x, "poisson_gaussian")
    if data_range != 255.0:  # (at 255 on [0, 1] data the line above says it)
        _sigma_scale_check(x, sigma, "poisson_gaussian")
    g = generator(rng)
    y = _poisson(x, peak, g, data_range)
    return _like(y + sigma * g.standard_normal(x.shape), clean)


def speckle(clean, *, looks: float, rng=None) -> np.ndarray:
    """Multiplicative speckle: fully developed speckle of a ``looks``-look intensity image (Goodman).

    ``clean * G`` with ``G`` drawn from a Gamma law of shape ``looks`` and scale ``1 / looks`` for every entry
    (each channel of an RGB pixel its own): the noise has mean 1 and variance ``1 / looks``, so a pixel's noise std
    is ``clean / sqrt(looks)``, in any units. The speckle of SAR, ultrasound and OCT intensity images and of
    laser illumination; one look (``looks=1``) is exponential. Negative values are taken as 0, as an intensity.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) intensity image (>= 0), in any units.
    looks : float
        Number of looks L (> 0; 1 is the strongest speckle, 1e-3 to 1e15 accepted).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    looks = _check_value("looks", looks)
    return _like(np.maximum(x, 0.0) * generator(rng).gamma(looks, 1.0 / looks, size=x.shape), clean)


def _box_autocorrelation(radius: int) -> np.ndarray:
    """1-D autocorrelation of the unit-energy box of width 2k+1 at lags -2k..2k: 1 - |l|/(2k+1)."""
    k = int(radius)
    lags = np.arange(-2 * k, 2 * k + 1)
    return 1.0 - np.abs(lags) / (2 * k + 1)


#: The axes a correlated noise's correlated part may spread along: both, rows (along each row: horizontal
#: streaks) or columns
ALONG = ("both", "rows", "columns")
#: The correlated-noise models (:func:`correlated`) by name, and the axes (:data:`ALONG`) of each one's correlated part
CORRELATED_MODELS = {"correlated": "both", "correlated_rows": "rows", "correlated_columns": "columns"}


def correlated_covariance(*, sigma: float, beta: float, radius: int = 2, along: str = "both") -> np.ndarray:
    """Theoretical covariance of :func:`correlated` noise at every offset.

    ``C(dy, dx) = sigma**2 * ((1 - beta) * [dy == dx == 0] + beta * t(dy) * t(dx))`` with
    ``t(l) = max(0, 1 - |l| / (2k + 1))``; ``along="rows"`` (:func:`correlated_rows`) has ``[dy == 0]`` in place of
    ``t(dy)``, ``"columns"`` ``[dx == 0]`` in place of ``t(dx)``.

    Parameters
    ----------
    sigma : float
        Marginal standard deviation.
    beta : float
        Correlated fraction of the variance, in [0, 1].
    radius : int
        Box radius k.
    along : {"both", "rows", "columns"}
        The axes of the correlated part.

    Returns
    -------
    numpy.ndarray
        (4k+1, 4k+1) array ``C`` with ``C[2k + dy, 2k + dx] = Cov(n(p), n(p + (dy, dx)))``;
        ``C[2k, 2k] == sigma**2`` and ``C`` is zero beyond Chebyshev distance 2k.
    """
    sigma = _check_value("sigma", sigma)
    beta = _check_value("beta", beta)
    k = int(_check_value("radius", radius))
    t = _box_autocorrelation(k)
    point = (np.arange(-2 * k, 2 * k + 1) == 0).astype(float)
    if along not in ALONG:
        raise UsageError(f"along must be 'both', 'rows' or 'columns', got {along!r}")
    cov = beta * np.outer(point if along == "rows" else t, point if along == "columns" else t)
    cov[2 * k, 2 * k] += 1.0 - beta
    return sigma**2 * cov


def _box_sum(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Sums of ``size`` consecutive entries along ``axis`` ('valid': the axis shrinks by size - 1)."""
    c = np.cumsum(a, axis=axis)
    zero = np.zeros_like(np.take(c, [0], axis=axis))
    c = np.concatenate([zero, c], axis=axis)
    n = c.shape[axis]
    return np.take(c, np.arange(size, n), axis=axis) - np.take(c, np.arange(0, n - size), axis=axis)


def correlated(clean, *, sigma: float, beta: float, radius: int = 2, rng=None) -> np.ndarray:
    """Spatially correlated Gaussian noise (the MASH benchmark noise, with a valid covariance).

    ``noise = sigma * (sqrt(1 - beta) * w + sqrt(beta) * (b * v))``: ``w`` and
    ``v`` are independent white standard normal fields and ``b`` is the
    (2k+1) x (2k+1) box filter of radius ``k = radius`` scaled to unit energy.
    The marginal standard deviation is exactly ``sigma``; ``beta`` is the
    fraction of the variance that is spatially correlated. The covariance
    (:func:`correlated_covariance`) is ``sigma**2 * ((1 - beta) * delta +
    beta * t(dy) * t(dx))`` with ``t(l) = max(0, 1 - |l|/(2k+1))``: positive
    semi-definite by construction (a sum of two filtered white fields), decaying
    with distance, zero beyond Chebyshev distance 2k, and the correlation at
    every offset grows linearly with ``beta`` (beta = 0 white; beta = 1 the
    box-filtered field, neighbour correlation 0.8 at radius 2).

    Why not the MASH write-up's model (Chihaoui & Favaro, CVPR 2024): it gives
    the covariance as ``sigma**2 * beta**(k - d/k)`` for Chebyshev distance
    ``0 < d <= k``, which *grows* with ``d`` (beta < 1) and drops to zero past
    ``k``; such a map is generally not positive definite, so no Gaussian
    field has it. A pure kernel ``h(d) = beta**d`` is valid but its neighbour
    correlation is not monotonic in beta (0.81 at beta = 0.5, 0.83 at 0.75,
    0.80 at 1, for radius 2), so beta would not read as a strength. This model
    keeps the parameters (sigma, beta in [0,1], radius k) with the meaning the
    paper intends, and mirrors real camera noise: a white part plus a part
    correlated over a few pixels (demosaicking, denoising in the pipeline).

    The correlated part is drawn on a canvas ``2 * radius`` larger than the
    image and filtered without any boundary rule ('valid' box sums), so the
    covariance is exactly stationary, edges included. RGB channels get
    independent fields. Cost is independent of the radius (cumulative sums).

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    sigma : float
        Marginal standard deviation (>= 0).
    beta : float
        Correlated fraction of the variance, in [0, 1].
    radius : int
        Box radius k (>= 0); the correlation reaches 2k pixels. radius = 0 is white noise.
    rng : None, int or numpy.random.Generator
        The white field ``w`` is drawn first, then ``v`` (both always drawn).

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    return _correlated(clean, sigma=sigma, beta=beta, radius=radius, rng=rng, along="both")


def _correlated(clean, *, sigma: float, beta: float, radius: int, rng, along: str) -> np.ndarray:
    name = next(k for k, v in CORRELATED_MODELS.items() if v == along)
    x = _prepare(clean)
    sigma = _check_value("sigma", sigma)
    beta = _check_value("beta", beta)
    k = int(_check_value("radius", radius))
    _sigma_scale_check(x, sigma, name)
    g = generator(rng)
    height, width = x.shape[:2]
    white = g.standard_normal(x.shape)
    ky, kx = (0 if along == "rows" else k), (0 if along == "columns" else k)
    canvas = g.standard_normal((height + 2 * ky, width + 2 * kx) + x.shape[2:])
    box = _box_sum(_box_sum(canvas, 2 * ky + 1, 0), 2 * kx + 1, 1) / math.sqrt((2 * ky + 1) * (2 * kx + 1))
    noise = math.sqrt(1.0 - beta) * white + math.sqrt(beta) * box
    return _like(x + sigma * noise, clean)


def correlated_rows(clean, *, sigma: float, beta: float, radius: int = 2, rng=None) -> np.ndarray:
    """Gaussian noise correlated along each row only: horizontal streaks, as a line-scan detector's or a scanning
    microscope's (SEM, AFM, confocal) noise correlated along its fast scan axis, which structN2V's row mask
    (``noise2void --set method.struct=horizontal:R``) is for.

    As :func:`correlated` with the box filter ``1 x (2k+1)``: ``noise = sigma * (sqrt(1 - beta) * w +
    sqrt(beta) * (b * v))``, covariance ``sigma**2 * ((1 - beta) * delta + beta * [dy == 0] * t(dx))``
    (:func:`correlated_covariance` with ``along="rows"``); the correlation between row neighbours is
    ``beta * 2k / (2k + 1)`` (0.8 at beta 1, radius 2), none between column neighbours. The
    parameters and drawing order (the white field, then the canvas) are those of :func:`correlated`; the canvas is
    ``2 * radius`` wider only, so the same seed draws another correlated part.
    """
    return _correlated(clean, sigma=sigma, beta=beta, radius=radius, rng=rng, along="rows")


def correlated_columns(clean, *, sigma: float, beta: float, radius: int = 2, rng=None) -> np.ndarray:
    """:func:`correlated_rows` turned a quarter: noise correlated along each column only (vertical streaks)."""
    return _correlated(clean, sigma=sigma, beta=beta, radius=radius, rng=rng, along="columns")


def impulse(clean, *, p: float, rng=None, data_range: float = 255.0, whole: float = 0.0) -> np.ndarray:
    """Random-valued impulse noise.

    Each value (each channel of each pixel, independently) is replaced with
    probability ``p`` by a value drawn uniformly in ``[0, data_range]``; with
    ``whole=1``, each pixel, all its channels at once, by a random colour: the
    Noise2Noise paper's and Laine et al.'s impulse noise on colour images
    (``impulse:p=0.5,whole=1``). On gray images the two are the same noise.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    p : float
        Replacement probability in [0, 1].
    rng : None, int or numpy.random.Generator
    data_range : float
        Upper end of the replacement values.
    whole : {0, 1}
        1: replace whole pixels (all channels together), as the papers do.

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    p = _check_value("p", p)
    data_range = _check_value("data_range", data_range)
    whole = _check_value("whole", whole)  # (0 or 1, as the spec takes it)
    _full_scale_check(x, data_range, "impulse")
    g = generator(rng)
    hit = g.random(x.shape[:2] if whole and x.ndim == 3 else x.shape) < p
    if hit.ndim < x.ndim:
        hit = hit[..., None]
    values = g.uniform(0.0, data_range, x.shape)
    return _like(np.where(hit, values, x), clean)


def salt_pepper(clean, *, p: float, rng=None, data_range: float = 255.0) -> np.ndarray:
    """Salt-and-pepper noise: with probability ``p`` a pixel becomes 0 or ``data_range`` (equal odds).

    A hit pixel turns black or white as a whole (all channels of an RGB pixel
    together).

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    p : float
        Probability that a pixel is hit, in [0, 1].
    rng : None, int or numpy.random.Generator
    data_range : float
        The "salt" value.

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    p = _check_value("p", p)
    data_range = _check_value("data_range", data_range)
    _full_scale_check(x, data_range, "salt_pepper")
    g = generator(rng)
    plane = x.shape[:2]
    hit = g.random(plane) < p
    salt = g.random(plane) < 0.5
    value = np.where(salt, data_range, 0.0)
    if x.ndim == 3:
        hit, value = hit[..., None], value[..., None]
    return _like(np.where(hit, value, x), clean)


def bernoulli(clean, *, p: float, rng=None) -> np.ndarray:
    """Pixel dropout: each pixel is set to 0 with probability ``p`` (all channels together).

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    p : float
        Dropout probability in [0, 1].
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    p = _check_value("p", p)
    g = generator(rng)
    keep = g.random(x.shape[:2]) >= p
    if x.ndim == 3:
        keep = keep[..., None]
    return _like(np.where(keep, x, 0.0), clean)


_TEXT_CHARS = string.ascii_letters + string.digits + string.punctuation
_TEXT_MAX_STRINGS = 20000


@functools.lru_cache(maxsize=64)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _text_mask(s: str, size: int) -> np.ndarray:
    """Binary (non anti-aliased) rendering of ``s`` cropped to its ink."""
    from PIL import Image, ImageDraw

    font = _font(size)
    left, top, right, bottom = font.getbbox(s)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"
    draw.text((-left, -top), s, fill=255, font=font)
    return np.asarray(canvas) > 127


def text(clean, *, p: float = 0.25, rng=None, data_range: float = 255.0) -> np.ndarray:
    """Random text overlay (Noise2Noise paper): strings drawn until a fraction ``p`` of pixels is covered.

    Each string has 1 to 12 random printable characters, a random font size
    (8 to max(9, min(H,W)/5) pixels, Pillow's built-in font), a random
    position (it may run off the image) and a random colour uniform in
    ``[0, data_range]`` (one value per channel). Text is drawn without
    anti-aliasing, so every pixel is either clean or exactly a text colour.
    Strings are added until at least ``p * H * W`` pixels are covered (or
    20000 strings). The Noise2Noise paper trains with ``p`` drawn in
    [0, 0.5] (spec ``text:p=0..0.5``) and tests with 0.25.

    Parameters
    ----------
    clean : array_like
        (H,W) or (H,W,3) image.
    p : float
        Target fraction of covered pixels, in [0, 1].
    rng : None, int or numpy.random.Generator
    data_range : float
        Upper end of the text colours.

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``clean``.
    """
    x = _prepare(clean)
    p = _check_value("p", p)
    data_range = _check_value("data_range", data_range)
    _full_scale_check(x, data_range, "text")
    g = generator(rng)
    out = x.copy() if x.ndim == 3 else x[..., None].copy()
    height, width, channels = out.shape
    covered = np.zeros((height, width), bool)
    target = p * height * width
    n_covered, n_strings = 0, 0
    max_size = max(9, min(height, width) // 5)
    while n_covered < target and n_strings < _TEXT_MAX_STRINGS:
        n_strings += 1
        size = int(g.integers(8, max_size + 1))
        chars = g.integers(0, len(_TEXT_CHARS), int(g.integers(1, 13)))
        ink = _text_mask("".join(_TEXT_CHARS[i] for i in chars), size)
        h, w = ink.shape
        top = int(g.integers(-h + 1, height))
        left = int(g.integers(-w + 1, width))
        colour = g.uniform(0.0, data_range, channels)
        y0, y1 = max(top, 0), min(top + h, height)
        x0, x1 = max(left, 0), min(left + w, width)
        if y0 >= y1 or x0 >= x1:
            continue
        m = ink[y0 - top : y1 - top, x0 - left : x1 - left]
        region = out[y0:y1, x0:x1]
        region[m] = colour
        n_covered += int(np.count_nonzero(m & ~covered[y0:y1, x0:x1]))
        covered[y0:y1, x0:x1] |= m
    return _like(out, clean)


NOISES: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": gaussian,
    "poisson": poisson,
    "poisson_gaussian": poisson_gaussian,
    "correlated": correlated,
    "correlated_rows": correlated_rows,
    "correlated_columns": correlated_columns,
    "impulse": impulse,
    "salt_pepper": salt_pepper,
    "bernoulli": bernoulli,
    "speckle": speckle,
    "text": text,
}
"""Every noise model by name; the name is the spec string's NAME and the CLI value."""

# --------------------------------------------------------------------------- spec strings

_REQUIRED = object()
# kept only when given: data_range, a property of the image, not of the noise; impulse's whole, so that the specs
# written before it (per channel) read as they did
_NOT_DEFAULTED = {"data_range", "whole"}


@functools.lru_cache(maxsize=None)
def _model_params(name: str) -> tuple[tuple[str, object], ...]:
    """(parameter, default or _REQUIRED) of a model, in signature order, without clean and rng."""
    sig = inspect.signature(NOISES[name])
    return tuple(
        (p.name, _REQUIRED if p.default is inspect.Parameter.empty else p.default)
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "rng"
    )


def _describe_params(name: str) -> str:
    parts = []
    for key, default in _model_params(name):
        parts.append(f"{key} (required)" if default is _REQUIRED else f"{key} (default {_fmt(float(default))})")
    return ", ".join(parts)


def _valid_names() -> str:
    return ", ".join(NOISES)


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _fmt_value(v) -> str:
    if isinstance(v, tuple):
        return f"{_fmt(v[0])}..{_fmt(v[1])}"
    return _fmt(v)


@dataclass(frozen=True)
class NoiseSpec:
    """A noise model and its parameter values, as parsed from a spec string.

    Attributes
    ----------
    name : str
        Key of :data:`NOISES`.
    params : dict
        Parameter values: floats, or ``(lo, hi)`` tuples drawn uniformly on
        each call. Parameters left out get their defaults (except
        ``data_range``, kept only when given).

    Construct with :func:`parse_noise` or directly
    (``NoiseSpec("gaussian", {"sigma": 25})``); both validate.
    ``str(spec)`` is the canonical spec string and
    ``parse_noise(str(spec)) == spec``.
    """

    name: str
    params: dict

    def __post_init__(self) -> None:
        name = self.name
        if name not in NOISES:
            raise UsageError(f"unknown noise model {name!r}; valid models: {_valid_names()}")
        given = dict(self.params)
        known = dict(_model_params(name))
        for key in given:
            if key not in known:
                raise UsageError(
                    f"unknown parameter {key!r} for noise {name!r}; it takes: {_describe_params(name)}"
                )
        clean: dict = {}
        for key, default in known.items():
            if key in given:
                clean[key] = _normalise_value(key, given[key])
            elif default is _REQUIRED:
                raise UsageError(
                    f"noise {name!r} needs parameter {key!r} (e.g. {name}:{key}=...); it takes: {_describe_params(name)}"
                )
            elif key not in _NOT_DEFAULTED:
                clean[key] = _check_value(key, default)
        object.__setattr__(self, "params", clean)

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.params.items())))

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt_value(v)}" for k, v in self.params.items())

    @property
    def is_random_level(self) -> bool:
        """True when some parameter is a range, drawn anew on each call."""
        return any(isinstance(v, tuple) for v in self.params.values())

    @property
    def gaussian_sigma(self) -> float | None:
        """The standard deviation when the noise is white Gaussian with a fixed sigma, else None.

        True for ``gaussian`` with a fixed sigma, and for ``correlated`` (and its ``_rows`` and ``_columns``) with
        beta = 0 or radius = 0 (which is white).
        """
        sigma = self.params.get("sigma")
        if sigma is None or isinstance(sigma, tuple):
            return None
        if self.name == "gaussian":
            return float(sigma)
        if self.name in CORRELATED_MODELS and (self.params["beta"] == 0.0 or self.params["radius"] == 0.0):
            return float(sigma)
        return None

    def sample(self, rng=None) -> "NoiseSpec":
        """The spec with every range replaced by a uniform draw (in signature order).

        Parameters
        ----------
        rng : None, int or numpy.random.Generator
            Nothing is drawn when no parameter is a range.

        Returns
        -------
        NoiseSpec
        """
        if not self.is_random_level:
            return self
        g = generator(rng)
        drawn = {}
        for key, value in self.params.items():
            if isinstance(value, tuple):
                value = float(g.uniform(value[0], value[1]))
            drawn[key] = value
        return NoiseSpec(self.name, drawn)

    def apply(self, clean, *, rng=None) -> np.ndarray:
        """Add this noise to ``clean``.

        Range values are drawn first from the same generator, then the model
        is called with it; with no ranges, ``spec.apply(x, rng=i)`` equals
        ``NOISES[name](x, **params, rng=i)`` exactly.

        Parameters
        ----------
        clean : array_like
            (H,W) or (H,W,3) image.
        rng : None, int or numpy.random.Generator

        Returns
        -------
        numpy.ndarray
        """
        g = generator(rng)
        concrete = self.sample(g)
        kwargs = {k: (int(v) if k in _INTEGER_PARAMS else v) for k, v in concrete.params.items()}
        return NOISES[self.name](clean, rng=g, **kwargs)


def _normalise_value(key: str, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise UsageError(f"noise parameter {key} range must be (lo, hi), got {value!r}")
        if key in _INTEGER_PARAMS:
            raise UsageError(f"noise parameter {key} cannot be a range (it must be a whole number)")
        lo, hi = _check_value(key, value[0]), _check_value(key, value[1])
        if lo > hi:
            raise UsageError(f"noise parameter {key} range {_fmt(lo)}..{_fmt(hi)} is empty: write lo..hi with lo <= hi")
        return lo if lo == hi else (lo, hi)
    return _check_value(key, value)


#: a number as a spec writes it: ASCII digits, an optional sign, point and exponent (Python's float() also takes
#: '2_5' and other scripts' digits, which a spec's typo then passed as 25: a noise QA pass); inf and nan are
#: read, then refused as not finite
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE | re.ASCII)


def _parse_number(text: str, key: str, spec: str) -> float:
    try:
        if not _NUMBER.fullmatch(text.strip()):
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise UsageError(f"noise parameter {key} in {spec!r} must be a number or a range lo..hi, got {text!r}") from None


def parse_noise(spec) -> NoiseSpec:
    """Parse a noise spec string ``NAME[:key=value[,key=value...]]``.

    Values are numbers or ranges ``lo..hi`` (drawn uniformly per call), e.g.
    ``gaussian:sigma=25``, ``gaussian:sigma=0..50``, ``poisson:peak=30``,
    ``correlated:sigma=25,beta=0.5,radius=2``, ``impulse:p=0.2``, ``text``.

    Parameters
    ----------
    spec : str or NoiseSpec
        A NoiseSpec is returned unchanged.

    Returns
    -------
    NoiseSpec

    Raises
    ------
    UsageError
        Unknown model (lists the valid names), unknown or missing parameter
        (lists the model's parameters), a value that is not a number, or a
        value out of its valid range.
    """
    if isinstance(spec, NoiseSpec):
        return spec
    if not isinstance(spec, str):
        raise UsageError(f"a noise spec must be a string like 'gaussian:sigma=25', got {type(spec).__name__}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip().lower().replace("-", "_")
    if not name:
        raise UsageError(f"empty noise spec {spec!r}; write NAME[:key=value,...] with NAME one of: {_valid_names()}")
    if name not in NOISES:
        raise UsageError(f"unknown noise model {name!r} in {spec!r}; valid models: {_valid_names()}")
    params: dict = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not key or not value:
                comma = ("; a decimal point, not a comma: parameters are separated by ','"
                         if not eq and key.isdigit() and params else "")  # (sigma=2,5: a locale QA pass)
                raise UsageError(f"bad noise parameter {item.strip()!r} in {spec!r}: write key=value{comma}; {name} "
                                 f"takes: {_describe_params(name)}")
            if key in params:
                raise UsageError(f"noise parameter {key!r} given twice in {spec!r}")
            if key not in dict(_model_params(name)):
                raise UsageError(f"unknown parameter {key!r} for noise {name!r}; it takes: {_describe_params(name)}")
            if ".." in value:
                lo, _, hi = value.partition("..")
                params[key] = (_parse_number(lo, key, spec), _parse_number(hi, key, spec))
            else:
                params[key] = _parse_number(value, key, spec)
    return NoiseSpec(name, params)


# --------------------------------------------------------------------------- PROTOCOL helpers


def protocol_noisy(clean, spec, *, index: int) -> np.ndarray:
    """The PROTOCOL.md noisy version of test image ``index``: ``spec.apply(clean, rng=index)``.

    Parameters
    ----------
    clean : array_like
        The clean test image (8-bit units).
    spec : str or NoiseSpec
    index : int
        0-based position of the image in its set's sorted file order.

    Returns
    -------
    numpy.ndarray
    """
    return parse_noise(spec).apply(clean, rng=int(index))


def protocol_train_seed(index: int, *, second: bool = False) -> int:
    """PROTOCOL.md seed of training image ``index``: 1000 + index, or 2000 + index for the second copy.

    Parameters
    ----------
    index : int
        0-based position of the image in the training set's sorted file order.
    second : bool
        The second independent noisy copy (Noise2Noise pairs).

    Returns
    -------
    int
    """
    return (TRAIN_SEED_SECOND if second else TRAIN_SEED) + int(index)
