"""Patch sampling and D4 augmentation (numpy only, pure functions).

Images are (H, W) or (H, W, C) arrays. Every function returns new arrays and
never modifies its inputs. Randomness comes from an explicit ``rng``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import UsageError
from .noise import generator

#: The 8 transforms of the dihedral group D4: index k = rotation k % 4 (x 90 deg) then a flip if k >= 4.
D4 = tuple(range(8))


def d4(image: np.ndarray, k: int) -> np.ndarray:
    """Apply D4 transform ``k`` (0..7) to the spatial axes of ``image``.

    ``k % 4`` counter-clockwise quarter turns, then a left-right flip when
    ``k >= 4``. Returns a new contiguous array. ``d4_inverse(d4(x, k), k) == x``.
    """
    k = int(k)
    if not 0 <= k < 8:
        raise ValueError(f"D4 transform index must be in 0..7, got {k}")
    out = np.rot90(image, k % 4, axes=(0, 1))
    if k >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def d4_inverse(image: np.ndarray, k: int) -> np.ndarray:
    """Undo :func:`d4` with the same ``k``."""
    k = int(k)
    if not 0 <= k < 8:
        raise ValueError(f"D4 transform index must be in 0..7, got {k}")
    out = image[:, ::-1] if k >= 4 else image
    return np.ascontiguousarray(np.rot90(out, -(k % 4), axes=(0, 1)))


def random_corners(shape: Sequence[int], size: int, n: int, *,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Top-left corners (y, x) of ``n`` random ``size`` x ``size`` patches inside ``shape``.

    Parameters
    ----------
    shape : (H, W, ...) sequence
        The image shape; only the first two entries are used.
    size : int
        Patch side.
    n : int
        Number of patches.
    rng : None, int or numpy Generator

    Returns
    -------
    ndarray of int, shape (n, 2)

    Raises
    ------
    UsageError
        The image is smaller than the patch.
    """
    h, w = int(shape[0]), int(shape[1])
    if size > h or size > w:
        raise UsageError(f"image of {h}x{w} pixels is smaller than the patch size {size}; "
                         f"lower data.patch_size")
    rng = generator(rng)
    ys = rng.integers(0, h - size + 1, size=n)
    xs = rng.integers(0, w - size + 1, size=n)
    return np.stack([ys, xs], axis=1)


def crop(image: np.ndarray, corner: Sequence[int], size: int) -> np.ndarray:
    """The ``size`` x ``size`` patch of ``image`` at top-left ``corner`` (a new array)."""
    y, x = int(corner[0]), int(corner[1])
    if y < 0 or x < 0 or y + size > image.shape[0] or x + size > image.shape[1]:
        raise ValueError(f"patch at ({y}, {x}) of size {size} leaves the {image.shape[0]}x{image.shape[1]} image")
    return image[y:y + size, x:x + size].copy()


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` patch, or the whole image along a shorter side."""
    h, w = image.shape[:2]
    sh, sw = min(size, h), min(size, w)
    y, x = (h - sh) // 2, (w - sw) // 2
    return image[y:y + sh, x:x + sw].copy()


def paired_patches(images: Sequence[np.ndarray], size: int, *, rng: np.random.Generator | int | None = None,
                   augment: bool = True, transforms: Sequence[int] | None = None) -> list[np.ndarray]:
    """One random patch at the same place (and the same D4 transform) from aligned images.

    Parameters
    ----------
    images : sequence of ndarray
        Aligned images of equal height and width (e.g. noisy, noisy2, clean).
    size : int
        Patch side.
    rng : None, int or numpy Generator
    augment : bool
        Apply one random D4 transform to all patches.
    transforms : sequence of int, optional
        The D4 transforms (:func:`d4` indices) to draw from; None: all 8.

    Returns
    -------
    list of ndarray
        The patches, in the order of ``images``.
    """
    rng = generator(rng)
    shape = images[0].shape[:2]
    if any(im.shape[:2] != shape for im in images):
        raise ValueError("paired images must have the same height and width")
    corner = random_corners(shape, size, 1, rng=rng)[0]
    if not augment:
        k = 0
    elif transforms is None:
        k = int(rng.integers(0, 8))
    else:
        k = int(transforms[int(rng.integers(0, len(transforms)))])
    return [d4(crop(im, corner, size), k) for im in images]
