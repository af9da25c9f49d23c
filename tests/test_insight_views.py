"""The insight views in the window: confusion matrix, gallery, first-layer weights, inside the
network, map of the digits, time travel; their automation contract; and that they work off the GUI
thread, only while visible."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import drag_stroke, threads_started_since
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from mnist_gui.app import MainWindow
from mnist_gui.insight.inside import look_inside
from mnist_gui.model import Model, Normalization, save_model
from mnist_gui.nn import build_mlp
from mnist_gui.training import TrainingConfig, train
from mnist_gui.ui.canvas import EMIT_INTERVAL_MS, DrawingCanvas

ONE = [[(0.5, 0.15), (0.5, 0.85)]]
ZERO = [[(0.5 + 0.22 * math.sin(2 * math.pi * i / 48), 0.5 - 0.33 * math.cos(2 * math.pi * i / 48))
         for i in range(49)]]
SMALL_RUN = {"hidden": "32", "epochs": "3", "limit": "4000"}
VIEWS = {"confusionMatrix": "Confusion matrix", "testGallery": "Gallery", "weightsView": "Weights",
         "insideView": "Inside", "digitMap": "Map of digits"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from mnist_gui.data import load_mnist

    model, _ = train(TrainingConfig(hidden=(48,), epochs=1, limit=20000, normalization="standard"), load_mnist(None))
    path = tmp_path_factory.mktemp("models") / "small.npz"
    save_model(model, path)
    return path


@pytest.fixture
def window(qtbot, model_path):
    w = MainWindow(model_path=str(model_path))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def open_tab(window: MainWindow, qtbot, name: str) -> QWidget:
    """Click the view's tab with the mouse; returns the view."""
    view = window.findChild(QWidget, name)
    tabs = window.view_tabs
    bar = tabs.tabBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     bar.tabRect(tabs.indexOf(view)).center())
    qtbot.waitUntil(view.isVisible, timeout=2000)
    return view


def draw(window: MainWindow, qtbot, strokes) -> None:
    canvas = window.findChild(DrawingCanvas, "drawingCanvas")
    r = canvas.drawing_rect()
    for stroke in strokes:
        pts = []
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.02))
            pts += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n + 1)]
        drag_stroke(canvas, [(r.left() + x * r.width(), r.top() + y * r.height()) for x, y in pts])
    qtbot.wait(3 * EMIT_INTERVAL_MS)


def wait_idle(window: MainWindow, qtbot, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: window.insight.runner.is_idle(), timeout=timeout)
    qtbot.wait(20)


def test_the_views_are_tabs_beside_the_curves(window):
    tabs = window.view_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Curves", *VIEWS.values(), "M&y digits"]
    for name, title in VIEWS.items():
        view = window.findChild(QWidget, name)
        assert view is not None and tabs.tabText(tabs.indexOf(view)) == title
    assert tabs.currentIndex() == 0 and not window.insight.time_travel.isVisible()


def test_the_confusion_matrix_is_what_evaluate_prints_computed_off_the_gui_thread(window, qtbot, model_path,
                                                                                  monkeypatch):
    import mnist_gui.insight.evaluation as evaluation_module

    threads = []
    real = evaluation_module.evaluate_with_predictions
    monkeypatch.setattr(evaluation_module, "evaluate_with_predictions",
                        lambda *a, **k: (threads.append(threading.get_ident()), real(*a, **k))[1])
    assert window.insight.runner.thread is None          # nothing computed while no view was open
    view = open_tab(window, qtbot, "confusionMatrix")
    assert view.confusion() is None and "background" in view.matrix.placeholder
    qtbot.waitUntil(lambda: view.confusion() is not None, timeout=30000)
    assert threads and threading.get_ident() not in threads
    shown = window.confusion_matrix()
    assert shown.shape == (10, 10) and shown.dtype.kind == "i" and shown.sum() == 10000
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "evaluate", str(model_path), "--json"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(shown, np.array(printed["confusion"]))
    assert "Test set (10,000 images), small:" in view.caption_text()
    assert f"{printed['test_accuracy']:.2%}" in view.caption_text()
    # Percentages change what the cells say, not what the matrix is.
    qtbot.mouseClick(view.percent_box, Qt.MouseButton.LeftButton)
    assert view.matrix.percent
    np.testing.assert_array_equal(window.confusion_matrix(), shown)


def test_clicking_a_cell_opens_the_gallery_of_those_images(window, qtbot):
    view = open_tab(window, qtbot, "confusionMatrix")
    qtbot.waitUntil(lambda: view.confusion() is not None, timeout=30000)
    counts = view.confusion()
    off = counts.copy()
    np.fill_diagonal(off, 0)
    t, p = np.unravel_index(np.argmax(off), off.shape)    # the most frequent mistake
    qtbot.mouseClick(view.matrix, Qt.MouseButton.LeftButton, pos=view.matrix.cell_rect(t, p).center().toPoint())
    gallery = window.findChild(QWidget, "testGallery")
    qtbot.waitUntil(gallery.isVisible, timeout=2000)
    assert window.gallery_count() == counts[t, p] > 0
    shown = gallery.shown_indices()
    ev = gallery.evaluation()
    assert np.all(ev.labels[shown] == t) and np.all(ev.predicted[shown] == p)
    assert np.all(np.diff(ev.confidence[shown]) <= 0)      # the surest mistakes first
    assert "read as" in view.matrix.describe((int(t), int(p)))
    window.select_confusion_cell(3, 3)                    # the scriptable way
    assert window.gallery_count() == counts[3, 3]
    assert gallery.gallery_filter().true_digit == 3 and gallery.gallery_filter().predicted_digit == 3


def test_the_gallery_filters_sorts_paints_lazily_and_a_click_shows_the_image_as_if_drawn(window, qtbot, monkeypatch):
    from mnist_gui.ui.gallery import _TileDelegate

    painted = []
    real_paint = _TileDelegate.paint
    monkeypatch.setattr(_TileDelegate, "paint", lambda self, p, o, i: (painted.append(i.row()), real_paint(self, p, o, i)))
    gallery = open_tab(window, qtbot, "testGallery")
    qtbot.waitUntil(lambda: gallery.count() == 10000, timeout=30000)
    qtbot.wait(100)
    assert 0 < len(set(painted)) < 400                    # only the tiles on screen are painted
    gallery.correct_box.setCurrentIndex(gallery.correct_box.findData("wrong"))
    ev = gallery.evaluation()
    wrong = int(np.count_nonzero(ev.labels != ev.predicted))
    assert gallery.count() == wrong and "of 10,000 images" in gallery.count_label.text()
    gallery.true_box.setCurrentIndex(gallery.true_box.findData(7))
    shown = gallery.shown_indices()
    assert shown.size == np.count_nonzero((ev.labels == 7) & (ev.predicted != 7))
    assert np.all(np.diff(ev.confidence[shown]) <= 0)
    gallery.order_box.setCurrentIndex(gallery.order_box.findData("least_sure"))
    assert np.all(np.diff(ev.confidence[gallery.shown_indices()]) >= 0)
    first = int(gallery.shown_indices()[0])
    seen = []
    window.prediction_changed.connect(seen.append)
    qtbot.wait(50)
    rect = gallery.list.visualRect(gallery.model.index(0, 0))
    qtbot.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    image = ev.images[first].reshape(28, 28)
    np.testing.assert_array_equal(window.preview.pixels(), image)
    np.testing.assert_allclose(seen[-1], window.model.predict_proba_one(image), atol=1e-6)
    np.testing.assert_allclose(window.chart.probabilities(), seen[-1], atol=1e-6)
    assert not window.canvas.is_empty() and "#" in window.statusBar().currentMessage()
    draw(window, qtbot, ONE)                              # a stroke over the picture: the input follows the canvas
    assert not np.array_equal(window.preview.pixels(), image)


def test_the_first_layer_as_tiles_and_one_unit_large_with_its_activation(window, qtbot):
    draw(window, qtbot, ZERO)
    view = open_tab(window, qtbot, "weightsView")
    qtbot.waitUntil(lambda: view.grid.renders > 0, timeout=3000)
    w0 = window.model.network.dense_layers[0].params["W"]
    assert view.grid.units == 48 and view.pages() == 1 and "all 48 units" in view.page_label.text()
    columns = view.grid.layout_grid()[0]
    assert view.grid.mosaic.dtype == np.uint32 and view.grid.mosaic.shape == (-(-48 // columns) * 29 - 1, columns * 29 - 1)
    target = view.grid.tile_rect(5).center().toPoint()
    qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=target)
    assert view.selected_unit() == 5 and view.detail.image is not None and view.detail.drawing is not None
    look = look_inside(window.model, window.preview.pixels())
    assert f"{look.hidden[0][5]:.2f}" in view.detail_text.text() and "Unit 5 of 48" in view.detail_text.text()
    assert f"{float(w0[:, 5].min()):+.3f}" in view.detail_text.text()
    # 1,024 units at 1024x600 come in pages.
    big = Model(build_mlp((784, 1024, 10), seed=0), Normalization.standard())
    window.set_model(big, "big")
    window.resize(1024, 600)
    qtbot.wait(100)
    assert view.grid.units == 1024 and view.pages() > 1
    page = view.page()
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    assert view.page() == page + 1 and view.grid.page_units()[0] > 0
    view.select_unit(1000)
    assert view.page() == view.pages() - 1 and 1000 in view.grid.page_units()


def test_the_weights_follow_training_at_the_snapshot_rate_and_hidden_views_do_no_work(window, qtbot, monkeypatch):
    import mnist_gui.jobs as jobs_module

    drawn_in = []
    real = jobs_module.tile_mosaic
    monkeypatch.setattr(jobs_module, "tile_mosaic", lambda *a, **k: (drawn_in.append(threading.get_ident()),
                                                                      real(*a, **k))[1])
    rounds = []
    for shown in (False, True):
        view = open_tab(window, qtbot, "weightsView") if shown else window.insight.weights
        renders, snapshots = view.grid.renders, []
        window.runner.snapshot.connect(snapshots.append)
        for key, text in SMALL_RUN.items():
            window.panel.set_field(key, text)
        with qtbot.waitSignal(window.training_finished, timeout=60000):
            window.panel.train_button.click()
        window.runner.snapshot.disconnect(snapshots.append)
        qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
        wait_idle(window, qtbot)
        rounds.append((view.grid.renders - renders, len(snapshots)))
        if not shown:
            assert window.insight.runner.thread is None   # nothing analysed or drawn while no view was open
    (hidden_renders, _), (shown_renders, snaps) = rounds
    assert hidden_renders == 0                            # the weights view was hidden: no tiles drawn
    assert 1 <= shown_renders <= snaps + 4                # at most once per snapshot (plus the run's ends)
    assert drawn_in and threading.get_ident() not in drawn_in   # the snapshots' tiles: drawn in the worker
    np.testing.assert_array_equal(view.grid.w0, window.model.network.dense_layers[0].params["W"])
    shown_now = view.grid.mosaic.copy()
    view.grid.invalidate()                                # the final model's tiles, drawn afresh, are those shown
    view.grid.repaint()
    np.testing.assert_array_equal(view.grid.mosaic, shown_now)


def test_inside_the_network_follows_the_drawing_and_lays_the_saliency_on_the_preview(window, qtbot):
    view = open_tab(window, qtbot, "insideView")
    assert view.look() is None and "Draw a digit" in view.strips.placeholder
    draw(window, qtbot, ONE)
    look = view.look()
    assert look is not None and look.winner == window.chart.predicted_digit()
    np.testing.assert_allclose(look.probabilities, window.chart.probabilities(), atol=1e-6)
    expected = look_inside(window.model, window.preview.pixels())
    np.testing.assert_allclose(look.saliency, expected.saliency, rtol=1e-6)
    assert [h.size for h in look.hidden] == [48]
    assert window.preview.has_overlay()
    first = look
    draw(window, qtbot, ZERO)                             # it updates as you draw
    assert view.look() is not first and not np.array_equal(view.look().saliency, first.saliency)
    qtbot.mouseClick(view.preview_box, Qt.MouseButton.LeftButton)
    assert not window.preview.has_overlay()
    qtbot.mouseClick(view.preview_box, Qt.MouseButton.LeftButton)
    assert window.preview.has_overlay()
    open_tab(window, qtbot, "weightsView")                # a hidden inside view leaves no overlay behind
    assert not window.preview.has_overlay()
    open_tab(window, qtbot, "insideView")
    strips = view.strips
    row = strips._rows()[0]
    unit_pos = QPoint(int(row.left() + row.width() * 0.5), int(row.center().y()))
    layer, unit = strips.unit_at(QPointF(unit_pos))
    qtbot.mouseClick(strips, Qt.MouseButton.LeftButton, pos=unit_pos)   # a first-layer unit: its weights
    assert window.insight.weights.isVisible() and window.insight.weights.selected_unit() == unit


def test_the_map_of_the_digits_moves_its_star_as_you_draw_and_shows_a_hovered_image(window, qtbot):
    view = open_tab(window, qtbot, "digitMap")
    qtbot.waitUntil(lambda: view.digit_map() is not None, timeout=30000)
    m = view.digit_map()
    assert len(m.points) == 2000 and "2,000 test images" in view.caption_text()
    assert view.marker_position() is None
    draw(window, qtbot, ONE)
    one = view.marker_position()
    draw(window, qtbot, ZERO)
    zero = view.marker_position()
    assert one is not None and zero is not None and one != zero
    hidden = look_inside(window.model, window.preview.pixels()).hidden[-1]
    np.testing.assert_allclose(zero, m.projection.project(hidden), rtol=1e-4, atol=1e-4)
    # Hover over a point: its image appears.
    i = int(np.argmax(m.points[:, 0]))                    # the right-most point, away from the crowd
    vb = view.plot.getPlotItem().getViewBox()
    pos = view.plot.mapFromScene(vb.mapViewToScene(QPointF(*m.points[i])))
    QTest.mouseMove(view.plot.viewport(), pos)
    qtbot.waitUntil(view.popup.isVisible, timeout=2000)
    assert f"#{int(m.indices[i])}" in view.popup.text.text()
    (x0, x1), (y0, y1) = vb.viewRange()                   # away from every point: the emptiest corner
    corners = [QPointF(x, y) for x in (x0 + 0.02 * (x1 - x0), x1 - 0.02 * (x1 - x0))
               for y in (y0 + 0.02 * (y1 - y0), y1 - 0.02 * (y1 - y0))]
    empty = max(corners, key=lambda c: np.min(np.hypot(m.points[:, 0] - c.x(), m.points[:, 1] - c.y())))
    assert view.point_near(empty) is None
    qtbot.wait(50)   # let the popup settle in before the next move
    QTest.mouseMove(view.plot.viewport(), view.plot.mapFromScene(vb.mapViewToScene(empty)))
    qtbot.waitUntil(lambda: not view.popup.isVisible(), timeout=2000)


def test_time_travel_replays_the_bars_the_weights_and_the_confusion_matrix(window, qtbot):
    draw(window, qtbot, ZERO)
    confusion = open_tab(window, qtbot, "confusionMatrix")
    captions = []
    window.runner.epoch_snapshot.connect(lambda _s: captions.append(confusion.caption_text()))
    for key, text in SMALL_RUN.items():
        window.panel.set_field(key, text)
    with qtbot.waitSignal(window.training_finished, timeout=60000):
        window.panel.train_button.click()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    wait_idle(window, qtbot)
    assert any("Validation set (5,000 images), epoch" in c for c in captions)   # it followed the run
    bar = window.insight.time_travel
    assert bar.isVisible() and bar.epochs() == [0, 1, 2, 3]
    history = window.insight.inspection.history
    final = window.confusion_matrix()
    assert "Test set" in confusion.caption_text()
    bar.slider.setFocus()
    QTest.keyClick(bar.slider, Qt.Key.Key_Home)            # back to before training
    wait_idle(window, qtbot)
    assert bar.selected() == 0 and window.chart.title() == "Prediction at epoch 0 of 3"
    assert window.chart.source() == "time travel: before training (epoch 0)"
    at_zero = history.model_at(0)
    np.testing.assert_allclose(window.chart.probabilities(), at_zero.predict_proba_one(window.preview.pixels()),
                               atol=1e-6)
    qtbot.waitUntil(lambda: window.confusion_matrix() is not None and "epoch 0" in confusion.caption_text(),
                    timeout=30000)
    np.testing.assert_array_equal(window.confusion_matrix(),
                                  np.bincount(at_zero.predict(history.evaluation(0).images)
                                              + 10 * history.evaluation(0).labels.astype(int),
                                              minlength=100).reshape(10, 10))
    QTest.keyClick(bar.slider, Qt.Key.Key_Right)           # epoch 1: its weights, its validation results
    assert bar.selected() == 1
    np.testing.assert_array_equal(window.confusion_matrix(), history.evaluation(1).confusion())
    weights = open_tab(window, qtbot, "weightsView")
    np.testing.assert_array_equal(weights.grid.w0, history.weights(1)[0])
    assert "epoch 1 of 3" in weights.caption_text()
    qtbot.mouseClick(bar.now_button, Qt.MouseButton.LeftButton)
    assert bar.selected() is None and window.chart.title() == "Prediction"
    assert window.chart.source().startswith("current: ")
    np.testing.assert_array_equal(weights.grid.w0, window.model.network.dense_layers[0].params["W"])
    np.testing.assert_array_equal(window.confusion_matrix(), final)


def test_a_view_opens_in_its_own_window_and_comes_back(window, qtbot):
    weights = window.insight.weights
    other = window.view_tabs.detach(weights)
    assert other is not None and other.isVisible() and window.view_tabs.indexOf(weights) < 0
    qtbot.waitUntil(weights.isVisible, timeout=2000)
    assert weights.grid.renders > 0 or weights.grid.w0 is not None
    window.view_tabs.reveal(weights)
    other.close()
    assert window.view_tabs.indexOf(weights) == 3 and not window.view_tabs.is_detached(weights)


def test_the_views_fit_a_small_screen(window, qtbot):
    window.resize(1024, 600)
    for name in VIEWS:
        view = open_tab(window, qtbot, name)
        qtbot.wait(20)
        hint = view.minimumSizeHint()
        assert hint.width() <= view.width() and hint.height() <= view.height() <= 260, (name, hint, view.size())


def test_closing_the_window_joins_the_analysis_thread(qtbot, model_path):
    before = set(threading.enumerate())
    w = MainWindow(model_path=str(model_path))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    open_tab(w, qtbot, "digitMap")
    qtbot.waitUntil(lambda: w.insight.runner.thread is not None, timeout=5000)
    thread = w.insight.runner.thread
    w.close()
    assert not thread.isRunning() and w.insight.runner.thread is None
    assert not threads_started_since(before)


def test_a_failing_analysis_or_dataset_leaves_a_message_and_a_working_window(window, qtbot, monkeypatch, tmp_path):
    import mnist_gui.jobs as jobs_module

    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise ValueError("broken on purpose")

    monkeypatch.setattr(jobs_module, "map_digits", broken)
    view = open_tab(window, qtbot, "digitMap")
    qtbot.waitUntil(lambda: "Could not compute this map" in view.placeholder_item.textItem.toPlainText(),
                    timeout=30000)
    wait_idle(window, qtbot)
    open_tab(window, qtbot, "insideView")
    open_tab(window, qtbot, "digitMap")
    wait_idle(window, qtbot)
    assert len(calls) == 1                                # a failed job is not asked for again and again
    draw(window, qtbot, ONE)
    assert window.chart.predicted_digit() is not None     # the window goes on
    # A dataset that cannot be read (a stale setting): the views say so, once.
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    window.insight.set_dataset_path(str(tmp_path))
    gallery = open_tab(window, qtbot, "testGallery")
    qtbot.waitUntil(lambda: "Cannot load the test images" in gallery.placeholder.text(), timeout=30000)
    assert gallery.count() == 0 and window.confusion_matrix() is None


def test_the_views_follow_the_current_model_and_a_dropped_picture(window, qtbot, tmp_path):
    from helpers import digit_png, drop_file

    from mnist_gui.data import load_mnist

    confusion = open_tab(window, qtbot, "confusionMatrix")
    qtbot.waitUntil(lambda: confusion.confusion() is not None, timeout=30000)
    first = confusion.confusion()
    small = next(m for m in window.models() if m["current"])
    # Another model becomes the current one (opened, so it joins the library): the views follow it.
    other = Model(build_mlp((784, 20, 10), seed=3), Normalization.standard())
    save_model(other, tmp_path / "untrained.npz")
    assert window.open_model(str(tmp_path / "untrained.npz"))
    qtbot.waitUntil(lambda: "untrained" in confusion.caption_text(), timeout=30000)
    test = load_mnist(None)
    expected = np.bincount(10 * test.test_labels.astype(int) + window.model.predict(test.test_images),
                           minlength=100).reshape(10, 10)
    np.testing.assert_array_equal(window.confusion_matrix(), expected)
    assert not np.array_equal(expected, first)
    weights = open_tab(window, qtbot, "weightsView")
    assert weights.grid.units == 20 and "untrained" in weights.caption_text()
    assert window.set_current_model(small["id"])          # the Models panel's choice, through the contract
    assert weights.grid.units == 48 and "small" in weights.caption_text()
    confusion = open_tab(window, qtbot, "confusionMatrix")
    np.testing.assert_array_equal(window.confusion_matrix(), first)   # its evaluation was kept
    # A picture dropped on the canvas is looked inside like a drawing, and is the map's star.
    inside = open_tab(window, qtbot, "insideView")
    drop_file(window.canvas, digit_png(tmp_path))
    qtbot.wait(3 * EMIT_INTERVAL_MS)
    look = inside.look()
    assert window.canvas.has_picture() and look is not None and look.winner == 7
    np.testing.assert_allclose(look.probabilities, window.chart.probabilities(), atol=1e-6)
    np.testing.assert_allclose(look.saliency, look_inside(window.model, window.input_image()).saliency, rtol=1e-6)
    digit_map = open_tab(window, qtbot, "digitMap")
    qtbot.waitUntil(lambda: digit_map.digit_map() is not None and digit_map.marker_position() is not None,
                    timeout=30000)
    hidden = look_inside(window.model, window.input_image()).hidden[-1]
    np.testing.assert_allclose(digit_map.marker_position(), digit_map.digit_map().projection.project(hidden),
                               rtol=1e-4, atol=1e-4)


def test_a_model_chosen_during_a_run_is_the_one_the_views_show(window, qtbot):
    weights = open_tab(window, qtbot, "weightsView")
    small = window.model
    small_id = next(m["id"] for m in window.models() if m["current"])
    snapshots = []
    window.runner.snapshot.connect(snapshots.append)
    # The run's network has the small model's shape, so only the choice tells their tiles apart.
    for key, text in {**SMALL_RUN, "hidden": "48", "epochs": "40", "limit": "8000"}.items():
        window.panel.set_field(key, text)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: len(snapshots) >= 2, timeout=60000)
    assert "in training" in weights.caption_text()
    assert window.set_current_model(small_id)             # the user looks at a model of their choice meanwhile
    assert window.model is small and "in training" not in weights.caption_text()
    seen = len(snapshots)
    qtbot.waitUntil(lambda: len(snapshots) >= seen + 2, timeout=60000)
    wait_idle(window, qtbot)
    qtbot.wait(50)
    w0 = small.network.dense_layers[0].params["W"]
    np.testing.assert_array_equal(weights.grid.w0, w0)
    shown = weights.grid.mosaic.copy()                    # the tiles on screen are the chosen model's...
    weights.grid.invalidate()
    weights.grid.repaint()
    np.testing.assert_array_equal(weights.grid.mosaic, shown)   # ...not a snapshot of the run's
    assert "in training" not in weights.caption_text()
    window.runner.pause()                                 # (so that the run is still on)
    assert window.runner.is_busy()
    window.library_ui.follow_live()                       # "watch the run": the views follow it again
    assert "in training" in weights.caption_text()
    window.runner.stop()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=30000)
    window.runner.snapshot.disconnect(snapshots.append)
    wait_idle(window, qtbot)


def test_the_views_paint_in_the_dark_theme(window, qtbot):
    from PySide6.QtWidgets import QApplication

    from mnist_gui.ui.theme import DARK, LIGHT, dark_palette

    confusion = open_tab(window, qtbot, "confusionMatrix")
    qtbot.waitUntil(lambda: confusion.confusion() is not None, timeout=30000)
    counts = confusion.confusion()
    empty = np.argwhere(counts == 0)[0]                   # a cell nobody's digits fell into: the background

    def empty_cell_colour() -> str:
        image = confusion.matrix.grab().toImage()
        return image.pixelColor(confusion.matrix.cell_rect(*empty).center().toPoint()).name()

    assert empty_cell_colour() == LIGHT.background
    app = QApplication.instance()
    light = app.palette()
    try:
        app.setPalette(dark_palette())
        qtbot.wait(50)
        assert empty_cell_colour() == DARK.background
        assert all(view.theme is DARK for view in window.insight.views())
        digit_map = open_tab(window, qtbot, "digitMap")
        assert digit_map.plot.backgroundBrush().color().name() == DARK.background
    finally:
        app.setPalette(light)
    qtbot.wait(50)
    assert all(view.theme is LIGHT for view in window.insight.views())
