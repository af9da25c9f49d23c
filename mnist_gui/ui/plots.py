"""Live training curves: loss (per batch, smoothed, and per epoch) and accuracy (per epoch, test at the end).

Following pyqtgraph's own advice, every curve is created once and fed with ``setData``. Incoming
points are only appended to lists; a timer flushes them to the curves at most every
:data:`FLUSH_INTERVAL_MS`, so however fast the worker reports, the plots repaint at display rate.
The x axis is in epochs (a batch halfway through epoch 3 sits at 2.5), so per-batch and per-epoch
points line up.
"""

from __future__ import annotations

import math
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QGroupBox, QHBoxLayout, QWidget

from mnist_gui.training import BatchProgress, EpochResult
from mnist_gui.ui.plot_style import FOREGROUND, style_axes

FLUSH_INTERVAL_MS = 100   # 10 repaints a second, in step with the worker's progress signals
ACCURACY_STAGGER_MS = 30  # an epoch end repaints the loss plot, then the accuracy plot this much later
TRAIN_COLOUR = "#2f6fd0"
VAL_COLOUR = "#e07b00"
BATCH_COLOUR = (90, 125, 190, 230)   # drawn 1 px wide: a shade darker than the 1.5 px it replaced
TEST_COLOUR = "#c0262d"
ACCURACY_FLOORS = (0.0, 50.0, 80.0, 90.0, 95.0, 97.0, 98.0)   # lower ends of the accuracy plot
MAX_SYMBOLS = 60   # beyond this many epochs, draw lines without markers


class _Legend(pg.LegendItem):
    """pyqtgraph's legend, tolerant of being told its geometry changed while its window is destroyed.

    The legend is anchored to its view box; when a window is deleted, the view box's C++ object can go
    before the legend's, and pyqtgraph's anchor callback then raises RuntimeError inside the event loop.
    """

    def _GraphicsWidgetAnchor__geometryChanged(self) -> None:   # overrides the name-mangled callback
        try:
            super()._GraphicsWidgetAnchor__geometryChanged()
        except RuntimeError:
            pass


def _make_plot(name: str, title: str, y_label: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(name)
    plot.setMinimumSize(220, 170)
    item = plot.getPlotItem()
    style_axes(item)
    item.setTitle(title, size="11pt", color=FOREGROUND)
    item.setLabel("bottom", "epoch", color=FOREGROUND)
    item.setLabel("left", y_label, color=FOREGROUND)
    item.showGrid(x=True, y=True, alpha=0.2)
    # With the grid on, each axis spans the whole view, so any change inside it (the batch curve,
    # ten times a second) replayed both axes' pictures: 9-10 ms per repaint of a plot, most of the
    # epoch-end stalls. Cached as pixmaps, which Qt redraws only when the range or size changes,
    # a repaint costs about 1 ms.
    for axis in ("left", "bottom"):
        item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setClipToView(True)
    item.getViewBox().setMouseEnabled(x=False, y=False)
    legend = item.legend = _Legend(offset=legend_offset, labelTextSize="9pt", labelTextColor=FOREGROUND)   # what addLegend() does
    legend.setParentItem(item.vb)
    legend.setBrush(pg.mkBrush(255, 255, 255, 210))
    return plot


class TrainingPlots(QGroupBox):
    """The loss plot (objectName ``lossPlot``) and the accuracy plot (``accuracyPlot``) side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Live training curves", parent)
        # Legends go where the curves are not: loss falls away from the top right, accuracy rises
        # away from the bottom right.
        self.loss_plot = _make_plot("lossPlot", "Loss", "cross-entropy", (-8, 8))
        self.accuracy_plot = _make_plot("accuracyPlot", "Accuracy", "accuracy (%)", (-8, -8))
        lp = self.loss_plot.getPlotItem()
        lp.setLogMode(y=True)
        lp.enableAutoRange(axis="y", enable=False)
        # Log axis labelled 1-2-5 (pyqtgraph's own minor log labels collide on a short axis).
        lp.getAxis("left").setTicks([[(math.log10(m * 10.0**e), f"{m * 10.0**e:g}")
                                      for e in range(-5, 2) for m in (1, 2, 5)], []])

        lp, ap = self.loss_plot.getPlotItem(), self.accuracy_plot.getPlotItem()
        # A 1 px (cosmetic) pen: the raster engine strokes a 1.5 px one about twice as slowly, and
        # this curve is the one repainted ten times a second.
        self.batch_curve = lp.plot(pen=pg.mkPen(BATCH_COLOUR, width=1), name="batch (smoothed)", antialias=True)
        self.batch_curve.setDownsampling(auto=True, method="mean")
        self.train_loss_curve = lp.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=6,
                                        symbolBrush=TRAIN_COLOUR, symbolPen=None, name="train (epoch)", antialias=True)
        self.val_loss_curve = lp.plot(pen=pg.mkPen(VAL_COLOUR, width=2), symbol="s", symbolSize=6,
                                      symbolBrush=VAL_COLOUR, symbolPen=None, name="validation", antialias=True)
        self.train_acc_curve = ap.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=6,
                                       symbolBrush=TRAIN_COLOUR, symbolPen=None, name="train", antialias=True)
        self.val_acc_curve = ap.plot(pen=pg.mkPen(VAL_COLOUR, width=2), symbol="s", symbolSize=6,
                                     symbolBrush=VAL_COLOUR, symbolPen=None, name="validation", antialias=True)
        for curve in (self.train_loss_curve, self.val_loss_curve, self.train_acc_curve, self.val_acc_curve):
            curve.scatter.setPen(FOREGROUND)   # the default outline, which the legend's samples draw with
        self.test_marker = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush(TEST_COLOUR),
                                              pen=pg.mkPen("w", width=0.5), name="test", antialias=True)
        ap.addItem(self.test_marker)   # named, so the legend lists it
        # The test accuracy is written in the legend, which sits where no curve goes.
        self.test_label = next(label for sample, label in ap.legend.items if sample.item is self.test_marker)
        self.hint_item = pg.TextItem("press Train to watch the network learn", color="#888", anchor=(0.5, 0.5))
        self.hint_item.setPos(2.5, -0.95)   # log10 scale: below the legend of the empty loss plot
        lp.addItem(self.hint_item, ignoreBounds=True)

        layout = QHBoxLayout(self)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self.reset()

    # -- feeding --------------------------------------------------------------------------------
    def reset(self, epochs: int | None = None) -> None:
        """Forget every point; with ``epochs``, fix the x range to the run's length."""
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._epochs: list[float] = []
        self._train_loss: list[float] = []
        self._val_loss: list[float] = []
        self._train_acc: list[float] = []
        self._val_acc: list[float] = []
        self._val_epochs: list[float] = []
        self._test: tuple[float, float] | None = None
        self._last_x = 0.0
        self._smoothed: float | None = None
        self._last_step = 0
        self._loss_range: tuple[float, float] | None = None   # log10 y range shown on the loss plot
        self._acc_floor: float | None = None                   # lower end of the accuracy plot's y range
        self._dirty = {"batch", "epoch", "epoch_accuracy", "test"}
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().setXRange(0, epochs or 5, padding=0.04)
        self.accuracy_plot.getPlotItem().setYRange(0, 100, padding=0.02)   # until the first epoch
        self.accuracy_plot.getPlotItem().enableAutoRange(axis="y", enable=False)
        self.hint_item.setVisible(epochs is None)
        self.loss_plot.getPlotItem().setYRange(-1.3, 0.5, padding=0)   # 0.05 .. 3
        self.flush()

    def add_progress(self, ev: BatchProgress) -> None:
        """One point of the smoothed batch loss, at x = epochs done so far (fractional).

        The curve is smoothed here, over the batch losses the ticks carry, with a time constant of
        about 2% of the run (5 to 50 batches): a fixed 50-batch average would lag far behind the
        epoch points on a short run.
        """
        self._last_x = ev.epoch - 1 + ev.batch / ev.batches
        # The mean over every batch since the previous tick when the session reports it (it does),
        # else this batch's loss alone.
        loss = ev.loss if ev.mean_loss is None else ev.mean_loss
        if not (np.isfinite(loss) and loss > 0):
            return
        tau = min(50.0, max(5.0, ev.total_steps / 50.0))
        if self._smoothed is None:
            self._smoothed = loss
        else:
            keep = (1.0 - 1.0 / tau) ** max(1, ev.step - self._last_step)
            self._smoothed = keep * self._smoothed + (1.0 - keep) * loss
        self._last_step = ev.step
        self._batch_x.append(self._last_x)
        self._batch_y.append(self._smoothed)
        self._schedule("batch")

    def add_epoch(self, ev: EpochResult) -> None:
        self._last_x = float(ev.epoch)
        self._epochs.append(float(ev.epoch))
        self._train_loss.append(max(ev.train_loss, 1e-12))
        self._train_acc.append(100.0 * ev.train_accuracy)
        if ev.val_loss is not None and ev.val_accuracy is not None and np.isfinite(ev.val_loss):
            self._val_epochs.append(float(ev.epoch))
            self._val_loss.append(max(ev.val_loss, 1e-12))
            self._val_acc.append(100.0 * ev.val_accuracy)
        self._schedule("epoch")

    def mark_test(self, test_accuracy: float) -> None:
        """The test accuracy at the end of the run, where the run ended (a stopped run ends early)."""
        if np.isfinite(test_accuracy):
            self._test = (self._last_x, 100.0 * test_accuracy)
            self._schedule("test")

    def point_counts(self) -> dict[str, int]:
        """How many points each curve shows (after a flush); for tests and diagnostics."""
        def n(curve) -> int:
            x, _ = curve.getData()
            return 0 if x is None else len(x)
        return {"batch": n(self.batch_curve), "train_loss": n(self.train_loss_curve),
                "val_loss": n(self.val_loss_curve), "train_accuracy": n(self.train_acc_curve),
                "val_accuracy": n(self.val_acc_curve), "test": len(self.test_marker.data)}

    # -- display-rate flushing --------------------------------------------------------------------
    def _schedule(self, what: str) -> None:
        self._dirty.add(what)
        if not self._timer.isActive():
            self._timer.start(FLUSH_INTERVAL_MS)

    def _on_timer(self) -> None:
        """The timer's flush: the loss plot first; accuracy changes (epoch ends) one turn later.

        An epoch end changes both plots, and repainting both in one go kept the event loop busy
        twice as long (10-30 ms while training holds the cores); staggered by
        :data:`ACCURACY_STAGGER_MS`, each stall is about half as long.
        """
        self._flush(loss=True, accuracy="epoch" not in self._dirty)
        if self._dirty:
            self._timer.start(ACCURACY_STAGGER_MS)

    def flush(self) -> None:
        """Push every pending point to the curves now (the timer does it in steps; tests call this).

        Only the curves that changed are touched, and the loss plot's y range moves only when a
        point leaves it: a changed range redraws the axes, which costs far more than the curve.
        """
        self._flush(loss=True, accuracy=True)

    def _flush(self, loss: bool, accuracy: bool) -> None:
        arr = np.asarray
        dirty = self._dirty
        if loss:
            if "batch" in dirty:
                self.batch_curve.setData(arr(self._batch_x), arr(self._batch_y))
            if "epoch" in dirty:
                self._set_epoch_curves(((self.train_loss_curve, self._epochs, self._train_loss, "o"),
                                        (self.val_loss_curve, self._val_epochs, self._val_loss, "s")))
                dirty.add("epoch_accuracy")
            if dirty & {"batch", "epoch"}:
                self._fit_loss_range()
            dirty -= {"batch", "epoch"}
        if accuracy:
            if "epoch_accuracy" in dirty:
                self._set_epoch_curves(((self.train_acc_curve, self._epochs, self._train_acc, "o"),
                                        (self.val_acc_curve, self._val_epochs, self._val_acc, "s")))
            if dirty & {"epoch_accuracy", "test"}:
                self._fit_accuracy_range()
            if "test" in dirty:
                if self._test is None:
                    self.test_marker.setData([], [])
                    self.test_label.setText("test")
                else:
                    x, y = self._test
                    self.test_marker.setData([x], [y])
                    self.test_label.setText(f"<b>test {y:.2f}%</b>")
            dirty -= {"epoch_accuracy", "test"}

    def _set_epoch_curves(self, curves) -> None:
        symbols = len(self._epochs) <= MAX_SYMBOLS
        for curve, x, y, symbol in curves:
            wanted = symbol if symbols else None
            if curve.opts["symbol"] != wanted:   # long runs (tiny-gd: 500 epochs) drop the markers
                curve.setSymbol(wanted)
            curve.setData(np.asarray(x), np.asarray(y))

    def _fit_accuracy_range(self) -> None:
        """Accuracy y range from a ladder of floors up to 100%: it changes only when a point falls
        below the floor shown (a few times a run at most), not every epoch as auto-range would.
        Each change redraws both axes and the grid (their cached pixmaps): 10-15 ms while training runs."""
        values = self._train_acc + self._val_acc + ([self._test[1]] if self._test else [])
        if not values:
            return
        lowest = min(values)
        floor = max((f for f in ACCURACY_FLOORS if f <= lowest - 0.25), default=0.0)
        if floor != self._acc_floor:
            self._acc_floor = floor
            self.accuracy_plot.getPlotItem().setYRange(floor, 100.0 + 0.03 * (100.0 - floor), padding=0)

    @property
    def accuracy_range(self) -> tuple[float, float]:
        """The accuracy plot's shown y range, in percent."""
        lo, hi = self.accuracy_plot.getPlotItem().viewRange()[1]
        return float(lo), float(hi)

    def _fit_loss_range(self) -> None:
        values = self._batch_y + self._train_loss + self._val_loss
        if not values:
            return
        lo, hi = np.log10(min(values)), np.log10(max(values))
        shown = self._loss_range
        if shown is None or lo < shown[0] or hi > shown[1] or hi < shown[1] - 1.0:
            # Leave head-room below (the loss keeps falling) so the range changes rarely.
            self._loss_range = (lo - 0.35, hi + 0.08)
            self.loss_plot.getPlotItem().setYRange(*self._loss_range, padding=0)
