"""Shared pytest set-up: headless Qt, the ``--runslow`` flag (the ``slow`` marker is registered in
pyproject.toml), isolated QSettings and data folder (the library of runs), Qt's log messages. Helpers
that tests import live in helpers.py."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before anything imports Qt: no display needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Before anything reads the environment (module-level ENV dicts, module-scoped fixtures that run the
# command line): the user's data folder is never this session's. Each test then gets its own below.
os.environ["MNIST_GUI_DATA_DIR"] = tempfile.mkdtemp(prefix="mnist-gui-test-data-")


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


@pytest.fixture(autouse=True)
def _isolated_data_dir(request, monkeypatch):
    """Point the library of runs (the user's data folder) at a fresh folder per test, like the settings."""
    monkeypatch.setenv("MNIST_GUI_DATA_DIR", str(request.getfixturevalue("tmp_path") / "data"))
    yield


@pytest.fixture
def qt_messages():
    """Every message Qt logs while the test runs (qWarning, qCritical...)."""
    from PySide6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda mode, context, text: messages.append(text))
    yield messages
    qInstallMessageHandler(previous)
