"""The method contract shared by every training method.

A method turns a :class:`noise2x.data.Batch` into named losses by calling the
model itself; it keeps no state between calls (its options are fixed at
construction). The trainer steps one optimiser per key returned by
:meth:`Method.loss` and contains no method names.

To add a method: subclass :class:`Method` in ``methods/<name>.py``, give it a
``name`` (== module name == ``METHODS`` key == CLI value), ``requires``, an
``Options`` dataclass (its fields are set with ``--set method.KEY=VALUE`` and
stored in the model file) and ``loss``; add one line to ``METHODS``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

import torch
from torch import Tensor

from ..errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Batch
    from ..models.scaled import ScaledModel

#: The Batch fields a method may require.
BATCH_FIELDS = frozenset({"noisy", "noisy2", "clean"})

#: Preset names every method understands (``default_model`` and ``presets``). A method
#: may add its own (keys of its ``presets``; ``default_model`` must accept them).
PRESETS = ("tiny", "cpu", "paper")

#: Loss-dict entries whose key starts with this are logged, not optimised
#: (e.g. ``"log/pixel"``: the parts of a weighted sum).
LOG_PREFIX = "log/"

#: Dotted config overrides shared by all methods unless a method changes them
#: (applied before the user's ``--set`` settings).
DEFAULT_PRESETS: dict[str, dict[str, Any]] = {
    # for tests: a very small net and batch
    "tiny": {"data.patch_size": 32, "data.batch_size": 4, "train.val_every": 10},
    # a few CPU cores: a small U-Net (UNET_PRESETS) on small patches, a higher learning rate for short budgets
    "cpu": {"data.patch_size": 64, "data.batch_size": 8, "train.lr": 1e-3, "train.val_every": 250},
    # a GPU: the Noise2Noise paper's network with its learning rate (3e-4, ramped down over the last 30%); its
    # batches of 4 crops of 256 x 256 as 16 of 128 x 128 (as many pixels)
    "paper": {"data.patch_size": 128, "data.batch_size": 16, "train.lr": 3e-4, "train.val_every": 1000},
}

#: U-Net arguments per preset (see :func:`default_unet`).
UNET_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"width": 8, "depth": 2},
    "cpu": {"width": 32, "depth": 3},
    "paper": {"width": 48, "depth": 5},
}


def check_preset(preset: str) -> str:
    """Return ``preset`` if it is a known preset name, else raise UsageError."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    return preset


def default_unet(*, channels: int, preset: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """The U-Net used by most methods: ``("unet", args)`` for a preset.

    Parameters
    ----------
    channels : int
        Image channels (input and output).
    preset : {"tiny", "cpu", "paper"}
        Size of the network.
    **extra
        Further U-Net arguments (e.g. ``blurpool=True, top_skip=False`` for N2V2).
    """
    args: dict[str, Any] = {"in_channels": channels, "out_channels": channels}
    args.update(UNET_PRESETS[check_preset(preset)])
    args.update(extra)
    return "unet", args


@dataclasses.dataclass
class NoOptions:
    """A method without options."""


class Method:
    """Base class of training methods (see the module docstring).

    Subclasses set ``name``, ``requires``, ``Options`` and implement ``loss``.
    """

    name: ClassVar[str] = ""
    #: Batch fields the method needs: a subset of {"noisy", "noisy2", "clean"}.
    requires: ClassVar[frozenset[str]] = frozenset({"noisy"})
    #: Dataclass of method-specific options (``--set method.KEY=VALUE``).
    Options: ClassVar[type] = NoOptions
    #: Named dotted config overrides, e.g. ``{"cpu": {"data.patch_size": 64}}``.
    presets: ClassVar[dict[str, dict[str, Any]]] = DEFAULT_PRESETS
    #: Whether a one-channel model of this method may denoise an RGB image
    #: through luminance/chrominance planes (``noise2x.predict.colour_mode``);
    #: False where the prediction assumes a known noise model per pixel,
    #: which mixing the channels would change.
    mixes_channels: ClassVar[bool] = True
    #: The values of options whose type does not say them, as ``noise2x methods -v`` shows them
    option_values: ClassVar[dict[str, str]] = {}

    #: The ``progress`` a validation loss is computed at (noisy-only validation data), the same at every check, so
    #: that a run's figures compare and ``best.safetensors`` is not biased by a loss's schedule (Neighbor2Neighbor's
    #: regulariser weight ramps up with progress: validated at the run's progress, the best came early, a QA pass):
    #: the final objective.
    validation_progress: ClassVar[float] = 1.0

    def files_read(self) -> dict[str, str]:
        """The SHA-256 of each file the method itself read while training (not the data), by option: recorded in
        the model file beside its options, which hold the files' paths alone."""
        return {}

    @classmethod
    def tune_preset(cls, values: dict[str, Any], options: Any, preset: str, *,
                    given: set[str]) -> tuple[dict[str, Any], str | None]:
        """The preset's settings ``values`` (dotted keys) for a run with the user's method ``options`` (those the
        user set: ``given``), and the note that says what changed (None: nothing): a preset's setting that does not
        suit an option given."""
        return values, None

    def training_note(self, noise: Any) -> str | None:
        """What to say when this method (its options as given) starts training with the training noise ``noise``
        (a NoiseSpec, or None for real noisy data): a choice made for the user that they may want otherwise."""
        return None

    @property
    def symmetries(self) -> tuple[int, ...]:
        """The D4 transforms (:func:`noise2x.patches.d4` indices) the method's training patches may be turned by
        (``data.augment``) and ``--tta`` averages over: all 8, unless the method's own structure has an
        orientation (structN2V's mask)."""
        return tuple(range(8))

    def __init__(self, options: Any = None) -> None:
        if options is None:
            options = self.Options()
        elif isinstance(options, dict):
            options = options_from_dict(self.Options, options, where=f"method {self.name!r}")
        elif not isinstance(options, self.Options):
            raise UsageError(f"options for method {self.name!r} must be {self.Options.__name__}")
        self.options = options

    # -- the contract -------------------------------------------------------
    def loss(self, model: "ScaledModel", batch: "Batch", *, rng: torch.Generator,
             progress: float = 0.0) -> dict[str, Tensor]:
        """Named scalar losses for one batch, in normalised units.

        Parameters
        ----------
        model : ScaledModel
            The model; use ``model.normalize`` and ``model.net``.
        batch : Batch
            Tensors (B, C, h, w) in image units with the fields in ``requires``.
        rng : torch.Generator
            The only source of randomness (masks, swaps, ...), on the batch's device.
        progress : float
            Fraction of the training budget used, in [0, 1].

        Returns
        -------
        dict of str to Tensor
            ``{"model": loss}`` (plus e.g. ``"critic"`` for adversarial methods,
            and ``LOG_PREFIX + name`` entries that are only logged).
        """
        raise NotImplementedError

    def predict(self, model: "ScaledModel", noisy: Tensor) -> Tensor:
        """Denoise ``noisy`` (B, C, H, W) in image units; default ``model(noisy)``."""
        return model(noisy)

    def default_model(self, *, channels: int, preset: str) -> tuple[str, dict[str, Any]]:
        """Architecture name and arguments for ``channels`` image channels.

        ``preset`` is one of ``PRESETS`` ("tiny" for tests, "cpu", "paper") or
        one of the method's own preset names.
        """
        return default_unet(channels=channels, preset=preset)

    def with_noise(self, noise: Any) -> "Method":
        """The method adapted to the training noise (a NoiseSpec, or None for real noisy data).

        Default: unchanged. A method may resolve "auto" options here (e.g. the
        Noise2Noise loss); the trainer stores the resolved options in the model file.
        """
        return self

    def parameters_for(self, key: str, model: "ScaledModel") -> Iterable[torch.nn.Parameter]:
        """Parameters stepped by the optimiser of loss ``key`` (default: all for "model")."""
        if key == "model":
            return list(model.parameters())
        raise UsageError(f"method {self.name!r} returned loss {key!r} but defines no parameters for it")

    # -- training hooks (defaults suit single-optimiser methods) ---------------
    def step_losses(self, model: "ScaledModel", batch: "Batch", *, rng: torch.Generator, progress: float,
                    step: int) -> dict[str, Tensor]:
        """The losses of training step ``step`` (0-based); default: :meth:`loss`.

        The trainer steps the optimiser of every returned key (in dict order) and
        logs entries named ``LOG_PREFIX + name`` without optimising them. A method
        that alternates updates (several critic steps per generator step) returns
        only the keys to step at ``step``.
        """
        return self.loss(model, batch, rng=rng, progress=progress)

    def make_optimizer(self, key: str, params: list[torch.nn.Parameter], *, lr: float,
                       betas: tuple[float, float], weight_decay: float) -> torch.optim.Optimizer:
        """The optimiser of loss ``key``; default Adam with the ``train.*`` settings."""
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)

    def after_step(self, key: str, model: "ScaledModel") -> None:
        """Called after the optimiser of loss ``key`` stepped (e.g. to clip weights); default: nothing."""

    # -- helpers ------------------------------------------------------------
    def options_dict(self) -> dict[str, Any]:
        """The options as a JSON-serialisable dict (stored in model files)."""
        return dataclasses.asdict(self.options)

    def check_batch(self, batch: "Batch") -> None:
        """Raise UsageError if ``batch`` lacks a field this method requires."""
        missing = sorted(f for f in self.requires if getattr(batch, f, None) is None)
        if missing:
            raise UsageError(f"method {self.name!r} needs batch field(s) {', '.join(missing)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


def _of_kind(value: Any, kinds: list) -> bool:
    """Whether ``value`` is of one of ``kinds`` (bool, int, float, str, NoneType): an int is a float too."""
    if value is None or isinstance(value, (bool, str)):
        return type(value) in kinds
    if isinstance(value, int):
        return int in kinds or float in kinds
    return isinstance(value, float) and float in kinds


def options_from_dict(cls: type, values: dict[str, Any], *, where: str = "options") -> Any:
    """Build the dataclass ``cls`` from ``values``; unknown keys raise UsageError."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        valid = ", ".join(sorted(names)) or "(none)"
        raise UsageError(f"unknown option(s) {', '.join(unknown)} for {where}; valid: {valid}")
    from ..config import _hints, parse_value

    hints = _hints(cls)
    checked = {}
    for key, value in values.items():  # (a model file's stored options too: each of its field's kind)
        typ = hints.get(key, Any)
        checked[key] = parse_value(value, typ, key=f"{where} option {key}")
        kinds = [t for t in (typing.get_args(typ) or (typ,)) if t in (bool, int, float, str, type(None))]
        if kinds and not _of_kind(checked[key], kinds):
            what = " or ".join(sorted({t.__name__ if t is not type(None) else "None" for t in kinds}))
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
            raise UsageError(f"{where} option {key}={shown}: expected {what}")
        if float in kinds and int not in kinds and type(checked[key]) is int:
            checked[key] = float(checked[key])
    return cls(**checked)
