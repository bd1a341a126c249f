"""Training data: random patches from a folder of images, as :class:`Batch` tensors.

Sources (all images in their own units, gray or RGB, any sizes):

* ``--data DIR`` of noisy images (self-supervised methods);
* ``--data DIR --add-noise SPEC``: clean images with synthetic noise, either one
  fixed draw per image (PROTOCOL.md: training image ``j`` from seed ``1000+j``,
  its second independent copy from seed ``2000+j``) or re-drawn for every patch
  at every step (``data.resample_noise=true``; random levels such as
  ``gaussian:sigma=0..50`` draw a level per patch and per copy);
* ``--data A --data2 B``: aligned image pairs (B holds independent noisy copies,
  or clean targets: ``data.pair``);
* ``--data stack.tif``: a multi-frame TIFF; each frame is an image and, for
  methods that need pairs, each frame and the next along time (T) of its
  z-plane and channel form a pair (without a time axis, along z or the
  pages: :func:`noise2x.io.stack_pairs`).

Patches are sampled on the fly (nothing is extracted up front). Decoded images
are cached in memory up to ``data.cache_mb``; beyond that they are re-read
from disk when sampled, so memory stays bounded for any dataset size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .errors import InputError, UsageError, warn_outside
from .fsutil import replace
from .patches import center_crop, paired_patches

#: Seed offsets of PROTOCOL.md: training image j -> 1000 + j, its second copy -> 2000 + j.
SEED_NOISY, SEED_NOISY2 = 1000, 2000
#: Seed offset of the fixed noise of a separate validation folder's image k (or of the rows held out of training
#: image k in a small set): 5000 + k.
SEED_VAL = 5000


@dataclasses.dataclass
class Batch:
    """One training batch; tensors (B, C, h, w) float32 in image units (8-bit: 0..255).

    Attributes
    ----------
    noisy : Tensor
        The network input.
    noisy2 : Tensor or None
        An independent noisy copy of the same content (Noise2Noise target).
    clean : Tensor or None
        The clean image, when known (supervised target, validation).
    """

    noisy: Tensor
    noisy2: Tensor | None = None
    clean: Tensor | None = None

    def to(self, device: torch.device | str) -> "Batch":
        """A copy with every tensor moved to ``device``."""
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)
        return Batch(noisy=move(self.noisy), noisy2=move(self.noisy2), clean=move(self.clean))

    @property
    def fields(self) -> frozenset[str]:
        """Names of the fields that are present."""
        return frozenset(f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None)


FIELDS = ("noisy", "noisy2", "clean")


def to_tensor(images: Sequence[np.ndarray]) -> Tensor:
    """Stack (h, w) or (h, w, C) arrays into a float32 tensor (B, C, h, w)."""
    arr = np.stack(images).astype(np.float32, copy=False)
    if arr.ndim == 3:
        arr = arr[:, None]
    else:
        arr = arr.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(arr))


def _parse_noise(spec: Any) -> Any:
    if spec is None or not isinstance(spec, str):
        return spec
    from .noise import parse_noise

    return parse_noise(spec)


@dataclasses.dataclass
class _Item:
    """One training example: how to load its full-size base images."""

    index: int                     # PROTOCOL index (noise seeds 1000+index, 2000+index)
    name: str
    load: Callable[[], dict[str, np.ndarray]]
    side: int | None = None        # its shorter side where known without loading it (a stack's frame)
    channel: int | None = None     # its index on its file's C axis (a hyperstack's channel), where it has one


#: Draws of a patch before giving up on finding one without blank pixels (``blanks``)
_BLANK_TRIES = 100

#: A set of fewer than ``2 * data.val_images`` images holds out the bottom rows of its last ``data.val_images``
#: images for validation: this fraction of an image's rows (CAREamics' 10% of the data), at least VAL_MIN_ROWS, and
#: only where that leaves 3 x VAL_MIN_ROWS rows or more to train on
VAL_ROWS = 0.1
VAL_MIN_ROWS = 16


class ImageSet:
    """A set of training examples yielding patches and validation crops.

    Build it with :func:`build_datasets`. ``kind`` says what the base images are:
    "synthetic" (clean images + ``noise``), "noisy" (noisy images only),
    "pair" (noisy + noisy2) or "supervised" (noisy + clean).
    """

    def __init__(self, items: list[_Item], *, kind: str, noise: Any = None, resample: bool = False,
                 cache_mb: float = 2048.0, seed_offsets: tuple[int, int] = (SEED_NOISY, SEED_NOISY2),
                 second_copy: bool = True, blanks: bool = False, paired_along: str | None = None) -> None:
        if not items:
            raise InputError("no training images")
        self.items = items
        self.kind = kind
        self.noise = _parse_noise(noise)
        self.resample = bool(resample) and kind == "synthetic"
        self.cache_bytes = int(cache_mb * 2 ** 20)
        self.seed_offsets = seed_offsets
        self.second_copy = bool(second_copy)
        self.blanks = bool(blanks)
        self.split: str | None = None  # a validation set's: "images", "rows", "reused" or "folder"
        #: the axis along which a stack's frames pair as two noisy copies (:func:`noise2x.io.stack_pairs`: "T",
        #: "Z", ...; "" for a FITS or MRC file's frames), None where they do not
        self.paired_along = paired_along
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self._cached_bytes = 0
        self._channels: int | None = None
        self.gray_as_rgb = False  # (set by normalization)

    def __len__(self) -> int:
        return len(self.items)

    # -- fields ---------------------------------------------------------------
    @property
    def available(self) -> frozenset[str]:
        """The Batch fields this set can produce."""
        synthetic = FIELDS if self.second_copy else ("noisy", "clean")
        return frozenset({"synthetic": synthetic, "noisy": ("noisy",), "pair": ("noisy", "noisy2"),
                          "supervised": ("noisy", "clean")}[self.kind])

    @property
    def channels(self) -> int:
        """Image channels (1 for gray)."""
        if self._channels is None:
            self._arrays(0)
        return int(self._channels)

    def smallest_side(self) -> int:
        """The shortest side among the images (a stack's frames from its header; others loaded once, and
        cached as sampling would)."""
        return self.smallest()[0]

    def smallest(self) -> tuple[int, str]:
        """The shortest side among the images and the name of the (first) image with it."""
        sides = [item.side if item.side is not None else min(next(iter(self._arrays(i).values())).shape[:2])
                 for i, item in enumerate(self.items)]
        i = int(np.argmin(sides))
        return int(sides[i]), self.items[i].name

    # -- loading ----------------------------------------------------------------
    def _base(self, i: int) -> dict[str, np.ndarray]:
        item = self.items[i]
        arrays = item.load()
        shape = None
        for name, a in arrays.items():
            if a.ndim == 3 and a.shape[2] == 1:
                a = a[..., 0]
            c = 1 if a.ndim == 2 else a.shape[2]
            if self._channels is None:
                self._channels = c
            elif c != self._channels:
                raise InputError(f"{item.name} has {c} channel(s) but earlier images have {self._channels}: "
                                 f"a training set must be all gray or all RGB")
            if shape is None:
                shape = a.shape
            elif a.shape != shape:
                raise InputError(f"{item.name}: paired images differ in shape ({shape} vs {a.shape})")
            arrays[name] = a
        return arrays

    def _fixed_noisy(self, clean: np.ndarray, index: int, copy: int) -> np.ndarray:
        seed = self.seed_offsets[copy] + index
        nan = np.isnan(clean) if self.blanks else None
        if nan is not None and nan.any():  # noise on the data; blank pixels stay blank
            out = self.noise.apply(np.where(nan, 0.0, clean), rng=np.random.default_rng(seed))
            return np.where(nan, np.nan, out).astype(np.float32)
        out = self.noise.apply(clean, rng=np.random.default_rng(seed))
        return np.asarray(out, dtype=np.float32)

    def _arrays(self, i: int, *, fixed: bool = False) -> dict[str, np.ndarray]:
        """Full-size float32 arrays of item ``i``: the base images, plus fixed noisy copies if not resampling."""
        cached = self._cache.get(i)
        if cached is not None and not (fixed and self.resample):
            return cached
        arrays = self._base(i)
        if self.kind == "synthetic":
            clean = arrays["clean"]
            if fixed or not self.resample:
                arrays["noisy"] = self._fixed_noisy(clean, self.items[i].index, 0)
                if self.second_copy:
                    arrays["noisy2"] = self._fixed_noisy(clean, self.items[i].index, 1)
        if fixed and self.resample:
            return arrays
        size = sum(a.nbytes for a in arrays.values())
        if self._cached_bytes + size <= self.cache_bytes:
            self._cache[i] = arrays
            self._cached_bytes += size
        return arrays

    # -- sampling ---------------------------------------------------------------
    def sample(self, fields: Sequence[str], *, patch_size: int, batch_size: int, augment: bool = True,
               rng: np.random.Generator, transforms: Sequence[int] | None = None) -> Batch:
        """A batch of random patches with the requested ``fields``.

        Parameters
        ----------
        fields : sequence of {"noisy", "noisy2", "clean"}
        patch_size, batch_size : int
        augment : bool
            One random D4 transform per patch (the same for all its fields).
        transforms : sequence of int, optional
            The D4 transforms to draw from (a method's ``symmetries``); None: all 8.
        rng : numpy Generator
            Chooses images, positions, transforms and (when re-drawn) the noise.
        """
        fields = [f for f in FIELDS if f in set(fields)]
        missing = set(fields) - self.available
        if missing:
            raise UsageError(f"the training data cannot provide {', '.join(sorted(missing))}")
        out: dict[str, list[np.ndarray]] = {f: [] for f in fields}
        names = ["clean"] if self.resample else list(fields)
        for _ in range(batch_size):
            for _tries in range(_BLANK_TRIES):
                i = int(rng.integers(len(self.items)))
                arrays = self._arrays(i)
                try:
                    patches = dict(zip(names, paired_patches([arrays[n] for n in names], patch_size,
                                                             rng=rng, augment=augment, transforms=transforms)))
                except UsageError as exc:
                    raise UsageError(f"{self.items[i].name}: {exc}") from None
                if not self.blanks or not any(np.isnan(a).any() for a in patches.values()):
                    break  # (with blanks: a patch where every pixel holds data)
            else:
                raise InputError(f"no patch of {patch_size}x{patch_size} pixels without blank (NaN) pixels in "
                                 f"{_BLANK_TRIES} draws: lower data.patch_size, or leave out images mostly blank")
            if self.resample:
                clean = patches["clean"]
                if "noisy" in fields:
                    patches["noisy"] = self.noise.apply(clean, rng=rng)
                if "noisy2" in fields:
                    patches["noisy2"] = self.noise.apply(clean, rng=rng)
            for f in fields:
                out[f].append(patches[f])
        return Batch(**{f: to_tensor(v) for f, v in out.items()})

    def crops(self, fields: Sequence[str], *, size: int) -> list[Batch]:
        """Central crops of every item with fixed noise, one Batch (B=1) each (validation)."""
        fields = [f for f in FIELDS if f in set(fields) and f in self.available]
        batches = []
        for i in range(len(self.items)):
            arrays = self._arrays(i, fixed=True)
            crops = {f: center_crop(arrays[f], size) for f in fields}
            if self.blanks:  # filled as denoise --blanks fills them
                from .io import fill_blanks

                crops = {f: fill_blanks(c, name=self.items[i].name)[0].astype(np.float32) for f, c in crops.items()}
            batches.append(Batch(**{f: to_tensor([c]) for f, c in crops.items()}))
        return batches

    def normalization(self, *, n_images: int = 32) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the noisy images (a sample of ``n_images``; image units).

        Also sets ``self.spans``: the least and the largest spread (0.1 to 99.9 percentile of the values) of an
        image of the sample, which a model file keeps (``data_span``) to tell an image far outside them;
        ``self.channel_spans``: the median spread and the median level (the median value) of the sampled frames
        of each channel of a file's C axis (a hyperstack's channels, trained as frames), where they come from two
        or more; and
        ``self.gray_as_rgb``: whether every image of the sample is RGB with three equal channels (their clean
        images, with noise to add)."""
        from .io import gray_as_rgb

        n = len(self.items)
        idx = np.unique(np.linspace(0, n - 1, num=min(n, n_images)).round().astype(int))
        s1 = s2 = 0.0
        count = 0
        spans = []
        by_channel: dict[int, list[tuple[float, float]]] = {}  # (each sampled frame's spread and level)
        equal = []
        for i in idx:
            arrays = self._arrays(int(i), fixed=True)
            base = arrays.get("clean", arrays["noisy"]) if self.kind == "synthetic" else arrays["noisy"]
            equal.append(gray_as_rgb(np.nan_to_num(base)))
            a = arrays["noisy"].astype(np.float64)
            a = a.reshape(-1, 1) if a.ndim == 2 else a.reshape(-1, a.shape[2])
            if self.blanks:
                a = a[~np.isnan(a).any(axis=1)]  # the data only
            if a.size:
                spans.append(float(np.subtract(*np.percentile(a, [99.9, 0.1]))))
                if self.items[int(i)].channel is not None:
                    by_channel.setdefault(self.items[int(i)].channel, []).append((spans[-1], float(np.median(a))))
            s1 = s1 + a.sum(axis=0)
            s2 = s2 + np.square(a).sum(axis=0)
            count += a.shape[0]
        mean = s1 / count
        std = np.sqrt(np.maximum(s2 / count - mean ** 2, 0.0))
        scale = max(float(np.max(np.abs(mean))), 1.0)
        std = np.maximum(std, 1e-3 * scale)
        self.spans = [min(spans), max(spans)] if spans else None
        self.channel_spans = ({c: tuple(float(v) for v in np.median(np.array(s), axis=0))
                               for c, s in sorted(by_channel.items())} if len(by_channel) > 1 else None)
        self.gray_as_rgb = bool(equal) and all(equal)
        return [float(m) for m in mean], [float(s) for s in std]


# -- building the sets ---------------------------------------------------------------
def _reader(path: Path, blanks: bool = False) -> Callable[[], np.ndarray]:
    from .io import read_image

    return lambda: read_image(path, dtype=np.float32, blanks=blanks)


def _opaque_reader(path: Path) -> Callable[[], np.ndarray]:
    """A loader of the image file ``path`` whose transparent pixels (alpha 0) are blank (NaN): their fill is not
    the scene (it was trained on as image: a colour QA pass), and a set of blanks draws its patches elsewhere."""
    from .io import read_stack_with_alpha

    def load() -> np.ndarray:
        stack, alpha = read_stack_with_alpha(path, dtype=np.float32, blanks=True)
        image = stack[0]
        if alpha is not None:
            image[alpha[0] == 0] = np.nan
        return image

    return load


def _sources(path: str | Path, blanks: bool = False, recursive: bool = False,
             exclude: Path | None = None, declared: dict[str, float] | None = None) -> tuple[
        list[str], list[Callable[[], np.ndarray]], bool, list[int | None], list[int | None]]:
    """:func:`_files_sources`, with the images of arrays given to train (their copy in a run folder,
    :func:`write_arrays`) named as the arrays: ``data[7]``, not ``data[7].tif`` or ``data.tif[7]`` (a QA re-check)."""
    names, *rest = _files_sources(path, blanks, recursive, exclude, declared)
    p = Path(path)
    if _of_arrays(p.parent if p.is_file() else p):
        names = [n.replace(".tif[", "[").removesuffix(".tif") for n in names]
    return (names, *rest)  # type: ignore[return-value]


#: The folder of a run folder that holds the copies of arrays given to train (``NAME.run/arrays/KEY-DIGEST``)
ARRAYS_FOLDER = "arrays"


def _of_arrays(folder: Path) -> bool:
    """Whether ``folder`` holds a copy of arrays given to train (``NAME.run/arrays/KEY-DIGEST``)."""
    return folder.parent.name == ARRAYS_FOLDER and folder.parent.parent.name.endswith(".run")


def data_files(folder: Path, *, recursive: bool = False, exclude: Path | None = None) -> list[Path]:
    """The image files of a data folder (:func:`noise2x.io.list_images`), training runs' folders and ``exclude``
    (this run's folder) left out."""
    from .io import list_images

    p = Path(folder)
    files = list_images(p, recursive=recursive)
    if recursive:  # a training run's folder inside the data (its own, or another's: NAME.run holding its
        # config.json): its loss plot was read as a training image, in the QA re-check
        runs = {d for f in files for d in f.relative_to(p).parents
                if d.name.endswith(".run") and (p / d / "config.json").is_file()}
        files = [f for f in files if not runs & set(f.relative_to(p).parents)]
    if exclude is not None and Path(exclude).resolve() not in p.resolve().parents:  # (not arrays written to it)
        gone = Path(exclude).resolve()
        files = [f for f in files if gone not in f.resolve().parents]
    return files


def _files_sources(path: str | Path, blanks: bool = False, recursive: bool = False,
                   exclude: Path | None = None, declared: dict[str, float] | None = None) -> tuple[
        list[str], list[Callable[[], np.ndarray]], bool, list[int | None], list[int | None]]:
    """Names and loaders of the images at ``path`` (a folder, an image, or a multi-frame TIFF or FITS), whether
    it is one multi-frame file, each image's channel (:func:`noise2x.io.stack_frames`) and, where known without
    loading it (a stack's frames), its shorter side. A folder's
    multi-frame files (z-stacks, time series, ImageJ hyperstacks) give their frames, loaded when needed;
    ``recursive``: its subfolders' files too (named by their path below it). With ``declared`` (a dict, filled
    with each such file's name and value), a file's declared nodata value (a GeoTIFF's GDAL_NODATA,
    :func:`noise2x.io.tiff_nodata`) marks its blank pixels, as ``blank_value`` does (NaN: as ``blanks``)."""
    from .io import StackFrames, frame_side, has_alpha, open_stack, stack_frames, tiff_nodata

    def nodata(f: Path, name: str) -> float | None:
        value = tiff_nodata(f) if declared is not None else None
        if value is not None:
            declared[name] = value
        return value

    def reader(f: Path, name: str, value: float | None) -> Callable[[], np.ndarray]:
        # an image with alpha: its transparent pixels blank, where the set can take blanks (declared: it is told)
        if (declared is not None or blanks) and has_alpha(f):
            if declared is not None:
                declared.setdefault(name, float("nan"))
            return _opaque_reader(f)
        return _reader(f, blanks or value is not None)

    def marking(load: Callable[[], np.ndarray], value: float | None) -> Callable[[], np.ndarray]:
        return load if value is None or value != value else _marked(load, value)

    p = Path(path)
    if p.is_file():  # (a stack's frames are read when needed, io.open_stack; the set caches what it can)
        value = nodata(p, p.name)
        stack = open_stack(p, dtype=np.float32, blanks=blanks or value is not None)[0]
        if stack.shape[0] > 1:
            return ([f"{p.name}[{k}]" for k in range(stack.shape[0])],
                    [marking(lambda k=k: stack[k], value) for k in range(stack.shape[0])], True, stack_frames(p),
                    [min(stack.shape[1:3])] * stack.shape[0])
        frame = stack[0]
        if (declared is not None or blanks) and has_alpha(p):
            return [p.name], [marking(reader(p, p.name, value), value)], False, [None], [None]
        return [p.name], [marking(lambda: frame, value)], False, [None], [None]
    names: list[str] = []
    loaders: list[Callable[[], np.ndarray]] = []
    channels: list[int | None] = []
    sides: list[int | None] = []
    last: dict[Path, np.ndarray] = {}  # the stack read whole last: its frames are loaded one after the other
    lazy: dict[Path, StackFrames] = {}  # stacks whose frames are read when needed, kept open

    values: dict[Path, float | None] = {}  # each file's declared nodata value

    def load_frame(f: Path, k: int) -> np.ndarray:
        if f in lazy:
            return lazy[f][k]
        if f not in last:
            stack = open_stack(f, dtype=np.float32, blanks=blanks or values.get(f) is not None)[0]
            if isinstance(stack, StackFrames):
                lazy[f] = stack
                return stack[k]
            last.clear()
            last[f] = stack
        return last[f][k]

    files = data_files(p, recursive=recursive, exclude=exclude)
    if p.is_dir() and not files:
        raise InputError(f"no image files in {p} but those of training runs' folders")
    for f in files:
        frames = stack_frames(f)
        name = f.relative_to(p).as_posix()
        value = values[f] = nodata(f, name)
        if len(frames) == 1:
            names.append(name)
            loaders.append(marking(reader(f, name, value), value))
            sides.append(None)
        else:
            names += [f"{name}[{k}]" for k in range(len(frames))]
            loaders += [marking(lambda f=f, k=k: load_frame(f, k), value) for k in range(len(frames))]
            sides += [frame_side(f)] * len(frames)
        channels += frames
    _mixed_units_warning(p, files)
    return names, loaders, False, channels, sides


def _mixed_units_warning(folder: Path, files: list[Path]) -> None:
    """Warn where a training folder mixes 8-bit files and 16-bit ones whose values use the 16-bit range (above
    4 x 255 in the first frame of one of the first 5): a model learns one scale (its normalisation, the mean and
    deviation of them all, fits neither), and 8-bit images given to it later read as other units."""
    from .io import image_kind, open_stack

    kinds: dict[str, list[Path]] = {}
    for f in files:
        kinds.setdefault(image_kind(f), []).append(f)
    if "uint8" not in kinds or "uint16" not in kinds:
        return
    wide = []
    for f in kinds["uint16"][:5]:
        stack = open_stack(f, dtype=np.float32, blanks=True)[0]
        try:
            if float(np.nanmax(stack[0])) > 4 * 255:
                wide.append(f)
        finally:
            getattr(stack, "close", lambda: None)()
    if wide:
        arrays = _of_arrays(folder)  # (arrays given to train: said as the arrays, not as their copy)
        name = folder.name.rsplit("-", 1)[0] if arrays else folder
        a, b, what = ("uint8", "uint16", "arrays") if arrays else ("8-bit", "16-bit", "images")
        example = wide[0].name.removesuffix(".tif") if arrays else wide[0].name
        warn_outside(UserWarning(
            f"{name} mixes {a} ({len(kinds['uint8'])}) and {b} ({len(kinds['uint16'])}) {what}, "
            f"e.g. {example}, whose values span the 16-bit range: a model learns from values in one "
            f"scale; convert them to one (the model is trained all the same)"))


def _marked(load: Callable[[], np.ndarray], value: float) -> Callable[[], np.ndarray]:
    """``load``, its pixels holding ``value`` in every channel made NaN (blank)."""
    from .io import held_blank

    return lambda: held_blank(load(), value)[0]


def build_datasets(*, data: str | Path, requires: frozenset[str], data2: str | Path | None = None,
                   add_noise: Any = None, val_data: str | Path | None = None, pair: str = "auto",
                   resample: bool = False, cache_mb: float = 2048.0,
                   val_images: int = 8, blanks: bool = False, blank_value: float | None = None,
                   recursive: bool = False, exclude: Path | None = None) -> tuple[ImageSet, ImageSet | None, bool]:
    """The training set and the validation set for a method needing ``requires``; ``exclude``: a folder whose
    files are left out of the folders' (a training run's own folder, inside its data with ``recursive``);
    ``blank_value``: pixels holding it are blank (NaN), as with ``blanks``, which it implies.

    Returns
    -------
    train : ImageSet
    val : ImageSet or None
        Held-out images (the last ``val_images`` of ``data`` when it has at
        least ``2 * val_images``), or every image of ``val_data``; None when
        ``val_images`` is 0 and no ``val_data`` is given.
    held_out : bool
        False when validation reuses training images (a set too small to
        hold any out). A set of fewer than ``2 * val_images`` images holds
        out the bottom rows of its last ``val_images`` images instead
        (:data:`VAL_ROWS`); ``val.split`` says which: "images", "rows",
        "reused" or "folder".

    Raises
    ------
    UsageError
        The method needs fields the data cannot provide (the message says what to add).
    """
    requires = frozenset(requires)
    if data2 is not None and (add_noise is not None or not requires & {"noisy2", "clean"}):
        # (it was read and left unused, in silence)
        why = ("--add-noise makes the second copies and targets from --data" if add_noise is not None else
               "this method trains on single noisy images")
        raise UsageError(f"--data2 is not used: {why}; drop it (or put its images in --data to train on them too)")
    declared: dict[str, float] | None = {} if blank_value is None else None  # (a value given comes first)
    along: str | None = None
    frames: dict[int, set[int]] = {}  # (a stack's pairs: the frames of each, which pairs share)
    names, loaders, is_stack, frame_channels, sides = _sources(data, blanks or blank_value is not None, recursive,
                                                               exclude, declared)
    if blank_value is not None:
        loaders = [_marked(f, blank_value) for f in loaders]
    blanks = blanks or blank_value is not None  # (and where a file declares its nodata: below)

    def wrap(index: int, name: str, load: Callable[[], dict[str, np.ndarray]], j: int) -> _Item:
        return _Item(index, name, load, side=sides[j], channel=frame_channels[j])

    if add_noise is not None:
        kind = "synthetic"
        items = [wrap(j, names[j], (lambda f=f: {"clean": f()}), j) for j, f in enumerate(loaders)]
    elif data2 is not None:
        if Path(data2).resolve() == Path(data).resolve():  # each image its own target: the network learns identity
            raise UsageError(f"--data2 {data2} is --data itself; it holds the second copies (noise2noise: the same "
                             "scenes with independent noise) or the clean targets (supervised)")
        names2, loaders2, _, _, _ = _sources(data2, blanks, recursive, exclude, declared)
        if blank_value is not None:
            loaders2 = [_marked(f, blank_value) for f in loaders2]
        if len(names2) != len(names):
            raise UsageError(f"--data (data=) has {len(names)} images but --data2 (data2=) has {len(names2)}; they "
                             f"must be aligned")
        order = _pair_order(data, data2, names, names2)
        names2, loaders2 = [names2[k] for k in order], [loaders2[k] for k in order]
        if pair == "auto":
            pair = "clean" if "clean" in requires and "noisy2" not in requires else "noisy"
        second = "clean" if pair == "clean" else "noisy2"
        kind = "supervised" if pair == "clean" else "pair"
        items = [wrap(j, f"{names[j]} + {names2[j]}", (lambda a=a, b=b, s=second: {"noisy": a(), s: b()}), j)
                 for j, (a, b) in enumerate(zip(loaders, loaders2))]
    elif "noisy2" in requires and is_stack:
        # each frame and the next along time, of its channel and z-plane (a hyperstack's channels are not copies
        # of one another, nor its planes where time runs: the time-lapse QA pass)
        from .io import stack_pairs

        kind = "pair"
        pairs, along = stack_pairs(data)
        if not pairs:
            raise UsageError(f"{Path(data).name}'s {len(names)} frames are channels or series (positions) of one "
                             f"time point and plane: none is a second noisy copy of another; give the copies as "
                             f"--data2 DIR (data2= in Python), or a stack of time points or planes as --data")
        items = [wrap(n, f"{names[k]} + {names[j]}",
                      (lambda a=loaders[k], b=loaders[j]: {"noisy": a(), "noisy2": b()}), k)
                 for n, (k, j) in enumerate(pairs)]
        frames = {n: {k, j} for n, (k, j) in enumerate(pairs)}
    else:
        kind = "noisy"
        items = [wrap(j, names[j], (lambda f=f: {"noisy": f()}), j) for j, f in enumerate(loaders)]

    available = ImageSet(items[:1], kind=kind, second_copy="noisy2" in requires).available
    missing = requires - available
    if missing:
        if "clean" in missing:
            hint = ("add --add-noise SPEC (clean training images) or --data2 DIR with clean targets (add_noise= or "
                    "data2= in Python)")
        else:
            hint = ("add --add-noise SPEC (clean training images), --data2 DIR with aligned noisy copies, "
                    "or give a multi-frame TIFF stack as --data (add_noise=, data2=, data= in Python)")
        what = {"clean": "clean targets", "noisy2": "a second noisy copy of each image (noisy2)"}
        raise UsageError(f"this method needs {' and '.join(what.get(m, m) for m in sorted(missing))}: {hint}")

    opts = dict(kind=kind, noise=add_noise, resample=resample, cache_mb=cache_mb,
                second_copy="noisy2" in requires, blanks=blanks or bool(declared), paired_along=along)
    if val_data is not None:
        vdeclared: dict[str, float] | None = {} if blank_value is None else None
        vnames, vloaders, _, _, _ = _sources(val_data, blanks, recursive, exclude, vdeclared)
        opts["blanks"] = opts["blanks"] or bool(vdeclared)
        if blank_value is not None:
            vloaders = [_marked(f, blank_value) for f in vloaders]
        if kind == "synthetic":
            vitems = [_Item(k, vnames[k], (lambda f=f: {"clean": f()})) for k, f in enumerate(vloaders)]
        elif kind == "noisy":
            vitems = [_Item(k, vnames[k], (lambda f=f: {"noisy": f()})) for k, f in enumerate(vloaders)]
        else:
            raise UsageError("--val-data (val_data=) is supported with --add-noise or for noisy-only training; "
                             "paired data holds out its own validation images")
        # (the whole folder: its first val_images alone were used, unsaid, a QA pass)
        val = ImageSet(vitems, **{**opts, "resample": False, "cache_mb": 1e9},
                       seed_offsets=(SEED_VAL, SEED_VAL + 1000))
        train_set = ImageSet(items, **opts)
        if val.channels != train_set.channels:  # (the network failed on them at the first validation, after training)
            raise InputError(f"--val-data (val_data=) {val_data} holds {val.channels}-channel images, the training "
                             f"images {train_set.channels}-channel: give validation images of their kind")
        val.split = "folder"
        return train_set, val, True
    if val_images <= 0:
        return ImageSet(items, **opts), None, False
    split = "images"
    # a stack's pair that shares a frame with a held-out pair (frame k of k-1 + k and k + k+1) is left out, or
    # trained on its top rows alone, so that no held-out frame is trained on (it was: a QA pass)
    shared = set().union(*(frames[item.index] for item in items[-val_images:])) if frames else set()
    if len(items) >= 2 * val_images:
        train_items, val_items, held = items[:-val_images], items[-val_images:], True
        train_items = [item for item in train_items if not frames.get(item.index, set()) & shared]
    else:  # (the training images themselves were validated on, in silence: a QA pass)
        banded = _held_out_rows(items[-val_images:])
        if banded is not None:
            rest = [item if not frames.get(item.index, set()) & shared else (_held_out_rows([item]) or ([item],))[0][0]
                    for item in items[:-val_images]]
            train_items, val_items, held, split = rest + banded[0], banded[1], True, "rows"
        else:
            train_items, val_items, held, split = items, items[:val_images], False, "reused"
    # rows held out of an image get noise of their own (its seed's first draws made the top rows' noise again)
    seeds = {"seed_offsets": (SEED_VAL, SEED_VAL + 1000)} if split == "rows" else {}
    val = ImageSet(val_items, **{**opts, "resample": False, "cache_mb": 1e9}, **seeds)
    val.split = split
    return ImageSet(train_items, **opts), val, held


#: The even/odd mark of a cryo-EM half sum's file name, left out where two folders pair their images by name
_HALF_MARK = re.compile(r"[._-](evn|odd|even)$", re.IGNORECASE)
#: An image's name in a folder: its file's, and the frame of a stack file (``"t.mrc[3]"``)
_FRAME = re.compile(r"(.*?)(\[\d+\])?", re.DOTALL)


def _pair_order(data: Any, data2: Any, names: list[str], names2: list[str]) -> list[int]:
    """The order of ``names2`` that pairs each image of ``data`` with its namesake, the extension aside
    (``a.png`` with ``a.tif``) and an even/odd mark at the end of the name (cryo-EM's half sums:
    ``tomo_EVN.mrc`` with ``tomo_ODD.mrc``; also ``_even``/``_odd``, after ``_``, ``-`` or ``.``); UsageError
    naming the first image without one. Two folders were paired by sorted position: ``1.png``..``20.png`` with
    ``01.png``..``20.png`` trained on 18 wrong pairs, unsaid, 15 dB under the noisy input (a QA pass; CAREamics
    refuses folders whose names differ). Stacks and the copies of arrays pair frame by frame."""
    one, two = Path(data), Path(data2)
    if not (one.is_dir() and two.is_dir()) or _of_arrays(one) or _of_arrays(two):
        return list(range(len(names2)))

    def stem(name: str) -> str:  # (a stack's frame, "t_EVN.mrc[3]": the file's stem, then the frame: a re-check)
        file, frame = _FRAME.fullmatch(name).groups()  # type: ignore[union-attr]
        return _HALF_MARK.sub("", str(Path(file).with_suffix(""))) + (frame or "")

    stems, stems2 = [stem(a) for a in names], [stem(b) for b in names2]
    for key, listed, keys in (("--data", names, stems), ("--data2", names2, stems2)):
        seen: dict[str, str] = {}
        for name, key_of in zip(listed, keys):
            if key_of in seen:
                raise UsageError(f"--data and --data2 pair their images by name, the extension aside: {key} holds "
                                 f"two images of one name, {seen[key_of]} and {name}; keep one")
            seen[key_of] = name
    where = {s: k for k, s in enumerate(stems2)}
    missing = [a for a, s in zip(names, stems) if s not in where]
    if missing:
        unmatched = sorted(set(stems) ^ set(stems2))
        raise UsageError(f"--data and --data2 pair their images by name, the extension aside: {missing[0]} has no "
                         f"namesake in --data2 ({len(unmatched)} name(s) in one folder only, e.g. "
                         f"{', '.join(unmatched[:3])}); name each pair's two files alike")
    return [where[s] for s in stems]


def _held_out_rows(items: list[_Item]) -> tuple[list[_Item], list[_Item]] | None:
    """``items`` split into training images and validation images: the bottom rows of each (:data:`VAL_ROWS`)
    held out where it has rows enough, the others trained on whole; None where none has."""
    import math

    def rows(load: Callable[[], dict[str, np.ndarray]], start: int, stop: int | None) -> dict[str, np.ndarray]:
        return {k: np.ascontiguousarray(v[start:stop]) for k, v in load().items()}

    train, val = [], []
    for item in items:
        h, w = next(iter(item.load().values())).shape[:2]
        cut = h - max(VAL_MIN_ROWS, math.ceil(VAL_ROWS * h))
        if cut < 3 * VAL_MIN_ROWS:
            train.append(item)
            continue
        train.append(_Item(item.index, item.name, lambda f=item.load, c=cut: rows(f, 0, c), side=min(cut, w),
                           channel=item.channel))
        val.append(_Item(item.index, f"{item.name} (rows {cut}-{h - 1})", lambda f=item.load, c=cut: rows(f, c, None),
                         side=min(h - cut, w), channel=item.channel))
    return (train, val) if val else None


# -- arrays given as training data (the Python API) ------------------------------------
#: The axes of one array given as training data (``noise2x.train(..., axes=)``), in the order training reads them:
#: S the images of a stack, Y and X the rows and columns, C the colour channels (1 or 3). ``axes`` may also name the
#: stack T (a time series) or Z (a z-stack), and put C first (``"CYX"``, ``"SCYX"``, CAREamics' order): see
#: :func:`array_axes`. A list of arrays holds one image per array.
ARRAY_AXES = ("YX", "YXC", "SYX", "SYXC")


def array_axes(axes: Any) -> tuple[str, tuple[int, ...]]:
    """``axes`` of training arrays as one of :data:`ARRAY_AXES` and the permutation that puts an array given in
    ``axes`` in that order: letters S, T or Z (one of them: the stack's images), Y and X (Y right before X) and C
    (anywhere else), each once, any case. ``"TYX"`` and ``"ZYX"`` are read as ``"SYX"``, ``"CYX"`` as ``"YXC"``."""
    ax = axes.upper() if isinstance(axes, str) else ""
    stack = [a for a in ax if a in "STZ"]
    if (not ax or set(ax) - set("STZCYX") or len(set(ax)) != len(ax) or len(stack) > 1 or "YX" not in ax):
        raise UsageError(f"axes names the axes of an array of training images: S (or T, Z: its images), Y and X (Y "
                         f"right before X) and C (colour channels), each once, e.g. 'SYX', 'TYX', 'YXC', 'SYXC' or "
                         f"'SCYX'; got {axes!r}")
    order = stack + ["Y", "X"] + (["C"] if "C" in ax else [])
    return ("S" if stack else "") + "YX" + ("C" if "C" in ax else ""), tuple(ax.index(a) for a in order)


def _one_image(arr: np.ndarray, name: str, axes: str, blanks: bool) -> np.ndarray:
    """``arr`` as an (H,W) or (H,W,3) image of a real dtype, finite (NaN allowed with ``blanks``)."""
    from .io import _check_finite

    if arr.dtype.kind not in "uif":
        raise InputError(f"{name} must hold real numbers (integer or float), got dtype {arr.dtype}")
    if axes == "YXC":
        if arr.shape[2] == 1:
            arr = arr[..., 0]
        elif arr.shape[2] != 3:
            first = " (channels first: axes='CYX')" if arr.shape[0] in (1, 3) else ""
            raise InputError(f"{name} has {arr.shape[2]} channels (shape {arr.shape}); training images are gray "
                             f"or RGB: C is 1 or 3 (a stack of gray images: axes='SYX'; channels of other kinds: one "
                             f"model per channel, trained on that channel's images alone){first}")
    if min(arr.shape[:2]) < 1:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    _check_finite(arr, name, blanks=blanks, hint="; if NaN marks blank pixels (no data), "
                  "overrides=['data.blanks=true'] (the CLI: --set data.blanks=true)")
    return arr


def array_images(value: Any, *, name: str = "data", axes: str | None = None,
                 blanks: bool = False) -> list[np.ndarray]:
    """The images of training data given as arrays, each (H,W) or (H,W,3) in its own dtype.

    Parameters
    ----------
    value : array_like or list of array_like
        One array, whose axes ``axes`` names (a 2-D array is one gray image, ``"YX"``), or a list (or tuple) of
        arrays, each one image (H,W) or (H,W,C); their sizes may differ.
    name : str
        How the argument is called in error messages (``data``, ``data2``, ``val_data``).
    axes : str, optional
        One of :data:`ARRAY_AXES`, or their letters in another order, the stack named T or Z (:func:`array_axes`:
        e.g. ``"TYX"``, ``"SCYX"``); needed for a 3-D or 4-D array. With a list, the axes of each of its arrays
        ("YX", "YXC" or "CYX"; default by its number of dimensions).
    blanks : bool
        NaN marks blank pixels (``data.blanks``); otherwise NaN is refused (inf always).

    Raises
    ------
    UsageError
        A missing, unknown or mismatched ``axes``.
    InputError
        An empty list or image, a non-numeric dtype, other channel counts than 1 or 3, NaN or inf values.
    """
    ax, perm = (None, None) if axes is None else array_axes(axes)
    if isinstance(value, (list, tuple)):
        if not value:
            raise InputError(f"{name} is an empty list: give at least one image")
        if ax is not None and ax.startswith("S"):
            raise UsageError(f"axes={axes!r} names a stack, and {name} is a list: each of its arrays is one image "
                             f"(axes 'YX' or 'YXC'), or give the stack as one array")
        images = []
        for i, item in enumerate(value):
            if isinstance(item, (str, os.PathLike)):
                raise UsageError(f"{name}[{i}] is a path: a list given as {name} holds arrays; a folder of images "
                                 f"or a TIFF stack is given as one path")
            arr = _as_array(item, f"{name}[{i}]")
            item_axes = ax or {2: "YX", 3: "YXC"}.get(arr.ndim)
            if ax is not None and len(ax) != arr.ndim:
                raise InputError(f"{name}[{i}] has shape {arr.shape}, and axes={axes!r} names {len(ax)} axes (with "
                                 f"a list, those of each of its images)")
            if item_axes is None:
                raise InputError(f"{name}[{i}] has shape {arr.shape}: each array of a list is one image, (H,W) or "
                                 f"(H,W,C) (a stack of images: one array with axes='SYX' or 'SYXC')")
            images.append(_one_image(arr if perm is None else arr.transpose(perm), f"{name}[{i}]", item_axes,
                                     blanks))
        return images
    arr = _as_array(value, name)
    if ax is None:
        if arr.ndim != 2:
            raise UsageError(f"{name} is a {arr.ndim}-D array (shape {arr.shape}): give its axes, "
                             f"axes='SYX' (a stack of gray images), 'YXC' (one colour image) or 'SYXC' (a stack of "
                             f"colour images)")
        ax = "YX"
    if len(ax) != arr.ndim:
        raise UsageError(f"axes={axes!r} names {len(ax)} axes, and {name} has {arr.ndim} (shape {arr.shape})")
    given = arr.shape
    if perm is not None:
        arr = arr.transpose(perm)  # (a view: S, Y, X, C)
    try:
        if not ax.startswith("S"):
            return [_one_image(arr, name, ax, blanks)]
        if arr.shape[0] < 1:
            raise InputError(f"{name} is an empty stack (shape {arr.shape})")
        return [_one_image(arr[k], f"{name}[{k}]", ax[1:], blanks) for k in range(arr.shape[0])]
    except InputError as exc:
        if perm is None or list(perm) == sorted(perm):
            raise
        # (the shape said was the reordered one: a QA re-check)
        raise InputError(f"{exc} ({name} given as {given} with axes {axes!r}, read as {ax})") from None


def _as_array(value: Any, name: str) -> np.ndarray:
    from .io import as_numpy

    try:
        arr = np.asarray(as_numpy(value))
    except Exception as exc:  # (ragged nested lists and the like)
        raise InputError(f"{name} is not an array: {exc}") from None
    if arr.ndim == 0 or arr.dtype.kind == "O":
        raise InputError(f"{name} is not an image array (got {type(value).__name__})")
    return arr


def as_written(image: np.ndarray) -> np.ndarray:
    """An image of training arrays as its copy holds it: uint8 and uint16 in their kind (native byte order), any
    other kind as float32."""
    if image.dtype.kind == "u" and image.dtype.itemsize in (1, 2):
        return image.astype(image.dtype.newbyteorder("="), copy=False)
    return image.astype(np.float32, copy=False)


def arrays_digest(images: Sequence[np.ndarray], *, stack: bool = False) -> str:
    """A SHA-256 of training images as their copy holds them (:func:`as_written`: shapes, kinds and values) and of
    their form (one stack or a list): the same arrays give the same copy, whatever their byte order or float
    precision beyond float32."""
    h = hashlib.sha256(b"stack;" if stack else b"list;")
    for img in images:
        img = as_written(img)
        h.update(f"{img.dtype.str}{img.shape};".encode())
        h.update(np.ascontiguousarray(img).data)
    return h.hexdigest()


def write_arrays(images: Sequence[np.ndarray], folder: Path, *, key: str = "data", stack: bool = False) -> Path:
    """Write training images into ``folder`` (a new folder, made whole or not at all; one that exists is taken as
    written) and return what training reads: a stack (one array, axes S...) as one multi-page TIFF ``KEY.tif``,
    whose frames pair as a TIFF stack's do (Noise2Noise: each frame with the next); a list as files ``KEY[i].tif``
    (``i`` zero-padded to one width), so that messages name ``data[3]``. Kinds as :func:`as_written`."""
    from .io import write_image

    folder = Path(folder)
    width = len(str(len(images) - 1))
    names = [f"{key}.tif"] if stack else [f"{key}[{i:0{width}d}].tif" for i in range(len(images))]
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            # (NaN was checked against data.blanks: written as it is)
            parts = [np.stack([as_written(img) for img in images])] if stack else [as_written(i) for i in images]
            for name, part in zip(names, parts):
                write_image(tmp / name, part, kind=part.dtype.name if part.dtype.kind == "u" else "float32",
                            blanks=True)
            replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return folder / names[0] if stack else folder
