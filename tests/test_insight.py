"""The insight core (mnist_gui.insight): confusion counts, gallery filters, weight tiles, hidden
activations and the saliency map (checked against finite differences on the model), the PCA map."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import mnist
from mnist_gui.insight.digit_map import last_hidden, map_digits, principal_axes, sample_indices
from mnist_gui.insight.evaluation import (TEST_SET, Evaluation, confusion_counts, evaluate_model,
                                          per_class_accuracy)
from mnist_gui.insight.gallery import ORDERS, GalleryFilter, select
from mnist_gui.insight.inside import log_probability, look_inside, saliency_overlay, strongest
from mnist_gui.insight.weights import (DIVERGING, DIVERGING_PACKED, colourize, grid_for, packed, tile_mosaic,
                                      unit_image, unit_weights)
from mnist_gui.model import Model, Normalization, load_model
from mnist_gui.nn import build_mlp
from mnist_gui.resources_path import resource
from mnist_gui.training import Predictions, TrainingConfig, evaluate, train


@pytest.fixture(scope="module")
def trained():
    """A small real model: 784-64-32-10, one epoch on 20,000 images (about 95%)."""
    model, _ = train(TrainingConfig(hidden=(64, 32), epochs=1, limit=20000, normalization="standard"), mnist())
    return model


def as_float64(model: Model) -> Model:
    """The same model computing in float64, so finite differences are exact to ~1e-8."""
    network = build_mlp(model.sizes, activation=model.activation, dtype=np.float64)
    network.set_weights([w.astype(np.float64) for w in model.network.get_weights()])
    return Model(network, model.normalization)


def fake_evaluation(labels, predicted, confidence=None):
    labels, predicted = np.asarray(labels, np.uint8), np.asarray(predicted, np.uint8)
    confidence = np.linspace(0.5, 1.0, labels.size, dtype=np.float32) if confidence is None else \
        np.asarray(confidence, np.float32)
    images = np.zeros((labels.size, 784), np.uint8)
    return Evaluation(images, labels, Predictions(predicted, confidence))


# -- evaluation ------------------------------------------------------------------------------------
def test_confusion_counts_and_per_class_accuracy():
    labels = [0, 0, 0, 1, 1, 9, 9, 9, 9]
    predicted = [0, 0, 7, 1, 0, 9, 9, 4, 9]
    c = confusion_counts(labels, predicted)
    assert c.shape == (10, 10) and c.dtype == np.int64 and c.sum() == 9
    assert c[0, 0] == 2 and c[0, 7] == 1 and c[1, 0] == 1 and c[9, 9] == 3 and c[9, 4] == 1
    acc = per_class_accuracy(c)
    assert acc[0] == pytest.approx(2 / 3) and acc[1] == 0.5 and acc[9] == 0.75
    assert np.isnan(acc[5])                          # no image of a 5: no accuracy, not 0
    with pytest.raises(ValueError):
        confusion_counts([1, 2], [1])


def test_an_evaluation_is_the_training_pass_image_for_image(trained):
    data = mnist()
    images, labels = data.test_images[:3000], data.test_labels[:3000]
    ev = evaluate_model(trained.copy(), images, labels)
    _, accuracy = evaluate(trained, images, labels.astype(np.intp))
    assert ev.name == TEST_SET and len(ev) == 3000 and ev.accuracy() == pytest.approx(accuracy)
    np.testing.assert_array_equal(ev.predicted, trained.predict(images))
    probs = trained.predict_proba(images)
    np.testing.assert_allclose(ev.confidence, probs.max(axis=1), rtol=1e-5)
    assert np.trace(ev.confusion()) == round(accuracy * 3000)
    for array in (ev.images, ev.labels, ev.predicted, ev.confidence):
        assert not array.flags.writeable              # it crosses threads as it is
    own = np.zeros((2, 784), np.uint8)
    Evaluation(own, np.zeros(2, np.uint8), Predictions(np.zeros(2, np.uint8), np.ones(2, np.float32)))
    assert own.flags.writeable


# -- gallery ------------------------------------------------------------------------------------------
def test_gallery_filters_by_true_predicted_and_correctness():
    labels = [4, 4, 4, 9, 9, 4, 7]
    predicted = [4, 9, 9, 9, 4, 4, 1]
    ev = fake_evaluation(labels, predicted)
    assert list(select(ev, GalleryFilter(order="index"))) == list(range(7))
    assert list(select(ev, GalleryFilter(true_digit=4, order="index"))) == [0, 1, 2, 5]
    assert list(select(ev, GalleryFilter(predicted_digit=9, order="index"))) == [1, 2, 3]
    assert list(select(ev, GalleryFilter.cell(4, 9, order="index"))) == [1, 2]
    assert list(select(ev, GalleryFilter(correctness="wrong", order="index"))) == [1, 2, 4, 6]
    assert list(select(ev, GalleryFilter(correctness="right", order="index"))) == [0, 3, 5]
    assert select(ev, GalleryFilter(true_digit=3)).size == 0
    for cell in ((4, 9), (9, 4), (7, 1), (4, 4)):
        assert select(ev, GalleryFilter.cell(*cell)).size == ev.confusion()[cell]
    with pytest.raises(ValueError):
        GalleryFilter(true_digit=10)
    with pytest.raises(ValueError):
        GalleryFilter(order="random")


def test_confidently_wrong_first_then_the_surest_right():
    labels = [1, 1, 1, 1, 1, 1]
    predicted = [1, 7, 1, 7, 7, 1]
    confidence = [0.9, 0.6, 0.99, 0.95, 0.95, 0.5]
    ev = fake_evaluation(labels, predicted, confidence)
    assert list(select(ev, GalleryFilter())) == [3, 4, 1, 2, 0, 5]   # ties keep the set's order
    assert list(select(ev, GalleryFilter(order="least_sure"))) == [5, 1, 0, 3, 4, 2]
    assert list(select(ev, GalleryFilter(order="most_sure"))) == [2, 3, 4, 0, 1, 5]
    assert set(ORDERS) == {"wrong_first", "least_sure", "most_sure", "index"}


# -- weights ------------------------------------------------------------------------------------------
def test_the_diverging_colour_map_is_neutral_at_zero_and_signed():
    zero, low, high = colourize(np.array([0.0, -1.0, 1.0]))
    assert zero.min() >= 240 and np.ptp(zero.astype(int)) <= 4          # near-white, no hue
    assert low[2] > low[0] + 40 and high[0] > high[2] + 40               # blue below, red above
    assert DIVERGING.shape == (256, 3)
    ramp = colourize(np.linspace(0, 1, 50)).astype(int)
    assert np.all(np.diff(ramp[:, 1]) <= 0)                              # redder as it grows


def test_weight_tiles_show_each_unit_laid_out_like_the_image():
    w0 = np.zeros((784, 5), np.float32)
    w0[0, 0] = 1.0               # unit 0: top-left pixel excites
    w0[28 * 27 + 27, 1] = -2.0   # unit 1: bottom-right pixel inhibits
    w0[:, 2] = 0.5               # unit 2: uniform
    tiles = unit_weights(w0, [0, 1])
    assert tiles.shape == (2, 28, 28) and tiles[0, 0, 0] == 1 and tiles[1, 27, 27] == -2
    mosaic = tile_mosaic(w0, [0, 1, 2, 3, 4], columns=2)
    assert mosaic.shape == (3 * 29 - 1, 2 * 29 - 1) and mosaic.dtype == np.uint32 and mosaic.flags.c_contiguous
    assert packed(np.array([178, 24, 43])) == 0xFFB2182B
    assert mosaic[0, 0] == DIVERGING_PACKED[255]                          # unit 0, its own scale: full red
    assert mosaic[1, 1] == DIVERGING_PACKED[128] == packed(colourize(np.array(0.0)))   # zero weight
    assert mosaic[27, 29 + 27] == DIVERGING_PACKED[0]                     # unit 1, its corner: full blue
    assert mosaic[29 + 5, 5] == DIVERGING_PACKED[255]                     # unit 2: all at its own maximum
    assert mosaic[28, 3] == mosaic[3, 28] == packed(np.array([200, 200, 205]))   # the gaps
    assert mosaic[29 * 2 + 3, 29 + 3] == packed(np.array([200, 200, 205]))      # no unit 5: an empty cell
    same = tile_mosaic(w0, [0, 1, 2], columns=3, per_unit=False)          # one scale for the layer (max 2)
    assert same[0, 0] == packed(colourize(np.array([0.5]))[0])
    np.testing.assert_array_equal(tile_mosaic(w0, [2, 0], columns=2)[:28, :28], mosaic[29:29 + 28, :28])
    assert unit_image(w0, 1).shape == (28, 28, 3)
    with pytest.raises(ValueError):
        unit_weights(np.zeros((100, 3)), [0])


@pytest.mark.parametrize("units, width, height", [(256, 600, 300), (1024, 600, 250), (1024, 1200, 900),
                                                  (10, 300, 200), (1, 50, 50)])
def test_the_grid_fits_all_tiles_or_pages_them(units, width, height):
    columns, per_page, side = grid_for(units, width, height, min_tile=22)
    rows = -(-per_page // columns)
    assert columns * side <= width + 1e-6 and rows * side <= height + 1e-6
    if per_page == units:
        assert side >= 22
    else:
        assert side == 22 and per_page == columns * int(height // 22)


# -- inside the network ----------------------------------------------------------------------------------
def finite_difference_saliency(model: Model, image: np.ndarray, digit: int, pixels, eps: float) -> np.ndarray:
    """d log P(digit) / d intensity (pixel / 255) by central differences, at ``pixels``."""
    x = image.astype(np.float64).reshape(784)
    out = []
    for p in pixels:
        up, down = x.copy(), x.copy()
        up[p] += eps * 255.0
        down[p] -= eps * 255.0
        out.append((log_probability(model, up, digit) - log_probability(model, down, digit)) / (2 * eps))
    return np.array(out)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_saliency_is_the_gradient_of_the_winners_log_probability(activation):
    # Every pixel of real test digits, through a float64 network: analytic vs central differences.
    network = build_mlp((784, 24, 16, 10), activation=activation, seed=4, dtype=np.float64)
    model = Model(network, Normalization.standard())
    for image in mnist().test_images[:3]:
        look = look_inside(model, image)
        numeric = finite_difference_saliency(model, image, look.winner, range(784), eps=1e-6)
        analytic = look.saliency.reshape(784)
        assert np.linalg.norm(analytic - numeric) < 1e-6 * np.linalg.norm(numeric), activation


def test_saliency_of_the_trained_models_against_finite_differences(trained):
    # The real trained model (float32) and its float64 twin; and the shipped 784-1024-1024-10 one.
    twin = as_float64(trained)
    image = mnist().test_images[7]
    look64 = look_inside(twin, image)
    numeric = finite_difference_saliency(twin, image, look64.winner, range(784), eps=1e-6)
    assert np.linalg.norm(look64.saliency.reshape(784) - numeric) < 1e-6 * np.linalg.norm(numeric)
    look32 = look_inside(trained, image)                    # what the window computes
    assert look32.saliency.dtype == np.float32 and look32.winner == look64.winner
    np.testing.assert_allclose(look32.saliency, look64.saliency, rtol=1e-3, atol=1e-4 * np.abs(numeric).max())
    shipped = load_model(resource("pretrained.npz"))
    big = as_float64(shipped)
    pixels = np.random.default_rng(0).choice(784, 60, replace=False)
    look = look_inside(big, image)
    numeric = finite_difference_saliency(big, image, look.winner, pixels, eps=1e-6)
    assert np.linalg.norm(look.saliency.reshape(784)[pixels] - numeric) < 1e-5 * np.linalg.norm(numeric)


def test_a_look_inside_reads_the_network_without_touching_it(trained):
    image = mnist().test_images[3]
    network = trained.network
    trained.predict_proba(mnist().test_images[:5])        # fill the training-time buffers
    buffers = [{k: v.copy() for k, v in layer._buf._arrays.items()} for layer in network.layers]
    grads = network.flat_grads.copy()
    look = look_inside(trained, image)
    np.testing.assert_allclose(look.probabilities, trained.predict_proba_one(image), atol=1e-6)
    assert look.winner == int(np.argmax(trained.predict_proba_one(image)))
    assert [h.shape for h in look.hidden] == [(64,), (32,)] and look.kinds == ("ReLU", "ReLU")
    x = trained.encode(image.reshape(1, 784))
    h1 = np.maximum(x @ network.dense_layers[0].params["W"] + network.dense_layers[0].params["b"], 0)[0]
    np.testing.assert_allclose(look.hidden[0], h1, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(network.flat_grads, grads)
    for layer, before in zip(network.layers, buffers):
        for key, value in layer._buf._arrays.items():
            np.testing.assert_array_equal(value, before[key])


def test_strongest_units_and_the_overlay():
    assert list(strongest(np.array([0.1, 5.0, 0.0, 3.0, 7.0]), 3)) == [4, 1, 3]
    assert list(strongest(np.array([1.0, 2.0]), 5)) == [1, 0]
    s = np.zeros((28, 28), np.float32)
    s[3, 4], s[10, 10] = 2.0, -1.0
    rgba = saliency_overlay(s)
    assert rgba.shape == (28, 28, 4) and rgba[0, 0, 3] == 0             # no gradient: transparent
    assert rgba[3, 4, 0] > rgba[3, 4, 2] and rgba[10, 10, 2] > rgba[10, 10, 0]
    assert rgba[3, 4, 3] > rgba[10, 10, 3] > 0
    assert saliency_overlay(np.zeros((28, 28)))[..., 3].max() == 0


# -- the map of the digits -----------------------------------------------------------------------------------
def test_principal_axes_match_an_exact_eigendecomposition():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.standard_normal((64, 64)))[0]
    x = (rng.standard_normal((1500, 64)) * np.r_[9.0, 5.0, np.ones(62)]) @ basis.T + 3.0
    p = principal_axes(x)
    values, vectors = np.linalg.eigh(np.cov(x.T))
    assert abs(vectors[:, -1] @ p.axes[0]) > 0.9999 and abs(vectors[:, -2] @ p.axes[1]) > 0.9999
    np.testing.assert_allclose(p.explained, values[::-1][:2] / values.sum(), rtol=1e-3)
    np.testing.assert_allclose(p.mean, x.mean(axis=0), rtol=1e-4)
    flipped = principal_axes(x, reference=type(p)(p.mean, -p.axes, p.explained))
    np.testing.assert_allclose(flipped.axes, -p.axes, atol=1e-6)      # signs follow the previous map
    coords = p.project(x[:5])
    np.testing.assert_allclose(coords, (x[:5] - x.mean(axis=0)) @ p.axes.T, rtol=1e-3, atol=1e-3)


def test_the_map_of_a_trained_model_separates_the_digits(trained):
    data = mnist()
    idx = sample_indices(data.test_labels, per_digit=100)
    assert idx.size == 1000 and np.all(np.diff(idx) > 0)
    assert np.all(np.bincount(data.test_labels[idx], minlength=10) == 100)
    features = last_hidden(trained, data.test_images[idx])
    assert features.shape == (1000, 32) and features.min() >= 0
    m = map_digits(trained, data.test_images, data.test_labels, idx)
    np.testing.assert_array_equal(m.predicted, trained.predict(data.test_images[idx]))
    assert m.points.shape == (1000, 2) and m.hidden_units == 32
    # Same-digit points lie closer together than points in general.
    centres = np.array([m.points[m.labels == d].mean(axis=0) for d in range(10)])
    within = np.mean([np.linalg.norm(m.points[m.labels == d] - centres[d], axis=1).mean() for d in range(10)])
    overall = np.linalg.norm(m.points - m.points.mean(axis=0), axis=1).mean()
    assert within < 0.8 * overall
    untrained = Model(build_mlp((784, 64, 32, 10), seed=1), Normalization.standard())
    again = map_digits(untrained, data.test_images, data.test_labels, idx, reference=m.projection)
    assert again.points.shape == (1000, 2)
