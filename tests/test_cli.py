"""The command line: train/evaluate/predict, JSON output, exit codes and one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import mnist
from mnist_gui.cli import main

FAST_ARGS = ["--hidden", "64", "--epochs", "2", "--limit", "8000", "--val-size", "1000"]


def run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-m", "mnist_gui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "m.npz"
    proc = run_cli("train", *FAST_ARGS, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout.strip().splitlines()[-1])


def test_train_json_summary_and_saved_model(trained):
    out, summary = trained
    for key in ("test_accuracy", "val_accuracy", "epochs", "train_seconds", "samples_per_second"):
        assert key in summary
    assert summary["epochs"] == 2 and summary["test_accuracy"] > 0.88
    assert out.is_file()


def test_evaluate_reproduces_training_accuracy_exactly(trained, capsys):
    out, summary = trained
    assert main(["evaluate", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_accuracy"] == summary["test_accuracy"]
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10000
    assert np.trace(confusion) / 10000 == pytest.approx(result["test_accuracy"])
    assert len(result["per_class"]) == 10


def test_evaluate_plain_text(trained, capsys):
    assert main(["evaluate", str(trained[0])]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "confusion" in text


def test_predict_on_mnist_digit_png(trained, tmp_path, capsys):
    pytest.importorskip("PySide6.QtGui")
    from PySide6.QtGui import QImage

    d = mnist()
    paths = []
    for i in range(3):
        digit = d.test_images[i].reshape(28, 28)
        big = np.kron(255 - digit, np.ones((10, 10), np.uint8)).astype(np.uint8)  # dark on light, 280x280
        img = QImage(big.data, 280, 280, 280, QImage.Format.Format_Grayscale8).copy()
        path = tmp_path / f"digit{i}.png"
        assert img.save(str(path))
        paths.append(str(path))
    assert main(["predict", str(trained[0]), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["digit"] for r in results] == [int(v) for v in d.test_labels[:3]]
    assert all(abs(sum(r["probabilities"]) - 1) < 1e-4 for r in results)


def test_list_presets(capsys):
    assert main(["train", "--list-presets"]) == 0
    text = capsys.readouterr().out
    for name in ("keras-book", "tiny-gd", "scratch-256-64", "fast", "best"):
        assert name in text


@pytest.mark.parametrize("args,message", [
    (["train", "--hidden", "abc"], "--hidden"),
    (["train", "--lr", "-1", *FAST_ARGS], "learning rate"),
    (["train", "--batch-size", "0", "--epochs", "0"], "epochs"),
    (["train", "--preset", "nope"], "unknown preset"),
    (["train", "--hidden", "100000,100000,100000"], "GiB"),
    (["train", "--data", "/nonexistent/folder", *FAST_ARGS], "nonexistent"),
    (["train", *FAST_ARGS, "--out", "/nonexistent/dir/m.npz"], "does not exist"),
    (["evaluate", "/nonexistent.npz"], "no such file"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exit_2_with_one_error_line(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_model_file_exit_2(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    proc = run_cli("evaluate", str(bad))
    assert proc.returncode == 2 and proc.stderr.startswith("error: bad.npz:"), proc.stderr


def test_corrupt_dataset_exit_2(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x03garbage")
    proc = run_cli("train", "--data", str(tmp_path), *FAST_ARGS)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_ctrl_c_exits_130():
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "mnist_gui", "train", "--epochs", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err


# -- the library of runs ------------------------------------------------------------------------------
def runs_json(env_dir=None):
    proc = run_cli("runs", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(listed, list)
    return listed


def test_train_without_out_records_the_run_and_says_where(tmp_path):
    before = runs_json()
    assert [r["id"] for r in before] == ["shipped"] and before[0]["current"]
    proc = run_cli("train", *FAST_ARGS, "--name", "first try", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    folder = summary["run_folder"]
    assert f"recorded run {summary['run_id']} 'first try' in {folder}; it is now the current model" in proc.stderr
    assert sorted(os.listdir(folder)) == ["curves.json", "model.npz", "record.json"]
    assert folder.startswith(os.environ["MNIST_GUI_DATA_DIR"]) and summary["current"] is True
    after = runs_json()
    run = next(r for r in after if r["id"] == summary["run_id"])
    assert run["name"] == "first try" and run["current"] and run["status"] == "completed"
    assert run["test_accuracy"] == summary["test_accuracy"] and run["epochs"] == 2
    assert not next(r for r in after if r["id"] == "shipped")["current"]
    text = run_cli("runs")
    assert text.returncode == 0 and "first try" in text.stdout and "* " + summary["run_id"] in text.stdout


def test_evaluate_and_predict_use_the_current_model_and_say_which(trained, tmp_path, capsys):
    # No run yet: the current model is the shipped one.
    assert main(["evaluate", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert "the current model 'Shipped model' (shipped, test accuracy 99.34%)" in captured.err
    assert result["model_id"] == "shipped" and result["test_accuracy"] == pytest.approx(0.9934)
    # Make the trained file current (a run id or name works too), then predict without a model.
    assert main(["evaluate", str(trained[0])]) == 0 and "model: " + str(trained[0]) in capsys.readouterr().out
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary

    record, _ = RunLibrary(data_dir()).import_model(trained[0], "mine")
    assert main(["runs", "--use", "mine"]) == 0
    capsys.readouterr()
    d = mnist()
    pytest.importorskip("PySide6.QtGui")
    from PySide6.QtGui import QImage

    digit = np.kron(255 - d.test_images[0].reshape(28, 28), np.ones((10, 10), np.uint8)).astype(np.uint8)
    image = tmp_path / "digit.png"
    assert QImage(digit.data, 280, 280, 280, QImage.Format.Format_Grayscale8).copy().save(str(image))
    assert main(["predict", str(image), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert f"using the current model 'mine' ({record.id}" in captured.err
    assert result["digit"] == int(d.test_labels[0]) and result["model"] == f"mine ({record.id})"
    assert main(["predict", "shipped", str(image), "--json"]) == 0        # a run named first
    assert "run 'Shipped model'" in capsys.readouterr().err


def test_train_init_continues_a_model_and_its_curves(trained, capsys):
    out, first = trained
    assert main(["train", "--init", str(out), "--epochs", "2", "--limit", "8000", "--val-size", "1000",
                 "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["epochs"] == 2 and summary["epochs_total"] == 4 and summary["parent"]
    assert "epoch 3/4" in captured.err and "epoch 4/4" in captured.err
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary

    library = RunLibrary(data_dir())
    child, parent = library.get(summary["run_id"]), library.get(summary["parent"])
    assert parent.origin == "imported" and child.origin == "continued" and child.epochs == 4
    assert child.architecture == "784-64-10 relu" and child.name == f"{parent.name} +2 epochs"
    curves = library.curves(child.id)
    assert [e["epoch"] for e in curves.epochs] == [1, 2, 3, 4]
    assert curves.batch_x and min(curves.batch_x[len(curves.batch_x) // 2:]) > 1.0   # new points after the old
    assert summary["test_accuracy"] >= first["test_accuracy"] - 0.02
    # The continued model's file remembers every epoch, and its weights moved on from the parent's.
    assert len(library.load_model(child.id).metadata["history"]) == 4
    # An explicit architecture that contradicts the model is refused.
    assert main(["train", "--init", "current", "--hidden", "32"]) == 2
    assert "its hidden cannot change" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["evaluate", "no-such-run"], "no such file, and no run"),
    (["runs", "--use", "nothing"], "no run 'nothing'"),
    (["train", "--init", "/nonexistent.npz"], "no such file"),
    (["predict", "m.npz"], "no image was given"),
])
def test_library_errors_exit_2_with_one_line(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr


def test_a_damaged_record_is_a_warning_not_a_failure(trained):
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary

    library = RunLibrary(data_dir())
    record, _ = library.import_model(trained[0])
    (record.folder / "record.json").write_text("{ damaged")
    proc = run_cli("runs", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1])[0]["id"] == "shipped"
    assert proc.stderr.startswith("warning: ") and "damaged run record" in proc.stderr


def test_the_progress_bar_says_which_loss_it_shows():
    # The bar showed the last batch's loss as "loss 0.8546" while the epoch line gave the epoch's mean.
    import io

    from mnist_gui.cli import _Progress
    from mnist_gui.training import BatchProgress, EpochResult

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    progress = _Progress(out, json_mode=False)
    progress.show(BatchProgress(epoch=1, epochs=2, batch=5, batches=10, step=5, total_steps=20, loss=0.85,
                                smoothed_loss=0.8546, lr=1e-3, samples_per_second=1000.0, elapsed=1.0, eta=3.0))
    progress.show(EpochResult(epoch=1, epochs=2, train_loss=0.1921, train_accuracy=0.9, val_loss=0.2,
                              val_accuracy=0.89, seconds=1.0, elapsed=1.0))
    text = out.getvalue()
    assert "recent batch loss 0.8546" in text and "loss 0.1921 (epoch mean)" in text


def test_train_keeps_the_model_when_the_library_cannot_be_written(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the library's folder would go")
    monkeypatch.setenv("MNIST_GUI_DATA_DIR", str(blocker / "library"))
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "train", *FAST_ARGS, "--json"], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["run_id"] is None and "warning: cannot create the library folder" in proc.stderr
    [kept] = list(tmp_path.glob("mnist-gui-run-*.npz"))
    assert f"saved {kept.name} instead" in proc.stderr
    from mnist_gui.model import load_model

    assert load_model(kept).test_accuracy == summary["test_accuracy"]
