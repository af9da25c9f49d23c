"""Continue training a model: the configuration that fits it, and the epochs it has behind it.

A continued run trains a model's own weights for N more epochs. The architecture (hidden layers,
activation) and the input normalization come from the model; everything else (optimizer, learning
rate and schedule, batch size, augmentation, ...) from the configuration asked for. The optimizer's
state (Adam's moments) is not stored in a model file, so it starts afresh, as does the learning-rate
schedule, over the new epochs.
"""

from __future__ import annotations

import dataclasses
import math

from mnist_gui.errors import ConfigError
from mnist_gui.model import MNIST_MEAN, MNIST_STD, Model
from mnist_gui.training.config import TrainingConfig


def _normalization_name(model: Model) -> str | None:
    norm = model.normalization
    if norm.mean == 0.0 and norm.std == 1.0:
        return "unit"
    if math.isclose(norm.mean, MNIST_MEAN) and math.isclose(norm.std, MNIST_STD):
        return "standard"
    return None


def continue_config(config: TrainingConfig, model: Model, explicit: set[str] = frozenset()) -> TrainingConfig:
    """``config`` with the model's architecture and normalization. ``explicit`` names settings the user
    gave on purpose (``hidden``, ``activation``): one that contradicts the model is a ConfigError."""
    hidden = tuple(model.sizes[1:-1])
    if not hidden:
        raise ConfigError(f"cannot continue training a model without hidden layers ({model.describe()})", "hidden")
    for field, wanted in (("hidden", hidden), ("activation", model.activation)):
        if field in explicit and getattr(config, field) != wanted:
            raise ConfigError(f"the model to continue is {model.describe()}: its {field} cannot change "
                              f"(asked for {getattr(config, field)!r})", field)
    normalization = _normalization_name(model) or config.normalization
    return dataclasses.replace(config, hidden=hidden, activation=model.activation, normalization=normalization,
                               preset=None)


def check_continuable(config: TrainingConfig, model: Model) -> None:
    """ConfigError unless ``config`` describes ``model``'s network."""
    if tuple(config.sizes) != tuple(model.sizes) or config.activation != model.activation:
        raise ConfigError(f"the configuration ({'-'.join(map(str, config.sizes))} {config.activation}) does not "
                          f"describe the model to continue ({model.describe()})", "hidden")


def history_of(model: Model) -> list[dict]:
    """The per-epoch history a model file remembers (entries that are not objects are dropped)."""
    history = model.metadata.get("history")
    return [dict(h) for h in history if isinstance(h, dict)] if isinstance(history, list) else []
