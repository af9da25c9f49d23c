"""The main window: a switchboard that wires the widgets of :mod:`mnist_gui.ui` to the Qt-free core.

Drawing flows canvas -> :func:`preprocess_drawing` -> model -> chart; training flows runner -> panel,
plots, chart. Which model the chart reads with is not decided here but by
:class:`~mnist_gui.state.models.ModelSlots` (the current model, or the network in training once its
weights arrive), through the insight views' :class:`~mnist_gui.state.inspection.Inspection` (which
may be looking at a past epoch of the run); the library of runs and the Models panel are handled by
:class:`~mnist_gui.ui.models_controller.ModelsController`; settings are read and written through
:class:`~mnist_gui.ui.settings.Settings`. The insight views (:class:`~mnist_gui.ui.insight.InsightViews`)
are tabs beside the curves; the window tells them what happened and shows what they choose.

Automation contract: ``MainWindow(model_path=None)`` builds without an event loop; child objectNames
``drawingCanvas``, ``trainButton``, ``stopButton``, ``predictionChart``, ``lossPlot``, ``accuracyPlot``,
``modelsPanel``, ``confusionMatrix``, ``testGallery``, ``weightsView``, ``insideView``, ``digitMap``;
signals ``prediction_changed(np.ndarray of 10)`` and ``training_finished(dict with test_accuracy)`` and
``current_model_changed(dict or None)``; :meth:`MainWindow.models` (a list of dicts with ``id``,
``name``, ``test_accuracy``, ``status``, ``current``) and :meth:`MainWindow.set_current_model`;
:meth:`~MainWindow.confusion_matrix`, :meth:`~MainWindow.select_confusion_cell`, :meth:`~MainWindow.gallery_count`.
Every failure goes through :meth:`MainWindow.show_error` (non-blocking dialog, recorded in ``last_error``).
"""

from __future__ import annotations

import signal as os_signal
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWhatsThis, QWidget)

from mnist_gui import __version__
from mnist_gui.digits import SIDE
from mnist_gui.errors import ImageError, ModelFileError
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.jobs import RecordRun
from mnist_gui.model import Model, save_model
from mnist_gui.resources_path import resource
from mnist_gui.state.datadir import data_dir
from mnist_gui.state.library import RunLibrary
from mnist_gui.state.models import ModelSlots
from mnist_gui.ui.canvas import DrawingPad
from mnist_gui.ui.help import HelpDialog
from mnist_gui.ui.imagefile import array_image, load_image, save_png
from mnist_gui.ui.insight import InsightViews
from mnist_gui.ui.models_controller import ModelsController
from mnist_gui.ui.models_panel import PREFERRED_WIDTH
from mnist_gui.ui.notice_bar import NoticeBar
from mnist_gui.ui.plots import TrainingPlots
from mnist_gui.ui.prediction_chart import EMPTY_HINT, PredictionChart
from mnist_gui.ui.preview import PreviewBox
from mnist_gui.ui.settings import APPLICATION, ORGANIZATION, Settings
from mnist_gui.ui.theme import app_theme, follow_system_scheme, palette_changed
from mnist_gui.ui.training_panel import IDLE, LOADING, TrainingPanel
from mnist_gui.ui.view_tabs import ViewTabs
from mnist_gui.ui.worker import TrainingRunner

NO_MODEL_HINT = "No model yet:\npress Train,\nor File > Open model"
IMAGE_FILES = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
BUNDLED_TRAIN_IMAGES = 60000
SHORTCUTS = [("Ctrl+O", "Open a model file"), ("Ctrl+S", "Save the model as..."), ("Ctrl+E", "Export the drawing as PNG"),
             ("Ctrl+Shift+E", "Export the 28x28 input the network sees"),
             ("Ctrl+I", "Classify a picture file (or drop one on the canvas)"),
             ("Ctrl+Z", "Undo the last stroke (or a clear)"), ("Delete, or Esc on the canvas", "Clear the drawing"),
             ("Ctrl+Return", "Train"), ("Ctrl+Shift+Return", "Continue training the current model"),
             ("Ctrl+P", "Pause / resume training"), ("Ctrl+.", "Stop training"), ("Ctrl+M", "Show the Models panel"),
             ("Ctrl+Q", "Quit"), ("F1", "How this works (with this list)"),
             ("Shift+F1", "What's this? Click any control for its explanation")]
ABOUT = (f"<h3>mnist-gui {__version__}</h3><p>Train a neural network written in plain NumPy on MNIST, watch it "
         "learn, and draw digits to test it.</p><p>The MNIST database of handwritten digits is by Yann LeCun, "
         "Corinna Cortes and Christopher J.C. Burges, licensed under CC BY-SA 3.0.</p>")


class MainWindow(QMainWindow):
    prediction_changed = Signal(object)   # np.ndarray (10,) of probabilities
    training_finished = Signal(object)    # dict: TrainingFinished.metrics()
    #: The current model changed (chosen, trained, opened, renamed): its ``models()`` entry, or None
    #: when there is none; an entry with ``id`` None is a model not in the library (its record failed).
    current_model_changed = Signal(object)
    error_shown = Signal(str, str)        # title, text

    def __init__(self, model_path: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mnist-gui: draw a digit, train a network")
        self.settings = Settings()
        self.model_slots = ModelSlots()
        self.library = RunLibrary(data_dir(), shipped=resource("pretrained.npz"))
        self._input: np.ndarray | None = None     # the drawing, preprocessed to 28x28
        self._picture_input: np.ndarray | None = None   # a classified picture's own 28x28 input
        self._dataset_path: str | None = None     # None: the bundled copy
        self._job: str | None = None              # "train" | "dataset" while the runner is busy
        self._run_title = "Live training curves"
        self._side_width: int | None = None       # the side's width before the Models tab widened it
        self._closing = False
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self._help: HelpDialog | None = None
        self.runner = TrainingRunner(self)
        self.insight = InsightViews(self.model_slots, self)
        self.library_ui = ModelsController(self, self.library)
        self._build_ui()
        self._connect()
        self._build_menus()
        self._theme = app_theme()   # the widgets start in it; changeEvent follows the palette
        self._restore_settings()
        self.library_ui.start(model_path, self.settings)

    @property
    def model(self) -> Model | None:
        """The current model (what Save model as writes)."""
        return self.model_slots.loaded

    @property
    def model_source(self) -> str:
        """The current model's name."""
        return self.model_slots.source

    def models(self) -> list[dict]:
        """The library as the Models panel shows it: one dict per model with ``id``, ``name``,
        ``test_accuracy``, ``status``, ``current`` (bool) and more (what ``mnist-gui runs --json`` prints)."""
        return self.library_ui.summaries()

    def set_current_model(self, run_id: str) -> bool:
        """Make a library run (by id; ``"shipped"`` for the shipped model) the current model."""
        return self.library_ui.choose(run_id)

    def input_image(self) -> np.ndarray | None:
        """The drawing as the model sees it (28x28 uint8), or None when the canvas is empty."""
        return self._input

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
        self.models_panel = self.library_ui.panel
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.setTabBarAutoHide(True)
        self.side_tabs.addTab(self.panel, "T&rain")
        self.side_tabs.addTab(self.models_panel, "&Models")
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
        self.side_tabs.currentChanged.connect(self._fit_side)
        self.notice = NoticeBar()
        central = QWidget()
        QVBoxLayout(central).addWidget(self.notice)
        central.layout().addWidget(self.main_splitter)
        central.layout().setContentsMargins(6, 4, 6, 0)
        self.setCentralWidget(central)
        self.model_label, self.dataset_label = QLabel(), QLabel()
        self.statusBar().addPermanentWidget(self.model_label, 1)
        self.statusBar().addPermanentWidget(self.dataset_label)

    def _fit_side(self) -> None:
        """The Models table needs more width than the training form: widen the side while it shows,
        give the width back when the Train tab returns (a width the user chose is kept)."""
        sizes = self.main_splitter.sizes()
        if self.side_tabs.currentWidget() is self.models_panel and sizes[0] < PREFERRED_WIDTH:
            self._side_width = sizes[0]
            self.main_splitter.setSizes([PREFERRED_WIDTH, sum(sizes) - PREFERRED_WIDTH])
        elif self.side_tabs.currentWidget() is self.panel and self._side_width and sizes[0] == PREFERRED_WIDTH:
            self.main_splitter.setSizes([self._side_width, sum(sizes) - self._side_width])
            self._side_width = None

    def _connect(self) -> None:
        runner, panel, plots = self.runner, self.panel, self.plots
        for source, slot in ((self.canvas.changed, self._on_drawing_changed),
                             (self.canvas.file_dropped, self._on_file_dropped),
                             (panel.train_requested, self.start_training), (panel.pause_requested, runner.pause),
                             (panel.resume_requested, runner.resume), (panel.stop_requested, runner.stop),
                             (runner.dataset_ready, self._on_dataset_ready),
                             (runner.training_started, panel.show_started),
                             (runner.training_started, self._on_training_started),
                             (runner.progress, panel.show_progress), (runner.progress, plots.add_progress),
                             (runner.progress, self._on_progress), (runner.epoch_finished, self._on_epoch),
                             (runner.snapshot, self._on_snapshot), (runner.epoch_finished, plots.add_epoch),
                             (plots.export_requested, self._ask_export_plot),
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
        export = menu.addMenu("E&xport")
        for which in ("loss", "accuracy"):
            for fmt, kind in (("png", "plot as PNG"), ("svg", "plot as SVG"), ("csv", "data as CSV")):
                action(export, f"{which.capitalize()} {kind}…",
                       lambda _=False, w=which, f=fmt: self._ask_export_plot(w, f))   # _: triggered's "checked"
        export.addSeparator()
        action(export, "Run &metrics as JSON or CSV…", lambda: self._ask_export_metrics(self.models_panel.ticked()
               or [i for i in (self.model_slots.current_id,) if i]))
        models_panel = self.models_panel   # its requests that need a file name: the same dialogs as the menu's
        models_panel.import_requested.connect(self.open_action.trigger)
        models_panel.save_requested.connect(lambda run_id: self.set_current_model(run_id)
                                            and self.save_action.trigger())
        models_panel.export_metrics_requested.connect(self._ask_export_metrics)
        menu.addSeparator()
        self.dataset_actions = [action(menu, "Use &dataset folder…", lambda: self._ask(
            dialog.getExistingDirectory, "Folder with the MNIST IDX (or CSV) files", "", None, self.set_dataset_path)),
            action(menu, "Use the &bundled MNIST", lambda: self.set_dataset_path(None))]
        action(menu, "C&lassify an image…", lambda: self._ask(
            dialog.getOpenFileName, "Classify a picture of a digit", "", IMAGE_FILES, self.classify_image), "Ctrl+I")
        export.addSeparator()
        action(export, "&Drawing as PNG…", lambda: self._ask(
            dialog.getSaveFileName, "Export drawing", "digit.png", "PNG images (*.png)", self.export_drawing), "Ctrl+E")
        action(export, "Network &input (28x28) as PNG…", lambda: self._ask(
            dialog.getSaveFileName, "Export the network's input", "input28.png", "PNG images (*.png)",
            self.export_input), "Ctrl+Shift+E")
        menu.addSeparator()
        action(menu, "&Quit", self.close, "Ctrl+Q")
        menu = self.menuBar().addMenu("&Edit")
        action(menu, "&Undo last stroke", self.canvas.undo, QKeySequence.StandardKey.Undo)
        # Delete is window-wide (a focused text field keeps it for itself); Esc is the canvas's own key.
        action(menu, "&Clear drawing", self.canvas.clear, "Delete")
        action(menu, "&Train", self.panel.request_train, "Ctrl+Return")
        action(menu, "C&ontinue training the current model",
               lambda: self.library_ui.continue_training(self.models_panel.epochs_spin.value()), "Ctrl+Shift+Return")
        action(menu, "Show the &Models panel", lambda: self.side_tabs.setCurrentWidget(self.models_panel), "Ctrl+M")
        # Each does nothing when its button is off, so these are safe whatever the training state.
        self.pause_action = action(menu, "&Pause / resume training", self.panel.toggle_pause, "Ctrl+P")
        self.stop_action = action(menu, "&Stop training", self.panel.request_stop, "Ctrl+.")
        menu = self.menuBar().addMenu("&Help")
        action(menu, "&How this works", self.show_help, QKeySequence.StandardKey.HelpContents)
        menu.addAction(QWhatsThis.createAction(self))
        action(menu, "&Keyboard shortcuts", self.show_shortcuts)
        action(menu, "&About mnist-gui", lambda: self._message(QMessageBox.Icon.Information, "About mnist-gui", ABOUT))

    def _ask(self, dialog, title: str, default: str, filters: str | None, then) -> None:
        answer = dialog(self, title, default, filters) if filters else dialog(self, title, default)
        if path := (answer[0] if isinstance(answer, tuple) else answer):
            then(path)

    # -- models (the library's side is the ModelsController's) -------------------------------------
    def set_model(self, model: Model | None, source: str, record=None) -> None:
        """Make ``model`` (named ``source``; ``record``: its run in the library, if it is one) the current model."""
        self.model_slots.load(model, source, record)
        self.insight.model_loaded(model)
        self.show_current_model()
        self._predict()

    def show_current_model(self) -> None:
        model, source = self.model_slots.loaded, self.model_slots.source
        acc = None if model is None else model.test_accuracy
        pen = None if model is None else model.metadata.get("pen_drawn_accuracy")
        pen = f" · pen-drawn {pen:.1%}" if isinstance(pen, (int, float)) and not isinstance(pen, bool) else ""
        self.model_label.setText("No model loaded: press Train or open a model file" if model is None else
                                 f"Model: {source} · {model.describe()} · test accuracy "
                                 + (f"{acc:.2%}" if acc is not None else "unknown") + pen)
        self.save_action.setEnabled(model is not None)
        self.chart.set_hint(EMPTY_HINT if model is not None else NO_MODEL_HINT)
        self.chart.set_source(self._source_caption())
        record = self.model_slots.record
        self.insight.refresh()   # the views follow the current model
        self.current_model_changed.emit(None if model is None else record.summary(True) if record is not None
                                        else {"id": None, "name": source, "test_accuracy": acc, "current": True})

    def open_model(self, path: str) -> bool:
        """Open a model file: it joins the library and becomes the current model."""
        return self.library_ui.open_file(path)

    def save_model_as(self, path: str) -> bool:
        if self.model is None:
            self.show_error("Nothing to save", "No model is loaded yet: train one first.")
            return False
        try:
            save_model(self.model, path)   # atomic: an interrupted save leaves the old file
        except ModelFileError as exc:
            self.show_error("Cannot save model", str(exc))
            return False
        self.statusBar().showMessage(f"saved {path}", 5000)
        return True

    def export_drawing(self, path: str) -> bool:
        """The canvas as it is (grey ink on black), as a PNG file."""
        return self._export_png(self.canvas.image(), path, "drawing")

    def export_input(self, path: str) -> bool:
        """The 28x28 image the network sees for the drawing, as a PNG file."""
        if self._input is None:
            self.show_error("Nothing to export", "Draw a digit (or drop a picture) first: the network has no "
                            "input yet.")
            return False
        return self._export_png(array_image(self._input), path, "network input (28x28)")

    def _export_png(self, image, path: str, what: str) -> bool:
        try:
            save_png(image, path)
        except OSError as exc:
            self.show_error(f"Cannot export the {what}", f"{path}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self.statusBar().showMessage(f"Exported the {what} to {path}", 8000)
        return True

    def classify_image(self, path: str) -> bool:
        """Read a picture of a digit and show it on the canvas; the chart reads it as ``predict`` would."""
        try:
            ink = load_image(path)
        except ImageError as exc:
            self.show_error("Cannot read the picture", f"{exc}\n\nThe drawing is unchanged.")
            return False
        self._picture_input = preprocess_drawing(ink)
        self.canvas.show_picture(ink)   # its change signal shows the input and the prediction
        self.statusBar().showMessage(f"Classifying {Path(path).name}: draw on it, or Esc to clear", 8000)
        return True

    def _on_file_dropped(self, path: str) -> None:
        """A model file opens (and joins the library); anything else is read as a picture of a digit."""
        if path.lower().endswith(".npz"):
            self.open_model(path)
        else:
            self.classify_image(path)

    def export_plot(self, which: str, fmt: str, path: str) -> bool:
        """The ``which`` plot ("loss" or "accuracy") as ``fmt`` ("png", "svg" or "csv": its data) to ``path``."""
        return self.library_ui.export_plot(which, fmt, path)

    def _ask_export_plot(self, which: str, fmt: str) -> None:
        filters = {"png": "PNG images (*.png)", "svg": "SVG drawings (*.svg)", "csv": "CSV files (*.csv)"}[fmt]
        self._ask(QFileDialog.getSaveFileName, f"Export the {which} plot", f"{which}.{fmt}", filters,
                  lambda path: self.export_plot(which, fmt, path))

    def _ask_export_metrics(self, ids: list[str]) -> None:
        self._ask(QFileDialog.getSaveFileName, "Export run metrics", "metrics.json",
                  "JSON (*.json);;CSV (*.csv)", lambda path: self.library_ui.export_metrics(ids, path))

    # -- drawing -> prediction --------------------------------------------------------------------
    def _on_drawing_changed(self) -> None:
        if self._picture_input is not None and self.canvas.has_picture() and self.canvas.stroke_count() == 0:
            # A picture alone: its input comes from the file itself, as ``mnist-gui predict`` reads it.
            self._input = self._picture_input
        else:
            self._picture_input = None if not self.canvas.has_picture() else self._picture_input
            self._input = preprocess_drawing(self.canvas.ink_array(), self.canvas.pen_width_pixels())
        self.preview.set_image(self._input)
        self._predict()
        self.library_ui.drawing_changed(self._input)
        self.insight.drawing_changed(self._input)

    def show_test_image(self, pixels: np.ndarray, description: str = "") -> None:
        """Put a 28x28 image (a gallery tile) into the preview and the chart as if it had been drawn: the
        canvas shows it like a dropped picture (its input is these exact pixels), strokes drawn next go
        on top of it, and undo brings the drawing back."""
        image = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE)
        self._picture_input = image.copy()
        self.canvas.show_picture(image)   # its change signal shows the input, the bars and the views
        if description:
            self.statusBar().showMessage(f"{description}: draw on the canvas to change it", 8000)

    def _predict(self, settled_ok: bool = False) -> None:
        # The bars come from the model the views look at: the displayed one, or an epoch travelled to.
        probs = self.chart.show_prediction(self.insight.inspection.model(), self._input, settled_ok)
        if probs is not None:
            self.prediction_changed.emit(probs)

    def refresh_prediction(self) -> None:
        """The model the bars come from changed: say which, and predict again (the views follow it)."""
        self.chart.set_source(self._source_caption())
        self._predict()
        self.insight.refresh()

    def _source_caption(self) -> str:
        """Which model the bars come from: the slots' answer, or the epoch travelled to."""
        if self.insight.inspection.epoch is None:
            return self.model_slots.caption()
        return f"time travel: {self.insight.inspection.caption()}"

    def _on_epoch_changed(self, epoch: int | None) -> None:
        history = self.insight.inspection.history
        self.chart.setTitle("Prediction" if epoch is None or history is None
                            else f"Prediction at epoch {epoch} of {history.planned}")
        self.chart.set_source(self._source_caption())
        self._predict()

    # -- the insight views' automation contract ------------------------------------------------------
    def confusion_matrix(self) -> np.ndarray | None:
        """The 10x10 counts (rows true digit, columns predicted) the confusion matrix shows, as int64;
        None until the evaluation has arrived (asking starts it, in the background, even while the
        view is hidden). For the current model it is the test set's, as ``mnist-gui evaluate`` prints."""
        return self.insight.confusion_matrix()

    def select_confusion_cell(self, true_digit: int, predicted_digit: int) -> None:
        """Filter the gallery to one cell of the confusion matrix (as a click on it does)."""
        self.insight.show_cell(int(true_digit), int(predicted_digit))

    def gallery_count(self) -> int:
        """How many images the gallery shows (0 until its evaluation has arrived)."""
        return self.insight.gallery.count()

    # -- training (and dataset checks) in the runner's thread -----------------------------------------
    def start_training(self, config, initial: Model | None = None, parent=None, parent_curves=None,
                       epochs_before: int = 0) -> bool:
        """Train ``config``; with ``initial``, continue training that model (``parent``: its run in the
        library, ``parent_curves`` its curves, which the plots go on from; ``epochs_before``: the
        epochs it was trained for)."""
        if self.runner.is_busy() or self._closing:
            return False
        self._save_settings()
        self._run_title = (f"Live: continuing {parent.name if parent else 'the current model'}" if initial is not None
                           else f"Live: training {config.preset or 'a custom network'}")
        self.plots.reset(epochs_before + config.epochs, start=parent_curves, title=self._run_title)
        self.panel.set_state(LOADING)
        self.models_panel.set_training(True)
        self._set_job("train")
        self.runner.train(config, self._dataset_path, RecordRun(str(self.library.folder), parent, parent_curves),
                          data=self.insight.data(), initial=initial)
        return True

    def live_title(self) -> str:
        """The plots' title while they show the run in training."""
        return self._run_title

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
        self.panel.set_dataset_size(data.n_train)
        self.insight.set_dataset_path(loaded.path)
        self.insight.dataset_loaded(loaded)
        self.dataset_label.setText(f"Dataset: {data.source} ({len(data.train_images):,} train / "
                                   f"{len(data.test_images):,} test images)")
        self.settings.dataset_path = loaded.path

    def _on_training_started(self, info) -> None:
        self.model_slots.start_training(info.model)
        self.library_ui.training_started()

    def _on_progress(self, ev) -> None:
        self.model_slots.note_progress(ev.epoch, ev.epochs)
        self.chart.set_source(self._source_caption())   # a no-op unless the words change

    def _on_epoch(self, ev) -> None:
        self.model_slots.note_epoch(ev.val_accuracy)
        self.chart.set_source(self._source_caption())

    def _on_snapshot(self, snapshot) -> None:
        if not self._closing and self.model_slots.apply_weights(snapshot.weights) is not None:
            self.chart.set_source(self._source_caption())
            self._predict(settled_ok=True)   # watch it learn
            self.insight.weights_changed(snapshot.weights)

    def _on_training_finished(self, outcome) -> None:
        r = outcome.result
        if r.status != "diverged":
            self.plots.mark_test(r.test_accuracy)
        self.library_ui.training_finished(outcome)
        self.insight.run_finished(outcome)
        self.show_current_model()
        self._predict()
        if r.status == "diverged":
            self.show_error("Training diverged", f"{r.reason}.\n\nThe run joined the library with its last healthy "
                            "weights; the current model stays.")
        elif outcome.autosave_error:
            self.statusBar().showMessage(f"could not record the run in the library: {outcome.autosave_error}; "
                                         + ("use File > Save model as to keep it" if outcome.model is self.model
                                            else "the current model stays"), 15000)
        self.panel.show_finished(r)
        self.training_finished.emit(r.metrics())

    def _on_job_failed(self, error) -> None:
        if self._job == "dataset":
            using = "the bundled MNIST" if self._dataset_path is None else self._dataset_path
            return self.show_error("Dataset not usable", f"{error}\n\nStill using {using}.")
        self.model_slots.end_training()
        self.models_panel.set_training(False)
        self.library_ui.update_plots()
        self.refresh_prediction()
        self.insight.run_ended()
        self.panel.show_failed(str(error))
        self.show_error("Training could not run", f"{error}\n\nThe previous model stays loaded.")

    def _on_job_done(self) -> None:
        self._set_job(None)
        if self.model_slots.training:   # abandoned without an outcome
            self.model_slots.end_training()
        self.models_panel.set_training(False)
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

    def show_help(self) -> HelpDialog:
        """The "How this works" page (non-modal, one instance)."""
        if self._help is None:
            self._help = HelpDialog(SHORTCUTS, self)
        self._help.show()
        self._help.raise_()
        return self._help

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
        # The bundled copy's size is known without loading it; another dataset's once it has been loaded.
        self.panel.set_dataset_size(BUNDLED_TRAIN_IMAGES if self._dataset_path is None else None)
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
        self.library_ui.shutdown()
        self.insight.shutdown()

    def changeEvent(self, event) -> None:  # noqa: N802
        # Back from a terminal (or another window): show what the command line or another window
        # added, renamed, deleted or made current meanwhile.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and not self._closing:
            self.library_ui.refresh()
        # What Qt paints follows the palette by itself; what the app paints (plots, bars, warnings)
        # is told here when the palette turns light or dark.
        if palette_changed(event) and app_theme() is not self._theme:
            self._apply_theme()
        super().changeEvent(event)

    def _apply_theme(self) -> None:
        self._theme = app_theme()
        for widget in self._themed():
            widget.apply_theme(self._theme)

    def _themed(self) -> list:
        return [self.plots, self.chart, self.panel, self.notice, *self.insight.themed()]

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

def run_app(model_path: str | None = None, argv: list[str] | None = None) -> int:
    """Create the application, show the window, run the event loop; returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else [])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    follow_system_scheme(app)   # light or dark, as the system says (Qt 6.5+), plots included
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: follow_system_scheme(app))
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
