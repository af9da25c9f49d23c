"""Tests for mnist_gui.ui.imagefile: every kind of picture becomes the same ink-high array."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PySide6.QtGui import QImage

from mnist_gui.errors import ImageError
from mnist_gui.ui.imagefile import MAX_PIXELS, load_image
from mnist_gui.imaging.preprocess import preprocess_drawing
from test_preprocess import PATHS, correlation, render_path


def save(array: np.ndarray, path, quality: int = -1) -> str:
    """Save a (h, w) grey, (h, w, 3) RGB or (h, w, 4) RGBA uint8 array with Qt."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    fmt = {2: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888}.get(a.ndim)
    if a.ndim == 3:
        fmt = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}[a.shape[2]]
    h, w = a.shape[:2]
    image = QImage(a.data, w, h, a.strides[0], fmt).copy()  # copy: own the pixels before `a` goes
    assert image.save(str(path), None, quality), path
    return str(path)


@pytest.fixture(scope="module")
def ink() -> np.ndarray:
    """A '2' drawn light-on-black, 280x200 (not square, to catch swapped axes)."""
    return render_path([(y, x - 40) for y, x in PATHS["2"]], 14, shape=(280, 200))


def check_same_digit(loaded: np.ndarray, ink: np.ndarray, min_corr: float = 0.97) -> None:
    assert loaded.dtype == np.uint8 and loaded.shape == ink.shape
    assert loaded.max() == 255 and np.median(loaded) == 0
    assert correlation(loaded, ink) > min_corr
    assert correlation(preprocess_drawing(loaded), preprocess_drawing(ink)) > 0.97


def test_light_on_dark_grey_png(tmp_path, ink):
    loaded = load_image(save(ink, tmp_path / "d.png"))
    np.testing.assert_array_equal(loaded, ink)


def test_dark_on_light_png_is_inverted(tmp_path, ink):
    check_same_digit(load_image(save(255 - ink, tmp_path / "d.png")), ink)


def test_coloured_ink_on_coloured_paper_rgb(tmp_path, ink):
    t = ink[..., None].astype(np.float32) / 255
    paper, pen = np.array([250, 240, 220]), np.array([20, 30, 120])  # blue biro on cream paper
    rgb = (paper * (1 - t) + pen * t).astype(np.uint8)
    check_same_digit(load_image(save(rgb, tmp_path / "d.png")), ink)


def test_jpeg_and_bmp(tmp_path, ink):
    check_same_digit(load_image(save(255 - ink, tmp_path / "d.jpg", quality=85)), ink, 0.95)
    check_same_digit(load_image(save(np.dstack([255 - ink] * 3), tmp_path / "d.bmp")), ink)


def test_black_strokes_on_transparent_png(tmp_path, ink):
    rgba = np.zeros(ink.shape + (4,), np.uint8)  # black everywhere, even where transparent
    rgba[..., 3] = ink
    check_same_digit(load_image(save(rgba, tmp_path / "d.png")), ink)


def test_white_strokes_on_transparent_png(tmp_path, ink):
    rgba = np.full(ink.shape + (4,), 255, np.uint8)  # white everywhere, even where transparent
    rgba[..., 3] = ink
    check_same_digit(load_image(save(rgba, tmp_path / "d.png")), ink)


def test_paper_with_transparent_margins(tmp_path, ink):
    """Dark ink on opaque white paper, with fully transparent (black-coloured) margins."""
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., :3] = (255 - ink)[..., None]
    rgba[..., 3] = 255
    rgba[:, :15] = 0
    rgba[:, -15:] = 0
    check_same_digit(load_image(save(rgba, tmp_path / "d.png")), ink)


def test_wrong_extension_is_read_by_content(tmp_path, ink):
    path = save(255 - ink, tmp_path / "d.png")
    renamed = tmp_path / "d.jpg"
    renamed.write_bytes(open(path, "rb").read())
    check_same_digit(load_image(renamed), ink)


def test_tiny_and_odd_sized_images(tmp_path):
    one = np.full((1, 1), 255, np.uint8)
    assert load_image(save(one, tmp_path / "one.png")).shape == (1, 1)
    odd = np.zeros((3, 7), np.uint8)  # width not a multiple of 4: rows are padded in QImage
    odd[1, 2:5] = 255
    np.testing.assert_array_equal(load_image(save(odd, tmp_path / "odd.png")), odd)


# ---------------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")


def test_folder(tmp_path):
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(ImageError, match="notes.png"):
        load_image(path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png"):
        load_image(empty)


def test_truncated_png(tmp_path, ink):
    data = open(save(ink, tmp_path / "d.png"), "rb").read()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png"):
        load_image(cut)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, followed by a tiny (wrong) pixel stream."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


def test_enormous_dimensions_refused_before_decoding(tmp_path):
    # 100,000 x 100,000 would need 10 GB to decode; the header alone must get it refused.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(ImageError, match="too large"):
        load_image(path)
    side = int(np.sqrt(MAX_PIXELS)) + 1
    path.write_bytes(png_header_only(side, side))
    with pytest.raises(ImageError, match="bomb.png.*too large"):
        load_image(path)


def test_zero_size_header(tmp_path):
    path = tmp_path / "zero.png"
    path.write_bytes(png_header_only(0, 10))
    with pytest.raises(ImageError, match="zero.png"):
        load_image(path)


def test_needs_no_qapplication(tmp_path, ink):
    """Decoding (and painting transparent images flat) works in a process without a QApplication."""
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = ink
    path = save(rgba, tmp_path / "d.png")
    code = (
        "import sys\n"
        "from mnist_gui.ui.imagefile import load_image\n"
        f"a = load_image({path!r})\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "assert QCoreApplication.instance() is None\n"
        "assert a.max() == 255 and a.shape == (280, 200), a.shape\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
