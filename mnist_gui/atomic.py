"""Atomic file writes: a temporary file in the target folder, fsync, then rename.

An interrupted write (crash, SIGKILL, full disk) leaves either the old file or the new one,
never a half-written file, and never a stray temporary file in place of the target.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import IO, Callable, Iterator


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


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit fsync it and rename it over ``path``.
    An existing target's permissions carry over to the new file."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
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
