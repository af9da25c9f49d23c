"""Optimizer steps checked against values computed by hand from the textbook formulas."""

import math

import numpy as np
import pytest

from mnist_gui.nn import Dense, Network, make_optimizer, make_schedule


def tiny_net(w=(1.0, -2.0), b=0.5, dtype=np.float64):
    layer = Dense(2, 1)
    net = Network([layer], dtype=dtype)
    layer.params["W"][:, 0] = w
    layer.params["b"][:] = b
    return net


def set_grads(net, gw=(0.5, -1.0), gb=2.0):
    layer = net.dense_layers[0]
    layer.grads["W"][:, 0] = gw
    layer.grads["b"][:] = gb


def params(net):
    return list(net.flat_params)


def test_sgd_with_l2_on_weights_only():
    net = tiny_net()
    opt = make_optimizer("sgd", net, l2=0.1)
    set_grads(net)
    opt.step(0.1)
    # w -= lr * (g + l2*w); the bias gets no decay
    assert params(net) == pytest.approx([1 - 0.1 * (0.5 + 0.1), -2 - 0.1 * (-1.0 - 0.2), 0.5 - 0.1 * 2.0])


def test_momentum_two_steps():
    net = tiny_net()
    opt = make_optimizer("momentum", net, momentum=0.9)
    set_grads(net)
    opt.step(0.1)      # v = -0.1*g ; w += v
    set_grads(net)
    opt.step(0.1)      # v = 0.9*v - 0.1*g
    v1 = -0.1 * np.array([0.5, -1.0, 2.0])
    v2 = 0.9 * v1 - 0.1 * np.array([0.5, -1.0, 2.0])
    assert params(net) == pytest.approx(list(np.array([1.0, -2.0, 0.5]) + v1 + v2))


def test_nesterov_two_steps():
    net = tiny_net()
    opt = make_optimizer("nesterov", net, momentum=0.9)
    g = np.array([0.5, -1.0, 2.0])
    w = np.array([1.0, -2.0, 0.5])
    v = np.zeros(3)
    for _ in range(2):
        set_grads(net)
        opt.step(0.1)
        v = 0.9 * v - 0.1 * g
        w = w + 0.9 * v - 0.1 * g
    assert params(net) == pytest.approx(list(w))


def test_rmsprop_two_steps():
    net = tiny_net()
    opt = make_optimizer("rmsprop", net)
    g = np.array([0.5, -1.0, 2.0])
    w = np.array([1.0, -2.0, 0.5])
    r = np.zeros(3)
    for _ in range(2):
        set_grads(net)
        opt.step(0.01)
        r = 0.9 * r + 0.1 * g * g
        w = w - 0.01 * g / (np.sqrt(r) + 1e-7)
    assert params(net) == pytest.approx(list(w), rel=1e-9)


def test_adam_matches_reference_formula():
    net = tiny_net()
    opt = make_optimizer("adam", net, l2=0.01)
    w = np.array([1.0, -2.0, 0.5])
    m = np.zeros(3)
    v = np.zeros(3)
    for t in range(1, 4):
        g = np.array([0.5, -1.0, 2.0]) * t
        set_grads(net, gw=g[:2], gb=g[2])
        opt.step(0.001)
        g = g + 0.01 * w * np.array([1, 1, 0])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        mhat = m / (1 - 0.9 ** t)
        vhat = v / (1 - 0.999 ** t)
        w = w - 0.001 * mhat / (np.sqrt(vhat) + 1e-8)
    assert params(net) == pytest.approx(list(w), rel=1e-9)


def test_first_adam_step_moves_each_weight_by_lr():
    net = tiny_net(dtype=np.float32)
    opt = make_optimizer("adam", net)
    set_grads(net)
    before = np.array(params(net))
    opt.step(0.001)
    np.testing.assert_allclose(np.abs(np.array(params(net)) - before), 0.001, rtol=1e-3)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("lbfgs", tiny_net())


def test_schedules():
    const = make_schedule("constant", 0.1, 100)
    assert const(0) == const(99) == 0.1
    step = make_schedule("step", 0.1, 100)
    assert step(49) == 0.1 and step(50) == pytest.approx(0.01) and step(75) == pytest.approx(0.001)
    cos = make_schedule("cosine", 0.1, 100)
    assert cos(0) == pytest.approx(0.05)             # warm-up over the first 2 steps
    assert cos(1) == pytest.approx(0.1)
    assert cos(99) == pytest.approx(0.001, rel=0.05)  # annealed to 1% of the base rate
    mid = cos(2 + 49)
    assert mid == pytest.approx(0.001 + 0.099 * 0.5 * (1 + math.cos(math.pi * 49 / 98)))
    values = [cos(s) for s in range(2, 100)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def _random_grad_sequence(steps, size=3, seed=0):
    """Gradients over eight orders of magnitude, so both the moments and eps matter."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((steps, size)) * 10.0 ** rng.uniform(-9, -1, (steps, size))


@pytest.mark.parametrize("lr_at", [lambda t: 0.01, lambda t: 0.01 / t], ids=["constant", "decaying"])
def test_adam_many_steps_match_textbook(lr_at):
    # The moments are stored rescaled (m / (1 - b1), v / (1 - b2)); 200 steps, tiny and large
    # gradients and a changing learning rate must still give the textbook update exactly.
    net = tiny_net()
    opt = make_optimizer("adam", net)
    w = np.array([1.0, -2.0, 0.5])
    m = np.zeros(3)
    v = np.zeros(3)
    for t, g in enumerate(_random_grad_sequence(200), start=1):
        set_grads(net, gw=g[:2], gb=g[2])
        opt.step(lr_at(t))
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - lr_at(t) * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    assert params(net) == pytest.approx(list(w), rel=1e-9, abs=1e-15)
    np.testing.assert_allclose(opt.m, m, rtol=1e-9)
    np.testing.assert_allclose(opt.v, v, rtol=1e-9)


def test_rmsprop_many_steps_match_textbook():
    net = tiny_net()
    opt = make_optimizer("rmsprop", net)
    w = np.array([1.0, -2.0, 0.5])
    r = np.zeros(3)
    for g in _random_grad_sequence(200, seed=1):
        set_grads(net, gw=g[:2], gb=g[2])
        opt.step(0.001)
        r = 0.9 * r + 0.1 * g * g
        w = w - 0.001 * g / (np.sqrt(r) + 1e-7)
    assert params(net) == pytest.approx(list(w), rel=1e-9, abs=1e-15)
    np.testing.assert_allclose(opt.r, r, rtol=1e-9)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_float32_optimizer_follows_float64(name):
    # The engine runs in float32: 500 steps of it stay within float32 rounding of the float64 run.
    runs = {}
    for dtype in (np.float64, np.float32):
        net = tiny_net(dtype=dtype)
        opt = make_optimizer(name, net)
        for g in _random_grad_sequence(500, seed=2):
            set_grads(net, gw=g[:2], gb=g[2])
            opt.step(0.001)
        runs[dtype] = np.array(params(net), dtype=np.float64)
    np.testing.assert_allclose(runs[np.float32], runs[np.float64], rtol=2e-5)
