"""A trained model that exists only in memory: say so plainly, offer Save as, and warn before closing.

The window keeps a copy of every model it adopts after training (written by the training thread). When
that copy cannot be written (a full disk, a read-only settings folder) the model lives only in the
window, and used to be lost silently at the next close: the only notice was a status-bar message for
ten seconds. :class:`UnsavedModel` tracks that state; :meth:`UnsavedModel.mark` opens a dialog saying
what happened with a *Save as…* button, and :meth:`UnsavedModel.may_close` makes a close wait for an
answer (*Save as…*, *Discard*, *Cancel*). Both dialogs are non-blocking (``open()``), so nothing waits
in a nested event loop, and a close forced by a signal (SIGTERM, SIGHUP) never waits for a person:
:meth:`UnsavedModel.rescue` writes the model to the temporary folder instead and says where.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from mnist_gui.errors import ModelFileError, display_name
from mnist_gui.model import Model, save_model


class UnsavedModel(QObject):
    """Whether the loaded model is saved nowhere, and the dialogs about it.

    ``save_as()`` asks the user for a file and saves (returns True when the model was saved).
    """

    def __init__(self, parent: QWidget, save_as: Callable[[], bool]) -> None:
        super().__init__(parent)
        self._parent = parent
        self._save_as = save_as
        self.reason: str | None = None           # why the copy could not be written, while unsaved
        self.notice: QMessageBox | None = None   # the dialog saying so (objectName unsavedModelNotice)
        self.question: QMessageBox | None = None  # the close confirmation (objectName unsavedModelQuestion)

    @property
    def pending(self) -> bool:
        return self.reason is not None

    def mark(self, reason: str) -> None:
        """The loaded model could not be kept on disk (``reason``): say so, offering Save as."""
        self.reason = reason
        self.notice = self._box(self.notice, "unsavedModelNotice", "The trained model is not saved",
                                f"The trained model could not be kept on disk:\n{reason}\n\nIt is loaded and "
                                "works, but it will be lost when the window closes unless you save it.",
                                [("Save as…", QMessageBox.ButtonRole.AcceptRole),
                                 ("Later", QMessageBox.ButtonRole.RejectRole)],
                                lambda role: role == QMessageBox.ButtonRole.AcceptRole and self._save_as())

    def clear(self) -> None:
        """Saved (or replaced by another model): nothing to warn about any more."""
        self.reason = None
        for box in (self.notice, self.question):
            if box is not None and box.isVisible():
                box.done(0)

    def may_close(self, close: Callable[[], None]) -> bool:
        """True if the window may close now; otherwise a question is open, and ``close`` is called
        again once the model is saved or the user chose to discard it."""
        if not self.pending:
            return True
        if self.question is not None and self.question.isVisible():
            return False

        def answered(role) -> None:
            if role == QMessageBox.ButtonRole.AcceptRole and not self._save_as():
                return   # not saved after all: stay open
            if role in (QMessageBox.ButtonRole.AcceptRole, QMessageBox.ButtonRole.DestructiveRole):
                self.reason = None
                close()

        self.question = self._box(self.question, "unsavedModelQuestion", "Close without saving the model?",
                                  "The trained model has not been saved anywhere: it will be lost if the window "
                                  "closes now.", [("Save as…", QMessageBox.ButtonRole.AcceptRole),
                                                  ("Discard", QMessageBox.ButtonRole.DestructiveRole),
                                                  ("Cancel", QMessageBox.ButtonRole.RejectRole)], answered)
        return False

    def rescue(self, model: Model | None) -> str | None:
        """For a close nobody can be asked about (a signal): write the model to the temporary folder
        and say where on stderr. Returns the path, or None (nothing pending, or it failed too)."""
        if not self.pending or model is None:
            return None
        path = os.path.join(tempfile.gettempdir(), f"mnist-gui-unsaved-{time.strftime('%Y%m%d-%H%M%S')}.npz")
        try:
            save_model(model, path)
        except ModelFileError as exc:
            print(f"mnist-gui: the trained model was lost: {exc}", file=sys.stderr)
            return None
        print(f"mnist-gui: the trained model was not saved; a copy is in {display_name(path)}", file=sys.stderr)
        self.reason = None
        return path

    def _box(self, old: QMessageBox | None, name: str, title: str, text: str, buttons, on_answer) -> QMessageBox:
        if old is not None:   # one of each at most
            old.done(0)
            old.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, self._parent)
        box.setObjectName(name)
        box.setTextFormat(Qt.TextFormat.PlainText)
        roles = {}
        for label, role in buttons:
            roles[box.addButton(label, role)] = role
        box.buttonClicked.connect(lambda button: on_answer(roles.get(button)))
        box.open()   # window-modal but non-blocking: no nested event loop
        return box
