"""The drawing canvas and the 28x28 preview, driven by real mouse, keyboard and tablet events."""

from __future__ import annotations

import time

import numpy as np
import pytest
from helpers import drag_stroke
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.ui.canvas import EMIT_INTERVAL_MS, DrawingCanvas
from mnist_gui.ui.preview import DigitPreview


@pytest.fixture
def canvas(qtbot):
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def vertical(canvas, x=0.5, top=0.2, bottom=0.8, n=25):
    r = canvas.drawing_rect()
    return [(r.left() + x * r.width(), r.top() + (top + (bottom - top) * i / n) * r.height()) for i in range(n + 1)]


def horizontal(canvas, y=0.5, left=0.2, right=0.8, n=25):
    r = canvas.drawing_rect()
    return [(r.left() + (left + (right - left) * i / n) * r.width(), r.top() + y * r.height()) for i in range(n + 1)]


def test_mouse_strokes_paint_ink_where_the_mouse_went(canvas):
    assert canvas.is_empty() and canvas.ink_array().max() == 0
    drag_stroke(canvas, vertical(canvas, x=0.5))
    ink = canvas.ink_array()
    assert canvas.stroke_count() == 1 and ink.shape == (300, 300)
    assert ink[150, 150] == 255                       # on the stroke
    assert ink[150, 40] == 0 and ink[20, 150] == 0    # beside it, and above its start
    cols = np.nonzero(ink.max(axis=0))[0]
    assert abs(cols.mean() - 150) < 2 and len(cols) <= canvas.pen_width() + 4
    # Anti-aliased edges: a 22 px pen centred on a pixel edge covers whole pixels, so look at a slanted
    # stroke, whose edges cut through pixels: grey levels between paper and full ink.
    canvas.clear()
    drag_stroke(canvas, [(60 + 6 * i, 60 + 5 * i) for i in range(30)])
    ink = canvas.ink_array()
    assert ((ink > 0) & (ink < 255)).sum() > 100


def test_the_pen_width_is_adjustable(canvas):
    canvas.set_pen_width(6)
    drag_stroke(canvas, horizontal(canvas, y=0.3))
    thin = (canvas.ink_array() > 127).sum()
    canvas.clear()
    canvas.set_pen_width(30)
    drag_stroke(canvas, horizontal(canvas, y=0.3))
    thick = (canvas.ink_array() > 127).sum()
    assert thick > 3.5 * thin


def test_undo_removes_one_stroke_at_a_time_and_keys_clear(canvas, qtbot):
    drag_stroke(canvas, vertical(canvas, x=0.3))
    drag_stroke(canvas, vertical(canvas, x=0.7))
    assert canvas.stroke_count() == 2
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ink = canvas.ink_array()
    assert canvas.stroke_count() == 1 and ink[150, 90] == 255 and ink[150, 210] == 0
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty() and canvas.ink_array().max() == 0
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the clear
    assert canvas.stroke_count() == 1 and canvas.ink_array()[150, 90] == 255
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_empty()


def test_changed_is_throttled_to_display_rate_but_always_delivers_the_last_state(canvas, qtbot):
    emitted = []
    canvas.changed.connect(lambda: emitted.append(time.perf_counter()))
    t0 = time.perf_counter()
    drag_stroke(canvas, vertical(canvas, n=300))     # 300 mouse events in a few milliseconds
    elapsed = time.perf_counter() - t0
    assert 1 <= len(emitted) <= elapsed * 1000 / EMIT_INTERVAL_MS + 2
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    assert emitted[-1] > t0 + elapsed                  # a trailing signal after the last move
    n = len(emitted)
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    assert len(emitted) == n                           # and then quiet


class PaintRects(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.rects = []

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())
        return False


def test_a_new_segment_repaints_only_its_own_rectangle(canvas, qtbot):
    drag_stroke(canvas, vertical(canvas, x=0.3))
    qtbot.wait(20)
    spy = PaintRects()
    canvas.installEventFilter(spy)
    r = canvas.drawing_rect()
    drag_stroke(canvas, [(r.left() + 200, r.top() + 200), (r.left() + 206, r.top() + 204)])
    qtbot.waitUntil(lambda: bool(spy.rects), timeout=1000)
    canvas.removeEventFilter(spy)
    biggest = max(rect.width() * rect.height() for rect in spy.rects)
    assert biggest < 0.1 * canvas.width() * canvas.height()


def test_resizing_keeps_the_drawing(canvas, qtbot):
    drag_stroke(canvas, vertical(canvas, x=0.5))
    before = preprocess_drawing(canvas.ink_array())
    canvas.resize(450, 450)
    qtbot.wait(20)
    ink = canvas.ink_array()
    assert ink.shape == (450, 450) and ink[225, 225] == 255
    after = preprocess_drawing(ink)
    assert np.abs(before.astype(int) - after.astype(int)).mean() < 8   # same digit to the network


def test_a_non_square_canvas_draws_in_its_centred_square(canvas, qtbot):
    canvas.resize(400, 250)
    qtbot.wait(20)
    r = canvas.drawing_rect()
    assert (r.width(), r.height(), r.left()) == (250, 250, 75)
    drag_stroke(canvas, vertical(canvas, x=0.5))
    assert canvas.ink_array().shape == (250, 250) and canvas.ink_array()[125, 125] == 255


def test_tablet_events_draw_with_pressure(canvas):
    device = QPointingDevice.primaryPointingDevice()
    r = canvas.drawing_rect()

    def send(kind, y, pressure):
        pos = QPointF(r.left() + 0.5 * r.width(), r.top() + y * r.height())
        event = QTabletEvent(kind, device, pos, canvas.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, event)
        return event

    assert send(QEvent.Type.TabletPress, 0.2, 0.1).isAccepted()
    for i in range(1, 11):
        send(QEvent.Type.TabletMove, 0.2 + 0.06 * i, 0.1 if i < 5 else 1.0)
    send(QEvent.Type.TabletRelease, 0.8, 1.0)
    ink = canvas.ink_array()
    assert canvas.stroke_count() == 1
    light = (ink[int(0.3 * 300)] > 127).sum()
    firm = (ink[int(0.7 * 300)] > 127).sum()
    assert 0 < light < firm


def test_preview_shows_the_28x28_input_scaled_without_smoothing(qtbot):
    preview = DigitPreview()
    qtbot.addWidget(preview)
    preview.resize(140, 140)
    preview.show()
    qtbot.waitExposed(preview)
    pixels = np.zeros((28, 28), np.uint8)
    pixels[10, 12] = 255
    preview.set_image(pixels)
    assert np.array_equal(preview.pixels(), pixels)
    image = preview.grab().toImage()
    cell = 140 // 28
    # The whole 5x5 block of input pixel (10, 12) is white, its neighbour's block black: nearest neighbour.
    assert image.pixelColor(12 * cell + 2, 10 * cell + 2).lightness() == 255
    assert image.pixelColor(12 * cell + 4, 10 * cell + 4).lightness() == 255
    assert image.pixelColor(13 * cell + 2, 10 * cell + 2).lightness() < 20
    preview.set_image(None)
    assert preview.pixels() is None


def test_a_pen_digit_replayed_with_the_mouse_has_the_pixels_of_the_offline_rendering(qtbot):
    # The measure of how well the app reads real pen-drawn digits rests on this: the offline
    # renderer draws exactly what the canvas draws for the same mouse path.
    from mnist_gui.data.pendigits import read_pendigits
    from mnist_gui.imaging.replay import DEFAULT_PEN_PX, as_strokes
    from mnist_gui.imaging.strokes import Stroke, render
    from mnist_gui.resources_path import resource

    digits = read_pendigits(resource("pendigits", "pendigits-orig.tra.gz"))
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(322, 322)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_pen_width(DEFAULT_PEN_PX)
    rect = canvas.drawing_rect()
    side = rect.width()
    for digit in digits[::997]:   # 8 digits from several writers, one to four strokes each
        canvas.clear()
        expected = []
        for stroke in as_strokes(digit):
            # Where the mouse goes: whole widget pixels, as real mouse events are.
            path = [(round(rect.left() + x * side), round(rect.top() + y * side)) for x, y in stroke.points]
            drag_stroke(canvas, path)
            unit = [((px - rect.left()) / side, (py - rect.top()) / side, 1.0) for px, py in path]
            expected.append(Stroke(DEFAULT_PEN_PX / side, np.array(unit)))
        offline = render(expected, canvas.side_pixels())
        drawn = canvas.ink_array()
        assert drawn.max() == 255 and np.array_equal(drawn, offline), (digit.label, digit.writer, digit.sample)
        assert canvas.stroke_count() == len(expected) == len(digit.strokes)


def test_the_canvas_knows_its_pen_for_preprocessing(canvas):
    assert canvas.pen_width_pixels() is None                     # nothing drawn
    canvas.set_pen_width(22)
    drag_stroke(canvas, vertical(canvas, x=0.4))
    assert canvas.pen_width_pixels() == pytest.approx(22 * canvas.devicePixelRatioF(), rel=1e-6)
    canvas.set_pen_width(8)
    drag_stroke(canvas, horizontal(canvas, y=0.5, left=0.2, right=0.8))   # as long as the first stroke
    assert canvas.pen_width_pixels() == pytest.approx(15 * canvas.devicePixelRatioF(), rel=0.05)
    canvas.show_picture(np.full((50, 50), 255, np.uint8))
    assert canvas.pen_width_pixels() is None                     # a picture's pen is not known


def test_a_picture_lies_under_the_strokes_and_goes_with_clear(canvas, qtbot):
    # A gallery tile put on the canvas "as if drawn" (as a dropped picture is): it is a change, strokes
    # go on top, Clear takes it away and Undo brings it back.
    from helpers import mnist

    digit = mnist().test_images[0].reshape(28, 28)          # a 7
    seen = []
    canvas.changed.connect(lambda: seen.append(1))
    drag_stroke(canvas, vertical(canvas, x=0.2))
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    seen.clear()
    canvas.show_picture(digit)
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    assert seen == [1] and not canvas.is_empty() and canvas.stroke_count() == 0 and canvas.has_picture()
    seen.clear()
    ink = canvas.ink_array()
    side = ink.shape[0]
    centres = ((np.arange(28) + 0.5) * side / 28).astype(int)   # the middle of each picture pixel
    small = ink[np.ix_(centres, centres)].astype(float)
    assert np.corrcoef(small.ravel(), digit.ravel())[0, 1] > 0.9   # the picture, scaled to the canvas
    drag_stroke(canvas, horizontal(canvas, y=0.9))
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    assert seen and canvas.stroke_count() == 1
    assert canvas.ink_array()[int(0.9 * side), side // 2] > 200 and canvas.ink_array().sum() > ink.sum()
    canvas.clear()
    assert canvas.is_empty() and canvas.ink_array().max() == 0
    canvas.undo()
    assert not canvas.is_empty() and canvas.stroke_count() == 1 and canvas.ink_array().sum() > ink.sum()
