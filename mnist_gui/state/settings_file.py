"""The settings file, read and written without Qt: Qt's INI format, with nothing in it trusted.

Why not ``QSettings``: it parses the whole file on first use, and a ``@Variant(...)`` value in it is
handed to ``QDataStream``, where a list declaring two billion entries aborts the process
(``std::bad_alloc``) before any of our checks can run. A hand-edited, damaged or hostile settings
file would then stop the window from starting until the user found and deleted it.

:class:`SettingsFile` reads the same files (``[section]`` headers, ``key=value`` lines, Qt's quoting
and backslash escapes, ``@ByteArray(...)``) and writes files Qt can read, but it only ever returns
plain text (or bytes, for ``@ByteArray``): every ``@Variant``, ``@DateTime``, list or otherwise odd
value is simply unusable, and the typed readers in :mod:`mnist_gui.ui.settings` turn it into its
default. Nothing here raises on bad content: the file may be missing, a folder, a FIFO, huge,
unreadable, not UTF-8 or binary garbage; each problem is recorded in :attr:`SettingsFile.problems`
(for one warning) and the values read as absent.

Writes are atomic (:mod:`mnist_gui.atomic`) and merge: the file is read again just before writing and
only the keys this process changed replace what is there, so two windows do not undo each other's
settings. A file that cannot be written is a problem recorded, never an exception.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Iterator

from mnist_gui.atomic import atomic_write

__all__ = ["SettingsFile", "MAX_FILE_BYTES", "MAX_VALUE_CHARS"]

#: A settings file larger than this is not ours (ours is well under 10 KB): it is ignored whole.
MAX_FILE_BYTES = 1 << 20
#: A value longer than this (in characters, as stored) reads as absent.
MAX_VALUE_CHARS = 64 * 1024
_GENERAL = "General"   # Qt's section for keys without one
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            '"': '"', "'": "'", "?": "?", "\\": "\\"}
_WRITE_ESCAPES = {"\0": "\\0", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\v": "\\v", '"': '\\"', "\\": "\\\\"}
_HEX = "0123456789abcdefABCDEF"


class Unusable:
    """A stored value that cannot be one of ours (a list, a ``@Variant``, ...): reads as absent."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Unusable({self.why!r})"


class SettingsFile:
    """``key -> value`` of one INI file (keys are ``"section/name"``), as text or bytes.

    :meth:`value` returns ``str``, ``bytes`` (a ``@ByteArray``), or None when the key is absent or
    its value is unusable. :meth:`set_value` stores ``str``, bytes-like, ``bool``, ``int`` or
    ``float`` (None removes the key) and writes the file at once, or when the outermost
    :meth:`batch` ends.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.problems: list[str] = []
        self._raw: dict[str, str] = {}        # key -> the value's text as stored (still escaped)
        self._changed: dict[str, str | None] = {}
        self._batch = 0
        self._raw = self._read(self.problems)

    # -- reading ------------------------------------------------------------------------------------
    def value(self, key: str) -> str | bytes | None:
        if key in self._changed:
            raw = self._changed[key]
        else:
            raw = self._raw.get(key)
        if raw is None:
            return None
        parsed = parse_value(raw)
        return None if isinstance(parsed, Unusable) else parsed

    def _read(self, problems: list[str]) -> dict[str, str]:
        """The file's entries; ``{}`` (with a problem noted) if it cannot be used at all."""
        text = _read_text(self.path, problems)
        return {} if text is None else parse_ini(text)

    # -- writing ------------------------------------------------------------------------------------
    def set_value(self, key: str, value) -> None:
        self._changed[key] = None if value is None else escape_value(value)
        if not self._batch:
            self.write()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Set several values with one write of the file, when the outermost batch ends."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if not self._batch and self._changed:
                self.write()

    def write(self) -> bool:
        """Merge this process's changes into the file as it is now and write it atomically.
        Returns False (and notes a problem) if it cannot be written."""
        if not self._changed:
            return True
        current = self._read([])   # what another process may have written meanwhile
        for key, raw in self._changed.items():
            if raw is None:
                current.pop(key, None)
            else:
                current[key] = raw
        text = format_ini(current)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, lambda fh: fh.write(text.encode("utf-8")))
        except (OSError, ValueError) as exc:
            self._note(f"{self.path}: cannot write the settings: {getattr(exc, 'strerror', None) or exc}")
            return False
        self._raw, self._changed = current, {}
        return True

    def _note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)


def _read_text(path: Path, problems: list[str]) -> str | None:
    """The file's text (UTF-8, undecodable bytes replaced), or None if it is absent or unusable."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: cannot read the settings: {getattr(exc, 'strerror', None) or exc}")
        return None
    if not stat.S_ISREG(st.st_mode):   # a folder, a FIFO (opening it would block), a device
        problems.append(f"{path}: the settings file is not a regular file; defaults are used")
        return None
    if st.st_size > MAX_FILE_BYTES:
        problems.append(f"{path}: the settings file is implausibly large ({st.st_size:,} bytes); "
                        "defaults are used")
        return None
    try:
        # O_NONBLOCK: if the file was swapped for a FIFO since the stat, opening it does not block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                problems.append(f"{path}: the settings file is not a regular file; defaults are used")
                return None
            data = fh.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: cannot read the settings: {getattr(exc, 'strerror', None) or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        problems.append(f"{path}: the settings file is implausibly large; defaults are used")
        return None
    return data.decode("utf-8", errors="replace")


# -- the INI format ------------------------------------------------------------------------------------
def parse_ini(text: str) -> dict[str, str]:
    """``{"section/key": raw value text}`` for every well-formed ``key=value`` line (later lines win).
    Lines that are neither a section, a comment nor ``key=value`` are skipped, as Qt skips them."""
    entries: dict[str, str] = {}
    section = ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        # A value continues on the next line after a backslash at the end (Qt writes none, reads them).
        while line.endswith("\\") and not line.endswith("\\\\") and i < len(lines):
            line = line[:-1] + lines[i]
            i += 1
        stripped = line.strip(" \t")
        if not stripped or stripped[0] in ";#":
            continue
        if stripped[0] == "[":
            end = stripped.find("]")
            section = _unescape_key(stripped[1:end if end > 0 else len(stripped)]).strip()
            if section.lower() == _GENERAL.lower():
                section = ""
            continue
        key, eq, raw = line.partition("=")
        key = _unescape_key(key.strip())
        if not eq or not key:
            continue
        full = (f"{section}/{key}" if section else key).replace("\\", "/")
        entries[full] = raw.strip(" \t")
    return entries


def format_ini(entries: dict[str, str]) -> str:
    """INI text for ``{"section/key": raw value text}``: keys grouped by their first part."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for full, raw in entries.items():
        section, _, key = full.rpartition("/") if "/" in full else ("", "", full)
        if "/" in section:   # deeper keys: Qt writes a/b/c as [a] b\c
            section, _, rest = section.partition("/")
            key = rest.replace("/", "\\") + "\\" + key
        sections.setdefault(section or _GENERAL, []).append((_escape_key(key), raw))
    out = []
    for section in sorted(sections, key=lambda s: (s != _GENERAL, s)):
        out.append(f"[{_escape_key(section)}]")
        out += [f"{key}={raw}" for key, raw in sorted(sections[section])]
        out.append("")
    return "\n".join(out)


def _unescape_key(key: str) -> str:
    """Qt percent-encodes unusual characters in keys (%XX, %UXXXX)."""
    if "%" not in key:
        return key
    out, i = [], 0
    while i < len(key):
        if key[i] == "%" and key[i + 1:i + 2] == "U" and _all_hex(key[i + 2:i + 6], 4):
            out.append(chr(int(key[i + 2:i + 6], 16)))
            i += 6
        elif key[i] == "%" and _all_hex(key[i + 1:i + 3], 2):
            out.append(chr(int(key[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def _escape_key(key: str) -> str:
    out = []
    for ch in key:
        if ch.isascii() and (ch.isalnum() or ch in "-_.\\ "):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(f"%U{ord(ch) & 0xFFFF:04X}")
    return "".join(out)


def _all_hex(text: str, n: int) -> bool:
    return len(text) == n and all(c in _HEX for c in text)


def parse_value(raw: str) -> str | bytes | Unusable:
    """One stored value: text, bytes for ``@ByteArray(...)``, or :class:`Unusable`."""
    if len(raw) > MAX_VALUE_CHARS:
        return Unusable("too long")
    items = _unescape_list(raw)
    if len(items) != 1:
        return Unusable("a list")
    text = items[0]
    if not text.startswith("@"):
        return text
    if text.startswith("@@"):
        return text[1:]
    if text.startswith("@String(") and text.endswith(")"):
        return text[8:-1]
    if text.startswith("@ByteArray(") and text.endswith(")"):
        try:
            return text[11:-1].encode("latin-1")
        except UnicodeEncodeError:
            return Unusable("a byte array with characters beyond one byte")
    return Unusable(f"a {text[:12]!r}... value (not one this application writes)")


def _unescape_list(raw: str) -> list[str]:
    """Qt's reading of a value: quotes, backslash escapes, ``;`` comments, ``,`` separating items;
    spaces and tabs around an item are dropped unless quoted or escaped."""
    items: list[str] = []
    current: list[str] = []
    keep = 0            # len(current) up to the last character that is not a droppable space
    quoted = False
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == '"':
            quoted = not quoted
            keep = len(current)
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            esc = raw[i + 1]
            i += 2
            if esc in _ESCAPES:
                current.append(_ESCAPES[esc])
            elif esc in "xX":
                j = i
                while j < n and raw[j] in _HEX and j - i < 8:
                    j += 1
                current.append(chr(int(raw[i:j], 16) & 0xFFFF) if j > i else "x")
                i = j
            elif "0" <= esc <= "7":
                j = i
                while j < n and "0" <= raw[j] <= "7" and j - i < 10:
                    j += 1
                current.append(chr(int(esc + raw[i:j], 8) & 0xFFFF))
                i = j
            else:
                current.append(esc)
            keep = len(current)
            continue
        i += 1
        if not quoted and ch == ";":
            break
        if not quoted and ch == ",":
            items.append("".join(current[:keep]))
            current, keep = [], 0
        elif not quoted and ch in " \t":
            if current:
                current.append(ch)   # kept only if something follows
        else:
            current.append(ch)
            keep = len(current)
    items.append("".join(current[:keep]))
    return items


def escape_value(value) -> str:
    """The stored text for a value, quoted and escaped as Qt writes it (Qt reads it back the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        text, byte_array = ("@" + value if value.startswith("@") else value), False
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text, byte_array = "@ByteArray(" + bytes(value).decode("latin-1") + ")", True
    elif hasattr(value, "data") and callable(value.data):   # a QByteArray
        return escape_value(bytes(value.data()))
    else:
        raise TypeError(f"cannot store a {type(value).__name__} in the settings")
    out: list[str] = []
    needs_quotes = False
    escape_next_if_hex = False
    for ch in text:
        if ch in ";,=":
            needs_quotes = True
        if escape_next_if_hex and ch in _HEX:
            out.append(f"\\x{ord(ch):x}")
            continue
        escape_next_if_hex = False
        if ch in _WRITE_ESCAPES:
            out.append(_WRITE_ESCAPES[ch])
            escape_next_if_hex = ch == "\0"
        elif ord(ch) <= 0x1F or (byte_array and ord(ch) >= 0x7F) or 0xD800 <= ord(ch) <= 0xDFFF:
            # (a lone surrogate is a file name's undecodable byte: it survives as \xdcNN)
            out.append(f"\\x{ord(ch):x}")
            escape_next_if_hex = True
        else:
            out.append(ch)
    result = "".join(out)
    if needs_quotes or result.startswith(" ") or result.endswith(" "):
        result = f'"{result}"'
    return result
