"""The window's side of My digits: saving drawings, undo, the view's requests, and the current model's reading.

:class:`MyDigitsController` owns the user's set (:class:`~mnist_gui.state.my_digits.MyDigits`, in
the data folder next to the library of runs), the :class:`~mnist_gui.ui.my_digits_view.MyDigitsView`
and the :class:`~mnist_gui.ui.correction_bar.CorrectionBar`. It saves what the window hands it, keeps
an undo list of its own changes (a save, a relabel, a deletion: Edit > Undo in My digits), relabels,
deletes, exports and imports, and has the current model read the set a slice at a time
(:class:`~mnist_gui.state.set_reading.SetReading`) so a large set never holds the window.

Like :class:`~mnist_gui.ui.models_controller.ModelsController` it works through the window's narrow
methods (``show_error``, ``statusBar``, ``model``) and never reaches into other widgets' insides.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from mnist_gui.errors import DatasetError
from mnist_gui.state.datadir import data_dir
from mnist_gui.state.my_digits import MyDigit, MyDigits
from mnist_gui.state.set_reading import SetReading
from mnist_gui.training.finetune import MIN_DIGITS
from mnist_gui.ui.correction_bar import CorrectionBar
from mnist_gui.ui.my_digits_view import MyDigitsView

#: The set's file in the data folder.
FILE_NAME = "my-digits.jsonl"
#: The time one turn of the event loop may spend predicting drawings: the number of drawings per turn
#: follows it (the 1024-1024 network reads a few dozen, a small one hundreds).
TURN_SECONDS = 0.012
MIN_ROWS, MAX_ROWS = 4, 2048
#: While the set is read, the view's figures are redrawn at most this often (and at the end).
SHOW_EVERY = 0.25
UNDO_DEPTH = 50
#: The fewest drawings a fine-tune (or a training that includes them) accepts.
MIN_TO_LEARN = MIN_DIGITS


def learned_summary(metrics: dict) -> str:
    """A fine-tune's figures in words: 'your held-out digits 70.0% → 95.0%, MNIST test 98.14% → 98.02%'."""
    def pct(value, digits: int) -> str:
        return "?" if not isinstance(value, (int, float)) or value != value else f"{value:.{digits}%}"
    if metrics.get("my_digits_accuracy") is None:
        mine = "your digits: not measured (no digit has two drawings, so none could be held out)"
    else:
        held = metrics.get("n_held_out")
        mine = (f"your held-out digits{f' ({held})' if held else ''} {pct(metrics.get('my_digits_accuracy_before'), 1)}"
                f" → {pct(metrics['my_digits_accuracy'], 1)}")
    return (f"{mine}, MNIST test {pct(metrics.get('test_accuracy_before'), 2)} → "
            f"{pct(metrics.get('test_accuracy'), 2)}")


def _a(label: int) -> str:
    return f"an {label}" if label == 8 else f"a {label}"


def _drawings(n: int) -> str:
    return f"{n:,} drawing{'s' if n != 1 else ''}"


class MyDigitsController(QObject):
    #: The set changed (saved, undone, relabelled, deleted, imported, loaded): how many drawings now.
    changed = Signal(int)

    def __init__(self, window, path=None) -> None:
        super().__init__(window)
        self.window = window
        self.store = MyDigits(path if path is not None else data_dir() / FILE_NAME)
        self.reading = SetReading()
        self.view = MyDigitsView()
        self.bar = CorrectionBar()
        self.warnings: list[str] = []
        self._loaded = False
        self._undo: list[tuple[str, Callable[[], None]]] = []   # (what it undoes, how)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._read_some)
        self._rows = 32                  # drawings read per turn (adapted to TURN_SECONDS)
        self._shown_at = 0.0
        v = self.view
        for signal, slot in ((v.relabel_requested, self.relabel), (v.delete_requested, self.delete),
                             (self.bar.undo_requested, self.undo)):
            signal.connect(slot)

    # -- loading -----------------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        """Read the set from disk, once. A damaged record (or a file that is not a set) gives one message
        and the rest is kept."""
        if self._loaded:
            return
        self._loaded = True
        self.warnings = self.store.load()
        if self.warnings:
            shown = self.warnings[:5] + ([f"… and {len(self.warnings) - 5} more"] if len(self.warnings) > 5 else [])
            self.window.show_error("Some of My digits could not be read",
                                   "\n".join(shown) + f"\n\nThe other {_drawings(len(self.store))} are kept.")
        self.reading.set_model(self.window.model, self.store.records)
        self._refresh()

    def __len__(self) -> int:
        return len(self.store)

    # -- saving ------------------------------------------------------------------------------------
    def add(self, label: int, strokes, image, restore_drawing: Callable[[], None] | None = None) -> MyDigit | None:
        """Save a drawing as ``label``; ``restore_drawing`` puts it back on the canvas when the save is undone."""
        self.ensure_loaded()
        try:
            record = self.store.add(label, strokes, image)
        except (OSError, ValueError) as exc:
            self.window.show_error("Cannot save to My digits", f"{getattr(exc, 'strerror', None) or exc}"
                                   f"\n\nMy digits ({self.store.path}) is unchanged.")
            return None

        def undo() -> None:
            self.store.delete(record.id)
            if restore_drawing is not None:
                restore_drawing()
        self._push(f"saving {_a(label)}", undo)
        self.reading.add([record])
        text = f"Saved as {_a(label)} to My digits ({_drawings(len(self.store))})"
        self.bar.show_saved(text, True)
        self.window.statusBar().showMessage(f"{text}. Undo: Ctrl+Shift+Z", 8000)
        self._refresh()
        return record

    def refuse(self, why: str) -> None:
        """Nothing was saved: say why, where the user looks (the bar) and in the status bar."""
        self.bar.show_saved(why, False)
        self.window.statusBar().showMessage(why, 8000)

    # -- changing the set --------------------------------------------------------------------------
    def relabel(self, ids: list[str], label: int) -> bool:
        self.ensure_loaded()
        old = [(r.id, r.label) for r in self.store.records if r.id in set(ids) and r.label != label]
        if not old:
            return False

        def apply(pairs) -> None:
            for ident, value in pairs:
                self.store.relabel(ident, value)
        if not self._change(lambda: apply([(i, label) for i, _ in old]), "relabel"):
            return False
        self._push(f"relabelling {_drawings(len(old))}", lambda: apply(old))
        self.window.statusBar().showMessage(f"Relabelled {_drawings(len(old))} as {label}", 6000)
        self._refresh()
        return True

    def delete(self, ids: list[str]) -> bool:
        self.ensure_loaded()
        gone = self.store.positions(ids)
        if not gone:
            return False
        if not self._change(lambda: [self.store.delete(r.id) for _, r in gone], "delete"):
            return False

        def undo() -> None:
            self.store.put_back(gone)
            self.reading.add([r for _, r in gone])
        self._push(f"deleting {_drawings(len(gone))}", undo)
        self.window.statusBar().showMessage(f"Deleted {_drawings(len(gone))} from My digits "
                                            "(Edit > Undo in My digits, Ctrl+Shift+Z, brings them back)", 10000)
        self._refresh()
        return True

    def _change(self, do: Callable[[], None], what: str) -> bool:
        try:
            do()
        except OSError as exc:
            self.window.show_error(f"Cannot {what} in My digits", f"{self.store.path}: {exc.strerror or exc}")
            self._refresh()
            return False
        return True

    # -- undo --------------------------------------------------------------------------------------
    def _push(self, what: str, undo: Callable[[], None]) -> None:
        self._undo = (self._undo + [(what, undo)])[-UNDO_DEPTH:]
        self.window.show_my_digits_undo(f"Undo {what}")

    def undo_text(self) -> str | None:
        return f"Undo {self._undo[-1][0]}" if self._undo else None

    def undo(self) -> bool:
        """Undo the last change to the set made here (a save, a relabel, a deletion)."""
        if not self._undo:
            self.window.statusBar().showMessage("Nothing to undo in My digits", 5000)
            return False
        what, undo = self._undo.pop()
        if not self._change(undo, "undo"):
            return False
        self.window.show_my_digits_undo(self.undo_text())
        self.bar.show_saved(f"Undone: {what}", False)
        self.window.statusBar().showMessage(f"Undone: {what} ({_drawings(len(self.store))} in My digits)", 6000)
        self._refresh()
        return True

    # -- files -------------------------------------------------------------------------------------
    def export(self, path: str) -> bool:
        self.ensure_loaded()
        try:
            n = self.store.export(path)
        except OSError as exc:
            self.window.show_error("Cannot export My digits", f"{path}: {exc.strerror or exc}")
            return False
        self.window.statusBar().showMessage(f"Exported {_drawings(n)} to {path}", 8000)
        return True

    def import_file(self, path: str) -> bool:
        """Add an exported set's drawings; a file with any problem adds nothing (one message says why)."""
        self.ensure_loaded()
        before = {r.id for r in self.store.records}
        try:
            n = self.store.import_file(path)
        except DatasetError as exc:
            self.window.show_error("Cannot import My digits", f"{exc}\n\nMy digits is unchanged.")
            return False
        except OSError as exc:
            self.window.show_error("Cannot import My digits", f"{self.store.path}: {exc.strerror or exc}"
                                   "\n\nMy digits is unchanged.")
            return False
        self.reading.add([r for r in self.store.records if r.id not in before])
        self.window.statusBar().showMessage(f"Imported {_drawings(n)} from {path}" if n else
                                            f"{path}: every drawing in it is already in My digits", 8000)
        self._refresh()
        return True

    # -- the current model's reading ---------------------------------------------------------------
    def model_changed(self) -> None:
        """The current model changed: read the whole set again with it."""
        if self._loaded:
            self.reading.set_model(self.window.model, self.store.records)
            self._refresh()

    def _read_some(self) -> None:
        # Never through BLAS: a BLAS call from this thread waits for BLAS's own threads (for a run in
        # training, or just a busy machine: 130 ms for 16 drawings measured with other jobs running),
        # where NumPy's own loop in this thread takes 0.2-0.3 ms a drawing with the 1024-1024 network.
        t = time.perf_counter()
        done = self.reading.step(self._rows, blas=False)
        now = time.perf_counter()
        self._rows = int(min(MAX_ROWS, max(MIN_ROWS, self._rows * min(2.0, max(0.5, TURN_SECONDS / max(now - t, 1e-5))))))
        if done or now - self._shown_at >= SHOW_EVERY:
            self._shown_at = now
            self._show_reading()
        if not done:
            self._timer.start()

    def reading_done(self) -> bool:
        return self._loaded and self.reading.pending() == 0

    def _show_reading(self) -> None:
        model = self.window.model
        name = self.window.model_source if model is not None else ""
        # A fine-tune (or a training with "Include my digits") learnt from the set: say its score flatters it.
        learnt = model is not None and ("fine_tune" in model.metadata or "my_digits" in model.metadata)
        self.view.set_reading(self.reading.prediction, name, self.reading.score(self.store.records), learnt)

    def _refresh(self) -> None:
        self.view.set_records(self.store.records)
        self._show_reading()
        if self.reading.pending():
            self._timer.start()
        self.changed.emit(len(self.store))
