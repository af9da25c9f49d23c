"""Real pen-drawn digits replayed as canvas drawings: what a person would have drawn on our canvas.

A pen digit (:class:`~mnist_gui.data.pendigits.PenDigit`: tablet units 0-500, y up) becomes canvas
strokes in unit coordinates (the tablet's writing box fills the square canvas, y flipped), drawn with
the canvas's default pen: 22 px on the 322 px canvas of the default window, i.e. a pen
:data:`DEFAULT_PEN` of the side wide. :func:`render_digit` rasterizes them with the canvas's own
rasterizer (:mod:`mnist_gui.imaging.strokes`), so the pixels are the ones a mouse drag along the same
points gives on the canvas (a test replays digits with real mouse events to prove it); the network then
gets them through the same :func:`~mnist_gui.imaging.preprocess.preprocess_drawing` as a drawing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mnist_gui.data.pendigits import TABLET_SIZE, PenDigit
from mnist_gui.digits import PIXELS
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.imaging.strokes import Stroke, render

#: The canvas's side at the default window size, and its default pen, in logical pixels.
DEFAULT_SIDE = 322
DEFAULT_PEN_PX = 22
#: The default pen as a fraction of the canvas side.
DEFAULT_PEN = DEFAULT_PEN_PX / DEFAULT_SIDE


def as_strokes(digit: PenDigit, pen: float = DEFAULT_PEN) -> list[Stroke]:
    """The digit as canvas strokes: unit coordinates (y down), pen ``pen`` of the side wide."""
    out = []
    for points in digit.strokes:
        unit = np.empty_like(points, dtype=np.float64)
        unit[:, 0] = points[:, 0] / TABLET_SIZE
        unit[:, 1] = 1.0 - points[:, 1] / TABLET_SIZE
        out.append(Stroke(pen, unit))
    return out


def render_digit(digit: PenDigit, side: int = DEFAULT_SIDE, pen: float = DEFAULT_PEN,
                 out: np.ndarray | None = None) -> np.ndarray:
    """The digit drawn on a ``side`` x ``side`` canvas (uint8, ink high), as the canvas draws it."""
    return render(as_strokes(digit, pen), side, out)


def network_inputs(digits: Sequence[PenDigit], side: int = DEFAULT_SIDE, pen: float = DEFAULT_PEN) -> np.ndarray:
    """(len(digits), 784) uint8: every digit replayed on the canvas and preprocessed like a drawing
    (with the pen's width, which the canvas knows)."""
    out = np.zeros((len(digits), PIXELS), np.uint8)
    canvas = np.zeros((side, side), np.uint8)
    for i, digit in enumerate(digits):
        x = preprocess_drawing(render_digit(digit, side, pen, canvas), pen_width=pen * side)
        if x is not None:
            out[i] = x.reshape(PIXELS)
    return out
