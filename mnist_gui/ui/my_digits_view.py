"""The My digits view: the user's saved drawings as a grid, with the current model's reading of each.

A :class:`QListView` in icon mode over a list model, painted by a delegate: a tile is painted only
when it is on screen and no widget exists per drawing, so thousands of drawings cost what a screenful
does. Each tile shows the 28x28 input the network saw, the drawing's label and the current model's
prediction, marked right or wrong (in the theme's colours, readable in light and dark); a misread
tile also gets a border in the "wrong" colour. Above the grid: how many drawings, the current
model's accuracy on them, and per digit how many there are and how many are misread.

Select tiles and press a digit key (or use the context menu) to relabel them; Delete removes them
(the window offers Undo). Like the other panels the view only asks, with signals carrying drawing
ids; the window answers with :meth:`MyDigitsView.set_records` and :meth:`MyDigitsView.set_reading`.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Callable

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListView, QMenu, QPushButton,
                               QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from mnist_gui.digits import CLASSES, SIDE
from mnist_gui.state.my_digits import MyDigit
from mnist_gui.state.set_reading import SetScore
from mnist_gui.ui.theme import Theme, app_theme

ID_ROLE = Qt.ItemDataRole.UserRole + 1
TILE = QSize(92, 104)
IMAGE = 2 * SIDE   # the 28x28 input shown at twice its size, pixels kept sharp
EMPTY = ("No digits yet.\n\nDraw a digit, then press its key (0-9) on the canvas, click its bar in the "
         "prediction,\nor use Keep / That's a… under \"What the network sees\".")


class DigitsModel(QAbstractListModel):
    """The drawings, newest first; the prediction of each comes from ``prediction(id)``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.records: list[MyDigit] = []
        self.prediction: Callable[[str], int | None] = lambda ident: None
        self.model_name = ""
        self._images: dict[str, QImage] = {}

    def set_records(self, records: list[MyDigit]) -> None:
        self.beginResetModel()
        self.records = list(reversed(records))
        ids = {r.id for r in records}
        self._images = {k: v for k, v in self._images.items() if k in ids}
        self.endResetModel()

    def predictions_changed(self) -> None:
        if self.records:
            self.dataChanged.emit(self.index(0), self.index(len(self.records) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.records)

    def image(self, record: MyDigit) -> QImage:
        """The drawing's 28x28 input as an image (made once per drawing, on first paint)."""
        image = self._images.get(record.id)
        if image is None:
            pixels = np.ascontiguousarray(record.image.reshape(SIDE, SIDE))
            image = QImage(pixels.data, SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).copy()
            self._images[record.id] = image
        return image

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.records):
            return None
        record = self.records[index.row()]
        if role == ID_ROLE:
            return record.id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return _reading_text(record.label, self.prediction(record.id))
        if role == Qt.ItemDataRole.ToolTipRole:
            p = self.prediction(record.id)
            when = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M") if record.created else "?"
            read = ("not read yet" if p is None else f"read as {p} by {self.model_name}"
                    + (" (right)" if p == record.label else " (wrong)"))
            return (f"Saved as a {record.label}, {when}\n{read}\n"
                    "Press 0-9 to relabel the selected drawings, Delete to remove them; right-click for more.")
        return None


def _reading_text(label: int, prediction: int | None) -> str:
    if prediction is None:
        return f"{label}"
    return f"{label}, read right" if prediction == label else f"{label}, read as {prediction}"


class DigitDelegate(QStyledItemDelegate):
    """Paints one tile: the input, the label large, and the prediction marked right (✓) or wrong (✗ 3)."""

    def __init__(self, model: DigitsModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.theme = app_theme()
        self._label_font = QFont()
        self._label_font.setPointSize(13)
        self._label_font.setBold(True)
        self._mark_font = QFont()
        self._mark_font.setPointSize(10)

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return TILE

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        record = self.model.records[index.row()]
        p = self.model.prediction(record.id)
        t = self.theme
        r = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.fillRect(r, QColor(t.highlight if selected else t.background))
        wrong = p is not None and p != record.label
        if selected or wrong:
            colour = option.palette.highlight().color() if selected else QColor(t.wrong)
            painter.setPen(QPen(colour, 2))
            painter.drawRect(r.adjusted(1, 1, -1, -1))
        image_rect = QRect(r.left() + (r.width() - IMAGE) // 2, r.top() + 5, IMAGE, IMAGE)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)   # the pixels the network saw
        painter.drawImage(image_rect, self.model.image(record))
        text = QRect(r.left() + 6, image_rect.bottom() + 3, r.width() - 12, r.bottom() - image_rect.bottom() - 4)
        painter.setFont(self._label_font)
        painter.setPen(QColor(t.foreground))
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, str(record.label))
        painter.setFont(self._mark_font)
        if p is None:
            painter.setPen(QColor(t.faint))
            mark = "…"
        else:
            painter.setPen(QColor(t.wrong if wrong else t.right))
            mark = f"✗ read {p}" if wrong else "✓"
        painter.drawText(text, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, mark)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(QColor(t.foreground), 1, Qt.PenStyle.DotLine))
            painter.drawRect(r.adjusted(4, 4, -5, -5))
        painter.restore()


class DigitsGrid(QListView):
    """The grid itself; digit keys and Delete act on the selected tiles (before any window shortcut)."""

    relabel_requested = Signal(list, int)
    delete_requested = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("myDigitsGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)   # thousands of tiles: laid out a batch at a time
        self.setBatchSize(500)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.setAccessibleName("My digits")

    def selected_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self.model().index(row).data(ID_ROLE) for row in rows]

    @staticmethod
    def _digit(event) -> int | None:
        key = event.key()
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        return key - Qt.Key.Key_0 if plain and Qt.Key.Key_0 <= key <= Qt.Key.Key_9 else None

    def event(self, event) -> bool:
        # The window's Delete shortcut (clear the drawing) must not take the key from a selection here.
        if event.type() == QEvent.Type.ShortcutOverride and (
                event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) or self._digit(event) is not None):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        ids = self.selected_ids()
        digit = self._digit(event)
        if ids and digit is not None:
            self.relabel_requested.emit(ids, digit)
        elif ids and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_requested.emit(ids)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        index = self.indexAt(event.pos())
        if index.isValid() and not self.selectionModel().isSelected(index):
            self.setCurrentIndex(index)
        ids = self.selected_ids()
        if ids:
            self.context_menu(ids).popup(event.globalPos())

    def context_menu(self, ids: list[str]) -> QMenu:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        n = "this drawing" if len(ids) == 1 else f"these {len(ids)} drawings"
        relabel = menu.addMenu(f"&Relabel {n} as")
        for d in range(CLASSES):
            relabel.addAction(f"&{d}", lambda d=d: self.relabel_requested.emit(ids, d))
        menu.addAction(f"&Delete {n}", lambda: self.delete_requested.emit(ids))
        return menu

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, EMPTY)
            painter.end()


class MyDigitsView(QWidget):
    """Summary, per-digit counts, the grid, and the buttons Learn from my digits, Export…, Import…."""

    relabel_requested = Signal(list, int)    # drawing ids, new label
    delete_requested = Signal(list)          # drawing ids
    learn_requested = Signal()
    export_requested = Signal()
    import_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("myDigitsView")
        self.theme = app_theme()
        self.model = DigitsModel(self)
        self.grid = DigitsGrid()
        self.grid.setModel(self.model)
        self.delegate = DigitDelegate(self.model, self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.summary = QLabel()
        self.summary.setObjectName("myDigitsSummary")
        self.summary.setWordWrap(True)
        self.counts = QLabel()
        self.counts.setObjectName("myDigitsCounts")
        self.learn_button = QPushButton("Le&arn from my digits")
        self.learn_button.setObjectName("learnMyDigitsButton")
        self.export_button = QPushButton("E&xport…")
        self.export_button.setObjectName("exportMyDigitsButton")
        self.export_button.setToolTip("Write the whole set to one file, to share it or move it to another machine")
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importMyDigitsButton")
        self.import_button.setToolTip("Add the drawings of an exported set (a damaged file adds nothing)")
        self.learned = QLabel()
        self.learned.setObjectName("myDigitsLearned")
        self.learned.setWordWrap(True)
        self.learned.hide()
        for source, signal in ((self.grid.relabel_requested, self.relabel_requested),
                               (self.grid.delete_requested, self.delete_requested),
                               (self.learn_button.clicked, self.learn_requested),
                               (self.export_button.clicked, self.export_requested),
                               (self.import_button.clicked, self.import_requested)):
            source.connect(signal)
        top = QHBoxLayout()
        text = QVBoxLayout()
        text.addWidget(self.summary)
        text.addWidget(self.learned)
        top.addLayout(text, 1)
        top.addWidget(self.counts)
        buttons = QVBoxLayout()
        buttons.addWidget(self.learn_button)
        row = QHBoxLayout()
        row.addWidget(self.export_button)
        row.addWidget(self.import_button)
        buttons.addLayout(row)
        top.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.grid, 1)
        self._score: SetScore | None = None
        self._learnt = False
        self.set_learn_state(False, "Save a few digits first")
        self.set_reading(lambda ident: None, "", SetScore(0, 0, 0, (0,) * CLASSES, (0,) * CLASSES))

    # -- what the window tells it --------------------------------------------------------------------
    def set_records(self, records: list[MyDigit]) -> None:
        """Show these drawings (in the set's order; the grid shows the newest first)."""
        selected = self.grid.selected_ids()
        self.model.set_records(records)
        if selected:   # keep the selection on the drawings that are still there (after a relabel, an undo)
            self.select(selected)

    def set_reading(self, prediction: Callable[[str], int | None], model_name: str, score: SetScore,
                    learnt_from_them: bool = False) -> None:
        """The current model (``model_name``; "" for none) reads the drawings as ``prediction(id)`` says;
        ``score`` sums it up. ``learnt_from_them``: the model was trained on (some of) these drawings, so
        its accuracy on them is no fair test, and the summary says so."""
        self.model.prediction, self.model.model_name = prediction, model_name
        self._score, self._learnt = score, learnt_from_them
        self.model.predictions_changed()
        self._show_score()

    def set_learn_state(self, enabled: bool, why: str) -> None:
        """Enable Learn from my digits, or not; ``why`` is its tooltip (what it does, or why it is off)."""
        self.learn_button.setEnabled(enabled)
        self.learn_button.setToolTip(why)

    def show_learned(self, text: str) -> None:
        """The last fine-tune's before/after summary (rich text), under the set's summary."""
        self.learned.setText(text)
        self.learned.setVisible(bool(text))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = self.delegate.theme = theme
        self._show_score()
        self.grid.viewport().update()

    # -- reading it back (tests, scripts) --------------------------------------------------------------
    def score(self) -> SetScore | None:
        return self._score

    def shown_ids(self) -> list[str]:
        return [r.id for r in self.model.records]

    def select(self, ids: list[str]) -> None:
        """Select these drawings (the first becomes the current tile)."""
        sel = self.grid.selectionModel()
        sel.clearSelection()
        rows = [row for row, record in enumerate(self.model.records) if record.id in ids]
        for row in rows:
            sel.select(self.model.index(row), sel.SelectionFlag.Select)
        if rows:
            sel.setCurrentIndex(self.model.index(rows[0]), sel.SelectionFlag.NoUpdate)

    # -- showing ---------------------------------------------------------------------------------------
    def _show_score(self) -> None:
        s, t = self._score, self.theme
        if s is None:
            return
        name = html.escape(self.model.model_name)
        if s.total == 0:
            text = "<b>No drawings yet.</b>"
        elif not name:
            text = f"<b>{s.total:,} drawing{'s' if s.total != 1 else ''}</b> · no model to read them"
        elif not s.complete:
            text = f"<b>{s.total:,} drawings</b> · {name} is reading them ({s.read:,} so far)…"
        else:
            text = (f"<b>{s.total:,} drawing{'s' if s.total != 1 else ''}</b> · {name} reads "
                    f"{s.right:,} right: <b>{s.accuracy:.1%}</b>"
                    + (" (it learnt from your digits, so this is no fair test: the held-out figure is)"
                       if self._learnt else ""))
        self.summary.setText(text)
        self.summary.setAccessibleName(self.summary.text())
        # No "&nbsp;": an ampersand in a label's text reads as an Alt+letter shortcut to the tests.
        cells = "".join(f"<th>{d}</th>" for d in range(CLASSES))
        saved = "".join(f"<td align='center'>{n}</td>" for n in s.per_digit)
        wrong = "".join(f"<td align='center' style='color:{t.wrong if n else t.faint}'>{n if n else '·'}</td>"
                        for n in (s.wrong_per_digit if s.complete and name else (0,) * CLASSES))
        self.counts.setText(f"<table cellspacing='0' cellpadding='2'><tr><td></td>{cells}</tr><tr><td>saved</td>"
                            f"{saved}</tr><tr><td>misread</td>{wrong}</tr></table>")
