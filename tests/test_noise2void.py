"""Noise2Void / N2V2 / structN2V: blind spots from coordinates, loss only at the blind spots, it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from noise2x import masking
from noise2x.data import Batch
from noise2x.errors import UsageError
from noise2x.methods.noise2void import Noise2Void
from noise2x.metrics import psnr
from noise2x.models import ScaledModel, build_model


pytestmark = pytest.mark.usefixtures("one_thread")


class ParamNet(nn.Module):
    """Outputs a free parameter tensor, ignoring its input (its gradient is the loss's gradient)."""

    def __init__(self, shape):
        super().__init__()
        self.p = nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(1)))

    def forward(self, x):
        return self.p + 0.0 * x


def scaled(net, channels=1, mean=100.0, std=50.0):
    return ScaledModel(net, arch="unet", arch_args={}, mean=[mean] * channels, std=[std] * channels)


def tiny_unet(channels=1, **extra):
    return scaled(build_model("unet", in_channels=channels, width=8, depth=2, **extra), channels)


def noisy_batch(shape, seed=0):
    rng = np.random.default_rng(seed)
    return torch.as_tensor(100 + 50 * rng.standard_normal(shape), dtype=torch.float32)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_masked_count_and_positions_follow_the_stratified_rule():
    method = Noise2Void({"percent": 1.5, "radius": 2})
    z = noisy_batch((3, 2, 37, 31))
    x, mask = method.mask_batch(z, rng=gen(0))
    b = masking.box_size(1.5)
    for i in range(3):
        for c in range(2):
            ys, xs = np.nonzero(mask[i, c].numpy())
            boxes = set(zip((ys // b).tolist(), (xs // b).tolist()))
            assert len(boxes) == len(ys)  # at most one per box
            assert {(by, bx) for by in range(37 // b) for bx in range(31 // b)} <= boxes  # full boxes: exactly one
    # the planes are masked independently
    assert not torch.equal(mask[0, 0], mask[0, 1])
    # only the blind spots are changed (no structN2V here)
    assert torch.equal(x[~mask], z[~mask])
    assert not torch.equal(x, z) and torch.equal(z, noisy_batch((3, 2, 37, 31)))  # input untouched


def test_uniform_replacement_is_a_neighbour_value_never_the_pixel_itself():
    method = Noise2Void({"percent": 5.0, "radius": 2})
    # distinct values everywhere: a replacement value identifies its source pixel
    z = torch.arange(2 * 37 * 31, dtype=torch.float32).reshape(1, 2, 37, 31)
    x, mask = method.mask_batch(z, rng=gen(3))
    for c, y, xx in zip(*np.nonzero(mask[0].numpy())):
        v = int(x[0, c, y, xx].item())
        sc, rem = divmod(v, 37 * 31)
        sy, sx = divmod(rem, 31)
        assert sc == c and (sy, sx) != (y, xx)
        assert abs(sy - y) <= 2 and abs(sx - xx) <= 2


@pytest.mark.parametrize("replacement", ["uniform", "median"])
def test_spare_blind_spots_keeps_the_targets_out_of_the_input(replacement):
    """The targets (the blind spots' noisy values) must not reach the network's input. With spare_blind_spots the
    input is the same whatever the blind spots hold; in the reference code's way (the default) a blind spot can be
    refilled from a neighbouring one at this density (6.25 %, r = 2: about 3 % of the refills), and then it is not."""
    shape = (4, 2, 32, 32)
    for spare in (True, False):
        method = Noise2Void({"percent": 6.25, "radius": 2, "replacement": replacement, "spare_blind_spots": spare})
        z = noisy_batch(shape)
        x, mask = method.mask_batch(z, rng=gen(5))
        z2 = z.clone()
        z2[mask] += 1000.0  # other targets, the same draws
        x2, mask2 = method.mask_batch(z2, rng=gen(5))
        assert torch.equal(mask, mask2)
        assert torch.equal(x, x2) is spare
    # the refills still come from the window (never the pixel itself) when the other blind spots are spared
    method = Noise2Void({"percent": 6.25, "radius": 2, "spare_blind_spots": True})
    z = torch.arange(2 * 37 * 31, dtype=torch.float32).reshape(1, 2, 37, 31)
    x, mask = method.mask_batch(z, rng=gen(3))
    for c, y, xx in zip(*np.nonzero(mask[0].numpy())):
        sc, rem = divmod(int(x[0, c, y, xx].item()), 37 * 31)
        sy, sx = divmod(rem, 31)
        assert sc == c and (sy, sx) != (y, xx) and abs(sy - y) <= 2 and abs(sx - xx) <= 2
        assert not mask[0, c, sy, sx]


def test_median_replacement_matches_the_window_median():
    method = Noise2Void({"n2v2": True, "percent": 5.0, "radius": 2})
    assert method.options.replacement == "median"
    z = noisy_batch((2, 1, 37, 31))
    x, mask = method.mask_batch(z, rng=gen(4))
    coords = np.nonzero(mask.numpy())
    expected = masking.median_values(z.numpy(), coords, radius=2)
    np.testing.assert_allclose(x.numpy()[coords], expected, rtol=1e-5)


def test_struct_mask_hides_the_row_around_each_blind_spot():
    method = Noise2Void({"percent": 1.5, "radius": 2, "struct": "horizontal:2"})
    z = torch.full((1, 1, 37, 31), 100.0)
    x, mask = method.mask_batch(z, rng=gen(5))
    changed = x != z
    for y, xx in zip(*np.nonzero(mask[0, 0].numpy())):
        for dx in (-2, -1, 1, 2):
            if 0 <= xx + dx < 31:
                assert changed[0, 0, y, xx + dx] and -2 <= x[0, 0, y, xx + dx] <= 2
    # nothing else is touched: every change lies on a blind spot's row within 2 pixels
    rows = np.zeros((37, 31), bool)
    for y, xx in zip(*np.nonzero(mask[0, 0].numpy())):
        rows[y, max(0, xx - 2):xx + 3] = True
    assert not changed[0, 0][~torch.as_tensor(rows)].any()


def test_a_presets_blind_spots_are_thinned_with_a_struct_mask(capsys):
    """A structN2V mask replaces its pixels too: the cpu preset's 6.25% of blind spots with horizontal:4 replaced
    46% of the input (its model 8 dB worse, an SEM user's QA pass); the preset's percent is lowered to keep that
    share at STRUCT_REPLACED, with a note; a percent the user gives, and the paper preset's 0.198%, are kept."""
    from noise2x.methods.noise2void import STRUCT_REPLACED
    from noise2x.train import _build_config

    def built(*overrides, preset="cpu"):
        return _build_config("noise2void", data="d", data2=None, val_data=None, add_noise=None, steps=1, minutes=None,
                             seed=0, device="cpu", overrides=[f"train.preset={preset}", *overrides])

    cfg, _, note = built("method.struct=horizontal:4")
    assert cfg.options.percent == pytest.approx(STRUCT_REPLACED / 9, rel=1e-2) and cfg.options.percent < 6.25
    assert "method.percent 6.25 lowered to 1.39 with the structN2V mask horizontal:4" in note
    cfg, _, note = built("struct=[[1,0,1]]")  # (two hidden pixels and the blind spot)
    assert cfg.options.percent == pytest.approx(STRUCT_REPLACED / 3, rel=1e-2)
    for overrides, preset, percent in ((("method.struct=horizontal:4", "method.percent=3"), "cpu", 3.0),
                                       (("method.struct=horizontal:4",), "paper", 0.198), ((), "cpu", 6.25)):
        cfg, _, note = built(*overrides, preset=preset)
        assert cfg.options.percent == percent and note is None


def test_struct_mask_keeps_the_hidden_row_out_of_the_blind_spots_replacements():
    """A blind spot refilled from its own row (whose noise structN2V hides, correlated with the target's) passed:
    the test above used a constant image (a QA pass). Distinct values tell each replacement's source."""
    row = masking.struct_mask_from_spec("horizontal:2")
    z = torch.randperm(37 * 31, generator=gen(6)).reshape(1, 1, 37, 31).float() + 100.0
    x, mask = Noise2Void({"percent": 1.5, "radius": 2, "struct": "horizontal:2"}).mask_batch(z, rng=gen(5))
    checked = 0
    for y, xx in zip(*np.nonzero(mask[0, 0].numpy())):
        v = float(x[0, 0, y, xx])
        if v < 50:  # (refilled, then hidden as another blind spot's row neighbour: random)
            continue
        sy, sx = [int(s[0]) for s in np.nonzero(z[0, 0].numpy() == v)]
        assert (sy, sx) != (y, xx) and not (sy == y and abs(sx - xx) <= 2) and max(abs(sy - y), abs(sx - xx)) <= 2
        checked += 1
    assert checked > 5
    median = Noise2Void({"n2v2": True, "percent": 1.5, "radius": 2, "struct": "horizontal:2"})
    x, mask = median.mask_batch(z, rng=gen(5))
    coords = np.nonzero(mask.numpy())
    kept = x.numpy()[coords] > 50
    want = masking.median_values(z.numpy(), coords, radius=2, struct_mask=row)
    np.testing.assert_allclose(x.numpy()[coords][kept], want[kept], rtol=1e-6)
    assert not np.allclose(want[kept], masking.median_values(z.numpy(), coords, radius=2)[kept])


def test_struct_mask_keeps_its_axis_through_augmentation_and_tta(tmp_path, monkeypatch):
    """The default augmentation turned half the patches by a quarter, running the noise past structN2V's row mask
    (a QA pass): training draws, and --tta averages, only the transforms that keep the mask."""
    from noise2x import data as data_module
    from noise2x.patches import paired_patches
    from noise2x.predict import _predictor
    from noise2x.train import train

    assert Noise2Void().symmetries == tuple(range(8))
    for spec in ("horizontal:2", "vertical:1"):
        assert Noise2Void({"struct": spec}).symmetries == (0, 2, 4, 6)  # (flips and the half turn)
    rows = np.repeat(np.arange(40.0)[:, None], 40, axis=1)  # (constant along each row)
    rng = np.random.default_rng(0)
    drawn = [paired_patches([rows], 8, rng=rng, transforms=(0, 2, 4, 6))[0] for _ in range(64)]
    assert all((np.ptp(p, axis=1) == 0).all() for p in drawn)  # (rows stay rows)
    turned = [paired_patches([rows], 8, rng=rng)[0] for _ in range(64)]
    assert any((np.ptp(p, axis=1) > 0).any() for p in turned)
    seen = []

    def spy(images, size, **kw):
        seen.append(kw.get("transforms"))
        return paired_patches(images, size, **kw)

    monkeypatch.setattr(data_module, "paired_patches", spy)
    image = np.random.default_rng(1).normal(100, 20, (4, 40, 40)).astype(np.float32)
    train("noise2void", data=image, axes="SYX", steps=1, progress=False, out=tmp_path / "m.safetensors",
          overrides=["method.struct=horizontal:1", "data.patch_size=16", "data.batch_size=2"])
    assert seen and all(t == (0, 2, 4, 6) for t in seen)
    shapes = []

    def model(x):
        shapes.append(tuple(x.shape[-2:]))
        return x

    class Direct:
        symmetries = (0, 2, 4, 6)

        def predict(self, net, x):
            return net(x)

    x = torch.arange(24.0).reshape(1, 1, 4, 6)
    torch.testing.assert_close(_predictor(model, Direct(), True)(x), x)
    assert shapes == [(4, 6)] * 4  # (no quarter turn: those would be 6x4)


def test_loss_has_zero_gradient_at_unmasked_pixels():
    method = Noise2Void({"percent": 1.5, "radius": 2})
    noisy = noisy_batch((2, 1, 37, 31))
    model = scaled(ParamNet((2, 1, 37, 31)))
    loss = method.loss(model, Batch(noisy=noisy), rng=gen(7))["model"]
    loss.backward()
    grad = model.net.p.grad
    _, mask = method.mask_batch(model.normalize(noisy), rng=gen(7))  # the same draw
    assert torch.count_nonzero(grad[~mask]) == 0
    assert torch.all(grad[mask] != 0)
    # and the value is the mean squared error at the blind spots
    z = model.normalize(noisy)
    assert loss.item() == pytest.approx((model.net.p - z)[mask].square().mean().item(), rel=1e-5)


def test_l1_loss_option():
    method = Noise2Void({"percent": 1.5, "loss": "l1"})
    noisy = noisy_batch((1, 1, 37, 31))
    model = scaled(ParamNet((1, 1, 37, 31)))
    loss = method.loss(model, Batch(noisy=noisy), rng=gen(2))["model"]
    _, mask = method.mask_batch(model.normalize(noisy), rng=gen(2))
    assert loss.item() == pytest.approx((model.net.p - model.normalize(noisy))[mask].abs().mean().item(), rel=1e-5)


def test_options_are_checked():
    for bad in ({"replacement": "mean"}, {"loss": "l3"}, {"percent": 0}, {"radius": 0}, {"struct": "diag"}, {"what": 1}):
        with pytest.raises(UsageError):
            Noise2Void(bad)


def test_n2v2_model_uses_blurpool_and_no_top_skip():
    arch, args = Noise2Void({"n2v2": True}).default_model(channels=3, preset="tiny")
    assert arch == "unet" and args["blurpool"] is True and args["top_skip"] is False and args["in_channels"] == 3
    arch, args = Noise2Void().default_model(channels=1, preset="tiny")
    assert "blurpool" not in args


def test_same_generator_same_masks():
    method = Noise2Void()
    z = noisy_batch((2, 3, 37, 31))
    a = method.mask_batch(z, rng=gen(9))
    b = method.mask_batch(z, rng=gen(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("options", [{"percent": 10.0, "radius": 2}, {"n2v2": True, "percent": 10.0, "radius": 2}])
def test_learns_to_denoise_in_a_few_dozen_steps(options, gray_image):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    noisy = gray_image + 25 * rng.standard_normal(gray_image.shape)
    method = Noise2Void(options)
    model = scaled(build_model("unet", in_channels=1, width=8, depth=2,
                               **({"blurpool": True, "top_skip": False} if options.get("n2v2") else {})),
                   mean=noisy.mean(), std=noisy.std())
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


def test_paper_preset_trains_csbdeeps_unet_and_its_file_loads_back(tmp_path):
    """The paper preset's network (the reference reproduction's CSBDeep U-Net, batch norm included) trains, is
    saved, and gives the same output once loaded."""
    import noise2x
    from noise2x.io import write_image

    rng = np.random.default_rng(0)
    for i in range(2):
        write_image(tmp_path / f"{i}.png", rng.integers(0, 255, (100, 100)).astype(np.uint8))
    den = noise2x.train("noise2void", data=tmp_path, out=tmp_path / "m.safetensors", steps=3,
                        overrides=["train.preset=paper", "data.batch_size=2", "data.patch_size=64"])
    assert den.model.arch == "care_unet"
    x = rng.integers(0, 255, (21, 19)).astype(float)
    out = den.denoise(x)
    assert np.array_equal(noise2x.load_model(tmp_path / "m.safetensors").denoise(x), out)
    assert not np.array_equal(out, x)


def test_n2v2_keeps_its_network_and_a_percentage_masking_every_pixel_is_refused():
    """A CAREamics user's QA pass: method.n2v2 with model.arch=care_unet built a plain CSBDeep U-Net (no blur-pool,
    its top skip) while the model file said n2v2; method.percent=60 masked every pixel, unsaid."""
    from noise2x.config import TrainConfig, apply_overrides, resolve_model
    from noise2x.errors import UsageError
    from noise2x.methods import get_method

    cfg = TrainConfig(method="noise2void", data="x")
    with pytest.raises(UsageError, match=r"builds its network with blurpool=True, top_skip=False \(N2V2\), which "
                                         r"model.arch=care_unet has not"):
        resolve_model(apply_overrides(cfg, ["method.n2v2=true", "model.arch=care_unet"]), channels=1, preset="cpu")
    assert resolve_model(apply_overrides(cfg, ["model.arch=care_unet"]), channels=1, preset="cpu")[0] == "care_unet"
    for setting in ("model.blurpool=false", "model.top_skip=true"):  # (N2V2 undone under its name, unsaid)
        with pytest.raises(UsageError, match=r"undoes method noise2void's own network .*N2V2's\): drop method.n2v2"):
            resolve_model(apply_overrides(cfg, ["method.n2v2=true", setting]), channels=1, preset="cpu")
    assert resolve_model(apply_overrides(cfg, ["method.n2v2=true", "model.blurpool=true", "model.arch=unet"]),
                         channels=1, preset="cpu")[1]["blurpool"] is True
    assert resolve_model(apply_overrides(cfg, ["model.blurpool=true"]), channels=1, preset="cpu")[1]["blurpool"]
    arch, args = resolve_model(apply_overrides(cfg, ["method.n2v2=true"]), channels=1, preset="paper")
    assert arch == "unet" and args["blurpool"] is True and args["top_skip"] is False
    for method, percent in (("noise2void", 45), ("noise2void", 100), ("noise2same", 60)):
        with pytest.raises(UsageError, match=rf"method.percent={percent} masks every pixel"):
            resolve_model(TrainConfig(method=method, data="x", options={"percent": percent}), channels=1,
                          preset="cpu")
    resolve_model(apply_overrides(cfg, ["method.percent=44"]), channels=1, preset="cpu")
    from noise2x.cli import _method_details  # each preset's network, with its method options (gan's wgan)

    assert any(line.startswith("  wgan: ") and line.endswith("; network wgan (depth=17, width=64, critic_width=64)")
               for line in _method_details("gan", "trainable"))
    assert any(line.startswith("  paper: ") and "; network care_unet (width=96, depth=2" in line
               for line in _method_details("noise2void", "trainable"))
    # a model file trained so before still loads: its method is built from its options (refused there: a re-check)
    assert get_method("noise2void", {"percent": 60}).options.percent == 60
