"""The library of runs (mnist_gui.state.library), on real files: records, curves, the current model, the
shipped model, damaged records, a full disk at every step of a save, renames, deletions and imports."""

from __future__ import annotations

import errno
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

import mnist_gui.atomic as atomic_module
import mnist_gui.model.file as model_file
import mnist_gui.state.library as library_module
from mnist_gui.errors import LibraryError, ModelFileError
from mnist_gui.model import Model, Normalization, save_model
from mnist_gui.nn import build_mlp
from mnist_gui.resources_path import resource
from mnist_gui.state.curves import RunCurves
from mnist_gui.state.datadir import data_dir
from mnist_gui.state.library import RECORD, SHIPPED_ID, RunLibrary, default_name
from mnist_gui.training import BatchProgress, EpochResult, TrainingConfig, TrainingFinished

CONFIG = TrainingConfig(hidden=(8,), epochs=2, preset="fast")


def small_model(seed: int = 0) -> Model:
    return Model(build_mlp((784, 8, 10), seed=seed), Normalization.standard(), {"test_accuracy": 0.5})


def finished(status: str = "completed", epochs: int = 2, acc: float = 0.91) -> TrainingFinished:
    return TrainingFinished(status=status, reason=f"{status} for a test", epochs_completed=epochs, test_accuracy=acc,
                            test_loss=0.3, val_accuracy=acc - 0.01, train_seconds=1.5, samples_per_second=100.0)


def curves_of(epochs: int = 2) -> RunCurves:
    curves = RunCurves()
    for e in range(1, epochs + 1):
        for b in (5, 10):
            curves.add(BatchProgress(epoch=e, epochs=epochs, batch=b, batches=10, step=(e - 1) * 10 + b,
                                     total_steps=10 * epochs, loss=1.0 / (e + b), smoothed_loss=0.5, lr=0.1,
                                     samples_per_second=1.0, elapsed=1.0, eta=1.0, mean_loss=1.0 / (e + b)))
        curves.add(EpochResult(epoch=e, epochs=epochs, train_loss=0.5 / e, train_accuracy=0.8 + e / 100,
                               val_loss=0.6 / e, val_accuracy=0.79 + e / 100, seconds=0.5, elapsed=e * 0.5))
    curves.add(finished(epochs=epochs))
    return curves


def add_run(library: RunLibrary, seed: int = 0, status: str = "completed", acc: float = 0.91, **kw):
    return library.add_training_run(small_model(seed), finished(status, acc=acc), CONFIG,
                                    {"source": "test", "checksum": "0" * 64}, curves_of(), "2026-11-22T15:30:00+01:00",
                                    **kw)


@pytest.fixture
def library(tmp_path) -> RunLibrary:
    return RunLibrary(tmp_path / "lib")


def tree(folder: Path) -> dict:
    """Every file and folder under ``folder`` with its size and content hash: 'the library as it was'."""
    out = {}
    for path in sorted(folder.rglob("*")):
        out[str(path.relative_to(folder))] = None if path.is_dir() else path.read_bytes()
    return out


# -- where ----------------------------------------------------------------------------------------
def test_the_data_folder_follows_the_platform_rules(tmp_path):
    home = Path("/home/ada")
    assert data_dir({"MNIST_GUI_DATA_DIR": str(tmp_path)}, "linux", home) == tmp_path
    assert data_dir({}, "linux", home) == home / ".local/share/mnist-gui/mnist-gui"
    assert data_dir({"XDG_DATA_HOME": "/xdg"}, "linux", home) == Path("/xdg/mnist-gui/mnist-gui")
    assert data_dir({"XDG_DATA_HOME": "relative/x"}, "linux", home) == home / ".local/share/mnist-gui/mnist-gui"
    assert data_dir({}, "darwin", home) == home / "Library/Application Support/mnist-gui/mnist-gui"
    assert data_dir({"APPDATA": "C:/Users/ada/AppData/Roaming"}, "win32", home) == \
        Path("C:/Users/ada/AppData/Roaming/mnist-gui/mnist-gui")
    # The tests' own isolation (conftest): never a real home.
    assert str(data_dir()).startswith(str(tmp_path.parent))


# -- records and curves -----------------------------------------------------------------------------
def test_a_recorded_run_holds_everything_and_reads_back(library):
    record = add_run(library, parent=None)
    files = sorted(p.name for p in record.folder.iterdir())
    assert files == ["curves.json", "model.npz", "record.json"]
    again = RunLibrary(library.folder).get(record.id)
    assert again.name == "fast · 22 Nov 15:30" and again.status == "completed" and again.origin == "trained"
    assert again.config["hidden"] == [8] and again.dataset == {"source": "test", "checksum": "0" * 64}
    assert again.metrics == {"test_accuracy": 0.91, "val_accuracy": 0.9, "test_loss": 0.3}
    assert again.duration == 1.5 and again.epochs == 2 and again.architecture == "784-8-10 relu"
    assert again.created == "2026-11-22T15:30:00+01:00" and again.finished and again.parent is None
    curves = library.curves(record.id)
    assert [e["epoch"] for e in curves.epochs] == [1, 2] and len(curves.batch_x) == 4
    assert curves.tests == [(2.0, 0.91)]
    x = np.random.default_rng(0).integers(0, 256, (4, 784), dtype=np.uint8)
    np.testing.assert_array_equal(library.load_model(record.id).predict_proba(x), small_model().predict_proba(x))
    assert [r.id for r in library.records()] == [SHIPPED_ID, record.id]
    summary = again.summary(current=True)
    assert {"id", "name", "test_accuracy", "status", "current"} <= set(summary) and summary["current"] is True
    json.dumps(summary)   # plain JSON


def test_ids_never_collide_even_with_the_same_time_and_suffix(library, monkeypatch):
    ids = iter(["20261122-153000-aaaaaa", "20261122-153000-aaaaaa", "20261122-153000-bbbbbb"])
    monkeypatch.setattr(library_module, "_new_id", lambda: next(ids))
    first = add_run(library)
    second = RunLibrary(library.folder)._reserve()     # another instance, same second, same suffix: retried
    assert first.id == "20261122-153000-aaaaaa" and second.name == "20261122-153000-bbbbbb"


def test_listing_reads_only_the_small_records(library, monkeypatch):
    for seed in range(5):
        add_run(library, seed)
    opened = []
    real_open, real_open_regular = open, library_module.open_regular

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def spy_regular(path):   # untrusted files are opened this way (regular files only)
        opened.append(str(path))
        return real_open_regular(path)

    monkeypatch.setattr(library_module, "open", spy, raising=False)
    monkeypatch.setattr(model_file, "open", spy, raising=False)
    monkeypatch.setattr(library_module, "open_regular", spy_regular)
    monkeypatch.setattr(model_file, "open_regular", spy_regular)
    monkeypatch.setattr(library_module, "load_model", lambda *a: pytest.fail("listing loaded a model"))
    fresh = RunLibrary(library.folder)
    assert len(fresh.records()) == 6 and len(fresh.records()) == 6
    runs = [p for p in opened if "runs" in p]
    assert runs and all(p.endswith(RECORD) for p in runs), runs
    assert len(runs) == 5                                 # the second listing parsed nothing again
    assert sum(p.endswith("pretrained.npz") for p in opened) == 1   # the shipped model: its metadata, once


def test_damaged_records_are_skipped_with_one_warning_each(library, caplog):
    good = [add_run(library, seed) for seed in range(3)]
    damaged = [add_run(library, seed) for seed in range(3, 11)]
    contents = [b"", b"{\"format\": 1, \"id\"", b"\x00\xff\xfe garbage", b"[" * 100000 + b"]" * 100000,
                json.dumps({"format": 1, "id": "someone-else"}).encode(),
                json.dumps({**damaged[5].raw, "status": "exploded"}).encode(),
                json.dumps({**damaged[6].raw, "metrics": {"test_accuracy": 7}}).encode(), None]
    for record, content in zip(damaged, contents):
        if content is None:
            (record.folder / "model.npz").unlink()          # a record whose model is gone
        else:
            (record.folder / RECORD).write_bytes(content)
    (library.runs_dir / "notes.txt").write_text("not a run")      # foreign files are ignored
    fresh = RunLibrary(library.folder)
    with caplog.at_level(logging.WARNING, logger="mnist_gui.library"):
        listed = fresh.records()
        assert [r.id for r in listed] == [SHIPPED_ID] + sorted(r.id for r in good)
        assert len(fresh.warnings) == len(fresh.new_warnings) == 8
        assert all(any(r.id in w for r in damaged) for w in fresh.warnings)
        again = fresh.records()                             # listing again: the same, no new warning
    assert [r.id for r in again] == [r.id for r in listed] and fresh.new_warnings == [] and len(fresh.warnings) == 8
    assert len([r for r in caplog.records if r.name == "mnist_gui.library"]) == 8
    assert fresh.find(damaged[0].id) is None
    with pytest.raises(LibraryError):
        fresh.get(damaged[0].id)


def test_damaged_curves_cost_only_the_curves(library):
    record = add_run(library)
    (record.folder / "curves.json").write_text('{"format": 1, "batch": {"x": [1], "step": [], "loss": []}}')
    assert library.curves(record.id) is None and "damaged curves" in library.new_warnings[0]
    assert library.get(record.id).name and library.load_model(record.id)


def test_a_run_interrupted_before_its_record_is_skipped_then_cleaned_up_when_old(library):
    kept = add_run(library)
    half = library._reserve()
    save_model(small_model(), half / "model.npz")           # killed before curves and record
    assert [r.id for r in library.records()] == [SHIPPED_ID, kept.id] and library.warnings == []
    assert half.exists()                                     # young: maybe another program is writing it
    old = time.time() - library_module.STALE_SECONDS - 10
    os.utime(half, (old, old))
    library.records()
    assert not half.exists() and kept.folder.exists()


STEPS = ["mkdir", "model-create", "model-fsync", "curves-create", "curves-fsync", "record-create",
         "record-fsync", "record-rename"]


@pytest.mark.parametrize("step", STEPS)
def test_a_full_disk_at_any_step_of_a_save_leaves_the_library_as_it_was(library, monkeypatch, step):
    """Every write of a run fails in turn with ENOSPC: reserving its folder; creating, syncing or
    renaming the temporary file of its model (1st write), curves (2nd) or record (3rd)."""
    first = add_run(library)
    library.set_current(first.id)
    before = tree(library.folder)
    what, _, when = step.partition("-")
    nth = {"model": 1, "curves": 2, "record": 3}.get(what, 1)
    calls = {"mkdir": 0, "create": 0, "fsync": 0, "rename": 0}

    def failing(kind, real):
        def call(*args, **kwargs):
            calls[kind] += 1
            if calls[kind] == nth and kind == (when or what):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args, **kwargs)
        return call

    real_mkdir = Path.mkdir
    run_mkdir = failing("mkdir", real_mkdir)
    monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: (run_mkdir if self.parent == library.runs_dir
                                                               else real_mkdir)(self, *a, **k))
    monkeypatch.setattr(atomic_module, "_create_temporary", failing("create", atomic_module._create_temporary))
    monkeypatch.setattr(atomic_module.os, "fsync", failing("fsync", os.fsync))
    monkeypatch.setattr(atomic_module, "fsync_dir", lambda directory: None)   # count only the files' fsyncs
    monkeypatch.setattr(atomic_module.os, "replace", failing("rename", os.replace))
    with pytest.raises(LibraryError, match="No space left"):
        add_run(library, seed=1)
    monkeypatch.undo()
    assert calls[when or what] == nth                     # it failed where it was meant to
    assert tree(library.folder) == before
    assert [r.id for r in RunLibrary(library.folder).records()] == [SHIPPED_ID, first.id]
    assert library.current_id() == first.id


# -- the current model and the shipped one ----------------------------------------------------------
def test_the_current_model_is_remembered_and_falls_back_to_the_shipped_one(library):
    assert library.current_id() is None and library.current().id == SHIPPED_ID
    run = add_run(library)
    library.set_current(run.id)
    assert RunLibrary(library.folder).current().id == run.id         # another instance agrees
    (library.folder / "current.json").write_text("{not json")
    assert library.current().id == SHIPPED_ID
    library.set_current(run.id)
    library.delete(run.id)
    assert library.current().id == SHIPPED_ID                          # what it named is gone
    with pytest.raises(LibraryError):
        library.set_current("20990101-000000-abcdef")


def test_the_shipped_model_is_always_listed_and_read_only(library):
    shipped = library.get(SHIPPED_ID)
    assert shipped.readonly and shipped.model_path == resource("pretrained.npz") and shipped.folder is None
    assert shipped.test_accuracy == pytest.approx(0.9935) and shipped.architecture == "784-1024-1024-10 relu"
    assert shipped.status == "completed" and shipped.epochs == 40 and shipped.config["preset"] == "best"
    for change in (lambda: library.rename(SHIPPED_ID, "mine"), lambda: library.delete(SHIPPED_ID),
                   lambda: library.update_metrics(SHIPPED_ID, {"x": 1.0})):
        with pytest.raises(LibraryError, match="read-only"):
            change()
    curves = library.curves(SHIPPED_ID)
    assert len(curves.epochs) == 40 and curves.tests == [(40.0, pytest.approx(0.9935))]
    # A damaged library folder cannot hide it.
    library.runs_dir.mkdir(parents=True, exist_ok=True)
    (library.runs_dir / "20261122-153000-abcdef").mkdir()
    (library.runs_dir / "20261122-153000-abcdef" / RECORD).write_text("garbage")
    assert library.records()[0].id == SHIPPED_ID


def test_without_a_shipped_model_the_library_still_works(tmp_path):
    library = RunLibrary(tmp_path / "lib", shipped=tmp_path / "absent.npz")
    assert library.records() == [] and library.current() is None
    run = add_run(library)
    assert library.current() is None and library.find(SHIPPED_ID) is None
    library.set_current(run.id)
    assert library.current().id == run.id


# -- changing runs --------------------------------------------------------------------------------
def test_rename_and_new_metrics_rewrite_only_that_record_and_keep_unknown_keys(library):
    a, b = add_run(library, 0), add_run(library, 1)
    raw = json.loads((a.folder / RECORD).read_text())
    raw["from_a_newer_version"] = {"kept": True}
    (a.folder / RECORD).write_text(json.dumps(raw))
    b_before = (b.folder / RECORD).read_bytes()
    model_before = (a.folder / "model.npz").read_bytes()
    renamed = library.rename(a.id, "  my   best\nrun ")
    assert renamed.name == "my best run"
    updated = library.update_metrics(a.id, {"pen_drawn_accuracy": 0.87})
    assert updated.metrics["pen_drawn_accuracy"] == 0.87 and updated.metrics["test_accuracy"] == 0.91
    raw = json.loads((a.folder / RECORD).read_text())
    assert raw["from_a_newer_version"] == {"kept": True} and raw["name"] == "my best run"
    assert (b.folder / RECORD).read_bytes() == b_before and (a.folder / "model.npz").read_bytes() == model_before
    with pytest.raises(LibraryError, match="empty"):
        library.rename(a.id, "   ")


def test_delete_moves_to_the_trash_and_undo_brings_it_back(library):
    run = add_run(library)
    token = library.delete(run.id)
    assert [r.id for r in library.records()] == [SHIPPED_ID] and not run.folder.exists()
    restored = library.restore(token)
    assert restored.id == run.id and restored.name == run.name and library.load_model(run.id)
    token = library.delete(run.id)
    library.purge(token)
    assert not (library.trash_dir / token).exists()
    with pytest.raises(LibraryError):
        library.restore(token)
    # A window that did not end cleanly leaves its deletions: removed after a day.
    other = add_run(library, 2)
    token = library.delete(other.id)
    stale = token.split(".")
    stale[1] = str(int(time.time()) - library_module.TRASH_SECONDS - 60)
    os.rename(library.trash_dir / token, library.trash_dir / ".".join(stale))
    library.records()
    assert not (library.trash_dir / ".".join(stale)).exists()


def test_importing_a_file_copies_it_once(library, tmp_path):
    path = tmp_path / "mine.npz"
    model = small_model(3)
    model.metadata.update({"history": [{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.4,
                                        "val_accuracy": 0.82}], "status": "completed", "test_accuracy": 0.81})
    save_model(model, path)
    record, new = library.import_model(path)
    assert new and record.name == "mine" and record.origin == "imported" and record.status == "completed"
    assert record.test_accuracy == 0.81 and record.model_path.read_bytes() == path.read_bytes()
    assert [e["epoch"] for e in library.curves(record.id).epochs] == [1]
    again, new = library.import_model(path)                      # the same bytes: the same run
    assert not new and again.id == record.id
    shipped, new = library.import_model(resource("pretrained.npz"))
    assert not new and shipped.id == SHIPPED_ID
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not a model")
    before = tree(library.folder)
    with pytest.raises(ModelFileError, match="bad.npz"):
        library.import_model(bad)
    assert tree(library.folder) == before


def test_resolve_names_runs_by_id_prefix_or_name(library):
    a = add_run(library, 0)
    library.rename(a.id, "alpha")
    b = add_run(library, 1)
    library.rename(b.id, "alpha")
    assert library.resolve(a.id).id == a.id and library.resolve(a.id[:-2]).id == a.id
    with pytest.raises(LibraryError, match="2 runs"):
        library.resolve("alpha")
    assert library.resolve("nothing") is None


def test_a_continued_run_names_its_parent_and_counts_every_epoch(library):
    parent = add_run(library)
    child = library.add_training_run(small_model(1), finished(epochs=3), CONFIG, None, None,
                                     "2026-11-22T16:00:00+01:00", parent=parent)
    assert child.parent == parent.id and child.origin == "continued" and child.epochs == 5
    assert child.name == f"{parent.name} +3 epochs" and default_name(None, None) == "custom"


def test_the_model_cache_serves_a_changed_file_afresh(library):
    run = add_run(library)
    first = library.load_model(run.id)
    assert library.load_model(run.id) is first
    save_model(small_model(9), run.model_path)
    assert library.load_model(run.id) is not first


def test_run_ids_sort_in_starting_order_even_within_a_second():
    """Ids carry the millisecond before their random part, so runs started within one second (a model
    imported as the window opens, a quick run just after) still list in the order they started."""
    import time as _time

    from mnist_gui.state.library import _ID, _new_id

    ids = []
    for _ in range(40):
        ids.append(_new_id())
        _time.sleep(0.002)
    assert all(_ID.match(i) for i in ids) and ids == sorted(ids) and len(set(ids)) == len(ids)
