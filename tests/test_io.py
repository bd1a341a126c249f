"""Image I/O: round trips for every format and kind, stacks, odd PNG/TIFF flavours, errors, atomic writes."""

from __future__ import annotations

import functools
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from noise2x import io
from noise2x.errors import InputError, Noise2xError, UsageError


def _rand(shape, top, seed=0):
    return np.random.default_rng(seed).integers(0, top + 1, shape).astype(np.float64)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- round trips

EXACT_CASES = [
    ("g8.png", (37, 31), 255, None, "uint8"),
    ("c8.png", (37, 31, 3), 255, None, "uint8"),
    ("g16.png", (37, 31), 65535, "uint16", "uint16"),
    ("c16.png", (37, 31, 3), 65535, "uint16", "uint16"),
    ("g8.bmp", (37, 31), 255, None, "uint8"),
    ("c8.bmp", (37, 31, 3), 255, None, "uint8"),
    ("g8.tif", (37, 31), 255, "uint8", "uint8"),
    ("c8.tiff", (37, 31, 3), 255, "uint8", "uint8"),
    ("g16.tif", (37, 31), 65535, "uint16", "uint16"),
    ("c16.tif", (37, 31, 3), 65535, "uint16", "uint16"),
]


@pytest.mark.parametrize("name, shape, top, kind, expect_kind", EXACT_CASES)
def test_integer_round_trip_is_exact(tmp_path, name, shape, top, kind, expect_kind):
    image = _rand(shape, top)
    path = tmp_path / name
    io.write_image(path, image, kind=kind)
    back = io.read_image(path)
    assert back.dtype == np.float64 and back.shape == shape
    np.testing.assert_array_equal(back, image)
    assert io.image_kind(path) == expect_kind
    assert _files(tmp_path) == [name]  # no temporary file left beside it


@pytest.mark.parametrize("shape", [(37, 31), (37, 31, 3)])
def test_float_tiff_keeps_values_unclipped(tmp_path, shape):
    image = np.random.default_rng(1).standard_normal(shape) * 1000.0  # far outside 0..255, negative too
    path = tmp_path / "f.tif"
    io.write_image(path, image)  # default kind for TIFF: float32
    back = io.read_image(path)
    np.testing.assert_array_equal(back, image.astype(np.float32).astype(np.float64))
    assert io.image_kind(path) == "float32"
    assert io.read_image(path, dtype=np.float32).dtype == np.float32


def test_float64_tiff_reads_as_stored_and_reports_float32(tmp_path):
    image = np.linspace(-3.0, 7.0, 37 * 31).reshape(37, 31)
    tifffile.imwrite(tmp_path / "d.tif", image)
    np.testing.assert_array_equal(io.read_image(tmp_path / "d.tif"), image)
    assert io.image_kind(tmp_path / "d.tif") == "float32"


@pytest.mark.parametrize("name", ["g.jpg", "c.jpeg"])
def test_jpeg_round_trip_is_close(tmp_path, name, gray_image, rgb_image):
    image = gray_image if name.startswith("g") else rgb_image
    io.write_image(tmp_path / name, image)
    back = io.read_image(tmp_path / name)
    assert back.shape == image.shape
    assert np.abs(back - np.rint(image)).mean() < 4.0  # lossy (colour is subsampled), but close
    assert io.image_kind(tmp_path / name) == "uint8"


def test_png_rounds_to_nearest(tmp_path):
    image = np.full((5, 7), 100.6)
    image[0, 0] = 100.4
    io.write_image(tmp_path / "r.png", image)
    back = io.read_image(tmp_path / "r.png")
    assert back[0, 0] == 100 and back[1, 1] == 101


def test_16bit_png_is_a_valid_png_for_pillow(tmp_path):
    gray, rgb = _rand((9, 11), 65535, 2), _rand((9, 11, 3), 65535, 3)
    io.write_image(tmp_path / "g.png", gray, kind="uint16")
    io.write_image(tmp_path / "c.png", rgb, kind="uint16")
    with Image.open(tmp_path / "g.png") as im:
        np.testing.assert_array_equal(np.asarray(im), gray)  # Pillow keeps 16-bit gray
    with Image.open(tmp_path / "c.png") as im:
        # Pillow reduces 16-bit colour to 8 bits (high byte): this is why noise2x decodes those itself
        np.testing.assert_array_equal(np.asarray(im), (rgb // 256).astype(np.uint8))


# --------------------------------------------------------------------------- 16-bit PNG decoder


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _filter_rows(raw_rows: np.ndarray, bpp: int, first_kind: int = 0) -> bytes:
    """PNG-filter rows of bytes, cycling through the five filter types."""
    out = bytearray()
    prev = np.zeros(raw_rows.shape[1], np.int64)
    for y, row in enumerate(raw_rows.astype(np.int64)):
        kind = (y + first_kind) % 5
        line = []
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            line.append((v - pred) % 256)
        out.append(kind)
        out.extend(line)
        prev = row
    return bytes(out)


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def _png16(arr: np.ndarray, colour: int, interlace: bool = False, key: tuple[int, int, int] | None = None) -> bytes:
    height, width, channels = arr.shape
    bpp = 2 * channels
    if not interlace:
        raw = _filter_rows(arr.astype(">u2").view(np.uint8).reshape(height, -1), bpp)
    else:
        raw = b""
        for n, (y0, x0, dy, dx) in enumerate(
            [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
        ):
            sub = arr[y0::dy, x0::dx]
            if sub.size:
                raw += _filter_rows(np.ascontiguousarray(sub).astype(">u2").view(np.uint8).reshape(sub.shape[0], -1), bpp, n)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 1 if interlace else 0)
    trns = b"" if key is None else _chunk(b"tRNS", struct.pack(">HHH", *key))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + trns + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize("decoder", ["libpng", "noise2x"])
@pytest.mark.parametrize("interlace", [False, True])
def test_16bit_colour_png_decoder_handles_every_filter(tmp_path, interlace, decoder, monkeypatch, capfd):
    """Pillow reduces 16-bit colour PNGs to 8 bits: libpng (imagecodecs) decodes them, else noise2x's own
    decoder, which undoes the filters in Python (the only decoder up to a format QA pass, and far slower).
    Both give the same pixels, and a colour key (tRNS) as alpha, which noise2x's own decoder left out."""
    if decoder == "noise2x":
        monkeypatch.setattr(io, "_png16_libpng", lambda data, shape: None)
    elif not interlace:  # (libpng reads every one of them)
        monkeypatch.setattr(io, "_png16_unfiltered", lambda *args: pytest.fail("not read by libpng"))
    else:  # (an interlaced one, noise2x: libpng decodes it, and writes a warning line to stderr)
        monkeypatch.setattr(io, "_png16_libpng", lambda data, shape: pytest.fail("an interlaced PNG to libpng"))
    rgba = _rand((13, 10, 4), 65535, 4).astype(np.uint16)
    (tmp_path / "rgba.png").write_bytes(_png16(rgba, 6, interlace))
    (tmp_path / "rgb.png").write_bytes(_png16(rgba[..., :3], 2, interlace))
    (tmp_path / "la.png").write_bytes(_png16(rgba[..., :2], 4, interlace))
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.png"), rgba[..., :3])  # alpha dropped
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgb.png"), rgba[..., :3])
    np.testing.assert_array_equal(io.read_image(tmp_path / "la.png"), rgba[..., 0])  # gray + alpha -> gray
    assert io.image_kind(tmp_path / "rgb.png") == "uint16"
    keyed = rgba[..., :3].copy()
    keyed[2:5, 3:6] = (1000, 2000, 3000)
    (tmp_path / "key.png").write_bytes(_png16(keyed, 2, interlace, key=(1000, 2000, 3000)))
    image, alpha = io.read_stack_with_alpha(tmp_path / "key.png")[:2]
    np.testing.assert_array_equal(image[0], keyed)
    assert alpha is not None and alpha.shape == (1, 13, 10) and set(np.unique(alpha)) == {0.0, 65535.0}
    np.testing.assert_array_equal(alpha[0] == 0, (keyed == (1000, 2000, 3000)).all(axis=2))
    assert capfd.readouterr().err == ""  # (not a line from libpng)


def test_16bit_png_with_bad_crc_or_truncated_data_is_an_input_error(tmp_path):
    good = _png16(_rand((6, 5, 3), 65535).astype(np.uint16), 2)
    bad_crc = bytearray(good)
    bad_crc[-20] ^= 0xFF  # inside the IDAT chunk
    (tmp_path / "crc.png").write_bytes(bytes(bad_crc))
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    for name in ("crc.png", "cut.png"):
        with pytest.raises(InputError, match=name):
            io.read_image(tmp_path / name)


# --------------------------------------------------------------------------- other flavours


def test_pillow_modes_are_converted_sensibly(tmp_path):
    rgb = _rand((9, 8, 3), 255, 5).astype(np.uint8)
    rgba = np.concatenate([rgb, np.full((9, 8, 1), 7, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.png"), rgb)

    gray = _rand((9, 8), 255, 6).astype(np.uint8)
    Image.fromarray(np.stack([gray, gray], axis=2), "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "la.png"), gray)

    bits = Image.fromarray(gray > 127).convert("1")
    bits.save(tmp_path / "bits.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "bits.png"), np.where(gray > 127, 255.0, 0.0))

    pal_rgb = Image.fromarray(rgb, "RGB").quantize(colors=16)
    pal_rgb.save(tmp_path / "pal.png")
    expect = np.asarray(pal_rgb.convert("RGB"))
    out = io.read_image(tmp_path / "pal.png")
    assert out.shape == (9, 8, 3)
    np.testing.assert_array_equal(out, expect)

    pal_gray = Image.fromarray(gray, "L").convert("P")  # a gray palette
    pal_gray.save(tmp_path / "palgray.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "palgray.png"), gray)


def test_tiff_single_channel_and_rgba(tmp_path):
    gray = _rand((9, 8), 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "one.tif", gray[..., None], photometric="minisblack")
    np.testing.assert_array_equal(io.read_image(tmp_path / "one.tif"), gray)
    rgba = _rand((9, 8, 4), 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.tif"), rgba[..., :3])


# --------------------------------------------------------------------------- alpha


def test_alpha_is_read_apart_from_the_image(tmp_path):
    rgb = _rand((9, 8, 3), 255, 11).astype(np.uint8)
    alpha = _rand((9, 8), 255, 12).astype(np.uint8)
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA").save(tmp_path / "la.png")
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    pal = Image.fromarray(rgb, "RGB").quantize(colors=8)
    pal.info["transparency"] = 0  # palette entry 0 is transparent
    pal.save(tmp_path / "pal.png", transparency=0)
    for name, colours in (("rgba.png", rgb), ("la.png", rgb[..., 0])):
        stack, a = io.read_stack_with_alpha(tmp_path / name)
        np.testing.assert_array_equal(stack[0], colours)
        np.testing.assert_array_equal(a, alpha[None])
        assert a.dtype == np.float64
    assert io.read_stack_with_alpha(tmp_path / "rgb.png")[1] is None
    pal_alpha = io.read_stack_with_alpha(tmp_path / "pal.png")[1]
    np.testing.assert_array_equal(pal_alpha[0], np.where(np.asarray(pal) == 0, 0, 255))

    rgba16 = _rand((7, 6, 4), 65535, 13).astype(np.uint16)
    (tmp_path / "rgba16.png").write_bytes(_png16(rgba16, 6))
    (tmp_path / "la16.png").write_bytes(_png16(rgba16[..., :2], 4))
    np.testing.assert_array_equal(io.read_stack_with_alpha(tmp_path / "rgba16.png")[1], rgba16[None, ..., 3])
    np.testing.assert_array_equal(io.read_stack_with_alpha(tmp_path / "la16.png")[1], rgba16[None, ..., 1])

    tiff = _rand((9, 8, 4), 255, 14).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", tiff, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(io.read_stack_with_alpha(tmp_path / "rgba.tif")[1], tiff[None, ..., 3])
    tifffile.imwrite(tmp_path / "ga.tif", tiff[..., :2], photometric="minisblack", extrasamples=["unassalpha"],
                     planarconfig="contig")
    stack, a = io.read_stack_with_alpha(tmp_path / "ga.tif")
    np.testing.assert_array_equal(stack[0], tiff[..., 0])
    np.testing.assert_array_equal(a[0], tiff[..., 1])
    # premultiplied (associated) alpha, gray or RGB, 8 bits or float: the colours as shown (divided by it; they were
    # read as stored, darkened where it is partial, and the alpha dropped unsaid: a QA pass), and the alpha kept
    straight = tiff[..., :3].astype(np.float64)
    alpha = tiff[..., 3].astype(np.float64)
    alpha[0, :4] = 0, 1, 128, 255
    stored = np.dstack([np.round(straight * alpha[..., None] / 255), alpha]).astype(np.uint8)
    floats = np.dstack([straight / 255 * alpha[..., None] / 255, alpha / 255]).astype(np.float32)
    for name, data, photometric, channels in (("assoc.tif", stored, "rgb", 3), ("fassoc.tif", floats, "rgb", 3),
                                                ("gassoc.tif", stored[..., 2:], "minisblack", 1)):
        tifffile.imwrite(tmp_path / name, data, photometric=photometric, extrasamples=["assocalpha"],
                         planarconfig="contig")
        with pytest.warns(UserWarning, match="associated \\(premultiplied\\).*unassociated \\(straight\\) alpha"):
            stack, a = io.read_stack_with_alpha(tmp_path / name)
        top = 1.0 if name == "fassoc.tif" else 255.0
        np.testing.assert_array_equal(a[0], data[..., -1])
        assert stack.shape == (1, 9, 8) if channels == 1 else (1, 9, 8, 3)
        shown = stack[0].reshape(9, 8, channels).astype(np.float64) / top
        seen = alpha > 1  # (within rounding where alpha is 2 or more)
        tol = 1e-5 if top == 1.0 else 0.5 / alpha[seen][:, None] + 1 / 255
        assert (np.abs(shown[seen] - straight[..., 3 - channels:][seen] / 255) <= tol).all()
        assert (shown[alpha == 0] == 0).all()
    # an RGB image's fourth sample of unspecified meaning: left out, and said
    tifffile.imwrite(tmp_path / "rgbx.tif", tiff, photometric="rgb", extrasamples=["unspecified"])
    with pytest.warns(UserWarning, match="unspecified meaning.*left out"):
        stack, a = io.read_stack_with_alpha(tmp_path / "rgbx.tif")
    np.testing.assert_array_equal(stack[0], tiff[..., :3])
    assert a is None


@pytest.mark.parametrize("name, kind", [("o.png", "uint8"), ("o.png", "uint16"), ("o.tif", "uint8"),
                                        ("o.tif", "uint16"), ("o.tif", "float32")])
@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_round_trips_through_write_image(tmp_path, name, kind, channels):
    top = 65535 if kind == "uint16" else 255
    shape = (11, 9) if channels == 1 else (11, 9, 3)
    image = _rand(shape, top, 21)
    alpha = _rand((11, 9), top, 22)
    if kind != "float32":
        image, alpha = np.round(image), np.round(alpha)
    io.write_image(tmp_path / name, image, kind=kind, alpha=alpha[None])  # (1,H,W) as read_stack_with_alpha gives
    stack, back = io.read_stack_with_alpha(tmp_path / name)
    np.testing.assert_allclose(stack[0], image, rtol=1e-6)
    np.testing.assert_allclose(back[0], alpha, rtol=1e-6)
    assert io.image_kind(tmp_path / name) == kind


def test_alpha_of_a_stack_round_trips_and_bad_alpha_is_refused(tmp_path):
    for shape in ((3, 10, 8), (3, 10, 8, 3)):
        stack = np.round(_rand(shape, 255, 31))
        alpha = np.round(_rand((3, 10, 8), 255, 32))
        io.write_image(tmp_path / "s.tif", stack, kind="uint8", alpha=alpha)
        back, a = io.read_stack_with_alpha(tmp_path / "s.tif")
        np.testing.assert_array_equal(back, stack)
        np.testing.assert_array_equal(a, alpha)
    image = _rand((10, 8), 255, 33)
    with pytest.raises(UsageError, match="JPEG files have no alpha"):
        io.write_image(tmp_path / "o.jpg", image, alpha=np.zeros((10, 8)))
    with pytest.raises(InputError, match=r"alpha for .* has shape \(8, 10\)"):
        io.write_image(tmp_path / "o.png", image, alpha=np.zeros((8, 10)))
    with pytest.raises(InputError, match="alpha for .*NaN"):
        io.write_image(tmp_path / "o.png", image, alpha=np.full((10, 8), np.nan))
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o.jpg").exists()


# --------------------------------------------------------------------------- FITS


def test_fits_images_and_cubes_are_read_in_their_units(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    u16 = _rand((9, 8), 65535, 41).astype(np.uint16)
    fits.PrimaryHDU(u16).writeto(tmp_path / "u16.fits")  # stored as int16 with BZERO 32768
    np.testing.assert_array_equal(io.read_image(tmp_path / "u16.fits"), u16)
    assert io.image_kind(tmp_path / "u16.fits") == "uint16"
    scaled = fits.PrimaryHDU(_rand((9, 8), 1000, 42).astype(np.int16))
    scaled.header["BSCALE"], scaled.header["BZERO"] = 0.5, 100.0
    scaled.writeto(tmp_path / "scaled.fits")
    with fits.open(tmp_path / "scaled.fits") as hdus:
        expect = np.array(hdus[0].data, dtype=np.float64)
    np.testing.assert_allclose(io.read_image(tmp_path / "scaled.fits"), expect)
    assert io.image_kind(tmp_path / "scaled.fits") == "float32"
    # a cube is a stack; the image may sit in an extension (here a compressed one) after an empty primary HDU
    cube = _rand((3, 9, 8), 5000, 43).astype(np.float32)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube)]).writeto(tmp_path / "cube.fit")
    np.testing.assert_array_equal(io.read_stack(tmp_path / "cube.fit"), cube)
    with pytest.raises(InputError, match="FITS data cube with 3 images; use read_stack"):
        io.read_image(tmp_path / "cube.fit")
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(u16.astype(np.int32))]).writeto(tmp_path / "comp.fits")
    np.testing.assert_array_equal(io.read_image(tmp_path / "comp.fits"), u16)
    assert io.list_images(tmp_path) == sorted(tmp_path.iterdir(), key=lambda f: f.name)


def test_fits_written_like_its_input_keeps_the_header(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    src = fits.PrimaryHDU(_rand((9, 8), 65535, 44).astype(np.uint16))
    for key, value in (("OBJECT", "M31"), ("CTYPE1", "RA---TAN"), ("CRVAL1", 10.68), ("EXPTIME", 30.0)):
        src.header[key] = value
    src.writeto(tmp_path / "in.fits")
    out = _rand((9, 8), 65535, 45)
    io.write_image(tmp_path / "out.fits", out, like=tmp_path / "in.fits")
    with fits.open(tmp_path / "out.fits") as hdus:
        header, data = hdus[0].header, np.array(hdus[0].data)
    assert (header["OBJECT"], header["CTYPE1"], header["CRVAL1"], header["EXPTIME"]) == ("M31", "RA---TAN", 10.68, 30.0)
    assert header["BITPIX"] == -32 and "BZERO" not in header  # float32 by default, no integer scaling left over
    np.testing.assert_allclose(data, out.astype(np.float32))
    io.write_image(tmp_path / "u16.fits", np.round(out), kind="uint16")
    assert io.image_kind(tmp_path / "u16.fits") == "uint16"
    np.testing.assert_array_equal(io.read_image(tmp_path / "u16.fits"), np.round(out))
    stack = _rand((2, 9, 8), 9, 46)
    io.write_image(tmp_path / "stack.fits", stack)
    np.testing.assert_allclose(io.read_stack(tmp_path / "stack.fits"), stack.astype(np.float32))
    with pytest.raises(UsageError, match="FITS file here holds gray images and stacks"):
        io.write_image(tmp_path / "rgb.fits", _rand((9, 8, 3), 255, 47))
    with pytest.raises(UsageError, match="FITS files have no alpha"):
        io.write_image(tmp_path / "a.fits", out, alpha=out)
    assert not (tmp_path / "rgb.fits").exists() and not (tmp_path / "a.fits").exists()


def test_fits_written_like_a_cube_of_more_axes_gets_its_shape_back(tmp_path):
    # a radio image with frequency and Stokes axes of length 1, and a 4-axis cube: their planes are read as a
    # stack and written back in the input's shape, so that its WCS (CTYPE3, CTYPE4) still fits the data
    fits = pytest.importorskip("astropy.io.fits")
    header = fits.Header([("CTYPE1", "RA---SIN"), ("CTYPE2", "DEC--SIN"), ("CTYPE3", "FREQ"), ("CTYPE4", "STOKES")])
    radio = np.random.default_rng(70).normal(0, 1, (1, 1, 9, 8)).astype(np.float32)
    fits.PrimaryHDU(radio, header=header).writeto(tmp_path / "radio.fits")
    image = io.read_image(tmp_path / "radio.fits")
    assert image.shape == (9, 8)
    io.write_image(tmp_path / "out.fits", image + 1, like=tmp_path / "radio.fits")
    with fits.open(tmp_path / "out.fits") as hdus:
        assert hdus[0].data.shape == (1, 1, 9, 8) and hdus[0].header["CTYPE4"] == "STOKES"
        np.testing.assert_allclose(hdus[0].data, radio + 1)
    cube = np.random.default_rng(71).normal(0, 1, (2, 3, 9, 8)).astype(np.float32)
    fits.PrimaryHDU(cube, header=header).writeto(tmp_path / "cube.fits")
    stack = io.read_stack(tmp_path / "cube.fits")
    assert stack.shape == (6, 9, 8)
    io.write_image(tmp_path / "out4.fits", stack, like=tmp_path / "cube.fits")
    np.testing.assert_array_equal(fits.getdata(tmp_path / "out4.fits"), cube)
    io.write_image(tmp_path / "other.fits", stack[:5], like=tmp_path / "cube.fits")  # not its planes: as given
    assert fits.getdata(tmp_path / "other.fits").shape == (5, 9, 8)


def test_compressed_fits_round_trips_losslessly_and_keeps_the_header(tmp_path):
    # tile-compressed (.fz, as fpack writes) and gzipped (.fits.gz) FITS, read and written
    fits = pytest.importorskip("astropy.io.fits")
    header = fits.Header([("OBJECT", "M 51"), ("CTYPE1", "RA---TAN"), ("EXPTIME", 60.0)])
    u16 = _rand((40, 50), 65535, 50).astype(np.uint16)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(u16, header=header, compression_type="RICE_1")]).writeto(
        tmp_path / "in.fz")
    np.testing.assert_array_equal(io.read_image(tmp_path / "in.fz"), u16)
    assert io.image_kind(tmp_path / "in.fz") == "uint16"
    flt = np.random.default_rng(51).normal(100, 10, (40, 50)).astype(np.float32)
    flt[:4, :4] = np.nan
    for name, data, kind in (("f.fz", flt, "float32"), ("u.FZ", u16, "uint16"), ("b.fz", u16 // 257, "uint8"),
                             ("f.fits.gz", flt, "float32"), ("u.fit.gz", u16, "uint16")):
        io.write_image(tmp_path / name, data, kind=kind, like=tmp_path / "in.fz", blanks=True)
        back = io.read_image(tmp_path / name, blanks=True)
        np.testing.assert_array_equal(back, data)  # lossless, NaN included (NaN == NaN here)
        assert io.image_kind(tmp_path / name) == kind
        with fits.open(tmp_path / name) as hdus:
            image = hdus[-1]
            assert (image.header["OBJECT"], image.header["EXPTIME"]) == ("M 51", 60.0)
            assert isinstance(image, fits.CompImageHDU) == name.lower().endswith(".fz")
    assert (tmp_path / "f.fits.gz").read_bytes()[:2] == b"\x1f\x8b"  # gzip
    smooth = np.add.outer(np.arange(200), np.arange(200)).astype(np.uint16)  # compressed: far smaller
    io.write_image(tmp_path / "s.fits", smooth, kind="uint16")
    io.write_image(tmp_path / "s.fits.gz", smooth, kind="uint16")
    io.write_image(tmp_path / "s.fz", smooth, kind="uint16")
    plain = (tmp_path / "s.fits").stat().st_size
    assert (tmp_path / "s.fz").stat().st_size < plain / 2 and (tmp_path / "s.fits.gz").stat().st_size < plain / 2
    for name in ("s.fits", "s.fits.gz", "s.fz"):
        (tmp_path / name).unlink()
    assert [f.name for f in io.list_images(tmp_path)] == ["b.fz", "f.fits.gz", "f.fz", "in.fz", "u.FZ", "u.fit.gz"]
    (tmp_path / "x.gz").write_bytes((tmp_path / "f.fits.gz").read_bytes())  # a gzipped file, not named FITS
    with pytest.raises(InputError, match="unsupported image file"):
        io.read_image(tmp_path / "x.gz")
    with pytest.raises(UsageError, match="unsupported file extension"):
        io.write_image(tmp_path / "y.gz", flt)


def test_bad_fits_files_are_input_errors(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    (tmp_path / "junk.fits").write_bytes(b"SIMPLE  = not really a FITS file" * 3)
    with pytest.raises(InputError, match="cannot read image file .*junk.fits"):
        io.read_image(tmp_path / "junk.fits")
    fits.PrimaryHDU(np.arange(10.0)).writeto(tmp_path / "spectrum.fits")
    with pytest.raises(InputError, match="holds no image"):
        io.read_image(tmp_path / "spectrum.fits")
    nan = np.ones((4, 5), np.float32)
    nan[1, 2] = np.nan  # a blank pixel
    fits.PrimaryHDU(nan).writeto(tmp_path / "nan.fits")
    with pytest.raises(InputError, match="NaN"):
        io.read_image(tmp_path / "nan.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((64, 64), np.float32))]).writeto(tmp_path / "cut.fits")
    data = (tmp_path / "cut.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[: len(data) - 8000])  # an interrupted download
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        with pytest.raises(InputError, match=r"cut.fits: a damaged FITS file \(File may have been truncated"):
            io.read_image(tmp_path / "cut.fits")
    assert not leaked, [str(w.message) for w in leaked]  # astropy's warning is in the error, not a line of its own


def test_a_warning_from_elsewhere_during_a_fits_or_mrc_read_is_not_the_files(tmp_path, monkeypatch):
    """Catching warnings is process-wide: another thread's warning, caught while a FITS cube was opened, called the
    valid file damaged, and was lost (a concurrency QA pass). It is now issued again, as it came, and the file read."""
    fits = pytest.importorskip("astropy.io.fits")
    mrcfile = pytest.importorskip("mrcfile")
    cube = np.arange(3 * 16 * 16, dtype=np.float32).reshape(3, 16, 16)
    fits.PrimaryHDU(cube).writeto(tmp_path / "cube.fits")
    with mrcfile.new(tmp_path / "cube.mrc") as mrc:
        mrc.set_data(cube)

    def elsewhere(real):
        def opened(*args, **kwargs):
            warnings.warn_explicit("another thread's warning", UserWarning, "/srv/app/worker.py", 7)
            return real(*args, **kwargs)
        return opened

    monkeypatch.setattr(fits, "open", elsewhere(fits.open))
    monkeypatch.setattr(mrcfile, "open", elsewhere(mrcfile.open))
    for name in ("cube.fits", "cube.mrc"):
        with pytest.warns(UserWarning, match="another thread's warning") as said:
            frames, _ = io.open_stack(tmp_path / name)
            np.testing.assert_array_equal(np.asarray(frames[2]), cube[2])
            getattr(frames, "close", lambda: None)()
        assert all(w.filename == "/srv/app/worker.py" for w in said)
    (tmp_path / "cut.fits").write_bytes((tmp_path / "cube.fits").read_bytes()[:3000])  # a failed read: issued too
    with pytest.warns(UserWarning, match="another thread's warning"), pytest.raises(InputError, match="damaged"):
        io.read_image(tmp_path / "cut.fits")
    # two threads' reads overlapping: every warning after them is shown as before (the handler and filters of one
    # were put back by the other: a re-check)
    import threading

    monkeypatch.undo()
    real_open = fits.open
    first_in, second_in, first_done = threading.Event(), threading.Event(), threading.Event()

    def held(*args, **kwargs):  # the first read stays in until the second is in (or 0.5 s, if it waits its turn);
        if threading.current_thread().name == "first":  # the second leaves after the first has
            first_in.set()
            second_in.wait(0.5)
        else:
            second_in.set()
            first_done.wait(5)
        return real_open(*args, **kwargs)

    def first() -> None:
        io.read_stack(tmp_path / "cube.fits")
        first_done.set()

    monkeypatch.setattr(fits, "open", held)
    before = (warnings.showwarning, list(warnings.filters))
    readers = [threading.Thread(target=first, name="first"),
               threading.Thread(target=io.read_stack, args=(tmp_path / "cube.fits",), name="second")]
    readers[0].start()
    first_in.wait(10)
    readers[1].start()
    for t in readers:
        t.join(30)
    assert (warnings.showwarning, list(warnings.filters)) == before


def test_fits_without_astropy_is_one_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_astropy(name, *args, **kwargs):
        if name.startswith("astropy"):
            raise ImportError("No module named 'astropy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_astropy)
    (tmp_path / "x.fits").write_bytes(b"")
    for call in (lambda: io.read_image(tmp_path / "x.fits"), lambda: io.writable_format(tmp_path / "y.fits")):
        with pytest.raises(Noise2xError, match=r'FITS files need astropy: pip install "noise2x\[fits\]"'):
            call()
        with pytest.raises(ImportError, match="need astropy"):  # (also an ImportError, for Python callers)
            call()


def test_stacks_round_trip_as_multipage_tiff(tmp_path):
    gray = _rand((4, 37, 31), 65535)
    io.write_image(tmp_path / "g.tif", gray, kind="uint16")
    with tifffile.TiffFile(tmp_path / "g.tif") as tif:
        assert len(tif.pages) == 4
    np.testing.assert_array_equal(io.read_stack(tmp_path / "g.tif"), gray)
    rgb = np.random.default_rng(0).random((3, 37, 31, 3))
    io.write_image(tmp_path / "c.tif", rgb)
    np.testing.assert_array_equal(io.read_stack(tmp_path / "c.tif"), rgb.astype(np.float32))
    with pytest.raises(InputError, match="read_stack"):
        io.read_image(tmp_path / "g.tif")


def test_read_stack_of_a_single_image_and_of_separate_pages(tmp_path, gray_image):
    io.write_image(tmp_path / "a.png", gray_image)
    stack = io.read_stack(tmp_path / "a.png")
    assert stack.shape == (1, 37, 31)
    pages = _rand((3, 9, 8), 255).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tw:
        for page in pages:  # separate pages, no shape metadata
            tw.write(page, photometric="minisblack", metadata=None)
    np.testing.assert_array_equal(io.read_stack(tmp_path / "pages.tif"), pages)
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tw:
        tw.write(pages[0], photometric="minisblack", metadata=None)
        tw.write(pages[0][:5], photometric="minisblack", metadata=None)
    with pytest.raises(InputError, match="different sizes"):
        io.read_stack(tmp_path / "mixed.tif")


def test_imagej_hyperstack_is_flattened(tmp_path):
    data = _rand((2, 3, 9, 8), 255).astype(np.uint8)  # T, Z, Y, X
    tifffile.imwrite(tmp_path / "ij.tif", data, imagej=True, metadata={"axes": "TZYX"})
    np.testing.assert_array_equal(io.read_stack(tmp_path / "ij.tif"), data.reshape(6, 9, 8))


def test_a_one_frame_stack_keeps_its_axis_of_length_1(tmp_path):
    """tifffile writes a (1, Y, X) array with its shape (axes QYX): the output came back as (Y, X), where a
    (4, 1, Y, X) one kept its shape (the time-lapse QA pass: a last chunk of one frame changed rank)."""
    for shape in ((1, 9, 8), (1, 9, 8, 3), (3, 9, 8), (9, 8)):
        data = _rand(shape, 255, 67).astype(np.uint8)
        tifffile.imwrite(tmp_path / "in.tif", data, photometric="rgb" if shape[-1] == 3 else "minisblack")
        image = io.read_stack(tmp_path / "in.tif")
        io.write_image(tmp_path / "out.tif", image[0] if len(image) == 1 else image, kind="uint8",
                       like=tmp_path / "in.tif")
        with tifffile.TiffFile(tmp_path / "out.tif") as tif:
            assert tif.series[0].shape == shape
            np.testing.assert_array_equal(tif.asarray(), data)


def test_an_empty_tiff_stack_says_it_holds_no_data(tmp_path):
    """A (0, H, W) stack was refused as 'an unsupported TIFF layout (axes XQQ ...)' (the time-lapse QA pass)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (tifffile: an empty array makes a nonconformant file)
        tifffile.imwrite(tmp_path / "empty.tif", np.zeros((0, 16, 16), np.uint16))
    with pytest.raises(InputError, match=r"empty.tif holds no image data: its TIFF series has shape \(0, 16, 16\)"):
        io.read_stack(tmp_path / "empty.tif")


def test_fluorescence_channels_are_frames_and_come_back_in_their_axes(tmp_path):
    # channels stored as planes (C: an ImageJ hyperstack's or an OME-TIFF's), any number of them, are frames
    # denoised on their own, not colour: 2 channels were an error, 3 read as RGB and 4 as RGBA (the 4th dropped)
    hyper = _rand((2, 3, 2, 9, 8), 4000, 60).astype(np.uint16)  # T, Z, C, Y, X
    tifffile.imwrite(tmp_path / "hyper.tif", hyper, imagej=True, resolution=(5.0, 5.0),
                     metadata={"axes": "TZCYX", "spacing": 0.5, "unit": "um"})
    four = _rand((4, 9, 8), 4000, 61).astype(np.uint16)
    tifffile.imwrite(tmp_path / "four.ome.tif", four, ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.25})
    three = _rand((3, 9, 8), 255, 62).astype(np.uint8)
    tifffile.imwrite(tmp_path / "three.tif", three, imagej=True, metadata={"axes": "CYX"})
    assert io.stack_frames(tmp_path / "hyper.tif") == [0, 1] * 6  # each frame's channel, from the header
    assert io.stack_frames(tmp_path / "four.ome.tif") == [0, 1, 2, 3]
    for name, data in (("hyper.tif", hyper), ("four.ome.tif", four), ("three.tif", three)):
        stack = io.read_stack(tmp_path / name)
        np.testing.assert_array_equal(stack, data.reshape(-1, 9, 8))  # C-order: channel fastest
        # written like its input: the same axes, as an ImageJ hyperstack (Fiji opens it with its channels)
        out = tmp_path / f"out_{name.split('.')[0]}.tif"  # .tif (an .ome.tif is an OME-TIFF: next test)
        io.write_image(out, stack + 1, kind=io.image_kind(tmp_path / name), like=tmp_path / name)
        with tifffile.TiffFile(out) as tif:
            assert tif.series[0].shape == data.shape
            np.testing.assert_array_equal(tif.asarray(), data + 1)
            assert tif.series[0].axes == {"hyper.tif": "TZCYX"}.get(name, "CYX")
            assert tif.is_imagej
            if name == "hyper.tif":  # its calibration kept
                assert tif.imagej_metadata["spacing"] == 0.5 and tif.imagej_metadata["unit"] == "um"
                assert tif.pages[0].resolution == (5.0, 5.0)
            if name == "four.ome.tif":  # the OME pixel size, as ImageJ keeps it
                assert tif.pages[0].resolution == (5.0, 4.0) and tif.imagej_metadata["unit"] == "micron"
    # one calibrated image keeps its pixel size
    one = _rand((9, 8), 4000, 66).astype(np.uint16)
    tifffile.imwrite(tmp_path / "one.tif", one, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "um"})
    io.write_image(tmp_path / "out_one.tif", io.read_image(tmp_path / "one.tif"), kind="uint16",
                   like=tmp_path / "one.tif")
    with tifffile.TiffFile(tmp_path / "out_one.tif") as tif:
        assert tif.pages[0].resolution == (4.0, 4.0) and tif.imagej_metadata["unit"] == "um"
        np.testing.assert_array_equal(tif.asarray(), one)
    # not its frames (another image), or no TIFF to follow: plain pages as before
    io.write_image(tmp_path / "other.tif", _rand((5, 9, 8), 255, 63), kind="uint8", like=tmp_path / "hyper.tif")
    with tifffile.TiffFile(tmp_path / "other.tif") as tif:
        assert not tif.is_imagej and tif.series[0].shape == (5, 9, 8)
    # RGB pixels (samples, S) stay colour; a 16-bit RGB time series keeps its axes (not as ImageJ, whose RGB
    # is 8-bit)
    rgb = _rand((9, 8, 3), 255, 64).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    assert io.read_image(tmp_path / "rgb.tif").shape == (9, 8, 3)
    rgb16 = _rand((2, 9, 8, 3), 6000, 65).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.ome.tif", rgb16, ome=True, photometric="rgb", metadata={"axes": "TYXS"})
    stack = io.read_stack(tmp_path / "rgb16.ome.tif")
    assert stack.shape == (2, 9, 8, 3)
    io.write_image(tmp_path / "out16.tif", stack, kind="uint16", like=tmp_path / "rgb16.ome.tif")
    with tifffile.TiffFile(tmp_path / "out16.tif") as tif:
        assert tif.series[0].axes == "TYXS" and not tif.is_imagej
        np.testing.assert_array_equal(tif.asarray(), rgb16)


def test_an_ome_tif_output_is_an_ome_tiff_with_its_inputs_channels_and_pixel_size(tmp_path):
    data = _rand((2, 4, 9, 8), 4000, 70).astype(np.uint16)  # C, Z, Y, X
    tifffile.imwrite(tmp_path / "cells.ome.tif", data, ome=True, metadata={
        "axes": "CZYX", "Name": "cells", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.25, "PhysicalSizeZ": 1.5,
        "Channel": {"Name": ["DAPI", "GFP"], "EmissionWavelength": [461.0, 509.0]}})
    stack = io.read_stack(tmp_path / "cells.ome.tif")
    io.write_image(tmp_path / "out.ome.tif", stack + 1, kind="float32", like=tmp_path / "cells.ome.tif")
    with tifffile.TiffFile(tmp_path / "out.ome.tif") as tif:
        assert tif.is_ome and not tif.is_imagej and tif.series[0].axes == "CZYX"
        np.testing.assert_array_equal(tif.asarray(), data + 1.0)
        kept = io._ome_kept(tif.ome_metadata, "CZYX", data.shape)
    assert kept["Name"] == "cells" and kept["Channel"]["Name"] == ["DAPI", "GFP"]
    assert kept["Channel"]["EmissionWavelength"] == ["461.0", "509.0"]
    assert float(kept["PhysicalSizeX"]) == 0.2 and float(kept["PhysicalSizeZ"]) == 1.5
    # an ImageJ hyperstack written as .ome.tif: its calibration in OME's terms
    hyper = _rand((3, 2, 9, 8), 255, 71).astype(np.uint8)  # Z, C, Y, X
    tifffile.imwrite(tmp_path / "ij.tif", hyper, imagej=True, resolution=(5.0, 4.0),
                     metadata={"axes": "ZCYX", "spacing": 0.5, "unit": "\\u00B5m", "finterval": 2.0})  # as Fiji writes µm
    io.write_image(tmp_path / "ij.ome.tif", io.read_stack(tmp_path / "ij.tif"), kind="uint8",
                   like=tmp_path / "ij.tif")
    with tifffile.TiffFile(tmp_path / "ij.ome.tif") as tif:
        assert tif.is_ome and tif.series[0].axes == "ZCYX"
        np.testing.assert_array_equal(tif.asarray(), hyper)
        kept = io._ome_kept(tif.ome_metadata, "ZCYX", hyper.shape)
    assert [float(kept[k]) for k in ("PhysicalSizeX", "PhysicalSizeY", "PhysicalSizeZ")] == [0.2, 0.25, 0.5]
    # channel attributes that do not match the channels are left out, not a failed write
    with tifffile.TiffFile(tmp_path / "cells.ome.tif") as tif:
        assert "Channel" not in io._ome_kept(tif.ome_metadata, "ZYX", (4, 9, 8))
    # any image written as .ome.tif is an OME-TIFF; as .tif it is not
    io.write_image(tmp_path / "one.ome.tif", stack[0])
    io.write_image(tmp_path / "one.tif", stack[0])
    with tifffile.TiffFile(tmp_path / "one.ome.tif") as a, tifffile.TiffFile(tmp_path / "one.tif") as b:
        assert a.is_ome and not b.is_ome


def test_calibration_in_other_units_goes_between_imagej_and_ome(tmp_path):
    """An ImageJ file in nm lost its pixel size and z step in an .ome.tif output (only microns were converted); an
    OME-TIFF's z step in nm became that many microns in an ImageJ output, its time step was dropped, and resolution
    tags beside its OME-XML dropped the whole calibration."""
    data = _rand((2, 3, 9, 8), 4000, 72).astype(np.uint16)  # T, Z, Y, X
    tifffile.imwrite(tmp_path / "nm.tif", data, imagej=True, resolution=(1 / 65.0, 1 / 65.0),
                     metadata={"axes": "TZYX", "spacing": 200, "unit": "nm", "finterval": 0.5})
    io.write_image(tmp_path / "nm.ome.tif", io.read_stack(tmp_path / "nm.tif"), kind="uint16",
                   like=tmp_path / "nm.tif")
    with tifffile.TiffFile(tmp_path / "nm.ome.tif") as tif:
        kept = io._ome_kept(tif.ome_metadata, "TZYX", data.shape)
    assert [float(kept[k]) for k in ("PhysicalSizeX", "PhysicalSizeY", "PhysicalSizeZ")] == pytest.approx([65, 65, 200])
    assert {kept[k] for k in ("PhysicalSizeXUnit", "PhysicalSizeYUnit", "PhysicalSizeZUnit")} == {"nm"}
    assert float(kept["TimeIncrement"]) == 0.5
    ome = {"axes": "TZYX", "PhysicalSizeX": 0.065, "PhysicalSizeY": 0.065, "PhysicalSizeZ": 200,
           "PhysicalSizeZUnit": "nm", "TimeIncrement": 2, "TimeIncrementUnit": "min"}
    for name, extra in (("o.ome.tif", {}), ("r.ome.tif", {"resolution": (1e5, 1e5), "resolutionunit": "CENTIMETER"})):
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack", metadata=ome, **extra)
        io.write_image(tmp_path / "ij.tif", io.read_stack(tmp_path / name), kind="uint16", like=tmp_path / name)
        with tifffile.TiffFile(tmp_path / "ij.tif") as tif:
            meta, resolution = tif.imagej_metadata, tif.pages[0].resolution
        assert meta["unit"] == "micron" and meta["spacing"] == pytest.approx(0.2), (name, meta)
        assert meta["finterval"] == pytest.approx(120.0) and resolution == pytest.approx((1 / 0.065, 1 / 0.065))


def test_an_ome_tiff_in_angstrom_goes_to_imagej_and_back(tmp_path):
    """An OME-TIFF calibrated in Å written as an ImageJ TIFF failed after the work (ImageJ's description is ASCII:
    'Å' could not be encoded); ImageJ writes it as the escape \\u00C5, which an .ome.tif output reads back."""
    data = _rand((2, 9, 8), 4000, 76).astype(np.uint16)
    tifffile.imwrite(tmp_path / "a.ome.tif", data, photometric="minisblack", metadata={
        "axes": "ZYX", "PhysicalSizeX": 650.0, "PhysicalSizeXUnit": "Å", "PhysicalSizeY": 650.0,
        "PhysicalSizeYUnit": "Å", "PhysicalSizeZ": 1950.0, "PhysicalSizeZUnit": "Å"})
    io.write_image(tmp_path / "ij.tif", io.read_stack(tmp_path / "a.ome.tif"), kind="uint16",
                   like=tmp_path / "a.ome.tif")
    with tifffile.TiffFile(tmp_path / "ij.tif") as tif:
        assert tif.imagej_metadata["unit"] in ("\\u00C5", "Å") and tif.imagej_metadata["spacing"] == 1950.0
    io.write_image(tmp_path / "back.ome.tif", io.read_stack(tmp_path / "ij.tif"), kind="uint16",
                   like=tmp_path / "ij.tif")
    with tifffile.TiffFile(tmp_path / "back.ome.tif") as tif:
        kept = io._ome_kept(tif.ome_metadata, "ZYX", data.shape)
    assert float(kept["PhysicalSizeX"]) == pytest.approx(650.0) and kept["PhysicalSizeXUnit"] == "Å"


def test_plain_pages_written_as_ome_tiff_are_z_slices_not_channels(tmp_path):
    """A plain multi-page stack (or several series read as one) written as .ome.tif became channels (SizeC = N):
    its frames are z-slices, as Fiji opens plain pages, whether written whole or frame by frame."""
    gray, rgb = _rand((3, 9, 8), 255, 74), _rand((2, 9, 8, 3), 255, 75)
    for name, data in (("g.ome.tif", gray), ("c.ome.tif", rgb)):
        io.write_image(tmp_path / name, data, kind="uint8")
        io.write_frames(tmp_path / f"f{name}", iter(np.round(data).astype(np.uint8)), data.shape, kind="uint8")
        for written in (name, f"f{name}"):
            with tifffile.TiffFile(tmp_path / written) as tif:
                assert tif.is_ome and tif.series[0].axes == ("ZYXS" if data.ndim == 4 else "ZYX"), written
                np.testing.assert_array_equal(tif.asarray(), np.round(data))


def test_fijis_display_settings_are_kept(tmp_path):
    """A Fiji composite lost its mode, channel colours, display ranges, labels and Info text (calibration only)."""
    a = _rand((3, 9, 8), 300, 73).astype(np.uint16)
    green = np.zeros((3, 256), np.uint8)
    green[1] = np.arange(256)
    gray = np.tile(np.arange(256, dtype=np.uint8), (3, 1))
    shown = {"mode": "composite", "Ranges": (10.0, 290.0, 5.0, 250.0, 0.0, 300.0), "Labels": ["GFP", "RFP", "BF"],
             "Info": "Acquired with scope X"}
    tifffile.imwrite(tmp_path / "c.tif", a, imagej=True, resolution=(5, 5),
                     metadata={"axes": "CYX", "unit": "micron", "LUTs": [green, green[::-1], gray], **shown})
    io.write_image(tmp_path / "o.tif", io.read_stack(tmp_path / "c.tif") + 1, kind="uint16", like=tmp_path / "c.tif")
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        meta = tif.imagej_metadata
    assert {k: meta[k] for k in shown} == shown and meta["unit"] == "micron"
    for lut, expected in zip(meta["LUTs"], [green, green[::-1], gray]):
        np.testing.assert_array_equal(lut, expected)


# --------------------------------------------------------------------------- writing rules


def test_clipping_warning_only_above_one_percent(tmp_path):
    image = np.full((20, 50), 100.0)
    image.flat[:5] = 300.0  # 0.5%: clipped silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.write_image(tmp_path / "quiet.png", image)
    assert io.read_image(tmp_path / "quiet.png").max() == 255
    image.flat[:50] = -20.0  # 5%
    with pytest.warns(io.ClippingWarning, match="5.0%") as said:
        io.write_image(tmp_path / "loud.png", image)
    assert [w.filename for w in said] == [__file__]  # (the caller's line)
    assert io.read_image(tmp_path / "loud.png").min() == 0
    assert issubclass(io.ClippingWarning, UserWarning)
    with pytest.warns(io.ClippingWarning):
        io.write_image(tmp_path / "loud16.tif", np.full((4, 4), 70000.0), kind="uint16")


@pytest.mark.parametrize(
    "name, kind, message",
    [
        ("a.png", "float32", "PNG files cannot store float32"),
        ("a.jpg", "uint16", "JPEG files cannot store uint16"),
        ("a.bmp", "uint16", "BMP files cannot store uint16"),
        ("a.png", "int8", "uint8, uint16, float32"),
        ("a.gif", None, "unsupported file extension"),
    ],
)
def test_bad_kind_or_suffix_is_a_usage_error(tmp_path, gray_image, name, kind, message):
    with pytest.raises(UsageError, match=message):
        io.write_image(tmp_path / name, gray_image, kind=kind)
    assert _files(tmp_path) == []


def test_bad_arrays_are_refused_on_write(tmp_path):
    with pytest.raises(UsageError, match="only be written as TIFF"):
        io.write_image(tmp_path / "s.png", np.zeros((2, 5, 5, 3)))
    bad = np.zeros((5, 5))
    bad[1, 1] = np.nan
    with pytest.raises(InputError, match="1 NaN/inf"):
        io.write_image(tmp_path / "n.tif", bad)
    with pytest.raises(InputError, match="shape"):
        io.write_image(tmp_path / "x.png", np.zeros((5, 5, 2)))
    assert _files(tmp_path) == []


def test_failed_write_leaves_existing_target_and_no_temp_file(tmp_path, gray_image, monkeypatch):
    target = tmp_path / "out.png"
    io.write_image(target, gray_image)
    before = target.read_bytes()

    def broken(tmp, data, fmt, kind, *_):
        Path(tmp).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(io, "_encode", broken)
    with pytest.raises(Noise2xError, match="disk full"):
        io.write_image(target, 255 - gray_image)
    assert target.read_bytes() == before
    assert _files(tmp_path) == ["out.png"]


def test_write_to_missing_folder_is_a_clear_error(tmp_path, gray_image):
    with pytest.raises(Noise2xError, match="does not exist"):
        io.write_image(tmp_path / "nope" / "a.png", gray_image)


# --------------------------------------------------------------------------- reading errors


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        io.read_image(tmp_path / "missing.png")
    with pytest.raises(UsageError, match="no such file"):
        io.image_kind(tmp_path / "missing.tif")


def test_unsupported_suffix_names_supported_formats(tmp_path):
    (tmp_path / "a.xyz").write_bytes(b"GIF89a")
    with pytest.raises(InputError, match=r"a\.xyz.*PNG, JPEG, BMP, WebP, AVIF, HEIF, TIFF[^;]*$"):
        io.read_image(tmp_path / "a.xyz")
    (tmp_path / "a.gif").write_bytes(b"GIF89a")  # (a known format it does not read: what to do, not the list)
    with pytest.raises(InputError, match=r"a\.gif: \.gif files are not read: convert it to PNG or TIFF first"):
        io.read_image(tmp_path / "a.gif")
    (tmp_path / "scan.nxs").write_bytes(b"\x89HDF\r\n\x1a\n")  # (a beamline's NeXus volume: a tomography QA pass)
    with pytest.raises(InputError, match=r"\.nxs files are not read: .*, a TIFF stack for a volume\)$"):
        io.read_image(tmp_path / "scan.nxs")
    np.save(tmp_path / "s.npy", np.zeros((2, 8, 8)))  # (a NumPy file: how to pass its array)
    with pytest.raises(InputError, match=r"s\.npy: \.npy files \(NumPy\) are not read: from Python, pass its array "
                                         r"\(noise2x\.denoise"):
        io.read_image(tmp_path / "s.npy")
    (tmp_path / "line.sgy").write_bytes(b"C 1 CLIENT" + b" " * 3190)  # (seismic traces: a geophysics QA pass)
    with pytest.raises(InputError, match=r"\.sgy files \(seismic traces\) are not read: write the section to a float32 "
                                         r"TIFF first \(e\.g\. with segyio"):
        io.read_image(tmp_path / "line.sgy")


@pytest.mark.parametrize("name", ["junk.png", "junk.jpg", "junk.bmp", "junk.tif"])
def test_corrupt_file_is_an_input_error_naming_it(tmp_path, name):
    (tmp_path / name).write_bytes(b"this is not an image" * 10)
    with pytest.raises(InputError, match=rf"{name}.*supported formats"):
        io.read_image(tmp_path / name)


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg", "cut.tif"])
def test_truncated_file_is_an_input_error(tmp_path, rgb_image, name):
    full = tmp_path / ("full" + Path(name).suffix)
    io.write_image(full, rgb_image, kind="uint8")
    data = full.read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=name):
        io.read_image(tmp_path / name)


def test_nan_in_float_tiff_is_counted(tmp_path):
    image = np.zeros((6, 7), np.float32)
    image[0, :3] = np.nan
    image[1, 1] = np.inf
    tifffile.imwrite(tmp_path / "nan.tif", image)
    with pytest.raises(InputError, match=r"nan\.tif has 3 NaN and 1 inf value \(of 42\)"):
        io.read_image(tmp_path / "nan.tif")


def test_two_band_tiff_is_a_stack_of_its_bands(tmp_path):
    tifffile.imwrite(tmp_path / "two.tif", np.zeros((9, 8, 2), np.uint8), photometric="minisblack", planarconfig="contig")
    with pytest.raises(InputError, match="a TIFF of 2 bands .*use read_stack"):
        io.read_image(tmp_path / "two.tif")
    assert io.read_stack(tmp_path / "two.tif").shape == (2, 9, 8)


# --------------------------------------------------------------------------- listing


def test_list_images_of_a_folder(tmp_path, gray_image):
    for name in ["b.png", "A.TIF", "c.JPG", ".hidden.png", "notes.txt", "d.bmp"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.png").write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()  # a folder with an image-like name is not an image
    assert [p.name for p in io.list_images(tmp_path)] == ["A.TIF", "b.png", "c.JPG", "d.bmp"]
    assert io.list_images(tmp_path / "b.png") == [tmp_path / "b.png"]


def test_list_images_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        io.list_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files in folder .*empty"):
        io.list_images(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="supported formats"):
        io.list_images(tmp_path / "notes.txt")


# --------------------------------------------------------------------------- check_image


def test_check_image_accepts_and_normalises():
    out = io.check_image(np.arange(12, dtype=np.uint8).reshape(3, 4, 1))
    assert out.dtype == np.float64 and out.shape == (3, 4)
    np.testing.assert_array_equal(out, np.arange(12).reshape(3, 4))
    assert io.check_image([[1, 2], [3, 4]]).shape == (2, 2)
    assert io.check_image(np.zeros((3, 4, 3), np.int16)).shape == (3, 4, 3)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros(5), "shape"),
        (np.zeros((2, 3, 4, 3)), "shape"),
        (np.zeros((4, 4, 2)), "shape"),
        (np.zeros((4, 4, 4)), "alpha"),
        (np.zeros((0, 4)), "empty"),
        (np.zeros((4, 4), bool), "dtype bool"),
        (np.zeros((4, 4), complex), "dtype complex"),
        (np.array([[1.0, np.nan], [np.inf, -np.inf]]), "3 NaN/inf"),
    ],
)
def test_check_image_refuses_bad_arrays(array, message):
    with pytest.raises(InputError, match=message):
        io.check_image(array, name="noisy")
    with pytest.raises(InputError, match="noisy"):
        io.check_image(array, name="noisy")


# --------------------------------------------------------------------------- units


def test_to_8bit_units_keeps_8bit_images_and_maps_others():
    yy, xx = np.mgrid[0:40, 0:50]
    clean = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + xx
    noisy = clean + 25 * np.random.default_rng(0).standard_normal(clean.shape)
    assert io.to_8bit_units(noisy) == (0.0, 1.0)                     # noisy 8-bit data: used as it is
    assert io.to_8bit_units(np.full((8, 8), 700.0)) == (0.0, 1.0)    # constant: nothing to map
    assert io.to_8bit_units(noisy / 255) == (0.0, 255.0)             # [0, 1] data: the usual factor
    lo, hi = np.percentile(noisy, [0.1, 99.9])
    # 16-bit data with an offset, a very dark image, and values beyond 510: the bulk is mapped to 0..255
    for scale, offset in [(257.0, 1000.0), (0.05, 3.0), (3.0, 0.0)]:
        o, s = io.to_8bit_units(noisy * scale + offset)
        assert o == pytest.approx(lo * scale + offset) and s == pytest.approx(255 / ((hi - lo) * scale))


def test_to_8bit_units_keeps_8bit_images_under_a_few_photons():
    """Poisson noise of 1-2 photons at 255 on 8-bit data reaches far beyond 510 (one photon is 255 or 127.5),
    yet the image is 8-bit data: its 5x5 local means say so. Data whose signal itself goes beyond 510 is
    mapped as before."""
    yy, xx = np.mgrid[0:64, 0:80]
    clean = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + xx
    rng = np.random.default_rng(0)
    for peak in (1.0, 2.0):
        noisy = rng.poisson(clean / 255 * peak) * 255 / peak
        assert np.percentile(noisy, 99.9) > 510
        assert io.to_8bit_units(noisy) == (0.0, 1.0)
        rgb = np.stack([noisy, noisy[::-1], noisy[:, ::-1]], axis=-1)
        assert io.to_8bit_units(rgb) == (0.0, 1.0)
    strong = clean * 3 + 25 * rng.standard_normal(clean.shape)  # values up to about 800
    assert io.to_8bit_units(strong)[1] < 1
    assert io.to_8bit_units((rng.poisson(clean / 255 * 2) * 255 / 2).ravel())[1] < 1  # no windows: as before


def test_written_files_get_the_usual_mode_not_the_temporary_files(tmp_path):
    # the atomic write goes through a private (0600) temporary file; the result must be
    # readable as a plain open() would make it: 0666 less the umask, or a replaced file's own mode
    mask = os.umask(0o022)
    try:
        io.write_image(tmp_path / "a.png", np.zeros((8, 8)))
        assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644
        target = tmp_path / "b.tif"
        io.write_image(target, np.zeros((8, 8)))
        target.chmod(0o640)
        io.write_image(target, np.ones((8, 8)))
        assert target.stat().st_mode & 0o777 == 0o640
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    finally:
        os.umask(mask)


def test_fill_blanks_mirrors_the_data_beside_them():
    a = np.arange(20.0).reshape(4, 5)
    a[:, :2] = np.nan
    a[0, 4] = np.nan
    filled, data = io.fill_blanks(a)
    np.testing.assert_array_equal(data, ~np.isnan(a))
    # row 1: (1,1) mirrors (1,3) across (1,2); (1,0) mirrors (1,4). (0,0)'s mirror point (0,4) is blank: the
    # nearest data value. (0,4) has nearest data (0,3) or (1,4), whose mirror points hold 2 and 14
    np.testing.assert_array_equal(filled[1:], [[9, 8, 7, 8, 9], [14, 13, 12, 13, 14], [19, 18, 17, 18, 19]])
    assert filled[0, 0] == 2 and filled[0, 1] == 3 and filled[0, 4] in (2, 14)
    np.testing.assert_array_equal(filled[~np.isnan(a)], a[~np.isnan(a)])
    # colour: only the blank values are filled; the pixel counts as blank (not data) for the estimate
    rgb = np.stack([np.arange(9.0).reshape(3, 3)] * 3, axis=-1)
    rgb[1, 1, 0] = np.nan
    filled, data = io.fill_blanks(rgb)
    assert not data[1, 1] and data.sum() == 8
    assert np.isfinite(filled).all() and filled[1, 1, 1] == 4
    # nothing blank: the image as check_image returns it
    filled, data = io.fill_blanks(np.ones((4, 4, 1), np.uint8))
    assert filled.shape == (4, 4) and data.all()
    with pytest.raises(InputError, match="every pixel is blank"):
        io.fill_blanks(np.full((4, 4), np.nan))
    with pytest.raises(InputError, match=r"4 inf values \(of 16\); only NaN marks a blank pixel: set them to NaN "
                                         r"where they hold no data$"):  # (its inf, not "NaN/inf" with NaN marking
        io.fill_blanks(np.where(np.eye(4) > 0, np.inf, np.nan))  # blanks: a tomography QA pass)


def test_nan_is_read_as_blank_pixels_only_when_asked(tmp_path):
    img = np.arange(48, dtype=np.float32).reshape(6, 8)
    img[:, :3] = np.nan
    tifffile.imwrite(tmp_path / "m.tif", img)
    with pytest.raises(InputError, match=r"18 NaN/inf values \(of 48\); if NaN marks blank pixels .*--blanks"):
        io.read_image(tmp_path / "m.tif")
    got = io.read_image(tmp_path / "m.tif", blanks=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(img))
    stack, alpha = io.read_stack_with_alpha(tmp_path / "m.tif", blanks=True)
    assert stack.shape == (1, 6, 8) and np.isnan(stack).sum() == 18 and alpha is None
    img[0, 5] = np.inf  # inf is no blank
    tifffile.imwrite(tmp_path / "i.tif", img)
    with pytest.raises(InputError, match="1 inf value .*only NaN marks a blank pixel"):
        io.read_stack(tmp_path / "i.tif", blanks=True)


def test_write_image_marks_blank_pixels(tmp_path):
    img = np.full((6, 8, 3), 100.0)
    img[:2, :3] = np.nan
    img[5, 7, 1] = np.nan  # one channel blank: the pixel is blank
    blank = np.isnan(img).any(axis=-1)
    with pytest.raises(InputError, match="NaN"):
        io.write_image(tmp_path / "a.tif", img)
    io.write_image(tmp_path / "a.tif", img, blanks=True)  # float32: NaN as it is
    np.testing.assert_array_equal(np.isnan(tifffile.imread(tmp_path / "a.tif")), np.isnan(img))
    io.write_image(tmp_path / "a.png", img, blanks=True)  # transparent
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "RGBA"
        out = np.asarray(im)
    np.testing.assert_array_equal(out[..., 3], np.where(blank, 0, 255))
    assert (out[~blank, :3] == 100).all() and (out[:2, :3, :3] == 0).all()
    alpha = np.full((6, 8), 128.0)  # an alpha given: blank pixels are transparent in it
    io.write_image(tmp_path / "b.png", img[..., 0], alpha=alpha, blanks=True)
    with Image.open(tmp_path / "b.png") as im:
        np.testing.assert_array_equal(np.asarray(im)[..., 1], np.where(np.isnan(img[..., 0]), 0, 128))
    io.write_image(tmp_path / "c.tif", img, kind="uint16", blanks=True)  # an integer TIFF: alpha too
    with tifffile.TiffFile(tmp_path / "c.tif") as tif:
        data = tif.asarray()
    np.testing.assert_array_equal(data[..., 3], np.where(blank, 0, 65535))
    with pytest.raises(UsageError, match="JPEG uint8 samples cannot mark them"):
        io.write_image(tmp_path / "a.jpg", img, blanks=True)
    assert not (tmp_path / "a.jpg").exists()
    io.write_image(tmp_path / "d.jpg", np.nan_to_num(img), blanks=True)  # nothing blank: nothing to mark


# --------------------------------------------------------------------------- photo metadata

_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="darkroom 4"/></rdf:RDF></x:xmpmeta>')


@functools.lru_cache(maxsize=None)
def _icc(space: bytes = b"RGB ") -> bytes:
    """A profile whose header names ``space``: the real sRGB profile for RGB, its bytes with another space.

    Made once: lcms writes the time of making into the header, so two made a second apart differ."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return srgb[:16] + space + srgb[20:]


def _photo(path: Path, shape=(20, 30, 3), orientation: int = 6, **extra) -> Path:
    """A camera-like JPEG (or PNG): sRGB profile, EXIF (camera, orientation, a date in the Exif sub-IFD),
    XMP naming the orientation too, 300 x 200 dpi."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 10:00:00"
    keep = dict(icc_profile=_icc(), exif=exif.tobytes(), dpi=(300, 200), xmp=_XMP) | extra
    if path.suffix == ".png":  # Pillow writes a PNG's XMP as an iTXt chunk
        from PIL import PngImagePlugin

        keep["pnginfo"] = PngImagePlugin.PngInfo()
        keep["pnginfo"].add_itxt("XML:com.adobe.xmp", keep.pop("xmp").decode())
    image = Image.fromarray(_rand(shape, 255).astype(np.uint8))
    image.save(path, **({"quality": 95} if path.suffix == ".jpg" else {}), **keep)
    return path


@pytest.mark.parametrize("name,kind", [("out.jpg", None), ("out.png", None), ("out16.png", "uint16"),
                                       ("out.tif", None), ("out8.tif", "uint8"), ("out.webp", None),
                                       ("out.avif", None)])
def test_a_photos_metadata_are_kept_with_the_orientation_made_normal(tmp_path, name, kind):
    src = _photo(tmp_path / "src.jpg")
    image = io.read_image(src)
    assert image.shape == (30, 20, 3)  # EXIF orientation 6: turned upright when read
    out = tmp_path / name
    io.write_image(out, image * (257 if kind == "uint16" else 1), kind=kind, like=src)
    assert io.read_image(out).shape == (30, 20, 3)  # not turned a second time by a viewer (or by us)
    meta = io.photo_metadata(out, 3)
    assert meta["icc"] == _icc()
    assert b'tiff:Orientation="1"' in meta["xmp"] and b'xmp:CreatorTool="darkroom 4"' in meta["xmp"]
    if out.suffix not in (".webp", ".avif"):  # (which store no resolution)
        assert meta["dpi"] == pytest.approx((200, 300), rel=1e-4)  # turned with the pixels
    if out.suffix == ".tif":  # a TIFF's EXIF is a sub-IFD of its own: not written; the camera is a TIFF tag
        assert meta["described"] == {0x010F: "TestCam"}
        with tifffile.TiffFile(out) as tif:
            assert tif.pages[0].tags.valueof(0x010F) == "TestCam" and tif.pages[0].tags.valueof(0x8769) is None
        return
    with Image.open(out) as written:
        exif = written.getexif()
    assert exif[0x010F] == "TestCam" and exif[0x0112] == 1
    assert exif.get_ifd(0x8769)[0x9003] == "2026:11:30 10:00:00"


def test_webp_and_avif(tmp_path):
    yy, xx = np.mgrid[0:33, 0:41]
    smooth = np.stack([128 + 60 * np.sin(xx / 5.0), 128 + 60 * np.cos(yy / 4.0), 100 + xx + yy], axis=-1)
    alpha = _rand((33, 41), 255, 3)
    io.write_image(tmp_path / "c.webp", smooth, alpha=alpha)  # lossless, alpha kept
    stack, kept = io.read_stack_with_alpha(tmp_path / "c.webp")
    np.testing.assert_array_equal(stack[0], np.rint(smooth))
    np.testing.assert_array_equal(kept[0], alpha)
    io.write_image(tmp_path / "g.webp", smooth[..., 0])  # stored as RGB (WebP has no gray): read back gray
    np.testing.assert_array_equal(io.read_image(tmp_path / "g.webp"), np.rint(smooth[..., 0]))
    assert io.image_kind(tmp_path / "g.webp") == "uint8"
    for name, image in (("c.avif", smooth), ("g.avif", smooth[..., 0])):  # lossy, at a high quality
        io.write_image(tmp_path / name, image)
        back = io.read_image(tmp_path / name)
        assert back.shape == image.shape
        assert 10 * np.log10(255**2 / np.mean((back - image) ** 2)) > 40
    with pytest.raises(UsageError, match="AVIF files are written lossily here and keep no alpha"):
        io.write_image(tmp_path / "a.avif", smooth, alpha=alpha)
    blank = smooth.copy()
    blank[:5] = np.nan
    io.write_image(tmp_path / "b.webp", blank, blanks=True)  # blank pixels: transparent
    stack, kept = io.read_stack_with_alpha(tmp_path / "b.webp")
    assert (kept[0][:5] == 0).all() and (kept[0][5:] == 255).all()
    with Image.open(_photo(tmp_path / "turned.jpg")) as photo:
        photo.save(tmp_path / "turned.webp", exif=photo.info["exif"])
    assert io.read_image(tmp_path / "turned.webp").shape == (30, 20, 3)  # EXIF orientation applied


def test_heif_photos(tmp_path, monkeypatch):
    pytest.importorskip("pillow_heif")
    yy, xx = np.mgrid[0:33, 0:41]
    smooth = np.stack([128 + 60 * np.sin(xx / 5.0), 128 + 60 * np.cos(yy / 4.0), 100 + xx + yy], axis=-1)
    for name, image in (("c.heic", smooth), ("g.heif", smooth[..., 0])):  # lossy, at a high quality
        io.write_image(tmp_path / name, image)
        back = io.read_image(tmp_path / name)
        assert back.shape == image.shape and io.image_kind(tmp_path / name) == "uint8"
        assert 10 * np.log10(255**2 / np.mean((back - image) ** 2)) > 40
    src = _photo(tmp_path / "photo.jpg")  # turned (EXIF orientation 6), with a profile
    io.write_image(tmp_path / "photo.heic", io.read_image(src), like=src)
    assert io.read_image(tmp_path / "photo.heic").shape == (30, 20, 3)
    meta = io.photo_metadata(tmp_path / "photo.heic", 3)
    assert meta["icc"] == _icc() and b"TestCam" in meta["exif"]
    with pytest.raises(UsageError, match="HEIF files are written lossily here and keep no alpha"):
        io.write_image(tmp_path / "a.heic", smooth, alpha=smooth[..., 0])
    monkeypatch.setitem(__import__("sys").modules, "pillow_heif", None)  # as if not installed
    with pytest.raises(Noise2xError, match=r'need pillow-heif: pip install "noise2x\[heif\]"'):
        io.read_image(tmp_path / "c.heic")
    with pytest.raises(Noise2xError, match="need pillow-heif"):
        io.writable_format(tmp_path / "out.heic")


@pytest.mark.parametrize("order", ["<", ">"])
def test_exif_upright_changes_only_the_orientation_value_and_the_thumbnail_link(order):
    mark = b"II" if order == "<" else b"MM"
    entries = [(0x010F, 2, 4, struct.pack(order + "I", 38)), (0x0112, 3, 1, struct.pack(order + "HH", 8, 0))]
    body = mark + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", len(entries))
    body += b"".join(struct.pack(order + "HHI", t, k, n) + v for t, k, n, v in entries)
    body += struct.pack(order + "I", 42)  # the thumbnail's IFD (made up: never followed here)
    raw = io._EXIF_PREFIX + body + b"Cam\x00"
    upright, was = io._exif_upright(raw)
    assert was == 8 and len(upright) == len(raw)
    changed = [i for i in range(len(raw)) if raw[i] != upright[i]]
    at = len(io._EXIF_PREFIX) + 8 + 2 + 12 + 8  # the second entry's value
    link = at + 4  # the next IFD's offset, after the last entry
    assert changed == [at + (0 if order == "<" else 1), link + (3 if order == ">" else 0)]
    assert upright[link : link + 4] == bytes(4)  # no thumbnail: its pixels were not turned
    assert io._exif_upright(upright) == (upright, 1)
    normal = raw[:at] + struct.pack(order + "H", 1) + raw[at + 2 :]  # already upright: the thumbnail stays
    assert io._exif_upright(normal) == (normal, 1)
    assert io._exif_upright(io._EXIF_PREFIX + b"junk") == (io._EXIF_PREFIX + b"junk", 1)


def test_a_profile_of_another_colour_space_is_not_kept(tmp_path):
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(_rand((12, 14, 4), 255).astype(np.uint8), mode="CMYK").save(cmyk, icc_profile=_icc(b"CMYK"))
    with pytest.warns(UserWarning, match="its CMYK colour profile is not applied"):
        image = io.read_image(cmyk)
    assert image.shape == (12, 14, 3)  # read as RGB: the CMYK profile no longer describes it
    io.write_image(tmp_path / "out.png", image, like=cmyk)
    assert "icc" not in io.photo_metadata(tmp_path / "out.png", 3)
    src = _photo(tmp_path / "src.png", orientation=1)  # an RGB profile does not describe a gray image
    io.write_image(tmp_path / "gray.png", io.read_image(src)[..., 0], like=src)
    with Image.open(tmp_path / "gray.png") as written:
        assert "icc_profile" not in written.info and written.getexif()[0x010F] == "TestCam"
    gray = tmp_path / "gray.jpg"
    Image.fromarray(_rand((12, 14), 255).astype(np.uint8)).save(gray, icc_profile=_icc(b"GRAY"))
    io.write_image(tmp_path / "gray16.png", io.read_image(gray) * 257, kind="uint16", like=gray)
    assert io.photo_metadata(tmp_path / "gray16.png", 1)["icc"] == _icc(b"GRAY")


def test_metadata_that_cannot_be_read_or_kept_leave_the_output_as_before(tmp_path):
    src = _photo(tmp_path / "src.jpg")
    image = io.read_image(src)
    io.write_image(tmp_path / "stack.tif", np.stack([image, image]), like=src)  # a stack: no photo
    with tifffile.TiffFile(tmp_path / "stack.tif") as tif:
        assert 34675 not in tif.pages[0].tags
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    io.write_image(tmp_path / "out.jpg", image, like=junk)
    assert io.photo_metadata(tmp_path / "out.jpg", 3) == {}
    with Image.open(tmp_path / "out.jpg") as written:
        assert written.size == (20, 30)


def test_records_too_long_for_a_jpeg_are_left_out_not_a_failed_write(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x9286] = "x" * 70000  # a user comment longer than a JPEG marker segment holds
    long_xmp = _XMP.replace(b"darkroom 4", b"y" * 70000)
    src = _photo(tmp_path / "src.png", orientation=1, exif=exif.tobytes(), xmp=long_xmp)
    meta = io.photo_metadata(src, 3)
    assert len(meta["exif"]) > 65533 and len(meta["xmp"]) > 65533
    with pytest.warns(UserWarning) as said:
        io.write_image(tmp_path / "out.jpg", io.read_image(src), like=src)
    assert [str(w.message).split(": ", 1)[1] for w in said] == [
        f"the photo's EXIF record ({len(meta['exif'])} bytes) is longer than a JPEG holds and was left out (write "
        ".png or .webp to keep it)",
        f"the photo's XMP record ({len(meta['xmp'])} bytes) is longer than a JPEG holds and was left out (write .png "
        "or .webp to keep it)"]
    kept = io.photo_metadata(tmp_path / "out.jpg", 3)
    assert kept["icc"] == _icc() and "exif" not in kept and "xmp" not in kept
    io.write_image(tmp_path / "out.png", io.read_image(src), like=src)  # a PNG holds them
    assert io.photo_metadata(tmp_path / "out.png", 3)["exif"] == meta["exif"]


def test_stored_rounds_clips_and_counts_and_write_image_takes_it_as_it_is(tmp_path):
    values = np.array([[-3.0, 0.4, 0.5, 1.5], [254.6, 255.49, 300.0, 65535.7]])
    data, clipped = io.stored(values, "uint8")
    assert data.dtype == np.uint8 and clipped == 3
    np.testing.assert_array_equal(data, [[0, 0, 0, 2], [255, 255, 255, 255]])
    data16, clipped16 = io.stored(values, "uint16")
    assert clipped16 == 2 and data16[1, 3] == 65535 and data16[0, 0] == 0
    f32, none = io.stored(values, "float32")
    assert f32.dtype == np.float32 and none == 0
    # written as it is stored, or from its values: the same file contents
    io.write_image(tmp_path / "a.tif", data16, kind="uint16")
    io.write_image(tmp_path / "b.tif", np.clip(values, 0, 65535), kind="uint16")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))
    with pytest.warns(io.ClippingWarning, match=r"writing x.tif: 50.0% of the values were outside \[0, 255\]"):
        io.clipping_warning("x.tif", 4, 8, "uint8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.clipping_warning("x.tif", 1, 200, "uint8")  # 0.5%: silent


def test_open_stack_reads_a_tiffs_frames_one_at_a_time(tmp_path):
    """The usual multi-frame layouts come as TiffFrames with read_stack's frames; others are read whole."""
    import tifffile

    rng = np.random.default_rng(0)
    hyper = rng.integers(0, 65535, (2, 3, 2, 8, 9)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "h.tif", hyper, imagej=True, metadata={"axes": "TZCYX"})
    tifffile.imwrite(tmp_path / "o.ome.tif", hyper, metadata={"axes": "TZCYX"})
    rgb = rng.integers(0, 255, (5, 8, 9, 3)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb)
    tifffile.imwrite(tmp_path / "planar.tif", rgb.transpose(0, 3, 1, 2), photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "one.tif", rgb[0])
    for name, lazy in (("h.tif", True), ("o.ome.tif", True), ("rgb.tif", True), ("planar.tif", False),
                       ("one.tif", False)):
        whole = io.read_stack(tmp_path / name, dtype=np.float32)
        stack, alpha = io.open_stack(tmp_path / name, dtype=np.float32)
        assert isinstance(stack, io.TiffFrames) == lazy and alpha is None, name
        assert stack.shape == whole.shape and stack.ndim == whole.ndim and len(stack) == len(whole)
        frames = list(stack)
        assert all(f.dtype == np.float32 for f in frames)
        np.testing.assert_array_equal(np.stack(frames), whole)
        np.testing.assert_array_equal(stack[-1], whole[-1])
        if lazy:
            with pytest.raises(IndexError):
                stack[len(stack)]
            stack.close()
    # a NaN is found when its frame is read, and named
    floats = rng.normal(0, 1, (4, 6, 7)).astype(np.float32)
    floats[2, 1, 1] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", floats, photometric="minisblack")
    with io.open_stack(tmp_path / "f.tif")[0] as stack:
        assert np.isfinite(stack[1]).all()
        with pytest.raises(InputError, match=r"f.tif \(frame 3\) has 1 NaN/inf value"):
            stack[2]
    with io.open_stack(tmp_path / "f.tif", blanks=True)[0] as stack:
        assert np.isnan(stack[2]).sum() == 1


def test_write_frames_writes_a_stack_as_its_frames_come(tmp_path):
    rng = np.random.default_rng(1)
    hyper = rng.integers(0, 65535, (2, 3, 8, 9)).astype(np.uint16)
    src = tmp_path / "h.tif"
    tifffile.imwrite(src, hyper, imagej=True, metadata={"axes": "ZCYX", "spacing": 0.5, "unit": "um"},
                     resolution=(4.0, 4.0))
    frames = hyper.reshape(6, 8, 9)
    io.write_frames(tmp_path / "o.tif", iter(frames), frames.shape, kind="uint16", like=src)
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:  # the input's axes and calibration, as write_image keeps them
        assert tif.is_imagej and tif.series[0].axes == "ZCYX" and tif.imagej_metadata["spacing"] == 0.5
        np.testing.assert_array_equal(tif.asarray(), hyper)
    io.write_image(tmp_path / "w.tif", frames, kind="uint16", like=src)
    with tifffile.TiffFile(tmp_path / "w.tif") as a, tifffile.TiffFile(tmp_path / "o.tif") as b:
        assert a.imagej_metadata == b.imagej_metadata and a.pages[0].resolution == b.pages[0].resolution
    io.write_frames(tmp_path / "f.ome.tif", (f.astype(np.float32) for f in frames), frames.shape, kind="float32",
                    like=src)
    with tifffile.TiffFile(tmp_path / "f.ome.tif") as tif:
        assert tif.is_ome and tif.series[0].axes == "ZCYX"
    # nothing written (an existing file untouched) when a frame is wrong or its making fails
    before = (tmp_path / "o.tif").read_bytes()
    for given, match in (([frames[0]] * 5, "5 frames given, 6 expected"), ([frames[0][:4]] * 6, "frame 1 for"),
                         ([f.astype(np.float32) for f in frames], "frame 1 for .*float32")):
        with pytest.raises(InputError, match=match):
            io.write_frames(tmp_path / "o.tif", iter(given), frames.shape, kind="uint16", like=src)
        assert (tmp_path / "o.tif").read_bytes() == before

    def failing():
        yield frames[0]
        raise UsageError("the method failed")

    with pytest.raises(UsageError, match="the method failed"):
        io.write_frames(tmp_path / "o.tif", failing(), frames.shape, kind="uint16", like=src)
    assert (tmp_path / "o.tif").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == \
        ["f.ome.tif", "h.tif", "o.tif", "w.tif"]
    with pytest.raises(UsageError, match="as TIFF, or gray as plain FITS"):
        io.write_frames(tmp_path / "o.png", iter(frames), frames.shape, kind="uint16")
    with pytest.raises(UsageError, match="as TIFF, or gray as plain FITS"):
        io.write_frames(tmp_path / "o.fz", iter(frames), frames.shape, kind="uint16")


def test_write_frames_writes_a_fits_cube_as_write_image_does(tmp_path):
    """Plain FITS frame by frame: the data and header cards that write_image gives the same planes."""
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(4)
    cube = rng.integers(0, 65535, (1, 3, 10, 12)).astype(np.uint16)  # a radio cube: Stokes x frequency x Y x X
    hdu = fits.PrimaryHDU(cube)
    hdu.header.update(OBJECT="M 87", CTYPE3="FREQ", CRVAL3=1.4e9, BUNIT="Jy/beam")
    hdu.writeto(tmp_path / "src.fits")
    planes = cube.reshape(3, 10, 12)
    for kind, frames in (("uint16", planes), ("float32", planes.astype(np.float32) / 7),
                         ("uint8", (planes // 257).astype(np.uint8))):
        io.write_frames(tmp_path / f"s_{kind}.fits", iter(frames), frames.shape, kind=kind, like=tmp_path / "src.fits")
        io.write_image(tmp_path / f"w_{kind}.fits", frames, kind=kind, like=tmp_path / "src.fits")
        with fits.open(tmp_path / f"s_{kind}.fits") as s, fits.open(tmp_path / f"w_{kind}.fits") as w:
            np.testing.assert_array_equal(s[0].data, w[0].data)
            assert s[0].data.shape == (1, 3, 10, 12) and s[0].data.dtype == w[0].data.dtype
            for key in ("BITPIX", "OBJECT", "CTYPE3", "CRVAL3", "BUNIT"):
                assert s[0].header[key] == w[0].header[key], key
    with pytest.raises(InputError, match="2 frames given, 3 expected"):
        io.write_frames(tmp_path / "s_uint16.fits", iter(planes[:2]), planes.shape, kind="uint16")
    with fits.open(tmp_path / "s_uint16.fits") as s:  # left as it was
        assert s[0].header["OBJECT"] == "M 87"


@pytest.mark.parametrize("orientation,size", [(6, (20, 30)), (8, (20, 30)), (3, (30, 20)), (1, (30, 20))])
def test_exif_pixel_dimensions_follow_the_turned_pixels(tmp_path, orientation, size):
    """A photo stored 30 wide and 20 high: its Exif PixelX/YDimension say so; turned a quarter when read (5-8),
    the output's say 20 x 30, as its pixels are."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769).update({0xA002: 30, 0xA003: 20, 0x9003: "2026:11:30 10:00:00"})
    src = tmp_path / "src.jpg"
    Image.fromarray(_rand((20, 30, 3), 255).astype(np.uint8)).save(src, exif=exif.tobytes(), quality=95)
    image = io.read_image(src)
    assert image.shape[1::-1] == size
    io.write_image(tmp_path / "out.jpg", image, like=src)
    with Image.open(tmp_path / "out.jpg") as out:
        sub = out.getexif().get_ifd(0x8769)
        assert (sub[0xA002], sub[0xA003]) == out.size == size and sub[0x9003] == "2026:11:30 10:00:00"


def test_open_stack_reads_a_fits_cubes_planes_one_at_a_time(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    rng = np.random.default_rng(3)
    u16 = rng.integers(0, 65535, (4, 10, 12)).astype(np.uint16)
    fits.PrimaryHDU(u16).writeto(tmp_path / "u16.fits")  # stored as int16 with BZERO 32768
    i16 = rng.integers(-1000, 1000, (3, 10, 12)).astype(np.int16)
    i16[1, 2, 3] = -32768
    hdu = fits.PrimaryHDU(i16)
    hdu.header["BLANK"] = -32768
    hdu.writeto(tmp_path / "blank.fits")
    fits.PrimaryHDU(rng.normal(0, 1, (2, 3, 10, 12)).astype(np.float32)).writeto(tmp_path / "f4.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(u16)]).writeto(tmp_path / "c.fz")
    fits.PrimaryHDU(u16).writeto(tmp_path / "g.fits.gz")
    fits.PrimaryHDU(u16[0]).writeto(tmp_path / "one.fits")
    for name, lazy in (("u16.fits", True), ("blank.fits", True), ("f4.fits", True), ("c.fz", True),
                       ("g.fits.gz", False), ("one.fits", False)):
        whole = io.read_stack(tmp_path / name, dtype=np.float32, blanks=True)
        stack, _ = io.open_stack(tmp_path / name, dtype=np.float32, blanks=True)
        assert isinstance(stack, io.FitsFrames) == lazy, name
        assert stack.shape == whole.shape and len(stack) == len(whole)
        np.testing.assert_array_equal(np.stack(list(stack)), whole)
        if lazy:
            stack.close()
    with io.open_stack(tmp_path / "blank.fits")[0] as stack:  # without blanks: the BLANK value is an error there
        stack[0]
        with pytest.raises(InputError, match=r"blank.fits \(frame 2\) has 1 pixel \(of 120\) of its BLANK value "
                                             r"-32768, which marks pixels with no data: give --blanks \(blanks=True"):
            stack[1]


def test_ten_bit_heif_read_and_written_at_full_depth(tmp_path):
    """A 10-bit HEIF (cameras' HIF, HDR photos) is read with its 10 bits, not Pillow's 8, in 16-bit units; a
    uint16 output written as HEIF has 10 bits; `denoise` keeps the depth into .heic and .png outputs."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from noise2x.cli import main

    yy, xx = np.mgrid[0:48, 0:64]
    smooth = np.stack([20000 + 9000 * np.sin(xx / 7.0), 30000 + 8000 * np.cos(yy / 6.0), 9000 + 300 * (xx + yy)], -1)
    exif = Image.Exif()
    exif[0x0110] = "HIF camera"
    for name, image, mode in (("c.heic", smooth, "RGB;16"), ("g.heic", smooth[..., 0], "L;16")):
        source = image.astype(np.uint16)
        pillow_heif.from_bytes(mode=mode, size=(64, 48), data=source.tobytes()).save(
            tmp_path / name, quality=100, chroma=444, exif=exif.tobytes())
        assert io.image_kind(tmp_path / name) == "uint16"
        back = io.read_image(tmp_path / name)
        assert back.shape == image.shape
        eight = np.asarray(pillow_heif.open_heif(tmp_path / name), dtype=np.float64) * 257.0  # Pillow's 8 bits
        eight = eight[..., 0] if image.ndim == 2 and eight.ndim == 3 else eight
        err, err8 = np.abs(back - source).mean(), np.abs(eight - source).mean()
        assert err < err8, (err, err8)  # (the lossy codec's own error is the larger part of both)
        # the two bits more are there: 10-bit samples shifted to 16 bits (multiples of 64), most of them between
        # the 8-bit levels (multiples of 257) the 8-bit reading gives
        assert (back % 64 == 0).all() and np.mean(back % 257 != 0) > 0.9
        io.write_image(tmp_path / f"w{name}", back, kind="uint16", like=tmp_path / name)
        written = pillow_heif.open_heif(tmp_path / f"w{name}", convert_hdr_to_8bit=False)
        assert written.info["bit_depth"] == 10 and io.image_kind(tmp_path / f"w{name}") == "uint16"
        assert np.abs(io.read_image(tmp_path / f"w{name}") - back).mean() < err8
        assert b"HIF camera" in io.photo_metadata(tmp_path / f"w{name}", 1 if back.ndim == 2 else 3)["exif"]
    for out, kind in (("o.heic", "uint16"), ("o.png", "uint16"), ("o.jpg", "uint8")):
        assert main(["denoise", "--method", "bm3d", str(tmp_path / "c.heic"), "--out", str(tmp_path / out)]) == 0
        assert io.image_kind(tmp_path / out) == kind, out


def test_ten_and_twelve_bit_avif_read_at_full_depth(tmp_path):
    """A 10- or 12-bit AVIF (HDR photos) is read with all its bits (Pillow decodes 8 of them), in 16-bit units
    like a 10-bit HEIF, gray staying gray and alpha apart; an 8-bit AVIF still goes through Pillow."""
    imagecodecs = pytest.importorskip("imagecodecs")
    from noise2x.cli import main

    yy, xx = np.mgrid[0:32, 0:40]
    ramp = (xx * 25 + yy * 3) % 1024
    for bits in (10, 12):
        top = ramp * (1 << (bits - 10))
        rgb = np.stack([top, top.max() - top, top // 2], -1).astype(np.uint16)
        for name, data in ((f"c{bits}.avif", rgb), (f"g{bits}.avif", rgb[..., 0]),
                           (f"a{bits}.avif", np.concatenate([rgb, rgb[..., :1]], -1))):
            (tmp_path / name).write_bytes(imagecodecs.avif_encode(data, level=100, bitspersample=bits))
            assert io._avif_bits(tmp_path / name) == bits and io.image_kind(tmp_path / name) == "uint16"
            back, alpha = io._read_pillow(tmp_path / name)
            colour = data[..., :3] if data.ndim == 3 else data
            assert back.dtype == np.uint16 and back.shape == colour.shape
            np.testing.assert_array_equal(back, colour.astype(np.uint16) << (16 - bits))  # lossless: every bit
            if name.startswith("a"):
                np.testing.assert_array_equal(alpha, data[..., 3].astype(np.uint16) << (16 - bits))
            else:
                assert alpha is None
    # the 8-bit file is Pillow's, as before
    (tmp_path / "e.avif").write_bytes(imagecodecs.avif_encode(np.stack([ramp // 4] * 3, -1).astype(np.uint8),
                                                              level=100))
    assert io._avif_bits(tmp_path / "e.avif") == 8 and io.image_kind(tmp_path / "e.avif") == "uint8"
    pillow = np.asarray(Image.open(tmp_path / "e.avif"))[..., 0]
    np.testing.assert_array_equal(io.read_image(tmp_path / "e.avif"), pillow)
    assert main(["denoise", "--method", "bm3d", str(tmp_path / "c10.avif"), "--out", str(tmp_path / "o.png")]) == 0
    assert io.image_kind(tmp_path / "o.png") == "uint16"  # the depth kept into a 16-bit PNG


@pytest.mark.parametrize("orientation", range(1, 9))
def test_avif_orientation_turns_the_array_as_pillow_turns_the_image(orientation):
    """_read_avif16 turns its decoded array by the EXIF orientation Pillow reads from an AVIF's rotation and
    mirror boxes: the same turn as Pillow's exif_transpose gives its 8-bit reading."""
    from PIL import ImageOps

    data = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    im = Image.fromarray(data)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    turned = io._ORIENT.get(orientation, lambda a: a)(data)
    np.testing.assert_array_equal(turned, expected)


@pytest.mark.parametrize("compression", ["tiff_lzw", "jpeg", "packbits", "tiff_adobe_deflate"])
def test_compressed_tiffs_are_read(tmp_path, compression):
    """LZW (the common TIFF compression: scanners, image editors, microscope software), JPEG, PackBits and
    Deflate TIFFs are read (tifffile decodes LZW and JPEG with imagecodecs, a dependency)."""
    yy, xx = np.mgrid[0:40, 0:50]
    data = ((xx * 5 + yy * 3) % 256).astype(np.uint8)
    Image.fromarray(data).save(tmp_path / "c.tif", compression=compression)
    back = io.read_image(tmp_path / "c.tif")
    assert back.shape == data.shape and io.image_kind(tmp_path / "c.tif") == "uint8"
    with Image.open(tmp_path / "c.tif") as im:  # (Pillow decodes these through libtiff: the same pixels)
        np.testing.assert_array_equal(back, np.asarray(im))
    if compression != "jpeg":
        np.testing.assert_array_equal(back, data)
    if compression == "tiff_lzw":  # and 16 bits
        Image.fromarray(data.astype(np.uint16) * 200).save(tmp_path / "c16.tif", compression=compression)
        np.testing.assert_array_equal(io.read_image(tmp_path / "c16.tif"), data.astype(np.uint16) * 200)


def test_outputs_keep_a_tiffs_lossless_compression(tmp_path):
    """An output written like an LZW/ZSTD/Deflate TIFF is compressed the same way (a denoised stack is not left
    several times larger than its input), a single image and a stack written frame by frame alike; a JPEG TIFF
    gives a Deflate one (lossless: a slide's JPEG tiles came back 4 times larger uncompressed, a whole-slide QA
    pass); an uncompressed TIFF an uncompressed output."""
    import tifffile

    stack = (np.random.default_rng(0).random((5, 24, 20)) * 4000).astype(np.uint16)
    for compression, expected in (("lzw", "LZW"), ("zstd", "ZSTD"), ("adobe_deflate", "ADOBE_DEFLATE"),
                                  ("jpeg", "ADOBE_DEFLATE"), (None, "NONE")):
        data = (stack // 16).astype(np.uint8) if compression == "jpeg" else stack
        like = tmp_path / f"in_{compression}.tif"
        tifffile.imwrite(like, data, compression=compression)
        io.write_image(tmp_path / "one.tif", data[0].astype(np.float64), kind="uint16", like=like)
        io.write_frames(tmp_path / "frames.tif", iter(stack), stack.shape, kind="uint16", like=like)
        for out in ("one.tif", "frames.tif"):
            with tifffile.TiffFile(tmp_path / out) as tif:
                assert tif.pages[0].compression.name == expected, (compression, out)
        np.testing.assert_array_equal(io.read_stack(tmp_path / "frames.tif"), stack)


def test_a_multi_page_documents_dpi_and_profile_are_kept(tmp_path, capsys):
    """A multi-page TIFF (a scanned document's pages) keeps its resolution and gray colour profile on each page of
    its output, written whole or frame by frame (they were dropped unsaid, a document scans QA pass); info says
    they are kept; strip_exif keeps them too (how to show the pixels), and drops the descriptive tags."""
    import tifffile

    from noise2x.cli import main

    icc = bytearray(200)
    icc[12:20] = b"mntrGRAY"
    pages = (np.random.default_rng(0).random((3, 24, 20)) * 200).astype(np.uint8)
    like = tmp_path / "doc.tif"
    tifffile.imwrite(like, pages, resolution=(400, 400), resolutionunit=2, iccprofile=bytes(icc), compression="lzw",
                     photometric="minisblack", metadata=None, extratags=[(315, 2, 0, b"An Archivist", True)])
    for strip in (False, True):
        io.write_image(tmp_path / "whole.tif", pages.astype(np.float64), kind="uint8", like=like, strip_exif=strip)
        io.write_frames(tmp_path / "frames.tif", iter(pages), pages.shape, kind="uint8", like=like, strip_exif=strip)
        for out in ("whole.tif", "frames.tif"):
            with tifffile.TiffFile(tmp_path / out) as tif:
                assert len(tif.pages) == 3, out
                for page in tif.pages:
                    assert page.resolution == (400, 400) and page.resolutionunit == 2, (out, page.resolution)
                    assert page.tags[34675].value == bytes(icc) and page.compression.name == "LZW", out
                assert (tif.pages[0].tags.valueof(315) == "An Archivist") is not strip, (out, strip)
    assert main(["info", str(like)]) == 0
    kept = [line for line in capsys.readouterr().out.splitlines() if line.startswith("kept in outputs: ")]
    assert kept and "colour profile (200 bytes)" in kept[0] and "400 x 400 dpi" in kept[0], kept


def test_a_fax_compressed_1_bit_scan_is_written_compressed_and_1_bit_where_it_stays_so(tmp_path, capsys):
    """A 1-bit CCITT G4 scan (600 dpi) denoised: black and white alone (despeckle, the no-option route)
    is written 1-bit again, Deflate-compressed (tifffile writes no fax codec), with its dpi; grey levels 8-bit,
    Deflate too (it was uncompressed 8-bit, 23 times larger: a document scans QA pass); info says both."""
    import tifffile
    from PIL import Image

    from noise2x.cli import main

    rng = np.random.default_rng(0)
    page = np.ones((120, 160), bool)
    page[30:40, 20:140] = page[50:110, 70:76] = False
    scan = page ^ (rng.random(page.shape) < 0.01)
    Image.fromarray(scan).save(tmp_path / "g4.tif", compression="group4", dpi=(600, 600))
    with tifffile.TiffFile(tmp_path / "g4.tif") as tif:
        assert tif.pages[0].compression.name == "CCITTFAX4" and tif.pages[0].bitspersample == 1
    assert main(["info", str(tmp_path / "g4.tif")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("CCITT G4-compressed (TIFF outputs: Deflate, lossless too)"), lines[0]
    assert lines[1].startswith("stored with 1 bit a pixel") and "1-bit again" in lines[1], lines[1]
    assert any(line.startswith("noise: not read (two values only); specks of up to 2 pixels on ") for line in lines)
    for args, bits in (([], 1), (["--method", "nlm", "--noise", "gaussian:sigma=60"], 8)):
        out = tmp_path / f"out{bits}.tif"
        assert main(["denoise", str(tmp_path / "g4.tif"), "--out", str(out), "-q", *args]) == 0
        with tifffile.TiffFile(out) as tif:
            p = tif.pages[0]
            assert (p.bitspersample, p.compression.name, p.resolution) == (bits, "ADOBE_DEFLATE", (600, 600)), bits
        result = io.read_image(out)
        if bits == 1:  # (as shown: white 255, the strokes black; the specks gone)
            assert np.count_nonzero(result != page * 255.0) < 0.3 * np.count_nonzero(scan != page)
        assert out.stat().st_size < 8 * (tmp_path / "g4.tif").stat().st_size


def test_each_page_keeps_its_own_dpi_depth_and_bits(tmp_path, capsys):
    """A re-check's multi-page archives: pages of one size at 300 and 200 dpi (each took page 1's), written whole or
    frame by frame; a 2-page fax (came out 8-bit); pages of different sizes each with its own dpi, depth (a 16-bit
    page after an 8-bit one came out 8-bit, every pixel 255) and bits; a 1-bit and a grey page of one size (two
    series to tifffile: dpi and what made it were lost)."""
    import tifffile
    from PIL import Image

    from noise2x.cli import main

    rng = np.random.default_rng(0)  # (10 pages: from 8, tifffile reads them as a uniform series, whose pages after
    # the first come without their tags, and the first fixes did nothing there, a re-check)
    grey = [np.clip(rng.normal(120, 20, (40, 36)), 0, 255).astype(np.uint8) for _ in range(10)]
    with tifffile.TiffWriter(tmp_path / "dpi.tif") as tif:
        for n, page in enumerate(grey):
            dpi = (300, 200)[n % 2]
            tif.write(page, photometric="minisblack", resolution=(dpi, dpi), resolutionunit=2, metadata=None)
    io.write_image(tmp_path / "whole.tif", np.stack(grey).astype(np.float64), kind="uint8", like=tmp_path / "dpi.tif")
    io.write_frames(tmp_path / "frames.tif", iter(grey), (10, 40, 36), kind="uint8", like=tmp_path / "dpi.tif")
    io.write_frames(tmp_path / "frames.ome.tif", iter(grey), (10, 40, 36), kind="uint8", like=tmp_path / "dpi.tif")
    for out in ("whole.tif", "frames.tif"):  # (an OME-TIFF's pages take page 1's, as its XML: it failed, a re-check)
        with tifffile.TiffFile(tmp_path / out) as tif:
            assert [p.resolution for p in tif.pages] == [(300, 300), (200, 200)] * 5, out
        np.testing.assert_array_equal(io.read_stack(tmp_path / out), np.stack(grey))
    np.testing.assert_array_equal(io.read_stack(tmp_path / "frames.ome.tif"), np.stack(grey))
    assert main(["info", str(tmp_path / "dpi.tif")]) == 0
    assert "kept in outputs: 300 x 300 dpi (page 1's; each page keeps its own)" in capsys.readouterr().out
    assert io.page_sizes_text([(4, 5), (5, 4)] * 6) == ("page 1 5x4, page 2 4x5, page 3 5x4, page 4 4x5, page 5 5x4, "
                                                        "page 6 4x5, page 7 5x4, page 8 4x5 and 4 more pages")
    bits = np.ones((40, 36), bool)
    bits[10:14, 4:30] = False
    specked = bits.copy()
    specked[30, 30] = False
    pages = [Image.fromarray(specked)] + [Image.fromarray(bits)] * 9
    pages[0].save(tmp_path / "fax.tif", compression="group4", save_all=True, append_images=pages[1:], dpi=(200, 200))
    wide = (np.arange(30 * 50).reshape(30, 50) * 40).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        tif.write(grey[0], photometric="minisblack", resolution=(300, 300), resolutionunit=2, metadata=None)
        tif.write(wide, photometric="minisblack", resolution=(150, 150), resolutionunit=2, metadata=None)
        tif.write(specked, photometric="minisblack", resolution=(600, 600), resolutionunit=2, metadata=None)
    with tifffile.TiffWriter(tmp_path / "kinds.tif") as tif:  # (one size: a 1-bit page and a grey one)
        tif.write(bits, photometric="minisblack", resolution=(300, 300), resolutionunit=2, metadata=None)
        tif.write(grey[0], photometric="minisblack", resolution=(300, 300), resolutionunit=2, metadata=None)
    for name in ("fax", "mixed", "kinds"):
        assert main(["denoise", str(tmp_path / f"{name}.tif"), "--out", str(tmp_path / f"o_{name}.tif"), "-q",
                     *(["--method", "nlm", "--noise", "gaussian:sigma=3"] if name != "fax" else [])]) == 0
    with tifffile.TiffFile(tmp_path / "o_fax.tif") as tif:
        assert [(p.bitspersample, p.resolution) for p in tif.pages] == [(1, (200, 200))] * 10
        assert tif.pages[0].asarray()[30, 30]  # (the speck gone)
    with tifffile.TiffFile(tmp_path / "o_mixed.tif") as tif:
        assert [(p.bitspersample, p.resolution) for p in tif.pages] == [(8, (300, 300)), (16, (150, 150)),
                                                                       (1, (600, 600))]  # (black and white)
        assert abs(float(tif.pages[1].asarray().mean()) - float(wide.mean())) < 0.01 * float(wide.mean())
    frames = io.read_stack(tmp_path / "kinds.tif").astype(np.uint8)
    io.write_frames(tmp_path / "f_kinds.tif", iter(frames), frames.shape, kind="uint8", like=tmp_path / "kinds.tif",
                    history=["noise2x denoise kinds.tif"])
    for out in ("o_kinds.tif", "f_kinds.tif"):
        with tifffile.TiffFile(tmp_path / out) as tif:
            assert [p.resolution for p in tif.pages] == [(300, 300)] * 2, out
            assert tif.pages[0].software.startswith("noise2x") and io.TIFF_IMAGE_HISTORY in tif.pages[0].tags, out
            assert [p.bitspersample for p in tif.pages] == [1, 8], out  # (the 1-bit page in black and white)


def test_large_pictures_are_not_refused_as_decompression_bombs(tmp_path, monkeypatch):
    """Pillow refuses pictures above 179 MP (a guard for the web); noise2x reads up to 4.3 GP through it (a
    panorama or scan on disk) without Pillow's warning, and leaves Pillow's own limit as it was."""
    from PIL import Image

    io.write_image(tmp_path / "p.png", np.full((40, 50), 7, np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 900)  # the picture is "over twice the limit" for Pillow
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "p.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no DecompressionBombWarning either)
        assert io.image_kind(tmp_path / "p.png") == "uint8" and io.read_image(tmp_path / "p.png").shape == (40, 50)
    assert Image.MAX_IMAGE_PIXELS == 900
    monkeypatch.setattr(io, "_PILLOW_MAX_PIXELS", 500)  # above noise2x's own limit: one clear error
    with pytest.raises(InputError, match=r"cannot read image file .*p\.png: Image size \(2000 pixels\) exceeds"):
        io.read_image(tmp_path / "p.png")
    # two threads' opens overlapping (the first in, the second in, the first out, the second out): each put back
    # what it found, the second the first's raised limit, which stayed (a concurrency QA pass)
    import threading

    monkeypatch.setattr(io, "_PILLOW_MAX_PIXELS", 2**32)
    real, gates = Image.open, {"a": threading.Event(), "b": threading.Event()}
    inside = {"a": threading.Event(), "b": threading.Event()}

    def held_open(path, *args, **kwargs):
        name = threading.current_thread().name
        inside[name].set()
        gates[name].wait(10)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", held_open)
    threads = {name: threading.Thread(target=io.image_kind, args=(tmp_path / "p.png",), name=name) for name in "ab"}
    threads["a"].start()
    inside["a"].wait(10)
    threads["b"].start()
    inside["b"].wait(10)
    gates["a"].set()
    threads["a"].join(10)
    assert Image.MAX_IMAGE_PIXELS == 2**32  # (b is still opening)
    gates["b"].set()
    threads["b"].join(10)
    assert Image.MAX_IMAGE_PIXELS == 900


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_an_animation_is_refused_not_cut_to_its_first_frame(tmp_path, suffix):
    """An animated PNG or WebP read as its first frame alone lost the others without a word."""
    frames = [Image.fromarray(np.full((20, 24, 3), 40 * k, np.uint8)) for k in range(3)]
    frames[0].save(tmp_path / f"a{suffix}", save_all=True, append_images=frames[1:], lossless=True)
    with pytest.raises(InputError, match=rf"a\{suffix} is an animation of 3 frames; .*save the frames as a TIFF"):
        io.read_image(tmp_path / f"a{suffix}")
    frames[0].save(tmp_path / f"one{suffix}", lossless=True)  # one frame: read as before
    assert io.read_image(tmp_path / f"one{suffix}").shape[:2] == (20, 24)


def test_float_data_in_unit_range_written_as_integers_are_warned_of(tmp_path):
    """Float data scaled to [0, 1] written to an 8- or 16-bit file become 0 and 1 (a black picture): a warning
    says so; data in 8-bit units, and a 0/1 mask, are written without one."""
    unit = np.random.default_rng(0).uniform(0.2, 0.8, (16, 16))
    for kind, name in (("uint8", "u.png"), ("uint16", "u16.png"), ("uint8", "u.jpg")):
        with pytest.warns(io.ClippingWarning, match=rf"values lie within \[0\.2.*, 0\.7.*\] \(data scaled to "
                                                    rf"\[0, 1\]\?\); a {kind} file stores whole numbers"):
            io.write_image(tmp_path / name, unit, kind=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.write_image(tmp_path / "e.png", unit * 255, kind="uint8")
        io.write_image(tmp_path / "m.png", (unit > 0.5).astype(float), kind="uint8")
        io.write_image(tmp_path / "f.tif", unit, kind="float32")


def test_a_tiffs_thumbnail_series_is_left_out_not_refused(tmp_path):
    """A TIFF holding its image and a reduced-resolution copy (NewSubfileType 1: a Zeiss LSM file's thumbnails,
    a slide scanner's previews) was refused for sizes that differ; the image is read (whole and frame by
    frame) and an output written like it has the image's layout. Series of different sizes that are all full
    images stay an error."""
    import tifffile

    stack = (np.random.default_rng(0).random((5, 24, 20)) * 200).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "t.tif") as w:
        w.write(stack)
        w.write(stack[0, ::4, ::4], subfiletype=1)
    with tifffile.TiffFile(tmp_path / "t.tif") as tif:  # (tifffile gives the thumbnail its own series)
        assert [s.keyframe.is_reduced for s in tif.series] == [False, True]
    np.testing.assert_array_equal(io.read_stack(tmp_path / "t.tif"), stack)
    assert len(io.stack_frames(tmp_path / "t.tif")) == 5 and io.image_kind(tmp_path / "t.tif") == "uint8"
    with io.open_stack(tmp_path / "t.tif")[0] as frames:  # frame by frame
        assert isinstance(frames, io.StackFrames) and np.array_equal(frames[3], stack[3])
    io.write_image(tmp_path / "o.tif", stack.astype(np.float64), kind="uint8", like=tmp_path / "t.tif")
    np.testing.assert_array_equal(io.read_stack(tmp_path / "o.tif"), stack)
    with tifffile.TiffWriter(tmp_path / "two.tif") as w:
        w.write(stack[0])
        w.write(stack[0, :10, :10])
    with pytest.raises(InputError, match="holds images of different sizes"):
        io.read_stack(tmp_path / "two.tif")


def test_read_image_refuses_a_dtype_that_is_not_floating(tmp_path):
    """dtype=np.uint8 wrapped 16-bit values (1000 read as 232), dtype=str gave strings: a UsageError now."""
    path = tmp_path / "v.png"
    io.write_image(path, np.tile(np.array([1000.0, 30000, 65535, 300]), (16, 4)), kind="uint16")
    assert io.read_image(path, dtype=np.float32)[0, :4].tolist() == [1000, 30000, 65535, 300]
    for read in (io.read_image, io.read_stack, io.read_stack_with_alpha, io.open_stack):
        for bad in (np.uint8, np.int8, str, "nonsense", np.float16):  # (float16: 65535 was inf)
            with pytest.raises(UsageError, match="dtype must be a floating numpy dtype"):
                read(path, dtype=bad)


def test_a_path_that_is_not_one_is_one_usage_error():
    """read_image(None) and load_model(None) raised a TypeError from pathlib."""
    import noise2x

    with pytest.raises(UsageError, match="path must be a file name"):
        io.read_image(None)
    with pytest.raises(UsageError, match="a model is a model file's path or a shipped model's name"):
        noise2x.load_model(None)


def _turned_tiff(path: Path, data: np.ndarray, orientation: int, **extra) -> Path:
    """A TIFF of ``data`` (stored as it is) whose Orientation tag (274) is ``orientation``."""
    tifffile.imwrite(path, data, photometric="rgb" if data.shape[-1] == 3 else "minisblack", metadata=None,
                     extratags=[(274, 3, 1, orientation, True)], **extra)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiff_is_read_upright_as_pillow_turns_it(tmp_path, orientation):
    """A TIFF's Orientation tag (a photo from a raw converter or scanner) was not applied: the denoised photo came
    out sideways, and the output kept no tag. Read as Pillow's exif_transpose turns it, one image or a stack."""
    from PIL import ImageOps

    data = _rand((5, 7, 3), 255, orientation).astype(np.uint8)
    src = _turned_tiff(tmp_path / "t.tif", data, orientation, resolution=(300, 100), resolutionunit="INCH")
    with Image.open(src) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(io.read_image(src), expected)
    turned = orientation in (5, 6, 7, 8)
    assert io.photo_metadata(src, 3)["dpi"] == pytest.approx((100, 300) if turned else (300, 100))
    stack = np.stack([data, data[::-1]])
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, stack, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    frames, _ = io.open_stack(src)  # read page by page
    with frames:
        assert isinstance(frames, io.TiffFrames) and frames.shape == (2, *expected.shape)
        np.testing.assert_array_equal(frames[1], io._ORIENT.get(orientation, lambda a: a)(data[::-1]))
    np.testing.assert_array_equal(io.read_stack(src)[0], expected)  # read whole (read_stack)
    out = tmp_path / "o.tif"
    io.write_image(out, io.read_image(tmp_path / "t.tif"), kind="uint8", like=tmp_path / "t.tif")
    np.testing.assert_array_equal(io.read_image(out), expected)  # upright, with no tag to turn it again
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].tags.valueof(274, 1) == 1


def test_a_turned_imagej_or_ome_stack_keeps_its_axes_and_calibration_upright(tmp_path):
    """A stack with an Orientation tag (5..8) is read upright, but its output lost its axes and calibration (the
    turned frames no longer matched the stored layout): they come back, x and y swapped with the pixels."""
    upright = _rand((19, 22), 255, 77).astype(np.uint8)
    stored = np.stack([np.rot90(upright, 1)] * 3)  # orientation 6: turned a quarter when read
    tifffile.imwrite(tmp_path / "ij.tif", stored, imagej=True, resolution=(5, 2.5), extratags=[(274, 3, 1, 6, True)],
                     metadata={"axes": "ZYX", "spacing": 2, "unit": "micron"})
    tifffile.imwrite(tmp_path / "o.ome.tif", stored, photometric="minisblack", extratags=[(274, 3, 1, 6, True)],
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1})
    for src, dst in (("ij.tif", "ij_out.tif"), ("o.ome.tif", "o_out.ome.tif"), ("o.ome.tif", "o_out.tif")):
        stack = io.read_stack(tmp_path / src)
        np.testing.assert_array_equal(stack[0], upright)
        io.write_image(tmp_path / dst, stack, kind="uint8", like=tmp_path / src)
        with tifffile.TiffFile(tmp_path / dst) as tif:
            assert tif.series[0].axes == "ZYX", dst
            np.testing.assert_array_equal(tif.asarray(), stack)
            resolution = tif.pages[0].resolution
            if dst.endswith(".ome.tif"):
                kept = io._ome_kept(tif.ome_metadata, "ZYX", stack.shape)
                assert (float(kept["PhysicalSizeX"]), float(kept["PhysicalSizeY"])) == (0.2, 0.1), dst
            else:
                assert tif.imagej_metadata["unit"] == "micron" and tif.imagej_metadata["spacing"] in (1, 2), dst
                assert resolution == pytest.approx((2.5, 5) if src == "ij.tif" else (5, 10)), dst


def test_a_16bit_png_is_read_upright_by_its_exif_orientation(tmp_path):
    """A 16-bit colour PNG (read by noise2x's own decoder) was not turned by its EXIF orientation, while its output's
    EXIF was set to normal: the photo came out sideways."""
    data = _rand((6, 9, 3), 65535, 2).astype(np.uint16)
    src = tmp_path / "p16.png"
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "TestCam", 6
    src.write_bytes(io._png16_bytes(data, {"exif": exif.tobytes()}))
    assert io._png_header(src)[2] == 16
    np.testing.assert_array_equal(io.read_image(src), np.rot90(data, -1))
    out = tmp_path / "o.png"
    io.write_image(out, io.read_image(src), kind="uint16", like=src)
    np.testing.assert_array_equal(io.read_image(out), np.rot90(data, -1))
    with Image.open(out) as written:
        assert written.getexif()[0x0112] == 1


def test_a_pngs_gamma_chromaticities_and_srgb_chunks_are_kept_in_png_outputs(tmp_path):
    """A PNG's colour space said by gAMA, cHRM or sRGB (not an ICC profile, which was kept) was dropped unsaid: a
    linear (gamma 1) image's output was shown darker (a format QA pass). Kept in 8- and 16-bit PNG outputs."""
    import struct

    from PIL import PngImagePlugin

    gamma = (b"gAMA", struct.pack(">I", 100000))
    points = (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
    rgb = _rand((12, 10, 3), 255, 5).astype(np.uint8)
    chunks = PngImagePlugin.PngInfo()
    for kind, body in (gamma, points):
        chunks.add(kind, body)
    Image.fromarray(rgb).save(tmp_path / "linear.png", pnginfo=chunks)
    chunks = PngImagePlugin.PngInfo()
    chunks.add(b"sRGB", b"\x01")
    Image.fromarray(rgb).save(tmp_path / "srgb.png", pnginfo=chunks)
    (tmp_path / "linear16.png").write_bytes(io._png16_bytes(rgb.astype(np.uint16) * 257, {"png_colour": [gamma]}))
    for name, kind, said in (("linear.png", "uint8", {"gamma": 1.0, "chromaticity": (0.3127, 0.329, 0.64, 0.33,
                                                                                     0.3, 0.6, 0.15, 0.06)}),
                             ("srgb.png", "uint8", {"srgb": 1}), ("linear16.png", "uint16", {"gamma": 1.0})):
        for out_kind in ("uint8", "uint16") if kind == "uint8" else ("uint16",):
            out = tmp_path / f"o_{out_kind}_{name}"
            io.write_image(out, io.read_image(tmp_path / name), kind=out_kind, like=tmp_path / name)
            with Image.open(out) as written:
                assert {k: written.info.get(k) for k in said} == said, (name, out_kind, written.info)


def test_a_png_whose_exif_chunk_holds_the_jpeg_header_comes_out_upright_and_marked_so(tmp_path):
    """An eXIf chunk may start with 'Exif\\0\\0' (Pillow reads it so, adding its own header): the pixels were
    turned upright and the output kept orientation 6, so viewers turned it again (a format QA pass)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = _rand((10, 6, 3), 255, 4).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "TestCam", 6
    assert exif.tobytes().startswith(b"Exif\x00\x00")
    rows = b"".join(b"\x00" + row.tobytes() for row in data.reshape(10, -1))
    src = tmp_path / "headed.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 10, 8, 2, 0, 0, 0))
                    + chunk(b"eXIf", exif.tobytes()) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    np.testing.assert_array_equal(io.read_image(src), np.rot90(data, -1))
    for name in ("o.png", "o.jpg"):
        io.write_image(tmp_path / name, io.read_image(src), kind="uint8", like=src)
        with Image.open(tmp_path / name) as written:
            assert written.getexif()[0x0112] == 1 and written.getexif()[0x010F] == "TestCam"
            assert written.size == (10, 6)


@pytest.mark.parametrize("kind,code", [(3, "H"), (4, "I"), (8, "h"), (9, "i")])
def test_exif_upright_sets_an_orientation_stored_as_any_integer_type(kind, code):
    """An orientation stored as LONG (EXIF asks for SHORT; Pillow reads either, and turned the pixels) was left at 6
    in the output: viewers turned the photo a second time."""
    order = ">"
    value = struct.pack(order + code, 6).ljust(4, b"\0")
    body = b"MM" + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", 1)
    body += struct.pack(order + "HHI", 0x0112, kind, 1) + value + struct.pack(order + "I", 0)
    upright, was = io._exif_upright(io._EXIF_PREFIX + body)
    assert was == 6
    exif = Image.Exif()
    exif.load(upright[len(io._EXIF_PREFIX):])
    assert exif[0x0112] == 1


def test_a_tiffs_camera_date_and_author_tags_are_kept(tmp_path):
    """Make, Model, DateTime, Artist and Copyright of a TIFF were lost in every output: kept as TIFF tags in a TIFF
    output and as EXIF in the others; a photo's EXIF gives them to a TIFF output; --strip-exif leaves them out."""
    # (accents, as cameras and editors write them, in UTF-8: they became '?' in every output)
    tags = {271: "Nikon", 272: "Z 6", 306: "2024:05:06 07:08:09", 315: "Jürgen Müller", 33432: "© 2024 Zoë"}
    src = tmp_path / "dt.tif"
    tifffile.imwrite(src, _rand((8, 10, 3), 65535).astype(np.uint16), photometric="rgb",
                     extratags=[(code, 2, 0, text.encode("utf-8"), True) for code, text in tags.items()])
    image = io.read_image(src)
    for name in ("o.tif", "o.jpg", "o.png", "o.webp"):
        io.write_image(tmp_path / name, image / 257, like=src)
        assert io.photo_metadata(tmp_path / name, 3)["described"] == tags, name
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert {code: tif.pages[0].tags.valueof(code) for code in tags} == tags
    with Image.open(tmp_path / "o.jpg") as im:  # the bytes stored: UTF-8 (Pillow reads them one by one)
        assert im.getexif()[315].encode("latin-1") == "Jürgen Müller".encode("utf-8")
    io.write_image(tmp_path / "j.tif", image, like=tmp_path / "o.jpg")  # a photo's EXIF to TIFF tags
    assert io.photo_metadata(tmp_path / "j.tif", 3)["described"] == tags
    io.write_image(tmp_path / "s.tif", image, like=src, strip_exif=True)
    io.write_image(tmp_path / "s.jpg", image / 257, like=src, strip_exif=True)
    for name in ("s.tif", "s.jpg"):
        assert "described" not in io.photo_metadata(tmp_path / name, 3) and "exif" not in \
            io.photo_metadata(tmp_path / name, 3)


def test_a_gray_image_written_as_webp_gets_an_rgb_profile_or_none(tmp_path):
    """WebP stores a gray image as RGB: a gray photo's GRAY profile went into the RGB file (colour-managed software
    refuses it), and a neutral RGB WebP, read as gray, lost its RGB profile."""
    gray = _rand((12, 14), 255).astype(np.uint8)
    src = tmp_path / "g.jpg"
    Image.fromarray(gray).save(src, icc_profile=_icc(b"GRAY"))
    io.write_image(tmp_path / "g.webp", io.read_image(src), like=src)
    with Image.open(tmp_path / "g.webp") as im:
        assert im.mode == "RGB" and "icc_profile" not in im.info
    neutral = tmp_path / "n.webp"
    Image.fromarray(np.dstack([gray] * 3)).save(neutral, lossless=True, icc_profile=_icc())
    image = io.read_image(neutral)
    assert image.ndim == 2  # read as gray
    io.write_image(tmp_path / "n2.webp", image, like=neutral)
    with Image.open(tmp_path / "n2.webp") as im:
        assert im.info["icc_profile"] == _icc()
    io.write_image(tmp_path / "g.png", io.read_image(src), like=src)  # a gray file keeps its gray profile
    assert io.photo_metadata(tmp_path / "g.png", 1)["icc"] == _icc(b"GRAY")


def test_an_exif_record_too_long_for_a_jpeg_loses_its_maker_notes_not_the_rest(tmp_path):
    """An EXIF record over a JPEG segment (a long MakerNote) was left out of a JPEG output without a word."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0132] = "TestCam", "2024:05:06 07:08:09"
    exif.get_ifd(0x8769)[0x927C] = b"\x01" * 70000
    src = tmp_path / "big.png"
    Image.fromarray(_rand((8, 9, 3), 255).astype(np.uint8)).save(src, exif=exif)
    with pytest.warns(UserWarning, match="maker's notes and thumbnail were left out"):
        io.write_image(tmp_path / "o.jpg", io.read_image(src), like=src)
    with Image.open(tmp_path / "o.jpg") as im:
        kept = im.getexif()
    assert kept[0x010F] == "TestCam" and kept[0x0132] == "2024:05:06 07:08:09"
    assert 0x927C not in kept.get_ifd(0x8769)
    exif[0x010E] = "x" * 70000  # still too long without the notes: left out, and said
    Image.fromarray(_rand((8, 9, 3), 255).astype(np.uint8)).save(src, exif=exif)
    with pytest.warns(UserWarning, match="longer than a JPEG holds and was left out"):
        io.write_image(tmp_path / "o2.jpg", io.read_image(src), like=src)
    with Image.open(tmp_path / "o2.jpg") as im:
        assert not im.getexif()


def test_tiffs_are_read_as_they_are_shown(tmp_path):
    """The TIFF's PhotometricInterpretation was ignored (the security QA pass): CMYK inks read as red, green and
    blue (K lost), a palette's indices as gray levels 0..N, a MinIsWhite scan as its negative (and written back
    so); a CIELab TIFF's L*a*b* as RGB. Now read as shown, whole or frame by frame; CIELab refused in one line."""
    rgb = _rand((24, 20, 3), 255).astype(np.uint8)
    cmyk = np.asarray(Image.fromarray(rgb).convert("CMYK"))
    tifffile.imwrite(tmp_path / "cmyk.tif", cmyk, photometric="separated")
    tifffile.imwrite(tmp_path / "cmyk3.tif", np.stack([cmyk] * 3), photometric="separated")
    expected = np.asarray(Image.fromarray(cmyk, "CMYK").convert("RGB"), dtype=np.float64)  # (Pillow's conversion)
    np.testing.assert_allclose(io.read_image(tmp_path / "cmyk.tif"), expected, atol=1)
    frames, _ = io.open_stack(tmp_path / "cmyk3.tif")
    assert isinstance(frames, io.TiffFrames) and np.abs(np.asarray(frames[2], float) - expected).max() <= 1
    frames.close()
    gray = rgb[..., 0]
    tifffile.imwrite(tmp_path / "mw.tif", 255 - gray, photometric="miniswhite")
    tifffile.imwrite(tmp_path / "mw3.tif", np.stack([255 - gray] * 3), photometric="miniswhite")
    np.testing.assert_array_equal(io.read_image(tmp_path / "mw.tif"), gray)
    frames, _ = io.open_stack(tmp_path / "mw3.tif")
    np.testing.assert_array_equal(np.asarray(frames[1]), gray)
    frames.close()
    io.write_image(tmp_path / "out.tif", io.read_image(tmp_path / "mw.tif"), like=tmp_path / "mw.tif")
    np.testing.assert_array_equal(io.read_image(tmp_path / "out.tif"), gray)  # (shown the same: black at 0)
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(tmp_path / "pal.tif")
    np.testing.assert_array_equal(io.read_image(tmp_path / "pal.tif"), np.asarray(palette.convert("RGB")))
    Image.fromarray(gray).convert("RGB").convert("L").quantize(8).save(tmp_path / "palg.tif")
    assert io.read_image(tmp_path / "palg.tif").ndim == 2  # a palette of grays stays gray
    Image.fromarray(rgb).convert("LAB").save(tmp_path / "lab.tif")
    with pytest.raises(InputError, match="stores CIELab colour"):
        io.read_image(tmp_path / "lab.tif")
    tifffile.imwrite(tmp_path / "cmyka.tif", np.dstack([cmyk, rgb[..., 0]]), photometric="separated",
                     extrasamples=["unassalpha"])  # (said to be "5 inks": a QA pass)
    with pytest.raises(InputError, match="stores 4 inks and 1 extra sample .alpha or other data.; noise2x reads CMYK"):
        io.read_image(tmp_path / "cmyka.tif")
    # a CMYK file's colour profile is not applied: said (it was dropped unsaid: a colour QA pass)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # (any profile: its bytes kept)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "cmyk.jpg", icc_profile=profile)
    tifffile.imwrite(tmp_path / "cmykp.tif", cmyk, photometric="separated", iccprofile=profile)
    for name in ("cmyk.jpg", "cmykp.tif"):
        with pytest.warns(UserWarning, match="its CMYK colour profile is not applied"):
            io.read_image(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.read_image(tmp_path / "cmyk.tif")  # (no profile: nothing to say)


def test_strangers_pictures_the_security_pass(tmp_path, monkeypatch):
    """From the security QA pass: a 633-byte JPEG declaring 65500x65500 pixels drove a host to 8 GB before failing
    (refused now before decoding, where its pixels need more memory than is available); a PNG's colour key (tRNS)
    was dropped, its transparent pixels coming back opaque; a damaged FITS header read "...: 17 (supported
    formats: ...)", as if the format were unknown."""
    import struct

    Image.new("RGB", (16, 16), (100, 120, 140)).save(tmp_path / "small.jpg", quality=90)
    data = bytearray((tmp_path / "small.jpg").read_bytes())
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, 65500, 65500)  # the frame header's height and width
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"declares 65500x65500 pixels, more than its \d+ bytes can hold"):
        io.read_image(tmp_path / "bomb.jpg")
    io.read_image(tmp_path / "small.jpg")  # (a picture that fits: read)
    monkeypatch.setattr(io, "_available_memory", lambda: 1000)  # (a job's memory limit, a host's free memory)
    with pytest.raises(InputError, match=r"declares 16x16 pixels: reading it needs about 6.91e-06 GB, more than the "
                                         r"1e-06 GB of memory this process may take"):
        io.read_image(tmp_path / "small.jpg")
    monkeypatch.undo()
    struct.pack_into(">HH", data, at + 5, 6000, 6000)  # (fits in memory, but not in 633 bytes: the QA re-check)
    (tmp_path / "flat.jpg").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"declares 6000x6000 pixels, more than its \d+ bytes can hold"):
        io.read_image(tmp_path / "flat.jpg")
    Image.fromarray(np.full((600, 600), 255, np.uint8)).save(tmp_path / "white.jpg", quality=95)
    Image.fromarray(np.zeros((600, 600), np.uint8)).save(tmp_path / "black.png", compress_level=9)
    Image.fromarray(np.ones((600, 600), bool)).save(tmp_path / "bw.png")  # (1 bit a pixel: a bilevel scan)
    Image.fromarray(np.full((600, 600), 255, np.uint8)).save(tmp_path / "white_p.jpg", quality=95, progressive=True)
    for name in ("white.jpg", "black.png", "bw.png", "white_p.jpg"):  # (flat pictures, as small as their formats
        assert io.read_image(tmp_path / name).shape == (600, 600)    # make them: read)
    gray = _rand((20, 24), 255).astype(np.uint8)
    gray[:4, :5] = 7
    key = gray == 7
    Image.fromarray(gray).save(tmp_path / "key.png", transparency=7)
    rgb = np.stack([gray, gray // 2, 255 - gray], axis=-1)
    Image.fromarray(rgb).save(tmp_path / "rgbkey.png", transparency=(7, 3, 248))
    for name in ("key.png", "rgbkey.png"):
        _, alpha = io.read_stack_with_alpha(tmp_path / name)
        np.testing.assert_array_equal(alpha[0] == 0, key)
        assert (alpha[0][~key] == 255).all()
    from astropy.io import fits

    fits.PrimaryHDU(np.zeros((16, 16), np.float32)).writeto(tmp_path / "ok.fits")
    raw = bytearray((tmp_path / "ok.fits").read_bytes())
    for i in range(0, 2880, 80):
        if raw[i:i + 8].decode().strip() == "BITPIX":
            raw[i:i + 80] = "BITPIX  = {:>20}".format(17).ljust(80).encode()
    (tmp_path / "bitpix.fits").write_bytes(bytes(raw))
    with pytest.raises(InputError) as err:
        io.read_image(tmp_path / "bitpix.fits")
    assert "a damaged FITS file" in str(err.value) and "supported formats" not in str(err.value), str(err.value)
    assert "a value the format does not define: 17" in str(err.value)  # (not "missing": the QA re-check)


def test_an_8_or_16_bit_array_is_written_in_its_own_kind_by_default(tmp_path):
    """write_image(path.png, a uint16 array) wrote 8 bits, its values clipped at 255 (a ClippingWarning the only
    sign): an 8- or 16-bit array now keeps its kind where the format stores it; float arrays as before."""
    from noise2x.io import image_kind, read_image, write_image

    deep = (np.arange(40 * 30, dtype=np.uint16).reshape(40, 30) * 50).astype(np.uint16)
    for name in ("d.png", "d.tif", "d.fits", "big_endian.png"):  # (a '>u2' array: raw PGM, instrument dumps)
        write_image(tmp_path / name, deep.astype(">u2") if name.startswith("big") else deep)
        assert image_kind(tmp_path / name) == "uint16", name
        np.testing.assert_array_equal(read_image(tmp_path / name), deep)
    flat = (np.arange(40 * 30).reshape(40, 30) % 256).astype(np.uint8)
    write_image(tmp_path / "e.tif", flat)
    assert image_kind(tmp_path / "e.tif") == "uint8"
    write_image(tmp_path / "f.tif", flat.astype(np.float64))  # (float: TIFF's float32, as before)
    assert image_kind(tmp_path / "f.tif") == "float32"
    write_image(tmp_path / "g.png", flat.astype(np.float64))
    assert image_kind(tmp_path / "g.png") == "uint8"
    with pytest.warns(UserWarning, match="clipped"):  # (JPEG has no 16-bit samples: 8 bits, clipped, said)
        write_image(tmp_path / "d.jpg", deep)


def test_planes_tifffile_stored_as_colour_are_read_as_one_colour_image_with_a_warning(tmp_path):
    """tifffile.imwrite of a (3|4, H, W) array stores RGB(A) colour planes unless told otherwise (its deprecated
    default): read as one colour image, the 4th plane as alpha, which a numpy user meant as frames (trained as one
    RGB image, in silence: a QA pass). A warning says so and how to write frames; minisblack pages are frames."""
    import tifffile

    planes = np.random.default_rng(0).uniform(0, 1, (4, 20, 24)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # (tifffile's own, of that default)
        tifffile.imwrite(tmp_path / "four.tif", planes)
        tifffile.imwrite(tmp_path / "three.tif", planes[:3])
    tifffile.imwrite(tmp_path / "frames.tif", planes, photometric="minisblack")
    with pytest.warns(UserWarning, match=r"its 4 planes are stored as the colour samples of one RGBA image .* the 4th "
                                         r"plane as its alpha; if they are frames, .*photometric='minisblack'") as said:
        assert io.read_stack(tmp_path / "four.tif").shape == (1, 20, 24, 3)
    assert [w.filename for w in said] == [__file__]
    with pytest.warns(UserWarning, match=r"its 3 planes are stored as the colour samples of one RGB image"):
        io.read_image(tmp_path / "three.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert io.read_stack(tmp_path / "frames.tif").shape == (4, 20, 24)
        io.write_image(tmp_path / "rgb.tif", planes[:3].transpose(1, 2, 0))  # (noise2x's own RGB: contiguous)
        assert io.read_image(tmp_path / "rgb.tif").shape == (20, 24, 3)


_GEO = [(33550, 12, 3, (10.0, 10.0, 0.0), True), (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0), True),
        (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True), (42113, 2, 0, "0", True)]


@pytest.mark.parametrize("planar", ["contig", "separate"])
@pytest.mark.parametrize("bands", [2, 4, 10])
def test_multispectral_bands_are_frames_and_written_back_as_samples(tmp_path, planar, bands):
    """A gray TIFF of several samples per pixel (a multispectral GeoTIFF's bands) is read as a stack of its bands
    (none dropped: a QA pass lost a 4-band file's fourth), and an output written like it stores them as samples
    again, interleaved or in planes as the input did, with its georeferencing (GeoTIFF and GDAL tags)."""
    arr = _rand((bands, 37, 31), 65535)  # band-first
    data = arr if planar == "separate" else np.moveaxis(arr, 0, -1)
    src = tmp_path / "ms.tif"
    tifffile.imwrite(src, data, photometric="minisblack", planarconfig=planar, extratags=_GEO)
    stack = io.read_stack(src)
    assert stack.shape == (bands, 37, 31) and np.array_equal(stack, arr)
    assert io.stack_frames(src) == list(range(bands))  # each frame one band (as a hyperstack's channels)
    assert io.tiff_nodata(src) == 0.0
    out = tmp_path / "out.tif"
    io.write_image(out, stack[::-1] // 2, like=src)  # (other values: the bands' order reversed, halved)
    with tifffile.TiffFile(out) as t:
        page = t.pages[0]
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK and page.samplesperpixel == bands
        assert int(page.planarconfig) == (1 if planar == "contig" else 2)
        want = arr[::-1] // 2
        assert np.array_equal(t.asarray(), want if planar == "separate" else np.moveaxis(want, 0, -1))
        for code, _, _, value, _ in _GEO:
            got = page.tags[code].value
            assert (tuple(got) if not isinstance(got, str) else got) == value
    assert np.array_equal(io.read_stack(out), arr[::-1] // 2)


def test_a_gray_image_keeps_its_georeferencing_and_rgb_stays_colour(tmp_path):
    src = tmp_path / "b.tif"
    tifffile.imwrite(src, _rand((37, 31), 65535), photometric="minisblack", extratags=_GEO)
    io.write_image(tmp_path / "o.tif", io.read_image(src), like=src)
    with tifffile.TiffFile(tmp_path / "o.tif") as t:
        assert {c for c, *_ in _GEO} <= set(t.pages[0].tags.keys())
    # RGB samples stay a colour image; gray and its alpha stay gray + alpha (not bands)
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, _rand((37, 31, 3), 255).astype(np.uint8), photometric="rgb")
    assert io.read_image(rgb).shape == (37, 31, 3) and io.stack_frames(rgb) == [None]
    la = tmp_path / "la.tif"
    tifffile.imwrite(la, _rand((37, 31, 2), 255).astype(np.uint8), photometric="minisblack", planarconfig="contig",
                     extrasamples=["unassalpha"])
    image, alpha = io.read_stack_with_alpha(la)
    assert image.shape == (1, 37, 31) and alpha is not None
    assert io.tiff_nodata(rgb) is None and io.tiff_nodata(tmp_path / "o.tif") == 0.0


def test_geotiff_tags_kept_with_alpha_planar_rgb_and_text_as_stored(tmp_path):
    """A second QA pass: planar RGB with georeferencing came back as 3 gray pages; RGBA and gray + alpha lost the
    tags; a UTF-8 GDAL_METADATA (a unit in µm) failed the write, and its trailing line break was dropped."""
    meta = "<GDALMetadata>\n  <Item name=\"unit\">µm</Item>\n</GDALMetadata>\n".encode("utf-8")
    geo = [(33550, 12, 3, (10.0, 10.0, 0.0), True), (42112, 2, len(meta) + 1, meta + b"\0", True)]
    cases = {"rgb_planar": (_rand((3, 33, 29), 255).astype(np.uint8), dict(photometric="rgb", planarconfig="separate")),
             "rgba": (_rand((33, 29, 4), 255).astype(np.uint8), dict(photometric="rgb", extrasamples=["unassalpha"])),
             "gray_alpha": (_rand((33, 29, 2), 255).astype(np.uint8),
                            dict(photometric="minisblack", planarconfig="contig", extrasamples=["unassalpha"]))}
    for name, (data, kw) in cases.items():
        src, out = tmp_path / f"{name}.tif", tmp_path / f"{name}_out.tif"
        tifffile.imwrite(src, data, extratags=geo, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (tifffile's planes-as-RGB layout is said: not what is tested here)
            image, alpha = io.read_stack_with_alpha(src)
        io.write_image(out, image[0], alpha=None if alpha is None else alpha[0], like=src)
        with tifffile.TiffFile(out) as t, tifffile.TiffFile(src) as s:
            assert len(t.pages) == 1 and t.pages[0].photometric == s.pages[0].photometric, name
            assert int(t.pages[0].planarconfig) == int(s.pages[0].planarconfig), name
            assert np.array_equal(t.asarray(), s.asarray()), name
            assert tuple(t.pages[0].tags[33550].value) == (10.0, 10.0, 0.0), name
            tag = t.pages[0].tags[42112]
            t.filehandle.seek(tag.valueoffset)
            assert t.filehandle.read(tag.count) == meta + b"\0", name  # (its bytes as stored)


def test_declared_nodata_as_the_samples_hold_it(tmp_path):
    """GDAL_NODATA is read as the file's samples hold it (a float32 image holds 1e20 as float32's nearest, which a
    float64 comparison missed); a value its samples cannot hold, or no number, is none."""
    f32 = np.zeros((9, 8), np.float32)
    f32s = lambda v: float(np.float32(v))  # noqa: E731
    for text, dtype, want in (("1e20", np.float32, f32s(1e20)), ("0.1", np.float32, f32s(0.1)),
                              ("-3.4028235e+38", np.float32, f32s(-3.4028235e38)), ("nan", np.float32, "nan"),
                              (" 0 ", np.uint16, 0.0), ("0.5", np.uint16, None), ("70000", np.uint16, None),
                              ("-9999", np.int16, -9999.0), ("abc", np.float32, None), ("1e20", np.float64, 1e20)):
        path = tmp_path / "n.tif"
        tifffile.imwrite(path, f32.astype(dtype), extratags=[(42113, 2, 0, text, True)])
        got = io.tiff_nodata(path)
        assert (np.isnan(got) if want == "nan" else got == want), (text, dtype, got)
    assert io.tiff_nodata_text(path) == ("1e20", np.dtype(np.float64))


def test_a_tiled_tiff_is_written_in_tiles_again(tmp_path):
    """A GeoTIFF stored in tiles (as GIS tools and cloud-optimised GeoTIFFs store them) came back in strips."""
    data = _rand((70, 90, 4), 65535)
    src, out = tmp_path / "t.tif", tmp_path / "o.tif"
    tifffile.imwrite(src, data, photometric="minisblack", planarconfig="contig", tile=(32, 48), compression="zlib")
    io.write_image(out, io.read_stack(src), like=src)
    with tifffile.TiffFile(out) as t:
        page = t.pages[0]
        assert page.is_tiled and (page.tilelength, page.tilewidth) == (32, 48) and page.compression == 8
        assert np.array_equal(t.asarray(), data)


def test_tiffs_read_in_threads_keep_the_logger_and_their_own_damage(tmp_path):
    """An integrator's QA pass: reading TIFFs in several threads at once swapped tifffile's logger's handlers (the
    application's own was lost, propagation left off) and refused good files with another file's damage."""
    import logging
    from concurrent.futures import ThreadPoolExecutor

    good = []
    for k in range(4):
        path = tmp_path / f"g{k}.tif"
        tifffile.imwrite(path, _rand((3, 64, 64), 255).astype(np.uint8), photometric="minisblack")
        good.append(path)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(good[0].read_bytes()[: len(good[0].read_bytes()) // 2])  # pages cut off: damaged
    log = logging.getLogger("tifffile")
    mine = logging.NullHandler()
    log.addHandler(mine)
    propagate = log.propagate

    def read(k: int) -> str:
        path = bad if k % 2 else good[k // 2 % 4]
        try:
            io.read_stack(path)
            return "ok"
        except InputError as exc:
            return "bad" if "bad.tif" in str(exc) and "damaged" in str(exc) else f"wrong: {exc}"

    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(read, range(64)))
        assert got == ["bad" if k % 2 else "ok" for k in range(64)]
        assert mine in log.handlers and log.propagate == propagate
        assert not any(type(h).__name__ == "Handler" for h in log.handlers)  # (no capture handler left behind)
    finally:
        log.removeHandler(mine)


def test_bands_ending_in_alpha_are_said(tmp_path):
    """A multispectral TIFF whose last sample is marked as alpha (GDAL's mask band): read as one more band, said."""
    data = _rand((20, 24, 5), 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="minisblack", planarconfig="contig",
                     extrasamples=["unspecified"] * 3 + ["unassalpha"])
    with pytest.warns(UserWarning, match="last sample is marked as alpha .* written back as a band"):
        stack = io.read_stack(tmp_path / "a.tif")
    assert stack.shape == (5, 20, 24)


def test_the_memory_a_process_may_take_is_known_off_linux_too(monkeypatch):
    """The memory check of a huge image read /proc alone: on Windows and macOS it was off, and a file declaring
    huge dimensions went to its allocation (a portability QA pass). Without /proc and cgroups the physical memory
    (Windows: the available) bounds it."""
    import builtins

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    monkeypatch.setattr(io, "_read_number", lambda path: None)
    elsewhere = io._memory_elsewhere()
    assert elsewhere and elsewhere[0] > 1 << 26 and io._available_memory() == elsewhere[0]


def _block_mean(data, f):
    h, w = data.shape[0] // f, data.shape[1] // f
    return np.rint(data[:h * f, :w * f].reshape(h, f, w, f, -1).mean(axis=(1, 3))).astype(np.uint8).squeeze()


def test_a_slide_is_written_back_as_a_slide(tmp_path):
    """A whole-slide QA pass: an SVS's thumbnail was denoised as a second image, its label and macro were called
    thumbnails; its output lost its MPP (in its description alone), its tiles, its pyramid and its compression
    (JPEG tiles: 4 times larger uncompressed). Now its full-resolution image is read, and a TIFF output written
    like it holds it in tiles, Deflate-compressed, with its description first (as slide readers look for it) and
    its pixel size as resolution tags too, then a thumbnail and the level made from the denoised pixels."""
    yy, xx = np.mgrid[0:256, 0:384]
    base = np.stack([(xx + yy) % 256, (xx * 2) % 256, (yy * 3) % 256], axis=-1).astype(np.uint8)
    from conftest import svs_like

    src = tmp_path / "slide.svs"
    svs_like(src, base, base[::4, ::4], base[::8, ::8])
    image = io.read_image(src)
    assert image.shape == (256, 384, 3)  # (the base: JPEG's pixels, not the thumbnail's nor the label's)
    data = _rand((256, 384, 3), 255).astype(np.uint8)
    out = tmp_path / "out.tif"
    io.write_image(out, data, kind="uint8", like=src)
    with tifffile.TiffFile(out) as t:
        assert t.is_svs and [s.name for s in t.series] == ["Baseline", "Thumbnail"]
        page = t.pages[0]
        assert page.is_tiled and (page.tilelength, page.tilewidth) == (128, 128)
        assert page.compression.name == "ADOBE_DEFLATE"
        assert page.description.startswith("Aperio Image Library") and "MPP = 0.2520" in page.description
        assert int(page.resolutionunit) == 3 and page.resolution[0] == pytest.approx(1e4 / 0.252)
        levels = t.series[0].levels
        assert [lv.shape[-3:] for lv in levels] == [(256, 384, 3), (64, 96, 3)]
        np.testing.assert_array_equal(levels[0].asarray().squeeze(), data)
        np.testing.assert_array_equal(levels[1].asarray().squeeze(), _block_mean(data, 4))
        np.testing.assert_array_equal(t.series[1].asarray(), _block_mean(data, 8))
        assert levels[1].keyframe.resolution[0] == pytest.approx(1e4 / 0.252 / 4)
    np.testing.assert_array_equal(io.read_image(out), data)
    ome = tmp_path / "out.ome.tif"  # (an OME-TIFF: its pixel size as OME's PhysicalSize)
    io.write_image(ome, data, kind="uint8", like=src)
    with tifffile.TiffFile(ome) as t:  # (its levels in SubIFDs, no thumbnail: they were OME images of their own)
        assert 'PhysicalSizeX="0.252"' in t.ome_metadata and "Aperio" not in t.ome_metadata
        assert len(t.series) == 1 and [lv.shape[:2] for lv in t.series[0].levels] == [(256, 384), (64, 96)]
    scan = tmp_path / "scan.tif"  # (a resolution in inches: a 254-dpi scan's pixels are 100 µm)
    tifffile.imwrite(scan, base, resolution=(254, 254), resolutionunit="INCH", photometric="rgb")
    io.write_image(ome, data, kind="uint8", like=scan)
    with tifffile.TiffFile(ome) as t:
        assert 'PhysicalSizeX="100.0"' in t.ome_metadata and 'PhysicalSizeXUnit="µm"' in t.ome_metadata
    level = tifffile.imread(src, series=0, level=1)  # (a level read with tifffile, written like the slide: its own
    io.write_image(tmp_path / "level.tif", level, kind="uint8", like=src)  # pixel size, not the base's MPP)
    with tifffile.TiffFile(tmp_path / "level.tif") as t:
        assert t.pages[0].resolution[0] == pytest.approx(25400 / 0.252 / 4) and not t.is_svs
    with pytest.raises(io.UsageError, match=r"does not write them; write \.tif or \.ome\.tif"):
        io.write_image(tmp_path / "x.svs", data, kind="uint8")
    assert not (tmp_path / "x.svs").exists()


@pytest.mark.parametrize("how", ["subifds", "pages"])
def test_a_pyramid_gets_its_levels_again(tmp_path, how):
    """A TIFF pyramid (levels in SubIFDs, as OME-TIFF and tifffile store them, or as reduced pages after the
    image) is written back as one: each level made from the written pixels, in the same place, size and tiles;
    a tiled TIFF with a pixel size is no ImageJ hyperstack (which holds no tiles: it came back in strips)."""
    data = _rand((200, 300), 65535).astype(np.uint16)
    src, out = tmp_path / "p.tif", tmp_path / "o.tif"
    with tifffile.TiffWriter(src) as t:
        t.write(data, tile=(64, 64), compression="zlib", resolution=(4e4, 4e4), resolutionunit="CENTIMETER",
                **({"subifds": 2} if how == "subifds" else {}))
        t.write(data[::2, ::2], tile=(64, 64), compression="zlib", subfiletype=1)
        t.write(data[::4, ::4], tile=(32, 32), compression="zlib", subfiletype=1)
    denoised = _rand((200, 300), 65535).astype(np.uint16)
    io.write_image(out, denoised, kind="uint16", like=src)
    with tifffile.TiffFile(out) as t:
        assert not t.is_imagej and len(t.series) == 1
        assert bool(t.pages[0].subifds) == (how == "subifds")
        levels = t.series[0].levels
        assert [lv.shape for lv in levels] == [(200, 300), (100, 150), (50, 75)]
        for lv, tile in zip(levels, ((64, 64), (64, 64), (32, 32))):  # (each level's own tiles)
            page = lv.keyframe
            assert page.is_tiled and (page.tilelength, page.tilewidth) == tile and page.compression == 8
            assert int(page.resolutionunit) == 3
        np.testing.assert_array_equal(levels[0].asarray(), denoised)
        half = np.rint(denoised.reshape(100, 2, 150, 2).mean(axis=(1, 3))).astype(np.uint16)
        np.testing.assert_array_equal(levels[1].asarray(), half)
        quarter = np.rint(denoised.reshape(50, 4, 75, 4).mean(axis=(1, 3))).astype(np.uint16)
        np.testing.assert_array_equal(levels[2].asarray(), quarter)
        assert levels[1].keyframe.resolution[0] == pytest.approx(2e4)
    np.testing.assert_array_equal(io.read_image(out), denoised)
    # a level's size rounded down (cut) or up (the edge repeated), as scanners round them
    np.testing.assert_array_equal(io._reduced(denoised[:198], (0, 1), (49, 75)), quarter[:49])
    up = io._reduced(denoised[:198], (0, 1), (50, 75))
    np.testing.assert_array_equal(up[:49], quarter[:49])
    np.testing.assert_array_equal(up[49], np.rint(np.concatenate([denoised[196:198], denoised[197:198].repeat(2, 0)])
                                                  .reshape(4, 75, 4).mean(axis=(0, 2))).astype(np.uint16))
    # a factor of 1.5: the mean of the area each level pixel covers (it was half the image at factor 2, the rest its
    # last row repeated, then a smoothed bilinear resize)
    rows = np.repeat(np.array([0.0, 30.0, 60.0, 90.0, 120.0, 150.0], np.float32)[:, None], 2, axis=1)
    np.testing.assert_allclose(io._reduced(rows, (0, 1), (4, 2))[:, 0], [10.0, 50.0, 100.0, 140.0])
    rows[1] = np.nan  # (NaN where a level pixel covers a blank one)
    blank = np.isnan(io._reduced(rows, (0, 1), (4, 2))[:, 0])
    assert blank.tolist() == [True, True, False, False]
    odd = tmp_path / "f15.ome.tif"  # (levels at a factor of 1.5: a plain TIFF would not be read as a pyramid)
    with tifffile.TiffWriter(odd) as t:
        t.write(data, tile=(64, 64), subifds=1, metadata={"axes": "YX"})
        t.write(data[::3, ::3].repeat(2, 0).repeat(2, 1)[:133, :200], tile=(64, 64), subfiletype=1)
    io.write_image(tmp_path / "f15.tif", denoised, kind="uint16", like=odd)
    io.write_image(tmp_path / "f15o.ome.tif", denoised, kind="uint16", like=odd)
    with tifffile.TiffFile(tmp_path / "f15.tif") as t:
        assert len(t.series) == 1 and len(t.series[0].levels) == 1
    with tifffile.TiffFile(tmp_path / "f15o.ome.tif") as t:
        assert [lv.shape for lv in t.series[0].levels] == [(200, 300), (133, 200)] and len(t.series) == 1


def test_tiles_are_kept_by_a_stack_written_frame_by_frame_and_by_pages_of_their_own_size(tmp_path):
    """A whole-slide QA pass: a stack written a frame at a time and pages of different sizes came back in strips
    (an SVS-like base in one strip of the whole page)."""
    stack = _rand((3, 100, 130), 65535).astype(np.uint16)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, stack, tile=(32, 48), compression="zlib", resolution=(3e4, 3e4),
                     resolutionunit="CENTIMETER", photometric="minisblack")
    io.write_frames(tmp_path / "f.tif", iter(stack), stack.shape, kind="uint16", like=src)
    with tifffile.TiffFile(tmp_path / "f.tif") as t:
        assert all(p.is_tiled and (p.tilelength, p.tilewidth) == (32, 48) for p in t.pages) and len(t.pages) == 3
        np.testing.assert_array_equal(t.asarray(), stack)
    pages = [_rand((100, 130), 255).astype(np.uint8), _rand((40, 60), 255).astype(np.uint8)]
    mixed = tmp_path / "m.tif"
    with tifffile.TiffWriter(mixed) as t:
        t.write(pages[0], tile=(64, 64), compression="zlib")
        t.write(pages[1], compression="zlib")
    io.write_pages(tmp_path / "mo.tif", pages, kind="uint8", like=mixed)
    with tifffile.TiffFile(tmp_path / "mo.tif") as t:
        assert t.pages[0].is_tiled and (t.pages[0].tilelength, t.pages[0].tilewidth) == (64, 64)
        assert not t.pages[1].is_tiled
        np.testing.assert_array_equal(t.pages[0].asarray(), pages[0])


def test_a_description_beyond_ascii_a_scanners_mpp_and_a_tiled_calibration_are_written(tmp_path):
    """Re-checks of the whole-slide fixes: a description holding "µm" failed the write after the work (tifffile
    takes ASCII text alone); an MPP written with an exponent was read ten times too large; a tiled OME-TIFF written
    as a plain TIFF (no ImageJ hyperstack: it holds no tiles) kept its pixel size per no unit, which says no size,
    and lost its z step."""
    img = _rand((64, 80, 3), 255).astype(np.uint8)
    src = tmp_path / "d.tif"
    text = "Pixel size 0.25 µm; Objektiv 40×; Färbung H&E"
    tifffile.imwrite(src, img, tile=(32, 32), photometric="rgb", metadata=None, description=text.encode("utf-8"))
    io.write_image(tmp_path / "o.tif", img, kind="uint8", like=src)
    with tifffile.TiffFile(tmp_path / "o.tif") as t:
        assert t.pages[0].description == text
    assert io.slide_mpp("Aperio Image Library\r\n64x80 |AppMag = 40|MPP = 2.5e-1|Filename = x") == 0.25
    assert io.slide_mpp("Aperio |AppMag = 40|MPP = 0.5040\r\n") == 0.504
    assert io.slide_mpp("Aperio |MPP = 0|") is None and io.slide_mpp("Aperio |MPP = abc|") is None
    assert io.slide_mpp("Aperio Image Library\r\n128x128|MPP = 0.5\x00after a NUL") == 0.5  # (C readers stop there)
    one = tmp_path / "one.tif"  # (a single image in strips: its own description and resolution tags, not ImageJ's)
    tifffile.imwrite(one, img, photometric="rgb", metadata=None, description="Aperio Image Library |MPP = 0.5")
    io.write_image(tmp_path / "o1.tif", img, kind="uint8", like=one)
    with tifffile.TiffFile(tmp_path / "o1.tif") as t:
        assert not t.is_imagej and t.pages[0].description == "Aperio Image Library |MPP = 0.5"
        assert t.pages[0].resolution == pytest.approx((2e4, 2e4)) and int(t.pages[0].resolutionunit) == 3
    z = _rand((3, 64, 64), 200).astype(np.uint8)
    ome = tmp_path / "z.ome.tif"
    tifffile.imwrite(ome, z, tile=(32, 32), compression="zlib", metadata={
        "axes": "ZYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25, "PhysicalSizeZ": 2.0, "PhysicalSizeXUnit": "µm",
        "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "µm"})
    for write in (lambda out: io.write_image(out, z, kind="uint8", like=ome),
                  lambda out: io.write_frames(out, iter(z), z.shape, kind="uint8", like=ome)):
        out = tmp_path / "plain.tif"
        write(out)
        with tifffile.TiffFile(out) as t:
            page = t.pages[0]
            assert page.is_tiled and not t.is_imagej
            assert int(page.resolutionunit) == 3 and page.resolution == pytest.approx((4e4, 4e4))
            assert t.shaped_metadata[0]["spacing"] == 2.0 and t.shaped_metadata[0]["unit"] == "micron"
        again = tmp_path / "again.ome.tif"  # (read back from tifffile's description: lost on a second pass)
        io.write_image(again, z, kind="uint8", like=out)
        with tifffile.TiffFile(again) as t:
            assert 'PhysicalSizeZ="2.0"' in t.ome_metadata and 'PhysicalSizeX="0.25"' in t.ome_metadata


def test_an_ome_tiffs_series_of_one_image_each_keep_their_pixel_size_and_tiles(tmp_path):
    """A whole-slide re-check: an OME-TIFF of two images (two positions, one plane each) was written back without
    either's pixel size, in strips (a series of one frame found no layout of its own)."""
    a, b = (_rand((64, 96), 4000, seed=s).astype(np.uint16) for s in (1, 2))
    src = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(src) as t:
        for img, size, name in ((a, 0.5, "first"), (b, 1.0, "second")):
            t.write(img, tile=(32, 32), compression="zlib", metadata={
                "axes": "YX", "Name": name, "PhysicalSizeX": size, "PhysicalSizeY": size})
    stack = io.read_stack(src)
    assert stack.shape == (2, 64, 96)
    for name in ("o.ome.tif", "o.tif"):
        io.write_frames(tmp_path / name, iter(stack.astype(np.uint16)), stack.shape, kind="uint16", like=src)
        with tifffile.TiffFile(tmp_path / name) as t:
            assert len(t.series) == 2 and all(p.is_tiled and p.tilelength == 32 for p in t.pages)
            if t.is_ome:
                assert [s.name for s in t.series] == ["first", "second"]
                assert 'PhysicalSizeX="0.5"' in t.ome_metadata and 'PhysicalSizeX="1.0"' in t.ome_metadata
            else:
                assert [int(p.resolutionunit) for p in t.pages] == [3, 3]
                assert [p.resolution[0] for p in t.pages] == pytest.approx([2e4, 1e4])
        np.testing.assert_array_equal(io.read_stack(tmp_path / name), stack)
