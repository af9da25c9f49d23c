"""A feed-forward network: a list of layers, with every parameter packed into one flat vector.

Packing matters for speed: an optimizer step over a (P,) vector is a few NumPy calls in total,
instead of a few calls per parameter array. Each layer's ``params``/``grads`` entries become views
into ``Network.flat_params`` / ``Network.flat_grads``, so layers keep working unchanged.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mnist_gui.nn.init import default_init_for
from mnist_gui.nn.layers import ACTIVATIONS, Dense, Dropout, Layer
from mnist_gui.nn.losses import SoftmaxCrossEntropy


class Network:
    """Layers applied in order; the last layer produces logits (softmax lives in the loss)."""

    def __init__(self, layers: Sequence[Layer], dtype=np.float32) -> None:
        # float32 is the engine's type; float64 exists for finite-difference gradient checks.
        self.dtype = np.dtype(dtype)
        self.layers = list(layers)
        self.loss = SoftmaxCrossEntropy()
        self._pack()

    # -- parameters ---------------------------------------------------------------------------
    def _pack(self) -> None:
        entries = [(layer, name) for layer in self.layers for name in layer.params]
        total = sum(layer.params[name].size for layer, name in entries)
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        # 1.0 for weights, 0.0 for biases: L2 weight decay applies to weights only.
        self.decay_mask = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer, name in entries:
            value = layer.params[name]
            size = value.size
            view = self.flat_params[offset:offset + size].reshape(value.shape)
            view[...] = value
            layer.params[name] = view
            layer.grads[name] = self.flat_grads[offset:offset + size].reshape(value.shape)
            if name == "W":
                self.decay_mask[offset:offset + size] = 1.0
            offset += size

    def clone(self) -> "Network":
        """An independent copy: same weights, its own flat vectors (layer params are views into
        them again), no scratch buffers or per-batch state. Cheap: one copy of the weights."""
        return Network([layer.clone() for layer in self.layers], dtype=self.dtype)

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def n_params(self) -> int:
        return int(self.flat_params.size)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of [W0, b0, W1, b1, ...] for the dense layers."""
        out = []
        for layer in self.dense_layers:
            out += [layer.params["W"].copy(), layer.params["b"].copy()]
        return out

    def set_weights(self, arrays: Sequence[np.ndarray]) -> None:
        """Load [W0, b0, W1, b1, ...]; shapes must match the architecture."""
        dense = self.dense_layers
        if len(arrays) != 2 * len(dense):
            raise ValueError(f"expected {2 * len(dense)} arrays, got {len(arrays)}")
        for i, layer in enumerate(dense):
            for name, arr in (("W", arrays[2 * i]), ("b", arrays[2 * i + 1])):
                target = layer.params[name]
                if np.shape(arr) != target.shape:
                    raise ValueError(f"{name}{i}: shape {np.shape(arr)} does not match {target.shape}")
                target[...] = arr

    # -- computation --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> None:
        """Back-propagate the loss gradient; fills ``flat_grads``. The input gradient is skipped."""
        last = len(self.layers) - 1
        first_dense = next(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        for i in range(last, -1, -1):
            grad = self.layers[i].backward(grad, need_input_grad=i > first_dense)
            if grad is None:
                break

    def train_step_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """Forward + backward on one batch. Returns (mean loss, number of correct predictions)."""
        logits = self.forward(x, training=True)
        loss = self.loss.forward(logits, labels)
        correct = int(np.count_nonzero(np.argmax(logits, axis=1) == labels))
        self.backward(self.loss.backward())
        return loss, correct

    def infer(self, x: np.ndarray, blas: bool = True) -> np.ndarray:
        """Logits for ``x``, stateless (new arrays, no layer buffers): safe while another thread uses
        this network; ``blas=False`` keeps every product in the calling thread (see ``Dense.infer``)."""
        for layer in self.layers:
            x = layer.infer(x, blas)
        return x

    def infer_trace(self, x: np.ndarray, blas: bool = True) -> list[np.ndarray]:
        """``[x, layer 1's output, ..., logits]``, computed like :meth:`infer` (stateless): what
        :meth:`input_gradient` needs, and every hidden layer's activations for a look inside."""
        trace = [x]
        for layer in self.layers:
            trace.append(layer.infer(trace[-1], blas))
        return trace

    def input_gradient(self, trace: Sequence[np.ndarray], grad: np.ndarray, blas: bool = True) -> np.ndarray:
        """The gradient of a scalar with respect to the network's input, given its gradient ``grad``
        with respect to the logits and the :meth:`infer_trace` of that input. Stateless: it leaves
        ``flat_grads`` and every layer buffer alone, so it may run while another thread trains."""
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].input_gradient(trace[i], trace[i + 1], grad, blas)
        return grad

    def logits(self, x: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """Inference logits for (N, in) inputs, in chunks to bound memory; returns a new array."""
        n = x.shape[0]
        out = np.empty((n, self.dense_layers[-1].n_out), dtype=self.dtype)
        for start in range(0, n, chunk):
            out[start:start + chunk] = self.forward(x[start:start + chunk], training=False)
        return out

    def describe(self) -> str:
        return " -> ".join(layer.describe() for layer in self.layers)


def build_mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    init: str | None = None,
    seed: int = 0,
    dtype=np.float32,
) -> Network:
    """An MLP with layer sizes e.g. (784, 256, 128, 10): Dense + activation (+ dropout) per hidden layer."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r} (choose from {', '.join(ACTIVATIONS)})")
    rng = np.random.default_rng(seed)
    init = init or default_init_for(activation)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, rng=rng, init=init))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0.0:
                layers.append(Dropout(dropout, rng=rng))
    return Network(layers, dtype=dtype)
