"""The user's own labelled drawings as training inputs: each one as the network saw it, plus re-drawings.

A person corrects a handful of digits (30 is a typical set), far too few to learn from as they are.
Each drawing kept by :mod:`mnist_gui.state.my_digits` has its strokes, so it can be re-drawn the way
the shipped pen digits are (:func:`~mnist_gui.imaging.pen_sets.stroke_variant`: rotation, slant,
aspect, size, a smooth wobble, jitter, another pen and another canvas size), rendered by the canvas's
own rasterizer and preprocessed like a drawing. A drawing whose strokes give nothing usable (no ink
after re-drawing) keeps its 28x28 image in every slot instead; the batch's affine augmenter
(:class:`~mnist_gui.imaging.augment.Augmenter`) then varies it like any MNIST image.

This module takes any objects with ``strokes`` (canvas :class:`~mnist_gui.imaging.strokes.Stroke`
objects, unit coordinates, y down), ``label`` and ``image`` (784 uint8), so it needs nothing from the
layers above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mnist_gui.data.pendigits import TABLET_SIZE, PenDigit
from mnist_gui.digits import PIXELS
from mnist_gui.imaging.pen_sets import stroke_variant
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.imaging.replay import DEFAULT_SIDE
from mnist_gui.imaging.strokes import render


@dataclass(frozen=True)
class DigitPool:
    """``images`` (1 + V, N, 784) uint8: rendering 0 is each drawing's own network input, 1..V its
    re-drawings; ``labels`` (N,) intp; ``fallbacks``: how many drawings had no usable strokes."""

    images: np.ndarray
    labels: np.ndarray
    fallbacks: int

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray) -> "DigitPool":
        return DigitPool(self.images[:, index], self.labels[index], self.fallbacks)


def as_pen_digit(strokes, label: int) -> PenDigit | None:
    """Canvas strokes (unit coordinates, y down) as a pen digit in tablet units (y up), or None if
    there are no points."""
    parts = tuple(np.column_stack([s.points[:, 0] * TABLET_SIZE, (1.0 - s.points[:, 1]) * TABLET_SIZE])
                  for s in strokes if len(s.points))
    return PenDigit(int(label), 0, 0, parts) if parts else None


def redrawn(digit: PenDigit, rng: np.random.Generator) -> np.ndarray | None:
    """One stroke-style re-drawing of ``digit`` as a network input (784 uint8), or None if no ink."""
    strokes, pen, side = stroke_variant(digit, rng)
    x = preprocess_drawing(render(strokes, side), pen_width=pen / DEFAULT_SIDE * side)
    return None if x is None else x.reshape(PIXELS)


def digit_pool(digits: Sequence, variants: int, seed: int = 0) -> DigitPool:
    """Every drawing of ``digits`` with ``variants`` seeded re-drawings each (see the module docstring)."""
    n = len(digits)
    images = np.zeros((1 + variants, n, PIXELS), np.uint8)
    labels = np.zeros(n, np.intp)
    fallbacks = 0
    for i, d in enumerate(digits):
        image = np.asarray(d.image, np.uint8).reshape(PIXELS)
        images[:, i] = image
        labels[i] = int(d.label)
        try:
            pen = as_pen_digit(d.strokes, d.label)
        except (ValueError, AttributeError, TypeError):
            pen = None
        if pen is None or not np.isfinite(np.concatenate(pen.strokes)).all():
            fallbacks += 1
            continue
        rng = np.random.default_rng([seed, i])
        made = [redrawn(pen, rng) for _ in range(variants)]
        if any(x is None for x in made):
            fallbacks += 1
            continue
        for k, x in enumerate(made, start=1):
            images[k, i] = x
    return DigitPool(images, labels, fallbacks)
