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


def rng_normal(shape: tuple[int, ...], seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def test_fill_value_reads_dropouts_and_nodata_and_not_photos_counts_or_impulses():
    _, noisy, holes = _depth()
    depth = np.round(noisy).astype(np.uint16)
    depth[holes] = 0
    value, count, nearest = estimate.fill_value(depth)
    assert (value, count) == (0.0, int(holes.sum())) and nearest == depth[~holes].min()
    planes = np.full(depth.shape, 3000.0)  # a few flat planes in whole mm: the nearest of under 20 values (the 20
    planes[:, :40], planes[60:100, 60:110] = 800.0, 1500.0  # lowest reached into the next plane: a re-check)
    planes = np.round(planes + rng_normal(planes.shape) * 1.5e-6 * planes ** 2)
    planes[holes] = 0
    assert len(np.unique(planes[planes < 1000])) < 20 and estimate.fill_value(planes.astype(np.uint16))[0] == 0
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
    impulses = np.maximum(photo, 60)  # (no value near either end)
    impulses[rng.random(photo.shape) < 0.03] = 0
    assert estimate.fill_value(impulses) is None  # pepper alone on a photo's 0..255: impulse noise, not a fill
    assert estimate.fill_value(impulses * 16)[0] == 0  # ... on 12-bit data: dead pixels (no data)
    assert estimate.fill_value(impulses / 255) is None  # ... on a photo's [0, 1]
    salted = impulses * 16
    salted[rng.random(photo.shape) < 0.03] = 4095 * 2
    assert estimate.fill_value(salted) is None  # salt and pepper: impulse noise, not a fill
    top = np.maximum(photo, 60) / 255
    top[rng.random(photo.shape) < 0.03] = 1.0
    assert estimate.fill_value(top) is None and estimate.fill_value(top * 0.9)[0] == 0.9  # saturated [0, 1]
    hot = np.maximum(photo, 60) * 15  # 12-bit data: saturated at 4095, not a fill
    hot[rng.random(photo.shape) < 0.01] = 4095
    assert estimate.fill_value(hot) is None
    metres = np.where(holes, 0.0, noisy / 1000)  # depth in metres, or disparity in pixels: not 8-bit data, read
    assert estimate.fill_value(metres)[0] == 0 and estimate.fill_value(np.where(holes, 0.0, 24e4 / noisy))[0] == 0
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
    assert "read as blank (no data: a depth camera's dropouts, dead pixels, a nodata fill)" in err
    assert "blank_value=" not in err
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


def test_cli_reads_each_frame_s_own_fill_in_a_stack(tmp_path, capsys):
    """A depth video: the first frame without dropouts, the later ones with: each frame's own fill is read (the
    first frame's reading, none, was passed to all, and the later frames' dropouts read as depth: a re-check)."""
    clean, noisy, holes = _depth()
    frames = np.stack([np.round(noisy)] * 3).astype(np.uint16)
    frames[1][holes] = 0
    frames[2][holes] = 0
    tifffile.imwrite(tmp_path / "s.tif", frames, photometric="minisblack", metadata={"axes": "ZYX"})
    assert main(["denoise", str(tmp_path / "s.tif"), "--out", str(tmp_path / "o.tif"), "--method", "nlm",
                 "--noise", "gaussian:sigma=6"]) == 0
    err = capsys.readouterr().err
    assert "hold 0, far below every other value" in err and f"{2 * holes.sum()} blank pixels kept blank" in err
    got = tifffile.imread(tmp_path / "o.tif")
    assert (got[1:, holes] == 0).all() and (got[0] > 0).all()
