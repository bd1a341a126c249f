"""Training data given as arrays (the Python API): written once to the run folder, trained on as a folder is."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tifffile

import noise2x
from noise2x.checkpoint import load_model
from noise2x.data import array_images
from noise2x.errors import InputError, UsageError
from noise2x.io import image_kind, read_image, read_stack, write_image
from noise2x.train import train

FAST = ["train.preset=tiny", "train.threads=1", "data.val_images=2", "data.val_crop=24"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def stack():
    """Six noisy 40x44 gray images (float32), a stack (S, Y, X)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:40, 0:44]
    clean = 128 + 60 * np.sin(xx / 4.0) * np.cos(yy / 6.0)
    return np.stack([clean + rng.normal(0, 20, clean.shape) for _ in range(6)]).astype(np.float32)


def weights(path):
    model, _ = load_model(path)
    return [t.clone() for t in model.state_dict().values()]


def test_a_stack_array_trains_as_the_same_images_in_a_folder(tmp_path, stack):
    """The arrays are written to the run folder as they are, and a run on them is the run on a folder of the same
    images: the same seed gives the same weights."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i, img in enumerate(stack):
        write_image(folder / f"{i:05d}.tif", img, kind="float32")
    kw = dict(steps=3, progress=False, overrides=FAST, seed=4)
    a = train("noise2void", data=stack, axes="SYX", out=tmp_path / "a.safetensors", **kw)
    b = train("noise2void", data=folder, out=tmp_path / "b.safetensors", **kw)
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))
    written = sorted((tmp_path / "a.run" / "arrays").glob("data-*/*.tif"))
    assert [f.name for f in written] == ["data.tif"]  # (one stack: its frames pair as a TIFF stack's do)
    assert np.array_equal(read_stack(written[0], dtype=np.float32), stack)
    config = json.loads((tmp_path / "a.run" / "config.json").read_text())
    assert config["folders"]["data"] == str(written[0].resolve()) and config["train_images"] == 4


def test_a_stack_array_pairs_its_frames_for_noise2noise_as_a_tiff_stack_does(tmp_path, stack):
    """A burst given as an array was refused by noise2noise ('needs a second noisy copy'), though the same burst
    as a TIFF stack trains on each frame and the next (a QA pass)."""
    write_image(tmp_path / "burst.tif", stack, kind="float32")
    kw = dict(steps=3, progress=False, overrides=FAST, seed=2)
    a = train("noise2noise", data=stack, axes="SYX", out=tmp_path / "a.safetensors", **kw)
    b = train("noise2noise", data=tmp_path / "burst.tif", out=tmp_path / "b.safetensors", **kw)
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))
    t = train("noise2noise", data=stack, axes="TYX", out=tmp_path / "t.safetensors", **kw)  # (a time series)
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(t)))
    # a list of the same frames is images, not a stack: no pairs
    with pytest.raises(UsageError, match="needs a second noisy copy"):
        train("noise2noise", data=list(stack), out=tmp_path / "c.safetensors", **kw)


def test_resume_takes_the_same_arrays_and_refuses_others_and_a_new_run_keeps_only_its_own(tmp_path, stack):
    out = tmp_path / "m.safetensors"
    kw = dict(progress=False, overrides=FAST)
    train("noise2void", data=stack, axes="SYX", out=out, steps=2, **kw)
    first = sorted((tmp_path / "m.run" / "arrays").iterdir())
    assert [p.name.split("-")[0] for p in first] == ["data"]
    train("noise2void", data=stack.copy(), axes="SYX", out=out, steps=3, resume=True, **kw)
    with pytest.raises(UsageError, match="resume: the data arrays differ from the saved run's"):
        train("noise2void", data=stack[:5], axes="SYX", out=out, steps=4, resume=True, **kw)
    assert sorted((tmp_path / "m.run" / "arrays").iterdir()) == first  # (the refused run's copy is gone)
    # a list of images of different sizes: a new run, whose copy replaces the earlier run's
    images = [stack[0], stack[1, :36, :40], stack[2]]
    train("noise2void", data=images, out=out, steps=2, **kw)
    now = sorted((tmp_path / "m.run" / "arrays").iterdir())
    assert len(now) == 1 and now != first
    assert [(f.name, read_image(f, dtype=np.float32).shape) for f in sorted(now[0].iterdir())] == [
        ("data[0].tif", (40, 44)), ("data[1].tif", (36, 40)), ("data[2].tif", (40, 44))]
    # the same values trained on: another byte order, or float64 of what the copy holds as float32, resume
    train("noise2void", data=[im.astype(">f8") for im in images], out=out, steps=3, resume=True, **kw)
    with pytest.raises(UsageError, match=r"differ from the saved run's \(in their values, shapes, kinds or form"):
        train("noise2void", data=np.stack([stack[0], stack[2]]), axes="SYX", out=out, steps=4, resume=True, **kw)


def test_a_run_that_fails_before_its_first_checkpoint_keeps_no_copy(tmp_path, stack):
    def fail(info):
        raise RuntimeError("stopped by the test")

    with pytest.raises(RuntimeError, match="stopped by the test"):
        train("noise2void", data=stack, axes="SYX", out=tmp_path / "m.safetensors", steps=3, progress=False,
              overrides=FAST, callbacks=[fail])
    assert not (tmp_path / "m.run" / "arrays").exists()


def test_pairs_targets_colour_and_validation_arrays(tmp_path, stack, rgb_image):
    kw = dict(steps=2, progress=False, overrides=FAST)
    rng = np.random.default_rng(0)
    second = stack + rng.normal(0, 20, stack.shape).astype(np.float32)
    train("noise2noise", data=stack, data2=second, axes="SYX", out=tmp_path / "n.safetensors", **kw)
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "n.run" / "arrays").iterdir()) == ["data", "data2"]
    with pytest.raises(UsageError, match="data2 holds the same arrays as data"):
        train("noise2noise", data=stack, data2=stack.copy(), axes="SYX", out=tmp_path / "x.safetensors", **kw)
    # said of the arrays (data[3]), not of their copies' files, before any is written
    with pytest.raises(UsageError, match="data has 6 images but data2 has 4; they must be aligned"):
        train("noise2noise", data=stack, data2=second[:4], axes="SYX", out=tmp_path / "x.safetensors", **kw)
    shorter = list(second)
    shorter[3] = shorter[3][:30]
    with pytest.raises(InputError, match=r"data\[3\] \(40, 44\) and data2\[3\] \(30, 44\) differ in size"):
        train("noise2noise", data=list(stack), data2=shorter, out=tmp_path / "x.safetensors", **kw)
    assert not (tmp_path / "x.run" / "arrays").exists()
    colour = [rgb_image.astype(np.uint8)] * 4
    model = noise2x.train("supervised", data=colour, add_noise="gaussian:sigma=25", out=tmp_path / "c.safetensors",
                          val_data=[rgb_image], **kw)
    assert model.model.in_channels == 3 and model.denoise(rgb_image.astype(np.uint8)).shape == rgb_image.shape
    written = sorted((tmp_path / "c.run" / "arrays").glob("data-*/*.tif"))
    assert len(written) == 4 and image_kind(written[0]) == "uint8"  # (its own kind)
    assert json.loads((tmp_path / "c.run" / "config.json").read_text())["val_split"] == "folder"


@pytest.mark.parametrize("value, axes, error, said", [
    (np.zeros((3, 8, 8)), None, UsageError, r"data is a 3-D array \(shape \(3, 8, 8\)\): give its axes"),
    (np.zeros((3, 8, 8)), "SYXC", UsageError, r"axes='SYXC' names 4 axes, and data has 3"),
    (np.zeros((3, 8, 8)), "QYX", UsageError, r"axes names the axes of an array .* e\.g\. 'SYX'.*got 'QYX'"),
    (np.zeros((3, 8, 8)), "XYS", UsageError, r"\(Y right before X\).*got 'XYS'"),
    (np.zeros((3, 8, 8, 2)), "TZYX", UsageError, "got 'TZYX'"),
    ([], None, InputError, "data is an empty list"),
    ([np.zeros((8, 8)), np.zeros((2, 8, 8, 1))], None, InputError, r"data\[1\] has shape \(2, 8, 8, 1\): each array"),
    ([np.zeros((8, 8))], "SYX", UsageError, "names a stack, and data is a list"),
    (["a.png"], None, UsageError, r"data\[0\] is a path: a list given as data holds arrays"),
    (np.zeros((8, 8, 4)), "YXC", InputError, "data has 4 channels"),
    (np.zeros((2, 8, 8), bool), "SYX", InputError, r"data\[0\] must hold real numbers .* got dtype bool"),
    (np.full((2, 8, 8), np.inf), "SYX", InputError, r"data\[0\] has 64 inf values \(of 64\); inf marks no blank"),
    (np.zeros((0, 8, 8)), "SYX", InputError, "data is an empty stack"),
    (np.zeros((8, 0)), None, InputError, "data is empty"),
    # said of the array as given, not as reordered (a QA re-check)
    (np.zeros((6, 8, 8)), "CYX", InputError, r"has 6 channels .*\(data given as \(6, 8, 8\) with axes 'CYX', read as"),
    ([np.zeros((8, 8))], "CYX", InputError, r"data\[0\] has shape \(8, 8\), and axes='CYX' names 3 axes"),
    (np.zeros((3, 8, 8)), "YXC", InputError, r"has 8 channels .*\(channels first: axes='CYX'\)"),
])
def test_bad_arrays_are_one_clear_error(value, axes, error, said):
    with pytest.raises(error, match=said):
        array_images(value, name="data", axes=axes)


def test_nan_is_refused_unless_it_marks_blank_pixels(tmp_path, stack):
    holed = stack.copy()
    holed[:, :5, :5] = np.nan
    with pytest.raises(InputError, match=r"data\[0\] has 25 NaN/inf values .*overrides=\['data.blanks=true'\]"):
        train("noise2void", data=holed, axes="SYX", out=tmp_path / "m.safetensors", steps=1, progress=False,
              overrides=FAST)
    assert len(array_images(holed, axes="SYX", blanks=True)) == 6
    out = train("noise2void", data=holed, axes="SYX", out=tmp_path / "m.safetensors", steps=1, progress=False,
                overrides=[*FAST, "data.blanks=true"])
    assert out.is_file()


def test_axes_with_a_path_is_refused(tmp_path, clean_dir):
    with pytest.raises(UsageError, match="axes names the axes of data given as an array; data is a path here"):
        train("noise2void", data=clean_dir, axes="SYX", out=tmp_path / "m.safetensors", steps=1, progress=False)


def test_validation_psnr_is_in_the_datas_units(tmp_path, stack):
    """The validation PSNR of [0, 1] data used the peak 255: 72.6 dB for a model at 26.5 (a QA pass). The same
    images in [0, 1] and in 8-bit units, with the same noise in their units, now read the same PSNR."""
    clean = np.clip(stack, 0, 255)
    kw = dict(steps=2, progress=False, overrides=[*FAST, "train.val_every=1"], seed=1, axes="SYX")
    eight = train("supervised", data=clean, add_noise="gaussian:sigma=20", out=tmp_path / "a.safetensors", **kw)
    unit = train("supervised", data=clean / 255, add_noise=f"gaussian:sigma={20 / 255!r}",
                 out=tmp_path / "b.safetensors", **kw)
    values = [load_model(m)[1]["val_value"] for m in (eight, unit)]
    assert 5 < values[0] < 40 and values[1] == pytest.approx(values[0], abs=0.01)


def test_torch_tensors_of_any_kind_train_and_are_denoised(tmp_path, stack):
    """bfloat16 tensors (a network's output) failed with torch's TypeError in train, Denoiser.denoise and
    denoise_stack ('Got unsupported ScalarType BFloat16'; a QA pass); tensors that require grad failed too."""
    import torch

    tensor = torch.from_numpy(stack).to(torch.bfloat16)
    model = noise2x.train("noise2void", data=tensor, axes="SYX", steps=1, progress=False, overrides=FAST,
                          out=tmp_path / "m.safetensors")
    copy = read_stack(next((tmp_path / "m.run" / "arrays").glob("data-*/data.tif")), dtype=np.float32)
    assert np.array_equal(copy, tensor.float().numpy())  # (bfloat16 to float32: exact)
    noise2x.train("noise2void", data=list(torch.from_numpy(stack).requires_grad_()), steps=1, progress=False,
                  overrides=FAST, out=tmp_path / "g.safetensors")
    frame = tensor[0].float().numpy()
    expected = model.denoise(frame)
    assert np.array_equal(model.denoise(tensor[0]), expected)
    assert np.array_equal(model.denoise_stack(tensor[:2])[0], expected)
    assert np.allclose(noise2x.denoise(tensor[:2], model=model, axes="SYX")[0], expected, atol=1e-3)
    assert np.allclose(noise2x.denoise(tensor[0].requires_grad_(), model=model), expected, atol=1e-3)


@pytest.mark.parametrize("kw, said", [
    (dict(out="x.pt"), "a model file is named .safetensors"),
    (dict(method="noise2voidd"), "unknown method 'noise2voidd'"),
    (dict(overrides=["train.lrr=1"]), "unknown setting train.lrr"),
    (dict(add_noise="gausian:sigma=3"), "unknown noise model 'gausian'"),
    (dict(method="noise2noise", val_data=np.zeros((2, 40, 44))), r"--val-data \(val_data=\) is supported with"),
])
def test_a_refused_call_copies_no_array_and_leaves_no_run_folder(tmp_path, stack, kw, said, monkeypatch):
    """A misspelt method or setting copied the whole stack first, and left an empty run folder (a QA pass)."""
    import noise2x.data

    copied = []
    write = noise2x.data.write_arrays
    monkeypatch.setattr(noise2x.data, "write_arrays", lambda *a, **k: copied.append(1) or write(*a, **k))
    kw = {"method": "noise2void", "out": "m.safetensors", **kw}
    with pytest.raises(UsageError, match=said):
        train(kw.pop("method"), data=stack, axes="SYX", steps=2, progress=False, **{**kw, "out": tmp_path / kw["out"]})
    assert list(tmp_path.iterdir()) == []
    assert bool(copied) == ("val_data" in kw)  # (found where the data are read: its copies were removed)


def test_stack_errors_name_the_frame_and_data_is_required(tmp_path, stack):
    model = noise2x.train("noise2void", data=stack, axes="SYX", steps=1, progress=False, overrides=FAST,
                          out=tmp_path / "m.safetensors")
    holed = stack.copy()
    holed[3, 10, 20] = np.nan
    with pytest.raises(InputError, match=r"^frame 3 \(4 of 6\): image has NaN/inf values \(the first at row 10, column "
                                         r"20\); where NaN marks blank pixels, noise2x.denoise\(image, model=..., "
                                         r"blanks=True\)"):
        model.denoise_stack(holed)
    with pytest.raises(InputError, match=r"with its channels last, got shape \(1, 6, 40, 44\): 44 channels\? A stack "
                                         r"of stacks: noise2x.denoise\(stack, model=..., axes='TZYX'\)"):
        model.denoise_stack(stack[None])
    with pytest.raises(InputError, match=r"^frame S=3 \(4 of 6\): input image has 1 NaN/inf value"):
        noise2x.denoise(holed, model=model, axes="SYX")
    ragged = [stack[0], stack[1][:30], stack[2]]  # (numpy's ValueError, with a traceback: a QA re-check)
    with pytest.raises(InputError, match=r"frames of a stack share one size: frame 1 is \(30, 44\), frame 0 "):
        model.denoise_stack(ragged)
    with pytest.raises(InputError, match=r"frames of a stack share one size: frame 1 is \(30, 44\)"):
        noise2x.denoise(ragged, model=model, axes="SYX")
    with pytest.raises(UsageError, match=r"^data is required: the training images"):
        train("noise2void", data=None, resume=True, steps=2, out=tmp_path / "m.safetensors")


def test_targets_or_validation_images_in_other_units_are_warned_of(tmp_path, stack):
    """Clean targets in [0, 1] beside 8-bit inputs trained a model of no use, and 16-bit validation images beside
    8-bit training ones chose the best checkpoint on another scale, unsaid (a QA pass)."""
    import warnings

    from noise2x.errors import UnitsWarning

    clean = np.clip(stack, 0, 255)
    noisy = clean + np.random.default_rng(0).normal(0, 20, clean.shape).astype(np.float32)
    kw = dict(steps=1, progress=False, overrides=FAST, axes="SYX")
    with pytest.warns(UnitsWarning, match=r"the clean targets \(--data2, data2=\) read in other units than the "
                                          r"training images: values up to 0\.\d+ .*medians over 4 pairs"):
        train("supervised", data=noisy, data2=clean / 255, out=tmp_path / "a.safetensors", **kw)
    with pytest.warns(UnitsWarning, match=r"the validation images \(--val-data, val_data=\) read in other units"):
        train("noise2void", data=noisy, val_data=noisy[:2] * 257, out=tmp_path / "b.safetensors", **kw)
    hu = clean * 10 - 1000  # Hounsfield units, and a copy stored with an intercept of 1024 (air came out at +149 HU,
    second = hu + 1024 + np.random.default_rng(2).normal(0, 25, hu.shape).astype(np.float32)  # unsaid: a QA pass)
    with pytest.warns(UnitsWarning, match=r"the second noisy copies \(--data2, data2=\) sit \+10\d\d from the "
                                          r"training images .*give both at the same level"):
        train("noise2noise", data=hu + np.random.default_rng(3).normal(0, 25, hu.shape).astype(np.float32),
              data2=second, out=tmp_path / "hu.safetensors", **kw)
    with warnings.catch_warnings():  # a dark image and its noisy copy: the same units
        warnings.simplefilter("error")
        dark = clean / 50
        train("supervised", data=dark + np.random.default_rng(1).normal(0, 25, dark.shape).astype(np.float32),
              data2=dark, out=tmp_path / "c.safetensors", **kw)
        train("noise2void", data=noisy, val_data=noisy[:2] / 3, out=tmp_path / "d.safetensors", **kw)
        # an empty first target (a z-slice above the sample), a near-black first training image: judged on the
        # sets, not on their first images (a QA re-check)
        empty = clean.copy()
        empty[0] = 0
        train("supervised", data=empty + 10, data2=empty, out=tmp_path / "e.safetensors", **kw)
        dark = noisy.copy()
        dark[0] = np.random.default_rng(2).normal(3, 1.5, dark[0].shape).clip(0, 255)
        train("noise2void", data=dark, val_data=noisy[:3], out=tmp_path / "f.safetensors", **kw)
    # 12-bit camera frames (uint16) beside 8-bit targets: 16 times apart, and the files' kinds differ
    with pytest.warns(UnitsWarning, match="the clean targets"):
        train("supervised", data=(np.clip(noisy, 0, 255) * 16).astype(np.uint16),
              data2=clean.astype(np.uint8), out=tmp_path / "g.safetensors", **kw)


def test_axes_may_name_the_stack_t_or_z_and_put_the_channels_first(rgb_image):
    """CAREamics writes channels first ('SCYX', 'CYX') and names time series T; the same images come out."""
    frames = np.stack([rgb_image, rgb_image[::-1]])  # (S, Y, X, C)
    expected = array_images(frames, axes="SYXC")
    for axes, value in (("SCYX", frames.transpose(0, 3, 1, 2)), ("CSYX", frames.transpose(3, 0, 1, 2)),
                        ("tyxc", frames)):
        assert all(np.array_equal(a, b) for a, b in zip(array_images(value, axes=axes), expected))
    assert all(np.array_equal(a, b) for a, b in zip(array_images(frames[..., 0], axes="ZYX"),
                                                     array_images(frames[..., 0], axes="SYX")))
    listed = array_images([f.transpose(2, 0, 1) for f in frames], axes="CYX")
    assert all(np.array_equal(a, b) for a, b in zip(listed, expected))


def test_init_takes_the_model_train_returned(tmp_path, stack):
    """init= took a path or a shipped model's name only ('init must be a path ... got Denoiser'; a QA pass)."""
    kw = dict(progress=False, axes="SYX")
    first = noise2x.train("noise2void", data=stack, steps=2, overrides=FAST, out=tmp_path / "a.safetensors", **kw)
    # at a learning rate too small to move a weight, the run's weights are the given model's
    tuned = train("noise2void", data=stack, steps=1, init=first, overrides=[*FAST, "train.lr=1e-12"],
                  out=tmp_path / "b.safetensors", **kw)
    assert all(np.allclose(x, y, atol=1e-6) for x, y in zip(weights(tmp_path / "a.safetensors"), weights(tuned)))
    assert load_model(tuned)[1]["config"]["inputs"]["init"] == str(tmp_path / "b.run" / "init.safetensors")
    with pytest.raises(UsageError, match="--resume continues the saved run's own weights"):
        train("noise2void", data=stack, steps=2, init=first, resume=True, out=tmp_path / "b.safetensors", **kw)
    with pytest.raises(UsageError, match="init must be a path .* or a model noise2x.train returned, got int"):
        train("noise2void", data=stack, steps=2, init=3, out=tmp_path / "c.safetensors", **kw)
    with pytest.raises(UsageError, match="unknown setting"):  # (refused: no run folder, no copy of the model)
        train("noise2void", data=stack, steps=1, init=first, overrides=["train.lrr=1"], out=tmp_path / "d.safetensors",
              **kw)
    assert not (tmp_path / "d.run").exists()


def test_flat_training_images_are_warned_of(tmp_path):
    with pytest.warns(UserWarning, match="the training images read flat .* there is no noise to learn from"):
        train("noise2void", data=np.full((4, 40, 44), 100.0), axes="SYX", steps=1, progress=False, overrides=FAST,
              out=tmp_path / "m.safetensors")


def test_channel_planes_given_to_a_colour_model_say_to_put_the_channels_last(tmp_path, rgb_image, capsys):
    """axes='CYX' denoises each plane alone (as documented); given to an RGB model it said 'frame C=0 (0 of 3): the
    model expects 3-channel (RGB) images, got a 1-channel image' (a QA re-check)."""
    model = noise2x.train("noise2void", data=[rgb_image] * 3, steps=1, progress=False, overrides=FAST,
                          out=tmp_path / "c.safetensors")
    with pytest.raises(InputError, match=r"axes 'CYX' denoises each channel plane alone, and this model takes "
                                         r"3-channel \(RGB\) images: put the channels last \(np\.moveaxis\(image, 0"):
        noise2x.denoise(np.moveaxis(rgb_image, -1, 0), model=model, axes="CYX")
    assert noise2x.denoise(rgb_image, model=model, axes="YXC").shape == rgb_image.shape
    # the hints look at the model: its channels, not a gray model's ways, each of which was a second error (a plugin
    # author's QA pass)
    five = np.concatenate([rgb_image, rgb_image[..., :2]], axis=-1)
    with pytest.raises(InputError, match=r"and this model takes 3-channel \(RGB\) images, and the image has 5$"):
        noise2x.denoise(np.moveaxis(five, -1, 0), model=model, axes="CYX")
    with pytest.raises(InputError, match=r"^the model takes \(H,W,3\) RGB images, got shape \(30, 30, 5\)$"):
        noise2x.denoise(five[:30, :30], model=model)
    with pytest.raises(InputError, match=r"^the model takes \(H,W,3\) RGB images, got shape \(30, 30, 4\): an RGBA "
                                         r"image: drop its alpha channel \(image\[\.\.\., :3\]\)$"):
        noise2x.denoise(np.concatenate([rgb_image[:30, :30], np.full((30, 30, 1), 255.0)], axis=-1), model=model)
    with pytest.raises(InputError, match=r"^the model takes \(H,W,3\) RGB images, got shape \(3, 30, 30\); an RGB "
                                         r"image stored channels first: np.moveaxis\(image, 0, -1\)$"):
        noise2x.denoise(np.moveaxis(rgb_image[:30, :30], -1, 0), model=model)
    # the CLI reads a 3-band (minisblack) TIFF as a stack of gray frames: said so, with the way that works
    from noise2x import cli

    tifffile.imwrite(tmp_path / "bands.tif", np.moveaxis(np.clip(rgb_image, 0, 255).astype(np.uint8), -1, 0),
                     photometric="minisblack")
    assert cli.main(["denoise", str(tmp_path / "bands.tif"), "--model", str(tmp_path / "c.safetensors"), "--out",
                     str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "the model takes 3-channel (RGB) images, and this file holds a stack of 3 gray frames" in err, err
    assert not (tmp_path / "out" / "bands.tif").exists()


def test_the_cli_says_trains_units_warnings_and_the_sigma_note(tmp_path, stack, capsys):
    """The CLI silenced every UnitsWarning (denoise says its own), train's too: targets in [0, 1] beside 8-bit
    inputs trained to 4.7 dB, exit 0, unsaid; and gaussian:sigma=25 on [0, 1] files (a QA re-check)."""
    from noise2x import cli

    for name in ("n", "c", "u"):
        (tmp_path / name).mkdir()
    clean = np.clip(stack, 0, 255)
    for i, img in enumerate(clean):
        write_image(tmp_path / "n" / f"{i}.tif", np.clip(img + 20 * np.sin(i + np.arange(44)), 0, 255).astype(np.uint8))
        write_image(tmp_path / "c" / f"{i}.tif", (img / 255).astype(np.float32))
        write_image(tmp_path / "u" / f"{i}.tif", (img / 255).astype(np.float32))
    common = ["--steps", "1", "--set", "train.preset=tiny", "--set", "train.threads=1"]
    assert cli.main(["train", "--method", "supervised", "--data", str(tmp_path / "n"), "--data2",
                     str(tmp_path / "c"), "--out", str(tmp_path / "a.safetensors"), *common]) == 0
    assert "noise2x: warning: the clean targets (--data2, data2=) read in other units" in capsys.readouterr().err
    assert cli.main(["train", "--method", "noise2noise", "--data", str(tmp_path / "u"), "--add-noise",
                     "gaussian:sigma=0..50", "--out", str(tmp_path / "b.safetensors"), *common]) == 0
    err = capsys.readouterr().err
    assert err.count("gaussian noise of a sigma of 1 or more on an image in [0, 1]") == 1, err
    assert cli.main(["simulate", "gaussian:sigma=25", str(tmp_path / "u" / "0.tif"), str(tmp_path / "s.tif")]) == 0
    assert "note: gaussian noise of a sigma of 1 or more on an image in [0, 1]" in capsys.readouterr().err
    # denoise reads a declared sigma against the noisy image's spread, its own note: said once, not twice
    assert cli.main(["denoise", str(tmp_path / "u" / "0.tif"), "--method", "nlm", "--noise", "gaussian:sigma=25",
                     "--out", str(tmp_path / "d.tif")]) == 0
    err = capsys.readouterr().err
    assert "sigma 25 is more than twice the spread" in err and "a sigma of 1 or more" not in err, err


def test_validation_psnr_of_normalised_data_passing_1_and_its_peaks(tmp_path, stack):
    """Percentile-normalised data passing 1 read 69-71 dB (the peak 255 again), and [-1, 1] data 6 dB low against
    its top (a QA re-check): data up to 2 with fractions are read against 1, data with negative values against
    their range (not clipped)."""
    from types import SimpleNamespace

    import torch

    from noise2x.train import _val_peak

    clean = np.clip(stack, 0, 255)
    kw = dict(steps=2, progress=False, overrides=[*FAST, "train.val_every=1"], seed=1, axes="SYX")
    eight = train("supervised", data=clean, add_noise="gaussian:sigma=20", out=tmp_path / "a.safetensors", **kw)
    scale = 1.3 / 255
    other = train("supervised", data=clean * scale, add_noise=f"gaussian:sigma={20 * scale!r}",
                  out=tmp_path / "b.safetensors", **kw)
    values = [load_model(m)[1]["val_value"] for m in (eight, other)]
    assert values[1] == pytest.approx(values[0] - 20 * np.log10(1.3), abs=0.01)  # (the peak 1, not 1.3 or 255)

    def peak(*crops):
        value, (low, top) = _val_peak([SimpleNamespace(clean=torch.tensor(c, dtype=torch.float32)) for c in crops])
        return value, low, top

    assert peak([0.0, 0.5], [1.25]) == (1.0, 0.0, 1.25)
    assert peak([-1.0, 0.3], [0.9]) == pytest.approx((1.9, -1.0, 0.9))
    assert peak([-0.05, 0.3], [1.2]) == pytest.approx((1.0, -0.05, 1.2))  # (percentile-normalised)
    assert peak([-0.05, 0.3], [0.5]) == pytest.approx((1.0, -0.05, 0.95))  # (clipped as noise2x.psnr clips)
    assert peak([0.0, 2.0]) == (255.0, 0.0, 255.0)  # (integers: a dark 8-bit image)
    assert peak([0.0, 200.0]) == (255.0, 0.0, 255.0) and peak([3.0, 4000.0]) == (4000.0, 0.0, 4000.0)
    from noise2x import psnr
    from noise2x.train import _psnr

    signed = np.linspace(-1.0, 1.0, 64).reshape(8, 8)
    pred = signed + np.random.default_rng(0).normal(0.0, 0.3, signed.shape)  # (passes -1 and 1)
    crops = [SimpleNamespace(clean=torch.tensor(signed))]
    assert _psnr(torch.tensor(pred), torch.tensor(signed), *_val_peak(crops)) == pytest.approx(psnr(signed, pred, data_range=2.0))


def test_the_images_of_arrays_are_named_as_the_arrays(tmp_path, stack, rgb_image):
    """Errors named the arrays' copies: 'data[7].tif has 3 channel(s)', 'data.tif[0]' (a QA re-check)."""
    images = [stack[0], stack[1], np.repeat(stack[2][..., None], 3, axis=-1)]
    with pytest.raises(InputError, match=r"^data\[2\] has 3 channel\(s\) but earlier images have 1"):
        train("noise2void", data=images, steps=1, progress=False, overrides=FAST, out=tmp_path / "m.safetensors")
    from noise2x.data import build_datasets

    train("noise2void", data=stack, axes="SYX", steps=1, progress=False, overrides=FAST,
          out=tmp_path / "s.safetensors")
    copy = next((tmp_path / "s.run" / "arrays").glob("data-*/data.tif"))
    train_set, _, _ = build_datasets(data=copy, requires=frozenset({"noisy"}), val_images=0)
    assert [item.name for item in train_set.items] == [f"data[{k}]" for k in range(6)]


def test_a_list_mixing_uint8_and_uint16_arrays_is_said_of_the_arrays(tmp_path, stack):
    eight = [np.clip(s, 0, 255).astype(np.uint8) for s in stack]
    mixed = eight[:2] + [eight[2].astype(np.uint16) * 257] + eight[3:]
    with pytest.warns(UserWarning, match=r"^data mixes uint8 \(5\) and uint16 \(1\) arrays, e\.g\. data\[2\], whose"):
        train("noise2void", data=mixed, steps=1, progress=False, overrides=FAST, out=tmp_path / "m.safetensors")


def test_networks_are_built_from_the_global_rng_one_thread_at_a_time(tmp_path, stack, monkeypatch):
    """Two trainings seeded alike in two threads drew their initial weights from each other's seeding (a concurrency
    QA pass): a network is built under models.global_rng, which one thread holds at a time, seeded, and restores
    the caller's RNG state."""
    import threading
    import time

    import torch

    from noise2x import models

    inside, release, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with models.global_rng(5):
            inside.set()
            release.wait(10)
            seen.append(torch.rand(3))

    def second() -> None:
        inside.wait(10)
        with models.global_rng(6):
            seen.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(10)
    time.sleep(0.2)
    assert seen == []  # (the second waits for the first)
    release.set()
    for t in threads:
        t.join(10)
    torch.manual_seed(5)
    assert torch.equal(seen[0], torch.rand(3)) and seen[1] == "second"
    state = torch.get_rng_state()
    with models.global_rng(7):
        torch.rand(5)
    assert torch.equal(torch.get_rng_state(), state)
    # train and load_model build their networks under it (train with its seed)
    calls = []
    real = models.global_rng

    def spy(seed=None):
        calls.append(seed)
        return real(seed)

    monkeypatch.setattr(models, "global_rng", spy)
    noise2x.train("noise2void", data=stack, axes="SYX", steps=1, seed=3, progress=False, overrides=FAST,
                  out=tmp_path / "m.safetensors")
    assert calls[0] == 3
    del calls[:]
    load_model(tmp_path / "m.safetensors")
    assert calls == [None]


def test_training_on_gray_images_stored_as_rgb_is_said(tmp_path, stack):
    """Gray images stored as RGB trained a 3-channel model, unsaid (a re-check): a warning says so."""
    rgb = [np.repeat(frame[..., None], 3, axis=-1) for frame in stack]
    with pytest.warns(UserWarning, match="gray images stored as RGB .* the model learns 3 channels"):
        noise2x.train("noise2void", data=rgb, steps=1, progress=False, overrides=FAST, out=tmp_path / "a.safetensors")
    tinted = [image + np.array([0.0, 0.0, 1.0], dtype=np.float32) for image in rgb]  # colour: nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        noise2x.train("noise2void", data=tinted, steps=1, progress=False, overrides=FAST,
                      out=tmp_path / "b.safetensors")


def test_channels_of_a_c_axis_of_far_apart_spreads_are_said_to_share_one_normalisation(tmp_path, stack):
    """The channels of an ImageJ CYX stack, a dim one (100..170) and a bright one (1e4..2e4), trained as frames under
    one mean and deviation: the dim one came out at -11.9 dB from 20.2, unsaid (a CAREamics user's QA pass). Frames
    with no C axis are not said of (a near-black z-slice beside the others is the same kind of image)."""
    from noise2x.errors import TrainUnitsWarning

    cyx = np.stack([stack[:3] * 0.5, stack[3:] * 100 + 10000], axis=1).astype(np.float32)  # (Z, C, Y, X)
    tifffile.imwrite(tmp_path / "cyx.tif", cyx, imagej=True, metadata={"axes": "ZCYX"})
    # and channels of like spreads far apart in level (offsets of 100 and 10000: 9 dB from 28, unsaid, a re-check)
    tifffile.imwrite(tmp_path / "lev.tif", np.stack([stack[:3] - 28, stack[3:] + 9872], axis=1).astype(np.float32),
                     imagej=True, metadata={"axes": "ZCYX"})
    for name in ("cyx", "lev"):
        with pytest.warns(TrainUnitsWarning, match=r"the training frames are the channels of a C axis, whose values "
                                                   r"lie far apart \(channel 0 around .*train one model per channel"):
            train("noise2void", data=str(tmp_path / f"{name}.tif"), steps=1, progress=False, overrides=FAST,
                  out=tmp_path / "m.safetensors")
    tifffile.imwrite(tmp_path / "like.tif", np.stack([stack[:3], stack[3:] * 2], axis=1), imagej=True,
                     metadata={"axes": "ZCYX"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (channels of like spreads; frames of far apart ones with no C axis)
        train("noise2void", data=str(tmp_path / "like.tif"), steps=1, progress=False, overrides=FAST,
              out=tmp_path / "n.safetensors")
        train("noise2void", data=np.concatenate([stack[:3] * 0.5, stack[3:] * 100]), axes="SYX", steps=1,
              progress=False, overrides=FAST, out=tmp_path / "o.safetensors")
