"""Blind-spot network and method (Laine et al. 2019): the blind spot, shapes, the likelihood and the
posterior mean against hand computations, the impulse mixture, a learned sigma, model files and options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from noise2x.checkpoint import load_model, save_model
from noise2x.data import Batch
from noise2x.errors import UsageError
from noise2x.methods import get_method
from noise2x.methods.blindspot import BlindSpot, impulse_moments, impulse_posterior_mean
from noise2x.models import ScaledModel, build_model
from noise2x.models.blindspot import BlindSpotNet, factor_size


pytestmark = pytest.mark.usefixtures("one_thread")


class FixedNet(BlindSpotNet):
    """A blind-spot net whose outputs (normalised units) are given: mu then the factor entries."""

    def __init__(self, out: torch.Tensor, **kwargs) -> None:
        channels = {2: 1, 9: 3}[out.shape[1]]  # C + C (C + 1) / 2 outputs
        super().__init__(channels, width=2, depth=1, **kwargs)
        self.register_buffer("fixed", out)

    def forward(self, x, *, full=False):
        out = self.fixed.expand(x.shape[0], -1, *x.shape[2:])
        return out if full else out[:, :self.in_channels]


def scaled(net, mean, std) -> ScaledModel:
    return ScaledModel(net, arch="blindspot", arch_args={}, mean=mean, std=std)


# -- the blind spot ------------------------------------------------------------------------------
def _jacobian_rows(net, x, pixels):
    """For each (i, j): |d out[:, :, i, j] / d x| summed over output channels, as (C, H, W)."""
    rows = []
    y = net(x, full=True)
    for i, j in pixels:
        (g,) = torch.autograd.grad(y[0, :, i, j].sum(), x, retain_graph=True)
        rows.append(g[0].abs())
    return rows


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size,depth", [((9, 7), 2), ((7, 7), 2), ((5, 11), 1), ((13, 10), 3)])
def test_output_never_sees_its_own_pixel(channels, size, depth):
    torch.manual_seed(0)
    net = BlindSpotNet(channels, width=4, dec_width=6, head_width=8, depth=depth).double()
    h, w = size
    x = torch.randn(1, channels, h, w, dtype=torch.float64, requires_grad=True)
    pixels = [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2), (1, w // 2), (h // 2, 1),
              (h - 2, w - 2)]
    for (i, j), g in zip(pixels, _jacobian_rows(net, x, pixels)):
        assert float(g[:, i, j].max()) == 0.0, f"output ({i},{j}) depends on its own input pixel"
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            if 0 <= i + di < h and 0 <= j + dj < w:
                assert float(g[:, i + di, j + dj].min()) > 0.0, f"output ({i},{j}) ignores neighbour ({di},{dj})"


def test_every_pixel_blind_channels_last():
    """All pixels of a small RGB image, in the channels-last layout the CPU preset trains with."""
    torch.manual_seed(1)
    net = BlindSpotNet(3, width=4, dec_width=4, head_width=8, depth=2).to(memory_format=torch.channels_last)
    x = torch.randn(1, 3, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    pixels = [(i, j) for i in range(8) for j in range(8)]
    for (i, j), g in zip(pixels, _jacobian_rows(net, x, pixels)):
        assert float(g[:, i, j].max()) == 0.0
    plain = BlindSpotNet(3, width=4, dec_width=4, head_width=8, depth=2)
    plain.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert torch.allclose(plain(x.detach().contiguous()), net(x.detach()), atol=1e-5)


def test_a_changed_pixel_changes_only_other_outputs():
    torch.manual_seed(2)
    net = BlindSpotNet(1, width=4, depth=2).eval()
    x = torch.randn(1, 1, 11, 9)
    x2 = x.clone()
    x2[0, 0, 5, 4] += 100.0
    with torch.no_grad():
        diff = (net(x2, full=True) - net(x, full=True)).abs()
    assert float(diff[0, :, 5, 4].max()) == 0.0 and float(diff.max()) > 0.0


# -- shapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(channels):
    net = BlindSpotNet(channels, width=4, depth=2)
    x = torch.randn(2, channels, 13, 6)
    assert net(x).shape == (2, channels, 13, 6)
    assert net(x, full=True).shape == (2, channels + factor_size(channels), 13, 6)
    assert factor_size(1) == 1 and factor_size(3) == 6
    assert net.alignment == 4
    with pytest.raises(ValueError, match="expects"):
        net(torch.randn(1, channels + 1, 8, 8))
    with pytest.raises(ValueError, match="noise_params"):
        BlindSpotNet(1, noise_params="sometimes")


def test_paper_network_layout():
    net = BlindSpotNet(3)  # width 48, depth 5: the paper's network
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 5 + 1 + 10  # enc_conv0, enc_conv1..5, enc_conv6, 5 decoder levels x 2
    assert [c.out_channels for c in convs[:7]] == [48] * 7 and all(c.out_channels == 96 for c in convs[7:])
    assert convs[-2].in_channels == 96 + 3  # the last level concatenates the input
    assert [(lin.in_features, lin.out_features) for lin in net.head] == [(384, 384), (384, 96), (96, 9)]


# -- likelihood and posterior mean against hand computations ----------------------------------------
def test_gray_nll_and_posterior_mean_by_hand():
    # normalised: y = (130 - 100) / 20 = 1.5, mu = 1, Sigma_x = 0.5^2, sigma_n = 10 / 20 = 0.5
    net = FixedNet(torch.tensor([1.0, 0.5]).reshape(1, 2, 1, 1))
    model = scaled(net, [100.0], [20.0])
    m = BlindSpot({"noise_model": "gaussian", "sigma": 10.0})
    batch = Batch(noisy=torch.full((1, 1, 3, 5), 130.0))
    expected = 0.5 * 0.5 ** 2 / 0.5 + 0.5 * math.log(0.5)
    assert float(m.loss(model, batch, rng=torch.Generator())["model"].detach()) == pytest.approx(expected, rel=1e-6)
    # posterior mean (y Sx + mu Sn) / (Sx + Sn) = 1.25 -> 125 in image units; mu -> 120
    assert torch.allclose(m.predict(model, batch.noisy), torch.full((1, 1, 3, 5), 125.0))
    mu_only = BlindSpot({"noise_model": "gaussian", "sigma": 10.0, "posterior_mean": False})
    assert torch.allclose(mu_only.predict(model, batch.noisy), torch.full((1, 1, 3, 5), 120.0))


def _rgb_case():
    rng = np.random.default_rng(3)
    mu = rng.normal(size=3)
    a = rng.normal(size=6)
    A = np.zeros((3, 3))
    A[np.triu_indices(3)] = a  # row-major upper triangle: a00, a01, a02, a11, a12, a22
    mean, std = np.array([100.0, 120.0, 90.0]), np.array([20.0, 40.0, 30.0])
    y_img = np.array([131.0, 95.0, 80.0])
    net = FixedNet(torch.tensor(np.concatenate([mu, a]), dtype=torch.float32).reshape(1, 9, 1, 1))
    model = scaled(net, mean.tolist(), std.tolist())
    noisy = torch.tensor(y_img, dtype=torch.float32).reshape(1, 3, 1, 1).expand(2, 3, 4, 3).contiguous()
    return model, noisy, (y_img - mean) / std, mu, A @ A.T, mean, std


def test_rgb_nll_by_hand():
    model, noisy, y, mu, cov_x, _, std = _rgb_case()
    sigma = 12.0
    cov_y = cov_x + np.diag((sigma / std) ** 2)
    d = y - mu
    expected = 0.5 * d @ np.linalg.solve(cov_y, d) + 0.5 * np.log(np.linalg.det(cov_y))
    m = BlindSpot({"noise_model": "gaussian", "sigma": sigma})
    assert float(m.loss(model, Batch(noisy=noisy), rng=torch.Generator())["model"].detach()) == pytest.approx(expected, rel=1e-5)


def test_rgb_posterior_mean_by_hand():
    model, noisy, y, mu, cov_x, mean, std = _rgb_case()
    sigma = 12.0
    cov_n = np.diag((sigma / std) ** 2)
    pme = mu + cov_x @ np.linalg.solve(cov_x + cov_n, y - mu)
    got = BlindSpot({"noise_model": "gaussian", "sigma": sigma}).predict(model, noisy)
    assert np.allclose(got[0, :, 2, 1].double().numpy(), pme * std + mean, atol=1e-3)
    # a huge noise gives the prior mean
    big = BlindSpot({"noise_model": "gaussian", "sigma": 1e5}).predict(model, noisy)
    assert np.allclose(big[0, :, 0, 0].numpy(), mu * std + mean, atol=1e-2)


def test_poisson_variance_and_learned_regulariser():
    net = FixedNet(torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1), noise_params="global")
    model = scaled(net, [100.0], [20.0])
    noisy = torch.full((1, 1, 2, 2), 130.0)
    # known peak: variance R * x / peak in image units, x = mu = 120 -> 255 * 120 / 30 / 20^2 normalised
    var = 255.0 * 120.0 / 30.0 / 400.0
    expected = 0.5 * 0.25 / var + 0.5 * math.log(var)
    m = BlindSpot({"noise_model": "poisson", "peak": 30.0})
    assert float(m.loss(model, Batch(noisy=noisy), rng=torch.Generator())["model"].detach()) == pytest.approx(expected, rel=1e-6)
    # learned sigma starts at noise_init (1 data std = 20 image units); the loss subtracts the reference code's
    # regulariser: reg * sigma in [0, 1] units (a quarter of the normalised one) against twice the NLL (gray)
    m = BlindSpot({"noise_model": "gaussian_learned", "reg": 0.1})
    assert float(m.learned_noise(model, noisy)[0]) == pytest.approx(20.0, rel=1e-6)
    assert m.reg_weight(1) == pytest.approx(0.1 * 0.25 / 2) and m.reg_weight(3) == pytest.approx(0.1 * 0.25)
    expected = 0.5 * 0.25 / 1.0 + 0.5 * math.log(1.0) - 0.1 * 0.25 / 2 * 1.0
    assert float(m.loss(model, Batch(noisy=noisy), rng=torch.Generator())["model"].detach()) == pytest.approx(expected, rel=1e-6)


# -- impulse noise ---------------------------------------------------------------------------------
@pytest.mark.parametrize("whole", [False, True])  # (each channel on its own; whole pixels, as the papers' noise)
def test_impulse_moments_match_sampling(whole):
    rng = np.random.default_rng(0)
    mu = np.array([0.3, -0.5, 1.0])
    A = np.triu(rng.normal(size=(3, 3))) * 0.5
    cov = A @ A.T
    alpha, lo, hi = 0.3, -2.0, 2.5
    n = 400_000
    x = rng.multivariate_normal(mu, cov, size=n)
    hit = rng.random((n, 1) if whole else (n, 3)) < alpha
    y = np.where(hit, rng.uniform(lo, hi, (n, 3)), x)
    t = [[torch.tensor(cov[i, j], dtype=torch.float64) for j in range(3)] for i in range(3)]
    mean, cov_y = impulse_moments([torch.tensor(v, dtype=torch.float64) for v in mu], t,
                                  torch.tensor(alpha, dtype=torch.float64), [(lo + hi) / 2] * 3,
                                  [(hi - lo) ** 2 / 12] * 3, whole=whole)
    assert np.allclose([float(v) for v in mean], y.mean(0), atol=0.01)
    assert np.allclose([[float(cov_y[i][j]) for j in range(3)] for i in range(3)], np.cov(y.T), atol=0.02)


def test_whole_pixel_impulse_posterior_is_the_two_part_mixture_and_follows_the_spec():
    """Whole pixels replaced (the Noise2Noise paper's and Laine et al.'s colour impulse noise; noise2x replaced
    channels one by one only, a QA pass): E[x | y] = (h y + alpha u mu) / (h + alpha u), h = (1 - alpha) N(y; mu,
    Sigma_x), u the uniform colour's density."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    mu, A = np.array([0.2, -0.4, 0.9]), np.triu(rng.normal(size=(3, 3))) * 0.4
    cov, alpha, dens = A @ A.T, 0.3, 0.2 ** 3
    ys = np.array([[0.3, -0.3, 1.0], [2.0, -1.9, -1.5]])  # (a likely colour; an outlier)
    f64 = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    got = impulse_posterior_mean([f64(ys[:, i]) for i in range(3)], [f64(m) for m in mu],
                                 [[f64(cov[i, j]) for j in range(3)] for i in range(3)], f64(alpha), [0.2] * 3,
                                 eps=0.0, whole=True)
    for n, y in enumerate(ys):
        h = (1 - alpha) * multivariate_normal(mu, cov).pdf(y)
        want = (h * y + alpha * dens * mu) / (h + alpha * dens)
        assert [float(g[n]) for g in got] == pytest.approx(list(want), rel=1e-9)
    assert BlindSpot().with_noise("impulse:p=0.3,whole=1").options.whole_pixels is True
    assert BlindSpot().with_noise("impulse:p=0.3").options.whole_pixels is False


def test_impulse_posterior_mean_gray_by_hand():
    alpha, dens, mu, var = 0.2, 0.25, 0.5, 0.09
    ys = torch.tensor([0.6, 3.0], dtype=torch.float64)
    got = impulse_posterior_mean([ys], [torch.tensor(mu, dtype=torch.float64)],
                                 [[torch.tensor(var, dtype=torch.float64)]], torch.tensor(alpha, dtype=torch.float64),
                                 [dens], eps=0.0)
    for y, g in zip(ys.tolist(), got[0].tolist()):
        clean = (1 - alpha) * math.exp(-0.5 * (y - mu) ** 2 / var) / math.sqrt(2 * math.pi * var)
        assert g == pytest.approx((clean * y + alpha * dens * mu) / (clean + alpha * dens), rel=1e-9)
    assert got[0][0] > 0.59 and abs(float(got[0][1]) - mu) < 1e-3  # a likely value is kept, an outlier replaced


def test_impulse_loss_and_prediction_rgb():
    model, noisy, *_ = _rgb_case()
    m = BlindSpot({"noise_model": "impulse", "alpha": 0.3})
    loss = m.loss(model, Batch(noisy=noisy), rng=torch.Generator())["model"]
    assert torch.isfinite(loss)
    out = m.predict(model, noisy)
    assert out.shape == noisy.shape and torch.isfinite(out).all()
    whole = BlindSpot({"noise_model": "impulse", "alpha": 0.3, "whole_pixels": True})  # (its own moments, posterior)
    assert float(whole.loss(model, Batch(noisy=noisy), rng=torch.Generator())["model"]) != pytest.approx(float(loss))
    assert not torch.allclose(whole.predict(model, noisy), out)


# -- a learned sigma ---------------------------------------------------------------------------------
def _learned_levels(m: BlindSpot, noisy_of, *, channels: int, steps: int) -> np.ndarray:
    """The levels ``m`` reads on 4 smooth 24x24 images (3 draws averaged) after ``steps`` steps on such images
    made noisy by ``noisy_of(clean, generator)``."""
    arch, args = m.default_model(channels=channels, preset="tiny")
    torch.manual_seed(0)
    model = ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[110.0] * channels,
                        std=[45.0] * channels)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    for _ in range(steps):
        phase = torch.rand(4, 1, 1, 1, generator=g) * 6
        clean = (100 + 40 * torch.sin(xx / 6 + phase) * torch.cos(yy / 7)).expand(4, channels, 24, 24)
        loss = m.loss(model, Batch(noisy=noisy_of(clean, g)), rng=g)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.mean([m.learned_noise(model, noisy_of(clean, g)).numpy() for _ in range(3)], axis=0)


def _train_sigma(noise_model: str, *, channels: int, steps: int, sigma: float = 25.0) -> float:
    return float(np.mean(_learned_levels(BlindSpot({"noise_model": noise_model}), channels=channels, steps=steps,
                                         noisy_of=lambda clean, g: clean + sigma * torch.randn(clean.shape,
                                                                                               generator=g))))


def test_learned_sigma_converges():
    """A smooth image with Gaussian noise sigma = 25: the global learned sigma ends within 10 %."""
    est = _train_sigma("gaussian_learned", channels=1, steps=100)
    print(f"learned sigma {est:.2f} (true 25)")
    assert abs(est - 25.0) / 25.0 < 0.10


def test_poisson_peaks_are_read_per_image():
    """Images at peaks 5 and 50 in one batch: each reads its own peak (one global level gave both 1.19, a QA pass)."""
    peaks = torch.tensor([5.0, 50.0, 5.0, 50.0]).reshape(4, 1, 1, 1)
    read = _learned_levels(BlindSpot().with_noise("poisson:peak=5..50"), channels=1, steps=100,
                           noisy_of=lambda clean, g: 255 * torch.poisson(peaks * clean / 255, generator=g) / peaks)
    assert all(2.5 < r < 10 for r in read[::2]) and all(25 < r < 100 for r in read[1::2]), read


@pytest.mark.slow
@pytest.mark.parametrize("noise_model,channels", [("gaussian_learned", 3), ("gaussian_per_image", 1)])
def test_learned_sigma_converges_rgb_and_per_image(noise_model, channels):
    est = _train_sigma(noise_model, channels=channels, steps=250)
    print(f"{noise_model} {channels} channel(s): learned sigma {est:.2f} (true 25)")
    assert abs(est - 25.0) / 25.0 < 0.10


# -- options, noise resolution, model files ------------------------------------------------------------
def test_with_noise_resolves_the_noise_model():
    m = BlindSpot()
    assert m.with_noise(None).options.noise_model == "gaussian_learned"
    o = m.with_noise("gaussian:sigma=25").options
    assert (o.noise_model, o.sigma) == ("gaussian", 25.0)
    assert m.with_noise("gaussian:sigma=5..50").options.noise_model == "gaussian_per_image"
    o = m.with_noise("poisson:peak=30").options
    assert (o.noise_model, o.peak) == ("poisson", 30.0)
    o = m.with_noise("impulse:p=0.4").options
    assert (o.noise_model, o.alpha) == ("impulse", 0.4)
    # a range of peaks: read per image, as the reference's blind Poisson runs (one global peak for all: a QA pass)
    assert m.with_noise("poisson:peak=5..50").options.noise_model == "poisson_per_image"
    assert m.with_noise("impulse:p=0.05..0.5").options.noise_model == "impulse_learned"
    assert m.with_noise("text:p=0.2").options.noise_model == "gaussian_learned"
    # a learned model stays learned; a known one takes the declared level
    assert BlindSpot({"noise_model": "gaussian_learned"}).with_noise("gaussian:sigma=25").options.sigma == 0.0
    assert BlindSpot({"noise_model": "gaussian", "sigma": 10}).with_noise("gaussian:sigma=30").options.sigma == 30.0
    # the network holds the learned parameter the noise model needs
    params = {nm: BlindSpot({"noise_model": nm}).default_model(channels=1, preset="tiny")[1]["noise_params"]
              for nm in ("gaussian", "gaussian_learned", "gaussian_per_image", "poisson_learned", "poisson_per_image")}
    assert params == {"gaussian": "none", "gaussian_learned": "global", "gaussian_per_image": "per_image",
                      "poisson_learned": "global", "poisson_per_image": "per_image"}


def test_option_errors():
    with pytest.raises(UsageError, match="valid: auto, gaussian"):
        BlindSpot({"noise_model": "laplace"})
    with pytest.raises(UsageError, match="alpha"):
        BlindSpot({"alpha": 1.0})
    with pytest.raises(UsageError, match="unknown option"):
        BlindSpot({"sigmaa": 3})
    net = BlindSpotNet(1, width=4, depth=1)
    model = scaled(net, [100.0], [20.0])
    batch = Batch(noisy=torch.full((1, 1, 4, 4), 100.0))
    with pytest.raises(UsageError, match="needs the noise level"):
        BlindSpot({"noise_model": "gaussian"}).loss(model, batch, rng=torch.Generator())
    with pytest.raises(UsageError, match="needs the peak"):
        BlindSpot({"noise_model": "poisson"}).predict(model, batch.noisy)
    with pytest.raises(UsageError, match="learned the noise level"):
        BlindSpot({"noise_model": "gaussian_learned"}).loss(model, batch, rng=torch.Generator())
    unet = ScaledModel(build_model("unet", in_channels=1, width=4, depth=1), arch="unet", arch_args={},
                       mean=[0.0], std=[1.0])
    with pytest.raises(UsageError, match="blindspot architecture"):
        BlindSpot({"noise_model": "gaussian", "sigma": 5}).loss(unet, batch, rng=torch.Generator())


def test_model_file_round_trip(tmp_path):
    from noise2x.predict import Denoiser

    m = get_method("blindspot", {"noise_model": "gaussian_learned"})
    arch, args = m.default_model(channels=3, preset="tiny")
    torch.manual_seed(0)
    net = build_model(arch, **args)
    with torch.no_grad():
        net.noise_param.fill_(0.03)
    model = ScaledModel(net, arch=arch, arch_args=args, mean=[110.0, 100.0, 90.0], std=[50.0, 40.0, 45.0]).eval()
    path = save_model(tmp_path / "bs.safetensors", model,
                      metadata={"method": "blindspot", "method_options": m.options_dict()})
    loaded, meta = load_model(path)
    assert meta["arch"] == "blindspot" and meta["arch_args"]["noise_params"] == "global"
    x = torch.rand(1, 3, 19, 23) * 255
    with torch.no_grad():
        assert torch.equal(m.predict(model, x), m.predict(loaded.eval(), x))
        assert torch.equal(m.learned_noise(model, x), m.learned_noise(loaded, x))
    # denoise options and the declared noise reach the loaded method
    den = Denoiser.load(path)
    img = np.random.default_rng(0).uniform(0, 255, (19, 23, 3))
    mu = den.adapted(options={"method.posterior_mean": "false"})
    assert mu.method.options.posterior_mean is False and den.method.options.posterior_mean is True
    with torch.no_grad():
        expect = model(torch.as_tensor(img.transpose(2, 0, 1)[None], dtype=torch.float32))[0].permute(1, 2, 0)
    assert np.allclose(mu.denoise(img, tile=0), expect.numpy(), atol=1e-3)
    known = den.adapted(options={"noise_model": "gaussian"}, noise="gaussian:sigma=30")
    assert known.method.options.sigma == 30.0 and known.metadata["method_options"]["sigma"] == 30.0
    with pytest.raises(UsageError,
                       match="a blindspot model has no option posterior; its method.s options: .*posterior_mean"):
        den.adapted(options={"posterior": "false"})


def test_api_denoise_passes_options_to_a_model(tmp_path):
    import noise2x

    m = get_method("blindspot").with_noise("gaussian:sigma=25")
    arch, args = m.default_model(channels=1, preset="tiny")
    model = ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[120.0], std=[60.0])
    path = save_model(tmp_path / "bs.safetensors", model, metadata={"method": "blindspot",
                                                                    "method_options": m.options_dict()})
    img = np.random.default_rng(1).uniform(0, 255, (21, 17))
    with pytest.warns(noise2x.errors.UnitsWarning, match="reads sigma"):  # (a random image: no sigma 25 noise)
        pme = noise2x.denoise(img, model=str(path))
    mu = noise2x.denoise(img, model=str(path), options={"posterior_mean": "false"})
    with pytest.warns(noise2x.errors.UnitsWarning, match="reads sigma"):
        other = noise2x.denoise(img, model=str(path), noise="gaussian:sigma=5")
    assert pme.shape == mu.shape == img.shape
    assert not np.allclose(pme, mu) and not np.allclose(pme, other)


def test_training_builds_the_network_for_the_resolved_noise(tmp_path):
    from noise2x.io import write_image
    from noise2x.train import train

    data = tmp_path / "clean"
    data.mkdir()
    yy, xx = np.mgrid[0:37, 0:41]
    for i in range(3):
        write_image(data / f"{i}.png", np.clip(128 + 60 * np.sin(xx / (3 + i)) * np.cos(yy / 5.0), 0, 255))
    fast = ["train.preset=tiny", "train.threads=1", "data.val_images=1", "data.val_crop=24", "data.batch_size=2"]
    out = train("blindspot", data=data, out=tmp_path / "a.safetensors", add_noise="gaussian:sigma=5..40", steps=2,
                overrides=fast, progress=False)
    _, meta = load_model(out)
    assert meta["method_options"]["noise_model"] == "gaussian_per_image"
    assert meta["arch_args"]["noise_params"] == "per_image"
    out = train("blindspot", data=data, out=tmp_path / "b.safetensors", add_noise="gaussian:sigma=25", steps=2,
                overrides=fast, progress=False)
    _, meta = load_model(out)
    assert meta["method_options"]["sigma"] == 25.0 and meta["arch_args"]["noise_params"] == "none"


def test_a_known_sigma_far_from_the_images_is_said(tmp_path, capsys):
    """A blindspot model of a known sigma (25, its training noise's) applied to an image with sigma 10 used 25 and
    left it below the noisy input, silently (the ML-researcher QA pass: 26.03 against 28.28 dB). It now warns,
    naming the sigma read; not where the image's noise fits, nor where the noise is declared."""
    import warnings

    import noise2x
    from noise2x import cli
    from noise2x.errors import UnitsWarning
    from noise2x.io import write_image

    m = get_method("blindspot").with_noise("gaussian:sigma=25")
    arch, args = m.default_model(channels=1, preset="tiny")
    model = ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[120.0], std=[60.0])
    path = save_model(tmp_path / "bs.safetensors", model, metadata={"method": "blindspot",
                                                                    "method_options": m.options_dict()})
    yy, xx = np.mgrid[0:64, 0:64]
    smooth = 120 + 40 * np.sin(xx / 9.0) * np.cos(yy / 11.0)
    rng = np.random.default_rng(2)
    for level, warned in ((10, True), (25, False)):
        noisy = smooth + rng.normal(0, level, smooth.shape)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            noise2x.denoise(noisy, model=str(path))
        said = [str(w.message) for w in caught if issubclass(w.category, UnitsWarning)]
        assert bool(said) == warned and (not said or "posterior mean uses sigma 25" in said[0]), (level, said)
    noisy = smooth + rng.normal(0, 10, smooth.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise2x.denoise(noisy, model=str(path), noise="gaussian:sigma=10")  # declared: no warning
    write_image(tmp_path / "n.tif", noisy.astype(np.float32), kind="float32")
    assert cli.main(["denoise", str(tmp_path / "n.tif"), "--model", str(path), "--out", str(tmp_path / "o.tif")]) == 0
    assert "its noise reads sigma" in capsys.readouterr().err
    assert cli.main(["denoise", str(tmp_path / "n.tif"), "--model", str(path), "--noise", "gaussian:sigma=10",
                     "--out", str(tmp_path / "p.tif")]) == 0
    assert "its noise reads sigma" not in capsys.readouterr().err


def test_info_shows_the_learned_noise_level(tmp_path, capsys):
    """info of a blindspot model with a learned noise level did not show it (the ML-researcher QA pass): the
    level its posterior mean uses, in image units."""
    from noise2x import cli

    m = get_method("blindspot", {"noise_model": "gaussian_learned"})
    arch, args = m.default_model(channels=1, preset="tiny")
    net = build_model(arch, **args)
    with torch.no_grad():
        net.noise_param.fill_(0.05)
    model = ScaledModel(net, arch=arch, arch_args=args, mean=[110.0], std=[50.0]).eval()
    path = save_model(tmp_path / "bs.safetensors", model, metadata={"method": "blindspot",
                                                                    "method_options": m.options_dict()})
    with torch.no_grad():
        expected = float(m.learned_noise(model, torch.zeros(1, 1, 32, 32))[0])
    assert cli.main(["info", str(path)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("learned noise:")]
    assert line == [f"learned noise: sigma {expected:.4g} (in the training images' units)"] and expected > 0


def test_a_poisson_peak_at_the_default_full_scale_on_unit_range_training_images_is_said(tmp_path):
    """method.peak=30 (photons at method.data_range, 255 by default) on [0, 1] noisy images: the network learned
    a variance 255 times too large (6.6 dB, silently: a QA pass). A UnitsWarning at the train() call says to give
    the full scale; given, nothing is said."""
    import warnings

    from noise2x.errors import UnitsWarning
    from noise2x.io import write_image
    from noise2x.noise import poisson
    from noise2x.train import train

    data = tmp_path / "unit"
    data.mkdir()
    yy, xx = np.mgrid[0:40, 0:40]
    for i in range(2):
        clean = 0.5 + 0.3 * np.sin(xx / (3.0 + i)) * np.cos(yy / 5.0)
        write_image(data / f"{i}.tif", poisson(clean, peak=30, rng=i, data_range=1).astype(np.float32))
    fast = ["train.preset=tiny", "train.threads=1", "data.val_images=1", "data.val_crop=24", "data.batch_size=2",
            "method.noise_model=poisson", "method.peak=30"]
    with pytest.warns(UnitsWarning, match=r"method.noise_model=poisson counts photons at method.data_range 255 .*"
                                          r"in \[0, 1\].*--set method.data_range=1") as said:
        train("blindspot", data=data, out=tmp_path / "a.safetensors", steps=1, overrides=fast, progress=False)
    assert [w.filename for w in said] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train("blindspot", data=data, out=tmp_path / "b.safetensors", steps=1, progress=False,
              overrides=fast + ["method.data_range=1"])


# -- multiplicative speckle ----------------------------------------------------------------------------
def test_speckle_variance_by_hand_in_any_units():
    """noise_model=speckle: Gaussian with the Gamma speckle's variance x^2 / L at the prior mean x (as the paper's
    Poisson approximation); the floor on x is a thousandth of the data's mean, whatever its units."""
    net = FixedNet(torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1), noise_params="global")
    noisy = torch.full((1, 1, 2, 2), 130.0)
    # x = mu = 100 + 20 * 1 = 120; variance 120^2 / 4 image units, / 20^2 normalised
    var = 120.0**2 / 4.0 / 400.0
    expected = 0.5 * 0.25 / var + 0.5 * math.log(var)
    m = BlindSpot({"noise_model": "speckle", "looks": 4.0})
    got = float(m.loss(scaled(net, [100.0], [20.0]), Batch(noisy=noisy), rng=torch.Generator())["model"].detach())
    assert got == pytest.approx(expected, rel=1e-6)
    # the same image in [0, 1] units (divided by 200): the same normalised loss (speckle has no units)
    got = float(m.loss(scaled(net, [0.5], [0.1]), Batch(noisy=noisy / 200), rng=torch.Generator())["model"].detach())
    assert got == pytest.approx(expected, rel=1e-6)
    # a prior mean below zero: x held at a thousandth of the mean intensity, not at a fraction of data_range 255
    low = FixedNet(torch.tensor([-10.0, 0.0]).reshape(1, 2, 1, 1), noise_params="global")
    noise = m.noise_level(scaled(low, [0.5], [0.1]), torch.zeros(1, 1, 2, 2, dtype=torch.float64),
                          torch.full((1, 1, 2, 2), -10.0, dtype=torch.float64))
    assert float(noise["var"][0].max()) == pytest.approx(max((5e-4 + 1e-12) ** 2 / 4 / 0.01, 1e-6), rel=1e-6)
    # learned: 1 / L starts at noise_init (1: one look) and is reported as looks
    m = BlindSpot({"noise_model": "speckle_learned"})
    assert float(m.learned_noise(scaled(net, [100.0], [20.0]), noisy)[0]) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(UsageError, match="noise_model=speckle needs the looks"):
        BlindSpot({"noise_model": "speckle"}).predict(scaled(net, [100.0], [20.0]), noisy)


def test_with_noise_resolves_speckle():
    m = BlindSpot()
    o = m.with_noise("speckle:looks=4").options
    assert (o.noise_model, o.looks) == ("speckle", 4.0)
    assert m.with_noise("speckle:looks=1..16").options.noise_model == "speckle_learned"
    assert BlindSpot({"noise_model": "speckle", "looks": 2}).with_noise("speckle:looks=8").options.looks == 8.0
    params = {nm: BlindSpot({"noise_model": nm}).default_model(channels=1, preset="tiny")[1]["noise_params"]
              for nm in ("speckle", "speckle_learned")}
    assert params == {"speckle": "none", "speckle_learned": "global"}


def _train_looks(reg: float, steps: int = 150) -> float:
    m = BlindSpot({"noise_model": "speckle_learned", "reg": reg})
    arch, args = m.default_model(channels=1, preset="tiny")
    torch.manual_seed(0)
    model = ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[110.0], std=[45.0])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    gamma = torch.distributions.Gamma(torch.tensor(4.0), torch.tensor(4.0))
    torch.manual_seed(1)
    for _ in range(steps):
        phase = torch.rand(4, 1, 1, 1, generator=g) * 6
        clean = (100 + 40 * torch.sin(xx / 6 + phase) * torch.cos(yy / 7)).expand(4, 1, 24, 24)
        loss = m.loss(model, Batch(noisy=clean * gamma.sample(clean.shape)), rng=g)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(m.learned_noise(model, clean * gamma.sample(clean.shape)).mean())


def test_learned_looks_converge():
    """A smooth image with 4-look speckle: the learned number of looks ends within 5 % without the regulariser and
    with the reference code's (reg 0.1: 3.99); at eight times its strength (the weight before it was taken in the
    reference's units) 3.5, the noise given more of the variance."""
    est, plain, strong = _train_looks(0.1), _train_looks(0.0), _train_looks(0.8)
    print(f"learned looks {est:.2f}, {plain:.2f} without the regulariser, {strong:.2f} at 8 times it (true 4)")
    assert abs(plain - 4.0) / 4.0 < 0.05 and abs(est - 4.0) / 4.0 < 0.05
    assert -0.2 < (strong - 4.0) / 4.0 < -0.05


@pytest.mark.parametrize("noise_model", ["gaussian_per_image", "poisson_per_image"])
def test_tiles_give_what_the_whole_image_gives(noise_model):
    """Tiles got 16 pixels of image around them whatever the network, where a blind-spot network reads 60 and more
    away, and a noise level learned per image was read per tile: seams at tile borders (the tiling QA pass). The
    context is the network's measured reach and the level is read once, on the whole image."""
    from noise2x.predict import denoise_array, model_reach

    torch.manual_seed(0)
    m = get_method("blindspot", {"noise_model": noise_model})
    arch, args = m.default_model(channels=1, preset="cpu")
    net = build_model(arch, **args)
    with torch.no_grad():  # (a level network whose reading depends on the content: not the zeros it starts from)
        net.noise_net.out.weight.normal_(0.0, 0.01)
    model = ScaledModel(net, arch=arch, arch_args=args, mean=[110.0], std=[50.0]).eval()
    rng = np.random.default_rng(0)
    clean = np.where(np.arange(232)[None, :] < 116, 60.0, 180.0) + 40 * np.sin(np.arange(200)[:, None] / 9.0)
    image = clean + np.where(np.arange(232)[None, :] < 116, 5.0, 40.0) * rng.standard_normal((200, 232))
    mu = get_method("blindspot", {"noise_model": noise_model, "posterior_mean": False})
    assert model_reach(model) > 40
    for method in (m, mu):
        whole = denoise_array(model, image, method=method, tile=0)
        tiled = denoise_array(model, image, method=method, tile=64)
        assert np.abs(tiled - whole).max() < 0.05, np.abs(tiled - whole).max()
    if noise_model == "poisson_per_image":  # (as the Gaussian's, its level read once on the whole image)
        return
    before = denoise_array(model, image, method=m, tile=64, context=16)  # (as every network had it)
    assert np.abs(before - whole).max() > 10.0
