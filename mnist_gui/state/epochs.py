"""The weights of each epoch of a run, for time travel: what the network looked like after epoch k.

:class:`EpochHistory` is the small interface the window reads (which epochs, their weights, a model
for one of them, its validation results); :class:`RunEpochs` keeps them in memory as the run reports
them. A run stored on disk (a library record) can answer the same questions.

Memory is bounded: 784-1024-1024-10 weighs 7.5 MB an epoch, so a 30-epoch ``best`` run would hold
230 MB. Past :data:`DEFAULT_BUDGET` bytes, an epoch in the middle is dropped, the one whose neighbours
are closest together, so what is kept stays evenly spread and always includes the first and the
last epoch. (The ``fast`` preset's 5 epochs take 6 MB: nothing is dropped.)
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from mnist_gui.insight.evaluation import Evaluation
from mnist_gui.model import Model
from mnist_gui.training.events import read_only

#: Bytes of weights a run's history may hold before epochs are thinned out.
DEFAULT_BUDGET = 128 * 1024 * 1024
_MODELS_KEPT = 2   # models built for past epochs, kept while a user slides back and forth


class EpochHistory(Protocol):
    """The epochs of one run (0 = the initial weights, before any training)."""

    planned: int   # how many epochs the run was set up for

    def epochs(self) -> list[int]: ...

    def weights(self, epoch: int) -> tuple[np.ndarray, ...]: ...

    def model_at(self, epoch: int) -> Model: ...

    def evaluation(self, epoch: int) -> Evaluation | None: ...


class RunEpochs:
    """A run's epochs, in memory, within a byte budget.

    ``template`` fixes the architecture and normalization; it must be a model nobody changes (a
    private copy), since :meth:`model_at` copies it and loads the epoch's weights into the copy.
    """

    def __init__(self, template: Model, planned: int, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.template = template
        self.planned = int(planned)
        self.budget_bytes = int(budget_bytes)
        self._weights: dict[int, tuple[np.ndarray, ...]] = {}
        self._evaluations: dict[int, Evaluation] = {}
        self._models: dict[int, Model] = {}

    def __len__(self) -> int:
        return len(self._weights)

    def epochs(self) -> list[int]:
        return sorted(self._weights)

    def last(self) -> int | None:
        return max(self._weights) if self._weights else None

    @property
    def nbytes(self) -> int:
        return sum(w.nbytes for weights in self._weights.values() for w in weights)

    def add(self, epoch: int, weights: Sequence[np.ndarray], evaluation: Evaluation | None = None) -> None:
        """Keep ``weights`` ([W0, b0, W1, b1, ...], kept as read-only views, not copied) for ``epoch``."""
        self._weights[int(epoch)] = tuple(read_only(w) for w in weights)
        self._models.pop(int(epoch), None)
        if evaluation is not None:
            self._evaluations[int(epoch)] = evaluation
        self._thin()

    def set_evaluation(self, epoch: int, evaluation: Evaluation) -> None:
        if epoch in self._weights:
            self._evaluations[int(epoch)] = evaluation

    def weights(self, epoch: int) -> tuple[np.ndarray, ...]:
        return self._weights[epoch]

    def evaluation(self, epoch: int) -> Evaluation | None:
        return self._evaluations.get(epoch)

    def model_at(self, epoch: int) -> Model:
        """A model with ``epoch``'s weights (built once and kept while it is among the last few asked for)."""
        model = self._models.pop(epoch, None)
        if model is None:
            model = self.template.copy()
            model.network.set_weights(self._weights[epoch])
        self._models[epoch] = model   # most recently used last
        while len(self._models) > _MODELS_KEPT:
            del self._models[next(iter(self._models))]
        return model

    def _thin(self) -> None:
        while self.nbytes > self.budget_bytes and len(self._weights) > 2:
            kept = self.epochs()
            gaps = [kept[i + 1] - kept[i - 1] for i in range(1, len(kept) - 1)]
            drop = kept[1 + int(np.argmin(gaps))]
            for store in (self._weights, self._evaluations, self._models):
                store.pop(drop, None)
