"""Background jobs in a ``QThread``, reported to the GUI thread as signals: the window's one channel.

Like Qt's *Mandelbrot* example, the work happens in a thread while the window stays live, results
cross over by queued signals, and a job can be stopped at once. The jobs themselves are plain Python
(:mod:`mnist_gui.jobs`: load a dataset, train or fine-tune and record the run); :class:`TrainingRunner` runs one at a
time in a fresh ``QThread`` and declares, once, the typed signals a window connects to.

A job reports through a single queued signal that carries (job, payload); in the GUI thread the
runner drops payloads of jobs that are no longer current (a run abandoned a moment ago) and emits
the typed signal that matches the payload's type. ``done`` is always last: by the time it arrives,
the job's thread has been joined and every earlier payload has been delivered.

:meth:`TrainingRunner.shutdown` abandons the job and joins its thread, so closing the window
mid-training neither hangs nor destroys a running ``QThread``.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from mnist_gui.data import MnistData
from mnist_gui.errors import ConfigError, LoadCancelled, MnistGuiError
from mnist_gui.jobs import (DatasetLoaded, EpochSnapshot, FineTune, FineTuneOutcome, FineTuneStarted, Job, LoadDataset,
                            RecordRun, Train, TrainingOutcome, TrainingStarted, WeightsSnapshot)
from mnist_gui.model import Model
from mnist_gui.training import BatchProgress, EpochResult, TrainingConfig


class _JobFailed:
    def __init__(self, error: MnistGuiError) -> None:
        self.error = error


_DONE = object()   # the executor's last report


class _Executor(QObject):
    """Lives in the job's thread and runs it; everything it reports goes out through ``report``."""

    report = Signal(object, object)   # (job, payload)

    def __init__(self, job: Job, thread: QThread) -> None:
        super().__init__()
        self.job = job
        self._thread = thread

    @Slot()
    def run(self) -> None:
        job = self.job
        try:
            job.run(lambda payload: self.report.emit(job, payload))
        except LoadCancelled:
            pass   # stopped while loading: nothing failed, ``done`` says it is over
        except MnistGuiError as exc:
            self.report.emit(job, _JobFailed(exc))
        except MemoryError:
            self.report.emit(job, _JobFailed(ConfigError(
                "not enough memory for this network and batch size; use smaller hidden layers or batches")))
        except Exception as exc:  # a bug: report it instead of letting the thread die silently
            traceback.print_exc()
            self.report.emit(job, _JobFailed(MnistGuiError(
                f"unexpected error during training: {type(exc).__name__}: {exc}")))
        finally:
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())   # so the GUI thread can delete us later
            self.report.emit(job, _DONE)
            # Quit from the job's own thread, so a GUI thread blocked in wait() cannot deadlock.
            self._thread.quit()


class TrainingRunner(QObject):
    """Runs one background job at a time and turns its reports into these signals (GUI thread).

    It keeps the last dataset loaded, so the next run with the same path skips loading it. Start a
    new job only after ``done``.
    """

    dataset_ready = Signal(object)     # DatasetLoaded
    training_started = Signal(object)  # TrainingStarted
    progress = Signal(object)          # BatchProgress
    snapshot = Signal(object)          # WeightsSnapshot: the current weights, for "watch it learn"
    epoch_finished = Signal(object)    # EpochResult
    epoch_snapshot = Signal(object)    # EpochSnapshot: weights and validation predictions at the epoch's end
    finished = Signal(object)          # TrainingOutcome
    finetune_started = Signal(object)  # FineTuneStarted (then progress, snapshot, epoch_finished as for training)
    finetuned = Signal(object)         # FineTuneOutcome
    failed = Signal(object)            # MnistGuiError (its str() is the message for the user)
    done = Signal()                    # always the last signal of a job, after finished or failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._executor: _Executor | None = None
        self._job: Job | None = None
        self._dataset: DatasetLoaded | None = None

    @classmethod
    def signal_names(cls) -> tuple[str, ...]:
        """The names of the signals above, in declaration order (for recorders and diagnostics)."""
        return tuple(name for name, value in vars(cls).items() if isinstance(value, Signal))

    # -- starting jobs ----------------------------------------------------------------------------
    def train(self, config: TrainingConfig, dataset_path: str | None = None, record_run: RecordRun | None = None,
              data: MnistData | None = None, progress_interval: float | None = None,
              initial: Model | None = None, my_digits=None) -> Train:
        """Train ``config`` on ``data``, or on the dataset at ``dataset_path`` (None: the bundled copy);
        with ``initial``, continue training that model (a copy the job may keep for itself); ``my_digits``:
        the user's drawings, for ``config.my_digits``."""
        job = Train(config, LoadDataset(dataset_path, self._cached(dataset_path, data)), record_run, progress_interval,
                    initial=initial, my_digits=my_digits)
        self.run(job)
        return job

    def fine_tune(self, model: Model, digits, dataset_path: str | None = None, record_run: RecordRun | None = None,
                  config=None, data: MnistData | None = None, progress_interval: float | None = None) -> FineTune:
        """Fine-tune a copy of ``model`` on the user's ``digits`` with MNIST replay from the dataset at
        ``dataset_path`` (None: the bundled copy): ``finetune_started``, progress, ``finetuned``, ``done``."""
        job = FineTune(model, digits, LoadDataset(dataset_path, self._cached(dataset_path, data)), config, record_run,
                       progress_interval=progress_interval)
        self.run(job)
        return job

    def _cached(self, dataset_path: str | None, data: MnistData | None) -> MnistData | None:
        """``data``, or the dataset loaded last if it is the one at ``dataset_path``."""
        cached = self._dataset
        if data is None and cached is not None and cached.path == dataset_path:
            return cached.data
        return data

    def check_dataset(self, dataset_path: str | None) -> LoadDataset:
        """Load (and so validate) a dataset in the background: ``dataset_ready`` or ``failed``, then ``done``."""
        job = LoadDataset(dataset_path)
        self.run(job)
        return job

    def run(self, job: Job) -> None:
        """Run ``job`` in a fresh thread (joining the previous one first, if any)."""
        if self._thread is not None:
            self._join()
        thread = QThread()
        thread.setObjectName("mnist-gui job")
        executor = _Executor(job, thread)
        executor.moveToThread(thread)
        thread.started.connect(executor.run)
        executor.report.connect(self._deliver)   # queued: delivered in the GUI thread, in order
        self._thread, self._executor, self._job = thread, executor, job
        thread.start()

    # -- state and control (GUI thread; control goes straight to the job) --------------------------
    @property
    def job(self) -> Job | None:
        return self._job

    @property
    def current_thread(self) -> QThread | None:
        """The running job's thread, or None once it has been joined."""
        return self._thread

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def is_busy(self) -> bool:
        """True from run() until the job's thread has been joined."""
        return self._job is not None

    @property
    def paused(self) -> bool:
        return self._job is not None and self._job.control.paused

    def pause(self) -> None:
        if self._job is not None:
            self._job.control.pause()

    def resume(self) -> None:
        if self._job is not None:
            self._job.control.resume()

    def stop(self) -> None:
        """Stop after the current batch; a training still reports test metrics for what it learnt."""
        if self._job is not None:
            self._job.control.stop()

    def finish(self, timeout: float) -> bool:
        """Stop the job after its current batch and let it end by itself (a training evaluates what it
        learnt and records its run in the library, in its own thread), waiting up to ``timeout``
        seconds; then join. True if it ended by itself, False if it had to be abandoned."""
        thread = self._thread
        ended = True
        if self._job is not None and thread is not None:
            self._job.control.stop()
            ended = thread.wait(max(0, int(timeout * 1000)))
        self.shutdown()
        return ended

    def shutdown(self) -> None:
        """Abandon the job (if any: it reports nothing more) and join its thread. Safe to call repeatedly."""
        if self._job is not None:
            self._job.control.abandon()
        self._join()

    # -- delivery ----------------------------------------------------------------------------------
    @Slot(object, object)
    def _deliver(self, job: Job, payload: object) -> None:
        if job is not self._job:
            return   # from a job already abandoned and joined
        match payload:
            case BatchProgress():
                self.progress.emit(payload)
            case WeightsSnapshot():
                self.snapshot.emit(payload)
            case EpochResult():
                self.epoch_finished.emit(payload)
            case EpochSnapshot():
                self.epoch_snapshot.emit(payload)
            case TrainingStarted():
                self.training_started.emit(payload)
            case TrainingOutcome():
                self.finished.emit(payload)
            case FineTuneStarted():
                self.finetune_started.emit(payload)
            case FineTuneOutcome():
                self.finetuned.emit(payload)
            case DatasetLoaded():
                self._dataset = payload
                self.dataset_ready.emit(payload)
            case _JobFailed():
                self.failed.emit(payload.error)
            case _ if payload is _DONE:
                self._join()
                self.done.emit()

    def _join(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
        self._thread, self._executor, self._job = None, None, None
