"""Noise models: PROTOCOL equations, seeds, moments, correlated covariance, spec strings."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from noise2x import noise
from noise2x.errors import InputError, UsageError
from noise2x.noise import NOISES, NoiseSpec, parse_noise

# one concrete spec per model (every entry of NOISES must appear)
SPECS = {
    "gaussian": "gaussian:sigma=25",
    "poisson": "poisson:peak=30",
    "poisson_gaussian": "poisson_gaussian:peak=30,sigma=5",
    "correlated": "correlated:sigma=25,beta=0.5",
    "correlated_rows": "correlated_rows:sigma=25,beta=0.5",
    "correlated_columns": "correlated_columns:sigma=25,beta=1,radius=1",
    "impulse": "impulse:p=0.2",
    "salt_pepper": "salt_pepper:p=0.2",
    "bernoulli": "bernoulli:p=0.3",
    "text": "text:p=0.25",
    "speckle": "speckle:looks=4",
}


def test_every_model_has_a_spec_in_these_tests():
    assert set(SPECS) == set(NOISES)
    for name, fn in NOISES.items():
        assert fn.__name__ == name
        params = inspect.signature(fn).parameters
        assert "rng" in params and params["rng"].kind is inspect.Parameter.KEYWORD_ONLY


# --------------------------------------------------------------------------- PROTOCOL.md verbatim


def test_gaussian_is_protocol_equation(gray_image):
    for i in (0, 3, 67):
        expected = gray_image + 25 * np.random.default_rng(i).standard_normal(gray_image.shape)
        np.testing.assert_array_equal(noise.gaussian(gray_image, sigma=25, rng=i), expected)
        np.testing.assert_array_equal(noise.protocol_noisy(gray_image, "gaussian:sigma=25", index=i), expected)
    noisy = noise.gaussian(gray_image, sigma=50, rng=0)
    assert noisy.min() < 0 or noisy.max() > 255  # not clipped


def test_poisson_is_protocol_equation(rgb_image):
    for i in (0, 5):
        rng = np.random.default_rng(i)
        expected = 255 * rng.poisson(30 * rgb_image / 255) / 30
        np.testing.assert_array_equal(noise.poisson(rgb_image, peak=30, rng=i), expected)
        np.testing.assert_array_equal(noise.protocol_noisy(rgb_image, parse_noise("poisson:peak=30"), index=i), expected)


def test_poisson_gaussian_draws_poisson_first(gray_image):
    rng = np.random.default_rng(4)
    expected = 255 * rng.poisson(10 * gray_image / 255) / 10
    expected = expected + 3 * rng.standard_normal(gray_image.shape)
    np.testing.assert_array_equal(noise.poisson_gaussian(gray_image, peak=10, sigma=3, rng=4), expected)


def test_training_seeds():
    assert noise.protocol_train_seed(0) == 1000
    assert noise.protocol_train_seed(7) == 1007
    assert noise.protocol_train_seed(7, second=True) == 2007


# --------------------------------------------------------------------------- seeds, purity, shapes


@pytest.mark.parametrize("name", sorted(SPECS))
def test_seed_determinism(name, gray_image):
    spec = parse_noise(SPECS[name])
    a = spec.apply(gray_image, rng=1)
    b = spec.apply(gray_image, rng=1)
    c = spec.apply(gray_image, rng=2)
    d = spec.apply(gray_image, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d)
    assert not np.array_equal(a, c)
    assert spec.apply(gray_image).shape == gray_image.shape  # rng=None works


@pytest.mark.parametrize("name", sorted(SPECS))
def test_inputs_not_mutated_and_shapes_kept(name, gray_image, rgb_image):
    spec = parse_noise(SPECS[name])
    for image in (gray_image, rgb_image, gray_image[..., None], gray_image.astype(np.uint8)):
        before = image.copy()
        out = spec.apply(image, rng=0)
        np.testing.assert_array_equal(image, before)
        assert out.shape == image.shape and out.dtype == np.float64
        assert not np.shares_memory(out, image)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bad_clean_image_is_an_input_error(name):
    bad = np.zeros((9, 9))
    bad[2, 2] = np.nan
    with pytest.raises(InputError, match="clean has 1 NaN"):
        parse_noise(SPECS[name]).apply(bad, rng=0)
    with pytest.raises(InputError, match="shape"):
        parse_noise(SPECS[name]).apply(np.zeros((9, 9, 2)), rng=0)


def test_bad_parameter_values_in_direct_calls(gray_image):
    with pytest.raises(UsageError, match="sigma"):
        noise.gaussian(gray_image, sigma=-1)
    with pytest.raises(UsageError, match="peak"):
        noise.poisson(gray_image, peak=0)
    with pytest.raises(UsageError, match=r"p must be in \[0, 1\]"):
        noise.impulse(gray_image, p=1.5)
    with pytest.raises(UsageError, match="beta"):
        noise.correlated(gray_image, sigma=1, beta=2)
    with pytest.raises(UsageError, match="radius must be a whole number"):
        noise.correlated(gray_image, sigma=1, beta=0.5, radius=1.5)


# --------------------------------------------------------------------------- moments on a flat image

FLAT = 100.0
N = 200 * 250


def _flat():
    return np.full((200, 250), FLAT)


def _close(value, expected, std_error, k=5.0):
    assert abs(value - expected) < k * std_error, (value, expected, std_error)


def test_gaussian_moments():
    y = noise.gaussian(_flat(), sigma=20, rng=0)
    _close(y.mean(), FLAT, 20 / np.sqrt(N))
    _close(y.var(), 400, 400 * np.sqrt(2 / N))


def test_poisson_moments():
    y = noise.poisson(_flat(), peak=30, rng=0)
    var = 255 * FLAT / 30
    _close(y.mean(), FLAT, np.sqrt(var / N))
    _close(y.var(), var, var * np.sqrt(2 / N))
    from noise2x.errors import UnitsWarning

    with pytest.warns(UnitsWarning, match="100% of its values below 0"):  # negative rate clamped, and said
        assert noise.poisson(np.full((5, 5), -10.0), peak=30, rng=0).max() == 0


def test_poisson_gaussian_moments():
    y = noise.poisson_gaussian(_flat(), peak=30, sigma=10, rng=0)
    var = 255 * FLAT / 30 + 100
    _close(y.mean(), FLAT, np.sqrt(var / N))
    _close(y.var(), var, var * np.sqrt(2 / N))


def test_impulse_moments():
    p, r = 0.2, 255.0
    y = noise.impulse(_flat(), p=p, rng=0)
    mean = (1 - p) * FLAT + p * r / 2
    second = (1 - p) * FLAT**2 + p * r**2 / 3
    _close(y.mean(), mean, np.sqrt((second - mean**2) / N))
    _close(np.mean(y**2), second, np.std(y**2) / np.sqrt(N))
    changed = y != FLAT
    _close(changed.mean(), p, np.sqrt(p * (1 - p) / N))
    assert y.min() >= 0 and y.max() <= r


def test_impulse_of_whole_pixels():
    """whole=1: a pixel's channels replaced together, by a random colour (the papers' colour impulse noise); the
    default, channel by channel, draws as it did, and its specs read as they did."""
    colour = np.full((200, 200, 3), FLAT)
    y = noise.impulse(colour, p=0.4, rng=0, whole=1)
    replaced = (y != colour).sum(axis=-1)
    assert set(np.unique(replaced)) == {0, 3}
    _close((replaced == 3).mean(), 0.4, np.sqrt(0.24 / replaced.size))
    g = np.random.default_rng(0)
    hit = g.random(colour.shape) < 0.4
    np.testing.assert_array_equal(noise.impulse(colour, p=0.4, rng=0), np.where(hit, g.uniform(0, 255, colour.shape),
                                                                                colour))
    gray = colour[..., 0]
    np.testing.assert_array_equal(noise.impulse(gray, p=0.4, rng=3, whole=1), noise.impulse(gray, p=0.4, rng=3))
    assert str(noise.parse_noise("impulse:p=0.4")) == "impulse:p=0.4"
    assert str(noise.parse_noise("impulse:p=0.4,whole=1")) == "impulse:p=0.4,whole=1"
    for bad in ("impulse:p=0.4,whole=0.5", "impulse:p=0.4,whole=0..1", "impulse:p=0.4,whole=2"):
        with pytest.raises(UsageError):
            noise.parse_noise(bad)
    with pytest.raises(UsageError, match="whole must be a whole number"):
        noise.impulse(colour, p=0.4, whole=0.5)


def test_salt_pepper_moments():
    p, r = 0.1, 255.0
    y = noise.salt_pepper(_flat(), p=p, rng=0)
    assert set(np.unique(y)) == {0.0, FLAT, r}
    _close((y == 0).mean(), p / 2, np.sqrt(p / 2 / N))
    _close((y == r).mean(), p / 2, np.sqrt(p / 2 / N))


def test_bernoulli_moments():
    p = 0.3
    y = noise.bernoulli(_flat(), p=p, rng=0)
    assert set(np.unique(y)) == {0.0, FLAT}
    _close(y.mean(), (1 - p) * FLAT, FLAT * np.sqrt(p * (1 - p) / N))


def test_rgb_channel_rules(rgb_image):
    big = np.tile(rgb_image, (4, 4, 1)) + 1.0  # no exact zeros
    dropped = noise.bernoulli(big, p=0.5, rng=0) == 0
    assert np.array_equal(dropped[..., 0], dropped[..., 1]) and np.array_equal(dropped[..., 0], dropped[..., 2])
    sp = noise.salt_pepper(big, p=0.5, rng=0)
    hit = (sp == 0) | (sp == 255)
    assert np.array_equal(hit.all(-1), hit.any(-1))  # whole pixels turn black or white
    imp = noise.impulse(big, p=0.5, rng=0) != big
    assert not np.array_equal(imp[..., 0], imp[..., 1])  # channels hit independently


def test_text_covers_the_target_fraction(gray_image, rgb_image):
    big = np.tile(rgb_image, (3, 3, 1))
    for p in (0.1, 0.25, 0.5):
        y = noise.text(big, p=p, rng=3)
        changed = (y != big).any(-1).mean()
        assert p - 0.03 <= changed <= p + 0.15  # covered pixels may keep a colour by chance
        assert y.min() >= 0 and y.max() <= 255
    np.testing.assert_array_equal(noise.text(gray_image, p=0.0, rng=0), gray_image)
    y16 = noise.text(np.zeros((60, 70)), p=0.3, rng=1, data_range=65535.0)
    assert y16.max() > 255 and y16.max() <= 65535


# --------------------------------------------------------------------------- correlated noise


@pytest.mark.parametrize("beta, radius", [(0.0, 2), (0.5, 2), (1.0, 2), (0.7, 1), (0.8, 3)])
def test_correlated_autocovariance_matches_theory(beta, radius):
    sigma = 10.0
    y = noise.correlated(np.zeros((300, 320)), sigma=sigma, beta=beta, radius=radius, rng=11)
    cov = noise.correlated_covariance(sigma=sigma, beta=beta, radius=radius)
    c = 2 * radius
    h, w = y.shape
    for dy, dx in [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 1), (2, 2), (0, c), (c, c), (0, c + 1)]:
        empirical = np.mean(y[: h - dy, : w - dx] * y[dy:, dx:])
        theory = cov[c + dy, c + dx] if max(dy, dx) <= c else 0.0
        assert abs(empirical - theory) < 0.04 * sigma**2, (dy, dx, empirical, theory)


@pytest.mark.parametrize("name, along", [("correlated_rows", "rows"), ("correlated_columns", "columns")])
def test_row_and_column_correlated_noise_spreads_along_one_axis(name, along):
    sigma, radius = 10.0, 2
    y = noise.NOISES[name](np.zeros((320, 300)), sigma=sigma, beta=0.75, radius=radius, rng=3)
    cov = noise.correlated_covariance(sigma=sigma, beta=0.75, radius=radius, along=along)
    c = 2 * radius
    assert cov[c, c + 1] != cov[c + 1, c] and cov[c + 1, c + 1] == 0.0
    h, w = y.shape
    for dy, dx in [(0, 0), (0, 1), (1, 0), (1, 1), (0, 3), (3, 0), (0, c), (c, 0), (0, c + 1), (c + 1, 0)]:
        empirical = np.mean(y[: h - dy, : w - dx] * y[dy:, dx:])
        theory = cov[c + dy, c + dx] if max(dy, dx) <= c else 0.0
        assert abs(empirical - theory) < 0.04 * sigma**2, (dy, dx, empirical, theory)
    # (the both-axes model's draws are as they were: its box, then the white field, from the same generator)
    both = noise.correlated(np.zeros((20, 24)), sigma=3, beta=0.5, radius=1, rng=5)
    g = np.random.default_rng(5)
    white, canvas = g.standard_normal((20, 24)), g.standard_normal((22, 26))
    box = sum(canvas[i : i + 20, j : j + 24] for i in range(3) for j in range(3)) / 3
    np.testing.assert_allclose(both, 3 * (np.sqrt(0.5) * white + np.sqrt(0.5) * box), atol=1e-12)
    assert parse_noise(f"{name}:sigma=5,beta=0").gaussian_sigma == 5.0


def test_correlated_covariance_is_valid_and_decays():
    for beta in (0.0, 0.3, 1.0):
        cov = noise.correlated_covariance(sigma=2.0, beta=beta, radius=2)
        assert cov.shape == (9, 9)
        assert cov[4, 4] == pytest.approx(4.0)
        np.testing.assert_allclose(cov, cov[::-1, ::-1])
        spectrum = np.real(np.fft.fft2(np.fft.ifftshift(np.pad(cov, 20))))
        assert spectrum.min() > -1e-9  # positive semi-definite (Bochner)
        row = cov[4, 4:]
        assert np.all(np.diff(row) <= 1e-12)  # decays with distance
    near = [noise.correlated_covariance(sigma=1, beta=b, radius=2)[4, 5] for b in (0, 0.25, 0.5, 0.75, 1)]
    assert np.all(np.diff(near) > 0)  # beta reads as a strength


def test_correlated_rgb_channels_are_independent_and_edges_stationary():
    y = noise.correlated(np.zeros((150, 160, 3)), sigma=10, beta=1.0, rng=2)
    corr = np.corrcoef(y.reshape(-1, 3).T)
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < 0.05
    edge_var = np.mean(y[[0, -1], :, :] ** 2)  # borders keep the marginal variance
    assert abs(edge_var - 100) < 15


# --------------------------------------------------------------------------- spec strings


@pytest.mark.parametrize(
    "text, name, params",
    [
        ("gaussian:sigma=25", "gaussian", {"sigma": 25.0}),
        (" Gaussian : sigma = 25 ", "gaussian", {"sigma": 25.0}),
        ("poisson", "poisson", {"peak": 30.0}),
        ("poisson:peak=5,data_range=65535", "poisson", {"peak": 5.0, "data_range": 65535.0}),
        ("correlated:sigma=25,beta=0.5", "correlated", {"sigma": 25.0, "beta": 0.5, "radius": 2.0}),
        ("gaussian:sigma=0..50", "gaussian", {"sigma": (0.0, 50.0)}),
        ("gaussian:sigma=5..5", "gaussian", {"sigma": 5.0}),
        ("salt-pepper:p=0.1", "salt_pepper", {"p": 0.1}),
        ("text", "text", {"p": 0.25}),
    ],
)
def test_parse_valid_specs(text, name, params):
    spec = parse_noise(text)
    assert spec.name == name and spec.params == params
    assert parse_noise(str(spec)) == spec
    assert parse_noise(spec) is spec


def test_canonical_strings_round_trip():
    for text in [*SPECS.values(), "gaussian:sigma=0.1..49.9", "impulse:p=0.123456789", "text:p=0..0.5"]:
        spec = parse_noise(text)
        again = parse_noise(str(spec))
        assert again == spec and hash(again) == hash(spec) and str(again) == str(spec)
    assert str(parse_noise("correlated:beta=0.5,sigma=25")) == "correlated:sigma=25,beta=0.5,radius=2"
    assert str(parse_noise("poisson")) == "poisson:peak=30"


def test_spec_properties(gray_image):
    assert parse_noise("gaussian:sigma=25").gaussian_sigma == 25.0
    assert parse_noise("gaussian:sigma=0..50").gaussian_sigma is None
    assert parse_noise("correlated:sigma=15,beta=0").gaussian_sigma == 15.0
    assert parse_noise("correlated:sigma=15,beta=0.5").gaussian_sigma is None
    assert parse_noise("poisson").gaussian_sigma is None
    assert parse_noise("gaussian:sigma=0..50").is_random_level
    assert not parse_noise("gaussian:sigma=5").is_random_level


def test_random_level_draws_from_the_same_rng(gray_image):
    spec = parse_noise("gaussian:sigma=0..50")
    levels = [spec.sample(i).params["sigma"] for i in range(200)]
    assert 0 <= min(levels) and max(levels) <= 50 and np.std(levels) > 10
    rng = np.random.default_rng(9)
    level = rng.uniform(0, 50)
    expected = gray_image + level * rng.standard_normal(gray_image.shape)
    np.testing.assert_array_equal(spec.apply(gray_image, rng=9), expected)
    fixed = parse_noise("gaussian:sigma=5")
    assert fixed.sample(0) is fixed


def test_direct_construction_validates():
    assert NoiseSpec("gaussian", {"sigma": 3}) == parse_noise("gaussian:sigma=3")
    with pytest.raises(UsageError, match="needs parameter 'sigma'"):
        NoiseSpec("gaussian", {})
    with pytest.raises(UsageError, match="valid models"):
        NoiseSpec("gauss", {"sigma": 3})


@pytest.mark.parametrize(
    "text, message",
    [
        ("foo", "unknown noise model 'foo'.*" + ", ".join(NOISES)),
        ("", "empty noise spec.*gaussian"),
        ("gaussian", r"needs parameter 'sigma'.*sigma \(required\)"),
        ("gaussian:sig=3", r"unknown parameter 'sig'.*it takes: sigma \(required\)"),
        ("poisson:sigma=3", r"unknown parameter 'sigma'.*peak \(default 30\), data_range \(default 255\)"),
        ("gaussian:sigma=abc", "must be a number or a range"),
        ("gaussian:sigma=2_5", "must be a number or a range"),  # (float() reads 25: a typo passed, a noise QA pass)
        ("gaussian:sigma=\u0662\u0665", "must be a number or a range"),  # (Arabic-Indic digits: float() reads 25)
        ("gaussian:sigma=0x10", "must be a number or a range"),
        ("gaussian:sigma", "write key=value"),
        ("gaussian:sigma=1,sigma=2", "given twice"),
        ("gaussian:sigma=-1", r"sigma must be in \[0, 1e\+15\]"),
        ("poisson:peak=1e-300", r"peak must be in \[1e-09, 1e\+15\]"),  # (overflowed the Anscombe transform)
        ("impulse:p=2", r"p must be in \[0, 1\]"),
        ("gaussian:sigma=50..5", "empty"),
        ("gaussian:sigma=nan", "finite"),
        ("correlated:sigma=1,beta=0.5,radius=1..3", "cannot be a range"),
        ("correlated:sigma=1,beta=0.5,radius=1.5", "whole number"),
    ],
)
def test_spec_errors_name_the_problem(text, message):
    with pytest.raises(UsageError, match=message):
        parse_noise(text)


def test_non_string_spec_is_a_usage_error():
    with pytest.raises(UsageError, match="must be a string"):
        parse_noise(25)


@pytest.mark.parametrize("rng", ["a", 1.5, -1])
def test_a_wrong_kind_of_rng_is_one_usage_error(rng):
    """rng='a', 1.5 or -1 raised numpy's TypeError/ValueError from inside (SeedSequence expects int...)."""
    from noise2x.errors import UsageError

    clean = np.full((16, 16), 100.0)
    for spec in ("gaussian:sigma=5", "poisson:peak=10", "correlated:sigma=5,beta=0.5", "impulse:p=0.1"):
        with pytest.raises(UsageError, match="rng must be None, a non-negative integer"):
            noise.parse_noise(spec).apply(clean, rng=rng)
    assert np.array_equal(noise.gaussian(clean, sigma=5, rng=3), noise.gaussian(clean, sigma=5,
                                                                                 rng=np.random.default_rng(3)))


def test_a_poisson_peak_on_an_image_in_other_units_is_warned_of_from_python(gray_image):
    """From Python a Poisson spec (peak counted at 255) on a [0, 1] image said nothing: noise.poisson made it the
    values 0, 8.5 and 17, and denoise(noise="poisson:peak=30") came back at 14 dB instead of 35 (the Python API QA
    pass; the CLI said so). Both now warn (UnitsWarning); 8-bit images, or a spec with its data_range, do not."""
    import warnings

    import noise2x
    from noise2x.errors import UnitsWarning

    unit = gray_image / 255.0
    with pytest.warns(UnitsWarning, match=r"data_range 255 .* in \[0, 1\].*data_range=1"):
        noise.poisson(unit, peak=30, rng=0)
    for call in (lambda: parse_noise("poisson:peak=30").apply(unit, rng=0),  # (said at the caller's line, not at
                 lambda: noise2x.denoise(gray_image * 257, method="nlm", noise="gaussian:sigma=12", threads=1)):
        with pytest.warns(UnitsWarning) as said:  # noise2x's own: a QA re-check)
            call()
        assert said[0].filename == __file__, said[0].filename
    with pytest.warns(UnitsWarning, match=r"larger units.*data_range=65535"):
        noise.salt_pepper(gray_image * 257, p=0.1, rng=0)
    with warnings.catch_warnings(record=True) as said:  # many [0, 1] images (a training folder): said once, not
        warnings.simplefilter("default")  # once per image, whose top value was in the text (a QA pass)
        for k in range(4):
            noise.poisson(unit * (0.6 + 0.1 * k), peak=30, rng=k)
    assert len(said) == 1
    noisy = noise.poisson(unit, peak=30, rng=0, data_range=1)
    with pytest.warns(UnitsWarning, match=r"peak counts photons at the value 255.*poisson:peak=30,data_range=1"):
        noise2x.denoise(noisy, method="nlm", noise="poisson:peak=30")
    info: dict = {}
    with pytest.warns(UnitsWarning):  # (the no-option route says the peak where its range is read: "30 given,
        noise2x.denoise(noisy, noise="poisson:peak=30", info=info)  # below the range 1..10" read as a contradiction)
    assert "peak 30 given (0.118 in the model's 8-bit units: the spec counts at 255)" in info["auto"], info
    with pytest.warns(UnitsWarning, match="sigma 12 is 0.0.* in 8-bit units, next to nothing"):  # (an 8-bit sigma
        noise2x.denoise(gray_image * 257, method="nlm", noise="gaussian:sigma=12")  # on 16-bit data: a QA re-check)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise.poisson(gray_image, peak=30, rng=0)  # (8-bit: nothing said)
        noise.poisson(unit, peak=30, rng=0, data_range=1)
        noise2x.denoise(noisy, method="nlm", noise="poisson:peak=30,data_range=1")
        noise2x.denoise(noise.poisson(gray_image, peak=30, rng=0), method="nlm", noise="poisson:peak=30")
        noise2x.denoise(np.full((32, 32), 7.0), method="nlm", noise="gaussian:sigma=5")  # (flat: says nothing)


def test_a_sigma_beyond_the_full_scale_of_an_image_in_0_1_is_warned_of(gray_image):
    """gaussian:sigma=25 (an 8-bit figure, the README's) on [0, 1] arrays trained a model on pure noise, unsaid,
    where Poisson noise warned (a QA pass). sigma is in the image's units: a warning, not an error."""
    import warnings

    from noise2x.errors import UnitsWarning

    unit = gray_image / 255.0
    for call in (lambda: noise.gaussian(unit, sigma=25, rng=0),
                 lambda: noise.correlated(unit, sigma=25, beta=0.5, rng=0),
                 lambda: noise.poisson_gaussian(unit, peak=30, sigma=10, data_range=1, rng=0),
                 lambda: parse_noise("gaussian:sigma=25").apply(unit, rng=0),
                 lambda: noise.gaussian(unit * 1.1 - 0.05, sigma=25, rng=0)):  # (percentile-normalised)
        with pytest.warns(UnitsWarning, match=r"noise of a sigma of 1 or more on an image in \[0, 1\].*25 -> 0\.098"):
            call()
    with warnings.catch_warnings(record=True) as said:  # a range's draws: one line (was one per drawn sigma)
        warnings.simplefilter("default")
        spec = parse_noise("gaussian:sigma=0..50")
        for k in range(6):
            spec.apply(unit, rng=k)
    assert len(said) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise.gaussian(unit, sigma=25 / 255, rng=0)
        noise.gaussian(gray_image, sigma=25, rng=0)  # (8-bit)
        noise.correlated(np.ones((9, 9)), sigma=5, beta=0.5, rng=0)  # (no fractions: not read as [0, 1])
        noise.gaussian(unit * 2 - 1, sigma=1, rng=0)  # ([-1, 1]: not called [0, 1], a QA re-check)
