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
``modelsPanel``, ``myDigitsView``, ``confusionMatrix``, ``testGallery``, ``weightsView``, ``insideView``,
``digitMap``; signals ``prediction_changed(np.ndarray of 10)`` and ``training_finished(dict with
test_accuracy)`` and ``current_model_changed(dict or None)`` and ``my_digits_learned(dict with
test_accuracy, my_digits_accuracy, test_accuracy_before, my_digits_accuracy_before, before, after)``;
:meth:`MainWindow.models` (a list of dicts with ``id``, ``name``, ``test_accuracy``, ``status``, ``current``),
:meth:`MainWindow.set_current_model`, :meth:`MainWindow.add_to_my_digits` (the drawing, with a label),
:meth:`MainWindow.learn_my_digits`, :meth:`~MainWindow.confusion_matrix`,
:meth:`~MainWindow.select_confusion_cell`, :meth:`~MainWindow.gallery_count`. My digits (the user's
labelled drawings) is handled by :class:`~mnist_gui.ui.my_digits_controller.MyDigitsController`.
Every failure goes through :meth:`MainWindow.show_error` (non-blocking dialog, recorded in ``last_error``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QTimer, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWhatsThis, QWidget)

from mnist_gui import __version__
from mnist_gui.digits import SIDE
from mnist_gui.errors import ImageError, ModelFileError, display_name
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.jobs import RecordRun
from mnist_gui.training.finetune import FineTuneConfig
from mnist_gui.model import Model, save_model
from mnist_gui.resources_path import resource
from mnist_gui.state.datadir import data_dir
from mnist_gui.state.library import RunLibrary
from mnist_gui.state.models import ModelSlots
from mnist_gui.ui.canvas import DrawingPad
from mnist_gui.ui.help import HelpDialog
from mnist_gui.ui.imagefile import array_image, load_image, save_png
from mnist_gui.ui.insight import InsightViews
from mnist_gui.ui.model_loader import ModelLoader
from mnist_gui.ui.models_controller import ModelsController
from mnist_gui.ui.my_digits_controller import MIN_TO_LEARN, MyDigitsController, learned_summary
from mnist_gui.ui.models_panel import PREFERRED_WIDTH
from mnist_gui.ui.notice_bar import NoticeBar
from mnist_gui.ui.plots import TrainingPlots
from mnist_gui.ui.prediction_chart import EMPTY_HINT, PredictionChart
from mnist_gui.ui.preview import PreviewBox
from mnist_gui.ui.settings import APPLICATION, ORGANIZATION, Settings
from mnist_gui.ui.signals import closing_on_signals
from mnist_gui.ui.theme import app_theme, follow_system_scheme, palette_changed
from mnist_gui.ui.training_panel import IDLE, LOADING, TrainingPanel
from mnist_gui.ui.unsaved_model import UnsavedModel
from mnist_gui.ui.view_tabs import ViewTabs
from mnist_gui.ui.worker import TrainingRunner

NO_MODEL_HINT = "No model yet:\npress Train,\nor File > Open model"
LOADING_HINT = "Loading the model…"
IMAGE_FILES = "Pictures (*.png *.jpg *.jpeg *.bmp *.webp *.pbm *.pgm *.ppm);;All files (*)"
MY_DIGITS_FILES = "My digits (*.jsonl);;All files (*)"
BUNDLED_TRAIN_IMAGES = 60000
# Closing during training waits this long for the run to stop, be evaluated and join the library
# (a batch and one evaluation: well under a second for the presets; a huge network may take longer).
KEEP_RUN_SECONDS = 20.0
SHORTCUTS = [("Ctrl+O", "Open a model file"), ("Ctrl+S", "Save the model as..."), ("Ctrl+E", "Export the drawing as PNG"),
             ("Ctrl+Shift+E", "Export the 28x28 input the network sees"),
             ("Ctrl+I", "Classify a picture file (or drop one on the canvas)"),
             ("Ctrl+Z", "Undo the last stroke (or a clear)"), ("Delete, or Esc on the canvas", "Clear the drawing"),
             ("0-9 on the canvas (or click a bar)", "Save the drawing to My digits as that digit"),
             ("Enter on the canvas", "Save the drawing to My digits as the network reads it (Keep)"),
             ("Ctrl+Shift+Z", "Undo the last change to My digits (a save, relabel or delete)"),
             ("0-9 / Delete on selected drawings", "Relabel / delete them in My digits"),
             ("Ctrl+D", "Show My digits"),
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
    #: A fine-tune on My digits ended: its figures (``test_accuracy``, ``my_digits_accuracy``, their
    #: ``..._before``, ``before``/``after`` dicts, and more), the new run's ``id`` and ``name``, ``current``.
    my_digits_learned = Signal(object)

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
        self._run_reported = False                # the current training job has started or failed
        self._run_title = "Live training curves"
        self._learn_from: tuple[str | None, str] | None = None   # the model a fine-tune started from (id, name)
        self._side_width: int | None = None       # the side's width before the Models tab widened it
        self._closing = False
        self._closing_on_signal = False   # a signal's close abandons a run instead of keeping it
        self.unsaved = UnsavedModel(self, self._ask_save_as)   # a trained model saved nowhere
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self._help: HelpDialog | None = None
        self.runner = TrainingRunner(self)
        self.model_loader = ModelLoader(self)   # big model files at start-up (ModelsController.start)
        self.insight = InsightViews(self.model_slots, self)
        self.library_ui = ModelsController(self, self.library)
        self.my_digits = MyDigitsController(self)
        self._build_ui()
        self._connect()
        self._build_menus()
        self._theme = app_theme()   # the widgets start in it; changeEvent follows the palette
        self._restore_settings()
        self.library_ui.start(model_path, self.settings)
        # The user's set is read once the window is up (5,000 drawings take a fraction of a second).
        QTimer.singleShot(0, self.my_digits, self.my_digits.ensure_loaded)   # (not if the window is gone by then)

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
        self.correction_bar = self.my_digits.bar
        middle = QVBoxLayout()
        middle.addWidget(preview_box, 1)
        middle.addWidget(self.correction_bar)
        row.addWidget(self.pad, 5)
        row.addLayout(middle, 3)
        row.addWidget(self.chart, 6)
        # Side and views are tab widgets: the side holds the training panel (and more panels as the app
        # grows), the views area the training curves and the insight views, with the time-travel slider
        # in the corner of its tab bar; a lone tab shows no tab bar.
        self.side_tabs, self.view_tabs = QTabWidget(), ViewTabs()
        self.models_panel = self.library_ui.panel
        self.my_digits_view = self.my_digits.view
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.setTabBarAutoHide(True)
        self.side_tabs.addTab(self.panel, "T&rain")
        self.side_tabs.addTab(self.models_panel, "&Models")
        insight = self.insight
        for widget, title in ((self.plots, "Curves"), (insight.confusion, "Confusion matrix"),
                              (insight.gallery, "Gallery"), (insight.weights, "Weights"), (insight.inside, "Inside"),
                              (insight.map, "Map of digits"), (self.my_digits_view, "M&y digits")):
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
        bar, view = self.correction_bar, self.my_digits_view
        for source, slot in ((self.canvas.changed, self._on_drawing_changed),
                             (self.canvas.file_dropped, self._on_file_dropped),
                             (self.canvas.digit_typed, self.add_to_my_digits), (self.canvas.confirmed, self.keep_drawing),
                             (self.chart.bar_clicked, self.add_to_my_digits), (bar.label_chosen, self.add_to_my_digits),
                             (bar.keep_requested, self.keep_drawing), (view.learn_requested, self.learn_my_digits),
                             (view.export_requested, self._ask_export_my_digits),
                             (view.import_requested, self._ask_import_my_digits),
                             (self.current_model_changed, lambda _: self.my_digits.model_changed()),
                             (self.current_model_changed, lambda _: self._update_learn_state()),
                             (self.my_digits.changed, lambda _: self._update_learn_state()),
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
                             (runner.finetune_started, self._on_finetune_started),
                             (runner.finetuned, self._on_finetuned),
                             (runner.done, self._on_job_done), (self.model_loader.loaded, self.library_ui.model_loaded),
                             (self.model_loader.failed, self.library_ui.model_load_failed)):
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
        self.save_action = action(menu, "&Save model as…", self._ask_save_as, "Ctrl+S")
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
        menu.addSeparator()
        self.my_digits_undo_action = action(menu, "Undo in My &digits", self.my_digits.undo, "Ctrl+Shift+Z")
        self.my_digits_undo_action.setEnabled(False)
        action(menu, "Show M&y digits", self.show_my_digits, "Ctrl+D")
        menu.addSeparator()
        # Each does nothing when its button is off, so these are safe whatever the training state.
        self.pause_action = action(menu, "&Pause / resume training", self.panel.toggle_pause, "Ctrl+P")
        self.stop_action = action(menu, "&Stop training", self.panel.request_stop, "Ctrl+.")
        menu = self.menuBar().addMenu("&Help")
        action(menu, "&How this works", self.show_help, QKeySequence.StandardKey.HelpContents)
        menu.addAction(QWhatsThis.createAction(self))
        action(menu, "&Keyboard shortcuts", self.show_shortcuts)
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

    # -- models (the library's side is the ModelsController's) -------------------------------------
    def set_model(self, model: Model | None, source: str, record=None) -> None:
        """Make ``model`` (named ``source``; ``record``: its run in the library, if it is one) the current model."""
        self.model_loader.forget()   # a model chosen now wins over one still being loaded
        if model is not self.model_slots.loaded:
            self.unsaved.clear()     # the unsaved model (if any) is no longer the current one
        self.model_slots.load(model, source, record)
        self.insight.model_loaded(model)
        self.show_current_model()
        self._predict()

    def show_loading(self, name: str) -> None:
        """Say that the model ``name`` is being loaded (in the background) while there is none yet."""
        self.model_label.setText(f"Loading model {display_name(name)}…")
        if self.model is None:
            self.chart.set_hint(LOADING_HINT)

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
        self.unsaved.clear()
        self.statusBar().showMessage(f"saved {display_name(path)}", 5000)
        return True

    def export_drawing(self, path: str) -> bool:
        """The canvas as it is (grey ink on black), as a PNG file."""
        image = self.canvas.image()
        if image.isNull():   # the canvas was never shown: nothing drawn, nothing to write
            self.show_error("Nothing to export", "The canvas has not been shown yet: there is no drawing.")
            return False
        return self._export_png(image, path, "drawing")

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
            self.show_error(f"Cannot export the {what}", f"{display_name(path)}: could not write the PNG file: "
                                                         f"{getattr(exc, 'strerror', None) or exc}")
            return False
        self.statusBar().showMessage(f"Exported the {what} to {display_name(path)}", 8000)
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
        self.statusBar().showMessage(f"Classifying {display_name(Path(path).name)}: draw on it, or Esc to clear", 8000)
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
        self.correction_bar.set_drawing(not self.canvas.is_empty())
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

    # -- My digits: the user's own drawings, labelled ------------------------------------------------
    def add_to_my_digits(self, label: int) -> bool:
        """Save the drawing on the canvas to My digits as ``label`` (0-9): its strokes and the 28x28 input
        the network sees. The canvas is then cleared for the next digit (undoing the save brings the
        drawing back). Nothing to save (an empty canvas, a picture) changes nothing and says why."""
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
            self.my_digits.refuse(f"Not saved: {label!r} is not a digit 0-9")
            return False
        if problem := self._not_saveable():
            self.my_digits.refuse(problem)
            return False
        # Preprocessed now, not taken from the last change signal: that may be a stroke behind (throttled).
        image = preprocess_drawing(self.canvas.ink_array(), self.canvas.pen_width_pixels())
        canvas = self.canvas
        if self.my_digits.add(int(label), canvas.strokes(), image,
                              restore_drawing=lambda: canvas.is_empty() and canvas.undo()) is None:
            return False
        canvas.clear()
        return True

    def keep_drawing(self) -> bool:
        """Save the drawing to My digits as the network reads it (Keep, or Enter on the canvas)."""
        model = self.model_slots.displayed
        problem = self._not_saveable() or (None if model is not None else
                                           "No model reads the drawing: say which digit it is (0-9, or That's a…)")
        if problem:
            self.my_digits.refuse(problem)
            return False
        reading = model.read_one(preprocess_drawing(self.canvas.ink_array(), self.canvas.pen_width_pixels()))
        if reading.not_a_digit:
            self.my_digits.refuse("The network does not read this as a digit: say which digit it is (0-9, or "
                                  "That's a…)")
            return False
        return self.add_to_my_digits(int(np.argmax(reading.probabilities)))

    def _not_saveable(self) -> str | None:
        """Why the canvas cannot be saved to My digits (None: it can)."""
        if self.canvas.has_picture():
            # My digits keeps pen strokes (the fine-tune re-draws them in other pen styles); a picture has none.
            return "Pictures are not saved to My digits, only drawings: clear the canvas (Esc) and draw the digit"
        if self.canvas.stroke_count() == 0:
            return "Nothing to save: draw a digit first"
        return None

    def my_digits_count(self) -> int:
        """How many drawings My digits holds."""
        self.my_digits.ensure_loaded()
        return len(self.my_digits)

    def show_my_digits(self) -> None:
        self.view_tabs.setCurrentWidget(self.my_digits_view)

    def show_my_digits_undo(self, text: str | None) -> None:
        """What Edit > Undo in My digits would undo (None: nothing)."""
        self.my_digits_undo_action.setEnabled(text is not None)
        self.my_digits_undo_action.setText(f"{text} (My &digits)" if text else "Undo in My &digits")

    def export_my_digits(self, path: str) -> bool:
        """Write the whole of My digits to one file (what Import reads)."""
        return self.my_digits.export(path)

    def import_my_digits(self, path: str) -> bool:
        """Add the drawings of an exported file to My digits; a bad file changes nothing."""
        return self.my_digits.import_file(path)

    def _ask_export_my_digits(self) -> None:
        self._ask(QFileDialog.getSaveFileName, "Export My digits", "my-digits.jsonl", MY_DIGITS_FILES,
                  self.export_my_digits)

    def _ask_import_my_digits(self) -> None:
        self._ask(QFileDialog.getOpenFileName, "Import My digits", "", MY_DIGITS_FILES, self.import_my_digits)

    def _update_learn_state(self) -> None:
        n = len(self.my_digits)
        if self._job is not None or self.runner.is_busy():
            enabled, why = False, "Training is running: wait for it to end (or stop it)"
        elif self.model is None:
            enabled, why = False, "There is no model to teach: train one or open one first"
        elif n < MIN_TO_LEARN:
            enabled, why = False, (f"Save at least {MIN_TO_LEARN} drawings first (you have {n}); 3 of each digit "
                                   "work well")
        else:
            enabled, why = True, (f"Fine-tune the current model on your {n:,} drawings (mixed with MNIST so it does "
                                  "not forget it); the result joins the Models panel and becomes current")
        self.my_digits_view.set_learn_state(enabled, why)
        self.panel.set_my_digits(n, MIN_TO_LEARN)

    def learn_my_digits(self, config: FineTuneConfig | None = None) -> bool:
        """Fine-tune the current model on My digits in the background (``config``: the fine-tune's
        settings, by default the measured recipe). Progress and curves show as for training; at the end
        the new model joins the library and becomes the current model, the view shows before/after
        figures and ``my_digits_learned`` fires. False (with a message) when it cannot start."""
        self.my_digits.ensure_loaded()
        n = len(self.my_digits)
        problem = ("Training is running: wait for it to end (or stop it)" if self._job is not None or self.runner.is_busy()
                   else "There is no model to teach: train one or open one first" if self.model is None
                   else f"My digits holds {n} drawing{'s' if n != 1 else ''}: save at least {MIN_TO_LEARN} first"
                   if n < MIN_TO_LEARN else None)
        if problem or self._closing:
            if problem:
                self.show_error("Cannot learn from My digits", problem)
            return False
        self._save_settings()
        parent = self.model_slots.record
        self._learn_from = (parent.id if parent is not None else None, self.model_source)
        config = config or FineTuneConfig()
        self._run_title = f"Live: learning from my {n:,} digits (validation: the held-out ones)"
        self.plots.reset(config.rounds, title=self._run_title)
        self.panel.set_state(LOADING)
        self.models_panel.set_training(True)
        self.view_tabs.setCurrentWidget(self.plots)   # the curves grow as for a training
        self._set_job("finetune")
        self.runner.fine_tune(self.model.copy(), self.my_digits.store.records, self._dataset_path,
                              RecordRun(str(self.library.folder), parent), config)
        return True

    def _on_finetune_started(self, info) -> None:
        self.model_slots.start_training(info.model)
        self.library_ui.training_started()
        self.panel.show_starting(f"learning from my {info.n_digits:,} digits · {info.description} · "
                                 f"{info.config.steps} steps with MNIST replay")

    def _on_finetuned(self, outcome) -> None:
        r, m = outcome.result, dict(outcome.metrics)
        if r.status != "diverged":
            self.plots.mark_test(r.test_accuracy)
        adopted = self.library_ui.training_finished(outcome)
        self.show_current_model()
        self._predict()
        self.panel.show_finished(r)
        record = outcome.record
        summary = learned_summary(m)
        name = record.name if record is not None else "the new model"
        all_before = m.get("my_digits_accuracy_all_before")
        before_all = (f" (before, it read {all_before:.1%} of all {m.get('n_digits', 0):,} right)"
                      if isinstance(all_before, float) else "")
        self.my_digits_view.show_learned(f"<b>Learnt from your {m.get('n_digits', 0):,} digits</b> ({r.status}): "
                                         f"{summary}{before_all}. {name!r} " + ("is now the current model." if adopted
                                                                               else "joined the Models panel."))
        if outcome.record_error:
            self.show_error("The new model is not in the library", f"{outcome.record_error}\n\n"
                            + ("It is the current model until the window closes: use File > Save model as to keep "
                               "it." if adopted else "The current model stays."))
        elif adopted and self._learn_from is not None:
            previous_id, previous_name = self._learn_from
            self.notice.show_notice(f"Learnt from your digits: {summary}. {name!r} is now the current model.",
                                    f"Back to {previous_name!r}" if previous_id else None,
                                    (lambda: self.set_current_model(previous_id)) if previous_id else None)
        self.my_digits_learned.emit({**m, "id": None if record is None else record.id, "name": name,
                                     "current": adopted})

    # -- training (and dataset checks) in the runner's thread -----------------------------------------

    # -- training (and dataset checks) in the runner's thread -----------------------------------------
    def start_training(self, config, initial: Model | None = None, parent=None, parent_curves=None,
                       epochs_before: int = 0) -> bool:
        """Train ``config``; with ``initial``, continue training that model (``parent``: its run in the
        library, ``parent_curves`` its curves, which the plots go on from; ``epochs_before``: the
        epochs it was trained for)."""
        if self.runner.is_busy() or self._closing:
            return False
        my_digits = None
        if config.my_digits:
            self.my_digits.ensure_loaded()
            my_digits = self.my_digits.store.records
            if len(my_digits) < MIN_TO_LEARN:
                self.show_error("Cannot include my digits", f"My digits holds {len(my_digits)} drawings: save at "
                                f"least {MIN_TO_LEARN}, or untick Include my digits.")
                return False
        self._save_settings()
        self._run_title = (f"Live: continuing {parent.name if parent else 'the current model'}" if initial is not None
                           else f"Live: training {config.preset or 'a custom network'}")
        self.plots.reset(epochs_before + config.epochs, start=parent_curves, title=self._run_title)
        self.panel.set_state(LOADING)
        self.models_panel.set_training(True)
        self._set_job("train")
        self._run_reported = False
        self.runner.train(config, self._dataset_path, RecordRun(str(self.library.folder), parent, parent_curves),
                          data=self.insight.data(), initial=initial, my_digits=my_digits)
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
        self._update_learn_state()

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
        self.insight.set_dataset_path(loaded.path)
        self.insight.dataset_loaded(loaded)
        self.dataset_label.setText(f"Dataset: {data.source} ({len(data.train_images):,} train / "
                                   f"{len(data.test_images):,} test images)")
        self.settings.dataset_path = loaded.path

    def _on_training_started(self, info) -> None:
        self._run_reported = True
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
        if self.library_ui.training_finished(outcome):
            self.model_loader.forget()   # the trained model wins over one still being loaded
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
            if outcome.model is self.model:   # it lives only here now: say so plainly, offer Save as
                self.unsaved.mark(f"could not record the run in the library: {outcome.autosave_error}")
        self.panel.show_finished(r)
        self.training_finished.emit(r.metrics())

    def _on_job_failed(self, error) -> None:
        self._run_reported = True
        if self._job == "dataset":
            using = "the bundled MNIST" if self._dataset_path is None else display_name(self._dataset_path)
            return self.show_error("Dataset not usable", f"{error}\n\nStill using {using}.")
        self.model_slots.end_training()
        self.models_panel.set_training(False)
        self.library_ui.update_plots()
        self.refresh_prediction()
        self.insight.run_ended()
        self.panel.show_failed(str(error))
        self.show_error("Cannot learn from My digits" if self._job == "finetune" else "Training could not run",
                        f"{error}\n\nThe previous model stays loaded.")

    def _on_job_done(self) -> None:
        stopped_while_loading = self._job == "train" and not self._run_reported
        self._set_job(None)
        if self.model_slots.training:   # abandoned without an outcome
            self.model_slots.end_training()
        self.models_panel.set_training(False)
        self.insight.run_ended()
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
        # The bundled copy's size is known without loading it; another dataset's once it has been loaded.
        self.panel.set_dataset_size(BUNDLED_TRAIN_IMAGES if self._dataset_path is None else None)
        self.insight.set_dataset_path(s.dataset_path)
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
        """Save the settings, stop any training and join its thread (idempotent). A training run the
        user closes the window on is stopped, not thrown away: it finishes its batch, is evaluated and
        joins the library as a stopped run, as if Stop had been pressed (at most ``KEEP_RUN_SECONDS``;
        a signal's close, which must be quick, abandons it instead)."""
        if not self._closing:
            self._closing = True
            self._save_settings()
            self.view_tabs.close_windows()
        if self.model_slots.training and not self._closing_on_signal:
            self.runner.finish(KEEP_RUN_SECONDS)   # blocks: a status message here would never be painted
        self.runner.shutdown()
        self.library_ui.shutdown()
        self.model_loader.shutdown()
        self.insight.shutdown()

    def close_now(self) -> None:
        """Close without asking anyone (a signal: SIGTERM, SIGHUP, Ctrl-C): an unsaved trained model is
        written to the temporary folder instead of being lost, then the window closes as usual."""
        self._closing_on_signal = True
        self.unsaved.rescue(self.model)
        self.close()

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
        return [self.plots, self.chart, self.panel, self.notice, self.my_digits_view, *self.insight.themed()]

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
    follow_system_scheme(app)   # light or dark, as the system says (Qt 6.5+), plots included
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: follow_system_scheme(app))
    window = MainWindow(model_path=model_path)
    app.aboutToQuit.connect(window.shutdown)
    with closing_on_signals(window.close_now) as received:
        window.show()
        code = app.exec()
    return 128 + received[0] if received else code
