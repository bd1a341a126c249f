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
