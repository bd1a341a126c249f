"""Speed and GPU memory of every trainable method's `paper` preset, and of inference, on a CUDA GPU.

    NOISE2X_DATA=DATA python scripts/gpu_speed.py OUT.json [SECONDS_PER_METHOD]

Each method trains on DATA/train400 with Gaussian sigma 25 for SECONDS_PER_METHOD (default 10) with
``train.preset=paper`` (what ``train.preset=auto`` picks on a GPU); its steps per second and peak GPU memory
are recorded (the gan without its VGG16 feature loss, whose weights are not here). Inference: the shipped model gray-gaussian on a 2048 x 2048 image (default tiles) on the GPU in
fp32, bf16 and fp16 and on the CPU, the median of three timed runs after one warm-up.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from noise2x.checkpoint import read_metadata
from noise2x.methods import METHODS
from noise2x.predict import Denoiser
from noise2x.pretrained import model_path
from noise2x.train import train


#: the gan's paper preset adds a VGG16 feature loss whose weights the user supplies (not on this machine)
GAN = {"gan": ["method.feature_weight=0"]}


def main() -> int:
    out = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    data = Path(os.environ["NOISE2X_DATA"]) / "train400"
    gpu = torch.cuda.is_available()  # without one (a dry run of this script), the same on the CPU
    dev = "cuda" if gpu else "cpu"
    result: dict = {"device": torch.cuda.get_device_name() if gpu else "cpu", "torch": torch.__version__, "cpu_threads":
                    torch.get_num_threads(), "seconds_per_method": seconds, "training": [], "inference": []}

    def save() -> None:
        out.write_text(json.dumps(result, indent=1))

    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(METHODS):
            if gpu:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            path = train(name, data=data, out=Path(tmp) / f"{name}.safetensors", add_noise="gaussian:sigma=25",
                         minutes=seconds / 60, device=dev, progress=False,
                         overrides=["train.preset=paper", "train.val_every=100000"] + GAN.get(name, []))
            meta = read_metadata(path)
            row = {"method": name, "steps": meta["steps"], "train_seconds": meta["seconds"],
                   "wall_seconds": round(time.perf_counter() - t0, 1),
                   "steps_per_second": round(meta["steps"] / meta["seconds"], 2),
                   "patch_size": meta["config"]["data"]["patch_size"],
                   "batch_size": meta["config"]["data"]["batch_size"], "parameters": meta["parameters"],
                   "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if gpu else None}
            print(row, flush=True)
            result["training"].append(row)
            save()

    model = Denoiser.load(model_path("gray-gaussian"))
    image = np.random.default_rng(0).normal(128, 25, (2048, 2048)).astype(np.float32)
    runs = (("cuda", "fp32"), ("cuda", "bf16"), ("cuda", "fp16"), ("cpu", "fp32")) if gpu else (("cpu", "fp32"),)
    for device, precision in runs:
        model.denoise(image, device=device, precision=precision)  # warm-up (cuDNN's kernel choice)
        times = []
        for _ in range(3):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.denoise(image, device=device, precision=precision)
            times.append(time.perf_counter() - t0)
        sec = float(np.median(times))
        row = {"device": device, "precision": precision, "seconds": round(sec, 3),
               "megapixels_per_second": round(image.size / 1e6 / sec, 2)}
        print(row, flush=True)
        result["inference"].append(row)
        save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
