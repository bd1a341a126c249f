"""Tiles and stitching: cover odd shapes, equal tile sizes, exact identity round trip, smooth weights."""

from __future__ import annotations

import numpy as np
import pytest

from noise2x.errors import UsageError
from noise2x.tiling import Stitcher, context_region, extract_tiles, stitch, tile_grid, tile_segments, tile_specs, tile_starts


@pytest.mark.parametrize("shape", [(37, 31), (37, 31, 3), (5, 300), (1, 1), (64, 64)])
@pytest.mark.parametrize("tile,overlap", [(16, 5), (10, 9), (8, 0), (64, 32), (0, 0)])
def test_round_trip_is_exact(shape, tile, overlap):
    image = np.random.default_rng(0).normal(100, 50, size=shape)
    before = image.copy()
    grid = tile_grid(shape, tile=tile, overlap=overlap)
    tiles = extract_tiles(image, grid)
    copies = [t.copy() for t in tiles]
    out = stitch(tiles, grid)
    assert out.shape == shape and out.dtype == np.float32
    assert np.allclose(out, image, atol=1e-4 * np.abs(image).max())
    assert np.array_equal(image, before)
    assert all(np.array_equal(a, b) for a, b in zip(tiles, copies))  # stitch is pure


@pytest.mark.parametrize("length,tile,overlap,align", [(37, 16, 5, 1), (31, 16, 8, 1), (100, 96, 32, 1),
                                                       (16, 16, 4, 1), (7, 16, 4, 1), (300, 96, 32, 32),
                                                       (257, 64, 16, 8), (37, 16, 5, 4), (1000, 100, 10, 32),
                                                       (40, 8, 6, 8), (60, 16, 12, 8), (300, 40, 10, 32)])
def test_tiles_cover_with_the_requested_overlap(length, tile, overlap, align):
    """The last three: an overlap the tile could not hold beside one step of the alignment was lowered, down to 0
    (tiles met edge to edge, with seams: the tiling QA pass); the tile grows to hold it."""
    segments = tile_segments(length, tile, overlap, align=align)
    size = max(align, tile // align * align)
    size = size if size - overlap >= align else -(-(overlap + align) // align) * align
    covered = np.zeros(length, int)
    for i, (s, e) in enumerate(segments):
        assert 0 <= s < e <= length and s % align == 0
        assert e - s == min(size, length) or (i == len(segments) - 1 and e == length)  # only the last is shorter
        covered[s:e] += 1
    assert covered.min() >= 1
    for (a0, a1), (b0, _) in zip(segments, segments[1:]):
        assert a1 - b0 >= overlap
    assert tile_starts(length, tile, overlap, align=align) == [s for s, _ in segments]


def test_aligned_grid_round_trip():
    image = np.random.default_rng(1).normal(size=(300, 257, 3))
    grid = tile_grid(image.shape, tile=96, overlap=32, align=32)
    assert {s.y0 % 32 for s in grid.specs} == {0} and {s.x0 % 32 for s in grid.specs} == {0}
    assert np.allclose(stitch(extract_tiles(image, grid), grid), image, atol=1e-5)


def test_weights_are_smooth_and_blend_neighbours():
    grid = tile_grid((37, 100), tile=40, overlap=16)
    specs = tile_specs((37, 100), tile=40, overlap=16)
    assert len(specs) == len(grid) == 4 and [s.x0 for s in specs] == [0, 20, 40, 60] and {s.y1 - s.y0 for s in specs} == {37}
    w = grid.weight(specs[1])[0]
    assert w.max() > 0.99 and w[0] < 0.05 and w[-1] < 0.05  # falls towards shared borders
    assert np.all(np.abs(np.diff(w)) < 0.2)  # no jumps
    left = grid.weight(specs[0])[0]
    assert left[0] == 1.0  # the image border keeps full weight
    # a constant tile per position blends to a smooth ramp across the overlap, values between the two
    out = stitch([np.full((37, 40), float(i)) for i in range(4)], grid)
    row = out[0]
    assert row[0] == 0 and row[-1] == 3
    assert np.all(np.diff(row) >= -1e-6) and np.all(np.diff(row) < 0.5)


def test_stitcher_rgb_and_errors():
    grid = tile_grid((20, 30, 3), tile=16, overlap=4)
    st = Stitcher(grid, channels=3)
    for s in grid.specs:
        st.add(s, np.ones((s.y1 - s.y0, s.x1 - s.x0, 3)))
    assert np.allclose(st.result(), 1.0)
    with pytest.raises(ValueError):
        stitch([np.ones((16, 16))], grid)
    with pytest.raises(UsageError, match="overlap"):
        tile_grid((20, 30), tile=16, overlap=16)
    with pytest.raises(UsageError):
        tile_grid((20, 30), tile=-1, overlap=0)


def test_context_region_grows_within_the_image():
    grid = tile_grid((100, 90), tile=32, overlap=8, align=8)
    for spec in grid.specs:
        r = context_region(spec, (100, 90), context=10, align=8)  # rounded up to 16
        assert r.y0 == max(0, spec.y0 - 16) and r.y1 == min(100, spec.y1 + 16)
        assert r.x0 == max(0, spec.x0 - 16) and r.x1 == min(90, spec.x1 + 16)
        assert r.y0 % 8 == 0 and r.x0 % 8 == 0
    assert context_region(grid.specs[0], (100, 90), context=0) == grid.specs[0]
    with pytest.raises(UsageError):
        context_region(grid.specs[0], (100, 90), context=-1)
