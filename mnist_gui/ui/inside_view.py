"""Inside the network, for the current drawing: each hidden layer's activations and a saliency map.

Each hidden layer is one heat strip, one column per unit (units binned by their strongest value when
there are more units than pixels), darker where a unit fires harder; its five strongest units are
marked, and the line above it says how many units fire at all. The output layer follows as ten
boxes. On the left, the input with the saliency map over it, and the map alone: red where more ink
would make the network surer of its answer, blue where ink argues for another digit (the gradient of
the winning digit's log-probability with respect to each pixel, :mod:`mnist_gui.insight.inside`).
The same overlay can lie on the window's preview while this view is open.

Everything here is drawn from one :class:`~mnist_gui.insight.inside.InsideLook`, computed by the
window for each drawing change (well under a millisecond for 784-1024-1024-10), so the view follows
the pen and the learning network.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSizePolicy, QToolTip, QWidget

from mnist_gui.digits import SIDE
from mnist_gui.insight.inside import InsideLook, saliency_overlay, strongest
from mnist_gui.insight.weights import colourize
from mnist_gui.ui.theme import Theme, app_theme
from mnist_gui.ui.view_base import InsightView, blend, qimage

TOP_UNITS = 5
#: Sequential colour map for activations >= 0: near-white (silent) through orange to dark red.
_HEAT = np.stack([np.interp(np.linspace(0, 1, 256), [0, 0.5, 1], c) for c in
                  ([250, 253, 165], [250, 141, 15], [250, 60, 21])], axis=1).round().astype(np.uint8)


def units_per_column(units: int, width: int) -> int:
    """How many units share one column of a strip ``width`` columns wide."""
    return max(1, -(-units // max(1, int(width))))


def strip_pixels(values: np.ndarray, width: int) -> np.ndarray:
    """(1, bins, 3) uint8: one layer's activations as colours, at most ``width`` bins (each bin shows
    its strongest unit). Non-negative layers (ReLU, sigmoid) are white-to-red from 0 to the layer's
    maximum; layers with negative values (tanh, leaky ReLU) use the diverging map, zero neutral."""
    v = np.asarray(values, np.float32)
    per_bin = units_per_column(v.size, width)
    bins = -(-v.size // per_bin)
    padded = np.zeros(per_bin * bins, np.float32)
    padded[:v.size] = v
    grouped = padded.reshape(bins, per_bin)
    picked = grouped[np.arange(bins), np.argmax(np.abs(grouped), axis=1)]
    peak = float(np.abs(v).max()) or 1.0
    if v.min() < 0:
        return colourize(picked / peak)[None]
    return _HEAT[np.clip(picked / peak * 255, 0, 255).astype(np.uint8)][None]


class _Saliency(QWidget):
    """The input with the saliency over it, and the saliency alone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(150, 100)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.input = None
        self.overlay = None
        self.alone = None
        self.winner: int | None = None
        self.theme: Theme = app_theme()

    def sizeHint(self) -> QSize:
        return QSize(300, 190)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        theme = self.theme
        side = max(SIDE, min((self.width() - 12) // 2, self.height() - 34) // SIDE * SIDE)
        captions = ("what it sees", f"saliency for {self.winner}" if self.winner is not None else "saliency")
        for i, caption in enumerate(captions):
            target = QRectF(i * (side + 12), 0, side, side)
            if self.input is None:
                painter.fillRect(target, QColor(0, 0, 0) if i == 0 else QColor(theme.background))
            elif i == 0:
                painter.drawImage(target, self.input)
                painter.drawImage(target, self.overlay)
            else:
                painter.drawImage(target, self.alone)
            painter.setPen(QPen(blend(theme.background, theme.foreground, 0.45), 1))
            painter.drawRect(target.adjusted(0, 0, -1, -1))
            painter.setPen(QColor(theme.foreground))
            painter.drawText(QRectF(target.left(), side + 2, side + 12, 16), Qt.AlignmentFlag.AlignLeft, caption)
        painter.setPen(QColor(theme.faint))
        painter.drawText(QRectF(0, side + 17, 2 * side + 12, 16), Qt.AlignmentFlag.AlignLeft,
                         "red: ink there helps; blue: it hurts")


class _Strips(QWidget):
    """One heat strip per hidden layer, then the ten outputs."""

    unit_clicked = Signal(int, int)   # layer (0 = first hidden), unit

    LABEL_H = 16

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.look: InsideLook | None = None
        self.placeholder = ""
        self._images: list = []
        self._per_bin: list[int] = []
        self._top: list[np.ndarray] = []
        self.theme: Theme = app_theme()

    def sizeHint(self) -> QSize:
        return QSize(520, 220)

    def set_look(self, look: InsideLook | None) -> None:
        self.look = look
        width = max(1, self.width() - 8)
        self._images = [] if look is None else [qimage(strip_pixels(h, width)) for h in look.hidden]
        self._per_bin = [] if look is None else [units_per_column(h.size, width) for h in look.hidden]
        self._top = [] if look is None else [strongest(h, TOP_UNITS) for h in look.hidden]
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.look is not None:
            self.set_look(self.look)

    def _rows(self) -> list[QRectF]:
        """The strip rectangles, one per hidden layer, then the output row."""
        n = len(self.look.hidden) + 1
        strip_h = max(10.0, min(34.0, (self.height() - n * (self.LABEL_H + 10)) / n))
        rows, y = [], 0.0
        for _ in range(n):
            y += self.LABEL_H + 8   # label line and the markers' room
            rows.append(QRectF(4, y, self.width() - 8, strip_h))
            y += strip_h + 2
        return rows

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        look, theme = self.look, self.theme
        if look is None:
            painter.setPen(QColor(theme.faint))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        font = QFont(self.font())
        font.setPixelSize(11)
        painter.setFont(font)
        rows = self._rows()
        for i, (values, image, top) in enumerate(zip(look.hidden, self._images, self._top)):
            rect = rows[i]
            active = float(np.count_nonzero(values > 0)) / max(1, values.size)
            label = (f"hidden layer {i + 1}: {values.size} {look.kinds[i]} units, {active:.0%} firing;"
                     f" strongest {', '.join(str(int(u)) for u in top)}")
            painter.setPen(QColor(theme.foreground))
            painter.drawText(QRectF(rect.left(), rect.top() - self.LABEL_H - 8, rect.width(), self.LABEL_H),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            painter.drawImage(rect, image)
            painter.setPen(QPen(blend(theme.background, theme.foreground, 0.35), 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            painter.setBrush(QColor(theme.foreground))
            painter.setPen(Qt.PenStyle.NoPen)
            for unit in top:   # a small triangle above each of the strongest units
                x = rect.left() + (unit // self._per_bin[i] + 0.5) / self._images[i].width() * rect.width()
                painter.drawPolygon(QPolygonF([QPointF(x - 4, rect.top() - 7), QPointF(x + 4, rect.top() - 7),
                                               QPointF(x, rect.top() - 1)]))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        out = rows[-1]
        painter.setPen(QColor(theme.foreground))
        painter.drawText(QRectF(out.left(), out.top() - self.LABEL_H - 8, out.width(), self.LABEL_H),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "output: P(digit)")
        cell = out.width() / 10
        for d, p in enumerate(look.probabilities):
            box = QRectF(out.left() + d * cell + 1, out.top(), cell - 2, out.height())
            # The prediction chart's colours: the winner's bar, the others' (faded by their probability).
            colour = QColor(theme.bar_top) if d == look.winner else QColor(theme.bar)
            colour.setAlphaF(0.15 + 0.85 * float(p))
            painter.fillRect(box, colour)
            painter.setPen(QColor(255, 255, 255) if p > 0.5 else QColor(theme.foreground))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, f"{d}: {p:.0%}" if cell > 44 else str(d))

    def unit_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self.look is None:
            return None
        for layer, rect in enumerate(self._rows()[:-1]):
            if rect.top() <= pos.y() <= rect.bottom() and rect.left() <= pos.x() < rect.right():
                n, bins = self.look.hidden[layer].size, self._images[layer].width()
                column = int((pos.x() - rect.left()) / rect.width() * bins)
                return layer, min(n - 1, column * self._per_bin[layer])
        return None

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        hit = self.unit_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.unit_clicked.emit(*hit)

    def event(self, event) -> bool:  # noqa: A003
        if event.type() == QEvent.Type.ToolTip:
            hit = self.unit_at(QPointF(event.pos()))
            if hit is not None:
                layer, unit = hit
                value = float(self.look.hidden[layer][unit])
                more = " (click: its weights)" if layer == 0 else ""
                QToolTip.showText(event.globalPos(), f"layer {layer + 1}, unit {unit}: {value:.3f}{more}", self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class InsideView(InsightView):
    """Activations and saliency for the drawing (objectName ``insideView``)."""

    unit_clicked = Signal(int, int)       # layer, unit
    overlay_wanted = Signal(bool)         # the saliency on the preview: on or off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("insideView")
        self.saliency = _Saliency()
        self.strips = _Strips()
        self.strips.unit_clicked.connect(self.unit_clicked)
        self.preview_box = QCheckBox("saliency on the preview")
        self.preview_box.setChecked(True)
        self.preview_box.setToolTip("Lay the saliency map over 'What the network sees' while this view is open")
        self.preview_box.toggled.connect(self.overlay_wanted)
        left = QWidget()
        column = QHBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.saliency)
        row = QHBoxLayout()
        row.addWidget(left)
        row.addWidget(self.strips, 1)
        self.header.addWidget(self.preview_box)
        self.body.addLayout(row, 1)
        self._look: InsideLook | None = None
        self.overlay: np.ndarray | None = None
        self.show_look(None, None, "", "")

    def show_look(self, look: InsideLook | None, image: np.ndarray | None, caption: str,
                  placeholder: str = "") -> None:
        """Show what the network does with ``image`` (28x28 uint8); None: ``placeholder``."""
        self.set_caption(caption)
        self._look = look
        self.strips.placeholder = placeholder
        self.strips.set_look(look)
        s = self.saliency
        if look is None or image is None:
            s.input = s.overlay = s.alone = None
            s.winner = None
            self.overlay = None
        else:
            self.overlay = saliency_overlay(look.saliency)
            peak = float(np.abs(look.saliency).max()) or 1.0
            s.input = qimage(np.asarray(image, np.uint8).reshape(SIDE, SIDE))
            s.overlay = qimage(self.overlay)
            s.alone = qimage(colourize(look.saliency / peak))
            s.winner = look.winner
        s.update()

    def look(self) -> InsideLook | None:
        return self._look

    def overlay_on_preview(self) -> bool:
        return self.preview_box.isChecked()
