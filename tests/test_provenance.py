"""What a file noise2x writes records of its making: the code (with its commit), the software, the date, the
command, the model's weights and the images (a reproducibility QA pass and a model-sharing one found every record
saying "noise2x 0.1.0" over hundreds of commits, a shared model file with no date, software or data identity, and
FITS outputs of other options or models with the same HISTORY)."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

import noise2x
from noise2x import provenance
from noise2x.checkpoint import describe, read_metadata
from noise2x.cli import main
from noise2x.train import train


@pytest.fixture(autouse=True)
def _fresh_version():
    provenance.code_version.cache_clear()
    yield
    provenance.code_version.cache_clear()


def _pngs(folder, n=3, size=40):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = np.random.default_rng(i).integers(0, 256, (size, size)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


def test_the_version_names_the_commit_of_a_checkout_and_is_plain_without_git(monkeypatch, tmp_path):
    version = provenance.code_version()
    assert re.fullmatch(re.escape(noise2x.__version__) + r"(\+g[0-9a-f]{10}(\.dirty)?)?", version), version
    head = subprocess.run(["git", "-C", str(provenance.Path(provenance.__file__).parent), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    if head.returncode == 0 and "+g" in version:  # (a checkout: this one's commit)
        assert head.stdout.startswith(version.split("+g")[1][:10])

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(provenance, "_git", no_git)
    provenance.code_version.cache_clear()
    assert provenance.code_version() == noise2x.__version__
    # a release installed inside some other repository: its files untracked there
    monkeypatch.setattr(provenance, "_git", lambda here, *args: subprocess.CompletedProcess(
        args, 1 if args[0] == "ls-files" else 0, "0123456789\n", ""))
    provenance.code_version.cache_clear()
    assert provenance.code_version() == noise2x.__version__
    monkeypatch.setattr(provenance, "_git", lambda here, *args: subprocess.CompletedProcess(
        args, 0, " M train.py\n" if args[0] == "status" else "0123456789\n", ""))
    provenance.code_version.cache_clear()
    assert provenance.code_version() == noise2x.__version__ + "+g0123456789.dirty"
    # a checkout git refuses (another user's: a lab's shared install): the commit read from its files
    monkeypatch.setattr(provenance, "_git", lambda here, *args: subprocess.CompletedProcess(
        args, 128, "", "fatal: detected dubious ownership in repository at '/x'"))
    monkeypatch.setattr(provenance, "head_from_files", lambda here: "abcdef0123456789")
    provenance.code_version.cache_clear()
    assert provenance.code_version() == noise2x.__version__ + "+gabcdef0123.unverified"
    # an installed release (no .git above it) runs no git: on a Mac without its developer tools, git there opens
    # a dialog asking to install them, at every command (a portability QA pass)
    monkeypatch.setattr(provenance, "_git", lambda *a: pytest.fail("git run for an installed release"))
    installed = tmp_path / "lib" / "site-packages" / "noise2x"
    installed.mkdir(parents=True)
    assert provenance._code_version(installed) == noise2x.__version__


def test_the_commit_is_read_from_a_checkouts_files(tmp_path):
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("1111111111222222222233333333334444444444\n")
    pkg = tmp_path / "repo" / "src" / "noise2x"
    pkg.mkdir(parents=True)
    assert provenance.head_from_files(pkg) == "1111111111222222222233333333334444444444"
    (git / "refs" / "heads" / "main").unlink()  # (packed)
    (git / "packed-refs").write_text("# pack-refs with: peeled\n5555555555666666666677777777778888888888 "
                                     "refs/heads/main\n")
    assert provenance.head_from_files(pkg) == "5555555555666666666677777777778888888888"
    (git / "HEAD").write_text("9999999999000000000011111111112222222222\n")  # (detached)
    assert provenance.head_from_files(pkg) == "9999999999000000000011111111112222222222"
    (tmp_path / "wt").mkdir()  # a worktree: .git is a file naming its git folder
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {git}\n")
    assert provenance.head_from_files(tmp_path / "wt") == "9999999999000000000011111111112222222222"
    lone = tmp_path / "lone"  # (no repository above it: None)
    lone.mkdir()
    assert provenance.head_from_files(lone) is None


def test_a_model_file_records_when_with_what_and_on_which_images_and_its_parent(tmp_path, capsys):
    data = _pngs(tmp_path / "imgs")
    kw = dict(data=data, add_noise="gaussian:sigma=25", steps=1, progress=False,
              overrides=["train.preset=tiny"])
    parent = train("noise2void", out=tmp_path / "p.safetensors", **kw)
    child = train("noise2void", out=tmp_path / "c.safetensors", init=parent, **kw)
    meta, first = read_metadata(child), read_metadata(parent)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["trained_at"])
    env = meta["environment"]
    assert env["noise2x"] == provenance.code_version() == meta["noise2x_version"]
    assert env["torch"] == __import__("torch").__version__ and env["python"] and env["platform"]
    made = meta["training_data"]
    assert made["folders"] == {"data": str(data.resolve())} and made["training_images"] == 3
    assert re.fullmatch(r"[0-9a-f]{64}", made["names_sha256"])
    assert meta["init_from"] == {"file": str(parent.resolve()), "sha256": first["sha256"]}
    text = "\n".join(describe(meta))
    assert f"data folders:  {data.resolve()} (3 training" in text
    assert f"trained:       {meta['trained_at']} with noise2x {env['noise2x']}, torch {env['torch']}" in text
    assert f"weights sha256 {first['sha256'][:16]})" in text
    assert main(["info", str(child)]) == 0
    assert f"sha256 {meta['sha256']}" in capsys.readouterr().out
    assert re.fullmatch(r"[0-9a-f]{64}", made["files_sha256"]) and f"files sha256 {made['files_sha256'][:16]}" in text
    # one value of one image changed: the same names, other bytes (the names alone missed it: a QA re-check)
    pixels = np.asarray(Image.open(data / "1.png")).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(data / "1.png")
    changed = read_metadata(train("noise2void", out=tmp_path / "e.safetensors", **kw))["training_data"]
    assert changed["names_sha256"] == made["names_sha256"] and changed["files_sha256"] != made["files_sha256"]
    # another image in the folder: another fingerprint
    _pngs(tmp_path / "imgs", n=4)
    again = train("noise2void", out=tmp_path / "d.safetensors", **kw)
    assert read_metadata(again)["training_data"]["names_sha256"] != made["names_sha256"]


def test_outputs_record_the_command_and_the_model_and_a_fits_output_takes_any_file_name(tmp_path, capsys):
    fits = pytest.importorskip("astropy.io.fits")
    import tifffile

    data = _pngs(tmp_path / "imgs")
    model = train("noise2void", out=tmp_path / "m.safetensors", data=data, add_noise="gaussian:sigma=25", steps=1,
                  progress=False, overrides=["train.preset=tiny"])
    noisy = tmp_path / "ciel étoilé.tif"  # (a name outside ASCII stopped a FITS output with astropy's error)
    tifffile.imwrite(noisy, np.random.default_rng(0).normal(100, 10, (40, 40)).astype(np.float32))
    cards = {}
    for name, extra in (("a", ["--set", "h=3"]), ("b", ["--set", "h=10"])):
        assert main(["denoise", str(noisy), "--method", "nlm", *extra, "--out", str(tmp_path / f"{name}.fits"),
                     "-q"]) == 0, capsys.readouterr().err
        cards[name] = "".join(str(c) for c in fits.getheader(tmp_path / f"{name}.fits")["HISTORY"])
    assert cards["a"] != cards["b"] and "--set h=3 --out" in cards["a"]
    assert f"noise2x {provenance.code_version()} denoise of ciel \\u00e9toil\\u00e9.tif" in cards["a"]
    assert main(["denoise", str(noisy), "--model", str(model), "--out", str(tmp_path / "m.fits"), "-q"]) == 0
    text = "".join(str(c) for c in fits.getheader(tmp_path / "m.fits")["HISTORY"])
    assert f"model m.safetensors, weights sha256 {read_metadata(model)['sha256'][:16]}" in text
    assert "noise2void model" in text  # (how it ran, after the model's card)
    # a TIFF output's Software tag, a PNG's Software and Comment texts
    assert main(["denoise", str(noisy), "--method", "nlm", "--out", str(tmp_path / "o.tif"), "-q"]) == 0
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert tif.pages[0].tags.valueof(305) == f"noise2x {provenance.code_version()}"
        # and its ImageHistory tag (TIFF/EP) the lines a PNG's Comment holds: it named the version alone (a
        # quantitative imaging QA pass)
        history = tif.pages[0].tags.valueof(37395).split("\n")
    assert "denoise of ciel" in history[0] and history[1].startswith("nlm, sigma ") and "--method nlm" in history[2]
    # with no options: the model chosen, by its weights' checksum, and why (a FITS card said "model NAME" alone)
    for name in ("n.tif", "n.fits"):
        assert main(["denoise", str(noisy), "--out", str(tmp_path / name), "-q"]) == 0
    with tifffile.TiffFile(tmp_path / "n.tif") as tif:
        lines = tif.pages[0].tags.valueof(37395).split("\n")
    assert re.fullmatch(r"model gray-gaussian(-low)?, weights sha256 [0-9a-f]{16}", lines[1]), lines
    assert lines[2].startswith("chosen: white Gaussian noise, estimated sigma "), lines
    assert "weights sha256 " in "".join(str(c) for c in fits.getheader(tmp_path / "n.fits")["HISTORY"])
    # a stack written whole: each frame's way, as said on the console ("the method noise2x chose for each frame")
    rng = np.random.default_rng(0)
    ramp = 100 + 50 * np.sin(np.arange(96) / 8.0) + np.zeros((96, 1))
    fits.PrimaryHDU(np.stack([ramp + 2 * rng.standard_normal(ramp.shape), rng.poisson(ramp / 10).astype(float)])
                    .astype(np.float32)).writeto(tmp_path / "cube.fits")
    assert main(["denoise", str(tmp_path / "cube.fits"), "--out", str(tmp_path / "c.fits.gz"), "-q"]) == 0
    text = "".join(str(c) for c in fits.getheader(tmp_path / "c.fits.gz")["HISTORY"])
    assert re.search(r"\(1 frame: 1\); model gray-poisson\S* \(1 frame: 2\)", text), text
    assert main(["denoise", str(noisy), "--method", "nlm", "--strip-exif", "--out", str(tmp_path / "s.tif"),
                 "-q"]) == 0
    with tifffile.TiffFile(tmp_path / "s.tif") as tif:
        assert 37395 not in tif.pages[0].tags
    # a stack written frame by frame: left out with --strip-exif too (kept, with the command's paths: a re-check)
    tifffile.imwrite(tmp_path / "st.tif", np.random.default_rng(1).normal(100, 10, (2, 32, 32)).astype(np.float32))
    for strip, name in ((False, "st_o.tif"), (True, "st_s.tif")):
        assert main(["denoise", str(tmp_path / "st.tif"), "--method", "nlm", "--out", str(tmp_path / name), "-q",
                     *(["--strip-exif"] if strip else [])]) == 0
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert (37395 in tif.pages[0].tags) is not strip
    assert history[0].isascii() and "ciel \\u00e9toil\\u00e9.tif" in history[0]  # (7-bit: Pillow read UTF-8 as Latin-1)
    assert main(["denoise", str(data / "0.png"), "--method", "nlm", "--out", str(tmp_path / "o.png"), "-q"]) == 0
    text = Image.open(tmp_path / "o.png").text
    assert text["Software"] == f"noise2x {provenance.code_version()}"
    assert "denoise of 0.png" in text["Comment"] and "--method nlm --out" in text["Comment"]
    # --strip-exif: no command (its paths) in a picture, only the Software text
    assert main(["denoise", str(data / "0.png"), "--method", "nlm", "--strip-exif", "--out",
                 str(tmp_path / "s.png"), "-q"]) == 0
    assert Image.open(tmp_path / "s.png").text == {"Software": f"noise2x {provenance.code_version()}"}
    # a 16-bit PNG (written by noise2x's own encoder) records the same
    Image.fromarray(np.full((24, 24), 30000, np.uint16)).save(tmp_path / "w16.png")
    for strip, name in ((False, "o16.png"), (True, "s16.png")):
        assert main(["denoise", str(tmp_path / "w16.png"), "--method", "nlm", "--out", str(tmp_path / name), "-q",
                     *(["--strip-exif"] if strip else [])]) == 0
        with Image.open(tmp_path / name) as im:
            im.load()
            assert im.mode.startswith("I") and im.text["Software"] == f"noise2x {provenance.code_version()}"
            assert ("Comment" not in im.text) if strip else ("denoise of w16.png" in im.text["Comment"])


def test_bench_records_the_weights_and_the_images(tmp_path):
    from noise2x.benchmark import run_bench

    data = _pngs(tmp_path / "imgs", size=48)
    model = train("noise2void", out=tmp_path / "m.safetensors", data=data, add_noise="gaussian:sigma=25", steps=1,
                  progress=False, overrides=["train.preset=tiny"])
    kw = dict(dataset=data, noise="gaussian:sigma=25", warmup=False)
    first = run_bench([str(model)], **kw)
    assert first["machine"]["versions"]["noise2x"] == provenance.code_version()
    assert first["dataset_path"] == str(data.resolve())
    row = [r for r in first["rows"] if r.get("model_file")][0]
    assert row["model_sha256"] == read_metadata(model)["sha256"]
    pixels = np.asarray(Image.open(data / "1.png")).copy()
    pixels[0, 0] ^= 1  # one value of one image changed
    Image.fromarray(pixels).save(data / "1.png")
    again = run_bench([str(model)], **kw)
    assert re.fullmatch(r"[0-9a-f]{64}", first["dataset_sha256"]) and again["dataset_sha256"] != first["dataset_sha256"]
    json.dumps(again)


def test_a_model_from_a_newer_noise2x_is_said_to_need_an_upgrade_not_to_be_damaged(tmp_path, capsys):
    """A model file of a newer noise2x (an architecture, a noise model or a method this one lacks) was called
    "DAMAGED" or "corrupt metadata" (a model-sharing QA pass): a user re-downloads or retrains instead of upgrading.
    Where the file's version is newer, the message says so; from this version the same faults stay damage."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from noise2x.errors import InputError
    from noise2x.predict import Denoiser

    model = train("noise2void", out=tmp_path / "m.safetensors", data=_pngs(tmp_path / "imgs"),
                  add_noise="gaussian:sigma=25", steps=1, progress=False, overrides=["train.preset=tiny"])
    with safe_open(str(model), "pt") as f:
        header = f.metadata()
    tensors = load_file(str(model))

    def made(name, version, **changed):
        meta = json.loads(header["noise2x"])
        meta.update(changed, noise2x_version=version)
        save_file(tensors, str(tmp_path / name), metadata={**header, "noise2x": json.dumps(meta)})
        return tmp_path / name

    upgrade = (r"written by noise2x 9\.1\.0\+g12ab, newer than this one \(\S+\): it may need a newer noise2x: "
               r"update noise2x \(in its checkout: git pull")
    for changed in ({"arch": "transformer"}, {"noise": "gamma:shape=3"}, {"method": "noise2future"}):
        with pytest.raises(InputError, match=upgrade):
            Denoiser.load(made("new.safetensors", "9.1.0+g12ab", **changed))
        with pytest.raises(InputError) as same:  # (from this version: damage, as before)
            Denoiser.load(made("old.safetensors", noise2x.__version__, **changed))
        assert "newer" not in str(same.value).replace(str(tmp_path), "")
        with pytest.raises(InputError, match=r"another build than this one .*may need a newer noise2x"):
            Denoiser.load(made("commit.safetensors", noise2x.__version__ + "+g1234567", **changed))
    assert main(["info", str(made("new.safetensors", "9.1.0+g12ab", arch="transformer"))]) == 1
    out = capsys.readouterr().out
    assert "weights:       not readable by this noise2x:" in out and "DAMAGED" not in out
    # info of a model whose metadata holds a field this noise2x cannot read showed only the error line: it shows
    # what it can, then the field's problem, and exits 1 as denoise refuses the file
    assert main(["info", str(made("new.safetensors", "9.1.0+g12ab", noise="gamma:shape=3"))]) == 1
    out = capsys.readouterr().out
    assert "method:        noise2void" in out and "noise:         gamma:shape=3" in out and "DAMAGED" not in out
    assert out.rstrip().splitlines()[-1].startswith("metadata:      not readable by this noise2x: ")
    assert main(["info", str(made("old.safetensors", noise2x.__version__, data_span="wide", steps="many"))]) == 1
    out = capsys.readouterr().out
    assert "method:        noise2void" in out and "spread of each" not in out and "training:      None steps" in out
    assert out.rstrip().splitlines()[-1].startswith("metadata:      DAMAGED: ") and "steps: not a whole" in out
    assert main(["info", str(made("old.safetensors", noise2x.__version__, unreadable="hello"))]) == 0  # (a field
    assert "DAMAGED" not in capsys.readouterr().out  # of that name in a good file is no verdict)


def test_a_bench_resumes_only_with_the_same_weights(tmp_path, monkeypatch, capsys):
    """A resumed bench checked the images' names and the methods' names and options: a model file retrained under
    its name in between mixed two models' figures in one row. Its weights' checksum must match too."""
    from noise2x import api
    from noise2x.errors import Terminated

    data = _pngs(tmp_path / "imgs", n=3, size=48)
    kw = dict(data=data, add_noise="gaussian:sigma=25", progress=False, overrides=["train.preset=tiny"])
    model = train("noise2void", out=tmp_path / "m.safetensors", steps=1, **kw)
    calls = []

    def stopper(noisy, *, noise=None, rng=None, info=None):  # (a direct method that stops the run at image 2)
        calls.append(1)
        if len(calls) == 3:
            raise Terminated()
        return noisy

    real = api.resolve_direct
    monkeypatch.setattr(api, "resolve_direct", lambda name: stopper if name == "stop" else real(name))
    args = ["bench", "--methods", f"stop,{model}", "--dataset", str(data), "--noise", "gaussian:sigma=25"]
    out = tmp_path / "b.json"
    assert main(args + ["--out", str(out), "-q"]) == 143
    partial = tmp_path / "b.partial.json"
    assert json.loads(partial.read_text())["n_images"] == 1
    train("noise2void", out=model, steps=2, **kw)  # (retrained under its name)
    calls[:] = [1, 1, 1, 1]
    assert main(args + ["--out", str(out), "--resume", str(partial)]) == 2
    assert "the model file of m has changed since (its weights' checksum differs)" in capsys.readouterr().err


def test_a_model_path_not_in_utf8_is_refused_before_training_and_blamed_when_read(tmp_path, capsys):
    """train --out wrote a model under a name not in UTF-8, which noise2x then called "truncated or not
    safetensors" (the library opens only UTF-8 paths; a QA re-check). It is refused before any training, and a
    model file so named is said to need another name, not to be damaged."""
    import os

    data = _pngs(tmp_path / "imgs")
    bad = os.fsdecode(bytes(tmp_path) + b"/bad\xffname.safetensors")
    code = main(["train", "--method", "noise2void", "--data", str(data), "--add-noise", "gaussian:sigma=25",
                 "--steps", "1", "--set", "train.preset=tiny", "--out", bad])
    err = capsys.readouterr().err
    assert code == 2 and "must be valid UTF-8" in err and not os.path.exists(bad), err
    model = train("noise2void", out=tmp_path / "m.safetensors", data=data, add_noise="gaussian:sigma=25", steps=1,
                  progress=False, overrides=["train.preset=tiny"])
    os.rename(model, bad)
    assert main(["info", bad]) == 1
    err = capsys.readouterr().err
    assert "must be valid UTF-8 to be read" in err and "truncated" not in err, err


def test_mrc_labels_keep_the_version_and_take_any_file_name(tmp_path, capsys):
    """An input named with a newline stopped an MRC output after the work ("Label contains non-printable
    characters"), and a long name pushed the version out of the 10 labels (a QA re-check): one label a line, its
    middle cut, control characters escaped."""
    mrcfile = pytest.importorskip("mrcfile")
    data = _pngs(tmp_path / "imgs", n=1, size=32)
    for name in ("new\nline.png", "L" * 200 + ".png"):
        src = tmp_path / name
        src.write_bytes((data / "0.png").read_bytes())
        out = tmp_path / "o.mrc"
        assert main(["denoise", str(src), "--method", "nlm", "--out", str(out), "-q"]) == 0, capsys.readouterr().err
        with mrcfile.open(out) as m:
            labels = [bytes(t).decode().rstrip() for t in m.header.label[:int(m.header.nlabl)]]
        assert any(t.startswith(f"noise2x {provenance.code_version()[:20]}") for t in labels), labels
        assert all(len(t) <= 80 for t in labels) and labels[-1].startswith("noise2x denoise "), labels


def test_bench_records_its_command_as_a_shell_takes_it_again(tmp_path, capsys):
    """The bench result's command was its arguments joined by spaces: a dataset path with a space could not be
    run again from it (a QA re-check)."""
    import shlex

    data = _pngs(tmp_path / "my data", n=1, size=40)
    args = ["bench", "--methods", "nlm", "--dataset", str(data), "--noise", "gaussian:sigma=25",
            "--out", str(tmp_path / "r.json"), "-q"]
    assert main(args) == 0, capsys.readouterr().err
    command = json.loads((tmp_path / "r.json").read_text())["command"]
    assert shlex.split(command) == ["noise2x", *args]


def test_source_date_epoch_makes_two_runs_write_the_same_bytes(tmp_path, monkeypatch, capsys):
    """A PNG output's record holds the time it was made: two identical runs wrote other bytes, which a cache keyed
    on a file's checksum (Make, DVC) takes for a change (an automation QA pass). SOURCE_DATE_EPOCH, the
    reproducible-builds convention, sets that time."""
    data = _pngs(tmp_path / "imgs", n=1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    written = []
    for _ in range(2):  # (the same command twice: its record names the output)
        assert main(["denoise", str(data / "0.png"), "--method", "nlm", "--out", str(tmp_path / "a.png"), "-q"]) == 0
        written.append((tmp_path / "a.png").read_bytes())
    assert written[0] == written[1]
    assert "2023-11-14T22:13:20Z" in Image.open(tmp_path / "a.png").text["Comment"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796570915805620781")  # (nanoseconds: date +%s%N)
    assert main(["denoise", str(data / "0.png"), "--method", "nlm", "--out", str(tmp_path / "n.png"), "-q"]) == 2
    assert "SOURCE_DATE_EPOCH=1796570915805620781: not a time" in capsys.readouterr().err
    assert not (tmp_path / "n.png").exists()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "abc")  # (numpy's f2py reads it too, as scipy imports it)
    assert main(["denoise", str(data / "0.png"), "--method", "nlm", "--out", str(tmp_path / "n.png"), "-q"]) == 2
    assert "SOURCE_DATE_EPOCH='abc': expected a whole number of seconds" in capsys.readouterr().err
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert provenance.utc_stamp() != "2023-11-14T22:13:20Z"
