"""One limit on a network's size, for training and loading alike, checked before anything is allocated.

Issue 18: ``train --hidden 260000`` trained (5.9 GB) and wrote a model ``evaluate`` refused; a 620 KB
file declaring 784x200000 loaded in 2.5 GB and 10 s, froze the window for 7 s when opened, and made
start-up take 20 s as the remembered model. Here random architectures are judged by training
(``TrainingConfig.validate``) and by loading (a model file declaring them) and both must agree with
:func:`~mnist_gui.model.limits.architecture_problem`; files declaring enormous networks are refused
before any array is read, within a small memory bound; and the window loads its remembered model
in the background, so a big one cannot hold up the start.
"""

from __future__ import annotations

import io
import json
import random
import tracemalloc
import zipfile
from collections import Counter

import numpy as np
import pytest

from helpers import report_fuzz_outcomes
from mnist_gui.errors import ConfigError, ModelFileError
from mnist_gui.model.file import load_model
from mnist_gui.model.limits import MAX_HIDDEN_LAYERS, MAX_PARAMS, architecture_problem, n_params
from mnist_gui.training import TrainingConfig

outcomes: Counter = Counter()


def declaring(sizes, weights: bool = False) -> bytes:
    """A model file whose metadata declares ``sizes``; with ``weights``, W0 is a deflated block of
    zeros of the declared shape (a few hundred KB for 784x200000), and no other array."""
    buf = io.BytesIO()
    meta = {"format_version": 1, "architecture": list(sizes), "activation": "relu",
            "normalization": {"mean": 0.0, "std": 1.0}}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        header = io.BytesIO()
        np.save(header, np.frombuffer(json.dumps(meta).encode(), np.uint8))
        zf.writestr("metadata.npy", header.getvalue())
        if weights:
            with zf.open("W0.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False,
                                                          "shape": (sizes[0], sizes[1])})
                zeros = bytes(1 << 20)
                remaining = sizes[0] * sizes[1] * 4
                while remaining > 0:
                    fh.write(zeros[:min(remaining, len(zeros))])
                    remaining -= len(zeros)
    return buf.getvalue()


def random_sizes(rng: random.Random) -> list[int]:
    depth = rng.choice([0, 1, 1, 2, 3, 5, MAX_HIDDEN_LAYERS, MAX_HIDDEN_LAYERS + 1, 30])
    pick = lambda: rng.choice([1, 10, 256, 1024, 4096, 8000, 20000, 25000, 10**5, 200_000, 10**6, 10**9])  # noqa: E731
    return [784, *[pick() for _ in range(depth)], 10]


def test_training_and_loading_accept_exactly_the_same_networks(tmp_path):
    rng = random.Random("sizes-agree")
    counts: Counter = Counter()
    for case in range(600):
        sizes = random_sizes(rng)
        if not sizes[1:-1]:
            continue
        allowed = architecture_problem(sizes) is None
        assert allowed == (len(sizes) - 2 <= MAX_HIDDEN_LAYERS and n_params(sizes) <= MAX_PARAMS), sizes
        # Training: the size rules (the memory estimate is a separate, batch-dependent rule)
        try:
            TrainingConfig(hidden=tuple(sizes[1:-1]), batch_size=1, limit=1).validate()
            trains = True
        except ConfigError as exc:
            assert exc.field == "hidden", exc
            trains = False
        # Loading: a file declaring the architecture (and no weights: "missing array" means it got past the limit)
        path = tmp_path / f"d{case}.npz"
        path.write_bytes(declaring(sizes))
        with pytest.raises(ModelFileError) as info:
            load_model(path)
        loads = "missing array" in str(info.value)
        assert trains == loads == allowed, (sizes, trains, loads, str(info.value))
        counts[allowed] += 1
        outcomes["agree", "ok" if allowed else "error"] += 1
    assert counts[True] > 50 and counts[False] > 50, counts


@pytest.mark.parametrize("hidden", [200_000, 1_000_000, 25_600])
def test_a_small_file_declaring_a_huge_network_is_refused_at_once_in_little_memory(tmp_path, hidden):
    path = tmp_path / "huge.npz"
    path.write_bytes(declaring([784, hidden, 10], weights=hidden <= 200_000))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="too large"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"\n{size / 1024:.0f} KB file declaring 784x{hidden}: refused, peak {peak / 1024:.0f} KB traced")
    assert peak < 2 << 20, f"{peak:,} bytes"
    outcomes["huge-file", "error"] += 1


def test_the_largest_allowed_network_loads(tmp_path):
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp

    width = (MAX_PARAMS - 10) // (784 + 1 + 10)
    model = Model(build_mlp((784, width, 10), init="zeros"), Normalization.unit(), {})
    save_model(model, tmp_path / "largest.npz")
    assert load_model(tmp_path / "largest.npz").sizes == (784, width, 10)
    with pytest.raises(ConfigError, match="parameters"):
        TrainingConfig(hidden=(width + 1,)).validate()
    TrainingConfig(hidden=(width,), batch_size=128).validate()
    outcomes["largest", "ok"] += 1


def test_the_window_loads_its_remembered_model_in_the_background(qtbot, tmp_path):
    """The library's current model, when its file is large (here a real 12-million-parameter one), is
    loaded off the GUI thread: the window is built without it, shows that it is loading, and gets it
    from the loader's thread."""
    import threading

    from mnist_gui.app import MainWindow
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary
    from mnist_gui.ui import model_loader

    big = tmp_path / "big.npz"
    save_model(Model(build_mlp((784, 15000, 10), init="zeros"), Normalization.unit(), {}), big)
    library = RunLibrary(data_dir())
    record, _ = library.import_model(big)
    library.set_current(record.id)
    loading_threads = []
    real_load = model_loader.load_model

    def spy(path):
        loading_threads.append(threading.current_thread())
        return real_load(path)

    model_loader.load_model = spy
    try:
        window = MainWindow(model_path=None)
        qtbot.addWidget(window)
        assert window.model is None and "Loading model big" in window.model_label.text()
        qtbot.waitUntil(lambda: window.model is not None, timeout=20000)
    finally:
        model_loader.load_model = real_load
    assert window.model.sizes == (784, 15000, 10) and window.model_source == "big"
    assert window.model_slots.current_id == record.id
    assert loading_threads and loading_threads[0] is not threading.main_thread()
    outcomes["window", "ok"] += 1


def test_a_large_start_up_model_that_fails_to_load_falls_back_to_the_shipped_one(qtbot, tmp_path):
    """The current model's file damaged after it was recorded: a warning, and the shipped model."""
    from mnist_gui.app import MainWindow
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp
    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import SHIPPED_ID, RunLibrary

    big = tmp_path / "big.npz"
    save_model(Model(build_mlp((784, 6000, 10), init="zeros"), Normalization.unit(), {}), big)
    library = RunLibrary(data_dir())
    record, _ = library.import_model(big)
    library.set_current(record.id)
    data = record.model_path.read_bytes()
    record.model_path.write_bytes(data[: len(data) // 2] + b"\0" * (len(data) - len(data) // 2))
    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not window.model_loader.busy() and window.model is not None, timeout=20000)
    assert window.model_slots.current_id == SHIPPED_ID
    assert any("could not open big" in w for w in window.library_ui.warnings), window.library_ui.warnings
    outcomes["window", "error"] += 1


def test_opening_a_hostile_file_from_the_menu_reports_without_waiting(qtbot, tmp_path, monkeypatch):
    from mnist_gui.app import MainWindow
    from mnist_gui.ui import app as app_module

    path = tmp_path / "hostile.npz"
    path.write_bytes(declaring([784, 200_000, 10], weights=True))
    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not window.model_loader.busy(), timeout=10000)
    before = window.model
    monkeypatch.setattr(app_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_action.trigger()
    title, text = blocker.args
    assert title == "Cannot open model" and "too large" in text and window.model is before
    window.close()
    outcomes["window", "error"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("sizes", outcomes, 0.0, 99, capsys)
