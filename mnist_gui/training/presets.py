"""Named training presets: each write-up's set-up reproduced, plus our own fast and best recipes.

``PRESETS[name].config`` is a :class:`~mnist_gui.training.TrainingConfig`; the CLI and the GUI
start from it and apply any explicit overrides. ``original`` records what the write-up reported,
so the README (and ``mnist-gui train --list-presets``) can set our measured figure beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnist_gui.errors import ConfigError
from mnist_gui.training.config import TrainingConfig


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    original: str
    config: TrainingConfig


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "keras-book",
        "784-512 ReLU-10 softmax, RMSProp (lr 0.001), batch 128, 5 epochs, Glorot init, inputs /255",
        'the Keras book\'s first example; the original reported "over 90%" test accuracy',
        TrainingConfig(hidden=(512,), activation="relu", optimizer="rmsprop", lr=1e-3, batch_size=128,
                       epochs=5, init="xavier", normalization="unit", preset="keras-book"),
    ),
    Preset(
        "tiny-gd",
        "784-10 ReLU-10 softmax, full-batch gradient descent, lr 0.1, 500 iterations, 1,000-image dev split",
        "the from-scratch video's network; the original reported 86.4% dev accuracy (CSV form of MNIST)",
        TrainingConfig(hidden=(10,), activation="relu", optimizer="sgd", lr=0.1, batch_size=0, epochs=500,
                       val_size=1000, init="he", normalization="unit", preset="tiny-gd"),
    ),
    Preset(
        "scratch-256-64",
        "784-256-64-10 ReLU, He init, plain mini-batch SGD (lr 0.05, batch 64), 10 epochs, "
        "inputs normalized with mean 0.1307 / std 0.3081",
        "the NumPy-from-scratch post with per-epoch loss/accuracy plots; it reported curves only",
        TrainingConfig(hidden=(256, 64), activation="relu", optimizer="sgd", lr=0.05, batch_size=64,
                       epochs=10, init="he", normalization="standard", preset="scratch-256-64"),
    ),
    Preset(
        "fast",
        "784-256-128-10 ReLU, Adam (lr 0.002, cosine), batch 128, 8 epochs, standardized inputs, a quarter of "
        "each batch real pen-drawn digits and 5% scribbles: >= 98% on MNIST in seconds, and it reads drawings",
        "ours: the GUI's default",
        TrainingConfig(hidden=(256, 128), activation="relu", optimizer="adam", lr=2e-3, batch_size=128,
                       epochs=8, schedule="cosine", normalization="standard", pen_digits=0.25, scribbles=0.05,
                       preset="fast"),
    ),
    Preset(
        "best",
        "784-1024-1024-10 ReLU, dropout 0.2, Adam (lr 0.001, cosine), batch 128, 30 epochs, augmentation",
        "ours: the highest test accuracy in a few minutes",
        TrainingConfig(hidden=(1024, 1024), activation="relu", optimizer="adam", lr=1e-3, batch_size=128,
                       epochs=30, dropout=0.2, schedule="cosine", normalization="standard", augment=True,
                       preset="best"),
    ),
)}

DEFAULT_PRESET = "fast"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
