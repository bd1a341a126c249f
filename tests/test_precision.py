"""Inference speed options: the channels-last layout on the CPU (same result) and a bf16 forward pass (close)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from noise2x import api, cli
from noise2x.benchmark import run_bench
from noise2x.checkpoint import load_model, save_model
from noise2x.errors import UsageError
from noise2x.io import read_image, write_image
from noise2x.models import ScaledModel, build_model
from noise2x.predict import check_precision, denoise_array

pytestmark = pytest.mark.usefixtures("one_thread")

META = {"method": "supervised", "method_options": {}, "noise": "gaussian:sigma=25"}


def scaled(arch="unet", seed=0, **args):
    torch.manual_seed(seed)
    args = {"in_channels": 1, **({"width": 8, "depth": 2} if arch == "unet" else {}), **args}
    return ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[110.0], std=[60.0]).eval()


def contiguous_forward(model, image):
    """The network on the whole image, in the default (contiguous) layout, fp32."""
    model = model.to(memory_format=torch.contiguous_format)
    with torch.inference_mode():
        y = model(torch.from_numpy(image.astype(np.float32))[None, None].contiguous())
    assert y.is_contiguous()
    return y[0, 0].numpy()


@pytest.mark.parametrize("arch,args", [("unet", {}), ("dncnn", {"depth": 4, "width": 8}),
                                       ("blindspot", {"width": 8, "depth": 2})])
def test_cpu_inference_runs_channels_last_with_the_same_result(gray_image, arch, args, tmp_path):
    model = scaled(arch, **args)
    expected = contiguous_forward(model, gray_image)
    out = denoise_array(model, gray_image, tile=0, device="cpu")
    assert np.abs(out - expected).max() < 1e-3  # 8-bit units: float rounding only
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    # the model is still saved and loaded as before
    path = save_model(tmp_path / "m.safetensors", model, metadata=META)
    again, _ = load_model(path)
    assert np.abs(denoise_array(again, gray_image, tile=0) - out).max() < 1e-3


def test_bf16_forward_pass_is_close_to_fp32(gray_image, rgb_image):
    model = scaled()
    fp32 = denoise_array(model, gray_image, tile=0)
    bf16 = denoise_array(model, gray_image, tile=0, precision="bf16")
    diff = np.abs(bf16 - fp32)
    assert bf16.dtype == np.float32 and np.isfinite(bf16).all()
    assert diff.max() > 1e-3, "bf16 gave the fp32 result: the forward pass did not run in bfloat16"
    assert diff.mean() < 0.5 and diff.max() < 3.0, (diff.mean(), diff.max())  # 8-bit units
    # tiles, and a gray model on an RGB image (plane by plane), run in bf16 too
    tiled = denoise_array(model, gray_image, tile=16, overlap=8, precision="bf16")
    assert np.abs(tiled - denoise_array(model, gray_image, tile=16, overlap=8)).max() > 1e-3
    one = denoise_array(model, gray_image[:, :, None], tile=0, precision="bf16")  # (H, W, 1)
    assert np.array_equal(one[:, :, 0], bf16)
    rgb32 = denoise_array(model, rgb_image, tile=0)
    rgb16 = denoise_array(model, rgb_image, tile=0, precision="bf16")
    assert 1e-3 < np.abs(rgb16 - rgb32).max() < 3.0


def test_bf16_blindspot_posterior_mean_is_close_to_fp32(gray_image):
    """The blind-spot method's posterior mean, on the network's bf16 outputs, stays close to its fp32 one."""
    from noise2x.methods import get_method

    method = get_method("blindspot").with_noise("gaussian:sigma=25")
    arch, args = method.default_model(channels=1, preset="tiny")
    model = scaled(arch, **args)
    fp32 = denoise_array(model, gray_image, method=method, tile=0)
    bf16 = denoise_array(model, gray_image, method=method, tile=0, precision="bf16")
    diff = np.abs(bf16 - fp32)
    assert np.isfinite(bf16).all() and 1e-3 < diff.max() < 3.0 and diff.mean() < 0.5, (diff.mean(), diff.max())


def test_precision_errors(gray_image, monkeypatch):
    model = scaled()
    with pytest.raises(UsageError, match="precision must be one of fp32, bf16, fp16"):
        denoise_array(model, gray_image, precision="fp64")
    with pytest.raises(UsageError, match="fp16 does not run on the cpu device; use fp32 or bf16"):
        denoise_array(model, gray_image, precision="fp16", device="cpu")
    with pytest.raises(UsageError, match="bf16 does not run on the mps device; use fp32 or fp16"):
        check_precision("bf16", "mps")
    assert check_precision("fp16", "cuda") == "fp16" and check_precision("bf16", "cpu") == "bf16"
    with pytest.raises(UsageError, match="precision must be"):
        api.denoise(gray_image, method="nlm", precision="half")
    import torch

    assert check_precision("fp16", "mps") == "fp16"  # (this torch's autocast runs there)
    monkeypatch.setattr(torch.amp, "is_autocast_available", lambda kind: kind != "mps")  # (an older torch's)
    with pytest.raises(UsageError, match="fp16 on the mps device needs a newer torch than .*; use fp32"):
        check_precision("fp16", "mps")
    assert check_precision("fp32", "mps") == "fp32"


def test_cli_precision(tmp_path, gray_image, capsys):
    model = save_model(tmp_path / "gray.safetensors", scaled(), metadata=META)
    src = tmp_path / "in.png"
    write_image(src, np.clip(gray_image, 0, 255).astype(np.uint8))
    assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "a.png")]) == 0
    assert "bf16" not in capsys.readouterr().err
    assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "b.png"),
                     "--precision", "bf16"]) == 0
    assert ", bf16," in capsys.readouterr().err
    a, b = read_image(tmp_path / "a.png"), read_image(tmp_path / "b.png")
    assert a.shape == b.shape and np.abs(a - b).max() <= 3
    for value, expected in (("fp16", "fp16 does not run on the cpu device"), ("x", "invalid choice: 'x'")):
        rc = cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "c.png"),
                       "--device", "cpu", "--precision", value])
        err = capsys.readouterr().err
        assert rc == 2 and expected in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "c.png").exists()


def test_bf16_on_a_cpu_without_bfloat16_instructions_is_noted(tmp_path, gray_image, capsys, monkeypatch):
    """bf16 is emulated on a CPU without bfloat16 instructions (3.8 times slower than fp32 on such a host): the
    CLI says so in one line, read from /proc/cpuinfo's flags; unknown (no such file or line) says nothing."""
    from noise2x import predict

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert predict.cpu_has_bf16(info) is False
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert predict.cpu_has_bf16(info) is True
    info.write_text("Features\t: fp asimd bf16\n")  # ARM: no x86 flags line
    assert predict.cpu_has_bf16(info) is None and predict.cpu_has_bf16(tmp_path / "none") is None
    monkeypatch.setattr(predict, "cpu_has_bf16", lambda: False)
    assert "no bfloat16 instructions" in predict.bf16_note("bf16", "cpu")
    assert predict.bf16_note("fp32", "cpu") is None and predict.bf16_note("bf16", torch.device("cuda")) is None
    model = save_model(tmp_path / "gray.safetensors", scaled(), metadata=META)
    src = tmp_path / "in.png"
    write_image(src, np.clip(gray_image, 0, 255).astype(np.uint8))
    for precision, noted in (("bf16", True), ("fp32", False)):
        assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / f"{precision}.png"),
                         "--device", "cpu", "--precision", precision]) == 0
        assert ("no bfloat16 instructions" in capsys.readouterr().err) == noted
    monkeypatch.setattr(predict, "cpu_has_bf16", lambda: True)
    assert predict.bf16_note("bf16", "cpu") is None
    assert cli.main(["denoise", str(src), "--model", str(model), "--out", str(tmp_path / "c.png"),
                     "--device", "cpu", "--precision", "bf16"]) == 0
    assert "bfloat16 instructions" not in capsys.readouterr().err


def test_bench_records_the_precision(tmp_path, gray_image):
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(np.round(gray_image).astype(np.uint8)).save(folder / "a.png")
    path = save_model(tmp_path / "mine.safetensors", scaled(), metadata=META)
    rows = {}
    for precision in ("fp32", "bf16"):
        result = run_bench([str(path)], dataset=folder, noise="gaussian:sigma=25", precision=precision)
        rows[precision] = {r["method"]: r for r in result["rows"]}["mine"]
    assert "bf16 forward pass" in rows["bf16"]["notes"] and rows["bf16"]["per_image"][0]["precision"] == "bf16"
    assert "forward pass" not in rows["fp32"]["notes"]
    assert rows["bf16"]["psnr"] != rows["fp32"]["psnr"] and abs(rows["bf16"]["psnr"] - rows["fp32"]["psnr"]) < 0.2
    with pytest.raises(UsageError, match="precision must be"):
        run_bench([str(path)], dataset=folder, noise="gaussian:sigma=25", precision="int8")


def test_cli_train_precision(tmp_path, clean_dir, capsys):
    from noise2x.checkpoint import read_metadata

    common = ["train", "--method", "noise2noise", "--data", str(clean_dir), "--add-noise", "gaussian:sigma=25",
              "--steps", "2", "--set", "train.preset=tiny", "--set", "data.val_images=0"]
    assert cli.main(common + ["--precision", "bf16", "--out", str(tmp_path / "a.safetensors")]) == 0
    assert read_metadata(tmp_path / "a.safetensors")["config"]["train"]["precision"] == "bf16"
    from noise2x.benchmark import _model_extra

    assert _model_extra(tmp_path / "a.safetensors")["train_precision"] == "bf16"
    capsys.readouterr()
    assert cli.main(["info", str(tmp_path / "a.safetensors")]) == 0
    assert "seed 0, bf16 steps)" in capsys.readouterr().out
    assert cli.main(common + ["--out", str(tmp_path / "b.safetensors")]) == 0
    assert read_metadata(tmp_path / "b.safetensors")["config"]["train"]["precision"] == "fp32"
    capsys.readouterr()
    rc = cli.main(common + ["--precision", "fp16", "--out", str(tmp_path / "c.safetensors")])
    err = capsys.readouterr().err
    assert rc == 2 and "invalid choice: 'fp16'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.safetensors").exists()


def test_zs_n2n_bf16_trains_and_denoises(gray_image):
    from conftest import psnr_8bit
    from noise2x.zeroshot import zs_n2n

    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    info: dict = {}
    fp32 = zs_n2n(noisy, rng=0, steps=60)
    bf16 = zs_n2n(noisy, rng=0, steps=60, precision="bf16", info=info)
    assert info["precision"] == "bf16" and bf16.dtype == np.float64 and np.isfinite(bf16).all()
    assert np.abs(bf16 - fp32).max() > 1e-3  # trained and predicted in bfloat16
    assert psnr_8bit(gray_image, bf16) > psnr_8bit(gray_image, noisy) + 3.0
    assert abs(psnr_8bit(gray_image, bf16) - psnr_8bit(gray_image, fp32)) < 0.5
    with pytest.raises(UsageError, match="zs_n2n: precision must be fp32 or bf16"):
        zs_n2n(noisy, steps=1, precision="fp16")


def test_mash_bf16_keeps_float32_probes_and_runs_step_3_in_bfloat16(rgb_image):
    from noise2x.zeroshot import mash

    noisy = rgb_image + 20 * np.random.default_rng(2).standard_normal(rgb_image.shape)
    kw = dict(probe_steps=4, steps=6, width=8, predictions=2, shuffle_at=2, crop=32, probe_repeats=1, shuffle="on")
    fp32_info: dict = {}
    bf16_info: dict = {}
    fp32 = mash(noisy, rng=1, info=fp32_info, **kw)
    bf16 = mash(noisy, rng=1, info=bf16_info, precision="bf16", **kw)
    # steps 1-2 are float32 whatever the precision: the same probe stds, gap and level
    assert bf16_info["probe_std"] == fp32_info["probe_std"] and bf16_info["level"] == fp32_info["level"]
    assert bf16_info["precision"] == "bf16" and fp32_info["precision"] == "fp32"
    assert bf16_info["shuffled"] and bf16.dtype == np.float64 and np.isfinite(bf16).all()
    assert np.abs(bf16 - fp32).max() > 1e-3      # step 3 and the prediction ran in bfloat16
    assert bf16_info["final_loss"] != fp32_info["final_loss"]                  # step 3's training steps did
    # the masked predictions alone: bfloat16 under autocast, averaged in float32
    from noise2x.zeroshot.mash import masked_average
    from noise2x.zeroshot.nets import MaskedUNet, new_network, to_tensor

    net = new_network(MaskedUNet, 3, 8, gen=torch.Generator().manual_seed(0))
    x = to_tensor(noisy)
    averages = {p: masked_average(net, x, 0.5, 2, generator=torch.Generator().manual_seed(1), precision=p)
                for p in ("fp32", "bf16")}
    assert averages["bf16"].dtype == torch.float32
    assert 0 < float((averages["bf16"] - averages["fp32"]).abs().max()) < 5.0
    with pytest.raises(UsageError, match="mash: precision must be fp32 or bf16"):
        mash(noisy, steps=1, precision="fp16")


def test_mash_bf16_reaches_step_3_and_the_output_only(monkeypatch, rgb_image):
    import importlib

    from noise2x.zeroshot import mash

    mash_mod = importlib.import_module("noise2x.zeroshot.mash")
    calls: list[tuple[str, str]] = []
    train, average = mash_mod._train, mash_mod.masked_average

    def spy_train(x, **kw):
        calls.append(("train", kw.get("precision", "fp32")))
        return train(x, **kw)

    def spy_average(net, x, ratio, count, **kw):
        calls.append(("average", kw.get("precision", "fp32")))
        return average(net, x, ratio, count, **kw)

    monkeypatch.setattr(mash_mod, "_train", spy_train)
    monkeypatch.setattr(mash_mod, "masked_average", spy_average)
    noisy = rgb_image + 20 * np.random.default_rng(2).standard_normal(rgb_image.shape)
    mash(noisy, rng=1, probe_steps=2, steps=4, width=8, predictions=1, shuffle_at=1, crop=32, probe_repeats=1,
         shuffle="on", precision="bf16")
    # two probes (train, average) in fp32; step 3's training, its flat-region estimate and the output in bf16
    assert calls == [("train", "fp32"), ("average", "fp32")] * 2 + [("train", "bf16"), ("average", "bf16"),
                                                                    ("average", "bf16")]


def test_mash_bf16_fixed_ratio_denoises(gray_image):
    from conftest import psnr_8bit
    from noise2x.zeroshot import mash

    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    kw = dict(ratio=0.5, steps=80, lr=2e-3, width=8, predictions=4)
    fp32 = mash(noisy, rng=0, **kw)
    bf16 = mash(noisy, rng=0, precision="bf16", **kw)
    assert psnr_8bit(gray_image, bf16) > psnr_8bit(gray_image, noisy) + 1.5
    assert abs(psnr_8bit(gray_image, bf16) - psnr_8bit(gray_image, fp32)) < 0.5


def test_direct_methods_and_precision(gray_image, tmp_path, capsys, monkeypatch):
    noisy = gray_image + 25 * np.random.default_rng(0).standard_normal(gray_image.shape)
    info: dict = {}
    out = api.denoise(noisy, method="zs_n2n", options={"steps": 3}, precision="bf16", info=info)
    assert out.shape == noisy.shape and info["precision"] == "bf16"
    info = {}
    out = api.denoise(noisy, method="mash", options={"steps": 2, "probe_steps": 2, "width": 8, "predictions": 1},
                      precision="bf16", info=info)
    assert out.shape == noisy.shape and info["precision"] == "bf16"
    with pytest.raises(UsageError, match="precision bf16 applies to models, zs_n2n and mash; method bm3d has no"):
        api.denoise(noisy, method="bm3d", noise="gaussian:sigma=25", precision="bf16")
    # a method chosen with no options that has no precision setting runs as always, and says so
    from noise2x import pretrained

    choice = pretrained.Choice(method="nlm_calibrated", model=None, reason="test")
    monkeypatch.setattr(api, "choose_auto", lambda image, noise=None, colour="auto", mask=None: choice)
    lines: list[str] = []
    api.denoise(noisy, precision="bf16", progress=lines.append)
    assert any("nlm_calibrated has no precision setting" in line for line in lines)
    # bench: zs_n2n gets it, a classical method runs as always
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(np.round(np.clip(gray_image, 0, 255)).astype(np.uint8)).save(folder / "a.png")
    result = run_bench(["zs_n2n", "nlm"], dataset=folder, noise="gaussian:sigma=25", precision="bf16",
                       options={"zs_n2n.steps": "3"})
    rows = {r["method"]: r for r in result["rows"]}
    assert "bf16 forward pass" in rows["zs_n2n"]["notes"] and rows["zs_n2n"]["options"]["precision"] == "bf16"
    assert "forward pass" not in rows["nlm"]["notes"] and "precision" not in rows["nlm"]["options"]
