"""Blind-spot pixel selection and replacement, all from sampled coordinates (numpy only).

The self-supervised methods that learn from single noisy images hide some
pixels from the network and train it to predict them. This module samples
*which* pixels (coordinates) and *what replaces them* (more coordinates, or a
value computed from coordinates); the method modules apply them to tensors.
Masks are always built from the sampled coordinates (:func:`coords_to_mask`),
never by comparing pixel values.

Coordinates follow numpy's advanced-indexing convention: a tuple of integer
arrays, one per axis of the array they index, as returned by
``numpy.nonzero``. Every function accepts an array shape with leading axes
(e.g. ``(B, C, H, W)``): the last two axes are the image plane, every leading
index (image, channel) is an independent plane. So for a batch of colour
patches each channel of each image gets its own blind spots, as in the
Noise2Void and Noise2Same reference code.

Randomness is explicit: every sampling function takes ``rng`` (anything
:func:`numpy.random.default_rng` accepts). Inputs are never modified.

>>> coords = stratified_coords((64, 64), percent=1.5, rng=0)
>>> len(coords[0])                        # box side round(sqrt(100/1.5)) = 8: one pixel per 8x8 box
64
>>> src = neighbour_coords(coords, shape=(64, 64), radius=2, rng=0)
>>> bool(np.any((src[0] == coords[0]) & (src[1] == coords[1])))   # never the pixel itself
False
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np

from .errors import InputError, UsageError
from .noise import generator

__all__ = [
    "box_size",
    "stratified_coords",
    "window_offsets",
    "neighbour_coords",
    "median_values",
    "struct_mask_from_spec",
    "struct_coords",
    "grid_phase",
    "grid_coords",
    "coords_to_mask",
    "donut_kernel",
    "NEIGHBOUR_PAIRS",
    "neighbour_pair_choice",
]

Coords = tuple[np.ndarray, ...]


def _shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise InputError(f"expected an array shape with at least two axes (..., H, W), got {shape}")
    if any(s <= 0 for s in shape):
        raise InputError(f"every axis must be non-empty, got shape {shape}")
    return shape


def box_size(percent: float) -> int:
    """Side of the stratification box that holds one blind spot: ``round(sqrt(100 / percent))``.

    Parameters
    ----------
    percent : float
        Percentage of pixels to mask, in (0, 100] (0.198 for Noise2Void's BSD68
        setting, 1.5 for its general default, 0.5 for Noise2Same).

    Returns
    -------
    int
        The box side in pixels (at least 1).
    """
    percent = float(percent)
    if not math.isfinite(percent) or not 0.0 < percent <= 100.0:
        raise UsageError(f"masked percentage must be in (0, 100], got {percent}")
    return max(1, int(round(math.sqrt(100.0 / percent))))


def stratified_coords(shape: Sequence[int], *, percent: float, rng=None) -> Coords:
    """Sample blind-spot coordinates: one uniformly random pixel per box of side :func:`box_size`.

    The image plane is tiled by boxes of side ``b = box_size(percent)`` starting
    at the top-left corner; in each box one pixel is drawn uniformly. Boxes cut
    by the right or bottom border keep their pixel only if it falls inside the
    plane (the rule of the Noise2Void reference code), so a full box always
    holds exactly one blind spot and a cut box at most one.

    Parameters
    ----------
    shape : sequence of int
        ``(..., H, W)``; each leading index is an independent plane.
    percent : float
        Percentage of pixels to mask (sets the box side).
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    tuple of ndarray
        One int64 index array per axis of ``shape`` (sorted by plane, then box).
    """
    shape = _shape(shape)
    rng = generator(rng)
    b = box_size(percent)
    *lead, h, w = shape
    ny, nx = -(-h // b), -(-w // b)
    n_planes = int(np.prod(lead, dtype=np.int64)) if lead else 1
    offsets = rng.integers(0, b, size=(n_planes, ny, nx, 2))
    ys = offsets[..., 0] + (np.arange(ny) * b)[None, :, None]
    xs = offsets[..., 1] + (np.arange(nx) * b)[None, None, :]
    plane = np.broadcast_to(np.arange(n_planes)[:, None, None], ys.shape)
    keep = (ys < h) & (xs < w)
    plane, ys, xs = plane[keep], ys[keep], xs[keep]
    lead_idx = np.unravel_index(plane, lead) if lead else ()
    return tuple(np.asarray(a, dtype=np.int64) for a in (*lead_idx, ys, xs))


def window_offsets(radius: int, *, struct_mask: np.ndarray | None = None) -> np.ndarray:
    """Offsets ``(dy, dx)`` of the ``(2r+1)^2`` window around a pixel, EXCLUDING the pixel itself.

    Parameters
    ----------
    radius : int
        Window radius ``r`` (>= 1).
    struct_mask : ndarray, optional
        A structN2V mask (odd-sized, centred on the pixel): offsets it hides are
        excluded too, so that a blind spot is never refilled from a pixel whose
        noise is correlated with its own.

    Returns
    -------
    ndarray
        ``(K, 2)`` int64 offsets, row-major order, never ``(0, 0)``.
    """
    radius = int(radius)
    if radius < 1:
        raise UsageError(f"neighbourhood radius must be at least 1, got {radius}")
    d = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(d, d, indexing="ij")
    keep = ~((dy == 0) & (dx == 0))
    if struct_mask is not None:
        for oy, ox in _struct_offsets(struct_mask):
            keep &= ~((dy == oy) & (dx == ox))
    offsets = np.stack([dy[keep], dx[keep]], axis=-1).astype(np.int64)
    if len(offsets) == 0:
        raise UsageError(f"the structN2V mask hides the whole {2 * radius + 1}x{2 * radius + 1} window; "
                         f"use a larger neighbourhood radius")
    return offsets


def _candidates(coords: Coords, shape: tuple[int, ...], offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate neighbour rows/cols ``(n, K)`` and whether each lies inside the plane."""
    h, w = shape[-2:]
    ys = coords[-2][:, None] + offsets[None, :, 0]
    xs = coords[-1][:, None] + offsets[None, :, 1]
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    return ys, xs, inside


def _spare_blind_spots(coords: Coords, shape: tuple[int, ...], ys: np.ndarray, xs: np.ndarray,
                       inside: np.ndarray) -> np.ndarray:
    """``inside`` less the candidates that are blind spots themselves, where a blind spot keeps another candidate.

    A replacement read from another blind spot puts that pixel's own noisy value (its target) into its window: a
    little of the identity the blind spot hides. A blind spot whose window holds nothing but blind spots keeps its
    candidates as they were.
    """
    blind = np.zeros(shape, dtype=bool)
    blind[coords] = True
    lead = tuple(c[:, None] for c in coords[:-2])
    hit = blind[(*lead, np.clip(ys, 0, shape[-2] - 1), np.clip(xs, 0, shape[-1] - 1))]
    spared = inside & ~hit
    keep = spared.any(axis=1)
    return np.where(keep[:, None], spared, inside)


def _check_coords(coords: Coords, shape: tuple[int, ...]) -> Coords:
    if len(coords) != len(shape):
        raise InputError(f"coordinates have {len(coords)} axes but the shape {shape} has {len(shape)}")
    coords = tuple(np.asarray(c, dtype=np.int64).ravel() for c in coords)
    n = len(coords[0])
    for axis, (c, size) in enumerate(zip(coords, shape)):
        if len(c) != n:
            raise InputError("coordinate arrays differ in length")
        if n and (c.min() < 0 or c.max() >= size):
            raise InputError(f"coordinates on axis {axis} fall outside the shape {shape}")
    return coords


def neighbour_coords(coords: Coords, *, shape: Sequence[int], radius: int, rng=None,
                     struct_mask: np.ndarray | None = None, spare_blind_spots: bool = False) -> Coords:
    """Draw, for each blind spot, a replacement pixel uniformly from its window, never itself.

    The candidates are the pixels of the ``(2r+1)^2`` window that lie inside the
    plane, minus the centre (and minus the structN2V-hidden pixels when a
    ``struct_mask`` is given); one is drawn uniformly for each blind spot (at a
    border the window is cropped, as in the Noise2Void reference code).

    Parameters
    ----------
    coords : tuple of ndarray
        Blind spots, as returned by :func:`stratified_coords`.
    shape : sequence of int
        The shape the coordinates index.
    radius : int
        Window radius ``r`` (2 in Noise2Void's BSD68 setting, 5 by default).
    rng : None, int or numpy.random.Generator
        Source of randomness.
    struct_mask : ndarray, optional
        structN2V mask whose pixels are excluded from the candidates.
    spare_blind_spots : bool
        Leave the other blind spots out of the candidates (a blind spot whose window holds no other pixel keeps
        them). The reference code draws from every pixel of the window, so that, at a high density, a blind
        spot can be refilled with the noisy value of a neighbouring blind spot, which is that neighbour's target.

    Returns
    -------
    tuple of ndarray
        Coordinates of the source pixels, same layout as ``coords`` (leading
        indices unchanged: a pixel is refilled from its own plane).
    """
    shape = _shape(shape)
    coords = _check_coords(coords, shape)
    rng = generator(rng)
    offsets = window_offsets(radius, struct_mask=struct_mask)
    ys, xs, inside = _candidates(coords, shape, offsets)
    if len(coords[0]) and not inside.any(axis=1).all():
        raise InputError(f"an image plane of {shape[-2]}x{shape[-1]} pixels has no neighbour "
                         f"to replace a blind spot with")
    if spare_blind_spots and len(coords[0]):
        inside = _spare_blind_spots(coords, shape, ys, xs, inside)
    keys = rng.random(inside.shape)
    keys[~inside] = -1.0
    pick = np.argmax(keys, axis=1) if len(coords[0]) else np.zeros(0, dtype=np.int64)
    rows = np.arange(len(pick))
    return (*coords[:-2], ys[rows, pick], xs[rows, pick])


def median_values(image: np.ndarray, coords: Coords, *, radius: int,
                  struct_mask: np.ndarray | None = None, spare_blind_spots: bool = False) -> np.ndarray:
    """Median of each blind spot's window, the centre excluded (N2V2's replacement).

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` array the coordinates index (not modified).
    coords : tuple of ndarray
        Blind spots.
    radius : int
        Window radius ``r``; the window is cropped at the borders.
    struct_mask : ndarray, optional
        structN2V mask whose pixels are left out of the median.
    spare_blind_spots : bool
        Leave the other blind spots out of the median (as in :func:`neighbour_coords`).

    Returns
    -------
    ndarray
        One float64 value per blind spot (the mean of the two middle values
        when the window holds an even number of pixels, as ``numpy.median``).
    """
    image = np.asarray(image)
    shape = _shape(image.shape)
    coords = _check_coords(coords, shape)
    offsets = window_offsets(radius, struct_mask=struct_mask)
    ys, xs, inside = _candidates(coords, shape, offsets)
    if len(coords[0]) == 0:
        return np.zeros(0, dtype=np.float64)
    if not inside.any(axis=1).all():
        raise InputError(f"an image plane of {shape[-2]}x{shape[-1]} pixels has no neighbour "
                         f"to replace a blind spot with")
    if spare_blind_spots:
        inside = _spare_blind_spots(coords, shape, ys, xs, inside)
    lead = tuple(c[:, None] for c in coords[:-2])
    values = image[(*lead, np.clip(ys, 0, shape[-2] - 1), np.clip(xs, 0, shape[-1] - 1))].astype(np.float64)
    values[~inside] = np.nan
    return np.nanmedian(values, axis=1)


def _struct_offsets(struct_mask: np.ndarray) -> np.ndarray:
    """Offsets from the centre of the hidden (non-zero) pixels of a structN2V mask, centre excluded."""
    mask = np.asarray(struct_mask)
    if mask.ndim != 2 or mask.shape[0] % 2 == 0 or mask.shape[1] % 2 == 0:
        raise UsageError(f"a structN2V mask must be a 2-D array of odd height and width, got shape {mask.shape}")
    cy, cx = mask.shape[0] // 2, mask.shape[1] // 2
    oy, ox = np.nonzero(mask)
    keep = ~((oy == cy) & (ox == cx))
    return np.stack([oy[keep] - cy, ox[keep] - cx], axis=-1).astype(np.int64)


def struct_mask_from_spec(spec: str | None) -> np.ndarray | None:
    """Build a structN2V mask from a short text spec.

    Parameters
    ----------
    spec : str or None
        ``""``/``"none"`` (no mask), ``"horizontal:R"`` (the ``2R+1`` pixels of the
        row through the blind spot: for noise correlated along rows),
        ``"vertical:R"`` (the column), or an explicit JSON nested list of 0/1 of
        odd height and width, e.g. ``"[[0,1,1,1,0]]"``.

    Returns
    -------
    ndarray or None
        ``uint8`` mask (centre = the blind spot itself), or None.
    """
    if spec is None:
        return None
    text = str(spec).strip()
    if text.lower() in ("", "none", "off"):
        return None
    kind, _, arg = text.partition(":")
    kind = kind.strip().lower()
    if kind in ("horizontal", "vertical"):
        if not arg.strip().isascii() or not arg.strip().lstrip("+-").isdigit():  # ('2_0' read as 20 by int())
            raise UsageError(f"structN2V mask '{spec}': expected {kind}:R with an integer radius R >= 1 (R pixels "
                             f"hidden on each side of the blind spot: 2R+1 in all)")
        r = int(arg)
        if r < 1:
            raise UsageError(f"structN2V mask '{spec}': the radius must be at least 1")
        line = np.ones((1, 2 * r + 1), dtype=np.uint8)
        return line if kind == "horizontal" else line.T.copy()
    try:
        mask = np.asarray(json.loads(text))
    except (ValueError, TypeError):
        raise UsageError(f"invalid structN2V mask '{spec}'; use none, horizontal:R, vertical:R "
                         f"or a nested list such as [[0,1,1,1,0]]") from None
    if mask.ndim == 1:
        mask = mask[None, :]
    if mask.ndim != 2 or mask.size == 0 or not np.isin(mask, (0, 1)).all():
        raise UsageError(f"invalid structN2V mask '{spec}': expected a 2-D list of 0/1 values")
    mask = mask.astype(np.uint8)
    if len(_struct_offsets(mask)) == 0:  # (odd sizes checked there) [[1]], [[0,1,0]]: structN2V that hides nothing
        raise UsageError(f"structN2V mask '{spec}' hides no pixel beside the blind spot (its centre): mark with 1 "
                         f"the neighbours to hide, e.g. [[1,1,1,1,1]] for two on each side along rows, or drop "
                         f"method.struct for plain Noise2Void")
    return mask


def struct_coords(coords: Coords, *, shape: Sequence[int], struct_mask: np.ndarray) -> Coords:
    """Pixels that structN2V hides around each blind spot (the mask centred on it).

    Parameters
    ----------
    coords : tuple of ndarray
        Blind spots.
    shape : sequence of int
        The shape the coordinates index.
    struct_mask : ndarray
        Odd-sized 0/1 mask; its centre is the blind spot (not included in the
        output: the blind spot gets its own replacement).

    Returns
    -------
    tuple of ndarray
        Coordinates of the hidden pixels inside the plane (pixels outside are
        dropped; a pixel hidden by two blind spots appears twice).
    """
    shape = _shape(shape)
    coords = _check_coords(coords, shape)
    offsets = _struct_offsets(struct_mask)
    if len(offsets) == 0 or len(coords[0]) == 0:
        return tuple(np.zeros(0, dtype=np.int64) for _ in shape)
    ys, xs, inside = _candidates(coords, shape, offsets)
    lead = tuple(np.broadcast_to(c[:, None], ys.shape)[inside] for c in coords[:-2])
    return (*lead, ys[inside], xs[inside])


def grid_phase(index: int, width: int) -> tuple[int, int]:
    """Row and column phase of Noise2Self's ``index``-th grid mask (``width**2`` masks in all)."""
    width = int(width)
    if width < 2:
        raise UsageError(f"grid width must be at least 2, got {width}")
    index = int(index) % (width * width)
    return index % width, (index // width) % width


def grid_coords(shape: Sequence[int], *, width: int, phase: tuple[int, int]) -> Coords:
    """Noise2Self's J-invariant grid: every pixel with ``y % width == py`` and ``x % width == px``.

    Parameters
    ----------
    shape : sequence of int
        ``(..., H, W)``; every leading index (channel) gets the same grid, so a
        masked pixel is hidden in all channels at once.
    width : int
        Grid spacing (4 in the Noise2Self reference code: 16 disjoint masks).
    phase : (int, int)
        Row and column phase, each in ``[0, width)`` (see :func:`grid_phase`).

    Returns
    -------
    tuple of ndarray
        Coordinates of the masked pixels.
    """
    shape = _shape(shape)
    width = int(width)
    py, px = (int(p) for p in phase)
    if width < 2:
        raise UsageError(f"grid width must be at least 2, got {width}")
    if not (0 <= py < width and 0 <= px < width):
        raise UsageError(f"grid phase {phase} must lie in [0, {width})")
    *lead, h, w = shape
    ys = np.arange(py, h, width)
    xs = np.arange(px, w, width)
    grids = np.meshgrid(*(np.arange(n) for n in lead), ys, xs, indexing="ij")
    return tuple(g.ravel().astype(np.int64) for g in grids)


def coords_to_mask(coords: Coords, shape: Sequence[int]) -> np.ndarray:
    """Boolean mask of ``shape``, True exactly at ``coords``.

    Parameters
    ----------
    coords : tuple of ndarray
        One index array per axis of ``shape``.
    shape : sequence of int
        Shape of the mask.

    Returns
    -------
    ndarray
        ``bool`` array.
    """
    shape = _shape(shape)
    coords = _check_coords(coords, shape)
    mask = np.zeros(shape, dtype=bool)
    mask[coords] = True
    return mask


def donut_kernel() -> np.ndarray:
    """The 3x3 local average without the centre used by Noise2Self and Noise2Same's ``donut``.

    Weights 1 on the 4-neighbours, 0.5 on the diagonals, 0 at the centre, normalised to sum 1.
    """
    kernel = np.array([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]])
    return kernel / kernel.sum()


#: The 8 ordered pairs of 4-adjacent positions in a 2x2 cell (position k is row k // 2, column k % 2),
#: as in the Neighbor2Neighbor reference sub-sampler.
NEIGHBOUR_PAIRS = np.array([[0, 1], [0, 2], [1, 3], [2, 3], [1, 0], [2, 0], [3, 1], [3, 2]], dtype=np.int64)


def neighbour_pair_choice(shape: Sequence[int], *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Neighbor2Neighbor's random sub-sampler: two different, 4-adjacent positions in each 2x2 cell.

    Parameters
    ----------
    shape : sequence of int
        Shape of the cell grid, e.g. ``(B, H // 2, W // 2)``: one independent
        draw per cell (and so per image and per call).
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    (ndarray, ndarray)
        Positions ``k1`` and ``k2`` in ``{0, 1, 2, 3}`` of the first and second
        sub-image's pixel in each cell (row ``k // 2``, column ``k % 2``);
        ``k1 != k2`` and they share a side.
    """
    shape = tuple(int(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise InputError(f"the cell grid must be non-empty, got shape {shape}; images need at least 2x2 pixels")
    rng = generator(rng)
    pick = rng.integers(0, len(NEIGHBOUR_PAIRS), size=shape)
    pairs = NEIGHBOUR_PAIRS[pick]
    return pairs[..., 0], pairs[..., 1]
