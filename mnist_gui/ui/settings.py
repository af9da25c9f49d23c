"""The application's settings, by name: an INI file in the user's config folder (tests redirect it).

Every value is read through a typed property that checks what it finds: a hand-edited, damaged or
hostile file gives the default for that value and never stops the window from starting. The file
itself is read by :class:`~mnist_gui.state.settings_file.SettingsFile`, never by ``QSettings``
(which aborts the process on some ``@Variant`` values), and nothing stored is handed to Qt as an
opaque blob: ``restoreGeometry``/``QSplitter.restoreState`` hang or misbehave on damaged blobs, so the
window's rectangle and the splitters' sizes are stored as plain numbers that are checked here.
``QSettings`` only says *where* the file is (so ``QSettings.setPath`` still redirects it), and
is never even pointed at our file (see :func:`settings_path`).

Problems (an unreadable file, a value that had to be replaced by its default) are collected in
:attr:`Settings.problems`, for one warning in the status bar at most.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from mnist_gui.state.settings_file import SettingsFile

ORGANIZATION = APPLICATION = "mnist-gui"
_PROBE = "mnist-gui-settings-location-probe"   # a name no file is ever written under
#: Longest path accepted from the settings (longer ones are not paths we wrote).
MAX_PATH_CHARS = 4096
#: Window sides and positions outside these bounds are not a window we saved.
MAX_SIDE = 30000


def _text(value) -> str | None:
    """Non-empty text without NUL (a NUL in a path makes every os call raise ValueError)."""
    if isinstance(value, str) and value and "\0" not in value and len(value) <= MAX_PATH_CHARS:
        return value
    return None


def _int_in(low: int, high: int):
    def read(value) -> int | None:
        if not isinstance(value, str) or len(value) > 12:
            return None
        try:
            number = int(value.strip())   # an INI file stores numbers as text
        except ValueError:
            return None
        return number if low <= number <= high else None
    return read


def _ints(value, count: int | None = None) -> tuple[int, ...] | None:
    """Comma-separated whole numbers (at most 16 of them), or None."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        numbers = tuple(int(part) for part in value.replace(" ", "").split(","))
    except ValueError:
        return None
    if not 1 <= len(numbers) <= 16 or (count is not None and len(numbers) != count):
        return None
    return numbers


def _rectangle(value) -> tuple[int, int, int, int] | None:
    """x, y, width, height of the window as saved; None if any is implausible."""
    numbers = _ints(value, 4)
    if numbers is None:
        return None
    x, y, w, h = numbers
    if not (-MAX_SIDE <= x <= MAX_SIDE and -MAX_SIDE <= y <= MAX_SIDE and 50 <= w <= MAX_SIDE and 50 <= h <= MAX_SIDE):
        return None
    return numbers


def _sizes(value) -> tuple[int, ...] | None:
    """A splitter's pane sizes in pixels; None if any is implausible."""
    numbers = _ints(value)
    if numbers is None or not all(0 <= n <= MAX_SIDE for n in numbers) or sum(numbers) == 0:
        return None
    return numbers


def _bool(value) -> bool | None:
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def _json_dict(value) -> dict:
    try:
        parsed = json.loads(value) if _text(value) else {}
    except (ValueError, RecursionError, MemoryError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _join(numbers) -> str:
    return ",".join(str(int(n)) for n in numbers)


def settings_path() -> Path:
    """Where Qt keeps our INI file (``QSettings.setPath`` redirects it, as the tests do).

    Asked of a ``QSettings`` for a made-up application, never ours: constructing one opens its file,
    and if ours were a FIFO that open would block for ever (reading it would be worse, see above).
    """
    probe = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, _PROBE, _PROBE)
    base = Path(probe.fileName()).parent.parent
    return base / ORGANIZATION / f"{APPLICATION}.ini"


class _Value:
    """One setting: its key, how a stored value is checked on reading (anything unusable becomes the
    default the reader returns), and how a value is stored (None removes it)."""

    def __init__(self, key: str, read, store=lambda value: value, doc: str = "") -> None:
        self.key, self.read, self.store, self.__doc__ = key, read, store, doc

    def __get__(self, settings: "Settings", owner=None):
        if settings is None:
            return self
        stored = settings._s.value(self.key)
        value = self.read(stored)
        # (bytes are an older version's Qt blob for the window's layout: silently replaced)
        if isinstance(stored, str) and value in (None, {}) and stored not in ("", "{}"):
            settings._note(f"the setting {self.key} was unusable; its default is used")
        return value

    def __set__(self, settings: "Settings", value) -> None:
        settings._s.set_value(self.key, None if value is None else self.store(value))


class Settings:
    """Named, typed access to the settings file; reading a bad value gives its default."""

    geometry = _Value("window/geometry", _rectangle, _join, "The window's x, y, width, height (None: default).")
    maximized = _Value("window/maximized", _bool, bool)
    main_splitter = _Value("window/main_splitter", _sizes, _join, "Pane sizes of the left/right splitter.")
    right_splitter = _Value("window/right_splitter", _sizes, _join, "Pane sizes of the top/bottom splitter.")
    training_fields = _Value("training/fields", _json_dict, json.dumps,
                             "The training panel's fields as its ``state_dict`` gave them ({} if unreadable).")
    pen_width = _Value("canvas/pen_width", _int_in(1, 1000), int)
    dataset_path = _Value("dataset/path", _text, lambda v: v or "", "The dataset in use (None: the bundled copy).")
    last_model = _Value("model/last", _text, lambda v: v or "",
                        "The model file older versions reopened at start: imported into the library once, then "
                        "cleared (the library remembers the current model now).")

    def __init__(self) -> None:
        self._s = SettingsFile(settings_path())

    @property
    def file(self) -> Path:
        """The settings file."""
        return self._s.path

    @property
    def folder(self) -> Path:
        """The folder the settings file lives in (the last trained model is kept beside it)."""
        return self._s.path.parent

    @property
    def problems(self) -> list[str]:
        """What was wrong with the file or its values so far (each once); empty when all was well."""
        return list(self._s.problems)

    def _note(self, problem: str) -> None:
        self._s._note(problem)

    def batch(self):
        """``with settings.batch(): ...`` sets several values with one write of the file."""
        return self._s.batch()

    def sync(self) -> None:
        self._s.write()

