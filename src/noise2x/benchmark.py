"""The PROTOCOL.md benchmark harness: methods x one dataset x one noise -> rows with PSNR, SSIM, timings.

For every image ``i`` of the dataset folder (sorted file names, 0-based):

* ``clean = io.read_image(file)`` (float64, the file's units: 0..255 for 8-bit files);
* ``noisy = noise.protocol_noisy(clean, spec, index=i)`` (unclipped);
* the row ``"noisy"`` measures the noisy input itself, unclipped (PROTOCOL's
  reference value: 20.17 dB at Gaussian 25 on BSD68);
* every method denoises ``noisy``; before its first timed call it denoises
  image 0 once untimed (warm-up); the timed call is the method call alone
  (``time.perf_counter``), with no I/O and no metric; the prediction is
  clipped to [0, peak] and measured with :func:`noise2x.metrics.psnr` and
  :func:`noise2x.metrics.ssim` against that peak: that of the file's units
  (255 for 8-bit files, 65535 for 16-bit ones; for float files the noise
  spec's ``data_range``, else 1 for values in [0, 1], else 255). A float
  set with negative values needs ``data_range`` (the span of its units,
  2 for [-1, 1]); its predictions are clipped from its lowest value on
  (:func:`noise2x.metrics.clip_range`).

The JSON holds ``null`` for an infinite PSNR (identical images).

Direct methods (classical and zero-shot) get the known noise (``noise=spec``,
unless ``give_noise=False``), a seed ``rng = 3000 + i`` (distinct from the
noise seeds ``i`` and the training seeds ``1000 + j`` / ``2000 + j``) and an
``info`` dict where they record how they chose their noise level. Trainable
methods are trained first on ``train_data`` (PROTOCOL: train400) for
``budget_minutes`` through :func:`noise2x.api.train`, then applied.

The result is a dict (see :func:`run_bench`); :func:`write_outputs` saves it
as JSON plus a Markdown table.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import api, provenance
from .api import coerce_option, method_options
from .errors import InputError, Noise2xError, UsageError
from .fsutil import atomic_path
from .metrics import clip_range, psnr, ssim

__all__ = ["machine_info", "markdown_table", "run_bench", "write_outputs"]

METHOD_SEED_OFFSET = 3000
_RAW = object()  # option "default" meaning: pass the value on unchanged (training overrides)


# ---------------------------------------------------------------------------
# method resolution and options


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _coerce(value: Any, default: Any, key: str) -> Any:
    """Convert a string option to its default's type; training overrides (``_RAW``) pass unchanged."""
    return value if default is _RAW else coerce_option(value, default, key)


def _split_options(
    options: Mapping[str, Any] | None, names: list[str], valid: dict[str, dict[str, Any]],
    trained: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Distribute ``options`` over the methods.

    ``"method.key"`` applies to that method only; a plain ``"key"`` applies to
    every method that has that option. An option no method has is an error.
    ``trained``: the methods trained here, whose training settings come as
    ``NAME.SECTION.KEY`` (the errors say so).
    """
    per_method: dict[str, dict[str, Any]] = {name: {} for name in names}
    how = (f"; a trainable method takes training settings as NAME.SECTION.KEY, e.g. "
           f"{trained[0]}.method.KEY=V or {trained[0]}.train.lr=V" if trained else "")
    for raw_key, value in (options or {}).items():
        key = str(raw_key)
        method, dot, option = key.partition(".")
        if dot:
            if method not in per_method:
                raise UsageError(f"option '{key}' names method '{method}', which is not benchmarked "
                                 f"(methods: {', '.join(names)}){how}")
            targets = [method]
            if option not in valid[method]:
                raise UsageError(f"method '{method}' has no option '{option}'; "
                                 f"valid options: {', '.join(valid[method]) or 'none'}")
        else:
            option = key
            targets = [name for name in names if option in valid[name]]
            if not targets:
                listing = "; ".join(f"{n}: {', '.join(valid[n]) or ('training settings' if n in trained else 'none')}"
                                    for n in names)
                raise UsageError(f"no benchmarked method has an option '{option}' (valid options: {listing}){how}")
        for name in targets:
            per_method[name][option] = _coerce(value, valid[name].get(option), option)
    return per_method


# ---------------------------------------------------------------------------
# the harness


class _Method:
    """One benchmarked method: how to call it and what it measured."""

    def __init__(self, name: str, fn: Callable[..., np.ndarray], *, options: dict[str, Any], kind: str,
                 shown: dict[str, Any] | None = None):
        self.name = name
        self.fn = fn
        self.options = options
        self.shown = dict(options if shown is None else shown)  # (its row's options: a trained one's overrides)
        self.kind = kind
        self.per_image: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}
        self.pass_info = _accepts(fn, "info")
        self.pass_rng = _accepts(fn, "rng")
        self.pass_noise = _accepts(fn, "noise")

    def __call__(self, noisy: np.ndarray, *, noise: Any, seed: int, info: dict[str, Any]) -> np.ndarray:
        kwargs = dict(self.options)
        if self.pass_noise:
            kwargs["noise"] = noise
        if self.pass_rng:
            kwargs["rng"] = seed
        if self.pass_info:
            kwargs["info"] = info
        out = self.fn(noisy, **kwargs)
        return np.asarray(out, dtype=np.float64)


def _train(
    name: str, *, spec: Any, train_data: Path, budget_minutes: float, options: dict[str, Any],
    workdir: Path, progress: Callable[[str], None] | None, precision: str = "fp32", device: str = "auto",
) -> tuple[Callable[..., np.ndarray], dict[str, Any]]:
    """Train a trainable method per PROTOCOL (noisy train400, seeds 1000 + j) and return its predictor."""

    if progress is not None:
        progress(f"training {name} on {train_data} for {budget_minutes:g} min ({spec})")
    from .config import REPEAT_NOTE

    start = time.perf_counter()
    token = REPEAT_NOTE.set(False)  # (its run folder is deleted with the bench's temporary folder)
    try:
        model = api.train(
            name, data=train_data, out=workdir / f"{name}.safetensors", add_noise=str(spec),
            minutes=budget_minutes, seed=0, overrides=[f"{k}={v}" for k, v in options.items()], device=device,
        )
    finally:
        REPEAT_NOTE.reset(token)
    seconds = time.perf_counter() - start

    def predict(noisy: np.ndarray, *, info: dict[str, Any]) -> np.ndarray:
        return api.denoise(noisy, model=model, info=info, precision=precision, device=device)

    extra = {"train_seconds": round(seconds, 1), "budget_minutes": budget_minutes,
             "train_data": str(Path(train_data).resolve())}  # (as typed, relative, before: a QA pass)
    # what the training did (steps, device, preset, threads), as a model file's row records it: PROTOCOL.md asks a
    # report for the budget's steps and device, which a minutes budget leaves to the host's speed
    if (workdir / f"{name}.safetensors").is_file():
        made = _model_extra(workdir / f"{name}.safetensors")
        extra.update({k: v for k, v in made.items() if k != "model_file"})
    return predict, extra


def _auto(colour: str, precision: str = "fp32", *, told: bool = False, device: str = "auto") -> Callable[..., np.ndarray]:
    def auto(noisy: np.ndarray, *, info: dict[str, Any]) -> np.ndarray:
        """`noise2x denoise IMAGE` with no options: the noise is estimated, never given (see pretrained.choose)."""
        return api.denoise(noisy, info=info, colour=colour, precision=precision, device=device)

    def auto_noise(noisy: np.ndarray, *, noise: Any, info: dict[str, Any]) -> np.ndarray:
        """`noise2x denoise IMAGE --noise SPEC`: the same choice, told the benchmark's noise."""
        return api.denoise(noisy, noise=noise, info=info, colour=colour, precision=precision, device=device)

    return auto_noise if told else auto


def _model_predictor(path: Path, colour: str = "auto", precision: str = "fp32",
                     device: str = "auto") -> Callable[..., np.ndarray]:
    model = api.load_model(path)

    def predict(noisy: np.ndarray, *, info: dict[str, Any]) -> np.ndarray:
        return api.denoise(noisy, model=model, info=info, colour=colour, precision=precision, device=device)

    return predict


def _model_extra(path: Path) -> dict[str, Any]:
    """What a benchmarked model file says of its training (method, steps, minutes, noise)."""
    from . import checkpoint

    meta = checkpoint.read_metadata(path)
    # (the weights' checksum: a shipped model retrained under its name, or a file replaced, is told apart)
    extra: dict[str, Any] = {"model_file": str(path), "model_sha256": meta.get("sha256")}
    for key in ("method", "preset", "noise", "resample_noise", "steps", "device", "threads", "checkpoint"):
        if key in meta:
            extra[f"train_{key}"] = meta[key]
    if "seconds" in meta:
        extra["train_time_s"] = meta["seconds"]
    precision = ((meta.get("config") or {}).get("train") or {}).get("precision")
    if precision:
        extra["train_precision"] = precision
    return extra


def _dataset_files(dataset: str | os.PathLike, limit: int | None) -> tuple[Path, list[Path]]:
    from .io import list_images

    folder = Path(dataset)
    if not folder.exists():
        raise UsageError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise UsageError(f"dataset must be a folder of images: {folder}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1):
        raise UsageError(f"limit must be a positive integer, got {limit!r}")
    files = list(list_images(folder))
    if not files:
        raise InputError(f"no images found in dataset folder {folder}")
    if limit is not None:
        files = files[: int(limit)]
    from .io import read_image

    for path in files:  # every image readable and large enough for the metrics, before any training or method
        try:
            shape = read_image(path).shape  # (a bad file's error names it)
        except InputError as exc:  # a stack (or a multispectral file's bands) is several images: said as such
            if "use read_stack" not in str(exc):
                raise
            raise InputError(f"{str(exc).split('; use read_stack')[0]}; bench scores single images (each test "
                             f"image one file): write each frame or band as its own file") from None
        if min(shape[:2]) < 11:
            raise InputError(f"{path}: {shape[0]}x{shape[1]} is too small to benchmark (SSIM's window needs 11x11)")
    return folder, files


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def run_bench(
    methods: list[str],
    *,
    dataset: str | os.PathLike,
    noise: Any,
    limit: int | None = None,
    progress: Callable[[str], None] | None = None,
    options: Mapping[str, Any] | None = None,
    registry: Mapping[str, Callable[..., np.ndarray]] | None = None,
    give_noise: bool = True,
    warmup: bool = True,
    budget_minutes: float | None = None,
    train_data: str | os.PathLike | None = None,
    colour: str = "auto",
    precision: str = "fp32",
    device: str = "auto",
    data_range: float | None = None,
    resume: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Benchmark methods on one dataset and one noise, following PROTOCOL.md.

    Parameters
    ----------
    methods : list of str
        Method names. Direct methods are resolved through ``registry`` when
        given, else :func:`noise2x.api.resolve_direct`; trainable methods need
        ``budget_minutes``. ``auto`` is ``noise2x denoise IMAGE`` with no
        options (never told the noise); ``auto_noise`` the same choice told
        the benchmark's noise (``--noise SPEC``). The row ``"noisy"`` (the
        noisy input) is always added first.
    dataset : path
        Folder of clean images (e.g. ``../shared/data/bsd68``).
    noise : str or NoiseSpec
        Noise spec, e.g. ``"gaussian:sigma=25"``.
    limit : int, optional
        Use only the first ``limit`` images (sorted order).
    progress : callable, optional
        Called with one line per image and method, e.g.
        ``"[3/12] bm3d 30.12 dB 4.1 s"``.
    options : mapping, optional
        Method options: ``"method.key": value`` for one method, ``"key": value``
        for every benchmarked method that has option ``key``. String values
        are converted to the option's type.
    registry : mapping, optional
        Name -> direct method callable, replacing the API's registry.
    give_noise : bool, default True
        Pass the known noise to the methods (``noise=spec``); False benchmarks
        them blind (they must estimate it). Each row records it.
    warmup : bool, default True
        Denoise image 0 once, untimed, before each method's timed calls.
    budget_minutes : float, optional
        Training budget for trainable methods.
    train_data : path, optional
        Clean training images for trainable methods, to which ``noise`` is
        added (re-drawn each step); default ``train400`` beside the dataset
        folder. Recorded as an absolute path.
    colour : str, default "auto"
        How a gray model (a model file, or the shipped one ``auto`` picks)
        denoises colour images (``noise2x.predict.COLOUR_MODES``).
    precision : str, default "fp32"
        Arithmetic of the forward pass of the models (model files, trained
        methods, ``auto``'s shipped models; ``noise2x.predict.PRECISIONS``)
        and of the direct methods that take a ``precision`` option (zs_n2n, mash);
        the others run as they always do.
    data_range : float, optional
        The peak value PSNR and SSIM measure against (and predictions are
        clipped to). None: that of each file's units (255 for 8-bit files,
        65535 for 16-bit ones); a float dataset's: the noise spec's
        ``data_range``, else 1 for values in [0, 1] (up to 2: overshoot),
        else 255 for values within it; beyond, it must be given.
    device : str, default "auto"
        Where the models (model files, trained methods, ``auto``'s shipped
        models) and the direct methods that take a ``device`` option
        (zs_n2n, mash) run, and the trainable methods train: ``auto`` (a
        CUDA GPU when there is one), ``cpu``, ``cuda``, ``cuda:N`` or
        ``mps``; recorded as the result's ``device``. The other direct
        methods run on the CPU.

    Returns
    -------
    dict
        ``{"rows": [...], "machine": {...}, "date", "started", "wall_seconds",
        "command": None, "protocol": "PROTOCOL.md", "dataset", "noise",
        "n_images"}``. Each row has ``method, dataset, noise, psnr, ssim,
        seconds_per_image, megapixels_per_second, n_images, noise_given,
        sigma_source, options, notes, per_image`` (``file, psnr, ssim,
        seconds`` and, where the method reported them, ``sigma``,
        ``beta``, ``estimated_beta``).

    Raises
    ------
    UsageError
        Unknown method or option, missing dataset folder, bad limit.
    InputError
        No images in the dataset folder, unreadable image.
    Noise2xError
        A method returned an array of the wrong shape or with NaN/inf.
    KeyboardInterrupt
        Ctrl-C, or SIGTERM (:class:`noise2x.errors.Terminated`): where at
        least one image was finished by every method, the exception's
        ``partial_result`` holds the result of those images, with
        ``"partial": True`` and ``n_images_planned`` (``resume`` takes it).
    """
    from .noise import parse_noise
    from .predict import check_colour, check_precision, resolve_device

    for name, value in (("dataset", dataset), ("train_data", train_data)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise UsageError(f"{name} must be a path (str or Path) to a folder of images, got {type(value).__name__}")
    check_colour(colour)
    check_precision(precision)
    where = str(resolve_device(device))  # (an unknown device, or one not here, fails before any work)
    started = _dt.datetime.now(_dt.timezone.utc)
    wall_start = time.perf_counter()
    spec = parse_noise(noise) if isinstance(noise, str) else noise
    if spec is None:
        raise UsageError("a noise spec is required, e.g. gaussian:sigma=25")
    noise_label = str(spec)

    names: list[str] = []
    for name in methods:
        name = str(name).strip()
        if name and name != "noisy" and name not in names:
            names.append(name)
    if not give_noise and "auto_noise" in names:  # (it would run as auto: the same rows under two names)
        raise UsageError("auto_noise is the no-option choice told the noise; with the noise estimated "
                         "(--estimate-noise) it is told nothing: use auto")
    # resolve every method before any work, so a typo fails at once
    resolve: Callable[[str], Callable[..., np.ndarray]]
    if registry is not None:
        def resolve(name: str) -> Callable[..., np.ndarray]:
            if name not in registry:
                raise UsageError(f"unknown method '{name}'; valid: {', '.join(registry)}")
            return registry[name]
        trainable: set[str] = set()
    else:
        resolve = api.resolve_direct
        trainable = set(api.trainable_methods())
    functions: dict[str, Callable[..., np.ndarray] | None] = {}
    model_files: dict[str, Path] = {}
    for name in names:
        if name.endswith(".safetensors"):
            path = Path(name)
            if not path.is_file():
                raise InputError(f"model file not found: {path}")
            model_files[name] = path
            functions[name] = None
        elif registry is None and Path(api.model_file(name)).suffix == ".safetensors":  # a shipped model's name
            model_files[name] = Path(api.model_file(name))
            functions[name] = None
        elif name in ("auto", "auto_noise"):
            functions[name] = _auto(colour, precision, told=name == "auto_noise", device=device)
        elif name in trainable:
            if budget_minutes is None:
                raise UsageError(f"method '{name}' is trainable: give a training budget (--budget-minutes)")
            if not float(budget_minutes) > 0:
                raise UsageError(f"the training budget must be > 0 minutes, got {budget_minutes}")
            functions[name] = None
        else:
            functions[name] = resolve(name)
    valid = {name: (method_options(fn) if fn is not None else {}) for name, fn in functions.items()}
    for name, fn in functions.items():
        if fn is None:  # trainable: any option becomes a training override
            valid[name] = {key.partition(".")[2]: _RAW for key in (options or {}) if key.partition(".")[0] == name}
    trained = [name for name, fn in functions.items() if fn is None]  # (any option becomes a training override)
    per_method_options = _split_options(options, names, valid, trained)

    folder, files = _dataset_files(dataset, limit)
    if data_range is not None and not (isinstance(data_range, (int, float)) and math.isfinite(data_range)
                                       and data_range > 0):
        raise UsageError(f"data_range must be a positive number, got {data_range!r}")
    spec_range = (getattr(spec, "params", None) or {}).get("data_range")
    if data_range is not None and isinstance(spec_range, (int, float)) and spec_range != data_range:
        raise UsageError(f"data_range {data_range:g} differs from the noise spec's data_range {spec_range:g}: the "
                         f"noise is made at one full scale and measured at the other; give one")
    float_peak, values = _float_peak(files, spec, data_range)  # (one for a float set's files; before any work)
    signed = values[0] < 0.0  # (a set with values below 0: its predictions clipped from its lowest value)
    clip_to = clip_range(values[0], values[1], float_peak) if signed and float_peak is not None else None
    n = len(files)
    dataset_name = folder.resolve().name
    data = Path(train_data) if train_data is not None else folder.resolve().parent / "train400"
    if any(fn is None and name not in model_files for name, fn in functions.items()) and not data.is_dir():
        raise UsageError(f"training data not found: {data} (train400 beside the dataset folder by default; "
                         f"give another folder with --train-data, train_data= in the API)")

    if resume is not None and any(fn is None and name not in model_files for name, fn in functions.items()):
        raise UsageError("cannot resume this benchmark: a trainable method would train again, on another "
                         "budget's luck (bench it on its own, or its model file)")
    predictors: dict[str, Callable[..., np.ndarray]] = {}
    if model_files and files:  # each model tried on a corner of the first image, before any work: a model the
        # dataset's images do not fit (a colour model on gray images) stopped the run after the methods before it
        import warnings

        from .errors import UnitsWarning
        from .io import read_image

        corner = read_image(files[0])[:32, :32]
        for name, path in model_files.items():
            predictors[name] = _model_predictor(path, colour, precision, device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnitsWarning)  # (said, if so, on the images themselves)
                try:
                    predictors[name](corner, info={})
                except (InputError, UsageError) as exc:
                    raise type(exc)(f"{path} on {Path(files[0]).name} (a corner of it, tried first): {exc}") from None

    runners: list[_Method] = []
    with tempfile.TemporaryDirectory(prefix="noise2x-bench-") as workdir:
        for name, fn in functions.items():
            if name in model_files:
                predictor = predictors[name]
                # a model's row is named by its file's stem, or by the path given where that stem is another
                # row's too (two runs' noise2void.safetensors, or a method of that name)
                stems = [p.stem for p in model_files.values()] + [n for n in names if n not in model_files]
                label = model_files[name].stem if stems.count(model_files[name].stem) == 1 else name
                runner = _Method(label, predictor, options={}, kind="model")
                runner.extra.update(_model_extra(model_files[name]))
            elif fn is None:
                predict, extra = _train(name, spec=spec, train_data=data, budget_minutes=float(budget_minutes),
                                        options=per_method_options[name], workdir=Path(workdir), progress=progress,
                                        precision=precision, device=device)
                runner = _Method(name, predict, options={}, kind="trainable", shown=per_method_options[name])
                runner.extra.update(extra)
            else:
                options = dict(per_method_options[name])
                if precision != "fp32" and "precision" in valid[name]:  # zero-shot methods that take it
                    options.setdefault("precision", precision)
                if "device" in valid[name]:  # (zs_n2n, mash; a device among the options comes first)
                    options.setdefault("device", device)
                runner = _Method(name, fn, options=options, kind="direct")
            runners.append(runner)

        noisy_rows: list[dict[str, Any]] = []
        peaks: set[float] = set()
        earlier = 0.0
        file_lines = provenance.file_lines(files, folder)  # (each image's name and checksum: read once)
        if resume is not None:
            earlier = _resumed(resume, noisy_rows, runners, peaks, files=files, folder=folder, noise=noise_label,
                               give_noise=give_noise, device=where, file_lines=file_lines,
                               settings={"colour": colour, "precision": precision, "data_range": data_range})

        machine = machine_info()  # (read before the work: its subprocess, in an interruption's handler, was cut)

        def result(done: int) -> dict[str, Any]:  # the rows of the first ``done`` images
            for runner in runners:
                del runner.per_image[done:]  # (an image some methods had finished when the run stopped)
            rows = [_noisy_row(noisy_rows[:done], dataset=dataset_name, noise=noise_label)]
            rows += [_method_row(r, dataset=dataset_name, noise=noise_label, give_noise=give_noise)
                     for r in runners]
            return {
                "rows": rows,
                "machine": machine,
                "device": where,
                "date": started.date().isoformat(),
                "started": started.isoformat(timespec="seconds"),
                "wall_seconds": round(earlier + time.perf_counter() - wall_start, 1),
                **({"resumed": [str(resume.get("started"))] + list(resume.get("resumed") or [])}
                   if resume is not None else {}),
                "command": None,
                "protocol": "PROTOCOL.md",
                "dataset": provenance.path_text(folder),  # (whatever the locale: a locale re-check)
                "dataset_path": provenance.path_text(folder.resolve()),
                "dataset_sha256": provenance.files_digest(file_lines[:done]),
                "noise": noise_label,
                "n_images": done,
                "data_range": sorted(peaks)[0] if len(peaks) == 1 else sorted(peaks),
                **({"clip_range": list(clip_to)} if clip_to is not None else {}),  # (else [0, the file's peak])
                # (what a resumed run must share: another --colour or --data-range mixed two settings in one row)
                "settings": {"colour": colour, "precision": precision, "data_range": data_range,
                             "noise_given": bool(give_noise), "limit": limit},
            }

        try:  # (the making of the result too: an interruption there keeps the images done)
            return result(_bench_images(files, runners, spec, noisy_rows, peaks, float_peak=float_peak,
                                        clip_to=clip_to, data_range=data_range, give_noise=give_noise, warmup=warmup,
                                        progress=progress, float_values=values))
        except KeyboardInterrupt as exc:  # (Terminated too): the images finished so far, for the caller to keep
            done = min([len(noisy_rows)] + [len(r.per_image) for r in runners])
            if done:
                partial = result(done)
                partial.update(partial=True, n_images_planned=n)
                exc.partial_result = partial  # type: ignore[attr-defined]
            raise


def _resumed(resume: Mapping[str, Any], noisy_rows: list[dict[str, Any]], runners: list[_Method], peaks: set[float],
             *, files: list[Path], folder: Path, noise: str, give_noise: bool, device: str,
             file_lines: list[str], settings: Mapping[str, Any]) -> float:
    """Take the images of ``resume`` (a partial :func:`run_bench` result) into ``noisy_rows`` and each runner's
    ``per_image``, after checking it is a run of the same benchmark; returns its wall time (s)."""
    def refuse(why: str) -> UsageError:
        return UsageError(f"cannot resume this benchmark from that result: {why}")

    if not isinstance(resume, Mapping) or not isinstance(resume.get("rows"), list) or not resume["rows"]:
        raise refuse("it holds no benchmark rows")
    if not resume.get("partial"):
        raise refuse("it is a finished run's result, not an interrupted one's")
    kept = resume.get("settings") if isinstance(resume.get("settings"), Mapping) else {}
    if os.path.realpath(str(resume.get("dataset"))) != os.path.realpath(folder):  # (the same however written)
        raise refuse(f"its dataset was {resume.get('dataset')}, this run's is {folder}")
    checks = [("noise", resume.get("noise"), noise), ("device", resume.get("device"), device)] + [
        (key.replace("_", " "), kept.get(key, "not recorded"), value) for key, value in settings.items()]
    for what, was, now in checks:
        if was != now:
            raise refuse(f"its {what} was {was}, this run's is {now}")
    rows = [r for r in resume["rows"] if isinstance(r, Mapping)]
    names = [r.get("method") for r in rows[1:]]
    if names != [r.name for r in runners]:
        raise refuse(f"its methods were {', '.join(map(str, names))}; this run's are "
                     f"{', '.join(r.name for r in runners)}")
    for row, runner in zip(rows[1:], runners):
        if dict(row.get("options") or {}) != {k: _finite(v) for k, v in runner.shown.items()}:
            raise refuse(f"{runner.name}'s options were {row.get('options')}, this run's are {runner.shown}")
        if kept.get("noise_given", row.get("noise_given")) != bool(give_noise):
            raise refuse("the noise was given to the methods in one run and estimated in the other")
    done = [e.get("file") for e in rows[0].get("per_image") or []]
    if not done or len(done) > len(files) or done != [p.name for p in files[:len(done)]]:
        raise refuse(f"its {len(done)} images are not the first of this run's {len(files)}")
    # the same images and weights, not only the same names (its checksums: since the provenance records)
    digest = resume.get("dataset_sha256")
    if isinstance(digest, str) and digest != provenance.files_digest(file_lines[:len(done)]):
        raise refuse("an image it had done has changed since (the checksum of its images' bytes differs)")
    for row, runner in zip(rows[1:], runners):
        was, now = row.get("model_sha256"), runner.extra.get("model_sha256")
        if was and now and was != now:
            raise refuse(f"the model file of {runner.name} has changed since (its weights' checksum differs)")
    for row in rows:
        per_image = row.get("per_image") or []
        if [e.get("file") for e in per_image] != done or (row is not rows[0] and any("pixels" not in e
                                                                                   for e in per_image)):
            raise refuse(f"its {row.get('method')} row does not hold each of its images")
    noisy_rows.extend(map(_read_back, rows[0]["per_image"]))
    for row, runner in zip(rows[1:], runners):
        runner.per_image.extend(map(_read_back, row["per_image"]))
    ranges = resume.get("data_range")
    peaks.update(float(p) for p in (ranges if isinstance(ranges, list) else [ranges]) if isinstance(p, (int, float)))
    return float(resume.get("wall_seconds") or 0.0)


def _read_back(entry: dict[str, Any]) -> dict[str, Any]:
    """An image's entry of a result read from JSON: its PSNR ``null`` is infinite (identical images), which JSON
    cannot hold (a resumed run failed on it at its mean, a QA pass)."""
    entry = dict(entry)
    if entry.get("psnr", 0.0) is None:
        entry["psnr"] = float("inf")
    return entry


def _bench_images(files: list[Path], runners: list[_Method], spec: Any, noisy_rows: list[dict[str, Any]],
                  peaks: set[float], *, float_peak: float | None, clip_to: tuple[float, float] | None,
                  data_range: float | None, give_noise: bool, warmup: bool,
                  progress: Callable[[str], None] | None, float_values: tuple[float, float] = (0.0, 0.0)) -> int:
    """Run each of ``runners`` on each image of ``files`` (the loop of :func:`run_bench`); returns the count.
    ``float_values``: the lowest and largest value of the set's float files."""
    from .io import read_image
    from .noise import protocol_noisy

    n = len(files)
    start = len(noisy_rows)  # (images a resumed run had finished)
    narrow_said = False
    for i, path in enumerate(files):
        if i < start:
            continue
        clean = read_image(path)
        peak = _peak(path, float_peak, data_range)  # (the file's units: a 16-bit set read negative against 255)
        peaks.add(peak)
        span = float(np.ptp(clean))
        narrow = None  # (said, and kept in the report's noisy row: a note on stderr alone was lost, a re-check)
        if data_range is None and span < peak / 16 and not narrow_said:
            from .io import image_kind

            if peak == 65535.0:  # (12-bit data in 16-bit files were scored against 65535, unsaid: a medical-imaging
                # QA pass)
                narrow = (f"{path.name} is a 16-bit file whose values span {span:.0f}, under a "
                          f"16th of the 65535 its PSNR and SSIM are measured against: for 12-bit data, --data-range "
                          f"4095 (data_range= in Python)")
            elif image_kind(path) not in ("uint8", "uint16"):  # (a CT slice's -0.002..0.023 scored against 1:
                # noisy SSIM 0.995, unsaid, a tomography QA pass)
                low, top = float(np.min(clean)), float(np.max(clean))
                # (as --data-range is checked: a peak's for data from 0 on, over the set's files: one file's figure
                # was refused for the next, a re-check)
                least, most = min(float_values[0], low), max(float_values[1], top)
                what = "span" if least < 0 else "peak"
                narrow = (f"{path.name}'s values span {span:.3g} ({low:.3g} to {top:.3g}), under a 16th of the "
                          f"{peak:g} its PSNR and SSIM are measured against: give the {what} of the data's units "
                          f"(--data-range, data_range= in Python; for this set, at least {most - min(least, 0.0):.3g})")
            narrow_said = narrow is not None
            if narrow and progress is not None:
                progress(f"note: {narrow}")
        noisy = protocol_noisy(clean, spec, index=i)
        noisy_rows.append({"file": path.name, "psnr": psnr(clean, noisy, clip=False, data_range=peak),
                           "ssim": ssim(clean, noisy, clip=False, data_range=peak), "seconds": None})
        if narrow:
            noisy_rows[-1]["note"] = narrow
        pixels = clean.shape[0] * clean.shape[1]
        for runner in runners:
            seed = METHOD_SEED_OFFSET + i
            given = spec if give_noise else None
            if i == start and warmup:
                _checked(runner, runner(noisy, noise=given, seed=seed, info={}), clean.shape)
            info: dict[str, Any] = {}
            t0 = time.perf_counter()
            out = runner(noisy, noise=given, seed=seed, info=info)
            seconds = time.perf_counter() - t0
            pred = _checked(runner, out, clean.shape)
            if clip_to is not None:  # (a signed set: one range for all its images)
                pred = np.clip(pred, *clip_to)
            entry: dict[str, Any] = {"file": path.name,
                                     "psnr": psnr(clean, pred, data_range=peak, clip=clip_to is None),
                                     "ssim": ssim(clean, pred, data_range=peak, clip=clip_to is None),
                                     "seconds": seconds, "pixels": pixels}
            if "sigma" in info:
                entry["sigma"] = float(info["sigma"])
            if "sigma_source" in info:
                entry["sigma_source"] = str(info["sigma_source"])
            for key in ("beta", "estimated_beta"):  # (BM3D given a correlated noise's spectrum; beta=auto)
                if key in info:
                    entry[key] = float(info[key])
            for key in ("transform", "calibrated", "auto", "colour", "precision", "device"):
                if key in info:
                    entry[key] = info[key]
            runner.per_image.append(entry)
            if progress is not None:
                progress(f"[{i + 1}/{n}] {runner.name} {entry['psnr']:.2f} dB {seconds:.1f} s")
    return n


def _peak(path: Path, float_peak: float | None, data_range: float | None) -> float:
    """The peak value PSNR and SSIM measure an image of the file ``path`` against, and its predictions are clipped
    to: ``data_range`` where given, else that of its sample kind (255 for 8-bit files, 65535 for 16-bit ones), else
    the float files' (:func:`_float_peak`)."""
    from .io import image_kind

    if data_range is not None:
        return float(data_range)
    kind = image_kind(path)
    if kind in ("uint8", "uint16"):
        return 255.0 if kind == "uint8" else 65535.0
    return float(float_peak if float_peak is not None else 255.0)


def _float_peak(files: list[Path], spec: Any,
                data_range: float | None) -> tuple[float | None, tuple[float, float]]:
    """The peak value of a dataset's float files, one for all of them: the noise spec's ``data_range``; else 1
    where their values lie in [0, 1] (up to 2: resampling overshoot, a flat-field ratio; as low as -0.25:
    percentile-normalised data), else 255 where they lie within it; beyond, a UsageError asks for it (a set of counts
    in float32 read negative PSNR against 255, and one pixel at 1.02 had its file measured against 255 beside the
    others' 1, in a QA pass). None: no float files. With it, the lowest and largest values of the files read (0, 0
    where none): a set with values below 0 (signed data) needs ``data_range``, the span of its units (those in
    [-1, 1] were clipped to [0, 2] and a denoiser read below the noisy input, a QA pass). A given ``data_range``
    the values span more than 1.25 times is refused (a 16-bit set measured against 255 read negative PSNR);
    percentile-normalised data, a little beyond [0, 1], pass (the QA re-check)."""
    from .io import image_kind, read_image

    if data_range is not None:  # (given too low, the PSNR of a 16-bit set read negative again: the QA re-check)
        lows, tops = [], []
        for f in files:
            values = read_image(f)
            top, low = float(np.max(values)), float(np.min(values))
            lows.append(low)
            tops.append(top)
            if top - min(low, 0.0) > 1.25 * data_range:
                said = f"span {low:.6g} to {top:.6g}" if low < 0.0 else f"reach {top:.6g}"
                raise UsageError(f"{f.name}'s values {said}, beyond data_range {data_range:g}: give the "
                                 f"{'span' if low < 0.0 else 'peak'} of the dataset's units")
        return float(data_range), (min(lows), max(tops))
    floats = [f for f in files if image_kind(f) not in ("uint8", "uint16")]
    if not floats:
        return None, (0.0, 0.0)
    tops, lows = zip(*((float(np.max(v)), float(np.min(v))) for v in map(read_image, floats)))
    top, low = max(tops), min(lows)
    given = (getattr(spec, "params", None) or {}).get("data_range")
    if isinstance(given, (int, float)) and given > 0:
        return float(given), (low, top)
    if low < 0.0 and not (low >= -0.25 and top <= 2.0):
        raise UsageError(f"the dataset's images hold negative values (down to {low:.6g}): give the span of "
                         f"their units (bench --data-range, data_range= in Python: 2 for data in [-1, 1]), which "
                         f"PSNR and SSIM measure against")
    if top <= 2.0:
        return 1.0, (low, top)
    if top <= 255.0 * (1 + 1e-6):
        return 255.0, (low, top)
    raise UsageError(f"the dataset's float images reach {top:.6g}, beyond 8-bit units: give the peak value of their "
                     f"units (bench --data-range, data_range= in Python), which PSNR and SSIM measure against")


def _checked(runner: _Method, out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if out.shape != tuple(shape):
        raise Noise2xError(f"method '{runner.name}' returned an image of shape {out.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(out)):
        raise Noise2xError(f"method '{runner.name}' returned NaN or infinite values")
    return out


def _noisy_row(per_image: list[dict[str, Any]], *, dataset: str, noise: str) -> dict[str, Any]:
    return {
        "method": "noisy",
        "dataset": dataset,
        "noise": noise,
        "psnr": _mean([e["psnr"] for e in per_image]),
        "ssim": _mean([e["ssim"] for e in per_image]),
        "seconds_per_image": None,
        "megapixels_per_second": None,
        "n_images": len(per_image),
        "noise_given": None,
        "sigma_source": None,
        "options": {},
        "notes": "; ".join(["the noisy input itself, unclipped (PROTOCOL reference)"]
                           + [e["note"] for e in per_image if e.get("note")]),
        "per_image": per_image,
    }


def _method_row(runner: _Method, *, dataset: str, noise: str, give_noise: bool) -> dict[str, Any]:
    per_image = runner.per_image
    seconds = [e["seconds"] for e in per_image]
    pixels = sum(e["pixels"] for e in per_image)
    total = float(sum(seconds))
    sources = sorted({e["sigma_source"] for e in per_image if "sigma_source" in e})
    sigmas = [e["sigma"] for e in per_image if "sigma" in e]
    notes = []
    if sources:
        level = f"sigma {np.mean(sigmas):.3g}" if sigmas else "sigma"
        if "estimated" in sources and len(sigmas) > 1:
            level = f"sigma {np.mean(sigmas):.3g} (mean)"
        notes.append(f"{level} from {'/'.join(sources)}")
    betas = [e["beta"] for e in per_image if "beta" in e]
    if betas:
        notes.append(f"correlated noise's spectrum on {len(betas)} of {len(per_image)} images (beta "
                     f"{min(betas):.2f}..{max(betas):.2f})")
    transforms = sorted({str(e["transform"]) for e in per_image if "transform" in e})
    notes += transforms
    if any("calibrated" in e for e in per_image):
        notes.append("parameters calibrated per image (Noise2Self)")
    if not (give_noise and runner.pass_noise):
        notes.append("noise not given to the method")
    used = sorted({str(e["auto"]).split(": ")[-1] for e in per_image if "auto" in e})
    if used:
        notes.append("used: " + "; ".join(used))
    planes = sorted({str(e["colour"]) for e in per_image if "colour" in e})
    if planes:
        from .predict import COLOUR_LABELS

        notes.append("gray model on " + "/".join(COLOUR_LABELS[p] for p in planes))
    precisions = sorted({str(e["precision"]) for e in per_image if e.get("precision", "fp32") != "fp32"})
    if precisions:
        notes.append("/".join(precisions) + " forward pass")
    if runner.shown:
        notes.append(", ".join(f"{k}={v}" for k, v in runner.shown.items()))
    if "train_seconds" in runner.extra:
        made = runner.extra
        how = ", ".join(x for x in (f"{made['train_steps']} steps" if "train_steps" in made else "",
                                    str(made.get("train_device") or ""),
                                    f"{made['train_threads']} thread{'s' if made['train_threads'] != 1 else ''}"
                                    if made.get("train_threads") else "",
                                    f"preset {made['train_preset']}" if made.get("train_preset") else "") if x)
        notes.append(f"trained {made['train_seconds']:.0f} s on {Path(made['train_data']).name}"
                     + (f" ({how})" if how else ""))
    if runner.extra.get("train_noise") and runner.kind != "trainable":  # (a model file's: what it learned from)
        notes.append(f"trained on {runner.extra['train_noise']}")
    if runner.extra.get("train_resample_noise"):  # (PROTOCOL: the table says so)
        notes.append("training noise re-drawn each step")
    row: dict[str, Any] = {
        "method": runner.name,
        "dataset": dataset,
        "noise": noise,
        "psnr": _mean([e["psnr"] for e in per_image]),
        "ssim": _mean([e["ssim"] for e in per_image]),
        "seconds_per_image": total / len(per_image) if per_image else None,
        "megapixels_per_second": (pixels / 1e6 / total) if total > 0 else None,
        "n_images": len(per_image),
        "noise_given": bool(give_noise and runner.pass_noise),  # (a model's, auto's: never)
        "sigma_source": "/".join(sources) if sources else None,
        "options": dict(runner.shown),
        "notes": "; ".join(notes),
        "per_image": per_image,
    }
    row.update(runner.extra)
    return row


# ---------------------------------------------------------------------------
# machine description and outputs


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.partition(":")[2].strip() or None
    except OSError:
        pass
    if sys.platform == "darwin":  # (platform.processor() says "arm" of every Apple chip: a portability QA pass)
        try:
            named = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                   timeout=5, stdin=subprocess.DEVNULL).stdout.strip()
            if named:
                return named
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or None


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Where a benchmark ran: CPU model and cores, Python and package versions.

    torch is described only from its installed metadata (it is not imported
    here); when torch is already loaded, its thread count and GPU are added.

    Returns
    -------
    dict
        ``cpu_model, cpu_count, usable_cores, platform, python`` and
        ``versions`` (package -> version or None); ``torch_threads`` and
        ``cuda_device`` when torch is loaded.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        # (noise2x with a checkout's git commit: the code, not only a release's number)
        "versions": {"noise2x": provenance.code_version(),
                     **{pkg: _version(pkg) for pkg in ("numpy", "scipy", "scikit-image", "bm3d", "torch")}},
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        try:
            info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        except Exception:  # noqa: BLE001 - a broken CUDA setup must not break the report
            info["cuda_device"] = None
    return info


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return format(value, spec)


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def markdown_table(result: Mapping[str, Any]) -> str:
    """The rows of a :func:`run_bench` result as a Markdown table.

    Columns: method | dataset | noise | PSNR | SSIM | s/image | MP/s | notes.
    """
    lines = [
        "| method | dataset | noise | PSNR (dB) | SSIM | s/image | MP/s | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result.get("rows", []):
        notes = str(row.get("notes") or "").replace("|", "\\|")
        lines.append(
            f"| {row['method']} | {row['dataset']} | {row['noise']} | {_fmt(row.get('psnr'), '.2f')} | "
            f"{_fmt(row.get('ssim'), '.4f')} | {_fmt_seconds(row.get('seconds_per_image'))} | "
            f"{_fmt(row.get('megapixels_per_second'), '.3g')} | {notes} |"
        )
    return "\n".join(lines) + "\n"


def _markdown_report(result: Mapping[str, Any]) -> str:
    machine = result.get("machine") or {}
    cores = machine.get("usable_cores") or machine.get("cpu_count")
    device = machine.get("cuda_device")
    if str(result.get("device") or "cuda").split(":")[0] != "cuda":  # (a run asked to stay off the GPU)
        device = None
    where = f"GPU {device}" if device else f"CPU, {cores} cores ({machine.get('cpu_model') or 'unknown model'})"
    lines = [
        f"# Benchmark: {result.get('dataset')} with {result.get('noise')}",
        "",
        f"- date: {result.get('started') or result.get('date')}",
        f"- machine: {where}",
        f"- command: `{result.get('command')}`" if result.get("command") else "- command: (not recorded)",
        f"- images: {result.get('n_images')}; wall time of the whole run: {result.get('wall_seconds')} s"
        + (f" (resumed {len(result['resumed'])} time{'s' if len(result['resumed']) > 1 else ''})"
           if result.get("resumed") else ""),
        *([f"- PARTIAL: interrupted after {result.get('n_images')} of {result.get('n_images_planned')} images"]
          if result.get("partial") else []),
        f"- protocol: {result.get('protocol')} ("
        + (f"prediction clipped to [0,{_peak_text(result.get('data_range'))}]" if not result.get("clip_range") else
           "data with values below 0, measured against a range of {}: predictions clipped to [{:.4g}, {:.4g}]".format(
               _peak_text(result.get("data_range")), *result["clip_range"]))
        + "; SSIM with Gaussian window 1.5)",
        "",
        markdown_table(result),
    ]
    return "\n".join(lines)


def _peak_text(peak: Any) -> str:
    """The peak value(s) of a result, as the report names them (255 for results before it was kept)."""
    if isinstance(peak, list):
        return " or ".join(f"{p:g}" for p in peak) + " by the file's units"
    return f"{peak:g}" if isinstance(peak, (int, float)) else "255"


def _finite(value: Any) -> Any:
    """JSON cannot hold inf/NaN: replace them by None, recursively; numpy scalars become Python."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):  # (a folder's undecodable bytes: lone surrogates, which ended the report in an
        from .provenance import clean_text  # internal error, and which strict JSON readers refuse: a locale QA pass)

        return clean_text(value)
    return value


def output_paths(out: str | os.PathLike) -> tuple[Path, Path]:
    """The JSON and Markdown paths :func:`write_outputs` writes for ``out``.

    Raises :class:`UsageError` when ``out`` ends neither in ``.json`` nor in
    ``.md``, so that a caller can check ``--out`` before a long run.
    """
    out = Path(out)
    if out.suffix.lower() not in (".json", ".md"):
        raise UsageError(f"benchmark output must end with .json or .md, got {out}")
    # the name given keeps its spelling (Y.JSON was written as Y.json); the other file takes the matching case
    other = {".json": ".md", ".md": ".json"}[out.suffix.lower()]
    other = other.upper() if out.suffix.isupper() else other
    return (out, out.with_suffix(other)) if out.suffix.lower() == ".json" else (out.with_suffix(other), out)


def partial_path(out: str | os.PathLike) -> Path:
    """Where the CLI keeps an interrupted run's results for ``--out out``: ``NAME.partial.json``."""
    json_path, _ = output_paths(out)
    return json_path.with_name(json_path.stem + ".partial" + json_path.suffix)


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    """A result that :func:`write_outputs` wrote (its JSON), e.g. an interrupted run's, for ``run_bench(resume=)``."""
    path = Path(path)
    if path.suffix.lower() == ".md":
        path = output_paths(path)[0]
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"benchmark result not found: {path}") from None  # (2, as a missing input's)
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a benchmark result (.json)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path} is not a readable benchmark result (JSON): {exc}") from None
    if not isinstance(result, dict):
        raise InputError(f"{path} is not a benchmark result: its JSON is no object")
    return result


def write_outputs(result: Mapping[str, Any], out: str | os.PathLike) -> list[Path]:
    """Write a :func:`run_bench` result as JSON and as a Markdown report, atomically.

    Parameters
    ----------
    result : mapping
        What :func:`run_bench` returned (with ``command`` filled in by the caller).
    out : path
        ``NAME.json`` (the Markdown goes to ``NAME.md`` beside it) or
        ``NAME.md`` (the JSON goes to ``NAME.json``). Missing parent folders
        are created.

    Returns
    -------
    list of Path
        The JSON path and the Markdown path.
    """
    json_path, md_path = output_paths(out)
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Noise2xError(f"cannot create output folder {json_path.parent}: {exc.strerror}") from None
    text = json.dumps(_finite(dict(result)), indent=1, allow_nan=False) + "\n"
    with atomic_path(json_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    from .provenance import clean_text

    with atomic_path(md_path) as tmp:  # (its inf figures as the table shows them: "-" came of the JSON's copy)
        tmp.write_text(clean_text(_markdown_report(result)), encoding="utf-8")
    return [json_path, md_path]
