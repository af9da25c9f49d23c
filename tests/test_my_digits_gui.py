"""My digits in the window: correct a reading in one gesture (a bar, a key, That's a…, Keep/Enter), undo it,
see the set as a grid with the current model's reading, relabel, delete, export and import, learn from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget
import test_gui
from test_gui import ONE, SEVEN, ZERO, _digit_png, _drop, draw, open_window, settle

import mnist_gui.ui.app as app_module
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.state.datadir import data_dir
from mnist_gui.state.my_digits import MyDigits
from mnist_gui.ui.my_digits_controller import FILE_NAME

model_path = test_gui.model_path   # the fixture: a small model trained once per session


@pytest.fixture
def window(qtbot, model_path):
    w = open_window(qtbot, model_path)
    qtbot.waitUntil(lambda: w.my_digits._loaded)
    return w


def stored(window=None) -> list[int]:
    """The labels in the set's file, read afresh from the data folder."""
    s = MyDigits(data_dir() / FILE_NAME)
    s.load()
    return [r.label for r in s.records]


def click_bar(window, digit: int) -> None:
    """A real left click in the middle of a digit's column of the prediction chart."""
    plot = window.chart.plot
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(digit, 0.5))
    pos = plot.mapFromScene(scene)
    QTest.mouseMove(plot.viewport(), pos)
    QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def save_by_key(window, qtbot, strokes, digit: int) -> None:
    draw(window, strokes)
    settle(qtbot)
    QTest.keyClick(window.canvas, Qt.Key(Qt.Key.Key_0 + digit))


def spin(ms: int) -> None:
    """Run the event loop for ``ms`` (qtbot.wait sleeps holding the GIL, which would hold the job's thread too)."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def reading_done(window, qtbot) -> None:
    qtbot.waitUntil(window.my_digits.reading_done)
    QApplication.processEvents()


def test_a_digit_key_on_the_canvas_saves_the_drawing_its_strokes_and_input(window, qtbot):
    draw(window, SEVEN)
    settle(qtbot)
    strokes = window.canvas.strokes()
    expected = preprocess_drawing(window.canvas.ink_array(), window.canvas.pen_width_pixels())
    QTest.keyClick(window.canvas, Qt.Key.Key_7)
    assert stored() == [7]
    record = window.my_digits.store.records[0]
    np.testing.assert_array_equal(record.image, expected.reshape(784))
    assert len(record.strokes) == len(strokes) == 2
    np.testing.assert_allclose(record.strokes[1].points[:, :2], strokes[1].points[:, :2], atol=1e-4)
    # The canvas is cleared, ready for the next digit; the bar and the status bar say what happened.
    assert window.canvas.is_empty()
    assert window.correction_bar.saved_text() == "Saved as a 7 to My digits (1 drawing)"
    assert window.correction_bar.undo_button.isVisibleTo(window)
    assert "Saved as a 7 to My digits" in window.statusBar().currentMessage()
    assert window.my_digits_count() == 1


def test_clicking_a_bar_saves_the_drawing_as_that_digit(window, qtbot):
    draw(window, ONE)
    settle(qtbot)
    assert window.chart.predicted_digit() == 1
    click_bar(window, 4)                       # "no, it is a 4"
    assert stored() == [4] and window.canvas.is_empty()
    click_bar(window, 4)                       # nothing drawn now: the chart shows no bars, nothing is saved
    assert stored() == [4]


def test_thats_a_menu_saves_the_chosen_digit(window, qtbot):
    draw(window, ZERO)
    settle(qtbot)
    bar = window.correction_bar
    assert bar.thats_button.isEnabled()

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        QTest.keyClick(menu, Qt.Key.Key_6)     # the menu's &6
    QTimer.singleShot(200, choose)
    QTest.mouseClick(bar.thats_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stored() == [6])
    assert window.canvas.is_empty() and not bar.thats_button.isEnabled()


def test_keep_and_enter_save_the_drawing_as_read(window, qtbot):
    draw(window, ONE)
    settle(qtbot)
    QTest.mouseClick(window.correction_bar.keep_button, Qt.MouseButton.LeftButton)
    draw(window, SEVEN)
    settle(qtbot)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert stored() == [1, 7]


def test_nothing_to_save_says_so_and_changes_nothing(window, qtbot, tmp_path):
    QTest.keyClick(window.canvas, Qt.Key.Key_5)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.add_to_my_digits(3) is False and window.keep_drawing() is False
    assert "Nothing to save" in window.correction_bar.saved_text()
    assert "Nothing to save" in window.statusBar().currentMessage()
    assert not window.correction_bar.keep_button.isEnabled()          # off, with nothing to save
    _drop(window.canvas, _digit_png(tmp_path))                         # a picture has no strokes to keep
    settle(qtbot)
    assert window.add_to_my_digits(7) is False and "Pictures are not saved" in window.correction_bar.saved_text()
    assert window.canvas.has_picture()                                 # and it stays on the canvas
    draw(window, ONE)
    settle(qtbot)
    assert window.add_to_my_digits(12) is False and window.add_to_my_digits(True) is False
    assert stored() == [] and not (data_dir() / FILE_NAME).exists()
    assert window.last_error is None


def test_undo_takes_the_save_back_and_returns_the_drawing(window, qtbot):
    save_by_key(window, qtbot, ONE, 1)
    draw(window, SEVEN)
    settle(qtbot)
    before = window.canvas.ink_array()
    QTest.keyClick(window.canvas, Qt.Key.Key_7)
    assert stored() == [1, 7] and window.my_digits_undo_action.isEnabled()
    assert "saving a 7" in window.my_digits_undo_action.text()
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored() == [1]
    np.testing.assert_array_equal(window.canvas.ink_array(), before)   # the drawing is back to fix or redo
    assert "Undone: saving a 7" in window.correction_bar.saved_text()
    window.canvas.clear()
    save_by_key(window, qtbot, ZERO, 0)
    QTest.mouseClick(window.correction_bar.undo_button, Qt.MouseButton.LeftButton)   # the notice's Undo
    assert stored() == [1]
    window.my_digits_undo_action.trigger()                                           # Edit > Undo in My digits
    assert stored() == [] and not window.my_digits_undo_action.isEnabled()


def test_the_grid_shows_the_set_with_the_current_models_reading(window, qtbot):
    for strokes, label in ((ONE, 1), (SEVEN, 7), (ZERO, 0), (ONE, 5)):   # the last one labelled wrong on purpose
        save_by_key(window, qtbot, strokes, label)
    window.show_my_digits()
    view = window.findChild(QWidget, "myDigitsView")
    assert view is window.my_digits_view and view.isVisible()
    reading_done(window, qtbot)
    records = window.my_digits.store.records
    images, labels = window.my_digits.store.arrays()
    predicted = window.model.predict(images)
    score = view.score()
    assert view.model.rowCount() == 4 and view.shown_ids() == [r.id for r in reversed(records)]   # newest first
    assert score.total == 4 and score.right == int((predicted == labels).sum()) and score.right <= 3
    assert score.per_digit[1] == 1 and score.per_digit[5] == 1 and score.wrong_per_digit[5] == 1
    assert f"{score.right / 4:.1%}" in view.summary.text() and window.model_source in view.summary.text()
    wrong = view.model.index(0)                              # the "5" (newest): read as a 1
    assert view.model.data(wrong) == f"5, read as {predicted[3]}"
    assert "(wrong)" in view.model.data(wrong, Qt.ItemDataRole.ToolTipRole)
    # Another current model: the reading is done again, with it.
    other = window.model.copy()
    other.network.dense_layers[-1].params["b"][:] = 0
    other.network.dense_layers[-1].params["b"][8] = 1000.0   # reads everything as an 8
    window.set_model(other, "all eights")
    reading_done(window, qtbot)
    assert view.score().right == 0 and "all eights" in view.summary.text()
    assert view.model.data(view.model.index(0)) == "5, read as 8"


def test_relabel_and_delete_from_the_keyboard_and_undo(window, qtbot):
    for strokes, label in ((ONE, 1), (SEVEN, 7), (ZERO, 0)):
        save_by_key(window, qtbot, strokes, label)
    window.show_my_digits()
    view = window.my_digits_view
    grid = view.grid
    qtbot.waitUntil(lambda: grid.visualRect(view.model.index(0)).isValid())
    rect = grid.visualRect(view.model.index(1))              # the 7 (the grid shows newest first)
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert grid.selected_ids() == [window.my_digits.store.records[1].id]
    QTest.keyClick(grid, Qt.Key.Key_4)
    assert stored() == [1, 4, 0]
    QTest.keyClick(grid, Qt.Key.Key_Delete)                  # not the window's Delete (clear the drawing)
    assert stored() == [1, 0]
    QTest.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored() == [1, 4, 0]                              # back where it was
    window.my_digits.undo()
    assert stored() == [1, 7, 0]
    # The context menu does the same for a selection of several.
    view.select([r.id for r in window.my_digits.store.records[:2]])
    menu = grid.context_menu(grid.selected_ids())
    relabel = next(a.menu() for a in menu.actions() if a.menu())
    next(a for a in relabel.actions() if a.text() == "&9").trigger()
    assert stored() == [9, 9, 0]
    next(a for a in menu.actions() if a.text().startswith("&Delete")).trigger()
    assert stored() == [0]
    menu.close()


def test_export_import_round_trip_and_a_bad_file_changes_nothing(window, qtbot, tmp_path, monkeypatch):
    for strokes, label in ((ONE, 1), (SEVEN, 7)):
        save_by_key(window, qtbot, strokes, label)
    out = tmp_path / "shared.jsonl"
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.show_my_digits()
    QTest.mouseClick(window.my_digits_view.export_button, Qt.MouseButton.LeftButton)
    assert out.exists() and "Exported 2 drawings" in window.statusBar().currentMessage()
    ids = list(window.my_digits_view.shown_ids())
    window.my_digits.delete(ids)
    assert stored() == []
    monkeypatch.setattr(app_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(out), ""))
    QTest.mouseClick(window.my_digits_view.import_button, Qt.MouseButton.LeftButton)
    assert stored() == [1, 7] and window.my_digits_view.model.rowCount() == 2
    assert window.import_my_digits(str(out)) and stored() == [1, 7]   # nothing doubled
    file = data_dir() / FILE_NAME
    before = file.read_bytes()
    lines = out.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:50] + "\n")   # one damaged record
    assert window.import_my_digits(str(bad)) is False
    assert window.last_error[0] == "Cannot import My digits" and "bad.jsonl" in window.last_error[1]
    assert file.read_bytes() == before and window.my_digits_view.model.rowCount() == 2
    assert window.export_my_digits(str(tmp_path / "no" / "such" / "folder" / "x.jsonl")) is False
    assert window.last_error[0] == "Cannot export My digits"


def test_a_damaged_record_gives_one_message_and_the_rest_is_kept(qtbot, model_path):
    from mnist_gui.imaging.strokes import Stroke

    store = MyDigits(data_dir() / FILE_NAME)
    store.load()
    rng = np.random.default_rng(0)
    for label in (2, 3, 4, 5):
        points = np.column_stack([rng.uniform(0.2, 0.8, 10), rng.uniform(0.2, 0.8, 10), np.ones(10)])
        store.add(label, [Stroke(0.06, points)], rng.integers(0, 256, (28, 28), dtype=np.uint8))
    lines = store.path.read_text().splitlines()
    record = json.loads(lines[2])
    record["image"] = "not base64!"
    lines[2] = json.dumps(record)
    lines[4] = lines[4][:30]
    store.path.write_text("\n".join(lines) + "\n")
    shown = []
    window = open_window(qtbot, model_path)
    window.error_shown.connect(lambda title, text: shown.append(title))
    qtbot.waitUntil(lambda: window.my_digits._loaded)
    assert window.last_error[0] == "Some of My digits could not be read"
    assert "line 3" in window.last_error[1] and "line 5" in window.last_error[1]
    assert "The other 2 drawings are kept" in window.last_error[1] and shown == ["Some of My digits could not be read"]
    assert [r.label for r in window.my_digits.store.records] == [2, 4]
    assert window.my_digits_view.model.rowCount() == 2


def test_learn_is_off_with_too_few_digits_and_says_why(window, qtbot):
    button = window.my_digits_view.learn_button
    assert not button.isEnabled() and "at least" in button.toolTip()
    for i in range(5):
        save_by_key(window, qtbot, (ONE, SEVEN, ZERO)[i % 3], (1, 7, 0)[i % 3])
    assert button.isEnabled() and "Fine-tune" in button.toolTip()


def test_mnemonics_stay_unique_with_my_digits_showing(window):
    import re

    from PySide6.QtWidgets import QAbstractButton, QLabel, QTabWidget

    window.show_my_digits()
    letters = [a.text() for a in window.menuBar().actions()]
    letters += [w.text() for kind in (QLabel, QAbstractButton) for w in window.findChildren(kind)
                if w.isVisibleTo(window)]
    letters += [t.tabText(i) for t in window.findChildren(QTabWidget) for i in range(t.count())]
    keys = [m.group(1).lower() for text in letters for m in [re.search(r"&([^&])", text)] if m]
    assert {"y", "k", "a", "x"} <= set(keys) and len(keys) == len(set(keys)), sorted(zip(keys, letters))


def test_learn_from_my_digits_end_to_end(window, qtbot):
    """Learn starts the fine-tune in the runner (progress and curves as for training), the new model joins the
    library and becomes current, the view and a notice give before/after figures, my_digits_learned fires."""
    shapes = ((ONE, 1), (SEVEN, 7), (ZERO, 0))
    for i in range(9):                                       # 3 of each: some can be held out
        strokes, label = shapes[i % 3]
        shifted = [[(x + 0.03 * (i // 3) - 0.03, y) for x, y in s] for s in strokes]
        save_by_key(window, qtbot, shifted, label)
    before_id = next(m["id"] for m in window.models() if m["current"])
    window.show_my_digits()
    button = window.my_digits_view.learn_button
    assert button.isEnabled()
    learned, progress = [], []
    window.my_digits_learned.connect(learned.append)
    window.runner.progress.connect(progress.append)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.runner.is_busy() and not button.isEnabled() and "Training is running" in button.toolTip()
    assert not window.panel.train_button.isEnabled() and window.view_tabs.currentWidget() is window.plots
    # waitSignal runs a real event loop, which lets the job's thread have the GIL (qtbot.waitUntil's
    # polling holds it while it sleeps, and made the fine-tune five times slower).
    with qtbot.waitSignal(window.runner.done, timeout=120_000):
        pass
    result = learned[0]
    for key in ("test_accuracy", "my_digits_accuracy", "test_accuracy_before", "my_digits_accuracy_before"):
        assert isinstance(result[key], float) and 0 <= result[key] <= 1, key
    assert result["before"] == {"test_accuracy": result["test_accuracy_before"],
                                "my_digits_accuracy": result["my_digits_accuracy_before"]}
    assert result["after"] == {"test_accuracy": result["test_accuracy"],
                               "my_digits_accuracy": result["my_digits_accuracy"]}
    assert progress and result["current"] and result["id"] != before_id
    current = next(m for m in window.models() if m["current"])
    assert current["id"] == result["id"] and window.model_source == result["name"]
    assert "Learnt from your 9 digits" in window.my_digits_view.learned.text()
    reading_done(window, qtbot)                              # the new model reads the set it learnt from
    assert window.my_digits_view.score().complete and "no fair test" in window.my_digits_view.summary.text()
    assert "MNIST test" in window.notice.text() and window.notice.action_button.isVisible()
    assert button.isEnabled()
    QTest.mouseClick(window.notice.action_button, Qt.MouseButton.LeftButton)   # back to the model it started from
    assert next(m["id"] for m in window.models() if m["current"]) == before_id


def save_some(window, qtbot, n: int = 6) -> None:
    shapes = ((ONE, 1), (SEVEN, 7), (ZERO, 0))
    for i in range(n):
        strokes, label = shapes[i % 3]
        save_by_key(window, qtbot, [[(x + 0.02 * (i // 3), y) for x, y in s] for s in strokes], label)


def test_stop_ends_a_fine_tune_and_keeps_the_current_model(window, qtbot):
    from mnist_gui.training.finetune import FineTuneConfig

    save_some(window, qtbot)
    before = window.model_source
    learned = []
    window.my_digits_learned.connect(learned.append)
    assert window.learn_my_digits(FineTuneConfig(steps=100_000, rounds=5))
    assert window.learn_my_digits() is False and window.last_error[0] == "Cannot learn from My digits"
    with qtbot.waitSignal(window.runner.progress, timeout=60_000):
        pass
    pause = window.panel.pause_button                      # Pause holds the fine-tune as it holds a training
    QTest.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Resume" and window.runner.paused
    spin(500)                                              # the step under way when Pause came ends
    held = []
    window.runner.progress.connect(held.append)
    spin(500)
    assert held == [] and window.runner.is_running()
    QTest.mouseClick(pause, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.runner.progress, timeout=60_000):   # going on again
        pass
    QTest.mouseClick(window.panel.stop_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.runner.done, timeout=60_000):
        pass
    assert learned[0]["status"] == "stopped" and learned[0]["current"] is False
    assert window.model_source == before                      # a stopped run is offered, not imposed
    assert "Use it" in window.notice.action_button.text() and "stopped" in window.notice.text()
    assert any(m["id"] == learned[0]["id"] for m in window.models())


def test_include_my_digits_in_a_training(window, qtbot, model_path):
    from test_gui import QUICK, set_fields

    check = window.panel.my_digits_check
    assert not check.isEnabled() and "at least" in check.toolTip()
    save_some(window, qtbot)
    assert check.isEnabled()
    check.setChecked(True)
    set_fields(window, **QUICK)
    assert window.panel.config().my_digits > 0
    finished = []
    window.training_finished.connect(finished.append)
    with qtbot.waitSignal(window.runner.done, timeout=120_000):
        QTest.mouseClick(window.panel.train_button, Qt.MouseButton.LeftButton)
    assert finished
    assert window.model.metadata["my_digits"]["n_digits"] == 6
    # The choice is remembered: a new window ticks it again once it knows the set is large enough.
    window.close()
    again = open_window(qtbot, model_path)
    qtbot.waitUntil(lambda: again.my_digits._loaded)
    assert again.panel.my_digits_check.isChecked() and again.panel.config().my_digits > 0


def test_f1_help_explains_my_digits(window, qtbot):
    QTest.keyClick(window, Qt.Key.Key_F1)
    page = window.show_help()
    text = page.text()
    assert "Teach it your handwriting" in text and "held out" in text
    assert "Ctrl+Shift+Z" in text and "Undo the last change to My digits" in text
    page.close()


def test_five_thousand_drawings_open_in_the_view(qtbot, model_path, capsys):
    """A large set loads, shows and is read by the current model without holding the window (numbers printed)."""
    import time

    from mnist_gui.imaging.strokes import Stroke
    from mnist_gui.state.my_digits import MyDigit, _write

    rng = np.random.default_rng(7)
    stroke = [Stroke(0.06, np.column_stack([rng.uniform(0.2, 0.8, 30), rng.uniform(0.2, 0.8, 30), np.ones(30)]))]
    images = rng.integers(0, 256, (5000, 784), dtype=np.uint8)
    path = data_dir() / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, [MyDigit.new(f"r{i}", i % 10, stroke, images[i], float(i)) for i in range(5000)])
    window = open_window(qtbot, model_path)
    window.show_my_digits()
    t = time.perf_counter()
    window.my_digits.ensure_loaded()
    loaded = time.perf_counter() - t
    QApplication.processEvents()
    shown = time.perf_counter() - t
    longest, last = 0.0, time.perf_counter()
    while not window.my_digits.reading_done():
        QApplication.processEvents()
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    read = time.perf_counter() - t
    view = window.my_digits_view
    assert view.model.rowCount() == 5000 and view.score().complete and view.score().total == 5000
    with capsys.disabled():
        print(f"\n5,000 drawings: loaded and listed in {loaded:.2f} s, first paint by {shown:.2f} s, read by the "
              f"current model by {read:.2f} s (longest turn of the event loop meanwhile {longest * 1000:.0f} ms)")
