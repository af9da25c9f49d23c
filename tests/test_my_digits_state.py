"""The Qt-free parts of My digits the window uses: the model's reading of the set, a slice at a time
(mnist_gui.state.set_reading), and putting deleted drawings back where they were (undo)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_gui.imaging.strokes import Stroke
from mnist_gui.model import Model, Normalization
from mnist_gui.nn import build_mlp
from mnist_gui.state.my_digits import MyDigits
from mnist_gui.state.set_reading import SetReading


@pytest.fixture
def store(tmp_path):
    s = MyDigits(tmp_path / "my-digits.jsonl")
    s.load()
    stroke = [Stroke(0.05, np.array([[0.2, 0.2, 1.0], [0.8, 0.8, 1.0]]))]
    for i, (label, bright) in enumerate([(1, 300), (1, 10), (0, 5), (0, 400), (1, 500)]):
        image = np.zeros(784, np.uint8)
        image[:bright] = 255
        s.add(label, stroke, image)
    return s


def test_the_set_is_read_in_slices_and_scored(store):
    model = Model(_net(), Normalization.unit())
    reading = SetReading()
    reading.set_model(model, store.records)
    assert reading.pending() == 5 and reading.score(store.records).accuracy is None
    assert reading.step(2, blas=False) is False
    partial = reading.score(store.records)
    assert partial.read == 2 and not partial.complete and partial.accuracy is None
    assert reading.step(100) is True and reading.pending() == 0
    predicted = [reading.prediction(r.id) for r in store.records]
    assert predicted == [1, 0, 0, 1, 1]
    score = reading.score(store.records)
    assert (score.total, score.read, score.right) == (5, 5, 3) and score.accuracy == pytest.approx(0.6)
    assert score.per_digit[:2] == (2, 3) and score.wrong_per_digit[:2] == (1, 1)
    # A relabel costs no new prediction; a new drawing costs one row; a new model starts over.
    store.relabel(store.records[1].id, 0)
    assert reading.pending() == 0 and reading.score(store.records).right == 4
    record = store.add(1, store.records[0].strokes, store.records[0].image)
    reading.add(store.records)
    assert reading.pending() == 1 and reading.step(10) and reading.prediction(record.id) == 1
    reading.set_model(None, store.records)
    assert reading.pending() == 0 and reading.prediction(record.id) is None
    assert reading.score(store.records).accuracy is None


def _net():
    """784 -> 10: logit 1 = (number of bright pixels - 100) / 100, the others 0."""
    net = build_mlp([784, 10], "relu", seed=0)
    dense = net.dense_layers[0]
    dense.params["W"][:] = 0
    dense.params["b"][:] = 0
    dense.params["W"][:, 1] = 0.01
    dense.params["b"][1] = -1.0
    return net


def test_deleted_drawings_are_put_back_where_they_were(store):
    ids = [r.id for r in store.records]
    gone = store.positions([ids[1], ids[3]])
    assert [i for i, _ in gone] == [1, 3]
    for _, r in gone:
        store.delete(r.id)
    store.add(7, store.records[0].strokes, store.records[0].image)   # the set moved on meanwhile
    assert store.put_back(gone) == 2 and store.put_back(gone) == 0  # twice: nothing doubled
    again = MyDigits(store.path)
    again.load()
    assert [r.id for r in again.records][:5] == ids and again.records[5].label == 7
