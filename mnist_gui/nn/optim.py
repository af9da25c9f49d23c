"""Optimizers that update the network's flat parameter vector in place.

All state (velocities, moment estimates) and one scratch vector are allocated once, at
construction; a step is a fixed handful of NumPy calls over the whole parameter vector.
Hyper-parameters are kept as Python floats: NumPy treats those as "weak" scalars, so the
arithmetic stays in the parameters' own dtype (float32 in training, float64 in the checks).

L2 weight decay is the classic coupled form: ``g += l2 * w`` for weights (not biases) before the
update rule, i.e. the gradient of ``l2/2 * ||W||^2`` added to the loss.
"""

from __future__ import annotations

import math

import numpy as np

from mnist_gui.nn.network import Network


class Optimizer:
    def __init__(self, net: Network, l2: float = 0.0) -> None:
        self.params = net.flat_params
        self.grads = net.flat_grads
        self.l2 = float(l2)
        self._decay = net.decay_mask * l2 if l2 else None
        self._s = np.empty_like(self.params)  # scratch
        self.t = 0

    def _apply_decay(self) -> None:
        if self._decay is not None:
            np.multiply(self.params, self._decay, out=self._s)
            self.grads += self._s

    def step(self, lr: float) -> None:
        self.t += 1
        self._apply_decay()
        self._update(float(lr))

    def _update(self, lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * g``."""

    def _update(self, lr: float) -> None:
        np.multiply(self.grads, lr, out=self._s)
        self.params -= self._s


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v = mu * v - lr * g``; ``w += v``."""

    def __init__(self, net: Network, l2: float = 0.0, momentum: float = 0.9) -> None:
        super().__init__(net, l2)
        self.mu = float(momentum)
        self.v = np.zeros_like(self.params)

    def _update(self, lr: float) -> None:
        self.v *= self.mu
        np.multiply(self.grads, lr, out=self._s)
        self.v -= self._s
        self.params += self.v


class Nesterov(Momentum):
    """Nesterov momentum in the usual reformulation: ``v = mu*v - lr*g``; ``w += mu*v - lr*g``."""

    def _update(self, lr: float) -> None:
        self.v *= self.mu
        np.multiply(self.grads, lr, out=self._s)
        self.v -= self._s                        # v_new
        self.params -= self._s                   # - lr * g
        np.multiply(self.v, self.mu, out=self._s)
        self.params += self._s                   # + mu * v_new


class RMSProp(Optimizer):
    """``r = rho * r + (1 - rho) * g^2``; ``w -= lr * g / (sqrt(r) + eps)`` (Keras defaults).

    Stored as ``R = r / (1 - rho)``, so the average is ``R = rho * R + g^2``: two passes instead of
    three. Then ``sqrt(r) = c * sqrt(R)`` with ``c = sqrt(1 - rho)``, and the step is the same
    number computed as ``(lr / c) * g / (sqrt(R) + eps / c)``.
    """

    def __init__(self, net: Network, l2: float = 0.0, rho: float = 0.9, eps: float = 1e-7) -> None:
        super().__init__(net, l2)
        self.rho, self.eps = float(rho), float(eps)
        self.r_scaled = np.zeros_like(self.params)   # r / (1 - rho)
        self._c = math.sqrt(1.0 - self.rho)

    @property
    def r(self) -> np.ndarray:
        """The textbook running average of g^2 (a new array)."""
        return self.r_scaled * (1.0 - self.rho)

    def _update(self, lr: float) -> None:
        s, r = self._s, self.r_scaled
        r *= self.rho
        np.multiply(self.grads, self.grads, out=s)
        r += s
        np.sqrt(r, out=s)
        s += self.eps / self._c
        np.divide(self.grads, s, out=s)
        s *= lr / self._c
        self.params -= s


class Adam(Optimizer):
    """Adam with bias correction folded into the step size (Kingma & Ba, section 2).

    The moments are stored scaled, ``M = m / (1 - b1)`` and ``V = v / (1 - b2)``, which turns
    ``m = b1*m + (1-b1)*g`` into ``M = b1*M + g`` (two passes over the parameters instead of three)
    and likewise for ``V``: 10 passes a step instead of 12, for the same update. With
    ``c = sqrt((1 - b2) / (1 - b2^t))``, ``sqrt(v_hat) = c * sqrt(V)`` and
    ``m_hat = M * (1 - b1) / (1 - b1^t)``, so
    ``lr * m_hat / (sqrt(v_hat) + eps) = [lr (1 - b1) / ((1 - b1^t) c)] * M / (sqrt(V) + eps / c)``.
    """

    def __init__(self, net: Network, l2: float = 0.0, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(net, l2)
        self.b1, self.b2, self.eps = float(beta1), float(beta2), float(eps)
        self.m_scaled = np.zeros_like(self.params)   # m / (1 - b1)
        self.v_scaled = np.zeros_like(self.params)   # v / (1 - b2)

    @property
    def m(self) -> np.ndarray:
        """The textbook first moment (a new array)."""
        return self.m_scaled * (1.0 - self.b1)

    @property
    def v(self) -> np.ndarray:
        """The textbook second moment (a new array)."""
        return self.v_scaled * (1.0 - self.b2)

    def _update(self, lr: float) -> None:
        g, s, m, v = self.grads, self._s, self.m_scaled, self.v_scaled
        m *= self.b1
        m += g
        np.multiply(g, g, out=s)
        v *= self.b2
        v += s
        t = self.t
        c = math.sqrt((1.0 - self.b2) / (1.0 - self.b2 ** t))
        step = lr * (1.0 - self.b1) / ((1.0 - self.b1 ** t) * c)
        np.sqrt(v, out=s)
        s += self.eps / c
        np.divide(m, s, out=s)
        s *= step
        self.params -= s


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name: str, net: Network, l2: float = 0.0, momentum: float = 0.9) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r} (choose from {', '.join(OPTIMIZERS)})")
    if name in ("momentum", "nesterov"):
        return OPTIMIZERS[name](net, l2=l2, momentum=momentum)
    return OPTIMIZERS[name](net, l2=l2)
