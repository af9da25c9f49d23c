"""Where the application writes (``train --out``, Save model as, Export drawing, the settings): one rule.

Issue 18: ``train --out some_dir.npz`` trained to the end and then failed, losing the model; saving
onto a FIFO or a symlink replaced the FIFO or the link itself; as root, ``--out /dev/null`` replaced
/dev/null with a regular file; saving a model whose metadata nests ~500 levels raised RecursionError.
The rule (``mnist_gui.atomic.writable_target``): a regular file or a new name in an existing folder is
written atomically; a symbolic link is written *through* (its target replaced, the link kept); a
folder, FIFO, device or socket is refused before anything is written, and ``train`` checks ``--out``
before it loads a single image.
"""

from __future__ import annotations

import os
import random
import socket
import stat
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

from helpers import report_fuzz_outcomes
from mnist_gui.atomic import writable_target
from mnist_gui.errors import ModelFileError
from mnist_gui.model import Model, Normalization
from mnist_gui.model.file import MAX_METADATA_DEPTH, load_model, save_model
from mnist_gui.nn import build_mlp

outcomes: Counter = Counter()
ENV = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen")


def small_model(metadata=None) -> Model:
    return Model(build_mlp((784, 8, 10), seed=0), Normalization.unit(), metadata or {"test_accuracy": 0.5})


def make_target(tmp_path, kind: str, rng: random.Random, servers: list):
    """A path of the given kind; returns (path, expect: "refused" | "written" | "through")."""
    base = tmp_path / f"{kind}-{rng.randrange(10**9)}"
    if kind == "new":
        return base.with_suffix(".npz"), "written"
    if kind == "existing":
        base.write_bytes(b"old")
        return base, "written"
    if kind == "folder":
        base.mkdir()
        return base, "refused"
    if kind == "fifo":
        os.mkfifo(base)
        return base, "refused"
    if kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(base))
        servers.append(s)
        return base, "refused"
    if kind == "device":
        base.symlink_to(rng.choice(["/dev/null", "/dev/zero", "/dev/full"]))
        return base, "refused"
    if kind == "missing-folder":
        return base / "nowhere" / "m.npz", "refused"
    if kind == "folder-is-a-file":
        base.write_bytes(b"x")
        return base / "m.npz", "refused"
    if kind == "link-to-file":
        target = tmp_path / f"target-{rng.randrange(10**9)}.npz"
        target.write_bytes(b"old")
        base.symlink_to(target if rng.random() < 0.5 else target.name)   # absolute or relative
        return base, "through"
    if kind == "dangling-link":
        base.symlink_to(tmp_path / f"not-yet-{rng.randrange(10**9)}.npz")
        return base, "through"
    if kind == "link-chain":
        target = tmp_path / f"chain-target-{rng.randrange(10**9)}"
        target.write_bytes(b"old")
        middle = tmp_path / f"chain-middle-{rng.randrange(10**9)}"
        middle.symlink_to(target)
        base.symlink_to(middle)
        return base, "through"
    if kind == "link-to-folder":
        folder = tmp_path / f"linked-folder-{rng.randrange(10**9)}"
        folder.mkdir()
        base.symlink_to(folder)
        return base, "refused"
    if kind == "read-only-place":
        return "/proc/self/mnist-gui-test.npz", "refused"
    raise AssertionError(kind)


KINDS = ["new", "existing", "folder", "fifo", "socket", "device", "missing-folder", "folder-is-a-file", "link-to-file",
         "dangling-link", "link-chain", "link-to-folder", "read-only-place"]


def test_every_kind_of_target_saving_a_model(tmp_path):
    rng = random.Random("outputs-save")
    model = small_model()
    servers: list = []
    try:
        for case in range(5 * len(KINDS) * 4):
            kind = KINDS[case % len(KINDS)]
            path, expect = make_target(tmp_path, kind, rng, servers)
            before = os.lstat(path) if os.path.lexists(path) else None
            try:
                save_model(model, path)
                outcome = "ok"
            except ModelFileError as exc:
                outcome = "error"
                assert "\n" not in str(exc), exc
            assert (outcome == "error") == (expect == "refused"), (case, kind, outcome)
            if expect == "refused" and before is not None:   # untouched: the same inode, the same kind
                after = os.lstat(path)
                assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino, stat.S_IFMT(before.st_mode))
            if expect == "through":
                assert os.path.islink(path), "the link itself was replaced"
                assert load_model(os.path.realpath(path)).sizes == model.sizes
            if expect == "written":
                assert load_model(path).sizes == model.sizes
            outcomes["save", outcome] += 1
    finally:
        for s in servers:
            s.close()


def test_dev_null_is_never_replaced():
    before = os.stat("/dev/null")
    with pytest.raises(ModelFileError, match="device"):
        save_model(small_model(), "/dev/null")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino and after.st_rdev == before.st_rdev
    outcomes["save", "error"] += 1


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "missing-folder", "folder-is-a-file", "read-only-place"])
def test_train_checks_out_before_loading_anything(tmp_path, kind):
    path, _ = make_target(tmp_path, kind, random.Random(kind), [])
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "train", "--preset", "best", "--out", str(path)],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot save to "), proc.stderr
    assert proc.stdout == "", "work started before the output was checked: " + proc.stdout
    assert time.monotonic() - t0 < 60   # the best preset trains for minutes: it never started
    if kind == "device":
        assert os.path.islink(path) and stat.S_ISCHR(os.stat(path).st_mode)
    outcomes["cli", "error"] += 1


def nested(depth: int):
    value: object = "bottom"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize("depth", [MAX_METADATA_DEPTH - 2, MAX_METADATA_DEPTH + 1, 500, 5000, 100_000])
def test_deeply_nested_metadata_is_refused_on_saving_never_a_recursion_error(tmp_path, depth):
    model = small_model({"deep": nested(depth)})
    path = tmp_path / "deep.npz"
    if depth < MAX_METADATA_DEPTH - 1:
        save_model(model, path)
        assert load_model(path).metadata["deep"] == nested(depth)
        outcomes["metadata", "ok"] += 1
        return
    with pytest.raises(ModelFileError, match="nested more than"):
        save_model(model, path)
    assert not path.exists()
    outcomes["metadata", "error"] += 1


def test_metadata_that_contains_itself_or_is_not_json(tmp_path):
    loop: dict = {}
    loop["self"] = loop
    for metadata, message in ((loop, "nested|contains itself"), ({"x": object()}, "not JSON"),
                              ({"x": {1, 2}}, "not JSON"), ({"big": "x" * (17 << 20)}, "too large")):
        with pytest.raises(ModelFileError, match=message):
            save_model(small_model(metadata), tmp_path / "m.npz")
        outcomes["metadata", "error"] += 1


def test_deeply_nested_metadata_in_a_file_is_refused_on_loading(tmp_path):
    import io
    import json
    import zipfile

    good = tmp_path / "good.npz"
    save_model(small_model(), good)
    rng = random.Random("outputs-deep-load")
    for case in range(50):
        depth = rng.choice([MAX_METADATA_DEPTH + 1, 100, 1000, 50_000, 1_000_000])
        with zipfile.ZipFile(good) as src:
            meta = json.loads(np.load(io.BytesIO(src.read("metadata.npy"))).tobytes())
            meta["history"] = "PLACEHOLDER"
            text = json.dumps(meta).replace('"PLACEHOLDER"', "[" * depth + "]" * depth)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as dst:
                for info in src.infolist():
                    if info.filename == "metadata.npy":
                        arr = io.BytesIO()
                        np.save(arr, np.frombuffer(text.encode(), np.uint8))
                        dst.writestr(info, arr.getvalue())
                    else:
                        dst.writestr(info, src.read(info))
        path = tmp_path / f"deep{case}.npz"
        path.write_bytes(buf.getvalue())
        with pytest.raises(ModelFileError, match="nested|large"):
            load_model(path)
        outcomes["metadata-load", "error"] += 1


def test_writable_target_probe_finds_places_nothing_can_be_created(tmp_path):
    assert writable_target(tmp_path / "fine.npz", probe=True) == tmp_path / "fine.npz"
    assert os.listdir(tmp_path) == []   # the probe leaves nothing behind
    with pytest.raises(OSError):
        writable_target("/proc/self/x.npz", probe=True)
    outcomes["probe", "ok"] += 1


def test_the_window_refuses_the_same_targets_and_never_blocks(qtbot, tmp_path):
    from mnist_gui.app import MainWindow

    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.set_model(small_model(), "small")
    from mnist_gui.ui.imagefile import array_image, save_png

    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255   # a "1", so the network has an input to export
    save_png(array_image(digit), tmp_path / "one.png")
    assert window.classify_image(str(tmp_path / "one.png")) and window.input_image() is not None
    rng = random.Random("outputs-window")
    servers: list = []
    try:
        for case, kind in enumerate(["fifo", "folder", "device", "socket", "missing-folder", "link-to-file", "new"]):
            for action in (window.save_model_as, window.export_drawing, window.export_input):
                path, expect = make_target(tmp_path, kind, rng, servers)
                ok = action(str(path))
                assert ok == (expect != "refused"), (kind, action.__name__)
                if not ok:
                    assert window.last_error[0] in ("Cannot save model", "Cannot export the drawing",
                                                    "Cannot export the network input (28x28)")
                if kind == "fifo":
                    assert stat.S_ISFIFO(os.lstat(path).st_mode)
                if kind == "link-to-file":
                    assert os.path.islink(path)
                outcomes["window", "ok" if ok else "error"] += 1
    finally:
        for s in servers:
            s.close()


def test_zz_summary(capsys):
    report_fuzz_outcomes("output paths", outcomes, 0.0, 99, capsys)
