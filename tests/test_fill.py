"""A fill value read from an image's values alone: a depth camera's 0 dropouts, an elevation model's undeclared
-9999, kept blank (not smeared into depth values a few millimetres from the lens); ``--blank-value none`` reads
none."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tifffile
from PIL import Image

from noise2x import api, estimate
from noise2x.cli import main
from noise2x.errors import NoteWarning, UsageError
from noise2x.io import write_image


def _depth(seed: int = 0, n: int = 128, holes: float = 0.03):
    """A depth map in mm: a slanted floor from 600 to 2400 mm and a box at 900 mm, noise growing with depth
    (sigma 2e-6 z^2: 0.7 to 11.5 mm), ``holes`` of its pixels dropped out; (clean, noisy float, hole mask)."""
    rng = np.random.default_rng(seed)
    y = np.mgrid[:n, :n][0]
    clean = 600.0 + 1800.0 * y / (n - 1)
    clean[20:60, 30:80] = 900.0
    noisy = clean + rng.normal(size=clean.shape) * 2e-6 * clean ** 2
    return clean, noisy, rng.random(clean.shape) < holes


def test_fill_value_reads_dropouts_and_nodata_and_not_photos_counts_or_impulses():
    _, noisy, holes = _depth()
    depth = np.round(noisy).astype(np.uint16)
    depth[holes] = 0
    value, count, nearest = estimate.fill_value(depth)
    assert (value, count) == (0.0, int(holes.sum())) and nearest == depth[~holes].min()
    dem = noisy.astype(np.float32)
    dem[holes] = -9999
    dem[:3] = np.nan  # (NaN left out)
    assert estimate.fill_value(dem)[0] == -9999
    assert estimate.fill_value(np.dstack([depth] * 3))[0] == 0  # in every channel
    rng = np.random.default_rng(1)
    texture = np.clip(128 + 40 * np.sin(np.arange(128) / 5)[:, None] + rng.normal(0, 10, (128, 128)), 0, 255)
    photo = np.round(texture)
    assert estimate.fill_value(photo) is None
    clipped = np.clip(photo - 100, 0, 255)  # black clipped: 0 next to 1, 2, ...
    assert (clipped == 0).mean() > 0.05 and estimate.fill_value(clipped) is None
    counts = rng.poisson(texture / 8).astype(float)  # photon counts: 0 is one step below 1
    assert estimate.fill_value(counts) is None
    few = (np.arange(128 * 128) % 20).reshape(128, 128) * 8.5  # 0 one step below the rest (5% of their spread of
    few[0, :10] = 170.0  # 20 steps, a few pixels at the top): a step, not a gap
    assert estimate.fill_value(few) is None
    impulses = photo.copy()
    impulses[rng.random(photo.shape) < 0.03] = 0
    assert estimate.fill_value(impulses)[0] == 0  # pepper alone: read as dead pixels (no data)
    impulses[rng.random(photo.shape) < 0.03] = 255
    impulses[photo < 60] = 60  # (no value near either end)
    assert estimate.fill_value(impulses) is None  # salt and pepper: impulse noise, not a fill
    assert estimate.fill_value(np.where(photo > 128, 255.0, 0.0)) is None  # two values: no data's spread
    sparse = depth.astype(float)
    sparse[rng.random(depth.shape) < 0.0015] = 0
    assert estimate.fill_value(np.where(holes, depth[~holes].min(), sparse)) is None  # under 0.2% of pixels


def test_denoise_keeps_dropouts_blank_says_so_and_none_reads_them_as_data():
    clean, noisy, holes = _depth()
    depth = np.round(noisy).astype(np.uint16)
    depth[holes] = 0
    info: dict = {}
    with pytest.warns(NoteWarning, match=r"hold 0, far below every other value .*--blank-value none"):
        out = api.denoise(depth, method="bm3d", noise="gaussian:sigma=6", info=info)
    assert info["fill_value"] == 0 and info["blank_pixels"] == holes.sum()
    assert (out[holes] == 0).all()
    data = ~holes
    assert np.sqrt(np.mean((out - clean)[data] ** 2)) < 0.8 * np.sqrt(np.mean((depth - clean)[data] ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no note
        read = api.denoise(depth, method="bm3d", noise="gaussian:sigma=6", blank_value="none")
    assert (read[holes] != 0).mean() > 0.5  # the dropouts smoothed into depth values, as asked
    given = api.denoise(depth, method="bm3d", noise="gaussian:sigma=6", blank_value=0)
    np.testing.assert_allclose(given, out, atol=1e-3)  # the same as the value given
    with pytest.raises(UsageError, match="blank_value must be a number, None or 'none'"):
        api.denoise(depth, blank_value="nan")


def test_cli_denoise_and_info_read_a_depth_png_s_dropouts_and_an_undeclared_float_nodata(tmp_path, capsys):
    clean, noisy, holes = _depth()
    depth = np.round(noisy).astype(np.uint16)
    depth[holes] = 0
    write_image(tmp_path / "depth.png", depth)
    assert main(["info", str(tmp_path / "depth.png")]) == 0
    out = capsys.readouterr().out
    assert f"note: {holes.sum()} pixels" in out and "hold 0, far below every other value" in out
    assert f"blank (the value 0, read as a fill) pixels: {holes.sum()} of" in out
    assert main(["denoise", str(tmp_path / "depth.png"), "--out", str(tmp_path / "o.png"), "--method", "nlm",
                 "--noise", "gaussian:sigma=6"]) == 0
    err = capsys.readouterr().err
    assert "read as blank (no data: depth dropouts, a nodata fill)" in err and "blank_value=" not in err
    assert f"{holes.sum()} blank pixels kept blank" in err
    got = np.asarray(Image.open(tmp_path / "o.png"))
    assert got.dtype == np.uint16 and (got[holes] == 0).all() and (got[~holes] > 0).all()
    assert main(["denoise", str(tmp_path / "depth.png"), "--out", str(tmp_path / "n.png"), "--method", "nlm",
                 "--noise", "gaussian:sigma=6", "--blank-value", "none"]) == 0
    err = capsys.readouterr().err
    assert "read as blank" not in err and "blank pixels kept blank" not in err
    assert main(["info", str(tmp_path / "depth.png"), "--blank-value", "None"]) == 0
    assert "read as a fill" not in capsys.readouterr().out
    fill = np.float32(-3.4028234663852886e+38)  # GDAL's float nodata, undeclared, given in exponent form
    dem = noisy.astype(np.float32)
    dem[holes] = fill
    tifffile.imwrite(tmp_path / "dem.tif", dem)
    for option in (["--blank-value", "-3.4028234663852886e+38"], []):
        assert main(["denoise", str(tmp_path / "dem.tif"), "--out", str(tmp_path / "dem_o.tif"), "--method", "nlm",
                     "--noise", "gaussian:sigma=6", *option]) == 0
        err = capsys.readouterr().err
        assert ("--blank-value -3.4028234663852886e+38 does" in err) == (not option)
        got = tifffile.imread(tmp_path / "dem_o.tif")
        assert (got[holes] == fill).all() and np.abs(got[~holes] - clean[~holes]).max() < 100
