"""Command line: ``mnist-gui`` opens the window; ``train``, ``finetune``, ``evaluate``, ``predict`` and ``runs``
run headless.

Every ``train`` and ``finetune`` is recorded in the library of runs (the one the window's Models panel shows, found
without Qt: :mod:`mnist_gui.state.datadir`); ``evaluate`` and ``predict`` use the current model when
no model is given, and say which.

Exit codes: 0 success; 2 bad input or usage (one ``error: ...`` line on stderr, no traceback);
130 when interrupted with Ctrl-C. With ``--json`` the last line of stdout is one JSON object (never
holding NaN or Infinity, which are not JSON). Whatever the environment does to us, the one line
holds: an output that cannot be written (a full disk, ``/dev/full``) is an error line, an encoding
that cannot show a file name (``PYTHONIOENCODING=ascii``) gets escapes instead of a traceback, and
running out of memory is an error line too. ``runs --json`` prints a JSON list.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace
from datetime import datetime
from typing import Sequence

from mnist_gui.errors import ConfigError, ImageError, MnistGuiError, ModelFileError, PredictionError, display_name
from mnist_gui.interrupts import hold, release


#: The share of every batch ``train --my-digits`` gives the drawings when no share is given.
MY_DIGITS_SHARE = 0.1


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
    from mnist_gui.training.finetune import FineTuneConfig
    from mnist_gui.training.presets import DEFAULT_PRESET, PRESETS

    parser = _Parser(prog="mnist-gui", description="Train a from-scratch NumPy network on MNIST, watch it learn, "
                     "and draw digits to test it. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"mnist-gui {__version__}")
    parser.add_argument("--model", help="model file to open in the window; it joins the library (default: the "
                        "current model of the library, or the shipped one)")
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
    t.add_argument("--pen-digits", type=float, nargs="?", const=0.25, metavar="SHARE",
                   help="mix real pen-drawn digits of the training writers into every batch (default share "
                        "0.25 when given; 0 turns it off)")
    t.add_argument("--scribbles", type=float, nargs="?", const=0.05, metavar="SHARE",
                   help="mix non-digit scribbles into every batch, trained toward 'no digit', so the model can "
                        "say when a drawing is not a digit (default share 0.05 when given; 0 turns it off)")
    t.add_argument("--my-digits", metavar="FILE", help="also train on these drawings of mine (a My digits file, "
                   "or its export), each re-drawn in a few pen styles")
    t.add_argument("--my-digits-share", type=float, metavar="SHARE",
                   help="the share of every batch taken by --my-digits (default 0.1 when --my-digits is given)")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random rotation/scale/shear/shift/thickness per batch")
    t.add_argument("--data", help="folder with the four IDX files, or CSV file(s) (default: bundled MNIST)")
    t.add_argument("--init", metavar="MODEL", help="continue training this model (a .npz file, a run id or name, "
                   "or 'current') for --epochs more epochs; its architecture is kept")
    t.add_argument("--name", help="the run's name in the library (default: preset and time)")
    t.add_argument("--out", help="also save the trained model here (.npz); the run is recorded in the library "
                   "either way")
    t.add_argument("--json", action="store_true", help="print a JSON summary as the last line")

    f = sub.add_parser("finetune", help="teach a model my handwriting: fine-tune it on my digits, with MNIST replay")
    f.add_argument("model", metavar="MODEL", help="the model to start from: a .npz file, a run id or name, or "
                   "'current' (it is not changed)")
    f.add_argument("digits", metavar="DIGITS_FILE", help="my digits: the set the window keeps, or its export")
    f.add_argument("--out", required=True, help="save the fine-tuned model here (.npz); it is also recorded in "
                   "the library")
    f.add_argument("--steps", type=int, help=f"training steps (default {FineTuneConfig.steps})")
    f.add_argument("--seed", type=int, help="seed of the held-out split, the re-drawings and the batches")
    f.add_argument("--data", help="dataset for MNIST replay and the test accuracy (default: bundled MNIST)")
    f.add_argument("--name", help="the run's name in the library (default: '<model> + my N digits')")
    f.add_argument("--json", action="store_true", help="print a JSON summary as the last line")

    e = sub.add_parser("evaluate", help="test accuracy, per-class accuracy and confusion matrix of a model")
    e.add_argument("model", nargs="?", help="a .npz file, a run id or name (default: the current model)")
    e.add_argument("--data", help="dataset (default: bundled MNIST)")
    e.add_argument("--json", action="store_true")

    p = sub.add_parser("predict", help="predict the digit in image files (PNG/JPEG, any size or polarity)",
                       usage="mnist-gui predict [-h] [--json] [MODEL] IMAGE [IMAGE ...]")
    p.add_argument("inputs", nargs="+", metavar="[MODEL] IMAGE",
                   help="optionally a model (a .npz file, a run id or name; default: the current model), "
                        "then the images")
    p.add_argument("--json", action="store_true")

    r = sub.add_parser("runs", help="list the library of runs (what the window's Models panel shows)")
    r.add_argument("--use", metavar="RUN", help="make this run (id or name) the current model")
    r.add_argument("--json", action="store_true", help="print the runs as a JSON list as the last line")
    return parser


def config_from_args(args: argparse.Namespace):
    """The preset's configuration with every explicitly given option applied on top."""
    from mnist_gui.training.presets import get_preset

    config = get_preset(args.preset).config
    overrides = {
        "hidden": args.hidden, "activation": args.activation, "optimizer": args.optimizer,
        "schedule": args.schedule, "lr": args.lr, "batch_size": args.batch_size, "epochs": args.epochs,
        "l2": args.l2, "dropout": args.dropout, "seed": args.seed, "val_size": args.val_size,
        "limit": args.limit, "augment": args.augment, "pen_digits": args.pen_digits, "scribbles": args.scribbles,
        "my_digits": args.my_digits_share if args.my_digits_share is not None else (
            MY_DIGITS_SHARE if args.my_digits else None),
    }
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


class _Progress:
    """A one-line progress bar on a terminal; a plain line per epoch otherwise. The session already
    throttles its progress events (10 a second): every one is drawn."""

    def __init__(self, stream, json_mode: bool, unit: str = "epoch") -> None:
        self.stream = stream
        self.tty = stream.isatty() and not json_mode
        self.unit = unit   # what an EpochResult is: an epoch, or a fine-tune's round

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
        self.stream.write(f"\r[{bar:<30}] {self.unit} {ev.epoch}/{ev.epochs} batch {ev.batch}/{ev.batches} "
                          f"recent batch loss {ev.smoothed_loss:.4f} {ev.samples_per_second:,.0f} img/s "
                          f"eta {ev.eta:4.0f}s ")
        self.stream.flush()

    def epoch(self, ev) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 100 + "\r")
        # Many-epoch full-batch runs (tiny-gd: 500 iterations) print every 25th epoch only.
        if ev.epochs > 50 and ev.epoch % 25 and ev.epoch != ev.epochs:
            return
        val = f" val_loss {ev.val_loss:.4f} val_acc {ev.val_accuracy:.4f}" if ev.val_accuracy is not None else ""
        if self.unit != "epoch":
            val = f" held-out my digits {ev.val_accuracy:.4f}" if ev.val_accuracy is not None else ""
        self.stream.write(f"{self.unit} {ev.epoch}/{ev.epochs} loss {ev.train_loss:.4f} (epoch mean) acc "
                          f"{ev.train_accuracy:.4f}{val} ({ev.seconds:.2f}s)\n")
        self.stream.flush()


def _library():
    import logging

    from mnist_gui.state.datadir import data_dir
    from mnist_gui.state.library import RunLibrary, log

    if not log.handlers:   # the command line prints the library's warnings itself, once (_warn_library)
        log.addHandler(logging.NullHandler())
    return RunLibrary(data_dir())


def _warn_library(library) -> None:
    for warning in library.new_warnings:
        sys.stderr.write(f"warning: {warning}\n")


def _find_model(library, text: str | None):
    """(model, how to name it, its library record or None) for a file, a run id or name, or the current model."""
    from mnist_gui.errors import LibraryError, ModelFileError
    from mnist_gui.model import load_model

    if text is not None and text != "current" and (os.path.exists(text) or text.lower().endswith(".npz")):
        return load_model(text), text, None
    record = library.current() if text in (None, "current") else library.resolve(text)
    _warn_library(library)
    if record is None and text in (None, "current"):
        raise LibraryError(f"no current model: the library ({library.folder}) is empty and the shipped model is "
                           "missing; give a model file")
    if record is None:
        raise ModelFileError(f"{display_name(text)}: no such file, and no run of that id or name in the library")
    return library.load_model(record.id), f"{record.name} ({record.id})", record


def _describe_choice(record, given: str | None) -> str:
    acc = f", test accuracy {record.test_accuracy:.2%}" if record.test_accuracy is not None else ""
    return f"{'the current model' if given in (None, 'current') else 'run'} {record.name!r} ({record.id}{acc})"


def _is_model_argument(library, text: str) -> bool:
    """Whether predict's first argument names a model rather than an image."""
    if text.lower().endswith(".npz") or text in ("current", "shipped"):
        return True
    if os.path.exists(text):
        return False
    try:
        return library.resolve(text) is not None
    except MnistGuiError:
        return True   # ambiguous run name: let _find_model say so


def cmd_train(args: argparse.Namespace) -> int:
    from mnist_gui.data import load_mnist
    from mnist_gui.model import save_model
    from mnist_gui.training import TrainingSession, drive
    from mnist_gui.state.curves import RunCurves
    from mnist_gui.training.continuation import continue_config
    from mnist_gui.training.presets import PRESETS

    if args.list_presets:
        for p in PRESETS.values():
            print(f"{p.name:16} {p.summary}\n{'':16} {p.original}")
        return 0
    config = config_from_args(args)
    config.validate()
    log = sys.stderr if args.json else sys.stdout
    my_digits = None
    if config.my_digits:
        if not args.my_digits:
            raise ConfigError("--my-digits-share needs --my-digits FILE (the drawings to train on)", "my_digits")
        my_digits = _read_my_digits(args.my_digits)
        print(f"my digits: {len(my_digits)} drawings from {args.my_digits}, {config.my_digits:g} of every batch",
              file=log)
    library = _library()
    initial = parent = None
    if args.init:
        initial, shown, parent = _find_model(library, args.init)
        if parent is None:   # a file: brought into the library, so the continued run has a parent
            parent, _ = library.import_model(args.init)
        explicit = {name for name in ("hidden", "activation") if getattr(args, name) is not None}
        config = continue_config(config, initial, explicit)
        config.validate()
        print(f"continuing {parent.name!r} ({parent.id}, {initial.describe()}) for {config.epochs} more epochs",
              file=log)
    out = args.out
    if out:
        _check_output(out)   # before training: a run that cannot be saved is refused, not lost at the end
    t0 = time.perf_counter()
    data = load_mnist(args.data)
    print(f"data: {data.source} ({data.train_images.shape[0]} train, {data.test_images.shape[0]} test) "
          f"loaded in {time.perf_counter() - t0:.2f}s", file=log)
    session = TrainingSession(config, data, initial=initial, my_digits=my_digits)
    print(f"model: {session.model.network.describe()} ({session.model.network.n_params:,} parameters); "
          f"{config.optimizer} lr {config.lr:g} batch {config.batch_size or 'full'} epochs {config.epochs}"
          f"{' augment' if config.augment else ''}"
          f"{f' pen-digits {config.pen_digits:g}' if config.pen_digits else ''}"
          f"{f' scribbles {config.scribbles:g}' if config.scribbles else ''}", file=log)
    current_before = library.current_id()
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    progress = _Progress(log, args.json)
    parent_curves = library.curves(parent.id) if parent is not None else None
    curves = parent_curves.continued() if parent_curves is not None else RunCurves()
    finished = drive(session.run(), lambda ev: (curves.add(ev), progress.show(ev)))
    diverged = finished.status == "diverged"
    if not diverged:
        pen = "" if finished.pen_drawn_accuracy is None else f", pen-drawn {finished.pen_drawn_accuracy:.4f}"
        print(f"{finished.reason}; test accuracy {finished.test_accuracy:.4f}{pen} "
              f"({finished.train_seconds:.1f}s training, {finished.samples_per_second:,.0f} img/s)", file=log)
    if out and not diverged:   # a diverged run is not written over the user's file
        save_model(session.model, out)
        print(f"saved {display_name(out)}", file=log)
    record, current = _record_run(library, session.model, finished, config, data, curves, started, parent,
                                  args.name, current_before, out, log)
    if args.json:
        _print_json({"preset": config.preset, **finished.metrics(), "out": None if diverged else out,
                     "config": config.to_dict(), "total_seconds": time.perf_counter() - t0,
                     "run_id": None if record is None else record.id,
                     "run_folder": None if record is None else str(record.folder), "current": current,
                     "epochs_total": session.epoch_offset + finished.epochs_completed,
                     "parent": None if parent is None else parent.id})
    if diverged:
        raise TrainingDiverged(finished.reason + (f"; {display_name(out)} was not written" if out else ""))
    return 0


class TrainingDiverged(MnistGuiError):
    """A run ended because its loss exploded (the reason says which setting is to blame)."""


def _check_output(out: str) -> None:
    """Refuse an output path that could not be written (see :func:`mnist_gui.atomic.writable_target`)."""
    from mnist_gui.atomic import writable_target

    try:
        writable_target(out, probe=True)
    except OSError as exc:
        raise ModelFileError(f"cannot save to {display_name(out)}: {exc.strerror or exc}") from None


def _record_run(library, model, finished, config, data, curves, started, parent, name, current_before, out, log,
                fine_tune=None):
    """Put a finished run in the library and apply the rule for the current model; (record, is current).
    If the library cannot be written and no --out was given, the model goes to the working folder
    instead: a run is never thrown away."""
    from mnist_gui.errors import LibraryError
    from mnist_gui.model import save_model
    from mnist_gui.state.models import becomes_current

    try:
        record = library.add_training_run(model, finished, config, {"source": data.source,
                                          "checksum": data.checksum}, curves, started, parent, name, fine_tune)
    except LibraryError as exc:
        sys.stderr.write(f"warning: {exc}\n")
        if not out:
            fallback = f"mnist-gui-run-{time.strftime('%Y%m%d-%H%M%S')}.npz"
            save_model(model, fallback)
            print(f"saved {fallback} instead", file=log)
        return None, False
    # "Chose another model while it trained": here, anyone (a window) changed the current model meanwhile.
    current = becomes_current(finished.status, library.current() is not None, library.current_id() != current_before)
    if current:
        library.set_current(record.id)
    print(f"recorded run {record.id} {record.name!r} in {record.folder}"
          + ("; it is now the current model" if current else "; the current model is unchanged"), file=log)
    return record, current


def _read_my_digits(path: str) -> list:
    """The drawings of a My digits file (damaged ones skipped, with a warning each)."""
    from mnist_gui.state.my_digits import read_set

    records, warnings = read_set(path)
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return records


def cmd_finetune(args: argparse.Namespace) -> int:
    from mnist_gui.data import load_mnist
    from mnist_gui.model import save_model
    from mnist_gui.state.curves import RunCurves
    from mnist_gui.training.finetune import FineTuneConfig, check_digits, check_model, fine_tune

    t0 = time.perf_counter()
    log = sys.stderr if args.json else sys.stdout
    config = FineTuneConfig(**{k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None})
    config.validate()
    _check_output(args.out)
    digits = _read_my_digits(args.digits)
    check_digits(digits)
    library = _library()
    model, shown, parent = _find_model(library, args.model)
    check_model(model)
    data = load_mnist(args.data)
    if parent is None:   # a file: brought into the library, so the fine-tuned run has a parent
        parent, _ = library.import_model(args.model)
        shown = f"{parent.name} ({parent.id})"
    print(f"fine-tuning {shown} ({model.describe()}) on {len(digits)} drawings from {args.digits}, with replay "
          f"from {data.source}: {config.steps} steps", file=log)
    current_before = library.current_id()
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    progress = _Progress(log, args.json, unit="round")
    curves = RunCurves()
    result = fine_tune(model, digits, data, config=config, source=parent.name,
                       on_event=lambda ev: (curves.add(ev), progress.show(ev)))
    m, finished = result.metrics, result.finished

    def pct(value) -> str:
        return "?" if value is None else f"{value:.2%}"

    print(f"{finished.reason} in {m['seconds']:.1f}s. MNIST test {pct(m['test_accuracy_before'])} -> "
          f"{pct(m['test_accuracy'])}; my digits {pct(m['my_digits_accuracy_before'])} -> "
          f"{pct(m['my_digits_accuracy'])} ({m['my_digits_measured']})", file=log)
    save_model(result.model, args.out)
    print(f"saved {display_name(args.out)}", file=log)
    record, current = _record_run(library, result.model, finished, config, data, curves, started, parent,
                                  args.name, current_before, args.out, log, fine_tune=m)
    if args.json:
        summary = {**{k: v for k, v in m.items() if k != "pen_drawn_per_digit"}, "out": args.out,
                   "model": shown, "digits_file": args.digits, "config": config.to_dict(),
                   "run_id": None if record is None else record.id, "current": current, "parent": parent.id,
                   "total_seconds": time.perf_counter() - t0}
        _print_json(summary)
    return 0 if finished.status != "diverged" else 2


def cmd_runs(args: argparse.Namespace) -> int:
    library = _library()
    if args.use:
        record = library.resolve(args.use)
        if record is None:
            from mnist_gui.errors import LibraryError

            raise LibraryError(f"no run {args.use!r} in the library ({library.folder})")
        library.set_current(record.id)
    records = library.records()
    _warn_library(library)
    current = library.current()
    current_id = None if current is None else current.id
    if args.json:
        print(json.dumps([r.summary(r.id == current_id) for r in records]))
        return 0
    from mnist_gui.state.library import short_architecture

    print(f"{'':2}{'id':24}{'name':34}{'test':>8}  {'status':10}{'epochs':>7}  {'architecture':18}created")
    for r in records:
        acc = f"{r.test_accuracy:.2%}" if r.test_accuracy is not None else "?"
        print(f"{'*' if r.id == current_id else ' ':2}{r.id:24}{r.name[:32]:34}{acc:>8}  {r.status:10}{r.epochs:>7}  "
              f"{short_architecture(r.architecture):18}{(r.created or '')[:16].replace('T', ' ')}")
    print(f"library: {library.folder} ({len(records)} model{'s' if len(records) != 1 else ''}; * = the current model)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_gui.data import load_mnist
    from mnist_gui.imaging.pen_sets import pen_drawn_report
    from mnist_gui.insight.evaluation import confusion_counts, per_class_accuracy
    from mnist_gui.model.model import OVERFLOW
    from mnist_gui.training import evaluate_with_predictions

    model, shown, record = _find_model(_library(), args.model)
    if record is not None:
        sys.stderr.write(f"using {_describe_choice(record, args.model)}\n")
    data = load_mnist(args.data)
    labels = data.test_labels.astype(np.intp)
    # The same pass as the window's confusion matrix (and training's test evaluation): same counts.
    with np.errstate(all="ignore"):
        loss, acc, predictions = evaluate_with_predictions(model, data.test_images, labels)
    bad = np.flatnonzero(~np.isfinite(predictions.confidence))
    if bad.size:   # the model's own message, as predict() gives it
        raise PredictionError(f"{display_name(shown)} on the test images: {OVERFLOW} (image {bad[0]} of "
                              f"{labels.size})")
    confusion = confusion_counts(labels, predictions.predicted)
    per_class = [float(a) for a in np.nan_to_num(per_class_accuracy(confusion))]
    try:
        pen = pen_drawn_report(model)
    except PredictionError as exc:
        raise PredictionError(f"{display_name(shown)} on the pen-drawn digits: {exc}") from None
    if args.json:
        _print_json({"test_accuracy": acc, "test_loss": loss, "per_class": per_class,
                     "confusion": confusion.tolist(), "model": shown, "data": data.source,
                     "model_id": None if record is None else record.id, **pen})
        return 0
    print(f"model: {display_name(shown)} ({model.describe()})\ndata: {data.source}")
    print(f"test accuracy {acc:.4f} (loss {loss:.4f}) on {labels.size} images")
    print("per class: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_class)))
    print(f"pen-drawn accuracy {pen['pen_drawn_accuracy']:.4f} on {pen['pen_drawn_n']} real pen-drawn digits by "
          f"writers {', '.join(map(str, pen['pen_drawn_writers']))} (never trained on)")
    print("pen-drawn per digit: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(pen["pen_drawn_per_digit"])))
    print("confusion (rows true, columns predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for d in range(10):
        print(f"{d:>6}" + "".join(f"{v:>6}" for v in confusion[d]))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_gui.formatting import percent
    from mnist_gui.imaging.preprocess import preprocess_drawing
    from mnist_gui.ui.imagefile import load_image

    library = _library()
    given = args.inputs[0] if len(args.inputs) > 1 and _is_model_argument(library, args.inputs[0]) else None
    images = args.inputs[1:] if given is not None else args.inputs
    if given is None and args.inputs[0].lower().endswith(".npz"):
        raise ImageError(f"{display_name(args.inputs[0])}: a model file, but no image was given after it")
    model, shown, record = _find_model(library, given)
    if record is not None:
        sys.stderr.write(f"using {_describe_choice(record, given)}\n")
    results = []
    for path in images:
        ink = load_image(path)
        x = preprocess_drawing(ink)
        if x is None:
            results.append({"image": path, "digit": None, "probabilities": None, "not_a_digit": None,
                            "model": shown})
            continue
        try:
            reading = model.read_one(x)   # the window's own reading: the same numbers, the same verdict
        except PredictionError as exc:
            raise PredictionError(f"{display_name(shown)} on {display_name(path)}: {exc}") from None
        probs = reading.probabilities
        results.append({"image": path, "digit": int(np.argmax(probs)), "probabilities": [float(p) for p in probs],
                        "not_a_digit": reading.not_a_digit, "model": shown})
    if args.json:
        _print_json(results if len(results) > 1 else results[0])
        return 0
    for r in results:
        if r["digit"] is None:
            print(f"{display_name(r['image'])}: no ink found (blank image)")
        else:
            probs = "  ".join(f"{d}:{p:.3f}" for d, p in enumerate(r["probabilities"]))
            answer = f"{r['digit']} ({percent(r['probabilities'][r['digit']])})"
            if r["not_a_digit"]:
                answer = f"does not look like a digit (closest: {answer})"
            print(f"{display_name(r['image'])}: {answer}  {probs}")
    return 0


def _finite(value):
    """``value`` with every non-finite float replaced by None (NaN and Infinity are not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _print_json(value) -> None:
    print(json.dumps(_finite(value), allow_nan=False))


def main(argv: Sequence[str] | None = None) -> int:
    hold()   # Ctrl-C waits until the imports below are done (see mnist_gui.interrupts); the launchers hold it too
    try:
        try:
            _tolerant_streams()
            args = build_parser().parse_args(argv)   # imports NumPy and the engine
            if args.command is None:
                from mnist_gui.ui.app import run_app

                release()
                return run_app(model_path=args.model)
            if args.command == "predict":
                import mnist_gui.ui.imagefile  # noqa: F401  (PySide6: a C extension, imported while held)
            handler = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
                       "runs": cmd_runs, "finetune": cmd_finetune}[args.command]
            release()
            code = handler(args)
            sys.stdout.flush()   # here, not at exit: a full disk is an error line, not a traceback
            return code
        finally:
            release()   # an interrupt held until now is raised here, inside the outer try
    except MnistGuiError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        _write_stderr("interrupted\n")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except MemoryError:
        return _error("not enough memory for this; use a smaller network, batch or dataset")
    except OSError as exc:   # the output cannot be written (ENOSPC on /dev/full, EIO): say so once
        _silence_stdout()
        return _error(f"cannot write the output: {exc.strerror or exc}")


def _error(message: str) -> int:
    """The one ``error: ...`` line (a message spanning lines is joined into one) and exit code 2."""
    one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    _write_stderr(f"error: {one_line}\n")
    return 2


def _write_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):   # no usable stderr: nothing more can be said
        pass


def _tolerant_streams() -> None:
    """Characters the terminal's encoding cannot show (a file name in PYTHONIOENCODING=ascii, an
    undecodable byte kept as a lone surrogate) are written as escapes instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit does not fail a second time
    (with an "Exception ignored" message) on the output that already failed."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
