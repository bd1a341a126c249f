"""The pure helpers of the MASH calibration and zero-shot benchmark scripts (no training)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name):
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


def _flat_photos(folder, count):
    """``count`` flat 40x40 RGB files 00.png, 01.png, ... in ``folder``: pictures for scripts whose work is faked."""
    import numpy as np

    from noise2x.io import write_image

    for k in range(count):
        write_image(folder / f"{k:02d}.png", np.full((40, 40, 3), 0.5, dtype=np.float32))


def test_threshold_between_separated_levels_is_the_widest_midpoint():
    cal = _load("mash_calibration")
    found = cal.best_threshold([0.02, 0.05, 0.07], [0.13, 0.15])
    assert found == {"threshold": 0.1, "misread": 0, "of": 5}


def test_threshold_with_overlap_misreads_the_fewest():
    cal = _load("mash_calibration")
    lower, upper = [0.10, 0.12, 0.30], [0.20, 0.25, 0.40, 0.45]
    found = cal.best_threshold(lower, upper)
    assert found["misread"] == 1                      # only the outlier 0.30 (no cut does better)
    assert 0.12 < found["threshold"] < 0.20           # the widest of the one-error intervals
    # two one-error cuts (0.15, width 0.1; 0.40, width 0.2): the wider interval wins
    assert cal.best_threshold([0.1, 0.3], [0.2, 0.5]) == {"threshold": 0.4, "misread": 1, "of": 4}
    with pytest.raises(ValueError):
        cal.best_threshold([0.1], [0.1])


def test_thresholds_reject_a_file_without_probes(tmp_path):
    cal = _load("mash_calibration")
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="no probes"):
        cal.thresholds([bad])
    assert cal.main(["--thresholds", str(tmp_path / "missing.json")]) == 2
    # probes at two noise levels are not pooled (a file from before --sigma holds sigma 25)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"probes": [{"beta": b, "gap": g} for b, g in ((0, 0.01), (0.5, 0.1), (1, 0.3))]}))
    low = tmp_path / "s10.json"
    low.write_text(json.dumps({"probes": [{"beta": b, "gap": g, "sigma": 10} for b, g in ((0, 0.1), (0.5, 0.2))]}))
    assert cal.thresholds([old])["eps_high"]["threshold"] == 0.2
    with pytest.raises(ValueError, match="several noise levels"):
        cal.thresholds([old, low])
    assert cal.main(["--thresholds", str(old), str(low)]) == 2


def test_seed_means_include_the_table_seed():
    bench = _load("zeroshot_bench")
    spec = "correlated:sigma=25,beta=0.5"
    result = {
        "table": {spec: {"mash": [{"file": "a", "psnr": 24.0}, {"file": "b", "psnr": 22.0}],
                         "mash_ratio_0.5": [{"file": "a", "psnr": 23.0}, {"file": "b", "psnr": 23.0}]}},
        "seeds": {spec: [{"file": "a", "mash": {"psnr": 22.0}, "mash_ratio_0.5": {"psnr": 23.0}},
                         {"file": "b", "mash": {"psnr": 22.0}, "mash_ratio_0.5": {"psnr": 24.0}}]},
    }
    m = bench.seed_means(result, spec)
    assert m["crops"]["a"] == {"mash": 23.0, "mash_ratio_0.5": 23.0, "n": 2}
    assert m["crops"]["b"] == {"mash": 22.0, "mash_ratio_0.5": 23.5, "n": 2}
    assert m["wins"] == 0 and m["mean"] == {"mash": 22.5, "mash_ratio_0.5": 23.25}


def test_forced_ratios_must_lie_strictly_between_0_and_1(tmp_path, capsys):
    cal = _load("mash_calibration")
    for bad in ("0,0.5", "0.5,1", "x", ","):
        assert cal.main(["--ratios", bad, "--dataset", str(tmp_path)]) == 2
        assert "--ratios needs numbers strictly between 0 and 1" in capsys.readouterr().err


def test_presets_blocks_keep_their_own_command():
    bench = _load("zeroshot_bench")
    row = {"file": "a.png", "noisy": 20.0, "cpu": {"psnr": 27.0, "seconds": 50.0},
           "paper": {"psnr": 28.0, "seconds": 200.0}}
    meta = {"commands": {"presets": "old zs_n2n command"}, "dates": {"presets": "2026-11-30"},
            "cpus": {"presets": "CPU A"}, "wall": {"presets": 540.0}}
    result = {"presets": {"zs_n2n": {"noise": "gaussian:sigma=25", "rows": [row]}}}
    bench.stamp_presets(result, meta)
    assert result["presets"]["zs_n2n"]["command"] == "old zs_n2n command"
    result["presets"]["mash"] = {"noise": "correlated:sigma=25,beta=1", "rows": [row], "command": "new mash command",
                                 "date": "2026-12-01", "cpu": "CPU B", "wall_s": 3000.0}
    meta["commands"]["presets"] = "new mash command"
    result["meta"] = {**meta, "date": "2026-12-01", "machine": {}, "images": 1, "size": 256, "torch_threads": 2,
                      "zs_n2n_cpu": "zs", "mash_cpu": "mash"}
    text = bench.markdown(result)
    assert "- zs_n2n: `old zs_n2n command` (run on 2026-11-30 (CPU A), wall time 9 min)" in text
    assert "- mash: `new mash command` (run on 2026-12-01 (CPU B), wall time 50 min)" in text


def test_correlation_threshold_pick_counts_both_kinds_of_misread():
    cal = _load("correlation_calibration")
    betas = {"gaussian:sigma=5": [0.1, 0.32, 0.5], "correlated:sigma=10,beta=0.5": [0.33, 0.6, 0.9]}
    assert cal.misread(betas, 0.3) == {"gaussian:sigma=5": 2, "correlated:sigma=10,beta=0.5": 0}
    assert cal.misread(betas, 0.4) == {"gaussian:sigma=5": 1, "correlated:sigma=10,beta=0.5": 1}
    chosen, totals = cal.pick_threshold(betas)
    assert [totals[t] for t in cal.THRESHOLDS] == [2, 2, 2, 2, 1, 1, 2]  # 0.30, 0.35, ..., 0.60
    assert chosen == 0.5  # the lowest of the thresholds with the fewest misreads


def test_table_mean_over_noises_only_for_methods_with_every_noise():
    bench = _load("zeroshot_bench")
    rows = lambda *p: [{"file": f"{i}.png", "psnr": v, "ssim": 0.5, "seconds": 10.0} for i, v in enumerate(p)]
    table = {"gaussian:sigma=25": {"noisy": rows(20.0, 20.0), "mash": rows(27.0, 29.0),
                                   "mash_ratio_0.5": rows(25.0, 25.0)},
             "correlated:sigma=25,beta=1": {"noisy": rows(20.0, 20.0), "mash": rows(22.0, 22.0)}}  # no fixed ratio
    for spec in table:
        for r in table[spec]["mash"]:
            r.update(level="low", gap=0.1, probe_std_all={"0.2": 20.0, "0.8": 21.0})
    meta = {"commands": {"table": "cmd"}, "dates": {}, "cpus": {}, "wall": {"table": 60.0}, "date": "2026-12-01",
            "machine": {}, "images": 2, "size": 256, "torch_threads": 2, "zs_n2n_cpu": "zs", "mash_cpu": "mash"}
    text = bench.markdown({"meta": meta, "table": table})
    assert "| mean of the noises PSNR | s / image |" in text
    assert "| **MASH** | 28.00 / 0.5000 | 22.00 / 0.5000 | 25.00 | 10 |" in text
    assert "| MASH, fixed ratio 0.5 (no probe, no shuffling) | 25.00 / 0.5000 | – | – | 10 |" in text


def test_presets_wall_time_is_measured_per_method(tmp_path, monkeypatch):
    import time

    import numpy as np

    from noise2x.io import write_image

    bench = _load("zeroshot_bench")
    path = tmp_path / "a.png"
    write_image(path, np.full((20, 20, 3), 0.5, dtype=np.float32))

    def fake(delay):
        def run(noisy, *, rng, preset):
            time.sleep(delay)
            return noisy
        return run

    monkeypatch.setattr(bench, "mash", fake(0.5))
    monkeypatch.setattr(bench, "zs_n2n", fake(0.02))
    out = bench.run_presets([path], size=16)
    assert set(out) == {"mash", "zs_n2n"}
    # upper bounds with room for a loaded machine, each below what the wrong attribution would give
    assert 1.0 <= out["mash"]["wall_s"] < 2.5      # cpu + paper runs of the slow method only
    assert 0.04 <= out["zs_n2n"]["wall_s"] < 0.9   # not the whole run's time (>= 1.04 s)
    assert out["zs_n2n"]["rows"][0]["cpu"]["seconds"] < 0.45   # not the slow method's (0.5 s)


def test_presets_can_rerun_the_cpu_preset_alone_and_keep_the_paper_rows(tmp_path, monkeypatch):
    import numpy as np

    from noise2x.io import write_image

    bench = _load("zeroshot_bench")
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, np.full((20, 20, 3), 0.5, dtype=np.float32))
    files = sorted(tmp_path.glob("*.png"))
    presets_run = []

    def fake(noisy, *, rng, preset):
        presets_run.append(preset)
        return noisy

    monkeypatch.setattr(bench, "mash", fake)
    paper = {"psnr": 21.0, "ssim": 0.5, "seconds": 1400.0}
    earlier = {"mash": {"noise": "correlated:sigma=25,beta=1", "command": "old mash command", "date": "2026-11-30",
                        "cpu": "CPU A", "wall_s": 3060.0,
                        "rows": [{"file": f.name, "noisy": 20.0, "cpu": {"psnr": 1.0, "ssim": 0.1, "seconds": 1.0},
                                  "paper": dict(paper, psnr=21.0 + k)} for k, f in enumerate(files)]}}
    out = bench.run_presets(files, size=16, methods=("mash",), settings=("cpu",), earlier=earlier)
    assert presets_run == ["cpu", "cpu"]                                    # the paper settings did not run
    rows = out["mash"]["rows"]
    assert [r["paper"]["psnr"] for r in rows] == [21.0, 22.0]               # kept, per file
    assert all(r["cpu"]["psnr"] != 1.0 for r in rows)                       # re-run, not kept
    assert out["mash"]["kept"] == {"paper": {"command": "old mash command", "date": "2026-11-30", "cpu": "CPU A",
                                             "wall_s": 3060.0}}
    block = dict(out["mash"], command="new mash command", date="2026-12-01", cpu="CPU B")
    meta = {"commands": {"presets": "new mash command"}, "dates": {}, "cpus": {}, "wall": {}, "date": "2026-12-01",
            "machine": {}, "images": 2, "size": 256, "torch_threads": 2, "zs_n2n_cpu": "zs", "mash_cpu": "mash"}
    text = bench.markdown({"meta": meta, "presets": {"mash": block}})
    assert ("; its paper settings column is kept from `old mash command` (run on 2026-11-30 (CPU A), "
            "wall time 51 min)") in text
    assert "| mash | `correlated:sigma=25,beta=1` | 2 | " in text and " | 21.50 (1400) |" in text
    # kept twice: the first run's stamp stays
    again = bench.run_presets(files, size=16, methods=("mash",), settings=("cpu",), earlier={"mash": block})
    assert again["mash"]["kept"]["paper"]["command"] == "old mash command"
    # nothing to keep: a clear error, not a silent gap
    with pytest.raises(ValueError, match="no earlier paper row of mash for a.png, b.png"):
        bench.run_presets(files, size=16, methods=("mash",), settings=("cpu",), earlier={})
    with pytest.raises(ValueError, match="no earlier paper row"):
        bench.run_presets(files, size=16, methods=("mash",), settings=("cpu",),
                          earlier={"mash": dict(earlier["mash"], noise="gaussian:sigma=25")})


def test_cli_time_runs_the_cli_on_the_tables_input(tmp_path, monkeypatch):
    import json
    import subprocess
    import time

    import numpy as np

    from noise2x.io import read_image, write_image
    from noise2x.noise import protocol_noisy

    timer = _load("zeroshot_cli_time")
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):                     # b.png is index 1 in sorted order
        write_image(tmp_path / name, rng.integers(0, 256, (40, 48, 3)).astype(np.uint8))
    seen = []

    def fake_run(cmd, **kwargs):
        if Path(cmd[0]).name != "noise2x":
            return subprocess.CompletedProcess(cmd, 0, stdout="channels_last: zs_n2n step 0.04 s\n")
        seen.append((cmd, read_image(cmd[4])))
        time.sleep(0.6 if len(seen) == 1 else 0.02)             # a long run, then a short one
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(timer.subprocess, "run", fake_run)
    out = tmp_path / "t.json"
    assert timer.main(["--dataset", str(tmp_path), "--image", "b.png", "--size", "32", "--runs", "2",
                       "--out", str(out)]) == 0
    crop = read_image(tmp_path / "b.png")[4:36, 8:40]
    want = np.clip(np.round(protocol_noisy(crop, "gaussian:sigma=25", index=1)), 0, 255)
    assert len(seen) == 2
    for cmd, given in seen:
        assert Path(cmd[0]).name == "noise2x" and cmd[1:4] == ["denoise", "--method", "zs_n2n"]
        np.testing.assert_array_equal(given, want)
    saved = json.loads(out.read_text())
    assert saved["index"] == 1 and saved["step_time_before"].startswith("channels_last")
    walls = saved["runs"]["zs_n2n"]["wall_s"]
    assert 0.6 <= walls[0] < 2.0 and 0.02 <= walls[1] < 0.5  # each run timed on its own, not from the first (>= 0.62)
    assert timer.main(["--dataset", str(tmp_path), "--image", "z.png"]) == 2


def test_mash_calibration_forced_trainings_take_grad_clip(tmp_path, monkeypatch, capsys):
    import json

    cal = _load("mash_calibration")
    _flat_photos(tmp_path, 13)
    calls = []

    def fake(noisy, *, rng, ratio, shuffle, grad_clip):
        calls.append((rng, ratio, grad_clip))
        return noisy

    monkeypatch.setattr(cal, "mash", fake)
    out = tmp_path / "c.json"
    common = ["--dataset", str(tmp_path), "--first", "12", "--images", "1", "--size", "32", "--probe-betas", "",
              "--ratios", "0.5"]
    assert cal.main(common + ["--out", str(out)]) == 0 and calls == [(12, 0.5, 0.0)]
    assert json.loads(out.read_text())["meta"]["grad_clip"] == 0
    assert cal.main(common + ["--grad-clip", "1"]) == 0 and calls[-1] == (12, 0.5, 1.0)
    assert cal.main(common + ["--grad-clip", "-1"]) == 2 and len(calls) == 2
    assert "error: --grad-clip must be >= 0" in capsys.readouterr().err


def test_mash_budget_trains_the_fixed_ratio_for_each_step_count(tmp_path, monkeypatch, capsys):
    import json

    import numpy as np

    from noise2x.io import write_image

    budget = _load("mash_budget")
    clips = []
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / name, np.full((40, 40, 3), 0.5, dtype=np.float32))
    calls = []

    def fake(noisy, *, rng, info=None, ratio=None, steps=None, grad_clip):
        calls.append((rng, ratio, steps))
        clips.append(grad_clip)
        if info is not None:
            info.update(level="medium", ratio=0.5)
        return noisy

    monkeypatch.setattr(budget, "mash", fake)
    out = tmp_path / "b.json"
    assert budget.main(["--dataset", str(tmp_path), "--first", "1", "--images", "2", "--size", "32",
                        "--steps", "30,70", "--with-mash", "--out", str(out)]) == 0
    assert calls == [(1, None, None), (1, 0.5, 30), (1, 0.5, 70), (2, None, None), (2, 0.5, 30), (2, 0.5, 70)]
    assert clips == [0.0] * 6
    result = json.loads(out.read_text())
    assert [r["file"] for r in result["rows"]] == ["b.png", "c.png"]
    assert set(result["summary"]) == {"mash", "ratio 0.5, 30 steps", "ratio 0.5, 70 steps"}
    assert result["meta"]["command"].startswith("python scripts/mash_budget.py --dataset")
    clips.clear()
    assert budget.main(["--dataset", str(tmp_path), "--first", "1", "--images", "1", "--size", "32",
                        "--steps", "30", "--grad-clip", "1"]) == 0 and clips == [1.0]
    assert budget.main(["--dataset", str(tmp_path), "--grad-clip", "nan"]) == 2 and clips == [1.0]
    assert budget.main(["--dataset", str(tmp_path), "--steps", "0"]) == 2
    assert budget.main(["--dataset", str(tmp_path / "none")]) == 2
    assert "error: dataset folder not found" in capsys.readouterr().err


def test_mash_grad_clip_runs_each_clip_on_calibration_crops_and_resumes(tmp_path, monkeypatch, capsys):
    import json

    script = _load("mash_grad_clip")
    _flat_photos(tmp_path, 14)
    calls = []

    def fake(noisy, *, rng, grad_clip, info):
        calls.append((rng, grad_clip))
        info.update(level="low" if grad_clip else "medium", gap=0.1)
        if grad_clip:
            info.update(clipped_steps=rng, max_grad_norm=3.0)
        return noisy * (0.9 if grad_clip else 1.1)   # clipping "helps": less error on this fake

    monkeypatch.setattr(script, "mash", fake)
    out = tmp_path / "g.json"
    argv = ["--dataset", str(tmp_path), "--first", "12", "--images", "2", "--size", "32",
            "--noises", "gaussian:sigma=25;correlated:sigma=25,beta=1", "--out", str(out)]
    assert script.main([*argv, "--clips", "0,1"]) == 0
    assert calls == [(12, 0.0), (12, 1.0), (13, 0.0), (13, 1.0)] * 2
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 8 and result["runs"][0]["command"].startswith("python scripts/mash_grad_clip.py")
    summary = result["summary"]["correlated:sigma=25,beta=1 | clip 1"]
    assert summary["crops"] == 2 and summary["levels"] == {"low": 2, "medium": 0, "high": 0}
    assert summary["gain_over_clip0"] > 0 and summary["gain_range"][0] > 0
    assert result["summary"]["gaussian:sigma=25 | clip 0"]["gain_over_clip0"] is None
    table = script.markdown(result).splitlines()
    assert len(table) == 2 + 4 and table[-1].startswith("| correlated:sigma=25,beta=1 | 1 | 2 | ")
    assert "| 0/2/0 | - |" in table[2] and "| 2/0/0 | 12, 13 |" in table[-1] and table[-1].count("+") == 3
    assert script.main(["--markdown", str(out)]) == 0 and script.main(["--markdown", str(tmp_path / "x")]) == 2
    calls.clear()                                    # a re-run only adds what the JSON lacks
    assert script.main([*argv, "--clips", "0,1,2"]) == 0
    assert calls == [(12, 2.0), (13, 2.0)] * 2 and len(json.loads(out.read_text())["runs"]) == 12
    calls.clear()
    for bad in (["--first", "3"], ["--clips", "-1"], ["--clips", "nan"], ["--clips", "inf"], ["--noises", ";"]):
        assert script.main(["--dataset", str(tmp_path), "--first", "12", "--images", "1", *bad]) == 2
    (tmp_path / "other.json").write_text("[1]")
    assert script.main(["--dataset", str(tmp_path), "--first", "12", "--out", str(tmp_path / "other.json")]) == 2
    assert "not this script's JSON" in capsys.readouterr().err and calls == []


def test_zeroshot_units_hands_each_method_the_picture_in_each_units(tmp_path, monkeypatch, capsys):
    import json

    import numpy as np

    from noise2x.io import write_image

    script = _load("zeroshot_units")
    for i in range(14):
        write_image(tmp_path / f"{i:02d}.png", np.full((40, 40, 3), 100 + i, dtype=np.uint8))
    seen = []

    def fake(method, noisy, *, rng, info):
        seen.append((method, rng, float(np.median(noisy))))
        info["units"] = {"offset": 0.0, "scale": 1.0}
        return noisy

    monkeypatch.setattr(script, "call_direct", fake)
    out = tmp_path / "u.json"
    assert script.main(["--dataset", str(tmp_path), "--index", "13", "--size", "32", "--methods", "zs_n2n",
                        "--units", "8-bit,0..1,16-bit", "--out", str(out)]) == 0
    medians = [m for _, _, m in seen]
    assert [s[:2] for s in seen] == [("zs_n2n", 13)] * 3
    assert medians[1] == pytest.approx(medians[0] / 255, rel=0.05) and medians[2] == pytest.approx(medians[0] * 257, rel=0.05)
    result = json.loads(out.read_text())
    assert [r["units"] for r in result["runs"]] == ["8-bit", "0..1", "16-bit"]
    # the result is divided by the factor again: the identity "method" gives the noisy PSNR in every units
    assert all(r["psnr"] == pytest.approx(result["runs"][0]["psnr"]) for r in result["runs"])
    assert result["meta"]["command"].startswith("python scripts/zeroshot_units.py --dataset")
    assert script.main(["--markdown", str(out)]) == 0 and "| zs_n2n | 16-bit |" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    assert script.main(["--dataset", str(tmp_path), "--index", "13", "--units", "32-bit", "--out", str(bad)]) == 2
    assert script.main(["--dataset", str(tmp_path), "--index", "3", "--out", str(bad)]) == 2    # a test crop
    assert not bad.exists() and "error:" in capsys.readouterr().err


def test_rni15_grid_writes_the_grid_and_its_record(tmp_path, monkeypatch, capsys):
    import json

    import numpy as np

    from noise2x.io import write_image

    grid = _load("rni15_grid")
    for name in ("A.png", "B.png"):
        write_image(tmp_path / name, np.full((40, 50, 3), 90, dtype=np.uint8))

    def fake_mash(noisy, *, rng, info, progress):
        info.update(level="medium", ratio=0.5, gap=0.2, shuffled=False)
        return noisy

    drawn = []
    monkeypatch.setattr(grid, "mash", fake_mash)
    monkeypatch.setattr(grid, "zs_n2n", lambda noisy, *, rng: noisy)
    monkeypatch.setattr(grid, "bm3d", lambda noisy, *, info: info.update(sigma=3.0) or noisy)
    monkeypatch.setattr(grid, "picture_grid", lambda rows, captions, out: drawn.append((len(rows), captions)))
    out = tmp_path / "g.png"
    assert grid.main(["--data", str(tmp_path), "--images", "A.png,B.png", "--size", "32", "--out", str(out)]) == 0
    assert drawn[0][0] == 2 and drawn[0][1][1] == ["B.png (noisy)", "MASH medium, ratio 0.5", "ZS-N2N",
                                                   "BM3D sigma 3.0 (est.)"]
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["command"].startswith("python scripts/rni15_grid.py --data")
    assert [r["file"] for r in record["rows"]] == ["A.png", "B.png"] and record["rows"][0]["shape"] == [32, 32, 3]
    assert grid.main(["--data", str(tmp_path), "--images", "A.png,C.png", "--out", str(tmp_path / "h.png")]) == 2
    assert "error: no such image" in capsys.readouterr().err and not (tmp_path / "h.json").exists()


def test_zeroshot_large_runs_its_parts_and_writes_their_tables(tmp_path, monkeypatch, capsys):
    import json

    import numpy as np

    from noise2x.io import write_image

    script = _load("zeroshot_large")
    for i in range(8):
        shape = (30, 40, 3) if i % 2 == 0 else (40, 30, 3)       # portrait images are turned for the probe
        write_image(tmp_path / f"{i:02d}.png", np.full(shape, 60 + 10 * i, dtype=np.uint8))
    calls = []

    def fake_zs(noisy, *, rng, tile, info):
        calls.append(("zs", rng, tile))
        info["tile"] = 64 if tile is None else tile
        return noisy

    def fake_probe(noisy, *, rng, probe_window):
        calls.append(("probe", noisy.shape, probe_window))
        return {"level": "low" if probe_window is None else "medium", "gap": 0.1}

    monkeypatch.setattr(script, "zs_n2n", fake_zs)
    monkeypatch.setattr(script, "probe_correlation", fake_probe)
    out = tmp_path / "large.json"
    assert script.main(["--parts", "tiles,probe", "--dataset", str(tmp_path), "--images", "2",
                        "--probe-images", "2", "--betas", "0,1", "--out", str(out)]) == 0
    assert calls[:4] == [("zs", 0, None), ("zs", 0, 0), ("zs", 1, None), ("zs", 1, 0)]
    assert calls[4:] == [("probe", (30, 40, 3), w) for _ in range(4) for w in (None, 0)]
    result = json.loads(out.read_text())
    assert result["tiles"]["command"].startswith("python scripts/zeroshot_large.py --parts tiles,probe")
    assert [r["file"] for r in result["tiles"]["rows"]] == ["00.png", "01.png"]
    assert [r["noise"] for r in result["probe"]["rows"]] == ["correlated:sigma=25,beta=0",
                                                             "correlated:sigma=25,beta=1"] * 2
    assert [r["file"] for r in result["probe"]["rows"]] == ["00.png", "00.png", "01.png", "01.png"]
    capsys.readouterr()
    assert script.main(["--show", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| 00.png | 30x40 |" in text
    calls.clear()
    assert script.main(["--parts", "probe", "--dataset", str(tmp_path), "--probe-images", "1", "--betas", "1",
                        "--probe-scale", "2", "--out", str(tmp_path / "big.json")]) == 0
    assert calls == [("probe", (60, 80, 3), None), ("probe", (60, 80, 3), 0)]      # enlarged twice
    calls.clear()
    assert script.main(["--parts", "mosaic", "--dataset", str(tmp_path), "--mosaic-betas", "0,0.5",
                        "--out", str(tmp_path / "mosaic.json")]) == 0
    assert calls == [("probe", (60, 80, 3), w) for _ in range(2) for w in (None, 0)]   # four 30x40 images
    mosaic_rows = json.loads((tmp_path / "mosaic.json").read_text())["mosaic"]["rows"]
    assert [r["file"] for r in mosaic_rows] == ["00+01+02+03"] * 2
    # the fake reads low with the window and medium with the whole image: right at beta 0 only, and never
    assert "Centre window: right level (low at beta 0, medium at 0.5, high at 1) on 2 of 4." in text
    assert "Whole image: right level (low at beta 0, medium at 0.5, high at 1) on 0 of 4." in text
    bad = tmp_path / "bad.json"
    assert script.main(["--parts", "tiles", "--dataset", str(tmp_path), "--images", "9", "--out", str(bad)]) == 2
    assert script.main(["--parts", "bogus", "--dataset", str(tmp_path), "--out", str(bad)]) == 2
    assert script.main(["--parts", "sizes", "--sizes", "3x", "--dataset", str(tmp_path), "--out", str(bad)]) == 2
    assert not bad.exists() and "error:" in capsys.readouterr().err
    assert script.parse_size("3000x4000") == (3000, 4000) and script.parse_size("256") == (256, 256)


def test_correlation_rgb_scores_both_readings(tmp_path):
    import numpy as np

    from noise2x.io import write_image

    cal = _load("correlation_calibration")
    yy, xx = np.mgrid[0:64, 0:64]
    for k in range(2):
        img = np.stack([90 + 60 * (xx > 32) + k * 10, 80 + 0.5 * yy, 120 + 40 * (yy > 20)], axis=-1)
        write_image(tmp_path / f"{k}.png", img.astype(np.uint8))

    class Serial:
        map = staticmethod(lambda fn, jobs: [fn(j) for j in jobs])

    specs = ["gaussian:sigma=10", "correlated:sigma=10,beta=1"]
    record, table = cal.run_rgb(tmp_path, specs, Serial(), 0.4)
    assert record["files"] == ["0.png", "1.png"]
    for key, wrong in (("betas_channel_mean", "misread_channel_mean"), ("betas_choice", "misread_choice")):
        assert record[wrong] == cal.misread(record[key], 0.4)
        assert all(len(v) == 2 for v in record[key].values())
    rows = table.splitlines()
    assert len(rows) == 2 + len(specs) and rows[2].startswith("| `gaussian:sigma=10` |")
    assert rows[2].endswith(f"| {record['misread_channel_mean'][specs[0]]}/2 | {record['misread_choice'][specs[0]]}/2 |")


def test_real_listing_prints_and_records_each_image(tmp_path, capsys):
    import numpy as np

    from noise2x.io import write_image

    cal = _load("correlation_calibration")
    for k in range(2):
        write_image(tmp_path / f"{k}.png", np.full((8, 8), 10 * k, dtype=np.uint8))

    class Serial:
        map = staticmethod(lambda fn, jobs: [fn(j) for j in jobs])

    record = cal._real_listing(tmp_path, lambda path: float(len(path) % 7) / 10, Serial(), "(real noise): a title")
    assert record["dataset"] == tmp_path.name and list(record["betas"]) == ["0.png", "1.png"]
    out = capsys.readouterr().out
    assert out.startswith(f"## {tmp_path.name} (real noise): a title\n")
    assert ", ".join(f"{k} {v:.2f}" for k, v in record["betas"].items()) in out


def test_zeroshot_large_sizes_runs_the_cli_with_and_without_a_method(tmp_path, monkeypatch, capsys):
    import json
    import shutil
    import subprocess

    import numpy as np

    from noise2x.io import write_image

    script = _load("zeroshot_large")
    for i in range(4):
        write_image(tmp_path / f"{i:02d}.png", np.full((30, 40, 3), 90 + i, dtype=np.uint8))
    commands = []
    real_run = subprocess.run

    envs = []

    def fake_run(cmd, **kwargs):
        if "denoise" not in cmd:  # anything else (e.g. the machine facts) runs as usual
            return real_run(cmd, **kwargs)
        commands.append(cmd)
        envs.append(kwargs.get("env"))
        shutil.copy(cmd[cmd.index("--out") - 1], cmd[cmd.index("--out") + 1])
        return subprocess.CompletedProcess(cmd, 0, stderr="")

    monkeypatch.setattr(script.subprocess, "run", fake_run)
    monkeypatch.setattr(script, "step_time", lambda: "fake")
    out = tmp_path / "sizes.json"
    assert script.main(["--parts", "sizes", "--sizes", "20x24", "--methods", "zs_n2n,auto", "--dataset",
                        str(tmp_path), "--out", str(out)]) == 0
    assert commands[0][1:4] == ["denoise", "--method", "zs_n2n"] and "--method" not in commands[1]
    capsys.readouterr()
    assert script.main(["--show", str(out)]) == 0
    assert "`noise2x denoise --method M` (auto: no options) end to end" in capsys.readouterr().out
    rows = json.loads(out.read_text())["sizes"]["rows"]
    assert [(r["size"], r["method"], r["noise"]) for r in rows] == [("20x24", "zs_n2n", "gaussian:sigma=25"),
                                                                      ("20x24", "auto", "gaussian:sigma=25")]
    commands.clear()
    assert script.main(["--parts", "sizes", "--sizes", "20x24", "--methods", "auto,auto-bf16", "--dataset",
                        str(tmp_path), "--out", str(out)]) == 0
    assert "--precision" not in commands[0] and commands[1][1:4] == ["denoise", "--precision", "bf16"]
    commands.clear()
    envs.clear()
    monkeypatch.delenv("THP_MEM_ALLOC_ENABLE", raising=False)
    assert script.main(["--parts", "sizes", "--sizes", "20x24", "--methods", "mash-nothp,mash", "--dataset",
                        str(tmp_path), "--out", str(out)]) == 0
    assert [c[1:4] for c in commands] == [["denoise", "--method", "mash"]] * 2
    assert envs[0]["THP_MEM_ALLOC_ENABLE"] == "0" and "THP_MEM_ALLOC_ENABLE" not in envs[1]
    rows = json.loads(out.read_text())["sizes"]["rows"]
    assert [(r["method"], r["noise"]) for r in rows] == [("mash-nothp", "correlated:sigma=25,beta=1"),
                                                          ("mash", "correlated:sigma=25,beta=1")]
    capsys.readouterr()
    assert script.main(["--show", str(out)]) == 0
    assert "(M-nothp: the same with `THP_MEM_ALLOC_ENABLE=0`, huge pages off)" in capsys.readouterr().out
    assert script.main(["--parts", "sizes", "--methods", "bm3d-nothp", "--out", str(out)]) == 2


def test_bench_diff_compares_methods_image_by_image():
    script = _load("bench_diff")

    def result(psnrs, seconds):
        per_image = [{"file": f"{i}.png", "psnr": p} for i, p in enumerate(psnrs)]
        return {"dataset": "../shared/data/bsd68", "noise": "gaussian:sigma=25",
                "rows": [{"method": "noisy", "psnr": 20.0, "ssim": 0.4, "per_image": per_image},
                         {"method": "auto", "psnr": sum(psnrs) / len(psnrs), "ssim": 0.8,
                          "seconds_per_image": seconds, "per_image": per_image}]}

    rows = script.compare(result([30.0, 28.0, 29.0], 2.0), result([30.5, 27.0, 29.0], 1.0))
    assert rows == ["| auto | bsd68, gaussian:sigma=25 | 3 | 29.0000 / 0.8000 | 28.8333 / 0.8000 | -0.1667 | "
                    "-1.0000 | 1 | 2.000 | 1.000 |"]
    rows = script.compare(result([30.0, 28.0, 29.0], 2.0), result([30.5, 27.8, 29.0], 1.0), worst=True)
    assert rows == ["| auto | bsd68, gaussian:sigma=25 | 3 | 29.0000 / 0.8000 | 29.1000 / 0.8000 | +0.1000 | "
                    "+0.5000 | -0.2000 | 1 | 2.000 | 1.000 |"]


def test_alloc_probe_runs_each_setting_in_its_own_process(tmp_path, capsys):
    import json

    script = _load("alloc_probe")
    out = tmp_path / "probe.json"
    assert script.main(["--size", "32x48", "--count", "1", "--settings", "plain,thp", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["setting"] for r in result["rows"]] == ["plain", "thp"]
    # the allocator setting changes no arithmetic
    assert result["rows"][0]["output_sum"] == result["rows"][1]["output_sum"]
    capsys.readouterr()
    assert script.main(["--show", str(out)]) == 0
    assert "| thp |" in capsys.readouterr().out
    assert script.main(["--settings", "fast", "--out", str(out)]) == 2


def test_mash_or_model_table(tmp_path):
    script = _load("mash_or_model")
    row = {"image": "a.png", "index": 0, "noise": "gaussian:sigma=5", "noisy": 34.1, "beta": 0.8, "model": 35.4,
           "mash": 27.36, "mash_level": "medium", "mash_s": 146.2, "model_s": 0.4}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"rows": [row, {**row, "image": "b.png", "mash": 36.0, "mash_s": 180.0}]}))
    lines = script.show(path).splitlines()
    assert lines[2] == "| a.png | `gaussian:sigma=5` | 0.80 | 34.10 | 35.40 | 27.36, medium | -8.04 |"
    assert lines[3].endswith("| 36.00, medium | +0.60 |")
    assert lines[-1] == "MASH took 146-180 s per image."
    assert script.main(["--show", str(path)]) == 0
    out = tmp_path / "new.json"
    for bad in (["--images", "a"], ["--noises", "gauss:s=1"], ["--images", "100000"], ["--dataset", "no-such-set"],
                ["--mash-set", "average"]):
        assert script.main([*bad, "--out", str(out)]) == 2, bad
    assert not out.exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    for bad in (["--show", str(broken)], ["--show", str(tmp_path / "missing.json")], ["--out", str(broken)]):
        assert script.main(bad) == 2, bad                                   # one line, no traceback
    assert broken.read_text() == "{"                                        # left as it was
    if script.DATA.joinpath("bsd68").is_dir():  # a results file keeps one set of MASH options
        assert script.main(["--mash-set", "average=hidden", "--out", str(path)]) == 2


def test_probe_anatomy_splits_each_residual_into_noise_and_lost_signal(tmp_path, monkeypatch, capsys):
    import numpy as np

    from noise2x.io import write_image

    anat = _load("mash_probe_anatomy")
    real_config, real_train = anat.M._config, anat.M._train
    monkeypatch.setattr(anat.M, "_config", lambda preset, o: {**real_config(preset, o), "predictions": 2, "width": 8})
    masks, steps = [], []

    def spy_train(*a, per_pixel=False, **k):
        masks.append(per_pixel)
        steps.append(k["steps"])
        return real_train(*a, per_pixel=per_pixel, **k)

    monkeypatch.setattr(anat.M, "_train", spy_train)
    rng = np.random.default_rng(0)
    for name in [f"{i:02d}.png" for i in range(13)]:
        write_image(tmp_path / name, rng.uniform(50, 200, (24, 24, 3)).astype(np.float32))
    out = tmp_path / "a.json"
    assert anat.main(["--dataset", str(tmp_path), "--first", "12", "--images", "1", "--size", "16",
                      "--sigmas", "25", "--betas", "0", "--mask", "pixel", "--probe-steps", "3",
                      "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    row, = saved["rows"]
    assert masks == [True, True] and steps == [3, 3] and saved["meta"]["probe_steps"] == 3
    assert row["file"] == "12.png" and row["sigma"] == 25 and row["beta"] == 0
    assert 15 < row["noise"] < 35                       # sigma 25 in 8-bit units, over one 8x8 tile or more
    for key in ("low", "high"):       # each residual is split over the same region as its std is measured on
        assert row[f"std_{key}"] ** 2 == pytest.approx((1 - row[f"kept_noise_{key}"]) ** 2 * row["noise"] ** 2
                                                       + row[f"lost_{key}"] ** 2, rel=1e-9)
    assert row["signed_gap"] == pytest.approx((row["std_high"] - row["std_low"]) / max(row["std_low"],
                                                                                       row["std_high"]))
    assert "| 12.png | pixel | 25 | 0 |" in capsys.readouterr().out
    assert anat.main(["--sigmas", "-1"]) == 2
    assert anat.main(["--probe-steps", "0"]) == 2
    assert anat.main(["--show", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "bad.json").write_text('{"rows": [{"x": 1}], "meta": {"mask": "entry"}}')
    capsys.readouterr()
    assert anat.main(["--summary", "--show", str(tmp_path / "bad.json")]) == 2
    assert "lacks the field 'sigma'" in capsys.readouterr().err


def test_probe_anatomy_split_error_finds_the_noise_kept_and_the_rest():
    import numpy as np

    anat = _load("mash_probe_anatomy")
    rng = np.random.default_rng(3)
    clean = rng.uniform(50, 200, (64, 64))
    noise = rng.normal(0, 20, clean.shape)
    other = rng.normal(0, 5, clean.shape)                  # independent of the noise
    k, rest = anat.split_error(clean, clean + noise, clean + 0.3 * noise + other)
    assert k == pytest.approx(0.3, abs=0.02) and rest == pytest.approx(5, rel=0.05)
    residual = (clean + noise) - (clean + 0.3 * noise + other)
    assert residual.var() == pytest.approx((1 - k) ** 2 * noise.var() + rest ** 2, rel=1e-9)


def test_probe_ensemble_scores_mash_unchanged_with_its_probes(tmp_path, monkeypatch, capsys):
    import numpy as np

    from noise2x.io import write_image

    ens = _load("mash_probe_ensemble")
    real_config = ens.M._config
    monkeypatch.setattr(ens.M, "_config", lambda preset, o: {**real_config(preset, o), "predictions": 2, "width": 8,
                                                             "probe_steps": 3, "steps": 3, "crop": 8})
    rng = np.random.default_rng(0)
    for name in [f"{i:02d}.png" for i in range(13)]:
        write_image(tmp_path / name, rng.uniform(50, 200, (20, 20, 3)).astype(np.float32))
    noisy = rng.uniform(0, 255, (16, 16, 3))
    out, repeats, info = ens.mash_with_probes(noisy, rng=5)
    assert ens.M.probe_pair.__name__ == "probe_pair"                   # the spy is gone afterwards
    assert np.array_equal(out, ens.M.mash(noisy, rng=5))               # MASH itself, unchanged
    assert len(repeats) == info["probe_repeats"] == 2 and all(len(r) == 2 for r in repeats)
    assert all(e.shape == noisy.shape for r in repeats for e in r)
    path = tmp_path / "e.json"
    assert ens.main(["--dataset", str(tmp_path), "--first", "12", "--images", "1", "--size", "16",
                     "--betas", "0.5", "--weights", "1,0", "--out", str(path)]) == 0
    row, = json.loads(path.read_text())["rows"]
    assert row["file"] == "12.png" and row["beta"] == 0.5 and row["repeats"] == 2
    assert row["level"] in ("low", "medium", "high")
    assert row["mix"]["1"]["low"] == pytest.approx(row["out"]) and row["mix"]["0"]["high"] == pytest.approx(row["high"])
    assert "| 12.png | 0.5 |" in capsys.readouterr().out
    assert ens.main(["--betas", "2"]) == 2
    assert ens.main(["--weights", "x"]) == 2
    assert ens.main(["--first", "3"]) == 2
    assert ens.main(["--size", "300"]) == 2                            # the probe would see a window only
    assert ens.main(["--show", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "bad.json").write_text('{"rows": [{"mix": {}}], "meta": {}}')
    capsys.readouterr()
    assert ens.main(["--show", str(tmp_path / "bad.json")]) == 2
    assert "lacks the field" in capsys.readouterr().err


def test_probe_ensemble_score_finds_errors_that_cancel():
    import numpy as np

    ens = _load("mash_probe_ensemble")
    rng = np.random.default_rng(1)
    clean = rng.uniform(60, 190, (32, 32))
    a, b = rng.normal(0, 10, clean.shape), rng.normal(0, 10, clean.shape)
    row = ens.score(clean, clean + a, clean - a, clean + b, [0.5])
    assert row["corr_low"] == pytest.approx(-1) and abs(row["corr_high"]) < 0.15
    assert row["mix"]["0.5"]["low"] > 90                               # the two errors cancel exactly
    assert row["oracle_weights"] == pytest.approx([0.5, 0.5, 0], abs=1e-6) and row["oracle"] > 90
    assert row["out"] == pytest.approx(row["low"], abs=1e-9)
    noise, other = rng.normal(0, 20, clean.shape), rng.normal(0, 4, clean.shape)
    split = ens.score(clean, clean + 0.3 * noise + other, clean + noise, clean + b, [0.5], clean + noise)
    assert split["kept_noise_out"] == pytest.approx(0.3, abs=0.03) and split["rest_out"] == pytest.approx(4, rel=0.1)
    assert split["kept_noise_low"] == pytest.approx(1) and split["rest_low"] == pytest.approx(0, abs=1e-9)


def test_shot_threshold_runs_both_routes_and_scores_each_threshold(tmp_path, monkeypatch, capsys):
    """shot_threshold_calibration: each image through both routes (the threshold forced to 0 and to infinity,
    then restored), and per threshold the loss against the better route per image."""
    import numpy as np

    from noise2x import api, pretrained
    from noise2x.io import write_image

    cal = _load("shot_threshold_calibration")
    yy, xx = np.mgrid[0:48, 0:48]
    write_image(tmp_path / "a.png", (40 + 3 * xx + yy).astype(np.uint8))
    seen = []

    def fake_denoise(noisy, info):  # the route the forced threshold picks, and a fake PSNR through the output
        poisson = pretrained.SHOT_DOMINATES == 0 and pretrained.SHOT_DOMINATES_GRAY == 0
        seen.append(poisson)
        info.update({"estimated_poisson_a": 1.0, "estimated_poisson_b": float(np.mean(noisy)), "auto": str(poisson)})
        return noisy if poisson else np.clip(noisy, 0, 255) * 0 + 1000  # the Poisson route wins here

    monkeypatch.setattr(api, "denoise", fake_denoise)
    kept = pretrained.SHOT_DOMINATES, pretrained.SHOT_DOMINATES_GRAY
    rows = cal.measure([("g", tmp_path, [0])], ["poisson:peak=30"])
    assert (pretrained.SHOT_DOMINATES, pretrained.SHOT_DOMINATES_GRAY) == kept and seen == [True, False]
    (row,) = rows
    assert row["ratio"] == pytest.approx(1.0) and row["channels"] == 1 and row["poisson"] > row["gaussian"]
    assert cal._pick(row, 0.5) == row["poisson"] and cal._pick(row, 2.0) == row["gaussian"]
    cal.show({"rows": rows}, 0.5, 2.0)
    out = capsys.readouterr().out
    loss = row["gaussian"] - row["poisson"]
    assert "| 0.5 | 0.000 |" in out and f"| 2 | {loss:.3f} |" in out and "(1 of 1) |" in out


def test_pg_route_offset_column_takes_the_transforms_offset_away(tmp_path, capsys):
    """pg_route_calibration --offset-route: the candidate transform route (f(0) taken away before the model)
    is recorded beside the others and shown; at peak 80, sigma 60 it is ahead of the transform as it is."""
    from conftest import data_dir

    cal = _load("pg_route_calibration")
    out = tmp_path / "pg.json"
    args = ["--gray", str(data_dir("train400")), "--gray-images", "20", "--rgb-images", "", "--peaks", "80",
            "--sigmas", "60", "--offset-route", "--out", str(out)]
    assert cal.main(args) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["transform_offset"] > row["transform"] + 0.3, row  # 26.15 against 25.34 dB
    assert "transform, offset taken away" in capsys.readouterr().out


def test_low_contrast_reading_scores_both_readings_where_the_gate_changes_one(tmp_path, monkeypatch, capsys):
    """low_contrast_reading: each image read with the slope gate and without it (restored after), the
    contrast scaled about the mean, and both denoisings scored only where the two readings differ."""
    import numpy as np

    from noise2x import api, pretrained
    from noise2x.io import write_image
    from noise2x.pretrained import Choice

    cal = _load("low_contrast_reading")
    yy, xx = np.mgrid[0:48, 0:48]
    write_image(tmp_path / "a.png", (40 + 3 * xx + yy).astype(np.uint8))
    gates, spans = [], []

    def fake_choose(noisy):  # Poisson without the gate only; the span tells the contrast
        gates.append(pretrained.SLOPE_SIGNIFICANCE)
        spans.append(float(np.ptp(noisy)))
        facts = {"poisson_a": 1.0, "poisson_a_stderr": 1.0, "poisson_b": 4.0}
        return Choice(None, "bm3d", "", 1.0, {**facts, "peak": 255.0} if gates[-1] == 0 else facts)

    def fake_denoise(noisy, info):  # the gated route is the better one here
        return noisy * 0 + np.mean(noisy) if pretrained.SLOPE_SIGNIFICANCE > 0 else noisy * 0

    monkeypatch.setattr(api, "choose_auto", fake_choose)
    monkeypatch.setattr(api, "denoise", fake_denoise)
    kept = pretrained.SLOPE_SIGNIFICANCE
    rows = cal.measure([("g", tmp_path, [0])], ["gaussian:sigma=0"], [1.0, 0.1], kept)
    assert pretrained.SLOPE_SIGNIFICANCE == kept and gates == [kept, 0.0, kept, 0.0]
    assert spans[2] == pytest.approx(0.1 * spans[0])  # the contrast scaled about the mean
    assert [r["reading"] for r in rows] == ["gaussian"] * 2 and [r["reading_without_gate"] for r in rows] == ["poisson"] * 2
    assert all(r["psnr"] > r["psnr_without_gate"] for r in rows)
    cal.show({"rows": rows, "meta": {"significance": kept}})
    out = capsys.readouterr().out
    assert "| g | 0.1 | `gaussian:sigma=0` | 1 | 1 / 0 | 1 |" in out and "(1/1 ahead)" in out


def test_shot_threshold_counts_no_ratio_where_the_slope_gate_refuses_poisson(tmp_path, monkeypatch):
    """A slope within SLOPE_SIGNIFICANCE standard errors of 0 gives no Poisson reading at any threshold, as in
    the package: the row has no ratio (its 'Poisson route' is the Gaussian one)."""
    import numpy as np

    from noise2x import api
    from noise2x.io import write_image

    cal = _load("shot_threshold_calibration")
    write_image(tmp_path / "a.png", np.full((48, 48), 100, np.uint8))

    def fake_denoise(noisy, info):
        info.update({"estimated_poisson_a": 1.0, "estimated_poisson_a_stderr": 1.0,
                     "estimated_poisson_b": 10.0, "auto": "x"})
        return noisy

    monkeypatch.setattr(api, "denoise", fake_denoise)
    (row,) = cal.measure([("g", tmp_path, [0])], ["gaussian:sigma=5"])
    assert row["ratio"] is None


def _run_check(tmp_path, name: str, image, noise: str) -> dict:
    """Run a check script on one image in a folder of its own: its record (rows, summary, meta)."""
    from noise2x.io import write_image

    (tmp_path / "data").mkdir()
    write_image(tmp_path / "data" / "a.png", image)
    out = tmp_path / f"{name}.json"
    assert _load(name).main(["--data", str(tmp_path / "data"), "--limit", "1", "--noises", noise,
                             "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["meta"]["command"].startswith(f"python scripts/{name}.py")
    return record


def test_cutout_check_reads_the_opaque_pixels_and_writes_its_record(tmp_path):
    import numpy as np

    yy, xx = np.mgrid[0:48, 0:72]
    clean = np.stack([60 + xx, 200 - yy, 90 + 0.5 * (xx + yy)], axis=-1).astype(np.uint8)  # no dark pixels
    (row,) = _run_check(tmp_path, "cutout_check", clean, "gaussian:sigma=3")["rows"]
    assert row["opaque"] > row["whole"] + 1.0, row  # read whole, the black fill passes for photon counts


def test_blanks_check_compares_the_fills_and_writes_its_record(tmp_path):
    import numpy as np

    yy, xx = np.mgrid[0:64, 0:96]
    record = _run_check(tmp_path, "blanks_check", 60 + xx + 40 * np.sin(yy / 6.0), "gaussian:sigma=15")
    (row,) = record["rows"]
    assert 0.15 < row["blank_fraction"] < 0.5, row
    assert row["blanks_border"] > max(row["edge_border"], row["zero_border"]) + 1.0, row  # the mirror fill
    assert record["summary"]["gaussian:sigma=15"]["blanks_ahead_of_edge"] == 1


def test_mash_steps_takes_the_baseline_checks_one_and_refuses_foreign_files(tmp_path, monkeypatch, capsys):
    import json

    script = _load("mash_steps")
    _flat_photos(tmp_path, 14)
    calls = []

    def fake(noisy, *, rng, steps, shuffle_at, info):
        calls.append((rng, steps, shuffle_at))
        info.update(level="medium", gap=0.2)
        return noisy * (0.95 if steps > 2000 else 1.05)   # more steps "help" on this fake

    monkeypatch.setattr(script, "mash", fake)
    noise = "gaussian:sigma=25"
    baseline = tmp_path / "clip.json"   # mash_grad_clip.py's runs: its clip 1 runs are the 2000-step ones
    base_runs = [{"noise": noise, "index": i, "clip": c, "psnr": 20.0 + c, "level": "low", "file": f"{i}.png"}
                 for i in (12, 13) for c in (0.0, 1.0)]
    baseline.write_text(json.dumps({"runs": base_runs}))
    out = tmp_path / "s.json"
    argv = ["--dataset", str(tmp_path), "--first", "12", "--images", "2", "--size", "32", "--noises", noise,
            "--steps", "4000", "--baseline", str(baseline), "--out", str(out)]
    assert script.main([*argv, "--check", "1"]) == 0
    assert calls == [(12, 2000, 500), (12, 4000, 1000), (13, 4000, 1000)]   # one baseline run checked first
    runs = json.loads(out.read_text())["runs"]
    assert sorted((r["index"], r["steps"]) for r in runs) == [(12, 2000), (12, 4000), (13, 2000), (13, 4000)]
    checked = [r for r in runs if r["steps"] == 2000 and "check_psnr" in r]
    assert len(checked) == 1 and checked[0]["index"] == 12 and checked[0]["psnr"] == 21.0
    assert "| gaussian:sigma=25 | 4000 | 2 |" in script.markdown({"runs": runs})
    calls.clear()
    assert script.main([*argv, "--check", "1"]) == 0 and calls == []         # a re-run adds nothing done
    (tmp_path / "other.json").write_text("[1]")
    for bad in (["--out", str(tmp_path / "other.json")], ["--baseline", str(tmp_path / "other.json")],
                ["--baseline", str(tmp_path / "missing.json")], ["--steps", "0"], ["--first", "3"]):
        assert script.main(["--dataset", str(tmp_path), "--first", "12", "--images", "1", *bad]) == 2
    err = capsys.readouterr().err
    assert "not this script's JSON; choose another --out" in err and "choose another --baseline" in err
    assert "--baseline" in err and "not found" in err and calls == []


def test_gpu_zeroshot_runs_its_parts_resumes_and_shows_them(tmp_path, capsys):
    """scripts/gpu_zeroshot.py end to end on the CPU (--quick: tiny trainings), a part resumed from an earlier
    JSON, the tables against the CPU's; a device that is not here is one error line."""
    import json

    import numpy as np

    from noise2x.io import write_image

    script = _load("gpu_zeroshot")
    (tmp_path / "cbsd68").mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        write_image(tmp_path / "cbsd68" / f"{k}.png", rng.integers(0, 255, (40, 48, 3)).astype(np.uint8))
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    base = ["--data", str(tmp_path), "--device", "cpu", "--quick", "--images", "1"]
    assert script.main([str(first), *base, "--parts", "table", "--methods", "zs_n2n",
                        "--noises", "gaussian:sigma=25"]) == 0
    rows = json.loads(first.read_text())["table"]
    assert [(r["method"], r["noise"], r["device"]) for r in rows] == [("zs_n2n", "gaussian:sigma=25", "cpu")]
    assert script.main([str(second), *base, "--parts", "table,gpu", "--methods", "zs_n2n", "--resume", str(first),
                        "--noises", "gaussian:sigma=25;correlated:sigma=25,beta=1"]) == 0
    result = json.loads(second.read_text())
    assert len(result["table"]) == 2 and result["table"][0] == rows[0]         # the earlier run kept, not re-run
    assert [r["method"] for r in result["gpu"]] == ["zs_n2n", "zs_n2n"] and len(result["meta"]["earlier"]) == 1
    cpu = tmp_path / "cpu.json"  # the CPU's zero-shot table, for the comparison columns
    cpu.write_text(json.dumps({"table": {"gaussian:sigma=25": {"zs_n2n": [{**rows[0], "psnr": rows[0]["psnr"] - 1}]}}}))
    capsys.readouterr()
    assert script.main([str(second), "--show", "--cpu", str(cpu)]) == 0
    shown = capsys.readouterr().out
    assert "Runs: `python scripts/gpu_zeroshot.py" in shown and "; then `python scripts/gpu_zeroshot.py" in shown
    assert "| +1.00 |" in shown and "**`gpu` preset (`preset=auto` on a GPU) on the GPU**" in shown
    if not __import__("torch").cuda.is_available():
        assert script.main([str(tmp_path / "c.json"), "--data", str(tmp_path), "--device", "cuda"]) == 2
        assert "no CUDA GPU is available" in capsys.readouterr().err
    assert script.main([str(tmp_path / "c.json"), "--data", str(tmp_path / "none")]) == 2


def test_downscaled_check_halves_runs_and_tabulates(tmp_path, capsys):
    import numpy as np

    from noise2x.io import write_image

    ds = _load("downscaled_check")
    block = np.arange(4 * 6, dtype=float).reshape(4, 6)
    np.testing.assert_array_equal(ds.halved(block), [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])
    assert ds.halved(np.zeros((5, 7, 3))).shape == (2, 3, 3)  # an odd last row and column dropped
    np.testing.assert_array_equal(ds.reference(block, "subsampled"), [[0, 2, 4], [12, 14, 16]])
    np.testing.assert_array_equal(ds.reference(block, "halved"), ds.halved(block))
    np.testing.assert_array_equal(ds.reference(block, "full"), block)
    data = tmp_path / "photos"
    data.mkdir()
    yy, xx = np.mgrid[0:64, 0:80]
    write_image(data / "a.png", (120 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.uint8))
    shapes = {"halved": [32, 40], "full": [64, 80], "subsampled": [32, 40]}
    for size, shape in shapes.items():
        out = tmp_path / f"r_{size}.json"
        argv = ["--data", str(data), "--limit", "1", "--noises", "gaussian:sigma=25", "--out", str(out)]
        assert ds.main(argv + ([] if size == "halved" else [f"--{size}"])) == 0
        record = json.loads(out.read_text())
        row = record["rows"][0]
        assert row["shape"] == shape and record["size"] == size
        assert row["bm3d_true"] > row["noisy"] + 3 and row["auto"] > row["noisy"] + 3
        flag = "" if size == "halved" else f" --{size}"
        assert record["meta"]["command"].startswith("python scripts/downscaled_check.py" + flag)
    capsys.readouterr()
    assert ds.main(["--markdown"] + [str(tmp_path / f"r_{size}.json") for size in shapes]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2].startswith("| photos, halved, first 1 | `gaussian:sigma=25` |")
    assert table[4].startswith("| photos, subsampled, first 1 | `gaussian:sigma=25` |") and len(table) == 5
    assert table[3].startswith("| photos, full size, first 1 | `gaussian:sigma=25` |")


def test_correlated_psd_calibration_runs_both_routes_and_scores_each_rule(tmp_path, monkeypatch, capsys):
    """correlated_psd_calibration: each image with the spectrum route off and on (the constants forced, then
    restored), the declared noise both ways for a correlated spec, not run again where the reading is white; per
    rule the loss against the better route per image."""
    import numpy as np

    from noise2x import api, pretrained
    from noise2x.io import write_image

    cal = _load("correlated_psd_calibration")
    yy, xx = np.mgrid[0:48, 0:48]
    write_image(tmp_path / "a.png", (40 + 3 * xx + yy).astype(np.uint8))
    seen = []

    def noise_of(path, spec):  # the noisy image the script draws for image 0 of the folder
        from noise2x.io import read_image
        from noise2x.noise import parse_noise, protocol_noisy

        return protocol_noisy(read_image(path), parse_noise(spec), index=0)

    def fake_denoise(noisy, noise=None, info=None):  # the route the forced constants pick; fake PSNR via the output
        on = (pretrained.CORRELATED_PSD_BETA if noise is None else pretrained.DECLARED_PSD_BETA) == 0
        seen.append((noise, on))
        beta = 0.95 if "correlated" in str(seen_spec[0]) else 0.1
        info.update({"estimated_beta": beta, "estimated_correlated_sigma": 20.0, "estimated_sigma": 2.0,
                     "method": "bm3d" if on else "model m", "auto": "x"})
        if on:
            info["beta"] = beta
        return noisy * 0 + (1000 if on else 0)  # the spectrum route wins here

    monkeypatch.setattr(api, "denoise", fake_denoise)
    kept = pretrained.CORRELATED_PSD_BETA, pretrained.DECLARED_PSD_BETA
    seen_spec = ["correlated:sigma=20,beta=1"]
    (row,) = cal.measure([("g", tmp_path, [0])], seen_spec)
    seen_spec[0] = "gaussian:sigma=5"
    (white,) = cal.measure([("g", tmp_path, [0])], seen_spec)
    assert (pretrained.CORRELATED_PSD_BETA, pretrained.DECLARED_PSD_BETA) == kept
    assert seen == [(None, False), (None, True), ("correlated:sigma=20,beta=1", False),
                    ("correlated:sigma=20,beta=1", True), (None, False)]  # the white reading: run once
    assert row["psd"] and row["after"] > row["before"] and row["declared_after"] > row["declared_before"]
    assert not white["psd"] and white["after"] == white["before"] and "declared_before" not in white
    assert cal._pick(row, 0.9, float("inf")) == row["after"] and cal._pick(row, 0.99, float("inf")) == row["before"]
    assert cal._consistency(row) == pytest.approx(2.0 / (20.0 * 0.05 ** 0.5))
    # the growth (read on the image itself) and the white share (2 / 20 here) as the texture tests read them
    assert row["growth"] == pytest.approx(cal._growth(noise_of(tmp_path / "a.png", row["noise"])), abs=1e-3)
    row["growth"] = 1.05
    textured = dict(row, image="b.png", growth=1.3)
    assert cal._pick(textured, 0.9, float("inf")) == row["after"]  # beta alone: taken
    assert cal._pick(textured, 0.9, float("inf"), 1.15) == row["before"]  # grows: texture
    assert cal._pick(row, 0.9, float("inf"), 1.15, 0.05) == row["after"]
    assert cal._pick(row, 0.9, float("inf"), 1.15, 0.2) == row["before"]  # white share 0.1 under 0.2
    cal.show([row, white], 0.9, 0.5)
    out = capsys.readouterr().out
    loss = row["before"] - row["after"]
    assert "| 0.9 | inf | inf | 0 | 0.000 |" in out and f"| inf | inf | inf | 0 | {loss / 2:.3f} |" in out
    assert "1 of 1 (0)" in out and "Taken for texture" not in out and "beta alone" not in out
    cal.show([row, white, textured], 0.9, 0.5, 1.15, 0.06)  # the textured reading left out, and listed so
    out = capsys.readouterr().out
    assert "grows by at most 1.15" in out and "white share is at least 0.06" in out and "beta alone" in out
    assert "1 of 2 (0)" in out and f"| g | `correlated:sigma=20,beta=1` | 1 | 1 | {-loss:+.2f} | {-loss:+.2f} |" in out
    assert f"| 0.9 | inf | 1.15 | 0.06 | {loss / 3:.3f} |" in out
    # --add-growth: earlier runs' rows get the growth read on their image and noise, drawn again
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"rows": [{"set": tmp_path.name, "image": "a.png", "noise": "gaussian:sigma=5"}],
                               "meta": {}}))
    monkeypatch.setattr(cal, "DATA", tmp_path.parent)
    assert cal.main(["--add-growth", str(run)]) == 0
    added = json.loads(run.read_text())
    assert added["rows"][0]["growth"] == cal._growth(noise_of(tmp_path / "a.png", "gaussian:sigma=5"))
    assert "growth_added" in added["meta"]
    # the declared noise's thresholds: the row's beta (1) takes BM3D, above it (inf) the model: its loss
    low = dict(row, declared_beta=0.25, declared_after=row["declared_before"] - 1.5)  # the model better there
    cal.show([row, white, low], 0.9, 0.1)
    out = capsys.readouterr().out.split("**Declared noise**")[1]
    d_loss = row["declared_before"] - row["declared_after"]
    assert f"| 0.25 | {-1.5 / 2:.3f} | {-1.5 / 2:.3f} | -1.50 | 1 |" in out
    assert "| 1 | 0.000 | 0.000 | 0.00 | 0 |" in out and f"| inf | {d_loss / 2:.3f} |" in out


def test_zeroshot_bm3d_psd_checks_the_tables_crops_and_prints_both(tmp_path, monkeypatch, capsys):
    """zeroshot_bm3d_psd: the zero-shot table's crops drawn again (a noisy PSNR that differs from the table's is an
    error), each scored for BM3D given the spectrum and the no-option call; the table printed beside the JSON's."""
    import numpy as np

    from noise2x import api
    from noise2x.io import list_images, read_image, write_image
    from noise2x.noise import protocol_noisy

    zb = _load("zeroshot_bench")
    script = _load("zeroshot_bm3d_psd")
    data = tmp_path / "photos"
    data.mkdir()
    yy, xx = np.mgrid[0:40, 0:48]
    write_image(data / "a.png", (100 + 40 * np.sin(xx / 6.0) + yy).astype(np.uint8))
    clean = zb.centre_crop(read_image(list_images(data)[0]), 32)
    spec = "correlated:sigma=20,beta=1"
    noisy_row = zb._score(clean, protocol_noisy(clean, spec, index=0), None, clip=False, file="a.png")
    row = {"psnr": 25.0, "ssim": 0.7, "seconds": 100.0, "file": "a.png"}
    table = {"table": {spec: {"noisy": [noisy_row], "bm3d": [row], "zs_n2n": [row], "mash": [row]}}}
    (tmp_path / "t.json").write_text(json.dumps(table))
    monkeypatch.setattr(api, "denoise", lambda noisy, noise=None, info=None: noisy * 0 + 7)  # (faked)
    out = tmp_path / "o.json"
    argv = ["--table", str(tmp_path / "t.json"), "--dataset", str(data), "--size", "32", "--out", str(out)]
    assert script.main(argv) == 0
    rows = json.loads(out.read_text())["rows"][spec]
    assert set(rows) == {"bm3d_spectrum", "auto", "auto_noise"} and rows["bm3d_spectrum"][0]["psnr"] > noisy_row["psnr"]
    printed = capsys.readouterr().out
    assert "| MASH (the table's) | 25.00 / 0.7000 | 100.0 |" in printed and "BM3D given the noise's spectrum" in printed
    table["table"][spec]["noisy"][0]["psnr"] += 0.5  # not the same crops or noise: refused
    (tmp_path / "t.json").write_text(json.dumps(table))
    with pytest.raises(SystemExit, match="noisy PSNR"):
        script.main(argv)


def test_jpeg_route_check_runs_the_route_off_and_on_and_tabulates(tmp_path, monkeypatch, capsys):
    """jpeg_route_check: each photo saved as JPEG at each quality, the package with the spectrum route off and on
    (the constant restored), both scored against the clean photo; the table counts the images the route took."""
    import numpy as np

    from noise2x import api, pretrained
    from noise2x.io import write_image

    script = _load("jpeg_route_check")
    yy, xx = np.mgrid[0:96, 0:104]
    photo = 100 + 40 * np.sin(xx / 6.0) + yy
    assert 25 < script.jpeg(photo, 20).mean() < 200 and script.jpeg(photo, 95).shape == photo.shape
    data = tmp_path / "d"
    data.mkdir()
    write_image(data / "a.png", photo.astype(np.uint8))
    monkeypatch.setattr(script, "DATA", tmp_path)
    seen = []

    def fake(noisy, noise=None, info=None):  # the route on: a changed output
        on = pretrained.CORRELATED_PSD_BETA < 1
        seen.append(on)
        info.update({"method": "bm3d" if on else "model m", "estimated_beta": 1.0, "estimated_correlated_sigma": 3.0,
                     "estimated_sigma": 2.5})
        if pretrained.JPEG_MODEL_SIGMA == 0:  # (the JPEG rule off: the call before it)
            info.update({"method": "bm3d weak", "auto": "before the rule"})
            return noisy + 2.0
        info["auto"] = f"read weak, but {script.JPEG_RULE} (...)"
        return noisy + (1.0 if on else 0.0)

    monkeypatch.setattr(api, "denoise", fake)
    kept = pretrained.CORRELATED_PSD_BETA
    out = tmp_path / "r.json"
    assert script.main(["--datasets", "d", "--images", "1", "--qualities", "30,90", "--out", str(out)]) == 0
    assert pretrained.CORRELATED_PSD_BETA == kept and seen == [False, True, False, True]
    rows = json.loads(out.read_text())["rows"]
    assert [r["quality"] for r in rows] == [30, 90] and all(r["on"] != r["off"] for r in rows)
    printed = capsys.readouterr().out
    assert "| d | 30 | 1 |" in printed and "1 of 1 |" in printed
    # --alternatives: the general model as it is and BM3D (white sigma estimated) scored too; the best counted
    from noise2x import classical

    def fake_model(noisy, noise=None, info=None, model=None):
        if model is None:
            return fake(noisy, noise, info)
        assert model == script.ALTERNATIVE_MODEL
        return photo + 0.5  # (the best of the three)

    monkeypatch.setattr(api, "denoise", fake_model)
    monkeypatch.setattr(classical, "bm3d", lambda noisy: noisy - 40.0)
    assert script.main(["--datasets", "d", "--images", "1", "--qualities", "30", "--alternatives",
                        "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["model"] > max(row["on"], row["off"]) and row["bm3d"] < min(row["on"], row["off"])
    # the JPEG rule took it: the call before the rule recorded apart (JPEG_MODEL_SIGMA 0, restored)
    assert row["route_norule"] == "bm3d weak" and row["norule"] != row["on"]
    assert pretrained.JPEG_MODEL_SIGMA > 0
    printed = capsys.readouterr().out
    assert "| 0, 1, 0 |" in printed  # (the fake reads beta 1: the spectrum route)
    assert "took BM3D given the spectrum of the correlated noise read: `gray-gaussian` ahead on 1 of 1" in printed
    # --first: the photos from that one on, each with the noise of its own index; --show of several files: the
    # rules table of their rows pooled (the model taken where the weak-noise BM3D route's white sigma is below)
    write_image(data / "b.png", photo.astype(np.uint8)[::-1])
    first = tmp_path / "f.json"
    assert script.main(["--datasets", "d", "--first", "1", "--images", "1", "--qualities", "30",
                        "--noise", "gaussian:sigma=5", "--out", str(first)]) == 0
    assert [r["image"] for r in json.loads(first.read_text())["rows"]] == ["b.png"]
    base = {k: v for k, v in row.items() if k not in ("norule", "route_norule")}  # (a run before the rule)
    weak = dict(base, route_on="bm3d", beta=0.2, white_sigma=3.5, model=row["on"] + 1.0)
    texture = dict(weak, white_sigma=4.7, model=row["on"] - 2.0)
    other = dict(weak, route_on="model m")
    for i, r in enumerate((weak, texture, other)):
        (tmp_path / f"s{i}.json").write_text(json.dumps({"rows": [r], "meta": {}}))
    capsys.readouterr()
    assert script.main(["--show", *(str(tmp_path / f"s{i}.json") for i in range(3))]) == 0
    table = capsys.readouterr().out.split("**Rules**")[1]
    assert "| 4 | 1 | 1 | +1.00 | +1.00 | +1.00 | +0.333 |" in table and "| 3 |" not in table
    assert "| 5 | 2 | 1 | -0.50 | -2.00 | +1.00 | -0.333 |" in table
    # --compare A B: the no-option call of two runs, photo by photo
    later = dict(weak, on=weak["on"] + 0.5)
    (tmp_path / "b.json").write_text(json.dumps({"rows": [later, dict(texture, image="x.png")], "meta": {}}))
    assert script.main(["--compare", str(tmp_path / "s0.json"), str(tmp_path / "b.json")]) == 0
    assert f"| d | 30 | 1 | {weak['on']:.2f} | {later['on']:.2f} | +0.50 | 1 of 1 | +0.50, +0.50 |" in (
        capsys.readouterr().out)
    # the JPEG signs: recorded by a run, and added to an earlier run's rows (each photo rebuilt as it was made);
    # a photo not rebuilt as recorded stops it; the rules table again with the signs, the rule on decoded JPEGs only
    (made,) = json.loads(first.read_text())["rows"]
    assert made["jpeg_excess"] > 0 and 0 <= made["jpeg_rounding"] < 1
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"rows": [{k: v for k, v in made.items() if not k.startswith("jpeg_")}],
                                "meta": {"noise": "gaussian:sigma=5"}}))
    assert script.main(["--add-signs", str(bare)]) == 0
    result = json.loads(bare.read_text())
    assert {k: result["rows"][0][k] for k in ("jpeg_excess", "jpeg_rounding")} == {
        k: made[k] for k in ("jpeg_excess", "jpeg_rounding")} and "--add-signs" in result["meta"]["signs_added"]
    from noise2x.metrics import psnr

    assert script.main(["--add-model", script.ALTERNATIVE_MODEL, str(bare)]) == 0  # (the fake model: photo + 0.5)
    result = json.loads(bare.read_text())
    b = photo.astype(np.uint8)[::-1].astype(np.float64)
    assert result["rows"][0][f"model:{script.ALTERNATIVE_MODEL}"] == round(psnr(b, photo + 0.5), 3)
    assert "--add-model gray-gaussian" in result["meta"][f"model_added:{script.ALTERNATIVE_MODEL}"]
    assert result["rows"][0]["jpeg_rounding"] == made["jpeg_rounding"]  # (the signs kept)
    wrong = dict(result, rows=[dict(result["rows"][0], jpeg=made["jpeg"] + 0.01)])
    bare.write_text(json.dumps(wrong))
    with pytest.raises(SystemExit, match="is not rebuilt as recorded"):
        script.main(["--add-signs", str(bare)])
    narrow = f"model:{script.NARROW_MODEL}"
    decoded = dict(weak, jpeg_excess=0.3, jpeg_rounding=0.1, jpeg_fine=0.0, **{narrow: weak["model"] - 0.5})
    after = dict(decoded, image="y.png", jpeg_rounding=0.8, model=weak["on"] - 3.0, **{narrow: weak["on"]})
    fine = dict(after, image="z.png", jpeg_rounding=0.1, jpeg_fine=0.01)
    # a run since the rule: the package took the general model, and the call before it is recorded apart
    taken = dict(decoded, image="w.png", route_on="model gray-gaussian", on=decoded["model"], norule=decoded["on"],
                 route_norule="bm3d")
    (tmp_path / "t.json").write_text(json.dumps({"rows": [decoded, after, fine, taken], "meta": {}}))
    capsys.readouterr()
    assert script.main(["--show", str(tmp_path / "t.json")]) == 0
    assert "**Rules**" not in capsys.readouterr().out  # (one file: its table only)
    assert script.main(["--show", str(tmp_path / "t.json"), str(tmp_path / "t.json")]) == 0
    plain, signed = capsys.readouterr().out.split("**Rules**")[1:]
    assert "| 4 | 8 | 4 | -1.00 | -3.00 | +1.00 | -1.000 |" in plain
    assert "as decoded, coarsely quantised (excess >= 0.05, rounding spread < 0.4, fine steps < 0.001)" in signed
    assert "| 4 | 4 | 4 | +1.00 | +1.00 | +1.00 | +0.500 |" in signed
    assert f"`gray-gaussian` against `{script.NARROW_MODEL}` (which an image too large for BM3D gets there): " \
           "ahead on 4 of 4, by +0.50 dB on average (+0.50 to +0.50)" in signed


def test_jpeg_blocks_check_reads_each_photo_as_it_is_and_as_jpeg(tmp_path, monkeypatch, capsys):
    """jpeg_blocks_check: each photo, clean and noisy, read as it is and saved as JPEG; the table counts the photos
    read as JPEG (the package's threshold) and those whose grid is the JPEG's."""
    import numpy as np

    from conftest import textured_image
    from noise2x.io import write_image
    from noise2x.pretrained import JPEG_EXCESS

    script = _load("jpeg_blocks_check")
    data = tmp_path / "d"
    data.mkdir()
    write_image(data / "a.png", np.clip(np.round(textured_image(n=96, seed=3)), 0, 255).astype(np.uint8))
    monkeypatch.setattr(script, "DATA", tmp_path)
    out = tmp_path / "r.json"
    assert script.main(["--datasets", "d", "--images", "1", "--noises", "gaussian:sigma=10", "--qualities", "75",
                        "--out", str(out)]) == 0
    raw, jpg = json.loads(out.read_text())["rows"]
    assert raw["quality"] is None and raw["excess"] < JPEG_EXCESS
    assert jpg["quality"] == 75 and jpg["excess"] >= JPEG_EXCESS and jpg["offset"] == [0, 0]
    assert raw["rounding"] > 0.6 and jpg["rounding"] < 0.3  # (noise not compressed / a JPEG as decoded)
    printed = capsys.readouterr().out
    assert "| d | gaussian:sigma=10 | as it is |" in printed and "| – | 0 of 1 |" in printed
    assert "| d | gaussian:sigma=10 | JPEG 75 |" in printed and "| 1 of 1 | 1 of 1 |" in printed
    assert f"| {jpg['rounding']:.2f} / {jpg['rounding']:.2f} / {jpg['rounding']:.2f} |" in printed
    assert script.main(["--datasets", "nothing", "--out", str(out)]) == 1


def test_texture_reading_survey_counts_the_readings_the_tests_let_through(tmp_path, monkeypatch, capsys):
    """texture_reading_survey: per white noise, the readings of beta >= 0.9 and those passing both texture tests (as
    the package's constants say), the images that passed, and the model noise's white share."""
    import numpy as np

    from noise2x import estimate, pretrained
    from noise2x.io import write_image

    sur = _load("texture_reading_survey")
    rng = np.random.default_rng(0)
    for i in range(3):
        write_image(tmp_path / f"{i}.png", np.clip(120 + rng.normal(0, 30, (64, 64)), 0, 255).astype(np.uint8))
    # every reading strong and passing: all 3 images listed; then none passing the growth test
    monkeypatch.setattr(estimate, "correlation_by_channel", lambda y, **kw: (10.0, 0.95))
    monkeypatch.setattr(estimate, "sigma", lambda y, **kw: 1.0)
    monkeypatch.setattr(estimate, "correlation_growth", lambda y, **kw: 1.0)
    assert sur.main(["--gray", str(tmp_path), "--images", "0-2", "--skip", "1", "--noises", "gaussian:sigma=1",
                     "--correlated", ""]) == 0
    out = capsys.readouterr().out
    assert "2 images of" in out and "| `gaussian:sigma=1` | 2 of 2 | 2 | 10.00-10.00 |" in out
    assert "images that passed (either noise): 0,2" in out and "white share of the model's noise" in out
    monkeypatch.setattr(estimate, "correlation_growth", lambda y, **kw: pretrained.CORRELATED_PSD_GROWTH + 0.01)
    assert sur.main(["--gray", str(tmp_path), "--images", "0-2", "--noises", "gaussian:sigma=1",
                     "--correlated", "correlated:sigma=3,beta=1"]) == 0
    out = capsys.readouterr().out
    assert "| `gaussian:sigma=1` | 3 of 3 | 0 | – | – |" in out
    assert "| `correlated:sigma=3,beta=1` | 3 of 3 | 0 | – |" in out
    assert sur.main(["--gray", str(tmp_path / "missing")]) == 1


def test_weak_poisson_runs_the_poisson_route_and_both_bm3d_routes_on_signal_dependent_readings(tmp_path, capsys):
    """weak_poisson_calibration: the package with the weak-Poisson rule off (restored after), and on an image read
    as signal-dependent BM3D at the white sigma read and after the transform of the reading; each threshold's
    loss against the better route per image."""
    import numpy as np

    from noise2x import classical, pretrained
    from noise2x.io import write_image

    cal = _load("weak_poisson_calibration")
    assert classical._vst_params_of(cal.gat_noise(0.25, 4.0)) == pytest.approx((0.25, 2.0))
    assert classical._vst_params_of(cal.gat_noise(0.25, -1.0)) == pytest.approx((0.25, 0.0))
    assert cal.std_at_mean(0.25, 4.0, 100.0) == pytest.approx(np.sqrt(29.0))
    assert cal.std_at_mean(0.25, -4.0, 100.0) == pytest.approx(5.0)  # (a negative read noise counts as 0)
    assert cal.zero_level(0.25, -5.0, 100.0) == pytest.approx(0.2) and cal.zero_level(0.25, 5.0, 100.0) < 0
    texture = {"read_poisson": True, "std_at_mean": 2.0, "poisson_a": 0.25, "poisson_b": -7.5, "mean": 100.0,
               "route": 40.0, "bm3d_white": 45.0, "bm3d_gat": 41.0}  # the line reaches 0 at 0.3 of the mean
    assert [cal.pick_split(texture, 5.0, z, True) for z in (0.2, 0.4)] == [45.0, 41.0]
    assert cal.pick_split(texture, 5.0, 0.4, False) == 40.0 and cal.pick_split(texture, 1.0, 0.2, True) == 40.0
    yy, xx = np.mgrid[0:128, 0:128]
    write_image(tmp_path / "a.png", (90 + 60 * (xx > 64) + 40 * ((yy - 40) ** 2 + (xx - 40) ** 2 < 400)
                                     + 0.2 * yy).astype(np.uint8))
    kept = pretrained.WEAK_POISSON_SIGMA
    rows = cal.measure([("g", tmp_path, [0])], ["poisson:peak=3000", "gaussian:sigma=20"])
    assert pretrained.WEAK_POISSON_SIGMA == kept
    weak, white = rows
    assert weak["read_poisson"] and weak["method"].startswith("model") and not white["read_poisson"], rows
    assert weak["std_at_mean"] == pytest.approx(cal.std_at_mean(weak["poisson_a"], weak["poisson_b"], weak["mean"]),
                                                rel=1e-3)
    assert 2 < weak["std_at_mean"] < 5 and all(k in weak for k in cal.VARIANTS) and "bm3d_white" not in white
    assert cal.pick(weak, 5.0, "bm3d_gat") == weak["bm3d_gat"] and cal.pick(weak, 2.0, "bm3d_gat") == weak["route"]
    assert cal.pick(white, float("inf"), "bm3d_white") == white["route"]  # read white: the rule leaves it
    cal.show(rows, 5.0, 0.2)
    out = capsys.readouterr().out
    loss = weak["bm3d_white"] - max(weak["route"], weak["bm3d_white"])
    assert "**Threshold, bm3d_white**" in out and f"| 5 | {loss:.3f} | {loss:.3f} |" in out
    assert "| `poisson:peak=3000` |" in out and "| 1 of 1 |" in out
    (given,) = cal.measure([("g", tmp_path, [0])], ["poisson:peak=3000"], declared=True)  # the noise given
    assert pretrained.WEAK_POISSON_SIGMA == kept and "route" not in given, given
    assert given["declared_std_at_mean"] == pytest.approx(np.sqrt(255 / 3000 * given["mean"]), rel=1e-3)
    assert given["declared_bm3d"] > given["noisy"] + 1 and given["declared_route"] > given["noisy"] + 1, given
    cal.show([given], 5.0, 0.2)
    out = capsys.readouterr().out
    assert "**The noise given**" in out and "**Threshold" not in out and "| g | `poisson:peak=3000` |" in out


def test_startup_time_times_the_commands_and_writes_their_table(tmp_path, capsys):
    startup = _load("startup_time")
    out = tmp_path / "t.json"
    assert startup.main(["--only", "methods,info IMAGE", "--runs", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert list(result["medians"]) == ["methods", "info IMAGE"] and list(result["versions"]) == ["this"]
    assert all(0 < row["this"] < 60 for row in result["medians"].values())
    capsys.readouterr()
    assert startup.main(["--markdown", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[2].startswith("| `methods` | ") and result["versions"]["this"] in table


def test_impulse_calibration_reads_each_noise_and_tabulates_the_route(tmp_path, capsys):
    """scripts/impulse_calibration.py: the share of isolated outliers and the reading for each image and noise,
    the route with the impulse route off and on, and the table of what each threshold takes."""
    import numpy as np

    from noise2x.io import write_image

    calibration = _load("impulse_calibration")
    yy, xx = np.mgrid[0:64, 0:64]
    for folder in ("gray", "rgb"):
        (tmp_path / folder).mkdir()
    for k in range(2):
        write_image(tmp_path / "gray" / f"{k}.png", 90 + 60 * (xx > 32) + 0.5 * yy + 10 * k, kind="uint8")
    out = tmp_path / "r.json"
    assert calibration.main(["--gray", str(tmp_path / "gray"), "--gray-images", "0-1", "--rgb", str(tmp_path / "rgb"),
                             "--rgb-images", "", "--noises", "gaussian:sigma=25;salt_pepper:p=0.05",
                             "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {(r["image"], r["noise"]): r for r in result["rows"]}
    assert len(rows) == 4 and result["meta"]["impulse_share"] == 0.003
    assert all(rows[(f"{k}.png", "salt_pepper:p=0.05")]["after"] == "zs_n2n" for k in range(2))
    assert all(rows[(f"{k}.png", "gaussian:sigma=25")]["after"] != "zs_n2n" for k in range(2))
    table = capsys.readouterr().out
    assert "| salt_pepper:p=0.05 | 2 |" in table and "| gaussian:sigma=25 | 2 | 0 |" in table


def test_flux_check_measures_each_spots_counts_and_writes_its_record(tmp_path):
    """scripts/flux_check.py (BENCHMARKS.md, "Photometry of faint spots after denoising"): the noisy input's
    counts are the clean ones' within the noise; a route that smooths hard takes a share of the faint spots'."""
    import numpy as np

    module = _load("flux_check")
    clean, spots = module.scene(96, np.random.default_rng(0))
    assert len(spots) == 9 and [f for _, _, f in spots[::3]] == [100, 300, 1000]
    measured = module.counts(clean, spots)
    np.testing.assert_allclose(measured, [f for _, _, f in spots], rtol=0.02)  # (the disc holds 99.6% of a spot)
    out = tmp_path / "flux.json"
    assert module.main(["--realisations", "1", "--size", "96", "--routes", "noisy,nlm", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["meta"]["command"].startswith("python scripts/flux_check.py --realisations 1 --size 96")
    noisy, nlm = record["routes"]["noisy"], record["routes"]["nlm"]
    assert noisy["100"]["spots"] == 3 and abs(noisy["1000"]["ratio"] - 1) < 0.1
    assert nlm["100"]["ratio"] < noisy["100"]["ratio"] - 0.2


def test_correlation_direction_check_reads_each_axis_and_records_the_routes(tmp_path, monkeypatch, capsys):
    import numpy as np

    from noise2x.io import write_image

    script = _load("correlation_direction_check")
    yy, xx = np.mgrid[0:140, 0:150]
    for k in range(2):
        write_image(tmp_path / f"{k}.png", np.clip(120 + 40 * np.sin(xx / (9 + k)) * np.cos(yy / 13), 0, 255))
    monkeypatch.setattr(script, "NOISES", ("gaussian:sigma=25", "correlated_rows:sigma=25,beta=1"))
    out = tmp_path / "d.json"
    monkeypatch.setattr(sys, "argv", ["x", "--dataset", str(tmp_path), "--limit", "2", "--out", str(out)])
    script.main()
    record = json.loads(out.read_text())
    white, rows = record["rows"]
    assert white["images"] == rows["images"] == 2 and record["meta"]["command"].startswith(
        "python scripts/correlation_direction_check.py")
    assert rows["beta_rows"][1] > 0.8 and rows["beta_columns"][2] < 0.4 and rows["share"][2] < 0.5
    assert rows["routes"] == {"bm3d along rows": 2} and not any("along" in r for r in white["routes"])
    assert "correlated_rows:sigma=25,beta=1" in capsys.readouterr().out


def test_one_axis_calibration_scores_each_threshold_and_skips_unmoved_images_in_a_scope_run(tmp_path, capsys):
    """scripts/one_axis_calibration.py: the choice at each ONE_AXIS_PSD_BETA and its PSNR, each distinct choice
    denoised once; with --moved-only, images no threshold moves are not denoised."""
    import numpy as np
    from conftest import textured_image

    from noise2x.io import write_image

    calibration = _load("one_axis_calibration")
    for folder in ("gray", "rgb"):
        (tmp_path / folder).mkdir()
    for k in range(2):
        write_image(tmp_path / "gray" / f"{k}.png", np.clip(textured_image(160, seed=3 + k), 0, 255), kind="uint8")
    out = tmp_path / "r.json"
    args = ["--gray", str(tmp_path / "gray"), "--gray-images", "0-1", "--rgb", str(tmp_path / "rgb"), "--rgb-images",
            "", "--noises", "correlated_rows:sigma=25,beta=0.7;gaussian:sigma=25", "--thresholds", "0.8,0.65"]
    assert calibration.main(args + ["--out", str(out)]) == 0
    rows = {(r["image"], r["noise"].split(",")[0]): r for r in json.loads(out.read_text())["rows"]}
    moved = rows[("0.png", "correlated_rows:sigma=25")]
    assert moved["routes"] == {"0.8": moved["routes"]["0.8"], "0.65": "bm3d along rows"}, moved
    assert moved["routes"]["0.8"] != "bm3d along rows" and moved["psnr"]["0.65"] > moved["psnr"]["0.8"]
    kept = rows[("0.png", "gaussian:sigma=25")]
    assert kept["routes"]["0.8"] == kept["routes"]["0.65"] and kept["psnr"]["0.8"] == kept["psnr"]["0.65"]
    assert "| gaussian:sigma=25 | 2 |" in capsys.readouterr().out
    assert calibration.main(args + ["--verify", str(out)]) == 0  # (the choices read again: as recorded)
    assert "4 rows choose as recorded, 0 differ" in capsys.readouterr().out
    record = json.loads(out.read_text())
    record["rows"][0]["routes"]["0.65"] = "gray-gaussian"
    out.write_text(json.dumps(record))
    assert calibration.main(args + ["--verify", str(out)]) == 1 and "3 rows choose as recorded, 1 differ" in (
        capsys.readouterr().out)
    assert calibration.main(args + ["--moved-only", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert all(r["psnr"]["0.8"] is None for r in rows if r["noise"].startswith("gaussian"))


def test_pattern_route_check_lattice_and_routes_before_and_since(monkeypatch):
    """scripts/pattern_route_check.py: its lattices repeat at their period; the no-option route before
    (PATTERN_BM3D off: a model here) and since (BM3D), the flag restored after."""
    import numpy as np

    from noise2x import pretrained

    check = _load("pattern_route_check")
    hexagonal = check.lattice(64, 8, "hexagonal")
    assert np.allclose(hexagonal[:, :48], hexagonal[:, 16:]) and abs(hexagonal.mean() - 100) < 2  # (its waves
    # at 60 and 120 degrees repeat along the rows at twice the period)
    assert not np.allclose(hexagonal[:, :56], hexagonal[:, 8:])
    square = check.lattice(64, 8, "square")
    assert np.allclose(square[:56], square[8:]) and np.allclose(square[:, :56], square[:, 8:])
    clean = check.lattice(256, 6, "hexagonal")
    done = check.routes(clean + np.random.default_rng(0).normal(0, 15, clean.shape))
    assert done["before"][0] != "bm3d" and done["since"][0] == "bm3d" and pretrained.PATTERN_BM3D is True


def test_spike_note_check_reads_spikes_only_where_impulses_are(monkeypatch):
    """scripts/spike_note_check.py's test: the note's fact, read through the choice only where impulses are."""
    import numpy as np

    from noise2x import pretrained
    from noise2x.noise import salt_pepper

    check = _load("spike_note_check")
    flat = np.clip(120 + np.random.default_rng(0).normal(0, 3, (128, 128)), 0, 255)
    monkeypatch.setattr(pretrained, "choose", lambda *a, **k: pytest.fail("read without impulses"))
    assert not check.noted(flat)
    monkeypatch.undo()
    assert check.noted(salt_pepper(flat, p=0.002, rng=1))
