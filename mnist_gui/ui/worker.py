"""Training in a background thread, reported to the GUI as signals carrying immutable snapshots.

Like Qt's *Mandelbrot* example, the work happens in a :class:`QThread` while the window stays live,
results cross over by queued signals, and a run can be stopped at once. :class:`TrainingWorker` is a
plain :class:`QObject` moved to the thread; its :meth:`~TrainingWorker.run` loads the dataset (never
in the GUI thread), drives the Qt-free :class:`~mnist_gui.training.TrainingSession` and turns its
events into signals. Everything it emits is immutable (frozen dataclasses) or a private copy (a model
snapshot), so the GUI never shares mutable state with the training thread.

Signal budget: progress goes out at most every ``progress_interval`` seconds (10 a second), model
snapshots every ``SNAPSHOT_INTERVAL`` (5 a second) and at the last step; epoch results always go
out, since each is a point on the plots. Pause, resume and
stop go straight to the thread-safe :class:`~mnist_gui.training.TrainingControl`, not through the
worker's (busy) event loop, so they act within one batch.

:class:`TrainingRunner` owns the thread's lifetime: one run at a time, and :meth:`TrainingRunner.shutdown`
stops the run and joins the thread, so closing the window mid-training neither hangs nor destroys a
running QThread.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from mnist_gui.errors import ConfigError, MnistGuiError, ModelFileError
from mnist_gui.model import Model
from mnist_gui.modelfile import save_model
from mnist_gui.training import (BatchProgress, EpochResult, TrainingConfig, TrainingControl, TrainingFinished,
                                TrainingSession)

# Seconds between progress signals: 10 a second keeps the bar and the curves live, and keeps the GUI
# thread's share of the two cores small. At 25 a second the GUI thread used 11-12% of a core during
# training and the window trained at 0.57-0.80x of the headless speed; at 10 a second, 8% and
# 0.88-0.92x (fast preset, same process, paired runs).
PROGRESS_INTERVAL = 0.1
# Seconds between weight snapshots (and the last step always): each one re-predicts the drawing and
# repaints the bar chart, 2 ms of the GUI thread, the largest share of its work per tick; 5 a second
# still shows the prediction changing as the network learns.
SNAPSHOT_INTERVAL = 0.2


@dataclass(frozen=True)
class DatasetLoaded:
    path: str | None           # what was asked for (None: the bundled copy)
    data: object               # mnist_gui.data.MnistData (its arrays are never written to)


@dataclass(frozen=True)
class TrainingStarted:
    config: TrainingConfig
    n_train: int
    n_params: int
    description: str
    dataset: str
    model: Model               # a private copy of the initial network, for the GUI to predict with


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


@dataclass(frozen=True)
class TrainingOutcome:
    """The last event of a run, with the trained model (the worker no longer touches it)."""

    result: TrainingFinished
    model: Model
    config: TrainingConfig
    autosaved: str | None = None        # where the worker kept a copy of the model, if it did
    autosave_error: str | None = None   # why it could not


def window_keeps(result: TrainingFinished, has_model: bool) -> bool:
    """Whether the window adopts a run's model: not a diverged one, and not one stopped within its
    first epoch when there is a model to keep instead (it is rarely better than the one it would
    replace). One rule for the window and for the worker's autosave."""
    if result.status == "diverged":
        return False
    return not (result.status == "stopped" and result.epochs_completed == 0 and has_model)


@dataclass(frozen=True)
class Autosave:
    """Keep a copy of the trained model at ``path`` (if the window will adopt it; ``has_model``:
    the window had a model when training started). Written in the training thread, atomically, so
    a slow disk never freezes the window."""

    path: str
    has_model: bool


class TrainingWorker(QObject):
    """Runs one training session (or, with ``config=None``, only loads and checks a dataset)."""

    dataset_ready = Signal(object)     # DatasetLoaded
    training_started = Signal(object)  # TrainingStarted
    progress = Signal(object)          # BatchProgress
    snapshot = Signal(object)          # WeightsSnapshot: the current weights, for "watch it learn"
    epoch_finished = Signal(object)    # EpochResult
    finished = Signal(object)          # TrainingOutcome
    failed = Signal(object)            # MnistGuiError (its str() is the message for the user)
    done = Signal()                    # always the last signal, after finished or failed

    def __init__(self, config: TrainingConfig | None, dataset_path: str | None = None, data=None,
                 progress_interval: float | None = None, snapshots: bool = True,
                 autosave: Autosave | None = None) -> None:
        super().__init__()
        self.config = config
        self.autosave = autosave
        self.dataset_path = dataset_path
        self._data = data
        self.progress_interval = PROGRESS_INTERVAL if progress_interval is None else progress_interval
        self.snapshot_interval = max(SNAPSHOT_INTERVAL, self.progress_interval)
        self.snapshots = snapshots
        self.control = TrainingControl()
        self._abandoned = False

    # Called from the GUI thread; all thread-safe.
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        """Stop after the current batch; the session still reports test metrics for what it learnt."""
        self.control.stop()

    def abandon(self) -> None:
        """Stop as fast as possible and report nothing more (the window is closing)."""
        self._abandoned = True
        self.control.abandon()

    @property
    def paused(self) -> bool:
        return self.control.paused

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except MnistGuiError as exc:
            self.failed.emit(exc)
        except MemoryError:
            self.failed.emit(ConfigError("not enough memory for this network and batch size; "
                                         "use smaller hidden layers or batches"))
        except Exception as exc:  # a bug: report it instead of letting the thread die silently
            traceback.print_exc()
            self.failed.emit(MnistGuiError(f"unexpected error during training: {type(exc).__name__}: {exc}"))
        finally:
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())   # so the GUI thread can delete us later
            self.done.emit()

    def _run(self) -> None:
        data = self._data
        if data is None:
            from mnist_gui.data import load_mnist

            data = load_mnist(self.dataset_path)
            self.dataset_ready.emit(DatasetLoaded(self.dataset_path, data))
        if self.config is None or self._abandoned:
            return
        session = TrainingSession(self.config, data, self.control, progress_interval=self.progress_interval)
        self.training_started.emit(TrainingStarted(
            config=self.config, n_train=int(session.train_x.shape[0]), n_params=session.model.network.n_params,
            description=session.model.describe(), dataset=str(getattr(data, "source", "?")),
            model=session.snapshot()))
        network = session.model.network
        events = session.run()   # progress is already throttled to ``progress_interval`` by the session
        last_snapshot = -1e9
        try:
            for event in events:
                if self._abandoned:
                    break   # closing events runs no test evaluation: the window is going away
                if isinstance(event, BatchProgress):
                    self.progress.emit(event)
                    now = time.perf_counter()
                    if self.snapshots and (now - last_snapshot >= self.snapshot_interval
                                           or event.step == event.total_steps):
                        last_snapshot = now
                        weights = network.get_weights()
                        for w in weights:
                            w.flags.writeable = False
                        self.snapshot.emit(WeightsSnapshot(event.step, tuple(weights)))
                elif isinstance(event, EpochResult):
                    self.epoch_finished.emit(event)
                elif isinstance(event, TrainingFinished):
                    self.finished.emit(TrainingOutcome(event, session.model, self.config,
                                                       *self._autosave(event, session.model)))
        finally:
            events.close()

    def _autosave(self, result: TrainingFinished, model: Model) -> tuple[str | None, str | None]:
        if self.autosave is None or not window_keeps(result, self.autosave.has_model):
            return None, None
        try:
            Path(self.autosave.path).parent.mkdir(parents=True, exist_ok=True)
            save_model(model, self.autosave.path)
        except (OSError, ModelFileError) as exc:
            return None, str(exc)
        return self.autosave.path, None


class TrainingRunner(QObject):
    """Owns the thread of the current run: one worker at a time; stop it, join it.

    The runner re-emits the current worker's signals, so a window connects once, not once per run,
    and it keeps the last dataset loaded, so the next run with the same path skips loading it.
    Start a new run only after ``done``: the signals of the previous one have all arrived by then.
    """

    dataset_ready = Signal(object)
    training_started = Signal(object)
    progress = Signal(object)
    snapshot = Signal(object)
    epoch_finished = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    done = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._dataset: DatasetLoaded | None = None

    def train(self, config: TrainingConfig, dataset_path: str | None = None,
              autosave: Autosave | None = None) -> TrainingWorker:
        """Start training ``config`` on the dataset at ``dataset_path`` (None: the bundled copy)."""
        cached = self._dataset
        data = cached.data if cached is not None and cached.path == dataset_path else None
        worker = TrainingWorker(config, dataset_path, data, autosave=autosave)
        self.start(worker)
        return worker

    def check_dataset(self, dataset_path: str | None) -> TrainingWorker:
        """Load (and so validate) a dataset in the background: ``dataset_ready`` or ``failed``, then ``done``."""
        worker = TrainingWorker(None, dataset_path)
        self.start(worker)
        return worker

    @property
    def worker(self) -> TrainingWorker | None:
        return self._worker

    @property
    def thread(self) -> QThread | None:  # noqa: D401 (shadowing QObject.thread on purpose)
        return self._thread

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def is_busy(self) -> bool:
        """True from start() until the worker's thread has been joined."""
        return self._worker is not None

    def start(self, worker: TrainingWorker) -> None:
        """Run ``worker`` in a fresh thread (connect to its own signals, if wanted, before calling this)."""
        if self._thread is not None:
            self._join()
        thread = QThread()
        thread.setObjectName("mnist-gui training")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        for name in ("dataset_ready", "training_started", "progress", "snapshot", "epoch_finished", "finished",
                     "failed", "done"):
            getattr(worker, name).connect(getattr(self, name))   # queued: re-emitted in the GUI thread
        worker.dataset_ready.connect(self._remember_dataset)
        # Direct: quit from the worker's own thread, so a GUI thread blocked in wait() cannot deadlock.
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.done.connect(self._on_worker_done)   # queued to the GUI thread: join, drop references
        self._thread, self._worker = thread, worker
        thread.start()

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.resume()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def shutdown(self) -> None:
        """Abandon the run (if any) and join its thread. Safe to call repeatedly."""
        if self._worker is not None:
            self._worker.abandon()
        self._join()

    @Slot(object)
    def _remember_dataset(self, loaded: DatasetLoaded) -> None:
        self._dataset = loaded

    @Slot()
    def _on_worker_done(self) -> None:
        if self.sender() is self._worker:   # not a late signal from a run already joined
            self._join()

    def _join(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
        self._thread, self._worker = None, None
