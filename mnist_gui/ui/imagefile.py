"""Read a picture of a digit (PNG, JPEG, BMP, ...) into an ink-high grey array for preprocessing.

``mnist-gui predict digit.png`` and the tests hand us whatever people have: a scan or phone photo
(dark ink on light paper), a screenshot of a canvas (light ink on black), an RGB or grey image, with
or without an alpha channel, of any size. :func:`load_image` turns all of them into one thing: a 2-D
uint8 array with the ink bright and the background 0, ready for
:func:`mnist_gui.imaging.preprocess.preprocess_drawing`.

Decoding is Qt's (``QImageReader``), so every format the GUI can show can be predicted, and no extra
dependency is needed; that is why this module belongs to the Qt layer (the command line's ``predict``
uses it too: image decoding and painting on a ``QImage`` need no ``QApplication``).

Transparency: a transparent pixel has no colour of its own, so it is painted with the background
colour. Which colour that is depends on the picture. If most of it is opaque, the opaque part is the
paper with ink on it, and transparent corners get the paper's colour. If most of it is transparent,
the opaque part *is* the ink (black strokes saved on a transparent layer), and the transparent rest
gets the opposite colour, white behind dark strokes and black behind light ones.

Untrusted files are checked before they cost memory: the size in the file's header is read first
(``QImageReader.size()`` does not decode), and anything above :data:`MAX_PIXELS` is refused. Every
problem is an :class:`~mnist_gui.errors.ImageError` that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QSize, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from mnist_gui.atomic import atomic_write
from mnist_gui.errors import ImageError
from mnist_gui.imaging.preprocess import normalize_polarity

__all__ = ["load_image", "save_png", "array_image", "MAX_PIXELS"]

#: Largest picture accepted: 64 megapixels (an 8000 x 8000 scan). Far beyond any digit photo, and
#: small enough that decoding it (4 bytes a pixel) stays within Qt's default 256 MB allocation limit.
MAX_PIXELS = 64_000_000
#: Qt's allocation limit needed for MAX_PIXELS at 32 bits per pixel, in MB.
ALLOCATION_LIMIT_MB = 256
#: Side of the small copy used to decide the background colour of transparent pictures.
_STATS_SIDE = 256


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read the picture at ``path`` and return it as a 2-D uint8 array, ink bright, background 0.

    Any format Qt reads (PNG, JPEG, BMP, GIF, WebP, TIFF, ...), any size up to :data:`MAX_PIXELS`,
    colour or grey, with or without alpha, either polarity. JPEG/TIFF orientation tags are applied.
    Raises :class:`ImageError` if the file is missing, is not a picture, cannot be decoded, has no
    pixels, or is too large.
    """
    p = Path(path)
    name = os.fspath(path)
    if not p.exists():
        raise ImageError(f"{name}: no such file")
    if p.is_dir():
        raise ImageError(f"{name}: is a folder, not an image")

    _ensure_allocation_limit()
    reader = QImageReader(str(p))
    reader.setDecideFormatFromContent(True)  # a PNG saved as .jpg is still a PNG
    reader.setAutoTransform(True)  # phone photos: apply the EXIF rotation
    if not reader.canRead():
        raise ImageError(f"{name}: not an image that can be read ({reader.errorString()}); "
                         "use PNG, JPEG or BMP")
    size = reader.size()  # from the header, without decoding
    if size.isValid():
        _check_size(name, size.width(), size.height())

    image = reader.read()
    if image.isNull():
        raise ImageError(f"{name}: cannot decode the image ({reader.errorString()})")
    _check_size(name, image.width(), image.height())
    try:
        grey = _to_grey(image)
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to convert a "
                         f"{image.width()} x {image.height()} image") from None
    return normalize_polarity(grey)


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
