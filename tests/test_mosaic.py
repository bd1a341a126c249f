"""Colour-filter (Bayer) mosaics, a camera's raw sensor data: read as such, denoised plane by plane; the
black level and hot pixels of sensor data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tifffile
from scipy import ndimage

from noise2x import api, classical, estimate
from noise2x.cli import main
from noise2x.errors import InputError, NoteWarning, UnitsWarning, UsageError

RESPONSE = np.array([0.5, 1.0, 0.7])  # a camera's green is its most sensitive channel


def _scene(n: int = 192, seed: int = 0) -> np.ndarray:
    """A colour scene in [0, 1]: smooth colour fields with some detail, (n, n, 3)."""
    rng = np.random.default_rng(seed)
    fields = [ndimage.gaussian_filter(rng.normal(size=(n, n)), s) for s in (6, 2)]
    base = 0.5 + 8 * fields[0] + 0.5 * fields[1]
    tint = [ndimage.gaussian_filter(rng.normal(size=(n, n)), 12) for _ in range(3)]
    return np.clip(np.stack([base + 20 * t for t in tint], axis=-1), 0.05, 1.0)


def _mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB: red at even rows and columns, blue at odd ones."""
    out = rgb[..., 1].copy()
    out[0::2, 0::2], out[1::2, 1::2] = rgb[0::2, 0::2, 0], rgb[1::2, 1::2, 2]
    return out


def _raw(seed: int = 0, n: int = 192, black: float = 256.0, gain: float = 2.0, read: float = 3.0):
    """A 12-bit raw mosaic in counts (DN): shot noise of ``gain`` DN per electron, read noise, a black level;
    (clean, noisy uint16)."""
    rng = np.random.default_rng(seed + 100)
    electrons = _mosaic(_scene(n, seed) * RESPONSE) * 1500.0
    clean = electrons * gain + black
    noisy = rng.poisson(electrons) * gain + rng.normal(0.0, read, electrons.shape) + black
    return clean, np.clip(np.round(noisy), 0, 4095).astype(np.uint16)


def _plane_means(image: np.ndarray) -> np.ndarray:
    return api.mosaic_planes(np.asarray(image, dtype=np.float64)).mean(axis=(0, 1))


def test_a_mosaic_scores_far_above_a_gray_image_or_alternation_along_one_axis():
    clean, noisy = _raw()
    assert estimate.mosaic_score(noisy) > 3 * estimate.MOSAIC_SCORE
    assert estimate.mosaic_score(clean) > 3 * estimate.MOSAIC_SCORE
    rng = np.random.default_rng(1)
    gray = _scene().mean(axis=-1) * 255
    for sigma in (0, 5, 25):
        assert estimate.mosaic_score(gray + rng.normal(0, sigma, gray.shape)) < estimate.MOSAIC_SCORE
    lines = gray.copy()
    lines[:, 1::2] += 20  # even/odd columns' offsets (an interlaced or two-amplifier sensor): one axis
    assert estimate.mosaic_score(lines) < estimate.MOSAIC_SCORE
    assert estimate.mosaic_score(noisy[:32, :32]) == 0.0  # too small to read
    # blocks holding blank pixels are left out, not read as the pattern
    held = np.ones(noisy.shape, bool)
    held[:, :96] = False
    assert estimate.mosaic_score(noisy, mask=held) > estimate.MOSAIC_SCORE


@pytest.mark.parametrize("shape", [(6, 8), (7, 9), (2, 3), (5, 2)])
def test_mosaic_planes_round_trip_keeps_each_pixel_in_its_colour(shape):
    image = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    planes = api.mosaic_planes(image)
    assert planes.shape == ((shape[0] + 1) // 2, (shape[1] + 1) // 2, 4)
    assert planes[0, 0].tolist() == [image[0, 0], image[0, 1], image[1, 0], image[1, 1]]
    if shape[1] % 2:  # the padded column repeats the one two before it: the same colour
        assert planes[0, -1, 1] == image[0, shape[1] - 2]
    np.testing.assert_array_equal(api.mosaic_joined(planes, shape), image)


def test_denoise_of_a_mosaic_keeps_its_colours_where_the_image_whole_averages_them():
    clean, noisy = _raw()
    info: dict = {}
    with pytest.warns(NoteWarning, match="colour-filter"), pytest.warns(UnitsWarning, match="signal-dependent"):
        out = api.denoise(noisy, method="nlm", info=info)
    assert info["cfa"] > estimate.MOSAIC_SCORE and info["channels_alone"] == "channels"
    want = _plane_means(clean)
    np.testing.assert_allclose(_plane_means(out), want, rtol=0.01)
    # the camera's noise given, in counts: BM3D on each plane
    with pytest.warns(NoteWarning, match="colour-filter"):
        sensor = api.denoise(noisy, method="bm3d", options={"gain": 2.0, "sigma": 3.0, "black": 256.0})
    assert np.mean((sensor - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)
    # with no options: the planes each alone, 3 dB and more under the noisy image; the image whole, the colours
    # averaged together (why the planes go alone), 20 dB over it
    with pytest.warns(NoteWarning, match="colour-filter"):
        planes = api.denoise(noisy)
    assert np.mean((planes - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)
    with pytest.warns(NoteWarning, match="stripes"):  # (the pattern read as lines' offsets, taken whole)
        whole = api.denoise(noisy, cfa="none")
    assert np.ptp(_plane_means(whole)) < 0.1 * np.ptp(want)
    assert np.mean((whole - clean) ** 2) > 100 * np.mean((noisy - clean) ** 2)
    # told: the same, with no reading; a pattern's name says so too
    with pytest.warns(NoteWarning, match="given"), pytest.warns(UnitsWarning, match="signal-dependent"):
        given = api.denoise(noisy, method="nlm", cfa="RGGB")
    np.testing.assert_allclose(given, out)


def test_a_gray_photo_is_not_read_as_a_mosaic_and_cfa_is_checked():
    rng = np.random.default_rng(2)
    gray = _scene().mean(axis=-1) * 255 + rng.normal(0, 10, (192, 192))
    info: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoteWarning)
        api.denoise(gray, method="nlm", info=info)
    assert "cfa" not in info
    with pytest.raises(UsageError, match="cfa must be one of"):
        api.denoise(gray, method="nlm", cfa="xtrans")
    with pytest.raises(InputError, match="one-channel mosaic"):
        api.denoise(np.stack([gray] * 3, axis=-1), method="nlm", cfa="bayer")
    with pytest.raises(InputError, match="2 rows and 2 columns"):
        api.denoise(gray[:1], method="nlm", cfa="bayer")


def test_bm3d_black_level_is_the_gain_route_on_the_image_less_it():
    clean, noisy = _raw(n=96)
    plane = api.mosaic_planes(noisy.astype(np.float64))[..., 1]
    info: dict = {}
    out = classical.bm3d(plane, gain=2.0, sigma=3.0, black=256.0, info=info)
    assert "black=256" in info["transform"]
    np.testing.assert_allclose(out, classical.bm3d(plane - 256.0, gain=2.0, sigma=3.0) + 256.0, atol=0.05)
    with pytest.raises(UsageError, match="goes with gain"):
        classical.bm3d(plane, black=256.0)
    with pytest.raises(UsageError, match="finite number"):
        classical.bm3d(plane, gain=2.0, black=float("nan"))


def test_a_hot_pixel_does_not_make_the_model_paint_squares_and_is_kept():
    rng = np.random.default_rng(3)
    dark = np.round(256 + rng.normal(0, 3, (192, 192))).astype(np.uint16)  # a dark frame: black level, read noise
    base = api.denoise(dark)
    hot = dark.copy()
    hot[40, 50] = hot[120, 150] = 3000
    out = api.denoise(hot)
    rest = hot < 1000
    assert out[40, 50] == 3000 and out[120, 150] == 3000
    assert np.abs(out[rest] - base[rest]).max() < 1.0  # (50-pixel squares 100 DN off, before)


def _cfa_tiff(path, image, repeat=(2, 2)):
    tifffile.imwrite(path, image, photometric=32803,
                     extratags=[(33421, "H", 2, repeat, True), (33422, "B", 4, (0, 1, 1, 2), True)])
    return path


def test_cli_reads_a_mosaic_says_it_and_takes_a_declared_one(tmp_path, capsys):
    _, noisy = _raw()
    tifffile.imwrite(tmp_path / "raw.tif", noisy)
    assert main(["info", str(tmp_path / "raw.tif")]) == 0
    out = capsys.readouterr().out
    assert "colour-filter (Bayer) mosaic, a camera's raw data (read as one" in out
    assert "halftone" not in out and "stripes" not in out
    assert "noise2x denoise with no options (first 2x2 plane)" in out
    _cfa_tiff(tmp_path / "declared.tif", noisy)
    assert main(["info", str(tmp_path / "declared.tif")]) == 0
    assert "the file declares one (TIFF photometric CFA)" in capsys.readouterr().out
    assert main(["denoise", str(tmp_path / "declared.tif"), "--out", str(tmp_path / "o.tif"), "--method", "nlm"]) == 0
    err = capsys.readouterr().err
    assert "declares a colour-filter mosaic" in err and "each of its four 2x2 mosaic planes alone" in err
    assert tifffile.imread(tmp_path / "o.tif").dtype == np.uint16
    assert main(["denoise", str(tmp_path / "raw.tif"), "--out", str(tmp_path / "w.tif"), "--method", "nlm",
                 "--cfa", "none"]) == 0
    assert "colour-filter" not in capsys.readouterr().err


def test_cli_refuses_an_xtrans_mosaic_and_names_what_to_do_with_camera_raw(tmp_path, capsys):
    _, noisy = _raw(n=96)
    _cfa_tiff(tmp_path / "x.tif", noisy, repeat=(6, 6))
    assert main(["denoise", str(tmp_path / "x.tif"), "--out", str(tmp_path / "o.tif")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "6x6 pattern" in err[0] and not (tmp_path / "o.tif").exists()
    (tmp_path / "a.nef").write_bytes(b"II*\x00" + bytes(64))
    assert main(["denoise", str(tmp_path / "a.nef"), "--out", str(tmp_path / "o.tif")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "camera raw" in err[0] and "raw_image_visible" in err[0]



def test_blank_pixels_scattered_over_a_mosaic_leave_it_read_and_a_dither_is_not_one():
    _, noisy = _raw()
    held = np.ones(noisy.shape, bool)
    held[::13, ::11] = False  # (a dead-pixel map: 0.7% blank, in every block; left the reading at 0)
    assert estimate.mosaic_score(noisy, mask=held) > 3 * estimate.MOSAIC_SCORE
    blank = noisy.astype(np.float64)
    blank[~held] = np.nan
    assert api.mosaic_read(blank) > 3 * estimate.MOSAIC_SCORE
    # a 2x2 ordered dither of four levels: a screen of period 2 both ways, and few values
    gray = _scene().mean(axis=-1)
    screen = np.tile([[0.0, 0.5], [0.75, 0.25]], (96, 96))
    dither = (np.floor(gray * 3 + screen) * 85).astype(np.uint8)
    assert estimate.mosaic_score(dither) > estimate.MOSAIC_SCORE and api.mosaic_read(dither) == 0.0


def test_bm3d_refuses_a_black_level_above_the_data():
    clean, noisy = _raw(n=96)
    plane = api.mosaic_planes(noisy.astype(np.float64))[..., 0]
    with pytest.raises(UsageError, match=r"black 5000 lies above 100.0% of the image's values"):
        classical.bm3d(plane, gain=2.0, sigma=3.0, black=5000)
    with pytest.raises(UsageError, match="must be a number"):
        classical.bm3d(plane, gain=2.0, black=True)


def test_hot_pixels_of_data_taken_as_8_bit_units_are_kept_too():
    rng = np.random.default_rng(6)
    plane = 250 + 150 * _scene(128, 4).mean(axis=-1) + rng.normal(0, 12, (128, 128))  # counts 250..450: as 8-bit
    base = api.denoise(plane)
    hot = plane.copy()
    hot[30, 40] = hot[90, 100] = 4095
    out = api.denoise(hot)
    assert out[30, 40] == 4095 and out[90, 100] == 4095
    rest = hot < 1000
    assert np.abs(out[rest] - base[rest]).max() < 1.0


def test_a_colour_model_on_a_mosaic_is_refused_as_such():
    from noise2x.methods import get_method
    from noise2x.models import ScaledModel, build_model
    from noise2x.predict import Denoiser

    _, noisy = _raw(n=64)
    args = {"in_channels": 3, "width": 8, "depth": 2}
    net = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0] * 3, std=[60.0] * 3)
    model = Denoiser(net.eval(), get_method("supervised"), {})
    with pytest.raises(InputError, match="plane by plane, which takes a one-channel"):
        api.denoise(noisy, model=model, cfa="bayer")


def test_info_reads_the_first_plane_of_a_mosaic_with_a_blank_margin_of_odd_width(tmp_path, capsys):
    rng = np.random.default_rng(7)
    level = np.full((128, 128), 1000.0)
    level[0::2, 1::2] = level[1::2, 0::2] = 2000.0  # a flat field: green twice red and blue
    noise = np.where(level > 1500, 20.0, 2.0)  # the red (first) plane far less noisy than the greens
    image = level + rng.normal(0, 1, level.shape) * noise
    image[:, :41] = 0  # a blank margin ending at an odd column
    tifffile.imwrite(tmp_path / "m.tif", image.astype(np.float32))
    assert main(["info", str(tmp_path / "m.tif"), "--blank-value", "0"]) == 0
    out = capsys.readouterr().out
    assert "colour-filter (Bayer) mosaic" in out
    said = "noise in the image's own units (what --noise gaussian:sigma= takes): sigma "
    sigma = float(out.split(said)[1].split()[0])
    assert sigma < 5  # (the red plane's, 2; a green plane's is 20)


def test_a_folder_note_for_camera_raw_files_says_what_to_do(tmp_path):
    from noise2x.io import unread_images, unread_note

    (tmp_path / "a.dng").write_bytes(b"II*\x00")
    (tmp_path / "b.gif").write_bytes(b"GIF89a")
    note = unread_note(unread_images(tmp_path))
    assert "2 files" in note and "raw_image_visible" in note
    assert "raw_image_visible" not in unread_note(unread_images(tmp_path)[1:])


def test_weak_shot_noise_on_a_black_level_goes_to_bm3d_told_the_reading_and_the_level():
    # The weak-shot-noise route (BM3D after the transform of the reading) ran only where the image's map to 8-bit
    # units had no offset: never under a camera's black level (a camera sensor QA pass).
    from noise2x import pretrained

    rng = np.random.default_rng(4)
    signal = _scene(256, 3).mean(axis=-1) * 3000
    clean = 512 + signal
    noisy = np.round(rng.poisson(signal / 2.0) * 2.0 + rng.normal(0, 3, signal.shape) + 512)
    choice = pretrained.choose(noisy)
    assert choice.method == "bm3d" and choice.offset > 512 and not choice.facts.get("sparse")
    assert choice.options["black"] == choice.offset and choice.options["gain"] == pytest.approx(2.0, rel=0.1)
    info: dict = {}
    out = api.denoise(noisy, info=info)
    assert "black=" in info["transform"]
    assert np.mean((out - clean) ** 2) < 0.3 * np.mean((noisy - clean) ** 2)


def test_info_takes_cfa_as_denoise_does_and_tiny_planes_are_said_as_such(tmp_path, capsys):
    _, noisy = _raw()
    tifffile.imwrite(tmp_path / "raw.tif", noisy)
    assert main(["info", str(tmp_path / "raw.tif"), "--cfa", "none"]) == 0
    out = capsys.readouterr().out
    assert "colour-filter" not in out and "noise2x denoise with no options: " in out
    gray = (_scene(96).mean(axis=-1) * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "gray.tif", gray)
    assert main(["info", str(tmp_path / "gray.tif"), "--cfa", "RGGB"]) == 0
    assert "colour-filter (Bayer) mosaic, a camera's raw data (given: --cfa)" in capsys.readouterr().out
    assert main(["info", "gray-gaussian", "--cfa", "bayer"]) == 2
    assert "--cfa goes with an image" in capsys.readouterr().err
    tifffile.imwrite(tmp_path / "tiny.tif", noisy[:10, :12])
    assert main(["denoise", str(tmp_path / "tiny.tif"), "--out", str(tmp_path / "o.tif"), "--method", "bm3d",
                 "--cfa", "bayer"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1 and "2x2 planes (6x5 each)" in err[0] and not (tmp_path / "o.tif").exists()


def test_a_stack_of_mosaic_and_gray_frames_says_the_two_ways(tmp_path, capsys):
    _, noisy = _raw(n=128)
    rng = np.random.default_rng(8)
    gray = np.clip(_scene(128, 5).mean(axis=-1) * 3000 + 300 + rng.normal(0, 30, (128, 128)), 0, 4095)
    tifffile.imwrite(tmp_path / "s.tif", np.stack([noisy, gray.astype(np.uint16)]))
    assert main(["denoise", str(tmp_path / "s.tif"), "--out", str(tmp_path / "o.tif"), "--method", "nlm"]) == 0
    err = capsys.readouterr().err
    assert "nlm, its 2x2 mosaic planes each alone (1 frame: 1); nlm (1 frame: 2)" in err, err


def test_bm3d_notes_a_black_level_a_little_above_a_dark_frame_and_hot_pixels_are_read_per_channel():
    rng = np.random.default_rng(9)
    dark = 1000 + rng.normal(0, 5, (96, 96))
    with pytest.warns(NoteWarning, match=r"black 1003 lies above \d+% of the image.s values"):
        classical.bm3d(dark, gain=1.0, sigma=5.0, black=1003)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoteWarning)
        classical.bm3d(dark, gain=1.0, sigma=5.0, black=1000)
    # a colour image whose blue is far brighter than its red: blue is not wild against red's spread
    colour = np.stack([20 + 5 * rng.normal(size=(1000, 1000)), 120 + 5 * rng.normal(size=(1000, 1000)),
                       220 + 5 * rng.normal(size=(1000, 1000))], axis=-1)
    assert api._wild_pixels(colour) is None
    colour[500, 500, 0] = 400  # a hot red pixel
    wild = api._wild_pixels(colour)
    assert wild is not None and np.argwhere(wild[0]).tolist() == [[500, 500, 0]]


def test_blank_pixels_scattered_all_over_are_read_through_not_refused():
    # A dead-pixel map of 3% left no 7x7 window whole: "too few pixels hold image data", though 97% did (a re-check).
    rng = np.random.default_rng(10)
    clean = _scene(128, 6).mean(axis=-1) * 200 + 20
    noisy = clean + rng.normal(0, 10, clean.shape)
    holes = np.zeros(clean.shape, bool)
    holes[::6, ::6] = True  # (every 7x7 window holds one)
    noisy[holes] = np.nan
    info: dict = {}
    out = api.denoise(noisy, method="nlm", blanks=True, info=info)
    assert np.isnan(out[holes]).all() and not np.isnan(out[~holes]).any()
    assert info["sigma"] == pytest.approx(10, rel=0.2)
    assert np.mean((out[~holes] - clean[~holes]) ** 2) < 0.5 * 100
    held = np.zeros(clean.shape, bool)
    held[::2] = True  # half the rows: not scattered blanks, too few windows: refused as before
    with pytest.raises(InputError, match="too few pixels hold image data"):
        estimate.sigma(clean, mask=held)


def test_scattered_blanks_beside_a_margin_are_read_and_a_scattered_mask_is_not_taken_for_data():
    rng = np.random.default_rng(11)
    clean = _scene(256, 7).mean(axis=-1) * 200 + 20
    noisy = clean + rng.normal(0, 10, clean.shape)
    holes = np.zeros(clean.shape, bool)
    holes[::6, ::6] = True
    blank = noisy.copy()
    blank[holes] = np.nan
    blank[:, :20] = np.nan  # a blank margin too (it counted against the share of data, a re-check)
    info: dict = {}
    out = api.denoise(blank, method="nlm", blanks=True, info=info)
    assert info["sigma"] == pytest.approx(10, rel=0.2) and np.isnan(out[:, :20]).all()
    # a mask (an RGBA image's alpha) scattered so: its pixels' values are not data, and nothing fills them
    with pytest.raises(InputError, match="too few pixels hold image data"):
        api.denoise(np.where(holes, 0.0, noisy), method="nlm", mask=~holes)


def test_a_channel_of_one_value_leaves_the_others_read_for_hot_pixels():
    rng = np.random.default_rng(12)
    image = np.stack([100 + 5 * rng.normal(size=(200, 200)), 150 + 5 * rng.normal(size=(200, 200)),
                      np.zeros((200, 200))], axis=-1)
    image[50, 60, 1] = 600
    wild = api._wild_pixels(image)
    assert wild is not None and np.argwhere(wild[0]).tolist() == [[50, 60, 1]]
