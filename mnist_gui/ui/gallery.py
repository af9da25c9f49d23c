"""The gallery: the images of an evaluation (the 10,000 test images, or the validation set during a
run) as tiles, filtered by true digit, predicted digit and right/wrong, sorted by confidence.

Qt's model/view, so scrolling through thousands of tiles stays smooth: a :class:`QListView` in
icon mode over a list model that holds only an index array (:func:`mnist_gui.insight.gallery.select`
makes it), and a delegate that paints the few tiles on screen from the evaluation's pixels when
they are painted. No widget, and no image, per tile. Clicking a tile (or Enter) emits
``image_chosen`` with the image, which the window puts into the preview and the chart as if drawn.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView, QStackedWidget,
                               QStyle, QStyledItemDelegate, QWidget)

from mnist_gui.digits import SIDE
from mnist_gui.insight.evaluation import Evaluation
from mnist_gui.insight.gallery import CORRECTNESS, ORDERS, GalleryFilter, select
from mnist_gui.ui.theme import Theme, app_theme
from mnist_gui.ui.view_base import InsightView

IMAGE_SIDE = 2 * SIDE          # each pixel as 2x2
TILE = QSize(IMAGE_SIDE + 16, IMAGE_SIDE + 22)


class _TileModel(QAbstractListModel):
    """Rows are positions in ``indices``, which point into the evaluation."""

    def __init__(self) -> None:
        super().__init__()
        self.evaluation: Evaluation | None = None
        self.indices = np.zeros(0, np.int64)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else int(self.indices.size)

    def show(self, evaluation: Evaluation | None, indices: np.ndarray) -> None:
        self.beginResetModel()
        self.evaluation, self.indices = evaluation, indices
        self.endResetModel()

    def describe(self, row: int) -> str:
        ev, i = self.evaluation, int(self.indices[row])
        label, guess, sure = int(ev.labels[i]), int(ev.predicted[i]), float(ev.confidence[i])
        verdict = f"read right as {guess}" if label == guess else f"a {label} read as {guess}"
        return f"{ev.name.capitalize()} image #{i}: {verdict} ({sure:.1%} sure)"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.evaluation is None:
            return None
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.describe(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            i = int(self.indices[index.row()])
            return f"{int(self.evaluation.labels[i])}->{int(self.evaluation.predicted[i])}"
        return None


class _TileDelegate(QStyledItemDelegate):
    """Paints one tile: the image 2x, then "true -> predicted  sure%", in the theme's error colour when wrong."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.theme: Theme = app_theme()

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return TILE

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        model: _TileModel = index.model()
        ev = model.evaluation
        if ev is None:
            return
        i = int(model.indices[index.row()])
        rect = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(self.theme.foreground)
            hover.setAlpha(28)
            painter.fillRect(rect, hover)
        # RGB32: the raster engine scales it 20x faster than the grey image it is converted from.
        image = QImage(ev.images[i].tobytes(), SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).convertToFormat(
            QImage.Format.Format_RGB32)
        target = QRect(rect.x() + (rect.width() - IMAGE_SIDE) // 2, rect.y() + 3, IMAGE_SIDE, IMAGE_SIDE)
        painter.drawImage(target, image)
        label, guess = int(ev.labels[i]), int(ev.predicted[i])
        painter.setPen(option.palette.text().color() if label == guess else QColor(self.theme.error))
        font = QFont(option.font)
        font.setPixelSize(11)
        font.setBold(label != guess)
        painter.setFont(font)
        text_rect = QRect(rect.x(), target.bottom() + 2, rect.width(), rect.bottom() - target.bottom() - 2)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, f"{label}\u2192{guess} {ev.confidence[i]:.0%}")


def _combo(items: list[tuple[str, object]], tip: str) -> QComboBox:
    box = QComboBox()
    for text, value in items:
        box.addItem(text, value)
    box.setToolTip(tip)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return box


class GalleryView(InsightView):
    """Browse an evaluation's images (objectName ``testGallery``)."""

    image_chosen = Signal(object, str)   # (28, 28) uint8 pixels, a description

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("testGallery")
        digits = [("any", None)] + [(str(d), d) for d in range(10)]
        self.true_box = _combo(digits, "Show only images of this digit")
        self.predicted_box = _combo(digits, "Show only images the network read as this digit")
        self.correct_box = _combo([(text, key) for key, text in CORRECTNESS.items()], "Right, wrong, or both")
        self.order_box = _combo([(text, key) for key, text in ORDERS.items()], "Order of the tiles")
        self.count_label = QLabel("")
        self.count_label.setMinimumWidth(120)
        controls = QHBoxLayout()
        for text, box in (("true", self.true_box), ("read as", self.predicted_box), ("", self.correct_box),
                          ("sort", self.order_box)):
            if text:
                controls.addWidget(QLabel(text))
            controls.addWidget(box)
            box.currentIndexChanged.connect(self._refresh)
        controls.addStretch(1)
        controls.addWidget(self.count_label)

        self.list = QListView()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setBatchSize(400)
        self.list.setGridSize(TILE + QSize(4, 4))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.verticalScrollBar().setSingleStep(TILE.height() // 2)
        self.list.setMouseTracking(True)
        self.model = _TileModel()
        self.list.setModel(self.model)
        self.delegate = _TileDelegate(self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.clicked.connect(self._chosen)
        self.list.activated.connect(self._chosen)
        self.placeholder = QLabel("")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: palette(mid);")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.placeholder)
        self.body.addLayout(controls)
        self.body.addWidget(self.stack, 1)
        self._evaluation: Evaluation | None = None
        self._updating = False
        self.set_evaluation(None, "", "")

    # -- what is shown ----------------------------------------------------------------------------
    def set_evaluation(self, evaluation: Evaluation | None, caption: str, placeholder: str = "") -> None:
        self.set_caption(caption)
        self.placeholder.setText(placeholder)
        if evaluation is self._evaluation and evaluation is not None:
            return
        self._evaluation = evaluation
        self.stack.setCurrentWidget(self.list if evaluation is not None else self.placeholder)
        self._refresh()

    def evaluation(self) -> Evaluation | None:
        return self._evaluation

    def apply_theme(self, theme: Theme) -> None:
        self.delegate.theme = theme
        super().apply_theme(theme)
        self.list.viewport().update()

    def gallery_filter(self) -> GalleryFilter:
        return GalleryFilter(self.true_box.currentData(), self.predicted_box.currentData(),
                             self.correct_box.currentData(), self.order_box.currentData())

    def set_filter(self, which: GalleryFilter) -> None:
        """Show the images ``which`` lets through (the boxes follow)."""
        self._updating = True
        try:
            for box, value in ((self.true_box, which.true_digit), (self.predicted_box, which.predicted_digit),
                               (self.correct_box, which.correctness), (self.order_box, which.order)):
                box.setCurrentIndex(box.findData(value) if value is not None else 0)
        finally:
            self._updating = False
        self._refresh()

    def count(self) -> int:
        """How many images the gallery shows (0 without an evaluation)."""
        return self.model.rowCount()

    def shown_indices(self) -> np.ndarray:
        """Indices into the evaluation of the tiles, in order (a copy)."""
        return self.model.indices.copy()

    def choose(self, row: int) -> None:
        """Act as a click on tile ``row``."""
        index = self.model.index(row, 0)
        self.list.setCurrentIndex(index)
        self._chosen(index)

    # -- internals --------------------------------------------------------------------------------
    def _refresh(self) -> None:
        if self._updating:
            return
        ev = self._evaluation
        indices = select(ev, self.gallery_filter()) if ev is not None else np.zeros(0, np.int64)
        self.model.show(ev, indices)
        self.list.scrollToTop()
        self.count_label.setText("" if ev is None else f"{indices.size:,} of {len(ev):,} images")

    def _chosen(self, index: QModelIndex) -> None:
        ev = self._evaluation
        if ev is None or not index.isValid():
            return
        i = int(self.model.indices[index.row()])
        self.image_chosen.emit(np.array(ev.image(i)), self.model.describe(index.row()))
