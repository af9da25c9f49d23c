"""The main window end to end: draw with the mouse, train with a click, stop, pause, close, fail safely."""

from __future__ import annotations

import math
from pathlib import Path
import threading

import numpy as np
import pytest
from helpers import digit_png as _digit_png
from helpers import drag_stroke
from helpers import drop_file as _drop
from PySide6.QtCore import QThread, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QProgressBar, QPushButton

import mnist_gui.ui.app as app_module
from helpers import threads_started_since
from mnist_gui.app import MainWindow
from mnist_gui.ui.app import NO_MODEL_HINT
from mnist_gui.model import load_model, save_model
from mnist_gui.training import TrainingConfig, train
from mnist_gui.ui.canvas import EMIT_INTERVAL_MS, DrawingCanvas
from mnist_gui.ui.settings import Settings

# Digits as strokes in unit coordinates of the drawing square.
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
ZERO = [[(0.5 + 0.22 * math.sin(2 * math.pi * i / 48), 0.5 - 0.33 * math.cos(2 * math.pi * i / 48))
         for i in range(49)]]
SEVEN = [[(0.25, 0.2), (0.75, 0.2)], [(0.75, 0.2), (0.42, 0.85)]]
FOUR = [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]]
QUICK = {"hidden": "64", "epochs": "1", "limit": "3000"}
# Long enough (many small batches) to be paused, stopped or closed in the middle.
LONG = {"hidden": "64", "epochs": "3", "batch_size": "16", "limit": "30000"}


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """A small model trained once for the session (under a second; 91% on the test set), enough for clear drawings."""
    from mnist_gui.data import load_mnist

    model, _ = train(TrainingConfig(hidden=(64,), epochs=1, limit=20000, normalization="standard"), load_mnist(None))
    path = tmp_path_factory.mktemp("models") / "trained.npz"
    save_model(model, path)
    return path


def open_window(qtbot, model_path=None) -> MainWindow:
    window = MainWindow(model_path=None if model_path is None else str(model_path))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, model_path):
    return open_window(qtbot, model_path)


def draw(window: MainWindow, strokes, step: float = 0.02) -> None:
    """Draw strokes (unit coordinates) on the window's canvas with real mouse events, every ~2% of a side."""
    canvas = window.findChild(DrawingCanvas, "drawingCanvas")
    r = canvas.drawing_rect()
    for stroke in strokes:
        points = [stroke[0]]
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
            points += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
        drag_stroke(canvas, [(r.left() + x * r.width(), r.top() + y * r.height()) for x, y in points])


def set_fields(window: MainWindow, **fields) -> None:
    for key, text in fields.items():
        window.panel.set_field(key, text)


def settle(qtbot) -> None:
    qtbot.wait(3 * EMIT_INTERVAL_MS)   # the canvas's trailing change signal


def test_the_contract_widgets_exist(window):
    from PySide6.QtWidgets import QWidget

    for name in ("drawingCanvas", "trainButton", "stopButton", "predictionChart", "lossPlot", "accuracyPlot",
                 "modelsPanel"):
        assert window.findChild(QWidget, name) is not None, name
    # The model given was imported into the library and is the current model, named after its file.
    assert window.model is not None and window.model_label.text().startswith("Model: trained ·")
    current = [m for m in window.models() if m["current"]]
    assert len(current) == 1 and current[0]["name"] == "trained" and window.chart.source() == "current: trained"


@pytest.mark.parametrize("digit, strokes", [(1, ONE), (0, ZERO), (7, SEVEN), (4, FOUR)],
                         ids=["one", "zero", "seven-two-strokes", "four-two-strokes"])
def test_a_drawn_digit_is_recognised(window, qtbot, digit, strokes):
    seen = []
    window.prediction_changed.connect(seen.append)
    draw(window, strokes)
    settle(qtbot)
    assert seen, "no prediction_changed"
    probs = seen[-1]
    assert isinstance(probs, np.ndarray) and probs.shape == (10,) and abs(probs.sum() - 1) < 1e-4
    assert int(np.argmax(probs)) == digit, f"read as {np.argmax(probs)}: {np.round(probs, 3)}"
    assert window.chart.predicted_digit() == digit
    assert window.preview.pixels() is not None and window.preview.pixels().max() == 255


def test_clearing_shows_no_prediction_and_the_hint(window, qtbot):
    draw(window, ONE)
    settle(qtbot)
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    settle(qtbot)
    assert window.chart.probabilities() is None and window.preview.pixels() is None
    assert window.chart.hint_item.isVisible()


def test_train_button_runs_a_small_training_to_completion(window, qtbot):
    draw(window, ONE)
    settle(qtbot)
    old = window.model
    set_fields(window, **QUICK)
    seen = []
    window.prediction_changed.connect(seen.append)
    train_button = window.findChild(QPushButton, "trainButton")
    with qtbot.waitSignal(window.training_finished, timeout=30000) as finished:
        qtbot.mouseClick(train_button, Qt.MouseButton.LeftButton)
        assert not train_button.isEnabled()
    metrics = finished.args[0]
    assert metrics["status"] == "completed" and 0.5 < metrics["test_accuracy"] <= 1.0
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    window.plots.flush()
    counts = window.plots.point_counts()
    assert counts["batch"] >= 1 and counts["train_loss"] == counts["val_accuracy"] == 1 and counts["test"] == 1
    bar = window.findChild(QProgressBar, "trainingProgress")
    assert bar.value() == bar.maximum()
    assert window.model is not old and window.model.describe().startswith("784-64-10")
    # The new model predicts the drawing, and the window shows exactly that.
    expected = window.model.predict_proba(window.preview.pixels())[0]
    np.testing.assert_allclose(window.chart.probabilities(), expected, atol=1e-5)
    assert seen and train_button.isEnabled()
    # A completed run joined the library and became the current model; the chart and label name it.
    current = next(m for m in window.models() if m["current"])
    assert current["status"] == "completed" and current["test_accuracy"] == metrics["test_accuracy"]
    assert current["name"] in window.model_label.text() and window.chart.source() == f"current: {current['name']}"


def test_the_drawing_is_re_predicted_while_the_network_learns(window, qtbot):
    draw(window, SEVEN)
    settle(qtbot)
    seen = []
    window.prediction_changed.connect(seen.append)
    set_fields(window, hidden="64", epochs="1", batch_size="32", limit="12000")
    with qtbot.waitSignal(window.training_finished, timeout=30000):
        window.panel.train_button.click()
    assert len(seen) >= 3, "the bars did not follow the training"
    first, last = seen[0], seen[-1]
    assert first.max() < last.max() and int(np.argmax(last)) == 7


def test_stop_in_the_first_epoch_keeps_the_old_model_and_leaves_no_thread(window, qtbot):
    old = window.model
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.panel.progress_bar.value() > 0, timeout=10000)
    with qtbot.waitSignal(window.training_finished, timeout=10000) as finished:
        qtbot.mouseClick(window.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    assert finished.args[0]["status"] == "stopped" and finished.args[0]["epochs"] == 0
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    assert window.runner.current_thread is None and window.panel.train_button.isEnabled()
    assert window.model is old           # a barely trained network does not replace a good one
    assert window.panel.progress_bar.value() < window.panel.progress_bar.maximum()


def test_stop_after_an_epoch_keeps_what_was_learnt_and_offers_it(window, qtbot):
    old = window.model
    set_fields(window, hidden="32", epochs="50", limit="2000")
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.plots.point_counts()["train_loss"] >= 1, timeout=20000)
    with qtbot.waitSignal(window.training_finished, timeout=10000) as finished:
        window.panel.stop_button.click()
    assert finished.args[0]["status"] == "stopped" and finished.args[0]["epochs"] >= 1
    # A stopped run never replaces the current model by itself: it joins the library, and the window
    # says so and offers it.
    run = next(m for m in window.models() if m["status"] == "stopped")
    assert window.model is old and not run["current"]
    assert "stopped" in window.notice.text() and run["name"] in window.notice.text()
    qtbot.mouseClick(window.notice.action_button, Qt.MouseButton.LeftButton)     # "Use it"
    assert window.model.describe().startswith("784-32-10") and window.model_source == run["name"]
    assert next(m for m in window.models() if m["id"] == run["id"])["current"] and not window.notice.text()


def test_pause_and_resume(window, qtbot):
    set_fields(window, **LONG)
    window.panel.train_button.click()
    bar = window.panel.progress_bar
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=10000)
    pause = window.findChild(QPushButton, "pauseButton")
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Resume"
    qtbot.wait(150)
    value = bar.value()
    qtbot.wait(400)
    assert bar.value() == value and window.runner.is_running()
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Pause"
    qtbot.waitUntil(lambda: bar.value() > value, timeout=10000)
    # The same through the keyboard: Ctrl+P pauses and resumes, Ctrl+. stops.
    assert window.pause_action.shortcut().toString() == "Ctrl+P"
    window.pause_action.trigger()
    assert pause.text() == "Resume"
    window.pause_action.trigger()
    assert pause.text() == "Pause"
    with qtbot.waitSignal(window.training_finished, timeout=10000):
        window.stop_action.trigger()


def test_closing_the_window_mid_training_stops_and_joins_the_thread(qtbot, model_path):
    threads_before = set(threading.enumerate())
    window = open_window(qtbot, model_path)
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.panel.progress_bar.value() > 0, timeout=10000)
    thread: QThread = window.runner.current_thread
    assert thread.isRunning()
    window.close()
    assert not thread.isRunning() and window.runner.current_thread is None
    assert not threads_started_since(threads_before)


def test_closing_the_window_mid_training_keeps_the_partial_run(qtbot, model_path):
    """Quitting during training loses nothing: the run stops after its batch, is evaluated and joins the
    library as a stopped run (not current); a signal's close (which must be quick) abandons it instead."""
    from mnist_gui.state.library import RunLibrary
    from mnist_gui.state.datadir import data_dir

    window = open_window(qtbot, model_path)
    before = {m["id"] for m in window.models()}
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.panel.progress_bar.value() > 0, timeout=10000)
    window.close()
    assert window.runner.current_thread is None
    runs = [r for r in RunLibrary(data_dir()).records() if r.id not in before]
    assert len(runs) == 1 and runs[0].status == "stopped" and runs[0].test_accuracy is not None
    assert RunLibrary(data_dir()).current_id() != runs[0].id

    window = open_window(qtbot, model_path)
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.panel.progress_bar.value() > 0, timeout=10000)
    window.close_now()
    assert window.runner.current_thread is None
    assert len([r for r in RunLibrary(data_dir()).records() if r.id not in before]) == 1


def test_a_broken_model_file_gives_a_dialog_and_keeps_the_old_model(window, qtbot, tmp_path, monkeypatch):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 this is not a model")
    old, old_label = window.model, window.model_label.text()
    monkeypatch.setattr(app_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(broken), ""))
    with qtbot.waitSignal(window.error_shown, timeout=2000) as shown:
        window.open_action.trigger()        # File > Open model..., with the file dialog answered
    title, text = shown.args
    assert title == "Cannot open model" and "broken.npz" in text and window.last_error == (title, text)
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "broken.npz" in boxes[0].text()
    assert window.model is old and window.model_label.text() == old_label
    window.open_action.trigger()            # a second failure reuses the dialog instead of stacking another
    assert len([b for b in window.findChildren(QMessageBox) if b.isVisible()]) == 1


def test_a_diverging_training_reports_and_keeps_the_old_model(window, qtbot):
    old = window.model
    set_fields(window, **QUICK, lr="10")
    with qtbot.waitSignal(window.training_finished, timeout=30000) as finished:
        window.panel.train_button.click()
    assert finished.args[0]["status"] == "diverged"
    assert window.last_error[0] == "Training diverged" and window.model is old


def test_a_corrupt_dataset_folder_gives_a_dialog_and_keeps_the_bundled_one(window, qtbot, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 truncated")
    with qtbot.waitSignal(window.error_shown, timeout=10000):
        window.set_dataset_path(str(tmp_path))
    assert window.last_error[0] == "Dataset not usable"
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    assert window.dataset_path is None


def test_an_invalid_field_disables_train_with_the_reason(window, qtbot):
    train_button = window.panel.train_button
    assert train_button.isEnabled()
    set_fields(window, hidden="64,abc")
    assert not train_button.isEnabled() and "hidden layers" in train_button.toolTip()
    assert window.panel.edits["hidden"].property("invalid") is True
    set_fields(window, hidden="64", lr="-1")
    assert not train_button.isEnabled() and "learning rate" in train_button.toolTip()
    qtbot.mouseClick(train_button, Qt.MouseButton.LeftButton)
    assert not window.runner.is_busy()
    set_fields(window, lr="0.01", hidden="100000,100000,100000")   # would need ~190 GiB to train
    assert not train_button.isEnabled() and "too large" in train_button.toolTip()
    set_fields(window, hidden="64")
    assert train_button.isEnabled() and window.panel.edits["hidden"].property("invalid") is False


def test_save_reopen_and_remember(window, qtbot, tmp_path, monkeypatch):
    draw(window, ONE)
    settle(qtbot)
    target = tmp_path / "mine.npz"
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.save_action.trigger()
    assert load_model(target).describe() == window.model.describe()
    set_fields(window, epochs="3")
    window.resize(1100, 700)
    window.close()
    again = open_window(qtbot)               # no model given: the library's current model comes back
    assert again.model_source == "trained" and again.model.describe() == window.model.describe()
    assert again.panel.edits["epochs"].text() == "3"


def test_without_any_model_the_window_starts_and_says_so(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "resource", lambda *parts: tmp_path / "absent.npz")
    window = open_window(qtbot)
    assert window.model is None and "No model" in window.model_label.text()
    assert not window.save_action.isEnabled()
    seen = []
    window.prediction_changed.connect(seen.append)
    draw(window, ONE)
    settle(qtbot)
    assert not seen and window.chart.hint() == NO_MODEL_HINT
    assert window.preview.pixels() is not None      # the preview still shows what a model would see


def test_export_drawing_and_help_dialogs(window, qtbot, tmp_path):
    draw(window, ZERO)
    out = tmp_path / "digit.png"
    assert window.export_drawing(str(out))
    image = QImage(str(out))
    assert not image.isNull() and image.width() == window.canvas.image().width()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if "About" in a.text()).trigger()
    about = next(b for b in window.findChildren(QMessageBox) if b.windowTitle() == "About mnist-gui")
    assert about.isVisible() and "Yann LeCun" in about.text() and "CC BY-SA 3.0" in about.text()
    shortcuts = window.show_shortcuts()
    assert "Ctrl+Z" in shortcuts.text()
    about.close()
    shortcuts.close()
    help_action = next(a for a in help_menu.actions() if "How this works" in a.text())
    assert help_action.shortcut().toString() == "F1"
    help_action.trigger()                       # "How this works": what each part is, and the shortcuts
    page = window.show_help()
    assert page.isVisible() and page is window.show_help()
    for words in ("backpropagation", "validation", "memorize", "centre of mass", "learning rate", "Ctrl+Z"):
        assert words in page.text(), words
    page.close()


def _epoch(epoch, acc, val_acc=None):
    from mnist_gui.training import EpochResult

    return EpochResult(epoch=epoch, epochs=10, train_loss=0.1, train_accuracy=acc, val_loss=0.1,
                       val_accuracy=acc if val_acc is None else val_acc, seconds=1.0, elapsed=float(epoch))


def test_accuracy_range_moves_only_when_a_point_leaves_it(qtbot):
    # Auto-ranging every epoch repainted both axes and the grid each time (20-30 ms while training);
    # the range now steps down a ladder of floors and otherwise stays put.
    from mnist_gui.ui.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.reset(10)
    assert plots.accuracy_range[0] <= 0 and plots.accuracy_range[1] >= 100
    ranges = []
    for epoch, acc in enumerate([0.935, 0.962, 0.971, 0.978, 0.983], start=1):
        plots.add_epoch(_epoch(epoch, acc))
        plots.flush()
        ranges.append(plots.accuracy_range)
    assert ranges[0][0] == pytest.approx(90.0) and 100.0 < ranges[0][1] <= 100.5
    assert len(set(ranges)) == 1                       # five epochs, one range
    plots.add_epoch(_epoch(6, 0.99, val_acc=0.42))     # a point far below: the range opens to it
    plots.flush()
    assert plots.accuracy_range[0] == pytest.approx(0.0)
    plots.mark_test(0.9)
    plots.flush()
    assert plots.accuracy_range[0] == pytest.approx(0.0)
    plots.reset(10)
    plots.add_epoch(_epoch(1, 0.995))
    plots.flush()
    assert plots.accuracy_range[0] == pytest.approx(98.0)


def test_new_points_repaint_the_curves_but_not_the_axes(qtbot, monkeypatch):
    # With the grid on, each axis spans its whole plot; unless cached, every repaint of a curve
    # redrew both axes: 9-10 ms of the GUI thread per plot, the bulk of the epoch-end stalls.
    import pyqtgraph as pg

    from mnist_gui.training import BatchProgress
    from mnist_gui.ui.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 300)
    plots.show()
    qtbot.waitExposed(plots)
    plots.reset(10)
    painted = []
    real_paint = pg.AxisItem.paint
    monkeypatch.setattr(pg.AxisItem, "paint", lambda self, *a: (painted.append(self), real_paint(self, *a))[1])
    loss_axes = {id(v["item"]) for v in plots.loss_plot.getPlotItem().axes.values()}
    accuracy_axes = {id(v["item"]) for v in plots.accuracy_plot.getPlotItem().axes.values()}

    def show(*events):
        for ev in events:
            (plots.add_epoch if isinstance(ev, type(_epoch(1, 0.9))) else plots.add_progress)(ev)
        plots.flush()
        qtbot.wait(20)                    # the scenes process their changes and the window repaints

    def tick(step, loss):
        return BatchProgress(epoch=1, epochs=10, batch=step, batches=400, step=step, total_steps=4000,
                             loss=loss, smoothed_loss=loss, lr=1e-3, samples_per_second=1.0,
                             elapsed=1.0, eta=1.0, mean_loss=loss)

    show(tick(1, 0.5), _epoch(1, 0.93))   # the first points set both y ranges: every axis redrawn
    qtbot.wait(200)                       # (and laid out again for its new tick labels)
    assert {id(a) for a in painted} & loss_axes and {id(a) for a in painted} & accuracy_axes
    painted.clear()
    for step in range(2, 12):             # batch points inside the loss range
        show(tick(step, 0.5 - 0.01 * step))
    for epoch, acc in ((2, 0.95), (3, 0.96)):   # epoch points inside the accuracy range
        show(_epoch(epoch, acc))
    assert len(plots.batch_curve.xData) == 11 and len(plots.train_acc_curve.xData) == 3
    assert painted == []                  # curves repainted ten times, axes never


def _layout_requests(widget):
    """A list that grows by one for every LayoutRequest event ``widget`` receives."""
    from PySide6.QtCore import QEvent, QObject

    class Spy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.LayoutRequest:
                seen.append(obj)
            return False

    seen: list = []
    spy = Spy(widget)
    widget.installEventFilter(spy)
    return seen


def test_status_text_relays_out_only_when_its_line_count_changes(qtbot):
    # QLabel.setText re-laid-out the whole window at every progress tick (0.6-0.8 ms each).
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from mnist_gui.ui.status_text import StatusText

    parent = QWidget()
    qtbot.addWidget(parent)
    layout = QVBoxLayout(parent)
    status, label = StatusText("ready"), QLabel("ready")
    layout.addWidget(status)
    layout.addWidget(label)
    parent.resize(280, 200)
    parent.show()
    qtbot.waitExposed(parent)
    qtbot.wait(50)
    requests = _layout_requests(parent)
    for i in range(20):
        status.setText(f"{90000 + 37 * i:,} images/s · {i} s left · loss {0.3 - 0.01 * i:.3f}")
        qtbot.wait(1)
    assert requests == [] and status.lines() == 2 and status.text().endswith("loss 0.110")
    label.setText("another text")          # the control: a QLabel asks for a layout
    qtbot.wait(1)
    assert requests
    requests.clear()
    long_text = "training diverged: the loss became nan at epoch 1, batch 3 (learning rate 10 is " \
                "probably too high); the weights from step 0, the last healthy ones, were kept"
    status.setText(long_text)              # needs more lines: the layout makes room
    qtbot.wait(1)
    assert status.lines() > 2 and requests
    assert status.height() >= status.lines() * status.fontMetrics().lineSpacing()
    assert status.accessibleName() == long_text


def test_a_new_prediction_does_not_relayout_the_window(window, qtbot):
    import numpy as np

    qtbot.wait(50)
    requests = _layout_requests(window.chart)
    rng = np.random.default_rng(0)
    for i in range(20):
        window.chart.set_probabilities(rng.dirichlet(np.ones(10) * (0.3 if i % 2 else 5)))
        qtbot.wait(1)
    window.chart.set_probabilities(np.eye(10)[7] * 0.9999 + 1e-5)
    qtbot.wait(1)
    assert requests == []
    assert window.chart.confidence_label.text() == ">99.9% sure" and window.chart.digit_label.text() == "7"


def test_an_epoch_end_repaints_the_two_plots_in_separate_turns(qtbot):
    # Both plots changing in one event-loop turn doubled the stall at every epoch end.
    from mnist_gui.ui.plots import ACCURACY_STAGGER_MS, TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.reset(10)
    plots.add_epoch(_epoch(1, 0.93))
    assert plots._timer.isActive()
    plots._timer.stop()
    plots._on_timer()                     # the timer's first turn: loss curves only
    counts = plots.point_counts()
    assert counts["train_loss"] == 1 and counts["val_loss"] == 1
    assert counts["train_accuracy"] == 0 and counts["val_accuracy"] == 0
    assert plots._timer.isActive() and plots._timer.interval() == ACCURACY_STAGGER_MS
    plots._timer.stop()
    plots._on_timer()                     # the next turn: the accuracy curves
    counts = plots.point_counts()
    assert counts["train_accuracy"] == 1 and counts["val_accuracy"] == 1
    assert not plots._timer.isActive()
    plots.add_epoch(_epoch(2, 0.95))
    plots.mark_test(0.96)
    plots.flush()                         # a direct flush still shows everything at once
    counts = plots.point_counts()
    assert counts["train_loss"] == counts["train_accuracy"] == 2 and counts["test"] == 1


def test_the_run_is_recorded_by_the_training_thread_never_the_window(window, qtbot, monkeypatch):
    # The model write (atomic write + fsync) ran in the GUI thread once: on a slow disk, a frozen window.
    import mnist_gui.state.library as library_module

    release, writers = threading.Event(), []
    real_save = library_module.save_model

    def slow_save(model, path):
        writers.append(threading.current_thread())
        assert release.wait(10), "never released"
        real_save(model, path)

    monkeypatch.setattr(library_module, "save_model", slow_save)
    set_fields(window, **QUICK)
    ticks = []
    with qtbot.waitSignal(window.training_finished, timeout=30000):
        window.start_training(window.panel.config())
        qtbot.waitUntil(lambda: bool(writers), timeout=30000)
        assert writers[0] is not threading.main_thread()
        window.plots._timer.timeout.connect(lambda: ticks.append(1))
        window.plots.add_epoch(_epoch(1, 0.9))    # the window keeps serving its timers meanwhile
        qtbot.waitUntil(lambda: bool(ticks), timeout=5000)
        release.set()
    current = next(m for m in window.models() if m["current"])
    assert current["status"] == "completed" and current["name"] in window.model_label.text()
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(load_model(current["model_path"]).predict_proba(x), window.model.predict_proba(x),
                               atol=1e-6)


def test_a_failed_record_is_reported_and_the_trained_model_still_used(window, qtbot, monkeypatch):
    import mnist_gui.state.library as library_module
    from mnist_gui.errors import ModelFileError

    def failing_save(model, path):
        raise ModelFileError(f"{path}: disk full")

    monkeypatch.setattr(library_module, "save_model", failing_save)
    before = [m["id"] for m in window.models()]
    set_fields(window, **QUICK)
    with qtbot.waitSignal(window.training_finished, timeout=30000):
        window.start_training(window.panel.config())
    # The outcome carries the error; the run is not in the library (nothing half-written is left),
    # but the trained model is in use, and the window says how to keep it.
    assert window.model_source == "unsaved run (completed)" and window.model.describe().startswith("784-64-10")
    message = window.statusBar().currentMessage()
    assert "could not record the run" in message and "disk full" in message and "Save model as" in message
    assert [m["id"] for m in window.models()] == before
    assert sorted(p.name for p in window.library.runs_dir.iterdir()) == sorted(i for i in before if i != "shipped")
    # Said plainly, not only in the status bar: a dialog offering Save as, and a question on closing.
    assert window.unsaved.pending and window.unsaved.notice.isVisible() and "disk full" in window.unsaved.notice.text()
    window.close()
    assert window.isVisible() and window.unsaved.question.isVisible()
    next(b for b in window.unsaved.question.buttons() if b.text() == "Discard").click()
    assert not window.isVisible()


def test_the_panel_and_the_command_line_accept_the_same_runs(window):
    # One table of limits (training.BOUNDS) for both: the panel used to cap epochs at 100,000 while
    # validate() accepted more, and mapped errors back to fields by their wording.
    from mnist_gui.errors import ConfigError

    for text, ok in (("100000", True), ("100001", False), ("0", False)):
        set_fields(window, epochs=text)
        try:
            TrainingConfig(epochs=int(text)).validate()
            cli_ok = True
        except ConfigError as exc:
            cli_ok = False
            assert exc.field == "epochs"
        assert (window.panel.config() is not None) == ok == cli_ok, text
        assert ("epochs" in window.panel.errors()) == (not ok)
    set_fields(window, epochs="3", hidden="200000,200000")   # only validate() can see this one
    assert set(window.panel.errors()) == {"hidden"} and "parameters" in window.panel.errors()["hidden"]


def test_a_damaged_settings_file_gives_defaults_not_a_dead_window(qtbot, model_path):
    path = Path(Settings().folder) / "mnist-gui.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    deep = "[" * 5000 + "]" * 5000
    path.write_text("[window]\ngeometry=hello\nmain_splitter=42\n[canvas]\npen_width=1e400\n"
                    f"[training]\nfields={deep}\n[model]\nlast=\n[dataset]\npath=@Variant(garbage)\n")
    assert Settings().file == path
    window = open_window(qtbot, model_path)
    assert window.pad.pen_width() == DrawingCanvas().pen_width()
    assert window.panel.config() is not None and window.model is not None


def test_a_bad_field_says_why_in_the_panel_not_only_in_a_tooltip(window):
    from PySide6.QtWidgets import QLabel

    error = window.findChild(QLabel, "formError")
    assert not error.isVisible()
    for field, text, words in (("lr", "1e9", "learning rate"), ("seed", str(10**20), "seed"),
                               ("limit", "99999999", "training images"), ("batch_size", "100000000", "batch size")):
        set_fields(window, **{field: text})
        assert window.panel.config() is None and not window.panel.train_button.isEnabled()
        assert list(window.panel.errors()) == [field], window.panel.errors()   # blamed on the right field
        assert error.isVisible() and words in error.text().lower(), error.text()
        set_fields(window, **{field: {"lr": "0.002", "seed": "0", "limit": "", "batch_size": "128"}[field]})
        assert window.panel.config() is not None and not error.isVisible()


def test_edits_turn_the_preset_into_custom_and_a_preset_choice_keeps_them(window):
    panel = window.panel
    panel.apply_preset("fast")
    assert panel.preset_combo.currentText() == "fast" and panel.config().preset == "fast"
    set_fields(window, epochs="7", hidden="64")
    assert panel.preset_combo.currentText() == "custom" and panel.config().preset is None
    panel.preset_combo.setCurrentText("keras-book")             # picking a preset...
    assert panel.config().preset == "keras-book" and panel.edits["epochs"].text() == "5"
    panel.preset_combo.setCurrentText("custom")                 # ...does not lose the edits
    assert panel.edits["epochs"].text() == "7" and panel.edits["hidden"].text() == "64"
    assert panel.config().epochs == 7 and panel.config().optimizer == "adam"   # the edits of fast
    set_fields(window, epochs="8", hidden="256,128")            # edited back to fast itself
    assert panel.preset_combo.currentText() == "fast" and panel.config().preset == "fast"
    set_fields(window, epochs="9")
    state = panel.state_dict()
    panel.apply_preset("best")
    panel.restore(state)                                        # settings bring custom edits back
    assert panel.preset_combo.currentText() == "custom" and panel.config().epochs == 9


def test_paused_says_paused_and_a_stopped_run_reports_its_time(window, qtbot):
    set_fields(window, **LONG)
    window.panel.train_button.click()
    bar = window.panel.progress_bar
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=10000)
    window.pause_action.trigger()
    qtbot.wait(300)                        # progress of the batch that ran on must not overwrite it
    assert bar.format().startswith("paused") and "paused" in window.panel.detail_label.text()
    assert "left" not in window.panel.detail_label.text()
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: "left" in window.panel.detail_label.text(), timeout=10000)
    with qtbot.waitSignal(window.training_finished, timeout=10000) as finished:
        window.stop_action.trigger()
    assert finished.args[0]["train_seconds"] > 0
    assert " 0.0 s" not in window.panel.detail_label.text() and "of training" in window.panel.detail_label.text()


def test_the_schedule_is_drawn_for_the_fields_and_every_control_explains_itself(window):
    from PySide6.QtWidgets import QWidget

    view = window.findChild(QWidget, "scheduleView")
    set_fields(window, lr="0.002", epochs="5")
    window.panel.schedule_combo.setCurrentText("cosine")
    assert "peak 0.002" in view.accessibleDescription()
    window.panel.schedule_combo.setCurrentText("constant")
    assert view.accessibleDescription() == "learning rate 0.002 throughout"
    set_fields(window, lr="-1")
    assert "needs a valid" in view.accessibleDescription()
    panel = window.panel
    for widget in (*panel.edits.values(), *panel.combos.values(), panel.preset_combo, panel.augment_check):
        assert len(widget.whatsThis()) > 30, widget.objectName()
    assert "0.001" in panel.edits["lr"].whatsThis()             # a sensible range, not only a name


def test_the_bars_carry_their_values_small_ones_stay_visible_and_hover_tells_exactly(window, qtbot):
    from PySide6.QtWidgets import QToolTip

    chart = window.chart
    probs = np.array([0.0003, 0.002, 0.9, 0.05, 0.0, 0.0477, 0.0, 0.0, 0.0, 0.0])
    chart.set_probabilities(probs)
    labels = [item.textItem.toPlainText() for item in chart.value_items]
    assert labels[:6] == ["", "", "90%", "5%", "", "5%"]
    heights = chart.bars.opts["height"]
    assert heights[0] > 0 and heights[4] > 0 and heights[2] == pytest.approx(0.9)   # a stub, not nothing
    assert chart.accessibleName() == "Prediction"
    assert chart.accessibleDescription() == "Reads 2, 90.0% sure; then 3 at 5.0%, 5 at 4.8%."
    vb = chart.plot.getPlotItem().vb
    chart._hover(vb.mapViewToScene(pg_point(3.0, 0.02)))      # the mouse over bar 3
    assert QToolTip.text().splitlines() == ["P(3) = 5.0000%", "Click: it is a 3 (saved to My digits)"]
    chart.set_probabilities(None)
    assert chart.accessibleDescription().startswith("No prediction")
    assert [item.textItem.toPlainText() for item in chart.value_items] == [""] * 10


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_every_control_is_reachable_from_the_keyboard(window, qtbot):
    """Alt+letter shortcuts are unique (and clear of the menus'), and Tab reaches every control."""
    import re

    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QTabWidget

    letters = [a.text() for a in window.menuBar().actions()]
    letters += [w.text() for kind in (QLabel, QAbstractButton) for w in window.findChildren(kind)
                if w.isVisibleTo(window)]
    letters += [t.tabText(i) for t in window.findChildren(QTabWidget) for i in range(t.count())]
    keys = [m.group(1).lower() for text in letters for m in [re.search(r"&([^&])", text)] if m]
    assert len(keys) >= 15 and len(keys) == len(set(keys)), sorted(keys)
    for label in window.panel.findChildren(QLabel):        # every form label focuses its field
        if "&" in label.text():
            assert label.buddy() is not None, label.text()
    # Tab walks through every enabled control of the training panel and reaches the canvas.
    first = window.panel.preset_combo
    first.setFocus()
    seen, widget = [], first
    for _ in range(300):
        seen.append(widget)
        widget = widget.nextInFocusChain()
        if widget is first:
            break
    panel_controls = [w for kind in (QLineEdit, QComboBox, QAbstractButton) for w in window.panel.findChildren(kind)
                      if w.isEnabled()]
    assert all(w in seen for w in panel_controls), [w.objectName() for w in panel_controls if w not in seen]
    assert window.canvas in seen and window.models_panel.table in seen


def test_dropping_a_picture_on_the_canvas_classifies_it_as_predict_would(window, qtbot, tmp_path, model_path):
    from mnist_gui.imaging.preprocess import preprocess_drawing
    from mnist_gui.ui.imagefile import load_image

    path = _digit_png(tmp_path)
    seen = []
    window.prediction_changed.connect(seen.append)
    _drop(window.findChild(DrawingCanvas, "drawingCanvas"), path)
    settle(qtbot)
    assert seen, "no prediction_changed"
    expected = window.model.predict_proba_one(preprocess_drawing(load_image(path)))
    np.testing.assert_allclose(seen[-1], expected, atol=1e-6)
    assert int(np.argmax(seen[-1])) == 7 and window.canvas.has_picture()
    np.testing.assert_array_equal(window.preview.pixels(), preprocess_drawing(load_image(path)))
    assert window.canvas.ink_array().max() > 200            # the picture is shown on the canvas
    window.canvas.undo()                                   # back to the (empty) drawing
    settle(qtbot)
    assert not window.canvas.has_picture() and window.chart.probabilities() is None


def test_dropping_a_model_opens_it_and_a_bad_picture_changes_nothing(window, qtbot, tmp_path, model_path):
    other = load_model(model_path)
    other.network.dense_layers[0].params["b"][:] += 0.01      # another model, not a copy of the open one
    copy = tmp_path / "dropped.npz"
    save_model(other, copy)
    _drop(window.canvas, copy)
    assert "dropped" in window.model_label.text()
    np.testing.assert_array_equal(window.model.network.flat_params, other.network.flat_params)
    draw(window, ONE)
    settle(qtbot)
    before = window.canvas.ink_array()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    _drop(window.canvas, broken)
    assert window.last_error[0] == "Cannot read the picture" and "broken.png" in window.last_error[1]
    np.testing.assert_array_equal(window.canvas.ink_array(), before)


def test_classify_an_image_and_export_the_input_from_the_file_menu(window, qtbot, tmp_path, monkeypatch):
    path = _digit_png(tmp_path)
    monkeypatch.setattr(app_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    next(a for a in file_menu.actions() if "Classify" in a.text().replace("&", "")).trigger()
    settle(qtbot)
    assert window.chart.predicted_digit() == 7
    out = tmp_path / "input28.png"
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    export_menu = next(a.menu() for a in file_menu.actions() if a.menu() and "xport" in a.text())
    next(a for a in export_menu.actions() if "input" in a.text()).trigger()
    image = QImage(str(out))
    assert image.width() == image.height() == 28
    pixels = np.array([[image.pixelColor(x, y).red() for x in range(28)] for y in range(28)])
    np.testing.assert_array_equal(pixels, window.preview.pixels())
    assert "Exported the network input" in window.statusBar().currentMessage()
    drawing = tmp_path / "drawing.png"
    assert window.export_drawing(str(drawing)) and "Exported the drawing" in window.statusBar().currentMessage()
    assert not window.export_drawing(str(tmp_path / "missing" / "x.png"))   # a folder that does not exist
    assert window.last_error[0].startswith("Cannot export")


def test_the_chart_says_when_a_drawing_does_not_look_like_a_digit(window, qtbot):
    # A model trained with scribbles records a max-logit threshold; below it, the chart does not claim a
    # digit. Here the threshold is set far above (or below) anything, to check the wiring both ways.
    model = window.model_slots.displayed
    draw(window, ONE)
    settle(qtbot)
    assert window.chart.predicted_digit() == 1 and not window.chart.not_a_digit()
    seen = []
    window.prediction_changed.connect(seen.append)
    model.metadata["not_a_digit"] = {"score": "max_logit", "threshold": 1e9, "quantile": 0.02}
    window._predict()
    assert window.chart.not_a_digit() and seen and seen[-1].shape == (10,)   # the contract still fires
    assert window.chart.confidence_label.text() == "not a digit?" and window.chart.digit_label.text() == "?"
    assert window.chart.accessibleDescription().startswith("Does not look like a digit")
    model.metadata["not_a_digit"]["threshold"] = -1e9
    window._predict()
    assert not window.chart.not_a_digit() and window.chart.digit_label.text() == "1"
    del model.metadata["not_a_digit"]
