"""Mini-batches ready for the network: shuffled, gathered, augmented and encoded, without allocating.

The data set stays uint8 in memory (47 MB for MNIST instead of 188 MB as float32). For each batch,
:class:`BatchSource` gathers the chosen rows with ``np.take`` into a preallocated uint8 buffer,
optionally distorts them (:class:`~mnist_gui.imaging.augment.Augmenter`) into a second one, and
encodes them to float32 network inputs in a third: three buffers allocated once per run, nothing
per batch. Full-batch gradient descent without augmentation encodes the whole set once instead.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from mnist_gui.digits import PIXELS


class BatchSource:
    """An epoch's worth of ``(x, y)`` batches at a time; ``x`` is a reused float32 buffer (valid until
    the next batch), ``y`` the labels as ``intp``. ``batch_size == 0`` means the whole set at once."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 encode: Callable[..., np.ndarray], augmenter=None) -> None:
        n = images.shape[0]
        self.images, self.labels = images, labels
        self.n = n
        self.size = n if batch_size == 0 else min(batch_size, n)
        self.batches = math.ceil(n / self.size)
        self.augmenter = augmenter
        self.encode = encode
        self.full_batch = self.size == n and augmenter is None
        self._u8 = np.empty((self.size, PIXELS), np.uint8)
        self._x = np.empty((self.size, PIXELS), np.float32)
        self._augmented = np.empty((self.size, PIXELS), np.uint8) if augmenter is not None else None
        if self.full_batch:
            encode(images, out=self._x)

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of one epoch, in a fresh random order (full-batch descent keeps the set's order)."""
        order = np.arange(self.n) if self.full_batch else rng.permutation(self.n)
        for lo in range(0, self.n, self.size):
            idx = order[lo:lo + self.size]
            yield (self._x if self.full_batch else self._gather(idx, rng)), self.labels[idx]

    def _gather(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        m = idx.shape[0]
        src = np.take(self.images, idx, axis=0, out=self._u8[:m])
        if self.augmenter is not None:
            src = self.augmenter.apply(src, rng, out=self._augmented[:m])
        return self.encode(src, out=self._x[:m])


#: The label of an image with no digit in it: trained toward the uniform distribution over the digits.
NOT_A_DIGIT = -1


class MixedBatchSource(BatchSource):
    """Batches in which ``extra`` images replace some of the MNIST ones: real pen-drawn digits (with
    their labels) and non-digit scribbles (label :data:`NOT_A_DIGIT`). Each batch holds ``size``
    images: MNIST first (a running permutation, so every MNIST image still comes round in turn), then
    ``n_pen`` pen digits and ``n_scribbles`` scribbles drawn at random with replacement. An epoch keeps
    its number of steps (the MNIST images over the batch size), so a run costs what it did.

    ``pen_images`` is (V, N, 784): V renderings of each of the N pen digits (one is picked per use).
    The augmenter, when there is one, distorts every image of the batch alike.
    """

    def __init__(self, images, labels, batch_size, encode, augmenter, pen_images, pen_labels, n_pen,
                 scribbles, n_scribbles) -> None:
        super().__init__(images, labels, batch_size, encode, augmenter)
        self.full_batch = False
        self.pen_images, self.pen_labels = pen_images, pen_labels
        self.scribbles = scribbles
        self.n_pen = n_pen if pen_images is not None else 0
        self.n_scribbles = n_scribbles if scribbles is not None else 0
        self.n_mnist = self.size - self.n_pen - self.n_scribbles
        self._y = np.empty(self.size, np.intp)
        self._order = np.zeros(0, np.intp)
        self._at = self.n   # so the first batch draws a fresh permutation

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for _ in range(self.batches):
            yield self._mixed(rng)

    def _mixed(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        k, u8, y = self.n_mnist, self._u8, self._y
        if self._at + k > self.n:
            self._order, self._at = rng.permutation(self.n), 0
        idx = self._order[self._at:self._at + k]
        self._at += k
        np.take(self.images, idx, axis=0, out=u8[:k])
        y[:k] = self.labels[idx]
        if self.n_pen:
            which = rng.integers(0, self.pen_images.shape[1], self.n_pen)
            rendering = rng.integers(0, self.pen_images.shape[0], self.n_pen)
            u8[k:k + self.n_pen] = self.pen_images[rendering, which]
            y[k:k + self.n_pen] = self.pen_labels[which]
        if self.n_scribbles:
            u8[self.size - self.n_scribbles:] = self.scribbles[rng.integers(0, len(self.scribbles), self.n_scribbles)]
            y[self.size - self.n_scribbles:] = NOT_A_DIGIT
        src = u8
        if self.augmenter is not None:
            src = self.augmenter.apply(u8, rng, out=self._augmented)
        return self.encode(src, out=self._x), y
