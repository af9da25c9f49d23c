"""The prediction: ten softmax probabilities as bars, the winner highlighted and spelled out large,
under a line that names the model they come from.

The :class:`pyqtgraph.BarGraphItem` is created once and updated with ``setOpts`` (heights and
brushes only), so an update costs a fraction of a millisecond and the chart can follow the user's
pen and the learning network at display rate.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from mnist_gui.errors import PredictionError
from mnist_gui.formatting import percent
from mnist_gui.ui.theme import LIGHT, Theme, app_theme, style_plot
from mnist_gui.ui.status_text import StatusText

#: Bars of probabilities this small are drawn as a stub this high (1% of the axis), so a small
#: probability is visible and can be hovered for its value.
STUB = 0.01
EMPTY_HINT = "Draw a digit\non the canvas"
#: Shown instead of bars when the model cannot compute probabilities for the drawing (its outputs overflow).
NO_ANSWER_HINT = "No probability can be computed:\nthe model's outputs\noverflow for this drawing"


def _short_percent(p: float) -> str:
    """A bar's label: whole percent, never a false 100%; none under 1% (ten "<1%" would crowd the chart:
    those bars are drawn as stubs and the tooltip gives their value)."""
    if p < 0.005:
        return ""
    if p > 0.995:
        return ">99%"
    return f"{p:.0%}"


class PredictionChart(QGroupBox):
    """Bar chart of P(digit) for 0-9, plus the predicted digit and its confidence. Clicking a digit's
    column while a prediction shows emits ``bar_clicked(digit)``: "no, it is this one"."""

    bar_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prediction", parent)
        self._probs: np.ndarray | None = None
        self._not_a_digit = False
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
        cfont.setPointSize(13)
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

        self.plot = pg.PlotWidget()
        # Wide enough for all ten digits' tick labels (pyqtgraph drops labels that would overlap).
        self.plot.setMinimumSize(150, 110)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.setXRange(-0.6, 9.6, padding=0)
        item.setYRange(0, 1.05, padding=0)
        item.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        item.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        item.getAxis("left").setWidth(40)
        tick_font = QFont(self.font())
        tick_font.setPointSize(10)
        item.getAxis("bottom").setTickFont(tick_font)
        small = QFont(self.font())
        small.setPointSize(8)
        item.getAxis("left").setTickFont(small)
        item.setLabel("bottom", "digit")
        item.setYRange(0, 1.12, padding=0)   # room above a full bar for its value
        self._normal_brush = self._top_brush = pg.mkBrush(None)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.72,
                                    brushes=[self._normal_brush] * 10, pen=pg.mkPen(None))
        # Guide lines as plain items: an axis grid would make every bar update repaint the axes.
        self._guides = [pg.InfiniteLine(pos=level, angle=0) for level in (0.25, 0.5, 0.75, 1.0)]
        for guide in self._guides:
            self.plot.addItem(guide)
        self.plot.addItem(self.bars)
        # Each bar's value above it ("37%", "<1%"); texts change only when a rounded value does.
        value_font = QFont(self.font())
        value_font.setPointSize(8)
        self.value_items = []
        for d in range(10):
            text = pg.TextItem("", anchor=(0.5, 1.0))
            text.setFont(value_font)
            text.setPos(d, 0.0)
            self.plot.addItem(text)
            self.value_items.append(text)
        self._values: list[str] = [""] * 10
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.hint_item = pg.TextItem("", anchor=(0.5, 0.5))
        hint_font = QFont(self.font())
        hint_font.setPointSize(12)
        self.hint_item.setFont(hint_font)
        self.hint_item.setPos(4.5, 0.55)
        self.hint_item.setTextWidth(230)   # so the centred lines have a width to centre in
        self.set_hint(EMPTY_HINT)
        self.plot.addItem(self.hint_item)

        # Which model the bars come from ("current: <name>" or "in training: epoch 3/5, 97.1% val"):
        # self-painted, so a new text does not re-lay-out the window.
        self.source_label = StatusText("", min_lines=1)
        self.source_label.setObjectName("predictionSource")
        self.setAccessibleName("Prediction")
        row = QHBoxLayout()
        row.addLayout(left)
        row.addWidget(self.plot, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_label)
        layout.addLayout(row, 1)
        self.apply_theme(app_theme())
        self.set_probabilities(None)


    def apply_theme(self, theme: Theme) -> None:
        """Draw the chart in ``theme``'s colours (the window calls this when its palette changes)."""
        self._theme = theme
        style_plot(self.plot, theme)
        self._normal_brush, self._top_brush = pg.mkBrush(theme.bar), pg.mkBrush(theme.bar_top)
        for guide in self._guides:
            guide.setPen(pg.mkPen(*theme.guide))
        for text in self.value_items:
            text.setColor(theme.foreground)
        self.set_hint(self._hint)
        if self._problem is not None:
            self.show_no_answer(self._problem)
        else:
            self.set_probabilities(self._probs, self._not_a_digit)

    def probabilities(self) -> np.ndarray | None:
        return None if self._probs is None else self._probs.copy()

    def predicted_digit(self) -> int | None:
        return None if self._probs is None else int(np.argmax(self._probs))

    def set_source(self, text: str) -> None:
        """Say which model the bars come from."""
        self.source_label.setText(text)

    def source(self) -> str:
        return self.source_label.text()

    def set_hint(self, text: str) -> None:
        """The message shown while there is no prediction (e.g. 'no model: press Train'); lines centred."""
        self._hint = text
        if self._problem is None:
            self._show_hint(text)

    def _show_hint(self, text: str, error: bool = False) -> None:
        lines = "<br>".join(html.escape(line) for line in text.splitlines())
        theme = self._theme if hasattr(self, "_theme") else LIGHT
        colour = theme.error if error else theme.faint
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
        repaints while a settled network keeps training. A model that can tell (trained with scribbles)
        may say the drawing does not look like a digit: the chart then says so instead of "98% sure".
        """
        if image is None or model is None:
            self.set_probabilities(None)
            return None
        try:
            reading = model.read_one(image)   # no BLAS: it would wait for a training thread's
        except PredictionError as exc:
            self.show_no_answer(str(exc))
            return None
        probs = reading.probabilities
        if (settled_ok and self._probs is not None and reading.not_a_digit == self._not_a_digit
                and np.abs(self._probs - probs).max() < 5e-4):
            return None
        self.set_probabilities(probs, not_a_digit=reading.not_a_digit)
        return probs.copy()

    def show_no_answer(self, reason: str) -> None:
        """An honest error state instead of bars: the model cannot compute probabilities for this
        drawing (``reason`` is kept in :meth:`problem` and the tooltip)."""
        self.set_probabilities(None)
        self._problem = reason
        self.digit_label.setText("!")
        self._set_label_style(f"color: {self._theme.error};")
        self.confidence_label.setText("no answer")
        self._show_hint(NO_ANSWER_HINT, error=True)
        self.setToolTip(reason)
        self.setAccessibleDescription("No answer: " + reason)

    def not_a_digit(self) -> bool:
        """Whether the chart says the drawing does not look like a digit."""
        return self._not_a_digit

    def set_probabilities(self, probs: np.ndarray | None, not_a_digit: bool = False) -> None:
        """Show 10 probabilities, or nothing (``None``: empty canvas or no model) with the hint; with
        ``not_a_digit``, greyed, under "not a digit?" instead of a digit."""
        self._not_a_digit = probs is not None and not_a_digit
        if self._problem is not None:
            self._problem = None
            self.setToolTip("")
            self._show_hint(self._hint)
        if probs is None:
            self._probs = None
            self.bars.setOpts(height=np.zeros(10), brushes=[self._normal_brush] * 10)
            self.digit_label.setText("?")
            self._set_label_style("color: palette(mid);")
            self.confidence_label.setText("")
            self.hint_item.setVisible(True)
            self._set_values([""] * 10, np.zeros(10))
            self.setAccessibleDescription("No prediction: " + " ".join(self._hint.split()))
            return
        p = np.asarray(probs, dtype=np.float64).reshape(10)
        if not np.all(np.isfinite(p)):   # never a NaN bar or ">99.9% sure" of nothing
            return self.show_no_answer("the probabilities are not numbers (NaN or infinite)")
        self._probs = p.copy()
        top = int(np.argmax(p))
        brushes = [self._normal_brush] * 10
        if not not_a_digit:
            brushes[top] = self._top_brush
        shown = np.maximum(p, STUB)   # a tiny probability stays visible as a stub
        self.bars.setOpts(height=shown, brushes=brushes)
        self.hint_item.setVisible(False)
        order = np.argsort(-p)
        runners_up = ", ".join(f"{d} at {percent(p[d])}" for d in order[1:3])
        self._set_values([_short_percent(v) for v in p], shown)
        if not_a_digit:
            self.digit_label.setText("?")
            self._set_label_style("color: palette(mid);")
            self.confidence_label.setText("not a digit?")
            self.setAccessibleDescription(f"Does not look like a digit; closest {top} at {percent(p[top])}, "
                                          f"then {runners_up}.")
            return
        self.digit_label.setText(str(top))
        self._set_label_style("")
        self.confidence_label.setText(f"{percent(p[top])} sure")
        # For screen readers: the answer and the runners-up, in words.
        self.setAccessibleDescription(f"Reads {top}, {percent(p[top])} sure; then {runners_up}.")

    def _set_values(self, texts: list[str], heights: np.ndarray) -> None:
        for d, (text, height) in enumerate(zip(texts, heights)):
            if text != self._values[d]:
                self._values[d] = text
                self.value_items[d].setText(text)
            self.value_items[d].setPos(d, float(height) + 0.005)

    def _column(self, pos) -> int | None:
        """The digit whose column (the bar and the room above it) is under the scene point ``pos``."""
        if not self.plot.sceneBoundingRect().contains(pos):
            return None
        point = self.plot.getPlotItem().vb.mapSceneToView(pos)
        d = int(round(point.x()))
        return d if 0 <= d < 10 and abs(point.x() - d) <= 0.45 and -0.02 <= point.y() <= 1.12 else None

    def _hover(self, pos) -> None:
        """A tooltip with the exact probability of the bar under the mouse; a pointing hand over a
        column says it can be clicked."""
        d = None if self._probs is None else self._column(pos)
        self.plot.viewport().setCursor(Qt.CursorShape.ArrowCursor if d is None else Qt.CursorShape.PointingHandCursor)
        if d is None:
            QToolTip.hideText()
            return
        QToolTip.showText(QCursor.pos(), f"P({d}) = {self._probs[d]:.4%}\nClick: it is a {d} (saved to My digits)",
                          self.plot)

    def _clicked(self, event) -> None:
        if self._probs is None or event.button() != Qt.MouseButton.LeftButton:
            return
        d = self._column(event.scenePos())
        if d is not None:
            event.accept()
            self.bar_clicked.emit(d)

    def _set_label_style(self, sheet: str) -> None:
        if self.digit_label.styleSheet() != sheet:   # re-styling costs more than the whole bar update
            self.digit_label.setStyleSheet(sheet)
