"""Inside the network, for one drawing: every hidden layer's activations and a saliency map.

:func:`look_inside` makes one stateless pass forward (:meth:`Network.infer_trace`) and one back
(:meth:`Network.input_gradient`) through the model, in the calling thread without BLAS (a training
thread may be holding it; see ``Dense.infer``), touching none of the network's buffers. For
784-1024-1024-10 both passes take well under a millisecond.

The saliency map is the gradient of the winning digit's log-probability with respect to the 28x28
input, each pixel's intensity on a 0..1 scale (0 = background, 1 = full ink): a positive value says
"more ink here would make the network surer of its answer", a negative one "ink here argues for
another digit". Since ``d log p_w / d logits = onehot(w) - p``, one backward pass gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import PIXELS, SIDE
from mnist_gui.model import Model
from mnist_gui.nn import ACTIVATIONS

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


@dataclass(frozen=True, eq=False)
class InsideLook:
    """What the network does with one image."""

    hidden: tuple[np.ndarray, ...]   # each hidden layer's activations (after its activation function), (units,)
    kinds: tuple[str, ...]           # each hidden layer's activation function, e.g. "ReLU"
    logits: np.ndarray               # (10,)
    probabilities: np.ndarray        # (10,) float64
    saliency: np.ndarray             # (28, 28): d log p[winner] / d pixel intensity (0..1)

    @property
    def winner(self) -> int:
        return int(np.argmax(self.probabilities))


def look_inside(model: Model, image: np.ndarray, blas: bool = False) -> InsideLook:
    """Activations and saliency of ``model`` for one (28, 28) or (784,) image (uint8, or float on 0..255)."""
    network = model.network
    x = _encode(model, image)
    trace = network.infer_trace(x, blas)
    hidden, kinds = [], []
    for layer, output in zip(network.layers, trace[1:]):
        if isinstance(layer, _ACTIVATION_TYPES):
            hidden.append(output[0])
            kinds.append(layer.describe())
    logits = trace[-1]
    # Softmax in float64 whatever the network's precision: 1 - p[winner] for a confident answer
    # (p = 0.9999) keeps 4 digits fewer than p itself.
    z = logits[0].astype(np.float64)
    z = np.exp(z - z.max())
    probabilities = z / z.sum()
    winner = int(np.argmax(logits[0]))
    grad = -probabilities                                   # d log p_w / d logits = onehot(w) - p
    grad[winner] += 1.0
    gradient = network.input_gradient(trace, grad.astype(network.dtype)[None], blas)[0]
    # The network sees pixel * scale + shift with pixel in 0..255; intensity = pixel / 255.
    scale, _ = model.normalization.scale_shift
    saliency = (gradient * (float(scale) * 255.0)).reshape(SIDE, SIDE)
    return InsideLook(tuple(hidden), tuple(kinds), logits[0].copy(), probabilities, saliency)


def log_probability(model: Model, image: np.ndarray, digit: int) -> float:
    """log P(``digit``) of ``model`` for one image, computed in the network's own precision (for checks)."""
    z = model.network.infer(_encode(model, image))[0].astype(np.float64)
    z -= z.max()
    return float(z[digit] - np.log(np.exp(z).sum()))


def _encode(model: Model, image: np.ndarray) -> np.ndarray:
    """One image as a (1, 784) network input in the network's own precision (float64 for checks)."""
    dtype = model.network.dtype
    return model.encode(np.asarray(image, dtype).reshape(1, PIXELS), out=np.empty((1, PIXELS), dtype))


def strongest(activations: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` largest activations, largest first (fewer if the layer is smaller)."""
    activations = np.asarray(activations)
    k = min(k, activations.size)
    if k <= 0:
        return np.zeros(0, np.intp)
    top = np.argpartition(-activations, k - 1)[:k]
    return top[np.argsort(-activations[top], kind="stable")]


def saliency_overlay(saliency: np.ndarray, alpha: int = 210) -> np.ndarray:
    """(28, 28, 4) uint8 RGBA (not premultiplied): red where ink pushes towards the answer, blue where
    it pushes away, transparent where it does not matter; opacity in proportion to |gradient|."""
    s = np.asarray(saliency, np.float32)
    peak = float(np.abs(s).max())
    out = np.zeros(s.shape + (4,), np.uint8)
    if peak <= 0:
        return out
    v = s / peak
    out[..., 0] = np.where(v > 0, 230, 30)
    out[..., 1] = np.where(v > 0, 40, 110)
    out[..., 2] = np.where(v > 0, 30, 240)
    out[..., 3] = np.clip(np.abs(v) * alpha, 0, 255).astype(np.uint8)
    return out
