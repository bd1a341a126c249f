"""The noise2x command line: parse, call one library function, exit with a code.

Exit codes: 0 success; 2 usage errors (bad option, unknown method, invalid
noise spec, missing input); 1 runtime errors (unreadable or invalid image,
incompatible model, failed write). Errors are one line on stderr, never a
traceback (``NOISE2X_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import InputError, Noise2xError, UsageError, escaped


def _shown(text: str, lines: bool = False) -> str:
    """``text`` as one line on a terminal (:func:`noise2x.errors.escaped`: a file name's escape sequences or line
    breaks forged or hid noise2x's own lines, in a QA pass); with ``lines``, each line of several apart (info's, a
    table's)."""
    return "\n".join(escaped(line) for line in str(text).split("\n")) if lines else escaped(str(text))


def _err(message: str) -> None:
    if len(message) > 2000:  # (a value echoed from a file, 10 MB of it: not one line any more)
        message = f"{message[:2000]}... ({len(message)} characters)"
    try:
        print(f"noise2x: error: {_shown(message)}", file=sys.stderr)
    except OSError:  # (a hang-up: the terminal is gone; the exit status says it)
        pass


#: seconds between two progress lines of ``noise2x denoise`` on one input (a stack's frames, a large image's tiles)
PROGRESS_EVERY_S = 10.0

#: ``--quiet``: progress lines and notes are not said (warnings and errors are)
_QUIET = [False]


def _say(message: str) -> None:
    if not _QUIET[0]:
        if message.startswith("note: "):  # (as train's notes, and the warnings and errors: a log's grep finds them)
            message = "noise2x: " + message
        print(_shown(message), file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    """A warning line (said under --quiet too): a likely bad result, or data not kept."""
    print(_shown(f"noise2x: warning: {message}"), file=sys.stderr, flush=True)


def _bf16_note(precision: str | None, device: str) -> None:
    """Say so when bf16 will be emulated (a CPU without bfloat16 instructions); see predict.bf16_note."""
    if precision != "bf16":  # (predict imports torch, which a classical method's command needs not)
        return
    from .predict import bf16_note, resolve_device

    note = bf16_note(precision, resolve_device(device or "auto"))
    if note:
        _say(note)


def _on_device(method: str | None) -> bool:
    """Whether ``denoise --method METHOD`` (or no method: a model) runs on ``--device`` (models, zs_n2n, mash)."""
    from .api import direct_methods, method_options
    from .classical import CLASSICAL

    fn = (CLASSICAL.get(method) or direct_methods().get(method)) if method else None  # (a classical: no torch)
    return not method or (fn is not None and "device" in method_options(fn))


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so main() prints one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prints "noise2x: error: ..."; name the subcommand only ("train: ...")
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        raise UsageError(f"{command}: {message}" if command else message)


# ----------------------------------------------------------------------------- helpers


def _finite(text: str) -> float:
    """argparse type of a finite number (--blank-value)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r} (NaN blanks: --blanks)")
    return value


def _blank_value(text: str) -> float | str:
    """argparse type of denoise's and info's --blank-value: a finite number, or none (no blank value: none read)."""
    return "none" if text.strip().lower() == "none" else _finite(text)


def _seed(text: str) -> int:
    """argparse type of --seed: a whole number >= 0 (NumPy and PyTorch seeds)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_threads, metavar="N",
                        help="CPU threads for the work in torch (models, training, zs_n2n, mash; default: the cores "
                             "not busy with other jobs, or NOISE2X_THREADS / OMP_NUM_THREADS where set)")


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="say no progress lines or notes (stderr), nor the closing summary line (stdout); "
                             "warnings, errors and results (bench's table) still")


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _expand_inputs(inputs: Sequence[str], recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """The input files, and each one's name in an output folder: its path below the input folder it was
    found in (its file name where it was given itself)."""
    from .io import list_images, unread_images, unread_note

    files: list[Path] = []
    names: list[Path] = []
    for item in inputs:
        found = list_images(item, recursive=recursive)
        other = unread_images(item, recursive=recursive)
        if other:
            _say(f"note: {item}: {unread_note(other)}")
        files.extend(found)
        names.extend(f.relative_to(item) if Path(item).is_dir() else Path(f.name) for f in found)
    return files, names


def _shard(files: list[Path], targets: list[Path], shard: str | None,
           skip_existing: bool) -> tuple[list[Path], list[Path]]:
    """The inputs (and their outputs) that this run denoises: the share ``K/N`` of them (every N-th from the
    K-th), less those whose output exists with ``skip_existing``; said on stderr where that leaves out any."""
    pairs = list(zip(files, targets))
    if shard is not None:
        k, sep, n = shard.partition("/")
        try:
            k, n = int(k), int(n)
        except ValueError:
            k = n = 0
        if not sep or not 1 <= k <= n:
            raise UsageError(f"--shard expects K/N with 1 <= K <= N (e.g. 2/8), got {shard!r}")
        pairs = pairs[k - 1::n]
        _say(f"shard {k}/{n}: {len(pairs)} of {len(files)} input(s)")
    if skip_existing:
        kept = [(src, dst) for src, dst in pairs if not dst.exists()]
        if len(kept) < len(pairs):
            _say(f"{len(pairs) - len(kept)} input(s) skipped: their output exists")
        pairs = kept
    return [src for src, _ in pairs], [dst for _, dst in pairs]


def _is_folder_target(out: str, n_inputs: int, folder_input: bool, what: str = "--out") -> bool:
    """DESIGN.md: --out is a folder when it exists as one, ends with '/', or has no suffix (``what``: the
    argument's name in messages: simulate's is OUT)."""
    p = Path(out)
    try:
        is_dir = p.is_dir()
    except OSError as exc:  # (a name over the 255 bytes a file system takes: said before any work)
        raise UsageError(f"{what} {out}: {exc.strerror or exc}") from None
    if is_dir or out.endswith(("/", os.sep)) or p.suffix == "":
        return True
    if n_inputs > 1:
        raise UsageError(f"{what} {out} names a file but there are {n_inputs} inputs; give a folder")
    if folder_input:
        raise UsageError(f"{what} {out} names a file but the input is a folder; give a folder (each output keeps "
                         f"its input's name)")
    return False


def _output_kind(src: Path, dst: Path) -> str | None:
    """Keep the input's kind where the output format can hold it (see io.write_image)."""
    from .io import image_kind, writable_format

    kind = image_kind(src)
    if writable_format(dst) == "MRC":  # (16-bit, else float32: an 8-bit MRC is signed, or stored in 16 bits)
        return "uint16" if kind == "uint16" else "float32"
    if writable_format(dst) in ("TIFF", "FITS"):  # the input's kind: a photo's 8 or 16 bits (a float32 TIFF in
        return kind  # 0..255 or 0..65535 units, as written before, shows blown out in photo editors)
    if dst.suffix.lower() == ".png" or writable_format(dst) == "HEIF":  # (HEIF: 10 bits from a 10-bit HEIF)
        return "uint16" if kind == "uint16" else "uint8"
    return "uint8"


def _output_scale(src: Path, kind: str | None) -> float:
    """The factor from the input's units to the output's: 1/257 where 16-bit samples (a 16-bit PNG or TIFF, a
    10- or 12-bit HEIF or AVIF read in 16-bit units) go to an 8-bit file (JPEG, WebP, BMP, AVIF), where they
    would otherwise be clipped to white; 1 otherwise (float data keep their units)."""
    from .io import image_kind

    return 1 / 257 if kind == "uint8" and image_kind(src) == "uint16" else 1.0


def _blank_kind(src: Path, dst: Path, kind: str | None) -> str | None:
    """The output kind for an image with blank (NaN) pixels: float32 in TIFF and FITS (NaN), else a PNG's or
    WebP's (transparent); a UsageError for files that cannot mark them."""
    from .io import ALPHA_FORMATS, STACK_FORMATS, writable_format

    fmt = writable_format(dst)
    if fmt in STACK_FORMATS:
        return "float32"
    if fmt not in ALPHA_FORMATS:  # (TIFF returned above)
        raise UsageError(f"{src} has blank (NaN) pixels, which {fmt} files cannot mark: write {_stem(dst)}.fits "
                         f"or .tif (NaN) or .png or .webp (transparent)")
    return kind


def _blank_pixels(frame, blanks: bool, value: float | str | None):
    """(H,W) bool: the pixels of a frame (H,W) or (H,W,C) that hold no data (NaN in a channel with ``blanks``;
    ``value`` in every channel)."""
    import numpy as np

    empty = np.zeros(frame.shape[:2], bool)
    value = None if value == "none" else value  # (--blank-value none)
    if blanks:
        nan = np.isnan(frame)
        empty |= nan.any(axis=-1) if frame.ndim == 3 else nan
    if value is not None:
        held = frame == value
        empty |= held.all(axis=-1) if frame.ndim == 3 else held
    return empty


def _kept_alpha(src: Path, dst: Path, alpha):
    """The input's alpha channel where the output format can hold it (PNG, TIFF, WebP); else None, said once."""
    from .io import ALPHA_FORMATS, LOSSY_FORMATS, writable_format

    if alpha is None:
        return None
    fmt = writable_format(dst)
    if fmt in ALPHA_FORMATS:
        return alpha
    what = "are written lossily and keep none" if fmt in LOSSY_FORMATS else "have none"
    _warn(f"{src}: its alpha channel is not kept: {fmt} files {what} (write .png, .tif or .webp to keep it)")
    return None


def _targets(files: list[Path], out: str, folder_input: bool, names: list[Path] | None = None,
             what: str = "--out") -> list[Path]:
    """Each input's output: ``out`` itself, or in the folder ``out`` under its name there (``names``, e.g.
    a path below its input folder: the subfolders are made; default: its file name)."""
    if out == "-":  # (not standard output: a folder named '-' was made, in a QA pass)
        raise UsageError(f"{what} -: noise2x writes image files, not to standard output; give a file or a folder")
    if _is_folder_target(out, len(files), folder_input, what):
        from .io import SLIDE_SUFFIXES, _suffix

        folder = Path(out)
        targets = [folder / n for n in (names or [Path(f.name) for f in files])]
        targets = [t.with_suffix(".tif") if _suffix(t) in SLIDE_SUFFIXES else t for t in targets]  # (written as TIFF)
        if len(set(targets)) != len(targets):  # (the name and its inputs said: one of thousands, in a QA pass)
            first: dict[Path, Path] = {}
            for src, dst in zip(files, targets):
                if dst in first:
                    same = src.resolve() == first[dst].resolve()
                    raise UsageError(f"{first[dst]} is given twice; give each input once" if same else
                                     f"several inputs share the output name {dst}: {first[dst]} and {src}; "
                                     f"{'simulate' if what == 'OUT' else 'denoise'} them into separate folders")
                first[dst] = src
        clash = next((t for t in targets if t.is_dir()), None)
        if clash is not None:  # (the rename onto it failed after the work, and stopped the batch: a QA pass)
            raise UsageError(f"output {clash} is a folder; move it, or choose another --out")
        _make_folder(folder, what)
        for parent in sorted({t.parent for t in targets}):
            _make_folder(parent, what)
        _case_clash(files, targets)
        return targets
    return [Path(out)]


#: the output folders this command made (:func:`_make_folder`): those left empty go when it fails
_MADE: list[Path] = []


def _make_folder(folder: Path, what: str = "--out") -> None:
    """``folder`` and the folders above it that are missing, made and recorded in :data:`_MADE` (a command that
    failed left them, empty: a Makefile's folder target, or a script's ``[ -d out ]``, then took the step as done,
    in a QA pass); Noise2xError where one cannot be made."""
    # (missing/../results is the user's results, not new, but missing is: a QA re-check)
    new = [Path(os.path.abspath(f)) for f in (folder, *folder.parents)
           if not os.path.lexists(f) and not os.path.lexists(os.path.abspath(f))]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # (a file in the way: --out /dev/null, taken as a folder for its missing extension)
        there = next(f for f in (folder, *folder.parents) if f.exists())
        hint = f" ({what} with no file extension names a folder)" if there == folder and not folder.suffix else ""
        raise UsageError(f"output folder cannot be made: {there} is not a folder{hint}") from None
    except OSError as exc:  # (a folder that cannot be written: said as _check_targets says it)
        raise Noise2xError(f"output folder cannot be made: {folder} ({exc.strerror or exc})") from None
    finally:
        _MADE.extend(f for f in new if f.is_dir())


def _ensure_folder(dst: Path) -> None:
    """``dst``'s folder, made again where it went since the command made it: a job of an array that failed removes
    the empty output folder it made (:func:`_remove_made_folders`) while the others still work towards it."""
    with contextlib.suppress(OSError):  # (where it cannot be made, the write says why)
        dst.parent.mkdir(parents=True, exist_ok=True)


def _remove_made_folders() -> None:
    """The folders of :data:`_MADE` that are empty, removed, deepest first (a failed command's)."""
    for folder in sorted(set(_MADE), key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
    _MADE.clear()


def _case_clash(files: list[Path], targets: list[Path]) -> None:
    """UsageError where two outputs' names differ only in case and their folder ignores case (Windows, macOS,
    exFAT, an SMB share): one would overwrite the other (a model-sharing QA pass found Cell.png and cell.png
    written, exit 0, on a folder that could have been such a share)."""
    from .fsutil import ignores_case

    seen: dict[tuple[Path, str], tuple[Path, Path]] = {}
    for src, dst in zip(files, targets):
        key = (dst.parent, dst.name.casefold())
        if key in seen and seen[key][1].name != dst.name and ignores_case(dst.parent):
            raise UsageError(f"the outputs {seen[key][1]} and {dst} (of {seen[key][0]} and {src}) differ only in "
                             f"case, and {dst.parent} ignores case: one would overwrite the other; write them "
                             f"into separate folders")
        seen.setdefault(key, (src, dst))


def _format_suffix(fmt: str, to_folder: bool, out: str, what: str) -> str:
    """``--format EXT`` as the suffix a folder ``out``'s files take (simulate's and denoise's), checked before any
    work: a file ``out`` names its own format; an extension noise2x cannot write is refused."""
    from .io import writable_format

    ext = "." + fmt.lstrip(".").lower()
    if not to_folder:
        raise UsageError(f"--format is for a folder {what}; a file {what} names its own format ({out})")
    try:
        writable_format(Path("x" + ext))
    except UsageError as exc:
        raise UsageError(f"--format {fmt}: {str(exc).split(': ', 1)[-1]}") from None
    return ext


def _stem(path: Path) -> str:
    """A file's name without its format's suffixes (io's): photo for photo.fits.gz, photo.ome.tif, photo.fz."""
    from .io import _suffix

    return path.name[: len(path.name) - len(_suffix(path))].removesuffix(".ome")


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: by identity, not by name (on a file system that ignores case, as
    macOS's, IMG.PNG and img.png are one file under two resolved names, and an output overwrote its input so, in a
    portability QA pass; a hard link too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _writable_folder(folder: Path) -> bool:
    """Noise2xError where ``folder`` (an output's) cannot be written or made; whether it is still to be made."""
    there = folder
    while not there.exists() and there != there.parent:
        there = there.parent
    if there.exists() and not there.is_dir():
        raise Noise2xError(f"output folder cannot be made: {there} is a file")
    if not os.access(there, os.W_OK):
        raise Noise2xError(f"output folder is not writable: {there}")
    return there != folder


def _check_targets(files: list[Path], targets: list[Path], blanks: bool = False) -> None:
    """Fail before any work when an output cannot be written or would overwrite its input (``blanks``: NaN
    in the inputs marks blank pixels; an output that cannot mark them is refused as each file is read,
    before its work: only a single output file can change the format)."""
    import numpy as np

    from .io import (FEW_LEVELS, STACK_FORMATS, image_kind, read_stack, tiff_nodata, tiff_page_sizes, whole_levels,
                     writable_format)

    missing = [f for f in {t.parent for t in targets} if _writable_folder(f)]  # (made once the checks below pass)
    for src, dst in zip(files, targets):
        out_fmt, in_fmt = writable_format(dst), _format_name(src)
        if dst.exists() and _same_file(dst, src):
            raise UsageError(f"output {dst} would overwrite its input; choose another output name")
        try:
            floats = out_fmt not in STACK_FORMATS and image_kind(src) == "float32"
            narrowed = out_fmt not in STACK_FORMATS and image_kind(src) == "uint16" and _output_kind(src, dst) == \
                "uint8"  # (16-bit counts in an 8-bit file: see below)
            if not ((out_fmt not in STACK_FORMATS and in_fmt in STACK_FORMATS) or floats or narrowed
                    or (out_fmt in ("FITS", "MRC") and in_fmt != out_fmt)):
                continue
            if tiff_page_sizes(src) is not None:  # (each page denoised on its own: written to a TIFF, as pages)
                raise UsageError(f"{src} holds pages of different sizes or colours, which only a TIFF output holds "
                                 f"(one page each), not {dst}: write it to a .tif")
            nodata = tiff_nodata(src)  # (a declared NaN nodata: NaN marks blank pixels, as with --blanks)
            data = read_stack(src, blanks=blanks or (nodata is not None and _isnan(nodata)))  # (read once for
            # the checks below)
        except InputError:
            if len(files) == 1:
                raise
            continue  # (of several inputs, one that cannot be read is named, and left out, when its turn comes)
        if out_fmt not in STACK_FORMATS and in_fmt in STACK_FORMATS and len(data) > 1:
            raise UsageError(f"{src} holds several images; only a TIFF, FITS or MRC output (.tif, .fits, .mrc) can "
                             f"hold them, not {dst}")
        if out_fmt in ("FITS", "MRC") and in_fmt != out_fmt and data.ndim == 4:
            raise UsageError(f"{src} is a colour image; {'an' if out_fmt == 'MRC' else 'a'} {out_fmt} output holds "
                             f"gray images and stacks: write {_stem(dst)}.tif or .png")
        if floats:
            # float data in [0, 1] (an image scaled to that range) would all become 0 and 1 in a file of whole
            # numbers, an electron micrograph's (-0.6..1.7) 2 grey levels: refused here, before the work (io warned
            # as it wrote, and the command ended well; io warns of a result that comes out so, too)
            finite = data[np.isfinite(data)] if blanks else data.reshape(-1)
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
            top = 65535 if _output_kind(src, dst) == "uint16" else 255
            levels = whole_levels(lo, hi, top)
            fractions = bool(np.any(finite != np.round(finite)))
            other = _stem(dst) + ".tif"
            other = other if (dst.parent / other).resolve() != src.resolve() else _stem(dst) + "_denoised.tif"
            other += f" (float{', or .mrc' if in_fmt == 'MRC' else ', or .fits' if in_fmt == 'FITS' else ''})"
            sample = finite[::max(1, finite.size // 65536)]
            margin = min(top / 2, 0.02 * (hi - lo))  # (beyond by more than the noise of data in range: temperatures
            # in °C, 61% below 0, were clipped to 0, exit 0: a thermal QA pass)
            if np.count_nonzero((sample < -margin) | (sample > top + margin)) > sample.size / 2:
                # (float counts in 16-bit units came out all white, exit 0: a QA pass; most values, so that a few
                # hot pixels, or Poisson counts of a few photons, are not refused: a re-check)
                raise UsageError(f"{src} holds values in [{lo:.3g}, {hi:.3g}], most beyond the 0..{top} a {out_fmt} "
                                 f"file stores here: they would be clipped: write {other}, or scale the image to "
                                 f"0..{top} first")
            if lo < hi and levels <= FEW_LEVELS and (fractions or np.unique(sample).size > 2):
                # (whole-number counts too; a mask of 0 and 1 is kept)
                what = "0 and 1" if -0.5 <= lo and hi <= 1.0 and fractions else f"{levels} grey levels at most"
                raise UsageError(f"{src} holds values in [{lo:.3g}, {hi:.3g}]; a {out_fmt} file stores whole numbers, "
                                 f"so they would become {what}: write {other}, or scale the image to 0..255 first")
        if narrowed:  # 16-bit counts spanning few 8-bit steps (a thermal camera's 14-bit counts, 7600..8800, came
            # out 7 grey levels in a JPEG, exit 0: a thermal QA pass)
            sample = data.reshape(-1)[::max(1, data.size // 65536)]
            sample = sample[np.isfinite(sample)]
            levels = np.unique(np.round(sample / 257)).size
            if levels <= FEW_LEVELS and np.unique(sample).size > FEW_LEVELS:
                other = _stem(dst) + ".png"  # (not the input's own name: a re-check)
                other = other if (dst.parent / other).resolve() != src.resolve() else _stem(dst) + "_denoised.png"
                raise UsageError(f"{src} holds 16-bit values in [{sample.min():.0f}, {sample.max():.0f}]; a {out_fmt} "
                                 f"file stores 8 bits (16-bit values / 257), so they would become {levels} grey "
                                 f"levels: write {other} (16 bits) or .tif, or stretch the image first")
    for folder in missing:
        _make_folder(folder)


# ----------------------------------------------------------------------------- commands


def _peak_scale_note(spec: Any, src: Path, image: Any) -> str | None:
    """The note for a Poisson peak, counted at 255 unless the spec gives ``data_range``, given to an image in other
    units (16-bit, [0, 1]): :func:`noise2x.api.peak_units_note`."""
    from .api import peak_units_note
    from .io import image_kind

    note = peak_units_note(spec, image, str(src), kind=image_kind(src))
    return None if note is None else f"note: {note}"


def _added_noise_note(spec: Any, src: Path, image: Any) -> str | None:
    """The note for noise to be added to a clean image in other units than the spec's: :func:`_peak_scale_note`,
    or a sigma of 1 or more on an image in [0, 1] (:func:`noise2x.noise.sigma_scale_note`; denoise reads a declared
    sigma against the noisy image's spread instead, :func:`noise2x.api.sigma_units_note`)."""
    note = _peak_scale_note(spec, src, image)
    from .noise import CORRELATED_MODELS

    if note is None and spec.name in ("gaussian", "poisson_gaussian", *CORRELATED_MODELS) and (
            spec.name != "poisson_gaussian" or "data_range" in spec.params):
        from .noise import sigma_scale_note

        sigma = spec.params.get("sigma", 0.0)
        note = sigma_scale_note(image, max(sigma) if isinstance(sigma, tuple) else float(sigma), spec.name)
        note = None if note is None else f"note: {note} ({src})"
    if spec.name in ("poisson", "poisson_gaussian"):  # (as well as a units note: HU data's air at -1000 came out
        from .noise import negative_rate_note  # 0 with the units note alone said, a medical-imaging QA pass)

        negative = negative_rate_note(image, spec.name)
        if negative is not None:
            negative = f"note: {negative} ({src})"
            note = negative if note is None else f"{note}\n{negative}"  # (two lines: each said alone)
    return note


def _first_image_note(spec_text: str | None, folder: str | None) -> None:
    """Say :func:`_added_noise_note` of a spec given to train (--add-noise) or bench (--noise) where the first image
    of ``folder`` is in other units: a Poisson peak counts photons at 255 there (16-bit, [0, 1]), a sigma is in the
    image's units, as simulate says (they said nothing, in QA passes)."""
    if not spec_text or not folder:
        return
    from .io import list_images, read_image
    from .noise import CORRELATED_MODELS, parse_noise

    try:
        spec = parse_noise(spec_text)
        if spec.name not in ("poisson", "poisson_gaussian", "gaussian", *CORRELATED_MODELS):
            return
        first = list_images(folder)[0]
        note = _added_noise_note(spec, first, read_image(first))
    except Noise2xError:
        return  # (the command's own checks say what is wrong)
    for line in (note or "").splitlines():
        _say(line)


#: the arguments of this run of :func:`main` (its records hold the command: :func:`noise2x.provenance.command_line`)
_ARGV: list[str] | None = None


class _Version(argparse.Action):
    """``--version``: noise2x's version, with the git commit of a checkout (read only when asked)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        from .provenance import code_version

        print(f"noise2x {code_version()}")
        parser.exit()


def _model_card(model: str) -> str:
    """A history line (FITS HISTORY card, MRC label, PNG comment) naming a model: its file and its weights'
    checksum."""
    from .api import model_file
    from .checkpoint import read_metadata

    path = Path(model_file(model))
    try:
        digest = read_metadata(path).get("sha256")
    except Noise2xError:  # (read and checked before any work: not here)
        digest = None
    from .provenance import path_text

    return f"model {path_text(path.name)}" + (f", weights sha256 {str(digest)[:16]}" if digest else "")


def _simulated(src: Path, spec: Any, seed: int, frames: int = 1) -> list[str]:
    """What a simulated output's record (FITS HISTORY cards, MRC labels, a PNG's Comment) says made it."""
    from .provenance import code_version, command_line, path_text

    return [f"noise2x {code_version()} simulate {_drawn(spec, seed, frames)} (seed {seed}) on {path_text(src.name)}",
            command_line(_ARGV)]


def _drawn(spec: Any, seed: int, frames: int = 1) -> str:
    """``spec`` as simulate applies it to an image of ``frames`` frames with ``seed``: a range's level as drawn for
    the image (its ground truth: a test set made with a range kept none, a noise QA pass), each frame's own for
    a stack."""
    if not spec.is_random_level:
        return str(spec)
    from .noise import generator

    if frames > 1:  # (each frame's own draw, as simulate applies it: the first few named, a QA re-check)
        drawn = "; ".join(str(spec.sample(generator([seed, k]))) for k in range(min(frames, 4)))
        return f"{spec} (each frame's level drawn on its own: {drawn}{'; ...' if frames > 4 else ''})"
    return f"{spec.sample(generator(seed))} (drawn from {spec})"


def _simulate_arguments(args: argparse.Namespace) -> None:
    """``args.noise``, ``args.input``, ``args.output`` from NOISE IN OUT, or from IN with --noise and --out (as
    denoise takes them: a QA pass wrote that and was refused)."""
    given = list(args.spec)
    noise = args.noise_flag if args.noise_flag is not None else (given.pop(0) if len(given) == 3 else None)
    output = args.out_flag if args.out_flag is not None else (given.pop() if len(given) == 2 else None)
    if noise is None or output is None or len(given) != 1:
        raise UsageError("simulate takes NOISE IN OUT (e.g. noise2x simulate gaussian:sigma=25 clean.png noisy.tif), "
                         "or IN --noise NOISE --out OUT")
    args.noise, args.input, args.output = noise, given[0], output


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    _simulate_arguments(args)
    from .io import (STACK_FORMATS, StackFrames, frames_writable, open_stack, read_stack_with_alpha, tiff_nodata,
                     writable_format, write_frames, write_image)
    from .noise import parse_noise

    spec = parse_noise(args.noise)
    peak_said = clip_said = False
    files, _ = _expand_inputs([args.input])
    folder_input = Path(args.input).is_dir()
    to_folder = _is_folder_target(args.output, len(files), folder_input, what="OUT")
    names = None
    if args.format:  # (a folder of PNGs gave rounded, clipped PNGs, not bench's noise, and no way to ask for
        # float TIFFs: a reproducibility QA pass)
        ext = _format_suffix(args.format, to_folder, args.output, "OUT")
        names = [Path(_stem(f) + ext) for f in files]
    targets = _targets(files, args.output, folder_input, names=names, what="OUT")
    _check_targets(files, targets, args.blanks)
    base = 0 if args.seed is None else args.seed
    for i, (src, dst) in enumerate(zip(files, targets)):
        seed = base + i
        dst = dst if dst.suffix else dst.with_suffix(".tif")
        given = args.blank_value is not None and args.blank_value != "none"
        nodata = args.blank_value if given else None if args.blank_value == "none" else tiff_nodata(src)  # (a
        # GeoTIFF's declared nodata value: kept as it is; NaN: as --blanks)
        blanks = args.blanks or (nodata is not None and bool(np.isnan(nodata)))
        nodata = None if nodata is not None and np.isnan(nodata) else nodata
        frames = open_stack(src, blanks=blanks)[0] if frames_writable(dst) and nodata is None else None
        found = None
        if nodata is None and args.blank_value is None:  # a fill read from the values, as denoise reads it (a depth
            # map's 0 dropouts got noise, 1 to 35 mm from the lens: a 3-D vision QA pass)
            from .estimate import fill_value

            found = fill_value(frames[0] if frames is not None else read_stack_with_alpha(src, blanks=blanks)[0][0])
            if found is not None:
                nodata = found[0]
                if isinstance(frames, StackFrames):
                    frames.close()
                frames = None
        if isinstance(frames, StackFrames) and frames_writable(dst, frames.shape):
            # a stack to TIFF, or a gray one to plain FITS: read and written a frame at a time
            with frames:
                if not (blanks and any(np.isnan(f).any() for f in frames)):
                    _ensure_folder(dst)
                    write_frames(dst, (spec.apply(f, rng=[seed, k]).astype(np.float32) for k, f in enumerate(frames)),
                                 frames.shape, kind="float32", like=src,
                                 history=_simulated(src, spec, seed, len(frames)))
                    _say(f"{src} -> {dst} ({_drawn(spec, seed, len(frames))}, seed {seed})")
                    continue
        del frames
        stack, alpha = read_stack_with_alpha(src, blanks=blanks)
        nan = np.isnan(stack)
        blank = bool(nan.any())
        empty = nan[0] if nodata is None else nan[0] | (stack[0] == nodata)  # (the clip note of a depth map's 0
        # dropouts, said of its data: a 3-D vision QA pass)
        note = None if peak_said else _added_noise_note(spec, src, np.where(empty, np.nanmedian(
            np.where(empty, np.nan, stack[0])), stack[0]) if empty.any() else stack[0])
        if note:
            for line in note.splitlines():
                _say(line)
            peak_said = True
        if blank:  # noise on the data; blank pixels stay blank (the data get the noise they get without them)
            _blank_kind(src, dst if dst.suffix else dst.with_suffix(".tif"), None)
            stack = np.where(nan, 0.0, stack)
        noisy = [spec.apply(frame, rng=seed if len(stack) == 1 else [seed, k]) for k, frame in enumerate(stack)]
        image = noisy[0] if len(noisy) == 1 else np.stack(noisy)
        if blank:
            image = np.where(nan.reshape(image.shape), np.nan, image)
        if nodata is not None:  # its nodata pixels hold no data: no noise on them (as --blanks leaves NaN)
            held = (stack == nodata).reshape(image.shape)
            from .api import value_text

            shown = value_text(nodata)
            said = (f"--blank-value {shown}" if given else f"its nodata value (GDAL_NODATA) {shown}" if found is None
                    else f"{shown}, far {'below' if nodata < found[2] else 'above'} every other value, read as a fill "
                    f"(no data: a depth camera's dropouts, dead pixels, a nodata fill; --blank-value none reads it "
                    f"as data)")
            if held.any():
                image = np.where(held, nodata, image)
                _say(f"{src}: {said}: the {np.count_nonzero(held)} values holding it are kept, without noise")
            else:
                _say(f"note: {src}: {said}: no pixel holds it")
        kind = None if writable_format(dst) in STACK_FORMATS else _output_kind(src, dst)  # (TIFF: float32)
        scale = _output_scale(src, kind)  # a 16-bit input to an 8-bit file: its units
        kept = _kept_alpha(src, dst, alpha)
        if kind in ("uint8", "uint16") and not clip_said:
            top = 255 if kind == "uint8" else 65535
            out = image * scale
            if (np.count_nonzero((out < 0) | (out > top)) > 0.01 * out.size  # (write_image warns of the share)
                    # (or few values far beyond: Poisson peak 0.01 wrote a black image, its mean 118 -> 1, unsaid)
                    or abs(float(np.clip(out, 0, top).mean()) - float(out.mean())) > 0.01 * top):
                # (a 1-look speckle to PNG: 14% at 255, the mean 25% low, said only as the share clipped in a QA pass)
                keep = ("--format tif (float32) keeps them" if to_folder
                        else f"write {_stem(dst)}.tif (float32) to keep them")
                _say(f"note: noisy values beyond {kind}'s 0..{top} are clipped in {dst.name}, which changes the "
                     f"noise (its mean, its spread): {keep}")
                clip_said = True
        _ensure_folder(dst)
        write_image(dst, image if scale == 1 else image * scale, kind=kind,
                    alpha=None if kept is None else kept * scale, like=src, blanks=blank,
                    history=_simulated(src, spec, seed, len(stack)))
        _say(f"{src} -> {dst} ({_drawn(spec, seed, len(stack))}, seed {seed})")
    if not _QUIET[0]:
        print(_shown(f"simulated {spec} on {len(files)} image(s)"))
    return 0


def cmd_denoise(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import load_model, parse_options
    from .io import image_kind, open_pages, open_stack, stack_frames, tiff_page_sizes
    from .noise import parse_noise

    if args.model is not None and not args.model.strip():  # (MODEL unset in a script: not the no-option route)
        raise UsageError("--model needs a model file or a shipped model's name (noise2x models lists them), got ''")
    if args.model and args.method:
        raise UsageError("give --model or --method, not both")
    noise = parse_noise(args.noise) if args.noise else None
    options = parse_options(args.set)
    files, names = _expand_inputs(args.inputs, recursive=args.recursive)
    folder_input = any(Path(i).is_dir() for i in args.inputs)
    if folder_input and args.out:  # an output folder inside an input folder: its files are outputs, not inputs
        out_dir = Path(args.out).resolve()  # (a rerun denoised the last run's outputs again, nesting them)
        kept = [(f, n) for f, n in zip(files, names) if out_dir not in f.resolve().parents]
        if len(kept) < len(files):
            _say(f"note: {len(files) - len(kept)} file(s) inside the output folder {args.out} left out of the inputs")
            if not kept:
                raise InputError(f"no inputs left: every image found lies inside the output folder {args.out}")
            files, names = [f for f, _ in kept], [n for _, n in kept]
    if args.format:  # a folder's outputs in one format (a folder of PNGs could not get --float's TIFFs: a
        # documentation audit)
        ext = _format_suffix(args.format, _is_folder_target(args.out, len(files), folder_input), args.out, "--out")
        names = [Path(n).with_name(_stem(Path(n)) + ext) for n in names]
    targets = _targets(files, args.out, folder_input, names)
    _check_targets(files, targets, args.blanks)
    if args.float:  # (before any work)
        from .io import STACK_FORMATS, writable_format

        for dst in targets:
            if writable_format(dst) not in STACK_FORMATS:
                raise UsageError(f"--float: {dst} is {writable_format(dst)}, which holds no float32: write .tif, "
                                 f".fits or .mrc" + (" (a folder's outputs keep their inputs' formats unless "
                                                     "--format tif)" if len(targets) > 1 or folder_input else ""))
    files, targets = _shard(files, targets, args.shard, args.skip_existing)
    if not args.method and args.precision != "fp32":  # a model (given or shipped) runs: can the device run it?
        # (a direct method's precision is checked by api.denoise)
        from .predict import check_precision, resolve_device

        check_precision(args.precision, resolve_device(args.device))
    _bf16_note(args.precision, args.device if _on_device(args.method) else "cpu")
    model = load_model(args.model) if args.model else None
    if model is not None:
        _say(f"model {args.model}: {model.describe()}")
        adapted = None if noise is None else model.method.with_noise(noise)
        if adapted is not None and adapted is model.method:
            # (a blind-spot model of a known noise model given a spec of another family was told that only such a
            # model uses --noise: the speckle QA pass)
            why = (f"its noise model, {model.method.resolved_noise_model()}, takes no {noise.name} level"
                   if model.method_name == "blindspot" else f"a {model.method_name} model takes no noise level when "
                   "denoising; only a blindspot model of a known noise model does")
            _say(f"note: this model does not use --noise {args.noise} ({why})")
        elif adapted is not None:  # the level it was trained with, replaced: said (a QA pass found it silent)
            import dataclasses

            old, new = dataclasses.asdict(model.method.options), dataclasses.asdict(adapted.options)
            moved = ", ".join(f"{k} {old[k]:g} -> {new[k]:g}" for k in new
                              if isinstance(new[k], float) and new[k] != old[k])
            if moved:
                _say(f"note: --noise {args.noise} sets this model's {moved}")
    start = time.perf_counter()
    failed = []
    ways: dict[str, list[Path]] = {}  # each way the images went (a stack's frames' ways, joined): those images
    for n, (src, dst) in enumerate(zip(files, targets), 1):
        try:
            # a stack of 8- or 16-bit frames is read in float32, which holds them exactly, and a TIFF stack or
            # FITS cube frame by frame (io.open_stack): a large stack is never held whole. A single image is read
            # in the float64 it is denoised in: no float32 copy beside it
            integer = image_kind(src) in ("uint8", "uint16")
            single = len(stack_frames(src)) == 1
            told = _declared_blanks(args, src)
            if _format_name(src) in ("TIFF", "JPEG"):  # (its pyramid's levels, a slide's label, a thermal camera's
                for line in left_out_lines(src, dst):  # radiometric data: dropped unsaid, QA passes)
                    _say(f"note: {src}: {line}")
            if tiff_page_sizes(src) is not None:  # pages of different sizes: each on its own, written back as pages
                # (refused, their sizes sorted, by info too: a document scans QA pass; other outputs: _check_targets)
                opened = [open_pages(src, blanks=told.blanks, dtype=np.float32 if integer else np.float64), None]
            else:
                opened = list(open_stack(src, blanks=told.blanks,
                                         dtype=np.float32 if integer and not single else np.float64))
            routes = _denoise_one(told, n, src, dst, opened, integer, model=model, noise=noise, options=options,
                                  start=start, files=files)
            ways.setdefault(" and ".join(routes), []).append(src)
        except InputError as exc:
            if len(files) == 1:
                raise
            # of several inputs, one that cannot be used (unreadable, NaN, ...) is named and left out, and the
            # others are denoised: a corrupt file does not stop a night's batch (its output is not written)
            _err(str(exc) if str(src) in str(exc) else f"{src}: {exc}")
            failed.append(src)
    took = f"in {time.perf_counter() - start:.1f} s -> {args.out}"
    if len(ways) > 1 and model is None:  # (the frames of one film scanned image by image, each read on its own,
        # went two ways, half smoothed and half left grainy: a sequence flickered, unsaid, a film-scan QA pass)
        # (the images by name: a shard's or a continued run's numbers are not the sequence's, a re-check)
        went = "; ".join(f"{way}: {_names(images)}" for way, images in ways.items())
        _say(f"note: the images went different ways ({went}), each image's noise read on its own (noise2x info "
             "IMAGE shows its reading): for the frames of one sequence, give one --method and --noise to treat "
             "them alike")
    if failed:
        print(_shown(f"denoised {len(files) - len(failed)} of {len(files)} image(s) {took}; {len(failed)} could not "
                     f"be used (named above), no output written for them"))
        return InputError.exit_code
    if not _QUIET[0]:
        print(_shown(f"denoised {len(files)} image(s) {took}"))
    return 0


def _declared_blanks(args: argparse.Namespace, src: Path) -> argparse.Namespace:
    """``args`` for denoising ``src``: where it declares a nodata value (a GeoTIFF's GDAL_NODATA) and no
    --blank-value was given, its pixels holding that value are blank, as with --blank-value (beside --blanks' NaN;
    a declared NaN: as --blanks), and said so; else ``args`` itself."""
    from .io import tiff_nodata, tiff_nodata_text

    value = None if args.blank_value is not None else tiff_nodata(src)  # (with --blanks too: NaN and the value)
    if value is None and args.blank_value is None:
        found = tiff_nodata_text(src)
        if found is not None:  # (tifffile warned of it once per page: a QA pass)
            _say(f"{src}: its nodata value (GDAL_NODATA) {found[0]!r} is not a value its {found[1]} samples hold: "
                 f"not used (--blank-value V marks pixels holding V as blank)")
    if value is None or (args.blanks and _isnan(value)):
        return args
    told = argparse.Namespace(**vars(args))
    if _isnan(value):
        told.blanks = True
        _say(f"{src}: its nodata value (GDAL_NODATA) is NaN: NaN pixels are blank, kept blank (as with --blanks)")
    else:
        told.blank_value = value
        from .api import value_text

        shown = value_text(value)
        _say(f"{src}: its nodata value (GDAL_NODATA) {shown}: pixels holding it are blank, left out of the noise "
             f"estimate and kept at {shown} (as with --blank-value {shown}; another --blank-value overrides it)")
    return told


def _fill_read(args: argparse.Namespace, src: Path, stack: Any, alpha: Any) -> argparse.Namespace:
    """``args`` for denoising ``src`` (``stack``, its frames): where no --blank-value was given nor a nodata value
    declared, and its first frame's values show a fill (:func:`noise2x.estimate.fill_value`: a depth map's 0
    dropouts, an undeclared -9999), the pixels holding it are blank in every frame, as with --blank-value, and
    said so; where it shows none, denoise reads each frame's own; --blank-value none reads none. A --blank-value
    (or declared nodata value) that no pixel of the first frame holds is said."""
    if args.blank_value == "none" or alpha is not None:
        return args
    first = stack[0]
    if args.blank_value is not None:  # (a value no pixel holds, a typo or a declared value unused, passed unsaid:
        # a 3-D vision QA pass)
        if not (first == args.blank_value).any():
            from .api import value_text

            _say(f"note: {src}: no pixel holds the blank value {value_text(args.blank_value)}"
                 + (" (read on its first frame)" if len(stack) > 1 else ""))
        return args
    from .api import fill_note
    from .estimate import fill_value

    found = fill_value(first)
    if found is None:
        return args
    _say(f"{src}: " + fill_note(found, first.shape[0] * first.shape[1], python=False).removeprefix("note: ")
         + (" (read on its first frame)" if len(stack) > 1 else ""))
    told = argparse.Namespace(**vars(args))
    told.blank_value = found[0]
    return told


def _isnan(value: float) -> bool:
    """Whether ``value`` is NaN (without numpy)."""
    return value != value


def _read_correlated(facts: dict) -> bool:
    """Whether the no-option reading (``facts``) took the noise for spatially correlated (its beta above
    :data:`noise2x.pretrained.CORRELATED_BETA`), its marginal sigma read."""
    from .pretrained import CORRELATED_BETA

    return facts.get("beta", 0.0) > CORRELATED_BETA and facts.get("correlated_sigma", 0.0) > 0


def _route_summary(info: dict, blank: int, sigmas: list[float] | None = None) -> str:
    """What denoised an image, as the progress line and a FITS output's HISTORY card say it: the method or
    model, with the sigma it was given and how (``sigmas``: each frame's, said as their range where they differ),
    a correlation, transform, colour handling and precision."""
    used = info.get("method") or "model"
    # (a sigma of small units, as a radio image's Jy/beam, in significant digits: not "sigma 0.00")
    sigmas = sigmas or info.get("channel_sigmas")  # (a colour image's channels, each alone: the last one's was said)
    least = min([abs(info["sigma"])] + [abs(s) for s in sigmas or []]) if "sigma" in info else 0.0
    fmt = ".2f" if "sigma" in info and 0.1 <= least < 1e6 else ".3g"  # (1e15 in fixed point: 19 digits)
    extra = f", sigma {info['sigma']:{fmt}} ({info.get('sigma_source', '')})" if "sigma" in info else ""
    if "sigma" in info and sigmas and min(sigmas) != max(sigmas):  # (a stack's: the last frame's alone was said
        extra = (f", sigma {min(sigmas):{fmt}} to {max(sigmas):{fmt}} ({info.get('sigma_source', '')}, "  # of all
                 f"per {'channel' if 'channel_sigmas' in info else 'frame'})")  # its bands, in a QA pass)
    if "psd" in info:  # (BM3D given a correlated noise's spectrum)
        along = re.search(r", along (rows|columns)\)$", str(info["psd"]))  # (line noise: the axis, as the psd says)
        extra += (f", correlated{' along ' + along.group(1) if along else ''}: beta {info['beta']:.2f}"
                  + (" (estimated)" if "beta_source" in info else ""))
    elif "estimated_beta" in info and "auto" not in info:  # (beta=auto, read as white; with no options the
        # reason said the reading: the summary called a correlated reading white, a medical-imaging QA pass)
        extra += f", read as white noise (beta {info['estimated_beta']:.2f})"
    if "transform" in info:
        extra += f", {info['transform']}"
    if "colour" in info:
        from .predict import COLOUR_LABELS

        extra += ", gray model on " + COLOUR_LABELS[info["colour"]]
    elif "channels_alone" in info:  # (a direct method on each channel: "gray model" was said, a re-check)
        extra += ", each channel alone"
    if "cfa" in info:  # (a colour-filter mosaic's planes, not an image's channels)
        extra = extra.replace("each channel alone", "each of its four 2x2 mosaic planes alone").replace(
            ", gray model on each channel", ", gray model on each of its four 2x2 mosaic planes")
    if info.get("precision", "fp32") != "fp32":
        extra += f", {info['precision']}"
    if blank:
        extra += f", {blank} blank pixels kept blank"
    return used + extra


def _denoise_one(args: argparse.Namespace, n: int, src: Path, dst: Path, opened: list, integer: bool, *,
                 model: Any, noise: Any, options: dict[str, Any], start: float, files: list) -> list[str]:
    """`noise2x denoise` of one input file to ``dst``: ``opened`` is [the image or stack, read or opened
    (closed here), its alpha or None], emptied here, so that the input is dropped before the output is written.
    Returns the ways its frames went (the method or model, a transform, "correlated" for BM3D given a spectrum)."""
    import numpy as np

    from .api import SIGMA_CHECKED, UNITS_CHECKED, denoise
    from .io import (FitsFrames, PageFrames, StackFrames, clipping_warning, fill_blanks, frames_writable, stored,
                     write_frames, write_image, write_pages)
    from .tiling import TILE_PROGRESS

    stack, alpha = opened
    opened.clear()
    pages = isinstance(stack, PageFrames)  # (pages of different sizes or colours: io.open_pages)
    first_read = args.blank_value is None and alpha is None  # (the first frame's fill read here: not again below)
    args = _fill_read(args, src, stack, alpha)
    unit = "page" if pages else "frame"

    try:
        if args.blanks or (isinstance(stack, StackFrames) and (not integer or isinstance(stack, FitsFrames))):
            # a pass over the frames before the work: blank pixels to mark (--blanks), and the frames of a float
            # TIFF or of a FITS cube (whose BLANK values read as NaN) read one at a time are checked for NaN
            # here, not after the frames before them were denoised
            blank = False
            for f in stack:
                blank = blank or bool(np.isnan(f).any())
            blank = args.blanks and blank
        else:
            blank = False
        kind = "float32" if args.float else _output_kind(src, dst)
        from .io import KINDS, page_kinds

        kinds = page_kinds(src) if pages and not args.float else []  # (each page in its own: a 16-bit page after
        # an 8-bit one came out 8-bit, every pixel 255, a re-check)
        held = sorted(set(page_kinds(src, every=True)), key=KINDS.index) if not pages and kind in ("uint8", "uint16") \
            else []
        if len(held) > 1:  # (one size: one stack, of the widest kind)
            _say(f"note: {src}'s pages hold samples of different kinds ({', '.join(held)}): all are written as "
                 f"{kind}, each page's values as they are (split the pages to keep each kind)")
        if blank:  # found before the work: can the output mark blank pixels?
            kind = _blank_kind(src, dst, kind)
        scale = _output_scale(src, kind)
        from .io import declared_mosaic

        cfa = args.cfa
        if cfa == "auto" and declared_mosaic(src):  # (read as a gray photo, its colours averaged together: a camera
            # sensor QA pass)
            _say(f"{src}: the file declares a colour-filter mosaic (TIFF photometric CFA): a camera's raw data (its "
                 f"output is written as a plain one-channel image, without the CFA tags)")
            cfa = "bayer"
        info: dict[str, Any] = {}
        t0 = time.perf_counter()
        warning = None
        if model is not None:
            for k in range(len(stack)):  # the first frame holding data
                first = stack[k].astype(np.float64)
                empty = _blank_pixels(first, args.blanks, args.blank_value)
                if not empty.all():
                    first = np.where(empty if first.ndim == 2 else empty[..., None], np.nan, first)
                    told = model.adapted(noise=noise) if noise is not None else model  # (the sigma it will use)
                    warning = told.units_warning(fill_blanks(first)[0] if empty.any() else first)
                    break
        if warning:
            _warn(f"{src}: {warning}")
        if noise is not None and not getattr(args, "peak_note_said", 0):  # a Poisson peak on 16-bit or [0, 1] data
            frame = np.asarray(stack[0], dtype=np.float64)  # (counted at 255: said as simulate, train, bench say it)
            note = _peak_scale_note(noise, src, np.where(np.isnan(frame), np.nanmedian(frame), frame))
            if note:
                _say(note)
                args.peak_note_said = 1
        if len(stack) > 1:
            _say(f"{src}: {len(stack)} pages of different sizes or colours, each denoised on its own and written back "
                 f"as a page"
                 if pages else f"{src}: a stack of {len(stack)} frames, each denoised on its own")
        said: set[str] = set()

        def say_once(line: str) -> None:  # a stack's frames repeat the same choice and notes: each line once
            if line.startswith("using "):  # (the way once: each frame's own level in it gave a 13-band file 13
                way = line.split(":", 1)[0]  # lines, a QA pass; the summary line gives their range)
                if way in said:
                    return
                said.add(way)
                if len(stack) > 1:  # (which frames took it: the summary line)
                    line = f"{way} (first at {unit} {tally['frame']}){line[len(way):]}"
            elif len(stack) > 1 and " works in 8-bit units: the image mapped by " in line:
                # (a bleaching time-lapse said it for each frame, each with its own factors and no frame number:
                # a large-data QA pass)
                way = line.split(":", 1)[0]
                if way in said:
                    return
                said.add(way)
                line += f" ({unit} {tally['frame']}; each {unit} by its own range)"
            elif len(stack) > 1 and "the noise reads as signal-dependent (shot noise" in line:
                # (each frame's own peak in it: said once, with the frame it was read on)
                if "shot noise note" in said:
                    return
                said.add("shot noise note")
                line += f" (read on {unit} {tally['frame']}; not repeated for the other {unit}s)"
            elif len(stack) > 1 and line.startswith("note: ") and " of the image lies in solid areas of " in line:
                # (a cube's dead band: which one, a hyperspectral QA pass; a volume's slices with zeros outside their
                # field of view said it 7 times over, a tomography QA pass: once, the others counted and said after)
                value = line.split(" of the image lies in solid areas of ", 1)[1].split(";", 1)[0]
                if f"solid areas of {value}" in said:
                    tally.setdefault("solid", {}).setdefault(value, []).append(tally["frame"])
                    return
                said.add(f"solid areas of {value}")
                line += f" ({unit} {tally['frame']})"
            elif line.startswith("note: ") and re.search(r" hold \S+, far (below|above) every other value", line):
                # (a frame's own fill, read by denoise: said in the CLI's terms, with its frame, a re-check)
                line = re.sub(r" \(blank_value=[^)]*\)", "", line) + (
                    f" ({unit} {tally['frame']})" if len(stack) > 1 else "")
            elif len(stack) > 1 and line.startswith("note: the noise's sigma ") and "a noise spec is in the image's " \
                    "own units" in line:  # (each band's own range in it: said for each of a cube's 224 bands, with
                # no band named: a hyperspectral user's QA pass)
                if "sigma units note" in said:
                    return
                said.add("sigma units note")
                line += f" (read on {unit} {tally['frame']}; not repeated for the other {unit}s)"
            if line not in said:
                said.add(line)
                _say(line)

        tally: dict[str, Any] = {"clipped": 0, "blank": 0, "routes": {}, "frame": 0}  # routes: each frame's, counted
        # a stack's progress: the frame and the time left, every PROGRESS_EVERY_S seconds (a 120-frame stack said
        # nothing between its first line and its last, a large-data QA pass)
        clock = {"start": time.perf_counter(), "said": time.perf_counter()}

        def image_progress(share: float) -> None:  # a single image's tiles (a model's): the share done, the time left
            now = time.perf_counter()
            if "tiles" not in clock:  # (the rate from the first tile report on: the noise reading and model loading
                clock["tiles"] = (now, share)  # before it made a 35-MP scan's first estimate 48 min for a 2-min run,
            began, began_share = clock["tiles"]  # a document scans QA pass)
            if began_share < share < 1 and now - clock["said"] >= PROGRESS_EVERY_S:
                clock["said"] = now
                _say(f"{src}: {100 * share:.0f}% done, about "
                     f"{_duration((now - began) / (share - began_share) * (1 - share))} left")

        def results() -> Iterator[np.ndarray]:
            """Each frame's result: a single image's as denoise returns it, a stack's as its output stores it
            (uint8, uint16 or float32: a fraction of the memory of float64 frames)."""
            for i, frame in enumerate(stack):
                now = time.perf_counter()
                if i and now - clock["said"] >= PROGRESS_EVERY_S:
                    clock["said"] = now
                    _say(f"{src}: {unit} {i + 1}/{len(stack)}, about "
                         f"{_duration((now - clock['start']) / i * (len(stack) - i))} left")
                tally["frame"] = i + 1
                frame = np.asarray(frame, dtype=np.float64)  # (a frame at a time; exact either way)
                empty = _blank_pixels(frame, args.blanks, args.blank_value)  # (H,W): pixels with no data
                tally["blank"] += int(np.count_nonzero(empty))
                if len(stack) > 1 and empty.all():  # a cube's empty plane stays empty
                    _say(f"{src}: {unit} {i + 1} holds no data (every pixel blank): kept blank")
                    yield stored(frame, kinds[i] if kinds else kind or "float32")[0]
                    continue
                # fully transparent pixels hold a fill (often black or white), not the scene: the noise is read
                # from the others (from all where none is opaque)
                opaque = None if alpha is None else alpha[i] > 0
                opaque = None if opaque is None or opaque.all() or not opaque.any() else opaque
                info.clear()  # (this frame's route alone: an earlier frame's transform was said of the stack's last)
                token = TILE_PROGRESS.set(image_progress) if len(stack) == 1 else None
                checked = UNITS_CHECKED.set(True)  # (said above, of the first frame; its warnings left out here)
                sigma_checked = SIGMA_CHECKED.set(i > 0)  # (a sigma far beyond the spread: an error of the first
                # frame alone, a later one dark or empty)
                try:
                    result = denoise(
                        frame, model=model, method=args.method, noise=noise, tile=args.tile, overlap=args.overlap,
                        tta=args.tta, options=options, rng=args.seed, info=info, progress=say_once,
                        device=args.device, colour=args.colour, precision=args.precision, mask=opaque,
                        blanks=args.blanks, cfa=cfa, blank_value="none" if first_read and i == 0 and args.blank_value
                        is None else args.blank_value,  # (None: each later frame's fill read by denoise, said by
                        # say_once; a stack's later frames' dropouts were read as depth: a re-check)
                    )
                except InputError as exc:  # (a 3-band file given to an RGB model: said of one (H,W) frame, with
                    # no word of the split, a plugin author's QA pass)
                    if len(stack) > 1 and "-channel (RGB) images, got a 1-channel" in str(exc):
                        raise InputError(f"{src}: the model takes 3-channel (RGB) images, and this file holds a "
                                         f"stack of {len(stack)} gray frames (pages, bands or planes), each "
                                         "denoised on its own: write the image as RGB (a TIFF of photometric rgb), "
                                         "or from Python: noise2x.denoise(np.moveaxis(noise2x.read_stack(path), 0, "
                                         "-1), model=...)") from None
                    raise
                finally:
                    UNITS_CHECKED.reset(checked)
                    SIGMA_CHECKED.reset(sigma_checked)
                    if token is not None:
                        TILE_PROGRESS.reset(token)
                if "fill_value" in info:  # (a frame's own fill, read by denoise: counted as blank too)
                    tally["blank"] += int(info.get("blank_pixels", 0))
                route = (info.get("method") or "model") + (  # (the way, without each frame's own levels; BM3D
                    # given a correlated noise's spectrum or a white sigma: two ways, a film scan's frames went both,
                    # unsaid, a film-scan QA pass)
                    f", {str(info['transform']).split(' (')[0]}" if "transform" in info else "") + (
                    ", correlated" if "psd" in info else "") + (
                    ", its 2x2 mosaic planes each alone" if "cfa" in info else "")  # (a frame read as a mosaic)
                tally["routes"].setdefault(route, []).append(i + 1)
                if "sigma" in info:  # (each channel's, where read alone: the last channel's was the record, a QA
                    # pass with a 3-band cube and --colour channels)
                    tally.setdefault("sigmas", []).extend(float(s) for s in info.get("channel_sigmas")
                                                          or [info["sigma"]])
                if scale != 1:  # (the result is a new array: scaled in place)
                    result *= scale
                if len(stack) == 1:
                    yield result
                else:
                    stores = kinds[i] if kinds else kind or "float32"
                    unrounded = float(np.sum(result, dtype=np.float64)) if stores in ("uint8", "uint16") else None
                    result, c = stored(result, stores)
                    tally["clipped"] += c
                    if unrounded is not None:  # (what rounding moved, frame by frame: said below)
                        tally.setdefault("sums", []).append(
                            (unrounded, float(np.sum(result, dtype=np.float64)), result.size))
                    yield result

        size = (sum(int(np.prod(s, dtype=np.int64)) for s in stack.shapes) if pages else
                int(np.prod(stack.shape, dtype=np.int64)))
        n_frames = len(stack)
        # a stack read frame by frame and written as TIFF or plain FITS is written frame by frame: the memory of
        # a frame
        stream = (not pages and isinstance(stack, StackFrames) and not blank and alpha is None
                  and frames_writable(dst, stack.shape))
        # a FITS output's HISTORY cards: what made it (a stack's frames are each routed on their own: the request)
        from .provenance import code_version, command_line, path_text, utc_stamp

        stamp = utc_stamp()

        # (the model by its file and weights' checksum, and the whole command: a reproducibility QA pass found two
        # outputs of other --set values, and a model's output, with records that could not tell them apart)
        history = [f"noise2x {code_version()} denoise of {path_text(src.name)}, {stamp}",
                   _model_card(args.model) if args.model else f"method {args.method}" if args.method
                   else "the method noise2x chose for each frame",
                   command_line(_ARGV)]
        if stream:
            _ensure_folder(dst)
            write_frames(dst, results(), stack.shape, kind=kind or "float32", like=src, history=history,
                         strip_exif=args.strip_exif)
        elif pages:  # each page's result, as the output stores it, written as it comes (a page's memory)
            _ensure_folder(dst)
            write_pages(dst, results(), kind=None if kinds else kind or "float32", like=src, history=history,
                        strip_exif=args.strip_exif, size=size * np.dtype(kind or "float32").itemsize)
        elif len(stack) == 1:
            out = next(results())
        else:  # the results in one array, as the output stores them
            out = np.empty(stack.shape, kind or "float32")
            for i, result in enumerate(results()):
                out[i] = result
    finally:
        if isinstance(stack, StackFrames):
            stack.close()
    if not (stream or pages):
        del stack  # (the input is not needed to write the output)
        # the alpha channel is kept as it is: opacity is not noise
        kept = _kept_alpha(src, dst, alpha)
        if n_frames == 1 or len(tally["routes"]) <= 1:  # (a model: its card, then how it ran; a model chosen here
            # by its weights' checksum too, and why: a record said "model gray-gaussian-low" alone, a quantitative
            # imaging QA pass)
            weights = (f", weights sha256 {info['weights_sha256'][:16]}" if "weights_sha256" in info
                       and not args.model else "")
            history[1:2] = [history[1]] * bool(args.model) + [_route_summary(
                info, tally["blank"], tally.get("sigmas")) + weights] + ([f"chosen: {info['auto']}"] if "auto" in info
                                                                          else [])
        else:  # (each frame's way: "the method noise2x chose for each frame" was the record, a QA pass)
            history[1] = _routes_summary(tally["routes"], tally["blank"], unit)
        _ensure_folder(dst)
        if kind in ("uint8", "uint16") and not blank:  # (what rounding moves: said below)
            tally["sums"] = [(float(np.sum(out, dtype=np.float64)),
                              float(np.sum(stored(out, kind)[0], dtype=np.float64)), out.size)]
        write_image(dst, out, kind=kind, alpha=None if kept is None else kept * scale, like=src, blanks=blank,
                    strip_exif=args.strip_exif, history=history)
    if n_frames > 1 and kind in ("uint8", "uint16"):
        clipping_warning(dst, tally["clipped"], size, kind)  # (write_image warns of a single image)
    note = _rounding_note(dst, kind, tally.get("sums", []))
    if note:
        _say(note)
    for value, frames in tally.get("solid", {}).items():  # (the solid-area note's other frames: said once above)
        _say(f"note: {src}: solid areas of {value} in {unit}{'s' if len(frames) > 1 else ''} {_numbers(frames)} too "
             f"(see the note above; --blank-value {value} where they hold no data)")
    used = info.get("method") or "model"
    if noise is not None and info.get("sigma_source") == "estimated" and not getattr(args, "noise_unused_said", 0):
        if "calibrated" in info:  # (nlm_calibrated, wavelet_calibrated)
            _say(f"note: {used} does not use --noise {args.noise}: it calibrates itself on each image")
        else:
            _say(f"note: {used} takes from --noise a Gaussian sigma or a Poisson peak of one level; "
                 f"'{args.noise}' gives neither: the noise level was estimated")
        args.noise_unused_said = 1  # (said once per run)
    left = ""
    if n < len(files):  # the images so far, at their mean time, for those still to come
        left = f"; about {_duration((time.perf_counter() - start) / n * (len(files) - n))} left"
    routes = tally["routes"]
    # (each frame is routed on its own: where they went different ways, each way and which frames took it (a
    # time-lapse QA pass: a way changing from frame to frame shows in the output); the last frame's alone was said
    # of the whole stack, in a QA pass)
    summary = (_route_summary(info, tally["blank"], tally.get("sigmas")) if len(routes) <= 1 else
               _routes_summary(routes, tally["blank"], unit))
    _say(f"[{n}/{len(files)}] {src} -> {dst} ({summary}, {time.perf_counter() - t0:.1f} s){left}")
    return list(routes)


def _rounding_note(dst: Path, kind: str | None, frames: list[tuple[float, float, int]]) -> str | None:
    """A note where writing the result as ``kind`` (whole numbers) moved the mean of a frame by over 1% and 0.02 of
    a level (``frames``: each frame's sum before and after, and its size): data of a few counts, whose smooth result
    a rounding moves the same way everywhere (a flat field at 2.4 photons came back 12% low, unsaid: a quantitative
    imaging QA pass; a stack's faint frames, each by its own: a re-check)."""
    import numpy as np

    moved = {}
    for i, (unrounded, rounded, count) in enumerate(frames, 1):
        if count and unrounded > 0 and np.isfinite(rounded):  # (blank pixels: NaN)
            mean, shift = unrounded / count, (rounded - unrounded) / count
            if abs(shift) > max(0.01 * mean, 0.02):
                moved[i] = (mean, shift / mean)
    if not moved:
        return None
    from .io import STACK_FORMATS, writable_format

    way = ("--float writes float32, unrounded" if writable_format(dst) in STACK_FORMATS else
           "--float with a .tif, .fits or .mrc output writes float32, unrounded")
    if len(frames) == 1:
        mean, share = moved[1]
        return (f"note: {dst}: written as {kind}, its values rounded to whole numbers, which moves its mean by "
                f"{share:+.1%} ({mean:.3g} -> {mean * (1 + share):.3g}); {way}")
    shares = sorted(share for _, share in moved.values())
    return (f"note: {dst}: written as {kind}, its values rounded to whole numbers, which moves the mean of "
            f"frame{'s' if len(moved) > 1 else ''} {_numbers(list(moved))} (of {len(frames)}) by {shares[0]:+.1%}"
            + (f" to {shares[-1]:+.1%}" if len(moved) > 1 else "") + f"; {way}")


def _routes_summary(routes: dict[str, list[int]], blank: int, unit: str = "frame") -> str:
    """The ways a stack's frames (``unit``: or pages) went, each with the frames that took it (``routes``: way ->
    frame numbers)."""
    return "; ".join(f"{route} ({len(frames)} {unit}{'s' if len(frames) > 1 else ''}: {_numbers(frames)})"
                     for route, frames in routes.items()) + (f"; {blank} blank pixels kept blank" if blank else "")


def _names(paths: list[Path], most: int = 3) -> str:
    """Files by name (``a.tif, b.tif``), the first ``most``, then how many more."""
    return ", ".join(p.name for p in paths[:most]) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def _numbers(values: list[int], most: int = 8) -> str:
    """Increasing whole numbers as runs: ``1, 5-9, 11``, the first ``most`` runs, then how many more numbers."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:most])
    rest = sum(b - a + 1 for a, b in runs[most:])
    return shown + (f" and {rest} more" if rest else "")


def cmd_bench(args: argparse.Namespace) -> int:
    from .api import parse_options
    from .benchmark import markdown_table, output_paths, partial_path, read_result, run_bench, write_outputs

    if args.out:  # a wrong --out is found before the run, not after it (its folder: hours of work were lost)
        folder = output_paths(args.out)[0].parent
        if _writable_folder(folder):
            _make_folder(folder)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise UsageError("--methods needs at least one method name")
    kwargs: dict[str, Any] = {"limit": args.limit, "progress": _say, "options": parse_options(args.set),
                              "colour": args.colour, "precision": args.precision, "device": args.device,
                              "give_noise": not args.estimate_noise, "data_range": args.data_range}
    _bf16_note(args.precision, args.device)  # a model runs on --device
    if args.budget_minutes is not None:
        kwargs["budget_minutes"] = args.budget_minutes
    if args.train_data is not None:
        kwargs["train_data"] = args.train_data
    if args.resume is not None:
        kwargs["resume"] = read_result(args.resume)
    _first_image_note(args.noise, args.dataset)
    from .provenance import command_line

    # (as the shell takes it again: a dataset path with a space was recorded unquoted, a QA re-check)
    command = command_line(_ARGV) if _ARGV and "bench" in _ARGV else None
    try:
        result = run_bench(methods, dataset=args.dataset, noise=args.noise, **kwargs)
    except KeyboardInterrupt as exc:  # (SIGTERM too): the images finished so far are kept
        partial = getattr(exc, "partial_result", None)
        if partial is None:
            _say("interrupted before every method had finished an image: no result to keep")
            raise
        partial["command"] = command
        done = f"{partial['n_images']} of {partial['n_images_planned']} images"
        written = None
        if args.out:
            try:
                written = write_outputs(partial, partial_path(args.out))
            except (Noise2xError, OSError) as failed:  # (a name too long for the file system: its error took the
                # interrupt's place, the results were lost and BM3D's threads aborted the process, a locale QA pass)
                reason = failed.strerror if isinstance(failed, OSError) and failed.strerror else str(failed)
                print(_shown(f"noise2x: interrupted after {done}; their results could not be kept in "
                             f"{partial_path(args.out)} ({reason}): the table follows"), file=sys.stderr, flush=True)
        if written is not None:
            trained = [r["method"] for r in partial["rows"] if "train_seconds" in r]
            last = "writes the result" if partial["n_images"] == partial["n_images_planned"] else \
                "goes on from the next image"
            how = (f"the same command with --resume {written[0]} {last}" if not trained else
                   f"--resume cannot go on: {', '.join(trained)} would train again, on another budget's luck; "
                   f"run the command again")
            # (said under --quiet too: it names a file written, and how to finish the run)
            print(_shown(f"noise2x: interrupted after {done}: their results are in {written[0]} ({how})"),
                  file=sys.stderr, flush=True)
        else:
            if not args.out:
                _say(f"interrupted after {done}: their results (with --out the run can be resumed):")
            print(_shown(markdown_table(partial), lines=True))
        raise
    result["command"] = command
    if args.out:
        written = write_outputs(result, args.out)
        _say("wrote " + ", ".join(str(p) for p in written))
        if args.resume is not None and Path(args.resume).resolve() == partial_path(args.out).resolve():
            for leftover in output_paths(partial_path(args.out)):  # (the interrupted run's, now in --out)
                leftover.unlink(missing_ok=True)
    print(_shown(markdown_table(result), lines=True))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .api import trainable_methods

    methods = trainable_methods()
    if not methods:
        raise UsageError("no trainable method yet")
    if args.method not in methods:
        raise UsageError(f"unknown trainable method '{args.method}'; valid: {', '.join(methods)}")
    from .train import train

    _bf16_note(args.precision, args.device)
    _first_image_note(args.add_noise, args.data)
    _nodata_note(args)
    path = train(
        args.method, data=args.data, data2=args.data2, out=args.out, add_noise=args.add_noise,
        steps=args.steps, minutes=args.minutes, seed=args.seed,
        overrides=([f"train.precision={args.precision}"] if args.precision else [])
        + (["data.blanks=true"] if args.blanks else []) + (["data.recursive=true"] if args.recursive else [])
        + ([f"data.blank_value={args.blank_value!r}"] if args.blank_value is not None else [])
        + (args.set or []),
        resume=args.resume, device=args.device, val_data=args.val_data, init=args.init, progress=not args.quiet,
    )
    if not _QUIET[0]:
        from .checkpoint import read_metadata

        meta = read_metadata(path)
        made = f"{meta.get('steps')} steps in {_duration(float(meta.get('seconds') or 0.0))}"
        value = meta.get("val_value")
        if isinstance(value, (int, float)):
            made += (f", validation PSNR {value:.2f} dB" if meta.get("val_metric") == "psnr"
                     else f", validation loss {value:.4g}")
        print(_shown(f"trained {args.method} -> {path} ({made})"))
    return 0


def _nodata_note(args: argparse.Namespace) -> None:
    """Say where training images declare a nodata value (a GeoTIFF's GDAL_NODATA), which marks their blank pixels
    unless a --blank-value is given: each value once, with the files declaring it (the first 200 looked at)."""
    if args.blank_value is not None or any(s.startswith("data.blank_value=") for s in args.set or []):
        return
    from .io import list_images, tiff_nodata

    try:
        files = [Path(args.data)] if Path(args.data).is_file() else list_images(args.data,
                                                                                 recursive=args.recursive)[:200]
    except Noise2xError:  # (train says what is wrong with its data)
        return
    found: dict[str, list[Path]] = {}
    for f in files:
        value = tiff_nodata(f)
        if value is not None:
            found.setdefault(f"{value:g}", []).append(f)
    for value, where in found.items():
        named = f"{where[0]}" + (f" and {len(where) - 1} other file(s)" if len(where) > 1 else "")
        _say(f"note: {named} declare{'s' if len(where) == 1 else ''} the nodata value {value} (GDAL_NODATA): pixels "
             f"holding it are blank, left out of the patches and the normalisation (a --blank-value given comes "
             f"first)")


def cmd_info(args: argparse.Namespace) -> int:
    from .api import model_file
    from .io import _SUPPORTED, IMAGE_SUFFIXES, SLIDE_SUFFIXES, _suffix

    if not args.model.strip():  # (Path('') is the working folder)
        raise UsageError("noise2x info takes one image or model file (.safetensors), or a shipped model's name; got ''")
    noise = getattr(args, "noise", None)
    if _suffix(args.model) in IMAGE_SUFFIXES + SLIDE_SUFFIXES:  # an image (a missing one: "no such file")
        if noise is not None:
            from .noise import parse_noise

            noise = parse_noise(noise)  # (a wrong spec: its one error line before the image is read)
        print(_shown("\n".join(image_facts(Path(args.model), noise=noise, blank_value=args.blank_value,
                                            cfa=args.cfa)), lines=True))
        return 0
    if args.cfa != "auto":
        raise UsageError("--cfa goes with an image: noise2x info IMAGE --cfa MODE reads it as denoise --cfa MODE does")
    if noise is not None:
        raise UsageError("--noise goes with an image: noise2x info IMAGE --noise SPEC says what denoise does with it")
    if args.blank_value is not None:
        raise UsageError("--blank-value goes with an image: noise2x info IMAGE --blank-value V")
    if Path(args.model).is_dir():
        raise UsageError(f"{args.model} is a folder; noise2x info takes one image or model file (.safetensors)")
    from .checkpoint import describe, read_metadata  # (torch: not imported for an image)

    path = model_file(args.model)
    try:
        meta = read_metadata(path, lenient=True)
    except InputError:
        if Path(path).suffix.lower() == ".safetensors":
            raise
        from .io import unread_hint

        hint = unread_hint(args.model)
        if hint:  # (after the list of formats it was missed, a re-check)
            raise InputError(f"{args.model}: {hint}") from None
        raise InputError(f"{args.model} is neither an image file noise2x reads ({_SUPPORTED}) nor a model file "
                         "(.safetensors)") from None
    print(_shown("\n".join(describe(meta)), lines=True))
    if meta.get("unreadable"):  # (what it holds is shown above; denoise refuses it with this line)
        said = "not readable by this noise2x" if "may need a newer noise2x" in meta["unreadable"] else "DAMAGED"
        print(_shown(f"metadata:      {said}: {meta['unreadable']}"))
        return InputError.exit_code
    from .checkpoint import load_model

    try:  # its weights as denoise would load them: the checksum, their shapes and kinds, NaN (a model to vet)
        model, loaded = load_model(path)
    except InputError as exc:
        said = "not readable by this noise2x" if "may need a newer noise2x" in str(exc) else "DAMAGED"
        print(_shown(f"weights:       {said}: {exc}"))
        return InputError.exit_code
    print(f"weights:       checked (checksum, shapes, kinds, finite values); sha256 {meta['sha256']}"
          if meta.get("sha256") else
          "weights:       checked (shapes, kinds, finite values; the file holds no checksum)")
    from .predict import Denoiser

    learned = _learned_noise(Denoiser.of_loaded(model, loaded, path))  # (a method it does not know: its line)
    if learned:
        print(_shown(f"learned noise: {learned}"))
    return 0


def _learned_noise(den: Any) -> str | None:
    """The noise level a blindspot model (a :class:`noise2x.predict.Denoiser`) learned as one value for every
    image (its noise model's ``*_learned``), as its posterior mean uses it: the first thing to check where that
    disappoints (Laine et al. report it); None for other models."""
    net = getattr(den.model, "net", None)
    if den.method.name != "blindspot" or getattr(net, "noise_params", "none") != "global":
        return None
    import torch

    kind = den.method.resolved_noise_model()
    x = torch.zeros(1, den.channels, 32, 32)
    value = float(den.method.learned_noise(den.model.eval(), x)[0])
    what = {"gaussian_learned": "sigma", "poisson_learned": "peak", "impulse_learned": "impulse probability",
            "speckle_learned": "looks"}
    return f"{what.get(kind, kind)} {value:.4g}" + (" (in the training images' units)" if "sigma" in
                                                   what.get(kind, "") else "")


#: The estimates ``noise2x info IMAGE`` shows (of :attr:`noise2x.pretrained.Choice.facts`)
#: ``noise2x denoise --cfa``: :data:`noise2x.api.CFA_MODES` and the Bayer patterns' names
CFA_CHOICES = ("auto", "bayer", "rggb", "bggr", "grbg", "gbrg", "none")

_INFO_FACTS = ("estimated_on", "estimated_from", "sigma", "sigma_channels", "beta", "beta_along_rows",
               "beta_along_columns", "correlated_along", "correlated_sigma",
               "correlation_growth", "peak", "poisson_a", "poisson_b", "std_at_mean", "zero_level", "impulse_share")


def _microns(dpi: tuple) -> str:
    """A microscope's resolution, as dpi, also in micrometres a pixel (100,794 dpi: 0.252 µm a pixel); ""
    for a photo's or a scan's (a pathologist reads a slide's pixel size so: a whole-slide QA pass)."""
    if min(dpi) < 5000:  # (coarser than 5 µm a pixel: a photo's, a document's)
        return ""
    sizes = [f"{25400 / d:.4g}" for d in dpi]
    return f" ({sizes[0] if sizes[0] == sizes[-1] else ' x '.join(sizes)} µm a pixel)"


def _description_text(text: str | None) -> str:
    """What info says of a TIFF's own description kept in TIFF outputs: its first line, cut, and an Aperio
    slide's microns per pixel (MPP) and magnification where it gives them."""
    from .io import slide_mpp

    if not text:
        return ""
    found = dict(re.findall(r"\b(AppMag)\s*=\s*([0-9.]+)", text))
    mpp = slide_mpp(text)
    if mpp is not None:
        found["MPP"] = f"{mpp:g}"
    elif re.search(r"\|\s*MPP\s*=", text):  # (0, or no number: said, not shown as if used, a re-check)
        found["MPP"] = "unreadable, no pixel size taken from it"
    said = ", ".join(f"{k} {v}" for k, v in found.items())
    first = text.strip().splitlines()[0].strip()
    first = first if len(first) <= 40 else first[:37] + "..."
    return f"description {first!r}" + (f" ({said}; TIFF outputs)" if said else " (TIFF outputs)")


def _xml_description(path: Path) -> bool:
    """Whether a TIFF's first page's description is XML other than OME's (a Leica SCN's, a Philips TIFF's, a
    QPTIFF's), which outputs do not keep."""
    from .io import _open_tiff, _quiet_tifffile

    try:
        with _quiet_tifffile(), _open_tiff(path) as tif:
            text = tif.pages[0].tags.valueof(270)
            return isinstance(text, str) and text.lstrip("\ufeff \t\r\n").startswith("<") and not tif.is_ome
    except Exception:
        return False


def _own_dpi(path: Path) -> bool:
    """Whether a TIFF's pages hold resolutions or profiles of their own (a fax's fine and standard pages)."""
    from .io import _pages_of

    if _format_name(path) != "TIFF":
        return False
    looks = {found[3] for found in _pages_of(path, looks=True)}
    return len(looks) > 1


def _tiff_recoded(path: Path) -> str | None:
    """How a TIFF's first page is compressed where its outputs are not compressed so (TIFF outputs: Deflate): its
    codec's name and whether that is lossless (a fax's CCITT G3, G4 or RLE) or lossy (JPEG, JPEG 2000, ...);
    None for one kept (LZW, Deflate, ZSTD, ...) or none."""
    from .io import _LOSSLESS_TIFF, FAX_TIFF, _format_of, _open_tiff

    try:
        if _format_of(path) != "TIFF":
            return None
        with _open_tiff(path) as tif:
            name = tif.pages[0].compression.name
    except Exception:
        return None
    if name in FAX_TIFF:
        return {"CCITTFAX4": "CCITT G4", "CCITTFAX3": "CCITT G3", "CCITTRLE": "CCITT RLE"}[name] + ", lossless too"
    if name in _LOSSLESS_TIFF or name == "NONE":
        return None
    shown = {"JPEG_2000_LOSSY": "JPEG 2000", "JPEG2000": "JPEG 2000", "APERIO_JP2000_YCBC": "JPEG 2000",
             "APERIO_JP2000_RGB": "JPEG 2000", "JPEGXL": "JPEG XL", "JPEGXR": "JPEG XR", "WEBP": "WebP"}
    return f"{shown.get(name, name)}, lossless: the denoised pixels are not compressed lossily again"


def _tiff_axes(path: Path) -> tuple[str | None, int, bool, int, list[str]]:
    """A TIFF's axes as tifffile names them (e.g. TZCYX; None for another format or several series), how many
    reduced-resolution copies (thumbnails) it holds beside its images, which are left out, whether its
    samples are bands (io._tiff_bands), how many reduced-resolution levels of its images (a pyramid, as
    SubIFDs or pages) it holds (see :func:`left_out_lines`), and the names of a slide scanner's associated images
    (thumbnail, label, macro: io.associated_images), left out too."""
    from .io import _main_series, _quiet_tifffile, _tiff_bands, associated_images

    if _format_name(path) != "TIFF":
        return None, 0, False, 0, []
    import tifffile

    with _quiet_tifffile(), tifffile.TiffFile(path) as tif:
        main = _main_series(tif)
        one = len(main) == 1
        levels = max(len(getattr(s, "levels", [s])) for s in main) - 1 if main else 0
        named = [s.name.lower() for s in associated_images(tif) if s not in main]
        return ((main[0].axes if one else None), len(tif.series) - len(main) - len(named),
                one and _tiff_bands(main[0]), levels, named)


def _format_name(path: Path) -> str | None:
    """'TIFF' for a file read as a TIFF (a slide scanner's .svs too), else its format's name or None."""
    from .io import _FORMATS, _suffix

    return _FORMATS.get(_suffix(path))


def left_out_lines(path: Path, dst: Path | None = None) -> list[str]:
    """What a TIFF holds beside its full-resolution images that outputs do not: reduced-resolution copies, its
    pyramid's levels, a slide scanner's thumbnail, label and macro images, a scanner's XML description; one line
    each (``info`` says them, and ``denoise`` what its output ``dst`` leaves out, as notes: it said nothing, a
    whole-slide QA pass). A single image's pyramid (and an SVS's thumbnail) is made again in TIFF outputs
    (io.tiff_pyramid; in a plain .tif where its levels would be read back as a pyramid, else in .ome.tif only)."""
    from .io import _levels_read_back, jpeg_segment_names, stack_frames, tiff_page_sizes, tiff_pyramid

    if _format_name(path) == "JPEG":  # (a FLIR camera's temperatures: dropped unsaid, the output still said FLIR in
        # its EXIF, a thermal QA pass)
        return ["left out: its FLIR radiometric data (APP1 'FLIR' segments: the raw thermal frame and its "
                "calibration), which noise2x neither reads nor keeps; to denoise the temperatures, extract the raw "
                "frame (exiftool -b -RawThermalImage) and denoise that"] if any(
            n == "APP1 FLIR" for n in jpeg_segment_names(path)) else []
    if _format_name(path) != "TIFF":
        return []
    _, thumbnails, _, levels, named = _tiff_axes(path)
    lines: list[str] = []
    if _xml_description(path):  # (a scanner's, its pixel size there alone at times: dropped unsaid, a re-check)
        lines.append("left out: its XML description (a scanner's own metadata; its pixel size is kept where the "
                     "resolution tags give it)")
    if not (thumbnails or levels or named):
        return lines
    ome = dst is not None and dst.name.lower().endswith((".ome.tif", ".ome.tiff"))
    single = levels and len(stack_frames(path)) == 1 and tiff_page_sizes(path) is None
    in_ome = tiff_pyramid(path) if single else None  # (what an .ome.tif output gets; a .tif's below)
    in_tif = in_ome if in_ome is not None and _levels_read_back(in_ome["full"], in_ome["levels"]) else None
    pyramid = in_ome if ome else in_tif if dst is not None else in_tif or in_ome
    made = pyramid is not None and (dst is None or _format_name(dst) == "TIFF")
    thumbnail = made and bool(pyramid["thumbnail"]) and not ome  # (an OME-TIFF holds none)
    if thumbnails:
        what = "copy of the image (a thumbnail)" if thumbnails == 1 else "copies of the image (thumbnails)"
        lines.append(f"left out: {thumbnails} reduced-resolution {what} stored beside it")
    if thumbnail:
        named = [name for name in named if name != "thumbnail"]
    if named:
        names = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        lines.append(f"left out: the slide's {names} image{'s' if len(named) > 1 else ''} (not the scan" + (
            "" if made else ": outputs hold the full-resolution image alone") + ")")
    them = "them" if levels > 1 else "it"
    if levels and not made:  # (a whole-slide or large OME-TIFF's pyramid: outputs hold the full resolution)
        lines.append(f"left out: its pyramid's {levels} reduced-resolution level{'s' if levels > 1 else ''} " + (
            f"(a TIFF output gets {them} again)" if in_tif is not None else
            f"(an .ome.tif output gets {them} again: a plain TIFF's would not be read as a pyramid, its levels' "
            f"factors not 2, 3 or 4)" if in_ome is not None else
            "(outputs hold the full resolution only; a stack's levels are not made again)" if len(
                stack_frames(path)) > 1 else "(outputs hold the full resolution only)"))
    elif levels and dst is None:  # (info: what a TIFF output gets)
        where = "TIFF outputs" if in_tif is not None else (".ome.tif outputs (a plain .tif's would not be read as a "
                                                           "pyramid, its levels' factors not 2, 3 or 4)")
        lines.append(f"pyramid: {levels} reduced-resolution level{'s' if levels > 1 else ''}"
                     + (" and an SVS thumbnail (.ome.tif: levels alone)" if pyramid["thumbnail"] else "")
                     + f", made again from the denoised image in {where} (each level's size, tiles and "
                     "compression; other outputs hold the full resolution only)")
    return lines


def image_facts(path: Path, noise: Any = None, blank_value: float | None = None, cfa: str = "auto") -> list[str]:
    """What ``noise2x info IMAGE`` says: the file's layout and units, blank and transparent pixels, and what a
    no-option ``denoise`` reads of its noise and does (on its first frame holding data); with ``noise`` (a
    :class:`noise2x.noise.NoiseSpec`), also what ``denoise --noise`` with it does; with ``blank_value``, pixels
    holding it are blank, as ``denoise --blank-value`` reads them; ``cfa``, as ``denoise --cfa``."""
    from .io import StackFrames, open_pages, open_stack, page_sizes_text, tiff_page_sizes

    sizes = tiff_page_sizes(path)
    if sizes is not None:  # pages of different sizes (a document's): what page 1 holds, and each page's size
        with open_pages(path, blanks=True) as opened:  # (it was refused: a document scans QA pass; page 1 alone)
            first = opened[0][None]
        lines = _image_facts(path, first, None, noise, blank_value, cfa)
        lines.insert(1, f"pages: {len(sizes)} of different sizes or colours ({page_sizes_text(sizes)}): denoise takes "
                        f"each on its own and writes it back as a page of a TIFF output; the lines below are of page 1")
        return lines
    stack, alpha = open_stack(path, blanks=True)  # (a stack's frames read one at a time)
    try:
        return _image_facts(path, stack, alpha, noise, blank_value, cfa)
    finally:
        if isinstance(stack, StackFrames):
            stack.close()


def _image_facts(path: Path, stack: Any, alpha: Any, noise: Any = None, blank_value: float | None = None,
                 cfa: str = "auto") -> list[str]:
    import numpy as np

    from .api import (channel_levels_note, constant_text, data_crop, evened, fill_note, level_profile, level_reason,
                      no_option_route, pattern_note, power_law_read, power_reason, spikes_note, stripes_note,
                      value_text, zero_area_note)
    from .io import (KINDS, _tiff_compression, fill_blanks, image_kind, map_text, mrc_voxel_size, page_kinds,
                     photo_metadata, stack_frames, stored_kind)

    frames = stack_frames(path)
    h, w = stack.shape[1:3]
    colour = "RGB" if stack.ndim == 4 else "gray"
    packed = _tiff_compression(path).get("compression")  # (lossless: its outputs are compressed the same way)
    packed = f", {packed.upper().replace('ADOBE_', '')}-compressed (kept in TIFF outputs)" if packed else ""
    recoded = _tiff_recoded(path)
    if recoded:  # (a 1-bit scan's fax codec, which tifffile does not write; a slide's JPEG: not again, lossily)
        codec, why = recoded.split(", ", 1)
        packed = f", {codec}-compressed (TIFF outputs: Deflate, {why})"
    tile = _tiff_compression(path).get("tile")
    if tile:  # (a slide's, a GeoTIFF's tiles: kept, said)
        packed += f", in {tile[1]}x{tile[0]} tiles (kept in TIFF outputs)"
    kind, stored = image_kind(path), stored_kind(path)
    samples = f"{stored} samples" + ("" if stored == kind else f" (its outputs: {kind})")
    lines = [f"{path}: {_format_name(path)}, {samples}, {w}x{h} {colour}{packed}"]
    held = sorted(set(page_kinds(path, every=True)), key=KINDS.index)
    if len(held) > 1:  # (said by denoise alone, a re-check)
        from .io import tiff_page_sizes

        lines.append(f"pages of different kinds ({', '.join(held)}): " + (
            "each written back in its own" if tiff_page_sizes(path) is not None else
            f"all written as {kind} in a TIFF output, each page's values as they are"))
    from .io import stored_colours

    stored_as = stored_colours(path)
    if stored_as:  # (converted when read: its outputs hold what it shows)
        lines.append({"MinIsWhite": "stored with white at 0 (MinIsWhite): read inverted, as shown; outputs store "
                                    "black at 0",
                      "palette": f"stored as a palette's indices: read as its colours ({colour}); outputs hold the "
                                 f"colours",
                      "CMYK": "stored as CMYK inks: read as RGB (1 - C)(1 - K), as Pillow converts a CMYK JPEG; "
                              "outputs are RGB",
                      "1-bit": "stored with 1 bit a pixel: read as 0 and 255; outputs are 8-bit gray" + (
                          " (a TIFF output 1-bit again where it holds black and white alone)"
                          if _format_name(path) == "TIFF" else "")}.get(
            stored_as, f"stored with {stored_as.split('-')[0]} bits a pixel: read scaled to 0..255; outputs are "
                       f"8-bit gray"))
    from .io import tiff_series

    several = _format_name(path) == "TIFF" and bool(tiff_series(path))  # (a TIFF of several series)
    meta = photo_metadata(path, 3 if stack.ndim == 4 else 1) if len(stack) == 1 or not several else {}
    if meta:  # a photo's colour profile, EXIF, XMP and resolution: written into its outputs
        kept = [f"colour profile {_profile_name(meta['icc'])}" if "icc" in meta else "",
                ("EXIF" if _format_name(path) != "TIFF" else "camera, date and author tags") if "exif" in meta
                else "", "XMP" if "xmp" in meta else "",
                " x ".join(f"{round(d, 1):g}" for d in meta["dpi"]) + " dpi" + _microns(meta["dpi"]) + (
                    " (page 1's; each page keeps its own)" if _own_dpi(path) else "") if "dpi" in meta else "",
                _description_text(meta.get("description")),
                " and ".join(kind.decode() for kind, _ in meta["png_colour"]) + " (colour space: PNG outputs)"
                if meta.get("png_colour") else ""]
        lines.append("kept in outputs: " + ", ".join(k for k in kept if k))
    voxel = mrc_voxel_size(path)
    if voxel is not None:  # (an electron micrograph's, a tomogram's calibration: written into MRC outputs)
        lines.append("voxel size: " + " x ".join(f"{v:.4g}" for v in voxel) + " Å (x, y, z; kept in MRC outputs)")
    if _format_name(path) == "FITS":  # (an observatory's file: its error and quality planes beside the image)
        from .io import _fits_context

        others = _fits_context(path)[1]
        if others:
            lines.append(f"other HDUs holding data: {', '.join(others)} (not in denoise's output, which holds the "
                         "image)")
    axes, _, bands, _, _ = _tiff_axes(path)
    if len(stack) > 1:
        planes = {c for c in frames if c is not None}
        extra = f" ({len(planes)} channels stored as planes)" if planes else ""
        if bands:
            extra = f" ({len(planes)} bands: the samples of a gray image, as a multispectral TIFF stores them)"
        extra += f", axes {axes}" if axes else ""
        lines.append(f"frames: {len(stack)}{extra}, each denoised on its own")
        from .io import tiff_series

        series = tiff_series(path)
        if series:
            lines.append(f"series: {len(series)} (" + ", ".join(f"{name}: {n} frames" for name, n in series[:6])
                         + (", ..." if len(series) > 6 else "") + "): a TIFF output holds them as its series; "
                         "other outputs as one stack, without each series' name, axes and calibration")
    lines.extend(left_out_lines(path))
    from .io import held_blank, tiff_nodata

    given = blank_value is not None and blank_value != "none"
    nodata = blank_value if given else None if blank_value == "none" else tiff_nodata(path)  # (a GeoTIFF's
    # declared nodata: denoise keeps it blank)
    read = None  # a fill read from the values, as denoise reads it (a depth map's 0 dropouts: a 3-D vision QA pass)
    if nodata is None and blank_value is None and alpha is None and len(stack):
        from .estimate import fill_value

        read = fill_value(stack[0])
        if read is not None:
            nodata = read[0]
            lines.append(fill_note(read, h * w, python=False).replace(", as --blank-value", ", by denoise as "
                                                                      "--blank-value"))
    declared = nodata is not None and not _isnan(nodata)
    blanks, k = 0, None  # blank pixels, and the first frame holding data
    for i, frame in enumerate(stack):
        if declared:  # its nodata pixels as blank (NaN), as denoise reads them
            frame = held_blank(frame, nodata)[0]
        blank = np.isnan(frame)
        blank = blank.any(axis=-1) if frame.ndim == 3 else blank
        held, size = int(np.count_nonzero(blank)), blank.size
        del blank  # (not kept beside the frame through the noise reading: a large-data QA pass)
        blanks += held
        if k is None and held < size:
            k, first = i, frame
    marked = "NaN"  # what marks them in the file: NaN, or an integer FITS image's BLANK value
    if blanks and _format_name(path) == "FITS":
        from .io import _fits_header

        header = _fits_header(path)
        if int(header.get("BITPIX", 0)) > 0 and header.get("BLANK") is not None:
            marked = f"its BLANK value {header['BLANK']}"
    if nodata is not None:
        marked = f"the value {nodata:g}, --blank-value" if given else f"its nodata value {nodata:g}, GDAL_NODATA" \
            if read is None else f"the value {value_text(nodata)}, read as a fill"
    if blanks:
        pixels = int(np.prod(stack.shape[:3], dtype=np.int64))
        how = "denoise with --blanks" if nodata is None else (
            f"denoise --blank-value {nodata:g} keeps them blank" if given else "denoise keeps them blank, as the "
            "file declares" if read is None else "denoise keeps them blank; --blank-value none reads them as data")
        lines.append(f"blank ({marked}) pixels: {blanks} of {pixels} ({how})")
    if k is None:
        lines.append("no pixel holds data")
        return lines
    image, data = fill_blanks(first)
    of = f" (frame {k + 1})" if len(stack) > 1 else ""  # (a stack's first frame holding data, as the noise line)
    held = image if data.all() else image[data]  # (a copy only where some are blank: info on a 64-MP image peaked
    # above denoise's memory with three, a large-data QA pass)
    lines.append(f"values{of}: {held.min():.6g} to {held.max():.6g}, mean {held.mean():.6g}")
    del held
    mask = data if not data.all() else None
    if alpha is not None:
        opaque = alpha[k] > 0
        if opaque.any() and not opaque.all():
            lines.append(f"transparent pixels: {np.count_nonzero(~opaque)} (left out of the noise estimate)")
            mask = opaque if mask is None else mask & opaque
        # (said where every pixel is opaque too: a 4-band cube written with tifffile's defaults has its 4th band
        # marked as alpha, which denoise kept as it was, unsaid: a hyperspectral user's QA pass)
        lines.append("alpha channel (the file marks its last channel so): kept as it is, not denoised; a band of "
                     "data stored so is not denoised either (write it with extrasamples unspecified)")
    if not data.all():  # as denoise --blanks reads it: without the blank padding
        y0, y1, x0, x1 = data_crop(data)
        y0, x0 = y0 - y0 % 2, x0 - x0 % 2  # (a mosaic's planes as denoise splits them: the whole image's; from an
        # odd column, its "first plane" was another colour's, a re-check)
        image, mask = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
        if alpha is None:  # (blank pixels scattered all over: read with their fill, as denoise reads them; a depth
            # map's dropouts were read from the windows between them here: a 3-D vision QA pass)
            from .estimate import scattered_read

            bounds = scattered_read(mask)
            mask = mask if bounds is None else bounds
    from .api import check_cfa, mosaic_planes, mosaic_read
    from .estimate import MOSAIC_SCORE
    from .io import declared_mosaic

    cfa = check_cfa(cfa)
    mosaic = image.ndim == 2 and min(image.shape) >= 2 and cfa != "none"
    declared = mosaic and cfa == "auto" and declared_mosaic(path)
    score = mosaic_read(image, mask) if mosaic and cfa == "auto" and not declared else None
    plane = ""
    if mosaic and (score is None or score > MOSAIC_SCORE):
        # (a camera's raw mosaic was read as a gray photo: its colours as noise, a halftone and stripes, a camera
        # sensor QA pass)
        said = ("given: --cfa" if cfa == "bayer" else "the file declares one (TIFF photometric CFA)" if declared else
                f"read as one: score {score:.3g}")
        lines.append(f"colour-filter (Bayer) mosaic, a camera's raw data ({said}): denoise takes its four 2x2 planes "
                     f"each alone (--cfa none: the image whole; with the camera's gain, read noise and black level "
                     f"known, in counts: --method bm3d --set gain=G --set sigma=S --set black=B); read below: its "
                     f"first plane (even rows, even columns)")
        image = image[0::2, 0::2]
        mask = None if mask is None else mosaic_planes(mask).all(axis=-1)
        plane = " (first 2x2 plane)"
    constant = constant_text(image, mask)
    if constant is not None:  # (as denoise says it: a constant colour image was said to go to BM3D, a review)
        lines.append(f"noise2x denoise with no options{f' (frame {k + 1})' if len(stack) > 1 else ''}: nothing: "
                     f"every pixel holds {constant} (a dead frame?), it comes back as it is")
        if noise is not None:
            lines.append(_declared_route_line(image, mask, noise, blanks and nodata is None))
        return lines
    note = zero_area_note(image) if mask is None else None
    if note:
        lines.append(note.removeprefix("note: "))
    try:
        choice, _, _, name, reason = no_option_route(image, mask=mask)
    except InputError as exc:  # what the file holds is shown all the same
        lines.append(f"noise: not read: {exc}")
        lines.append("noise2x denoise with no options: stops with that error (give the noise: --noise, or a --method)")
        if noise is not None:
            lines.append(_declared_route_line(image, mask, noise, blanks and nodata is None))
        return lines
    where = (f" (frame {k + 1})" if len(stack) > 1 else "") + plane
    if (choice.scale != 1 or choice.offset != 0) and not choice.facts.get("bilevel"):  # (no reading to map)
        where += f" (in 8-bit units: the image mapped by {map_text(choice.offset, choice.scale)})"
    facts = [f"{key.replace('_', ' ')} {value:.4g}" if isinstance(value, float) else f"{key.replace('_', ' ')} {value}"
             for key, value in choice.facts.items() if key in _INFO_FACTS]
    if choice.facts.get("bilevel"):  # (no noise read: "noise: " was the line, a re-check)
        period = choice.facts.get("pattern_period")
        facts = [f"not read (two values only); specks of up to 2 pixels on {choice.facts['speck_share']:.2%} of the "
                 f"pixels" + (f"; a regular pattern of period {period:.2g} px" if period else "")]
    lines.append(f"noise{where}: " + ", ".join(facts))
    sigma = choice.facts.get("sigma")
    if (choice.scale != 1 or choice.offset != 0) and isinstance(sigma, float) and choice.scale > 0:
        # (a sigma copied from the line above into --noise, which takes the image's units, removed nothing from a
        # 16-bit image: the docs QA pass)
        lines.append(f"noise in the image's own units (what --noise gaussian:sigma= takes): sigma "
                     f"{sigma / choice.scale:.4g}")
    if isinstance(sigma, float) and choice.scale > 0 and _read_correlated(choice.facts) and not choice.facts.get(
            "pattern_route"):  # (a lattice's own correlated reading: its spec took the lattice for noise, a re-check)
        # (the white part alone was given as what --noise takes: copied, a film's grain read as correlated came back
        # unchanged, a film-scan QA pass)
        from .pretrained import _bm3d_missing

        corr, beta = choice.facts["correlated_sigma"] / choice.scale, choice.facts["beta"]
        along = choice.facts.get("correlated_along")  # (noise correlated along one axis: its spec's, a re-check)
        spec = f"correlated{'_' + along if along else ''}:sigma={corr:.4g},beta={beta:g}"
        lines.append(f"read as correlated noise{' along ' + along if along else ''}, in the image's own units: sigma "
                     f"{corr:.4g}, beta {beta:g} (" + ("" if _bm3d_missing() else f"where it is noise, what --method "
                                                       f"bm3d --noise {spec} takes; ") + "sigma above: its white part)")
    law = power_law_read(image, mask if alpha is not None else None) if not plane else None  # (blank pixels: read
    # with their fill, as denoise reads them)
    if law is not None:  # (a depth map's noise, growing with depth: the route denoise takes, a 3-D vision QA pass)
        name, reason = "bm3d", power_reason(law)
    profile = level_profile(image, choice) if law is None and not plane else None
    if profile is not None:  # (signed data whose noise level changes along an axis: a geophysics QA pass)
        _, _, _, name, inner = no_option_route(evened(image, profile)[0], mask=mask)
        reason = f"{level_reason(*profile)}; on that: {inner}"
    # (an image holding NaN: denoise stops with an error unless --blanks says they mark pixels with no data)
    told = "noise2x denoise --blanks" if blanks and nodata is None else (
        f"noise2x denoise --blank-value {value_text(nodata)}" if given else "noise2x denoise with no options")
    # (a stack's frames each take their own route: this one is the frame read's, a hyperspectral user's QA pass)
    lines.append(f"{told}{f' (frame {k + 1})' if len(stack) > 1 else ''}{plane}: {name}: {reason}")
    for note in (channel_levels_note(choice, name), pattern_note(choice), stripes_note(choice), spikes_note(choice)):
        if note:
            lines.append(note.removeprefix("note: "))
    if noise is not None:
        lines.append(_declared_route_line(image, mask, noise, blanks and nodata is None))
    if blanks and nodata is None:
        lines.append(f"noise2x denoise without --blanks: stops (the image holds {marked})")
    jpeg = _jpeg_line(image, choice, mask)
    if jpeg:
        lines.append(jpeg)
    return lines


def _declared_route_line(image: Any, mask: Any, noise: Any, blanks: bool) -> str:
    """``noise2x info IMAGE --noise SPEC``: what ``denoise --noise SPEC`` with no method does with the image (its
    first frame holding data), as denoise says it (the speckle QA pass: a declared route could not be previewed)."""
    from .api import declared_sigma, no_option_route, sigma_units_note, speckle_route
    from .noise import NoiseSpec

    told = f"noise2x denoise{' --blanks' if blanks else ''} --noise {noise}"
    try:
        sigma = declared_sigma(noise)
        if sigma is not None:  # (denoise stops on a sigma far beyond the image's spread: said here too, a re-check)
            sigma_units_note(image, sigma)
        if noise.name != "speckle":
            _, _, _, name, reason = no_option_route(image, noise=noise, mask=mask)
            return f"{told}: {name}: {reason}"
        route = speckle_route(image, noise, mask=mask)
        if route["name"] != "log":
            return f"{told}: {route['name']}: {route['reason']}"
        log = route["log"]
        _, _, _, name, reason = no_option_route(log["mapped"], noise=NoiseSpec("gaussian", {"sigma": log["sigma"]}),
                                                mask=mask)
        return f"{told}: {route['reason']}; the logarithm through {name}: {reason}"
    except InputError as exc:
        return f"{told}: stops: {exc}"


def _jpeg_line(image: Any, choice: Any, mask: Any = None) -> str:
    """``noise2x info``: whether the image went through JPEG compression, and whether as its decoder left it or
    with noise added after, quantised coarsely or finely (8-bit images; empty if not). ``mask``: the pixels holding
    data (opaque, not blank), the only ones read, as the no-option call reads them."""
    from .pretrained import jpeg_signs

    signs = jpeg_signs(image, mask) if choice.scale == 1 and choice.offset == 0 else None
    if signs is None or signs["how"] == "none":
        return ""
    (dy, dx), how = signs["offset"], signs["how"]
    seen = f"JPEG compression: seen (8x8 blocks from row {dy}, column {dx}; excess {signs['excess']:.2f}"
    if how == "unknown":
        return f"{seen}); too few unclipped blocks to tell how it was compressed"
    told = {"after": "with noise added after compression",
            "fine": "as its decoder left it, finely quantised (quality 95 or so: it keeps most of the noise)",
            "coarse": "as its decoder left it, coarsely quantised: noise compressed with the image reads weaker "
                      "than it is"}[how]
    return f"{seen}; rounding spread {signs['rounding']:.2f}; fine steps {signs['fine']:.4f}), {told}"


def _duration(seconds: float) -> str:
    """A time to come, as a person says it: 40 s, 3 min, 1 h 20 min."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


def _profile_name(icc: bytes) -> str:
    """An ICC profile's description, quoted ('Display P3'), or what it is where it cannot be read."""
    try:
        from io import BytesIO

        from PIL import ImageCms

        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(BytesIO(icc))).strip()
    except Exception:  # no littlecms, or a profile it cannot parse: kept all the same
        name = ""
    return repr(name) if name else f"({len(icc)} bytes)"


def cmd_models(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    if find_spec("noise2x.pretrained") is None:
        print("no pretrained models are shipped in this version")
        return 0
    from .pretrained import list_models

    rows = list_models()
    if not rows:
        print("no pretrained models are shipped in this version")
        return 0
    for row in rows:
        print(f"{row['name']:<28} {row['description']}")
    print(f"{len(rows)} pretrained model(s)")
    if any(int(row.get("channels", 1)) == 1 for row in rows):
        print("gray models also denoise colour images, plane by plane (denoise --colour)")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from .api import available_methods

    kinds = available_methods()
    for name, kind in kinds.items():
        print(f"{name:<20} {kind}")
        if getattr(args, "verbose", False):
            for line in _method_details(name, kind):
                print(f"{'':<22}{line}")
    print(f"{len(kinds)} method(s)")
    return 0


def _method_details(name: str, kind: str) -> list[str]:
    """Options (with defaults) of one method, and presets of a trainable one (`noise2x methods -v`)."""
    import dataclasses

    from .api import method_options, resolve_direct, trainable_methods

    if kind == "trainable":
        cls = trainable_methods()[name]
        doc = (cls.__doc__ or "").strip().splitlines()
        opts = {f.name: getattr(cls.Options(), f.name) for f in dataclasses.fields(cls.Options)}
        lines = [doc[0]] if doc else []
        lines.append("options (--set method.KEY=VALUE), before a preset sets them: "
                     + (", ".join(f"{k}={v}" for k, v in opts.items()) or "none"))
        lines += [f"  {key}: {values}" for key, values in cls.option_values.items()]  # (a README QA pass)
        lines.append("presets (--set train.preset=NAME; default: paper on a GPU, cpu otherwise), what each sets "
                     "(a run's own settings: noise2x info MODEL):")
        from .methods import get_method

        for preset, values in cls.presets.items():  # (the cpu preset's Noise2Void masking was written nowhere)
            method = get_method(name, {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("method.")})
            arch, net = method.default_model(channels=1, preset=preset)  # (a preset's network, seen only in a
            # trained model's info: a CAREamics user's QA pass; with the preset's method options: gan's wgan)
            shown = ", ".join(f"{k}={v}" for k, v in net.items() if k not in ("in_channels", "out_channels"))
            lines.append(f"  {preset}: " + (", ".join(f"{k}={v}" for k, v in values.items()) or "the defaults")
                         + f"; network {arch}" + (f" ({shown})" if shown else ""))
        return lines
    fn = resolve_direct(name)
    doc = (fn.__doc__ or "").strip().splitlines()
    opts = method_options(fn)
    return ([doc[0]] if doc else []) + ["options (--set KEY=VALUE): " +
                                        (", ".join(f"{k}={v}" for k, v in opts.items()) or "none")]


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    folder = Path(args.out)
    if not (folder.exists() and not folder.is_dir()):  # (a file there: run_demo says so)
        _make_folder(folder)  # (recorded: left empty by a stopped demo, it goes, as other commands' do)
    run_demo(out=args.out, progress=_say)
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="noise2x", description="Learn image denoisers from noisy images alone.")
    p.add_argument("--version", action=_Version, nargs=0, help="show the version (and git commit) and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("simulate", help="add noise to images (seeded per image, as bench adds it)")
    s.add_argument("spec", metavar="NOISE IN OUT", nargs="*",
                   help="the noise spec (e.g. gaussian:sigma=25, poisson:peak=30), the clean image file or folder, "
                        "and the output file (.tif keeps float32 values) or folder; or IN alone, with --noise and "
                        "--out, as denoise takes them")
    s.add_argument("--noise", dest="noise_flag", metavar="NOISE", help="the noise spec (instead of the first "
                   "argument)")
    s.add_argument("--out", dest="out_flag", metavar="OUT", help="the output (instead of the last argument)")
    s.add_argument("--seed", type=_seed, default=None, help="seed of the first image (image i gets seed+i; default 0)")
    s.add_argument("--blanks", action="store_true",
                   help="NaN values mark blank pixels (no data): they stay blank, the noise goes on the data")
    s.add_argument("--blank-value", type=_blank_value, metavar="V",
                   help="pixels holding V are blank too (no data: kept, without noise), as denoise reads them (a "
                        "declared nodata value, or a fill read from the values, without it; none: no blank value)")
    s.add_argument("--format", metavar="EXT", help="a folder OUT's files in this format (e.g. tif: float32, the "
                   "noise neither rounded nor clipped, as bench adds it); default: each its input's")
    _add_quiet(s)
    s.set_defaults(func=cmd_simulate)

    d = sub.add_parser("denoise", help="denoise images (no options: a method chosen for the noise it reads; or "
                       "a model, a method)",
                       description="Denoise images. With neither --model nor --method, noise2x reads each image's "
                                   "noise, picks a method for it (a shipped model, BM3D, ...) and says which and why "
                                   "(noise2x info IMAGE shows the choice without denoising).")
    d.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders")
    d.add_argument("--out", required=True, help="output file, or folder (exists, ends with /, or has no suffix)")
    g = d.add_mutually_exclusive_group()
    g.add_argument("--model", help="a model file from `noise2x train`, or a shipped model's name (noise2x models)")
    g.add_argument("--method", help="a direct method: bm3d, nlm, nlm_calibrated, mash, zs_n2n, ...")
    d.add_argument("--noise", help="the input's noise when known, e.g. gaussian:sigma=25")
    d.add_argument("--tile", type=int, default=None,
                   help="tile size for models (0: whole image; default 256, 512 for a network that reads far, or "
                        "the whole image when it is no larger than a batch of 4 tiles); each tile is run with as "
                        "much image around it as the network reads, so tiles give the whole image's result")
    d.add_argument("--overlap", type=int, default=None,
                   help="tile overlap in pixels (models; default 32, or a quarter of a --tile under 128)")
    d.add_argument("--tta", action="store_true", help="8-fold test-time augmentation (models)")
    d.add_argument("--colour", choices=("auto", "luma", "channels"), default="auto",
                   help="a gray model on a colour image: luma = an RGB image's luminance and chrominance planes "
                        "(auto for RGB, except a blindspot model of a per-pixel noise model: its noise is per "
                        "channel), channels = each channel alone (e.g. microscopy channels; with --method too, "
                        "which otherwise takes a colour image whole)")
    d.add_argument("--cfa", type=str.lower, choices=CFA_CHOICES, default="auto",
                   help="a one-channel image that is a colour-filter (Bayer) mosaic, a camera's raw sensor data: "
                        "auto (default) denoises the four 2x2 planes each alone where the image reads as one, or its "
                        "TIFF says so; bayer (or rggb, bggr, grbg, gbrg): so, unread; none: the image whole")
    d.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="arithmetic of a model's forward pass (and of zs_n2n's and mash's training): bf16 is "
                        "1.5 to 2 times as fast on a CPU with bfloat16 instructions (AVX512-BF16, AMX), fp16 runs "
                        "on a GPU (default fp32)")
    d.add_argument("--blanks", action="store_true",
                   help="NaN values mark blank pixels (no data; the FITS convention): they are filled with a "
                        "mirror image of the data beside them, left out of the noise estimate and written back as NaN "
                        "(float32 .tif or .fits) or transparent (.png); without it NaN is an error")
    d.add_argument("--blank-value", type=_blank_value, metavar="V",
                   help="pixels holding V in every channel are blank too, e.g. 0 outside a mosaic's footprint: "
                        "treated as --blanks treats NaN, and written back holding V (a TIFF declaring its nodata "
                        "value, GDAL_NODATA, is read so without it, and a value far from all others at an end of "
                        "the image's values, held by 0.2%% of its pixels or more, such as a depth map's 0 dropouts; "
                        "none: no blank value)")
    d.add_argument("--set", action="append", metavar="KEY=VALUE", help="method option (repeatable)")
    d.add_argument("--seed", type=_seed, default=0, help="seed for stochastic methods")
    d.add_argument("--format", metavar="EXT", help="a folder --out's files in this format (e.g. tif, with --float: "
                   "float32); default: each its input's")
    d.add_argument("--float", action="store_true", help="write float32 (TIFF, FITS, MRC): the result in the "
                   "input's units as computed, neither rounded nor clipped (an 8- or 16-bit input's output keeps "
                   "its kind otherwise, rounded: at a few counts a level that moves the mean)")
    d.add_argument("--strip-exif", action="store_true", help="leave a photo's EXIF and XMP records (camera, date, "
                   "GPS position), and noise2x's record of the command (a PNG's Comment, a TIFF's ImageHistory), "
                   "out of its output; its colour profile is kept")
    d.add_argument("--recursive", action="store_true", help="a folder's subfolders too; the output folder gets "
                   "the same subfolders")
    d.add_argument("--shard", metavar="K/N", help="denoise only the K-th of N shares of the inputs (K = 1..N, "
                   "every N-th file from the K-th in sorted order): one share per job of a cluster array")
    d.add_argument("--skip-existing", action="store_true",
                   help="leave out inputs whose output exists (outputs are written whole or not at all), "
                        "to continue a run that stopped; read when the command starts: two runs side by side "
                        "each do every input, and --shard splits them")
    d.add_argument("--device", default="auto",
                   help="auto, cpu, cuda, mps (models, zs_n2n and mash; the other direct methods run on the CPU)")
    _add_threads(d)
    _add_quiet(d)
    d.set_defaults(func=cmd_denoise)

    t = sub.add_parser("train", help="train a method on a folder of images")
    t.add_argument("--method", required=True, help="a trainable method: supervised, noise2noise, noise2void, "
                   "neighbor2neighbor, blindspot, ... (noise2x methods lists them)")
    t.add_argument("--data", required=True, help="folder of training images (noisy, or clean with --add-noise)")
    t.add_argument("--data2", help="second folder of aligned noisy frames (Noise2Noise pairs), or clean targets; "
                                   "paired with --data's files by name, the extension aside")
    t.add_argument("--val-data", help="folder of validation images, used whole (with --add-noise or noisy-only "
                   "training; paired data, --data2, holds out its own pairs); default: the last 8 training images "
                   "held out; with fewer than 16, the bottom 10%% of their rows")
    t.add_argument("--out", required=True,
                   help="model file to write (NAME.safetensors: the last step's weights); the run's folder NAME.run/ "
                        "beside it keeps the best and last weights, the state for --resume, log and curve")
    t.add_argument("--add-noise", help="add this synthetic noise to clean training images")
    t.add_argument("--steps", type=int, help="training steps (with --minutes: whichever comes first ends the run)")
    t.add_argument("--minutes", type=float, help="training time in minutes")
    t.add_argument("--seed", type=_seed, default=None, help="seeds every random choice (default 0; with --resume "
                   "the saved run's): with --steps and the same --threads a run repeats bit for bit; a --minutes "
                   "budget's learning rate follows the clock")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override, e.g. train.lr=3e-4")
    t.add_argument("--precision", choices=("fp32", "bf16"),
                   help="arithmetic of the training steps: bf16 (mixed precision) makes about 1.5 times as many "
                        "steps per minute on a CPU with bfloat16 instructions (default fp32; = --set train.precision)")
    t.add_argument("--blanks", action="store_true",
                   help="NaN values mark blank pixels (no data): patches are drawn from the data "
                        "(= --set data.blanks=true)")
    t.add_argument("--blank-value", type=_finite, metavar="V",
                   help="pixels holding V in every channel are blank too, e.g. 0 outside a scene's footprint "
                        "(= --set data.blank_value=V)")
    t.add_argument("--recursive", action="store_true",
                   help="the data folders' subfolders too (= --set data.recursive=true)")
    t.add_argument("--resume", action="store_true", help="continue the run that writes --out")
    t.add_argument("--init", metavar="MODEL", help="start from this model's network and weights (a model file or "
                   "a shipped model's name, e.g. gray-gaussian-selfsup): fine-tuning on your images, the learning "
                   "rate warmed up over the first 20%% of the budget (--set train.warmup=W to choose)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    _add_threads(t)
    _add_quiet(t)
    t.set_defaults(func=cmd_train)

    b = sub.add_parser("bench", help="benchmark methods x dataset x noise (seeded noise per image, predictions "
                                     "clipped, PSNR and SSIM; each method first denoises image 0 once, untimed, "
                                     "a whole extra training for a zero-shot method)")
    b.add_argument("--methods", required=True,
                   help="comma-separated method names, model files (.safetensors) or shipped models' names "
                        "(auto: denoise with no options; auto_noise: the same, told the noise)")
    b.add_argument("--dataset", required=True, help="folder of clean test images")
    b.add_argument("--noise", required=True, help="noise spec, e.g. gaussian:sigma=25")
    b.add_argument("--out", help="JSON file to write (a Markdown table is written beside it)")
    b.add_argument("--limit", type=int, help="use only the first N images")
    b.add_argument("--resume", metavar="PARTIAL.json",
                   help="go on with an interrupted run (Ctrl-C, SIGTERM) from the next image: the results it "
                        "kept (NAME.partial.json beside --out); the same methods, options, dataset, noise, "
                        "device, --colour, --precision and --data-range")
    b.add_argument("--budget-minutes", type=float, help="training budget for trainable methods")
    b.add_argument("--train-data", help="clean training images for trainable methods, to which the bench's --noise "
                                        "is added as for the test images (default: train400 beside the --dataset "
                                        "folder); to bench a model trained on real noisy data, train it and give "
                                        "its file to --methods")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="method option (repeatable): KEY for every method that has it, NAME.KEY for one (e.g. "
                        "nlm.h=10); a trainable method's training settings as NAME.SECTION.KEY (e.g. "
                        "gan.method.feature_weight=0, noise2void.train.lr=1e-4)")
    b.add_argument("--data-range", type=float, metavar="PEAK",
                   help="the peak value PSNR and SSIM measure against (default: the files' units: 255 for 8-bit, "
                        "65535 for 16-bit files; a float set: 1 for values in [0, 1], 255 within it); for data "
                        "with negative values, the span of their units (2 for [-1, 1])")
    b.add_argument("--estimate-noise", action="store_true",
                   help="do not tell the direct methods the noise: each estimates it, as a call without --noise "
                        "does (by default they are given --noise)")
    b.add_argument("--device", default="auto", help="auto, cpu, cuda, mps: where models, zs_n2n and mash run and "
                   "trainable methods train (the other direct methods run on the CPU)")
    b.add_argument("--colour", choices=("auto", "luma", "channels"), default="auto",
                   help="how gray models (model files, auto's shipped ones) denoise colour images (see denoise)")
    b.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="arithmetic of the models' forward pass (model files, trained methods, auto's shipped "
                        "ones; see denoise)")
    _add_threads(b)
    _add_quiet(b)
    b.set_defaults(func=cmd_bench)

    i = sub.add_parser("info", help="show what a model file (or a shipped model, by name) holds, or what an "
                                    "image holds and what `denoise` with no options reads of its noise and does")
    i.add_argument("model", metavar="MODEL_OR_IMAGE",
                   help="a model file, the name of a shipped model (noise2x models), or an image file")
    i.add_argument("--noise", metavar="SPEC", help="with an image: also say what `noise2x denoise --noise SPEC` "
                   "(no method) does with it, e.g. speckle:looks=4")
    i.add_argument("--blank-value", type=_blank_value, metavar="V", help="with an image: pixels holding V in "
                   "every channel are blank, as `denoise --blank-value V` reads them (a GeoTIFF's declared nodata "
                   "value, or a fill read from the values, is read so without it; none: no blank value)")
    i.add_argument("--cfa", type=str.lower, choices=CFA_CHOICES, default="auto",
                   help="with an image: a colour-filter (Bayer) mosaic, as `denoise --cfa` takes it (bayer: its "
                        "planes, unread; none: the image whole)")
    i.add_argument("--blanks", action="store_true", help="with an image: NaN marks blank pixels, as `denoise "
                   "--blanks` reads them (info reads NaN so without it: accepted for the same command line)")
    i.set_defaults(func=cmd_info)

    m = sub.add_parser("models", help="list the pretrained models shipped in the package")
    m.set_defaults(func=cmd_models)

    mm = sub.add_parser("methods", help="list the available methods")
    mm.add_argument("-v", "--verbose", action="store_true", help="with each method's options and presets")
    mm.set_defaults(func=cmd_methods)

    demo = sub.add_parser("demo", help="denoise bundled sample images and write a picture grid")
    demo.add_argument("--out", default="demo-output", help="output folder")
    _add_quiet(demo)
    demo.set_defaults(func=cmd_demo)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(_shown(f"noise2x: warning: {message}"), file=sys.stderr)


class _LogLines:
    """A logging handler printing a library's warnings (tifffile's) as the CLI prints its own: one line, prefixed."""

    level = 30  # (logging.WARNING)

    def __init__(self) -> None:
        self.said: set[str] = set()

    def handle(self, record) -> None:  # noqa: ANN001
        if record.levelno >= self.level:
            message = re.sub(r"^<[^>]*>\s*", "", record.getMessage())  # (without "<tifffile.TiffFile 'f.tif'>")
            if message in self.said or "GDAL_NODATA" in message:  # (each once: it was said per page, 10 times;
                return  # GDAL_NODATA noise2x reads and says itself)
            self.said.add(message)
            print(_shown(f"noise2x: warning: {record.name}: {message}"), file=sys.stderr)


#: PyTorch's switch for transparent huge pages under large CPU tensors (set by :func:`main`).
HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (``python -m noise2x`` and the console script)."""
    # PyTorch backs CPU tensors of 2 MB and more with transparent huge pages when this is set; it reads it
    # once, at the first such tensor, so it is set before any: a large image then spends far less time in
    # page faults (MASH on a 12-MP photo 1.5 times faster, same output; BENCHMARKS.md "Huge pages for large
    # images").
    # THP_MEM_ALLOC_ENABLE=0 in the environment turns it off.
    os.environ.setdefault(HUGE_PAGES_ENV, "1")
    if not os.environ.get("SOURCE_DATE_EPOCH", "x").strip():  # set but blank, as unset (numpy's f2py, which scipy
        os.environ.pop("SOURCE_DATE_EPOCH")  # imports, read it as int(''): an internal error, a locale QA pass)
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    import signal
    import threading

    from .errors import REPEATED_STOP_S, Terminated, stop_signals

    first: list[float] = []  # (when the first stop came)

    def on_stop(signum: int, frame: Any) -> None:  # a scheduler's time limit, kill, a hang-up: as Ctrl-C
        now = time.monotonic()
        if first and now - first[0] < REPEATED_STOP_S:  # (the same stop, signalled again)
            return
        first[:] = [now]
        if signum == signal.SIGINT:
            raise KeyboardInterrupt()
        raise Terminated(signum=signum)

    main_thread = threading.current_thread() is threading.main_thread()
    old = {sig: signal.signal(sig, on_stop) for sig in stop_signals()} if main_thread else {}
    _MADE.clear()
    code = 1
    # a character the output stream cannot encode is written escaped (bench's table on a Latin-1 terminal ended
    # in an internal error, exit 1, after its files were written: an automation QA pass)
    # in an encoding that is not UTF-8; in the C locale Python's streams take "surrogateescape", which fails on
    # them too: bench's table and info's "Å" ended so under LC_ALL=C PYTHONUTF8=0, a locale QA pass)
    strict = [(s, s.errors) for s in (sys.stdout, sys.stderr) if hasattr(s, "reconfigure") and (
        getattr(s, "errors", None) == "strict" or getattr(s, "errors", None) == "surrogateescape" and
        str(getattr(s, "encoding", "")).lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"))]
    for stream, _ in strict:
        with contextlib.suppress(Exception):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = _main(parser, argv)
    finally:
        for stream, errors in strict:
            with contextlib.suppress(Exception):
                stream.reconfigure(errors=errors)
        for sig, handler in old.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if code:  # (a failed command's output folders, where it left them empty)
            _remove_made_folders()
        _MADE.clear()
    classical = sys.modules.get("noise2x.classical")
    if code > 128 and classical is not None and classical.ABANDONED:  # (a signal's status: 129, 130, 143)
        # an interrupted BM3D's C library may still run threads of its own, which abort the interpreter's
        # shutdown: the process ends here, its outputs already removed and its lines written
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _negative_numbers(argv: list[str]) -> list[str]:
    """``argv`` with a negative number in exponent form given to an option (``--blank-value -3.4e+38``, GDAL's
    float nodata), which argparse takes for an option ("expected one argument": a 3-D vision QA pass), joined to
    it (``--blank-value=-3.4e+38``)."""
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and re.fullmatch(
                r"-(\d+\.?\d*|\.\d+)[eE][-+]?\d+", token):
            out[-1] += "=" + token
        else:
            out.append(token)
    return out


def _main(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """:func:`main` less its SIGTERM handler."""
    from .errors import Terminated

    try:
        args = parser.parse_args(_negative_numbers(list(sys.argv[1:] if argv is None else argv)))
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        from .provenance import source_date_epoch

        source_date_epoch()  # (a wrong one: its line before any work)
        from .config import THREADS_ENV

        _QUIET[0] = bool(getattr(args, "quiet", False))
        threads_before = os.environ.get(THREADS_ENV)
        if getattr(args, "threads", None):  # (read where torch's threads are set: predict.auto_threads)
            os.environ[THREADS_ENV] = str(args.threads)
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            from .errors import TrainUnitsWarning, UnitsWarning

            warnings.simplefilter("ignore", UnitsWarning)  # (denoise says it once per file, with the file's name)
            warnings.simplefilter("default", TrainUnitsWarning)  # (train's, of its data: said as they come)
            warnings.showwarning = _show_warning
            import logging

            log = logging.getLogger("tifffile")
            lines = _LogLines()
            log.addHandler(lines)  # type: ignore[arg-type]
            propagate, log.propagate = log.propagate, False
            try:
                if getattr(args, "device", None) not in (None, "auto"):  # (a name no machine has: before any work)
                    from .predict import check_device_name

                    check_device_name(args.device)
                return int(args.func(args) or 0)
            finally:
                log.removeHandler(lines)  # type: ignore[arg-type]
                log.propagate = propagate
                _QUIET[0] = False
                if threads_before is None:  # (as it was: main() may be called again in one process)
                    os.environ.pop(THREADS_ENV, None)
                else:
                    os.environ[THREADS_ENV] = threads_before
    except Noise2xError as exc:
        _err(str(exc))
        return exc.exit_code
    except Terminated as exc:
        _err(f"terminated ({exc.signal_name}); no output is left half-written")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # the reader of the output went away (noise2x info ... | head): quiet, as `ls | head`
        try:  # (no second error when Python flushes the closed stdout at exit)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141  # (128 + SIGPIPE, the status of a shell command whose pipe closed)
    except (OSError, MemoryError) as exc:
        if os.environ.get("NOISE2X_DEBUG"):
            raise
        _err(f"not enough memory for this work ({exc or 'MemoryError'}): the whole image is held, in several "
             f"copies: a smaller image (a crop; a slide's lower level), a smaller --tile for a model's own memory, or "
             f"a machine with more" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - the user gets one line, not a traceback
        if os.environ.get("NOISE2X_DEBUG"):
            raise
        _err(f"internal error ({type(exc).__name__}: {exc}); rerun with NOISE2X_DEBUG=1 for details")
        return 1
