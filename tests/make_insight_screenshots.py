"""Take the README's pictures of the insight views (resources/screenshots/view-*.png), one per view.

Run it under a real (virtual) X server so fonts and styles are what a user sees::

    xvfb-run -a -s "-screen 0 1400x900x24" python tests/make_insight_screenshots.py [--out resources/screenshots]

In a temporary library and settings (never the user's), the window (1280x800) draws a '3' with
real mouse events; the confusion matrix, gallery, inside view and map show the shipped model; then the ``fast`` preset trains, the weights view is taken in the
middle of the run, and time travel is taken after it, at epoch 1. Each picture is the window's right
half (drawing, preview, bars and the view). Not a test (pytest does not collect it).
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

from PySide6.QtCore import QPoint, QPointF, QSettings  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


from make_screenshot import wait  # noqa: E402  (an event loop, not QTest.qWait: the training thread runs)


def wait_until(condition, ms: int = 60000) -> None:
    for _ in range(ms // 50):
        if condition():
            return
        wait(50)
    raise SystemExit("timed out waiting for the window")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "resources" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["MNIST_GUI_DATA_DIR"] = tempfile.mkdtemp(prefix="mnist-gui-shot-")   # its own library
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    from mnist_gui.app import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    try:
        take(window, out)
    finally:
        window.close()   # stops a training still running, and joins the threads
        app.processEvents()
    return 0


def take(window, out: Path) -> None:
    from helpers import drag_stroke
    from make_screenshot import three
    from mnist_gui.insight.gallery import GalleryFilter

    wait(300)
    for stroke in three(window.canvas.drawing_rect()):
        drag_stroke(window.canvas, stroke)
    wait(100)
    insight = window.insight

    def shot(name: str) -> None:
        wait(250)
        right = window.right_splitter
        top_left = right.mapTo(window, QPoint(0, 0))
        window.grab(right.rect().translated(top_left)).save(str(out / f"view-{name}.png"))
        print("saved", out / f"view-{name}.png")

    window.view_tabs.setCurrentWidget(insight.confusion)
    wait_until(lambda: insight.confusion.confusion() is not None)
    shot("confusion")
    window.select_confusion_cell(4, 9)
    wait_until(lambda: window.gallery_count() > 0)
    insight.gallery.set_filter(GalleryFilter(correctness="wrong"))
    shot("gallery")
    window.view_tabs.setCurrentWidget(insight.inside)
    shot("inside")
    window.view_tabs.setCurrentWidget(insight.map)
    wait_until(lambda: insight.map.digit_map() is not None)
    m = insight.map.digit_map()
    i = int(((m.points[:, 0] - m.points[:, 0].mean()) ** 2).argmax())   # hover over an outlying point
    vb = insight.map.plot.getPlotItem().getViewBox()
    QTest.mouseMove(insight.map.plot.viewport(),
                    insight.map.plot.mapFromScene(vb.mapViewToScene(QPointF(*map(float, m.points[i])))))
    shot("map")
    QTest.mouseMove(insight.map.plot.viewport(), QPoint(3, 3))

    window.view_tabs.setCurrentWidget(insight.weights)
    window.panel.apply_preset("fast")
    window.panel.train_button.click()
    bar = window.panel.progress_bar
    wait_until(lambda: bar.maximum() > 0 and bar.value() > 0.5 * bar.maximum(), 600000)
    insight.weights.select_unit(int(math.floor(insight.weights.grid.units * 0.3)))
    shot("weights")
    wait_until(lambda: not window.runner.is_busy(), 600000)
    window.view_tabs.setCurrentWidget(insight.confusion)
    insight.time_travel.select(1)
    wait_until(lambda: "epoch 1" in insight.confusion.caption_text())
    shot("time-travel")


if __name__ == "__main__":
    raise SystemExit(main())
