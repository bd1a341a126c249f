"""Patches: D4 transforms, random corners, paired crops (numpy only, pure, seeded)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from noise2x.errors import UsageError
from noise2x.patches import center_crop, crop, d4, d4_inverse, paired_patches, random_corners


@pytest.mark.parametrize("k", range(8))
def test_d4_inverse_round_trip(k, rgb_image):
    out = d4(rgb_image, k)
    assert out.shape == (rgb_image.shape[1], rgb_image.shape[0], 3) if k % 2 else out.shape == rgb_image.shape
    assert np.array_equal(d4_inverse(out, k), rgb_image)


def test_d4_gives_eight_distinct_transforms():
    a = np.arange(9.0).reshape(3, 3)
    outs = {d4(a, k).tobytes() for k in range(8)}
    assert len(outs) == 8
    with pytest.raises(ValueError):
        d4(a, 8)


def test_random_corners_in_bounds_and_seeded():
    c = random_corners((37, 31), 16, 500, rng=3)
    assert c.shape == (500, 2)
    assert c[:, 0].min() == 0 and c[:, 0].max() == 37 - 16
    assert c[:, 1].min() == 0 and c[:, 1].max() == 31 - 16
    assert np.array_equal(c, random_corners((37, 31), 16, 500, rng=3))
    assert not np.array_equal(c, random_corners((37, 31), 16, 500, rng=4))
    with pytest.raises(UsageError, match="patch_size"):
        random_corners((37, 31), 32, 1, rng=0)


def test_paired_patches_aligned_and_pure(gray_image):
    other = gray_image * 2 + 1
    before = gray_image.copy()
    for seed in range(20):
        a, b = paired_patches([gray_image, other], 8, rng=seed)
        assert a.shape == (8, 8)
        assert np.allclose(b, a * 2 + 1)  # the same place and the same transform
    assert np.array_equal(gray_image, before)
    # augmentation uses several transforms; without it, patches are plain crops
    found = set()
    for seed in range(40):
        (p,) = paired_patches([gray_image], 8, rng=seed, augment=False)
        found.add(any(np.array_equal(p, gray_image[y:y + 8, x:x + 8])
                      for y in range(30) for x in range(24)))
    assert found == {True}


def test_crops(gray_image):
    p = crop(gray_image, (3, 4), 5)
    assert np.array_equal(p, gray_image[3:8, 4:9])
    p[0, 0] = -1
    assert gray_image[3, 4] != -1  # a copy
    assert center_crop(gray_image, 100).shape == gray_image.shape
    assert center_crop(gray_image, 11).shape == (11, 11)
    with pytest.raises(ValueError):
        crop(gray_image, (35, 0), 5)


def test_numpy_only_modules_do_not_import_torch():
    code = "import sys, noise2x.patches, noise2x.tiling; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
