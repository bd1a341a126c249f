"""Overlapping tiles and a pure stitch with smooth blending (numpy only).

An image of H x W is covered by a grid of tiles of at most ``tile`` x ``tile``
pixels overlapping by at least ``overlap``, spread evenly from border to border.
Tile starts can be aligned to a multiple of ``align`` (a U-Net that pools
``depth`` times then sees the same pooling grid as on the whole image); only
the last row and column of tiles may be shorter.

When stitching, each tile is weighted by a separable window that is 1 in its
interior and falls smoothly (sin^2) to 0 across the part it shares with a
neighbour, reaching 0 a quarter of the overlap before the tile's border, so
the border pixels (where a network saw padding instead of the image) do not
count at all. Because the windows are separable and the grid is a full
product, their sum is the outer product of two 1-D sums: the stitcher needs no
H x W weight image, only the output accumulator.

A round trip (split into tiles, stitch the unchanged tiles) gives back the
image exactly (up to float32 rounding).
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
from typing import Callable, Iterable, Sequence

import numpy as np

from .errors import UsageError

#: Called with the share of an image done (0 to 1) as :func:`noise2x.predict.denoise_array`'s tiles are done (a
#: colour image's planes in turn), where set (``TILE_PROGRESS.set(hook)``: the CLI's progress on a large image,
#: which was silent for minutes, a large-data QA pass); None: not called.
TILE_PROGRESS: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "noise2x_tile_progress", default=None)


@dataclasses.dataclass(frozen=True)
class TileSpec:
    """One tile: rows ``y0:y1`` and columns ``x0:x1`` of the image; ``row``/``col`` in the grid."""

    row: int
    col: int
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(slice(y0, y1), slice(x0, x1))`` for indexing an image."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        """``(y1 - y0, x1 - x0)``."""
        return self.y1 - self.y0, self.x1 - self.x0


def check_tile_arguments(**values: object) -> None:
    """Tile arguments (``tile``, ``overlap``, ``context``) of the wrong type or sign, as one UsageError; None passes
    (the default)."""
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            raise UsageError(f"{name} must be a whole number of pixels, got {value!r}")
        if value is not None and value < 0:  # (also where no tiling happens: a small image, tile 0)
            raise UsageError(f"{name} must be >= 0, got {value}")


def tile_segments(length: int, tile: int, overlap: int, *, align: int = 1) -> list[tuple[int, int]]:
    """1-D tiles ``(start, stop)`` covering ``range(length)``.

    Parameters
    ----------
    length : int
        Image side.
    tile : int
        Tile side; rounded down to a multiple of ``align`` (at least ``align``),
        and up to hold the overlap and one step of ``align``.
    overlap : int
        Minimum overlap of neighbouring tiles, ``0 <= overlap < tile``.
    align : int
        Every start is a multiple of ``align``: a network that pools ``k``
        times sees the same pooling grid as on the whole image when ``align``
        is ``2**k``. Only the last tile may be shorter (it ends at the border).

    Returns
    -------
    list of (start, stop)
        The fewest tiles that keep the overlap, spread as evenly as the alignment allows.
    """
    if tile <= 0:
        raise UsageError(f"tile size must be positive, got {tile}")
    if not 0 <= overlap < tile:
        raise UsageError(f"tile overlap must be in [0, tile), got overlap {overlap} for tile {tile}")
    if align < 1:
        raise ValueError(f"align must be >= 1, got {align}")
    tile = max(align, (tile // align) * align)
    if tile - overlap < align:  # (the step was align, the overlap less than asked, down to 0 and seams: a tiling QA)
        tile = math.ceil((overlap + align) / align) * align
    if length <= tile:
        return [(0, length)]
    last = math.ceil((length - tile) / align) * align
    max_step = max(align, ((tile - overlap) // align) * align)
    n = 2
    while True:
        step = math.ceil((length - tile) / (n - 1) / align) * align
        if step <= max_step:
            break
        n += 1
    starts = sorted({min(i * step, last) for i in range(n)})
    return [(s, min(s + tile, length)) for s in starts]


def tile_starts(length: int, tile: int, overlap: int, *, align: int = 1) -> list[int]:
    """Start offsets of :func:`tile_segments`."""
    return [s for s, _ in tile_segments(length, tile, overlap, align=align)]


def _ramp(n: int) -> np.ndarray:
    """Rising window over an overlap of ``n`` pixels: 0 for the outer quarter, then sin^2 up to 1.

    ``_ramp(n) + _ramp(n)[::-1] == 1``: two neighbours' windows sum to one
    across their overlap, and the quarter next to each tile's inner border
    (where the network saw padding instead of the image) gets no weight.
    """
    m = n // 4
    t = np.clip((np.arange(n) + 0.5 - m) / (n - 2 * m), 0.0, 1.0)
    return np.sin(0.5 * np.pi * t) ** 2


_FLOOR = 1e-6  # keeps every weight positive (weight sums never vanish)


def _windows(segments: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Per-tile 1-D blending windows across the parts shared with neighbours."""
    out = []
    for i, (s, e) in enumerate(segments):
        w = np.ones(e - s, dtype=np.float64)
        if i > 0:  # shared with the previous tile on the low side
            n = min(segments[i - 1][1] - s, e - s)
            if n > 0:
                w[:n] = _ramp(n)
        if i < len(segments) - 1:  # shared with the next tile on the high side
            n = min(e - segments[i + 1][0], e - s)
            if n > 0:
                w[e - s - n:] = np.minimum(w[e - s - n:], _ramp(n)[::-1])
        out.append(np.maximum(w, _FLOOR))
    return out


@dataclasses.dataclass(frozen=True)
class TileGrid:
    """The tiles covering an image and their blending windows.

    Build it with :func:`tile_grid`.
    """

    shape: tuple[int, int]
    ys: tuple[tuple[int, int], ...]
    xs: tuple[tuple[int, int], ...]
    wy: tuple[np.ndarray, ...]
    wx: tuple[np.ndarray, ...]

    @property
    def specs(self) -> list[TileSpec]:
        """All tiles in row-major order."""
        return [TileSpec(i, j, y0, y1, x0, x1)
                for i, (y0, y1) in enumerate(self.ys) for j, (x0, x1) in enumerate(self.xs)]

    def __len__(self) -> int:
        return len(self.ys) * len(self.xs)

    def weight(self, spec: TileSpec) -> np.ndarray:
        """The 2-D blending window of ``spec`` (tile_h, tile_w), float32."""
        return np.outer(self.wy[spec.row], self.wx[spec.col]).astype(np.float32)

    def weight_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-row and per-column sums of the windows; their outer product is the total weight."""
        sy = np.zeros(self.shape[0])
        sx = np.zeros(self.shape[1])
        for (y0, y1), w in zip(self.ys, self.wy):
            sy[y0:y1] += w
        for (x0, x1), w in zip(self.xs, self.wx):
            sx[x0:x1] += w
        return sy, sx


def tile_grid(shape: Sequence[int], *, tile: int, overlap: int, align: int = 1) -> TileGrid:
    """Tiles covering an image of ``shape`` (H, W, ...).

    Parameters
    ----------
    shape : sequence of int
        Image shape; the first two entries are height and width.
    tile : int
        Tile side (see :func:`tile_segments`); 0 = one tile for the whole image.
    overlap : int
        Minimum overlap between neighbouring tiles, ``0 <= overlap < tile``.
    align : int
        Tile starts are multiples of ``align`` (e.g. ``2**depth`` for a U-Net).
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 1 or w < 1:
        raise UsageError(f"cannot tile an empty image of shape {tuple(shape)}")
    if tile == 0:
        tile, overlap, align = max(h, w), 0, 1
    ys = tile_segments(h, tile, overlap, align=align)
    xs = tile_segments(w, tile, overlap, align=align)
    return TileGrid(shape=(h, w), ys=tuple(ys), xs=tuple(xs), wy=tuple(_windows(ys)), wx=tuple(_windows(xs)))


def tile_specs(shape: Sequence[int], *, tile: int, overlap: int, align: int = 1) -> list[TileSpec]:
    """The tiles covering ``shape`` in row-major order (see :func:`tile_grid`)."""
    return tile_grid(shape, tile=tile, overlap=overlap, align=align).specs

def context_region(spec: TileSpec, shape: Sequence[int], *, context: int, align: int = 1) -> TileSpec:
    """The tile ``spec`` grown by ``context`` pixels on every side, within the image.

    A network run on the grown region and cropped back to ``spec`` sees real
    image around the tile instead of padding. The growth is rounded up to a
    multiple of ``align`` so the region stays aligned like the tile.
    """
    if context < 0:
        raise UsageError(f"tile context must be >= 0, got {context}")
    c = math.ceil(context / align) * align
    h, w = int(shape[0]), int(shape[1])
    return TileSpec(spec.row, spec.col, max(0, spec.y0 - c), min(h, spec.y1 + c),
                    max(0, spec.x0 - c), min(w, spec.x1 + c))


def extract_tiles(image: np.ndarray, grid: TileGrid) -> list[np.ndarray]:
    """The tiles of ``image`` (copies), in the order of ``grid.specs``."""
    return [image[s.slices].copy() for s in grid.specs]


class Stitcher:
    """Accumulates blended tiles into one float32 image (memory: the output only).

    >>> image = np.arange(40.0 * 50).reshape(40, 50)
    >>> grid = tile_grid(image.shape, tile=16, overlap=4)
    >>> st = Stitcher(grid)
    >>> for spec, tile in zip(grid.specs, extract_tiles(image, grid)):
    ...     st.add(spec, tile)
    >>> bool(np.allclose(st.result(), image))   # (the tiles of an image give it back)
    True
    """

    def __init__(self, grid: TileGrid, *, channels: int | None = None, dtype=np.float32) -> None:
        shape = grid.shape if channels is None else (*grid.shape, channels)
        self.grid = grid
        self._acc = np.zeros(shape, dtype=dtype)
        self._done = False

    def add(self, spec: TileSpec, tile: np.ndarray) -> None:
        """Add one tile (tile_h, tile_w[, C]) at ``spec``."""
        if self._done:
            raise RuntimeError("Stitcher.result() was already called")
        w = self.grid.weight(spec)
        if tile.shape[:2] != w.shape:
            raise ValueError(f"tile of shape {tile.shape[:2]} does not match the grid's {w.shape}")
        if tile.ndim == 3:
            w = w[:, :, None]
        region = self._acc[spec.slices]
        region += tile * w

    def result(self, *, block_rows: int = 256) -> np.ndarray:
        """The stitched image; divides by the weight sums in place, block by block."""
        sy, sx = self.grid.weight_sums()
        inv_x = (1.0 / sx).astype(self._acc.dtype)
        acc = self._acc
        for y0 in range(0, acc.shape[0], block_rows):
            y1 = min(y0 + block_rows, acc.shape[0])
            scale = (1.0 / sy[y0:y1]).astype(acc.dtype)[:, None] * inv_x[None, :]
            if acc.ndim == 3:
                scale = scale[:, :, None]
            acc[y0:y1] *= scale
        self._done = True
        return acc


def stitch(tiles: Iterable[np.ndarray], grid: TileGrid, *, channels: int | None = None) -> np.ndarray:
    """Blend ``tiles`` (in the order of ``grid.specs``) into one float32 image.

    Pure: the tiles are not modified. ``channels`` is the size of a trailing
    channel axis (None for 2-D tiles); inferred from the first tile when None
    and the tiles are 3-D.
    """
    tiles = list(tiles)
    specs = grid.specs
    if len(tiles) != len(specs):
        raise ValueError(f"expected {len(specs)} tiles, got {len(tiles)}")
    if channels is None and tiles and tiles[0].ndim == 3:
        channels = tiles[0].shape[2]
    st = Stitcher(grid, channels=channels)
    for spec, t in zip(specs, tiles):
        st.add(spec, t)
    return st.result()
