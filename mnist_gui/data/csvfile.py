"""Read MNIST in its common CSV form: one image per row, the label first, then 784 pixel values.

::

    label,pixel0,pixel1,...,pixel783      <- optional header row
    5,0,0,0,...,0
    0,0,0,0,...,0

The header is recognised by its first row holding letters ("label", "1x1", ...). Blank lines are
ignored. Labels must be digits 0-9 and pixels whole numbers 0-255.

Speed and precise errors pull in opposite directions, so there are two paths. The fast path hands
the whole file to NumPy's C parser (``np.loadtxt`` straight into ``uint8``, which refuses anything
that is not a whole number 0-255): about a second for the 60,000-row training file. Only when that
fails does the careful path walk the file line by line to find the first bad line and say exactly
what is wrong with it; it also accepts the rare valid files the fast path trips over (lines of
only spaces). Files with old Mac ``\\r`` line ends get a second fast attempt with ``\\n``. Every
problem raises :class:`~mnist_gui.errors.DatasetError` whose message starts with the file's path.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

from mnist_gui.data._files import reading
from mnist_gui.digits import PIXELS
from mnist_gui.errors import DatasetError

__all__ = ["read_csv", "N_COLUMNS"]

#: Columns per row: the label, then the pixels.
N_COLUMNS = 1 + PIXELS

_LETTER = re.compile(rb"[A-Za-z]")
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_STRICT_ROW = re.compile(rb"(?:[+-]?[0-9]+,){%d}[+-]?[0-9]+" % (N_COLUMNS - 1))
_SPACE = re.compile(rb"[ \t\v\f]+")
_DIGIT_SPACE_DIGIT = re.compile(rb"[0-9+-][ \t\v\f]+[0-9]")
_BOM = b"\xef\xbb\xbf"
# The line ends bytes.splitlines() knows, so line numbers agree everywhere.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def read_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST CSV file into ``(images, labels)``.

    ``images`` is ``(N, 784)`` uint8 and ``labels`` ``(N,)`` uint8, both C-contiguous. Raises
    :class:`DatasetError` naming the file (and the line, where there is one) for an empty file, a
    header without data, rows with the wrong number of values, values that are not whole numbers,
    pixels outside 0-255 and labels outside 0-9.
    """
    name = os.fspath(path)
    data = _read_bytes(Path(path), name)
    if data.startswith(_BOM):  # Excel writes one; it would glue itself to the first value
        data = data[len(_BOM):]
    if not data or data.isspace():  # (isspace stops at the first visible byte: no copy)
        raise DatasetError(f"{name}: empty file")

    if b"\0" in data[:4096]:
        what = "gzip-compressed data" if data[:2] == b"\x1f\x8b" else "binary data"
        raise DatasetError(f"{name}: not a CSV text file (it holds {what})")

    first_index, first = _first_row(data)
    skip = 0  # physical lines before the first data row, for the parsers to pass over
    if _LETTER.search(first):
        n_header = first.count(b",") + 1
        if n_header != N_COLUMNS:
            raise DatasetError(f"{name}: line {first_index + 1}: the header has {n_header} "
                               f"columns, expected {N_COLUMNS} (label + {PIXELS} pixels)"
                               f"{_unlabelled_hint(n_header)}")
        skip = first_index + 1

    table = _parse_fast(data, skip)
    if table is None and data.count(b"\r") != data.count(b"\r\n"):
        # Lone \r line ends (old Mac) are all loadtxt cannot split; as \n the line count, and
        # so every line number, stays the same.
        table = _parse_fast(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), skip)
    if table is None:
        table = _parse_careful(data, skip, name)
    if table.shape[0] == 0:
        raise DatasetError(f"{name}: no data rows after the header")

    labels = np.ascontiguousarray(table[:, 0])
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        row = int(bad[0])
        raise DatasetError(f"{name}: line {_line_of_row(data, skip, row)}: label {labels[row]} "
                           "is not a digit 0-9")
    images = np.ascontiguousarray(table[:, 1:])
    return images, labels


def _read_bytes(p: Path, name: str) -> bytes:
    with reading(name):
        mode = p.stat().st_mode  # before opening: a FIFO or device could block or never end
        if stat.S_ISDIR(mode):
            raise DatasetError(f"{name}: is a folder, not a CSV file")
        if not stat.S_ISREG(mode):
            raise DatasetError(f"{name}: not a regular file")
        return p.read_bytes()


def _first_row(data: bytes) -> tuple[int, bytes]:
    """0-based line index and content of the first non-blank line (without splitting the file)."""
    start = len(data) - len(data.lstrip())
    end = _LINE_BREAK.search(data, start)
    index = len(_LINE_BREAK.findall(data, 0, start))
    return index, data[start:end.start() if end else len(data)]


def _parse_fast(data: bytes, skip: int) -> np.ndarray | None:
    """The whole file through NumPy's C parser; None if it objects to anything."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" for a header-only file
            table = np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.uint8, comments=None,
                               skiprows=skip, ndmin=2, quotechar=None)
    except (ValueError, OverflowError):
        return None
    if table.shape[0] == 0 or table.shape[1] != N_COLUMNS:
        # The careful path names the bad line; and "no rows" may just mean line ends that
        # loadtxt does not split on (a lone \r), so it gets a second opinion too.
        return None
    return table


def _parse_careful(data: bytes, skip: int, name: str) -> np.ndarray:
    """Line by line: return the table, or raise for the first bad line with the exact reason."""
    rows: list[np.ndarray] = []
    for index, raw in enumerate(data.splitlines()):
        if index < skip:
            continue
        line = raw.strip()
        if not line:
            continue
        lineno = index + 1
        count = line.count(b",") + 1
        if count != N_COLUMNS:
            raise DatasetError(f"{name}: line {lineno}: {count} values, expected {N_COLUMNS} "
                               f"(label + {PIXELS} pixels){_unlabelled_hint(count)}")
        # np.fromstring is lenient (a blank field or a lone "+" reads as 0), so it only gets
        # lines already proven to be exactly 785 optionally signed whole numbers.
        if _SPACE.search(line):
            if _DIGIT_SPACE_DIGIT.search(line):
                _explain_bad_line(line, lineno, name)
            line = _SPACE.sub(b"", line)
        if not _STRICT_ROW.fullmatch(line):
            _explain_bad_line(line, lineno, name)
        values = np.fromstring(line, dtype=np.int64, sep=",")  # huge numbers saturate: caught below
        if values.size != N_COLUMNS or values.min() < 0 or values.max() > 255:
            _explain_bad_line(line, lineno, name)
        rows.append(values.astype(np.uint8))
    if not rows:
        return np.zeros((0, N_COLUMNS), dtype=np.uint8)
    return np.stack(rows)


def _explain_bad_line(line: bytes, lineno: int, name: str) -> None:
    """Raise a DatasetError for the first bad value on a line with the right column count."""
    for column, field in enumerate(line.split(b","), start=1):
        value = field.strip()
        if value.isdigit() and (len(value) < 3 or int(value) <= 255) and (
                column > 1 or int(value) <= 9):
            continue  # the common case, decided without the regex
        what = "label" if column == 1 else "pixel value"
        where = f"{name}: line {lineno}, column {column}"
        if not value:
            raise DatasetError(f"{where}: empty value (expected a {what})")
        if not _INTEGER.fullmatch(value):
            shown = value[:20].decode("latin-1")
            raise DatasetError(f"{where}: {shown!r} is not a whole number")
        number = int(value)
        if column == 1 and not 0 <= number <= 9:
            raise DatasetError(f"{where}: label {number} is not a digit 0-9")
        if column > 1 and not 0 <= number <= 255:
            raise DatasetError(f"{where}: pixel value {number} is outside 0-255")
    raise DatasetError(f"{name}: line {lineno}: cannot read the values")  # not expected


def _line_of_row(data: bytes, skip: int, row: int) -> int:
    """1-based line number of data row ``row`` (blank lines are not rows)."""
    seen = -1
    for index, raw in enumerate(data.splitlines()):
        if index >= skip and raw.strip():
            seen += 1
            if seen == row:
                return index + 1
    return skip + row + 1  # not reached for a row the parser produced


def _unlabelled_hint(count: int) -> str:
    if count == PIXELS:
        return "; it seems to have no label column (like Kaggle's unlabelled test.csv)"
    return ""
