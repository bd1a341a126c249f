"""Model files: exact round trip, self-describing metadata, clear errors for bad files, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from noise2x import checkpoint
from noise2x.checkpoint import FORMAT_VERSION, load_model, load_state, read_metadata, save_model, save_state
from noise2x.errors import InputError, UsageError
from noise2x.methods import get_method
from noise2x.models import ScaledModel, build_model
from noise2x.predict import Denoiser


pytestmark = pytest.mark.usefixtures("one_thread")


def make_model(arch="unet", channels=1, **args):
    torch.manual_seed(0)
    args = {"in_channels": channels, **({"width": 8, "depth": 2} if arch == "unet" else {"depth": 4, "width": 8}), **args}
    net = build_model(arch, **args)
    model = ScaledModel(net, arch=arch, arch_args=args, mean=[110.0] * channels, std=[60.0] * channels)
    if arch == "dncnn":  # non-trivial batch-norm statistics
        model.train()
        with torch.no_grad():
            model(torch.rand(4, channels, 16, 16) * 255)
    return model.eval()


META = {"method": "noise2noise", "method_options": {"loss": "l1"}, "noise": "gaussian:sigma=25", "steps": 7}


@pytest.mark.parametrize("arch", ["unet", "dncnn"])
def test_round_trip_gives_identical_outputs(tmp_path, arch):
    model = make_model(arch, channels=3)
    path = save_model(tmp_path / "m.safetensors", model, metadata=META)
    loaded, meta = load_model(path)
    x = torch.rand(2, 3, 37, 31) * 255
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["method"] == "noise2noise" and meta["method_options"] == {"loss": "l1"}
    assert meta["arch"] == arch and meta["arch_args"] == model.arch_args
    assert meta["normalization"] == {"mean": [110.0] * 3, "std": [60.0] * 3}
    assert meta["noise"] == "gaussian:sigma=25" and meta["steps"] == 7 and meta["noise2x_version"]
    assert read_metadata(path)["arch"] == arch
    # the file holds tensors only: every entry loads as a tensor, with no pickle involved
    assert all(isinstance(t, torch.Tensor) for t in load_file(str(path)).values())


def test_loading_a_model_leaves_the_callers_torch_random_state_alone(tmp_path, gray_image):
    """Building the network drew its random initial weights (then replaced by the file's) from the caller's torch
    RNG: a seeded pipeline's own draws moved when noise2x loaded a model (a QA pass)."""
    import noise2x

    path = save_model(tmp_path / "m.safetensors", make_model("unet", channels=1), metadata=META)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    load_model(path)
    noise2x.denoise(gray_image, model=path)
    assert torch.equal(torch.rand(3), expected)


def test_denoiser_round_trip(tmp_path, gray_image):
    d = Denoiser(make_model(), get_method("noise2noise", {"loss": "l1"}), dict(META))
    path = d.save(tmp_path / "d.safetensors")
    d2 = Denoiser.load(path)
    assert d2.method.options.loss == "l1" and d2.method_name == "noise2noise"
    assert np.array_equal(d.denoise(gray_image, tile=16, overlap=4), d2.denoise(gray_image, tile=16, overlap=4))
    assert "noise2noise" in repr(d2) and d2.describe().startswith("noise2noise (unet depth=2, width=8; 1 channel(s)")
    assert any("unet" in line for line in checkpoint.describe(d2.metadata))


def test_truncated_file(tmp_path):
    path = save_model(tmp_path / "m.safetensors", make_model(), metadata=META)
    data = path.read_bytes()
    for keep in (len(data) - 100, len(data) // 2, 40, 3):
        bad = tmp_path / f"cut{keep}.safetensors"
        bad.write_bytes(data[:keep])
        with pytest.raises(InputError, match="cut"):
            load_model(bad)


def test_tampered_weights_are_detected(tmp_path):
    path = save_model(tmp_path / "m.safetensors", make_model(), metadata=META)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x40  # one bit in the last tensor
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="damaged or was modified"):
        load_model(path)


def rewrite(path, out, *, header_update=None, meta_update=None, tensors=None):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = dict(f.metadata())
    t = load_file(str(path)) if tensors is None else tensors
    meta = json.loads(header["noise2x"])
    meta.update(meta_update or {})
    header["noise2x"] = json.dumps(meta)
    header.update(header_update or {})
    save_file(t, str(out), metadata=header)
    return out


def test_unknown_version_and_foreign_files(tmp_path):
    path = save_model(tmp_path / "m.safetensors", make_model(), metadata=META)
    v2 = rewrite(path, tmp_path / "v2.safetensors", header_update={"format_version": "2"})
    with pytest.raises(InputError, match="format version '2'.*reads version 1"):
        read_metadata(v2)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(InputError, match="not a noise2x model file"):
        load_model(foreign)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError):
        load_model(junk)
    badjson = rewrite(path, tmp_path / "j.safetensors", header_update={"noise2x": "{not json"})
    with pytest.raises(InputError, match="corrupt metadata"):
        load_model(badjson)
    with pytest.raises(UsageError, match="no such model file"):
        load_model(tmp_path / "missing.safetensors")


def test_architecture_mismatch(tmp_path):
    path = save_model(tmp_path / "m.safetensors", make_model(), metadata=META)
    wider = rewrite(path, tmp_path / "w.safetensors", meta_update={"arch_args": {"in_channels": 1, "width": 16, "depth": 2}})
    with pytest.raises(InputError, match="do not fit architecture 'unet'"):
        load_model(wider)
    alien = rewrite(path, tmp_path / "a.safetensors", meta_update={"arch": "transformer"})
    with pytest.raises(InputError, match="cannot rebuild"):
        load_model(alien)



def test_a_lying_file_cannot_make_the_loader_allocate_its_network(tmp_path, monkeypatch):
    # a stranger's file may keep its checksum consistent and ask for a huge network in its metadata:
    # the loader compares shapes on the meta device and builds nothing for real before they fit
    path = save_model(tmp_path / "m.safetensors", make_model(), metadata=META)
    built = []
    import noise2x.models

    real_build = noise2x.models.build_model

    def spy(arch, **args):
        built.append(torch.empty(0).device.type)  # the default device the network is made on
        return real_build(arch, **args)

    monkeypatch.setattr("noise2x.models.build_model", spy)
    for width, match in [(100_000, r"do not fit architecture 'unet' with .*'width': 100000.*tensors differ"),
                         (10**9, "cannot rebuild the model: .*overflow")]:
        huge = rewrite(path, tmp_path / f"w{width}.safetensors",
                       meta_update={"arch_args": {"in_channels": 1, "width": width, "depth": 2}})
        with pytest.raises(InputError, match=match):
            load_model(huge)
    assert built and set(built) == {"meta"}
    # weights left out, checksum recomputed to match
    tensors = load_file(str(path))
    del tensors["net.out.weight" if "net.out.weight" in tensors else sorted(k for k in tensors if k.startswith("net."))[0]]
    short = rewrite(path, tmp_path / "s.safetensors", tensors=tensors,
                    header_update={"sha256": checkpoint.tensor_digest(tensors)})
    with pytest.raises(InputError, match="do not fit architecture 'unet'"):
        load_model(short)
    built.clear()
    load_model(path)
    assert built == ["meta", "cpu"]  # a good file: checked, then built


def test_wrong_number_of_channels(tmp_path, rgb_image):
    # an RGB model cannot denoise a gray or a 4-channel image (a gray model denoises any: tests/test_colour.py)
    d = Denoiser(make_model(channels=3), get_method("noise2noise"), dict(META))
    with pytest.raises(InputError, match="expects 3-channel"):
        d.denoise(rgb_image[..., 0])
    with pytest.raises(InputError, match="expects 3-channel"):
        d.denoise(np.concatenate([rgb_image, rgb_image[..., :1]], axis=-1))


def test_state_round_trip_continues_adam_exactly(tmp_path):
    def run(model, opt, steps, seed):
        g = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            x = torch.rand(2, 1, 16, 16, generator=g) * 255
            loss = (model.net(model.normalize(x)) - model.normalize(x)).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    a = make_model()
    opt_a = torch.optim.Adam(a.parameters(), lr=1e-3, betas=(0.9, 0.99))
    run(a, opt_a, 3, 0)
    save_model(tmp_path / "m.safetensors", a, metadata=META)
    save_state(tmp_path / "s.safetensors", optimizers={"model": opt_a}, tensors={"x": torch.arange(3)},
               info={"step": 3})
    b, _ = load_model(tmp_path / "m.safetensors")
    b.train()
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3, betas=(0.9, 0.99))
    states, extra, info = load_state(tmp_path / "s.safetensors")
    opt_b.load_state_dict(states["model"])
    assert info == {"step": 3} and torch.equal(extra["x"], torch.arange(3))
    run(a.train(), opt_a, 2, 1)
    run(b, opt_b, 2, 1)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(InputError, match="training-state file"):
        read_metadata(tmp_path / "s.safetensors")
    # the tensors read are the process's own, not views of the file mapped into memory: Windows refuses to replace
    # a mapped file, and every train --resume failed at its first checkpoint there (a portability QA pass)
    maps = Path("/proc/self/maps")
    if maps.exists():
        kept = (states, extra, load_model(tmp_path / "m.safetensors"))
        checkpoint.update_metadata(tmp_path / "m.safetensors", {"note": "x"})
        mapped = maps.read_text()
        assert "s.safetensors" not in mapped and "m.safetensors" not in mapped and kept


def test_describe_rounds_the_validation_figure():
    lines = checkpoint.describe({"val_metric": "psnr", "val_value": 21.303315181513405, "method": "noise2void"})
    assert "validation:    psnr 21.3" in lines


def _edited(tmp_path, name, *, meta=None, tensors=None, raw_meta=None):
    """A copy of a saved model file with its noise2x metadata or tensors changed (the checksum left out, as a
    stranger who edits a file would)."""
    from safetensors import safe_open

    src = tmp_path / "base.safetensors"
    if not src.exists():
        save_model(src, make_model(), metadata=dict(META))
    with safe_open(str(src), "pt") as f:
        header = {k: v for k, v in f.metadata().items() if k != "sha256"}
    stored = load_file(str(src))
    m = json.loads(header["noise2x"])
    m.update(meta or {})
    header["noise2x"] = raw_meta if raw_meta is not None else json.dumps(m)
    save_file({**stored, **(tensors or {})}, str(tmp_path / name), metadata=header)
    return tmp_path / name


def test_a_strangers_model_file_is_refused_quickly_and_shown_safely(tmp_path):
    """From the security QA pass: metadata asking for depth 100000 took minutes (and a GB) to build before it was
    refused; NaN weights or a std of 0 loaded, and the CLI then blamed the image; wrongly typed fields, or JSON
    nested 100000 deep, gave internal errors; control characters in texts went to the terminal as they were
    (forged lines of info, escape sequences)."""
    import time

    start = time.perf_counter()
    with pytest.raises(InputError, match="depth=100000 in its metadata, for 18 weight tensors"):
        load_model(_edited(tmp_path, "deep.safetensors", meta={"arch_args": {"in_channels": 1, "width": 8,
                                                                               "depth": 100000}}))
    assert time.perf_counter() - start < 5
    out = make_model().net.state_dict()["out.weight"].clone()
    out.view(-1)[0] = float("nan")
    with pytest.raises(InputError, match=r"weights hold NaN/inf values \(net.out.weight\)"):
        load_model(_edited(tmp_path, "nan.safetensors", tensors={"net.out.weight": out}))
    with pytest.raises(InputError, match="std must be positive"):
        load_model(_edited(tmp_path, "std.safetensors", tensors={"std": torch.zeros(1, 1, 1, 1)}))
    for field, value, said in (("seconds", "x", "seconds: not a number"), ("data_span", ["a", "b"], "data_span"),
                               ("config", "x", "config: not an object"), ("arch_args", [1, 2], "arch_args"),
                               ("noise", "gaussian:sigma=abc", "noise:")):
        with pytest.raises(InputError, match=f"corrupt metadata \\({said}"):
            read_metadata(_edited(tmp_path, f"{field}.safetensors", meta={field: value}))
    with pytest.raises(InputError, match="nested too deeply"):
        read_metadata(_edited(tmp_path, "nested.safetensors", raw_meta="[" * 100000 + "]" * 100000))
    with pytest.raises(InputError, match="invalid method options: method 'noise2noise' option loss=3: expected str"):
        Denoiser.load(_edited(tmp_path, "opt.safetensors", meta={"method_options": {"loss": 3}}))
    forged = _edited(tmp_path, "ansi.safetensors", meta={"noise": "gaussian:sigma=25\nfake line: checksum OK\r",
                                                         "config": {"inputs": {"data": "\x1b[1;32mzoo\x1b[0m"}}})
    with pytest.raises(InputError, match="noise:"):  # (not a noise spec with its line break)
        read_metadata(forged)
    forged = _edited(tmp_path, "ansi2.safetensors", meta={"config": {"inputs": {"data": "\x1b[2Jzoo\nfake: ok"}}})
    shown = "\n".join(checkpoint.describe(read_metadata(forged)))
    assert "\x1b" not in shown and "\\x1b[2Jzoo\\x0afake: ok" in shown
    long = _edited(tmp_path, "long.safetensors", meta={"method_options": {"loss": "x" * 1_000_000}})
    with pytest.raises(InputError) as err:
        Denoiser.load(long)
    assert len(str(err.value)) < 5000  # (the text cut at 4096 characters; the CLI line at 2000)


def test_weights_of_another_kind_are_refused(tmp_path):
    """Integer or boolean weights were cast and used: a garbage image, exit 0 (the security QA pass); a batch
    norm's step count is an integer in the network too, and loads."""
    out = make_model().net.state_dict()["out.weight"]
    with pytest.raises(InputError, match=r"not of the network's kinds \(net.out.weight is torch.int32, not "
                                         r"torch.float32\)"):
        load_model(_edited(tmp_path, "int.safetensors", tensors={"net.out.weight": (out * 1000).to(torch.int32)}))
    save_model(tmp_path / "bn.safetensors", make_model("dncnn"), metadata=dict(META))
    load_model(tmp_path / "bn.safetensors")


def test_info_checks_the_weights_as_denoise_loads_them(tmp_path, capsys):
    """noise2x info said nothing of a model whose weights fail the checks of loading (a checksum that does not
    match, NaN weights) and exited 0: the tool to vet a stranger's file (the security QA pass)."""
    from safetensors import safe_open

    from noise2x import cli

    good = tmp_path / "good.safetensors"
    save_model(good, make_model(), metadata=dict(META))
    assert cli.main(["info", str(good)]) == 0
    assert "weights:       checked (checksum" in capsys.readouterr().out
    with safe_open(str(good), "pt") as f:
        header = f.metadata()
    stored = load_file(str(good))
    stored["net.out.weight"] = stored["net.out.weight"] + 1.0  # (the checksum kept: no longer matching)
    save_file(stored, str(tmp_path / "edited.safetensors"), metadata=header)
    assert cli.main(["info", str(tmp_path / "edited.safetensors")]) == 1
    out = capsys.readouterr().out
    assert "method:" in out and "weights:       DAMAGED:" in out and "do not match the stored checksum" in out


def test_info_reads_a_models_weights_once_and_names_a_method_it_does_not_know(tmp_path, capsys, monkeypatch):
    """info MODEL read and checked the weights twice (the second time for a blindspot model's learned noise).
    Read once, a method this noise2x does not know, or options it does not take, still end in their error
    line."""
    from noise2x import cli

    loads = []
    real = checkpoint.read_tensors
    monkeypatch.setattr(checkpoint, "read_tensors", lambda p: loads.append(p) or real(p))
    save_model(tmp_path / "good.safetensors", make_model(), metadata=dict(META))
    assert cli.main(["info", str(tmp_path / "good.safetensors")]) == 0
    assert len(loads) == 1 and "weights:       checked" in capsys.readouterr().out
    for name, meta, said in (("unknown.safetensors", {"method": "nosuch"}, "trained with method 'nosuch', unknown"),
                             ("options.safetensors", {"method_options": {"bogus": 1}}, "invalid method options")):
        assert cli.main(["info", str(_edited(tmp_path, name, meta=meta))]) == 1
        assert said in capsys.readouterr().err


def test_a_null_architecture_setting_loads(tmp_path):
    """The metadata kind check must not refuse what noise2x writes: an architecture setting of None (e.g.
    --set model.dec_width=none) is a null in the file."""
    m = get_method("blindspot", {"noise_model": "gaussian_learned"})
    arch, args = m.default_model(channels=1, preset="tiny")
    args = {**args, "dec_width": None}
    model = ScaledModel(build_model(arch, **args), arch=arch, arch_args=args, mean=[0.0], std=[1.0])
    path = save_model(tmp_path / "m.safetensors", model, metadata={"method": "blindspot",
                                                                   "method_options": m.options_dict()})
    assert load_model(path)[1]["arch_args"]["dec_width"] is None


def test_loading_a_model_imports_no_compiler():
    """The shape check builds the network on the meta device first, where the random initialisation's normal_
    imported torch._dynamo and sympy, slow imports, in every command that loads a model (a performance QA
    pass). That build initialises nothing."""
    import subprocess
    import sys

    code = ("import sys; from noise2x.checkpoint import load_model; from noise2x.api import model_file; "
            "load_model(model_file('gray-gaussian')); print('torch._dynamo' in sys.modules, 'sympy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.split() == ["False", "False"], run.stderr
