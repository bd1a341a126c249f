"""Training data: PROTOCOL seeds, independent Noise2Noise copies, re-drawn noise, pairs, stacks, bounded cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noise2x.data import Batch, build_datasets, to_tensor
from noise2x.errors import InputError, UsageError
from noise2x.io import read_image, write_image
from noise2x.noise import parse_noise


def smooth(h, w, i=0):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(120 + 50 * np.sin(xx / (3.0 + i)) * np.cos(yy / 5.0), 0, 255).round()


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "clean"
    d.mkdir()
    for i in range(10):
        write_image(d / f"img{i:02d}.png", smooth(37, 31, i))
    return d


def test_batch_to_and_fields():
    b = Batch(noisy=torch.zeros(2, 1, 4, 4), clean=torch.ones(2, 1, 4, 4))
    c = b.to("cpu")
    assert c.fields == {"noisy", "clean"} and c.noisy2 is None and torch.equal(c.clean, b.clean)
    t = to_tensor([np.zeros((4, 5, 3)), np.ones((4, 5, 3))])
    assert t.shape == (2, 3, 4, 5) and t.dtype == torch.float32 and t[1].min() == 1


def test_fixed_noise_uses_protocol_seeds(folder):
    spec = "gaussian:sigma=25"
    train, val, held = build_datasets(data=folder, requires={"noisy", "noisy2"}, add_noise=spec, val_images=4)
    assert held and len(train) == 6 and len(val) == 4
    files = sorted(folder.iterdir())
    for j in (0, 5):
        arrays = train._arrays(j)
        clean = read_image(files[j])
        assert np.array_equal(arrays["clean"], clean)
        assert np.allclose(arrays["noisy"], parse_noise(spec).apply(clean, rng=1000 + j), atol=1e-4)
        assert np.allclose(arrays["noisy2"], parse_noise(spec).apply(clean, rng=2000 + j), atol=1e-4)
    # the held-out images keep their own index (image 9 -> seed 1009)
    (b9,) = val.crops(["noisy", "clean"], size=1000)[-1:]
    expected = parse_noise(spec).apply(read_image(files[9]), rng=1009)
    assert np.allclose(b9.noisy[0, 0].numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("resample", [False, True])
def test_noise2noise_copies_are_independent(folder, resample):
    train, _, _ = build_datasets(data=folder, requires={"noisy", "noisy2"}, add_noise="gaussian:sigma=25",
                                 resample=resample, val_images=0)
    b = train.sample(["noisy", "noisy2", "clean"], patch_size=16, batch_size=64, rng=np.random.default_rng(0))
    r1, r2 = (b.noisy - b.clean).flatten().double(), (b.noisy2 - b.clean).flatten().double()
    assert 23.5 < r1.std() < 26.5 and 23.5 < r2.std() < 26.5
    assert abs(torch.corrcoef(torch.stack([r1, r2]))[0, 1]) < 0.05  # different draws, not the same noise
    assert abs(r1.mean()) < 1.0 and abs(r2.mean()) < 1.0


def test_resampling_draws_new_noise_each_time(tmp_path):
    d = tmp_path / "one"
    d.mkdir()
    write_image(d / "a.png", smooth(16, 16))
    rngs = [np.random.default_rng(s) for s in (0, 1)]
    fixed, _, _ = build_datasets(data=d, requires={"noisy"}, add_noise="gaussian:sigma=25", val_images=0)
    a, b = (fixed.sample(["noisy"], patch_size=16, batch_size=1, augment=False, rng=r).noisy for r in rngs)
    assert torch.equal(a, b)  # one fixed draw per image
    redraw, _, _ = build_datasets(data=d, requires={"noisy"}, add_noise="gaussian:sigma=25", resample=True,
                                  val_images=0)
    a, b = (redraw.sample(["noisy"], patch_size=16, batch_size=1, augment=False,
                          rng=np.random.default_rng(s)).noisy for s in (0, 1))
    assert not torch.equal(a, b)
    again = redraw.sample(["noisy"], patch_size=16, batch_size=1, augment=False, rng=np.random.default_rng(0)).noisy
    assert torch.equal(a, again)  # seeded


def test_random_noise_level_per_patch(folder):
    train, _, _ = build_datasets(data=folder, requires={"noisy"}, add_noise="gaussian:sigma=0..50",
                                 resample=True, val_images=0)
    b = train.sample(["noisy", "clean"], patch_size=16, batch_size=32, rng=np.random.default_rng(0))
    stds = (b.noisy - b.clean).flatten(1).std(dim=1)
    assert stds.min() < 15 and stds.max() > 35


def test_aligned_folders_give_pairs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for i in range(3):
        img = (smooth(37, 31, i) * 0.5).round()
        write_image(a / f"{i}.png", img)
        write_image(b / f"{i}.png", img + 3)
    train, _, _ = build_datasets(data=a, data2=b, requires={"noisy", "noisy2"}, val_images=0)
    batch = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.equal(batch.noisy2 - batch.noisy, torch.full_like(batch.noisy, 3.0))  # same place, same transform
    sup, _, _ = build_datasets(data=a, data2=b, requires={"noisy", "clean"}, val_images=0)
    batch = sup.sample(["noisy", "clean"], patch_size=8, batch_size=4, rng=np.random.default_rng(0))
    assert torch.equal(batch.clean - batch.noisy, torch.full_like(batch.noisy, 3.0))
    write_image(b / "3.png", smooth(37, 31))
    with pytest.raises(UsageError, match="aligned"):
        build_datasets(data=a, data2=b, requires={"noisy", "noisy2"})


def test_folders_pair_their_images_by_name(tmp_path):
    """Pairs were the sorted positions: 1.png..10.png with 01.png..10.png trained on wrong pairs, unsaid (a QA
    pass). A namesake of another extension pairs, whatever the sort; names that do not match are one error."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    for i in (1, 2, 10):
        img = (smooth(37, 31, i) * 0.5).round()
        write_image(a / f"{i}.png", img)
        write_image(b / f"{i}.tif", img + 3)
        write_image(c / f"{i:02d}.png", img + 3)
    (b / "10.tif").rename(b / "10_.tif")
    with pytest.raises(UsageError, match=r"^--data and --data2 pair their images by name.*10\.png has no namesake"):
        build_datasets(data=a, data2=b, requires={"noisy", "noisy2"}, val_images=0)
    (b / "10_.tif").rename(b / "10.tif")
    train, _, _ = build_datasets(data=a, data2=b, requires={"noisy", "noisy2"}, val_images=0)
    assert [item.name for item in train.items] == ["1.png + 1.tif", "10.png + 10.tif", "2.png + 2.tif"]
    batch = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.equal(batch.noisy2 - batch.noisy, torch.full_like(batch.noisy, 3.0))
    with pytest.raises(UsageError, match=r"1\.png has no namesake in --data2 \(4 name\(s\) in one folder only"):
        build_datasets(data=a, data2=c, requires={"noisy", "noisy2"}, val_images=0)
    from noise2x.data import _pair_order

    assert _pair_order(a, b, ["x.png", "y.png"], ["y.tif", "x.tif"]) == [1, 0]  # (by name, whatever the order)
    # cryo-EM's half sums: tomo_EVN.mrc with tomo_ODD.mrc (cryo-CARE's even/odd folders)
    assert _pair_order(a, b, ["t1_EVN.mrc", "t2_EVN.mrc"], ["t1_ODD.mrc", "t2_ODD.mrc"]) == [0, 1]
    assert _pair_order(a, b, ["t-even.tif", "method.tif"], ["method.tif", "t-odd.tif"]) == [1, 0]
    # folders of stack files: frame k of one file with frame k of its namesake (all frames of a file read as one
    # name, and the folders were refused: a re-check)
    import tifffile

    even, odd = tmp_path / "even", tmp_path / "odd"
    even.mkdir(), odd.mkdir()
    for t in range(2):
        frames = np.stack([(smooth(37, 31, t) * 0.5).round() + 10 * k for k in range(3)]).astype(np.float32)
        tifffile.imwrite(even / f"tomo{t}_EVN.tif", frames, photometric="minisblack", metadata={"axes": "ZYX"})
        tifffile.imwrite(odd / f"tomo{t}_ODD.tif", frames + 3, photometric="minisblack", metadata={"axes": "ZYX"})
    train, _, _ = build_datasets(data=even, data2=odd, requires={"noisy", "noisy2"}, val_images=0)
    assert [item.name for item in train.items][:2] == ["tomo0_EVN.tif[0] + tomo0_ODD.tif[0]",
                                                       "tomo0_EVN.tif[1] + tomo0_ODD.tif[1]"]
    batch = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.equal(batch.noisy2 - batch.noisy, torch.full_like(batch.noisy, 3.0))
    with pytest.raises(UsageError, match="--data holds two images of one name, x.png and x.tif; keep one"):
        _pair_order(a, b, ["x.png", "x.tif"], ["x.tif", "y.tif"])


def test_stack_frames_pair_consecutively(tmp_path):
    base = (smooth(20, 24) * 0.5).round()
    stack = np.stack([base + 10 * k for k in range(5)])
    path = tmp_path / "frames.tif"
    write_image(path, stack)
    train, _, _ = build_datasets(data=path, requires={"noisy", "noisy2"}, val_images=0)
    assert len(train) == 4
    b = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.allclose(b.noisy2 - b.noisy, torch.full_like(b.noisy, 10.0))
    single, _, _ = build_datasets(data=path, requires={"noisy"}, val_images=0)
    assert len(single) == 5


def test_a_stacks_held_out_pairs_share_no_frame_with_training(tmp_path):
    """Pairs k + k+1: the last training pair shared its second frame with the first held-out pair, the same noise
    trained on and validated on (a QA pass). It is left out; where rows are held out, trained on its top rows."""
    base = (smooth(64, 24) * 0.5).round()
    write_image(tmp_path / "frames.tif", np.stack([base + 10 * k for k in range(13)]))  # (a frame's number: its offset)

    def frames(items):
        out = set()
        for item in items:
            for a in item.load().values():
                out.add(int(round(float((a - base[:a.shape[0]]).mean()) / 10)))
        return out

    train, val, held = build_datasets(data=tmp_path / "frames.tif", requires={"noisy", "noisy2"}, val_images=4)
    assert (held, val.split, len(train), len(val)) == (True, "images", 7, 4)  # (pair 7, frames 7 + 8, left out)
    assert frames(train.items) == set(range(8)) and frames(val.items) == set(range(8, 13))
    train, val, held = build_datasets(data=tmp_path / "frames.tif", requires={"noisy", "noisy2"}, val_images=8)
    assert (held, val.split) == (True, "rows")
    rows = {item.name: next(iter(item.load().values())).shape[0] for item in train.items}
    assert rows["frames.tif[3] + frames.tif[4]"] < 64 and rows["frames.tif[2] + frames.tif[3]"] == 64


def test_missing_fields_say_what_to_add(folder):
    with pytest.raises(UsageError, match="--data2"):
        build_datasets(data=folder, requires={"noisy", "noisy2"})
    with pytest.raises(UsageError, match="clean"):
        build_datasets(data=folder, requires={"noisy", "clean"})


def test_cache_is_bounded(folder):
    train, _, _ = build_datasets(data=folder, requires={"noisy"}, add_noise="gaussian:sigma=25", cache_mb=0,
                                 val_images=0)
    b1 = train.sample(["noisy"], patch_size=16, batch_size=8, rng=np.random.default_rng(0))
    assert train._cache == {}  # nothing kept: images are re-read when sampled
    cached, _, _ = build_datasets(data=folder, requires={"noisy"}, add_noise="gaussian:sigma=25", val_images=0)
    b2 = cached.sample(["noisy"], patch_size=16, batch_size=8, rng=np.random.default_rng(0))
    assert cached._cache and torch.equal(b1.noisy, b2.noisy)


def test_normalization_statistics(folder):
    train, _, _ = build_datasets(data=folder, requires={"noisy"}, add_noise="gaussian:sigma=25", val_images=0)
    mean, std = train.normalization(n_images=10)
    noisy = np.stack([train._arrays(j)["noisy"] for j in range(10)])
    assert mean == pytest.approx([noisy.mean()], rel=1e-4)
    assert std == pytest.approx([noisy.std()], rel=1e-3)


def test_rgb_and_mixed_channels(tmp_path, rgb_image, gray_image):
    d = tmp_path / "rgb"
    d.mkdir()
    write_image(d / "a.png", rgb_image)
    write_image(d / "b.png", rgb_image[::-1].copy())
    train, _, _ = build_datasets(data=d, requires={"noisy"}, val_images=0)
    assert train.channels == 3
    b = train.sample(["noisy"], patch_size=8, batch_size=2, rng=np.random.default_rng(0))
    assert b.noisy.shape == (2, 3, 8, 8)
    write_image(d / "c.png", gray_image)
    train, _, _ = build_datasets(data=d, requires={"noisy"}, val_images=0)
    with pytest.raises(InputError, match="all gray or all RGB"):
        for s in range(20):
            train.sample(["noisy"], patch_size=8, batch_size=4, rng=np.random.default_rng(s))


def test_small_sets_validate_on_training_images(folder):
    train, val, held = build_datasets(data=folder, requires={"noisy"}, add_noise="gaussian:sigma=25", val_images=6)
    assert not held and len(train) == 10 and len(val) == 6
    with pytest.raises(UsageError, match="patch"):
        train.sample(["noisy"], patch_size=40, batch_size=1, rng=np.random.default_rng(0))


def test_a_small_set_holds_out_the_bottom_rows_of_its_last_images(tmp_path):
    """Fewer than 2 x val_images images: validation on the bottom 10% (at least 16) of the rows of the last
    val_images images, which training never sees (it validated on the training images themselves, said nowhere:
    a QA pass); images without rows enough train whole, and a set of them alone reuses its images, as before."""
    from noise2x.data import VAL_MIN_ROWS, VAL_ROWS

    d = tmp_path / "few"
    d.mkdir()
    for i, (h, w) in enumerate([(200, 60), (40, 50), (300, 90), (120, 70)]):
        write_image(d / f"img{i}.tif", np.arange(h * w, dtype=np.float32).reshape(h, w) + 1000 * i)
    train, val, held = build_datasets(data=d, requires={"noisy"}, val_images=3)
    assert held and val.split == "rows" and len(train) == 4 and len(val) == 2  # (img1: 40 rows, too few)
    whole = [read_image(d / f"img{i}.tif") for i in range(4)]
    kept = [train._arrays(i)["noisy"] for i in range(4)]
    np.testing.assert_array_equal(kept[0], whole[0])  # (not among the last 3)
    np.testing.assert_array_equal(kept[1], whole[1])
    for j, (i, h) in enumerate([(2, 300), (3, 120)]):
        cut = h - max(VAL_MIN_ROWS, int(np.ceil(VAL_ROWS * h)))
        assert cut == {300: 270, 120: 104}[h]
        np.testing.assert_array_equal(kept[i], whole[i][:cut])
        np.testing.assert_array_equal(val._arrays(j)["noisy"], whole[i][cut:])
    assert train.smallest_side() == 40 and val.smallest_side() == 16
    synth, held_rows, _ = build_datasets(data=d, requires={"noisy"}, val_images=3, add_noise="gaussian:sigma=25")
    top, bottom = synth._arrays(2, fixed=True), held_rows._arrays(0, fixed=True)  # (img2: rows 270-299 held out)
    n = bottom["noisy"].size  # the held-out rows' noise is their own, not that of the image's top rows again
    assert not np.allclose((bottom["noisy"] - bottom["clean"]).ravel(), (top["noisy"] - top["clean"]).ravel()[:n],
                           atol=0.05)  # (float32 values near 3e4)
    small = tmp_path / "small"
    small.mkdir()
    write_image(small / "a.tif", np.ones((40, 40), np.float32))
    train, val, held = build_datasets(data=small, requires={"noisy"}, val_images=8)
    assert not held and val.split == "reused" and len(train) == len(val) == 1
    train, val, held = build_datasets(data=d, requires={"noisy"}, val_images=2)  # (4 >= 2 x 2: whole images)
    assert held and val.split == "images" and len(train) == 2 and len(val) == 2


def test_a_folder_of_stacks_gives_their_frames(tmp_path):
    # microscopy: a folder of z-stacks and hyperstacks (a multi-page file was an error in a folder)
    import tifffile

    base = (smooth(20, 24) * 0.5).round().astype(np.uint16)
    folder = tmp_path / "stacks"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.stack([base + k for k in range(3)]), imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(folder / "b.tif", np.stack([[base + 100 * t + 10 * c for c in range(2)] for t in range(2)]),
                     imagej=True, metadata={"axes": "TCYX"})
    write_image(folder / "c.png", base.astype(float))
    train, _, _ = build_datasets(data=folder, requires={"noisy"}, val_images=0)
    assert [item.name for item in train.items] == ["a.tif[0]", "a.tif[1]", "a.tif[2]", "b.tif[0]", "b.tif[1]",
                                                    "b.tif[2]", "b.tif[3]", "c.png"]
    assert [float(train._arrays(j)["noisy"][0, 0]) - float(base[0, 0]) for j in range(8)] == [0, 1, 2, 0, 10, 100,
                                                                                             110, 0]


def test_hyperstack_frames_pair_within_their_channel(tmp_path):
    # Noise2Noise pairs from one time-lapse with 2 channels: each frame with the next one of its channel
    import tifffile

    base = (smooth(20, 24) * 0.5).round()
    stack = np.stack([[base + 100 * c + 10 * t for c in range(2)] for t in range(3)]).astype(np.float32)
    path = tmp_path / "lapse.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX"})
    train, _, _ = build_datasets(data=path, requires={"noisy", "noisy2"}, val_images=0)
    assert [item.name for item in train.items] == ["lapse.tif[0] + lapse.tif[2]", "lapse.tif[1] + lapse.tif[3]",
                                                    "lapse.tif[2] + lapse.tif[4]", "lapse.tif[3] + lapse.tif[5]"]
    b = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.allclose(b.noisy2 - b.noisy, torch.full_like(b.noisy, 10.0))  # the same channel, a step later


def test_a_time_lapse_of_z_stacks_pairs_each_plane_with_itself_a_time_point_later(tmp_path):
    """Frames paired in file order: in a TZYX stack two planes of one time point, and the last plane of one
    time point with the first of the next, top and bottom of the sample (the time-lapse QA pass). Each frame now
    goes with the same plane and channel one time point later; without a time axis, with the next plane; never
    across a series (an OME-TIFF's positions); a stack of channels only has no pairs, and says so."""
    import tifffile

    from noise2x.io import stack_pairs

    base = (smooth(20, 24) * 0.5).round()
    lapse = np.stack([[base + 100 * z + 10 * t for z in range(3)] for t in range(2)]).astype(np.float32)
    path = tmp_path / "tzyx.tif"
    tifffile.imwrite(path, lapse, imagej=True, metadata={"axes": "TZYX"})
    train, _, _ = build_datasets(data=path, requires={"noisy", "noisy2"}, val_images=0)
    assert [item.name for item in train.items] == ["tzyx.tif[0] + tzyx.tif[3]", "tzyx.tif[1] + tzyx.tif[4]",
                                                    "tzyx.tif[2] + tzyx.tif[5]"] and train.paired_along == "T"
    b = train.sample(["noisy", "noisy2"], patch_size=8, batch_size=16, rng=np.random.default_rng(0))
    assert torch.allclose(b.noisy2 - b.noisy, torch.full_like(b.noisy, 10.0))  # the same plane, a step later
    tifffile.imwrite(tmp_path / "zcyx.tif", lapse.reshape(3, 2, *base.shape), imagej=True,
                     metadata={"axes": "ZCYX"})
    assert stack_pairs(tmp_path / "zcyx.tif") == ([(0, 2), (1, 3), (2, 4), (3, 5)], "Z")
    tifffile.imwrite(tmp_path / "zt.ome.tif", lapse.transpose(1, 0, 2, 3), metadata={"axes": "ZTYX"})  # (OME's order)
    assert stack_pairs(tmp_path / "zt.ome.tif") == ([(0, 1), (2, 3), (4, 5)], "T")
    with tifffile.TiffWriter(tmp_path / "positions.ome.tif", ome=True) as tif:
        for _ in range(2):
            tif.write(lapse[:, 0], metadata={"axes": "TYX"})
    assert stack_pairs(tmp_path / "positions.ome.tif") == ([(0, 1), (2, 3)], "T")
    tifffile.imwrite(tmp_path / "cyx.tif", lapse[0, :2], imagej=True, metadata={"axes": "CYX"})
    with pytest.raises(UsageError, match=r"2 frames are channels or series \(positions\) of one time point and plane: "
                                         r"none is a second noisy copy"):
        build_datasets(data=tmp_path / "cyx.tif", requires={"noisy", "noisy2"}, val_images=0)


def test_a_fits_cubes_frames_pair_along_its_innermost_axis(tmp_path):
    """A (2, 3, Y, X) FITS cube's frames paired across its outer axis (frame 2 with frame 3, a QA re-check): they
    pair along NAXIS3, within each index of NAXIS4; along the next axis where NAXIS3 is 1."""
    fits = pytest.importorskip("astropy.io.fits")
    from noise2x.io import stack_pairs

    cube = np.zeros((2, 3, 16, 16), np.float32)
    fits.writeto(tmp_path / "c.fits", cube)
    fits.writeto(tmp_path / "one.fits", cube[:, :1])
    assert stack_pairs(tmp_path / "c.fits") == ([(0, 1), (1, 2), (3, 4), (4, 5)], "")
    assert stack_pairs(tmp_path / "one.fits") == ([(0, 1)], "")


def test_noise2noise_on_a_z_stack_says_it_pairs_its_planes(tmp_path, capsys):
    """Without a time axis a stack's planes pair, each with the next: two copies a z-step apart, which train
    says; a time series does not get the note."""
    import tifffile

    from noise2x import cli

    base = (smooth(20, 24) * 0.5).round().astype(np.float32)
    common = ["--steps", "1", "--set", "data.patch_size=16", "--set", "data.batch_size=2", "--set", "data.val_images=0"]
    for axes, said in (("ZYX", True), ("TYX", False)):
        path = tmp_path / f"{axes}.tif"
        tifffile.imwrite(path, np.stack([base + k for k in range(3)]), imagej=True, metadata={"axes": axes})
        assert cli.main(["train", "--method", "noise2noise", "--data", str(path), "--out",
                         str(tmp_path / f"{axes}.safetensors"), *common]) == 0
        err = capsys.readouterr().err
        assert ("the stack has no time axis: noise2noise pairs each z-plane with the next" in err) == said
        # real pairs (no noise given): the loss auto picked is said (a paired-data QA pass)
        assert "noise2noise trains with the L2 loss (the noise is not given" in err
        assert "not for a spectral cube's bands" not in err
    assert cli.main(["train", "--method", "noise2noise", "--data", str(path), "--out", str(tmp_path / "l1.safetensors"),
                     "--set", "method.loss=l1", *common]) == 0
    assert "trains with the L2 loss" not in capsys.readouterr().err
    # a plain multi-page TIFF (a spectral cube's bands?) pairs its pages, each with the next: said (a hyperspectral
    # user's QA pass: its bands trained as copies in silence)
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([base + k for k in range(4)]), photometric="minisblack")
    assert cli.main(["train", "--method", "noise2noise", "--data", str(tmp_path / "pages.tif"), "--out",
                     str(tmp_path / "p.safetensors"), *common]) == 0
    assert "pairs each frame of pages.tif with the next as two noisy copies" in capsys.readouterr().err


def test_blank_pixels_are_left_out_of_the_patches(tmp_path):
    # a mosaic with NaN outside its footprint: patches come from the data, the normalisation reads the data,
    # validation crops are filled; without blanks=True the NaN is an error
    import tifffile

    rng = np.random.default_rng(3)
    folder = tmp_path / "mosaic"
    folder.mkdir()
    for j in range(3):
        img = (100 + 20 * rng.normal(size=(48, 64))).astype(np.float32)
        img[:, :30] = np.nan
        tifffile.imwrite(folder / f"{j}.tif", img)
    with pytest.raises(InputError, match="NaN"):
        build_datasets(data=folder, requires={"noisy"}, val_images=0)[0].sample(
            ["noisy"], patch_size=16, batch_size=2, rng=np.random.default_rng(0))
    train, val, _ = build_datasets(data=folder, requires={"noisy"}, val_images=1, blanks=True)
    b = train.sample(["noisy"], patch_size=16, batch_size=32, rng=np.random.default_rng(0))
    assert torch.isfinite(b.noisy).all()
    mean, std = train.normalization()
    assert mean[0] == pytest.approx(100, abs=3) and std[0] == pytest.approx(20, rel=0.15)
    assert all(torch.isfinite(c.noisy).all() for c in val.crops(["noisy"], size=32))
    # synthetic noise on clean images with blanks (Poisson noise of NaN would fail)
    syn, _, _ = build_datasets(data=folder, requires={"noisy"}, add_noise="poisson:peak=30", val_images=0,
                               blanks=True)
    assert torch.isfinite(syn.sample(["noisy", "clean"], patch_size=16, batch_size=8,
                                     rng=np.random.default_rng(1)).noisy).all()
    with pytest.raises(InputError, match="no patch of 40x40 pixels without blank"):
        train.sample(["noisy"], patch_size=40, batch_size=1, rng=np.random.default_rng(0))


def test_transparent_pixels_are_left_out_of_the_patches(tmp_path):
    # an RGBA or gray + alpha image's transparent pixels hold a fill, not the scene: they were trained on, their
    # alpha dropped (a colour QA pass); now blank, as a declared nodata value
    from PIL import Image

    rng = np.random.default_rng(4)
    folder = tmp_path / "cutouts"
    folder.mkdir()
    for j, mode in enumerate(("RGBA", "RGBA", "LA")):
        img = np.clip(100 + 20 * rng.normal(size=(48, 64, 3)), 1, 255).astype(np.uint8)
        alpha = np.full((48, 64), 255, np.uint8)
        alpha[:, :30] = 0
        img[:, :30] = 0  # the fill
        data = np.dstack([img, alpha]) if mode == "RGBA" else np.dstack([img[..., 0], alpha])
        Image.fromarray(data, mode).save(folder / f"{j}.png")
    (folder / "2.png").rename(tmp_path / "la.png")
    train, _, _ = build_datasets(data=folder, requires={"noisy"}, val_images=0)
    b = train.sample(["noisy"], patch_size=16, batch_size=64, rng=np.random.default_rng(0))
    assert torch.isfinite(b.noisy).all() and float(b.noisy.min()) >= 1
    mean, std = train.normalization()
    assert mean[0] == pytest.approx(100, abs=3) and std[0] == pytest.approx(20, rel=0.15)
    one, _, _ = build_datasets(data=tmp_path / "la.png", requires={"noisy"}, val_images=0)  # one file as --data
    b = one.sample(["noisy"], patch_size=16, batch_size=64, rng=np.random.default_rng(0))
    assert torch.isfinite(b.noisy).all() and float(b.noisy.min()) >= 1


def test_tiff_stacks_are_read_frame_by_frame_for_training(tmp_path, monkeypatch):
    """A stack given as --data, or in a folder, is never read whole: each frame is read when the set needs it."""
    import tifffile

    from noise2x import io

    rng = np.random.default_rng(0)
    stack = rng.integers(0, 4000, (4, 3, 20, 22)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", stack, imagej=True, metadata={"axes": "ZCYX"})
    (tmp_path / "folder").mkdir()
    tifffile.imwrite(tmp_path / "folder" / "a.tif", stack[:2], imagej=True, metadata={"axes": "ZCYX"})
    whole = io.read_stack(tmp_path / "s.tif", dtype=np.float32)

    def refused(*a, **k):
        raise AssertionError("a stack read whole")

    monkeypatch.setattr(io, "read_stack_with_alpha", refused)
    train, _, _ = build_datasets(data=tmp_path / "s.tif", requires=frozenset({"noisy", "noisy2"}), val_images=0)
    assert len(train) == 12 - 3  # each frame and the next of its channel
    assert train.smallest_side() == 20 and not train._cache  # from the header: no frame read for it
    first = train._arrays(0)
    np.testing.assert_array_equal(first["noisy"], whole[0])
    np.testing.assert_array_equal(first["noisy2"], whole[3])  # the next frame of channel 0
    train, _, _ = build_datasets(data=tmp_path / "folder", requires=frozenset({"noisy"}), val_images=0)
    assert len(train) == 6
    assert train.smallest_side() == 20 and not train._cache
    np.testing.assert_array_equal(train._arrays(5)["noisy"], whole[5])


def test_a_training_folder_mixing_8_and_16_bit_files_is_warned(tmp_path):
    """A model learns one scale: 8-bit and 16-bit files in one training folder are said (once), not a mean of
    1.5e4 stored in silence; one kind alone is not."""
    import tifffile
    from PIL import Image

    from noise2x.data import _sources

    img = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    Image.fromarray(img).save(tmp_path / "b.png")
    _sources(tmp_path)  # (one kind: no warning; warnings are errors in the tests)
    tifffile.imwrite(tmp_path / "c.tif", img.astype(np.uint16) * 257)
    with pytest.warns(UserWarning, match=r"mixes 8-bit \(2\) and 16-bit \(1\) images, e\.g\. c\.tif"):
        _sources(tmp_path)
    with pytest.warns(UserWarning, match=r"mixes 8-bit") as said:  # at the caller's line, as every warning of
        build_datasets(data=tmp_path, requires=frozenset({"noisy"}), val_images=0)  # noise2x (pointed inside it)
    assert [w.filename for w in said] == [__file__]


def test_a_second_folder_a_method_does_not_use_is_refused(tmp_path):
    """--data2 with a self-supervised method (or with --add-noise) was read and left unused, in silence."""
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        write_image(folder / "x.png", np.random.default_rng(0).integers(0, 255, (32, 32)).astype(float), kind="uint8")
    with pytest.raises(UsageError, match="--data2 is not used: this method trains on single noisy images"):
        build_datasets(data=a, data2=b, requires={"noisy"}, val_images=0)
    with pytest.raises(UsageError, match="--data2 is not used: --add-noise makes"):
        build_datasets(data=a, data2=b, requires={"noisy", "noisy2"}, add_noise="gaussian:sigma=25", val_images=0)


def test_validation_images_of_another_channel_count_are_refused_up_front(tmp_path):
    """Colour --val-data for gray training failed inside the network at the first validation, after training."""
    gray, rgb = tmp_path / "g", tmp_path / "c"
    gray.mkdir(), rgb.mkdir()
    img = np.random.default_rng(0).integers(0, 255, (32, 32)).astype(float)
    write_image(gray / "x.png", img, kind="uint8")
    write_image(rgb / "x.png", np.dstack([img] * 3)[:, :, [0, 1, 2]] + np.arange(3), kind="uint8")
    with pytest.raises(InputError, match="holds 3-channel images, the training images 1-channel"):
        build_datasets(data=gray, requires={"noisy"}, val_data=rgb, add_noise="gaussian:sigma=25")


def test_a_validation_folder_is_used_whole(tmp_path):
    """--val-data validated on its first 8 images (data.val_images, the held-out count), unsaid (a QA pass)."""
    train_dir, val_dir = tmp_path / "t", tmp_path / "v"
    train_dir.mkdir(), val_dir.mkdir()
    rng = np.random.default_rng(0)
    for k in range(11):
        write_image((train_dir if k < 2 else val_dir) / f"x{k:02d}.png", rng.integers(0, 255, (24, 24)).astype(float),
                    kind="uint8")
    train_set, val, held = build_datasets(data=train_dir, requires={"noisy"}, val_data=val_dir, val_images=8)
    assert (len(train_set), len(val), held, val.split) == (2, 9, True, "folder")
