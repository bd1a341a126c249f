"""MRC files (electron microscopy: micrographs, particle stacks, tomograms): read in their own units, a stack or
volume section by section, written back with their voxel size, and through the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from noise2x import io, provenance
from noise2x.cli import main
from noise2x.errors import InputError, Noise2xError, UsageError

mrcfile = pytest.importorskip("mrcfile")


def _mrc(path, data, voxel=None, stack=False):
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(data)
        if voxel is not None:
            m.voxel_size = voxel
        if stack:
            m.set_image_stack()
    return path


def _em_stack(n=3, h=37, w=45, seed=0):
    """EM-like float data: mean near 0, negative values, a smooth scene under white noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    scene = np.stack([np.sin(xx / (4.0 + k)) * np.cos(yy / 6.0) for k in range(n)])
    return (scene + 0.4 * np.random.default_rng(seed).standard_normal(scene.shape)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.int8, np.uint16, np.float16])
def test_mrc_reads_each_real_mode_in_its_own_units(tmp_path, dtype):
    data = (np.arange(4 * 6 * 5).reshape(4, 6, 5) - 40).astype(dtype)
    if np.dtype(dtype).kind == "u":
        data = np.arange(4 * 6 * 5, dtype=dtype).reshape(4, 6, 5) * 300
    path = _mrc(tmp_path / "a.mrc", data)
    stack = io.read_stack(path)
    assert stack.shape == (4, 6, 5) and stack.dtype == np.float64
    np.testing.assert_array_equal(stack, data.astype(np.float64))
    assert io.stack_frames(path) == [None] * 4 and io.frame_side(path) == 5
    assert io.image_kind(path) == ("uint16" if dtype == np.uint16 else "float32")
    assert io.stored_kind(path) == np.dtype(dtype).name
    one = _mrc(tmp_path / "one.mrc", data[1])
    np.testing.assert_array_equal(io.read_image(one), data[1].astype(np.float64))
    with pytest.raises(InputError, match="MRC stack or volume with 4 images; use read_stack"):
        io.read_image(path)


def test_mrc_stack_comes_section_by_section_and_is_written_back_with_its_voxel_size(tmp_path):
    data = _em_stack()
    src = _mrc(tmp_path / "particles.mrcs", data, voxel=1.34, stack=True)
    frames, alpha = io.open_stack(src, dtype=np.float32)
    with frames:
        assert isinstance(frames, io.MrcFrames) and alpha is None and frames.shape == data.shape
        np.testing.assert_array_equal(frames[2], data[2])
    voxel = io.mrc_voxel_size(src)
    assert voxel[:2] == pytest.approx((1.34, 1.34), rel=1e-6)
    io.write_image(tmp_path / "w.mrcs", data * 2, like=src)
    io.write_frames(tmp_path / "f.mrcs", iter(data), data.shape, kind="float32", like=src)
    for name in ("w.mrcs", "f.mrcs"):
        with mrcfile.open(tmp_path / name) as m:
            assert m.header.mode == 2 and m.is_image_stack()
            assert tuple(m.voxel_size.tolist()) == voxel
            np.testing.assert_array_equal(m.data, data * (2 if name == "w.mrcs" else 1))
            assert float(m.header.dmax) == pytest.approx(float(m.data.max()))  # (its statistics updated)
    io.write_image(tmp_path / "u.mrc", np.arange(20, dtype=np.uint16).reshape(4, 5))
    assert io.image_kind(tmp_path / "u.mrc") == "uint16"
    assert io.mrc_voxel_size(tmp_path / "u.mrc") is None  # (no calibration given: none said)
    with pytest.raises(UsageError, match="an MRC file here holds gray images and stacks, not colour ones"):
        io.write_image(tmp_path / "c.mrc", np.zeros((8, 9, 3)))


def test_mrc_files_that_are_no_images_are_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "bad.mrc").write_bytes(b"not an MRC file" * 4)
    with pytest.raises(InputError, match="bad.mrc"):
        io.read_stack(tmp_path / "bad.mrc")
    short = tmp_path / "short.mrc"
    short.write_bytes(_mrc(tmp_path / "full.mrc", _em_stack()).read_bytes()[:1100])
    with pytest.raises(InputError, match="short.mrc"):
        io.read_stack(short)
    with pytest.raises(InputError, match="complex float32 \\(Fourier\\) samples"):
        io.read_stack(_mrc(tmp_path / "fft.mrc", np.zeros((8, 8), np.complex64)))
    import builtins

    real_import = builtins.__import__

    def no_mrcfile(name, *args, **kwargs):
        if name == "mrcfile":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mrcfile)
    with pytest.raises(Noise2xError, match=r'MRC files need mrcfile: pip install "noise2x\[mrc\]"'):
        io.read_stack(tmp_path / "full.mrc")


def test_cli_denoises_an_mrc_stack_into_mrc_and_says_its_voxel_size(tmp_path, capsys):
    from noise2x.metrics import psnr

    data = _em_stack(n=2, h=64, w=72)
    yy, xx = np.mgrid[0:64, 0:72]
    clean = np.stack([np.sin(xx / (4.0 + k)) * np.cos(yy / 6.0) for k in range(2)])
    src = _mrc(tmp_path / "tomo.rec", data, voxel=(2.0, 2.0, 4.0))
    assert main(["info", str(src)]) == 0
    out = capsys.readouterr().out
    assert "MRC, float32 samples, 72x64 gray" in out and "voxel size: 2 x 2 x 4 Å" in out and "frames: 2" in out
    assert main(["denoise", str(src), "--method", "bm3d", "--out", str(tmp_path / "d.rec")]) == 0
    with mrcfile.open(tmp_path / "d.rec") as m:
        den = m.data.copy()
        assert den.shape == data.shape and m.header.mode == 2
        assert tuple(m.voxel_size.tolist()) == (2.0, 2.0, 4.0)
    for k in range(2):  # (in the data's own units: mean near 0, negative values)
        gain = psnr(clean[k] + 2, den[k] + 2, data_range=4) - psnr(clean[k] + 2, data[k] + 2, data_range=4)
        assert gain > 4, gain
    capsys.readouterr()
    # several sections to a one-image format, a colour image to MRC: refused before any work
    assert main(["denoise", str(src), "--method", "bm3d", "--out", str(tmp_path / "d.png")]) == 2
    assert "only a TIFF, FITS or MRC output" in capsys.readouterr().err
    from PIL import Image

    Image.fromarray(np.zeros((20, 20, 3), np.uint8) + np.arange(20, dtype=np.uint8)[:, None, None]).save(
        tmp_path / "c.png")
    assert main(["denoise", str(tmp_path / "c.png"), "--out", str(tmp_path / "c.mrc")]) == 2
    assert "an MRC output holds gray images and stacks" in capsys.readouterr().err
    assert not (tmp_path / "c.mrc").exists()
    # simulate: float32 MRC, its voxel size kept
    assert main(["simulate", "gaussian:sigma=0.3", str(src), str(tmp_path / "s.mrc")]) == 0
    with mrcfile.open(tmp_path / "s.mrc") as m:
        assert m.data.shape == data.shape and m.data.dtype == np.float32
        labels = [bytes(t).decode().strip() for t in m.header.label[:int(m.header.nlabl)]]
        first = f"noise2x {provenance.code_version()} simulate gaussian:sigma=0.3 (seed 0) on tomo.rec"
        assert first in labels or any(t.startswith(first[:38]) and t.endswith(first[-39:]) for t in labels), labels
        assert labels[-1].startswith("noise2x simulate gaussian:sigma=0.3 ") and len(labels[-1]) <= 80  # (the
        # command, its middle cut)
        assert tuple(m.voxel_size.tolist()) == (2.0, 2.0, 4.0)
        assert 0.2 < float(np.std(m.data - data)) < 0.4


def test_training_reads_a_folder_of_mrc_stacks(tmp_path):
    from noise2x.train import train

    folder = tmp_path / "data"
    folder.mkdir()
    for k in range(2):
        _mrc(folder / f"s{k}.mrcs", _em_stack(n=3, h=40, w=44, seed=k), stack=True)
    path = train("noise2void", data=folder, out=tmp_path / "m.safetensors", steps=3, progress=False,
                  overrides=["train.preset=tiny", "train.threads=1", "data.val_images=2", "data.val_crop=24"])
    import noise2x

    out = noise2x.load_model(path).denoise(_em_stack(n=1, h=40, w=44, seed=5)[0])
    assert out.shape == (40, 44) and np.isfinite(out).all()


def test_imod_unsigned_bytes_are_read_as_unsigned(tmp_path):
    """Mode 0 with IMOD's stamp and its "signed" flag clear holds unsigned bytes (older IMOD, byte-scaled
    tomograms): read as int8 (mrcfile's reading), every voxel above 127 came out 256 too low (a QA pass)."""
    import struct

    u8 = np.random.default_rng(0).integers(0, 256, (3, 16, 20)).astype(np.uint8)
    path = _mrc(tmp_path / "bytes.rec", u8.view(np.int8))
    raw = bytearray(path.read_bytes())
    raw[152:160] = struct.pack("<ii", 1146047817, 0)
    path.write_bytes(bytes(raw))
    np.testing.assert_array_equal(io.read_stack(path), u8.astype(np.float64))
    with io.open_stack(path)[0] as frames:
        np.testing.assert_array_equal(frames[1], u8[1].astype(np.float64))
    assert io.image_kind(path) == "uint8"
    raw[152:160] = struct.pack("<ii", 1146047817, 1)  # the flag set: signed bytes, as stored
    path.write_bytes(bytes(raw))
    np.testing.assert_array_equal(io.read_stack(path), u8.view(np.int8).astype(np.float64))


def test_mrc_outputs_keep_stack_or_volume_labels_and_extended_header(tmp_path):
    data = _em_stack(n=4)
    src = tmp_path / "tilt.st"
    with mrcfile.new(src) as m:
        m.set_data(data)
        m.set_image_stack()
        m.voxel_size = 3.4
        m.add_label("IMOD tilt series: aligned")
        extended = np.zeros(4, dtype=[("tilt", "<f4"), ("dose", "<f4")])
        extended["tilt"] = [-6, -3, 0, 3]
        m.set_extended_header(extended)
        m.header.exttyp = b"FEI1"
    io.write_image(tmp_path / "same.st", data, like=src, history=["noise2x denoise of tilt.st"])
    with pytest.warns(UserWarning, match="extended header"):
        io.write_image(tmp_path / "part.mrc", data[:2], like=src)  # (a subset: a stack still)
    io.write_image(tmp_path / "plain.mrcs", data)  # (no MRC input: .mrcs is a stack of images)
    io.write_image(tmp_path / "plain.mrc", data)  # (.mrc: a volume)
    with mrcfile.open(tmp_path / "same.st") as m:
        labels = [bytes(t).decode().strip() for t in m.header.label[:int(m.header.nlabl)]]
        assert labels[-2:] == ["IMOD tilt series: aligned", "noise2x denoise of tilt.st"]
        assert m.header.exttyp == b"FEI1" and list(m.extended_header.view(extended.dtype)["tilt"]) == [-6, -3, 0, 3]
        assert m.is_image_stack()
    for name, stack in (("part.mrc", True), ("plain.mrcs", True), ("plain.mrc", False)):
        with mrcfile.open(tmp_path / name) as m:
            assert m.is_image_stack() == stack and m.is_volume() != stack, name
    with mrcfile.open(tmp_path / "part.mrc") as m:
        assert m.voxel_size.x == pytest.approx(3.4) and m.voxel_size.y == pytest.approx(3.4)
        assert int(m.header.nsymbt) == 0  # (records of 4 sections for 2: left out, and said)
    with pytest.warns(UserWarning, match=r"its extended header \(FEI1 records of its 4 sections\) is left out of an "
                                         r"output of 1 section"):
        io.write_image(tmp_path / "one.mrc", data[0], like=src)
    with mrcfile.open(tmp_path / "one.mrc") as m:
        assert int(m.header.nsymbt) == 0 and int(m.header.mz) == 1
    # blank (NaN) pixels: the header's statistics are those of the values
    blanked = data.copy()
    blanked[:, :5, :5] = np.nan
    io.write_image(tmp_path / "nan.mrc", blanked, blanks=True)
    with mrcfile.open(tmp_path / "nan.mrc") as m:
        values = blanked[np.isfinite(blanked)]
        assert float(m.header.dmin) == pytest.approx(float(values.min()))
        assert float(m.header.dmean) == pytest.approx(float(values.mean()), rel=1e-5)


def test_mrc_header_oddities_are_said(tmp_path, capsys):
    """More data than the header's sections: read as the header says, with a warning (mrcfile's own was hidden);
    an RGB file is said as such by info as by denoise (info called it damaged); no section: one error line."""
    import struct

    path = _mrc(tmp_path / "p.mrcs", _em_stack(n=5), stack=True)
    raw = bytearray(path.read_bytes())
    raw[8:12] = struct.pack("<i", 3)
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="larger than expected: read as the 3 section"):
        assert io.read_stack(path).shape[0] == 3
    rgb = bytearray(_mrc(tmp_path / "m.mrc", np.zeros((8, 8), np.int8)).read_bytes()[:1024])
    rgb[12:16] = struct.pack("<i", 16)
    (tmp_path / "rgb.mrc").write_bytes(bytes(rgb) + bytes(8 * 8 * 3))
    for argv in (["info", str(tmp_path / "rgb.mrc")],
                 ["denoise", str(tmp_path / "rgb.mrc"), "--method", "nlm", "--out", str(tmp_path / "o.mrc")]):
        assert main(argv) == 1
        assert "rgb.mrc holds RGB samples" in capsys.readouterr().err
    _mrc(tmp_path / "empty.mrcs", np.zeros((0, 8, 8), np.float32))
    assert main(["info", str(tmp_path / "empty.mrcs")]) == 1
    err = capsys.readouterr().err
    assert "empty.mrcs holds no image" in err and err.count("\n") == 1, err


def test_float_micrographs_are_not_written_as_a_few_grey_levels(tmp_path, capsys):
    """An electron micrograph's values (about -2..2) became 0, 1 and 2 in a PNG, without a word (a QA pass)."""
    src = _mrc(tmp_path / "mic.mrc", _em_stack(n=1, h=40, w=40)[0])
    assert main(["denoise", str(src), "--method", "nlm", "--out", str(tmp_path / "mic.png")]) == 2
    err = capsys.readouterr().err
    assert "a PNG file stores whole numbers, so they would become" in err and "write mic.tif (float, or .mrc)" in err
    assert not (tmp_path / "mic.png").exists()
    # counts (whole numbers, 0..10: a counting-mode micrograph's) too; its suggestion is not the input's own name
    counts = _mrc(tmp_path / "counts.mrc", np.random.default_rng(0).poisson(2.0, (40, 40)).astype(np.int16))
    assert main(["denoise", str(counts), "--method", "nlm", "--out", str(tmp_path / "counts.png")]) == 2
    assert "grey levels at most: write counts.tif" in capsys.readouterr().err
    import tifffile

    tifffile.imwrite(tmp_path / "f.tif", _em_stack(n=1, h=40, w=40)[0] + 3)
    assert main(["denoise", str(tmp_path / "f.tif"), "--method", "nlm", "--out", str(tmp_path / "f.png")]) == 2
    assert "write f_denoised.tif (float)" in capsys.readouterr().err
    mask = tmp_path / "mask.tif"  # (0 and 1 alone: a mask, written as it is)
    tifffile.imwrite(mask, (np.arange(40 * 40).reshape(40, 40) % 2).astype(np.float32))
    assert main(["simulate", "gaussian:sigma=0", str(mask), str(tmp_path / "mask.png")]) == 0
    capsys.readouterr()
    # a result that comes out so, from Python: warned as written
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        io.write_image(tmp_path / "w.png", np.linspace(-0.6, 3.4, 100).reshape(10, 10))
    assert any("so they become 4 grey levels: write .tif, .fits or .mrc" in str(w.message) for w in said), said
    with warnings.catch_warnings():  # a dark or flat picture in 8-bit units: no word
        warnings.simplefilter("error")
        io.write_image(tmp_path / "dark.png", np.linspace(0.2, 9.7, 100).reshape(10, 10))
    assert main(["simulate", "poisson:peak=30,data_range=1", str(src), str(tmp_path / "p.mrc")]) == 0
    assert "of its values below 0: a photon count's rate cannot be negative" in capsys.readouterr().err
    hu = tmp_path / "hu.tif"  # int16 in Hounsfield units: the units note and the one of values below 0, both (the
    tifffile.imwrite(hu, np.kron(np.array([[-1000, 40], [300, 1500]], np.int16), np.ones((20, 20), np.int16)))
    assert main(["simulate", "poisson:peak=30", str(hu), str(tmp_path / "hu_p.tif")]) == 0  # second was left out)
    err = capsys.readouterr().err
    assert "of its values below 0: a photon count's rate cannot be negative" in err and err.count("note:") >= 2
    assert "\\x0a" not in err and all(line.startswith("noise2x: note: ") for line in err.splitlines()[:2])
    with mrcfile.open(tmp_path / "p.mrc") as m:  # (a single image: written whole, labelled as a stack's frames are)
        assert any(bytes(t).rstrip().endswith(b"(seed 0) on mic.mrc") for t in m.header.label[1:int(m.header.nlabl)])
