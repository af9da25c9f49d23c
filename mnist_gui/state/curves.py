"""A run's curves, as recorded while it trains and as stored beside its model (``curves.json``).

What the plots draw, kept so they can be drawn again after a restart, compared with other runs,
and exported:

* per batch: the mean loss of every batch since the previous progress event, at its place on the
  x axis (in epochs: a batch halfway through epoch 3 sits at 2.5) and its global step; the plots
  smooth it when they draw it, the file keeps it raw;
* per epoch: every :class:`~mnist_gui.training.EpochResult` (train/validation loss and accuracy, and the
  accuracy on real pen-drawn digits of writers never trained on);
* the test accuracy at the end of each training (a continued run has one per training).

A continued run starts from its parent's curves, so they go on where they stopped: the session
numbers its epochs after the parent's, and steps are shifted after the parent's last one.

The per-batch series is bounded: progress events come 10 a second, so a long run would grow it
without end; past :data:`MAX_BATCH_POINTS` neighbouring points are merged in pairs (their mean),
which keeps the shape of the curve and a file of a few hundred kilobytes at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mnist_gui.training import BatchProgress, EpochResult, TrainingFinished

MAX_BATCH_POINTS = 8000
_EPOCH_KEYS = ("epoch", "epochs", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "elapsed",
               "test_accuracy", "pen_accuracy")


class CurvesError(ValueError):
    """A curves file that does not hold what it should (the caller reports it and shows no curves)."""


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CurvesError(f"{what} is not a finite number: {value!r}")
    return float(value)


def _optional(value, what: str) -> float | None:
    return None if value is None else _number(value, what)


@dataclass
class RunCurves:
    batch_x: list[float] = field(default_factory=list)
    batch_step: list[int] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    total_steps: int = 0                 # the steps of the whole run (for the plots' smoothing)
    epochs: list[dict] = field(default_factory=list)   # EpochResult.to_dict() of every epoch, in order
    tests: list[tuple[float, float]] = field(default_factory=list)   # (x in epochs, test accuracy)
    _step_offset: int = 0                # steps of the parent's trainings (a continued run)
    _last_x: float = 0.0

    # -- recording ------------------------------------------------------------------------------
    def continued(self) -> "RunCurves":
        """A copy to record a continuation into: new points go after these."""
        copy = RunCurves.from_json(self.to_json())
        copy._step_offset = self.batch_step[-1] if self.batch_step else 0
        copy._last_x = self.last_x
        copy.total_steps = copy._step_offset
        return copy

    @property
    def last_x(self) -> float:
        xs = [self._last_x] + self.batch_x[-1:] + [float(e["epoch"]) for e in self.epochs[-1:]]
        return max(xs)

    @property
    def epochs_done(self) -> int:
        return int(self.epochs[-1]["epoch"]) if self.epochs else 0

    def add(self, event) -> None:
        """Record one training event (others are ignored)."""
        if isinstance(event, BatchProgress):
            loss = event.loss if event.mean_loss is None else event.mean_loss
            self._last_x = event.epoch - 1 + event.batch / event.batches
            self.total_steps = self._step_offset + event.total_steps
            if math.isfinite(loss) and loss > 0:
                self.batch_x.append(self._last_x)
                self.batch_step.append(self._step_offset + event.step)
                self.batch_loss.append(float(loss))
                if len(self.batch_x) > MAX_BATCH_POINTS:
                    self._halve()
        elif isinstance(event, EpochResult):
            self._last_x = float(event.epoch)
            entry = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                     for k, v in event.to_dict().items() if k in _EPOCH_KEYS}
            try:
                self.epochs.append(self._epoch_entry(entry))
            except CurvesError:
                pass   # an epoch without a finite training loss has no point to draw
        elif isinstance(event, TrainingFinished) and math.isfinite(event.test_accuracy):
            self.tests.append((self.last_x, float(event.test_accuracy)))

    def _halve(self) -> None:
        """Merge neighbouring batch points in pairs (a lone last point stays as it is)."""
        n = len(self.batch_x) // 2 * 2
        x, s, y = self.batch_x, self.batch_step, self.batch_loss
        self.batch_x = x[1:n:2] + x[n:]
        self.batch_step = s[1:n:2] + s[n:]
        self.batch_loss = [(a + b) / 2 for a, b in zip(y[0:n:2], y[1:n:2])] + y[n:]

    # -- from a model file's history ------------------------------------------------------------
    @classmethod
    def from_history(cls, history, test_accuracy: float | None) -> "RunCurves":
        """Per-epoch curves from a model file's ``history`` metadata (what imported models have);
        entries that are not usable are skipped, never trusted."""
        curves = cls()
        for entry in history if isinstance(history, list) else []:
            try:
                curves.epochs.append(cls._epoch_entry(entry))
            except CurvesError:
                continue
        if test_accuracy is not None and math.isfinite(test_accuracy):
            curves.tests.append((float(curves.epochs_done), float(test_accuracy)))
        return curves

    # -- the file -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"format": 1, "batch": {"x": self.batch_x, "step": self.batch_step, "loss": self.batch_loss},
                "total_steps": self.total_steps, "epochs": self.epochs,
                "tests": [{"x": x, "accuracy": a} for x, a in self.tests]}

    @classmethod
    def from_json(cls, data) -> "RunCurves":
        """Curves from a parsed ``curves.json``; :class:`CurvesError` if anything is off."""
        try:
            if not isinstance(data, dict) or data.get("format") != 1:
                raise CurvesError("not a curves file of format 1")
            batch = data["batch"]
            x, step, loss = batch["x"], batch["step"], batch["loss"]
            if not (isinstance(x, list) and isinstance(step, list) and isinstance(loss, list)
                    and len(x) == len(step) == len(loss)):
                raise CurvesError("per-batch series of different lengths")
            curves = cls(batch_x=[_number(v, "a batch position") for v in x],
                         batch_step=[int(_number(v, "a step")) for v in step],
                         batch_loss=[_number(v, "a batch loss") for v in loss],
                         total_steps=int(_number(data.get("total_steps", 0), "total_steps")),
                         epochs=[cls._epoch_entry(e) for e in data["epochs"]],
                         tests=[(_number(t["x"], "a test position"), _number(t["accuracy"], "a test accuracy"))
                                for t in data["tests"]])
        except (KeyError, TypeError, AttributeError) as exc:
            raise CurvesError(f"missing or malformed entry ({type(exc).__name__}: {exc})") from None
        return curves

    @staticmethod
    def _epoch_entry(entry) -> dict:
        if not isinstance(entry, dict):
            raise CurvesError("an epoch entry is not an object")
        out = {"epoch": int(_number(entry["epoch"], "an epoch number")),
               "train_loss": _number(entry["train_loss"], "a train loss"),
               "train_accuracy": _number(entry["train_accuracy"], "a train accuracy")}
        for key in ("epochs", "val_loss", "val_accuracy", "seconds", "elapsed", "test_accuracy", "pen_accuracy"):
            out[key] = _optional(entry.get(key), key)
        return out
