"""The main window: a switchboard that wires the widgets of :mod:`mnist_gui.ui` to the Qt-free core.

Drawing flows canvas -> :func:`preprocess_drawing` -> model -> chart; training flows runner -> panel,
plots, chart. Which model the chart reads with is not decided here but by
:class:`~mnist_gui.state.models.ModelSlots` (the loaded model, or the network in training once its
weights arrive); settings are read and written through :class:`~mnist_gui.ui.settings.Settings`.

Automation contract: ``MainWindow(model_path=None)`` builds without an event loop; child objectNames
``drawingCanvas``, ``trainButton``, ``stopButton``, ``predictionChart``, ``lossPlot``, ``accuracyPlot``;
signals ``prediction_changed(np.ndarray of 10)`` and ``training_finished(dict with test_accuracy)``.
Every failure goes through :meth:`MainWindow.show_error` (non-blocking dialog, recorded in ``last_error``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from mnist_gui import __version__
from mnist_gui.atomic import atomic_write
from mnist_gui.errors import ModelFileError, display_name
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.jobs import KeepCopy
from mnist_gui.model import Model, load_model, save_model
from mnist_gui.resources_path import resource
from mnist_gui.state.models import ModelSlots
from mnist_gui.ui.canvas import DrawingPad
from mnist_gui.ui.model_loader import ModelLoader
from mnist_gui.ui.plots import TrainingPlots
from mnist_gui.ui.prediction_chart import EMPTY_HINT, PredictionChart
from mnist_gui.ui.preview import PreviewBox
from mnist_gui.ui.settings import APPLICATION, ORGANIZATION, Settings
from mnist_gui.ui.signals import closing_on_signals
from mnist_gui.ui.training_panel import IDLE, LOADING, TrainingPanel
from mnist_gui.ui.unsaved_model import UnsavedModel
from mnist_gui.ui.worker import TrainingRunner

NO_MODEL_HINT = "No model yet:\npress Train,\nor File > Open model"
LOADING_HINT = "Loading the model…"
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
        self._run_reported = False                # the current training job has started or failed
        self._closing = False
        self.unsaved = UnsavedModel(self, self._ask_save_as)   # a trained model saved nowhere
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self.runner = TrainingRunner(self)
        self.model_loader = ModelLoader(self)
        self._loading: tuple[str, str] | None = None   # (why, path) of the model file being loaded
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
        # grows), the views area the training curves (and more views); a lone tab shows no tab bar.
        self.side_tabs, self.view_tabs = QTabWidget(), QTabWidget()
        for tabs, widget, title in ((self.side_tabs, self.panel, "Train"), (self.view_tabs, self.plots, "Curves")):
            tabs.setDocumentMode(True)
            tabs.setTabBarAutoHide(True)
            tabs.addTab(widget, title)
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
                             (runner.done, self._on_job_done), (self.model_loader.loaded, self._on_model_loaded),
                             (self.model_loader.failed, self._on_model_load_failed)):
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
            dialog.getOpenFileName, "Open model", "", models, self.open_model_in_background),
            QKeySequence.StandardKey.Open)
        self.save_action = action(menu, "&Save model as…", self._ask_save_as, "Ctrl+S")
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

    def _ask(self, dialog, title: str, default: str, filters: str | None, then):
        answer = dialog(self, title, default, filters) if filters else dialog(self, title, default)
        if path := (answer[0] if isinstance(answer, tuple) else answer):
            return then(path)
        return None

    def _ask_save_as(self) -> bool:
        """File > Save model as: ask for a file and save; True if the model was saved."""
        return bool(self._ask(QFileDialog.getSaveFileName, "Save model as", "model.npz",
                              "Model files (*.npz);;All files (*)", self.save_model_as))

    # -- models -----------------------------------------------------------------------------------
    def _load_initial_model(self, model_path: str | None) -> None:
        """The given file (now); else the last model used, else the shipped one (in the background:
        the window shows itself at once, and a slow or large file cannot hold it up); else none."""
        if model_path and self.open_model(model_path):
            return
        self.set_model(None, "")
        remembered = self.settings.last_model
        if remembered and Path(remembered).is_file():
            self._load_in_background("startup", remembered)
        else:
            self._load_shipped_model()

    def _load_shipped_model(self) -> None:
        shipped = resource("pretrained.npz")
        if Path(shipped).is_file():
            self._load_in_background("shipped", str(shipped))

    def _load_in_background(self, why: str, path: str) -> None:
        self._loading = (why, path)
        self.model_loader.load(path)
        self.model_label.setText(f"Loading model {display_name(Path(path).name)}…")
        if self.model is None:
            self.chart.set_hint(LOADING_HINT)

    def open_model_in_background(self, path: str) -> None:
        """Open a model file without waiting for it (File > Open): the loaded model replaces the current
        one when it arrives, a bad file gives a dialog and the current model stays."""
        self._load_in_background("open", path)

    def _on_model_loaded(self, model: Model, path: str) -> None:
        why, self._loading = (self._loading or ("open", path))[0], None
        self.set_model(model, Path(path).name)
        if why in ("open", "startup"):
            self.settings.last_model = str(Path(path).resolve())

    def _on_model_load_failed(self, error, path: str) -> None:
        why, self._loading = (self._loading or ("open", path))[0], None
        self._show_loaded_model()
        if why == "open":
            self.show_error("Cannot open model", f"{error}\n\nThe previous model stays loaded.")
            return
        self.statusBar().showMessage(f"could not reopen {display_name(path)}: {error}", 10000)
        if why == "startup":
            self._load_shipped_model()

    def set_model(self, model: Model | None, source: str) -> None:
        self.model_loader.forget()   # a model chosen now wins over one still being loaded
        self._loading = None
        if model is not self.models.loaded:
            self.unsaved.clear()     # the unsaved model (if any) is no longer the one loaded
        self.models.load(model, source)
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
        self.unsaved.clear()
        self.settings.last_model = str(Path(path).resolve())
        self.statusBar().showMessage(f"saved {display_name(path)}", 5000)
        return True

    def export_drawing(self, path: str) -> bool:
        """Write the drawing as a PNG, atomically and by the rules of every write (a FIFO, folder or
        device there is refused: Qt's own writer would have blocked on a FIFO or replaced nothing)."""
        image = self.canvas.image()
        if image.isNull():   # the canvas was never shown: nothing drawn, nothing to write
            self.show_error("Nothing to export", "The canvas has not been shown yet: there is no drawing.")
            return False
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        encoded = image.save(buffer, "PNG")
        buffer.close()
        try:
            if not encoded:
                raise OSError(0, "could not encode the drawing as PNG")
            atomic_write(path, lambda fh: fh.write(bytes(data.data())))
        except OSError as exc:
            self.show_error("Cannot export drawing", f"{display_name(path)}: could not write the PNG file: "
                                                     f"{exc.strerror or exc}")
            return False
        return True

    # -- drawing -> prediction --------------------------------------------------------------------
    def _on_drawing_changed(self) -> None:
        self._input = preprocess_drawing(self.canvas.ink_array())
        self.preview.set_image(self._input)
        self._predict()

    def _predict(self, settled_ok: bool = False) -> None:
        probs = self.chart.show_prediction(self.models.displayed, self._input, settled_ok)
        if probs is not None:
            self.prediction_changed.emit(probs)

    # -- training (and dataset checks) in the runner's thread -----------------------------------------
    def start_training(self, config) -> bool:
        if self.runner.is_busy() or self._closing:
            return False
        self._save_settings()
        self.plots.reset(config.epochs)
        self.panel.set_state(LOADING)
        self._set_job("train")
        self._run_reported = False
        keep_copy = KeepCopy(str(self.settings.folder / LAST_TRAINED), self.model is not None)
        self.runner.train(config, self._dataset_path, keep_copy)
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
        data = loaded.data
        if self._job == "dataset":   # chosen just now: refuse one no run of this window could train on
            val_size = self.panel.validation_size()
            if data.n_train <= val_size:
                using = "the bundled MNIST" if self._dataset_path is None else display_name(self._dataset_path)
                return self.show_error("Dataset too small", (
                    f"{data.source} has only {data.n_train:,} training images, but training holds out "
                    f"{val_size:,} of them for validation: at least {val_size + 1:,} are needed.\n\n"
                    f"Still using {using}."))
        self._dataset_path = loaded.path
        self.panel.set_dataset_size(data.n_train)
        self.dataset_label.setText(f"Dataset: {data.source} ({len(data.train_images):,} train / "
                                   f"{len(data.test_images):,} test images)")
        self.settings.dataset_path = loaded.path

    def _on_training_started(self, info) -> None:
        self._run_reported = True
        self.models.start_training(info.model)

    def _on_snapshot(self, snapshot) -> None:
        if not self._closing and self.models.apply_weights(snapshot.weights) is not None:
            self._predict(settled_ok=True)   # watch it learn

    def _on_training_finished(self, outcome) -> None:
        r = outcome.result
        kept = self.models.finish_training(r, outcome.model)
        if kept:
            self.model_loader.forget()   # the trained model wins over one still being loaded
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
        elif outcome.autosave_error:   # the model lives only here now: say so plainly, offer Save as
            self.statusBar().showMessage(f"could not keep a copy of the trained model: {outcome.autosave_error}",
                                         10000)
            self.unsaved.mark(outcome.autosave_error)
        self.panel.show_finished(r)
        self.training_finished.emit(r.metrics())

    def _on_job_failed(self, error) -> None:
        self._run_reported = True
        if self._job == "dataset":
            using = "the bundled MNIST" if self._dataset_path is None else display_name(self._dataset_path)
            return self.show_error("Dataset not usable", f"{error}\n\nStill using {using}.")
        self.models.end_training()
        self._predict()
        self.panel.show_failed(str(error))
        self.show_error("Training could not run", f"{error}\n\nThe previous model stays loaded.")

    def _on_job_done(self) -> None:
        stopped_while_loading = self._job == "train" and not self._run_reported
        self._set_job(None)
        self.models.end_training()
        self.panel.set_state(IDLE)
        if stopped_while_loading:   # Stop pressed before the network existed: the load was cut short
            self.panel.show_failed("stopped while loading the dataset: nothing was trained")

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
            self._error_box.setTextFormat(Qt.TextFormat.PlainText)   # a file name is never markup
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
        self.resize(1280, 800)
        if s.geometry is not None:
            self._restore_rectangle(*s.geometry)
        if s.maximized:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        for sizes, splitter in ((s.main_splitter, self.main_splitter), (s.right_splitter, self.right_splitter)):
            if sizes is not None and len(sizes) == splitter.count():
                splitter.setSizes(list(sizes))
        self.panel.restore(s.training_fields)
        if s.pen_width is not None:
            self.pad.set_pen_width(s.pen_width)
        self._dataset_path = s.dataset_path
        shown = display_name(self._dataset_path) if self._dataset_path else "bundled MNIST"
        self.dataset_label.setText(f"Dataset: {shown} (loaded when you train)")
        if s.problems:   # a damaged settings file: defaults were used, and one warning says so
            self.statusBar().showMessage(f"Settings: {s.problems[0]}", 15000)

    def _restore_rectangle(self, x: int, y: int, width: int, height: int) -> None:
        """The saved window rectangle, shrunk to fit the screen it is on and moved back onto a screen
        if it lies on none (a monitor unplugged since)."""
        screen = QGuiApplication.screenAt(QPoint(x + width // 2, y + height // 2)) or QGuiApplication.primaryScreen()
        if screen is None:
            return self.resize(width, height)
        room = screen.availableGeometry()
        width, height = min(width, room.width()), min(height, room.height())
        rect = QRect(x, y, width, height)
        if not room.intersects(rect):
            rect.moveCenter(room.center())
        self.resize(rect.size())
        self.move(rect.topLeft())

    def _save_settings(self) -> None:
        s = self.settings
        rect = self.normalGeometry() if self.isMaximized() else self.geometry()
        with s.batch():
            s.geometry = (rect.x(), rect.y(), rect.width(), rect.height())
            s.maximized = self.isMaximized()
            s.main_splitter = self.main_splitter.sizes()
            s.right_splitter = self.right_splitter.sizes()
            s.training_fields = self.panel.state_dict()
            s.pen_width = self.pad.pen_width()

    def shutdown(self) -> None:
        """Save the settings, stop any training and join its thread (idempotent)."""
        if not self._closing:
            self._closing = True
            self._save_settings()
        self.runner.shutdown()
        self.model_loader.shutdown()

    def close_now(self) -> None:
        """Close without asking anyone (a signal: SIGTERM, SIGHUP, Ctrl-C): an unsaved trained model is
        written to the temporary folder instead of being lost, then the window closes as usual."""
        self.unsaved.rescue(self.model)
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.unsaved.may_close(self.close):   # a trained model saved nowhere: ask first
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)


def run_app(model_path: str | None = None, argv: list[str] | None = None) -> int:
    """Create the application, show the window, run the event loop; returns the exit code (128 + the
    signal's number when a signal closed it: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    app = QApplication.instance() or QApplication(argv if argv is not None else [])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(model_path=model_path)
    app.aboutToQuit.connect(window.shutdown)
    with closing_on_signals(window.close_now) as received:
        window.show()
        code = app.exec()
    return 128 + received[0] if received else code
