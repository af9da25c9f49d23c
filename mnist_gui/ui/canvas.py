"""The drawing canvas: the user draws a digit with the mouse or a stylus.

Like Qt's *Scribble* example, strokes are painted into an image as they arrive and only the rectangle
a new segment touched is repainted. The pixels come from the Qt-free rasterizer
:mod:`mnist_gui.imaging.strokes` (anti-aliased round-capped segments, combined by max), drawn into a
NumPy array that a :class:`QImage` shows without copying: so a drawing rendered offline from the same
strokes (the real pen-drawn digits we measure with) has exactly the canvas's pixels. The image is kept
the way MNIST stores digits (grey ink on black, ink = high values), so :meth:`DrawingCanvas.ink_array`
goes straight to :func:`mnist_gui.imaging.preprocess.preprocess_drawing`.

The drawing area is the largest square that fits the widget. Every stroke is also kept as a list of
points in *unit* coordinates (0..1 across the square) with its pen width as a fraction of the side,
so undoing a stroke or resizing the window re-renders the drawing exactly, at any size or pixel ratio.
A picture (a dropped image file, a test image chosen in the gallery) can lie under the strokes:
:meth:`DrawingCanvas.show_picture`.

``changed`` is throttled: it fires at once for the first change after a quiet spell and then at most
once per :data:`EMIT_INTERVAL_MS` while the user keeps drawing (the last state is always delivered),
so a listener that re-predicts does so at display rate, not once per mouse event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen, QTabletEvent
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout,
                               QWidget)

from mnist_gui.imaging import strokes as raster

#: Minimum time between two ``changed`` signals while drawing (about 30 per second).
EMIT_INTERVAL_MS = 33
DEFAULT_PEN_WIDTH = 22


@dataclass
class Stroke:
    """One press-move-release: pen width and points as fractions of the square's side."""

    width: float
    points: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, pressure factor)

    def frozen(self) -> raster.Stroke:
        """The stroke as the rasterizer (and a saved drawing) takes it."""
        return raster.Stroke(self.width, np.array(self.points, dtype=np.float64))


class DrawingCanvas(QWidget):
    """A square drawing surface with undo per stroke; emits ``changed`` (throttled) on every edit."""

    changed = Signal()
    file_dropped = Signal(str)   # a local file dropped on the canvas (the window decides what it is)
    digit_typed = Signal(int)    # a digit key pressed on the canvas: "this drawing is a <d>"
    confirmed = Signal()         # Enter pressed on the canvas: "the network read it right, keep it"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAcceptDrops(True)
        self.setMinimumSize(150, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Draw a digit with the left mouse button, or drop a picture of one (or a model file).\n"
                        "Ctrl+Z undoes the last stroke; Esc or Delete clears.\n"
                        "Press 0-9 to save the drawing to My digits as that digit, Enter to save it as read.")
        self._pen_width = DEFAULT_PEN_WIDTH
        self._strokes: list[Stroke] = []
        self._cleared: list[Stroke] = []      # what the last clear() removed, for undo
        self._picture: np.ndarray | None = None   # a picture shown under the strokes (ink high, any size)
        self._cleared_picture: np.ndarray | None = None
        self._undo_clear = False                 # the last change was a clear (or a picture): undo restores
        self._fitted: np.ndarray | None = None    # the picture at the canvas's size
        self._current: Stroke | None = None
        self._ink = np.zeros((1, 1), np.uint8)   # the drawing, device pixels; _image shows it (no copy)
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

    def stroke_count(self) -> int:
        return len(self._strokes)

    def has_picture(self) -> bool:
        return self._picture is not None

    def clear(self) -> None:
        """Erase everything; an undo right after brings the drawing back."""
        if self.is_empty() and self._current is None:
            return
        self._cleared, self._cleared_picture, self._undo_clear = self._strokes, self._picture, True
        self._strokes, self._picture, self._fitted = [], None, None
        self._current = None
        self._render_all()
        self._notify()

    def undo(self) -> None:
        """Remove the last complete stroke (or, on a freshly cleared canvas, undo the clear)."""
        if self._current is not None:
            return
        if self._strokes:
            self._strokes.pop()
        elif self._undo_clear:
            self._strokes, self._cleared, self._undo_clear = self._cleared, [], False
            self._picture, self._cleared_picture, self._fitted = self._cleared_picture, None, None
        else:
            return
        self._render_all()
        self._notify()

    def show_picture(self, ink: np.ndarray) -> None:
        """Show a picture (2-D uint8, ink high, any size; e.g. a dropped image file) in place of the
        drawing, fitted to the square; strokes drawn afterwards go on top. Undo brings the drawing back."""
        self._cleared, self._cleared_picture, self._undo_clear = self._strokes, self._picture, True
        self._strokes, self._current = [], None
        self._picture, self._fitted = np.ascontiguousarray(ink, dtype=np.uint8), None
        self._render_all()
        self._notify()

    def image(self) -> QImage:
        """A copy of the drawing (grey ink on black, MNIST polarity) at device resolution."""
        return self._image.copy()

    def ink_array(self) -> np.ndarray:
        """The drawing as a 2-D uint8 array, ink = high values, ready for ``preprocess_drawing``."""
        return self._ink.copy()

    def strokes(self) -> list[raster.Stroke]:
        """The finished strokes, in unit coordinates (what re-renders the drawing at any size)."""
        return [stroke.frozen() for stroke in self._strokes]

    def pen_width_pixels(self) -> float | None:
        """The pen's width in pixels of :meth:`ink_array`, for preprocessing: the strokes' widths (with
        their pressure) averaged by length; None when there is no stroke, or a picture whose pen is
        not known."""
        if not self._strokes or self._picture is not None:
            return None
        total = weight = 0.0
        for stroke in self._strokes:
            p = np.asarray(stroke.points, dtype=np.float64)
            lengths = np.hypot(*np.diff(p[:, :2], axis=0).T) if len(p) > 1 else np.zeros(0)
            w = stroke.width * p[1:, 2] if len(p) > 1 else np.array([stroke.width * p[0, 2]])
            lengths = lengths if lengths.sum() > 0 else np.ones_like(w)
            total += float((w * lengths).sum())
            weight += float(lengths.sum())
        return total / weight * self._ink.shape[0]

    def side_pixels(self) -> int:
        """The drawing square's side in device pixels (the size of :meth:`ink_array`)."""
        return self._ink.shape[0]

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
        self._ink = np.zeros((px, px), np.uint8)
        # The QImage reads the array's memory directly (the array stays alive as self._ink).
        self._image = QImage(self._ink.data, px, px, px, QImage.Format.Format_Grayscale8)
        self._image.setDevicePixelRatio(dpr)
        self._render_all(update=False)

    def _segment(self, stroke: Stroke, a, b) -> QRectF:
        """Draw one segment of ``stroke`` (unit points a -> b); return its dirty rect (logical)."""
        dirty = raster.draw_segment(self._ink, a, b, stroke.width, b[2])
        dpr = self._image.devicePixelRatio()
        return QRectF(dirty.x / dpr, dirty.y / dpr, dirty.w / dpr, dirty.h / dpr)

    def _render_all(self, update: bool = True) -> None:
        drawn = [s.frozen() for s in self._strokes + ([self._current] if self._current else []) if s.points]
        raster.render(drawn, self._ink.shape[0], out=self._ink)
        if self._picture is not None:
            np.maximum(self._ink, self._fitted_picture(), out=self._ink)
        if update:
            self.update()

    def _fitted_picture(self) -> np.ndarray:
        """The picture scaled (smoothly, aspect kept) and centred in the canvas's square."""
        side = self._ink.shape[0]
        if self._fitted is None or self._fitted.shape[0] != side:
            h, w = self._picture.shape
            picture = np.ascontiguousarray(self._picture)
            image = QImage(picture.data, w, h, w, QImage.Format.Format_Grayscale8).scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            sh, sw, stride = image.height(), image.width(), image.bytesPerLine()
            scaled = np.frombuffer(image.constBits(), np.uint8, count=stride * sh).reshape(sh, stride)[:, :sw]
            self._fitted = np.zeros((side, side), np.uint8)
            top, left = (side - sh) // 2, (side - sw) // 2
            self._fitted[top:top + sh, left:left + sw] = scaled
        return self._fitted

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
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "Draw a digit here\n(or drop an image)")
        painter.end()

    # -- input -------------------------------------------------------------------------------
    def _begin(self, pos: QPointF, pressure: float = 1.0) -> None:
        if self._side <= 0:
            return
        was_empty = not self._strokes
        self._cleared, self._undo_clear = [], False
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
        dirty = self._segment(stroke, prev, point)
        self.update(dirty.translated(self._origin).toAlignedRect().adjusted(-1, -1, 1, 1))
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

    # -- files dropped on the canvas --------------------------------------------------------------
    @staticmethod
    def _local_file(event) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        return next((u.toLocalFile() for u in urls if u.isLocalFile()), None)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._local_file(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        path = self._local_file(event)
        if path:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
        else:
            event.ignore()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if key in (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        elif plain and Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self.digit_typed.emit(key - Qt.Key.Key_0)
        elif plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirmed.emit()
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
        self.pen_slider.setMinimumWidth(40)
        self.pen_slider.valueChanged.connect(self.canvas.set_pen_width)
        undo, clear = QToolButton(), QToolButton()
        undo.setText("Undo")
        clear.setText("Clear")
        for button in (undo, clear):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(44)
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
