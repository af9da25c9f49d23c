"""Light and dark: the colours the app chooses itself (plots, bars, warnings), for either colour scheme.

Qt's own widgets follow the system's palette; what the app paints itself (pyqtgraph plots, the bar
chart, the red of a bad field, the yellow of a notice) takes its colours from a :class:`Theme`, chosen
from the palette the window really has (:func:`theme_for`), so the plots are never a white box in a
dark window. :func:`follow_system_scheme` makes the application's palette follow the system's colour
scheme (Qt 6.5+) where the platform theme does not do it itself. Every text colour here has a contrast
of at least 4.5:1 (WCAG AA) with the background it is drawn on; a test checks them.

The colours are set on each plot item, never through pyqtgraph's process-wide options, which would
restyle any other plot in the process and depend on who configured it first.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette


@dataclass(frozen=True)
class Theme:
    dark: bool
    background: str          # plots and the bar chart
    foreground: str          # axes, tick labels, titles, legend text
    faint: str               # hints written on the plots
    legend_background: tuple  # RGBA behind a legend
    guide: tuple             # RGBA of the bar chart's guide lines
    bar: str                 # the bars
    bar_top: str             # the winning bar
    error: str               # error text on the window's background
    invalid_field: str       # a field with a bad value: border, background, text
    invalid_background: str
    invalid_text: str
    notice_background: str   # the notice bar
    notice_border: str
    notice_text: str
    highlight: str           # the current model's row
    different: str           # settings that differ, side by side
    window: str              # the window background these colours were checked against


LIGHT = Theme(dark=False, background="#ffffff", foreground="#333333", faint="#5f5f5f",
              legend_background=(255, 255, 255, 210), guide=(0, 0, 0, 40), bar="#a9bcd9", bar_top="#2f6fd0",
              error="#b3261e", invalid_field="#d0342c", invalid_background="#fdeceb", invalid_text="#000000",
              notice_background="#fff4d6", notice_border="#e3c46b", notice_text="#332b00",
              highlight="#dde8f8", different="#fff1b8", window="#efefef")
DARK = Theme(dark=True, background="#1e1f22", foreground="#dcdcdc", faint="#a8a8a8",
             legend_background=(30, 31, 34, 215), guide=(255, 255, 255, 45), bar="#4d6a96", bar_top="#6aa6ff",
             error="#ff8a80", invalid_field="#ff6b6b", invalid_background="#4a1f1f", invalid_text="#ffffff",
             notice_background="#3d3520", notice_border="#8a7433", notice_text="#f3e3b0",
             highlight="#2c4166", different="#5a4a14", window="#2b2b2b")


def palette_changed(event: QEvent) -> bool:
    """Whether ``event`` (in a window's ``changeEvent``) says the palette, hence maybe the theme, changed."""
    return event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def app_theme() -> Theme:
    """The theme of the application's palette (what Qt paints its own widgets with)."""
    return theme_for(QGuiApplication.palette())


def theme_for(palette: QPalette) -> Theme:
    """The theme that suits a palette: dark when its window colour is dark."""
    return DARK if palette.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT


def dark_palette() -> QPalette:
    """A dark palette for platforms that report a dark scheme but paint Qt's widgets light."""
    p = QPalette()
    roles = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
             QPalette.ColorRole.Base: "#1e1f22", QPalette.ColorRole.AlternateBase: "#2f3033",
             QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353638",
             QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ffffff",
             QPalette.ColorRole.Highlight: "#3d6fb3", QPalette.ColorRole.HighlightedText: "#ffffff",
             QPalette.ColorRole.ToolTipBase: "#3a3b3e", QPalette.ColorRole.ToolTipText: "#e6e6e6",
             QPalette.ColorRole.PlaceholderText: "#9a9a9a", QPalette.ColorRole.Link: "#8ab4f8",
             QPalette.ColorRole.Mid: "#5a5a5a", QPalette.ColorRole.Dark: "#202020",
             QPalette.ColorRole.Light: "#4a4a4a", QPalette.ColorRole.Midlight: "#3e3e3e"}
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#8a8a8a"))
    return p


def follow_system_scheme(app: QGuiApplication) -> None:
    """Give the application a dark palette when the system's colour scheme is dark and the platform
    theme left the palette light (and the platform's own palette back when the scheme turns light)."""
    scheme = app.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark and theme_for(app.palette()) is LIGHT:
        app.setPalette(dark_palette())
    elif scheme == Qt.ColorScheme.Light and theme_for(app.palette()) is DARK:
        app.setPalette(app.style().standardPalette())


def style_plot(plot: pg.PlotWidget, theme: Theme) -> None:
    """Background, axes, tick labels, axis labels, title and legend of ``plot`` in ``theme``'s colours."""
    plot.setBackground(theme.background)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(theme.foreground)
        axis.setTextPen(theme.foreground)
        if axis.labelText:
            axis.setLabel(axis.labelText, units=axis.labelUnits or None, **{**axis.labelStyle,
                                                                            "color": theme.foreground})
    title = item.titleLabel.text
    if title:
        item.setTitle(title, **{**item.titleLabel.opts, "color": theme.foreground})
    legend = getattr(item, "legend", None)
    if legend is not None:
        legend.setLabelTextColor(theme.foreground)
        for _sample, label in legend.items:   # setLabelTextColor stores the colour; a new text uses it
            label.setText(label.text)
        legend.setBrush(pg.mkBrush(*theme.legend_background))


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    def luminance(colour: str) -> float:
        c = QColor(colour)
        channels = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            channels.append(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
        r, g, b_ = channels
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
