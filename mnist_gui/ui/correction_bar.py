"""Under "What the network sees": keep the drawing in My digits, as read (Keep) or as another digit.

The user corrects a misread in one gesture: a click on the right digit's bar, a digit key on the
canvas, or this bar's *That's a…* menu; *Keep* saves a drawing the network read right (so is Enter on
the canvas). The bar only asks (``keep_requested``, ``label_chosen(digit)``, ``undo_requested``); the
window saves, and tells the bar what happened with :meth:`CorrectionBar.show_saved`, which offers Undo.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from mnist_gui.digits import CLASSES

HINT = "Wrong? Click the right bar, or press its key (0-9) on the canvas."


class CorrectionBar(QGroupBox):
    keep_requested = Signal()
    label_chosen = Signal(int)
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Save to My digits", parent)
        self.setObjectName("correctionBar")
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.keep_button = QPushButton("&Keep")
        self.keep_button.setObjectName("keepButton")
        self.keep_button.setToolTip("Save the drawing to My digits as the network reads it (Enter on the canvas)")
        # No Alt+letter: every letter of it is taken; the digit keys on the canvas do the same.
        self.thats_button = QPushButton("That's a…")
        self.thats_button.setObjectName("thatsAButton")
        self.thats_button.setToolTip("Save the drawing to My digits as the digit you choose (or press its key "
                                     "on the canvas, or click its bar)")
        menu = QMenu(self.thats_button)
        self.digit_actions = []
        for d in range(CLASSES):
            act = menu.addAction(f"&{d}")
            act.triggered.connect(lambda _=False, d=d: self.label_chosen.emit(d))   # _: triggered's "checked"
            self.digit_actions.append(act)
        self.thats_button.setMenu(menu)
        self.keep_button.clicked.connect(self.keep_requested)
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("savedNotice")
        self.saved_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoSaveButton")
        self.undo_button.setToolTip("Take the last saved drawing out of My digits again (Ctrl+Shift+Z)")
        self.undo_button.clicked.connect(self.undo_requested)
        self.undo_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.thats_button)
        saved = QHBoxLayout()
        saved.addWidget(self.saved_label, 1)
        saved.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addLayout(saved)
        self.set_drawing(False)

    def set_drawing(self, present: bool) -> None:
        """Whether there is a drawing to save (the buttons are off, and say why, without one)."""
        for button in (self.keep_button, self.thats_button):
            button.setEnabled(present)

    def show_saved(self, text: str, can_undo: bool) -> None:
        """Say what was saved (or undone); ``can_undo`` shows the Undo button."""
        self.saved_label.setText(text)
        self.undo_button.setVisible(can_undo)

    def saved_text(self) -> str:
        return self.saved_label.text()
