"""The training worker: signals in order, throttled progress, pause/resume/stop, clean joins, failures."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from helpers import threads_started_since
from mnist_gui.errors import ConfigError, DatasetError
from mnist_gui.training import BatchProgress, EpochResult, TrainingConfig
from mnist_gui.ui.worker import (DatasetLoaded, TrainingOutcome, TrainingRunner, TrainingStarted, TrainingWorker,
                                 WeightsSnapshot)

SMALL = TrainingConfig(hidden=(32,), epochs=2, limit=3000, val_size=1000)
# Many small batches, so a run lasts long enough to be paused or stopped in the middle.
LONG = TrainingConfig(hidden=(64,), epochs=3, batch_size=16, limit=30000, val_size=1000)


@pytest.fixture(scope="module")
def data():
    from mnist_gui.data import load_mnist

    return load_mnist(None)


class Recorder:
    """Connects to every worker signal and keeps (name, payload, time) in arrival order."""

    NAMES = ("dataset_ready", "training_started", "progress", "snapshot", "epoch_finished", "finished",
             "failed", "done")

    def __init__(self, worker: TrainingWorker) -> None:
        self.events: list[tuple[str, object, float]] = []
        for name in self.NAMES:
            getattr(worker, name).connect(lambda *args, n=name: self.events.append(
                (n, args[0] if args else None, time.perf_counter())))

    def of(self, name: str) -> list:
        return [payload for n, payload, _ in self.events if n == name]

    def names(self) -> list[str]:
        return [n for n, _, _ in self.events]


def run(qtbot, worker: TrainingWorker, timeout: int = 20000) -> tuple[TrainingRunner, Recorder]:
    runner = TrainingRunner()
    rec = Recorder(worker)
    with qtbot.waitSignal(worker.done, timeout=timeout):
        runner.start(worker)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    return runner, rec


def test_a_run_reports_everything_in_order_and_joins_its_thread(qtbot, data):
    threads_before = set(threading.enumerate())
    worker = TrainingWorker(SMALL, data=data)
    runner, rec = run(qtbot, worker)
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
    assert runner.thread is None and not runner.is_running()
    assert not threads_started_since(threads_before)


def test_progress_is_throttled_and_each_tick_carries_the_current_weights(qtbot, data):
    worker = TrainingWorker(TrainingConfig(hidden=(32,), epochs=1, batch_size=8, limit=20000, val_size=1000),
                            data=data)
    _, rec = run(qtbot, worker)
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
    worker = TrainingWorker(None)   # config None: only load (and check) the dataset
    seen = []
    worker.dataset_ready.connect(lambda loaded: seen.append(loaded))
    gui_thread = threading.get_ident()
    loader_threads = []
    import mnist_gui.data as data_module
    original = data_module.load_mnist

    def spy(path):
        loader_threads.append(threading.get_ident())
        return original(path)

    data_module.load_mnist = spy
    try:
        run(qtbot, worker)
    finally:
        data_module.load_mnist = original
    assert loader_threads and loader_threads[0] != gui_thread
    assert isinstance(seen[0], DatasetLoaded) and seen[0].path is None
    assert seen[0].data.train_images.shape == (60000, 784)


def test_pause_holds_training_and_resume_finishes_it(qtbot, data):
    worker = TrainingWorker(LONG, data=data)
    runner = TrainingRunner()
    rec = Recorder(worker)
    runner.start(worker)
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
    worker = TrainingWorker(LONG, data=data)
    runner = TrainingRunner()
    rec = Recorder(worker)
    runner.start(worker)
    qtbot.waitUntil(lambda: len(rec.of("progress")) >= 2, timeout=10000)
    t0 = time.perf_counter()
    runner.stop()
    with qtbot.waitSignal(worker.done, timeout=10000):
        pass
    assert time.perf_counter() - t0 < 2.0
    result = rec.of("finished")[0].result
    assert result.status == "stopped" and 0.0 <= result.test_accuracy <= 1.0
    assert rec.of("progress")[-1].step < rec.of("progress")[-1].total_steps
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)


def test_shutdown_mid_run_joins_at_once_and_reports_nothing_more(qtbot, data):
    threads_before = set(threading.enumerate())
    worker = TrainingWorker(LONG, data=data)
    runner = TrainingRunner()
    rec = Recorder(worker)
    runner.start(worker)
    qtbot.waitUntil(lambda: len(rec.of("progress")) >= 2, timeout=10000)
    thread = runner.thread
    runner.pause()                      # even a paused run must wake up and leave
    t0 = time.perf_counter()
    runner.shutdown()
    assert time.perf_counter() - t0 < 1.0
    assert not thread.isRunning() and runner.thread is None
    qtbot.wait(50)
    assert not rec.of("finished")       # abandoned: no test evaluation, no result
    assert not threads_started_since(threads_before)
    runner.shutdown()                   # idempotent


def test_a_bad_dataset_fails_cleanly(qtbot, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    worker = TrainingWorker(SMALL, dataset_path=str(tmp_path))
    runner, rec = run(qtbot, worker)
    assert rec.names()[-2:] == ["failed", "done"]
    assert isinstance(rec.of("failed")[0], DatasetError)
    assert not runner.is_running()


def test_an_impossible_config_fails_cleanly(qtbot, data):
    worker = TrainingWorker(TrainingConfig(hidden=(16,), epochs=1, val_size=70000), data=data)
    _, rec = run(qtbot, worker)
    assert isinstance(rec.of("failed")[0], ConfigError)
    assert "validation size" in str(rec.of("failed")[0])


def test_a_new_run_can_start_right_after_the_previous_one(qtbot, data):
    runner = TrainingRunner()
    for _ in range(3):
        worker = TrainingWorker(TrainingConfig(hidden=(8,), epochs=1, limit=500, val_size=100), data=data)
        with qtbot.waitSignal(worker.done, timeout=10000):
            runner.start(worker)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert not runner.is_running()
