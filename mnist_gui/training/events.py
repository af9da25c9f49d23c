"""What a training session reports while it runs: small immutable events.

* :class:`BatchProgress` at most every ``progress_interval`` seconds (plus the final step, so a
  progress bar always ends full);
* :class:`EpochResult` after each epoch, with train and validation loss/accuracy;
* :class:`TrainingFinished` once, at the end (completed, stopped, or diverged), with test metrics.

Being frozen dataclasses, they can cross from the training thread to the GUI thread as they are.
:class:`Predictions` (what a model says about each image of a set) holds read-only arrays for the same
reason; the session keeps the latest for the validation and the test set, for whoever looks inside.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union

import numpy as np


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (the caller's array keeps its own flags)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's answer for each image of a set: the digit it reads and how sure it is.

    Both arrays are read-only (they cross threads as they are): ``predicted`` (N,) uint8, the argmax
    of the logits; ``confidence`` (N,) float32, the softmax probability of that digit.
    """

    predicted: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        for name in ("predicted", "confidence"):
            object.__setattr__(self, name, read_only(getattr(self, name)))

    def __len__(self) -> int:
        return int(self.predicted.shape[0])


@dataclass(frozen=True)
class BatchProgress:
    epoch: int                 # 1-based
    epochs: int
    batch: int                 # 1-based within the epoch
    batches: int
    step: int                  # global step, 1-based
    total_steps: int
    loss: float                # this batch's loss
    smoothed_loss: float       # exponential moving average of the batch loss
    lr: float
    samples_per_second: float
    elapsed: float
    eta: float                 # seconds left (estimate)
    # Mean loss of every batch since the previous progress event (this one included): at 10 events
    # a second that is 40-80 batches, so a curve drawn from these points misses no batch.
    mean_loss: float | None = None


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float             # this epoch's training time
    elapsed: float             # since the session started
    test_accuracy: float | None = None  # only when run(test_each_epoch=True)
    pen_accuracy: float | None = None   # on the measuring writers' real pen-drawn digits

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingFinished:
    status: str                # "completed" | "stopped" | "diverged"
    reason: str                # a sentence for the user
    epochs_completed: int
    test_accuracy: float
    test_loss: float
    val_accuracy: float | None
    train_seconds: float
    samples_per_second: float
    history: tuple[EpochResult, ...] = field(default_factory=tuple)
    pen_drawn_accuracy: float | None = None      # on writers never trained on (None: not measured)
    pen_drawn_per_digit: list | None = None

    def metrics(self) -> dict:
        return {
            "pen_drawn_accuracy": self.pen_drawn_accuracy,
            "pen_drawn_per_digit": self.pen_drawn_per_digit,
            "status": self.status,
            "reason": self.reason,
            "epochs": self.epochs_completed,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "val_accuracy": self.val_accuracy,
            "train_seconds": self.train_seconds,
            "samples_per_second": self.samples_per_second,
        }


TrainingEvent = Union[BatchProgress, EpochResult, TrainingFinished]
