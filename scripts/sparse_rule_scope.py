"""Which committed benchmark inputs does the sparse-image rule of the no-option choice touch (noise2x.pretrained.
SPARSE_SHARE: an image whose median, in 8-bit units with its lowest values at 0, is below that share of its 99th
percentile has its shot noise weighed at that percentile, not at the mean)? And the RNI15 photos.

    python scripts/sparse_rule_scope.py [--shared ../shared] [--benchmarks benchmarks]

Every dataset/noise pair of the committed benchmark files is rebuilt by PROTOCOL.md and mapped to 8-bit units
as the choice maps it (io.to_8bit_units); an input is touched when the image or any of its channels is sparse
(a superset of what the choice reads). Untouched inputs get the same choices and outputs as before the rule; each
touched one is given to the choice with the rule on and off (SPARSE_SHARE 0), and those whose choice (model or
method, and its options) differs are listed: only those can have other outputs.
"""
import argparse
import os

import numpy as np

from noise2x import io, pretrained
from noise2x.noise import parse_noise, protocol_noisy

from _record import benchmark_pairs

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--benchmarks", default=os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
args = ap.parse_args()


def sparse(image: np.ndarray) -> bool:
    offset, scale = io.to_8bit_units(image)
    planes = [image] + ([image[..., c] for c in range(image.shape[2])] if image.ndim == 3 else [])
    for plane in planes:
        median, top = np.percentile((plane - offset) * scale, [50, 99])
        if top > 0 and median < pretrained.SPARSE_SHARE * top:
            return True
    return False


combos = benchmark_pairs(args.benchmarks)
print(len(combos), "dataset/noise pairs", flush=True)
cache, touched, changed = {}, [], []
for (ds, spec), n in sorted(combos.items()):
    root = os.path.join(args.shared, "data", ds)
    if not os.path.isdir(root):
        print("skip", ds, spec)
        continue
    try:
        ns = parse_noise(spec)
    except Exception as e:
        print("skip", ds, spec, e)
        continue
    hits = 0
    for i, p in enumerate(io.list_images(root)[:n]):
        if p not in cache:
            cache[p] = io.read_image(p)
        try:
            y = protocol_noisy(cache[p], ns, index=i)
        except Exception as e:
            print("skip", ds, spec, e)
            break
        if sparse(y):
            hits += 1
            touched.append((ds, spec, os.path.basename(str(p))))
            choices = []
            for share in (pretrained.SPARSE_SHARE, 0.0):
                pretrained.SPARSE_SHARE, kept = share, pretrained.SPARSE_SHARE
                c = pretrained.choose(y)
                pretrained.SPARSE_SHARE = kept
                choices.append((c.model.stem if c.model else c.method, c.options, c.reason))
            if choices[0] != choices[1]:
                changed.append((ds, spec, os.path.basename(str(p)), choices[1][0], "->", choices[0][0]))
    print(ds, spec, "touched:", hits, flush=True)
clean = [(ds, os.path.basename(str(p))) for ds in ("bsd68", "set12", "cbsd68", "train400")
         for p in io.list_images(os.path.join(args.shared, "data", ds)) if sparse(io.read_image(p))]
print("clean images of bsd68, set12, cbsd68, train400 read as sparse:", clean)
rni = os.path.join(args.shared, "data", "rni15")
print("rni15 read as sparse:", [os.path.basename(str(p)) for p in io.list_images(rni) if sparse(io.read_image(p))])
print("TOTAL touched", len(touched), "of which the choice changed:", len(changed))
for row in changed:
    print("changed", *row)
