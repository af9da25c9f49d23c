"""Layers: each has ``forward(x, training)`` and ``backward(grad)`` and keeps params and grads side by side.

Speed rules followed everywhere here:

* float32 only;
* outputs and scratch live in buffers allocated once per batch shape (:class:`_Buffers`), so a
  training loop with a fixed batch size allocates nothing large per batch;
* ``backward`` may overwrite the ``grad`` it is given (it is the next layer's scratch buffer), and
  returns the gradient with respect to its input, or ``None`` when asked not to compute it (the
  first layer's input gradient is never needed: skipping it saves a third of that layer's work).
"""

from __future__ import annotations

import copy

import numpy as np

from mnist_gui.nn.init import initialize


class _Buffers:
    """Scratch arrays keyed by (name, shape): allocated on first use, reused afterwards.

    A training run sees at most a few shapes (full batch, last partial batch, evaluation chunk);
    the cache is cleared if it ever holds more, so memory stays bounded.
    """

    _MAX = 16

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        key = (name, shape, np.dtype(dtype).char)
        arr = self._arrays.get(key)
        if arr is None:
            if len(self._arrays) >= self._MAX:
                self._arrays.clear()
            arr = np.empty(shape, dtype=dtype)
            self._arrays[key] = arr
        return arr

    def clear(self) -> None:
        self._arrays.clear()


class Layer:
    """Base class. ``params``/``grads`` map names to arrays of the same shape."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buf = _Buffers()

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def infer(self, x: np.ndarray, blas: bool = True) -> np.ndarray:
        """Inference output for ``x`` in a new array, touching no state: safe from any thread, even
        while another thread trains or evaluates this layer. An element-wise layer computes the same
        function as :meth:`forward` (which calls :meth:`_apply` too)."""
        return self._apply(x, np.empty_like(x))

    def _apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def input_gradient(self, x: np.ndarray, y: np.ndarray, grad: np.ndarray, blas: bool = True) -> np.ndarray:
        """The gradient with respect to this layer's input ``x``, given the gradient ``grad`` with respect
        to its output ``y = infer(x)``: :meth:`backward` without its state (no stored inputs, no
        buffers, no parameter gradients), so it is as safe as :meth:`infer` from any thread. An
        element-wise layer multiplies ``grad`` by its derivative, read from ``y``."""
        return grad * self._derivative(y)

    def _derivative(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__

    # Per-batch state (inputs, outputs, masks) that a copy must not drag along.
    _TRANSIENT = ("_x", "_y", "_active")

    def clone(self) -> "Layer":
        """An independent copy with the same parameters and fresh (empty) scratch buffers."""
        new = copy.copy(self)
        new.__dict__ = {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}
        new.params = {k: v.copy() for k, v in self.params.items()}
        new.grads = {k: np.zeros_like(v) for k, v in self.grads.items()}
        new._buf = _Buffers()
        return new


class Dense(Layer):
    """Fully connected layer ``y = x @ W + b`` with W of shape (in, out)."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator | None = None, init: str = "he") -> None:
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_in, self.n_out = n_in, n_out
        self.params = {"W": initialize(init, n_in, n_out, rng), "b": np.zeros(n_out, dtype=np.float32)}
        self.grads = {"W": np.zeros((n_in, n_out), np.float32), "b": np.zeros(n_out, np.float32)}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        out = self._buf.get("out", (x.shape[0], self.n_out), x.dtype)
        np.matmul(x, self.params["W"], out=out)
        out += self.params["b"]
        return out

    def infer(self, x: np.ndarray, blas: bool = True) -> np.ndarray:
        """``x @ W + b``; with ``blas=False`` in NumPy's own loop in the calling thread, not BLAS.

        The GUI predicts one drawing at a time while a training thread keeps the BLAS threads busy. A
        one-row product handed to the threaded BLAS then waits for them: for 784-1024-1024-10 we measured
        a median of 9 ms and a 95th percentile of 145 ms, against 0.4 ms idle. ``np.einsum`` (without
        ``optimize``) runs in the calling thread: 0.4 ms, busy or not.
        """
        product = x @ self.params["W"] if blas else np.einsum("ni,ij->nj", x, self.params["W"])
        product += self.params["b"]
        return product

    def input_gradient(self, x: np.ndarray, y: np.ndarray, grad: np.ndarray, blas: bool = True) -> np.ndarray:
        """``grad @ W.T``; ``blas=False`` keeps it in the calling thread, as in :meth:`infer`."""
        return grad @ self.params["W"].T if blas else np.einsum("nj,ij->ni", grad, self.params["W"])

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        np.matmul(x.T, grad, out=self.grads["W"])
        np.sum(grad, axis=0, out=self.grads["b"])
        if not need_input_grad:
            return None
        dx = self._buf.get("dx", (grad.shape[0], self.n_in), grad.dtype)
        np.matmul(grad, self.params["W"].T, out=dx)
        return dx

    def describe(self) -> str:
        return f"Dense({self.n_in}->{self.n_out})"


class ReLU(Layer):
    """``max(x, 0)``; its gradient passes where the output is positive."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = self._apply(x, self._buf.get("out", x.shape, x.dtype))
        return self._y

    def _apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0, out=out)

    def _derivative(self, y: np.ndarray) -> np.ndarray:
        return (y > 0).astype(y.dtype)

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        mask = self._buf.get("mask", grad.shape, np.bool_)
        np.greater(self._y, 0, out=mask)
        np.multiply(grad, mask, out=grad)
        return grad


class LeakyReLU(Layer):
    """``x`` for positive inputs, ``alpha * x`` otherwise (0 < alpha < 1), so no unit dies."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0.0 < alpha < 1.0:
            raise ValueError("LeakyReLU alpha must be in (0, 1)")
        self.alpha = np.float32(alpha)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = self._apply(x, self._buf.get("out", x.shape, x.dtype))
        return self._y

    def _apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.multiply(x, self.alpha, out=out)
        return np.maximum(x, out, out=out)  # for 0 < alpha < 1, max(x, alpha*x) is the leaky ReLU

    def _derivative(self, y: np.ndarray) -> np.ndarray:
        return np.where(y > 0, y.dtype.type(1.0), y.dtype.type(self.alpha))

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        factor = self._buf.get("factor", grad.shape, grad.dtype)
        np.greater(self._y, 0, out=factor, casting="unsafe")  # 1.0 where positive, else 0.0
        factor *= np.float32(1.0) - self.alpha
        factor += self.alpha
        np.multiply(grad, factor, out=grad)
        return grad


class Tanh(Layer):
    """Hyperbolic tangent; derivative ``1 - y**2`` computed from the stored output."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = self._apply(x, self._buf.get("out", x.shape, x.dtype))
        return self._y

    def _apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.tanh(x, out=out)

    def _derivative(self, y: np.ndarray) -> np.ndarray:
        return 1 - y * y

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        s = self._buf.get("s", grad.shape, grad.dtype)
        np.multiply(self._y, self._y, out=s)
        np.subtract(np.float32(1.0), s, out=s)
        np.multiply(grad, s, out=grad)
        return grad


class Sigmoid(Layer):
    """Logistic sigmoid ``1 / (1 + exp(-x))``; derivative ``y * (1 - y)``."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = self._apply(x, self._buf.get("out", x.shape, x.dtype))
        return self._y

    def _apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        # Computed as 0.5 * (1 + tanh(x / 2)): same function, no overflow warning for large |x|.
        np.multiply(x, np.float32(0.5), out=out)
        np.tanh(out, out=out)
        out += np.float32(1.0)
        out *= np.float32(0.5)
        return out

    def _derivative(self, y: np.ndarray) -> np.ndarray:
        return y * (1 - y)

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        s = self._buf.get("s", grad.shape, grad.dtype)
        np.subtract(np.float32(1.0), self._y, out=s)
        s *= self._y
        np.multiply(grad, s, out=grad)
        return grad


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by
    ``1 / (1 - p)``, so nothing needs rescaling at inference, where it is the identity."""

    def __init__(self, p: float, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("dropout probability must be in [0, 1)")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._scale = np.float32(1.0 / (1.0 - p))
        self._active = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._active = training and self.p > 0.0
        if not self._active:
            return x
        noise = self._buf.get("noise", x.shape, x.dtype)
        self.rng.random(out=noise, dtype=noise.dtype)
        keep = self._buf.get("keep", x.shape, x.dtype)
        np.greater_equal(noise, np.float32(self.p), out=keep, casting="unsafe")
        keep *= self._scale  # keep now holds 0 or 1/(1-p)
        out = self._buf.get("out", x.shape, x.dtype)
        np.multiply(x, keep, out=out)
        return out

    def infer(self, x: np.ndarray, blas: bool = True) -> np.ndarray:
        return x   # the identity at inference (inverted dropout scales while training instead)

    def input_gradient(self, x: np.ndarray, y: np.ndarray, grad: np.ndarray, blas: bool = True) -> np.ndarray:
        return grad

    def backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if self._active:
            np.multiply(grad, self._buf.get("keep", grad.shape, grad.dtype), out=grad)
        return grad

    def clone(self) -> "Dropout":
        new = super().clone()
        new.rng = copy.deepcopy(self.rng)
        return new

    def describe(self) -> str:
        return f"Dropout({self.p:g})"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}
