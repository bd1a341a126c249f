"""Classical denoisers: they denoise, follow the sigma rules, accept unclipped input, reject bad options."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from noise2x.classical import CLASSICAL, anscombe, bm3d, despeckle, inverse_anscombe, nlm, wavelet_calibrated
from noise2x.errors import InputError, UsageError
from noise2x.metrics import psnr
from noise2x.noise import parse_noise


@pytest.fixture(scope="module")
def smooth64() -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    img = 120 + 90 * np.sin(xx / 9.0) * np.cos(yy / 11.0) + 40 * (yy > 40)
    return np.clip(img, 0, 255).astype(np.float64)


def assert_same_bm3d(a: np.ndarray, b: np.ndarray) -> None:
    """Two BM3D outputs of the same call: the ``bm3d`` package's library is not bit-reproducible from run to run
    (now and then a few pixels move by a fraction of a grey level), so equal on average and nearly everywhere."""
    assert a.shape == b.shape
    diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    assert diff.mean() < 0.01 and diff.max() < 1.0, (diff.mean(), diff.max())


@pytest.fixture(scope="module")
def noisy64(smooth64) -> np.ndarray:
    return smooth64 + 25.0 * np.random.default_rng(7).standard_normal(smooth64.shape)


def test_registry_is_literal_and_complete():
    assert list(CLASSICAL) == ["bm3d", "nlm", "nlm_calibrated", "wavelet_calibrated", "despeckle"]
    for fn in CLASSICAL.values():
        assert fn.__doc__


#: the methods for grey-level noise (despeckle takes bilevel images: test_despeckle_*)
GREY_LEVEL = [name for name in CLASSICAL if name != "despeckle"]


@pytest.mark.parametrize("name", GREY_LEVEL)
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


def _page(flips: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bilevel page (white 1, strokes and letters of 3 pixels or more 0) and it with ``flips`` of its pixels
    flipped (scanner speckle)."""
    rng = np.random.default_rng(seed)
    page = np.ones((120, 160))
    for _ in range(40):
        r, c = rng.integers(0, 110), rng.integers(0, 150)
        page[r:r + rng.integers(3, 10), c:c + rng.integers(3, 6)] = 0
    page[60, 10:150] = 0  # a rule one pixel thick: 140 pixels, no speck
    return page, np.where(rng.random(page.shape) < flips, 1 - page, page)


def test_despeckle_removes_specks_and_keeps_strokes():
    """Dots and holes of up to ``size`` pixels flip; strokes (a 1-pixel rule included) and the two values stay; the
    input is untouched; a mask keeps the pixels outside it; size 0 changes nothing."""
    clean, noisy = _page(0.01)
    before = noisy.copy()
    info: dict = {}
    out = despeckle(noisy * 255, info=info)
    np.testing.assert_array_equal(noisy, before)
    assert set(np.unique(out)) == {0.0, 255.0}
    assert np.count_nonzero(noisy != clean) > 150  # about 190 flipped pixels
    assert np.count_nonzero(out != clean * 255) < 0.2 * np.count_nonzero(noisy != clean)  # (flips on a stroke stay)
    assert np.count_nonzero(out[60, 10:150] == 0) >= np.count_nonzero(noisy[60, 10:150] == 0) > 130  # (the rule)
    assert info["specks"] == np.count_nonzero(out != noisy * 255) and info["levels"] == [0.0, 255.0]
    np.testing.assert_array_equal(despeckle(clean), clean)  # a clean page: nothing to do
    hole = clean.copy()
    hole[4:7, 140:143] = 0  # a 3x3 dot: a speck for size 9, not for 2
    hole[5, 141] = 1  # (with a white hole of one pixel inside, which goes)
    assert despeckle(hole)[5, 141] == 0 and (despeckle(hole, size=9)[4:7, 140:143] == 1).all()
    kept = np.zeros(noisy.shape, bool)
    kept[:, :80] = True
    masked = despeckle(noisy, mask=kept)
    np.testing.assert_array_equal(masked[:, 80:], noisy[:, 80:])
    assert (masked[:, :80] != noisy[:, :80]).any()
    np.testing.assert_array_equal(despeckle(noisy, size=0), noisy)


def test_despeckle_refuses_grey_levels_in_one_line(noisy64):
    with pytest.raises(InputError, match=r"takes a bilevel \(black-and-white\) gray image.*holds \d+ distinct values"):
        despeckle(noisy64)
    with pytest.raises(InputError, match="holds 3 channels"):
        despeckle(np.zeros((8, 8, 3)))
    with pytest.raises(UsageError, match="option size must be an integer >= 0"):
        despeckle(_page(0.01)[1], size=-1)
    from noise2x import api

    with pytest.raises(UsageError, match="option size='x': expected a whole number$"):  # (as --set size=x gives it:
        api.denoise(_page(0.01)[1], method="despeckle", options={"size": "x"})  # "expected a int" was the line)


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


def test_bm3d_gray_image_stored_as_rgb(gray_image, smooth64, noisy64):
    """A flat opponent-colour component must not make CBM3D divide by zero; a gray image stored as RGB (its
    noise the same in every channel) is denoised as the gray image (it was given a third of the noise's
    variance)."""
    rgb = np.repeat(gray_image[..., None], 3, axis=-1)
    out = bm3d(rgb, sigma=5.0)
    assert out.shape == rgb.shape and np.all(np.isfinite(out))
    assert psnr(rgb, out) > 35.0
    gray = bm3d(noisy64, sigma=25.0)
    assert_same_bm3d(bm3d(np.repeat(noisy64[..., None], 3, axis=-1), sigma=25.0), np.dstack([gray] * 3))
    # one flat component (red = blue): the components denoised one by one, a PSD scaled as the variance
    two = np.dstack([noisy64, noisy64[::-1], noisy64])
    assert_same_bm3d(bm3d(two, sigma=25.0, beta=0.0), bm3d(two, sigma=25.0))


def test_bm3d_missing_is_one_clear_line(monkeypatch, tmp_path, noisy64, capsys):
    import sys

    from noise2x.cli import main
    from noise2x.io import write_image

    monkeypatch.setitem(sys.modules, "bm3d", None)  # (import bm3d raises ImportError)
    with pytest.raises(ImportError, match=r"BM3D needs the bm3d package.*pip install bm3d"):
        bm3d(noisy64, sigma=25.0)
    write_image(tmp_path / "n.png", np.clip(noisy64, 0, 255).astype(np.uint8))
    assert main(["denoise", str(tmp_path / "n.png"), "--method", "bm3d", "--noise", "gaussian:sigma=25",
                 "--out", str(tmp_path / "o.png"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BM3D needs the bm3d package" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_values_too_large_for_the_direct_methods_are_one_clear_error(noisy64):
    """An integrator's QA pass: values of 1e155 let a raw scipy ValueError out of nlm, and BM3D gave NaN from
    2.5e22; now one InputError before any work, naming the cure; a model maps them and works."""
    import noise2x

    for method in ("nlm", "bm3d"):
        with pytest.raises(InputError, match=r"values reach 2\.\d+e\+2\d, beyond what .* rescale it"):
            noise2x.denoise(noisy64 * 1e20, method=method)
    assert np.isfinite(noise2x.denoise(noisy64 * 1e20)).all()  # (the no-option route: a shipped model)


def test_a_wrong_rng_is_refused_whatever_the_method(noisy64):
    import noise2x

    for bad in ("abc", 3.5, -1, object()):
        with pytest.raises(UsageError, match="rng must be"):
            noise2x.denoise(noisy64, method="nlm", rng=bad)
    assert noise2x.denoise(noisy64, method="nlm", rng=[1, 2]).shape == noisy64.shape


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
    # a spec string is the spec (it was dropped unsaid, a QA pass); anything else is one clear error
    written: dict = {}
    nlm(noisy64, noise="gaussian:sigma=25", info=written)
    assert written == spec
    shot: dict = {}
    bm3d(noisy64, noise="poisson:peak=10", info=shot)
    assert shot["sigma_source"] == "noise spec" and "anscombe" in shot["transform"]
    for name in CLASSICAL:
        with pytest.raises(UsageError, match="noise must be a noise spec string .* got float"):
            CLASSICAL[name](noisy64, noise=25.0)


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


def test_bm3d_gain_is_the_poisson_gaussian_noise_of_that_gain_and_read_sigma(smooth64):
    """``gain`` (with ``sigma`` the read noise): the generalised Anscombe transform of that noise, as a declared
    Poisson-Gaussian noise spec gives it; bad values and ``beta`` beside it are one clear error."""
    spec = parse_noise("poisson_gaussian:peak=20,sigma=3")
    noisy = spec.apply(smooth64, rng=0)
    info: dict = {}
    out = bm3d(noisy, gain=255 / 20, sigma=3, info=info)
    same = bm3d(noisy, noise=spec)  # (the bm3d package's threads sum in varying order: not to the last bit)
    assert np.abs(out - same).max() < 0.5 and np.abs(out - same).mean() < 0.01
    assert info == {"sigma": 1.0, "sigma_source": "given", "transform": "generalised anscombe (gain=12.75, sigma=3)"}
    assert psnr(smooth64, out) > psnr(smooth64, noisy) + 5.0
    assert np.abs(out - bm3d(noisy, gain=255 / 20)).mean() > 0.1  # the read noise counts
    shot = parse_noise("poisson:peak=10").apply(smooth64, rng=0)
    pure = bm3d(shot, noise=parse_noise("poisson:peak=10"))
    for zero in ("0", "0.0", 0.0):  # no read noise, however written
        assert np.abs(bm3d(shot, gain=25.5, sigma=zero) - pure).mean() < 0.01
    for bad, match in (({"gain": "x"}, "gain must be a number"), ({"gain": 0}, "gain must be a positive number"),
                       ({"gain": 1, "sigma": -2}, "sigma must be a number >= 0"),
                       ({"gain": 1, "sigma": "nan"}, "sigma must be a number >= 0"),
                       ({"gain": 1, "sigma": 2, "beta": 0.5}, "gain .* and beta .* cannot be combined")):
        with pytest.raises(UsageError, match=match):
            bm3d(noisy, **bad)


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
    with pytest.raises(UsageError, match="no option strength.*valid options: sigma, beta, gain, profile"):
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
    """BM3D computes in float32: an image of values near 1e302 came back as inf/NaN, silently; now refused before
    the work (values beyond api.DIRECT_RANGE)."""
    from noise2x import api

    huge = np.random.default_rng(0).random((32, 32)) * 2.55e302
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (numpy's and bm3d's overflow warnings)
        with pytest.raises(InputError, match=r"values reach 2\.55e\+302, beyond what bm3d computes with"):
            api.denoise(huge, method="bm3d", options={"sigma": 1e301})
        assert np.isfinite(api.denoise(huge / 1e300, method="bm3d", options={"sigma": 10})).all()


def test_correlated_psd_is_the_noise_spectrum():
    """correlated_psd is the bm3d package's sigma_psd of correlated() noise: white noise of std s gives s**2 * H * W
    everywhere, the PSD's mean over the grid / (H*W) is the variance, and the periodogram of the noise itself,
    averaged over fields, matches it."""
    from noise2x.classical import correlated_psd
    from noise2x.noise import correlated

    np.testing.assert_allclose(correlated_psd(7.0, 0.0, (16, 24)), np.full((16, 24), 49.0 * 16 * 24))
    psd = correlated_psd(10.0, 0.8, (32, 32))
    assert psd.mean() / (32 * 32) == pytest.approx(100.0)
    assert psd[0, 0] > 5 * psd[16, 16]  # correlated: power at low frequencies
    rng = np.random.default_rng(0)
    fields = [correlated(np.zeros((32, 32)), sigma=10.0, beta=0.8, rng=rng) for _ in range(400)]
    periodogram = np.mean([np.abs(np.fft.fft2(f)) ** 2 for f in fields], axis=0)
    # (the noise is drawn on a padded field, not a circular one: equal up to sampling and edge effects)
    np.testing.assert_allclose(periodogram, psd, rtol=0.25, atol=0.03 * psd.max())


def test_bm3d_correlated_noise_through_its_psd(smooth64):
    """A correlated noise spec (or sigma with beta) gives BM3D the noise's spectrum: far better on correlated noise
    than BM3D told the same sigma as if white; the two ways of saying it agree; RGB too."""
    from noise2x.noise import correlated

    noisy = correlated(smooth64, sigma=20.0, beta=1.0, rng=3)
    info: dict = {}
    spec = bm3d(noisy, noise=parse_noise("correlated:sigma=20,beta=1"), info=info)
    assert info["sigma"] == 20.0 and info["beta"] == 1.0 and "psd" in info
    white = bm3d(noisy, sigma=20.0)
    assert psnr(smooth64, spec) > psnr(smooth64, white) + 1.5
    assert_same_bm3d(bm3d(noisy, sigma=20.0, beta=1.0), spec)
    rgb = np.stack([smooth64, smooth64[::-1], smooth64[:, ::-1]], axis=-1)
    noisy_rgb = correlated(rgb, sigma=20.0, beta=1.0, rng=4)
    assert psnr(rgb, bm3d(noisy_rgb, sigma=20.0, beta=1.0)) > psnr(rgb, bm3d(noisy_rgb, sigma=20.0)) + 1.0
    gray3 = np.repeat(noisy[..., None], 3, axis=-1)  # flat chrominance: the component-by-component path
    out = bm3d(gray3, sigma=20.0, beta=1.0)
    assert np.isfinite(out).all() and psnr(smooth64, out[..., 0]) > psnr(smooth64, white) + 1.0
    with pytest.raises(UsageError, match="needs sigma"):
        bm3d(noisy, beta=0.5)
    # beta with a declared noise of one level takes its sigma: the same spectrum as sigma and beta given
    assert_same_bm3d(bm3d(noisy, beta=1.0, noise=parse_noise("gaussian:sigma=20")), spec)
    assert_same_bm3d(bm3d(noisy, beta=1.0, noise=parse_noise("correlated:sigma=20,beta=0.3")), spec)
    for spec_text in ("poisson:peak=10", "gaussian:sigma=5..10"):
        with pytest.raises(UsageError, match="needs sigma"):
            bm3d(noisy, beta=0.5, noise=parse_noise(spec_text))
    for bad in (1.5, -0.1, "x", float("nan")):
        with pytest.raises(UsageError, match="beta"):
            bm3d(noisy, sigma=20.0, beta=bad)
    with pytest.raises(UsageError, match="must be a number or auto, got 'autox'"):
        bm3d(noisy, beta="autox")


def test_bm3d_reads_and_filters_noise_correlated_along_one_axis(smooth64):
    """Line noise (correlated along rows, or columns): beta=auto reads its axis and BM3D gets the spectrum along it,
    as it does for a correlated_rows noise spec and the option along; read over both axes (along=both), it did
    worse. NLM given a correlated spec takes its marginal sigma (its spectrum went to NLM, a TypeError)."""
    from noise2x.noise import correlated_columns, correlated_rows

    img = np.tile(smooth64, (3, 3))
    for make, along in ((correlated_rows, "rows"), (correlated_columns, "columns")):
        noisy = make(img, sigma=20.0, beta=1.0, rng=5)
        info: dict = {}
        auto = bm3d(noisy, beta="auto", info=info)
        axes = info["estimated_beta_axes"]
        assert info["psd"].endswith(f"along {along})") and axes[along] > 0.9, info
        assert axes["columns" if along == "rows" else "rows"] < 0.3
        both: dict = {}
        spread = bm3d(noisy, beta="auto", along="both", info=both)
        assert "along" not in both["psd"] and both["beta"] < info["beta"]
        assert psnr(img, auto) > psnr(img, spread) + 1.0
        assert_same_bm3d(auto, bm3d(noisy, sigma=info["sigma"], beta=info["beta"], along=along))
        told: dict = {}  # (the axis given: its beta read along it)
        assert_same_bm3d(auto, bm3d(noisy, beta="auto", along=along, info=told))
        assert told["beta"] == info["beta"] and told["sigma"] == info["sigma"]
        spec: dict = {}
        bm3d(noisy, noise=f"{make.__name__}:sigma=20,beta=1", info=spec)
        assert spec["psd"] == f"correlated noise (sigma 20, beta 1, radius 2, along {along})"
        said: dict = {}
        out = nlm(noisy, noise=f"{make.__name__}:sigma=20,beta=1", info=said)
        assert said["sigma"] == 20.0 and make.__name__ in said["sigma_source"] and out.shape == img.shape
    with pytest.raises(UsageError, match="along .* goes with beta"):
        bm3d(img, sigma=5.0, along="rows")
    small: dict = {}  # (under 128 pixels the axis is not read, as with no options: on 64-pixel crops weak white
    # noise over texture read as line noise, a re-check)
    bm3d(correlated_rows(img[:96, :100], sigma=20.0, beta=1.0, rng=5), beta="auto", info=small)
    assert "along" not in small.get("psd", "") and small["estimated_beta_axes"]["rows"] > 0.8, small
    crossed: dict = {}  # (a correlated spec gives beta: along turns its axis)
    bm3d(img, noise="correlated_rows:sigma=20,beta=1", along="columns", info=crossed)
    assert crossed["psd"].endswith("along columns)")
    with pytest.raises(UsageError, match="along must be both, rows or columns"):
        bm3d(img, sigma=5.0, beta=1.0, along="diagonal")


def test_bm3d_beta_auto_reads_the_noise_correlation(smooth64):
    """beta=auto: beta and the marginal sigma read from the image (as the no-option choice reads them): strongly
    correlated noise gets the spectrum read (far better than BM3D's white estimate), a given sigma is kept, white
    noise reads as white (the same output as BM3D with no options); gray stored as RGB and colour too."""
    from noise2x.estimate import correlation_by_channel
    from noise2x.noise import correlated
    from noise2x.pretrained import CORRELATED_BETA

    img = np.tile(smooth64, (3, 3))  # (192 x 192: room for the reading)
    noisy = correlated(img, sigma=20.0, beta=1.0, rng=5)
    info: dict = {}
    auto = bm3d(noisy, beta="auto", info=info)
    read_sigma, read_beta = correlation_by_channel(noisy)
    assert read_beta > CORRELATED_BETA and info["beta_source"] == "estimated" and "psd" in info
    assert info["beta"] == info["estimated_beta"] == read_beta and info["sigma"] == read_sigma
    assert info["sigma_source"] == "estimated" and abs(read_sigma - 20.0) < 4.0 and read_beta > 0.8
    assert_same_bm3d(auto, bm3d(noisy, sigma=read_sigma, beta=read_beta))
    assert psnr(img, auto) > psnr(img, bm3d(noisy)) + 1.5
    given: dict = {}
    assert_same_bm3d(bm3d(noisy, sigma=20.0, beta=" AUTO ", info=given), bm3d(noisy, sigma=20.0, beta=read_beta))
    assert given["sigma"] == 20.0 and given["sigma_source"] == "given" and given["beta"] == read_beta
    white_noisy = img + 20.0 * np.random.default_rng(6).standard_normal(img.shape)
    white: dict = {}
    out = bm3d(white_noisy, beta="auto", info=white)
    assert white["estimated_beta"] <= CORRELATED_BETA and "psd" not in white and white["sigma_source"] == "estimated"
    assert_same_bm3d(out, bm3d(white_noisy))
    rgb = np.stack([img, img[::-1], img[:, ::-1]], axis=-1)
    noisy_rgb = correlated(rgb, sigma=20.0, beta=1.0, rng=7)
    rgb_info: dict = {}
    out_rgb = bm3d(noisy_rgb, beta="auto", info=rgb_info)
    assert "psd" in rgb_info and psnr(rgb, out_rgb) > psnr(rgb, bm3d(noisy_rgb)) + 1.0


@pytest.mark.parametrize("shape", [(2, 2), (3, 100), (7, 7), (8, 8), (8, 8, 3), (12, 15)])
def test_bm3d_takes_images_smaller_than_its_blocks(shape, smooth64):
    """The ``bm3d`` package refuses images below its 8x8 blocks and crashed the process on 8x8: such an image is
    mirrored out, denoised and cropped back, white or correlated noise alike, and still denoised."""
    clean = smooth64[: shape[0], : shape[1]]
    if len(shape) == 3:
        clean = np.stack([clean, clean[::-1], clean.T[: shape[0], : shape[1]] if shape[0] == shape[1] else clean],
                         axis=-1)
    noisy = clean + np.random.default_rng(0).normal(0.0, 25.0, clean.shape)
    for options in ({"sigma": 25}, {"sigma": 25, "beta": 1.0}):
        out = bm3d(noisy, **options)
        assert out.shape == noisy.shape and np.all(np.isfinite(out))
    if min(shape[:2]) >= 7:
        assert psnr(clean, bm3d(noisy, sigma=25)) > psnr(clean, noisy) + 3.0


def test_psd_moved_to_a_larger_grid_is_that_grid_s_psd():
    from noise2x.classical import _psd_on, correlated_psd

    small = correlated_psd(10.0, 0.7, (12, 20))
    assert np.allclose(_psd_on(small, (40, 30)), correlated_psd(10.0, 0.7, (40, 30)))
    assert np.allclose(_psd_on(small, (12, 20)), small)


def test_bm3d_and_no_options_in_tiny_units(gray_image):
    """A flux-calibrated image (values ~1e-8 or below) came back near 0 (4.5 dB, the Python API QA pass): the bm3d
    package is not scale-equivariant for tiny values, and the no-option route read such data as [0, 1] data, its
    noise below BM3D's floor. Both now give what they give in 8-bit units."""
    import noise2x
    from noise2x.io import to_8bit_units

    clean = np.tile(gray_image, (2, 2))
    noisy = clean + 15 * np.random.default_rng(0).standard_normal(clean.shape)
    told = noise2x.denoise(noisy, method="bm3d", noise="gaussian:sigma=15")
    blind = noise2x.denoise(noisy)
    for unit in (1e-8, 1e-19):
        tiny = noisy * unit
        assert to_8bit_units(tiny)[1] != 255.0  # (not read as [0, 1] data)
        out = noise2x.denoise(tiny, method="bm3d", noise=f"gaussian:sigma={15 * unit}") / unit
        assert abs(psnr(clean, out) - psnr(clean, told)) < 0.05
        assert abs(psnr(clean, noise2x.denoise(tiny) / unit) - psnr(clean, blind)) < 0.3
    assert to_8bit_units(noisy / 255.0) == (0.0, 255.0)  # ([0, 1] data as before)


def test_bm3d_on_a_pedestal(gray_image):
    """On a pedestal far from 0 the bm3d package's float32 arithmetic lost the image (28.4 dB where 46.7 at 1e7, a
    dtype QA pass): the pedestal is taken off and added back, and the result is the one at 0."""
    import noise2x
    from noise2x.io import pedestal

    clean = np.tile(gray_image, (2, 2))
    noisy = clean + 15 * np.random.default_rng(0).standard_normal(clean.shape)
    told = psnr(clean, noise2x.denoise(noisy, method="bm3d", noise="gaussian:sigma=15"))
    for base in (1e8, -1e8):
        out = noise2x.denoise(noisy + base, method="bm3d", noise="gaussian:sigma=15") - base
        assert abs(psnr(clean, out) - told) < 0.05
    assert pedestal(noisy) == 0.0 and pedestal(noisy + 300) == 0.0 and pedestal(noisy * 257 + 1000) == 0.0
    assert pedestal(noisy + 1e8) == pytest.approx(np.percentile(noisy, 0.1) + 1e8)


def test_the_sigma_read_for_a_method_finds_clipping_at_the_full_scale_of_the_images_units():
    """scikit-image's random_noise clips to [0, 1]: the saturated areas were read as flat windows (clipping looked
    for at 255), so bm3d and nlm took a sigma 35% low (a QA pass). [0, 1], 8-bit and 16-bit units now read alike."""
    import noise2x

    yy, xx = np.mgrid[0:128, 0:128]
    clean = np.clip(0.35 + 1.2 * (xx / 127.0) + 0.1 * np.sin(yy / 7.0), 0, 1)  # a third of it saturated white
    noisy = np.clip(clean + 0.05 * np.random.default_rng(0).standard_normal(clean.shape), 0, 1)
    assert 0.2 < np.mean(noisy == 1.0) < 0.5
    read = {}
    for scale in (1.0, 255.0, 1023.0, 16383.0, 65535.0):  # ([0, 1], 8-, 10-, 14- and 16-bit: a QA re-check)
        info: dict = {}
        noise2x.denoise(noisy * scale, method="nlm", info=info)
        read[scale] = info["sigma"] / scale
    assert all(read[k] == pytest.approx(read[255.0], rel=1e-6) for k in read), read
    assert read[1.0] == pytest.approx(0.05, rel=0.1)


def test_a_bm3d_library_that_cannot_load_is_said_as_a_missing_dependency(monkeypatch):
    """bm3d loads a binary library when imported; where it has no build (Windows on ARM, arm64 Linux) the import
    raises OSError, which reached the user as a raw "OSError: ...libbm4d.so" (a portability QA pass)."""
    import builtins
    import sys

    from noise2x.errors import MissingDependency

    real = builtins.__import__

    def no_library(name, *args, **kwargs):
        if name == "bm3d":
            raise OSError("libbm4d.so: cannot open shared object file: No such file or directory")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "bm3d", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_library)
    with pytest.raises(MissingDependency, match="BM3D's library cannot be loaded here .*libbm4d.so"):
        bm3d(np.full((40, 40), 100.0), sigma=10)


def test_every_listed_bm3d_profile_runs_on_white_noise(smooth64, noisy64):
    """The refilter profile, listed as valid, failed inside the package on a scalar sigma (gray and colour: the
    classical-baselines QA pass); it is given white noise's flat spectrum, as the package takes it, and runs."""
    base = psnr(smooth64, bm3d(noisy64, sigma=25))
    assert abs(psnr(smooth64, bm3d(noisy64, sigma=25, profile="refilter")) - base) < 0.5
    rgb = np.stack([noisy64, np.roll(noisy64, 5, axis=1), noisy64[::-1]], axis=-1)
    clean = np.stack([smooth64, np.roll(smooth64, 5, axis=1), smooth64[::-1]], axis=-1)
    assert psnr(clean, bm3d(rgb, sigma=25, profile="refilter")) > psnr(clean, rgb, clip=False) + 5


def test_bm3d_with_no_noise_given_says_when_the_noise_reads_as_shot_noise(smooth64, noisy64):
    """BM3D given no noise took shot noise of a few photons for white noise of the sigma of its dark areas, and
    left most of it, unsaid (the classical-baselines QA pass): a note names the Poisson route; none on white noise."""
    import noise2x

    rng = np.random.default_rng(3)
    shot = 255.0 * rng.poisson(np.tile(smooth64, (2, 2)) * 4 / 255.0) / 4
    for image, said in ((shot, True), (noisy64, False)):
        notes = []
        noise2x.denoise(image, method="bm3d", progress=notes.append)
        assert any("reads as signal-dependent (shot noise, estimated peak" in n and "--noise poisson:peak=" in n
                   for n in notes) == said, notes
    notes = []
    noise2x.denoise(shot, method="bm3d", options={"sigma": 30}, progress=notes.append)  # (a level given: no reading)
    assert not any("signal-dependent" in n for n in notes)
    # in other units the spec it names is in the image's units (the peak alone, at a 16-bit file's full scale, made
    # the result worse than the noisy input: the QA re-check); following it does better than the white reading
    unit = shot / 255.0
    notes = []
    white = noise2x.denoise(unit, method="bm3d", progress=notes.append)
    spec = [n for n in notes if "signal-dependent" in n][0].split("; --noise ")[1].split(" ")[0]
    assert spec.startswith("poisson:peak=") and ",data_range=" in spec, notes
    clean = np.tile(smooth64, (2, 2)) / 255.0
    told = noise2x.denoise(unit, method="bm3d", noise=spec)
    assert psnr(clean, told, data_range=1) > psnr(clean, white, data_range=1)
