"""Atomic file writing: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .errors import InputError, Noise2xError, WriteFailed

#: Windows: a file open or read-only elsewhere cannot be replaced or removed there
_WINDOWS = os.name == "nt"


def _mode_of(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    The temporary file keeps the target's suffix (so writers that look at the
    extension choose the right format). The file gets the mode ``open()``
    would give it (a replaced target's mode, else 0666 less the umask), not
    the temporary file's private 0600. On any exception the temporary file is
    removed and the target is left untouched; one that says the disk is full
    becomes a Noise2xError saying so.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise Noise2xError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise Noise2xError(f"output folder is not writable: {folder}")
    suffix = f".tmp{target.suffix}"
    # (the target's name, cut where the temporary name would pass the 255 bytes a file name may hold: a name
    # the file system takes is written, however long; mkstemp adds 8 characters)
    room = max(0, 255 - len(suffix.encode()) - 8 - 2)
    raw = os.fsencode(target.name)  # (a name not in UTF-8, as Linux allows, holds its bytes: a QA pass)
    cut = raw[:room]
    try:
        raw.decode("utf-8")
        cut = cut.decode("utf-8", "ignore").encode("utf-8")  # (not cut inside a character)
    except UnicodeDecodeError:
        pass
    name = os.fsdecode(cut)  # (in the file system's encoding, which may be ASCII: Python's UTF-8 mode off)
    if target.is_dir():  # (the rename onto it fails after the work; said as one output's error, in a QA pass)
        raise InputError(f"cannot write {target}: a folder of that name exists")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    except OSError as exc:  # (a folder that takes no files, as /proc; a full disk)
        raise Noise2xError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp made the file private (0600); give it the mode a plain open() would:
        # an existing target's, else 0666 less the umask
        os.chmod(tmp_path, _mode_of(target))
        replace(tmp_path, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if _WINDOWS:  # (a read-only target's mode, copied: Windows removes no read-only file)
                os.chmod(tmp_path, stat.S_IWRITE | stat.S_IREAD)
            tmp_path.unlink()
        reason = _write_failure(exc)  # (writers say it each their own way: a short write's byte counts, an I/O
        if reason:                    # error's text)
            raise WriteFailed(f"cannot write {target}: {reason}; nothing was written") from None
        raise


#: seconds ``replace`` keeps trying on Windows while another program holds the target open
REPLACE_RETRY_S = 1.0


def replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """``os.replace``; on Windows tried again for up to :data:`REPLACE_RETRY_S` while it is refused: a virus
    scanner, the search indexer or OneDrive holds a file just written open for a moment, and the rename onto it
    fails then (a portability QA pass)."""
    deadline = time.monotonic() + REPLACE_RETRY_S
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if not _WINDOWS or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _write_failure(exc: BaseException) -> str | None:
    """What stopped a write, where ``exc`` (from any writer: tifffile, safetensors, astropy, Pillow) says the
    system refused it: a full disk or quota, a file-size limit, another I/O error; None for other errors."""
    full = "no space left on the device (the disk is full, or over its quota)"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return full
    text = str(exc)
    if "No space left on device" in text or "os error 28" in text or "Disk quota exceeded" in text:
        return full
    if re.search(r"\d+ requested and \d+ written", text):  # (tifffile's short write: the cause unsaid)
        return "the write stopped short (a full disk, a quota or a file-size limit)"
    io_error = re.search(r"I/O error: (.+?) \(os error \d+\)", text)  # (safetensors' text of an OSError)
    return io_error.group(1) if io_error else None


def ignores_case(folder: str | os.PathLike) -> bool:
    """Whether the file system of ``folder`` takes a name in other case for the same file (Windows, macOS by
    default, exFAT, most SMB shares): a probe file is made there and looked up in swapped case. False where
    the folder cannot be written."""
    try:
        fd, name = tempfile.mkstemp(prefix=".noise2x-CaseProbe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    try:
        probe = Path(name)
        return (probe.parent / probe.name.swapcase()).exists()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
