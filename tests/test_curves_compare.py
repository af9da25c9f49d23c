"""A run's curves (mnist_gui.state.curves) and runs side by side (mnist_gui.state.compare): recording,
bounds, continuation, the file format's checks, the configuration diff and the metrics files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mnist_gui.state.compare import compare_rows, metrics_csv, metrics_json, series_csv, write_metrics
from mnist_gui.state.curves import MAX_BATCH_POINTS, CurvesError, RunCurves
from mnist_gui.state.library import RunLibrary
from mnist_gui.training import BatchProgress, EpochResult, TrainingConfig, TrainingFinished
from test_library import add_run, curves_of, finished, small_model


def tick(epoch, batch, batches, step, total, loss):
    return BatchProgress(epoch=epoch, epochs=1, batch=batch, batches=batches, step=step, total_steps=total,
                         loss=loss, smoothed_loss=loss, lr=0.1, samples_per_second=1.0, elapsed=1.0, eta=1.0,
                         mean_loss=loss)


def test_curves_record_what_the_plots_draw_and_read_back():
    curves = curves_of(2)
    assert curves.batch_x == [0.5, 1.0, 1.5, 2.0] and curves.batch_step == [5, 10, 15, 20]
    assert curves.total_steps == 20 and [e["epoch"] for e in curves.epochs] == [1, 2] and curves.tests == [(2.0, 0.91)]
    again = RunCurves.from_json(json.loads(json.dumps(curves.to_json())))
    assert again.to_json() == curves.to_json()


def test_a_long_run_keeps_a_bounded_curve_with_its_shape():
    curves = RunCurves()
    n = 5 * MAX_BATCH_POINTS
    for step in range(1, n + 1):
        curves.add(tick(1, step, n, step, n, 1.0 + step / n))
    assert MAX_BATCH_POINTS // 2 <= len(curves.batch_x) <= MAX_BATCH_POINTS
    assert curves.batch_x == sorted(curves.batch_x) and curves.batch_step[-1] == n
    assert curves.batch_loss[0] == pytest.approx(1.0, abs=0.01)
    assert curves.batch_loss[-1] == pytest.approx(2.0, abs=0.01)


def test_continued_curves_go_on_after_the_parents():
    parent = curves_of(2)
    child = parent.continued()
    child.add(tick(3, 5, 10, 5, 10, 0.2))
    child.add(EpochResult(epoch=3, epochs=3, train_loss=0.1, train_accuracy=0.9, val_loss=0.2, val_accuracy=0.88,
                          seconds=1.0, elapsed=1.0))
    child.add(finished(epochs=1, acc=0.93))
    assert child.batch_x[-1] == 2.5 and child.batch_step[-1] == 25 and child.total_steps == 30
    assert [e["epoch"] for e in child.epochs] == [1, 2, 3] and child.tests == [(2.0, 0.91), (3.0, 0.93)]
    assert len(parent.epochs) == 2                      # the parent's own curves are untouched


@pytest.mark.parametrize("data", [
    None, [], {"format": 2}, {"format": 1},
    {"format": 1, "batch": {"x": [1.0], "step": [], "loss": []}, "epochs": [], "tests": []},
    {"format": 1, "batch": {"x": ["a"], "step": [1], "loss": [1.0]}, "epochs": [], "tests": []},
    {"format": 1, "batch": {"x": [], "step": [], "loss": []}, "epochs": [{"epoch": 1}], "tests": []},
    {"format": 1, "batch": {"x": [], "step": [], "loss": []}, "epochs": [], "tests": [{"x": 1}]},
    {"format": 1, "batch": {"x": [], "step": [], "loss": []}, "epochs": "many", "tests": []},
])
def test_damaged_curves_are_refused(data):
    with pytest.raises(CurvesError):
        RunCurves.from_json(data)


def test_a_model_files_history_gives_usable_epochs_only():
    history = [{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8}, "junk", {"epoch": "x"},
               {"epoch": 2, "train_loss": 0.4, "train_accuracy": 0.85, "val_loss": None, "val_accuracy": 0.83}]
    curves = RunCurves.from_history(history, 0.84)
    assert [e["epoch"] for e in curves.epochs] == [1, 2] and curves.tests == [(2.0, 0.84)]
    assert RunCurves.from_history("not a list", None).epochs == []


def test_configs_side_by_side_mark_what_differs(tmp_path):
    library = RunLibrary(tmp_path / "lib")
    a = add_run(library, 0)
    b = library.add_training_run(small_model(1), finished(acc=0.95), TrainingConfig(hidden=(8,), epochs=2, lr=0.01,
                                 optimizer="sgd", preset=None), {"source": "test", "checksum": "0" * 64}, None,
                                 "2026-11-22T15:30:00+01:00")
    rows = {r.label: r for r in compare_rows([a, b])}
    assert rows["lr"].differs and rows["lr"].values == ("0.001", "0.01")
    assert rows["optimizer"].differs and rows["optimizer"].values == ("adam", "sgd")
    assert rows["preset"].values == ("fast", "—")
    assert not rows["hidden"].differs and rows["hidden"].values == ("8", "8")
    assert not rows["dataset checksum"].differs and rows["test accuracy"].values == ("91.00%", "95.00%")
    assert {r.label for r in compare_rows([a, b]) if r.differs and r.section == "config"} == {"lr", "optimizer",
                                                                                              "preset"}
    # A metric added later (another measurement of a run) shows up without any change here.
    a = library.update_metrics(a.id, {"pen_drawn_accuracy": 0.875})
    rows = {r.label: r for r in compare_rows([a, b])}
    assert rows["pen drawn accuracy"].values == ("0.875", "—") and rows["pen drawn accuracy"].differs


def test_metrics_files_read_back(tmp_path):
    library = RunLibrary(tmp_path / "lib")
    runs = [(add_run(library, seed), None) for seed in range(2)]
    runs = [(r, library.curves(r.id)) for r, _ in runs]
    table = list(csv.DictReader(io.StringIO(metrics_csv(runs))))
    first = [row for row in table if row["run_id"] == runs[0][0].id]
    assert {row["metric"] for row in first if not row["epoch"]} == {"test_accuracy", "val_accuracy", "test_loss",
                                                                     "train_seconds"}
    val = [(int(row["epoch"]), float(row["value"])) for row in first
           if row["metric"] == "val_accuracy" and row["epoch"]]
    assert val == [(1, pytest.approx(0.8)), (2, pytest.approx(0.81))]
    parsed = json.loads(metrics_json(runs))
    assert [p["id"] for p in parsed] == [r.id for r, _ in runs] and len(parsed[0]["epoch_history"]) == 2
    assert parsed[0]["metrics"]["test_accuracy"] == 0.91 and "current" not in parsed[0]
    assert write_metrics(tmp_path / "m.CSV", runs) == "csv" and write_metrics(tmp_path / "m.json", runs) == "json"
    assert json.loads((tmp_path / "m.json").read_text()) == parsed
    rows = list(csv.reader(io.StringIO(series_csv([("train", [1.0, 2.0], [0.5, 0.25])], "loss"))))
    assert rows == [["series", "epoch", "loss"], ["train", "1.0", "0.5"], ["train", "2.0", "0.25"]]


def test_finished_event_without_a_test_accuracy_adds_no_star():
    curves = RunCurves()
    curves.add(TrainingFinished(status="stopped", reason="", epochs_completed=0, test_accuracy=float("nan"),
                                test_loss=float("nan"), val_accuracy=None, train_seconds=0.0, samples_per_second=0.0))
    assert curves.tests == [] and json.dumps(curves.to_json())
