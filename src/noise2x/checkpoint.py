"""Model files: one ``.safetensors`` file with the weights and JSON metadata.

The metadata (safetensors' string header) holds ``format`` = "noise2x-model",
``format_version``, a SHA-256 of the tensors and ``noise2x``: a JSON document
with the method and its options, the architecture and its arguments, the
normalisation, the noise spec, the training config and steps, and the noise2x
version. Loading rebuilds the model from the file alone; nothing is
unpickled. The optimiser state for ``--resume`` lives in a separate
safetensors file in the run folder (:func:`save_state` / :func:`load_state`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import torch

from .errors import InputError, Noise2xError, UsageError, escaped
from .fsutil import atomic_path

FORMAT = "noise2x-model"
FORMAT_VERSION = 1
STATE_FORMAT = "noise2x-train-state"


def _version() -> str:
    """The version a model file records: with the git commit of a checkout (:func:`noise2x.provenance.code_version`)."""
    from .provenance import code_version

    return code_version()


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes (sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_model(path: str | os.PathLike, model: Any, *, metadata: dict[str, Any]) -> Path:
    """Write ``model`` (a ScaledModel) and ``metadata`` to one safetensors file, atomically.

    Parameters
    ----------
    path : path-like
        Target file (``.safetensors``).
    model : ScaledModel
        Its ``arch``, ``arch_args``, ``mean`` and ``std`` are recorded.
    metadata : dict
        JSON-serialisable facts: ``method``, ``method_options``, ``noise``,
        ``config``, ``steps``, ... (merged with the architecture facts).

    Returns
    -------
    Path
    """
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    meta = dict(metadata)
    meta.update({
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "arch_args": model.arch_args,
        "channels": model.in_channels,
        "normalization": {"mean": model.mean.flatten().tolist(), "std": model.std.flatten().tolist()},
        "noise2x_version": meta.get("noise2x_version", _version()),
    })
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "sha256": tensor_digest(tensors),
        "noise2x": json.dumps(meta, sort_keys=True),
    }
    target = Path(path)
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return target


def update_metadata(path: str | os.PathLike, extra: dict[str, Any], *, out: str | os.PathLike | None = None) -> Path:
    """Add JSON facts to a model file's metadata (e.g. its benchmark figures), tensors unchanged.

    The file is read safely (never unpickled), its checksum verified, and written atomically to ``out``
    (default: in place).
    """
    from safetensors.torch import save_file

    src = Path(path)
    meta = read_metadata(src)
    header = _header(src)
    tensors = read_tensors(src)
    if tensor_digest(tensors) != header.get("sha256"):
        raise InputError(f"{src} is corrupt: its tensors do not match their checksum")
    meta.update(extra)
    header = dict(header)
    header["noise2x"] = json.dumps(meta, sort_keys=True)
    target = Path(out) if out is not None else src
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return target


def read_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, on the CPU, read into memory rather than memory-mapped: a tensor kept
    from a mapped file (training's optimiser state, for a whole run) keeps the file mapped, and Windows then
    refuses to replace it (every train --resume failed at its first checkpoint there, found in a portability QA
    pass)."""
    from safetensors.torch import load

    return load(Path(path).read_bytes())


def _header(path: str | os.PathLike) -> dict[str, str]:
    from safetensors import safe_open

    p = Path(path)
    if not p.exists():
        shipped = "" if p.suffix or len(p.parts) > 1 else " or shipped model (noise2x models lists those)"
        raise UsageError(f"no such model file{shipped}: {p}")
    if p.is_dir():
        raise UsageError(f"{p} is a folder, not a model file")
    try:  # (the bytes on disk, not the locale's text of them: a locale QA pass)
        os.fsencode(p.resolve()).decode("utf-8")
    except UnicodeDecodeError:  # (the name, not the file: the library opens only UTF-8 paths)
        raise InputError(f"{p}: a model file's path must be valid UTF-8 to be read (the safetensors library opens "
                         f"no other); rename it") from None
    try:
        with safe_open(str(p), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:
        raise InputError(f"{p} is not a readable model file (truncated or not safetensors): "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return header


def read_metadata(path: str | os.PathLike, *, lenient: bool = False) -> dict[str, Any]:
    """The metadata of a model file (reads only the header); ``lenient``: a field this noise2x cannot read
    (of the wrong kind, or a noise model it does not know) does not raise: the field of the wrong kind is left
    out and ``unreadable`` holds the error's text (``noise2x info`` shows the rest of a newer or damaged file).

    Returns
    -------
    dict
        ``format_version``, ``method``, ``method_options``, ``arch``,
        ``arch_args``, ``channels``, ``normalization``, ``noise``, ``config``,
        ``steps``, ``noise2x_version``, ...

    Raises
    ------
    UsageError
        The file does not exist.
    InputError
        Not a noise2x model file, truncated, corrupt metadata, or an unknown format version.
    """
    p = Path(path)
    header = _header(p)
    if header.get("format") != FORMAT:
        if header.get("format") == STATE_FORMAT:
            raise InputError(f"{p} is a training-state file (for --resume), not a model file")
        raise InputError(f"{p} is not a noise2x model file (no noise2x metadata)")
    version = header.get("format_version")
    if version != str(FORMAT_VERSION):
        raise InputError(f"{p} has model format version {version!r}; this noise2x ({_version()}) reads "
                         f"version {FORMAT_VERSION}")
    try:
        meta = json.loads(header["noise2x"])
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except (KeyError, ValueError) as exc:
        raise InputError(f"{p} has corrupt metadata ({_short(str(exc))})") from None
    except RecursionError:
        raise InputError(f"{p} has corrupt metadata (nested too deeply)") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{p} has inconsistent metadata (format version {_short(repr(meta.get('format_version')))})")
    meta = _printable(meta)
    if lenient:  # (a field of that name in the file is not this reading's verdict: a QA re-check)
        meta.pop("unreadable", None)
    wrong = _wrong_field(meta)
    if wrong:
        newer = newer_note(meta)  # (a value this noise2x does not know, from a newer one: not "corrupt")
        said = (f"{p} has metadata this noise2x cannot read ({wrong}){newer}" if newer
                else f"{p} has corrupt metadata ({wrong})")
        if not lenient:
            raise InputError(said)
        while wrong and not wrong.startswith("noise: "):  # (a noise spec is text: describe shows it as it is)
            meta.pop(wrong.split(":", 1)[0], None)
            wrong = _wrong_field(meta)
        meta["unreadable"] = said
    meta["sha256"] = header.get("sha256")
    return meta


#: The longest text a model file's metadata field may hold (a path, a noise spec, a command): longer is cut
_TEXT_MAX = 4096


def _release(version: Any) -> tuple[int, ...]:
    """The release numbers of a version ("0.2.0+g1234.dirty" -> (0, 2, 0)); () where it has none."""
    import re

    found = re.match(r"\d+(\.\d+)*", str(version))
    return tuple(int(x) for x in found.group(0).split(".")) if found else ()


#: what a model file of another noise2x build needs (noise2x runs from a checkout or from a release)
UPDATE_ADVICE = "update noise2x (in its checkout: git pull, then pip install -e .; or install a newer release)"


def newer_note(meta: dict[str, Any]) -> str:
    """"; it was written by noise2x X, newer than this one (Y): it may need a newer noise2x ..." where a model
    file's metadata comes from another noise2x than this one and not an older release (its unknown
    architecture, method or noise model is then no damage: a model-sharing QA pass found a newer file called
    DAMAGED, and its re-check one of a newer commit of the same release), else ""."""
    from . import __version__
    from .provenance import code_version

    theirs, ours = str(meta.get("noise2x_version") or ""), code_version()
    if not theirs or theirs in (ours, str(__version__)) or (
            _release(theirs) and _release(theirs) < _release(__version__)):
        return ""
    how = "newer than" if _release(theirs) > _release(__version__) else "another build than"
    return (f"; it was written by noise2x {_short(theirs, 40)}, {how} this one ({ours}): it may need a newer "
            f"noise2x: {UPDATE_ADVICE}")


def _short(text: str, most: int = 200) -> str:
    """``text`` cut to ``most`` characters, saying how long it was."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text)} characters)"


def _printable(value: Any) -> Any:
    """A model file's metadata with its texts made safe to show: control characters (a terminal's escape
    sequences, line breaks that forge lines of ``noise2x info``) written as ``\\xNN``, and texts cut at
    :data:`_TEXT_MAX` characters."""
    if isinstance(value, str):
        value = escaped(value)
        return _short(value, _TEXT_MAX)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {_printable(str(k)): _printable(v) for k, v in value.items()}
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The metadata fields whose kind the code relies on, and what they must be (absent or null is allowed for all
#: but those load_model needs, which it names itself)
_FIELD_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "method": ("a text", lambda v: isinstance(v, str)),
    "arch": ("a text", lambda v: isinstance(v, str)),
    "arch_args": ("an object of numbers, texts, true/false and nulls", lambda v: isinstance(v, dict) and all(
        x is None or isinstance(x, (int, float, str, bool)) for x in v.values())),
    "method_options": ("an object", lambda v: isinstance(v, dict)),
    "normalization": ("an object of mean and std lists", lambda v: isinstance(v, dict) and all(
        isinstance(v.get(k), list) and all(_number(x) for x in v[k]) for k in ("mean", "std"))),
    "channels": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "noise": ("a noise spec", lambda v: isinstance(v, str)),
    "config": ("an object of sections", lambda v: isinstance(v, dict) and all(
        isinstance(x, str) if k == "method_name" else isinstance(x, dict) or x is None for k, x in v.items())),
    "steps": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "seconds": ("a number", _number),
    "data_span": ("two numbers", lambda v: isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v)),
    "val_value": ("a number", _number),
    "pretrained": ("an object", lambda v: isinstance(v, dict)),
    "trained_at": ("a date", lambda v: isinstance(v, str)),
    "environment": ("an object of versions", lambda v: isinstance(v, dict) and all(
        isinstance(x, str) for x in v.values())),
    "training_data": ("an object", lambda v: isinstance(v, dict) and isinstance(v.get("folders", {}), dict)),
    "init_from": ("an object", lambda v: isinstance(v, dict)),
}


def _wrong_field(meta: dict[str, Any]) -> str | None:
    """What is wrong with the kind of a metadata field (see :data:`_FIELD_KINDS`), or None."""
    for key, (kind, fits) in _FIELD_KINDS.items():
        value = meta.get(key)
        if value is not None and not fits(value):
            shown = f"'{value}'" if isinstance(value, str) else repr(value)  # (its escapes written once)
            return f"{key}: not {kind}: {_short(shown, 80)}"
    if meta.get("noise") is not None:
        from .noise import parse_noise

        try:
            parse_noise(meta["noise"])
        except Noise2xError as exc:
            return f"noise: {_short(str(exc), 120)}"
    return None


def load_model(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild the model stored in ``path`` (never unpickles).

    Returns
    -------
    model : ScaledModel
        In eval mode, on ``device``.
    metadata : dict
        As :func:`read_metadata`.

    Raises
    ------
    UsageError
        The file does not exist.
    InputError
        Truncated or tampered file (checksum), unknown format version or
        architecture, tensors that do not match the architecture.
    """
    from .models import ScaledModel, build_model, global_rng

    p = Path(path)
    meta = read_metadata(p)
    try:
        tensors = read_tensors(p)
    except Exception as exc:
        raise InputError(f"{p} is truncated or corrupt: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    if meta.get("sha256") and tensor_digest(tensors) != meta["sha256"]:
        raise InputError(f"{p} is damaged or was modified: its weights do not match the stored checksum")
    try:
        arch, args = meta["arch"], dict(meta["arch_args"])
        norm = meta["normalization"]
        # a count of layers or blocks adds at least one weight tensor each: more than the file holds cannot fit
        # it (a stranger's file asking for depth 100000 took minutes to build before it was refused)
        held = sum(1 for k in tensors if k.startswith("net."))
        for key in _LAYER_COUNTS:
            value = args.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= held):
                raise InputError(f"{p}: the weights do not fit architecture {arch!r}: {key}={_short(repr(value), 40)} "
                                 f"in its metadata, for {held} weight tensors")
        # first without memory: the metadata's network must have the file's weight shapes before it is
        # built for real (a stranger's file could otherwise ask for any amount of memory)
        with torch.device("meta"):
            shapes = {f"net.{k}": tuple(v.shape) for k, v in build_model(arch, **args).state_dict().items()}
        wrong = sorted(k for k in set(shapes) | {k for k in tensors if k.startswith("net.")}
                       if k not in tensors or shapes.get(k) != tuple(tensors[k].shape))
        if wrong:
            raise InputError(f"{p}: the weights do not fit architecture {arch!r} with {args} "
                             f"({len(wrong)} tensors differ, e.g. {wrong[0]})")
        with global_rng():  # (its random initial weights, replaced by the file's, drew from the caller's torch RNG:
            net = build_model(arch, **args)  # a seeded pipeline's draws moved, a QA pass)
        model = ScaledModel(net, arch=arch, arch_args=args, mean=norm["mean"], std=norm["std"])
    except InputError:
        raise
    except KeyError as exc:
        raise InputError(f"{p}: cannot rebuild the model: its metadata lacks {exc}{newer_note(meta)}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{p}: cannot rebuild the model: {first[0] if first else type(exc).__name__}"
                         f"{newer_note(meta)}") from None
    # weights of another kind than the network's (integers, booleans: cast and used, a garbage image, in a QA pass)
    own = model.state_dict()
    kinds = next((f"{k} is {v.dtype}, not {own[k].dtype}" for k, v in tensors.items()
                  if k in own and v.is_floating_point() != own[k].is_floating_point()), None)
    if kinds is not None:
        raise InputError(f"{p}: its weights are not of the network's kinds ({kinds}): the model file is damaged")
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{p}: the weights do not fit architecture {arch!r} "
                         f"({first[1].strip() if len(first) > 1 else first[0]})") from None
    # weights that make every result NaN (the CLI then blamed the image), or a scale of 0 or below
    broken = next((k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if broken is not None:
        raise InputError(f"{p}: its weights hold NaN/inf values ({broken}): the model file is damaged")
    if "std" in tensors and not bool((tensors["std"] > 0).all()):
        raise InputError(f"{p}: its normalisation std must be positive (the std tensor holds "
                         f"{float(tensors['std'].min()):g}): the model file is damaged")
    return model.to(device).eval(), meta


#: Architecture settings that count layers or blocks (see :func:`load_model`)
_LAYER_COUNTS = ("depth", "res_blocks", "down")


def describe(meta: dict[str, Any]) -> list[str]:
    """Human-readable lines summarising a model file's metadata (for ``noise2x info``)."""
    cfg = meta.get("config") or {}
    train = cfg.get("train", {})
    args = ", ".join(f"{k}={v}" for k, v in sorted((meta.get("arch_args") or {}).items()))
    norm = meta.get("normalization") or {}
    lines = [
        f"method:        {meta.get('method')}",
        f"options:       {json.dumps(meta.get('method_options', {}), sort_keys=True)}",
        f"architecture:  {meta.get('arch')} ({args})",
        f"parameters:    {meta.get('parameters', '?')}",
        f"channels:      {meta.get('channels')}",
        f"normalisation: mean {_fmt(norm.get('mean'))}, std {_fmt(norm.get('std'))}" + (
            f"; the spread of each training image's values (0.1 to 99.9 percentile) ranged from "
            f"{meta['data_span'][0]:.4g} to {meta['data_span'][1]:.4g}"
            if isinstance(meta.get("data_span"), list) and len(meta["data_span"]) == 2 else ""),
        f"noise:         {meta.get('noise') or 'none added (trained on noisy images)'}",
        f"training:      {meta.get('steps')} steps, {meta.get('seconds', 0):.0f} s on {meta.get('device', '?')}"
        f"{_threads_text(meta)} (preset {meta.get('preset', '?')}, seed {train.get('seed', '?')}"
        f"{', ' + train['precision'] + ' steps' if train.get('precision', 'fp32') != 'fp32' else ''})",
        f"data:          {(cfg.get('inputs') or {}).get('data')}" + "".join(
            f"; {key} {(cfg.get('inputs') or {})[key]}" for key in ("data2", "val_data")
            if (cfg.get("inputs") or {}).get(key)),
    ]
    made_of = meta.get("training_data") or {}
    if made_of:  # (the folders as the run found them, and which images: the path as typed says neither)
        folders = made_of.get("folders") or {}
        where = "; ".join(f"{k} {v}" if k != "data" else str(v) for k, v in folders.items())
        lines.append(f"data folders:  {where or '?'} ({made_of.get('training_images', '?')} training, "
                     f"{made_of.get('validation_images', '?')} validation images; names sha256 "
                     f"{str(made_of.get('names_sha256', '?'))[:16]}"
                     + (f", files sha256 {str(made_of['files_sha256'])[:16]}" if made_of.get("files_sha256") else "")
                     + ")")
    if meta.get("trained_at") or meta.get("environment"):
        env = meta.get("environment") or {}
        made = ", ".join(f"{k} {env[k]}" for k in ("noise2x", "torch", "python", "numpy") if env.get(k))
        lines.append(f"trained:       {meta.get('trained_at', '?')}" + (f" with {made}" if made else "")
                     + (f" on {env['platform']}" if env.get("platform") else ""))
    data = cfg.get("data") or {}
    if data or train:  # (what a preset sets, as the run used it: methods -v sends a reader here, a docs QA pass)
        budget = ", ".join(x for x in (f"{train['steps']} steps" if train.get("steps") else "",
                                       f"{train['minutes']:g} min" if train.get("minutes") else "") if x)
        settings = [f"data.patch_size={data.get('patch_size')}", f"data.batch_size={data.get('batch_size')}",
                    f"train.lr={train.get('lr')}", f"train.schedule={train.get('schedule')}",
                    f"train.val_every={train.get('val_every')}", f"train.keep={train.get('keep')}"]
        if train.get("schedule") == "plateau":
            settings[4:4] = [f"train.plateau_patience={train.get('plateau_patience')}",
                             f"train.plateau_factor={train.get('plateau_factor')}"]
        if train.get("early_stop"):
            settings.append(f"train.early_stop={train['early_stop']}")
        clock = (" by the clock, not repeatable from its seed; its run's state.safetensors replays it: "
                 "train.replay" if train.get("minutes") else "")
        lines.append(f"settings:      {', '.join(settings)}" + (f" (budget {budget}{clock})" if budget else ""))
        ended = meta.get("ended_by") or {}
        if ended.get("early_stop"):
            at = f" at step {ended['step']}" if ended.get("step") else ""
            lines.append(f"ended:         before its budget{at}, by train.early_stop={ended['early_stop']} (no better "
                         f"validation figure than step {ended.get('best_step')}'s for as many checks)")
    if (cfg.get("inputs") or {}).get("init"):
        parent = meta.get("init_from") or {}
        lines.append(f"started from:  {cfg['inputs']['init']} (fine-tuned"
                     + (f"; {parent['file']}, weights sha256 {str(parent.get('sha256'))[:16]}"
                        if parent.get("file") else "") + ")")
    if meta.get("val_metric"):
        value = meta.get("val_value")  # (a float with all its digits: psnr 21.303315181513405)
        shown = f"{value:.4g}" if isinstance(value, float) else value
        lines.append(f"validation:    {meta['val_metric']} {shown}")
    shipped = meta.get("pretrained") or {}
    if shipped:
        lines.append(f"shipped as:    {shipped.get('name')}: {shipped.get('description')}")
        if shipped.get("command"):
            lines.append(f"trained with:  {shipped['command']}")
        for row in shipped.get("results", []):
            lines.append(f"result:        {row}")
    lines.append(f"format:        noise2x model v{meta.get('format_version')} (noise2x {meta.get('noise2x_version')})")
    return lines


def _threads_text(meta: dict[str, Any]) -> str:
    """", N threads" of a CPU run, or each part's where a resumed run changed them (the same seed gives the same
    model on as many threads: what it takes to repeat the run)."""
    parts = meta.get("threads_by_step")
    if isinstance(parts, list) and len(parts) > 1 and all(isinstance(x, list) and len(x) == 2 for x in parts):
        ends = [int(x[0]) - 1 for x in parts[1:]] + [meta.get("steps")]
        return ", threads " + ", ".join(f"{x[1]} (steps {x[0]}-{end})" for x, end in zip(parts, ends))
    threads = meta.get("threads")
    return f", {threads} thread{'s' if threads != 1 else ''}" if isinstance(threads, int) and threads > 0 else ""


def _fmt(values: Any) -> str:
    if not values:
        return "?"
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


# -- training state (for --resume) ---------------------------------------------------
def save_state(path: str | os.PathLike, *, optimizers: dict[str, torch.optim.Optimizer],
               tensors: dict[str, torch.Tensor] | None = None, info: dict[str, Any] | None = None) -> Path:
    """Write optimiser states, extra tensors and JSON ``info`` to a safetensors file, atomically (no pickle)."""
    from safetensors.torch import save_file

    flat: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {}
    for key, opt in optimizers.items():
        sd = opt.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for idx, st in sd["state"].items():
            for name, value in st.items():
                if isinstance(value, torch.Tensor):
                    flat[f"opt.{key}.{idx}.{name}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars.setdefault(str(idx), {})[name] = value
        opt_meta[key] = {"param_groups": sd["param_groups"], "scalars": scalars,
                         "indices": [str(i) for i in sd["state"]]}
    for name, t in (tensors or {}).items():
        flat[f"extra.{name}"] = t.detach().cpu().contiguous().clone()
    header = {"format": STATE_FORMAT, "format_version": str(FORMAT_VERSION),
              "optimizers": json.dumps(opt_meta), "info": json.dumps(info or {})}
    target = Path(path)
    with atomic_path(target) as tmp:
        save_file(flat, str(tmp), metadata=header)
    return target


def load_state(path: str | os.PathLike) -> tuple[dict[str, dict[str, Any]], dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by :func:`save_state`.

    Returns
    -------
    optimizer_states : dict
        Per key, a state dict for ``Optimizer.load_state_dict``.
    tensors : dict
        The extra tensors.
    info : dict
    """
    p = Path(path)
    header = _header(p)
    if header.get("format") != STATE_FORMAT or header.get("format_version") != str(FORMAT_VERSION):
        raise InputError(f"{p} is not a noise2x training-state file of version {FORMAT_VERSION}")
    try:
        flat = read_tensors(p)
        opt_meta = json.loads(header["optimizers"])
        info = json.loads(header["info"])
    except Exception as exc:
        raise InputError(f"{p} is truncated or corrupt: {exc}") from None
    states: dict[str, dict[str, Any]] = {}
    for key, m in opt_meta.items():
        state: dict[int, dict[str, Any]] = {}
        for idx in m["indices"]:
            st = dict(m["scalars"].get(idx, {}))
            prefix = f"opt.{key}.{idx}."
            st.update({n[len(prefix):]: t for n, t in flat.items() if n.startswith(prefix)})
            state[int(idx)] = st
        groups = m["param_groups"]
        for g in groups:
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        states[key] = {"state": state, "param_groups": groups}
    extra = {n[len("extra."):]: t for n, t in flat.items() if n.startswith("extra.")}
    return states, extra, info
