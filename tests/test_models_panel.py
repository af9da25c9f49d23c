"""The Models panel and the library in the window, driven as a person would: each problem of issue 12
(which model is this?) checked gone, and every panel action: choose, sort, rename, delete and undo,
reveal, save as, open, compare, continue training, export."""

from __future__ import annotations

import csv
import json
import os
import shutil
import xml.dom.minidom
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget

import mnist_gui.ui.app as app_module
import mnist_gui.ui.models_controller as controller_module
from mnist_gui.model import load_model, save_model
from mnist_gui.state.library import RunLibrary
from mnist_gui.ui.models_panel import COMPARE, DATE, NAME, TEST
from mnist_gui.ui.settings import Settings
from test_gui import LONG, ONE, QUICK, SEVEN, draw, model_path, open_window, set_fields, settle  # noqa: F401


@pytest.fixture
def window(qtbot, model_path):  # noqa: F811
    return open_window(qtbot, model_path)


def by_name(window, name: str) -> dict:
    return next(m for m in window.models() if m["name"] == name)


def current(window) -> dict:
    [entry] = [m for m in window.models() if m["current"]]
    return entry


def train_once(window, qtbot, **fields) -> dict:
    set_fields(window, **{**QUICK, **fields})
    with qtbot.waitSignal(window.training_finished, timeout=30000) as finished:
        window.panel.train_button.click()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    return finished.args[0]


def cell_center(window, run_id: str, column: int) -> QPoint:
    panel = window.models_panel
    row = panel.row_ids().index(run_id)
    return panel.table.visualRect(panel.proxy.index(row, column)).center()


def click_cell(window, run_id: str, column: int = NAME) -> None:
    window.side_tabs.setCurrentWidget(window.models_panel)
    QTest.mouseClick(window.models_panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cell_center(window, run_id, column))


# -- the data folder -----------------------------------------------------------------------------
def test_the_qt_free_data_folder_is_the_one_qt_would_choose(qapp, monkeypatch, tmp_path):
    from PySide6.QtCore import QStandardPaths

    from mnist_gui.state.datadir import APPLICATION, ORGANIZATION, data_dir

    monkeypatch.delenv("MNIST_GUI_DATA_DIR")
    old = qapp.organizationName(), qapp.applicationName()
    qapp.setOrganizationName(ORGANIZATION)
    qapp.setApplicationName(APPLICATION)
    try:
        for xdg in (None, str(tmp_path / "xdg"), "relative/folder"):
            if xdg is None:
                monkeypatch.delenv("XDG_DATA_HOME", raising=False)
            else:
                monkeypatch.setenv("XDG_DATA_HOME", xdg)
            qt = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            assert Path(qt) == data_dir(), xdg
    finally:
        qapp.setOrganizationName(old[0])
        qapp.setApplicationName(old[1])


# -- the problems of the issue, gone --------------------------------------------------------------------
def test_training_never_loses_the_shipped_model(qtbot, tmp_path):
    window = open_window(qtbot)                     # no model given: the shipped one
    assert current(window)["id"] == "shipped" and window.chart.source() == "current: Shipped model"
    metrics = train_once(window, qtbot)
    run = current(window)
    assert run["id"] != "shipped" and run["test_accuracy"] == metrics["test_accuracy"]
    shipped = by_name(window, "Shipped model")
    assert shipped["test_accuracy"] == pytest.approx(0.9934) and shipped["readonly"]
    click_cell(window, "shipped")                    # one click brings it back
    assert current(window)["id"] == "shipped" and window.model.test_accuracy == pytest.approx(0.9934)
    window.close()
    again = open_window(qtbot)                       # and it is what the next start opens
    assert current(again)["id"] == "shipped" and again.model_source == "Shipped model"


def test_a_model_opened_during_training_stays_current(window, qtbot, tmp_path, model_path):  # noqa: F811
    other = tmp_path / "other.npz"
    save_model(load_model(model_path), other)
    draw(window, SEVEN)
    settle(qtbot)
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.chart.source().startswith("in training: epoch"), timeout=20000)
    assert window.open_model(str(other))             # File > Open, while it trains
    chosen = current(window)
    assert window.chart.source() == f"current: {chosen['name']}"
    assert window.models_panel.follow_button.isVisibleTo(window.models_panel)
    with qtbot.waitSignal(window.training_finished, timeout=60000) as finished:
        pass
    assert finished.args[0]["status"] == "completed"
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    assert current(window)["id"] == chosen["id"] and window.model_source == chosen["name"]
    run = next(m for m in window.models() if m["status"] == "completed" and m["origin"] == "trained")
    assert "you chose" in window.notice.text() and run["name"] in window.notice.text()
    assert window.plots.title() == f"Curves of {chosen['name']}"      # still what the user chose to look at


def test_the_chart_always_says_which_model_speaks(window, qtbot):
    draw(window, ONE)
    settle(qtbot)
    assert window.chart.source() == "current: trained"
    set_fields(window, **LONG)
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.plots.point_counts()["val_accuracy"] >= 1, timeout=30000)
    qtbot.waitUntil(lambda: "% val" in window.chart.source(), timeout=5000)
    source = window.chart.source()
    assert source.startswith("in training: epoch 2/3, ") and source.endswith("% val"), source
    assert window.plots.title() == "Live: training a custom network"
    window.set_current_model("shipped")              # the user looks at another model meanwhile
    assert window.chart.source() == "current: Shipped model" and window.plots.title() == "Curves of Shipped model"
    np.testing.assert_allclose(window.chart.probabilities(), window.model.predict_proba_one(window.input_image()),
                               atol=1e-6)
    qtbot.mouseClick(window.models_panel.follow_button, Qt.MouseButton.LeftButton)   # and back to the run
    assert window.chart.source().startswith("in training: epoch") and window.plots.showing_live
    with qtbot.waitSignal(window.training_finished, timeout=10000):
        window.panel.stop_button.click()


def test_the_curves_belong_to_the_model(window, qtbot):
    train_once(window, qtbot)
    run = current(window)
    plots = window.plots
    assert plots.point_counts()["test"] == 1 and f"{run['test_accuracy'] * 100:.2f}" in plots.test_label.text
    window.set_current_model("shipped")              # the previous run's star does not stay
    assert plots.title() == "Curves of Shipped model" and plots.point_counts()["test"] == 1
    assert "99.34" in plots.test_label.text and plots.point_counts()["train_loss"] == 30
    window.set_current_model(run["id"])
    counts = plots.point_counts()
    window.close()
    again = open_window(qtbot)                       # after a restart the curves come back
    assert again.plots.title() == f"Curves of {run['name']}" and again.plots.point_counts() == counts
    assert counts["batch"] > 0 and counts["train_loss"] == 1


# -- the panel ---------------------------------------------------------------------------------
def test_selecting_sorting_and_the_current_row(window, qtbot, tmp_path):
    library = window.library
    for acc in (0.5, 0.7):
        model = load_model(window.library.get(current(window)["id"]).model_path)
        model.metadata["test_accuracy"] = acc
        save_model(model, tmp_path / f"m{acc}.npz")
        library.import_model(tmp_path / f"m{acc}.npz")
    window.library_ui.refresh()
    panel = window.models_panel
    header = panel.table.horizontalHeader()
    window.side_tabs.setCurrentWidget(panel)
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(header.sectionViewportPosition(TEST) + 5, header.height() // 2))
    accuracies = [by_id["test_accuracy"] for i in panel.row_ids() for by_id in window.models() if by_id["id"] == i]
    assert accuracies in (sorted(accuracies), sorted(accuracies, reverse=True)) and len(accuracies) == 4
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(header.sectionViewportPosition(TEST) + 5, header.height() // 2))
    assert [m["test_accuracy"] for i in panel.row_ids() for m in window.models() if m["id"] == i] == \
        list(reversed(accuracies))
    panel.sort_by(DATE)
    assert panel.row_ids()[-1] == "shipped"          # newest first; the shipped model has no date
    m05 = by_name(window, "m0.5")
    click_cell(window, m05["id"], TEST)
    assert current(window)["id"] == m05["id"] and window.model.test_accuracy == 0.5
    row = panel.row_ids().index(m05["id"])
    assert panel.proxy.index(row, NAME).data(Qt.ItemDataRole.FontRole).bold()
    assert window.model_label.text().startswith("Model: m0.5")


def test_rename_in_place(window, qtbot):
    run_id = current(window)["id"]
    window.side_tabs.setCurrentWidget(window.models_panel)
    window.activateWindow()
    viewport = window.models_panel.table.viewport()
    where = cell_center(window, run_id, NAME)
    # A double-click as the system delivers it: press and release, then the double-click event.
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    editor = QApplication.focusWidget()
    assert editor is not None and editor.metaObject().className() == "QExpandingLineEdit"
    editor.selectAll()
    QTest.keyClicks(editor, "my first model")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: current(window)["name"] == "my first model", timeout=2000)
    record = RunLibrary(window.library.folder).get(run_id)
    assert record.name == "my first model" and window.model_label.text().startswith("Model: my first model")
    assert window.chart.source() == "current: my first model"
    # The shipped model cannot be renamed: its name is not editable.
    row = window.models_panel.row_ids().index("shipped")
    assert not window.models_panel.proxy.index(row, NAME).flags() & Qt.ItemFlag.ItemIsEditable


def test_delete_with_undo(window, qtbot):
    run = current(window)
    panel = window.models_panel
    click_cell(window, run["id"])
    panel.table.setFocus()
    QTest.keyClick(panel.table, Qt.Key.Key_Delete)          # the table's own Delete key (the canvas keeps its own)
    assert run["id"] not in [m["id"] for m in window.models()] and current(window)["id"] == "shipped"
    assert not Path(run["folder"]).exists() and panel.undo_button.isEnabled()
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    assert current(window)["id"] == run["id"] and Path(run["folder"]).is_dir() and not panel.undo_button.isEnabled()
    click_cell(window, "shipped")
    assert not panel.delete_button.isEnabled()               # the shipped model cannot be deleted
    click_cell(window, run["id"], COMPARE)                   # tick it: Delete acts on the ticked runs
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert [m["id"] for m in window.models()] == ["shipped"]
    trash = list(window.library.trash_dir.iterdir())
    window.close()                                           # no undo after the window: the trash is emptied
    assert trash and not any(p.exists() for p in trash)


def test_reveal_save_as_and_open(window, qtbot, tmp_path, monkeypatch, model_path):  # noqa: F811
    opened = []
    monkeypatch.setattr(controller_module.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    panel = window.models_panel
    run = current(window)
    click_cell(window, run["id"])
    qtbot.mouseClick(panel.reveal_button, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [run["folder"]]
    target = tmp_path / "copy.npz"
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.save_action.trigger()
    x = np.random.default_rng(0).integers(0, 256, (3, 784), dtype=np.uint8)
    np.testing.assert_allclose(load_model(target).predict_proba(x), window.model.predict_proba(x), atol=1e-6)
    # Open (import): a new file joins the library and becomes current; the same file again does not duplicate.
    other = tmp_path / "from a friend.npz"
    friend = load_model(model_path)
    friend.metadata["test_accuracy"] = 0.42
    save_model(friend, other)
    monkeypatch.setattr(app_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(other), ""))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert current(window)["name"] == "from a friend" and window.model.test_accuracy == 0.42
    n = len(window.models())
    window.open_action.trigger()
    assert len(window.models()) == n and "already in the library" in window.statusBar().currentMessage()


def test_tick_runs_to_overlay_and_compare_them(window, qtbot):
    first = current(window)
    window.panel.optimizer_combo.setCurrentText("sgd")
    second = train_once(window, qtbot, lr="0.01") and current(window)
    panel = window.models_panel
    for run_id in (first["id"], second["id"], "shipped"):
        click_cell(window, run_id, COMPARE)
    assert current(window)["id"] == second["id"]             # ticking does not change the current model
    assert window.plots.overlaid_names() == [first["name"], second["name"], "Shipped model"]
    legend = [label.text for _, label in window.plots.accuracy_plot.getPlotItem().legend.items]
    assert any(first["name"] in t for t in legend) and any("Shipped model" in t for t in legend)
    assert window.plots.title().startswith("Comparing 3 runs")
    assert not panel.predictions_button.isEnabled()          # predictions: exactly two
    qtbot.mouseClick(panel.configs_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(QWidget, "configComparison")
    assert dialog.isVisible() and {"lr", "optimizer"} <= set(dialog.differing_labels())
    assert "hidden" in dialog.differing_labels()              # the shipped model is 1024-1024
    click_cell(window, "shipped", COMPARE)                    # untick: two left
    assert window.plots.overlaid_names() == [first["name"], second["name"]]
    draw(window, ONE)
    settle(qtbot)
    qtbot.mouseClick(panel.predictions_button, Qt.MouseButton.LeftButton)
    compare = window.findChild(QWidget, "predictionComparison")
    models = [window.library.load_model(first["id"]), window.library.load_model(second["id"])]
    for probs, model in zip(compare.probabilities(), models):
        np.testing.assert_allclose(probs, model.predict_proba_one(window.input_image()), atol=1e-6)
    assert [c.source() for c in compare.charts] == [first["name"], second["name"]]
    before = compare.probabilities()
    draw(window, SEVEN)                                       # it follows the drawing
    settle(qtbot)
    assert not np.allclose(compare.probabilities()[0], before[0])
    click_cell(window, first["id"], COMPARE)
    assert not window.plots.overlaid_names() and window.plots.title() == f"Curves of {second['name']}"


def test_continue_training_goes_on_from_the_curves(window, qtbot):
    train_once(window, qtbot)
    parent = current(window)
    parent_counts = window.plots.point_counts()
    panel = window.models_panel
    panel.epochs_spin.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=60000) as finished:
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.runner.is_busy(), timeout=2000)
        assert not panel.continue_button.isEnabled()
        assert window.plots.title() == f"Live: continuing {parent['name']}"
    assert finished.args[0]["epochs"] == 2
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    child = current(window)
    assert child["parent"] == parent["id"] and child["epochs"] == 3 and child["origin"] == "continued"
    counts = window.plots.point_counts()
    assert counts["train_loss"] == parent_counts["train_loss"] + 2 and counts["test"] == 2
    x, _ = window.plots.train_loss_curve.getData()
    assert list(x) == [1.0, 2.0, 3.0]
    assert window.plots.loss_plot.getPlotItem().viewRange()[0][1] >= 3.0


def test_export_plots_and_metrics(window, qtbot, tmp_path, monkeypatch):
    train_once(window, qtbot)
    answers = []
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (answers.pop(0), ""))
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    export_menu = next(a.menu() for a in file_menu.actions() if a.text() == "E&xport")
    actions = {a.text(): a for a in export_menu.actions() if a.text()}
    for label, name in (("Loss plot as PNG…", "loss.png"), ("Accuracy plot as SVG…", "accuracy.svg"),
                        ("Loss data as CSV…", "loss.csv"), ("Run &metrics as JSON or CSV…", "m.json")):
        answers.append(str(tmp_path / name))
        actions[label].trigger()
    image = QImage(str(tmp_path / "loss.png"))
    assert not image.isNull() and image.width() >= window.plots.loss_plot.width()
    svg = xml.dom.minidom.parse(str(tmp_path / "accuracy.svg"))
    assert svg.documentElement.tagName == "svg" and svg.getElementsByTagName("path")
    rows = list(csv.DictReader(open(tmp_path / "loss.csv")))
    assert {r["series"] for r in rows} == {"batch loss (smoothed)", "train loss", "validation loss"}
    assert [float(r["epoch"]) for r in rows if r["series"] == "train loss"] == [1.0]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics[0]["id"] == current(window)["id"] and metrics[0]["metrics"]["test_accuracy"] > 0.5
    answers.append(str(tmp_path / "m.csv"))
    qtbot.mouseClick(window.models_panel.export_button, Qt.MouseButton.LeftButton)
    assert "metric" in (tmp_path / "m.csv").read_text().splitlines()[0]
    # Each plot's context menu (a right-click) offers the same.
    viewport = window.plots.accuracy_plot.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(40, 40),
                                                       viewport.mapToGlobal(QPoint(40, 40))))
    menu = next(m for m in window.plots.findChildren(QMenu) if m.isVisible())
    assert [a.text() for a in menu.actions()] == ["Export accuracy plot as PNG…", "Export accuracy plot as SVG…",
                                                  "Export accuracy data as CSV…"]
    answers.append(str(tmp_path / "acc.csv"))
    menu.actions()[2].trigger()
    assert (tmp_path / "acc.csv").read_text().startswith("series,epoch,accuracy_percent")
    menu.close()


def test_stopped_and_diverged_runs_join_the_library_without_replacing_the_model(window, qtbot):
    old = current(window)
    metrics = train_once(window, qtbot, lr="10")
    assert metrics["status"] == "diverged" and window.last_error[0] == "Training diverged"
    diverged = next(m for m in window.models() if m["status"] == "diverged")
    assert current(window)["id"] == old["id"] and "diverged" in window.notice.text()
    qtbot.mouseClick(window.notice.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.notice.text() and not by_name(window, diverged["name"])["current"]


def test_a_damaged_record_shows_a_warning_and_costs_only_itself(qtbot, model_path):  # noqa: F811
    library = RunLibrary(os.environ["MNIST_GUI_DATA_DIR"])
    good, _ = library.import_model(model_path, "good")
    copy = library.runs_dir / "20200101-000000-abcdef"
    shutil.copytree(good.folder, copy)
    (copy / "record.json").write_text('{"format": 1, "id": "20200101-000000-abcdef", "na')   # cut short
    window = open_window(qtbot)
    assert [m["name"] for m in window.models()] == ["Shipped model", "good"]
    assert "damaged run record" in window.statusBar().currentMessage()
    window.set_current_model("shipped")
    window.library_ui.refresh()
    window.set_current_model(good.id)
    # Shown once, however often the library is listed again.
    assert [w for w in window.library_ui.warnings if "20200101-000000-abcdef" in w] == window.library_ui.warnings
    assert len(window.library_ui.warnings) == 1


def test_the_window_follows_a_current_model_chosen_elsewhere(window, qtbot):
    seen = []
    window.current_model_changed.connect(seen.append)
    other = RunLibrary(window.library.folder)                 # the command line, say
    other.set_current("shipped")
    window.library_ui.refresh()                               # what coming back to the window does
    assert current(window)["id"] == "shipped" and "changed elsewhere" in window.statusBar().currentMessage()
    assert seen and seen[-1]["id"] == "shipped" and seen[-1]["current"] and seen[-1]["name"] == "Shipped model"


def test_the_old_remembered_model_is_brought_into_the_library_once(qtbot, tmp_path, model_path):  # noqa: F811
    kept = tmp_path / "last-trained.npz"
    save_model(load_model(model_path), kept)
    Settings().last_model = str(kept)
    window = open_window(qtbot)
    assert current(window)["name"] == "last trained (kept before the library)"
    assert Settings().last_model is None
    window.close()
    again = open_window(qtbot)
    assert len(again.models()) == 2 and current(again)["name"] == "last trained (kept before the library)"


def test_a_finished_run_is_inserted_not_the_table_rebuilt(window, qtbot):
    # Rebuilding the table (a model reset) lays out every row again: 80 ms of the GUI thread for 500 runs.
    panel = window.models_panel
    resets, inserted = [], []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    before = panel.row_ids()
    train_once(window, qtbot)
    run = current(window)
    assert resets == [] and inserted == [(len(before), len(before))]
    assert panel.row_ids()[0] == run["id"] and set(panel.row_ids()) == set(before) | {run["id"]}   # newest first
    assert panel.selected_id() == run["id"]
