"""Training: what defines a run, the loop that performs it, and the presets.

* :mod:`~mnist_gui.training.config` — :class:`TrainingConfig` and the one table of its limits;
* :mod:`~mnist_gui.training.events` — what a running session reports;
* :mod:`~mnist_gui.training.batches` — shuffled, gathered, augmented, encoded mini-batches;
* :mod:`~mnist_gui.training.session` — :class:`TrainingSession`, the loop, and :func:`train`;
* :mod:`~mnist_gui.training.presets` — each write-up's set-up, and our own recipes.
"""

from mnist_gui.training.config import BOUNDS, MAX_TRAINING_BYTES, TrainingConfig, parse_hidden
from mnist_gui.training.events import BatchProgress, EpochResult, Predictions, TrainingEvent, TrainingFinished
from mnist_gui.training.session import (DIVERGENCE_LOSS, PROGRESS_INTERVAL, TrainingControl, TrainingSession, drive,
                                        evaluate, evaluate_with_predictions, split_validation, train)

__all__ = [
    "BOUNDS", "BatchProgress", "DIVERGENCE_LOSS", "EpochResult", "MAX_TRAINING_BYTES", "PROGRESS_INTERVAL",
    "Predictions", "TrainingConfig", "TrainingControl", "TrainingEvent", "TrainingFinished", "TrainingSession",
    "drive", "evaluate", "evaluate_with_predictions", "parse_hidden", "split_validation", "train",
]
