"""Noise estimation from one image: Gaussian sigma, Poisson-Gaussian (a, b), spatial correlation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import data_dir
from noise2x import estimate, noise
from noise2x.errors import InputError, UsageError
from noise2x.io import list_images, read_image


@pytest.fixture(scope="module")
def set12() -> list[np.ndarray]:
    return [read_image(p) for p in list_images(data_dir("set12"))]


def _smooth(height: int = 200, width: int = 300) -> np.ndarray:
    """A smooth synthetic scene spanning 10..245 (a ramp plus a gentle bump)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return 10 + 200 * xx / (width - 1) + 35 * np.exp(-((yy - height / 2) ** 2 + (xx - width / 3) ** 2) / 3000.0)


# --------------------------------------------------------------------------- sigma


def test_sigma_within_ten_percent_on_every_set12_image(set12):
    errors = {}
    for level in (5, 10, 15, 25, 50):
        for i, clean in enumerate(set12):
            noisy = noise.protocol_noisy(clean, f"gaussian:sigma={level}", index=i)
            errors[(level, i + 1)] = estimate.sigma(noisy) / level - 1
    worst = max(errors, key=lambda k: abs(errors[k]))
    assert abs(errors[worst]) < 0.10, f"sigma {worst[0]}, image {worst[1]:02d}: {100 * errors[worst]:+.1f}%"


def test_sigma_on_synthetic_images():
    clean = _smooth()
    for level in (2.0, 10.0, 40.0):
        est = estimate.sigma(noise.gaussian(clean, sigma=level, rng=1))
        assert est == pytest.approx(level, rel=0.05)
    assert estimate.sigma(clean) < 0.3  # no noise
    rgb = np.stack([clean, clean[::-1], clean[:, ::-1]], axis=-1)
    assert estimate.sigma(noise.gaussian(rgb, sigma=12, rng=2)) == pytest.approx(12, rel=0.05)


def test_sigma_ignores_saturated_areas():
    clean = _smooth()
    clean[:, : clean.shape[1] // 2] = 255.0  # half the image saturated
    noisy = np.clip(noise.gaussian(clean, sigma=8, rng=3), 0, 255)
    assert estimate.sigma(noisy) == pytest.approx(8, rel=0.1)


def test_estimates_ignore_a_constant_fill():
    # padding, a mask, the fill of transparent pixels: a window of one value carries no noise (a grey fill
    # read as sigma 0; a fill of 0 beside negative values is not photon counts either)
    clean = _smooth()[:, ::-1]  # dark on the right
    noisy = noise.gaussian(clean, sigma=8, rng=4) - 15.0  # some values below 0 there
    for fill in (128.0, 0.0):
        x = noisy.copy()
        x[:, :200] = fill
        assert estimate.sigma(x) == pytest.approx(8, rel=0.1), fill
        corr = estimate.correlation(x)
        assert corr.sigma == pytest.approx(8, rel=0.15) and corr.beta < 0.2, (fill, corr)
        a, b, se = estimate.poisson_gaussian(x, stderr=True)
        assert abs(a) < 3 * se and b == pytest.approx(64, rel=0.3), (fill, a, b, se)
    bright = noise.gaussian(_smooth(), sigma=8, rng=4)  # a photo with no dark pixels (most are)
    bright[:, :200] = 128.0
    assert estimate.sigma(bright) == pytest.approx(8, rel=0.1)
    assert estimate.correlation(bright).sigma == pytest.approx(8, rel=0.15)


def test_a_subject_on_a_plain_background_with_a_few_zeros_reads_its_noise():
    """A noisy subject (8-bit, strong noise clipped to 0 at a few pixels, none just above 0) on a plain grey
    field: the zeros made the image look like photon counts, where the fill test was off, and the field's flat
    windows read the noise as absent (sigma 0). A block of one count other than 0 is a fill there too."""
    rng = np.random.default_rng(7)
    x = np.full((128, 128), 200.0)
    subject = np.clip(np.round(60.0 + rng.normal(0.0, 25.0, (48, 48))), 0, 255)
    subject[subject == 1] = 3.0  # (no values just above 0: as on the photo the QA check used)
    subject[subject == 2] = 3.0
    assert (subject == 0).sum() >= 3
    x[40:88, 40:88] = subject
    assert estimate.sigma(x) == pytest.approx(25, rel=0.15)
    assert estimate.correlation(x).sigma == pytest.approx(25, rel=0.2)


def test_a_mask_over_too_few_pixels_is_one_clear_error():
    """An image mostly transparent (10x10 opaque pixels of 128x128): no reading (it gave sigma 0, or a numpy
    warning and an error about clipping), but an InputError that says so; a mask just large enough reads."""
    rng = np.random.default_rng(3)
    x = np.clip(np.round(20.0 + rng.normal(0.0, 25.0, (128, 128))), 0, 255)  # (clipped at 0 in places)
    mask = np.zeros(x.shape, bool)
    mask[60:70, 60:70] = True
    for read in (estimate.sigma, estimate.correlation, estimate.poisson_gaussian):
        with pytest.raises(InputError, match="too few pixels hold image data"):
            read(x, mask=mask)
    # (the patch PCA given no usable window: no reading, where it took the mean of an empty selection)
    usable = np.zeros((128 - 6, 128 - 6), bool)
    usable[54:58, 54:58] = True
    assert estimate._var_pca(x, usable, estimate._texture_threshold()) is None
    mask[40:90, 40:90] = True
    x = 100.0 + rng.normal(0.0, 10.0, x.shape)
    assert estimate.sigma(x, mask=mask) == pytest.approx(10, rel=0.15)


def test_mask_keeps_the_estimates_to_the_image_data():
    # weak noise beside a black fill looks like photon counts (zeros with nothing just above them), whose
    # windows of zeros are readings of a dark area: only a mask (an RGBA image's opaque pixels) tells them apart
    clean = _smooth()  # 10..245
    noisy = np.round(noise.gaussian(clean, sigma=3, rng=5))
    noisy[:, :200] = 0.0
    mask = np.ones(noisy.shape, bool)
    mask[:, :200] = False
    assert estimate.sigma(noisy) < 1.0  # read as noise-free without it
    assert estimate.sigma(noisy, mask=mask) == pytest.approx(3, rel=0.1)
    assert estimate.correlation(noisy, mask=mask).sigma == pytest.approx(3, rel=0.15)
    assert estimate.poisson_gaussian(noisy, mask=mask)[1] == pytest.approx(9, rel=0.3)
    other = noisy.copy()  # masked pixels that hold something else (here a strong noise), not a fill
    other[:, :200] = 128.0 + np.random.default_rng(7).normal(0.0, 30.0, (200, 200))
    assert estimate.sigma(other, mask=mask) == pytest.approx(3, rel=0.1)
    assert estimate.correlation(other, mask=mask).sigma == pytest.approx(3, rel=0.15)
    with pytest.raises(UsageError, match="mask has shape"):
        estimate.sigma(noisy, mask=mask[:, 1:])
    with pytest.raises(InputError, match="no pixel"):
        estimate.sigma(noisy, mask=np.zeros_like(mask))


def test_windows_of_zero_photons_still_count():
    # in photon counts a window of zeros is a reading of a dark area (no photon expected), not a fill
    rng = np.random.default_rng(6)
    clean = _smooth()
    clean[:, :60] = 0.0  # a dark area
    counts = 255.0 * rng.poisson(10 * clean / 255.0) / 10
    assert estimate._unclipped_windows(counts, 255.0, strict=False)[:, :50].all()
    gaussian = noise.gaussian(clean, sigma=10, rng=6) - 60.0  # not counts (values below 0): zeros are a fill
    gaussian[:, :60] = 0.0
    assert not estimate._unclipped_windows(gaussian, 255.0, strict=False)[:, :50].any()


def test_sigma_input_errors():
    with pytest.raises(InputError, match="too small"):
        estimate.sigma(np.zeros((10, 40)))
    bad = np.zeros((40, 40))
    bad[3, 3] = np.inf
    with pytest.raises(InputError, match="noisy has 1 NaN/inf"):
        estimate.sigma(bad)


# --------------------------------------------------------------------------- Poisson-Gaussian


def test_poisson_gaussian_on_a_smooth_image():
    clean = _smooth()
    a, b = estimate.poisson_gaussian(noise.poisson(clean, peak=30, rng=0))
    assert a == pytest.approx(255 / 30, rel=0.2)
    assert abs(b) < 0.05 * a * 255  # small next to the variance range 0 .. a*255
    assert estimate.poisson_gaussian(np.full((40, 40), 7.0)) == (0.0, 0.0)  # constant: one bin, no line to fit
    a, b = estimate.poisson_gaussian(noise.poisson_gaussian(clean, peak=30, sigma=10, rng=0))
    assert a == pytest.approx(255 / 30, rel=0.2)
    assert b == pytest.approx(100, abs=40)
    a, b = estimate.poisson_gaussian(noise.gaussian(clean, sigma=20, rng=0))
    assert abs(a) < 0.5
    assert b == pytest.approx(400, rel=0.15)


def test_poisson_gaussian_slope_stderr_says_when_the_slope_is_chance():
    """On a flat image white noise gives a slope of either sign; its standard error says so (the slope within
    a few errors of 0), while a Poisson noise on a scene spanning many levels stands far clear of 0."""
    ratios = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        a, b, err = estimate.poisson_gaussian(128 + rng.normal(0, 20, (96, 96)), stderr=True)
        assert err > 0
        ratios.append(a / err)
    assert max(abs(r) for r in ratios) < 3.5, ratios
    assert np.std(ratios) > 0.5  # the error is not so large that every slope reads as 0
    a, b, err = estimate.poisson_gaussian(noise.poisson(_smooth(), peak=30, rng=0), stderr=True)
    assert a == pytest.approx(255 / 30, rel=0.2) and a / err > 10
    assert estimate.poisson_gaussian(np.full((40, 40), 7.0), stderr=True) == (0.0, 0.0, float("inf"))


def test_poisson_gaussian_scale_follows_peak_on_set12(set12):
    for i, clean in enumerate(set12):
        a30, _ = estimate.poisson_gaussian(noise.protocol_noisy(clean, "poisson:peak=30", index=i))
        assert a30 == pytest.approx(255 / 30, rel=0.2), i + 1


def test_poisson_gaussian_reads_a_few_photons(set12):
    """At a few photons most pixels count 0. Such zeros are counts, not clipping: before, windows rich in them
    were left out, which kept those where the noise itself brought more photons, and peak 1 read as 0.5-0.9 once
    the image was mapped to 8-bit units (there one photon is 85, three photons exactly 255)."""
    for i, clean in enumerate(set12[:6]):
        y = noise.protocol_noisy(clean, "poisson:peak=1", index=i) / 3  # as the choice maps it: spread to 0..255
        a, _ = estimate.poisson_gaussian(y)
        assert a == pytest.approx(85, rel=0.1), i + 1
    # a bound is clipping only where nothing lies beyond it: one photon is exactly 255 at peak 1, two are 510
    from noise2x.estimate import _unclipped_windows

    rng = np.random.default_rng(0)
    counts = np.concatenate([rng.choice([0.0, 255.0, 510.0], p=p, size=(40, 20)) for p in ([.2, .6, .2], [.4, .2, .4])],
                            axis=1)  # mostly one photon on the left
    assert _unclipped_windows(counts, 255.0, strict=False).all()
    assert not _unclipped_windows(np.minimum(counts, 255.0), 255.0, strict=False).all()
    # zeros with values just above them are clipping still: a Gaussian noise clipped at 0 in dark areas
    clean = _smooth() - 60.0
    a, b = estimate.poisson_gaussian(np.clip(noise.gaussian(clean, sigma=10, rng=0), 0, 255))
    assert abs(a) < 0.5 and b == pytest.approx(100, rel=0.2)


# --------------------------------------------------------------------------- correlation


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_correlation_of_pure_noise_matches_the_model(beta):
    y = noise.correlated(np.full((200, 220), 80.0), sigma=20, beta=beta, rng=5)
    est = estimate.correlation(y, radius=2)
    cov = noise.correlated_covariance(sigma=1.0, beta=beta, radius=2)
    assert est.sigma == pytest.approx(20, rel=0.05)
    np.testing.assert_allclose(est.rho, cov[4, 5:7], atol=0.05)
    assert est.beta == pytest.approx(beta, abs=0.1)
    assert est.rho.shape == (2,)


@pytest.mark.parametrize("name, along", [("correlated_rows", "rows"), ("correlated_columns", "columns"),
                                         ("correlated", "both")])
def test_correlation_along_each_axis_tells_line_noise_from_noise_correlated_both_ways(name, along):
    y = noise.NOISES[name](np.full((200, 220), 80.0), sigma=20, beta=1.0, rng=5)
    reading = estimate.correlation_axes(y)
    sigma, beta_rows, beta_columns = reading[:3]
    assert sigma == pytest.approx(20, rel=0.05)
    assert beta_rows == pytest.approx(0.0 if along == "columns" else 1.0, abs=0.1)
    assert beta_columns == pytest.approx(0.0 if along == "rows" else 1.0, abs=0.1)
    assert estimate.correlation_direction(reading, least=0.4) == along
    assert reading.sigma_rows == pytest.approx(reading.sigma_columns, rel=0.05)
    # one axis's reading is that axis's correlation: the both-ways reading of line noise falls between
    both = estimate.correlation(y).beta
    assert (both == pytest.approx(1.0, abs=0.1)) if along == "both" else 0.5 < both < 0.9
    read = estimate.AxisReading
    assert estimate.correlation_direction(read(5, 0.95, 0.3, 5, 5.5), least=0.9) == "rows"
    assert estimate.correlation_direction(read(5, 0.3, 0.95, 5, 5.5), least=0.9) == "columns"
    assert estimate.correlation_direction(read(5, 0.95, 0.9, 5, 5), least=0.9) == "both"  # (alike both ways)
    assert estimate.correlation_direction(read(5, 0.8, 0.1, 5, 5), least=0.9) == "both"  # (weaker than asked)
    # the marginal std read apart along the two axes: image texture read as correlation, not stationary noise
    assert estimate.correlation_direction(read(5, 1.0, 0.3, 3.4, 6.3), least=0.9) == "both"
    with pytest.raises(UsageError, match="along must be"):
        estimate.correlation(y, along="x")


def test_correlation_tells_strengths_apart_on_set12(set12):
    for beta in (0.0, 0.5, 1.0):
        right = 0
        for i, clean in enumerate(set12):
            noisy = noise.protocol_noisy(clean, f"correlated:sigma=25,beta={beta}", index=i)
            est = estimate.correlation(noisy, radius=2)
            right += min((0.0, 0.5, 1.0), key=lambda b: abs(b - est.beta)) == beta
        assert right >= 10, (beta, right)


def test_robust_variance_is_smooth_on_quantised_values():
    # 8-bit images and Poisson counts hold quantised values. A median of squares
    # jumps between a few levels there (by 50-70% for a 5% change of the
    # variance), and the correlation estimate compares such variances across lags.
    z = np.random.default_rng(0).normal(0.0, 1.0, 200_000)
    scales = np.linspace(5.0, 8.0, 31)
    est = np.array([estimate._robust_var(np.round(z * s)) for s in scales])
    step = (est[1:] / est[:-1]) / (scales[1:] / scales[:-1]) ** 2
    np.testing.assert_allclose(step, 1.0, atol=0.03)
    assert estimate._robust_var(7.0 * z) == pytest.approx(49.0, rel=0.02)
    assert estimate._robust_var(np.array([3.0])) == 9.0 and estimate._robust_var(np.array([])) == 0.0


def test_correlation_ignores_saturated_areas():
    # the saturated half is the flattest part of the image but carries no noise
    img = np.full((200, 240), 255.0)
    img[:, :100] = np.clip(np.round(100.0 + np.random.default_rng(1).normal(0.0, 20.0, (200, 100))), 0, 255)
    est = estimate.correlation(img)
    assert est.sigma == pytest.approx(20.0, rel=0.1)
    assert est.beta < 0.15


def test_correlation_reads_white_poisson_noise_as_white():
    # BSD68 test001 with PROTOCOL Poisson noise (peak 30) once read beta 0.45 and
    # went to the zero-shot MASH instead of the shipped Poisson model (README)
    from noise2x.pretrained import CORRELATED_BETA

    clean = read_image(data_dir("bsd68") / "test001.png")
    noisy = noise.protocol_noisy(clean, "poisson:peak=30", index=0)
    assert estimate.correlation(noisy).beta < CORRELATED_BETA
    assert estimate.correlation(noise.poisson(_smooth(240, 320), peak=30, rng=3)).beta < 0.15


def test_correlation_threshold_separates_white_and_correlated_noise_on_bsd68():
    # the automatic choice's test: weak white noise on textured photos is the hard
    # case (texture reads as correlation); scripts/correlation_calibration.py has the full table
    from noise2x.pretrained import CORRELATED_BETA

    images = [read_image(p) for p in list_images(data_dir("bsd68"))]

    def betas(spec: str) -> np.ndarray:
        return np.array([estimate.correlation(np.clip(np.round(noise.protocol_noisy(c, spec, index=i)), 0, 255)).beta
                         for i, c in enumerate(images)])

    assert np.sum(betas("gaussian:sigma=10") > CORRELATED_BETA) <= 0.1 * len(images)
    assert np.sum(betas("correlated:sigma=10,beta=0.5") > CORRELATED_BETA) >= 0.95 * len(images)


def test_correlation_growth_stays_near_one_on_noise_and_grows_on_photo_texture():
    """The growth of the correlated reading from the flattest 3% of the pixels to 30%: stationary noise reads alike on
    both (gray and colour); a photo with weak noise whose texture reads as strongly correlated noise grows (BSD68
    test004 and test010 with white noise of sigma 0.3, which the spectrum route left 15.6 and 9.3 dB below the noisy
    input), and the same photos with correlated noise of sigma 10 read near one again."""
    for beta in (0.5, 1.0):
        for seed in (0, 1):
            y = noise.correlated(_smooth(200, 240), sigma=5, beta=beta, rng=seed)
            assert 0.9 < estimate.correlation_growth(y) < 1.1, (beta, seed)
    rgb = noise.correlated(np.stack([_smooth(200, 240)] * 3, -1), sigma=8, beta=1.0, rng=2)
    assert 0.9 < estimate.correlation_growth(rgb) < 1.1
    files = sorted(list_images(data_dir("bsd68")))
    for i in (3, 9):
        clean = read_image(files[i])
        weak = noise.protocol_noisy(clean, "gaussian:sigma=0.3", index=i)
        assert estimate.correlation(weak).beta >= 0.9 and estimate.correlation_growth(weak) > 1.3, i
        strong = noise.protocol_noisy(clean, "correlated:sigma=10,beta=1", index=i)
        assert estimate.correlation_growth(strong) < 1.1, i


def test_correlation_input_errors():
    with pytest.raises(UsageError, match="radius"):
        estimate.correlation(np.zeros((50, 50)), radius=0)
    with pytest.raises(InputError, match="too small"):
        estimate.correlation(np.zeros((20, 20)), radius=5)
    for fraction in (0.0, -0.1, 1.5):
        with pytest.raises(UsageError, match="fraction"):
            estimate.correlation(np.zeros((50, 50)), fraction=fraction)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im, dtype=np.float64)


def test_jpeg_blocks_finds_the_compression_grid_under_noise():
    """jpeg_blocks: near zero on noisy images that never went through JPEG (gray or colour, any noise level); clearly
    positive on noisy JPEGs, even of high quality, with the grid's offset where the JPEG was cropped."""
    from conftest import textured_image

    from noise2x.estimate import jpeg_blocks

    rng = np.random.default_rng(0)
    gray = textured_image(n=200, amp=30.0, seed=1)
    rgb = np.stack([gray, textured_image(n=200, amp=20.0, seed=2), gray[::-1]], axis=-1)
    for clean in (gray, rgb):
        for sigma in (5.0, 15.0, 30.0):
            noisy = np.clip(np.round(clean + sigma * rng.standard_normal(clean.shape)), 0, 255)
            excess, _ = jpeg_blocks(noisy)
            assert abs(excess) < 0.03, (clean.ndim, sigma, excess)
            for quality in (50, 90, 95):
                excess, offset = jpeg_blocks(_jpeg(noisy, quality))
                assert excess > 0.08, (clean.ndim, sigma, quality, excess)
                # (a colour JPEG of quality 50 can put the offset elsewhere: its chroma is on 16-pixel blocks)
                assert offset == (0, 0) or (clean.ndim == 3 and quality == 50), (clean.ndim, sigma, quality, offset)
            excess, offset = jpeg_blocks(_jpeg(noisy, 75)[3:, 5:])  # cropped: the grid moves
            assert excess > 0.08 and offset == (5, 3), (excess, offset)
    big = np.clip(np.round(np.tile(gray, (4, 4)) + 10 * rng.standard_normal((800, 800))), 0, 255)
    excess, offset = jpeg_blocks(_jpeg(big, 90)[1:, 2:])  # (a central window is read: the offset on the whole)
    assert excess > 0.08 and offset == (7, 6), (excess, offset)
    with pytest.raises(UsageError, match="at least 16x16"):
        jpeg_blocks(np.zeros((12, 40)))


def test_jpeg_rounding_tells_a_decoded_jpeg_from_one_with_noise_added_after():
    """jpeg_rounding: on a JPEG as its decoder left it (clean or with noise compressed with it) the near-zero high
    frequencies on the JPEG's grid are moved only by the decoder's rounding (small ratio); white noise of sigma 1
    added after compression spreads them (ratio near 1), though the excess still reads as JPEG; cropped JPEGs
    read on their own grid; colour too."""
    from conftest import textured_image

    from noise2x.estimate import jpeg_blocks, jpeg_rounding
    from noise2x.pretrained import JPEG_EXCESS

    rng = np.random.default_rng(1)
    gray = textured_image(n=200, amp=30.0, seed=4)
    rgb = np.stack([gray, textured_image(n=200, amp=20.0, seed=5), gray[:, ::-1]], axis=-1)
    for clean in (gray, rgb):
        for sigma in (0.0, 10.0, 25.0):
            noisy = np.clip(np.round(clean + sigma * rng.standard_normal(clean.shape)), 0, 255)
            for quality in (50, 90):
                decoded = _jpeg(noisy, quality)
                assert jpeg_rounding(decoded, jpeg_blocks(decoded)[1]) < 0.3, (clean.ndim, sigma, quality)
                cropped = decoded[5:, 2:]
                assert jpeg_rounding(cropped, jpeg_blocks(cropped)[1]) < 0.3
                after = np.clip(np.round(decoded + rng.standard_normal(decoded.shape)), 0, 255)
                excess, offset = jpeg_blocks(after)
                if excess >= JPEG_EXCESS:  # (read as JPEG all the same: the case the ratio is for)
                    assert jpeg_rounding(after, offset) > 0.6, (clean.ndim, sigma, quality)
    with pytest.raises(UsageError, match="at least 16x16"):
        jpeg_rounding(np.zeros((40, 12)))


def test_jpeg_blocks_leaves_out_fills_whose_edges_follow_the_grid():
    """A fill (black, constant) whose edges follow the 8x8 grid beside noisy data never compressed (a cut-out, a
    mosaic) reads no JPEG: blocks mostly of fill would read near-zero high frequencies on that grid. The same
    image saved as JPEG reads as one, as decoded; too few blocks of data: no JPEG seen."""
    from conftest import textured_image

    from noise2x.estimate import jpeg_blocks, jpeg_rounding

    rng = np.random.default_rng(0)
    noisy = np.clip(np.round(textured_image(seed=0) + rng.normal(0, 3, (192, 192))), 0, 255)
    side, stripes = noisy.copy(), noisy.copy()
    side[:, :64] = 0
    for k in range(0, 192, 32):
        stripes[:, k: k + 16] = 0
    for filled in (side, stripes):
        excess, offset = jpeg_blocks(filled)
        assert excess < 0.03 and jpeg_rounding(filled, offset) > 0.6, (excess, offset)
        assert jpeg_blocks(filled, mask=filled > 0)[0] < 0.03
        excess, offset = jpeg_blocks(_jpeg(filled, 75))
        assert excess > 0.3 and offset == (0, 0) and jpeg_rounding(_jpeg(filled, 75), offset) < 0.2
    assert jpeg_blocks(_jpeg(noisy[:64, :72], 50)) == (0.0, (0, 0))


def test_jpeg_fine_steps_tells_a_near_lossless_jpeg():
    """jpeg_fine_steps: up to quality 90 JPEG's steps for the high frequencies are 14 and more, and no coefficient
    lies between 4 and 10 on its grid; from 95 on they are 7 or less, and many do (gray and colour, clean or
    noisy); noise never compressed spreads them too, but reads as no JPEG (jpeg_blocks)."""
    from conftest import textured_image

    from noise2x.estimate import jpeg_blocks, jpeg_fine_steps

    rng = np.random.default_rng(3)
    clean = textured_image(seed=2)
    for image in (clean, np.stack([clean, clean[::-1], clean.T], axis=-1)):
        for sigma in (0, 5):
            noisy = np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255)
            for quality, fine in ((50, False), (75, False), (90, False), (95, True), (98, True)):
                decoded = _jpeg(noisy, quality)
                share = jpeg_fine_steps(decoded, jpeg_blocks(decoded)[1])
                assert (share > 0.002) if fine else (share < 0.0005), (image.ndim, sigma, quality, share)
    with pytest.raises(UsageError, match="jpeg_fine_steps: needs a gray or RGB image"):
        jpeg_fine_steps(np.zeros((40, 12)))


def test_the_estimators_constants_are_scipy_stats_laws_without_scipy_stats():
    """Two constants of the estimators came from scipy.stats, whose slow import burdened the first estimate of
    every process (a performance QA pass); scipy.special gives the same laws."""
    import subprocess
    import sys

    from scipy import stats

    assert estimate._lower_half_mean_chi2() == pytest.approx(stats.chi2.cdf(stats.chi2.ppf(0.5, 1), 3) / 0.5,
                                                             rel=1e-12)
    shape, scale = estimate._texture_law(estimate._PATCH)
    assert estimate._texture_threshold() == pytest.approx(stats.gamma.ppf(estimate._CONF, shape, scale=scale),
                                                          rel=1e-12)
    code = "import sys, numpy as np; from noise2x import estimate; estimate.sigma(np.random.default_rng(0).normal(" \
           "100, 5, (64, 64))); print('scipy.stats' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr


def test_window_counts_of_a_mask_are_exact_integers():
    """The fill and clipping maps count a mask's pixels per window in integers (half the memory traffic of the
    float64 sums they replaced, a performance QA pass): the same counts, and no overflow on a full mask."""
    from noise2x.estimate import _box_sum

    rng = np.random.default_rng(0)
    mask = rng.random((120, 90)) < 0.3
    counts = _box_sum(mask, 7, 5)
    assert counts.dtype.kind == "i" and counts.shape == (114, 86)
    assert np.array_equal(counts, _box_sum(mask.astype(np.float64), 7, 5))
    assert counts[3, 4] == np.count_nonzero(mask[3:10, 4:9])
    assert np.all(_box_sum(np.ones((50, 60), bool), 50, 60) == 3000)


def test_stripes_read_offsets_shared_by_whole_columns_or_rows():
    """A thermal QA pass: column offsets of 12 counts (a microbolometer's fixed-pattern noise) were read as white
    noise and kept by every route, unsaid. estimate.stripes reads their std, along the right axis, and the white
    noise alone (or a smooth scene) reads next to nothing."""
    from noise2x import estimate

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:240]
    scene = 40 + 60 * yy / 200 + 50 * (((xx - 150) ** 2 + (yy - 80) ** 2) < 40 ** 2)
    offsets = rng.normal(0, 6, 240)
    noisy = scene + rng.normal(0, 5, scene.shape) + offsets[None, :]
    columns, rows = estimate.stripes(noisy)
    assert columns == pytest.approx(offsets.std(), rel=0.15) and rows < 1.0, (columns, rows)
    assert estimate.stripes(noisy.T) == pytest.approx((rows, columns))
    white = estimate.stripes(scene + rng.normal(0, 5, scene.shape))
    assert max(white) < 0.3, white  # (without what the halves share: about 0.4)
    rgb = np.stack([noisy, noisy + 3, noisy - 3], axis=-1)  # (a colour image: the median of its channels)
    assert estimate.stripes(rgb)[0] == pytest.approx(columns, rel=0.05)
    fabric = 40 + 30 * np.sin(xx / 3.0) + rng.normal(0, 2, xx.shape)  # (a scene's stripes, smooth across lines: a
    assert estimate.stripes(fabric) == (0.0, 0.0)  # re-check found a fabric noted)
    assert estimate.stripes(noisy[:100, :120]) == (0.0, 0.0)  # (too small to tell: 64-pixel crops of photos were)
    # a sinogram's stripes (a detector's bins: ring artefacts once reconstructed) beside its discs' sinusoidal traces,
    # which made neighbouring differences share too little of them (-0.17): read 0, unnoted (a tomography QA pass);
    # the test now leaves out the differences' running median, the traces' change from bin to bin
    theta = np.linspace(0, np.pi, 180, endpoint=False)[:, None]
    s = np.arange(128.0)[None, :] - 63.5
    sinogram = np.zeros((180, 128))
    for (cx, cy), r, mu in (((15, 10), 25, 0.02), ((-20, -15), 15, 0.03), ((0, 0), 55, 0.01)):
        along = s - (cx * np.cos(theta) + cy * np.sin(theta))
        sinogram += 2 * mu * np.sqrt(np.clip(r * r - along ** 2, 0, None))
    bins = rng.normal(0, 0.05, 128)
    columns, rows = estimate.stripes(sinogram + rng.normal(0, 0.01, sinogram.shape) + bins[None, :])
    assert columns == pytest.approx(bins.std(), rel=0.15) and rows < 0.2 * columns, (columns, rows, bins.std())
