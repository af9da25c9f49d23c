"""The user's own digits: drawings they labelled (a correction, or a confirmation), kept to learn from.

Each record keeps the drawing's strokes (unit coordinates and pen width, so it can be re-drawn at any
size, and distorted stroke by stroke when the network learns from it) and the 28x28 input the network
saw, with its label. The set lives in one text file, one JSON object per line after a header line;
every change rewrites the file atomically (:mod:`mnist_gui.atomic`), so a crash leaves the old set or
the new one, never half of one. A damaged line costs that one record: :meth:`MyDigits.load` skips it
and says so. Export writes the same format; import checks a whole file before it changes anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_gui.atomic import atomic_write
from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.errors import DatasetError
from mnist_gui.imaging.strokes import Stroke

FORMAT = "mnist-gui my digits"
VERSION = 1
#: Limits that keep a hostile or damaged file from costing more than a real set: far above what a
#: person draws (a drawing is a few strokes of tens of points).
MAX_RECORDS = 100_000
MAX_STROKES = 200
MAX_POINTS = 20_000
MAX_LINE_BYTES = 2_000_000
MAX_FILE_BYTES = 1 << 30


#: Stroke points are stored as int16 multiples of 1/SCALE of the canvas side (a thirtieth of a pixel on
#: the default canvas): base64 of those decodes a hundred times faster than JSON numbers.
SCALE = 10_000
LIMIT = 3.0   # points beyond three canvas sides off the square carry nothing worth keeping


def _pack(stroke: Stroke) -> dict:
    points = stroke.points if stroke.points.shape[1] == 3 else np.column_stack(
        [stroke.points, np.ones(len(stroke.points))])
    q = np.round(np.clip(points, -LIMIT, LIMIT) * SCALE).astype("<i2")
    return {"width": round(float(stroke.width), 6), "points": base64.b64encode(q.tobytes()).decode("ascii")}


def _unpack(d) -> tuple[float, np.ndarray]:
    if not isinstance(d, dict):
        raise ValueError("bad stroke")
    width = d.get("width")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 <= width <= 1:
        raise ValueError("bad pen width")
    try:
        raw = base64.b64decode(d.get("points", ""), validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ValueError("stroke points are not base64") from None
    if not raw or len(raw) % 6:
        raise ValueError("stroke points are not (x, y, pressure) triples")
    return float(width), np.frombuffer(raw, dtype="<i2").reshape(-1, 3)


@dataclass(frozen=True, eq=False)
class MyDigit:
    """One labelled drawing. ``image`` is the (784,) uint8 input the network saw; the strokes are kept
    packed and made into :class:`~mnist_gui.imaging.strokes.Stroke` objects when asked for."""

    id: str
    label: int
    packed: tuple[tuple[float, np.ndarray], ...] = field(repr=False)   # (width, int16 (k, 3)) per stroke
    image: np.ndarray = field(repr=False)
    created: float = 0.0                     # seconds since the epoch

    @classmethod
    def new(cls, ident: str, label: int, strokes, image: np.ndarray, created: float) -> "MyDigit":
        return cls.from_json({"id": ident, "label": label, "created": created, "strokes": [_pack(s) for s in strokes],
                              "image": base64.b64encode(np.asarray(image, np.uint8).tobytes()).decode("ascii")})

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return tuple(Stroke(width, q.astype(np.float64) / SCALE) for width, q in self.packed)

    def relabelled(self, label: int) -> "MyDigit":
        return MyDigit(self.id, int(label), self.packed, self.image, self.created)

    def to_json(self) -> dict:
        return {"id": self.id, "label": self.label, "created": round(self.created, 3),
                "strokes": [{"width": w, "points": base64.b64encode(q.tobytes()).decode("ascii")}
                            for w, q in self.packed],
                "image": base64.b64encode(self.image.tobytes()).decode("ascii")}

    @classmethod
    def from_json(cls, d) -> "MyDigit":
        """Check everything; ValueError with a short reason if anything is wrong."""
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        ident, label = d.get("id"), d.get("label")
        if not (isinstance(ident, str) and 0 < len(ident) <= 64 and ident.isalnum()):
            raise ValueError("missing or bad id")
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < CLASSES:
            raise ValueError(f"label {label!r} is not a digit 0-9")
        created = d.get("created", 0.0)
        if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
            raise ValueError("bad creation time")
        strokes = d.get("strokes")
        if not isinstance(strokes, list) or not strokes or len(strokes) > MAX_STROKES:
            raise ValueError("no strokes, or too many")
        packed = tuple(_unpack(s) for s in strokes)
        if sum(len(q) for _, q in packed) > MAX_POINTS:
            raise ValueError("too many points")
        try:
            image = np.frombuffer(base64.b64decode(d.get("image", ""), validate=True), dtype=np.uint8)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError("the 28x28 image is not base64") from None
        if image.size != PIXELS:
            raise ValueError(f"the image has {image.size} pixels, not {PIXELS}")
        return cls(ident, int(label), packed, image, float(created))


def _header() -> str:
    return json.dumps({"format": FORMAT, "version": VERSION})


class MyDigits:
    """The set at ``path`` (created on the first addition). Methods that change it write it at once."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.records: list[MyDigit] = []
        self.warnings: list[str] = []
        self._set_aside = False   # the file on disk is not a set: move it aside before writing

    # -- reading -------------------------------------------------------------------------------------
    def load(self) -> list[str]:
        """Read the set; returns (and keeps in ``warnings``) one message per record or problem skipped.
        A missing file is an empty set. A file that is not a set at all is left alone (nothing is lost:
        it is renamed aside at the next change) and reported."""
        self.records, self.warnings = [], []
        if not self.path.exists():
            return []
        try:
            records, skipped = _read(self.path)
        except DatasetError as exc:
            self.warnings = [f"{exc}; starting an empty set (the file is kept as {self._aside().name})"]
            self._set_aside = True
            return self.warnings
        self.records = records
        self.warnings = [f"{self.path.name}, line {line}: skipped a damaged drawing ({why})" for line, why in skipped]
        return self.warnings

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(images (N, 784) uint8, labels (N,) intp) of the whole set."""
        if not self.records:
            return np.zeros((0, PIXELS), np.uint8), np.zeros(0, np.intp)
        return (np.stack([r.image for r in self.records]), np.array([r.label for r in self.records], np.intp))

    def __len__(self) -> int:
        return len(self.records)

    def counts(self) -> list[int]:
        """How many drawings of each digit."""
        out = [0] * CLASSES
        for r in self.records:
            out[r.label] += 1
        return out

    # -- changing ------------------------------------------------------------------------------------
    def add(self, label: int, strokes, image: np.ndarray) -> MyDigit:
        """Keep a drawing with its label (written at once). ``image`` is its (28, 28) network input."""
        record = MyDigit.new(secrets.token_hex(8), int(label), strokes,
                             np.asarray(image, np.uint8).reshape(PIXELS), time.time())
        self._save(self.records + [record])
        return record

    def undo_last(self) -> MyDigit | None:
        """Remove the newest addition (None if the set is empty)."""
        if not self.records:
            return None
        last = max(self.records, key=lambda r: r.created)
        self._save([r for r in self.records if r is not last])
        return last

    def relabel(self, ident: str, label: int) -> None:
        if not 0 <= int(label) < CLASSES:
            raise ValueError(f"label {label!r} is not a digit 0-9")
        self._save([r.relabelled(label) if r.id == ident else r for r in self.records])

    def delete(self, ident: str) -> None:
        self._save([r for r in self.records if r.id != ident])

    def clear(self) -> None:
        self._save([])

    # -- files in and out ----------------------------------------------------------------------------
    def export(self, path: str | os.PathLike) -> int:
        """Write the whole set to ``path`` (atomically); returns how many drawings."""
        _write(Path(path), self.records)
        return len(self.records)

    def import_file(self, path: str | os.PathLike) -> int:
        """Add the drawings of an exported set; returns how many were new. A file with any problem
        raises DatasetError and changes nothing; drawings already here (same id) are not doubled."""
        records, skipped = _read(Path(path), strict=True)
        assert not skipped
        known = {r.id for r in self.records}
        new = [r for r in records if r.id not in known]
        if len(self.records) + len(new) > MAX_RECORDS:
            raise DatasetError(f"{path}: importing would make more than {MAX_RECORDS:,} drawings")
        self._save(self.records + new)
        return len(new)

    def _aside(self) -> Path:
        return self.path.with_name(self.path.name + ".damaged")

    def _save(self, records: list[MyDigit]) -> None:
        if self._set_aside and self.path.exists():
            os.replace(self.path, self._aside())   # keep the unreadable file, do not overwrite it
            self._set_aside = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write(self.path, records)
        self.records = list(records)


def _write(path: Path, records: list[MyDigit]) -> None:
    text = "\n".join([_header(), *(json.dumps(r.to_json(), separators=(",", ":")) for r in records)]) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def _read(path: Path, strict: bool = False) -> tuple[list[MyDigit], list[tuple[int, str]]]:
    """(records, [(line, reason) skipped]); DatasetError if the file is not a set (or, ``strict``, if
    any record is damaged)."""
    name = str(path)
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise DatasetError(f"{name}: not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DatasetError(f"{name}: {size:,} bytes is too large for a set of drawings")
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"{name}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    try:
        header = json.loads(lines[0])
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DatasetError(f"{name}: not a set of drawings exported by mnist-gui")
    if not isinstance(header.get("version"), int) or header["version"] > VERSION:
        raise DatasetError(f"{name}: written by a newer mnist-gui (format version {header.get('version')!r})")
    records, skipped, seen = [], [], set()
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            if len(raw) > MAX_LINE_BYTES:
                raise ValueError("the line is too long")
            record = MyDigit.from_json(json.loads(raw))
            if record.id in seen:
                raise ValueError("the same drawing twice")
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            if strict:
                raise DatasetError(f"{name}, line {number}: damaged drawing ({exc}); nothing was imported") from None
            skipped.append((number, str(exc)))
            continue
        seen.add(record.id)
        records.append(record)
        if len(records) > MAX_RECORDS:
            raise DatasetError(f"{name}: more than {MAX_RECORDS:,} drawings")
    return records, skipped
