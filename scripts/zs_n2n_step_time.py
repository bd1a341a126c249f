#!/usr/bin/env python
"""Time one ZS-N2N training step (loss, backward, Adam) on a random image: a quick gauge of the host's speed.

The cpu preset's wall time is about ``steps`` times this (1200 steps), so a
step time above 50 ms means a 256x256 RGB image will take longer than the
60 s that issue #6 budgets. Usage::

    python scripts/zs_n2n_step_time.py [--size 256] [--channels 3] [--width 32] [--steps 100]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from noise2x.zeroshot.nets import NoiseNet, new_network
from noise2x.zeroshot.zs_n2n import zs_n2n_loss


def step_time(size: int, channels: int, width: int, steps: int, warmup: int = 10) -> float:
    """Mean seconds per training step, after ``warmup`` untimed steps (channels-last, as zs_n2n runs)."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(1, channels, size, size, generator=gen) * 255).contiguous(memory_format=torch.channels_last)
    net = new_network(NoiseNet, channels, width, gen=gen).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> None:
        loss = zs_n2n_loss(net, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    if min(args.size, args.channels, args.width, args.steps) < 1 or args.size < 4:
        print("error: need --size >= 4 and --channels, --width, --steps >= 1", file=sys.stderr)
        return 2
    sec = step_time(args.size, args.channels, args.width, args.steps)
    print(f"{sec * 1000:.1f} ms per step ({args.size}x{args.size}x{args.channels}, width {args.width}, "
          f"{torch.get_num_threads()} threads); 1200 steps: {sec * 1200:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
