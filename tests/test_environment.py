"""A hostile environment gives one clean ``error:`` line (or a clean exit), never a traceback.

Issue 18: ``--data '~nosuchuser/x'`` gave a RuntimeError traceback (and "unexpected error" in the
window); ``PYTHONIOENCODING=ascii`` with a non-ASCII image name a UnicodeEncodeError; stdout on
``/dev/full`` an OSError traceback; a name with 0xff bytes was "File not found"; a name with a newline
or an ANSI escape was echoed raw into the error. Here random hostile names (undecodable bytes,
newlines, carriage returns, ANSI colour codes, right-to-left overrides, non-ASCII letters) go through
every command and argument that takes a path, under several output encodings, and the outputs go to
a full disk: every run ends with exit code 0 and no stderr, or exit code 2 and exactly one stderr line
``error: ...`` that holds no raw control character.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from helpers import report_fuzz_outcomes

outcomes: Counter = Counter()
BASE_ENV = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen", OPENBLAS_NUM_THREADS="1")
PIECES = [b"\xff", b"\xfe\x80", b"\n", b"\r", b"\x1b[31m", b"\x1b]0;title\x07", b"\t", "é".encode(),
          "日本".encode(), "\u202e".encode(), b" ", b"\x7f", b"'", b'"', b"<b>"]


def run(args: list, env_extra: dict | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = dict(BASE_ENV, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "mnist_gui", *args], stdout=stdout, stderr=subprocess.PIPE,
                          env=env, timeout=120)


def check_one_line(proc, what) -> str:
    """Exit 0 with nothing on stderr, or exit 2 with one clean ``error:`` line."""
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "Exception ignored" not in err, (what, err[-2000:])
    if proc.returncode == 0:
        assert err == "", (what, err)
        return "ok"
    assert proc.returncode == 2, (what, proc.returncode, err[-2000:])
    lines = err.splitlines(keepends=True)
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith("\n"), (what, err)
    body = lines[0][:-1]
    assert not any(ord(c) < 32 or ord(c) == 127 for c in body), (what, body)   # no raw control character
    assert "\u202e" not in body, (what, body)
    return "error"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model file and a valid PNG of a digit."""
    from PySide6.QtGui import QImage

    from helpers import mnist
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp

    folder = tmp_path_factory.mktemp("env")
    model = folder / "m.npz"
    save_model(Model(build_mlp((784, 16, 10), seed=0), Normalization.unit(), {}), model)
    digit = np.ascontiguousarray(np.kron(mnist().test_images[0].reshape(28, 28), np.ones((4, 4), np.uint8)))
    png = folder / "d.png"
    assert QImage(digit.data, 112, 112, 112, QImage.Format.Format_Grayscale8).save(str(png))
    return folder, model, png


def hostile_name(rng: random.Random) -> bytes:
    return b"x" + b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))


def test_hostile_names_in_every_path_argument(files):
    folder, model, png = files
    rng = random.Random("environment-names")
    fs = os.fsencode(folder)
    for case in range(36):
        name = hostile_name(rng)
        exists = case % 2 == 0
        slot = case % 6
        if slot == 0:     # the image given to predict
            path = os.path.join(fs, b"img-%d-" % case + name + b".png")
            if exists:
                os.link(png, path)
            args = [b"predict", os.fsencode(model), path]
        elif slot == 1:   # the model given to predict
            path = os.path.join(fs, b"model-%d-" % case + name + b".npz")
            if exists:
                os.link(model, path)
            args = [b"predict", path, os.fsencode(png)]
        elif slot == 2:   # the model given to evaluate (a bad one when it exists: the error names it)
            path = os.path.join(fs, b"eval-%d-" % case + name + b".npz")
            if exists:
                with open(path, "wb") as fh:
                    fh.write(b"PK\x03\x04 not a zip")
            args = [b"evaluate", path]
        elif slot == 3:   # --data
            path = os.path.join(fs, b"data-%d-" % case + name)
            if exists:
                os.mkdir(path)
            args = [b"evaluate", os.fsencode(model), b"--data", path]
        elif slot == 4:   # --out in a folder that does not exist
            args = [b"train", b"--epochs", b"1", b"--limit", b"100", b"--out",
                    os.path.join(fs, b"no-folder-" + name, b"m.npz")]
        else:             # predict --json on an existing picture with a hostile name
            path = os.path.join(fs, b"json-%d-" % case + name + b".png")
            os.link(png, path)
            args = [b"predict", os.fsencode(model), path, b"--json"]
        encoding = rng.choice(["", "ascii", "latin-1", "utf-8"])
        proc = run(args, {"PYTHONIOENCODING": encoding} if encoding else None)
        outcome = check_one_line(proc, (case, args, encoding))
        if slot in (0, 1, 5) and exists:
            assert outcome == "ok", (case, args, proc.stderr)
            if slot == 5:
                import json

                json.loads(proc.stdout.decode().splitlines()[-1])   # valid JSON whatever the name
        outcomes["names", outcome] += 1


@pytest.mark.parametrize("data", ["~nosuchuser/x", "~nosuchuser", "~nosuchuser/../..", "~/\x00x", "a\x00b"])
def test_paths_python_cannot_even_form(files, data):
    folder, model, _ = files
    for args in (["evaluate", str(model), "--data", data], ["train", "--epochs", "1", "--data", data]):
        if "\x00" in data:   # a NUL cannot be passed in argv: ask the library directly
            from mnist_gui.data import load_mnist
            from mnist_gui.errors import DatasetError

            with pytest.raises(DatasetError, match="NUL"):
                load_mnist(data)
            outcomes["unformable", "error"] += 1
            continue
        proc = run(args)
        assert check_one_line(proc, args) == "error"
        assert "nosuchuser" in proc.stderr.decode()
        outcomes["unformable", "error"] += 1


@pytest.mark.parametrize("args", [["train", "--list-presets"], ["predict", "MODEL", "PNG"],
                                  ["predict", "MODEL", "PNG", "--json"], ["--version"],
                                  ["evaluate", "MODEL", "--json"]])
def test_stdout_on_a_full_disk(files, args):
    folder, model, png = files
    args = [str(model) if a == "MODEL" else str(png) if a == "PNG" else a for a in args]
    with open("/dev/full", "wb") as full:
        proc = run(args, stdout=full)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
    if args == ["--version"]:   # argparse prints and exits by itself
        assert proc.returncode in (0, 2), err
    else:
        assert proc.returncode == 2 and err.startswith("error: cannot write the output") and err.count("\n") == 1, err
    outcomes["full-disk", "error"] += 1


def test_a_closed_stdout_is_a_quiet_exit(files):
    folder, model, png = files
    proc = subprocess.Popen([sys.executable, "-m", "mnist_gui", "predict", str(model), str(png)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BASE_ENV)
    proc.stdout.close()   # the reader went away (a `| head` that ended)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1) and b"Traceback" not in err and b"Exception ignored" not in err, err
    outcomes["closed-stdout", "ok"] += 1


def test_the_window_reports_an_unformable_dataset_path_as_a_dataset_error(qtbot):
    from mnist_gui.app import MainWindow

    window = MainWindow(model_path=None)
    qtbot.addWidget(window)
    for path in ("~nosuchuser/x", "bad\nname\x1b[31m"):
        with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
            window.set_dataset_path(path)
        title, text = blocker.args
        assert title == "Dataset not usable" and "unexpected" not in text, text
        assert "\x1b" not in text and "bad\\nname" in text or "nosuchuser" in text, text
        qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=5000)
        outcomes["window", "error"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("environment", outcomes, 0.0, 99, capsys)
