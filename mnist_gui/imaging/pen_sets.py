"""Real pen-drawn digits as network inputs: the writers we measure on, the ones we may train on, and
the pen-drawn accuracy of a model.

The 30 writers of the shipped pen digits are split once, by writer (never by digit):

* :data:`MEASURING_WRITERS` (6 writers, about 1,500 digits) are never trained on: every "pen-drawn"
  accuracy the app reports is measured on them. They are one of five seeded writer folds, the one
  with the two hardest writers of the 30 (28 and 20), so the figure errs low rather than high;
* the other 24 writers may be trained on (``TrainingConfig.pen_digits``): each of their digits as
  replayed on the canvas, plus :data:`VARIANTS` re-drawings in the style of pen strokes
  (:func:`stroke_variant`: rotation, slant, aspect, size, a smooth wobble, jitter, another pen and
  another canvas size), all put through the same preprocessing as a drawing.

Rendering all of that takes a minute or two, far too long for a one-click training, so the inputs
ship ready-made in ``resources/pendigits/pen-sets.npz`` together with the non-digit scribbles that
teach the "not a digit" state (:mod:`mnist_gui.imaging.scribbles`). ``python -m
mnist_gui.imaging.pen_sets`` rebuilds that file; a test re-renders a sample of it and compares.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_gui.data.pendigits import TABLET_SIZE, PenDigit, read_pendigits
from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.errors import DatasetError
from mnist_gui.imaging.preprocess import preprocess_drawing
from mnist_gui.imaging.replay import DEFAULT_PEN_PX, DEFAULT_SIDE, network_inputs
from mnist_gui.imaging.scribbles import scribble_set
from mnist_gui.imaging.strokes import Stroke, render
from mnist_gui.resources_path import resource

MEASURING_WRITERS = (6, 12, 20, 26, 28, 29)
#: Stroke-style re-drawings per training digit, besides its plain replay.
VARIANTS = 4
#: Seeds of the shipped sets (each training digit's variants are seeded by (SEED, writer, sample, k),
#: so any one of them can be re-rendered on its own).
SEED = 0
SCRIBBLE_SEED = 1000
SCRIBBLES_PER_KIND = 300
FORMAT_VERSION = 1

# Stroke-style re-drawing: ranges of the distortions (see stroke_variant).
ROTATION_DEG = 12.0
SHEAR = 0.3
ASPECT = (0.8, 1.25)
SIZE = (0.6, 1.6)              # multiplies the digit's size on the canvas (kept inside it)
PEN_PX = (8.0, 36.0)           # pen width in px on a 322 px canvas (log-uniform)
CANVAS = (200, 322, 500)
JITTER = 1.0                   # tablet units, per point
WOBBLE = 0.04                  # amplitude of a smooth displacement, fraction of the digit's size


def pen_digits_file() -> Path:
    return resource("pendigits", "pendigits-orig.tra.gz")


def sets_file() -> Path:
    return resource("pendigits", "pen-sets.npz")


@functools.lru_cache(maxsize=1)
def pen_digits() -> tuple[PenDigit, ...]:
    """Every shipped pen digit (parsed once per process)."""
    return tuple(read_pendigits(pen_digits_file()))


def stroke_variant(digit: PenDigit, rng: np.random.Generator) -> tuple[list[Stroke], float, int]:
    """A re-drawing of ``digit`` in the style of pen strokes: (strokes in unit coordinates, pen width
    in px at 322, canvas side). Distorts the trajectory, not the pixels, so a fat pen fills a small
    loop and a thin pen stays thin, as on the canvas."""
    pts = np.concatenate(digit.strokes)
    centre = (pts.min(0) + pts.max(0)) / 2
    size = max(float(np.ptp(pts, 0).max()), 1.0)
    a = np.radians(rng.uniform(-ROTATION_DEG, ROTATION_DEG))
    k = rng.uniform(-SHEAR, SHEAR)
    aspect = np.exp(rng.uniform(np.log(ASPECT[0]), np.log(ASPECT[1])))
    s = np.exp(rng.uniform(np.log(SIZE[0]), np.log(SIZE[1])))
    # y up in tablet units; the shear leans right (x += k * y)
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[1.0, k], [0.0, 1.0]])
    m = m @ np.diag([np.sqrt(aspect), 1 / np.sqrt(aspect)]) * s
    fx, fy = rng.uniform(0.5, 2.0, 2) * 2 * np.pi / size           # a smooth, low-frequency wobble
    phase = rng.uniform(0, 2 * np.pi, 4)
    amp = rng.uniform(0, WOBBLE) * size
    moved = []
    for stroke in digit.strokes:
        q = stroke - centre
        q = q + amp * np.column_stack([np.sin(q[:, 1] * fy + phase[0]), np.sin(q[:, 0] * fx + phase[1])])
        moved.append(q @ m.T + rng.normal(0, JITTER, q.shape))
    every = np.concatenate(moved)
    half, limit = np.abs(every).max(), 0.45 * TABLET_SIZE
    if half > limit:                                                # keep it on the canvas
        moved = [q * (limit / half) for q in moved]
        every = every * (limit / half)
    lo, hi = every.min(0), every.max(0)
    at = np.array([rng.uniform(0.05 * TABLET_SIZE - lo[0], 0.95 * TABLET_SIZE - hi[0]),
                   rng.uniform(0.05 * TABLET_SIZE - lo[1], 0.95 * TABLET_SIZE - hi[1])])
    pen = float(np.exp(rng.uniform(np.log(PEN_PX[0]), np.log(PEN_PX[1]))))
    side = int(rng.choice(CANVAS))
    strokes = [Stroke(pen / DEFAULT_SIDE, np.column_stack([(q[:, 0] + at[0]) / TABLET_SIZE,
                                                          1.0 - (q[:, 1] + at[1]) / TABLET_SIZE])) for q in moved]
    return strokes, pen, side


def variant_input(digit: PenDigit, k: int) -> np.ndarray:
    """The network input (784 uint8) of ``digit``'s k-th stroke-style re-drawing (seeded, repeatable)."""
    strokes, pen, side = stroke_variant(digit, np.random.default_rng([SEED, digit.writer, digit.sample, k]))
    x = preprocess_drawing(render(strokes, side), pen_width=pen / DEFAULT_SIDE * side)
    return np.zeros(PIXELS, np.uint8) if x is None else x.reshape(PIXELS)


@dataclass(frozen=True)
class PenSet:
    """Pen-drawn inputs: ``images`` (N, 784) uint8, or (V, N, 784) for V renderings of each digit,
    ``labels`` (N,), ``writers`` (N,)."""

    images: np.ndarray
    labels: np.ndarray
    writers: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def build(progress=None) -> dict[str, np.ndarray]:
    """Render every set from the strokes (a minute or two): the arrays of the shipped file."""
    digits = pen_digits()
    measuring = [d for d in digits if d.writer in MEASURING_WRITERS]
    training = [d for d in digits if d.writer not in MEASURING_WRITERS]
    train = np.zeros((1 + VARIANTS, len(training), PIXELS), np.uint8)
    train[0] = network_inputs(training)
    for i, digit in enumerate(training):
        for k in range(VARIANTS):
            train[1 + k, i] = variant_input(digit, k)
        if progress is not None and i % 500 == 0:
            progress(f"{i}/{len(training)} training digits")
    scribbles, kinds = scribble_set(SCRIBBLES_PER_KIND, SCRIBBLE_SEED, pen_px=PEN_PX, canvas=CANVAS)
    about = {"format_version": FORMAT_VERSION, "measuring_writers": list(MEASURING_WRITERS),
             "variants": VARIANTS, "seed": SEED, "scribble_seed": SCRIBBLE_SEED,
             "pen_px": DEFAULT_PEN_PX, "canvas": DEFAULT_SIDE}
    return {"measure_images": network_inputs(measuring), "measure_labels": _labels(measuring),
            "measure_writers": _writers(measuring), "train_images": train, "train_labels": _labels(training),
            "train_writers": _writers(training), "scribbles": scribbles,
            "about": np.frombuffer(json.dumps(about).encode(), np.uint8)}


def _labels(digits) -> np.ndarray:
    return np.array([d.label for d in digits], np.uint8)


def _writers(digits) -> np.ndarray:
    return np.array([d.writer for d in digits], np.uint16)


@functools.lru_cache(maxsize=1)
def _shipped() -> dict[str, np.ndarray]:
    path = sets_file()
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: the shipped pen-drawn digits cannot be read ({exc}); "
                           "rebuild them with python -m mnist_gui.imaging.pen_sets") from None
    _check(path, arrays)
    return arrays


def _check(path: Path, a: dict[str, np.ndarray]) -> None:
    try:
        about = json.loads(bytes(a["about"]).decode())
        n, m = a["measure_labels"].shape[0], a["train_labels"].shape[0]
        ok = (about.get("format_version") == FORMAT_VERSION and tuple(about["measuring_writers"]) == MEASURING_WRITERS
              and a["measure_images"].shape == (n, PIXELS) and a["train_images"].shape == (1 + VARIANTS, m, PIXELS)
              and a["scribbles"].ndim == 2 and a["scribbles"].shape[1] == PIXELS
              and all(a[k].dtype == np.uint8 for k in ("measure_images", "train_images", "scribbles"))
              and int(max(a["measure_labels"].max(), a["train_labels"].max())) < CLASSES
              and not set(a["train_writers"].tolist()) & set(MEASURING_WRITERS))
    except (KeyError, ValueError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise DatasetError(f"{path}: the shipped pen-drawn digits are not what this version expects; "
                           "rebuild them with python -m mnist_gui.imaging.pen_sets")


def measuring_set() -> PenSet:
    """The pen-drawn digits of :data:`MEASURING_WRITERS`, replayed on the canvas (never trained on)."""
    a = _shipped()
    return PenSet(a["measure_images"], a["measure_labels"].astype(np.intp), a["measure_writers"])


def training_set() -> PenSet:
    """The other writers' digits: (1 + VARIANTS, N, 784) renderings each, for training."""
    a = _shipped()
    return PenSet(a["train_images"], a["train_labels"].astype(np.intp), a["train_writers"])


def outlier_scribbles() -> np.ndarray:
    """(M, 784) non-digit scribbles that training may show with a uniform target."""
    return _shipped()["scribbles"]


def pen_drawn_report(model) -> dict:
    """How well ``model`` reads the measuring writers' pen-drawn digits: accuracy, per-digit accuracy,
    how many digits and which writers."""
    pen = measuring_set()
    predicted = model.predict(pen.images)
    right = predicted == pen.labels
    return {"pen_drawn_accuracy": float(right.mean()),
            "pen_drawn_per_digit": [float(right[pen.labels == d].mean()) for d in range(CLASSES)],
            "pen_drawn_n": int(right.size), "pen_drawn_writers": list(MEASURING_WRITERS)}


def main() -> int:
    """Rebuild ``resources/pendigits/pen-sets.npz`` (atomically)."""
    from mnist_gui.atomic import atomic_open

    arrays = build(progress=lambda text: print(text, flush=True))
    with atomic_open(sets_file(), "wb") as fh:
        np.savez_compressed(fh, **arrays)
    sizes = {name: a.shape for name, a in arrays.items() if name != "about"}
    print(f"wrote {sets_file()} ({sets_file().stat().st_size / 1e6:.1f} MB): {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
