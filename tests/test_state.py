"""Which model is speaking (mnist_gui.state.models): current, live once weights arrive, what the bars
are labelled, and the rule that decides whether a finished run becomes the current model."""

from __future__ import annotations

import numpy as np
import pytest

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


# -- the run's epochs (time travel) and what the insight views look at --------------------------------
def weights_of(seed: int, sizes=(784, 8, 10)) -> list[np.ndarray]:
    return Model(build_mlp(sizes, seed=seed), Normalization.unit()).network.get_weights()


def test_run_epochs_keep_each_epoch_and_build_its_model():
    from mnist_gui.state.epochs import RunEpochs

    template = model(0)
    run = RunEpochs(template, planned=3)
    for epoch in range(4):
        run.add(epoch, weights_of(10 + epoch))
    assert run.epochs() == [0, 1, 2, 3] and run.last() == 3 and run.planned == 3
    x = np.random.default_rng(0).integers(0, 256, (4, 784), dtype=np.uint8)
    for epoch in (2, 0, 2):
        expected = model(0)
        expected.network.set_weights(weights_of(10 + epoch))
        np.testing.assert_array_equal(run.model_at(epoch).predict_proba(x), expected.predict_proba(x))
    assert run.model_at(2) is run.model_at(2)                     # kept while it is being looked at
    np.testing.assert_array_equal(template.network.get_weights()[0], model(0).network.get_weights()[0])
    assert not run.weights(1)[0].flags.writeable


def test_run_epochs_thin_out_evenly_within_their_budget():
    from mnist_gui.state.epochs import RunEpochs

    size = sum(w.nbytes for w in weights_of(0))
    run = RunEpochs(model(0), planned=30, budget_bytes=10 * size)
    w = weights_of(1)
    for epoch in range(31):
        run.add(epoch, w)
        assert run.nbytes <= 10 * size
    kept = run.epochs()
    assert len(kept) == 10 and kept[0] == 0 and kept[-1] == 30
    assert max(np.diff(kept)) <= 2 * min(np.diff(kept)) + 1      # spread out, not bunched up


def test_inspection_follows_the_run_then_the_loaded_model():
    from mnist_gui.insight.evaluation import TEST_SET, VALIDATION_SET
    from mnist_gui.state.inspection import Inspection
    from mnist_gui.training import Predictions

    slots = ModelSlots()
    loaded = model(1)
    slots.load(loaded, "file.npz")
    insp = Inspection(slots)
    assert insp.model() is loaded and insp.caption() == "file.npz" and insp.epochs() == []
    request = insp.evaluation_request()
    assert request.model is loaded and request.images is None and request.name == TEST_SET
    test_images = np.zeros((6, 784), np.uint8)
    test_labels = np.array([0, 1, 2, 3, 4, 5], np.uint8)

    def answers(predicted):
        return Predictions(np.array(predicted, np.uint8), np.full(len(predicted), 0.9, np.float32))

    from mnist_gui.insight.evaluation import Evaluation
    insp.store_evaluation(request.key, Evaluation(test_images, test_labels, answers([0, 1, 2, 3, 4, 4])))
    assert insp.evaluation().confusion()[5, 4] == 1 and insp.evaluation_request() is None

    # A run starts: epoch 0 is the initial network; the views follow the network in training.
    initial = model(2)
    val_images, val_labels = np.zeros((3, 784), np.uint8), np.array([7, 8, 9], np.uint8)
    slots.start_training(initial)
    insp.start_run(initial, 2, val_images, val_labels)
    slots.apply_weights(weights_of(3))
    assert insp.epochs() == [0] and insp.model() is slots.live
    request = insp.evaluation_request()                  # epoch 0 has no validation yet: computed on demand
    assert request.name == VALIDATION_SET and request.images is val_images and "epoch 0" in request.about
    insp.add_epoch(1, tuple(weights_of(4)), answers([7, 8, 8]))
    assert insp.evaluation().name == VALIDATION_SET and insp.evaluation().accuracy() == pytest.approx(2 / 3)
    assert "epoch 1 of 2 done" in insp.caption()
    assert insp.map_request().key[2] == 1                  # the map follows the last finished epoch
    # Travelling back: epoch 1's weights, its evaluation; "now" again follows the live network.
    insp.select_epoch(1)
    np.testing.assert_array_equal(insp.model().network.get_weights()[0], weights_of(4)[0])
    assert insp.caption() == "epoch 1 of 2"
    insp.select_epoch(7)                                   # not an epoch of the run: now
    assert insp.epoch is None and insp.model() is slots.live
    insp.add_epoch(2, tuple(weights_of(5)), answers([7, 8, 9]))
    trained = model(5)
    slots.finish_training(finished("completed", 2), trained)
    insp.end_run(trained, answers([0, 1, 2, 3, 4, 5]), test_images, test_labels, "trained just now")
    assert insp.model() is trained and insp.evaluation().name == TEST_SET and insp.evaluation().accuracy() == 1.0
    assert insp.epochs() == [0, 1, 2]                      # the finished run can still be travelled
    insp.model_loaded(trained)                             # saving it under a name is still this run
    assert insp.epochs() == [0, 1, 2]
    other = model(6)
    slots.load(other, "other.npz")
    insp.model_loaded(other)                               # another model: the run's epochs go
    assert insp.epochs() == [] and insp.model() is other and insp.evaluation() is None
    stale = insp.evaluation_request()
    slots.load(loaded, "file.npz")
    insp.model_loaded(loaded)
    insp.store_evaluation(stale.key, Evaluation(test_images, test_labels, answers([0] * 6)))
    assert insp.evaluation().accuracy() == pytest.approx(5 / 6)   # a late answer for another model is dropped
    insp.dataset_changed()
    assert insp.evaluation() is None


def test_an_epoch_travelled_to_that_is_thinned_out_means_now():
    from mnist_gui.state.inspection import Inspection

    slots = ModelSlots()
    initial = model(2)
    slots.start_training(initial)
    insp = Inspection(slots, history_budget=2 * sum(w.nbytes for w in weights_of(0)))
    insp.start_run(initial, 5)
    insp.add_epoch(1, tuple(weights_of(3)), None)
    insp.select_epoch(1)
    assert insp.epoch == 1
    insp.add_epoch(2, tuple(weights_of(4)), None)      # over budget: epoch 1, in the middle, goes
    assert insp.epochs() == [0, 2] and insp.epoch is None and insp.model() is slots.displayed


def test_inspection_of_a_continued_run_and_of_a_model_chosen_during_it():
    from mnist_gui.state.inspection import Inspection

    slots = ModelSlots()
    parent = model(1)
    slots.load(parent, "parent")
    insp = Inspection(slots)
    slots.start_training(parent.copy())
    insp.start_run(parent, 7, epochs_before=4)             # trained 4 epochs before, 3 more now
    slots.apply_weights(weights_of(3))
    assert insp.epochs() == [4] and insp.following_run() and insp.model() is slots.live
    assert insp.caption() == "the network in training (epoch 4 of 7 done)"
    insp.add_epoch(5, tuple(weights_of(4)), None)
    insp.select_epoch(4)
    assert insp.caption() == "epoch 4, where this run continued from"
    insp.select_epoch(5)
    assert insp.caption() == "epoch 5 of 7"
    insp.select_epoch(None)
    chosen = model(9)
    slots.load(chosen, "chosen")                           # the user looks at another model during the run
    insp.model_loaded(chosen)
    assert not insp.following_run() and insp.model() is chosen and insp.caption() == "chosen"
    assert insp.evaluation_request().model is chosen and insp.map_request().model is chosen
    assert insp.epochs() == [4, 5]                         # the run's epochs stay: it is still training
    slots.follow_live()
    assert insp.following_run() and insp.model() is slots.live
