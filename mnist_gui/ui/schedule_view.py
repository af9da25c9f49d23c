"""A small drawing of the learning-rate schedule the training panel's fields describe.

A learner who picks "cosine" or "step" sees at once what it means: the rate over the run, from the
first step to the last, with the start and end values written beside it. It paints itself (no plot
widget): a polyline of 120 samples of the very schedule the training loop will use.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from mnist_gui.nn import SCHEDULES, make_schedule

SAMPLES = 120
STEPS_PER_EPOCH = 100   # the shape depends only on fractions of the run, not on the real batch count


class ScheduleView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._points: list[float] = []
        self._caption = ""
        self.setToolTip("The learning rate over the run (left: the first step, right: the last), "
                        "as the schedule, learning rate and epochs above describe it.")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, self.fontMetrics().height() + 30)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(80, self.sizeHint().height())

    def show_schedule(self, name: str, lr: float | None, epochs: int | None) -> None:
        """Draw ``name`` from ``lr`` over ``epochs``; nothing (with a note) while a value is not valid."""
        if name not in SCHEDULES or not lr or lr <= 0 or not epochs or not 1 <= epochs <= 100_000:
            self._points, self._caption = [], "(needs a valid learning rate and epochs)"
        else:
            total = epochs * STEPS_PER_EPOCH
            at = make_schedule(name, lr, total)
            self._points = [at(int(i * (total - 1) / (SAMPLES - 1))) for i in range(SAMPLES)]
            self._caption = (f"learning rate {lr:g} throughout" if name == "constant" else
                             f"learning rate: peak {max(self._points):.3g}, end {self._points[-1]:.3g}")
        self.setAccessibleDescription(self._caption)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        text_h = self.fontMetrics().height()
        area = QRectF(2, 3, self.width() - 4, self.height() - text_h - 8)
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        if self._points:
            top = max(self._points)
            path = QPainterPath()
            for i, value in enumerate(self._points):
                point = QPointF(area.left() + area.width() * i / (SAMPLES - 1),
                                area.bottom() - area.height() * value / top)
                path.lineTo(point) if i else path.moveTo(point)
            painter.setPen(QPen(QColor("#2f6fd0"), 1.6))
            painter.drawPath(path)
        painter.setPen(self.palette().windowText().color())
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        painter.setFont(font)
        painter.drawText(QRectF(0, area.bottom() + 3, self.width(), text_h + 4),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self._caption)
        painter.end()
