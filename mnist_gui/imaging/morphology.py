"""Grey morphology: make strokes thicker (dilation) or thinner (erosion) with 3x3 max/min filters.

Drawing preprocessing evens out the pen (a 4 px pen and a 40 px marker should give the same input)
and augmentation varies it (so the network meets thick and thin strokes). Both use the same two
3x3 elements, computed with NumPy slices over the last two axes, so a single image and a whole batch
go through the same code:

* the *square* (all 9 pixels) and the *plus* (the pixel and its four neighbours);
* alternating them gives an octagon, close to a disk, so strokes grow evenly in every direction
  (:func:`grow`).

Edges: the outermost rows and columns are filtered with the neighbours that exist (nothing wraps
around); callers that need "outside is empty" pad with zeros first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["filter3x3", "grow", "STEP_GAIN", "MAX_STEPS"]

#: Stroke width gained (lost) per dilation (erosion) step, per side, measured on lines at all angles:
#: the octagon reaches a bit beyond a disk between the axes, and the stroke's ends grow too.
STEP_GAIN = 1.1
#: Cap on the steps of :func:`grow` (pixels of radius): beyond it a drawing is a blob anyway.
MAX_STEPS = 40


def filter3x3(a: np.ndarray, square: bool, dilate: bool) -> np.ndarray:
    """One 3x3 max filter (``dilate``) or min filter over the last two axes of ``a``, as a new array;
    ``square`` picks the full 3x3 element, otherwise the plus-shaped one."""
    op = np.maximum if dilate else np.minimum
    v = a.copy()  # vertical 3-tap filter of a
    op(v[..., 1:, :], a[..., :-1, :], out=v[..., 1:, :])
    op(v[..., :-1, :], a[..., 1:, :], out=v[..., :-1, :])
    # Square: horizontal 3-tap filter of the vertical result (separable 3x3).
    # Plus: the vertical result combined with a horizontal 3-tap filter of the original.
    src = v.copy() if square else a
    op(v[..., :, 1:], src[..., :, :-1], out=v[..., :, 1:])
    op(v[..., :, :-1], src[..., :, 1:], out=v[..., :, :-1])
    return v


def grow(a: np.ndarray, radius: float) -> np.ndarray:
    """Grow (radius > 0) or shrink (radius < 0) strokes by ``|radius|`` pixels each side.

    Alternating square and plus steps make an octagon. A fractional radius blends the results of the
    two nearest whole steps, which for anti-aliased edges moves the edge by that fraction. ``a`` must
    be float and carry an empty margin of ``ceil(|radius|)`` pixels so nothing is cut off.
    """
    dilate = radius > 0
    steps = min(abs(radius), MAX_STEPS)
    whole = int(steps)
    frac = steps - whole
    for i in range(whole):
        a = filter3x3(a, square=(i % 2 == 1), dilate=dilate)
    if frac > 1e-3:
        b = filter3x3(a, square=(whole % 2 == 1), dilate=dilate)
        a = a + frac * (b - a)
    return a
