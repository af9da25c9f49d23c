"""How the current model reads the user's own digits: predictions made a slice at a time, and the score.

The My digits view shows every saved drawing with the current model's prediction, and the model's
accuracy on the whole set. Predicting thousands of drawings in one go would hold the window for a
noticeable time with a large network (and while a run trains, a BLAS product from the window's
thread waits for the training thread's); so :class:`SetReading` predicts a slice per call of
:meth:`SetReading.step`, which the window calls from a timer until there is nothing left.
Predictions are kept by drawing id: a relabel costs nothing, a new drawing costs one row, and only a
new model starts over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import CLASSES
from mnist_gui.model import Model


@dataclass(frozen=True)
class SetScore:
    """The set as the model reads it: how many drawings, how many predicted so far, how many right,
    and per digit (by label) how many drawings and how many of them misread."""

    total: int
    read: int
    right: int
    per_digit: tuple[int, ...]
    wrong_per_digit: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return self.read == self.total

    @property
    def accuracy(self) -> float | None:
        """The share read right, once every drawing has been predicted (None before, or for no drawings)."""
        return self.right / self.total if self.total and self.complete else None


class SetReading:
    """The current model's predictions for the records of a set, by record id."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self._predicted: dict[str, int] = {}
        self._pending: list = []   # records still to predict, in order

    def set_model(self, model: Model | None, records) -> None:
        """Read ``records`` with ``model`` (None: no model, no predictions) from scratch."""
        self.model, self._predicted = model, {}
        self._pending = list(records) if model is not None else []

    def add(self, records) -> None:
        """Records new to the set (or back in it): queue those not predicted yet."""
        if self.model is not None:
            self._pending += [r for r in records if r.id not in self._predicted]

    def pending(self) -> int:
        return len(self._pending)

    def step(self, rows: int, blas: bool = True) -> bool:
        """Predict up to ``rows`` queued records (``blas=False``: in this thread only, for when a run
        trains); returns True when nothing is left."""
        batch, self._pending = self._pending[:rows], self._pending[rows:]
        batch = [r for r in batch if r.id not in self._predicted]
        if batch and self.model is not None:
            images = np.stack([r.image for r in batch])
            # infer() is stateless (no layer buffers): safe whatever else uses this model.
            logits = self.model.network.infer(self.model.encode(images), blas)
            for record, digit in zip(batch, np.argmax(logits, axis=1)):
                self._predicted[record.id] = int(digit)
        return not self._pending

    def prediction(self, ident: str) -> int | None:
        return self._predicted.get(ident)

    def score(self, records) -> SetScore:
        per_digit, wrong = [0] * CLASSES, [0] * CLASSES
        read = right = 0
        for r in records:
            per_digit[r.label] += 1
            p = self._predicted.get(r.id)
            if p is None:
                continue
            read += 1
            if p == r.label:
                right += 1
            else:
                wrong[r.label] += 1
        return SetScore(len(records), read, right, tuple(per_digit), tuple(wrong))
