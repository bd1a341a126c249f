"""Errors that the CLI turns into one clear line and an exit code.

``UsageError`` (exit 2): the command line or a spec string is wrong (unknown
method, invalid noise spec, missing input path, bad option).
``InputError`` (exit 1): an input exists but cannot be used (unreadable or
corrupt image, NaN/inf values, wrong shape, incompatible model file).
``Noise2xError`` (exit 1): any other runtime failure the user can act on;
``MissingDependency`` (exit 1), one of them: an optional package is not installed; ``WriteFailed`` (exit 1),
another: the system refused to write a file (a full disk, a quota).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def escaped(text: str) -> str:
    """``text`` with its control characters (a terminal's escape sequences, line breaks, carriage returns) written
    as ``\\xNN``: a file name or a model file's text cannot forge or hide noise2x's own lines; a file name's bytes
    that are not UTF-8 (held as surrogate escapes, as Python reads them) as ``\\xNN`` of each byte."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()) % 0xdc00:02x}", text)


class Noise2xError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code = 1


class UsageError(Noise2xError, ValueError):
    """The command line, an option or a spec string is invalid."""

    exit_code = 2


class InputError(Noise2xError, ValueError):
    """An input file or array exists but cannot be used."""

    exit_code = 1


class WriteFailed(Noise2xError):
    """The system refused to write a file (a full disk or quota, a size limit, an I/O error); nothing of it was
    left."""

    exit_code = 1


class MissingDependency(Noise2xError, ImportError):
    """An optional package a file format or method needs is not installed (the message names what to install);
    an ImportError too, so that ``except ImportError`` catches it."""

    exit_code = 1


class TrainingInterrupted(Noise2xError):
    """Training stopped early (Ctrl-C, a stop signal or a callback); the state is saved for ``--resume``."""

    exit_code = 130


#: seconds after a stop signal in which another is taken for the same stop, and ignored (timeout(1) signals the
#: command, then its process group: the second came while bench kept its finished images, and lost them)
REPEATED_STOP_S = 1.0


def stop_signals() -> list[int]:
    """The signals noise2x takes as a stop, as Ctrl-C (SIGINT; SIGTERM: a job scheduler's time limit; SIGHUP: the
    ssh connection or terminal went away; Windows' Ctrl+Break), less those ignored (nohup's SIGHUP, the SIGINT of
    a job a shell started with &), which stay ignored."""
    import signal

    wanted = (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None), getattr(signal, "SIGBREAK", None))
    return [s for s in wanted if s is not None and signal.getsignal(s) not in (signal.SIG_IGN, None)]


class Terminated(KeyboardInterrupt):
    """The process was asked to end (SIGTERM: a job scheduler's time limit, ``kill``; SIGHUP: the terminal or
    the ssh connection it ran in went away): raised where it is, as Ctrl-C's KeyboardInterrupt is, so that an
    output being written is removed, not left half-written; the CLI ends with status 128 + the signal's number
    (143, 129), and training stops after its step with its state saved, as on a first Ctrl-C."""

    def __init__(self, *args: object, signum: int = 15) -> None:
        super().__init__(*args)
        self.signum = signum  # (15: SIGTERM, 1: SIGHUP)

    @property
    def signal_name(self) -> str:
        import signal

        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


class Noise2xWarning(UserWarning):
    """Base class of noise2x's warning categories about an image, a call or a training run's data
    (:class:`UnitsWarning`, :class:`TrainUnitsWarning`, :class:`NoteWarning`, :class:`noise2x.io.ClippingWarning`):
    one class a caller filters or collects them by. Others (a file's layout or metadata) are plain UserWarnings."""


class UnitsWarning(Noise2xWarning):
    """An image given to a model lies outside what it learned: it looks to be in other units than its training
    data, or (a shipped model) its noise is weaker than the model handles well
    (:meth:`noise2x.predict.Denoiser.units_warning`)."""


class TrainUnitsWarning(UnitsWarning):
    """A training run's data in units that do not fit one another or its settings (data2 or val_data beside data,
    a blind-spot noise model's ``data_range``): said by :func:`noise2x.train.train`, which the CLI shows as it is
    (it leaves other UnitsWarnings to its own notes)."""


class NoteWarning(Noise2xWarning):
    """Advice on a call to :func:`noise2x.denoise` that the caller may act on (an argument not used, an image read
    in a way its layout or noise may not fit), issued where no ``progress`` callback is given; with one, it gets
    the note as a line instead."""


def _ours(frame) -> bool:
    """Whether a stack frame runs noise2x's own code."""
    return str(frame.f_globals.get("__name__", "")).split(".")[0] == "noise2x"


def called_from_outside() -> bool:
    """Whether the function calling this one was called from outside noise2x (a user's code)."""
    import sys

    return not _ours(sys._getframe(2))


def warn_outside(warning: Warning) -> None:
    """Issue ``warning`` at the first caller outside noise2x (its file and line in the message shown): a fixed
    stack level pointed inside noise2x where a call went through another of its functions (``denoise(threads=)``,
    ``axes=``, ``NoiseSpec.apply``: a QA re-check)."""
    import sys
    import warnings

    level, frame = 2, sys._getframe(1)
    while frame is not None and _ours(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(warning, stacklevel=level)
