"""``from mnist_gui.app import MainWindow``: the automation contract's import path, kept stable.

The window lives in :mod:`mnist_gui.ui.app`, with the rest of the Qt layer.
"""

from mnist_gui.ui.app import MainWindow, run_app

__all__ = ["MainWindow", "run_app"]
