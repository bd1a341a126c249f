"""Neighbor2Neighbor: disjoint neighbouring sub-images, the loss formula, the Gamma ramp, it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noise2x.data import Batch
from noise2x.errors import InputError, UsageError
from noise2x.masking_torch import subimage
from noise2x.methods.neighbor2neighbor import Neighbor2Neighbor
from noise2x.metrics import psnr
from noise2x.models import ScaledModel, build_model


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_unet(channels=1, mean=100.0, std=50.0):
    net = build_model("unet", in_channels=channels, width=8, depth=2)
    return ScaledModel(net, arch="unet", arch_args={}, mean=[mean] * channels, std=[std] * channels)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sub_images_never_share_a_pixel_and_are_neighbours():
    method = Neighbor2Neighbor()
    b, c, h, w = 3, 2, 36, 30
    # every pixel holds its own flat index: a sub-image value says where it came from
    z = torch.arange(b * c * h * w, dtype=torch.float64).reshape(b, c, h, w)
    k1, k2 = method.subsample(z, rng=gen(0))
    g1, g2 = subimage(z, k1), subimage(z, k2)
    assert g1.shape == (b, c, h // 2, w // 2)
    i1, i2 = g1.long().numpy(), g2.long().numpy()
    assert not np.any(i1 == i2)
    assert len(np.intersect1d(i1.ravel(), i2.ravel())) == 0
    y1, x1 = (i1 % (h * w)) // w, i1 % w
    y2, x2 = (i2 % (h * w)) // w, i2 % w
    np.testing.assert_array_equal(np.abs(y1 - y2) + np.abs(x1 - x2), 1)  # 4-adjacent
    np.testing.assert_array_equal(y1 // 2, np.arange(h // 2)[None, None, :, None].repeat(w // 2, 3).repeat(c, 1).repeat(b, 0))
    np.testing.assert_array_equal(i1 // (h * w), np.arange(b * c).reshape(b, c)[:, :, None, None] * np.ones_like(i1))
    # the same cell pixel in every channel, different draws per image
    np.testing.assert_array_equal(y1[:, 0] - 0, y1[:, 1])
    assert not np.array_equal(k1[0].numpy(), k1[1].numpy())


def test_gamma_ramps_to_two():
    method = Neighbor2Neighbor()
    assert method.gamma_at(0.0) == 0.0 and method.gamma_at(0.5) == 1.0 and method.gamma_at(1.0) == 2.0
    assert method.gamma_at(1.5) == 2.0


def test_loss_formula_and_gradient_only_through_the_sub_image_pass():
    method = Neighbor2Neighbor()
    model = tiny_unet()
    noisy = 100 + 50 * torch.randn(2, 1, 37, 31, generator=gen(1))
    loss = method.loss(model, Batch(noisy=noisy), rng=gen(2), progress=0.25)["model"]
    z = model.normalize(noisy)[..., :36, :30]
    k1, k2 = method.subsample(z, rng=gen(2))
    with torch.no_grad():
        full = model.net(z)
        out = model.net(subimage(z, k1))
    diff = out - subimage(z, k2)
    exp = subimage(full, k1) - subimage(full, k2)
    expected = diff.square().mean() + 0.5 * (diff - exp).square().mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # the gradient: through the sub-image pass only (the full pass is a fixed target, as in the paper's Algorithm 1)
    params = list(model.net.parameters())
    got = torch.autograd.grad(loss, params)
    z = model.normalize(noisy)[..., :36, :30]
    out = model.net(subimage(z, k1))
    diff = out - subimage(z, k2)
    want = torch.autograd.grad(diff.square().mean() + 0.5 * (diff - exp).square().mean(), params)
    full = model.net(z)  # the gradient had the full pass been differentiated too: not the same
    diff = model.net(subimage(z, k1)) - subimage(z, k2)
    both = diff.square().mean() + 0.5 * (diff - (subimage(full, k1) - subimage(full, k2))).square().mean()
    other = torch.autograd.grad(both, params)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(got, want))
    assert not all(torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(got, other))


def test_too_small_patches_and_bad_options_are_errors():
    with pytest.raises(InputError, match="2x2"):
        Neighbor2Neighbor().loss(tiny_unet(), Batch(noisy=torch.zeros(1, 1, 1, 9)), rng=gen())
    for bad in ({"gamma": -1.0}, {"rec_weight": 0.0}):
        with pytest.raises(UsageError):
            Neighbor2Neighbor(bad)


def test_learns_to_denoise_in_a_few_dozen_steps(gray_image):
    torch.manual_seed(0)
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    method = Neighbor2Neighbor()
    model = tiny_unet(mean=noisy.mean(), std=noisy.std())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = gen(0)
    b = Batch(noisy=torch.as_tensor(np.stack([noisy, noisy[::-1], noisy[:, ::-1], noisy[::-1, ::-1]])[:, None],
                                    dtype=torch.float32))
    for step in range(40):
        loss = method.loss(model, b, rng=g, progress=step / 40)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = method.predict(model, torch.as_tensor(noisy[None, None], dtype=torch.float32))[0, 0].numpy()
    assert psnr(gray_image, out) > psnr(gray_image, noisy) + 3.0


def test_validation_loss_is_taken_at_one_progress_whatever_the_runs():
    """Validated at the run's progress, the regulariser's ramp made the same weights score worse the later they
    were checked, and best.safetensors came early (a QA pass): the loss is taken at the final weighting."""
    from noise2x.methods.noise2noise import Noise2Noise
    from noise2x.train import _validate

    torch.manual_seed(0)
    method, model = Neighbor2Neighbor(), tiny_unet()
    batch = Batch(noisy=100.0 + 50.0 * torch.randn(2, 1, 16, 16, generator=gen(1)))
    value = _validate(method, model, [batch], torch.device("cpu"), metric="loss", channels_last=False)
    with torch.no_grad():
        at = {p: float(method.loss(model, batch, rng=gen(12345), progress=p)["model"]) for p in (0.0, 1.0)}
    assert value == pytest.approx(at[1.0], rel=1e-6) and at[0.0] < at[1.0]
    l0 = Noise2Noise({"loss": "l0"})  # (its exponent ends near 0, every error weighing about 1: validated at 1, L1)
    assert l0.gamma(l0.validation_progress) == pytest.approx(1.0)
