"""Two small windows for comparing runs: their settings side by side, and two models reading one drawing.

Both are non-modal (the user keeps drawing and choosing while they are open). The configuration
table comes from :func:`mnist_gui.state.compare.compare_rows`: a row whose values differ is marked
with "≠" and highlighted. The predictions window holds two models and shows each one's bars for the
drawing; the main window hands it every new drawing while it is open.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from mnist_gui.state.compare import compare_rows
from mnist_gui.state.library import RunRecord
from mnist_gui.ui.prediction_chart import PredictionChart
from mnist_gui.ui.theme import app_theme



class ConfigComparison(QDialog):
    """The runs' outcome, settings and dataset in columns; differing rows marked (objectName ``configComparison``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("configComparison")
        self.setWindowTitle("Compare runs")
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.summary = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self.resize(760, 560)

    def show_runs(self, records: list[RunRecord]) -> None:
        rows = compare_rows(records)
        self.rows = rows
        self.table.clear()
        self.table.setColumnCount(len(records) + 1)
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(["", *(r.name for r in records)])
        bold = QFont(self.font())
        bold.setBold(True)
        for i, row in enumerate(rows):
            cells = [QTableWidgetItem(("≠ " if row.differs else "   ") + row.label)]
            cells += [QTableWidgetItem(value) for value in row.values]
            for j, cell in enumerate(cells):
                if row.differs:
                    cell.setBackground(QBrush(QColor(app_theme().different)))
                    cell.setFont(bold)
                self.table.setItem(i, j, cell)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        differing = [r.label for r in rows if r.differs and r.section == "config"]
        self.summary.setText(f"{len(records)} runs; settings that differ ({len(differing)}), marked ≠: "
                             + (", ".join(differing) or "none"))

    def differing_labels(self) -> list[str]:
        return [r.label for r in self.rows if r.differs]


class PredictionComparison(QDialog):
    """Two models' bars for the same drawing (objectName ``predictionComparison``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionComparison")
        self.setWindowTitle("Compare predictions")
        self.charts = (PredictionChart(), PredictionChart())
        row = QHBoxLayout(self)
        for chart in self.charts:
            row.addWidget(chart)
        self.models: tuple = (None, None)
        self.resize(900, 320)

    def set_models(self, models, names: list[str]) -> None:
        self.models = tuple(models)
        for chart, name in zip(self.charts, names):
            chart.set_source(name)
            chart.setTitle(name)

    def show_input(self, image: np.ndarray | None) -> list[np.ndarray | None]:
        """Predict ``image`` (28x28, or None) with both models; returns their probabilities."""
        return [chart.show_prediction(model, image) if image is not None else chart.set_probabilities(None)
                for chart, model in zip(self.charts, self.models)]

    def probabilities(self) -> list[np.ndarray | None]:
        return [chart.probabilities() for chart in self.charts]
