"""Noise2Same and Noise2SamePro: the loss terms, lambda = 0, an input-ignoring model, the switch at T - a."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from noise2x import masking
from noise2x.data import Batch
from noise2x.errors import UsageError
from noise2x.methods.noise2same import Noise2Same
from noise2x.methods.noise2same_pro import Noise2SamePro
from noise2x.metrics import psnr
from noise2x.models import ScaledModel, build_model


pytestmark = pytest.mark.usefixtures("one_thread")


class ParamNet(nn.Module):
    """Ignores its input entirely (so it ignores the masked pixels too)."""

    def __init__(self, shape):
        super().__init__()
        self.p = nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(1)))

    def forward(self, x):
        return self.p + 0.0 * x


class Identity(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.a * x


def scaled(net, channels=1, mean=100.0, std=50.0):
    return ScaledModel(net, arch="unet", arch_args={}, mean=[mean] * channels, std=[std] * channels)


def tiny_unet(channels=1, mean=100.0, std=50.0):
    return scaled(build_model("unet", in_channels=channels, width=8, depth=2), channels, mean, std)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def batch(shape=(2, 1, 37, 31), seed=0):
    return Batch(noisy=100 + 50 * torch.randn(shape, generator=gen(seed)))


def test_mask_is_stratified_half_percent_per_channel():
    method = Noise2Same()
    z = torch.randn(2, 3, 64, 64)
    x, mask = method.mask_batch(z, rng=gen(0))
    b = masking.box_size(0.5)
    assert b == 14
    for i in range(2):
        for c in range(3):
            ys, xs = np.nonzero(mask[i, c].numpy())
            boxes = set(zip((ys // b).tolist(), (xs // b).tolist()))
            assert len(boxes) == len(ys) and {(p, q) for p in range(4) for q in range(4)} <= boxes
    assert not torch.equal(mask[0, 0], mask[0, 1])
    assert torch.equal(x[~mask], z[~mask])


def test_gaussian_replacement_has_std_0_2_and_donut_is_the_neighbour_average():
    z = torch.randn(8, 1, 64, 64) + 5.0
    x, mask = Noise2Same().mask_batch(z, rng=gen(1))
    vals = x[mask]
    assert abs(vals.mean().item()) < 0.05 and vals.std().item() == pytest.approx(0.2, rel=0.15)
    x, mask = Noise2Same({"masking": "donut"}).mask_batch(z, rng=gen(1))
    k = torch.tensor([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) / 6.0
    for i, c, y, xx in zip(*np.nonzero(mask.numpy())):
        if 0 < y < 63 and 0 < xx < 63:
            assert x[i, c, y, xx].item() == pytest.approx((z[i, c, y - 1:y + 2, xx - 1:xx + 2] * k).sum().item(), abs=1e-5)


def test_lambda_zero_is_plain_reconstruction():
    model = tiny_unet()
    b = batch()
    loss = Noise2Same({"lam": 0.0}).loss(model, b, rng=gen(2))["model"]
    z = model.normalize(b.noisy)
    assert loss.item() == pytest.approx((model.net(z) - z).square().mean().item(), rel=1e-6)


def test_invariance_term_vanishes_for_a_model_that_ignores_the_masked_pixels():
    method = Noise2Same({"lam": 2.0})
    model = scaled(ParamNet((2, 1, 37, 31)))
    b = batch()
    rec, inv = method.terms(model, model.normalize(b.noisy), rng=gen(3))
    assert inv.item() == 0.0
    loss = method.loss(model, b, rng=gen(3))["model"]
    assert loss.item() == pytest.approx(rec.item() + 2.0 * np.sqrt(1e-8), rel=1e-6)
    loss.backward()
    assert torch.isfinite(model.net.p.grad).all()  # eps keeps sqrt differentiable at 0
    # but not for the identity, which copies the replaced values
    rec, inv = method.terms(scaled(Identity()), model.normalize(b.noisy), rng=gen(3))
    assert rec.item() == pytest.approx(0.0, abs=1e-10) and inv.item() > 0.5


def test_loss_is_reconstruction_plus_lambda_sqrt_invariance():
    method = Noise2Same({"lam": 0.95, "masking": "donut"})
    model = tiny_unet()
    b = batch()
    loss = method.loss(model, b, rng=gen(4))["model"]
    z = model.normalize(b.noisy)
    x_j, mask = method.mask_batch(z, rng=gen(4))
    raw, masked = model.net(z), model.net(x_j)
    expected = (raw - z).square().mean() + 0.95 * torch.sqrt((raw - masked)[mask].square().mean() + 1e-8)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_pro_switches_at_T_minus_a():
    T = 32
    method = Noise2SamePro({"lam": 2.0})  # a = T / 16 = 2
    rec, inv = torch.tensor(0.25), torch.tensor(0.04)
    n2s = rec + 2.0 * torch.sqrt(inv + 1e-8)
    pro = rec + 2.0 * torch.sqrt(rec + 1e-8) * torch.sqrt(inv + 1e-8)
    for step in range(T):
        value = method.combine(rec, inv, progress=step / T)
        expected = pro if step >= T - T // 16 else n2s
        assert value.item() == pytest.approx(expected.item()), step
    assert [method.is_pro(s / T) for s in range(T)].count(True) == 2
    assert Noise2SamePro({"pro_fraction": 0.5}).is_pro(0.5) and not Noise2SamePro({"pro_fraction": 0.5}).is_pro(0.49)


def test_pro_gradients_flow_through_sigma_unless_detached():
    def grad(detach):
        rec = torch.tensor(0.25, requires_grad=True)
        inv = torch.tensor(0.04)
        Noise2SamePro({"detach_sigma": detach}).combine(rec, inv, progress=1.0).backward()
        return rec.grad.item()
    # d/drec [rec + 2 sqrt(rec) sqrt(inv)] = 1 + sqrt(inv) / sqrt(rec) = 1.4 ; detached: 1
    assert grad(False) == pytest.approx(1.4, rel=1e-5)
    assert grad(True) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("lam", [2.0, 0.95])  # (0.95: the cpu preset's; at 2 a lambda in place of the 2 passed)
def test_pro_loss_through_the_model_matches_the_formula(lam):
    method = Noise2SamePro({"lam": lam})
    model = tiny_unet()
    b = batch()
    z = model.normalize(b.noisy)
    rec, inv = method.terms(model, z, rng=gen(5))
    loss = method.loss(model, b, rng=gen(5), progress=0.99)["model"]
    assert loss.item() == pytest.approx((rec + 2 * torch.sqrt(rec) * torch.sqrt(inv)).item(), rel=1e-5)
    before = method.loss(model, b, rng=gen(5), progress=0.0)["model"]  # (Noise2Same's, lambda weighting)
    assert before.item() == pytest.approx((rec + lam * torch.sqrt(inv)).item(), rel=1e-5)


def test_options_are_checked():
    for bad in ({"masking": "zero"}, {"lam": -1.0}, {"eps": 0.0}, {"percent": 200}):
        with pytest.raises(UsageError):
            Noise2Same(bad)
    with pytest.raises(UsageError):
        Noise2SamePro({"pro_fraction": 1.5})


@pytest.mark.parametrize("cls", [Noise2Same, Noise2SamePro])
def test_learns_to_denoise_in_a_few_dozen_steps(cls, gray_image):
    torch.manual_seed(0)
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    method = cls({"lam": 1.0})
    model = tiny_unet(mean=noisy.mean(), std=noisy.std())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = gen(0)
    b = Batch(noisy=torch.as_tensor(np.stack([noisy, noisy[::-1], noisy[:, ::-1], noisy[::-1, ::-1]])[:, None],
                                    dtype=torch.float32))
    losses = []
    for step in range(40):
        loss = method.loss(model, b, rng=g, progress=step / 40)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    with torch.no_grad():
        out = method.predict(model, torch.as_tensor(noisy[None, None], dtype=torch.float32))[0, 0].numpy()
    assert psnr(gray_image, out) > psnr(gray_image, noisy) + 3.0


def test_paper_preset_masks_as_the_reference_bsd68_run():
    """The reference code's BSD68 run replaces the masked pixels with Gaussian noise (donut only for ImageNet), with
    lambda about 2 sigma of the normalised images; the cpu preset keeps its measured donut masking."""
    from noise2x.methods.noise2same import Noise2Same

    paper, cpu = Noise2Same.presets["paper"], Noise2Same.presets["cpu"]
    assert (paper["method.masking"], paper["method.lam"]) == ("gaussian", 0.95)
    assert cpu["method.masking"] == "donut"
