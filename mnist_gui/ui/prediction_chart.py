"""The prediction: ten softmax probabilities as bars, the winner highlighted and spelled out large.

The :class:`pyqtgraph.BarGraphItem` is created once and updated with ``setOpts`` (heights and
brushes only), so an update costs a fraction of a millisecond and the chart can follow the user's
pen and the learning network at display rate.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mnist_gui.errors import PredictionError
from mnist_gui.ui.plot_style import FOREGROUND, style_axes

BAR_COLOUR = "#a9bcd9"
TOP_COLOUR = "#2f6fd0"
EMPTY_HINT = "Draw a digit\non the canvas"
#: Shown instead of bars when the model cannot compute probabilities for the drawing (its outputs overflow).
NO_ANSWER_HINT = "No probability can be computed:\nthe model's outputs\noverflow for this drawing"


class PredictionChart(QGroupBox):
    """Bar chart of P(digit) for 0-9, plus the predicted digit and its confidence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prediction", parent)
        self._probs: np.ndarray | None = None
        self._hint = EMPTY_HINT
        self._problem: str | None = None   # why no prediction can be shown, when the model failed

        self.digit_label = QLabel("?")
        font = QFont(self.font())
        font.setPointSize(54)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label = QLabel("")
        cfont = QFont(self.font())
        cfont.setPointSize(15)
        self.confidence_label.setFont(cfont)
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Fixed sizes: QLabel.setText re-lays-out the whole window unless the label's size cannot
        # change, and the prediction is shown anew at every training tick.
        column = QFontMetrics(cfont).horizontalAdvance(">99.9% sure") + 12
        self.confidence_label.setFixedSize(column, QFontMetrics(cfont).height() + 4)
        self.digit_label.setFixedSize(max(96, column), QFontMetrics(font).height() + 4)
        caption = QLabel("prediction")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setStyleSheet("color: palette(mid);")

        left = QVBoxLayout()
        left.addStretch(1)
        left.addWidget(caption)
        left.addWidget(self.digit_label)
        left.addWidget(self.confidence_label)
        left.addStretch(1)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(180, 160)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        item = self.plot.getPlotItem()
        style_axes(item)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.setXRange(-0.6, 9.6, padding=0)
        item.setYRange(0, 1.05, padding=0)
        item.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        item.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        item.getAxis("left").setWidth(42)
        tick_font = QFont(self.font())
        tick_font.setPointSize(11)
        item.getAxis("bottom").setTickFont(tick_font)
        item.setLabel("bottom", "digit", color=FOREGROUND)
        self._normal_brush = pg.mkBrush(BAR_COLOUR)
        self._top_brush = pg.mkBrush(TOP_COLOUR)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.72,
                                    brushes=[self._normal_brush] * 10, pen=pg.mkPen(None))
        # Guide lines as plain items: an axis grid would make every bar update repaint the axes.
        for level in (0.25, 0.5, 0.75, 1.0):
            self.plot.addItem(pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen(0, 0, 0, 40)))
        self.plot.addItem(self.bars)
        self.hint_item = pg.TextItem("", color="#555", anchor=(0.5, 0.5))
        hint_font = QFont(self.font())
        hint_font.setPointSize(12)
        self.hint_item.setFont(hint_font)
        self.hint_item.setPos(4.5, 0.55)
        self.hint_item.setTextWidth(230)   # so the centred lines have a width to centre in
        self.set_hint(EMPTY_HINT)
        self.plot.addItem(self.hint_item)

        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addWidget(self.plot, 1)
        self.set_probabilities(None)

    def probabilities(self) -> np.ndarray | None:
        return None if self._probs is None else self._probs.copy()

    def predicted_digit(self) -> int | None:
        return None if self._probs is None else int(np.argmax(self._probs))

    def set_hint(self, text: str) -> None:
        """The message shown while there is no prediction (e.g. 'no model: press Train'); lines centred."""
        self._hint = text
        if self._problem is None:
            self._show_hint(text, "#555")

    def _show_hint(self, text: str, colour: str) -> None:
        lines = "<br>".join(html.escape(line) for line in text.splitlines())
        self.hint_item.setHtml(f'<div style="text-align:center; color:{colour}">{lines}</div>')

    def problem(self) -> str | None:
        """Why the chart shows no prediction although there is a drawing and a model (the model's
        outputs overflow for it), or None."""
        return self._problem

    def hint(self) -> str:
        return self._hint

    def show_prediction(self, model, image: np.ndarray | None, settled_ok: bool = False) -> np.ndarray | None:
        """Predict ``image`` (28x28 uint8, or None) with ``model`` (or None) and show it.

        Returns the probabilities when the shown prediction changed, else None. With ``settled_ok`` an
        update nobody could see (no bar moves by 0.05 percentage points) is skipped, which saves most
        repaints while a settled network keeps training.
        """
        if image is None or model is None:
            self.set_probabilities(None)
            return None
        try:
            probs = model.predict_proba_one(image)   # no BLAS: it would wait for a training thread's
        except PredictionError as exc:
            self.show_no_answer(str(exc))
            return None
        if settled_ok and self._probs is not None and np.abs(self._probs - probs).max() < 5e-4:
            return None
        self.set_probabilities(probs)
        return probs.copy()

    def show_no_answer(self, reason: str) -> None:
        """An honest error state instead of bars: the model cannot compute probabilities for this
        drawing (``reason`` is kept in :meth:`problem` and the tooltip)."""
        self.set_probabilities(None)
        self._problem = reason
        self.digit_label.setText("!")
        self._set_label_style("color: #b3261e;")
        self.confidence_label.setText("no answer")
        self._show_hint(NO_ANSWER_HINT, "#b3261e")
        self.setToolTip(reason)

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        """Show 10 probabilities, or nothing (``None``: empty canvas or no model) with the hint."""
        if self._problem is not None:
            self._problem = None
            self.setToolTip("")
            self._show_hint(self._hint, "#555")
        if probs is None:
            self._probs = None
            self.bars.setOpts(height=np.zeros(10), brushes=[self._normal_brush] * 10)
            self.digit_label.setText("?")
            self._set_label_style("color: palette(mid);")
            self.confidence_label.setText("")
            self.hint_item.setVisible(True)
            return
        p = np.asarray(probs, dtype=np.float64).reshape(10)
        if not np.all(np.isfinite(p)):   # never a NaN bar or ">99.9% sure" of nothing
            return self.show_no_answer("the probabilities are not numbers (NaN or infinite)")
        self._probs = p.copy()
        top = int(np.argmax(p))
        brushes = [self._normal_brush] * 10
        brushes[top] = self._top_brush
        self.bars.setOpts(height=p, brushes=brushes)
        self.hint_item.setVisible(False)
        self.digit_label.setText(str(top))
        self._set_label_style("")
        self.confidence_label.setText(f"{p[top]:.1%} sure" if p[top] < 0.9995 else ">99.9% sure")

    def _set_label_style(self, sheet: str) -> None:
        if self.digit_label.styleSheet() != sheet:   # re-styling costs more than the whole bar update
            self.digit_label.setStyleSheet(sheet)
