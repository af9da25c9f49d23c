"""'What the network sees': the 28x28 image the model receives, scaled up without smoothing.

Showing the preprocessed input makes the preprocessing honest: a user whose '7' is read as a '1'
can see that the network was shown a thin slanted bar. Pixels are scaled by nearest neighbour so
each of the 784 inputs stays a visible square. An RGBA overlay of the same 28x28 grid (the saliency
map, while the "Inside" view is open) can be laid over it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGroupBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mnist_gui.digits import SIDE



class DigitPreview(QWidget):
    """Shows a (28, 28) uint8 image (ink high) or, when given ``None``, an empty field."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(SIDE * 3, SIDE * 3)
        # It grows with the window (whole screen pixels per input pixel, see paintEvent).
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("The 28x28 image the network receives: your drawing cropped, scaled to fit\n"
                        "20x20 and centred by its centre of mass, like the MNIST digits.")
        self._pixels: np.ndarray | None = None
        self._image = QImage()
        self._overlay = QImage()

    def sizeHint(self) -> QSize:
        return QSize(SIDE * 5, SIDE * 5)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def pixels(self) -> np.ndarray | None:
        """The image currently shown (a copy), or None."""
        return None if self._pixels is None else self._pixels.copy()

    def set_image(self, pixels: np.ndarray | None) -> None:
        if pixels is None:
            self._pixels = None
            self._image = QImage()
        else:
            arr = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE)
            self._pixels = arr.copy()
            # QImage does not own the NumPy buffer: the conversion copies it, into the format the raster
            # engine scales fastest (RGB32: 0.02 ms for this 28x28 blown up, grey 0.5 ms).
            self._image = QImage(self._pixels.data, SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).convertToFormat(
                QImage.Format.Format_RGB32)
        self.update()

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        """Lay a (28, 28, 4) uint8 RGBA image over the pixels (None: none)."""
        if rgba is None:
            if self._overlay.isNull():
                return
            self._overlay = QImage()
        else:
            arr = np.ascontiguousarray(rgba, dtype=np.uint8).reshape(SIDE, SIDE, 4)
            self._overlay = QImage(arr.data, SIDE, SIDE, 4 * SIDE, QImage.Format.Format_RGBA8888).convertToFormat(
                QImage.Format.Format_ARGB32_Premultiplied)
        self.update()

    def has_overlay(self) -> bool:
        return not self._overlay.isNull()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        side = min(self.width(), self.height())
        cell = max(1, side // SIDE)
        size = cell * SIDE   # whole pixels per input pixel: every square the same size
        target = QRect((self.width() - size) // 2, (self.height() - size) // 2, size, size)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        if self._image.isNull():
            painter.fillRect(target, QColor(0, 0, 0))
            painter.setPen(QColor(120, 120, 130))
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "empty")
        else:
            painter.drawImage(target, self._image)
            if not self._overlay.isNull():
                painter.drawImage(target, self._overlay)
        # The 20x20 box MNIST fits digits into, as a faint guide.
        painter.setPen(QPen(QColor(70, 110, 170, 140), 1, Qt.PenStyle.DotLine))
        painter.drawRect(target.x() + 4 * cell, target.y() + 4 * cell, 20 * cell - 1, 20 * cell - 1)
        painter.setPen(QPen(QColor(90, 90, 100), 1))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.end()


class PreviewBox(QGroupBox):
    """The preview with its title and a one-line explanation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What the network sees", parent)
        self.preview = DigitPreview()
        caption = QLabel("Cropped, scaled to fit 20x20 and centred, like the MNIST digits.")
        caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addWidget(caption)
