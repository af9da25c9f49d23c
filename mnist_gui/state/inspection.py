"""What the insight views look at: which model, which evaluation, which epoch of the run.

The views (confusion matrix, gallery, first-layer weights, inside the network, map of the digits)
all show one *subject*:

* idle, the loaded model (:class:`~mnist_gui.state.models.ModelSlots`' ``displayed``), with its
  evaluation on the test set;
* while a run trains, the network in training; the confusion matrix and the gallery then follow the
  validation set, epoch by epoch (the run reports what it computed at each epoch's end), and the
  map follows the last finished epoch;
* when the user travels back in time, epoch ``k`` of the run (its weights, its validation results).

:class:`Inspection` answers "what to show" and "what still needs computing"; the window has the
computing done in a worker and hands the results back (:meth:`store_evaluation`, :meth:`store_map`).
It never computes anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.insight.digit_map import DigitMap, Projection
from mnist_gui.insight.evaluation import TEST_SET, VALIDATION_SET, Evaluation
from mnist_gui.model import Model
from mnist_gui.state.epochs import DEFAULT_BUDGET, EpochHistory, RunEpochs
from mnist_gui.state.models import ModelSlots
from mnist_gui.training import Predictions

_EVALUATIONS_KEPT = 2   # test-set evaluations of loaded models (the current one and the one before)
_MAPS_KEPT = 4


@dataclass(frozen=True, eq=False)
class EvaluationRequest:
    """An evaluation the views are waiting for: ``model`` on ``images``/``labels`` (None: the test set)."""

    key: tuple
    model: Model
    name: str
    images: np.ndarray | None = None
    labels: np.ndarray | None = None
    about: str = ""


@dataclass(frozen=True, eq=False)
class MapRequest:
    """A map of the digits the views are waiting for: ``model`` on the test set."""

    key: tuple
    model: Model
    reference: Projection | None


class Inspection:
    """The subject of the insight views, the run's epochs, and the results computed for them."""

    def __init__(self, slots: ModelSlots, history_budget: int = DEFAULT_BUDGET) -> None:
        self.slots = slots
        self.history_budget = history_budget
        self.history: EpochHistory | None = None
        self.epoch: int | None = None        # the epoch travelled to; None: now
        self._run_model: Model | None = None  # the model the run ended with
        self._validation: tuple[np.ndarray, np.ndarray] | None = None
        self._evaluations: list[tuple[Model, Evaluation]] = []
        self._maps: dict[tuple, DigitMap] = {}
        self._last_projection: Projection | None = None
        self._first_epoch = 0                 # where the run started (a continued run: its earlier epochs)

    # -- the run ----------------------------------------------------------------------------------
    def start_run(self, initial: Model, planned_epochs: int, validation_images: np.ndarray | None = None,
                  validation_labels: np.ndarray | None = None, epochs_before: int = 0) -> None:
        """A run began with the network ``initial`` (copied: the caller may go on changing its weights);
        ``epochs_before``: the epochs it had been trained for already (a continued run), so the run's
        epochs are ``epochs_before + 1`` to ``planned_epochs`` and its starting point is ``epochs_before``."""
        template = initial.copy()
        history = RunEpochs(template, planned_epochs, self.history_budget)
        self._first_epoch = int(epochs_before)
        history.add(self._first_epoch, template.network.get_weights())
        self._forget_run()
        self.history = history
        has_validation = validation_images is not None and len(validation_images) > 0
        self._validation = (validation_images, validation_labels) if has_validation else None

    def add_epoch(self, epoch: int, weights: tuple, validation: Predictions | None) -> None:
        """The run finished ``epoch`` with ``weights``, and said ``validation`` about its validation set."""
        if not isinstance(self.history, RunEpochs):
            return
        evaluation = None
        if validation is not None and self._validation is not None:
            images, labels = self._validation
            evaluation = Evaluation(images, labels, validation, VALIDATION_SET, self._epoch_caption(epoch))
        self.history.add(epoch, weights, evaluation)
        if self.epoch not in self.history.epochs():
            self.epoch = None   # the epoch travelled to was thinned out: back to now

    def end_run(self, model: Model | None, test: Predictions | None = None, test_images: np.ndarray | None = None,
                test_labels: np.ndarray | None = None, about: str = "") -> None:
        """The run ended with ``model``; ``test`` is what it said about the test set (if it got that far)."""
        self._run_model = model
        if model is not None and test is not None and test_images is not None and len(test) == len(test_images):
            self._remember(model, Evaluation(test_images, test_labels, test, TEST_SET, about))

    def model_loaded(self, model: Model | None) -> None:
        """Another model became the loaded one: a finished run's epochs no longer belong to it."""
        if not self.slots.training and model is not self._run_model:
            self._forget_run()

    def dataset_changed(self) -> None:
        """Another dataset: test-set evaluations and maps of loaded models no longer apply."""
        self._evaluations = []
        self._maps = {key: m for key, m in self._maps.items() if key[0] != "model"}

    def _forget_run(self) -> None:
        self.history, self.epoch, self._run_model, self._validation = None, None, None, None
        self._maps = {key: m for key, m in self._maps.items() if key[0] != "epoch"}

    def following_run(self) -> bool:
        """A run is training and the bars follow it (the user has not chosen another model meanwhile)."""
        return self.slots.training and self.slots.following_live

    # -- time travel ------------------------------------------------------------------------------
    def epochs(self) -> list[int]:
        return self.history.epochs() if self.history is not None else []

    def select_epoch(self, epoch: int | None) -> None:
        """Look at epoch ``epoch`` of the run (None: now). An epoch the history does not hold means now."""
        self.epoch = epoch if epoch is not None and epoch in self.epochs() else None

    # -- the subject ------------------------------------------------------------------------------
    def model(self) -> Model | None:
        """The model every view reads: the epoch travelled to, else the displayed one."""
        if self.epoch is not None and self.history is not None:
            return self.history.model_at(self.epoch)
        return self.slots.displayed

    def caption(self) -> str:
        """Which model the views show, in a few words."""
        if self.epoch is not None:
            return self._epoch_caption(self.epoch)
        if self.following_run():
            done = self._last_epoch()
            return "the network in training" + (f" (epoch {done} of {self.history.planned} done)" if done else "")
        if self.slots.loaded is None:
            return "no model"
        return self.slots.source or "the loaded model"

    def _epoch_caption(self, epoch: int) -> str:
        planned = self.history.planned if self.history is not None else epoch
        if epoch == self._first_epoch:
            return "before training (epoch 0)" if epoch == 0 else f"epoch {epoch}, where this run continued from"
        return f"epoch {epoch} of {planned}"

    def _last_epoch(self) -> int | None:
        return max(self.epochs()) if self.history is not None and self.epochs() else None

    def _map_subject(self) -> tuple[tuple, Model] | None:
        """(key, model) whose map the map view shows: the epoch travelled to, the last finished epoch
        while training (the live weights change five times a second), else the loaded model."""
        epoch = self.epoch if self.epoch is not None else (self._last_epoch() if self.following_run() else None)
        if epoch is not None and self.history is not None:
            return ("epoch", self.history, epoch), self.history.model_at(epoch)
        model = self.slots.loaded
        return (("model", model), model) if model is not None else None

    # -- evaluations --------------------------------------------------------------------------------
    def evaluation(self) -> Evaluation | None:
        """What the confusion matrix and the gallery show (None: nothing yet, or no model)."""
        epoch = self._evaluated_epoch()
        if epoch is not None:
            return self.history.evaluation(epoch)
        model = self.slots.loaded
        return next((e for m, e in self._evaluations if m is model), None) if model is not None else None

    def _evaluated_epoch(self) -> int | None:
        """The epoch whose evaluation is shown: the one travelled to, or the last one while training."""
        if self.history is None:
            return None
        if self.epoch is not None:
            return self.epoch
        return self._last_epoch() if self.following_run() else None

    def evaluation_request(self) -> EvaluationRequest | None:
        """What must be computed for :meth:`evaluation` to answer, or None (known, or nothing to do)."""
        if self.evaluation() is not None:
            return None
        epoch = self._evaluated_epoch()
        if epoch is not None:
            # An epoch without one (epoch 0, or a run without a validation set): computed afterwards.
            images, labels = self._validation if self._validation is not None else (None, None)
            name = VALIDATION_SET if images is not None else TEST_SET
            return EvaluationRequest(("epoch", self.history, epoch), self.history.model_at(epoch), name, images,
                                     labels, self._epoch_caption(epoch))
        model = self.slots.loaded
        if model is None:
            return None
        return EvaluationRequest(("model", model), model, TEST_SET, about=self.caption())

    def store_evaluation(self, key: tuple, evaluation: Evaluation) -> None:
        """An evaluation asked for with :meth:`evaluation_request` arrived (ignored if it is for nothing
        known any more: a run replaced, a model dropped)."""
        kind, subject = key[0], key[1]
        if kind == "epoch" and subject is self.history and isinstance(subject, RunEpochs):
            subject.set_evaluation(key[2], evaluation)
        elif kind == "model" and subject is self.slots.loaded:
            self._remember(subject, evaluation)

    def _remember(self, model: Model, evaluation: Evaluation) -> None:
        self._evaluations = [(model, evaluation)] + [(m, e) for m, e in self._evaluations if m is not model]
        del self._evaluations[_EVALUATIONS_KEPT:]

    # -- the map of the digits --------------------------------------------------------------------
    def digit_map(self) -> DigitMap | None:
        subject = self._map_subject()
        return self._maps.get(subject[0]) if subject is not None else None

    def map_request(self) -> MapRequest | None:
        subject = self._map_subject()
        if subject is None or subject[0] in self._maps:
            return None
        return MapRequest(subject[0], subject[1], self._last_projection)

    def store_map(self, key: tuple, digit_map: DigitMap) -> None:
        """A map asked for with :meth:`map_request` arrived. Keys hold their model or run (compared by
        identity), so only a few are kept, and a forgotten run's are dropped."""
        if key[0] == "epoch" and key[1] is not self.history:
            return
        self._maps[key] = digit_map
        self._last_projection = digit_map.projection
        while len(self._maps) > _MAPS_KEPT:
            del self._maps[next(iter(self._maps))]
