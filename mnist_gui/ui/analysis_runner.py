"""The insight views' worker: evaluations and maps of the digits computed off the GUI thread.

:class:`~mnist_gui.ui.worker.TrainingRunner` runs one job at a time, usually a training that lasts
minutes, so the analysis jobs (:mod:`mnist_gui.jobs`: load the dataset, evaluate a model over
10,000 test images, map the digits, draw weight tiles during training) have a runner of their own: one long-lived ``QThread`` (a
thread per short job makes glibc's arenas, and so the memory, wander), fed through a queue that
holds at most one waiting job per *kind*. Asking again for a kind replaces the waiting job, and
abandons the running one of that kind, whose results are then dropped: when a user slides through
epochs, only the last one asked for is computed and shown.

Results come back as queued signals, declared once below, in the GUI thread; ``failed`` carries the
kind and the error. :meth:`AnalysisRunner.shutdown` abandons everything and joins the thread.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mnist_gui.errors import MnistGuiError
from mnist_gui.jobs import DatasetLoaded, DigitsMapped, Job, ModelEvaluated, TilesDrawn

_DONE = object()


class _Worker(QObject):
    """Lives in the analysis thread; runs queued jobs until the queue is empty."""

    report = Signal(str, object, object)   # (kind, job, payload)

    def __init__(self, queue: dict, lock: threading.Lock) -> None:
        super().__init__()
        self._queue = queue
        self._lock = lock
        self.running: tuple[str, Job] | None = None

    @Slot()
    def drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self.running = None
                    return
                kind = next(iter(self._queue))
                job = self._queue.pop(kind)
                self.running = (kind, job)
            self._run(kind, job)

    def _run(self, kind: str, job: Job) -> None:
        try:
            if not job.control.abandoned:
                job.run(lambda payload: self.report.emit(kind, job, payload))
        except MnistGuiError as exc:
            self.report.emit(kind, job, exc)
        except MemoryError:
            self.report.emit(kind, job, MnistGuiError("not enough memory to analyse this model"))
        except Exception as exc:   # a bug: say so instead of losing the thread
            traceback.print_exc()
            self.report.emit(kind, job, MnistGuiError(f"unexpected error in {kind}: {type(exc).__name__}: {exc}"))
        finally:
            self.report.emit(kind, job, _DONE)


class AnalysisRunner(QObject):
    """Runs analysis jobs in one worker thread, newest request of each kind only."""

    dataset_ready = Signal(object)   # DatasetLoaded
    evaluated = Signal(object)       # ModelEvaluated
    mapped = Signal(object)          # DigitsMapped
    tiles = Signal(object)           # TilesDrawn
    failed = Signal(str, object)     # (kind, MnistGuiError)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._latest: dict[str, Job] = {}   # per kind, the job whose results count (GUI thread)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None

    def submit(self, kind: str, job: Job) -> None:
        """Run ``job`` after the jobs of other kinds already waiting; it replaces any job of its kind."""
        if self._thread is None:
            self._start()
        with self._lock:
            waiting = self._queue.pop(kind, None)
            if waiting is not None:
                waiting.control.abandon()
            running = self._worker.running
            if running is not None and running[0] == kind:
                running[1].control.abandon()
            self._queue[kind] = job
        self._latest[kind] = job
        self._wake.emit()

    def pending(self, kind: str) -> bool:
        """Whether a job of ``kind`` was asked for and has not finished."""
        return kind in self._latest

    def is_idle(self) -> bool:
        return not self._latest

    @property
    def thread(self) -> QThread | None:
        return self._thread

    def _start(self) -> None:
        thread = QThread()
        thread.setObjectName("mnist-gui analysis")
        worker = _Worker(self._queue, self._lock)
        worker.moveToThread(thread)
        self._wake.connect(worker.drain)
        worker.report.connect(self._deliver)
        thread.finished.connect(worker.deleteLater)   # Qt's pattern: gone with its thread, in its thread
        self._thread, self._worker = thread, worker
        thread.start()

    @Slot(str, object, object)
    def _deliver(self, kind: str, job: Job, payload: object) -> None:
        if self._latest.get(kind) is not job:
            return   # replaced by a newer request, or the runner was shut down
        match payload:
            case _ if payload is _DONE:
                del self._latest[kind]
            case DatasetLoaded():
                self.dataset_ready.emit(payload)
            case ModelEvaluated():
                self.evaluated.emit(payload)
            case DigitsMapped():
                self.mapped.emit(payload)
            case TilesDrawn():
                self.tiles.emit(payload)
            case MnistGuiError():
                self.failed.emit(kind, payload)

    def shutdown(self) -> None:
        """Abandon every job and join the thread (idempotent)."""
        with self._lock:
            for job in self._queue.values():
                job.control.abandon()
            self._queue.clear()
            if self._worker is not None and self._worker.running is not None:
                self._worker.running[1].control.abandon()
        self._latest.clear()
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
            self._thread, self._worker = None, None
