"""The reference loop: the tight NumPy training loop anyone would write by hand, to measure our engine against.

784-256-128-10 ReLU, softmax cross-entropy, Adam, mini-batches of 128, float32, no framework: five matrix
products forward and backward, the Adam update written out in place. It shares no code with
:mod:`mnist_gui.nn`, so "engine / reference" compares our layers, buffers and optimizers with the plainest
correct loop, and "seconds / reference epoch" turns a training time into a number that carries from one
machine to another (issue 17: the time to 99.0% is reported as a multiple of it).
"""

from __future__ import annotations

import time

import numpy as np


def reference_epoch_seconds(images: np.ndarray, labels: np.ndarray, batch_size: int = 128, lr: float = 1e-3,
                            hidden: tuple[int, int] = (256, 128), seed: int = 0, epochs: int = 1,
                            losses: list | None = None) -> float:
    """Median wall seconds of one epoch of the hand-written loop over ``images`` (float32, (n, 784)).

    ``losses``, when given, receives each epoch's mean training loss (a test checks that the loop learns)."""
    rng = np.random.default_rng(seed)
    x_all = np.ascontiguousarray(images, dtype=np.float32)
    y_all = np.asarray(labels, dtype=np.intp)
    n, d = x_all.shape
    sizes = (d, *hidden, 10)
    weights = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b, np.float32) for b in sizes[1:]]
    params = weights + biases
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    times = []
    for _ in range(epochs):
        order = rng.permutation(n)
        t0 = time.perf_counter()
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x, y = x_all[idx], y_all[idx]
            # forward
            a1 = np.maximum(x @ weights[0] + biases[0], 0)
            a2 = np.maximum(a1 @ weights[1] + biases[1], 0)
            z = a2 @ weights[2] + biases[2]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            rows = np.arange(len(y))
            if losses is not None:
                total += float(-np.log(p[rows, y] + 1e-12).sum())
            # backward
            p[rows, y] -= 1
            p /= len(y)
            g2 = p @ weights[2].T
            g2 *= a2 > 0
            g1 = g2 @ weights[1].T
            g1 *= a1 > 0
            grads = [x.T @ g1, a1.T @ g2, a2.T @ p, g1.sum(0), g2.sum(0), p.sum(0)]
            # Adam, in place
            step += 1
            scale = lr * np.sqrt(1 - b2**step) / (1 - b1**step)
            for prm, g, mm, vv in zip(params, grads, m, v):
                mm *= b1
                mm += (1 - b1) * g
                vv *= b2
                vv += (1 - b2) * (g * g)
                prm -= scale * mm / (np.sqrt(vv) + eps)
        times.append(time.perf_counter() - t0)
        if losses is not None:
            losses.append(total / n)
    return float(np.median(times))
