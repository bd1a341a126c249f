"""The numpy-only layers must never import torch (they are used in light tools and data workers)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

NUMPY_ONLY = ["io", "noise", "estimate", "metrics", "patches", "tiling", "masking"]


def test_numpy_only_modules_do_not_import_torch():
    present = [m for m in NUMPY_ONLY if importlib.util.find_spec(f"noise2x.{m}") is not None]
    assert {"io", "noise", "estimate"} <= set(present)
    code = (
        "import sys\n"
        f"for name in {present!r}:\n"
        "    __import__('noise2x.' + name)\n"
        "import noise2x\n"
        "noise2x.read_image, noise2x.noise.parse_noise\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print('TORCH' if bad else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CLEAN", f"torch imported by {present}"


def test_commands_that_run_no_network_import_no_torch(tmp_path):
    """`noise2x methods`, `noise2x info IMAGE` and a classical method's denoise imported torch (slow, and large in
    memory) for checks and listings that need none (a performance QA pass). They run without it; the method names
    they list are the registries' (checked here)."""
    import numpy as np
    from PIL import Image

    from noise2x import api
    from noise2x.methods import METHODS
    from noise2x.zeroshot import ZERO_SHOT

    assert api.ZERO_SHOT_NAMES == tuple(ZERO_SHOT) and api.TRAINABLE_NAMES == tuple(METHODS)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)).save(tmp_path / "a.png")
    for argv in (["methods"], ["info", str(tmp_path / "a.png")],
                 ["denoise", str(tmp_path / "a.png"), "--method", "nlm", "--out", str(tmp_path / "o.png"), "-q"]):
        code = ("import sys; from noise2x.cli import main; code = main(" + repr(argv) + "); "
                "print(code, any(m == 'torch' or m.startswith('torch.') for m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.split()[-2:] == ["0", "False"], (argv, out.stdout, out.stderr)
