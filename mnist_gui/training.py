"""The training loop, shared by the CLI, the GUI's worker, the tests and the benchmark.

``TrainingSession(config, data).run()`` is a generator of small immutable events:

* :class:`BatchProgress` at most every ``progress_interval`` seconds (plus the final step, so a
  progress bar always ends full), so neither a terminal nor a GUI is flooded by hundreds of
  batches, or hundreds of tiny full-batch epochs, a second;
* :class:`EpochResult` after each epoch, with train and validation loss/accuracy;
* :class:`TrainingFinished` once, at the end (completed, stopped, or diverged), with test metrics.

A :class:`TrainingControl` (thread-safe) pauses, resumes or stops the loop between batches.

Data stays uint8 in memory; each batch is gathered with ``np.take`` into a preallocated buffer and
turned into float32 (normalised) in a second preallocated buffer.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator, Union

import numpy as np

from mnist_gui.errors import ConfigError
from mnist_gui.model import Model, Normalization
from mnist_gui.nn import ACTIVATIONS, OPTIMIZERS, SCHEDULES, build_mlp, make_optimizer, make_schedule
from mnist_gui.nn.init import INITIALISERS

INPUT_SIZE = 784
N_CLASSES = 10
# A mean cross-entropy above this means the true class gets probability < e^-1000: no training that
# is still learning gets there, while an exploding one (learning rate 10) passes it within a few
# batches and then often dies quietly (all ReLUs off) without ever producing a NaN.
DIVERGENCE_LOSS = 1000.0
# Refuse networks whose training state would not fit comfortably: params, grads, optimiser state
# (up to 2 vectors) and scratch = 5 float32 copies of the parameters, plus activations.
MAX_TRAINING_BYTES = 8 * 1024**3


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run. ``batch_size=0`` means full-batch gradient descent."""

    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 5
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    schedule: str = "constant"
    momentum: float = 0.9
    init: str = "auto"
    normalization: str = "unit"      # "unit": x/255 ; "standard": (x/255 - 0.1307) / 0.3081
    val_size: int = 5000
    limit: int | None = None         # use only the first N training images (after the split)
    augment: bool = False
    preset: str | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        return (INPUT_SIZE, *self.hidden, N_CLASSES)

    @property
    def n_params(self) -> int:
        s = [int(v) for v in self.sizes]   # Python ints: NumPy integers would wrap around silently
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))

    def estimated_bytes(self) -> int:
        batch = int(self.batch_size) or 60000
        activations = batch * sum(int(v) for v in self.sizes) * 4 * 6
        return self.n_params * 4 * 5 + activations

    def validate(self, n_train: int | None = None) -> None:
        """Raise :class:`ConfigError` for the first invalid setting, before any work starts."""
        def bad(msg: str) -> ConfigError:
            return ConfigError(msg)

        if not self.hidden or any((not isinstance(h, (int, np.integer))) or h < 1 for h in self.hidden):
            raise bad(f"hidden layers must be positive integers, got {self.hidden!r}")
        if len(self.hidden) > 16:
            raise bad(f"at most 16 hidden layers, got {len(self.hidden)}")
        if self.activation not in ACTIVATIONS:
            raise bad(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")
        if self.optimizer not in OPTIMIZERS:
            raise bad(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise bad(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.init not in ("auto", *INITIALISERS):
            raise bad(f"unknown initialiser {self.init!r}; choose from auto, {', '.join(INITIALISERS)}")
        if self.normalization not in ("unit", "standard"):
            raise bad(f"unknown normalization {self.normalization!r}; choose from unit, standard")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise bad(f"learning rate must be a positive number, got {self.lr}")
        if self.batch_size < 0:
            raise bad(f"batch size must be positive (or 0 for full batch), got {self.batch_size}")
        if self.epochs < 1:
            raise bad(f"epochs must be at least 1, got {self.epochs}")
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise bad(f"L2 weight decay must be >= 0, got {self.l2}")
        if not (0 <= self.dropout < 1):
            raise bad(f"dropout must be in [0, 1), got {self.dropout}")
        if not (0 <= self.momentum < 1):
            raise bad(f"momentum must be in [0, 1), got {self.momentum}")
        if self.val_size < 0:
            raise bad(f"validation size must be >= 0, got {self.val_size}")
        if self.limit is not None and self.limit < 1:
            raise bad(f"limit must be at least 1, got {self.limit}")
        if self.seed < 0:   # NumPy's generators take only non-negative seeds
            raise bad(f"seed must be a non-negative integer, got {self.seed}")
        if n_train is not None and self.val_size >= n_train:
            raise bad(f"validation size {self.val_size} leaves no training images (dataset has {n_train})")
        need = self.estimated_bytes()
        if need > MAX_TRAINING_BYTES:
            raise bad(
                f"network too large: {_approx(self.n_params)} parameters would need about "
                f"{_approx(need, 1024**3)} GiB to train (limit {MAX_TRAINING_BYTES / 1024**3:.0f} GiB); "
                "use smaller hidden layers"
            )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if "hidden" in kwargs:
            kwargs["hidden"] = tuple(int(h) for h in kwargs["hidden"])
        return cls(**kwargs)


def _approx(n: int, unit: int = 1) -> str:
    """``n / unit`` for a message: "1,234" / "12.5" when readable, "3.1e+400" for absurd sizes
    (exact integer arithmetic: a float division would overflow beyond 1e308)."""
    if n // unit < 10**12:
        return f"{n / unit:,.1f}" if unit > 1 else f"{n:,}"
    digits = len(str(n // unit)) - 1
    return f"{n // unit // 10 ** (digits - 1) / 10:.1f}e+{digits}"


def parse_hidden(text: str) -> tuple[int, ...]:
    """Hidden layer sizes from text, for the CLI and the training panel alike: "256,128" (spaces
    around commas are fine) or "256 128". An empty part ("10,,2", "5,") is an error, not skipped."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) == 1:
        parts = parts[0].split()
    if not parts or any(not p for p in parts):
        raise ConfigError(f"hidden layers are whole numbers separated by commas, e.g. 256,128 (got {text!r})")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden layers are whole numbers separated by commas, e.g. 256,128 (got {text!r})") from None
    if any(s < 1 for s in sizes):
        raise ConfigError("every hidden layer needs at least 1 unit")
    if len(sizes) > 16:
        raise ConfigError(f"at most 16 hidden layers, got {len(sizes)}")
    return sizes


# -- events -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchProgress:
    epoch: int                 # 1-based
    epochs: int
    batch: int                 # 1-based within the epoch
    batches: int
    step: int                  # global step, 1-based
    total_steps: int
    loss: float                # this batch's loss
    smoothed_loss: float       # exponential moving average of the batch loss
    lr: float
    samples_per_second: float
    elapsed: float
    eta: float                 # seconds left (estimate)
    # Mean loss of every batch since the previous progress event (this one included): at 10 events
    # a second that is 40-80 batches, so a curve drawn from these points misses no batch.
    mean_loss: float | None = None


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float             # this epoch's training time
    elapsed: float             # since the session started
    test_accuracy: float | None = None  # only when run(test_each_epoch=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingFinished:
    status: str                # "completed" | "stopped" | "diverged"
    reason: str                # a sentence for the user
    epochs_completed: int
    test_accuracy: float
    test_loss: float
    val_accuracy: float | None
    train_seconds: float
    samples_per_second: float
    history: tuple[EpochResult, ...] = field(default_factory=tuple)

    def metrics(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "epochs": self.epochs_completed,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "val_accuracy": self.val_accuracy,
            "train_seconds": self.train_seconds,
            "samples_per_second": self.samples_per_second,
        }


TrainingEvent = Union[BatchProgress, EpochResult, TrainingFinished]


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


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int = 2500) -> tuple[float, float]:
    """(mean loss, accuracy) of a model on uint8 images."""
    n = images.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    total_loss = 0.0
    correct = 0
    for start in range(0, n, chunk):
        x = images[start:start + chunk]
        y = labels[start:start + chunk]
        logits = model.network.forward(model.encode(x), training=False)
        total_loss += model.network.loss.forward(logits, y) * x.shape[0]
        correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y))
    return total_loss / n, correct / n


class TrainingSession:
    """One training run over a dataset. Iterate :meth:`run` to drive it."""

    def __init__(self, config: TrainingConfig, data, control: TrainingControl | None = None,
                 progress_interval: float = 0.04) -> None:
        config.validate(n_train=data.train_images.shape[0])
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
        self.test_x, self.test_y = data.test_images, data.test_labels.astype(np.intp)
        network = build_mlp(config.sizes, activation=config.activation, dropout=config.dropout,
                            init=None if config.init == "auto" else config.init, seed=config.seed)
        norm = Normalization.standard() if config.normalization == "standard" else Normalization.unit()
        self.model = Model(network, norm, metadata={
            "preset": config.preset, "config": config.to_dict(),
            "dataset": {"source": getattr(data, "source", "?"), "checksum": getattr(data, "checksum", "")},
        })
        self.history: list[EpochResult] = []

    def snapshot(self) -> Model:
        """An independent copy of the current model (safe to use from another thread)."""
        return self.model.copy()

    # The loop ----------------------------------------------------------------------------------
    def run(self, test_each_epoch: bool = False) -> Iterator[TrainingEvent]:
        cfg = self.config
        net, model = self.model.network, self.model
        rng = np.random.default_rng(cfg.seed + 1)
        n = self.train_x.shape[0]
        batch = n if cfg.batch_size == 0 else min(cfg.batch_size, n)
        batches = math.ceil(n / batch)
        total_steps = batches * cfg.epochs
        optimizer = make_optimizer(cfg.optimizer, net, l2=cfg.l2, momentum=cfg.momentum)
        lr_at = make_schedule(cfg.schedule, cfg.lr, total_steps)
        augmenter = self._make_augmenter() if cfg.augment else None
        full_batch = batch == n and augmenter is None

        # Preallocated batch buffers; the full-batch case encodes the whole set once.
        xb_u8 = np.empty((batch, INPUT_SIZE), np.uint8)
        xb = np.empty((batch, INPUT_SIZE), np.float32)
        aug_out = np.empty((batch, INPUT_SIZE), np.uint8) if augmenter else None
        if full_batch:
            model.encode(self.train_x, out=xb)
        # Weights known to be healthy (they just produced a finite, sane loss), refreshed every
        # ``snapshot_every`` steps: a 1 MB copy, too costly per batch, negligible every 20.
        snapshot = net.flat_params.copy()
        snapshot_step = 0
        snapshot_every = 20

        t_start = time.perf_counter()
        paused_total = 0.0
        train_time = 0.0
        samples_done = 0
        step = 0
        smoothed = None
        last_emit = -1e9
        window_sum, window_n = 0.0, 0
        status, reason = "completed", f"completed {cfg.epochs} epochs"
        epochs_done = 0

        for epoch in range(1, cfg.epochs + 1):
            t_epoch = time.perf_counter()
            epoch_paused = 0.0
            order = np.arange(n) if full_batch else rng.permutation(n)
            loss_sum = 0.0
            correct = 0
            diverged = False
            for b in range(batches):
                waited = self.control.wait_while_paused()
                epoch_paused += waited
                paused_total += waited
                if self.control.stop_requested:
                    status, reason = "stopped", f"stopped by the user during epoch {epoch}"
                    break
                lo = b * batch
                idx = order[lo:lo + batch]
                m = idx.shape[0]
                y = self.train_y[idx]
                if full_batch:
                    x = xb
                else:
                    np.take(self.train_x, idx, axis=0, out=xb_u8[:m])
                    src = xb_u8[:m]
                    if augmenter is not None:
                        src = augmenter.apply(src, rng, out=aug_out[:m])
                    x = model.encode(src, out=xb[:m])
                loss, ok = net.train_step_gradients(x, y)
                if not (loss < DIVERGENCE_LOSS):          # also true for NaN
                    diverged = True
                    net.flat_params[...] = snapshot
                    status = "diverged"
                    shown = f"{loss:.4g}" if math.isfinite(loss) else str(loss)
                    reason = (f"training diverged: the loss became {shown} at epoch {epoch}, batch {b + 1} "
                              f"(learning rate {cfg.lr:g} is probably too high); the weights from step "
                              f"{snapshot_step}, the last healthy ones, were kept")
                    break
                if step % snapshot_every == 0:
                    np.copyto(snapshot, net.flat_params)
                    snapshot_step = step
                step += 1
                optimizer.step(lr_at(step - 1))
                loss_sum += loss * m
                correct += ok
                samples_done += m
                smoothed = loss if smoothed is None else 0.98 * smoothed + 0.02 * loss
                window_sum += loss
                window_n += 1
                now = time.perf_counter()
                if now - last_emit >= self.progress_interval or step == total_steps:
                    last_emit = now
                    mean_loss, window_sum, window_n = window_sum / window_n, 0.0, 0
                    elapsed = now - t_start - paused_total
                    rate = samples_done / max(elapsed, 1e-9)
                    yield BatchProgress(
                        epoch=epoch, epochs=cfg.epochs, batch=b + 1, batches=batches, step=step,
                        total_steps=total_steps, loss=loss, smoothed_loss=smoothed, lr=lr_at(step - 1),
                        samples_per_second=rate, elapsed=elapsed,
                        eta=(total_steps - step) * (elapsed / step), mean_loss=mean_loss,
                    )
            if diverged or status == "stopped":
                break
            if self.control.abandoned:
                return
            train_seconds = time.perf_counter() - t_epoch - epoch_paused
            train_time += train_seconds
            val_loss, val_acc = evaluate(model, self.val_x, self.val_y) if self.val_x.shape[0] else (None, None)
            test_acc = evaluate(model, self.test_x, self.test_y)[1] if test_each_epoch else None
            result = EpochResult(
                epoch=epoch, epochs=cfg.epochs, train_loss=loss_sum / n, train_accuracy=correct / n,
                val_loss=val_loss, val_accuracy=val_acc, seconds=train_seconds,
                elapsed=time.perf_counter() - t_start - paused_total, test_accuracy=test_acc,
            )
            self.history.append(result)
            epochs_done = epoch
            yield result

        if self.control.abandoned:
            return
        test_loss, test_acc = evaluate(model, self.test_x, self.test_y)
        val_acc = self.history[-1].val_accuracy if self.history else None
        finished = TrainingFinished(
            status=status, reason=reason, epochs_completed=epochs_done, test_accuracy=test_acc,
            test_loss=test_loss, val_accuracy=val_acc, train_seconds=train_time,
            samples_per_second=samples_done / max(time.perf_counter() - t_start - paused_total, 1e-9),
            history=tuple(self.history),
        )
        model.metadata.update({
            "history": [h.to_dict() for h in self.history],
            "test_accuracy": test_acc,
            "val_accuracy": val_acc,
            "status": status,
            "train_seconds": train_time,
        })
        yield finished

    def _make_augmenter(self):
        from mnist_gui.augment import Augmenter  # only needed when augmentation is on

        return Augmenter(seed=self.config.seed)


def train(config: TrainingConfig, data, control: TrainingControl | None = None) -> tuple[Model, TrainingFinished]:
    """Run a whole session and return (model, final event): the simplest way to train."""
    session = TrainingSession(config, data, control)
    finished = None
    for event in session.run():
        if isinstance(event, TrainingFinished):
            finished = event
    assert finished is not None
    return session.model, finished
