"""MASH: masks, loss, ratio selection, local shuffling and small end-to-end runs."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from torch import nn

from conftest import psnr_8bit
from noise2x.errors import InputError, UsageError
from noise2x.io import to_8bit_units
from noise2x.zeroshot import ZERO_SHOT, mash
from noise2x.zeroshot.mash import (
    PRESETS,
    block_std,
    flat_tiles,
    flattest_region,
    local_shuffle,
    masked_l1,
    probe_correlation,
    probe_statistics,
    sample_keep_mask,
    select_ratio,
)
from noise2x.zeroshot.nets import MaskedUNet, Reporter, make_generators, new_network, to_tensor

# the package attribute "mash" is the function; the module is fetched by name
mash_mod = importlib.import_module("noise2x.zeroshot.mash")


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- mask and loss

def test_mask_hides_exactly_the_sampled_entries():
    shape = (1, 3, 41, 29)
    draws = torch.rand(shape, generator=torch.Generator().manual_seed(7))
    keep = sample_keep_mask(shape, 0.3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(keep, (draws >= 0.3).float())
    hidden = 1 - keep
    assert abs(hidden.mean().item() - 0.3) < 0.03
    # channels are drawn independently: some pixels are hidden in one channel only
    per_pixel = hidden.sum(dim=1)
    assert ((per_pixel > 0) & (per_pixel < 3)).any()


def test_per_pixel_mask_hides_whole_pixels():
    shape = (1, 3, 41, 29)
    draws = torch.rand((1, 1, 41, 29), generator=torch.Generator().manual_seed(7))
    keep = sample_keep_mask(shape, 0.3, generator=torch.Generator().manual_seed(7), per_pixel=True)
    assert keep.shape == shape
    for c in range(3):
        assert torch.equal(keep[:, c: c + 1], (draws >= 0.3).float())


def test_loss_touches_only_hidden_entries():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(1, 2, 9, 7, generator=g, requires_grad=True)
    target = torch.rand(1, 2, 9, 7, generator=g)
    hidden = sample_keep_mask((1, 2, 9, 7), 0.6, generator=g)   # any 0/1 pattern will do
    loss = masked_l1(pred, target, hidden)
    expected = (pred - target).abs()[hidden.bool()].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()
    assert torch.all(pred.grad[hidden == 0] == 0)
    assert torch.all(pred.grad[hidden == 1] != 0)
    # changing predictions or targets at visible entries leaves the loss unchanged
    with torch.no_grad():
        other = pred + 5 * (1 - hidden)
        assert masked_l1(other, target - 3 * (1 - hidden), hidden).item() == pytest.approx(loss.item(), rel=1e-6)


class _Spy(nn.Module):
    """Stands in for the U-Net in a training run and records what it is fed."""

    seen: list[torch.Tensor] = []

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _Spy.seen.append(x.detach().clone())
        return self.conv(x)


def test_training_feeds_the_image_with_exactly_the_hidden_entries_zeroed(monkeypatch, rgb_image):
    masks: list[torch.Tensor] = []

    def recording_mask(shape, ratio, *, generator, per_pixel=False):
        assert not per_pixel                                  # MASH itself masks each entry on its own
        keep = sample_keep_mask(shape, ratio, generator=generator)
        masks.append(keep)
        return keep

    _Spy.seen = []
    monkeypatch.setattr(mash_mod, "MaskedUNet", _Spy)
    monkeypatch.setattr(mash_mod, "sample_keep_mask", recording_mask)
    x = to_tensor(rgb_image + 1.0)            # no zero entries in the image itself
    _, gen = make_generators(0)
    cfg = dict(PRESETS["cpu"], crop=0)
    mash_mod._train(x, ratio=0.4, steps=3, cfg=cfg, gen=gen, report=Reporter(None, "t", 3))
    assert len(masks) == len(_Spy.seen) == 3
    for keep, fed in zip(masks, _Spy.seen):
        assert torch.equal(fed, x * keep)
        assert torch.equal(fed == 0, keep == 0)
    assert not torch.equal(masks[0], masks[1])                 # a fresh mask every step
    # a target on_step returns (the local shuffle) is the loss's target from the next step on, never the input
    # (dropping it, or feeding it in as the input, passed: a QA pass)
    targets: list[torch.Tensor] = []
    real_l1 = mash_mod.masked_l1

    def recording_l1(pred, target, hidden):
        targets.append(target)
        return real_l1(pred, target, hidden)

    monkeypatch.setattr(mash_mod, "masked_l1", recording_l1)
    masks.clear()
    _Spy.seen = []
    shuffled = x + 1000.0
    mash_mod._train(x, ratio=0.4, steps=3, cfg=cfg, gen=gen, report=Reporter(None, "t", 3),
                    on_step=lambda i, net: shuffled if i == 0 else None)
    assert [torch.equal(t, x) for t in targets] == [True, False, False]
    assert all(torch.equal(t, shuffled) for t in targets[1:])
    assert all(torch.equal(fed, x * keep) for keep, fed in zip(masks, _Spy.seen))


# ---------------------------------------------------------------- step 2

@pytest.mark.parametrize("preset, gap, ratio, level", [
    ("paper", 0.4, 0.2, "low"), ("paper", 2.0, 0.5, "medium"), ("paper", 3.1, 0.8, "high"),
    ("code", 0.4, 0.1, "low"), ("code", 1.5, 0.5, "medium"), ("code", 2.2, 0.9, "high"),
])
def test_ratio_selection_on_synthetic_residuals(preset, gap, ratio, level):
    rng = np.random.default_rng(0)
    noisy = 120 + 20 * rng.standard_normal((64, 48, 3))
    white = rng.standard_normal(noisy.shape)
    residual_low = 20.0 * white / white.std()                    # std exactly 20
    residual_high = (20.0 + gap) * white / white.std()
    stats = probe_statistics(noisy, noisy - residual_low, noisy - residual_high)
    assert stats["std_low"] == pytest.approx(20.0) and stats["gap"] == pytest.approx(gap)
    cfg = PRESETS[preset]
    keys = ("eps_low", "eps_high", "ratio_low", "ratio_medium", "ratio_high")
    assert select_ratio(stats["gap"], **{k: cfg[k] for k in keys}) == (pytest.approx(ratio), level)
    # the gap is symmetric in the two probes
    swapped = probe_statistics(noisy, noisy - residual_high, noisy - residual_low)
    assert swapped["gap"] == pytest.approx(gap)
    relative = probe_statistics(noisy, noisy - residual_low, noisy - residual_high, relative=True)
    assert relative["gap"] == pytest.approx(gap / (20.0 + gap))
    # the same residuals in 16-bit units: the paper's absolute gap is still read in 8-bit units
    big = probe_statistics(257 * noisy, 257 * (noisy - residual_low), 257 * (noisy - residual_high), to_8bit=1 / 257)
    assert big["std_low"] == pytest.approx(257 * 20.0) and big["gap"] == pytest.approx(gap)


def test_paper_gap_of_16bit_data_is_read_in_8bit_units(gray_image):
    noisy = 257 * (gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape))
    info: dict = {}
    mash(noisy, rng=0, preset="paper", probe_steps=3, steps=2, width=8, predictions=2, info=info)
    low, high = info["probe_std"][0.2], info["probe_std"][0.8]
    assert info["units"] == {"offset": 0.0, "scale": 1.0} and low > 257        # used as it is
    assert info["gap"] == pytest.approx(abs(high - low) * to_8bit_units(noisy)[1])


def test_probe_measured_over_the_flattest_tiles():
    rng = np.random.default_rng(3)
    clean = np.zeros((48, 64))
    clean[:, 32:] = np.tile([0.0, 150.0], (48, 16))                # textured right half
    noisy = clean + 20 * rng.standard_normal(clean.shape)
    extra = np.zeros_like(clean)
    extra[:, 32:] = 15 * rng.standard_normal((48, 32))           # the probes differ on the texture only
    est_low, est_high = clean + extra, clean.copy()
    region = flattest_region((est_low + est_high) / 2, fraction=0.5, tile=8)
    assert region[:, :32].all() and not region[:, 32:].any()
    assert flattest_region(est_low, fraction=1.0).all()
    everywhere = probe_statistics(noisy, est_low, est_high)
    flat = probe_statistics(noisy, est_low, est_high, fraction=0.5)
    assert everywhere["gap"] > 2.0
    assert flat["gap"] == pytest.approx(0.0, abs=1e-9)
    assert flat["std_low_all"] == everywhere["std_low"]


def test_one_channel_images_get_their_own_thresholds(monkeypatch, gray_image, rgb_image):
    """The cpu preset reads a gray image's gap with its gray thresholds; a threshold given applies to every image."""
    cpu = PRESETS["cpu"]
    assert cpu["gray_eps_low"] < cpu["eps_low"] and cpu["gray_eps_high"] < cpu["eps_high"]
    assert PRESETS["paper"]["gray_eps_low"] is None and PRESETS["code"]["gray_eps_high"] is None
    gap = (cpu["gray_eps_high"] + cpu["eps_high"]) / 2                # high for gray, medium for colour
    assert max(cpu["gray_eps_high"], cpu["eps_low"]) < gap < cpu["eps_high"]
    fake = {"std_low": 20.0, "std_high": 20.0 / (1 - gap), "std_low_all": 21.0, "std_high_all": 22.0, "gap": gap}
    monkeypatch.setattr(mash_mod, "probe_statistics", lambda *a, **k: dict(fake))
    monkeypatch.setattr(mash_mod, "masked_average", lambda net, x, *a, **k: x)
    monkeypatch.setattr(mash_mod, "_train", lambda *a, **k: (None, 0.0))
    kw = dict(probe_repeats=1)
    gray = probe_correlation(gray_image, rng=0, **kw)
    assert gray["gap"] == pytest.approx(gap)
    assert gray["level"] == "high" and gray["thresholds"] == (cpu["gray_eps_low"], cpu["gray_eps_high"])
    assert probe_correlation(gray_image[..., None], rng=0, **kw)["level"] == "high"          # (H,W,1) too
    colour = probe_correlation(rgb_image, rng=0, **kw)
    assert colour["level"] == "medium" and colour["thresholds"] == (cpu["eps_low"], cpu["eps_high"])
    given = probe_correlation(gray_image, rng=0, eps_low=0.5, eps_high=0.6, **kw)             # the caller's apply
    assert given["level"] == "low" and given["thresholds"] == (0.5, 0.6)
    both = probe_correlation(gray_image, rng=0, eps_high=0.6, gray_eps_low=0.01, gray_eps_high=0.02, **kw)
    assert both["thresholds"] == (0.01, 0.02) and both["level"] == "high"
    paper = probe_correlation(gray_image, rng=0, preset="paper", **kw)
    assert paper["thresholds"] == (PRESETS["paper"]["eps_low"], PRESETS["paper"]["eps_high"])
    with pytest.raises(UsageError, match="eps_low"):
        probe_correlation(gray_image, rng=0, gray_eps_low=0.3, gray_eps_high=0.2, **kw)
    with pytest.raises(UsageError, match="numbers"):
        probe_correlation(gray_image, rng=0, gray_eps_low="x", **kw)


def test_ratio_selection_rejects_crossed_thresholds():
    with pytest.raises(UsageError, match="eps_low"):
        select_ratio(1.0, eps_low=3, eps_high=2, ratio_low=0.2, ratio_medium=0.5, ratio_high=0.8)


# ---------------------------------------------------------------- local shuffling

def test_block_std_and_flat_tiles():
    img = np.zeros((17, 22))
    img[:, 12:] = np.tile([0.0, 100.0], (17, 5))                 # texture on the right
    assert block_std(img).shape == (8, 11)
    flat = flat_tiles(np.stack([img, img, img], -1), threshold=0.5, tile=4)
    assert flat.shape == (4, 5)
    assert flat[:, :3].all() and not flat[:, 3:].any()


def test_shuffle_permutes_only_inside_flat_tiles_and_keeps_multisets():
    rng = np.random.default_rng(1)
    img = rng.random((19, 26, 3))                                # distinct values everywhere
    flat = np.zeros((4, 6), dtype=bool)
    flat[0, 0] = flat[1, 3] = flat[3, 5] = flat[2, 2] = True
    before = img.copy()
    out = local_shuffle(img, flat, tile=4, rng=5)
    assert np.array_equal(img, before)                           # input untouched
    assert out.shape == img.shape and out is not img
    changed = np.zeros((4, 6), dtype=bool)
    for ty in range(4):
        for tx in range(6):
            a = img[4 * ty: 4 * ty + 4, 4 * tx: 4 * tx + 4].reshape(16, 3)
            b = out[4 * ty: 4 * ty + 4, 4 * tx: 4 * tx + 4].reshape(16, 3)
            if not flat[ty, tx]:
                assert np.array_equal(a, b)
                continue
            # same multiset of pixels (colour tuples move together)
            assert sorted(map(tuple, a)) == sorted(map(tuple, b))
            changed[ty, tx] = not np.array_equal(a, b)
    assert changed[flat].all()
    # rows and columns beyond the last full tile stay in place
    np.testing.assert_array_equal(out[16:], img[16:])
    np.testing.assert_array_equal(out[:, 24:], img[:, 24:])
    np.testing.assert_array_equal(local_shuffle(img, flat, tile=4, rng=5), out)
    # each flat tile its own permutation (one shared by all is a periodic shift: it passed, a QA pass)
    where = np.arange(19 * 26, dtype=float).reshape(19, 26)  # (a pixel's value: its place)
    moved = local_shuffle(where, flat, tile=4, rng=5)
    perms = {tuple((moved[4 * ty: 4 * ty + 4, 4 * tx: 4 * tx + 4] - where[4 * ty, 4 * tx]).ravel())
             for ty, tx in np.argwhere(flat)}
    assert len(perms) == int(flat.sum())


def test_shuffle_gray_and_no_flat_tiles():
    img = np.arange(8 * 12, dtype=float).reshape(8, 12)
    assert np.array_equal(local_shuffle(img, np.zeros((2, 3), bool), rng=0), img)
    out = local_shuffle(img, np.ones((2, 3), bool), rng=0)
    assert sorted(out.ravel()) == sorted(img.ravel()) and not np.array_equal(out, img)
    with pytest.raises(ValueError, match="expected"):
        local_shuffle(img, np.ones((3, 3), bool))


# ---------------------------------------------------------------- network and end to end

def test_unet_any_size():
    _, gen = make_generators(0)
    net = new_network(MaskedUNet, 3, 8, gen=gen)
    assert net(torch.zeros(1, 3, 37, 31)).shape == (1, 3, 37, 31)
    assert net(torch.zeros(1, 3, 5, 70)).shape == (1, 3, 5, 70)


def test_tiny_budget_fixed_ratio_raisespsnr_8bit(gray_image):
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    info: dict = {}
    out = mash(noisy, rng=0, ratio=0.5, steps=80, lr=2e-3, width=8, predictions=4, info=info)
    assert out.shape == noisy.shape and out.dtype == np.float64
    assert psnr_8bit(gray_image, out) > psnr_8bit(gray_image, noisy) + 1.5
    assert info["ratio"] == 0.5 and info["probe_std"] is None and not info["shuffled"]


def test_full_pipeline_rgb_reports_choice_and_is_seeded(rgb_image):
    noisy = rgb_image + 20 * np.random.default_rng(2).standard_normal(rgb_image.shape)
    before = noisy.copy()
    torch_state = torch.random.get_rng_state()
    kw = dict(probe_steps=4, steps=6, width=8, predictions=2, shuffle_at=2, crop=32, probe_repeats=1)
    info: dict = {}
    lines: list[str] = []
    a = mash(noisy, rng=1, info=info, progress=lines.append, shuffle="on", **kw)
    b = mash(noisy, rng=1, shuffle="on", **kw)
    assert np.array_equal(noisy, before)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a, b)
    assert a.shape == rgb_image.shape
    assert set(info["probe_std"]) == {0.2, 0.8}
    low, high = info["probe_std"][0.2], info["probe_std"][0.8]
    assert info["gap"] == pytest.approx(abs(high - low) / max(high, low))      # cpu preset: relative gap
    assert info["gaps"] == [info["gap"]]
    assert info["level"] in ("low", "medium", "high") and info["shuffled"]
    assert info["ratio"] == {"low": 0.2, "medium": 0.5, "high": 0.8}[info["level"]]
    assert any("probe stds" in line for line in lines) and any("shuffling" in line for line in lines)
    # the probe alone gives what mash found with the same seed
    probe_kw = {k: kw[k] for k in ("probe_steps", "width", "predictions", "crop", "probe_repeats")}
    found = probe_correlation(noisy, rng=1, **probe_kw)
    assert found["probe_std"] == info["probe_std"] and found["ratio"] == info["ratio"]
    assert found["units"] == info["units"] == {"offset": 0.0, "scale": 1.0}     # 8-bit data used as it is
    with pytest.raises(TypeError, match="unexpected option"):
        probe_correlation(noisy, steps_probe=3)


def test_repeated_probe_keeps_each_ratios_best_trained_probe(monkeypatch, rgb_image):
    """probe_repeats R: R fresh probe pairs (the first one the single probe); each ratio keeps its lowest std."""
    noisy = rgb_image + 20 * np.random.default_rng(3).standard_normal(rgb_image.shape)
    kw = dict(probe_steps=5, width=8, predictions=2, crop=32)
    single = probe_correlation(noisy, rng=4, probe_repeats=1, **kw)
    triple = probe_correlation(noisy, rng=4, probe_repeats=3, **kw)
    assert len(triple["gaps"]) == 3 and triple["gaps"][0] == single["gap"]
    assert len(set(triple["gaps"])) == 3                                       # fresh trainings, not copies
    for ratio in (0.2, 0.8):
        assert triple["probe_std"][ratio] <= single["probe_std"][ratio]
        assert triple["probe_std_all"][ratio] <= single["probe_std_all"][ratio]
    low, high = triple["probe_std"][0.2], triple["probe_std"][0.8]
    assert triple["gap"] == pytest.approx(abs(high - low) / max(high, low))
    # one probe far from converged (a large residual std) does not decide the level
    stats = [{"std_low": 21.5, "std_high": 34.5, "std_low_all": 24.0, "std_high_all": 35.0, "gap": 0.38},
             {"std_low": 21.4, "std_high": 26.2, "std_low_all": 23.7, "std_high_all": 31.0, "gap": 0.18}]
    fake = iter(stats)
    monkeypatch.setattr(mash_mod, "probe_statistics", lambda *a, **k: dict(next(fake)))
    found = probe_correlation(noisy, rng=4, probe_repeats=2, **kw)
    assert found["gaps"] == [0.38, 0.18]
    assert found["probe_std"] == {0.2: 21.4, 0.8: 26.2} and found["level"] == "medium"
    assert found["gap"] == pytest.approx(4.8 / 26.2)
    assert PRESETS["paper"]["probe_repeats"] == PRESETS["code"]["probe_repeats"] == 1
    with pytest.raises(UsageError, match="probe_repeats"):
        probe_correlation(noisy, probe_repeats=0)


def test_warm_start_continues_the_best_trained_probe_network(monkeypatch, rgb_image):
    """warm_start: step 3 trains on from the best-trained probe network of the right ratio, not a fresh one."""
    noisy = rgb_image + 20 * np.random.default_rng(5).standard_normal(rgb_image.shape)
    kw = dict(probe_steps=3, steps=4, width=8, predictions=2, crop=32, shuffle_at=1, warm_start=True)
    original = mash_mod._train
    calls: list[tuple[float, object, nn.Module]] = []          # (ratio, init, trained network) per training

    def spy(x, *, ratio, init=None, **kw):
        net, loss = original(x, ratio=ratio, init=init, **kw)
        calls.append((ratio, init, net))
        return net, loss

    monkeypatch.setattr(mash_mod, "_train", spy)
    cases = [   # (stats of repeat 1, repeat 2), level, index of the probe training step 3 must start from
        (((21.0, 26.0), (20.0, 27.0)), "medium", 2),     # low ratio: repeat 2 has its lower std
        (((19.0, 26.0), (18.0, 27.0)), "high", 1),       # high ratio (shuffles): repeat 1 has its lower std
        (((20.0, 21.0), (22.0, 20.5)), "low", 0),        # low ratio: repeat 1
    ]
    for (first, second), level, source in cases:
        calls.clear()
        fake = iter([{"std_low": lo, "std_high": hi, "std_low_all": lo, "std_high_all": hi, "gap": 0.0}
                     for lo, hi in (first, second)])
        monkeypatch.setattr(mash_mod, "probe_statistics", lambda *a, **k: dict(next(fake)))
        info: dict = {}
        lines: list[str] = []
        mash(noisy, rng=0, info=info, progress=lines.append, **kw)
        assert info["level"] == level and len(calls) == 5
        assert [c[0] for c in calls[:4]] == [0.2, 0.8, 0.2, 0.8] and all(c[1] is None for c in calls[:4])
        assert calls[4][1] is calls[source][2] and calls[4][2] is calls[source][2]
        assert info["warm_start_from"] == calls[source][0] == (0.8 if level == "high" else 0.2)
        assert any(f"from the ratio-{info['warm_start_from']:g} probe's network" in line for line in lines)
    # off (the default of every preset), a fixed ratio (no probe): a fresh network
    for extra in ({"warm_start": "false"}, {"warm_start": None}, {"ratio": 0.5},
                  {"preset": "paper", "probe_repeats": 2, "warm_start": None}):
        calls.clear()
        fake = iter([{"std_low": 20.0, "std_high": 21.0, "std_low_all": 20.0, "std_high_all": 21.0, "gap": 0.0}] * 2)
        info = {}
        mash(noisy, rng=0, info=info, **{**kw, **extra})
        assert calls[-1][1] is None and info["warm_start_from"] is None
    assert not any(PRESETS[p]["warm_start"] for p in ("cpu", "paper", "code"))


def test_grad_clip_bounds_the_gradient_norm_of_the_final_training_only(monkeypatch, rgb_image):
    """grad_clip > 0: every Adam step of step 3 sees a gradient of norm <= grad_clip; the probes are untouched."""
    noisy = rgb_image + 20 * np.random.default_rng(6).standard_normal(rgb_image.shape)
    kw = dict(probe_steps=3, steps=4, width=8, predictions=2, crop=32, shuffle_at=1)
    original = torch.optim.Adam.step
    norms: list[float] = []

    def spy(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    info: dict = {}
    mash(noisy, rng=0, info=info, grad_clip=0, **kw)     # unclipped (the paper presets' default)
    unclipped_info = dict(info)
    assert info["grad_clip"] == 0 and PRESETS["paper"]["grad_clip"] == PRESETS["code"]["grad_clip"] == 0
    assert len(norms) == 2 * 2 * 3 + 4 and min(norms) > 1e-3
    unclipped = list(norms)
    norms.clear()
    mash(noisy, rng=0, info=info, grad_clip=1e-3, **kw)  # probes (2 repeats x 2 ratios) as before, step 3 clips
    assert len(norms) == len(unclipped) and norms[:12] == unclipped[:12]
    assert max(norms[12:]) <= 1e-3 * (1 + 1e-4)
    # every step of step 3 exceeded 1e-3; its first step saw the unclipped run's first gradient
    assert info["clipped_steps"] == 4 and info["max_grad_norm"] >= unclipped[12] * (1 - 1e-5)
    assert "clipped_steps" not in PRESETS["cpu"] and "clipped_steps" not in unclipped_info
    norms.clear()
    mash(noisy, rng=0, info=info, grad_clip=1e9, **kw)   # a limit never reached: the largest norm step 3 saw
    assert info["clipped_steps"] == 0 and info["max_grad_norm"] == pytest.approx(max(norms[12:]), rel=1e-5)
    norms.clear()
    mash(noisy, rng=0, ratio=0.5, grad_clip="1e-3", **kw)  # the fixed-ratio ablation too; CLI strings parse
    assert len(norms) == 4 and max(norms) <= 1e-3 * (1 + 1e-4)
    info = {}
    mash(noisy, rng=0, info=info, **kw)                  # the cpu preset (the default) clips at 1
    assert PRESETS["cpu"]["grad_clip"] == info["grad_clip"] == 1 and "clipped_steps" in info
    for bad in (-1, float("nan"), "x"):
        with pytest.raises(UsageError, match="grad_clip|numbers"):
            mash(noisy, grad_clip=bad, **kw)


def test_options_are_validated(monkeypatch, gray_image):
    assert ZERO_SHOT["mash"] is mash
    with pytest.raises(UsageError, match="unknown preset"):
        mash(gray_image, preset="gpu")
    with pytest.raises(UsageError, match="shuffle must be one of"):
        mash(gray_image, shuffle="maybe")
    with pytest.raises(UsageError, match="ratio must be in"):
        mash(gray_image, ratio=1.5)
    with pytest.raises(UsageError, match="ratio must be a number in"):
        mash(gray_image, ratio="abc")  # as --set ratio=abc passes it
    with pytest.raises(UsageError, match="steps"):
        mash(gray_image, steps=-2)
    for bad in (dict(steps=1.5), dict(predictions="2.5"), dict(width=True)):  # (int() cut 1.5 to 1)
        with pytest.raises(UsageError, match="expected a whole number"):
            mash(gray_image, **bad)
    with pytest.raises(TypeError):
        mash(gray_image, bogus=1)
    with pytest.raises(UsageError, match="relative_gap must be true or false"):
        mash(gray_image, relative_gap="maybe")
    with pytest.raises(UsageError, match="probe_fraction"):
        mash(gray_image, probe_fraction=0)
    with monkeypatch.context() as m:
        m.setattr(mash_mod, "_train", lambda *a, **k: pytest.fail("trained before checking the thresholds"))
        for crossed in ({"eps_low": 0.3, "eps_high": 0.2}, {"gray_eps_low": 0.3}, {"eps_high": 0.01}):
            with pytest.raises(UsageError, match="eps_low .* must not exceed"):
                mash(gray_image, **crossed)
    with pytest.raises(InputError, match="NaN"):
        mash(np.full((8, 8), np.inf), ratio=0.5, steps=1)


def test_cli_denoise_with_mash_and_zs_n2n(tmp_path, rgb_image, capsys):
    from noise2x.cli import main
    from noise2x.io import read_image, write_image

    src = tmp_path / "photo.png"
    noisy = np.clip(rgb_image + 20 * np.random.default_rng(0).standard_normal(rgb_image.shape), 0, 255)
    write_image(src, noisy, kind="uint8")
    tiny = ["--set", "steps=3", "--set", "width=4", "--set", "predictions=1"]
    assert main(["denoise", "--method", "mash", str(src), "--out", str(tmp_path / "clean.png"),
                 *tiny, "--set", "probe_steps=2", "--set", "crop=32"]) == 0
    assert read_image(tmp_path / "clean.png").shape == rgb_image.shape
    err = capsys.readouterr().err
    assert "probe stds" in err                       # progress reaches the user
    assert main(["denoise", "--method", "zs_n2n", str(src), "--out", str(tmp_path / "zs.png"),
                 "--set", "steps=3"]) == 0
    assert read_image(tmp_path / "zs.png").shape == rgb_image.shape
    # a bad option value is one clear line and exit code 2, not a traceback
    assert main(["denoise", "--method", "mash", str(src), "--out", str(tmp_path / "x.png"),
                 "--set", "shuffle=maybe"]) == 2
    assert "shuffle must be one of" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------- larger images: probe windows and bands

def test_probe_window_is_the_centre_of_a_larger_image():
    from noise2x.zeroshot.mash import probe_window_box

    assert probe_window_box(256, 256, 256) == (0, 0, 256, 256)
    assert probe_window_box(200, 130, 256) == (0, 0, 200, 130)          # no larger: the whole image
    assert probe_window_box(3000, 4000, 0) == (0, 0, 3000, 4000)        # 0: the whole image (the paper)
    assert probe_window_box(3000, 4000, 256) == (1372, 1872, 256, 256)
    assert probe_window_box(321, 481, 256) == (32, 112, 256, 256)
    assert probe_window_box(100, 5000, 256) == (0, 2372, 100, 256)


def test_probe_runs_on_the_window_and_step_3_on_the_whole_image(monkeypatch):
    yy, xx = np.mgrid[0:48, 0:56]
    clean = np.clip(128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0), 0, 255)
    noisy = clean + 20 * np.random.default_rng(0).standard_normal(clean.shape)
    trained: list[tuple[int, int]] = []
    averaged: list[torch.Tensor] = []
    train, average = mash_mod._train, mash_mod.masked_average

    def spy_train(x, **kw):
        trained.append(tuple(x.shape[-2:]))
        return train(x, **kw)

    def spy_average(net, x, ratio, count, **kw):
        averaged.append(x.clone())
        return average(net, x, ratio, count, **kw)

    monkeypatch.setattr(mash_mod, "_train", spy_train)
    monkeypatch.setattr(mash_mod, "masked_average", spy_average)
    kw = dict(probe_steps=3, steps=3, width=8, predictions=2, crop=8, probe_repeats=1, shuffle="off")
    lines: list[str] = []
    info: dict = {}
    out = mash(noisy, rng=0, probe_window=16, progress=lines.append, info=info, **kw)
    assert out.shape == noisy.shape and info["probe_window"] == 16
    # the two probes train and predict on the centre 16x16 window; step 3 and the output use the whole image
    assert trained == [(16, 16), (16, 16), (48, 56)]
    window = to_tensor(noisy)[..., 16:32, 20:36]
    assert [tuple(a.shape[-2:]) for a in averaged] == [(16, 16), (16, 16), (48, 56)]
    assert torch.equal(averaged[0], window) and torch.equal(averaged[1], window)
    assert any("probe on the centre 16x16 window" in line for line in lines)
    trained.clear()
    mash(noisy, rng=0, probe_window=0, **kw)
    assert trained == [(48, 56)] * 3
    assert PRESETS["cpu"]["probe_window"] == 256
    assert PRESETS["paper"]["probe_window"] == PRESETS["code"]["probe_window"] == 0
    with pytest.raises(UsageError, match="probe_window"):
        mash(noisy, probe_window=-1)


def test_in_bands_is_exact_for_a_small_receptive_field_and_bounds_the_band_size():
    from noise2x.zeroshot.nets import in_bands

    conv = nn.Conv2d(2, 3, 5, padding=2)
    x = torch.randn(1, 2, 50, 9, generator=torch.Generator().manual_seed(0))
    seen: list[int] = []

    def fn(part):
        seen.append(part.shape[-2])
        return conv(part)

    with torch.no_grad():
        whole = conv(x)
        banded = in_bands(fn, x, margin=2, pixels=9 * 10)
        assert in_bands(fn, x, margin=2, pixels=50 * 9) is not None and seen[-1] == 50     # small enough: whole
        aligned = in_bands(fn, x, margin=2, pixels=9 * 10, align=4)
    assert seen[:5] == [12, 14, 14, 14, 12]           # bands of 10 rows with 2 rows of context each side
    torch.testing.assert_close(banded, whole)
    torch.testing.assert_close(aligned, whole)
    assert seen[6:] == [10, 12, 12, 12, 12, 12, 4]   # bands of 8 rows (a multiple of 4)


def test_masked_average_in_bands_is_close_to_the_whole_image_one(monkeypatch):
    """MASH's U-Net sees far beyond 64 rows, so bands are an approximation: small, and only near band edges."""
    import noise2x.zeroshot.nets as nets_mod

    _, gen = make_generators(0)
    net = new_network(MaskedUNet, 1, 8, gen=gen)
    with torch.no_grad():
        net.head[-1].weight.mul_(50.0)                 # outputs of an image's size, not a fresh net's ~1
    yy, xx = np.mgrid[0:256, 0:64]
    x = to_tensor(128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0))
    whole = mash_mod.masked_average(net, x, 0.5, 2, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(nets_mod, "BAND_PIXELS", 64 * 64)
    banded = mash_mod.masked_average(net, x, 0.5, 2, generator=torch.Generator().manual_seed(1))
    diff = (banded - whole).abs() * 255
    assert float(whole.std()) * 255 > 20
    assert 0 < float(diff.max()) < 0.05 and float(diff.mean()) < 0.005


def test_hidden_only_average_is_blind_to_each_pixel_and_hides_each_pixel_evenly():
    # an untrained U-Net's output at a visible pixel follows that pixel's own value (the input skip);
    # averaging hidden entries only makes the output at a pixel independent of it (the blind-spot property)
    _, gen = make_generators(0)
    net = new_network(MaskedUNet, 1, 4, gen=gen)
    x = torch.rand(1, 1, 32, 40, generator=torch.Generator().manual_seed(3))
    bumped = x.clone()
    bumped[..., 5, 7] += 0.5

    def avg(inp, hidden_only):
        return mash_mod.masked_average(net, inp, 0.3, 10, generator=torch.Generator().manual_seed(1),
                                       hidden_only=hidden_only)

    blind, blind_bumped = avg(x, True), avg(bumped, True)
    assert float(blind[..., 5, 7]) == float(blind_bumped[..., 5, 7])
    assert float((blind - blind_bumped).abs().max()) > 0        # the neighbours see the change
    full, full_bumped = avg(x, False), avg(bumped, False)
    assert float((full[..., 5, 7] - full_bumped[..., 5, 7]).abs()) > 1e-4

    # stratified masks: each is a Bernoulli(ratio) draw, and every entry is hidden 3 (= 0.3 x 10) times
    seen = []
    spy = lambda inp: (seen.append((inp == 0).to(torch.float32)), net(inp))[1]  # noqa: E731
    mash_mod.masked_average(spy, x, 0.3, 10, generator=torch.Generator().manual_seed(1), hidden_only=True)
    counts = torch.stack(seen).sum(0)
    assert torch.equal(counts, torch.full_like(counts, 3.0))
    assert all(0.2 < float(m.mean()) < 0.4 for m in seen)
    # a network that always predicts one image averages to that image (a sum over the predictions divided by
    # their count, not by each entry's hidden count, gave 0.3 of it: a QA pass)
    fixed = torch.rand(1, 1, 32, 40, generator=torch.Generator().manual_seed(4))
    for hidden_only in (True, False):
        out = mash_mod.masked_average(lambda inp: fixed.clone(), x, 0.3, 10,
                                      generator=torch.Generator().manual_seed(1), hidden_only=hidden_only)
        torch.testing.assert_close(out, fixed)
    with pytest.raises(UsageError, match="predictions x ratio"):
        mash_mod.masked_average(net, x, 0.05, 10, generator=torch.Generator().manual_seed(1), hidden_only=True)


def test_mash_average_option(monkeypatch):
    noisy = np.clip(128 + 20 * np.random.default_rng(0).standard_normal((24, 28)), 0, 255)
    kw = dict(probe_steps=2, steps=2, width=8, predictions=4, crop=8, probe_repeats=1, shuffle="off")
    info: dict = {}
    out = mash(noisy, rng=0, info=info, average="hidden", ratio=0.5, **kw)
    assert out.shape == noisy.shape and np.isfinite(out).all() and info["average"] == "hidden"
    with pytest.raises(UsageError, match="average must be one of all, hidden"):
        mash(noisy, average="visible", **kw)
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the options")

    monkeypatch.setattr(mash_mod, "_train", no_training)
    with pytest.raises(UsageError, match="predictions x ratio"):   # checked before any training
        mash(noisy, average="hidden", ratio=0.2, **kw)
    with pytest.raises(UsageError, match="predictions x ratio"):   # the lowest ratio the probe may pick
        mash(noisy, average="hidden", **{**kw, "predictions": 2, "ratio_low": 0.2})


def test_no_training_steps_is_refused(gray_image):
    """steps=0 returned an untrained network's output (every value clipped in an 8-bit file, exit 0: the docs QA
    pass); probe_steps=0 read the level from untrained probes."""
    from noise2x.errors import UsageError

    for key in ("steps", "probe_steps"):
        with pytest.raises(UsageError, match=rf"invalid option value\(s\): {key} \(steps, probe_steps >= 1"):
            mash(gray_image, rng=0, **{key: 0})
