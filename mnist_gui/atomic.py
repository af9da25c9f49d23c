"""Atomic file writes: a temporary file in the target folder, fsync, then rename.

An interrupted write (crash, SIGKILL, full disk) leaves either the old file or the new one,
never a half-written file, and never a stray temporary file in place of the target.

What a target may be (:func:`writable_target`, the one rule for every file the application writes):
a regular file or a name not taken yet, in a folder that exists. A **symbolic link is written
through**: the file it points to is replaced, atomically, and the link stays a link (renaming over the
link itself would silently cut it). Anything else is **refused**, before a byte is written: a folder,
a FIFO (the rename would replace it; opening it would block), a device such as ``/dev/null`` (as root
the rename would replace the device node with a regular file) or a socket.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from pathlib import Path
from typing import IO, Callable, Iterator

from mnist_gui.errors import display_name
from mnist_gui.files import kind_of


def _create_temporary(directory: Path, name: str) -> tuple[int, str]:
    """Create a new, empty temporary file beside the target, as ``open(path, "w")`` would: mode 0666
    less the process umask, which the kernel applies itself (``mkstemp`` makes private 0600 files, which
    would make every saved model unreadable to others, and reading the umask means setting it)."""
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {directory / name}")


def writable_target(path: str | os.PathLike, probe: bool = False) -> Path:
    """The file a write to ``path`` replaces (symbolic links followed), or OSError saying why it may not
    be written: a folder, FIFO, device or socket there, a missing folder, a folder that is not one;
    with ``probe``, also a folder where no file can be created (read-only, no permission, no space
    for a directory entry), found by creating and removing an empty temporary file there."""
    target = Path(os.path.realpath(path))   # through every link, even a dangling one's destination
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL,
                      f"it is {kind_of(st.st_mode)}, not a regular file; refusing to replace it", os.fspath(path))
    folder = target.parent
    if not folder.is_dir():
        raise OSError(errno.ENOENT, f"the folder {display_name(folder)} does not exist" if not folder.exists()
                      else f"{display_name(folder)} is not a folder", os.fspath(path))
    if probe:
        fd, tmp = _create_temporary(folder, target.name)
        os.close(fd)
        os.unlink(tmp)
    return target


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``'s target (see :func:`writable_target`: links are written
    through, folders, FIFOs, devices and sockets refused); on clean exit fsync it and rename it over the
    target. An existing target's permissions carry over to the new file."""
    target = writable_target(path)
    directory = target.parent
    fd, tmp_name = _create_temporary(directory, target.name)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            with contextlib.suppress(OSError):
                os.fchmod(fh.fileno(), target.stat().st_mode & 0o777)   # FileNotFoundError: a new file
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(directory)
    _remove_stale_temporaries(directory, target.name)


# A writer killed outright (SIGKILL, power loss) cannot remove its temporary file. The next
# successful write of the same target removes such leftovers, but only old ones: a younger one may
# belong to another process writing the same file right now.
STALE_TEMPORARY_SECONDS = 3600


def _remove_stale_temporaries(directory: Path, name: str) -> None:
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for leftover in directory.glob(f".{name}.*.tmp"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def atomic_write(path: str | os.PathLike, writer: Callable[[IO], None], mode: str = "wb") -> None:
    """Call ``writer(fh)`` on a temporary file and atomically move it to ``path``."""
    with atomic_open(path, mode) as fh:
        writer(fh)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable; silently skipped where folders cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
