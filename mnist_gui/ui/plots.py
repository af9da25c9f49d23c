"""Training curves: loss (per batch, smoothed, and per epoch) and accuracy (per epoch, test at the end).

The plots show one of three things, and their title says which:

* the **live** run: points arrive from the worker as it trains (:meth:`TrainingPlots.add_progress`,
  :meth:`add_epoch`, :meth:`mark_test`); a continued run's live curves start from its parent's;
* a **stored** run's curves (:meth:`show_curves`), e.g. the current model's, read from the library;
* several runs **overlaid** (:meth:`overlay`), each in its own colour, with a legend of run names.

The live run keeps collecting points while something else is shown; :meth:`show_live` brings it back.

Following pyqtgraph's own advice, every curve is created once and fed with ``setData`` (the overlay's
curves are created the first time that many runs are compared, then reused). Incoming points are
only appended to lists; a timer flushes them to the curves at most every :data:`FLUSH_INTERVAL_MS`,
so however fast the worker reports, the plots repaint at display rate. The x axis is in epochs (a
batch halfway through epoch 3 sits at 2.5), so per-batch and per-epoch points line up.

Each plot has a context menu to export it (PNG, SVG) or its data (CSV): :mod:`mnist_gui.ui.plot_export`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem, QGroupBox, QHBoxLayout, QMenu, QWidget

from mnist_gui.state.curves import RunCurves
from mnist_gui.training import BatchProgress, EpochResult
from mnist_gui.ui.theme import Theme, app_theme, style_plot

FLUSH_INTERVAL_MS = 100   # 10 repaints a second, in step with the worker's progress signals
ACCURACY_STAGGER_MS = 30  # an epoch end repaints the loss plot, then the accuracy plot this much later
TRAIN_COLOUR = "#2f6fd0"
VAL_COLOUR = "#e07b00"
BATCH_COLOUR = (90, 125, 190, 230)   # drawn 1 px wide: a shade darker than the 1.5 px it replaced
TEST_COLOUR = "#c0262d"
PEN_COLOUR = "#8e44ad"
#: One colour per compared run (Tableau's 10, which stay distinct for most colour-blind readers).
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
ACCURACY_FLOORS = (0.0, 50.0, 80.0, 90.0, 95.0, 97.0, 98.0)   # lower ends of the accuracy plot
MAX_SYMBOLS = 60   # beyond this many epochs, draw lines without markers
LIVE_TITLE = "Live training curves"


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
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setMinimumSize(170, 120)
    item = plot.getPlotItem()
    item.setTitle(title, size="11pt")
    item.setLabel("bottom", "epoch")
    item.setLabel("left", y_label)
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
    legend = item.legend = _Legend(offset=legend_offset, labelTextSize="9pt")   # what addLegend() does
    legend.setParentItem(item.vb)
    plot.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    return plot


class _Series:
    """The points of one run as the plots draw them (the batch loss smoothed)."""

    def __init__(self) -> None:
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self.epochs: list[float] = []
        self.train_loss: list[float] = []
        self.train_acc: list[float] = []
        self.val_epochs: list[float] = []
        self.val_loss: list[float] = []
        self.val_acc: list[float] = []
        self.pen_epochs: list[float] = []
        self.pen_acc: list[float] = []               # real pen-drawn digits, in %
        self.tests: list[tuple[float, float]] = []   # (x, accuracy in %)
        self.last_x = 0.0
        self._smoothed: float | None = None
        self._last_step = 0

    def add_batch(self, x: float, step: int, total_steps: int, loss: float) -> bool:
        """One point of the batch loss, smoothed with a time constant of about 2% of the run (5 to 50
        batches): a fixed 50-batch average would lag far behind the epoch points on a short run."""
        self.last_x = x
        if not (np.isfinite(loss) and loss > 0):
            return False
        tau = min(50.0, max(5.0, total_steps / 50.0))
        if self._smoothed is None:
            self._smoothed = loss
        else:
            keep = (1.0 - 1.0 / tau) ** max(1, step - self._last_step)
            self._smoothed = keep * self._smoothed + (1.0 - keep) * loss
        self._last_step = step
        self.batch_x.append(x)
        self.batch_y.append(self._smoothed)
        return True

    def add_epoch(self, epoch: float, train_loss: float, train_accuracy: float, val_loss: float | None,
                  val_accuracy: float | None, pen_accuracy: float | None = None) -> None:
        if pen_accuracy is not None and np.isfinite(pen_accuracy):
            self.pen_epochs.append(float(epoch))
            self.pen_acc.append(100.0 * pen_accuracy)
        self.last_x = float(epoch)
        self.epochs.append(float(epoch))
        self.train_loss.append(max(train_loss, 1e-12))
        self.train_acc.append(100.0 * train_accuracy)
        if val_loss is not None and val_accuracy is not None and np.isfinite(val_loss):
            self.val_epochs.append(float(epoch))
            self.val_loss.append(max(val_loss, 1e-12))
            self.val_acc.append(100.0 * val_accuracy)

    def add_test(self, accuracy: float) -> bool:
        if not np.isfinite(accuracy):
            return False
        self.tests.append((self.last_x, 100.0 * accuracy))
        return True

    @classmethod
    def from_curves(cls, curves: RunCurves | None) -> "_Series":
        series = cls()
        if curves is None:
            return series
        for x, step, loss in zip(curves.batch_x, curves.batch_step, curves.batch_loss):
            series.add_batch(x, step, max(curves.total_steps, 1), loss)
        for e in curves.epochs:
            series.add_epoch(e["epoch"], e["train_loss"], e["train_accuracy"], e.get("val_loss"), e.get("val_accuracy"),
                             e.get("pen_accuracy"))
        series.tests = [(x, 100.0 * a) for x, a in curves.tests]
        series.last_x = max([series.last_x, curves.last_x])
        return series

    @property
    def x_extent(self) -> float:
        return max([self.last_x, *self.epochs[-1:], *(x for x, _ in self.tests[-1:])], default=0.0)


class _OverlaySlot:
    """The curves of one compared run: train (dashed) and validation (solid) per epoch, and its test star."""

    def __init__(self, loss_plot: pg.PlotItem, accuracy_plot: pg.PlotItem, colour: str) -> None:
        dashed = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)
        solid = pg.mkPen(colour, width=2)
        self.train_loss = loss_plot.plot(pen=dashed, antialias=True)
        self.val_loss = loss_plot.plot(pen=solid, symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None,
                                       antialias=True)
        self.train_acc = accuracy_plot.plot(pen=dashed, antialias=True)
        self.val_acc = accuracy_plot.plot(pen=solid, symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None,
                                          antialias=True)
        self.test = pg.ScatterPlotItem(symbol="star", size=14, brush=pg.mkBrush(colour))
        accuracy_plot.addItem(self.test)
        self.items = (self.train_loss, self.val_loss, self.train_acc, self.val_acc, self.test)

    def show(self, series: _Series | None) -> None:
        for item in self.items:
            item.setVisible(series is not None)
        if series is None:
            return
        symbols = "o" if len(series.epochs) <= MAX_SYMBOLS else None
        for curve in (self.val_loss, self.val_acc):
            if curve.opts["symbol"] != symbols:
                curve.setSymbol(symbols)
        arr = np.asarray
        self.train_loss.setData(arr(series.epochs), arr(series.train_loss))
        self.val_loss.setData(arr(series.val_epochs), arr(series.val_loss))
        self.train_acc.setData(arr(series.epochs), arr(series.train_acc))
        self.val_acc.setData(arr(series.val_epochs), arr(series.val_acc))
        self.test.setData([x for x, _ in series.tests], [a for _, a in series.tests])


class TrainingPlots(QGroupBox):
    """The loss plot (objectName ``lossPlot``) and the accuracy plot (``accuracyPlot``) side by side."""

    #: A plot's context menu asked to export: (which plot, "png" | "svg" | "csv").
    export_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(LIVE_TITLE, parent)
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
        lp.getAxis("left").enableAutoSIPrefix(False)   # it scales the log10 values: "(x0.001)" on small losses

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
        # Real pen-drawn digits by writers never trained on: domain shift, in plain sight.
        self.pen_acc_curve = ap.plot(pen=pg.mkPen(PEN_COLOUR, width=2, style=Qt.PenStyle.DashLine), symbol="d",
                                     symbolSize=7, symbolBrush=PEN_COLOUR, symbolPen=None, name="pen-drawn",
                                     antialias=True)
        self.test_marker = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush(TEST_COLOUR),
                                              pen=pg.mkPen("w", width=0.5), name="test", antialias=True)
        ap.addItem(self.test_marker)   # named, so the legend lists it
        self._single_items = (self.batch_curve, self.train_loss_curve, self.val_loss_curve, self.train_acc_curve,
                              self.val_acc_curve, self.pen_acc_curve, self.test_marker)
        self._legend_entries = [(lp.legend, item, item.name()) for item in self._single_items[:3]] + \
                               [(ap.legend, item, item.name()) for item in self._single_items[3:]]
        # The test and pen-drawn accuracies are written in the legend, which sits where no curve goes.
        self.test_label = self._find_test_label()
        self.pen_label = next(label for sample, label in ap.legend.items if sample.item is self.pen_acc_curve)
        self.hint_item = pg.TextItem("", anchor=(0.5, 0.5))
        lp.addItem(self.hint_item, ignoreBounds=True)
        self._slots: list[_OverlaySlot] = []
        self._overlaid: list[tuple[str, _Series]] = []

        layout = QHBoxLayout(self)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)
        for which, plot in (("loss", self.loss_plot), ("accuracy", self.accuracy_plot)):
            plot.customContextMenuRequested.connect(lambda pos, w=which, p=plot: self._context_menu(w, p, pos))

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._live = _Series()
        self._shown = self._live
        self._live_epochs: float = 5
        self._idle = True
        self.apply_theme(app_theme())
        self.reset()


    def apply_theme(self, theme: Theme) -> None:
        """Draw the plots in ``theme``'s colours (the window calls this when its palette changes)."""
        self._theme = theme
        for plot in (self.loss_plot, self.accuracy_plot):
            style_plot(plot, theme)
        # The legend's samples outline symbols with their scatter's default pen.
        for curve in (self.train_loss_curve, self.val_loss_curve, self.train_acc_curve, self.val_acc_curve):
            curve.scatter.setPen(theme.foreground)
        for slot in self._slots:
            slot.test.setPen(pg.mkPen(theme.foreground))
        self.hint_item.setColor(theme.faint)

    def _find_test_label(self):
        legend = self.accuracy_plot.getPlotItem().legend
        return next(label for sample, label in legend.items if sample.item is self.test_marker)

    # -- feeding (the live run) -----------------------------------------------------------------
    def reset(self, epochs: int | None = None, start: RunCurves | None = None, title: str | None = None) -> None:
        """Forget the live run and show it (under ``title``); with ``epochs``, fix the x range to the
        run's length. A continued run passes its parent's curves as ``start``: its own go on from them."""
        self._live = _Series.from_curves(start)
        self._live_epochs = epochs or 5
        self._idle = epochs is None   # nothing trained yet: the hint says what to do
        self.show_live(title)

    def add_progress(self, ev: BatchProgress) -> None:
        """One point of the smoothed batch loss, at x = epochs done so far (fractional). The mean over
        every batch since the previous tick when the session reports it (it does), else this batch's."""
        loss = ev.loss if ev.mean_loss is None else ev.mean_loss
        if self._live.add_batch(ev.epoch - 1 + ev.batch / ev.batches, ev.step, ev.total_steps, loss):
            self._schedule_live("batch")

    def add_epoch(self, ev: EpochResult) -> None:
        self._live.add_epoch(ev.epoch, ev.train_loss, ev.train_accuracy, ev.val_loss, ev.val_accuracy, ev.pen_accuracy)
        self._schedule_live("epoch")

    def mark_test(self, test_accuracy: float) -> None:
        """The test accuracy at the end of the run, where the run ended (a stopped run ends early)."""
        if self._live.add_test(test_accuracy):
            self._schedule_live("test")

    # -- what is shown ----------------------------------------------------------------------------
    def show_live(self, title: str | None = None) -> None:
        """Show the live run (again), with its x range."""
        self._show(self._live, self._live_epochs, title or LIVE_TITLE)

    def show_curves(self, curves: RunCurves | None, title: str) -> None:
        """Show a stored run's curves (None: the run has none, and the plots say so)."""
        series = _Series.from_curves(curves)
        self._show(series, max(1.0, math.ceil(series.x_extent)), title,
                   None if series.epochs or series.batch_x else "no curves were stored for this model")

    @property
    def showing_live(self) -> bool:
        return self._shown is self._live and not self._overlaid

    def _show(self, series: _Series, x_max: float, title: str, hint: str | None = None) -> None:
        if self._overlaid:
            self._set_overlay_mode(False)
        self._shown = series
        self._set_title(title)
        self._reset_ranges(x_max)
        if hint is None and series is self._live and self._idle:
            hint = "press Train to watch the network learn"
        if hint is not None:
            self.hint_item.setText(hint)
            self.hint_item.setPos(x_max / 2, -0.95)   # log10 scale: below the legend of the empty loss plot
        self.hint_item.setVisible(hint is not None)
        self._dirty = {"batch", "epoch", "epoch_accuracy", "test"}
        self.flush()

    def overlay(self, runs: list[tuple[str, RunCurves | None]], title: str | None = None) -> None:
        """Compare runs: each in its own colour, validation solid, train dashed, test a star, and a
        legend of their names. An empty list goes back to the live run."""
        if not runs:
            return self.show_live()
        self._overlaid = [(name, _Series.from_curves(curves)) for name, curves in runs]
        while len(self._slots) < len(self._overlaid):
            colour = RUN_COLOURS[len(self._slots) % len(RUN_COLOURS)]
            self._slots.append(_OverlaySlot(self.loss_plot.getPlotItem(), self.accuracy_plot.getPlotItem(), colour))
            self._slots[-1].test.setPen(pg.mkPen(self._theme.foreground))
        self._set_overlay_mode(True)
        self.hint_item.setVisible(False)
        for i, slot in enumerate(self._slots):
            slot.show(self._overlaid[i][1] if i < len(self._overlaid) else None)
        lp, ap = self.loss_plot.getPlotItem(), self.accuracy_plot.getPlotItem()
        for legend in (lp.legend, ap.legend):
            legend.clear()
        for (name, series), slot in zip(self._overlaid, self._slots):
            test = f" · test {series.tests[-1][1]:.2f}%" if series.tests else ""
            lp.legend.addItem(slot.val_loss, name)
            ap.legend.addItem(slot.val_acc, f"{name}{test}")
        self._set_title(title or f"Comparing {len(runs)} runs: validation solid, train dashed, test ★")
        self._reset_ranges(max([1.0, *(math.ceil(s.x_extent) for _, s in self._overlaid)]))
        self._fit_loss_range()
        self._fit_accuracy_range()

    def overlaid_names(self) -> list[str]:
        return [name for name, _ in self._overlaid]

    def _set_overlay_mode(self, on: bool) -> None:
        """Swap the single run's curves and legend for the overlay's, or back."""
        for item in self._single_items:
            item.setVisible(not on)
        if on:
            return
        self._overlaid = []
        for slot in self._slots:
            slot.show(None)
        for legend in {id(e[0]): e[0] for e in self._legend_entries}.values():
            legend.clear()
        for legend, item, name in self._legend_entries:
            legend.addItem(item, name)
        self.test_label = self._find_test_label()

    def _set_title(self, title: str) -> None:
        if self.title() != title:
            self.setTitle(title)

    def _reset_ranges(self, x_max: float) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().setXRange(0, x_max, padding=0.04)
        self._loss_range: tuple[float, float] | None = None   # log10 y range shown on the loss plot
        self._acc_floor: float | None = None                   # lower end of the accuracy plot's y range
        self.accuracy_plot.getPlotItem().setYRange(0, 100, padding=0.02)   # until the first epoch
        self.accuracy_plot.getPlotItem().enableAutoRange(axis="y", enable=False)
        self.loss_plot.getPlotItem().setYRange(-1.3, 0.5, padding=0)   # 0.05 .. 3

    def point_counts(self) -> dict[str, int]:
        """How many points each curve shows (after a flush); for tests and diagnostics."""
        def n(curve) -> int:
            x, _ = curve.getData()
            return 0 if x is None else len(x)
        return {"batch": n(self.batch_curve), "train_loss": n(self.train_loss_curve),
                "val_loss": n(self.val_loss_curve), "train_accuracy": n(self.train_acc_curve),
                "val_accuracy": n(self.val_acc_curve), "pen_accuracy": n(self.pen_acc_curve),
                "test": len(self.test_marker.data)}

    def series_data(self, which: str) -> list[tuple[str, list[float], list[float]]]:
        """What a plot shows, as (series name, x in epochs, y) for each curve: ``which`` is "loss"
        or "accuracy" (accuracies in %). What a CSV export writes."""
        runs = self._overlaid or [("", self._shown)]
        rows = []
        for name, s in runs:
            prefix = f"{name}: " if name else ""
            if which == "loss":
                parts = [("batch loss (smoothed)", s.batch_x, s.batch_y)] if not name else []
                parts += [("train loss", s.epochs, s.train_loss), ("validation loss", s.val_epochs, s.val_loss)]
            else:
                parts = [("train accuracy", s.epochs, s.train_acc), ("validation accuracy", s.val_epochs, s.val_acc),
                         ("pen-drawn accuracy", s.pen_epochs, s.pen_acc),
                         ("test accuracy", [x for x, _ in s.tests], [a for _, a in s.tests])]
            rows += [(prefix + label, list(x), list(y)) for label, x, y in parts]
        return rows

    def _context_menu(self, which: str, plot: pg.PlotWidget, pos) -> QMenu:
        menu = QMenu(plot)
        for fmt, text in (("png", "Export {} plot as PNG…"), ("svg", "Export {} plot as SVG…"),
                          ("csv", "Export {} data as CSV…")):
            menu.addAction(text.format(which), lambda f=fmt: self.export_requested.emit(which, f))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(plot.mapToGlobal(pos))
        return menu

    # -- display-rate flushing --------------------------------------------------------------------
    def _schedule_live(self, what: str) -> None:
        if self._shown is self._live and not self._overlaid:
            self._schedule(what)

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
        arr, s = np.asarray, self._shown
        dirty = self._dirty
        if self._overlaid:
            dirty.clear()
            return
        if loss:
            if "batch" in dirty:
                self.batch_curve.setData(arr(s.batch_x), arr(s.batch_y))
            if "epoch" in dirty:
                self._set_epoch_curves(((self.train_loss_curve, s.epochs, s.train_loss, "o"),
                                        (self.val_loss_curve, s.val_epochs, s.val_loss, "s")))
                dirty.add("epoch_accuracy")
            if dirty & {"batch", "epoch"}:
                self._fit_loss_range()
            dirty -= {"batch", "epoch"}
        if accuracy:
            if "epoch_accuracy" in dirty:
                self._set_epoch_curves(((self.train_acc_curve, s.epochs, s.train_acc, "o"),
                                        (self.val_acc_curve, s.val_epochs, s.val_acc, "s"),
                                        (self.pen_acc_curve, s.pen_epochs, s.pen_acc, "d")))
                self.pen_label.setText(f"<b>pen-drawn: {s.pen_acc[-1]:.1f}%</b>" if s.pen_acc else "pen-drawn")
            if dirty & {"epoch_accuracy", "test"}:
                self._fit_accuracy_range()
            if "test" in dirty:
                self.test_marker.setData([x for x, _ in s.tests], [a for _, a in s.tests])
                self.test_label.setText(f"<b>test {s.tests[-1][1]:.2f}%</b>" if s.tests else "test")
            dirty -= {"epoch_accuracy", "test"}

    def _set_epoch_curves(self, curves) -> None:
        symbols = len(self._shown.epochs) <= MAX_SYMBOLS
        for curve, x, y, symbol in curves:
            wanted = symbol if symbols else None
            if curve.opts["symbol"] != wanted:   # long runs (tiny-gd: 500 epochs) drop the markers
                curve.setSymbol(wanted)
            curve.setData(np.asarray(x), np.asarray(y))

    def _shown_series(self) -> list[_Series]:
        return [s for _, s in self._overlaid] or [self._shown]

    def _fit_accuracy_range(self) -> None:
        """Accuracy y range from a ladder of floors up to 100%: it changes only when a point falls
        below the floor shown (a few times a run at most), not every epoch as auto-range would.
        Each change redraws both axes and the grid (their cached pixmaps): 10-15 ms while training runs."""
        values = [v for s in self._shown_series() for v in s.train_acc + s.val_acc + s.pen_acc + [a for _, a in s.tests]]
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
        values = [v for s in self._shown_series() for v in s.batch_y + s.train_loss + s.val_loss]
        if not values:
            return
        lo, hi = np.log10(min(values)), np.log10(max(values))
        shown = self._loss_range
        if shown is None or lo < shown[0] or hi > shown[1] or hi < shown[1] - 1.0:
            # Leave head-room below (the loss keeps falling) so the range changes rarely.
            self._loss_range = (lo - 0.35, hi + 0.08)
            self.loss_plot.getPlotItem().setYRange(*self._loss_range, padding=0)
