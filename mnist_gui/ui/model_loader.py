"""Model files loaded in a background thread, so the window never waits for a disk or a big file.

The window used to load the remembered model in its constructor and File > Open in the GUI thread: a
file declaring a huge network froze it for seconds, and at start-up it delayed the first paint by as
much. Now :func:`~mnist_gui.model.file.load_model` refuses oversized networks at once (the one limit
of :mod:`mnist_gui.model.limits`), and what remains, up to ~0.4 s for the largest network allowed,
happens here, in a plain Python thread; the result crosses to the GUI thread as a queued signal.

One request at a time counts: a newer request (or :meth:`ModelLoader.forget`, when the window adopts
a model some other way) makes the result of an older one be dropped on arrival. :meth:`shutdown`
joins the thread (a load is short: the size limit bounds it).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal, Slot

from mnist_gui.errors import ModelFileError, display_name
from mnist_gui.model import Model, load_model


class ModelLoader(QObject):
    """Loads one model file at a time off the GUI thread; reports in the GUI thread."""

    loaded = Signal(object, str)   # (Model, path) of the newest request
    failed = Signal(object, str)   # (ModelFileError, path) of the newest request
    _arrived = Signal(int, object, str)   # (request number, Model or ModelFileError, path), queued

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._request = 0
        self._threads: list[threading.Thread] = []
        self._arrived.connect(self._deliver)

    def load(self, path: str) -> None:
        """Start loading ``path``; ``loaded`` or ``failed`` follows (unless a newer request came)."""
        self._request += 1
        number = self._request
        thread = threading.Thread(target=self._run, args=(number, str(path)), name="mnist-gui model load",
                                  daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def busy(self) -> bool:
        """A request is still on its way."""
        return any(t.is_alive() for t in self._threads)

    def forget(self) -> None:
        """Drop the result of any request made so far (the window chose a model another way)."""
        self._request += 1

    def shutdown(self, timeout: float = 1.0) -> None:
        """Drop pending results and join the loading threads (each load is bounded by the size limit)."""
        self.forget()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]

    def _run(self, number: int, path: str) -> None:
        try:
            result: Model | ModelFileError = load_model(path)
        except ModelFileError as exc:
            result = exc
        except MemoryError:
            result = ModelFileError(f"{display_name(path)}: not enough memory to load this model")
        except Exception as exc:  # noqa: BLE001 - a bug, but the window must hear of it, not wait for ever
            result = ModelFileError(f"{display_name(path)}: unexpected error while loading: "
                                    f"{type(exc).__name__}: {exc}")
        self._arrived.emit(number, result, path)

    @Slot(int, object, str)
    def _deliver(self, number: int, result: object, path: str) -> None:
        if number != self._request:
            return   # a newer request (or a model chosen since) wins
        if isinstance(result, Model):
            self.loaded.emit(result, path)
        else:
            self.failed.emit(result, path)
