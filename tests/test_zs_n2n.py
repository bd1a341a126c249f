"""ZS-N2N: downsamplers, loss, network, determinism and a tiny-budget denoising run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import psnr_8bit
from noise2x.errors import InputError, UsageError
from noise2x.zeroshot import ZERO_SHOT, zs_n2n
from noise2x.zeroshot.nets import NoiseNet, make_generators, new_network
from noise2x.zeroshot.zs_n2n import PRESETS, pair_downsample, zs_n2n_loss


pytestmark = pytest.mark.usefixtures("one_thread")


def test_registry_names_both_methods():
    assert ZERO_SHOT["zs_n2n"] is zs_n2n
    assert set(ZERO_SHOT) == {"mash", "zs_n2n"}


def test_pair_downsample_averages_the_two_diagonals():
    x = torch.arange(2 * 5 * 7, dtype=torch.float32).reshape(1, 2, 5, 7)
    d1, d2 = pair_downsample(x)
    assert d1.shape == d2.shape == (1, 2, 2, 3)        # odd last row and column dropped
    xs = x.numpy()
    for c in range(2):
        for i in range(2):
            for j in range(3):
                tl, tr = xs[0, c, 2 * i, 2 * j], xs[0, c, 2 * i, 2 * j + 1]
                bl, br = xs[0, c, 2 * i + 1, 2 * j], xs[0, c, 2 * i + 1, 2 * j + 1]
                assert d1[0, c, i, j].item() == pytest.approx((tr + bl) / 2)
                assert d2[0, c, i, j].item() == pytest.approx((tl + br) / 2)


def test_loss_is_residual_plus_consistency():
    g = torch.Generator().manual_seed(0)
    noisy = torch.rand(1, 3, 10, 12, generator=g)

    def zero_net(t):          # predicts no noise: residual = mse(d1, d2), consistency = 0
        return torch.zeros_like(t)

    d1, d2 = pair_downsample(noisy)
    expected = torch.mean((d1 - d2) ** 2)
    assert zs_n2n_loss(zero_net, noisy).item() == pytest.approx(expected.item(), rel=1e-6)

    def identity_net(t):      # predicts the whole image as noise: every denoised image is 0
        return t

    expected = 0.5 * (torch.mean(d1**2) + torch.mean(d2**2))
    assert zs_n2n_loss(identity_net, noisy).item() == pytest.approx(expected.item(), rel=1e-6)


def test_network_shape_and_layers():
    _, gen = make_generators(0)
    net = new_network(NoiseNet, 3, 48, gen=gen)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 48, (3, 3)), (48, 48, (3, 3)), (48, 3, (1, 1))]
    assert net(torch.zeros(1, 3, 9, 11)).shape == (1, 3, 9, 11)


def test_tiny_budget_raises_psnr_gray(gray_image):
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    info: dict = {}
    lines: list[str] = []
    out = zs_n2n(noisy, rng=0, steps=60, info=info, progress=lines.append)
    assert out.shape == noisy.shape and out.dtype == np.float64
    assert psnr_8bit(gray_image, out) > psnr_8bit(gray_image, noisy) + 3.0
    assert info["steps"] == 60 and info["preset"] == "cpu"
    assert lines and lines[-1].startswith("zs_n2n 37x31: step 60/60")


def test_rgb_seeded_and_pure(rgb_image):
    noisy = rgb_image + 25 * np.random.default_rng(1).standard_normal(rgb_image.shape)
    before = noisy.copy()
    torch_state = torch.random.get_rng_state()
    a = zs_n2n(noisy, rng=3, steps=5)
    b = zs_n2n(noisy, rng=3, steps=5)
    c = zs_n2n(noisy, rng=4, steps=5)
    assert np.array_equal(noisy, before)
    assert torch.equal(torch_state, torch.random.get_rng_state())      # global RNG untouched
    assert a.shape == rgb_image.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_presets_and_bad_options(gray_image):
    assert PRESETS["paper"]["steps"] == 2000 and PRESETS["code"]["steps"] == 3000
    assert all(p["lr"] == 1e-3 for p in PRESETS.values())
    assert PRESETS["paper"]["width"] == PRESETS["code"]["width"] == 48      # the paper's network
    # the cpu preset keeps the paper's schedule shape: lr halved half-way
    assert PRESETS["cpu"]["step_size"] * 2 == PRESETS["cpu"]["steps"]
    with pytest.raises(UsageError, match="unknown preset 'fast'"):
        zs_n2n(gray_image, preset="fast")
    with pytest.raises(UsageError, match="steps >= 0"):
        zs_n2n(gray_image, steps=-1)
    with pytest.raises(TypeError):
        zs_n2n(gray_image, bogus=1)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 3)), "at least 4x4"),
    (np.zeros((8, 8, 5)), "expected shape"),
    (np.full((8, 8), np.nan), "NaN"),
])
def test_bad_inputs(bad, message):
    with pytest.raises(InputError, match=message):
        zs_n2n(bad, steps=1)
