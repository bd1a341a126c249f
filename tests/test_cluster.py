"""Running noise2x as a cluster job or in a pipeline: SIGTERM, long names, linked folders, threads (the cluster
QA pass of 2026-12-05)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from noise2x import cli, io
from noise2x.config import THREADS_ENV
from noise2x.predict import auto_threads, cpu_count


def _png(path: Path, seed: int = 0, size: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)).save(path)
    return path


def test_sigterm_leaves_no_half_written_output(tmp_path, monkeypatch, capsys):
    """SIGTERM (a scheduler's time limit) killed denoise where it was: a stack's temporary output stayed behind,
    hidden, at every killed job. It now ends as Ctrl-C does, the temporary file removed, exit 143."""
    import tifffile

    from noise2x import api

    rng = np.random.default_rng(0)
    tifffile.imwrite(tmp_path / "st.tif", rng.integers(0, 256, (4, 40, 40), dtype=np.uint8), photometric="minisblack")
    real, calls = api.denoise, []

    def denoise(*args, **kwargs):  # the job's time runs out at its third frame
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "denoise", denoise)
    unhandled = []  # (where main handles no SIGTERM, this one does, not the default, which would end pytest)

    def fallback(signum, frame):
        unhandled.append(signum)

    before = signal.signal(signal.SIGTERM, fallback)
    try:
        (tmp_path / "out").mkdir()
        code = cli.main(["denoise", str(tmp_path / "st.tif"), "--method", "nlm", "--noise", "gaussian:sigma=10",
                         "--out", str(tmp_path / "out" / "st.tif")])
        assert signal.getsignal(signal.SIGTERM) is fallback  # (main's handler is its own)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert code == 143 and "terminated (SIGTERM)" in capsys.readouterr().err and not unhandled
    assert list((tmp_path / "out").iterdir()) == [] and len(calls) == 3


def test_an_output_name_as_long_as_the_file_system_takes(tmp_path, capsys):
    """Names of 238 to 255 bytes (ext4, xfs, Lustre take them) could not be written: the temporary name beside
    them was 18 characters longer, past the 255 a name may hold."""
    src = _png(tmp_path / "n.png")
    for name in ("b" * 251 + ".png", "ü" * 125 + ".png"):
        code = cli.main(["denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=10", "--out",
                         str(tmp_path / "o" / name)])
        assert code == 0 and (tmp_path / "o" / name).is_file(), capsys.readouterr().err
    assert sorted(p.name.startswith(".") for p in (tmp_path / "o").iterdir()) == [False, False]
    code = cli.main(["denoise", str(src), "--method", "nlm", "--noise", "gaussian:sigma=10", "--out",
                     str(tmp_path / "o" / ("b" * 256 + ".png"))])  # (over the 255 bytes: one line, before the work)
    assert code == 2 and "File name too long" in capsys.readouterr().err


def test_recursive_follows_linked_folders_and_names_broken_links(tmp_path, capsys):
    """--recursive left out linked subfolders (a project folder of links to datasets), exit 0; a link whose target
    was gone was left out unsaid. Linked folders are now followed (not a link to a folder above: a loop), and a
    broken link is named as an input that cannot be used (exit 1, the others denoised)."""
    data = tmp_path / "data"
    for i in range(2):
        _png(data / f"img{i}.png", i)
    project = tmp_path / "project"
    _png(project / "top.png", 5)
    (project / "dataA").symlink_to(data)
    (data / "back").symlink_to(project)  # a loop through the link
    assert [p.relative_to(project).as_posix() for p in io.list_images(project, recursive=True)] == \
        ["dataA/img0.png", "dataA/img1.png", "top.png"]
    # a link to the folder above the one given, or higher: its tree left out too (the docs QA pass: the parent's
    # images were denoised once per such link)
    _png(tmp_path / "sibling.png", 7)
    (project / "up").symlink_to(tmp_path)
    (project / "up2").symlink_to(tmp_path.parent)
    assert [p.relative_to(project).as_posix() for p in io.list_images(project, recursive=True)] == \
        ["dataA/img0.png", "dataA/img1.png", "top.png"]
    (project / "up").unlink()
    (project / "up2").unlink()
    (project / "gone.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(project / "fifo.png")  # (left out unsaid, in the QA re-check; never opened: it could wait for ever)
    code = cli.main(["denoise", str(project), "--recursive", "--method", "nlm", "--noise", "gaussian:sigma=10",
                     "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1 and "gone.png: a link to" in captured.err and "denoised 3 of 5" in captured.out, captured
    assert "fifo.png: not a regular file" in captured.err
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == \
        ["dataA/img0.png", "dataA/img1.png", "top.png"]


def test_threads_set_by_the_user_are_used(monkeypatch, capsys, tmp_path):
    """The thread count of OMP_NUM_THREADS (a pipeline's workers, one each) was replaced by the idle cores noise2x
    read, and denoise had no option to set it. NOISE2X_THREADS, else OMP_NUM_THREADS, now sets it, and --threads
    for a command; SLURM_CPUS_PER_TASK caps the cores."""
    import torch

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert auto_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "3")
    assert auto_threads() == 3
    monkeypatch.delenv(THREADS_ENV)
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert cpu_count() == 1 and auto_threads() == 1
    monkeypatch.delenv("SLURM_CPUS_PER_TASK")
    from noise2x import predict

    # at most torch's own default (its physical cores, where a laptop's logical ones are twice as many)
    with monkeypatch.context() as m:
        m.setattr(predict, "cpu_count", lambda: 8)
        m.setattr(predict, "_busy_cores_recent", lambda: 0.0)
        m.setattr(predict, "TORCH_DEFAULT_THREADS", 4)
        assert auto_threads() == 4
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n))[1])
    src = _png(tmp_path / "n.png", size=64)
    code = cli.main(["denoise", str(src), "--model", "gray-gaussian", "--threads", "1", "--out",
                     str(tmp_path / "o.png")])
    assert code == 0 and seen and seen[0] == 1, (seen, capsys.readouterr().err)
    seen.clear()  # zs_n2n and mash train in torch too
    code = cli.main(["denoise", str(src), "--method", "zs_n2n", "--set", "steps=3", "--threads", "1", "--out",
                     str(tmp_path / "z.png")])
    assert code == 0 and seen and seen[0] == 1, (seen, capsys.readouterr().err)
    assert THREADS_ENV not in os.environ  # (as it was after the command)
    assert cli.main(["denoise", str(src), "--threads", "0", "--out", str(tmp_path / "p.png")]) == 2
    assert "--threads: must be a whole number >= 1" in capsys.readouterr().err


def test_a_full_disk_is_said_as_such(tmp_path, monkeypatch):
    """A full disk or quota read "65536 requested and 48800 written" (tifffile's short write) or an internal error
    (safetensors' I/O error) in a QA pass: each writer says it its own way; the message now says the disk is full,
    and nothing is left behind."""
    import errno

    import tifffile

    from noise2x.errors import Noise2xError
    from noise2x.fsutil import atomic_path

    for exc, said in ((OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
                      (OSError("65536 requested and 48800 written"), r"the write stopped short \(a full disk"),
                      (RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),
                       "no space left on the device"),
                      (RuntimeError("Error while serializing: I/O error: File too large (os error 27)"),
                       "cannot write .*x.bin: File too large; nothing was written")):  # (a file-size limit)
        with pytest.raises(Noise2xError, match=said):
            with atomic_path(tmp_path / "x.bin") as tmp:
                tmp.write_bytes(b"partial")
                raise exc
    with pytest.raises(ValueError, match="other"):  # (other errors as they are)
        with atomic_path(tmp_path / "x.bin"):
            raise ValueError("other")

    def short_write(*args, **kwargs):
        raise OSError("65536 requested and 48800 written")

    monkeypatch.setattr(tifffile, "imwrite", short_write)
    with pytest.raises(Noise2xError, match=r"cannot write .*st\.tif: the write stopped short"):
        io.write_image(tmp_path / "st.tif", np.zeros((2, 16, 16)), kind="uint8")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_file_names_cannot_forge_lines_and_an_empty_model_is_refused(tmp_path, capsys):
    """From the security QA pass: a file name holding escape sequences or a line break was printed as it was,
    forging or hiding noise2x's own lines; --model "" (MODEL unset in a script) ran the no-option route, exit 0."""
    name = "c\x1b[2K\rnoise2x: all files OK\n.png"
    src = tmp_path / name
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)  # a truncated PNG
    _png(tmp_path / "good.png")
    code = cli.main(["denoise", str(tmp_path), "--method", "nlm", "--noise", "gaussian:sigma=10", "--out",
                     str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "\x1b" not in err and "\r" not in err and "c\\x1b[2K\\x0dnoise2x: all files OK\\x0a.png" in err
    assert len([line for line in err.splitlines() if line.startswith("noise2x: error:")]) == 1
    code = cli.main(["denoise", str(tmp_path / "good.png"), "--model", "", "--out", str(tmp_path / "o.png")])
    assert code == 2 and "--model needs a model file" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_an_output_folder_inside_the_input_folder_is_not_read_again(tmp_path, capsys):
    """With --recursive and --out inside the input folder, each rerun (the --skip-existing restart) denoised the
    last run's outputs again, nesting clean/clean/... (the cluster QA pass). The output folder's files are left
    out of the inputs, with a note."""
    for i in range(2):
        _png(tmp_path / "nest" / f"img{i}.png", i)
    argv = ["denoise", str(tmp_path / "nest"), "--recursive", "--method", "nlm", "--noise", "gaussian:sigma=10",
            "--out", str(tmp_path / "nest" / "clean")]
    assert cli.main(argv) == 0
    assert cli.main(argv + ["--skip-existing"]) == 0
    assert cli.main(argv) == 0
    assert "2 file(s) inside the output folder" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path / "nest").as_posix() for p in (tmp_path / "nest").rglob("*.png")) == \
        ["clean/img0.png", "clean/img1.png", "img0.png", "img1.png"]


def test_training_threads_are_said_and_kept_on_resume(tmp_path, monkeypatch, capsys):
    """The same seed gave another model when other jobs loaded the host: the threads follow the idle cores, and
    the arithmetic follows the threads (the ML-researcher QA pass). A run on fewer threads than cores says so,
    with how to repeat it; a resumed run takes its own threads again."""
    import torch

    import noise2x.predict as predict
    from noise2x.train import train

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for i in range(3):
        _png(tmp_path / "data" / f"{i}.png", i)
    monkeypatch.setattr(predict, "cpu_count", lambda: 2)
    monkeypatch.setattr(predict, "auto_threads", lambda: 1)  # (a host whose other core is busy)
    kw = dict(data=tmp_path / "data", add_noise="gaussian:sigma=25", out=tmp_path / "m.safetensors",
              overrides=["train.preset=tiny", "train.val_every=100"])
    train("noise2void", steps=2, **kw)
    err = capsys.readouterr().err
    assert "training on 1 of 2 CPU threads" in err and "--minutes" not in err
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n))[1])
    monkeypatch.setattr(predict, "auto_threads", lambda: 2)  # (idle now)
    train("noise2void", steps=3, resume=True, progress=False, **kw)
    assert seen[0] == 1, seen


def test_a_minutes_budget_says_a_seed_does_not_repeat_it(tmp_path, monkeypatch, capsys):
    """Two --minutes runs of one seed and thread count gave models far apart (a reproducibility QA pass): the
    learning rate at each step follows the clock. The seed's help said it "seeds every random choice" and the
    threads note "to repeat this run". A --minutes run with a seed given, the threads note and `info` say it."""
    import noise2x.predict as predict
    from noise2x.checkpoint import describe, read_metadata
    from noise2x.train import train

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for i in range(3):
        _png(tmp_path / "data" / f"{i}.png", i)
    monkeypatch.setattr(predict, "cpu_count", lambda: 2)
    monkeypatch.setattr(predict, "auto_threads", lambda: 1)
    kw = dict(data=tmp_path / "data", add_noise="gaussian:sigma=25", overrides=["train.preset=tiny"])
    out = train("noise2void", minutes=0.005, seed=3, out=tmp_path / "m.safetensors", **kw)
    err = capsys.readouterr().err
    assert "to repeat this run with --steps (a --minutes budget does not repeat)" in err
    assert "the same --seed does not repeat this run (a --steps budget does; so does --steps N --set " \
           "train.replay" in err
    assert "by the clock, not repeatable from its seed" in "\n".join(describe(read_metadata(out)))
    out = train("noise2void", steps=2, seed=3, out=tmp_path / "s.safetensors", **kw)
    assert "--minutes" not in capsys.readouterr().err
    assert "by the clock" not in "\n".join(describe(read_metadata(out)))


def test_bm3d_stops_at_once_on_sigterm(tmp_path):
    """Ctrl-C or SIGTERM waited for BM3D's C call to return: 45-57 s on a 1-MP image (the cluster QA pass). It now
    runs in a worker thread, and the command ends at once."""
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (768, 768), dtype=np.uint8)).save(tmp_path / "big.png")
    proc = subprocess.Popen([sys.executable, "-m", "noise2x", "denoise", str(tmp_path / "big.png"), "--method",
                             "bm3d", "--noise", "gaussian:sigma=25", "--out", str(tmp_path / "o.png")],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # (imports, then well into BM3D, which takes half a minute or more here)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    took = time.monotonic() - sent
    with proc.stderr:
        err = proc.stderr.read()
    assert code == 143 and took < 4, (code, took, err)
    assert "terminated (SIGTERM)" in err and not (tmp_path / "o.png").exists()


def test_info_says_the_threads_of_each_part_of_a_run(tmp_path, monkeypatch, capsys):
    """The threads a run needs to be repeated were not in info, and a run resumed on other threads recorded only
    the last part's (the QA re-check)."""
    from noise2x.train import train

    for i in range(3):
        _png(tmp_path / "data" / f"{i}.png", i)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    kw = dict(data=tmp_path / "data", add_noise="gaussian:sigma=25", out=tmp_path / "m.safetensors", progress=False)
    monkeypatch.setenv(THREADS_ENV, "1")
    train("noise2void", steps=2, overrides=["train.preset=tiny", "train.val_every=100"], **kw)
    assert cli.main(["info", str(tmp_path / "m.safetensors")]) == 0
    assert "on cpu, 1 thread (preset tiny" in capsys.readouterr().out
    monkeypatch.setenv(THREADS_ENV, "2")
    train("noise2void", steps=4, resume=True, overrides=["train.preset=tiny", "train.val_every=100"], **kw)
    assert cli.main(["info", str(tmp_path / "m.safetensors")]) == 0
    assert "on cpu, threads 1 (steps 1-2), 2 (steps 3-4) (preset tiny" in capsys.readouterr().out


def test_small_messages_of_the_qa_recheck(tmp_path, capsys):
    """From the QA re-check: a Poisson spec within the bounds whose counts pass NumPy's sampler was an internal
    error; '' as a model read as the working folder (a FITS header's BITPIX 17: test_io)."""
    from noise2x import api
    from noise2x.errors import UsageError

    src = _png(tmp_path / "n.png")
    assert cli.main(["simulate", "poisson:peak=1e-9,data_range=1e-30", str(src), str(tmp_path / "s.tif")]) == 2
    assert "photons to a pixel, beyond 1e18" in capsys.readouterr().err
    assert cli.main(["info", ""]) == 2 and "got ''" in capsys.readouterr().err
    with pytest.raises(UsageError, match="got ''"):
        api.denoise(np.zeros((32, 32)), model="")


def test_an_interrupted_bench_keeps_its_finished_images_and_resumes(tmp_path, monkeypatch, capsys):
    """A bench stopped by its job's time limit (SIGTERM) or Ctrl-C kept nothing: hours of zero-shot runs lost. It
    now keeps the images every method had finished in NAME.partial.json, and --resume goes on from the next one:
    the result equals an uninterrupted run's, image by image."""
    import json

    from noise2x import api
    from noise2x.errors import Terminated

    data = tmp_path / "set"
    for k in range(4):
        _png(data / f"i{k}.png", seed=k, size=40)
    calls = []

    def boxcar(noisy, *, noise=None, rng=None, info=None):  # (a direct method: 3x3 mean)
        from scipy.ndimage import uniform_filter

        calls.append(1)
        if stop_at and len(calls) == stop_at:
            raise Terminated()
        return uniform_filter(noisy, size=3, mode="reflect")

    real = api.resolve_direct
    monkeypatch.setattr(api, "resolve_direct", lambda name: boxcar if name == "box" else real(name))
    args = ["bench", "--methods", "box,nlm", "--dataset", str(data), "--noise", "gaussian:sigma=20",
            "--set", "nlm.h=12"]
    stop_at = 0
    assert cli.main(args + ["--out", str(tmp_path / "whole.json")]) == 0
    whole = json.loads((tmp_path / "whole.json").read_text())
    capsys.readouterr()

    stop_at, calls[:] = 4, []  # (a warm-up call, then images 0 and 1: stopped in image 2, box's turn)
    out = tmp_path / "r" / "b.json"
    assert cli.main(args + ["--out", str(out), "-q"]) == 143  # (the line naming the file kept: said under -q too)
    err = capsys.readouterr().err
    partial = tmp_path / "r" / "b.partial.json"
    assert f"interrupted after 2 of 4 images: their results are in {partial}" in err and not out.exists()
    kept = json.loads(partial.read_text())
    assert kept["partial"] is True and kept["n_images"] == 2 and kept["n_images_planned"] == 4
    assert [[e["file"] for e in r["per_image"]] for r in kept["rows"]] == [["i0.png", "i1.png"]] * 3
    assert "PARTIAL: interrupted after 2 of 4 images" in (tmp_path / "r" / "b.partial.md").read_text()
    assert cli.main(args + ["--out", str(out), "--resume", str(tmp_path / "none.json")]) == 2  # (as a missing input)
    assert "benchmark result not found" in capsys.readouterr().err

    stop_at = 0
    bad = args[:2] + ["nlm,box"] + args[3:]  # (another method order: refused before any work)
    assert cli.main(bad + ["--out", str(out), "--resume", str(partial)]) == 2
    err = capsys.readouterr().err
    assert "cannot resume this benchmark from that result: its methods were box, nlm; this run's are nlm, box" in err
    assert cli.main(args[:-1] + ["nlm.h=13", "--out", str(out), "--resume", str(partial)]) == 2
    assert "nlm's options were" in capsys.readouterr().err
    for extra, said in ((["--colour", "channels"], "its colour was auto, this run's is channels"),
                        (["--data-range", "1000"], "its data range was None, this run's is 1000.0")):
        assert cli.main(args + ["--out", str(out), "--resume", str(partial), *extra]) == 2  # (mixed in one row)
        assert said in capsys.readouterr().err
    kept_bytes = (data / "i1.png").read_bytes()  # an image it had done, changed since: refused (its checksum)
    _png(data / "i1.png", seed=9, size=40)
    assert cli.main(args + ["--out", str(out), "--resume", str(partial)]) == 2
    assert "an image it had done has changed since" in capsys.readouterr().err
    (data / "i1.png").write_bytes(kept_bytes)
    (tmp_path / "setlink").symlink_to(data)  # (the same folder written otherwise: taken as the same, a QA re-check)
    linked = [str(tmp_path / "setlink") if a == str(data) else a for a in args]
    assert cli.main(linked + ["--out", str(out), "--resume", str(partial)]) == 0
    done = json.loads(out.read_text())
    assert not partial.exists() and not partial.with_suffix(".md").exists()  # (now in --out)
    assert done["n_images"] == 4 and "partial" not in done and done["resumed"] == [kept["started"]]
    for row, ref in zip(done["rows"], whole["rows"]):
        assert [e["file"] for e in row["per_image"]] == [e["file"] for e in ref["per_image"]]
        assert [e["psnr"] for e in row["per_image"]] == pytest.approx([e["psnr"] for e in ref["per_image"]])
        assert row["psnr"] == pytest.approx(ref["psnr"]) and row["ssim"] == pytest.approx(ref["ssim"])
    assert cli.main(args + ["--out", str(out), "--resume", str(out)]) == 2  # (a finished run's result)
    assert "a finished run's result, not an interrupted one's" in capsys.readouterr().err


def test_a_bench_resumes_from_images_of_infinite_psnr(tmp_path, monkeypatch, capsys):
    """JSON holds an infinite PSNR (identical images) as null, and a run resumed from such a partial result failed
    after all its remaining images (TypeError at the mean: the metrics QA pass). null is read back as infinite."""
    import json

    from noise2x import api
    from noise2x.errors import Terminated

    data = tmp_path / "set"
    for k in range(3):
        _png(data / f"i{k}.png", seed=k, size=24)
    calls = []

    def same(noisy, *, noise=None, rng=None, info=None):  # (at sigma 0: the clean image itself)
        calls.append(1)
        if stop_at and len(calls) == stop_at:
            raise Terminated()
        return noisy

    monkeypatch.setattr(api, "resolve_direct", lambda name: same)
    args = ["bench", "--methods", "same", "--dataset", str(data), "--noise", "gaussian:sigma=0", "-q",
            "--out", str(tmp_path / "b.json")]
    stop_at = 3  # (the warm-up, image 0, then stopped in image 1)
    assert cli.main(args) == 143
    partial = tmp_path / "b.partial.json"
    kept = json.loads(partial.read_text())
    assert [e["psnr"] for e in kept["rows"][1]["per_image"]] == [None]
    capsys.readouterr()
    stop_at = 0
    assert cli.main(args + ["--resume", str(partial)]) == 0, capsys.readouterr().err
    done = json.loads((tmp_path / "b.json").read_text())
    assert done["n_images"] == 3 and [e["psnr"] for e in done["rows"][1]["per_image"]] == [None] * 3
    assert done["rows"][1]["psnr"] is None and done["rows"][1]["ssim"] == 1.0


def test_a_bench_interrupted_while_its_result_is_made_keeps_every_image(tmp_path, monkeypatch, capsys):
    """An interruption after the last image, while the result was being made, kept nothing ("before every method
    had finished an image"). It keeps every image, and --resume writes the result from them without new work."""
    import json

    from noise2x import provenance
    from noise2x.errors import Terminated

    data = tmp_path / "set"
    for k in range(2):
        _png(data / f"i{k}.png", seed=k, size=32)
    real, calls = provenance.files_digest, []

    def stopping(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise Terminated()
        return real(*a, **k)

    monkeypatch.setattr(provenance, "files_digest", stopping)
    args = ["bench", "--methods", "nlm", "--dataset", str(data), "--noise", "gaussian:sigma=20", "--out",
            str(tmp_path / "b.json")]
    assert cli.main(args + ["-q"]) == 143
    partial = tmp_path / "b.partial.json"
    assert "interrupted after 2 of 2 images" in (err := capsys.readouterr().err) and "b.partial.json writes the result)" in err
    kept = json.loads(partial.read_text())
    assert kept["n_images"] == 2
    assert cli.main(args + ["--resume", str(partial)]) == 0 and not partial.exists()
    done = json.loads((tmp_path / "b.json").read_text())
    assert done["n_images"] == 2 and "partial" not in done
    assert done["rows"][1]["per_image"] == kept["rows"][1]["per_image"]  # (its times too: not run again)


def test_a_stop_signalled_twice_keeps_what_the_first_keeps(tmp_path, monkeypatch, capsys):
    """timeout(1) sends its signal to the command, then to its process group: the command gets it twice. The
    second came while bench kept its finished images and lost them all ("no result to keep", a QA pass). A stop
    repeated within errors.REPEATED_STOP_S is the same stop; a SIGHUP (a dropped ssh connection) stops as SIGTERM does,
    status 129."""
    import json

    from noise2x import api, benchmark

    data = tmp_path / "set"
    for k in range(3):
        _png(data / f"i{k}.png", seed=k, size=32)
    calls = []

    def box(noisy, *, noise=None, rng=None, info=None):  # (a direct method; the job's time runs out at image 2)
        calls.append(1)
        if len(calls) == 3:  # (a warm-up call, image 0, image 1)
            os.kill(os.getpid(), signal.SIGTERM)
        return noisy

    real_write = benchmark.write_outputs

    def write(result, out):  # (the group's copy of the signal, while the partial result is written)
        os.kill(os.getpid(), signal.SIGTERM)
        return real_write(result, out)

    real = api.resolve_direct
    monkeypatch.setattr(api, "resolve_direct", lambda name: box if name == "box" else real(name))
    monkeypatch.setattr(benchmark, "write_outputs", write)
    args = ["bench", "--methods", "box", "--dataset", str(data), "--noise", "gaussian:sigma=20", "--out",
            str(tmp_path / "b.json"), "-q"]
    assert cli.main(args) == 143
    assert "interrupted after 1 of 3 images" in capsys.readouterr().err
    assert json.loads((tmp_path / "b.partial.json").read_text())["n_images"] == 1
    if hasattr(signal, "SIGHUP"):
        unhandled = []  # (this test's own handler, where main handled none: the suite may run under nohup, which
        # ignores SIGHUP, and main leaves an ignored one ignored)
        hup = signal.signal(signal.SIGHUP, lambda signum, frame: unhandled.append(signum))
        try:
            fallback = signal.getsignal(signal.SIGHUP)
            calls[:] = []
            monkeypatch.setattr(benchmark, "write_outputs", real_write)
            monkeypatch.setattr(os, "kill", lambda pid, sig, kill=os.kill: kill(pid, signal.SIGHUP))
            assert cli.main(args[:-3] + ["--out", str(tmp_path / "h.json"), "-q"]) == 129 and not unhandled
            assert "terminated (SIGHUP)" in capsys.readouterr().err
            assert signal.getsignal(signal.SIGHUP) is fallback  # (main's handler is its own)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # (nohup: a hang-up stays ignored)
            calls[:] = []
            assert cli.main(args[:-3] + ["--out", str(tmp_path / "n.json"), "-q"]) == 0
        finally:
            signal.signal(signal.SIGHUP, hup)


def test_a_terminal_or_file_system_in_another_encoding(tmp_path):
    """bench's table on a Latin-1 stdout ended in an internal error, exit 1, after its files were written; with
    Python's UTF-8 mode off and an ASCII file-system encoding, an output name outside ASCII failed the same way
    (an automation QA pass). Characters the stream cannot encode are written escaped; the name is written."""
    import subprocess
    import sys

    data = tmp_path / "set"
    _png(data / "été.png", seed=1, size=24)
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    run = subprocess.run([sys.executable, "-m", "noise2x", "bench", "--methods", "nlm", "--dataset", str(data),
                          "--noise", "gaussian:sigma=25", "--out", str(tmp_path / "b.json")], env=env,
                         capture_output=True)
    assert run.returncode == 0 and b"| nlm |" in run.stdout, run.stderr
    if os.name == "posix":
        env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
        env.pop("PYTHONIOENCODING", None)
        run = subprocess.run([sys.executable, "-m", "noise2x", "denoise", "été.png", "--method", "nlm", "--out",
                              "s é.png"], env=env, cwd=data, capture_output=True)
        assert run.returncode == 0 and (data / "s é.png").is_file(), run.stderr


def test_a_rename_refused_for_a_moment_on_windows_is_tried_again(tmp_path, monkeypatch):
    """On Windows a virus scanner, the search indexer or OneDrive holds a file just written open for a moment, and
    the rename onto it is refused (PermissionError): an output or checkpoint failed so (a portability QA pass).
    There the rename is tried again for up to a second; elsewhere such a refusal is final."""
    from noise2x import fsutil

    real, refusals = os.replace, []

    def held(src, dst):
        if len(refusals) < 2:
            refusals.append(dst)
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", held)
    monkeypatch.setattr(fsutil, "_WINDOWS", True)
    with fsutil.atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a.txt").read_text() == "x" and len(refusals) == 2
    monkeypatch.setattr(fsutil, "_WINDOWS", False)
    refusals.clear()
    with pytest.raises(PermissionError):
        with fsutil.atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("y")
    assert not (tmp_path / "b.txt").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def _fork_child_denoise(image):
    import noise2x

    return noise2x.denoise(image, model="gray-gaussian")


def test_a_fork_started_worker_runs_torch_and_does_not_hang():
    """A multiprocessing pool started by fork (Python's default on Linux before 3.14), after the parent had run a
    model, hung forever in its first call: torch's OpenMP threads do not survive fork. A fork-started process now
    runs torch on one thread, and gives the parent's result."""
    import multiprocessing

    import torch

    import noise2x

    image = np.random.default_rng(0).integers(0, 256, (96, 96)).astype(np.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # (the parent's threads: those a fork leaves behind)
    try:
        torch.nn.functional.conv2d(torch.ones(1, 8, 256, 256), torch.ones(8, 8, 3, 3))
        here = noise2x.denoise(image, model="gray-gaussian")
    finally:
        torch.set_num_threads(before)
    pool = multiprocessing.get_context("fork").Pool(1)
    try:
        there = pool.apply_async(_fork_child_denoise, (image,)).get(timeout=120)
    finally:
        pool.terminate()
        pool.join()
    np.testing.assert_allclose(there, here, atol=1e-3)


_BM3D_TWICE = r"""
import concurrent.futures, os, signal, sys, threading
import numpy as np
import noise2x

# (Ctrl-C as a kernel gets it: a test suite started in the background by a shell (`cmd &`) inherits SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)

rng = np.random.default_rng(0)
small = [128 + 25 * rng.standard_normal((64, 64)) for _ in range(2)]
alone = [noise2x.denoise(x, method="bm3d", noise="gaussian:sigma=25") for x in small]
with concurrent.futures.ThreadPoolExecutor(2) as pool:  # (a pipeline's, or napari's, worker threads)
    both = list(pool.map(lambda x: noise2x.denoise(x, method="bm3d", noise="gaussian:sigma=25"), small))
def same(a, b):  # (the package's output varies a little from call to call: up to 0.8 at a few pixels here)
    return np.abs(a - b).max() < 2 and np.abs(a - b).mean() < 0.02


assert all(same(a, b) for a, b in zip(alone, both))
big = 128 + 25 * rng.standard_normal((400, 400))
threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()  # (a notebook's "interrupt kernel")
try:
    noise2x.denoise(big, method="bm3d", noise="gaussian:sigma=25")
    sys.exit("not interrupted")
except KeyboardInterrupt:
    pass
again = noise2x.denoise(small[0], method="bm3d", noise="gaussian:sigma=25")  # (the interrupted one still runs)
assert same(again, alone[0])
print("ok")
"""


def test_bm3d_from_two_threads_or_after_an_interrupted_call_in_one_session(tmp_path):
    """The bm3d package's C library aborts the interpreter when entered twice: two Python threads, or a call after
    an interrupted one (its worker still inside), killed a Jupyter kernel (the Python API QA pass). Its calls now
    run one at a time."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _BM3D_TWICE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-2000:])


def test_python_threads_and_messages_in_python_spelling(tmp_path, monkeypatch):
    """From the Python API QA pass: no threads= (the notes said to repeat a run with --threads); errors named the
    CLI's flags only; a shipped model's name mistyped said only 'no such model file'; blank_value='x' was numpy's
    TypeError."""
    import torch

    import noise2x
    from noise2x.errors import UsageError

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    import threading

    from noise2x.predict import user_threads

    seen, elsewhere, real = [], [], torch.set_num_threads

    def set_threads(n):  # (and what another thread reads meanwhile: not this call's count, a QA re-check)
        seen.append(n)
        probe = threading.Thread(target=lambda: elsewhere.append(user_threads()))
        probe.start()
        probe.join()
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", set_threads)
    image = np.random.default_rng(0).integers(0, 256, (40, 40)).astype(np.float64)
    before = torch.get_num_threads()
    noise2x.denoise(image, model="gray-gaussian", threads=1)
    assert seen and seen[0] == 1 and torch.get_num_threads() == before and THREADS_ENV not in os.environ
    assert elsewhere and elsewhere[0] is None and user_threads() is None
    with pytest.raises(UsageError, match="threads must be a whole number"):
        noise2x.denoise(image, model="gray-gaussian", threads=0)
    for i in range(3):
        _png(tmp_path / "data" / f"{i}.png", i)
    seen.clear()
    noise2x.train("noise2void", data=tmp_path / "data", steps=1, out=tmp_path / "m.safetensors", threads=1,
                  overrides=["train.preset=tiny", "train.val_every=100"], progress=False)
    assert seen[0] == 1
    from noise2x.checkpoint import read_metadata

    assert read_metadata(tmp_path / "m.safetensors")["threads"] == 1
    with pytest.raises(UsageError, match=r"--steps \(steps= in Python\) must be >= 1"):
        noise2x.train("noise2void", data=tmp_path / "data", steps=0, out=tmp_path / "x.safetensors")
    with pytest.raises(UsageError, match=r"add_noise=.*in Python"):
        noise2x.train("noise2noise", data=tmp_path / "data", steps=1, out=tmp_path / "x.safetensors")
    with pytest.raises(UsageError, match=r"Python: model = noise2x.train\('noise2void'"):
        noise2x.denoise(image, method="noise2void")
    with pytest.raises(UsageError, match="no such model file or shipped model .*: gray-gausian"):
        noise2x.denoise(image, model="gray-gausian")
    with pytest.raises(UsageError, match="blank_value must be a number"):
        noise2x.denoise(image, method="nlm", blank_value="x")
    with pytest.raises(UsageError, match=r"data is a 3-D array \(shape \(3, 8, 8\)\): give its axes, axes='SYX'"):
        noise2x.train("noise2void", data=np.zeros((3, 8, 8)), steps=1, out=tmp_path / "x.safetensors")
    with pytest.raises(UsageError, match=r"data must be a path \(str or Path\) to a folder .* got dict"):
        noise2x.train("noise2void", data={}, steps=1, out=tmp_path / "x.safetensors")
    from noise2x.benchmark import run_bench

    with pytest.raises(UsageError, match="dataset must be a path"):
        run_bench(["nlm"], dataset=[tmp_path / "data" / "0.png"], noise="gaussian:sigma=5")


def test_a_models_denoise_refuses_a_stack_read_as_channels():
    """Denoiser.denoise (what load_model and train return) took a (Z,Y,X) stack for one image of X channels and
    denoised each column through the stack as a picture: 23 dB against 33 frame by frame, unsaid (the Python API
    QA pass). Refused now, as noise2x.denoise refuses it; channels stored last are taken when said so."""
    import noise2x
    from noise2x.errors import InputError

    model = noise2x.load_model("gray-gaussian")
    frame = 128 + 20 * np.random.default_rng(0).standard_normal((24, 20))
    stack = np.stack([frame] * 5)
    with pytest.raises(InputError, match=r"got shape \(5, 24, 20\); 5 planes stored first \(a stack of frames, or "
                                         r"channels\), each denoised alone: denoise_stack"):
        model.denoise(stack)
    out = model.denoise_stack(stack)
    np.testing.assert_allclose(out[2], model.denoise(frame), atol=1e-4)
    bands = np.stack([frame] * 5, axis=-1)
    np.testing.assert_allclose(model.denoise(bands, colour="channels")[..., 1], model.denoise(frame), atol=1e-4)


def test_info_records_the_model_given(tmp_path):
    """info= stayed empty where a model was given (the Python API QA pass): it records it as for the other routes."""
    import noise2x

    image = np.random.default_rng(9).integers(0, 256, (40, 40)).astype(np.float64)  # (as the training images)
    info: dict = {}
    noise2x.denoise(image, model="gray-gaussian", info=info)
    assert info["method"] == "model gray-gaussian"
    for i in range(3):
        _png(tmp_path / "data" / f"{i}.png", i)
    model = noise2x.train("noise2void", data=tmp_path / "data", steps=1, out=tmp_path / "m.safetensors",
                          overrides=["train.preset=tiny", "train.val_every=100"], progress=False)
    info = {}
    noise2x.denoise(image, model=model, info=info)
    assert info["method"] == "noise2void model"


_FORK_DURING_BM3D = r"""
import multiprocessing, sys, threading, time
import numpy as np
import noise2x

def job(seed):
    x = 128 + 25 * np.random.default_rng(seed).standard_normal((48, 48))
    try:
        noise2x.denoise(x, method="bm3d", noise="gaussian:sigma=25")
        return "ran"
    except noise2x.errors.Noise2xError as exc:
        return str(exc)

if __name__ == "__main__":
    job(0)  # (the imports done first: a fork while a thread imports copies the import lock held, Python's hazard)
    big = 128 + 25 * np.random.default_rng(0).standard_normal((400, 400))
    busy = threading.Thread(target=lambda: noise2x.denoise(big, method="bm3d", noise="gaussian:sigma=25"))
    busy.start()
    time.sleep(1.5)  # (well inside BM3D)
    pool = multiprocessing.get_context("fork").Pool(1)
    try:
        print(pool.apply_async(job, (1,)).get(timeout=60))
    finally:
        pool.terminate()
        busy.join()
"""


def test_a_fork_started_worker_while_a_thread_runs_bm3d_says_so(tmp_path):
    """A pool started by fork while another thread of the parent ran BM3D waited for ever in its first BM3D call
    (the lock that lets one call run at a time was copied held: the QA re-check). It now says why, at once."""
    import subprocess
    import sys

    script = tmp_path / "fork_bm3d.py"
    script.write_text(_FORK_DURING_BM3D)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "started by fork while another thread ran BM3D" in done.stdout and "'spawn'" in done.stdout, done.stdout


def test_an_interrupted_bench_whose_partial_file_cannot_be_written_says_so_and_keeps_its_exit_code(
        tmp_path, monkeypatch, capsys):
    """A --out name long enough that NAME.partial.json passes the file system's limit: its OSError took the
    interrupt's place (exit 1, the results lost, and BM3D's threads aborted the process: 134; a locale QA pass)."""
    from noise2x import api
    from noise2x.errors import Terminated

    data = tmp_path / "set"
    for k in range(3):
        _png(data / f"i{k}.png", seed=k, size=40)
    calls = []

    def boxcar(noisy, *, noise=None, rng=None, info=None):
        from scipy.ndimage import uniform_filter

        calls.append(1)
        if len(calls) == 4:
            raise Terminated()
        return uniform_filter(noisy, size=3, mode="reflect")

    real = api.resolve_direct
    monkeypatch.setattr(api, "resolve_direct", lambda name: boxcar if name == "box" else real(name))
    out = tmp_path / ("c" * 248 + ".json")  # (a name of 253 bytes; NAME.partial.json has 261)
    assert cli.main(["bench", "--methods", "box", "--dataset", str(data), "--noise", "gaussian:sigma=20", "--out",
                     str(out)]) == 143
    captured = capsys.readouterr()
    assert "interrupted after 2 of 3 images; their results could not be kept in " in captured.err, captured.err
    assert "| box |" in captured.out and not out.exists()
