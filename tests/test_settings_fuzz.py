"""Seeded fuzzing of the settings file: whatever it holds, the window starts, with defaults for what is bad.

Issue 18: ``geometry=hello`` gave a TypeError in ``restoreGeometry``, a huge pen width an
OverflowError, a deeply nested value a RecursionError; and behind those, ``QSettings`` itself aborts
the process (``std::bad_alloc``) on a ``@Variant`` declaring a huge list, and ``QSplitter.restoreState``
hangs on a damaged blob. Here every key gets every kind of damage (wrong types, lists, huge numbers,
deep nesting, binary garbage, ``@Variant``/``@ByteArray``/``@DateTime`` junk, NUL bytes, very long
values), the whole file gets damaged too (random bytes, not UTF-8, truncated, huge, a folder, a FIFO,
unreadable), and every case must give: a ``Settings`` whose every property is its default or a valid
value, a window that restores from it and fits on the screen, and at most a warning.
"""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from PySide6.QtCore import QByteArray, QSettings

from helpers import report_fuzz_outcomes
from mnist_gui.state.settings_file import MAX_FILE_BYTES, SettingsFile, escape_value, parse_value
from mnist_gui.ui.settings import Settings

KEYS = {"window/geometry": "geometry", "window/maximized": "maximized", "window/main_splitter": "main_splitter",
        "window/right_splitter": "right_splitter", "training/fields": "training_fields",
        "canvas/pen_width": "pen_width", "dataset/path": "dataset_path", "model/last": "last_model"}
PER_KIND = 100
outcomes: Counter = Counter()


def junk_value(rng: random.Random) -> str:
    """One damaged value, as it would appear after ``key=`` in the file."""
    kind = rng.randrange(14)
    if kind == 0:    # wrong type: a list, a bool, a float, a negative number
        return rng.choice(["a, b, c", "true", "false", "1.5", "-3", "0", "", '""', "1,2", "1,2,3,4,5"])
    if kind == 1:    # huge numbers
        return rng.choice(["1e400", "9" * rng.randrange(10, 5000), "-" + "9" * 40, "2147483648", "inf", "nan",
                           "99999,99999,99999,99999", "0x7fffffff"])
    if kind == 2:    # deep nesting, as JSON or as brackets anywhere
        depth = rng.randrange(100, 30000)
        opener = rng.choice(["[", '{"a":', "[[", "("])
        return '"' + (opener * depth).replace('"', '\\"') + '"'
    if kind == 3:    # binary garbage (escaped as Qt would write it, or raw)
        raw = rng.randbytes(rng.randrange(1, 300))
        return escape_value(raw.decode("latin-1")) if rng.random() < 0.5 else raw.decode("latin-1")
    if kind == 4:    # @Variant(...) with a QDataStream payload declaring things (the abort QSettings has)
        payload = rng.choice([b"\0\0\0\x09\x7f\xff\xff\xff", b"\0\0\0\x7f\0\0\0\x10garbage",
                              b"\0\0\0\x0c\xff\xff\xff\xff", rng.randbytes(rng.randrange(40))])
        return escape_value(payload).replace("@ByteArray(", "@Variant(", 1)
    if kind == 5:    # @ByteArray junk where text is expected, and the blobs of older versions
        return escape_value(rng.randbytes(rng.randrange(0, 200)))
    if kind == 6:    # other Qt types
        return rng.choice(["@DateTime(\\0\\0\\0\\x10\\xff)", "@Size(10 20)", "@Rect(1 2 3 4)", "@Point(1 2)",
                           "@Invalid()", "@@x", "@String(x)", "@Variant(", "@ByteArray("])
    if kind == 7:    # NUL bytes in text (a path with one makes os calls raise ValueError)
        return rng.choice(["/tmp/a\\0b.npz", "a\\0", "\\0", "\\x0"])
    if kind == 8:    # a very long value
        return "x" * rng.choice([1000, 70_000, 500_000])
    if kind == 9:    # quotes and escapes left open
        return rng.choice(['"', '"abc', "\\", "abc\\", "\\x", "\\xZZ", '"\\', "\\777777777777"])
    if kind == 10:   # plausible-looking but out of range numbers for each kind of value
        return ",".join(str(rng.choice([-10**6, -1, 0, 1, 49, 10**6, 2**31])) for _ in range(rng.randint(1, 5)))
    if kind == 11:   # JSON that is valid but the wrong shape for the panel
        return escape_value(rng.choice(['{"preset": ["x"]}', '{"preset": {"a": 1}}', '{"hidden": 5}',
                                        '{"epochs": "9999999999999999999999"}', '{"lr": "nan"}', "[1, 2]",
                                        '{"augment": "yes"}', '{"activation": null}', '{"hidden": "0"}',
                                        '{"preset": "best", "batch_size": "-1"}', "null", "1e400"]))
    if kind == 12:   # non-ASCII and control characters
        return escape_value("".join(chr(rng.choice([0x1b, 0x0a, 0xe9, 0x65e5, 0xdcff, 0xfffd, 0x7f]))
                                    for _ in range(rng.randrange(1, 20))))
    return escape_value(rng.randbytes(rng.randrange(1, 40)).decode("latin-1"))


def check_settings(kind: str, case: int) -> str:
    """Read every setting; each must be its default (None / {}) or a valid value of its type."""
    s = Settings()
    rect = s.geometry
    assert rect is None or (len(rect) == 4 and all(isinstance(v, int) for v in rect)), (kind, case, rect)
    assert s.maximized in (None, True, False)
    for sizes in (s.main_splitter, s.right_splitter):
        assert sizes is None or all(isinstance(v, int) and 0 <= v <= 30000 for v in sizes), (kind, case, sizes)
    assert isinstance(s.training_fields, dict)
    assert s.pen_width is None or 1 <= s.pen_width <= 1000
    for path in (s.dataset_path, s.last_model):
        assert path is None or (isinstance(path, str) and "\0" not in path and len(path) <= 4096)
    bad = any(v is None for v in (rect, s.pen_width)) or s.problems
    return "default" if bad else "value"


@pytest.fixture
def ini():
    path = Settings().file
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def window(qtbot):
    from mnist_gui.app import MainWindow

    w = MainWindow(model_path=None)
    qtbot.addWidget(w)
    return w


def restore_into(window, kind: str, case: int) -> None:
    """The window's own restore, from the file as it is now: no exception, and a sane window."""
    window.settings = Settings()
    window._restore_settings()
    size = window.size()
    assert 50 <= size.width() <= 30000 and 50 <= size.height() <= 30000, (kind, case, size)
    assert 4 <= window.pad.pen_width() <= 60
    assert all(v >= 0 for v in window.main_splitter.sizes() + window.right_splitter.sizes())


def write(path, data: bytes) -> None:
    if path.is_dir():
        path.rmdir()
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def test_every_key_with_every_kind_of_damaged_value(ini, window):
    rng = random.Random("settings-values")
    counts: Counter = Counter()
    for case in range(8 * PER_KIND):
        key = list(KEYS)[case % len(KEYS)]
        section, name = key.split("/")
        others = [f"[{s}]\n{n}={junk_value(rng)}\n" for s, n in (k.split("/") for k in rng.sample(list(KEYS), 3))]
        text = "".join(others) + f"[{section}]\n{name}={junk_value(rng)}\n"
        write(ini, text.encode("utf-8", "surrogateescape"))
        outcome = check_settings("values", case)
        restore_into(window, "values", case)
        counts[outcome] += 1
        outcomes["values", "error" if outcome == "default" else "ok"] += 1
    assert counts["default"] > 0


def test_the_whole_file_damaged(ini, window):
    rng = random.Random("settings-files")
    good = b"[window]\ngeometry=\"10,20,900,700\"\n[canvas]\npen_width=30\n[model]\nlast=/tmp/x.npz\n"
    for case in range(2 * PER_KIND):
        what = case % 6
        if what == 0:
            data = rng.randbytes(rng.randrange(0, 5000))
        elif what == 1:   # not UTF-8
            data = good.replace(b"/tmp/x", bytes(rng.randrange(128, 256) for _ in range(8)))
        elif what == 2:   # truncated anywhere
            data = good[:rng.randrange(len(good))]
        elif what == 3:   # byte flips
            data = bytearray(good)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        elif what == 4:   # every line of a real file repeated, or a line that never ends
            data = good * rng.randrange(1, 2000) if rng.random() < 0.5 else b"[window]\ngeometry=" + b"1" * 200_000
        else:             # larger than any settings file we write
            data = b"[a]\nb=c\n" * (MAX_FILE_BYTES // 8 + 1)
        write(ini, data)
        outcome = check_settings("file", case)
        restore_into(window, "file", case)
        outcomes["file", "error" if outcome == "default" else "ok"] += 1


def test_a_settings_file_that_is_a_folder_a_fifo_or_unreadable(ini, window, monkeypatch, qtbot):
    from mnist_gui.app import MainWindow

    ini.mkdir()
    s = Settings()
    assert s.geometry is None and s.problems and "not a regular file" in s.problems[0]
    s.pen_width = 20                       # cannot be written: a problem noted, no exception
    assert any("cannot write" in p for p in s.problems)
    restore_into(window, "folder", 0)
    ini.rmdir()
    os.mkfifo(ini)                         # opening a FIFO to read would block forever
    assert Settings().pen_width is None and "not a regular file" in Settings().problems[0]
    w = MainWindow(model_path=None)        # a whole window, reading and writing around the FIFO
    qtbot.addWidget(w)
    w.close()
    assert stat.S_ISFIFO(os.stat(ini).st_mode)
    ini.unlink()
    ini.write_text("[canvas]\npen_width=30\n")
    real_open = os.open

    def denied(path, *args, **kwargs):
        if os.fspath(path) == os.fspath(ini):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)   # we run as root in CI: chmod 000 would not stop us
    s = Settings()
    assert s.pen_width is None and "Permission denied" in s.problems[0]
    outcomes["special", "error"] += 3


def test_values_round_trip_and_qt_reads_what_we_write(tmp_path):
    """Our writer escapes as Qt does: random text and bytes come back unchanged, through our reader
    and through QSettings (which is safe on files we wrote: they never hold a @Variant)."""
    rng = random.Random("settings-round-trip")
    alphabet = [chr(c) for c in (*range(0, 0x80), 0xe9, 0xff, 0x100, 0x65e5, 0xdcff, 0xfffd)]
    for case in range(PER_KIND):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        blob = rng.randbytes(rng.randrange(0, 40))
        path = tmp_path / f"round-{case}.ini"
        f = SettingsFile(path)
        with f.batch():
            f.set_value("section/text", text)
            f.set_value("section/blob", blob)
            f.set_value("other/number", case)
        again = SettingsFile(path)
        assert again.value("section/text") == text, (case, text)
        assert again.value("section/blob") == blob
        assert again.value("other/number") == str(case)
        if not any(0xd800 <= ord(c) <= 0xdfff for c in text):   # Qt's QString would mangle lone surrogates
            q = QSettings(str(path), QSettings.Format.IniFormat)
            assert q.value("section/text") == text, (case, text)
            assert bytes(q.value("section/blob").data()) == blob
        outcomes["round-trip", "ok"] += 1


def test_we_read_what_qt_wrote(tmp_path):
    path = tmp_path / "qt.ini"
    q = QSettings(str(path), QSettings.Format.IniFormat)
    q.setValue("window/geometry", QByteArray(bytes(range(256))))
    q.setValue("training/fields", '{"a": "b, c", "d": [1,2]}; x = y')
    q.setValue("model/last", "/tmp/ü ñ\n\x1b[31m,x")
    q.setValue("canvas/pen_width", 22)
    q.sync()
    f = SettingsFile(path)
    assert f.value("window/geometry") == bytes(range(256))
    assert f.value("training/fields") == '{"a": "b, c", "d": [1,2]}; x = y'
    assert f.value("model/last") == "/tmp/ü ñ\n\x1b[31m,x"
    assert f.value("canvas/pen_width") == "22"
    assert isinstance(parse_value("a, b"), object) and f.value("missing/key") is None


def test_two_windows_writing_keep_each_others_changes(ini):
    a, b = Settings(), Settings()
    a.last_model = "/models/a.npz"
    b.pen_width = 33                       # b read the file before a wrote: its write merges
    fresh = Settings()
    assert fresh.last_model == "/models/a.npz" and fresh.pen_width == 33


HOSTILE_START = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication
    from mnist_gui.app import MainWindow
    app = QApplication([])
    window = MainWindow(model_path=None)
    window.show()
    app.processEvents()
    window.close()
    print("started and closed:", window.statusBar().currentMessage() or "no warning")
""")


@pytest.mark.parametrize("content", [
    b"[window]\ngeometry=@Variant(\\0\\0\\0\\t\\x7f\\xff\\xff\\xff)\n",          # QSettings: std::bad_alloc
    b"[x]\ny=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x10garbage)\n",
    b"[window]\nmain_splitter=@ByteArray(\\0\\0\\0\\xff\\0\\0\\0\\x1\\0\\0\\0\\x2\\0\\0\\0\\xe\\0\\0\\0\\xe"
    b"\\xff\\x7f\\xff\\xff\\xff\\x1\\x97(\\r\\xce\\0)\n",                          # restoreState: hangs
])
def test_a_hostile_settings_file_does_not_stop_the_application(tmp_path, content):
    folder = tmp_path / "config" / "mnist-gui"
    folder.mkdir(parents=True)
    (folder / "mnist-gui.ini").write_bytes(content)
    env = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", HOSTILE_START], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "started and closed" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    outcomes["hostile-start", "ok"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("settings", outcomes, 0.0, 6, capsys)
