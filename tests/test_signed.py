"""Signed data, a seismic section's (amplitudes about 0, decaying with time; dead traces of exact 0; noise whose
level changes down the section): never read as shot noise, its noise level evened where it changes, dead traces
and small nodata holes said or kept (a geophysics QA pass)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from noise2x import api, estimate
from noise2x.cli import main
from noise2x.errors import InputError
from noise2x.io import write_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import seismic_check  # noqa: E402  (its synthetic sections)


def section(nt: int = 128, nx: int = 256, seed: int = 0) -> np.ndarray:
    """A clean section, time down the rows: dipping reflectors (a Ricker wavelet), decaying to 5% at the bottom."""
    return seismic_check.section(nt, nx, seed)


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a ** 2)))


@pytest.mark.parametrize("where", ["top", "bottom"])
def test_noise_whose_level_changes_down_a_section_is_evened_not_read_as_shot_noise(where, monkeypatch):
    """Noise 10 times louder at the top (near offsets) than at the bottom read as shot noise of peak 111 and went
    to the Anscombe route; an automatic gain control's noise, 14 times louder at the bottom, was left there whole
    by BM3D at the top's sigma. Each row evened, then the no-option route: both ends denoised."""
    clean = section(seed=3)
    t = np.arange(clean.shape[0])[:, None] / clean.shape[0]
    level = 2000.0 * (1 + 9 * np.exp(-6 * t)) if where == "top" else 700.0 * np.exp(2.6 * t)
    noisy = clean + level * np.random.default_rng(3).normal(size=clean.shape)
    choice = api.no_option_route(noisy)[0]  # (the top's: a variance line of slope 3.2, 8 times its standard error,
    assert choice.facts.get("signed") and "peak" not in choice.facts, choice.facts  # read as peak 79 unsigned)
    info: dict = {}
    said: list[str] = []
    out = api.denoise(noisy, info=info, progress=said.append)
    assert info["transform"].startswith("noise level evened along the rows (changes "), info
    assert any(line.startswith("evening the noise level: signed data whose noise level changes") for line in said)
    top, bottom = slice(0, 32), slice(96, 128)
    loud, quiet = (top, bottom) if where == "top" else (bottom, top)
    assert _rms((out - clean)[loud]) < 0.45 * _rms((noisy - clean)[loud])
    assert _rms((out - clean)[quiet]) < 0.6 * _rms((noisy - clean)[quiet])
    monkeypatch.setattr(api, "BAND_VARY", float("inf"))  # (one level for the whole section, as before)
    plain = api.denoise(noisy)
    # (the loud top: the blind white-noise model the plain route takes copes, if less well; the loud bottom: BM3D at
    # the quiet top's sigma left it)
    assert _rms((out - clean)[loud]) < (0.96 if where == "top" else 0.5) * _rms((plain - clean)[loud])


def test_evened_with_its_dead_traces_kept_and_on_a_short_section():
    """A re-check: --blank-value 0, as the dead-trace note says, undid the evening (the blank pixels a mask); a
    section of 40 rows read its change in 4 bands but had none left for the 8 of its profile, unsaid."""
    clean = section()
    t = np.arange(clean.shape[0])[:, None] / clean.shape[0]
    noisy = clean + 1000.0 * (1 + 9 * np.exp(-6 * t)) * np.random.default_rng(8).normal(size=clean.shape)
    dead = [5, 6, 128, 250]
    noisy[:, dead] = 0.0
    info: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = api.denoise(noisy, blank_value=0, info=info)
    assert info["transform"].startswith("noise level evened along the rows") and (out[:, dead] == 0).all()
    data = np.ones(clean.shape, dtype=bool)
    data[:, dead] = False
    assert _rms((out - clean)[:32][data[:32]]) < 0.45 * _rms((noisy - clean)[:32][data[:32]])
    short = section(nt=40, nx=600, seed=1)
    t = np.arange(40)[:, None] / 40
    noisy = short + 900.0 * (1 + 9 * np.exp(-6 * t)) * np.random.default_rng(9).normal(size=short.shape)
    info = {}
    out = api.denoise(noisy, info=info)
    assert info["transform"].startswith("noise level evened along the rows")
    assert _rms(out - short) < 0.5 * _rms(noisy - short)


def test_a_photo_mapped_to_minus_one_one_keeps_its_shot_noise_reading():
    """Signed but not centred on its 0: a photo mapped to [-1, 1] under shot noise kept the Poisson route (it went
    to the white-noise routes, 0.4 to 1.6 dB lower on 6 of 22 BSD68 crops, in a re-check)."""
    from conftest import data_dir
    from noise2x.io import list_images, read_image

    clean = read_image(sorted(list_images(data_dir("bsd68")))[0])[:192, :192] / 255.0
    rng = np.random.default_rng(0)
    noisy = rng.poisson(clean * 30) / 30 + rng.normal(0, 0.02, clean.shape)
    for lo in (0.0, -1.0):
        choice = api.no_option_route(noisy * (1 - lo) + lo)[0]
        assert "peak" in choice.facts and not choice.facts.get("signed"), (lo, choice.facts)


def test_a_section_with_even_noise_or_unsigned_data_is_not_evened():
    clean = section()
    noisy = clean + 1000.0 * np.random.default_rng(2).normal(size=clean.shape)
    info: dict = {}
    out = api.denoise(noisy, info=info)
    assert "transform" not in info and info["estimated_signed"] is True
    assert _rms(out - clean) < 0.5 * _rms(noisy - clean)
    assert abs(float(np.mean(out))) < 100 and out.min() < -1e4  # (its sign and zero mean kept)
    # an image of counts with its background subtracted: values below 0 of the noise's size only, not signed
    rng = np.random.default_rng(3)
    counts = rng.poisson(np.where(np.hypot(*np.mgrid[-64:64, -64:64]) < 30, 200.0, 20.0)) - 20.0
    assert not api.no_option_route(counts)[0].facts.get("signed")


def test_dead_traces_are_said_and_kept_with_their_value():
    clean = section(nt=160, nx=128)
    noisy = clean + 1000.0 * np.random.default_rng(4).normal(size=clean.shape)
    noisy[:, [5, 6, 64, 125]] = 0.0
    note = api.zero_area_note(noisy)
    assert note is not None and note.startswith("note: 4 columns hold exactly 0 from end to end (dead traces?)"), note
    assert "--blank-value 0 (blank_value=0) keeps them as they are" in note
    scaled = np.round(noisy / np.abs(noisy).max() * 32767 + 32768)  # (a 16-bit PNG's, 32768 its 0)
    note = api.zero_area_note(scaled)
    assert note is not None and "4 columns hold exactly 32768 from end to end" in note, note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = api.denoise(noisy, blank_value=0)
    assert (out[:, [5, 6, 64, 125]] == 0).all()
    assert api.zero_area_note(_photo()) is None  # a photo's saturated or flat border: no note
    colour = np.dstack([_photo()] * 3)
    colour[..., 0] += np.random.default_rng(10).normal(0, 3, colour.shape[:2])
    colour[:, 40] = (150.0, 60.0, 60.0)  # (a line of one colour: no value --blank-value could take)
    assert api.zero_area_note(colour) is None
    colour[:, 41] = 90.0
    assert "1 column holds exactly 90 from end to end" in api.zero_area_note(colour)


def _photo() -> np.ndarray:
    rng = np.random.default_rng(5)
    photo = ndimage.gaussian_filter(rng.normal(size=(96, 96)), 3) * 400 + 128 + rng.normal(0, 5, (96, 96))
    photo[:, -10:] = 255.0  # (saturated at its right edge)
    photo[:, :3] = 90.0  # (a flat band at its left edge)
    return np.clip(photo, 0, 255)


def test_a_small_nodata_hole_far_from_every_value_is_a_fill():
    grid = ndimage.gaussian_filter(np.random.default_rng(6).normal(size=(200, 300)), 8) * 400
    grid += np.random.default_rng(7).normal(0, 0.8, grid.shape)
    grid[50:55, 60:68] = -99999.0  # (40 pixels, 0.07%)
    assert estimate.fill_value(grid) == (-99999.0, 40, pytest.approx(float(np.min(grid[grid > -99999]))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = api.denoise(grid)
    assert (out[50:55, 60:68] == -99999.0).all()
    photo16 = np.round(_photo() * 200 + 5000)  # 16-bit data with 17 dead pixels at 0 (under 0.2%): not 10 times
    photo16.reshape(-1)[::461][:17] = 0.0  # its spread away
    assert estimate.fill_value(photo16) is None
    grid[50:55, 60:68] = grid[0, 0]
    grid[50:52, 60:67] = -99999.0  # (14 pixels: too few)
    assert estimate.fill_value(grid) is None


def test_a_constant_image_comes_back_as_it_is(tmp_path, capsys):
    said: list[str] = []
    info: dict = {}
    out = api.denoise(np.zeros((64, 96)), info=info, progress=said.append)
    assert (out == 0).all() and info["method"] == "none" and said == [
        "note: every pixel holds 0 (a dead frame?): nothing to denoise; it comes back as it is"]
    out = api.denoise(np.full((16, 16, 3), (4.0, 5.0, 6.0)), info=info, progress=said.append)  # (a colour's)
    assert (out == (4, 5, 6)).all() and said[-1].startswith("note: every pixel holds (4, 5, 6) (a dead frame?)")
    blank = np.full((32, 32), 7.0)
    blank[:5] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = api.denoise(blank, blanks=True, info=info)  # (its data, blanks aside)
    assert info["method"] == "none" and (out[5:] == 7).all() and np.isnan(out[:5]).all()
    info = {}  # (a fill of 0 beside it)
    api.denoise(np.where(np.isnan(blank), 0.0, blank), mask=~np.isnan(blank), info=info, progress=said.append)
    assert info["method"] == "none"
    write_image(tmp_path / "z.tif", np.full((64, 96), -3.5, dtype=np.float32))
    assert main(["info", str(tmp_path / "z.tif")]) == 0
    assert ("noise2x denoise with no options: nothing: every pixel holds -3.5 (a dead frame?), it comes back as it "
            "is") in capsys.readouterr().out
    write_image(tmp_path / "c.png", np.full((20, 30, 3), (4, 5, 6), dtype=np.uint8))  # (a colour's, as denoise)
    assert main(["info", str(tmp_path / "c.png")]) == 0
    assert "with no options: nothing: every pixel holds (4, 5, 6) (a dead frame?)" in capsys.readouterr().out


def test_nan_and_inf_are_counted_apart(tmp_path):
    from noise2x.io import _check_finite

    a = np.zeros((8, 8), dtype=np.float32)
    a[1, 1], a[2, 2], a[3, 3] = np.nan, np.inf, -np.inf
    with pytest.raises(InputError, match=r"has 1 NaN and 2 inf values \(of 64\); if NaN marks blank pixels .*; only "
                                         r"NaN marks a blank pixel: set the inf to NaN where they hold no data$"):
        _check_finite(a, "x", hint="; if NaN marks blank pixels (no data), give --blanks")
    with pytest.raises(InputError, match=r"has 2 inf values \(of 36\); inf marks no blank pixel: set them to NaN where "
                                         r"they hold no data$"):
        _check_finite(a[2:, 2:], "x", hint="; if NaN marks blank pixels (no data), give --blanks")
    with pytest.raises(InputError, match=r"has 2 NaN/inf values \(of 36\)$"):  # (no hint: an array's)
        _check_finite(a[2:, 2:], "x")
