"""What only a CUDA GPU can show (skipped without one): `bash scripts/gpu_check.sh` runs these on a lent GPU.

Training every method there, files written on the GPU loading on the CPU, the shipped models giving the
CPU's result on the GPU in fp32 and nearly so in bf16/fp16, tiles, the blind spot, resuming, and the GPU
memory a large image takes with the default tiles.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import textured_image

from noise2x.checkpoint import load_model, read_metadata
from noise2x.methods import METHODS
from noise2x.metrics import psnr
from noise2x.predict import Denoiser
from noise2x.pretrained import list_models
from noise2x.train import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")

FAST = ["train.preset=tiny", "data.val_images=2", "data.val_crop=24"]


def weights(path):
    model, _ = load_model(path)
    return [t.clone() for t in model.state_dict().values()]


def noisy_pair(n: int = 256, sigma: float = 25.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    clean = np.clip(textured_image(n, seed=seed), 0, 255)
    noisy = clean + sigma * np.random.default_rng(seed + 1).standard_normal(clean.shape)
    return clean, noisy.astype(np.float32)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_trains_on_cuda_and_its_file_loads_on_the_cpu(name, clean_dir, tmp_path, gray_image):
    path = train(name, data=clean_dir, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=25", steps=4,
                 device="cuda", progress=False, overrides=FAST)
    assert read_metadata(path)["device"].startswith("cuda")
    model = Denoiser.load(path)
    out_cpu = model.denoise(gray_image, device="cpu")
    out_gpu = model.denoise(gray_image, device="cuda")
    assert out_cpu.shape == gray_image.shape and np.isfinite(out_cpu).all()
    assert np.abs(out_cpu - out_gpu).max() < 0.5  # 8-bit units


def test_bf16_training_on_cuda(clean_dir, tmp_path):
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=6, progress=False, seed=3, device="cuda")
    a = weights(train("noise2noise", out=tmp_path / "a.safetensors", overrides=FAST, **kw))
    b = weights(train("noise2noise", out=tmp_path / "b.safetensors", overrides=FAST + ["train.precision=bf16"], **kw))
    assert all(w.dtype == torch.float32 for w in b)  # mixed precision: the weights stay float32
    assert not all(torch.equal(x, y) for x, y in zip(a, b))  # the steps ran in bfloat16 ...
    assert max(float((x - y).abs().max()) for x, y in zip(a, b)) < 0.05  # ... and did the same training


def test_resume_on_cuda_continues_where_it_stopped(clean_dir, tmp_path):
    from noise2x.train import TrainingInterrupted

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=8, progress=False, seed=5, device="cuda",
              overrides=FAST + ["train.val_every=4", "train.keep=last", "data.resample_noise=true"])
    straight = weights(train("noise2noise", out=tmp_path / "s.safetensors", **kw))
    out = tmp_path / "r.safetensors"

    def stop_at_4(info):
        if info.step == 4:
            info.stop = True

    with pytest.raises(TrainingInterrupted):
        train("noise2noise", out=out, callbacks=[stop_at_4], **kw)
    train("noise2noise", out=out, resume=True, **kw)
    resumed = weights(out)
    # the same steps on the same data; cuDNN may pick other kernels after a restart, so not bit for bit
    assert max(float((x - y).abs().max()) for x, y in zip(straight, resumed)) < 1e-3


@pytest.mark.parametrize("name", [m["name"] for m in list_models()])
def test_shipped_models_give_the_cpu_result_on_cuda(name):
    clean, noisy = noisy_pair()
    from noise2x.pretrained import model_path

    model = Denoiser.load(model_path(name))
    cpu = model.denoise(noisy, device="cpu")
    gpu = model.denoise(noisy, device="cuda")
    ref = psnr(clean, cpu, data_range=255)
    assert abs(psnr(clean, gpu, data_range=255) - ref) < 0.02
    assert np.abs(cpu - gpu).max() < 1.0
    for precision in ("bf16", "fp16"):
        low = model.denoise(noisy, device="cuda", precision=precision)
        assert low.dtype == np.float32 and np.isfinite(low).all()
        assert abs(psnr(clean, low, data_range=255) - ref) < 0.1, precision


def test_tiles_agree_with_the_whole_image_on_cuda():
    from noise2x.pretrained import model_path

    _, noisy = noisy_pair(300)
    model = Denoiser.load(model_path("gray-gaussian"))
    whole = model.denoise(noisy, tile=0, device="cuda")
    tiled = model.denoise(noisy, tile=96, overlap=32, device="cuda")
    assert np.abs(tiled - whole).max() < 0.5


def test_blind_spot_on_cuda():
    """The blind-spot network's output at a pixel does not depend on that pixel, with cuDNN's kernels too."""
    from noise2x.models.blindspot import BlindSpotNet

    torch.manual_seed(0)
    net = BlindSpotNet(3, width=8, depth=3).cuda()
    x = torch.randn(1, 3, 24, 20, device="cuda", requires_grad=True)
    y = net(x, full=True)
    for i, j in [(0, 0), (23, 19), (12, 10), (5, 17)]:
        (g,) = torch.autograd.grad(y[0, :, i, j].sum(), x, retain_graph=True)
        g = g[0].abs()
        assert float(g[:, i, j].max()) == 0.0
        assert float(g[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].sum()) > 0.0


def test_large_image_takes_bounded_gpu_memory():
    """A 4096 x 4096 image with the default tiles: the GPU holds a batch of tiles, not the image's activations."""
    from noise2x.pretrained import model_path

    model = Denoiser.load(model_path("gray-gaussian"))
    big = np.random.default_rng(0).normal(128, 25, (4096, 4096)).astype(np.float32)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = model.denoise(big, device="cuda")
    peak = torch.cuda.max_memory_allocated() - base
    print(f"4096x4096 gray, default tiles: peak GPU memory {peak / 2**20:.0f} MiB")
    assert out.shape == big.shape and np.isfinite(out).all()
    assert peak < 2 * 2**30


def test_a_stack_denoised_on_cuda_frame_by_frame(tmp_path):
    """`noise2x denoise stack.tif --model ... --device cuda`: read, denoised on the GPU and written frame by frame,
    within 1 (16-bit units) of the CPU's result, the ImageJ axes kept."""
    import tifffile

    from noise2x.cli import main

    rng = np.random.default_rng(0)
    stack = np.clip(np.stack([textured_image(96, seed=s) for s in range(4)]) * 100
                    + rng.normal(0, 2500, (4, 96, 96)), 0, 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    out = {}
    for device in ("cpu", "cuda"):
        dst = tmp_path / f"{device}.tif"
        assert main(["denoise", str(tmp_path / "s.tif"), "--model", "gray-gaussian", "--device", device,
                     "--out", str(dst)]) == 0
        with tifffile.TiffFile(dst) as tif:
            assert tif.is_imagej and tif.series[0].axes == "ZYX"
            out[device] = tif.asarray().astype(np.int64)
    # within a quarter of an 8-bit unit (64 in 16-bit units): cuDNN's arithmetic (9 on the H200); the model
    # changes the stack by far more
    assert np.abs(out["cpu"] - out["cuda"]).max() <= 64 and np.abs(out["cpu"] - stack).mean() > 100


@pytest.mark.parametrize("method", ["zs_n2n", "mash"])
def test_zero_shot_methods_on_cuda_give_the_cpu_result(method):
    """ZS-N2N and MASH train and predict on the GPU from the CPU's draws (weights, masks, crops): the same
    denoising as on the CPU, up to the devices' arithmetic, and faster."""
    import time

    from noise2x.zeroshot import ZERO_SHOT

    clean, noisy = noisy_pair(128, seed=6)
    # one training step: the same weights, crop and masks on both devices give (nearly) the same output
    one = {"steps": 1} if method == "zs_n2n" else {"steps": 1, "ratio": 0.5, "predictions": 2}
    one["preset"] = "cpu"  # (preset auto is gpu on a GPU: the same preset on both devices)
    first = [ZERO_SHOT[method](noisy, rng=2, device=device, **one) for device in ("cpu", "cuda")]
    assert np.abs(first[0] - first[1]).max() < 1.0  # 8-bit units (cuDNN may use TF32; other draws: far more)
    options = {"steps": 300} if method == "zs_n2n" else {"steps": 300, "probe_steps": 150, "predictions": 4}
    options["preset"] = "cpu"
    result, seconds = {}, {}
    for device in ("cpu", "cuda", "cuda"):  # the second CUDA run is timed after the first's start-up
        info: dict = {}
        lines: list[str] = []
        start = time.perf_counter()
        result[device] = ZERO_SHOT[method](noisy, rng=2, info=info, device=device, progress=lines.append, **options)
        seconds[device] = time.perf_counter() - start
        assert info["device"].startswith(device)
        assert any(" on cuda:0 (" in line for line in lines) == (device == "cuda"), lines[:3]  # the GPU named
    ref = psnr(clean, result["cpu"], data_range=255)
    gpu = psnr(clean, result["cuda"], data_range=255)
    print(f"{method}: CPU {ref:.2f} dB {seconds['cpu']:.1f} s, CUDA {gpu:.2f} dB {seconds['cuda']:.1f} s")
    assert ref > psnr(clean, noisy, data_range=255) + 3
    # a few hundred steps amplify the arithmetic's differences as a change of random state would: ZS-N2N
    # gave the same PSNR on the H200, MASH 0.32 dB more (its seeds differ by up to 0.6 dB, BENCHMARKS.md)
    assert abs(gpu - ref) < (0.1 if method == "zs_n2n" else 0.6)
    assert seconds["cuda"] < seconds["cpu"]


def test_zero_shot_bf16_on_cuda_and_the_cli(tmp_path):
    """bf16 autocast on the GPU, and `noise2x denoise --method mash --device cuda` end to end."""
    from noise2x.cli import main
    from noise2x.io import read_image, write_image
    from noise2x.zeroshot import zs_n2n

    clean, noisy = noisy_pair(128, seed=7)
    info: dict = {}
    fp32 = zs_n2n(noisy, rng=1, steps=200, device="cuda", info=info)
    assert info["preset"] == "gpu" and info["width"] == 48  # preset auto on a GPU
    bf16 = zs_n2n(noisy, rng=1, steps=200, device="cuda", precision="bf16")
    assert abs(psnr(clean, bf16, data_range=255) - psnr(clean, fp32, data_range=255)) < 0.3
    write_image(tmp_path / "in.png", np.clip(np.round(noisy), 0, 255).astype(np.uint8))
    assert main(["denoise", "--method", "mash", "--device", "cuda", "--set", "steps=100", "--set", "probe_steps=50",
                 str(tmp_path / "in.png"), "--out", str(tmp_path / "out.png")]) == 0
    assert psnr(clean, read_image(tmp_path / "out.png"), data_range=255) > psnr(clean, noisy, data_range=255)
