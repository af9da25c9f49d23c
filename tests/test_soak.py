"""GUI soak (offscreen): a long session of training, drawing and saving must not crash, leak
threads or grow in memory.

One main window, driven as a person would: the Train / Pause / Stop buttons are clicked, digits are
drawn with real mouse events on the ``drawingCanvas`` and cleared with Esc, and models are saved and
reopened (so imported into the library) through the window's ``save_model_as`` / ``open_model``. Each cycle:

1. click Train and wait for the first progress; draw digits while the network learns (the chart
   follows the live network);
2. Pause (draw one digit while paused: the prediction still works), Resume, wait for progress;
3. Stop, wait for ``training_finished`` (status "stopped") and for the thread to be joined;
4. draw the rest of this cycle's digits with the freshly trained model;
5. every few cycles, save the model and open it again: the weights must survive exactly.

Checked: every drawing gives probabilities that sum to 1 and Esc clears them; after every cycle the
training QThread is joined and gone (no QThread object survives a garbage collection), the count of
Python threads is back to its baseline, Qt logged nothing about threads; no error dialog was shown;
and the resident memory (VmRSS) of the last cycles is within 10% of the first cycles after warm-up.

Reduced form (always): 20 cycles, 100 drawings, 10 round trips. Full form (``--runslow``, or
``MNIST_GUI_SOAK=full``): 200 cycles, 1,000 drawings, 50 round trips.
"""

from __future__ import annotations

import gc
import math
import os
import random
import statistics
import threading
import time

import numpy as np
import pytest
from helpers import threads_started_since
from helpers import drag_stroke

FULL = (200, 1000, 50)
REDUCED = (20, 100, 10)
# A run that is slow enough to be paused and stopped in the middle: many small batches.
FIELDS = {"hidden": "32", "epochs": "3", "batch_size": "16", "limit": "20000"}
MAX_GROWTH = 0.10

# Digits as strokes in unit coordinates of the drawing square.
DIGITS = {
    0: [[(0.5 + 0.22 * math.sin(2 * math.pi * i / 32), 0.5 - 0.33 * math.cos(2 * math.pi * i / 32))
         for i in range(33)]],
    1: [[(0.5, 0.15), (0.5, 0.85)]],
    4: [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
    7: [[(0.25, 0.2), (0.75, 0.2)], [(0.75, 0.2), (0.42, 0.85)]],
}


def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def live_qthreads() -> int:
    from PySide6.QtCore import QThread

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, QThread))


class Soak:
    def __init__(self, qtbot, window, rng: random.Random, tmp_path) -> None:
        from mnist_gui.ui.canvas import EMIT_INTERVAL_MS

        self.qtbot, self.window, self.rng, self.tmp_path = qtbot, window, rng, tmp_path
        self.canvas = window.findChild(type(window.canvas), "drawingCanvas")
        self.settle_ms = 3 * EMIT_INTERVAL_MS
        self.drawings = self.round_trips = 0

    # -- drawing ----------------------------------------------------------------------------------
    def draw_one(self, expect_prediction: bool = True) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        w, canvas, rng = self.window, self.canvas, self.rng
        strokes = DIGITS[rng.choice(sorted(DIGITS))]
        r = canvas.drawing_rect()
        scale, dx, dy = rng.uniform(0.7, 1.1), rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)
        for stroke in strokes:
            points = [stroke[0]]
            for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
                n = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.04))
                points += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
            drag_stroke(canvas, [(r.left() + (0.5 + (x - 0.5) * scale + dx) * r.width(),
                                  r.top() + (0.5 + (y - 0.5) * scale + dy) * r.height()) for x, y in points])
        self.qtbot.wait(self.settle_ms)   # the canvas's trailing (throttled) change signal
        probs = w.chart.probabilities()
        if expect_prediction:
            assert probs is not None, f"drawing {self.drawings}: no prediction shown"
            assert probs.shape == (10,) and np.all(np.isfinite(probs)) and abs(float(probs.sum()) - 1) < 1e-3
        QTest.keyClick(canvas, Qt.Key.Key_Escape)
        self.qtbot.wait(self.settle_ms)
        assert canvas.is_empty() and w.chart.probabilities() is None, f"drawing {self.drawings}: Esc did not clear"
        self.drawings += 1

    # -- training ---------------------------------------------------------------------------------
    def click(self, name: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QPushButton

        button = self.window.findChild(QPushButton, name)
        assert button is not None and button.isEnabled(), f"{name} is not clickable"
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def wait_for_progress(self, above: int = 0) -> int:
        bar = self.window.panel.progress_bar
        self.qtbot.waitUntil(lambda: bar.value() > above, timeout=30000)
        return bar.value()

    def training_cycle(self, drawings: int) -> None:
        w, qtbot = self.window, self.qtbot
        self.click("trainButton")
        self.wait_for_progress()
        during = drawings // 2
        for _ in range(max(0, during - 1)):
            self.draw_one()
        self.click("pauseButton")
        assert w.runner.paused
        if during > 0:
            self.draw_one()   # predicting while paused
        value = w.panel.progress_bar.value()
        self.click("pauseButton")   # now "Resume"
        assert not w.runner.paused
        self.wait_for_progress(above=value)
        with qtbot.waitSignal(w.training_finished, timeout=30000) as finished:
            self.click("stopButton")
        assert finished.args[0]["status"] == "stopped", finished.args[0]
        qtbot.waitUntil(lambda: not w.runner.is_busy(), timeout=10000)
        assert w.runner.current_thread is None
        for _ in range(drawings - during):
            self.draw_one()

    # -- models -----------------------------------------------------------------------------------
    def round_trip(self) -> None:
        w = self.window
        path = self.tmp_path / f"soak-{self.round_trips % 3}.npz"   # overwrite a few files, like a person
        saved = w.model
        assert saved is not None
        assert w.save_model_as(str(path)), w.last_error
        assert w.open_model(str(path)), w.last_error
        # Opened means imported: the current model is the library's copy of exactly that file (the same
        # run again when the bytes are the same as a run's already there).
        assert w.model_slots.record.model_path.read_bytes() == path.read_bytes()
        assert w.model.sizes == saved.sizes
        assert np.array_equal(w.model.network.flat_params, saved.network.flat_params)
        self.round_trips += 1


# qt_messages: the fixture in conftest.py


FULL_REQUESTED = os.environ.get("MNIST_GUI_SOAK") == "full"


@pytest.mark.parametrize("form", ["reduced", pytest.param("full", marks=() if FULL_REQUESTED else pytest.mark.slow)])
def test_gui_soak(qtbot, qt_messages, tmp_path, form):
    cycles, drawings, round_trips = FULL if form == "full" else REDUCED
    from mnist_gui.app import MainWindow

    gc.collect()
    threads_baseline = set(threading.enumerate())
    qthreads_baseline = live_qthreads()
    t0 = time.monotonic()

    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    for key, text in FIELDS.items():
        window.panel.set_field(key, text)

    soak = Soak(qtbot, window, random.Random(f"soak-{form}"), tmp_path)
    per_cycle = [drawings // cycles + (1 if i < drawings % cycles else 0) for i in range(cycles)]
    trip_every = cycles / round_trips
    warm_up = max(2, cycles // 10)
    rss: list[int] = []
    cycle_seconds: list[float] = []
    for cycle in range(cycles):
        tc = time.monotonic()
        soak.training_cycle(per_cycle[cycle])
        while soak.round_trips < round_trips and soak.round_trips < (cycle + 1) / trip_every - 1e-9:
            soak.round_trip()
        # Back to the baseline after every cycle: no thread, no QThread object, nothing logged.
        assert not threads_started_since(threads_baseline), f"cycle {cycle}: {threading.enumerate()}"
        assert live_qthreads() == qthreads_baseline, f"cycle {cycle}: a QThread object survived"
        assert window.last_error is None, f"cycle {cycle}: error shown: {window.last_error}"
        rss.append(rss_kb())
        cycle_seconds.append(time.monotonic() - tc)

    assert soak.drawings == drawings and soak.round_trips == round_trips
    window.close()
    qtbot.wait(50)
    assert window.runner.current_thread is None and not threads_started_since(threads_baseline)
    assert not [m for m in qt_messages if "QThread" in m or "Destroyed" in m], qt_messages

    after = rss[warm_up:]
    first, last = statistics.median(after[:3]), statistics.median(after[-3:])
    growth = (last - first) / first
    print(f"\nsoak ({form}): {cycles} cycles, {soak.drawings} drawings, {soak.round_trips} round trips in "
          f"{time.monotonic() - t0:.1f}s (cycle median {statistics.median(cycle_seconds):.2f}s); RSS after "
          f"warm-up {first / 1024:.1f} MB -> {last / 1024:.1f} MB ({growth:+.1%}), min {min(after) / 1024:.1f}, "
          f"max {max(after) / 1024:.1f}; first cycle {rss[0] / 1024:.1f} MB")
    assert growth < MAX_GROWTH, f"memory grew {growth:.1%}: {[round(r / 1024) for r in rss]}"
