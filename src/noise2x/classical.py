"""Classical (training-free) denoisers: BM3D, non-local means, Noise2Self-calibrated NLM and wavelets.

Every method has the same call shape (the "direct method" contract used by
:mod:`noise2x.api` and :mod:`noise2x.benchmark`)::

    fn(noisy, *, noise=None, rng=None, info=None, **options) -> ndarray

* ``noisy``: float (H,W) or (H,W,C) in the image's own units (8-bit images:
  0..255). Values outside that range (unclipped Gaussian noise) are accepted.
* ``noise``: a :class:`noise2x.noise.NoiseSpec` or a spec string
  (``"gaussian:sigma=25"``) when the noise is known, else ``None``.
* ``rng``: accepted for the common contract; these methods are deterministic.
* ``info``: an optional dict that the method fills with what it chose:
  ``info["sigma"]`` (the Gaussian level it worked with, in the image's units,
  or 1.0 in the variance-stabilised domain, or the std in the mapped logarithm of
  speckle), ``info["sigma_source"]``
  (``'given'``, ``'noise spec'`` or ``'estimated'``), and where relevant
  ``info["transform"]`` or ``info["calibrated"]`` (the chosen parameters).
* options are keyword-only; an unknown option raises
  :class:`~noise2x.errors.UsageError` listing the valid ones.
* Returns a new float64 array of the input's shape; the input is never modified.

How the noise level is chosen (BM3D, NLM): the ``sigma=`` option when given;
else the noise spec's Gaussian sigma; for Poisson (or Poisson-Gaussian) noise
of known parameters the image is variance-stabilised with the generalised Anscombe transform
(:func:`anscombe`), denoised at unit sigma and mapped back with the
closed-form approximation of the exact unbiased inverse (Makitalo & Foi,
:func:`inverse_anscombe`); for multiplicative speckle (``speckle:looks=L``) its logarithm,
mapped to 8-bit units, is denoised at the log-speckle's std and mapped back with the
log-speckle's mean taken out (:func:`speckle_log`); otherwise sigma is estimated from the image
(:func:`noise2x.estimate.sigma`).

``CLASSICAL`` is the literal registry of these methods.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np

from .errors import InputError, MissingDependency, Noise2xError, UsageError
from .io import pedestal

__all__ = [
    "CLASSICAL",
    "anscombe",
    "bm3d",
    "despeckle",
    "inverse_anscombe",
    "inverse_speckle_log",
    "keep_speckle_mean",
    "nlm",
    "nlm_calibrated",
    "speckle_log",
    "speckle_log_sigma",
    "speckle_looks",
    "wavelet_calibrated",
]

# Opponent colour transform used by bm3d.bm3d_rgb('opp'); a zero range in one
# of its components (a gray image stored as RGB) makes bm3d_rgb divide by zero.
_OPP = np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.0, -0.5], [0.25, -0.5, 0.25]])


# ---------------------------------------------------------------------------
# variance stabilisation (generalised Anscombe transform)


def anscombe(noisy: np.ndarray, *, alpha: float = 1.0, sigma: float = 0.0, mu: float = 0.0) -> np.ndarray:
    """Generalised Anscombe transform for Poisson-Gaussian noise.

    For ``noisy = alpha * Poisson(lam) + N(mu, sigma^2)`` the result has
    approximately unit variance (Starck, Murtagh & Bijaoui 1998)::

        f(z) = 2/alpha * sqrt(max(0, alpha*z + 3/8*alpha^2 + sigma^2 - alpha*mu))

    With ``alpha=1, sigma=0, mu=0`` it is the classical Anscombe transform
    ``2*sqrt(z + 3/8)``.

    Parameters
    ----------
    noisy : ndarray
        Observations, any shape.
    alpha : float, default 1
        Gain of the Poisson component (``255/peak`` for PROTOCOL's Poisson noise
        on an 8-bit image).
    sigma, mu : float, default 0
        Standard deviation and mean of the Gaussian component.

    Returns
    -------
    ndarray
        The stabilised values, float64.
    """
    alpha, sigma, mu = _vst_params(alpha, sigma, mu)
    z = np.asarray(noisy, dtype=np.float64)
    arg = alpha * z + 0.375 * alpha**2 + sigma**2 - alpha * mu
    return (2.0 / alpha) * np.sqrt(np.maximum(arg, 0.0))


def inverse_anscombe(stabilised: np.ndarray, *, alpha: float = 1.0, sigma: float = 0.0, mu: float = 0.0) -> np.ndarray:
    """Closed-form approximation of the exact unbiased inverse of :func:`anscombe`.

    Makitalo & Foi (IEEE TIP 2011 for Poisson; 2013 for Poisson-Gaussian): for
    ``D`` the denoised stabilised value, in the normalised variable
    (``sigma' = sigma/alpha``)::

        I(D) = D^2/4 + sqrt(3/2)/4 D^-1 - 11/8 D^-2 + 5/8 sqrt(3/2) D^-3 - 1/8 - sigma'^2

    clipped at 0, then ``alpha * I + mu``. ``D`` is first raised to
    ``2*sqrt(3/8)`` (the transform of a zero count, where ``I`` is ~0 and below
    which the approximation stops being monotone).

    Parameters
    ----------
    stabilised : ndarray
        Denoised values in the stabilised domain.
    alpha, sigma, mu : float
        The parameters given to :func:`anscombe`.

    Returns
    -------
    ndarray
        Estimates of the mean ``alpha*lam + mu``, float64.
    """
    alpha, sigma, mu = _vst_params(alpha, sigma, mu)
    d = np.maximum(np.asarray(stabilised, dtype=np.float64), 2.0 * np.sqrt(0.375))
    r = np.sqrt(1.5)
    inv = d**2 / 4.0 + 0.25 * r / d - 11.0 / 8.0 / d**2 + 5.0 / 8.0 * r / d**3 - 0.125 - (sigma / alpha) ** 2
    return alpha * np.maximum(inv, 0.0) + mu


def _vst_params(alpha: float, sigma: float, mu: float) -> tuple[float, float, float]:
    alpha, sigma, mu = float(alpha), float(sigma), float(mu)
    if not np.isfinite(alpha) or alpha <= 0:
        raise UsageError(f"Anscombe transform: alpha must be a positive number, got {alpha}")
    if not np.isfinite(sigma) or sigma < 0:
        raise UsageError(f"Anscombe transform: sigma must be >= 0, got {sigma}")
    if not np.isfinite(mu):
        raise UsageError(f"Anscombe transform: mu must be finite, got {mu}")
    return alpha, sigma, mu


# ---------------------------------------------------------------------------
# shared helpers


# ---------------------------------------------------------------------------
# homomorphic transform of multiplicative speckle


#: The std (pixels) of the Gaussian window over which the speckle log routes give their result the noisy image's local
#: mean (:func:`keep_speckle_mean`), from ``python scripts/speckle_mean_calibration.py`` on train400 images.
SPECKLE_MEAN_WINDOW = 8.0


def keep_speckle_mean(noisy: np.ndarray, out: np.ndarray, window: float = SPECKLE_MEAN_WINDOW) -> np.ndarray:
    """``out`` (in place) times the ratio of ``noisy``'s local mean to its own (Gaussian windows of std ``window``
    pixels, each channel alone; ``window`` 0: as it is).

    Speckle has mean 1, so the noisy image's local mean is that of the clean intensity; the log routes' results run
    high where the denoiser of the logarithm does not return its mean (on flat areas at one look, BM3D's by 5-6 %:
    a QA pass; BENCHMARKS.md, "Speckle noise").
    """
    if window > 0:
        from scipy import ndimage

        size = (window, window) + (0,) * (np.ndim(noisy) - 2)
        local = ndimage.gaussian_filter(np.maximum(np.asarray(noisy, dtype=np.float64), 0.0), size, mode="reflect")
        own = ndimage.gaussian_filter(out, size, mode="reflect")
        out *= np.divide(local, own, out=np.ones_like(own), where=own > 0)
    return out


def speckle_log_sigma(looks: float) -> float:
    """The std of ``ln G`` for ``G`` of :func:`noise2x.noise.speckle` (Gamma, shape ``looks``, mean 1):
    ``sqrt(trigamma(looks))`` (1.28 at one look, 0.53 at 4, 0.25 at 16)."""
    from scipy.special import polygamma

    return float(np.sqrt(polygamma(1, float(looks))))


def speckle_looks(sigma_log: float) -> float:
    """The number of looks whose log-speckle std (:func:`speckle_log_sigma`) is ``sigma_log`` (the inverse)."""
    from scipy.optimize import brentq

    lo, hi = 1e-3, 1e15
    s = float(sigma_log)
    if s >= speckle_log_sigma(lo):
        return lo
    if s <= speckle_log_sigma(hi):
        return hi
    return float(np.exp(brentq(lambda t: speckle_log_sigma(np.exp(t)) - s, np.log(lo), np.log(hi), xtol=1e-10)))


def speckle_log(noisy: np.ndarray, *, looks: float) -> tuple[np.ndarray, float, float, float]:
    """Homomorphic transform of ``looks``-look speckle (:func:`noise2x.noise.speckle`), mapped to 8-bit units.

    ``ln(y) = ln(x) + ln(G)``: the multiplicative speckle becomes additive noise of one std,
    :func:`speckle_log_sigma` (not Gaussian at few looks: skewed to dark values), whose mean
    ``digamma(looks) - ln(looks)`` :func:`inverse_speckle_log` takes back out. The logarithm is mapped so that
    its 0.1 to 99.9 percentiles span 0..255, the units the shipped models and BM3D's settings are made for.
    Values of 0 or below (a rounded dark pixel) take half the smallest positive value.

    Returns
    -------
    (mapped, sigma, lo, scale)
        The mapped logarithm (float64, the input's shape), the noise std there, and the map
        ``mapped = (ln(y) - lo) * scale``.
    """
    y = np.asarray(noisy, dtype=np.float64)
    positive = y[y > 0]
    if positive.size == 0:
        raise InputError("speckle noise multiplies intensities: the image has no value above 0 to take the "
                         "logarithm of")
    z = np.log(np.maximum(y, 0.5 * float(np.min(positive))))
    lo, hi = (float(v) for v in np.percentile(z, [0.1, 99.9]))
    scale = 255.0 / (hi - lo) if hi - lo > 1e-12 else 1.0
    return (z - lo) * scale, speckle_log_sigma(looks) * scale, lo, scale


def speckle_of(noisy: np.ndarray, noise: Any, mask: Any = None) -> dict[str, Any] | None:
    """The homomorphic route's settings for a declared speckle noise (:func:`noise2x.noise.speckle`), else None.

    Returns a dict: ``mapped`` and ``sigma`` (:func:`speckle_log`), ``looks``, ``lo`` and ``scale`` (for
    :func:`inverse_speckle_log`) and ``label`` (what was done, for ``info["transform"]``). A range of looks
    (``speckle:looks=1..16``) takes the level read on the logarithm (from the pixels of ``mask``), held to
    the range.
    """
    if getattr(noise, "name", None) != "speckle":
        return None
    looks = noise.params["looks"]
    ranged = isinstance(looks, tuple)
    mapped, sigma, lo, scale = speckle_log(noisy, looks=looks[0] if ranged else looks)
    label = ""
    if ranged:
        from .estimate import sigma as estimate_sigma

        read = float(estimate_sigma(mapped, mask=mask)) / scale
        held = min(max(read, speckle_log_sigma(looks[1])), speckle_log_sigma(looks[0]))
        looks, sigma = speckle_looks(held), held * scale
        label = f" read on the logarithm (std {read:.3g})" if held == read else f" (the logarithm read std {read:.3g})"
    label = f"log (speckle, {looks:.4g} looks{label}; its std {sigma / scale:.3g} there)"
    return {"mapped": mapped, "sigma": sigma, "looks": float(looks), "lo": lo, "scale": scale, "label": label}


def inverse_speckle_log(mapped: np.ndarray, *, looks: float, lo: float, scale: float) -> np.ndarray:
    """The intensity of a denoised :func:`speckle_log` result: ``exp(mapped / scale + lo - bias)``, ``bias`` the
    mean of ``ln G``, ``digamma(looks) - ln(looks)`` (-0.58 at one look)."""
    from scipy.special import digamma

    bias = float(digamma(float(looks)) - np.log(float(looks)))
    return np.exp(np.asarray(mapped, dtype=np.float64) / scale + (lo - bias))


def _check_image(noisy: Any) -> np.ndarray:
    """A float64 copy of a (H,W) or (H,W,C) image with finite values, or InputError."""
    image = np.array(noisy, dtype=np.float64)  # a copy: the input is never touched
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3):
        raise InputError(f"expected an image of shape (H,W) or (H,W,C), got shape {np.shape(noisy)}")
    if min(image.shape[:2]) < 2:
        raise InputError(f"image is {image.shape[0]}x{image.shape[1]}, at least 2x2 is needed")
    if not np.all(np.isfinite(image)):
        raise InputError("the input image contains NaN or infinite values")
    return image


def _reject_unknown(method: str, unknown: dict[str, Any], valid: tuple[str, ...]) -> None:
    if unknown:
        names = ", ".join(sorted(unknown))
        raise UsageError(f"method '{method}' has no option {names}; valid options: {', '.join(valid)}")


def _noise_spec(noise: Any, method: str) -> Any:
    """``noise`` as a NoiseSpec (or None): a spec string is parsed, as ``noise2x.denoise`` parses it (one was
    dropped unsaid, and Poisson noise given so got white-noise BM3D on an estimated sigma: a QA pass)."""
    from .noise import NoiseSpec, parse_noise

    if noise is None or isinstance(noise, NoiseSpec):
        return noise
    if isinstance(noise, str):
        return parse_noise(noise)
    raise UsageError(f"method '{method}': noise must be a noise spec string such as 'gaussian:sigma=25' or a "
                     f"NoiseSpec, got {type(noise).__name__}")


def _positive(name: str, value: Any, *, method: str, zero: bool = False) -> float:
    """``value`` as a finite number > 0 (``zero``: >= 0, 0 in any spelling: '0', '0.0', 0.0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"method '{method}': option {name} must be a number, got {value!r}") from None
    if not np.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise UsageError(f"method '{method}': option {name} must be a {'number >= 0' if zero else 'positive number'}"
                         f", got {value!r}")
    return number


#: BM3D's ``black``: refused where more of the image's values than this lie under it ...
BLACK_ABOVE = 0.9
#: ... and noted where more than this (a dark frame's, about its true black level, about half)
BLACK_NOTED = 0.6


def _finite(name: str, value: Any, *, method: str) -> float:
    """``value`` as a finite number (any sign; not a bool)."""
    if isinstance(value, (bool, np.bool_)):
        raise UsageError(f"method '{method}': option {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"method '{method}': option {name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise UsageError(f"method '{method}': option {name} must be a finite number, got {value!r}")
    return number


def _int_option(name: str, value: Any, *, method: str, minimum: int = 1) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"method '{method}': option {name} must be an integer, got {value!r}") from None
    if number != float(value) or number < minimum:
        raise UsageError(f"method '{method}': option {name} must be an integer >= {minimum}, got {value!r}")
    return number


def _vst_params_of(noise: Any) -> tuple[float, float] | None:
    """``(alpha, sigma)`` of the generalised Anscombe transform for a known Poisson noise, else None.

    PROTOCOL's Poisson noise ``data_range * Poisson(peak * x / data_range) / peak``
    is ``alpha * Poisson(.)`` with ``alpha = data_range / peak``;
    ``poisson_gaussian`` adds white Gaussian noise of std ``sigma``. Ranges
    (random levels) are not known values: None.
    """
    name = getattr(noise, "name", None)
    if name not in ("poisson", "poisson_gaussian"):
        return None
    params = getattr(noise, "params", None) or {}
    peak = params.get("peak")
    sigma = params.get("sigma", 0.0) if name == "poisson_gaussian" else 0.0
    data_range = params.get("data_range", 255.0)
    if any(v is None or isinstance(v, tuple) for v in (peak, sigma, data_range)):
        return None
    return float(data_range) / float(peak), float(sigma)


#: Full scales an image's values may be clipped at: [0, 1] data, 8-, 10-, 12-, 14- and 16-bit
_CLIP_BOUNDS = (1.0, 255.0, 1023.0, 4095.0, 16383.0, 65535.0)


def _estimate_sigma(image: np.ndarray, mask: Any = None) -> float:
    """The white noise's sigma read on ``image``, its clipped pixels found at the full scale of its units: the
    smallest of :data:`_CLIP_BOUNDS` its values do not exceed (255 read [0, 1] data's saturated areas as flat
    ones: the sigma of scikit-image's clipped noise read 35% low, a QA pass)."""
    from .estimate import sigma as estimate_sigma

    values = image if mask is None else image[np.asarray(mask, dtype=bool)]
    top = float(np.max(values)) if values.size else 255.0
    bound = next((b for b in _CLIP_BOUNDS if top <= b), top)
    return float(estimate_sigma(image, mask=mask, data_range=bound))


def _with_noise_level(
    image: np.ndarray,
    core: Callable[[np.ndarray, float], np.ndarray],
    *,
    sigma: Any,
    noise: Any,
    info: dict[str, Any] | None,
    method: str,
    mask: Any = None,
    beta: float | str | None = None,
    gain: float | None = None,
    along: str | None = None,
    black: float | None = None,
) -> np.ndarray:
    """Run ``core(x, sigma_of_x)`` with the noise level chosen by the module's rules (an estimate: from the
    pixels of ``mask`` where given).

    ``gain`` (BM3D): Poisson-Gaussian noise of variance ``gain * (x - black) + sigma**2`` (``sigma`` and ``black``
    0 if not given): the core gets the generalised Anscombe transform of the image at unit sigma, mapped back with
    its inverse.

    ``beta`` (BM3D): the correlated fraction of a given ``sigma``'s variance; where it is given, or the noise
    spec is :func:`noise2x.noise.correlated` noise, the core gets the noise's power spectral density
    (:func:`correlated_psd`, an (H,W) array) instead of a sigma. ``beta="auto"``: read from the image,
    along one axis where the noise is correlated along it alone (:func:`noise2x.estimate.correlation_direction`).
    ``along``: the axes of a given beta's correlated part ("both", "rows", "columns"; None: "both", or the noise
    spec's)."""
    from .noise import ALONG, CORRELATED_MODELS

    record: dict[str, Any] = {}
    sigma_read = False
    if along is not None:
        if along not in ALONG:
            raise UsageError(f"method '{method}': option along must be both, rows or columns, got {along!r}")
        if beta is None and getattr(noise, "name", None) not in CORRELATED_MODELS:  # (a correlated spec gives beta)
            raise UsageError(f"method '{method}': option along (the axes of correlated noise) goes with beta "
                             f"(--set beta=B or beta=auto) or a correlated noise spec")
    if black is not None and gain is None:
        raise UsageError(f"method '{method}': option black (a camera's black level) goes with gain (Poisson-Gaussian "
                         f"noise: --set gain=G --set black=B)")
    if gain is not None:
        if beta is not None:
            raise UsageError(f"method '{method}': gain (Poisson-Gaussian noise) and beta (correlated noise) cannot be "
                             "combined")
        alpha = _positive("gain", gain, method=method)
        read = 0.0 if sigma is None else _positive("sigma", sigma, method=method, zero=True)  # (0: no read noise)
        level = 0.0 if black is None else _finite("black", black, method=method)
        below = float(np.mean(image < level)) if level else 0.0
        if below > BLACK_ABOVE:  # (the inverse transform holds nothing under it: a black level of 512 given for
            # a 12-bit camera's 256 made the whole image 512, unsaid, a re-check)
            raise UsageError(f"method '{method}': black {level:g} lies above {below:.1%} of the image's values "
                             f"(median {float(np.median(image)):.6g}): a black level is the value of no light, which "
                             f"a dark frame's values sit about")
        if below > BLACK_NOTED:  # (a black level a little too high, by 1.6 read-noise stds, turned a sky frame's
            # 97% into that level, unsaid: a re-check)
            from .errors import NoteWarning, warn_outside

            warn_outside(NoteWarning(f"black {level:g} lies above {below:.0%} of the image's values: those under "
                                     f"it come back near {level:g} (no signal), as flat; check the black level (a "
                                     f"dark frame's median)"))
        label = f"gain={alpha:.4g}" + (f", sigma={read:.4g}" if read else "") + (
            f", black={level:.6g}" if level else "")
        record.update(sigma=1.0, sigma_source="given", transform=f"{'generalised ' if read else ''}anscombe ({label})")
        out = inverse_anscombe(core(anscombe(image, alpha=alpha, sigma=read, mu=level), 1.0), alpha=alpha, sigma=read,
                               mu=level)
        if info is not None:
            info.update(record)
        return np.asarray(out, dtype=np.float64)
    if isinstance(beta, str) and beta.strip().lower() == "auto":
        # beta and (unless given) the marginal sigma read as the no-option choice reads them; a beta of at most
        # CORRELATED_BETA reads as white noise (image texture and white noise read alike there): BM3D for white
        # noise, of the given or estimated sigma
        from .estimate import correlation_axes, correlation_by_channel
        from .pretrained import CORRELATED_BETA, one_axis

        reading = correlation_axes(image, mask=mask)
        axis_sigma, beta_rows, beta_columns = reading[:3]
        if along is None:  # (noise correlated along one axis: a line scan's, an SEM's; read as both, its beta
            # halves and its spectrum is spread over both axes: an SEM user's QA pass), as the no-option choice
            # takes it (its own rule had weak white noise over texture go there: a re-check)
            along = one_axis(reading, image.shape)
            along = None if along == "both" else along
        if along in ("rows", "columns"):  # (read along the axis, as given or found)
            read_sigma, read_beta = axis_sigma, beta_rows if along == "rows" else beta_columns
        else:
            read_sigma, read_beta = correlation_by_channel(image, mask=mask)
        record.update(beta_source="estimated", estimated_beta=read_beta,
                      estimated_beta_axes={"rows": round(beta_rows, 3), "columns": round(beta_columns, 3)})
        beta = read_beta if read_beta > CORRELATED_BETA and (sigma is not None or read_sigma > 0) else None
        if beta is not None and sigma is None:
            sigma, sigma_read = read_sigma, True
    if along is None:
        along = CORRELATED_MODELS.get(getattr(noise, "name", None), "both")
    spec_correlated = (beta is None and sigma is None and noise is not None
                       and getattr(noise, "name", None) in CORRELATED_MODELS and noise.gaussian_sigma is None
                       and not noise.is_random_level)
    if spec_correlated and method != "bm3d":  # a core of one sigma (NLM): the correlated noise's marginal sigma
        # (its spectrum went to NLM as its sigma, a TypeError from scikit-image: an SEM user's QA pass)
        sigma, spec_correlated = float(noise.params["sigma"]), False
        record["sigma_source"] = f"noise spec (the marginal sigma of its {noise.name} noise)"
    if beta is not None or spec_correlated:
        if spec_correlated:
            level, beta, radius = (float(noise.params[k]) for k in ("sigma", "beta", "radius"))
            record.update(sigma=level, beta=beta, sigma_source="noise spec")
        else:
            try:
                beta = float(beta)
            except (TypeError, ValueError):
                raise UsageError(f"method '{method}': option beta must be a number or auto, got {beta!r}") from None
            radius, source = 2.0, "estimated" if sigma_read else "given"
            if sigma is None and noise is not None and not noise.is_random_level:
                # the level of a declared noise of one level: a white one's sigma, a correlated one's marginal sigma
                # (and radius); the option's beta in place of the spec's
                if getattr(noise, "name", None) in CORRELATED_MODELS:
                    sigma, radius = float(noise.params["sigma"]), float(noise.params["radius"])
                else:
                    sigma = getattr(noise, "gaussian_sigma", None)
                source = "noise spec"
            if sigma is None:
                raise UsageError(f"method '{method}': beta (the correlated fraction of the noise) needs sigma too "
                                 "(--set sigma=S, or a --noise of one Gaussian level), or beta=auto to read both "
                                 "from the image")
            level = _positive("sigma", sigma, method=method)
            if not 0.0 <= beta <= 1.0:  # (NaN too)
                raise UsageError(f"method '{method}': option beta must lie in 0..1, got {beta:g}")
            record.update(sigma=level, beta=beta, sigma_source=source)
        said = "" if along == "both" else f", along {along}"
        record["psd"] = f"correlated noise (sigma {level:.4g}, beta {beta:.3g}, radius {radius:g}{said})"
        out = core(image, correlated_psd(level, beta, image.shape[:2], radius=int(radius), along=along))
    elif sigma is not None:
        level = _positive("sigma", sigma, method=method)
        record.update(sigma=level, sigma_source=record.get("sigma_source", "given"))
        out = core(image, level)
    elif noise is not None and getattr(noise, "gaussian_sigma", None) is not None:
        level = float(noise.gaussian_sigma)
        record.update(sigma=level, sigma_source="noise spec")
        out = core(image, level)
    elif (vst := _vst_params_of(noise)) is not None:
        alpha, gauss = vst
        label = f"alpha={alpha:.4g}" + (f", sigma={gauss:.4g}" if gauss else "")
        record.update(sigma=1.0, sigma_source="noise spec", transform=f"anscombe ({label})")
        stabilised = core(anscombe(image, alpha=alpha, sigma=gauss), 1.0)
        out = inverse_anscombe(stabilised, alpha=alpha, sigma=gauss)
    elif (log := speckle_of(image, noise, mask)) is not None:
        # multiplicative speckle: additive of one std in the logarithm (the homomorphic route), mapped to 8-bit units
        record.update(sigma=log["sigma"], sigma_source="noise spec", transform=log["label"])
        out = keep_speckle_mean(image, inverse_speckle_log(core(log.pop("mapped"), log["sigma"]), looks=log["looks"],
                                                           lo=log["lo"], scale=log["scale"]))
    else:
        level = _estimate_sigma(image, mask)
        record.update(sigma=level, sigma_source="estimated")
        if level <= 0:  # a noise-free (e.g. constant) image: nothing to remove
            out = image.copy()
        else:
            out = core(image, level)
    if info is not None:
        info.update(record)
    return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------------------
# BM3D


def correlated_psd(sigma: float, beta: float, shape: tuple[int, int], *, radius: int = 2,
                   along: str = "both") -> np.ndarray:
    """The power spectral density of :func:`noise2x.noise.correlated` noise on an image of ``shape``, as the
    ``bm3d`` package takes it (``sigma_psd``): the DFT of the noise's covariance
    (:func:`noise2x.noise.correlated_covariance`) wrapped onto the image grid, times H*W (white noise of std
    ``s``: ``s**2 * H * W`` at every frequency). BM3D given it filters correlated noise as such (Makinen, Azzari &
    Foi, "Collaborative filtering of correlated noise", IEEE TIP 2020), not as white noise of its variance.
    ``along``: the axes of the correlated part ("rows", "columns": :func:`noise2x.noise.correlated_rows`)."""
    from .noise import correlated_covariance

    h, w = int(shape[0]), int(shape[1])
    cov = correlated_covariance(sigma=sigma, beta=beta, radius=radius, along=along)
    r = cov.shape[0] // 2
    kernel = np.zeros((h, w))
    offsets = np.arange(-r, r + 1)
    np.add.at(kernel, (offsets[:, None] % h, offsets[None, :] % w), cov)  # (wraps around on tiny images)
    return np.maximum(np.real(np.fft.fft2(kernel)), 0.0) * (h * w)


def _numpy_trapz() -> None:
    """The ``bm4d`` package under ``bm3d`` (4.2.5, the latest) calls ``numpy.trapz`` for a non-flat PSD, which
    NumPy 2.4 removed; give it back as ``numpy.trapezoid``, the same function under its new name."""
    if not hasattr(np, "trapz") and hasattr(np, "trapezoid"):
        np.trapz = np.trapezoid  # type: ignore[attr-defined]


#: The ``bm3d`` package needs an image larger than its 8x8 blocks (smaller ones: an error, and 8x8 crashed the
#: process); a smaller side is mirrored out to this many pixels, denoised, and cropped back.
BM3D_MIN_SIDE = 16


def _psd_on(psd: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The noise PSD ``psd`` (on its own image grid, as :func:`correlated_psd` gives it) on a larger grid: its
    covariance (the inverse DFT), each offset put at the same offset of the new grid, and the DFT back."""
    h, w = psd.shape
    big_h, big_w = int(shape[0]), int(shape[1])
    cov = np.real(np.fft.ifft2(psd)) / (h * w)
    dy = np.arange(h)
    dy = np.where(dy <= h // 2, dy, dy - h)  # the signed offsets of the small grid
    dx = np.arange(w)
    dx = np.where(dx <= w // 2, dx, dx - w)
    kernel = np.zeros((big_h, big_w))
    np.add.at(kernel, (dy[:, None] % big_h, dx[None, :] % big_w), cov)
    return np.maximum(np.real(np.fft.fft2(kernel)), 0.0) * (big_h * big_w)


#: Worker threads left running in a C library by an interruption (see :func:`_interruptible`)
ABANDONED: list = []


def _interruptible(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread, the main thread waiting on it: Ctrl-C and SIGTERM then stop the
    command at once, where a long C call (BM3D's, through ctypes, which lets go of the interpreter) deferred them
    until it returned (45-57 s on a 1-MP image, in a QA pass). The worker, left running after an interruption
    (:data:`ABANDONED`), ends with the process: the CLI ends it without the interpreter's shutdown, which the C
    library's own threads abort. Called from another thread, ``fn`` runs there."""
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["out"] = fn(*args, **kwargs)
        except BaseException as exc:  # (handed to the caller)
            box["error"] = exc

    worker = threading.Thread(target=work, name="noise2x-bm3d", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except BaseException:
        ABANDONED.append(worker)  # (still in the C library: the CLI ends the process without unwinding it)
        raise
    if "error" in box:
        raise box["error"]
    return box["out"]


def _bm3d_after_fork() -> None:
    """In a fork-started child: the lock is copied as it was; held, it would be held for ever (the call holding it
    is not in the child), and a BM3D call there waits for ever (a QA re-check: a pool started while a thread ran
    BM3D)."""
    global _BM3D_LOCK, _BM3D_FORKED_BUSY
    if _BM3D_LOCK.locked():
        _BM3D_FORKED_BUSY = True
        _BM3D_LOCK = threading.Lock()


_BM3D_LOCK = threading.Lock()
_BM3D_FORKED_BUSY = False
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_bm3d_after_fork)

#: Images whose largest magnitude is below this run through BM3D scaled to a top of 255 (:func:`_bm3d_one_at_a_time`)
_BM3D_TINY = 1e-2


def _bm3d_one_at_a_time(image: np.ndarray, level: float | np.ndarray, *, profile: str) -> np.ndarray:
    """:func:`_bm3d_core`, one call at a time in the process: the bm3d package's C library keeps one thread pool
    for the process and aborts the interpreter when entered twice (two Python threads, or a call after an
    interrupted one whose worker is still inside it: a QA pass lost a Jupyter kernel so). A second call waits for
    the first to end."""
    if _BM3D_FORKED_BUSY:  # (its C library's threads are not in this process: a call here could hang)
        raise Noise2xError("this process was started by fork while another thread ran BM3D, whose library cannot "
                           "run in it: start worker processes with 'spawn' or 'forkserver' "
                           "(multiprocessing.get_context('spawn'))")
    base = pedestal(image) if image.size else 0.0
    if base:  # (its float32 arithmetic lost an image on a pedestal of 1e7: see pedestal)
        return _bm3d_one_at_a_time(image - base, level, profile=profile) + base
    top = float(np.max(np.abs(image))) if image.size else 0.0
    # the package is not scale-equivariant for tiny values (a flux image in 1e-8 units came back near 0, 11 dB
    # where 35 in any larger units: a QA pass): such an image runs in 8-bit-like units and is scaled back
    gain = 255.0 / top if 0.0 < top < _BM3D_TINY else 1.0
    with _BM3D_LOCK:
        if gain == 1.0:
            return _bm3d_core(image, level, profile=profile)
        level = np.asarray(level, dtype=np.float64) * (gain ** 2 if np.ndim(level) == 2 else gain)
        return _bm3d_core(image * gain, level if np.ndim(level) == 2 else float(level), profile=profile) / gain


def _bm3d_core(image: np.ndarray, level: float | np.ndarray, *, profile: str) -> np.ndarray:
    """BM3D (CBM3D on RGB) at noise std ``level``, or of the noise PSD ``level`` ((H,W): :func:`correlated_psd`)."""
    try:
        import bm3d as bm3d_package
    except ImportError:
        raise MissingDependency("BM3D needs the bm3d package (a dependency of noise2x; its own licence, "
                                "non-commercial use: see README, Licence): pip install bm3d") from None
    except OSError as exc:  # (its binary library has no build for this platform: Windows on ARM, arm64 Linux)
        import platform

        raise MissingDependency(f"BM3D's library cannot be loaded here ({platform.system()} {platform.machine()}: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); the bm3d package "
                                f"ships it for x86-64 Linux and Windows and for macOS") from None

    h, w = image.shape[:2]
    if min(h, w) < BM3D_MIN_SIDE:  # mirrored out to the least size the package takes, and cropped back
        pad = ((0, max(0, BM3D_MIN_SIDE - h)), (0, max(0, BM3D_MIN_SIDE - w))) + ((0, 0),) * (image.ndim - 2)
        big = np.pad(image, pad, mode="symmetric")
        if np.ndim(level) == 2:
            level = _psd_on(np.asarray(level, dtype=np.float64), big.shape[:2])
        return _bm3d_core(big, level, profile=profile)[:h, :w]
    if profile == "refilter" and np.ndim(level) != 2:  # (the package's refilter fails on a scalar sigma, inside
        # bm4d: white noise's flat spectrum, as correlated_psd makes it, runs: a QA pass of the classical baselines)
        level = np.full((h, w), float(level) ** 2 * h * w)
    psd = np.ndim(level) == 2
    if psd:
        _numpy_trapz()
    if image.ndim == 2:
        if np.ptp(image) == 0:
            return image.copy()
        return bm3d_package.bm3d(image, sigma_psd=level, profile=profile)
    if image.shape[-1] != 3:  # other channel counts: multichannel BM3D (matching on channel 0)
        return bm3d_package.bm3d(image, sigma_psd=level, profile=profile)
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]):
        # a gray image stored as RGB: its noise is the same in the three channels, so their mean holds all of it
        # (the opponent transform below assumes noise drawn per channel, and gave it a third of its variance)
        return np.repeat(_bm3d_core(image[..., 0], level, profile=profile)[..., None], 3, axis=-1)
    opp = image.reshape(-1, 3) @ _OPP.T
    tiny = 1e-9 * max(1.0, float(np.max(np.abs(image))))
    flat = np.ptp(opp, axis=0) <= tiny
    if not flat.any():
        return bm3d_package.bm3d_rgb(image, sigma_psd=level, profile=profile)
    # A flat opponent component (e.g. a gray image stored as RGB) would make
    # bm3d_rgb divide by zero: denoise the other components one by one at
    # their own noise level (sigma * norm of the transform row), keep the flat
    # ones, and transform back.
    components = opp.reshape(image.shape)
    out = components.copy()
    for k in np.flatnonzero(~flat):
        gain = float(np.linalg.norm(_OPP[k]))  # (a PSD scales with its square)
        out[..., k] = bm3d_package.bm3d(components[..., k], sigma_psd=level * (gain * gain if psd else gain),
                                        profile=profile)
    return (out.reshape(-1, 3) @ np.linalg.inv(_OPP).T).reshape(image.shape)


_BM3D_PROFILES = ("np", "refilter", "vn", "vn_old", "high", "deb")


def bm3d(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    mask: Any = None,
    sigma: float | None = None,
    beta: float | str | None = None,
    gain: float | None = None,
    profile: str = "np",
    along: str | None = None,
    black: float | None = None,
    **unknown: Any,
) -> np.ndarray:
    """BM3D (Dabov et al. 2007) through the ``bm3d`` package; CBM3D for RGB; correlated noise by its spectrum.

    Spatially correlated noise (a ``correlated`` noise spec, or ``sigma`` with ``beta``) is filtered through
    its power spectral density (:func:`correlated_psd`; Makinen, Azzari & Foi 2020), not as white noise.

    Parameters
    ----------
    noisy : ndarray
        Noisy image (H,W) or (H,W,C) in its own units, unclipped values allowed.
    noise : NoiseSpec or str, optional
        The known noise (its Gaussian sigma, or a Poisson peak: Anscombe + BM3D).
    rng : any, optional
        Unused (BM3D is deterministic); part of the common contract.
    info : dict, optional
        Filled with ``sigma``, ``sigma_source`` (and ``transform`` for Poisson).
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: an estimated sigma is read
        from them only (e.g. the opaque pixels of an RGBA image).
    sigma : float, optional
        Gaussian noise level in the image's units; overrides ``noise`` and the
        estimate.
    beta : float or "auto", optional
        With ``sigma``: the noise is :func:`noise2x.noise.correlated` noise of marginal std ``sigma`` whose
        fraction ``beta`` (0..1) of the variance is spatially correlated (radius 2); without it, the sigma of a
        ``noise`` of one level (a Gaussian one's, a correlated one's marginal sigma and radius, its beta replaced
        by this one). ``"auto"``: ``beta`` and,
        unless given, ``sigma`` read from the image as ``noise2x denoise`` without options reads them
        (:func:`noise2x.estimate.correlation_by_channel`); a ``beta`` of at most
        :data:`noise2x.pretrained.CORRELATED_BETA` counts as white noise (BM3D with the white sigma, given or
        estimated). Noise correlated along one axis alone (a line scan's or scanning microscope's: its beta
        along the other under :data:`noise2x.estimate.ONE_AXIS_SHARE` of the first's) is read and filtered along
        that axis. ``info`` gets ``estimated_beta`` (the reading), ``estimated_beta_axes`` (along rows and along
        columns) and ``beta_source``.
    gain : float, optional
        Poisson-Gaussian noise of variance ``gain * x + sigma**2`` at the level ``x`` (image units; ``sigma``, the
        read noise, 0 if not given): BM3D at unit sigma after the generalised Anscombe transform, then the
        closed-form approximation of its exact unbiased inverse (Makitalo & Foi; :func:`anscombe`,
        :func:`inverse_anscombe`). Poisson noise of peak P on an image of
        range R has ``gain = R / P``. Not with ``beta``. A camera's raw data
        in its counts (DN): ``gain`` in DN per electron, ``sigma`` its read
        noise in DN, and ``black``.
    profile : str, default "np"
        The ``bm3d`` package profile: np, refilter, vn, vn_old, high, deb.
    along : {"both", "rows", "columns"}, optional
        The axes of the correlated part of a given ``beta`` (``rows``: :func:`noise2x.noise.correlated_rows`
        noise, horizontal streaks); default "both", a ``correlated_rows``/``_columns`` noise spec's axis, or with
        ``beta="auto"`` the axis read.
    black : float, optional
        With ``gain``: the level of no signal, a camera's black level (its
        offset in DN, e.g. 64, 256, 512): the variance is
        ``gain * (x - black) + sigma**2``, the read noise's values below it
        kept (unbiased). Default 0.

    Returns
    -------
    ndarray
        Denoised image, float64, same shape as ``noisy``.
    """
    _reject_unknown("bm3d", unknown, ("sigma", "beta", "gain", "profile", "along", "black"))
    noise = _noise_spec(noise, "bm3d")
    if profile not in _BM3D_PROFILES:
        raise UsageError(f"method 'bm3d': unknown profile {profile!r}; valid: {', '.join(_BM3D_PROFILES)}")
    image = _check_image(noisy)
    out = _with_noise_level(
        image, lambda x, s: _interruptible(_bm3d_one_at_a_time, x, s, profile=profile), sigma=sigma, noise=noise,
        info=info,
        method="bm3d",
        mask=mask, beta=beta, gain=gain, along=along, black=black,
    )
    return out.reshape(np.shape(noisy))


# ---------------------------------------------------------------------------
# non-local means

_SCALE = 255.0  # skimage's NLM is run on x / 255 with sigma / 255 (it is scale-equivariant)


def _nlm_core(image: np.ndarray, level: float, *, h: float, patch_size: int, patch_distance: int) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    out = denoise_nl_means(
        image / _SCALE,
        patch_size=patch_size,
        patch_distance=patch_distance,
        h=h / _SCALE,
        fast_mode=True,
        sigma=level / _SCALE,
        channel_axis=-1 if image.ndim == 3 else None,
    )
    return np.asarray(out, dtype=np.float64) * _SCALE


def nlm(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    mask: Any = None,
    sigma: float | None = None,
    h: float | None = None,
    patch_size: int = 5,
    patch_distance: int = 6,
    **unknown: Any,
) -> np.ndarray:
    """Non-local means (Buades et al. 2005): scikit-image ``denoise_nl_means``, fast mode.

    Parameters
    ----------
    noisy : ndarray
        Noisy image (H,W) or (H,W,C) in its own units, unclipped values allowed.
    noise : NoiseSpec or str, optional
        The known noise (its Gaussian sigma, or a Poisson peak: Anscombe + NLM).
    rng : any, optional
        Unused (deterministic); part of the common contract.
    info : dict, optional
        Filled with ``sigma``, ``sigma_source`` (and ``transform``, ``h``).
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: an estimated sigma is read
        from them only (e.g. the opaque pixels of an RGBA image).
    sigma : float, optional
        Gaussian noise level in the image's units; overrides ``noise`` and the
        estimate.
    h : float, optional
        Filtering strength in the image's units; default ``0.8 * sigma``.
    patch_size, patch_distance : int, default 5, 6
        Patch side and search radius in pixels.

    Returns
    -------
    ndarray
        Denoised image, float64, same shape as ``noisy``.
    """
    _reject_unknown("nlm", unknown, ("sigma", "h", "patch_size", "patch_distance"))
    noise = _noise_spec(noise, "nlm")
    patch_size = _int_option("patch_size", patch_size, method="nlm")
    patch_distance = _int_option("patch_distance", patch_distance, method="nlm")
    h_value = None if h is None else _positive("h", h, method="nlm")
    image = _check_image(noisy)

    def core(x: np.ndarray, level: float) -> np.ndarray:
        strength = 0.8 * level if h_value is None else h_value
        if info is not None:
            info["h"] = strength
        return _nlm_core(x, level, h=strength, patch_size=patch_size, patch_distance=patch_distance)

    out = _with_noise_level(image, core, sigma=sigma, noise=noise, info=info, method="nlm", mask=mask)
    return out.reshape(np.shape(noisy))


# ---------------------------------------------------------------------------
# Noise2Self-calibrated denoisers (no noise level needed)


def _calibrated(
    image: np.ndarray,
    function: Callable[..., np.ndarray],
    grid: dict[str, list[Any]],
    *,
    invariant: bool,
    info: dict[str, Any] | None,
) -> np.ndarray:
    """Pick the parameters of ``function`` minimising the J-invariant self-supervised loss.

    ``skimage.restoration.calibrate_denoiser`` scores each parameter set on a
    masked copy of the image (Batson & Royer 2019). The best set is then
    applied to the whole image with the plain denoiser (``invariant=False``,
    one call, usually better) or with its J-invariant version
    (``invariant=True``, 16 calls).
    """
    from skimage.restoration import calibrate_denoiser, denoise_invariant

    x = image / _SCALE
    if image.ndim == 3:
        grid = {**grid, "channel_axis": [-1]}
    _, (tested, losses) = calibrate_denoiser(x, function, grid, extra_output=True)
    best = dict(tested[int(np.argmin(losses))])
    if invariant:
        out = denoise_invariant(x, function, denoiser_kwargs=best)
    else:
        out = function(x, **best)
    if info is not None:
        best.pop("channel_axis", None)
        info["calibrated"] = {k: (v * _SCALE if k in ("h", "sigma") else v) for k, v in best.items()}
        info["calibration_loss"] = float(np.min(losses)) * _SCALE**2
    return np.asarray(out, dtype=np.float64) * _SCALE


def _grid_scale(image: np.ndarray, info: dict[str, Any] | None) -> float:
    """The estimated noise level (image units) that centres a calibration grid."""
    level = _estimate_sigma(image)
    if info is not None:
        info.update(sigma=level, sigma_source="estimated")
    # a floor keeps the grid meaningful on (nearly) noise-free images
    return max(level, 1e-3 * max(1.0, float(np.ptp(image))))


def nlm_calibrated(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    invariant: bool = False,
    **unknown: Any,
) -> np.ndarray:
    """Non-local means with ``h`` and patch size chosen by Noise2Self calibration.

    The grid is ``h`` in {0.4, 0.6, 0.8, 1.0, 1.2} x an estimated sigma and
    patch sizes {3, 5, 7} (search radius 6, fast mode); the self-supervised
    J-invariant loss picks the best, so no noise level has to be known. The
    ``noise`` argument is ignored.

    Parameters
    ----------
    noisy : ndarray
        Noisy image (H,W) or (H,W,C) in its own units, unclipped values allowed.
    noise, rng : optional
        Unused; part of the common contract.
    info : dict, optional
        Filled with ``sigma`` (the estimate), ``sigma_source``, ``calibrated``
        (the chosen parameters, ``h`` and ``sigma`` in image units) and
        ``calibration_loss``.
    invariant : bool, default False
        Return the J-invariant denoiser's output (16 NLM calls) instead of one
        plain NLM call with the chosen parameters.

    Returns
    -------
    ndarray
        Denoised image, float64, same shape as ``noisy``.
    """
    from skimage.restoration import denoise_nl_means

    _reject_unknown("nlm_calibrated", unknown, ("invariant",))
    _noise_spec(noise, "nlm_calibrated")  # (ignored, but of the contract's types, as bm3d's and nlm's)
    image = _check_image(noisy)
    s = _grid_scale(image, info) / _SCALE
    grid = {
        "h": [f * s for f in (0.4, 0.6, 0.8, 1.0, 1.2)],
        "patch_size": [3, 5, 7],
        "patch_distance": [6],
        "sigma": [s],
        "fast_mode": [True],
    }
    out = _calibrated(image, denoise_nl_means, grid, invariant=bool(invariant), info=info)
    return out.reshape(np.shape(noisy))


def wavelet_calibrated(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    invariant: bool = False,
    **unknown: Any,
) -> np.ndarray:
    """Wavelet shrinkage (scikit-image ``denoise_wavelet``) calibrated by Noise2Self.

    The grid is the threshold rule (BayesShrink, VisuShrink), the wavelet (db1,
    db2, sym4) and sigma in {0.5, 0.75, 1, 1.25, 1.5} x an estimated sigma, with
    soft thresholding; the self-supervised J-invariant loss picks the best. The
    ``noise`` argument is ignored.

    Parameters
    ----------
    noisy : ndarray
        Noisy image (H,W) or (H,W,C) in its own units, unclipped values allowed.
    noise, rng : optional
        Unused; part of the common contract.
    info : dict, optional
        Filled with ``sigma`` (the estimate), ``sigma_source``, ``calibrated``
        and ``calibration_loss``.
    invariant : bool, default False
        Return the J-invariant denoiser's output instead of one plain call.

    Returns
    -------
    ndarray
        Denoised image, float64, same shape as ``noisy``.
    """
    from skimage.restoration import denoise_wavelet

    _reject_unknown("wavelet_calibrated", unknown, ("invariant",))
    _noise_spec(noise, "wavelet_calibrated")
    image = _check_image(noisy)
    s = _grid_scale(image, info) / _SCALE
    grid = {
        "sigma": [f * s for f in (0.5, 0.75, 1.0, 1.25, 1.5)],
        "wavelet": ["db1", "db2", "sym4"],
        "method": ["BayesShrink", "VisuShrink"],
        "mode": ["soft"],
        "rescale_sigma": [True],
    }
    out = _calibrated(image, denoise_wavelet, grid, invariant=bool(invariant), info=info)
    return out.reshape(np.shape(noisy))


# ---------------------------------------------------------------------------
# bilevel (black-and-white) images: specks


#: The largest speck (pixels, 8-connected) that ``despeckle`` removes by default: a 1-bit scan's dust and flipped
#: pixels, well under a 300 dpi scan's full stop (about 3x3 pixels at 10 points)
SPECK_PIXELS = 2


def bilevel_levels(image: np.ndarray) -> tuple[float, float] | None:
    """The two values of a gray image that holds exactly two (a 1-bit scan's black and white, in any units), low
    first; None for any other image (more or fewer values, more channels)."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        return None
    low = arr.min()
    high = arr.max()
    if not low < high or np.any((arr != low) & (arr != high)):
        return None
    return float(low), float(high)


def specks(binary: np.ndarray, size: int) -> np.ndarray:
    """The pixels of ``binary`` ((H,W) bool, True the light value) in specks, which flip to the other value:
    8-connected groups of at most ``size`` pixels of False (dark dots on white), then of True in what that leaves
    (light holes in black: a hole inside a dot removed is no longer one)."""
    from scipy import ndimage

    current = np.array(binary, dtype=bool)
    for value in (False, True):
        labels, n = ndimage.label(current == value, structure=np.ones((3, 3), bool))
        if n:
            small = np.bincount(labels.ravel(), minlength=n + 1) <= size
            small[0] = False  # (the other value's pixels)
            current[small[labels]] = not value
    return current != binary


def despeckle(
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    mask: Any = None,
    size: int = SPECK_PIXELS,
    **unknown: Any,
) -> np.ndarray:
    """Remove specks from a bilevel (black-and-white) image: a 1-bit scan's dust and flipped pixels.

    Each 8-connected group of at most ``size`` pixels of one value (a dark
    dot on white, a white hole in a black stroke) takes the other value, as
    a document scanner's despeckle filter does (unpaper's noise filter,
    Leptonica's removal of small components). The image keeps its two
    values; strokes, dots of type larger than ``size`` and every edge are
    left alone. Grey-level noise models do not apply to such an image (no
    grey levels to read a noise from). A dither's or halftone's isolated
    dots are specks too: do not run it on those.

    Parameters
    ----------
    noisy : ndarray
        A gray image (H,W) or (H,W,1) holding exactly two values (any units:
        0 and 255, 0 and 1, ...); anything else is an InputError.
    noise, rng : optional
        Unused (there is no noise level to give); part of the common contract.
    info : dict, optional
        Filled with ``specks`` (the pixels flipped), ``speck_size`` and
        ``levels``.
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: only those are changed.
    size : int, default 2
        The largest speck removed, in pixels (at 300 dpi a full stop of 10
        points covers about 9); 0 removes none (the image as it is: the
        no-option route's choice for a halftone or dither).

    Returns
    -------
    ndarray
        The despeckled image, float64, same shape and the same two values.
    """
    _reject_unknown("despeckle", unknown, ("size",))
    _noise_spec(noise, "despeckle")
    size = _int_option("size", size, method="despeckle", minimum=0)
    image = _check_image(noisy)
    levels = bilevel_levels(image)
    if levels is None:
        kinds = len(np.unique(image)) if image.ndim == 2 else 0
        what = f"{kinds} distinct values" if kinds else f"{image.shape[-1]} channels"
        raise InputError(f"method 'despeckle' takes a bilevel (black-and-white) gray image, holding two values only; "
                         f"this one holds {what}: use bm3d, nlm or a model for grey-level noise")
    low, high = levels
    flip = specks(image == high, size) if size else np.zeros(image.shape, bool)
    if mask is not None:
        valid = np.asarray(mask, dtype=bool)
        if valid.shape != image.shape:
            raise InputError(f"mask of shape {valid.shape} does not match the image ({image.shape})")
        flip &= valid
    out = np.where(flip, np.where(image == high, low, high), image)
    if info is not None:
        info.update(specks=int(np.count_nonzero(flip)), speck_size=size, levels=[low, high])
    return out.reshape(np.shape(noisy))


CLASSICAL: dict[str, Callable[..., np.ndarray]] = {
    "bm3d": bm3d,
    "nlm": nlm,
    "nlm_calibrated": nlm_calibrated,
    "wavelet_calibrated": wavelet_calibrated,
    "despeckle": despeckle,
}
