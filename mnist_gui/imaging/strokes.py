"""A Qt-free stroke rasterizer: the canvas and offline renderings give the same pixels.

A drawing is a list of :class:`Stroke`. A stroke has a pen ``width`` (a fraction of the canvas
side) and ``points`` in unit coordinates: (x, y), 0..1 across the square canvas, y down. Optionally
a third column is a per-point pressure factor that multiplies the width (a segment uses the factor of
its end point, as the Qt canvas does).

Rendering onto an N x N uint8 array (N = canvas side in device pixels):

* pixel (i, j) has its centre at (x = j + 0.5, y = i + 0.5);
* each pair of consecutive points is a capsule (a segment with round caps) of radius
  ``r = max(0.25, width * N / 2)``; a single-point stroke is a disc;
* the coverage of a pixel by one capsule is ``clip(r + 0.5 - distance(centre, segment), 0, 1)``,
  an anti-aliased edge one pixel wide;
* ink = ``round(255 * coverage)``, combined by **max** over all capsules (not alpha-over, so the
  joints of a polyline do not darken). Max commutes with the rounding, so drawing segment by
  segment into an existing array (:func:`draw_segment`) gives exactly the pixels of a full
  re-render (:func:`render`).

How it is fast: a long segment is cut into pieces no longer than about one pen width (the union of
the pieces' capsules is exactly the segment's capsule, and max over them is exactly its coverage).
Every piece then fits a small square tile of the same side T, so a whole drawing's coverage is one
vectorised float32 computation over a (pieces, T, T) stack; the tiles are then max-ed into the image,
one in-place slice operation each. Distances are taken relative to each piece's start point, so
float32 is exact enough at any canvas size.

Public: :class:`Stroke`, :class:`Rect`, :func:`render`, :func:`draw_segment`, :func:`draw_stroke`,
:func:`pen_radius`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

__all__ = ["Stroke", "Rect", "render", "draw_segment", "draw_stroke", "pen_radius", "MIN_RADIUS"]

#: Smallest capsule radius in device pixels (a hairline still leaves a trace).
MIN_RADIUS = 0.25
#: Pieces are at most this many pen radii long (plus a few pixels); see the module docstring.
PIECE_RADII = 2.0
PIECE_EXTRA_PX = 4.0


@dataclass
class Stroke:
    """One press-move-release: pen width (fraction of the side) and (n, 2) or (n, 3) unit points."""

    width: float
    points: np.ndarray

    def __post_init__(self) -> None:
        p = np.asarray(self.points, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] not in (2, 3) or p.shape[0] < 1:
            raise ValueError(f"stroke points must be an (n, 2) or (n, 3) array with n >= 1, got {p.shape}")
        if not np.isfinite(p).all():
            raise ValueError("stroke points must be finite")
        if not (np.isfinite(self.width) and self.width >= 0):
            raise ValueError(f"pen width must be a finite number >= 0, got {self.width}")
        self.points = p


class Rect(NamedTuple):
    """A pixel rectangle: columns x .. x+w-1, rows y .. y+h-1 (Qt's QRect(x, y, w, h))."""

    x: int
    y: int
    w: int
    h: int

    @property
    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def united(self, other: "Rect") -> "Rect":
        if self.empty:
            return other
        if other.empty:
            return self
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Rect(x0, y0, x1 - x0, y1 - y0)


EMPTY = Rect(0, 0, 0, 0)


def pen_radius(width: float, n: int) -> float:
    """Capsule radius in device pixels for a pen ``width`` (fraction of the side) on an n px canvas."""
    return max(MIN_RADIUS, float(width) * n / 2.0)


# ------------------------------------------------------------------------------ core
def _segments(strokes: Sequence[Stroke], n: int) -> tuple[np.ndarray, ...]:
    """(ax, ay, bx, by, r) float64 arrays of every capsule of a drawing, in device pixels."""
    parts = []
    for s in strokes:
        p = s.points
        xy = p[:, :2] * n
        factor = p[:, 2] if p.shape[1] == 3 else np.ones(len(p))
        if len(p) == 1:
            a, b, f = xy, xy, factor
        else:
            a, b, f = xy[:-1], xy[1:], factor[1:]
        r = np.maximum(MIN_RADIUS, s.width * f * n / 2.0)
        parts.append(np.column_stack([a, b, r]))
    if not parts:
        return tuple(np.empty(0) for _ in range(5))
    allp = np.concatenate(parts)
    return tuple(allp[:, k] for k in range(5))


def _cut(ax, ay, bx, by, r):
    """Cut segments longer than PIECE_RADII * r + PIECE_EXTRA_PX into equal pieces."""
    dx, dy = bx - ax, by - ay
    length = np.hypot(dx, dy)
    limit = PIECE_RADII * r + PIECE_EXTRA_PX
    k = np.maximum(1, np.ceil(length / limit)).astype(np.intp)
    if np.all(k == 1):
        return ax, ay, bx, by, r
    seg = np.repeat(np.arange(len(ax)), k)
    first = np.repeat(np.cumsum(k) - k, k)
    idx = np.arange(seg.size) - first          # piece index within its segment
    kk = k[seg].astype(np.float64)
    t0, t1 = idx / kk, (idx + 1) / kk
    return (ax[seg] + t0 * dx[seg], ay[seg] + t0 * dy[seg],
            ax[seg] + t1 * dx[seg], ay[seg] + t1 * dy[seg], r[seg])


def _tiles(ax, ay, bx, by, r):
    """Coverage tiles for capsules: (uint8 tiles (K, H, W), row origins (K,), column origins (K,)).

    All distances are computed in units of 1/255 pixel, so the ink value is ``255 * reach - d``
    directly (one pass fewer over the stack).
    """
    reach = r + 0.5                              # coverage > 0 iff distance < reach
    x_lo = np.floor(np.minimum(ax, bx) - reach).astype(np.intp)
    y_lo = np.floor(np.minimum(ay, by) - reach).astype(np.intp)
    x_hi = np.ceil(np.maximum(ax, bx) + reach).astype(np.intp)   # exclusive
    y_hi = np.ceil(np.maximum(ay, by) + reach).astype(np.intp)
    th = int((y_hi - y_lo).max())
    tw = int((x_hi - x_lo).max())
    s = np.float32(255.0)
    gx = (np.arange(tw, dtype=np.float32) + np.float32(0.5)) * s
    gy = (np.arange(th, dtype=np.float32) + np.float32(0.5)) * s
    # Pixel centres relative to each piece's start point, x 255: (K, W) and (K, H).
    px = gx[None, :] + ((x_lo - ax) * 255.0).astype(np.float32)[:, None]
    py = gy[None, :] + ((y_lo - ay) * 255.0).astype(np.float32)[:, None]
    ux = ((bx - ax) * 255.0).astype(np.float32)
    uy = ((by - ay) * 255.0).astype(np.float32)
    len2 = ux * ux + uy * uy
    inv = np.where(len2 > 0, 1.0 / np.maximum(len2, 1e-30), 0.0).astype(np.float32)
    # Projection parameter along the piece, clipped to the segment: (K, H, W).
    tt = (py * (uy * inv)[:, None])[:, :, None] + (px * (ux * inv)[:, None])[:, None, :]
    np.clip(tt, 0.0, 1.0, out=tt)
    # Offset from the closest point on the segment, squared, summed.
    ex = tt * ux[:, None, None]
    np.subtract(px[:, None, :], ex, out=ex)
    tt *= uy[:, None, None]
    np.subtract(py[:, :, None], tt, out=tt)
    np.multiply(ex, ex, out=ex)
    np.multiply(tt, tt, out=tt)
    ex += tt
    np.sqrt(ex, out=ex)
    # ink = 255 * clip(reach - d, 0, 1), rounded (+0.5, then truncation).
    np.subtract((reach * 255.0 + 0.5).astype(np.float32)[:, None, None], ex, out=ex)
    np.clip(ex, 0.0, 255.5, out=ex)
    return ex.astype(np.uint8), y_lo, x_lo


def _paste_max(img: np.ndarray, tiles: np.ndarray, y_lo: np.ndarray, x_lo: np.ndarray) -> None:
    """img[y:y+H, x:x+W] = max(img, tile) for every tile, clipped to img."""
    h, w = img.shape
    th, tw = tiles.shape[1:]
    inside = (y_lo >= 0) & (x_lo >= 0) & (y_lo + th <= h) & (x_lo + tw <= w)
    maximum = np.maximum
    for k, y, x in zip(np.flatnonzero(inside).tolist(), y_lo[inside].tolist(), x_lo[inside].tolist()):
        view = img[y:y + th, x:x + tw]
        maximum(view, tiles[k], out=view)
    for k in np.flatnonzero(~inside).tolist():
        y, x = int(y_lo[k]), int(x_lo[k])
        y0, x0 = max(y, 0), max(x, 0)
        y1, x1 = min(y + th, h), min(x + tw, w)
        if y1 <= y0 or x1 <= x0:
            continue
        view = img[y0:y1, x0:x1]
        maximum(view, tiles[k, y0 - y:y1 - y, x0 - x:x1 - x], out=view)


#: Pieces are grouped by the tile side they need, in steps of this many pixels, so one long piece
#: does not make every tile big.
_BUCKET_PX = 6
_GROUP = 2048


def _draw(img: np.ndarray, ax, ay, bx, by, r) -> Rect:
    if ax.size == 0:
        return EMPTY
    ax, ay, bx, by, r = _cut(ax, ay, bx, by, r)
    reach = r + 0.5
    x_lo = np.floor(np.minimum(ax, bx) - reach)
    y_lo = np.floor(np.minimum(ay, by) - reach)
    x_hi = np.ceil(np.maximum(ax, bx) + reach)
    y_hi = np.ceil(np.maximum(ay, by) + reach)
    # Dirty rectangle: the union of the boxes, clipped to the image.
    h, w = img.shape
    x0, y0 = max(int(x_lo.min()), 0), max(int(y_lo.min()), 0)
    x1, y1 = min(int(x_hi.max()), w), min(int(y_hi.max()), h)
    if x1 <= x0 or y1 <= y0:
        return EMPTY
    # Pieces entirely off the image are dropped.
    keep = (x_hi > 0) & (y_hi > 0) & (x_lo < w) & (y_lo < h)
    side = np.maximum(x_hi - x_lo, y_hi - y_lo)
    bucket = (side // _BUCKET_PX).astype(np.intp)
    if ax.size == 1 or bucket.min() == bucket.max():
        groups = [np.flatnonzero(keep)]
    else:
        groups = [np.flatnonzero(keep & (bucket == b)) for b in np.unique(bucket[keep])]
    for idx in groups:
        for s in range(0, idx.size, _GROUP):
            g = idx[s:s + _GROUP]
            tiles, ty, tx = _tiles(ax[g], ay[g], bx[g], by[g], r[g])
            _paste_max(img, tiles, ty, tx)
    return Rect(x0, y0, x1 - x0, y1 - y0)


# ------------------------------------------------------------------------------ public
def render(strokes: Sequence[Stroke], n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Render a whole drawing onto a fresh (or the given, cleared) n x n uint8 array."""
    if out is None:
        out = np.zeros((n, n), dtype=np.uint8)
    else:
        if out.shape != (n, n) or out.dtype != np.uint8:
            raise ValueError(f"out must be an ({n}, {n}) uint8 array")
        out.fill(0)
    _draw(out, *_segments(strokes, n))
    return out


def draw_segment(img: np.ndarray, a, b, width: float, pressure: float = 1.0) -> Rect:
    """Draw the capsule from unit point ``a`` to unit point ``b`` (a == b: a disc) into ``img``.

    ``img`` is the canvas's square uint8 array (side n); only the segment's bounding box is read
    and written. Returns the dirty rectangle in device pixels (empty if off the canvas). The
    pixels are exactly those :func:`render` gives for the same segment.
    """
    n = img.shape[1]
    r = max(MIN_RADIUS, width * pressure * n / 2.0)
    ax, ay, bx, by = a[0] * n, a[1] * n, b[0] * n, b[1] * n
    if np.hypot(bx - ax, by - ay) > PIECE_RADII * r + PIECE_EXTRA_PX:
        return _draw(img, np.array([ax]), np.array([ay]), np.array([bx]), np.array([by]),
                     np.array([r]))
    return _draw_one(img, float(ax), float(ay), float(bx), float(by), float(r))


def _draw_one(img: np.ndarray, ax: float, ay: float, bx: float, by: float, r: float) -> Rect:
    """One short piece, with Python scalars: the same float32 arithmetic as :func:`_tiles`."""
    f32 = np.float32
    reach = r + 0.5
    x_lo = int(np.floor(min(ax, bx) - reach))
    y_lo = int(np.floor(min(ay, by) - reach))
    x_hi = int(np.ceil(max(ax, bx) + reach))
    y_hi = int(np.ceil(max(ay, by) + reach))
    h, w = img.shape
    x0, y0, x1, y1 = max(x_lo, 0), max(y_lo, 0), min(x_hi, w), min(y_hi, h)
    if x1 <= x0 or y1 <= y0:
        return EMPTY
    s = f32(255.0)
    px = (np.arange(x0 - x_lo, x1 - x_lo, dtype=np.float32) + f32(0.5)) * s + f32((x_lo - ax) * 255.0)
    py = (np.arange(y0 - y_lo, y1 - y_lo, dtype=np.float32) + f32(0.5)) * s + f32((y_lo - ay) * 255.0)
    ux = f32((bx - ax) * 255.0)
    uy = f32((by - ay) * 255.0)
    len2 = ux * ux + uy * uy
    inv = f32(1.0) / len2 if len2 > 0 else f32(0.0)
    tt = (py * (uy * inv))[:, None] + (px * (ux * inv))[None, :]
    np.clip(tt, 0.0, 1.0, out=tt)
    ex = tt * ux
    np.subtract(px[None, :], ex, out=ex)
    tt *= uy
    np.subtract(py[:, None], tt, out=tt)
    np.multiply(ex, ex, out=ex)
    np.multiply(tt, tt, out=tt)
    ex += tt
    np.sqrt(ex, out=ex)
    np.subtract(f32(reach * 255.0 + 0.5), ex, out=ex)
    np.clip(ex, 0.0, 255.5, out=ex)
    view = img[y0:y1, x0:x1]
    np.maximum(view, ex.astype(np.uint8), out=view)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def draw_stroke(img: np.ndarray, stroke: Stroke) -> Rect:
    """Draw one whole stroke into ``img``; returns the dirty rectangle."""
    return _draw(img, *_segments([stroke], img.shape[1]))


def render_reference(strokes: Sequence[Stroke], n: int) -> np.ndarray:
    """Slow, obviously-correct float64 reference of :func:`render` (for tests)."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    best = np.zeros((n, n))
    ax, ay, bx, by, r = _segments(strokes, n)
    for a_x, a_y, b_x, b_y, rr in zip(ax, ay, bx, by, r):
        dx, dy = b_x - a_x, b_y - a_y
        l2 = dx * dx + dy * dy
        t = np.zeros_like(xx) if l2 == 0 else np.clip(((xx - a_x) * dx + (yy - a_y) * dy) / l2, 0, 1)
        d = np.hypot(xx - (a_x + t * dx), yy - (a_y + t * dy))
        best = np.maximum(best, np.floor(255.0 * np.clip(rr + 0.5 - d, 0, 1) + 0.5))
    return best.astype(np.uint8)
