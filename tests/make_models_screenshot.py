"""Take resources/models.png and resources/compare.png: the Models panel comparing three real runs.

Run it under a real (virtual) X server so fonts and styles are what a user sees::

    xvfb-run -a -s "-screen 0 1400x900x24" python tests/make_models_screenshot.py [--out-dir resources] [--library DIR]

In a temporary library (never the user's), it trains three presets with the command line
(``fast``, ``keras-book``, ``scratch-256-64``: about 20 s on two cores), opens the window with the
Models tab, makes the ``fast`` run current, draws a '3', ticks the three runs (their curves overlaid
in the plots), grabs the window, then opens "Compare configs" and grabs that dialog. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PRESETS = ("fast", "keras-book", "scratch-256-64")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=str(ROOT / "resources"))
    parser.add_argument("--library", help="a library this script made before: photograph its runs again")
    args = parser.parse_args()
    os.environ["MNIST_GUI_DATA_DIR"] = args.library or tempfile.mkdtemp(prefix="mnist-gui-shot-")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for preset in () if args.library else PRESETS:
        subprocess.run([sys.executable, "-m", "mnist_gui", "train", "--preset", preset, "--name", preset],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    print(f"library: {os.environ['MNIST_GUI_DATA_DIR']}")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    from helpers import drag_stroke
    from make_screenshot import three, wait
    from mnist_gui.app import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    wait(300)
    ids = {m["name"]: m["id"] for m in window.models()}
    window.set_current_model(ids["fast"])
    window.side_tabs.setCurrentWidget(window.models_panel)
    wait(200)
    for stroke in three(window.canvas.drawing_rect()):
        drag_stroke(window.canvas, stroke)
    window.models_panel.set_ticked([ids[p] for p in PRESETS])
    wait(400)
    out = Path(args.out_dir)
    window.grab().save(str(out / "models.png"))
    dialog = window.library_ui.compare_configs([ids[p] for p in PRESETS])
    dialog.resize(720, 620)
    wait(300)
    dialog.grab().save(str(out / "compare.png"))
    print(f"saved {out / 'models.png'} and {out / 'compare.png'}; "
          + ", ".join(f"{m['name']} {m['test_accuracy']:.2%}" for m in window.models()))
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
