"""Noise2Self: grid masks, J-invariant inputs (a masked pixel's own value never reaches the net), it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noise2x.data import Batch
from noise2x.errors import UsageError
from noise2x.methods.noise2self import Noise2Self
from noise2x.metrics import psnr
from noise2x.models import ScaledModel, build_model


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_unet(channels=1, mean=100.0, std=50.0):
    net = build_model("unet", in_channels=channels, width=8, depth=2)
    return ScaledModel(net, arch="unet", arch_args={}, mean=[mean] * channels, std=[std] * channels)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_mask_is_one_grid_per_image_shared_by_channels():
    method = Noise2Self()
    z = torch.randn(6, 3, 37, 31)
    x, mask = method.mask_batch(z, rng=gen(0))
    for i in range(6):
        m = mask[i, 0]
        assert torch.equal(mask[i, 1], m) and torch.equal(mask[i, 2], m)
        ys, xs = np.nonzero(m.numpy())
        py, px = ys.min(), xs.min()
        assert py < 4 and px < 4
        expected = np.zeros((37, 31), bool)
        expected[py::4, px::4] = True
        np.testing.assert_array_equal(m.numpy(), expected)
    assert torch.equal(x[~mask], z[~mask])
    # phases are drawn per image
    assert len({tuple(np.argwhere(mask[i, 0].numpy())[0]) for i in range(6)}) > 1


@pytest.mark.parametrize("mode", ["interpolate", "zero"])
def test_prediction_at_a_masked_pixel_does_not_depend_on_its_own_value(mode):
    method = Noise2Self({"mode": mode})
    model = tiny_unet(channels=2)
    z = torch.randn(2, 2, 37, 31, requires_grad=True)
    x, mask = method.mask_batch(z, rng=gen(1))
    pred = model.net(x)
    pred[mask].sum().backward()
    assert torch.count_nonzero(z.grad[mask]) == 0
    # while the prediction does depend on the unmasked pixels
    assert torch.count_nonzero(z.grad[~mask]) > 0


def test_interpolation_fills_with_the_donut_average():
    method = Noise2Self()
    z = torch.randn(1, 1, 37, 31)
    x, mask = method.mask_batch(z, rng=gen(2))
    k = torch.tensor([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) / 6.0
    for y, xx in zip(*np.nonzero(mask[0, 0].numpy())):
        if 0 < y < 36 and 0 < xx < 30:
            assert x[0, 0, y, xx].item() == pytest.approx((z[0, 0, y - 1:y + 2, xx - 1:xx + 2] * k).sum().item(), abs=1e-5)


def test_loss_counts_only_masked_pixels():
    method = Noise2Self()
    noisy = 100 + 50 * torch.randn(2, 1, 37, 31, generator=gen(3))
    model = tiny_unet()
    loss = method.loss(model, Batch(noisy=noisy), rng=gen(4))["model"]
    z = model.normalize(noisy)
    x, mask = method.mask_batch(z, rng=gen(4))
    assert loss.item() == pytest.approx((model.net(x) - z)[mask].square().mean().item(), rel=1e-5)


def test_options_are_checked():
    for bad in ({"width": 1}, {"mode": "mean"}, {"loss": "huber"}):
        with pytest.raises(UsageError):
            Noise2Self(bad)


def test_learns_to_denoise_in_a_few_dozen_steps(gray_image):
    torch.manual_seed(0)
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    method = Noise2Self()
    model = tiny_unet(mean=noisy.mean(), std=noisy.std())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = gen(0)
    batch = Batch(noisy=torch.as_tensor(np.stack([noisy, noisy[::-1], noisy[:, ::-1], noisy[::-1, ::-1]])[:, None],
                                        dtype=torch.float32))
    losses = []
    for step in range(40):
        loss = method.loss(model, batch, rng=g, progress=step / 40)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    with torch.no_grad():
        out = method.predict(model, torch.as_tensor(noisy[None, None], dtype=torch.float32))[0, 0].numpy()
    assert psnr(gray_image, out) > psnr(gray_image, noisy) + 3.0
