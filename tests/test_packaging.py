"""What a release carries: the top-level names, the licence, and a wheel and sdist built from the sources (the
shipped models and the typing marker in the wheel; the sdist able to run its own tests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import noise2x

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_names_are_the_lazy_ones_and_resolve():
    assert noise2x.__all__ == sorted([*noise2x._LAZY, *noise2x._SUBMODULES, "__version__"])
    for name in noise2x.__all__:
        assert getattr(noise2x, name) is not None
    from noise2x.errors import MissingDependency, Noise2xError

    assert issubclass(MissingDependency, ImportError) and issubclass(MissingDependency, Noise2xError)


def test_train_and_methods_keep_their_signature_and_help_once_their_modules_are_imported():
    """Once noise2x.train (the module) was imported, the package's ``train`` was the module: help() and
    inspect.signature showed it, ``(*args, **kwargs)``, and TrainingInterrupted was not in noise2x.errors (an API
    docs QA pass)."""
    import inspect

    import noise2x.methods
    import noise2x.train
    from noise2x import api, errors

    for public, function in ((noise2x.train, api.train), (noise2x.methods, api.available_methods)):
        assert inspect.signature(public) == inspect.signature(function)
    assert {"steps", "add_noise", "val_data", "axes"} <= set(inspect.signature(noise2x.train).parameters)
    assert "Returns" in noise2x.train.__doc__ and "Raises" in noise2x.train.__doc__
    assert errors.TrainingInterrupted is noise2x.train.TrainingInterrupted


def test_the_docstring_examples_run():
    """Every >>> example in the package's docstrings (the tiling Stitcher's did not run: an API docs QA pass)."""
    import doctest
    import importlib
    import pkgutil

    tried = 0
    for info in pkgutil.walk_packages(noise2x.__path__, "noise2x."):
        if info.name.endswith("__main__"):
            continue
        result = doctest.testmod(importlib.import_module(info.name), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, info.name
        tried += result.attempted
    assert tried >= 10


def _sources(tmp_path: Path) -> Path:
    """The tracked files of the repository (what a clone holds), copied: builds write into the tree."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the sources a release is built from are not known")
    src = tmp_path / "src_copy"
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    return src


def test_wheel_and_sdist_carry_the_licence_models_and_tests(tmp_path):
    pytest.importorskip("setuptools")
    src = _sources(tmp_path)
    out = tmp_path / "dist"
    code = ("import sys; from setuptools import build_meta as b; "
            "d = sys.argv[1]; w = b.build_wheel(d); s = b.build_sdist(d); print('BUILT', w, s)")
    run = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True, text=True, timeout=300)
    if run.returncode != 0 and "license-files" in run.stderr + run.stdout:
        pytest.skip("setuptools older than 77 (no SPDX licence): pip install 'setuptools>=77'")
    assert run.returncode == 0, run.stderr[-2000:]
    wheel, sdist = (out / name for name in run.stdout.split("BUILT ")[-1].split())
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    models = {p.name for p in (ROOT / "src/noise2x/pretrained").iterdir() if p.suffix in (".safetensors", ".json")}
    assert {f"noise2x/pretrained/{m}" for m in models} <= names and "noise2x/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert f"Version: {noise2x.__version__}\n" in meta and "License-Expression: MIT" in meta
    assert not any(n.startswith(("tests/", "runs/", "benchmarks/")) or "__pycache__" in n for n in names)
    top = sdist.name[: -len(".tar.gz")]
    with tarfile.open(sdist) as t:
        held = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"LICENSE", "README.md", "Makefile", "tests/conftest.py", "src/noise2x/py.typed"} <= held
    assert {f"src/noise2x/pretrained/{m}" for m in models} <= held
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("*.py")} <= held
    assert not any(n.startswith(("runs/", ".venv/")) for n in held), top
