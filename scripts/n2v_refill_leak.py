#!/usr/bin/env python
"""How often Noise2Void refills a blind spot with another blind spot's value (its target), per masking setting.

Usage: python scripts/n2v_refill_leak.py [--batches N]
Draws batches of 16 x 64x64 gray patches as the cpu preset trains them, with noise2x.masking's stratified blind
spots and uniform refills (the reference code's draw, and with spare_blind_spots), and prints the share of refills
read from another blind spot.
"""

import argparse

import numpy as np

from noise2x import masking

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--batches", type=int, default=50)
args = parser.parse_args()
shape = (16, 1, 64, 64)
for name, percent, radius in (("cpu preset", 6.25, 2), ("default", 1.5, 5), ("paper preset", 0.198, 2)):
    for spare in (False, True):
        rng = np.random.default_rng(0)
        leaked = total = 0
        for _ in range(args.batches):
            coords = masking.stratified_coords(shape, percent=percent, rng=rng)
            src = masking.neighbour_coords(coords, shape=shape, radius=radius, rng=rng, spare_blind_spots=spare)
            blind = np.zeros(shape, bool)
            blind[coords] = True
            leaked += int(blind[src].sum())
            total += len(coords[0])
        print(f"{name} ({percent} %, r = {radius}), spare_blind_spots={spare}: {leaked} of {total} refills "
              f"({100 * leaked / total:.2f} %) from another blind spot")
