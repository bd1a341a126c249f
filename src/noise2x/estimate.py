"""Estimate noise parameters from a single noisy image (numpy/scipy only; no torch).

- :func:`sigma`: standard deviation of additive white Gaussian noise.
- :func:`poisson_gaussian`: ``(a, b)`` of the signal-dependent model ``Var[y|x] = a*x + b``.
- :func:`correlation`: marginal std and spatial correlation of the noise, and
  the ``beta`` of :func:`noise2x.noise.correlated`.

All work on "weak-texture" regions: windows whose gradient energy is no more
than pure noise would produce (Liu, Tanaka & Okutomi, "Single-image noise
level estimation for blind denoising", IEEE TIP 2013), so that image
structure does not pass for noise. Images are (H,W) or (H,W,3) in their own
units.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .errors import InputError, UsageError
from .io import check_image

__all__ = ["AxisReading", "CorrelationEstimate", "channel_sigmas", "correlation", "correlation_axes",
           "correlation_by_channel", "correlation_direction", "correlation_growth", "fits_signal_dependence",
           "impulse_share", "jpeg_blocks", "jpeg_fine_steps", "jpeg_rounding", "poisson_gaussian", "sigma"]

_PATCH = 7  # window size for the weak-texture test and the patch PCA
_CONF = 1.0 - 1e-6  # a pure-noise window passes the weak-texture test with this probability
_BLOCK = 16  # row blocks alternate between the two halves of the cross-fitted PCA
_STRIDE = 2  # column stride of the PCA patches
_FILL = 5  # a block of this size holding a single value is a fill (not noise): see _unclipped_windows
_LAPLACE = np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0])  # Immerkaer's mask; sum of squares 36
_FIT_WINDOWS = 200  # the Poisson-Gaussian fit needs at least this many usable windows


# --------------------------------------------------------------------------- helpers


def _channels(noisy) -> list[np.ndarray]:
    x = check_image(noisy, name="noisy")
    if min(x.shape[:2]) < 2 * _PATCH:
        raise InputError(f"noisy image is too small to estimate its noise: {x.shape[:2]} (needs at least {2 * _PATCH}x{2 * _PATCH})")
    return [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]


#: :func:`scattered_read`: where this share of the pixels within the data's bounds or more holds data, yet the 7x7
#: windows holding data alone cover less than half of them, the blank ones are scattered (0.9 until a 3-D vision QA
#: pass: a depth map's 10% of dropouts stopped with an error)
SCATTERED_SHARE = 0.5


def scattered_read(held: np.ndarray) -> np.ndarray | None:
    """Where the blank pixels of ``held`` ((H,W) bool, True where data) are scattered all over the data's bounds
    (a sensor's dead-pixel map, a depth camera's dropouts: :data:`SCATTERED_SHARE` of those pixels or more hold
    data, yet the 7x7 windows they leave whole cover less than half of them), the pixels to read the noise from:
    the data's bounds, the blank ones among them (filled) too; else None. The fill, a mirror image of the data
    beside it, repeats its noise: the reading comes out lower than it is, the more so the more pixels are blank."""
    rows, cols = np.flatnonzero(held.any(axis=1)), np.flatnonzero(held.any(axis=0))
    if rows.size == 0:
        return None
    bounds = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    inside = held[bounds]
    whole = _box_sum(~held, _PATCH, _PATCH) < 0.5
    covered = _box_sum(np.pad(whole, _PATCH - 1), _PATCH, _PATCH) > 0.5  # the pixels of those windows
    data = int(np.count_nonzero(inside))
    if np.count_nonzero(covered) >= 0.5 * data or data < SCATTERED_SHARE * inside.size:
        return None
    read = np.zeros_like(held)
    read[bounds] = True
    return read


#: :func:`fill_value`: a value at an end of an image's values is a fill (pixels holding no data: a depth camera's
#: dropouts, a nodata value) where at least this share of its pixels hold it (in every channel) ...
FILL_SHARE = 0.002
#: ... no other value lies within this share of the others' spread (0.1 to 99.9 percentile) of it ...
FILL_GAP = 0.05
#: ... nor within this many times the step from the nearest of the others to the next (counts, whose 0 is one step
#: below their 1, are not a fill), and the others hold this many values or more (noisy data)
FILL_STEPS = 4
FILL_LEVELS = 20
#: A value farther than this many times the others' spread from them is a fill held by fewer pixels than
#: :data:`FILL_SHARE` too (16 or more): a small nodata hole of -99999 in a gravity grid of +-50 came back as
#: -99997, which software masking on -99999 took for data (a geophysics QA pass)
FILL_FAR = 10.0


def fill_value(image: np.ndarray) -> tuple[float, int, float] | None:
    """(value, pixels, nearest): the value that marks ``image``'s pixels holding no data, read from the values
    alone, where one does (:data:`FILL_SHARE`, :data:`FILL_GAP`, :data:`FILL_STEPS`, :data:`FILL_FAR`): a depth
    map's 0 dropouts below its nearest surface, an elevation model's -9999, a float's -3.4e38, each far from every
    value of the data; the pixels holding it and the data's value nearest it. None where none does (a photo's
    black and white, clipped, lie next to the values beside them; NaN and inf are left out), or where both ends
    read so (salt and pepper: impulse noise). The top of [0, 1] or of 8, 10, 12, 14 or 16 bits (1, 255, ...,
    65535) is not read as a fill: it is a saturated sensor's; nor is 0 below 8-bit data (whole values within
    0..255, or [0, 1] in steps of 1/255: a photo's black, or pepper noise)."""
    a = np.asarray(image)
    if a.dtype.kind not in "uif" or a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] == 0):
        return None
    pixels = a.shape[0] * a.shape[1]
    first = a if a.ndim == 2 else a[..., 0]
    finite = np.isfinite(first) if a.dtype.kind == "f" else None
    if finite is not None and not finite.any():
        return None
    found = []
    for end in (np.min, np.max):
        value = end(first[finite]) if finite is not None else end(first)
        held = a == value if a.ndim == 2 else (a == value).all(axis=2)
        count = int(np.count_nonzero(held))
        if count < 16 or count == pixels:
            continue
        others = a[~held].reshape(-1)
        others = others[np.isfinite(others)] if a.dtype.kind == "f" else others
        if others.size == 0:
            continue
        nearest = float(np.min(others) if end is np.min else np.max(others))
        sample = others[:: others.size // 1_000_000 + 1].astype(np.float64)
        lo, hi = np.percentile(sample, [0.1, 99.9])
        levels = np.unique(sample)
        if levels.size < FILL_LEVELS or not hi > lo:
            continue
        gap = abs(nearest - float(value))
        step = abs(float(levels[1] if end is np.min else levels[-2]) - nearest)  # the others' next value beyond
        # the nearest (the widest step among the 20 nearest reached past a depth map's near plane, of a few
        # whole-mm values, into the next one, 700 mm on: a re-check)
        if count < FILL_SHARE * pixels and not gap > FILL_FAR * (hi - lo):
            continue
        if gap >= FILL_GAP * (hi - lo) and gap > FILL_STEPS * step:
            eight = hi <= 255 and np.array_equal(sample, np.round(sample)) or hi <= 1 and np.allclose(
                sample * 255, np.round(sample * 255), rtol=0, atol=1e-4)  # (8-bit data, or [0, 1] in 8-bit steps)
            found.append((float(value), count, nearest, eight))
    if len(found) != 1:  # (two: salt and pepper, impulse noise)
        return None
    value, count, nearest, eight = found[0]
    if value > nearest and value in (1.0, 255.0, 1023.0, 4095.0, 16383.0, 65535.0):  # the top of [0, 1] or of 8
        return None  # to 16 bits: a saturated sensor's (hot pixels at 4095 were kept as a fill: a re-check)
    if value == 0 and eight:  # 0 below 8-bit data (a photo's: its black, or pepper noise), not a fill (pepper on a
        return None  # photo was kept as it was: a re-check; a float depth map in metres or disparity is not 8-bit)
    return value, count, nearest


def data_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    """``mask`` checked against an image of ``shape``: the (H,W) bool pixels holding image data, None where all
    do (or no mask is given). UsageError for a wrong shape, InputError for an empty mask or too few windows."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != tuple(shape[:2]):
        raise UsageError(f"mask has shape {m.shape}; the image {tuple(shape)} needs {tuple(shape[:2])}")
    m = m.astype(bool)
    if not m.any():
        raise InputError("the mask leaves no pixel to estimate the noise from")
    if m.all():
        return None
    windows = int(np.count_nonzero(_box_sum(~m, _PATCH, _PATCH) < 0.5))
    least = (_PATCH + 1) ** 2  # (the windows of a 14x14 image, the smallest read whole)
    if windows < least:
        raise InputError(f"too few pixels hold image data (opaque, not blank) to estimate the noise from: "
                         f"{np.count_nonzero(m)} of {m.size}, with {windows} windows of {_PATCH}x{_PATCH} among them "
                         f"(a {2 * _PATCH}x{2 * _PATCH} image has {least}); give the noise instead (--noise "
                         f"gaussian:sigma=S with --method bm3d; noise=, method= in Python)")
    return m


def _box_sum(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums over all h x w windows ('valid'): shape (H-h+1, W-w+1); of a boolean mask, counts (integers,
    summed in 32 bits where they fit: half the memory traffic of float64 sums, the same values)."""
    counts = a.dtype == bool
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1), (np.int32 if a.size < 2**31 else np.int64) if counts else None)
    if counts or a.dtype == np.float64:  # summed into c and then in place: no other array of a's size
        np.cumsum(a, axis=0, dtype=c.dtype, out=c[1:, 1:])
        np.cumsum(c[1:, 1:], axis=1, out=c[1:, 1:])
    else:  # (summed in its own type, as numpy does: float32 sums, integer counts)
        c[1:, 1:] = a.cumsum(0).cumsum(1)
    out = c[h:, w:] - c[:-h, w:]
    out -= c[h:, :-w]
    out += c[:-h, :-w]
    return out


def _laplace(img: np.ndarray) -> np.ndarray:
    """'valid' 3x3 Immerkaer response; (H-2, W-2), centred on pixel (i+1, j+1)."""
    out = np.zeros((img.shape[0] - 2, img.shape[1] - 2))
    for a in range(3):
        for b in range(3):
            out += _LAPLACE[a, b] * img[a : a + out.shape[0], b : b + out.shape[1]]
    return out


def _texture(img: np.ndarray, ps: int = _PATCH) -> np.ndarray:
    """Gradient energy of every ps x ps window (Liu et al. 2013): shape (H-ps+1, W-ps+1)."""
    gh = 0.5 * (img[:, 2:] - img[:, :-2])
    gv = 0.5 * (img[2:, :] - img[:-2, :])
    return _box_sum(gh * gh, ps, ps - 2) + _box_sum(gv * gv, ps - 2, ps)


@functools.lru_cache(maxsize=8)
def _texture_threshold(ps: int = _PATCH, conf: float = _CONF) -> float:
    """Quantile ``conf`` of the texture of a unit-variance white-noise window.

    The window's gradient energy is a quadratic form ``n' D n`` of the noise;
    it is approximated by a Gamma law with the same mean and rank (Liu et al.).
    """
    from scipy import special  # (the quantile from special, not stats, whose import is slow)

    shape, scale = _texture_law(ps)
    return float(scale * special.gammaincinv(shape, conf))  # (the Gamma law's quantile function)


def _texture_law(ps: int) -> tuple[float, float]:
    """Shape and scale of the Gamma law of :func:`_texture_threshold` for ``ps`` x ``ps`` windows."""
    n = ps * ps
    idx = np.arange(n).reshape(ps, ps)
    rows = []
    for i in range(ps):
        for j in range(1, ps - 1):
            r = np.zeros(n)
            r[idx[i, j - 1]], r[idx[i, j + 1]] = -0.5, 0.5
            rows.append(r)
            r = np.zeros(n)
            r[idx[j - 1, i]], r[idx[j + 1, i]] = -0.5, 0.5
            rows.append(r)
    d = np.array(rows)
    dd = d.T @ d
    rank = np.linalg.matrix_rank(dd)
    return rank / 2.0, 2.0 * float(np.trace(dd)) / rank


def _unclipped_windows(img: np.ndarray, data_range: float, *, strict: bool, ps: int = _PATCH,
                       valid: np.ndarray | None = None) -> np.ndarray:
    """Windows free of clipping (pixels exactly at 0 or ``data_range``) and of fills.

    Saturated areas carry no (or less) noise and would pass for flat regions.
    ``strict``: a window may hold no such pixel (right for Gaussian noise,
    which never lands exactly on them unless clipped); otherwise fewer than
    half of its pixels (Poisson counts of 0, or of exactly the peak, are
    normal). If that leaves fewer than 1% of the windows, all are used (all
    those inside ``valid``).

    A bound counts as clipping only where nothing lies beyond it, and 0 not
    where the image holds photon counts: zeros with no values just above
    them (below 1% of ``data_range``), as Poisson noise of fewer than about
    100 photons at full scale gives (its smallest non-zero value is one
    photon). Leaving out windows rich in such zeros keeps those where the
    noise itself brought more photons, and at a few photons read the noise
    up to twice too strong.

    A window holding a 5x5 block of a single value is left out too: noise
    next to never gives one, so it is a fill (padding, a mask, transparent
    pixels of an RGBA image, a blank border), whose flat windows made the
    weak-texture estimators read the noise as absent or correlated. In
    photon counts, a block of zeros is not: a dark area reads zeros
    throughout (a fill of zeros there is told apart only by ``valid``).

    ``valid``: where given, only windows of its pixels (all True) count, and
    the tests above look at those pixels only.
    """
    seen = img if valid is None else img[valid]
    positive = seen[seen > 0.0]
    counts = (seen.min() == 0.0 and positive.size > 0
              and np.count_nonzero(positive < 0.01 * data_range) <= 1e-3 * positive.size)
    at_low = (img == 0.0) if seen.min() >= 0.0 and not counts else np.zeros(img.shape, bool)
    at_high = (img == data_range) if seen.max() <= data_range else np.zeros(img.shape, bool)
    count = _box_sum(at_low | at_high, ps, ps)
    keep = count < 0.5 if strict else count < 0.5 * ps * ps
    # a 5x5 block of one value is a fill, not noise (which puts equal values side by side now and then, a whole
    # block next to never): padding, a mask, transparent pixels, a blank border; a window holding one is left
    # out. Not in photon counts, where a dark area reads zeros throughout (and few photons repeat a value)
    steps = _box_sum(img[:, 1:] != img[:, :-1], _FILL, _FILL - 1)
    steps += _box_sum(img[1:, :] != img[:-1, :], _FILL - 1, _FILL)
    constant = steps < 0.5
    if counts:  # (a block of one photon count other than 0 is still a fill: a subject on a plain background)
        constant &= img[: constant.shape[0], : constant.shape[1]] != 0.0
    filled = _box_sum(constant, ps - _FILL + 1, ps - _FILL + 1) > 0.5
    inside = np.ones_like(keep) if valid is None else _box_sum(~valid, ps, ps) < 0.5
    keep &= ~filled & inside
    if np.count_nonzero(keep) >= 0.01 * keep.size:
        return keep
    return inside if inside.any() else np.ones_like(keep)  # (nearly) all clipped: every window of the data


# --------------------------------------------------------------------------- sigma


def _var_laplace(img: np.ndarray, usable: np.ndarray, tau: float) -> float:
    """Noise variance from the Laplacian energy of the weak-texture windows (iterated)."""
    ps = _PATCH
    tex = _texture(img, ps)
    lap = _laplace(img)
    energy = _box_sum(lap * lap, ps - 2, ps - 2) / ((ps - 2) ** 2 * 36.0)  # per window, unit gain
    var = float(np.median(energy[usable] if usable.any() else energy))
    for _ in range(4):
        sel = usable & (tex < var * tau)
        if np.count_nonzero(sel) < 20:
            break
        var = float(energy[sel].mean())
    return var


def _var_pca(img: np.ndarray, usable: np.ndarray, tau: float) -> float | None:
    """Noise variance from cross-fitted patch PCA of the weak-texture windows (None if too few).

    Patches come from alternating row blocks A and B (no shared pixels). The
    least-variance direction found in A is measured in B and vice versa, which
    removes the downward bias of the smallest sample eigenvalue
    (Marchenko-Pastur) that a single-sample PCA estimate (Liu et al. 2013) has.
    """
    import scipy.linalg
    from numpy.lib.stride_tricks import sliding_window_view

    ps, d = _PATCH, _PATCH * _PATCH
    tex = _texture(img, ps)
    rows = np.arange(tex.shape[0])
    inside = (rows % _BLOCK) <= _BLOCK - ps
    half = (rows // _BLOCK) % 2
    patches = sliding_window_view(img, (ps, ps))[:, ::_STRIDE]  # a view: no patch is copied until selected
    tex = tex[:, ::_STRIDE]
    usable = usable[:, ::_STRIDE]
    groups = []
    for h in (0, 1):
        r = inside & (half == h)
        groups.append((r, tex[r].ravel(), usable[r].ravel()))
    if min(np.count_nonzero(g[0]) * patches.shape[1] for g in groups) < 4 * d:
        return None

    def cov(h: int, sel: np.ndarray) -> np.ndarray:
        # the selected patches of row group h, in the order of its (patch row, column) grid, copied once (about
        # a quarter of the memory that copying each group whole and then its selection took); same values
        where = np.zeros(patches.shape[:2], bool)
        where[groups[h][0]] = sel.reshape(-1, patches.shape[1])
        x = patches[where].reshape(-1, d)
        x -= x.mean(0)
        return x.T @ x / (len(x) - 1)

    def least(c: np.ndarray) -> np.ndarray:  # eigenvector of the smallest eigenvalue
        return scipy.linalg.eigh(c, subset_by_index=[0, 0])[1][:, 0]

    def crossfit(sel_a: np.ndarray, sel_b: np.ndarray) -> float:
        ca, cb = cov(0, sel_a), cov(1, sel_b)
        va, vb = least(ca), least(cb)
        return 0.5 * float(va @ cb @ va + vb @ ca @ vb)

    if min(np.count_nonzero(g[2]) for g in groups) < 4 * d:  # (too few usable windows: a mask's small area)
        return None
    var = crossfit(groups[0][2], groups[1][2])
    for _ in range(3):
        sel = [u & (t < var * tau) for _, t, u in groups]
        if min(np.count_nonzero(s) for s in sel) < 4 * d:
            break
        var = crossfit(*sel)
    return var


def sigma(noisy, *, data_range: float = 255.0, mask=None) -> float:
    """Standard deviation of additive white Gaussian noise, in the image's units.

    Two estimators look at the weak-texture windows (gradient energy no more
    than noise alone would give, found iteratively as in Liu et al. 2013):
    the mean energy of Immerkaer's Laplacian mask (which sees the highest
    spatial frequencies), and the variance along the least-variance direction
    of a cross-fitted PCA of 7x7 patches (which discounts any structure
    repeated across patches). Image texture adds to either, so the smaller
    of the two is returned. A steep smooth gradient is the exception: on a
    ramp rising by about sigma per pixel or more, the weak-texture test
    keeps few windows, and the reading comes out low (a noise QA pass;
    photos are not so: see below). Windows holding clipped pixels (exactly 0
    or ``data_range``, where no value lies beyond; 0 not where the image holds
    photon counts) are ignored (unless nearly all are).

    On Set12 with PROTOCOL noise the estimate is within 10% of the truth for
    sigma 5..50 (the test suite checks it). At sigma 5 it reads a few percent
    high, partly because the "clean" test images carry their own faint grain;
    on BSD68 at sigma 5, 4 of 68 heavily textured images read more than 10%
    high (worst +22%); from sigma 15 up all are within 8%.

    Parameters
    ----------
    noisy : array_like
        (H,W) or (H,W,3) image, at least 14x14.
    data_range : float
        The image's full scale (255 for 8-bit), used to spot clipped pixels.
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: only windows of them are
        read (e.g. the opaque pixels of an RGBA image; a fill elsewhere).

    Returns
    -------
    float
        For RGB, the mean of the per-channel estimates (:func:`channel_sigmas`).
    """
    return float(np.mean(channel_sigmas(noisy, data_range=data_range, mask=mask)))


def channel_sigmas(noisy, *, data_range: float = 255.0, mask=None) -> list[float]:
    """:func:`sigma` read in each channel of ``noisy`` (one value for a gray image), in the image's units."""
    tau = _texture_threshold()
    values = []
    chans = _channels(noisy)
    valid = data_mask(mask, chans[0].shape)
    for img in chans:
        usable = _unclipped_windows(img, data_range, strict=True, valid=valid)
        v_lap = _var_laplace(img, usable, tau)
        v_pca = _var_pca(img, usable, tau)
        v = v_lap if v_pca is None else min(v_lap, v_pca)
        values.append(float(np.sqrt(max(v, 0.0))))
    return values


# --------------------------------------------------------------------------- Poisson-Gaussian


def fits_signal_dependence(shape: tuple[int, ...]) -> bool:
    """Whether an image of ``shape`` ((H,W) or (H,W,C)) is large enough for :func:`poisson_gaussian`, all of its
    pixels holding unclipped data (it needs 200 windows of 7x7 pixels, the channels' pooled)."""
    h, w = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    return min(h, w) >= 2 * _PATCH and (h - _PATCH + 1) * (w - _PATCH + 1) * channels >= _FIT_WINDOWS


def poisson_gaussian(noisy, *, data_range: float = 255.0, stderr: bool = False,
                     mask=None) -> tuple[float, float] | tuple[float, float, float]:
    """Parameters ``(a, b)`` of signal-dependent noise ``Var[y | x] = a * x + b``.

    In the spirit of Foi et al. (IEEE TIP 2008): at each pixel a local mean
    (7x7) and a local noise energy (Immerkaer's Laplacian, unit gain) are
    taken; windows with more gradient energy than the current noise model
    predicts are discarded (Liu et al.'s weak-texture test); the kept pixels
    are binned by local mean, each bin gives a robust variance (median of
    squared responses), and a weighted least-squares line through the bins
    gives ``a`` and ``b``; this is iterated three times.

    For :func:`noise2x.noise.poisson` with peak ``p``: ``a = data_range / p``,
    ``b = 0``; :func:`noise2x.noise.poisson_gaussian` adds ``sigma**2`` to
    ``b``; white Gaussian noise gives ``a = 0, b = sigma**2``. ``b`` may come
    out slightly negative (it is not clamped).

    Where the image spans a narrow range of intensities (a flat or
    low-contrast image) the slope ``a`` is ill-determined: white noise can
    give any sign. ``stderr=True`` also returns its standard error, from the
    scatter of the bins' variances about the line (at least the scatter
    their sample sizes imply), so that a caller can count the noise as
    signal-dependent only where ``a`` stands clear of 0.

    Parameters
    ----------
    noisy : array_like
        (H,W) or (H,W,3) image (RGB channels are pooled), at least 14x14.
    data_range : float
        The image's full scale; windows more than half of whose pixels are
        exactly 0 or ``data_range`` are treated as clipped and ignored (0 not
        where it is a photon count, nor a bound with values beyond it; see
        ``_unclipped_windows``).
    stderr : bool
        Also return the standard error of ``a`` (``inf`` where no line could
        be fitted).
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data (see :func:`sigma`).

    Returns
    -------
    tuple of float
        ``(a, b)``, or ``(a, b, stderr of a)``.
    """
    tau = _texture_threshold()
    m, e, t, valid = _level_windows(noisy, data_range, mask)
    if m.size < _FIT_WINDOWS:
        if not fits_signal_dependence(np.shape(noisy)):
            raise InputError(f"noisy image {np.shape(noisy)[:2]} is too small to estimate Poisson-Gaussian noise "
                             f"(it needs {_FIT_WINDOWS} windows of {_PATCH}x{_PATCH} pixels, e.g. a 21x21 gray image)")
        raise InputError("noisy image has too few windows to estimate Poisson-Gaussian noise from: most of it is "
                         "clipped (0 or the top of its range) or one value (a fill, a flat area)"
                         + (" or blank" if valid is not None else ""))
    sel = np.ones(m.size, bool)
    a, b, se = 0.0, 0.0, float("inf")
    for it in range(4):
        a, b, se = _fit_line(m[sel], e[sel])
        if it == 3:
            break
        expected = np.maximum(a * m + b, 1e-12 * max(1.0, data_range) ** 2)
        new = t < expected * tau
        if np.count_nonzero(new) < 200:
            break
        sel = new
    return (float(a), float(b), float(se)) if stderr else (float(a), float(b))


def _flat_sigmas(e: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """The noise sigma read from windows of noise energies ``e`` and textures ``t`` (:func:`_level_windows`): from
    their flatter half (Immerkaer's Laplacian, the median of its squared response: chi2(1)'s median is 0.4549),
    and from their flattest tenth."""
    flatter = float(np.median(e[t <= np.median(t)])) / 0.4549
    flattest = float(np.median(e[t <= np.quantile(t, 0.1)])) / 0.4549
    return float(np.sqrt(flatter)), float(np.sqrt(flattest))


def _level_windows(noisy, data_range: float, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Of the unclipped 7x7 windows of ``noisy`` (every channel): their mean, their noise energy (Immerkaer's
    Laplacian, unit gain, squared) and their texture; and the mask checked (:func:`data_mask`)."""
    ps = _PATCH
    means, energies, textures = [], [], []
    chans = _channels(noisy)
    valid = data_mask(mask, chans[0].shape)
    for img in chans:
        usable = _unclipped_windows(img, data_range, strict=False, valid=valid)
        lap = _laplace(img)
        off = (ps - 3) // 2  # align the (H-2)-grid response with the (H-ps+1) window grid centres
        lap = lap[off : off + usable.shape[0], off : off + usable.shape[1]]
        mean = _box_sum(img, ps, ps) / (ps * ps)
        keep = usable.ravel()
        means.append(mean.ravel()[keep])
        energies.append((lap * lap).ravel()[keep] / 36.0)
        textures.append(_texture(img, ps).ravel()[keep])
    return np.concatenate(means), np.concatenate(energies), np.concatenate(textures), valid


#: :func:`noise_power`: the level bins read, and the least of them that give a reading
POWER_BINS = 16
POWER_LEAST_BINS = 6


class PowerLaw(NamedTuple):
    """A noise of sigma ``k * level**q`` read by :func:`noise_power`: ``stderr`` of ``q``, and ``linear_misfit``,
    how much worse a variance growing linearly with the level (``a * level + b``: shot noise, with a camera's
    black level or read noise) fits the same readings: the ratio of the RMS of their log sigma residuals; and
    ``texture``, how much the reading owes to texture: the sigma read from the flatter half of each level's
    windows over that read from its flattest tenth (their geometric mean over the levels), about 1 for noise
    alone; texture whose contrast grows with the level (a photo under very weak noise) reads 1.5 and more."""

    q: float
    k: float
    stderr: float
    linear_misfit: float
    texture: float


def noise_power(noisy, *, mask=None) -> PowerLaw | None:
    """The law ``k * level**q`` of a noise's sigma, read from a gray image of positive values: a depth camera's
    (time-of-flight, stereo: ``q`` about 2), shot noise's 0.5, speckle's 1, white noise's 0 (:class:`PowerLaw`).
    None where it cannot be read (a value at or below 0 among the data, too few windows or levels, the levels
    within a factor of 1.5).

    The image's 7x7 windows (those of ``mask``'s pixels) are binned by their mean (:data:`POWER_BINS` bins of
    equal counts); in each bin the half with the least texture gives the noise energy (Immerkaer's Laplacian, the
    median of its squared response), and a line through the bins' log sigma against their log level gives ``q``
    and ``k``; its standard error is that of the slope, from the bins' scatter about the line. Shot noise above
    a black level (variance ``g * (level - black)``) grows steeply in log terms near the black level: the line
    of variance against level fits it, and ``linear_misfit`` tells the two apart."""
    img = np.asarray(noisy, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 2 * _PATCH:
        return None
    valid = data_mask(mask, img.shape)
    held = img if valid is None else img[valid]
    if not held.size or float(np.min(held)) <= 0:
        return None
    m, e, t, _ = _level_windows(img, float(np.max(held)), valid)
    if m.size < _FIT_WINDOWS:
        return None
    edges = np.unique(np.quantile(m, np.linspace(0, 1, POWER_BINS + 1)))
    idx = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, len(edges) - 2)
    levels, sigmas, flattest = [], [], []
    for b in range(len(edges) - 1):
        inside = idx == b
        if np.count_nonzero(inside) < 30:
            continue
        sigma, least = _flat_sigmas(e[inside], t[inside])  # (the flatter half: its texture adds least to the energy)
        if sigma > 0 and least > 0:
            levels.append(float(np.mean(m[inside])))
            sigmas.append(sigma)
            flattest.append(least)
    if len(levels) < POWER_LEAST_BINS or max(levels) < 1.5 * min(levels):
        return None
    x, y = np.log(levels), np.log(sigmas)
    q, c = np.polyfit(x, y, 1)
    resid = y - (q * x + c)
    se = float(np.sqrt(np.sum(resid ** 2) / (len(x) - 2) / np.sum((x - x.mean()) ** 2)))
    lv, var = np.asarray(levels), np.asarray(sigmas) ** 2
    weight = 1.0 / var  # (relative errors: each bin's variance weighs as its log)
    a, b = np.linalg.lstsq(np.stack([lv, np.ones_like(lv)], axis=1) * weight[:, None], var * weight, rcond=None)[0]
    linear = y - 0.5 * np.log(np.maximum(a * lv + b, 1e-6 * var.min()))
    misfit = float(np.sqrt(np.mean(linear ** 2)) / max(np.sqrt(np.mean(resid ** 2)), 1e-3))
    texture = float(np.exp(np.mean(np.log(np.asarray(sigmas) / np.asarray(flattest)))))
    return PowerLaw(float(q), float(np.exp(c)), se, misfit, texture)


#: :func:`noise_bands`: the least 7x7 windows a band reads its noise from, and the most pixels of a band read
#: along each axis (its centre part)
BAND_LEAST_WINDOWS = 200
BAND_SIDE = 512


def noise_bands(noisy, bands: int, *, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The noise level of each of ``bands`` equal bands of a gray image's rows (``axis`` 0: top to bottom) or
    columns (1: left to right), as (flattest, flatter): read from the flattest tenth of the band's unclipped 7x7
    windows (the least gradient energy, Liu et al.), and from their flatter half (Immerkaer's Laplacian at their
    centres, the median of its squared response, as a sigma). The flattest tenth holds the weakest noise as well
    as the least texture: it reads low by about the same factor in every band, and its ratios between bands are
    the noise level's (a seismic section's noise, loudest at its top or, after an automatic gain control, at its
    bottom); the flatter half reads texture more. None for a band of fewer than :data:`BAND_LEAST_WINDOWS`
    windows, or an image that is not gray. A band is read on its centre part of up to :data:`BAND_SIDE` pixels
    along each axis."""
    img = np.asarray(noisy)
    if img.ndim != 2 or min(img.shape) < 2 * _PATCH:
        return None
    top = float(np.max(img))
    edges = np.linspace(0, img.shape[axis], bands + 1).round().astype(int)
    across = img.shape[1 - axis]
    a0 = max((across - BAND_SIDE) // 2, 0)
    flattest, flatter = np.zeros(bands), np.zeros(bands)
    off = (_PATCH - 3) // 2
    for b in range(bands):
        b0 = edges[b] + max((edges[b + 1] - edges[b] - BAND_SIDE) // 2, 0)
        along = slice(b0, min(b0 + BAND_SIDE, edges[b + 1]))
        part = np.asarray((img[along, a0 : a0 + BAND_SIDE] if axis == 0 else img[a0 : a0 + BAND_SIDE, along]),
                          dtype=np.float64)
        if min(part.shape) < _PATCH:
            return None
        keep = _unclipped_windows(part, top, strict=False)  # (as _level_windows, on bands of 7 rows and more)
        if np.count_nonzero(keep) < BAND_LEAST_WINDOWS:
            return None
        lap = _laplace(part)[off : off + keep.shape[0], off : off + keep.shape[1]]
        flatter[b], flattest[b] = _flat_sigmas((lap * lap / 36.0)[keep], _texture(part, _PATCH)[keep])
    return flattest, flatter


def _fit_line(m: np.ndarray, e: np.ndarray, n_bins: int = 24) -> tuple[float, float, float]:
    """Weighted LS line through robust per-bin variances of ``e`` (squared unit-gain responses) vs ``m``.

    Returns ``(a, b, se)``: slope, intercept and the slope's standard error (``inf`` without a line).
    """
    edges = np.unique(np.quantile(m, np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 3:  # fewer than two bins (e.g. a constant image): no line to fit
        return 0.0, float(np.median(e)) / 0.4549, float("inf")
    idx = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    full = counts >= 30
    ns = counts[full].astype(float)
    xs = np.bincount(idx, weights=m, minlength=len(edges) - 1)[full] / ns
    vs = np.bincount(idx, weights=e, minlength=len(edges) - 1)[full] / ns
    if len(xs) < 2 or np.ptp(xs) == 0:
        return 0.0, float(np.median(e)) / 0.4549, float("inf")
    floor = 1e-12 * max(1.0, float(np.max(vs)))
    w = ns / np.maximum(vs, 1e-12) ** 2  # Var of a variance estimate ~ 2 v^2 / n
    A = np.stack([xs, np.ones_like(xs)], axis=1)
    for _ in range(2):
        sw = np.sqrt(w)
        a, b = np.linalg.lstsq(A * sw[:, None], vs * sw, rcond=None)[0]
        w = ns / np.maximum(a * xs + b, floor) ** 2
    # slope's standard error: weights ns / v^2 make each weighted squared residual about 2 where the bins'
    # variances scatter only as their sample sizes imply; neighbouring pixels' responses are not independent
    # and the line may not fit, so the residuals' own scatter is taken where it is larger
    resid = vs - (a * xs + b)
    scale = max(float(np.sum(w * resid * resid)) / max(len(xs) - 2, 1), 2.0)
    normal = A.T @ (A * w[:, None])
    det = float(np.linalg.det(normal))
    se = float(np.sqrt(scale * normal[1, 1] / det)) if det > 0 else float("inf")
    return float(a), float(b), se


# --------------------------------------------------------------------------- correlation


@dataclass(frozen=True, eq=False)
class CorrelationEstimate:
    """Spatial correlation of the noise in one image (see :func:`correlation`).

    Attributes
    ----------
    sigma : float
        Marginal standard deviation of the noise.
    rho : numpy.ndarray
        Normalised autocorrelation of the noise at lags 1..radius along the
        image axes (mean of horizontal and vertical); 0 for white noise.
    beta : float
        Estimate in [0, 1] of the ``beta`` of :func:`noise2x.noise.correlated`
        with the same radius (0 = white).
    """

    sigma: float
    rho: np.ndarray
    beta: float


@functools.lru_cache(maxsize=1)
def _lower_half_mean_chi2() -> float:
    """Mean of the lower half of a chi-square(1) law: P(chi2(3) <= m) / 0.5, m its median (about 0.1426)."""
    from scipy import special  # (chi2(n)'s cdf at x is gammainc(n/2, x/2); scipy.stats is slow to import)

    return float(special.gammainc(1.5, special.gammaincinv(0.5, 0.5)) / 0.5)


def _robust_var(values: np.ndarray) -> float:
    """Variance of zero-mean Gaussian-like ``values``: the mean of the lower half of their squares, rescaled.

    Like the median of squares it ignores the upper half (outliers, edges),
    but it does not jump between levels when the values are quantised (8-bit
    images, Poisson counts), where the median of squares lands on one of a few
    possible values and its ratio across lags swings by tens of percent.
    """
    sq = np.asarray(values, np.float64) ** 2
    half = sq.size // 2
    if half == 0:
        return float(sq.mean()) if sq.size else 0.0
    return float(np.partition(sq, half)[:half].mean()) / _lower_half_mean_chi2()


def _second_difference_var(img: np.ndarray, lag: int, keep: np.ndarray, along: str = "both") -> float:
    """Robust variance of y(p-l) - 2 y(p) + y(p+l), horizontal and vertical (``along``: "rows", horizontal only;
    "columns", vertical only), over the ``keep`` centres."""
    parts = []
    if along in ("both", "rows"):
        h = img[:, : -2 * lag] - 2.0 * img[:, lag:-lag] + img[:, 2 * lag :]
        parts.append(h[keep[:, lag:-lag]])
    if along in ("both", "columns"):
        v = img[: -2 * lag, :] - 2.0 * img[lag:-lag, :] + img[2 * lag :, :]
        parts.append(v[keep[lag:-lag, :]])
    return _robust_var(np.concatenate(parts))


#: Share of the (unclipped) pixels, the flattest, on which :func:`correlation` measures the noise.
CORRELATION_FRACTION = 0.1


def _flat_centres(img: np.ndarray, *, far: int, fraction: float, data_range: float,
                  valid: np.ndarray | None = None) -> np.ndarray:
    """The flattest ``fraction`` of the pixels (lowest smoothed gradient) whose (2*far+1)-window is not saturated."""
    from scipy import ndimage

    ps = 2 * far + 1
    unclipped = _unclipped_windows(img, data_range, strict=False, ps=ps, valid=valid)
    ok = np.zeros(img.shape, bool)
    ok[far : far + unclipped.shape[0], far : far + unclipped.shape[1]] = unclipped
    grad = ndimage.gaussian_gradient_magnitude(ndimage.gaussian_filter(img, 2.0), 1.0)
    return ok & (grad <= np.quantile(grad[ok], fraction))


def correlation(noisy, *, radius: int = 2, data_range: float = 255.0, mask=None,
                fraction: float = CORRELATION_FRACTION, along: str = "both") -> CorrelationEstimate:
    """Marginal std and spatial autocorrelation of the noise, and the correlated() ``beta``.

    Second differences ``y(p-l) - 2y(p) + y(p+l)`` cancel smooth (locally
    linear) image content; for stationary noise with covariance ``C`` their
    variance is ``6 C(0) - 8 C(l) + 2 C(2l)``. Measured robustly (mean of the
    lower half of the squares, which stays smooth on quantised 8-bit or
    Poisson data where a median of squares jumps) on the flattest 10% of the
    image (lowest smoothed gradient; saturated areas, where more than half
    of a window sits at 0 or ``data_range``, excluded) for lags
    1..2*radius+1, horizontally and vertically, they give ``C(0)`` (from the
    lag 2*radius+1, beyond the reach of the model) and then ``C(l)`` for
    l = 2*radius..1. ``beta`` is the least-squares fit of the variance ratios
    to the :func:`noise2x.noise.correlated` model with this radius, clipped to
    [0, 1].

    Image texture left in the flat pixels adds more to the far lags than to
    the near ones and so reads as correlation: on weak white noise of
    textured images the estimate runs high (see
    ``scripts/correlation_calibration.py`` and BENCHMARKS.md for how often).

    Parameters
    ----------
    noisy : array_like
        (H,W) or (H,W,3) image (RGB: per-channel statistics averaged), at least 14x14.
    radius : int
        Radius k of the correlation model (>= 1); the noise is assumed
        uncorrelated beyond 2k pixels.
    data_range : float
        The image's full scale (255 for 8-bit), used to spot saturated areas.
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data (see :func:`sigma`).
    fraction : float
        The share of the pixels, the flattest, read (in (0, 1]; :data:`CORRELATION_FRACTION`).
    along : {"both", "rows", "columns"}
        The differences read: horizontal and vertical, or along one axis only (its ``beta`` is then that of the
        noise's correlation along it: :func:`noise2x.noise.correlated_rows` noise reads its beta along rows, 0
        along columns; see :func:`correlation_axes`).

    Returns
    -------
    CorrelationEstimate
    """
    from .noise import ALONG

    if along not in ALONG:
        raise UsageError(f"along must be 'both', 'rows' or 'columns', got {along!r}")
    if int(radius) != radius or radius < 1:
        raise UsageError(f"radius must be a whole number >= 1, got {radius!r}")
    if not 0 < fraction <= 1:
        raise UsageError(f"fraction must be in (0, 1], got {fraction!r}")
    k = int(radius)
    far = 2 * k + 1
    chans = _channels(noisy)
    valid = data_mask(mask, chans[0].shape)
    if min(chans[0].shape) <= 2 * far + 2:
        raise InputError(f"noisy image {chans[0].shape} is too small for radius {k}")
    lags = np.arange(1, far + 1)
    v = np.zeros(len(lags))
    for img in chans:
        keep = _flat_centres(img, far=far, fraction=fraction, data_range=data_range, valid=valid)
        v += np.array([_second_difference_var(img, int(lag), keep, along) for lag in lags]) / len(chans)
    c0 = v[-1] / 6.0
    cov = {0: c0}
    for lag in range(2 * k, 0, -1):
        cov[lag] = (6.0 * c0 + 2.0 * cov.get(2 * lag, 0.0) - v[lag - 1]) / 8.0
    rho = np.array([cov[lag] / c0 if c0 > 0 else 0.0 for lag in range(1, k + 1)])
    # model: V(l)/V(far) = 1 - beta * (8 t(l) - 2 t(2l)) / 6, with t(l) = max(0, 1 - l/(2k+1))
    t1 = np.maximum(0.0, 1.0 - lags[:-1] / far)
    t2 = np.maximum(0.0, 1.0 - 2 * lags[:-1] / far)
    coef = (8.0 * t1 - 2.0 * t2) / 6.0
    ratio = 1.0 - v[:-1] / v[-1] if v[-1] > 0 else np.zeros(len(coef))
    beta = float(np.clip(np.sum(coef * ratio) / np.sum(coef * coef), 0.0, 1.0))
    return CorrelationEstimate(sigma=float(np.sqrt(max(c0, 0.0))), rho=np.clip(rho, -1.0, 1.0), beta=beta)


def correlation_by_channel(noisy, *, mask=None, fraction: float = CORRELATION_FRACTION) -> tuple[float, float]:
    """The noise's marginal std and correlation ``beta`` (:func:`correlation`), a colour image read channel by
    channel and the median of each taken.

    In the mean of the channels, noise drawn independently per channel drops by sqrt(3) while the texture
    stays, which moves a photo towards the weak-noise regime where texture reads as correlation (CBSD68 with
    white noise: BENCHMARKS.md, "Colour images through the gray models"). ``mask``: the pixels holding image
    data. The reading of the no-option choice (:func:`noise2x.pretrained.noise_correlation`) and of BM3D's
    ``beta=auto``. ``fraction``: the share of the pixels, the flattest, read (:func:`correlation`).
    """
    image = np.asarray(noisy, dtype=np.float64)
    if image.ndim == 2:
        found = correlation(image, mask=mask, fraction=fraction)
        return float(found.sigma), float(found.beta)
    per = [correlation(image[..., c], mask=mask, fraction=fraction) for c in range(image.shape[-1])]
    return float(np.median([f.sigma for f in per])), float(np.median([f.beta for f in per]))


#: Noise correlated along one axis (:func:`correlation_direction`): its beta along the other is under this share of
#: the first's. On 20 BSD68 images (``scripts/correlation_direction_check.py``, BENCHMARKS.md) noise correlated along
#: rows (beta 1, sigma 10-25; 0.5, sigma 25) read shares of 0 to 0.49, noise correlated alike along both (beta 0.5 and
#: 1) 0.88 to 1.
ONE_AXIS_SHARE = 0.6
#: ... and the marginal std read along each axis (the far lags' variance, beyond the noise's reach) agree within this
#: factor: stationary noise has one variance, read alike along both; image texture read as correlation (weak white
#: noise on a textured 128-pixel crop read beta 1 along columns) reads apart, 1.5 to 2 (a re-check's QA pass: BM3D
#: given that spectrum lost 9 dB). Line noise on BSD68 photos read 1.00-1.05, on 128-pixel crops 1.00-1.51.
ONE_AXIS_SIGMA_RATIO = 1.3


class AxisReading(NamedTuple):
    """The noise read along each axis (:func:`correlation_axes`)."""

    sigma: float  # marginal std (the median over the axes and channels)
    beta_rows: float
    beta_columns: float
    sigma_rows: float
    sigma_columns: float


def correlation_axes(noisy, *, mask=None, fraction: float = CORRELATION_FRACTION) -> AxisReading:
    """The noise's marginal std and its correlation ``beta`` along rows and along columns (:func:`correlation` with
    ``along``; a colour image read channel by channel, the median of each)."""
    image = np.asarray(noisy, dtype=np.float64)
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[-1])]
    rows = [correlation(p, mask=mask, fraction=fraction, along="rows") for p in planes]
    columns = [correlation(p, mask=mask, fraction=fraction, along="columns") for p in planes]
    def median(fits: list, key: str) -> float:
        return float(np.median([getattr(f, key) for f in fits]))

    return AxisReading(median(rows + columns, "sigma"), median(rows, "beta"), median(columns, "beta"),
                       median(rows, "sigma"), median(columns, "sigma"))


#: estimate.stripes reads images of at least this many rows and columns (on small crops of photos the scene's own
#: lines passed for stripes, a re-check) ...
STRIPE_MIN_SIDE = 128
#: ... and offsets whose neighbouring differences share at most this part of their own (about -1/2 for offsets of
#: each line on its own; a striped fabric's 0.97)
STRIPE_NEIGHBOURS = -0.25
#: The differences' medians less their running median over this many lines: a scene's change from line to line (a
#: sinogram's sinusoidal traces), which made neighbouring differences share too little (-0.17) and left a
#: sinogram's stripes unread (a tomography QA pass); second differences, tried instead, took strong edges and fine
#: cloth for stripes on clean photo crops (a re-check). The test alone: the offsets' std is read on the differences
#: themselves (beside the running median about a tenth of it was lost, in a development run on flat fields).
STRIPE_HIGHPASS = 7


def stripes(noisy, *, mask=None) -> tuple[float, float]:
    """The std of offsets shared by whole columns and by whole rows (a sensor's fixed-pattern noise: a thermal
    camera's, a line scan's), in the image's units: (columns, rows).

    Each offset shows in the median, down its column, of the differences between neighbouring columns; the white
    noise there, which differs from the top half of the image to the bottom, is left out by taking what the two
    halves' medians share (a robust covariance), which the scene does little of, and only where neighbouring
    lines' differences, less their running median over :data:`STRIPE_HIGHPASS` lines (a scene's change across
    them), share about -1/2 of it, as offsets of each line on its own do (0 else: a scene's stripes vary
    smoothly; and on images under :data:`STRIPE_MIN_SIDE` pixels): on BSD68, Set12 and CBSD68 with
    white noise of sigma 0.5 to 25 and on RNI15, at most 1.6 (8-bit units), against column offsets of std 5 and
    12 read within 14% (``scripts/stripe_check.py``, BENCHMARKS.md, "Stripes"). A colour image: the median over
    its channels.
    ``mask``: pixels holding data (the others are filled with the median first)."""
    from scipy import ndimage

    image = np.asarray(noisy, dtype=np.float64)
    m = data_mask(mask, image.shape)
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[-1])]

    def spread(v: np.ndarray) -> float:
        return float((1.4826 * np.median(np.abs(v - np.median(v)))) ** 2)

    def shared_by(x: np.ndarray, y: np.ndarray) -> float:  # (a robust covariance)
        return (spread(x + y) - spread(x - y)) / 4

    def shared(plane: np.ndarray) -> float:  # (the lines are the columns of ``plane``)
        if min(plane.shape) < STRIPE_MIN_SIDE:
            return 0.0
        d = np.diff(plane, axis=1)
        half = d.shape[0] // 2
        a, b = np.median(d[:half], axis=0), np.median(d[half:], axis=0)
        a, b = a - np.median(a), b - np.median(b)
        same = shared_by(a, b)
        # the test on what differs from the running median (a scene's change across the lines left out): offsets
        # of each line on its own (white across lines) make neighbouring differences share about -1/2 of it; a
        # scene's stripes (a fabric, ripples) vary smoothly from line to line and share a positive part (a re-check
        # found them noted)
        a = a - ndimage.median_filter(a, STRIPE_HIGHPASS, mode="nearest")
        b = b - ndimage.median_filter(b, STRIPE_HIGHPASS, mode="nearest")
        fine = shared_by(a, b)
        if same <= 0 or fine <= 0:
            return 0.0
        if (shared_by(a[:-1], b[1:]) + shared_by(a[1:], b[:-1])) / 2 > STRIPE_NEIGHBOURS * fine:
            return 0.0
        return float(np.sqrt(same / 2))

    found = []
    for p in planes:
        if m is not None:
            p = np.where(m, p, np.median(p[m]))
        found.append((shared(p), shared(p.T)))
    return float(np.median([c for c, _ in found])), float(np.median([r for _, r in found]))


#: :func:`mosaic_score`'s blocks (side, pixels) and the least image side it reads (at least 4 blocks across)
MOSAIC_BLOCK = 16
MOSAIC_LEAST = 64
#: A score above this reads as a colour-filter mosaic: gray photos (whole, and 64-px crops) with white noise score
#: far under it, RGGB mosaics of colour photos with a camera's channel responses mostly far over it, the others'
#: colour faint against their detail (``scripts/mosaic_check.py``, BENCHMARKS.md, "Colour-filter mosaics")
MOSAIC_SCORE = 4.0


def mosaic_score(noisy, *, mask=None) -> float:
    """How surely a one-channel image is a colour-filter (Bayer) mosaic of raw sensor data: neighbouring pixels
    seeing different colours, those two apart the same one.

    The second difference at lag 1 (``x - (left + right) / 2``) passes a 2x2 pattern's alternation at its full
    strength; at lag 2 (``x - (x[-2] + x[+2]) / 2``) it passes none of it, and more than lag 1 of a scene's detail
    and as much white noise. Their squares' difference is averaged over blocks of :data:`MOSAIC_BLOCK` pixels;
    the score is that mean over its standard error across the blocks, the smaller of the two axes' (a mosaic
    alternates along both; an interlaced or even/odd-column sensor along one): a mosaic scores far above
    :data:`MOSAIC_SCORE`, a scene or noise about 0 or below. 0 for an image under :data:`MOSAIC_LEAST` pixels on
    a side or of one value. ``mask``: pixels holding data (the differences touching others are left out, and the blocks
    left with under half of theirs)."""
    image = np.asarray(noisy, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < MOSAIC_LEAST:
        return 0.0
    held = None if mask is None else np.asarray(mask, dtype=bool)  # (not data_mask: blank pixels scattered all over
    # leave no 7x7 window whole, and this reads each difference whose pixels hold data, a re-check)
    if held is not None and held.shape != image.shape:
        raise UsageError(f"mask has shape {held.shape}; the image {image.shape} needs {image.shape}")
    if held is not None and held.all():
        held = None
    b = MOSAIC_BLOCK
    scores = []
    for plane, keep in ((image, held), (image.T, None if held is None else held.T)):
        near = (plane[:, 2:-2] - (plane[:, 1:-3] + plane[:, 3:-1]) / 2) ** 2
        far = (plane[:, 2:-2] - (plane[:, :-4] + plane[:, 4:]) / 2) ** 2
        d = near - far
        h, w = (d.shape[0] // b) * b, (d.shape[1] // b) * b
        if keep is None:
            blocks = d[:h, :w].reshape(h // b, b, w // b, b).mean(axis=(1, 3)).ravel()
        else:  # (the differences whose five pixels all hold data, in blocks at least half of whose do: blocks
            # holding any blank pixel left out, a dead-pixel map's 0.7% turned the reading off, a re-check)
            from scipy import ndimage

            whole = ndimage.minimum_filter1d(keep.astype(np.uint8), 5, axis=1)[:, 2:-2][:h, :w].astype(np.float64)
            held = whole.reshape(h // b, b, w // b, b).sum(axis=(1, 3))
            sums = np.where(whole > 0, d[:h, :w], 0.0).reshape(h // b, b, w // b, b).sum(axis=(1, 3))
            blocks = (sums[held >= b * b / 2] / held[held >= b * b / 2]).ravel()
        if blocks.size < 4:
            return 0.0
        spread = float(np.std(blocks)) / np.sqrt(blocks.size)
        if not spread > 0:
            return 0.0
        scores.append(float(np.mean(blocks)) / spread)
    return min(scores)


def correlation_direction(reading: AxisReading, *, least: float) -> str:
    """"rows" or "columns" where the noise is correlated (beta above ``least``) along that axis and much less along
    the other (:data:`ONE_AXIS_SHARE`), its marginal std read alike along both (:data:`ONE_AXIS_SIGMA_RATIO`), else
    "both"."""
    high, low = max(reading.beta_rows, reading.beta_columns), min(reading.beta_rows, reading.beta_columns)
    s_high, s_low = max(reading.sigma_rows, reading.sigma_columns), min(reading.sigma_rows, reading.sigma_columns)
    if high > least and low < ONE_AXIS_SHARE * high and s_high <= ONE_AXIS_SIGMA_RATIO * s_low:
        return "rows" if reading.beta_rows > reading.beta_columns else "columns"
    return "both"


#: The shares of the flattest pixels whose correlated readings :func:`correlation_growth` compares
GROWTH_FRACTIONS = (0.03, 0.3)


def correlation_growth(noisy, *, mask=None) -> float:
    """How much the correlated reading's marginal std (:func:`correlation_by_channel`) grows from the flattest 3% of
    the pixels to the flattest 30%: their ratio.

    Stationary noise reads alike on both (on the calibration images, correlated noise of sigma 2-25, beta 1, where
    BM3D given its spectrum gained: 0.95-1.13 on 82 of 83 readings), where image texture, which the flatter pixels
    hold less of, makes the second reading the larger (the calibration images with white noise of sigma 0.3-2 read as
    strongly correlated: 1.31 to 11.8; ``scripts/correlated_psd_calibration.py``, BENCHMARKS.md, "Texture read as
    strongly correlated noise"). inf where the first reads no noise at all.
    """
    low, high = (correlation_by_channel(noisy, mask=mask, fraction=f)[0] for f in GROWTH_FRACTIONS)
    return high / low if low > 0 else float("inf")


# --------------------------------------------------------------------------- impulses

#: An isolated outlier lies beyond every one of its 8 neighbours by more than this (8-bit units) ...
IMPULSE_GAP = 30.0
#: ... and by more than this many times their own spread (the largest neighbour less the smallest)
IMPULSE_SPREAD = 2.0
#: Spikes: such outliers beyond every neighbour by more than this many times the noise's white sigma too
#: (:func:`impulse_share`'s ``least``), which white noise of any level leaves next to none of
SPIKE_SIGMAS = 10.0


def impulse_share(noisy, *, mask=None, least: float = 0.0) -> float:
    """The share of the pixels that are isolated outliers, as impulse noise makes them: beyond all of their 8
    neighbours, on one side, by more than :data:`IMPULSE_GAP` (8-bit units) and more than :data:`IMPULSE_SPREAD`
    times the neighbours' own spread. Impulses fall on both sides (bright and dark), where point sources (the
    stars of an undersampled sky frame, a fluorescence field's puncta: one-pixel peaks of signal) are bright
    only, and took a crowded star field for impulse noise (a QA re-check): twice the share of the rarer side,
    the mean over the channels.

    Impulse noise (random values, salt and pepper: white) reads as strongly correlated noise of a small sigma to
    :func:`correlation` (its far lag is the more contaminated), and as weak white noise to :func:`sigma`. On the
    calibration images (train400, CBSD68 60-67) clean photos read at most 3e-5, correlated noise 3.3e-4,
    Gaussian noise up to sigma 50 1.5e-3; impulses on 1% of the pixels 1.9e-4 to 6.4e-3 (a dark photo has few
    dark outliers), on 5% 8.2e-4 to 2.6e-2. A few photons (Poisson noise of peak 1 to 5) read up to 5.6e-3: such
    noise reads as signal-dependent (:func:`poisson_gaussian`), which noise2x.pretrained reads first.
    ``scripts/impulse_calibration.py``; BENCHMARKS.md, "Impulse noise with no options".

    Parameters
    ----------
    noisy : array_like
        (H,W) or (H,W,C) image in 8-bit units.
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: only those pixels count, and only where all their neighbours
        hold data too.
    least : float
        Outliers count only beyond their neighbours by more than this too (8-bit units; spikes: :data:`SPIKE_SIGMAS`
        times the noise's sigma).
    """
    from scipy import ndimage

    chans = _channels(noisy)
    valid = data_mask(mask, chans[0].shape)
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    inner = np.zeros(chans[0].shape, bool)
    inner[1:-1, 1:-1] = True  # (a border pixel's neighbours are partly mirrored: left out)
    if valid is not None:
        inner &= ndimage.binary_erosion(valid, np.ones((3, 3), bool), border_value=0)
    count = max(int(np.count_nonzero(inner)), 1)
    shares = []
    for img in chans:
        img = np.asarray(img, dtype=np.float64)
        top = ndimage.maximum_filter(img, footprint=ring, mode="nearest")
        bottom = ndimage.minimum_filter(img, footprint=ring, mode="nearest")
        spread = IMPULSE_SPREAD * (top - bottom)
        sides = [img - top, bottom - img]  # (above all of its neighbours, and below)
        counts = [np.count_nonzero((gap > max(IMPULSE_GAP, least)) & (gap > spread) & inner) for gap in sides]
        shares.append(2 * min(counts) / count)
    return float(np.mean(shares))


# --------------------------------------------------------------------------- JPEG compression

#: JPEG's block size and the high-frequency DCT coefficients the test reads (rows and columns 4..7 of a block)
_JPEG_BLOCK = 8
_JPEG_HIGH = slice(4, 8)
#: a coefficient counts as zero below this (8-bit units, orthonormal DCT): JPEG zeroes most high frequencies
#: and its decoding rounds the pixels to integers, which moves a coefficient by about 0.3 (std) at most
_JPEG_ZERO = 0.75
#: The coefficient magnitudes (8-bit units) that only fine quantisation steps leave (see jpeg_fine_steps)
_JPEG_FINE_BAND = (4.0, 10.0)
#: The side of the constant squares whose pixels the JPEG reading leaves out (see _jpeg_window)
_JPEG_FLAT = 4
#: The least number of blocks holding data (not constant) a grid needs to count in the JPEG reading: on fewer the
#: fractions vary by chance from grid to grid, and the best of 64 grids on a small noisy image never compressed
#: nears JPEG_EXCESS (noise2x.pretrained); an image with no such grid but one reads as no JPEG
_JPEG_MIN_BLOCKS = 100


@functools.lru_cache(maxsize=1)
def _dct_high() -> np.ndarray:
    """Rows 4..7 of the orthonormal 8-point DCT-II matrix."""
    n = _JPEG_BLOCK
    k, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * x + 1) * k / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d[_JPEG_HIGH]


def _jpeg_luma(image, name: str) -> np.ndarray:
    """A gray image, or an RGB one's luma (JFIF weights, as JPEG codes it), float64; at least 16x16."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        img = img @ np.array([0.299, 0.587, 0.114])
    if img.ndim != 2 or min(img.shape) < 2 * _JPEG_BLOCK:
        raise UsageError(f"{name}: needs a gray or RGB image of at least 16x16, got shape {np.shape(image)}")
    return img


def _jpeg_window(image, name: str, mask, max_side: int, grid: tuple[int, int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None, int, int]:
    """The luma (:func:`_jpeg_luma`) of the central ``max_side`` window read, less 128, the pixels there that
    count (in ``mask``, not in a constant 4x4 square; on the JPEG's ``grid`` (dy, dx), where the window starts,
    not clipped either; None: all), and the window's top and left."""
    img = _jpeg_luma(image, name)
    valid = data_mask(mask, img.shape)
    if grid is not None:
        # on the JPEG's grid, pixels clipped to 0 or 255 (any channel) are left out with the blocks holding them: a
        # decoder's clipping puts values off JPEG's quantisation steps (the grid itself is found with them: they are
        # off every grid alike, and leaving them out of a small, much clipped image left too few blocks on its grid)
        raw = np.asarray(image)
        clipped = (raw <= 0) | (raw >= 255)
        clipped = clipped.any(axis=2) if clipped.ndim == 3 else clipped
        valid = ~clipped if valid is None else valid & ~clipped
    valid = np.ones(img.shape, bool) if valid is None else valid
    h, w = img.shape
    if grid is None:
        top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    else:
        dy, dx = int(grid[0]) % _JPEG_BLOCK, int(grid[1]) % _JPEG_BLOCK
        top = dy + max(0, (h - dy - max_side) // 2) // _JPEG_BLOCK * _JPEG_BLOCK
        left = dx + max(0, (w - dx - max_side) // 2) // _JPEG_BLOCK * _JPEG_BLOCK
    cut = (slice(top, top + max_side), slice(left, left + max_side))
    img = img[cut]
    # pixels in a constant 4x4 square (a fill, a saturated area) are left out with the blocks holding them: a block
    # mostly of fill reads near-zero high frequencies, and where the fill's edges follow some 8x8 grid (a cut-out,
    # a mosaic) that grid would pass for JPEG's
    win = np.lib.stride_tricks.sliding_window_view(img, (_JPEG_FLAT, _JPEG_FLAT))
    constant = win.max(axis=(2, 3)) == win.min(axis=(2, 3))
    flat = np.zeros(img.shape, bool)
    for a in range(_JPEG_FLAT):
        for b in range(_JPEG_FLAT):
            flat[a: a + constant.shape[0], b: b + constant.shape[1]] |= constant
    data = valid[cut] & ~flat
    return img - 128.0, None if data.all() else data, top, left


def _jpeg_high(img: np.ndarray, valid: np.ndarray | None, dy: int, dx: int) -> np.ndarray:
    """The high-frequency DCT coefficients (rows and columns 4..7, orthonormal) of the 8x8 blocks on the grid at
    ``(dy, dx)`` of ``img``, shape (blocks, 4, 4): only blocks whose every pixel counts (``valid``, as
    :func:`_jpeg_window` gives it; None: all)."""
    sub = img[dy:, dx:]
    bh, bw = sub.shape[0] // _JPEG_BLOCK, sub.shape[1] // _JPEG_BLOCK
    blocks = sub[: bh * _JPEG_BLOCK, : bw * _JPEG_BLOCK].reshape(bh, _JPEG_BLOCK, bw, _JPEG_BLOCK)
    keep = np.ones((bh, bw), bool)
    if valid is not None:
        vb = valid[dy:, dx:][: bh * _JPEG_BLOCK, : bw * _JPEG_BLOCK].reshape(bh, _JPEG_BLOCK, bw, _JPEG_BLOCK)
        keep &= vb.all(axis=(1, 3))
    d = _dct_high()
    return np.einsum("ub,ibjc,vc->ijuv", d, blocks, d, optimize=True)[keep]


def jpeg_blocks(image, *, mask=None, max_side: int = 512) -> tuple[float, tuple[int, int]]:
    """How strongly an image carries JPEG compression: ``(excess, (dy, dx))``.

    JPEG quantises the 8x8 block DCT of the image and zeroes most of its high frequencies; on the blocks of the
    JPEG's own grid those coefficients stay near zero after decoding, while on any other grid, and on an image
    that never went through JPEG, they are as large as the image's texture and noise make them. ``excess`` is
    the fraction of near-zero high-frequency coefficients (rows and columns 4..7 of each block's orthonormal
    DCT, ``|c| < 0.75`` in 8-bit units) on the grid where it is largest, less its median over the other 63 grids;
    ``(dy, dx)`` that grid's offset (``(0, 0)`` for an uncropped JPEG). Noise added after compression hides it,
    unless weak (sigma 1-2 in 8-bit units does not: BENCHMARKS.md, "Noisy JPEGs"); noise compressed with the
    image does not. About 0 on an image that was never compressed (whatever its noise), up to nearly 1 on a
    noisy JPEG. A colour image is read through its luma (JFIF weights). At most a
    ``max_side`` square from the middle is read (enough for a stable fraction, and fast). Only blocks that hold
    data (``mask``) and no constant 4x4 square count: a fill whose edge follows an 8x8 grid would pass for JPEG's
    blocks.

    Parameters
    ----------
    image : array_like
        (H,W) or (H,W,3) image in 8-bit units (0..255), at least 16x16.
    mask : array_like of bool, optional
        (H,W): the pixels holding image data (as in :func:`sigma`).
    max_side : int
        Side of the central window read on larger images.

    Returns
    -------
    tuple
        ``(excess, (dy, dx))``.
    """
    img, valid, top, left = _jpeg_window(image, "jpeg_blocks", mask, max_side)
    fractions = np.full((_JPEG_BLOCK, _JPEG_BLOCK), np.nan)
    for dy in range(_JPEG_BLOCK):
        for dx in range(_JPEG_BLOCK):
            high = _jpeg_high(img, valid, dy, dx)
            if len(high) >= _JPEG_MIN_BLOCKS:
                fractions[dy, dx] = np.mean(np.abs(high) < _JPEG_ZERO)
    if np.isnan(fractions).all():  # (too few blocks hold data: nothing seen)
        return 0.0, (0, 0)
    # (offsets are counted on the whole image's grid: the window's own offset is taken back out)
    best = np.unravel_index(int(np.nanargmax(fractions)), fractions.shape)
    rest = np.delete(fractions.ravel(), int(np.ravel_multi_index(best, fractions.shape)))
    excess = float(fractions[best] - np.nanmedian(rest)) if not np.isnan(rest).all() else 0.0
    offset = (int((best[0] + top) % _JPEG_BLOCK), int((best[1] + left) % _JPEG_BLOCK))
    return excess, offset


def jpeg_rounding(image, offset: tuple[int, int] = (0, 0), *, mask=None, max_side: int = 512) -> float:
    """Whether a JPEG is as its decoder left it, or had noise added after: the spread of its near-zero
    high-frequency DCT coefficients on the JPEG's grid (``offset``, as :func:`jpeg_blocks` finds it).

    On a decoded JPEG the coefficients JPEG zeroed are moved only by the decoder's rounding to integers (std about
    0.3 in 8-bit units): few lie between 0.5 and 1 in magnitude. White noise added after compression spreads them
    by its own sigma. Returns the number of coefficients with ``0.5 <= |c| < 1`` over the number with ``|c| < 0.5``
    (rows and columns 4..7 of each block's orthonormal DCT; colour through its luma): small on a JPEG as decoded,
    near 1 where noise of sigma 1 or more was added after (``scripts/jpeg_blocks_check.py`` records it beside
    the excess; BENCHMARKS.md, "Noisy JPEGs"). Blocks as :func:`jpeg_blocks` counts them (data in ``mask``, not
    constant), none clipped (0 or 255 in any channel); ``nan`` where fewer than 100 are left, or no coefficient
    lies below 0.5.
    """
    img, valid, _, _ = _jpeg_window(image, "jpeg_rounding", mask, max_side, grid=offset)
    c = np.abs(_jpeg_high(img, valid, 0, 0))  # (the window starts on the JPEG's grid)
    if len(c) < _JPEG_MIN_BLOCKS:
        return float("nan")
    zero = int(np.count_nonzero(c < 0.5))
    return float(np.count_nonzero((c >= 0.5) & (c < 1.0)) / zero) if zero else float("nan")


def jpeg_fine_steps(image, offset: tuple[int, int] = (0, 0), *, mask=None, max_side: int = 512) -> float:
    """How finely a JPEG was quantised: the share of its high-frequency DCT coefficients on the JPEG's grid
    (``offset``, as :func:`jpeg_blocks` finds it) that lie between 4 and 10 in magnitude.

    JPEG stores each coefficient as a multiple of its quantisation step. With the standard tables the steps of
    the high frequencies read here (rows and columns 4..7) are 14 and more up to quality 90, so none lies between
    4 and 10 (rounding moves a coefficient by about 0.3); from quality 95 on they are 7 or less, and many do: a
    near-lossless JPEG (the BSD's photos were saved so). About 0 up to quality 90, 0.002-0.2 at 95 (by the image's
    texture; ``scripts/jpeg_blocks_check.py`` records it; BENCHMARKS.md, "Noisy JPEGs"). Blocks as
    :func:`jpeg_rounding` counts them; ``nan`` where fewer than 100 are left.
    """
    img, valid, _, _ = _jpeg_window(image, "jpeg_fine_steps", mask, max_side, grid=offset)
    c = np.abs(_jpeg_high(img, valid, 0, 0))  # (the window starts on the JPEG's grid)
    if len(c) < _JPEG_MIN_BLOCKS:
        return float("nan")
    return float(np.mean((c >= _JPEG_FINE_BAND[0]) & (c < _JPEG_FINE_BAND[1])))


#: :func:`periodic_pattern`'s window side: a centred square of the image this size or less
PERIODIC_SIDE = 256
#: ... and its smallest: a smaller image reads no pattern
PERIODIC_LEAST = 64
#: Frequencies read, in cycles per pixel: periods of 2 to 16 pixels (coarser ones are the scene's layout)
PERIODIC_BAND = (1 / 16, 0.5)
#: The spectral neighbours (bins away) a peak is weighed against, each side of it, radially and across: past the main
#: lobe of the Hann taper
PERIODIC_NEIGHBOURS = (2, 5)
#: A dot screen repeats along two directions: its second peak lies at least this far (degrees) from the first's
#: direction; lines of text, a ruled grid's lines, stripes repeat along one (their harmonics line up with the first)
PERIODIC_SECOND_ANGLE = 20.0


def periodic_window(image) -> np.ndarray:
    """The centred square of ``image`` ((H,W) or (H,W,C)) that :func:`periodic_pattern` reads: of side
    :data:`PERIODIC_SIDE`, or the image's shorter side where that is less."""
    h, w = np.shape(image)[:2]
    side = min(PERIODIC_SIDE, h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return np.asarray(image)[top:top + side, left:left + side]


def periodic_pattern(image, *, mask=None) -> tuple[float, float]:
    """How strongly a regular pattern of fine period stands out of an image's spectrum: ``(peak, period)``.

    The power spectrum of a centred window (:data:`PERIODIC_SIDE`, Hann
    tapered) is weighed, bin by bin, against its neighbours 2 to 5 bins away
    (in logarithms): the larger of their median along the line through the
    spectrum's centre and their median across it, so that the lines a
    straight edge makes (through the centre) and the rings a round one makes
    (around it) do not count, an isolated peak does. A dot screen repeats
    along two directions, lines of text along one: ``peak`` is the smaller
    of the largest ratio at periods of 2 to 16 pixels and the largest in a
    direction at least :data:`PERIODIC_SECOND_ANGLE` from it (a text page's
    line pitch, in one type size, made a peak as strong as a screen's), and
    ``period`` (pixels) where the largest lies. A halftone's dot screen stands out far above natural photos, their
    JPEGs and real noise (benchmarks/periodic_check.json, by
    scripts/periodic_check.py); noise alone gives about 10. The noise
    estimates (:func:`sigma`) read a sharp screen's fine regular detail as
    noise.

    Parameters
    ----------
    image : array_like
        (H,W) or (H,W,C) (the mean of its channels is read).
    mask : array_like of bool, optional
        (H,W), True where pixels hold data; the others take the data's mean.

    Returns
    -------
    tuple of float
        ``(peak, period)``; ``(0.0, 0.0)`` for an image under
        :data:`PERIODIC_LEAST` pixels on a side or of one value.
    """
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(axis=2)
    part = periodic_window(img)
    side = part.shape[0]
    if side < PERIODIC_LEAST:
        return 0.0, 0.0
    valid = data_mask(mask, img.shape)
    if valid is not None:
        held = periodic_window(valid)
        if not held.any():
            return 0.0, 0.0
        part = np.where(held, part, float(np.mean(part[held])))
    part = part - float(np.mean(part))
    if not np.any(part):
        return 0.0, 0.0
    taper = np.hanning(side)
    power = np.abs(np.fft.fftshift(np.fft.fft2(part * np.outer(taper, taper)))) ** 2
    logs = np.log(power + 1e-12 * float(np.max(power)))
    fy, fx = np.mgrid[:side, :side] - side // 2
    bins = np.hypot(fy, fx)
    uy, ux = fy / np.maximum(bins, 1.0), fx / np.maximum(bins, 1.0)  # (the unit vector from the centre)
    steps = [s * k for k in range(PERIODIC_NEIGHBOURS[0], PERIODIC_NEIGHBOURS[1] + 1) for s in (-1, 1)]
    centre = side // 2
    along = [ndimage.map_coordinates(logs, [fy + centre + k * uy, fx + centre + k * ux], order=1, mode="wrap")
             for k in steps]
    across = [ndimage.map_coordinates(logs, [fy + centre + k * ux, fx + centre - k * uy], order=1, mode="wrap")
              for k in steps]
    lift = logs - np.maximum(np.median(along, axis=0), np.median(across, axis=0))
    radius = bins / side
    lift[(radius <= PERIODIC_BAND[0]) | (radius >= PERIODIC_BAND[1])] = -np.inf
    at = np.unravel_index(int(np.argmax(lift)), lift.shape)
    angle = np.degrees(np.arctan2(fy, fx)) % 180.0  # (the spectrum is symmetric: directions modulo 180)
    apart = np.abs(angle - angle[at])
    second = float(np.max(lift[np.minimum(apart, 180.0 - apart) >= PERIODIC_SECOND_ANGLE]))
    return float(np.exp(min(float(lift[at]), second))), float(1.0 / radius[at])
