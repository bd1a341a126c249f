"""Multiplicative speckle (``speckle:looks=L``): the noise, its homomorphic (log) transform, and the routes that
denoise a declared speckle (BM3D and NLM told the noise, and the no-option route through the white-noise route)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy.special import digamma, polygamma

import noise2x
from noise2x import noise
from noise2x.classical import (bm3d, inverse_speckle_log, keep_speckle_mean, nlm, speckle_log, speckle_log_sigma,
                               speckle_looks, speckle_of)
from noise2x.cli import main
from noise2x.errors import InputError, UsageError
from noise2x.metrics import psnr

from conftest import textured_image


def _scene(n: int = 96) -> np.ndarray:
    """An intensity image in 8-bit units: smooth shapes from 30 to 220 (speckle multiplies it)."""
    yy, xx = np.mgrid[0:n, 0:n]
    img = 125 + 70 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 25 * (yy > n // 2)
    return np.clip(img, 30, 220).astype(np.float64)


@pytest.mark.parametrize("looks", [1.0, 4.0, 16.0])
def test_speckle_multiplies_by_gamma_noise_of_mean_one_and_variance_one_over_looks(looks):
    clean = np.full((300, 400), 80.0)
    y = noise.speckle(clean, looks=looks, rng=0)
    g = y / 80.0
    n = g.size
    assert abs(g.mean() - 1.0) < 4 / np.sqrt(looks * n)
    assert abs(g.var() - 1 / looks) < 6 * np.sqrt(2 / n) / looks * np.sqrt(1 + 3 / looks)
    # the Gamma law's third moment: skewness 2 / sqrt(L) (Gaussian noise of that std would give 0)
    skew = np.mean((g - g.mean()) ** 3) / g.std() ** 3
    assert abs(skew - 2 / np.sqrt(looks)) < 0.15 * 2 / np.sqrt(looks)
    assert y.min() >= 0


def test_speckle_is_seeded_pure_and_scales_with_the_signal(rgb_image):
    a = noise.speckle(rgb_image, looks=4, rng=3)
    np.testing.assert_array_equal(a, noise.speckle(rgb_image, looks=4, rng=3))
    assert a.shape == rgb_image.shape and a.dtype == np.float64
    assert not np.array_equal(a, noise.speckle(rgb_image, looks=4, rng=4))
    # the same draw at another brightness: the noise is multiplicative (its std follows the signal)
    np.testing.assert_allclose(noise.speckle(2 * rgb_image, looks=4, rng=3), 2 * a)
    # each channel its own speckle
    flat = noise.speckle(np.full((20, 20, 3), 50.0), looks=1, rng=0)
    assert not np.array_equal(flat[..., 0], flat[..., 1])
    # negative values are intensities of 0
    assert noise.speckle(np.full((4, 4), -5.0), looks=1, rng=0).max() == 0


def test_speckle_spec_parses_validates_and_draws_looks_from_a_range(gray_image):
    spec = noise.parse_noise("speckle:looks=4")
    assert str(spec) == "speckle:looks=4" and spec.gaussian_sigma is None
    np.testing.assert_array_equal(spec.apply(gray_image, rng=1), noise.speckle(gray_image, looks=4, rng=1))
    assert noise.parse_noise("speckle:looks=1..16").is_random_level
    with pytest.raises(UsageError, match="needs parameter 'looks'"):
        noise.parse_noise("speckle")
    with pytest.raises(UsageError, match="looks must be in"):
        noise.parse_noise("speckle:looks=0")
    with pytest.raises(UsageError, match="unknown parameter 'sigma'"):
        noise.parse_noise("speckle:sigma=3")


@pytest.mark.parametrize("looks", [1.0, 3.0, 16.0])
def test_the_log_transform_makes_speckle_additive_of_the_known_std_and_mean(looks):
    clean = np.full((200, 300), 90.0)
    y = noise.speckle(clean, looks=looks, rng=1)
    y[0, 0] = 300.0  # (a bright pixel and a dark one, so the map spans more than the noise)
    y[0, 1] = 1.0
    mapped, sigma, lo, scale = speckle_log(y, looks=looks)
    assert sigma == pytest.approx(np.sqrt(polygamma(1, looks)) * scale)
    # the logarithm of the speckle: its std is sigma in the mapped units, its mean ln(90) + digamma(L) - ln(L)
    log_noise = mapped.ravel()[2:] / scale + lo
    assert np.std(log_noise) == pytest.approx(sigma / scale, rel=0.02)
    assert np.mean(log_noise) == pytest.approx(np.log(90.0) + digamma(looks) - np.log(looks), abs=0.02)
    # the inverse takes the mean of ln G back out: the mean of the logarithm maps back to the clean value
    assert inverse_speckle_log(np.mean(mapped.ravel()[2:]), looks=looks, lo=lo, scale=scale) == pytest.approx(
        90.0, rel=0.01)
    # and the map spans 0..255 from the 0.1 to the 99.9 percentile
    assert np.percentile(mapped, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert np.percentile(mapped, 99.9) == pytest.approx(255.0)


def test_looks_and_log_std_are_inverse():
    for looks in (0.5, 1.0, 2.5, 16.0, 400.0):
        assert speckle_looks(speckle_log_sigma(looks)) == pytest.approx(looks, rel=1e-6)
    assert speckle_log_sigma(1.0) == pytest.approx(np.pi / np.sqrt(6))  # (trigamma(1) = pi^2 / 6)


def test_zero_pixels_take_half_the_smallest_positive_value_and_an_image_of_zeros_is_an_error():
    y = np.array([[0.0, 2.0], [4.0, 8.0]] * 8)
    mapped, _, lo, scale = speckle_log(y, looks=1)
    np.testing.assert_allclose(mapped[0, 0] / scale + lo, np.log(1.0))
    with pytest.raises(InputError, match="no value above 0"):
        speckle_log(np.zeros((8, 8)), looks=1)


@pytest.mark.parametrize("fn", [bm3d, nlm])
def test_bm3d_and_nlm_told_speckle_denoise_its_logarithm(fn):
    clean = _scene()
    spec = noise.parse_noise("speckle:looks=4")
    noisy = spec.apply(clean, rng=0)
    info: dict = {}
    out = fn(noisy, noise=spec, info=info)
    assert info["sigma_source"] == "noise spec" and info["transform"].startswith("log (speckle, 4 looks")
    assert info["sigma"] == pytest.approx(speckle_log(noisy, looks=4)[1])
    assert psnr(clean, out) > psnr(clean, noisy) + 6.0
    # without the transform (the sigma read as for white noise) the method does worse: the noise is much
    # stronger where the image is bright
    assert psnr(clean, out) > psnr(clean, fn(noisy)) + 1.0
    # unbiased: the mean intensity kept (without taking the log-speckle's mean out it is 1.13 times too high)
    assert np.mean(out) / np.mean(clean) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("looks", [0.7, 40])  # (beyond the range of the shipped speckle model, 1..16)
def test_declared_speckle_beyond_the_speckle_model_takes_the_homomorphic_route(looks):
    clean = _scene()
    spec = f"speckle:looks={looks}"
    noisy = noise.parse_noise(spec).apply(clean, rng=2)
    info: dict = {}
    lines: list[str] = []
    out = noise2x.denoise(noisy, noise=spec, info=info, progress=lines.append)
    assert lines[0].startswith(f"{spec} given: multiplicative speckle") and "homomorphic" in lines[0]
    assert lines[1].startswith("using ")  # the white-noise route's own line, for the logarithm's sigma
    assert info["transform"].startswith(f"log (speckle, {looks} looks")
    assert psnr(clean, out) > psnr(clean, noisy) + 6.0
    assert np.mean(out) / np.mean(clean) == pytest.approx(1.0, abs=0.03)
    # the logarithm's sigma went to the white-noise route: the model or BM3D saw that level
    assert info["estimated_sigma"] == pytest.approx(speckle_log(noisy, looks=looks)[1])


def test_a_range_of_looks_reads_the_level_on_the_logarithm_within_the_range():
    clean = textured_image(128, amp=20.0, seed=1)
    noisy = noise.speckle(clean, looks=4, rng=0)
    got = speckle_of(noisy, noise.parse_noise("speckle:looks=1..16"))
    assert 2.5 < got["looks"] < 6.5  # read near the 4 looks drawn
    assert "read on the logarithm" in got["label"]
    held = speckle_of(noisy, noise.parse_noise("speckle:looks=20..40"))
    assert held["looks"] == pytest.approx(20.0)  # held to the range, and said
    assert "the logarithm read std" in held["label"]
    info: dict = {}
    out = noise2x.denoise(noisy, noise="speckle:looks=1..16", info=info)
    assert psnr(clean, out) > psnr(clean, noisy) + 5.0


def test_colour_speckle_goes_to_bm3d_on_its_logarithm():
    clean = np.stack([_scene(), 250 - _scene(), np.roll(_scene(), 7, axis=1)], axis=-1)
    noisy = noise.speckle(clean, looks=4, rng=0)
    info: dict = {}
    lines: list[str] = []
    out = noise2x.denoise(noisy, noise="speckle:looks=4", info=info, progress=lines.append, tile=64)
    assert lines == ["using bm3d: speckle:looks=4 given: multiplicative speckle on a colour image: BM3D (CBM3D) on "
                     "its logarithm", "note: tile applies to models: ignored"]
    assert info["method"] == "bm3d" and info["transform"].startswith("log (speckle, 4 looks")
    direct = noise2x.denoise(noisy, method="bm3d", noise="speckle:looks=4")
    assert np.abs(out - direct).mean() < 0.01
    assert out.shape == clean.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 6.0


def test_cli_simulates_and_denoises_speckle(tmp_path, capsys):
    clean = _scene()
    src = tmp_path / "clean.png"
    Image.fromarray(clean.astype(np.uint8)).save(src)
    noisy_path = tmp_path / "noisy.tif"
    assert main(["simulate", "speckle:looks=4", str(src), str(noisy_path), "--seed", "5"]) == 0
    noisy = tifffile.imread(noisy_path).astype(np.float64)
    np.testing.assert_allclose(noisy, noise.speckle(clean.astype(np.uint8).astype(np.float64), looks=4, rng=5),
                               rtol=1e-6)
    capsys.readouterr()
    out_path = tmp_path / "out.tif"
    assert main(["denoise", str(noisy_path), "--noise", "speckle:looks=4", "--out", str(out_path)]) == 0
    err = capsys.readouterr().err
    assert "multiplicative speckle" in err and "Traceback" not in err
    assert psnr(clean, tifffile.imread(out_path).astype(np.float64)) > psnr(clean, noisy) + 6.0
    # an image with no positive value: one error line, no output
    zeros = tmp_path / "zeros.tif"
    tifffile.imwrite(zeros, np.zeros((40, 40), np.float32))
    assert main(["denoise", str(zeros), "--noise", "speckle:looks=4", "--out", str(tmp_path / "z.tif")]) != 0
    err = capsys.readouterr().err
    assert "no value above 0" in err and "Traceback" not in err and not (tmp_path / "z.tif").exists()


def test_declared_speckle_goes_to_a_shipped_speckle_model_whose_range_holds_its_looks(monkeypatch):
    """A shipped model for speckle (models.json noise "speckle") takes a declared speckle in its range of looks, a
    colour image channel by channel (speckle multiplies each channel alone; luma and chroma planes are not
    speckled); outside the range the homomorphic route. (The row here points at a shipped white-noise model: the
    route, not the model's quality, is tested.)"""
    import noise2x.pretrained as pretrained

    white = pretrained.find("gray-gaussian")
    row = {**white, "name": "gray-speckle-test", "noise": "speckle", "range": [1.0, 16.0],
           "description": "a test row"}
    monkeypatch.setattr(pretrained, "list_models", lambda: [row])
    assert pretrained.speckle_model(4.0)["name"] == "gray-speckle-test"
    assert pretrained.speckle_model(17.0) is not None and pretrained.speckle_model(18.0) is None  # (10% slack)
    clean = np.stack([_scene(), 250 - _scene(), np.roll(_scene(), 7, axis=1)], axis=-1)
    noisy = noise.speckle(clean, looks=4, rng=0)
    info: dict = {}
    lines: list[str] = []
    out = noise2x.denoise(noisy[..., 0], noise="speckle:looks=4", info=info, progress=lines.append)
    assert lines[0] == "using gray-speckle-test: speckle:looks=4 given: shipped model 'gray-speckle-test' (a test row)"
    assert info["method"] == "model gray-speckle-test"
    np.testing.assert_allclose(out, noise2x.denoise(noisy[..., 0], model=white["path"]))
    # a colour image with colour="channels": the model channel by channel
    info.clear()
    out = noise2x.denoise(noisy, noise="speckle:looks=4", info=info, colour="channels")
    assert info["method"] == "model gray-speckle-test" and info["colour"] == "channels"
    np.testing.assert_allclose(out, noise2x.denoise(noisy, model=white["path"], colour="channels"))
    # a range of looks: the looks read on the logarithm choose, and are said
    lines.clear()
    noise2x.denoise(noisy[..., 0], noise="speckle:looks=1..8", progress=lines.append)
    assert re.match(r"using gray-speckle-test: speckle:looks=1\.\.8 given \([\d.]+ looks read on its logarithm\)",
                    lines[0]), lines[0]
    # beyond the range: the homomorphic route
    info.clear()
    noise2x.denoise(noisy[..., 0], noise="speckle:looks=40", info=info)
    assert info["transform"].startswith("log (speckle, 40 looks") and info["method"] != "model gray-speckle-test"


def test_the_shipped_speckle_model_takes_a_declared_gray_speckle_and_colour_images_channel_by_channel():
    clean = _scene()
    noisy = noise.speckle(clean, looks=2, rng=4)
    info: dict = {}
    out = noise2x.denoise(noisy, noise="speckle:looks=2", info=info)
    assert info["method"] == "model gray-speckle" and info["estimated_looks"] == 2
    assert psnr(clean, out) > psnr(clean, noisy) + 8.0
    den = noise2x.load_model("gray-speckle")
    assert den.colour_mode("auto") == "channels" and den.colour_mode("luma") == "luma"
    assert noise2x.load_model("gray-gaussian").colour_mode("auto") == "auto"
    rgb = np.stack([noisy, np.roll(noisy, 5, axis=0), noisy[::-1]], axis=-1)
    info.clear()
    got = noise2x.denoise(rgb, model="gray-speckle", info=info)
    assert info["colour"] == "channels"
    np.testing.assert_allclose(got, noise2x.denoise(rgb, model="gray-speckle", colour="channels"))
    assert not np.allclose(got, noise2x.denoise(rgb, model="gray-speckle", colour="luma"))


def test_speckle_routes_give_intensities_say_zero_areas_and_zero_shot_methods_say_they_ignore_the_noise():
    """From a QA pass: the model route's result is held at 0 and above (an intensity; it dipped to -11.5 beside a
    patch of negative values); solid areas of 0 (no-data borders) are noted as without a noise spec; mash and zs_n2n
    given a noise say they take none."""
    clean = _scene()
    noisy = noise.speckle(clean, looks=4, rng=2)
    noisy[:5, :5] = -3.0
    lines: list[str] = []
    out = noise2x.denoise(noisy, noise="speckle:looks=4", progress=lines.append)
    assert out.min() >= 0.0 and lines[0].startswith("using gray-speckle")
    border = noisy.copy()
    border[:, :40] = 0.0
    lines.clear()
    noise2x.denoise(border, noise="speckle:looks=4", progress=lines.append)
    assert lines[0].startswith("note: 42% of the image lies in solid areas of 0"), lines
    lines.clear()
    noise2x.denoise(noisy[:24, :24], method="zs_n2n", noise="speckle:looks=4", progress=lines.append,
                    options={"steps": 2}, rng=0)
    assert "note: zs_n2n takes no noise model: the noise speckle:looks=4 is not used" in lines[0], lines


@pytest.mark.parametrize("method", ["bm3d", None])
def test_the_log_routes_keep_the_mean_intensity_of_flat_areas(method):
    """BM3D on the logarithm of one-look speckle returned flat areas 5-6 % too bright (a QA pass: the denoiser of the
    skewed log-speckle does not return its mean); the log routes now give their result the noisy image's local mean
    (keep_speckle_mean), which the speckle, of mean 1, keeps."""
    flat = np.full((96, 96), 100.0)
    for seed in range(2):
        noisy = noise.speckle(flat, looks=1 if method else 0.8, rng=10 + seed)  # (0.8 looks: beyond the model)
        out = noise2x.denoise(noisy, method=method, noise=f"speckle:looks={1 if method else 0.8}")
        assert out.mean() / noisy.mean() == pytest.approx(1.0, abs=0.005)
    # the correction alone: the local mean of the noisy image, each channel on its own
    y = noise.speckle(np.stack([flat, 2 * flat, 3 * flat], axis=-1), looks=4, rng=0)
    fixed = keep_speckle_mean(y, np.full(y.shape, 50.0))
    np.testing.assert_allclose(fixed.mean(axis=(0, 1)) / y.mean(axis=(0, 1)), 1.0, atol=0.01)
    assert keep_speckle_mean(y, np.ones(y.shape), window=0).max() == 1.0


def test_a_blindspot_speckle_model_says_what_a_declared_noise_does(tmp_path, capsys):
    """From the QA pass: given a noise of another family, the note said only a model of a known noise model uses
    --noise (this is one); given other looks, the trained ones were replaced without a word."""
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        tifffile.imwrite(data / f"{i}.tif", textured_image(48, seed=i).astype(np.float32))
    model = tmp_path / "bs.safetensors"
    assert main(["train", "--method", "blindspot", "--data", str(data), "--add-noise", "speckle:looks=4", "--steps",
                 "2", "--set", "preset=tiny", "--out", str(model), "-q"]) == 0
    noisy = tmp_path / "n.tif"
    tifffile.imwrite(noisy, noise.speckle(textured_image(48, seed=5), looks=4, rng=0).astype(np.float32))
    capsys.readouterr()
    assert main(["denoise", str(noisy), "--model", str(model), "--noise", "gaussian:sigma=20",
                 "--out", str(tmp_path / "g.tif")]) == 0
    assert ("note: this model does not use --noise gaussian:sigma=20 (its noise model, speckle, takes no gaussian "
            "level)") in capsys.readouterr().err
    assert main(["denoise", str(noisy), "--model", str(model), "--noise", "speckle:looks=1",
                 "--out", str(tmp_path / "l.tif")]) == 0
    assert "note: --noise speckle:looks=1 sets this model's looks 4 -> 1" in capsys.readouterr().err


def test_info_says_what_denoise_does_with_a_declared_noise(tmp_path, capsys):
    """``noise2x info IMAGE --noise SPEC`` previews the declared route, in the words ``denoise --noise SPEC`` says
    it with (the speckle QA pass: a declared route could not be previewed)."""
    rng = np.random.default_rng(0)
    gray, colour = _scene(), np.stack([_scene(), _scene()[::-1], _scene().T], axis=-1)
    cases = [("g.tif", noise.speckle(gray, looks=4, rng=1), "speckle:looks=4"),   # the speckle model
             ("c.tif", noise.speckle(colour, looks=4, rng=2), "speckle:looks=4"),   # CBM3D on the log
             ("h.tif", noise.speckle(gray, looks=64, rng=3), "speckle:looks=64"),   # the log route, then a model
             ("w.tif", gray + 20 * rng.standard_normal(gray.shape), "gaussian:sigma=20")]
    for name, image, spec in cases:
        tifffile.imwrite(tmp_path / name, image.astype(np.float32), photometric="rgb" if image.ndim == 3 else None)
        assert main(["info", str(tmp_path / name), "--noise", spec]) == 0
        said = [line for line in capsys.readouterr().out.splitlines()
                if line.startswith(f"noise2x denoise --noise {spec}: ")]
        assert len(said) == 1, said
        assert main(["denoise", str(tmp_path / name), "--noise", spec, "--out", str(tmp_path / f"o_{name}")]) == 0
        err = capsys.readouterr().err
        used = [line.removeprefix("using ") for line in err.splitlines() if line.startswith("using ")]
        route = [line for line in err.splitlines() if "homomorphic route" in line]
        assert said[0].removeprefix(f"noise2x denoise --noise {spec}: ") == (
            f"{route[0]}; the logarithm through {used[0]}" if route else used[0]), (said, err)
    capsys.readouterr()
    # a wrong spec, or --noise with a model: one error line, exit 2
    assert main(["info", str(tmp_path / "g.tif"), "--noise", "speckle:looks=0"]) == 2
    assert main(["info", "gray-speckle", "--noise", "speckle:looks=4"]) == 2
    err = capsys.readouterr().err
    assert err.count("noise2x: error:") == 2 and "--noise goes with an image" in err and "Traceback" not in err
    # no value above 0: the declared route's own error, the image's other facts all the same
    tifffile.imwrite(tmp_path / "z.tif", np.zeros((40, 40), np.float32))
    assert main(["info", str(tmp_path / "z.tif"), "--noise", "speckle:looks=4"]) == 0
    assert "noise2x denoise --noise speckle:looks=4: stops: speckle noise multiplies" in capsys.readouterr().out
