"""The application's settings, by name: an INI file in the user's config folder (tests redirect it).

Every value is read through a typed property that checks what it finds: a hand-edited or damaged
file gives the default for that value and never stops the window from starting.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = APPLICATION = "mnist-gui"


def _bytes(value) -> QByteArray | None:
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _pen_width(value) -> int | None:
    try:
        number = int(value)   # an INI file stores numbers as text
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 1 <= number <= 1000 else None


def _json_dict(value) -> dict:
    try:
        parsed = json.loads(value) if _text(value) else {}
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


class _Value:
    """One setting: its key, how a stored value is checked on reading (anything unusable becomes the
    default the reader returns), and how a value is stored."""

    def __init__(self, key: str, read, store=lambda value: value, doc: str = "") -> None:
        self.key, self.read, self.store, self.__doc__ = key, read, store, doc

    def __get__(self, settings: "Settings", owner=None):
        return self if settings is None else self.read(settings._s.value(self.key))

    def __set__(self, settings: "Settings", value) -> None:
        settings._s.setValue(self.key, self.store(value))


class Settings:
    """Named, typed access to the settings file; reading a bad value gives its default."""

    geometry = _Value("window/geometry", _bytes)
    main_splitter = _Value("window/main_splitter", _bytes)
    right_splitter = _Value("window/right_splitter", _bytes)
    training_fields = _Value("training/fields", _json_dict, json.dumps,
                             "The training panel's fields as its ``state_dict`` gave them ({} if unreadable).")
    pen_width = _Value("canvas/pen_width", _pen_width, int)
    dataset_path = _Value("dataset/path", _text, lambda v: v or "", "The dataset in use (None: the bundled copy).")
    last_model = _Value("model/last", _text, lambda v: v or "",
                        "The model file older versions reopened at start: imported into the library once, then "
                        "cleared (the library remembers the current model now).")

    def __init__(self) -> None:
        self._s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)

    @property
    def folder(self) -> Path:
        """The folder the settings file lives in (the last trained model is kept beside it)."""
        return Path(self._s.fileName()).parent

    def sync(self) -> None:
        self._s.sync()
