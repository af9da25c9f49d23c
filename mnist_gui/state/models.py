"""Which model is speaking: the loaded model, the network in training, and the keep rule.

The window shows predictions from one model at a time. Normally that is the *loaded* model (opened
from a file, the shipped one, or the last run kept). While a run trains, the GUI keeps its own copy
of the network and loads the newest weights into it as they arrive ("watch it learn"); from the
first such weights on, predictions come from that *live* copy. When the run ends, :func:`keeps`
decides whether its model replaces the loaded one.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mnist_gui.model import Model
from mnist_gui.training import TrainingFinished


def keeps(result: TrainingFinished, has_model: bool) -> bool:
    """Whether a finished run's model replaces the loaded one: not a diverged one, and not one stopped
    within its first epoch when there is a model to keep instead (it is rarely better than the one it
    would replace). One rule for the window and for the copy the training thread keeps on disk."""
    if result.status == "diverged":
        return False
    return not (result.status == "stopped" and result.epochs_completed == 0 and has_model)


class ModelSlots:
    """The loaded model (with where it came from) and the live network of a run in progress."""

    def __init__(self) -> None:
        self.loaded: Model | None = None
        self.source = ""                      # where the loaded model came from, for a label
        self._template: Model | None = None   # the run's network, before any weights arrived
        self.live: Model | None = None        # the run's network with its newest weights

    @property
    def displayed(self) -> Model | None:
        """The model predictions come from: the live network once it has weights, else the loaded one."""
        return self.live if self.live is not None else self.loaded

    @property
    def training(self) -> bool:
        return self._template is not None

    def load(self, model: Model | None, source: str) -> None:
        """Make ``model`` the loaded one. During a run, predictions keep following the live network."""
        self.loaded, self.source = model, source

    def start_training(self, initial: Model) -> None:
        """A run began; ``initial`` is the GUI's own copy of its network (the job never touches it)."""
        self._template, self.live = initial, None

    def apply_weights(self, weights: Sequence[np.ndarray]) -> Model | None:
        """Load a run's newest weights into the live copy; returns it (None if no run is on)."""
        if self._template is None:
            return None
        self._template.network.set_weights(weights)
        self.live = self._template
        return self.live

    def finish_training(self, result: TrainingFinished, model: Model) -> bool:
        """The run ended with ``model``: adopt it if :func:`keeps` says so; returns whether it was."""
        kept = keeps(result, self.loaded is not None)
        self.end_training()
        if kept:
            self.load(model, f"trained just now ({result.status})")
        return kept

    def end_training(self) -> None:
        """No run any more (finished, failed or abandoned): predictions come from the loaded model."""
        self._template = self.live = None
