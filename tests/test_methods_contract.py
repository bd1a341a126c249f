"""The contract every training method in METHODS must pass (a new method is picked up automatically)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from noise2x.data import Batch
from noise2x.errors import UsageError
from noise2x.methods import METHODS, get_method
from noise2x.methods.base import BATCH_FIELDS, PRESETS, Method
from noise2x.models import ScaledModel, build_model

NAMES = sorted(METHODS)


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_model(method: Method, channels: int = 1, seed: int = 0) -> ScaledModel:
    arch, args = method.default_model(channels=channels, preset="tiny")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_model(arch, **args)
    return ScaledModel(net, arch=arch, arch_args=args, mean=[120.0] * channels, std=[60.0] * channels)


def make_batch(image: np.ndarray, *, n: int = 4, size: int = 32, sigma: float = 25.0, seed: int = 0) -> Batch:
    """Patches of a smooth image with two independent Gaussian noise draws (all Batch fields)."""
    rng = np.random.default_rng(seed)
    img = image if image.ndim == 3 else image[:, :, None]
    tiled = np.tile(img, (3, 3, 1))
    ys = rng.integers(0, tiled.shape[0] - size, n)
    xs = rng.integers(0, tiled.shape[1] - size, n)
    clean = np.stack([tiled[y:y + size, x:x + size] for y, x in zip(ys, xs)]).transpose(0, 3, 1, 2)
    clean_t = torch.as_tensor(clean, dtype=torch.float32)
    noisy = clean_t + sigma * torch.as_tensor(rng.standard_normal(clean.shape), dtype=torch.float32)
    noisy2 = clean_t + sigma * torch.as_tensor(rng.standard_normal(clean.shape), dtype=torch.float32)
    return Batch(noisy=noisy, noisy2=noisy2, clean=clean_t)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", NAMES)
def test_declares_the_contract(name):
    cls = METHODS[name]
    assert issubclass(cls, Method) and cls.name == name
    assert "noisy" in cls.requires and cls.requires <= BATCH_FIELDS
    assert dataclasses.is_dataclass(cls.Options)
    m = get_method(name)
    assert dataclasses.asdict(m.options) == m.options_dict()
    assert get_method(name, m.options_dict()).options == m.options  # options survive a model file
    for preset in PRESETS:
        arch, args = m.default_model(channels=3, preset=preset)
        net = build_model(arch, **args)  # a valid architecture for every preset
        assert net is not None


@pytest.mark.parametrize("name", NAMES)
def test_loss_is_a_finite_scalar_and_keeps_inputs(name, gray_image):
    m = get_method(name)
    model = tiny_model(m)
    batch = make_batch(gray_image)
    before = {f: getattr(batch, f).clone() for f in batch.fields}
    losses = m.loss(model, batch, rng=gen(), progress=0.3)
    assert "model" in losses
    for value in losses.values():
        assert value.dim() == 0 and torch.isfinite(value) and value.requires_grad
    assert all(torch.equal(getattr(batch, f), before[f]) for f in batch.fields)


@pytest.mark.parametrize("name", NAMES)
def test_one_step_changes_the_weights(name, gray_image):
    m = get_method(name)
    model = tiny_model(m)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(m.parameters_for("model", model), lr=1e-3)
    loss = m.loss(model, make_batch(gray_image), rng=gen())["model"]
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed >= len(before) // 2


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [1, 3])
def test_predict_keeps_shape_at_odd_sizes(name, channels, gray_image, rgb_image):
    m = get_method(name)
    model = tiny_model(m, channels).eval()
    image = gray_image if channels == 1 else rgb_image
    x = torch.as_tensor(image, dtype=torch.float32).reshape(37, 31, channels).permute(2, 0, 1)[None]
    with torch.inference_mode():
        y = m.predict(model, x)
    assert y.shape == (1, channels, 37, 31) and torch.isfinite(y).all()
    # image units in and out: the output sits in the input's range, not the normalised one
    assert 20 < float(y.mean()) < 240


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_few_dozen_steps_lower_the_loss(name, precision, gray_image):
    """In float32, and with the loss under torch.autocast in bfloat16 (train.precision=bf16; weights stay float32)."""
    m = get_method(name)
    model = tiny_model(m)
    batch = make_batch(gray_image, n=4, size=32)
    opt = torch.optim.Adam(m.parameters_for("model", model), lr=3e-3)

    def evaluate() -> float:
        with torch.no_grad():
            return float(np.mean([float(m.loss(model, batch, rng=gen(s), progress=0.5)["model"]) for s in range(3)]))

    start = evaluate()
    g = gen(1)
    for _ in range(40):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = m.loss(model, batch, rng=g, progress=0.5)["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert evaluate() < 0.9 * start


def test_noise2noise_losses():
    from noise2x.methods.noise2noise import Noise2Noise

    model = ScaledModel(torch.nn.Identity(), arch="unet", arch_args={}, mean=[0.0], std=[10.0])
    x = torch.zeros(2, 1, 4, 4)
    y = torch.full((2, 1, 4, 4), 20.0)  # 2 normalised units apart
    batch = Batch(noisy=x, noisy2=y)
    loss = lambda **o: float(Noise2Noise({"swap": False, **o}).loss(model, batch, rng=gen(), progress=0.5)["model"])
    assert loss(loss="l2") == pytest.approx(4.0)
    assert loss(loss="l1") == pytest.approx(2.0)
    assert loss(loss="l0") == pytest.approx(2.0, rel=1e-6)  # gamma = 1 halfway through
    l0 = Noise2Noise({"loss": "l0"})
    assert l0.gamma(0.0) == 2.0 and l0.gamma(1.0) == 0.0 and l0.gamma(0.25) == pytest.approx(1.5)
    # swapping input and target per sample keeps the symmetric loss
    assert float(Noise2Noise().loss(model, batch, rng=gen(), progress=0)["model"]) == pytest.approx(4.0)
    assert Noise2Noise().options.loss == "auto"
    assert Noise2Noise().with_noise(None).options.loss == "l2"
    assert Noise2Noise().with_noise("text:p=0.2").options.loss == "l1"
    assert Noise2Noise().with_noise("impulse:p=0.5").options.loss == "l0"
    # pixel dropout: its mean is (1 - p) times the clean value (L2 learned a darkened image, in a QA pass), its
    # median the clean value
    assert Noise2Noise().with_noise("bernoulli:p=0.3").options.loss == "l1"
    # ... at half the pixels or more its median is 0 too: L1 learned a black image (the QA re-check): refused
    with pytest.raises(UsageError, match="cannot learn pixel dropout of p=0.7"):
        Noise2Noise().with_noise("bernoulli:p=0.7")
    assert Noise2Noise({"loss": "l2"}).with_noise("bernoulli:p=0.7").options.loss == "l2"  # (asked for)
    assert Noise2Noise({"loss": "l1"}).with_noise("gaussian:sigma=25").options.loss == "l1"
    with pytest.raises(ValueError, match="valid: auto, l2, l1, l0"):
        Noise2Noise({"loss": "huber"})


def test_supervised_uses_the_clean_target():
    from noise2x.methods.supervised import Supervised

    model = ScaledModel(torch.nn.Identity(), arch="unet", arch_args={}, mean=[0.0], std=[10.0])
    batch = Batch(noisy=torch.zeros(1, 1, 3, 3), clean=torch.full((1, 1, 3, 3), 30.0),
                  noisy2=torch.full((1, 1, 3, 3), 1e6))
    assert float(Supervised().loss(model, batch, rng=gen())["model"]) == pytest.approx(9.0)
    with pytest.raises(ValueError, match="clean"):
        Supervised().loss(model, Batch(noisy=batch.noisy), rng=gen())


def test_the_package_functions_stay_callable_after_their_modules_load():
    """noise2x.methods() raised "'module' object is not callable" once a model was loaded (the subpackage
    noise2x.methods took the name's place); noise2x.train() is guarded the same way."""
    import importlib

    import noise2x

    listed = noise2x.methods()
    importlib.import_module("noise2x.methods")
    importlib.import_module("noise2x.train")
    assert noise2x.methods() == listed and "bm3d" in listed
    assert callable(noise2x.train)
