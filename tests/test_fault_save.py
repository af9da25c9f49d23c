"""SIGKILL at random moments during model saves: the file on disk is always a complete model.

A helper process (started once, so Python's start-up is paid once) builds two models of different
sizes, A (784-256-10) and B (784-128-64-10), and on request forks a writer that saves A, B, A, B...
to the same path with ``save_model`` as fast as it can; each save writes about 0.4-0.8 MB and
fsyncs, so it takes milliseconds, and the writer spends nearly all its time inside a save. The test
kills the writer with SIGKILL after a random (seeded) delay, waits until it is really dead, and then
demands that ``load_model(path)`` succeeds and gives exactly A or exactly B, weights compared bit
for bit. 50 kills.

Temporary files: ``save_model`` writes ``.m.npz.<random>.tmp`` beside the target and renames it
over the target once complete. A SIGKILL during the write leaves that temporary file behind; that
is accepted (nothing can clean up after SIGKILL), as long as it never takes the target's place:
the only other files allowed in the folder are such ``.tmp`` leftovers, at most one per kill.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from mnist_gui.model.file import load_model
from mnist_gui.model import Model, Normalization
from mnist_gui.nn import build_mlp

KILLS = 50
MAX_DELAY = 0.06   # seconds; a save takes a few ms to a few tens of ms here
SIZES_A = (784, 256, 10)
SIZES_B = (784, 128, 64, 10)

HELPER = textwrap.dedent("""
    import os, sys
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp

    path = sys.argv[1]
    models = [Model(build_mlp(%r, seed=1), Normalization.standard(), {"name": "A"}),
              Model(build_mlp(%r, seed=2), Normalization.unit(), {"name": "B"})]
    save_model(models[0], path)          # the file exists and is valid before the first kill
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "go":            # fork a writer that saves A, B, A, B, ... until killed
            pid = os.fork()
            if pid == 0:
                try:
                    i = int(command[1])
                    while True:
                        save_model(models[i %% 2], path)
                        i += 1
                finally:
                    os._exit(3)           # only reached if a save raised
            print(pid, flush=True)
        elif command[0] == "wait":        # reap it: report how it ended
            _, status = os.waitpid(int(command[1]), 0)
            print(status, flush=True)
""") % (SIZES_A, SIZES_B)


def expected_models() -> dict[str, Model]:
    return {"A": Model(build_mlp(SIZES_A, seed=1), Normalization.standard()),
            "B": Model(build_mlp(SIZES_B, seed=2), Normalization.unit())}


def which_model(loaded: Model, models: dict[str, Model]) -> str | None:
    for name, model in models.items():
        if (loaded.sizes == model.sizes and loaded.normalization == model.normalization
                and np.array_equal(loaded.network.flat_params, model.network.flat_params)
                and loaded.metadata.get("name") == name):
            return name
    return None


TEMP = re.compile(r"^\.m\.npz\..+\.tmp$")


@pytest.fixture
def helper(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd(), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", HELPER, str(tmp_path / "m.npz")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=10)


def ask(proc, command: str) -> str:
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_sigkill_during_saves_always_leaves_a_complete_model(helper, tmp_path):
    rng = random.Random("fault-save")
    models = expected_models()
    path = tmp_path / "m.npz"
    seen = {"A": 0, "B": 0}
    temp_left = 0
    t0 = time.perf_counter()
    for kill in range(KILLS):
        pid = int(ask(helper, f"go {kill}"))
        time.sleep(rng.uniform(0.0, MAX_DELAY))
        os.kill(pid, signal.SIGKILL)
        status = int(ask(helper, f"wait {pid}"))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
            f"kill {kill}: the writer ended by itself (status {status}): a save failed"

        loaded = load_model(path)                       # must not raise: always a complete model
        name = which_model(loaded, models)
        assert name is not None, f"kill {kill}: the file is a valid model, but neither A nor B"
        seen[name] += 1

        others = sorted(set(os.listdir(tmp_path)) - {"m.npz"})
        assert all(TEMP.match(n) for n in others), f"kill {kill}: unexpected files {others}"
        assert len(others) <= kill + 1, f"kill {kill}: {len(others)} temporary files"
        temp_left = len(others)
    elapsed = time.perf_counter() - t0
    print(f"\nfault save: {KILLS} kills in {elapsed:.1f}s; the file held A {seen['A']}x, B {seen['B']}x; "
          f"{temp_left} temporary files left by kills mid-save")
    # The kills must have landed in different places: both models seen, and some kills mid-write.
    assert seen["A"] > 0 and seen["B"] > 0, seen
    assert temp_left >= 5, f"only {temp_left} kills landed inside a save: the test is not testing much"
