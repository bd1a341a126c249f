"""What the check scripts write beside their figures: the command that made them, when, how long, where."""
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
