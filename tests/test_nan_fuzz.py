"""No NaN ever comes out of a prediction (issue 18): a probability that cannot be computed is an error.

A model can pass the load checks (its worst-case bound, its probe images) and still overflow on a real
digit: a hidden unit that sees only a patch where digits have ink, switched off by full ink and noise,
with enormous outgoing weights. ``predict`` then printed ``nan%`` with exit code 0, ``--json`` printed
``NaN`` (not JSON) and the window showed ">99.9% sure". Here hundreds of such models (random depth,
width, activation, normalization, patch, magnitude) meet real MNIST digits and their own trigger
image, directly and through model files, the command line and the window: every prediction is ten
finite probabilities summing to 1, or a PredictionError / ModelFileError / ``error:`` line / an honest
"no answer" on the chart.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from helpers import mnist, overflowing_model, patch_digit, report_fuzz_outcomes
from mnist_gui.errors import ModelFileError, PredictionError
from mnist_gui.model.file import load_model, save_model

CASES = 300
DIRECT_CASES = 700
outcomes: Counter = Counter()
ENV = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen")


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return mnist().test_images[:64]


def assert_honest(model, images: np.ndarray, kind: str, case: int) -> str:
    """Every way of predicting gives finite probabilities summing to 1, or a PredictionError."""
    try:
        probs = model.predict_proba(images)
        batch = "ok"
        assert probs.shape == (len(images), 10) and np.all(np.isfinite(probs)), (kind, case)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    except PredictionError as exc:
        assert "overflow" in str(exc), (kind, case, str(exc))
        batch = "error"
    one_errors = 0
    for image in images[::8]:
        try:
            p = model.predict_proba_one(image)
            assert p.shape == (10,) and np.all(np.isfinite(p)) and abs(float(p.sum()) - 1) < 1e-4, (kind, case)
        except PredictionError:
            one_errors += 1
    if batch == "ok":
        assert one_errors == 0, (kind, case)   # the batch had no overflow, so no single image can
    return batch


def test_hostile_models_give_numbers_or_errors(digits):
    rng = random.Random("nan-models")
    counts: Counter = Counter()
    for case in range(DIRECT_CASES):
        model, patch = overflowing_model(rng)
        images = np.concatenate([digits, patch_digit(patch, rng).reshape(1, 784),
                                 np.zeros((1, 784), np.uint8), np.full((1, 784), 255, np.uint8)])
        outcome = assert_honest(model, images, "direct", case)
        counts[outcome] += 1
        outcomes["direct", outcome] += 1
    assert counts["error"] > DIRECT_CASES // 4, counts   # the hostile kind really is exercised


def test_through_model_files_refused_or_honest(tmp_path, digits):
    rng = random.Random("nan-files")
    counts: Counter = Counter()
    for case in range(CASES):
        model, patch = overflowing_model(rng)
        path = tmp_path / f"m{case}.npz"
        save_model(model, path)
        try:
            loaded = load_model(path)
        except ModelFileError as exc:
            assert "overflow" in str(exc) and path.name in str(exc)
            counts["refused"] += 1
            outcomes["files", "error"] += 1
            continue
        images = np.concatenate([digits, patch_digit(patch, rng).reshape(1, 784)])
        outcome = assert_honest(loaded, images, "files", case)
        counts[outcome] += 1
        outcomes["files", outcome] += 1
    assert counts["refused"] > 0 and counts["ok"] > 0, counts


def sneaky_model(target: np.ndarray, rng: random.Random, activation: str):
    """A model that passes every load check and overflows on exactly the images whose ink lies in
    ``target`` (a 28x28 preprocessed digit): +1 on its ink, -100 everywhere else, times 3e38 out."""
    from mnist_gui.model import Model, Normalization
    from mnist_gui.nn import build_mlp

    net = build_mlp((784, rng.choice([8, 16]), 10), activation=activation, seed=rng.randrange(100))
    first = net.dense_layers[0].params
    first["W"][:, 0] = np.where(target.reshape(784) > 0, 1.0, -100.0)
    first["b"][0] = -0.5
    net.dense_layers[1].params["W"][0, :] = np.array([3e38, -3e38] * 5, np.float32)
    return Model(net, Normalization.unit(), {})


def test_cli_predict_and_evaluate_print_an_error_never_nan(tmp_path):
    from PySide6.QtGui import QImage

    from mnist_gui.imaging.preprocess import preprocess_drawing
    from mnist_gui.ui.imagefile import load_image

    rng = random.Random("nan-cli")
    loaded = 0
    sevens = [i for i, label in enumerate(mnist().test_labels) if label == 7][:6]
    for case, index in enumerate(sevens):
        digit = np.ascontiguousarray(np.kron(mnist().test_images[index].reshape(28, 28), np.ones((10, 10), np.uint8)))
        png = tmp_path / f"seven{case}.png"
        assert QImage(digit.data, 280, 280, 280, QImage.Format.Format_Grayscale8).save(str(png))
        target = preprocess_drawing(load_image(png))      # what predict will feed the model
        model = tmp_path / f"sneaky{case}.npz"
        save_model(sneaky_model(target, rng, rng.choice(["relu", "leaky_relu"])), model)
        try:
            load_model(model)                             # usually it passes every check on loading
            loaded += 1
        except ModelFileError:                            # (a thick 7 can hold a probe stroke)
            pass
        for extra in ([], ["--json"]):
            proc = subprocess.run([sys.executable, "-m", "mnist_gui", "predict", str(model), str(png), *extra],
                                  capture_output=True, text=True, env=ENV, timeout=60)
            assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
            lines = proc.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and "overflow" in lines[0], proc.stderr
            assert proc.stdout == "", (proc.stdout, proc.stderr)
            outcomes["cli", "error"] += 1
    assert loaded >= 3, loaded
    # evaluate: the same kind of model, triggered by one of the real test images
    target = mnist().test_images[sevens[0]].reshape(28, 28)
    model = tmp_path / "sneaky-eval.npz"
    save_model(sneaky_model(target, rng, "relu"), model)
    for extra in ([], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "mnist_gui", "evaluate", str(model), *extra],
                              capture_output=True, text=True, env=ENV, timeout=120)
        assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "overflow" in lines[0], proc.stderr
        outcomes["cli", "error"] += 1


def test_json_output_never_holds_nan():
    from mnist_gui import cli

    for value in (float("nan"), float("inf"), -float("inf")):
        text = json.dumps(cli._finite({"a": [value, 1.0], "b": {"c": value}}), allow_nan=False)
        assert json.loads(text) == {"a": [None, 1.0], "b": {"c": None}}
    outcomes["json", "ok"] += 1


def test_the_window_shows_no_answer_instead_of_a_confident_bar(qtbot, tmp_path):
    """A model that overflows on a central blob, and a blob drawn with the mouse in the canvas."""
    from helpers import drag_stroke
    from mnist_gui.app import MainWindow
    from mnist_gui.model import Model, Normalization
    from mnist_gui.nn import build_mlp

    net = build_mlp((784, 8, 10), seed=3)
    patch = np.zeros((28, 28), bool)
    patch[8:20, 8:20] = True   # where preprocessing puts any digit's ink
    w0 = net.dense_layers[0].params
    w0["W"][:, 0] = np.where(patch.reshape(784), 1.0, -10.0)
    w0["b"][0] = 0.0
    net.dense_layers[1].params["W"][0, :] = np.array([3e38, -3e38] * 5, np.float32)
    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.set_model(Model(net, Normalization.unit(), {}), "hostile")
    emitted = []
    window.prediction_changed.connect(emitted.append)
    r = window.canvas.drawing_rect()
    drag_stroke(window.canvas, [(r.center().x(), r.top() + r.height() * 0.2),
                                (r.center().x(), r.bottom() - r.height() * 0.2)])
    qtbot.waitUntil(lambda: window.chart.problem() is not None, timeout=3000)
    assert window.chart.digit_label.text() == "!" and window.chart.confidence_label.text() == "no answer"
    assert "sure" not in window.chart.confidence_label.text() and window.chart.probabilities() is None
    assert all(np.all(np.isfinite(p)) for p in emitted)
    window.canvas.clear()   # the error state goes with the drawing
    qtbot.waitUntil(lambda: window.chart.problem() is None, timeout=3000)
    outcomes["window", "error"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("NaN", outcomes, 0.0, 5, capsys)
