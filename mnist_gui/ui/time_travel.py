"""Time travel: a slider over the epochs of the current run, from "before training" to "now".

It sits in the corner of the views' tab bar, so every view can be watched while sliding. Moving it
asks (``epoch_selected``) for the bars, the weight tiles, the confusion matrix, the gallery, the
inside view and the map at that epoch; the right end is "now" (the network in training, or the
model as it is). While a run adds epochs, the slider stays where the user left it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from mnist_gui.ui.theme import Theme, app_theme

NOW = "now"


class TimeTravelBar(QWidget):
    """Epochs of a run on a slider; ``epoch_selected(int | None)``, None meaning now."""

    epoch_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeTravel")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(90)
        self.slider.setMaximumWidth(220)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("Travel back through the epochs of this run: the bars, weights, confusion matrix,\n"
                               "gallery, inside view and map show the network as it was then")
        self.slider.valueChanged.connect(self._moved)
        self.label = QLabel("")
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("epoch 000 of 000") + 8)
        self.now_button = QToolButton()
        self.now_button.setText("now")
        self.now_button.setToolTip("Back to the present")
        self.now_button.clicked.connect(lambda: self.select(None))
        self.title = QLabel("epoch")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        for widget in (self.title, self.slider, self.label, self.now_button):
            row.addWidget(widget)
        self._epochs: list[int] = []
        self._planned = 0
        self.apply_theme(app_theme())
        self.set_epochs([], 0)

    def apply_theme(self, theme: Theme) -> None:
        self.title.setStyleSheet(f"color: {theme.faint};")

    def set_epochs(self, epochs: list[int], planned: int) -> None:
        """The epochs one can travel to (0 = before training) and how many the run has in all."""
        selected = self.selected()
        self._epochs, self._planned = list(epochs), planned
        self.setVisible(bool(epochs))
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(epochs))   # the last position is "now"
        self.slider.setValue(epochs.index(selected) if selected in epochs else len(epochs))
        self.slider.blockSignals(False)
        self._show_label()

    def epochs(self) -> list[int]:
        return list(self._epochs)

    def selected(self) -> int | None:
        """The epoch travelled to, or None for now."""
        value = self.slider.value()
        return self._epochs[value] if 0 <= value < len(self._epochs) else None

    def select(self, epoch: int | None) -> None:
        """Move to ``epoch`` (None or unknown: now), emitting ``epoch_selected`` if that changes it."""
        self.slider.setValue(self._epochs.index(epoch) if epoch in self._epochs else len(self._epochs))

    def _moved(self, _value: int) -> None:
        self._show_label()
        self.epoch_selected.emit(self.selected())

    def _show_label(self) -> None:
        epoch = self.selected()
        self.label.setText(NOW if epoch is None else f"{epoch} of {self._planned}")
        self.now_button.setEnabled(epoch is not None)
