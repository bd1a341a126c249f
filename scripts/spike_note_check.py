"""Isolated spikes under the impulse route: which images the note (``noise2x.api.spikes_note``) reaches, and what
its advice (``--noise impulse:p=P``: ZS-N2N) does.

    python scripts/spike_note_check.py [--out benchmarks/spike_note_check.json]

Spiked: the first 8 BSD68 images (PROTOCOL.md's white noise of sigma 5 and 15, seed = index), then salt and pepper
(0 or 255) or impulses (random values) on 0.05%, 0.1% and 0.2% of the pixels (seed 1000 + index): how many get the
note, and on the first 3 at 0.2% the PSNR of the no-option route against the note's advice. Scope: every input of
the committed benchmark files (PROTOCOL.md), and the clean images: how many get the note.
"""
import os
import sys
import time

import numpy as np

from noise2x import api, estimate, pretrained
from noise2x.io import list_images, read_image
from noise2x.metrics import psnr
from noise2x.noise import impulse, protocol_noisy, salt_pepper

from _record import benchmark_inputs, finish, scope_args


def noted(noisy: np.ndarray) -> bool:
    """Whether the no-option choice reads spikes (the note's fact), read only where impulses are (a quick test)."""
    if estimate.impulse_share(noisy) < pretrained.SPIKE_SHARE:
        return False
    return "spike_share" in pretrained.choose(noisy).facts


def scope(shared: str, benchmarks: str) -> dict:
    cache: dict = {}
    inputs, hits = 0, []
    for name, y in benchmark_inputs(shared, benchmarks, cache):
        inputs += 1
        if noted(y):
            hits.append(name)
    clean = [os.path.basename(str(p)) for p, img in cache.items() if noted(img)]
    return {"benchmark_inputs": inputs, "noted": hits, "clean_images": len(cache), "clean_noted": clean}


def main(argv=None) -> None:
    args = scope_args(argv)
    start = time.time()
    files = sorted(list_images(os.path.join(args.shared, "data", "bsd68")))[:8]
    rows = []
    for sigma in (5, 15):
        for kind, add in (("salt and pepper", salt_pepper), ("impulses", impulse)):
            for p in (0.0005, 0.001, 0.002):
                hits, scores = 0, []
                for i, f in enumerate(files):
                    clean = read_image(f)
                    noisy = np.clip(protocol_noisy(clean, f"gaussian:sigma={sigma}", index=i), 0, 255)
                    noisy = add(noisy, p=p, rng=1000 + i)
                    hits += noted(noisy)
                    if p == 0.002 and i < 3 and sigma == 5:
                        said: list = []
                        default = api.denoise(noisy, progress=said.append)
                        advised = api.denoise(noisy, noise=f"impulse:p={p}", progress=said.append)
                        scores.append({"image": f.name, "noisy": round(psnr(clean, noisy), 3),
                                       "default": round(psnr(clean, default), 3),
                                       "advised": round(psnr(clean, advised), 3)})
                        print(scores[-1], flush=True)
                row = {"sigma": sigma, "kind": kind, "p": p, "images": len(files), "noted": hits, "scores": scores}
                rows.append(row)
                print(row, flush=True)
    summary = {"noted_at": {f"{r['kind']}, p {r['p']}, sigma {r['sigma']}": f"{r['noted']} of {r['images']}"
                            for r in rows}}
    finish(args, "spike_note_check.py", start, rows, summary, scope)


if __name__ == "__main__":
    main(sys.argv[1:])
