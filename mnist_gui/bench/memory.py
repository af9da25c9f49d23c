"""``python -m mnist_gui.bench.memory [--full]``: real peak memory of training runs against the estimate.

:meth:`TrainingConfig.estimated_bytes` decides which runs are refused before they start, so it must
not fall short of what a run really takes. Each configuration below is trained by ``mnist-gui train``
in a child process (one epoch, on the bundled MNIST: the evaluation passes over 5,000 validation and
10,000 test images happen as in a full run), and the child's peak resident memory is compared with
the estimate plus the baseline of a process that has loaded the data but not trained (the
interpreter, NumPy, OpenBLAS's buffers and the dataset as loaded). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from mnist_gui.training import TrainingConfig

# (label, CLI options). Wide and deep networks, full batch, dropout with augmentation, big batches.
QUICK = [
    ("fast, 1 epoch", ["--preset", "fast", "--epochs", "1"]),
    ("784-8000-10, batch 128", ["--hidden", "8000", "--epochs", "1", "--limit", "6000"]),
    ("784-2048x4-10, batch 512, dropout", ["--hidden", "2048,2048,2048,2048", "--epochs", "1", "--limit", "4000",
                                          "--batch-size", "512", "--dropout", "0.2"]),
]
FULL = QUICK + [
    ("best (1024x2, dropout, augment), 1 epoch", ["--preset", "best", "--epochs", "1", "--limit", "20000"]),
    ("tiny-gd (full batch), 5 iterations", ["--preset", "tiny-gd", "--epochs", "5"]),
    ("784-20000-10 (15.9M params), batch 64", ["--hidden", "20000", "--epochs", "1", "--limit", "1000",
                                               "--batch-size", "64", "--optimizer", "adam"]),
    ("784-4000-4000-10, sgd + L2, batch 2048", ["--hidden", "4000,4000", "--epochs", "1", "--limit", "4096",
                                                "--batch-size", "2048", "--optimizer", "sgd", "--l2", "0.0001"]),
]

# A child's own peak resident memory since it started Python: VmHWM of its address space. (Its
# ru_maxrss would also count the parent's memory at the fork, inherited until exec: a benchmark that has
# grown past the run it measures would report its own size.)
_PEAK = "open('/proc/self/status').read().split('VmHWM:')[1].split()[0]"

BASELINE = ("import sys; from mnist_gui.data import load_mnist; import mnist_gui.training; "
            f"load_mnist(None); print({_PEAK})")


# The child trains through the real command line, then reports its own peak (in KB).
TRAIN = ("import sys; from mnist_gui.cli import main\ntry:\n    code = main(['train', *sys.argv[1:]])\n"
         f"finally:\n    print({_PEAK}, file=sys.stderr)\nsys.exit(code)")


def child_peak_mb(options: list[str], env: dict) -> float:
    """Peak RSS of ``mnist-gui train OPTIONS`` in a child process (its own, see ``_PEAK``), in MB."""
    proc = subprocess.run([sys.executable, "-c", TRAIN, *options], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return int(proc.stderr.split()[-1]) / 1024


def config_of(options: list[str]) -> TrainingConfig:
    from mnist_gui.cli import build_parser, config_from_args

    return config_from_args(build_parser().parse_args(["train", *options]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the large configurations (a few minutes)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as library:   # every train is recorded: not in the user's library
        env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "2"),
                   MNIST_GUI_DATA_DIR=library)
        base_kb = int(subprocess.run([sys.executable, "-c", BASELINE], env=env, check=True, capture_output=True,
                                     text=True).stdout)
        rows = []
        for label, options in FULL if args.full else QUICK:
            config = config_of(options)
            estimate = config.estimated_bytes() / 2**20
            peak = child_peak_mb(options, env)
            rows.append((label, config.n_params, estimate, peak, peak - base_kb / 1024))
    print(f"baseline (interpreter, NumPy, bundled MNIST loaded): {base_kb / 1024:.0f} MB")
    print(f"{'configuration':44} {'params':>11} {'estimate':>9} {'peak RSS':>9} {'peak - baseline':>16}  ratio")
    for label, params, estimate, peak, over in rows:
        print(f"{label:44} {params:>11,} {estimate:>8.0f}M {peak:>8.0f}M {over:>15.0f}M  {over / estimate:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
