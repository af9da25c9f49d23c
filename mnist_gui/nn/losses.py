"""Softmax fused with cross-entropy.

Computing softmax and the cross-entropy together is both stable and simple:

* the loss uses log-sum-exp, ``log p_y = z_y - m - log(sum exp(z - m))`` with ``m = max z``, so no
  exponential overflows and no log of zero appears;
* the gradient with respect to the logits is just ``(p - onehot(y)) / N``. (The elementwise
  "softmax derivative" ``p * (1 - p)`` some write-ups multiply in is only the diagonal of the
  softmax Jacobian; applied alone it gives wrong gradients.)

A label of -1 means "no class": an image that is not a digit, whose target is the uniform
distribution (outlier exposure, Hendrycks et al. 2019). Its loss is ``log sum exp z - mean z`` (the
cross-entropy against 1/K everywhere) and its gradient ``(p - 1/K) / N``.
"""

from __future__ import annotations

import numpy as np

from mnist_gui.nn.layers import _Buffers


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a (N, K) array, computed stably; returns a new float32 array."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(np.float32, copy=False)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient."""

    def __init__(self) -> None:
        self._buf = _Buffers()

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Return the mean loss; keeps the probabilities for :meth:`backward` and :attr:`probs`."""
        n, k = logits.shape
        m = self._buf.get("max", (n, 1), logits.dtype)
        np.max(logits, axis=1, keepdims=True, out=m)
        p = self._buf.get("p", (n, k), logits.dtype)
        np.subtract(logits, m, out=p)                      # shifted logits, max 0
        z_y = p[np.arange(n), labels]                      # shifted logit of the true class (N floats)
        self._uniform = np.flatnonzero(labels < 0) if labels.size and labels.min() < 0 else None
        if self._uniform is not None:                      # no class: the mean logit stands for z_y
            z_y = z_y.astype(np.float64)
            z_y[self._uniform] = p[self._uniform].mean(axis=1, dtype=np.float64)
        np.exp(p, out=p)
        s = self._buf.get("sum", (n, 1), logits.dtype)
        np.sum(p, axis=1, keepdims=True, out=s)
        loss = float(np.mean(np.log(s[:, 0]) - z_y, dtype=np.float64))
        p /= s
        self._labels = labels
        self._p = p
        return loss

    @property
    def probs(self) -> np.ndarray:
        """Softmax probabilities from the last :meth:`forward` (a reused buffer; copy to keep)."""
        return self._p

    def backward(self) -> np.ndarray:
        """Gradient of the mean loss with respect to the logits: ``(p - onehot) / N``."""
        p = self._p
        n = p.shape[0]
        grad = self._buf.get("grad", p.shape, p.dtype)
        np.multiply(p, grad.dtype.type(1.0 / n), out=grad)   # float32 in training, exact in float64 checks
        if self._uniform is None:
            grad[np.arange(n), self._labels] -= np.float32(1.0 / n)
            return grad
        labelled = np.flatnonzero(self._labels >= 0)
        grad[labelled, self._labels[labelled]] -= grad.dtype.type(1.0 / n)
        grad[self._uniform] -= grad.dtype.type(1.0 / (n * p.shape[1]))
        return grad
