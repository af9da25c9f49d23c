"""What the first layer learned: each first-layer unit's 784 input weights as a 28x28 tile.

Red pixels excite the unit, blue ones inhibit it, near-white is zero (a diverging colour map, from
:mod:`mnist_gui.insight.weights`). The tiles fill the view as large as they fit; when they would be
smaller than :data:`MIN_TILE` pixels (1,024 units on a small screen), they come in pages instead.
The page is drawn from one mosaic image. During training the mosaic of each weight snapshot (five
a second) is built in the analysis worker (:meth:`WeightsView.tiles_wanted` says what to build,
:meth:`WeightsView.show_tiles` takes it), so the GUI thread only draws it; otherwise (another page,
another size, another model) it is rebuilt lazily at the next paint. A hidden view builds nothing.

Clicking a tile shows that unit large beside the grid, with the current drawing laid over it and the
unit's activation for that drawing: ink over red raises it, ink over blue lowers it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QToolTip, QVBoxLayout,
                               QWidget)

from mnist_gui.digits import SIDE
from mnist_gui.insight.weights import DIVERGING, grid_for, tile_mosaic, tile_scale, unit_image
from mnist_gui.ui.status_text import StatusText
from mnist_gui.ui.theme import Theme, app_theme
from mnist_gui.ui.view_base import InsightView, blend, qimage

#: Smallest tile side, in pixels, before the grid goes to pages.
MIN_TILE = 22
_CELL = SIDE + 1   # a mosaic cell: the tile and a 1 px gap
CLICK_HINT = "Click a tile to see that unit's weights large, with your drawing over them."


class _TileGrid(QWidget):
    """One page of tiles, painted from a mosaic; click a tile to select its unit."""

    unit_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.w0: np.ndarray | None = None
        self.per_unit = True
        self.page = 0
        self.selected: int | None = None
        self.placeholder = ""
        self.mosaic: np.ndarray | None = None   # the last page rendered (for tests and diagnostics)
        self._image = None
        self._dirty = True
        self._shown_key: tuple | None = None
        self.renders = 0
        self.theme: Theme = app_theme()

    def sizeHint(self) -> QSize:
        return QSize(480, 320)

    @property
    def units(self) -> int:
        return 0 if self.w0 is None else int(self.w0.shape[1])

    def layout_grid(self) -> tuple[int, int, float]:
        """(columns, tiles per page, tile side) for the current size."""
        return grid_for(self.units, self.width() - 2, self.height() - 2, MIN_TILE)

    def pages(self) -> int:
        per_page = self.layout_grid()[1]
        return max(1, -(-self.units // max(1, per_page)))

    def page_units(self) -> np.ndarray:
        _, per_page, _ = self.layout_grid()
        start = min(self.page, self.pages() - 1) * per_page
        return np.arange(start, min(self.units, start + per_page))

    def invalidate(self) -> None:
        self._dirty = True
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.page = min(self.page, self.pages() - 1)
        # The mosaic is scaled to fit when painted: only another grid (columns, page) needs a new one.
        if self._image is None or self.tiles_key() != self._shown_key:
            self._dirty = True
        super().resizeEvent(event)

    def tiles_key(self) -> tuple:
        """What the mosaic of the current page depends on, besides the weights' values."""
        units = self.page_units()
        return (int(units[0]) if len(units) else 0, len(units), self.layout_grid()[0], self.per_unit)

    def _render(self) -> None:
        key = self.tiles_key()
        first, n, columns, per_unit = key
        self.show_mosaic(tile_mosaic(self.w0, np.arange(first, first + n), columns, per_unit), key)

    def show_mosaic(self, mosaic: np.ndarray, key: tuple) -> None:
        self.mosaic, self._shown_key = mosaic, key
        # The image reads the mosaic's memory (no copy); the mosaic is kept as long as the image.
        h, w = mosaic.shape
        self._image = QImage(mosaic.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._dirty = False
        self.renders += 1
        self.update()

    def tile_rect(self, position: int) -> QRectF:
        columns, _, side = self.layout_grid()
        return QRectF(1 + (position % columns) * side, 1 + (position // columns) * side, side, side)

    def unit_at(self, pos: QPointF) -> int | None:
        if self.w0 is None:
            return None
        columns, _, side = self.layout_grid()
        col, row = int((pos.x() - 1) // side), int((pos.y() - 1) // side)
        units = self.page_units()
        position = row * columns + col
        if 0 <= col < columns and row >= 0 and position < len(units):
            return int(units[position])
        return None

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        if self.w0 is None:
            painter.setPen(QColor(self.theme.faint))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        if self._dirty or self._image is None:
            self._render()
        columns, _, side = self.layout_grid()
        scale = side / _CELL
        target = QRectF(1, 1, self._image.width() * scale, self._image.height() * scale)
        # Shrunk tiles are averaged (smooth); enlarged ones keep their pixels square.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        painter.drawImage(target, self._image)
        units = self.page_units()
        if self.selected is not None and len(units) and units[0] <= self.selected <= units[-1]:
            painter.setPen(QPen(QColor(self.theme.foreground), 2))
            painter.drawRect(self.tile_rect(int(self.selected - units[0])).adjusted(0, 0, -1, -1))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        unit = self.unit_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and unit is not None:
            self.unit_clicked.emit(unit)

    def event(self, event) -> bool:  # noqa: A003
        if event.type() == QEvent.Type.ToolTip:
            unit = self.unit_at(QPointF(event.pos()))
            if unit is not None:
                QToolTip.showText(event.globalPos(), f"unit {unit}: click to see it large", self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class _UnitDetail(QWidget):
    """The selected unit, large, with the drawing laid over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(150)
        self.setMinimumHeight(84)
        self.image = None          # the unit's weights, RGB
        self.drawing = None        # the drawing as RGBA ink over it
        self.overlay = True
        self.theme: Theme = app_theme()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        side = min(self.width(), self.height()) // SIDE * SIDE
        target = QRectF((self.width() - side) / 2, 0, side, side)
        theme = self.theme
        if self.image is None:
            painter.fillRect(target, blend(theme.background, theme.foreground, 0.06))
            painter.setPen(QColor(theme.faint))
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "click a tile")
            return
        painter.drawImage(target, self.image)
        if self.overlay and self.drawing is not None:
            painter.drawImage(target, self.drawing)
        painter.setPen(QPen(blend(theme.background, theme.foreground, 0.45), 1))
        painter.drawRect(target.adjusted(0, 0, -1, -1))


class _Legend(QWidget):
    """The colour map: blue inhibits, white is zero, red excites."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(26)
        self.setMinimumWidth(140)
        self.theme: Theme = app_theme()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        bar = QRectF(4, 2, self.width() - 8, 9)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(0, 256, 32):
            gradient.setColorAt(i / 255, QColor(*DIVERGING[i]))
        gradient.setColorAt(1.0, QColor(*DIVERGING[255]))
        painter.fillRect(bar, gradient)
        painter.setPen(QColor(self.theme.foreground))
        text = QRectF(4, 11, self.width() - 8, 14)
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft, "inhibits")
        painter.drawText(text, Qt.AlignmentFlag.AlignHCenter, "0")
        painter.drawText(text, Qt.AlignmentFlag.AlignRight, "excites")


class WeightsView(InsightView):
    """First-layer weights as tiles (objectName ``weightsView``)."""

    unit_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("weightsView")
        self.grid = _TileGrid()
        self.grid.unit_clicked.connect(self.select_unit)
        self.detail = _UnitDetail()
        # Self-painted text: it changes five times a second during training, and a QLabel would
        # re-lay-out the window each time.
        self.detail_text = StatusText(CLICK_HINT, min_lines=4)
        self.detail_text.setFixedWidth(150)
        self.overlay_box = QCheckBox("drawing on top")
        self.overlay_box.setChecked(True)
        self.overlay_box.setToolTip("Lay the drawing over the unit's weights: ink on red raises its activation, "
                                    "ink on blue lowers it")
        self.overlay_box.toggled.connect(self._set_overlay)
        side = QVBoxLayout()
        side.addWidget(self.detail)
        side.addWidget(self.overlay_box)
        side.addWidget(self.detail_text, 1)
        self.previous_button, self.next_button = QToolButton(), QToolButton()
        self.previous_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.previous_button.clicked.connect(lambda: self.set_page(self.grid.page - 1))
        self.next_button.clicked.connect(lambda: self.set_page(self.grid.page + 1))
        self.page_label = QLabel("")
        self.page_label.setMinimumWidth(90)
        self.scale_box = QCheckBox("each tile on its own scale")
        self.scale_box.setChecked(True)
        self.scale_box.setToolTip("On: each tile's strongest weight is full colour (patterns show). "
                                  "Off: one scale for all (strong units stand out).")
        self.scale_box.toggled.connect(self._set_per_unit)
        for w in (self.previous_button, self.page_label, self.next_button, self.scale_box, _Legend()):
            self.header.addWidget(w)
        row = QHBoxLayout()
        row.addWidget(self.grid, 1)
        row.addLayout(side)
        self.body.addLayout(row, 1)
        self._w0: np.ndarray | None = None
        self._b0: np.ndarray | None = None
        self._drawing: np.ndarray | None = None
        self._activations: np.ndarray | None = None
        self.set_weights(None, None, "", "")

    # -- feeding ----------------------------------------------------------------------------------
    def set_weights(self, w0: np.ndarray | None, b0: np.ndarray | None, caption: str, placeholder: str = "",
                    changed: bool = False, tiles_follow: bool = False) -> None:
        """The first layer's (784, H) weights and (H,) biases (None: ``placeholder``). They are read at
        the next paint, not copied: pass arrays that only the GUI thread changes, and ``changed`` when
        the same arrays got new values (the network in training). With ``tiles_follow`` the tiles on
        show stay until :meth:`show_tiles` brings the new ones (built elsewhere)."""
        self.set_caption(caption)
        self.grid.placeholder = placeholder
        if w0 is self._w0 and not changed:
            return
        if tiles_follow and w0 is self._w0 and self.grid._image is not None:
            self._update_detail()
            return
        if w0 is not None and (self._w0 is None or w0.shape != self._w0.shape):
            self.grid.page = 0
            if self.grid.selected is not None and self.grid.selected >= w0.shape[1]:
                self.grid.selected = None
        self._w0, self._b0 = w0, b0
        self.grid.w0 = w0
        self.grid.invalidate()
        self._update_controls()
        self._update_detail()

    def set_drawing(self, pixels: np.ndarray | None, activations: np.ndarray | None) -> None:
        """The drawing (28x28 uint8) and the first hidden layer's activations for it (None: no drawing)."""
        self._drawing, self._activations = pixels, activations
        self._update_detail()

    def weights_array(self) -> np.ndarray | None:
        """The (784, H) weights shown (the array itself, as given to :meth:`set_weights`)."""
        return self._w0

    def tiles_wanted(self) -> tuple:
        """(first unit, how many, columns, each on its own scale): the mosaic the current page needs,
        for :func:`~mnist_gui.insight.weights.tile_mosaic` to build off the GUI thread."""
        return self.grid.tiles_key()

    def show_tiles(self, mosaic: np.ndarray, key: tuple) -> bool:
        """A mosaic built for ``key`` (:meth:`tiles_wanted`); shown if the page still wants it."""
        if self._w0 is None or key != self.grid.tiles_key():
            return False
        self.grid.show_mosaic(mosaic, key)
        return True

    def select_unit(self, unit: int | None) -> None:
        """Show ``unit`` large (and turn to its page); None: no unit."""
        if unit is not None and (self._w0 is None or not 0 <= unit < self._w0.shape[1]):
            return
        self.grid.selected = unit
        if unit is not None:
            per_page = self.grid.layout_grid()[1]
            self.grid.page = unit // max(1, per_page)
            self.grid.invalidate()
            self._update_controls()
            self.unit_selected.emit(unit)
        self.grid.update()
        self._update_detail()

    def selected_unit(self) -> int | None:
        return self.grid.selected

    def set_page(self, page: int) -> None:
        self.grid.page = max(0, min(page, self.grid.pages() - 1))
        self.grid.invalidate()
        self._update_controls()

    def page(self) -> int:
        return self.grid.page

    def pages(self) -> int:
        return self.grid.pages()

    # -- internals --------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_controls()

    def _set_per_unit(self, on: bool) -> None:
        self.grid.per_unit = on
        self.grid.invalidate()
        self._update_detail()

    def _set_overlay(self, on: bool) -> None:
        self.detail.overlay = on
        self.detail.update()

    def _update_controls(self) -> None:
        pages, units = self.grid.pages(), self.grid.units
        shown = self.grid.page_units()
        text = "" if not units else (f"units {shown[0]}-{shown[-1]} of {units}" if pages > 1 else f"all {units} units")
        if text != self.page_label.text():
            self.page_label.setText(text)
        self.previous_button.setEnabled(self.grid.page > 0)
        self.next_button.setEnabled(self.grid.page < pages - 1)
        self.previous_button.setVisible(pages > 1)
        self.next_button.setVisible(pages > 1)

    def _update_detail(self) -> None:
        unit, w0 = self.grid.selected, self._w0
        if unit is None or w0 is None:
            self.detail.image = None
            self.detail.update()
            self.detail_text.setText(CLICK_HINT)
            return
        scale = None if self.grid.per_unit else float(tile_scale(w0, [unit], per_unit=False)[0])
        self.detail.image = qimage(unit_image(w0, unit, scale))
        if self._drawing is not None:
            ink = np.zeros((SIDE, SIDE, 4), np.uint8)
            ink[..., 3] = (np.asarray(self._drawing, np.float32).reshape(SIDE, SIDE) * 0.55).astype(np.uint8)
            self.detail.drawing = qimage(ink)
        else:
            self.detail.drawing = None
        column = w0[:, unit]
        lines = [f"Unit {unit} of {w0.shape[1]}", f"weights {float(column.min()):+.3f} to {float(column.max()):+.3f}"]
        if self._activations is not None and unit < len(self._activations):
            value = float(self._activations[unit])
            rank = int(np.count_nonzero(self._activations > value)) + 1
            lines.append(f"activation for the drawing: {value:.2f} (rank {rank} of {len(self._activations)})")
        else:
            lines.append("Draw a digit to see how strongly it fires.")
        self.detail_text.setText("\n".join(lines))
        self.detail.update()
