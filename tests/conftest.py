"""Shared pytest set-up: headless Qt, the ``--runslow`` flag (the ``slow`` marker is registered in
pyproject.toml), isolated QSettings, Qt's log messages. Helpers that tests import live in helpers.py."""

from __future__ import annotations

import os

import pytest

# Before anything imports Qt: no display needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


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


@pytest.fixture
def qt_messages():
    """Every message Qt logs while the test runs (qWarning, qCritical...)."""
    from PySide6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda mode, context, text: messages.append(text))
    yield messages
    qInstallMessageHandler(previous)
