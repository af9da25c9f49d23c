"""The one limit on a network's size: what training accepts and what loading accepts are the same.

A run that trains must give a model file that opens, and a model file that opens must be one a run
could have made: ``train --hidden 260000`` used to train for minutes, peak at 5.9 GB and write an
827 MB file that ``evaluate`` then refused as "implausibly large", while a 620 KB file declaring
784x200000 was accepted and took 2.5 GB to load. Both sides now call :func:`architecture_problem`
(``TrainingConfig.validate`` and ``load_model``), and both call it before allocating anything.

:data:`MAX_PARAMS` is 20 million parameters (80 MB of float32 weights, ten times the shipped
``best`` model's 1.9 million): loading such a model takes about 1.5 s and predicting one drawing
with it about 10 ms; anything larger is no longer a model one draws digits for.
"""

from __future__ import annotations

from typing import Sequence

from mnist_gui.digits import CLASSES, PIXELS

__all__ = ["MAX_PARAMS", "MAX_HIDDEN_LAYERS", "n_params", "architecture_problem", "inference_rows",
           "inference_row_bytes"]

#: Most weights and biases a network may have, in training and in a model file.
MAX_PARAMS = 20_000_000
#: Most hidden layers a network may have, in training and in a model file.
MAX_HIDDEN_LAYERS = 16


def n_params(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP with these layer sizes (input first), in exact integer arithmetic
    (NumPy integers would wrap around silently for absurd sizes)."""
    s = [int(v) for v in sizes]
    return sum(a * b + b for a, b in zip(s[:-1], s[1:]))


def architecture_problem(sizes: Sequence[int]) -> str | None:
    """Why a network with these layer sizes (input, hidden..., output) is not allowed, or None."""
    hidden = len(sizes) - 2
    if hidden > MAX_HIDDEN_LAYERS:
        return f"at most {MAX_HIDDEN_LAYERS} hidden layers are allowed, this network has {hidden}"
    count = n_params(sizes)
    if count > MAX_PARAMS:
        shown = f"{count:,}" if count < 10**15 else f"about 10^{len(str(count)) - 1}"
        return (f"the network is too large: {shown} parameters (at most {MAX_PARAMS:,} are allowed, "
                f"{MAX_PARAMS * 4 / 1e6:.0f} MB of weights); use smaller hidden layers")
    return None


#: Rows an inference pass (evaluation, batch prediction) pushes through a network at once: at most
#: this many, fewer for wide networks, so its activations stay within INFERENCE_BUDGET_BYTES (2,500
#: rows of a 784x200000 network held 4 GB of activations).
INFERENCE_CHUNK = 2500
INFERENCE_BUDGET_BYTES = 64 * 1024**2


def inference_row_bytes(sizes: Sequence[int]) -> int:
    """Activation bytes one row needs on its way through a network (no gradients): the encoded input,
    every layer's output and every activation's output, and the softmax's few buffers."""
    widths = [int(v) for v in sizes]
    return 4 * (PIXELS + sum(widths[1:]) + sum(widths[1:-1]) + 4 * CLASSES)


def inference_rows(sizes: Sequence[int]) -> int:
    """How many rows to push through a network of these sizes at once (see INFERENCE_BUDGET_BYTES)."""
    return max(1, min(INFERENCE_CHUNK, INFERENCE_BUDGET_BYTES // inference_row_bytes(sizes)))
