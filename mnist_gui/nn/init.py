"""Weight initializers: keep the variance of activations steady from layer to layer.

* He (Kaiming) normal, ``std = sqrt(2 / fan_in)``: for the ReLU family, which zeroes half its
  inputs and so halves the variance; the factor 2 gives it back.
* Xavier (Glorot) uniform, ``limit = sqrt(6 / (fan_in + fan_out))``: for tanh and sigmoid, which
  are roughly linear around zero and want forward and backward variances balanced.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He normal initialization for a (fan_in, fan_out) weight matrix, float32."""
    std = np.sqrt(2.0 / fan_in)
    return (rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.float32(std)).astype(np.float32)


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Xavier/Glorot uniform initialization for a (fan_in, fan_out) weight matrix, float32."""
    limit = np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


#: name -> function(fan_in, fan_out, rng) returning the weight matrix.
INITIALIZERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "he": he_normal, "xavier": xavier_uniform}


def default_init_for(activation: str) -> str:
    """The initializer that suits an activation: He for the ReLU family, Xavier otherwise."""
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def initialize(name: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """A (fan_in, fan_out) float32 weight matrix from the initializer ``name``; ``"zeros"`` (not one
    of :data:`INITIALIZERS`: no network learns from it) is for weights about to be overwritten, as a
    loaded model's are, and costs nothing (drawing 16 million He weights took 0.8 s of a 1.5 s load)."""
    if name == "zeros":
        return np.zeros((fan_in, fan_out), np.float32)
    try:
        make = INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initializer {name!r} (choose from {', '.join(INITIALIZERS)})") from None
    return make(fan_in, fan_out, rng)
