"""Blind-spot sampling: the stratified rule, replacements that are never the pixel itself, grids, structN2V."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from noise2x import masking
from noise2x.errors import InputError, UsageError


@pytest.mark.parametrize("percent, side", [(0.198, 22), (1.5, 8), (0.5, 14), (100.0, 1), (25.0, 2)])
def test_box_size_follows_the_rule(percent, side):
    assert masking.box_size(percent) == side == round(np.sqrt(100 / percent))


@pytest.mark.parametrize("bad", [0.0, -1.0, 101.0, float("nan")])
def test_box_size_rejects_bad_percentages(bad):
    with pytest.raises(UsageError, match="percentage"):
        masking.box_size(bad)


@pytest.mark.parametrize("shape, percent", [((37, 31), 1.5), ((64, 64), 0.198), ((64, 64), 0.5), ((3, 2, 37, 31), 1.5)])
def test_stratified_one_pixel_per_box(shape, percent):
    b = masking.box_size(percent)
    coords = masking.stratified_coords(shape, percent=percent, rng=7)
    assert len(coords) == len(shape)
    *lead, h, w = shape
    planes = list(np.ndindex(*lead)) if lead else [()]
    full_y, full_x = h // b, w // b
    for plane in planes:
        sel = np.ones(len(coords[0]), dtype=bool)
        for axis, idx in enumerate(plane):
            sel &= coords[axis] == idx
        ys, xs = coords[-2][sel], coords[-1][sel]
        assert ys.min() >= 0 and xs.min() >= 0 and ys.max() < h and xs.max() < w
        boxes = list(zip(ys // b, xs // b))
        assert len(set(boxes)) == len(boxes), "two blind spots in one box"
        # every box that lies fully inside the plane holds exactly one blind spot
        for by in range(full_y):
            for bx in range(full_x):
                assert (by, bx) in boxes
        # and no more boxes exist than the ceil-grid
        assert len(boxes) <= -(-h // b) * -(-w // b)


def test_stratified_positions_are_uniform_within_boxes():
    coords = masking.stratified_coords((400, 64, 64), percent=1.5, rng=1)
    oy, ox = coords[-2] % 8, coords[-1] % 8
    counts = np.bincount(oy * 8 + ox, minlength=64)
    expected = len(oy) / 64
    # 25600 draws over 64 cells: a uniform draw stays within ~5 sigma of the mean everywhere
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    # and cut boxes at the border keep their pixel only when it is inside: 37 rows, box 8 -> last box 5 rows
    c = masking.stratified_coords((2000, 37, 8), percent=1.5, rng=2)
    last = c[-2] >= 32
    assert 0.55 < last.sum() / 2000 < 0.70  # probability 5/8


def test_stratified_is_seeded_and_planes_are_independent():
    a = masking.stratified_coords((2, 3, 37, 31), percent=1.5, rng=3)
    b = masking.stratified_coords((2, 3, 37, 31), percent=1.5, rng=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    first = (a[0] == 0) & (a[1] == 0)
    second = (a[0] == 0) & (a[1] == 1)
    assert not np.array_equal(a[2][first], a[2][second]) or not np.array_equal(a[3][first], a[3][second])


@pytest.mark.parametrize("radius", [1, 2, 5])
def test_window_offsets_exclude_the_centre(radius):
    off = masking.window_offsets(radius)
    assert len(off) == (2 * radius + 1) ** 2 - 1
    assert not np.any((off[:, 0] == 0) & (off[:, 1] == 0))
    assert np.abs(off).max() == radius


@pytest.mark.parametrize("radius", [1, 2, 5])
def test_replacement_is_never_the_pixel_itself_and_stays_in_the_window(radius):
    shape = (4, 2, 37, 31)
    coords = masking.stratified_coords(shape, percent=25.0, rng=0)  # dense: many border pixels
    for seed in range(5):
        src = masking.neighbour_coords(coords, shape=shape, radius=radius, rng=seed)
        for a, b in zip(src[:-2], coords[:-2]):
            np.testing.assert_array_equal(a, b)  # same image and channel
        same = (src[-2] == coords[-2]) & (src[-1] == coords[-1])
        assert not same.any()
        assert np.all(np.abs(src[-2] - coords[-2]) <= radius) and np.all(np.abs(src[-1] - coords[-1]) <= radius)
        assert src[-2].min() >= 0 and src[-2].max() < 37 and src[-1].min() >= 0 and src[-1].max() < 31


def test_replacement_is_uniform_over_the_window_and_cropped_at_borders():
    n = 24000
    coords = (np.full(n, 10), np.full(n, 10))
    src = masking.neighbour_coords(coords, shape=(21, 21), radius=2, rng=4)
    counts = np.bincount((src[0] - 8) * 5 + (src[1] - 8), minlength=25)
    assert counts[12] == 0  # the centre
    assert np.all(np.abs(np.delete(counts, 12) - n / 24) < 5 * np.sqrt(n / 24))
    # at the corner only the 8 in-image neighbours of the 5x5 window remain
    corner = masking.neighbour_coords((np.zeros(4000, int), np.zeros(4000, int)), shape=(21, 21), radius=2, rng=5)
    assert set(zip(corner[0].tolist(), corner[1].tolist())) == {(y, x) for y in range(3) for x in range(3)} - {(0, 0)}


def test_sparing_blind_spots_leaves_them_out_unless_nothing_else_is_left():
    # a 3x3 plane: blind spots at the centre and its 4 neighbours; the corners are the only other pixels
    ys, xs = np.array([1, 0, 2, 1, 1]), np.array([1, 1, 1, 0, 2])
    blind = set(zip(ys.tolist(), xs.tolist()))
    coords = (np.repeat(ys, 400), np.repeat(xs, 400))
    src = masking.neighbour_coords(coords, shape=(3, 3), radius=1, rng=0, spare_blind_spots=True)
    assert not blind & set(zip(src[0].tolist(), src[1].tolist()))
    assert set(zip(src[0].tolist(), src[1].tolist())) == {(0, 0), (0, 2), (2, 0), (2, 2)}
    img = np.arange(9.0).reshape(3, 3)
    # (1, 1): the corners 0 2 6 8; (0, 1): 0 2 (3 4 5 are blind spots); ...
    assert masking.median_values(img, (ys, xs), radius=1, spare_blind_spots=True).tolist() == [4, 1, 7, 3, 5]
    assert masking.median_values(img, (ys, xs), radius=1).tolist() == [4, 3, 5, 4, 4]
    # a blind spot whose window holds blind spots only keeps them (a full plane masked)
    full = (np.repeat(np.arange(2), 2), np.tile(np.arange(2), 2))
    src = masking.neighbour_coords(full, shape=(2, 2), radius=1, rng=0, spare_blind_spots=True)
    assert all((a, b) != (c, d) for a, b, c, d in zip(*full, *src))


def test_replacement_on_a_single_pixel_plane_is_an_error():
    with pytest.raises(InputError, match="no neighbour"):
        masking.neighbour_coords((np.array([0]), np.array([0])), shape=(1, 1), radius=2, rng=0)


def test_median_values_exclude_the_centre():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(2, 15, 17))
    coords = masking.stratified_coords(img.shape, percent=10.0, rng=1)
    values = masking.median_values(img, coords, radius=2)
    for k in range(len(values)):
        p, y, x = (int(c[k]) for c in coords)
        win = img[p, max(0, y - 2):y + 3, max(0, x - 2):x + 3].copy()
        cy, cx = y - max(0, y - 2), x - max(0, x - 2)
        vals = np.delete(win.ravel(), cy * win.shape[1] + cx)
        assert values[k] == pytest.approx(np.median(vals))
    # a spike at the centre does not move the median
    one = tuple(c[:1] for c in coords)
    spiky = img.copy()
    spiky[one] = 1e6
    assert masking.median_values(spiky, one, radius=2)[0] == pytest.approx(values[0])
    assert not np.shares_memory(values, img)


def test_struct_mask_specs():
    h = masking.struct_mask_from_spec("horizontal:2")
    np.testing.assert_array_equal(h, np.ones((1, 5)))
    assert masking.struct_mask_from_spec("vertical:1").shape == (3, 1)
    np.testing.assert_array_equal(masking.struct_mask_from_spec("[[0,1,1,1,0]]"), [[0, 1, 1, 1, 0]])
    assert masking.struct_mask_from_spec("none") is None and masking.struct_mask_from_spec("") is None
    for bad in ("horizontal:x", "diagonal", "[[1,1]]", "[[2,1,1]]", "horizontal:0"):
        with pytest.raises(UsageError):
            masking.struct_mask_from_spec(bad)
    # a radius written with an underscore (int() reads "2_0" as 20) or in other digits; masks that hide nothing
    for bad in ("horizontal:2_0", "vertical:\u0663"):
        with pytest.raises(UsageError, match="integer radius"):
            masking.struct_mask_from_spec(bad)
    for nothing in ("[[1]]", "[[0,1,0]]", "[[0,0,0]]"):
        with pytest.raises(UsageError, match="hides no pixel beside the blind spot"):
            masking.struct_mask_from_spec(nothing)
    np.testing.assert_array_equal(masking.struct_mask_from_spec("[[1,0,1]]"), [[1, 0, 1]])


def test_struct_coords_hide_the_row_and_are_excluded_from_replacements():
    mask = masking.struct_mask_from_spec("horizontal:2")
    coords = (np.array([0, 0]), np.array([5, 9]), np.array([0, 10]))
    hidden = masking.struct_coords(coords, shape=(1, 12, 12), struct_mask=mask)
    got = sorted(zip(*(h.tolist() for h in hidden)))
    # around (5,0): columns 1,2 (left ones fall outside); around (9,10): 8,9,11 (12 is outside)
    assert got == [(0, 5, 1), (0, 5, 2), (0, 9, 8), (0, 9, 9), (0, 9, 11)]
    off = masking.window_offsets(2, struct_mask=mask)
    assert not np.any(off[:, 0] == 0)  # the whole row is excluded from the candidates
    src = masking.neighbour_coords(coords, shape=(1, 12, 12), radius=2, rng=0, struct_mask=mask)
    assert np.all(src[1] != coords[1])


def test_grid_masks_partition_the_image():
    shape = (2, 37, 31)
    total = np.zeros(shape, dtype=int)
    for i in range(16):
        py, px = masking.grid_phase(i, 4)
        coords = masking.grid_coords(shape, width=4, phase=(py, px))
        m = masking.coords_to_mask(coords, shape)
        assert np.all(m[:, py::4, px::4]) and m.sum() == 2 * len(range(py, 37, 4)) * len(range(px, 31, 4))
        np.testing.assert_array_equal(m[0], m[1])  # same pixels in every channel
        total += m
    np.testing.assert_array_equal(total, 1)
    with pytest.raises(UsageError):
        masking.grid_coords(shape, width=4, phase=(4, 0))


def test_coords_to_mask_marks_exactly_the_coordinates():
    coords = masking.stratified_coords((3, 37, 31), percent=1.5, rng=0)
    m = masking.coords_to_mask(coords, (3, 37, 31))
    assert m.sum() == len(coords[0])
    assert np.all(m[coords])
    with pytest.raises(InputError, match="outside"):
        masking.coords_to_mask((np.array([3]), np.array([0]), np.array([0])), (3, 37, 31))


def test_donut_kernel():
    k = masking.donut_kernel()
    assert k[1, 1] == 0 and k.sum() == pytest.approx(1.0) and k[0, 1] == 2 * k[0, 0]


def test_neighbour_pairs_never_share_a_pixel_and_are_adjacent():
    k1, k2 = masking.neighbour_pair_choice((3, 18, 15), rng=0)
    assert k1.shape == (3, 18, 15)
    assert np.all(k1 != k2)
    dy = np.abs(k1 // 2 - k2 // 2)
    dx = np.abs(k1 % 2 - k2 % 2)
    np.testing.assert_array_equal(dy + dx, 1)
    # all 8 ordered pairs occur
    assert len(set(zip(k1.ravel().tolist(), k2.ravel().tolist()))) == 8


def test_masking_imports_no_torch():
    code = "import sys, noise2x.masking; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
