"""Training configuration: dataclasses and dotted overrides.

A run is described by one :class:`TrainConfig`. Four sections can be changed
with dotted overrides (the CLI's ``--set key=value``):

* ``train.*`` -- :class:`TrainSection` (optimiser, schedule, budget, validation)
* ``data.*``  -- :class:`DataConfig` (patches, batches, noise re-drawing, caching)
* ``model.*`` -- ``model.arch`` and the architecture's own arguments
  (``model.width=32``, ``model.depth=3``; see ``noise2x.models``)
* ``method.*`` -- the method's ``Options`` dataclass

Each key must name a real field (else a UsageError lists the valid ones) and
its value is parsed by the field's type. :func:`check_config` runs the
cross-field checks and says what to change.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import numbers
import os
import types
import typing
from typing import Any, Sequence

from .errors import InputError, UsageError

#: How a one-channel model denoises a multi-channel image (``colour``; :mod:`noise2x.predict` says how)
COLOUR_MODES = ("auto", "luma", "channels")
#: The precisions a network's forward pass runs in (:mod:`noise2x.predict` says where each runs)
PRECISIONS = ("fp32", "bf16", "fp16")


def check_colour(colour: str) -> str:
    """``colour`` if it is one of :data:`COLOUR_MODES`, else UsageError (here, not in predict: checks that need
    no torch import none, and a classical method's command starts sooner: a performance QA pass)."""
    if colour not in COLOUR_MODES:
        raise UsageError(f"colour must be one of {', '.join(COLOUR_MODES)}, got {colour!r}")
    return colour


def layout_hints(shape: tuple[int, ...], *, axes_call: str = "") -> str:
    """The ways a 3-D array that is neither (H,W,1) nor (H,W,3) may be meant for a gray model, each with what
    denoises it so, as ``"; "``-led text: channels stored last (``colour='channels'``), where the last axis is
    short (at most 16, or under both others); an RGB image or planes stored first (a stack of frames, or
    channels: ``axes='ZYX'``), where the first is (likewise); both where neither is; ``image[0]`` for a first
    axis of 1. ``axes_call`` wraps the axes argument (``Denoiser.denoise`` has none: ``noise2x.denoise(image,
    model=..., `` ... ``)``).

    (A 31-band cube stored last was told only of axes, a 5-channel stack stored first only of colour='channels',
    which denoised 128 "channels" of 5 rows each, 5.6 dB under its planes': a QA pass.)"""
    a, b, c = (int(n) for n in shape)
    if a == 1:  # (told of "1 planes stored first": a re-check)
        return "; one image with an axis of 1 first: image[0]"
    last, first = c <= 16 or c < min(a, b), a <= 16 or a < min(b, c)
    if not (last or first):
        last = first = True
    hints = []
    if last:
        hints.append(f"{c} channels of data stored last, each denoised alone: colour='channels'")
    if first and a in (3, 4) and a < c:
        hints.append(f"an RGB{'A' if a == 4 else ''} image stored channels first: np.moveaxis(image, 0, -1)")
    if first:
        call = f"{axes_call}axes='ZYX')" if axes_call else "axes='ZYX'"
        hints.append(f"{a} planes stored first (a stack of frames, or channels), each denoised alone: {call}")
    return "".join(f"; {h}" for h in hints)


def check_channels_last(shape: tuple[int, ...], *, axes_call: str = "") -> None:
    """InputError where ``colour='channels'`` would read the last axis of a channels-first array as its channels:
    a short first axis (at most 16) under half the last, which is over 16 (a (5,128,128) stack: 128 "channels"
    of 5x128 pixels, 5.6 dB under its planes each denoised alone, unsaid: a QA pass)."""
    a, b, c = (int(n) for n in shape)
    if a <= 16 < c and 2 * a < c:
        call = f"{axes_call}axes='ZYX')" if axes_call else "axes='ZYX'"
        said = f"{axes_call}axes='YXC')" if axes_call else "axes='YXC'"
        raise InputError(f"colour='channels' reads the last axis as the channels: shape {(a, b, c)} would be {c} "
                         f"channels of {a}x{b} pixels; {a} planes stored first, each denoised alone: {call}; where "
                         f"the channels are last (a small image of many bands): {said}")


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool where it is one (True/False, numpy's, 0 or 1), else UsageError (tta="yes" ran
    test-time augmentation unsaid, and "no" too: a QA pass)."""
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    if (isinstance(value, numbers.Integral) or numpy_bool) and value in (0, 1):
        return bool(value)  # (numpy's bool and integers too: numbers.Integral holds its integers, not its bool)
    raise UsageError(f"{name} must be True or False, got {value!r}")


def check_precision_name(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else UsageError (``noise2x.predict.check_precision``
    checks the device too)."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


#: The environment variable that sets the CPU threads noise2x's torch work uses (the CLI's ``--threads``; see
#: :func:`noise2x.predict.auto_threads`); ``OMP_NUM_THREADS`` is read where it is not set
THREADS_ENV = "NOISE2X_THREADS"

#: The threads a Python call asked for (``noise2x.denoise(threads=N)``), for this thread (a context variable:
#: the environment variable it once set was left behind by two overlapping calls in two threads, a QA re-check)
THREADS_ASKED: contextvars.ContextVar[int | None] = contextvars.ContextVar("noise2x_threads", default=None)

#: Whether a --minutes run says how to repeat it from its state file (False where the run folder is a temporary
#: one that goes with the call: bench's trainings, whose hint named a deleted folder, a README QA pass)
REPEAT_NOTE: contextvars.ContextVar[bool] = contextvars.ContextVar("noise2x_repeat_note", default=True)


def whole_number(text: str | None) -> int | None:
    """A positive whole number from an environment variable's text, else None."""
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if value >= 1 else None


def told_threads() -> int | None:
    """The CPU threads the user set (a Python call's ``threads=``, :data:`THREADS_ENV`, else ``OMP_NUM_THREADS``),
    or None (:func:`noise2x.predict.user_threads` less its fork rule: checked here without importing torch)."""
    env = os.environ.get(THREADS_ENV)
    if env is not None and env.strip() and whole_number(env) is None:  # (--threads and threads= refuse these;
        # the variable's were ignored without a word, a deployment's typo unseen: a QA pass)
        raise UsageError(f"{THREADS_ENV}={env!r}: expected a whole number of CPU threads, at least 1 (or unset)")
    return THREADS_ASKED.get() or whole_number(env) or whole_number(os.environ.get("OMP_NUM_THREADS"))


def checked_threads(threads: Any) -> int:
    """``threads=`` of the Python API (denoise, train) as an int, or a UsageError."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise UsageError(f"threads must be a whole number >= 1 (or None), got {threads!r}")
    return int(threads)


#: True in a process started by ``fork`` (multiprocessing's default on Linux before Python 3.14) from one
#: that had imported torch: torch's OpenMP threads do not survive fork, and a child that runs torch on more
#: than one thread waits for them forever (PyTorch; spawn and forkserver start clean processes). Such a
#: child runs torch on one thread (:func:`noise2x.predict.user_threads`).
FORKED = False


def _after_fork_in_child() -> None:
    global FORKED
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:  # (a parameter copy in load_state_dict ran parallel, and hung, before any of ours)
        FORKED = True
        torch.set_num_threads(1)


_FORK_GUARDED = False


def guard_fork() -> None:
    """Have a fork-started child run torch on one thread (:data:`FORKED`); called when noise2x is imported."""
    global _FORK_GUARDED
    if not _FORK_GUARDED:
        import os

        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
        _FORK_GUARDED = True


SCHEDULES = ("rampdown", "cosine", "steps", "constant", "plateau")
#: Arithmetic of the training steps' forward passes (``train.precision``).
TRAIN_PRECISIONS = ("fp32", "bf16")
KEEP = ("last", "best")
PAIRS = ("auto", "noisy", "clean")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclasses.dataclass
class TrainSection:
    """Optimiser, learning-rate schedule, budget and validation (``train.*``).

    Attributes
    ----------
    steps, minutes : int or None, float or None
        Budget: stop after this many steps / wall minutes (the first reached).
    seed : int
        Seed of every random choice (patches, noise, masks, initial weights).
    device : {"auto", "cpu", "cuda", "mps"} or a torch device string
        "auto": cuda, then mps, then cpu.
    preset : {"auto", "tiny", "cpu", "paper"} or a method's own preset
        Network size and data settings (the method's ``presets``, applied before
        the user's settings); "auto" = "paper" on a GPU, else "cpu". Some methods
        add variants (e.g. gan's "code" and "wgan").
    lr : float
        Peak learning rate of Adam.
    schedule : {"rampdown", "cosine", "steps", "constant", "plateau"}
        "rampdown": constant, then the Noise2Noise paper's smooth ramp-down over
        the last ``rampdown`` fraction of the budget; "cosine": cosine decay;
        "steps": halved at 20, 40, 60 and 80% of the budget (Neighbor2Neighbor's
        reference code); "plateau": multiplied by ``plateau_factor`` whenever the
        validation figure has not improved (by a relative 1e-4) for more than
        ``plateau_patience`` checks in a row (the n2v package's and CAREamics'
        ``ReduceLROnPlateau``; needs validation).
    rampdown, warmup : float
        Fractions of the budget for the ramp-down and a linear warm-up.
    beta1, beta2, weight_decay, grad_clip : float
        Adam settings; ``grad_clip > 0`` clips the gradient norm.
    plateau_patience, plateau_factor : int, float
        ``schedule="plateau"``: how many checks without improvement are borne
        (10, as n2v's) and the factor then applied to the rate (0.5).
    early_stop : int
        End the run once the validation figure has not improved for this many
        checks in a row (0: never; needs validation). The run ends as one whose
        budget is spent: its model is the best or last as ``keep`` says.
    val_every : int
        Validate (and checkpoint) every this many steps.
    keep : {"last", "best"}
        Which weights the output model file holds: the final ones, or the
        best validated ones (both are kept in the run folder).
    threads : int
        CPU threads for torch (0 = the cores not busy with other jobs when the
        run starts, see ``noise2x.predict.auto_threads``).
    channels_last : bool
        Use the channels-last memory format.
    precision : {"fp32", "bf16"}
        ``bf16``: each step's forward pass and loss run under
        ``torch.autocast`` in bfloat16 (mixed precision: the weights, their
        gradients and Adam's state stay float32; no loss scaling is needed).
        On a CPU with bfloat16 instructions (AVX512-BF16, AMX) or a recent
        GPU a step is up to about twice as fast; elsewhere it may be slower.
        Validation runs in float32.
    replay : str
        The training state (``RUN/state.safetensors``) of a ``--minutes`` run, whose learning rate (and
        method progress) at each step followed the clock: each step's budget share is taken from it, so that
        ``--steps N`` with the same seed and threads repeats that run bit for bit ("": none).
    """

    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    device: str = "auto"
    preset: str = "auto"
    lr: float = 3e-4
    schedule: str = "rampdown"
    rampdown: float = 0.3
    warmup: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    plateau_patience: int = 10
    plateau_factor: float = 0.5
    early_stop: int = 0
    val_every: int = 250
    keep: str = "last"
    threads: int = 0
    channels_last: bool = False
    precision: str = "fp32"
    replay: str = ""


@dataclasses.dataclass
class DataConfig:
    """Training data (``data.*``).

    Attributes
    ----------
    patch_size, batch_size : int
        Random square patches per batch.
    augment : bool
        Random D4 transforms (rotations and flips) of each patch (those the
        method allows: with a structN2V mask, the ones that keep its axis).
    resample_noise : bool
        With ``--add-noise``: draw new noise for every patch at every step (the
        Noise2Noise paper's recipe) instead of one fixed draw per image
        (PROTOCOL.md: image j from seed 1000+j, its second copy from 2000+j).
    pair : {"auto", "noisy", "clean"}
        What ``--data2`` holds: independent noisy copies or clean targets
        ("auto": clean if the method needs clean targets, else noisy).
    cache_mb : float
        Keep decoded images in memory up to this many megabytes; later images
        are read from disk when sampled.
    val_images : int
        Images held out for validation (from the end of the list) when no
        validation folder is given (a folder is used whole); a set of fewer
        than twice as many holds out the bottom 10% of the rows of its last
        ``val_images`` images.
    val_crop : int
        Side of the central validation crops.
    norm_images : int
        Images sampled to compute the normalisation mean/std.
    blanks : bool
        NaN values mark blank pixels (no data; the FITS convention): patches
        are drawn where every pixel holds data, the normalisation reads the
        data only, and validation crops are filled as ``denoise --blanks``
        fills them. Without it NaN is an error.
    blank_value : float or None
        Pixels holding this value in every channel are blank too (as NaN is
        with ``blanks``, which it implies), e.g. 0 or -9999 outside a scene's
        footprint (``--blank-value``).
    recursive : bool
        A data folder's subfolders' images too (hidden ones left out), in the
        order of their paths below it (``--data2`` is aligned in that order).
    """

    patch_size: int = 64
    batch_size: int = 8
    augment: bool = True
    resample_noise: bool = False
    pair: str = "auto"
    cache_mb: float = 2048.0
    val_images: int = 8
    val_crop: int = 128
    norm_images: int = 32
    blanks: bool = False
    blank_value: float | None = None
    recursive: bool = False


@dataclasses.dataclass
class ModelConfig:
    """The network (``model.*``): ``arch`` ("" = the method's default) and its arguments."""

    arch: str = ""
    args: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the run folder and model file).

    Attributes
    ----------
    method : str
        Method name (a key of ``noise2x.methods.METHODS``).
    data, data2, val_data : str or None
        Training images (a folder, or a multi-frame TIFF stack), aligned second
        images (noisy copies or clean targets), validation images.
    add_noise : str or None
        Noise spec added to clean training images (None: images are noisy).
    init : str or None
        The model file (or shipped model's name) whose network the run starts
        from (fine-tuning); None: a freshly initialised network.
    train, data_cfg, model : sections
    options : the method's ``Options`` dataclass
    """

    method: str
    data: str
    data2: str | None = None
    val_data: str | None = None
    add_noise: str | None = None
    init: str | None = None
    train: TrainSection = dataclasses.field(default_factory=TrainSection)
    data_cfg: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    options: Any = None

    def __post_init__(self) -> None:
        if self.options is None:
            self.options = _method_class(self.method).Options()

    # -- serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (sections under "train", "data", "model", "method")."""
        return {
            "method_name": self.method,
            "inputs": {"data": self.data, "data2": self.data2, "val_data": self.val_data,
                       "add_noise": self.add_noise, "init": self.init},
            "train": dataclasses.asdict(self.train),
            "data": dataclasses.asdict(self.data_cfg),
            "model": {"arch": self.model.arch, **self.model.args},
            "method": dataclasses.asdict(self.options),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise UsageError."""
        from .methods.base import options_from_dict

        name = d["method_name"]
        inputs = d.get("inputs", {})
        model = dict(d.get("model", {}))
        arch = model.pop("arch", "")
        return cls(
            method=name, data=inputs.get("data"), data2=inputs.get("data2"),
            val_data=inputs.get("val_data"), add_noise=inputs.get("add_noise"), init=inputs.get("init"),
            train=options_from_dict(TrainSection, d.get("train", {}), where="train"),
            data_cfg=options_from_dict(DataConfig, d.get("data", {}), where="data"),
            model=ModelConfig(arch=arch, args=model),
            options=options_from_dict(_method_class(name).Options, d.get("method", {}),
                                      where=f"method {name!r}"),
        )


def _method_class(name: str) -> type:
    from .methods import METHODS

    try:
        return METHODS[name]
    except KeyError:
        raise UsageError(f"unknown method {name!r}; trainable methods: {', '.join(METHODS)}") from None


# -- value parsing -------------------------------------------------------------
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_value(text: str, typ: Any, *, key: str) -> Any:
    """Parse ``text`` as a value of type ``typ`` (bool, int, float, str, Optional of those)."""
    if not isinstance(text, str):
        return text
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if text.strip().lower() in ("none", "null", "") and len(args) < len(typing.get_args(typ)):
            return None
        typ = args[0] if len(args) == 1 else str
    s = text.strip()
    try:
        if typ is bool:
            if s.lower() in _TRUE:
                return True
            if s.lower() in _FALSE:
                return False
            raise ValueError
        if typ is int:
            f = float(s)
            if not f.is_integer():
                raise ValueError
            return int(f)
        if typ is float:
            v = float(s)
            if math.isnan(v):
                raise ValueError
            return v
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a number"}[typ]
        raise UsageError(f"{key}={text!r}: expected {kind}") from None
    return s


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - unresolvable annotations
        return {f.name: str for f in dataclasses.fields(cls)}


def _replace_field(obj: Any, key: str, value: str, *, section: str) -> Any:
    names = [f.name for f in dataclasses.fields(obj)]
    if key not in names:
        raise UsageError(f"unknown setting {section}.{key}; valid {section}.* keys: {', '.join(names) or '(none)'}")
    typ = _hints(type(obj)).get(key, str)
    return dataclasses.replace(obj, **{key: parse_value(value, typ, key=f"{section}.{key}")})


SECTIONS = ("train", "data", "model", "method")


def split_override(text: str) -> tuple[str, str, str]:
    """Split ``"section.key=value"`` into its three parts (UsageError if malformed)."""
    lhs, sep, value = str(text).partition("=")
    section, dot, key = lhs.strip().partition(".")
    if not sep or not dot or not key:
        raise UsageError(f"setting {text!r} must look like section.key=value, e.g. train.lr=3e-4 "
                         f"(sections: {', '.join(SECTIONS)})")
    if section not in SECTIONS:
        raise UsageError(f"unknown settings section {section!r} in {text!r}; valid sections: {', '.join(SECTIONS)}")
    return section, key.strip(), value.strip()


def _with_section(cfg: TrainConfig, text: str) -> str:
    """``"key=value"`` without a section gets the one section that has ``key`` (method first)."""
    lhs, sep, _ = str(text).partition("=")
    if not sep or "." in lhs:
        return text
    key = lhs.strip()
    owners = [name for name, obj in (("method", cfg.options), ("train", cfg.train), ("data", cfg.data_cfg))
              if obj is not None and dataclasses.is_dataclass(obj) and key in {f.name for f in dataclasses.fields(obj)}]
    if len(owners) == 1:
        return f"{owners[0]}.{text.strip()}"
    if len(owners) > 1:
        raise UsageError(f"setting {text!r} is ambiguous: write {' or '.join(o + '.' + key for o in owners)}")
    raise UsageError(f"setting {text!r}: no section has a key {key!r}; write section.key=value, e.g. train.lr=3e-4 "
                     f"(sections: {', '.join(SECTIONS)})")


def apply_overrides(cfg: TrainConfig, overrides: Sequence[str]) -> TrainConfig:
    """A copy of ``cfg`` with dotted overrides applied in order.

    Parameters
    ----------
    cfg : TrainConfig
    overrides : sequence of str
        ``"train.lr=3e-4"``, ``"data.patch_size=64"``, ``"method.loss=l1"``,
        ``"model.width=32"`` ... ``model.*`` keys other than ``arch`` are
        checked against the architecture when the model is built
        (:func:`resolve_model`).

    Raises
    ------
    UsageError
        A key that names no field (the message lists the valid keys) or a
        value of the wrong type.
    """
    if isinstance(overrides, str):
        overrides = [overrides]
    new = dataclasses.replace(cfg, model=ModelConfig(cfg.model.arch, dict(cfg.model.args)))
    for text in overrides:
        section, key, value = split_override(_with_section(cfg, text))
        if section == "train":
            new.train = _replace_field(new.train, key, value, section="train")
        elif section == "data":
            new.data_cfg = _replace_field(new.data_cfg, key, value, section="data")
        elif section == "method":
            try:
                new.options = _replace_field(new.options, key, value, section="method")
            except UsageError as exc:
                raise UsageError(f"{exc} (method {cfg.method})") from None
        else:
            if key == "arch":
                new.model.arch = value
            else:
                new.model.args[key] = value  # parsed and checked in resolve_model
    return new


def resolve_preset(cfg: TrainConfig, device_type: str) -> str:
    """The preset actually used: ``train.preset``, or for "auto" "paper" on a GPU and "cpu" otherwise."""
    from .methods.base import PRESETS

    p = cfg.train.preset
    if p == "auto":
        return "paper" if device_type in ("cuda", "mps") else "cpu"
    valid = list(PRESETS) + [k for k in _method_class(cfg.method).presets if k not in PRESETS]
    if p not in valid:
        raise UsageError(f"train.preset={p!r} is not valid for method {cfg.method}; valid: auto, {', '.join(valid)}")
    return p


def preset_overrides(method: str, preset: str) -> list[str]:
    """The method's dotted overrides for ``preset`` (applied before the user's own)."""
    values = _method_class(method).presets.get(preset, {})
    return [f"{k}={v}" for k, v in values.items()]


def resolve_model(cfg: TrainConfig, *, channels: int, preset: str, method: Any = None) -> tuple[str, dict[str, Any]]:
    """The architecture and its arguments: the method's default for the preset, then ``model.*``.

    ``method`` is the Method instance to ask (e.g. already adapted to the
    training noise by ``with_noise``); default: built from ``cfg``.

    Raises
    ------
    UsageError
        Unknown architecture or argument (the valid ones are listed) or a badly typed value.
    """
    from .methods import get_method
    from .models import arch_parameters

    if method is None:
        method = get_method(cfg.method, cfg.options)
    percent = getattr(getattr(method, "options", None), "percent", None)
    if percent is not None:  # (every pixel a blind spot, taken unsaid: a CAREamics user's QA pass; here, for a new
        from .masking import box_size  # run: a model file trained so before still loads, a re-check)

        if box_size(percent) == 1:
            raise UsageError(f"method.percent={percent:g} masks every pixel (one blind spot per box of side "
                             f"round(sqrt(100 / percent)) = 1); at most 44: one per 2x2 box, 25%")
    arch, args = method.default_model(channels=channels, preset=preset)
    own = {k: args[k] for k in ("blurpool", "top_skip") if k in args}  # (the method's own network changes)
    if cfg.model.arch and cfg.model.arch != arch:
        # the method's own network changes (N2V2's blur-pooling and no top skip) where the architecture asked for
        # has none of them: refused (dropped, unsaid, with n2v2 in the model file: a CAREamics user's QA pass)
        lost = [k for k in own if k not in arch_parameters(cfg.model.arch)]
        if lost:
            raise UsageError(f"method {cfg.method} builds its network with {', '.join(f'{k}={own[k]}' for k in lost)}"
                             f" (N2V2), which model.arch={cfg.model.arch} has not: leave model.arch at {arch}, or "
                             f"drop method.n2v2 (method.replacement=median keeps N2V2's replacement)")
        arch, args = cfg.model.arch, {"in_channels": channels}
    params = arch_parameters(arch)
    for key, value in cfg.model.args.items():
        if key not in params:
            raise UsageError(f"unknown setting model.{key} for architecture {arch!r}; valid model.* keys: arch, "
                             f"{', '.join(k for k in params if k not in ('in_channels', 'out_channels'))}")
        if key in ("in_channels", "out_channels"):
            raise UsageError(f"model.{key} is set from the data ({channels} channel(s)); do not set it")
        ann = params[key].annotation
        typ = _eval_annotation(ann, params[key].default)
        args[key] = parse_value(value, typ, key=f"model.{key}")
        if key in own and args[key] != own[key]:  # (n2v2 with model.blurpool=false trained Noise2Void's network
            # under N2V2's name, unsaid: a re-check)
            raise UsageError(f"model.{key}={args[key]} undoes method {cfg.method}'s own network ({key}={own[key]}, "
                             f"N2V2's): drop method.n2v2 (method.replacement=median keeps N2V2's replacement)")
    return arch, args


def _eval_annotation(ann: Any, default: Any) -> Any:
    if isinstance(ann, str):
        base = ann.replace(" ", "").split("|")
        for name, typ in (("bool", bool), ("int", int), ("float", float), ("str", str)):
            if name in base:
                return typ if "None" not in base else typing.Optional[typ]
    elif ann is not dataclasses.MISSING and ann is not None and ann is not typing.Any and isinstance(ann, type):
        return ann
    return type(default) if default is not None else str


def check_config(cfg: TrainConfig) -> None:
    """Cross-field checks; each error says which setting to change.

    Raises
    ------
    UsageError
    """
    t, d = cfg.train, cfg.data_cfg
    if t.steps is None and t.minutes is None:
        raise UsageError("no training budget: give --steps N or --minutes T (steps= or minutes= in Python)")
    if t.steps is not None and t.steps < 1:
        raise UsageError(f"--steps (steps= in Python) must be >= 1, got {t.steps}")
    if t.minutes is not None and not t.minutes > 0:
        raise UsageError(f"--minutes (minutes= in Python) must be > 0, got {t.minutes}")
    if t.schedule not in SCHEDULES:
        raise UsageError(f"train.schedule={t.schedule!r} is not valid; valid: {', '.join(SCHEDULES)}")
    if t.precision not in TRAIN_PRECISIONS:
        raise UsageError(f"train.precision={t.precision!r} is not valid; valid: {', '.join(TRAIN_PRECISIONS)}")
    if t.keep not in KEEP:
        raise UsageError(f"train.keep={t.keep!r} is not valid; valid: {', '.join(KEEP)}")
    if not t.lr > 0:
        raise UsageError(f"train.lr must be > 0, got {t.lr}")
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(t, name) < 1:
            raise UsageError(f"train.{name} (Adam) must be in [0, 1), got {getattr(t, name)}")
    if not t.weight_decay >= 0:
        raise UsageError(f"train.weight_decay must be >= 0, got {t.weight_decay}")
    if t.seed < 0:
        raise UsageError(f"train.seed must be a whole number >= 0, got {t.seed}")
    for name in ("rampdown", "warmup"):
        v = getattr(t, name)
        if not 0 <= v <= 1:
            raise UsageError(f"train.{name} is a fraction of the budget in [0, 1], got {v}")
    if t.rampdown + t.warmup > 1:
        raise UsageError("train.warmup + train.rampdown must not exceed 1")
    if t.val_every < 1:
        raise UsageError(f"train.val_every must be >= 1, got {t.val_every}")
    if t.plateau_patience < 0:
        raise UsageError(f"train.plateau_patience (checks without improvement) must be >= 0, got {t.plateau_patience}")
    if not 0 < t.plateau_factor < 1:
        raise UsageError(f"train.plateau_factor (the rate's multiplier on a plateau) must be in (0, 1), "
                         f"got {t.plateau_factor}")
    if t.early_stop < 0:
        raise UsageError(f"train.early_stop (checks without improvement; 0: never) must be >= 0, got {t.early_stop}")
    if t.threads < 0:
        raise UsageError(f"train.threads must be >= 0 (0 = automatic), got {t.threads}")
    if d.pair not in PAIRS:
        raise UsageError(f"data.pair={d.pair!r} is not valid; valid: {', '.join(PAIRS)}")
    if d.patch_size < 4:
        raise UsageError(f"data.patch_size must be >= 4, got {d.patch_size}")
    if d.batch_size < 1:
        raise UsageError(f"data.batch_size must be >= 1, got {d.batch_size}")
    if d.resample_noise and not cfg.add_noise:
        raise UsageError("data.resample_noise=true needs --add-noise (noise is re-drawn on clean images); "
                         "drop the setting or add --add-noise")
    if cfg.data2 and cfg.add_noise:
        raise UsageError("--data2 and --add-noise exclude each other: --add-noise makes the pairs from clean images")
    if d.val_images < 0 or d.val_crop < 8 or d.norm_images < 1 or d.cache_mb < 0:
        raise UsageError("data.val_images >= 0, data.val_crop >= 8, data.norm_images >= 1 and data.cache_mb >= 0 "
                         "are required")
