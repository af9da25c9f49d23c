"""Teaching a model someone's handwriting: the fine-tune core, its job and library record, its honesty,
and the user's digits in a full training run."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import small_mnist
from mnist_gui.errors import ConfigError, DatasetError, ModelFileError
from mnist_gui.training import (BatchProgress, EpochResult, FineTuneConfig, TrainingConfig, TrainingControl,
                                TrainingFinished, fine_tune, train)

WRITER = 28   # a measuring writer (never trained on), the hardest of them for the shipped model
FAST = FineTuneConfig(steps=60, lr=1e-3, batch_size=64, variants=2, rounds=3)


def writer_digits(writer: int = WRITER, per_digit: int = 3, skip: int = 0):
    """The writer's digits as My digits records: ``per_digit`` of each digit (after the first ``skip``),
    in writing order, replayed on the canvas like a drawing."""
    from mnist_gui.imaging import pen_sets
    from mnist_gui.imaging.replay import as_strokes, network_inputs
    from mnist_gui.state.my_digits import MyDigit

    mine = sorted((d for d in pen_sets.pen_digits() if d.writer == writer), key=lambda d: d.sample)
    chosen = [d for c in range(10) for d in [x for x in mine if x.label == c][skip:skip + per_digit]]
    return [MyDigit.new(f"d{i}", d.label, as_strokes(d), network_inputs([d])[0], float(i)) for i, d in enumerate(chosen)]


@pytest.fixture(scope="module")
def data():
    return small_mnist(6000, 1000)


@pytest.fixture(scope="module")
def small_model(data):
    model, _ = train(TrainingConfig(hidden=(48,), epochs=1, val_size=500, seed=3), data)
    return model


@pytest.fixture(scope="module")
def digits():
    return writer_digits()


def _weights(model):
    return [w.copy() for w in model.network.get_weights()]


def test_fine_tune_teaches_a_writer_and_leaves_the_input_model_alone(small_model, digits, data):
    """The writer's other digits (never given) are read better; the input model is untouched; every
    figure the issue asks for is there; the new model says what it was fine-tuned from and on."""
    before_weights, before_meta = _weights(small_model), dict(small_model.metadata)
    others = writer_digits(per_digit=100, skip=3)
    x, y = np.stack([d.image for d in others]), np.array([d.label for d in others])
    events = []
    result = fine_tune(small_model, digits, data, config=FineTuneConfig(steps=150, lr=1e-3, batch_size=64,
                                                                        variants=4, rounds=3),
                       on_event=events.append, source="small")
    before = float(np.mean(small_model.predict(x) == y))
    after = float(np.mean(result.model.predict(x) == y))
    print(f"writer {WRITER}'s other {len(y)} digits: {before:.3f} -> {after:.3f}; metrics {result.metrics}")
    assert after > before + 0.05
    assert all(np.array_equal(a, b) for a, b in zip(before_weights, _weights(small_model)))
    assert small_model.metadata == before_meta and result.model is not small_model
    m = result.metrics
    for key in ("test_accuracy", "my_digits_accuracy", "test_accuracy_before", "my_digits_accuracy_before",
                "seconds", "n_digits", "n_held_out", "steps"):
        assert key in m, key
    assert m["before"] == {"test_accuracy": m["test_accuracy_before"], "my_digits_accuracy": m["my_digits_accuracy_before"]}
    assert m["after"] == {"test_accuracy": m["test_accuracy"], "my_digits_accuracy": m["my_digits_accuracy"]}
    assert m["n_digits"] == 30 and m["n_held_out"] == 10 and m["steps"] == 150 and m["status"] == "completed"
    assert m["test_accuracy"] > m["test_accuracy_before"] - 0.03   # MNIST replay: not forgotten
    # the events of a training: progress, one result per round, the end
    assert [e.epoch for e in events if isinstance(e, EpochResult)] == [1, 2, 3]
    assert any(isinstance(e, BatchProgress) for e in events) and isinstance(events[-1], TrainingFinished)
    assert events[-1] is result.finished and result.finished.test_accuracy == m["test_accuracy"]
    meta = result.model.metadata["fine_tune"]
    assert meta["from"] == "small" and meta["on"]["n_digits"] == 30 and meta["on"]["per_digit"] == [3] * 10
    assert result.model.metadata["test_accuracy"] == m["test_accuracy"]


@pytest.mark.parametrize("final_on_all", [True, False])
def test_held_out_digits_are_never_in_a_batch_before_they_are_measured(small_model, digits, data, monkeypatch,
                                                                        final_on_all):
    """Every batch is recorded (no re-drawings, no distortion: a drawing enters a batch as it is); none
    of the held-out drawings is in one before the figure is taken; with final_on_all they are after."""
    from mnist_gui.nn.network import Network

    batches = []
    original = Network.train_step_gradients

    def recording(self, x, labels):
        batches.append(x.copy())
        return original(self, x, labels)

    monkeypatch.setattr(Network, "train_step_gradients", recording)
    cfg = FineTuneConfig(steps=40, batch_size=64, my_share=0.5, variants=0, augment=False, rounds=2,
                         final_on_all=final_on_all)
    result = fine_tune(small_model, digits, data, config=cfg)
    held = result.held_out
    assert len(held) == 10 and sorted(digits[i].label for i in held) == list(range(10))   # one of each digit
    encoded = small_model.encode(np.stack([d.image for d in digits]))
    rows = {i: encoded[i].tobytes() for i in range(len(digits))}
    split = result.metrics["estimate_step"]
    assert split == 24
    seen_before = {r.tobytes() for b in batches[:split] for r in b}
    seen_after = {r.tobytes() for b in batches[split:] for r in b}
    assert not any(rows[i] in seen_before for i in held)
    assert all(rows[i] in seen_before for i in range(len(digits)) if i not in held)   # the others were used
    assert any(rows[i] in seen_after for i in held) == final_on_all
    assert result.metrics["my_digits_accuracy"] is not None and len(batches) == 40


def test_stop_ends_the_fine_tune_with_what_it_learnt(small_model, digits, data):
    control = TrainingControl()
    steps = []

    def on_event(event):
        if isinstance(event, BatchProgress):
            steps.append(event.step)
            if event.step >= 5:
                control.stop()

    result = fine_tune(small_model, digits, data, config=FAST, control=control, on_event=on_event,
                       progress_interval=0.0)
    assert result.finished.status == "stopped" and "stopped" in result.finished.reason
    assert result.metrics["steps"] == 5 and result.metrics["status"] == "stopped"
    # the held-out figure is still taken (the held-out drawings were never trained on)
    assert result.metrics["my_digits_accuracy"] is not None and result.metrics["test_accuracy"] is not None


def test_few_digits_give_no_held_out_figure_rather_than_a_dishonest_one(small_model, digits, data):
    one_each = [next(d for d in digits if d.label == c) for c in range(10)]
    result = fine_tune(small_model, one_each, data, config=FineTuneConfig(steps=5, variants=1))
    assert result.held_out == () and result.metrics["my_digits_accuracy"] is None
    assert "not measured" in result.metrics["my_digits_measured"]


def test_bad_inputs_are_refused_before_any_work(small_model, digits, data):
    from mnist_gui.model import Model
    from mnist_gui.nn import build_mlp

    with pytest.raises(DatasetError, match="no drawings"):
        fine_tune(small_model, [], data)
    with pytest.raises(DatasetError, match="at least 5"):
        fine_tune(small_model, digits[:4], data)

    class Bad:
        label, strokes, image = 12, digits[0].strokes, digits[0].image

    with pytest.raises(DatasetError, match="12"):
        fine_tune(small_model, digits[:9] + [Bad()], data)
    odd = Model(build_mlp((100, 8, 10)), small_model.normalization)
    with pytest.raises(ModelFileError, match="100 inputs"):
        fine_tune(odd, digits, data)
    with pytest.raises(ConfigError) as info:
        fine_tune(small_model, digits, data, config=FineTuneConfig(steps=0))
    assert info.value.field == "steps"


def test_a_drawing_without_usable_strokes_falls_back_to_its_image():
    from mnist_gui.imaging.user_digits import digit_pool

    good = writer_digits(per_digit=1)[:2]

    class NoStrokes:   # e.g. a picture dropped on the canvas and labelled: only its 28x28 image
        label, image, strokes = 4, good[0].image[::-1].copy(), ()

    pool = digit_pool([*good, NoStrokes()], 3, seed=0)
    assert pool.images.shape == (4, 3, 784) and pool.labels.tolist() == [0, 1, 4] and pool.fallbacks == 1
    assert all(np.array_equal(pool.images[k, 2], NoStrokes.image) for k in range(4))
    assert np.array_equal(pool.images[0, 0], good[0].image)
    assert not any(np.array_equal(pool.images[k, 0], good[0].image) for k in range(1, 4))   # re-drawn
    assert np.array_equal(digit_pool(good, 3, seed=0).images, digit_pool(good, 3, seed=0).images)   # seeded


def test_the_fine_tune_job_records_a_new_run_in_the_library(small_model, digits, data, tmp_path):
    from mnist_gui.jobs import FineTune, FineTuneOutcome, FineTuneStarted, LoadDataset, RecordRun, WeightsSnapshot
    from mnist_gui.state.library import RunLibrary

    library = RunLibrary(tmp_path / "lib")
    parent = library.get("shipped")
    job = FineTune(small_model, digits, LoadDataset(None, data), FAST, RecordRun(str(tmp_path / "lib"), parent))
    payloads = []
    job.run(payloads.append)
    assert isinstance(payloads[0], FineTuneStarted) and payloads[0].source == "Shipped model"
    assert any(isinstance(p, WeightsSnapshot) for p in payloads)
    outcome = payloads[-1]
    assert isinstance(outcome, FineTuneOutcome) and outcome.record_error is None
    record = outcome.record
    assert record.origin == "fine-tuned" and record.parent == "shipped" and record.status == "completed"
    assert record.name == "Shipped model + my 30 digits" and record.epochs == parent.epochs
    assert record.metrics["my_digits_accuracy"] == outcome.metrics["my_digits_accuracy"]
    assert record.metrics["test_accuracy_before"] == outcome.metrics["test_accuracy_before"]
    assert record.raw["fine_tune"]["before"] == outcome.metrics["before"]
    assert [r.id for r in RunLibrary(tmp_path / "lib").records()] == ["shipped", record.id]
    assert len(library.curves(record.id).epochs) == FAST.rounds
    assert library.load_model(record.id).metadata["fine_tune"]["from"] == "Shipped model"


def test_stopping_the_fine_tune_job_records_a_stopped_run(small_model, digits, data, tmp_path):
    from mnist_gui.jobs import FineTune, FineTuneOutcome, LoadDataset, RecordRun

    job = FineTune(small_model, digits, LoadDataset(None, data), FAST, RecordRun(str(tmp_path / "lib")),
                   progress_interval=0.0)
    payloads = []

    def report(payload):
        payloads.append(payload)
        if isinstance(payload, BatchProgress) and payload.step == 3:
            job.control.stop()

    job.run(report)
    outcome = payloads[-1]
    assert isinstance(outcome, FineTuneOutcome) and outcome.result.status == "stopped"
    assert outcome.record.status == "stopped" and outcome.metrics["steps"] == 3


def test_my_digits_in_a_full_training_run(digits, data):
    from mnist_gui.training import TrainingSession
    from mnist_gui.training.batches import MixedBatchSource

    cfg = TrainingConfig(hidden=(16,), epochs=1, batch_size=100, val_size=500, limit=2000, my_digits=0.2)
    session = TrainingSession(cfg, data, my_digits=digits)
    run = session._start()
    assert isinstance(run.batches, MixedBatchSource) and run.batches.n_pen == 20
    x, y = run.batches.next_batch(np.random.default_rng(0))
    assert x.shape == (100, 784) and np.bincount(y[80:], minlength=10).sum() == 20
    assert session.my_pool.images.shape == (5, 30, 784)   # each drawing and 4 re-drawings
    events = list(session.run())
    assert isinstance(events[-1], TrainingFinished) and events[-1].status == "completed"
    assert session.model.metadata["my_digits"] == {"n_digits": 30, "share": 0.2}
    assert session.model.metadata["config"]["my_digits"] == 0.2
    with pytest.raises(ConfigError) as info:
        TrainingSession(cfg, data)
    assert info.value.field == "my_digits"
    with pytest.raises(ConfigError) as info:
        TrainingConfig(my_digits=0.3, pen_digits=0.25).validate()
    assert info.value.field == "my_digits"


# -- the command line -------------------------------------------------------------------------------------
@pytest.fixture
def files(small_model, digits, tmp_path):
    from mnist_gui.model import save_model
    from mnist_gui.state.my_digits import MyDigits

    model_path = tmp_path / "small.npz"
    save_model(small_model, model_path)
    store = MyDigits(tmp_path / "mine.jsonl")
    for d in digits:
        store.add(d.label, d.strokes, d.image)
    return model_path, store.path


def _last_json(text: str) -> dict:
    import json

    return json.loads(text.strip().splitlines()[-1])


def _runs(tmp_path) -> list:
    folder = tmp_path / "data" / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_cli_finetune_json_and_library(files, tmp_path, capsys):
    from mnist_gui.cli import main
    from mnist_gui.model import load_model
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary

    model_path, digits_path = files
    out = tmp_path / "new.npz"
    assert main(["finetune", str(model_path), str(digits_path), "--out", str(out), "--steps", "20", "--seed", "2",
                 "--json"]) == 0
    summary = _last_json(capsys.readouterr().out)
    for key in ("test_accuracy", "my_digits_accuracy", "test_accuracy_before", "my_digits_accuracy_before",
                "before", "after", "seconds", "n_digits", "out", "n_held_out", "steps", "run_id", "current"):
        assert key in summary, key
    assert summary["out"] == str(out) and summary["n_digits"] == 30 and summary["steps"] == 20
    assert summary["config"]["seed"] == 2 and summary["current"] is True
    assert summary["before"]["test_accuracy"] == summary["test_accuracy_before"]
    saved = load_model(out)
    assert saved.metadata["fine_tune"]["on"]["n_digits"] == 30
    library = RunLibrary(data_dir())
    record = library.get(summary["run_id"])
    parent = library.get(summary["parent"])
    assert record.origin == "fine-tuned" and parent.origin == "imported" and library.current_id() == record.id
    assert record.metrics["my_digits_accuracy_before"] == summary["my_digits_accuracy_before"]


@pytest.mark.parametrize("case", ["missing digits", "too few", "not a set", "no folder", "bad model", "bad steps"])
def test_cli_finetune_bad_input_is_one_error_line_and_writes_nothing(files, tmp_path, capsys, case):
    from mnist_gui.cli import main
    from mnist_gui.state.my_digits import MyDigits

    model_path, digits_path = files
    out = tmp_path / "new.npz"
    args = [str(model_path), str(digits_path), "--out", str(out)]
    if case == "missing digits":
        args[1] = str(tmp_path / "nope.jsonl")
    elif case == "too few":
        mine, few = MyDigits(digits_path), MyDigits(tmp_path / "few.jsonl")
        mine.load()
        for d in mine.records[:3]:
            few.add(d.label, d.strokes, d.image)
        args[1] = str(few.path)
    elif case == "not a set":
        (tmp_path / "junk.jsonl").write_text("hello\n")
        args[1] = str(tmp_path / "junk.jsonl")
    elif case == "no folder":
        args[3] = str(tmp_path / "missing" / "new.npz")
    elif case == "bad model":
        (tmp_path / "bad.npz").write_bytes(b"not a model")
        args[0] = str(tmp_path / "bad.npz")
    else:
        args += ["--steps", "0"]
    capsys.readouterr()
    assert main(["finetune", *args, "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not out.exists() and _runs(tmp_path) == []


def test_cli_train_with_my_digits(files, tmp_path, capsys):
    from mnist_gui.cli import main
    from mnist_gui.model import load_model

    _, digits_path = files
    out = tmp_path / "t.npz"
    assert main(["train", "--hidden", "16", "--epochs", "1", "--limit", "2000", "--val-size", "500",
                 "--my-digits", str(digits_path), "--out", str(out), "--json"]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["config"]["my_digits"] == 0.1
    assert load_model(out).metadata["my_digits"]["n_digits"] == 30
    assert main(["train", "--epochs", "1", "--my-digits-share", "0.2"]) == 2
    assert "--my-digits" in capsys.readouterr().err
