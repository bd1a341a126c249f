"""Classical denoisers: they denoise, follow the sigma rules, accept unclipped input, reject bad options."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from noise2x.classical import CLASSICAL, anscombe, bm3d, inverse_anscombe, nlm, wavelet_calibrated
from noise2x.errors import InputError, UsageError
from noise2x.metrics import psnr
from noise2x.noise import parse_noise


@pytest.fixture(scope="module")
def smooth64() -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    img = 120 + 90 * np.sin(xx / 9.0) * np.cos(yy / 11.0) + 40 * (yy > 40)
    return np.clip(img, 0, 255).astype(np.float64)


@pytest.fixture(scope="module")
def noisy64(smooth64) -> np.ndarray:
    return smooth64 + 25.0 * np.random.default_rng(7).standard_normal(smooth64.shape)


def test_registry_is_literal_and_complete():
    assert list(CLASSICAL) == ["bm3d", "nlm", "nlm_calibrated", "wavelet_calibrated"]
    for fn in CLASSICAL.values():
        assert fn.__doc__


@pytest.mark.parametrize("name", list(CLASSICAL))
def test_each_method_denoises_unclipped_input(name, smooth64, noisy64):
    assert noisy64.min() < 0 and noisy64.max() > 255  # unclipped Gaussian noise must be accepted
    before = noisy64.copy()
    info: dict = {}
    out = CLASSICAL[name](noisy64, noise=parse_noise("gaussian:sigma=25"), info=info)
    np.testing.assert_array_equal(noisy64, before)  # input untouched
    assert out.shape == noisy64.shape and out.dtype == np.float64
    gain = psnr(smooth64, out) - psnr(smooth64, noisy64)
    assert gain > 5.0, f"{name} gained only {gain:.2f} dB"
    assert info["sigma"] > 0 and info["sigma_source"] in ("noise spec", "estimated")


def test_calibrated_methods_record_their_choice(smooth64, noisy64):
    info: dict = {}
    wavelet_calibrated(noisy64, info=info)
    assert set(info["calibrated"]) >= {"sigma", "wavelet", "method"}
    assert info["sigma_source"] == "estimated"
    assert info["calibration_loss"] > 0


def test_colour(rgb_image):
    noisy = rgb_image + 25.0 * np.random.default_rng(3).standard_normal(rgb_image.shape)
    for fn in (bm3d, nlm, wavelet_calibrated):
        out = fn(noisy, noise=parse_noise("gaussian:sigma=25"))
        assert out.shape == rgb_image.shape
        assert psnr(rgb_image, out) > psnr(rgb_image, noisy) + 3.0, fn.__name__


def test_bm3d_gray_image_stored_as_rgb(gray_image):
    """A flat opponent-colour component must not make CBM3D divide by zero."""
    rgb = np.repeat(gray_image[..., None], 3, axis=-1)
    out = bm3d(rgb, sigma=5.0)
    assert out.shape == rgb.shape and np.all(np.isfinite(out))
    assert psnr(rgb, out) > 35.0


def test_sigma_rules(noisy64):
    given: dict = {}
    nlm(noisy64, sigma=12.5, info=given)
    assert given["sigma"] == 12.5 and given["sigma_source"] == "given"
    assert given["h"] == pytest.approx(0.8 * 12.5)
    override: dict = {}
    nlm(noisy64, sigma=12.5, noise=parse_noise("gaussian:sigma=25"), info=override)
    assert override["sigma"] == 12.5 and override["sigma_source"] == "given"
    spec: dict = {}
    nlm(noisy64, noise=parse_noise("gaussian:sigma=25"), info=spec)
    assert spec["sigma"] == 25.0 and spec["sigma_source"] == "noise spec"
    estimated: dict = {}
    nlm(noisy64, info=estimated)
    assert estimated["sigma_source"] == "estimated"
    assert estimated["sigma"] == pytest.approx(25.0, rel=0.2)


def test_sigma_changes_the_result(noisy64):
    weak = nlm(noisy64, sigma=5.0)
    strong = nlm(noisy64, sigma=40.0)
    assert np.std(np.diff(weak, axis=1)) > np.std(np.diff(strong, axis=1))


def test_bm3d_poisson_uses_anscombe(smooth64):
    spec = parse_noise("poisson:peak=10")
    noisy = spec.apply(smooth64, rng=0)
    info: dict = {}
    out = bm3d(noisy, noise=spec, info=info)
    assert info["sigma"] == 1.0 and info["sigma_source"] == "noise spec"
    assert "anscombe" in info["transform"]
    assert psnr(smooth64, out) > psnr(smooth64, noisy) + 5.0


def test_anscombe_forward_values():
    x = np.array([0.0, 1.0, 10.0])
    np.testing.assert_allclose(anscombe(x), 2 * np.sqrt(x + 3 / 8))
    # alpha scales observations: f_alpha(alpha * k) == f_1(k)
    np.testing.assert_allclose(anscombe(4.0 * x, alpha=4.0), anscombe(x))


@pytest.mark.parametrize("lam", [0.5, 2.0, 5.0, 30.0])
def test_anscombe_exact_unbiased_inverse_round_trip(lam):
    """inverse(E[f(z)]) recovers the mean: the defining property of the exact unbiased inverse."""
    rng = np.random.default_rng(11)
    counts = rng.poisson(lam, 200_000).astype(np.float64)
    mean_d = anscombe(counts).mean()
    assert inverse_anscombe(np.array(mean_d)) == pytest.approx(lam, rel=0.02, abs=0.02)
    # the algebraic inverse (D/2)^2 - 3/8 is biased at low counts; the unbiased one is not
    if lam <= 2:
        assert abs((mean_d / 2) ** 2 - 0.375 - lam) > 5 * abs(inverse_anscombe(np.array(mean_d)) - lam)


def test_generalised_anscombe_poisson_gaussian():
    rng = np.random.default_rng(5)
    alpha, sigma, mu, lam = 3.0, 2.0, 5.0, 10.0
    y = alpha * rng.poisson(lam, 200_000) + rng.normal(mu, sigma, 200_000)
    f = anscombe(y, alpha=alpha, sigma=sigma, mu=mu)
    assert f.var() == pytest.approx(1.0, abs=0.08)  # variance stabilised
    assert inverse_anscombe(np.array(f.mean()), alpha=alpha, sigma=sigma, mu=mu) == pytest.approx(alpha * lam + mu, rel=0.01)
    assert np.all(inverse_anscombe(np.array([0.0, 0.5, 1.0])) == 0.0)  # below a zero count: 0, not a blow-up


def test_unknown_and_bad_options(noisy64):
    with pytest.raises(UsageError, match="no option strength.*valid options: sigma, profile"):
        bm3d(noisy64, strength=3)
    with pytest.raises(UsageError, match="profile"):
        bm3d(noisy64, sigma=25, profile="fancy")
    with pytest.raises(UsageError, match="sigma must be a positive number"):
        nlm(noisy64, sigma=-1)
    with pytest.raises(UsageError, match="patch_size must be an integer"):
        nlm(noisy64, sigma=25, patch_size="big")
    with pytest.raises(UsageError, match="no option"):
        CLASSICAL["nlm_calibrated"](noisy64, h=3)
    with pytest.raises(UsageError):
        anscombe(noisy64, alpha=0.0)


def test_bad_input(gray_image):
    bad = gray_image.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InputError, match="NaN or infinite"):
        nlm(bad, sigma=10)
    with pytest.raises(InputError, match="shape"):
        nlm(np.zeros((4, 5, 6, 2)), sigma=10)
    for method in (nlm, bm3d):  # one pixel wide: the size, not the number of axes, is wrong
        with pytest.raises(InputError, match=r"image is 1x5, at least 2x2 is needed"):
            method(np.zeros((1, 5)), sigma=10)


def test_single_channel_axis_kept(gray_image):
    noisy = (gray_image + 10.0 * np.random.default_rng(0).standard_normal(gray_image.shape))[..., None]
    out = nlm(noisy, sigma=10.0)
    assert out.shape == noisy.shape


def test_values_beyond_float32_are_an_error_not_a_nan_result():
    """BM3D computes in float32: an image of values near 1e302 came back as inf/NaN, silently."""
    from noise2x import api

    huge = np.random.default_rng(0).random((32, 32)) * 2.55e302
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (numpy's and bm3d's overflow warnings)
        with pytest.raises(InputError, match=r"bm3d gave NaN/inf values.*e\+302, beyond float32's range"):
            api.denoise(huge, method="bm3d", options={"sigma": 1e301})
        assert np.isfinite(api.denoise(huge / 1e300, method="bm3d", options={"sigma": 10})).all()
