"""``python -m mnist_gui.bench.library [N]``: how long the library of runs takes to list N runs (500 by default).

A library of N runs is made in a temporary folder: one real run (model, curves, record) copied N times
under new ids, each copy's record rewritten with its id. Then it is listed:

* cold: a new :class:`~mnist_gui.state.library.RunLibrary` (as at the window's start or a
  ``mnist-gui runs``): every record is read and parsed;
* warm: the same instance again (as when the window comes back to the front): unchanged records are
  only stat'ed;
* a new Models panel filled with those records (``ModelsPanel.set_records``, sorted by date; the panel's
  construction included), if Qt is there.

Each is timed ``--repeats`` times (the median and the worst are printed). Section 9 of
``python -m mnist_gui.bench`` prints the same numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from mnist_gui.state.library import RECORD, RunLibrary


def make_library(folder: str | Path, runs: int) -> Path:
    """A library folder holding ``runs`` runs (copies of one small real run)."""
    from mnist_gui.model import Model, Normalization
    from mnist_gui.nn import build_mlp
    from mnist_gui.state.curves import RunCurves
    from mnist_gui.training import EpochResult, TrainingConfig, TrainingFinished

    folder = Path(folder)
    library = RunLibrary(folder)
    curves = RunCurves()
    for epoch in range(1, 6):
        curves.add(EpochResult(epoch=epoch, epochs=5, train_loss=1.0 / epoch, train_accuracy=0.9, val_loss=1.0,
                               val_accuracy=0.9, seconds=1.0, elapsed=float(epoch)))
    done = TrainingFinished(status="completed", reason="completed 5 epochs", epochs_completed=5, test_accuracy=0.97,
                            test_loss=0.1, val_accuracy=0.96, train_seconds=5.0, samples_per_second=1e4)
    model = Model(build_mlp((784, 32, 10), seed=0), Normalization.standard())
    first = library.add_training_run(model, done, TrainingConfig(hidden=(32,), preset="fast"),
                                     {"source": "bench", "checksum": "0" * 64}, curves, "2026-11-22T15:30:00+01:00")
    raw = json.loads((first.folder / RECORD).read_text())
    for i in range(1, runs):
        run_id = f"{20200101 + i // 1000:08d}-{i % 1000:06d}-{i:06x}"
        target = library.runs_dir / run_id
        shutil.copytree(first.folder, target)
        (target / RECORD).write_text(json.dumps({**raw, "id": run_id, "name": f"run {i}",
                                                 "metrics": {**raw["metrics"], "test_accuracy": 0.9 + i / 1e4}}))
    return folder


def _times(action, repeats: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), max(seconds)


def measure(runs: int = 500, repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_library(Path(tmp) / "lib", runs)
        counts = []
        cold = _times(lambda: counts.append(len(RunLibrary(folder).records())), repeats)
        warm_library = RunLibrary(folder)
        warm_library.records()
        warm = _times(warm_library.records, repeats)
        result = {"runs": runs, "listed": counts[0], "cold_seconds": cold, "warm_seconds": warm}
        try:
            from PySide6.QtWidgets import QApplication

            from mnist_gui.ui.models_panel import ModelsPanel
        except ImportError:
            return result
        app = QApplication.instance() or QApplication([])
        records = warm_library.records()
        panels = []

        def fill() -> None:   # a new panel each time: the first fill, the costly one (later ones update rows)
            panels.append(ModelsPanel())
            panels[-1].set_records(records, records[-1].id)
            app.processEvents()

        result["panel_seconds"] = _times(fill, repeats)
        for panel in panels:
            panel.deleteLater()
        return result


def describe(r: dict) -> str:
    text = (f"{r['listed'] - 1} runs + the shipped model: cold {r['cold_seconds'][0] * 1000:.0f} ms (worst "
            f"{r['cold_seconds'][1] * 1000:.0f}), warm {r['warm_seconds'][0] * 1000:.0f} ms")
    if "panel_seconds" in r:
        text += f", Models panel filled {r['panel_seconds'][0] * 1000:.0f} ms"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_gui.bench.library", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(f"listing the library: {describe(measure(args.runs, args.repeats))} (target: under 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
