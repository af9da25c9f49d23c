"""Non-digit scribbles: what a network should answer "that is not a digit" to.

A seeded generator of 12 kinds of scribble, drawn with the canvas's own stroke model (points every few
pixels, like a mouse drag) at a random size and position:

* ``walk``: a smooth random walk (random curvature), 1.5-4 digit-heights of path;
* ``zigzag``: a zig-zag of 4-9 straight legs, at a random angle;
* ``hatch``: 3-7 parallel straight lines, at a random angle;
* ``cross``: an X, two straight strokes crossing near their middles;
* ``dot``: a dot or a tiny tap (a point or a stroke of at most 3 px);
* ``spiral``: an Archimedean spiral of 1.25-2.75 turns, inward or outward, drawn large;
* ``multi``: 3-6 overlapping short random curves;
* ``blob``: a filled region, coloured in with a dense back-and-forth stroke;
* ``lines``: 3-5 unconnected straight lines at random positions and odd angles;
* ``wave``: a sine-wave stroke of 1.5-3.5 periods (a tilde / squiggle);
* ``star``: a five- or seven-pointed star in one stroke;
* ``hash``: a '#' (two near-vertical and two near-horizontal lines).

A single straight stroke is a plausible '1' (or a sloppy '7'), so it is never produced. Training shows
the network some of these with a uniform target ("outlier exposure"), and the benchmark measures how
many it flags; the two sets come from different seeds.
"""

from __future__ import annotations

import numpy as np

from mnist_gui.digits import PIXELS
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.imaging.strokes import Stroke, render

KINDS = ("walk", "zigzag", "hatch", "cross", "dot", "spiral", "multi", "blob", "lines", "wave",
         "star", "hash")
STEP = 0.012            # spacing of the points along a stroke, fraction of the canvas (~4 px)


def _resample(poly: np.ndarray, step: float = STEP) -> np.ndarray:
    """Points every ``step`` along a polyline (like a mouse drag's move events)."""
    seg = np.hypot(*np.diff(poly, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return poly[:1]
    t = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1] / step)) + 1))
    return np.column_stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])])


def _rot(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _shape(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Strokes of one scribble in a box of about [-0.5, 0.5]^2 (before random size and position)."""
    u = rng.uniform
    if kind == "walk":
        n = int(rng.integers(60, 160))
        turn = np.cumsum(rng.normal(0, 0.35, n)) + u(0, 2 * np.pi)
        p = np.cumsum(np.column_stack([np.cos(turn), np.sin(turn)]) * 0.03, axis=0)
        return [p]
    if kind == "zigzag":
        k = int(rng.integers(4, 10))
        xs = np.linspace(-0.5, 0.5, k + 1)
        ys = np.where(np.arange(k + 1) % 2 == 0, -0.5, 0.5) * u(0.3, 1.0) + rng.normal(0, 0.05, k + 1)
        return [np.column_stack([xs, ys]) @ _rot(u(0, np.pi)).T]
    if kind == "hatch":
        k = int(rng.integers(3, 8))
        a = u(0, np.pi)
        out = []
        for i, off in enumerate(np.linspace(-0.45, 0.45, k)):
            half = u(0.3, 0.5)
            seg = np.array([[-half, off], [half, off]]) + rng.normal(0, 0.02, (2, 2))
            if i % 2 and rng.random() < 0.5:
                seg = seg[::-1]
            out.append(seg @ _rot(a).T)
        if rng.random() < 0.3:   # one continuous back-and-forth hatch
            out = [np.concatenate(out)]
        return out
    if kind == "cross":
        a = u(-0.4, 0.4)
        s1 = np.array([[-0.5, -0.5], [0.5, 0.5]]) + rng.normal(0, 0.06, (2, 2))
        s2 = np.array([[0.5, -0.5], [-0.5, 0.5]]) + rng.normal(0, 0.06, (2, 2))
        return [s1 @ _rot(a).T, s2 @ _rot(a).T]
    if kind == "dot":
        if rng.random() < 0.5:
            return [np.zeros((1, 2))]
        return [np.array([[0.0, 0.0], rng.normal(0, 0.004, 2)])]
    if kind == "spiral":
        turns = u(1.25, 2.75)
        t = np.linspace(0, turns * 2 * np.pi, int(turns * 40))
        r = 0.5 * t / t[-1]
        p = np.column_stack([r * np.cos(t), r * np.sin(t) * u(0.6, 1.0)])
        if rng.random() < 0.5:
            p = p[::-1]
        return [p @ _rot(u(0, 2 * np.pi)).T]
    if kind == "multi":
        out = []
        for _ in range(int(rng.integers(3, 7))):
            n = int(rng.integers(15, 45))
            turn = np.cumsum(rng.normal(0, 0.3, n)) + u(0, 2 * np.pi)
            p = np.cumsum(np.column_stack([np.cos(turn), np.sin(turn)]) * 0.03, axis=0)
            out.append(p - p.mean(0) + rng.uniform(-0.3, 0.3, 2))
        return out
    if kind == "blob":
        rx, ry = u(0.2, 0.5), u(0.2, 0.5)
        k = int(rng.integers(6, 16))
        ys = np.linspace(-ry, ry, k)
        half = rx * np.sqrt(np.clip(1 - (ys / ry) ** 2, 0.05, 1))
        pts = []
        for i, (y, h) in enumerate(zip(ys, half)):
            pts += [[-h, y], [h, y]] if i % 2 == 0 else [[h, y], [-h, y]]
        return [np.array(pts) @ _rot(u(0, np.pi)).T]
    if kind == "lines":
        out = []
        for _ in range(int(rng.integers(3, 6))):
            c = rng.uniform(-0.3, 0.3, 2)
            a = u(0, np.pi)
            half = u(0.15, 0.5)
            d = np.array([np.cos(a), np.sin(a)]) * half
            out.append(np.array([c - d, c + d]))
        return out
    if kind == "wave":
        periods = u(1.5, 3.5)
        x = np.linspace(-0.5, 0.5, 120)
        y = u(0.08, 0.3) * np.sin(2 * np.pi * periods * (x + 0.5) + u(0, 2 * np.pi))
        return [np.column_stack([x, y]) @ _rot(u(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.25 else 0)).T]
    if kind == "star":
        k = int(rng.choice([5, 7]))
        step = 2 if k == 5 else 3
        ang = u(0, 2 * np.pi) + 2 * np.pi * step * np.arange(k + 1) / k
        return [0.5 * np.column_stack([np.cos(ang), np.sin(ang)]) + rng.normal(0, 0.02, (k + 1, 2))]
    if kind == "hash":
        a = u(-0.3, 0.3)
        out = []
        for off in (-0.18, 0.18):
            out.append(np.array([[off + u(-.05, .05), -0.5], [off + u(-.05, .05), 0.5]]))
            out.append(np.array([[-0.5, off + u(-.05, .05)], [0.5, off + u(-.05, .05)]]))
        return [s @ _rot(a).T for s in out]
    raise ValueError(f"unknown kind {kind!r}")


def scribble(kind: str, rng: np.random.Generator, width: float = 22 / 322) -> list[Stroke]:
    """One random scribble of ``kind`` as canvas strokes (pen ``width``, fraction of the side)."""
    strokes = _shape(kind, rng)
    allp = np.concatenate(strokes)
    lo, hi = allp.min(0), allp.max(0)
    ext = max(float((hi - lo).max()), 1e-9)
    size = {"spiral": rng.uniform(0.45, 0.85), "dot": 1.0}.get(kind, rng.uniform(0.25, 0.75))
    aspect = np.exp(rng.uniform(-0.3, 0.3))
    scale = np.array([aspect, 1 / aspect]) * (size / ext if kind != "dot" else 1.0)
    strokes = [(s - (lo + hi) / 2) * scale for s in strokes]
    allp = np.concatenate(strokes)
    lo, hi = allp.min(0), allp.max(0)
    shrink = min(1.0, 0.88 / max(float((hi - lo).max()), 1e-9))
    strokes = [s * shrink for s in strokes]
    lo, hi = lo * shrink, hi * shrink
    a, b = 0.05 - lo, np.maximum(0.95 - hi, 0.05 - lo)
    pos = np.array([rng.uniform(a[0], b[0]), rng.uniform(a[1], b[1])])
    out = []
    for s in strokes:
        p = s + pos
        if len(p) > 1:
            p = _resample(p)
            p = p + rng.normal(0, 0.0015, p.shape)   # hand tremor, ~0.5 px
        out.append(Stroke(width, np.clip(p, 0.0, 1.0)))
    return out


def make_scribbles(n_per_kind: int, seed: int, kinds=KINDS, width: float = 22 / 322):
    """(list of drawings, kind label per drawing), ``n_per_kind`` of each kind, seeded."""
    rng = np.random.default_rng(seed)
    drawings, labels = [], []
    for k in kinds:
        for _ in range(n_per_kind):
            drawings.append(scribble(k, rng, width))
            labels.append(k)
    return drawings, np.array(labels)


def scribble_set(n_per_kind: int, seed: int, pen_px: float | tuple[float, float] = 22.0,
                 canvas: int | tuple[int, ...] = 322, kinds=KINDS) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 784) uint8, kind of each (n,)): scribbles drawn on a canvas and preprocessed like
    drawings (with their known pen width). ``pen_px`` (on a 322 px canvas) is fixed or a (low, high)
    log-uniform range; ``canvas`` a size or sizes to draw from per scribble."""
    rng = np.random.default_rng(seed)
    wrng = np.random.default_rng(seed + 7919)
    xs, ks = [], []
    for kind in kinds:
        for _ in range(n_per_kind):
            if isinstance(pen_px, tuple):
                pen = float(np.exp(wrng.uniform(np.log(pen_px[0]), np.log(pen_px[1]))))
            else:
                pen = float(pen_px)
            n = int(wrng.choice(canvas)) if isinstance(canvas, tuple) else int(canvas)
            drawing = scribble(kind, rng, pen / 322)
            x = preprocess_drawing(render(drawing, n), pen_width=pen / 322 * n)
            xs.append(np.zeros(PIXELS, np.uint8) if x is None else x.reshape(PIXELS))
            ks.append(kind)
    return np.array(xs, dtype=np.uint8), np.array(ks)
