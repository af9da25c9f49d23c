"""Command line: ``mnist-gui`` opens the window; ``train``, ``evaluate`` and ``predict`` run headless.

Exit codes: 0 success; 2 bad input or usage (one ``error: ...`` line on stderr, no traceback);
130 when interrupted with Ctrl-C. With ``--json`` the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace
from typing import Sequence

from mnist_gui.errors import ConfigError, MnistGuiError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error: ...`` line and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _hidden(text: str) -> tuple[int, ...]:
    from mnist_gui.training import parse_hidden

    try:
        return parse_hidden(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from mnist_gui import __version__
    from mnist_gui.nn import ACTIVATIONS, OPTIMIZERS, SCHEDULES
    from mnist_gui.training.presets import DEFAULT_PRESET, PRESETS

    parser = _Parser(prog="mnist-gui", description="Train a from-scratch NumPy network on MNIST, watch it learn, "
                     "and draw digits to test it. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"mnist-gui {__version__}")
    parser.add_argument("--model", help="model file to open in the window (default: the last one, or the shipped model)")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train a network headless")
    t.add_argument("--preset", default=DEFAULT_PRESET, help=f"one of {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    t.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    t.add_argument("--hidden", type=_hidden, help="hidden layer sizes, e.g. 256,128")
    t.add_argument("--activation", choices=list(ACTIVATIONS))
    t.add_argument("--optimizer", choices=list(OPTIMIZERS))
    t.add_argument("--schedule", choices=list(SCHEDULES))
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--batch-size", type=int, help="mini-batch size (0 = full batch)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--l2", type=float, help="L2 weight decay")
    t.add_argument("--dropout", type=float, help="dropout probability after each hidden layer")
    t.add_argument("--seed", type=int)
    t.add_argument("--val-size", type=int, help="validation images taken from the training set")
    t.add_argument("--limit", type=int, help="train on the first N training images only")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random rotation/scale/shear/shift/thickness per batch")
    t.add_argument("--data", help="folder with the four IDX files, or CSV file(s) (default: bundled MNIST)")
    t.add_argument("--out", help="save the trained model here (.npz)")
    t.add_argument("--json", action="store_true", help="print a JSON summary as the last line")

    e = sub.add_parser("evaluate", help="test accuracy, per-class accuracy and confusion matrix of a model")
    e.add_argument("model")
    e.add_argument("--data", help="dataset (default: bundled MNIST)")
    e.add_argument("--json", action="store_true")

    p = sub.add_parser("predict", help="predict the digit in image files (PNG/JPEG, any size or polarity)")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true")
    return parser


def config_from_args(args: argparse.Namespace):
    """The preset's configuration with every explicitly given option applied on top."""
    from mnist_gui.training.presets import get_preset

    config = get_preset(args.preset).config
    overrides = {
        "hidden": args.hidden, "activation": args.activation, "optimizer": args.optimizer,
        "schedule": args.schedule, "lr": args.lr, "batch_size": args.batch_size, "epochs": args.epochs,
        "l2": args.l2, "dropout": args.dropout, "seed": args.seed, "val_size": args.val_size,
        "limit": args.limit, "augment": args.augment,
    }
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


class _Progress:
    """A one-line progress bar on a terminal; a plain line per epoch otherwise. The session already
    throttles its progress events (10 a second): every one is drawn."""

    def __init__(self, stream, json_mode: bool) -> None:
        self.stream = stream
        self.tty = stream.isatty() and not json_mode

    def show(self, ev) -> None:
        from mnist_gui.training import BatchProgress, EpochResult

        if isinstance(ev, BatchProgress):
            self.batch(ev)
        elif isinstance(ev, EpochResult):
            self.epoch(ev)

    def batch(self, ev) -> None:
        if not self.tty:
            return
        frac = ev.step / ev.total_steps
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r[{bar:<30}] epoch {ev.epoch}/{ev.epochs} batch {ev.batch}/{ev.batches} "
                          f"loss {ev.smoothed_loss:.4f} {ev.samples_per_second:,.0f} img/s "
                          f"eta {ev.eta:4.0f}s ")
        self.stream.flush()

    def epoch(self, ev) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 100 + "\r")
        # Many-epoch full-batch runs (tiny-gd: 500 iterations) print every 25th epoch only.
        if ev.epochs > 50 and ev.epoch % 25 and ev.epoch != ev.epochs:
            return
        val = f" val_loss {ev.val_loss:.4f} val_acc {ev.val_accuracy:.4f}" if ev.val_accuracy is not None else ""
        self.stream.write(f"epoch {ev.epoch}/{ev.epochs} loss {ev.train_loss:.4f} acc {ev.train_accuracy:.4f}"
                          f"{val} ({ev.seconds:.2f}s)\n")
        self.stream.flush()


def cmd_train(args: argparse.Namespace) -> int:
    from mnist_gui.data import load_mnist
    from mnist_gui.model import save_model
    from mnist_gui.training import TrainingSession, drive
    from mnist_gui.training.presets import PRESETS

    if args.list_presets:
        for p in PRESETS.values():
            print(f"{p.name:16} {p.summary}\n{'':16} {p.original}")
        return 0
    config = config_from_args(args)
    config.validate()
    out = args.out
    if out:
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            raise ConfigError(f"cannot save to {out}: folder {folder} does not exist")
    t0 = time.perf_counter()
    data = load_mnist(args.data)
    log = sys.stderr if args.json else sys.stdout
    print(f"data: {data.source} ({data.train_images.shape[0]} train, {data.test_images.shape[0]} test) "
          f"loaded in {time.perf_counter() - t0:.2f}s", file=log)
    session = TrainingSession(config, data)
    print(f"model: {session.model.network.describe()} ({session.model.network.n_params:,} parameters); "
          f"{config.optimizer} lr {config.lr:g} batch {config.batch_size or 'full'} epochs {config.epochs}"
          f"{' augment' if config.augment else ''}", file=log)
    finished = drive(session.run(), _Progress(log, args.json).show)
    print(f"{finished.reason}; test accuracy {finished.test_accuracy:.4f} "
          f"({finished.train_seconds:.1f}s training, {finished.samples_per_second:,.0f} img/s)", file=log)
    if out:
        save_model(session.model, out)
        print(f"saved {out}", file=log)
    if args.json:
        summary = {"preset": config.preset, **finished.metrics(), "out": out, "config": config.to_dict(),
                   "total_seconds": time.perf_counter() - t0}
        print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in summary.items()}))
    return 0 if finished.status != "diverged" else 2


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_gui.data import load_mnist
    from mnist_gui.insight.evaluation import confusion_counts, per_class_accuracy
    from mnist_gui.model import load_model
    from mnist_gui.training import evaluate_with_predictions

    model = load_model(args.model)
    data = load_mnist(args.data)
    labels = data.test_labels.astype(np.intp)
    # The same pass as the window's confusion matrix (and training's test evaluation): same counts.
    loss, acc, predictions = evaluate_with_predictions(model, data.test_images, labels)
    confusion = confusion_counts(labels, predictions.predicted)
    per_class = [float(a) for a in np.nan_to_num(per_class_accuracy(confusion))]
    if args.json:
        print(json.dumps({"test_accuracy": acc, "test_loss": loss, "per_class": per_class,
                          "confusion": confusion.tolist(), "model": args.model, "data": data.source}))
        return 0
    print(f"model: {args.model} ({model.describe()})\ndata: {data.source}")
    print(f"test accuracy {acc:.4f} (loss {loss:.4f}) on {labels.size} images")
    print("per class: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_class)))
    print("confusion (rows true, columns predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for d in range(10):
        print(f"{d:>6}" + "".join(f"{v:>6}" for v in confusion[d]))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_gui.imaging.preprocess import preprocess_drawing
    from mnist_gui.model import load_model
    from mnist_gui.ui.imagefile import load_image

    model = load_model(args.model)
    results = []
    for path in args.images:
        ink = load_image(path)
        x = preprocess_drawing(ink)
        if x is None:
            results.append({"image": path, "digit": None, "probabilities": None})
            continue
        probs = model.predict_proba(x)[0]
        results.append({"image": path, "digit": int(np.argmax(probs)), "probabilities": [float(p) for p in probs]})
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0]))
        return 0
    for r in results:
        if r["digit"] is None:
            print(f"{r['image']}: no ink found (blank image)")
        else:
            probs = "  ".join(f"{d}:{p:.3f}" for d, p in enumerate(r["probabilities"]))
            print(f"{r['image']}: {r['digit']} ({r['probabilities'][r['digit']]:.1%})  {probs}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # Inside the try: building the parser imports NumPy, long enough for a Ctrl-C to land in it.
        args = build_parser().parse_args(argv)
        if args.command is None:
            from mnist_gui.ui.app import run_app

            return run_app(model_path=args.model)
        handler = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict}[args.command]
        return handler(args)
    except MnistGuiError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
