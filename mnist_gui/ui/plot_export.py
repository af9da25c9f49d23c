"""Export a plot as a picture (PNG, SVG) or its data (CSV), every file written atomically.

PNG comes from pyqtgraph's ``ImageExporter``. SVG is drawn by Qt's own ``QSvgGenerator``:
pyqtgraph's ``SVGExporter`` (0.13-0.14) cannot parse the paths Qt 6.8+ writes and raises ValueError
(pyqtgraph issue #3485). The plots cache their axes as pixmaps (see :mod:`mnist_gui.ui.plots`), which
would put bitmaps into the SVG, so the cache is off while it is drawn. CSV is the plot's data in
long form (:func:`mnist_gui.state.compare.series_csv`): one point a row, whatever the curves' lengths.
"""

from __future__ import annotations

import os

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QBuffer, QIODevice, QRect
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from mnist_gui.atomic import atomic_write
from mnist_gui.state.compare import series_csv

FORMATS = ("png", "svg", "csv")


def plot_png(plot: pg.PlotWidget, scale: float = 2.0) -> bytes:
    """The plot as a PNG, ``scale`` times its size on screen (sharp on paper and high-DPI screens)."""
    exporter = pyqtgraph.exporters.ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = int(plot.getPlotItem().sceneBoundingRect().width() * scale)
    image = exporter.export(toBytes=True)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("could not encode the PNG image")
    return bytes(buffer.data())


def plot_svg(plot: pg.PlotWidget, title: str = "") -> bytes:
    """The plot as an SVG: vector curves, axes and text."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(plot.size())
    generator.setViewBox(QRect(0, 0, plot.width(), plot.height()))
    generator.setTitle(title or plot.objectName())
    axes = [plot.getPlotItem().getAxis(name) for name in ("left", "bottom")]
    modes = [axis.cacheMode() for axis in axes]
    for axis in axes:
        axis.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        painter = QPainter(generator)
        plot.render(painter)
        painter.end()
    finally:
        for axis, mode in zip(axes, modes):
            axis.setCacheMode(mode)
    return bytes(buffer.data())


def export_plot(plots, which: str, fmt: str, path: str | os.PathLike) -> None:
    """Write ``plots``' (a TrainingPlots) ``which`` plot ("loss" or "accuracy") as ``fmt`` to ``path``.
    OSError if the file cannot be written (nothing is left half-written)."""
    plot = plots.loss_plot if which == "loss" else plots.accuracy_plot
    if fmt == "png":
        data = plot_png(plot)
    elif fmt == "svg":
        data = plot_svg(plot, f"{which} — {plots.title()}")
    elif fmt == "csv":
        data = series_csv(plots.series_data(which), "loss" if which == "loss" else "accuracy_percent").encode("utf-8")
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    atomic_write(path, lambda fh: fh.write(data))
