"""A gray (one-channel) model on a colour image: luminance/chrominance planes for RGB, else channel by channel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noise2x import api, cli
from noise2x.checkpoint import save_model
from noise2x.errors import InputError, UsageError
from noise2x.io import list_images, read_image, write_image
from noise2x.methods import get_method
from noise2x.models import ScaledModel, build_model
from noise2x.predict import Denoiser, colour_mode, denoise_array, from_luma_chroma, to_luma_chroma

from conftest import bsd68_crops, data_dir, psnr_8bit


def gray_unet(seed=0):
    torch.manual_seed(seed)
    args = {"in_channels": 1, "width": 8, "depth": 2}
    return ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[60.0]).eval()


def test_planes_invert_exactly_and_stay_in_the_image_range():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 30, 3)).astype(np.float64)
    rgb[0, 0], rgb[0, 1] = (255, 0, 255), (0, 255, 0)  # the extremes of both chrominance planes
    planes, offset = to_luma_chroma(rgb)
    assert offset == pytest.approx(rgb.mean())
    assert np.allclose(from_luma_chroma(planes, offset), rgb, atol=1e-9)
    assert planes[..., 0].min() >= 0 and planes[..., 0].max() <= 255
    chroma = planes[..., 1:] - offset
    assert chroma.min() >= -127.5 - 1e-9 and chroma.max() <= 127.5 + 1e-9
    assert chroma.max() == pytest.approx(127.5) and chroma.min() == pytest.approx(-127.5)


def test_white_noise_stays_white_and_independent_in_the_planes():
    rng = np.random.default_rng(1)
    sigma = 10.0
    noise = rng.normal(0, sigma, (300, 300, 3))
    planes, offset = to_luma_chroma(100 + noise)
    flat = (planes - planes.mean(axis=(0, 1))).reshape(-1, 3)
    cov = flat.T @ flat / len(flat)
    expected = sigma ** 2 * np.array([1 / 3, 1 / 2, 6 / 16])
    assert np.allclose(np.diag(cov), expected, rtol=0.03)
    off_diagonal = cov[~np.eye(3, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.02 * sigma ** 2  # uncorrelated planes: independent Gaussian noise


def test_gray_model_on_rgb_denoises_the_planes(rgb_image):
    model = gray_unet()
    out = denoise_array(model, rgb_image, tile=0)
    planes, offset = to_luma_chroma(rgb_image)
    by_plane = np.stack([denoise_array(model, planes[..., c], tile=0) for c in range(3)], axis=-1)
    assert out.dtype == np.float32 and out.shape == rgb_image.shape
    assert np.allclose(out, from_luma_chroma(by_plane, offset), atol=1e-3)
    each = denoise_array(model, rgb_image, tile=0, colour="channels")
    assert np.allclose(each, np.stack([denoise_array(model, rgb_image[..., c], tile=0) for c in range(3)], -1))
    assert np.abs(out - each).max() > 1.0  # the two modes differ
    tiled = denoise_array(model, rgb_image, tile=16, overlap=4)  # tiles and planes together
    assert tiled.shape == rgb_image.shape and np.isfinite(tiled).all()


def test_a_colour_image_takes_little_more_memory_than_its_planes(monkeypatch):
    """A colour photo took several times the gray route's memory a pixel (a large-data QA pass): the
    planes, their results, a stack of them and the transform's float64 copies were all held at once. The planes
    now go one at a time into the output, turned back in bands of rows in place: the same values, and the numpy
    memory above the gray route's about that of the output and one plane."""
    import tracemalloc

    from noise2x import predict

    rng = np.random.default_rng(3)
    rgb = np.clip(rng.normal(120, 30, (300, 260, 3)), 0, 255)
    model = gray_unet()
    monkeypatch.setattr(predict, "_from_luma_chroma_in_place",
                        lambda out, offset, keep_noise=False, band=256, real=predict._from_luma_chroma_in_place:
                        real(out, offset, keep_noise=keep_noise, band=64))  # (bands: several)
    for keep in (False, True):
        planes, offset = to_luma_chroma(rgb, keep_noise=keep)
        by_plane = np.stack([denoise_array(model, planes[..., c], tile=0) for c in range(3)], axis=-1)
        expected = from_luma_chroma(by_plane, offset, keep_noise=keep).astype(np.float32)
        np.testing.assert_allclose(denoise_array(model, rgb, tile=0, keep_noise=keep), expected, rtol=0, atol=1e-4)

    def peak(image):
        tracemalloc.start()
        try:
            denoise_array(model, image, tile=0)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    gray, colour = peak(rgb[..., 0].copy()), peak(rgb)
    pixels = rgb.shape[0] * rgb.shape[1]
    assert colour - gray < 24 * pixels, (gray / pixels, colour / pixels)  # (before this change: 60 more)


def test_other_channel_counts_go_channel_by_channel(rgb_image):
    model = gray_unet()
    four = np.concatenate([rgb_image, rgb_image[..., :1] * 0.5], axis=-1)
    # four channels read as RGBA are refused (the alpha plane was denoised and came back changed), as
    # noise2x.denoise refuses them; colour='channels' takes four channels of data
    with pytest.raises(InputError, match=r"image has 4 channels \(RGBA\?\); a gray model .* colour='channels'"):
        denoise_array(model, four, tile=0)
    out = denoise_array(model, four, tile=0, colour="channels")
    assert np.allclose(out, denoise_array(model, np.concatenate([four, four[..., :1]], -1), tile=0,
                                          colour="channels")[..., :4])
    assert np.allclose(out[..., 3], denoise_array(model, four[..., 3], tile=0))
    one = denoise_array(model, rgb_image[..., :1], tile=0)
    assert one.shape == rgb_image[..., :1].shape
    assert np.allclose(one[..., 0], denoise_array(model, rgb_image[..., 0], tile=0))
    with pytest.raises(UsageError, match="3-channel"):
        denoise_array(model, four, colour="luma")


def test_colour_mode_rules():
    assert colour_mode("auto", 3) == "luma"
    assert colour_mode("auto", 2) == "channels" and colour_mode("auto", 4) == "channels"
    assert colour_mode("channels", 3) == "channels"
    # the blind-spot posterior assumes each pixel's own noise model: never mixed
    assert colour_mode("auto", 3, get_method("blindspot")) == "channels"
    assert colour_mode("auto", 3, get_method("supervised")) == "luma"
    with pytest.raises(UsageError, match="colour must be"):
        colour_mode("rgb", 3)


def test_bad_colour_inputs(rgb_image):
    model = gray_unet()
    bad = rgb_image.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        denoise_array(model, bad)
    with pytest.raises(UsageError, match="colour must be"):
        api.denoise(rgb_image, method="bm3d", colour="ycbcr")
    torch.manual_seed(0)
    args = {"in_channels": 3, "width": 8, "depth": 2}
    rgb_model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0] * 3,
                            std=[60.0] * 3).eval()
    rgba = np.dstack([rgb_image, np.full(rgb_image.shape[:2], 255.0)])
    with pytest.raises(InputError, match=r"^the model takes \(H,W,3\) RGB images, got shape \(37, 31, 4\): an RGBA "
                                         r"image: drop its alpha channel"):
        api.denoise(rgba, model=Denoiser(rgb_model, get_method("supervised"), {}), colour="channels")
    with pytest.raises(InputError, match=r"expects 3-channel images, got 5 channels; colour='channels' splits an "
                                         r"image's channels for a one-channel \(gray\) model$"):
        api.denoise(np.dstack([rgba, rgba[..., :1]]), model=Denoiser(rgb_model, get_method("supervised"), {}),
                    colour="channels")


def test_luma_beats_channels_on_colour_photos():
    """The point of the planes: on CBSD68 crops with white noise, the shipped gray model gains over R, G, B alone."""
    from noise2x.noise import protocol_noisy
    from noise2x.pretrained import model_path

    files = sorted(list_images(data_dir("cbsd68")))[:2]
    den = Denoiser.load(model_path("gray-gaussian"))
    gains = []
    for i, path in enumerate(files):
        clean = read_image(path)[:160, :160]
        noisy = protocol_noisy(clean, "gaussian:sigma=25", index=i)
        luma = psnr_8bit(clean, np.clip(den.denoise(noisy), 0, 255))
        each = psnr_8bit(clean, np.clip(den.denoise(noisy, colour="channels"), 0, 255))
        gains.append(luma - each)
    assert np.mean(gains) > 0.8, gains


def _gray_model_file(path):
    return save_model(path, gray_unet(), metadata={"method": "supervised", "method_options": {},
                                                    "noise": "gaussian:sigma=25", "steps": 1})


def test_cli_gray_model_on_rgb(tmp_path, rgb_image, capsys):
    model = _gray_model_file(tmp_path / "gray.safetensors")
    src = tmp_path / "rgb.png"
    write_image(src, np.clip(rgb_image, 0, 255).astype(np.uint8))
    assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "a.png")]) == 0
    assert "luminance/chrominance planes" in capsys.readouterr().err
    assert read_image(tmp_path / "a.png").shape == rgb_image.shape
    assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "b.png"),
                     "--colour", "channels"]) == 0
    assert "each channel" in capsys.readouterr().err
    rc = cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "c.png"), "--colour", "x"])
    err = capsys.readouterr().err
    assert rc == 2 and "invalid choice: 'x'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.png").exists()


def test_noise_keeping_planes_are_orthonormal():
    from noise2x.predict import LUMA_CHROMA_UNIT

    assert np.allclose(LUMA_CHROMA_UNIT @ LUMA_CHROMA_UNIT.T, np.eye(3))
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (30, 20, 3)).astype(np.float64)
    planes, offset = to_luma_chroma(rgb, keep_noise=True)
    assert np.allclose(from_luma_chroma(planes, offset, keep_noise=True), rgb, atol=1e-9)
    noise = rng.normal(0, 10.0, (300, 300, 3))
    flat = to_luma_chroma(100 + noise, keep_noise=True)[0].reshape(-1, 3)
    assert np.allclose(flat.std(axis=0), 10.0, rtol=0.03)  # every plane keeps the channels' noise level


def test_denoiser_keeps_the_noise_level_for_a_model_trained_at_one_level(rgb_image):
    model = gray_unet()
    method = get_method("supervised")
    fixed = Denoiser(model, method, {"method": "supervised", "noise": "gaussian:sigma=25"})
    blind = Denoiser(model, method, {"method": "supervised", "noise": "gaussian:sigma=0..50"})
    assert not fixed.blind and blind.blind and not Denoiser(model, method, {}).blind
    kept = denoise_array(model, rgb_image, method=method, tile=0, keep_noise=True)
    ranged = denoise_array(model, rgb_image, method=method, tile=0)
    assert np.allclose(fixed.denoise(rgb_image, tile=0), kept) and np.allclose(blind.denoise(rgb_image, tile=0), ranged)
    assert np.abs(kept - ranged).max() > 1.0


def test_poisson_on_rgb_is_stabilised_then_denoised_by_the_gaussian_model():
    """No options, Poisson noise on an RGB photo: Anscombe per channel, the white-noise gray model on the planes,
    the exact unbiased inverse. The Poisson model on the planes (before) is the reference it must beat."""
    from noise2x import pretrained
    from noise2x.classical import anscombe, inverse_anscombe
    from noise2x.noise import protocol_noisy
    from noise2x.pretrained import model_path

    files = sorted(list_images(data_dir("cbsd68")))[:4]
    low, poisson = Denoiser.load(model_path("gray-gaussian-low")), Denoiser.load(model_path("gray-poisson"))
    gains = []
    for i, path in enumerate(files):
        clean = read_image(path)[:256, :256]
        noisy = protocol_noisy(clean, "poisson:peak=30", index=i)
        info: dict = {}
        out = api.denoise(noisy, info=info)
        choice = pretrained.choose(noisy)
        assert choice.model is not None and choice.model.stem == "gray-poisson" and choice.scale == 1.0
        peak = choice.facts["peak"]
        # the estimated read noise goes into the transform too (none here: Poisson noise alone, but the
        # estimate may read a little)
        read = float(np.sqrt(max(choice.facts["poisson_b"], 0.0)))
        assert read < 8, choice.facts  # against a noise std of about 30 at the mean level
        which = "Anscombe" if read == 0 else "generalised Anscombe"
        # the stabilised noise, std gain (about 23), is at most gain / sqrt(2) on the planes: the weak-noise model
        assert info["method"] == "model gray-gaussian-low" and info["transform"] == (
            "anscombe (peak estimated)" if read == 0 else "generalised anscombe (peak and read noise estimated)")
        assert info["auto"].startswith(f"signal-dependent noise, estimated peak {peak:.3g}: each channel "
                                       f"variance-stabilised ({which}), then the shipped model 'gray-gaussian-low'")
        gain = 255 / float(anscombe(np.array(255.0), alpha=255 / peak, sigma=read))
        by_hand = inverse_anscombe(low.denoise(anscombe(noisy, alpha=255 / peak, sigma=read) * gain) / gain,
                                   alpha=255 / peak, sigma=read)
        np.testing.assert_allclose(out, by_hand, atol=1e-3)
        gains.append(psnr_8bit(clean, np.clip(out, 0, 255)) - psnr_8bit(clean, np.clip(poisson.denoise(noisy), 0, 255)))
    # CBSD68 at peak 30: 29.76 against 29.64 dB for gray-poisson (trained 30 minutes) on the planes, ahead on 53 of
    # 68 photos (-1.38 to +0.83); on these 256x256 crops +0.02 to +0.43 (smaller crops are too few pixels to tell)
    assert np.mean(gains) > 0.1, gains
    # where it does not apply: a gray image, colour="channels", white noise
    gray = protocol_noisy(read_image(files[0])[:96, :96, 0], "poisson:peak=30", index=0)
    info = {}
    api.denoise(gray, info=info)
    assert info["method"] == "model gray-poisson" and "transform" not in info
    rgb = protocol_noisy(read_image(files[0])[:96, :96], "poisson:peak=30", index=0)
    info = {}
    api.denoise(rgb, info=info, colour="channels")
    assert info["method"] == "model gray-poisson" and "transform" not in info
    info = {}  # white noise (sigma 25: 17.7 on the planes, the weak-noise model)
    api.denoise(protocol_noisy(read_image(files[0])[:96, :96], "gaussian:sigma=25", index=0), info=info)
    assert info["method"] == "model gray-gaussian-low" and "transform" not in info


def test_stabilised_gain_stays_in_the_gaussian_models_range():
    from noise2x import pretrained
    from noise2x.pretrained import model_path

    # at peak 5 the noise would be 55 > 50; at peak 30 it is 23, 16.4 on the planes: the weak-noise model
    for peak, gain, name in [(30.0, 255 / (2 * np.sqrt(30.375)), "gray-gaussian-low"), (5.0, 50.0, "gray-gaussian")]:
        choice = pretrained.Choice(model_path("gray-poisson"), None, "test", facts={"peak": peak}, source="peak given")
        vst = pretrained.stabilised(choice, 3)
        assert vst.transform == "anscombe (peak given)" and vst.reason.startswith("peak given: each channel")
        assert vst.model.stem == name and vst.alpha == pytest.approx(255 / peak) and f"'{name}'" in vst.reason
        assert vst.gain == pytest.approx(gain)
    # the generalised Anscombe route (set by choose): the level the model sees, gray or through the planes
    for channels, colour, name in [(1, "auto", "gray-gaussian"), (3, "auto", "gray-gaussian-low"),
                                   (3, "channels", "gray-gaussian")]:
        facts = {"gat_alpha": 255 / 30, "gat_sigma": 10.0, "gat_mu": 0.0}  # gain 22.6
        choice = pretrained.Choice(model_path("gray-gaussian"), None, "test", facts=facts, source="given")
        assert pretrained.stabilised(choice, channels, colour).model.stem == name, (channels, colour)
    white = pretrained.Choice(model_path("gray-gaussian"), None, "test", facts={"sigma": 25.0})
    assert pretrained.stabilised(white, 3) is None


@pytest.mark.parametrize("channels,peak,name", [(1, 80, "gray-gaussian-low"), (3, 30, "gray-gaussian-low")])
def test_declared_poisson_gaussian_noise_is_stabilised_for_the_gaussian_model(channels, peak, name):
    """No model is trained for Poisson-Gaussian noise: told it, the choice uses the generalised Anscombe
    transform, which makes it white with unit variance, and the white-noise model (before: ZS-N2N); on a gray
    image whose peak lies outside the Poisson models' ranges (inside: the next test)."""
    from noise2x import pretrained
    from noise2x.classical import anscombe, inverse_anscombe
    from noise2x.noise import parse_noise, protocol_noisy
    from noise2x.pretrained import model_path

    spec = f"poisson_gaussian:peak={peak},sigma=10"
    clean = read_image(sorted(list_images(data_dir("cbsd68")))[1])[:128, :128]
    clean = clean if channels == 3 else clean.mean(axis=2)
    noisy = protocol_noisy(clean, spec, index=0)
    info: dict = {}
    out = api.denoise(noisy, noise=spec, info=info)
    # stabilised noise of std gain 22.6 (peak 30) on the planes, 14.6 (peak 80) on a gray image: the weak-noise model
    assert info["method"] == f"model {name}" and info["transform"] == "generalised anscombe (noise given)"
    assert info["auto"].startswith(f"{spec} given: variance-stabilised (generalised Anscombe)")
    alpha = 255 / peak
    gain = 255 / float(anscombe(np.array(255.0), alpha=alpha, sigma=10))
    by_hand = inverse_anscombe(Denoiser.load(model_path(name)).denoise(
        anscombe(noisy, alpha=alpha, sigma=10) * gain) / gain, alpha=alpha, sigma=10)
    np.testing.assert_allclose(out, by_hand, atol=1e-3)
    assert psnr_8bit(clean, out) > psnr_8bit(clean, noisy) + 8
    # a level range is not one noise: no transform, ZS-N2N as before
    choice = pretrained.choose(noisy, noise=parse_noise("poisson_gaussian:peak=10..50,sigma=10"))
    assert choice.method == "zs_n2n" and choice.model is None


def test_declared_poisson_gaussian_noise_on_a_gray_image_goes_to_the_poisson_model_in_its_range():
    """A gray image with declared Poisson-Gaussian noise whose peak a Poisson model's range holds gets that
    model as it is, read noise and all: with gray-poisson trained 30 minutes it beat the transform and the
    white-noise model at every peak 5-40, sigma 0-60 on calibration images, or came within 0.02 dB of the
    best (BENCHMARKS.md). A colour photo: only the weak-light model, on its planes (+1.09 dB at peak 2)."""
    from noise2x import pretrained
    from noise2x.classical import anscombe, inverse_anscombe
    from noise2x.noise import parse_noise, protocol_noisy
    from noise2x.pretrained import model_path

    spec = "poisson_gaussian:peak=20,sigma=10"
    # the route it replaced: the generalised Anscombe transform and the white-noise model (as the package)
    gain = pretrained._stabilised_gain(255 / 20, 10.0, 0.0, model_path("gray-gaussian"))
    after = Denoiser.load(pretrained._narrow_or(model_path("gray-gaussian"), gain))
    gains = []
    for clean, noisy in bsd68_crops(spec):
        info: dict = {}
        out = api.denoise(noisy, noise=spec, info=info)
        assert info["method"] == "model gray-poisson" and "transform" not in info
        assert info["auto"].startswith(f"{spec} given: its peak in a Poisson model's range (shot noise ")
        np.testing.assert_allclose(out, Denoiser.load(model_path("gray-poisson")).denoise(noisy), atol=1e-3)
        gat = inverse_anscombe(after.denoise(anscombe(noisy, alpha=255 / 20, sigma=10) * gain) / gain,
                               alpha=255 / 20, sigma=10)
        gains.append(psnr_8bit(clean, np.clip(out, 0, 255)) - psnr_8bit(clean, np.clip(gat, 0, 255)))
    # a weak-light peak: the narrow model; colour photos and peaks outside every range: as before
    gray = protocol_noisy(read_image(sorted(list_images(data_dir("bsd68")))[0])[:96, :96], spec, index=0)
    weak = pretrained.choose(gray, noise=parse_noise("poisson_gaussian:peak=5,sigma=5"))
    assert weak.model.stem == "gray-poisson-low"
    assert "gat_alpha" in pretrained.choose(gray, noise=parse_noise("poisson_gaussian:peak=80,sigma=5")).facts
    rgb = protocol_noisy(read_image(sorted(list_images(data_dir("cbsd68")))[0])[:96, :96], spec, index=0)
    assert "gat_alpha" in pretrained.choose(rgb, noise=parse_noise(spec)).facts
    assert np.mean(gains) > 0.1, gains
    # a colour photo at a few photons: the weak-light model on its planes (at twice the peak there), as it is
    photo = read_image(sorted(list_images(data_dir("cbsd68")))[0])[:128, :128]
    few = protocol_noisy(photo, "poisson_gaussian:peak=2,sigma=3", index=0)
    info = {}
    out = api.denoise(few, noise="poisson_gaussian:peak=2,sigma=3", info=info)
    assert info["method"] == "model gray-poisson-low" and "transform" not in info, info
    assert "planes carry noise as Poisson noise of peak 4" in info["auto"]
    np.testing.assert_allclose(out, Denoiser.load(model_path("gray-poisson-low")).denoise(few), atol=1e-3)
    assert "gat_alpha" in pretrained.choose(few, noise=parse_noise("poisson_gaussian:peak=8,sigma=3")).facts


def test_declared_poisson_gaussian_noise_mostly_read_noise_goes_to_the_model_as_it_is():
    """Where a declared Poisson-Gaussian noise is mostly signal-independent at the image's mean level, the
    white-noise model (blind to the level) gets the image without the transform, which cost up to 2.8 dB
    there, scaled down where that level is beyond its range; the shot fraction is read in the image's own
    units (16-bit too)."""
    from noise2x import pretrained
    from noise2x.noise import parse_noise, protocol_noisy
    from noise2x.pretrained import model_path

    spec = "poisson_gaussian:peak=80,sigma=30"
    clean = read_image(sorted(list_images(data_dir("cbsd68")))[1])[:128, :128].mean(axis=2)
    noisy = protocol_noisy(clean, spec, index=0)
    info: dict = {}
    out = api.denoise(noisy, noise=spec, info=info)
    assert info["method"] == "model gray-gaussian" and "transform" not in info
    assert info["auto"].startswith(f"{spec} given: mostly signal-independent at the image's mean level")
    np.testing.assert_allclose(out, Denoiser.load(model_path("gray-gaussian")).denoise(noisy), atol=1e-3)
    shot = 255 / 80 * noisy.mean()
    assert info["estimated_shot_fraction"] == pytest.approx(shot / (shot + 900), abs=1e-3)
    assert info["estimated_shot_fraction"] < 0.8
    # the same reading in 16-bit units, where the image gets an offset and scale of its own
    image16 = noisy * 257 + 1000
    choice = pretrained.choose(image16, noise=parse_noise(f"poisson_gaussian:peak=80,sigma={30 * 257},data_range=65535"))
    assert choice.offset > 0 and "gat_alpha" not in choice.facts
    shot16 = 65535 / 80 * image16.mean()
    assert choice.facts["shot_fraction"] == pytest.approx(shot16 / (shot16 + (30 * 257) ** 2), abs=1e-3)
    # mostly shot noise, the peak outside the Poisson models' ranges: the transform, as before
    choice = pretrained.choose(noisy, noise=parse_noise("poisson_gaussian:peak=80,sigma=5"))
    assert "gat_alpha" in choice.facts and choice.facts["shot_fraction"] >= 0.8
    # a level beyond the model's range as it is (here about 63), the peak outside the Poisson models' ranges: the
    # white-noise route too, the image scaled down to bring that level to the top of the range (the transform,
    # which it took before, lost 0.85 dB to it at this noise on the calibration images)
    strong = "poisson_gaussian:peak=80,sigma=60"
    noisy = protocol_noisy(clean, strong, index=0)
    choice = pretrained.choose(noisy, noise=parse_noise(strong))
    level = np.sqrt(255 / 80 * noisy.mean() + 3600)
    assert "gat_alpha" not in choice.facts and choice.facts["shot_fraction"] < 0.8 and choice.model.stem == "gray-gaussian"
    assert choice.scale == pytest.approx(50 / level, rel=1e-3), choice.facts
    out = api.denoise(noisy, noise=strong)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(pretrained, "DECLARED_SHOT_DOMINATES", 0.0)  # the transform, as before
        assert "gat_alpha" in pretrained.choose(noisy, noise=parse_noise(strong)).facts
        transformed = api.denoise(noisy, noise=strong)
    assert psnr_8bit(clean, out) > psnr_8bit(clean, transformed) + 0.2, (psnr_8bit(clean, out), psnr_8bit(clean, transformed))


@pytest.mark.parametrize("channels", [1, 3])
def test_poisson_noise_weaker_than_the_poisson_models_range_is_stabilised(channels):
    """Poisson noise weaker than the Poisson model was trained on (peak above its 5..50, with slack) went to
    ZS-N2N; it goes through the Anscombe transform to the white-noise model, estimated or declared."""
    from noise2x import pretrained
    from noise2x.classical import anscombe, inverse_anscombe
    from noise2x.noise import protocol_noisy
    from noise2x.pretrained import model_path

    spec = "poisson:peak=150"
    clean = read_image(sorted(list_images(data_dir("cbsd68")))[1])[:128, :128]
    clean = clean if channels == 3 else clean.mean(axis=2)
    noisy = protocol_noisy(clean, spec, index=0)
    choice = pretrained.choose(noisy)
    assert choice.model.stem == "gray-gaussian" and 100 < 255 / choice.facts["gat_alpha"] < 225, choice.facts
    # estimated: the read noise the estimate reads goes into the transform too (a little here, Poisson noise alone)
    read = choice.facts["gat_sigma"]
    assert read == pytest.approx(np.sqrt(max(choice.facts["poisson_b"], 0.0))) and read < 8, choice.facts
    for given, alpha, sig in ((None, choice.facts["gat_alpha"], read), (spec, 255 / 150, 0.0)):
        info: dict = {}
        out = api.denoise(noisy, noise=given, info=info)
        assert info["method"] == "model gray-gaussian-low", info  # the stabilised noise, about 10: the weak-noise model
        which = "Anscombe" if sig == 0 else "generalised Anscombe"
        assert info["transform"] == (f"anscombe (peak {'given' if given else 'estimated'})" if sig == 0
                                     else "generalised anscombe (peak and read noise estimated)")
        assert f"above the range 5..50 of the shipped model 'gray-poisson': variance-stabilised ({which})" in info["auto"]
        gain = 255 / float(anscombe(np.array(255.0), alpha=alpha, sigma=sig))
        by_hand = inverse_anscombe(Denoiser.load(model_path("gray-gaussian-low")).denoise(
            anscombe(noisy, alpha=alpha, sigma=sig) * gain) / gain, alpha=alpha, sigma=sig)
        np.testing.assert_allclose(out, by_hand, atol=1e-3)
        assert psnr_8bit(clean, out) > psnr_8bit(clean, noisy) + 6


def test_declared_poisson_peak_on_a_16bit_colour_image_uses_the_specs_full_scale():
    """A declared peak refers to the spec's data_range and the image's own values: on a 16-bit RGB image the
    Anscombe transform gets the gain and offset in the model's units (it took 255/peak before)."""
    from noise2x import pretrained
    from noise2x.noise import parse_noise, protocol_noisy

    clean = read_image(sorted(list_images(data_dir("cbsd68")))[1])[:96, :96]
    noisy = protocol_noisy(clean, "poisson:peak=30", index=0) * 257 + 1000
    spec = parse_noise("poisson:peak=30,data_range=65535")
    choice = pretrained.choose(noisy, noise=spec)
    vst = pretrained.stabilised(choice, 3)
    assert choice.offset > 0 and vst is not None
    assert vst.alpha == pytest.approx(65535 / 30 * choice.scale) and vst.mu == pytest.approx(-choice.offset * choice.scale)
    # in 8-bit units nothing changes: gain 255 / peak, no offset
    vst8 = pretrained.stabilised(pretrained.choose(clean, noise=parse_noise("poisson:peak=30")), 3)
    assert vst8.alpha == pytest.approx(255 / 30) and vst8.mu == 0


def test_the_api_takes_any_channel_count_channel_by_channel():
    """README: the Python API takes other channel counts with colour='channels' (two stains, five bands); it
    raised "must be (H,W) gray or (H,W,3) RGB". Each channel comes out as that channel denoised alone."""
    import noise2x

    rng = np.random.default_rng(0)
    planes = [rng.normal(80.0 + 30 * c, 20.0, (40, 50)) for c in range(5)]
    for count in (2, 4, 5):
        stack = np.dstack(planes[:count])
        for how in ({"model": "gray-gaussian"}, {"method": "nlm", "noise": "gaussian:sigma=20"}):
            out = noise2x.denoise(stack, colour="channels", **how)
            assert out.shape == stack.shape
            alone = noise2x.denoise(planes[count - 1], **how)
            np.testing.assert_allclose(out[..., -1], alone, rtol=1e-6, atol=1e-6)


def test_a_direct_method_takes_three_channels_alone_when_told_and_says_luma_does_not_apply(rgb_image):
    # colour='channels' was dropped for direct methods: three stains went through CBM3D's colour transform (a QA pass)
    said = []
    out = api.denoise(rgb_image, method="nlm", noise="gaussian:sigma=20", colour="channels", progress=said.append)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], api.denoise(rgb_image[..., c], method="nlm",
                                                                noise="gaussian:sigma=20"))
    whole = api.denoise(rgb_image, method="nlm", noise="gaussian:sigma=20")
    assert np.abs(whole - out).max() > 1  # (patches compared across the channels by default)
    info = {}
    api.denoise(rgb_image, method="nlm", noise="gaussian:sigma=20", colour="channels", info=info)
    from noise2x.cli import _route_summary

    assert "colour" not in info and _route_summary(info, 0).endswith(", each channel alone")  # (not "gray model")
    api.denoise(rgb_image, method="nlm", noise="gaussian:sigma=20", colour="luma", progress=said.append)
    assert said == ["note: colour luma applies to a gray model on an RGB image; method nlm takes the image as it is "
                    "(colour channels: each channel alone)"]


def test_channels_of_unequal_noise_are_said_and_colour_channels_reads_each_alone(tmp_path):
    # Channels at sigma 5, 10 and 30 went as one level (their mean) through the luminance/chrominance planes, the red
    # one 3.7 dB under its noisy input, unsaid; colour='channels' with no method was dropped (a QA pass).
    rng = np.random.default_rng(5)
    base = np.kron(rng.uniform(60, 190, (8, 8, 3)), np.ones((12, 12, 1)))
    noisy = base + rng.normal(0, 1, base.shape) * np.array([5.0, 10.0, 30.0])
    said, info = [], {}
    api.denoise(noisy, info=info, progress=said.append)
    lo, mid, hi = info["estimated_sigma_channels"]
    assert 4 < lo < 6.5 and 8.5 < mid < 12 and 26 < hi < 34
    assert info["estimated_sigma"] == pytest.approx(np.mean([lo, mid, hi]), abs=2e-3)
    note = [line for line in said if "channels' noise differs" in line]
    assert len(note) == 1 and "(sigma read R " in note[0] and "colour='channels' (--colour channels)" in note[0]
    from noise2x.errors import NoteWarning

    with pytest.warns(NoteWarning, match=r"^the channels' noise differs"):  # (with no progress: lost, a QA pass)
        api.denoise(noisy)
    from noise2x.cli import image_facts
    from noise2x.io import write_image

    write_image(tmp_path / "uneq.tif", noisy, kind="float32")  # noise2x info says it too
    assert any(line.startswith("the channels' noise differs (sigma read R ") for line in
               image_facts(tmp_path / "uneq.tif"))
    said, info = [], {}
    out = api.denoise(noisy, info=info, colour="channels", progress=said.append)
    for c in range(3):  # (to float32 rounding: the idle cores, the threads a model runs on, vary with the load)
        np.testing.assert_allclose(out[..., c], api.denoise(noisy[..., c]), rtol=0, atol=1e-3)
    assert not any("differs" in line for line in said) and len(said) == 3  # a choice for each channel, said as its
    assert [line.split(": using ")[0] for line in said] == ["channel 1", "channel 2", "channel 3"]
    assert len(info["channel_methods"]) == 3 and info["colour"] == "channels"
    assert info["method"] == " / ".join(info["channel_methods"]) if len(set(info["channel_methods"])) > 1 else True
    from noise2x.cli import _route_summary

    info = {}  # a direct method reads each channel's sigma: said as their range
    api.denoise(noisy, method="nlm", colour="channels", info=info)
    low, high = min(info["channel_sigmas"]), max(info["channel_sigmas"])
    assert 4 < low < 6.5 and 26 < high < 34
    assert f"sigma {low:.2f} to {high:.2f} (estimated, per channel), each channel alone" in _route_summary(info, 0)
    said = []
    api.denoise(base + rng.normal(0, 15, base.shape), progress=said.append)  # equal levels: no note
    assert not any("differs" in line for line in said)
    info = {}  # weak noise, levels apart by less than 3: no note either
    api.denoise(base + rng.normal(0, 1, base.shape) * np.array([1.0, 1.0, 2.6]), info=info, progress=said.append)
    assert max(info["estimated_sigma_channels"]) > 2 * min(info["estimated_sigma_channels"])
    assert not any("differs" in line for line in said)


def test_an_image_of_one_channel_comes_back_in_its_shape():
    """(H,W,1) came back (H,W) from noise2x.denoise (a model's own denoise kept (H,W,1)), so psnr(x, out)
    refused the pair."""
    import noise2x

    x = np.random.default_rng(0).normal(128.0, 25.0, (40, 44, 1))
    for how in ({"model": "gray-gaussian"}, {"method": "nlm", "noise": "gaussian:sigma=25"}, {}):
        out = noise2x.denoise(x, **how)
        assert out.shape == x.shape
        np.testing.assert_array_equal(out[..., 0], noise2x.denoise(x[..., 0], **how))


def test_a_gray_image_stored_as_rgb_is_denoised_as_gray_with_no_false_colour():
    # Its noise is the same in the three channels: the luminance/chrominance route read a third of its variance
    # and gave pixels up to 16 levels apart between channels (a QA pass); BM3D took it as gray already.
    rng = np.random.default_rng(3)
    gray = np.clip(np.kron(rng.uniform(40, 210, (6, 6)), np.ones((12, 12))) + rng.normal(0, 20, (72, 72)), 0, 255)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    den = Denoiser(gray_unet(), get_method("supervised"), {"method": "supervised"})
    for out, alone in ((den.denoise(rgb), den.denoise(gray)),
                       (api.denoise(rgb, model=den), api.denoise(gray, model=den)),
                       (api.denoise(rgb, method="nlm", noise="gaussian:sigma=20"),
                        api.denoise(gray, method="nlm", noise="gaussian:sigma=20"))):
        assert out.shape == rgb.shape
        for c in range(3):
            assert np.array_equal(out[..., c], alone)
    info, said = {}, []
    out = api.denoise(rgb, info=info, progress=said.append)  # the noise read as gray's: its full level
    assert info["gray_as_rgb"] is True and info["estimated_sigma"] == pytest.approx(20, abs=1.5)
    assert any("three channels are equal" in line for line in said)
    alone_info = {}
    assert np.array_equal(out[..., 1], api.denoise(gray, info=alone_info))
    assert info["method"] == alone_info["method"]
    filled, opaque = rgb.copy(), np.ones(rgb.shape[:2], dtype=bool)  # a coloured fill under transparent pixels
    filled[:10, :10], opaque[:10, :10] = (255.0, 0.0, 128.0), False
    info = {}
    out = api.denoise(filled, model=den, mask=opaque, info=info)
    assert info["gray_as_rgb"] is True and np.array_equal(out[..., 0], out[..., 2])
    said, info = [], {}  # colour='channels' as well: once, as gray (it was done three times: a re-check)
    api.denoise(rgb, method="nlm", noise="gaussian:sigma=20", colour="channels", info=info, progress=said.append)
    assert info["gray_as_rgb"] is True and not any(line.startswith("channel ") for line in said)
    route = api.no_option_route(rgb)  # (what noise2x info says denoise does)
    assert route[3] == api.no_option_route(gray)[3] and route[4].endswith("denoised as gray, its result in all three")
    # a colour image whose channels differ anywhere takes the colour route
    tinted = rgb.copy()
    tinted[0, 0, 2] += 1
    said.clear()
    api.denoise(tinted, model=den, progress=said.append)
    assert not any("three channels are equal" in line for line in said)
