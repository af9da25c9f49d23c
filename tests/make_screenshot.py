"""Take resources/screenshot.png: the main window (1280x800, or --size) during a training run, with a drawn digit.

Run it under a real (virtual) X server so fonts and styles are what a user sees::

    xvfb-run -a -s "-screen 0 1400x900x24" python tests/make_screenshot.py [--out PATH] [--at 0.45]

It draws a '3' with real mouse events, starts the ``fast`` preset, waits until ``--at`` of the run is
done, grabs the window, then stops training and exits. Not a test (pytest does not collect it).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait(ms: int) -> None:
    # An event loop, not QTest.qWait: qWait sleeps holding the GIL and starves the training thread.
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def three(rect, n=40):
    """Two bowls of a '3' as two strokes, in widget coordinates of the drawing square ``rect``."""
    cx, top, s = rect.center().x(), rect.top(), rect.height()
    strokes = []
    for y0 in (0.33, 0.62):
        r = 0.15 if y0 < 0.5 else 0.17
        pts = []
        for i in range(n + 1):
            a = math.radians(-150 + 270 * i / n)
            pts.append((cx - 0.02 * s + r * s * math.cos(a), top + (y0 + r * math.sin(a) * (0.95 if y0 < 0.5 else 1)) * s))
        strokes.append(pts)
    return strokes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "resources" / "screenshot.png"))
    parser.add_argument("--at", type=float, default=0.45, help="fraction of the run done when the shot is taken")
    parser.add_argument("--model", default=None)
    parser.add_argument("--size", default="1280x800", help="window size, e.g. 1024x600 (a netbook)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    os.environ["MNIST_GUI_DATA_DIR"] = tempfile.mkdtemp()   # the run it starts goes to a library of its own
    app = QApplication(sys.argv[:1])
    from helpers import drag_stroke
    from mnist_gui.app import MainWindow

    window = MainWindow(model_path=args.model)
    window.resize(width, height)
    window.show()
    wait(300)
    for stroke in three(window.canvas.drawing_rect()):
        drag_stroke(window.canvas, stroke)
    window.panel.apply_preset("fast")
    window.panel.train_button.click()
    bar = window.panel.progress_bar
    while bar.value() < args.at * bar.maximum() and window.runner.is_busy():
        wait(50)
    wait(120)   # let the plots' flush timer run
    window.grab().save(args.out)
    print(f"saved {args.out} at {bar.value() / bar.maximum():.0%} of the run; "
          f"prediction {window.chart.predicted_digit()}")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
