"""Which model is speaking (mnist_gui.state.models): current, live once weights arrive, what the bars
are labelled, and the rule that decides whether a finished run becomes the current model."""

from __future__ import annotations

import numpy as np

from mnist_gui.model import Model, Normalization
from mnist_gui.nn import build_mlp
from mnist_gui.state.models import ModelSlots, becomes_current
from mnist_gui.training import TrainingFinished


def model(seed: int) -> Model:
    return Model(build_mlp((784, 8, 10), seed=seed), Normalization.unit())


def finished(status: str, epochs: int) -> TrainingFinished:
    return TrainingFinished(status=status, reason="", epochs_completed=epochs, test_accuracy=0.9, test_loss=0.3,
                            val_accuracy=None, train_seconds=1.0, samples_per_second=1.0, history=())


def test_the_rule_for_a_finished_run():
    # A completed run becomes current, unless the user chose another model while it trained.
    assert becomes_current("completed", has_current=True, chosen_during_run=False)
    assert not becomes_current("completed", has_current=True, chosen_during_run=True)
    # Stopped or diverged: never by itself (the user is told and chooses)...
    for status in ("stopped", "diverged"):
        for chosen in (False, True):
            assert not becomes_current(status, has_current=True, chosen_during_run=chosen)
    # ...except a stopped run when there is no model at all: it replaces nothing.
    assert becomes_current("stopped", has_current=False, chosen_during_run=False)
    assert not becomes_current("diverged", has_current=False, chosen_during_run=False)
    assert becomes_current("completed", has_current=False, chosen_during_run=False)


def test_predictions_follow_the_live_network_only_once_its_weights_arrive():
    slots = ModelSlots()
    loaded, initial, trained = model(1), model(2), model(3)
    slots.load(loaded, "file")
    assert slots.displayed is loaded and not slots.training and slots.caption() == "current: file"
    slots.start_training(initial)
    assert slots.training and slots.displayed is loaded       # no weights yet: the current model speaks
    live = slots.apply_weights(trained.network.get_weights())
    assert live is initial and slots.displayed is initial
    assert slots.caption() == "in training"
    slots.note_progress(3, 5)
    slots.note_epoch(0.9712)
    assert slots.caption() == "in training: epoch 3/5, 97.1% val"
    x = np.random.default_rng(0).integers(0, 256, (3, 784), dtype=np.uint8)
    np.testing.assert_array_equal(slots.displayed.predict_proba(x), trained.predict_proba(x))
    assert slots.finish_training(finished("completed", 2), trained, name="run 1")
    assert slots.loaded is trained and slots.displayed is trained and slots.source == "run 1"
    assert not slots.training and slots.caption() == "current: run 1"


def test_a_model_chosen_during_training_speaks_and_stays_current():
    slots = ModelSlots()
    slots.load(model(1), "first")
    slots.start_training(model(2))
    slots.apply_weights(model(5).network.get_weights())
    assert slots.displayed is slots.live
    other = model(4)
    slots.load(other, "opened")                                # the user's choice during the run
    assert slots.displayed is other and slots.chosen_during_run and slots.caption() == "current: opened"
    assert slots.follow_live() and slots.displayed is slots.live   # "watch the run" again
    assert not slots.finish_training(finished("completed", 2), model(3), name="run")
    assert slots.loaded is other and slots.source == "opened"  # the choice stands
    assert not slots.follow_live()                             # no run any more


def test_a_stopped_or_diverged_run_leaves_the_current_model():
    slots = ModelSlots()
    loaded = model(1)
    slots.load(loaded, "file")
    for status, epochs in (("diverged", 3), ("stopped", 0), ("stopped", 4)):
        slots.start_training(model(2))
        slots.apply_weights(model(5).network.get_weights())
        assert not slots.finish_training(finished(status, epochs), model(3))
        assert slots.loaded is loaded and slots.displayed is loaded and slots.source == "file"
    slots.start_training(model(2))
    slots.apply_weights(model(5).network.get_weights())
    slots.end_training()                                       # failed or abandoned
    assert slots.displayed is loaded and slots.apply_weights(model(5).network.get_weights()) is None


def test_without_a_model_a_stopped_run_becomes_current():
    slots = ModelSlots()
    assert slots.caption() == "no model"
    slots.start_training(model(2))
    trained = model(3)
    assert slots.finish_training(finished("stopped", 0), trained)
    assert slots.loaded is trained and slots.source == "unsaved run (stopped)"
