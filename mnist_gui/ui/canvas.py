"""The drawing canvas: the user draws a digit with the mouse or a stylus.

Like Qt's *Scribble* example, strokes are painted into a :class:`QImage` as they arrive and only
the rectangle a new segment touched is repainted. The image is kept the way MNIST stores digits
(grey ink on black, ink = high values), so :meth:`DrawingCanvas.ink_array` can go straight to
:func:`mnist_gui.preprocess.preprocess_drawing` without any conversion.

The drawing area is the largest square that fits the widget. Every stroke is also kept as a list of
points in *unit* coordinates (0..1 across the square) with its pen width as a fraction of the side,
so undoing a stroke or resizing the window re-renders the drawing exactly, at any size or pixel ratio.
A 28x28 picture (a test image chosen in the gallery) can lie under the strokes: :meth:`show_picture`.

``changed`` is throttled: it fires at once for the first change after a quiet spell and then at most
once per :data:`EMIT_INTERVAL_MS` while the user keeps drawing (the last state is always delivered),
so a listener that re-predicts does so at display rate, not once per mouse event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QColor, QImage, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen,
                           QTabletEvent)
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout,
                               QWidget)

from mnist_gui.digits import SIDE

#: Minimum time between two ``changed`` signals while drawing (about 30 per second).
EMIT_INTERVAL_MS = 33
DEFAULT_PEN_WIDTH = 22
PAPER = 0                              # the image's background grey level (MNIST: black)
INK = 255                              # the pen's grey level (MNIST: white)


@dataclass
class Stroke:
    """One press-move-release: pen width and points as fractions of the square's side."""

    width: float
    points: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, pressure factor)


class DrawingCanvas(QWidget):
    """A square drawing surface with undo per stroke; emits ``changed`` (throttled) on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Draw a digit with the left mouse button.\n"
                        "Ctrl+Z undoes the last stroke; Esc or Delete clears.")
        self._pen_width = DEFAULT_PEN_WIDTH
        self._strokes: list[Stroke] = []
        self._cleared: list[Stroke] = []      # what the last clear() removed, for undo
        self._picture: QImage | None = None   # a 28x28 image under the strokes (show_picture)
        self._cleared_picture: QImage | None = None
        self._current: Stroke | None = None
        self._image = QImage()
        self._side = 0.0                       # logical side of the drawing square
        self._origin = QPointF(0, 0)           # its top-left corner in widget coordinates
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(EMIT_INTERVAL_MS)
        self._emit_timer.timeout.connect(self._flush_changed)
        self._pending = False

    # -- public API ------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def pen_width(self) -> int:
        """Pen width in logical pixels at the current canvas size."""
        return self._pen_width

    def set_pen_width(self, width: int) -> None:
        self._pen_width = max(1, int(width))

    def is_empty(self) -> bool:
        return not self._strokes and self._picture is None

    def show_picture(self, pixels: np.ndarray | None) -> None:
        """Replace the drawing with a (28, 28) uint8 picture (ink high), scaled to the canvas; strokes
        drawn afterwards go on top of it. ``changed`` is not emitted: whoever shows a picture already
        knows the image (the window puts the exact 28x28 pixels into the preview). None removes it."""
        if pixels is None:
            self._picture = None
        else:
            arr = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE)
            self._picture = QImage(arr.data, SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).copy()
        self._strokes, self._current, self._cleared, self._cleared_picture = [], None, [], None
        self._pending = False   # a change still due from the drawing it replaces is void
        self._render_all()

    def stroke_count(self) -> int:
        return len(self._strokes)

    def clear(self) -> None:
        """Erase everything; an undo right after brings the drawing back."""
        if not self._strokes and self._current is None and self._picture is None:
            return
        self._cleared, self._cleared_picture = self._strokes, self._picture
        self._strokes, self._picture = [], None
        self._current = None
        self._render_all()
        self._notify()

    def undo(self) -> None:
        """Remove the last complete stroke (or, on a freshly cleared canvas, undo the clear)."""
        if self._current is not None:
            return
        if self._strokes:
            self._strokes.pop()
        elif self._cleared or self._cleared_picture is not None:
            self._strokes, self._cleared = self._cleared, []
            self._picture, self._cleared_picture = self._cleared_picture, None
        else:
            return
        self._render_all()
        self._notify()

    def image(self) -> QImage:
        """A copy of the drawing (grey ink on black, MNIST polarity) at device resolution."""
        return self._image.copy()

    def ink_array(self) -> np.ndarray:
        """The drawing as a 2-D uint8 array, ink = high values, ready for ``preprocess_drawing``."""
        img = self._image
        if img.isNull():
            return np.zeros((1, 1), np.uint8)
        h, w, stride = img.height(), img.width(), img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * stride)
        return buf.reshape(h, stride)[:, :w].copy()

    # -- geometry and rendering ----------------------------------------------------------------
    def drawing_rect(self) -> QRectF:
        """The drawing square in widget coordinates."""
        return QRectF(self._origin.x(), self._origin.y(), self._side, self._side)

    def _to_unit(self, pos: QPointF) -> tuple[float, float]:
        side = max(self._side, 1.0)
        return (pos.x() - self._origin.x()) / side, (pos.y() - self._origin.y()) / side

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._fit_image()
        super().resizeEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802
        # Moved to a screen with another pixel ratio: re-render at the new device resolution.
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._fit_image()
            self.update()
        super().changeEvent(event)

    def _fit_image(self) -> None:
        side = float(min(self.width(), self.height()))
        self._side = side
        self._origin = QPointF((self.width() - side) / 2.0, (self.height() - side) / 2.0)
        dpr = self.devicePixelRatioF()
        px = max(1, int(round(side * dpr)))
        self._image = QImage(px, px, QImage.Format.Format_Grayscale8)
        self._image.setDevicePixelRatio(dpr)
        self._render_all(update=False)

    def _painter(self) -> QPainter:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        return painter

    def _pen(self, width_units: float, pressure: float) -> QPen:
        pen = QPen(QColor(INK, INK, INK), max(0.5, width_units * pressure * self._side))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _segment(self, painter: QPainter, stroke: Stroke, a, b) -> QRectF:
        """Paint one segment of ``stroke`` (unit points a -> b); return its dirty rect (logical)."""
        s = self._side
        pa, pb = QPointF(a[0] * s, a[1] * s), QPointF(b[0] * s, b[1] * s)
        pen = self._pen(stroke.width, b[2])
        painter.setPen(pen)
        if pa == pb:
            painter.drawPoint(pa)
        else:
            painter.drawLine(pa, pb)
        r = pen.widthF() / 2.0 + 2.0
        return QRectF(pa, pb).normalized().adjusted(-r, -r, r, r)

    def _render_all(self, update: bool = True) -> None:
        if self._image.isNull():
            return
        self._image.fill(PAPER)
        painter = self._painter()
        if self._picture is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(0, 0, self._side, self._side), self._picture)
        for stroke in self._strokes + ([self._current] if self._current else []):
            pts = stroke.points
            for a, b in zip(pts[:1] + pts[:-1], pts):
                self._segment(painter, stroke, a, b)
        painter.end()
        if update:
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        target = self.drawing_rect()
        # Qt clips to the dirty region, so a segment's update only rasterises its own rectangle. Around
        # the square the parent's background shows through.
        painter.drawImage(target.topLeft(), self._image)
        painter.setPen(QPen(QColor(90, 90, 100), 1))
        painter.drawRect(target.adjusted(0.5, 0.5, -0.5, -0.5))
        if self.is_empty() and self._current is None:
            painter.setPen(QColor(130, 130, 140))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.end()

    # -- input -------------------------------------------------------------------------------
    def _begin(self, pos: QPointF, pressure: float = 1.0) -> None:
        if self._image.isNull():
            return
        was_empty = self.is_empty()
        self._cleared, self._cleared_picture = [], None
        self._current = Stroke(self._pen_width / max(self._side, 1.0))
        self._extend(pos, pressure)
        if was_empty:
            self.update()   # the hint text disappears

    def _extend(self, pos: QPointF, pressure: float = 1.0) -> None:
        stroke = self._current
        if stroke is None:
            return
        x, y = self._to_unit(pos)
        point = (x, y, pressure)
        prev = stroke.points[-1] if stroke.points else point
        if stroke.points and prev[:2] == point[:2]:
            return
        stroke.points.append(point)
        painter = self._painter()
        dirty = self._segment(painter, stroke, prev, point)
        painter.end()
        self.update(dirty.translated(self._origin).toAlignedRect())
        self._notify()

    def _finish(self) -> None:
        if self._current is not None:
            self._strokes.append(self._current)
            self._current = None
            self._notify()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self._begin(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        # Track our own "pen down" state: synthetic test events do not always carry buttons().
        if self._current is not None:
            self._extend(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._extend(event.position())
            self._finish()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802
        # Pressure thins the line (a light touch draws at 40% of the pen width). Accepting the event
        # stops Qt from also synthesising mouse events for it.
        pressure = 0.4 + 0.6 * max(0.0, min(1.0, event.pressure() or 1.0))
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self.setFocus(Qt.FocusReason.OtherFocusReason)
            self._begin(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletMove:
            self._extend(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self._finish()
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        else:
            super().keyPressEvent(event)

    # -- throttled change notification -----------------------------------------------------------
    def _notify(self) -> None:
        if self._emit_timer.isActive():
            self._pending = True
            return
        self._pending = False
        self._emit_timer.start()
        self.changed.emit()

    def _flush_changed(self) -> None:
        if self._pending:
            self._pending = False
            self._emit_timer.start()
            self.changed.emit()


class DrawingPad(QGroupBox):
    """The canvas with its tools underneath: pen width, Undo, Clear. The window talks to the pad through
    :attr:`canvas` and :meth:`set_pen_width` / :meth:`pen_width`, not through its tools."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Draw a digit", parent)
        self.canvas = DrawingCanvas()
        self.pen_slider = QSlider(Qt.Orientation.Horizontal)
        self.pen_slider.setRange(4, 60)
        self.pen_slider.setValue(self.canvas.pen_width())
        self.pen_slider.setToolTip("Pen width")
        self.pen_slider.setMinimumWidth(60)
        self.pen_slider.valueChanged.connect(self.canvas.set_pen_width)
        undo, clear = QToolButton(), QToolButton()
        undo.setText("Undo")
        clear.setText("Clear")
        for button in (undo, clear):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(56)
        undo.setToolTip("Undo the last stroke (Ctrl+Z)")
        clear.setToolTip("Clear the drawing (Esc or Delete)")
        undo.clicked.connect(self.canvas.undo)
        clear.clicked.connect(self.canvas.clear)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        tools.addWidget(self.pen_slider, 1)
        tools.addWidget(undo)
        tools.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(tools)

    def pen_width(self) -> int:
        return self.canvas.pen_width()

    def set_pen_width(self, width: int) -> None:
        """Set the pen (clamped to the slider's range), slider and canvas alike."""
        self.pen_slider.setValue(int(width))
