"""Real pen-drawn digits as the app uses them (mnist_gui.imaging.pen_sets): the writer split, the shipped
renderings (checked against fresh ones), the pen-drawn report, and training with pen digits and scribbles."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import random_data
from mnist_gui.imaging import pen_sets
from mnist_gui.imaging.replay import network_inputs
from mnist_gui.imaging.scribbles import scribble_set


def test_no_writer_is_on_both_sides():
    digits = pen_sets.pen_digits()
    assert {d.writer for d in digits} == set(range(1, 31))
    measuring, training = pen_sets.measuring_set(), pen_sets.training_set()
    assert set(measuring.writers.tolist()) == set(pen_sets.MEASURING_WRITERS)
    assert not set(training.writers.tolist()) & set(pen_sets.MEASURING_WRITERS)
    assert len(measuring) + len(training) == len(digits) == 7494
    assert training.images.shape == (1 + pen_sets.VARIANTS, len(training), 784)


def test_the_shipped_renderings_are_what_the_code_renders_now():
    # A change to the rasterizer, the replay or the preprocessing must come with a rebuilt file
    # (python -m mnist_gui.imaging.pen_sets); this catches a forgotten one.
    digits = pen_sets.pen_digits()
    measuring = [d for d in digits if d.writer in pen_sets.MEASURING_WRITERS]
    training = [d for d in digits if d.writer not in pen_sets.MEASURING_WRITERS]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(measuring), 15, replace=False):
        np.testing.assert_array_equal(network_inputs([measuring[i]])[0], pen_sets.measuring_set().images[i])
    shipped = pen_sets.training_set().images
    for i in rng.choice(len(training), 6, replace=False):
        np.testing.assert_array_equal(network_inputs([training[i]])[0], shipped[0, i])
        for k in range(pen_sets.VARIANTS):
            np.testing.assert_array_equal(pen_sets.variant_input(training[i], k), shipped[1 + k, i])
    walks, kinds = scribble_set(pen_sets.SCRIBBLES_PER_KIND, pen_sets.SCRIBBLE_SEED, pen_px=pen_sets.PEN_PX,
                                canvas=pen_sets.CANVAS, kinds=("walk",))
    np.testing.assert_array_equal(walks, pen_sets.outlier_scribbles()[:len(walks)])


def test_the_pen_drawn_report():
    from mnist_gui.model import load_model
    from mnist_gui.resources_path import resource

    report = pen_sets.pen_drawn_report(load_model(resource("pretrained.npz")))
    assert report["pen_drawn_n"] == len(pen_sets.measuring_set()) and len(report["pen_drawn_per_digit"]) == 10
    assert 0.8 < report["pen_drawn_accuracy"] <= 1 and report["pen_drawn_writers"] == list(pen_sets.MEASURING_WRITERS)
    assert min(report["pen_drawn_per_digit"]) <= report["pen_drawn_accuracy"] <= max(report["pen_drawn_per_digit"])


def test_training_with_pen_digits_and_scribbles():
    """Batches carry pen digits and scribbles; every epoch reports the pen-drawn accuracy; the model
    records it and, trained with scribbles, its "not a digit" threshold (the 2% quantile of its own
    validation digits' max logits: 1.5%)."""
    from helpers import small_mnist
    from mnist_gui.training import EpochResult, TrainingConfig, TrainingSession
    from mnist_gui.training.batches import NOT_A_DIGIT, MixedBatchSource

    data = small_mnist(6000, 500)
    cfg = TrainingConfig(hidden=(32,), epochs=2, batch_size=100, val_size=1000, pen_digits=0.25, scribbles=0.1)
    session = TrainingSession(cfg, data)
    run = session._start()
    assert isinstance(run.batches, MixedBatchSource)
    x, y = next(iter(run.batches.epoch(np.random.default_rng(0))))
    assert x.shape == (100, 784) and (y == NOT_A_DIGIT).sum() == 10 and (y >= 0).sum() == 90
    session = TrainingSession(cfg, data)
    events = list(session.run())
    epochs = [e for e in events if isinstance(e, EpochResult)]
    assert all(0 < e.pen_accuracy <= 1 for e in epochs) and len(epochs) == 2
    finished = events[-1]
    assert finished.pen_drawn_accuracy == epochs[-1].pen_accuracy
    meta = session.model.metadata
    assert meta["pen_drawn_accuracy"] == finished.pen_drawn_accuracy and len(meta["pen_drawn_per_digit"]) == 10
    scores = session.model.network.logits(session.model.encode(session.val_x)).max(axis=1)
    assert meta["not_a_digit"]["threshold"] == pytest.approx(float(np.quantile(scores, 0.015)))
    assert session.model.not_a_digit_threshold == meta["not_a_digit"]["threshold"]
    flagged = np.mean(scores < session.model.not_a_digit_threshold)
    assert 0.005 <= flagged <= 0.025


def test_pen_digits_need_mini_batches():
    from mnist_gui.errors import ConfigError
    from mnist_gui.training import TrainingConfig

    with pytest.raises(ConfigError) as info:
        TrainingConfig(batch_size=0, pen_digits=0.25).validate()
    assert info.value.field == "batch_size" and "pen-drawn" in str(info.value)
    with pytest.raises(ConfigError):
        TrainingConfig(pen_digits=0.4, scribbles=0.2).validate()
    TrainingConfig(pen_digits=0.0, scribbles=0.0, batch_size=0).validate()
    assert random_data is not None
