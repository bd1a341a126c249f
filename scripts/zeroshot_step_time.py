#!/usr/bin/env python
"""Seconds per training step of the zero-shot networks, contiguous against channels-last weights and inputs.

ZS-N2N: one loss + backward + Adam step on a 256x256 RGB image (the cpu preset's width), and what the
cpu preset's step count costs at that speed: a quick gauge of the host's speed against issue #6's 60 s
budget. MASH: a training step on a 64x64 crop and a full 256x256 forward pass (the cpu preset's U-Net).
Usage:
    python scripts/zeroshot_step_time.py [THREADS]
"""

import sys
import time

import torch

from noise2x.zeroshot.mash import PRESETS as MASH_PRESETS
from noise2x.zeroshot.nets import MaskedUNet, NoiseNet, make_generators, new_network
from noise2x.zeroshot.zs_n2n import PRESETS as ZS_PRESETS
from noise2x.zeroshot.zs_n2n import zs_n2n_loss


def per_call(fn, warm: int, runs: int) -> float:
    for _ in range(warm):
        fn()
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - t0) / runs


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    for layout in (torch.contiguous_format, torch.channels_last):
        _, gen = make_generators(0)
        zs = new_network(NoiseNet, 3, ZS_PRESETS["cpu"]["width"], gen=gen).to(memory_format=layout)
        unet = new_network(MaskedUNet, 3, MASH_PRESETS["cpu"]["width"], gen=gen).to(memory_format=layout)
        opts = [torch.optim.Adam(n.parameters(), lr=1e-3) for n in (zs, unet)]
        full = torch.randn(1, 3, 256, 256).contiguous(memory_format=layout)
        crop = torch.randn(1, 3, 64, 64).contiguous(memory_format=layout)

        def zs_step():
            opts[0].zero_grad()
            zs_n2n_loss(zs, full).backward()
            opts[0].step()

        def mash_step():
            opts[1].zero_grad()
            (unet(crop) - crop).abs().mean().backward()
            opts[1].step()

        def mash_infer():
            with torch.no_grad():
                unet(full)

        name = "channels_last" if layout is torch.channels_last else "contiguous"
        zs_sec = per_call(zs_step, 3, 10)
        print(f"{name}: zs_n2n step {zs_sec:.4f} s ({ZS_PRESETS['cpu']['steps']} steps: "
              f"{zs_sec * ZS_PRESETS['cpu']['steps']:.0f} s), mash step (64x64) "
              f"{per_call(mash_step, 5, 20):.4f} s, mash forward (256x256) {per_call(mash_infer, 1, 5):.4f} s",
              flush=True)


if __name__ == "__main__":
    main()
