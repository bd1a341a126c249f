"""The check scripts' command line (a dataset, how many images, which noises, the record file) and what they
write beside their figures: the command that made them, when, how long, where."""
import argparse
import json
import os
import platform
import time


def write_record(out: str, script: str, args, start: float, **payload) -> None:
    """Write ``payload`` and its ``meta`` (command, date, wall time, machine) to ``out`` atomically."""
    meta = {"command": f"python scripts/{script} " + " ".join(f"--{k} {v}" for k, v in vars(args).items() if v),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(start)), "wall_seconds": round(time.time() - start),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    with open(out + ".tmp", "w") as fh:
        json.dump({**payload, "meta": meta}, fh, indent=1)
    os.replace(out + ".tmp", out)


def benchmark_pairs(folder: str) -> dict:
    """Every (dataset, noise) pair of the committed benchmark files' tables in ``folder`` (rows with a dataset and
    a noise, the noisy row aside), with the most images any of them took: ``{(dataset, noise): n}``."""
    import glob

    pairs: dict = {}
    for f in glob.glob(os.path.join(folder, "*.json")):
        try:
            with open(f) as fh:
                d = json.load(fh)
        except Exception:
            continue
        rows = d.get("rows") if isinstance(d, dict) else None
        for r in rows if isinstance(rows, list) else []:
            if isinstance(r, dict) and r.get("dataset") and r.get("noise") and r.get("method") != "noisy":
                key = (str(r["dataset"]).split("/")[-1], str(r["noise"]))
                pairs[key] = max(pairs.get(key, 0), int(r.get("n_images") or 68))
    return pairs


def scope_args(argv):
    """The options of a check that also reports its scope in the benchmark inputs: --shared (../shared), --benchmarks
    (benchmarks), --seeds (3), --out, parsed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--benchmarks", default=os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=None)
    return ap.parse_args(argv)


def finish(args, script: str, start: float, rows: list, summary: dict, scope) -> None:
    """A check's end: its ``summary`` printed, ``scope(shared, benchmarks)`` (the committed benchmark inputs it
    touches) where ``args.shared`` holds the datasets, and the record written to ``args.out`` where given."""
    for key, value in summary.items():
        print(key, value, flush=True)
    found = scope(args.shared, args.benchmarks) if os.path.isdir(os.path.join(args.shared, "data")) else {}
    if args.out:
        write_record(args.out, script, args, start, rows=rows, summary=summary, scope=found)


def benchmark_inputs(shared: str, benchmarks: str, cache: dict):
    """The inputs every dataset/noise pair of the committed benchmark files (:func:`benchmark_pairs`) rebuilds by
    PROTOCOL.md from the datasets in ``shared``/data: ``(name, noisy image)``, name "DATASET NOISE FILE"; the clean
    images read kept in ``cache`` (path: image)."""
    from noise2x import io
    from noise2x.noise import parse_noise, protocol_noisy

    for (ds, spec), n in sorted(benchmark_pairs(benchmarks).items()):
        root = os.path.join(shared, "data", ds)
        if not os.path.isdir(root):
            continue
        try:
            ns = parse_noise(spec)
        except Exception:  # (a pair no spec of today's reads)
            continue
        for i, p in enumerate(io.list_images(root)[:n]):
            if p not in cache:
                cache[p] = io.read_image(p)
            try:
                y = protocol_noisy(cache[p], ns, index=i)
            except Exception:
                break
            yield f"{ds} {spec} {os.path.basename(str(p))}", y


def check_args(argv, dataset: str, noises: str = "gaussian:sigma=3,gaussian:sigma=15"):
    """The options --data (default ../shared/data/DATASET), --limit (8), --noises and --out, parsed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", dataset))
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--noises", default=noises)
    ap.add_argument("--out", default=None)
    return ap.parse_args(argv)
