#!/usr/bin/env python
"""Where a zero-shot training step spends its time on a device: MASH's step 3 and ZS-N2N's step.

Prints, for each method at its cpu preset on a 256x256 RGB noise image: the wall time per training step
(``--steps`` steps after 20 untimed ones) and, from ``torch.profiler`` over 30 more steps, the GPU's
kernel time per step (with CUDA) and the ops taking the most time on the host and on the device.
A step whose kernels take much less than its wall time is bound by the host (launching kernels, the
draws on the CPU, Python), not by the GPU's arithmetic.

Usage: python scripts/zeroshot_profile.py [--device cuda] [--steps 200] [--rows 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from noise2x.zeroshot.mash import PRESETS as MASH_PRESETS
from noise2x.zeroshot.mash import _train
from noise2x.zeroshot.nets import NoiseNet, Reporter, make_generators, new_network, to_tensor
from noise2x.zeroshot.zs_n2n import zs_n2n_loss


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    dev = torch.device(args.device)
    image = np.random.default_rng(0).normal(128, 40, (256, 256, 3))
    x = to_tensor(image, dev)
    cfg = dict(MASH_PRESETS["cpu"])

    def mash_steps(n: int) -> None:
        _, gen = make_generators(0)
        _train(x, ratio=0.5, steps=n, cfg=cfg, gen=gen, report=Reporter(None, "", n), clip=cfg["grad_clip"])

    _, gen = make_generators(0)
    xs = x[..., :64, :64].contiguous(memory_format=torch.channels_last)
    net = new_network(NoiseNet, 3, 32, gen=gen, device=dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def zs_steps(n: int) -> None:
        for _ in range(n):
            loss = zs_n2n_loss(net, torch.cat([xs] * 16))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    for name, run in (("mash step 3 (64x64 crops, width 32)", mash_steps), ("zs_n2n (16 tiles of 64x64)", zs_steps)):
        run(20)
        _sync(dev)
        t0 = time.perf_counter()
        run(args.steps)
        _sync(dev)
        wall = (time.perf_counter() - t0) / args.steps * 1e3
        with profile(activities=activities) as prof:
            run(30)
            _sync(dev)
        events = prof.key_averages()
        line = f"== {name} on {dev}: {wall:.2f} ms per step (wall)"
        if dev.type == "cuda":
            kernels = sum(e.self_device_time_total for e in events) / 30 / 1e3
            line += f", GPU kernels {kernels:.2f} ms per step"
        print(line, flush=True)
        print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows), flush=True)
        if dev.type == "cuda":
            print(events.table(sort_by="self_device_time_total", row_limit=args.rows // 2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
