"""The map of the digits: 2,000 test images placed by the first two principal components of the
network's last hidden layer, coloured by their true digit (:mod:`mnist_gui.insight.digit_map`).

A trained network pulls each digit into its own cloud; an untrained one (epoch 0 of a run) gives
one grey smear, and during training the clouds separate epoch by epoch. Images the network gets
wrong have a dark outline. The current drawing is the star, and it moves as you draw. Hovering
over a point shows its image. One pyqtgraph scatter item, fed with ``setData``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mnist_gui.digits import SIDE
from mnist_gui.insight.digit_map import DigitMap
from mnist_gui.ui.theme import Theme, app_theme, style_plot
from mnist_gui.ui.view_base import InsightView, qimage

#: One colour per digit (Tableau 10), so neighbouring clouds are told apart.
DIGIT_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#7f7f7f"]
HOVER_PIXELS = 8   # how near the pointer must be to a point to show its image


class _Popup(QFrame):
    """The hovered image, 3x, with its labels."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        # The pointer goes on moving over the map beneath it (and the popup follows, or hides).
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFrameShape(QFrame.Shape.Box)
        self.picture = QLabel()
        self.text = QLabel()
        self.text.setStyleSheet("border: none;")
        self.picture.setStyleSheet("border: none;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.picture)
        layout.addWidget(self.text)
        self.hide()

    def show_image(self, pixels: np.ndarray, text: str, at: QPoint) -> None:
        self.picture.setPixmap(QPixmap.fromImage(qimage(pixels.reshape(SIDE, SIDE))).scaled(
            3 * SIDE, 3 * SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        self.text.setText(text)
        self.adjustSize()
        parent = self.parentWidget()
        # Below right of the pointer, or above left where that would leave the plot: never under it.
        x = at.x() + 14 if at.x() + 14 + self.width() <= parent.width() else at.x() - 14 - self.width()
        y = at.y() + 14 if at.y() + 14 + self.height() <= parent.height() else at.y() - 14 - self.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()


class DigitMapView(InsightView):
    """The PCA map of the last hidden layer (objectName ``digitMap``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("digitMap")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(180, 120)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setLabel("bottom", "first principal component")
        item.setLabel("left", "second")
        self._brushes = [pg.mkBrush(c) for c in DIGIT_COLOURS]
        self.points = pg.ScatterPlotItem(size=6, pen=None, antialias=False)
        self.marker = pg.ScatterPlotItem(symbol="star", size=24, brush=pg.mkBrush(255, 215, 0))
        self.marker.setZValue(10)
        item.addItem(self.points)
        item.addItem(self.marker)
        self.placeholder_item = pg.TextItem("", anchor=(0.5, 0.5))
        item.addItem(self.placeholder_item, ignoreBounds=True)
        legend = QLabel("  ".join(f'<span style="color:{c}; font-size:15px">\u25cf</span>{d}'
                                  for d, c in enumerate(DIGIT_COLOURS))
                        + '&nbsp;&nbsp;&nbsp;<span style="font-size:15px">\u2605</span> your drawing'
                          '&nbsp;&nbsp;&nbsp;outlined: read wrong')
        legend.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(legend)
        row.addStretch(1)
        self.body.addWidget(self.plot, 1)
        self.body.addLayout(row)
        self.popup = _Popup(self.plot)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self._map: DigitMap | None = None
        self._images: np.ndarray | None = None
        self.apply_theme(app_theme())
        self.set_map(None, None, "", "")

    def apply_theme(self, theme: Theme) -> None:
        """Plot, outlines, the star's edge and the hover popup in ``theme``'s colours (the digits'
        colours stay: they read on either background)."""
        super().apply_theme(theme)
        style_plot(self.plot, theme)
        self._wrong_pen = pg.mkPen(theme.foreground, width=1.2)
        self.marker.setPen(pg.mkPen(theme.foreground, width=1.5))
        self.placeholder_item.setColor(theme.faint)
        self.popup.setStyleSheet(f"QFrame {{ background: {theme.background}; color: {theme.foreground}; "
                                 f"border: 1px solid {theme.faint}; }}")
        if self._map is not None:   # the outlines of the points read wrong, in the new colour
            digit_map, self._map = self._map, None
            self.set_map(digit_map, self._images, self.caption_text())

    def set_map(self, digit_map: DigitMap | None, images: np.ndarray | None, caption: str,
                placeholder: str = "") -> None:
        """Show ``digit_map``, whose indices point into ``images`` (None: ``placeholder``)."""
        self.set_caption(caption)
        self.placeholder_item.setText(placeholder)
        self.placeholder_item.setVisible(digit_map is None)
        if digit_map is self._map and digit_map is not None:
            return
        self._map, self._images = digit_map, images
        self.popup.hide()
        if digit_map is None:
            self.points.setData([], [])
            self.marker.setData([], [])
            self.plot.getPlotItem().setRange(xRange=(-1, 1), yRange=(-1, 1))
            self.placeholder_item.setPos(0, 0)
            return
        wrong = digit_map.labels != digit_map.predicted
        self.points.setData(pos=digit_map.points, brush=[self._brushes[int(d)] for d in digit_map.labels],
                            pen=[self._wrong_pen if w else None for w in wrong], data=np.arange(len(digit_map.labels)))
        self.plot.getPlotItem().autoRange(padding=0.05)

    def digit_map(self) -> DigitMap | None:
        return self._map

    def set_marker(self, hidden: np.ndarray | None) -> None:
        """Place the star for the drawing whose last hidden layer is ``hidden`` (None: no star)."""
        if hidden is None or self._map is None or hidden.shape != (self._map.hidden_units,):
            self.marker.setData([], [])
            return
        x, y = self._map.projection.project(hidden)
        self.marker.setData([float(x)], [float(y)])

    def marker_position(self) -> tuple[float, float] | None:
        x, y = self.marker.getData()
        return None if x is None or len(x) == 0 else (float(x[0]), float(y[0]))

    def point_near(self, view_point: QPointF) -> int | None:
        """The index (into the map) of the point within :data:`HOVER_PIXELS` of ``view_point``, if any."""
        if self._map is None or not len(self._map.points):
            return None
        px, py = self.plot.getPlotItem().getViewBox().viewPixelSize()
        d = ((self._map.points[:, 0] - view_point.x()) / max(px, 1e-12)) ** 2 + \
            ((self._map.points[:, 1] - view_point.y()) / max(py, 1e-12)) ** 2
        nearest = int(np.argmin(d))
        return nearest if d[nearest] <= HOVER_PIXELS ** 2 else None

    def _hover(self, scene_pos) -> None:
        if self._map is None or self._images is None:
            return
        view_box = self.plot.getPlotItem().getViewBox()
        nearest = self.point_near(view_box.mapSceneToView(scene_pos))
        if nearest is None:
            self.popup.hide()
            return
        m = self._map
        label, guess = int(m.labels[nearest]), int(m.predicted[nearest])
        text = f"test image #{int(m.indices[nearest])}\ntrue {label}, read as {guess}"
        self.popup.show_image(self._images[int(m.indices[nearest])], text,
                              self.plot.mapFromScene(scene_pos))
