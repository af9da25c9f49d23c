"""Which model is speaking (mnist_gui.state.models): loaded, live once weights arrive, and the keep rule."""

from __future__ import annotations

import numpy as np

from mnist_gui.model import Model, Normalization
from mnist_gui.nn import build_mlp
from mnist_gui.state.models import ModelSlots, keeps
from mnist_gui.training import TrainingFinished


def model(seed: int) -> Model:
    return Model(build_mlp((784, 8, 10), seed=seed), Normalization.unit())


def finished(status: str, epochs: int) -> TrainingFinished:
    return TrainingFinished(status=status, reason="", epochs_completed=epochs, test_accuracy=0.9, test_loss=0.3,
                            val_accuracy=None, train_seconds=1.0, samples_per_second=1.0, history=())


def test_the_keep_rule():
    assert keeps(finished("completed", 3), has_model=True)
    assert keeps(finished("stopped", 1), has_model=True)
    assert not keeps(finished("stopped", 0), has_model=True)     # the old model is likely better
    assert keeps(finished("stopped", 0), has_model=False)        # better than nothing
    assert not keeps(finished("diverged", 2), has_model=False)


def test_predictions_follow_the_live_network_only_once_its_weights_arrive():
    slots = ModelSlots()
    loaded, initial, trained = model(1), model(2), model(3)
    slots.load(loaded, "file.npz")
    assert slots.displayed is loaded and not slots.training
    slots.start_training(initial)
    assert slots.training and slots.displayed is loaded       # no weights yet: the loaded model speaks
    live = slots.apply_weights(trained.network.get_weights())
    assert live is initial and slots.displayed is initial
    x = np.random.default_rng(0).integers(0, 256, (3, 784), dtype=np.uint8)
    np.testing.assert_array_equal(slots.displayed.predict_proba(x), trained.predict_proba(x))
    other = model(4)
    slots.load(other, "opened.npz")                            # opened during the run: loaded, not displayed
    assert slots.loaded is other and slots.displayed is initial
    assert slots.finish_training(finished("completed", 2), trained)
    assert slots.loaded is trained and slots.displayed is trained and slots.source == "trained just now (completed)"
    assert not slots.training


def test_a_run_that_is_not_kept_leaves_the_loaded_model():
    slots = ModelSlots()
    loaded = model(1)
    slots.load(loaded, "file.npz")
    for status, epochs in (("diverged", 3), ("stopped", 0)):
        slots.start_training(model(2))
        slots.apply_weights(model(5).network.get_weights())
        assert not slots.finish_training(finished(status, epochs), model(3))
        assert slots.loaded is loaded and slots.displayed is loaded and slots.source == "file.npz"
    slots.start_training(model(2))
    slots.apply_weights(model(5).network.get_weights())
    slots.end_training()                                       # failed or abandoned
    assert slots.displayed is loaded and slots.apply_weights(model(5).network.get_weights()) is None
