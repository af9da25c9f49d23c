"""Signals and lost work (issue 18): every way a session ends or fails keeps the user's work, or says so.

* SIGTERM or SIGHUP during training killed the window at once (no settings saved): now they close it
  like Quit, as Ctrl-C does, and the exit code says which signal (128 + its number).
* A trained model whose copy could not be written (disk full, read-only or broken settings folder)
  got a 10-second status-bar message, and closing lost it: now a dialog says so and offers Save as,
  closing asks first, and a close forced by a signal writes the model to the temporary folder.
* ``--lr 1e10`` exited 2 without an ``error:`` line; ``--l2 1e308`` leaked NumPy warnings and blamed
  the learning rate.
* The window accepted a 70-row dataset it could never train on.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from helpers import report_fuzz_outcomes
from mnist_gui.errors import ModelFileError

outcomes: Counter = Counter()
ENV = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen", OPENBLAS_NUM_THREADS="1")
QUICK = {"hidden": "32", "epochs": "1", "limit": "2000"}

# The real entry point (run_app, with its signal handlers); a timer presses Train and reports when
# the first progress arrives.
APP = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QPushButton
    from mnist_gui.ui.app import MainWindow, run_app

    app = QApplication([])
    mode = sys.argv[1]

    def press_train():
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        if mode == "idle":
            print("ready", flush=True)
            return
        for key, text in {"epochs": "50", "limit": "30000", "batch_size": "16", "hidden": "64"}.items():
            window.panel.set_field(key, text)
        window.findChild(QPushButton, "trainButton").click()

        def wait():
            if window.panel.progress_bar.value() > 0:
                print("ready", flush=True)
            else:
                QTimer.singleShot(20, wait)
        wait()

    QTimer.singleShot(100, press_train)
    sys.exit(run_app())
""")


@pytest.mark.parametrize("sig,mode", [(signal.SIGTERM, "training"), (signal.SIGHUP, "training"),
                                      (signal.SIGINT, "training"), (signal.SIGTERM, "idle"), (signal.SIGHUP, "idle")])
def test_a_signal_closes_the_window_like_quit(tmp_path, sig, mode):
    env = dict(ENV, XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", APP, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    seconds = time.monotonic() - t0
    assert proc.returncode == 128 + sig, (proc.returncode, err[-2000:])   # not -sig: killed outright
    assert "Traceback" not in err and "QThread" not in err, err[-2000:]
    settings = (tmp_path / "mnist-gui" / "mnist-gui.ini").read_text()
    assert "geometry=" in settings, settings            # saved on the way out
    if mode == "training":
        assert '\\"epochs\\": \\"50\\"' in settings, settings
    print(f"\n{signal.Signals(sig).name} while {mode}: closed in {seconds * 1000:.0f} ms", end="")
    outcomes["signals", "ok"] += 1


# ------------------------------------------------------------------------------ a copy that cannot be written
def open_window(qtbot):
    from mnist_gui.app import MainWindow

    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: not window.model_loader.busy(), timeout=10000)
    return window


def train_quick(window, qtbot) -> None:
    for key, text in QUICK.items():
        window.panel.set_field(key, text)
    with qtbot.waitSignal(window.training_finished, timeout=60000):
        window.start_training(window.panel.config())
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=10000)


def click(box: QMessageBox, label: str) -> None:
    button = next(b for b in box.buttons() if b.text() == label)
    button.click()


FAULTS = [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO, errno.EDQUOT]


@pytest.mark.parametrize("fault", [*FAULTS, "folder-is-a-file"])
def test_a_copy_that_cannot_be_written_is_said_plainly_and_save_as_is_offered(qtbot, tmp_path, monkeypatch, fault):
    import mnist_gui.atomic as atomic
    import mnist_gui.ui.app as app_module

    window = open_window(qtbot)
    if fault == "folder-is-a-file":   # a real fault, no patching: the library's runs folder is a file
        import shutil

        folder = window.library.runs_dir
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.write_bytes(b"not a folder")
    else:
        def failing_fsync(fd):
            raise OSError(fault, os.strerror(fault))
        monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    train_quick(window, qtbot)
    monkeypatch.undo()   # the disk recovers: Save as can work
    notice = window.unsaved.notice
    assert window.unsaved.pending and notice is not None and notice.isVisible()
    assert "could not be kept" in notice.text() and "Save" in [b.text().rstrip("…") for b in notice.buttons()][0]
    target = tmp_path / "rescued.npz"
    monkeypatch.setattr(app_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    click(notice, "Save as…")
    assert target.exists() and not window.unsaved.pending
    window.close()
    assert not window.isVisible()   # saved: closing asks nothing
    outcomes["unsaved", "ok"] += 1


def test_closing_with_an_unsaved_model_asks_and_cancel_or_discard_are_honoured(qtbot, monkeypatch):
    import mnist_gui.state.library as library_module

    window = open_window(qtbot)
    monkeypatch.setattr(library_module, "save_model", lambda model, path: (_ for _ in ()).throw(ModelFileError("disk full")))
    train_quick(window, qtbot)
    click(window.unsaved.notice, "Later")
    window.close()
    question = window.unsaved.question
    assert window.isVisible() and question is not None and question.isVisible()
    assert "will be lost" in question.text()
    click(question, "Cancel")
    assert window.isVisible() and window.unsaved.pending
    window.close()
    click(window.unsaved.question, "Discard")
    assert not window.isVisible() and window.runner.current_thread is None
    outcomes["unsaved", "ok"] += 2


def test_a_signal_with_an_unsaved_model_rescues_it_to_the_temporary_folder(qtbot, monkeypatch, tmp_path, capfd):
    import tempfile

    import mnist_gui.state.library as library_module
    from mnist_gui.model import load_model

    window = open_window(qtbot)
    monkeypatch.setattr(library_module, "save_model", lambda model, path: (_ for _ in ()).throw(ModelFileError("disk full")))
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    train_quick(window, qtbot)
    window.close_now()
    assert not window.isVisible()
    rescued = list(tmp_path.glob("mnist-gui-unsaved-*.npz"))
    assert len(rescued) == 1 and load_model(rescued[0]).sizes == window.model.sizes
    assert "a copy is in" in capfd.readouterr().err
    outcomes["unsaved", "ok"] += 1


# ------------------------------------------------------------------------------------------ divergence
def test_divergence_is_one_error_line_blaming_the_right_setting():
    rng = random.Random("losing-work-divergence")
    for case in range(8):
        if case % 2 == 0:
            args, blamed = ["--lr", rng.choice(["10", "8", "6"]), "--optimizer", rng.choice(["sgd", "momentum"])], "learning rate"
        else:
            lr = rng.choice([3.0, 5.0, 10.0])   # a learning rate above 10 is refused before training
            args, blamed = ["--l2", "1", "--lr", str(lr), "--optimizer", "sgd"], "L2"
        proc = subprocess.run([sys.executable, "-m", "mnist_gui", "train", "--hidden", "32", "--epochs", "1",
                               "--limit", "3000", *args], capture_output=True, text=True, env=ENV, timeout=120)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (args, proc.returncode, proc.stderr)
        assert lines[0].startswith("error: training diverged") and blamed in lines[0], (args, lines)
        assert "Warning" not in proc.stderr
        outcomes["divergence", "error"] += 1
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "train", "--l2", "1e308"], capture_output=True,
                          text=True, env=ENV, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: L2 weight decay must be <= 1"), proc.stderr
    outcomes["divergence", "error"] += 1


# ------------------------------------------------------------------------------------- tiny datasets
def write_csv(path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = np.concatenate([rng.integers(0, 10, (rows, 1)), rng.integers(0, 256, (rows, 784))], axis=1)
    np.savetxt(path, table, fmt="%d", delimiter=",")


def test_the_window_refuses_a_dataset_too_small_for_its_validation_split(qtbot, tmp_path):
    window = open_window(qtbot)
    rng = random.Random("losing-work-tiny")
    for case in range(8):
        preset = rng.choice(["fast", "tiny-gd"])
        window.panel.apply_preset(preset)
        val = window.panel.validation_size()
        rows = rng.choice([7, 70, val, val + 1 + (val + 1) // 6 + 10])   # single CSV: n // 7 rows become the test set
        path = tmp_path / f"d{case}.csv"
        write_csv(path, rows, case)
        before = window.dataset_path
        with qtbot.waitSignal(window.runner.done, timeout=60000):
            window.set_dataset_path(str(path))
        n_train = rows - min(10000, rows // 7)
        if n_train <= val:
            assert window.last_error and window.last_error[0] == "Dataset too small", (case, rows, val)
            assert window.dataset_path == before
            outcomes["tiny", "error"] += 1
        else:
            assert window.dataset_path == str(path), (case, rows, val, window.last_error)
            outcomes["tiny", "ok"] += 1
        window.last_error = None
    # A dataset fine for tiny-gd (1,000 validation images) but not for fast (5,000): Train says why.
    path = tmp_path / "mid.csv"
    write_csv(path, 1400, 99)
    window.panel.apply_preset("tiny-gd")
    with qtbot.waitSignal(window.runner.done, timeout=60000):
        window.set_dataset_path(str(path))
    assert window.dataset_path == str(path) and window.panel.config() is not None
    window.panel.apply_preset("fast")
    assert window.panel.config() is None and "dataset" in window.panel.errors()
    assert not window.panel.train_button.isEnabled() and "validation" in window.panel.train_button.toolTip()
    outcomes["tiny", "error"] += 1


def test_stop_while_the_dataset_loads_ends_the_load(qtbot, tmp_path):
    import struct

    folder = tmp_path / "big"
    folder.mkdir()
    n = (512 << 20) // 784
    for stem, dims in (("train-images-idx3-ubyte", (n, 28, 28)), ("train-labels-idx1-ubyte", (n,)),
                       ("t10k-images-idx3-ubyte", (10, 28, 28)), ("t10k-labels-idx1-ubyte", (10,))):
        with open(folder / stem, "wb") as fh:
            fh.write(struct.pack(f">BBBB{len(dims)}I", 0, 0, 8, len(dims), *dims))
            fh.truncate(fh.tell() + int(np.prod(dims)))
    window = open_window(qtbot)
    window._dataset_path = str(folder)
    window.start_training(window.panel.config())
    qtbot.wait(100)
    assert window.runner.is_busy()
    t0 = time.monotonic()
    window.panel.request_stop()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
    print(f"\nstop while loading a 512 MB dataset: done after {(time.monotonic() - t0) * 1000:.0f} ms", end="")
    assert "stopped while loading" in window.panel.detail_label.text()
    assert window.last_error is None   # a stop is not a failure
    outcomes["stop-loading", "ok"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("losing work", outcomes, 0.0, 99, capsys)
