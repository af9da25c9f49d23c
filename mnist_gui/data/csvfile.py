"""Read MNIST in its common CSV form: one image per row, the label first, then 784 pixel values.

::

    label,pixel0,pixel1,...,pixel783      <- optional header row
    5,0,0,0,...,0
    0,0,0,0,...,0

The header is recognised by its first row holding letters ("label", "1x1", ...). Blank lines are
ignored. Labels must be digits 0-9 and pixels whole numbers 0-255.

The file is read in blocks of 4 MB (whole lines; line ends made ``\\n``), never whole: memory stays
at one block plus the rows parsed so far, and a file that is not CSV (a sparse 2 GiB file of zero
bytes, one 100 MB line) is refused after its first block. Files above :data:`MAX_CSV_BYTES` are
refused from their size.

Speed and precise errors pull in opposite directions, so each block has two paths. The fast path
hands it to NumPy's C parser (``np.loadtxt`` straight into ``uint8``, which refuses anything that is
not a whole number 0-255): about a second for the 60,000-row training file. Only when that fails
does the careful path walk the block line by line to find the first bad line and say exactly what
is wrong with it; it also accepts the rare valid files the fast path trips over (lines of only
spaces). Every problem raises :class:`~mnist_gui.errors.DatasetError` whose message starts with the
file's path.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from typing import Callable

import numpy as np

from mnist_gui.data._files import reading
from mnist_gui.digits import PIXELS
from mnist_gui.errors import DatasetError, LoadCancelled, display_name
from mnist_gui.files import NotRegularFile, open_regular

__all__ = ["read_csv", "N_COLUMNS", "MAX_CSV_BYTES", "MAX_LINE_BYTES"]

#: Columns per row: the label, then the pixels.
N_COLUMNS = 1 + PIXELS
#: Largest CSV file read (about 550,000 rows of MNIST; its training file is 109 MB).
MAX_CSV_BYTES = 1 << 30
#: Longest line accepted: a row is at most 785 values of a few characters (about 3 KB; 64 KB leaves
#: room for any spacing).
MAX_LINE_BYTES = 64 * 1024
_BLOCK = 16 << 20   # bytes read (and parsed) at a time

_LETTER = re.compile(rb"[A-Za-z]")
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_STRICT_ROW = re.compile(rb"(?:[+-]?[0-9]+,){%d}[+-]?[0-9]+" % (N_COLUMNS - 1))
_SPACE = re.compile(rb"[ \t\v\f]+")
_DIGIT_SPACE_DIGIT = re.compile(rb"[0-9+-][ \t\v\f]+[0-9]")
_BOM = b"\xef\xbb\xbf"
# The line ends bytes.splitlines() knows, so line numbers agree everywhere.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def read_csv(path: str | os.PathLike, stop: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST CSV file into ``(images, labels)``.

    ``images`` is ``(N, 784)`` uint8 and ``labels`` ``(N,)`` uint8, both C-contiguous. Raises
    :class:`DatasetError` naming the file (and the line, where there is one) for an empty file, a
    header without data, rows with the wrong number of values, values that are not whole numbers,
    pixels outside 0-255, labels outside 0-9, a line longer than :data:`MAX_LINE_BYTES` and a file
    larger than :data:`MAX_CSV_BYTES`. ``stop`` is asked between blocks; when it says so, loading ends
    with :class:`~mnist_gui.errors.LoadCancelled`.
    """
    name = display_name(path)
    with reading(name):
        try:
            fh = open_regular(path)
        except IsADirectoryError:
            raise DatasetError(f"{name}: is a folder, not a CSV file") from None
        except NotRegularFile as exc:
            raise DatasetError(f"{name}: {exc.strerror}") from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_CSV_BYTES:
                raise DatasetError(f"{name}: too large for an MNIST CSV file ({size:,} bytes; at most "
                                   f"{MAX_CSV_BYTES:,} are read)")
            return _StreamingReader(fh, name, stop).read()


class _StreamingReader:
    """Reads a CSV file block by block: memory stays at one block plus the parsed rows (a 2 GiB file
    of zeros, or one 100 MB line, is refused after its first block, not after reading it whole)."""

    def __init__(self, fh, name: str, stop: Callable[[], bool] | None) -> None:
        self.fh, self.name, self.stop = fh, name, stop
        self.lines_before = 0          # physical lines in the blocks already parsed
        self.header_seen = False       # the first non-blank line has been looked at
        self.tables: list[np.ndarray] = []

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        rest, first = b"", True
        while True:
            if self.stop is not None and self.stop():
                raise LoadCancelled(f"{self.name}: loading cancelled")
            chunk = self.fh.read(_BLOCK)
            data = rest + chunk
            if first:
                first = False
                if data.startswith(_BOM):  # Excel writes one; it would glue itself to the first value
                    data = data[len(_BOM):]
                if b"\0" in data[:4096]:
                    what = "gzip-compressed data" if data[:2] == b"\x1f\x8b" else "binary data"
                    raise DatasetError(f"{self.name}: not a CSV text file (it holds {what})")
            if not chunk:
                block, rest = data, b""
            else:
                block, rest = _split_at_last_line_end(data)
                if len(rest) > MAX_LINE_BYTES:
                    raise DatasetError(f"{self.name}: line {self.lines_before + _count_lines(block) + 1} is longer "
                                       f"than {MAX_LINE_BYTES:,} bytes: not a row of an MNIST CSV file")
            if block:
                self._parse_block(block)
            if not chunk:
                break
        if not self.header_seen:
            raise DatasetError(f"{self.name}: empty file")
        table = np.concatenate(self.tables) if self.tables else np.zeros((0, N_COLUMNS), np.uint8)
        if table.shape[0] == 0:
            raise DatasetError(f"{self.name}: no data rows after the header")
        return np.ascontiguousarray(table[:, 1:]), np.ascontiguousarray(table[:, 0])

    def _parse_block(self, block: bytes) -> None:
        text = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")   # one kind of line end: same line count
        lines = _count_lines(text)
        start = self.lines_before   # lines before this block
        self.lines_before += lines
        skip = 0
        if not self.header_seen:
            stripped = text.lstrip()
            if not stripped:
                return   # only blank lines so far
            self.header_seen = True
            index = text.count(b"\n", 0, len(text) - len(stripped))   # blank lines before the first row
            first = stripped.split(b"\n", 1)[0]
            if _LETTER.search(first):
                n_header = first.count(b",") + 1
                if n_header != N_COLUMNS:
                    raise DatasetError(f"{self.name}: line {start + index + 1}: the header has {n_header} "
                                       f"columns, expected {N_COLUMNS} (label + {PIXELS} pixels)"
                                       f"{_unlabelled_hint(n_header)}")
                skip = index + 1
        table = _parse_fast(text, skip)
        if table is None:
            table = _parse_careful(text, skip, self.name, start)
        bad = np.flatnonzero(table[:, 0] > 9)
        if bad.size:
            row = int(bad[0])
            raise DatasetError(f"{self.name}: line {start + _line_of_row(text, skip, row)}: label "
                               f"{table[row, 0]} is not a digit 0-9")
        if table.shape[0]:
            self.tables.append(table)


def _split_at_last_line_end(data: bytes) -> tuple[bytes, bytes]:
    """(the complete lines, the unfinished last line). A \\r at the very end is left with the
    unfinished part: the \\n of a \\r\\n pair may be the next block's first byte."""
    end = len(data) - 1 if data.endswith(b"\r") else len(data)
    cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
    return (data[:cut + 1], data[cut + 1:]) if cut >= 0 else (b"", data)


def _count_lines(text: bytes) -> int:
    """Physical lines in a block whose line ends are all \\n (a last line without one counts too)."""
    return text.count(b"\n") + (1 if text and not text.endswith(b"\n") else 0)


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


def _parse_careful(data: bytes, skip: int, name: str, offset: int = 0) -> np.ndarray:
    """Line by line: return the table, or raise for the first bad line with the exact reason
    (``offset``: physical lines before ``data`` in the file, for the line numbers)."""
    rows: list[np.ndarray] = []
    for index, raw in enumerate(data.splitlines()):
        if index < skip:
            continue
        line = raw.strip()
        if not line:
            continue
        lineno = offset + index + 1
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
    """1-based line number (within ``data``) of data row ``row`` (blank lines are not rows)."""
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
