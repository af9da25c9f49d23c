"""The confusion matrix: for each true digit (row), how often the network read each digit (column).

A heat map painted by hand (one ``QPainter`` pass, 110 rectangles): the diagonal, read right, in
blue by the share of its row; mistakes in red, the most frequent mistake reddest (square-root scale,
so a confusion of 3 images still shows next to one of 30). The right column is each digit's accuracy.
Counts or percentages of the row, at the flick of a check box. Hovering over a cell says what it
means; clicking it asks (``cell_clicked``) for the gallery of those images. Cells shrink with the
widget, down to 1024x600 screens; below about 14 pixels a cell drops its number (the tooltip keeps it).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QSizePolicy, QToolTip, QWidget

from mnist_gui.digits import CLASSES
from mnist_gui.insight.evaluation import Evaluation, per_class_accuracy
from mnist_gui.ui.theme import Theme, app_theme
from mnist_gui.ui.view_base import InsightView, blend

# The heat colours (right, wrong) are the data's, the same in light and dark; each cell fades from the
# theme's background to them, and a number takes white or black by how dark its cell came out.
RIGHT_COLOUR = QColor(47, 111, 208)
WRONG_COLOUR = QColor(208, 52, 44)


class _Matrix(QWidget):
    """The painted grid; knows counts, percentages, hover and the selected cell."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(220, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.counts: np.ndarray | None = None
        self.percent = False
        self.placeholder = ""
        self.selected: tuple[int, int] | None = None
        self.hover: tuple[int, int] | None = None
        self.theme: Theme = app_theme()

    def sizeHint(self) -> QSize:
        return QSize(520, 360)

    # -- geometry ---------------------------------------------------------------------------------
    def _geometry(self) -> tuple[float, float, float]:
        """(cell side, left of column 0, top of row 0): 10 columns + accuracy column + label margins."""
        side = min((self.width() - 50) / (CLASSES + 1.6), (self.height() - 40) / (CLASSES + 0.2))
        side = max(4.0, side)
        grid_w = side * (CLASSES + 1.6)
        left = max(44.0, (self.width() - grid_w) / 2 + 22)
        top = 34.0
        return side, left, top

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        side, left, top = self._geometry()
        col, row = int((pos.x() - left) // side), int((pos.y() - top) // side)
        if 0 <= row < CLASSES and 0 <= col < CLASSES and pos.x() >= left and pos.y() >= top:
            return row, col
        return None

    def cell_rect(self, row: int, col: int) -> QRectF:
        side, left, top = self._geometry()
        return QRectF(left + col * side, top + row * side, side, side)

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        theme = self.theme
        empty = QColor(theme.background)
        if self.counts is None:
            painter.setPen(QColor(theme.faint))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        side, left, top = self._geometry()
        counts = self.counts
        rows = counts.sum(axis=1)
        share = counts / np.maximum(rows, 1)[:, None]
        off = counts.copy()
        np.fill_diagonal(off, 0)
        worst = max(1, int(off.max()))
        font = QFont(self.font())
        font.setPixelSize(max(7, min(14, int(side * 0.36))))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        show_numbers = side >= 12
        for r in range(CLASSES):
            for c in range(CLASSES):
                rect = QRectF(left + c * side, top + r * side, side, side)
                n = int(counts[r, c])
                if r == c:
                    fill = blend(empty, RIGHT_COLOUR, 0.15 + 0.85 * share[r, c]) if rows[r] else empty
                else:
                    fill = blend(empty, WRONG_COLOUR, np.sqrt(n / worst)) if n else empty
                painter.fillRect(rect, fill)
                if show_numbers and (n or r == c):
                    dark = fill.lightness() < 150
                    painter.setPen(QColor(255, 255, 255) if dark else QColor(28, 28, 28))
                    text = f"{100 * share[r, c]:.1f}" if self.percent else str(n)
                    if self.percent and side < 30:
                        text = f"{100 * share[r, c]:.0f}"
                    if metrics.horizontalAdvance(text) <= side - 2:   # else only its tooltip says it
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QPen(blend(empty, theme.foreground, 0.15), 1))
        for i in range(CLASSES + 1):
            painter.drawLine(QPointF(left, top + i * side), QPointF(left + CLASSES * side, top + i * side))
            painter.drawLine(QPointF(left + i * side, top), QPointF(left + i * side, top + CLASSES * side))
        # Per-class accuracy: a bar of the row's share read right, with its value.
        accuracy = per_class_accuracy(counts)
        acc_left = left + CLASSES * side + side * 0.3
        acc_w = side * 1.3
        for r in range(CLASSES):
            rect = QRectF(acc_left, top + r * side + 1, acc_w, side - 2)
            painter.fillRect(rect, blend(empty, theme.foreground, 0.08))
            if np.isfinite(accuracy[r]):
                bar = QRectF(rect.left(), rect.top(), rect.width() * accuracy[r], rect.height())
                painter.fillRect(bar, blend(empty, RIGHT_COLOUR, 0.35))
                if show_numbers:
                    painter.setPen(QColor(theme.foreground))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{100 * accuracy[r]:.1f}")
        # Labels: digits along both edges, what the axes are.
        painter.setPen(QColor(theme.foreground))
        label_font = QFont(self.font())
        label_font.setPixelSize(max(8, min(13, int(side * 0.4))))
        painter.setFont(label_font)
        for i in range(CLASSES):
            painter.drawText(QRectF(left + i * side, top - 16, side, 16), Qt.AlignmentFlag.AlignCenter, str(i))
            painter.drawText(QRectF(left - 18, top + i * side, 16, side), Qt.AlignmentFlag.AlignCenter, str(i))
        painter.drawText(QRectF(left, 0, CLASSES * side, 16), Qt.AlignmentFlag.AlignCenter, "predicted digit")
        painter.drawText(QRectF(acc_left - side * 0.2, top - 32, acc_w + side * 0.4, 32),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, "accuracy\n%" if side > 22 else "%")
        painter.save()
        painter.translate(left - 22, top + CLASSES * side / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-CLASSES * side / 2, -18, CLASSES * side, 16), Qt.AlignmentFlag.AlignCenter, "true digit")
        painter.restore()
        outline = QColor(theme.foreground)
        hover = QColor(outline)
        hover.setAlpha(150)
        for cell, colour, width in ((self.hover, hover, 1.5), (self.selected, outline, 2.5)):
            if cell is not None:
                painter.setPen(QPen(colour, width))
                painter.drawRect(self.cell_rect(*cell).adjusted(1, 1, -1, -1))

    # -- mouse ------------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position()) if self.counts is not None else None
        if cell != self.hover:
            self.hover = cell
            self.update()
        self.setCursor(Qt.CursorShape.PointingHandCursor if cell else Qt.CursorShape.ArrowCursor)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self.hover is not None:
            self.hover = None
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.counts is not None:
            cell = self.cell_at(event.position())
            if cell is not None:
                self.selected = cell
                self.update()
                self.cell_clicked.emit(*cell)

    def event(self, event) -> bool:  # noqa: A003
        if event.type() == QEvent.Type.ToolTip:
            text = self.describe(self.cell_at(QPointF(event.pos()))) if self.counts is not None else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def describe(self, cell: tuple[int, int] | None) -> str:
        if cell is None or self.counts is None:
            return ""
        r, c = cell
        n, total = int(self.counts[r, c]), int(self.counts[r].sum())
        share = f" ({100 * n / total:.1f}% of the {total:,} {r}s)" if total else ""
        what = f"{r}s read right" if r == c else f"{r}s read as {c}"
        return f"{n:,} {what}{share}. Click to see them in the gallery."


class ConfusionView(InsightView):
    """The confusion matrix of an :class:`Evaluation` (objectName ``confusionMatrix``)."""

    cell_clicked = Signal(int, int)   # true digit, predicted digit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("confusionMatrix")
        self.matrix = _Matrix()
        self.percent_box = QCheckBox("show % of each row")
        self.percent_box.setToolTip("Counts, or the share of each true digit's images in each cell")
        self.percent_box.toggled.connect(self.set_percentages)
        self.matrix.cell_clicked.connect(self.cell_clicked)
        self.header.addWidget(self.percent_box)
        self.body.addWidget(self.matrix, 1)
        self._evaluation: Evaluation | None = None
        self.set_evaluation(None, "", "")

    def set_evaluation(self, evaluation: Evaluation | None, caption: str, placeholder: str = "") -> None:
        """Show ``evaluation``'s counts (None: ``placeholder`` instead) under ``caption``."""
        self.set_caption(caption)
        self.matrix.placeholder = placeholder
        if evaluation is self._evaluation and evaluation is not None:
            return
        self._evaluation = evaluation
        self.matrix.counts = None if evaluation is None else evaluation.confusion()
        self.matrix.selected = None
        self.matrix.update()

    def evaluation(self) -> Evaluation | None:
        return self._evaluation

    def confusion(self) -> np.ndarray | None:
        """The 10x10 counts shown (rows true, columns predicted), or None."""
        return None if self.matrix.counts is None else self.matrix.counts.copy()

    def set_percentages(self, on: bool) -> None:
        if self.percent_box.isChecked() != on:
            self.percent_box.setChecked(on)   # comes back here through toggled
            return
        self.matrix.percent = bool(on)
        self.matrix.update()

    def select_cell(self, true_digit: int | None, predicted_digit: int | None) -> None:
        """Outline a cell (None: none), as a click does, without emitting ``cell_clicked``."""
        self.matrix.selected = None if true_digit is None or predicted_digit is None else (true_digit, predicted_digit)
        self.matrix.update()
