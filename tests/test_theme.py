"""Light and dark: every colour the app picks itself is readable, and the window follows its palette."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from mnist_gui.ui.theme import DARK, LIGHT, contrast, dark_palette, follow_system_scheme, theme_for


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_text_colour_reads_at_least_4_5_to_1(theme):
    for text, background in ((theme.foreground, theme.background), (theme.faint, theme.background),
                             (theme.error, theme.window), (theme.notice_text, theme.notice_background),
                             (theme.invalid_text, theme.invalid_background)):
        assert contrast(text, background) >= 4.5, (text, background, contrast(text, background))
    assert contrast(theme.bar_top, theme.background) >= 3.0     # graphics: 3:1
    assert contrast(theme.bar_top, theme.bar) >= 1.6            # the winner stands out from the rest


def test_contrast_is_the_wcag_ratio():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def _background(plot) -> str:
    return plot.backgroundBrush().color().name()


def test_the_window_follows_a_dark_palette_and_back(qtbot):
    from mnist_gui.app import MainWindow

    app = QApplication.instance()
    light = app.palette()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert _background(window.plots.loss_plot) == LIGHT.background
        window.chart.set_probabilities(np.eye(10)[3] * 0.9 + 0.01)
        app.setPalette(dark_palette())
        qtbot.wait(50)
        assert _background(window.plots.loss_plot) == DARK.background
        assert _background(window.plots.accuracy_plot) == DARK.background
        assert _background(window.chart.plot) == DARK.background
        assert window.chart.bars.opts["brushes"][3].color().name() == DARK.bar_top
        assert window.chart.value_items[3].textItem.defaultTextColor().name() == QColor(DARK.foreground).name()
        window.panel.set_field("lr", "-1")
        assert DARK.error in window.panel.form_error.styleSheet()
    finally:
        app.setPalette(light)
    qtbot.wait(50)
    assert _background(window.plots.loss_plot) == LIGHT.background
    assert LIGHT.error in window.panel.form_error.styleSheet()


def test_following_the_system_scheme(monkeypatch):
    app = QApplication.instance()
    light = app.palette()
    hints = app.styleHints()
    try:
        monkeypatch.setattr(type(hints), "colorScheme", lambda self: Qt.ColorScheme.Dark)
        follow_system_scheme(app)
        assert theme_for(app.palette()) is DARK
        monkeypatch.setattr(type(hints), "colorScheme", lambda self: Qt.ColorScheme.Light)
        follow_system_scheme(app)
        assert theme_for(app.palette()) is LIGHT
    finally:
        app.setPalette(light)
