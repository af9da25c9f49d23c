"""Turn a drawing into the 28x28 image an MNIST-trained network expects.

A network that reads MNIST digits well can still misread a digit drawn with a mouse, because a
drawing is not an MNIST image: it sits anywhere on the canvas, at any size and with any pen. The
MNIST digits were made like this: the scanned digit was scaled so that its longer side fits a 20 px
box (aspect ratio kept, anti-aliased), and then shifted inside a 28x28 field so that its centre of
mass sits at the centre. :func:`preprocess_drawing` repeats exactly that, and adds one step MNIST did
not need: it normalizes the stroke width, so a 4 px pen and a 40 px marker give nearly the same input.

The steps, in plain words:

1. **Find the ink.** The bounding box of every pixel brighter than a small fraction of the brightest
   one, so faint anti-aliasing fringes and smudges do not stretch the box. No ink: return ``None``.
2. **Measure the pen.** For a stroke of width ``w`` and length ``L`` the ink area is about ``w*L`` and
   the outline about ``2*(L + w)``; the area is the sum of the grey values and the outline the sum of
   the gradient magnitude (for an anti-aliased edge the grey value climbs by exactly 1 across it). Two
   equations, two unknowns: the stroke width, independent of how much the digit meanders.
3. **Pick the scale from the pen's path, not from the ink.** The bounding box is the path's extent plus
   one stroke width. Knowing the width, we scale the *path* so that, redrawn with MNIST's typical pen,
   the digit's longer side is 20 px.
4. **Re-draw with MNIST's pen.** At a working resolution a few times finer than the output we grow
   (grey dilation) or shrink (grey erosion) the strokes by the difference, with an octagonal element
   made of alternating 3x3 square and plus-shaped max/min filters (a cheap stand-in for a disk).
   Doing this *before* the final down-scaling keeps the result anti-aliased.
5. **Size and centre like MNIST.** Crop the re-drawn digit to its bounding box, scale its longer side
   to 20 px by area averaging (every output pixel is the mean of the input area it covers), and paste
   it into 28x28 so that its centre of mass lands on pixel (14, 14), the mean centre of mass of the
   MNIST training digits, rounding the shift to whole pixels as MNIST did.

Degenerate drawings get defined results: a single dot becomes a small centred blob (its "path" has no
extent, so it is not blown up to a 20 px square), a '1' or a '-' keeps its aspect ratio, a digit cut off
by the canvas edge is treated as what is visible, and a 4000x4000 canvas is block-averaged first so it
costs tens of milliseconds, not seconds. Everything is plain NumPy on small arrays: for a 280x280 canvas
the whole function takes about a millisecond, so the canvas can call it at display rate while the user
draws.

:func:`normalize_polarity` makes any grey image ink-high (ink bright, background black) by looking at
its border: whatever the border mostly is, is the background.
"""

from __future__ import annotations

import numpy as np

from mnist_gui.digits import SIDE
from mnist_gui.imaging.morphology import STEP_GAIN, grow

__all__ = ["preprocess_drawing", "normalize_polarity", "estimate_stroke_width"]

#: The box the digit's longer side is scaled to (MNIST's), inside the 28x28 field.
BOX = 20
#: Where the centre of mass goes, in pixel-index coordinates: the mean centre of mass of the
#: 60,000 MNIST training digits is (13.996, 14.007). (Not the grid's geometric centre, 13.5, about
#: which augmentation rotates: a digit's ink sits half a pixel low and right of it in MNIST.)
MASS_CENTRE = 14.0
#: The stroke width drawings are re-drawn with, in output pixels, for a digit whose longer side is
#: 20 px. 2.6 reproduces the median MNIST width (by :func:`estimate_stroke_width`, on MNIST digits
#: enlarged onto a canvas and put back through this function); slightly bolder strokes read better:
#: on the drawn-digit benchmark (2000 drawings, seed 1) target widths 2.2 / 2.6 / 2.8 /
#: 3.0 gave 95.2 / 96.2 / 96.6 / 96.9% with a plain model and 96.6 / 97.4 / 97.7 / 97.6% with an
#: augmentation-trained one (before the benchmark's pen range was capped at 40% thinning).
TARGET_WIDTH = 2.8
#: Pixels fainter than this fraction of the brightest ink do not count for the bounding box.
THRESHOLD_FRACTION = 0.15
#: Below this peak (on the 0-255 scale) the canvas counts as empty: nothing but faint noise.
MIN_PEAK = 16.0
#: Crops longer than this are block-averaged first (huge canvases); a 280 px canvas never is.
MAX_MEASURE_SIDE = 320
#: The working resolution is this many times finer than the output ...
MIN_OVERSAMPLE = 3.0
MAX_OVERSAMPLE = 8.0
#: ... and fine enough that the stroke is at least this many working pixels wide before re-drawing.
MIN_WORKING_STROKE = 2.5
#: A digit is never enlarged by more than this beyond the planned scale when re-fitted to 20 px;
#: it is what keeps a single dot a small blob.
MAX_REFIT_GAIN = 1.25
#: Paths shorter than this many stroke widths are treated as blobs (see preprocess_drawing).
BLOB_EXTENT = 1.5


# --------------------------------------------------------------------------------------- input
def _as_ink_array(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """Validate the input and return it with the value of "full ink" on its scale.

    uint8 (and other integer) input is on a 0-255 scale. Float input is on a 0-1 scale if its
    maximum is at most 1, otherwise on a 0-255 scale. bool input is 0/1.
    """
    a = np.asarray(ink)
    if a.ndim != 2:
        raise ValueError(f"preprocess_drawing expects a 2-D array, got shape {a.shape}")
    if a.dtype == np.bool_:
        return a.view(np.uint8), 1.0
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("preprocess_drawing: the drawing contains NaN or infinite values")
        peak = float(a.max()) if a.size else 0.0
        return a, (1.0 if peak <= 1.0 else 255.0)
    if np.issubdtype(a.dtype, np.integer):
        return a, 255.0
    raise ValueError(f"preprocess_drawing: unsupported dtype {a.dtype}")


def _ink_bbox(a: np.ndarray, threshold: float) -> tuple[int, int, int, int] | None:
    """Bounding box (top, bottom, left, right; exclusive ends) of pixels above ``threshold``.

    Row and column maxima are two fast reductions even on a 4000x4000 canvas; a full boolean mask
    would cost several times more.
    """
    rows = np.flatnonzero(a.max(axis=1) > threshold)
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(a[top:bottom].max(axis=0) > threshold)
    return top, bottom, int(cols[0]), int(cols[-1]) + 1


# ---------------------------------------------------------------------------- resampling
def _block_mean(a: np.ndarray, top: int, bottom: int, left: int, right: int, k: int) -> np.ndarray:
    """Mean over k x k blocks of ``a[top:bottom, left:right]`` as float32.

    The region is grown to a multiple of k (zero-padded past the canvas edge) so every block is
    whole and the geometry stays exact: block (i, j) covers source pixels [i*k, (i+1)*k).
    """
    h = -(-(bottom - top) // k) * k
    w = -(-(right - left) // k) * k
    region = a[top:top + h, left:left + w]
    if region.shape != (h, w):
        padded = np.zeros((h, w), dtype=a.dtype)
        padded[: region.shape[0], : region.shape[1]] = region
        region = padded
    acc = np.float64 if np.issubdtype(a.dtype, np.floating) else np.uint32
    # Two one-axis sums over contiguous memory are several times faster than one 4-D sum.
    s = region.reshape(h // k, k, w).sum(axis=1, dtype=acc)
    s = s.reshape(h // k, w // k, k).sum(axis=2)
    return (s * (1.0 / (k * k))).astype(np.float32)


# Resampling is done with gathers of a few taps rather than as matrix products: a product of these
# sizes goes to multi-threaded BLAS, and when the training thread keeps both cores busy a threaded
# BLAS call waits for a descheduled helper thread: 25 ms instead of 1 ms per drawing (measured).
def _area_rows(a: np.ndarray, n_out: int, scale: float, origin: float) -> np.ndarray:
    """Area-average the rows of ``a`` onto ``n_out`` rows, ``scale`` (<= 1) output rows per input row.

    Output row i covers the input interval [origin + i/scale, origin + (i+1)/scale); its value is
    the mean of the input over that interval (outside the input counts as 0). This is the box-filter
    anti-aliasing used to make MNIST. An interval overlaps at most ceil(1/scale) + 1 input rows, so
    each output row is a weighted sum of that many gathered rows, weighted by the overlap lengths.
    """
    n_in = a.shape[0]
    edges = origin + np.arange(n_out + 1, dtype=np.float64) / scale
    lo, hi = edges[:-1, None], edges[1:, None]
    taps = np.floor(lo) + np.arange(int(np.ceil(1.0 / scale)) + 1)[None, :]  # (n_out, K) rows
    weights = np.clip(np.minimum(hi, taps + 1.0) - np.maximum(lo, taps), 0.0, None) * scale
    inside = (taps >= 0) & (taps < n_in)
    weights = np.where(inside, weights, 0.0).astype(np.float32)
    rows = a[np.clip(taps, 0, n_in - 1).astype(np.intp)]  # (n_out, K, width)
    rows *= weights[:, :, None]
    return rows.sum(axis=1)


def _bilinear_rows(a: np.ndarray, n_out: int, scale: float, origin: float) -> np.ndarray:
    """Like :func:`_area_rows` but linear interpolation between row centres, for enlarging.

    Box-filter enlarging turns every input pixel into a flat tile; grey erosion of such a staircase
    collapses to the faintest tile. Interpolation keeps a tiny drawing smooth when it is enlarged.
    """
    n_in = a.shape[0]
    padded = np.zeros((n_in + 2,) + a.shape[1:], dtype=np.float32)  # a zero row on each side
    padded[1:-1] = a
    centres = origin + (np.arange(n_out, dtype=np.float64) + 0.5) / scale + 0.5  # in padded rows
    centres = np.clip(centres, 0.0, n_in + 1.0)
    whole = np.minimum(centres.astype(np.intp), n_in)
    frac = (centres - whole).astype(np.float32)[:, None]
    return padded[whole] * (1.0 - frac) + padded[whole + 1] * frac


def _resample(img: np.ndarray, out_shape: tuple[int, int], scale: float,
              origin: tuple[float, float]) -> np.ndarray:
    """Resample ``img`` onto an ``out_shape`` grid, ``scale`` output px per input px.

    Output pixel (i, j) covers the input area starting at ``origin + (i, j) / scale``. Shrinking
    area-averages; enlarging interpolates linearly. Rows first, then columns (it is separable).
    """
    rows = _area_rows if scale <= 1.0 else _bilinear_rows
    tmp = rows(img, out_shape[0], scale, origin[0])
    return np.ascontiguousarray(rows(tmp.T, out_shape[1], scale, origin[1]).T)


# ------------------------------------------------------------------------------ measuring
def estimate_stroke_width(img: np.ndarray) -> float:
    """Estimate the stroke width, in pixels, of a grey ink-high image scaled to 0-1.

    Area A = sum of grey values; outline P = sum of gradient magnitudes (an anti-aliased edge climbs
    by exactly 1 across it, whatever its sharpness). Strokes of width w and total length L have
    A ~ w*L and P ~ 2*(L + w); solving gives w. A blob rounder than a square has no real solution;
    its width is then 4*A/P, which is the diameter of a disk, the side of a square, and agrees with the
    quadratic where the two meet (a square, L = w).
    """
    # Central differences measure edges at every orientation more evenly than forward ones.
    gy = img[2:, 1:-1] - img[:-2, 1:-1]
    gx = img[1:-1, 2:] - img[1:-1, :-2]
    perimeter = 0.5 * float(np.sqrt(gx * gx + gy * gy).sum())
    area = float(img.sum(dtype=np.float64))
    if perimeter <= 0.0:
        return 0.0
    half = perimeter / 2.0
    disc = half * half - 4.0 * area
    if disc <= 0.0:
        return 4.0 * area / perimeter
    return (half - np.sqrt(disc)) / 2.0


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    total = float(img.sum(dtype=np.float64))
    cy = float(img.sum(axis=1) @ np.arange(img.shape[0])) / total
    cx = float(img.sum(axis=0) @ np.arange(img.shape[1])) / total
    return cy, cx


# ------------------------------------------------------------------------------- public
def preprocess_drawing(ink: np.ndarray, pen_width: float | None = None) -> np.ndarray | None:
    """Turn a drawing of any size into the (28, 28) uint8 image an MNIST network expects.

    ``ink`` is a 2-D array where larger means more ink (light strokes on a black background, like
    MNIST): uint8 (or any integer type) on a 0-255 scale, float on a 0-1 scale if its maximum is at
    most 1 and on a 0-255 scale otherwise, or bool. The brightest ink is mapped to 255.

    ``pen_width`` is the pen's width in pixels of ``ink`` when the caller knows it (the canvas always
    does). It replaces the estimate of step 2, which a fat pen that fills a small digit's loops (an 8 or
    a 9) fools into seeing a far too wide pen, so the re-drawing eroded the strokes to hairlines around
    a blob: with the canvas's pen width the shipped model read 95.2% of real pen-drawn digits instead of
    93.7%, and 90.9% instead of 73.5% when they were drawn with a 40 px pen. A picture file's pen is not
    known: ``None`` estimates it.

    Returns ``None`` if there is no ink (nothing brighter than :data:`MIN_PEAK` on the 0-255 scale).
    Otherwise the digit, re-drawn with MNIST's typical stroke width, scaled so its longer side is 20 px
    (aspect kept, area-averaged), placed with its centre of mass on pixel (14, 14). The shift is
    clamped so that no ink is cut off. See the module docstring for the reasoning.
    """
    a, full = _as_ink_array(ink)
    if a.size == 0:
        return None
    row_max = a.max(axis=1)
    peak = float(row_max.max())
    if peak * (255.0 / full) < MIN_PEAK:
        return None
    box = _ink_bbox(a, THRESHOLD_FRACTION * peak)
    assert box is not None  # the peak itself is above the threshold
    top, bottom, left, right = box

    # Measurement image: the crop, block-averaged if huge, scaled so the brightest ink is 1.
    k = max(1, -(-max(bottom - top, right - left) // MAX_MEASURE_SIDE))
    if k == 1:
        m = a[top:bottom, left:right].astype(np.float32)
    else:
        m = _block_mean(a, top, bottom, left, right, k)
    m *= np.float32(1.0 / peak)
    np.maximum(m, 0.0, out=m)  # negative "ink" (float input) would cancel real ink in the sums
    # Two empty pixels around the crop, so the central differences see the whole outline of ink
    # touching the crop's edge.
    m = np.pad(m, 2)
    height, width = (bottom - top) / k, (right - left) / k

    # Scale (output px per measurement px) chosen from the pen's path: bbox = path extent + width.
    w = estimate_stroke_width(m) if pen_width is None else float(pen_width) / k
    longer = max(height, width)
    # A path barely longer than the pen is wide is a dot or a blob: size it as if its path were
    # BLOB_EXTENT widths long, so a dot comes out as a small blob instead of filling the 20 px box.
    extent = max(longer - w, BLOB_EXTENT * w, 1e-6)
    scale_out = (BOX - TARGET_WIDTH) / extent
    width_out = w * scale_out  # the pen's width in output pixels before re-drawing

    # Working resolution: oversample enough that even a thin pen spans a few pixels.
    over = float(np.clip(MIN_WORKING_STROKE / max(width_out, 1e-6), MIN_OVERSAMPLE, MAX_OVERSAMPLE))
    # Planned growth per side, in working pixels; used for the margin, re-measured below.
    radius = (TARGET_WIDTH - width_out) * over / 2.0
    s = scale_out * over  # working px per measurement px
    margin = int(np.ceil(max(radius * 1.5, 0.0))) + 2
    wh = int(np.ceil(m.shape[0] * s)) + 2 * margin
    ww = int(np.ceil(m.shape[1] * s)) + 2 * margin
    work = _resample(m, (wh, ww), s, (-margin / s, -margin / s))
    if s > 2.0:
        # A tiny drawing enlarged: interpolation spread every edge over s pixels, and eroding such a
        # ramp only lowers it. Sharpen the edges back to ~1.5 px about the half level (which keeps
        # the stroke's area), as if it had been drawn at this size.
        work = np.clip((work - 0.5) * np.float32(s / 1.5) + 0.5, 0.0, 1.0)
    elif width_out * over < 1.0:
        # The pen is thinner than a working pixel even at the finest oversampling (huge canvas, hair-
        # line pen): area averaging has dimmed it, so restore its brightness before dilating it.
        work = np.minimum(work * np.float32(1.0 / max(width_out * over, 0.1)), np.float32(1.0))

    # Re-measure at the working resolution (resampling blurs thin pens a little) and grow/shrink by
    # the difference. One morphology step widens a stroke by ~2.2 px rather than 2: the octagon
    # reaches a bit beyond a disk between the axes, and the stroke's ends grow too.
    now = estimate_stroke_width(work) if pen_width is None else width_out * over
    steps = (TARGET_WIDTH * over - now) / (2.0 * STEP_GAIN)
    steps = min(steps, margin - 1.0)  # never grow past the empty margin
    redrawn = grow(work, steps)
    rbox = _ink_bbox(redrawn, THRESHOLD_FRACTION * float(redrawn.max()))
    if rbox is None or float(redrawn.max()) < 0.25:
        redrawn = work  # erosion ate everything (estimate was off): keep the drawing as it was
        rbox = _ink_bbox(redrawn, THRESHOLD_FRACTION * float(redrawn.max()))
        assert rbox is not None
    rt, rb, rl, rr = rbox

    # Fit the re-drawn digit's longer side to 20 px, but never enlarge it much beyond the plan
    # (that would blow a dot up to a 20 px square again).
    fit = min(BOX / max(rb - rt, rr - rl), MAX_REFIT_GAIN / over)
    oh = max(1, min(BOX, int(round((rb - rt) * fit))))
    ow = max(1, min(BOX, int(round((rr - rl) * fit))))
    # Centre the crop in the (rounded) output box so rounding does not shift the digit.
    oy = rt + (rb - rt) / 2.0 - oh / fit / 2.0
    ox = rl + (rr - rl) / 2.0 - ow / fit / 2.0
    digit = _resample(redrawn, (oh, ow), fit, (oy, ox))
    np.clip(digit, 0.0, 1.0, out=digit)

    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    if float(digit.sum()) <= 0.0:
        return out.astype(np.uint8)
    cy, cx = _centre_of_mass(digit)
    y0 = int(np.clip(round(MASS_CENTRE - cy), 0, SIDE - oh))
    x0 = int(np.clip(round(MASS_CENTRE - cx), 0, SIDE - ow))
    out[y0:y0 + oh, x0:x0 + ow] = digit
    return (out * 255.0 + 0.5).astype(np.uint8)


def normalize_polarity(grey: np.ndarray) -> np.ndarray:
    """Return ``grey`` (2-D uint8, either polarity) as ink-high: ink bright, background 0.

    The border decides: its median is the background. A light background (median above 127) means
    dark ink on paper, so the image is inverted. Then the background level, plus three times the
    border's noise (median absolute deviation), is subtracted and the result stretched so the strongest
    ink is 255 — a grey photo of a page becomes clean black with bright ink. A uniform image (no ink)
    comes back all zeros.
    """
    g = np.asarray(grey)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"normalize_polarity expects a non-empty 2-D array, got shape {g.shape}")
    if g.dtype != np.uint8:
        g = np.clip(g, 0, 255).astype(np.uint8)
    border = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]])
    background = float(np.median(border))
    if background > 127.5:
        g = 255 - g
        border = 255 - border
        background = 255.0 - background
    noise = 1.4826 * float(np.median(np.abs(border.astype(np.float32) - background)))
    floor = background + 3.0 * noise
    peak = float(g.max())
    if peak <= floor + 1.0:
        return np.zeros_like(g)
    # A lookup table costs one pass over the image whatever its size.
    lut = np.clip((np.arange(256, dtype=np.float32) - floor) * (255.0 / (peak - floor)), 0, 255)
    return (lut + 0.5).astype(np.uint8)[g]
