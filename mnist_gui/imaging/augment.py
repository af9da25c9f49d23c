"""Random distortions of MNIST batches, so a network learns digits the way people really draw them.

MNIST digits are neatly upright, sized and centred; drawings are tilted, slanted, a bit too big or
small, slightly off-centre and drawn with all sorts of pens. Showing the network every training digit
with a fresh random distortion teaches it that none of that changes which digit it is.

Per image, :class:`Augmenter` draws

* an affine warp about the image centre: rotation, uniform scale, horizontal shear (slant) and a
  shift, applied by bilinear sampling (each output pixel looks up where it came from in the input and
  blends the four nearest input pixels);
* for a fraction of the batch, a stroke-thickness change: a blend toward the grey dilation (thicker)
  or the grey erosion (thinner) of the digit with a plus-shaped 3x3 element, by a random amount.

Everything is vectorised over the batch: one gather for the whole batch, no Python loop per image.
Two tricks keep it at about a millisecond for 128 images: the four neighbours every bilinear sample
needs are packed side by side into one uint32 per pixel, so one gather fetches all four; and the
working arrays are allocated once per batch size and reused.

The random numbers come only from the ``rng`` passed in, in a fixed order, so a given generator state
always gives the same batch (reproducible training runs: the session passes its own seeded generator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import PIXELS, SIDE
from mnist_gui.imaging.morphology import filter3x3

__all__ = ["Augmenter", "AugmentParams"]

#: Rotation, scale and shear act about the geometric centre of the 28x28 grid (pixel index 13.5),
#: so a 90-degree rotation is exactly ``np.rot90``. (Preprocessing centres a drawing's *mass* on
#: 14.0 instead, where MNIST's digits have theirs; the two answer different questions.)
ROTATION_CENTRE = (SIDE - 1) / 2.0
#: Inputs are copied into a zero border so samples outside the image read 0 without any masking:
#: one row/column before, two after (a sample at coordinate 28 reads padded rows 29 and 30).
PAD_SIDE = SIDE + 3
#: A full 3x3 erosion wipes out MNIST's thinnest (1-2 px) strokes; thinning goes at most this far.
ERODE_STRENGTH = 0.6


@dataclass
class AugmentParams:
    """Per-image distortion parameters, each an array of length B.

    ``angle`` and ``shear`` are in radians (a positive angle turns the digit counter-clockwise on
    the screen, a positive shear leans it to the right, like italics); ``scale`` multiplies the size;
    ``shift_x``/``shift_y`` move it right/down in pixels; ``thickness`` in [-1, 1] blends toward the
    dilated digit (positive, 1 = fully dilated) or the eroded one (negative, -1 =
    :data:`ERODE_STRENGTH` of the way), 0 leaves the strokes alone.
    """

    angle: np.ndarray
    scale: np.ndarray
    shear: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    thickness: np.ndarray

    @classmethod
    def identity(cls, n: int) -> "AugmentParams":
        """Parameters that leave ``n`` images unchanged."""
        z = np.zeros(n)
        return cls(angle=z, scale=np.ones(n), shear=z.copy(), shift_x=z.copy(), shift_y=z.copy(),
                   thickness=z.copy())


class _Buffers:
    """Working arrays for one batch size, allocated once and reused for every batch."""

    def __init__(self, n: int) -> None:
        self.padded = np.zeros((n, PAD_SIDE, PAD_SIDE), dtype=np.uint8)  # border stays 0
        # pairs: horizontal neighbours side by side; quad[b, y, x]: the 2x2 neighbourhood with
        # top-left (y, x) of the padded image as the 4 bytes of one uint32.
        self.pairs = np.empty((n, PAD_SIDE, PAD_SIDE - 1), dtype=np.uint16)
        self.quad = np.empty((n, PAD_SIDE - 1, PAD_SIDE - 1), dtype=np.uint32)
        # Offset of each image inside the flattened quad array.
        self.base = (np.arange(n, dtype=np.float32) * (PAD_SIDE - 1) ** 2)[:, None]
        self.xs = np.empty((n, PIXELS), dtype=np.float32)
        self.ys = np.empty((n, PIXELS), dtype=np.float32)
        self.x0 = np.empty((n, PIXELS), dtype=np.float32)
        self.y0 = np.empty((n, PIXELS), dtype=np.float32)
        self.index = np.empty((n, PIXELS), dtype=np.intp)
        self.gathered = np.empty((n, PIXELS), dtype=np.uint32)
        self.word = np.empty((n, PIXELS), dtype=np.uint32)
        self.corners = np.empty((4, n, PIXELS), dtype=np.float32)
        self.tmp = np.empty((n, PIXELS), dtype=np.float32)


class Augmenter:
    """Random affine warps and stroke-thickness changes for (B, 784) uint8 MNIST batches.

    ``rotation_deg``, ``shear_deg`` and ``shift_px`` are the half-widths of uniform ranges around 0;
    ``scale`` is the (low, high) range of the size factor; ``thickness_prob`` is the fraction of
    images whose strokes are made thicker or thinner.
    """

    def __init__(self, rotation_deg: float = 15.0, scale: tuple[float, float] = (0.85, 1.15),
                 shear_deg: float = 10.0, shift_px: float = 2.0, thickness_prob: float = 0.5) -> None:
        lo, hi = (float(v) for v in scale)
        if not (0.0 < lo <= hi):
            raise ValueError(f"scale must be a (low, high) range with 0 < low <= high, got {scale}")
        if rotation_deg < 0 or shear_deg < 0 or shift_px < 0:
            raise ValueError("rotation_deg, shear_deg and shift_px must be >= 0")
        if not 0.0 <= thickness_prob <= 1.0:
            raise ValueError(f"thickness_prob must be in [0, 1], got {thickness_prob}")
        if shear_deg >= 60.0:
            raise ValueError(f"shear_deg must be below 60 degrees, got {shear_deg}")
        self.rotation_deg = float(rotation_deg)
        self.scale = (lo, hi)
        self.shear_deg = float(shear_deg)
        self.shift_px = float(shift_px)
        self.thickness_prob = float(thickness_prob)
        self._buffers: dict[int, _Buffers] = {}
        # Output pixel coordinates relative to the centre, shared by every batch.
        self._g = np.arange(SIDE, dtype=np.float64) - ROTATION_CENTRE

    def __repr__(self) -> str:
        return (f"Augmenter(rotation_deg={self.rotation_deg}, scale={self.scale}, "
                f"shear_deg={self.shear_deg}, shift_px={self.shift_px}, "
                f"thickness_prob={self.thickness_prob})")

    # ------------------------------------------------------------------------ parameters
    def sample_params(self, n: int, rng: np.random.Generator) -> AugmentParams:
        """Draw distortion parameters for ``n`` images (always the same draws in the same order)."""
        rot = np.radians(self.rotation_deg)
        shear = np.radians(self.shear_deg)
        angle = rng.uniform(-rot, rot, n)
        scale = rng.uniform(self.scale[0], self.scale[1], n)
        shear_a = rng.uniform(-shear, shear, n)
        shift = rng.uniform(-self.shift_px, self.shift_px, (2, n))
        chosen = rng.random(n) < self.thickness_prob
        amount = rng.uniform(-1.0, 1.0, n)
        return AugmentParams(angle=angle, scale=scale, shear=shear_a, shift_x=shift[0],
                             shift_y=shift[1], thickness=np.where(chosen, amount, 0.0))

    # ------------------------------------------------------------------------- applying
    def apply(self, batch_u8: np.ndarray, rng: np.random.Generator, out: np.ndarray | None = None) -> np.ndarray:
        """Return a randomly distorted copy of ``batch_u8`` (B, 784) uint8, into ``out`` if given."""
        batch = self._check(batch_u8)
        params = self.sample_params(batch.shape[0], rng)
        return self.apply_params(batch, params, out)

    def apply_params(self, batch_u8: np.ndarray, params: AugmentParams,
                     out: np.ndarray | None = None) -> np.ndarray:
        """Distort ``batch_u8`` (B, 784) uint8 with the given per-image parameters."""
        batch = self._check(batch_u8)
        n = batch.shape[0]
        if out is None:
            out = np.empty((n, PIXELS), dtype=np.uint8)
        elif out.shape != (n, PIXELS) or out.dtype != np.uint8:
            raise ValueError(f"out must be a ({n}, {PIXELS}) uint8 array")
        if n == 0:
            return out
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) > 4:  # a few batch sizes (full and last) is all training needs
                self._buffers.clear()
            buf = self._buffers[n] = _Buffers(n)

        images = batch.reshape(n, SIDE, SIDE)
        inner = buf.padded[:, 1:SIDE + 1, 1:SIDE + 1]
        thickness = np.asarray(params.thickness, dtype=np.float32)
        if np.any(thickness != 0):
            self._thicken(images, thickness, buf)
        else:
            inner[...] = images
        self._warp(params, buf, out)
        return out

    # ----------------------------------------------------------------------- internals
    @staticmethod
    def _check(batch_u8: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch_u8)
        if batch.dtype != np.uint8 or batch.ndim != 2 or batch.shape[1] != PIXELS:
            raise ValueError(f"expected a (B, {PIXELS}) uint8 batch, got {batch.shape} {batch.dtype}")
        return batch

    @staticmethod
    def _thicken(images: np.ndarray, thickness: np.ndarray, buf: _Buffers) -> None:
        """Blend each image toward its dilation (t > 0) or erosion (t < 0), into buf.padded.

        Only the images that change are touched, the thicker and the thinner ones separately, so
        each needs one kind of filter: a quarter of the batch each at the default settings.
        """
        p = buf.padded
        p[:, 1:SIDE + 1, 1:SIDE + 1] = images
        for chosen, dilate, strength in ((np.flatnonzero(thickness > 0), True, 1.0),
                                         (np.flatnonzero(thickness < 0), False, ERODE_STRENGTH)):
            if chosen.size == 0:
                continue
            # Plus-shaped 3x3 element: the pixel and its four neighbours (the zero border stands in
            # for the outside of the image).
            sub = p[chosen]
            centre = sub[:, 1:SIDE + 1, 1:SIDE + 1]
            filtered = filter3x3(sub, square=False, dilate=dilate)[:, 1:SIDE + 1, 1:SIDE + 1]
            amount = (strength * np.abs(thickness[chosen])).astype(np.float32)[:, None, None]
            blended = centre.astype(np.float32)
            blended += amount * (filtered - blended)
            blended += 0.5  # truncation below then rounds; values stay within 0..255
            p[chosen, 1:SIDE + 1, 1:SIDE + 1] = blended.astype(np.uint8)

    def _warp(self, params: AugmentParams, buf: _Buffers, out: np.ndarray) -> None:
        """Bilinear resampling of buf.padded through each image's inverse affine map, into out."""
        self._source_coordinates(params, buf, out.shape[0])
        self._pack_neighbourhoods(buf)
        self._sample_bilinear(buf, out)

    def _source_coordinates(self, params: AugmentParams, buf: _Buffers, n: int) -> None:
        """For every output pixel, where it comes from in the padded input: the whole part in
        buf.x0/y0, the fraction in buf.xs/ys."""
        a = np.asarray(params.angle, dtype=np.float64)
        s = np.asarray(params.scale, dtype=np.float64)
        k = np.tan(np.asarray(params.shear, dtype=np.float64))
        cos, sin = np.cos(a), np.sin(a)
        # Forward map in (x right, y down) coordinates about the centre: M = s * R(angle) @ Shear,
        # R = [[cos, sin], [-sin, cos]] (counter-clockwise on screen), Shear = [[1, -k], [0, 1]]
        # (x moves right by k per pixel *up*: italics). Sampling needs the inverse:
        # input position = M^-1 (output position - centre - shift).
        m00, m01 = s * cos, s * (sin - cos * k)
        m10, m11 = -s * sin, s * (cos + sin * k)
        det = m00 * m11 - m01 * m10
        i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
        tx = np.asarray(params.shift_x, dtype=np.float64)
        ty = np.asarray(params.shift_y, dtype=np.float64)
        # +1: coordinates are looked up in the padded copy, whose pixel (1, 1) is the image's (0, 0).
        off_x = ROTATION_CENTRE + 1.0 - (i00 * tx + i01 * ty)
        off_y = ROTATION_CENTRE + 1.0 - (i10 * tx + i11 * ty)
        # x_in = i00*gx + i01*gy + off_x separates into a per-column and a per-row term, so the
        # whole batch's coordinates cost one broadcast addition per axis.
        g = self._g
        xs = buf.xs.reshape(n, SIDE, SIDE)
        ys = buf.ys.reshape(n, SIDE, SIDE)
        np.add((i01[:, None] * g + off_x[:, None]).astype(np.float32)[:, :, None],
               (i00[:, None] * g).astype(np.float32)[:, None, :], out=xs)
        np.add((i11[:, None] * g + off_y[:, None]).astype(np.float32)[:, :, None],
               (i10[:, None] * g).astype(np.float32)[:, None, :], out=ys)
        xs, ys = buf.xs, buf.ys
        # Outside the image everything reads the zero border; clipping keeps the lookups in range.
        np.clip(xs, 0.0, SIDE + 1.0, out=xs)
        np.clip(ys, 0.0, SIDE + 1.0, out=ys)
        np.floor(xs, out=buf.x0)
        np.floor(ys, out=buf.y0)
        xs -= buf.x0  # now the fractional parts
        ys -= buf.y0

    @staticmethod
    def _pack_neighbourhoods(buf: _Buffers) -> None:
        """Pack each 2x2 neighbourhood of buf.padded into the 4 bytes of one uint32 (little end: top-left,
        top-right, bottom-left, bottom-right) in buf.quad, so one gather fetches all four corners."""
        p, pairs, quad = buf.padded, buf.pairs, buf.quad
        np.left_shift(p[:, :, 1:], 8, out=pairs, dtype=np.uint16)
        np.bitwise_or(pairs, p[:, :, :-1], out=pairs)
        np.left_shift(pairs[:, 1:], 16, out=quad, dtype=np.uint32)
        np.bitwise_or(quad, pairs[:, :-1], out=quad)

    @staticmethod
    def _sample_bilinear(buf: _Buffers, out: np.ndarray) -> None:
        """Gather every output pixel's four corners in one ``np.take`` and blend them, into ``out``."""
        n = out.shape[0]
        tmp = buf.tmp
        np.multiply(buf.y0, PAD_SIDE - 1, out=tmp)
        tmp += buf.x0
        tmp += buf.base[:n]
        np.copyto(buf.index, tmp, casting="unsafe")  # exact: all values are whole and < 2**24
        gathered, word = buf.gathered, buf.word
        np.take(buf.quad.reshape(-1), buf.index, out=gathered)
        c = buf.corners
        np.bitwise_and(gathered, 0xFF, out=word)
        np.copyto(c[0], word)
        for k in (1, 2, 3):
            np.right_shift(gathered, 8 * k, out=word)
            np.bitwise_and(word, 0xFF, out=word)
            np.copyto(c[k], word)
        top, tr, bottom, br = c[0], c[1], c[2], c[3]
        xs, ys = buf.xs, buf.ys
        # Bilinear blend: along x on both rows, then along y.
        tr -= top
        tr *= xs
        top += tr
        br -= bottom
        br *= xs
        bottom += br
        bottom -= top
        bottom *= ys
        top += bottom
        top += 0.5
        np.copyto(out, top, casting="unsafe")  # +0.5 then truncation rounds; values stay 0..255
