"""Read a picture of a digit (PNG, JPEG, BMP, WebP, PBM/PGM/PPM) into an ink-high grey array.

``mnist-gui predict digit.png`` and the tests hand us whatever people have: a scan or phone photo
(dark ink on light paper), a screenshot of a canvas (light ink on black), an RGB or grey image, with
or without an alpha channel, of any size. :func:`load_image` turns all of them into one thing: a 2-D
uint8 array with the ink bright and the background 0, ready for
:func:`mnist_gui.imaging.preprocess.preprocess_drawing`.

Decoding is Qt's (``QImageReader``), so no extra dependency is needed; that is why this module
belongs to the Qt layer (the command line's ``predict`` uses it too: image decoding and painting on a
``QImage`` need no ``QApplication``).

**What is accepted, and why no more.** :data:`SUPPORTED`: PNG, JPEG, BMP (uncompressed), WebP and
PBM/PGM/PPM, recognised by their first bytes whatever the file is called. Everything else Qt could
read is refused before it reaches Qt: SVG (its renderer needs fonts, and aborts the process without a
``QGuiApplication``; nested ``<use>`` elements keep it busy for minutes), TIFF (Qt's reader crashed the
process on the second of two truncated files in our tests), GIF and RLE-compressed BMP (Qt decodes a
truncated one in part, silently), and ICO, ICNS, TGA, WBMP, XBM, XPM and PDF (nobody keeps digits in
them, and each decoder is more code an untrusted file can reach).

**Untrusted files.** The path must be a regular file (a FIFO, device, folder or socket is refused
before it is opened: :func:`mnist_gui.files.open_regular`) of at most :data:`MAX_FILE_BYTES`; it is
read whole and Qt decodes it from memory (so Qt never sees the name: names with undecodable bytes
work). The size in the header is read first (``QImageReader.size()`` does not decode) and anything
above :data:`MAX_PIXELS` is refused, which bounds the decoding time (every accepted decoder does a
bounded amount of work per pixel). A decoder that complains is believed: Qt reads a truncated JPEG
with only a warning, so every warning Qt logs during the decode (caught by a message handler) is an
error unless it is one of the known harmless ones; and since libpng prints its errors straight to
the process's standard error, file descriptor 2 is redirected during the decode, so nothing is
printed before our one error line. Every problem is an :class:`~mnist_gui.errors.ImageError` that
names the file.

Transparency: a transparent pixel has no colour of its own, so it is painted with the background
colour. Which colour that is depends on the picture. If most of it is opaque, the opaque part is the
paper with ink on it, and transparent corners get the paper's colour. If most of it is transparent,
the opaque part *is* the ink (black strokes saved on a transparent layer), and the transparent rest
gets the opposite colour, white behind dark strokes and black behind light ones.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import tempfile
import threading
from typing import Iterator

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from mnist_gui.atomic import atomic_write
from mnist_gui.errors import ImageError, display_name
from mnist_gui.files import FileTooLarge, NotRegularFile, read_regular
from mnist_gui.imaging.preprocess import normalize_polarity

__all__ = ["load_image", "save_png", "array_image", "MAX_PIXELS", "MAX_FILE_BYTES", "SUPPORTED"]

#: Largest picture accepted: 64 megapixels (an 8000 x 8000 scan). Far beyond any digit photo, and
#: small enough that decoding it (4 bytes a pixel) stays within Qt's default 256 MB allocation limit.
MAX_PIXELS = 64_000_000
#: Largest file accepted (an uncompressed 64-megapixel BMP at 32 bits a pixel is 256 MB).
MAX_FILE_BYTES = 256 << 20
#: Qt's allocation limit needed for MAX_PIXELS at 32 bits per pixel, in MB.
ALLOCATION_LIMIT_MB = 256
#: The kinds of picture accepted: Qt's format name -> what a message calls it.
SUPPORTED = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP", "webp": "WebP", "pbm": "PBM", "pgm": "PGM", "ppm": "PPM"}
_ACCEPTED = "PNG, JPEG, BMP, WebP or PBM/PGM/PPM"
#: Side of the small copy used to decide the background colour of transparent pictures.
_STATS_SIDE = 256
# Decoder messages that say nothing about the pixels (odd metadata): not a reason to refuse.
_HARMLESS = ("iCCP", "sRGB", "cHRM", "gAMA", "profile", "JFIF revision", "thumbnail", "Exif", "EXIF", "APP")
_DECODE_LOCK = threading.Lock()   # the message handler and file descriptor 2 are the process's


def load_image(path: str | bytes | os.PathLike) -> np.ndarray:
    """Read the picture at ``path`` and return it as a 2-D uint8 array, ink bright, background 0.

    One of :data:`SUPPORTED`, any size up to :data:`MAX_PIXELS`, colour or grey, with or without
    alpha, either polarity; JPEG orientation tags are applied. Raises :class:`ImageError` if the file
    is missing, not a regular file, not a supported picture, damaged or truncated, has no pixels, or
    is too large.
    """
    name = display_name(path)
    data = _read(path, name)
    kind = _sniff(data, name)
    _check_structure(kind, data, name)
    image = _decode(data, kind, name)
    try:
        grey = _to_grey(image)
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to convert a "
                         f"{image.width()} x {image.height()} image") from None
    return normalize_polarity(grey)


# -- the file ----------------------------------------------------------------------------------------
def _read(path, name: str) -> bytes:
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder, not an image") from None
    except (NotRegularFile, FileTooLarge) as exc:
        raise ImageError(f"{name}: {exc.strerror}") from None
    except PermissionError:
        raise ImageError(f"{name}: cannot read the file: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to read the file") from None
    if not data:
        raise ImageError(f"{name}: empty file")
    return data


def _sniff(data: bytes, name: str) -> str:
    """The format the first bytes declare (one of SUPPORTED), or ImageError saying what it is instead."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"BM") and len(data) >= 26:
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if len(data) >= 3 and data[0:1] == b"P" and data[1:2] in b"123456" and data[2:3] in b" \t\r\n#":
        return {b"1": "pbm", b"4": "pbm", b"2": "pgm", b"5": "pgm"}.get(data[1:2], "ppm")
    head = data[:512].lstrip()
    what = ("an SVG drawing" if b"<svg" in data[:4096].lower() or head.startswith(b"<?xml") else
            "a TIFF image" if data[:4] in (b"II*\0", b"MM\0*") else
            "a GIF image" if data[:6] in (b"GIF87a", b"GIF89a") else
            "an icon (ICO/CUR)" if data[:4] in (b"\0\0\1\0", b"\0\0\2\0") else
            "an ICNS icon" if data[:4] == b"icns" else
            "an XPM image" if head.startswith(b"/* XPM */") else
            "a PDF document" if data[:5] == b"%PDF-" else
            "an HTML page" if head[:1] == b"<" else
            "text" if _looks_like_text(data[:4096]) else None)
    if what is None:
        raise ImageError(f"{name}: not an image that can be read (unknown content); use {_ACCEPTED}")
    raise ImageError(f"{name}: {what} is not supported; use {_ACCEPTED}")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c.isspace() for c in text)


def _check_structure(kind: str, data: bytes, name: str) -> None:
    """What Qt's readers would not notice: a progressive JPEG cut between two scans (Qt's reader
    feeds libjpeg a fake end marker, and the scans so far decode without a word), a BMP whose pixels
    stop short of its declared size (decoded in part, silently), or one compressed with RLE (the same,
    and no way to tell)."""
    if kind == "jpeg":
        # An end-of-image marker cannot occur inside entropy-coded data (0xFF is always followed by
        # 0x00 or a restart marker there), so one after the first scan means the scans are all there.
        if data.find(b"\xff\xd9", max(data.find(b"\xff\xda"), 0)) < 0:
            raise ImageError(f"{name}: truncated JPEG image (it has no end-of-image marker)")
        return
    if kind != "bmp":
        return
    offset, header_size = struct.unpack_from("<II", data, 10)
    if header_size == 12:   # OS/2 BITMAPCOREHEADER
        width, height, _, bits = struct.unpack_from("<HHHH", data, 18)
        compression = 0
    elif header_size >= 40 and len(data) >= 14 + 40:
        width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    else:
        raise ImageError(f"{name}: damaged BMP file (unknown header size {header_size})")
    if compression not in (0, 3, 6):   # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS
        raise ImageError(f"{name}: compressed (RLE/JPEG/PNG-in-BMP) BMP files are not supported; "
                         f"use {_ACCEPTED}")
    if width <= 0 or height == 0 or bits not in (1, 4, 8, 16, 24, 32):
        raise ImageError(f"{name}: damaged BMP header ({width} x {height}, {bits} bits a pixel)")
    _check_size(name, width, abs(height))
    needed = offset + ((width * bits + 31) // 32) * 4 * abs(height)
    if offset < 14 + header_size or needed > len(data):
        raise ImageError(f"{name}: truncated or damaged BMP file (its header declares {needed:,} bytes, "
                         f"the file has {len(data):,})")


# -- decoding ----------------------------------------------------------------------------------------
def _decode(data: bytes, kind: str, name: str) -> QImage:
    _ensure_allocation_limit()
    with _DECODE_LOCK, _decoder_output() as complaints:
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer, kind.encode())
        reader.setDecideFormatFromContent(False)   # only the handler of the format we recognised
        reader.setAutoTransform(True)              # phone photos: apply the EXIF rotation
        if not reader.canRead():
            raise ImageError(f"{name}: not a {SUPPORTED[kind]} image that can be read ({reader.errorString()}); "
                             f"use {_ACCEPTED}")
        size = reader.size()   # from the header, without decoding
        if size.isValid():
            _check_size(name, size.width(), size.height())
        image = reader.read()
        error = reader.errorString()
        buffer.close()
    problem = next((text for level, text in complaints if _serious(level, text)), None)
    if image.isNull():
        detail = f"{error}; {problem}" if problem else error
        raise ImageError(f"{name}: cannot decode the {SUPPORTED[kind]} image, it is damaged or truncated ({detail})")
    if problem:
        raise ImageError(f"{name}: damaged or truncated {SUPPORTED[kind]} image ({problem})")
    _check_size(name, image.width(), image.height())
    return image


def _serious(level: str, text: str) -> bool:
    """A decoder's message that means the pixels are not all there (libpng's own warnings come as Qt
    info messages and its errors on file descriptor 2, with a null image: both are caught anyway)."""
    if level == "stderr":
        return True
    return level in ("warning", "critical", "fatal") and not any(word in text for word in _HARMLESS)


@contextlib.contextmanager
def _decoder_output() -> Iterator[list[tuple[str, str]]]:
    """Collect what the decoders say while the block runs, instead of letting them print it: Qt's
    messages through a message handler, C libraries' writes to file descriptor 2 through a temporary
    file. Yields the list of (level, text) that fills up; the descriptor's part is added at the end
    (lines that are not a decoder's go back to the real standard error)."""
    said: list[tuple[str, str]] = []
    levels = {QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical",
              QtMsgType.QtFatalMsg: "fatal", QtMsgType.QtInfoMsg: "info", QtMsgType.QtDebugMsg: "debug"}
    previous = qInstallMessageHandler(lambda mode, context, text: said.append((levels.get(mode, "warning"), text)))
    try:
        with _captured_fd2() as captured:
            yield said
    finally:
        qInstallMessageHandler(previous)
    for line in captured:
        if line.startswith(("libpng", "libjpeg", "JPEG", "Corrupt", "Premature", "libwebp", "Not a", "qt.")):
            said.append(("stderr", line))
        elif line.strip():
            sys.stderr.write(line + "\n")


@contextlib.contextmanager
def _captured_fd2() -> Iterator[list[str]]:
    """Point file descriptor 2 at a temporary file while the block runs; the list yielded receives
    what was written there (at most 64 KB of it), line by line, when it ends."""
    lines: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no descriptor 2 (a GUI launched without one)
        yield lines
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                sink.seek(0)
                lines += sink.read(64 * 1024).decode("utf-8", "replace").splitlines()
    finally:
        os.close(saved)


def _ensure_allocation_limit() -> None:
    """Make sure Qt may allocate a MAX_PIXELS image (the limit is global to the process).

    Qt's default (256 MB) already allows it; this only raises a lower limit, never lowers a higher
    one or re-enables a disabled one (0) set elsewhere.
    """
    current = QImageReader.allocationLimit()
    if 0 < current < ALLOCATION_LIMIT_MB:
        QImageReader.setAllocationLimit(ALLOCATION_LIMIT_MB)


def _check_size(name: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image has no pixels ({width} x {height})")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name}: the image is too large ({width} x {height} = "
                         f"{width * height / 1e6:.1f} megapixels; at most {MAX_PIXELS // 1_000_000} "
                         "megapixels are accepted). Crop it to the digit or scale it down.")


# -- pixels ------------------------------------------------------------------------------------------
def _grey_array(image: QImage) -> np.ndarray:
    """Copy a Format_Grayscale8 QImage into a (height, width) uint8 array."""
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return rows[:, :w].copy()  # rows are padded to 4 bytes; the copy also outlives the QImage


def _to_grey(image: QImage) -> np.ndarray:
    if image.hasAlphaChannel():
        image = _flatten_alpha(image)
    return _grey_array(image.convertToFormat(QImage.Format.Format_Grayscale8))


def _flatten_alpha(image: QImage) -> QImage:
    """Paint ``image`` over the background colour (see the module docstring) and drop its alpha."""
    background = _background_for_transparency(image)
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(QColor(background, background, background))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat


def _background_for_transparency(image: QImage) -> int:
    """Grey level (0 or the paper's) that transparent pixels should become."""
    # A small, area-averaged copy is enough for statistics and costs little even at 64 megapixels;
    # averaging (not sampling) keeps thin strokes in it as partly transparent pixels.
    small = image.scaled(QSize(_STATS_SIDE, _STATS_SIDE), Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    small = small.convertToFormat(QImage.Format.Format_RGBA8888)  # straight (not premultiplied) alpha
    h, w, stride = small.height(), small.width(), small.bytesPerLine()
    px = np.frombuffer(small.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    px = px[:, : 4 * w].reshape(h, w, 4).astype(np.float32)
    grey = px[..., 0] * 0.299 + px[..., 1] * 0.587 + px[..., 2] * 0.114
    alpha = px[..., 3] / 255.0
    if alpha.sum() <= 0:
        return 255  # fully transparent: nothing to see, any background will do
    if alpha.mean() >= 0.5:
        # Mostly opaque: the opaque part is paper with ink on it; transparent bits become paper.
        opaque = grey[alpha >= 0.5]
        return int(round(float(np.median(opaque))))
    # Mostly transparent: the opaque part is the ink. Put it on the opposite colour.
    ink = float((grey * alpha).sum() / alpha.sum())
    return 255 if ink < 128 else 0


def save_png(image: QImage, path: str | os.PathLike) -> None:
    """Write ``image`` as a PNG file at ``path``, atomically (a temporary file, fsync, rename): an
    interrupted export leaves the old file or none, never half a picture. Raises OSError."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"cannot encode the picture as PNG ({image.width()} x {image.height()})")
    data = bytes(buffer.data())
    atomic_write(path, lambda fh: fh.write(data))


def array_image(pixels: np.ndarray) -> QImage:
    """A 2-D uint8 array as a grey QImage with its own copy of the pixels."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
