"""Which committed benchmark inputs does the fill rule of noise2x.estimate touch (a 5x5 block of one value, outside
photon counts: left out of the noise estimate since 59812d0; in photon counts a block of one count other than 0,
since the commit after 20a5a6e)? And how the no-option choice reads the RNI15 photos.

    python scripts/fill_rule_scope.py [--shared ../shared] [--benchmarks benchmarks]

Every dataset/noise pair of the committed benchmark files is rebuilt by PROTOCOL.md; an input is touched when
one of its channels holds such a block (as _unclipped_windows decides). Untouched
inputs get the same estimates, choices and outputs as before the rule.
"""
import os
import numpy as np
from _record import benchmark_pairs
from noise2x import io
from noise2x.estimate import _box_sum
from noise2x.noise import parse_noise, protocol_noisy

import argparse
ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--benchmarks", default=os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
args = ap.parse_args()
combos = benchmark_pairs(args.benchmarks)
print(len(combos), "dataset/noise pairs", flush=True)
cache = {}
touched = []
for (ds, spec), n in sorted(combos.items()):
    root = os.path.join(args.shared, "data", ds)
    if not os.path.isdir(root):
        print("skip", ds, spec); continue
    try:
        ns = parse_noise(spec)
    except Exception as e:
        print("skip", ds, spec, e); continue
    files = io.list_images(root)[:n]
    hits = 0
    for i, p in enumerate(files):
        if p not in cache:
            cache[p] = io.read_image(p)
        try:
            y = protocol_noisy(cache[p], ns, index=i)
        except Exception as e:
            print("skip", ds, spec, e); break
        chans = [y] if y.ndim == 2 else [y[..., c] for c in range(y.shape[2])]
        for c in chans:
            steps = _box_sum((c[:, 1:] != c[:, :-1]).astype(float), 5, 4) + _box_sum((c[1:, :] != c[:-1, :]).astype(float), 4, 5)
            if not (steps < 0.5).any():
                continue
            pos = c[c > 0]
            counts = c.min() == 0 and pos.size > 0 and np.count_nonzero(pos < 2.55) <= 1e-3 * pos.size
            # (in photon counts only a block of a count other than 0 is a fill: since the rule's second change)
            if not counts or (c[: c.shape[0] - 4, : c.shape[1] - 4][steps < 0.5] != 0).any():
                hits += 1; touched.append((ds, spec, os.path.basename(str(p)))); break
    print(ds, spec, len(files), "touched:", hits, flush=True)
print("TOTAL touched", len(touched), touched)
from noise2x import pretrained  # noqa: E402

rni = os.path.join(args.shared, "data", "rni15")
for p in io.list_images(rni) if os.path.isdir(rni) else []:
    c = pretrained.choose(io.read_image(p))
    print("rni15", os.path.basename(str(p)), c.model.stem if c.model else c.method, "sigma", c.facts.get("sigma"),
          "beta", c.facts.get("beta"), "options", c.options, flush=True)
