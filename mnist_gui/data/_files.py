"""What the dataset readers share: turning operating-system failures into one clear DatasetError."""

from __future__ import annotations

import contextlib
from typing import Iterator

from mnist_gui.errors import DatasetError


@contextlib.contextmanager
def reading(name: str) -> Iterator[None]:
    """Map file-system failures while reading ``name`` to a DatasetError that names the file."""
    try:
        yield
    except FileNotFoundError:
        raise DatasetError(f"{name}: file not found") from None
    except PermissionError:
        raise DatasetError(f"{name}: cannot read the file: permission denied") from None
    except OSError as exc:
        raise DatasetError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    except MemoryError:
        raise DatasetError(f"{name}: not enough memory to read the file") from None
