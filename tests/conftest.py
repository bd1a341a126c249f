"""Shared fixtures: the benchmark data folder (skipped cleanly when absent), tiny images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from noise2x.io import write_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_dir(name: str) -> Path:
    """Path of a benchmark set in ../shared/data, or skip the test with a clear message."""
    folder = DATA / name
    if not folder.is_dir():
        pytest.skip(f"benchmark data not found: {folder} (expected ../shared/data beside the repository)")
    return folder


def textured_image(n: int = 192, amp: float = 30.0, seed: int = 0) -> np.ndarray:
    """An n x n gray image in 8-bit units, textured everywhere: a Gaussian field with power spectrum 1/f**3.

    Under weak white noise (sigma 5) its noise reads as correlated (``noise2x.estimate.correlation``),
    as on textured photos.
    """
    rng = np.random.default_rng(seed)
    f2 = np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2
    f2[0, 0] = 1.0
    field = np.real(np.fft.ifft2((rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / f2 ** 0.75))
    return 128.0 + amp * field / field.std()


@pytest.fixture
def gray_image() -> np.ndarray:
    """A smooth 37x31 gray test image in 8-bit units (float64)."""
    yy, xx = np.mgrid[0:37, 0:31]
    img = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 2.0 * xx
    return np.clip(img, 0, 255).astype(np.float64)


@pytest.fixture
def rgb_image(gray_image) -> np.ndarray:
    """A 37x31x3 colour test image in 8-bit units (float64)."""
    return np.stack([gray_image, 255 - gray_image, np.roll(gray_image, 5, axis=1)], axis=-1)


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory):
    """Six small gray images (37x41 PNG) for short training runs."""
    d = tmp_path_factory.mktemp("clean")
    yy, xx = np.mgrid[0:37, 0:41]
    for i in range(6):
        write_image(d / f"{i}.png", np.clip(128 + 60 * np.sin(xx / (3 + i)) * np.cos(yy / 5.0), 0, 255))
    return d


@pytest.fixture
def one_thread():
    """torch on one thread for the test (tiny tensors gain nothing from threads; on 2 cores they thrash).

    Test modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def bsd68_crops(spec: str, n: int = 3, size: int = 160):
    """The first ``n`` BSD68 images' top-left crops, each with the protocol's noise ``spec``: (clean, noisy)."""
    from noise2x.io import list_images, read_image
    from noise2x.noise import protocol_noisy

    for i, f in enumerate(sorted(list_images(data_dir("bsd68")))[:n]):
        clean = read_image(f)[:size, :size]
        yield clean, protocol_noisy(clean, spec, index=i)


def psnr_8bit(clean: np.ndarray, pred: np.ndarray) -> float:
    """PSNR in dB of ``pred`` (clipped to [0, 255]) against ``clean``, both in 8-bit units."""
    return float(10 * np.log10(255.0**2 / np.mean((np.clip(pred, 0, 255) - clean) ** 2)))


@pytest.fixture(autouse=True)
def _models_loaded_by_name_kept_per_test(monkeypatch):
    """Each test starts with no model kept by ``denoise(model=NAME)`` (api._BY_NAME): a test that swaps the list of
    shipped models loaded one whose recorded name the next test saw."""
    import noise2x.api

    monkeypatch.setattr(noise2x.api, "_BY_NAME", {})


def svs_like(path, base, level, thumb):
    """An Aperio-like slide: a tiled JPEG base whose pixel size is in its description alone, a thumbnail page, a
    level page (tiled, not marked reduced, as Aperio writes it), a label and a macro page."""
    import tifffile

    rng = np.random.default_rng(0)
    aperio = "Aperio Image Library v12.0.15 \r\n384x256 [0,0 384x256] (128x128) JPEG/RGB Q=90|AppMag = 40|MPP = 0.2520"
    with tifffile.TiffWriter(path) as t:
        t.write(base, tile=(128, 128), photometric="rgb", compression="jpeg", description=aperio, metadata=None)
        t.write(thumb, photometric="rgb", description="Aperio Image Library v12.0.15 \r\n-> 48x32", metadata=None)
        t.write(level, tile=(128, 128), photometric="rgb", compression="jpeg", metadata=None,
                description="Aperio Image Library v12.0.15 \r\n384x256 -> 96x64")
        t.write(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), photometric="rgb", subfiletype=1, metadata=None,
                description="Aperio Image Library v12.0.15\r\nlabel 50x40")
        t.write(rng.integers(0, 256, (30, 90, 3), dtype=np.uint8), photometric="rgb", subfiletype=9, metadata=None,
                description="Aperio Image Library v12.0.15\r\nmacro 90x30")

