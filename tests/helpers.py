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


def overflowing_model(rng, huge: float | None = None):
    """A model built to overflow on real digits while staying finite on blank, full-ink and noise images
    (issue 18): some hidden units see only a patch where digits have ink (positive weights there,
    negative everywhere else, so full ink and noise switch them off), and their outgoing weights are
    enormous. ``rng`` is a ``random.Random``; returns (model, patch mask of 784 booleans)."""
    from mnist_gui.model import Model, Normalization
    from mnist_gui.nn import build_mlp

    depth = rng.randint(1, 3)
    sizes = (784, *[rng.choice([4, 8, 16, 32]) for _ in range(depth)], 10)
    net = build_mlp(sizes, activation=rng.choice(["relu", "leaky_relu", "relu", "tanh", "sigmoid"]),
                    seed=rng.randrange(1000))
    yy, xx = np.mgrid[:28, :28]
    top, left = rng.randrange(6, 14), rng.randrange(6, 14)
    patch = ((yy >= top) & (yy < top + rng.randrange(3, 9)) & (xx >= left) & (xx < left + rng.randrange(3, 9)))
    patch = patch.reshape(784)
    dense = net.dense_layers
    first = dense[0].params
    inside = rng.uniform(0.5, 3.0)
    outside = inside * (patch.sum() / (~patch).sum()) * rng.uniform(3.0, 6.0)
    units = rng.sample(range(sizes[1]), rng.randint(1, min(3, sizes[1])))
    for j in units:
        first["W"][:, j] = np.where(patch, inside, -outside).astype(np.float32)
        first["b"][j] = -rng.uniform(0.0, 0.5)
    scale = huge if huge is not None else rng.choice([1e36, 1e37, 3e38])
    # Carry the trigger through the deeper layers with weights that keep it alive, then blow it up.
    carried = units
    for layer in dense[1:]:
        w = layer.params["W"]
        if layer is dense[-1]:
            for j in carried:
                w[j, :] = (np.sign(rng.random() - 0.5) or 1.0) * scale * np.array(
                    [rng.choice([-1.0, 1.0]) for _ in range(w.shape[1])], np.float32)
        else:
            nxt = rng.randrange(w.shape[1])
            w[:, nxt] = 0.0
            for j in carried:
                w[j, nxt] = rng.uniform(5.0, 50.0)
            carried = [nxt]
    normalization = Normalization.unit() if rng.random() < 0.6 else Normalization.standard()
    return Model(net, normalization, {"test_accuracy": 0.5}), patch


def patch_digit(patch: np.ndarray, rng) -> np.ndarray:
    """A (28, 28) uint8 image with ink in ``patch`` (and a little around it), like a stroke of a digit."""
    image = np.zeros(784, np.uint8)
    image[patch] = rng.choice([255, 200, 128])
    return image.reshape(28, 28)


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
