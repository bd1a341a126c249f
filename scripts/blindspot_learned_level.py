#!/usr/bin/env python
"""The noise level a blindspot model learned (sigma in 8-bit units, or the Poisson peak), read on test images.

Usage: python scripts/blindspot_learned_level.py MODEL.safetensors DATASET_DIR NOISE [N_IMAGES]
The images get PROTOCOL noise (image i drawn with rng = i); prints the mean and range of the level.
"""

import sys

import numpy as np
import torch

from noise2x.api import load_model
from noise2x.io import list_images, read_image
from noise2x.noise import protocol_noisy

model_path, folder, spec = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 8
den = load_model(model_path)
if not hasattr(den.method, "learned_noise"):
    sys.exit(f"{model_path}: not a blindspot model (method {den.method.name!r})")
vals = []
for i, path in enumerate(list_images(folder)[:n]):
    noisy = protocol_noisy(read_image(path).astype(np.float64), spec, index=i)
    x = torch.from_numpy(noisy.astype(np.float32))[None, None]
    vals.append(float(den.method.learned_noise(den.model, x).mean()))
print(f"{model_path}: learned level {np.mean(vals):.2f} (min {min(vals):.2f}, max {max(vals):.2f}) on {len(vals)} images "
      f"of {folder} with {spec}")
