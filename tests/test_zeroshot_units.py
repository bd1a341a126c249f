"""The zero-shot methods on images in other units: small units brought up to 8-bit ones, larger ones used as they are."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import data_dir, psnr_8bit
from noise2x.io import pedestal, to_8bit_units
from noise2x.zeroshot import mash, zs_n2n
from noise2x.zeroshot.nets import units_map


pytestmark = pytest.mark.usefixtures("one_thread")


#: each method with a tiny budget, and the gain over the noisy input it reaches on the 8-bit test image
TINY = {
    "zs_n2n": (lambda x, info: zs_n2n(x, rng=0, steps=60, info=info), 3.0),
    "mash": (lambda x, info: mash(x, rng=0, ratio=0.5, steps=80, lr=2e-3, width=8, predictions=4, info=info), 1.5),
}


@pytest.mark.parametrize("method", list(TINY))
@pytest.mark.parametrize("scale, offset, units", [(1 / 255, 0.0, (0.0, 255.0)), (0.05, 3.0, None),
                                                  (257.0, 1000.0, (0.0, 1.0))], ids=["unit-range", "dark", "16-bit"])
def test_tiny_budget_raises_psnr_in_other_units(gray_image, method, scale, offset, units):
    """[0, 1] data and a very dark image are brought up to 8-bit units, 16-bit data is used as it is: all are
    denoised, and returned in their own units."""
    run, gain = TINY[method]
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    info: dict = {}
    out = run(noisy * scale + offset, info)
    assert psnr_8bit(gray_image, (out - offset) / scale) > psnr_8bit(gray_image, noisy) + gain
    offset_used, scale_used = units or to_8bit_units(noisy * scale + offset)
    assert info["units"] == {"offset": offset_used, "scale": scale_used} and (units or scale_used > 1 / scale)


@pytest.mark.parametrize("method", list(TINY))
def test_counts_on_a_bias_level_are_denoised(gray_image, method):
    """16-bit counts on a camera's bias level: the pedestal is taken off, the units kept (the networks took the raw
    counts and did not denoise: ZS-N2N 20.5 dB, MASH 8.2, under the noisy 20.2, in a dtype QA pass)."""
    run, gain = TINY[method]
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    raw = noisy * 4 + 30000
    info: dict = {}
    out = run(raw, info)
    assert psnr_8bit(gray_image, (out - 30000) / 4) > psnr_8bit(gray_image, noisy) + gain
    assert info["units"] == {"offset": pedestal(raw), "scale": 1.0} and 29000 < info["units"]["offset"] < 31020


def test_benchmark_inputs_are_used_as_they_are():
    """Every noisy input of the recorded zero-shot and classical benchmarks is 8-bit data: the map is the identity,
    so bringing small units up changed none of their figures."""
    from noise2x.io import list_images, read_image
    from noise2x.noise import protocol_noisy
    from noise2x.patches import center_crop

    inputs = []
    for i, path in enumerate(list_images(data_dir("cbsd68"))):
        clean = center_crop(read_image(path), 256)
        for spec in ("correlated:sigma=25,beta=0.5", "correlated:sigma=25,beta=1", "gaussian:sigma=25",
                     "gaussian:sigma=50", "poisson:peak=30"):
            inputs.append(protocol_noisy(clean, spec, index=i))
    for name in ("set12", "bsd68"):
        for i, path in enumerate(list_images(data_dir(name))):
            for spec in ("gaussian:sigma=15", "gaussian:sigma=25", "gaussian:sigma=50", "poisson:peak=30"):
                inputs.append(protocol_noisy(read_image(path), spec, index=i))
    inputs += [read_image(path) for path in list_images(data_dir("rni15"))]
    assert len(inputs) == 68 * 5 + 80 * 4 + 15
    assert all(units_map(image) == (0.0, 1.0) for image in inputs)
