"""The job runner: signals in order, throttled progress, pause/resume/stop, clean joins, failures."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from helpers import threads_started_since
from mnist_gui.errors import ConfigError, DatasetError
from mnist_gui.training import BatchProgress, EpochResult, TrainingConfig
from mnist_gui.jobs import (DatasetLoaded, LoadDataset, Train, TrainingOutcome, TrainingStarted, WeightsSnapshot)
from mnist_gui.ui.worker import TrainingRunner

SMALL = TrainingConfig(hidden=(32,), epochs=2, limit=3000, val_size=1000)
# Many small batches, so a run lasts long enough to be paused or stopped in the middle.
LONG = TrainingConfig(hidden=(64,), epochs=3, batch_size=16, limit=30000, val_size=1000)


@pytest.fixture(scope="module")
def data():
    from mnist_gui.data import load_mnist

    return load_mnist(None)


class Recorder:
    """Connects to every signal of the runner and keeps (name, payload, time) in arrival order."""

    def __init__(self, runner: TrainingRunner) -> None:
        self.events: list[tuple[str, object, float]] = []
        names = TrainingRunner.signal_names()
        assert len(names) == 11 and names[-1] == "done"
        for name in names:
            getattr(runner, name).connect(lambda *args, n=name: self.events.append(
                (n, args[0] if args else None, time.perf_counter())))

    def of(self, name: str) -> list:
        return [payload for n, payload, _ in self.events if n == name]

    def names(self) -> list[str]:
        return [n for n, _, _ in self.events]


def train_job(config, data=None, dataset_path=None) -> Train:
    return Train(config, LoadDataset(dataset_path, data))


def run(qtbot, job, timeout: int = 20000) -> tuple[TrainingRunner, Recorder]:
    runner = TrainingRunner()
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.done, timeout=timeout):
        runner.run(job)
    assert not runner.is_busy()          # by ``done`` the job's thread has been joined
    return runner, rec


def start(job) -> tuple[TrainingRunner, Recorder]:
    runner = TrainingRunner()
    rec = Recorder(runner)
    runner.run(job)
    return runner, rec


def test_a_run_reports_everything_in_order_and_joins_its_thread(qtbot, data):
    threads_before = set(threading.enumerate())
    runner, rec = run(qtbot, train_job(SMALL, data))
    names = rec.names()
    assert names[0] == "training_started" and names[-2:] == ["finished", "done"]
    assert "dataset_ready" not in names            # the data were given: nothing loaded
    started = rec.of("training_started")[0]
    assert isinstance(started, TrainingStarted) and started.n_train == 3000
    assert all(isinstance(p, BatchProgress) for p in rec.of("progress"))
    epochs = rec.of("epoch_finished")
    assert [e.epoch for e in epochs] == [1, 2] and all(isinstance(e, EpochResult) for e in epochs)
    outcome = rec.of("finished")[0]
    assert isinstance(outcome, TrainingOutcome) and outcome.result.status == "completed"
    assert outcome.result.test_accuracy > 0.7
    assert outcome.model.predict_proba(data.test_images[:5]).shape == (5, 10)
    assert rec.of("progress")[-1].step == rec.of("progress")[-1].total_steps   # the last step always arrives
    assert runner.current_thread is None and not runner.is_running()
    assert not threads_started_since(threads_before)


def test_each_epoch_end_reports_its_weights_and_what_it_said_about_the_validation_set(qtbot, data):
    # What the confusion matrix follows during a run and time travel replays: computed by the run
    # anyway (its validation pass, its final test pass), so the window need not evaluate anything.
    from mnist_gui.insight.evaluation import evaluate_model
    from mnist_gui.jobs import EpochSnapshot

    _, rec = run(qtbot, train_job(SMALL, data))
    names = rec.names()
    started = rec.of("training_started")[0]
    assert started.validation_images.shape == (1000, 784) and not started.validation_images.flags.writeable
    assert started.validation_labels.dtype == np.uint8
    snaps = rec.of("epoch_snapshot")
    assert [s.epoch for s in snaps] == [1, 2] and all(isinstance(s, EpochSnapshot) for s in snaps)
    for i, name in enumerate(names):
        if name == "epoch_finished":
            assert names[i + 1] == "epoch_snapshot"
    epochs = rec.of("epoch_finished")
    for snap, result in zip(snaps, epochs):
        assert all(not w.flags.writeable for w in snap.weights)
        at_epoch = started.model.copy()
        at_epoch.network.set_weights(snap.weights)
        again = evaluate_model(at_epoch, started.validation_images, started.validation_labels)
        np.testing.assert_array_equal(snap.validation.predicted, again.predicted)
        assert again.accuracy() == pytest.approx(result.val_accuracy)
    outcome = rec.of("finished")[0]
    test = evaluate_model(outcome.model.copy(), data.test_images, data.test_labels)
    np.testing.assert_array_equal(outcome.test.predicted, test.predicted)
    np.testing.assert_allclose(outcome.test.confidence, test.confidence)
    assert test.accuracy() == pytest.approx(outcome.result.test_accuracy)


def test_progress_is_throttled_and_each_tick_carries_the_current_weights(qtbot, data):
    _, rec = run(qtbot, train_job(TrainingConfig(hidden=(32,), epochs=1, batch_size=8, limit=20000, val_size=1000),
                                  data))
    times = [t for n, _, t in rec.events if n == "progress"]
    batches = rec.of("progress")[-1].total_steps
    assert batches == 2500 and len(times) < batches / 10
    span = times[-1] - times[0]
    assert len(times) <= 25 * span + 3, f"{len(times)} progress signals in {span:.2f}s"
    snaps = rec.of("snapshot")
    assert 1 <= len(snaps) <= len(times) and all(isinstance(s, WeightsSnapshot) for s in snaps)
    # At most 5 a second (each re-predicts the drawing in the GUI thread), and always the last step.
    assert len(snaps) <= 5 * span + 3, f"{len(snaps)} snapshots in {span:.2f}s"
    assert len(snaps) < len(times) or len(times) <= 3
    assert snaps[-1].step == batches
    assert all(not w.flags.writeable for w in snaps[-1].weights)   # immutable: the GUI cannot scribble on them
    # Applying the last snapshot to the initial copy reproduces the trained model's predictions.
    template = rec.of("training_started")[0].model
    final = rec.of("finished")[0].model
    x = data.test_images[:50]
    before = template.predict_proba(x)
    snaps[-1].apply_to(template)
    assert not np.allclose(before, template.predict_proba(x))
    np.testing.assert_allclose(template.predict_proba(x), final.predict_proba(x), atol=1e-5)


def test_the_dataset_is_loaded_in_the_worker_thread(qtbot):
    job = LoadDataset(None)   # only load (and check) the dataset
    gui_thread = threading.get_ident()
    loader_threads = []
    import mnist_gui.data as data_module
    original = data_module.load_mnist

    def spy(path, stop=None):
        loader_threads.append(threading.get_ident())
        return original(path, stop=stop)

    data_module.load_mnist = spy
    try:
        _, rec = run(qtbot, job)
    finally:
        data_module.load_mnist = original
    seen = rec.of("dataset_ready")
    assert loader_threads and loader_threads[0] != gui_thread
    assert isinstance(seen[0], DatasetLoaded) and seen[0].path is None
    assert seen[0].data.train_images.shape == (60000, 784)


def test_pause_holds_training_and_resume_finishes_it(qtbot, data):
    runner, rec = start(train_job(LONG, data))
    qtbot.waitUntil(lambda: len(rec.of("progress")) >= 2, timeout=10000)
    runner.pause()
    qtbot.wait(150)                     # at most one batch finishes after the pause
    steps_at_pause = rec.of("progress")[-1].step
    qtbot.wait(400)
    assert rec.of("progress")[-1].step == steps_at_pause, "training went on while paused"
    assert runner.is_running() and not rec.of("finished")
    runner.resume()
    qtbot.waitUntil(lambda: rec.of("progress")[-1].step > steps_at_pause, timeout=5000)
    runner.stop()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)
    assert rec.of("finished")[0].result.status == "stopped"


def test_stop_takes_effect_within_a_batch_and_still_reports_test_metrics(qtbot, data):
    runner, rec = start(train_job(LONG, data))
    qtbot.waitUntil(lambda: len(rec.of("progress")) >= 2, timeout=10000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(runner.done, timeout=10000):
        runner.stop()
    assert time.perf_counter() - t0 < 2.0
    result = rec.of("finished")[0].result
    assert result.status == "stopped" and 0.0 <= result.test_accuracy <= 1.0
    assert rec.of("progress")[-1].step < rec.of("progress")[-1].total_steps
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)


def test_shutdown_mid_run_joins_at_once_and_reports_nothing_more(qtbot, data):
    threads_before = set(threading.enumerate())
    runner, rec = start(train_job(LONG, data))
    qtbot.waitUntil(lambda: len(rec.of("progress")) >= 2, timeout=10000)
    thread = runner.current_thread
    runner.pause()                      # even a paused run must wake up and leave
    t0 = time.perf_counter()
    runner.shutdown()
    assert time.perf_counter() - t0 < 1.0
    assert not thread.isRunning() and runner.current_thread is None
    qtbot.wait(50)
    assert not rec.of("finished")       # abandoned: no test evaluation, no result
    assert not threads_started_since(threads_before)
    runner.shutdown()                   # idempotent


def test_a_bad_dataset_fails_cleanly(qtbot, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    runner, rec = run(qtbot, train_job(SMALL, dataset_path=str(tmp_path)))
    assert rec.names()[-2:] == ["failed", "done"]
    assert isinstance(rec.of("failed")[0], DatasetError)
    assert not runner.is_running()


def test_an_impossible_config_fails_cleanly(qtbot, data):
    _, rec = run(qtbot, train_job(TrainingConfig(hidden=(16,), epochs=1, val_size=70000), data))
    assert isinstance(rec.of("failed")[0], ConfigError)
    assert "validation size" in str(rec.of("failed")[0])


def test_a_new_run_can_start_right_after_the_previous_one(qtbot, data):
    runner = TrainingRunner()
    for _ in range(3):
        with qtbot.waitSignal(runner.done, timeout=10000):
            runner.train(TrainingConfig(hidden=(8,), epochs=1, limit=500, val_size=100), data=data)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert not runner.is_running()
