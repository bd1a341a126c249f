"""Read and write images: PNG, JPEG, BMP, WebP, AVIF, HEIF, TIFF (8/16-bit, float, multi-page stacks), FITS and MRC.

Images are numpy arrays in the file's own units: (H,W) gray or (H,W,3) RGB,
8-bit files in 0..255, 16-bit files in 0..65535, float TIFF as stored.
Stacks are (N,H,W) or (N,H,W,3): a TIFF's axes other than the rows, columns
and a pixel's RGB samples (time, z, fluorescence channels stored as planes,
the bands of a multispectral TIFF: gray samples of any number) are flattened
into N, and a TIFF written ``like`` it gets them back, with its GeoTIFF tags
(and :func:`tiff_nodata` reads its declared nodata value). An alpha
channel (PNG, or TIFF with an unassociated alpha sample) is read apart by
:func:`read_stack_with_alpha` and written back by ``write_image(..., alpha=...)``;
the image arrays never hold it. Nothing here imports torch.

Pillow decodes PNG/JPEG/BMP/WebP/AVIF (and HEIF, with the optional extra
``noise2x[heif]``: pillow-heif), except 16-bit colour PNG, which Pillow reduces
to 8 bits: those are decoded (and all 16-bit PNGs are written) by the small PNG
codec in this module, and 10- and 12-bit AVIF, which Pillow also reduces to 8
bits: imagecodecs (libavif) decodes those. A photo's output written ``like`` it keeps its colour
profile, EXIF, XMP and resolution (:func:`photo_metadata`). tifffile reads and writes TIFF
(with imagecodecs for LZW-, JPEG- and other compressed TIFFs). astropy (the optional
extra ``noise2x[fits]``) reads and writes FITS: the first image HDU, a data
cube as a stack, rows as stored; an output written ``like`` a FITS input keeps
its header (WCS, exposure, ...). Compressed FITS too: tile-compressed
(``.fz``, as fpack writes; written losslessly: Rice for integers, GZIP_2
unquantised for floats) and gzipped (``.fits.gz``). mrcfile (the optional extra
``noise2x[mrc]``) reads and writes MRC, electron microscopy's format: a stack's images or a volume's
sections as a stack (memory-mapped, read one at a time), written float32 (or 16-bit) with the voxel size,
cell and origin of an MRC file written ``like``.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import InputError, MissingDependency, Noise2xError, Noise2xWarning, UsageError, warn_outside
from .fsutil import atomic_path

__all__ = [
    "IMAGE_SUFFIXES",
    "KINDS",
    "ClippingWarning",
    "check_image",
    "clipping_warning",
    "fill_blanks",
    "gray_as_rgb",
    "has_alpha",
    "held_blank",
    "image_kind",
    "list_images",
    "page_kinds",
    "page_sizes_text",
    "PageFrames",
    "StackFrames",
    "open_pages",
    "open_stack",
    "pedestal",
    "photo_metadata",
    "read_image",
    "read_pages",
    "read_stack",
    "read_stack_with_alpha",
    "stack_frames",
    "stack_pairs",
    "stored",
    "tiff_page_sizes",
    "to_8bit_units",
    "unread_images",
    "unread_note",
    "write_frames",
    "write_image",
    "write_pages",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".bmp", ".webp", ".avif", ".heic", ".heif", ".tif",
                  ".tiff", ".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fts.gz", ".mrc", ".mrcs", ".rec",
                  ".st", ".map")
"""File extensions (lower case) that the reader and writer understand (``.jfif``, ``.jpe``: JPEG, as web browsers
save it; ``.fz``: tile-compressed FITS;
``.fits.gz``: gzipped FITS; ``.mrc``, ``.mrcs`` (stacks), ``.rec`` (tomograms), ``.st`` (tilt series) and
``.map`` (volumes): MRC, electron microscopy's format)."""

#: Slide scanners' TIFF-based files (Aperio SVS, Hamamatsu NDPI, Leica SCN, Ventana BIF, Akoya QPTIFF, BigTIFF's .btf,
#: .tf8 and .tf2): read as TIFFs (their full-resolution image), not written: an output of one is a .tif or .ome.tif
#: (a folder's keeps its name with .tif: a whole-slide QA pass)
SLIDE_SUFFIXES = (".svs", ".ndpi", ".scn", ".bif", ".qptiff", ".btf", ".tf8", ".tf2")

#: Suffixes of common image formats that noise2x does not read (GIF, the PNM family, JPEG 2000, Targa, icons,
#: Photoshop, camera raw, OpenEXR, Radiance HDR, film scans' DPX and Cineon, and HDF5/NeXus volumes): a folder's
#: files of them are named as left out (:func:`unread_images`), not passed over unsaid (a format QA pass; a film
#: scan's DPX frame left a sequence's hole unsaid, a film-scan QA pass; a beamline's .h5, a tomography QA pass)
OTHER_IMAGE_SUFFIXES = (".gif", ".ppm", ".pgm", ".pbm", ".pnm", ".pfm", ".jp2", ".j2k", ".jpx", ".jpf", ".tga",
                        ".ico", ".psd", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".exr",
                        ".hdr", ".dpx", ".cin", ".h5", ".hdf5", ".he5", ".nxs", ".sgy", ".segy", ".su")

#: ... of them, seismic traces (a geophysics QA pass)
SEISMIC_SUFFIXES = (".sgy", ".segy", ".su")

#: ... of them, cameras' raw files
RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2")


def unread_hint(path: str | os.PathLike) -> str:
    """What to do with a file of a common image format noise2x does not read (:data:`OTHER_IMAGE_SUFFIXES`), as
    the end of an error line, or of a NumPy file (.npy, .npz); "" for others."""
    if _suffix(path) in (".npy", ".npz"):  # (said by denoise alone before, not by info: a geophysics QA pass)
        return (f"{_suffix(path)} files (NumPy) are not read: from Python, pass its array "
                "(noise2x.denoise(np.load(F), ...), noise2x.train(..., data=np.load(F), axes='SYX')), or write it "
                "as a TIFF (noise2x.write_image)")
    if _suffix(path) not in OTHER_IMAGE_SUFFIXES:
        return ""
    if _suffix(path) in SEISMIC_SUFFIXES:
        return (f"{_suffix(path)} files (seismic traces) are not read: write the section to a float32 TIFF first "
                "(e.g. with segyio: segyio.tools.cube or the traces of one line, samples down the rows, traces "
                "along the columns), a TIFF stack for a cube")
    if _suffix(path) in RAW_SUFFIXES:  # (converted to a TIFF, a camera's rendering is no longer its raw data; its
        # sensor mosaic is what to denoise, before demosaicking: a camera sensor QA pass)
        return (f"{_suffix(path)} files (camera raw) are not read: write the sensor's mosaic to a 16-bit TIFF first "
                f"(e.g. with rawpy: raw.raw_image_visible; or dcraw -D -4 -T), which noise2x denoises plane by plane "
                f"(--cfa), then demosaic; or a demosaicked 16-bit TIFF")
    return (f"{_suffix(path)} files are not read: convert it to PNG or TIFF first (a 16-bit or float32 TIFF for "
            "deeper data, a TIFF stack for a volume)")

#: FITS outputs that :func:`write_frames` writes frame by frame (not compressed or gzipped)
FITS_STREAMED = (".fits", ".fit", ".fts")

KINDS = ("uint8", "uint16", "float32")
"""Sample kinds an image file can store (see :func:`image_kind`)."""

_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG", ".jpe": "JPEG", ".bmp": "BMP",
            ".webp": "WEBP", ".avif": "AVIF", ".heic": "HEIF", ".heif": "HEIF", ".tif": "TIFF", ".tiff": "TIFF",
            ".fits": "FITS", ".fit": "FITS", ".fts": "FITS", ".fz": "FITS", ".fits.gz": "FITS", ".fit.gz": "FITS",
            ".fts.gz": "FITS", ".mrc": "MRC", ".mrcs": "MRC", ".rec": "MRC", ".st": "MRC", ".map": "MRC",
            **{s: "TIFF" for s in SLIDE_SUFFIXES}}
_WRITABLE = {"PNG": ("uint8", "uint16"), "JPEG": ("uint8",), "BMP": ("uint8",), "WEBP": ("uint8",), "AVIF": ("uint8",),
             "HEIF": ("uint8", "uint16"),
             "TIFF": ("uint8", "uint16", "float32"),
             "FITS": ("uint8", "uint16", "float32"),
             "MRC": ("uint16", "float32")}
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")  # (WebP written losslessly; AVIF, lossy, is not trusted with it)
"""Formats (as :func:`writable_format` names them) whose files keep an alpha channel."""
LOSSY_FORMATS = ("AVIF", "HEIF")
"""Formats that could hold alpha but are written lossily here, and so keep none (JPEG has none at all)."""
_GRAY_AS_RGB = ("WEBP", "AVIF", "HEIF")  # formats whose gray images Pillow may decode as RGB

_MAX = {"uint8": 255, "uint16": 65535}
_SUPPORTED = ("PNG, JPEG, BMP, WebP, AVIF, HEIF, TIFF, FITS, MRC (" + " ".join(IMAGE_SUFFIXES) + "), and slide "
              "scanners' TIFFs (" + " ".join(SLIDE_SUFFIXES) + ")")
#: formats whose files hold stacks (N,H,W) and float32 samples
STACK_FORMATS = ("TIFF", "FITS", "MRC")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ClippingWarning(Noise2xWarning):
    """Writing an integer image clipped more than 1% of its values to the kind's range."""


# --------------------------------------------------------------------------- arrays


def gray_as_rgb(image: Any) -> bool:
    """Whether ``image`` is (H,W,3) with its three channels equal: a gray image stored as RGB, whose noise (the
    same in every channel) a colour route would read as a third of what it is, and turn into false colour."""
    arr = np.asarray(image)
    return (arr.ndim == 3 and arr.shape[2] == 3 and arr.size > 0 and np.array_equal(arr[..., 0], arr[..., 1])
            and np.array_equal(arr[..., 0], arr[..., 2]))


def as_numpy(value: Any) -> Any:
    """``value``, or a torch tensor's values as a NumPy array (detached, on the CPU; bfloat16, which NumPy has
    not, as float32, exactly): ``np.asarray`` failed on bfloat16 and on tensors that require grad (a QA pass)."""
    if type(value).__module__.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            return (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    if isinstance(value, np.ma.MaskedArray) and np.ma.count_masked(value):  # (its mask was dropped unsaid, the
        # values under it denoised as data: a dtype QA pass)
        raise InputError(f"a masked array ({np.ma.count_masked(value)} values masked): noise2x does not read its "
                         f"mask; fill it first: to denoise, array.filled(np.nan) with blanks=True (masked pixels as "
                         f"blank pixels), or array.filled(value) with blank_value=value")
    return value


def check_image(image, *, name: str = "image", hint: str = "") -> np.ndarray:
    """Validate an in-memory image and return it as float64.

    Parameters
    ----------
    image : array_like
        (H,W) gray or (H,W,3) RGB; (H,W,1) is accepted and becomes (H,W).
        Any real numeric dtype (integers or floats; not bool or complex).
    name : str
        How the array is called in error messages (``"clean"``, ``"noisy"``...).
    hint : str
        Added to the message on NaN values (e.g. how to pass them as blank pixels).

    Returns
    -------
    numpy.ndarray
        float64 array, (H,W) or (H,W,3). It may share memory with the input
        when the input is already float64: do not modify it in place.

    Raises
    ------
    InputError
        Wrong number of dimensions or channels, empty, non-numeric dtype, or
        NaN/inf values (the message says how many).
    """
    try:
        arr = np.asarray(as_numpy(image))
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{name} is not an array: {exc}") from None
    if arr.dtype.kind not in "uif":
        raise InputError(f"{name} must hold real numbers (integer or float), got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        raise InputError(f"{name} has 4 channels (RGBA?); expected (H,W) gray or (H,W,3) RGB: drop the alpha channel"
                         + (" (four channels of data, each alone: colour='channels', --colour channels)"
                            if name == "input image" else ""))
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise InputError(f"{name} must be (H,W) gray or (H,W,3) RGB, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    out = arr.astype(np.float64, copy=False)
    _check_finite(out, name, hint=hint)
    return out


#: An image "looks 8-bit" when the spread of its values (0.1 to 99.9
#: percentile) is at least this and both percentiles lie in these limits
#: (noisy 8-bit images reach beyond 0..255) ...
_BYTE_SPREAD, _BYTE_LIMITS = 32.0, (-255.0, 510.0)
#: ... and "looks like [0, 1] data" when both percentiles lie in these.
_UNIT_LIMITS = (-0.5, 1.5)
#: An image beyond 510 at the top still looks 8-bit when its means over windows of this side do.
_LOCAL = 5


def map_text(offset: float, scale: float, digits: int = 6) -> str:
    """The map ``x -> (x - offset) * scale`` as a reader writes it: ``x -> (x + 44.6) * 0.5`` for a negative
    offset (not ``x - -44.6``), ``x -> x * 0.5`` for none."""
    if offset == 0:
        return f"x -> x * {scale:.{digits}g}"
    return f"x -> (x {'-' if offset > 0 else '+'} {abs(offset):.{digits}g}) * {scale:.{digits}g}"


def to_8bit_units(image: np.ndarray) -> tuple[float, float]:
    """The affine map ``x -> (x - offset) * scale`` that brings ``image`` to 8-bit units.

    The shipped models and the zero-shot methods' networks, learning rates
    and thresholds are set for images in 8-bit units (the papers' code
    divides 8-bit images by 255). The no-option choice (:mod:`noise2x.pretrained`)
    reads the noise level of, and applies a shipped model to, the mapped
    image, and maps the result back; the zero-shot methods use the map only
    to bring smaller units up (:func:`noise2x.zeroshot.nets.units_map`).

    Parameters
    ----------
    image : ndarray
        Any shape, finite values.

    Returns
    -------
    (offset, scale) : (float, float)
        ``(0, 1)`` when the image already looks like 8-bit data (the 0.1 to
        99.9 percentile spread of its values is at least 32 and both
        percentiles lie in [-255, 510], or only the top one lies beyond 510
        but those of its 5x5 local means pass: strong noise on 8-bit data,
        such as Poisson noise of a few photons) or is constant; ``(0, 255)``
        when it looks like data in [0, 1] (both percentiles in [-0.5, 1.5],
        their spread at least 32/255: values in far smaller units, such as
        a flux of 1e-17, are not [0, 1] data);
        otherwise the 0.1 percentile and ``255 / spread``, so that the bulk
        of its values spans 0..255.
    """
    lo, hi = (float(v) for v in np.percentile(image, [0.1, 99.9]))
    spread = hi - lo
    if not spread > 0 or (spread >= _BYTE_SPREAD and _BYTE_LIMITS[0] <= lo and hi <= _BYTE_LIMITS[1]):
        return 0.0, 1.0
    if _UNIT_LIMITS[0] <= lo and hi <= _UNIT_LIMITS[1] and spread >= _BYTE_SPREAD / 255.0:
        return 0.0, 255.0  # (a spread below that, as 8-bit data's below 32: small physical units, e.g. flux)
    if hi > _BYTE_LIMITS[1] and lo >= _BYTE_LIMITS[0] and image.ndim >= 2 and min(image.shape[:2]) >= _LOCAL:
        # beyond 510 at the top only: strong noise on 8-bit data (Poisson noise of a few photons reaches several
        # times 255)? The local means keep the signal and average the noise down; when they look 8-bit, so is
        # the image (mapped down, a peak-2 image lost 0.37 dB with the Poisson model: BENCHMARKS.md,
        # "A weak-light model")
        from scipy import ndimage

        size = (_LOCAL, _LOCAL) + (1,) * (image.ndim - 2)
        local = ndimage.uniform_filter(np.asarray(image, dtype=np.float64), size=size, mode="reflect")
        llo, lhi = (float(v) for v in np.percentile(local, [0.1, 99.9]))
        if lhi - llo >= _BYTE_SPREAD and _BYTE_LIMITS[0] <= llo and lhi <= _BYTE_LIMITS[1]:
            return 0.0, 1.0
    return lo, 255.0 / spread


#: :func:`pedestal`: the least distance from 0 at which an image's bulk counts as sitting on a pedestal
PEDESTAL_LEAST = 1000.0


def pedestal(image: np.ndarray) -> float:
    """The level an image's values sit on, where it is far from 0: their 0.1 percentile where that lies at least
    :data:`PEDESTAL_LEAST` from 0 and further than the 0.1 to 99.9 percentile spread of the values (a camera's
    bias level under 16-bit counts, a sky level under faint sources); else 0 (8-bit data never has one).

    Methods that take an image in its units subtract it and add it back to their result: BM3D's float32
    arithmetic lost the image under a pedestal of 1e7 (28.4 dB where 46.7 at 0, on a crop at sigma 3), and the
    zero-shot networks did not denoise 16-bit counts on a bias of 30000 (ZS-N2N 20.5 dB where 31.5, MASH 8.2
    where 29.6: a dtype QA pass)."""
    lo, hi = (float(v) for v in np.percentile(image, [0.1, 99.9]))
    return lo if abs(lo) >= PEDESTAL_LEAST and abs(lo) > hi - lo else 0.0


#: What an error on NaN read from a file adds: how to read NaN as blank pixels.
_BLANKS_HINT = "; if NaN marks blank pixels (no data), give --blanks (blanks=True in Python)"


def _check_finite(arr: np.ndarray, name: str, *, blanks: bool = False, hint: str = "") -> None:
    """An InputError for NaN/inf values (for inf only, with ``blanks``: NaN then marks blank pixels).

    ``hint`` is added to the message when the values include NaN.
    """
    if arr.dtype.kind != "f":
        return
    if blanks:
        bad = int(np.count_nonzero(np.isinf(arr)))
        if bad:
            raise InputError(f"{name} has {bad} inf value{'s' if bad != 1 else ''} (of {arr.size}); "
                             "only NaN marks a blank pixel: set them to NaN where they hold no data")
        return
    bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if bad:
        nan = int(np.count_nonzero(np.isnan(arr)))
        more = hint if hint and nan else ""
        if not nan and hint:  # (inf alone: no NaN to say --blanks of, a re-check)
            them, hold = ("them", "they hold") if bad != 1 else ("it", "it holds")
            raise InputError(f"{name} has {bad} inf value{'s' if bad != 1 else ''} (of {arr.size}); inf marks no "
                             f"blank pixel: set {them} to NaN where {hold} no data")
        if more and nan < bad:  # (NaN and inf apart: --blanks, said for NaN, refuses the inf: a geophysics QA pass)
            raise InputError(f"{name} has {nan} NaN and {bad - nan} inf value{'s' if bad - nan != 1 else ''} (of "
                             f"{arr.size}){more}; only NaN marks a blank pixel: set the inf to NaN where they hold "
                             "no data")
        raise InputError(f"{name} has {bad} NaN/inf value{'s' if bad != 1 else ''} (of {arr.size}){more}")


def held_blank(image: np.ndarray, value: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H,W) or (H,W,C) with its pixels holding ``value`` in every channel made NaN (blank; a float copy
    where any does, else ``image`` itself), and those pixels (H,W): how ``blank_value`` (``--blank-value``, a
    declared nodata value) marks blank pixels. A value float32 (or float16) cannot hold (-9999.9) matches it as
    such samples hold it, where none holds it exactly (float32 data read as float64 held none: a dtype QA pass)."""
    held = image == value
    for narrow in (np.float32, np.float16):
        if held.any() or np.asarray(image).dtype.kind != "f":
            break
        with np.errstate(over="ignore"):
            near = float(narrow(value))
        if near != value:
            held = image == near
    held = held.all(axis=2) if image.ndim == 3 else held
    if not held.any():
        return image, held
    marked = np.array(image, dtype=np.result_type(image.dtype, np.float32))
    marked[held] = np.nan
    return marked, held


def fill_blanks(image, *, name: str = "image") -> tuple[np.ndarray, np.ndarray]:
    """Fill an image's blank (NaN) pixels with a mirror image of the data beside them.

    NaN is the FITS convention for a pixel with no data (outside a mosaic's
    footprint, a masked star, a dead column). A denoiser needs a value there,
    and one that looks like the data around it, noise included: each blank
    pixel ``p`` takes the value at ``2q - p``, where ``q`` is the nearest
    pixel whose channels all hold data (``reflect`` padding, as at an image
    border), or the value at ``q`` where that mirror point holds no data (or
    lies outside the image). Copying ``q`` everywhere (``edge`` padding) turns
    its noise into streaks that a denoiser keeps as structure: on BSD68 with
    sigma 15 the data pixels beside the blanks came out 3.3 dB worse
    (BENCHMARKS.md, "Blank pixels").

    Parameters
    ----------
    image : array_like
        (H,W) gray or (H,W,3) RGB, as :func:`check_image` takes, where NaN
        marks blank values (in an RGB image, one channel or all).
    name : str
        How the array is called in error messages.

    Returns
    -------
    filled : numpy.ndarray
        float64, (H,W) or (H,W,3) (as :func:`check_image` returns), with
        no NaN.
    data : numpy.ndarray of bool
        (H,W), True where every channel of the pixel holds data: the
        ``mask`` that :func:`noise2x.api.denoise` and the estimators take.

    Raises
    ------
    InputError
        As :func:`check_image` for anything but NaN (inf included), and an
        image with no pixel holding data.
    """
    try:
        arr = np.asarray(as_numpy(image))
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{name} is not an array: {exc}") from None
    if arr.dtype.kind == "f":  # (its inf, said as "NaN/inf" with NaN marking blanks: a tomography QA pass)
        _check_finite(arr, name, blanks=True)
    nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, dtype=bool)
    out = check_image(np.where(nan, 0.0, arr) if nan.any() else arr, name=name)
    nan = nan.reshape(out.shape)
    blank = nan if out.ndim == 2 else nan.any(axis=2)
    if not blank.any():
        return out, ~blank
    if blank.all():
        raise InputError(f"{name} holds no data: every pixel is blank (NaN)")
    from scipy import ndimage

    # the nearest data pixel of each blank one (the feature transform: 8 bytes a pixel), then the work on the
    # blank pixels only, so that a large mosaic's fill costs little more memory than the image
    nearest = ndimage.distance_transform_edt(blank, return_distances=False, return_indices=True)
    by, bx = np.nonzero(blank)
    ny, nx = nearest[0][by, bx].astype(np.intp), nearest[1][by, bx].astype(np.intp)
    del nearest
    h, w = blank.shape
    my, mx = 2 * ny - by, 2 * nx - bx  # the mirror point across the nearest data pixel
    inside = (my >= 0) & (my < h) & (mx >= 0) & (mx < w)
    my, mx = np.where(inside, my, ny), np.where(inside, mx, nx)
    mirrored = ~blank[my, mx]
    sy, sx = np.where(mirrored, my, ny), np.where(mirrored, mx, nx)
    filled = out.copy()
    filled[by, bx] = np.where(nan[by, bx], out[sy, sx], out[by, bx])  # (only the blank values of a pixel)
    return filled, ~blank


# --------------------------------------------------------------------------- paths


def list_images(path: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """The image files named by ``path``: the file itself, or a folder's images.

    Parameters
    ----------
    path : str or path-like
        An image file (it must exist and have a known suffix) or a folder. A
        folder gives its image files (suffixes in :data:`IMAGE_SUFFIXES`,
        case-insensitive; hidden files skipped) sorted by file name, which is
        the PROTOCOL's image order.
    recursive : bool
        A folder's subfolders' images too (hidden folders skipped; linked
        folders followed, except a link to a folder above, a loop), sorted
        by their path below it. A link whose target is gone is listed (it
        is named as unusable when read).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    UsageError
        ``path`` does not exist.
    InputError
        A file with an unsupported suffix, or a folder with no image files.
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such file or folder: {p}")
    if p.is_dir():
        # (a link whose target is gone is listed, and named when it cannot be read, not left out unsaid)
        # (so is an entry that is no file, a FIFO named x.png: named when its turn comes, never opened)
        files = [f for f in _folder_entries(p, recursive) if _suffix(f) in IMAGE_SUFFIXES + SLIDE_SUFFIXES
                 and (f.is_file() or (f.is_symlink() and not f.exists()) or (f.exists() and not f.is_dir()))]
        if not files:
            where = "folder or its subfolders" if recursive else "folder"
            other = unread_images(p, recursive=recursive)
            raise InputError(f"no image files in {where} {p} (looked for {' '.join(IMAGE_SUFFIXES + SLIDE_SUFFIXES)})"
                             + (f"; {unread_note(other)}" if other else ""))
        return sorted(files, key=lambda f: f.relative_to(p).parts)
    _format_of(p)
    return [p]


def unread_images(folder: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """The files of ``folder`` (its subfolders' too with ``recursive``) in image formats that noise2x does not
    read (suffixes in :data:`OTHER_IMAGE_SUFFIXES`), which :func:`list_images` leaves out; ``[]`` for a file."""
    p = Path(folder)
    if not p.is_dir():
        return []
    return sorted((f for f in _folder_entries(p, recursive) if _suffix(f) in OTHER_IMAGE_SUFFIXES),
                  key=lambda f: f.relative_to(p).parts)


def unread_note(files: Sequence[Path], shown: int = 4) -> str:
    """What to say of the files :func:`unread_images` found: how many, the first ``shown``, and what to do."""
    names = ", ".join(f.name for f in files[:shown]) + (f" and {len(files) - shown} more" if len(files) > shown else "")
    them = "them" if len(files) > 1 else "it"
    raw = (" (camera raw: write the sensor's mosaic to a 16-bit TIFF, e.g. with rawpy's raw_image_visible, and "
           "denoise it before demosaicking)") if any(_suffix(f) in RAW_SUFFIXES for f in files) else ""
    return (f"{len(files)} file{'s' if len(files) > 1 else ''} in image formats noise2x does not read left out "
            f"({names}): convert {them} to PNG or TIFF to include {them}{raw}")


def _folder_entries(folder: Path, recursive: bool) -> list[Path]:
    """The entries of ``folder`` that are not folders, hidden ones left out; with ``recursive`` those of its
    subfolders too, linked subfolders followed (as a project folder of links to datasets needs), except a link
    back to a folder on the way to it or above ``folder`` (a loop)."""
    if not recursive:
        return [f for f in folder.iterdir() if not f.name.startswith(".") and not f.is_dir()]
    found = []
    top = Path(os.path.realpath(folder))
    # each folder walked: the folders on the way to it, and those above the folder given (a link to one of them
    # took in its whole tree: a QA pass found the parent's images denoised once per such link)
    above = {str(folder): {str(top), *(str(p) for p in top.parents)}}
    for root, dirs, names in os.walk(folder, followlinks=True):
        way, kept = above.pop(root, set()), []
        for d in dirs:
            real = os.path.realpath(os.path.join(root, d))
            if not d.startswith(".") and real not in way:
                kept.append(d)
                above[os.path.join(root, d)] = way | {real}
        dirs[:] = kept
        found.extend(Path(root) / n for n in names if not n.startswith("."))
    return found


def _suffix(path: str | os.PathLike) -> str:
    """A file name's extension, lower case; the two last ones for a gzipped FITS file (``.fits.gz``)."""
    name = Path(path).name.lower()
    for double in (".fits.gz", ".fit.gz", ".fts.gz"):
        if name.endswith(double) and len(name) > len(double):
            return double
    return Path(name).suffix


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(_suffix(path))
    if fmt is None:
        hint = unread_hint(path)
        if hint:  # (its own line: after the list of formats it was missed, a re-check)
            raise InputError(f"unsupported image file {path}: {hint}")
        raise InputError(f"unsupported image file {path}: supported formats are {_SUPPORTED}")
    return fmt


def _file_name(path: str | os.PathLike) -> Path:
    """``path`` as a Path, where it is a file name (str or path-like; bytes gave Path's TypeError: a QA pass)."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"path must be a file name (str or Path), got {type(path).__name__}")
    return Path(path)


def _existing_file(path: str | os.PathLike) -> tuple[Path, str]:
    p = _file_name(path)
    if not p.exists():
        if p.is_symlink():  # (listed in a folder: named as an input that cannot be used, as a corrupt file is)
            raise InputError(f"cannot read {p}: a link to {os.readlink(p)}, which does not exist")
        raise UsageError(f"no such file: {p}")
    if p.is_dir():
        raise UsageError(f"{p} is a folder, not an image file")
    if not p.is_file():  # (a FIFO, a socket, a device: reading it could wait for ever)
        raise InputError(f"cannot read {p}: not a regular file (a FIFO, socket or device)")
    return p, _format_of(p)


# --------------------------------------------------------------------------- reading


def _float_dtype(dtype) -> np.dtype:
    """``dtype`` as a floating numpy dtype, or UsageError: an integer one would wrap 16-bit values (1000 read as
    232 in uint8) and a string one give strings."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise UsageError(f"dtype must be a floating numpy dtype (float32, float64), got {dtype!r}") from None
    if dt.kind != "f" or dt.itemsize < 4:  # (float16 holds no 16-bit sample above 65504: inf, a QA pass)
        raise UsageError(f"dtype must be a floating numpy dtype (float32, float64), got {dt}"
                         + (" (too narrow: 16-bit samples above 65504 become inf)" if dt.kind == "f" else ""))
    return dt


def read_image(path: str | os.PathLike, *, dtype=np.float64, blanks: bool = False) -> np.ndarray:
    """Read one image in the file's own units.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, BMP, WebP, AVIF or TIFF file (or FITS; HEIF/HEIC with
        pillow-heif, the ``noise2x[heif]`` extra; MRC with mrcfile, ``noise2x[mrc]``).
    dtype : numpy dtype
        Floating dtype of the result (float64 by default).
    blanks : bool
        NaN values mark blank pixels (no data; the FITS convention) and are
        returned as they are (:func:`fill_blanks` fills them); without it
        they are an error. inf is an error either way.

    Returns
    -------
    numpy.ndarray
        (H,W) gray or (H,W,3) RGB. Values: 0..255 for 8-bit files, 0..65535
        for 16-bit files, float TIFF as stored. Alpha is left out
        (:func:`read_stack_with_alpha` reads it); palette images become RGB (gray when
        the palette is gray); 1-bit images become 0/255; LA becomes gray;
        CMYK/YCbCr become RGB; EXIF orientation is applied.

    Raises
    ------
    UsageError
        The file does not exist.
    InputError
        Unsupported suffix, unreadable/corrupt/truncated file, a multi-page
        TIFF (use :func:`read_stack`), unsupported channels (e.g. 2), or
        NaN/inf values.
    """
    dtype = _float_dtype(dtype)
    p, fmt = _existing_file(path)
    if fmt in STACK_FORMATS:
        stack = _read_tiff(p)[0] if fmt == "TIFF" else _read_fits(p)[0] if fmt == "FITS" else _read_mrc(p)
        if stack.shape[0] != 1:
            what = {"TIFF": "multi-page TIFF", "FITS": "FITS data cube", "MRC": "MRC stack or volume"}[fmt]
            if fmt == "TIFF" and _tiff_file_bands(p):
                raise InputError(f"{p} is a TIFF of {stack.shape[0]} bands (gray samples); use read_stack to read "
                                 f"them, one frame per band")
            raise InputError(f"{p} is a {what} with {stack.shape[0]} images; use read_stack to read it")
        arr = stack[0]
    else:
        arr = _read_pillow(p)[0]
    _check_finite(arr, str(p), blanks=blanks, hint=_BLANKS_HINT)
    return arr.astype(dtype, copy=False)


def read_stack(path: str | os.PathLike, *, dtype=np.float64, blanks: bool = False) -> np.ndarray:
    """Read a multi-page TIFF (or any single image) as a stack.

    Parameters
    ----------
    path : str or path-like
        A TIFF with one or more pages (an ImageJ/tifffile (N,H,W) or
        (N,H,W,3) array included; extra axes such as time x depth are
        flattened into N), or any single image file (N=1).
    dtype : numpy dtype
        Floating dtype of the result.
    blanks : bool
        NaN values mark blank pixels (see :func:`read_image`).

    Returns
    -------
    numpy.ndarray
        (N,H,W) or (N,H,W,3), in the file's units (see :func:`read_image`).

    Raises
    ------
    UsageError, InputError
        As :func:`read_image`; also pages of different sizes.
    """
    return read_stack_with_alpha(path, dtype=dtype, blanks=blanks)[0]


def has_alpha(path: str | os.PathLike) -> bool:
    """Whether the image file ``path`` holds an alpha (opacity) channel, read from its header: a PNG's or WebP's
    mode or transparency, a one-series TIFF's alpha sample (:func:`read_stack_with_alpha` reads it). False for
    other formats and for a file that cannot be read (its reading says why)."""
    p = Path(path)
    fmt = _FORMATS.get(_suffix(p))
    try:
        if fmt == "TIFF":
            with _open_tiff(p) as tif:
                series = _main_series(tif)
                return len(series) == 1 and bool(_alpha_sample(series[0])) and not _tiff_bands(series[0])
        if fmt in ("PNG", "WEBP"):
            with _pillow_open(p) as im:
                return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    except Exception:
        return False
    return False


def read_stack_with_alpha(path: str | os.PathLike, *, dtype=np.float64,
                          blanks: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`read_stack`, and the file's alpha (opacity) channel, or None where it has none.

    Parameters
    ----------
    path : str or path-like
        As :func:`read_stack`.
    dtype : numpy dtype
        Floating dtype of the result.
    blanks : bool
        NaN values mark blank pixels (see :func:`read_image`).

    Returns
    -------
    stack : numpy.ndarray
        As :func:`read_stack`.
    alpha : numpy.ndarray or None
        (N,H,W), one plane per image of the stack, in the file's
        units (0..255 for 8-bit files, 0..65535 for 16-bit ones): from a PNG
        with alpha (RGBA, gray + alpha, or a palette with transparency), or a
        TIFF whose extra sample is alpha (premultiplied, i.e. associated,
        alpha too: its colours are then read divided by it, as shown, and a
        warning says so). None for other files.

    Raises
    ------
    UsageError, InputError
        As :func:`read_stack`.
    """
    dtype = _float_dtype(dtype)
    p, fmt = _existing_file(path)
    if fmt == "TIFF":
        arr, alpha = _read_tiff(p)
    elif fmt == "FITS":
        arr, header = _read_fits(p)
        alpha = None
        _check_fits_blanks(arr, str(p), header, blanks)
    elif fmt == "MRC":
        arr, alpha = _read_mrc(p), None
    else:
        arr, alpha = _read_pillow(p)
        arr, alpha = arr[None], None if alpha is None else alpha[None]
    _check_finite(arr, str(p), blanks=blanks, hint=_BLANKS_HINT)
    if alpha is not None:
        _check_finite(alpha, f"{p} (alpha channel)")
        alpha = alpha.astype(dtype, copy=False)
    return arr.astype(dtype, copy=False), alpha


#: what tifffile logs where a TIFF is damaged (it then reads fewer images than the file holds, e.g. one page of
#: a truncated ImageJ stack)
_TIFF_DAMAGE = ("corrupt", "invalid page offset", "truncat")


#: Per thread: the records of tifffile's log being caught (a list, or None) and whether it is kept quiet (a count)
_TIFF_LOG = threading.local()
_TIFF_LOG_LOCK = threading.Lock()


class _TiffLogFilter:
    """A filter on tifffile's logger, installed once: in a thread catching its records (:func:`_open_tiff`) they go
    to that thread's list, in a thread keeping it quiet (:class:`_quiet_tifffile`) they are dropped, and elsewhere
    they pass as they come. Per thread: reading TIFFs in several threads at once neither swaps the logger's
    handlers (an application's own were lost, and one file's damage was said of another: a QA pass) nor mixes
    their records."""

    def filter(self, record: Any) -> bool:
        if getattr(_TIFF_LOG, "quiet", 0):
            return False
        held = getattr(_TIFF_LOG, "records", None)
        if held is not None:
            held.append(record)
            return False
        return True


def _tiff_log() -> Any:
    """tifffile's logger, with :class:`_TiffLogFilter` on it (added once)."""
    import logging

    log = logging.getLogger("tifffile")
    if not any(isinstance(f, _TiffLogFilter) for f in log.filters):
        with _TIFF_LOG_LOCK:
            if not any(isinstance(f, _TiffLogFilter) for f in log.filters):
                log.addFilter(_TiffLogFilter())
    return log


def _open_tiff(p: Path) -> Any:
    """``tifffile.TiffFile(p)``, open, with its series parsed; an InputError where tifffile finds it damaged (it
    would log a warning and go on with fewer images than the file holds), its other warnings logged as before."""
    import tifffile

    log = _tiff_log()
    said: list[Any] = []
    before, _TIFF_LOG.records = getattr(_TIFF_LOG, "records", None), said  # (this thread's records: here)
    try:
        tif = tifffile.TiffFile(p)
        try:
            tif.series  # (parsed here, where its warnings are caught)
        except BaseException:
            tif.close()
            raise
    finally:
        _TIFF_LOG.records = before
    damage = [r.getMessage() for r in said if r.levelno >= 30 and any(w in r.getMessage().lower()
                                                                      for w in _TIFF_DAMAGE)]
    if damage:
        tif.close()
        said_last = re.sub(r"^<[^>]*>\s*", "", damage[-1])  # (without tifffile's "<TiffPages @8>")
        raise InputError(f"cannot read image file {p}: the TIFF is damaged ({said_last})")
    for record in said:
        log.handle(record)
    return tif


class StackFrames:
    """A multi-frame file's frames, each decoded when asked for: a large stack is never held whole.

    Behaves as the (N,H,W) or (N,H,W,3) array :func:`read_stack` returns, for reading: ``len``, ``shape``,
    ``ndim``, ``dtype``, ``stack[i]`` (one frame, a new array, checked for NaN/inf as :func:`read_stack`
    checks the stack) and iteration. Made by :func:`open_stack` (:class:`TiffFrames`, :class:`FitsFrames`);
    close it (or use it in a ``with`` block) to close the file.
    """

    def __init__(self, handle: Any, shape: tuple[int, ...], dtype: Any, path: Path, blanks: bool) -> None:
        self._handle = handle
        self.shape, self.dtype, self.path, self.blanks = shape, np.dtype(dtype), path, blanks
        self.ndim = len(shape)

    def _decode(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"frame {i} of a stack of {n}")
        i %= n
        try:
            arr = self._decode(i)
        except Noise2xError:
            raise
        except Exception as exc:
            raise _unreadable(self.path, exc) from None
        _check_finite(arr, f"{self.path} (frame {i + 1})", blanks=self.blanks, hint=_BLANKS_HINT)
        return arr.astype(self.dtype, copy=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:  # (a training set keeps its stacks open while it lives)
        try:
            self._handle.close()
        except Exception:
            pass

    def __enter__(self) -> "StackFrames":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class TiffFrames(StackFrames):
    """A multi-frame TIFF's frames, each decoded from its page (see :class:`StackFrames`)."""

    def __init__(self, tif: Any, pages: Any, shape: tuple[int, ...], stored: tuple[int, ...], dtype: Any,
                 path: Path, blanks: bool, orientation: int = 1, photometric: int = 1) -> None:
        super().__init__(tif, shape, dtype, path, blanks)
        self._pages, self._stored = pages, stored  # stored: a page's (H,W) or (H,W,samples)
        self._orientation = orientation  # the TIFF's Orientation tag: each frame is turned upright
        self._photometric = photometric  # MinIsWhite, CMYK: each frame as shown (see _as_displayed)

    def _decode(self, i: int) -> np.ndarray:
        page = self._pages[i]
        if page is None:
            raise ValueError(f"page {i} is missing")
        arr = page.asarray().reshape(self._stored)
        if self._photometric in (_MINISWHITE, _SEPARATED):
            arr = _as_displayed(arr, page, self._photometric)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8) * 255
        if arr.ndim == 3 and arr.shape[2] == 4:  # RGB and a fourth sample that is not unassociated alpha
            arr = arr[..., :3]
        return _upright(arr, self._orientation)


class PageFrames(StackFrames):
    """The pages of a TIFF whose pages differ in size or colour (:func:`tiff_page_sizes`), each decoded when asked
    for, as :func:`read_pages` reads it (see :class:`StackFrames`): ``shape`` is (N,) and ``shapes`` each page's;
    made by :func:`open_pages`. A fax of fine and standard pages (two heights) was read whole, 1.8 GB for 100
    pages, and ``info`` read every page to show the first (a re-check)."""

    def __init__(self, tif: Any, pages: list, shapes: list[tuple[int, ...]], dtype: Any, path: Path,
                 blanks: bool) -> None:
        super().__init__(tif, (len(pages),), dtype, path, blanks)
        self._pages, self.shapes = pages, shapes

    def _decode(self, i: int) -> np.ndarray:
        page = self._pages[i]
        kind = _photometric_check(page, self.path)
        arr = page.asarray()
        if kind in (_MINISWHITE, _SEPARATED, _PALETTE):
            arr = _as_displayed(arr, page, kind)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8) * 255
        if arr.ndim == 3 and arr.shape[2] == 4:  # (RGB and a fourth sample that is not alpha: pages hold none)
            arr = arr[..., :3]
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        try:
            turn = int(page.tags.valueof(274, 1))
        except Exception:
            turn = 1
        arr = _upright(arr, turn if turn in _ORIENT else 1)
        if arr.shape != self.shapes[i]:
            raise ValueError(f"page {i + 1} reads as {arr.shape}, its header says {self.shapes[i]}")
        if arr.dtype.kind not in "uif":
            raise InputError(f"{self.path} holds {arr.dtype} samples; expected real numbers (integer or float)")
        return arr


def open_pages(path: str | os.PathLike, *, dtype=np.float64, blanks: bool = False) -> PageFrames:
    """:func:`read_pages` one page at a time: a :class:`PageFrames` (close it, or use it in a ``with`` block).

    Raises
    ------
    InputError
        Not a TIFF of pages of different sizes or colours (:func:`tiff_page_sizes` is None).
    """
    import tifffile

    dtype = _float_dtype(dtype)
    p, fmt = _existing_file(path)
    shapes = tiff_page_sizes(p) if fmt == "TIFF" else None
    found = _pages_of(p) if shapes is not None else []
    if shapes is None or len(found) != len(shapes):
        raise InputError(f"{p} holds no pages of different sizes or colours, or holds alpha or frames that are not "
                         "pages: read it with open_stack")
    tif = tifffile.TiffFile(p)
    try:
        tif.pages.useframes = False
        pages = [tif.pages[index] for index, *_ in found]
    except Exception as exc:
        tif.close()
        raise _unreadable(p, exc) from None
    return PageFrames(tif, pages, [tuple(s) for s in shapes], dtype, p, blanks)


class FitsFrames(StackFrames):
    """A FITS cube's planes (further axes flattened, as :func:`read_stack` does), each read from the file
    through astropy's ``section`` (see :class:`StackFrames`), scaled and with blank values as read whole."""

    def __init__(self, hdus: Any, hdu: Any, lead: tuple[int, ...], shape: tuple[int, ...], dtype: Any,
                 path: Path, blanks: bool) -> None:
        super().__init__(hdus, shape, dtype, path, blanks)
        self._hdu, self._lead = hdu, lead

    def _decode(self, i: int) -> np.ndarray:
        plane = np.asarray(self._hdu.section[tuple(int(k) for k in np.unravel_index(i, self._lead))])
        plane = _fits_values(plane, self._hdu.header, self.path)
        _check_fits_blanks(plane, f"{self.path} (frame {i + 1})", self._hdu.header, self.blanks)
        return plane


@contextlib.contextmanager
def _warnings_of(package: str) -> Iterator[list]:
    """Catch the warnings raised while the block runs and give those issued from ``package`` (astropy, mrcfile:
    their files' checks read them) in a list that fills as they come; any other (another thread's, as catching is
    process-wide) is issued again after the block, as it came, not taken for the file's (a valid FITS file was
    called damaged for another thread's warning, and that warning lost: a concurrency QA pass)."""
    where = f"{os.sep}{package}{os.sep}"
    own: list = []
    others: list = []

    def shown(message, category, filename, lineno, file=None, line=None):  # (catch_warnings records through it)
        caught = warnings.WarningMessage(message, category, filename, lineno, file, line)
        (own if where in str(filename) or type(message).__module__.startswith(package) else others).append(caught)

    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():  # (one thread's block at a time: two overlapping put back
            warnings.simplefilter("always")  # each other's handler and filters, and every later warning was lost)
            warnings.showwarning = shown
            yield own
    finally:  # (a failed read too)
        for w in others:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


_WARNINGS_LOCK = threading.RLock()


def _fits_frames(p: Path, dtype: Any, blanks: bool) -> FitsFrames | None:
    """A FITS cube's planes read one at a time (an uncompressed or tile-compressed (.fz) file whose first image
    HDU has 3 or more axes); else None (the file is then read whole: a 2-D image, gzipped FITS)."""
    if _suffix(p).endswith(".gz"):
        return None  # (a gzipped file is decompressed whole anyway)
    fits = _astropy_fits()
    hdus = None
    with _warnings_of("astropy") as said:  # astropy's own lines (e.g. truncation): in our error
        try:
            hdus = fits.open(p, memmap=False)
            hdu = _fits_image_hdu(hdus, p)
            hdu.header  # (read here, where its warnings are caught)
            if said:
                raise ValueError(said[0].message)
        except Exception as exc:
            if hdus is not None:
                hdus.close()
            if isinstance(exc, Noise2xError):
                raise
            raise _unreadable(p, exc) from None

    def make() -> FitsFrames | None:
        naxis = int(hdu.header["NAXIS"])
        shape = tuple(int(hdu.header[f"NAXIS{k}"]) for k in range(naxis, 0, -1))  # numpy order
        n = int(np.prod(shape[:-2], dtype=np.int64))
        if naxis < 3 or n < 2:
            return None
        return FitsFrames(hdus, hdu, shape[:-2], (n, *shape[-2:]), dtype, p, blanks)

    return _kept_open(hdus, make, p)


def _kept_open(handle: Any, make: Callable[[], StackFrames | None], p: Path) -> StackFrames | None:
    """The frames ``make()`` gives, which keep the open file ``handle``; it is closed where ``make`` gives none
    or fails (a failure other than ours as one InputError)."""
    try:
        frames = make()
    except BaseException as exc:
        handle.close()
        if isinstance(exc, Exception) and not isinstance(exc, Noise2xError):
            raise _unreadable(p, exc) from None
        raise
    if frames is None:
        handle.close()
    return frames


def _main_series(tif: Any) -> list:
    """The series of an open TIFF that hold its images: all but reduced-resolution copies of them (TIFF's
    NewSubfileType bit 0: the thumbnails of a Zeiss LSM file, a slide scanner's previews) and a slide scanner's
    associated images (:func:`associated_images`), unless that leaves none. A file holding its image and such a
    thumbnail is read as its image, not refused for sizes that differ."""
    series = list(tif.series)
    left = associated_images(tif)
    full = [s for s in series if not s.keyframe.is_reduced and s not in left]
    return full or series


#: tifffile's names of the images a slide scanner stores beside the slide (a thumbnail, the label with its barcode
#: and case number, the macro photo of the whole glass, NDPI's map)
_ASSOCIATED = ("Thumbnail", "Label", "Macro", "Map", "Overview")


def associated_images(tif: Any) -> list:
    """The series of an open slide scanner's TIFF (SVS, NDPI, BIF, SCN, Philips) that hold its associated images
    (:data:`_ASSOCIATED`), not the slide: an SVS's thumbnail, a page of the full image's colours, was denoised and
    written as a second image, its label and macro called thumbnails (a whole-slide QA pass)."""
    if not any(getattr(tif, f"is_{kind}", False) for kind in ("svs", "ndpi", "bif", "scn", "philips")):
        return []
    return [s for s in tif.series if s.name in _ASSOCIATED]


def _tiff_bands(series: Any) -> bool:
    """Whether a TIFF series' samples are bands, not colours: several samples per pixel of a gray kind
    (MinIsBlack or MinIsWhite), as a multispectral GeoTIFF stores its bands, other than gray and its alpha.
    Each band is then a frame of the stack, denoised on its own (as the channel planes of a hyperstack are), and
    an output written like it stores them as its samples again."""
    try:
        page = series.keyframe
        samples = int(getattr(page, "samplesperpixel", 1) or 1)
        kind = int(getattr(page, "photometric", 1) or 0)
    except Exception:
        return False
    return samples > 1 and kind in (_MINISWHITE, 1) and "S" in str(series.axes) and not (
        samples == 2 and _alpha_sample(series))


def _tiff_file_bands(p: Path) -> bool:
    """Whether the TIFF ``p`` holds one series whose samples are bands (:func:`_tiff_bands`)."""
    try:
        with _open_tiff(p) as tif:
            main = _main_series(tif)
            return len(main) == 1 and _tiff_bands(main[0])
    except Exception:
        return False


def _series_axes(series: Any) -> str:
    """A TIFF series' axes as a stack reads them: its sample axis as channels (C: frames) where they are bands
    (:func:`_tiff_bands`)."""
    axes = str(series.axes)
    return axes.replace("S", "C") if _tiff_bands(series) else axes


def _tiff_frames(p: Path, dtype: Any, blanks: bool) -> TiffFrames | None:
    """A TIFF's frames read page by page, where its layout allows (one series, each frame one page: its Y and X
    axes, and RGB samples, after the frame axes; no alpha); else None (the file is then read whole)."""
    try:
        tif = _open_tiff(p)
    except Noise2xError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from None

    def make() -> TiffFrames | None:
        main = _main_series(tif)
        if len(main) != 1:
            return None
        s = main[0]
        shape = tuple(int(n) for n in s.shape)
        others, y, x, chans = _tiff_axes(_series_axes(s), shape, p)
        k = len(others)
        n = int(np.prod(shape[:k], dtype=np.int64))
        if (others != list(range(k)) or (y, x) != (k, k + 1) or chans not in ([], [k + 2]) or n < 2
                or _alpha_sample(s) or len(s.pages) != n or np.dtype(s.dtype).kind not in "uifb"):
            return None
        c = shape[k + 2] if chans else None
        if c not in (None, 3, 4):
            return None  # (read whole: its error says what is wrong)
        kind = _photometric_check(s.keyframe, p)
        if kind == _PALETTE:
            return None  # (read whole: its colours)
        if int(np.prod(s.keyframe.shape, dtype=np.int64)) != shape[y] * shape[x] * (c or 1):
            return None
        turn = _tiff_orientation(s)
        h, w = (shape[x], shape[y]) if turn in (5, 6, 7, 8) else (shape[y], shape[x])
        return TiffFrames(tif, s.pages, (n, h, w) + ((3,) if c else ()),
                          (shape[y], shape[x]) + ((c,) if c else ()), dtype, p, blanks, orientation=turn,
                          photometric=kind)

    return _kept_open(tif, make, p)


def open_stack(path: str | os.PathLike, *, dtype=np.float64,
               blanks: bool = False) -> tuple[np.ndarray | StackFrames, np.ndarray | None]:
    """:func:`read_stack_with_alpha`, but a multi-frame TIFF or FITS cube comes as :class:`StackFrames`, each
    frame decoded when asked for, where its layout allows (TIFF: ImageJ hyperstacks, OME-TIFF, multi-page gray
    or RGB, not with alpha; FITS: a cube, uncompressed or .fz): the memory of a frame instead of the stack's.
    A NaN (without ``blanks``) or inf value is then found when its frame is read. Close the frames when done
    (``with``)."""
    dtype = _float_dtype(dtype)
    p, fmt = _existing_file(path)
    if fmt in STACK_FORMATS:
        frames = (_tiff_frames(p, dtype, blanks) if fmt == "TIFF" else _fits_frames(p, dtype, blanks) if fmt == "FITS"
                  else _mrc_frames(p, dtype, blanks))
        if frames is not None:
            return frames, None
    return read_stack_with_alpha(p, dtype=dtype, blanks=blanks)


def stack_frames(path: str | os.PathLike) -> list[int | None]:
    """Each frame of the stack that :func:`read_stack` reads from ``path``: its channel (the index on a TIFF's
    C axis, channels stored as planes), or None where the file has no such axis. Read from the headers only.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    list
        One entry a frame (a single image: ``[None]``).

    Raises
    ------
    UsageError, InputError
        As :func:`read_image`, for a missing file or an unreadable TIFF or FITS header.
    """
    p, fmt = _existing_file(path)
    if fmt == "FITS":
        header = _fits_header(p)
        n = int(np.prod([header.get(f"NAXIS{i}", 1) for i in range(3, header.get("NAXIS", 2) + 1)], dtype=np.int64))
        return [None] * n
    if fmt == "MRC":
        with _mrc_open(p, header_only=True) as mrc:
            return [None] * _mrc_shape(mrc)[0]
    if fmt != "TIFF":
        return [None]
    try:
        with _open_tiff(p) as tif:
            layouts = [(_series_axes(s), tuple(int(n) for n in s.shape)) for s in _main_series(tif)]
    except Exception as exc:
        raise _unreadable(p, exc) from None
    frames: list[int | None] = []
    for axes, shape in layouts:
        others = _tiff_axes(axes, shape, p)[0]
        sizes = [shape[i] for i in others]
        c = [k for k, i in enumerate(others) if axes[i] == "C"]
        if not c:
            frames += [None] * int(np.prod(sizes, dtype=np.int64))
            continue
        index = np.indices(sizes).reshape(len(others), -1)  # in C order, as _tiff_series flattens them
        frames += [int(v) for v in index[c[0]]]
    return frames


def stack_pairs(path: str | os.PathLike) -> tuple[list[tuple[int, int]], str]:
    """The pairs of frames of the stack :func:`read_stack` reads from ``path`` that Noise2Noise takes as two
    noisy copies of one scene, and the axis they follow. Each frame goes with the next along the stack's time
    axis (T) where it has one; else along its first axis other than channels (C) longer than 1: the planes of a
    z-stack (Z), the pages of a plain multi-page TIFF. Never across a channel, a z-plane (where time runs), a
    series or the end of an axis. A FITS cube's frames pair along its innermost axis longer than 1 (NAXIS3, where
    it is), never across an outer one; an MRC stack's in their order. Read from the headers only.

    Returns
    -------
    pairs : list of (int, int)
        Frame numbers as :func:`read_stack` orders them, each first frame once.
    axis : str
        The axis the pairs follow ("T", "Z", "Q", ...; "" for a FITS or MRC file, or where none pair).

    Raises
    ------
    UsageError, InputError
        As :func:`stack_frames`.
    """
    p, fmt = _existing_file(path)
    if fmt == "FITS":  # (a 4-D cube's frames paired across its outer axis too: a QA re-check)
        header = _fits_header(p)
        sizes = [int(header.get(f"NAXIS{i}", 1)) for i in range(int(header.get("NAXIS", 2)), 2, -1)]
        inner = [k for k, n in enumerate(sizes) if n > 1]
        if not inner:
            return [], ""
        k = inner[-1]
        step, count = int(np.prod(sizes[k + 1:], dtype=np.int64)), int(np.prod(sizes, dtype=np.int64))
        return [(f, f + step) for f in range(count) if (f // step) % sizes[k] < sizes[k] - 1], ""
    if fmt != "TIFF":
        n = len(stack_frames(p))
        return [(k, k + 1) for k in range(n - 1)], ""
    try:
        with _open_tiff(p) as tif:
            layouts = [(_series_axes(s), tuple(int(n) for n in s.shape)) for s in _main_series(tif)]
    except Exception as exc:
        raise _unreadable(p, exc) from None
    pairs: list[tuple[int, int]] = []
    along = ""
    start = 0
    for axes, shape in layouts:
        others = _tiff_axes(axes, shape, p)[0]
        sizes = [shape[i] for i in others]
        names = [axes[i] for i in others]
        count = int(np.prod(sizes, dtype=np.int64))
        moving = [k for k, a in enumerate(names) if a == "T" and sizes[k] > 1] or [
            k for k, a in enumerate(names) if a != "C" and sizes[k] > 1]
        if moving:
            k = moving[0]
            step = int(np.prod(sizes[k + 1:], dtype=np.int64))  # (frames flatten in C order, as _tiff_series does)
            frames = np.arange(count)
            first = frames[(frames // step) % sizes[k] < sizes[k] - 1]
            pairs += [(start + int(f), start + int(f) + step) for f in first]
            along = along or names[k]
        start += count
    return pairs, along


def tiff_series(path: str | os.PathLike) -> list[tuple[str, int]]:
    """The series of a TIFF holding several (positions of an OME-TIFF, say), each as (its name, its frames), which
    :func:`read_stack` reads as one stack and outputs hold as one; ``[]`` for a TIFF of one series, other files,
    or where the headers cannot be read."""
    p = Path(path)
    if _FORMATS.get(_suffix(p)) != "TIFF":
        return []
    try:
        import tifffile

        with tifffile.TiffFile(p) as tif:
            main = _main_series(tif)
            found = [(str(s.name or f"series {i + 1}"), _series_frames(s, p)) for i, s in enumerate(main)]
    except Exception:
        return []
    return found if len(found) > 1 else []


def _series_frames(series: Any, p: Path) -> int:
    """The frames a TIFF series gives the stack :func:`read_stack` reads: the product of its axes before Y and X
    (:func:`_tiff_axes`)."""
    shape = tuple(int(n) for n in series.shape)
    return int(np.prod([shape[i] for i in _tiff_axes(_series_axes(series), shape, p)[0]], dtype=np.int64))


def _series_flattened(like: Path, shape: tuple[int, ...]) -> None:
    """Warn where ``like`` is a TIFF of several series whose frames a stack of ``shape`` holds as one."""
    series = tiff_series(like)
    if series and len(shape) >= 3 and sum(n for _, n in series) == shape[0]:
        names = ", ".join(f"{name} ({n} frames)" for name, n in series[:6]) + (", ..." if len(series) > 6 else "")
        warn_outside(UserWarning(
            f"{like}: its {len(series)} series ({names}) are written as one stack of their frames, without "
            f"each series' name, axes and calibration"))


def frame_side(path: str | os.PathLike) -> int | None:
    """The shorter side of the frames of the TIFF or FITS file ``path``, read from its headers; None for other
    files or where the headers do not say (the file is then read to know it)."""
    p = Path(path)
    fmt = _FORMATS.get(_suffix(p))
    try:
        if fmt == "FITS":
            header = _fits_header(p)
            return int(min(header["NAXIS1"], header["NAXIS2"]))
        if fmt == "MRC":
            with _mrc_open(p, header_only=True) as mrc:
                return min(_mrc_shape(mrc)[1:])
        if fmt == "TIFF":
            import tifffile

            with tifffile.TiffFile(p) as tif:
                sides = set()
                for s in _main_series(tif):
                    _, y, x, _ = _tiff_axes(_series_axes(s), tuple(s.shape), p)
                    sides.add(min(int(s.shape[y]), int(s.shape[x])))
            return sides.pop() if len(sides) == 1 else None
    except Exception:
        return None
    return None


def _sample_kind(dt: np.dtype) -> str:
    """The kind (:data:`KINDS`) that holds a TIFF's samples of ``dt`` as they are."""
    return "uint8" if dt in (np.uint8, np.bool_) else "uint16" if dt == np.uint16 else "float32"


def page_kinds(path: str | os.PathLike, every: bool = False) -> list[str]:
    """The sample kind (:data:`KINDS`) of each page of a TIFF of pages of different sizes
    (:func:`tiff_page_sizes`), in the file's order: :func:`write_pages` writes each back in its own; ``[]`` for
    other files (with ``every``: of any TIFF). Read from the headers."""
    if _FORMATS.get(_suffix(Path(path))) != "TIFF" or not every and tiff_page_sizes(path) is None:
        return []
    return [kind for _, kind, *_ in _pages_of(path)]


def tiff_bilevel(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TIFF whose pages are all 1-bit (a fax archive, a 1-bit book scan)."""
    if _FORMATS.get(_suffix(Path(path))) != "TIFF":
        return False
    found = _pages_of(path)
    return bool(found) and all(onebit for _, _, onebit, *_ in found)


def _pages_of(path: str | os.PathLike, looks: bool = False) -> list[tuple]:
    """Each page of a TIFF's main series, in the file's order: (its index among the file's pages, its sample kind,
    whether it is 1-bit), and with ``looks`` its resolution, resolution unit and colour profile (as a hash: to
    compare), and last its tile size (:func:`_page_tile`); ``[]`` where the headers cannot be read."""
    def look(page: Any) -> tuple:
        icc = page.tags.get(34675)
        return (tuple(page.resolution), int(page.resolutionunit or 0), None if icc is None else hash(bytes(icc.value)))

    import tifffile

    try:
        with _quiet_tifffile(), _open_tiff(Path(path)) as tif:
            listed = sorted((int(page.index), _sample_kind(np.dtype(s.dtype)))
                            for s in _main_series(tif) for page in s.pages if page is not None)
        with _quiet_tifffile(), tifffile.TiffFile(Path(path)) as tif:
            tif.pages.useframes = False  # (each page read as a page, with its tags: tifffile reads a uniform or
            # shaped series' pages after the first as frames, without them, and 10 fax pages came out 8-bit, each
            # page at page 1's dpi, a re-check)
            found = []
            for index, kind in listed:
                page = tif.pages[index]
                found.append((index, kind, int(page.bitspersample) == 1 and int(page.samplesperpixel) == 1,
                              *([look(page)] if looks else []), _page_tile(page)))
            return found
    except Exception:
        return []


def image_kind(path: str | os.PathLike) -> str:
    """What sample kind a file stores: ``'uint8'``, ``'uint16'`` or ``'float32'``.

    Used so that an output can keep its input's kind. Float TIFF of any
    precision and integer TIFF other than 8/16-bit unsigned report
    ``'float32'``; 1-bit images report ``'uint8'``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    str

    Raises
    ------
    UsageError, InputError
        As :func:`read_image`.
    """
    p, fmt = _existing_file(path)
    if fmt == "FITS":
        return _fits_kind(p)
    if fmt == "MRC":
        return _mrc_kind(p)
    try:
        if fmt == "TIFF":
            with _open_tiff(p) as tif:
                if not tif.series:
                    raise InputError(f"cannot read image file {p}: the TIFF holds no image")
                kinds = [_sample_kind(np.dtype(s.dtype)) for s in _main_series(tif)]
            return max(kinds, key=KINDS.index)  # (the widest: a 16-bit page after an 8-bit one was written
            # 8-bit, every pixel 255, a re-check)
        if fmt == "PNG":
            header = _png_header(p)
            if header is not None and header[2] == 16:
                return "uint16"
        if _heif_high_bits(p) or _avif_bits(p) > 8:
            return "uint16"
        _pillow_heif(p)
        with _pillow_open(p) as im:
            mode = im.mode
        if mode.startswith("I"):
            return "uint16"
        if mode == "F":
            return "float32"
        return "uint8"
    except Noise2xError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from None


#: Pillow refuses an image of more than 179 MP as a possible decompression bomb (and warns above 89 MP), a guard
#: for pictures from the web; a panorama, mosaic or scan on disk may be larger (a TIFF or FITS file has no such
#: limit here). When it opens for noise2x, Pillow warns above this many pixels (4.3 GP, a JPEG's largest) and
#: refuses twice as many.
_PILLOW_MAX_PIXELS = 2**32
#: :func:`_pillow_open`'s calls under way in the process, and Pillow's own limit when the first came in
_PILLOW_OPENING: list = [0, None]
_PILLOW_LOCK = threading.Lock()


def _pillow_open(p: Path) -> Any:
    """``PIL.Image.open(p)`` with Pillow's decompression-bomb limit raised to :data:`_PILLOW_MAX_PIXELS` while
    noise2x opens images; Pillow's own setting is back once none is being opened (calls in several threads each put
    back what the other had raised, which stayed: a concurrency QA pass; no warning filter, which is process-wide,
    is set)."""
    from PIL import Image

    with _PILLOW_LOCK:
        if _PILLOW_OPENING[0] == 0:
            _PILLOW_OPENING[1] = Image.MAX_IMAGE_PIXELS
        _PILLOW_OPENING[0] += 1
        before = _PILLOW_OPENING[1]
        Image.MAX_IMAGE_PIXELS = None if before is None else max(before, _PILLOW_MAX_PIXELS)
    try:
        return Image.open(p)
    finally:
        with _PILLOW_LOCK:
            _PILLOW_OPENING[0] -= 1
            if _PILLOW_OPENING[0] == 0:
                Image.MAX_IMAGE_PIXELS = _PILLOW_OPENING[1]


def _read_number(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().split()[0]
        return None if text == "max" else int(text)
    except (OSError, ValueError, IndexError):
        return None


def _available_memory() -> int | None:
    """Bytes of memory this process may still take (Linux): the least of the host's MemAvailable, its control
    group's limit less its use (a cluster job's --mem) and its address-space limit (ulimit -v) less its size;
    None where none is known."""
    found = []
    try:
        with open("/proc/meminfo") as fh:
            found += [int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    for limit, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # (cgroup v2, v1)
                        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, now = _read_number(limit), _read_number(used)
        if cap is not None and now is not None and cap < 1 << 60:
            found.append(max(cap - now, 0))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status") as fh:
                size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
            found.append(max(soft - size, 0))
    except (ImportError, OSError, ValueError, StopIteration):
        pass
    if not found:  # (not Linux: a huge image went to its allocation unchecked, in a portability QA pass)
        found += _memory_elsewhere()
    return min(found) if found else None


def _memory_elsewhere() -> list[int]:
    """Windows: the available physical memory (GlobalMemoryStatusEx); elsewhere (macOS, the BSDs): the physical
    memory (sysconf), an upper bound; [] where neither is known."""
    if os.name == "nt":
        try:
            import ctypes

            class _Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                            ("available", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                            ("page_available", ctypes.c_ulonglong), ("virtual_total", ctypes.c_ulonglong),
                            ("virtual_available", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

            status = _Status()
            status.length = ctypes.sizeof(_Status)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return [int(status.available)]
        except (AttributeError, OSError):
            pass
        return []
    try:
        return [os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
    except (AttributeError, ValueError, OSError):
        return []


#: A compressed picture cannot hold more decoded samples than this many times its bytes: deflate's bound is
#: 1032 (PNG), a baseline JPEG's about 256 (two bits for the flattest 8x8 block)
_MOST_SAMPLES_PER_BYTE = {"PNG": 1100, "JPEG": 1100}


def _fits_in_memory(p: Path, width: int, height: int, bands: int, fmt: str | None = None) -> None:
    """Refuse, before decoding, a picture that declares more samples than its bytes can hold (a PNG or baseline
    JPEG: damaged, or made to exhaust memory), or whose pixels need more memory than this process may take: its
    decoded samples and the float64 image made of them (a 633-byte JPEG declaring 65500x65500 pixels drove a host
    to 8 GB before it failed, one declaring 20000x20000 a capped job to a raw MemoryError, in QA passes)."""
    samples = int(width) * int(height) * max(int(bands), 1)
    size = p.stat().st_size
    most = _MOST_SAMPLES_PER_BYTE.get(fmt or "")
    stored = samples  # (the bytes its format compresses: a PNG's at its bit depth, 1 bit a pixel for a bilevel scan)
    header = _png_header(p) if fmt == "PNG" else None
    if header is not None:
        w, h, depth, ctype, _ = header
        stored = h * (1 + -(-w * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype, 4) * depth // 8))
    # (a progressive or arithmetic-coded JPEG's runs of empty blocks compress further: not bounded so)
    bounded = fmt != "JPEG" or _jpeg_frame(p) in (0xC0, 0xC1)
    if most and bounded and stored > most * max(size, 1):
        raise InputError(f"{p} declares {width}x{height} pixels, more than its {size} bytes can hold: it is damaged, "
                         f"or made to exhaust memory")
    need = samples * (1 + 8)
    free = _available_memory()
    if free is not None and need > free:
        raise InputError(f"{p} declares {width}x{height} pixels: reading it needs about {need / 1e9:.3g} GB, more than "
                         f"the {free / 1e9:.3g} GB of memory this process may take (a file of {size} bytes: if it "
                         f"is that small, it is damaged or made to exhaust memory)")


def _jpeg_frame(p: Path) -> int | None:
    """A JPEG's frame marker (0xC0 baseline, 0xC1 extended Huffman, 0xC2 progressive, 0xC9.. arithmetic), read by
    walking its header's segments; None where it cannot be read."""
    try:
        head = p.read_bytes()[:1 << 20]
    except OSError:
        return None
    i = 2
    while i + 4 <= len(head) and head[i] == 0xFF:
        marker = head[i + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return marker
        i += 2 + int.from_bytes(head[i + 2:i + 4], "big")
    return None


def _unreadable(p: Path, exc: BaseException) -> InputError:
    """The error of a file noise2x could not read: the supported formats where its content is not recognised;
    where it is, a damaged file of its format, with the reader's reason (a bare token, as a KeyError's, named)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, KeyError):  # (a card's name missing, or a value a table does not hold: BITPIX 17)
        key = exc.args[0] if exc.args else None
        reason = (f"an entry its header needs is missing: {reason}" if isinstance(key, str)
                  else f"its header holds a value the format does not define: {key!r}")
    elif len(reason) < 8 or not any(c.isalpha() for c in reason):  # ("17", "'NAXIS3'": the reader's word alone)
        reason = f"{type(exc).__name__}: {reason}"
    unknown = type(exc).__name__ == "UnidentifiedImageError" or re.search(r"cannot identify|not an? ", reason)
    if unknown:
        return InputError(f"cannot read image file {p}: {reason} (supported formats: {_SUPPORTED})")
    if type(exc).__name__ == "DecompressionBombError":  # (beyond noise2x's limit: not damaged)
        return InputError(f"cannot read image file {p}: {reason}")
    return InputError(f"cannot read image file {p}: a damaged {_FORMATS.get(_suffix(p), 'image')} file ({reason})")


def _read_pillow(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(image, alpha or None) of a PNG, JPEG, BMP, WebP or AVIF file."""
    try:
        header = _png_header(p)
        if header is not None and header[2] == 16 and header[3] in (2, 4, 6):
            return _read_png16(p)
        if _heif_high_bits(p):
            return _read_heif16(p)
        if _avif_bits(p) > 8:
            return _read_avif16(p)
        from PIL import ImageOps

        _pillow_heif(p)
        with _pillow_open(p) as im:
            frames = getattr(im, "n_frames", 1)
            if frames > 1 and im.format in ("PNG", "WEBP"):  # (a JPEG's extra pictures, MPO previews, are not)
                raise InputError(f"{p} is an animation of {frames} frames; noise2x reads one picture from a "
                                 f"{im.format} file (its first frame alone would be written): save the frames as "
                                 "a TIFF stack to denoise each")
            _fits_in_memory(p, im.width, im.height, len(im.getbands()), im.format)
            im.load()
            fmt = im.format
            im = ImageOps.exif_transpose(im)
            alpha = None
            if im.mode == "CMYK" and im.info.get("icc_profile"):  # (dropped unsaid: a colour QA pass)
                _cmyk_profile_note(p)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
            image = _pil_to_array(im, fmt)
            key = im.info.get("transparency") if im.mode in ("L", "RGB", "I;16", "I") else None
            if key is not None and not isinstance(key, bytes):  # a PNG's colour key (tRNS): pixels of that value
                # are transparent (they came back opaque, their fill denoised, in a QA pass)
                stored = np.asarray(im)
                hit = np.all(stored == np.asarray(key), axis=-1) if stored.ndim == 3 else stored == key
                if hit.any():
                    alpha = np.where(hit, 0, 65535 if image.dtype == np.uint16 else 255).astype(image.dtype)
            return image, alpha
    except Noise2xError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from None


def _pil_to_array(im, fmt: str | None = None) -> np.ndarray:
    """A Pillow image as (H,W) or (H,W,3), its file's ``fmt`` (Pillow's name) telling gray stored as RGB."""
    mode = im.mode
    if mode == "1" or mode in ("LA", "La"):
        return np.asarray(im.convert("L"))
    if mode == "L":
        return np.asarray(im)
    if mode in ("P", "PA"):
        rgb = np.asarray(im.convert("RGBA"))[..., :3]
        if gray_as_rgb(rgb):
            return np.ascontiguousarray(rgb[..., 0])  # a gray palette stays gray
        return rgb
    if mode == "RGB" or (mode == "RGBA" and fmt in _GRAY_AS_RGB):
        rgb = np.asarray(im if mode == "RGB" else im.convert("RGB"))
        if fmt in _GRAY_AS_RGB and gray_as_rgb(rgb):  # (WebP has no gray pixels)
            return np.ascontiguousarray(rgb[..., 0])  # a gray image stays gray
        return rgb
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    if mode in ("I", "F"):
        return np.asarray(im)
    return np.asarray(im.convert("RGB"))  # RGBA, RGBX, CMYK, YCbCr, LAB, HSV...


def _tiff_parts_read(p: Path) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], list[list[int]]]:
    """Each series of a TIFF decoded as (N,H,W) or (N,H,W,3) frames, upright, and its unassociated alpha (N,H,W)
    or None; and each series' page numbers (from 0, in the file's order: a series groups pages of one shape)."""
    try:
        with _open_tiff(p) as tif:
            series = _main_series(tif)
            if not series:
                raise InputError(f"cannot read image file {p}: the TIFF holds no image")
            parts = [_tiff_series(*_displayed_series(s, p), p, 0 if _tiff_bands(s) else _alpha_sample(s))
                     for s in series]
            turns = [_tiff_orientation(s) for s in series]
            pages = [[int(page.index) for page in s.pages if page is not None] for s in series]
            _planes_as_colour_note(tif, series[0], p)
            _band_alpha_note(series[0], p)
            _extra_sample_notes(series[0], p)
        parts = [(_frames_upright(a, k), None if alpha is None else _frames_upright(alpha, k))
                 for (a, alpha), k in zip(parts, turns)]
    except Noise2xError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from None
    return parts, pages


def _pages_in_order(parts: list, pages: list[list[int]]) -> list[tuple[int, int, int]] | None:
    """(page number, series, frame) of each frame in the file's order, where each series' frames are its pages
    (plain pages, no alpha); else None."""
    if any(alpha is not None for _, alpha in parts) or any(len(a) != len(n) for (a, _), n in zip(parts, pages)):
        return None
    return sorted((page, i, k) for i, numbers in enumerate(pages) for k, page in enumerate(numbers))


def page_sizes_text(shapes: Sequence[tuple[int, ...]]) -> str:
    """Each page's size (width x height, and RGB for colour) by its number, from its shape ((H,W) or (H,W,3)), runs
    of one size together: ``"pages 1-2 600x800, page 3 500x400 RGB"``."""
    runs: list[list] = []
    for n, shape in enumerate(shapes, 1):
        size = f"{shape[1]}x{shape[0]}" + (" RGB" if len(shape) == 3 else "")
        if runs and runs[-1][2] == size and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n, size])
    shown = ", ".join(f"page{'s' if a != b else ''} {a}{f'-{b}' if a != b else ''} {size}" for a, b, size in runs[:8])
    rest = sum(b - a + 1 for a, b, _ in runs[8:])  # (a fax's 100 pages alternating: a line of 2,042 characters)
    return shown + (f" and {rest} more page{'s' if rest > 1 else ''}" if rest else "")


def read_pages(path: str | os.PathLike, *, dtype=np.float64, blanks: bool = False) -> list[np.ndarray]:
    """Each page of a multi-page TIFF whose pages differ in size (a document's letter and legal pages), in the
    file's order: a list of (H,W) or (H,W,3) arrays of ``dtype``, as :func:`read_stack` reads a page. ``noise2x
    denoise`` denoises each on its own and writes them back as pages (:func:`write_pages`); :func:`read_stack`
    refuses such a file (no one stack holds them).

    Raises
    ------
    InputError
        Not such a TIFF (:func:`tiff_page_sizes` is None), pages with alpha, NaN without ``blanks`` or inf.
    """
    dtype = _float_dtype(dtype)
    p, fmt = _existing_file(path)
    if fmt != "TIFF":
        raise InputError(f"{p} is no TIFF: read_pages reads the pages of a multi-page TIFF")
    parts, pages = _tiff_parts_read(p)
    order = _pages_in_order(parts, pages)
    if order is None or len({a.shape[1:] for a, _ in parts}) < 2:
        raise InputError(f"{p} holds no pages of different sizes, or holds alpha or frames that are not pages: "
                         "read it with read_stack")
    out = [parts[i][0][k].astype(dtype) for _, i, k in order]
    for n, page in enumerate(out, 1):
        _check_finite(page, f"{p} (page {n})", blanks=blanks, hint=_BLANKS_HINT)
    return out


def tiff_page_sizes(path: str | os.PathLike) -> list[tuple[int, ...]] | None:
    """The shape ((H,W) or (H,W,3), as read) of each page of a multi-page TIFF whose plain pages differ in size, in
    the file's order; None for any other file (or one whose headers cannot be read). Read from the headers."""
    p = Path(path)
    if _FORMATS.get(_suffix(p)) != "TIFF":
        return None
    try:
        with _quiet_tifffile(), _open_tiff(p) as tif:
            series = _main_series(tif)
            if len(series) < 2 or any(_alpha_sample(s) or _tiff_bands(s) for s in series):
                return None
            shapes, numbers = [], []
            for s in series:
                others, y, x, chans = _tiff_axes(_series_axes(s), tuple(int(n) for n in s.shape), p)
                frames = int(np.prod([s.shape[i] for i in others], dtype=np.int64))
                found = [int(page.index) for page in s.pages if page is not None]
                if frames != len(found):
                    return None
                h, w = int(s.shape[y]), int(s.shape[x])
                if _tiff_orientation(s) in (5, 6, 7, 8):
                    h, w = w, h
                shapes.append((h, w, *(int(s.shape[i]) for i in chans)))
                numbers.append(found)
    except Exception:
        return None
    if len(set(shapes)) < 2:
        return None
    return [shape for _, shape in sorted((n, shapes[i]) for i, found in enumerate(numbers) for n in found)]


def _read_tiff(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode a TIFF into (N,H,W) or (N,H,W,3), and its unassociated alpha (N,H,W) or None."""
    parts, pages = _tiff_parts_read(p)
    shapes = {a.shape[1:] for a, _ in parts}
    if len(shapes) > 1:  # (sizes said sorted, not by page, with no way out: a document scans QA pass)
        order = _pages_in_order(parts, pages)
        if order is None:  # (alpha, or frames that are not pages: the page by page route does not take them)
            sizes = ", ".join(f"series {i + 1}: {a.shape[2]}x{a.shape[1]}" + (" RGB" if a.ndim == 4 else "")
                              + (" with alpha" if alpha is not None else "") for i, (a, alpha) in enumerate(parts))
            raise InputError(f"{p} holds images that cannot make one stack ({sizes}), nor be read page by page "
                             f"(alpha, or frames that are not pages): split it into files of one kind (tiffsplit, of "
                             f"libtiff-tools, splits its pages)")
        sizes = page_sizes_text([parts[i][0].shape[1:] for _, i, _ in order])
        raise InputError(f"{p} holds images of different sizes or colours ({sizes}); cannot make one "
                         f"stack: noise2x denoise writes each page on its own to a TIFF output (noise2x.io.read_pages "
                         f"reads them one by one)")
    if len(parts) == 1:
        return parts[0]
    alphas = [alpha for _, alpha in parts]
    alpha = np.concatenate(alphas) if all(a is not None for a in alphas) else None  # all or none
    return np.concatenate([a for a, _ in parts]), alpha


def tiff_nodata_text(path: str | os.PathLike) -> tuple[str, Any] | None:
    """The text of a TIFF's GDAL_NODATA tag (42113) and its sample dtype, or None for other files, TIFFs without
    one, or one that cannot be read."""
    p = Path(path)
    if _FORMATS.get(_suffix(p)) != "TIFF":
        return None
    try:
        with _quiet_tifffile(), _open_tiff(p) as tif:
            page = _main_series(tif)[0].keyframe
            tag = page.tags.get(42113)
            if tag is None:
                return None
            value, dtype = tag.value, np.dtype(page.dtype)
    except Exception:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return text.strip().strip("\x00").strip(), dtype


def tiff_nodata(path: str | os.PathLike) -> float | None:
    """The nodata value a TIFF declares (GDAL's GDAL_NODATA tag, 42113, as GeoTIFFs carry it: the value of pixels
    holding no data, such as 0 or -9999 outside a scene's footprint; NaN for float data), as the file's samples
    hold it (as GDAL casts it: 1e20 is float32's nearest, which a float32 image holds), or None for other files,
    TIFFs without one, a value that is no number, or one its samples cannot hold (0.5 of an integer image)."""
    found = tiff_nodata_text(path)
    if found is None:
        return None
    text, dtype = found
    try:
        number = float(text)
    except ValueError:
        return None
    if np.isnan(number):
        return number
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            held = float(dtype.type(number))
        return held if np.isfinite(held) or np.isinf(number) else None
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return number if number == round(number) and info.min <= number <= info.max else None
    return number


class _quiet_tifffile:
    """A context in which tifffile's log says nothing in this thread (its own reading of GDAL_NODATA, which noise2x
    reads and says itself, warned once per page of a file whose value it could not parse)."""

    def __enter__(self) -> None:
        _tiff_log()
        _TIFF_LOG.quiet = getattr(_TIFF_LOG, "quiet", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        _TIFF_LOG.quiet -= 1


def stored_colours(path: str | os.PathLike) -> str | None:
    """How an image file stores what it shows, where noise2x converts it when read: ``"MinIsWhite"`` (a TIFF's,
    inverted), ``"palette"`` (its colours), ``"CMYK"`` (as RGB), ``"1-bit"`` (as 0 and 255) or ``"N-bit gray"``
    (a PNG's 2 or 4 bits, scaled to 0..255); None for other files and for 8- or 16-bit gray or RGB ones."""
    p = Path(path)
    fmt = _FORMATS.get(_suffix(p))
    if fmt in ("PNG", "JPEG", "BMP", "WEBP"):  # (a JPEG's CMYK, a palette, 1-bit: said by info, a format QA pass)
        try:
            with _pillow_open(p) as im:
                mode = im.mode
            header = _png_header(p) if fmt == "PNG" else None
        except Exception:
            return None
        if header is not None and header[3] == 0 and header[2] in (2, 4):
            return f"{header[2]}-bit gray"
        return {"CMYK": "CMYK", "P": "palette", "PA": "palette", "1": "1-bit"}.get(mode)
    if fmt != "TIFF":
        return None
    try:
        import tifffile

        with tifffile.TiffFile(p) as tif:
            page = tif.pages[0]
            kind, bits = int(page.photometric), int(page.bitspersample) * int(page.samplesperpixel)
    except Exception:
        return None
    if bits == 1 and kind != _PALETTE:  # (a scan's, MinIsWhite or not: info said nothing, a document scans QA pass)
        return "1-bit"
    return {_MINISWHITE: "MinIsWhite", _PALETTE: "palette", _SEPARATED: "CMYK"}.get(kind)


_CFA_PHOTOMETRIC, _CFA_REPEAT = 32803, 33421  # (TIFF/EP and DNG: a colour-filter array's samples, its pattern's size)


def declared_mosaic(path: str | os.PathLike) -> bool:
    """Whether a TIFF file says it holds a colour-filter mosaic (photometric CFA, 32803: a camera's raw data, as a
    DNG or TIFF/EP stores it; a 2x2 pattern, as Bayer's). An InputError for another pattern (X-Trans' 6x6)."""
    if _FORMATS.get(_suffix(path)) != "TIFF":
        return False
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            if int(page.photometric) != _CFA_PHOTOMETRIC:
                return False
            tag = page.tags.get(_CFA_REPEAT)
            repeat = tuple(int(v) for v in np.ravel(tag.value)) if tag is not None else (2, 2)
    except Exception:
        return False
    if repeat != (2, 2):
        raise InputError(f"{path}: a colour-filter mosaic of a {'x'.join(map(str, repeat))} pattern (e.g. X-Trans): "
                         f"only 2x2 (Bayer) mosaics are split into their planes here; demosaic it first")
    return True


def _displayed_series(series: Any, p: Path) -> tuple[np.ndarray, str]:
    """A TIFF series' samples as shown (:func:`_as_displayed`), and its axes (a palette's gain a sample axis)."""
    kind = _photometric_check(series.keyframe, p)
    arr, axes = series.asarray(), _series_axes(series)
    if kind == _PALETTE:
        arr = _as_displayed(arr, series.keyframe, kind)
        return arr, axes + ("S" if arr.ndim > len(axes) else "")
    if kind in (_MINISWHITE, _SEPARATED):
        return _as_displayed(arr, series.keyframe, kind), axes
    return arr, axes


def _tiff_orientation(series: Any) -> int:
    """A TIFF series' Orientation tag (274): 1 (rows top to bottom, columns left to right) to 8, as EXIF's; 1 where
    it has none or an unknown value."""
    try:
        value = int(series.keyframe.tags.valueof(274, 1))
    except Exception:
        return 1
    return value if value in _ORIENT else 1


def _frames_upright(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Frames (N,H,W[,C]) turned upright for an EXIF/TIFF ``orientation`` (as Pillow turns a photo); as they are
    for 1."""
    if orientation not in _ORIENT:
        return arr
    return np.ascontiguousarray(np.moveaxis(_upright(np.moveaxis(arr, 0, 2), orientation), 2, 0))


#: ImageJ metadata of an input kept in its output: its calibration and how Fiji shows it (composite or not,
#: each channel's colour table and display range, the slice labels, the Info text)
_IMAGEJ_KEPT = ("spacing", "unit", "finterval", "fps", "yunit", "xunit", "tunit", "mode", "LUTs", "Ranges", "Labels",
                "Info", "min", "max")

#: Lengths in micrometres by their names in OME-XML and ImageJ, and ImageJ's and OME's name of each
_LENGTHS = {"pm": 1e-6, "Å": 1e-4, "\\u00c5": 1e-4, "nm": 1e-3, "µm": 1.0, "um": 1.0, "micron": 1.0, "\\u00b5m": 1.0,
            "mm": 1e3, "cm": 1e4, "m": 1e6, "in": 25400.0, "inch": 25400.0}
_IMAGEJ_LENGTH = {"µm": "micron", "um": "micron", "\\u00b5m": "micron", "in": "inch",
                  "Å": "\\u00C5"}  # (ImageJ's metadata are ASCII: its escape for Å)
_OME_LENGTH = {"micron": "µm", "um": "µm", "\\u00b5m": "µm", "inch": "in", "\\u00c5": "Å"}
#: Times in seconds by their names in OME-XML
_TIMES = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}


_LOSSLESS_TIFF = {"LZW": "lzw", "ADOBE_DEFLATE": "adobe_deflate", "DEFLATE": "deflate", "ZSTD": "zstd",
                  "LZMA": "lzma", "PACKBITS": "packbits"}
#: the fax codecs of 1-bit scans, which tifffile does not write: their outputs are Deflate-compressed instead
FAX_TIFF = ("CCITTRLE", "CCITTFAX3", "CCITTFAX4")


def _tiff_compression(like: Path) -> dict:
    """``{"compression": name}`` for tifffile where ``like`` is a TIFF compressed losslessly (LZW, Deflate, ZSTD,
    LZMA, PackBits): an output written like it is compressed the same way, not left several times larger;
    ``{}`` for an uncompressed one; Deflate for other codecs (lossy JPEG, JPEG 2000, WebP: the denoised pixels
    are not compressed lossily again; a 1-bit scan's fax compression, CCITT G3/G4, which tifffile does not write),
    with ``predictor`` (of an output's kind). ``"bilevel"``
    (also for other 1-bit TIFFs): an output holding black and white alone is written 1-bit again. With
    ``"tile"``: the tile size of a TIFF stored in tiles, which a whole image written like it keeps."""
    if _FORMATS.get(_suffix(like)) != "TIFF":
        return {}
    try:
        with _quiet_tifffile(), _open_tiff(like) as tif:
            page = tif.pages[0] if len(tif.pages) else None
            name = page.compression.name if page is not None else ""
            tile = _page_tile(page) if page is not None else None
            predicted = page is not None and int(getattr(page, "predictor", 1) or 1) in (2, 3)
            bilevel = page is not None and int(page.bitspersample) == 1 and int(page.samplesperpixel) == 1
    except Exception:  # (the input was read already; a file that cannot say is written uncompressed)
        return {}
    kept: dict = {"compression": _LOSSLESS_TIFF[name]} if name in _LOSSLESS_TIFF else {}
    if name not in _LOSSLESS_TIFF and name not in ("", "NONE"):  # a fax's (23 times larger uncompressed, a document
        kept["compression"] = "adobe_deflate"  # scans QA pass), or lossy JPEG or JPEG 2000 (a slide's: 4 times,
        # a whole-slide QA pass): losslessly, the denoised pixels as they are
    if bilevel:
        kept["bilevel"] = True
    # and its predictor (differences, which compress better; of an output's kind: horizontal for integers, floating
    # point for floats), or one where its codec is not kept
    if kept and (predicted or name not in _LOSSLESS_TIFF) and name != "PACKBITS":
        kept["predictor"] = True
    if tile is not None:  # stored in tiles (a GeoTIFF's, a slide's): so again, in tiles of its size
        kept["tile"] = tile
    return kept


def tiff_pyramid(like: str | os.PathLike, shape: Sequence[int] | None = None, ome: bool = True) -> dict | None:
    """How the TIFF ``like`` stores reduced-resolution levels of its one image (a slide's, an OME-TIFF's pyramid),
    which an output of ``shape`` written like it gets again, made from its pixels (:func:`_reduced`): ``{"how":
    "subifds" (each page's SubIFDs: OME's, tifffile's) or "pages" (reduced pages after it: an SVS's), "full": the
    image's (height, width), "levels":
    each level's (height, width), "thumbnail": an SVS thumbnail's (height, width) or None, "reduced": whether its
    levels are marked as reduced-resolution images (an SVS's are not), "tiles": each level's tile size or None}``;
    None where it
    holds no levels, several series, or an image of another height and width than ``shape``'s (read turned;
    ``shape`` None: its own), and, for an output that is no OME-TIFF (``ome`` False), where its levels would not
    be read back as a pyramid (:func:`_levels_read_back`)."""
    if _FORMATS.get(_suffix(Path(like))) != "TIFF":
        return None
    try:
        with _quiet_tifffile(), _open_tiff(Path(like)) as tif:
            main = _main_series(tif)
            if len(main) != 1 or len(getattr(main[0], "levels", [])) < 2 or _tiff_orientation(main[0]) != 1:
                return None
            series = main[0]
            _, y, x, _ = _tiff_axes(_series_axes(series), tuple(int(n) for n in series.shape), Path(like))
            full = (int(series.shape[y]), int(series.shape[x]))
            levels = [(int(s.shape[y]), int(s.shape[x])) for s in series.levels[1:]]
            tiles = [_page_tile(s.keyframe) for s in series.levels[1:]]
            thumb = [s for s in associated_images(tif) if s.name == "Thumbnail"]
            how = "subifds" if series.keyframe.subifds else "pages"
            small = (int(thumb[0].shape[0]), int(thumb[0].shape[1])) if thumb and how == "pages" else None
            reduced = how == "subifds" or bool(series.levels[1].keyframe.is_reduced)
    except Exception:  # (read before: a file that cannot say gets no levels)
        return None
    if shape is None:
        spatial = full
    else:
        spatial = tuple(shape[:2]) if len(shape) == 2 or (len(shape) == 3 and shape[-1] == 3) else tuple(shape[1:3])
    if spatial != full or any(not 0 < h <= full[0] or not 0 < w <= full[1] for h, w in levels):
        return None
    if not ome and not _levels_read_back(full, levels):
        return None
    return {"how": how, "full": full, "levels": levels, "thumbnail": small, "reduced": reduced, "tiles": tiles}


def _at_level(meta: dict, like: Path, shape: Sequence[int]) -> dict:
    """``meta`` (:func:`photo_metadata` of the TIFF ``like``) for an image of ``shape`` that is one of ``like``'s
    reduced-resolution levels (a slide's level read with tifffile and denoised): its dpi divided by the level's
    factor, and without the description, whose pixel size (an Aperio MPP) is the full resolution's (the base's
    0.252 µm was written on a 4x level: a whole-slide re-check); ``meta`` itself otherwise."""
    pyramid = tiff_pyramid(like)
    if pyramid is None or "dpi" not in meta and "description" not in meta:
        return meta
    spatial = tuple(shape[:2]) if len(shape) == 2 or (len(shape) == 3 and shape[-1] == 3) else tuple(shape[1:3])
    if spatial not in pyramid["levels"]:
        return meta
    full = pyramid["full"]
    out = {k: v for k, v in meta.items() if k != "description"}
    if "dpi" in out:
        out["dpi"] = (out["dpi"][0] * spatial[1] / full[1], out["dpi"][1] * spatial[0] / full[0])
    return out


def _levels_read_back(full: tuple[int, int], levels: list[tuple[int, int]]) -> bool:
    """Whether a TIFF's levels of these sizes are read back as a pyramid from a plain TIFF: as tifffile finds them,
    each level the one before it divided by one factor, 2, 3 or 4 (rounded down or up), the same at each step (an
    OME-TIFF's are read from its OME-XML, whatever their sizes; a factor of 1.5 gave three images, a re-check)."""
    step = None
    before = full
    for size in levels:
        found = [f for f in ((step,) if step else (2, 3, 4))
                 if all(n // f == m or -(-n // f) == m for n, m in zip(before, size))]
        if not found:
            return False
        step, before = found[0], size
    return True


def _area_mean(data: np.ndarray, axis: int, n: int) -> np.ndarray:
    """``data`` averaged along ``axis`` into ``n`` cells of equal width, each the mean of what it covers, a pixel
    cut by its edge weighted by the part it covers (a cumulative sum read between pixels); float64; NaN where a
    cell covers a NaN pixel."""
    size = data.shape[axis]
    nan = np.isnan(data) if data.dtype.kind == "f" else None
    values = np.where(nan, 0.0, data) if nan is not None and nan.any() else data
    edges = np.arange(n + 1) * (size / n)

    def covered(arr: np.ndarray) -> np.ndarray:
        total = np.concatenate([np.zeros_like(np.take(arr, [0], axis=axis), dtype=np.float64),
                                np.cumsum(arr, axis=axis, dtype=np.float64)], axis=axis)
        k = np.minimum(np.floor(edges).astype(np.int64), size - 1)
        frac = (edges - k).reshape([-1 if a == axis else 1 for a in range(arr.ndim)])
        low = np.take(total, k, axis=axis)
        at = low + frac * (np.take(total, k + 1, axis=axis) - low)
        return np.diff(at, axis=axis)

    out = covered(values) / (size / n)
    if nan is not None and nan.any():
        out[covered(nan) > 0] = np.nan
    return out


def _reduced(data: np.ndarray, yx: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """``data`` at a pyramid level's ``size`` (height, width): the mean of each block of factor x factor pixels
    where the level's size is the image's divided by a whole factor, rounded down (the rest cut) or up (the edge
    repeated); else (a factor of 1.5: its blocks were half the image's edge, a re-check) the area mean of what
    each level pixel covers (:func:`_area_mean`). Along the axes ``yx``; rounded back to ``data``'s integer kind."""
    y, x = yx
    whole = [max(1, int(round(data.shape[a] / n))) for a, n in ((y, size[0]), (x, size[1]))]
    if any(-(-data.shape[a] // f) != n and data.shape[a] // f != n for a, n, f in ((y, size[0], whole[0]),
                                                                                    (x, size[1], whole[1]))):
        out = _area_mean(_area_mean(data, y, size[0]), x, size[1])
        if data.dtype.kind in "ui":
            return np.clip(np.rint(out), 0, np.iinfo(data.dtype).max).astype(data.dtype)
        return out.astype(data.dtype)
    out = data
    for axis, n in ((y, size[0]), (x, size[1])):
        f = max(1, int(round(out.shape[axis] / n)))
        take = min(out.shape[axis], n * f)
        if out.shape[axis] != n * f:  # (cut, or the edge repeated)
            out = np.take(out, np.minimum(np.arange(n * f), take - 1), axis=axis)
        shape = out.shape[:axis] + (n, f) + out.shape[axis + 1:]
        out = out.reshape(shape).mean(axis=axis + 1, dtype=np.float32 if data.dtype.itemsize < 4 else np.float64)
    if data.dtype.kind in "ui":
        return np.clip(np.rint(out), 0, np.iinfo(data.dtype).max).astype(data.dtype)
    return out.astype(data.dtype)


def _write_levels(tmp: Path, data: np.ndarray, kw: dict, pyramid: dict | None, yx: tuple[int, int]) -> None:
    """``tifffile.imwrite(tmp, data, **kw)``, and with ``pyramid`` (:func:`tiff_pyramid`) its levels after it,
    made from ``data`` (:func:`_reduced`), each in its page's SubIFDs or as reduced pages, as its input stored
    them, with the same photometric, compression, tiles and a resolution scaled to it; an SVS's thumbnail (after the
    full image, in strips, as slide readers expect it) too. A denoised slide was a single image (a whole-slide QA
    pass)."""
    import tifffile

    if not pyramid:
        tifffile.imwrite(tmp, data, **kw)
        return
    opened = {k: kw.pop(k) for k in ("bigtiff", "ome", "imagej", "byteorder", "shaped") if k in kw}
    if opened.get("ome"):  # (an OME-TIFF's levels are its SubIFDs; it holds no SVS thumbnail: its levels and
        pyramid = {**pyramid, "how": "subifds", "thumbnail": None}  # thumbnail were OME images of their own, a
        # re-check)
    scale = sum(h * w for h, w in pyramid["levels"]) / max(1, data.shape[yx[0]] * data.shape[yx[1]])
    opened.setdefault("bigtiff", data.nbytes * (1.05 + scale) > 2**32 - 2**25)
    if pyramid.get("thumbnail") and not opened.get("ome"):  # an SVS: read as one (its thumbnail and levels by
        opened["shaped"] = False  # their places), not as tifffile's shaped series of two images of other sizes
        kw.pop("metadata", None)
    same = {k: v for k, v in kw.items() if k in ("photometric", "planarconfig", "compression", "predictor", "tile",
                                                 "software")}
    full = (data.shape[yx[0]], data.shape[yx[1]])

    def scaled(size: tuple[int, int]) -> dict:
        if "resolution" not in kw:
            return {}
        ry, rx = size[0] / full[0], size[1] / full[1]
        return {"resolution": (kw["resolution"][0] * rx, kw["resolution"][1] * ry),
                "resolutionunit": kw.get("resolutionunit", 2)}

    with tifffile.TiffWriter(tmp, **opened) as tif:
        subifds = len(pyramid["levels"]) if pyramid["how"] == "subifds" else None
        tif.write(data, **kw, **({"subifds": subifds} if subifds else {}))
        if pyramid.get("thumbnail"):  # (an SVS's second page)
            small = _reduced(data, yx, pyramid["thumbnail"])
            tif.write(small, **{k: v for k, v in same.items() if k != "tile"},
                      **scaled(pyramid["thumbnail"]))
        tiles = pyramid.get("tiles") or [None] * len(pyramid["levels"])
        for size, tile in zip(pyramid["levels"], tiles):
            level = _reduced(data, yx, size)
            reduced = 1 if pyramid.get("reduced", True) or pyramid["how"] == "subifds" else 0  # (tifffile's shaped
            own = {"tile": tile} if tile is not None and "tile" in same else {}  # description: no warning)
            tif.write(level, subfiletype=reduced, **{**same, **own}, **scaled(size))


def _page_tile(page: Any) -> tuple[int, int] | None:
    """The tile size (rows, columns) of a TIFF page stored in tiles (multiples of 16, as TIFF asks), else None."""
    if not page.is_tiled or page.tilelength % 16 or page.tilewidth % 16 or int(getattr(page, "tiledepth", 1)) > 1:
        return None
    return int(page.tilelength), int(page.tilewidth)


def _tiff_layout(like: Path, shape: tuple[int, ...], ome: bool = False,
                 index: int | None = None) -> tuple[str, tuple[int, ...], list[int], dict] | None:
    """How to write a stack of ``shape`` in the axes of the TIFF ``like``, as :func:`_tiff_series` flattened
    them: (axes, shape in the flattened order, that order, tifffile keywords: ImageJ hyperstack and its
    calibration where the axes allow it, the pixel size), or None where it does not apply (``like`` is no
    TIFF, holds several series or alpha, or the stack is not its frames). With ``ome`` (the output is named
    .ome.tif) the keywords write an OME-TIFF instead of an ImageJ hyperstack, with the OME metadata of
    :func:`_ome_kept` (from an OME-TIFF ``like``) or the pixel size, z step and time step of an ImageJ one.
    ``index``: that of one series of a TIFF holding several (:func:`_tiff_parts`)."""
    if _FORMATS.get(_suffix(like)) != "TIFF":
        return None
    try:
        import tifffile

        with tifffile.TiffFile(like) as tif:
            main = _main_series(tif)
            if (len(main) != 1) if index is None else not 0 <= index < len(main):
                return None
            series = main[index or 0]
            bands = _tiff_bands(series)
            stored_axes, axes, full = str(series.axes), _series_axes(series), tuple(int(n) for n in series.shape)
            if _alpha_sample(series) and not bands:
                return None
            page = series.keyframe
            turned = _tiff_orientation(series) in (5, 6, 7, 8)  # (its frames were read turned a quarter)
            tiled = _page_tile(page) is not None and not tif.is_imagej  # (see below)
            imagej_file = bool(tif.is_imagej)
            extra: dict = {}
            if bands:  # its bands written back as its samples, interleaved or in planes as they were
                extra.update(photometric="minisblack",
                             planarconfig="contig" if stored_axes.endswith("S") else "separate")
            elif "S" in stored_axes and not stored_axes.endswith("S"):  # RGB in planes: written so again (it was
                extra.update(photometric="rgb", planarconfig="separate")  # written as 3 gray pages: a QA pass)
            if page.resolution and min(page.resolution) > 0 and tuple(page.resolution) != (1.0, 1.0):
                extra["resolution"] = tuple(float(r) for r in page.resolution)
                extra["resolutionunit"] = int(page.resolutionunit)
            elif (mpp := slide_mpp(page.tags.valueof(270))) is not None:  # an Aperio slide's pixel size, in its
                extra.update(resolution=(1e4 / mpp,) * 2, resolutionunit=3)  # description
            calibration = {k: v for k, v in (tif.imagej_metadata or {}).items() if k in _IMAGEJ_KEPT}
            if not calibration and tif.is_shaped and not tif.is_ome:  # (a tiled output's unit, z and time steps, in
                calibration = _shaped_calibration(tif, extra)  # tifffile's description: lost on a second pass)
            ome_kept = _ome_kept(tif.ome_metadata, axes, full, index or 0) if ome and tif.is_ome else {}
            if ome and not tif.is_ome:  # an ImageJ calibration in OME's terms
                ome_kept = _ome_from_imagej(calibration, extra)
            if tif.is_ome:  # (its OME-XML says more than resolution tags, which some writers add beside it)
                extra_ome = _ome_calibration(tif.ome_metadata, index or 0)
                if extra_ome:
                    extra.update(extra_ome.pop("tiff", {}))
                    calibration = {**calibration, **extra_ome}
    except Exception:  # an unreadable input was refused when it was read: here, plain pages
        return None
    try:
        others, y, x, chans = _tiff_axes(axes, full, like)
    except InputError:
        return None
    if turned:  # read upright, turned a quarter (an Orientation tag of 5..8): its rows are the stored columns
        full = tuple(full[x] if i == y else full[y] if i == x else n for i, n in enumerate(full))
        if "resolution" in extra:
            extra["resolution"] = tuple(extra["resolution"][::-1])
        for a, b in (("PhysicalSizeX", "PhysicalSizeY"), ("PhysicalSizeXUnit", "PhysicalSizeYUnit")):
            if a in ome_kept or b in ome_kept:
                ome_kept[a], ome_kept[b] = ome_kept.get(b), ome_kept.get(a)
                ome_kept = {k: v for k, v in ome_kept.items() if v is not None}
    if chans and full[chans[0]] != 3:  # RGBA read as RGB: not its frames
        return None
    if len(others) == 1 and axes[others[0]] in "QI" and full[others[0]] > 1:
        return None  # plain pages: nothing to restore (one page of a shape's first axis: its length 1 kept)
    if not others and not (extra or calibration or ome_kept):
        return None  # one image with no pixel size: nothing to keep
    flat = (int(np.prod([full[i] for i in others], dtype=np.int64)), full[y], full[x], *(full[i] for i in chans))
    if (tuple(shape) != flat or not others) and not (flat[0] == 1 and tuple(shape) == flat[1:]):
        return None  # not its frames (one image: that image, as (H,W[,3]))
    if bands:  # (neither OME nor ImageJ holds bands as samples: tifffile's own description)
        extra["metadata"] = {"axes": stored_axes}
    elif ome:  # an OME-TIFF, with what its input said of its pixels and channels
        extra.update(ome=True, metadata={"axes": axes, **ome_kept})
    elif _imagej_order(axes) and not tiled and (others or imagej_file):  # a hyperstack that Fiji opens as such (a
        extra.update(imagej=True, metadata={"axes": axes, **calibration})  # TIFF in tiles, a slide's, a GeoTIFF's,
        # is written in tiles again with its pixel size as TIFF tags: ImageJ's hold no tiles, and a slide came back
        # in strips, a QA pass; a single image that was no ImageJ file keeps its own description and resolution
        # tags: an Aperio description was lost to ImageJ's, a re-check)
    else:
        extra["metadata"] = {"axes": axes, **_calibration_in_tags(calibration, extra)}
    order = [*others, y, x, *chans]
    return axes, tuple(full[i] for i in order), order, extra


#: GeoTIFF's tags (georeferencing: pixel scale, tie points, transformation, geokeys and their parameters) and
#: GDAL's (its metadata: band names, scale and offset; its nodata value): kept in a TIFF output of the same size
_GEOTIFF_TAGS = (33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113)


def _geotiff_tags(page: Any) -> list[tuple]:
    """A TIFF page's GeoTIFF and GDAL tags as tifffile's ``extratags`` (code, type, count, value, write once); text
    as its bytes (GDAL writes UTF-8 there, a band's unit in µm, and a trailing line break, which tifffile's reading
    drops)."""
    kept = []
    for code in _GEOTIFF_TAGS:
        tag = page.tags.get(code)
        if tag is None:
            continue
        value = tag.value
        dtype = int(tag.dtype)
        if dtype == 2:  # ASCII: its bytes as stored, up to its first NUL (tifffile ends it with one)
            try:
                fh = page.parent.filehandle
                fh.seek(tag.valueoffset)
                raw = fh.read(int(tag.count)).split(b"\x00")[0]
            except Exception:
                raw = (value if isinstance(value, str) else bytes(value).decode("latin-1")).encode("utf-8")
            kept.append((code, 2, len(raw) + 1, raw + b"\x00", True))
        else:
            values = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else (value,)
            kept.append((code, dtype, len(values), values, True))
    return kept


def geotiff_like(like: str | os.PathLike | None, shape: Sequence[int]) -> list[tuple]:
    """The GeoTIFF and GDAL tags (:func:`_geotiff_tags`) of the TIFF ``like`` for an output of ``shape`` (an image
    or stack): where its images are that output's size (its georeferencing then holds for the output); else []."""
    if like is None or _FORMATS.get(_suffix(Path(like))) != "TIFF":
        return []
    try:
        with _quiet_tifffile(), _open_tiff(Path(like)) as tif:
            main = _main_series(tif)
            page = main[0].keyframe
            if not any(page.tags.get(code) is not None for code in _GEOTIFF_TAGS):
                return []
            _, y, x, _ = _tiff_axes(_series_axes(main[0]), tuple(int(n) for n in main[0].shape), Path(like))
            size = (int(main[0].shape[y]), int(main[0].shape[x]))
            if _tiff_orientation(main[0]) in (5, 6, 7, 8):
                size = size[::-1]
            shape = tuple(int(n) for n in shape)  # (its rows and columns: last, before its samples, or first)
            return _geotiff_tags(page) if size in (shape[-2:], shape[-3:-1], shape[:2]) else []
    except Exception:
        return []


def _shaped_calibration(tif: Any, extra: dict) -> dict:
    """The unit, z step and time step that :func:`_calibration_in_tags` wrote in tifffile's description, as
    ImageJ's calibration, with ``extra``'s resolution per centimetre turned back into per unit, as ImageJ's is."""
    try:
        shaped = tif.shaped_metadata[0] if tif.shaped_metadata else {}
    except Exception:
        return {}
    found = {k: shaped[k] for k in ("unit", "spacing", "finterval") if isinstance(shaped.get(k), (str, int, float))}
    unit = str(found.get("unit", ""))
    unit = _OME_LENGTH.get(unit, _OME_LENGTH.get(unit.lower(), unit))
    if unit not in _LENGTHS or extra.get("resolutionunit") != 3 or "resolution" not in extra:
        return {k: v for k, v in found.items() if k == "finterval"}  # (a length without its pixel size: not kept)
    per_cm = 1e4 / _LENGTHS[unit]
    extra.update(resolution=tuple(r / per_cm for r in extra["resolution"]), resolutionunit=1)
    return found


def _calibration_in_tags(calibration: dict, extra: dict) -> dict:
    """An ImageJ or OME calibration written without ImageJ's description (a TIFF in tiles): its pixel size in a
    length unit as resolution per centimetre in ``extra`` (it was per no unit, which says no size: a re-check),
    and its unit, z step and time step as returned, for tifffile's description of the output."""
    unit = str(calibration.get("unit", ""))
    unit = _OME_LENGTH.get(unit, _OME_LENGTH.get(unit.lower(), unit))
    if unit in _LENGTHS and "resolution" in extra and extra.get("resolutionunit", 1) == 1:
        per_cm = 1e4 / _LENGTHS[unit]
        extra.update(resolution=tuple(r * per_cm for r in extra["resolution"]), resolutionunit=3)
    return {k: calibration[k] for k in ("unit", "spacing", "finterval") if k in calibration}


def _tiff_kwargs(axes: str, extra: dict, tags: dict) -> dict:
    """tifffile's keywords for a layout's ``extra`` and a writer's ``tags``: the photometric interpretation (RGB
    for samples of colour, else gray, unless ``extra`` names it) and both their extra tags."""
    kw = {"photometric": "rgb" if axes.endswith("S") else "minisblack", **extra, **tags}
    if "extratags" in extra and "extratags" in tags:
        kw["extratags"] = [*extra["extratags"], *tags["extratags"]]
    return kw


def _tiff_parts(like: Path, shape: tuple[int, ...], ome: bool = False
                ) -> list[tuple[int, tuple[str, tuple[int, ...], list[int], dict]]] | None:
    """How to write a stack of ``shape`` holding the frames of a TIFF ``like`` of several series (the positions of
    an OME-TIFF, say) back as its series: for each, (its frame count, its layout as :func:`_tiff_layout` gives
    it, without ImageJ's hyperstack, which holds one series); None where ``like`` holds one series or the stack
    is not its frames. Each series keeps its name (OME) and its axes and calibration where
    :func:`_tiff_layout` finds them; else its frames are z-slices."""
    series = tiff_series(like)
    if not series or len(shape) < 3 or sum(n for _, n in series) != shape[0]:
        return None
    firsts = [] if ome else _series_first_pages(like)  # (each series' dpi and profile: they were lost, a re-check)
    onebit = {index for index, _, bits, *_ in _pages_of(like) if bits} if firsts else set()
    parts = []
    tiles = _series_tiles(like)
    for i, (name, n) in enumerate(series):
        part = (n,) + tuple(shape[1:])
        layout = _tiff_layout(like, part[1:] if n == 1 else part, ome, index=i)  # (a series of one image: its
        # calibration was lost, a whole-slide re-check)
        if layout is not None and n == 1 and len(layout[2]) == len(shape) - 1:  # (its one frame first: a z-slice)
            axes, full, order, extra = layout
            if "axes" in extra.get("metadata", {}):
                extra = {**extra, "metadata": {**extra["metadata"], "axes": "Z" + extra["metadata"]["axes"]}}
            layout = ("Z" + axes, (1, *full), [0, *(k + 1 for k in order)], extra)
        if layout is None:  # (plain pages, or no calibration to keep)
            axes = "ZYX" + "S" * (len(shape) == 4)
            layout = (axes, part, list(range(len(shape))), {"metadata": {"axes": axes}})
        axes, full, order, extra = layout
        extra = {k: v for k, v in extra.items() if k not in ("imagej", "ome")}
        if len(firsts) == len(series):  # (the photo tags of its first page: where its layout has none of its own)
            photo = _photo_tags(photo_metadata(like, 3 if axes.endswith("S") else 1, page=firsts[i]), layout)
            extra = {**photo, **extra, "extratags": [*photo.get("extratags", []), *extra.get("extratags", [])]}
            if not extra["extratags"]:
                del extra["extratags"]
            if firsts[i] in onebit:  # (its result in black and white: 1-bit again, as a single page's; see
                extra["_bilevel"] = True  # _write_parts)
        metadata = dict(extra.get("metadata", {})) if ome else {"axes": axes}
        if ome:
            metadata.setdefault("Name", name)
        if len(tiles) == len(series) and tiles[i] is not None:  # (in tiles as it was: see _write_parts)
            extra["_tile"] = tiles[i]
        parts.append((n, (axes, full, order, {**extra, "metadata": metadata})))
    return parts


def _series_tiles(like: Path) -> list[tuple[int, int] | None]:
    """Each main series' tile size (:func:`_page_tile` of its first page), ``[]`` where the file cannot say."""
    try:
        with _quiet_tifffile(), _open_tiff(Path(like)) as tif:
            return [_page_tile(s.keyframe) for s in _main_series(tif)]
    except Exception:
        return []


def _own_page_tags(like: str | os.PathLike, shape: Sequence[int], strip_exif: bool = False) -> list[dict] | None:
    """Each page's photo tags (:func:`_photo_tags`: resolution, profile) for a stack of ``shape`` written like the
    plain pages of the TIFF ``like``, where they differ from page to page (scans at 300 and 200 dpi in one file);
    None where they do not (all pages take the first page's), or where the stack is not its pages."""
    found = _pages_of(like, looks=True) if _FORMATS.get(_suffix(Path(like))) == "TIFF" else []
    if len(shape) < 3 or len(found) != shape[0] or len(found) < 2 or all(f[3] == found[0][3] for f in found):
        return None  # (read page by page only where they differ: a stack of thousands of frames took seconds)
    rgb = len(shape) == 4 and shape[-1] == 3
    own = []
    for index, *_ in found:
        meta = photo_metadata(Path(like), 3 if rgb else 1, page=index)
        if strip_exif:
            meta = {k: v for k, v in meta.items() if k not in ("exif", "xmp", "described")}
        own.append(_photo_tags(meta))
    return None if all(tags == own[0] for tags in own) else own


def _black_and_white(data: np.ndarray) -> bool:
    """Whether 8-bit ``data`` holds 0 and 255 alone: a 1-bit input's result that a TIFF stores 1-bit again."""
    return data.dtype == np.uint8 and not np.any((data != 0) & (data != 255))


def _write_own_pages(tmp: Path, frames: Iterable[np.ndarray], tags: dict, own: list[dict] | None, rgb: bool,
                     size: int, bilevel: bool = False) -> None:
    """Write ``frames`` to the TIFF ``tmp`` as plain pages, one at a time, each with ``tags`` and its own photo tags
    (``own``, in place of those in ``tags``; None: those in ``tags``), and with ``bilevel`` (a 1-bit input's) 1-bit
    where it holds black and white alone; ``size``: the bytes of their samples (a BigTIFF beyond 4 GB, as tifffile
    decides)."""
    import tifffile

    photo = ("iccprofile", "resolution", "resolutionunit")
    common = {k: v for k, v in tags.items() if own is None or k not in photo}
    with tifffile.TiffWriter(tmp, bigtiff=size > 2**32 - 2**25) as tif:
        for n, frame in enumerate(frames):
            kw = {**common, **{k: v for k, v in (own[n] if own else {}).items() if k != "extratags"}}
            if n:  # (the descriptive tags and what made it: on the first page, as tifffile writes them once)
                kw.pop("extratags", None)
            if bilevel and not rgb and _black_and_white(frame):
                frame = frame == 255
                kw.pop("predictor", None)
            tif.write(frame, photometric="rgb" if rgb else "minisblack", metadata=None, **kw)


def _series_first_pages(like: Path) -> list[int]:
    """The index (among the file's pages) of each main series' first page, or ``[]`` where the headers cannot be
    read."""
    try:
        with _quiet_tifffile(), _open_tiff(like) as tif:
            return [int(next(page for page in s.pages if page is not None).index) for s in _main_series(tif)]
    except Exception:
        return []


def _ome_calibration(xml: str | None, index: int = 0) -> dict:
    """An OME-TIFF's pixel size as ImageJ keeps it: {"tiff": {resolution, resolutionunit}, "unit", "spacing" (the
    z step in the unit of x), "finterval" (the time step in seconds)}; what the OME-XML gives of them (empty where
    it gives none or cannot be read), of its image ``index``. OME's default unit is the micrometre, and the second."""
    import xml.etree.ElementTree as ET

    try:
        pixels = [e for e in ET.fromstring(xml or "").iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"][index]
    except (ET.ParseError, IndexError):
        return {}

    def number(key: str) -> float | None:
        try:
            value = float(pixels.attrib[key])
        except (KeyError, ValueError):
            return None
        return value if np.isfinite(value) and value > 0 else None

    out: dict = {}
    sx, sy = number("PhysicalSizeX"), number("PhysicalSizeY")
    unit = pixels.attrib.get("PhysicalSizeXUnit", "µm")
    if sx is not None and unit in _LENGTHS:
        sy = sy * _LENGTHS.get(pixels.attrib.get("PhysicalSizeYUnit", "µm"), np.nan) / _LENGTHS[unit] if sy else sx
        sy = sy if np.isfinite(sy) else sx
        out.update(tiff={"resolution": (1.0 / sx, 1.0 / sy), "resolutionunit": 1},
                   unit=_IMAGEJ_LENGTH.get(unit, unit))
        sz, zunit = number("PhysicalSizeZ"), pixels.attrib.get("PhysicalSizeZUnit", "µm")
        if sz is not None and zunit in _LENGTHS:  # in the unit of x, which ImageJ gives all three
            out["spacing"] = sz * _LENGTHS[zunit] / _LENGTHS[unit]
    dt, tunit = number("TimeIncrement"), pixels.attrib.get("TimeIncrementUnit", "s")
    if dt is not None and tunit in _TIMES:
        out["finterval"] = dt * _TIMES[tunit]
    return out


#: OME-XML attributes of an input's Pixels and Channel elements that an OME-TIFF output keeps (tifffile's)
_OME_PIXELS = ("PhysicalSizeX", "PhysicalSizeXUnit", "PhysicalSizeY", "PhysicalSizeYUnit", "PhysicalSizeZ",
               "PhysicalSizeZUnit", "TimeIncrement", "TimeIncrementUnit")
_OME_CHANNEL = ("Name", "AcquisitionMode", "Color", "ContrastMethod", "EmissionWavelength", "EmissionWavelengthUnit",
                "ExcitationWavelength", "ExcitationWavelengthUnit", "Fluor", "IlluminationType", "NDFilter",
                "PinholeSize", "PinholeSizeUnit", "PockelCellSetting")


def _ome_kept(xml: str | None, axes: str, shape: tuple[int, ...], index: int = 0) -> dict:
    """What an OME-TIFF output keeps of its input's OME-XML (image ``index``), as tifffile's metadata: the image's
    name and description, the pixel size and time step with their units, and each channel's attributes
    (name, colour, wavelengths, fluorophore, ...; those all channels give, where the channels are the
    series' C axis). Empty where the XML cannot be read."""
    import xml.etree.ElementTree as ET

    def tag(e) -> str:
        return e.tag.rsplit("}", 1)[-1]

    try:
        image = [e for e in ET.fromstring(xml or "").iter() if tag(e) == "Image"][index]
        pixels = next(e for e in image if tag(e) == "Pixels")
    except (ET.ParseError, IndexError, StopIteration):
        return {}
    kept: dict = {k: pixels.attrib[k] for k in _OME_PIXELS if k in pixels.attrib}
    if image.attrib.get("Name"):
        kept["Name"] = image.attrib["Name"]
    description = next((e.text for e in image if tag(e) == "Description" and e.text), None)
    if description:
        kept["Description"] = description
    channels = [e for e in pixels if tag(e) == "Channel"]
    count = shape[axes.index("C")] if "C" in axes else 1
    if channels and len(channels) == count:
        names = {k: [c.attrib[k] for c in channels] for k in _OME_CHANNEL if all(k in c.attrib for c in channels)}
        if names:
            kept["Channel"] = names
    return kept


def slide_mpp(text: Any) -> float | None:
    """The microns per pixel an Aperio slide's ImageDescription gives (``|MPP = 0.2520|``), or None."""
    text = text.split("\x00", 1)[0] if isinstance(text, str) else None  # (as C readers stop there: a re-check)
    found = re.search(r"\|\s*MPP\s*=\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:\||$)", text) \
        if text is not None else None
    mpp = float(found.group(1)) if found else 0.0
    return mpp if 0 < mpp < 1e4 else None


def _ome_from_imagej(calibration: dict, extra: dict) -> dict:
    """An ImageJ TIFF's pixel size (its resolution, in its unit: any length OME names), z step and time step
    as OME metadata."""
    kept: dict = {}
    unit = str(calibration.get("unit", ""))
    unit = _OME_LENGTH.get(unit, _OME_LENGTH.get(unit.lower(), unit))
    scale = 1.0
    if unit not in _LENGTHS and extra.get("resolutionunit") in (2, 3):  # a plain TIFF's, per inch or centimetre
        unit, scale = "µm", 25400.0 if extra["resolutionunit"] == 2 else 10000.0  # (a slide's was lost, a QA pass)
    if unit in _LENGTHS and "resolution" in extra:
        rx, ry = extra["resolution"]
        kept.update(PhysicalSizeX=scale / rx, PhysicalSizeY=scale / ry, PhysicalSizeXUnit=unit,
                    PhysicalSizeYUnit=unit)
        if "spacing" in calibration:
            kept.update(PhysicalSizeZ=float(calibration["spacing"]), PhysicalSizeZUnit=unit)
    if calibration.get("finterval"):
        kept.update(TimeIncrement=float(calibration["finterval"]), TimeIncrementUnit="s")
    return kept


def _planes_as_colour_note(tif, series, p: Path) -> None:
    """Warn where tifffile stored an (N, H, W) array of 3 or 4 planes as one RGB(A) image with separate colour
    planes, as it does unless told otherwise (a deprecated default of its own): read as one colour image, the
    4th plane as alpha, where a numpy or CAREamics user meant frames (trained as one RGB image: a QA pass)."""
    axes, shape = str(series.axes), tuple(series.shape)
    if not (getattr(tif, "is_shaped", False) and axes == "SYX" and shape[0] in (3, 4)) or _tiff_bands(series):
        return  # (its default's layout, not gray samples: bands)
    n = shape[0]
    warn_outside(UserWarning(
        f"{p}: its {n} planes are stored as the colour samples of one RGB{'A' if n == 4 else ''} image (tifffile "
        f"writes a ({n}, H, W) array so unless told photometric='minisblack'), and are read as one colour "
        f"image{', the 4th plane as its alpha' if n == 4 else ''}; if they are frames, write them with "
        f"tifffile.imwrite(path, array, photometric='minisblack')"))


def _band_alpha_note(series: Any, p: Path) -> None:
    """Warn where a multispectral TIFF's bands (:func:`_tiff_bands`) end in an alpha sample (ExtraSamples 2, as GDAL
    writes a mask band): it is read, denoised and written back as one more band, without its alpha marker."""
    try:
        extra = tuple(int(e) for e in (series.keyframe.extrasamples or ()))
    except Exception:
        return
    if _tiff_bands(series) and 2 in extra:
        warn_outside(UserWarning(
            f"{p}: its last sample is marked as alpha (a mask band); noise2x reads it as one more band: it is "
            f"denoised with the others and written back as a band, without its alpha marker"))


def _alpha_sample(series) -> int:
    """The TIFF ExtraSamples code of a series' last sample where it is alpha: 2 (unassociated), 1 (associated,
    premultiplied: its colours are read divided by it, :func:`_tiff_series`); else 0."""
    try:
        extra = tuple(int(e) for e in (series.keyframe.extrasamples or ()))
    except Exception:  # a series without a readable first page: treated as having no alpha
        return 0
    return extra[0] if len(extra) == 1 and extra[0] in (1, 2) else 0


def _extra_sample_notes(series: Any, p: Path) -> None:
    """Warn where a TIFF's alpha is premultiplied (read as shown, written back unassociated) or where an RGB
    image's fourth sample, of unspecified meaning, is left out."""
    try:
        page = series.keyframe
        extra = tuple(int(e) for e in (page.extrasamples or ()))
        samples = int(getattr(page, "samplesperpixel", 1) or 1)
        kind = int(getattr(page, "photometric", 1) or 0)
    except Exception:
        return
    if _alpha_sample(series) == 1 and not _tiff_bands(series):
        warn_outside(UserWarning(
            f"{p}: its alpha is associated (premultiplied): its colours are read divided by it, as shown, and an "
            f"output keeping alpha holds them with unassociated (straight) alpha"))
    elif kind == 2 and samples == 4 and extra == (0,):
        warn_outside(UserWarning(
            f"{p}: its fourth sample is an extra sample of unspecified meaning (not marked as alpha): it is left "
            f"out, and an output holds the RGB samples only"))


def _tiff_axes(axes: str, shape: tuple[int, ...], p: Path) -> tuple[list[int], int, int, list[int]]:
    """A TIFF series' axes split as a stack flattens them: (the frame axes, Y, X, the sample axis or none).

    Samples of a pixel (S: RGB, RGBA) make a colour image; channels stored as planes (C: an ImageJ
    hyperstack's or an OME-TIFF's fluorescence channels, any number of them) are frame axes, as T and Z are.
    InputError for a layout that is none of these.
    """
    if 0 in shape:  # (tifffile names an empty (0, H, W) array's axes XQQ: its layout was said unsupported)
        raise InputError(f"{p} holds no image data: its TIFF series has shape {tuple(shape)}")
    if len(axes) != len(shape) or "Y" not in axes or "X" not in axes:
        raise InputError(f"{p} has an unsupported TIFF layout (axes {axes!r}, shape {tuple(shape)})")
    chans = [i for i, a in enumerate(axes) if a == "S" and shape[i] > 1]
    if len(chans) > 1:
        raise InputError(f"{p} has several sample axes (axes {axes!r}, shape {tuple(shape)}); expected gray or RGB")
    y, x = axes.index("Y"), axes.index("X")
    return [i for i in range(len(axes)) if i not in (y, x, *chans)], y, x, chans


def _imagej_order(axes: str) -> bool:
    """Whether ``axes`` follow ImageJ's order (TZCYXS), so that an ImageJ hyperstack can hold them."""
    it = iter("TZCYXS")
    return all(a in it for a in axes)


#: TIFF PhotometricInterpretation values: the ones read as displayed
_MINISWHITE, _PALETTE, _SEPARATED, _LABS = 0, 3, 5, (8, 9, 10)


def _photometric_check(page: Any, p: Path) -> int:
    """A TIFF page's PhotometricInterpretation, refused where noise2x cannot show its colours (CIELab; CMYK of
    other than four inks; a float image of MinIsWhite)."""
    kind = int(getattr(page, "photometric", 1) or 0)
    if kind in _LABS:
        raise InputError(f"{p} stores CIELab colour; noise2x reads gray, RGB, palette and CMYK TIFFs: convert it "
                         f"to RGB first")
    samples = int(getattr(page, "samplesperpixel", 1) or 1)
    if kind == _SEPARATED and samples != 4:
        extra = len(getattr(page, "extrasamples", None) or ())  # (CMYK and alpha was said to be 5 inks: a QA pass)
        what = (f"{samples - extra} inks and {extra} extra sample{'s' if extra > 1 else ''} (alpha or other data)"
                if extra else f"{samples} inks")
        raise InputError(f"{p} stores {what}; noise2x reads CMYK of 4 inks and no other sample: convert it to RGB "
                         f"first")
    if kind == _MINISWHITE and np.dtype(page.dtype).kind == "f":
        raise InputError(f"{p} stores float values with white at 0 (MinIsWhite); convert it first")
    if kind == _SEPARATED and page.tags.get(34675) is not None:
        _cmyk_profile_note(p)
    return kind


def _cmyk_profile_note(p: Path) -> None:
    """Warn that a CMYK file's colour profile is not applied (its inks read by the plain formula; the profile,
    which describes inks, not the RGB read, is not written either: :func:`photo_metadata`)."""
    warn_outside(UserWarning(
        f"{p}: its CMYK colour profile is not applied: the inks are read as RGB (1 - C)(1 - K), as Pillow converts "
        f"them, not as the profile shows them, and the output holds no profile; for exact colours convert it to RGB "
        f"with a colour-managed tool first"))


def _as_displayed(arr: np.ndarray, page: Any, kind: int) -> np.ndarray:
    """A TIFF's samples as shown (gray or RGB, black at 0): MinIsWhite inverted (a scan or export of it came
    back as a negative), a palette's indices as its colours (they were read as gray levels 0..N), CMYK as RGB
    (its inks were read as red, green and blue): ``R = top (1 - C/top)(1 - K/top)``, as Pillow converts a
    CMYK JPEG. ``arr`` holds the samples last; a palette's come back with 3 more (or as gray where its colours
    are)."""
    if kind == _MINISWHITE:
        if arr.dtype == np.bool_:
            return ~arr
        top = (1 << int(page.bitspersample)) - 1 if arr.dtype.kind in "ui" else np.iinfo(arr.dtype).max
        return (top - arr.astype(np.int64)).astype(arr.dtype)
    if kind == _PALETTE and getattr(page, "colormap", None) is not None:
        cmap = np.asarray(page.colormap)  # (3, 2**bits) in 0..65535
        rgb = np.moveaxis(cmap[:, np.asarray(arr, dtype=np.intp)], 0, -1)
        rgb = (rgb >> 8).astype(np.uint8) if int(cmap.max()) > 255 else rgb.astype(np.uint8)
        return rgb[..., 0] if gray_as_rgb(rgb) \
            else rgb
    if kind == _SEPARATED and arr.shape[-1] == 4:
        top = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0
        ink = arr.astype(np.float64) / top
        rgb = top * (1.0 - ink[..., :3]) * (1.0 - ink[..., 3:])
        return np.round(rgb).astype(arr.dtype) if arr.dtype.kind in "ui" else rgb.astype(arr.dtype)
    return arr


def _tiff_series(arr: np.ndarray, axes: str, p: Path,
                 has_alpha: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype.kind not in "uif":
        raise InputError(f"{p} holds {arr.dtype} samples; expected real numbers (integer or float)")
    others, y, x, chans = _tiff_axes(axes, arr.shape, p)
    arr = np.transpose(arr, [*others, y, x, *chans])
    n = int(np.prod([arr.shape[i] for i in range(len(others))], dtype=np.int64))
    arr = arr.reshape((n, *arr.shape[len(others):]))
    alpha = None
    if arr.ndim == 4:
        c = arr.shape[3]
        if has_alpha and c in (2, 4):  # gray or RGB, then an alpha sample (``has_alpha``: its ExtraSamples code)
            arr, alpha = arr[..., : c - 1], arr[..., c - 1]
            if has_alpha == 1:  # associated (premultiplied): the colours as shown, divided by it where it is above 0
                top = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0
                share = alpha.astype(np.float64)[..., None] / top
                straight = np.divide(arr, share, out=np.zeros(arr.shape), where=share > 0)
                arr = (np.round(np.clip(straight, 0, top)).astype(arr.dtype) if arr.dtype.kind in "ui"
                       else straight.astype(arr.dtype))
            arr = arr[..., 0] if c == 2 else arr
        elif c == 4:
            arr = arr[..., :3]
        elif c != 3:
            raise InputError(f"{p} has {c} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")
    return arr, alpha


# --------------------------------------------------------------------------- FITS


def _astropy_fits():
    try:
        from astropy.io import fits
    except ImportError:
        raise MissingDependency('FITS files need astropy: pip install "noise2x[fits]" (or astropy)') from None
    return fits


def _pillow_heif(p: Path) -> None:
    """Let Pillow open and save HEIF (.heic/.heif: iPhone photos) where ``p`` is one: pillow-heif, the extra
    ``noise2x[heif]``; a Noise2xError where it is not installed."""
    if _FORMATS.get(_suffix(p)) != "HEIF":
        return
    try:
        import pillow_heif
    except ImportError:
        raise MissingDependency('HEIF files (.heic, .heif) need pillow-heif: pip install "noise2x[heif]" '
                           "(or pillow-heif)") from None
    pillow_heif.register_heif_opener()


def _heif_high_bits(p: Path) -> bool:
    """Whether ``p`` is a HEIF file of more than 8 bits per sample (10 or 12: cameras' HIF, HDR photos), which
    Pillow's opener reduces to 8 bits; found from the file's header (nothing is decoded)."""
    if _FORMATS.get(_suffix(p)) != "HEIF":
        return False
    _pillow_heif(p)
    import pillow_heif

    return int(pillow_heif.open_heif(p, convert_hdr_to_8bit=False).info.get("bit_depth") or 8) > 8


def _samples16(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A decoded high-depth photo (H,W[,C]) in 16-bit units as (image, alpha or None): alpha (a last 2nd or 4th
    sample) apart, and a gray image (every colour sample equal) gray."""
    alpha = None
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):
        arr, alpha = arr[..., :-1], np.ascontiguousarray(arr[..., -1])
    if arr.ndim == 3 and (arr.shape[-1] == 1 or (arr[..., :1] == arr).all()):  # a gray image stays gray
        arr = arr[..., 0]
    return np.ascontiguousarray(arr, dtype=np.uint16), alpha


def _read_heif16(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """A HEIF file of 10 or 12 bits per sample at its full depth: (image, alpha or None), uint16 in 16-bit units
    (libheif's samples shifted up to 16 bits, as pillow-heif gives them: a 10-bit 1023 reads 65472), upright
    (libheif applies the file's rotation and mirroring, as for 8-bit files)."""
    import pillow_heif

    arr = np.asarray(pillow_heif.open_heif(p, convert_hdr_to_8bit=False))
    return _samples16(arr)


def _avif_bits(p: Path) -> int:
    """Bits per sample of an AVIF file (its 'pixi' properties: the most of any image in it), 8 where it names
    none; read from the box structure of the file's header (nothing is decoded). Pillow decodes a 10- or 12-bit
    AVIF (HDR photos) to 8 bits."""
    if _FORMATS.get(_suffix(p)) != "AVIF":
        return 8
    with open(p, "rb") as f:
        head = f.read(1 << 20)  # ('meta', with the properties, comes before the coded data in AVIF files)

    def boxes(start: int, end: int):
        while start + 8 <= end:
            size, kind = int.from_bytes(head[start:start + 4], "big"), head[start + 4:start + 8]
            body = start + 8
            if size == 1 and start + 16 <= end:  # a 64-bit size
                size, body = int.from_bytes(head[start + 8:start + 16], "big"), start + 16
            elif size == 0:  # to the end of the file
                size = end - start
            if size < body - start:
                return
            yield kind, body, min(start + size, end)
            start += size

    def find(path: list[bytes], start: int, end: int):  # the (body, end) of each box at ``path`` below
        for kind, body, stop in boxes(start, end):
            if kind == path[0]:
                body += 4 if kind == b"meta" else 0  # (meta is a full box: 4 bytes of version and flags first)
                yield from [(body, stop)] if len(path) == 1 else find(path[1:], body, stop)

    bits = [8]
    for body, end in find([b"meta", b"iprp", b"ipco", b"pixi"], 0, len(head)):
        if body + 5 <= end:  # pixi: version and flags, the channel count, then each channel's bits
            bits += list(head[body + 5:min(body + 5 + head[body + 4], end)])
    return max(bits)


# Pillow's exif_transpose for each EXIF orientation, on an (H,W[,C]) array
_ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}


def _upright(arr: np.ndarray, orientation: int) -> np.ndarray:
    """An (H,W[,C]) array turned upright for an EXIF/TIFF ``orientation`` (as Pillow's exif_transpose turns an
    image), contiguous; as it is for 1 or an unknown value."""
    return np.ascontiguousarray(_ORIENT[orientation](arr)) if orientation in _ORIENT else arr


def _read_avif16(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """An AVIF file of 10 or 12 bits per sample at its full depth (libavif through imagecodecs): (image, alpha or
    None), uint16 in 16-bit units (samples shifted up to 16 bits, as HEIF's: a 10-bit 1023 reads 65472),
    turned upright as Pillow turns the 8-bit ones (the file's rotation and mirror, which Pillow reads as an
    EXIF orientation)."""
    import imagecodecs

    bits = _avif_bits(p)
    arr = np.asarray(imagecodecs.avif_decode(p.read_bytes()))
    if arr.dtype != np.uint16:  # (decoded at 8 bits after all)
        arr = arr.astype(np.uint16) << 8
    elif bits < 16:
        arr = arr << (16 - bits)
    with _pillow_open(p) as im:
        orientation = im.getexif().get(0x0112, 1)
    arr = _upright(arr, orientation)
    return _samples16(arr)


def _write_heif16(tmp: Path, data: np.ndarray, meta: dict) -> None:
    """Write uint16 (H,W) or (H,W,3) as a 10-bit HEIF (pillow-heif keeps a 16-bit sample's top 10 bits), at the
    quality and full-resolution colour of the 8-bit writer, with the photo's colour profile, EXIF and XMP."""
    import pillow_heif

    heif = pillow_heif.from_bytes(mode="RGB;16" if data.ndim == 3 else "L;16", size=(data.shape[1], data.shape[0]),
                                  data=np.ascontiguousarray(data, dtype=np.uint16).tobytes())
    keep = {"icc_profile": meta.get("icc"), "exif": meta.get("exif"), "xmp": meta.get("xmp")}
    heif.save(tmp, format="HEIF", quality=90, chroma=444, **{k: v for k, v in keep.items() if v is not None})


def _fits_image_hdu(hdus, p: Path):
    """The first HDU holding an image (2-D or more), as astronomy software reads it; found from the headers
    alone (its data is not decoded here)."""
    for hdu in hdus:
        naxis = hdu.header.get("NAXIS", 0) if getattr(hdu, "is_image", False) else 0
        if naxis >= 2 and all(hdu.header.get(f"NAXIS{i}", 0) > 0 for i in range(1, naxis + 1)):
            return hdu
    raise InputError(f"cannot read image file {p}: the FITS file holds no image (2-D or more) HDU")


def _from_fits_image(p: Path, take):
    """``take(hdu)`` of the first image HDU of ``p``, inside the open file; any failure as one InputError."""
    fits = _astropy_fits()
    with _warnings_of("astropy") as said:  # astropy's own lines (e.g. truncation): in our error
        try:
            with fits.open(p, memmap=False) as hdus:
                return take(_fits_image_hdu(hdus, p))
        except Noise2xError:
            raise
        except Exception as exc:
            raise _unreadable(p, said[0].message if said else exc) from None


def _fits_header(p: Path):
    """A copy of the header of the first image HDU, without decoding its data."""
    return _from_fits_image(p, lambda hdu: hdu.header.copy())


def _fits_context(p: Path) -> tuple[Any, list[str]]:
    """Where the first image HDU of ``p`` is an extension: a copy of the primary header (an observatory's file
    keeps its telescope, instrument and target there), else None; and the other HDUs that hold data (names, or
    numbers where unnamed), which an output holding the one image leaves out. Headers only."""
    fits = _astropy_fits()
    try:
        with fits.open(p, memmap=False) as hdus:
            image = _fits_image_hdu(hdus, p)
            at = next(i for i, hdu in enumerate(hdus) if hdu is image)
            primary = hdus[0].header.copy() if at > 0 else None
            others = [hdu.name or f"HDU {i}" for i, hdu in enumerate(hdus)
                      if i != at and int(hdu.header.get("NAXIS", 0)) > 0]
    except Exception:  # (read already: what cannot be said here is left out of the output as before)
        return None, []
    return primary, others


def _read_fits(p: Path):
    """(N,H,W) stack of the first image HDU (a cube's planes, further axes flattened into N), and its header."""
    # (the data scaled by BSCALE/BZERO: 16-bit with BZERO 32768 reads as uint16)
    data, header = _from_fits_image(p, lambda hdu: (np.array(hdu.data), hdu.header.copy()))
    data = _fits_values(data, header, p)
    return data.reshape((-1, *data.shape[-2:])), header


def _check_fits_blanks(data: np.ndarray, name: str, header: Any, blanks: bool) -> None:
    """An InputError that names an integer image's BLANK value, where its pixels of that value (read as NaN)
    were not asked for as blank pixels: the file holds integers, not the NaN the general message would name."""
    blank = header.get("BLANK")
    if blanks or blank is None or int(header.get("BITPIX", 0)) < 0 or data.dtype.kind != "f":
        return
    n = int(np.count_nonzero(np.isnan(data)))
    if n:
        raise InputError(f"{name} has {n} pixel{'s' if n != 1 else ''} (of {data.size}) of its BLANK value {blank}, "
                         "which marks pixels with no data: give --blanks (blanks=True in Python) to keep them "
                         "blank")


def _fits_values(data: np.ndarray, header: Any, p: Path) -> np.ndarray:
    """FITS data (the whole image or one plane, as astropy scaled it) in native byte order, BLANK values NaN;
    an InputError for samples that are not real numbers."""
    if data.dtype.kind not in "uif":
        raise InputError(f"{p} holds {data.dtype} samples; expected real numbers (integer or float)")
    data = data.astype(data.dtype.newbyteorder("="), copy=False)  # FITS is big-endian
    blank = header.get("BLANK")
    if blank is not None and data.dtype.kind in "iu":
        # astropy reads an integer image's BLANK values as NaN, except in 16-bit data read as unsigned
        # (BZERO 32768): there they come as BLANK + 32768, which are no data either
        hit = data == int(blank) * header.get("BSCALE", 1) + header.get("BZERO", 0)
        if hit.any():
            data = np.where(hit, np.nan, data.astype(np.float64))
    return data


def _fits_kind(p: Path) -> str:
    header = _fits_header(p)
    bitpix, bzero, bscale = header.get("BITPIX"), header.get("BZERO", 0), header.get("BSCALE", 1)
    if bitpix == 8 and bzero == 0 and bscale == 1:
        return "uint8"
    if bitpix == 16 and bzero == 32768 and bscale == 1:
        return "uint16"
    return "float32"


def stored_kind(path: str | os.PathLike) -> str:
    """How a file stores its samples, as numpy names them (e.g. ``int16``, ``float64``), where that is not what
    :func:`image_kind` (the kind its output keeps) says; else :func:`image_kind`. From the headers only."""
    kind = image_kind(path)
    p, fmt = _existing_file(path)
    if kind != "float32":  # (8 and 16 bits, as stored)
        return kind
    try:
        if fmt == "FITS":
            header = _fits_header(p)
            named = {8: "uint8", 16: "int16", 32: "int32", 64: "int64", -32: "float32",
                     -64: "float64"}.get(int(header.get("BITPIX", 0)), kind)
            scaled = header.get("BZERO", 0) != 0 or header.get("BSCALE", 1) != 1
            return f"{named} scaled by BZERO/BSCALE" if scaled else named
        if fmt == "TIFF":
            with _open_tiff(p) as tif:
                return str(np.dtype(_main_series(tif)[0].dtype))
        if fmt == "MRC":
            with _mrc_open(p, header_only=True) as mrc:
                return _MRC_MODES[int(mrc.header.mode)]
    except Exception:
        return kind
    return kind


def _software() -> str:
    """The Software tag of a file noise2x's CLI writes: "noise2x 0.1.0+g..."
    (:func:`noise2x.provenance.code_version`)."""
    from .provenance import code_version

    return f"noise2x {code_version()}"


def _ascii_card(line: str) -> str:
    """``line`` as a FITS card holds it: printable ASCII, others escaped ("ü" -> "\\u00fc"; a file named in
    another script stopped a FITS output with astropy's error, in a QA pass)."""
    escaped = _code_points(line)
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in escaped)


def _fits_like(like: Path | None, shape: tuple[int, ...],
               history: Sequence[str] = ()) -> tuple[Any, tuple[int, ...]]:
    """The descriptive cards of ``like``'s image header (None where ``like`` is no FITS file and no ``history``
    is given), with a HISTORY card for each line of ``history`` after those it had, and the shape to write data
    of ``shape`` in: a cube of more than 3 axes, or with axes of length 1 (a radio image's frequency and Stokes
    axes), gets its shape back when the data are its planes, so that its WCS still fits."""
    if like is None or _FORMATS.get(_suffix(like)) != "FITS":
        if not history:
            return None, tuple(shape)
        header = _astropy_fits().Header()
        for line in history:
            header.add_history(_ascii_card(line))
        return header, tuple(shape)
    header = _fits_header(Path(like))
    primary, others = _fits_context(Path(like))
    if others:
        warn_outside(UserWarning(
            f"{like}: its other HDUs holding data ({', '.join(others)}) are not in the output, which holds "
            f"the image denoised"))
    full = tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(int(header.get("NAXIS", 0)), 0, -1))
    planes = int(np.prod(full[:-2], dtype=np.int64)) if len(full) > 2 else 1
    size = int(np.prod(shape, dtype=np.int64))
    if len(full) > 2 and tuple(shape[-2:]) == full[-2:] and size == planes * full[-1] * full[-2]:
        shape = full
    header.strip()  # SIMPLE, XTENSION, BITPIX, NAXISn, ...: set anew for this data
    if primary is not None:  # the image of an extension: the primary header's cards first (telescope, target, ...)
        primary.strip()
        for key in ("EXTEND", "NEXTEND"):
            primary.remove(key, ignore_missing=True, remove_all=True)
        primary.extend(header, unique=True, update=True)  # (the image's own cards where both have one)
        header = primary
    for key in ("BZERO", "BSCALE", "BLANK", "CHECKSUM", "DATASUM", "EXTNAME", "EXTVER", "INHERIT"):
        header.remove(key, ignore_missing=True, remove_all=True)
    for line in history:
        header.add_history(_ascii_card(line))
    return header, tuple(shape)


def _fits_stream(tmp: Path, frames: Iterator[np.ndarray], shape: tuple[int, ...], kind: str,
                 like: Path | None, history: Sequence[str] = ()) -> None:
    """Write a plain (uncompressed) FITS file frame by frame: the header of :func:`_fits_bytes`, then each
    frame as it comes (16-bit as FITS stores it: int16 less 32768, with BZERO 32768)."""
    fits = _astropy_fits()
    header, full = _fits_like(like, shape, history)
    dtype = np.dtype(kind)
    stored = {"uint16": np.int16}.get(kind, dtype)
    first = fits.PrimaryHDU(np.zeros((1,) * len(full), stored), header=header).header
    for i, n in enumerate(reversed(full), 1):
        first[f"NAXIS{i}"] = n
    if kind == "uint16":
        first["BZERO"], first["BSCALE"] = 32768, 1
    stream = fits.StreamingHDU(str(tmp), first)
    try:
        for frame in frames:
            stream.write((frame.astype(np.int32) - 32768).astype(np.int16) if kind == "uint16" else frame)
    finally:
        stream.close()


def _fits_bytes(tmp: Path, data: np.ndarray, like: Path | None, suffix: str = ".fits", name: str = "",
                history: Sequence[str] = ()) -> None:
    """Write (H,W) or (N,H,W) with the descriptive cards of ``like``'s image header: as the primary HDU, or
    tile-compressed after an empty primary HDU (``suffix`` ``.fz``; lossless: Rice for integers, GZIP_2
    unquantised for floats); ``tmp`` named ``*.gz`` is gzipped, naming ``name`` (the output's; without it the
    temporary file's) in its gzip header, which ``gunzip -N`` restores."""
    fits = _astropy_fits()
    header, shape = _fits_like(like, data.shape, history)
    data = np.ascontiguousarray(data.reshape(shape))
    if suffix == ".fz":
        kind = "GZIP_2" if data.dtype.kind == "f" else "RICE_1"
        hdus = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header=header, compression_type=kind,
                                                                   quantize_level=0.0)])
    else:
        hdus = fits.HDUList([fits.PrimaryHDU(data, header=header)])
    if tmp.name.endswith(".gz") and name:
        import gzip

        with open(tmp, "wb") as fh, gzip.GzipFile(filename=name, mode="wb", fileobj=fh) as packed:
            hdus.writeto(packed, output_verify="silentfix")
    else:
        hdus.writeto(tmp, output_verify="silentfix")  # gzipped by astropy where the name ends in .gz (tmp's does)


# --------------------------------------------------------------------------- MRC (electron microscopy)

#: MRC modes read (mrcfile's numpy kinds): int8, int16, float32, uint16, float16
_MRC_MODES = {0: "int8", 1: "int16", 2: "float32", 6: "uint16", 12: "float16"}
_MRC_OTHER = {3: "complex int16 (Fourier) samples", 4: "complex float32 (Fourier) samples", 16: "RGB samples",
              101: "4-bit samples"}


def _mrcfile():
    try:
        import mrcfile
    except ImportError:
        raise MissingDependency('MRC files need mrcfile: pip install "noise2x[mrc]" (or mrcfile)') from None
    return mrcfile


#: IMOD's stamp (bytes 152-155 of an MRC header); bit 0 of the flags after it set: mode-0 bytes are signed
_IMOD_STAMP = 1146047817


def _mrc_open(p: Path, header_only: bool = False) -> Any:
    """``p`` opened read-only by mrcfile (its data memory-mapped, read when used), a valid MRC2014 image file;
    an InputError otherwise (a damaged file, no section, complex or RGB samples, which are not images of
    intensities); a warning where the file holds more data than its header's sections (read without them)."""
    mrcfile = _mrcfile()
    with _warnings_of("mrcfile") as said:  # (its own warnings of header oddities: the checks below say what counts)
        try:
            mrc = mrcfile.open(p, header_only=True)  # (the mode first: an RGB or 4-bit file is no damaged one)
            mode = int(mrc.header.mode)
            if mode not in _MRC_MODES:
                mrc.close()
                raise InputError(f"{p} holds {_MRC_OTHER.get(mode, f'samples of MRC mode {mode}')}; noise2x reads "
                                 f"MRC images of real numbers (modes 0, 1, 2, 6, 12)")
            shape = _mrc_shape(mrc)
            if min(shape) < 1:
                mrc.close()
                raise InputError(f"{p} holds no image (its header gives {' x '.join(map(str, shape))} sections x "
                                 "rows x columns)")
            if not header_only:
                mrc.close()
                mrc = mrcfile.mmap(p, mode="r")
        except Noise2xError:
            raise
        except Exception as exc:
            raise _unreadable(p, exc) from None
    larger = [str(w.message) for w in said if "larger than expected" in str(w.message)]
    if larger:  # (sections appended without the header's count updated: particles lost unsaid, in a QA pass)
        warn_outside(UserWarning(f"{p}: {larger[0]}: read as the {_mrc_shape(mrc)[0]} section(s) its header gives, "
                                 "without the data after them"))
    return mrc


def _mrc_unsigned_bytes(mrc: Any) -> bool:
    """Whether a mode-0 MRC file holds unsigned bytes: IMOD's stamp with its "signed" flag clear (older IMOD
    wrote them so, and byte-scaled tomograms are), read as uint8, as IMOD reads them (mrcfile reads int8)."""
    if int(mrc.header.mode) != 0:
        return False
    order = mrc.header.mode.dtype.byteorder
    stamp, flags = np.frombuffer(bytes(mrc.header.extra2)[40:48], dtype=np.dtype("i4").newbyteorder(
        "=" if order == "|" else order))
    return int(stamp) == _IMOD_STAMP and not int(flags) & 1


def _mrc_values(plane: np.ndarray, unsigned: bool) -> np.ndarray:
    """MRC data as read, in native byte order; IMOD's unsigned bytes as uint8."""
    plane = plane.astype(plane.dtype.newbyteorder("="), copy=False)
    return plane.view(np.uint8) if unsigned else plane


def _mrc_shape(mrc: Any) -> tuple[int, int, int]:
    """(N,H,W) from an MRC header: its sections (a stack's images, a volume's slices) of ny rows and nx columns."""
    h = mrc.header
    return int(h.nz), int(h.ny), int(h.nx)


def _read_mrc(p: Path) -> np.ndarray:
    """(N,H,W): an MRC file's sections (one image: N=1), rows as stored, in its own units (native byte order)."""
    mrc = _mrc_open(p)
    try:
        data = _mrc_values(np.array(mrc.data), _mrc_unsigned_bytes(mrc))
    except Exception as exc:
        raise _unreadable(p, exc) from None
    finally:
        mrc.close()
    return data.reshape((-1, *data.shape[-2:]))


class MrcFrames(StackFrames):
    """An MRC stack's images (or a volume's sections), each read from the memory-mapped file (see
    :class:`StackFrames`)."""

    def _decode(self, i: int) -> np.ndarray:
        return _mrc_values(np.array(self._handle.data[i]), _mrc_unsigned_bytes(self._handle))


def _mrc_frames(p: Path, dtype: Any, blanks: bool) -> MrcFrames | None:
    """An MRC stack or volume's sections read one at a time; None for a single image (read whole)."""
    mrc = _mrc_open(p)

    def make() -> MrcFrames | None:
        shape = _mrc_shape(mrc)
        if shape[0] < 2:
            return None
        if tuple(mrc.data.shape[-2:]) != shape[1:]:
            raise InputError(f"cannot read {p}: its data do not hold the {shape[0]} sections its header says")
        return MrcFrames(mrc, shape, dtype, p, blanks)

    return _kept_open(mrc, make, p)


def _mrc_kind(p: Path) -> str:
    """uint16 for MRC mode 6, uint8 for IMOD's unsigned bytes, float32 for the others (signed integers and half
    floats are written as float32)."""
    with _mrc_open(p, header_only=True) as mrc:
        return "uint16" if int(mrc.header.mode) == 6 else "uint8" if _mrc_unsigned_bytes(mrc) else "float32"


def mrc_voxel_size(path: str | os.PathLike) -> tuple[float, float, float] | None:
    """An MRC file's voxel size (x, y, z, in ångström, as its header says), or None where it gives none (zero)
    or ``path`` is no MRC file."""
    p = Path(path)
    if _FORMATS.get(_suffix(p)) != "MRC":
        return None
    with _mrc_open(p, header_only=True) as mrc:
        size = tuple(float(v) for v in (mrc.voxel_size.x, mrc.voxel_size.y, mrc.voxel_size.z))
    return size if any(size) else None


#: MRC outputs that hold a stack of images (ispg 0), not a volume, where no MRC input says which
_MRC_STACK_SUFFIXES = (".mrcs", ".st")


def _mrc_bytes(tmp: Path, data: np.ndarray, like: Path | None, frames: Iterator[np.ndarray] | None = None,
               shape: Sequence[int] | None = None, suffix: str = ".mrc", history: Sequence[str] = ()) -> None:
    """Write (H,W) or (N,H,W) (mode 2 for float32, 6 for uint16), or, with ``frames``, a stack of ``shape`` one
    frame at a time (``data`` then an empty array of its kind: no stack is held). From ``like``, where it is an
    MRC file: its voxel size, origin, labels, whether it is a stack of images or a volume, and its extended header
    (per-section records: tilt angles, doses) where the sections are as many; else a stack of images for
    ``suffix`` .mrcs or .st, a volume otherwise. A label for each line of ``history`` after those (MRC holds 10)."""
    mrcfile = _mrcfile()
    shape = tuple(data.shape) if frames is None else tuple(int(n) for n in shape)
    mode = {np.dtype(np.float32): 2, np.dtype(np.uint16): 6}[np.dtype(data.dtype)]
    left_out = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mrc = mrcfile.new_mmap(tmp, shape=shape, mrc_mode=mode, overwrite=True)
        try:
            if frames is None:
                mrc.data[...] = data
            else:
                for k, frame in enumerate(frames):
                    mrc.data[k] = frame
            _mrc_stats(mrc)
            source = _mrc_open(like, header_only=True) if like is not None and _FORMATS.get(
                _suffix(like)) == "MRC" else None
            try:
                stack = int(source.header.ispg) == 0 if source is not None else suffix in _MRC_STACK_SUFFIXES
                if len(shape) == 3 and stack:
                    mrc.set_image_stack()  # (ispg 0, one section deep: particles, not a 3-D map)
                if source is not None:
                    full = shape if len(shape) == 3 else (1, *shape)
                    if _mrc_shape(source) == full:  # its cell and sampling as they were
                        for key in ("mx", "my", "mz", "cella", "cellb", "ispg"):
                            mrc.header[key] = source.header[key]
                        if int(source.header.nsymbt):
                            mrc.set_extended_header(source.extended_header)
                            mrc.header.exttyp = source.header.exttyp
                    else:
                        size = source.voxel_size
                        mrc.voxel_size = (size.x, size.y, size.x if stack else size.z)
                        if int(source.header.nsymbt):  # (records of each of its sections: which are these?)
                            kind = bytes(source.header.exttyp).decode(errors="replace")
                            left_out = (f"{like}: its extended header ({kind} records of its "
                                        f"{_mrc_shape(source)[0]} sections) is left out of an output of {full[0]} "
                                        "section(s)")
                    mrc.header.origin = source.header.origin
                    kept = [bytes(t) for t in source.header.label[:int(source.header.nlabl)]]
                    mrc.header.label[:len(kept)] = kept
                    mrc.header.nlabl = len(kept)
            finally:
                if source is not None:
                    source.close()
            for line in history:  # one label a line, its middle cut where longer than a label holds (its start, the
                # version, and its end kept: a QA re-check found a long name pushing the version out of the labels),
                # control characters escaped as in FITS cards (a newline in a name stopped the write)
                text = _ascii_card(line)
                if len(text) > 80:
                    text = text[:38] + "..." + text[-39:]
                if int(mrc.header.nlabl) == 10:  # (the oldest after the first go, as IMOD does)
                    mrc.header.label[1:9] = mrc.header.label[2:10].copy()
                    mrc.header.nlabl = 9
                mrc.add_label(text)
        finally:
            mrc.close()
    if left_out:
        warn_outside(UserWarning(left_out))


def _mrc_stats(mrc: Any) -> None:
    """The header's minimum, maximum, mean and rms of the data's finite values (NaN marks blank pixels: their
    statistics were NaN, which viewers' first contrast cannot use)."""
    data = mrc.data
    finite = np.isfinite(data) if data.dtype.kind == "f" else None
    if finite is None or finite.all():
        mrc.update_header_stats()
    elif finite.any():
        values = data[finite].astype(np.float64)
        mrc.header.dmin, mrc.header.dmax, mrc.header.dmean = values.min(), values.max(), values.mean()
        mrc.header.rms = values.std()
    else:
        mrc.reset_header_stats()


# --------------------------------------------------------------------------- photo metadata

#: the ICC colour space (bytes 16..20 of a profile's header) that suits an output of 1 or 3 colour channels
_ICC_SPACE = {1: b"GRAY", 3: b"RGB "}
def jpeg_segment_names(path: str | os.PathLike) -> list[str]:
    """The application segments (APP0..APP15) of a JPEG before its image data, each named by the identifier its
    data begins with (``"APP1 Exif"``, ``"APP1 FLIR"``: a FLIR camera's radiometric data, its raw thermal frame and
    calibration), in order; ``[]`` for another file or one that cannot be read so."""
    names: list[str] = []
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"\xff\xd8":
                return []
            while True:
                head = fh.read(2)
                if len(head) < 2 or head[0] != 0xFF:
                    return names
                kind = head[1]
                if kind == 0xFF:  # (fill bytes)
                    fh.seek(-1, os.SEEK_CUR)
                    continue
                if kind in (0x01, *range(0xD0, 0xD8)):
                    continue
                if kind in (0xD9, 0xDA):  # (the end, or the image data)
                    return names
                size = int.from_bytes(fh.read(2), "big")
                if size < 2:
                    return names
                body = fh.read(min(size - 2, 16))
                fh.seek(size - 2 - len(body), os.SEEK_CUR)
                if 0xE0 <= kind <= 0xEF:
                    label = body.split(b"\x00", 1)[0].decode("latin-1", "replace").strip()
                    names.append(f"APP{kind - 0xE0} {label}".strip())
    except OSError:
        return names


_EXIF_PREFIX = b"Exif\x00\x00"
_JPEG_SEGMENT = 65533  # the most bytes a JPEG marker segment (EXIF's APP1, XMP's APP1) holds
_XMP_ORIENTATION = (rb'(tiff:Orientation\s*=\s*["\'])[1-8](["\'])', rb"(<tiff:Orientation>\s*)[1-8](\s*</tiff:Orientation>)")


def photo_metadata(like: str | os.PathLike, channels: int, *, page: int = 0) -> dict:
    """What a photo file says about showing its pixels, which an output made from it keeps.

    Parameters
    ----------
    like : str or path-like
        The input file. PNG, JPEG, BMP, WebP, AVIF and HEIF files are read
        by Pillow (no pixels decoded), TIFF files by tifffile (their ICC,
        XMP, resolution, orientation and descriptive tags; their EXIF
        sub-record is not kept).
    channels : int
        Colour channels of the image written from it: 1 (gray) or 3 (RGB).
    page : int, default 0
        The page of a multi-page TIFF whose metadata are read (other formats:
        ignored).

    Returns
    -------
    dict
        Any of ``icc`` (the ICC colour profile, where its colour space is
        the output's: a CMYK JPEG's profile does not describe the RGB it is
        read as), ``exif`` (the EXIF record as stored, prefixed with
        ``Exif\\0\\0``; from a TIFF, one made of its descriptive tags) and
        ``xmp`` (bytes), both with their orientation set to 1 (normal: the
        pixels were turned upright when read), ``described`` (camera make
        and model, date, artist and copyright: ``{tag: text}``, the TIFF
        tags a TIFF output gets), ``description`` (a TIFF's own
        ImageDescription text, not ImageJ's, OME's, tifffile's or XML: an Aperio
        slide's, with its microns per pixel, MPP, which a TIFF output gets
        first, as slide readers look for it) and ``dpi`` (x, y; swapped
        where the pixels were turned by 90 degrees). Empty
        for other files, for a file whose metadata cannot be read (its
        pixels were, which is what counts) and for other ``channels``.
    """
    like = Path(like)
    fmt = _FORMATS.get(_suffix(like))
    if channels not in _ICC_SPACE or fmt not in ("PNG", "JPEG", "BMP", "WEBP", "AVIF", "HEIF", "TIFF"):
        return {}
    meta: dict = {}
    turned = False  # the pixels were turned by 90 degrees when read (EXIF orientation 5..8)
    try:
        if fmt == "TIFF":
            import tifffile

            with tifffile.TiffFile(like) as tif:
                page = tif.pages[page]
                tags = {code: page.tags.get(code) for code in (34675, 700)}
                meta["icc"], meta["xmp"] = (None if t is None else t.value for t in tags.values())
                unit = {2: 1.0, 3: 2.54}.get(int(page.resolutionunit or 0))  # inch, centimetre
                if unit and page.resolution and min(page.resolution) > 0:
                    meta["dpi"] = tuple(float(r) * unit for r in page.resolution)
                described = {code: page.tags.valueof(code) for code in _DESCRIBED}
                turned = page.tags.valueof(274, 1) in (5, 6, 7, 8)
                text = page.tags.valueof(270)  # its own description (an SVS's, with the slide's MPP, magnification)
                if isinstance(text, str) and text.strip() and not (
                        tif.is_imagej or tif.is_ome or text.lstrip("\ufeff \t\r\n").startswith(("<", "shape="))
                        or (tif.is_shaped and text.lstrip().startswith('{"shape"'))):  # (not tifffile's own; a
                    # scanner's XML is left out, which info says: written back, readers took the output for one)
                    meta["description"] = text
                    mpp = slide_mpp(text)
                    if "dpi" not in meta and mpp is not None:  # (its pixel size said there alone: as resolution
                        meta["dpi"] = (25400 / mpp,) * 2  # tags too, which readers take)
            described = {code: v.strip() for code, v in described.items() if isinstance(v, str) and v.strip()}
            if described:  # the camera, date, author and copyright: as TIFF tags, and as EXIF in other outputs
                meta["described"] = described
                meta["exif"] = _exif_of(described)
        else:
            _pillow_heif(like)
            with _pillow_open(like) as im:
                info = dict(im.info)
            meta["icc"] = info.get("icc_profile")
            if fmt == "PNG" and not meta["icc"]:  # (its colour space said by gAMA, cHRM or sRGB instead of a
                meta["png_colour"] = _png_colour(info) or None  # profile: dropped unsaid, a format QA pass)
            xmp = info.get("xmp", info.get("XML:com.adobe.xmp"))
            meta["xmp"] = xmp.encode() if isinstance(xmp, str) else xmp
            if info.get("dpi"):
                meta["dpi"] = tuple(float(d) for d in info["dpi"])
            if isinstance(info.get("exif"), bytes) and info["exif"]:
                raw = info["exif"]
                while raw.startswith(_EXIF_PREFIX):  # (a PNG's eXIf chunk may hold the header too, which Pillow
                    raw = raw[len(_EXIF_PREFIX):]  # reads, adding its own: the orientation was then not found,
                raw = _EXIF_PREFIX + raw  # and the upright output kept it, a format QA pass)
                raw, orientation = _exif_upright(raw)
                meta["exif"], turned = raw, orientation in (5, 6, 7, 8)
                described = _described_in(raw)
                if described:  # kept as TIFF tags in a TIFF output, which holds no EXIF
                    meta["described"] = described
    except Exception:  # metadata are a courtesy: a file whose pixels were read is written without them
        return {}
    icc = meta.get("icc")
    if not (isinstance(icc, bytes) and len(icc) >= 128 and icc[16:20] == _ICC_SPACE[channels]):
        meta.pop("icc", None)
    if isinstance(meta.get("xmp"), bytes) and meta["xmp"]:
        for pattern in _XMP_ORIENTATION:
            meta["xmp"] = re.sub(pattern, rb"\g<1>1\g<2>", meta["xmp"])
    else:
        meta.pop("xmp", None)
    dpi = meta.get("dpi")
    if dpi is not None and not (len(dpi) == 2 and all(np.isfinite(d) and d > 0 for d in dpi)):
        meta.pop("dpi")
    elif dpi is not None and turned:
        meta["dpi"] = dpi[::-1]
    return {k: v for k, v in meta.items() if v is not None}


def _png_colour(info: dict) -> list[tuple[bytes, bytes]]:
    """A PNG's colour chunks other than a profile, as Pillow read them into ``info``: (type, body) of gAMA, cHRM
    and sRGB, which a PNG output holds again."""
    chunks = []
    gamma = info.get("gamma")
    if isinstance(gamma, (int, float)) and 0 < gamma < 42949:
        chunks.append((b"gAMA", struct.pack(">I", int(round(gamma * 100000)))))
    points = info.get("chromaticity")
    if isinstance(points, tuple) and len(points) == 8 and all(0 <= v < 42949 for v in points):
        chunks.append((b"cHRM", struct.pack(">8I", *(int(round(v * 100000)) for v in points))))
    if info.get("srgb") in (0, 1, 2, 3):
        chunks.append((b"sRGB", bytes([int(info["srgb"])])))
    return chunks


#: TIFF tags that describe a photo (IFD0 tags of EXIF too): Make, Model, DateTime, Artist, Copyright
_DESCRIBED = (271, 272, 306, 315, 33432)
#: TIFF/EP's ImageHistory tag (ASCII): the lines of what made an output noise2x writes (as a PNG's Comment)
TIFF_IMAGE_HISTORY = 37395


def _code_points(text: str) -> str:
    """``text`` in 7 bits: other characters as ``\\uNNNN`` (``\\UNNNNNNNN``), apart from a byte's ``\\xNN`` that
    :func:`noise2x.provenance.path_text` writes for a name's bytes that are not UTF-8 ("é" and the byte 0xE9 were
    both ``\\xe9``: a locale re-check)."""
    return "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                   for c in text)


def _ascii_history(lines: Sequence[str]) -> bytes:
    """``lines`` as a TIFF ASCII tag's bytes: 7-bit (:func:`_code_points`; UTF-8 there read as Latin-1 in Pillow: a
    re-check)."""
    return _code_points("\n".join(lines)).encode("ascii")


def _exif_loaded(raw: bytes = b"") -> Any:
    """A Pillow ``Image.Exif`` of an EXIF record (with or without its ``Exif\\0\\0`` prefix); empty for none."""
    from PIL import Image

    exif = Image.Exif()
    if raw:
        exif.load(raw[len(_EXIF_PREFIX):] if raw.startswith(_EXIF_PREFIX) else raw)
    return exif


def _exif_record(exif: Any) -> bytes:
    """The EXIF record of a Pillow ``Image.Exif``, prefixed with ``Exif\\0\\0`` as :func:`photo_metadata` keeps it."""
    raw = exif.tobytes()
    return raw if raw.startswith(_EXIF_PREFIX) else _EXIF_PREFIX + raw


def _exif_of(described: dict[int, str]) -> bytes:
    """An EXIF record (``Exif\\0\\0`` + TIFF structure) holding the tags of :data:`_DESCRIBED` given."""
    exif = _exif_loaded()
    for code, value in described.items():
        exif[code] = value.encode("utf-8")  # (as cameras and editors write accents: Pillow would write '?')
    return _exif_record(exif)


def _described_in(raw: bytes) -> dict[int, str]:
    """The tags of :data:`_DESCRIBED` an EXIF record holds, as text ({} where it cannot be parsed)."""
    try:
        exif = _exif_loaded(raw)
        found = {code: exif.get(code) for code in _DESCRIBED}
    except Exception:
        return {}
    return {code: _utf8_text(v.strip().rstrip("\x00")) for code, v in found.items() if isinstance(v, str) and v.strip()}


def _utf8_text(text: str) -> str:
    """An EXIF text as written (UTF-8, as cameras and editors write accents), which Pillow reads byte by byte."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _exif_fitting(raw: bytes, path: Path) -> bytes | None:
    """An EXIF record too long for a JPEG's marker segment without the camera maker's private notes (MakerNote)
    and the thumbnail, which make it so long (as exiftool would drop them), with a warning that says so; None,
    and a warning, where it is still too long."""
    try:
        exif = _exif_loaded(raw)
        exif.get_ifd(0x8769).pop(0x927C, None)  # (Pillow writes no thumbnail: its IFD is not kept either)
        smaller = _exif_record(exif)
    except Exception:
        smaller = b""
    if smaller and len(smaller) <= _JPEG_SEGMENT:
        warn_outside(UserWarning(
            f"writing {path}: the photo's EXIF record ({len(raw)} bytes) is longer than a JPEG holds; "
            "its camera maker's notes and thumbnail were left out"))
        return smaller
    warn_outside(UserWarning(
        f"writing {path}: the photo's EXIF record ({len(raw)} bytes) is longer than a JPEG holds and "
        "was left out (write .png or .webp to keep it)"))
    return None


def _exif_upright(raw: bytes) -> tuple[bytes, int]:
    """An EXIF record (``Exif\\0\\0`` + TIFF structure) with its orientation tag (0x0112, first IFD) set
    to 1, and the orientation it had (1 where it has none). Where that was not 1, the link to the
    thumbnail's IFD is cut too (its pixels were not turned: a viewer would show it turned the wrong way);
    every other byte as it was."""
    body = bytearray(raw[len(_EXIF_PREFIX):])
    order = {b"II": "<", b"MM": ">"}.get(bytes(body[:2]))
    if order is None or len(body) < 8:
        return raw, 1
    (ifd,) = struct.unpack(order + "I", body[4:8])
    if ifd + 2 > len(body):
        return raw, 1
    (count,) = struct.unpack(order + "H", body[ifd : ifd + 2])
    for k in range(count):
        at = ifd + 2 + 12 * k
        if at + 12 > len(body):
            break
        tag, kind, n = struct.unpack(order + "HHI", body[at : at + 8])
        if tag == 0x0112 and kind in (3, 4, 8, 9) and n == 1:  # (S)SHORT (as EXIF asks) or (S)LONG, one value,
            code = {3: "H", 4: "I", 8: "h", 9: "i"}[kind]  # stored in the entry itself; Pillow reads each
            size = struct.calcsize(code)
            (was,) = struct.unpack(order + code, body[at + 8 : at + 8 + size])
            body[at + 8 : at + 8 + size] = struct.pack(order + code, 1)
            link = ifd + 2 + 12 * count  # the offset of the next IFD (the thumbnail's), after the entries
            if was != 1 and link + 4 <= len(body):
                body[link : link + 4] = bytes(4)
            if was in (5, 6, 7, 8):  # turned a quarter: the Exif IFD's pixel width and height swap too
                _swap_pixel_dimensions(body, order, ifd, count)
            return _EXIF_PREFIX + bytes(body), int(was)
    return raw, 1


def _swap_pixel_dimensions(body: bytearray, order: str, ifd: int, count: int) -> None:
    """Swap the values of PixelXDimension and PixelYDimension (0xA002, 0xA003) in the Exif IFD that IFD0 (at
    ``ifd``, ``count`` entries) points to, in place; nothing where either is missing."""
    for k in range(count):
        at = ifd + 2 + 12 * k
        if at + 12 > len(body):
            return
        tag, kind, n, value = struct.unpack(order + "HHII", body[at : at + 12])
        if tag == 0x8769 and kind in (4, 13) and n == 1 and value + 2 <= len(body):  # the Exif IFD's offset
            (m,) = struct.unpack(order + "H", body[value : value + 2])
            entries = {}
            for j in range(m):
                e = value + 2 + 12 * j
                if e + 12 <= len(body):
                    entries[struct.unpack(order + "H", body[e : e + 2])[0]] = e
            if 0xA002 in entries and 0xA003 in entries:  # type, count and value of each, tags in place
                x, y = entries[0xA002], entries[0xA003]
                body[x + 2 : x + 12], body[y + 2 : y + 12] = body[y + 2 : y + 12], body[x + 2 : x + 12]
            return


# --------------------------------------------------------------------------- 16-bit PNG codec


def _png_header(p: Path) -> tuple[int, int, int, int, int] | None:
    """(width, height, bit depth, colour type, interlace) of a PNG, or None if not a PNG."""
    with open(p, "rb") as fh:
        head = fh.read(33)
    if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", head[16:29])
    return width, height, depth, ctype, interlace


def _read_png16(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode a 16-bit colour PNG (types 2, 4, 6), which Pillow reduces to 8 bits: (image, alpha or None); a colour
    key (tRNS) gives an alpha of 0 where a pixel holds it. libpng decodes it (imagecodecs), else the PNG filters
    are undone here (row by row in Python, far slower: a format QA pass)."""
    data = p.read_bytes()
    pos, idat, header, key = 8, [], None, None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise InputError(f"cannot read image file {p}: truncated PNG chunk {ctype!r}")
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise InputError(f"cannot read image file {p}: corrupt PNG chunk {ctype!r} (CRC mismatch)")
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"tRNS" and len(body) == 6:  # (an RGB colour key: 16 bits a sample)
            key = struct.unpack(">HHH", body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    else:
        raise InputError(f"cannot read image file {p}: truncated PNG (no IEND chunk)")
    width, height, depth, colour, _comp, _filt, interlace = header
    channels = {2: 3, 4: 2, 6: 4}[colour]
    # (an interlaced one by noise2x's decoder: libpng, as imagecodecs calls it, decodes it right but writes a
    # warning line to the process's stderr, a QA re-check)
    arr = None if interlace else _png16_libpng(data, (height, width, channels + (key is not None and colour == 2)))
    if arr is None:
        arr = _png16_unfiltered(b"".join(idat), height, width, channels, interlace, p)
        if key is not None and colour == 2:  # (libpng's alpha from the key, as Pillow reads it of 8-bit PNGs)
            arr = np.concatenate([arr, np.where((arr == key).all(axis=2), 0, 65535).astype(np.uint16)[..., None]], 2)
    try:  # turned upright as Pillow turns an 8-bit PNG (its eXIf chunk's orientation)
        with _pillow_open(p) as im:
            orientation = im.getexif().get(0x0112, 1)
    except Exception:  # (the pixels were read: a record Pillow cannot parse is not applied)
        orientation = 1
    arr = _upright(arr, orientation)
    if arr.shape[2] == 2:
        return arr[..., 0], arr[..., 1]
    return arr[..., :3], (arr[..., 3] if arr.shape[2] == 4 else None)


def _png16_libpng(data: bytes, shape: tuple[int, int, int]) -> np.ndarray | None:
    """A 16-bit PNG's pixels as libpng decodes them (imagecodecs), (H, W, C) uint16; None where it cannot, or
    gives another shape than ``shape`` (C: with an alpha from a colour key)."""
    try:
        import imagecodecs

        arr = np.asarray(imagecodecs.png_decode(data))
    except Exception:
        return None
    return arr if arr.dtype == np.uint16 and arr.shape == shape else None


def _png16_unfiltered(compressed: bytes, height: int, width: int, channels: int, interlace: int,
                      p: Path) -> np.ndarray:
    """A 16-bit PNG's pixels from its IDAT data, the filters undone here: (H, W, channels) uint16."""
    try:
        raw = zlib.decompress(compressed)
    except zlib.error as exc:
        raise InputError(f"cannot read image file {p}: corrupt PNG image data ({exc})") from None
    bpp = 2 * channels
    if interlace:
        out = np.zeros((height, width * bpp), np.uint8)
        pos = 0
        for y0, x0, dy, dx in ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)):
            h, w = -(-(height - y0) // dy), -(-(width - x0) // dx)
            if h <= 0 or w <= 0:
                continue
            sub, pos = _unfilter(raw, pos, h, w, bpp, p)
            view = out.reshape(height, width, bpp)
            view[y0::dy, x0::dx] = sub.reshape(h, w, bpp)
    else:
        out, _ = _unfilter(raw, 0, height, width, bpp, p)
    return out.reshape(height, width * channels * 2).view(">u2").reshape(height, width, channels).astype(np.uint16)


def _unfilter(raw: bytes, pos: int, height: int, width: int, bpp: int, p: Path) -> tuple[np.ndarray, int]:
    """Undo PNG scanline filters for ``height`` rows starting at byte ``pos``."""
    stride = width * bpp
    end = pos + height * (stride + 1)
    if len(raw) < end:
        raise InputError(f"cannot read image file {p}: truncated PNG image data")
    rows = np.frombuffer(raw, np.uint8, count=end - pos, offset=pos).reshape(height, stride + 1)
    out = np.empty((height, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: running sum per byte position of the pixel
            cur = (np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint64) % 256).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            cur = line + prev
        elif kind in (3, 4):  # Average / Paeth: sequential along the row
            f, b, r = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                a = r[i - bpp] if i >= bpp else 0
                if kind == 3:
                    r[i] = (f[i] + ((a + b[i]) >> 1)) & 255
                else:
                    c = b[i - bpp] if i >= bpp else 0
                    est = a + b[i] - c
                    pa, pb, pc = abs(est - a), abs(est - b[i]), abs(est - c)
                    pred = a if (pa <= pb and pa <= pc) else (b[i] if pb <= pc else c)
                    r[i] = (f[i] + pred) & 255
            cur = np.array(r, np.uint8)
        else:
            raise InputError(f"cannot read image file {p}: corrupt PNG (unknown filter type {int(kind)})")
        out[y] = cur
        prev = out[y]
    return out, end


def _png16_bytes(data: np.ndarray, meta: dict | None = None) -> bytes:
    """Encode a uint16 (H,W), (H,W,2) gray + alpha, (H,W,3) or (H,W,4) RGBA array as PNG (rows 'Up'-filtered,
    zlib), with the metadata of :func:`photo_metadata` (``icc``, ``exif``, ``xmp``, ``dpi``) and what made it
    (``software``, ``history``: the Software and Comment texts an 8-bit PNG gets) where given."""
    height, width = data.shape[:2]
    colour = 0 if data.ndim == 2 else {2: 4, 3: 2, 4: 6}[data.shape[2]]
    rows = np.ascontiguousarray(data.astype(">u2")).view(np.uint8).reshape(height, -1)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # Up filter, modulo 256
    kinds = np.full((height, 1), 2, np.uint8)
    kinds[0] = 0
    raw = np.concatenate([kinds, filtered], axis=1).tobytes()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    meta = meta or {}
    extra = b""  # before IDAT, as the PNG specification asks of iCCP, pHYs and eXIf
    if "icc" in meta:
        extra += chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(meta["icc"]))
    for kind, body in meta.get("png_colour", []):  # (gAMA, cHRM, sRGB: a colour space said without a profile)
        extra += chunk(kind, body)
    if "dpi" in meta:
        extra += chunk(b"pHYs", struct.pack(">IIB", *(int(round(d / 0.0254)) for d in meta["dpi"]), 1))
    if "exif" in meta:
        extra += chunk(b"eXIf", meta["exif"][len(_EXIF_PREFIX):])
    if "xmp" in meta:
        extra += chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + meta["xmp"])
    if meta.get("software"):  # (tEXt: Latin-1, as Pillow writes it for an 8-bit PNG)
        extra += chunk(b"tEXt", b"Software\x00" + meta["software"].encode("latin-1", "replace"))
    if meta.get("history"):  # (iTXt: UTF-8, uncompressed, no language; a file name not in UTF-8 escaped)
        comment = "\n".join(meta["history"]).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        extra += chunk(b"iTXt", b"Comment\x00\x00\x00\x00\x00" + comment.encode("utf-8"))
    return (_PNG_SIGNATURE + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


# --------------------------------------------------------------------------- writing


def writable_format(path: str | os.PathLike) -> str:
    """The format :func:`write_image` writes to ``path`` ('PNG', 'JPEG', 'BMP', 'WEBP', 'AVIF', 'HEIF', 'TIFF',
    'FITS' or 'MRC').

    Raises :class:`UsageError` for an extension it cannot write, so that a
    command can check its outputs before any work.
    """
    p = Path(path)
    fmt = _FORMATS.get(_suffix(p))
    if _suffix(p) in SLIDE_SUFFIXES:
        raise UsageError(f"cannot write {p}: noise2x reads slide scanners' {_suffix(p)} files but does not write "
                         f"them; write .tif or .ome.tif (tiled, with the slide's pixel size and description)")
    if fmt is None:
        raise UsageError(f"cannot write {p}: unsupported file extension {p.suffix!r}; use one of {' '.join(IMAGE_SUFFIXES)}")
    if fmt == "FITS":
        _astropy_fits()  # installed?
    if fmt == "MRC":
        _mrcfile()
    if fmt == "HEIF":
        _pillow_heif(p)
    return fmt


def write_image(path: str | os.PathLike, image, *, kind: str | None = None, alpha=None,
                like: str | os.PathLike | None = None, blanks: bool = False, strip_exif: bool = False,
                history: Sequence[str] = ()) -> None:
    """Write an image (or, as TIFF, a stack) atomically.

    Parameters
    ----------
    path : str or path-like
        Output file; its extension chooses the format (PNG, JPEG, BMP, WebP, AVIF, TIFF,
        FITS, MRC).
    image : array_like
        (H,W) or (H,W,3) in the units of ``kind`` (0..255 for uint8, 0..65535
        for uint16); TIFF also takes stacks (N,H,W) or (N,H,W,3), written as
        multi-page, and FITS and MRC gray stacks (N,H,W). A 3-D array whose
        last axis is 3 is RGB; (…,1) is gray.
    kind : {'uint8', 'uint16', 'float32'}, optional
        Sample kind. Default: a uint8 or uint16 array's own, where the format
        stores it; else by extension: TIFF, FITS and MRC float32 (unclipped),
        others uint8. uint16 is allowed for PNG, TIFF, FITS, MRC and HEIF
        (written with 10 bits per sample), float32 only for TIFF, FITS and MRC.
        Integer kinds are rounded and clipped to their range; a
        :class:`ClippingWarning` is emitted when clipping changed more than 1%
        of the values. JPEG is written with quality 95, WebP losslessly,
        AVIF with quality 90 and full-resolution colour (4:4:4).
    alpha : array_like, optional
        An alpha (opacity) plane to store beside the image, in the same units:
        (H,W), or (N,H,W) for a stack (a single plane (1,H,W) is taken for an
        (H,W) image). PNG, TIFF (as unassociated alpha) and WebP only; it is
        rounded and clipped like the image for integer kinds.
    like : str or path-like, optional
        The file this image was made from: a FITS output keeps its FITS
        header's descriptive cards (WCS, exposure, object, ...); an MRC
        output an MRC file's voxel size, cell and origin; a TIFF
        stack holding a TIFF's frames (as :func:`read_stack` flattened them)
        gets its axes back (e.g. TZCYX), with its pixel size and, where the
        axes are in ImageJ's order, as an ImageJ hyperstack with its
        calibration. A single image (not a stack) written as PNG, JPEG or
        TIFF keeps a photo's colour profile (ICC, where its colour space is
        the image's), its EXIF (PNG and JPEG outputs) and XMP records with
        the orientation set to normal (the pixels were turned upright when
        read), and its resolution (dpi); see :func:`photo_metadata`.
    history : sequence of str
        Lines saying how the image was made (``noise2x denoise`` names
        itself, the input, the date and the method): a FITS output gets
        them as HISTORY cards, after those of ``like``'s header; other
        formats leave them out.
    strip_exif : bool
        Leave a photo's EXIF and XMP records (camera, date, GPS position,
        edits) out of the output written ``like`` it; its colour profile and
        resolution are kept.
    blanks : bool
        NaN values mark blank pixels (no data), as :func:`read_image` reads
        them with ``blanks=True``: float32 files store them as NaN; a PNG or
        integer TIFF makes a pixel with a NaN value fully transparent (value
        0, alpha 0; an alpha plane is added when none is given). Other
        files cannot mark them (a UsageError when the image has any).

    Raises
    ------
    UsageError
        Unsupported extension or kind, a kind the format cannot store, alpha
        for a format that keeps none (JPEG, BMP, AVIF, HEIF), or blank pixels
        that the file cannot mark.
    InputError
        Wrong shape (of the image, or of alpha against it; a stack for a file
        that holds one image: stacks go to TIFF, FITS or MRC), non-numeric
        dtype or NaN/inf values.
    Noise2xError
        The output folder is missing or not writable, or the encoder failed;
        an existing file at ``path`` is then left untouched.
    """
    p = _file_name(path)
    fmt = writable_format(p)
    if kind is None:
        dt = getattr(image, "dtype", None)  # (an 8- or 16-bit array keeps its kind where the format stores it; in
        # either byte order: a big-endian '>u2' array, raw PGM or instrument data, was written 8-bit, clipped)
        own = f"uint{8 * dt.itemsize}" if isinstance(dt, np.dtype) and dt.kind == "u" else ""
        kind = own if own in ("uint8", "uint16") and own in _WRITABLE[fmt] else (
            "float32" if fmt in STACK_FORMATS else "uint8")
    if kind not in KINDS:
        raise UsageError(f"unknown image kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind not in _WRITABLE[fmt]:
        raise UsageError(f"{fmt} files cannot store {kind} samples ({p}); {fmt} allows {', '.join(_WRITABLE[fmt])}")
    arr = _writable_array(image, fmt, p, blanks)
    if kind in ("uint8", "uint16") and arr.dtype.kind == "f":
        _unit_range_warning(p, arr, kind)
    channels = 1 if arr.ndim == 2 else 3 if arr.ndim == 3 and arr.shape[-1] == 3 else 0  # 0: a stack
    blank = None
    if kind != "float32" and blanks and np.isnan(arr).any():  # blank pixels become transparent
        if fmt not in ALPHA_FORMATS:
            raise UsageError(f"cannot write {p} with blank (NaN) pixels: {fmt} {kind} samples cannot mark them "
                             f"(write .png, where they become transparent, or float32 .tif or .fits)")
        nan = np.isnan(arr)
        blank = nan.any(axis=-1) if arr.shape[-1] == 3 and arr.ndim in (3, 4) else nan  # as _writable_array
        arr = np.where(nan, 0.0, arr)
        if alpha is None:
            alpha = np.full(blank.shape, float(_MAX[kind]))
    if alpha is not None:
        arr = _with_alpha(arr, alpha, fmt, p)
        if blank is not None:
            arr[..., -1][blank] = 0.0
    if kind == "float32":
        data = arr.astype(np.float32, copy=False)
        _check_finite(data, f"image for {p} (after conversion to float32)", blanks=blanks)
    elif arr.dtype == np.dtype(kind):  # already stored in its kind (see :func:`stored`)
        data = arr
    else:
        data, clipped = stored(arr, kind)
        clipping_warning(p, clipped, data.size, kind)
    ome = fmt == "TIFF" and p.name.lower().endswith((".ome.tif", ".ome.tiff"))
    layout = parts = None
    if fmt == "TIFF" and like is not None and alpha is None:
        layout = _tiff_layout(Path(like), data.shape, ome)
        parts = None if layout is not None else _tiff_parts(Path(like), data.shape, ome)  # several series
    if like is not None and data.ndim >= 3 and not (data.ndim == 3 and data.shape[-1] == 3) and parts is None:
        _series_flattened(Path(like), data.shape)
    with atomic_path(p) as tmp:
        try:
            if fmt == "FITS":
                _fits_bytes(tmp, data, None if like is None else Path(like), _suffix(p), p.name, history)
            elif fmt == "MRC":
                _mrc_bytes(tmp, data, None if like is None else Path(like), suffix=_suffix(p), history=history)
            else:
                # (WebP has no gray pixels: a gray image is stored as RGB, whose profile an RGB one must be)
                stored_as = 3 if fmt == "WEBP" else channels
                if fmt == "TIFF" and not channels and parts is None and like is not None and \
                        _FORMATS.get(_suffix(Path(like))) == "TIFF":  # a TIFF's pages: their first page's
                    stored_as = 3 if data.shape[-1] == 3 and data.ndim == 4 else 1  # profile, dpi and tags (a
                    # multi-page document lost its dpi and ICC profile unsaid, a document scans QA pass)
                meta = photo_metadata(Path(like), stored_as) if like is not None and stored_as else {}
                if meta and _FORMATS.get(_suffix(Path(like))) == "TIFF":
                    meta = _at_level(meta, Path(like), data.shape)
                if strip_exif:  # the camera, date, place, author and edits: left out; how to show the pixels: kept
                    meta = {k: v for k, v in meta.items() if k not in ("exif", "xmp", "described")}
                if fmt == "TIFF" and like is not None:
                    meta = {**meta, **_tiff_compression(Path(like)), "geo": geotiff_like(like, data.shape)}
                    if alpha is None and parts is None:  # (its pyramid's levels, made again: a whole-slide QA pass)
                        meta["pyramid"] = tiff_pyramid(like, data.shape, ome)
                    if not channels and layout is None and parts is None:  # (pages of their own dpi or profile)
                        meta["own_pages"] = _own_page_tags(like, data.shape, strip_exif)
                if fmt == "JPEG" and len(meta.get("exif", b"")) > _JPEG_SEGMENT:
                    meta["exif"] = _exif_fitting(meta["exif"], p)
                if fmt == "JPEG" and len(meta.get("xmp", b"")) > _JPEG_SEGMENT - 29:  # (after XMP's namespace)
                    warn_outside(UserWarning(
                        f"writing {p}: the photo's XMP record ({len(meta['xmp'])} bytes) is longer than "
                        "a JPEG holds and was left out (write .png or .webp to keep it)"))
                if history:  # what made it: a TIFF's Software tag, a PNG's Software and Comment text (the command,
                    # whose paths a picture for the web should not carry: left out with strip_exif, a QA re-check)
                    meta = {**meta, "software": _software(), "history": [] if strip_exif else list(history)}
                _encode(tmp, data, fmt, kind, alpha is not None, layout, meta, ome, parts)
        except Noise2xError:
            raise
        except Exception as exc:
            raise Noise2xError(f"cannot write {p}: {exc}") from None


def frames_writable(path: str | os.PathLike, shape: Sequence[int] | None = None) -> bool:
    """Whether :func:`write_frames` writes a stack of ``shape`` to ``path`` frame by frame: as TIFF, or as plain
    FITS (:data:`FITS_STREAMED`) when gray, (N,H,W). ``shape`` None: whether it may, for some stack."""
    fmt = writable_format(path)
    if fmt == "TIFF":
        return True
    return (fmt == "MRC" or fmt == "FITS" and _suffix(path) in FITS_STREAMED) and (shape is None or len(shape) == 3)


def write_frames(path: str | os.PathLike, frames: Iterable[np.ndarray], shape: Sequence[int], *, kind: str,
                 like: str | os.PathLike | None = None, history: Sequence[str] = (), strip_exif: bool = False) -> None:
    """Write a TIFF stack or FITS cube of ``shape`` (N,H,W) or (N,H,W,3) atomically, each frame as it comes from
    ``frames``.

    The memory of a frame, not of the stack: ``frames`` may make each one when asked for (as ``noise2x
    denoise`` does with a stack read by :func:`open_stack`). Each frame is (H,W) or (H,W,3), already in
    ``kind`` (see :func:`stored`). ``like``: the file the frames come from, whose axes, pixel size and
    calibration (TIFF) or descriptive header cards (FITS) the output gets back, as :func:`write_image` does (not a
    pyramid's levels, which :func:`write_image` makes from the whole image).
    FITS: gray, and not compressed (.fz) or gzipped (.gz), which :func:`write_image` writes; ``history``: its
    HISTORY cards (MRC labels, a TIFF's ImageHistory tag, left out of a TIFF with ``strip_exif``), as
    :func:`write_image` writes them. If making a frame
    fails, the error goes on and ``path`` is left untouched.
    """
    p = Path(path)
    shape = tuple(int(n) for n in shape)
    fmt = writable_format(p)
    if not frames_writable(p, shape):
        raise UsageError(f"{p}: a stack is written frame by frame as TIFF, or gray as plain FITS "
                         f"({', '.join(FITS_STREAMED)}) or MRC, only")
    if kind not in _WRITABLE[fmt]:
        raise UsageError(f"{fmt} files cannot store {kind} samples ({p})")
    dtype = np.dtype(kind)
    ome = p.name.lower().endswith((".ome.tif", ".ome.tiff"))
    layout = _tiff_layout(Path(like), shape, ome) if like is not None and fmt == "TIFF" else None
    parts = _tiff_parts(Path(like), shape, ome) if like is not None and fmt == "TIFF" and layout is None else None
    if like is not None and parts is None:
        _series_flattened(Path(like), shape)
    if any(order != sorted(order) for _, (_, _, order, _) in parts or ()):
        raise UsageError(f"{like}: the axes of its series are not stored frame by frame; write the stack whole "
                         "(write_image)")
    if layout is not None and layout[2] != sorted(layout[2]):
        raise UsageError(f"{like}: its axes are not stored frame by frame; write the stack whole (write_image)")

    def checked() -> Iterator[np.ndarray]:
        n = 0
        for frame in frames:
            if n == shape[0] or frame.shape != shape[1:] or frame.dtype != dtype:
                raise InputError(f"frame {n + 1} for {p}: {frame.dtype} {frame.shape}, expected {kind} {shape[1:]} "
                                 f"({shape[0]} frames)")
            if kind == "float32":
                _check_finite(frame, f"frame {n + 1} for {p}")
            n += 1
            yield frame
        if n != shape[0]:
            raise InputError(f"{p}: {n} frames given, {shape[0]} expected")

    import tifffile

    with atomic_path(p) as tmp:
        try:
            tags: dict = {}
            if ome and layout is None and not parts:  # its frames as z-slices (as Fiji opens plain pages), not channels
                tags.update(ome=True, metadata={"axes": "ZYXS" if len(shape) == 4 else "ZYX"})
            kept = _tiff_compression(Path(like)) if like is not None and fmt == "TIFF" else {}
            tags.update({k: v for k, v in kept.items() if k not in ("tile", "bilevel")})  # (a 1-bit scan: below)
            tile = kept.get("tile")  # (in tiles again, a frame's tiles at a time: a slide's fluorescence channels
            # came back in strips, a whole-slide QA pass)
            if fmt == "TIFF" and like is not None and not parts:  # the first page's profile, dpi and tags (lost
                meta = photo_metadata(Path(like), 3 if len(shape) == 4 else 1)  # unsaid: a document scans QA pass)
                if strip_exif:
                    meta = {k: v for k, v in meta.items() if k not in ("exif", "xmp", "described")}
                tags.update(_photo_tags(meta, layout))
                if ome:  # (its description is the OME-XML)
                    tags.pop("description", None)
            geo = geotiff_like(like, shape) if fmt == "TIFF" and not parts else []
            if geo:
                tags["extratags"] = [*tags.get("extratags", []), *geo]
            if history:  # (what made it: the Software and ImageHistory tags, as FITS gets HISTORY cards)
                tags["software"] = _software()
                if fmt == "TIFF" and not strip_exif:  # (as write_image leaves it out: kept, a re-check)
                    tags["extratags"] = [*tags.get("extratags", []), (TIFF_IMAGE_HISTORY, 2, 0, _ascii_history(history),
                                                                      True)]
            if fmt == "FITS":
                _fits_stream(tmp, checked(), shape, kind, None if like is None else Path(like), history)
            elif fmt == "MRC":
                _mrc_bytes(tmp, np.empty((0,), dtype), None if like is None else Path(like), frames=checked(),
                           shape=shape, suffix=_suffix(p), history=history)
            elif parts:  # the series of a TIFF holding several, each written back as a series
                _write_parts(tmp, checked(), parts, dtype, ome, tags.get("compression"), tags.get("predictor", False),
                             {k: tags[k] for k in ("software", "extratags") if k in tags})  # (what made it: lost, a
                # re-check with a 1-bit page and a grey one of one size, which tifffile reads as two series)
            elif layout is not None:
                axes, full, _, extra = layout
                if extra.get("imagej") and axes.endswith("S") and dtype != np.uint8:  # ImageJ RGB is 8-bit
                    extra = {k: v for k, v in extra.items() if k != "imagej"} | {"metadata": {"axes": axes}}
                tiled = tile is not None and not extra.get("imagej") and extra.get("planarconfig") != "separate"
                tifffile.imwrite(tmp, _tiles_of(checked(), tile) if tiled else checked(), shape=full, dtype=dtype,
                                 **_tiff_kwargs(axes, extra, {**tags, **({"tile": tile} if tiled else {})}))
            else:
                own = _own_page_tags(like, shape, strip_exif) if like is not None and fmt == "TIFF" and not ome \
                    else None  # (an OME-TIFF: its pages take page 1's, as its OME-XML does)
                bilevel = like is not None and fmt == "TIFF" and not ome and tiff_bilevel(like)
                if own is None and not bilevel:
                    tiles = {"tile": tile} if tile is not None else {}
                    tifffile.imwrite(tmp, _tiles_of(checked(), tile) if tiles else checked(), shape=shape,
                                     dtype=dtype, photometric="rgb" if len(shape) == 4 else "minisblack", **tags,
                                     **tiles)
                else:  # (pages of their own dpi or profile, each with its own: page 1's went on each; a fax's pages
                    # 1-bit, a frame at a time: re-checks)
                    _write_own_pages(tmp, checked(), tags, own, len(shape) == 4,
                                     int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, bilevel)
        except Noise2xError:
            raise
        except Exception as exc:
            raise Noise2xError(f"cannot write {p}: {exc}") from None


def _tiles_of(frames: Iterable[np.ndarray], tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Each frame's tiles of ``tile`` size, row by row, as tifffile takes a TIFF written in tiles from an iterator
    (it pads those at the right and bottom edges)."""
    th, tw = tile
    for frame in frames:
        for y in range(0, frame.shape[0], th):
            for x in range(0, frame.shape[1], tw):
                yield frame[y:y + th, x:x + tw]


def write_pages(path: str | os.PathLike, pages: Iterable[np.ndarray], *, kind: str | None = None,
                like: str | os.PathLike | None = None, history: Sequence[str] = (), strip_exif: bool = False,
                size: int | None = None) -> None:
    """Write pages of different sizes ((H,W) or (H,W,3) each, already in ``kind``, or with ``kind`` None each in
    its own of :data:`KINDS`: see :func:`stored`) to the TIFF ``path`` atomically, one page each, in order, each
    as it comes from ``pages`` (a page's memory): the pages :func:`read_pages` read. ``size``: their bytes, where
    ``pages`` is no sequence (a BigTIFF beyond 4 GB, as tifffile decides). ``like``: the TIFF they come
    from, whose lossless compression, resolution, colour profile and descriptive tags (of its first page) each page
    gets, as :func:`write_frames` writes them; ``history``: the Software and ImageHistory tags (the latter left out
    with ``strip_exif``)."""
    import tifffile

    p = _file_name(path)
    if writable_format(p) != "TIFF":
        raise UsageError(f"{p}: pages of different sizes are written to a TIFF (.tif) only, one page each")
    if kind is not None and kind not in _WRITABLE["TIFF"]:
        raise UsageError(f"TIFF files cannot store {kind} samples ({p})")

    def checked(page: np.ndarray, n: int) -> np.ndarray:
        expected = kind or (page.dtype.name if page.dtype.name in KINDS else "uint8, uint16 or float32")
        if page.dtype.name != expected or page.ndim not in (2, 3) or (page.ndim == 3 and page.shape[-1] != 3):
            raise InputError(f"page {n} for {p}: {page.dtype} {page.shape}, expected {expected} (H,W) or (H,W,3)")
        if page.dtype == np.float32:
            _check_finite(page, f"page {n} for {p}")
        return page

    if size is None:
        pages = list(pages)
        size = sum(page.nbytes for page in pages)
    tags: dict = {}
    if like is not None:
        tags.update({k: v for k, v in _tiff_compression(Path(like)).items() if k not in ("tile", "bilevel")})
    first: dict = {}
    if history:
        tags["software"] = _software()
        if not strip_exif:
            first["extratags"] = [(TIFF_IMAGE_HISTORY, 2, 0, _ascii_history(history), True)]
    found = _pages_of(like) if like is not None else []  # (each input page's own dpi and profile, and 1-bit or not)
    ome = p.name.lower().endswith((".ome.tif", ".ome.tiff"))  # (an OME-TIFF of one image a page, as named: it was
    # a plain TIFF, a re-check)
    with atomic_path(p) as tmp:
        try:
            with tifffile.TiffWriter(tmp, ome=ome, bigtiff=size > 2**32 - 2**25) as tif:
                n = -1
                for n, page in enumerate(pages):
                    if n >= len(found):
                        found = []
                    page = checked(page, n + 1)
                    rgb = page.ndim == 3
                    meta = photo_metadata(Path(like), 3 if rgb else 1, page=found[n][0] if found else 0) \
                        if like is not None else {}  # (page 1's went on every page: a re-check)
                    if strip_exif:
                        meta = {k: v for k, v in meta.items() if k not in ("exif", "xmp", "described")}
                    kw = {**tags, **_photo_tags(meta)}
                    if ome:  # (its description is the OME-XML)
                        kw.pop("description", None)
                    if n == 0 and first:
                        kw["extratags"] = [*kw.get("extratags", []), *first["extratags"]]
                    if found and found[n][2] and not rgb and _black_and_white(page):  # (a 1-bit page: 1-bit)
                        page = page == 255
                        kw.pop("predictor", None)
                    elif found and found[n][-1] is not None:  # (in tiles as its page was: a slide's base was
                        kw["tile"] = found[n][-1]  # written in one strip, a whole-slide QA pass)
                    shown = {"axes": "YXS" if rgb else "YX", "Name": f"page {n + 1}"} if ome else None
                    tif.write(page, photometric="rgb" if rgb else "minisblack", metadata=shown, **kw)
                if n < 0:
                    raise InputError(f"no pages to write to {p}")
        except Noise2xError:
            raise
        except Exception as exc:
            raise Noise2xError(f"cannot write {p}: {exc}") from None


def stored(image, kind: str) -> tuple[np.ndarray, int]:
    """``image`` as a file of ``kind`` stores it, and how many of its values were clipped.

    Parameters
    ----------
    image : array_like
        Real values in the units of ``kind``.
    kind : {'uint8', 'uint16', 'float32'}

    Returns
    -------
    data : numpy.ndarray
        Of dtype ``kind``: integer kinds rounded to the nearest integer and
        clipped to their range (as :func:`write_image` writes them).
    clipped : int
        Values outside that range (0 for float32).
    """
    arr = np.asarray(image)
    if kind == "float32":
        return arr.astype(np.float32, copy=False), 0
    rounded = np.rint(arr)
    top = _MAX[kind]
    clipped = int(np.count_nonzero((rounded < 0) | (rounded > top)))
    return np.clip(rounded, 0, top, out=rounded).astype(kind), clipped  # (rounded is a new array)


def clipping_warning(path: str | os.PathLike, clipped: int, size: int, kind: str) -> None:
    """Warn (:class:`ClippingWarning`) where clipping to ``kind`` changed more than 1% of an output's values."""
    if clipped > 0.01 * size:
        warn_outside(
            ClippingWarning(
                f"writing {path}: {100.0 * clipped / size:.1f}% of the values were outside "
                f"[0, {_MAX[kind]}] and were clipped ({kind})"
            )
        )


#: an integer output (PNG, JPEG, ...) of float data whose values it holds as this many whole numbers or fewer is
#: warned of (:func:`_unit_range_warning`) or refused before the work (the CLI, of its input: cli._check_targets)
FEW_LEVELS = 16


def whole_levels(lo: float, hi: float, top: float) -> int:
    """How many whole numbers an integer file of peak ``top`` stores values in [lo, hi] as (rounded, clipped)."""
    return max(1, int(np.floor(min(hi, top) + 0.5) - np.floor(max(lo, 0.0) + 0.5)) + 1)


def _unit_range_warning(path: Path, arr: np.ndarray, kind: str) -> None:
    """Warn (:class:`ClippingWarning`) where float data in [0, 1] (an image scaled to that range) go to an integer
    file, which stores whole numbers: they would all become 0 or 1, a black picture, without a word; or where
    float data about 0 (an electron micrograph's, about -2..2) become :data:`FEW_LEVELS` grey levels or fewer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (an image of NaN alone)
        hi = float(np.nanmax(arr))  # (no copy)
        lo = float(np.nanmin(arr))
    if not lo < hi or whole_levels(lo, hi, _MAX[kind]) > FEW_LEVELS or (lo >= -0.5 and hi > 1.0):
        return  # (8- or 16-bit units stop here; a dark or flat picture in them, 0..10 or 100..101, too)
    sample = arr.reshape(-1)[:: max(1, arr.size // 65536)]
    sample = sample[np.isfinite(sample)]
    if not np.any(sample != np.round(sample)):  # (whole numbers: stored as they are)
        return
    if -0.5 <= lo and hi <= 1.0:
        warn_outside(ClippingWarning(
            f"writing {path}: its values lie within [{lo:.3g}, {hi:.3g}] (data scaled to [0, 1]?); "
            f"a {kind} file stores whole numbers 0..{_MAX[kind]}, so they become 0 and 1: write .tif or .fits "
            "(float32) to keep them"))
    else:
        warn_outside(ClippingWarning(
            f"writing {path}: its values lie within [{lo:.3g}, {hi:.3g}]; a {kind} file stores whole numbers "
            f"0..{_MAX[kind]}, so they become {whole_levels(lo, hi, _MAX[kind])} grey levels: write .tif, .fits or "
            ".mrc (float32) to keep them"))


def _writable_array(image, fmt: str, p: Path, blanks: bool = False) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype.kind not in "uif":
        raise InputError(f"image for {p} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim >= 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    single = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3)
    stack = arr.ndim == 4 and arr.shape[-1] == 3 or (arr.ndim == 3 and not single and fmt in STACK_FORMATS)
    if fmt in ("FITS", "MRC") and arr.shape[-1] == 3 and arr.ndim in (3, 4):
        raise UsageError(f"cannot write {p}: {'an' if fmt == 'MRC' else 'a'} {fmt} file here holds gray images and "
                         f"stacks, not colour ones "
                         f"(shape {arr.shape}); write .tif or .png")
    if arr.ndim == 4 and arr.shape[-1] == 3 and fmt != "TIFF":
        raise UsageError(f"cannot write {p}: a stack of shape {arr.shape} can only be written as TIFF (.tif/.tiff)")
    if not (single or stack):
        allowed = {"TIFF": "(H,W), (H,W,3) or a stack (N,H,W[,3])", "FITS": "(H,W) or a stack (N,H,W)",
                   "MRC": "(H,W) or a stack (N,H,W)"}.get(fmt, "(H,W) or (H,W,3) (stacks only as TIFF, FITS or MRC)")
        raise InputError(f"image for {p} must be {allowed}, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"image for {p} is empty (shape {arr.shape})")
    if arr.dtype not in (np.float32, np.uint8, np.uint16):  # (those are kept: a large stack is not doubled here)
        arr = arr.astype(np.float64, copy=False)
    _check_finite(arr, f"image for {p}", blanks=blanks, hint="; if NaN marks blank pixels (no data), pass "
                  "blanks=True (written as NaN, or transparent in a PNG)")
    return arr


def _with_alpha(arr: np.ndarray, alpha, fmt: str, p: Path) -> np.ndarray:
    """The image with its alpha plane appended as a last sample: (...,2) gray + alpha or (...,4) RGBA."""
    if fmt not in ALPHA_FORMATS:
        what = "are written lossily here and keep no alpha channel" if fmt in LOSSY_FORMATS else "have no alpha channel"
        raise UsageError(f"cannot write {p} with alpha: {fmt} files {what} (use .png, .tif or .webp)")
    a = np.asarray(alpha)
    if a.dtype.kind not in "uif":
        raise InputError(f"alpha for {p} must hold real numbers, got dtype {a.dtype}")
    rgb = arr.shape[-1] == 3 and arr.ndim in (3, 4)  # as _writable_array reads the shape
    spatial = arr.shape[:-1] if rgb else arr.shape
    if a.shape != spatial and a.shape[1:] == spatial and a.shape[0] == 1:
        a = a[0]
    if a.shape != spatial:
        raise InputError(f"alpha for {p} has shape {a.shape}; the image {arr.shape} needs {spatial}")
    a = a.astype(np.float64, copy=False)
    _check_finite(a, f"alpha for {p}")
    return np.concatenate([arr if rgb else arr[..., None], a[..., None]], axis=-1)


def _write_parts(tmp: Path, frames: Iterator[np.ndarray], parts: list, dtype: Any, ome: bool,
                 compression: Any = None, predictor: bool = False, first: dict | None = None) -> None:
    """Write ``frames`` (as a stack flattens them) to the TIFF ``tmp`` as the series of :func:`_tiff_parts`, each
    frame as it comes (in order: each series' frames stored frame by frame); compressed by ``compression`` (and
    its ``predictor``) where given; ``first``: tifffile keywords of the first series alone (Software and
    ImageHistory: what made it)."""
    import itertools

    import tifffile

    more = {} if compression is None else {"compression": compression, **({"predictor": True} if predictor else {})}
    size = sum(int(np.prod(full, dtype=np.int64)) for _, (_, full, _, _) in parts) * np.dtype(dtype).itemsize
    with tifffile.TiffWriter(tmp, ome=ome, bigtiff=size > 2**32 - 2**25) as tif:  # (as tifffile.imwrite decides)
        for i, (n, (axes, full, order, extra)) in enumerate(parts):
            made = {k: v for k, v in (first or {}).items() if i == 0 or k == "software"}  # (history on the first)
            bilevel = extra.get("_bilevel", False) and np.dtype(dtype) == np.uint8 and not axes.endswith("S")
            kw = _tiff_kwargs(axes, {k: v for k, v in extra.items() if k not in ("_bilevel", "_tile")},
                              {**more, **made})
            tile = extra.get("_tile") if not bilevel and extra.get("planarconfig") != "separate" else None
            if bilevel:  # a 1-bit series: its frames at once, 1-bit again where they hold black and white alone
                data = np.stack(list(itertools.islice(frames, n)))
                if _black_and_white(data):
                    data = data == 255
                    kw.pop("predictor", None)
                tif.write(np.transpose(data.reshape(full), np.argsort(order)), **kw)
            elif order != sorted(order):  # its axes not stored frame by frame: the series' frames at once
                data = np.stack(list(itertools.islice(frames, n))).reshape(full)
                tif.write(np.transpose(data, np.argsort(order)), **kw, **({"tile": tile} if tile else {}))
            elif tile:  # (in tiles, a frame's tiles at a time: a multi-series OME's came back in strips, a re-check)
                tif.write(_tiles_of(itertools.islice(frames, n), tile), shape=full, dtype=dtype, tile=tile, **kw)
            else:
                tif.write(itertools.islice(frames, n), shape=full, dtype=dtype, **kw)


def _photo_tags(meta: dict, layout: tuple | None = None) -> dict:
    """tifffile's keywords for what :func:`photo_metadata` read of a photo or document (on each page of a stack):
    its colour profile, XMP record, descriptive tags and resolution (unless ``layout`` gives its own)."""
    tags: dict = {}
    if "icc" in meta:
        tags["iccprofile"] = meta["icc"]
    if "xmp" in meta:
        tags["extratags"] = [(700, 1, len(meta["xmp"]), meta["xmp"], True)]
    for code, value in sorted(meta.get("described", {}).items()):  # camera, date, author, copyright (as text
        tags.setdefault("extratags", []).append((code, 2, 0, value.encode("utf-8"), True))  # UTF-8 as exiftool)
    if "dpi" in meta and not (layout and "resolution" in layout[3]):
        tags.update(resolution=meta["dpi"], resolutionunit=2)
    if "description" in meta and not (layout and (layout[3].get("imagej") or layout[3].get("ome"))):
        tags["description"] = meta["description"].encode("utf-8")  # (an SVS's MPP was lost: a whole-slide QA
        # pass; UTF-8 bytes, as tifffile refuses text beyond ASCII: "µm" failed the write after the work, a re-check)
    return tags


def _encode(tmp: Path, data: np.ndarray, fmt: str, kind: str, alpha: bool = False,
            layout: tuple[str, tuple[int, ...], list[int], dict] | None = None, meta: dict | None = None,
            ome: bool = False, parts: list | None = None) -> None:
    meta = meta or {}
    if fmt == "TIFF":
        import tifffile

        tags: dict = {}
        if parts:  # the series of a TIFF holding several, each written back as a series (see _tiff_parts)
            made = {"software": meta["software"]} if meta.get("software") else {}
            if meta.get("history"):
                made["extratags"] = [(TIFF_IMAGE_HISTORY, 2, 0, _ascii_history(meta["history"]), True)]
            _write_parts(tmp, iter(data), parts, data.dtype, ome, meta.get("compression"), meta.get("predictor", False),
                         made)
            return
        if ome and layout is None and not alpha:  # .ome.tif: an OME-TIFF; a stack's frames as z-slices (as Fiji
            rgb = data.ndim in (3, 4) and data.shape[-1] == 3  # opens plain pages), not channels as tifffile guesses
            tags.update(ome=True, metadata={"axes": "Z" * (data.ndim - rgb == 3) + "YX" + "S" * rgb})
        tags.update(_photo_tags(meta, layout))
        if ome:  # (its description is the OME-XML)
            tags.pop("description", None)
        if meta.get("history"):  # what made it, as a PNG's Comment (a TIFF named the version alone: a quantitative
            tags.setdefault("extratags", []).append((TIFF_IMAGE_HISTORY, 2, 0, _ascii_history(meta["history"]),
                                                     True))  # imaging QA pass)
        if meta.get("geo"):  # a GeoTIFF's georeferencing and GDAL's tags (geotiff_like)
            tags.setdefault("extratags", []).extend(meta["geo"])
        if meta.get("software"):
            tags["software"] = meta["software"]
        if "compression" in meta:  # that of the TIFF the output is written like (lossless ones only)
            tags["compression"] = meta["compression"]
            if meta.get("predictor"):
                tags["predictor"] = True
        if "tile" in meta and not (layout is not None and layout[3].get("imagej")):  # (and its tiles; ImageJ's
            tags["tile"] = meta["tile"]  # hyperstacks hold none)
        if meta.get("bilevel") and not alpha and _black_and_white(data):  # a 1-bit scan's result in black and white:
            data = data == 255  # 1-bit again (it was 8-bit, 23 times larger, a document scans QA pass)
            tags.pop("predictor", None)
            if layout is not None and layout[3].get("imagej"):  # (ImageJ holds no 1-bit images: its resolution
                extra = {k: v for k, v in layout[3].items() if k != "imagej"} | {"metadata": {"axes": layout[0]}}
                layout = (*layout[:3], extra)  # kept, as TIFF tags)
        if layout is not None:  # a stack written back in its input's axes (an ImageJ hyperstack, OME, ...)
            axes, shape, order, extra = layout
            data = np.transpose(data.reshape(shape), np.argsort(order))
            if extra.get("imagej") and axes.endswith("S") and data.dtype != np.uint8:  # ImageJ RGB is 8-bit
                extra = {k: v for k, v in extra.items() if k != "imagej"} | {"metadata": {"axes": axes}}
            levels = meta.get("pyramid") if not extra.get("imagej") and data.dtype != bool and "Y" in axes \
                and "X" in axes else None
            _write_levels(tmp, data, _tiff_kwargs(axes, extra, tags), levels, (axes.index("Y"), axes.index("X")))
        elif alpha:  # the last sample is alpha: gray + alpha (2 samples) or RGBA (4)
            tifffile.imwrite(tmp, data, photometric="rgb" if data.shape[-1] == 4 else "minisblack",
                             extrasamples=["unassalpha"], planarconfig="contig", **tags)
        else:
            rgb = data.shape[-1] == 3 and data.ndim in (3, 4)
            own = meta.get("own_pages")
            if own is not None and len(own) == len(data) and data.ndim - rgb == 3:  # (pages of their own dpi)
                _write_own_pages(tmp, iter(data), tags, own, rgb, data.nbytes)
            else:
                levels = meta.get("pyramid") if data.dtype != bool else None
                _write_levels(tmp, data, {"photometric": "rgb" if rgb else "minisblack", **tags}, levels,
                              (0, 1) if data.ndim - rgb == 2 else (1, 2))
    elif kind == "uint16" and fmt == "HEIF":
        _write_heif16(tmp, data, meta)
    elif kind == "uint16":
        tmp.write_bytes(_png16_bytes(data, meta))
    else:
        from PIL import Image, PngImagePlugin

        im = Image.fromarray(np.ascontiguousarray(data))
        keep = {"icc_profile": meta.get("icc"), "exif": meta.get("exif"), "dpi": meta.get("dpi"), "xmp": meta.get("xmp")}
        keep = {k: v for k, v in keep.items() if v is not None}
        if fmt == "JPEG":  # a JPEG marker segment holds at most 65533 bytes: a longer record is left out
            if len(keep.get("exif", b"")) > _JPEG_SEGMENT:  # (write_image made it fit, or said why not)
                del keep["exif"]
            if len(keep.get("xmp", b"")) > _JPEG_SEGMENT - 29:  # after the XMP namespace
                del keep["xmp"]
            im.save(tmp, format="JPEG", quality=95, **keep)
        elif fmt == "PNG":
            if "xmp" in keep or meta.get("software") or meta.get("png_colour"):
                keep["pnginfo"] = PngImagePlugin.PngInfo()
            for kind, body in meta.get("png_colour", []):  # (gAMA, cHRM, sRGB: a colour space said without a
                keep["pnginfo"].add(kind, body)  # profile)
            if "xmp" in keep:  # an iTXt chunk
                keep["pnginfo"].add_itxt("XML:com.adobe.xmp", keep.pop("xmp").decode("utf-8", "replace"))
            if meta.get("software"):  # (PNG's keywords for the program and a comment: what made it)
                keep["pnginfo"].add_text("Software", meta["software"])
            if meta.get("history"):
                comment = "\n".join(meta["history"])  # (a file name not in UTF-8: its bytes escaped)
                keep["pnginfo"].add_itxt("Comment", comment.encode("utf-8", "surrogateescape").decode(
                    "utf-8", "backslashreplace"))
            im.save(tmp, format="PNG", **keep)
        elif fmt == "WEBP":  # lossless: the denoised pixels as they are, in about half a PNG's bytes
            im.save(tmp, format="WEBP", lossless=True, quality=100, exact=True, **keep)
        elif fmt in LOSSY_FORMATS:  # lossy, at a high quality and full-resolution colour, as JPEG is written
            colour = {"AVIF": {"subsampling": "4:4:4" if im.mode == "RGB" else "4:0:0"}, "HEIF": {"chroma": 444}}
            im.save(tmp, format=fmt, quality=90, **colour[fmt], **keep)
        else:
            im.save(tmp, format=fmt)
