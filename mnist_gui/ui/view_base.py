"""What the insight views (confusion matrix, gallery, weights, inside, map) have in common.

An :class:`InsightView` is a tab of the window's ``view_tabs`` (or a window of its own). It says when
it becomes visible (``shown``), because a view does no work while hidden: whoever feeds it only
pushes new data to views that are visible, and catches a view up when it appears. Each has a
one-line caption at the top saying what it shows (which model, which set, which epoch), drawn by a
:class:`~mnist_gui.ui.status_text.StatusText` so that changing it ten times a second re-lays-out nothing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from mnist_gui.ui.status_text import StatusText
from mnist_gui.ui.theme import Theme, app_theme


def blend(a: str | QColor, b: str | QColor, amount: float) -> QColor:
    """The colour ``amount`` of the way from ``a`` to ``b`` (0: a, 1: b), e.g. a heat map's cell
    from the theme's background to its full colour, or a grid line a little off the background."""
    a, b, t = QColor(a), QColor(b), max(0.0, min(1.0, float(amount)))
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of ``pixels``: (H, W) uint8 grey, (H, W, 3) RGB, (H, W, 4) RGBA, or
    (H, W) uint32 packed 0xFFRRGGBB (:func:`mnist_gui.insight.weights.packed`).

    Converted to the raster engine's own formats (RGB32, premultiplied ARGB32): scaled, it draws
    them 20-70x faster than grey, RGB888 or RGBA8888 (0.01-0.03 ms instead of 0.3-0.8 ms for a
    28x28 image blown up to 168x168), which decides whether a view keeps up with the pen.
    """
    if pixels.dtype == np.uint32 and pixels.ndim == 2:
        arr = np.ascontiguousarray(pixels)
        h, w = arr.shape
        return QImage(arr.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    fmt = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}
    fast = QImage.Format.Format_ARGB32_Premultiplied if channels == 4 else QImage.Format.Format_RGB32
    # convertToFormat copies, so the QImage does not point into NumPy's buffer.
    return QImage(arr.data, w, h, w * channels, fmt[channels]).convertToFormat(fast)


class InsightView(QWidget):
    """A header (the caption, then the view's controls in :attr:`header`) over the view's own content
    (:attr:`body`); ``shown`` when it becomes visible, ``hidden`` when not. What it paints itself
    takes its colours from :attr:`theme` (light or dark; the window calls :meth:`apply_theme`)."""

    shown = Signal()
    hidden = Signal()

    def __init__(self, caption: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = app_theme()
        self.caption = StatusText(caption, min_lines=1)
        self.caption.setStyleSheet(f"color: {self.theme.faint};")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(6, 4, 6, 4)
        self.body.setSpacing(4)
        self.header = QHBoxLayout()
        self.header.addWidget(self.caption, 1)
        self.body.addLayout(self.header)

    def apply_theme(self, theme: Theme) -> None:
        """Paint in ``theme``'s colours from now on (so do the parts that paint themselves: every child
        with a ``theme`` attribute)."""
        self.theme = theme
        self.caption.setStyleSheet(f"color: {theme.faint};")
        for widget in [self, *self.findChildren(QWidget)]:
            if hasattr(widget, "theme"):
                widget.theme = theme
            widget.update()

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def caption_text(self) -> str:
        return self.caption.text()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.shown.emit()

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.hidden.emit()
