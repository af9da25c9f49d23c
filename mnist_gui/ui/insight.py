"""The insight views wired together: what they look at, what they need computed, and when.

:class:`InsightViews` owns the five views (confusion matrix, gallery, first-layer weights, inside
the network, map of the digits), the time-travel slider, their worker
(:class:`~mnist_gui.ui.analysis_runner.AnalysisRunner`) and the Qt-free
:class:`~mnist_gui.state.inspection.Inspection` that decides what they show. The main window tells
it what happened (a drawing, new weights, a run's start, epochs and end, another model, another
dataset) and places its widgets; the views only show.

The rule that keeps the window responsive: only views that are visible get data. A hidden view
keeps what it had; when it appears (``shown``) it is brought up to date at once, and what it needs
computed (an evaluation over 10,000 images, a map) goes to the worker thread, with a placeholder
saying so until the result arrives.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from mnist_gui.data import MnistData
from mnist_gui.insight.gallery import GalleryFilter
from mnist_gui.insight.inside import InsideLook, look_inside
from mnist_gui.jobs import (DatasetLoaded, DrawTiles, EpochSnapshot, EvaluateModel, LoadDataset, MapDigits,
                            TrainingOutcome, TrainingStarted)
from mnist_gui.state.inspection import Inspection
from mnist_gui.state.models import ModelSlots
from mnist_gui.ui.analysis_runner import AnalysisRunner
from mnist_gui.ui.confusion_view import ConfusionView
from mnist_gui.ui.digit_map_view import DigitMapView
from mnist_gui.ui.gallery import GalleryView
from mnist_gui.ui.inside_view import InsideView
from mnist_gui.ui.time_travel import TimeTravelBar
from mnist_gui.ui.weights_view import WeightsView

NO_MODEL = "No model yet: press Train, or open a model file."
NO_DRAWING = "Draw a digit on the canvas (or click an image in the gallery) to look inside the network."


class InsightViews(QObject):
    """The insight views and their worker; the window feeds it events and shows its widgets."""

    image_chosen = Signal(object, str)   # a gallery tile: (28, 28) uint8 pixels, a description
    epoch_changed = Signal(object)       # time travel moved to an epoch (None: now): re-predict the bars
    preview_overlay = Signal(object)     # (28, 28, 4) RGBA for the preview, or None
    reveal = Signal(object)              # a view that should be brought to the front

    def __init__(self, slots: ModelSlots, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inspection = Inspection(slots)
        self.runner = AnalysisRunner(self)
        self.confusion, self.gallery, self.weights = ConfusionView(), GalleryView(), WeightsView()
        self.inside, self.map = InsideView(), DigitMapView()
        self.time_travel = TimeTravelBar()
        self._image: np.ndarray | None = None
        self._data: MnistData | None = None
        self._dataset_path: str | None = None
        self._asked: dict[str, tuple] = {}     # kind -> key of the job asked for last
        self._error: str | None = None          # why the dataset could not be loaded
        self._failures: dict[tuple, str] = {}   # key -> why its job failed (not asked for again)
        self._overlay_sent = False
        self._tiles_for: np.ndarray | None = None   # the weights the tiles asked for last were to show
        for view in self.views():
            view.shown.connect(self.refresh)
        self.inside.hidden.connect(self._update_overlay)
        self.confusion.cell_clicked.connect(self.show_cell)
        self.gallery.image_chosen.connect(self.image_chosen)
        self.inside.unit_clicked.connect(self._unit_clicked)
        self.inside.overlay_wanted.connect(lambda _on: self._update_overlay())
        self.time_travel.epoch_selected.connect(self.select_epoch)
        self.runner.dataset_ready.connect(self.dataset_loaded)
        self.runner.evaluated.connect(lambda done: (self.inspection.store_evaluation(done.key, done.evaluation),
                                                    self.refresh()))
        self.runner.mapped.connect(lambda done: (self.inspection.store_map(done.key, done.digit_map), self.refresh()))
        self.runner.tiles.connect(self._tiles_drawn)
        self.runner.failed.connect(self._failed)

    def views(self) -> tuple[QWidget, ...]:
        """The five views, in the order of their tabs."""
        return self.confusion, self.gallery, self.weights, self.inside, self.map

    def themed(self) -> tuple[QWidget, ...]:
        """What paints itself in the window's theme (each has ``apply_theme``)."""
        return (*self.views(), self.time_travel)

    # -- what happened (the window calls these) ---------------------------------------------------
    def drawing_changed(self, image: np.ndarray | None) -> None:
        """The drawing (28x28 uint8, preprocessed) changed; None: the canvas is empty."""
        self._image = image
        self._refresh_drawing()

    def weights_changed(self, weights: tuple | None = None) -> None:
        """The network in training has new weights (``weights``: the snapshot's read-only [W0, b0, ...]):
        views of "now" follow it; the weight tiles are drawn from the snapshot in the worker."""
        if self.inspection.epoch is None and self.inspection.following_run():
            self._refresh_weights(changed=True, snapshot=weights)
            self._refresh_drawing()

    def run_started(self, info: TrainingStarted) -> None:
        self.inspection.start_run(info.model, info.epochs_before + info.config.epochs, info.validation_images,
                                  info.validation_labels, info.epochs_before)
        self._refresh_epochs()
        self.refresh()

    def epoch_ended(self, snapshot: EpochSnapshot) -> None:
        travelled = self.inspection.epoch
        self.inspection.add_epoch(snapshot.epoch, snapshot.weights, snapshot.validation)
        self._refresh_epochs()
        if self.inspection.epoch != travelled:
            self.epoch_changed.emit(self.inspection.epoch)
        self.refresh()

    def run_finished(self, outcome: TrainingOutcome) -> None:
        data = self._data
        self.inspection.end_run(outcome.model, outcome.test, data.test_images if data else None,
                                data.test_labels if data else None, "trained just now")
        # The window shows the current model next, which brings the views up to date.

    def run_ended(self) -> None:
        """The run is over (finished, failed or abandoned) and the slots say so."""
        self.refresh()

    def model_loaded(self, model) -> None:
        """Another model became the current one (the window then shows it, and calls :meth:`refresh`)."""
        self.inspection.model_loaded(model)
        self._refresh_epochs()

    def dataset_loaded(self, loaded: DatasetLoaded) -> None:
        """A dataset was loaded (by either runner): keep it if it is the one in use."""
        if loaded.path == self._dataset_path:
            self._data, self._error = loaded.data, None
            self.refresh()

    def set_dataset_path(self, path: str | None) -> None:
        """The dataset in use (None: the bundled copy); evaluations of the old one are forgotten."""
        if path != self._dataset_path:
            self._dataset_path, self._data, self._error, self._failures = path, None, None, {}
            self.inspection.dataset_changed()
            self.refresh()

    def data(self) -> MnistData | None:
        """The dataset in use, if loaded (the window passes it to a training run, which then skips loading)."""
        return self._data

    def shutdown(self) -> None:
        self.runner.shutdown()

    # -- user actions -------------------------------------------------------------------------------
    def show_cell(self, true_digit: int, predicted_digit: int) -> None:
        """The gallery, filtered to one cell of the confusion matrix, brought to the front."""
        self.confusion.select_cell(true_digit, predicted_digit)
        self.gallery.set_filter(GalleryFilter.cell(true_digit, predicted_digit, self.gallery.gallery_filter().order))
        self._refresh_evaluation()
        self.reveal.emit(self.gallery)

    def confusion_matrix(self) -> np.ndarray | None:
        """The counts the confusion matrix shows for the current subject (asking for them if need be)."""
        self._refresh_evaluation()   # asked for explicitly: done even while the view is hidden
        return self.confusion.confusion()

    def select_epoch(self, epoch: int | None) -> None:
        """Look at epoch ``epoch`` of the run (None: now)."""
        self.inspection.select_epoch(epoch)
        if self.time_travel.selected() != self.inspection.epoch:
            self.time_travel.select(self.inspection.epoch)   # comes back here once, with the same epoch
            return
        self.epoch_changed.emit(self.inspection.epoch)
        self.refresh()

    def _unit_clicked(self, layer: int, unit: int) -> None:
        if layer == 0:
            self.weights.select_unit(unit)
            self.reveal.emit(self.weights)

    # -- bringing visible views up to date ---------------------------------------------------------
    def refresh(self) -> None:
        """Give every visible view what it should show now; ask the worker for what is missing."""
        if self.confusion.isVisible() or self.gallery.isVisible():
            self._refresh_evaluation()
        self._refresh_weights()
        if self.map.isVisible():
            self._refresh_map()
        self._refresh_drawing()

    def _refresh_evaluation(self) -> None:
        insp = self.inspection
        evaluation = insp.evaluation()
        placeholder = ""
        if evaluation is None:
            request = insp.evaluation_request()
            if request is None:
                placeholder = NO_MODEL
            else:
                size = f"{len(request.images):,} " if request.images is not None else ""
                placeholder = self._ask("evaluation", request.key, lambda data: EvaluateModel(request, data),
                                        needs_data=request.images is None) or \
                    f"Evaluating {request.about or 'the model'} on the {size}{request.name} images (in the background)..."
        caption = "" if evaluation is None else (f"{evaluation.name.capitalize()} ({len(evaluation):,} images), "
                                                 f"{evaluation.about}: {evaluation.accuracy():.2%} read right")
        self.confusion.set_evaluation(evaluation, caption, placeholder)
        self.gallery.set_evaluation(evaluation, caption, placeholder)

    def _refresh_weights(self, changed: bool = False, snapshot: tuple | None = None) -> None:
        if not self.weights.isVisible():
            return
        model = self.inspection.model()
        if model is None:
            return self.weights.set_weights(None, None, "", NO_MODEL)
        first = model.network.dense_layers[0]
        follow = snapshot is not None and snapshot[0].shape == first.params["W"].shape
        self.weights.set_weights(first.params["W"], first.params["b"],
                                 f"First layer of {self.inspection.caption()}: {first.n_out} units, each tile its "
                                 "784 input weights", changed=changed, tiles_follow=follow)
        if follow:
            self._tiles_for = first.params["W"]
            self.runner.submit("tiles", DrawTiles(snapshot[0], self.weights.tiles_wanted()))

    def _tiles_drawn(self, done) -> None:
        """Tiles of a snapshot arrived: shown only if the view still shows the weights they were drawn for
        (not if the user chose another model meanwhile, whose tiles the view drew itself)."""
        if self.weights.weights_array() is self._tiles_for:
            self.weights.show_tiles(done.mosaic, done.key)

    def _refresh_map(self) -> None:
        insp = self.inspection
        digit_map = insp.digit_map()
        placeholder = ""
        if digit_map is None:
            request = insp.map_request()
            if request is None:
                placeholder = NO_MODEL
            else:
                placeholder = self._ask("map", request.key, lambda data: MapDigits(request, data)) or \
                    "Mapping 2,000 test images (in the background)..."
        caption = "" if digit_map is None else (
            f"Last hidden layer ({digit_map.hidden_units} units) of {insp.caption()} for {len(digit_map.points):,} "
            f"test images, on its first two principal components ({np.sum(digit_map.projection.explained):.0%} of "
            "the variance)")
        self.map.set_map(digit_map, self._data.test_images if self._data is not None else None, caption, placeholder)

    def _refresh_drawing(self) -> None:
        """The views that follow the drawing: inside, the weights' unit detail, the map's star."""
        inside, weights, digit_map = self.inside.isVisible(), self.weights.isVisible(), self.map.isVisible()
        if not (inside or weights or digit_map):
            return
        model, image = self.inspection.model(), self._image
        look: InsideLook | None = None
        if model is not None and image is not None:
            look = look_inside(model, image)
        if inside:
            placeholder = NO_MODEL if model is None else NO_DRAWING
            self.inside.show_look(look, image, f"Inside {self.inspection.caption()}, for the drawing", placeholder)
            self._update_overlay()
        if weights:
            self.weights.set_drawing(image, look.hidden[0] if look is not None and look.hidden else None)
        if digit_map:
            self.map.set_marker(look.hidden[-1] if look is not None and look.hidden else None)

    def _update_overlay(self) -> None:
        """The saliency on the preview while the inside view is open (and its box ticked)."""
        overlay = self.inside.overlay if self.inside.isVisible() and self.inside.overlay_on_preview() else None
        if overlay is not None or self._overlay_sent:
            self.preview_overlay.emit(overlay)
            self._overlay_sent = overlay is not None

    def _refresh_epochs(self) -> None:
        history = self.inspection.history
        self.time_travel.set_epochs(self.inspection.epochs(), history.planned if history is not None else 0)

    # -- the worker ----------------------------------------------------------------------------------
    def _ask(self, kind: str, key: tuple, make_job, needs_data: bool = True) -> str | None:
        """Have the worker compute ``make_job(data)`` (loading the dataset first if need be), unless it
        is on its way already; returns what to show meanwhile if it is not simply "computing"."""
        if key in self._failures:
            return self._failures[key]
        if needs_data and self._data is None:
            if self._error is not None:
                return self._error
            if not self.runner.pending("dataset"):
                self.runner.submit("dataset", LoadDataset(self._dataset_path))
            return "Loading the test images (in the background)..."   # asked again when they arrive
        if not (self.runner.pending(kind) and self._asked.get(kind) == key):
            self._asked[kind] = key
            self.runner.submit(kind, make_job(self._data))
        return None

    def _failed(self, kind: str, error) -> None:
        if kind == "dataset":
            self._error = f"Cannot load the test images: {error}"
        elif kind in self._asked:
            self._failures[self._asked[kind]] = f"Could not compute this {kind}: {error}"
        self.refresh()
