"""Shared pytest set-up: headless Qt, the ``--runslow`` flag, isolated QSettings, a mouse-drawing helper."""

from __future__ import annotations

import os

import pytest

# Before anything imports Qt: no display needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test, skipped unless --runslow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_qsettings(request):
    """Point QSettings at a fresh folder per test, so no test reads a developer's (or another test's) settings."""
    try:
        from PySide6.QtCore import QSettings
    except ImportError:   # the Qt-free core's tests run without PySide6
        yield
        return

    folder = request.getfixturevalue("tmp_path") / "qsettings"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield


def drag_stroke(widget, points, button=None) -> None:
    """Draw one stroke on ``widget`` with real mouse events: press at the first point, move through
    the others, release at the last. ``points`` are (x, y) widget coordinates."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    button = button or Qt.MouseButton.LeftButton
    pts = [QPoint(int(round(x)), int(round(y))) for x, y in points]
    QTest.mousePress(widget, button, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(widget, p)
    QTest.mouseRelease(widget, button, Qt.KeyboardModifier.NoModifier, pts[-1])


@pytest.fixture
def qt_messages():
    """Every message Qt logs while the test runs (qWarning, qCritical...)."""
    from PySide6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda mode, context, text: messages.append(text))
    yield messages
    qInstallMessageHandler(previous)
