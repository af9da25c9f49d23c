"""Finite-difference gradient checks for every layer, activation and the fused loss.

The checks run the engine's own code in float64 (the buffers follow the input's dtype), so the
central differences are accurate to ~1e-7 and a wrong gradient cannot hide in float32 noise.
"""

import numpy as np
import pytest

from mnist_gui.nn import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, SoftmaxCrossEntropy, Tanh, build_mlp

RNG = np.random.default_rng(1234)


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def rel_error(a, b):
    """Norm-relative error: robust to entries so small that round-off dominates them."""
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


def away_from_kinks(x, margin=1e-3):
    # ReLU-like functions are not differentiable at 0; keep test inputs away from it.
    x[np.abs(x) < margin] = margin * 10
    return x


def check_layer_input_grad(layer, x):
    """Loss = sum(forward(x) * R) for a fixed random R, so dLoss/dout = R."""
    out = layer.forward(x.copy(), training=True)
    r = RNG.standard_normal(out.shape)
    analytic = layer.backward(r.copy()).copy()

    def f():
        return float(np.sum(layer.forward(x, training=True) * r))

    numeric = numeric_grad(f, x)
    assert rel_error(analytic, numeric) < 1e-7, (analytic, numeric)


@pytest.mark.parametrize("act", [ReLU(), LeakyReLU(0.1), Tanh(), Sigmoid()], ids=lambda a: type(a).__name__)
def test_activation_gradients(act):
    x = away_from_kinks(RNG.standard_normal((5, 7)))
    check_layer_input_grad(act, x)


def test_dense_gradients():
    layer = Dense(6, 4, rng=np.random.default_rng(0))
    for name in ("W", "b"):
        layer.params[name] = layer.params[name].astype(np.float64)
        layer.grads[name] = np.zeros_like(layer.params[name])
    x = RNG.standard_normal((5, 6))
    check_layer_input_grad(layer, x)
    r = RNG.standard_normal((5, 4))
    layer.forward(x)
    layer.backward(r.copy())
    for name in ("W", "b"):
        p = layer.params[name]
        numeric = numeric_grad(lambda: float(np.sum(layer.forward(x) * r)), p)
        assert rel_error(layer.grads[name], numeric) < 1e-7


def test_dense_skips_input_gradient_when_not_needed():
    layer = Dense(6, 4)
    layer.forward(np.ones((3, 6), np.float32))
    assert layer.backward(np.ones((3, 4), np.float32), need_input_grad=False) is None
    assert np.all(layer.grads["W"] == 3.0)


def test_dropout_gradient_with_fixed_mask():
    drop = Dropout(0.4)
    x = RNG.standard_normal((6, 8))

    class FixedRng:  # the same mask on every forward, so finite differences see one function
        def random(self, out, dtype):
            out[...] = np.random.default_rng(7).random(out.shape)
            return out

    drop.rng = FixedRng()
    check_layer_input_grad(drop, x)
    out = drop.forward(x, training=True)
    kept = out != 0
    assert 0.3 < 1 - kept.mean() < 0.5
    np.testing.assert_allclose(out[kept], x[kept] / 0.6)
    np.testing.assert_array_equal(drop.forward(x, training=False), x)


def test_softmax_cross_entropy_gradient_and_value():
    loss = SoftmaxCrossEntropy()
    logits = RNG.standard_normal((6, 10)) * 3
    labels = RNG.integers(0, 10, 6)
    value = loss.forward(logits, labels)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])), rel=1e-12)
    analytic = loss.backward().copy()
    np.testing.assert_allclose(analytic, (p - np.eye(10)[labels]) / 6, atol=1e-12)
    numeric = numeric_grad(lambda: loss.forward(logits, labels), logits)
    assert rel_error(analytic, numeric) < 1e-7


def test_not_a_digit_rows_are_trained_toward_the_uniform_distribution():
    # Outlier exposure: label -1 means "no class"; its target is 1/K everywhere.
    loss = SoftmaxCrossEntropy()
    logits = RNG.standard_normal((7, 10)) * 3
    labels = np.array([3, -1, 0, -1, 9, 5, -1])
    value = loss.forward(logits, labels)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    target = np.where(labels[:, None] < 0, 0.1, np.eye(10)[np.maximum(labels, 0)])
    assert value == pytest.approx(-np.mean((target * np.log(p)).sum(1)), rel=1e-12)
    analytic = loss.backward().copy()
    np.testing.assert_allclose(analytic, (p - target) / 7, atol=1e-12)
    numeric = numeric_grad(lambda: loss.forward(logits, labels), logits)
    assert rel_error(analytic, numeric) < 1e-7
    # float32 gives the same, and the uniform rows leave the labelled ones exactly as before
    loss.forward(logits.astype(np.float32), labels)
    np.testing.assert_allclose(loss.backward(), analytic, atol=1e-6)


def test_loss_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    assert loss.forward(logits, np.array([0])) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(loss.forward(logits, np.array([2])))
    assert np.all(np.isfinite(loss.backward()))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_whole_network_gradient(activation):
    net = build_mlp((12, 9, 7, 4), activation=activation, seed=3, dtype=np.float64)
    x = RNG.standard_normal((5, 12))
    y = RNG.integers(0, 4, 5)
    net.train_step_gradients(x, y)
    analytic = net.flat_grads.copy()

    def f():
        return net.loss.forward(net.forward(x, training=False), y)

    numeric = numeric_grad(f, net.flat_params)
    assert rel_error(analytic, numeric) < 1e-7


def test_network_packs_params_into_flat_views():
    net = build_mlp((784, 32, 10), seed=0)
    assert net.n_params == 784 * 32 + 32 + 32 * 10 + 10
    w0 = net.dense_layers[0].params["W"]
    assert np.shares_memory(w0, net.flat_params)
    net.flat_params[0] = 42.0
    assert w0[0, 0] == 42.0
    assert net.decay_mask.sum() == 784 * 32 + 32 * 10


def test_float32_buffers_are_reused_across_batches():
    net = build_mlp((784, 64, 10), seed=0)
    x = np.zeros((128, 784), np.float32)
    y = np.zeros(128, np.int64)
    net.train_step_gradients(x, y)
    out1 = net.layers[0].forward(x)
    net.train_step_gradients(x, y)
    out2 = net.layers[0].forward(x)
    assert out1 is out2 and out1.dtype == np.float32


def test_he_and_xavier_scales():
    from mnist_gui.nn.init import he_normal, xavier_uniform
    rng = np.random.default_rng(0)
    w = he_normal(1000, 500, rng)
    assert w.dtype == np.float32 and abs(w.std() - np.sqrt(2 / 1000)) < 0.002
    w = xavier_uniform(300, 200, rng)
    limit = np.sqrt(6 / 500)
    assert w.max() <= limit and w.min() >= -limit and abs(w.std() - limit / np.sqrt(3)) < 0.002


def test_network_clone_is_independent_and_keeps_flat_views():
    net = build_mlp((784, 32, 16, 10), dropout=0.2, seed=0)
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    net.train_step_gradients(x, np.zeros(64, np.int64))       # fill scratch buffers and per-batch state
    twin = net.clone()
    assert np.array_equal(twin.flat_params, net.flat_params)
    assert all(np.shares_memory(l.params["W"], twin.flat_params) for l in twin.dense_layers)
    assert not np.shares_memory(twin.flat_params, net.flat_params)
    assert not hasattr(twin.dense_layers[0], "_x") and twin.dense_layers[0]._buf._arrays == {}
    twin.flat_params[:] = 0
    assert net.flat_params.any()
    np.testing.assert_array_equal(net.clone().logits(x), net.logits(x))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_inference_pass_matches_the_training_pass_and_touches_no_state(activation):
    # The one stateless forward pass (Network.infer, used by predictions and the model-file check)
    # computes what the layer pipeline computes, with or without BLAS, and leaves its buffers alone.
    net = build_mlp((784, 32, 16, 10), activation=activation, dropout=0.3, seed=3)
    x = RNG.standard_normal((5, 784)).astype(np.float32)
    expected = net.forward(x, training=False).copy()
    buffers = [dict(layer._buf._arrays) for layer in net.layers]
    for blas in (True, False):
        np.testing.assert_allclose(net.infer(x, blas=blas), expected, rtol=1e-5, atol=1e-6)
    assert [dict(layer._buf._arrays) for layer in net.layers] == buffers


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("blas", [True, False], ids=["blas", "einsum"])
def test_the_stateless_input_gradient_matches_finite_differences_and_backward(activation, blas):
    # Network.input_gradient (what the saliency map is made of) is backward() without its state:
    # checked against central differences of the stateless pass, and against the training pass.
    net = build_mlp((12, 9, 7, 4), activation=activation, dropout=0.25, seed=5, dtype=np.float64)
    x = RNG.standard_normal((3, 12))
    r = RNG.standard_normal((3, 4))
    buffers = [dict(layer._buf._arrays) for layer in net.layers]
    grads = net.flat_grads.copy()
    trace = net.infer_trace(x, blas=blas)
    np.testing.assert_allclose(trace[-1], net.infer(x), rtol=1e-12)
    analytic = net.input_gradient(trace, r.copy(), blas=blas)
    assert [dict(layer._buf._arrays) for layer in net.layers] == buffers
    np.testing.assert_array_equal(net.flat_grads, grads)
    numeric = numeric_grad(lambda: float(np.sum(net.infer(x) * r)), x)
    assert rel_error(analytic, numeric) < 1e-7
    # The training pass, asked for the input gradient by putting a layer in front of the first Dense.
    out = net.forward(x, training=False)
    grad = r.copy()
    for layer in reversed(net.layers):
        grad = layer.backward(grad)
    np.testing.assert_allclose(out, trace[-1], rtol=1e-12)
    assert rel_error(analytic, grad) < 1e-8   # (1 - alpha) + alpha is not exactly 1 in backward()
