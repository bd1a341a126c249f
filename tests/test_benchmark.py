"""The PROTOCOL benchmark harness on three tiny images written to a temporary folder."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from noise2x.benchmark import machine_info, markdown_table, run_bench, write_outputs
from noise2x.errors import InputError, Noise2xError, UsageError
from noise2x.metrics import psnr, ssim


@pytest.fixture
def tiny_set(tmp_path, gray_image):
    folder = tmp_path / "tiny"
    folder.mkdir()
    images = [gray_image, np.flipud(gray_image)[:33, :29], np.roll(gray_image, 7, axis=1)]
    # written out of order: the harness must sort by file name
    for name, img in zip(["b.png", "c.png", "a.png"], [images[1], images[2], images[0]]):
        Image.fromarray(np.round(img).astype(np.uint8)).save(folder / name)
    return folder


def _clean(folder, name):
    return np.asarray(Image.open(folder / name), dtype=np.float64)


def test_nlm_rows_per_image_values_and_progress(tiny_set):
    lines: list[str] = []
    result = run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", progress=lines.append)
    rows = {row["method"]: row for row in result["rows"]}
    assert [row["method"] for row in result["rows"]] == ["noisy", "nlm"]
    noisy_row, nlm_row = rows["noisy"], rows["nlm"]

    # the noisy row is PROTOCOL's noise computed by hand, measured unclipped
    by_hand_psnr, by_hand_ssim = [], []
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        clean = _clean(tiny_set, name)
        noisy = clean + 25.0 * np.random.default_rng(i).standard_normal(clean.shape)
        by_hand_psnr.append(psnr(clean, noisy, clip=False))
        by_hand_ssim.append(ssim(clean, noisy, clip=False))
    assert [e["file"] for e in noisy_row["per_image"]] == ["a.png", "b.png", "c.png"]
    assert [e["psnr"] for e in noisy_row["per_image"]] == pytest.approx(by_hand_psnr, abs=1e-12)
    assert noisy_row["psnr"] == pytest.approx(np.mean(by_hand_psnr), abs=1e-12)
    assert noisy_row["ssim"] == pytest.approx(np.mean(by_hand_ssim), abs=1e-12)

    assert nlm_row["n_images"] == 3 and len(nlm_row["per_image"]) == 3
    assert nlm_row["psnr"] > noisy_row["psnr"] + 3
    assert nlm_row["psnr"] == pytest.approx(np.mean([e["psnr"] for e in nlm_row["per_image"]]))
    assert nlm_row["noise_given"] is True and nlm_row["sigma_source"] == "noise spec"
    assert all(e["sigma"] == 25.0 and e["seconds"] > 0 for e in nlm_row["per_image"])
    pixels = 37 * 31 * 2 + 33 * 29
    total = sum(e["seconds"] for e in nlm_row["per_image"])
    assert nlm_row["megapixels_per_second"] == pytest.approx(pixels / 1e6 / total)
    assert nlm_row["seconds_per_image"] == pytest.approx(total / 3)
    assert nlm_row["dataset"] == "tiny" and nlm_row["noise"] == "gaussian:sigma=25"

    assert len(lines) == 3
    assert re.fullmatch(r"\[1/3\] nlm \d+\.\d\d dB \d+\.\d s", lines[0])
    assert result["n_images"] == 3 and result["protocol"] == "PROTOCOL.md"
    assert result["machine"]["cpu_count"] >= 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", result["date"])


def test_outputs_json_and_markdown(tiny_set, tmp_path):
    result = run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", limit=2)
    result["command"] = "noise2x bench --methods nlm"
    written = write_outputs(result, tmp_path / "new" / "res.json")
    assert written == [tmp_path / "new" / "res.json", tmp_path / "new" / "res.md"]
    data = json.loads(written[0].read_text())
    assert data["rows"][1]["method"] == "nlm" and data["rows"][1]["n_images"] == 2
    assert data["command"] == "noise2x bench --methods nlm"
    text = written[1].read_text()
    assert "| method | dataset | noise | PSNR (dB) | SSIM | s/image | MP/s | notes |" in text
    assert f"| nlm | tiny | gaussian:sigma=25 | {result['rows'][1]['psnr']:.2f} |" in text
    assert "noise2x bench --methods nlm" in text
    # giving the .md name writes the same pair
    assert write_outputs(result, tmp_path / "other.md") == [tmp_path / "other.json", tmp_path / "other.md"]
    with pytest.raises(UsageError, match=r"\.json or \.md"):
        write_outputs(result, tmp_path / "res.txt")
    assert not list(tmp_path.glob("**/*.tmp*"))


def test_markdown_table_format():
    result = {"rows": [
        {"method": "noisy", "dataset": "set", "noise": "gaussian:sigma=25", "psnr": 20.1749, "ssim": 0.41,
         "seconds_per_image": None, "megapixels_per_second": None, "notes": "a|b"},
        {"method": "bm3d", "dataset": "set", "noise": "gaussian:sigma=25", "psnr": 30.016, "ssim": 0.85432,
         "seconds_per_image": 4.1234, "megapixels_per_second": 0.0351, "notes": ""},
    ]}
    lines = markdown_table(result).splitlines()
    assert lines[2] == "| noisy | set | gaussian:sigma=25 | 20.17 | 0.4100 | – | – | a\\|b |"
    assert lines[3] == "| bm3d | set | gaussian:sigma=25 | 30.02 | 0.8543 | 4.123 | 0.0351 |  |"


class _Recorder:
    """A fake direct method that records its calls and returns a 3x3 mean filter."""

    def __init__(self, shape_bug: bool = False):
        self.calls: list[dict] = []
        self.shape_bug = shape_bug

    def __call__(self, noisy, *, noise=None, rng=None, info=None, strength: int = 1):
        self.calls.append({"noisy": noisy.copy(), "noise": noise, "rng": rng, "strength": strength})
        if info is not None:
            info.update(sigma=24.0, sigma_source="estimated")
        if self.shape_bug:
            return noisy[:-1]
        from scipy.ndimage import uniform_filter

        return uniform_filter(noisy, size=3, mode="reflect")


def test_warmup_seeds_noise_and_options_with_a_registry(tiny_set):
    fake = _Recorder()
    result = run_bench(["fake"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"fake": fake},
                       options={"fake.strength": "3"})
    assert len(fake.calls) == 4  # one untimed warm-up on image 0, then 3 timed calls
    np.testing.assert_array_equal(fake.calls[0]["noisy"], fake.calls[1]["noisy"])
    assert [c["rng"] for c in fake.calls[1:]] == [3000, 3001, 3002]
    assert all(str(c["noise"]) == "gaussian:sigma=25" for c in fake.calls)
    assert all(c["strength"] == 3 for c in fake.calls)  # string option converted to the default's type
    row = result["rows"][1]
    assert row["options"] == {"strength": 3} and row["sigma_source"] == "estimated"
    assert "strength=3" in row["notes"]

    blind = _Recorder()
    result = run_bench(["fake"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"fake": blind},
                       give_noise=False, warmup=False, options={"strength": 2})
    assert len(blind.calls) == 3 and all(c["noise"] is None for c in blind.calls)
    assert result["rows"][1]["noise_given"] is False


def test_cli_bench_estimate_noise_and_bm3d_beta_auto(tmp_path, capsys):
    """--estimate-noise: the direct methods are not told the noise (they estimate it, as a call without --noise);
    bm3d with beta=auto records the beta it read and, where it read correlated noise, that it used its spectrum."""
    import json

    from noise2x.cli import main

    folder = tmp_path / "set"
    folder.mkdir()
    yy, xx = np.mgrid[0:160, 0:170]
    Image.fromarray(np.round(128 + 60 * np.sin(xx / 20.0) * np.cos(yy / 30.0)).astype(np.uint8)).save(folder / "a.png")
    out = tmp_path / "r.json"
    assert main(["bench", "--methods", "bm3d", "--dataset", str(folder), "--noise", "correlated:sigma=20,beta=1",
                 "--estimate-noise", "--set", "beta=auto", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][1]
    entry = row["per_image"][0]
    assert row["noise_given"] is False and "noise not given" in row["notes"] and row["sigma_source"] == "estimated"
    assert entry["beta"] == entry["estimated_beta"] > 0.8 and "correlated noise's spectrum on 1 of 1" in row["notes"]
    assert main(["bench", "--methods", "bm3d", "--dataset", str(folder), "--noise", "correlated:sigma=20,beta=1",
                 "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][1]
    assert row["noise_given"] is True and row["per_image"][0]["beta"] == 1.0 and row["sigma_source"] == "noise spec"


def test_errors(tiny_set, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no image"):
        run_bench(["nlm"], dataset=empty, noise="gaussian:sigma=25")
    with pytest.raises(UsageError, match="not found|no such"):
        run_bench(["nlm"], dataset=tmp_path / "missing", noise="gaussian:sigma=25")
    with pytest.raises(UsageError, match="unknown method 'bm4d'.*bm3d"):
        run_bench(["bm3d", "bm4d"], dataset=tiny_set, noise="gaussian:sigma=25")
    with pytest.raises(UsageError, match="noise"):
        run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sgima=25")
    with pytest.raises(UsageError, match="no benchmarked method has an option 'bogus'"):
        run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", options={"bogus": 1})
    with pytest.raises(UsageError, match="limit"):
        run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", limit=0)
    with pytest.raises(Noise2xError, match="'broken' returned an image of shape"):
        run_bench(["broken"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"broken": _Recorder(True)})


def test_bad_dataset_images_fail_before_any_method_runs(tiny_set):
    """An unreadable or too small image (after good ones, in sorted order) is named before any work."""
    calls = _Recorder()
    (tiny_set / "d.png").write_text("not an image")
    with pytest.raises(InputError, match=r"d\.png"):
        run_bench(["rec"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"rec": calls})
    (tiny_set / "d.png").unlink()
    Image.fromarray(np.zeros((5, 40), np.uint8)).save(tiny_set / "d.png")
    with pytest.raises(InputError, match=r"d\.png: 5x40 is too small to benchmark"):
        run_bench(["rec"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"rec": calls})
    (tiny_set / "d.png").unlink()
    import tifffile

    tifffile.imwrite(tiny_set / "d.tif", np.zeros((3, 40, 40), np.uint8), photometric="minisblack")  # 3 frames
    with pytest.raises(InputError, match=r"d\.tif is a multi-page TIFF with 3 images; bench scores single images"):
        run_bench(["rec"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"rec": calls})
    (tiny_set / "d.tif").unlink()
    assert calls.calls == []  # nothing ran
    run_bench(["rec"], dataset=tiny_set, noise="gaussian:sigma=25", registry={"rec": calls}, limit=3)  # a-c only


def test_machine_info_does_not_import_torch():
    import subprocess
    import sys

    code = "import noise2x.benchmark as b, sys; m = b.machine_info(); print('torch' in sys.modules, m['cpu_count'] > 0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    assert "versions" in machine_info()


def test_trainable_method_is_trained_then_applied(tiny_set, tmp_path, monkeypatch):
    import noise2x.api as api

    calls: dict = {}

    class FakeModel:  # stands in for a Denoiser
        channels = 1

        def denoise(self, image, **kwargs):
            return image * 0.5 + 64.0

    def fake_train(method, *, data, out, **kwargs):
        calls.update(method=method, data=data, **kwargs)
        return FakeModel()

    monkeypatch.setattr(api, "trainable_methods", lambda: {"toy": object, "toy2": object})
    monkeypatch.setattr(api, "train", fake_train)
    with pytest.raises(UsageError, match="trainable.*budget"):
        run_bench(["toy"], dataset=tiny_set, noise="gaussian:sigma=25")
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    result = run_bench(["toy"], dataset=tiny_set, noise="gaussian:sigma=25", budget_minutes=0.5,
                       train_data=train_dir, options={"toy.train.lr": "1e-4"})
    assert calls["method"] == "toy" and calls["data"] == train_dir
    assert calls["add_noise"] == "gaussian:sigma=25" and calls["minutes"] == 0.5
    assert calls["overrides"] == ["train.lr=1e-4"]
    row = result["rows"][1]
    assert row["method"] == "toy" and row["budget_minutes"] == 0.5 and row["train_seconds"] >= 0
    assert "trained" in row["notes"]
    monkeypatch.chdir(tmp_path)  # (a relative folder is recorded absolute, as the dataset is: a QA pass)
    again = run_bench(["toy"], dataset=tiny_set, noise="gaussian:sigma=25", budget_minutes=0.5, train_data="train")
    assert again["rows"][1]["train_data"] == str(train_dir.resolve())
    # before any training: a budget that is not > 0, and training data that is not there
    calls.clear()
    for budget in (0, -1):
        with pytest.raises(UsageError, match="training budget must be > 0 minutes"):
            run_bench(["toy"], dataset=tiny_set, noise="gaussian:sigma=25", budget_minutes=budget, train_data=train_dir)
    with pytest.raises(UsageError, match=r"training data not found: .*train400 .*--train-data"):
        run_bench(["toy", "toy2"], dataset=tiny_set, noise="gaussian:sigma=25", budget_minutes=0.5)
    assert calls == {}
    # the CLI passes --train-data on
    from noise2x.cli import main

    assert main(["bench", "--methods", "toy", "--dataset", str(tiny_set), "--noise", "gaussian:sigma=25",
                 "--budget-minutes", "0.5", "--train-data", str(train_dir)]) == 0
    assert calls["data"] == train_dir


def test_model_files_are_benchmarked_by_path(tiny_set, tmp_path):
    import torch

    from noise2x import api
    from noise2x.checkpoint import save_model
    from noise2x.models import ScaledModel, build_model

    torch.manual_seed(0)
    args = {"in_channels": 1, "out_channels": 1, "width": 8, "depth": 2}
    model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[60.0]).eval()
    path = save_model(tmp_path / "mine.safetensors", model,
                      metadata={"method": "supervised", "method_options": {}, "noise": "gaussian:sigma=25",
                                "steps": 3, "seconds": 1.5, "preset": "tiny"})
    result = run_bench([str(path)], dataset=tiny_set, noise="gaussian:sigma=25")
    row = {r["method"]: r for r in result["rows"]}["mine"]
    assert row["model_file"] == str(path) and row["train_steps"] == 3 and row["train_method"] == "supervised"
    # the figures are those of the model itself on PROTOCOL noise
    den = api.load_model(path)
    noisy = np.asarray(Image.open(tiny_set / "a.png"), dtype=np.float64)
    assert np.isfinite(row["psnr"]) and den is not None and noisy.shape == (37, 31)
    with pytest.raises(InputError, match="model file not found"):
        run_bench([str(tmp_path / "nope.safetensors")], dataset=tiny_set, noise="gaussian:sigma=25")
    # a shipped model by its name, as denoise --model and train --init take it
    from noise2x.pretrained import model_path

    row = run_bench(["gray-gaussian-selfsup"], dataset=tiny_set, noise="gaussian:sigma=25", limit=1)["rows"][1]
    assert row["method"] == "gray-gaussian-selfsup" and row["model_file"] == str(model_path("gray-gaussian-selfsup"))
    with pytest.raises(UsageError, match="unknown method 'gray-gaussian-nope'"):
        run_bench(["gray-gaussian-nope"], dataset=tiny_set, noise="gaussian:sigma=25")


def test_gray_model_files_on_colour_images_follow_colour(tmp_path, rgb_image):
    import torch

    from noise2x import api
    from noise2x.checkpoint import save_model
    from noise2x.models import ScaledModel, build_model
    from noise2x.noise import protocol_noisy

    folder = tmp_path / "rgb"
    folder.mkdir()
    Image.fromarray(np.round(rgb_image).astype(np.uint8)).save(folder / "a.png")
    torch.manual_seed(0)
    args = {"in_channels": 1, "out_channels": 1, "width": 8, "depth": 2}
    model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0], std=[60.0]).eval()
    path = save_model(tmp_path / "gray.safetensors", model,
                      metadata={"method": "supervised", "method_options": {}, "noise": "gaussian:sigma=25"})
    rows = {}
    for colour in ("auto", "channels"):
        result = run_bench([str(path)], dataset=folder, noise="gaussian:sigma=25", colour=colour)
        rows[colour] = {r["method"]: r for r in result["rows"]}["gray"]
    assert "luminance/chrominance planes" in rows["auto"]["notes"] and rows["auto"]["per_image"][0]["colour"] == "luma"
    assert "each channel" in rows["channels"]["notes"]
    clean = np.asarray(Image.open(folder / "a.png"), dtype=np.float64)
    noisy = protocol_noisy(clean, "gaussian:sigma=25", index=0)
    for colour, row in rows.items():  # each row is the model's own result in that mode
        out = api.denoise(noisy, model=api.load_model(path), colour=colour)
        assert row["psnr"] == pytest.approx(psnr(clean, out), abs=1e-6)
    with pytest.raises(UsageError, match="colour must be"):
        run_bench([str(path)], dataset=folder, noise="gaussian:sigma=25", colour="rgb")


def test_bench_table_labels_one_files_row(tmp_path):
    """scripts/bench_table.py: FILE_STEM:METHOD=LABEL renames that file's row only; METHOD=LABEL every file's."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    def row(method, psnr):
        return {"method": method, "dataset": "d", "noise": "gaussian:sigma=25", "psnr": psnr, "ssim": 0.5,
                "seconds_per_image": 1.0, "per_image": []}

    for stem, value in (("new", 30.0), ("old", 29.0)):
        (tmp_path / f"{stem}.json").write_text(json.dumps({"rows": [row("noisy", 20.0), row("auto", value)]}))
    script = Path(__file__).resolve().parents[1] / "scripts" / "bench_table.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "new.json"), str(tmp_path / "old.json"),
                          "--no-noisy", "--label", "old:auto=before", "--label", "auto=after"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split(" | ")[0] for line in out[2:]] == ["| after", "| before"]
    assert "| 29.00 | +9.00 |" in out[3]


def test_auto_noise_is_the_choice_told_the_noise(tiny_set):
    result = run_bench(["auto", "auto_noise"], dataset=tiny_set, noise="gaussian:sigma=25", warmup=False)
    auto, told = result["rows"][1], result["rows"][2]
    assert "noise not given" in auto["notes"] and "noise not given" not in told["notes"]
    assert all("estimated sigma" in e["auto"] for e in auto["per_image"])
    assert all(e["auto"].startswith("sigma 25 given") for e in told["per_image"])


def test_bench_runs_on_the_device_asked_for(tiny_set, tmp_path, monkeypatch):
    """`noise2x bench --device D`: zs_n2n (and mash, models, training) run on D, recorded per image and for the
    run; a device not here fails before any work; a run kept off the GPU is reported as a CPU run."""
    import torch

    from noise2x import benchmark

    result = run_bench(["zs_n2n"], dataset=tiny_set, noise="gaussian:sigma=25", limit=1, device="cpu",
                       options={"steps": 2}, warmup=False)
    row = {r["method"]: r for r in result["rows"]}["zs_n2n"]
    assert result["device"] == "cpu" and [e["device"] for e in row["per_image"]] == ["cpu"]
    seen: list[str] = []

    def spy(noisy, *, rng=None, device="auto"):  # a direct method that takes a device, as zs_n2n and mash do
        seen.append(device)
        return noisy

    run_bench(["spy"], registry={"spy": spy}, dataset=tiny_set, noise="gaussian:sigma=25", limit=1, device="cpu",
              warmup=False)
    run_bench(["spy"], registry={"spy": spy}, dataset=tiny_set, noise="gaussian:sigma=25", limit=1, device="cpu",
              warmup=False, options={"device": "auto"})  # the method's own option comes first
    assert seen == ["cpu", "auto"]
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="device cuda requested but no CUDA GPU is available"):
            run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", device="cuda")
    # the report names the GPU only when the run used it
    monkeypatch.setattr(benchmark, "machine_info", lambda: {"cuda_device": "NVIDIA H200", "usable_cores": 16,
                                                            "cpu_model": "X"})
    run = run_bench(["nlm"], dataset=tiny_set, noise="gaussian:sigma=25", limit=1, warmup=False)
    older = {k: v for k, v in run.items() if k != "device"}  # a JSON from before the device was recorded
    for run, where in (({**run, "device": "cuda"}, "GPU NVIDIA H200"), ({**run, "device": "cpu"}, "CPU, 16 cores (X)"),
                       ({**run, "device": "cuda:0"}, "GPU NVIDIA H200"), (older, "GPU NVIDIA H200")):
        written = write_outputs(run, tmp_path / f"r{len(where)}{run.get('device')}.json")
        report = next(p for p in written if p.suffix == ".md").read_text()
        assert f"- machine: {where}\n" in report, report


def test_the_api_bench_takes_a_string_of_methods_and_checks_options(tmp_path):
    """noise2x.bench('nlm', ...) iterated the string ('unknown method n'); a list of options raised an
    AttributeError. One string of names (comma-separated, as --methods) is taken; options must be a dict."""
    import noise2x
    from noise2x.errors import UsageError

    yy, xx = np.mgrid[0:40, 0:48]
    noise2x.write_image(tmp_path / "a.png", 60 + 2 * xx + yy, kind="uint8")
    rows = noise2x.bench("nlm, bm3d", dataset=tmp_path, noise="gaussian:sigma=25", limit=1)
    assert [r["method"] for r in rows] == ["noisy", "nlm", "bm3d"]
    with pytest.raises(UsageError, match="options must be a dict"):
        noise2x.bench(["nlm"], dataset=tmp_path, noise="gaussian:sigma=25", limit=1, options=["nlm.h=10"])


def test_bench_output_names_keep_the_spelling_given():
    """--out Y.JSON wrote Y.json and Y.md, not the file named."""
    from pathlib import Path

    from noise2x.benchmark import output_paths

    assert output_paths(Path("r/Y.JSON")) == (Path("r/Y.JSON"), Path("r/Y.MD"))
    assert output_paths(Path("Y.md")) == (Path("Y.json"), Path("Y.md"))


def test_auto_noise_with_the_noise_estimated_is_refused(tmp_path):
    """--estimate-noise told auto_noise nothing, so it ran as auto under another name."""
    import noise2x
    from noise2x.errors import UsageError

    with pytest.raises(UsageError, match="auto_noise is the no-option choice told the noise"):
        noise2x.bench(["auto", "auto_noise"], dataset=tmp_path, noise="gaussian:sigma=25", give_noise=False)


def test_a_trainable_methods_setting_in_another_form_names_the_one_that_works(tmp_path):
    """bench --methods gan --set method.feature_weight=0 said 'names method method, which is not benchmarked', and
    feature_weight=0 'valid options: gan: none': neither named the NAME.SECTION.KEY form that works."""
    import noise2x
    from noise2x.errors import UsageError

    for key in ("method.feature_weight", "feature_weight"):
        with pytest.raises(UsageError, match=r"takes training settings as NAME\.SECTION\.KEY, e\.g\. gan\.method"):
            noise2x.bench(["gan"], dataset=tmp_path, noise="gaussian:sigma=25", budget_minutes=0.01,
                          options={key: "0"})


def test_a_model_the_dataset_does_not_fit_stops_the_run_before_any_work(tmp_path, monkeypatch):
    """A colour model on a gray dataset: bm3d ran first, then the run failed and wrote nothing."""
    import noise2x
    from noise2x.checkpoint import save_model
    from noise2x.errors import InputError
    from noise2x.models import ScaledModel, build_model

    args = dict(in_channels=3, depth=2, width=8)
    model = ScaledModel(build_model("unet", **args), arch="unet", arch_args=args, mean=[110.0] * 3, std=[60.0] * 3)
    path = save_model(tmp_path / "rgb.safetensors", model, metadata={"method": "supervised", "method_options": {}})
    data = tmp_path / "data"
    data.mkdir()
    yy, xx = np.mgrid[0:40, 0:48]
    noise2x.write_image(data / "a.png", 60 + 2 * xx + yy, kind="uint8")
    with pytest.raises(InputError, match=r"rgb\.safetensors on a\.png \(a corner of it, tried first\).*expects 3"):
        noise2x.bench(["bm3d", str(path)], dataset=data, noise="gaussian:sigma=25")


def test_model_rows_of_one_file_name_keep_apart(tmp_path):
    """Two runs' model files of one name (a/m.safetensors, b/m.safetensors) made two identical 'm' rows."""
    import shutil

    import noise2x
    from noise2x.pretrained import model_path

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(model_path("gray-gaussian"), tmp_path / sub / "m.safetensors")
    data = tmp_path / "data"
    data.mkdir()
    yy, xx = np.mgrid[0:40, 0:48]
    noise2x.write_image(data / "x.png", 60 + 2 * xx + yy, kind="uint8")
    a, b = str(tmp_path / "a" / "m.safetensors"), str(tmp_path / "b" / "m.safetensors")
    rows = noise2x.bench([a, b, "gray-gaussian"], dataset=data, noise="gaussian:sigma=25")
    assert [r["method"] for r in rows] == ["noisy", a, b, "gray-gaussian"]


def test_a_16bit_set_is_measured_in_its_units(tmp_path):
    """bench measured a 16-bit set against 255: -28 dB for its noisy input (the ML-researcher QA pass). It measures
    each file against its units' peak: the same set in 16 bits gives the 8-bit set's figures."""
    import tifffile

    rng = np.random.default_rng(1)
    (tmp_path / "b8").mkdir()
    (tmp_path / "b16").mkdir()
    for i in range(2):
        x = np.clip(np.cumsum(rng.normal(0, 6, (40, 48)), axis=1) + 128, 0, 255).round()
        Image.fromarray(x.astype(np.uint8)).save(tmp_path / "b8" / f"{i}.png")
        tifffile.imwrite(tmp_path / "b16" / f"{i}.tif", (x * 257).astype(np.uint16))
        (tmp_path / "b01").mkdir(exist_ok=True)  # float data in [0, 1] read +48 dB against 255 (the same pass)
        tifffile.imwrite(tmp_path / "b01" / f"{i}.tif", (x / 255).astype(np.float32))
    a = run_bench(["nlm"], dataset=tmp_path / "b8", noise="gaussian:sigma=20", warmup=False)
    b = run_bench(["nlm"], dataset=tmp_path / "b16", noise=f"gaussian:sigma={20 * 257}", warmup=False)
    c = run_bench(["nlm"], dataset=tmp_path / "b01", noise=f"gaussian:sigma={20 / 255}", warmup=False)
    assert a["data_range"] == 255 and b["data_range"] == 65535 and c["data_range"] == 1
    for ra, rb, rc in zip(a["rows"], b["rows"], c["rows"]):
        assert rb["psnr"] == pytest.approx(ra["psnr"], abs=0.05) and rb["psnr"] > 15, (ra, rb)
        assert rc["psnr"] == pytest.approx(ra["psnr"], abs=0.1), (ra, rc)
    # (the QA re-check) one pixel over 1 had its file measured against 255 beside the others' 1; a float set in
    # counts read negative PSNR: one peak for a float set, given where beyond 8-bit units
    one = tifffile.imread(tmp_path / "b01" / "1.tif")
    one[0, 0] = 1.02
    tifffile.imwrite(tmp_path / "b01" / "1.tif", one)
    d = run_bench(["nlm"], dataset=tmp_path / "b01", noise=f"gaussian:sigma={20 / 255}", warmup=False)
    assert d["data_range"] == 1 and d["rows"][0]["psnr"] == pytest.approx(c["rows"][0]["psnr"], abs=0.05)
    (tmp_path / "counts").mkdir()
    for i in range(2):
        tifffile.imwrite(tmp_path / "counts" / f"{i}.tif", (tifffile.imread(tmp_path / "b16" / f"{i}.tif")
                                                             / 257 * 16).astype(np.float32))
    with pytest.raises(UsageError, match=r"float images reach .* give the peak value .*--data-range"):
        run_bench(["nlm"], dataset=tmp_path / "counts", noise="gaussian:sigma=320", warmup=False)
    e = run_bench(["nlm"], dataset=tmp_path / "counts", noise="gaussian:sigma=320", warmup=False, data_range=4080)
    assert e["data_range"] == 4080 and e["rows"][0]["psnr"] == pytest.approx(a["rows"][0]["psnr"], abs=0.05)
    with pytest.raises(UsageError, match="values reach .* beyond data_range 255"):  # (given too low)
        run_bench(["nlm"], dataset=tmp_path / "b16", noise="gaussian:sigma=20", warmup=False, data_range=255)
    with pytest.raises(UsageError, match="differs from the noise spec's data_range 1"):
        run_bench(["nlm"], dataset=tmp_path / "b01", noise="poisson:peak=30,data_range=1", warmup=False,
                  data_range=255)


def test_a_trained_rows_training_is_recorded(tiny_set, tmp_path, capsys):
    """bench's rows of methods it trained itself held the seconds only; PROTOCOL.md asks for the budget's steps and
    device (the ML-researcher QA pass), as a model file's row gives them."""
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    for name in ("a.png", "b.png"):
        (train_dir / name).write_bytes((tiny_set / name).read_bytes())
    result = run_bench(["noise2void"], dataset=tiny_set, noise="gaussian:sigma=25", budget_minutes=0.02,
                       train_data=train_dir, options={"noise2void.train.preset": "tiny",
                                                      "noise2void.data.resample_noise": "true"}, warmup=False)
    row = result["rows"][1]
    assert row["train_steps"] >= 1 and row["train_device"] == "cpu" and row["train_preset"] == "tiny"
    assert re.search(r"trained \d+ s on train \(\d+ steps, cpu, \d+ threads?, preset tiny\)", row["notes"]), row
    # PROTOCOL.md: noise re-drawn during training is said in the table; the overrides are the row's options (the
    # metrics QA pass: they were in neither)
    assert row["train_resample_noise"] is True and "training noise re-drawn each step" in row["notes"]
    assert row["options"] == {"train.preset": "tiny", "data.resample_noise": "true"}
    assert "train.preset=tiny, data.resample_noise=true" in row["notes"]
    # its run folder goes with the bench's temporary folder: no hint to repeat the run from it (a README QA pass)
    assert "to repeat this --minutes run" not in capsys.readouterr().err


def test_a_macs_cpu_is_named(monkeypatch):
    """platform.processor() names every Apple chip "arm": a bench result run on a Mac said only that (a
    portability QA pass). There the chip's name comes from sysctl."""
    import builtins
    import subprocess
    import sys

    from noise2x import benchmark

    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: (_ for _ in ()).throw(FileNotFoundError(path))
                        if str(path) == "/proc/cpuinfo" else real_open(path, *a, **k))
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(benchmark.platform, "processor", lambda: "arm")
    monkeypatch.setattr(subprocess, "run", lambda args, **k: subprocess.CompletedProcess(args, 0, "Apple M2 Pro\n", ""))
    assert benchmark._cpu_model() == "Apple M2 Pro"


def test_a_signed_set_needs_its_span_and_has_one_clip_range(tmp_path, monkeypatch):
    """A float set in [-1, 1] had its predictions clipped to [0, 2]: a denoiser read below the noisy input (the
    metrics QA pass). Such a set needs data_range (the span of its units), and its predictions are clipped from its
    lowest value on."""
    import tifffile

    rng = np.random.default_rng(2)
    (tmp_path / "s").mkdir()
    for i in range(2):
        x = np.clip(np.cumsum(rng.normal(0, 6, (40, 48)), axis=1) + 128, 0, 255) / 127.5 - 1.0
        tifffile.imwrite(tmp_path / "s" / f"{i}.tif", x.astype(np.float32))
    with pytest.raises(UsageError, match=r"negative values .* give the span .*--data-range.* 2 for data in \[-1, 1\]"):
        run_bench(["nlm"], dataset=tmp_path / "s", noise="gaussian:sigma=0.2", warmup=False)
    result = run_bench(["nlm"], dataset=tmp_path / "s", noise="gaussian:sigma=0.2", warmup=False, data_range=2)
    noisy_row, row = result["rows"]
    assert result["clip_range"][0] < -0.7 and row["psnr"] > noisy_row["psnr"] + 3, result["rows"]
    assert re.search(r"data with values below 0, measured against a range of 2: predictions clipped to \[-0\.7\d*, "
                     r"1\.2\d*\]", write_outputs(result, tmp_path / "b.json")[1].read_text())
    with pytest.raises(UsageError, match=r"values span -0.79.* to 0.58.*, beyond data_range 1: give the span"):
        run_bench(["nlm"], dataset=tmp_path / "s", noise="gaussian:sigma=0.2", warmup=False, data_range=1)
    # an image of the set with no negative value is clipped as the others: one range for the set
    from noise2x import api
    from noise2x.noise import parse_noise, protocol_noisy

    positive = np.abs(tifffile.imread(tmp_path / "s" / "0.tif"))
    tifffile.imwrite(tmp_path / "s" / "2.tif", positive)
    monkeypatch.setattr(api, "resolve_direct", lambda name: lambda noisy, *, noise=None: noisy - 0.3)
    shifted = run_bench(["shift"], dataset=tmp_path / "s", noise="gaussian:sigma=0.2", warmup=False, data_range=2)
    noisy = protocol_noisy(positive.astype(np.float64), parse_noise("gaussian:sigma=0.2"), index=2)
    expected = np.clip(noisy - 0.3, *shifted["clip_range"])
    assert np.count_nonzero(expected != noisy - 0.3) > 0
    assert shifted["rows"][1]["per_image"][2]["psnr"] == pytest.approx(psnr(positive, expected, data_range=2,
                                                                             clip=False))
    # percentile-normalised data, a little beyond [0, 1]: the range bench takes itself may be given too (the re-check)
    (tmp_path / "p").mkdir()
    for i in range(2):
        tifffile.imwrite(tmp_path / "p" / f"{i}.tif", (tifffile.imread(tmp_path / "s" / f"{i}.tif") + 0.9) * 0.8 - 0.1)
    auto = run_bench(["nlm"], dataset=tmp_path / "p", noise="gaussian:sigma=0.1", warmup=False)
    given = run_bench(["nlm"], dataset=tmp_path / "p", noise="gaussian:sigma=0.1", warmup=False, data_range=1)
    assert auto["data_range"] == given["data_range"] == 1 and auto["clip_range"] == given["clip_range"]
    assert auto["rows"][1]["psnr"] == pytest.approx(given["rows"][1]["psnr"])


def test_noise_given_is_said_of_the_rows_that_took_it(tiny_set):
    """Every row said noise_given true, the blind ones too (a shipped model, auto: the metrics QA pass): a reader
    could not tell BM3D given the true sigma from a blind model. Each row says whether its method took the noise."""
    result = run_bench(["nlm", "auto", "gray-gaussian-selfsup"], dataset=tiny_set, noise="gaussian:sigma=25",
                       limit=1, warmup=False)
    rows = {r["method"]: r for r in result["rows"][1:]}
    assert rows["nlm"]["noise_given"] is True and "noise not given" not in rows["nlm"]["notes"]
    for name in ("auto", "gray-gaussian-selfsup"):
        assert rows[name]["noise_given"] is False and "noise not given to the method" in rows[name]["notes"]
    assert "trained on gaussian:sigma=" in rows["gray-gaussian-selfsup"]["notes"]
    assert result["settings"]["noise_given"] is True


def test_a_16bit_set_of_narrow_values_is_said_once(tmp_path):
    """12-bit data in 16-bit files were scored against 65535 (58 dB for a noisy input of about 34 against 4095),
    unsaid (a medical-imaging QA pass): a note says it once, naming --data-range."""
    import tifffile

    from noise2x import api

    folder = tmp_path / "twelve"
    folder.mkdir()
    ramp = np.add.outer(np.arange(48.0), np.arange(40.0)) * 40
    for k in range(3):
        tifffile.imwrite(folder / f"{k}.tif", (ramp + 100 * k).astype(np.uint16))
    said = []
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=100", progress=said.append)
    notes = [line for line in said if "under a 16th of the 65535" in line]
    assert len(notes) == 1 and "--data-range 4095" in notes[0]
    said = []
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=100", data_range=4095, progress=said.append)
    assert not any("under a 16th" in line for line in said)


def test_a_float_set_of_narrow_values_is_said_once(tmp_path):
    """CT slices of -0.002 to 0.023 were scored against 1 (a noisy SSIM of 0.995), unsaid (a tomography QA pass):
    a note says it once, naming --data-range; float data in [0, 1] get none."""
    import tifffile

    from noise2x import api

    folder = tmp_path / "ct"
    folder.mkdir()
    ramp = np.add.outer(np.arange(48.0), np.arange(40.0)) / 86.0
    for k in range(2):
        tifffile.imwrite(folder / f"{k}.tif", (0.025 * ramp - 0.002 + 0.001 * k).astype(np.float32))
    said = []
    rows = api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002", progress=said.append)
    notes = [line for line in said if "under a 16th of the 1 " in line]
    # (kept in the report too, on its noisy row: on stderr alone it was lost, a re-check)
    assert notes[0].removeprefix("note: ") in rows[0]["notes"] and rows[0]["notes"].startswith("the noisy input")
    assert "under a 16th" in api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002")[0]["notes"]
    assert len(notes) == 1 and "values span 0.025 (-0.002 to 0.023)" in notes[0] and "give the span of" in notes[0]
    for k in range(2):  # (from 0 on: the peak, as --data-range is checked; the span was refused, a re-check)
        tifffile.imwrite(folder / f"{k}.tif", (0.03 * ramp + 0.18).astype(np.float32))
    said = []
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002", progress=said.append)
    note = next(line for line in said if "under a 16th of the 1 " in line)
    assert "give the peak of the data's units (--data-range, data_range= in Python; for this set, at least 0.21)" \
        in note, note
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002", data_range=0.21)
    tifffile.imwrite(folder / "1.tif", (0.02 * ramp + 0.3).astype(np.float32))  # (the set's bound, not one file's:
    said = []  # 0.21 was refused for the next file, a re-check)
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002", progress=said.append)
    assert "for this set, at least 0.32)" in next(line for line in said if "under a 16th" in line), said
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.002", data_range=0.32)
    for k in range(2):
        tifffile.imwrite(folder / f"{k}.tif", (ramp * 0.9 + 0.05 * k).astype(np.float32))
    said = []
    api.bench(["nlm"], dataset=folder, noise="gaussian:sigma=0.05", progress=said.append)
    assert not any("under a 16th" in line for line in said), said


def test_the_markdown_report_shows_an_infinite_psnr_as_the_table_does(tmp_path, capsys):
    """The report was written from the JSON's copy, whose inf is None: "-" where the printed table said inf (a
    locale re-check)."""
    from noise2x.cli import main
    from noise2x.io import write_image

    (tmp_path / "d").mkdir()
    write_image(tmp_path / "d" / "a.png", np.clip(np.random.default_rng(0).normal(120, 20, (32, 32)), 0, 255)
                .astype(np.uint8))
    assert main(["bench", "--methods", "nlm", "--dataset", str(tmp_path / "d"), "--noise", "gaussian:sigma=0",
                 "--out", str(tmp_path / "b.json"), "-q"]) == 0
    noisy_row = [line for line in (tmp_path / "b.md").read_text().splitlines() if line.startswith("| noisy |")]
    assert noisy_row and "| inf |" in noisy_row[0], noisy_row
