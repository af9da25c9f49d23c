"""Which model is speaking (mnist_gui.state.models): loaded, live once weights arrive, and the keep rule."""

from __future__ import annotations

import numpy as np
import pytest

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
