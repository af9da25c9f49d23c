"""A model's answers on a labelled set of images, and what they add up to: confusion counts and
per-class accuracy.

:class:`Evaluation` is what the confusion matrix and the gallery show: the images, their labels, and
the :class:`~mnist_gui.training.Predictions` one pass of
:func:`~mnist_gui.training.evaluate_with_predictions` made (the same pass ``mnist-gui evaluate``
makes, so the window and the command line agree image for image). Its arrays are read-only, so an
evaluation computed in a worker thread can be handed to the GUI as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import CLASSES, SIDE
from mnist_gui.model import Model
from mnist_gui.training import Predictions, evaluate_with_predictions
from mnist_gui.training.events import read_only

TEST_SET = "test set"
VALIDATION_SET = "validation set"


def confusion_counts(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) int64: row = true digit, column = predicted digit, value = how many images."""
    labels = np.asarray(labels, dtype=np.intp)
    predicted = np.asarray(predicted, dtype=np.intp)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} differ in shape")
    return np.bincount(labels * CLASSES + predicted, minlength=CLASSES * CLASSES).reshape(CLASSES, CLASSES)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """(10,) float64: the share of each true digit read right (NaN for a digit with no image)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What one model said about each image of one labelled set.

    ``images`` (N, 784) uint8, ``labels`` (N,) uint8 and ``predictions`` are read-only; ``name`` says
    which set (:data:`TEST_SET`, :data:`VALIDATION_SET`) and ``about`` which model, for a caption.
    """

    images: np.ndarray
    labels: np.ndarray
    predictions: Predictions
    name: str = TEST_SET
    about: str = ""

    def __post_init__(self) -> None:
        n = self.images.shape[0]
        if self.labels.shape != (n,) or len(self.predictions) != n:
            raise ValueError(f"{n} images, {self.labels.shape[0]} labels and {len(self.predictions)} predictions")
        for name in ("images", "labels"):
            object.__setattr__(self, name, read_only(getattr(self, name)))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def predicted(self) -> np.ndarray:
        return self.predictions.predicted

    @property
    def confidence(self) -> np.ndarray:
        return self.predictions.confidence

    def confusion(self) -> np.ndarray:
        return confusion_counts(self.labels, self.predicted)

    def accuracy(self) -> float:
        return float(np.count_nonzero(self.labels == self.predicted) / max(1, len(self)))

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` as (28, 28) uint8 (a read-only view)."""
        return self.images[index].reshape(SIDE, SIDE)

    def with_about(self, about: str) -> "Evaluation":
        return Evaluation(self.images, self.labels, self.predictions, self.name, about)


def evaluate_model(model: Model, images: np.ndarray, labels: np.ndarray, name: str = TEST_SET,
                   about: str = "") -> Evaluation:
    """Run ``model`` over a labelled set. Uses the model's buffers: give it a model no other thread
    uses (a worker evaluates a private copy)."""
    _, _, predictions = evaluate_with_predictions(model, images, np.asarray(labels, dtype=np.intp))
    return Evaluation(images, labels, predictions, name, about)
