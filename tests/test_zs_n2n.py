"""ZS-N2N: downsamplers, loss, network, determinism and a tiny-budget denoising run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import psnr_8bit
from noise2x.errors import InputError, UsageError
from noise2x.zeroshot import ZERO_SHOT, zs_n2n
from noise2x.zeroshot.nets import NoiseNet, make_generators, new_network, to_tensor
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

    def blur_net(t):  # noise = the image less its 3x3 mean: a consistency term not 0 (both above make it 0)
        return t - torch.nn.functional.avg_pool2d(t, 3, stride=1, padding=1, count_include_pad=False)

    def mse(a, b):
        return torch.mean((a - b) ** 2)

    n1, n2 = pair_downsample(noisy)
    den1, den2 = n1 - blur_net(n1), n2 - blur_net(n2)
    full1, full2 = pair_downsample(noisy - blur_net(noisy))
    residual = 0.5 * (mse(den2, n1) + mse(den1, n2))
    consistency = 0.5 * (mse(full1, den1) + mse(full2, den2))  # (Mansour & Heckel's L_cons, weight 1/2 per pair)
    assert consistency > 0.05 * residual
    assert zs_n2n_loss(blur_net, noisy).item() == pytest.approx((residual + consistency).item(), rel=1e-6)


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
    for steps in (-1, 0):  # (0 returned the untrained network's output: the docs QA pass)
        with pytest.raises(UsageError, match="steps >= 1"):
            zs_n2n(gray_image, steps=steps)
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


# ---------------------------------------------------------------- larger images: tiles and bands

def test_training_tiles_spread_over_a_large_image():
    from noise2x.zeroshot.zs_n2n import training_tiles

    assert training_tiles(256, 256, 64, 16) == [(0, 0, 256, 256)]       # at most 16 tiles' pixels: whole
    assert training_tiles(3000, 4000, 0, 16) == [(0, 0, 3000, 4000)]    # tile 0: whole (the paper)
    for h, w in ((321, 481), (3000, 4000), (1024, 1024), (100, 5000), (40, 3000), (257, 257)):
        boxes = training_tiles(h, w, 64, 16)
        assert 12 <= len(boxes) <= 16 and len(set(boxes)) == len(boxes)
        for t, v, th, tw in boxes:
            assert t % 2 == 0 and v % 2 == 0 and th % 2 == 0 and tw % 2 == 0
            assert 0 <= t and t + th <= h and 0 <= v and v + tw <= w
            assert (th, tw) == (min(64, h) // 2 * 2, min(64, w) // 2 * 2)
        # spread from edge to edge (within the even rounding), or centred on an axis with one tile
        tops, lefts = sorted({t for t, _, _, _ in boxes}), sorted({v for _, v, _, _ in boxes})
        for starts, length, size in ((tops, h, boxes[0][2]), (lefts, w, boxes[0][3])):
            if len(starts) > 1:
                assert starts[0] == 0 and starts[-1] + size >= length - 1
            else:
                assert abs(2 * starts[0] + size - length) <= 3
    assert len(training_tiles(1024, 1024, 64, 16)) == 16                     # a 4x4 grid for a square
    assert {t for t, _, _, _ in training_tiles(100, 5000, 64, 16)} == {18}   # one row for a strip, centred


def test_cpu_preset_trains_on_the_same_tiles_at_every_step(monkeypatch, gray_image):
    """With ``tile`` set and a larger image, every step's input is the batch of the image's tiles."""
    import importlib

    from noise2x.zeroshot.zs_n2n import training_tiles

    zs_mod = importlib.import_module("noise2x.zeroshot.zs_n2n")
    original = zs_mod.zs_n2n_loss
    seen: list[torch.Tensor] = []

    def spy(net, xs):
        seen.append(xs.detach().clone())
        return original(net, xs)

    monkeypatch.setattr(zs_mod, "zs_n2n_loss", spy)
    info: dict = {}
    lines: list[str] = []
    zs_n2n(gray_image, rng=0, steps=4, tile=8, tiles=6, info=info, progress=lines.append)
    boxes = training_tiles(37, 31, 8, 6)
    x = to_tensor(gray_image)
    expected = torch.cat([x[..., t: t + th, v: v + tw] for t, v, th, tw in boxes])
    assert len(seen) == 4 and all(torch.equal(s, expected) for s in seen)
    assert info["tile"] == 8 and info["tiles"] == 6
    assert f"(training on {len(boxes)} tiles of 8x8)" in lines[-1]
    seen.clear()
    zs_n2n(gray_image, rng=0, steps=3, tile=0)                     # the whole image every step
    assert all(torch.equal(s, x) for s in seen) and len(seen) == 3
    assert PRESETS["cpu"]["tile"] == 64 and PRESETS["cpu"]["tiles"] == 16
    assert PRESETS["paper"]["tile"] == PRESETS["code"]["tile"] == 0


def test_tiles_covering_the_image_are_whole_image_training(gray_image):
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    np.testing.assert_array_equal(zs_n2n(noisy, rng=2, steps=6, tile=40, tiles=1),
                                  zs_n2n(noisy, rng=2, steps=6, tile=0))
    for bad in (dict(tile=2), dict(tile=-1), dict(tiles=0)):
        with pytest.raises(UsageError, match="tile 0"):
            zs_n2n(noisy, **bad)
    for bad in (dict(tile="abc"), dict(steps="x"), dict(lr="fast")):          # --set KEY=text
        with pytest.raises(UsageError, match="must be numbers"):
            zs_n2n(noisy, **bad)
    for bad in (dict(steps=1.5), dict(tiles="2.5")):  # (int() cut 1.5 to 1: a run of 1 step)
        with pytest.raises(UsageError, match="expected a whole number"):
            zs_n2n(noisy, **bad)
    np.testing.assert_array_equal(zs_n2n(noisy, rng=2, steps=2.0, tile="0"), zs_n2n(noisy, rng=2, steps=2, tile=0))


def test_tile_trained_run_raises_psnr_on_the_whole_image():
    yy, xx = np.mgrid[0:64, 0:80]
    clean = np.clip(128 + 60 * np.sin(xx / 6.0) * np.cos(yy / 9.0), 0, 255)
    noisy = clean + 25 * np.random.default_rng(1).standard_normal(clean.shape)
    out = zs_n2n(noisy, rng=0, steps=80, tile=16, tiles=4)
    assert out.shape == clean.shape
    assert psnr_8bit(clean, out) > psnr_8bit(clean, noisy) + 3.0


def test_prediction_in_bands_equals_the_whole_image_prediction(monkeypatch, rgb_image):
    """Above BAND_PIXELS the result is computed in bands of rows; the 5x5 network makes them exact."""
    import noise2x.zeroshot.nets as nets_mod

    noisy = rgb_image + 25 * np.random.default_rng(2).standard_normal(rgb_image.shape)
    whole = zs_n2n(noisy, rng=1, steps=5)
    calls: list[int] = []
    original = nets_mod.in_bands

    def counting(fn, x, **kw):
        return original(lambda part: calls.append(part.shape[-2]) or fn(part), x, **kw)

    import importlib

    zs_mod = importlib.import_module("noise2x.zeroshot.zs_n2n")
    monkeypatch.setattr(nets_mod, "BAND_PIXELS", 8 * 31)
    monkeypatch.setattr(zs_mod, "in_bands", counting)
    banded = zs_n2n(noisy, rng=1, steps=5)
    assert len(calls) == 5 and max(calls) <= 8 + 2 * 8             # 37 rows in bands of 8, 8 rows of context
    np.testing.assert_allclose(banded, whole, atol=1e-4)


@pytest.mark.parametrize("method,options", [("zs_n2n", {"steps": 2}),
                                            ("mash", {"ratio": 0.5, "steps": 2, "predictions": 1})])
def test_zero_shot_methods_run_on_the_device_asked_for(method, options, gray_image):
    """`denoise --method zs_n2n|mash --device D` trains on D (models' devices; the other direct methods refuse
    any but the CPU): auto is a CUDA GPU when there is one; a device not here is one clear error."""
    from noise2x import api

    noisy = gray_image + 25 * np.random.default_rng(2).standard_normal(gray_image.shape)
    info: dict = {}
    api.denoise(noisy, method=method, options=options, device="cpu", info=info)
    assert info["device"] == "cpu"
    info = {}
    api.denoise(noisy, method=method, options=options, info=info)
    assert info["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match=f"^{method}: device cuda requested but no CUDA GPU is available"):
            api.denoise(noisy, method=method, options=options, device="cuda")
    with pytest.raises(UsageError, match=f"^{method}: unknown device 'tpu'"):
        api.denoise(noisy, method=method, options=options, device="tpu")
    info = {}  # a device among the method's options comes first
    api.denoise(noisy, method=method, options={**options, "device": "cpu"}, device="auto", info=info)
    assert info["device"] == "cpu"


def test_preset_auto_is_gpu_on_a_cuda_gpu_and_cpu_elsewhere(gray_image):
    """preset="auto" (the default) runs ZS-N2N's longer `gpu` preset on a CUDA GPU, the `cpu` one on a CPU (or
    MPS), and MASH's `cpu` preset everywhere; the name run is recorded; an unknown preset lists the valid ones."""
    from noise2x.zeroshot import mash
    from noise2x.zeroshot.mash import PRESETS as MASH_PRESETS
    from noise2x.zeroshot.nets import zero_shot_preset

    assert zero_shot_preset("auto", torch.device("cuda"), PRESETS, "m") == "gpu"
    assert zero_shot_preset("auto", torch.device("cuda", 1), PRESETS, "m") == "gpu"
    for dev in ("cpu", "mps"):
        assert zero_shot_preset("auto", torch.device(dev), PRESETS, "m") == "cpu"
    assert zero_shot_preset("auto", torch.device("cuda"), MASH_PRESETS, "m") == "cpu"  # MASH has no gpu preset
    assert zero_shot_preset("paper", torch.device("cuda"), PRESETS, "m") == "paper"
    with pytest.raises(UsageError, match="m: unknown preset 'fast'; valid: auto, cpu, paper, code, gpu"):
        zero_shot_preset("fast", torch.device("cpu"), PRESETS, "m")
    with pytest.raises(UsageError, match="mash: unknown preset 'gpu'; valid: auto, cpu, paper, code"):
        mash(gray_image, preset="gpu")
    assert PRESETS["gpu"]["steps"] > PRESETS["cpu"]["steps"] and PRESETS["gpu"]["width"] > PRESETS["cpu"]["width"]
    noisy = gray_image + 25 * np.random.default_rng(3).standard_normal(gray_image.shape)
    info: dict = {}
    zs_n2n(noisy, steps=2, device="cpu", info=info)
    assert info["preset"] == "cpu" and info["width"] == PRESETS["cpu"]["width"]
    info = {}
    zs_n2n(noisy, steps=2, device="cpu", preset="gpu", info=info)  # asked for: also on a CPU
    assert info["preset"] == "gpu" and info["width"] == PRESETS["gpu"]["width"]
    info = {}
    mash(noisy, ratio=0.5, steps=2, predictions=1, device="cpu", info=info)
    assert info["preset"] == "cpu"
