"""The views area: a tab widget whose tabs can each be opened in a window of their own.

A teacher at a projector may want the weights and the confusion matrix side by side, or one view
full screen: right-click a tab (or double-click it) and it opens in its own window; closing that
window puts the view back in its tab. Like the window's other tab widgets, a lone tab shows no bar.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu, QTabWidget, QVBoxLayout, QWidget


class _ViewWindow(QWidget):
    """A view in a window of its own; closing it gives the view back to its tabs."""

    def __init__(self, tabs: "ViewTabs", view: QWidget, title: str, index: int) -> None:
        super().__init__(tabs.window(), Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"mnist-gui: {title}")
        self.tabs, self.view, self.title, self.index = tabs, view, title, index
        QVBoxLayout(self).addWidget(view)
        view.show()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.tabs.attach(self.view)
        super().closeEvent(event)


class ViewTabs(QTabWidget):
    """Tabs of views; :meth:`detach` opens one in its own window, :meth:`reveal` brings one to the front."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.setTabBarAutoHide(True)
        self._windows: dict[QWidget, _ViewWindow] = {}
        bar = self.tabBar()
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        bar.customContextMenuRequested.connect(self._menu)
        self.tabBarDoubleClicked.connect(lambda index: index >= 0 and self.detach(self.widget(index)))

    def detach(self, view: QWidget) -> QWidget | None:
        """Open ``view`` (one of the tabs) in its own window; returns that window."""
        if view in self._windows:
            return self._windows[view]
        index = self.indexOf(view)
        if index < 0 or self.count() < 2:
            return None   # the last tab stays: the area is never empty
        title = self.tabText(index)
        self.removeTab(index)
        window = _ViewWindow(self, view, title, index)
        self._windows[view] = window
        window.resize(max(520, view.width()), max(380, view.height()))
        window.show()
        return window

    def attach(self, view: QWidget) -> None:
        """Put a detached ``view`` back in its tab (closing its window calls this)."""
        window = self._windows.pop(view, None)
        if window is not None:
            self.insertTab(min(window.index, self.count()), view, window.title)

    def is_detached(self, view: QWidget) -> bool:
        return view in self._windows

    def reveal(self, view: QWidget) -> None:
        """Bring ``view`` to the front: its tab, or its window."""
        window = self._windows.get(view)
        if window is not None:
            window.raise_()
            window.activateWindow()
        elif self.indexOf(view) >= 0:
            self.setCurrentWidget(view)

    def close_windows(self) -> None:
        for window in list(self._windows.values()):
            window.close()

    def _menu(self, pos: QPoint) -> None:
        index = self.tabBar().tabAt(pos)
        if index < 0:
            return
        view = self.widget(index)
        menu = QMenu(self)
        menu.addAction(f"Open \u201c{self.tabText(index)}\u201d in its own window", lambda: self.detach(view))
        menu.exec(self.tabBar().mapToGlobal(pos))
