"""Tiled inference: tiles agree with the whole image, units/shape/kind kept, TTA, stacks, errors, memory."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from noise2x.errors import InputError, UsageError
from noise2x.models import ScaledModel, build_model
from noise2x.predict import denoise_array, denoise_stack, model_alignment, resolve_device


pytestmark = pytest.mark.usefixtures("one_thread")


def local_model(channels=1, layers=3, seed=0):
    """A small convolutional net with a receptive-field radius of ``layers`` pixels."""
    torch.manual_seed(seed)
    mods = []
    for i in range(layers):
        mods.append(nn.Conv2d(channels if i == 0 else 8, channels if i == layers - 1 else 8, 3, padding=1))
        if i < layers - 1:
            mods.append(nn.ReLU())
    return ScaledModel(nn.Sequential(*mods), arch="test", arch_args={}, mean=[110.0] * channels, std=[60.0] * channels)


def unet(channels=1, seed=0, **args):
    torch.manual_seed(seed)
    args = {"in_channels": channels, "width": 8, "depth": 2, **args}
    return ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0] * channels,
                       std=[60.0] * channels)


def noisy_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    base = 128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 7.0)
    if len(shape) == 3:
        base = np.stack([base, 255 - base, base * 0.5][:shape[2]], axis=-1)
    return base + rng.normal(0, 25, shape)


@pytest.mark.parametrize("shape", [(37, 31), (130, 101, 3)])
def test_tiles_equal_whole_image_for_a_local_net(shape):
    model = local_model(channels=1 if len(shape) == 2 else 3)
    img = noisy_image(shape)
    whole = denoise_array(model, img, tile=0)
    for tile, overlap in [(16, 12), (24, 16), (64, 32)]:
        tiled = denoise_array(model, img, tile=tile, overlap=overlap, batch_size=3, context=0)
        # without context: the receptive-field radius (3) is inside the zero-weight quarter of the overlap
        assert np.abs(tiled - whole).max() < 1e-3
        with_context = denoise_array(model, img, tile=tile, overlap=4, batch_size=3, context=3)
        assert np.abs(with_context - whole).max() < 1e-3


def test_unet_tiles_are_aligned_and_given_context():
    model = unet(depth=2)
    assert model_alignment(model) == 4 and model_alignment(local_model()) == 1
    img = noisy_image((200, 150))
    whole = denoise_array(model, img, tile=0)
    bare = np.abs(denoise_array(model, img, tile=64, overlap=16, context=0) - whole).max()
    # context beyond the receptive field: the tiles see exactly what the whole image run saw
    assert np.abs(denoise_array(model, img, tile=64, overlap=16, context=40) - whole).max() < 1e-3
    assert np.abs(denoise_array(model, img, tile=64, overlap=16, context=8) - whole).max() < bare


def test_units_shape_and_dtype(gray_image, rgb_image):
    # an identity network inside the scaling wrapper returns the input in its own units
    ident = ScaledModel(nn.Identity(), arch="test", arch_args={}, mean=[100.0], std=[40.0])
    noisy = gray_image + 300.0  # unclipped values are fine
    out = denoise_array(ident, noisy, tile=16, overlap=4)
    assert out.dtype == np.float32 and out.shape == noisy.shape
    assert np.allclose(out, noisy, atol=1e-3)
    as_u8 = denoise_array(ident, gray_image.astype(np.uint8), tile=0)
    assert np.allclose(as_u8, gray_image.astype(np.uint8), atol=1e-3)
    three = ScaledModel(nn.Identity(), arch="test", arch_args={}, mean=[1.0] * 3, std=[2.0] * 3)
    assert np.allclose(denoise_array(three, rgb_image, tile=20, overlap=8), rgb_image, atol=1e-3)
    assert denoise_array(ident, gray_image[:, :, None], tile=0).shape == (37, 31, 1)
    before = gray_image.copy()
    denoise_array(unet(), gray_image, tile=16, overlap=8)
    assert np.array_equal(gray_image, before)


def test_tta_averages_the_eight_transforms(gray_image):
    model = unet(seed=2)
    plain = denoise_array(model, gray_image, tile=0)
    tta = denoise_array(model, gray_image, tile=0, tta=True)
    assert tta.shape == plain.shape and not np.allclose(tta, plain)
    # by hand: average of the transformed predictions, transformed back
    from noise2x.patches import d4, d4_inverse

    manual = np.mean([d4_inverse(denoise_array(model, d4(gray_image, k), tile=0), k) for k in range(8)], axis=0)
    assert np.allclose(tta, manual, atol=1e-3)
    # a rotation-invariant (pointwise) model gives the same result with or without TTA
    pw = ScaledModel(nn.Conv2d(1, 1, 1), arch="test", arch_args={}, mean=[0.0], std=[1.0])
    assert np.allclose(denoise_array(pw, gray_image, tta=True), denoise_array(pw, gray_image), atol=1e-3)


def test_method_predict_is_used(gray_image):
    class Half:
        def predict(self, model, noisy):
            return model(noisy) * 0.5

    ident = ScaledModel(nn.Identity(), arch="test", arch_args={}, mean=[0.0], std=[1.0])
    assert np.allclose(denoise_array(ident, gray_image, method=Half()), gray_image * 0.5, atol=1e-3)


def test_stack_frame_by_frame(gray_image):
    model = unet()
    stack = np.stack([gray_image, gray_image[::-1], gray_image + 5])
    seen = []
    out = denoise_stack(model, stack, tile=16, overlap=8, progress=lambda i, n: seen.append((i, n)))
    assert out.shape == stack.shape and seen[-1] == (3, 3)
    assert np.allclose(out[1], denoise_array(model, stack[1], tile=16, overlap=8))
    with pytest.raises(InputError, match="stack"):
        denoise_stack(model, gray_image[0])


def test_errors(gray_image, rgb_image):
    model = unet()
    with pytest.raises(InputError, match="expects 3-channel"):
        denoise_array(unet(channels=3), gray_image)
    bad = gray_image.copy()
    bad[30, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        denoise_array(model, bad, tile=16, overlap=4)
    with pytest.raises(InputError):
        denoise_array(model, np.array(["a"]))
    with pytest.raises(UsageError, match="overlap"):
        denoise_array(model, gray_image, tile=16, overlap=16)
    with pytest.raises(UsageError, match="device"):
        resolve_device("tpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")


@pytest.mark.slow
def test_large_image_memory_is_bounded(tmp_path):
    """An 8000 x 8000 image: peak memory (max RSS of a fresh process, torch and the 256 MB input included) < 2 GB."""
    code = textwrap.dedent("""
        import resource, time, numpy as np, torch
        from noise2x.models import ScaledModel, build_model
        from noise2x.predict import denoise_array
        args = {"in_channels": 1, "width": 32, "depth": 3}  # the cpu preset's U-Net
        model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[60.0])
        img = np.random.default_rng(0).standard_normal((8000, 8000), dtype=np.float32)
        img *= 40
        img += 128
        t = time.time()
        out = denoise_array(model, img, device="cpu")  # default tile 256, batch 4
        assert out.shape == img.shape and out.dtype == np.float32 and np.isfinite(out[::97, ::89]).all()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.time() - t)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_mb, seconds = map(float, res.stdout.split())
    print(f"8000x8000: peak RSS {peak_mb:.0f} MB, {seconds:.0f} s")
    assert peak_mb < 2048, f"peak memory {peak_mb:.0f} MB"


@pytest.mark.slow
def test_trained_model_tiles_agree_with_whole_image(tmp_path):
    """A U-Net trained briefly on train400: --tile 96 and --tile 0 agree within 0.5 (8-bit units) on Set12."""
    from conftest import data_dir

    from noise2x.io import list_images, read_image
    from noise2x.noise import protocol_noisy
    from noise2x.predict import Denoiser
    from noise2x.train import train

    path = train("supervised", data=data_dir("train400"), add_noise="gaussian:sigma=25", steps=150,
                 out=tmp_path / "m.safetensors", progress=False, overrides=["train.preset=cpu"])
    model = Denoiser.load(path)
    for i, f in enumerate(list_images(data_dir("set12"))[:2]):
        noisy = protocol_noisy(read_image(f), "gaussian:sigma=25", index=i)
        whole = model.denoise(noisy, tile=0)
        tiled = model.denoise(noisy, tile=96, overlap=32)
        print(f"{f.name}: max |tile 96 - whole| = {np.abs(tiled - whole).max():.4f}")
        assert np.abs(tiled - whole).max() < 0.5


def test_auto_threads_reads_the_cores_busy_now():
    import os

    from noise2x.predict import _busy_cores, auto_threads

    busy = _busy_cores(0.05)
    if busy is not None:  # Linux: measured from /proc/stat, not the (lagging) load average
        assert 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6
        # the last reading starts the next: every process waited the whole interval (a performance QA pass)
        import time

        time.sleep(0.3)
        t0 = time.perf_counter()
        busy = _busy_cores(0.25)
        assert time.perf_counter() - t0 < 0.1 and 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6
    assert 1 <= auto_threads() <= (os.cpu_count() or 1)


def test_the_busy_cores_leave_out_this_processs_own_work(monkeypatch):
    """Read from predict's import, the window held this process's own work (a model loaded, an image read): it
    was counted as another job's, and an idle machine's model run took a thread fewer (a QA re-check). Of 2
    cores busy over the window, 1 was this process's (its CPU time): 1 is another's."""
    from noise2x import predict

    readings = iter([(300, 1200, 2)])
    monkeypatch.setattr(predict, "_stat_reading", lambda mine: next(readings))
    monkeypatch.setattr(predict.time, "monotonic", lambda: 10.5)
    monkeypatch.setattr(predict.time, "process_time", lambda: 3.5)
    monkeypatch.setattr(predict, "_STAT_BASE", [10.0, (100, 1000, 2), 3.0])  # (half a second ago, its CPU time)
    assert predict._busy_cores(0.25) == pytest.approx(1.0)


def test_the_busy_cores_are_read_at_most_every_few_seconds_and_a_model_takes_threads(monkeypatch):
    """An integrator's QA pass: each model call waited a quarter second to read the busy cores, and a loaded model's
    denoise took no threads=."""
    import torch

    from noise2x import config, predict
    from noise2x.api import load_model

    monkeypatch.delenv(config.THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    reads = []
    monkeypatch.setattr(predict, "_busy_cores", lambda: reads.append(1) or 0.0)
    monkeypatch.setattr(predict, "_BUSY_READ", [float("-inf"), None])
    predict.auto_threads(), predict.auto_threads(), predict.auto_threads()
    assert len(reads) == 1
    predict._BUSY_READ[0] -= predict.BUSY_READ_S + 1  # (older than that: read again)
    predict.auto_threads()
    assert len(reads) == 2
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n))[1])
    den = load_model("gray-gaussian")
    image = np.random.default_rng(0).uniform(0, 255, (40, 36))
    out = den.denoise(image, threads=1)
    assert seen and seen[0] == 1 and np.array_equal(out, den.denoise(image, threads=1))
    with pytest.raises(UsageError, match="threads"):
        den.denoise(image, threads=0)


def test_a_model_named_to_denoise_is_loaded_once_while_its_file_is_unchanged(monkeypatch, tmp_path):
    """denoise(image, model="gray-gaussian") loaded and checked the file at every call (an integrator's QA pass); a
    file written again is loaded again."""
    import shutil

    from noise2x import api
    from noise2x.pretrained import model_path

    loads = []
    real = api.load_model
    monkeypatch.setattr(api, "load_model", lambda m: (loads.append(str(m)), real(m))[1])
    monkeypatch.setattr(api, "_BY_NAME", {})
    image = np.random.default_rng(0).uniform(0, 255, (40, 36))
    first = api.denoise(image, model="gray-gaussian", threads=1)
    assert np.array_equal(api.denoise(image, model="gray-gaussian", threads=1), first) and len(loads) == 1
    copy = tmp_path / "m.safetensors"
    shutil.copy(model_path("gray-gaussian"), copy)
    api.denoise(image, model=copy, threads=1)
    api.denoise(image, model=str(copy), threads=1)
    assert len(loads) == 2
    shutil.copy(model_path("gray-gaussian-low"), copy)  # (another model in the same file)
    import os

    os.utime(copy, ns=(1, 10**18))
    assert not np.array_equal(api.denoise(image, model=copy, threads=1), first) and len(loads) == 3


def test_default_tile_is_whole_image_only_up_to_one_batch_of_tiles():
    from noise2x.predict import DEFAULT_TILE, auto_tile

    assert auto_tile((512, 512)) == 0  # 0.26 MP <= 4 tiles of 288^2 (0.33 MP): one pass, no overlap work
    assert auto_tile((481, 321, 3)) == 0
    assert auto_tile((2000, 1000)) == DEFAULT_TILE
    assert auto_tile((600, 600), batch_size=1) == DEFAULT_TILE
    model = unet()
    img = np.random.default_rng(0).uniform(0, 255, (300, 280))
    default = denoise_array(model, img)
    assert np.array_equal(default, denoise_array(model, img, tile=0))  # the default ran the whole image
    assert not np.array_equal(default, denoise_array(model, img, tile=64, overlap=16))  # an explicit tile is honoured


def test_units_warning_for_an_image_in_other_units(tmp_path, gray_image, capsys):
    """A model trained on 8-bit data (std 60) given [0, 1] or 16-bit data: the CLI says so in one warning line."""
    from noise2x import cli
    from noise2x.checkpoint import save_model
    from noise2x.io import write_image
    from noise2x.predict import Denoiser

    path = save_model(tmp_path / "m.safetensors", unet(1), metadata={"method": "supervised",
                                                                "method_options": {}, "steps": 1})
    model = Denoiser.load(path)
    noisy = gray_image + 20 * np.random.default_rng(0).standard_normal(gray_image.shape)
    assert model.units_warning(noisy) is None and model.units_warning(np.full((8, 8), 3.0)) is None
    assert "span" in model.units_warning(noisy / 255) and "span" in model.units_warning(noisy * 257)
    sixteen = Denoiser.load(path)
    lo, hi = np.percentile(noisy, [0.1, 99.9])
    with torch.no_grad():  # as if trained on 16-bit data: the QA case read a spread 1/47 of the training deviation
        sixteen.model.std.fill_(float(hi - lo) * 40.0)
    assert "span" in sixteen.units_warning(noisy) and sixteen.units_warning(noisy * 257) is None  # (1/50 passed it)
    # the Python API says it too (it was silent there): a UnitsWarning, which the CLI leaves for its own line
    import noise2x
    from noise2x.errors import UnitsWarning

    with pytest.warns(UnitsWarning, match="same units") as said:
        noise2x.denoise(noisy / 255, model=model)
    assert len(said) == 1  # (once: not again from the model's own denoise)
    with pytest.warns(UnitsWarning, match="same units") as said:  # the model's own (the README's model.denoise):
        model.denoise(noisy / 255)  # silent before (a QA pass)
    assert [w.filename for w in said] == [__file__]
    with pytest.warns(UnitsWarning, match="same units") as said:  # with threads= too (silent: a concurrency QA pass)
        model.denoise(noisy / 255, threads=1)
    assert [w.filename for w in said] == [__file__]
    with pytest.warns(UnitsWarning, match="same units") as said:
        noise2x.denoise(noisy / 255, model=model, threads=1)
    assert len(said) == 1
    with pytest.warns(UnitsWarning, match="same units"):
        model.denoise_stack(np.stack([noisy / 255] * 2))
    write_image(tmp_path / "a.tif", (noisy / 255).astype(np.float32))
    write_image(tmp_path / "b.tif", noisy.astype(np.float32))
    for name, warned in (("a.tif", True), ("b.tif", False)):
        assert cli.main(["denoise", "--model", str(path), str(tmp_path / name), "--out", str(tmp_path / f"o_{name}")]) == 0
        err = capsys.readouterr().err
        assert ("warning: " in err and "same units" in err) == warned


def test_the_default_overlap_fits_a_small_tile_and_a_negative_one_is_refused():
    """--tile 32 with no --overlap failed ('overlap 32 for tile 32'): the default is a quarter of a tile side
    under 128 (32 from 128 on, as before); a negative overlap is an error even where nothing is tiled."""
    import noise2x
    from noise2x.errors import UsageError
    from noise2x.predict import default_overlap

    assert [default_overlap(t) for t in (None, 0, 3, 32, 100, 128, 256)] == [32, 32, 0, 8, 25, 32, 32]
    noisy = np.random.default_rng(0).normal(100.0, 20.0, (70, 90))
    for tile in (32, 17):
        out = noise2x.denoise(noisy, model="gray-gaussian", tile=tile)
        assert out.shape == noisy.shape and np.all(np.isfinite(out))
        same = noise2x.denoise(noisy, model="gray-gaussian", tile=tile, overlap=default_overlap(tile))
        assert np.array_equal(out, same)
    for tile in (0, None):
        with pytest.raises(UsageError, match="overlap must be >= 0"):
            noise2x.denoise(noisy, model="gray-gaussian", tile=tile, overlap=-5)


def test_the_api_denoises_a_stack_given_its_axes():
    """noise2x.denoise refused a (Z,Y,X) stack (the microscopist's QA pass: a loop of one's own was needed, with the
    choice's lines repeated per frame). With axes each frame is denoised on its own, as the CLI does a stack's,
    each line said once; without, the error names axes; malformed axes are refused in one line."""
    from noise2x import api
    from noise2x.errors import InputError, UsageError

    rng = np.random.default_rng(4)
    stack = np.clip(rng.normal(120, 20, (2, 3, 40, 36)), 0, 255)
    said, info = [], {}
    out = api.denoise(stack, axes="TZYX", method="nlm", info=info, progress=said.append)
    assert out.shape == stack.shape and info["frames"] == 6 and info["method"] == "nlm"
    for t, z in ((0, 0), (1, 2)):
        np.testing.assert_array_equal(out[t, z], api.denoise(stack[t, z], method="nlm"))
    assert len(said) == len(set(said))
    rgb = np.clip(rng.normal(120, 20, (2, 24, 20, 3)), 0, 255)
    out = api.denoise(rgb, axes="zyxc", method="nlm")
    np.testing.assert_array_equal(out[1], api.denoise(rgb[1], method="nlm"))
    with pytest.raises(InputError, match=r"3 planes stored first \(a stack of frames, or channels\), each denoised "
                                         r"alone: axes='ZYX'$"):
        api.denoise(stack[0])
    with pytest.raises(InputError, match=r"a stack of frames: give its axes, e.g. axes='TZYX'$"):
        api.denoise(stack)
    two = rng.normal(120, 20, (24, 20, 2))  # two stains stored last: colour='channels' named (a QA pass), and no
    # stack of 24 frames of 20x2 pixels
    with pytest.raises(InputError, match=r"\(24, 20, 2\); 2 channels of data stored last, each denoised alone: "
                                         r"colour='channels'$"):
        api.denoise(two, method="nlm")
    assert api.denoise(two, method="nlm", colour="channels").shape == two.shape
    for first in (3, 4):  # an image stored channels first (a torch tensor's layout): moveaxis named
        with pytest.raises(InputError, match=rf"\({first}, 24, 20\); an RGBA? image stored channels first: "
                                             rf"np.moveaxis\(image, 0, -1\); {first} planes stored first"):
            api.denoise(rng.normal(120, 20, (first, 24, 20)), method="nlm")
    with pytest.raises(InputError, match=r"a batch of one image stored channels first .*np.moveaxis\(image\[0\], 0"):
        api.denoise(rng.normal(120, 20, (1, 3, 24, 20)), method="nlm")
    # axes ending in YXC with other than 3 channels: bands, each on its own (a remote-sensing QA pass was refused)
    eight = rng.normal(120, 20, (24, 20, 8))
    np.testing.assert_array_equal(api.denoise(eight, axes="YXC", method="nlm"),
                                  api.denoise(eight, method="nlm", colour="channels"))
    for bad in ("ZXY", "ZYXX", "YZX", "Z Y X"):
        with pytest.raises(UsageError, match="axes"):
            api.denoise(stack[0], axes=bad, method="nlm")
    with pytest.raises(InputError, match="axes 'TYX' names 3"):
        api.denoise(stack, axes="TYX", method="nlm")


def test_a_stacks_frames_are_named_in_lines_errors_and_info(gray_image):
    """The frames of a stack may go different ways (the no-option choice reads each): its lines did not say from
    which frame, info held the last frame's choice alone, and a NaN frame's error counted it from 0 ("2 of 4" for
    the third), where the CLI says "frame 3" (the time-lapse QA pass)."""
    from noise2x import api
    from noise2x.errors import InputError

    rng = np.random.default_rng(5)
    stack = np.stack([np.clip(gray_image + rng.normal(0, s, gray_image.shape), 0, 255) for s in (5, 5, 30, 5)])
    said, info = [], {}
    api.denoise(stack, axes="TYX", info=info, progress=said.append)
    ways = info["frame_methods"]
    assert len(ways) == 4 and ways[0] != ways[2] and info["method"] == ways[3]  # (the choice reads each frame)
    for way in set(ways):
        first = ways.index(way)
        assert any(line.startswith(f"frame T={first}: using {way.removeprefix('model ')}:") for line in said), said
    stack[2] = np.nan
    with pytest.raises(InputError, match=r"^frame T=2 \(3 of 4\): input image has 1147 NaN"):
        api.denoise(stack, axes="TYX", method="nlm")


@pytest.mark.parametrize("kwargs,said", [({"tile": 64.0}, "tile must be a whole number of pixels, got 64.0"),
                                         ({"tile": True}, "tile must be a whole number of pixels, got True"),
                                         ({"overlap": -1}, "overlap must be >= 0, got -1"),
                                         ({"context": 2.5}, "context must be a whole number of pixels, got 2.5")])
def test_a_denoisers_tile_arguments_are_checked(kwargs, said):
    """model.denoise (the README's) took tile=True as 1 and failed on tile=64.0 with numpy's TypeError (the tiling
    QA pass), where noise2x.denoise says what is wrong: the same line now."""
    import noise2x

    with pytest.raises(UsageError, match=re.escape(said)):
        noise2x.load_model("gray-gaussian").denoise(128 + 25 * np.random.default_rng(0).standard_normal((40, 40)),
                                                    **kwargs)


def test_tiles_in_a_callers_inference_mode_read_the_networks_reach():
    """The tiles' context comes from the network's measured reach (a gradient), which must work where the caller
    runs under torch.inference_mode or no_grad, its weights made inference tensors there."""
    import noise2x

    img = 128 + 25 * np.random.default_rng(1).standard_normal((200, 180))
    expected = noise2x.load_model("gray-gaussian").denoise(img, tile=128)
    for mode in (torch.inference_mode, torch.no_grad):
        den = noise2x.load_model("gray-gaussian")
        with mode():
            assert np.array_equal(den.denoise(img, tile=128), expected)
        # (its weights, laid out channels-last there, stay ordinary tensors: the model can still be trained)
        assert not any(p.is_inference() for p in den.model.parameters())
    with torch.inference_mode():  # (a model loaded there: weights made as inference tensors)
        den = noise2x.load_model("gray-gaussian")
        assert np.array_equal(den.denoise(img, tile=128), expected)


def test_an_image_as_large_as_a_batch_of_tiles_with_their_context_goes_whole():
    """Default tiling takes the whole image when it holds no more pixels than a batch of 4 tiles with their
    context (the same peak memory): the network's context, which for the shipped model is more than 16 pixels."""
    import noise2x
    from noise2x.predict import DEFAULT_TILE, model_reach

    den = noise2x.load_model("gray-gaussian")
    side = 590  # (between 4 tiles with 16 pixels of context and 4 with this network's)
    assert 4 * (DEFAULT_TILE + 32) ** 2 < side * side <= 4 * (DEFAULT_TILE + 2 * (model_reach(den.model) - 8)) ** 2
    img = 128 + 25 * np.random.default_rng(2).standard_normal((side, side))
    assert np.array_equal(den.denoise(img), den.denoise(img, tile=0))


def test_a_network_that_reads_far_gets_larger_tiles_fewer_a_batch(monkeypatch):
    """Default tiles of a network whose context passes a quarter of a tile: twice as large, a quarter as many a
    batch (256-pixel tiles spent most of their work on the context), as close to the whole image's result."""
    from noise2x import predict
    from noise2x.models import ScaledModel, build_model

    torch.manual_seed(0)
    args = {"in_channels": 1, "out_channels": 1, "width": 4, "depth": 2}
    model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[50.0]).eval()
    setattr(model, "_noise2x_reach", 100)  # (as a far-reading network's)
    seen = []
    real = predict.tile_grid
    monkeypatch.setattr(predict, "tile_grid", lambda shape, **kw: seen.append(kw["tile"]) or real(shape, **kw))
    img = 128 + 25 * np.random.default_rng(3).standard_normal((1100, 1000))
    batches = []
    hook = model.register_forward_pre_hook(lambda module, inputs: batches.append(inputs[0].shape[0]))
    out = predict.denoise_array(model, img)
    hook.remove()
    assert seen == [2 * predict.DEFAULT_TILE] and max(batches) == 1 and len(batches) == 9
    assert np.abs(out - predict.denoise_array(model, img, tile=0)).max() < 1e-3


def test_overlapping_thread_settings_put_back_the_process_setting():
    """denoise(threads=N) in two threads, the first in, the second in, the first out, the second out: each put back
    what it found, the second the first's 1, and every thread started after them ran on 1 (a concurrency QA pass).
    The process's setting is back once none is under way; each thread's own as it found it."""
    import threading

    from noise2x.predict import cpu_threads

    original = torch.get_num_threads()
    entered = {name: threading.Event() for name in "ab"}
    leave = {name: threading.Event() for name in "ab"}
    after = {}

    def block(name: str, n: int) -> None:
        with cpu_threads(n):
            entered[name].set()
            leave[name].wait(10)
        after[name] = torch.get_num_threads()

    try:
        torch.set_num_threads(2)
        a = threading.Thread(target=block, args=("a", 1))
        b = threading.Thread(target=block, args=("b", 2))
        a.start()
        entered["a"].wait(10)
        b.start()
        entered["b"].wait(10)
        leave["a"].set()
        a.join(10)
        leave["b"].set()
        b.join(10)
        seen = []
        later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        later.start()
        later.join(10)
        assert seen == [2] and torch.get_num_threads() == 2 and after["b"] == 2
        from noise2x import predict

        with pytest.raises(RuntimeError):  # (a refused count left the blocks' count raised: a re-check)
            with cpu_threads(-1):
                pass
        assert predict._THREADS_BLOCKS[0] == 0
    finally:
        torch.set_num_threads(original)


def test_layouts_are_named_by_their_shape_and_notes_are_warnings_without_progress():
    """A plugin author's QA pass: a (5,128,128) stack was told of colour='channels' by Denoiser.denoise, which took
    it as 128 "channels" of 5x128 pixels (5.6 dB under its planes'), unsaid; a 31-band cube stored last was told of
    axes only; 3 planes stored first of RGB alone; notes reached a caller with no progress not at all; a gray image
    took colour="rgb", batch_size="a" a TypeError, tta="yes" and a float mask were read as True."""
    import warnings

    from noise2x import api
    from noise2x.errors import Noise2xWarning, NoteWarning, UnitsWarning
    from conftest import textured_image

    rng = np.random.default_rng(0)
    den = api.load_model("gray-gaussian")
    noisy = np.clip(textured_image(64) + rng.normal(0, 20, (64, 64)), 0, 255)
    first = rng.normal(120, 20, (5, 40, 40))
    for call in (lambda a, **k: den.denoise(a, **k), lambda a, **k: api.denoise(a, model=den, **k)):
        with pytest.raises(InputError, match=r"\(5, 40, 40\); 5 planes stored first \(a stack of frames, or "
                                             r"channels\), each denoised alone: .*axes='ZYX'\)?$") as exc:
            call(first)
        assert "colour='channels'" not in str(exc.value)
        with pytest.raises(InputError, match=r"colour='channels' reads the last axis as the channels: shape \(5, 40, "
                                             r"40\) would be 40 channels of 5x40 pixels; 5 planes stored first"):
            call(first, colour="channels")
        cube = np.moveaxis(rng.normal(120, 20, (31, 40, 40)), 0, -1)
        with pytest.raises(InputError, match=r"\(40, 40, 31\); 31 channels of data stored last, each denoised alone: "
                                             r"colour='channels'$"):
            call(cube)
        assert call(cube[:20, :20], colour="channels").shape == (20, 20, 31)
    three = rng.normal(120, 20, (3, 40, 40))
    with pytest.raises(InputError, match=r"an RGB image stored channels first: np.moveaxis\(image, 0, -1\); 3 planes "
                                         r"stored first \(a stack of frames, or channels\), each denoised alone"):
        api.denoise(three, method="nlm")
    # arguments of the wrong kind, one UsageError each
    for kwargs, text in ((dict(colour="rgb"), "colour must be one of"), (dict(batch_size="a"), "batch_size must be"),
                         (dict(batch_size=0), "batch_size must be >= 1"), (dict(tta="yes"), "tta must be True or")):
        with pytest.raises(UsageError, match=text):
            den.denoise(noisy[:32, :32], **kwargs)
    with pytest.raises(UsageError, match="tta must be True or False, got 'yes'"):
        api.denoise(noisy[:32, :32], model=den, tta="yes")
    with pytest.raises(UsageError, match=r"mask must be bool .* got float64 values 0.5$"):
        api.denoise(noisy, method="nlm", mask=np.full(noisy.shape, 0.5))
    inner = np.zeros(noisy.shape, bool)
    inner[8:56, 8:56] = True  # an 8-bit mask's 0 and 255 are taken as False and True (refused: a re-check)
    for held in (inner.astype(np.uint8) * 255, inner * 255.0):  # (and a mask read as an image: float 0 and 255)
        np.testing.assert_array_equal(api.denoise(noisy, method="nlm", mask=held),
                                      api.denoise(noisy, method="nlm", mask=inner))
    # axes ending in YXC says the channels are last: a small image of many bands is taken (refused: a re-check)
    bands = rng.normal(120, 20, (12, 30, 48))
    with pytest.raises(InputError, match=r"where the channels are last \(a small image of many bands\): axes='YXC'"):
        api.denoise(bands, method="nlm", colour="channels")
    assert api.denoise(bands, model=den, axes="YXC").shape == bands.shape
    # a stack of colour frames is told axes='ZYXC' (axes='TZYX' read each row's colour triplets as a frame)
    with pytest.raises(InputError, match=r"a stack of frames with their channels last: axes='ZYXC'$"):
        api.denoise(rng.normal(120, 20, (4, 24, 24, 3)), method="nlm")
    assert den.denoise(noisy[:32, :32], tta=np.True_, batch_size=np.int64(2)).shape == (32, 32)
    # the tiles' progress, as a share of the image, and a cancel from it (a GUI's: no way was there)
    shares = []
    out = den.denoise(noisy, tile=32, overlap=8, batch_size=1, progress=shares.append)
    assert len(shares) > 3 and shares == sorted(shares) and shares[-1] == 1.0 and 0 < shares[0] < 1
    np.testing.assert_array_equal(out, den.denoise(noisy, tile=32, overlap=8, batch_size=1))

    class Cancelled(Exception):
        pass

    def cancel(share):
        if share > 0.3:
            raise Cancelled("stop")

    threads = torch.get_num_threads()
    with pytest.raises(Cancelled, match="^stop$"):
        den.denoise(noisy, tile=32, overlap=8, batch_size=1, progress=cancel)
    assert torch.get_num_threads() == threads
    with pytest.raises(UsageError, match="progress must be a function"):
        den.denoise(noisy, progress="yes")
    shares = []
    den.denoise(noisy, progress=shares.append, needed=np.zeros(noisy.shape, bool))  # (no tile to run: 1.0 all the
    assert shares == [1.0]  # same, as said; never came: a re-check)
    # notes: to progress where it is given, else warnings (NoteWarning; units: UnitsWarning)
    small = noisy
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        api.denoise(small, method="zs_n2n", noise="gaussian:sigma=20", options={"steps": 2})
        api.denoise(small / 255, method="nlm", noise="gaussian:sigma=25")  # (25 for data in [0, 1])
    kinds = [(w.category, str(w.message).split(":")[0]) for w in seen]
    assert all(issubclass(c, Noise2xWarning) for c, _ in kinds)  # (one class to filter them by)
    assert (NoteWarning, "zs_n2n takes no noise model") in kinds and any(
        c is UnitsWarning and m.startswith("the noise's sigma 25 is more") for c, m in kinds), kinds
    said = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.denoise(small, method="nlm", colour="luma")  # (a gray image: no colour to say of, a re-check)
        api.denoise(small, method="zs_n2n", noise="gaussian:sigma=20", options={"steps": 2}, progress=said.append)
    assert any(line.startswith("note: zs_n2n takes no noise model") for line in said)
    # a stack's or channels' note said once, of the part it was first read on (once per frame: a re-check)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        api.denoise(np.stack([small] * 3), axes="ZYX", method="nlm", noise="gaussian:sigma=10", options={"sigma": 5})
        api.denoise(np.stack([small, small.T, small[::-1]], axis=-1), method="nlm", noise="gaussian:sigma=10",
                    options={"sigma": 5}, colour="channels")
    said = [str(w.message) for w in seen if w.category is NoteWarning]
    assert said == ["frame Z=0: the option sigma=5 is used, not the noise spec's sigma 10",
                    "channel 1: the option sigma=5 is used, not the noise spec's sigma 10"], said
    weak = np.clip(textured_image(64) + rng.normal(0, 2, (64, 64)), 0, 255)  # (BM3D chosen: tile unused, said)
    info = {}
    with pytest.warns(NoteWarning, match=r"tile=32 \(--tile\) applies to models; method bm3d takes the whole image.*"
                                         r": tile ignored$"):
        api.denoise(weak, tile=32, info=info)
    assert info["method"] == "bm3d"
    padded = np.pad(small, ((0, 0), (0, 40)))  # solid 0 beside data: the zero-area note, with no progress too
    with warnings.catch_warnings(record=True) as seen:  # (beside the shot noise such a fill makes it read as)
        warnings.simplefilter("always")
        api.denoise(padded, method="nlm", blank_value="none")  # (with no option: read as a fill, noted)
    assert any(w.category is NoteWarning and "solid areas of 0" in str(w.message) for w in seen)
