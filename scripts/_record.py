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


def check_args(argv, dataset: str, noises: str = "gaussian:sigma=3,gaussian:sigma=15"):
    """The options --data (default ../shared/data/DATASET), --limit (8), --noises and --out, parsed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", dataset))
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--noises", default=noises)
    ap.add_argument("--out", default=None)
    return ap.parse_args(argv)
