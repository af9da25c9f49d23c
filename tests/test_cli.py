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
    (["train", "--hidden", "100000,100000,100000"], "parameters"),
    (["train", "--hidden", "4000,4000", "--batch-size", "0"], "GiB"),
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
