"""Training: what defines a run, the loop that performs it, and the presets.

* :mod:`~mnist_gui.training.config` — :class:`TrainingConfig` and the one table of its limits;
* :mod:`~mnist_gui.training.events` — what a running session reports;
* :mod:`~mnist_gui.training.batches` — shuffled, gathered, augmented, encoded mini-batches;
* :mod:`~mnist_gui.training.session` — :class:`TrainingSession`, the loop, and :func:`train`;
* :mod:`~mnist_gui.training.presets` — each write-up's set-up, and our own recipes;
* :mod:`~mnist_gui.training.finetune` — :func:`fine_tune`: a short run that teaches a trained model the
  user's own digits, with MNIST replay and an honest held-out figure.
"""

from mnist_gui.training.config import BOUNDS, MAX_TRAINING_BYTES, TrainingConfig, parse_hidden
from mnist_gui.training.events import BatchProgress, EpochResult, Predictions, TrainingEvent, TrainingFinished
from mnist_gui.training.session import (DIVERGENCE_LOSS, PROGRESS_INTERVAL, TrainingControl, TrainingSession, drive,
                                        evaluate, evaluate_with_predictions, split_validation, train)
from mnist_gui.training.finetune import FineTuneConfig, FineTuneResult, fine_tune

__all__ = [
    "BOUNDS", "BatchProgress", "DIVERGENCE_LOSS", "EpochResult", "FineTuneConfig", "FineTuneResult",
    "MAX_TRAINING_BYTES", "PROGRESS_INTERVAL", "Predictions",
    "TrainingConfig", "TrainingControl", "TrainingEvent", "TrainingFinished", "TrainingSession", "drive",
    "evaluate", "evaluate_with_predictions", "fine_tune", "parse_hidden", "split_validation", "train",
]
