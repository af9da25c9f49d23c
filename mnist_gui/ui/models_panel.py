"""The Models panel: the library of runs as a table, to choose, rename, delete, compare and continue models.

A table (objectName ``modelsTable``) with one row per run: a tick box (tick two or more runs to
compare them), the name (double-click to rename; the shipped model is read-only), the test accuracy,
the date, the status and the architecture. Click a column's header to sort by it (accuracy or date,
or any other). The current model's row is bold and highlighted; selecting a row asks for that run to
become the current model.

Like the training panel, this one asks and the window decides: every action is a signal carrying run
ids, and the window answers by calling :meth:`ModelsPanel.set_records` with what the library holds.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget)

from mnist_gui.state.library import RunRecord, short_architecture
from mnist_gui.ui.theme import app_theme

COMPARE, NAME, TEST, PEN, DATE, STATUS, ARCHITECTURE = range(7)
HEADERS = ("", "Name", "Test", "Pen", "Date", "Status", "Architecture")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
NAME_WIDTH = 115
#: The width the panel asks for, so every column shows without scrolling (the window widens its side).
PREFERRED_WIDTH = 560


def _date(record: RunRecord) -> str:
    return "shipped" if record.readonly else (record.created or "?")[5:16].replace("T", " ")


def _tooltip(record: RunRecord) -> str:
    acc = lambda v: "—" if v is None else f"{v:.2%}"   # noqa: E731
    lines = [f"<b>{record.name}</b>", f"id {record.id}", f"{record.status}: {record.reason}" if record.reason
             else record.status, f"{record.architecture}, {record.epochs} epochs",
             f"test {acc(record.test_accuracy)}, validation {acc(record.val_accuracy)}"]
    if record.duration is not None:
        lines.append(f"training time {record.duration:.1f} s")
    if record.parent:
        lines.append(f"continued from {record.parent}")
    if record.dataset:
        lines.append(f"dataset: {record.dataset.get('source', '?')}")
    if record.readonly:
        lines.append("read-only: cannot be renamed or deleted")
    return "<br>".join(lines)


class RunTableModel(QAbstractTableModel):
    """The records as rows; the tick boxes and the name edits become the panel's requests."""

    ticked_changed = Signal()
    rename_requested = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.records: list[RunRecord] = []
        self._display: list[tuple] = []
        self._sort: list[tuple] = []
        self._cell_cache: dict[str, tuple] = {}
        self.current_id: str | None = None
        self.ticked: list[str] = []   # in the order they were ticked (the overlay's colours follow it)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_records(self, records: list[RunRecord], current_id: str | None) -> None:
        """Show ``records``. Runs only added (a run just ended) are inserted and unchanged ones kept, so
        the view does not lay out every row again: a reset of 500 rows costs ~80 ms of the GUI thread."""
        records = list(records)
        old_ids, new_ids = [r.id for r in self.records], [r.id for r in records]
        cells = [self._cells(r) for r in records]
        ids = set(new_ids)
        self.ticked = [i for i in self.ticked if i in ids]
        self.current_id = current_id
        if new_ids[:len(old_ids)] == old_ids and old_ids:
            n = len(old_ids)
            changed = [i for i in range(n) if records[i] is not self.records[i]]
            for i in changed:
                self.records[i], (self._display[i], self._sort[i]) = records[i], cells[i]
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(HEADERS) - 1))
            if len(records) > n:
                self.beginInsertRows(QModelIndex(), n, len(records) - 1)
                self.records += records[n:]
                self._display += [c[0] for c in cells[n:]]
                self._sort += [c[1] for c in cells[n:]]
                self.endInsertRows()
            return
        self.beginResetModel()
        self.records = records
        self._display, self._sort = [c[0] for c in cells], [c[1] for c in cells]
        self.endResetModel()

    def _cells(self, r: RunRecord) -> tuple[tuple, tuple]:
        """What a record's cells show and sort by, worked out once per record (the library hands back the
        same record object while its file is unchanged): a view asks for them thousands of times."""
        cached = self._cell_cache.get(r.id)
        if cached is None or cached[0] is not r:
            pen = r.metrics.get("pen_drawn_accuracy")
            pen = pen if isinstance(pen, (int, float)) and not isinstance(pen, bool) else None
            display = ("", r.name, "—" if r.test_accuracy is None else f"{r.test_accuracy:.2%}",
                       "—" if pen is None else f"{pen:.1%}", _date(r), r.status, short_architecture(r.architecture))
            # Dates sort as text: the time, then the id (a run's id holds when it was written), so two
            # runs started in the same second keep their order; no date (the shipped model) sorts oldest.
            when = "" if r.created_timestamp is None else f"{r.created_timestamp:017.3f} {r.id}"
            sort = (0, r.name.lower(), -1.0 if r.test_accuracy is None else r.test_accuracy,
                    -1.0 if pen is None else pen, when, r.status, r.architecture)
            cached = self._cell_cache[r.id] = (r, display, sort)
        return cached[1], cached[2]

    def set_current(self, current_id: str | None) -> None:
        rows = [i for i, r in enumerate(self.records) if r.id in (self.current_id, current_id)]
        self.current_id = current_id
        for row in rows:   # only the rows that gain or lose the current model's look
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def row_of(self, run_id: str | None) -> int | None:
        return next((i for i, r in enumerate(self.records) if r.id == run_id), None)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COMPARE:
                return "Tick two or more runs to compare them"
        return None

    def flags(self, index: QModelIndex):
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COMPARE:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif index.column() == NAME and not self.records[index.row()].readonly:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        r = self.records[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display[row][col]
        if role == Qt.ItemDataRole.EditRole:
            return r.name if col == NAME else None
        if role == Qt.ItemDataRole.CheckStateRole and col == COMPARE:
            return Qt.CheckState.Checked if r.id in self.ticked else Qt.CheckState.Unchecked
        if role == SORT_ROLE:
            return self._sort[row][col]
        if role == ID_ROLE:
            return r.id
        if role == Qt.ItemDataRole.FontRole and r.id == self.current_id:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and r.id == self.current_id:
            return QBrush(QColor(app_theme().highlight))
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(r) + ("<br><i>the current model</i>" if r.id == self.current_id else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (TEST, PEN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        r = self.records[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == COMPARE:
            self.toggle_tick(r.id, Qt.CheckState(value) == Qt.CheckState.Checked)
            return True
        if role == Qt.ItemDataRole.EditRole and index.column() == NAME:
            name = " ".join(str(value).split())
            if name and name != r.name:
                self.rename_requested.emit(r.id, name)   # the window renames it in the library, then refreshes
            return True
        return False

    def toggle_tick(self, run_id: str, on: bool | None = None) -> None:
        on = run_id not in self.ticked if on is None else on
        if on == (run_id in self.ticked):
            return
        self.ticked = [*self.ticked, run_id] if on else [i for i in self.ticked if i != run_id]
        row = next(i for i, r in enumerate(self.records) if r.id == run_id)
        self.dataChanged.emit(self.index(row, COMPARE), self.index(row, COMPARE))
        self.ticked_changed.emit()


class _RunTable(QTableView):
    """A click on a tick box ticks it without selecting the row (selecting makes a run current); Space
    ticks the focused row; Delete and Backspace ask to delete (the window-wide Delete clears the canvas)."""

    tick_clicked = Signal(QModelIndex)
    delete_pressed = Signal()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and index.column() == COMPARE and event.button() == Qt.MouseButton.LeftButton:
            self.tick_clicked.emit(index)
            event.accept()
            return
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) \
                and self.state() != QAbstractItemView.State.EditingState:
            event.accept()   # the table's own key while it has the focus
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit()
        elif event.key() == Qt.Key.Key_Space and self.currentIndex().isValid():
            self.tick_clicked.emit(self.currentIndex())
        else:
            super().keyPressEvent(event)


class ModelsPanel(QGroupBox):
    """The library as a table and the actions on its runs; objectName ``modelsPanel``."""

    chosen = Signal(str)                        # a row was selected: make this run current
    rename_requested = Signal(str, str)         # id, new name
    delete_requested = Signal(list)             # ids
    undo_requested = Signal()
    reveal_requested = Signal(str)
    save_requested = Signal(str)
    import_requested = Signal()
    ticked_changed = Signal(list)               # ids, in ticking order
    compare_configs_requested = Signal(list)
    compare_predictions_requested = Signal(list)
    export_metrics_requested = Signal(list)
    continue_requested = Signal(int)            # more epochs for the current model
    follow_live_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Models", parent)
        self.setObjectName("modelsPanel")
        self.model = RunTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = _RunTable()
        self.table.setObjectName("modelsTable")
        self.table.setWhatsThis("Every model you trained or opened, and the shipped one. Click a row to use that "
                                "model; click a column's header to sort; double-click a name to rename it; tick "
                                "two or more rows to compare them; Delete deletes (Undo delete brings it back).")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(DATE, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        # Widths from the font, not ResizeToContents: that measures every cell of every row at each
        # refresh (55,000 calls into Python for 500 runs, half a second of the GUI thread).
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(24)
        fm = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)   # the current row's text is bold: its cells must fit too
        wide = QFontMetrics(bold)
        for column, sample in ((COMPARE, "M"), (TEST, "99.99%"), (DATE, "12-31 23:59"), (STATUS, "completed")):
            header.resizeSection(column, max(fm.horizontalAdvance(HEADERS[column]) + 20,
                                             wide.horizontalAdvance(sample) + 10))
        header.resizeSection(NAME, NAME_WIDTH)

        def button(text: str, name: str, tip: str) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.setWhatsThis(tip)
            return b

        self.import_button = button("Open…", "importModelButton", "Open a model file: it joins the library "
                                    "and becomes the current model")
        self.save_button = button("Save as…", "saveModelButton", "Save the selected model to a file of your choice")
        self.reveal_button = button("Show folder", "revealModelButton", "Show the selected run's folder in the "
                                    "file manager")
        self.delete_button = button("Delete", "deleteModelButton", "Delete the ticked runs (or the selected one); "
                                    "Undo brings them back")
        self.configs_button = button("Compare configs", "compareConfigsButton", "The ticked runs' settings side "
                                     "by side, differences marked")
        self.predictions_button = button("Compare predictions", "comparePredictionsButton",
                                         "Two ticked models' predictions for the drawing, side by side")
        self.export_button = button("Export metrics…", "exportMetricsButton", "The ticked runs' (or the selected "
                                    "run's) metrics as JSON or CSV")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setObjectName("continueEpochs")
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(3)
        self.epochs_spin.setSuffix(" more epochs")
        self.epochs_spin.setToolTip("How many more epochs Continue training gives the current model")
        self.epochs_spin.setWhatsThis(self.epochs_spin.toolTip())
        self.continue_button = button("Continue training", "continueTrainingButton",
                                      "Train the current model further from its weights, with the Train tab's "
                                      "optimizer, learning rate and batch size; the curves go on where they stopped")
        self.follow_button = button("Watch the run in training", "followLiveButton",
                                    "Show the network in training again (bars and curves)")
        self.undo_button = button("Undo delete", "undoDeleteButton", "Bring back the runs just deleted")
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("font-size: 9pt;")

        grid = QGridLayout()
        for i, b in enumerate((self.import_button, self.save_button, self.reveal_button, self.delete_button,
                               self.configs_button, self.predictions_button)):
            grid.addWidget(b, i // 2, i % 2)
        grid.addWidget(self.export_button, 3, 0)
        grid.addWidget(self.undo_button, 3, 1)
        row = QHBoxLayout()
        row.addWidget(self.epochs_spin)
        row.addWidget(self.continue_button, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.info_label)
        layout.addLayout(grid)
        layout.addLayout(row)
        layout.addWidget(self.follow_button)

        self._updating = False
        self.model.ticked_changed.connect(self._on_ticked)
        self.model.rename_requested.connect(self.rename_requested)
        self.table.tick_clicked.connect(lambda index: self.model.toggle_tick(index.data(ID_ROLE)))
        self.table.delete_pressed.connect(self.request_delete)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        self.import_button.clicked.connect(self.import_requested)
        self.save_button.clicked.connect(lambda: self._with_selected(self.save_requested))
        self.reveal_button.clicked.connect(lambda: self._with_selected(self.reveal_requested))
        self.delete_button.clicked.connect(self.request_delete)
        self.undo_button.clicked.connect(self.undo_requested)
        self.configs_button.clicked.connect(lambda: self.compare_configs_requested.emit(self.ticked()))
        self.predictions_button.clicked.connect(lambda: self.compare_predictions_requested.emit(self.ticked()))
        self.export_button.clicked.connect(lambda: self.export_metrics_requested.emit(self._targets()))
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self.epochs_spin.value()))
        self.follow_button.clicked.connect(self.follow_live_requested)
        self.follow_button.hide()
        self.undo_button.setEnabled(False)
        self._training = False
        self._update_buttons()

    # -- what the window tells it -----------------------------------------------------------------
    def set_records(self, records: list[RunRecord], current_id: str | None) -> None:
        """Show these runs; ``current_id`` is the current model (its row is selected, bold)."""
        if records == self.model.records and current_id == self.model.current_id:
            return   # nothing changed (the window refreshes when it comes to the front): keep any open editor
        self._updating = True
        try:
            self.model.set_records(records, current_id)
            self._select(current_id)
        finally:
            self._updating = False
        shown = len(records)
        self.info_label.setText(f"{shown} model{'s' if shown != 1 else ''} · click one to use it, double-click "
                                "its name to rename it, tick two or more to compare them")
        self._on_ticked(emit=False)

    def set_current(self, current_id: str | None) -> None:
        self._updating = True
        try:
            self.model.set_current(current_id)
            self._select(current_id)
        finally:
            self._updating = False
        self._update_buttons()

    def set_training(self, training: bool, following_live: bool = True) -> None:
        """A run is training (continuing is then off); offer to watch it again if the user looks elsewhere."""
        self._training = training
        self.follow_button.setVisible(training and not following_live)
        self._update_buttons()

    def set_undo(self, text: str | None) -> None:
        """Offer to undo the last deletion (``text`` says what), or no longer (None)."""
        self.undo_button.setEnabled(text is not None)
        self.undo_button.setToolTip(text or "Bring back the runs just deleted")

    def ticked(self) -> list[str]:
        return list(self.model.ticked)

    def set_ticked(self, ids: list[str]) -> None:
        for run_id in self.ticked():
            if run_id not in ids:
                self.model.toggle_tick(run_id, False)
        for run_id in ids:
            self.model.toggle_tick(run_id, True)

    def selected_id(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(ID_ROLE) if index.isValid() else None

    def row_ids(self) -> list[str]:
        """The runs' ids in the order the table shows them (sorted)."""
        return [self.proxy.index(row, 0).data(ID_ROLE) for row in range(self.proxy.rowCount())]

    def sort_by(self, column: int, descending: bool = True) -> None:
        self.table.sortByColumn(column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)

    def rename_in_place(self, run_id: str) -> None:
        """Open the name's editor, as a double-click does."""
        row = self.row_ids().index(run_id)
        self.table.edit(self.proxy.index(row, NAME))

    # -- internals ------------------------------------------------------------------------------
    def _select(self, run_id: str | None) -> None:
        row = self.model.row_of(run_id)
        if row is not None:
            index = self.proxy.mapFromSource(self.model.index(row, NAME))
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index.siblingAtColumn(COMPARE))   # vertically; keep the tick boxes in view
        else:
            self.table.clearSelection()

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._updating and current.isValid():
            self.chosen.emit(current.data(ID_ROLE))
        self._update_buttons()

    def _on_ticked(self, emit: bool = True) -> None:
        self._update_buttons()
        if emit:
            self.ticked_changed.emit(self.ticked())

    def _targets(self) -> list[str]:
        """The ticked runs, or else the selected one."""
        return self.ticked() or [i for i in (self.selected_id(),) if i]

    def _with_selected(self, signal) -> None:
        if self.selected_id():
            signal.emit(self.selected_id())

    def request_delete(self) -> None:
        targets = [i for i in self._targets() if not self._record(i).readonly]
        if targets:
            self.delete_requested.emit(targets)

    def _record(self, run_id: str) -> RunRecord:
        return self.model.records[self.model.row_of(run_id)]

    def _update_buttons(self) -> None:
        selected = self.selected_id()
        ticked = self.ticked()
        self.save_button.setEnabled(selected is not None)
        self.reveal_button.setEnabled(selected is not None)
        deletable = [i for i in (ticked or [selected]) if i and not self._record(i).readonly]
        self.delete_button.setEnabled(bool(deletable))
        self.configs_button.setEnabled(len(ticked) >= 2)
        self.predictions_button.setEnabled(len(ticked) == 2)
        self.export_button.setEnabled(bool(ticked) or selected is not None)
        self.continue_button.setEnabled(not self._training)
        self.epochs_spin.setEnabled(not self._training)

