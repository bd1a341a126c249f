"""What only an Apple GPU (MPS) can show (skipped without one): it has no float64, which every torch step on it
must do without (training's validation PSNR computed float64 on the device failed there, found in a portability
QA pass)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noise2x.checkpoint import read_metadata
from noise2x.predict import Denoiser
from noise2x.train import train

pytestmark = pytest.mark.skipif(not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
                                reason="no Apple GPU (MPS) here")


@pytest.mark.parametrize("name", ["noise2noise", "noise2void", "blindspot"])
def test_training_with_validation_and_denoising_run_on_mps(name, clean_dir, tmp_path, gray_image):
    path = train(name, data=clean_dir, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=25", steps=4,
                 device="mps", progress=False,
                 overrides=["train.preset=tiny", "data.val_images=2", "data.val_crop=24", "train.val_every=2"])
    assert np.isfinite(read_metadata(path)["val_value"])
    noisy = (gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)).astype(np.float32)
    out = Denoiser.load(path).denoise(noisy, device="mps")
    assert out.shape == gray_image.shape and np.isfinite(out).all()
