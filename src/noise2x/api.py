"""The Python API. The CLI only parses its arguments and calls these functions.

Three kinds of methods share one namespace of names (DESIGN.md):

* direct methods run on one image with no training: the classical baselines
  (``bm3d``, ``nlm``, ...) and the zero-shot methods (``mash``, ``zs_n2n``);
* trainable methods (``noise2noise``, ``noise2void``, ...) learn a model with
  :func:`train`; the model is applied with ``denoise(image, model=...)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import inspect
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from .errors import InputError, Noise2xError, UnitsWarning, UsageError

if TYPE_CHECKING:
    from .noise import NoiseSpec
    from .predict import Denoiser

# Keywords every direct method may accept; they are not user options.
_RESERVED = ("noise", "rng", "info", "progress", "mask")


def direct_methods() -> dict[str, Callable[..., np.ndarray]]:
    """Training-free and zero-shot methods by name (classical first)."""
    from .classical import CLASSICAL

    methods: dict[str, Callable[..., np.ndarray]] = dict(CLASSICAL)
    if importlib.util.find_spec("noise2x.zeroshot") is not None:
        from .zeroshot import ZERO_SHOT

        methods.update(ZERO_SHOT)
    return methods


def trainable_methods() -> dict[str, type]:
    """Trainable methods by name (empty until the training core is installed)."""
    if importlib.util.find_spec("noise2x.methods") is None:
        return {}
    from .methods import METHODS

    return dict(METHODS)


#: The names of :data:`noise2x.zeroshot.ZERO_SHOT` and :data:`noise2x.methods.METHODS` (tests check them), known
#: without importing those modules, which import torch (a slow import for a listing: a performance QA pass)
ZERO_SHOT_NAMES = ("mash", "zs_n2n")
TRAINABLE_NAMES = ("supervised", "noise2noise", "noise2void", "noise2self", "noise2same", "noise2same_pro",
                   "neighbor2neighbor", "blindspot", "gan")


def available_methods() -> dict[str, str]:
    """Every method name with its kind: 'classical', 'zero-shot' or 'trainable'."""
    from .classical import CLASSICAL

    kinds = {name: "classical" for name in CLASSICAL}
    if importlib.util.find_spec("noise2x.zeroshot") is not None:
        kinds.update({name: "zero-shot" for name in ZERO_SHOT_NAMES})
    if importlib.util.find_spec("noise2x.methods") is not None:
        kinds.update({name: "trainable" for name in TRAINABLE_NAMES})
    return kinds


def resolve_direct(name: str) -> Callable[..., np.ndarray]:
    """Return the direct method called ``name``, or raise a UsageError that lists them."""
    from .classical import CLASSICAL

    if name in CLASSICAL:  # (no zero-shot module imported, nor torch with it)
        return CLASSICAL[name]
    methods = direct_methods()
    if name in methods:
        return methods[name]
    if name in trainable_methods():
        raise UsageError(
            f"method '{name}' must be trained first: noise2x train --method {name} --data DIR --out MODEL, "
            f"then noise2x denoise --model MODEL ... (Python: model = noise2x.train('{name}', data=DIR, ...), then "
            f"noise2x.denoise(image, model=model))"
        )
    try:  # a shipped model's name given as a method
        from .pretrained import find
    except ImportError:  # (a build without the shipped models)
        find = None
    if find is not None and find(name) is not None:
        raise UsageError(f"'{name}' is a shipped model, not a method: noise2x denoise --model {name} ... "
                         f"(model='{name}' in Python)")
    raise UsageError(f"unknown method '{name}'; direct methods: {', '.join(methods)}; "
                     f"trainable: {', '.join(trainable_methods()) or 'none'}")


def parse_options(pairs: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """Parse ``key=value`` strings (the CLI's ``--set``) into a dict of strings."""
    options: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value (options= in Python: a dict), got '{pair}'")
        options[key.strip()] = value.strip()
    return options


def coerce_option(value: Any, default: Any, key: str) -> Any:
    """Convert a string option (the CLI's ``--set``) to the type of its default.

    A default of None accepts an int, then a float, then the text itself.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if isinstance(default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if default is None:
            for convert in (int, float):
                try:
                    return convert(text)
                except ValueError:
                    pass
            return text
    except ValueError:
        what = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(type(default).__name__,
                                                                                          type(default).__name__)
        raise UsageError(f"option {key}={value!r}: expected {what}") from None
    return value


def method_options(fn: Callable[..., Any]) -> dict[str, Any]:
    """The user options of a direct method with their defaults."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {
        name: (None if p.default is inspect.Parameter.empty else p.default)
        for name, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in _RESERVED
    }


#: The largest magnitude of values the direct methods (BM3D, non-local means, the zero-shot methods) take: their
#: arithmetic squares them (in float32 for BM3D, which fails from about 6e17)
DIRECT_RANGE = 1e17


def call_direct(
    name: str,
    noisy: np.ndarray,
    *,
    noise: Any = None,
    rng: Any = None,
    options: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    mask: Any = None,
) -> np.ndarray:
    """Run the direct method ``name`` on one image, checking its options first (``mask``: the pixels holding
    image data, for a method that estimates the noise, as in :func:`denoise`)."""
    fn = resolve_direct(name)
    valid = method_options(fn)
    kwargs: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in valid:
            raise UsageError(f"method '{name}' has no option '{key}'; valid options: {', '.join(valid) or 'none'}")
        kwargs[key] = coerce_option(value, valid[key], key)
    values = np.abs(np.asarray(noisy, dtype=np.float64))
    peak = float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
    if peak > DIRECT_RANGE:  # (their arithmetic squares the values: a raw scipy error at 1e155, NaN from BM3D above
        # 2.5e22, in an integrator's QA pass)
        raise InputError(f"the image's values reach {peak:.3g}, beyond what {name} computes with (its arithmetic "
                         f"squares them; at most {DIRECT_RANGE:.0e}): rescale it (divide it by a power of ten), or "
                         f"use a model (--model, model=), which maps the image to its own units")
    params = inspect.signature(fn).parameters
    extra = {"noise": noise, "rng": rng, "info": info, "progress": progress, "mask": mask}
    kwargs.update({k: v for k, v in extra.items() if k in params})
    out = np.asarray(fn(noisy, **kwargs), dtype=np.float64)
    if not np.isfinite(out).all():  # never handed on (or written) as if it were a result
        peak = float(np.max(np.abs(np.asarray(noisy, dtype=np.float64))))
        beyond = f": its values reach {peak:.3g}, beyond float32's range (3.4e38): rescale it" if peak > 3e38 else (
            f": its values reach {peak:.3g}: rescale it (divide it by a power of ten), or use a model" if peak > 1e12
            else "")
        raise InputError(f"{name} gave NaN/inf values on this image{beyond}")
    return out


def _noise_spec(noise: Any) -> Any:
    if noise is None or not isinstance(noise, str):
        return noise
    from .noise import parse_noise

    return parse_noise(noise)


def choose_auto(image: np.ndarray, *, noise: Any = None, colour: str = "auto", mask: Any = None) -> Any:
    """Pick a shipped model or a zero-shot method for an image when the user named none.

    ``colour``: how a gray model will denoise a colour image (as in :func:`denoise`); ``mask``: the
    pixels holding image data, the only ones the noise is estimated from (as in :func:`denoise`).
    Returns a :class:`noise2x.pretrained.Choice` (``model`` path or ``method``, and ``reason``).
    """
    from .pretrained import choose

    return choose(image, noise=_noise_spec(noise), colour=colour, mask=mask)


def no_option_route(image: np.ndarray, *, noise: Any = None, colour: str = "auto",
                    mask: Any = None) -> tuple[Any, Any, Path | None, str, str]:
    """What :func:`denoise` with no model and no method does with ``image``.

    Returns
    -------
    (choice, stabilised, model_file, name, reason)
        The :class:`noise2x.pretrained.Choice`, its variance-stabilised form for Poisson noise on an RGB photo
        (:func:`noise2x.pretrained.stabilised`, or None), the shipped model file it runs (None: a direct
        method), that model's or method's name and why, as ``denoise`` says them ("using NAME: REASON").
    """
    from .io import gray_as_rgb
    from .pretrained import stabilised

    if gray_as_rgb(image):  # (as denoise takes it; noise2x info said the colour route: a QA pass)
        choice, vst, model_file, name, reason = no_option_route(image[..., 0], noise=noise, colour=colour, mask=mask)
        return choice, vst, model_file, name, (f"{reason}; the image's three channels are equal (a gray image "
                                               f"stored as RGB): denoised as gray, its result in all three")
    choice = choose_auto(image, noise=noise, colour=colour, mask=mask)
    vst = stabilised(choice, 1 if image.ndim == 2 else image.shape[2], colour)
    model_file = choice.model if vst is None else vst.model
    name = model_file.stem if model_file is not None else choice.method
    return choice, vst, model_file, name, choice.reason if vst is None else vst.reason


def channel_levels_note(choice: Any, name: str) -> str | None:
    """The note for an RGB image whose channels' noise levels, as the no-option ``choice`` read them, lie twice
    and 3 (8-bit) levels apart or more: ``name``, the route, takes them as one level (the least noisy channel came
    out 3.7 dB under its noisy input, unsaid: a colour QA pass); else None."""
    levels = choice.facts.get("sigma_channels")
    if not levels or max(levels) < 2 * min(levels) or max(levels) - min(levels) < 3:
        return None
    read = ", ".join(f"{c} {s:.3g}" for c, s in zip("RGB", levels))
    return (f"note: the channels' noise differs (sigma read {read}, in 8-bit units) and {name} takes them as one "
            f"level: the least noisy can come out noisier than it went in; colour='channels' (--colour channels) "
            f"denoises each channel alone, at its own level")


def pattern_note(choice: Any) -> str | None:
    """The note for a gray-level image in which the no-option ``choice`` found a regular pattern of fine period
    (:data:`noise2x.pretrained.PERIODIC_PEAK`: a halftone's dot screen), which the noise estimates read as noise;
    else None (a bilevel image's route says it)."""
    period = choice.facts.get("pattern_period")
    if not period or choice.facts.get("bilevel") or choice.facts.get("correlated_along"):  # (a reading along one
        # axis: row noise's streaks read as the pattern, and the note's advice sent it to the white route, a re-check)
        return None
    if choice.facts.get("pattern_route"):  # (BM3D at the white sigma read: noisy lattices came back 2.6 to 25 dB
        # better than by the routes before, and the note's advice, to give the noise, changed nothing: an AFM QA pass)
        return (f"note: the image holds a regular pattern of fine period (about {period:.2g} px: a lattice, a "
                f"halftone's dot screen, a woven texture), denoised by BM3D at the white sigma read, which keeps such "
                f"a pattern best; a screen's dots can read as noise, and BM3D then smooths them: check it; a clean "
                f"halftone needs no denoising, and noise of a known level is taken as --method bm3d --noise "
                f"gaussian:sigma=...")
    return (f"note: the image holds a regular pattern of fine period (about {period:.2g} px: a lattice, a halftone's "
            f"dot screen, a woven texture), which the noise reading may take for noise, and the result smooths it: "
            f"check it; a clean halftone needs no denoising, and --method bm3d (with --noise gaussian:sigma=... "
            f"where the noise is known) keeps such a pattern best")


def spikes_note(choice: Any) -> str | None:
    """The note for isolated spikes, bright and dark, that the no-option ``choice`` read under the impulse route
    (:data:`noise2x.pretrained.SPIKE_SHARE`), which every route keeps; else None."""
    from .estimate import SPIKE_SIGMAS

    share = choice.facts.get("spike_share")
    if not share:
        return None
    # (the share read is twice the rarer side's: said as at least half of it each way, a re-check)
    return (f"note: isolated spikes, bright and dark (at least {share / 2:.2%} of the pixels each), lie beyond all of "
            f"their neighbours by over {SPIKE_SIGMAS:g} times the noise's sigma (impulse noise, a probe's tip jumps, "
            f"hot and dead pixels): the route taken keeps them as they are; --noise impulse:p={share:.2g} sends the "
            f"image to ZS-N2N, the route for impulse noise, which removes most of them but less of the other noise, "
            f"and takes far longer")


def stripes_note(choice: Any) -> str | None:
    """The note for offsets shared by whole columns or rows (stripes: a sensor's fixed-pattern noise, a thermal
    camera's non-uniformity) that the no-option ``choice`` read (:func:`noise2x.estimate.stripes`), which no
    method here removes; else None (a thermal QA pass found 12-count stripes kept unsaid)."""
    from .pretrained import STRIPE_LEAST, STRIPE_SHARE

    columns, rows = choice.facts.get("stripes") or (0.0, 0.0)
    white = float(choice.facts.get("sigma") or 0.0)
    found = [(what, s) for what, s in (("columns", columns), ("rows", rows))
             if s >= STRIPE_LEAST and s >= STRIPE_SHARE * white]
    if not found:
        return None
    scale = choice.scale or 1.0
    said = " and ".join(f"whole {what} (std {s / scale:.3g})" for what, s in found)
    units = "" if scale == 1 else ", in the image's units"
    return (f"note: offsets shared by {said}{units}, beside white noise of "
            f"sigma {white / scale:.3g}: stripes, a sensor's fixed-pattern noise, which no method here removes (each "
            f"takes what varies from pixel to pixel); level them first (a flat field or non-uniformity correction, "
            f"or each line's median subtracted)")


#: Model files loaded by name or path for :func:`denoise` (given, or the no-option route's shipped ones), the last
#: few (by file, its size and times): a service calling ``denoise(image, model="gray-gaussian")`` loaded and checked
#: the file at every call (an integrator's QA pass)
_BY_NAME: dict[tuple[str, int, int, int, int], Any] = {}
_BY_NAME_KEPT = 8


def _model_named(model: str | os.PathLike) -> Any:
    """:func:`load_model` of ``model``, from :data:`_BY_NAME` where that file, unchanged, was loaded lately."""
    path = model_file(model)
    try:
        stat = os.stat(path)
    except OSError:  # (load_model says what is wrong)
        return load_model(model)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)  # (a file put
    # in its place with the same size and time, as cp -p does, has another inode or status change)
    found = _BY_NAME.pop(key, None)
    if found is None:
        found = load_model(model)
    _BY_NAME[key] = found  # (the most recent last)
    while len(_BY_NAME) > _BY_NAME_KEPT:
        _BY_NAME.pop(next(iter(_BY_NAME)))
    return found


def _model_channels(model: Any) -> int:
    """The channels ``model`` (a Denoiser, a file or a shipped model's name) takes: 1 where none is given, or it
    cannot be loaded (load_model says why, later)."""
    if model is None:
        return 1
    try:
        den = _model_named(model) if isinstance(model, (str, os.PathLike)) else model
    except Noise2xError:
        return 1
    return int(getattr(den, "channels", 1) or 1)


def _cached_model(path: Path) -> Any:
    """The shipped model file ``path``, as :func:`_model_named` keeps it."""
    return _model_named(path)


#: Blank rows and columns farther than this from the image data are not denoised (with ``blanks``).
_BLANK_MARGIN = 32
#: A square of 0 of this side (every channel) counts as a solid area of 0 in :func:`zero_area_note` ...
_ZERO_SIDE = 16
#: ... which speaks when such squares cover at least this share of the image.
_ZERO_SHARE = 0.01


def data_crop(data: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the rows and columns that ``denoise`` with blanks works on, those of the pixels
    holding data (``data``, (H,W) bool, not empty) and 32 more around them (a mosaic's blank padding
    beyond is left out)."""
    rows, cols = np.flatnonzero(data.any(axis=1)), np.flatnonzero(data.any(axis=0))
    return (max(int(rows[0]) - _BLANK_MARGIN, 0), min(int(rows[-1]) + 1 + _BLANK_MARGIN, data.shape[0]),
            max(int(cols[0]) - _BLANK_MARGIN, 0), min(int(cols[-1]) + 1 + _BLANK_MARGIN, data.shape[1]))


def _check_mask_shape(mask: Any, shape: tuple[int, ...]) -> None:
    if mask is None:
        return
    if np.shape(mask) != shape[:2]:
        raise UsageError(f"mask has shape {np.shape(mask)}; the image {shape} needs {shape[:2]}")
    m = np.asarray(mask)
    if m.dtype == bool:
        return
    if m.dtype.kind in "ui":  # 0 and one other value: 0 and 1, an 8-bit mask's 0 and 255 (refused, a re-check)
        values = np.unique(m)
        if values[0] >= 0 and values.size <= 2 and (values.size == 1 or values[0] == 0):
            return
    elif m.dtype.kind == "f" and any(np.isin(m, (0, top)).all() for top in (1, 255, 65535)):
        return  # (a mask read as an image: read_image's float 0 and 255, refused, a documentation audit)
    # (a float mask of 0.5 read as all True, unsaid: a QA pass)
    values = np.unique(m) if m.dtype.kind in "uif" else None
    shown = "" if values is None else " values " + ", ".join(f"{v:g}" for v in values[:4]) + (
        ", ..." if values.size > 4 else "")
    raise UsageError("mask must be bool (True where the image holds data), or 0 and one other value (0 and 1, 0 "
                     f"and 255; floats: 0 and 1, 255 or 65535), got {m.dtype}{shown}")


def declared_sigma(noise: Any) -> float | None:
    """The sigma a declared noise spec gives, which :func:`sigma_units_note` reads against the image: a Gaussian
    part's, or a correlated noise's marginal one (25 given for [0, 1] data went unchecked and flattened it, a
    re-check); None for the others."""
    from .noise import CORRELATED_MODELS

    if noise is None:
        return None
    if noise.gaussian_sigma is not None:
        return float(noise.gaussian_sigma)
    if noise.name in CORRELATED_MODELS and not isinstance(noise.params["sigma"], tuple):
        return float(noise.params["sigma"])
    return None


#: A declared noise sigma this many times the spread of the image's values or more is an error, not a note
#: (:func:`sigma_units_note`): noise of that sigma would spread the values over 6 sigma or more (0.1 to 99.9
#: percentile), clipped or not to a range as wide as the image's; an AFM user's sigma in nm for a height map in
#: metres (30 million times its spread) flattened the map, with a note and exit status 0 (a QA pass)
SIGMA_UNITS_ERROR = 100.0


def sigma_units_note(image: np.ndarray, sigma: float) -> str | None:
    """A note where a declared noise sigma is more than twice the spread of the image's values (0.1 to 99.9
    percentile): a sigma in other units than the image's (25 given for [0, 1] data, a 16-bit sigma for an 8-bit
    image), which any method then takes at its word (BM3D at such a sigma flattens the image); or, for an image
    not in 8-bit units, below half a level in them (an 8-bit sigma given for a 16-bit image: nothing removed).
    Raises InputError where it is :data:`SIGMA_UNITS_ERROR` times the spread or more (unless :data:`SIGMA_CHECKED`:
    a stack's later frames, a dark or empty one among them)."""
    sample = np.asarray(image, dtype=np.float64).reshape(-1)[:: max(1, image.size // 262144)]
    lo, hi = np.percentile(sample, [0.1, 99.9])
    if not hi > lo:  # (a flat image, a blank frame: its spread says nothing of its units)
        return None
    if sigma >= SIGMA_UNITS_ERROR * (hi - lo) and not SIGMA_CHECKED.get():  # (an error of that image, not of the
        # call: a folder's other images go on, a re-check)
        times = sigma / (hi - lo)
        said = f"{times:.0f}" if times < 1e6 else f"{times:.2g}"
        raise InputError(f"the noise's sigma {sigma:g} is {said} times the spread of the image's values "
                         f"({hi - lo:.3g}, from {lo:.6g} to {hi:.6g}): noise that strong would spread them over 6 "
                         f"sigma; a noise spec is in the image's own units (for data in metres, a sigma of 0.03 nm is "
                         f"3e-11)")
    if sigma > 2.0 * (hi - lo):
        return (f"note: the noise's sigma {sigma:g} is more than twice the spread of the image's values ({lo:.3g} "
                f"to {hi:.3g}): a noise spec is in the image's own units (for data in [0, 1], 8-bit sigma 25 is "
                f"0.098)")
    from .io import to_8bit_units

    offset, scale = to_8bit_units(sample)
    if scale != 1 and 0 < sigma * scale < 0.5:  # (an 8-bit sigma, as info reads it, given for a 16-bit image)
        return (f"note: the noise's sigma {sigma:g} is {sigma * scale:.2g} in 8-bit units, next to nothing for "
                f"values of {lo:.4g} to {hi:.4g}: a noise spec is in the image's own units (for 16-bit data, 8-bit "
                f"sigma 25 is 6425)")
    return None


def fill_note(found: tuple[float, int, float], pixels: int, python: bool = True) -> str:
    """The note said where :func:`noise2x.estimate.fill_value` found ``found`` in an image of ``pixels`` pixels
    (with ``python``, the Python arguments beside the CLI's options)."""
    value, count, nearest = found
    side = "below" if value < nearest else "above"
    shown = value_text(value)
    given, none = (f" (blank_value={shown})", " (blank_value='none')") if python else ("", "")
    return (f"note: {count} pixels ({count / pixels:.1%}) hold {shown}, far {side} every other value (the nearest "
            f"is {nearest:.6g}): read as blank (no data: a depth camera's dropouts, dead pixels, a nodata fill), left "
            f"out of the noise estimate and kept at {shown}, as --blank-value {shown}{given} does; if they hold "
            f"data, --blank-value none{none}")


def value_text(value: float) -> str:
    """``value`` as short as it is exact (-9999, not -9999.0; -3.4028234663852886e+38, not -3.40282e+38, which
    matches no pixel of a float32 fill)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _fill_read(image: Any, progress: Any, info: Any) -> float | None:
    """The fill value read from ``image``'s values (:func:`noise2x.estimate.fill_value`), said; None where none."""
    from .estimate import fill_value

    try:
        found = fill_value(image)
    except (TypeError, ValueError):  # (not an image: its own error, below)
        return None
    if found is None:
        return None
    _note(progress, fill_note(found, int(np.shape(image)[0] * np.shape(image)[1])))
    if isinstance(info, dict):
        info["fill_value"] = found[0]
    return found[0]


def zero_area_note(image: np.ndarray) -> str | None:
    """A note for an image whose noise is about to be estimated, when solid areas of 0 cover part of it (or of its
    lowest value, where that is below 0: a CT slice's padding outside its field of view).

    A fill of 0 (outside a mosaic's footprint, padding) beside data with no
    dark pixels looks like photon counts, and weak noise then reads as nearly
    none (BENCHMARKS.md, "Blank pixels"); telling the fill apart takes the
    user's word: ``blank_value=0`` (``--blank-value 0``).

    Parameters
    ----------
    image : ndarray
        (H,W) or (H,W,C), finite.

    Whole rows or columns of one value from end to end (every channel), a value inside the image's range away from
    its edges (a seismic section's dead traces, of 0 or of a 16-bit section's mid-scale 0), get a note too:
    denoised as data, they take their neighbours' values and lend them theirs.

    Returns
    -------
    str or None
        The note, or None when squares of 16x16 zeros (every channel), or
        of the lowest value below 0, cover less than 1% of the image, and
        no row or column holds one such value throughout.
    """
    from .estimate import _box_sum

    lowest = float(np.min(image)) if np.size(image) else 0.0
    for value in (0.0, lowest) if lowest < 0 else (0.0,):  # (a CT slice's padding outside its field of view,
        # -3024 or -1024 below air's -1000, made the result worse, unsaid: a medical-imaging QA pass)
        held = image == value if image.ndim == 2 else (image == value).all(axis=2)
        if min(held.shape) < _ZERO_SIDE or not held.any():
            continue
        solid = _box_sum(held, _ZERO_SIDE, _ZERO_SIDE) > _ZERO_SIDE * _ZERO_SIDE - 0.5
        # the pixels of those squares: those with a square of the value among the windows holding them
        pad = _ZERO_SIDE - 1
        share = float(np.mean(_box_sum(np.pad(solid, pad), _ZERO_SIDE, _ZERO_SIDE) > 0.5))
        if share >= _ZERO_SHARE:
            return (f"note: {share:.0%} of the image lies in solid areas of {value:g}; if they hold no data (e.g. "
                    f"outside a mosaic's footprint or a scan's field of view), --blank-value {value:g} "
                    f"(blank_value={value:g}) leaves them out of the noise estimate")
    return _dead_lines_note(image)


def constant_text(image: np.ndarray, mask: Any = None) -> str | None:
    """The one value every pixel of ``image`` holds (those of ``mask`` where given), as said ("0", or "(4, 5, 6)"
    for a colour); None where they differ."""
    held = (image if mask is None else image[np.asarray(mask, dtype=bool)]).reshape(-1, *image.shape[2:])
    if not held.size or not (held == held[0]).all():
        return None
    first = held[0]
    return value_text(float(first)) if np.ndim(first) == 0 else "(" + ", ".join(value_text(float(v))
                                                                              for v in first) + ")"


def _dead_lines_note(image: np.ndarray) -> str | None:
    """:func:`zero_area_note`'s note on rows or columns holding one value from end to end, where they are fewer
    than half of them: of a value inside the image's range (not its lowest or highest: a photo's black or
    saturated lines, a bilevel page's), away from its edges (not a photo's flat border)."""
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 2:
        return None
    found: dict[float, list[int]] = {}  # value: [columns, rows]
    for axis in (0, 1):  # (columns: the same down axis 0; rows: along axis 1)
        first = image[:1] if axis == 0 else image[:, :1]
        same = image == first
        lines = np.flatnonzero(same.all(axis=axis) if image.ndim == 2 else same.all(axis=(axis, 2)))
        count = image.shape[1 - axis]
        if lines.size == 0 or lines.size * 2 >= count:
            continue
        if image.ndim == 3:  # (a line of one colour: its value in every channel, as --blank-value V takes it; a
            # column of (30, 255, 255) was said as 30, a re-check)
            line_px = first[0, lines] if axis == 0 else first[lines, 0]
            lines = lines[(line_px == line_px[:, :1]).all(axis=1)]
            if lines.size == 0:
                continue
        values = first.reshape(-1)[lines] if image.ndim == 2 else (
            image[0, lines, 0] if axis == 0 else image[lines, 0, 0])
        inner = ~((lines == np.arange(lines.size)) | (lines == np.arange(count - lines.size, count)))  # (not runs
        for v in np.unique(values):  # from an edge)
            found.setdefault(float(v), [0, 0])[axis] += int(np.count_nonzero((values == v) & inner))
    lo, hi = float(np.min(image)), float(np.max(image))
    kept = {v: counts for v, counts in found.items() if lo < v < hi and sum(counts)}
    if not kept:
        return None
    value = max(kept, key=lambda v: sum(kept[v]))
    columns, rows = kept[value]
    said = " and ".join(f"{n} {name}{'s' if n > 1 else ''}" for n, name in ((columns, "column"), (rows, "row"))
                        if n)
    return (f"note: {said} hold{'s' if columns + rows == 1 else ''} exactly {value_text(value)} from end to end "
            f"(dead traces?): denoised as data, they take their neighbours' values; "
            f"--blank-value {value_text(value)} (blank_value={value_text(value)}) keeps them as they are and out "
            f"of the noise estimate")


def _check_arguments(*, model: Any, noise: Any, tile: Any, overlap: Any, options: Any, tta: Any) -> None:
    """:func:`denoise`'s arguments of the wrong type, as one UsageError (not an AttributeError from inside)."""
    from .config import check_flag
    from .noise import NoiseSpec
    from .tiling import check_tile_arguments

    if model is not None and not isinstance(model, (str, os.PathLike)) and \
            not callable(getattr(model, "denoise", None)):  # (a Denoiser, or one like it: predict not imported)
        raise UsageError(f"model must be a model file's path, a shipped model's name or a Denoiser, got "
                         f"{type(model).__name__}")
    if noise is not None and not isinstance(noise, (str, NoiseSpec)):
        raise UsageError(f"noise must be a noise spec such as 'gaussian:sigma=25', got {type(noise).__name__} "
                         f"{noise!r}")
    check_tile_arguments(tile=tile, overlap=overlap)
    check_flag("tta", tta)
    if options is not None and not isinstance(options, dict):
        raise UsageError(f"options must be a dict of method options, e.g. {{'sigma': 10}}, got "
                         f"{type(options).__name__}")


#: Set where the caller has made :meth:`noise2x.predict.Denoiser.units_warning`'s check itself (the CLI, once per
#: file, which leaves these warnings out): not made again (on a shipped model it reads the noise, which a
#: performance QA pass found made twice per image)
UNITS_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_units_checked", default=False)
#: Set (True) while a stack's later frames are denoised: a declared sigma far beyond a frame's spread is a note
#: there, not an error (:func:`sigma_units_note`; one dark or empty frame stopped a whole stack, a re-check)
SIGMA_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_sigma_checked", default=False)


#: The side of the centre window :func:`_shot_noise_note` reads
_NOTE_WINDOW = 512


def _shot_noise_note(image: np.ndarray, method: str, mask: Any) -> str | None:
    """A note where ``method`` (bm3d, nlm) is given no noise and the image's noise reads as shot noise (as
    :func:`noise2x.pretrained.choose` reads it): the method then takes it for white noise of one sigma, read from
    the dark areas where shot noise is weakest (BM3D then left most of the noise of a few photons, unsaid: a QA
    pass of the classical baselines). None otherwise."""
    from .pretrained import choose

    h, w = image.shape[:2]
    top, left = max(0, (h - _NOTE_WINDOW) // 2), max(0, (w - _NOTE_WINDOW) // 2)
    window = (slice(top, top + _NOTE_WINDOW), slice(left, left + _NOTE_WINDOW))  # (the centre: a cheap reading)
    try:
        read = choose(image[window], mask=None if mask is None else np.asarray(mask)[window])
    except InputError:  # (an image the reading cannot take: the method says what is wrong with it)
        return None
    peak = read.facts.get("peak")
    if peak is None:
        return None
    # the peak is read in 8-bit units, the image mapped by (x - offset) * scale: the spec in the image's own units
    # (a 16-bit image's note gave that peak alone, and the spec it led to, at the file's full scale, made the
    # result worse than the noisy input: a QA re-check)
    if read.offset == 0.0:
        units = "" if read.scale == 1.0 else f",data_range={255.0 / read.scale:.4g}"
        told = (f"--noise poisson:peak={peak:.3g}{units} " + ("runs" if method == "bm3d" else "with --method bm3d runs")
                + " BM3D on the image with its variance made even (Anscombe)")
    else:  # (a dark level under the counts: no Poisson spec of the image's units holds it)
        told = "noise2x denoise with no --method reads it and takes a route made for it (noise2x info IMAGE: why)"
    return (f"note: the noise reads as signal-dependent (shot noise, estimated peak {peak:.3g} in 8-bit units), "
            f"which {method} with no noise given takes for white noise of one sigma; {told}")


#: Set where the caller named the image's axes (``axes`` ending in YXC): its channels are last, as said
_LAYOUT_SAID: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_layout_said", default=False)

#: Set within :func:`denoise` once its image's fill value was read (:func:`noise2x.estimate.fill_value`): the
#: parts it is split into are not read again.
_FILL_READ: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_fill_read", default=False)

#: Within one :func:`denoise` call over several frames or channels with no ``progress``: the notes already said
#: (as warnings) and the part now denoised ("frame Z=2", "channel 3"), so that each note is said once, of the part
#: it was first read on (a stack's warned once per frame: a re-check)
_NOTES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("noise2x_notes", default=None)

#: Set within :func:`_denoise_evened`: its evened image is not evened again
_EVENED: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_evened", default=False)


@contextlib.contextmanager
def _notes_once() -> Iterator[dict[str, Any]]:
    """The scope of :data:`_NOTES` for a call over parts: a new one, or the enclosing call's."""
    scope = _NOTES.get()
    if scope is not None:
        yield scope
        return
    scope = {"said": set(), "where": ""}
    token = _NOTES.set(scope)
    try:
        yield scope
    finally:
        _NOTES.reset(token)


def _note(progress: Any, text: str, category: type[Warning] | None = None) -> None:
    """``text`` (a ``note: ...`` line) to ``progress`` where it is given, else a warning at the caller of
    :func:`denoise`, a :class:`~noise2x.errors.NoteWarning` or ``category`` (some notes went to ``progress`` alone,
    lost without one: a plugin author's QA pass); within :func:`_notes_once`, each note once (its figures aside)."""
    if progress is not None:
        progress(text)
        return
    from .errors import NoteWarning, warn_outside

    cls, body = category or NoteWarning, text.removeprefix("note: ")
    scope = _NOTES.get()
    if scope is not None:
        key = (cls, re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", body))  # (a frame's own figures: the same note)
        if key in scope["said"]:
            return
        scope["said"].add(key)
        body = f"{scope['where']}: {body}" if scope["where"] else body
    warn_outside(cls(body))


def _units_warning(text: str) -> None:
    """A :class:`~noise2x.errors.UnitsWarning` at the caller of :func:`denoise` (the CLI says these as its own
    lines, once per file, and leaves them out); once per call over parts, as :func:`_note` says it."""
    from .errors import UnitsWarning

    _note(None, text, UnitsWarning)


def _number(value: Any) -> Any:
    """``value`` as a float where it reads as one (an option given as text, --set sigma=10), else as it is."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def peak_units_note(spec: Any, image: np.ndarray, src: str = "the image", kind: str | None = None) -> str | None:
    """What to say where a Poisson spec's peak, counted at 255 unless the spec gives ``data_range``, is given for an
    image in other units (16-bit, [0, 1]): its noise would be far weaker or stronger than the peak says; else None
    (a QA pass: a [0, 1] image denoised with peak 30 came back at 14 dB, against 35 told its full scale). ``kind``:
    the file's (:func:`noise2x.io.image_kind`), where known: a 16-bit file's dark frame is in 16-bit units."""
    if getattr(spec, "name", None) not in ("poisson", "poisson_gaussian") or "data_range" in spec.params:
        return None
    from .io import map_text, to_8bit_units

    image = np.asarray(image)
    if not image.size:
        return None
    offset, scale = to_8bit_units(image)
    lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
    flat_elsewhere = lo == hi and (hi > 510 or (0 < hi <= 1.5 and hi != round(hi)) or kind == "uint16")
    if scale == 1 and offset == 0 and not flat_elsewhere:  # (8-bit data; a flat field of 16-bit or [0, 1] data
        return None  # reads so, a constant: the units are its value's, a noise QA pass and its re-check)
    # the full scale to give: by the values (a low-contrast 16-bit frame was told data_range=1, a noise QA pass)
    other = ""
    if hi > 510 or kind == "uint16":  # (a 16-bit file's dark frame, values under 511: its kind says, a QA re-check)
        top = "65535" if hi <= 65535 else f"{hi:.4g}"
        if 510 < hi <= 4095:  # (12-bit data in 16-bit files were told 65535 alone: a medical-imaging QA pass)
            other = "; data_range=4095 for 12-bit data"
    elif 0.1 <= hi <= 1.5 and bool(np.any(image != np.round(image))):
        top = "1"
    elif hi <= 510 and lo >= -255 and not np.any(image != np.round(image)):
        return None  # (whole numbers within 8-bit's reach, of low contrast: 8-bit data, counted at 255 as it is)
    else:  # small units (a flux): the top value as the full scale
        top = f"{hi:.4g}"
    mapped = f" (8-bit units would be {map_text(offset, scale, 4)})" if (offset, scale) != (0.0, 1.0) else ""
    return (f"{spec.name} peak counts photons at the value 255 (8-bit full scale); {src} is in other units, values "
            f"up to {hi:.6g}{mapped}: give the spec its full scale, e.g. {spec},data_range={top}, to count them "
            f"there{other}")


def denoise(
    image: np.ndarray,
    *,
    model: Any = None,
    method: str | None = None,
    noise: Any = None,
    tile: int | None = None,
    overlap: int | None = None,
    tta: bool = False,
    options: dict[str, Any] | None = None,
    rng: Any = None,
    info: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    device: str = "auto",
    colour: str = "auto",
    precision: str = "fp32",
    mask: Any = None,
    blanks: bool = False,
    blank_value: float | None = None,
    needed: Any = None,
    axes: str | None = None,
    threads: int | None = None,
    cfa: str = "auto",
) -> np.ndarray:
    """Denoise one image (H,W) or (H,W,C) given in its own units, or a stack of them (``axes``).

    Parameters
    ----------
    image : ndarray
        The noisy image, float or integer, (H,W) or (H,W,3); with ``colour="channels"`` any number of
        channels (H,W,C), each denoised alone. With ``axes``, a stack.
    model : Denoiser, path or str, optional
        A trained model (see :func:`load_model`): a Denoiser, a model file,
        or a shipped model's name (``noise2x models``, e.g. "gray-gaussian").
    method : str, optional
        A direct method (``bm3d``, ``nlm``, ``mash``, ...). With neither
        ``model`` nor ``method``, a method is chosen for the image
        (:func:`choose_auto`) and recorded in ``info``.
    noise : str or NoiseSpec, optional
        The input's noise when known (e.g. ``"gaussian:sigma=25"``).
    tile, overlap, tta : int, int, bool
        Tiled inference settings for models (``tile=0``: whole image; None: 256, or the
        whole image when it is no larger than a batch of 4 such tiles; ``overlap`` None: 32, or a
        quarter of a tile side under 128).
    options : dict, optional
        Method options (the CLI's ``--set key=value``); with a model, options
        of the method it was trained with (e.g. ``posterior_mean=false``).
    rng : None, int or numpy Generator, optional
        Seeds the zero-shot methods' training (``zs_n2n``, ``mash``): the same
        seed gives the same output on as many CPU threads (``threads``; other
        threads sum in another order: results apart by a fraction of a level
        on average, more at some pixels), on the same device. None (default) draws a fresh one each call
        (the CLI's ``--seed`` defaults to 0). The other methods are deterministic,
        except BM3D at a few pixels (its library's threads sum in varying
        order: between two calls on one 64x64 image, up to 0.8 of an 8-bit
        level at 2% of the pixels, 0.002 on average).
    info : dict, optional
        Filled with what was run (keys added or replaced, none removed: give
        a new or cleared dict to each call): ``method``, the noise level used and its
        source (``sigma``, in the image's units, and ``sigma_source``: e.g.
        ``given``, ``estimated``; with no method ``read`` or ``from the noise
        spec`` where the choice passed a sigma on; where the image was first
        variance-stabilised, ``transform`` says how and ``sigma`` is 1, the
        level after it, whatever read noise was given; for speckle noise, the
        std in its logarithm mapped to 8-bit units), and with no method the
        choice's reason (``auto``) and readings (``estimated_*``, in 8-bit
        units: ``units``, ``{"offset", "scale"}``, the map to them where a
        model ran on the mapped image); where a model ran, its weights'
        checksum (``weights_sha256``).
    progress : callable, optional
        Called with each progress or note line (a str), e.g. ``print``.
        Without it, the notes that advise the caller (an argument not used,
        an image whose layout, units or noise the call may not fit) are
        warnings instead: :class:`~noise2x.errors.UnitsWarning` for units
        and noise levels, :class:`~noise2x.errors.NoteWarning` for the
        others; the lines that only report what was chosen are not said.
    device : str
        Where a model, ``zs_n2n`` or ``mash`` runs (on the CPU with the
        threads ``NOISE2X_THREADS`` or ``OMP_NUM_THREADS`` set, else the
        idle cores): ``auto`` (a CUDA GPU,
        else Apple's MPS, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or
        ``mps``. The other direct methods run on the CPU (another device
        given for them is a UsageError, or a note when the method was chosen
        here).
    colour : str
        How a one-channel (gray) model denoises a multi-channel image:
        ``auto`` (default: ``luma`` for an RGB image, ``channels`` for models
        whose noise model is per pixel, the blind-spot network's and a
        speckle model's; an image of 2, 4 or more channels is refused, with
        the layouts it may be in named, unless ``channels`` is given),
        ``luma`` (an RGB image's luminance and chrominance planes) or
        ``channels`` (each channel alone); see
        :data:`noise2x.predict.COLOUR_MODES`. A direct ``method`` takes a
        colour image whole (BM3D as CBM3D, NLM across channels, ...)
        unless ``channels`` is given: then each channel alone. An image whose
        three channels are equal (a gray image stored as RGB) is denoised as
        gray, its result in each channel.
    precision : str
        Arithmetic of a model's forward pass: ``fp32`` (default), ``bf16``
        (1.5 to 2 times as fast on a CPU with bfloat16 instructions) or ``fp16``
        (GPU); see :data:`noise2x.predict.PRECISIONS`. Of the direct methods
        ``zs_n2n`` and ``mash`` take it (``bf16``: their training too; MASH's
        probes stay fp32); the others raise a UsageError for anything but
        fp32, unless chosen with no ``method`` (a progress line then says it
        does not apply).
    mask : array_like of bool, optional
        (H,W), True where pixels hold image data: the noise is estimated from
        them only (the no-option choice, BM3D's and NLM's sigma), e.g. the
        opaque pixels of an RGBA image, whose transparent ones hold a fill.
        All pixels are denoised.
    blanks : bool
        NaN values mark blank pixels (no data; the FITS convention): they
        are filled with a mirror image of the data beside them for the
        denoiser (:func:`noise2x.io.fill_blanks`), left out of the noise
        estimate (as ``mask`` leaves pixels out) and come back NaN. Without
        it NaN is an error.
    blank_value : float or "none", optional
        Pixels holding this value in every channel are blank too, e.g. 0
        outside a mosaic's footprint (as SWarp writes it): treated as NaN
        is with ``blanks``, and they come back holding it. A zero fill
        beside data with no dark pixels otherwise looks like photon counts
        (BENCHMARKS.md, "Blank pixels"). Without it (and without ``mask``),
        a value far from every other one at an end of the image's values,
        held by 0.2% of its pixels or more, is read as such a fill, with a
        note (a depth map's 0 dropouts, an undeclared -9999 nodata:
        :func:`noise2x.estimate.fill_value`); ``"none"`` reads no fill.
    needed : array_like of bool, optional
        (H,W): the pixels whose result is used. A model (given or shipped)
        skips the tiles holding none of them, whose result is then
        undefined; the needed pixels come out as without it. ``blanks``
        passes the pixels holding data.
    axes : str, optional
        The axes of ``image`` as letters, ending in ``YX`` (gray) or ``YXC``
        (colour channels last), e.g. ``"ZYX"`` (a z-stack), ``"TYX"``,
        ``"TZYX"`` or ``"CYX"`` (channels stored as planes). Each (Y,X) or
        (Y,X,C) frame is denoised on its own with the same settings (C other than
        3, as the bands of a multispectral image: each channel on its own, as
        ``colour="channels"``), as
        ``noise2x denoise`` denoises a stack's frames; progress lines are
        said once, each with the frame it first came from; ``info`` holds the
        last frame's choice, ``frames`` (their number) and ``frame_methods``
        (each frame's ``method``, in the order of ``image``'s frames);
        ``mask`` is (H,W), for every frame. None (default): ``image`` is one
        image, as above.
    threads : int, optional
        CPU threads for the work in torch (models, ``zs_n2n``, ``mash``) during
        this call, as the CLI's ``--threads`` (for this call in this thread;
        torch's setting is restored after it). None (default):
        ``NOISE2X_THREADS`` or ``OMP_NUM_THREADS`` where set, else the idle
        cores.
    cfa : str
        A one-channel image that is a colour-filter mosaic (a camera's raw
        sensor data, Bayer RGGB, BGGR, GRBG or GBRG): neighbouring pixels
        see different colours, which any denoiser taking the image whole
        averages together (the colour is lost; the mosaic can no longer be
        demosaicked). ``"auto"`` (default): where the image reads as one
        (:func:`noise2x.estimate.mosaic_score`), its four 2x2 planes are
        denoised each alone (each at its own noise level) and put back in
        place, with a note; ``"bayer"`` (or the pattern's name): so,
        unread; ``"none"``: the image whole. Subtract the black level
        first, or give it to BM3D's Poisson-Gaussian route
        (``options={"gain": ..., "sigma": ..., "black": ...}``).

    Returns
    -------
    ndarray
        The denoised image, float64, same shape as ``image``, in the image's
        own units and not clipped (an 8-bit image's result may pass 0 and
        255 a little: clip and round it to write 8 bits, as ``write_image``
        and the CLI do).

    Raises
    ------
    UsageError
        A bad argument: ``model`` and ``method`` both given, an unknown method,
        model, device, colour mode or noise spec, a trainable method not
        trained yet, a bad tile size.
    InputError
        An image it cannot take: NaN (without ``blanks``), four channels, a
        boolean image, a model of other channels; or NaN in a model's output.
    noise2x.errors.MissingDependency
        An optional package the method needs (``bm3d``) is not installed.

    Warns
    -----
    noise2x.errors.UnitsWarning
        The image's values do not fit the units a model or noise level was
        given in (e.g. [0, 1] data with an 8-bit sigma).
    """
    from .io import as_numpy

    image = as_numpy(image)
    if threads is not None:
        from .config import THREADS_ASKED, checked_threads

        token = THREADS_ASKED.set(checked_threads(threads))  # (this thread's: not the process's environment)
        try:
            return denoise(image, model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                           options=options, rng=rng, info=info, progress=progress, device=device, colour=colour,
                           precision=precision, mask=mask, blanks=blanks, blank_value=blank_value, needed=needed,
                           axes=axes, cfa=cfa)
        finally:
            THREADS_ASKED.reset(token)
    cfa = check_cfa(cfa)
    if axes is not None:
        return _denoise_frames(image, axes, mask, progress, info, needed, dict(
            model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta, options=options, rng=rng,
            device=device, colour=colour, precision=precision, blanks=blanks, blank_value=blank_value, cfa=cfa))
    if not _FILL_READ.get():  # a fill value among the image's values: read once, for the image as a whole
        if isinstance(blank_value, str):
            if blank_value.strip().lower() != "none":
                raise UsageError(f"blank_value must be a number, None or 'none' (no fill read), got {blank_value!r}")
            blank_value = None
        elif blank_value is None and mask is None:
            blank_value = _fill_read(image, progress, info)
        token = _FILL_READ.set(True)
        try:
            return _DENOISE(image, model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                           options=options, rng=rng, info=info, progress=progress, device=device, colour=colour,
                           precision=precision, mask=mask, blanks=blanks, blank_value=blank_value, needed=needed,
                           cfa=cfa)
        finally:
            _FILL_READ.reset(token)
    try:
        shape = np.shape(image)
    except ValueError as exc:  # (a ragged list)
        raise InputError(f"input image is not an array: {str(exc).splitlines()[0]}") from None
    if len(shape) > 3 or (len(shape) == 3 and shape[2] not in (1, 3, 4) and colour != "channels"):
        # (a few channels stored last were told to give axes, as if a stack: a QA pass; an RGB image stored
        # channels first (a torch tensor's layout) was told of axes only, which denoised its planes each alone,
        # 2.4 dB under its colour route: another)
        if len(shape) == 3 and _model_channels(model) == 3:  # (hints of channels each alone led to a second
            # error: a QA pass)
            first = "; an RGB image stored channels first: np.moveaxis(image, 0, -1)" if shape[0] == 3 else ""
            raise InputError(f"the model takes (H,W,3) RGB images, got shape {tuple(shape)}{first}")
        if len(shape) == 3:
            from .config import layout_hints

            last = layout_hints(shape)
        elif len(shape) == 4 and (shape[3] <= 16 or shape[3] < min(shape[1:3])):  # (a stack of colour frames:
            # axes='TZYX' read its rows' colour triplets as 64x3 frames, 8.8 dB under its frames', unsaid: a re-check)
            last = "; a stack of frames with their channels last: axes='ZYXC'"
        else:
            last = ""
            if len(shape) == 4 and shape[1] in (1, 3, 4) and shape[3] > 16:  # (N,C,H,W): a torch batch
                last = ("; a batch of one image stored channels first (a torch tensor's layout): np.moveaxis(image[0], "
                        "0, -1)" if shape[0] == 1 else "; a batch of images stored channels first (a torch tensor's "
                        "layout): np.moveaxis(image, 1, -1), and axes='ZYXC'")
            last += f"; a stack of frames: give its axes, e.g. axes='{'TZYX' if len(shape) == 4 else 'TZCYX'}'"
        raise InputError(f"input image must be (H,W) gray or (H,W,3) RGB, got shape {tuple(shape)}{last}")
    if len(shape) == 3 and shape[2] == 4 and _model_channels(model) == 3:  # (told of colour='channels', a second
        # error: a re-check)
        raise InputError(f"the model takes (H,W,3) RGB images, got shape {tuple(shape)}: an RGBA image: drop its "
                         f"alpha channel (image[..., :3])")
    if len(shape) == 3 and colour == "channels" and not _LAYOUT_SAID.get() and _model_channels(model) == 1:
        # (axes='YXC' says the channels are last: a short image of many bands was refused, a re-check; a colour
        # model's own message says what it takes)
        from .config import check_channels_last

        check_channels_last(shape)
    if cfa != "none":
        from .estimate import MOSAIC_SCORE

        score = None if cfa == "bayer" else mosaic_read(image)
        if score is None or score > MOSAIC_SCORE:
            return _denoise_mosaic(image, score, progress, info, dict(
                model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta, options=options, rng=rng,
                device=device, precision=precision, mask=mask, blanks=blanks, blank_value=blank_value,
                needed=needed))
    from .config import check_colour, check_precision_name
    from .io import check_image, fill_blanks, gray_as_rgb, held_blank, map_text, to_8bit_units

    check_colour(colour)
    check_precision_name(precision)
    _check_arguments(model=model, noise=noise, tile=tile, overlap=overlap, options=options, tta=tta)
    from .noise import generator

    generator(rng)  # (a wrong kind of rng, for any method: those that draw nothing took "abc" unsaid, a QA pass)
    if info is not None and not isinstance(info, dict):
        raise UsageError(f"info must be a dict to fill (or None), got {type(info).__name__}")
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be a function taking a line (e.g. print), got {type(progress).__name__}")
    channels = np.shape(image)[2] if np.ndim(image) == 3 else 1
    if np.ndim(image) == 3 and (channels == 1 or (colour == "channels" and (channels != 3 or model is None))):
        # channel by channel, each as a gray image: (H,W,1), which comes back (H,W,1), its shape; with
        # colour="channels" any other count (two stains, five bands), and 3 channels with no model (BM3D took three
        # stains through CBM3D's colour transform, unsaid, and with no options one level read for all: a QA pass);
        # a model's 3 channels take the path below, which denoises each channel alone too
        arr = np.asarray(image)
        if arr.dtype.kind not in "uif" or min(arr.shape[:2], default=0) == 0:
            check_image(arr, name="input image")  # its error
        if mask is not None:
            _check_mask_shape(mask, arr.shape)
        if isinstance(model, (str, os.PathLike)):
            model = _model_named(model)
        if channels != 1 and model is not None and int(getattr(model, "channels", 1)) != 1:
            # (each channel went to it, refused as a 1-channel image, after the 4-channel error had named
            # colour='channels': a QA pass)
            raise InputError(f"the model expects {model.channels}-channel images, got {channels} channels; "
                             f"colour='channels' splits an image's channels for a one-channel (gray) model"
                             + (": an RGBA image: drop its alpha channel (image[..., :3])" if channels == 4 else ""))
        if channels == 3 and model is None and gray_as_rgb(arr):  # (the same work three times: as gray, below)
            return denoise(arr, model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                           options=options, rng=rng, info=info, progress=progress, device=device, colour="auto",
                           precision=precision, mask=mask, blanks=blanks, blank_value=blank_value, needed=needed,
                           cfa="none")
        if channels == 1:
            return denoise(arr[..., 0], model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                           options=options, rng=rng, info=info, progress=progress, device=device, colour=colour,
                           precision=precision, mask=mask, blanks=blanks, blank_value=blank_value,
                           needed=needed, cfa="none")[..., None]
        # each channel's lines and choice said as its (the last channel's alone were, a re-check)
        infos: list[dict[str, Any]] = [{} for _ in range(channels)]
        planes = []
        with _notes_once() as scope:  # (with no progress: each note once, of the channel it was read on)
            frame = scope["where"]
            for c in range(channels):
                scope["where"] = f"{frame}, channel {c + 1}" if frame else f"channel {c + 1}"
                planes.append(denoise(
                    arr[..., c], model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                    options=options, rng=rng, info=infos[c], progress=None if progress is None else (
                        lambda line, c=c: progress(f"channel {c + 1}: {line}")), device=device, colour=colour,
                    precision=precision, mask=mask, blanks=blanks, blank_value=blank_value, needed=needed,
                    cfa="none"))
            scope["where"] = frame
        out = np.stack(planes, axis=-1)
        del planes
        if info is not None:
            info.update(infos[-1])
            methods = [one.get("method") for one in infos]
            info["channel_methods"] = methods
            if len(set(methods)) > 1:
                info["method"] = " / ".join(str(m) for m in methods)
            if all("sigma" in one for one in infos):
                info["channel_sigmas"] = [one["sigma"] for one in infos]
            info["colour" if any("model" in str(m) for m in methods) else "channels_alone"] = "channels"
        return out
    if blanks or blank_value is not None:
        raw, held = np.asarray(image), None
        if blank_value is not None:
            if isinstance(blank_value, bool) or not isinstance(blank_value, (int, float, np.number)):
                raise UsageError(f"blank_value must be a number (or None), got {blank_value!r}")
            if not np.isfinite(blank_value):
                raise UsageError(f"blank_value must be a finite number, got {blank_value} (NaN: blanks=True)")
            if raw.dtype.kind not in "uif":
                check_image(raw, name="input image")  # its error
            raw = raw.astype(np.float64)
            check_image(np.where(np.isnan(raw), 0.0, raw) if blanks else raw, name="input image",  # NaN: blanks only
                        hint="; if NaN marks blank pixels (no data), pass blanks=True")
            raw = raw[..., 0] if raw.ndim == 3 and raw.shape[2] == 1 else raw
            raw, held = held_blank(raw, blank_value)  # pixels holding it in every channel: NaN
            if held.all():
                raise InputError(f"input image holds no data: every pixel holds the blank value {blank_value:g}")
        image, data = fill_blanks(raw, name="input image")
        if not data.all():
            _check_mask_shape(mask, image.shape)
            keep = data if mask is None else data & np.asarray(mask, dtype=bool)
            y0, y1, x0, x1 = data_crop(data)
            read = keep[y0:y1, x0:x1]
            if mask is None:  # (blank pixels all over, a dead-pixel map: no 7x7 window whole, refused, a camera
                # sensor QA pass): read with their fill, the data beside them, within the data's bounds
                from .estimate import scattered_read

                bounds = scattered_read(read)
                read = read if bounds is None else bounds
            out = np.full(image.shape, np.nan)
            law = power_law_read(image[y0:y1, x0:x1]) if model is None and method is None and noise is None and \
                mask is None else None  # (read with their fill, a mirror image of the data: between a depth map's
            # dropouts too few windows were whole to read its law from, a 3-D vision QA pass)
            out[y0:y1, x0:x1] = denoise(
                image[y0:y1, x0:x1], model=model, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                options=options, rng=rng, info=info, progress=progress, device=device, colour=colour,
                precision=precision, mask=read, needed=data[y0:y1, x0:x1], cfa="none") if law is None else \
                _denoise_power(image[y0:y1, x0:x1], law, info=info, progress=progress, mask=read,
                               needed=data[y0:y1, x0:x1], rng=rng, options=options)
            out[np.isnan(raw).reshape(out.shape)] = np.nan  # blank values come back blank
            if held is not None:
                out[held] = blank_value  # and those of the value, holding it
            if info is not None:
                info["blank_pixels"] = int(data.size - np.count_nonzero(data))
            return out
    image = check_image(image, name="input image", hint="; if NaN marks blank pixels (no data), pass blanks=True")
    _check_mask_shape(mask, image.shape)
    noise = _noise_spec(noise)
    if model is not None and method is not None:
        raise UsageError("give either a model or a method, not both")
    if gray_as_rgb(image if mask is None else image[np.asarray(mask, dtype=bool)][:, None]):  # (colour routes read
        # its noise's variance as a third of what it is, and made false colour: a QA pass; a transparent area's fill,
        # left out of the noise, may be coloured: a re-check)
        den = _model_named(model) if isinstance(model, (str, os.PathLike)) else model
        if den is None or int(getattr(den, "channels", 1)) == 1:
            if progress is not None:
                progress("note: the image's three channels are equal (a gray image stored as RGB): it is denoised as "
                         "gray, and its result written to all three")
            if info is not None:
                info["gray_as_rgb"] = True
            out = denoise(image[..., 0], model=den, method=method, noise=noise, tile=tile, overlap=overlap, tta=tta,
                          options=options, rng=rng, info=info, progress=progress, device=device, colour=colour,
                          precision=precision, mask=mask, needed=needed, cfa="none")
            return np.repeat(out[..., None], 3, axis=-1)
    said = None if model is not None or method is not None or noise is not None else constant_text(image, mask)
    if said is not None:  # (BM3D at the least sigma it takes, said as a sigma read, on an all-zero seismic section:
        # a geophysics QA pass; of a colour too, and of the data among blanks: a re-check)
        _note(progress, f"note: every pixel holds {said} (a dead frame?): nothing to denoise; it comes back as it is")
        if info is not None:
            info.update(method="none", auto="a constant image: nothing to denoise")
        return np.array(image, dtype=np.float64)
    if model is None and mask is None and (noise is None or noise.name == "speckle") and not _EVENED.get():
        # (solid areas of 0 in a speckled image are no-data borders: speckle of a positive intensity is above 0)
        note = zero_area_note(image)
        if note:
            _note(progress, note)
    marginal = declared_sigma(noise)
    if marginal is not None:
        note = sigma_units_note(image, float(marginal))
        if note:  # (from Python with no progress: a warning, as a Poisson peak's, a QA re-check)
            _note(progress, note, UnitsWarning)
    units = None if noise is None else peak_units_note(noise, image)
    if units:  # (the CLI says it as a note, once per file, and leaves these out)
        _units_warning(units)
    if model is not None:
        if isinstance(model, (str, os.PathLike)):
            model = _model_named(model)
        if options or noise is not None:  # method options (--set) and the declared noise (--noise)
            model = model.adapted(options=options, noise=noise)
        said = None if UNITS_CHECKED.get() else getattr(model, "units_warning", None)
        units = said(image) if said is not None else None
        if units:  # (the CLI says it once per file itself, and leaves these out)
            _units_warning(units)
        _record_model_run(info, model, image, colour, precision)
        offset, scale = (0.0, 1.0) if getattr(model, "shipped", None) is None else to_8bit_units(image)
        if (offset, scale) != (0.0, 1.0):  # a shipped model works in 8-bit units: the image mapped to them and back,
            # as with no options (run on the counts of a sky frame, one made it 2 to 12 times noisier, in a QA pass)
            if info is not None:
                info["units"] = {"offset": offset, "scale": scale}
            if progress is not None:
                progress(f"model {model.shipped} works in 8-bit units: the image mapped by {map_text(offset, scale)} "
                         "and back")
            out = np.asarray(model.denoise((image - offset) * scale, tile=tile, overlap=overlap, tta=tta,
                                           device=device, colour=colour, precision=precision, needed=needed),
                             dtype=np.float64)
            out /= scale
            out += offset
            return out
        out = model.denoise(image, tile=tile, overlap=overlap, tta=tta, device=device, colour=colour,
                            precision=precision, needed=needed)
        return np.asarray(out, dtype=np.float64)
    chosen, caller_options = method is None, options
    if method is None and noise is not None and noise.name == "speckle":
        return _denoise_speckle(image, noise, info=info, progress=progress, mask=mask, settings=dict(
            tile=tile, overlap=overlap, tta=tta, options=options, rng=rng, device=device, colour=colour,
            precision=precision, needed=needed))
    if method is None and noise is None:
        law = power_law_read(image, mask)
        if law is not None:  # (a depth map's noise, growing with depth squared, was read at its nearest surface's
            # level and the far field left as noisy as it came: a 3-D vision QA pass)
            return _denoise_power(image, law, info=info, progress=progress, mask=mask, needed=needed, rng=rng,
                                  options=options)
    if method is None:
        choice, vst, model_file, name, reason = no_option_route(image, noise=noise, colour=colour, mask=mask)
        profile = None if noise is not None or _EVENED.get() else level_profile(image, choice)
        if profile is not None:  # (signed data, a seismic section, whose noise level changes along an axis; with
            # blank pixels too, read with their fill: a re-check found dead traces kept with --blank-value 0, as the
            # note says, undid the evening)
            return _denoise_evened(image, profile, info=info, progress=progress, settings=dict(
                tile=tile, overlap=overlap, tta=tta, options=options, rng=rng, device=device, colour=colour,
                precision=precision, needed=needed, mask=mask))
        given = {k: v for k, v in (options or {}).items() if k in choice.options and str(v) != str(choice.options[k])}
        if model_file is None and given:  # (the caller's options win: said, not the route's own, a re-check)
            reason += "; given instead: " + ", ".join(f"{k}={v}" for k, v in given.items())
        if info is not None:
            info["auto"] = reason
            info.update({k if k.startswith("estimated_") else f"estimated_{k}": v  # (estimated_on, _from as they are)
                         for k, v in choice.facts.items() if k not in ("offset", "scale", "keep_local_mean")})
        if progress is not None:
            progress(f"using {name}: {reason}")
        for note in (channel_levels_note(choice, name), pattern_note(choice), stripes_note(choice),
                     spikes_note(choice)):
            if note:
                _note(progress, note)
        if model_file is not None:
            den = _cached_model(model_file)
            if options:  # the caller's method options go to the model chosen here, checked as with a model given
                try:
                    den = den.adapted(options=options)
                except UsageError as exc:
                    raise UsageError(f"{exc} (the options went to {name}, chosen for this image; give a method "
                                     "or a model to choose what runs)") from None
            if info is not None:
                info["method"] = f"model {model_file.stem}"
                if vst is not None:
                    info["transform"] = vst.transform
                if (choice.offset, choice.scale) != (0.0, 1.0):  # (as with a model given; its estimated_ readings
                    # are in those 8-bit units: left out, they could not be read back, a QA pass)
                    info["units"] = {"offset": choice.offset, "scale": choice.scale}
            mapped = (image - choice.offset) * choice.scale      # the shipped models work in 8-bit units
            wild = _wild_pixels(mapped)
            if wild is not None:  # (hot pixels, far out of the range the image's bulk was mapped to: the model took
                # them for 50-pixel squares of detail, a camera sensor QA pass): the model sees the median of their
                # neighbours (at the bulk's edge, they still moved their neighbours by 20 counts, a re-check), and
                # they come back as they were
                _hide_wild(mapped, wild)
            _record_model_run(info, den, image, colour, precision)
            if vst is not None:
                from .classical import anscombe, inverse_anscombe

                mapped = anscombe(mapped, alpha=vst.alpha, sigma=vst.sigma, mu=vst.mu) * vst.gain
            out = den.denoise(mapped, tile=tile, overlap=overlap, tta=tta, device=device, colour=colour,
                              precision=precision, needed=needed)
            del mapped  # (a large image: one image-sized array less from here on)
            out = np.asarray(out, dtype=np.float64)
            if vst is not None:
                out = inverse_anscombe(out / vst.gain, alpha=vst.alpha, sigma=vst.sigma, mu=vst.mu)
            out /= choice.scale  # (in place: the same values as out / scale + offset, without a copy)
            out += choice.offset
            if wild is not None:
                out[wild[0]] = image[wild[0]]
            # weak noise on a large image: the model's result gets back the local mean it moved
            return _keep_local_mean(image, out, float(choice.facts.get("keep_local_mean", 0.0)))
        method = choice.method
        if choice.options:  # e.g. the sigma BM3D takes for a weak noise (the caller's options first)
            options = {**choice.options, **(options or {})}
    if info is not None:
        info["method"] = method
    if not chosen and colour == "luma" and image.ndim == 3:  # (taken with no word: a QA pass; a gray image has no
        # channels to say of: a re-check)
        _note(progress, f"note: colour luma applies to a gray model on an RGB image; method {method} takes the image "
                        f"as it is (colour channels: each channel alone)")
    if not chosen and noise is not None and method in ("mash", "zs_n2n"):
        # (a QA pass gave mash a declared speckle: it ran 5 minutes and came out below the noisy input, unsaid)
        _note(progress, f"note: {method} takes no noise model: the noise {noise} is not used (it learns zero-mean "
                        f"noise from the image alone)")
    if not chosen and noise is None and method in ("bm3d", "nlm") and not {"sigma", "gain", "beta"} & set(
            caller_options or {}):
        note = _shot_noise_note(image, method, mask)
        if note:
            _note(progress, note, UnitsWarning)
    # settings of a model's inference that a direct method has no use for: an error when the method was
    # asked for, a note when it was chosen here (the same image may go to a model another time)
    takes = method_options(resolve_direct(method))
    on_device = "device" in takes  # zs_n2n and mash train on the device (see below)
    unused = [f"{name}={value}" for name, value, used in (
        ("tile", tile, tile is not None), ("overlap", overlap, overlap is not None), ("tta", tta, bool(tta)),
        ("device", device, device not in ("auto", "cpu") and not on_device)) if used]
    if unused:
        flags = ", ".join("--" + u.split("=")[0] for u in unused)
        own = " (its own tiling: options={'tile': N}, --set tile=N)" if "tile" in takes else ""
        line = (f"{', '.join(unused)} ({flags}) appl{'y' if len(unused) > 1 else 'ies'} to models; method {method} "
                f"takes the whole image{'' if on_device else ' on the CPU'}{own}")
        if not chosen:
            raise UsageError(line)
        _note(progress, f"note: {line}: {', '.join(u.split('=')[0] for u in unused)} ignored")  # (unsaid without
        # progress, though the docstring said so: a documentation audit)
    if (not chosen and noise is not None and "sigma" in (caller_options or {})
            and isinstance(_number(caller_options["sigma"]), float)  # (a number: the method says what it refuses)
            and _number(caller_options["sigma"]) != noise.gaussian_sigma):  # (the option won, unsaid: a QA pass)
        _note(progress, f"note: the option sigma={caller_options['sigma']} is used, not the noise spec's sigma "
                        f"{noise.gaussian_sigma:g}" if noise.gaussian_sigma is not None else
                        f"note: the option sigma={caller_options['sigma']} is used, not the noise spec {noise} (a "
                        f"Gaussian sigma, as if no spec were given)")
    if on_device and "device" not in (options or {}):  # (a device set among the options comes first)
        options = {**(options or {}), "device": device}
    if precision != "fp32":  # a direct method that takes it (zs_n2n, mash); else an error, or a note when chosen here
        if "precision" in takes:
            options = {**(options or {}), "precision": precision}
        elif not chosen:
            raise UsageError(f"precision {precision} applies to models, zs_n2n and mash; method {method} has no "
                             f"precision setting")
        else:
            _note(progress, f"note: {method} has no precision setting: precision {precision} does not apply")
    import contextlib

    from .config import told_threads

    told = told_threads()  # (checked for every method; zs_n2n and mash train in torch on as many)
    if told and on_device:
        from .predict import cpu_threads, user_threads

        told = user_threads()  # (1 in a fork-started process)
    with cpu_threads(told) if told and on_device else contextlib.nullcontext():
        out = call_direct(method, image, noise=noise, rng=rng, options=options, info=info, progress=progress,
                          mask=mask)
    if chosen and info is not None and info.get("sigma_source") == "given" and "sigma" in choice.options \
            and "sigma" not in (caller_options or {}):
        # the sigma the choice read (or took from --noise) and passed on: not the caller's; in the image's units
        floored = choice.facts.get("sigma_floored_from")  # (the least BM3D takes, above the reading: a thermal QA
        # pass found it said as "read")
        info["sigma_source"] = (f"the least it takes; read {floored:.3g}" if floored is not None else
                                "from the noise spec" if noise is not None else "read") + (
            "" if choice.scale == 1 else ", in the image's units")
    return out


#: :func:`denoise` itself, which it calls once its image's fill value is read (not the module's name, which a
#: caller may have wrapped)
_DENOISE = denoise


def speckle_route(image: np.ndarray, noise: Any, *, colour: str = "auto", mask: Any = None) -> dict[str, Any]:
    """What :func:`denoise` with no method does for a declared speckle noise (:func:`_denoise_speckle`), and what
    ``noise2x info IMAGE --noise`` says of it.

    Returns a dict: ``name`` ("bm3d", a shipped model's name, or "log" for the homomorphic route), ``reason`` (as
    denoise says it), ``log`` (:func:`noise2x.classical.speckle_of`'s settings; None on the BM3D route) and
    ``row`` (the shipped model's row of :func:`noise2x.pretrained.speckle_model`, or None).
    """
    from .classical import speckle_of
    from .pretrained import WEAK_MAX_PIXELS, speckle_model

    if image.ndim == 3 and colour != "channels" and image.shape[0] * image.shape[1] <= WEAK_MAX_PIXELS:
        # (BENCHMARKS.md, "Speckle noise": on colour photos CBM3D on the logarithm was ahead of the shipped models
        # on it, through the luma and chroma planes, and of the speckle model channel by channel)
        return {"name": "bm3d", "log": None, "row": None,
                "reason": f"{noise} given: multiplicative speckle on a colour image: BM3D (CBM3D) on its logarithm"}
    log = speckle_of(image, noise, mask)
    row = speckle_model(log["looks"]) if image.ndim == 2 or colour == "channels" else None
    if row is not None:
        read = "" if not noise.is_random_level else f" ({log['looks']:.3g} looks read on its logarithm)"
        return {"name": row["name"], "log": log, "row": row,
                "reason": f"{noise} given{read}: shipped model '{row['name']}' ({row['description']})"}
    return {"name": "log", "log": log, "row": None,
            "reason": f"{noise} given: multiplicative speckle, additive in the logarithm: denoising the logarithm "
                      f"(mapped to 8-bit units, sigma {log['sigma']:.3g} there) as white noise, then back (the "
                      f"homomorphic route)"}


#: With no options, a gray image whose noise grows with its level as level**q (:func:`noise2x.estimate.noise_power`)
#: for q this large or larger (a depth camera's: about 2), read to within :data:`POWER_SE`, goes through the power
#: transform that makes it even (:func:`_denoise_power`); shot noise (0.5) and speckle (1) take their own routes
POWER_LEAST = 1.5
POWER_SE = 0.12
#: ... and where a variance growing linearly with the level fits the readings this many times worse (shot noise
#: above a camera's black level grows steeply in log terms near it, and takes the routes above; three clean
#: train400 photos, their faint grain read as q 1.5 to 2.1, 2.8 to 3.5; synthetic depth maps 7 and more)
POWER_MISFIT = 5.0
#: ... and where the reading owes little to texture (:class:`noise2x.estimate.PowerLaw`'s ``texture`` at most this:
#: BSD68 test008 under white noise of sigma 0.3 read q 1.9 from texture whose contrast grows with the level, 1.73)
POWER_TEXTURE = 1.35
#: ... read on the centre window of this side
POWER_WINDOW = 1024


def power_law_read(image: np.ndarray, mask: Any = None) -> Any:
    """The law of a gray image's noise of sigma ``k * level**q`` (:class:`noise2x.estimate.PowerLaw`) where the
    no-option route reads one (:data:`POWER_LEAST`, :data:`POWER_SE`, :data:`POWER_MISFIT`,
    :data:`POWER_TEXTURE`), on its centre window; else None."""
    from .estimate import noise_power

    if np.ndim(image) != 2:
        return None
    h, w = np.shape(image)
    window = (slice(max((h - POWER_WINDOW) // 2, 0), max((h - POWER_WINDOW) // 2, 0) + POWER_WINDOW),
              slice(max((w - POWER_WINDOW) // 2, 0), max((w - POWER_WINDOW) // 2, 0) + POWER_WINDOW))
    try:
        law = noise_power(image[window], mask=None if mask is None else np.asarray(mask, dtype=bool)[window])
    except InputError:  # (too few windows in the centre: the route below reads, or says, what it can)
        return None
    return law if (law is not None and law.q >= POWER_LEAST and law.stderr <= POWER_SE
                   and law.linear_misfit >= POWER_MISFIT and law.texture <= POWER_TEXTURE) else None


#: Signed data (a seismic section: :data:`noise2x.pretrained.SIGNED_SIGMAS`) whose noise level, read in 4 bands of
#: rows or of columns (:func:`noise2x.estimate.noise_bands`, both readings), changes this many times or more from
#: the quietest band to the loudest, is evened out before the no-option route (:func:`level_profile`): one sigma
#: left a section's loud top, or its bottom after an automatic gain control, as noisy as it came (a geophysics QA
#: pass; ``scripts/seismic_check.py``). Unsigned images are left out: under weak white noise a photo's texture
#: changes that reading 2.5 times and more (50 of the 2948 benchmark inputs, weak and signal-dependent noise, in a
#: development check).
BAND_VARY = 2.0
#: ... the level read in this many bands along that axis, interpolated between their centres
BAND_PROFILE = 8


def level_profile(image: np.ndarray, choice: Any) -> tuple[int, np.ndarray, float] | None:
    """(axis, gain, ratio) for a gray image of signed data (``choice``, the no-option route's, read it) whose
    noise level changes along its rows (axis 0) or columns (1) :data:`BAND_VARY` times or more: each row's (column's)
    noise level over their median (read in :data:`BAND_PROFILE` bands, fewer on a short image, at least 4;
    interpolated), and the change read; else None."""
    from .estimate import _PATCH, noise_bands

    if np.ndim(image) != 2 or not choice.facts.get("signed"):
        return None
    found = None
    for axis in (0, 1):
        read = noise_bands(image, 4, axis=axis)
        if read is None or min(float(np.min(r)) for r in read) <= 0:
            continue
        ratio = min(float(np.max(r) / np.min(r)) for r in read)
        if ratio >= BAND_VARY and (found is None or ratio > found[1]):
            found = (axis, ratio)
    if found is None:
        return None
    axis, ratio = found
    n = image.shape[axis]
    bands = max(4, min(BAND_PROFILE, n // (2 * _PATCH)))  # (bands of 5 rows, under a window's 7, read none on a
    read = noise_bands(image, bands, axis=axis)  # section of 40 rows, left as it was, unsaid: a re-check)
    if read is None or float(np.min(read[0])) <= 0:
        return None
    edges = np.linspace(0, n - _PATCH + 1, bands + 1)
    centres = (edges[:-1] + edges[1:]) / 2 + _PATCH // 2  # (a band's windows' centre pixels)
    level = read[0] / float(np.median(read[0]))
    return axis, np.interp(np.arange(n), centres, level), ratio


def level_reason(axis: int, gain: np.ndarray, ratio: float) -> str:
    """What the no-option route says of signed data whose noise level changes along an axis
    (:func:`level_profile`)."""
    lines = "rows" if axis == 0 else "columns"
    return (f"signed data whose noise level changes {ratio:.3g} times across its {lines} (read in 4 bands, over "
            f"{BAND_VARY:g}): each of its {lines} scaled to even it ({float(np.min(gain)):.2g} to "
            f"{float(np.max(gain)):.2g} times the median level), denoised, and scaled back")


def evened(image: np.ndarray, profile: tuple[int, np.ndarray, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """(the evened image, the gains as they broadcast over it, the centre): ``image`` about its median, each row
    (column) divided by its gain (``profile``, :func:`level_profile`)."""
    axis, gain, _ = profile
    g = gain.reshape((-1, 1) if axis == 0 else (1, -1))
    centre = float(np.median(image))
    return (image - centre) / g, g, centre


def _denoise_evened(image: np.ndarray, profile: tuple[int, np.ndarray, float], *, info: Any, progress: Any,
                    settings: dict[str, Any]) -> np.ndarray:
    """:func:`denoise` with no options of signed data whose noise level changes along an axis (``profile``,
    :func:`level_profile`): about its median, each row (column) divided by its noise level's gain, which evens the
    noise of an additive noise whose level changes smoothly; the no-option route on that, and the gains back."""
    axis, gain, ratio = profile
    reason = level_reason(axis, gain, ratio)
    if progress is not None:
        progress(f"evening the noise level: {reason}")
    even, g, centre = evened(image, profile)
    token = _EVENED.set(True)
    try:
        out = denoise(even, info=info, progress=progress, cfa="none", **settings)
    finally:
        _EVENED.reset(token)
    out *= g
    out += centre
    if info is not None:
        said = f"noise level evened along the {'rows' if axis == 0 else 'columns'} (changes {ratio:.3g} times)"
        info["transform"] = said + (f", {info['transform']}" if "transform" in info else "")
        info["auto"] = f"{reason}; {info.get('auto', '')}"
    return out


def power_reason(law: Any) -> str:
    """What the no-option route says of a noise read as growing with the level (:func:`power_law_read`)."""
    q, k = law.q, law.k
    return (f"the noise grows with the level, its sigma about {k:.3g} * level^{q:.2f} (read; a depth camera's grows "
            f"about as depth^2): BM3D after the power transform that makes it even (level^{1 - q:.2f}), then back")


def _denoise_power(image: np.ndarray, law: Any, *, info: Any, progress: Any, mask: Any,
                   needed: Any, rng: Any, options: Any) -> np.ndarray:
    """:func:`denoise` with no options of an image whose noise has sigma ``k * level**q`` (``law``,
    :func:`power_law_read`): ``level**(1-q) / (k (1-q))`` carries noise of one sigma at every level (the
    derivative times the sigma); mapped to 8-bit units, BM3D told that sigma denoises it, and the inverse brings
    the levels back (the bias of the inverse, of the order of the relative noise squared, is left: a depth
    camera's 0.5%)."""
    from .noise import NoiseSpec

    q, k = law.q, law.k
    held = image if mask is None else image[np.asarray(mask, dtype=bool)]
    top = 1.0 - q
    even = image ** top / (k * top)
    lo, hi = sorted(float(v) ** top / (k * top) for v in (np.min(held), np.max(held)))
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    reason = power_reason(law)
    if progress is not None:
        progress(f"using bm3d: {reason}")
    inner: dict[str, Any] = {}
    out = denoise((even - lo) * scale, method="bm3d", noise=NoiseSpec("gaussian", {"sigma": scale}), mask=mask,
                  needed=needed, rng=rng, options=options, info=inner, cfa="none")
    out /= scale
    out += lo
    out *= k * top
    np.maximum(out, np.finfo(np.float64).tiny, out=out)  # (a level above 0, as every one of the image's is)
    out **= 1.0 / top
    if info is not None:
        info.update(method="bm3d", auto=reason, transform=f"power transform level^{top:.2f}", estimated_power=q,
                    estimated_power_k=k, sigma=1.0, sigma_source="read, after the transform")
    return out


def _denoise_speckle(image: np.ndarray, noise: Any, *, info: dict[str, Any] | None, progress: Any, mask: Any,
                     settings: dict[str, Any]) -> np.ndarray:
    """:func:`denoise` with no method for a declared speckle noise, on the route :func:`speckle_route` picks: on a
    gray image (or with ``colour="channels"``, each channel alone) a shipped speckle model whose range holds its
    looks; on a colour image of up to :data:`noise2x.pretrained.WEAK_MAX_PIXELS` BM3D told the noise (CBM3D on its
    logarithm); else the homomorphic route. Its logarithm, mapped to 8-bit units
    (:func:`noise2x.classical.speckle_of`), carries additive noise of one std, which the white-noise route removes
    (BM3D or a shipped model, as for white noise of that sigma given); then the intensity back, the log-speckle's
    mean taken out (:func:`noise2x.classical.inverse_speckle_log`)."""
    from .classical import inverse_speckle_log, keep_speckle_mean
    from .noise import NoiseSpec

    route = speckle_route(image, noise, colour=settings["colour"], mask=mask)
    reason, log, row = route["reason"], route["log"], route["row"]
    if route["name"] == "bm3d":
        if progress is not None:
            progress(f"using bm3d: {reason}")
        unused = [k for k in ("tile", "overlap") if settings[k] is not None] + (["tta"] if settings["tta"] else [])
        unused += ["precision"] * (settings["precision"] != "fp32") + ["device"] * (
            settings["device"] not in ("auto", "cpu"))
        if unused:
            _note(progress, f"note: {', '.join(unused)} appl{'y' if len(unused) > 1 else 'ies'} to models: ignored")
        out = denoise(image, method="bm3d", noise=noise, info=info, mask=mask, options=settings["options"], cfa="none")
        if info is not None:
            info["auto"] = reason
        return out
    if row is not None:
        if progress is not None:
            progress(f"using {row['name']}: {reason}")
        settings.pop("colour")
        out = denoise(image, model=Path(row["path"]), colour="channels", info=info, progress=progress, cfa="none",
                      **settings)
        np.maximum(out, 0.0, out=out)  # an intensity (the model's result dipped below 0 beside dark pixels, a QA pass)
        if info is not None:
            info.update(auto=reason, method=f"model {row['name']}", estimated_looks=round(log["looks"], 4))
        return out
    if progress is not None:
        progress(reason)
    inner: dict[str, Any] | None = {} if info is not None else None
    out = denoise(log.pop("mapped"), noise=NoiseSpec("gaussian", {"sigma": log["sigma"]}), info=inner,
                  progress=progress, mask=mask, cfa="none", **settings)
    if info is not None and inner is not None:
        info.update(inner)
        info["transform"] = log["label"]
    # (the noisy image's local mean back: the logarithm's denoiser need not return its mean)
    return keep_speckle_mean(image, inverse_speckle_log(out, looks=log["looks"], lo=log["lo"], scale=log["scale"]))


#: The ``cfa`` modes of :func:`denoise`: the patterns' names mean "bayer" (the planes are denoised each alone, in
#: whatever colour each holds)
CFA_MODES = ("auto", "bayer", "none")
_CFA_PATTERNS = ("rggb", "bggr", "grbg", "gbrg")
#: The no-option reading of a mosaic reads a centred window of at most this side (a 2x2 pattern shows in any)
MOSAIC_WINDOW = 1024
#: ... and no image holding fewer values than this (in a sample of every 7th pixel): an ordered 2x2 dither of 16
#: levels scored 25, of 31 below 0; a very dark 12-bit raw frame (0.2% exposure, read noise 1 count) held 30 and
#: more (at 32 it was missed, a re-check)
MOSAIC_LEVELS = 20


def check_cfa(cfa: Any) -> str:
    """``cfa`` as :func:`denoise` takes it (:data:`CFA_MODES`, a Bayer pattern's name for ``bayer``), or a
    UsageError."""
    name = cfa.strip().lower() if isinstance(cfa, str) else cfa
    if name in _CFA_PATTERNS:
        return "bayer"
    if name not in CFA_MODES:
        raise UsageError(f"cfa must be one of {', '.join(CFA_MODES)} (or a Bayer pattern: "
                         f"{', '.join(p.upper() for p in _CFA_PATTERNS)}), got {cfa!r}")
    return name


def mosaic_read(image: Any, mask: Any = None) -> float:
    """The :func:`noise2x.estimate.mosaic_score` of a one-channel image's centred window
    (:data:`MOSAIC_WINDOW`), or 0 for anything else (colour, a stack, NaN or values of no number)."""
    from .estimate import mosaic_score

    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.dtype.kind not in "uif":
        return 0.0
    h, w = arr.shape
    top, left = max(h - MOSAIC_WINDOW, 0) // 4 * 2, max(w - MOSAIC_WINDOW, 0) // 4 * 2
    part = np.asarray(arr[top:top + MOSAIC_WINDOW, left:left + MOSAIC_WINDOW], dtype=np.float64)
    if mask is not None and np.shape(mask) == arr.shape:
        mask = np.asarray(mask, dtype=bool)[top:top + MOSAIC_WINDOW, left:left + MOSAIC_WINDOW]
    else:
        mask = None
    finite = np.isfinite(part)
    if not finite.all():  # (blank pixels: left out)
        mask = finite if mask is None else mask & finite
        part = np.where(finite, part, 0.0)
    if np.unique(part[finite][::7]).size < MOSAIC_LEVELS:  # (a dither's few levels in a 2x2 screen: a 1-bit dither
        # was split and despeckled, a re-check)
        return 0.0
    return mosaic_score(part, mask=mask)


def mosaic_planes(image: np.ndarray) -> np.ndarray:
    """A colour-filter mosaic (H,W) as its four 2x2 planes (ceil(H/2), ceil(W/2), 4): (even rows, even columns),
    (even, odd), (odd, even), (odd, odd); an odd side's last line repeated from two before (the same colour)."""
    arr = np.asarray(image)
    if arr.shape[0] % 2:
        arr = np.concatenate([arr, arr[-2:-1]], axis=0)
    if arr.shape[1] % 2:
        arr = np.concatenate([arr, arr[:, -2:-1]], axis=1)
    return np.stack([arr[0::2, 0::2], arr[0::2, 1::2], arr[1::2, 0::2], arr[1::2, 1::2]], axis=-1)


def mosaic_joined(planes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """:func:`mosaic_planes` undone: the mosaic of ``shape``."""
    h2, w2 = planes.shape[:2]
    out = np.empty((2 * h2, 2 * w2), dtype=planes.dtype)
    out[0::2, 0::2], out[0::2, 1::2], out[1::2, 0::2], out[1::2, 1::2] = (planes[..., k] for k in range(4))
    return out[:shape[0], :shape[1]]


def _denoise_mosaic(image: Any, score: float | None, progress: Any, info: Any, kwargs: dict[str, Any]) -> np.ndarray:
    """:func:`denoise` of a colour-filter mosaic (``cfa``): its four planes each alone; ``score``: its reading
    (None: given)."""
    from .io import as_numpy

    arr = as_numpy(image)
    single = arr.ndim == 3 and arr.shape[2] == 1
    if single:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise InputError(f"cfa='bayer' (--cfa bayer) takes a one-channel mosaic (H,W) (a camera's raw sensor data), "
                         f"got shape {tuple(np.shape(image))}")
    if min(arr.shape) < 2:
        raise InputError(f"a colour-filter mosaic needs 2 rows and 2 columns at least, got shape {arr.shape}")
    if _model_channels(kwargs["model"]) == 3:  # (told of an RGBA image's alpha, of its four planes: a re-check)
        raise InputError("a colour-filter mosaic (a camera's raw data) is denoised plane by plane, which takes a "
                         "one-channel (gray) model; this model takes RGB images: demosaic the image first, or give "
                         "cfa='none' (--cfa none) to take it as one gray image")
    mask, needed = kwargs.pop("mask"), kwargs.pop("needed")
    if mask is not None:
        _check_mask_shape(mask, arr.shape)
        mask = mosaic_planes(np.asarray(mask, dtype=bool)).all(axis=-1)  # (a 2x2 cell: data where all four are)
    if needed is not None:
        needed = mosaic_planes(np.asarray(needed, dtype=bool)).any(axis=-1)
    said = "given" if score is None else f"read as one: score {score:.3g}"
    _note(progress, f"note: a colour-filter (Bayer) mosaic, {said}: its four 2x2 planes (each one colour of a "
                    f"camera's raw data) denoised each alone, at its own noise level"
                    + (", and put back" if score is None else "; cfa='none' (--cfa none) takes it as one image"))
    token = _LAYOUT_SAID.set(True)  # (its planes are channels last, whatever their size)
    planes = mosaic_planes(arr)
    try:
        out = denoise(planes, colour="channels", cfa="none", mask=mask, needed=needed, progress=progress,
                      info=info, **kwargs)
    except InputError as exc:  # (a size, said of the planes: not the image's, a re-check)
        raise InputError(f"a colour-filter mosaic's 2x2 planes ({planes.shape[1]}x{planes.shape[0]} each): "
                         f"{exc}") from None
    finally:
        _LAYOUT_SAID.reset(token)
    if info is not None:
        info["cfa"] = "given" if score is None else round(float(score), 3)
    out = mosaic_joined(out, arr.shape)
    return out[..., None] if single else out


#: :func:`_wild_pixels` reads the percentiles of at most about this many of an image's values
_WILD_SAMPLE = 1_000_000


def _wild_pixels(mapped: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Where an image in 8-bit units lies more than its 0.1 to 99.9 percentile spread beyond them, in its channel
    (hot or dead pixels, cosmic rays: a mapped image's bulk spans about 0..255, and these lie beyond -255..510),
    with those percentiles (one each per channel); None where none does. Data already in 8-bit units count too (a
    12-bit raw mosaic's dark planes, 250..500 counts, are taken as such: their hot pixels were not caught, a
    re-check)."""
    channels = mapped.shape[2] if mapped.ndim == 3 else 1
    flat = mapped.reshape(-1, channels)
    # (pixels drawn at random, each channel's own: every n-th value of a colour image of 3 MP was its red alone, and
    # of a gray one its even columns alone, a re-check)
    sample = flat if flat.shape[0] <= _WILD_SAMPLE else flat[np.random.default_rng(0).integers(
        0, flat.shape[0], size=_WILD_SAMPLE)]
    lo, hi = np.percentile(sample, [0.1, 99.9], axis=0)
    spread = hi - lo
    # (a channel of one value, an empty blue of a two-colour composite: none of its pixels, not none of the image's,
    # a re-check)
    reach = np.where(spread > 0, spread, np.inf)
    wild = (mapped < (lo - reach).reshape(-1)) | (mapped > (hi + reach).reshape(-1))
    return (wild, lo, hi) if wild.any() else None


def _hide_wild(mapped: np.ndarray, wild: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """``mapped``'s wild pixels (:func:`_wild_pixels`) replaced, in place, by the median of the others in their 3x3
    neighbourhood (in their channel), or the bulk's nearest edge where all of those are wild too."""
    where, lo, hi = wild
    at = np.nonzero(where)
    values = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                ys = np.clip(at[0] + dy, 0, mapped.shape[0] - 1)
                xs = np.clip(at[1] + dx, 0, mapped.shape[1] - 1)
                index = (ys, xs) + at[2:]
                values.append(np.where(where[index], np.nan, mapped[index]))
    stacked = np.stack(values)
    held = ~np.isnan(stacked).all(axis=0)
    channel = at[2] if len(at) > 2 else 0
    fill = np.clip(mapped[at], lo[channel], hi[channel])
    if held.any():
        fill[held] = np.nanmedian(stacked[:, held], axis=0)
    mapped[at] = fill


def _denoise_frames(image: Any, axes: Any, mask: Any, progress: Any, info: Any, needed: Any,
                    settings: dict[str, Any]) -> np.ndarray:
    """:func:`denoise` of each (Y,X) or (Y,X,C) frame of ``image``, whose axes ``axes`` names."""
    if not isinstance(axes, str) or not axes.isalpha():
        raise UsageError(f"axes must be letters naming the image's axes, e.g. 'ZYX' or 'TYXC', got {axes!r}")
    letters = axes.upper()
    from .predict import _stack_array

    arr = _stack_array(image)
    frame = "YXC" if letters.endswith("YXC") else "YX"
    if not letters.endswith(frame) or len(set(letters)) != len(letters) or any(a in letters[:-len(frame)]
                                                                               for a in frame[:2]):
        raise UsageError(f"axes {axes!r}: each letter once, ending in YX (gray) or YXC (channels last), e.g. 'ZYX'")
    if arr.ndim != len(letters):
        raise InputError(f"input image has {arr.ndim} axes {tuple(arr.shape)}, axes {axes!r} names {len(letters)}")
    if needed is not None:
        raise UsageError("needed applies to one image, not to a stack (axes)")
    if frame == "YXC" and arr.shape[-1] not in (1, 3) and settings.get("colour", "auto") == "auto":
        settings = {**settings, "colour": "channels"}  # (bands of any number, not colours: each on its own)
    lead = arr.shape[:arr.ndim - len(frame)]
    n = int(np.prod(lead, dtype=np.int64))
    if n == 0:
        raise InputError(f"input image holds no frames: shape {tuple(arr.shape)} for axes {axes!r}")
    frames = arr.reshape((n,) + arr.shape[len(lead):])
    said: set[str] = set()

    def where(i: int) -> str:
        return ", ".join(f"{a}={k}" for a, k in zip(letters, np.unravel_index(i, lead)))

    def say_once(line: str) -> None:  # the frames repeat the same choice and notes: each line once, with the
        if line not in said:  # frame it first came from (frames may go different ways: the time-lapse QA pass)
            said.add(line)
            progress(f"frame {where(i)}: {line}" if n > 1 else line)

    out = None
    chosen: list[Any] = []
    said_layout = _LAYOUT_SAID.set(frame == "YXC")  # (the channels last, as said: not checked as a guess)
    try:
        with _notes_once() as notes:  # (with no progress: each note once, of the frame it was read on)
            for i in range(n):
                shown = info if i == n - 1 else ({} if info is not None else None)
                notes["where"] = f"frame {where(i)}" if n > 1 else ""
                try:
                    result = denoise(frames[i], mask=mask, info=shown,
                                     progress=None if progress is None else say_once, **settings)
                except InputError as exc:  # (which frame: a NaN in frame 3 of 5 was said of "input image")
                    if "C" in letters[:-len(frame)] and "-channel (RGB) images, got a 1-channel" in str(exc):
                        c = letters.index("C")
                        last = (f": put the channels last (np.moveaxis(image, {c}, -1), axes ending in YXC)"
                                if arr.shape[c] == 3 else f", and the image has {arr.shape[c]}")  # (5 channels were
                        # told to put them last, a second error: a QA pass)
                        raise InputError(f"axes {axes!r} denoises each channel plane alone, and this model takes "
                                         f"3-channel (RGB) images{last}") from None
                    if n == 1:
                        raise
                    raise InputError(f"frame {where(i)} ({i + 1} of {n}): {exc}") from None
                if out is None:
                    out = np.empty((n,) + result.shape, np.float64)
                out[i] = result
                if shown is not None:
                    chosen.append(shown.get("method"))
    finally:
        _LAYOUT_SAID.reset(said_layout)
    if info is not None:
        info["frames"] = n
        info["frame_methods"] = chosen
    return out.reshape(arr.shape)


def _keep_local_mean(image: np.ndarray, out: np.ndarray, sigma: float) -> np.ndarray:
    """``out`` (in place) plus the local mean (a Gaussian of ``sigma`` pixels) of what it removed from ``image``; as
    it is for ``sigma`` 0 (see :data:`noise2x.pretrained.LOCAL_MEAN_SIGMA`)."""
    if sigma > 0:
        from scipy import ndimage

        out += ndimage.gaussian_filter(image - out, (sigma, sigma) + (0,) * (image.ndim - 2), mode="reflect")
    return out


def _record_model_run(info: dict[str, Any] | None, den: Any, image: np.ndarray, colour: str,
                      precision: str) -> None:
    """How the model ``den`` runs on ``image``: ``info["method"]`` (``model NAME`` for a shipped model, else
    ``METHOD model``), ``info["precision"]`` unless fp32, and ``info["colour"]`` when a gray model takes a colour
    image."""
    if info is not None:  # (it stayed empty: the Python API QA pass)
        shipped, trained = getattr(den, "shipped", None), getattr(getattr(den, "method", None), "name", None)
        info.setdefault("method", f"model {shipped}" if shipped else f"{trained} model" if trained else "model")
        digest = getattr(den, "metadata", {}).get("sha256")  # (which weights: a methods section's, a QA pass)
        if digest:
            info["weights_sha256"] = str(digest)
    if info is not None and precision != "fp32":
        info["precision"] = precision
    if info is not None and den.channels == 1 and image.ndim == 3 and image.shape[2] > 1:
        from .predict import colour_mode

        info["colour"] = colour_mode(den.colour_mode(colour), image.shape[2], den.method)


def load_model(path: str | Path) -> Denoiser:
    """Load a model file written by :func:`train` (safetensors + JSON; never unpickles), or a shipped model by its
    name (``noise2x models``, e.g. "gray-gaussian").

    Parameters
    ----------
    path : str or Path
        A ``.safetensors`` model file, or a shipped model's name.

    Returns
    -------
    noise2x.predict.Denoiser
        The model: ``model.denoise(image)`` (an image in the units it was trained on; float32 back),
        ``model.denoise_stack(stack)``, ``model.metadata``, ``model.save(path)``; or pass it as
        ``noise2x.denoise(image, model=model)``, which maps a shipped model's 8-bit units to the image's.

    Raises
    ------
    UsageError
        No such file or shipped model, or ``path`` is not a path.
    InputError
        Not a noise2x model file, a damaged one, or one of an incompatible version.
    """
    if importlib.util.find_spec("noise2x.predict") is None:
        raise InputError("this installation has no training core: cannot load model files")
    from .predict import Denoiser

    resolved = model_file(path)
    den = Denoiser.load(resolved)
    from .pretrained import list_models

    for row in list_models():  # a shipped model (by its name or its file): it works in 8-bit units
        if Path(row["path"]).resolve() == Path(resolved).resolve():
            den.shipped = row["name"]
    # a copy of a shipped model (or one of another release, kept for a study) is one too: its metadata says so
    # (a QA pass found a copy far below the named model on a [0, 1] image, below the noisy input: units unmapped)
    shipped_as = (den.metadata.get("pretrained") or {}).get("name")
    if den.shipped is None and isinstance(shipped_as, str) and shipped_as:
        den.shipped = shipped_as
    return den


def model_file(path: str | Path) -> str | Path:
    """``path``, or the file of the shipped model called ``path`` (see ``noise2x models``) when no such file exists."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"a model is a model file's path or a shipped model's name, got {type(path).__name__}")
    if not str(path).strip():  # ('' is no path: Path('') is the working folder)
        raise UsageError("a model is a model file's path or a shipped model's name (noise2x models lists them), "
                         "got ''")
    if not Path(path).exists() and not str(path).endswith(".safetensors"):
        from .pretrained import find, model_path

        if find(str(path)) is not None:
            return model_path(str(path))
    return path


def train(method: str, *, data: Any, out: str | Path | None = None, data2: Any = None, add_noise: str | None = None,
          steps: int | None = None, minutes: float | None = None, seed: int | None = None,
          overrides: Sequence[str] = (), resume: bool = False, device: str = "auto", progress: bool = True,
          val_data: Any = None, init: Any = None, callbacks: Sequence[Callable[[Any], None]] = (),
          threads: int | None = None, axes: str | None = None) -> Denoiser:
    """Train ``method`` on the images in ``data`` and return the trained model.

    e.g. ``noise2x.train("noise2void", data="noisy/", steps=2000)``, or
    ``noise2x.train("noise2void", data=stack, axes="SYX", steps=2000)``. The model file and its run folder
    (log, curve, checkpoints) are written as ``noise2x train`` writes them (README, "Training").

    Parameters
    ----------
    method : str
        A trainable method (``noise2x.methods()``: those of kind "trainable").
    data : path, array or list of arrays
        A folder of images or a TIFF stack (noisy, or clean with ``add_noise``), or the images as arrays: a
        list of (H,W) or (H,W,3) arrays, or one array with ``axes``.
    out : path, optional
        The model file to write; default ``<method>.safetensors`` in the current folder. Its run folder is
        ``<out>.run`` (arrays given as ``data`` are written there as TIFF files).
    data2 : path, array or list of arrays, optional
        Aligned second images: Noise2Noise's second noisy copies, or the supervised baseline's clean targets.
    add_noise : str, optional
        A noise spec (``"gaussian:sigma=25"``) added to clean ``data``; a range draws a level per image.
    steps, minutes : int, float, optional
        The budget: the first reached ends the run (at least one).
    seed : int, optional
        Seeds every random choice (None: 0); randomness is ``rng`` in :func:`denoise` and the noise functions.
    overrides : sequence of str
        Dotted settings, e.g. ``["train.lr=3e-4", "data.patch_size=64"]`` (``noise2x methods -v`` lists a
        method's options and presets).
    resume : bool
        Continue the run saved in the run folder, with its own settings.
    device : str
        "auto", "cpu", "cuda", "cuda:N" or "mps".
    progress : bool
        A progress line on stderr.
    val_data : path, array or list of arrays, optional
        Validation images, used whole; default: the last 8 training images held out (the bottom rows of a
        small set's).
    init : path, str or Denoiser, optional
        Fine-tune from this model file, shipped model or returned model.
    callbacks : sequence of callables
        Each called with a ``noise2x.train.StepInfo`` after every step (set its ``stop`` to end the run).
    threads : int, optional
        CPU threads (default: ``NOISE2X_THREADS``, ``OMP_NUM_THREADS`` or the idle cores).
    axes : str, optional
        The axes of array data: "YX", "YXC", "SYX", "SYXC" (S may be T or Z; C may come first).

    Returns
    -------
    noise2x.predict.Denoiser
        The trained model, as :func:`load_model` returns it.

    Raises
    ------
    UsageError
        A bad method, setting or data combination (one line saying what to change).
    InputError
        Unreadable or unsuitable images (NaN, mixed channels, an image smaller than a set patch size).
    noise2x.errors.TrainingInterrupted
        Ctrl-C, a stop signal or a callback ended the run early; its state is saved (``resume=True``).
    """
    if not trainable_methods():
        raise UsageError("no trainable method yet")
    from .train import train as run_training

    path = run_training(method, data=data, out=out or f"{method}.safetensors", data2=data2, add_noise=add_noise,
                        steps=steps, minutes=minutes, seed=seed, overrides=overrides, resume=resume, device=device,
                        progress=progress, val_data=val_data, init=init, callbacks=callbacks, threads=threads,
                        axes=axes)
    return load_model(path)


def bench(methods: list[str] | str, *, dataset: str | Path, noise: str | NoiseSpec,
          **kwargs: Any) -> list[dict[str, Any]]:
    """Run the PROTOCOL benchmark (PROTOCOL.md) and return its rows, as ``noise2x bench`` does.

    Parameters
    ----------
    methods : list of str or str
        Method names, model files or shipped models' names; or one string of them separated by commas (as the
        CLI's ``--methods``).
    dataset : path
        A folder of clean images (e.g. ``../shared/data/bsd68``).
    noise : str or NoiseSpec
        The noise added to each image with its PROTOCOL seed, e.g. ``"gaussian:sigma=25"``.
    **kwargs
        The options of :func:`noise2x.benchmark.run_bench`: ``limit``, ``options``, ``give_noise``,
        ``budget_minutes``, ``train_data``, ``colour``, ``precision``, ``device``, ``data_range``, ``resume``,
        ``progress``, ``out`` ...

    Returns
    -------
    list of dict
        One row per method (and one for the noisy input): mean PSNR / SSIM, seconds per image, the values per
        image (``per_image``) and notes.

    Raises
    ------
    UsageError
        An unknown method or option, a bad noise spec, or a folder with no images.
    """
    from .benchmark import run_bench

    if isinstance(methods, str):  # (a string was iterated letter by letter: "unknown method 'n'")
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if kwargs.get("options") is not None and not isinstance(kwargs["options"], dict):
        raise UsageError(f"options must be a dict such as {{'nlm.h': 10}}, got {type(kwargs['options']).__name__}")
    return run_bench(list(methods), dataset=dataset, noise=noise, **kwargs)["rows"]
