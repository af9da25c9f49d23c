"""One exception type per kind of bad input, each with a message a person can act on.

Readers, loaders and validators raise these; the CLI turns them into ``error: ...`` and exit
code 2, the GUI into a dialog. Anything else escaping is a bug. A message names its file through
:func:`display_name`, so a hostile name cannot break the one ``error:`` line or drive a terminal.
"""

from __future__ import annotations

import os

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def display_name(path: str | bytes | os.PathLike) -> str:
    """A file name as a message shows it: printable characters as they are; a newline, an ANSI escape
    (ESC), any other control or invisible formatting character (such as a right-to-left override)
    escaped Python-style (``\\n``, ``\\x1b``, ``\\u202e``); and the bytes that are not valid in the
    file system's encoding (kept by Python as lone surrogates) as ``\\xff``. Ordinary names are
    unchanged."""
    text = os.fsdecode(path) if isinstance(path, bytes) else os.fspath(path)
    if isinstance(text, bytes):   # a PathLike giving bytes
        text = os.fsdecode(text)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:   # a byte the file system's encoding could not decode
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


class MnistGuiError(Exception):
    """Base of every error this application reports to its user."""


class DatasetError(MnistGuiError):
    """A dataset file or folder is missing, malformed or fails its checksum."""


class DownloadError(DatasetError):
    """A dataset download failed, was cancelled, or delivered something unverifiable."""


class ModelFileError(MnistGuiError):
    """A model file cannot be read, is malformed, or cannot be written."""


class ConfigError(MnistGuiError):
    """Invalid training hyper-parameters or preset name.

    ``field`` names the setting the message is about (a :class:`~mnist_gui.training.TrainingConfig`
    field such as ``"lr"``), or is None when no single setting is to blame, so a form can show the
    message beside the right field without guessing from its wording.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ImageError(MnistGuiError):
    """An image given to ``predict`` cannot be read or used."""


class PredictionError(MnistGuiError):
    """A model cannot compute probabilities for an input: its outputs overflow to infinity or NaN.

    Loading refuses weights that overflow on its probe images, but a model can pass that check and
    still overflow on a real digit; a probability that cannot be computed is this error, never a
    number (no NaN reaches a chart, a printout or a JSON line)."""


class LoadCancelled(DatasetError):
    """Loading a dataset was stopped (the window is closing): not a verdict on the files."""


class LibraryError(MnistGuiError):
    """The library of runs cannot do what was asked: an unknown run, a read-only one, or a write
    that failed (the library is then left as it was)."""
