"""Numbers as people read them, the same in the window and on the command line.

A probability of 0.99996 is not "100.0%" (the network is not certain) and 0.00002 is not "0.0%" (it is
not impossible): :func:`percent` says ">99.9%" and "<0.1%" instead, so the bar chart's labels, its
headline and ``mnist-gui predict`` all print the same words for the same number.
"""

from __future__ import annotations

import math


def percent(p: float) -> str:
    """A probability (0..1) with one decimal, never rounded to a false 0% or 100% (a softmax in float32
    can round to exactly 1.0 or 0.0, but a network is never certain)."""
    if not math.isfinite(p):
        return "?"
    if p >= 0.9995:
        return ">99.9%"
    if p < 0.0005:
        return "<0.1%"
    return f"{p:.1%}"
