"""Which model is speaking: the current model, the network in training, and the rule for a finished run.

The window shows predictions from one model at a time. Normally that is the *current* model (a run
of the library, the shipped one, or a file the user opened, which the library imports). While a run
trains, the GUI keeps its own copy of the network and loads the newest weights into it as they
arrive ("watch it learn"); from the first such weights on, predictions come from that *live* copy,
until the user chooses a model during the run (then that model speaks, and they can go back to
watching the run). :meth:`ModelSlots.caption` says which of the two the bars come from.

When a run ends it joins the library, and :func:`becomes_current` decides whether it also becomes
the current model.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mnist_gui.model import Model
from mnist_gui.training import TrainingFinished


def becomes_current(status: str, has_current: bool, chosen_during_run: bool) -> bool:
    """The rule for a finished run, for the window and the command line alike:

    * a **completed** run becomes the current model, unless the user chose another model while it
      trained (that choice stands);
    * a **stopped** or **diverged** run never becomes current by itself: it joins the library and
      the user is told and chooses. The one exception: a stopped run when there is no model at all
      (nothing is replaced, and it is better than no model). A diverged run's weights are the last
      healthy ones of a failed run, never a model to predict with unasked.
    """
    if status == "completed":
        return not (chosen_during_run and has_current)
    if status == "stopped":
        return not has_current
    return False


class ModelSlots:
    """The current model (with its library record and name) and the live network of a run in progress."""

    def __init__(self) -> None:
        self.loaded: Model | None = None
        self.record = None                    # the current model's RunRecord (None: not in the library)
        self.source = ""                      # its name, for labels
        self._template: Model | None = None   # the run's network, before any weights arrived
        self.live: Model | None = None        # the run's network with its newest weights
        self.chosen_during_run = False        # the user chose a model while the run trained
        self.following_live = True            # the bars follow the run (until the user chooses a model)
        self._epoch: tuple[int, int] | None = None
        self._val: float | None = None

    @property
    def displayed(self) -> Model | None:
        """The model predictions come from: the live network once it has weights (unless the user
        chose a model during the run), else the current one."""
        if self.live is not None and self.following_live:
            return self.live
        return self.loaded

    @property
    def training(self) -> bool:
        return self._template is not None

    @property
    def current_id(self) -> str | None:
        return None if self.record is None else self.record.id

    def load(self, model: Model | None, source: str, record=None) -> None:
        """Make ``model`` the current one. During a run this is the user's choice: it speaks now, and
        it stays current when the run ends."""
        self.loaded, self.source, self.record = model, source, record
        if self.training:
            self.chosen_during_run = True
            self.following_live = False

    def follow_live(self) -> bool:
        """Let the bars follow the run in training again; False if no run is on."""
        if not self.training:
            return False
        self.following_live = True
        return True

    def start_training(self, initial: Model) -> None:
        """A run began; ``initial`` is the GUI's own copy of its network (the job never touches it)."""
        self._template, self.live = initial, None
        self.chosen_during_run, self.following_live = False, True
        self._epoch, self._val = None, None

    def note_progress(self, epoch: int, epochs: int) -> None:
        self._epoch = (epoch, epochs)

    def note_epoch(self, val_accuracy: float | None) -> None:
        self._val = val_accuracy

    def apply_weights(self, weights: Sequence[np.ndarray]) -> Model | None:
        """Load a run's newest weights into the live copy; returns it (None if no run is on)."""
        if self._template is None:
            return None
        self._template.network.set_weights(weights)
        self.live = self._template
        return self.live

    def finish_training(self, result: TrainingFinished, model: Model, record=None, name: str = "") -> bool:
        """The run ended with ``model`` (in the library as ``record``, unless writing it failed):
        make it current if :func:`becomes_current` says so; returns whether it was."""
        adopt = becomes_current(result.status, self.loaded is not None, self.chosen_during_run)
        self.end_training()
        if adopt:
            self.load(model, name or (record.name if record is not None else f"unsaved run ({result.status})"),
                      record)
        return adopt

    def end_training(self) -> None:
        """No run any more (finished, failed or abandoned): predictions come from the current model."""
        self._template = self.live = None
        self.following_live = True

    def caption(self) -> str:
        """Which model the bars come from, for the chart: 'current: <name>' or
        'in training: epoch 3/5, 97.1% val'."""
        if self.displayed is None:
            return "no model"
        if self.displayed is self.live:
            text = "in training"
            if self._epoch is not None:
                text += f": epoch {self._epoch[0]}/{self._epoch[1]}"
            if self._val is not None:
                text += f", {self._val:.1%} val"
            return text
        return f"current: {self.source}"
