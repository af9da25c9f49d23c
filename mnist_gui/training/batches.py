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
