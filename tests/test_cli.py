"""The CLI run in-process on tmp paths: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from noise2x.cli import main


def _png(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8)).save(path)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("noise2x: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_simulate_writes_protocol_gaussian_as_float32_tiff(tmp_path, capsys, gray_image):
    src = _png(tmp_path / "clean.png", gray_image)
    with Image.open(src) as im:
        clean = np.asarray(im, dtype=np.float64)
    out = tmp_path / "noisy.tif"
    code, _, _ = _run(capsys, "simulate", "gaussian:sigma=25", str(src), str(out), "--seed", "3")
    assert code == 0
    noisy = tifffile.imread(out)
    assert noisy.dtype == np.float32
    expected = clean + 25 * np.random.default_rng(3).standard_normal(clean.shape)
    np.testing.assert_array_equal(noisy, expected.astype(np.float32))
    # IN --noise NOISE --out OUT, as denoise takes them (a QA pass wrote it so and was refused): the same file
    code, _, _ = _run(capsys, "simulate", str(src), "--noise", "gaussian:sigma=25", "--out", str(tmp_path / "b.tif"),
                      "--seed", "3")
    assert code == 0 and np.array_equal(tifffile.imread(tmp_path / "b.tif"), noisy)
    for argv in ([str(src), "--out", str(out)], ["gaussian:sigma=25", str(src)], ["a", "b", "c", "d"]):
        code, _, err = _run(capsys, "simulate", *argv)
        assert code == 2 and "simulate takes NOISE IN OUT" in _one_error_line(err)


def test_simulate_poisson_matches_protocol(tmp_path, capsys, gray_image):
    src = _png(tmp_path / "clean.png", gray_image)
    with Image.open(src) as im:
        clean = np.asarray(im, dtype=np.float64)
    out = tmp_path / "noisy.tif"
    assert _run(capsys, "simulate", "poisson:peak=30", str(src), str(out), "--seed", "5")[0] == 0
    expected = 255 * np.random.default_rng(5).poisson(30 * clean / 255) / 30
    np.testing.assert_array_equal(tifffile.imread(out), expected.astype(np.float32))


def test_simulate_names_the_level_a_range_drew_for_each_image(tmp_path, capsys, gray_image):
    """gaussian:sigma=0..50 drew a level per image that no line or record named: a test set made with a range lost
    its ground truth (a noise QA pass). The line and a PNG's record name it; a stack's frames draw their own."""
    from PIL import Image

    from noise2x.io import read_image, read_stack, write_image
    from noise2x.noise import parse_noise

    flat = np.full((64, 64), 100.0)
    write_image(tmp_path / "flat.png", flat, kind="uint8")
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=0..50", str(tmp_path / "flat.png"),
                        str(tmp_path / "n.tif"), "--seed", "2")
    drawn = parse_noise("gaussian:sigma=0..50").sample(np.random.default_rng(2)).params["sigma"]
    assert code == 0 and f"(gaussian:sigma={drawn!r} (drawn from gaussian:sigma=0..50), seed 2)" in err, err
    assert abs(np.std(read_image(tmp_path / "n.tif") - 100) - drawn) < 0.05 * drawn
    assert _run(capsys, "simulate", "gaussian:sigma=0..50", str(tmp_path / "flat.png"), str(tmp_path / "n.png"),
                "--seed", "2", "-q")[0] == 0
    with Image.open(tmp_path / "n.png") as written:
        comment = written.info["Comment"]
    assert f"simulate gaussian:sigma={drawn!r} (drawn from gaussian:sigma=0..50) (seed 2)" in comment
    write_image(tmp_path / "stack.tif", np.stack([flat, flat]), kind="uint8")
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=0..50", str(tmp_path / "stack.tif"),
                        str(tmp_path / "s.tif"))
    first = [parse_noise("gaussian:sigma=0..50").sample(np.random.default_rng([0, k])).params["sigma"] for k in (0, 1)]
    assert code == 0 and (f"(gaussian:sigma=0..50 (each frame's level drawn on its own: gaussian:sigma={first[0]!r}; "
                          f"gaussian:sigma={first[1]!r}), seed 0)") in err, err
    frames = read_stack(tmp_path / "s.tif")
    assert abs(np.std(frames[1] - 100) - first[1]) < 0.1 * first[1] + 0.5


def test_simulate_keeps_values_outside_range_unclipped(tmp_path, capsys):
    src = _png(tmp_path / "black.png", np.zeros((21, 17)))
    out = tmp_path / "noisy.tif"
    assert _run(capsys, "simulate", "gaussian:sigma=25", str(src), str(out))[0] == 0
    assert tifffile.imread(out).min() < -10


def test_simulate_to_an_8_bit_file_says_the_noise_is_clipped_and_how_to_keep_it(tmp_path, capsys):
    src = _png(tmp_path / "grey.png", np.full((40, 30), 120.0))
    code, _, err = _run(capsys, "simulate", "speckle:looks=1", str(src), str(tmp_path / "sp.png"))
    assert code == 0 and "clipped in sp.png" in err and "write sp.tif (float32) to keep them" in err, err
    assert "clipped" not in _run(capsys, "simulate", "gaussian:sigma=5", str(src), str(tmp_path / "g.png"))[2]
    code, _, err = _run(capsys, "simulate", "speckle:looks=1", str(src), str(tmp_path / "sp.tif"))
    assert code == 0 and "clipped" not in err, err
    # a few values far beyond 255 (a photon in 100 pixels, each worth 25500): the image came out black, unsaid, as
    # under 1% of its values were clipped (a dtype QA pass)
    code, _, err = _run(capsys, "simulate", "poisson:peak=0.01", str(src), str(tmp_path / "p.png"))
    assert code == 0 and "clipped in p.png" in err, err
    assert np.count_nonzero(np.asarray(Image.open(tmp_path / "p.png")) == 255) < 0.01 * 40 * 30


@pytest.mark.parametrize("method", ["bm3d", "nlm"])
def test_denoise_direct_method_improves_psnr(tmp_path, capsys, gray_image, method):
    from noise2x.metrics import psnr

    noisy = gray_image + 20 * np.random.default_rng(0).standard_normal(gray_image.shape)
    src = tmp_path / "noisy.tif"
    tifffile.imwrite(src, noisy.astype(np.float32))
    out = tmp_path / "out" / "clean.tif"
    (tmp_path / "out").mkdir()
    code, stdout, _ = _run(capsys, "denoise", str(src), "--method", method, "--out", str(out),
                           "--noise", "gaussian:sigma=20")
    assert code == 0, stdout
    assert "denoised 1 image" in stdout
    pred = tifffile.imread(out).astype(np.float64)
    assert pred.shape == noisy.shape
    assert psnr(gray_image, pred) > psnr(gray_image, noisy) + 3


def test_denoise_folder_into_folder_keeps_names_and_kind(tmp_path, capsys, gray_image):
    inp = tmp_path / "in"
    inp.mkdir()
    rng = np.random.default_rng(1)
    for name in ("b.png", "a.png"):
        _png(inp / name, gray_image + 15 * rng.standard_normal(gray_image.shape))
    code, _, err = _run(capsys, "denoise", str(inp), "--method", "nlm", "--out", str(tmp_path / "res"))
    assert code == 0
    outs = sorted(p.name for p in (tmp_path / "res").iterdir())
    assert outs == ["a.png", "b.png"]
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert re.search(r"^\[1/2\] .*a\.png .* s\); about \d+ s left$", progress[0]), progress  # the time to come
    assert progress[1].startswith("[2/2]") and progress[1].endswith(" s)"), progress
    with Image.open(tmp_path / "res" / "a.png") as im:
        assert im.mode == "L"


def test_denoise_shards_and_skips_existing_outputs(tmp_path, capsys, gray_image):
    inp = tmp_path / "in"
    inp.mkdir()
    rng = np.random.default_rng(2)
    names = [f"{c}.png" for c in "abcde"]
    for name in names:
        _png(inp / name, gray_image + 15 * rng.standard_normal(gray_image.shape))
    base = ["denoise", str(inp), "--method", "nlm", "--noise", "gaussian:sigma=15"]
    code, _, _ = _run(capsys, *base, "--out", str(tmp_path / "all"))
    assert code == 0
    for k in (1, 2, 3):  # three jobs of an array: every third file from the k-th, together all of them once
        code, _, err = _run(capsys, *base, "--out", str(tmp_path / "shards"), "--shard", f"{k}/3")
        assert code == 0 and f"shard {k}/3: {len(names[k - 1::3])} of 5 input(s)" in err, err
        assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == sorted(
            n for j in range(1, k + 1) for n in names[j - 1::3])
    for name in names:  # the same outputs as one job's
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "shards" / name)),
                                      np.asarray(Image.open(tmp_path / "all" / name)))
    # a stopped run continued: existing outputs are left as they are
    (tmp_path / "shards" / "b.png").unlink()
    (tmp_path / "shards" / "c.png").write_bytes(b"kept")
    code, _, err = _run(capsys, *base, "--out", str(tmp_path / "shards"), "--skip-existing")
    assert code == 0 and "4 input(s) skipped: their output exists" in err and "[1/1]" in err, err
    assert (tmp_path / "shards" / "c.png").read_bytes() == b"kept" and (tmp_path / "shards" / "b.png").exists()
    for bad in ("0/3", "4/3", "2", "a/b", "1/0"):
        code, _, err = _run(capsys, *base, "--out", str(tmp_path / "x"), "--shard", bad)
        assert code == 2 and "--shard expects K/N" in _one_error_line(err), (bad, err)


def test_denoise_recursive_keeps_the_subfolders(tmp_path, capsys, gray_image):
    rng = np.random.default_rng(3)
    for rel in ("a.png", "day1/b.png", "day1/well 2/c.png", "day2/b.png", ".cache/d.png", "day2/.e.png"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        _png(tmp_path / "in" / rel, gray_image + 15 * rng.standard_normal(gray_image.shape))
    base = ["denoise", str(tmp_path / "in"), "--method", "nlm", "--noise", "gaussian:sigma=15"]
    code, _, err = _run(capsys, *base, "--out", str(tmp_path / "out"), "--recursive")
    assert code == 0, err
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["a.png", "day1/b.png", "day1/well 2/c.png", "day2/b.png"]  # hidden ones left out
    assert re.search(r"\[3/4\] .*well 2/c\.png -> .*out/day1/well 2/c\.png", err), err
    code, _, err = _run(capsys, *base, "--out", str(tmp_path / "flat"))  # without it: the folder's own files
    assert code == 0 and [p.name for p in (tmp_path / "flat").iterdir()] == ["a.png"]


def test_a_stacks_frames_come_out_as_each_frame_alone_and_clipping_is_said(tmp_path, capsys, gray_image, monkeypatch):
    rng = np.random.default_rng(4)
    frames = np.stack([np.clip(1000 + 40 * gray_image + rng.normal(0, 80, gray_image.shape), 0, 65535)
                       for _ in range(3)]).astype(np.uint16)
    tifffile.imwrite(tmp_path / "stack.tif", frames, imagej=True, metadata={"axes": "ZYX"})
    base = ["--method", "nlm", "--noise", "gaussian:sigma=80"]
    code, _, err = _run(capsys, "denoise", str(tmp_path / "stack.tif"), *base, "--out", str(tmp_path / "o.tif"))
    assert code == 0, err
    out = tifffile.imread(tmp_path / "o.tif")
    assert out.dtype == np.uint16 and out.shape == frames.shape
    for k in range(3):  # the same values as each frame denoised as an image of its own
        tifffile.imwrite(tmp_path / f"f{k}.tif", frames[k])
        code, _, err = _run(capsys, "denoise", str(tmp_path / f"f{k}.tif"), *base, "--out", str(tmp_path / f"o{k}.tif"))
        assert code == 0, err
        np.testing.assert_array_equal(out[k], tifffile.imread(tmp_path / f"o{k}.tif"))
    import noise2x.api

    monkeypatch.setattr(noise2x.api, "denoise", lambda frame, **kw: frame + 70000.0)  # beyond 16 bits
    code, _, err = _run(capsys, "denoise", str(tmp_path / "stack.tif"), *base, "--out", str(tmp_path / "c.tif"))
    assert code == 0 and "warning: writing" in err and "100.0% of the values were outside [0, 65535]" in err, err
    assert (tifffile.imread(tmp_path / "c.tif") == 65535).all()


def test_duration_reads_as_a_person_says_it():
    from noise2x.cli import _duration

    assert [_duration(t) for t in (0.2, 40.4, 89, 150, 3600 * 1.5 - 31, 5400, 7500)] == [
        "1 s", "40 s", "89 s", "2 min", "89 min", "1 h 30 min", "2 h 5 min"]


def test_python_dash_m_runs_the_same_cli():
    proc = subprocess.run([sys.executable, "-m", "noise2x", "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "noise2x" in proc.stdout


# ----------------------------------------------------------------------------- bad input


def test_missing_input_is_usage_error(tmp_path, capsys):
    code, _, err = _run(capsys, "denoise", str(tmp_path / "nope.png"), "--method", "nlm", "--out", str(tmp_path / "o.png"))
    assert code == 2
    assert "nope.png" in _one_error_line(err)
    assert not (tmp_path / "o.png").exists()


def test_corrupt_image_is_runtime_error_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    code, _, err = _run(capsys, "denoise", str(bad), "--method", "nlm", "--out", str(tmp_path / "o.png"))
    assert code == 1
    assert "bad.png" in _one_error_line(err)
    assert list(tmp_path.iterdir()) == [bad]


def test_nan_image_is_rejected(tmp_path, capsys, gray_image):
    img = gray_image.copy()
    img[3, 4] = np.nan
    src = tmp_path / "nan.tif"
    tifffile.imwrite(src, img.astype(np.float32))
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "o.tif"))
    assert code == 1
    assert "nan" in _one_error_line(err).lower()
    assert not (tmp_path / "o.tif").exists()


def test_empty_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "denoise", str(tmp_path / "empty"), "--method", "nlm", "--out", str(tmp_path / "o"))
    assert code != 0
    assert "empty" in _one_error_line(err)


def test_a_folders_images_in_formats_it_does_not_read_are_named_and_jfif_is_jpeg(tmp_path, capsys, gray_image):
    """A folder's GIF, PGM, JPEG 2000 and Targa files were left out unsaid (denoised 1 image, exit 0), and a JPEG
    named .jfif (as web browsers save one) was refused as not a JPEG (a format QA pass)."""
    from PIL import Image

    mix = tmp_path / "mix"
    mix.mkdir()
    picture = Image.fromarray(gray_image.astype(np.uint8))
    for name, fmt in (("a.png", "PNG"), ("b.gif", "GIF"), ("c.pgm", "PPM"), ("d.jfif", "JPEG"), ("e.tga", "TGA")):
        picture.save(mix / name, format=fmt)
    (mix / "notes.txt").write_text("not an image")
    code, out, err = _run(capsys, "denoise", str(mix), "--method", "nlm", "--out", str(tmp_path / "o"))
    assert code == 0 and "denoised 2 image(s)" in out
    assert (f"note: {mix}: 3 files in image formats noise2x does not read left out (b.gif, c.pgm, e.tga): convert "
            "them to PNG or TIFF to include them\n") in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png", "d.jfif"]
    with Image.open(tmp_path / "o" / "d.jfif") as written:
        assert written.format == "JPEG"
    code, _, err = _run(capsys, "train", "--method", "noise2void", "--data", str(mix), "--steps", "1", "--out",
                        str(tmp_path / "m.safetensors"), "--set", "data.patch_size=16", "--set", "data.batch_size=2")
    assert code == 0 and f"noise2x: note: {mix}: 3 files in image formats noise2x does not read left out" in err
    for name in ("a.png", "d.jfif", "c.pgm", "e.tga"):
        (mix / name).unlink()
    code, _, err = _run(capsys, "denoise", str(mix), "--method", "nlm", "--out", str(tmp_path / "p"))
    assert code == 1 and _one_error_line(err).endswith(
        "; 1 file in image formats noise2x does not read left out (b.gif): convert it to PNG or TIFF to include it")
    # a film scan's DPX and Cineon frames too (a sequence's hole went unsaid), and one given alone says what to do
    (mix / "f_0003.dpx").write_bytes(b"SDPX" + bytes(4000))
    (mix / "f_0004.cin").write_bytes(b"\x80\x2a\x5f\xd7" + bytes(4000))
    for name in ("v.h5", "v.hdf5", "v.he5", "v.nxs"):  # (a beamline's volumes: a tomography QA pass)
        (mix / name).write_bytes(b"\x89HDF\r\n\x1a\n")
    code, _, err = _run(capsys, "denoise", str(mix), "--method", "nlm", "--out", str(tmp_path / "q"))
    assert code == 1 and ("7 files in image formats noise2x does not read left out (b.gif, f_0003.dpx, f_0004.cin, "
                          "v.h5 and 3 more)") in err, err
    for command in (["denoise", str(mix / "f_0003.dpx"), "--out", str(tmp_path / "r.tif")],
                    ["info", str(mix / "f_0004.cin")]):
        code, _, err = _run(capsys, *command)
        line = _one_error_line(err)
        assert code == 1 and line.endswith(" files are not read: convert it to PNG or TIFF first (a 16-bit or float32 "
                                           "TIFF for deeper data, a TIFF stack for a volume)"), err
        assert "supported formats" not in line
    assert not (tmp_path / "r.tif").exists()


def test_a_bad_image_in_a_folder_is_named_and_the_others_are_denoised(tmp_path, capsys, gray_image):
    """Of several inputs, the error names the one at fault, which gets no output; the others, before and after it,
    are denoised (a corrupt file stopped the batch), and the exit status says one failed."""
    folder = tmp_path / "in"
    folder.mkdir()
    _png(folder / "a.png", gray_image)
    _png(folder / "b.png", gray_image[:1, :1])  # too small
    (folder / "c.png").write_bytes((folder / "a.png").read_bytes()[:200])  # truncated
    _png(folder / "d.png", gray_image)
    (folder / "e.png").write_bytes(b"")  # empty, as a card or a copy can leave one (its header cannot be read)
    (folder / "f.tif").write_bytes(b"junk")
    code, out, err = _run(capsys, "denoise", str(folder), "--method", "nlm", "--out", str(tmp_path / "o"))
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("noise2x: error:")]
    assert len(errors) == 4 and "Traceback" not in err, err
    assert errors[0].startswith(f"noise2x: error: {folder / 'b.png'}: ") and "1x1" in errors[0], errors
    assert str(folder / "c.png") in errors[1] and "truncated" in errors[1], errors
    assert str(folder / "e.png") in errors[2] and str(folder / "f.tif") in errors[3], errors
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png", "d.png"]
    assert "denoised 2 of 6 image(s)" in out and "4 could not be used" in out, out


@pytest.mark.parametrize("spec", ["gausian:sigma=25", "gaussian:sigmaa=25", "gaussian:sigma=abc", "gaussian:"])
def test_invalid_noise_spec_lists_valid_choices(tmp_path, capsys, gray_image, spec):
    src = _png(tmp_path / "c.png", gray_image)
    code, _, err = _run(capsys, "simulate", spec, str(src), str(tmp_path / "n.tif"))
    assert code == 2
    line = _one_error_line(err)
    if spec.startswith("gausian"):
        assert "gaussian" in line and "poisson" in line
    if "sigmaa" in spec:
        assert "sigma" in line.replace("sigmaa", "")
    assert not (tmp_path / "n.tif").exists()


def test_unknown_method_lists_methods(tmp_path, capsys, gray_image):
    src = _png(tmp_path / "c.png", gray_image)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm4d", "--out", str(tmp_path / "o.png"))
    assert code == 2
    assert "bm3d" in _one_error_line(err)


def test_a_shipped_model_given_as_a_method_points_to_model(tmp_path, capsys, gray_image):
    src = _png(tmp_path / "c.png", gray_image)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "gray-gaussian", "--out", str(tmp_path / "o.png"))
    assert code == 2 and not (tmp_path / "o.png").exists()
    assert "--model gray-gaussian" in _one_error_line(err)


def test_a_declared_noise_a_method_cannot_use_is_said_once(tmp_path, capsys, gray_image):
    """--noise that gives the method no level (a noise it does not model, a range, a self-calibrating method, a
    model that takes none) is said in one note line per run, not passed over in silence."""
    a, b = _png(tmp_path / "a.png", gray_image), _png(tmp_path / "b.png", gray_image[::-1])
    code, _, err = _run(capsys, "denoise", str(a), str(b), "--method", "bm3d", "--noise", "impulse:p=0.2",
                        "--out", str(tmp_path / "o1"))
    assert code == 0 and err.count("note: bm3d takes from --noise") == 1 and "'impulse:p=0.2' gives neither" in err
    code, _, err = _run(capsys, "denoise", str(a), "--method", "bm3d", "--noise", "gaussian:sigma=20",
                        "--out", str(tmp_path / "o2.png"))
    assert code == 0 and "note:" not in err and "(noise spec)" in err
    code, _, err = _run(capsys, "denoise", str(a), "--method", "nlm_calibrated", "--noise", "gaussian:sigma=20",
                        "--out", str(tmp_path / "o3.png"))
    assert code == 0 and "nlm_calibrated does not use --noise gaussian:sigma=20" in err
    code, _, err = _run(capsys, "denoise", str(a), "--model", "gray-gaussian", "--noise", "gaussian:sigma=20",
                        "--out", str(tmp_path / "o4.png"))
    assert code == 0 and "this model does not use --noise gaussian:sigma=20" in err


def test_unknown_method_option_is_usage_error(tmp_path, capsys, gray_image):
    src = _png(tmp_path / "c.png", gray_image)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--set", "bogus=1", "--out", str(tmp_path / "o.png"))
    assert code == 2
    assert "bogus" in _one_error_line(err)


def test_unwritable_output_folder(tmp_path, capsys, gray_image, monkeypatch):
    src = _png(tmp_path / "c.png", gray_image)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # (root writes anywhere: the folder's answer is made as a user would get it)
            access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, *a, **kw: (
                False if Path(p) == locked and mode & os.W_OK else access(p, mode, *a, **kw)))
        code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(locked / "o.png"))
        assert code == 1
        assert "writable" in _one_error_line(err)
    finally:
        locked.chmod(0o700)


def test_missing_output_parent_folder_is_made(tmp_path, capsys, gray_image):
    """As a folder --out and bench's --out are: the output file's folder is made (it was an error for denoise,
    simulate and train alone); one that cannot be made is one error line, and nothing is made on a refusal."""
    src = _png(tmp_path / "c.png", gray_image)
    for argv in (["denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "no" / "such" / "o.png")],
                 ["simulate", "gaussian:sigma=5", str(src), str(tmp_path / "sim" / "s.png")]):
        code, _, err = _run(capsys, *argv)
        assert code == 0 and Path(argv[-1]).is_file(), err
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(src / "o.png"))
    assert code == 1 and f"output folder cannot be made: {src} is a file" in _one_error_line(err)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.dstack([np.clip(gray_image, 0, 255).astype(np.uint8)] * 3)).save(rgb)
    code, _, err = _run(capsys, "denoise", str(rgb), "--method", "nlm", "--out", str(tmp_path / "new" / "o.fits"))
    assert code == 2 and "FITS output holds gray images" in _one_error_line(err) and not (tmp_path / "new").exists()


def test_bad_arguments_exit_2_with_one_line(capsys):
    code, _, err = _run(capsys, "denoise")
    assert code == 2
    _one_error_line(err)


def test_several_inputs_need_a_folder_output(tmp_path, capsys, gray_image):
    a = _png(tmp_path / "a.png", gray_image)
    b = _png(tmp_path / "b.png", gray_image)
    code, _, err = _run(capsys, "denoise", str(a), str(b), "--method", "nlm", "--out", str(tmp_path / "o.png"))
    assert code == 2
    assert "folder" in _one_error_line(err)


def test_methods_verbose_lists_options_and_presets(capsys):
    from noise2x import cli

    assert cli.main(["methods", "-v"]) == 0
    out = capsys.readouterr().out
    assert "percent=1.5" in out and "train.preset=NAME" in out and "sigma=None" in out


def test_cli_turns_on_huge_pages_unless_the_environment_says_otherwise(monkeypatch, capsys):
    from noise2x.cli import HUGE_PAGES_ENV

    monkeypatch.delenv(HUGE_PAGES_ENV, raising=False)
    assert main(["methods"]) == 0
    assert os.environ[HUGE_PAGES_ENV] == "1"
    monkeypatch.setenv(HUGE_PAGES_ENV, "0")
    assert main(["methods"]) == 0
    assert os.environ[HUGE_PAGES_ENV] == "0"


def _no_work(monkeypatch):
    """Make any denoising or benchmark run fail the test: the error must come before it."""
    import noise2x.api
    import noise2x.benchmark

    def work(*args, **kwargs):
        raise AssertionError("work started before the bad argument was found")

    monkeypatch.setattr(noise2x.api, "denoise", work)
    monkeypatch.setattr(noise2x.benchmark, "run_bench", work)


def test_unsupported_output_extension_is_refused_before_denoising(tmp_path, capsys, monkeypatch, gray_image):
    src = _png(tmp_path / "c.png", gray_image)
    _no_work(monkeypatch)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "zs_n2n", "--out", str(tmp_path / "o.jpg2"))
    assert code == 2
    assert "unsupported file extension '.jpg2'" in _one_error_line(err)
    assert not (tmp_path / "o.jpg2").exists()


@pytest.mark.parametrize("command", ["denoise", "simulate"])
def test_a_tiff_stack_needs_a_tiff_output(tmp_path, capsys, monkeypatch, command):
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, np.full((3, 20, 24), 100, np.uint8), photometric="minisblack", metadata={"axes": "ZYX"})
    _no_work(monkeypatch)
    argv = (["denoise", str(src), "--method", "nlm", "--out"] if command == "denoise"
            else ["simulate", "gaussian:sigma=5", str(src)])
    code, _, err = _run(capsys, *argv, str(tmp_path / "o.png"))
    assert code == 2
    assert "holds several images" in _one_error_line(err)
    assert not (tmp_path / "o.png").exists()
    if command == "simulate":  # the same stack into a TIFF works
        code, _, err = _run(capsys, *argv, str(tmp_path / "o.tif"))
        assert code == 0, err
        assert tifffile.imread(tmp_path / "o.tif").shape == (3, 20, 24)


def test_complex_tiff_is_rejected(tmp_path, capsys):
    src = tmp_path / "c.tif"
    tifffile.imwrite(src, np.ones((20, 24), np.complex64))
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=5", str(src), str(tmp_path / "o.tif"))
    assert code == 1
    assert "complex64 samples" in _one_error_line(err)
    assert not (tmp_path / "o.tif").exists()


def test_bench_output_name_is_checked_before_the_run(tmp_path, capsys, monkeypatch, gray_image):
    _png(tmp_path / "c.png", gray_image)
    _no_work(monkeypatch)
    code, _, err = _run(capsys, "bench", "--methods", "nlm", "--dataset", str(tmp_path), "--noise", "gaussian:sigma=25",
                        "--out", str(tmp_path / "r.txt"))
    assert code == 2
    assert "must end with .json or .md" in _one_error_line(err)


def test_a_subcommand_usage_error_names_the_subcommand_once(capsys):
    code, _, err = _run(capsys, "train", "--method", "noise2void")
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("noise2x: error: train: the following arguments are required")
    assert "noise2x train" not in line


def test_model_only_settings_with_a_direct_method(monkeypatch):
    from noise2x import api, pretrained
    from noise2x.errors import UsageError

    noisy = 128 + 25 * np.random.default_rng(0).standard_normal((32, 32))
    for kw, said in [({"device": "cuda"}, r"device=cuda \(--device\) applies"),
                     ({"tile": 64, "tta": True}, r"tile=64, tta=True \(--tile, --tta\) apply"),
                     ({"overlap": 8}, r"overlap=8 \(--overlap\) applies")]:
        with pytest.raises(UsageError, match=f"{said} to models; method nlm takes the whole image on the CPU"):
            api.denoise(noisy, method="nlm", noise="gaussian:sigma=25", **kw)
    api.denoise(noisy, method="nlm", noise="gaussian:sigma=25", device="cpu")  # the CPU it runs on anyway
    # chosen here (no method asked for): it runs, and says what it ignored
    choice = pretrained.Choice(method="nlm_calibrated", model=None, reason="test")
    monkeypatch.setattr(api, "choose_auto", lambda image, noise=None, colour="auto", mask=None: choice)
    lines: list[str] = []
    out = api.denoise(noisy, device="cuda", progress=lines.append)
    assert out.shape == noisy.shape
    assert any(line.endswith("device ignored") for line in lines), lines


@pytest.mark.parametrize("argv", [["simulate", "gaussian:sigma=5", "IN", "OUT"], ["denoise", "IN", "--method", "nlm",
                                  "--out", "OUT"], ["train", "--method", "noise2void", "--data", "IN", "--out", "OUT"]])
def test_a_negative_seed_is_a_usage_error(tmp_path, capsys, gray_image, argv):
    src = _png(tmp_path / "c.png", gray_image)
    argv = [str(src) if a == "IN" else str(tmp_path / "o.png") if a == "OUT" else a for a in argv]
    code, _, err = _run(capsys, *argv, "--seed", "-1")
    assert code == 2
    assert "argument --seed: must be a whole number >= 0, got '-1'" in _one_error_line(err)


def test_demo_output_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep me")
    code, _, err = _run(capsys, "demo", "--out", str(target))
    assert code == 2
    assert "is a file; give a folder" in _one_error_line(err)
    assert target.read_text() == "keep me"


def test_a_stopped_demo_leaves_no_empty_folder(tmp_path, capsys, monkeypatch):
    """A demo stopped (SIGTERM, Ctrl-C) before it wrote anything left the output folder it made (a README QA
    pass): it goes, as other commands' do."""
    from noise2x import demo

    def stopped(**_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "sample_images", stopped)
    code, _, _ = _run(capsys, "demo", "--out", str(tmp_path / "new" / "demo-output"))
    assert code == 130 and not (tmp_path / "new").exists()


def test_the_demo_measures_the_noisy_input_as_protocol_does(tmp_path, monkeypatch, gray_image):
    """The demo clipped the noisy input before measuring it: above bench's figure for the same image (the metrics
    QA pass). It is measured unclipped, as PROTOCOL.md and bench do; its table says how it times."""
    from noise2x import demo
    from noise2x.metrics import psnr
    from noise2x.noise import parse_noise

    clean = np.asarray(gray_image[:48, :48], dtype=np.float64)
    monkeypatch.setattr(demo, "sample_images", lambda: {"camera": clean})
    monkeypatch.setattr(demo, "scenes", lambda: [("camera", "gaussian:sigma=60", [("NLM", {"method": "nlm"})])])
    rows = demo.run_demo(out=tmp_path / "d", progress=lambda _: None)
    noisy = parse_noise("gaussian:sigma=60").apply(clean, rng=0)
    assert rows[0]["psnr"] == pytest.approx(psnr(clean, noisy, clip=False))
    assert psnr(clean, noisy) > psnr(clean, noisy, clip=False) + 0.3  # (clipped: another figure)
    assert "no warm-up" in (tmp_path / "d" / "results.md").read_text()


def test_a_stack_says_its_choice_once(tmp_path, capsys, gray_image):
    # each frame of a stack is denoised on its own; the choice line, the same for every frame, is said once
    crop = gray_image[:40, :40].astype(np.float64)
    rng = np.random.default_rng(0)
    stack = np.stack([np.clip(crop + rng.normal(0, 25, crop.shape), 0, 255) for _ in range(4)]).astype(np.uint8)
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, stack, photometric="minisblack", metadata={"axes": "ZYX"})
    code, _, err = _run(capsys, "denoise", str(src), "--noise", "gaussian:sigma=25", "--out", str(tmp_path / "o.tif"))
    assert code == 0, err
    assert tifffile.imread(tmp_path / "o.tif").shape == stack.shape
    lines = err.splitlines()
    assert sum(line.startswith("using ") for line in lines) == 1, err
    assert sum("a stack of 4 frames" in line for line in lines) == 1, err


def test_transparent_pixels_are_left_out_of_the_noise_estimate(tmp_path, capsys):
    # a cut-out photo: weak noise where it is opaque, black where transparent. Read whole, the image looks
    # like photon counts with a dark area and its noise like none (sigma 0: nothing was removed)
    yy, xx = np.mgrid[0:96, 0:120]
    clean = np.stack([60 + xx, 200 - yy, 90 + 0.5 * (xx + yy)], axis=-1).astype(float)
    noisy = np.clip(np.round(clean + np.random.default_rng(3).normal(0, 3, clean.shape)), 0, 255).astype(np.uint8)
    alpha = np.full(clean.shape[:2], 255, np.uint8)
    alpha[:, :70] = 0
    noisy[alpha == 0] = 0
    src = tmp_path / "cutout.png"
    Image.fromarray(np.dstack([noisy, alpha]), "RGBA").save(src)
    for method in ("bm3d", None):  # its sigma estimate; the no-option choice
        code, _, err = _run(capsys, "denoise", str(src), *(["--method", method] if method else []),
                            "--out", str(tmp_path / "out.png"))
        assert code == 0, err
        sigma = float(re.search(r"sigma ([0-9.]+) \(" + ("read" if method is None else "estimated") + r"\)",
                                err).group(1))
        assert 2.4 < sigma < 3.6, err
    assert "using bm3d: white Gaussian noise, estimated sigma" in err, err


def test_the_sigma_the_choice_reads_is_said_as_read_in_the_image_units(tmp_path, capsys):
    # the no-option choice passes the sigma it read to BM3D: the per-file line said "(given)", though the user
    # gave none, and in the file's units beside the 8-bit units of the "using" line
    yy, xx = np.mgrid[0:96, 0:128]
    clean = 10 * (60 + xx + 0.5 * yy)
    noisy = np.round(clean + np.random.default_rng(4).normal(0, 30, clean.shape)).astype(np.uint16)
    src = tmp_path / "ramp16.tif"
    tifffile.imwrite(src, noisy)
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "out.tif"))
    assert code == 0, err
    assert "using bm3d: white Gaussian noise, estimated sigma" in err, err
    sigma = float(re.search(r"\(bm3d, sigma ([0-9.]+) \(read, in the image's units\)", err).group(1))
    assert 25 < sigma < 35, err
    code, _, err = _run(capsys, "denoise", str(src), "--noise", "gaussian:sigma=30", "--out", str(tmp_path / "o.tif"))
    assert code == 0, err
    assert "(bm3d, sigma 30.00 (from the noise spec, in the image's units)" in err, err


def test_denoise_and_simulate_keep_the_alpha_channel(tmp_path, capsys, rgb_image):
    # opacity is not noise: it comes out as it went in, where the output format can hold it
    rng = np.random.default_rng(2)
    noisy = np.clip(np.round(rgb_image + rng.normal(0, 15, rgb_image.shape)), 0, 255).astype(np.uint8)
    alpha = np.zeros(rgb_image.shape[:2], np.uint8)
    alpha[5:30, 4:25] = 255
    alpha[10:20, 10:20] = 128
    src = tmp_path / "logo.png"
    Image.fromarray(np.dstack([noisy, alpha]), "RGBA").save(src)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=15",
                        "--out", str(tmp_path / "out.png"))
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "RGBA"
        out = np.asarray(im)
    np.testing.assert_array_equal(out[..., 3], alpha)
    assert np.abs(out[..., :3].astype(int) - noisy).mean() > 3  # the colours were denoised

    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=15",
                        "--out", str(tmp_path / "out.jpg"))
    assert code == 0, err
    assert "its alpha channel is not kept: JPEG files have none" in err
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.mode == "RGB"

    code, _, err = _run(capsys, "simulate", "gaussian:sigma=10", str(src), str(tmp_path / "noisy.tif"))
    assert code == 0, err
    with tifffile.TiffFile(tmp_path / "noisy.tif") as tif:
        data = tif.asarray()
    assert data.shape == (*alpha.shape, 4)
    np.testing.assert_array_equal(data[..., 3], alpha)


def test_denoise_a_fits_image_keeps_its_header_and_units(tmp_path, capsys, gray_image):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(3)
    clean = 1000 + 40 * gray_image  # 16-bit camera counts
    noisy = np.clip(np.round(clean + rng.normal(0, 200, clean.shape)), 0, 65535).astype(np.uint16)
    hdu = fits.PrimaryHDU(noisy)
    hdu.header["OBJECT"], hdu.header["CTYPE1"], hdu.header["CRVAL1"] = "NGC 1", "RA---TAN", 1.5
    hdu.writeto(tmp_path / "frame.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "frame.fits"), "--method", "nlm",
                        "--noise", "gaussian:sigma=200", "--out", str(tmp_path / "clean.fits"))
    assert code == 0, err
    with fits.open(tmp_path / "clean.fits") as hdus:
        header, out = hdus[0].header, np.array(hdus[0].data, dtype=np.float64)
    assert (header["OBJECT"], header["CTYPE1"], header["CRVAL1"]) == ("NGC 1", "RA---TAN", 1.5)
    assert header["BITPIX"] == 16 and header["BZERO"] == 32768  # the input's kind, uint16
    assert np.sqrt(np.mean((out - clean) ** 2)) < 0.7 * np.sqrt(np.mean((noisy - clean) ** 2))

    _png(tmp_path / "colour.png", np.dstack([gray_image] * 3))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "colour.png"), "--method", "nlm",
                        "--out", str(tmp_path / "colour.fits"))
    assert code == 2
    assert "a FITS output holds gray images and stacks" in _one_error_line(err)
    assert not (tmp_path / "colour.fits").exists()


def test_denoise_blanks_keeps_nan_pixels_blank(tmp_path, capsys, gray_image):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(4)
    noisy = (gray_image + rng.normal(0, 10, gray_image.shape)).astype(np.float32)
    noisy[:, :9] = np.nan  # outside a mosaic's footprint
    noisy[20:24, 15:19] = np.nan
    hdu = fits.PrimaryHDU(noisy)
    hdu.header["OBJECT"] = "M 31"
    src = tmp_path / "m.fits"
    hdu.writeto(src)
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.fits"))
    assert code == 1 and "NaN" in err and "--blanks" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.fits").exists()
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--method", "bm3d", "--out", str(tmp_path / "o.fits"))
    assert code == 0, err
    assert f"{np.isnan(noisy).sum()} blank pixels kept blank" in err, err
    out = fits.getdata(tmp_path / "o.fits")
    np.testing.assert_array_equal(np.isnan(out), np.isnan(noisy))
    assert fits.getheader(tmp_path / "o.fits")["OBJECT"] == "M 31"
    data = ~np.isnan(noisy)
    assert np.abs(out[data] - gray_image[data]).mean() < 0.6 * np.abs(noisy[data] - gray_image[data]).mean()
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--method", "bm3d", "--out", str(tmp_path / "o.png"))
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "LA"
        np.testing.assert_array_equal(np.asarray(im)[..., 1], np.where(data, 255, 0))
    # 16-bit counts whose blank pixels hold the header's BLANK value (read as NaN): a FITS output holds
    # them as NaN, in float32
    raw = np.clip(np.round(1000 + 40 * gray_image + rng.normal(0, 200, gray_image.shape)), 0, 65535) - 32768
    raw[:5, :5] = -32768
    hdu = fits.PrimaryHDU(raw.astype(np.int16))
    hdu.header["BZERO"], hdu.header["BSCALE"], hdu.header["BLANK"] = 32768, 1, -32768
    hdu.writeto(tmp_path / "u.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "u.fits"), "--out", str(tmp_path / "o16.fits"))
    assert code == 1 and "has 25 pixels (of 1147) of its BLANK value -32768" in _one_error_line(err), err
    code, out, _ = _run(capsys, "info", str(tmp_path / "u.fits"))  # info names the BLANK value too, not NaN
    assert "blank (its BLANK value -32768) pixels: 25 of 1147" in out and "holds NaN" not in out, out
    code, _, err = _run(capsys, "denoise", str(tmp_path / "u.fits"), "--blanks", "--out", str(tmp_path / "o16.fits"))
    assert code == 0, err
    out = fits.getdata(tmp_path / "o16.fits")
    assert out.dtype.kind == "f" and out.dtype.itemsize == 4 and np.isnan(out).sum() == 25 and np.isnan(out[:5, :5]).all()
    # a cube: each frame's blanks apart; an empty plane stays empty (the first one too, with a model)
    cube = np.stack([np.full_like(noisy, np.nan), noisy, np.nan_to_num(noisy, nan=50.0)])
    fits.PrimaryHDU(cube).writeto(tmp_path / "cube.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "cube.fits"), "--blanks", "--model", "gray-gaussian-low",
                        "--out", str(tmp_path / "ocube_model.fits"))
    assert code == 0 and "frame 1 holds no data (every pixel blank): kept blank" in err, err
    code, _, err = _run(capsys, "denoise", str(tmp_path / "cube.fits"), "--blanks", "--method", "bm3d",
                        "--out", str(tmp_path / "ocube.fits"))
    assert code == 0 and "frame 1 holds no data (every pixel blank): kept blank" in err, err
    np.testing.assert_array_equal(np.isnan(fits.getdata(tmp_path / "ocube.fits")), np.isnan(cube))
    # 0 outside the footprint (--blank-value 0): the zeros come back 0, in any output; a cube's plane of
    # zeros stays as it is
    zeros = np.nan_to_num(noisy, nan=0.0)
    fits.PrimaryHDU(np.stack([zeros, np.zeros_like(zeros)])).writeto(tmp_path / "z.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "z.fits"), "--blank-value", "0", "--method", "bm3d",
                        "--out", str(tmp_path / "oz.fits"))
    assert code == 0 and "frame 2 holds no data" in err, err
    assert f"{(zeros == 0).sum() + zeros.size} blank pixels kept blank" in err, err
    out = fits.getdata(tmp_path / "oz.fits")
    np.testing.assert_array_equal(out == 0, np.stack([zeros == 0, np.ones_like(data)]))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "z.fits"), "--blank-value", "nan", "--out",
                        str(tmp_path / "oz2.fits"))
    assert code == 2 and "--blanks" in _one_error_line(err), err
    # an output that cannot mark them is refused before any work
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--out", str(tmp_path / "o.jpg"))
    assert code == 2 and "JPEG files cannot mark" in _one_error_line(err) and "using" not in err, err
    assert not (tmp_path / "o.jpg").exists()
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--method", "bm3d", "--out", str(tmp_path / "o.webp"))
    assert code == 0, err  # a (lossless) WebP marks them transparent, as a PNG does
    from noise2x.io import read_stack_with_alpha

    _, alpha = read_stack_with_alpha(tmp_path / "o.webp")
    np.testing.assert_array_equal(alpha[0] == 0, np.isnan(fits.getdata(src)))


def test_denoise_compressed_fits_in_a_folder(tmp_path, capsys, gray_image):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(6)
    noisy = np.clip(np.round(1000 + 40 * gray_image + rng.normal(0, 200, gray_image.shape)), 0, 65535)
    header = fits.Header([("OBJECT", "NGC 2"), ("EXPTIME", 30.0)])
    (tmp_path / "in").mkdir()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(noisy.astype(np.uint16), header=header,
                                                       compression_type="RICE_1")]).writeto(tmp_path / "in" / "a.fz")
    fits.PrimaryHDU(noisy.astype(np.float32), header=header).writeto(tmp_path / "in" / "b.fits.gz")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "bm3d", "--out", str(tmp_path / "out"))
    assert code == 0, err
    with fits.open(tmp_path / "out" / "a.fz") as hdus:
        assert isinstance(hdus[1], fits.CompImageHDU) and hdus[1].header["OBJECT"] == "NGC 2"
        a = np.array(hdus[1].data)
    assert a.dtype == np.uint16  # the input's kind
    assert (tmp_path / "out" / "b.fits.gz").read_bytes()[:2] == b"\x1f\x8b"
    b = fits.getdata(tmp_path / "out" / "b.fits.gz")
    for out in (a, b):
        assert np.abs(out - (1000 + 40 * gray_image)).mean() < 0.6 * np.abs(noisy - (1000 + 40 * gray_image)).mean()


def test_denoise_a_two_channel_hyperstack_keeps_its_axes(tmp_path, capsys, gray_image):
    # a fluorescence z-stack with 2 channels (an error before): each plane denoised on its own, written back
    # as the same ImageJ hyperstack
    rng = np.random.default_rng(7)
    clean = np.stack([np.stack([1000 + 20 * gray_image, 3000 - 10 * gray_image])] * 3)  # Z, C, Y, X
    noisy = np.clip(np.round(clean + rng.normal(0, 100, clean.shape)), 0, 65535).astype(np.uint16)
    src = tmp_path / "cells.tif"
    tifffile.imwrite(src, noisy, imagej=True, metadata={"axes": "ZCYX"})
    code, out, err = _run(capsys, "info", str(src))
    assert code == 0 and "frames: 6 (2 channels stored as planes), axes ZCYX, each denoised on its own" in out, out
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "out.tif"))
    assert code == 0 and "a stack of 6 frames" in err, err
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZCYX" and tif.series[0].dtype == np.uint16
        out = tif.asarray().astype(float)
    assert out.shape == clean.shape
    assert np.abs(out - clean).mean() < 0.6 * np.abs(noisy - clean).mean()


def test_info_on_an_image_says_what_denoise_would_do(tmp_path, capsys, gray_image):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(8)
    big = np.kron(gray_image, np.ones((2, 2)))  # 74x62
    noisy = np.full((74, 112), np.nan, np.float32)  # 50 blank columns, then the data and 10 more
    noisy[:, 50:] = big + rng.normal(0, 12, big.shape)
    noisy[:, 50:60] = np.nan
    src = tmp_path / "m.fits"
    fits.PrimaryHDU(noisy).writeto(src)
    code, out, err = _run(capsys, "info", str(src))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{src}: FITS, float32 samples, 112x74 gray", out
    assert "blank (NaN) pixels: 4440 of 8288 (denoise with --blanks)" in lines, out
    # the data only, in the columns denoise reads (from 60 - 32 on)
    assert f"noise: estimated from 3848 of {74 * (112 - 28)} pixels (the rest a fill)" in out, out
    sigma = float(re.search(r"sigma ([0-9.]+)", out).group(1))
    assert 9 < sigma < 15, out
    said = next(line for line in lines if line.startswith("noise2x denoise --blanks: "))
    said = said.removeprefix("noise2x denoise --blanks: ")
    assert lines[-1] == "noise2x denoise without --blanks: stops (the image holds NaN)", out
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--out", str(tmp_path / "o.fits"))
    assert code == 0 and f"using {said}" in err, (out, err)  # the same choice, word for word
    code, out, _ = _run(capsys, "info", "gray-gaussian")  # models as before
    assert code == 0 and out.startswith("method:")
    code, _, err = _run(capsys, "info", str(tmp_path / "missing.png"))
    assert code == 2 and "no such file" in _one_error_line(err), err


def test_simulate_keeps_blank_pixels_blank(tmp_path, capsys, gray_image):
    fits = pytest.importorskip("astropy.io.fits")
    clean = gray_image.astype(np.float32)
    with_nan = clean.copy()
    with_nan[:, :8] = np.nan
    fits.PrimaryHDU(with_nan).writeto(tmp_path / "c.fits")
    fits.PrimaryHDU(np.where(np.isnan(with_nan), 0, with_nan)).writeto(tmp_path / "z.fits")
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=10", str(tmp_path / "c.fits"), str(tmp_path / "n.fits"))
    assert code == 1 and "--blanks" in _one_error_line(err), err
    for name in ("c", "z"):
        code, _, err = _run(capsys, "simulate", "gaussian:sigma=10", str(tmp_path / f"{name}.fits"),
                            str(tmp_path / f"n{name}.fits"), "--blanks")
        assert code == 0, err
    out, plain = fits.getdata(tmp_path / "nc.fits"), fits.getdata(tmp_path / "nz.fits")
    np.testing.assert_array_equal(np.isnan(out), np.isnan(with_nan))
    data = ~np.isnan(with_nan)
    np.testing.assert_array_equal(out[data], plain[data])  # the noise the data get without the blanks
    assert 8 < np.std(out[data] - clean[data]) < 12


def test_train_on_a_mosaic_with_blank_pixels(tmp_path, capsys):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(10)
    (tmp_path / "data").mkdir()
    for j in range(2):
        img = (100 + rng.normal(0, 15, (48, 56))).astype(np.float32)
        img[:, :20] = np.nan
        fits.PrimaryHDU(img).writeto(tmp_path / "data" / f"{j}.fits")
    args = ["train", "--method", "noise2void", "--data", str(tmp_path / "data"), "--steps", "3",
            "--set", "data.patch_size=16", "--set", "data.batch_size=2", "--out", str(tmp_path / "m.safetensors")]
    code, _, err = _run(capsys, *args)
    assert code == 1 and "NaN" in _one_error_line(err) and not (tmp_path / "m.safetensors").exists(), err
    code, out, err = _run(capsys, *args, "--blanks")
    assert code == 0 and (tmp_path / "m.safetensors").exists(), err


def test_denoise_keeps_a_photos_colour_profile_and_exif_upright(tmp_path, capsys):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "TestCam", 8  # turned 90 degrees: read upright as 40 x 24
    src = tmp_path / "photo.jpg"
    pixels = np.random.default_rng(0).normal(128, 20, (24, 40, 3))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(src, quality=95, icc_profile=icc,
                                                                   exif=exif.tobytes())
    out = tmp_path / "clean.jpg"
    code, _, _ = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=20",
                      "--out", str(out))
    assert code == 0
    with Image.open(out) as written:
        assert written.size == (24, 40)  # upright, and its EXIF does not turn it again
        assert written.info["icc_profile"] == icc
        assert written.getexif()[0x010F] == "TestCam" and written.getexif()[0x0112] == 1
    code, _, _ = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=20",
                      "--out", str(tmp_path / "shared.jpg"), "--strip-exif")
    assert code == 0
    with Image.open(tmp_path / "shared.jpg") as written:  # no camera, date or place; the colours as they were
        assert "exif" not in written.info and written.info["icc_profile"] == icc and written.size == (24, 40)


def test_info_says_when_an_image_went_through_jpeg(tmp_path, capsys):
    """noise2x info: a noisy JPEG (the noise compressed with it) gets a line naming JPEG's blocks and that such
    noise reads weak (the no-option call: the general model); the same noisy image as a PNG: no such line; cropped
    by 3 and 5 pixels, the grid moves; weak noise added after compression is named as such."""
    from PIL import Image

    from conftest import textured_image

    noisy = np.clip(np.round(textured_image(seed=0) + np.random.default_rng(0).normal(0, 10, (192, 192))), 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(tmp_path / "n.jpg", quality=75)
    code, out, _ = _run(capsys, "info", str(tmp_path / "n.jpg"))
    assert code == 0 and "JPEG compression: seen (8x8 blocks from row 0, column 0; excess 0." in out, out
    assert "as its decoder left it, coarsely quantised: noise compressed with the image reads weaker than it is" in out
    assert "denoise with no options: gray-gaussian: " in out, out
    cropped = np.asarray(Image.open(tmp_path / "n.jpg"))[3:, 5:]
    Image.fromarray(cropped).save(tmp_path / "c.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "c.png"))
    assert code == 0 and "JPEG compression: seen (8x8 blocks from row 5, column 3;" in out, out
    after = np.clip(np.round(cropped + np.random.default_rng(1).normal(0, 1, cropped.shape)), 0, 255)
    Image.fromarray(after.astype(np.uint8)).save(tmp_path / "a.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "a.png"))
    assert code == 0 and "row 5, column 3;" in out and "with noise added after compression" in out, out
    assert "denoise with no options: bm3d: " in out, out
    Image.fromarray(noisy.astype(np.uint8)).save(tmp_path / "q.jpg", quality=97)  # near-lossless: keeps the noise
    code, out, _ = _run(capsys, "info", str(tmp_path / "q.jpg"))
    assert code == 0 and "as its decoder left it, finely quantised" in out, out
    Image.fromarray(noisy.astype(np.uint8)).save(tmp_path / "n.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "n.png"))
    assert code == 0 and "JPEG" not in out, out
    # bright and much clipped: the grid is found, but too few blocks on it are free of clipping to read more
    bright = np.clip(np.round(0.3 * textured_image(seed=0) + 200 + np.random.default_rng(0).normal(0, 25, noisy.shape)),
                     0, 255)
    Image.fromarray(bright.astype(np.uint8)).save(tmp_path / "b.jpg", quality=75)
    code, out, _ = _run(capsys, "info", str(tmp_path / "b.jpg"))
    assert code == 0 and "row 0, column 0; excess 0." in out and "too few unclipped blocks to tell how" in out, out


def test_info_reads_jpeg_signs_on_the_opaque_pixels_only(tmp_path, capsys):
    """noise2x info's JPEG line leaves out transparent pixels, as the no-option call does: a noisy JPEG beside a
    transparent strip of noise never compressed reads as the JPEG it is (coarsely quantised; the route takes the
    general model), where the same pixels all opaque read as finely quantised."""
    from PIL import Image

    from conftest import textured_image

    noisy = np.clip(np.round(textured_image(seed=0) + np.random.default_rng(0).normal(0, 10, (192, 192))), 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(tmp_path / "n.jpg", quality=75)
    decoded = np.asarray(Image.open(tmp_path / "n.jpg")).astype(np.float64)
    strip = np.clip(np.round(128 + np.random.default_rng(2).normal(0, 30, (192, 48))), 0, 255)
    both = np.concatenate([decoded, strip], axis=1).astype(np.uint8)
    alpha = np.full(both.shape, 255, np.uint8)
    alpha[:, 192:] = 0
    Image.fromarray(np.stack([both, alpha], -1), "LA").save(tmp_path / "cut.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "cut.png"))
    assert code == 0 and "transparent pixels: 9216" in out, out
    assert "alpha channel (the file marks its last channel so): kept as it is, not denoised" in out
    assert "excess 0.86; rounding spread 0.09; fine steps 0.0000), as its decoder left it, coarsely quantised" in out
    assert "denoise with no options: gray-gaussian: " in out, out
    Image.fromarray(both).save(tmp_path / "opaque.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "opaque.png"))
    assert code == 0 and "as its decoder left it, finely quantised" in out, out
    assert "alpha channel" not in out
    Image.fromarray(np.stack([both, np.full(both.shape, 255, np.uint8)], -1), "LA").save(tmp_path / "full.png")
    code, out, _ = _run(capsys, "info", str(tmp_path / "full.png"))  # (all opaque: said too; a 4th band of data
    assert code == 0 and "alpha channel (the file marks" in out and "transparent" not in out  # stored so, a QA pass)


def test_info_shows_the_correlated_reading_and_its_growth(tmp_path, capsys):
    """noise2x info's noise line gives the correlated reading's sigma and, where the spectrum route read it, its
    growth from the flattest pixels to the rest (the test that tells image texture from noise)."""
    from noise2x.noise import correlated

    yy, xx = np.mgrid[0:180, 0:190]
    big = 128 + 60 * np.sin(xx / 25.0) * np.cos(yy / 35.0)
    src = _png(tmp_path / "c.png", correlated(big, sigma=20.0, beta=1.0, rng=0))
    code, out, _ = _run(capsys, "info", str(src))
    line = next(x for x in out.splitlines() if x.startswith("noise: "))
    growth = re.search(r"correlation growth ([\d.]+)", line)
    assert code == 0 and re.search(r"correlated sigma (19|2\d)\.", line) and growth, out
    assert 0.9 < float(growth.group(1)) < 1.15 and "BM3D given the noise's power spectrum" in out, out
    assert re.search(r"beta along rows 0\.9\d*|beta along rows 1\b", line) and "correlated along" not in line, line
    # noise correlated along one axis: its reading along each, the axis, and BM3D given the spectrum along it
    from noise2x.noise import correlated_columns

    src = _png(tmp_path / "v.png", correlated_columns(big, sigma=20.0, beta=1.0, rng=0))
    code, out, _ = _run(capsys, "info", str(src))
    line = next(x for x in out.splitlines() if x.startswith("noise: "))
    along = re.search(r"beta along rows ([\d.]+), beta along columns ([\d.]+), correlated along columns", line)
    assert code == 0 and along and float(along.group(1)) < 0.3 < 0.9 < float(along.group(2)), line
    assert "spatially correlated noise along columns" in out and "BM3D given the noise's power spectrum" in out


def test_info_gives_the_correlated_reading_in_the_images_own_units(tmp_path, capsys, monkeypatch):
    """A 16-bit image's correlated reading in its own units, as --noise correlated: takes it (the white part alone
    was given as what --noise takes: copied, a film's grain came back unchanged, a film-scan QA pass); none for a
    white reading."""
    import tifffile

    from noise2x.noise import correlated

    yy, xx = np.mgrid[0:180, 0:190]
    big = 128 + 60 * np.sin(xx / 25.0) * np.cos(yy / 35.0)
    tifffile.imwrite(tmp_path / "c.tif", np.round(correlated(big, sigma=20.0, beta=1.0, rng=0) * 257).astype(np.uint16))
    code, out, _ = _run(capsys, "info", str(tmp_path / "c.tif"))
    read = re.search(r"read as correlated noise, in the image's own units: sigma ([\d.]+), beta ([\d.]+) \(where it "
                     r"is noise, what --method bm3d --noise correlated:sigma=\1,beta=\2 takes; sigma above: its white "
                     r"part\)", out)
    assert code == 0 and read and 19 * 257 < float(read.group(1)) < 30 * 257 and float(read.group(2)) > 0.9, out
    white = re.search(r"noise in the image's own units \(what --noise gaussian:sigma= takes\): sigma ([\d.]+)", out)
    assert white and float(white.group(1)) < 0.5 * float(read.group(1)), out
    tifffile.imwrite(tmp_path / "w.tif", np.round(np.clip(big + np.random.default_rng(0).normal(0, 10, big.shape), 0,
                                                          255) * 257).astype(np.uint16))
    code, out, _ = _run(capsys, "info", str(tmp_path / "w.tif"))
    assert code == 0 and "noise in the image's own units" in out and "read as correlated noise" not in out, out
    # noise correlated along one axis: its spec is that axis's (the both-axes one lost 7.6 dB, a re-check)
    from noise2x.noise import correlated_rows

    tifffile.imwrite(tmp_path / "r.tif", np.round(correlated_rows(big, sigma=20.0, beta=1.0, rng=0) * 257
                                                  ).astype(np.uint16))
    code, out, _ = _run(capsys, "info", str(tmp_path / "r.tif"))
    assert code == 0 and re.search(r"read as correlated noise along rows, in the image's own units: sigma [\d.]+, "
                                   r"beta [\d.]+ \(where it is noise, what --method bm3d --noise correlated_rows:"
                                   r"sigma=", out), out
    from noise2x import pretrained

    monkeypatch.setattr(pretrained, "_bm3d_missing", lambda: "its library cannot load here")  # (no way to name)
    code, out, _ = _run(capsys, "info", str(tmp_path / "r.tif"))
    assert code == 0 and "read as correlated noise along rows" in out and "--method bm3d --noise" not in out, out


def test_a_folders_images_that_went_different_ways_are_said(tmp_path, capsys):
    """Each image of a folder is read on its own: where they went different ways (BM3D given a correlated
    noise's spectrum, BM3D at a white sigma: both 'bm3d' before), the run says which went which way and how to
    treat them alike (a film scan's frames flickered, unsaid, a film-scan QA pass); one way: no note."""
    from noise2x.noise import correlated

    yy, xx = np.mgrid[0:160, 0:160]
    big = 128 + 60 * np.sin(xx / 25.0) * np.cos(yy / 35.0)
    seq = tmp_path / "seq"
    seq.mkdir()
    _png(seq / "f1.png", correlated(big, sigma=20.0, beta=1.0, rng=0))
    _png(seq / "f2.png", big + np.random.default_rng(1).normal(0, 2, big.shape))
    code, _, err = _run(capsys, "denoise", str(seq), "--out", str(tmp_path / "o"))
    assert code == 0 and ("note: the images went different ways (bm3d, correlated: f1.png; bm3d: f2.png), each "
                          "image's noise read on its own") in err, err
    assert "(read), correlated: beta 1.00, " in err and "f2.png (bm3d, sigma " in err, err
    (seq / "f2.png").unlink()
    _png(seq / "f3.png", correlated(big, sigma=20.0, beta=1.0, rng=3))
    code, _, err = _run(capsys, "denoise", str(seq), "--out", str(tmp_path / "p"))
    assert code == 0 and "went different ways" not in err, err


def test_info_names_the_photo_metadata_an_output_keeps(tmp_path, capsys):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "photo.png"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    pixels = np.random.default_rng(0).normal(100, 10, (16, 18, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(src, icc_profile=icc, exif=exif.tobytes(), dpi=(72, 72))
    code, out, _ = _run(capsys, "info", str(src))
    assert code == 0
    assert "kept in outputs: colour profile 'sRGB built-in', EXIF, 72 x 72 dpi" in out.splitlines()
    plain = _png(tmp_path / "plain.png", np.random.default_rng(0).normal(100, 10, (16, 18)))
    code, out, _ = _run(capsys, "info", str(plain))
    assert code == 0 and "kept in outputs" not in out


def test_train_init_fine_tunes_a_shipped_model(tmp_path, capsys):
    rng = np.random.default_rng(11)
    (tmp_path / "data").mkdir()
    for j in range(3):
        _png(tmp_path / "data" / f"{j}.png", 120 + rng.normal(0, 20, (40, 44)))
    out = tmp_path / "tuned.safetensors"
    args = ["train", "--method", "noise2void", "--data", str(tmp_path / "data"), "--steps", "2",
            "--set", "data.patch_size=16", "--set", "data.batch_size=2", "--set", "data.val_images=1",
            "--out", str(out)]
    code, _, err = _run(capsys, *args, "--init", "gray-gaussian-selfsup")
    assert code == 0, err
    code, info, _ = _run(capsys, "info", str(out))
    assert code == 0 and re.search(r"started from:  gray-gaussian-selfsup \(fine-tuned; \S+gray-gaussian-selfsup"
                                   r"\.safetensors, weights sha256 [0-9a-f]{16}\)", info), info
    code, shipped, _ = _run(capsys, "info", "gray-gaussian-selfsup")
    arch = [line for line in shipped.splitlines() if line.startswith("architecture:")]
    assert arch and arch[0] in info.splitlines()  # the shipped model's network, not the preset's
    code, _, err = _run(capsys, *args, "--init", "gray-poisson-nope")
    assert code == 2 and "no such model file or shipped model" in _one_error_line(err)


def test_info_shows_the_file_when_its_noise_cannot_be_read(tmp_path, capsys):
    image = np.full((64, 64), 255.0)  # saturated but for one corner: too few windows to read a noise from
    image[:10, :10] = 90 + np.random.default_rng(0).integers(0, 20, (10, 10))
    src = _png(tmp_path / "saturated.png", image)
    code, out, _ = _run(capsys, "info", str(src))
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("64x64 gray") and lines[1].startswith("values: 90 to 255")
    assert lines[2].startswith("noise: not read: noisy image has too few windows") and "clipped" in lines[2]
    assert lines[3].startswith("noise2x denoise with no options: stops with that error")
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.png"))
    assert code == 1 and "too few windows" in _one_error_line(err) and not (tmp_path / "o.png").exists()


def test_a_tiff_stack_is_read_frame_by_frame(tmp_path, capsys, monkeypatch):
    """A 60-frame 16-bit stack: denoise holds a frame, not the input stack nor the output stack (traced by
    tracemalloc), and writes what reading it whole gives, as the same ImageJ stack; a NaN in a float stack's last
    frame stops it before any frame's work."""
    import tracemalloc

    import tifffile

    from noise2x import api, io

    rng = np.random.default_rng(0)
    stack = (1000 + rng.normal(0, 50, (60, 96, 96))).astype(np.uint16)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, stack, imagej=True, metadata={"axes": "ZYX"})
    peaks, outs = {}, {}
    assert _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=50", "--out",
                str(tmp_path / "warm.tif"))[0] == 0  # (imports and caches: not counted below)
    for mode in ("whole", "frames"):
        if mode == "whole":
            monkeypatch.setattr(io, "_tiff_frames", lambda *a: None)  # as before: the stack read whole
        else:
            monkeypatch.undo()
        dst = tmp_path / f"{mode}.tif"
        tracemalloc.start()
        code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=50",
                            "--out", str(dst))
        peaks[mode] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert code == 0, err
        outs[mode] = tifffile.imread(dst)
    np.testing.assert_array_equal(outs["frames"], outs["whole"])
    print({k: f"{v / 2**20:.1f} MiB" for k, v in peaks.items()}, f"stack in float32: {stack.size * 4 / 2**20:.1f} MiB",
          file=sys.__stderr__)
    # gone: the float32 copy of the input and the uint16 output stack
    assert peaks["frames"] < peaks["whole"] - 0.8 * (stack.size * 4 + stack.nbytes)
    with tifffile.TiffFile(tmp_path / "frames.tif") as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZYX"

    floats = (100 + rng.normal(0, 5, (5, 40, 40))).astype(np.float32)
    floats[4, 3, 3] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", floats, photometric="minisblack")
    calls = []
    real = api.denoise
    monkeypatch.setattr(api, "denoise", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "f.tif"), "--method", "nlm", "--noise", "gaussian:sigma=5",
                        "--out", str(tmp_path / "fo.tif"))
    assert code == 1 and "(frame 5) has 1 NaN/inf value" in _one_error_line(err) and "--blanks" in err
    assert calls == [] and not (tmp_path / "fo.tif").exists()


def test_simulate_on_a_tiff_stack_frame_by_frame(tmp_path, capsys, monkeypatch):
    """simulate reads and writes a TIFF stack a frame at a time: the frames the whole stack gives, its axes kept."""
    import tifffile

    from noise2x import io

    stack = np.random.default_rng(2).integers(100, 200, (2, 3, 20, 24)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", stack, imagej=True, metadata={"axes": "TZYX"})
    written = {}
    opened = []
    real = io.write_frames
    monkeypatch.setattr(io, "write_frames", lambda *a, **k: opened.append(1) or real(*a, **k))
    for name in ("frames", "whole"):
        if name == "whole":
            monkeypatch.setattr(io, "_tiff_frames", lambda *a: None)
        assert _run(capsys, "simulate", "gaussian:sigma=5", str(tmp_path / "s.tif"), str(tmp_path / f"{name}.tif"),
                    "--seed", "3")[0] == 0
        with tifffile.TiffFile(tmp_path / f"{name}.tif") as tif:
            assert tif.series[0].axes == "TZYX"
            written[name] = tif.asarray()
    assert opened == [1]  # the first run went frame by frame, the second read the stack whole
    np.testing.assert_array_equal(written["frames"], written["whole"])
    assert written["frames"].dtype == np.float32 and 4.5 < (written["frames"] - stack).std() < 5.5


def test_a_damaged_tiff_stack_is_refused_not_read_short(tmp_path, capsys):
    """A truncated ImageJ stack: tifffile logs a warning and reads its first page alone; we say it is damaged."""
    import tifffile

    stack = np.random.default_rng(0).normal(1000, 50, (6, 64, 64)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "t.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    data = (tmp_path / "t.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:-3000])
    for argv in (["denoise", str(tmp_path / "cut.tif"), "--method", "nlm", "--noise", "gaussian:sigma=50", "--out",
                  str(tmp_path / "o.tif")], ["info", str(tmp_path / "cut.tif")],
                 ["simulate", "gaussian:sigma=5", str(tmp_path / "cut.tif"), str(tmp_path / "s.tif")]):
        code, _, err = _run(capsys, *argv)
        assert code == 1, (argv, err)
        assert "cut.tif: the TIFF is damaged (invalid page offset" in _one_error_line(err)
        assert len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.tif", "t.tif"]
    assert _run(capsys, "info", str(tmp_path / "t.tif"))[0] == 0  # the whole file reads


def test_a_fits_cube_is_read_plane_by_plane(tmp_path, capsys, monkeypatch):
    """A FITS cube's planes are read one at a time: to .fits (written whole) and to .tif (written plane by plane)
    the same values as reading it whole; a BLANK value (NaN) without --blanks stops it before any plane's work."""
    fits = pytest.importorskip("astropy.io.fits")
    import tifffile

    from noise2x import api, io

    rng = np.random.default_rng(5)
    cube = (1000 + rng.normal(0, 50, (4, 40, 44))).astype(np.int16)
    hdu = fits.PrimaryHDU(cube)
    hdu.header["OBJECT"] = "NGC 1"
    hdu.writeto(tmp_path / "c.fits")
    args = ["--method", "nlm", "--noise", "gaussian:sigma=50"]
    out = {}
    streamed = []
    real_write = io.write_frames
    monkeypatch.setattr(io, "write_frames", lambda *a, **k: streamed.append(a[0]) or real_write(*a, **k))
    for mode in ("planes", "whole"):
        if mode == "whole":
            assert [p.name for p in streamed] == ["planes.fits", "planes.tif"]  # written plane by plane too
            monkeypatch.setattr(io, "_fits_frames", lambda *a: None)
        for suffix in (".fits", ".tif"):
            dst = tmp_path / f"{mode}{suffix}"
            code, _, err = _run(capsys, "denoise", str(tmp_path / "c.fits"), *args, "--out", str(dst))
            assert code == 0, err
            out[mode + suffix] = fits.getdata(dst) if suffix == ".fits" else tifffile.imread(dst)
    monkeypatch.undo()
    for suffix in (".fits", ".tif"):
        np.testing.assert_array_equal(out["planes" + suffix], out["whole" + suffix])
    assert fits.getheader(tmp_path / "planes.fits")["OBJECT"] == "NGC 1"

    # 16-bit unsigned counts (BZERO 32768) whose BLANK value marks a pixel with no data: an integer file, whose
    # planes are checked before the work all the same
    counts = cube.astype(np.uint16)
    counts[3, 5, 5] = 0  # stored as -32768, the BLANK value
    hdu = fits.PrimaryHDU(counts)
    hdu.header["BLANK"] = -32768
    hdu.writeto(tmp_path / "b.fits")
    assert io.image_kind(tmp_path / "b.fits") == "uint16"
    calls = []
    real = api.denoise
    monkeypatch.setattr(api, "denoise", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "b.fits"), *args, "--out", str(tmp_path / "b.tif"))
    assert code == 1 and "(frame 4) has 1 pixel (of 1760) of its BLANK value -32768" in _one_error_line(err), err
    assert calls == [] and not (tmp_path / "b.tif").exists()
    code, _, err = _run(capsys, "denoise", str(tmp_path / "b.fits"), *args, "--blanks", "--out",
                        str(tmp_path / "b.fits.out.fits"))
    assert code == 0 and "1 blank pixels kept blank" in err, err


def test_info_reads_a_stack_frame_by_frame(tmp_path, capsys, monkeypatch):
    import tifffile

    from noise2x import io

    stack = (100 + np.random.default_rng(1).normal(0, 10, (5, 40, 40))).astype(np.float32)
    stack[0] = np.nan  # the first frame holds no data: the noise is read on the second
    stack[2, :3, :4] = np.nan
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")

    def refused(*a, **k):
        raise AssertionError("the stack read whole")

    monkeypatch.setattr(io, "read_stack_with_alpha", refused)
    code, out, err = _run(capsys, "info", str(tmp_path / "s.tif"))
    assert code == 0, err
    assert "frames: 5, axes QYX, each denoised on its own" in out
    assert f"blank (NaN) pixels: {40 * 40 + 12} of {5 * 40 * 40} (denoise with --blanks)" in out
    assert "noise (frame 2): " in out


def test_a_truncated_fits_cube_is_refused_in_one_line(tmp_path, capsys):
    fits = pytest.importorskip("astropy.io.fits")
    fits.PrimaryHDU(np.zeros((6, 64, 64), np.int16)).writeto(tmp_path / "c.fits")
    data = (tmp_path / "c.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[:-20000])
    for argv in (["info", str(tmp_path / "cut.fits")],
                 ["denoise", str(tmp_path / "cut.fits"), "--method", "nlm", "--noise", "gaussian:sigma=5", "--out",
                  str(tmp_path / "o.tif")]):
        code, _, err = _run(capsys, *argv)
        assert code == 1 and "cut.fits: a damaged FITS file (File may have been truncated" in _one_error_line(err), err
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.tif").exists()


def test_simulate_on_a_fits_cube_to_plain_fits_frame_by_frame(tmp_path, capsys, monkeypatch):
    """simulate streams a FITS cube to a plain .fits file too: the values and header cards the whole cube gives."""
    from astropy.io import fits

    from noise2x import io

    cube = np.random.default_rng(4).integers(100, 900, (3, 20, 24)).astype(np.int16)
    hdu = fits.PrimaryHDU(cube)
    hdu.header["OBJECT"] = "M31"
    hdu.writeto(tmp_path / "c.fits")
    opened = []
    real = io.write_frames
    monkeypatch.setattr(io, "write_frames", lambda *a, **k: opened.append(1) or real(*a, **k))
    assert _run(capsys, "simulate", "gaussian:sigma=5", str(tmp_path / "c.fits"), str(tmp_path / "frames.fits"),
                "--seed", "3")[0] == 0
    assert opened == [1]
    monkeypatch.setattr(io, "write_frames", lambda *a, **k: pytest.fail("streamed"))
    # the whole cube: as before, through write_image (a .fits.gz output is written whole)
    assert _run(capsys, "simulate", "gaussian:sigma=5", str(tmp_path / "c.fits"), str(tmp_path / "whole.fits.gz"),
                "--seed", "3")[0] == 0
    with fits.open(tmp_path / "frames.fits") as a, fits.open(tmp_path / "whole.fits.gz") as b:
        np.testing.assert_array_equal(a[0].data, b[0].data)
        assert a[0].header["OBJECT"] == "M31" and a[0].data.dtype == np.dtype(">f4")
        assert 4.5 < (a[0].data - cube).std() < 5.5


def test_tifffile_warnings_are_prefixed_lines(tmp_path, capsys):
    """tifffile logs its own warnings on a damaged TIFF; the CLI prints them as its own lines (prefixed), the
    error last, not as bare "<tifffile.TiffFile ...>" lines."""
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00\x08\x00\x00\x00\x00\x00")
    code, _, err = _run(capsys, "denoise", str(bad), "--method", "nlm", "--out", str(tmp_path / "o.png"))
    lines = err.strip().splitlines()
    assert code == 1 and lines[-1].startswith("noise2x: error: ") and "bad.tif" in lines[-1]
    assert any(line.startswith("noise2x: warning: tifffile: ") for line in lines), lines
    assert all(line.startswith("noise2x: ") for line in lines), lines
    assert not (tmp_path / "o.png").exists()


def test_info_on_a_file_that_is_neither_image_nor_model(tmp_path, capsys, gray_image):
    """`info x.gif` said "not a readable model file": the file is named as neither kind noise2x reads."""
    from PIL import Image

    Image.fromarray(gray_image.astype(np.uint8)).save(tmp_path / "x.gif")
    code, _, err = _run(capsys, "info", str(tmp_path / "x.gif"))  # (a known format it does not read: what to do)
    assert code == 1 and _one_error_line(err).endswith("x.gif: .gif files are not read: convert it to PNG or TIFF "
                                                       "first (a 16-bit or float32 TIFF for deeper data, a TIFF stack "
                                                       "for a volume)"), err
    (tmp_path / "x.xyz").write_bytes(b"something")
    code, _, err = _run(capsys, "info", str(tmp_path / "x.xyz"))
    assert code == 1
    line = _one_error_line(err)
    assert "x.xyz is neither an image file noise2x reads (PNG, JPEG" in line
    assert "nor a model file (.safetensors)" in line
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")  # a model file's own error stays
    err = _run(capsys, "info", str(tmp_path / "bad.safetensors"))[2]
    assert "bad.safetensors is not a readable model file" in _one_error_line(err)


def test_info_names_a_tiffs_lossless_compression(tmp_path, capsys):
    import tifffile

    tifffile.imwrite(tmp_path / "z.tif", np.full((24, 20), 9, np.uint16), compression="zstd")
    tifffile.imwrite(tmp_path / "u.tif", np.full((24, 20), 9, np.uint16))
    code, out, _ = _run(capsys, "info", str(tmp_path / "z.tif"))
    assert code == 0 and out.splitlines()[0].endswith("20x24 gray, ZSTD-compressed (kept in TIFF outputs)")
    assert _run(capsys, "info", str(tmp_path / "u.tif"))[1].splitlines()[0].endswith("20x24 gray")


def test_sixteen_bit_inputs_to_eight_bit_files_are_scaled_not_clipped_white(tmp_path, capsys, gray_image):
    """A 16-bit PNG (or TIFF, or a 10-bit HEIF/AVIF read in 16-bit units) denoised or given noise into a JPEG,
    WebP or other 8-bit file came out white: its values were clipped at 255. They are scaled by 1/257; an
    output that holds 16 bits (PNG, TIFF) keeps them, and alpha is scaled with the image."""
    from noise2x.io import image_kind, read_image, read_stack_with_alpha, write_image

    sixteen = np.clip(gray_image * 200.0, 0, 65535)
    write_image(tmp_path / "g16.png", sixteen, kind="uint16")
    rgb = np.stack([sixteen, sixteen * 0.8, sixteen * 0.5], -1)
    opacity = np.tile(np.linspace(0, 65535, rgb.shape[1]), (rgb.shape[0], 1))
    write_image(tmp_path / "c16.png", rgb, kind="uint16", alpha=opacity)
    for argv, out in ((["denoise", str(tmp_path / "g16.png"), "--method", "nlm", "--out"], "d.jpg"),
                      (["simulate", "gaussian:sigma=100", str(tmp_path / "g16.png")], "s.jpg"),
                      (["simulate", "gaussian:sigma=100", str(tmp_path / "g16.png")], "s.png")):
        code, _, err = _run(capsys, *argv, str(tmp_path / out))
        assert code == 0 and "clipped" not in err, err
        back = read_image(tmp_path / out)
        if out.endswith(".png"):
            assert image_kind(tmp_path / out) == "uint16" and abs(back.mean() - sixteen.mean()) < 30
        else:
            assert image_kind(tmp_path / out) == "uint8" and abs(back.mean() - sixteen.mean() / 257) < 1.5, out
    code, _, err = _run(capsys, "denoise", str(tmp_path / "c16.png"), "--method", "nlm", "--out",
                        str(tmp_path / "c.webp"))
    assert code == 0 and "clipped" not in err, err
    image, alpha = read_stack_with_alpha(tmp_path / "c.webp")
    assert abs(image[0].mean() - rgb.mean() / 257) < 1.5
    np.testing.assert_allclose(alpha[0], np.round(opacity / 257), atol=1)


def test_info_says_a_tiffs_thumbnail_is_left_out(tmp_path, capsys):
    import tifffile

    stack = np.full((4, 24, 20), 9, np.uint8)
    with tifffile.TiffWriter(tmp_path / "t.tif") as w:
        w.write(stack, photometric="minisblack")
        w.write(stack[0, ::4, ::4], subfiletype=1)
    code, out, _ = _run(capsys, "info", str(tmp_path / "t.tif"))
    assert code == 0 and "left out: 1 reduced-resolution copy of the image (a thumbnail) stored beside it" in out
    assert "frames: 4, axes QYX, each denoised on its own" in out
    tifffile.imwrite(tmp_path / "u.tif", stack[0])
    assert "left out" not in _run(capsys, "info", str(tmp_path / "u.tif"))[1]
    with tifffile.TiffWriter(tmp_path / "pyramid.ome.tif") as w:  # (a pyramid: its levels as SubIFDs, a format
        w.write(stack[0], subifds=2, tile=(16, 16), metadata={"axes": "YX"})  # QA pass found them lost unsaid)
        w.write(stack[0, ::2, ::2], subfiletype=1)
        w.write(stack[0, ::4, ::4], subfiletype=1)
    code, out, _ = _run(capsys, "info", str(tmp_path / "pyramid.ome.tif"))  # (made again in TIFF outputs: a
    assert code == 0 and ("pyramid: 2 reduced-resolution levels, made again from the denoised image in TIFF "  # whole-
                          "outputs") in out and "left out" not in out  # slide QA pass)
    with tifffile.TiffWriter(tmp_path / "levels.ome.tif") as w:  # (a stack's: not made again)
        w.write(stack[:2], subifds=1, tile=(16, 16), metadata={"axes": "CYX"})
        w.write(stack[:2, ::2, ::2], subfiletype=1)
    code, out, _ = _run(capsys, "info", str(tmp_path / "levels.ome.tif"))
    assert code == 0 and ("left out: its pyramid's 1 reduced-resolution level (outputs hold the full resolution "
                          "only; a stack's levels are not made again)") in out, out


def test_info_says_how_a_cmyk_jpeg_a_palette_and_few_bits_are_read(tmp_path, capsys):
    """info said how a CMYK TIFF is converted, not a CMYK JPEG, a palette PNG or 1-bit and 2-bit images, whose
    outputs change colour mode too (a format QA pass)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.quantize(16).save(tmp_path / "pal.png", bits=4)
    rgb.convert("1").save(tmp_path / "bw.bmp")
    rgb.convert("L").save(tmp_path / "two.png", bits=2)
    rgb.save(tmp_path / "rgb.png")
    for name, said in (("cmyk.jpg", "stored as CMYK inks: read as RGB (1 - C)(1 - K)"),
                       ("pal.png", "stored as a palette's indices: read as its colours (RGB); outputs hold the "
                                   "colours"),
                       ("bw.bmp", "stored with 1 bit a pixel: read as 0 and 255; outputs are 8-bit gray"),
                       ("two.png", "stored with 2 bits a pixel: read scaled to 0..255; outputs are 8-bit gray"),
                       ("rgb.png", None)):
        code, out, _ = _run(capsys, "info", str(tmp_path / name))
        assert code == 0 and (out.splitlines()[1].startswith(said) if said else "stored" not in out), (name, out)


def test_a_tiffs_predictor_is_kept_with_its_compression(tmp_path, capsys):
    """A TIFF output kept its input's lossless compression, not its predictor (the differences it compresses,
    which shrink a smooth denoised image further; a format QA pass)."""
    import tifffile

    rng = np.random.default_rng(0)
    gray = np.clip(rng.normal(30000, 2000, (40, 36)), 0, 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "int.tif", gray, compression="zlib", predictor=True)
    tifffile.imwrite(tmp_path / "float.tif", gray.astype(np.float32), compression="zlib", predictor=True)
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([gray, gray]), compression="lzw", predictor=True)
    tifffile.imwrite(tmp_path / "plain.tif", gray, compression="zlib")
    for name, predictor in (("int", 2), ("float", 3), ("stack", 2), ("plain", 1)):
        assert main(["denoise", str(tmp_path / f"{name}.tif"), "--method", "nlm", "--out",
                     str(tmp_path / f"o_{name}.tif"), "-q"]) == 0
        with tifffile.TiffFile(tmp_path / f"o_{name}.tif") as tif:
            assert int(tif.pages[0].predictor) == predictor and int(tif.pages[0].compression) != 1, name


def test_pages_of_different_sizes_are_denoised_each_on_its_own(tmp_path, capsys):
    """A multi-page TIFF of different page sizes (a document's letter and legal pages; refused, its sizes sorted,
    by denoise and info: a document scans QA pass): each page denoised alone, as it would be as its own file, and
    written back as a page, in order, with the dpi and compression; info reads page 1 and lists the sizes; a PNG
    output is refused before any work; read_stack's error names the pages in order."""
    import tifffile

    from noise2x import io
    from noise2x.errors import InputError

    rng = np.random.default_rng(0)
    shapes = ((48, 40), (30, 36), (48, 40), (26, 44))
    pages = [np.clip(rng.normal(120, 30, s), 0, 255).astype(np.uint8) for s in shapes]
    src = tmp_path / "doc.tif"
    with tifffile.TiffWriter(src) as tif:
        for page in pages:
            tif.write(page, photometric="minisblack", resolution=(300, 300), resolutionunit=2, compression="lzw",
                      metadata=None)
    for n, page in enumerate(pages):
        tifffile.imwrite(tmp_path / f"p{n}.tif", page, photometric="minisblack")
    run = ["--method", "nlm", "--noise", "gaussian:sigma=20", "-q"]
    assert main(["denoise", str(src), "--out", str(tmp_path / "out.tif"), *run]) == 0
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert [p.shape for p in tif.pages] == list(shapes)
        assert all(p.resolution == (300, 300) and p.compression.name == "LZW" for p in tif.pages)
        got = [p.asarray() for p in tif.pages]
    assert main(["denoise", str(src), "--out", str(tmp_path / "out.ome.tif"), *run]) == 0  # (an OME-TIFF, as named)
    with tifffile.TiffFile(tmp_path / "out.ome.tif") as tif:
        assert tif.is_ome and [s.shape for s in tif.series] == list(shapes)
    for n in range(len(pages)):
        assert main(["denoise", str(tmp_path / f"p{n}.tif"), "--out", str(tmp_path / f"o{n}.tif"), *run]) == 0
        np.testing.assert_array_equal(got[n], tifffile.imread(tmp_path / f"o{n}.tif"))
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "said.tif"))  # (with no options)
    assert code == 0 and "doc.tif: 4 pages of different sizes or colours, each denoised on its own" in err, err
    assert re.search(r"\(first at page 1\)", err) and " frame" not in err, err
    code, out, _ = _run(capsys, "info", str(src))
    assert code == 0 and out.splitlines()[0].endswith("40x48 gray, LZW-compressed (kept in TIFF outputs)"), out
    assert "pages: 4 of different sizes or colours (page 1 40x48, page 2 36x30, page 3 40x48, page 4 44x26)" in out
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "out.png"))
    said = _one_error_line(err)
    assert code == 2 and "holds pages of different sizes or colours, which only a TIFF output holds" in said
    assert not (tmp_path / "out.png").exists()
    with pytest.raises(InputError, match=r"\(page 1 40x48, page 2 36x30, page 3 40x48, page 4 44x26\); cannot make"):
        io.read_stack(src)
    assert [p.shape for p in io.read_pages(src)] == list(shapes)
    with io.open_pages(src) as opened:  # (one page at a time: a fax of fine and standard pages was read whole)
        assert opened.shapes == list(shapes) and len(opened) == 4
        np.testing.assert_array_equal(opened[3], pages[3])


def test_readme_command_lines_parse():
    """Every `noise2x ...` line of the README's code blocks is a valid command line (no option renamed or dropped
    from under the docs, none left out that the command requires)."""
    import shlex

    from noise2x.cli import build_parser

    readme = Path(__file__).resolve().parents[1] / "README.md"
    lines = [line.strip() for block in re.findall(r"```[a-z]*\n(.*?)```", readme.read_text(), re.S)
             for line in block.splitlines() if line.strip().startswith("noise2x ")]
    assert len(lines) >= 10
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line.split("  #")[0].replace("$SLURM_ARRAY_TASK_ID", "3"))[1:]
        parser.parse_args(argv)  # raises UsageError naming the problem


def test_bm3d_given_a_correlated_noise_says_so_and_checks_beta(tmp_path, capsys, gray_image):
    """--method bm3d with a correlated noise spec (or sigma and beta, the sigma given or declared) filters it through
    its spectrum, and the progress line says so; a beta out of 0..1, or without a sigma, is one error line."""
    from noise2x.noise import correlated

    src = _png(tmp_path / "n.png", correlated(gray_image, sigma=20.0, beta=1.0, rng=0))
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", "correlated:sigma=20,beta=1",
                        "--out", str(tmp_path / "a.png"))
    assert code == 0 and "correlated: beta 1.00" in err and (tmp_path / "a.png").is_file(), err
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--set", "sigma=20", "--set", "beta=0.7",
                        "--out", str(tmp_path / "b.png"))
    assert code == 0 and "correlated: beta 0.70" in err, err
    yy, xx = np.mgrid[0:180, 0:190]  # (room for the reading)
    big = 128 + 60 * np.sin(xx / 25.0) * np.cos(yy / 35.0)
    src = _png(tmp_path / "big.png", correlated(big, sigma=20.0, beta=1.0, rng=0))
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--set", "beta=auto",
                        "--out", str(tmp_path / "d.png"))
    assert code == 0 and re.search(r"sigma [\d.]+ \(estimated\), correlated: beta (0\.9\d|1\.00) \(estimated\)", err), err
    from noise2x.noise import correlated_rows  # (line noise: the axis said)

    src_rows = _png(tmp_path / "rows.png", correlated_rows(big, sigma=20.0, beta=1.0, rng=0))
    code, _, err = _run(capsys, "denoise", str(src_rows), "--method", "bm3d", "--set", "beta=auto",
                        "--out", str(tmp_path / "r.png"))
    assert code == 0 and re.search(r"\(estimated\), correlated along rows: beta (0\.9\d|1\.00) \(estimated\)", err), err
    src = _png(tmp_path / "white.png", big + 20.0 * np.random.default_rng(1).standard_normal(big.shape))
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--set", "beta=auto",
                        "--out", str(tmp_path / "e.png"))
    assert code == 0 and re.search(r"\(estimated\), read as white noise \(beta 0\.[0-3]\d\)", err), err
    half = _png(tmp_path / "half.png", correlated(big, sigma=20.0, beta=0.6, rng=0))  # no options: the reason
    code, _, err = _run(capsys, "denoise", str(half), "--out", str(tmp_path / "f.png"))  # says the reading (the
    assert code == 0 and "spatially correlated" in err and "read as white noise" not in err, err  # summary: white)
    # beta with a declared noise of one level: its sigma (a correlated one's marginal sigma), the option's beta
    for noise in ("gaussian:sigma=20", "correlated:sigma=20,beta=1"):
        code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", noise, "--set", "beta=0.5",
                            "--out", str(tmp_path / "f.png"))
        assert code == 0 and "sigma 20.00 (noise spec), correlated: beta 0.50" in err, (noise, err)
    for extra, says in ((["--set", "sigma=20", "--set", "beta=2"], "beta must lie in 0..1"),
                        (["--set", "beta=0.5"], "needs sigma too (--set sigma=S, or a --noise of one Gaussian level)"),
                        (["--noise", "poisson:peak=10", "--set", "beta=0.5"], "needs sigma too"),
                        (["--noise", "gaussian:sigma=5..10", "--set", "beta=0.5"], "needs sigma too")):
        code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", *extra, "--out", str(tmp_path / "c.png"))
        assert code == 2 and says in _one_error_line(err) and not (tmp_path / "c.png").exists()


def test_float_data_in_the_unit_range_to_an_integer_file_is_refused_before_the_work(tmp_path, capsys, gray_image):
    """A float TIFF in [0, 1] denoised (or given noise) into a PNG: its values would all become 0 and 1 (it was
    written so, with a warning, and exit 0); refused in one line, nothing written. A TIFF output takes it."""
    tifffile = pytest.importorskip("tifffile")
    src = tmp_path / "f.tif"
    tifffile.imwrite(src, (np.clip(gray_image, 0, 255) / 255.0).astype(np.float32))
    for argv in (["denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=0.05", "--out",
                  str(tmp_path / "o.png")],
                 ["simulate", "gaussian:sigma=0.02", str(src), str(tmp_path / "s.png")]):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and "would become 0 and 1" in _one_error_line(err) and not Path(argv[-1]).exists()
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=0.05", "--out",
                        str(tmp_path / "o.tif"))
    assert code == 0 and (tmp_path / "o.tif").is_file(), err
    # float (or int32) counts in 16-bit units: they came out all white (every value clipped), exit 0 (a dtype QA pass)
    counts = (np.clip(gray_image, 0, 255) - gray_image.min()) * 257.0  # (0 and up: few values within 0..255)
    for name, data in (("f16.tif", counts.astype(np.float32)), ("i32.tif", counts.astype(np.int32) - 30000),
                       ("high.tif", (np.clip(gray_image, 0, 255) * 257.0 + 5000).astype(np.float32))):
        tifffile.imwrite(tmp_path / name, data)
        for argv in (["denoise", str(tmp_path / name), "--method", "nlm", "--out", str(tmp_path / "w.png")],
                     ["simulate", "gaussian:sigma=500", str(tmp_path / name), str(tmp_path / "w.jpg")]):
            code, _, err = _run(capsys, *argv)
            assert code == 2 and "most beyond the 0..255 a" in _one_error_line(err) and "write " in err
            assert not Path(argv[-1]).exists()
    noisy = tmp_path / "noisy.tif"  # float data in 8-bit units with noise past 0 and 255: taken
    tifffile.imwrite(noisy, (gray_image + 40 * np.random.default_rng(0).standard_normal(gray_image.shape)).astype(
        np.float32))
    code, _, err = _run(capsys, "denoise", str(noisy), "--method", "nlm", "--out", str(tmp_path / "n.png"))
    assert code == 0 and (tmp_path / "n.png").is_file(), err
    # a few photons (most values 0, the others 255 each or more) or a few hot pixels: taken (a re-check)
    rng = np.random.default_rng(1)
    photons = (rng.poisson(np.clip(gray_image, 0, 255) / 255.0) * 255.0).astype(np.float32)
    hot = np.clip(gray_image, 0, 255).astype(np.float32)
    hot.flat[rng.choice(hot.size, hot.size // 60, replace=False)] = 4000.0
    for name, data in (("photons.tif", photons), ("hot.tif", hot)):
        tifffile.imwrite(tmp_path / name, data)
        code, _, err = _run(capsys, "denoise", str(tmp_path / name), "--method", "nlm", "--noise",
                            "gaussian:sigma=20", "--out", str(tmp_path / f"{name}.png"))
        assert code == 0 and (tmp_path / f"{name}.png").is_file(), err


def test_simulate_says_where_a_poisson_peak_meets_other_units(tmp_path, capsys, gray_image):
    """poisson:peak=P counts P photons at 255; on a 16-bit or [0, 1] image that is not what a reader of the spec
    expects (16 times weaker noise on the 16-bit copy): one note line says so and how to give the full scale."""
    tifffile = pytest.importorskip("tifffile")
    sixteen = tmp_path / "s.tif"
    tifffile.imwrite(sixteen, (np.clip(gray_image, 0, 255) * 257).astype(np.uint16))
    code, _, err = _run(capsys, "simulate", "poisson:peak=30", str(sixteen), str(tmp_path / "o.tif"))
    assert code == 0 and err.count("note: poisson peak counts photons at the value 255") == 1, err
    assert "poisson:peak=30,data_range=65535" in err
    code, _, err = _run(capsys, "simulate", "poisson:peak=30,data_range=65535", str(sixteen), str(tmp_path / "p.tif"))
    assert code == 0 and "note:" not in err
    code, _, err = _run(capsys, "simulate", "poisson:peak=30", str(_png(tmp_path / "g.png", gray_image)),
                        str(tmp_path / "q.tif"))
    assert code == 0 and "note:" not in err


def test_a_device_no_machine_has_is_refused_before_any_work(tmp_path, capsys, gray_image):
    """--device gpu was refused only after the noise was read and a route said; with a direct method, --device
    bogus was said to 'apply to models'. A name that is no device is now the first and only line."""
    src = _png(tmp_path / "c.png", gray_image)
    for extra in ([], ["--method", "nlm"]):
        code, _, err = _run(capsys, "denoise", str(src), "--device", "gpu", *extra, "--out", str(tmp_path / "o.png"))
        assert code == 2 and "unknown device 'gpu'" in _one_error_line(err) and err.count("\n") == 1, err
    code, _, err = _run(capsys, "train", "--method", "noise2void", "--data", str(tmp_path), "--device", "tpu",
                        "--steps", "1", "--out", str(tmp_path / "m.safetensors"))
    assert code == 2 and "unknown device 'tpu'" in _one_error_line(err)


def test_a_suggested_output_name_drops_every_format_suffix(tmp_path, capsys, gray_image):
    """A colour image to x.fits.gz was told to write 'x.fits.tif'."""
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.dstack([np.clip(gray_image, 0, 255).astype(np.uint8)] * 3)).save(rgb)
    code, _, err = _run(capsys, "denoise", str(rgb), "--method", "nlm", "--out", str(tmp_path / "x.fits.gz"))
    assert code == 2 and "write x.tif or .png" in _one_error_line(err)


def test_info_on_a_folder_says_what_it_takes(tmp_path, capsys):
    code, _, err = _run(capsys, "info", str(tmp_path))
    assert code == 2 and "is a folder; noise2x info takes one image or model file" in _one_error_line(err)


def test_a_sigma_in_other_units_than_the_image_is_said(tmp_path, capsys, gray_image):
    """--noise gaussian:sigma=25 on [0, 1] data (a sigma in 8-bit units): BM3D took it at its word and flattened
    the image, in silence; a note line now says the spec is in the image's units."""
    tifffile = pytest.importorskip("tifffile")
    src = tmp_path / "f.tif"
    tifffile.imwrite(src, (np.clip(gray_image, 0, 255) / 255.0).astype(np.float32))
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", "gaussian:sigma=25", "--out",
                        str(tmp_path / "o.tif"))
    assert code == 0 and "note: the noise's sigma 25 is more than twice the spread of the image's values" in err
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", "gaussian:sigma=0.1", "--out",
                        str(tmp_path / "p.tif"))
    assert code == 0 and "note:" not in err
    stack = tmp_path / "s.tif"  # a stack: said once, of the frame it was read on (each band's own range in it, it
    # was said for each of a cube's bands: a hyperspectral user's QA pass)
    tifffile.imwrite(stack, np.stack([np.clip(gray_image, 0, 255) / 255.0 * (0.5 + 0.1 * k) for k in range(4)])
                     .astype(np.float32), photometric="minisblack")
    code, _, err = _run(capsys, "denoise", str(stack), "--method", "nlm", "--noise", "gaussian:sigma=25", "--out",
                        str(tmp_path / "so.tif"))
    assert code == 0 and err.count("note: the noise's sigma 25 is more than twice") == 1, err
    assert "(read on frame 1; not repeated for the other frames)" in err
    for spec in ("correlated_rows:sigma=25,beta=1", "correlated:sigma=25,beta=0.5"):  # (a correlated noise's marginal
        # sigma went unchecked: a re-check)
        code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", spec, "--out",
                            str(tmp_path / "c.tif"))
        assert code == 0 and "note: the noise's sigma 25 is more than twice the spread" in err, (spec, err)


def test_a_sigma_far_beyond_the_image_spread_is_an_error(tmp_path, capsys):
    """A sigma 100 times the spread of the values or more (an AFM user's 0.03, in nm, for a height map in metres)
    flattened the map with a note and exit status 0: one error line now, and nothing written."""
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    heights = (rng.normal(0, 3e-11, (64, 64)) + np.linspace(-1e-9, 1e-9, 64)[None]).astype(np.float32)
    src, out = tmp_path / "h.tif", tmp_path / "o.tif"
    tifffile.imwrite(src, heights)
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", "gaussian:sigma=0.03", "--out",
                        str(out))
    assert code == 1 and "sigma 0.03 is 1.4e+07 times the spread of the image's values" in _one_error_line(err)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    code, said, _ = _run(capsys, "info", str(src), "--noise", "gaussian:sigma=0.03")  # (it previewed a route that
    # denoise then refused, a re-check)
    assert code == 0 and "--noise gaussian:sigma=0.03: stops: the noise's sigma 0.03 is 1.4e+07 times" in said, said
    from noise2x.api import denoise
    from noise2x.errors import InputError

    with pytest.raises(InputError, match="times the spread"):
        denoise(heights, method="bm3d", noise="gaussian:sigma=0.03")
    code, _, err = _run(capsys, "denoise", str(src), "--method", "bm3d", "--noise", "gaussian:sigma=1e-7", "--out",
                        str(out))  # (half the limit: the note, as before)
    assert code == 0 and out.exists() and "note: the noise's sigma 1e-07 is more than twice the spread" in err
    rng = np.random.default_rng(1)  # (a folder goes on past such an image, named; a stack's later dark frame gets the
    # note: one stopped a whole folder or stack, unnamed, a re-check)
    folder, outs = tmp_path / "folder", tmp_path / "outs"
    folder.mkdir()
    usable, flat = ((0.5 + s * rng.normal(size=(64, 64))).astype(np.float32) for s in (0.05, 1e-5))
    for name, frame in (("a1", usable), ("b2", flat), ("c3", usable)):
        tifffile.imwrite(folder / f"{name}.tif", frame)
    code, _, err = _run(capsys, "denoise", str(folder), "--method", "bm3d", "--noise", "gaussian:sigma=0.05", "--out",
                        str(outs))
    assert code == 1 and sorted(p.name for p in outs.iterdir()) == ["a1.tif", "c3.tif"], err
    assert "b2.tif: the noise's sigma 0.05 is 810 times the spread of the image's values (6.17e-05" in err, err
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([usable, usable, flat]), photometric="minisblack")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "stack.tif"), "--method", "bm3d", "--noise",
                        "gaussian:sigma=0.05", "--out", str(tmp_path / "so.tif"))
    assert code == 0 and (tmp_path / "so.tif").exists() and "(read on frame 3; not repeated" in err, err


def test_a_photo_written_as_tiff_keeps_its_bit_depth(tmp_path, capsys, rgb_image):
    """A 16-bit PNG or an 8-bit JPEG written as .tif became a float32 TIFF in 0..65535 or 0..255 units (photo editors
    read float samples as 0..1 and show it blown out; the README promised the 16-bit depth)."""
    rng = np.random.default_rng(0)
    src16 = tmp_path / "p16.png"
    src16.write_bytes(__import__("noise2x.io", fromlist=["io"])._png16_bytes(
        np.clip(rgb_image * 257 + rng.normal(0, 2000, rgb_image.shape), 0, 65535).astype(np.uint16)))
    src8 = tmp_path / "p.jpg"
    Image.fromarray(np.clip(rgb_image + rng.normal(0, 10, rgb_image.shape), 0, 255).astype(np.uint8)).save(src8)
    for src, kind in ((src16, np.uint16), (src8, np.uint8)):
        code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(tmp_path / f"{src.stem}.tif"))
        assert code == 0, err
        assert tifffile.imread(tmp_path / f"{src.stem}.tif").dtype == kind


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`noise2x ... | head` ended with 'noise2x: error: BrokenPipeError' and exit status 1 on some runs."""
    for k in range(3):
        with open(tmp_path / f"err{k}", "wb") as err, subprocess.Popen(
                [sys.executable, "-m", "noise2x", "methods", "-v"], stdout=subprocess.PIPE, stderr=err) as proc:
            proc.stdout.close()  # the reader is gone before anything is written
            code = proc.wait(timeout=60)
        said = (tmp_path / f"err{k}").read_text()
        assert code in (0, 141) and said == "", said


def test_fits_files_as_observatories_write_them(tmp_path, capsys):
    """The image in an extension: the primary header's cards (telescope, instrument, target) were dropped, and the
    other HDUs too without a word; a .fits.gz output named its temporary file in its gzip header; info called a
    float64 or scaled int16 file 'float32 samples'; a sigma of small units printed as 'sigma 0.00'; a negative
    offset as 'x - -44.6'."""
    fits = pytest.importorskip("astropy.io.fits")
    import gzip

    rng = np.random.default_rng(5)
    sky = (200 + rng.normal(0, 10, (64, 72))).astype(np.float32)
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"], primary.header["TARGNAME"] = "HST", "M31"
    sci = fits.ImageHDU(sky, name="SCI")
    sci.header["OBJECT"] = "M31 field"
    fits.HDUList([primary, sci, fits.ImageHDU(np.sqrt(sky), name="ERR"),
                  fits.ImageHDU(np.zeros(sky.shape, np.int16), name="DQ")]).writeto(tmp_path / "mef.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "mef.fits"), "--method", "nlm", "--out",
                        str(tmp_path / "o.fits"))
    assert code == 0 and "its other HDUs holding data (ERR, DQ) are not in the output" in err, err
    header = fits.getheader(tmp_path / "o.fits")
    assert (header["TELESCOP"], header["TARGNAME"], header["OBJECT"]) == ("HST", "M31", "M31 field")
    assert "EXTNAME" not in header
    code, out, _ = _run(capsys, "info", str(tmp_path / "mef.fits"))  # info says it before any work
    assert "other HDUs holding data: ERR, DQ (not in denoise's output" in out, out
    fits.PrimaryHDU(sky.astype(np.float64) / 1e4 - 0.02).writeto(tmp_path / "jy.fits.gz")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "jy.fits.gz"), "--method", "bm3d", "--out",
                        str(tmp_path / "o.fits.gz"))
    assert code == 0 and re.search(r"sigma 0\.00\d+ \(estimated\)", err), err
    with gzip.open(tmp_path / "o.fits.gz") as packed:
        packed.read(1)
        assert packed.name.endswith("o.fits.gz")
    with open(tmp_path / "o.fits.gz", "rb") as fh:  # the name gunzip -N restores: FNAME, after the 10-byte header
        head = fh.read(64)
    assert head[3] & 8 and head[10:].split(b"\0")[0] == b"o.fits", head
    code, out, err = _run(capsys, "info", str(tmp_path / "jy.fits.gz"))
    assert out.splitlines()[0].endswith("FITS, float64 samples (its outputs: float32), 72x64 gray"), out
    fits.PrimaryHDU(sky.astype(np.float64) * 0.1 - 44.6).writeto(tmp_path / "sub.fits")  # sky-subtracted, dim
    code, out, err = _run(capsys, "info", str(tmp_path / "sub.fits"))
    assert "mapped by x -> (x + 2" in out and "- -" not in out, out


def test_fits_outputs_say_how_they_were_made(tmp_path, capsys):
    """A FITS output had no HISTORY card: nothing in its header said it was denoised, by what, or when (the
    astronomer's QA pass). Now the input's HISTORY cards come first, then noise2x's: the tool, the input and the
    route (the request, for a cube streamed frame by frame); a PNG input written as FITS gets them too."""
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(6)
    sky = (500 + rng.normal(0, 8, (48, 40))).astype(np.float32)
    header = fits.Header()
    header["OBJECT"] = "NGC 253"
    header.add_history("bias subtracted")
    fits.PrimaryHDU(sky, header=header).writeto(tmp_path / "sky.fits")
    fits.PrimaryHDU(np.stack([sky, sky]), header=header).writeto(tmp_path / "cube.fits")
    code, _, err = _run(capsys, "denoise", str(tmp_path / "sky.fits"), "--method", "bm3d", "--out",
                        str(tmp_path / "o.fits"))
    assert code == 0, err
    history = [str(h) for h in fits.getheader(tmp_path / "o.fits")["HISTORY"]]
    text = "".join(history[1:])  # (a line longer than a card goes on in the next ones)
    assert history[0] == "bias subtracted" and history[1].startswith("noise2x ") and "denoise of sky.fits" in \
        text, history
    assert re.search(r"Z(bm3d, sigma [\d.]+ \(estimated\))noise2x denoise \S*sky.fits --method bm3d", text), history
    code, _, err = _run(capsys, "denoise", str(tmp_path / "cube.fits"), "--method", "nlm", "--out",
                        str(tmp_path / "c.fits"))
    assert code == 0, err
    history = "".join(str(h) for h in fits.getheader(tmp_path / "c.fits")["HISTORY"][1:])
    assert "denoise of cube.fits" in history and "Zmethod nlmnoise2x denoise" in history, history
    _png(tmp_path / "p.png", np.clip(rng.normal(120, 20, (40, 40)), 0, 255))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "p.png"), "--method", "nlm", "--out",
                        str(tmp_path / "p.fits"))
    assert code == 0 and "denoise of p.png" in str(fits.getheader(tmp_path / "p.fits")["HISTORY"]), err


def test_a_tiff_of_several_series_keeps_them(tmp_path, capsys):
    """An OME-TIFF of two positions (series) was read as one stack and written as one, each series' name and
    calibration gone, without a word (the microscopist's QA pass). A TIFF output now holds them as its series (an
    OME-TIFF: with their names and pixel sizes), written frame by frame or whole; info says so, and a FITS output,
    which holds one stack, says it; a TIFF of one series says nothing of series."""
    import tifffile

    from noise2x import io

    rng = np.random.default_rng(2)
    frames = (rng.poisson(100, (3, 40, 40)) + 100).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "multi.ome.tif", ome=True) as tif:
        for name, size in (("pos1", 0.1), ("pos2", 0.2)):
            tif.write(frames, photometric="minisblack",
                      metadata={"axes": "ZYX", "Name": name, "PhysicalSizeX": size, "PhysicalSizeY": size})
    tifffile.imwrite(tmp_path / "one.tif", frames, photometric="minisblack")
    code, out, _ = _run(capsys, "info", str(tmp_path / "multi.ome.tif"))
    assert code == 0 and "series: 2 (pos1: 3 frames, pos2: 3 frames): a TIFF output holds them as its series" in out
    stack = io.read_stack(tmp_path / "multi.ome.tif")
    for name in ("o.ome.tif", "o.tif", "o.fits"):
        code, _, err = _run(capsys, "denoise", str(tmp_path / "multi.ome.tif"), "--method", "nlm", "--out",
                            str(tmp_path / name))
        assert code == 0 and err.count("are written as one stack") == (name == "o.fits"), (name, err)
    io.write_image(tmp_path / "w.ome.tif", stack, like=tmp_path / "multi.ome.tif")  # whole, not frame by frame
    for name in ("o.ome.tif", "w.ome.tif", "o.tif"):
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert [(s.axes, s.shape) for s in tif.series] == [("ZYX", (3, 40, 40))] * 2, name
            if name.endswith(".ome.tif"):
                assert [s.name for s in tif.series] == ["pos1", "pos2"], name
                assert re.findall(r'PhysicalSizeX="([\d.]+)"', tif.ome_metadata) == ["0.1", "0.2"], name
    np.testing.assert_array_equal(io.read_stack(tmp_path / "w.ome.tif"), stack)
    assert io.read_stack(tmp_path / "o.tif").shape == stack.shape
    code, out, _ = _run(capsys, "info", str(tmp_path / "one.tif"))
    assert code == 0 and "series:" not in out, out
    code, _, err = _run(capsys, "denoise", str(tmp_path / "one.tif"), "--method", "nlm", "--out",
                        str(tmp_path / "p.tif"))
    assert code == 0 and "written as one stack" not in err, err


def test_a_poisson_peak_on_16bit_data_is_explained_by_train_and_bench(tmp_path, capsys):
    """simulate says that a Poisson peak counts photons at 255 on a 16-bit image; train --add-noise, bench and denoise
    --noise said nothing, their noise 16 times weaker in std than '30 photons at full scale' (the ML-researcher QA
    pass)."""
    import tifffile

    (tmp_path / "d16").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        tifffile.imwrite(tmp_path / "d16" / f"{i}.tif", (rng.uniform(20, 230, (40, 40)) * 257).astype(np.uint16))
    code, _, err = _run(capsys, "bench", "--methods", "nlm", "--dataset", str(tmp_path / "d16"), "--noise",
                        "poisson:peak=30")
    assert code == 0 and "poisson peak counts photons at the value 255" in err and "data_range=65535" in err, err
    code, _, err = _run(capsys, "train", "--method", "noise2void", "--data", str(tmp_path / "d16"), "--add-noise",
                        "poisson:peak=30", "--steps", "1", "--set", "train.preset=tiny", "--out",
                        str(tmp_path / "m.safetensors"))
    assert code == 0 and "poisson peak counts photons at the value 255" in err, err
    code, _, err = _run(capsys, "bench", "--methods", "nlm", "--dataset", str(tmp_path / "d16"), "--noise",
                        "poisson:peak=30,data_range=65535")
    assert code == 0 and "counts photons" not in err
    code, _, err = _run(capsys, "denoise", str(tmp_path / "d16" / "0.tif"), "--method", "nlm", "--noise",
                        "poisson:peak=30", "--out", str(tmp_path / "o.tif"))  # (and denoise: the QA re-check)
    assert code == 0 and err.count("poisson peak counts photons at the value 255") == 1, err


def test_the_poisson_units_note_reads_the_full_scale_from_the_values(tmp_path, capsys):
    """simulate said nothing of a Poisson peak on a flat 16-bit frame (a flat field: its noise counted at 255,
    thousands of times too strong for the peak meant), and told a low-contrast 16-bit frame data_range=1 (a noise
    QA pass). Low-contrast 8-bit data is counted at 255, as it should."""
    import tifffile

    from noise2x.api import peak_units_note
    from noise2x.noise import parse_noise

    tifffile.imwrite(tmp_path / "flat.tif", np.full((40, 40), 25700, np.uint16))
    code, _, err = _run(capsys, "simulate", "poisson:peak=30", str(tmp_path / "flat.tif"), str(tmp_path / "o.tif"))
    assert code == 0 and "flat.tif is in other units, values up to 25700: give the spec its full scale, e.g. " \
                         "poisson:peak=30,data_range=65535, to count them there" in err, err
    spec = parse_noise("poisson:peak=30")
    ramp = np.tile(np.arange(40.0), (40, 1))
    assert "data_range=65535," in peak_units_note(spec, 20000 + ramp * 2.5)
    assert "data_range=4095 for 12-bit data" not in peak_units_note(spec, 20000 + ramp * 2.5)
    twelve = peak_units_note(spec, 600 + ramp * 80)  # (values up to 3720: 12-bit data, told 65535 alone before)
    assert "data_range=65535, to count them there; data_range=4095 for 12-bit data" in twelve
    assert "data_range=1," in peak_units_note(spec, 0.4 + ramp / 1000)
    assert "data_range=1," in peak_units_note(spec, np.full((40, 40), 0.5))  # (a flat [0, 1] frame)
    assert peak_units_note(spec, 100 + ramp % 10) is None and peak_units_note(spec, ramp * 6) is None
    assert peak_units_note(parse_noise("poisson:peak=30,data_range=65535"), 20000 + ramp) is None
    tifffile.imwrite(tmp_path / "dark.tif", np.full((40, 40), 100, np.uint16))  # (a 16-bit dark frame: its kind)
    code, _, err = _run(capsys, "simulate", "poisson:peak=30", str(tmp_path / "dark.tif"), str(tmp_path / "d.tif"))
    assert code == 0 and "dark.tif is in other units, values up to 100: give the spec its full scale, e.g. " \
                         "poisson:peak=30,data_range=65535" in err, err


def test_methods_verbose_lists_what_each_preset_sets(capsys):
    """methods -v gave a method's defaults and its presets' names only: the cpu preset's Noise2Void masking (6.25 %,
    radius 2), behind the benchmark tables, was written nowhere (the ML-researcher QA pass)."""
    from noise2x.methods import get_method

    code, out, _ = _run(capsys, "methods", "-v")
    block = out.split("\nnoise2void ")[1].split("\nnoise2same")[0]
    for preset, values in type(get_method("noise2void")).presets.items():
        line = f"  {preset}: " + (", ".join(f"{k}={v}" for k, v in values.items()) or "the defaults")
        assert line in block, (preset, block)
    assert code == 0 and "method.percent=6.25, method.radius=2" in block
    # the values of options whose default does not show them (structN2V's mask: a README QA pass)
    assert "struct: horizontal:R (noise correlated along rows: R pixels hidden on each side of a blind spot" in block
    assert "noise_model: auto, gaussian, gaussian_learned" in out.split("\nblindspot ")[1]


def test_quiet_says_no_progress_or_notes_but_errors_and_warnings(tmp_path, capsys, gray_image):
    """-q/--quiet (a pipeline's log wants the errors only): no progress lines, notes or summary; a warning and an
    error still said; the outputs written as without it."""
    src = _png(tmp_path / "clean.png", gray_image)
    code, out, err = _run(capsys, "simulate", "gaussian:sigma=40", str(src), str(tmp_path / "noisy.png"), "-q")
    assert code == 0 and out == "" and "warning" in err and "clipped" in err  # (σ 40 clips: warned)
    assert err.count("\n") == 1
    code, out, err = _run(capsys, "denoise", str(tmp_path / "noisy.png"), "--method", "nlm", "--noise",
                          "gaussian:sigma=40", "--out", str(tmp_path / "q.png"), "--quiet")
    assert (code, out, err) == (0, "", "") and (tmp_path / "q.png").is_file()
    code, out, err = _run(capsys, "denoise", str(tmp_path / "noisy.png"), "--method", "nlm", "--noise",
                          "gaussian:sigma=40", "--out", str(tmp_path / "loud.png"))
    assert code == 0 and "denoised 1 image(s)" in out and "[1/1]" in err
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "q.png")),
                                  np.asarray(Image.open(tmp_path / "loud.png")))
    code, out, err = _run(capsys, "denoise", str(tmp_path / "gone.png"), "--out", str(tmp_path / "x.png"), "-q")
    assert code == 2 and out == "" and err.startswith("noise2x: error: ") and err.count("\n") == 1
    code, out, err = _run(capsys, "train", "--method", "noise2noise", "--data", str(tmp_path), "--add-noise",
                          "gaussian:sigma=25", "--steps", "2", "--out", str(tmp_path / "m.safetensors"), "-q",
                          "--set", "data.patch_size=16", "--set", "data.batch_size=2")
    assert (code, out, err) == (0, "", "") and (tmp_path / "m.safetensors").is_file()


def test_quiet_keeps_the_units_warning_and_the_lost_alpha(tmp_path, capsys):
    """-q silenced two warnings the README promises (a model given an image in other units; an alpha channel a
    JPEG output cannot keep), both said through the progress lines and without the 'noise2x: warning:' prefix
    (the docs QA pass)."""
    rgba = (np.random.default_rng(0).random((40, 40, 4)) * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    code, out, err = _run(capsys, "denoise", str(tmp_path / "rgba.png"), "--method", "nlm", "--noise",
                          "gaussian:sigma=10", "--out", str(tmp_path / "q.jpg"), "-q")
    assert code == 0 and err.startswith("noise2x: warning: ") and "alpha channel is not kept" in err
    from noise2x.checkpoint import save_model
    from noise2x.models import ScaledModel, build_model

    args = {"in_channels": 1, "width": 8, "depth": 2}
    net = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[60.0])
    model = tmp_path / "m.safetensors"
    save_model(model, net, metadata={"method": "supervised", "method_options": {}, "steps": 1})
    unit = (128 + 40 * np.random.default_rng(1).standard_normal((48, 48))) / 255  # (8-bit model, [0, 1] image)
    tifffile.imwrite(tmp_path / "unit.tif", unit.astype(np.float32))
    code, out, err = _run(capsys, "denoise", str(tmp_path / "unit.tif"), "--model", str(model),
                          "--out", str(tmp_path / "d.tif"), "-q")
    assert code == 0 and err.startswith("noise2x: warning: ") and err.count("\n") == 1, err


def test_a_sixteen_bit_images_sigma_in_its_own_units(tmp_path, capsys):
    """info read a 16-bit image's noise in 8-bit units only; that sigma given to --noise (which takes the image's
    units) removed nothing, unsaid (the docs QA pass). info now gives the sigma in the image's units too, and
    denoise notes a sigma that is next to nothing in 8-bit units."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    clean = (128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0)) * 257
    Image.fromarray(np.clip(clean + rng.normal(0, 3000, clean.shape), 0, 65535).astype(np.uint16)).save(
        tmp_path / "g16.png")
    code, out, err = _run(capsys, "info", str(tmp_path / "g16.png"))
    own = re.search(r"noise in the image's own units \(what --noise gaussian:sigma= takes\): sigma ([0-9.e+]+)", out)
    assert code == 0 and own and 2500 < float(own.group(1)) < 3500, out
    code, out, err = _run(capsys, "denoise", str(tmp_path / "g16.png"), "--method", "bm3d", "--noise",
                          "gaussian:sigma=12", "--out", str(tmp_path / "a.png"))
    assert code == 0 and re.search(r"note: the noise's sigma 12 is 0\.0\d+ in 8-bit units, next to nothing", err), err
    code, out, err = _run(capsys, "denoise", str(tmp_path / "g16.png"), "--method", "bm3d", "--noise",
                          f"gaussian:sigma={own.group(1)}", "--out", str(tmp_path / "b.png"))
    assert code == 0 and "note:" not in err, err


def test_info_model_shows_the_settings_a_preset_sets(tmp_path, capsys):
    """methods -v sends the reader to info MODEL for a run's own settings, which it did not show (a patch size
    lowered to fit small images could not be checked after the run: the docs QA pass)."""
    rng = np.random.default_rng(0)
    (tmp_path / "small").mkdir()
    for i in range(4):
        _png(tmp_path / "small" / f"s{i}.png", rng.random((40, 44)) * 255)
    assert main(["train", "--method", "noise2void", "--data", str(tmp_path / "small"), "--steps", "2", "--out",
                 str(tmp_path / "s.safetensors"), "-q"]) == 0
    code, out, err = _run(capsys, "info", str(tmp_path / "s.safetensors"))
    assert re.search(r"^data: +\S+small$", out, re.M), out
    from noise2x.checkpoint import describe  # (a paired run's second folder: it named --data only)

    assert "data:          a; data2 b" in describe({"config": {"inputs": {"data": "a", "data2": "b"}}})
    assert code == 0 and re.search(r"settings: +data\.patch_size=40, data\.batch_size=\d+, train\.lr=[0-9.e-]+, "
                                   r"train\.schedule=\w+, train\.val_every=\d+, train\.keep=last \(budget 2 steps\)",
                                   out), out


def test_a_file_output_for_a_folder_input_is_said_as_such(tmp_path, capsys, gray_image):
    """A folder holding one image with a file as output said 'there are 1 inputs', and simulate's error named an
    --out it does not have (the docs QA pass); --tile with a direct method named only the Python keyword."""
    (tmp_path / "one").mkdir()
    _png(tmp_path / "one" / "a.png", gray_image)
    code, out, err = _run(capsys, "denoise", str(tmp_path / "one"), "--method", "nlm", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "--out" in err and "names a file but the input is a folder; give a folder" in err
    code, out, err = _run(capsys, "simulate", "gaussian:sigma=5", str(tmp_path / "one"), str(tmp_path / "x.png"))
    assert code == 2 and f"OUT {tmp_path / 'x.png'} names a file but the input is a folder" in err
    code, out, err = _run(capsys, "denoise", str(tmp_path / "one" / "a.png"), "--method", "zs_n2n", "--tile", "0",
                          "--out", str(tmp_path / "z.png"))
    assert code == 2 and "tile=0 (--tile) applies to models" in err and "--set tile=N" in err
    code, out, err = _run(capsys, "denoise", str(tmp_path / "one" / "a.png"), "--method", "nlm", "--set", "sigma=25",
                          "--noise", "gaussian:sigma=10", "--out", str(tmp_path / "s.png"))
    assert code == 0 and "note: the option sigma=25 is used, not the noise spec's sigma 10" in err
    code, out, err = _run(capsys, "denoise", str(tmp_path / "one" / "a.png"), "--method", "nlm", "--set", "sigma=10",
                          "--noise", "gaussian:sigma=10", "--out", str(tmp_path / "s.png"))
    assert code == 0 and "note:" not in err
    code, out, err = _run(capsys, "denoise", str(tmp_path / "one" / "a.png"), "--method", "nlm", "--set", "sigma=25",
                          "--noise", "poisson:peak=10", "--out", str(tmp_path / "s.png"))
    assert code == 0 and "note: the option sigma=25 is used, not the noise spec poisson:peak=10" in err


def test_outputs_named_in_bytes_that_are_not_utf8_are_written(tmp_path, capsys, gray_image):
    """Linux file names may hold any bytes; one that is not UTF-8 (an old zip's, a Samba share's) stopped a folder
    run with an internal error at the temporary file's name, the images after it not denoised (a QA pass)."""
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"a\xffb.png")
    _png(folder / odd, gray_image)
    _png(folder / "good.png", gray_image)
    code, _, err = _run(capsys, "denoise", str(folder), "--method", "nlm", "--noise", "gaussian:sigma=20",
                        "--out", str(tmp_path / "out") + "/")
    assert code == 0 and sorted(os.listdir(tmp_path / "out")) == sorted([odd, "good.png"]), err
    assert "a\\xffb.png" in err and "\udcff" not in err  # (its byte shown as ls -b shows it)
    from noise2x.io import write_image

    write_image(tmp_path / os.fsdecode(b"api_\xe9.tif"), gray_image)
    assert os.fsdecode(b"api_\xe9.tif") in os.listdir(tmp_path)


def test_output_names_that_cannot_be_used_are_said_before_any_work(tmp_path, capsys, gray_image):
    """--out - made a folder named '-'; an output whose name a folder holds stopped the batch after the work with
    the temporary file's name; a clash of names said neither the name nor the inputs (a QA pass)."""
    a, b = tmp_path / "d1", tmp_path / "d2"
    a.mkdir()
    b.mkdir()
    _png(a / "x.png", gray_image)
    _png(b / "x.png", gray_image)
    base = ["--method", "nlm", "--noise", "gaussian:sigma=20"]
    code, _, err = _run(capsys, "denoise", str(a / "x.png"), *base, "-q", "--out", "-")
    assert code == 2 and "--out -: noise2x writes image files, not to standard output" in _one_error_line(err)
    assert not Path("-").exists()
    code, _, err = _run(capsys, "denoise", str(a / "x.png"), str(b / "x.png"), *base, "--out", str(tmp_path / "o"))
    assert code == 2 and f"{a / 'x.png'} and {b / 'x.png'}" in _one_error_line(err)
    assert not (tmp_path / "o").exists()  # (the folder is made once the checks pass)
    code, _, err = _run(capsys, "denoise", str(a / "x.png"), str(a / "x.png"), *base, "--out", str(tmp_path / "o"))
    assert code == 2 and "is given twice" in _one_error_line(err)
    (tmp_path / "clash" / "x.png").mkdir(parents=True)
    code, _, err = _run(capsys, "denoise", str(a / "x.png"), *base, "--out", str(tmp_path / "clash") + "/")
    assert code == 2 and f"output {tmp_path / 'clash' / 'x.png'} is a folder" in _one_error_line(err)
    assert os.listdir(tmp_path / "clash") == ["x.png"]
    from noise2x.errors import InputError
    from noise2x.io import write_image

    with pytest.raises(InputError, match="a folder of that name exists"):  # (from Python: one output's error)
        write_image(tmp_path / "clash" / "x.png", gray_image)


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_a_wrong_threads_variable_is_refused_as_the_option_is(tmp_path, capsys, monkeypatch, gray_image, value):
    """NOISE2X_THREADS=abc or 0 was dropped without a word (--threads and threads= refuse them: a QA pass)."""
    src = _png(tmp_path / "a.png", gray_image)
    monkeypatch.setenv("NOISE2X_THREADS", value)
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.png"))
    assert code == 2 and f"NOISE2X_THREADS='{value}': expected a whole number" in _one_error_line(err)
    assert not (tmp_path / "o.png").exists()
    monkeypatch.setenv("NOISE2X_THREADS", " ")  # (empty: unset)
    assert _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.png"))[0] == 0


def test_a_stacks_summary_says_each_way_its_frames_went(tmp_path, capsys, gray_image, monkeypatch):
    """Each frame is routed on its own; the summary line said the last frame's route of the whole stack (a
    transform 1 of 20 frames had, in a QA pass), and info's value range was the first frame's, unlabelled. It
    gave each way's count of frames, not which (the time-lapse QA pass: a way changing from frame to frame)."""
    import noise2x.api

    stack = np.stack([gray_image + k for k in (0, 0, 3, 0, 3, 3, 0)]).astype(np.float32)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")

    def fake(frame, *, info, **kw):
        info["method"] = "model a" if frame.mean() < gray_image.mean() + 1.5 else "model b"
        if frame.mean() > gray_image.mean() + 1.5:
            info["transform"] = "generalised anscombe (peak and read noise estimated)"
        kw["progress"](f"using {info['method']}: its reading {frame.mean():.0f}")
        return frame

    monkeypatch.setattr(noise2x.api, "denoise", fake)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "s.tif"), "--out", str(tmp_path / "o.tif"))
    assert code == 0 and "(model a (4 frames: 1-2, 4, 7); model b, generalised anscombe (3 frames: 3, 5-6)," in err, err
    assert "went different ways" not in err  # (one file: its frames' ways said above, no folder note: a re-check)
    assert f"using model b (first at frame 3): its reading {gray_image.mean() + 3:.0f}\n" in err, err
    from noise2x.cli import _numbers

    assert _numbers([1, 3, 5, 7, 9, 11, 13, 15, 17, 18, 19, 21]) == "1, 3, 5, 7, 9, 11, 13, 15 and 4 more"
    tifffile.imwrite(tmp_path / "same.tif", np.stack([gray_image] * 2).astype(np.float32))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "same.tif"), "--out", str(tmp_path / "o2.tif"))
    assert code == 0 and "-> " + str(tmp_path / "o2.tif") + " (model a, " in err, err
    monkeypatch.undo()
    assert main(["info", str(tmp_path / "s.tif")]) == 0
    assert "values (frame 1): " in capsys.readouterr().out


def test_multispectral_geotiff_keeps_its_bands_georeferencing_and_nodata(tmp_path, capsys, gray_image):
    """A 4-band uint16 GeoTIFF with 0 as its declared nodata (a QA pass: the fourth band was dropped, the
    georeferencing lost, and the 0 fill smeared into the data): every band denoised on its own, the bands and the
    tags written back, the nodata pixels kept at 0 and left out of the noise estimate."""
    rng = np.random.default_rng(0)
    clean = np.stack([gray_image, gray_image[::-1], gray_image[:, ::-1], gray_image[::-1, ::-1]], -1) * 40 + 1000
    noisy = np.clip(clean + rng.normal(0, 300, clean.shape), 0, 65535).astype(np.uint16)
    noisy[:9] = 0  # outside the footprint
    geo = [(33550, 12, 3, (10.0, 10.0, 0.0), True), (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True),
           (42113, 2, 0, "0", True)]
    src, out = tmp_path / "ms.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, noisy, photometric="minisblack", planarconfig="contig", extratags=geo)
    code, text, err = _run(capsys, "info", str(src))
    assert code == 0 and "4 bands" in text and "nodata value 0, GDAL_NODATA" in text
    code, text, err = _run(capsys, "denoise", str(src), "--out", str(out))
    assert code == 0, err
    assert "its nodata value (GDAL_NODATA) 0: pixels holding it are blank" in err
    ways = [line.split(":")[0] for line in err.splitlines() if line.startswith("using ")]
    assert ways and len(ways) == len(set(ways))  # (each way once, not once per band's own level: a QA pass)
    with tifffile.TiffFile(out) as t:
        result = t.asarray()
        assert result.shape == noisy.shape and result.dtype == np.uint16
        assert {c for c, *_ in geo} <= set(t.pages[0].tags.keys())
    assert (result[:9] == 0).all() and (result[9:] > 0).all()
    err_in = np.sqrt(np.mean((noisy[9:] - clean[9:]) ** 2))
    err_out = np.sqrt(np.mean((result[9:].astype(float) - clean[9:]) ** 2))
    assert err_out < err_in / 2  # (each band denoised, none dropped)
    # an explicit --blank-value comes first; each band's own sigma, said as their range
    code, text, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o2.tif"), "--blank-value", "5",
                           "--method", "nlm")
    assert code == 0 and "GDAL_NODATA" not in err
    assert re.search(r"\(nlm, sigma [0-9.]+ to [0-9.]+ \(estimated, per frame\)", err), err
    # info --blank-value reads a file that declares none as denoise --blank-value does
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, noisy, photometric="minisblack", planarconfig="contig")
    code, text, err = _run(capsys, "info", str(plain), "--blank-value", "0")
    assert code == 0 and "blank (the value 0, --blank-value) pixels: 1116 of" in text
    assert "noise2x denoise --blank-value 0 (frame 1): " in text and "sigma 0," not in text
    code, text, err = _run(capsys, "info", "gray-gaussian", "--blank-value", "0")
    assert code == 2 and "--blank-value goes with an image" in err
    # simulate: noise on the data, the bands kept, the nodata pixels left holding 0
    code, text, err = _run(capsys, "simulate", "gaussian:sigma=100", str(src), str(tmp_path / "sim.tif"))
    assert code == 0 and "its nodata value (GDAL_NODATA) 0: the 1116 values holding it are kept" in err
    sim = tifffile.imread(tmp_path / "sim.tif")
    assert sim.shape == noisy.shape and (sim[:9] == 0).all() and not (sim[9:] == noisy[9:]).all()


def test_train_blank_value_leaves_a_nodata_fill_out(tmp_path, capsys, gray_image):
    """train --blank-value V (data.blank_value): the pixels holding V are blank, as --blanks makes NaN: the
    normalisation reads the data only; files declaring a nodata value (GDAL_NODATA) are read so without it (said),
    and a value given comes first."""
    import json

    from noise2x.checkpoint import read_metadata

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        image = np.clip(gray_image + rng.normal(0, 10, gray_image.shape), 1, 255) * 40
        image = np.pad(image, ((0, 0), (0, 30)))  # 0 outside the footprint, beside data of mean about 5000
        tifffile.imwrite(data / f"{k}.tif", image.astype(np.uint16), extratags=[(42113, 2, 0, "0", True)])
    common = ["train", "--method", "noise2self", "--data", str(data), "--steps", "2", "--set", "train.preset=tiny",
              "--set", "data.patch_size=16"]
    code, _, err = _run(capsys, *common, "--out", str(tmp_path / "a.safetensors"))  # the declared value used
    assert code == 0 and "0.tif and 1 other file(s) declare the nodata value 0 (GDAL_NODATA): pixels holding" in err
    code, _, err = _run(capsys, *common, "--blank-value", "0", "--out", str(tmp_path / "b.safetensors"))
    assert code == 0 and "GDAL_NODATA" not in err
    code, _, err = _run(capsys, *common, "--blank-value", "-1", "--out", str(tmp_path / "c.safetensors"))
    assert code == 0  # (a value given comes first: the zeros are then data)
    means = [float(read_metadata(tmp_path / f"{n}.safetensors")["normalization"]["mean"][0]) for n in "abc"]
    assert means[0] == pytest.approx(means[1]) and means[1] > 3000 and means[2] < 0.6 * means[1], means
    assert json.loads(json.dumps(read_metadata(tmp_path / "b.safetensors")["config"]))["data"]["blank_value"] == 0


def test_declared_nodata_with_blanks_nan_and_outputs(tmp_path, capsys):
    """A second remote-sensing QA pass: --blanks turned a declared GDAL_NODATA off (and info suggested it); a NaN
    nodata was honoured only by a TIFF output; a nodata tag that is no number was warned of by tifffile once per
    page and not said to be unused."""
    rng = np.random.default_rng(1)
    clean = np.clip(rng.normal(0.5, 0.1, (40, 36, 3)), 0, 1)
    noisy = (clean + rng.normal(0, 0.03, clean.shape)).astype(np.float32)
    noisy[:6] = -9999
    noisy[10, 10, 0] = np.nan  # (a NaN beside the declared value: --blanks)
    src = tmp_path / "m.tif"
    tifffile.imwrite(src, noisy, photometric="minisblack", planarconfig="contig",
                     extratags=[(42113, 2, 0, "-9999", True)])
    code, _, err = _run(capsys, "denoise", str(src), "--blanks", "--method", "nlm", "--out", str(tmp_path / "o.tif"))
    assert code == 0 and "GDAL_NODATA) -9999: pixels holding it are blank" in err
    out = tifffile.imread(tmp_path / "o.tif")
    assert (out[:6] == -9999).all() and np.isnan(out[10, 10, 0]) and np.isfinite(out[6:]).sum() == out[6:].size - 1
    code, text, _ = _run(capsys, "info", str(src), "--noise", "gaussian:sigma=0.03")
    assert code == 0 and "denoise --blanks" not in text
    # NaN declared: denoised (to FITS too) and simulated, NaN kept blank
    nan = noisy.copy()
    nan[nan == -9999] = np.nan
    nan[10, 10, 0] = 0.5
    nsrc = tmp_path / "n.tif"
    tifffile.imwrite(nsrc, nan, photometric="minisblack", planarconfig="contig", extratags=[(42113, 2, 0, "nan", True)])
    code, _, err = _run(capsys, "denoise", str(nsrc), "--method", "nlm", "--out", str(tmp_path / "n.fits"))
    assert code == 0, err
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=0.01", str(nsrc), str(tmp_path / "s.tif"))
    assert code == 0 and np.isnan(tifffile.imread(tmp_path / "s.tif")[:6]).all(), err
    # no number: said once to be unused, tifffile's own warnings not repeated
    bad = tmp_path / "b.tif"
    tifffile.imwrite(bad, np.stack([clean[..., 0]] * 4).astype(np.float32), photometric="minisblack",
                     extratags=[(42113, 2, 0, "abc", True)])  # (4 pages)
    code, _, err = _run(capsys, "denoise", str(bad), "--method", "nlm", "--out", str(tmp_path / "b_out.tif"))
    assert code == 0 and err.count("'abc' is not a value its float32 samples hold: not used") == 1
    assert "tifffile" not in err


def test_a_stack_says_its_progress_and_its_units_map_once(tmp_path, capsys, monkeypatch):
    """A 120-frame stack said nothing between its first line and its last, and a bleaching 16-bit time-lapse
    said "model ... works in 8-bit units: the image mapped by ..." once per frame, each with its own factors and
    no frame number (a large-data QA pass). A stack now says its frame and the time left (every
    PROGRESS_EVERY_S seconds), and the mapping once, with the frame it is of."""
    import tifffile

    from noise2x import cli

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    base = 2000 + 20000 * (np.sin(xx / 6) * np.cos(yy / 9) + 1) / 2
    frames = np.stack([base * 0.9 ** t + rng.normal(0, 600, base.shape) for t in range(4)])
    tifffile.imwrite(tmp_path / "s.tif", np.clip(frames, 0, 65535).astype(np.uint16), photometric="minisblack")
    monkeypatch.setattr(cli, "PROGRESS_EVERY_S", 0.0)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "s.tif"), "--model", "gray-gaussian", "--out",
                        str(tmp_path / "o.tif"))
    assert code == 0, err
    mapped = [line for line in err.splitlines() if "works in 8-bit units" in line]
    assert len(mapped) == 1 and mapped[0].endswith("(frame 1; each frame by its own range)"), err
    assert re.findall(r"s\.tif: frame (\d)/4, about .+ left$", err, re.M) == ["2", "3", "4"], err
    monkeypatch.setattr(cli, "PROGRESS_EVERY_S", 10.0)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "s.tif"), "--model", "gray-gaussian", "--out",
                        str(tmp_path / "o2.tif"))
    assert code == 0 and "/4, about" not in err, err  # (a short stack: no progress line)


def test_a_large_image_says_its_progress(tmp_path, capsys, monkeypatch):
    """A large image said nothing for minutes after its "using" line (a large-data QA pass): a model's tiles
    now report the share done and the time left (every PROGRESS_EVERY_S seconds), a colour image's planes in
    turn."""
    from noise2x import cli

    rng = np.random.default_rng(1)
    _png(tmp_path / "g.png", np.clip(rng.normal(120, 25, (200, 180)), 0, 255))
    Image.fromarray(np.clip(rng.normal(120, 25, (200, 180, 3)), 0, 255).astype(np.uint8)).save(tmp_path / "c.png")
    monkeypatch.setattr(cli, "PROGRESS_EVERY_S", 0.0)
    shares = {}
    for name in ("g", "c"):
        code, _, err = _run(capsys, "denoise", str(tmp_path / f"{name}.png"), "--model", "gray-gaussian",
                            "--tile", "64", "--out", str(tmp_path / f"o{name}.png"))
        assert code == 0, err
        shares[name] = [int(s) for s in re.findall(rf"{name}\.png: (\d+)% done, about .+ left$", err, re.M)]
    assert len(shares["g"]) >= 3 and shares["g"] == sorted(shares["g"]) and shares["g"][-1] < 100, shares
    assert len(shares["c"]) > len(shares["g"]) and shares["c"] == sorted(shares["c"]), shares  # (3 planes)
    assert shares["c"][0] < 34 and shares["c"][-1] > 66, shares


def test_the_time_left_counts_from_the_first_tile(tmp_path, capsys, monkeypatch):
    """The time left is the tiles' own rate: the noise reading and model loading before them (13 s on a 35-MP
    scan) made the first estimate 48 min for a run of 2 (a document scans QA pass)."""
    from noise2x import api, cli

    _png(tmp_path / "g.png", np.clip(np.random.default_rng(2).normal(120, 25, (200, 180)), 0, 255))
    monkeypatch.setattr(cli, "PROGRESS_EVERY_S", 0.0)
    route = api.no_option_route

    def slow_route(*args, **kwargs):
        time.sleep(2.0)  # (a long reading: counted in, at 10% done it would say 18 s left)
        return route(*args, **kwargs)

    monkeypatch.setattr(api, "no_option_route", slow_route)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "g.png"), "--tile", "32", "--out", str(tmp_path / "o.png"))
    left = re.findall(r"g\.png: \d+% done, about (\d+) s left$", err, re.M)
    assert code == 0 and left and all(int(s) < 5 for s in left), err


def test_outputs_differing_only_in_case_are_refused_where_the_folder_ignores_case(tmp_path, capsys, monkeypatch):
    """Cell.png and cell.png in one folder became two outputs, exit 0: on a share that ignores case (Windows,
    macOS, exFAT) one overwrites the other (a model-sharing QA pass). Where the output folder ignores case, such
    a batch is refused before any work; where it does not (here), both are written."""
    from noise2x import fsutil

    assert fsutil.ignores_case(tmp_path) is False and not list(tmp_path.iterdir())  # (the probe is gone)
    rng = np.random.default_rng(2)
    (tmp_path / "in").mkdir()
    for name in ("Cell.png", "cell.png", "other.png"):
        _png(tmp_path / "in" / name, np.clip(rng.normal(120, 20, (32, 32)), 0, 255))
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--out", str(tmp_path / "a"), "-q")
    assert code == 0 and sorted(p.name for p in (tmp_path / "a").iterdir()) == ["Cell.png", "cell.png", "other.png"]
    monkeypatch.setattr(fsutil, "ignores_case", lambda folder: True)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--out", str(tmp_path / "b"))
    assert code == 2 and "differ only in case" in _one_error_line(err) and not (tmp_path / "b").exists(), err
    (tmp_path / "c").mkdir()  # (a folder that was there stays; only those made for the batch go)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--out", str(tmp_path / "c" / "d"))
    assert code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["a", "c", "in"] and not list(
        (tmp_path / "c").iterdir()), err


def test_simulate_writes_a_folder_in_the_format_asked(tmp_path, capsys):
    """simulate of a folder of PNGs wrote rounded, clipped PNGs, not the noise bench adds, with no way to ask for
    float TIFFs, while its note said "write 01.tif", which a folder OUT cannot do (a reproducibility QA pass).
    --format tif writes each as float32, the protocol's noise bit for bit; the note names it."""
    from noise2x.io import read_image
    from noise2x.noise import parse_noise, protocol_noisy

    rng = np.random.default_rng(4)
    (tmp_path / "clean").mkdir()
    for name in ("01", "02"):
        _png(tmp_path / "clean" / f"{name}.png", np.clip(rng.normal(128, 60, (40, 40)), 0, 255))
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=25", str(tmp_path / "clean"), str(tmp_path / "a"))
    assert code == 0 and "--format tif (float32) keeps them" in err and "write 01.tif" not in err, err
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=25", str(tmp_path / "clean"), str(tmp_path / "b"),
                        "--format", "tif")
    assert code == 0 and sorted(p.name for p in (tmp_path / "b").iterdir()) == ["01.tif", "02.tif"], err
    for i, name in enumerate(("01", "02")):
        clean = read_image(tmp_path / "clean" / f"{name}.png")
        expected = protocol_noisy(clean, parse_noise("gaussian:sigma=25"), index=i).astype(np.float32)
        np.testing.assert_array_equal(read_image(tmp_path / "b" / f"{name}.tif"), expected)
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=25", str(tmp_path / "clean"), str(tmp_path / "c"),
                        "--format", "xyz")
    assert code == 2 and "--format xyz: unsupported file extension" in _one_error_line(err), err
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=25", str(tmp_path / "clean" / "01.png"),
                        str(tmp_path / "one.png"), "--format", "tif")
    assert code == 2 and "--format is for a folder OUT" in _one_error_line(err), err
    (tmp_path / "clean" / "01.tif").write_bytes((tmp_path / "b" / "01.tif").read_bytes())  # (01.png's output name)
    code, _, err = _run(capsys, "simulate", "gaussian:sigma=25", str(tmp_path / "clean"), str(tmp_path / "d"),
                        "--format", "tif")
    assert code == 2 and "simulate them into separate folders" in _one_error_line(err), err


def test_a_failed_command_leaves_no_output_folder_it_made(tmp_path, capsys):
    """A denoise or simulate refused after its output folders were made (a wrong --set, --shard or --device, a
    model that cannot be read, a NaN input) left them, empty: a Makefile's folder target or a script's
    `[ -d out ]` then took the step as done (an automation QA pass). They go; a folder that was there stays, and
    so does one holding an output. bench checks its --out folder before the run, not after it."""
    rng = np.random.default_rng(3)
    (tmp_path / "in").mkdir()
    for name in ("a.png", "b.png"):
        _png(tmp_path / "in" / name, rng.normal(120, 20, (24, 24)))
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    nan = np.full((16, 16), 100, np.float32)
    nan[3, 3] = np.nan
    import tifffile

    tifffile.imwrite(tmp_path / "nan.tif", nan)
    made = tmp_path / "x" / "y"
    for argv in (["denoise", str(tmp_path / "in"), "--method", "nlm", "--set", "foo=1", "--out", f"{made}/"],
                 ["denoise", str(tmp_path / "in" / "a.png"), "--method", "nlm", "--shard", "3/2", "--out",
                  str(made / "c.png")],
                 ["denoise", str(tmp_path / "in"), "--model", str(tmp_path / "junk.safetensors"), "--out", str(made)],
                 ["simulate", "gaussian:sigma=25", str(tmp_path / "nan.tif"), str(made)]):
        code, _, err = _run(capsys, *argv)
        assert code in (1, 2) and _one_error_line(err) and not (tmp_path / "x").exists(), (argv, err)
    (tmp_path / "keep").mkdir()
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--set", "foo=1", "--out",
                        str(tmp_path / "keep" / "new"))
    assert code == 2 and (tmp_path / "keep").is_dir() and not (tmp_path / "keep" / "new").exists()
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--set", "foo=1", "--out",
                        f"{tmp_path / 'missing'}/../keep/")  # (the user's folder by another way: stays)
    assert code == 2 and (tmp_path / "keep").is_dir() and not (tmp_path / "missing").exists()
    (tmp_path / "in" / "b.png").write_bytes(b"not a png")  # (one of two fails: exit 1, the folder holds the other)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "in"), "--method", "nlm", "--out", str(made), "-q")
    assert code == 1 and [p.name for p in made.iterdir()] == ["a.png"]
    # a file where the output folder would be: said as such, before any work
    if os.path.exists(os.devnull) and os.name == "posix":
        code, _, err = _run(capsys, "denoise", str(tmp_path / "in" / "a.png"), "--method", "nlm", "--out", os.devnull)
        assert code == 2 and "/dev/null is not a folder (--out with no file extension names a folder)" in \
            _one_error_line(err)
    code, _, err = _run(capsys, "bench", "--methods", "nlm", "--dataset", str(tmp_path / "in"), "--noise",
                        "gaussian:sigma=15", "--limit", "1", "--out", str(tmp_path / "in" / "a.png" / "r.json"))
    assert code == 1 and "output folder cannot be made:" in _one_error_line(err) and "[1/1]" not in err


def test_an_output_that_is_its_input_under_another_name_is_refused(tmp_path, capsys):
    """The check that an output would overwrite its input compared resolved names: on a file system that ignores
    case (macOS by default) `denoise IMG.PNG --out img.png` names one file two ways, and overwrote the input
    (a portability QA pass). Files are compared by identity; a hard link shows it on any file system."""
    src = _png(tmp_path / "a.png", np.random.default_rng(0).normal(120, 20, (24, 24)))
    before = src.read_bytes()
    os.link(src, tmp_path / "b.png")
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "b.png"))
    assert code == 2 and "would overwrite its input" in _one_error_line(err) and src.read_bytes() == before


def test_a_shipped_models_noise_check_is_made_once_per_file(tmp_path, capsys, monkeypatch, gray_image):
    """denoise --model SHIPPED read the image's noise twice (the CLI's check, then noise2x.denoise's, whose
    warning the CLI leaves out), slow on a large image (a performance QA pass). Once per file; the Python
    API still makes it."""
    from noise2x import api, predict

    calls = []
    real = predict._weak_for_shipped
    monkeypatch.setattr(predict, "_weak_for_shipped", lambda *a: calls.append(1) or real(*a))
    noisy = gray_image + 20 * np.random.default_rng(0).standard_normal(gray_image.shape)
    src = _png(tmp_path / "a.png", noisy)
    assert _run(capsys, "denoise", str(src), "--model", "gray-gaussian", "--out", str(tmp_path / "o.png"))[0] == 0
    assert len(calls) == 1
    api.denoise(noisy, model="gray-gaussian")
    assert len(calls) == 2


def test_an_output_folder_removed_meanwhile_is_made_again(tmp_path, capsys, monkeypatch, gray_image):
    """A job of an array that fails removes the empty output folder it made, while the other jobs still work
    towards it (an array's jobs start at once in a folder none has made yet): their writes found no folder. The
    folder is made again before each write."""
    from noise2x import api

    real = api.denoise
    out = tmp_path / "out"

    def denoise(*args, **kwargs):
        result = real(*args, **kwargs)
        out.rmdir()  # (the failed job's clean-up, while this one worked)
        return result

    monkeypatch.setattr(api, "denoise", denoise)
    src = _png(tmp_path / "a.png", gray_image)
    assert _run(capsys, "denoise", str(src), "--method", "nlm", "--out", f"{out}/", "-q")[0] == 0
    assert (out / "a.png").is_file()


def test_a_stacks_shot_noise_note_is_said_once(tmp_path, capsys, gray_image):
    """bm3d/nlm with no noise say when it reads as shot noise; a stack said it once per frame, each with its own
    peak: once, with the frame it was read on."""
    rng = np.random.default_rng(0)
    crop = np.tile(np.asarray(gray_image, dtype=np.float64), (3, 3))
    stack = np.stack([255.0 * rng.poisson(crop * 4 / 255.0) / 4 for _ in range(3)]).astype(np.float32)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack", metadata={"axes": "ZYX"})
    code, _, err = _run(capsys, "denoise", str(tmp_path / "s.tif"), "--method", "nlm", "--out", str(tmp_path / "o.tif"))
    assert code == 0
    notes = [line for line in err.splitlines() if "reads as signal-dependent (shot noise" in line]
    assert len(notes) == 1 and notes[0].endswith("(read on frame 1; not repeated for the other frames)"), err


def test_rounding_a_few_counts_is_said_and_float_writes_them_unrounded(tmp_path, capsys):
    """A uint16 flat field at 2.4 photons came back 12% low: its smooth result rounded the same way everywhere,
    unsaid, and no option wrote float (a quantitative imaging QA pass)."""
    rng = np.random.default_rng(5)
    tifffile.imwrite(tmp_path / "flat.tif", rng.poisson(2.4, (96, 96)).astype(np.uint16))
    # a stack's faint frames each (the stack's mean moved by under 1%: unsaid, a re-check)
    tifffile.imwrite(tmp_path / "st.tif", np.stack([rng.poisson(2.4, (64, 64)), rng.poisson(60, (64, 64)),
                                                    rng.poisson(2.4, (64, 64))]).astype(np.uint16),
                     photometric="minisblack")
    for name, moved in (("flat", "its mean by"), ("st", r"the mean of frames 1, 3 \(of 3\) by -\d+\.\d% to")):
        assert main(["denoise", str(tmp_path / f"{name}.tif"), "--out", str(tmp_path / f"r_{name}.tif")]) == 0
        err = capsys.readouterr().err
        assert re.search(rf"note: \S*r_{name}.tif: written as uint16, its values rounded to whole numbers, which "
                         rf"moves {moved} -\d+\.\d%.*; --float writes float32, unrounded", err), err
        assert main(["denoise", str(tmp_path / f"{name}.tif"), "--float", "--out",
                     str(tmp_path / f"f_{name}.tif")]) == 0
        assert "rounded" not in capsys.readouterr().err
        noisy, out, rounded = (tifffile.imread(tmp_path / f"{p}{name}.tif") for p in ("", "f_", "r_"))
        assert out.dtype == np.float32 and out.shape == noisy.shape
        noisy, out, rounded = (a[-1] if name == "st" else a for a in (noisy, out, rounded))  # (a faint frame)
        assert abs(out.mean() / noisy.mean() - 1) < 0.03 < abs(rounded.mean() / noisy.mean() - 1)
    # where the output holds no float: the way named with a format that does
    assert main(["denoise", str(tmp_path / "flat.tif"), "--out", str(tmp_path / "r.png")]) == 0
    assert "; --float with a .tif, .fits or .mrc output writes float32" in capsys.readouterr().err
    # 8-bit data at ordinary levels: nothing to say
    tifffile.imwrite(tmp_path / "mid.tif", np.clip(rng.normal(120, 15, (64, 64)), 0, 255).astype(np.uint8))
    capsys.readouterr()
    assert main(["denoise", str(tmp_path / "mid.tif"), "--out", str(tmp_path / "m.tif")]) == 0
    assert "rounded" not in capsys.readouterr().err
    # a format that holds no float32: refused before any work, nothing written
    assert main(["denoise", str(tmp_path / "flat.tif"), "--float", "--out", str(tmp_path / "f.png")]) == 2
    assert "--float: " in capsys.readouterr().err and not (tmp_path / "f.png").exists()
    # a folder of PNGs: --format tif with --float (no way was there: a documentation audit); for a folder --out only
    (tmp_path / "pngs" / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        Image.fromarray(rng.poisson(2.4, (48, 48)).astype(np.uint8)).save(tmp_path / "pngs" / name)
    assert main(["denoise", str(tmp_path / "pngs"), "--recursive", "--float", "--out", str(tmp_path / "p")]) == 2
    assert "unless --format tif" in capsys.readouterr().err
    assert main(["denoise", str(tmp_path / "pngs"), "--recursive", "--format", "tif", "--float", "--out",
                 str(tmp_path / "p"), "-q"]) == 0
    assert sorted(p.relative_to(tmp_path / "p").as_posix() for p in (tmp_path / "p").rglob("*.tif")) == [
        "a.tif", "sub/b.tif"] and tifffile.imread(tmp_path / "p" / "sub" / "b.tif").dtype == np.float32
    assert main(["denoise", str(tmp_path / "pngs" / "a.png"), "--format", "tif", "--out", str(tmp_path / "x.png")]) == 2
    assert "--format is for a folder --out" in capsys.readouterr().err


def test_locales_names_and_blank_settings(tmp_path):
    """A locale QA pass: under an ASCII locale without UTF-8 mode, bench's table ('–') ended in an internal error,
    and a model in a folder of a UTF-8 name was refused as "not valid UTF-8"; records held a path as the locale
    decoded it (Latin-1: "out Ã©.png") or its lone surrogates, and a line break in a name split them; a blank
    SOURCE_DATE_EPOCH was an internal error; a decimal comma in a noise spec was told to write key=value."""
    import shutil

    from noise2x import provenance
    from noise2x.benchmark import _finite
    from noise2x.errors import UsageError
    from noise2x.io import write_image
    from noise2x.noise import parse_noise
    from noise2x.pretrained import model_path

    folder = tmp_path / "data é"
    folder.mkdir()
    write_image(folder / "a.png", np.clip(np.random.default_rng(0).normal(120, 20, (48, 48)), 0, 255).astype(np.uint8))
    shutil.copy(model_path("gray-gaussian"), folder / "m.safetensors")
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    env.pop("PYTHONIOENCODING")
    bench = subprocess.run([sys.executable, "-m", "noise2x", "bench", "--methods", "nlm", "--dataset", str(folder),
                            "--noise", "gaussian:sigma=25", "--out", str(tmp_path / "b.json")], env=env,
                           capture_output=True, check=False, cwd=tmp_path)
    assert bench.returncode == 0 and b"| noisy |" in bench.stdout and b"\\u2013" in bench.stdout, bench.stderr
    info = subprocess.run([sys.executable, "-m", "noise2x", "info", "m.safetensors"], env=env, capture_output=True,
                          check=False, cwd=folder)
    assert info.returncode == 0, info.stderr
    assert json.loads((tmp_path / "b.json").read_text())["dataset"].endswith("/data é")
    blank = subprocess.run([sys.executable, "-m", "noise2x", "denoise", "a.png", "--method", "nlm", "--out", "o.png",
                            "-q"], env={**os.environ, "SOURCE_DATE_EPOCH": " "}, capture_output=True, check=False,
                           cwd=folder)
    assert blank.returncode == 0, blank.stderr
    # the record: the UTF-8 text of the bytes, whatever the locale made of them
    assert provenance.command_line(["--out", "o\udcc3\udca9.png"]) == "noise2x --out 'oé.png'"  # (ASCII locale)
    assert provenance.command_line([os.fsdecode(b"o\xe9.png")]) == "noise2x 'o\\xe9.png'"  # (not UTF-8)
    assert provenance.path_text("new\nline.png") == "new\\x0aline.png"
    from noise2x.io import _ascii_card, _ascii_history  # ("é" and the byte 0xE9 told apart in TIFF and FITS records)

    assert _ascii_history([provenance.path_text(os.fsdecode(b"o\xe9"))]) == b"o\\xe9"
    assert _ascii_history([provenance.path_text("o\u00e9")]) == _ascii_card("o\u00e9").encode() == b"o\\u00e9"
    assert _finite({"dataset": "dir\udcff", "k": ["d\udcc3\udca9"]}) == {"dataset": "dir\\xff", "k": ["dé"]}
    with pytest.raises(UsageError, match=r"a decimal point, not a comma"):
        parse_noise("gaussian:sigma=2,5")
    with pytest.raises(UsageError, match=r"path must be a file name \(str or Path\), got bytes"):
        write_image(b"w.png", np.zeros((8, 8)))


def test_colour_channels_say_each_channels_sigma(tmp_path, capsys, gray_image):
    """--colour channels with a direct method: each channel's sigma, as their range, in the progress line and the
    output's record (the last channel's alone was said: a hyperspectral user's QA pass)."""
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    cube = np.stack([gray_image] * 3, axis=-1) / 255.0 + rng.normal(0, 1, gray_image.shape + (3,)) * np.array(
        [0.01, 0.05, 0.1])
    src = tmp_path / "c.tif"
    tifffile.imwrite(src, cube.astype(np.float32), photometric="rgb")
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--colour", "channels", "--out",
                        str(tmp_path / "o.tif"))
    said = re.search(r"sigma (0\.0\d+) to (0\.\d+) \(estimated, per channel\)", err)
    assert code == 0 and said and float(said.group(2)) > 5 * float(said.group(1)), err
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert said.group(0) in tif.pages[0].tags[37395].value


def test_a_stacks_dead_frame_and_info_route_name_their_frame(tmp_path, capsys, gray_image):
    """A cube with a dead (all-zero) band: the solid-area note names its frame; info's no-option line says which
    frame its route is of (each frame takes its own: a hyperspectral user's QA pass)."""
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    cube = np.stack([gray_image * (0.5 + 0.1 * k) + rng.normal(0, 10, gray_image.shape) for k in range(4)])
    cube[2] = 0
    src = tmp_path / "cube.tif"
    tifffile.imwrite(src, cube.astype(np.float32), photometric="minisblack")
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "o.tif"))
    assert code == 0 and re.search(r"note: 100% of the image lies in solid areas of 0; .* \(frame 3\)", err), err
    assert "too (see the note above" not in err
    cube[1, :, :20] = cube[3, :, :20] = 0  # (a volume's slices with a fill each: said once, the others named after
    tifffile.imwrite(src, cube.astype(np.float32), photometric="minisblack")  # it, not 3 times: a tomography QA
    code, _, err = _run(capsys, "denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "o.tif"))  # pass)
    assert code == 0 and len(re.findall(r"lies in solid areas of 0", err)) == 1 and re.search(
        r"lies in solid areas of 0; .* \(frame 2\)", err), err
    assert f"note: {src}: solid areas of 0 in frame 3 too (see the note above; --blank-value 0 where they hold no " \
           f"data)" in err, err  # (frame 4's zeros, far below its values, read as a fill, its own note naming it)
    assert re.search(r"note: \d+ pixels \([\d.]+%\) hold 0, far below every other value .*--blank-value none \(frame "
                     r"4\)\n", err) and "(blank_value='none')" not in err, err
    code, out, _ = _run(capsys, "info", str(src))
    assert code == 0 and "noise2x denoise with no options (frame 1): " in out, out


def test_a_slide_scanners_file_is_read_said_and_written_as_a_slide(tmp_path, capsys):
    """A whole-slide QA pass: .svs files were refused (a folder skipped them unsaid); info called an SVS's label
    and macro thumbnails, and denoise dropped its pyramid, MPP and tiles without a word. Now .svs is read as a
    TIFF, a folder's output of one is named .tif, an .svs output is refused before any work; info says what is
    kept (tiles, MPP, the pyramid made again) and left out (label, macro), and denoise says what its output
    leaves out."""
    import tifffile

    from conftest import svs_like

    yy, xx = np.mgrid[0:256, 0:384]
    base = np.stack([(xx + yy) % 256, (xx * 2) % 256, (yy * 3) % 256], axis=-1).astype(np.uint8)
    folder = tmp_path / "slides"
    folder.mkdir()
    src = folder / "case1.svs"
    svs_like(src, base, base[::4, ::4], base[::8, ::8])
    code, out, _ = _run(capsys, "info", str(src))
    assert code == 0 and "JPEG-compressed (TIFF outputs: Deflate, lossless" in out.splitlines()[0], out
    assert "in 128x128 tiles (kept in TIFF outputs)" in out.splitlines()[0], out
    assert "(0.252 µm a pixel)" in out and "MPP 0.252; TIFF outputs" in out, out
    assert "left out: the slide's label and macro images (not the scan)" in out, out
    assert "pyramid: 1 reduced-resolution level and an SVS thumbnail (.ome.tif: levels alone), made again from the " \
           "denoised image" in out
    assert "thumbnails" not in out, out
    run = ["--method", "nlm", "--noise", "gaussian:sigma=10"]
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "x.svs"), *run)
    assert code == 2 and "does not write them; write .tif or .ome.tif" in _one_error_line(err)
    code, _, err = _run(capsys, "denoise", str(folder), "--out", str(tmp_path / "out"), *run)
    assert code == 0 and "note: " + str(src) + ": left out: the slide's label and macro images (not the scan)" in err
    assert "pyramid" not in err, err  # (a TIFF output gets it)
    with tifffile.TiffFile(tmp_path / "out" / "case1.tif") as t:
        assert t.is_svs and len(t.series[0].levels) == 2 and t.pages[0].is_tiled
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.png"), *run)
    assert code == 0 and "left out: its pyramid's 1 reduced-resolution level (a TIFF output gets it again)" in err
    assert "the slide's thumbnail, label and macro images" in err, err
    code, _, err = _run(capsys, "denoise", str(src), "--out", str(tmp_path / "o.ome.tif"), *run)  # (no thumbnail)
    assert code == 0 and "the slide's thumbnail, label and macro images" in err and "pyramid" not in err, err
    xml = tmp_path / "scn.tif"  # (a scanner's XML description: left out, said)
    tifffile.imwrite(xml, base, tile=(128, 128), photometric="rgb", metadata=None,
                     description='<?xml version="1.0"?><scn><image mpp="0.25"/></scn>')
    code, out, _ = _run(capsys, "info", str(xml))
    assert code == 0 and "left out: its XML description (a scanner's own metadata" in out, out
    code, _, err = _run(capsys, "denoise", str(xml), "--out", str(tmp_path / "scn_out.tif"), *run)  # (and denoise)
    assert code == 0 and "left out: its XML description" in err, err
    bom = '\ufeff<?xml version="1.0"?><scn/>'.encode("utf-8")
    tifffile.imwrite(xml, base, photometric="rgb", metadata=None, description=bom)
    assert "left out: its XML description" in _run(capsys, "info", str(xml))[1]  # (after a byte order mark)
    odd = tmp_path / "f15.ome.tif"  # (levels at a factor of 1.5: .ome.tif outputs alone get them)
    with tifffile.TiffWriter(odd) as t:
        t.write(base[..., 0], tile=(64, 64), subifds=1, metadata={"axes": "YX"})
        t.write(base[:171, :256, 0], tile=(64, 64), subfiletype=1)
    code, out, _ = _run(capsys, "info", str(odd))
    assert code == 0 and "made again from the denoised image in .ome.tif outputs (a plain .tif's would not" in out
    code, _, err = _run(capsys, "denoise", str(odd), "--out", str(tmp_path / "f15.tif"), *run)
    assert code == 0 and "left out: its pyramid's 1 reduced-resolution level (an .ome.tif output gets it" in err
    zero = tmp_path / "zero.tif"  # (an MPP of 0: not shown as if used)
    tifffile.imwrite(zero, base, photometric="rgb", metadata=None, description="Aperio Image Library |MPP = 0|")
    code, out, _ = _run(capsys, "info", str(zero))
    assert code == 0 and "MPP unreadable, no pixel size taken from it" in out and "dpi" not in out, out


def test_thermal_counts_and_temperatures_are_not_written_where_they_would_be_lost(tmp_path, capsys):
    """A thermal QA pass: a camera's 14-bit counts (7600..8800 of 65535) written to a JPEG became 7 grey levels,
    and temperatures in °C (-20..34) written to a PNG lost every value below 0 (61% of them), both exit 0. Both are
    refused before any work, naming the output that keeps them."""
    import tifffile

    rng = np.random.default_rng(0)
    counts = np.round(7600 + 1100 * rng.random((40, 48))).astype(np.uint16)
    tifffile.imwrite(tmp_path / "raw14.tif", counts)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "raw14.tif"), "--method", "nlm", "--out",
                        str(tmp_path / "raw14.jpg"))
    said = _one_error_line(err)
    assert code == 2 and "so they would become 5 grey levels: write raw14.png (16 bits) or .tif" in said, said
    assert not (tmp_path / "raw14.jpg").exists()
    celsius = (-25 + 40 * rng.random((40, 48))).astype(np.float32)  # (62% below 0)
    tifffile.imwrite(tmp_path / "degC.tif", celsius)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "degC.tif"), "--method", "nlm", "--out",
                        str(tmp_path / "degC.png"))
    said = _one_error_line(err)
    assert code == 2 and "most beyond the 0..255 a PNG file stores here: they would be clipped" in said, said
    celsius += 15  # (a quarter below 0: written, with io's clipping warning)
    tifffile.imwrite(tmp_path / "warm.tif", celsius)
    code, _, err = _run(capsys, "denoise", str(tmp_path / "warm.tif"), "--method", "nlm", "--out",
                        str(tmp_path / "warm.png"))
    assert code == 0 and (tmp_path / "warm.png").exists(), err


def test_a_flir_jpegs_radiometric_data_are_said_to_be_left_out(tmp_path, capsys):
    """A thermal QA pass: a FLIR camera's JPEG lost its radiometric segment (the raw thermal frame) unsaid, and its
    output, still made by "FLIR Systems AB" in its EXIF, looked like one holding temperatures."""
    import io as bytes_io

    from PIL import Image

    from noise2x.io import jpeg_segment_names

    rng = np.random.default_rng(0)
    buffer = bytes_io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    plain = buffer.getvalue()
    flir = b"FLIR\x00" + bytes(1000)
    (tmp_path / "plain.jpg").write_bytes(plain)
    (tmp_path / "FLIR0001.jpg").write_bytes(plain[:2] + b"\xff\xe1" + (len(flir) + 2).to_bytes(2, "big") + flir
                                            + plain[2:])
    assert jpeg_segment_names(tmp_path / "FLIR0001.jpg") == ["APP1 FLIR", "APP0 JFIF"]
    code, out, _ = _run(capsys, "info", str(tmp_path / "FLIR0001.jpg"))
    assert code == 0 and "left out: its FLIR radiometric data (APP1 'FLIR' segments" in out, out
    assert "left out" not in _run(capsys, "info", str(tmp_path / "plain.jpg"))[1]
    code, _, err = _run(capsys, "denoise", str(tmp_path / "FLIR0001.jpg"), "--method", "nlm", "--out",
                        str(tmp_path / "out.jpg"))
    assert code == 0 and "note: " + str(tmp_path / "FLIR0001.jpg") + ": left out: its FLIR radiometric data" in err
