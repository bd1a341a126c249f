"""PSNR / SSIM follow PROTOCOL.md: agreement with scikit-image, the clipping rule, the BSD68 reference."""

from __future__ import annotations

import math
import warnings
import subprocess
import sys

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import data_dir
from noise2x.errors import InputError
from noise2x.metrics import psnr, ssim


def _noisy(clean, sigma=25.0, seed=0):
    return clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)


def test_psnr_matches_skimage_and_formula(gray_image):
    pred = np.clip(_noisy(gray_image, 10.0), 0, 255)
    ours = psnr(gray_image, pred)
    assert ours == pytest.approx(peak_signal_noise_ratio(gray_image, pred, data_range=255), abs=1e-10)
    mse = np.mean((gray_image - pred) ** 2)
    assert ours == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-10)


def test_psnr_colour_averages_over_channels(rgb_image):
    pred = np.clip(_noisy(rgb_image, 10.0, seed=3), 0, 255)
    assert psnr(rgb_image, pred) == pytest.approx(peak_signal_noise_ratio(rgb_image, pred, data_range=255), abs=1e-10)


def test_psnr_clipping_rule():
    clean = np.full((12, 13), 250.0)
    clean[:, :6] = 5.0
    pred = clean.copy()
    pred[:, :6] = -20.0  # 25 below the clean value, but only 5 below 0
    pred[:, 6:] = 270.0  # 20 above, but only 5 above 255
    clipped = psnr(clean, pred)
    unclipped = psnr(clean, pred, clip=False)
    assert clipped == pytest.approx(10 * math.log10(255**2 / 25.0))
    mse = (6 * 625 + 7 * 400) / 13
    assert unclipped == pytest.approx(10 * math.log10(255**2 / mse))
    # clipping is float, not rounding: 255.4 clipped to 255 exactly, 0.3 stays 0.3
    c = np.array([[0.3, 255.0]] * 12)
    assert psnr(c, np.array([[0.3, 255.4]] * 12)) == math.inf


def test_psnr_identical_is_inf_and_data_range(gray_image):
    assert psnr(gray_image, gray_image) == math.inf
    scaled = gray_image / 255.0
    pred = np.clip(_noisy(gray_image, 10.0), 0, 255)
    assert psnr(scaled, pred / 255.0, data_range=1.0) == pytest.approx(psnr(gray_image, pred), abs=1e-9)


def test_inputs_of_other_kinds_are_refused_in_one_line(gray_image):
    # (a dtype QA pass: bool images were measured against 255, a masked array's mask dropped, data_range="255" a
    # TypeError from NumPy)
    for bad in (gray_image > 100, gray_image.astype(np.complex128)):
        with pytest.raises(InputError, match="must hold real numbers"):
            psnr(bad, gray_image)
        with pytest.raises(InputError, match="must hold real numbers"):
            ssim(gray_image, bad)
    masked = np.ma.masked_greater(gray_image, 200)
    with pytest.raises(InputError, match="a masked array .* noise2x does not read its mask"):
        psnr(masked, gray_image)
    from noise2x import api

    with pytest.raises(InputError, match=r"a masked array \(\d+ values masked\): .*filled\(np.nan\) with blanks=True"):
        api.denoise(masked, method="nlm")
    assert psnr(np.ma.masked_array(gray_image), gray_image + 1) == psnr(gray_image, gray_image + 1)  # (none masked)
    for bad in ("255", True, None.__class__):
        with pytest.raises(InputError, match="data_range must be a positive number"):
            psnr(gray_image, gray_image + 1, data_range=bad)


def test_a_16bit_reference_far_narrower_than_its_dtype_is_said(gray_image):
    # (int16 data in Hounsfield units read 76 dB against int16's 65535, unsaid: a medical-imaging QA pass)
    hu = (gray_image * 10 - 1000).astype(np.int16)
    pred = hu + np.random.default_rng(0).normal(0, 20, hu.shape)
    with pytest.warns(UserWarning, match="data_range defaults to int16's 65535, but the clean image spans under"):
        loose = psnr(hu, pred)
    assert loose == pytest.approx(psnr(hu, pred, data_range=65535))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        psnr(hu, pred, data_range=4000)
        full = (gray_image * 257).astype(np.uint16)  # a 16-bit image spanning its range: nothing said
        psnr(full, full + 300.0)
        dark = ((gray_image - gray_image.min()) / np.ptp(gray_image) * 5000).astype(np.uint16)  # nor a dark
        # 16-bit photo (a span of 5000: a re-check)
        psnr(dark, dark + 30.0)


def test_inputs_not_mutated(gray_image):
    pred = _noisy(gray_image)
    before = pred.copy()
    psnr(gray_image, pred)
    ssim(gray_image, pred)
    np.testing.assert_array_equal(pred, before)


def test_ssim_matches_skimage_protocol_parameters(gray_image, rgb_image):
    pred = np.clip(_noisy(gray_image, 15.0, seed=1), 0, 255)
    ref = structural_similarity(gray_image, pred, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert ssim(gray_image, pred) == pytest.approx(ref, abs=1e-12)
    # not skimage's default 7x7 uniform window
    assert ssim(gray_image, pred) != pytest.approx(structural_similarity(gray_image, pred, data_range=255), abs=1e-4)
    predc = np.clip(_noisy(rgb_image, 15.0, seed=2), 0, 255)
    refc = structural_similarity(rgb_image, predc, data_range=255, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, channel_axis=-1)
    assert ssim(rgb_image, predc) == pytest.approx(refc, abs=1e-12)
    assert ssim(gray_image, gray_image) == pytest.approx(1.0)


def test_ssim_clips_prediction(gray_image):
    pred = _noisy(gray_image, 40.0, seed=4)
    assert pred.min() < 0 or pred.max() > 255
    clipped = np.clip(pred, 0, 255)
    assert ssim(gray_image, pred) == pytest.approx(ssim(gray_image, clipped, clip=False), abs=1e-12)
    assert ssim(gray_image, pred) != pytest.approx(ssim(gray_image, pred, clip=False), abs=1e-6)


@pytest.mark.parametrize("fn", [psnr, ssim])
def test_shape_mismatch_and_bad_values(fn, gray_image, rgb_image):
    with pytest.raises(InputError, match="shape"):
        fn(gray_image, gray_image[:-1])
    with pytest.raises(InputError, match="shape"):
        fn(rgb_image, gray_image)
    bad = gray_image.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fn(gray_image, bad)


def test_ssim_too_small_image():
    with pytest.raises(InputError, match="11x11"):
        ssim(np.zeros((8, 20)), np.zeros((8, 20)))
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 32, 32))  # channels first (torch, DeepInverse): said
    with pytest.raises(InputError, match=r"got \(3, 32, 32\); channels first\? give \(H,W,3\)"):
        ssim(rgb, rgb)
    volume = np.random.default_rng(0).uniform(0, 255, (16, 32, 40))  # (its X read as 40 colour channels, unsaid: a
    with pytest.raises(InputError, match=r"SSIM of shape \(16, 32, 40\): its last axis \(40\) would be read as "
                                         r"colour channels \(up to 4\); a stack of frames \(Z,Y,X\): measure each "
                                         r".*; bands \(H,W,C\): the same over np\.moveaxis"):
        ssim(volume, volume)  # tomography QA pass)
    assert ssim(volume[..., :4], volume[..., :4]) == pytest.approx(1.0)  # (RGBA: 4 channels, measured)


def test_metrics_do_not_import_torch():
    code = "import noise2x.metrics, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bsd68_noisy_reference_value():
    """PROTOCOL.md: the unclipped noisy input at Gaussian 25 scores 20.17 dB on BSD68."""
    from noise2x.io import list_images, read_image

    folder = data_dir("bsd68")
    files = list_images(folder)
    assert len(files) == 68
    values = []
    for i, path in enumerate(files):
        clean = read_image(path)
        assert clean.ndim == 2 and clean.dtype == np.float64
        noisy = clean + 25.0 * np.random.default_rng(i).standard_normal(clean.shape)
        values.append(psnr(clean, noisy, clip=False))
    assert round(float(np.mean(values)), 2) == 20.17


def test_a_reference_beyond_8bit_needs_its_data_range():
    """A 16-bit reference measured against the 8-bit peak gave -41 dB, silently (the ML-researcher QA pass): with no
    data_range given, a clean image passing 255 is refused, as scikit-image refuses one outside its dtype's range;
    given, it is measured as before."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 32)) * 257
    y = x + rng.normal(0, 1000, x.shape)
    for measure in (psnr, ssim):
        with pytest.raises(InputError, match="reach .* beyond 255.*data_range=65535"):
            measure(x, y)
    assert psnr(x, y, data_range=65535) == pytest.approx(peak_signal_noise_ratio(x, np.clip(y, 0, 65535),
                                                                                 data_range=65535))
    assert psnr(x / 257, y / 257) == pytest.approx(psnr(x, y, data_range=65535))
    # data in [0, 1] against 255 read +48 dB, SSIM 0.9998 (the same pass): refused, measured with data_range=1
    for measure in (psnr, ssim):
        with pytest.raises(InputError, match=r"reach only .* data in \[0, 1\].*data_range=1"):
            measure(x / 65535, y / 65535)
        with pytest.raises(InputError, match=r"reach only 0\.0[0-9]+, .*give data_range, the span of its units "
                                             r"\(1 for data in \[0, 1\]\)$"):  # (a CT slice's 0..0.025: told 1,
            measure(x / 65535 / 40, y / 65535 / 40)  # a tomography QA pass)
    assert psnr(x / 65535, y / 65535, data_range=1) == pytest.approx(psnr(x, y, data_range=65535))
    # a uint16 reference (as read_image gives a 16-bit file, or tifffile) is measured against its dtype's peak
    x16 = np.round(x).astype(np.uint16)
    for measure in (psnr, ssim):
        assert measure(x16, y) == pytest.approx(measure(x16.astype(float), y, data_range=65535))
    assert psnr((x16 // 2).astype(np.int16), y / 2) == pytest.approx(psnr(x16 // 2, y / 2, data_range=32767))


def test_signed_data_are_measured_over_their_span_clipped_from_their_lowest_value():
    """Signed data were clipped to [0, data_range]: data in [-1, 1] read far too low, SSIM below 0 (the metrics QA
    pass), and with no data_range the error called them "data in [0, 1]". data_range is the span of their units,
    as in scikit-image, and the prediction is clipped from the reference's lowest value on: the score moves with
    the reference (not clipping them at all, a single pixel below 0 switched the clipping off: the QA re-check)."""
    rng = np.random.default_rng(1)
    clean = rng.uniform(-1, 1, (32, 32))
    pred = clean + rng.normal(0, 0.02, clean.shape)
    low = clean.min()
    clipped = np.clip(pred, low, low + 2)
    assert np.count_nonzero(clipped != pred) > 0
    assert psnr(clean, pred, data_range=2) == pytest.approx(peak_signal_noise_ratio(clean, clipped, data_range=2))
    assert psnr(clean, pred, data_range=2, clip=False) == pytest.approx(peak_signal_noise_ratio(clean, pred,
                                                                                                data_range=2))
    assert ssim(clean, pred, data_range=2) == pytest.approx(structural_similarity(
        clean, clipped, data_range=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
    # one reference pixel a hair below 0 moves the score by a hair, not by switching the clipping
    unit = clean * 0.5 + 0.5
    unit[unit < 0.01] = 0.01
    unit[0, 0] = 0.0
    noisy = unit + rng.normal(0, 0.2, unit.shape)
    nudged = unit.copy()
    nudged[0, 0] = -1e-9
    for measure in (psnr, ssim):
        assert measure(nudged, noisy, data_range=1) == pytest.approx(measure(unit, noisy, data_range=1), abs=1e-6)
    # nor is a value the reference holds above the range cut (overshoot, percentile-normalised data)
    over = unit * 1.03
    assert psnr(over, noisy, data_range=1) == pytest.approx(peak_signal_noise_ratio(
        over, np.clip(noisy, 0, over.max()), data_range=1))
    for measure in (psnr, ssim):
        with pytest.raises(InputError, match=r"negative values \(down to -0.99.*give data_range, the span"):
            measure(clean, pred)
    # int16 with no data_range: scikit-image's (32767, or the dtype's span 65535 where values go below 0)
    signed = rng.integers(-1000, 1000, (32, 32)).astype(np.int16)
    off = (signed + rng.integers(-10, 11, signed.shape)).astype(np.int16)
    with pytest.warns(UserWarning, match="data_range defaults to int16's"):  # (their span far under it: said)
        assert psnr(signed, off, clip=False) == pytest.approx(peak_signal_noise_ratio(signed, off))
    with pytest.warns(UserWarning, match="data_range defaults to int16's"):
        assert psnr(np.abs(signed), np.abs(off)) == pytest.approx(peak_signal_noise_ratio(np.abs(signed),
                                                                                          np.abs(off)))
