"""The plots' colours, set on each plot item (never through pyqtgraph's process-wide options, which
would restyle any other plot in the process and depend on who configured it first)."""

from __future__ import annotations

import pyqtgraph as pg

#: Axis lines, tick labels, titles and legend text.
FOREGROUND = "#333"


def style_axes(item: pg.PlotItem) -> None:
    """Dark axes and tick labels on ``item`` (pyqtgraph's default grey is faint on white)."""
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(FOREGROUND)
        axis.setTextPen(FOREGROUND)
