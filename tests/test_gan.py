"""The GAN denoiser: networks, loss terms, separate updates, VGG loading, WGAN hooks, divergence handling."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from torch import nn

from noise2x.checkpoint import load_model, read_metadata, save_model
from noise2x.config import TrainConfig, apply_overrides, preset_overrides, resolve_model, resolve_preset
from noise2x.data import Batch
from noise2x.errors import InputError, Noise2xError, UsageError
from noise2x.methods import get_method
from noise2x.methods.base import LOG_PREFIX
from noise2x.methods.gan import GAN
from noise2x.models import ScaledModel, build_model
from noise2x.models.gan import (Critic, GANGenerator, GANPair, PatchDiscriminator, VGGFeatures, WGANPair,
                                load_vgg_features)
from noise2x.train import TrainingInterrupted, run_folder, train

FAST = ["train.preset=tiny", "train.threads=1", "data.val_images=2", "data.val_crop=24"]
VGG_SHAPES = {"features.0": (64, 3), "features.2": (64, 64), "features.5": (128, 64), "features.7": (128, 128)}


pytestmark = pytest.mark.usefixtures("one_thread")


def read_log(out) -> list[dict[str, str]]:
    with open(run_folder(out) / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def vgg_state(seed: int = 0, **replace) -> dict[str, torch.Tensor]:
    """A state dict shaped like torchvision's vgg16 features up to conv2_2 (random weights)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, (out_c, in_c) in VGG_SHAPES.items():
        state[f"{name}.weight"] = torch.randn(out_c, in_c, 3, 3, generator=g) * math.sqrt(2.0 / (9 * in_c))
        state[f"{name}.bias"] = torch.zeros(out_c)
    state.update(replace)
    return state


@pytest.fixture
def vgg_file(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(vgg_state(), path)
    return path


def tiny_gan(channels: int = 1, *, wgan: bool = False, seed: int = 0) -> ScaledModel:
    m = GAN({"adversarial": "wgan"} if wgan else None)
    arch, args = m.default_model(channels=channels, preset="tiny")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_model(arch, **args)
    return ScaledModel(net, arch=arch, arch_args=args, mean=[120.0] * channels, std=[60.0] * channels)


def noisy_batch(n: int = 4, size: int = 24, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    clean = 128 + 60 * torch.sin(torch.arange(size, dtype=torch.float32) / 3).expand(n, 1, size, size)
    return Batch(noisy=clean + 25 * torch.randn(clean.shape, generator=g), clean=clean.clone())


# -- networks ---------------------------------------------------------------------------
@pytest.mark.parametrize("down,upsample", [(1, "resize"), (2, "resize"), (2, "subpixel")])
@pytest.mark.parametrize("size", [(37, 31), (5, 3), (1, 1)])
def test_generator_keeps_any_size(down, upsample, size):
    g = GANGenerator(2, width=4, res_blocks=1, down=down, upsample=upsample).eval()
    x = torch.randn(2, 2, *size)
    with torch.no_grad():
        y = g(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert float((y - x).abs().max()) <= 1.0  # the correction is tanh-bounded (residual_range=1)


def test_generator_is_a_global_residual():
    g = GANGenerator(1, width=4, res_blocks=2, down=2, residual_range=3.0).eval()
    x = torch.randn(1, 1, 19, 23)
    with torch.no_grad():
        g.out.weight.zero_()
        g.out.bias.fill_(0.5)
        assert torch.allclose(g(x), x + 3.0 * math.tanh(0.5))


def test_published_layouts():
    g = GANGenerator(3)  # the reference sizes
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.out_channels) for c in convs[:3]] == [(9, 32), (3, 64), (3, 128)]
    assert len(g.res) == 3 and all(c.out_channels == 128 for c in convs[3:9])
    assert [(c.kernel_size[0], c.out_channels) for c in convs[9:]] == [(3, 64), (3, 32), (9, 3)]
    bn_slopes = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bn_slopes) == 11  # every block but the output convolution
    d = PatchDiscriminator(3)
    dc = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.stride[0], c.out_channels) for c in dc] == [
        (4, 2, 48), (4, 2, 96), (4, 2, 192), (4, 1, 384), (4, 1, 1)]
    c = Critic(1)
    cc = [m for m in c.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.stride[0], m.out_channels) for m in cc] == [(1, 64), (2, 64), (1, 128), (2, 128), (1, 256),
                                                           (2, 256), (1, 1)]
    w = WGANPair(1)
    assert sum(isinstance(m, nn.Conv2d) for m in w.generator.modules()) == 17


@pytest.mark.parametrize("size", [(37, 31), (8, 8), (1, 2)])
def test_discriminators_give_patch_maps_at_odd_sizes(size):
    x = torch.randn(3, 1, *size)
    expect = (3, 1, math.ceil(size[0] / 8), math.ceil(size[1] / 8))
    for d in (PatchDiscriminator(1, width=4), Critic(1, width=4)):
        assert d(x).shape == expect
    pair = GANPair(1, width=4, res_blocks=1, d_width=4).eval()
    with torch.no_grad():
        assert torch.equal(pair(x), pair.generator(x))


def test_pair_rejects_other_output_channels():
    with pytest.raises(UsageError, match="out_channels must equal in_channels"):
        build_model("gan", in_channels=1, out_channels=3)
    with pytest.raises(UsageError, match="down"):
        build_model("gan", in_channels=1, down=3)


def test_model_file_round_trip(tmp_path):
    model = tiny_gan(3)
    model.train()
    with torch.no_grad():  # non-trivial batch-norm statistics
        model(torch.rand(4, 3, 16, 16) * 255)
    model.eval()
    path = save_model(tmp_path / "g.safetensors", model, metadata={"method": "gan", "method_options": {}})
    loaded, meta = load_model(path)
    x = torch.rand(1, 3, 37, 31) * 255
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert meta["arch"] == "gan" and any(k.startswith("net.discriminator.") for k in loaded.state_dict())


# -- loss terms on hand-made cases ----------------------------------------------------------
class ConstantScore(nn.Module):
    """A 'discriminator' whose score map is a constant (a learnable bias)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor(float(value)))

    def forward(self, x):
        return x[:, :1, ::4, ::4] * 0 + self.bias


class MeanScore(nn.Module):
    """A 'critic' scoring each image by its values (score map = the image)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return self.scale * x


class Pair(nn.Module):
    def __init__(self, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = nn.Identity()
        self.discriminator = discriminator

    def forward(self, x):
        return self.generator(x)


def val(t: torch.Tensor) -> float:
    return float(t.detach())


def hand_model(discriminator: nn.Module) -> ScaledModel:
    return ScaledModel(Pair(discriminator), arch="gan", arch_args={}, mean=[0.0], std=[10.0])


def test_pixel_smoothness_and_adversarial_terms_by_hand():
    cols, rows = torch.arange(6, dtype=torch.float32), torch.arange(5, dtype=torch.float32)[:, None]
    ramp = (10.0 * cols + 20.0 * rows).expand(2, 1, 5, 6)  # +1 normalised unit per column, +2 per row
    batch = Batch(noisy=ramp, clean=ramp + 20.0)  # the clean image is 2 normalised units above
    m = GAN()
    t = m.terms(hand_model(ConstantScore(0.0)), batch)
    assert val(t["pixel"]) == pytest.approx(4.0)
    assert val(t["smoothness"]) == pytest.approx(1.0 + 4.0)  # 1^2 horizontally, 2^2 vertically
    assert val(t["adversarial"]) == pytest.approx(math.log(2.0))
    assert val(t["critic"]) == pytest.approx(2 * math.log(2.0))
    assert "feature" not in t  # feature_weight=0: VGG not needed
    t = m.terms(hand_model(ConstantScore(2.0)), batch)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert val(t["adversarial"]) == pytest.approx(softplus(-2.0))  # -log sigmoid(2)
    assert val(t["critic"]) == pytest.approx(softplus(-2.0) + softplus(2.0), rel=1e-6)
    w = GAN({"adversarial": "wgan"}).terms(hand_model(MeanScore()), batch)
    fake, real = float(ramp.mean()) / 10, float(ramp.mean()) / 10 + 2
    assert val(w["critic"]) == pytest.approx(fake - real) and val(w["adversarial"]) == pytest.approx(-fake)
    # the standard GAN's labels, with real and fake scored apart (equal scores cannot tell them: a QA pass)
    g = GAN().terms(hand_model(MeanScore()), batch)
    fake_map = ramp / 10.0  # (the scores: the normalised images, the clean one 2 units above)
    sp = torch.nn.functional.softplus
    assert val(g["critic"]) == pytest.approx(float(sp(-(fake_map + 2.0)).mean() + sp(fake_map).mean()), rel=1e-5)
    assert val(g["adversarial"]) == pytest.approx(float(sp(-fake_map).mean()), rel=1e-5)
    losses = GAN({"adversarial_weight": 0.5, "smoothness_weight": 0.25, "reduction": "mean"}).loss(
        hand_model(ConstantScore(0.0)), batch, rng=torch.Generator())
    assert val(losses["model"]) == pytest.approx(0.5 * math.log(2) + 4.0 + 0.25 * 5.0)
    # reduction "sum" (the reference's l2_loss): the pixel and smoothness means times half their 2*5*6 values
    summed = GAN({"adversarial_weight": 0.5, "smoothness_weight": 0.25}).loss(
        hand_model(ConstantScore(0.0)), batch, rng=torch.Generator())
    assert val(summed["model"]) == pytest.approx(0.5 * math.log(2) + 30 * (4.0 + 0.25 * 5.0))
    assert val(summed[LOG_PREFIX + "pixel"]) == pytest.approx(4.0)  # logged terms stay means
    assert set(losses) == {"critic", "model"} | {LOG_PREFIX + k for k in ("adversarial", "pixel", "smoothness")}


def test_feature_term_by_hand(tmp_path):
    # a VGG that passes the green channel of the ImageNet-normalised input through every layer
    state = {k: torch.zeros_like(v) for k, v in vgg_state().items()}
    for name in VGG_SHAPES:
        state[f"{name}.weight"][0, 1 if name == "features.0" else 0, 1, 1] = 1.0
    path = tmp_path / "eye.pth"
    torch.save(state, path)
    pred = torch.full((1, 1, 6, 8), 255.0)
    clean = torch.full((1, 1, 6, 8), 0.7 * 255)
    m = GAN({"feature_weight": 1.0, "vgg_weights": str(path)})
    model = ScaledModel(Pair(ConstantScore(0.0)), arch="gan", arch_args={}, mean=[0.0], std=[1.0])
    # gray pixels repeated to RGB, in [0, 1], green channel after ImageNet normalisation
    green = (1.0 - 0.456) / 0.224 - (0.7 - 0.456) / 0.224
    assert val(m.feature_term(model, pred, clean)) == pytest.approx(green ** 2 / 128, rel=1e-5)
    assert val(m.feature_term(model, clean * 0, clean * 0 + 50)) == 0.0  # below the mean: cut by the ReLU
    assert val(m.feature_term(model, clean, clean)) == 0.0
    out = m.terms(model, Batch(noisy=pred, clean=clean))  # identity generator: pred = noisy
    assert val(out["feature"]) == pytest.approx(green ** 2 / 128, rel=1e-5)
    # reduction "sum": the reference's get_style_loss, the sum of squares over relu2_2's 3 x 4 positions and 128
    # channels divided by the 128 channels (it was taken as half the sum: 64 times that, a method review)
    only = GAN({"feature_weight": 1.0, "vgg_weights": str(path), "adversarial_weight": 0.0, "pixel_weight": 0.0,
                "smoothness_weight": 0.0}).loss(model, Batch(noisy=pred, clean=clean), rng=torch.Generator())
    assert val(only["model"]) == pytest.approx(green ** 2 * 12 / 128, rel=1e-5)


# -- separate updates ------------------------------------------------------------------------
def test_each_loss_moves_only_its_network():
    m = GAN()
    model = tiny_gan()
    g_params = list(m.parameters_for("model", model))
    d_params = list(m.parameters_for("critic", model))
    assert len(g_params) + len(d_params) == len(list(model.parameters()))
    assert {id(p) for p in g_params}.isdisjoint(id(p) for p in d_params)
    losses = m.loss(model, noisy_batch(), rng=torch.Generator())
    # the critic loss does not reach the generator (the generated image is detached)
    assert all(g is None for g in torch.autograd.grad(losses["critic"], g_params, retain_graph=True,
                                                      allow_unused=True))
    opts = {k: m.make_optimizer(k, list(m.parameters_for(k, model)), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.0)
            for k in ("critic", "model")}
    grads = {k: torch.autograd.grad(losses[k], list(m.parameters_for(k, model)), retain_graph=True)
             for k in ("critic", "model")}  # as the trainer: every gradient first, then the steps
    for key, other in (("critic", g_params), ("model", d_params)):
        mine = list(m.parameters_for(key, model))
        before_mine = [p.detach().clone() for p in mine]
        before_other = [p.detach().clone() for p in other]
        for p, g in zip(mine, grads[key]):
            p.grad = g
        opts[key].step()
        assert all(torch.equal(a, b) for a, b in zip(before_other, other))
        assert sum(not torch.equal(a, b) for a, b in zip(before_mine, mine)) >= len(mine) // 2


def test_critic_only_steps_in_training(tmp_path, clean_dir):
    """n_critic=2: step 1 updates only the critic, step 2 both; wgan clipping and RMSProp through the hooks."""
    over = FAST + ["method.adversarial=wgan", "method.n_critic=2", "method.clip=0.01", "method.optimizer=rmsprop",
                   "train.val_every=1"]
    out = train("gan", data=clean_dir, out=tmp_path / "w.safetensors", add_noise="gaussian:sigma=25", steps=1,
                overrides=over, progress=False)
    meta = read_metadata(out)
    assert meta["arch"] == "wgan"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the trainer's initial weights (seed 0)
        init = build_model("wgan", **meta["arch_args"])
    trained, _ = load_model(out)
    params = dict(trained.net.named_parameters())
    assert all(torch.equal(p, params[n]) for n, p in init.generator.named_parameters(prefix="generator"))
    assert any(not torch.equal(p, params[n]) for n, p in init.discriminator.named_parameters(prefix="discriminator"))
    assert all(val(p.abs().max()) <= 0.01 + 1e-9 for p in trained.net.discriminator.parameters())
    rows = read_log(out)
    assert math.isfinite(float(rows[0]["loss_critic"])) and "loss_pixel" not in rows[0]  # no generator step yet
    shown = []
    out2 = train("gan", data=clean_dir, out=tmp_path / "w2.safetensors", add_noise="gaussian:sigma=25", steps=4,
                 overrides=over, progress=False, callbacks=[lambda i: shown.append(i.loss)])
    # a critic-only step (3) keeps the generator's loss of step 2 (it showed the critic's: a GAN QA pass)
    assert shown[2] == shown[1] and shown[3] != shown[2]
    moved = load_model(out2)[0].net.generator.state_dict()
    assert any(not torch.equal(v, moved[k]) for k, v in init.generator.state_dict().items() if "running" not in k)
    from noise2x.checkpoint import load_state

    states, _, _ = load_state(run_folder(out2) / "state.safetensors")
    assert set(states) == {"critic", "model"} and "alpha" in states["critic"]["param_groups"][0]  # RMSProp


def test_resume_continues_the_adversarial_game(tmp_path, clean_dir):
    """The model file keeps the critic, the state file both RMSProp states: a resumed run is the same run."""
    over = FAST + ["train.val_every=3", "method.adversarial=wgan", "method.n_critic=2", "method.clip=0.01",
                   "method.optimizer=rmsprop"]
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=6, progress=False, overrides=over)
    straight = load_model(train("gan", out=tmp_path / "a.safetensors", **kw))[0].state_dict()

    def stop_at_3(info):
        if info.step == 3:
            info.stop = True

    out = tmp_path / "b.safetensors"
    with pytest.raises(TrainingInterrupted):
        train("gan", out=out, callbacks=[stop_at_3], **kw)
    resumed = load_model(train("gan", out=out, resume=True, **kw))[0].state_dict()
    assert all(torch.equal(v, resumed[k]) for k, v in straight.items())


# -- VGG16 weights -------------------------------------------------------------------------
def test_vgg_loader_accepts_torchvision_keys_and_rejects_wrong_files(tmp_path, vgg_file):
    net = load_vgg_features(vgg_file)
    assert isinstance(net, VGGFeatures) and not any(p.requires_grad for p in net.parameters())
    assert net(torch.rand(2, 1, 9, 11)).shape == (2, 128, 4, 5)
    bad = tmp_path / "bad.pth"
    state = vgg_state(**{"features.5.weight": torch.zeros(128, 32, 3, 3)})
    del state["features.7.bias"]
    torch.save(state, bad)
    with pytest.raises(InputError, match=r"features\.5\.weight has shape \(128, 32, 3, 3\), expected "
                                         r"\(128, 64, 3, 3\); features\.7\.bias missing"):
        load_vgg_features(bad)
    torch.save([1, 2, 3], bad)
    with pytest.raises(InputError, match="not a state dict"):
        load_vgg_features(bad)
    bad.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="not a readable PyTorch weight file"):
        load_vgg_features(bad)
    with pytest.raises(UsageError, match="no such file"):
        load_vgg_features(tmp_path / "missing.pth")
    # torchvision names its file by its SHA-256's start: a file of another hash under that name is damaged
    import shutil

    from noise2x.provenance import file_sha256

    sha = file_sha256(vgg_file)
    named = tmp_path / f"vgg16-{sha[:8]}.pth"
    shutil.copy(vgg_file, named)
    assert load_vgg_features(named).source_sha256 == sha
    wrong = tmp_path / f"vgg16-{'0' if sha[0] != '0' else '1'}{sha[1:8]}.pth"
    shutil.copy(vgg_file, wrong)
    with pytest.raises(InputError, match=f"damaged or not the file its name says: its SHA-256 starts {sha[:8]}"):
        load_vgg_features(wrong)


def test_feature_loss_without_weights_says_what_to_do():
    m = GAN({"feature_weight": 1.0})
    with pytest.raises(UsageError, match=r"method\.vgg_weights=PATH.*method\.feature_weight=0"):
        m.loss(tiny_gan(), noisy_batch(), rng=torch.Generator())


def test_training_with_vgg_logs_all_four_terms(tmp_path, clean_dir, vgg_file, gray_image):
    out = train("gan", data=clean_dir, out=tmp_path / "g.safetensors", add_noise="gaussian:sigma=25", steps=4,
                overrides=FAST + ["train.val_every=2", "method.feature_weight=1", f"method.vgg_weights={vgg_file}"],
                progress=False)
    rows = read_log(out)
    assert [r["step"] for r in rows] == ["2", "4"]
    for r in rows:
        for col in ("train_loss", "loss_critic", "loss_adversarial", "loss_pixel", "loss_feature", "loss_smoothness"):
            assert math.isfinite(float(r[col])), col
        assert float(r["loss_feature"]) > 0 and float(r["val_psnr"]) > 0
    meta = read_metadata(out)
    assert meta["method"] == "gan" and meta["arch"] == "gan" and meta["method_options"]["feature_weight"] == 1.0
    from noise2x.provenance import file_sha256

    assert meta["method_files_sha256"] == {"vgg_weights": file_sha256(vgg_file)}  # (the path alone before)
    # the curve plots the critic's and the adversarial losses too, and losses below 0 (a WGAN's) on a linear scale
    import numpy as np
    from PIL import Image

    from noise2x.train import plot_curves

    with Image.open(run_folder(out) / "curve.png") as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert im.size[0] == 1350 and ((pixels == (255, 127, 14)).all(1).any()) and ((pixels == (44, 160, 44)).all(1).any())
    negative = [{"step": s, "train_loss": -1.0 - s, "val_psnr": 20.0 + s, "loss_critic": -s, "loss_adversarial": s}
                for s in (1, 2, 3)]
    plot_curves(negative, tmp_path / "c.png")
    with Image.open(tmp_path / "c.png") as im:
        assert (np.asarray(im.convert("RGB")).reshape(-1, 3) == (31, 119, 180)).all(1).any()  # (it drew no point)
    from noise2x.predict import Denoiser

    den = Denoiser.load(out)
    assert den.denoise(gray_image).shape == gray_image.shape


# -- presets ---------------------------------------------------------------------------------
def test_presets():
    cfg = TrainConfig(method="gan", data="x")

    def settled(preset, device="cpu"):
        c = apply_overrides(cfg, [f"train.preset={preset}"])
        p = resolve_preset(c, device)
        return p, apply_overrides(c, preset_overrides("gan", p))

    p, c = settled("auto")
    assert p == "cpu" and c.options.feature_weight == 1.0 and c.options.smoothness_weight == 1e-4
    assert resolve_model(c, channels=1, preset=p)[1]["down"] == 2
    _, c = settled("paper")
    assert c.options.smoothness_weight == 1e-4 and resolve_model(c, channels=1, preset="paper")[1]["down"] == 1
    _, c = settled("code")
    assert c.options.smoothness_weight == 1.0 and resolve_model(c, channels=3, preset="code")[0] == "gan"
    assert (c.train.beta2, c.train.schedule) == (0.999, "constant")  # (the reference's Adam, at a constant rate)
    _, c = settled("wgan")
    o = c.options
    assert (o.adversarial, o.optimizer, o.n_critic, o.clip) == ("wgan", "rmsprop", 5, 0.01)
    assert c.train.schedule == "constant"  # (the reference's and the WGAN paper's constant rate: a GAN QA pass)
    from noise2x.methods.gan import GAN

    rms = GAN({"optimizer": "rmsprop"}).make_optimizer("model", [torch.nn.Parameter(torch.zeros(1))], lr=1e-3,
                                                       betas=(0.9, 0.99), weight_decay=0.0)
    assert rms.defaults["alpha"] == 0.9  # (TensorFlow's RMSProp decay, the reference's)
    arch, args = resolve_model(c, channels=1, preset="wgan")
    assert arch == "wgan" and args["depth"] == 17 and args["width"] == 64
    with pytest.raises(UsageError, match="valid: auto, tiny, cpu, paper, code, wgan"):
        resolve_preset(apply_overrides(cfg, ["train.preset=gpu"]), "cpu")
    with pytest.raises(UsageError, match="train.preset='wgan' is not valid for method supervised"):
        resolve_preset(apply_overrides(TrainConfig(method="supervised", data="x"), ["train.preset=wgan"]), "cpu")
    with pytest.raises(UsageError, match="method.adversarial"):
        get_method("gan", {"adversarial": "lsgan"})


def test_other_architectures_are_refused(gray_image):
    m = GAN()
    model = ScaledModel(build_model("unet", in_channels=1, width=4, depth=1), arch="unet", arch_args={},
                        mean=[0.0], std=[1.0])
    with pytest.raises(UsageError, match="model.arch=gan or wgan"):
        m.parameters_for("model", model)


# -- divergence (trainer) --------------------------------------------------------------------------
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, clean_dir, monkeypatch):
    from noise2x.methods.supervised import Supervised

    calls = {"n": 0}
    original = Supervised.loss

    def loss(self, model, batch, **kw):
        calls["n"] += 1
        out = original(self, model, batch, **kw)
        if calls["n"] == 5:  # step 5: the loss becomes NaN
            out["model"] = out["model"] * float("nan")
        return out

    monkeypatch.setattr(Supervised, "loss", loss)
    out = tmp_path / "m.safetensors"
    with pytest.raises(Noise2xError, match=r"model loss became nan at step 5; training stopped: the last good "
                                           r"checkpoint \(step 4\) is kept in .*last.safetensors"):
        train("supervised", data=clean_dir, out=out, add_noise="gaussian:sigma=25", steps=10,
              overrides=FAST + ["train.val_every=2"], progress=False)
    last, meta = load_model(run_folder(out) / "last.safetensors")
    assert meta["steps"] == 4 and all(torch.isfinite(v).all() for v in last.state_dict().values())
    assert not out.exists()


def test_nan_weights_are_never_checkpointed(tmp_path, clean_dir, monkeypatch):
    from noise2x.methods.supervised import Supervised

    calls = {"n": 0}
    original = Supervised.loss

    def loss(self, model, batch, **kw):
        calls["n"] += 1
        out = original(self, model, batch, **kw)
        if calls["n"] == 4:  # a finite loss whose gradient is NaN: the weights of step 4 go bad
            pred = model.net(model.normalize(batch.noisy))
            out["model"] = out["model"] + torch.sqrt((pred - pred.detach()).square().mean())
        return out

    monkeypatch.setattr(Supervised, "loss", loss)
    out = tmp_path / "m.safetensors"
    with pytest.raises(Noise2xError, match=r"weights became NaN or infinite at step 4.*checkpoint \(step 2\)"):
        train("supervised", data=clean_dir, out=out, add_noise="gaussian:sigma=25", steps=10,
              overrides=FAST + ["train.val_every=2"], progress=False)
    assert read_metadata(run_folder(out) / "last.safetensors")["steps"] == 2


def test_the_feature_term_takes_the_datas_units(tmp_path):
    """VGG16 takes images in [0, 1]; the feature term divided any image by 255, so that 16-bit data reached VGG
    at up to 257 (a method review). The image is divided by the peak of the units the model's normalisation
    reads: 255 for 8-bit data (as before), 1 for [0, 1] data, the data's own upper range beyond 8-bit, so
    that the term does not change with those units."""
    from noise2x.methods.gan import vgg_peak

    path = tmp_path / "vgg.pth"
    torch.save(vgg_state(), path)
    m = GAN({"feature_weight": 1.0, "vgg_weights": str(path)})
    rng = torch.Generator().manual_seed(0)
    clean = 0.8 * torch.rand(1, 1, 16, 16, generator=rng)
    pred = clean + 0.05 * torch.randn(1, 1, 16, 16, generator=rng)

    def model(mean, std):
        return ScaledModel(Pair(ConstantScore(0.0)), arch="gan", arch_args={}, mean=[mean], std=[std])

    eight = model(110.0, 60.0)
    assert vgg_peak(eight) == 255.0 and vgg_peak(model(0.43, 0.24)) == 1.0
    unit = val(m.feature_term(model(0.43, 0.24), pred, clean))
    assert val(m.feature_term(eight, pred * 255, clean * 255)) == pytest.approx(unit, rel=1e-5)
    counts, sixteen = model(1000.0, 300.0), model(1000.0 * 30, 300.0 * 30)
    assert vgg_peak(counts) == pytest.approx(1900.0)
    a = val(m.feature_term(counts, pred * 1900, clean * 1900))
    b = val(m.feature_term(sixteen, pred * 1900 * 30, clean * 1900 * 30))
    assert a == pytest.approx(unit, rel=1e-4) and b == pytest.approx(unit, rel=1e-4) and unit > 0
