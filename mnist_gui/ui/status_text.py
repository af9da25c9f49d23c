"""A word-wrapped status line that changes ten times a second without re-laying-out the window.

``QLabel.setText`` always calls ``updateGeometry``: the label's parent layout is invalidated and the
request climbs through the splitters to the main window, which lays itself out again, 0.6-0.8 ms of
the GUI thread per progress tick while training. :class:`StatusText` paints its own text and asks
for a new layout only when the text needs a different number of lines (it always reserves
``min_lines``, so the usual one- or two-line progress text never moves the widgets below it).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

_FLAGS = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap


class StatusText(QWidget):
    def __init__(self, text: str = "", min_lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._min_lines = min_lines
        self._lines = min_lines
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name, so callers need not care)
        if text == self._text:
            return
        self._text = text
        self.setAccessibleName(text)
        self._fit(self.width())
        self.update()

    def lines(self) -> int:
        """How many lines of height the widget asks for (at least ``min_lines``)."""
        return self._lines

    def _fit(self, width: int) -> None:
        fm = self.fontMetrics()
        needed = fm.boundingRect(QRect(0, 0, max(width, 1), 1 << 20), _FLAGS, self._text).height()
        lines = max(self._min_lines, math.ceil(needed / fm.lineSpacing()))
        if lines != self._lines:
            self._lines = lines
            self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        return QSize(fm.averageCharWidth() * 30, self._lines * fm.lineSpacing())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self._lines * self.fontMetrics().lineSpacing())

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._fit(event.size().width())
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.contentsRect(), _FLAGS, self._text)
