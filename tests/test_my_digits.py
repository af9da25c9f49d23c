"""The user's own digits (mnist_gui.state.my_digits): kept, undone, relabelled, exported, imported, and
robust to damaged files, on real files."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from mnist_gui.errors import DatasetError
from mnist_gui.imaging.strokes import Stroke
from mnist_gui.state.my_digits import MyDigits


def drawing(rng, n_strokes=2):
    strokes = [Stroke(0.068, np.column_stack([rng.uniform(0.2, 0.8, 12), rng.uniform(0.2, 0.8, 12),
                                              np.ones(12)])) for _ in range(n_strokes)]
    return strokes, rng.integers(0, 256, (28, 28), dtype=np.uint8)


@pytest.fixture
def store(tmp_path):
    s = MyDigits(tmp_path / "my-digits.jsonl")
    assert s.load() == [] and len(s) == 0
    return s


def test_add_undo_relabel_delete_and_it_is_all_on_disk(store, tmp_path):
    rng = np.random.default_rng(0)
    added = []
    for label in (7, 7, 1, 4):
        strokes, image = drawing(rng)
        added.append(store.add(label, strokes, image))
        if len(added) == 1:
            strokes_of_first = strokes[0].points
        time.sleep(0.002)
    assert store.counts()[7] == 2 and len(store) == 4
    again = MyDigits(store.path)
    assert again.load() == [] and [r.label for r in again.records] == [7, 7, 1, 4]
    images, labels = again.arrays()
    assert images.shape == (4, 784) and images.dtype == np.uint8 and labels.tolist() == [7, 7, 1, 4]
    np.testing.assert_allclose(again.records[0].strokes[0].points, added[0].strokes[0].points, atol=1e-4)
    np.testing.assert_allclose(added[0].strokes[0].points[:, :2], strokes_of_first[:, :2], atol=0.5e-4)
    assert store.undo_last().id == added[-1].id and len(MyDigits(store.path).load() or []) == 0
    store.relabel(added[0].id, 9)
    store.delete(added[1].id)
    final = MyDigits(store.path)
    final.load()
    assert [(r.id, r.label) for r in final.records] == [(added[0].id, 9), (added[2].id, 1)]
    with pytest.raises(ValueError):
        store.relabel(added[0].id, 10)


def test_a_damaged_record_costs_only_itself(store):
    rng = np.random.default_rng(1)
    for label in range(5):
        store.add(label, *drawing(rng))
    lines = store.path.read_text().splitlines()
    record = json.loads(lines[2])
    record["label"] = 12                                    # a label that is no digit
    lines[2] = json.dumps(record)
    lines[3] = lines[3][: len(lines[3]) // 2]               # a half-written line
    lines[4] = "[" * 100000                                 # nested far too deep
    store.path.write_text("\n".join(lines) + "\n")
    again = MyDigits(store.path)
    warnings = again.load()
    assert [r.label for r in again.records] == [0, 4] and len(warnings) == 3
    assert all("line" in w and "skipped" in w for w in warnings)


@pytest.mark.parametrize("content", [b"", b"hello\n", b"\x00\xff" * 100, b'{"format": "something else"}\n',
                                     b'{"format": "mnist-gui my digits", "version": 99}\n'])
def test_a_file_that_is_not_a_set_is_kept_aside_not_lost(store, content):
    store.path.write_bytes(content)
    again = MyDigits(store.path)
    warnings = again.load()
    assert len(again) == 0 and len(warnings) == 1 and store.path.exists()
    again.add(3, *drawing(np.random.default_rng(2)))        # the next change keeps the old file aside
    assert store.path.with_name(store.path.name + ".damaged").read_bytes() == content
    assert [r.label for r in MyDigits(store.path).records] == [] and MyDigits(store.path).load() == []


def test_export_and_import_round_trip_without_doubles(store, tmp_path):
    rng = np.random.default_rng(3)
    for label in (1, 2, 3):
        store.add(label, *drawing(rng))
    out = tmp_path / "shared.jsonl"
    assert store.export(out) == 3
    other = MyDigits(tmp_path / "other" / "my-digits.jsonl")
    other.load()
    other.add(8, *drawing(rng))
    assert other.import_file(out) == 3 and other.import_file(out) == 0
    assert sorted(r.label for r in MyDigits(other.path).records or other.records) == [1, 2, 3, 8]


def test_importing_a_bad_file_changes_nothing(store, tmp_path):
    rng = np.random.default_rng(4)
    store.add(5, *drawing(rng))
    before = store.path.read_bytes()
    good = tmp_path / "good.jsonl"
    store.export(good)
    lines = good.read_text().splitlines()
    cases = {"missing": tmp_path / "nope.jsonl", "folder": tmp_path}
    for name, text in (("not a set", "hello"), ("damaged record", lines[0] + "\n{\"id\": \"x\"}\n"),
                       ("truncated", good.read_text()[:-40]), ("binary", "\x00" * 10)):
        cases[name] = tmp_path / f"{name}.jsonl"
        cases[name].write_text(text)
    for name, path in cases.items():
        with pytest.raises(DatasetError) as info:
            store.import_file(path)
        assert str(path) in str(info.value), name
        assert store.path.read_bytes() == before and len(store) == 1, name


def test_a_failed_write_leaves_the_set_as_it_was(store, monkeypatch):
    import mnist_gui.state.my_digits as module

    rng = np.random.default_rng(5)
    store.add(0, *drawing(rng))
    before = store.path.read_bytes()

    def full_disk(path, writer, mode="wb"):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "atomic_write", full_disk)
    with pytest.raises(OSError):
        store.add(1, *drawing(rng))
    assert store.path.read_bytes() == before and [r.label for r in store.records] == [0]


def test_five_thousand_drawings_load(store, capsys):
    rng = np.random.default_rng(6)
    records = []
    for i in range(5000):
        strokes, image = drawing(rng, n_strokes=3)
        records.append((i % 10, strokes, image))
    # Written in one go (5,000 single additions would rewrite the file 5,000 times).
    from mnist_gui.state.my_digits import MyDigit, _write
    _write(store.path, [MyDigit.new(f"r{i}", label, strokes, image.reshape(784), float(i))
                        for i, (label, strokes, image) in enumerate(records)])
    t = time.perf_counter()
    again = MyDigits(store.path)
    assert again.load() == [] and len(again) == 5000
    with capsys.disabled():
        print(f"\n5,000 drawings ({store.path.stat().st_size / 1e6:.1f} MB) loaded in "
              f"{time.perf_counter() - t:.2f} s")
