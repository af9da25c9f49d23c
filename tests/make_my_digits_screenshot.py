"""Take resources/my-digits.png: the My digits tab holding one writer's pen-drawn digits, some misread.

Run it under a real (virtual) X server so fonts and styles are what a user sees::

    xvfb-run -a -s "-screen 0 1400x900x24" python tests/make_my_digits_screenshot.py [--out-dir resources]
        [--writer 28] [--count 24] [--learn] [--dark]

In a temporary data folder (never the user's), it replays the first ``--count`` digits of one of the
measuring writers of the UCI pen digits on the canvas with mouse events, saving each with its digit
key, as a user correcting the shipped model would; then it draws one more, shows the My digits tab and
grabs the window. With ``--learn`` it then presses Learn from my digits, waits for the fine-tune and
prints its figures (and grabs the window again, as my-digits-learned.png in the same folder). Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def pen_strokes(digit, rect) -> list[list[tuple[float, float]]]:
    """A pen digit's strokes in widget coordinates of the drawing square, its longer side 60% of it."""
    import numpy as np

    points = np.concatenate(digit.strokes)
    lo, hi = points.min(0), points.max(0)
    scale = 0.6 / max(hi - lo)
    out = []
    for stroke in digit.strokes:
        u = (stroke - lo) * scale
        u[:, 1] = (hi[1] - lo[1]) * scale - u[:, 1]   # the tablet's y grows upward
        u += (1 - (hi - lo) * scale) / 2
        out.append([(rect.left() + x * rect.width(), rect.top() + y * rect.height()) for x, y in u])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=str(ROOT / "resources"))
    parser.add_argument("--writer", type=int, default=28)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--learn", action="store_true")
    parser.add_argument("--dark", action="store_true", help="in the dark palette (saved as my-digits-dark.png)")
    args = parser.parse_args()
    os.environ["MNIST_GUI_DATA_DIR"] = tempfile.mkdtemp(prefix="mnist-gui-shot-")

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    settings = tempfile.mkdtemp()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, settings)
    app = QApplication(sys.argv[:1])
    if args.dark:
        from mnist_gui.ui.theme import dark_palette
        app.setPalette(dark_palette())
    from helpers import drag_stroke
    from make_screenshot import wait
    from mnist_gui.app import MainWindow
    from mnist_gui.imaging.pen_sets import pen_digits

    digits = [d for d in pen_digits() if d.writer == args.writer][:args.count + 1]
    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    wait(300)
    for i, digit in enumerate(digits):
        for stroke in pen_strokes(digit, window.canvas.drawing_rect()):
            drag_stroke(window.canvas, stroke)
        wait(60)
        if i < args.count:
            QTest.keyClick(window.canvas, Qt.Key(Qt.Key.Key_0 + digit.label))
    window.show_my_digits()
    wait(500)
    out = Path(args.out_dir)
    name = "my-digits-dark.png" if args.dark else "my-digits.png"
    window.grab().save(str(out / name))
    score = window.my_digits_view.score()
    print(f"saved {out / name}: {score.total} drawings, {score.right} read right by {window.model_source}")
    if args.learn:
        learned = []
        window.my_digits_learned.connect(learned.append)
        QTest.mouseClick(window.my_digits_view.learn_button, Qt.MouseButton.LeftButton)
        while not learned:
            wait(100)
        wait(500)
        window.show_my_digits()
        wait(300)
        window.grab().save(str(out / "my-digits-learned.png"))
        m = learned[0]
        print(f"learned in {m['seconds']:.1f} s: my digits (held out, {m['n_held_out']}) "
              f"{m['my_digits_accuracy_before']:.1%} -> {m['my_digits_accuracy']:.1%}; MNIST test "
              f"{m['test_accuracy_before']:.2%} -> {m['test_accuracy']:.2%}; all {m['n_digits']} before: "
              f"{m['my_digits_accuracy_all_before']:.1%}; now {window.my_digits_view.score().right} read right")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
