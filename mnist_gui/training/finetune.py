"""Teach a trained model someone's handwriting: a short fine-tune on their own labelled drawings.

A person corrects a few misreads (3 per digit is enough to matter); :func:`fine_tune` then trains a
*copy* of the current model for a couple of hundred small steps (the input model is never changed):

* the user's digits are few, so each one is re-drawn in the style of pen strokes
  (:mod:`mnist_gui.imaging.user_digits`: :attr:`FineTuneConfig.variants` re-drawings rendered and
  preprocessed like the canvas's drawings) and every batch is distorted by the usual
  :class:`~mnist_gui.imaging.augment.Augmenter`;
* they take :attr:`FineTuneConfig.my_share` of every batch, the rest is MNIST replay (the training
  images), so that the model learns the new style without forgetting MNIST; Adam with a small learning
  rate keeps the steps small;
* the run reports the training events (:class:`BatchProgress`, one :class:`EpochResult` per "round" of
  the :attr:`FineTuneConfig.rounds` it is cut into, and a final :class:`TrainingFinished`), so the
  window's progress bar and curves show it like a training, and it stops between two steps through the
  same :class:`~mnist_gui.training.session.TrainingControl`.

**How the figure for the user's digits is kept honest.** The model has seen the digits it trained on,
so its accuracy on them says little. Before training, a stratified part of the user's digits is held
out (:attr:`FineTuneConfig.holdout` of each digit's drawings, at least one of every digit drawn at
least twice; a digit drawn once is never held out, since it must be learnt). The fine-tune first trains
:attr:`FineTuneConfig.estimate_at` of its steps on the other digits only; the held-out digits, never in
any batch so far, are then read by the model: that is ``my_digits_accuracy`` (the *held-out
estimate*), and ``my_digits_accuracy_before`` is the original model on the same held-out digits. With
:attr:`FineTuneConfig.final_on_all` (the default) the remaining steps train on all the digits, held-out
ones included, so the final model learns from every correction; the reported figure is still the
held-out estimate of the earlier model, which saw fewer digits and fewer steps, so it errs low. With
``final_on_all=False`` the held-out digits are never trained on and the figure is the final model's own.
When no digit has two drawings nothing can be held out: ``my_digits_accuracy`` is then None.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.errors import ConfigError, DatasetError, ModelFileError
from mnist_gui.model import Model
from mnist_gui.nn import make_optimizer
from mnist_gui.training.batches import MixedBatchSource
from mnist_gui.training.config import Bound
from mnist_gui.training.events import EpochResult, TrainingEvent, TrainingFinished
from mnist_gui.training.session import (PROGRESS_INTERVAL, ProgressMeter, RollbackGuard, TrainingControl,
                                        evaluate)

#: The fewest drawings a fine-tune accepts: one for every two digits (fewer teach nothing but noise).
MIN_DIGITS = CLASSES // 2


@dataclass(frozen=True)
class FineTuneConfig:
    """How a fine-tune runs. The defaults were chosen on the six measuring writers' pen digits (README:
    3 corrections per digit, the shipped 784-1024-1024-10 model)."""

    steps: int = 200
    lr: float = 8e-5                 # Adam; small: the model is already good, it must not forget MNIST
    batch_size: int = 128
    my_share: float = 0.25           # share of every batch taken by the user's digits (the rest: MNIST)
    variants: int = 8                # stroke-style re-drawings of each drawing
    holdout: float = 0.2             # share of each digit's drawings held out for the honest figure
    estimate_at: float = 0.6         # share of the steps after which the held-out digits are read
    final_on_all: bool = True        # then train the remaining steps on every drawing, held-out ones too
    rounds: int = 5                  # progress points ("epochs") reported
    augment: bool = True             # affine distortions of every batch (the Augmenter)
    seed: int = 0

    def validate(self) -> None:
        for name, bound in FINE_TUNE_BOUNDS.items():
            problem = bound.problem(getattr(self, name))
            if problem:
                raise ConfigError(problem, name)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The limits of every numeric fine-tune setting (the same :class:`Bound` as the training's).
FINE_TUNE_BOUNDS: dict[str, Bound] = {
    "steps": Bound("fine-tune steps", int, 1, 100_000),
    "lr": Bound("the fine-tune learning rate", float, 0.0, 1.0, low_open=True),
    "batch_size": Bound("the fine-tune batch size", int, 2, 100_000),
    "my_share": Bound("the share of my digits in each batch", float, 0.0, 1.0, low_open=True),
    "variants": Bound("re-drawings per digit", int, 0, 100),
    "holdout": Bound("the share of my digits held out", float, 0.0, 0.5),
    "estimate_at": Bound("when the held-out digits are read (share of the steps)", float, 0.0, 1.0,
                         low_open=True),
    "rounds": Bound("progress rounds", int, 1, 1000),
    "seed": Bound("the seed", int, 0, 2**32 - 1),
}


@dataclass(frozen=True)
class FineTuneResult:
    """What :func:`fine_tune` gives back: the new model (a copy: the input model is unchanged), the
    figures (:attr:`metrics`, see :func:`fine_tune`), the final event, and which drawings were held out
    (indices into the ``digits`` given)."""

    model: Model
    metrics: dict
    finished: TrainingFinished
    held_out: tuple[int, ...]


def check_digits(digits: Sequence) -> None:
    """:class:`DatasetError` unless ``digits`` is a usable set: enough drawings, labels 0-9, 784-pixel images."""
    n = len(digits)
    if n == 0:
        raise DatasetError("there are no drawings in my digits to learn from; correct or keep a few drawings first")
    if n < MIN_DIGITS:
        raise DatasetError(f"only {n} drawing{'s' if n != 1 else ''} in my digits: a fine-tune needs at least "
                           f"{MIN_DIGITS} (one for every two digits; 3 of each digit work well)")
    for i, d in enumerate(digits):
        label = getattr(d, "label", None)
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < CLASSES:
            raise DatasetError(f"drawing {i + 1} of my digits has the label {label!r}, not a digit 0-9")
        image = np.asarray(getattr(d, "image", None))
        if image.size != PIXELS or image.dtype != np.uint8:
            raise DatasetError(f"drawing {i + 1} of my digits has no 28x28 image")


def check_model(model: Model) -> None:
    """:class:`ModelFileError` unless ``model`` reads 28x28 digits into 10 classes."""
    sizes = model.sizes
    if sizes[0] != PIXELS or sizes[-1] != CLASSES:
        raise ModelFileError(f"the model takes {sizes[0]} inputs and gives {sizes[-1]} outputs; a fine-tune on "
                             f"drawn digits needs {PIXELS} (28x28) and {CLASSES}")


def split_held_out(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Indices held out (sorted): of each digit drawn n >= 2 times, max(1, round(share * n)) drawings
    (at most n - 1), chosen at random (seeded); none when ``share`` is 0."""
    rng = np.random.default_rng([seed, 15])
    out = []
    for c in range(CLASSES):
        idx = np.flatnonzero(labels == c)
        if share <= 0 or idx.size < 2:
            continue
        k = min(idx.size - 1, max(1, int(round(share * idx.size))))
        out.append(rng.choice(idx, k, replace=False))
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.intp)


def _accuracy(model: Model, images: np.ndarray, labels: np.ndarray) -> float | None:
    return float(np.mean(model.predict(images) == labels)) if labels.size else None


def _digest(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    h.update(np.asarray(labels, np.int64).tobytes())
    return h.hexdigest()[:16]


def fine_tune(model: Model, digits: Sequence, dataset, *, config: FineTuneConfig | None = None,
              control: TrainingControl | None = None, on_event: Callable[[TrainingEvent], None] | None = None,
              source: str | None = None, progress_interval: float = PROGRESS_INTERVAL,
              on_step: Callable[[int, int, Model], None] | None = None) -> FineTuneResult:
    """Fine-tune a copy of ``model`` on the user's ``digits`` (records with ``strokes``, ``label`` and
    ``image``, as :class:`~mnist_gui.state.my_digits.MyDigit`), with MNIST replay from ``dataset`` (an
    :class:`~mnist_gui.data.MnistData`, whose test set gives the before/after MNIST figures).

    ``source`` names the model in the new model's metadata (a run's name, a file). Events go to
    ``on_event`` as they happen; ``control`` pauses or stops the run between steps (a stopped run still
    measures and returns what it learnt; an abandoned one too, but reports no more events).
    ``on_step(step, steps, model)`` is called after every step with the model being trained (to copy
    its weights for a live prediction; it must not keep the model).

    ``metrics``: ``test_accuracy``, ``my_digits_accuracy`` (the held-out estimate, see the module
    docstring), ``test_accuracy_before``, ``my_digits_accuracy_before`` (the input model on the same
    held-out digits), ``before`` and ``after`` (each ``{"test_accuracy", "my_digits_accuracy"}``),
    ``my_digits_accuracy_all_before`` (the input model on every drawing: it never saw any), ``seconds``
    (wall, the whole call), ``n_digits``, ``n_held_out``, ``steps`` (done), ``status``,
    ``my_digits_measured`` (how the figure was taken, in words), ``estimate_step``, ``fallbacks``
    (drawings learnt from their image only), ``pen_drawn_accuracy`` (after; None if not measured).

    :class:`DatasetError` for an unusable set of digits or dataset, :class:`ModelFileError` for a model
    that does not read 28x28 digits, :class:`ConfigError` for a bad configuration: before any work.
    """
    from mnist_gui.imaging.augment import Augmenter
    from mnist_gui.imaging.user_digits import digit_pool

    t0 = time.perf_counter()
    cfg = config or FineTuneConfig()
    cfg.validate()
    check_model(model)
    check_digits(digits)
    if dataset.train_images.shape[0] == 0 or dataset.test_images.shape[0] == 0:
        raise DatasetError(f"{dataset.source}: no training or test images to replay and measure with")
    control = control or TrainingControl()
    emit = (lambda event: None) if on_event is None else on_event

    pool = digit_pool(digits, cfg.variants, cfg.seed)
    held = split_held_out(pool.labels, cfg.holdout, cfg.seed)
    learn = np.setdiff1d(np.arange(len(pool)), held)
    held_x, held_y = pool.images[0, held], pool.labels[held]
    test_x, test_y = dataset.test_images, dataset.test_labels.astype(np.intp)

    work = model.copy()            # the input model is never touched (nor its layers' buffers)
    test_loss_before, test_before = evaluate(work, test_x, test_y)
    my_before = _accuracy(work, held_x, held_y)
    my_all_before = _accuracy(work, pool.images[0], pool.labels)

    size = cfg.batch_size
    n_my = max(1, int(round(size * cfg.my_share)))
    augmenter = Augmenter() if cfg.augment else None
    train_y = dataset.train_labels.astype(np.intp)

    def batches(index: np.ndarray) -> MixedBatchSource:
        part = pool.subset(index)
        return MixedBatchSource(dataset.train_images, train_y, size, work.encode, augmenter, None, None, 0, None, 0,
                                pools=[(part.images, part.labels, n_my)])

    net = work.network
    optimizer = make_optimizer("adam", net)
    guard = RollbackGuard(net.flat_params)
    meter = ProgressMeter(progress_interval, cfg.steps)
    rng = np.random.default_rng([cfg.seed, 1])
    estimate_step = max(1, int(round(cfg.estimate_at * cfg.steps))) if held.size else 0
    source_now = batches(learn)
    my_estimate: float | None = None
    estimated = not held.size
    status, reason = "completed", f"fine-tuned for {cfg.steps} steps"
    history: list[EpochResult] = []
    rounds = min(cfg.rounds, cfg.steps)
    bounds = [round(cfg.steps * (r + 1) / rounds) for r in range(rounds)]   # the last step of each round
    step = 0
    round_loss = round_correct = round_seen = 0.0
    round_started = time.perf_counter()
    train_seconds = 0.0

    def measure_held_out() -> None:
        nonlocal my_estimate, estimated, source_now
        my_estimate, estimated = _accuracy(work, held_x, held_y), True
        if cfg.final_on_all:
            source_now = batches(np.arange(len(pool)))

    while step < cfg.steps:
        meter.paused += control.wait_while_paused()
        if control.stop_requested:
            status, reason = "stopped", f"stopped by the user after {step} of {cfg.steps} steps"
            break
        x, y = source_now.next_batch(rng)
        loss, ok = net.train_step_gradients(x, y)
        if not guard.healthy(loss):
            guard.restore()
            status, reason = "diverged", f"the fine-tune diverged at step {step + 1}; the last healthy weights were kept"
            break
        guard.checkpoint(step)
        step += 1
        optimizer.step(cfg.lr)
        meter.record(loss, x.shape[0])
        round_loss += loss * x.shape[0]
        round_correct += ok
        round_seen += x.shape[0]
        r = next(i for i, b in enumerate(bounds) if step <= b)
        if meter.due(step):
            emit(meter.event(r + 1, rounds, step - (bounds[r - 1] if r else 0),
                             bounds[r] - (bounds[r - 1] if r else 0), step, loss, cfg.lr))
        if on_step is not None:
            on_step(step, cfg.steps, work)
        if not estimated and step >= estimate_step:
            measure_held_out()
        if step == bounds[r]:
            seconds = time.perf_counter() - round_started
            train_seconds += seconds
            # The held-out digits are a fair validation set only until they are trained on.
            fair = held.size and (not cfg.final_on_all or step <= estimate_step)
            val_loss, val = evaluate(work, held_x, held_y) if fair else (None, None)
            event = EpochResult(epoch=r + 1, epochs=rounds, train_loss=round_loss / max(round_seen, 1),
                                train_accuracy=round_correct / max(round_seen, 1), val_loss=val_loss, val_accuracy=val,
                                seconds=seconds, elapsed=meter.elapsed())
            history.append(event)
            emit(event)
            round_loss = round_correct = round_seen = 0.0
            round_started = time.perf_counter()
    if step < cfg.steps:
        train_seconds += time.perf_counter() - round_started
    if not estimated:
        measure_held_out()

    test_loss, test_after = evaluate(work, test_x, test_y)
    pen = _pen_drawn(work)
    n_digits, n_held = len(pool), int(held.size)
    measured = (f"{n_held} of the {n_digits} drawings held out (stratified), read after {min(step, estimate_step)} "
                f"steps on the other {n_digits - n_held}" + (" before the rest of the steps used them all"
                                                              if cfg.final_on_all and step > estimate_step else "")
                if n_held else "not measured: no digit has two drawings to hold one out")
    before = {"test_accuracy": test_before, "my_digits_accuracy": my_before}
    after = {"test_accuracy": test_after, "my_digits_accuracy": my_estimate}
    metrics = {"test_accuracy": test_after, "my_digits_accuracy": my_estimate, "test_accuracy_before": test_before,
               "my_digits_accuracy_before": my_before, "before": before, "after": after,
               "my_digits_accuracy_all_before": my_all_before, "test_loss": test_loss,
               "test_loss_before": test_loss_before, "n_digits": n_digits, "n_held_out": n_held, "steps": step,
               "estimate_step": min(step, estimate_step) if n_held else None, "status": status,
               "my_digits_measured": measured, "fallbacks": pool.fallbacks, **pen,
               "seconds": time.perf_counter() - t0}
    _record_metadata(work, model, cfg, metrics, source, pool, held, status)
    finished = TrainingFinished(status=status, reason=reason, epochs_completed=len(history),
                                test_accuracy=test_after, test_loss=test_loss, val_accuracy=my_estimate,
                                train_seconds=train_seconds,
                                samples_per_second=meter.samples / max(meter.elapsed(), 1e-9),
                                history=tuple(history), pen_drawn_accuracy=pen.get("pen_drawn_accuracy"),
                                pen_drawn_per_digit=pen.get("pen_drawn_per_digit"))
    if not control.abandoned:
        emit(finished)
    metrics["seconds"] = time.perf_counter() - t0
    return FineTuneResult(work, metrics, finished, tuple(int(i) for i in held))


def _pen_drawn(model: Model) -> dict:
    from mnist_gui.imaging.pen_sets import pen_drawn_report

    try:
        report = pen_drawn_report(model)
    except DatasetError:
        return {"pen_drawn_accuracy": None, "pen_drawn_per_digit": None}
    return {"pen_drawn_accuracy": report["pen_drawn_accuracy"], "pen_drawn_per_digit": report["pen_drawn_per_digit"]}


def _record_metadata(work: Model, model: Model, cfg: FineTuneConfig, metrics: dict, source: str | None,
                     pool, held: np.ndarray, status: str) -> None:
    """What the new model was fine-tuned from and on, and its own figures (the input model's
    pen-drawn figures no longer describe it)."""
    meta = work.metadata
    meta["fine_tune"] = {
        "from": source or meta.get("preset") or "a model",
        "from_test_accuracy": model.test_accuracy,
        "on": {"n_digits": len(pool), "per_digit": np.bincount(pool.labels, minlength=CLASSES).tolist(),
               "n_held_out": int(held.size), "digits_sha256": _digest(pool.images[0], pool.labels)},
        "config": cfg.to_dict(), "status": status, "steps": metrics["steps"],
        "before": metrics["before"], "after": metrics["after"], "my_digits_measured": metrics["my_digits_measured"],
    }
    meta.update({"test_accuracy": metrics["test_accuracy"], "status": status,
                 "my_digits_accuracy": metrics["my_digits_accuracy"]})
    for key in ("pen_drawn_accuracy", "pen_drawn_per_digit"):
        value = metrics.get(key)
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta.pop("val_accuracy", None)   # the input model's validation images may be among the replayed ones
