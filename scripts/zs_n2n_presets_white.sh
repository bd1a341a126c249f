# ZS-N2N cpu vs paper preset on the zero-shot table's first two CBSD68 256x256 crops, white Gaussian sigma 25 (PROTOCOL noise, rng = i).
python - <<'PY'
import json, sys, time
sys.path.insert(0, "scripts")
from zeroshot_bench import centre_crop, DATA
from noise2x.io import list_images, read_image
from noise2x.noise import protocol_noisy
from noise2x.metrics import psnr
from noise2x.zeroshot import zs_n2n
rows = []
for i, path in enumerate(list_images(DATA / "cbsd68")[:2]):
    clean = centre_crop(read_image(path), 256)
    noisy = protocol_noisy(clean, "gaussian:sigma=25", index=i)
    for preset in ("cpu", "paper"):
        t = time.perf_counter(); out = zs_n2n(noisy, rng=i, preset=preset); sec = time.perf_counter() - t
        rows.append({"file": path.name, "preset": preset, "noisy": psnr(clean, noisy, clip=False), "psnr": psnr(clean, out), "seconds": sec})
        print(rows[-1], flush=True)
json.dump({"command": "runs/queue/80_zs_paper.sh", "date": time.strftime("%Y-%m-%d"), "rows": rows}, open("runs/zs_paper_white.json", "w"), indent=1)
PY
