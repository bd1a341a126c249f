"""Cut-out photos (an RGBA image whose transparent part holds black): the no-option call with the noise read
from the opaque pixels (mask=, as `noise2x denoise` passes them) against the whole image read as it is.

    python scripts/cutout_check.py [--data ../shared/data/cbsd68] [--limit 8] [--out benchmarks/cutout_cbsd68.json]

Each photo i: PROTOCOL noise (rng = i) on the clean photo, rounded and clipped to 8 bits (a PNG), its left two
thirds transparent and black. PSNR on the opaque part against the clean photo.
"""
import json
import os
import time
import warnings

import numpy as np

from noise2x import api, io
from noise2x.errors import NoteWarning
from noise2x.metrics import psnr
from noise2x.noise import protocol_noisy

from _record import check_args, write_record


def main(argv=None) -> int:
    args = check_args(argv, "cbsd68")
    start = time.time()
    rows = []
    for spec in args.noises.split(","):
        for i, path in enumerate(io.list_images(args.data)[: args.limit]):
            clean = io.read_image(path)
            noisy = np.clip(np.round(protocol_noisy(clean, spec, index=i)), 0, 255)
            opaque = np.ones(clean.shape[:2], bool)
            opaque[:, : clean.shape[1] * 2 // 3] = False
            noisy[~opaque] = 0.0
            row = {"noise": spec, "image": os.path.basename(str(path)), "noisy": psnr(clean[opaque], noisy[opaque])}
            for name, mask in (("whole", None), ("opaque", opaque)):
                info = {}
                with warnings.catch_warnings():  # (the whole image's fill is said as a note: measured here)
                    warnings.simplefilter("ignore", NoteWarning)
                    out = api.denoise(noisy, mask=mask, info=info)
                row[name] = psnr(clean[opaque], out[opaque])
                row[name + "_route"] = str(info.get("method"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for spec in args.noises.split(","):
        r = [x for x in rows if x["noise"] == spec]
        summary[spec] = {k: round(float(np.mean([x[k] for x in r])), 3) for k in ("noisy", "whole", "opaque")}
        print(spec, summary[spec], flush=True)
    if args.out:
        write_record(args.out, "cutout_check.py", args, start, rows=rows, summary=summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
