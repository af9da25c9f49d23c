"""A notice strip across the top of the window: something happened that the user should know and may act on.

Used when a finished run joins the library without becoming the current model (stopped, diverged,
or the user chose another model while it trained): the strip says so and offers to use it, instead
of a dialog that would block, or a status-bar message that would vanish before it is read.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from mnist_gui.ui.theme import Theme, app_theme


class NoticeBar(QFrame):
    """Hidden until :meth:`show_notice`; its action button (objectName ``noticeAction``) runs the
    offered action and hides the strip, as does Dismiss (``noticeDismiss``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.apply_theme(app_theme())
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.action_button = QPushButton()
        self.action_button.setObjectName("noticeAction")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setObjectName("noticeDismiss")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(self.dismiss_button)
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._act)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.hide()

    def show_notice(self, text: str, action_text: str | None = None, action: Callable[[], None] | None = None) -> None:
        self.label.setText(text)
        self._action = action
        self.action_button.setVisible(action is not None)
        self.action_button.setText(action_text or "")
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def dismiss(self) -> None:
        self._action = None
        self.hide()

    def _act(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()

    def apply_theme(self, theme: Theme) -> None:
        """Colours for the light or dark scheme (the window calls this when its palette changes)."""
        t = theme
        self.setStyleSheet(f"#noticeBar {{ background: {t.notice_background}; border: 1px solid {t.notice_border}; "
                           f"border-radius: 3px; }} #noticeBar QLabel {{ color: {t.notice_text}; }}")


