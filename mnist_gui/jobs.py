"""Background jobs, one class per job: load a dataset, train a network or fine-tune one on the user's
digits (and record the run in the library), and the analysis jobs of the insight views (evaluate a model
on a set, map the digits, draw weight tiles).

A job is plain Python: :meth:`Job.run` does the work in whatever thread calls it and reports through
the ``report`` callable it is given, with immutable payloads (frozen dataclasses, or private copies
such as a model snapshot), so the receiving thread never shares mutable state with the job. The Qt
layer (:class:`mnist_gui.ui.worker.TrainingRunner`) runs jobs in a ``QThread`` and turns each payload
into the matching signal; tests and scripts can run them directly.

Pause, resume and stop go straight to the job's thread-safe :class:`TrainingControl`, not through an
event loop, so they act within one batch.

Signal budget: the session throttles progress to :data:`~mnist_gui.training.PROGRESS_INTERVAL`
(10 a second); weight snapshots, each of which the GUI turns into a new prediction of the drawing
(~2 ms of its thread), go out at most every :data:`SNAPSHOT_INTERVAL` and always at the last step;
every epoch result goes out (each is a point on the plots), followed by an :class:`EpochSnapshot`
(the weights at the epoch's end and what the network said about each validation image, which the
session computed anyway: about 0.5 ms of copying an epoch for ``best``, nothing recomputed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

import numpy as np

from mnist_gui import data as datasets
from mnist_gui.data import MnistData
from mnist_gui.errors import LibraryError
from mnist_gui.insight.digit_map import DigitMap, map_digits
from mnist_gui.insight.evaluation import Evaluation, evaluate_model
from mnist_gui.insight.weights import tile_mosaic
from mnist_gui.model import Model
from mnist_gui.state.curves import RunCurves
from mnist_gui.state.inspection import EvaluationRequest, MapRequest
from mnist_gui.state.library import RunLibrary, RunRecord
from mnist_gui.training import (PROGRESS_INTERVAL, BatchProgress, EpochResult, Predictions, TrainingConfig,
                                TrainingControl, TrainingFinished, TrainingSession)
from mnist_gui.training.finetune import FineTuneConfig, fine_tune

# Seconds between weight snapshots (and the last step always): each one re-predicts the drawing and
# repaints the bar chart, 2 ms of the GUI thread, the largest share of its work per tick; 5 a second
# still shows the prediction changing as the network learns.
SNAPSHOT_INTERVAL = 0.2

Report = Callable[[object], None]


# -- what jobs report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetLoaded:
    path: str | None           # what was asked for (None: the bundled copy)
    data: MnistData            # its arrays are read-only


@dataclass(frozen=True)
class TrainingStarted:
    config: TrainingConfig
    n_train: int
    n_params: int
    description: str
    dataset: str
    model: Model               # a private copy of the initial network, for the GUI to predict with
    validation_images: np.ndarray | None = None   # (N, 784) uint8, read-only: the set each epoch is checked on
    validation_labels: np.ndarray | None = None
    epochs_before: int = 0     # a continued run: the epochs its initial model had been trained for


@dataclass(frozen=True)
class WeightsSnapshot:
    """The network's weights at one step: fresh, read-only copies of [W0, b0, W1, b1, ...].

    Copying the weights costs 0.06 ms for 784-256-128-10 and 0.45 ms for 784-1024-1024-10, where a deep
    copy of the whole model (caches, gradients) costs 4 ms and 22 ms: at 25 snapshots a second that is
    the difference between 0.2% and 10-50% of the training thread's time.
    """

    step: int
    weights: tuple

    def apply_to(self, model: Model) -> Model:
        """Load these weights into ``model`` (same architecture), which is returned."""
        model.network.set_weights(self.weights)
        return model


@dataclass(frozen=True, eq=False)
class EpochSnapshot:
    """The end of an epoch: the weights then (read-only copies of [W0, b0, ...]) and what the network
    said about each validation image (None without a validation set). For time travel and the
    confusion matrix, which follows the validation set during a run."""

    epoch: int
    weights: tuple
    validation: Predictions | None


@dataclass(frozen=True)
class TrainingOutcome:
    """The last event of a run, with the trained model (the job no longer touches it)."""

    result: TrainingFinished
    model: Model
    config: TrainingConfig
    autosaved: str | None = None        # where the job kept the model (the run's model file in the library)
    autosave_error: str | None = None   # why it could not
    record: RunRecord | None = None     # the run in the library
    curves: RunCurves | None = None     # its curves (a private copy)
    test: Predictions | None = field(default=None, compare=False)   # the model's answer for each test image


@dataclass(frozen=True, eq=False)
class ModelEvaluated:
    key: tuple                 # the request's key
    evaluation: Evaluation


@dataclass(frozen=True, eq=False)
class DigitsMapped:
    key: tuple
    digit_map: DigitMap


@dataclass(frozen=True, eq=False)
class TilesDrawn:
    key: tuple                 # (first unit, units, columns, own scale), as asked
    mosaic: np.ndarray         # packed 0xFFRRGGBB pixels (insight.weights.tile_mosaic)


@dataclass(frozen=True)
class FineTuneStarted:
    """A fine-tune has its data and starts: what the window needs to reset its progress and curves."""

    config: FineTuneConfig
    n_digits: int
    description: str           # the model's architecture
    dataset: str
    source: str | None         # the model fine-tuned (a run's name)
    model: Model               # a private copy of the starting model, for the GUI to predict with


@dataclass(frozen=True)
class FineTuneOutcome:
    """The end of a fine-tune: the new model (the job no longer touches it) and its figures."""

    result: TrainingFinished
    model: Model
    metrics: dict              # fine_tune's metrics (a private dict): test/my_digits accuracy before and after...
    config: FineTuneConfig
    held_out: tuple[int, ...]  # which of the digits given were held out (indices)
    record: RunRecord | None = None     # the run in the library
    record_error: str | None = None     # why it could not be recorded
    curves: RunCurves | None = None     # its curves (a private copy)


# -- the jobs ------------------------------------------------------------------------------------------
class Job:
    """One piece of background work, stoppable through :attr:`control`."""

    def __init__(self) -> None:
        self.control = TrainingControl()

    def run(self, report: Report) -> None:
        raise NotImplementedError


class LoadDataset(Job):
    """Load (and so check) a dataset: reports :class:`DatasetLoaded`. ``loaded`` is a dataset already in
    memory for the same path, which is then reported without reading anything."""

    def __init__(self, path: str | None, loaded: MnistData | None = None) -> None:
        super().__init__()
        self.path = path
        self.loaded = loaded

    def load(self, report: Report, control: TrainingControl | None = None) -> MnistData:
        """The dataset; ``control`` (default: this job's) can stop a long load between two pieces
        of a file, for the Stop button or a window closing, instead of after it."""
        if self.loaded is not None:
            return self.loaded
        control = control or self.control
        data = datasets.load_mnist(self.path, stop=lambda: control.stop_requested)
        report(DatasetLoaded(self.path, data))
        return data

    def run(self, report: Report) -> None:
        self.load(report)


class RecordRun:
    """Write a finished run into the library (model, curves, record), in the training thread before
    the run reports its end, so a slow disk never freezes the window. It also records the run's
    curves as the events go by (a continued run's go on from its parent's).

    ``library``: the library's folder (the job opens its own :class:`RunLibrary`, so nothing is
    shared with the GUI thread); ``parent``: the record of the model a continued run started from."""

    def __init__(self, library: str, parent: RunRecord | None = None, parent_curves: RunCurves | None = None,
                 name: str | None = None) -> None:
        self.library = library
        self.parent = parent
        self.name = name
        self.curves = parent_curves.continued() if parent_curves is not None else RunCurves()
        self.created = datetime.now().astimezone().isoformat(timespec="seconds")

    def observe(self, event) -> None:
        self.curves.add(event)

    def write(self, result: TrainingFinished, model: Model, config, dataset: dict,
              fine_tune: dict | None = None) -> tuple[RunRecord | None, str | None]:
        """(the run's record, or None; why there is none, or None). ``fine_tune``: the run is a fine-tune
        of ``parent`` with these figures (see :meth:`RunLibrary.add_training_run`)."""
        try:
            record = RunLibrary(self.library).add_training_run(model, result, config, dataset, self.curves,
                                                               self.created, self.parent, self.name, fine_tune)
        except LibraryError as exc:
            return None, str(exc)
        return record, None


class Train(Job):
    """Train ``config`` on a dataset (loaded first if it is not in memory yet), reporting
    :class:`TrainingStarted`, ``BatchProgress``, :class:`WeightsSnapshot`, ``EpochResult`` with its
    :class:`EpochSnapshot`, and finally :class:`TrainingOutcome` (nothing more once abandoned)."""

    def __init__(self, config: TrainingConfig, dataset: LoadDataset, record_run: RecordRun | None = None,
                 progress_interval: float | None = None, snapshots: bool = True, initial: Model | None = None,
                 my_digits: Sequence | None = None) -> None:
        super().__init__()
        self.my_digits = None if my_digits is None else tuple(my_digits)   # for config.my_digits
        self.config = config
        self.dataset = dataset
        self.record_run = record_run
        self.initial = initial   # continue training this model (the job's own copy: never shared)
        self.progress_interval = PROGRESS_INTERVAL if progress_interval is None else progress_interval
        self.snapshot_interval = max(SNAPSHOT_INTERVAL, self.progress_interval)
        self.snapshots = snapshots

    def run(self, report: Report) -> None:
        data = self.dataset.load(report, self.control)
        if self.control.abandoned:
            return
        session = TrainingSession(self.config, data, self.control, progress_interval=self.progress_interval,
                                  initial=self.initial, my_digits=self.my_digits)
        report(TrainingStarted(config=self.config, n_train=int(session.train_x.shape[0]),
                               n_params=session.model.network.n_params, description=session.model.describe(),
                               dataset=data.source, model=session.snapshot(), validation_images=session.val_x,
                               validation_labels=session.val_y.astype(np.uint8), epochs_before=session.epoch_offset))
        events = session.run()
        last_snapshot = -1e9
        try:
            for event in events:
                if self.control.abandoned:
                    break   # closing: no test evaluation, the window is going away
                if self.record_run is not None:
                    self.record_run.observe(event)
                if isinstance(event, BatchProgress):
                    report(event)
                    now = time.perf_counter()
                    if self.snapshots and (now - last_snapshot >= self.snapshot_interval
                                           or event.step == event.total_steps):
                        last_snapshot = now
                        report(self._snapshot(session, event.step))
                elif isinstance(event, EpochResult):
                    report(event)
                    report(EpochSnapshot(event.epoch, self._frozen_weights(session), session.validation_predictions))
                elif isinstance(event, TrainingFinished):
                    report(self._outcome(event, session, data))
        finally:
            events.close()

    def _outcome(self, event: TrainingFinished, session: TrainingSession, data: MnistData) -> TrainingOutcome:
        test = session.test_predictions
        if self.record_run is None:
            return TrainingOutcome(event, session.model, self.config, test=test)
        dataset = {"source": data.source, "checksum": data.checksum}
        record, error = self.record_run.write(event, session.model, self.config, dataset)
        return TrainingOutcome(event, session.model, self.config, None if record is None else str(record.model_path),
                               error, record, RunCurves.from_json(self.record_run.curves.to_json()), test=test)

    @classmethod
    def _snapshot(cls, session: TrainingSession, step: int) -> WeightsSnapshot:
        return WeightsSnapshot(step, cls._frozen_weights(session))

    @staticmethod
    def _frozen_weights(session: TrainingSession) -> tuple:
        weights = session.model.network.get_weights()
        for w in weights:
            w.flags.writeable = False
        return tuple(weights)


class FineTune(Job):
    """Fine-tune ``model`` on the user's ``digits`` (:func:`~mnist_gui.training.finetune.fine_tune`,
    on a copy: ``model`` is not changed) with MNIST replay from the dataset (loaded first if it is not in
    memory yet), reporting :class:`FineTuneStarted`, ``BatchProgress``, :class:`WeightsSnapshot`,
    ``EpochResult`` and finally :class:`FineTuneOutcome` (nothing more once abandoned). With
    ``record_run`` (its ``parent``: the record of ``model``) the result becomes a new run of the library,
    origin ``fine-tuned``, before the outcome is reported. Bad input fails before any work."""

    def __init__(self, model: Model, digits: Sequence, dataset: LoadDataset, config: FineTuneConfig | None = None,
                 record_run: RecordRun | None = None, source: str | None = None,
                 progress_interval: float | None = None, snapshots: bool = True) -> None:
        super().__init__()
        self.model = model
        self.digits = tuple(digits)   # records are immutable; the tuple is the job's own
        self.dataset = dataset
        self.config = config or FineTuneConfig()
        self.record_run = record_run
        self.source = source if source is not None else (record_run.parent.name if record_run is not None
                                                         and record_run.parent is not None else None)
        self.progress_interval = PROGRESS_INTERVAL if progress_interval is None else progress_interval
        self.snapshot_interval = max(SNAPSHOT_INTERVAL, self.progress_interval)
        self.snapshots = snapshots

    def run(self, report: Report) -> None:
        data = self.dataset.load(report)
        if self.control.abandoned:
            return
        report(FineTuneStarted(config=self.config, n_digits=len(self.digits), description=self.model.describe(),
                               dataset=data.source, source=self.source, model=self.model.copy()))
        last_snapshot = -1e9

        def on_event(event) -> None:
            if self.control.abandoned:
                return
            if self.record_run is not None:
                self.record_run.observe(event)
            if isinstance(event, (BatchProgress, EpochResult)):
                report(event)

        def on_step(step: int, steps: int, model: Model) -> None:
            nonlocal last_snapshot
            now = time.perf_counter()
            if self.snapshots and not self.control.abandoned and (now - last_snapshot >= self.snapshot_interval
                                                                  or step == steps):
                last_snapshot = now
                report(_weights(model, step))

        result = fine_tune(self.model, self.digits, data, config=self.config, control=self.control,
                           on_event=on_event, source=self.source, progress_interval=self.progress_interval,
                           on_step=on_step)
        if self.control.abandoned:
            return
        outcome = FineTuneOutcome(result.finished, result.model, dict(result.metrics), self.config, result.held_out)
        if self.record_run is not None:
            record, error = self.record_run.write(result.finished, result.model, self.config,
                                                  {"source": data.source, "checksum": data.checksum},
                                                  fine_tune=result.metrics)
            outcome = FineTuneOutcome(result.finished, result.model, dict(result.metrics), self.config,
                                      result.held_out, record, error,
                                      RunCurves.from_json(self.record_run.curves.to_json()))
        report(outcome)


def _weights(model: Model, step: int) -> WeightsSnapshot:
    weights = model.network.get_weights()
    for w in weights:
        w.flags.writeable = False
    return WeightsSnapshot(step, tuple(weights))


# -- analysis jobs (the insight views' worker runs them, one at a time) -----------------------------------
class EvaluateModel(Job):
    """Evaluate a request's model on its images (the test set of ``data`` when the request names none):
    reports :class:`ModelEvaluated`. Works on a private copy of the model, whose buffers the pass uses."""

    def __init__(self, request: EvaluationRequest, data: MnistData) -> None:
        super().__init__()
        self.request = request
        self.data = data

    def run(self, report: Report) -> None:
        r = self.request
        images, labels = (r.images, r.labels) if r.images is not None else (self.data.test_images, self.data.test_labels)
        evaluation = evaluate_model(r.model.copy(), images, labels, r.name, r.about)
        if not self.control.abandoned:
            report(ModelEvaluated(r.key, evaluation))


class MapDigits(Job):
    """The map of the digits (PCA of the last hidden layer) of a request's model on ``data``'s test
    set: reports :class:`DigitsMapped`. Reads the model through the stateless pass only."""

    def __init__(self, request: MapRequest, data: MnistData) -> None:
        super().__init__()
        self.request = request
        self.data = data

    def run(self, report: Report) -> None:
        r = self.request
        digit_map = map_digits(r.model, self.data.test_images, self.data.test_labels, reference=r.reference)
        if not self.control.abandoned:
            report(DigitsMapped(r.key, digit_map))


class DrawTiles(Job):
    """A page of first-layer weight tiles (:func:`~mnist_gui.insight.weights.tile_mosaic`) from
    read-only weights (a snapshot's): reports :class:`TilesDrawn`. Five a second during training,
    a millisecond or two each, kept off the GUI thread (NumPy lets the GIL go meanwhile)."""

    def __init__(self, w0: np.ndarray, key: tuple) -> None:
        super().__init__()
        self.w0 = w0
        self.key = key

    def run(self, report: Report) -> None:
        first, n, columns, per_unit = self.key
        report(TilesDrawn(self.key, tile_mosaic(self.w0, np.arange(first, first + n), columns, per_unit)))
