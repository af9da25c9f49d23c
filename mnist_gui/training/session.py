"""The training loop, shared by the CLI, the GUI's worker, the tests and the benchmark.

``TrainingSession(config, data).run()`` is a generator of the events in
:mod:`mnist_gui.training.events`. The loop itself reads like a textbook's::

    for epoch in epochs:
        for x, y in batches:                 # BatchSource: shuffle, gather, augment, encode
            loss = forward + backward
            if the loss exploded: roll back  # RollbackGuard
            optimizer step
            maybe report progress            # ProgressMeter: throttled, pause-aware timings
        evaluate on the validation set, report the epoch
    evaluate on the test set, report the end

and the bookkeeping lives in the small named helpers it calls. A :class:`TrainingControl`
(thread-safe) pauses, resumes or stops the loop between batches.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from mnist_gui.data import MnistData
from mnist_gui.model import Model, Normalization
from mnist_gui.model.limits import inference_rows
from mnist_gui.nn import build_mlp, make_optimizer, make_schedule
from mnist_gui.errors import ConfigError, DatasetError, PredictionError
from mnist_gui.training.batches import NOT_A_DIGIT, BatchSource, MixedBatchSource
from mnist_gui.training.config import TrainingConfig
from mnist_gui.training.continuation import check_continuable, history_of
from mnist_gui.training.events import BatchProgress, EpochResult, Predictions, TrainingEvent, TrainingFinished

# A mean cross-entropy above this means the true class gets probability < e^-1000: no training that
# is still learning gets there, while an exploding one (learning rate 10) passes it within a few
# batches and then often dies quietly (all ReLUs off) without ever producing a NaN.
DIVERGENCE_LOSS = 1000.0
#: The share of a model's own validation digits the "not a digit" threshold flags. In writer
#: cross-validation of the fast recipe, 1% of validation flagged 0.7% of real pen-drawn digits and 91% of
#: scribbles, 2% flagged 1.3% and 93%; on our six measuring writers (the hardest fold) 2% flagged 2.1% of
#: their digits, 1.5% flagged 1.7% (and 92% of scribbles): 1.5% keeps false alarms under 2%.
NOT_A_DIGIT_QUANTILE = 0.015
# A model trained with augmentation is calibrated on its validation digits augmented the same way (its
# "typical digit" is a distorted one); their low tail is longer, hence a slightly larger quantile. Both
# were chosen on the measuring writers: about 1.3-1.8% of their real digits flagged, 91-96% of scribbles.
NOT_A_DIGIT_QUANTILE_AUGMENTED = 0.02
#: Seconds between progress events: 10 a second keeps a progress bar and live curves moving without
#: flooding a terminal or a GUI thread with hundreds of batches a second. The one throttle of the
#: event stream: the CLI and the GUI's worker pass every event on.
PROGRESS_INTERVAL = 0.1
#: Stroke-style re-drawings of each of the user's digits in a full training (as many as the pen digits
#: have), fewer for a large set so that preparing them stays under a few seconds.
MY_DIGITS_VARIANTS = 4
MY_DIGITS_RENDERINGS = 4000


class TrainingControl:
    """Thread-safe pause / resume / stop, checked by the loop between batches."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._abandon = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()   # wake a paused loop so it can see the stop

    def abandon(self) -> None:
        """Stop and skip the final evaluation: the session ends without a TrainingFinished event
        (for a window that is closing and wants the thread back at once)."""
        self._abandon.set()
        self.stop()

    @property
    def abandoned(self) -> bool:
        return self._abandon.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting (excluded from timings)."""
        if self._running.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - t0


def split_validation(images: np.ndarray, labels: np.ndarray, val_size: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded random validation split taken from the training set: (train_x, train_y, val_x, val_y)."""
    n = images.shape[0]
    if val_size <= 0:
        return images, labels, images[:0], labels[:0]
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:val_size]), np.sort(order[val_size:])
    return images[train_idx], labels[train_idx], images[val_idx], labels[val_idx]


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int | None = None) -> tuple[float, float]:
    """(mean loss, accuracy) of a model on uint8 images, ``chunk`` rows at a time (default: as many as
    :func:`~mnist_gui.model.limits.inference_rows` allows, so a wide network's activations stay small).
    A model whose outputs overflow gives a NaN loss (no warning): callers decide what that means."""
    loss, accuracy, _ = evaluate_with_predictions(model, images, labels, chunk)
    return loss, accuracy


def evaluate_with_predictions(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int | None = None
                              ) -> tuple[float, float, Predictions]:
    """(mean loss, accuracy, each image's :class:`Predictions`) of a model on uint8 images.

    The one pass over a labelled set that training (validation, test), ``mnist-gui evaluate`` and
    the window's confusion matrix all use, so they agree image for image. It runs the network's
    training-time forward pass (its buffers): call it on a model no other thread is using. A model
    whose outputs overflow gives a NaN loss and NaN confidences (no warning): callers decide.
    """
    n = images.shape[0]
    predicted = np.zeros(n, np.uint8)
    confidence = np.zeros(n, np.float32)
    if n == 0:
        return float("nan"), float("nan"), Predictions(predicted, confidence)
    chunk = chunk or inference_rows(model.sizes)
    total_loss = 0.0
    correct = 0
    with np.errstate(all="ignore"):
        for start in range(0, n, chunk):
            x = images[start:start + chunk]
            y = labels[start:start + chunk]
            logits = model.network.forward(model.encode(x), training=False)
            total_loss += model.network.loss.forward(logits, y) * x.shape[0]
            top = np.argmax(logits, axis=1)
            correct += int(np.count_nonzero(top == y))
            predicted[start:start + chunk] = top
            # The winner's softmax probability, 1 / sum(exp(z - z_max)): a few microseconds a chunk.
            confidence[start:start + chunk] = 1.0 / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1)
    return total_loss / n, correct / n, Predictions(predicted, confidence)


def _blame(cfg: TrainingConfig) -> str:
    """Which setting most likely made a run diverge, for its message. L2 decay multiplies the weights
    by (1 - lr * L2) every step before the loss has any say: beyond 1 that alone makes them explode."""
    if cfg.l2 > 0 and cfg.l2 * cfg.lr >= 1.0:
        return (f"L2 weight decay {cfg.l2:g} with learning rate {cfg.lr:g} is too strong: each step multiplies the "
                f"weights by {1 - cfg.l2 * cfg.lr:g}; lower the L2 (or the learning rate)")
    return f"learning rate {cfg.lr:g} is probably too high"


class RollbackGuard:
    """The last weights known to be healthy, and the way back to them when the loss explodes.

    A copy of the parameters is taken every ``every`` steps, right after a batch gave a finite, sane
    loss (the weights that produced it): a 1 MB copy is too costly per batch, negligible every 20.
    """

    def __init__(self, params: np.ndarray, every: int = 20) -> None:
        self._params = params
        self._saved = params.copy()
        self.saved_step = 0
        self.every = every

    @staticmethod
    def healthy(loss: float) -> bool:
        return loss < DIVERGENCE_LOSS   # False for NaN too

    def checkpoint(self, step: int) -> None:
        """The loss at ``step`` was healthy: keep these weights if it is time to."""
        if step % self.every == 0:
            np.copyto(self._saved, self._params)
            self.saved_step = step

    def restore(self) -> None:
        self._params[...] = self._saved


class ProgressMeter:
    """Running time, throughput and loss for progress events, emitted at most once per ``interval``
    (and always at the final step). Time spent paused is excluded from every rate and estimate."""

    def __init__(self, interval: float, total_steps: int) -> None:
        self.interval = interval
        self.total_steps = total_steps
        self.start = time.perf_counter()
        self.paused = 0.0
        self.samples = 0
        self._smoothed: float | None = None
        self._window_sum, self._window_n = 0.0, 0
        self._last_emit = -1e9

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def record(self, loss: float, samples: int) -> None:
        self.samples += samples
        self._smoothed = loss if self._smoothed is None else 0.98 * self._smoothed + 0.02 * loss
        self._window_sum += loss
        self._window_n += 1

    def due(self, step: int) -> bool:
        now = time.perf_counter()
        if now - self._last_emit >= self.interval or step == self.total_steps:
            self._last_emit = now
            return True
        return False

    def event(self, epoch: int, epochs: int, batch: int, batches: int, step: int, loss: float,
              lr: float) -> BatchProgress:
        mean_loss = self._window_sum / self._window_n
        self._window_sum, self._window_n = 0.0, 0
        elapsed = self.elapsed()
        return BatchProgress(
            epoch=epoch, epochs=epochs, batch=batch, batches=batches, step=step, total_steps=self.total_steps,
            loss=loss, smoothed_loss=self._smoothed, lr=lr, samples_per_second=self.samples / max(elapsed, 1e-9),
            elapsed=elapsed, eta=(self.total_steps - step) * (elapsed / step), mean_loss=mean_loss)


@dataclass
class _Run:
    """The state of one pass through :meth:`TrainingSession.run`."""

    batches: BatchSource
    optimizer: object
    lr_at: Callable[[int], float]
    guard: RollbackGuard
    meter: ProgressMeter
    rng: np.random.Generator
    step: int = 0
    train_seconds: float = 0.0
    epochs_done: int = 0
    last_epoch: tuple[float, float, float] = (0.0, 0.0, 0.0)   # train loss, train accuracy, seconds


class TrainingSession:
    """One training run over a dataset. Iterate :meth:`run` to drive it."""

    def __init__(self, config: TrainingConfig, data: MnistData, control: TrainingControl | None = None,
                 progress_interval: float = PROGRESS_INTERVAL, initial: Model | None = None,
                 my_digits: Sequence | None = None) -> None:
        """``initial``: continue training this model (its weights and input normalization; ``config``
        must describe its architecture, see :func:`~mnist_gui.training.continuation.continue_config`).
        Epochs are then numbered after the ones it was trained for, and its history goes on.
        ``my_digits``: the user's labelled drawings (records with ``strokes``, ``label``, ``image``) that
        ``config.my_digits`` mixes into every batch, each with a few stroke-style re-drawings."""
        config.validate(n_train=data.train_images.shape[0])
        self.my_pool = self._my_digits_pool(config, my_digits)
        self.config = config
        self.data = data
        self.control = control or TrainingControl()
        self.progress_interval = progress_interval
        train_x, train_y, val_x, val_y = split_validation(
            data.train_images, data.train_labels, config.val_size, config.seed)
        if config.limit is not None:
            train_x, train_y = train_x[:config.limit], train_y[:config.limit]
        self.train_x = np.ascontiguousarray(train_x)
        self.train_y = train_y.astype(np.intp)
        self.val_x, self.val_y = val_x, val_y.astype(np.intp)
        self.val_x.flags.writeable = False   # shared with the GUI, which shows these images
        self.test_x, self.test_y = data.test_images, data.test_labels.astype(np.intp)
        network = build_mlp(config.sizes, activation=config.activation, dropout=config.dropout,
                            init=None if config.init == "auto" else config.init, seed=config.seed)
        norm = Normalization.standard() if config.normalization == "standard" else Normalization.unit()
        self.earlier_history: list[dict] = []   # the epochs an initial model was trained for before
        if initial is not None:
            check_continuable(config, initial)
            network.set_weights(initial.network.get_weights())
            norm, self.earlier_history = initial.normalization, history_of(initial)
        self.epoch_offset = len(self.earlier_history)
        self.model = Model(network, norm, metadata={
            "preset": config.preset, "config": config.to_dict(),
            "dataset": {"source": data.source, "checksum": data.checksum},
        })
        if self.my_pool is not None:
            self.model.metadata["my_digits"] = {"n_digits": len(self.my_pool), "share": config.my_digits}
        self.history: list[EpochResult] = []
        # What the model said about each image at the last validation (each epoch's end) and at the
        # final test: computed anyway, kept for views that show where the network fails.
        self.validation_predictions: Predictions | None = None
        self.test_predictions: Predictions | None = None

    @staticmethod
    def _my_digits_pool(config: TrainingConfig, my_digits: Sequence | None):
        """The user's digits with their re-drawings (None when the config does not use them)."""
        if not config.my_digits:
            return None
        from mnist_gui.imaging.user_digits import digit_pool
        from mnist_gui.training.finetune import check_digits

        if not my_digits:
            raise ConfigError("the share of my digits is set, but there are no drawings of mine to train on; "
                              "correct or keep a few drawings first, or set it to 0", "my_digits")
        check_digits(my_digits)
        # Re-drawing costs ~2 ms a variant: a large set gets fewer each (at most MY_DIGITS_RENDERINGS in all).
        variants = max(0, min(MY_DIGITS_VARIANTS, MY_DIGITS_RENDERINGS // len(my_digits)))
        return digit_pool(my_digits, variants, config.seed)

    def snapshot(self) -> Model:
        """An independent copy of the current model (safe to use from another thread)."""
        return self.model.copy()

    # The loop ----------------------------------------------------------------------------------
    def run(self, test_each_epoch: bool = False) -> Iterator[TrainingEvent]:
        run = self._start()
        ending = None                      # (status, reason) once the run stops early
        for epoch in range(self.epoch_offset + 1, self.epoch_offset + self.config.epochs + 1):
            ending = yield from self._train_epoch(run, epoch)
            if ending is not None or self.control.abandoned:
                break
            yield self._end_epoch(run, epoch, test_each_epoch)
        if self.control.abandoned:
            return
        epochs = self.config.epochs
        done = f"completed {epochs} epoch{'s' if epochs != 1 else ''}" + (
            f" ({self.epoch_offset + epochs} in all)" if self.epoch_offset else "")
        yield self._finish(run, *(ending or ("completed", done)))

    def _start(self) -> _Run:
        cfg, net = self.config, self.model.network
        augmenter = self._make_augmenter() if cfg.augment else None
        if cfg.pen_digits or cfg.scribbles or self.my_pool is not None:
            batches = self._mixed_batches(augmenter)
        else:
            batches = BatchSource(self.train_x, self.train_y, cfg.batch_size, self.model.encode, augmenter)
        total_steps = batches.batches * cfg.epochs
        return _Run(batches=batches,
                    optimizer=make_optimizer(cfg.optimizer, net, l2=cfg.l2, momentum=cfg.momentum),
                    lr_at=make_schedule(cfg.schedule, cfg.lr, total_steps),
                    guard=RollbackGuard(net.flat_params), meter=ProgressMeter(self.progress_interval, total_steps),
                    rng=np.random.default_rng(cfg.seed + 1))

    def _mixed_batches(self, augmenter) -> MixedBatchSource:
        """Batches with real pen-drawn digits (of the writers we do not measure on) and non-digit
        scribbles among the MNIST images (see :mod:`mnist_gui.imaging.pen_sets`)."""
        from mnist_gui.imaging import pen_sets

        cfg = self.config
        size = min(cfg.batch_size, self.train_x.shape[0])
        pen = pen_sets.training_set() if cfg.pen_digits else None
        return MixedBatchSource(self.train_x, self.train_y, cfg.batch_size, self.model.encode, augmenter,
                                None if pen is None else pen.images, None if pen is None else pen.labels,
                                int(round(size * cfg.pen_digits)),
                                pen_sets.outlier_scribbles() if cfg.scribbles else None,
                                int(round(size * cfg.scribbles)),
                                pools=[] if self.my_pool is None else [
                                    (self.my_pool.images, self.my_pool.labels, max(1, int(round(size * cfg.my_digits))))])

    def _train_epoch(self, run: _Run, epoch: int) -> Iterator[BatchProgress]:
        """One pass over the training images; returns None, or (status, reason) if the run ends here."""
        cfg, net, control, meter = self.config, self.model.network, self.control, run.meter
        started, paused = time.perf_counter(), 0.0
        loss_sum, correct, seen, labelled = 0.0, 0, 0, 0
        mixed = isinstance(run.batches, MixedBatchSource)

        def ended(status: str, reason: str) -> tuple[str, str]:
            # The part of the epoch that ran counts: a run stopped 10 s into its first epoch trained 10 s.
            run.train_seconds += time.perf_counter() - started - paused
            return status, reason

        for batch, (x, y) in enumerate(run.batches.epoch(run.rng), start=1):
            waited = control.wait_while_paused()
            paused += waited
            meter.paused += waited
            if control.stop_requested:
                return ended("stopped", f"stopped by the user during epoch {epoch}")
            # Overflow is what divergence looks like: the loss check below reports it, once, in words;
            # NumPy's RuntimeWarnings would only repeat it on stderr.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                loss, ok = net.train_step_gradients(x, y)
            if not run.guard.healthy(loss):
                run.guard.restore()
                shown = f"{loss:.4g}" if math.isfinite(loss) else str(loss)
                return ended("diverged", f"training diverged: the loss became {shown} at epoch {epoch}, batch {batch} "
                                         f"({_blame(cfg)}); the weights from step {run.guard.saved_step}, the last "
                                         "healthy ones, were kept")
            run.guard.checkpoint(run.step)
            run.step += 1
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                run.optimizer.step(run.lr_at(run.step - 1))
            loss_sum += loss * x.shape[0]
            seen += x.shape[0]
            correct += ok
            labelled += int(np.count_nonzero(y != NOT_A_DIGIT)) if mixed else x.shape[0]
            meter.record(loss, x.shape[0])
            if meter.due(run.step):
                yield meter.event(epoch, self.epoch_offset + cfg.epochs, batch, run.batches.batches, run.step,
                                  loss, run.lr_at(run.step - 1))
        seconds = time.perf_counter() - started - paused
        run.train_seconds += seconds
        run.last_epoch = (loss_sum / max(seen, 1), correct / max(labelled, 1), seconds)
        return None

    def _end_epoch(self, run: _Run, epoch: int, test_each_epoch: bool) -> EpochResult:
        train_loss, train_accuracy, seconds = run.last_epoch
        val_loss, val_acc = None, None
        if self.val_x.shape[0]:
            val_loss, val_acc, self.validation_predictions = evaluate_with_predictions(
                self.model, self.val_x, self.val_y)
        test_acc = evaluate(self.model, self.test_x, self.test_y)[1] if test_each_epoch else None
        pen = self._pen_drawn()
        result = EpochResult(epoch=epoch, epochs=self.epoch_offset + self.config.epochs, train_loss=train_loss,
                             train_accuracy=train_accuracy, val_loss=val_loss, val_accuracy=val_acc,
                             seconds=seconds, elapsed=run.meter.elapsed(), test_accuracy=test_acc,
                             pen_accuracy=None if pen is None else pen["pen_drawn_accuracy"])
        self.history.append(result)
        run.epochs_done = epoch - self.epoch_offset
        return result

    def _finish(self, run: _Run, status: str, reason: str) -> TrainingFinished:
        test_loss, test_acc, self.test_predictions = evaluate_with_predictions(self.model, self.test_x, self.test_y)
        val_acc = self.history[-1].val_accuracy if self.history else None
        pen = self._pen_drawn() or {}
        self.model.metadata.update({
            "history": self.earlier_history + [h.to_dict() for h in self.history],
            "test_accuracy": test_acc,
            "val_accuracy": val_acc,
            "status": status,
            "train_seconds": run.train_seconds,
            **pen,
        })
        threshold = self._not_a_digit_threshold()
        if threshold is not None:
            self.model.metadata["not_a_digit"] = threshold
        return TrainingFinished(
            status=status, reason=reason, epochs_completed=run.epochs_done, test_accuracy=test_acc,
            test_loss=test_loss, val_accuracy=val_acc, train_seconds=run.train_seconds,
            samples_per_second=run.meter.samples / max(run.meter.elapsed(), 1e-9), history=tuple(self.history),
            pen_drawn_accuracy=pen.get("pen_drawn_accuracy"), pen_drawn_per_digit=pen.get("pen_drawn_per_digit"))

    def _pen_drawn(self) -> dict | None:
        """The model on the measuring writers' pen-drawn digits, or None if they are not available."""
        from mnist_gui.imaging.pen_sets import pen_drawn_report

        try:
            return pen_drawn_report(self.model)
        except (DatasetError, PredictionError):   # no pen set here, or a model whose outputs overflow
            return None

    def _not_a_digit_threshold(self) -> dict | None:
        """For a model trained with scribbles: see :func:`not_a_digit_threshold`."""
        if not self.config.scribbles:
            return None
        return not_a_digit_threshold(self.model, self.val_x, self._make_augmenter() if self.config.augment else None,
                                     self.config.seed)

    def _make_augmenter(self):
        from mnist_gui.imaging.augment import Augmenter  # only needed when augmentation is on

        return Augmenter()


def not_a_digit_threshold(model: Model, val_x: np.ndarray, augmenter=None, seed: int = 0) -> dict | None:
    """The max logit below which a drawing is "not a digit" for ``model``: a low quantile of the max logits
    of its own validation digits (so a known small share of real digits is flagged, whatever scale its
    logits ended up with). With ``augmenter`` (a model trained with augmentation) the validation digits
    are distorted by it first, seeded, and the quantile is :data:`NOT_A_DIGIT_QUANTILE_AUGMENTED`; else
    :data:`NOT_A_DIGIT_QUANTILE`. None without validation digits, or when the logits overflow."""
    if not val_x.shape[0]:
        return None
    quantile, calibration = NOT_A_DIGIT_QUANTILE, "validation digits"
    if augmenter is not None:
        val_x = augmenter.apply(val_x, np.random.default_rng([seed, 7919]))
        quantile, calibration = NOT_A_DIGIT_QUANTILE_AUGMENTED, "validation digits, augmented"
    with np.errstate(all="ignore"):   # in evaluation chunks, like every other pass over a set
        scores = model.network.logits(model.encode(val_x), chunk=inference_rows(model.sizes)).max(axis=1)
    if not np.isfinite(scores).all():
        return None   # a model whose outputs overflow has no threshold to speak of
    return {"score": "max_logit", "quantile": quantile, "calibration": calibration,
            "threshold": float(np.quantile(scores, quantile))}


def drive(events: Iterable[TrainingEvent], on_event: Callable[[TrainingEvent], None] | None = None
          ) -> TrainingFinished | None:
    """Run a session's events to the end, handing each to ``on_event``; returns the final event, or
    None if the session was abandoned (it then ends without one)."""
    finished = None
    for event in events:
        if on_event is not None:
            on_event(event)
        if isinstance(event, TrainingFinished):
            finished = event
    return finished


def train(config: TrainingConfig, data: MnistData, control: TrainingControl | None = None
          ) -> tuple[Model, TrainingFinished | None]:
    """Run a whole session and return (model, final event): the simplest way to train. The final
    event is None if ``control`` abandoned the session."""
    session = TrainingSession(config, data, control)
    return session.model, drive(session.run())
