"""Atomic file writes: a temporary file in the target folder, fsync, then rename.

An interrupted write (crash, SIGKILL, full disk) leaves either the old file or the new one,
never a half-written file, and never a stray temporary file in place of the target.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Callable, Iterator


def _umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread exists.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _final_mode(target: Path) -> int:
    """The replaced file's permissions, or what a plain ``open(path, "w")`` would give (mkstemp
    creates private 0600 files, which would make every saved model unreadable to others)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit fsync it and rename it over ``path``."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            with contextlib.suppress(OSError, AttributeError):
                os.fchmod(fh.fileno(), _final_mode(target))
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
