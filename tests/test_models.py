"""Networks: the paper's U-Net layout, any input size, DnCNN, the scaling wrapper, the registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from noise2x.errors import UsageError
from noise2x.models import ARCHITECTURES, CAREUNet, DnCNN, ScaledModel, UNet, arch_parameters, build_model


pytestmark = pytest.mark.usefixtures("one_thread")


def convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def test_paper_unet_layout():
    net = UNet(3)  # width 48, depth 5: the Noise2Noise paper's network
    cs = convs(net)
    # encoder: 2 + 4 + 1 (bottleneck); decoder: 4 levels x 2 + 2 + output = 18 convolutions
    assert len(cs) == 18
    assert [c.out_channels for c in cs[:7]] == [48] * 7
    assert [c.out_channels for c in cs[7:15]] == [96] * 8
    assert [c.out_channels for c in cs[15:]] == [64, 32, 3]
    assert cs[7].in_channels == 96 and cs[9].in_channels == 144  # concatenations with the pooled skips
    assert cs[15].in_channels == 96 + 3  # top skip: the input itself
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.modules()) == 5
    acts = [m for m in net.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 17 and all(a.negative_slope == 0.1 for a in acts)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("size", [(37, 31), (5, 3), (64, 64)])
def test_unet_any_size(depth, size):
    net = UNet(2, width=4, depth=depth).eval()
    x = torch.randn(2, 2, *size)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_unet_is_local_through_padding_not_wrapping():
    """Cropping the output of a big input equals the output of the same content: padding happens at the end only."""
    torch.manual_seed(0)
    net = UNet(1, width=4, depth=2).eval()
    x = torch.randn(1, 1, 40, 44)  # multiple of 4: no padding
    with torch.no_grad():
        full = net(x)
        padded = net(x[..., :39, :43])  # padded internally by one row/column
    # far from the padded border both agree
    assert torch.allclose(full[..., :20, :20], padded[..., :20, :20], atol=1e-5)


def test_unet_n2v2_options():
    plain, variant = UNet(1, width=8, depth=2), UNet(1, width=8, depth=2, blurpool=True, top_skip=False)
    assert convs(plain)[-3].in_channels == 16 + 1
    assert convs(variant)[-3].in_channels == 16
    assert not any(isinstance(m, nn.MaxPool2d) for m in variant.modules())
    x = torch.randn(1, 1, 37, 31)
    assert variant(x).shape == x.shape


def test_maxblurpool_halves_and_blurs():
    from noise2x.models.unet import MaxBlurPool

    pool = MaxBlurPool(1)
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 3] = 16.0
    y = pool(x)
    assert y.shape == (1, 1, 4, 4)
    assert y.max() < 16.0 and (y > 0).sum() > 1  # the max is spread, not copied (anti-aliasing)


def test_dncnn_layout_and_residual():
    net = DnCNN(1)
    assert len(convs(net)) == 17
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 15
    last = convs(net)[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    x = torch.randn(2, 1, 37, 31)
    assert torch.equal(net.eval()(x), x)  # residual: predicts the noise, zero noise -> identity


def test_care_unet_layout_any_size_and_residual(tmp_path):
    """CSBDeep's U-Net as Noise2Void's BSD68 reproduction builds it (depth 2, 96 first features, batch norm)."""
    net = CAREUNet(1)
    cs = convs(net)
    assert [(c.in_channels, c.out_channels) for c in cs] == [
        (1, 96), (96, 96), (96, 192), (192, 192),  # down: two per level, doubling
        (192, 384), (384, 192),  # middle: 2**depth * 96, then back to the level above's
        (384, 192), (192, 96), (192, 96), (96, 96),  # up: concatenated with the skips
        (96, 1)]  # linear 1x1 output
    assert cs[-1].kernel_size == (1, 1) and all(c.kernel_size == (3, 3) for c in cs[:-1])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 10
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 10 and net.alignment == 4
    for size in ((37, 31), (5, 3), (1, 1)):
        x = torch.randn(2, 1, *size)
        assert net.eval()(x).shape == x.shape
    nn.init.zeros_(cs[-1].weight)
    nn.init.zeros_(cs[-1].bias)
    x = torch.randn(2, 1, 37, 31)
    assert torch.equal(net.eval()(x), x)  # residual: the output is the input plus the network's correction
    assert len(convs(CAREUNet(3, width=8, depth=3, convs=1, batchnorm=False, residual=False))) == 1 + 3 + 1 + 3
    with pytest.raises(ValueError, match="residual"):
        CAREUNet(1, 2)
    # Noise2Void's paper preset trains it, and its model file (batch norm statistics included) loads back
    from noise2x.methods.noise2void import Noise2Void

    assert Noise2Void().default_model(channels=1, preset="paper")[0] == "care_unet"
    assert Noise2Void().default_model(channels=1, preset="cpu")[0] == "unet"


def test_scaled_model_units():
    net = nn.Identity()
    m = ScaledModel(net, arch="unet", arch_args={}, mean=[100.0, 50.0, 0.0], std=[10.0, 5.0, 1.0])
    x = torch.rand(2, 3, 5, 7) * 255
    z = m.normalize(x)
    assert torch.allclose(z[:, 0], (x[:, 0] - 100) / 10)
    assert torch.allclose(m.denormalize(z), x, atol=1e-4)
    assert torch.allclose(m(x), x, atol=1e-4)
    assert m.in_channels == 3
    assert set(dict(m.named_buffers())) == {"mean", "std"}
    with pytest.raises(ValueError):
        ScaledModel(net, arch="unet", arch_args={}, mean=[0.0], std=[0.0])


def test_registry_and_errors():
    from noise2x.models import BlindSpotNet, GANPair, WGANPair

    assert ARCHITECTURES == {"unet": UNet, "dncnn": DnCNN, "gan": GANPair, "wgan": WGANPair,
                             "blindspot": BlindSpotNet, "care_unet": CAREUNet}
    assert "width" in arch_parameters("unet") and "batchnorm" in arch_parameters("dncnn")
    net = build_model("dncnn", in_channels=3, depth=5, width=8)
    assert len(convs(net)) == 5
    with pytest.raises(UsageError, match="valid: unet, dncnn"):
        build_model("resnet")
    with pytest.raises(UsageError, match="valid:.*width"):
        build_model("unet", widht=3)
    with pytest.raises(UsageError, match="depth"):
        build_model("unet", depth=0)
