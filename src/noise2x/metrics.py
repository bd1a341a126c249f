"""Image quality measures with the parameters of PROTOCOL.md (numpy + scikit-image, no torch).

Both measures take the clean reference first and the prediction second, in
the image's own units (8-bit images: 0..255, hence ``data_range=255``), and
clip the prediction to ``[0, data_range]`` first (float, not rounded), as
PROTOCOL.md requires for every published figure. For signed data (a clean
image with values below 0: z-scored, background-subtracted, [-1, 1])
``data_range`` is the span of their units (max - min, as in scikit-image),
and the range the prediction is clipped to starts at the clean image's lowest
value (:func:`clip_range`). ``clip=False`` measures the
prediction as given: PROTOCOL.md's reference value (the unclipped noisy input
at Gaussian 25 scores 20.17 dB on BSD68) is measured that way.

>>> import numpy as np
>>> clean = np.full((16, 16), 100.0)
>>> round(psnr(clean, clean + 10.0), 2)   # MSE 100
28.13
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["clip_range", "psnr", "ssim"]


#: The peak value when none is given: 8-bit units
DEFAULT_RANGE = 255.0
#: :func:`ssim` reads the last axis of an (H,W,C) image as colour channels, of at most this many
SSIM_CHANNELS = 4


def _pair(clean: np.ndarray, pred: np.ndarray, *, data_range: float | None,
          clip: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate a (clean, pred) pair and return float64 copies, pred clipped when asked (:func:`clip_range`), and
    the peak value (where none is given, 255, which the clean image's values must not pass: a 16-bit reference
    measured against it gave negative PSNR, in a QA pass; as scikit-image refuses a reference outside its dtype's
    range). Signed data were clipped to [0, data_range] (data in [-1, 1] read far too low, a QA pass); then not
    clipped at all, which one reference pixel below 0 turned on (the score jumped: the QA re-check)."""
    from .io import as_numpy

    clean = np.asarray(as_numpy(clean))  # (a masked array refused, a torch tensor read)
    pred = np.asarray(as_numpy(pred))
    for name, arr in (("clean", clean), ("predicted", pred)):
        if arr.dtype.kind not in "uif":  # (True was measured as 1 against 255: a dtype QA pass)
            raise InputError(f"the {name} image must hold real numbers (integer or float), got dtype {arr.dtype}")
    if data_range is not None and (isinstance(data_range, bool) or not isinstance(data_range, (int, float, np.number))):
        raise InputError(f"data_range must be a positive number, got {data_range!r}")  # (a str raised a TypeError)
    if clean.shape != pred.shape:
        raise InputError(f"clean and predicted images differ in shape: {clean.shape} vs {pred.shape}")
    if clean.ndim not in (2, 3):
        raise InputError(f"expected an image of shape (H,W) or (H,W,C), got shape {clean.shape}")
    if clean.size == 0:
        raise InputError("cannot measure an empty image")
    if data_range is None and clean.dtype in (np.uint16, np.int16):  # a 16-bit reference: as scikit-image, its
        # dtype's top, or its span (int16: -32768..32767) where the values go below 0
        data_range = 65535.0 if clean.dtype == np.uint16 or clean.min() < 0 else 32767.0
        if float(np.ptp(clean)) < data_range / 16:  # (CT data in Hounsfield units, 12-bit data: 76 dB read where
            # 52 against their span, unsaid, a medical-imaging QA pass; as scikit-image warns. One text, so that a
            # loop over images is told once)
            from .errors import warn_outside

            warn_outside(UserWarning(
                f"data_range defaults to {clean.dtype}'s {data_range:g}, but the clean image spans under a 16th of "
                f"it: the PSNR reads far higher than against the span of its units; give data_range (e.g. 4095 for "
                f"12-bit data, the span of Hounsfield units)"))
    given = data_range is not None
    data_range = DEFAULT_RANGE if data_range is None else data_range
    if not np.isfinite(data_range) or data_range <= 0:
        raise InputError(f"data_range must be a positive number, got {data_range}")
    clean = clean.astype(np.float64)
    pred = pred.astype(np.float64)
    if not np.all(np.isfinite(clean)):
        raise InputError("the clean image contains NaN or infinite values")
    top, low = float(clean.max()), float(clean.min())
    signed = low < 0.0
    if not given and signed:
        raise InputError(f"the clean image holds negative values (down to {low:.6g}): give data_range, the span of "
                         f"its units (their largest value less their smallest: 2 for data in [-1, 1])")
    if not given and top > DEFAULT_RANGE * (1 + 1e-6):
        raise InputError(f"the clean image's values reach {top:.6g}, beyond 255, the peak of 8-bit units assumed "
                         f"when no data_range is given: give the peak of its units (e.g. data_range=65535 for "
                         f"16-bit images)")
    if not given and 0.0 < top <= 2.0 and np.any(clean != np.round(clean)):
        # data in [0, 1] (a pixel or two above: overshoot) measured against 255 read +48 dB and SSIM 0.9998 for
        # sigma 25 noise (in a QA pass)
        told = "give data_range=1" if top > 1 / 16 else (  # (a CT slice's 0..0.025 was told 1, a tomography QA
            "give data_range, the span of its units (1 for data in [0, 1])")  # pass)
        raise InputError(f"the clean image's values reach only {top:.4g}, with fractions: data in [0, 1] or the like, "
                         f"not 8-bit units, which are assumed when no data_range is given: {told}")
    if not np.all(np.isfinite(pred)):
        raise InputError("the predicted image contains NaN or infinite values")
    if clip:
        pred = np.clip(pred, *clip_range(low, top, data_range))
    return clean, pred, float(data_range)


def clip_range(low: float, top: float, data_range: float) -> tuple[float, float]:
    """The range a prediction is clipped to before it is measured, for a reference of values ``low`` to ``top``
    measured against ``data_range``: ``[0, data_range]`` (PROTOCOL.md), starting at ``low`` instead where it is
    below 0 (signed data), and widened to hold ``top`` (values a little over the range: resampling overshoot,
    percentile-normalised data): it moves with the reference, never cutting a value the reference holds."""
    start = min(0.0, float(low))
    return start, max(start + float(data_range), float(top))


def psnr(clean: np.ndarray, pred: np.ndarray, *, data_range: float | None = None, clip: bool = True) -> float:
    """Peak signal-to-noise ratio in dB, following PROTOCOL.md.

    Parameters
    ----------
    clean : ndarray
        Reference image, (H,W) or (H,W,C), in its own units.
    pred : ndarray
        Prediction of the same shape.
    data_range : float, optional
        Peak value: 65535 for 16-bit images, 1 for data in [0, 1]; for
        signed data (values below 0), the span of their units (2 for
        [-1, 1]). None (default): as scikit-image for a 16-bit clean image
        (65535 for uint16; 32767 for int16, 65535 where it holds values
        below 0), else 255, the peak of 8-bit images; a clean image whose
        values pass it, that holds fractions up to 2 at most (data in
        [0, 1]) or negative values, is refused (give its units').
    clip : bool, default True
        Clip ``pred`` to ``[0, data_range]`` (float, not rounded) first;
        from the clean image's lowest value where it is below 0, and up to
        its largest where that passes the range (:func:`clip_range`).

    Returns
    -------
    float
        ``10 * log10(data_range**2 / MSE)`` with the MSE over all pixels and
        channels; ``inf`` when the images are identical.

    Raises
    ------
    InputError
        Shapes differ, an image is empty, or holds NaN/inf; ``data_range``
        not a positive number; no ``data_range`` given and the clean image's
        values pass 255, are fractions up to 2 or go below 0.
    """
    clean, pred, data_range = _pair(clean, pred, data_range=data_range, clip=clip)
    mse = float(np.mean((clean - pred) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim(clean: np.ndarray, pred: np.ndarray, *, data_range: float | None = None, clip: bool = True) -> float:
    """Structural similarity with PROTOCOL.md's parameters.

    ``skimage.metrics.structural_similarity`` on float64 with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False`` and the
    given ``data_range``; colour images (H,W,C) use ``channel_axis=-1``.

    Parameters
    ----------
    clean : ndarray
        Reference image, (H,W) or (H,W,C), in its own units.
    pred : ndarray
        Prediction of the same shape.
    data_range : float, optional
        Peak value: 65535 for 16-bit images, 1 for data in [0, 1]; for
        signed data (values below 0), the span of their units (2 for
        [-1, 1]). None (default): as scikit-image for a 16-bit clean image
        (65535 for uint16; 32767 for int16, 65535 where it holds values
        below 0), else 255, the peak of 8-bit images; a clean image whose
        values pass it, that holds fractions up to 2 at most (data in
        [0, 1]) or negative values, is refused (give its units').
    clip : bool, default True
        Clip ``pred`` to ``[0, data_range]`` (float, not rounded) first;
        from the clean image's lowest value where it is below 0, and up to
        its largest where that passes the range (:func:`clip_range`).

    Returns
    -------
    float
        The mean SSIM (1.0 for identical images).

    Raises
    ------
    InputError
        Shapes differ, an image is empty or smaller than the 11x11 Gaussian
        window, has more than :data:`SSIM_CHANNELS` channels (a stack: measure
        each frame), or holds NaN/inf; ``data_range`` not a positive number or
        not given, as for :func:`psnr`.
    """
    from skimage.metrics import structural_similarity

    clean, pred, data_range = _pair(clean, pred, data_range=data_range, clip=clip)
    if min(clean.shape[:2]) < 11:
        first = (f"; channels first? give (H,W,{clean.shape[0]}) (np.moveaxis(x, 0, -1))"
                 if clean.ndim == 3 and clean.shape[0] in (1, 3, 4) and min(clean.shape[1:]) >= 11 else "")
        raise InputError(f"SSIM needs an image of at least 11x11 pixels (its Gaussian window), got "
                         f"{clean.shape}{first}")
    if clean.ndim == 3 and clean.shape[-1] > SSIM_CHANNELS:  # (a (Z,Y,X) volume was measured with its X as colour
        # channels, unsaid: 0.29 where its slices read 0.30, a tomography QA pass)
        raise InputError(f"SSIM of shape {clean.shape}: its last axis ({clean.shape[-1]}) would be read as colour "
                         f"channels (up to {SSIM_CHANNELS}); a stack of frames (Z,Y,X): measure each one, e.g. "
                         f"np.mean([noise2x.ssim(c, p, data_range=R) for c, p in zip(clean, pred)]); bands (H,W,C): "
                         f"the same over np.moveaxis(clean, -1, 0) and np.moveaxis(pred, -1, 0)")
    channel_axis = -1 if clean.ndim == 3 else None
    value = structural_similarity(
        clean,
        pred,
        data_range=data_range,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=channel_axis,
    )
    return float(value)
