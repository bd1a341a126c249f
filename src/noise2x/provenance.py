"""What made a file: the code's version, the software around it, the date and the command.

The version alone ("0.1.0") does not pin the code when noise2x runs from a git checkout (the way this project is
developed and most often installed: ``pip install -e .``): the shipped models and the default routes change between
commits. :func:`code_version` then adds the commit, as a PEP 440 local version ("0.1.0+g9deae95b5a", and
".dirty" where the package's files differ from it), and records (model files, bench results, FITS and MRC
history) carry it.
"""

from __future__ import annotations

import functools
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["code_version", "command_line", "environment", "file_lines", "files_digest", "utc_stamp"]

#: seconds a git call may take before the plain version is used (a slow network file system)
GIT_TIMEOUT_S = 5.0


def _git(here: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # (a caller's GIT_DIR is not ours)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # (git status takes no index lock: the user's own git commands are not blocked)
    hidden = {"creationflags": subprocess.CREATE_NO_WINDOW} if os.name == "nt" else {}  # (no console flashing up)
    return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                          env=env, stdin=subprocess.DEVNULL, **hidden)  # type: ignore[call-overload]


def head_from_files(here: Path) -> str | None:
    """The commit checked out in the git work tree holding ``here``, read from its files (``.git/HEAD``, the
    branch's ref or ``packed-refs``), without running git; None where there is none. For a checkout git refuses
    to read (owned by another user: "dubious ownership", as a lab's shared install is; a QA re-check found every
    record then saying a plain 0.1.0)."""
    for folder in [here, *here.parents]:
        dot = folder / ".git"
        try:
            if dot.is_file():  # (a worktree or submodule: "gitdir: PATH")
                text = dot.read_text().strip()
                dot = (folder / text.removeprefix("gitdir:").strip()).resolve()
            if not (dot / "HEAD").is_file():
                continue
            head = (dot / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head or None
            ref = head.removeprefix("ref:").strip()
            common = dot / "commondir"
            roots = [dot] + ([(dot / common.read_text().strip()).resolve()] if common.is_file() else [])
            for root in roots:
                if (root / ref).is_file():
                    return (root / ref).read_text().strip() or None
                packed = root / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split(" ", 1)[0]
            return None
        except (OSError, UnicodeDecodeError):
            return None
    return None


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """noise2x's version, with the git commit of the checkout it runs from ("0.1.0+g9deae95b5a", "+g....dirty"
    where the package's tracked files differ from that commit); the plain version for an installed release, or
    where git is missing or fails."""
    return _code_version(Path(__file__).resolve().parent)


def _code_version(here: Path) -> str:
    """:func:`code_version` of the package folder ``here``."""
    from . import __version__

    if not any(os.path.lexists(folder / ".git") for folder in (here, *here.parents)):
        # (an installed release: no git run, which on a Mac without its developer tools opens a dialog asking to
        # install them, on every command: a portability QA pass)
        return str(__version__)
    try:
        head = _git(here, "rev-parse", "--short=10", "HEAD")
        # the package's own files must be tracked there (not a release installed inside some other repository)
        tracked = _git(here, "ls-files", "--error-unmatch", "--", "__init__.py")
        if head.returncode != 0 and "dubious ownership" in head.stderr:  # (read from its files: its state unknown)
            sha = head_from_files(here)
            return f"{__version__}+g{sha[:10]}.unverified" if sha else str(__version__)
        if head.returncode != 0 or tracked.returncode != 0 or not head.stdout.strip():
            return str(__version__)
        changed = _git(here, "status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return str(__version__)
    dirty = ".dirty" if changed.returncode != 0 or changed.stdout.strip() else ""
    return f"{__version__}+g{head.stdout.strip()}{dirty}"


def environment() -> dict[str, Any]:
    """The software a result came from: noise2x (:func:`code_version`), Python, torch (where imported or
    importable), NumPy and the platform."""
    import numpy

    env: dict[str, Any] = {"noise2x": code_version(), "python": platform.python_version(),
                           "numpy": numpy.__version__, "platform": platform.platform()}
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            import torch
        except ImportError:
            torch = None
    if torch is not None:
        env["torch"] = str(torch.__version__)
    return env


def utc_stamp(seconds: float | None = None) -> str:
    """The UTC date and time, ISO 8601 to the second ("2026-12-06T11:34:38Z"); with no ``seconds``, now, or the
    time SOURCE_DATE_EPOCH gives (seconds since 1970, the reproducible-builds convention: an output's record
    then does not change between two runs, and neither do its bytes)."""
    if seconds is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():  # (the CLI refuses others)
        seconds = source_date_epoch()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def source_date_epoch() -> float | None:
    """The time SOURCE_DATE_EPOCH gives (seconds since 1970-01-01 UTC), or None where it is unset; UsageError where
    it is not a whole number (numpy's f2py, imported with scipy, failed on it with an internal error: a QA
    re-check) or too large for this system (nanoseconds, date +%s%N). The CLI reads it before any work."""
    from .errors import UsageError

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or not epoch.strip():
        return None
    if not epoch.strip().isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch[:40]!r}: expected a whole number of seconds since "
                         f"1970-01-01 UTC (as date +%s gives), or unset")
    try:
        time.gmtime(float(epoch))
    except (OverflowError, OSError, ValueError):
        shown = epoch.strip() if len(epoch.strip()) <= 40 else epoch.strip()[:40] + "..."
        raise UsageError(f"SOURCE_DATE_EPOCH={shown}: not a time this system can write (seconds since "
                         f"1970-01-01 UTC, as date +%s gives)") from None
    return float(epoch)


def path_text(text: str | os.PathLike) -> str:
    """A path or command-line argument as the UTF-8 text of its bytes, whatever the locale decoded them as (bytes
    that are not UTF-8, and control characters, as ``\\xNN``): the same record of one file under any locale (a
    Latin-1 locale recorded "out é.png" as "out Ã©.png", an ASCII one as lone surrogates: a locale QA pass)."""
    from .errors import escaped

    return escaped(_raw_bytes(text).decode("utf-8", "backslashreplace"))  # (a line break in a name split the
    # record's lines)


def _raw_bytes(text: str | os.PathLike) -> bytes:
    """The bytes a name (or a text holding names) stands for, as the system gave them, whatever the locale."""
    try:
        return os.fsencode(text)
    except UnicodeEncodeError:  # (text not from the system, in a locale that cannot encode it)
        return str(text).encode("utf-8", "surrogateescape")


def clean_text(text: str) -> str:
    """``text`` with the lone surrogates of undecodable bytes (a file name's, as Python holds them) turned back
    into those bytes, read as UTF-8 (others as ``\\xNN``): text a strict JSON or UTF-8 writer takes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # (a surrogate no byte gave)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as a shell would take it again: "noise2x" and ``argv`` (default: this process's arguments),
    each quoted where it needs it, as the UTF-8 text of its bytes (:func:`path_text`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["noise2x", *(shlex.quote(path_text(str(a))) for a in args)])


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex), read a megabyte at a time."""
    import hashlib

    one = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            one.update(block)
    return one.hexdigest()


def file_lines(files: Sequence[Path], folder: Path) -> list[str]:
    """Each file's name (relative to ``folder``) and the SHA-256 of its bytes, a line each, for :func:`files_digest`."""
    lines = []
    for path in files:
        name = os.path.relpath(path, folder) if folder.is_dir() else Path(path).name
        lines.append(f"{name}\0{file_sha256(path)}\n")
    return lines


def files_digest(lines: Sequence[str]) -> str:
    """SHA-256 over :func:`file_lines`' lines, in order: which files (names and bytes) a result is of."""
    import hashlib

    # (the names' bytes, whatever the locale decoded them as: a locale re-check)
    return hashlib.sha256(b"".join(_raw_bytes(line) for line in lines)).hexdigest()
