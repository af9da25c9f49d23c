"""Read the UCI pen-based digits in their original pen-trajectory form (UNIPEN-like text).

The file (``pendigits-orig.tra``, optionally gzip-compressed) holds digits written on a tablet by
30 people, each as a ``.SEGMENT`` with its label, a ``.COMMENT label writer sample`` line and one
or more strokes::

    .SEGMENT DIGIT    0 ? "8"
    .COMMENT 8 12  224
    .PEN_DOWN
     267  333            <- x y in tablet units (0-500), y grows UPWARD
     ...
    .PEN_UP
    .DT 100              <- time between strokes (ignored)

Data set: E. Alpaydin and F. Alimoglu, Bogazici University; UCI Machine Learning Repository, data
set 81, licence CC BY 4.0.

The reader trusts nothing: every problem (truncated file, a point outside a PEN_DOWN block,
non-numeric coordinates, a missing label or writer, a digit without ink, absurd sizes) raises one
:class:`DatasetError` whose message starts with the file's name and the line number. The amount of
text read (after decompression) and the number of points per digit and in total are capped, so a
hostile file or a gzip bomb cannot eat the memory.

Qt-free, NumPy only. Public: :class:`PenDigit`, :func:`read_pendigits`, :func:`split_by_writer`,
:func:`writer_folds`.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from mnist_gui.data._files import reading
from mnist_gui.errors import DatasetError

__all__ = ["PenDigit", "DatasetError", "read_pendigits", "split_by_writer", "writer_folds",
           "TABLET_SIZE", "MAX_TEXT_BYTES", "MAX_POINTS_PER_DIGIT", "MAX_STROKES_PER_DIGIT",
           "MAX_TOTAL_POINTS"]

#: The side of the writing box in tablet units.
TABLET_SIZE = 500.0
#: Most text (decompressed) read from one file: the real file holds 4.4 MB.
MAX_TEXT_BYTES = 64 << 20
#: Caps per digit and per file. Real digits have 8-120 points in 1-4 strokes.
MAX_POINTS_PER_DIGIT = 5000
MAX_STROKES_PER_DIGIT = 100
MAX_TOTAL_POINTS = 4_000_000
#: Coordinates beyond this (in absolute value) are not tablet units but garbage.
MAX_ABS_COORD = 100_000.0

_SEGMENT = re.compile(r'^\.SEGMENT\s+(\S+)\s+(\S+)\s+(\S+)\s*(?:"([^"]*)")?\s*$')
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, eq=False)
class PenDigit:
    """One written digit: label 0-9, writer id, the writer's sample number, and its strokes.

    ``strokes`` is a tuple of (n, 2) float64 arrays of (x, y) points in tablet units (y grows
    upward, as recorded), each the trajectory between a pen-down and a pen-up.
    """

    label: int
    writer: int
    sample: int
    strokes: tuple[np.ndarray, ...]

    @property
    def n_points(self) -> int:
        return sum(len(s) for s in self.strokes)


# --------------------------------------------------------------------------------- reading
def _read_text(path: Path, name: str, max_bytes: int) -> str:
    if path.is_dir():
        raise DatasetError(f"{name}: is a directory, not a file")
    if path.exists() and not path.is_file():   # a FIFO or a device could block or never end
        raise DatasetError(f"{name}: not a regular file")
    with reading(name):
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == _GZIP_MAGIC:
                try:
                    with gzip.GzipFile(fileobj=f) as g:
                        data = g.read(max_bytes + 1)
                except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                    raise DatasetError(f"{name}: corrupt or truncated gzip data ({exc})") from None
            else:
                data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DatasetError(f"{name}: more than {max_bytes:,} bytes of text; this is not a pen-digit "
                           "file of a plausible size (raise max_bytes to read it anyway)")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise DatasetError(f"{name}, line {line}: binary data (NUL byte) in a text file")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{name}, line {line}: non-ASCII byte 0x{data[exc.start]:02x}; "
                           "not a UNIPEN-style text file") from None


def read_pendigits(path: str | os.PathLike, *, max_bytes: int = MAX_TEXT_BYTES,
                   max_points_per_digit: int = MAX_POINTS_PER_DIGIT,
                   max_total_points: int = MAX_TOTAL_POINTS) -> list[PenDigit]:
    """Parse a pen-digit file (plain or gzip, told apart by content) into a list of PenDigit.

    Raises :class:`DatasetError` ("<file>, line <n>: <what is wrong>") for anything malformed.
    """
    p = Path(path)
    name = str(path)
    text = _read_text(p, name, max_bytes)

    digits: list[PenDigit] = []
    total_points = 0
    # State of the digit being read.
    cur: dict | None = None          # keys: label, writer, sample, strokes, line
    stroke: list[tuple[float, float]] | None = None
    stroke_line = 0

    def fail(lineno: int, msg: str) -> DatasetError:
        return DatasetError(f"{name}, line {lineno}: {msg}")

    def finish_digit(lineno: int) -> None:
        nonlocal cur
        if cur is None:
            return
        where = f"digit starting at line {cur['line']}"
        if cur["writer"] is None:
            raise fail(lineno, f"{where} has no .COMMENT line (label writer sample)")
        if not cur["strokes"]:
            raise fail(lineno, f"{where} is empty: no PEN_DOWN ... PEN_UP stroke")
        digits.append(PenDigit(cur["label"], cur["writer"], cur["sample"], tuple(cur["strokes"])))
        cur = None

    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for i, raw in enumerate(lines):
        lineno = i + 1
        line = raw.strip()
        if not line:
            continue
        if line[0] == ".":
            keyword = line.split(None, 1)[0].upper()
            if stroke is not None and keyword != ".PEN_UP":
                raise fail(lineno, f"{keyword} inside the stroke opened at line {stroke_line} "
                                   "(missing .PEN_UP)")
            if keyword == ".SEGMENT":
                finish_digit(lineno)
                m = _SEGMENT.match(line)
                if m is None or m.group(4) is None:
                    raise fail(lineno, "a .SEGMENT line without its quoted label, e.g. "
                                       '.SEGMENT DIGIT 0 ? "8"')
                if m.group(1).upper() != "DIGIT":
                    raise fail(lineno, f"segment of type {m.group(1)!r}, expected DIGIT")
                label = m.group(4)
                if len(label) != 1 or not label.isdigit():
                    raise fail(lineno, f"label {label!r} is not a digit 0-9")
                cur = {"label": int(label), "writer": None, "sample": None, "strokes": [],
                       "points": 0, "line": lineno}
            elif keyword == ".COMMENT":
                if cur is None:
                    continue  # a free comment in the header
                parts = line.split()[1:]
                if len(parts) < 3 or not all(t.isdigit() for t in parts[:3]):
                    raise fail(lineno, "a digit's .COMMENT must be 'label writer sample' "
                                       f"(three whole numbers), got {line!r}")
                label, writer, sample = (int(t) for t in parts[:3])
                if label != cur["label"]:
                    raise fail(lineno, f".COMMENT label {label} disagrees with the segment's "
                                       f"label {cur['label']}")
                if cur["writer"] is not None:
                    raise fail(lineno, "a second .COMMENT for the same digit")
                if writer > 10_000 or sample > 10_000_000:
                    raise fail(lineno, f"implausible writer {writer} or sample {sample}")
                cur["writer"], cur["sample"] = writer, sample
            elif keyword == ".PEN_DOWN":
                if cur is None:
                    raise fail(lineno, ".PEN_DOWN before any .SEGMENT")
                if len(cur["strokes"]) >= MAX_STROKES_PER_DIGIT:
                    raise fail(lineno, f"more than {MAX_STROKES_PER_DIGIT} strokes in one digit")
                stroke, stroke_line = [], lineno
            elif keyword == ".PEN_UP":
                if stroke is None:
                    raise fail(lineno, ".PEN_UP without a matching .PEN_DOWN")
                if not stroke:
                    raise fail(lineno, f"the stroke opened at line {stroke_line} has no points")
                cur["strokes"].append(np.array(stroke, dtype=np.float64))
                stroke = None
            else:
                # .DT, .INCLUDE, .LEXICON, .HIERARCHY and any other UNIPEN keyword: no content we
                # use. Only allowed outside strokes (checked above).
                continue
            continue
        # A point line.
        if stroke is None:
            raise fail(lineno, f"a point ({line[:40]!r}) outside a .PEN_DOWN ... .PEN_UP block")
        parts = line.split()
        if len(parts) != 2:
            raise fail(lineno, f"a point must be two numbers 'x y', got {line[:60]!r}")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise fail(lineno, f"non-numeric coordinates {line[:60]!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > MAX_ABS_COORD or abs(y) > MAX_ABS_COORD:
            raise fail(lineno, f"coordinates {line[:60]!r} are not finite tablet units "
                               f"(|x|, |y| <= {MAX_ABS_COORD:g})")
        cur["points"] += 1
        total_points += 1
        if cur["points"] > max_points_per_digit:
            raise fail(lineno, f"more than {max_points_per_digit:,} points in one digit")
        if total_points > max_total_points:
            raise fail(lineno, f"more than {max_total_points:,} points in the file")
        stroke.append((x, y))

    end = len(lines) + 1
    if stroke is not None:
        raise fail(end, f"file ends inside the stroke opened at line {stroke_line} "
                        "(truncated file? missing .PEN_UP)")
    finish_digit(end)
    if not digits:
        raise DatasetError(f"{name}: no digits (.SEGMENT DIGIT ...) in the file")
    return digits


# ------------------------------------------------------------------------------- splitting
def split_by_writer(digits: Sequence[PenDigit], held_out_writers: Iterable[int]
                    ) -> tuple[list[PenDigit], list[PenDigit]]:
    """(digits by the other writers, digits by ``held_out_writers``): never split a writer."""
    held = {int(w) for w in held_out_writers}
    train = [d for d in digits if d.writer not in held]
    test = [d for d in digits if d.writer in held]
    return train, test


def writer_folds(writers: Iterable[int], k: int = 5, seed: int = 0) -> list[list[int]]:
    """Split the distinct writers into ``k`` seeded folds of (nearly) equal size, each sorted."""
    ws = sorted({int(w) for w in writers})
    if not 2 <= k <= len(ws):
        raise ValueError(f"need 2 <= k <= number of writers ({len(ws)}), got k={k}")
    order = np.random.default_rng(seed).permutation(len(ws))
    return [sorted(ws[j] for j in order[f::k]) for f in range(k)]
