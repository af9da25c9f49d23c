"""Shared test helpers: a cached MNIST load, small synthetic data sets, drawing with the mouse."""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np


@functools.lru_cache(maxsize=1)
def mnist():
    """The bundled real MNIST, loaded once per test session."""
    from mnist_gui.data import load_mnist

    return load_mnist(None)


def small_mnist(n_train: int = 6000, n_test: int = 2000):
    """The first images of the real MNIST, as an MnistData."""
    return mnist().subset(n_train, n_test)


def random_data(n_train=300, n_test=100, seed=0):
    from mnist_gui.data import MnistData

    rng = np.random.default_rng(seed)
    return MnistData(
        train_images=rng.integers(0, 256, (n_train, 784), dtype=np.uint8),
        train_labels=rng.integers(0, 10, n_train).astype(np.uint8),
        test_images=rng.integers(0, 256, (n_test, 784), dtype=np.uint8),
        test_labels=rng.integers(0, 10, n_test).astype(np.uint8),
        source="random", checksum="0" * 64)


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


@contextlib.contextmanager
def serving(server, release: threading.Event):
    """Run a local (127.0.0.1) HTTP server in a thread; on exit, ``release`` its handlers and stop it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def report_fuzz_outcomes(name: str, outcomes, slowest: float, n_kinds: int, capsys) -> None:
    """Print a fuzz file's outcome per kind (visible with -s); when all ``n_kinds`` ran, require
    at least 1,000 cases in total."""
    total = sum(outcomes.values())
    kinds = sorted({k for k, _ in outcomes})
    if len(kinds) == n_kinds:
        assert total >= 1000
    with capsys.disabled():
        print(f"\n{name} fuzz: {total} cases, slowest {slowest * 1000:.1f} ms")
        for k in kinds:
            print(f"  {k:16} error {outcomes[k, 'error']:4}  ok {outcomes[k, 'ok']:4}")


def threads_started_since(before: set) -> list:
    """Threads alive now that were not in ``before`` (``set(threading.enumerate())`` taken earlier).

    Comparing sets, not counts: a thread left over from an earlier test (a slow server's handler)
    may end meanwhile, which would make a count drop without anything being wrong, or hide a new one.
    """
    import threading

    return [t for t in threading.enumerate() if t not in before]


def drop_file(widget, path):
    """Drop a local file on ``widget`` as a file manager would: enter, then drop, with its URL."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


def digit_png(tmp_path, name="seven.png"):
    """A picture of a 7 drawn dark on white, as a scan or a photo would be."""
    from PySide6.QtGui import QImage

    ink = np.full((240, 180), 255, np.uint8)          # dark ink on white paper, like a scan
    for t in np.linspace(0, 1, 200):
        ink[int(40 + 2 * t):int(52 + 2 * t), int(30 + 120 * t):int(30 + 120 * t) + 12] = 0   # the bar
        x, y = int(150 - 70 * t), int(50 + 150 * t)
        ink[y:y + 12, x:x + 12] = 0                                                           # the stem
    path = tmp_path / name
    QImage(ink.data, 180, 240, 180, QImage.Format.Format_Grayscale8).save(str(path))
    return path
