"""Opening files we did not write: regular files only, never blocking, never read beyond a limit.

A path given by a user (or found in the settings) may name a FIFO (opening it blocks until someone
writes to it), a device (``/dev/zero`` never ends), a folder or a socket. :func:`open_regular` refuses
all of them *before* opening, from ``stat``; it then opens with ``O_NONBLOCK`` (so a file swapped for a
FIFO in between does not block either) and checks the opened file again with ``fstat``. Every reader
of untrusted files uses it and maps its ``OSError`` to the error type of its kind.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

__all__ = ["open_regular", "read_regular", "kind_of", "NotRegularFile", "FileTooLarge"]

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """The path names a FIFO, a device or a socket (a folder is :class:`IsADirectoryError`)."""


def kind_of(mode: int) -> str:
    """What a ``st_mode`` that is not a regular file is, for a message: "a folder", "a FIFO"..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse(mode: int, path) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFile(errno.EINVAL, f"is {kind_of(mode)}, not a regular file", os.fspath(path))


def open_regular(path: str | bytes | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading if (and only if) it is a regular file (symbolic links are
    followed). Raises FileNotFoundError, IsADirectoryError, :class:`NotRegularFile`, PermissionError
    or another OSError; ValueError (a NUL in the name) becomes an OSError too."""
    try:
        _refuse(os.stat(path).st_mode, path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0))
    except ValueError as exc:   # "embedded null byte"
        raise OSError(errno.EINVAL, "the name contains a NUL character", os.fspath(path)) from exc
    try:
        _refuse(os.fstat(fd).st_mode, path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)   # a regular file: reads never block anyway
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | bytes | os.PathLike, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_regular`);
    raises :class:`FileTooLarge` for a larger one, without reading more than ``max_bytes + 1``."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise FileTooLarge(size, max_bytes)
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:   # it grew while we read it
        raise FileTooLarge(len(data), max_bytes)
    return data


class FileTooLarge(OSError):
    """A file is larger than its reader accepts (``size`` bytes, limit ``limit``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"the file is too large ({size:,} bytes; at most {limit:,} are accepted)")
        self.size, self.limit = size, limit
