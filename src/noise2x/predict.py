"""Tiled inference: the only numpy <-> torch boundary for applying a model.

:func:`denoise_array` takes an image (H, W) or (H, W, C) in its own units and
returns the denoised image in the same units, same shape, float32. Large
images are processed in overlapping tiles (batched), blended smoothly
(:mod:`noise2x.tiling`); peak memory is the output image plus a batch of
tiles, whatever the image size. ``tta=True`` averages the 8 D4 transforms.
A one-channel (gray) model denoises a colour image plane by plane: an RGB
image through a luminance/chrominance transform (:func:`to_luma_chroma`),
other channel counts channel by channel, where ``colour='channels'`` says
so (``colour``: data of 2, 4 or more channels is refused without it, the
layouts it may be named in the error). On the CPU the
network runs in the channels-last memory layout (the same result to float
rounding; the blind-spot network 1.6 times faster, the U-Nets unchanged);
``precision="bf16"`` (or ``"fp16"`` on a GPU) runs its forward pass in half
precision under ``torch.autocast``.

:class:`Denoiser` bundles a model, its method and its metadata; it is what
``noise2x.load_model`` returns and ``noise2x denoise --model`` uses.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from . import config
from .errors import InputError, UsageError, called_from_outside, warn_outside
from .tiling import TILE_PROGRESS, Stitcher, check_tile_arguments, context_region, tile_grid


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda if available, else mps, else cpu; other values are checked.

    Raises
    ------
    UsageError
        An unknown device, or one that is not available here.
    """
    if isinstance(device, torch.device):
        return device
    name = str(device or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    check_device_name(str(device))
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda requested but no CUDA GPU is available; use --device cpu or auto "
                         "(device='cpu' in Python)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("device mps requested but MPS is not available; use --device cpu or auto (device='cpu' in "
                         "Python)")
    return dev


def check_device_name(device: str) -> None:
    """UsageError for a device name no machine has (``gpu``, ``tpu``): said before any work; whether a named one is
    here is :func:`resolve_device`'s to say, where it is used."""
    name = str(device or "auto").lower()
    if name == "auto":
        return
    try:
        kind = torch.device(name).type
    except RuntimeError:
        kind = ""
    if kind not in ("cpu", "cuda", "mps"):
        raise UsageError(f"unknown device {device!r}; valid: auto, cpu, cuda, cuda:N, mps")




def _affinity() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return None


#: torch's thread count as it set it when imported (before any call here changed it)
TORCH_DEFAULT_THREADS = max(1, torch.get_num_threads())


def cpu_count() -> int:
    """CPU cores available to this process: those it may run on (a job's cpuset), at most a Slurm job's
    ``SLURM_CPUS_PER_TASK``."""
    cpus = _affinity()
    cores = max(1, len(cpus) if cpus is not None else os.cpu_count() or 1)
    slurm = config.whole_number(os.environ.get("SLURM_CPUS_PER_TASK"))
    return min(cores, slurm) if slurm else cores




def user_threads() -> int | None:
    """The CPU threads the user set (a Python call's ``threads=``, :data:`THREADS_ENV`, else ``OMP_NUM_THREADS``),
    or None; 1 in a fork-started process (:data:`noise2x.config.FORKED`, with a warning where more were set)."""
    told = config.told_threads()
    return forked_threads(told) if config.FORKED else told


_FORK_SAID = False


def forked_threads(told: int | None) -> int:
    """1: the threads torch can run on in a fork-started process (:data:`noise2x.config.FORKED`); a
    RuntimeWarning, once, where ``told`` asked for more."""
    global _FORK_SAID
    if told and told > 1 and not _FORK_SAID:
        _FORK_SAID = True
        warn_outside(RuntimeWarning(
            f"noise2x: this process was started by fork from one that had loaded torch: it runs torch on "
            f"1 thread, not {told} (more would wait forever for threads fork did not copy); start worker "
            f"processes with 'spawn' or 'forkserver' (multiprocessing.get_context) for more"))
    return 1


def _stat_reading(mine: Any) -> tuple[int, int, int] | None:
    """Busy and total ticks of /proc/stat on the cores ``mine`` (all: the whole machine's line), and how many
    cores that is; None where it cannot be read."""
    try:
        with open("/proc/stat") as fh:
            lines = [line.split() for line in fh if line.startswith("cpu")]
    except OSError:
        return None
    per_cpu = [p for p in lines if p[0] != "cpu" and p[0][3:].isdigit()]
    if mine is not None and per_cpu:
        rows, scale = [p for p in per_cpu if int(p[0][3:]) in mine], None
    else:  # the whole machine's line, scaled by its cores
        rows, scale = [p for p in lines if p[0] == "cpu"], os.cpu_count() or 1
    if not rows:
        return None
    busy = total = 0
    for parts in rows:
        v = [int(x) for x in parts[1:9]]
        v += [0] * (8 - len(v))
        user, nice, system, idle, iowait, irq, softirq, steal = v
        busy += user + system + irq + softirq + steal
        total += sum(v)
    return busy, total, scale or len(rows)  # (the busy share of the time, of so many cores)


def _busy_cores(interval: float = 0.25) -> float | None:
    """Cores busy right now with normal-priority work among those this process may run on, from two reads of
    /proc/stat (None if unavailable): on a cluster node, other jobs' work on the other cores does not count.

    Niced work (background jobs started with ``nice``) does not count: it yields to us.
    """
    mine = _affinity()

    def read() -> tuple[int, int, int] | None:
        return _stat_reading(mine)

    # (the last reading, where it is recent, is the first of the two: every process waited the whole quarter
    # second, a performance QA pass; one older than BUSY_READ_S would count a job that has ended since)
    # This process's own work in the window is not another job's: it is taken off (read from the module's
    # import, the window held the loading of a model and the reading of an image, which took a core from the
    # threads: a QA re-check).
    since, a, own = _STAT_BASE
    waited = time.monotonic() - since
    if a is None or waited > BUSY_READ_S:
        since, a, own, waited = time.monotonic(), read(), time.process_time(), 0.0
        if a is None:
            return None
    if waited < interval:
        time.sleep(interval - waited)
    b, now, own_now = read(), time.monotonic(), time.process_time()
    _STAT_BASE[:] = [now, b, own_now]
    if b is None or a is None or b[1] <= a[1] or b[2] != a[2]:
        return None
    mine_cores = (own_now - own) / max(now - since, 1e-6)
    return max(0.0, (b[0] - a[0]) / (b[1] - a[1]) * b[2] - mine_cores)


#: How long a reading of the busy cores (:func:`_busy_cores`, a quarter second's wait) serves the calls after it:
#: a service's or a stack's many small calls each waited that quarter second (an integrator's QA pass)
BUSY_READ_S = 5.0
_BUSY_READ: list[Any] = [float("-inf"), None]  # (when, the reading)
#: The last raw reading of /proc/stat (when, busy and total ticks, cores) that :func:`_busy_cores` starts from
_STAT_BASE: list[Any] = [float("-inf"), None, 0.0]  # (when, the reading, this process's CPU seconds then)
with contextlib.suppress(Exception):  # (read when predict is imported: the first reading waits what is left)
    _busy_cores(0.0)


def _busy_cores_recent() -> float | None:
    """:func:`_busy_cores`, read at most every :data:`BUSY_READ_S` seconds."""
    when, busy = _BUSY_READ
    if time.monotonic() - when > BUSY_READ_S:
        busy = _busy_cores()
        _BUSY_READ[:] = [time.monotonic(), busy]
    return busy


def auto_threads() -> int:
    """CPU threads for torch's work: those the user set (:func:`user_threads`: ``--threads``,
    ``NOISE2X_THREADS``, ``OMP_NUM_THREADS``), else the cores not already busy (at least 1).

    On a machine shared with other jobs, oversubscribing the cores makes torch's
    threads wait for each other: one thread per idle core is faster. The busy
    cores are measured over a quarter second (the load average would still
    count a job that has just ended for a minute), on the cores this process
    may run on, at most every :data:`BUSY_READ_S` seconds; niced jobs do not count.
    """
    told = user_threads()
    if told:
        return told
    # (at most torch's own default, its physical cores where it counts them: a Windows laptop's logical cores,
    # twice as many with hyperthreading, were all taken, in a portability QA pass)
    cores = min(cpu_count(), TORCH_DEFAULT_THREADS)
    busy = _busy_cores_recent()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # pragma: no cover - not Unix
            busy = 0.0
    return max(1, min(cores, int(round(cores - busy))))


@contextlib.contextmanager
def cpu_threads(n: int = 0) -> Iterator[int]:
    """Run a block with ``n`` torch CPU threads (0 = :func:`auto_threads`), then restore the setting: this
    thread's as it found it, and the process's as it was before the first of the blocks under way in any thread
    (torch's setting is partly process-wide: two threads' overlapping blocks each put back the other's, and every
    thread started after them ran on 1 thread: a concurrency QA pass)."""
    n = n or auto_threads()
    if config.FORKED:
        n = forked_threads(n)
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(n)  # (first: a refused n left the count of blocks raised, a re-check)
        if _THREADS_BLOCKS[0] == 0:
            _THREADS_BLOCKS[1] = before
        _THREADS_BLOCKS[0] += 1
    try:
        yield n
    finally:
        with _THREADS_LOCK:
            _THREADS_BLOCKS[0] -= 1
            torch.set_num_threads(_THREADS_BLOCKS[1] if _THREADS_BLOCKS[0] == 0 else before)


#: :func:`cpu_threads`' blocks under way in the process, and torch's setting before the first of them
_THREADS_BLOCKS: list = [0, 1]
_THREADS_LOCK = threading.Lock()


def _d4_tensor(x: torch.Tensor, k: int) -> torch.Tensor:
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def _d4_tensor_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def _predictor(model: Any, method: Any, tta: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        return model(x) if method is None else method.predict(model, x)

    if not tta:
        return run

    transforms = tuple(range(8)) if method is None else method.symmetries  # (structN2V: those keeping its mask)

    def run_tta(x: torch.Tensor) -> torch.Tensor:
        acc = None
        for k in transforms:
            y = _d4_tensor_inverse(run(_d4_tensor(x, k)), k)
            acc = y if acc is None else acc + y
        return acc / len(transforms)

    return run_tta


#: Tile context: the share of a network's reach (the sum of its output pixel's gradient over the input) that may
#: lie beyond what a tile's pixels see (see :func:`model_reach`)
CONTEXT_SHARE = 0.01
#: The context when a network's reach cannot be measured (no gradient at all)
FALLBACK_CONTEXT = 16
#: The largest input side the reach is measured on (a reach that fills it is taken as its half: a paper-preset
#: blind-spot network reads its whole input, and measuring it on 1024 x 1024 took minutes on a CPU)
REACH_PROBE = 256


def model_reach(model: Any) -> int:
    """How far (pixels) a network's output at a pixel reads its input: the half side of the smallest square around
    the pixel that holds all but :data:`CONTEXT_SHARE` of the gradient of that output over the input.

    Measured once per model (kept on it) at the centre of an input of the model's own scale (its mean plus its std
    times white noise, a fixed seed), in float32 on the model's device; the input grows while the reach fills it
    (up to :data:`REACH_PROBE` pixels). The network's output (``model(x)``), not a method's prediction from it: a
    blind-spot method's posterior mean weighs the pixel itself against the network's output by their variances,
    so one pixel's gradient may not show the network's reach. A tile seen with less image around it than this
    differs from the whole image at its borders (every network had 16 pixels, and a Laine et al. blind-spot
    network reads much farther: a tiling QA pass; BENCHMARKS.md, "Tiles against the whole image").
    """
    net = getattr(model, "net", model)
    kept = getattr(model, "_noise2x_reach", None)
    if kept is not None:
        return int(kept)
    align = model_alignment(model)
    param = next(iter(model.parameters()), None)
    dev = param.device if param is not None else torch.device("cpu")
    c = int(getattr(model, "in_channels", getattr(net, "in_channels", 1)))
    mean = getattr(model, "mean", None)
    std = getattr(model, "std", None)
    reach, side = FALLBACK_CONTEXT, min(REACH_PROBE, max(64, 4 * align))
    gen = torch.Generator().manual_seed(0)
    while True:
        with torch.inference_mode(False), torch.enable_grad():  # (a caller's inference_mode or no_grad aside)
            # (weights made in a caller's inference_mode cannot take part in a gradient: a copy of them then)
            probe = copy.deepcopy(model) if any(t.is_inference() for t in (*model.parameters(), *model.buffers())) \
                else model
            x = torch.randn(1, c, side, side, generator=gen)
            if mean is not None and std is not None:
                scale = [t.detach().float().cpu().reshape(1, -1, 1, 1) for t in (mean, std)]
                x = scale[0] + scale[1] * x
            x = x.to(dev).requires_grad_(True)
            y = probe(x)
            (grad,) = torch.autograd.grad(y[0, :, side // 2, side // 2].float().sum(), x)
        g = grad[0].abs().sum(0).double().cpu().numpy()
        total = float(g.sum())
        if not total > 0.0:
            break
        # the mass inside each centred square of half side r, from the cumulative sums of its rings
        half = side // 2
        far = np.abs(np.arange(side) - half)
        ring = np.maximum(far[:, None], far[None, :])
        inside = np.cumsum(np.bincount(ring.ravel(), weights=g.ravel(), minlength=half + 1))
        reach = int(np.argmax(inside >= (1.0 - CONTEXT_SHARE) * total))
        if reach < half - align or side >= REACH_PROBE:
            break
        side *= 2
    with contextlib.suppress(AttributeError):
        setattr(model, "_noise2x_reach", reach)
    return reach


def model_alignment(model: Any) -> int:
    """Tile alignment a model needs to see the same pooling grid as on the whole image.

    ``net.alignment`` when the network defines it (a U-Net: ``2 ** depth``), else 1.
    """
    net = getattr(model, "net", model)
    return int(getattr(net, "alignment", 1) or 1)


def _stack_array(stack: Any) -> np.ndarray:
    """``stack`` as one array; frames of different sizes (a list) refused in one line (numpy's ValueError was the
    error, with a traceback: a QA re-check)."""
    try:
        return np.asarray(stack)
    except ValueError:
        if isinstance(stack, (list, tuple)):
            shapes = [np.shape(f) for f in stack]
            k = next((i for i, s in enumerate(shapes) if s != shapes[0]), 0)
            raise InputError(f"the frames of a stack share one size: frame {k} is {shapes[k]}, frame 0 "
                             f"{shapes[0]}; denoise such images one by one") from None
        raise


def _check_image(image: Any, channels: int | None) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype.kind not in "uif":
        raise InputError(f"image must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InputError(f"image must be (H,W) or (H,W,C), got shape {arr.shape}")
    c = 1 if arr.ndim == 2 else arr.shape[2]
    if channels is not None and c != channels:
        kind = {1: "gray", 3: "RGB"}
        raise InputError(f"the model expects {channels}-channel ({kind.get(channels, 'multi-channel')}) images, "
                         f"got a {c}-channel image of shape {arr.shape}")
    return arr


#: A model file that keeps its training images' value spreads (``data_span``: the least and the largest) warns of an
#: image whose spread lies more than this factor outside them (:meth:`Denoiser.units_warning`): a Noise2Void model
#: given images 5 and 20 times brighter than its training stack made them 2.5 and 6 times worse than the input
#: (in a QA pass)
SPAN_FACTOR = 2.0

def _weak_for_shipped(name: str, image: np.ndarray) -> str | None:
    """Why the shipped model ``name`` may leave ``image`` worse than it was: its noise, read in 8-bit units (on a
    centre window of a large image, as the no-option choice reads it), is weak, and the no-option choice takes no
    shipped model for it (it does for a coarse JPEG's noise, which reads weak); or None. On a sky frame whose
    noise came to 0.11 there, gray-gaussian-low made it noisier and raised the sky by 19 counts (in a QA pass);
    on BSD68 at white sigma 1 the shipped model fell below the noisy input (48.13 -> 45.45 dB, BENCHMARKS.md,
    "Very weak noise")."""
    from . import estimate
    from .io import to_8bit_units
    from .pretrained import ESTIMATE_WINDOW, WEAK_SIGMA

    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape[:2]
    top, left = max(0, (h - ESTIMATE_WINDOW) // 2), max(0, (w - ESTIMATE_WINDOW) // 2)
    img = img[top:top + ESTIMATE_WINDOW, left:left + ESTIMATE_WINDOW]
    if not np.isfinite(img).all() or min(img.shape[:2]) < 16:
        return None
    offset, scale = to_8bit_units(img)
    level = estimate.sigma((img - offset) * scale)
    if WEAK_SIGMA <= 0 or level >= WEAK_SIGMA:
        return None
    from .pretrained import choose

    chosen = choose(np.asarray(image, dtype=np.float64))  # (a JPEG's noise reads weak but goes to a model)
    if chosen.model is not None:
        return None
    return (f"its noise reads weak (sigma {level:.3g} in the 8-bit units model {name} works in, below "
            f"{WEAK_SIGMA:g}): there BM3D does better than the shipped models, which, blind to the level, take fine "
            f"texture for noise and can leave an image worse than it was (with no --model given, model= in Python, "
            f"noise2x takes {chosen.method} here)")


#: Tile side used when none is given (see :func:`auto_tile`).
DEFAULT_TILE = 256


def auto_tile(shape: Sequence[int], *, batch_size: int = 4, context: int = 16) -> int:
    """``DEFAULT_TILE``, or 0 (whole image) when the image has no more pixels than one batch of tiles."""
    if int(shape[0]) * int(shape[1]) <= batch_size * (DEFAULT_TILE + 2 * context) ** 2:
        return 0
    return DEFAULT_TILE


#: How a one-channel model denoises a multi-channel image (``colour``):
#: ``luma``: an RGB image's luminance and two chrominance planes
#: (:func:`to_luma_chroma`); ``channels``: each channel alone; ``auto``:
#: ``luma`` for 3 channels unless the method's prediction assumes a known noise
#: model per pixel (``Method.mixes_channels`` False), else ``channels``.
COLOUR_MODES = config.COLOUR_MODES
#: How reports name the mode a gray model ran in on a colour image.
COLOUR_LABELS = {"luma": "luminance/chrominance planes", "channels": "each channel"}

#: Rows: luminance (the mean) and two chrominance differences of R, G, B.
#: Each row's absolute weights sum to 1, so every plane of an image in [0, M]
#: spans at most M (chrominance is centred on the luminance's mean); white
#: noise of one level per channel stays white in each plane (sigma/sqrt(3),
#: sigma/sqrt(2), sigma*sqrt(6)/4), which a blind gray model denoises as it
#: would a gray image. Denoising the smooth chrominance planes on their own
#: is what makes this better than denoising R, G and B (CBM3D works in a
#: similar opponent colour space; BENCHMARKS.md, "Colour images through the gray models").
LUMA_CHROMA = np.array([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0.0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])
#: The same rows scaled to unit length (an orthonormal transform): white
#: noise keeps its level in every plane, at the cost of planes that exceed
#: the image's range (the luminance up to sqrt(3) times). For models trained
#: at one noise level (``keep_noise``), which the lower noise of
#: :data:`LUMA_CHROMA`'s planes does not suit.
LUMA_CHROMA_UNIT = LUMA_CHROMA / np.linalg.norm(LUMA_CHROMA, axis=1, keepdims=True)
_FROM_LUMA_CHROMA = {False: np.linalg.inv(LUMA_CHROMA), True: np.linalg.inv(LUMA_CHROMA_UNIT)}  # by keep_noise


def to_luma_chroma(image: np.ndarray, *, keep_noise: bool = False) -> tuple[np.ndarray, float]:
    """An (H,W,3) image as (luminance, chrominance, chrominance) planes, and the chrominance offset.

    ``keep_noise`` uses :data:`LUMA_CHROMA_UNIT` (each plane carries the
    channels' noise level) instead of :data:`LUMA_CHROMA` (each plane within
    the image's range). The offset (the luminance's mean) is added to both
    chrominance planes, so that they lie where the image's own values lie.
    :func:`from_luma_chroma` inverts it exactly (up to float rounding).
    """
    rows = LUMA_CHROMA_UNIT if keep_noise else LUMA_CHROMA
    planes = np.asarray(image, dtype=np.float64) @ rows.T
    offset = float(planes[..., 0].mean())
    planes[..., 1:] += offset
    return planes, offset


def from_luma_chroma(planes: np.ndarray, offset: float, *, keep_noise: bool = False) -> np.ndarray:
    """The (H,W,3) RGB image of :func:`to_luma_chroma`'s planes and offset (same ``keep_noise``)."""
    planes = np.array(planes, dtype=np.float64)
    planes[..., 1:] -= offset
    return planes @ _FROM_LUMA_CHROMA[bool(keep_noise)].T


def _from_luma_chroma_in_place(planes: np.ndarray, offset: float, *, keep_noise: bool = False,
                                band: int = 256) -> None:
    """:func:`from_luma_chroma` of float32 ``planes``, written over them ``band`` rows at a time (the memory of a
    band, not of the image's copies)."""
    back = _FROM_LUMA_CHROMA[bool(keep_noise)].T
    for top in range(0, planes.shape[0], band):
        part = planes[top:top + band].astype(np.float64)
        part[..., 1:] -= offset
        planes[top:top + band] = part @ back


#: Arithmetic of the network's forward pass (``precision``): ``fp32`` (default);
#: ``bf16`` (bfloat16 under ``torch.autocast``; CPU or CUDA; on a CPU with
#: bfloat16 instructions (AVX512-BF16, AMX) 1.5 to 2 times as fast, elsewhere
#: it may be slower); ``fp16`` (float16; CUDA or MPS). The tiles are blended, and
#: the output returned, in float32 either way.
PRECISIONS = config.PRECISIONS
_PRECISION_DEVICES = {"fp32": ("cpu", "cuda", "mps"), "bf16": ("cpu", "cuda"), "fp16": ("cuda", "mps")}
_PRECISION_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


#: On the CPU the network runs in the channels-last memory layout (the same
#: result to float rounding; the blind-spot network is 1.6 times faster in it,
#: the U-Nets and DnCNN about as fast: BENCHMARKS.md). False runs it in the
#: contiguous layout (for comparisons: scripts/throughput.py).
CPU_CHANNELS_LAST = True


def check_precision(precision: str, device: str | torch.device | None = None) -> str:
    """``precision`` if it is one of :data:`PRECISIONS` (and runs on ``device`` when given), else UsageError."""
    config.check_precision_name(precision)
    if device is not None:
        kind = torch.device(device).type
        if kind not in _PRECISION_DEVICES[precision]:
            other = {"cpu": "bf16", "mps": "fp16"}.get(kind, "fp32")
            raise UsageError(f"precision {precision} does not run on the {kind} device; use fp32 or {other}")
        available = getattr(getattr(torch, "amp", None), "is_autocast_available", None)
        if kind == "mps" and precision != "fp32" and (available is None or not available(kind)):
            # (an Apple GPU's autocast came with later torch releases than noise2x's least: a portability QA pass)
            raise UsageError(f"precision {precision} on the mps device needs a newer torch than {torch.__version__}; "
                             f"use fp32")
    return precision


#: CPU flags (Linux ``/proc/cpuinfo``) of the bfloat16 instructions that make bf16 fast on a CPU.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether this x86 CPU has bfloat16 instructions (:data:`BF16_CPU_FLAGS`); None where that is unknown.

    Read from the first ``flags`` line of ``cpuinfo`` (Linux on x86); elsewhere (no such file or line:
    macOS, Windows, ARM) None.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return bool(set(line.split(":", 1)[1].split()) & set(BF16_CPU_FLAGS))
    return None


def bf16_note(precision: str | None, device: str | torch.device = "cpu") -> str | None:
    """A one-line note when ``precision`` bf16 will run on a CPU without bfloat16 instructions, else None.

    There PyTorch emulates bfloat16: measured 3.8 times slower than fp32 for the shipped U-Net on such a
    host (BENCHMARKS.md, "The weak-noise model on colour photos", bf16).
    """
    if precision != "bf16" or torch.device(device).type != "cpu" or cpu_has_bf16() is not False:
        return None
    return ("note: this CPU has no bfloat16 instructions (" + ", ".join(BF16_CPU_FLAGS) + "); bf16 is emulated "
            "here and may be several times slower than fp32")


def _forward_context(precision: str, dev: torch.device) -> Any:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(dev.type, dtype=_PRECISION_DTYPES[precision])


check_colour = config.check_colour
layout_hints, check_channels_last = config.layout_hints, config.check_channels_last
#: how a Denoiser's caller denoises the planes of a stack (a Denoiser takes no axes)
_STACK_CALL = "denoise_stack(stack), or noise2x.denoise(image, model=..., "


def check_batch_size(batch_size: Any) -> int:
    """``batch_size`` as an int >= 1, else UsageError (text gave a TypeError from a comparison: a QA pass)."""
    try:
        if isinstance(batch_size, (bool, np.bool_)) or batch_size != int(batch_size):
            raise TypeError
        value = int(batch_size)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"batch_size must be a whole number >= 1, got {batch_size!r}") from None
    if value < 1:
        raise UsageError(f"batch_size must be >= 1, got {value}")
    return value


def colour_mode(colour: str, channels: int, method: Any = None) -> str:
    """``luma`` or ``channels``: how a one-channel model denoises an image of ``channels`` channels."""
    check_colour(colour)
    if colour == "luma" and channels != 3:
        raise UsageError(f"colour 'luma' needs a 3-channel (RGB) image, got {channels} channels")
    if colour == "auto":
        mixes = bool(getattr(method, "mixes_channels", True))
        return "luma" if channels == 3 and mixes else "channels"
    return colour


#: Tile overlap (pixels) when none is given: this, or a quarter of a smaller tile side (tiles under 128).
DEFAULT_OVERLAP = 32


def default_overlap(tile: int | None) -> int:
    """The overlap used for ``tile`` when none is given: :data:`DEFAULT_OVERLAP`, at most a quarter of the tile."""
    return min(DEFAULT_OVERLAP, max(0, int(tile)) // 4) if tile else DEFAULT_OVERLAP


def denoise_array(model: Any, image: np.ndarray, *, method: Any = None, tile: int | None = None,
                  overlap: int | None = None, context: int | None = None, batch_size: int = 4, tta: bool = False,
                  device: str | torch.device = "auto", threads_auto: bool = True, colour: str = "auto",
                  keep_noise: bool = False, precision: str = "fp32", needed: np.ndarray | None = None) -> np.ndarray:
    """Denoise one image with a trained model, tile by tile.

    Parameters
    ----------
    model : ScaledModel
        Image units in and out.
    image : ndarray
        (H, W) or (H, W, C) in the image's own units, any real dtype; values
        outside the nominal range (unclipped noise) are fine.
    method : Method, optional
        Its ``predict`` is used (default ``model(x)``).
    tile : int or None
        Tile side in pixels; 0 = the whole image at once; None (default) =
        :data:`DEFAULT_TILE`, or the whole image when it has no more pixels
        than one batch of such tiles with their context (same peak memory,
        none of the overlap's extra work); where the context passes a quarter
        of it (a network that reads far), tiles twice as large, a quarter of
        ``batch_size`` a batch. Tiles start at
        multiples of the network's alignment (:func:`model_alignment`), so a
        U-Net pools on the same grid as on the whole image.
    overlap : int, optional
        Minimum overlap of neighbouring tiles (``0 <= overlap < tile``), across
        which their outputs are blended; None (default): :func:`default_overlap`
        (32, or a quarter of a tile side under 128).
    context : int, optional
        Extra image around each tile given to the network and cropped from
        its output, so tile borders see the image instead of padding (tiles
        at the image border are not grown past it). Rounded up to the
        network's alignment (32 for the paper's U-Net). None (default): the
        network's reach (:func:`model_reach`) less the quarter of the overlap
        that blending leaves out, so that tiles give what the whole image
        gives. A method that reads one level per image (a blind-spot
        network's learned noise level) reads it once on the whole image
        (``Method.for_tiles``) and uses it on every tile.
    batch_size : int
        Tiles per forward pass.
    tta : bool
        Average the 8 rotations/flips (8x slower, usually a little better).
    device : str
        "auto", "cpu", "cuda", "mps".
    threads_auto : bool
        On the CPU, use :func:`auto_threads` threads for this call (restored
        afterwards); False keeps torch's current setting.
    colour : str
        How a one-channel model denoises a multi-channel image (see
        :data:`COLOUR_MODES`); ignored when the model has the image's
        channels.
    keep_noise : bool
        With ``luma``, planes that keep the channels' noise level
        (:data:`LUMA_CHROMA_UNIT`), for a model trained at one noise level;
        :class:`Denoiser` sets it from the model's training noise.
    precision : str
        The forward pass's arithmetic (:data:`PRECISIONS`): ``fp32``
        (default), ``bf16`` or ``fp16`` (GPU).
    needed : ndarray of bool, optional
        (H, W): the pixels whose result is used (e.g. those holding data
        beside blank ones). Tiles holding none of them are not run: the
        result there is undefined (0, or a partial blend). Every pixel that
        is needed gets the same value as without it.

    Returns
    -------
    ndarray
        float32, same shape as ``image``, in the image's units (not clipped).

    Raises
    ------
    InputError
        Wrong number of channels, NaN/inf values, or a non-numeric array.
    UsageError
        A bad tile, batch size, colour mode or precision (or one the device cannot run).
    """
    check_precision(precision)
    check_tile_arguments(tile=tile, overlap=overlap, context=context)  # (Denoiser.denoise's too: a QA pass)
    tta = config.check_flag("tta", tta)
    check_colour(colour)  # (on a gray image too, as the docstring says: "rgb" passed unsaid there, a QA pass)
    batch_size = check_batch_size(batch_size)
    channels = int(model.in_channels)
    arr = _check_image(image, None if channels == 1 else channels)
    if arr.ndim == 3 and channels == 1 and arr.shape[2] not in (1, 3, 4) and colour != "channels":
        # (a z-stack (Z,Y,X) read as one image of X channels, each a Z-pixel-high picture: a QA pass got 23 dB
        # against 33 frame by frame, with no word)
        raise InputError(f"image must be (H,W) gray or (H,W,3) RGB, got shape {tuple(arr.shape)}"
                         f"{layout_hints(arr.shape, axes_call=_STACK_CALL)}")
    if arr.ndim == 3 and channels == 1 and colour == "channels":
        check_channels_last(arr.shape, axes_call=_STACK_CALL)
    if arr.ndim == 3 and channels == 1 and arr.shape[2] == 4 and colour == "auto":
        # (an RGBA image's alpha plane was denoised as a fourth channel and came back changed, unsaid; noise2x.denoise
        # refuses it too)
        raise InputError("image has 4 channels (RGBA?); a gray model denoises (H,W) gray or (H,W,3) RGB: drop the "
                         "alpha channel (image[..., :3]), or colour='channels' for four channels of data, each alone")
    if arr.ndim == 3 and channels == 1:
        if arr.shape[2] == 1:
            return denoise_array(model, arr[:, :, 0], method=method, tile=tile, overlap=overlap, context=context,
                                 batch_size=batch_size, tta=tta, device=device, threads_auto=threads_auto,
                                 precision=precision, needed=needed)[:, :, None]
        mode = colour_mode(colour, arr.shape[2], method)
        if not np.isfinite(arr).all():
            raise InputError("image has NaN/inf values")
        from .io import gray_as_rgb

        if gray_as_rgb(arr):  # a gray image stored as RGB: its noise is the same in each channel (see api.denoise)
            out = denoise_array(model, arr[:, :, 0], method=method, tile=tile, overlap=overlap, context=context,
                                batch_size=batch_size, tta=tta, device=device, threads_auto=threads_auto,
                                precision=precision, needed=needed)
            return np.repeat(out[:, :, None], 3, axis=2)
        # one plane at a time, each result into the output as it comes, and the colour transform back in bands of
        # rows in place: the planes, their results, a stack of them and the transform's copies were all held at once
        # (a large-data QA pass; BENCHMARKS.md, "Memory for one colour image")
        rows = (LUMA_CHROMA_UNIT if keep_noise else LUMA_CHROMA) if mode == "luma" else None
        out = np.empty(arr.shape, np.float32)
        offset = 0.0
        for c in range(arr.shape[2]):
            if rows is None:
                plane = arr[..., c]
            else:  # (as to_luma_chroma makes it)
                plane = arr @ rows[c] if c == 0 else arr @ rows[c] + offset
                if c == 0:
                    offset = float(plane.mean())
            hook = TILE_PROGRESS.get()
            token = None if hook is None else TILE_PROGRESS.set(
                lambda share, c=c, n=arr.shape[2], hook=hook: hook((c + share) / n))
            try:
                out[..., c] = denoise_array(model, plane, method=method, tile=tile, overlap=overlap,
                                            context=context, batch_size=batch_size, tta=tta, device=device,
                                            threads_auto=threads_auto, precision=precision, needed=needed)
            finally:
                if token is not None:
                    TILE_PROGRESS.reset(token)
            del plane
        if rows is not None:
            _from_luma_chroma_in_place(out, offset, keep_noise=keep_noise)
        return out
    dev = resolve_device(device)
    check_precision(precision, dev)
    layout = torch.channels_last if dev.type == "cpu" and CPU_CHANNELS_LAST else torch.contiguous_format
    with torch.inference_mode(False):  # (under a caller's inference_mode, the copies made here were inference
        # tensors: the model could no longer be trained, nor its reach measured)
        model = model.to(dev).eval()
        model = model.to(memory_format=layout)  # the model stays usable in either layout
    if tile is None:
        tile = auto_tile(arr.shape, batch_size=batch_size, context=FALLBACK_CONTEXT if context is None else context)
        if tile and context is None:  # (a network that reads far has large tiles: as large an image goes whole)
            far = max(0, model_reach(model) - default_overlap(tile) // 4)
            tile = auto_tile(arr.shape, batch_size=batch_size, context=far)
            if tile and far > DEFAULT_TILE // 4:  # tiles twice as large, a quarter as many a batch: less of the work
                # spent on context, in less memory than the batch before (a blind-spot network's 256-pixel tiles
                # spent most of their work on their context)
                tile, batch_size = 2 * DEFAULT_TILE, max(1, batch_size // 4)
    if overlap is None:
        overlap = default_overlap(tile)
    grid = tile_grid(arr.shape, tile=tile, overlap=overlap if tile else 0, align=model_alignment(model))
    channels = arr.shape[2] if arr.ndim == 3 else None
    stitcher = Stitcher(grid, channels=channels)
    if len(grid.specs) > 1:
        if method is not None and hasattr(method, "for_tiles"):  # (one level per image, read on the whole image)
            def whole(net: Any) -> np.ndarray:
                token = TILE_PROGRESS.set(None)  # (its tiles are not the image's)
                try:
                    return denoise_array(net, arr, tile=tile, overlap=overlap, context=None, batch_size=batch_size,
                                         device=dev, threads_auto=threads_auto, precision=precision)
                finally:
                    TILE_PROGRESS.reset(token)

            method = method.for_tiles(model, whole)
        if context is None:
            context = max(0, model_reach(model) - overlap // 4)
    run = _predictor(model, method, tta)
    align = model_alignment(model)
    if needed is not None and np.shape(needed) != arr.shape[:2]:
        raise UsageError(f"needed has shape {np.shape(needed)}; the image {arr.shape} needs {arr.shape[:2]}")
    specs = [s for s in grid.specs if needed is None or np.any(needed[s.slices])]  # tiles with a needed pixel
    regions = [(s, context_region(s, arr.shape, context=context if tile and context else 0, align=align))
               for s in specs]
    groups: dict[tuple[int, int], list] = {}
    for s, r in regions:  # regions of equal shape are batched together
        groups.setdefault(r.shape, []).append((s, r))
    chunks = [g[b:b + batch_size] for g in groups.values() for b in range(0, len(g), batch_size)]
    threads = cpu_threads(0) if dev.type == "cpu" and threads_auto else contextlib.nullcontext()
    hook, done = TILE_PROGRESS.get(), 0
    with torch.inference_mode(), threads, _forward_context(precision, dev):
        for chunk in chunks:
            tiles = []
            for _, r in chunk:
                t = arr[r.slices].astype(np.float32, copy=False)
                if not np.isfinite(t).all():
                    bad = np.argwhere(~np.isfinite(t))[0]
                    raise InputError(f"image has NaN/inf values (the first at row {r.y0 + bad[0]}, column "
                                     f"{r.x0 + bad[1]}); where NaN marks blank pixels, noise2x.denoise(image, "
                                     f"model=..., blanks=True) fills them for the model")
                tiles.append(t if t.ndim == 3 else t[:, :, None])
            x = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).to(dev).contiguous(memory_format=layout)
            y = run(x).float().cpu().numpy().transpose(0, 2, 3, 1)
            for (s, r), out in zip(chunk, y):
                out = out[s.y0 - r.y0:s.y1 - r.y0, s.x0 - r.x0:s.x1 - r.x0]
                stitcher.add(s, out if channels is not None else out[:, :, 0])
            done += len(chunk)
            if hook is not None:
                hook(done / len(specs))
    if hook is not None and not specs:  # (no tile needed: done all the same, as said)
        hook(1.0)
    return stitcher.result()


def denoise_stack(model: Any, stack: np.ndarray, *, method: Any = None, progress: Callable[[int, int], None] | None = None,
                  **kwargs: Any) -> np.ndarray:
    """Denoise a stack (N, H, W) or (N, H, W, C) frame by frame (see :func:`denoise_array`).

    ``progress(i, n)`` is called after each frame. Returns float32 (N, H, W[, C]).
    """
    arr = _stack_array(stack)
    if arr.ndim not in (3, 4):
        raise InputError(f"a stack must be (N,H,W) or (N,H,W,C), got shape {arr.shape}")
    if (arr.ndim == 4 and int(model.in_channels) == 1 and arr.shape[3] not in (1, 3, 4)
            and kwargs.get("colour", "auto") != "channels"):  # (a stack of stacks was told to use denoise_stack)
        raise InputError(f"a stack must be (N,H,W) or (N,H,W,C) with its channels last, got shape {arr.shape}: "
                         f"{arr.shape[3]} channels? A stack of stacks: noise2x.denoise(stack, model=..., axes='TZYX')")
    out = np.empty(arr.shape, dtype=np.float32)
    for i in range(arr.shape[0]):
        try:
            out[i] = denoise_array(model, arr[i], method=method, **kwargs)
        except InputError as exc:  # (which frame: a NaN in frame 3 of 5 was said of "image")
            if arr.shape[0] == 1:
                raise
            raise InputError(f"frame {i} ({i + 1} of {arr.shape[0]}): {exc}") from None
        if progress is not None:
            progress(i + 1, arr.shape[0])
    return out


class Denoiser:
    """A trained model with its method and metadata.

    Parameters
    ----------
    model : ScaledModel
    method : Method
        The method it was trained with (its ``predict`` is used).
    metadata : dict
        What the model file holds (see :func:`noise2x.checkpoint.read_metadata`).
    """

    def __init__(self, model: Any, method: Any, metadata: dict[str, Any] | None = None) -> None:
        self.model = model.eval()
        self.method = method
        self._metadata = dict(metadata or {})
        #: the name of the shipped model this is (set by :func:`noise2x.api.load_model`), else None: a shipped model
        #: works in 8-bit units, to which :func:`noise2x.denoise` maps an image in other units and back
        self.shipped: str | None = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Denoiser":
        """Load a model file (safetensors; nothing is unpickled).

        Raises
        ------
        InputError
            Corrupt, truncated or incompatible file, or a method this noise2x does not know.
        """
        from .checkpoint import load_model

        model, meta = load_model(path)
        return cls.of_loaded(model, meta, path)

    @classmethod
    def of_loaded(cls, model: Any, meta: dict[str, Any], path: str | os.PathLike) -> "Denoiser":
        """The denoiser of a model :func:`noise2x.checkpoint.load_model` rebuilt from ``path``, with its
        metadata (:meth:`load` without reading the file again).

        Raises
        ------
        InputError
            A method this noise2x does not know, or options it does not take.
        """
        from .methods import METHODS, get_method

        name = meta.get("method")
        if name not in METHODS:
            from .checkpoint import newer_note

            raise InputError(f"{path} was trained with method {name!r}, unknown to this noise2x "
                             f"(known: {', '.join(METHODS)}){newer_note(meta)}")
        try:
            method = get_method(name, meta.get("method_options") or {})
        except UsageError as exc:
            raise InputError(f"{path}: invalid method options: {exc}") from None
        return cls(model, method, meta)

    def adapted(self, *, options: dict[str, Any] | None = None, noise: Any = None) -> "Denoiser":
        """This model with its method's options changed and adapted to the input's noise.

        Parameters
        ----------
        options : dict, optional
            Method options (``denoise --set KEY=VALUE``; keys may be prefixed
            ``method.``), values parsed by the option's type.
        noise : str or NoiseSpec, optional
            The input's declared noise (``denoise --noise``), passed to the
            method's ``with_noise`` (e.g. the noise level of a posterior mean).

        Raises
        ------
        UsageError
            An option the method does not have (the valid ones are listed) or a bad value.
        """
        from .config import _replace_field

        opts = self.method.options
        for key, value in (options or {}).items():
            name = key.removeprefix("method.")
            try:
                opts = _replace_field(opts, name, value, section="method")
            except UsageError as exc:  # an unknown name: said as the model's method's options
                import dataclasses

                names = [f.name for f in dataclasses.fields(opts)]
                if name in names:  # (a bad value: its own message)
                    raise
                raise UsageError(f"a {self.method_name} model has no option {name}; its method's options: "
                                 f"{', '.join(names) or '(none)'}") from exc
        method = type(self.method)(opts)
        if noise is not None:
            method = method.with_noise(noise)
        meta = dict(self._metadata, method_options=method.options_dict())
        den = Denoiser(self.model, method, meta)
        den.shipped = self.shipped
        return den

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the model file's metadata."""
        return dict(self._metadata)

    @property
    def method_name(self) -> str:
        return str(self._metadata.get("method", getattr(self.method, "name", "?")))

    @property
    def blind(self) -> bool:
        """Whether the model was trained on a range of noise levels (a training noise spec with ``..``)."""
        return ".." in str(self._metadata.get("noise") or "")

    @property
    def channels(self) -> int:
        return int(self.model.in_channels)

    def colour_mode(self, colour: str) -> str:
        """``colour`` as this model takes it: ``auto`` is ``channels`` for a gray model trained on multiplicative
        speckle (each channel of a colour image carries its own speckle; the luminance and chrominance planes would
        not, and the chrominance planes can be negative), else ``colour`` as it is."""
        speckle = str(self._metadata.get("noise") or "").startswith("speckle")
        return "channels" if colour == "auto" and speckle and self.channels == 1 else colour

    def denoise(self, image: np.ndarray, *, tile: int | None = None, overlap: int | None = None, tta: bool = False,
                context: int | None = None, batch_size: int = 4, device: str = "auto", colour: str = "auto",
                precision: str = "fp32", needed: np.ndarray | None = None, threads: int | None = None,
                progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Denoise one image (H, W) or (H, W, C); float32 in the image's units (see :func:`denoise_array`).

        A gray model on an RGB image: planes within the image's range for a
        model trained on a range of noise levels (:attr:`blind`), planes that
        keep the noise level otherwise (``keep_noise``). The image must be in
        the units the model was trained on (a shipped model: 8-bit units;
        ``noise2x.denoise(image, model=...)`` maps other units, and returns
        float64).

        Parameters
        ----------
        image : ndarray
            (H, W) or (H, W, C), in the model's training units.
        tile, overlap, context : int, optional
            Tiled inference (None: chosen from the image and the network's
            reach; 0: whole image); the overlap blended, the context read
            around each tile.
        tta : bool
            Average the D4 transforms the method allows (8-fold).
        batch_size : int
            Tiles per forward pass.
        device : str
            "auto", "cpu", "cuda", "cuda:N" or "mps".
        colour : str
            How a gray model takes a colour image: "auto", "luma", "channels".
        precision : str
            "fp32", "bf16" or "fp16" (GPU).
        needed : ndarray of bool, optional
            (H, W): the pixels whose result is used (others may be skipped).
        threads : int, optional
            CPU threads for this call, as :func:`noise2x.denoise` takes them
            (None: :func:`auto_threads`).
        progress : callable, optional
            Called with the share of the image done (a float, 0 to 1) after
            each batch of tiles (once, with 1.0, for an image run whole); an
            exception it raises stops the call there and reaches the caller
            as it is (a GUI's cancel button), the thread settings restored.

        Returns
        -------
        ndarray
            float32, the image's shape, its units, not clipped.

        Raises
        ------
        UsageError
            A bad argument (device, colour, precision, tile).
        InputError
            An image of other channels than the model's, NaN in it, or NaN in
            the model's output.
        """
        from .io import as_numpy

        outside = called_from_outside()  # (the README's model.denoise; noise2x.denoise says it itself, with the file)
        if progress is not None and not callable(progress):
            raise UsageError(f"progress must be a function taking the share done (a float), got "
                             f"{type(progress).__name__}")
        token = None if threads is None else config.THREADS_ASKED.set(config.checked_threads(threads))  # (this
        # thread's, for this call; a call of itself for it hid its units warning: a concurrency QA pass); the tiles'
        # progress to the caller (a GUI had none, nor a way to cancel: a plugin author's QA pass)
        shares = None if progress is None else TILE_PROGRESS.set(progress)
        try:
            image = as_numpy(image)
            if outside:
                self._warn_units(image)
            out = denoise_array(self.model, image, method=self.method, tile=tile, overlap=overlap, context=context,
                                batch_size=batch_size, tta=tta, device=device, colour=self.colour_mode(colour),
                                keep_noise=not self.blind, precision=precision, needed=needed)
        finally:
            if shares is not None:
                TILE_PROGRESS.reset(shares)
            if token is not None:
                config.THREADS_ASKED.reset(token)
        used = out if needed is None else out[np.asarray(needed, dtype=bool)]
        if not np.isfinite(used).all():  # (said of the model: the CLI blamed the image it was writing)
            raise InputError(f"the {self.method.name} model gave NaN/inf values on this image" + (
                f" in {precision}: try precision fp32" if precision != "fp32" else ""))
        return out

    def denoise_stack(self, stack: np.ndarray, *, tile: int | None = None, overlap: int | None = None,
                      tta: bool = False, context: int | None = None, batch_size: int = 4, device: str = "auto",
                      progress: Callable[[int, int], None] | None = None, colour: str = "auto",
                      precision: str = "fp32") -> np.ndarray:
        """Denoise a stack (N, H, W[, C]) frame by frame: float32 (N, H, W[, C]); the arguments as
        :meth:`denoise`'s, and ``progress(done, total)`` called after each frame."""
        from .io import as_numpy

        stack = as_numpy(stack)
        if called_from_outside() and len(stack):
            self._warn_units(np.asarray(stack[0]))
        return denoise_stack(self.model, stack, method=self.method, tile=tile, overlap=overlap, tta=tta,
                             context=context, batch_size=batch_size, device=device, progress=progress,
                             colour=self.colour_mode(colour), keep_noise=not self.blind, precision=precision)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (atomic)."""
        from .checkpoint import save_model

        meta = {k: v for k, v in self._metadata.items() if k != "sha256"}
        meta.setdefault("method", self.method.name)
        meta.setdefault("method_options", self.method.options_dict())
        return save_model(path, self.model.cpu(), metadata=meta)

    def _warn_units(self, image: np.ndarray) -> None:
        """:meth:`units_warning` as a :class:`~noise2x.errors.UnitsWarning` at the caller's line, and for a shipped
        model an image not in the 8-bit units it works in (:func:`noise2x.denoise` maps it there and back)."""
        from .errors import UnitsWarning
        from .io import to_8bit_units

        image = np.asarray(image)
        if not (image.size and np.issubdtype(image.dtype, np.number) and np.isfinite(image).all()
                and image.ndim in (2, 3)):
            return  # (the network's own checks say what is wrong)
        # other channel counts (colour='channels': two stains, RGBA) read on their first channel, as gray
        said = self.units_warning(image if image.ndim == 2 or image.shape[2] in (1, 3) else image[..., 0])
        if self.shipped is not None and to_8bit_units(image) != (0.0, 1.0):
            lo, hi = np.percentile(image, [0.1, 99.9])
            said = (f"model {self.shipped} works in 8-bit units, and this image's values (0.1 to 99.9 percentile "
                    f"{lo:.4g} to {hi:.4g}) are not in them: its result is meaningless; noise2x.denoise(image, "
                    f"model='{self.shipped}') maps them to 8-bit units and back")
        if said:
            warn_outside(UnitsWarning(said))

    def units_warning(self, image: np.ndarray) -> str | None:
        """Why ``image`` looks to be in other units than the model's training data, or None.

        A model file trained since the spreads were kept (``data_span``: the
        least and the largest 0.1 to 99.9 percentile spread of its training
        images) warns of an image whose spread lies more than
        :data:`SPAN_FACTOR` outside them: other units, or an exposure far
        brighter or fainter than it learned. Older files: the model
        normalises by its training data's per-channel standard
        deviation. An image whose values (0.1 to 99.9 percentile) span less
        than 1/20 or more than 100 times that deviation is probably in other
        units: [0, 1] data given to a model trained on 8-bit images spans
        about 1/60 of it, 8-bit data given to a model trained on 16-bit images
        about 1/50 (1/50 was the bound, which let that pass), 16-bit data
        given to an 8-bit model about 1000 times. A photo spans 3 to 5 times
        its training data's deviation, a dark low-contrast one a fraction of
        it; 1/20 of the 8-bit deviation is under 3 grey levels. The model's
        result is then meaningless, so the CLI warns.

        A shipped model (named with ``--model``) works on the image mapped
        to 8-bit units: it warns instead where the noise read there is weak
        (below :data:`noise2x.pretrained.WEAK_SIGMA`), where the shipped
        models, blind to the level, take fine texture for noise (the choice
        with no model named takes BM3D there).
        """
        if self.shipped is not None:  # (mapped to its units by noise2x.denoise): is its noise in the models' reach?
            return _weak_for_shipped(self.shipped, image)
        known = self._known_sigma_warning(image)
        if known:
            return known
        std = float(self.model.std.mean())
        lo, hi = np.percentile(np.asarray(image, dtype=np.float64), [0.1, 99.9])
        spread = float(hi - lo)
        span = self._metadata.get("data_span")
        if spread > 0 and isinstance(span, list) and len(span) == 2 and min(span) > 0:
            if span[0] / SPAN_FACTOR <= spread <= span[1] * SPAN_FACTOR:
                return None
            far = "brighter" if spread > span[1] else "fainter"
            return (f"the image's values spread over {spread:.3g} (0.1 to 99.9 percentile), each of the model's "
                    f"training images' over {span[0]:.3g} to {span[1]:.3g}: are they in the same units (8-bit, "
                    "16-bit, [0, 1]), and of a like exposure? "
                    f"the model learned nothing of noise so much {far}, and may make it worse than the input")
        if spread <= 0 or std / 20 <= spread <= 100 * std:
            return None
        return (f"the image's values span {spread:.3g}, the model's training data had a standard deviation of "
                f"{std:.3g}: are they in the same units (8-bit, 16-bit, [0, 1])?")

    def _known_sigma_warning(self, image: np.ndarray) -> str | None:
        """Why a blindspot model of a known Gaussian sigma may not fit ``image``: its noise reads a sigma far from
        the one the posterior mean uses (the training noise's, unless a noise was declared). At sigma 10, a
        sigma-25 model left Set12's first image below the noisy input (26.03 against 28.28 dB; 29.60 told the
        sigma), silently, in a QA pass."""
        if self.method.name != "blindspot" or not getattr(self.method.options, "posterior_mean", False):
            return None
        if self.method.resolved_noise_model() != "gaussian" or not self.method.options.sigma > 0:
            return None
        from . import estimate

        img = np.asarray(image, dtype=np.float64)
        if not np.isfinite(img).all() or min(img.shape[:2]) < 16:
            return None
        side = 1024  # (a centre window: plenty to read a level)
        h, w = img.shape[:2]
        img = img[max(0, (h - side) // 2):max(0, (h - side) // 2) + side, max(0, (w - side) // 2):
                  max(0, (w - side) // 2) + side]
        top = float(np.percentile(img, 99.9))
        level = estimate.sigma(img, data_range=255.0 if top <= 255 * 1.5 else 65535.0)
        told = float(self.method.options.sigma)
        if told / 1.5 <= level <= told * 1.5:
            return None
        return (f"its noise reads sigma {level:.3g}; the model's posterior mean uses sigma {told:g}, that of its "
                f"training noise: give the image's own (--noise gaussian:sigma={level:.3g}, noise= in Python) if "
                f"the reading is right, or the result may be worse than the input")

    def describe(self) -> str:
        """One line: method, architecture, channels, noise and training budget."""
        m = self._metadata
        args = m.get("arch_args") or self.model.arch_args
        size = ", ".join(f"{k}={v}" for k, v in sorted(args.items()) if k not in ("in_channels", "out_channels"))
        noise = m.get("noise") or "noisy images"
        steps = m.get("steps")
        budget = f", {steps} steps" if steps is not None else ""
        secs = m.get("seconds")
        budget += f" in {float(secs) / 60:.1f} min" if secs else ""
        return (f"{self.method_name} ({self.model.arch} {size}; {self.channels} channel(s); "
                f"trained on {noise}{budget})")

    def __repr__(self) -> str:
        return (f"Denoiser(method={self.method_name!r}, arch={self.model.arch!r}, channels={self.channels}, "
                f"steps={self._metadata.get('steps')})")
