"""The training loop: schedule, run folder, determinism, resume, budgets, settings and their errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from noise2x.checkpoint import load_model, read_metadata
from noise2x.config import TrainConfig, apply_overrides, check_config, resolve_model
from noise2x.errors import UsageError
from noise2x.io import write_image
from noise2x.train import TrainingInterrupted, lr_factor, run_folder, train, train_model

FAST = ["train.preset=tiny", "train.threads=1", "data.val_images=2", "data.val_crop=24"]


pytestmark = pytest.mark.usefixtures("one_thread")


def weights(path):
    model, _ = load_model(path)
    return [t.clone() for t in model.state_dict().values()]


def test_lr_schedules():
    assert lr_factor(0.0) == 1.0 and lr_factor(0.69) == 1.0
    assert lr_factor(0.85) == pytest.approx((0.5 + math.cos(math.pi * 0.5) / 2) ** 2)  # halfway through the ramp
    assert lr_factor(1.0) == pytest.approx(0.0, abs=1e-12)
    ramp = [lr_factor(p / 100) for p in range(101)]
    assert all(a >= b for a, b in zip(ramp, ramp[1:]))
    assert lr_factor(0.5, schedule="cosine") == pytest.approx(0.5)
    assert lr_factor(0.3, schedule="constant") == 1.0
    # Neighbor2Neighbor's reference: halved at each fifth (its preset had cosine, "the same curve": 1.8-2.6 times
    # the reference's rate from 21 to 70% of the budget, a QA pass)
    assert [lr_factor(p, schedule="steps") for p in (0.0, 0.19, 0.2, 0.41, 0.6, 0.79, 0.8, 1.0)] == [
        1.0, 1.0, 0.5, 0.25, 0.125, 0.125, 0.0625, 0.0625]
    from noise2x.methods.neighbor2neighbor import Neighbor2Neighbor

    assert Neighbor2Neighbor.presets["paper"]["train.schedule"] == "steps"
    assert Neighbor2Neighbor.presets["paper"]["train.beta2"] == 0.999
    assert lr_factor(0.05, schedule="constant", warmup=0.1) == pytest.approx(0.505)


def test_train_writes_model_and_run_folder(tmp_path, clean_dir):
    out = tmp_path / "m.safetensors"
    path = train("supervised", data=clean_dir, out=out, add_noise="gaussian:sigma=25", steps=12,
                 overrides=FAST + ["train.val_every=4"], progress=False)
    assert path == out and out.exists()
    run = run_folder(out)
    assert {p.name for p in run.iterdir()} >= {"config.json", "log.csv", "curve.png", "last.safetensors",
                                               "best.safetensors", "state.safetensors"}
    rows = (run / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and [r.split(",")[0] for r in rows[1:]] == ["4", "8", "12"]
    assert all(float(r.split(",")[4]) > 0 for r in rows[1:])  # validation PSNR
    with Image.open(run / "curve.png") as im:
        assert im.size[0] > 100 and len(np.unique(np.asarray(im.convert("L")))) > 2
    meta = read_metadata(out)
    assert meta["method"] == "supervised" and meta["noise"] == "gaussian:sigma=25" and meta["val_metric"] == "psnr"
    assert meta["config"]["train"]["steps"] == 12 and meta["preset"] == "tiny" and meta["channels"] == 1
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train_images"] == 4 and cfg["val_held_out"] is True
    assert read_metadata(run / "last.safetensors")["steps"] == 12 and meta["checkpoint"] == "last"
    best = read_metadata(run / "best.safetensors")
    assert best["val_value"] == pytest.approx(max(float(r.split(",")[4]) for r in rows[1:]), abs=1e-4)


def test_keep_best(tmp_path, clean_dir):
    out = train("supervised", data=clean_dir, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=25",
                steps=6, overrides=FAST + ["train.val_every=2", "train.keep=best"], progress=False)
    assert out.read_bytes() == (run_folder(out) / "best.safetensors").read_bytes()
    assert read_metadata(out)["checkpoint"] == "best"


def test_same_seed_same_weights(tmp_path, clean_dir):
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=6, overrides=FAST, progress=False)
    a = weights(train("noise2noise", out=tmp_path / "a.safetensors", seed=3, **kw))
    b = weights(train("noise2noise", out=tmp_path / "b.safetensors", seed=3, **kw))
    c = weights(train("noise2noise", out=tmp_path / "c.safetensors", seed=4, **kw))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_bf16_training_steps(tmp_path, clean_dir):
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=6, progress=False, seed=3)
    a = train("noise2noise", out=tmp_path / "a.safetensors", overrides=FAST, **kw)
    b = train("noise2noise", out=tmp_path / "b.safetensors", overrides=FAST + ["train.precision=bf16"], **kw)
    wa, wb = weights(a), weights(b)
    assert all(w.dtype == torch.float32 for w in wb)  # mixed precision: the weights stay float32
    assert not all(torch.equal(x, y) for x, y in zip(wa, wb))  # the steps ran in bfloat16
    assert max(float((x - y).abs().max()) for x, y in zip(wa, wb)) < 0.05  # ... and did the same training
    assert read_metadata(b)["config"]["train"]["precision"] == "bf16"
    with pytest.raises(UsageError, match="train.precision='fp16' is not valid; valid: fp32, bf16"):
        train("noise2noise", out=tmp_path / "c.safetensors", overrides=FAST + ["train.precision=fp16"], **kw)


def test_resume_continues_where_it_stopped(tmp_path, clean_dir):
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=10, progress=False,
              overrides=FAST + ["train.val_every=3", "train.keep=last", "data.resample_noise=true"])
    straight = weights(train("noise2noise", out=tmp_path / "s.safetensors", **kw))

    def stop_at_5(info):
        if info.step == 5:
            info.stop = True

    out = tmp_path / "r.safetensors"
    with pytest.raises(TrainingInterrupted, match="step 5/10.*--resume"):
        train("noise2noise", out=out, callbacks=[stop_at_5], **kw)
    assert read_metadata(out)["steps"] == 5  # the model so far is usable
    assert read_metadata(run_folder(out) / "best.safetensors")["steps"] == 3  # (the best of the log's rows)
    seen = []
    train("noise2noise", out=out, resume=True, callbacks=[lambda i: seen.append(i.step)], **kw)
    assert seen == list(range(6, 11))  # continued from step 6, not from scratch
    resumed = weights(out)
    assert all(torch.equal(x, y) for x, y in zip(straight, resumed))  # exactly the uninterrupted run
    # and its log is the uninterrupted run's: the same rows (no row at the stop), the same mean losses and
    # validations (a QA pass found the stop's row and the loss means around it differing, for the same weights)
    import csv

    def log(model_file):
        with open(run_folder(model_file) / "log.csv") as f:
            return [(r["step"], r["lr"], r["train_loss"], r["val_psnr"]) for r in csv.DictReader(f)]

    assert [r[0] for r in log(out)] == ["3", "6", "9", "10"]
    assert log(out) == log(tmp_path / "s.safetensors")
    with pytest.raises(UsageError, match="nothing to resume"):
        train("noise2noise", out=tmp_path / "new.safetensors", resume=True, **kw)
    # the saved weights fix the network: a changed model.* is refused, not silently ignored
    width = read_metadata(out)["arch_args"]["width"]
    changed = dict(kw, overrides=kw["overrides"] + [f"model.width={width + 4}"], steps=12)
    with pytest.raises(UsageError, match=r"--resume cannot change the network.*model\.width="):
        train("noise2noise", out=out, resume=True, **changed)
    assert read_metadata(out)["steps"] == 10  # the model file is untouched


def test_a_run_resumed_on_another_device_goes_on_reseeded(tmp_path, clean_dir, capsys):
    """A GPU's generator state (a few bytes of Philox) does not fit the CPU's (5056 bytes), nor back: a run of a
    GPU resumed with --device cpu stopped at its random state (a portability QA pass). It goes on, reseeded from
    the seed and the step, and says so."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", progress=True, overrides=FAST)
    out = train("noise2noise", out=tmp_path / "m.safetensors", steps=2, **kw)
    state = run_folder(out) / "state.safetensors"
    with safe_open(str(state), "pt") as f:
        header = f.metadata()
    tensors = load_file(str(state))
    tensors["extra.torch_rng"] = torch.arange(16, dtype=torch.uint8)  # (as a CUDA generator's state)
    save_file(tensors, str(state), metadata=header)
    capsys.readouterr()
    train("noise2noise", out=out, steps=4, resume=True, **kw)
    assert read_metadata(out)["steps"] == 4 and "random state is of another device" in capsys.readouterr().err


def test_init_starts_from_a_models_network_and_weights(tmp_path, clean_dir, capsys):
    from noise2x.checkpoint import describe

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", progress=False)
    base = train("supervised", out=tmp_path / "base.safetensors", steps=6,
                 overrides=FAST + ["model.width=12"], **kw)
    start = weights(base)
    # fine-tuned by another method of the same architecture, at a learning rate too small to move a weight:
    # the run's weights are the given model's (the tiny preset's own network would be another size)
    out = train("noise2void", out=tmp_path / "ft.safetensors", steps=1, init=base,
                overrides=FAST + ["train.lr=1e-12"], **kw)
    meta = read_metadata(out)
    assert meta["arch_args"] == read_metadata(base)["arch_args"] and meta["config"]["inputs"]["init"] == str(base)
    tuned = weights(out)
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(start, tuned))
    fresh = weights(train("noise2void", out=tmp_path / "fresh.safetensors", steps=1, overrides=FAST, **kw))
    assert [t.shape for t in fresh] != [t.shape for t in start]
    parent = read_metadata(base)["sha256"][:16]
    assert f"started from:  {base} (fine-tuned; {base.resolve()}, weights sha256 {parent})" in describe(meta)
    # at a normal learning rate it trains on from there, warming up over the first 20% of the budget (one step
    # at the full rate took a trained model from 28.4 to 17.1 dB: a QA pass); not where train.warmup is set
    moved = weights(train("noise2void", out=tmp_path / "ft2.safetensors", steps=3, init=base, overrides=FAST, **kw))
    assert any(not torch.allclose(x, y, atol=1e-6) for x, y in zip(start, moved))
    assert meta["config"]["train"]["warmup"] == 0.2 and read_metadata(base)["config"]["train"]["warmup"] == 0.0
    told = train("noise2void", out=tmp_path / "ft3.safetensors", steps=1, init=base, overrides=FAST + [
        "train.warmup=0", "train.val_every=1"], **kw)
    assert read_metadata(told)["config"]["train"]["warmup"] == 0.0
    first = train("noise2void", out=tmp_path / "ft4.safetensors", steps=1, init=base, overrides=FAST + [
        "train.val_every=1"], **kw)
    lr = [float((run_folder(m) / "log.csv").read_text().splitlines()[1].split(",")[2]) for m in (told, first)]
    assert lr[1] == pytest.approx(0.01 * lr[0])
    # a ramp-down of 90% of the budget leaves a warm-up of 10%, said (it was skipped unsaid)
    short = train("noise2void", out=tmp_path / "ft5.safetensors", steps=1, init=base,
                  overrides=FAST + ["train.rampdown=0.9"], **dict(kw, progress=True))
    assert read_metadata(short)["config"]["train"]["warmup"] == pytest.approx(0.1)
    assert "warms up over the first 10% of the budget (train.warmup=0.1, what train.rampdown=0.9 leaves" in (
        capsys.readouterr().err)
    none = train("noise2void", out=tmp_path / "ft6.safetensors", steps=1, init=base,
                 overrides=FAST + ["train.rampdown=1"], **dict(kw, progress=True))
    assert read_metadata(none)["config"]["train"]["warmup"] == 0.0
    assert "with no warm-up of the learning rate: train.rampdown=1 leaves none" in capsys.readouterr().err
    # what does not suit the run is refused, before any step
    with pytest.raises(UsageError, match="'unet' network; blindspot trains a 'blindspot' network"):
        train("blindspot", out=tmp_path / "x.safetensors", steps=1, init=base, overrides=FAST, **kw)
    with pytest.raises(UsageError, match="gives the network: drop the model"):
        train("noise2void", out=tmp_path / "x.safetensors", steps=1, init=base, overrides=FAST + ["model.width=8"],
              **kw)
    with pytest.raises(UsageError, match="no such model file or shipped model"):
        train("noise2void", out=tmp_path / "x.safetensors", steps=1, init=tmp_path / "nope", overrides=FAST, **kw)
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    for i in range(4):
        write_image(rgb / f"{i}.png", np.random.default_rng(i).uniform(0, 255, (37, 41, 3)))
    with pytest.raises(UsageError, match="takes 1-channel images; the data have 3"):
        train("noise2void", out=tmp_path / "x.safetensors", steps=1, init=base, overrides=FAST,
              **dict(kw, data=rgb))
    with pytest.raises(UsageError, match="--resume continues the saved run's own weights"):
        train("noise2void", out=out, steps=2, init=tmp_path / "fresh.safetensors", resume=True, overrides=FAST, **kw)


def test_recursive_data_folders(tmp_path, clean_dir):
    from noise2x.data import build_datasets
    from noise2x.errors import InputError

    nested = tmp_path / "nested"
    for k, f in enumerate(sorted(clean_dir.iterdir())):
        (nested / f"day{k % 2}").mkdir(parents=True, exist_ok=True)
        (nested / f"day{k % 2}" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(InputError, match="no image files in folder"):
        train("supervised", data=nested, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=25", steps=2,
              overrides=FAST, progress=False)
    out = train("supervised", data=nested, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=25", steps=2,
                overrides=FAST + ["data.recursive=true"], progress=False)
    assert json.loads((run_folder(out) / "config.json").read_text())["train_images"] == 4  # 6, 2 held out
    train_set, val_set, _ = build_datasets(data=nested, requires=frozenset({"noisy", "clean"}),
                                           add_noise="gaussian:sigma=25", val_images=2, recursive=True)
    assert [i.name for i in val_set.items] == ["day1/3.png", "day1/5.png"]  # named by their path, in its order


def test_minutes_budget_and_loss_validation(tmp_path, clean_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    rng = np.random.default_rng(0)
    for f in sorted(clean_dir.iterdir()):
        from noise2x.io import read_image

        x = read_image(f)
        write_image(a / f.name, x + rng.normal(0, 10, x.shape))
        write_image(b / f.name, x + rng.normal(0, 10, x.shape))
    out = train("noise2noise", data=a, data2=b, out=tmp_path / "m.safetensors", minutes=0.02, progress=False,
                overrides=FAST + ["train.val_every=2"])
    meta = read_metadata(out)
    assert meta["steps"] >= 1 and meta["val_metric"] == "loss" and meta["seconds"] < 30
    assert meta["noise"] is None and meta["method_options"]["loss"] == "l2"  # "auto" resolved and stored


def test_train_model_returns_a_denoiser(clean_dir, gray_image):
    d = train_model("noise2noise", data=clean_dir, add_noise="gaussian:sigma=25", steps=2, overrides=FAST,
                    progress=False)
    assert d.method_name == "noise2noise" and d.denoise(gray_image, tile=16, overlap=4).shape == gray_image.shape


def test_overrides_and_checks():
    cfg = TrainConfig(method="noise2noise", data="x")
    new = apply_overrides(cfg, ["train.lr=1e-3", "data.patch_size=48", "method.loss=l1", "data.augment=false",
                                "model.width=16", "train.steps=5"])
    assert new.train.lr == 1e-3 and new.data_cfg.patch_size == 48 and new.options.loss == "l1"
    assert new.data_cfg.augment is False and new.train.steps == 5
    assert cfg.train.lr == 3e-4 and cfg.options.loss == "auto"  # the original is untouched
    arch, args = resolve_model(new, channels=3, preset="cpu")
    assert arch == "unet" and args["width"] == 16 and args["in_channels"] == 3
    with pytest.raises(UsageError, match="unknown setting train.lrate; valid train.\\* keys: .*lr"):
        apply_overrides(cfg, ["train.lrate=1"])
    with pytest.raises(UsageError, match="valid method.\\* keys: loss"):
        apply_overrides(cfg, ["method.sigma=3"])
    with pytest.raises(UsageError, match="expected an integer"):
        apply_overrides(cfg, ["data.patch_size=big"])
    with pytest.raises(UsageError, match="sections: train, data, model, method"):
        apply_overrides(cfg, ["train=3"])
    with pytest.raises(UsageError, match="sections: train, data, model, method"):
        apply_overrides(cfg, ["lr"])
    with pytest.raises(UsageError, match="valid model.\\* keys: arch, width, depth"):
        resolve_model(apply_overrides(cfg, ["model.widht=3"]), channels=1, preset="cpu")
    with pytest.raises(UsageError, match="no training budget"):
        check_config(cfg)
    with pytest.raises(UsageError, match="resample_noise=true needs --add-noise"):
        check_config(apply_overrides(cfg, ["train.steps=3", "data.resample_noise=1"]))
    with pytest.raises(UsageError, match="train.schedule"):
        check_config(apply_overrides(cfg, ["train.steps=3", "train.schedule=linear"]))
    # settings torch would reject mid-run with its own traceback
    for setting, said in [("train.beta1=-1", r"train.beta1 \(Adam\) must be in \[0, 1\)"),
                          ("train.beta2=1", r"train.beta2 \(Adam\) must be in \[0, 1\)"),
                          ("train.weight_decay=-1", "train.weight_decay must be >= 0"),
                          ("train.seed=-1", "train.seed must be a whole number >= 0")]:
        with pytest.raises(UsageError, match=said):
            check_config(apply_overrides(cfg, ["train.steps=3", setting]))
    check_config(apply_overrides(cfg, ["train.steps=3", "train.beta1=0", "train.beta2=0.99", "train.weight_decay=0"]))
    dn = resolve_model(apply_overrides(cfg, ["model.arch=dncnn", "model.depth=5"]), channels=1, preset="cpu")
    assert dn == ("dncnn", {"in_channels": 1, "depth": 5})


def test_bad_method_and_data_errors(tmp_path, clean_dir):
    with pytest.raises(UsageError, match="trainable methods"):
        train("noise2nothing", data=clean_dir, out=tmp_path / "m.safetensors", steps=1)
    with pytest.raises(UsageError, match="--data2"):
        train("noise2noise", data=clean_dir, out=tmp_path / "m.safetensors", steps=1, overrides=FAST)
    with pytest.raises(UsageError, match="patch"):
        train("noise2noise", data=clean_dir, out=tmp_path / "m.safetensors", steps=1, add_noise="gaussian:sigma=5",
              overrides=FAST + ["data.patch_size=64"], progress=False)
    with pytest.raises(UsageError, match="--data2 .* is --data itself"):
        train("supervised", data=clean_dir, data2=clean_dir, out=tmp_path / "m.safetensors", steps=1, overrides=FAST)
    for name in ("m.png", "m"):  # a model file named like an image (or nothing) would be taken for one later
        with pytest.raises(UsageError, match=rf"--out .*{name}: a model file is named \.safetensors"):
            train("noise2void", data=clean_dir, out=tmp_path / name, steps=1, overrides=FAST)
        assert not (tmp_path / name).exists()


def test_overrides_may_be_a_dict(tmp_path, clean_dir):
    out = train("noise2void", data=clean_dir, out=tmp_path / "m.safetensors", steps=2, progress=False, threads=1,
                overrides={"train.preset": "tiny", "data.val_images": 2, "data.val_crop": 24,
                           "method.struct": "vertical:1", "data.augment": False})  # (threads= beside: a re-check)
    cfg = read_metadata(out)["config"]
    assert cfg["method"]["struct"] == "vertical:1" and cfg["data"]["augment"] is False
    with pytest.raises(UsageError, match=r"structN2V mask horizontal:20 spans 41 pixels, more than the training "
                                         r"patches' 32"):
        train("noise2void", data=clean_dir, out=tmp_path / "w.safetensors", steps=2, progress=False,
              overrides=FAST + ["method.struct=horizontal:20", "data.patch_size=32"])
    assert not (tmp_path / "w.run").exists()
    # arrays with NaN, data.blanks in a dict (its keys alone were read: "data[0] has NaN values")
    frames = [np.full((40, 44), 100.0) + np.random.default_rng(k).normal(0, 10, (40, 44)) for k in range(3)]
    frames[0][:3, :3] = np.nan
    out = train("noise2void", data=frames, out=tmp_path / "b.safetensors", steps=2, progress=False, threads=1,
                overrides={"train.preset": "tiny", "data.val_images": 1, "data.val_crop": 24, "data.blanks": True})
    assert read_metadata(out)["config"]["data"]["blanks"] is True


def test_settings_without_a_section():
    """``--set KEY=VALUE`` finds the one section with KEY (the issues write ``--set feature_weight=0``)."""
    cfg = apply_overrides(TrainConfig(method="noise2void", data="x"), ["lr=0.002", "patch_size=48", "percent=1.0"])
    assert cfg.train.lr == 0.002 and cfg.data_cfg.patch_size == 48 and cfg.options.percent == 1.0
    with pytest.raises(UsageError, match="no section has a key 'nonsense'"):
        apply_overrides(TrainConfig(method="noise2void", data="x"), ["nonsense=1"])


def test_a_presets_patch_size_fits_the_smallest_image(tmp_path, clean_dir, capsys):
    """The cpu preset's 64-pixel patches on 37 x 41 images: lowered to the network's alignment below 37 (the
    paper presets' 256 on train400's 180 x 180 likewise); a patch size the user set is kept, with its error."""
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=1, seed=0)
    fast = ["train.preset=cpu", "train.threads=1", "data.val_images=2", "data.val_crop=24", "data.batch_size=2"]
    out = train("noise2void", out=tmp_path / "a.safetensors", overrides=fast, progress=True, **kw)
    meta = read_metadata(out)
    assert meta["config"]["data"]["patch_size"] == 32  # a multiple of the cpu U-Net's 2**3 = 8, at most 37
    assert "the cpu preset's data.patch_size 64 lowered to 32: the smallest training image is 37 pixels" in \
        capsys.readouterr().err
    saved = json.loads((run_folder(out) / "config.json").read_text())
    assert saved["config"]["data"]["patch_size"] == 32  # what --resume continues with
    with pytest.raises(UsageError, match="smaller than the patch size 64"):
        train("noise2void", out=tmp_path / "b.safetensors", overrides=fast + ["data.patch_size=64"],
              progress=False, **kw)
    # (a run that failed at its first batch left its run folder, holding its config alone: an automation QA pass)
    assert not run_folder(tmp_path / "b.safetensors").exists() and run_folder(out).exists()
    # one small image among many was found only at the step that first drew it, after checkpoints (a QA pass)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    rng = np.random.default_rng(0)
    for k in range(12):
        side = 20 if k == 7 else 48
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(mixed / f"im{k:02d}.png")
    with pytest.raises(UsageError, match=r"^im07\.png: image of 20 pixels .* smaller than the patch size 32"):
        train("noise2void", data=mixed, out=tmp_path / "c.safetensors", steps=1, seed=0, progress=False,
              overrides=fast + ["data.patch_size=32", "data.batch_size=1"])
    assert not run_folder(tmp_path / "c.safetensors").exists()
    # a set whose bottom rows are held out for validation: the note says the size is that of the rest (a README QA
    # pass read "112 pixels on a side" of its 128 x 128 images)
    few = tmp_path / "few"
    few.mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (128, 128), dtype=np.uint8)).save(few / f"f{k}.png")
    capsys.readouterr()
    train("neighbor2neighbor", data=few, out=tmp_path / "d.safetensors", steps=1, seed=0, progress=True,
          overrides=["train.preset=cpu", "train.threads=1", "data.batch_size=1"])
    assert "the smallest training image (less the bottom rows held out for validation) is" in capsys.readouterr().err


def test_the_model_files_folder_is_made(tmp_path, clean_dir):
    """--out in a folder that does not exist yet: made (as denoise and bench make theirs); one through a file is
    one error."""
    out = train("noise2void", data=clean_dir, add_noise="gaussian:sigma=25", progress=False, steps=1,
                out=tmp_path / "new" / "sub" / "m.safetensors", overrides=FAST)
    assert out.is_file()
    with pytest.raises(UsageError, match="the folder of --out cannot be made"):
        train("noise2void", data=clean_dir, add_noise="gaussian:sigma=25", progress=False, steps=1,
              out=out / "x" / "m.safetensors", overrides=FAST)


def test_resume_takes_the_same_folder_however_written_and_a_failed_run_keeps_the_earlier_one(tmp_path, clean_dir):
    """--resume compared --data as text ('train' against 'train/' was refused); and a run that failed before its
    first checkpoint overwrote the earlier run's config.json, which could then not be resumed."""
    import json

    out = tmp_path / "r.safetensors"
    kw = dict(add_noise="gaussian:sigma=25", progress=False, overrides=FAST)
    train("noise2void", data=clean_dir, out=out, steps=2, **kw)
    train("noise2void", data=f"{clean_dir}/", out=out, steps=3, resume=True, **kw)
    assert json.loads((tmp_path / "r.run" / "config.json").read_text())["config"]["method_name"] == "noise2void"

    def fail(info):
        raise RuntimeError("stopped by the test")

    with pytest.raises(RuntimeError, match="stopped by the test"):
        train("noise2self", data=clean_dir, out=out, steps=5, callbacks=[fail], **kw)
    assert json.loads((tmp_path / "r.run" / "config.json").read_text())["config"]["method_name"] == "noise2void"
    train("noise2void", data=clean_dir, out=out, steps=4, resume=True, **kw)


def test_resume_refuses_a_data_folder_whose_images_changed(tmp_path, clean_dir):
    """--resume compared the data folder's path, not what it holds: a folder that gained and lost an image between
    the stop and the resume went on unsaid, its validation images changed with it (a QA pass)."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(clean_dir, data)
    out = tmp_path / "r.safetensors"
    kw = dict(add_noise="gaussian:sigma=25", progress=False, overrides=FAST)
    train("noise2void", data=data, out=out, steps=2, **kw)
    train("noise2void", data=data, out=out, steps=3, resume=True, **kw)  # the same images: it goes on
    shutil.copy(data / "0.png", data / "9.png")
    (data / "3.png").rename(tmp_path / "3.png")
    with pytest.raises(UsageError, match=r"--resume: the images in the data differ from the saved run's \(as many, "
                                         r"other names\)"):
        train("noise2void", data=data, out=out, steps=4, resume=True, **kw)
    shutil.copy(data / "0.png", data / "8.png")
    with pytest.raises(UsageError, match="5 training and 2 validation images now, 4 and 2 in the saved run"):
        train("noise2void", data=data, out=out, steps=4, resume=True, **kw)
    (data / "8.png").unlink()
    (data / "9.png").rename(data / "3.png")  # (the names as they were, another image under one: a QA pass)
    with pytest.raises(UsageError, match=r"differ from the saved run's \(the same names, other contents\)"):
        train("noise2void", data=data, out=out, steps=4, resume=True, **kw)
    (tmp_path / "3.png").replace(data / "3.png")
    train("noise2void", data=data, out=out, steps=4, resume=True, **kw)  # as it was: it goes on
    assert read_metadata(out)["steps"] == 4


def test_wrong_argument_types_are_one_clear_error(tmp_path, clean_dir):
    """steps='3' raised a TypeError from inside, 2.5 ran 3 steps, seed='a' a ValueError, a direct method 'unknown';
    one string of overrides was read letter by letter. Now: UsageError, or the string taken as one setting."""
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", progress=False, out=tmp_path / "m.safetensors")
    for bad, said in ((dict(steps="3"), "steps must be a whole number, got '3'"),
                      (dict(steps=2.5), "steps must be a whole number, got 2.5"),
                      (dict(steps=1, seed="a"), "seed must be a whole number"),
                      (dict(steps=1, overrides=[3]), "overrides must be strings")):
        with pytest.raises(UsageError, match=said):
            train("noise2void", **{"overrides": FAST, **kw, **bad})
    with pytest.raises(UsageError, match="method 'bm3d' is not trained; it denoises directly"):
        train("bm3d", steps=1, **kw)
    out = train("noise2void", steps=1, overrides="train.preset=tiny", **kw)
    assert out.is_file()


def test_a_model_keeps_its_training_images_spans_and_warns_of_an_image_far_outside_them(tmp_path, clean_dir):
    """A Noise2Void model given images 5 and 20 times brighter than its training stack made them 2.5 and 6 times
    worse than the input, with no warning (the bound, 100 times the training deviation, let them pass): the model
    keeps its training images' least and largest spread, and warns of an image more than SPAN_FACTOR outside."""
    from noise2x.io import read_image
    from noise2x.predict import SPAN_FACTOR, Denoiser

    out = train("noise2void", data=clean_dir, out=tmp_path / "m.safetensors", add_noise="gaussian:sigma=10",
                steps=2, seed=0, overrides=FAST, progress=False)
    lo, hi = read_metadata(out)["data_span"]
    spans = [float(np.subtract(*np.percentile(read_image(p), [99.9, 0.1]))) for p in sorted(clean_dir.iterdir())]
    assert min(spans) < lo <= hi < max(spans) + 80  # (of the noisy images: the noise widens them)
    model = Denoiser.load(out)
    image = read_image(sorted(clean_dir.iterdir())[0])
    assert model.units_warning(image) is None
    assert model.units_warning(100 + image * 0.9 * SPAN_FACTOR * hi / np.ptp(image)) is None
    warned = model.units_warning(100 + image * 1.1 * SPAN_FACTOR * hi / np.ptp(image))
    assert warned.startswith("the image's values spread over") and "so much brighter" in warned, warned
    assert "so much fainter" in model.units_warning(image * 0.9 / SPAN_FACTOR * lo / np.ptp(image))


def test_sigterm_stops_training_as_ctrl_c_does(tmp_path, clean_dir):
    """A job scheduler's time limit (SIGTERM) killed a run, losing every step since the last checkpoint, with no
    model written (the cluster QA pass); Ctrl-C stopped it gracefully. SIGTERM now does as the first Ctrl-C:
    stop after the step, the model and state saved, exit code 143; --resume continues it exactly."""
    import os
    import signal

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=8, progress=False,
              overrides=FAST + ["train.val_every=100", "train.keep=last", "data.resample_noise=true"])
    straight = weights(train("noise2noise", out=tmp_path / "s.safetensors", **kw))

    def term_at_3(info):
        if info.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)  # (timeout(1)'s second, to its process group: the same stop)

    out = tmp_path / "t.safetensors"
    unhandled = []  # (where training handles no SIGTERM, this one does, not the default, which would end pytest)

    def fallback(signum, frame):
        unhandled.append(signum)

    before = signal.signal(signal.SIGTERM, fallback)
    try:
        with pytest.raises(TrainingInterrupted, match=r"stopped \(SIGTERM\) at step 3/8") as stopped:
            train("noise2noise", out=out, callbacks=[term_at_3], **kw)
        assert signal.getsignal(signal.SIGTERM) is fallback
    finally:
        signal.signal(signal.SIGTERM, before)
    assert stopped.value.exit_code == 143 and not unhandled
    assert read_metadata(out)["steps"] == 3
    train("noise2noise", out=out, resume=True, **kw)
    assert all(torch.equal(x, y) for x, y in zip(straight, weights(out)))
    if hasattr(signal, "SIGHUP"):  # (an ssh connection gone: stopped as by SIGTERM, status 129)
        def hup_at_2(info):
            if info.step == 2:
                os.kill(os.getpid(), signal.SIGHUP)

        # (a handler of this test's where training handles none: the suite may run under nohup, which ignores
        # SIGHUP, and training leaves an ignored one ignored)
        before = signal.signal(signal.SIGHUP, fallback)
        try:
            with pytest.raises(TrainingInterrupted, match=r"stopped \(SIGHUP\) at step 2/8") as stopped:
                train("noise2noise", out=tmp_path / "h.safetensors", callbacks=[hup_at_2], **kw)
        finally:
            signal.signal(signal.SIGHUP, before)
        assert stopped.value.exit_code == 129 and read_metadata(tmp_path / "h.safetensors")["steps"] == 2
        assert not unhandled


def test_a_second_run_of_the_same_out_is_refused(tmp_path, clean_dir):
    """Two runs writing the same --out side by side both ended well, their run folder mixing the two (the cluster
    QA pass, a requeued job beside its first instance). A run holds a lock file beside --out: another run is
    refused while it lives; a killed run's lock (its process gone) is taken over; the lock goes with the run."""
    import os
    import socket
    import subprocess
    import sys

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=2, progress=False, overrides=FAST)
    out = tmp_path / "m.safetensors"
    lock = tmp_path / ".m.safetensors.lock"
    lock.write_text(f"{os.getpid()} {socket.gethostname()}")  # a run going on, in this process
    with pytest.raises(UsageError, match=r"another noise2x train \(process \d+ on .*\) is writing"):
        train("noise2noise", out=out, **kw)
    assert not out.exists() and lock.exists()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(f"{gone.stdout.strip()} {socket.gethostname()}")  # a run that was killed
    train("noise2noise", out=out, **kw)
    assert out.exists() and not lock.exists()
    later = tmp_path / "new" / "m.safetensors"  # a folder not made yet (as an array's jobs start): locked too
    seen = []
    train("noise2noise", out=later, callbacks=[lambda i: seen.append((tmp_path / "new" / ".m.safetensors.lock")
                                                                     .exists())], **kw)
    assert later.exists() and seen and all(seen) and not (tmp_path / "new" / ".m.safetensors.lock").exists()


def test_a_killed_runs_lock_is_told_without_os_kill_on_windows(tmp_path, clean_dir, monkeypatch):
    """On Windows os.kill(pid, 0) is no probe: it sends Ctrl+C to the console (CTRL_C_EVENT is 0), or fails with
    WinError 87, and a killed run's lock broke every later run of its --out (a portability QA pass). There the
    process is looked up (OpenProcess), never signalled."""
    import os
    import socket

    from noise2x import train as train_mod

    asked = []
    monkeypatch.setattr(train_mod, "_WINDOWS", True)
    monkeypatch.setattr(train_mod, "_alive_on_windows", lambda pid: asked.append(pid) or pid == 4242)
    monkeypatch.setattr(os, "kill", lambda *a: pytest.fail("os.kill called on Windows"))
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=1, progress=False, overrides=FAST)
    lock = tmp_path / ".m.safetensors.lock"
    lock.write_text(f"4242 {socket.gethostname()}")  # a run going on
    with pytest.raises(UsageError, match=r"another noise2x train \(process 4242"):
        train("noise2noise", out=tmp_path / "m.safetensors", **kw)
    lock.write_text(f"999999 {socket.gethostname()}")  # a run that was killed
    train("noise2noise", out=tmp_path / "m.safetensors", **kw)
    assert asked == [4242, 999999] and not lock.exists()


def test_resume_from_another_working_folder(tmp_path, clean_dir, monkeypatch):
    """A run started with --data train/ could not be resumed by a job starting in another folder: "data differs
    from the saved run ('train/')", though the folder was the same (the cluster QA pass). The run folder keeps
    the folders resolved; --resume compares with them and reads the data from there."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(clean_dir, project / "train")
    kw = dict(add_noise="gaussian:sigma=25", progress=False, overrides=FAST)
    monkeypatch.chdir(project)
    out = tmp_path / "runs" / "m.safetensors"
    train("noise2noise", data="train/", out=out, steps=2, **kw)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for spelling in (str(project / "train"), "../project/train/"):
        train("noise2noise", data=spelling, out=out, steps=3 if spelling.startswith("/") else 4, resume=True, **kw)
    assert read_metadata(out)["steps"] == 4
    (elsewhere / "train").mkdir()  # another folder of that name here: not the run's
    with pytest.raises(UsageError, match="data differs from the saved run"):
        train("noise2noise", data="train/", out=out, steps=5, resume=True, **kw)
    # a validation folder given to --resume was dropped unsaid (a QA pass): refused, as --data is
    with pytest.raises(UsageError, match=r"^--resume: val_data differs from the saved run \(it had none\)"):
        train("noise2noise", data="../project/train/", val_data="../project/train/", out=out, steps=5, resume=True,
              **kw)
    train("noise2noise", data="../project/train/", out=out, steps=5, resume=True, **kw)  # (none given: the run's)


def test_resume_keeps_the_saved_runs_settings(tmp_path, clean_dir):
    """--resume took changed method options, schedule and seed without a word, and the model file then recorded
    the new ones for the whole run (the ML-researcher QA pass). They are refused; the budget, the checkpointing
    and the threads may change."""
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", progress=False)
    out = tmp_path / "m.safetensors"
    train("noise2void", out=out, steps=2, seed=3, overrides=FAST, **kw)
    for extra, seed, said in ((["method.radius=2"], None, "method.radius=2"), (["train.lr=0.1"], None, "train.lr"),
                              ([], 5, "seed 5 (saved run: 3)")):
        with pytest.raises(UsageError, match="continues the saved run with its own settings: .*" + re.escape(said)):
            train("noise2void", out=out, steps=4, seed=seed, resume=True, overrides=FAST + extra, **kw)
    train("noise2void", out=out, steps=4, resume=True, overrides=FAST + ["train.val_every=1", "train.threads=1"],
          **kw)
    meta = read_metadata(out)
    assert meta["steps"] == 4 and meta["config"]["train"]["seed"] == 3


def test_the_run_folder_inside_the_data_is_not_training_data(tmp_path):
    """--out inside --data with --recursive: a resumed run read the run folder's loss plot (curve.png) as one more
    training image (RGB data) or refused "the data" (gray data) (the QA re-check). The run folder is left out."""
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(data / f"{i}.png")
    kw = dict(data=data, add_noise="gaussian:sigma=25", progress=False, out=data / "m.safetensors",
              overrides=FAST + ["data.recursive=true", "train.val_every=1"])
    train("noise2void", steps=2, **kw)
    assert (run_folder(data / "m.safetensors") / "curve.png").exists()
    first = json.loads((run_folder(data / "m.safetensors") / "config.json").read_text())
    train("noise2void", steps=3, resume=True, **kw)
    saved = json.loads((run_folder(data / "m.safetensors") / "config.json").read_text())
    assert (saved["train_images"], saved["val_images"]) == (first["train_images"], first["val_images"]), saved
    train("noise2void", steps=2, **{**kw, "out": data / "other.safetensors"})  # (another run's folder: left out)
    saved = json.loads((run_folder(data / "other.safetensors") / "config.json").read_text())
    assert (saved["train_images"], saved["val_images"]) == (first["train_images"], first["val_images"]), saved
    shutil.rmtree(run_folder(data / "m.safetensors"))


def test_a_finished_run_given_more_steps_says_its_rate_goes_back_up(tmp_path, clean_dir, capsys):
    """A finished run resumed with a larger --steps restarts its schedule over the new budget: the rate, ~0 at the
    end, goes back up. Said now (a QA pass found it unsaid); a budget that keeps the rate says nothing."""
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", overrides=FAST + ["train.val_every=4"])
    out = tmp_path / "m.safetensors"
    train("noise2noise", out=out, steps=4, progress=False, **kw)
    capsys.readouterr()
    train("noise2noise", out=out, steps=8, resume=True, progress=True, **kw)
    err = capsys.readouterr().err
    lr = read_metadata(out)["config"]["train"]["lr"]
    assert (f"note: the learning-rate schedule (rampdown) runs over the new budget: at step 4 the rate is {lr:.3g} "
            f"(it was 0 when the run stopped, by its budget)") in err

    def stop_at_4(info):
        if info.step == 4:
            info.stop = True

    early = tmp_path / "e.safetensors"
    with pytest.raises(TrainingInterrupted):
        train("noise2noise", out=early, steps=20, progress=False, callbacks=[stop_at_4], **kw)
    train("noise2noise", out=early, steps=30, resume=True, progress=True, **kw)  # (4 of 20 or 30: full rate)
    assert "learning-rate schedule" not in capsys.readouterr().err


def test_off_a_terminal_progress_lines_come_every_so_often_and_at_the_end(tmp_path, clean_dir, capsys, monkeypatch):
    """Off a terminal (a batch job's log) train said nothing until its first validation (250 steps with the cpu
    preset), nor for the last stretch; its last line named no steps or figure (the docs QA pass)."""
    from noise2x import cli
    from noise2x import train as train_module

    monkeypatch.setattr(train_module, "OFF_TTY_EVERY", 0.0)  # (a line at every step: the time rule, fast)
    code = cli.main(["train", "--method", "noise2noise", "--data", str(clean_dir), "--add-noise", "gaussian:sigma=25",
                     "--steps", "5", "--out", str(tmp_path / "m.safetensors"), "--set", "train.val_every=100",
                     *[x for o in FAST for x in ("--set", o)]])
    out, err = capsys.readouterr()
    steps = [line for line in err.splitlines() if line.startswith("step ")]
    assert code == 0 and [s.split()[1] for s in steps[:5]] == ["1/5", "2/5", "3/5", "4/5", "5/5"], err
    assert "val " in steps[-1]  # (the end-of-budget validation said)
    assert re.search(r"trained noise2noise -> .*m\.safetensors \(5 steps in \d+ s, validation PSNR \d+\.\d\d dB\)",
                     out), out


def test_resuming_a_finished_run_with_no_step_left(tmp_path, clean_dir, capsys):
    """A finished run resumed with no step left (the same --steps, fewer, or no new budget) became an internal error
    (AttributeError) in cd2c92f, the QA re-check found; it ends as the finished run, its model as it was."""
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", overrides=FAST + ["train.val_every=100"])
    out = tmp_path / "m.safetensors"
    train("noise2noise", out=out, steps=3, progress=False, **kw)
    before, log, meta = weights(out), (run_folder(out) / "log.csv").read_text(), read_metadata(out)
    for steps in (3, 2, None):  # (nor a row more in its log, nor time in its record, nor a budget below its steps)
        train("noise2noise", out=out, steps=steps, resume=True, progress=True, **kw)
        assert read_metadata(out) == meta and all(torch.equal(a, b) for a, b in zip(before, weights(out)))
        assert (run_folder(out) / "log.csv").read_text() == log
        assert "note: nothing to train: the run has 3 steps" in capsys.readouterr().err


def test_a_full_disk_stops_training_saying_what_was_kept(tmp_path, clean_dir, monkeypatch):
    """On a full small disk training said "cannot write .../state.safetensors: ...; nothing was written" and left a
    model and a best model and config.json behind, no model at --out, and nothing to resume (a model-sharing QA
    pass). A run that could keep no checkpoint now removes its run folder; a later failure leaves the last
    checkpoint whole (its files are put in place once all are written: a QA re-check found the model replaced and
    the state not) and names it, and --resume goes on from it; a checkpoint whose files are of two steps (written
    by hand, or by an older noise2x) is refused."""
    from noise2x import checkpoint
    from noise2x.errors import WriteFailed

    real = checkpoint.save_state
    calls = []

    def full_at(n):
        def save_state(path, **kw):
            calls.append(path)
            if len(calls) == n:
                raise WriteFailed(f"cannot write {path}: no space left on the device; nothing was written")
            return real(path, **kw)
        return save_state

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=6, progress=False,
              overrides=FAST + ["train.val_every=2"])
    out = tmp_path / "m.safetensors"
    monkeypatch.setattr(checkpoint, "save_state", full_at(1))
    with pytest.raises(WriteFailed, match=r"nothing was written; training stopped at step 2; no checkpoint could "
                                          r"be kept \(.*m\.run removed\)"):
        train("noise2void", out=out, **kw)
    assert not run_folder(out).exists() and not out.exists()
    calls.clear()
    monkeypatch.setattr(checkpoint, "save_state", full_at(2))
    with pytest.raises(WriteFailed, match=r"training stopped at step 4; the last whole checkpoint \(step 2\) is in "
                                          r".*m\.run: free some space and continue with --resume"):
        train("noise2void", out=out, **kw)
    run = run_folder(out)
    assert read_metadata(run / "last.safetensors")["steps"] == 2 and not list(run.glob(".*.next"))
    older_state = (run / "state.safetensors").read_bytes()
    monkeypatch.setattr(checkpoint, "save_state", real)
    train("noise2void", out=out, resume=True, **kw)
    straight = train("noise2void", out=tmp_path / "s.safetensors", **kw)
    assert all(torch.equal(a, b) for a, b in zip(weights(out), weights(straight)))  # (as if never stopped)
    (run / "state.safetensors").write_bytes(older_state)  # (a state of step 2 beside the weights of step 6)
    with pytest.raises(UsageError, match=r"its weights are of step 6, its training state of step 2"):
        train("noise2void", out=out, resume=True, **kw)


def test_a_minutes_run_is_repeated_by_replaying_its_step_shares(tmp_path, clean_dir, capsys):
    """A --minutes run's learning rate (and a method's progress) follows the clock: two runs of one seed and
    thread count gave models far apart, and --steps N repeated neither (a reproducibility QA pass). Each
    step's budget share is now kept in the training state; --steps N --set train.replay=STATE repeats the run
    bit for bit, as the run's closing note says."""
    from noise2x.checkpoint import load_state

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", overrides=FAST + ["train.val_every=3"])
    first = train("noise2void", out=tmp_path / "m.safetensors", minutes=0.04, **kw)
    steps = read_metadata(first)["steps"]
    state = run_folder(first) / "state.safetensors"
    err = capsys.readouterr().err
    assert f"to repeat this --minutes run: --steps {steps} --set train.replay={state}" in err, err
    shares = load_state(state)[1]["progress_trace"]
    assert len(shares) == steps and float(shares[-1]) < 1.0 and steps > 2
    plain = train("noise2void", out=tmp_path / "p.safetensors", steps=steps, progress=False, **kw)
    again = train("noise2void", out=tmp_path / "r.safetensors", steps=steps, progress=False,
                  **dict(kw, overrides=kw["overrides"] + [f"train.replay={state}"]))
    assert all(torch.equal(a, b) for a, b in zip(weights(first), weights(again)))
    assert not all(torch.equal(a, b) for a, b in zip(weights(first), weights(plain)))  # (the steps alone: not it)
    with pytest.raises(UsageError, match=rf"holds {steps} steps; --steps {steps + 1} is more"):
        train("noise2void", out=tmp_path / "x.safetensors", steps=steps + 1, progress=False,
              **dict(kw, overrides=kw["overrides"] + [f"train.replay={state}"]))
    assert not run_folder(tmp_path / "x.safetensors").exists()  # (refused before any work: nothing left)


def test_training_progress_on_a_terminal_keeps_within_its_width(monkeypatch):
    """Each update rewrites one line (\\r): a line longer than the terminal wraps, and every update left its wrapped
    rows behind on a narrow terminal (a locale QA pass)."""
    import io
    import os
    import shutil

    from noise2x.train import _Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((30, 24)))
    stream = Tty()
    bar = _Progress(True, stream)
    bar.update("step 2/6 | loss 0.6007 | 1.59 steps/s | ETA 0:02", force=True)
    bar.update("step 3/6 | loss 0.5", force=True)
    assert [len(part) for part in stream.getvalue().split("\r")[1:]] == [29, 29]


def test_plateau_lowers_the_rate_after_patience_checks_without_improvement():
    from noise2x.train import Plateau

    c = Plateau()
    # loss: 1.0 best, then three checks no better (1.0 is within the relative 1e-4: no improvement either)
    lowered = [c.update("loss", v, better=False, patience=1, factor=0.5, lowering=True)
               for v in (1.0, 1.05, 1.00005, 1.2, 0.9, 0.95, 0.96)]
    assert lowered == [False, False, True, False, False, False, True]
    assert c.scale == 0.25 and c.ref == 0.9
    p = Plateau()  # psnr: higher is better; without lowering (train.early_stop alone) the scale stays 1
    assert not any(p.update("psnr", v, better=False, patience=0, factor=0.5, lowering=False) for v in (20, 19, 18))
    assert p.scale == 1.0 and p.bad == 2 and p.ref == 20
    s = Plateau()
    for v, better in ((3.0, True), (2.0, True), (2.5, False), (2.1, False)):
        s.update("loss", v, better=better, patience=9, factor=0.5, lowering=True)
    assert s.since_best == 2


def _log_rows(model_file):
    import csv

    with open(run_folder(model_file) / "log.csv") as f:
        return list(csv.DictReader(f))


def test_the_plateau_schedule_follows_the_validation_figure_and_resumes_with_it(tmp_path, clean_dir, capsys):
    from noise2x.train import Plateau

    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=24, progress=False,
              overrides=FAST + ["train.val_every=2", "train.schedule=plateau", "train.plateau_patience=0",
                                "train.lr=0.003"])
    straight = tmp_path / "s.safetensors"
    train("noise2void", out=straight, **kw)
    rows = _log_rows(straight)
    # the rate of each row's steps is the peak times the factors of the checks before it, as Plateau counts them
    c, expected = Plateau(), []
    for r in rows:
        expected.append(0.003 * c.scale)
        c.update("psnr", float(r["val_psnr"]), better=False, patience=0, factor=0.5, lowering=True)
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected)
    assert min(expected) < 0.003  # (lowered at least once in this run)

    def stop_at_9(info):
        if info.step == 9:
            info.stop = True

    out = tmp_path / "r.safetensors"
    with pytest.raises(TrainingInterrupted):
        train("noise2void", out=out, callbacks=[stop_at_9], **kw)
    train("noise2void", out=out, resume=True, **kw)  # the lowered rate is in the state: the same run
    assert [r["lr"] for r in _log_rows(out)] == [r["lr"] for r in rows]
    assert all(torch.equal(x, y) for x, y in zip(weights(straight), weights(out)))
    with pytest.raises(UsageError, match="train.schedule=plateau follows the validation figure.*validates on "
                                         "nothing"):
        train("noise2void", out=tmp_path / "n.safetensors", **dict(kw, overrides=kw["overrides"] + [
            "data.val_images=0"]))
    assert not (tmp_path / "n.run").exists() and not (tmp_path / "n.safetensors").exists()
    for bad, said in (("train.plateau_factor=1", "plateau_factor"), ("train.plateau_patience=-1", "plateau_patience"),
                      ("train.early_stop=-2", "early_stop")):
        with pytest.raises(UsageError, match=said):
            train("noise2void", out=tmp_path / "b.safetensors", **dict(kw, overrides=kw["overrides"] + [bad]))


def test_early_stop_ends_the_run_when_validation_stops_improving(tmp_path, clean_dir, capsys):
    kw = dict(data=clean_dir, add_noise="gaussian:sigma=25", steps=60, progress=True,
              overrides=FAST + ["train.val_every=2", "train.early_stop=2", "train.lr=0.02", "train.keep=best"])
    out = train("noise2void", out=tmp_path / "m.safetensors", **kw)
    rows = _log_rows(out)
    psnrs = [float(r["val_psnr"]) for r in rows]
    best_at = int(np.argmax(psnrs))
    # ended at the second check after the best one, short of the budget, and each check after it no better
    assert len(rows) == best_at + 3 and int(rows[-1]["step"]) < 60
    assert all(v <= psnrs[best_at] for v in psnrs[best_at + 1:])
    last = read_metadata(run_folder(out) / "last.safetensors")
    ended = {"early_stop": 2, "best_step": int(rows[best_at]["step"]), "step": int(rows[-1]["step"])}
    assert last["steps"] == int(rows[-1]["step"]) and last["ended_by"] == ended
    # keep=best: the best weights, in a file that says how the run ended (it did not, a re-check)
    assert read_metadata(out)["steps"] == int(rows[best_at]["step"]) and read_metadata(out)["ended_by"] == ended
    assert weights(out)[0].equal(weights(run_folder(out) / "best.safetensors")[0])
    err = capsys.readouterr().err
    assert f"the run ended at step {rows[-1]['step']}" in err and "train.early_stop=2" in err
    from noise2x.checkpoint import describe

    assert any(line.startswith("ended:") and "train.early_stop=2" in line for line in describe(last))
    # resumed as it was: nothing to train; with a larger train.early_stop it goes on
    train("noise2void", out=out, resume=True, **kw)
    assert "nothing to train: the run ended at step" in capsys.readouterr().err
    assert len(_log_rows(out)) == len(rows)
    train("noise2void", out=out, resume=True, **dict(kw, overrides=kw["overrides"] + ["train.early_stop=50"]))
    assert int(_log_rows(out)[-1]["step"]) == 60
