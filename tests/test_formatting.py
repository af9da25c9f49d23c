"""Probabilities are written the same way everywhere, never as a false 0% or 100%."""

import math

import pytest

from mnist_gui.formatting import percent


@pytest.mark.parametrize("p, text", [(0.5, "50.0%"), (0.9994, "99.9%"), (0.9995, ">99.9%"), (1.0, ">99.9%"),
                                     (0.0004, "<0.1%"), (0.0, "<0.1%"), (0.0005, "0.1%"), (0.123456, "12.3%"),
                                     (math.nan, "?"), (math.inf, "?")])
def test_percent(p, text):
    assert percent(p) == text


def test_the_command_line_and_the_window_agree(tmp_path):
    """`predict` prints the winner's probability with the same words as the chart's headline."""
    import subprocess
    import sys

    import numpy as np
    from PySide6.QtGui import QImage

    from mnist_gui.imaging.preprocess import preprocess_drawing
    from mnist_gui.model import load_model
    from mnist_gui.resources_path import resource
    from mnist_gui.ui.imagefile import load_image

    ink = np.zeros((200, 200), np.uint8)
    ink[30:170, 95:105] = 255                       # a clear '1'
    path = tmp_path / "one.png"
    QImage(ink.data, 200, 200, 200, QImage.Format.Format_Grayscale8).save(str(path))
    model = load_model(resource("pretrained.npz"))
    probs = model.predict_proba_one(preprocess_drawing(load_image(path)))
    out = subprocess.run([sys.executable, "-m", "mnist_gui", "predict", str(resource("pretrained.npz")), str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert f"{path}: 1 ({percent(float(probs[1]))})" in out, out
