"""The main window: a switchboard that wires the widgets of :mod:`mnist_gui.ui` to the Qt-free core.

Drawing flows canvas -> :func:`preprocess_drawing` -> model -> chart; training flows runner -> panel,
plots, chart. Which model the chart reads with is not decided here but by
:class:`~mnist_gui.state.models.ModelSlots` (the loaded model, or the network in training once its
weights arrive), through the insight views' :class:`~mnist_gui.state.inspection.Inspection` (which
may be looking at a past epoch of the run); settings are read and written through
:class:`~mnist_gui.ui.settings.Settings`. The insight views (:class:`~mnist_gui.ui.insight.InsightViews`)
are tabs beside the curves; the window tells them what happened and shows what they choose.

Automation contract: ``MainWindow(model_path=None)`` builds without an event loop; child objectNames
``drawingCanvas``, ``trainButton``, ``stopButton``, ``predictionChart``, ``lossPlot``, ``accuracyPlot``,
``confusionMatrix``, ``testGallery``, ``weightsView``, ``insideView``, ``digitMap``; signals
``prediction_changed(np.ndarray of 10)`` and ``training_finished(dict with test_accuracy)``; methods
:meth:`~MainWindow.confusion_matrix`, :meth:`~MainWindow.select_confusion_cell`, :meth:`~MainWindow.gallery_count`.
Every failure goes through :meth:`MainWindow.show_error` (non-blocking dialog, recorded in ``last_error``).
"""

from __future__ import annotations

import signal as os_signal
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from mnist_gui import __version__
from mnist_gui.digits import SIDE
from mnist_gui.errors import ModelFileError
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.jobs import KeepCopy
from mnist_gui.model import Model, load_model, save_model
from mnist_gui.resources_path import resource
from mnist_gui.state.models import ModelSlots
from mnist_gui.ui.canvas import DrawingPad
from mnist_gui.ui.insight import InsightViews
from mnist_gui.ui.plots import TrainingPlots
from mnist_gui.ui.prediction_chart import EMPTY_HINT, PredictionChart
from mnist_gui.ui.preview import PreviewBox
from mnist_gui.ui.settings import APPLICATION, ORGANIZATION, Settings
from mnist_gui.ui.training_panel import IDLE, LOADING, TrainingPanel
from mnist_gui.ui.view_tabs import ViewTabs
from mnist_gui.ui.worker import TrainingRunner

NO_MODEL_HINT = "No model yet:\npress Train,\nor File > Open model"
#: Where the window keeps the model of the last run it adopted (beside the settings file).
LAST_TRAINED = "last-trained.npz"
SHORTCUTS = [("Ctrl+O", "Open a model file"), ("Ctrl+S", "Save the model as..."), ("Ctrl+E", "Export the drawing as PNG"),
             ("Ctrl+Z", "Undo the last stroke (or a clear)"), ("Delete, or Esc on the canvas", "Clear the drawing"),
             ("Ctrl+Return", "Train"), ("Ctrl+P", "Pause / resume training"), ("Ctrl+.", "Stop training"),
             ("Ctrl+Q", "Quit"), ("F1", "This list")]
ABOUT = (f"<h3>mnist-gui {__version__}</h3><p>Train a neural network written in plain NumPy on MNIST, watch it "
         "learn, and draw digits to test it.</p><p>The MNIST database of handwritten digits is by Yann LeCun, "
         "Corinna Cortes and Christopher J.C. Burges, licensed under CC BY-SA 3.0.</p>")


class MainWindow(QMainWindow):
    prediction_changed = Signal(object)   # np.ndarray (10,) of probabilities
    training_finished = Signal(object)    # dict: TrainingFinished.metrics()
    error_shown = Signal(str, str)        # title, text

    def __init__(self, model_path: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mnist-gui: draw a digit, train a network")
        self.settings = Settings()
        self.models = ModelSlots()
        self._input: np.ndarray | None = None     # the drawing, preprocessed to 28x28
        self._dataset_path: str | None = None     # None: the bundled copy
        self._job: str | None = None              # "train" | "dataset" while the runner is busy
        self._closing = False
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self.runner = TrainingRunner(self)
        self.insight = InsightViews(self.models, self)
        self._build_ui()
        self._connect()
        self._build_menus()
        self._restore_settings()
        self._load_initial_model(model_path)

    @property
    def model(self) -> Model | None:
        """The loaded model (what Save model as writes)."""
        return self.models.loaded

    @property
    def model_source(self) -> str:
        return self.models.source

    @property
    def dataset_path(self) -> str | None:
        """The dataset training uses (None: the bundled copy)."""
        return self._dataset_path

    # -- construction -------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.pad, self.chart, self.panel, self.plots = DrawingPad(), PredictionChart(), TrainingPanel(), TrainingPlots()
        self.canvas = self.pad.canvas
        self.canvas.setObjectName("drawingCanvas")
        self.chart.setObjectName("predictionChart")
        preview_box = PreviewBox()
        self.preview = preview_box.preview
        top = QWidget()
        row = QHBoxLayout(top)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pad, 5)
        row.addWidget(preview_box)
        row.addWidget(self.chart, 6)
        # Side and views are tab widgets: the side holds the training panel (and more panels as the app
        # grows), the views area the training curves and the insight views, with the time-travel slider
        # in the corner of its tab bar; a lone tab shows no tab bar.
        self.side_tabs, self.view_tabs = QTabWidget(), ViewTabs()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.setTabBarAutoHide(True)
        self.side_tabs.addTab(self.panel, "Train")
        insight = self.insight
        for widget, title in ((self.plots, "Curves"), (insight.confusion, "Confusion matrix"),
                              (insight.gallery, "Gallery"), (insight.weights, "Weights"), (insight.inside, "Inside"),
                              (insight.map, "Map of digits")):
            self.view_tabs.addTab(widget, title)
        self.view_tabs.setCornerWidget(insight.time_travel, Qt.Corner.TopRightCorner)
        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(top)
        self.right_splitter.addWidget(self.view_tabs)
        self.right_splitter.setSizes([420, 340])
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.side_tabs)
        self.main_splitter.setCollapsible(0, False)
        self.main_splitter.addWidget(self.right_splitter)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([300, 980])
        central = QWidget()
        QVBoxLayout(central).addWidget(self.main_splitter)
        central.layout().setContentsMargins(6, 4, 6, 0)
        self.setCentralWidget(central)
        self.model_label, self.dataset_label = QLabel(), QLabel()
        self.statusBar().addPermanentWidget(self.model_label, 1)
        self.statusBar().addPermanentWidget(self.dataset_label)

    def _connect(self) -> None:
        runner, panel, plots = self.runner, self.panel, self.plots
        for source, slot in ((self.canvas.changed, self._on_drawing_changed),
                             (panel.train_requested, self.start_training), (panel.pause_requested, runner.pause),
                             (panel.resume_requested, runner.resume), (panel.stop_requested, runner.stop),
                             (runner.dataset_ready, self._on_dataset_ready),
                             (runner.training_started, panel.show_started),
                             (runner.training_started, self._on_training_started),
                             (runner.progress, panel.show_progress), (runner.progress, plots.add_progress),
                             (runner.snapshot, self._on_snapshot), (runner.epoch_finished, plots.add_epoch),
                             (runner.finished, self._on_training_finished), (runner.failed, self._on_job_failed),
                             (runner.done, self._on_job_done)):
            source.connect(slot)
        insight = self.insight
        for source, slot in ((runner.training_started, insight.run_started), (runner.epoch_snapshot, insight.epoch_ended),
                             (insight.image_chosen, self.show_test_image), (insight.epoch_changed, self._on_epoch_changed),
                             (insight.preview_overlay, self.preview.set_overlay), (insight.reveal, self.view_tabs.reveal)):
            source.connect(slot)

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None):
            act = menu.addAction(text)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            return act

        # Entries that need a file ask for it, then call the same (scriptable, tested) method a script would.
        dialog, models = QFileDialog, "Model files (*.npz);;All files (*)"
        menu = self.menuBar().addMenu("&File")
        self.open_action = action(menu, "&Open model…", lambda: self._ask(
            dialog.getOpenFileName, "Open model", "", models, self.open_model), QKeySequence.StandardKey.Open)
        self.save_action = action(menu, "&Save model as…", lambda: self._ask(
            dialog.getSaveFileName, "Save model as", "model.npz", models, self.save_model_as), "Ctrl+S")
        menu.addSeparator()
        self.dataset_actions = [action(menu, "Use &dataset folder…", lambda: self._ask(
            dialog.getExistingDirectory, "Folder with the MNIST IDX (or CSV) files", "", None, self.set_dataset_path)),
            action(menu, "Use the &bundled MNIST", lambda: self.set_dataset_path(None))]
        action(menu, "&Export drawing as PNG…", lambda: self._ask(
            dialog.getSaveFileName, "Export drawing", "digit.png", "PNG images (*.png)", self.export_drawing), "Ctrl+E")
        menu.addSeparator()
        action(menu, "&Quit", self.close, "Ctrl+Q")
        menu = self.menuBar().addMenu("&Edit")
        action(menu, "&Undo last stroke", self.canvas.undo, QKeySequence.StandardKey.Undo)
        # Delete is window-wide (a focused text field keeps it for itself); Esc is the canvas's own key.
        action(menu, "&Clear drawing", self.canvas.clear, "Delete")
        action(menu, "&Train", self.panel.request_train, "Ctrl+Return")
        # Each does nothing when its button is off, so these are safe whatever the training state.
        self.pause_action = action(menu, "&Pause / resume training", self.panel.toggle_pause, "Ctrl+P")
        self.stop_action = action(menu, "&Stop training", self.panel.request_stop, "Ctrl+.")
        menu = self.menuBar().addMenu("&Help")
        action(menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        action(menu, "&About mnist-gui", lambda: self._message(QMessageBox.Icon.Information, "About mnist-gui", ABOUT))

    def _ask(self, dialog, title: str, default: str, filters: str | None, then) -> None:
        answer = dialog(self, title, default, filters) if filters else dialog(self, title, default)
        if path := (answer[0] if isinstance(answer, tuple) else answer):
            then(path)

    # -- models -----------------------------------------------------------------------------------
    def _load_initial_model(self, model_path: str | None) -> None:
        """The given file; else the last model used; else the shipped one; else none (the hint says so)."""
        if model_path and self.open_model(model_path):
            return
        for candidate in (self.settings.last_model, resource("pretrained.npz")):
            if candidate and Path(str(candidate)).is_file():
                try:
                    return self.set_model(load_model(candidate), Path(str(candidate)).name)
                except ModelFileError as exc:
                    self.statusBar().showMessage(f"could not reopen {candidate}: {exc}", 10000)
        self.set_model(None, "")

    def set_model(self, model: Model | None, source: str) -> None:
        self.models.load(model, source)
        self.insight.model_loaded(model)
        self._show_loaded_model()
        self._predict()

    def _show_loaded_model(self) -> None:
        model, source = self.models.loaded, self.models.source
        acc = None if model is None else model.test_accuracy
        self.model_label.setText("No model loaded: press Train or open a model file" if model is None else
                                 f"Model: {source} · {model.describe()} · test accuracy "
                                 + (f"{acc:.2%}" if acc is not None else "unknown"))
        self.save_action.setEnabled(model is not None)
        self.chart.set_hint(EMPTY_HINT if model is not None else NO_MODEL_HINT)

    def open_model(self, path: str) -> bool:
        try:
            model = load_model(path)
        except ModelFileError as exc:
            self.show_error("Cannot open model", f"{exc}\n\nThe previous model stays loaded.")
            return False
        self.set_model(model, Path(path).name)
        self.settings.last_model = str(Path(path).resolve())
        return True

    def save_model_as(self, path: str) -> bool:
        if self.model is None:
            self.show_error("Nothing to save", "No model is loaded yet: train one first.")
            return False
        try:
            save_model(self.model, path)   # atomic: an interrupted save leaves the old file
        except ModelFileError as exc:
            self.show_error("Cannot save model", str(exc))
            return False
        self.set_model(self.model, Path(path).name)
        self.settings.last_model = str(Path(path).resolve())
        self.statusBar().showMessage(f"saved {path}", 5000)
        return True

    def export_drawing(self, path: str) -> bool:
        if not self.canvas.image().save(path, "PNG"):
            self.show_error("Cannot export drawing", f"{path}: could not write the PNG file.")
            return False
        return True

    # -- drawing -> prediction --------------------------------------------------------------------
    def _on_drawing_changed(self) -> None:
        self._show_input(preprocess_drawing(self.canvas.ink_array()))

    def _show_input(self, image: np.ndarray | None) -> None:
        self._input = image
        self.preview.set_image(image)
        self._predict()
        self.insight.drawing_changed(image)

    def show_test_image(self, pixels: np.ndarray, description: str = "") -> None:
        """Put a 28x28 image (a gallery tile) into the preview and the chart as if it had been drawn; the
        canvas shows it too, and strokes drawn next go on top of it."""
        self.canvas.show_picture(pixels)
        self._show_input(np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE))
        if description:
            self.statusBar().showMessage(f"{description}: draw on the canvas to change it", 8000)

    def _predict(self, settled_ok: bool = False) -> None:
        # The bars come from the model the views look at: the displayed one, or an epoch travelled to.
        probs = self.chart.show_prediction(self.insight.inspection.model(), self._input, settled_ok)
        if probs is not None:
            self.prediction_changed.emit(probs)

    def _on_epoch_changed(self, epoch: int | None) -> None:
        history = self.insight.inspection.history
        self.chart.setTitle("Prediction" if epoch is None or history is None
                            else f"Prediction at epoch {epoch} of {history.planned}")
        self._predict()

    # -- the insight views' automation contract ------------------------------------------------------
    def confusion_matrix(self) -> np.ndarray | None:
        """The 10x10 counts (rows true digit, columns predicted) the confusion matrix shows, as int64;
        None until the evaluation has arrived (asking starts it, in the background, even while the
        view is hidden). For a loaded model it is the test set's, as ``mnist-gui evaluate`` prints."""
        return self.insight.confusion_matrix()

    def select_confusion_cell(self, true_digit: int, predicted_digit: int) -> None:
        """Filter the gallery to one cell of the confusion matrix (as a click on it does)."""
        self.insight.show_cell(int(true_digit), int(predicted_digit))

    def gallery_count(self) -> int:
        """How many images the gallery shows (0 until its evaluation has arrived)."""
        return self.insight.gallery.count()

    # -- training (and dataset checks) in the runner's thread -----------------------------------------
    def start_training(self, config) -> bool:
        if self.runner.is_busy() or self._closing:
            return False
        self._save_settings()
        self.plots.reset(config.epochs)
        self.panel.set_state(LOADING)
        self._set_job("train")
        keep_copy = KeepCopy(str(self.settings.folder / LAST_TRAINED), self.model is not None)
        self.runner.train(config, self._dataset_path, keep_copy, data=self.insight.data())
        return True

    def set_dataset_path(self, path: str | None) -> None:
        """Use another dataset (None: the bundled copy); it is loaded and checked in the background."""
        if self.runner.is_busy():
            return self.show_error("Busy", "Wait for training to end before changing the dataset.")
        self._set_job("dataset")
        self.runner.check_dataset(path)

    def _set_job(self, job: str | None) -> None:
        self._job = job
        for act in self.dataset_actions:
            act.setEnabled(job is None)

    def _on_dataset_ready(self, loaded) -> None:
        self._dataset_path, data = loaded.path, loaded.data
        self.insight.set_dataset_path(loaded.path)
        self.insight.dataset_loaded(loaded)
        self.dataset_label.setText(f"Dataset: {data.source} ({len(data.train_images):,} train / "
                                   f"{len(data.test_images):,} test images)")
        self.settings.dataset_path = loaded.path

    def _on_training_started(self, info) -> None:
        self.models.start_training(info.model)

    def _on_snapshot(self, snapshot) -> None:
        if not self._closing and self.models.apply_weights(snapshot.weights) is not None:
            self._predict(settled_ok=True)   # watch it learn
            self.insight.weights_changed(snapshot.weights)

    def _on_training_finished(self, outcome) -> None:
        r = outcome.result
        kept = self.models.finish_training(r, outcome.model)
        self.insight.run_finished(outcome)
        if r.status != "diverged":
            self.plots.mark_test(r.test_accuracy)
        self._show_loaded_model()
        self._predict()
        if r.status == "diverged":
            self.show_error("Training diverged", f"{r.reason}.\n\nThe previous model stays loaded.")
        elif not kept:
            self.statusBar().showMessage("stopped before the first epoch ended: the previous model stays loaded", 10000)
        elif outcome.autosaved:   # the job kept a copy (quitting without saving loses nothing); remember where
            self.settings.last_model = outcome.autosaved
        elif outcome.autosave_error:
            self.statusBar().showMessage(f"could not keep a copy of the trained model: {outcome.autosave_error}",
                                         10000)
        self.panel.show_finished(r)
        self.training_finished.emit(r.metrics())

    def _on_job_failed(self, error) -> None:
        if self._job == "dataset":
            using = "the bundled MNIST" if self._dataset_path is None else self._dataset_path
            return self.show_error("Dataset not usable", f"{error}\n\nStill using {using}.")
        self.models.end_training()
        self.insight.run_ended()
        self._predict()
        self.panel.show_failed(str(error))
        self.show_error("Training could not run", f"{error}\n\nThe previous model stays loaded.")

    def _on_job_done(self) -> None:
        self._set_job(None)
        self.models.end_training()
        self.insight.run_ended()
        self.panel.set_state(IDLE)

    # -- errors and dialogs ----------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """Report a failure: status bar, ``last_error``, ``error_shown``, and a non-blocking dialog."""
        self.last_error = (title, text)
        self.statusBar().showMessage(f"{title}: {text.splitlines()[0]}", 15000)
        self.error_shown.emit(title, text)
        if self._closing:
            return
        if self._error_box is None:   # one box, reused: errors never pile up as stacked dialogs
            self._error_box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        self._error_box.setWindowTitle(title)
        self._error_box.setText(text)
        self._error_box.open()   # window-modal but non-blocking: no nested event loop

    def _message(self, icon, title: str, text: str) -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def show_shortcuts(self) -> QMessageBox:
        rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        return self._message(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table>{rows}</table>")

    # -- settings and shutdown --------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        if not (s.geometry is not None and self.restoreGeometry(s.geometry)):
            self.resize(1280, 800)
        for state, splitter in ((s.main_splitter, self.main_splitter), (s.right_splitter, self.right_splitter)):
            if state is not None:
                splitter.restoreState(state)
        self.panel.restore(s.training_fields)
        if s.pen_width is not None:
            self.pad.set_pen_width(s.pen_width)
        self._dataset_path = s.dataset_path
        self.insight.set_dataset_path(s.dataset_path)
        self.dataset_label.setText(f"Dataset: {self._dataset_path or 'bundled MNIST'} (loaded when you train)")

    def _save_settings(self) -> None:
        s = self.settings
        s.geometry = self.saveGeometry()
        s.main_splitter = self.main_splitter.saveState()
        s.right_splitter = self.right_splitter.saveState()
        s.training_fields = self.panel.state_dict()
        s.pen_width = self.pad.pen_width()

    def shutdown(self) -> None:
        """Save the settings, stop any training and join its thread (idempotent)."""
        if not self._closing:
            self._closing = True
            self._save_settings()
            self.view_tabs.close_windows()
        self.runner.shutdown()
        self.insight.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)


def run_app(model_path: str | None = None, argv: list[str] | None = None) -> int:
    """Create the application, show the window, run the event loop; returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else [])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(model_path=model_path)
    app.aboutToQuit.connect(window.shutdown)
    # Ctrl-C in the terminal closes the window like Quit; the timer lets Python run to see the signal.
    interrupted = []
    previous = os_signal.signal(os_signal.SIGINT, lambda *_: (interrupted.append(True), window.close()))
    ticker = QTimer(timeout=lambda: None, interval=200)
    ticker.start()
    window.show()
    try:
        code = app.exec()
    finally:
        os_signal.signal(os_signal.SIGINT, previous)
    return 130 if interrupted else code
