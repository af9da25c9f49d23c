"""What defines a training run, and the one place its limits are written down.

:class:`TrainingConfig` is a frozen dataclass: the CLI builds one from a preset and its options, the
training panel from its fields, a model file records one. :data:`BOUNDS` says, for every numeric
setting, which values are allowed and how to talk about a bad one; :meth:`TrainingConfig.validate`
and the panel's field checks both read it, so the command line and the window accept exactly the
same runs. Every refusal is a :class:`~mnist_gui.errors.ConfigError` that names the setting it is
about (``error.field``), so a form can put the message beside the right field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.errors import ConfigError
from mnist_gui.nn import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, SCHEDULES

NORMALIZATIONS = ("unit", "standard")
# Refuse networks whose training state would not fit comfortably: params, grads, optimizer state
# (up to 2 vectors) and scratch = 5 float32 copies of the parameters, plus activations.
MAX_TRAINING_BYTES = 8 * 1024**3
MAX_HIDDEN_LAYERS = 16


@dataclass(frozen=True)
class Bound:
    """The allowed range of one numeric setting, and the words for it in a message."""

    label: str                      # "the learning rate": how a message names the setting
    kind: type                      # int or float
    low: float
    high: float | None = None
    low_open: bool = False          # low itself is not allowed
    high_open: bool = False
    hint: str = ""                  # what the setting does, for a tooltip

    def problem(self, value) -> str | None:
        """Why ``value`` is not allowed, or None. Integers are compared exactly (no float overflow)."""
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            return f"{self.label} must be a whole number, got {value!r}"
        if self.kind is float and not (isinstance(value, (int, np.integer)) or (
                isinstance(value, (float, np.floating)) and math.isfinite(value))):
            return f"{self.label} must be a finite number, got {value!r}"
        if value < self.low or (self.low_open and value == self.low):
            return f"{self.label} must be {'>' if self.low_open else '>='} {self.low:g}, got {_show(value)}"
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return f"{self.label} must be {'<' if self.high_open else '<='} {self.high:g}, got {_show(value)}"
        return None

    def parse(self, text: str, field: str):
        """A value from text typed by a person; ConfigError (about ``field``) if it is not allowed."""
        try:
            value = self.kind(text.strip())
        except ValueError:
            raise ConfigError(f"{self.label} must be {'a whole number' if self.kind is int else 'a number'}, "
                              f"got {text.strip()!r}", field) from None
        problem = self.problem(value)
        if problem:
            raise ConfigError(problem, field)
        return value


#: Every numeric setting's limits, and what it does in a sentence a learner can act on (the panel's
#: tooltips and the CLI's help use these words too). The upper ends are where a run stops making sense:
#: a learning rate above 10 diverges with every optimizer we have, a seed is 32 bits, a longer run than
#: 100,000 epochs would not finish on a laptop's CPU in a lifetime.
BOUNDS: dict[str, Bound] = {
    "lr": Bound("the learning rate", float, 0.0, 10.0, low_open=True,
                hint="How big a step each batch takes downhill. Too small: slow learning; too large: the loss "
                     "jumps about or explodes. Typical: 0.001-0.003 for Adam and RMSProp, 0.01-0.1 for SGD."),
    "batch_size": Bound("the batch size", int, 0, 1_000_000,
                        hint="Images per step. Small batches (32-128) take many noisy steps and learn fast on a "
                             "CPU; 0 means the whole training set at once (full-batch gradient descent)."),
    "epochs": Bound("epochs", int, 1, 100_000,
                    hint="Passes over the training images. More passes learn more until the validation curve "
                         "stops improving (then they only memorize). Typical: 5-30."),
    "l2": Bound("L2 weight decay", float, 0.0,
                hint="Pulls every weight a little towards zero at each step, so no weight grows huge: "
                     "a guard against memorizing. 0 = off; typical 1e-5-1e-3."),
    "dropout": Bound("dropout", float, 0.0, 1.0, high_open=True,
                     hint="While training, switch off this fraction of hidden units at random in every step, "
                          "so the network cannot lean on any single unit. 0 = off; typical 0.1-0.5 for big layers."),
    "momentum": Bound("momentum", float, 0.0, 1.0, high_open=True,
                      hint="How much of the previous step carries into the next (momentum and Nesterov only), "
                           "in [0, 1); typical 0.9."),
    "val_size": Bound("the validation size", int, 0,
                      hint="Images held out of training to measure progress honestly (the validation curves)."),
    "limit": Bound("the number of training images (limit)", int, 1,
                   hint="Train on only the first N training images (blank = all): faster, and a way to see "
                        "how much more data helps."),
    "pen_digits": Bound("the share of pen-drawn digits", float, 0.0, 0.5,
                        hint="The share of every batch taken by real pen-drawn digits (24 writers, each digit "
                             "also re-drawn in 4 pen styles) instead of MNIST images: a network that has seen "
                             "people's pen strokes reads drawings far better. 0 = off; 0.25 in the presets."),
    "scribbles": Bound("the share of scribbles", float, 0.0, 0.5,
                       hint="The share of every batch taken by non-digit scribbles, trained toward 'no digit "
                            "in particular': the model then learns to say when a drawing is not a digit. "
                            "0 = off; 0.05 in the presets."),
    "seed": Bound("the seed", int, 0, 2**32 - 1,
                  hint="Starts the random numbers (initial weights, shuffling, dropout, augmentation): "
                       "the same seed and settings give the same run, to the last digit."),
}


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run. ``batch_size=0`` means full-batch gradient descent."""

    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 5
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    schedule: str = "constant"
    momentum: float = 0.9
    init: str = "auto"
    normalization: str = "unit"      # "unit": x/255 ; "standard": (x/255 - 0.1307) / 0.3081
    val_size: int = 5000
    limit: int | None = None         # use only the first N training images (after the split)
    augment: bool = False
    pen_digits: float = 0.0          # share of each batch: real pen-drawn digits (training writers)
    scribbles: float = 0.0           # share of each batch: non-digit scribbles (uniform target)
    preset: str | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        return (PIXELS, *self.hidden, CLASSES)

    @property
    def n_params(self) -> int:
        s = [int(v) for v in self.sizes]   # Python ints: NumPy integers would wrap around silently
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))

    def estimated_bytes(self, n_train: int | None = None) -> int:
        """What training needs in memory: five float32 copies of the parameters (weights, gradients, up
        to two optimizer vectors, scratch) plus six float32 activation buffers per unit for one batch
        (a full batch, or a batch larger than the set, is the whole training set: 60,000 if unknown)."""
        return self._parameter_bytes() + self._activation_bytes(n_train)

    def _parameter_bytes(self) -> int:
        return self.n_params * 4 * 5

    def _activation_bytes(self, n_train: int | None) -> int:
        whole = 60000 if n_train is None else max(1, int(n_train) - int(self.val_size))
        batch = min(int(self.batch_size) or whole, whole)
        return batch * sum(int(v) for v in self.sizes) * 4 * 6

    def validate(self, n_train: int | None = None) -> None:
        """Raise :class:`ConfigError` for the first invalid setting, before any work starts."""
        check_hidden(self.hidden)
        for field, names in (("activation", ACTIVATIONS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                             ("init", ("auto", *INITIALIZERS)), ("normalization", NORMALIZATIONS)):
            value = getattr(self, field)
            if value not in names:
                raise ConfigError(f"unknown {field} {value!r}; choose from {', '.join(names)}", field)
        for field, bound in BOUNDS.items():
            value = getattr(self, field)
            if value is not None or field != "limit":
                problem = bound.problem(value)
                if problem:
                    raise ConfigError(problem, field)
        if (self.pen_digits or self.scribbles) and self.batch_size == 0:
            raise ConfigError("pen-drawn digits and scribbles mix into mini-batches: choose a batch size "
                              "(e.g. 128) instead of full-batch descent, or turn them off", "batch_size")
        if self.pen_digits + self.scribbles > 0.5:
            raise ConfigError("pen-drawn digits and scribbles together may take at most half of each batch",
                              "pen_digits")
        if n_train is not None and self.val_size >= n_train:
            raise ConfigError(f"validation size {self.val_size} leaves no training images "
                              f"(dataset has {n_train})", "val_size")
        if n_train is not None and self.limit is not None and self.limit > n_train - self.val_size:
            raise ConfigError(f"the number of training images (limit) is {_show(self.limit)}, but the dataset has "
                              f"only {n_train - self.val_size:,} after the validation split", "limit")
        need = self.estimated_bytes(n_train)
        if need > MAX_TRAINING_BYTES:
            limit = f"limit {MAX_TRAINING_BYTES / 1024**3:.0f} GiB"
            if self._activation_bytes(n_train) > self._parameter_bytes():   # the batch is what is too big
                batch = "full-batch training" if self.batch_size == 0 else \
                    f"a batch of {_show(self.batch_size)} images"
                raise ConfigError(f"batch size too large: {batch} would need about {_approx(need, 1024**3)} GiB "
                                  f"to train ({limit}); use a smaller batch", "batch_size")
            raise ConfigError(
                f"network too large: {_approx(self.n_params)} parameters would need about "
                f"{_approx(need, 1024**3)} GiB to train ({limit}); use smaller hidden layers", "hidden")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if "hidden" in kwargs:
            kwargs["hidden"] = tuple(int(h) for h in kwargs["hidden"])
        return cls(**kwargs)


def check_hidden(hidden) -> None:
    """The hidden-layer rules, for a parsed tuple and for text alike: 1 to 16 layers of at least 1 unit."""
    if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
        raise ConfigError(f"hidden layers must be positive integers (every layer needs at least 1 unit), "
                          f"got {hidden!r}", "hidden")
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}", "hidden")


def parse_hidden(text: str) -> tuple[int, ...]:
    """Hidden layer sizes from text, for the CLI and the training panel alike: "256,128" (spaces
    around commas are fine) or "256 128". An empty part ("10,,2", "5,") is an error, not skipped."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) == 1:
        parts = parts[0].split()
    try:
        if not parts or any(not p for p in parts):
            raise ValueError
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden layers are whole numbers separated by commas, e.g. 256,128 (got {text!r})",
                          "hidden") from None
    check_hidden(sizes)
    return sizes


def _show(value) -> str:
    """A number for a message, however large (a float conversion of a 400-digit int would overflow)."""
    if isinstance(value, (int, np.integer)):
        return _approx(int(value)) if value >= 0 else "-" + _approx(-int(value))
    return f"{value:g}"


def _approx(n: int, unit: int = 1) -> str:
    """``n / unit`` for a message: "1,234" / "12.5" when readable, "3.1e+400" for absurd sizes
    (exact integer arithmetic: a float division would overflow beyond 1e308)."""
    if n // unit < 10**12:
        return f"{n / unit:,.1f}" if unit > 1 else f"{n:,}"
    digits = len(str(n // unit)) - 1
    return f"{n // unit // 10 ** (digits - 1) / 10:.1f}e+{digits}"
