"""How noise correlated along one axis reads, along each axis and over both, and where the no-option choice sends
it: the calibration of ``noise2x.estimate.ONE_AXIS_SHARE`` and ``noise2x.pretrained.ONE_AXIS_PSD_BETA``.

    python scripts/correlation_direction_check.py [--limit 20] [--out benchmarks/correlation_direction.json]

For each noise (white Gaussian, Poisson, correlated both ways, correlated along rows or columns alone) on the first
``--limit`` BSD68 images (the protocol's seed per image, values clipped to 0..255 as an 8-bit file holds them):
``noise2x.estimate.correlation_axes``' beta along rows and along columns, the smaller as a share of the larger, the
beta read over both axes (``correlation``), and the no-option choice (``noise2x.pretrained.choose``): its route, and
the axis it read, if any.
"""
import argparse
import collections
import time

import numpy as np

from noise2x import estimate, pretrained
from noise2x.io import list_images, read_image
from noise2x.noise import protocol_noisy

from _record import write_record

NOISES = ("gaussian:sigma=1", "gaussian:sigma=2", "gaussian:sigma=5", "gaussian:sigma=15", "gaussian:sigma=25",
          "poisson:peak=30", "correlated:sigma=25,beta=0.5", "correlated:sigma=25,beta=1",
          "correlated:sigma=10,beta=1", "correlated_rows:sigma=25,beta=0.5", "correlated_rows:sigma=10,beta=1",
          "correlated_rows:sigma=25,beta=1", "correlated_columns:sigma=25,beta=1")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="../shared/data/bsd68")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--out", default="benchmarks/correlation_direction.json")
    args = p.parse_args()
    start = time.time()
    files = sorted(list_images(args.dataset))[: args.limit]
    rows = []
    for spec in NOISES:
        readings, routes = [], collections.Counter()
        for i, f in enumerate(files):
            noisy = np.clip(protocol_noisy(read_image(f), spec, index=i), 0, 255)
            _, rows_beta, columns_beta = estimate.correlation_axes(noisy)[:3]
            both = estimate.correlation(noisy).beta
            share = min(rows_beta, columns_beta) / max(rows_beta, columns_beta, 1e-12)
            readings.append((rows_beta, columns_beta, share, both))
            c = pretrained.choose(noisy)
            route = c.method or c.model.stem
            routes[route + (f" along {c.options['along']}" if c.options.get("along") else "")] += 1
        a = np.array(readings)
        row = {"noise": spec, "images": len(files),
               "beta_rows": [round(float(v), 3) for v in (np.median(a[:, 0]), a[:, 0].min(), a[:, 0].max())],
               "beta_columns": [round(float(v), 3) for v in (np.median(a[:, 1]), a[:, 1].min(), a[:, 1].max())],
               "share": [round(float(v), 3) for v in (np.median(a[:, 2]), a[:, 2].min(), a[:, 2].max())],
               "beta_both": round(float(np.median(a[:, 3])), 3), "routes": dict(routes)}
        rows.append(row)
        print(f"{spec:36s} rows {row['beta_rows']} columns {row['beta_columns']} share {row['share']} "
              f"both {row['beta_both']} routes {dict(routes)}", flush=True)
    write_record(args.out, "correlation_direction_check.py", args, start, rows=rows,
                 one_axis_share=estimate.ONE_AXIS_SHARE, one_axis_psd_beta=pretrained.ONE_AXIS_PSD_BETA)


if __name__ == "__main__":
    main()
