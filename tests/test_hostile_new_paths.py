"""Issue 18's guarantees on the paths main added since (the library, pictures dropped on the canvas,
the 'not a digit' reading): hostile input there gives one clear error and changes nothing."""

from __future__ import annotations

import os
import random
import threading

import numpy as np
import pytest

from helpers import overflowing_model, patch_digit
from mnist_gui.errors import PredictionError
from mnist_gui.model import Model, Normalization, save_model
from mnist_gui.nn import build_mlp
from mnist_gui.state.library import RunLibrary


def test_read_one_raises_instead_of_giving_nan():
    """Model.read_one (the chart's and predict's reading, with the not-a-digit verdict) never returns
    NaN probabilities or a NaN score: a model that overflows on a drawing raises PredictionError."""
    rng = random.Random("read-one-nan")
    raised = 0
    for case in range(60):
        model, patch = overflowing_model(rng)
        if rng.random() < 0.5:   # with a not-a-digit rule too: a NaN score must not be compared with it
            model.metadata["not_a_digit"] = {"score": "max_logit", "quantile": 0.015, "threshold": 1.0}
        try:
            reading = model.read_one(patch_digit(patch, rng))
        except PredictionError as exc:
            assert "overflow" in str(exc)
            raised += 1
            continue
        assert np.all(np.isfinite(reading.probabilities)) and np.isfinite(reading.score), case
    assert raised >= 30, raised


def hostile_pictures(folder, rng: random.Random) -> list:
    """(path, what) of pictures the window must refuse."""
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    out = []
    svg = folder / "text.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="10">7</text></svg>')
    out.append((svg, "svg"))
    fifo = folder / "x.png"
    os.mkfifo(fifo)
    out.append((fifo, "fifo"))
    image = QImage(64, 64, QImage.Format.Format_Grayscale8)
    image.fill(255)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "JPEG")
    data = bytes(buffer.data())
    for i in range(4):
        cut = folder / f"cut{i}.jpg"
        cut.write_bytes(data[:rng.randrange(20, len(data) - 2)])
        out.append((cut, "truncated jpeg"))
    gif = folder / "a.gif"
    gif.write_bytes(b"GIF89a" + bytes(40))
    out.append((gif, "gif"))
    (folder / "dir.png").mkdir()
    out.append((folder / "dir.png", "folder"))
    odd = folder / "line\nbreak\x1b[31m.png"
    odd.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(10))
    out.append((odd, "name"))
    return out


def test_a_hostile_picture_dropped_on_the_canvas_changes_nothing(qtbot, tmp_path):
    from mnist_gui.app import MainWindow

    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    rng = random.Random("dropped-pictures")
    for path, what in hostile_pictures(tmp_path, rng):
        before = window.input_image()
        window._on_file_dropped(str(path))   # what a drop (or File > Classify an image) calls
        title, text = window.last_error
        assert title == "Cannot read the picture", (what, title, text)
        assert "\n" not in text.split("\n\n")[0] and "\x1b" not in text, (what, text)
        assert (window.input_image() is None) == (before is None), what
    window.close()


def test_the_library_never_waits_on_a_fifo_and_escapes_imported_names(tmp_path):
    library = RunLibrary(tmp_path / "lib")
    hostile = tmp_path / "bad\nname\x1b[2J.npz"
    save_model(Model(build_mlp((784, 8, 10), seed=0), Normalization.unit(), {"test_accuracy": 0.5}), hostile)
    record, new = library.import_model(hostile)
    assert new and record.name.isprintable() and record.name.startswith("bad name") and "\\x1b" in record.name
    # A FIFO where a run's record, the current model's id or an imported model file should be.
    fake = library.runs_dir / "20261122-153000-abcdef"
    fake.mkdir(parents=True)
    os.mkfifo(fake / "record.json")
    current = library.folder / "current.json"
    if current.exists():
        current.unlink()
    os.mkfifo(current)
    fifo_model = tmp_path / "pipe.npz"
    os.mkfifo(fifo_model)
    results = {}

    def work():
        fresh = RunLibrary(library.folder)
        results["records"] = fresh.records()
        results["current"] = fresh.current_id()
        try:
            fresh.import_model(fifo_model)
        except Exception as exc:  # noqa: BLE001 - the kind is checked below
            results["import"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the library blocked on a FIFO"
    assert record.id in [r.id for r in results["records"]] and results["current"] is None
    from mnist_gui.errors import ModelFileError

    assert isinstance(results["import"], ModelFileError), results["import"]


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, '{"epochs": ' + "9" * 5000 + "}",
                                   '{"hidden": ["' + "x" * 5000 + '"], "preset": {"a": 1}}'])
def test_the_training_panel_restores_only_short_texts(qtbot, value):
    from mnist_gui.ui.settings import Settings
    from mnist_gui.ui.training_panel import TrainingPanel

    Settings()._s.set_value("training/fields", value)
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.restore(Settings().training_fields)
    assert panel.config() is not None
