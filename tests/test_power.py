"""Noise whose sigma grows with the level as k * level**q, a depth camera's (time-of-flight, stereo: q about 2):
read (estimate.noise_power), and with no options denoised after the power transform that makes it even."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage

from noise2x import api, estimate
from noise2x.cli import main
from noise2x.io import write_image


def _scene(n: int = 160) -> np.ndarray:
    """A depth map in mm: a floor slanted from 600 to 3600 mm, a box at 900 mm."""
    clean = 600.0 + 3000.0 * np.mgrid[:n, :n][0] / (n - 1)
    clean[20:70, 30:90] = 900.0
    return clean


def _noisy(clean: np.ndarray, q: float, k: float, seed: int = 0) -> np.ndarray:
    return clean + np.random.default_rng(seed).normal(size=clean.shape) * k * clean ** q


def test_noise_power_reads_the_law_of_depth_shot_speckle_and_white_noise():
    clean = _scene()
    for q, k in ((2.0, 1.5e-6), (1.0, 0.004), (0.5, 0.25), (0.0, 6.0)):
        law = estimate.noise_power(_noisy(clean, q, k))
        assert law.q == pytest.approx(q, abs=0.15) and law.stderr < 0.15, (q, law)
        assert law.k * 2000.0 ** law.q == pytest.approx(k * 2000.0 ** q, rel=0.2)  # sigma at 2 m
        assert (law.linear_misfit > 4) == (q == 2.0), law  # a variance linear in the level fits all but depth's
        assert (api.power_law_read(_noisy(clean, q, k)) is not None) == (q == 2.0)
    # a camera's shot noise above its black level (100 DN, read noise 1 DN), on a dark scene: steep in log terms
    rng = np.random.default_rng(3)  # near the black level (q read 1.9), yet a variance linear in the level: not
    ramp = np.mgrid[:256, :256][1] / 255.0  # this route
    counts = 100 + rng.poisson(ramp ** 3 * 300) + rng.normal(0, 1, ramp.shape)
    law = estimate.noise_power(counts)
    assert law.q > 1.5 and law.stderr < 0.25 and law.linear_misfit < 0.5 and api.power_law_read(counts) is None
    assert estimate.noise_power(_noisy(clean, 2.0, 1.5e-6) - 1000.0) is None  # levels at or below 0
    assert estimate.noise_power(np.full((64, 64), 900.0) + np.random.default_rng(0).normal(size=(64, 64))) is None
    assert estimate.noise_power(clean[:10, :10]) is None  # too small
    assert estimate.noise_power(np.dstack([clean] * 3)) is None  # gray only



def test_texture_whose_contrast_grows_with_the_level_is_not_read_as_such_a_noise():
    """BSD68 test008 under white noise of sigma 0.3: its texture, whose contrast grows with the level, reads as
    q 1.9; the flattest tenth of each level's windows reads far less than their flatter half, as noise would not."""
    from conftest import data_dir
    from noise2x.io import list_images, read_image
    from noise2x.noise import protocol_noisy

    clean = read_image(sorted(list_images(data_dir("bsd68")))[7])
    noisy = protocol_noisy(clean, "gaussian:sigma=0.3", index=7)
    law = estimate.noise_power(noisy)
    assert law.q > 1.5 and law.stderr < 0.25 and law.linear_misfit > 2 and law.texture > 1.5, law
    assert api.power_law_read(noisy) is None
    assert estimate.noise_power(np.round(_noisy(_scene(), 2.0, 1.5e-6))).texture < 1.2
    grain = read_image(sorted(list_images(data_dir("train400")))[0].parent / "test_394.png")  # (a clean photo's
    law = estimate.noise_power(grain)  # faint grain: a variance linear in the level fits it 2.8 times worse, not 5)
    assert law.q > 1.5 and law.stderr < 0.12 and law.linear_misfit < 4 and api.power_law_read(grain) is None, law
    # the flatter half of each level's windows gives the noise: photos under white noise of sigma 5 (a level of 20
    # added) read sigma 5 at their median level, their texture not counted as noise
    ratios = []
    for path in sorted(list_images(data_dir("set12")))[:6]:
        photo = read_image(path).astype(np.float64) + 20.0
        photo += np.random.default_rng(0).normal(0.0, 5.0, photo.shape)
        law = estimate.noise_power(photo)
        ratios.append(law.k * float(np.median(photo)) ** law.q / 5.0)
    assert 0.95 < np.mean(ratios) < 1.12 and max(ratios) < 1.17, ratios


def test_a_depth_map_s_noise_is_read_and_removed_at_every_depth_with_no_options():
    clean = _scene()
    noisy = np.round(_noisy(clean, 2.0, 1.5e-6))  # 0.5 mm at 600 mm, 19 mm at 3.6 m
    info: dict = {}
    said: list[str] = []
    out = api.denoise(noisy, info=info, progress=said.append)
    assert info["method"] == "bm3d" and info["transform"].startswith("power transform level^")
    assert info["estimated_power"] == pytest.approx(2.0, abs=0.2)
    assert any(line.startswith("using bm3d: the noise grows with the level") for line in said), said
    far, near = clean > 2600, clean < 1000
    for where in (far, near):
        assert np.sqrt(np.mean((out - clean)[where] ** 2)) < 0.45 * np.sqrt(np.mean((noisy - clean)[where] ** 2))
    sides = (slice(40, 70), [29, 30, 89, 90])  # the box's sides where the floor behind lies 500 to 1000 mm deeper:
    assert np.abs(out - clean)[sides].max() < 60  # no flying pixels between them
    yy, xx = np.mgrid[:160, :160]  # a relief of 12 mm on the floor and the box: kept, as BM3D told the sigma
    relief = clean + 12.0 * np.sin(2 * np.pi * xx / 12) * np.sin(2 * np.pi * yy / 14)  # after the transform keeps it
    noisy = np.round(_noisy(relief, 2.0, 1.5e-6))
    out = api.denoise(noisy)
    assert np.sqrt(np.mean((out - relief) ** 2)) < 0.4 * np.sqrt(np.mean((noisy - relief) ** 2))
    # white noise on a photo-like image: not this route
    rng = np.random.default_rng(1)
    photo = ndimage.gaussian_filter(rng.normal(size=(128, 128)), 3) * 400 + 128 + rng.normal(0, 10, (128, 128))
    info = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api.denoise(photo, info=info)
    assert "estimated_power" not in info and "power" not in str(info.get("transform", ""))


def test_cli_info_and_denoise_say_the_power_route_of_a_depth_png_with_dropouts(tmp_path, capsys):
    clean = _scene()
    noisy = np.round(_noisy(clean, 2.0, 1.5e-6)).astype(np.uint16)
    holes = np.random.default_rng(2).random(clean.shape) < 0.05
    noisy[holes] = 0
    write_image(tmp_path / "d.png", noisy)
    assert main(["info", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    assert "noise2x denoise with no options: bm3d: the noise grows with the level, its sigma about " in out
    assert main(["denoise", str(tmp_path / "d.png"), "--out", str(tmp_path / "o.tif")]) == 0
    err = capsys.readouterr().err
    assert "using bm3d: the noise grows with the level" in err and "power transform level^" in err
    import tifffile

    got = tifffile.imread(tmp_path / "o.tif")
    assert (got[holes] == 0).all()
    data = ~holes
    assert np.sqrt(np.mean((got - clean)[data] ** 2)) < 0.45 * np.sqrt(np.mean((noisy - clean)[data] ** 2))
