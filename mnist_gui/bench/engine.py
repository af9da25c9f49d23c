"""Benchmark helpers that need no Qt: the GEMM ceiling, the engine's throughput, time to accuracy,
a training process's memory, and the augmentation's cost. The report (``python -m mnist_gui.bench``)
and the window half (:mod:`mnist_gui.bench.window`) both use them.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import replace

import numpy as np


def gemm_timer(n: int):
    """A function that runs one float32 ``n x n`` matrix product and returns its seconds (warmed up)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.copy()
    c = np.empty_like(a)
    np.matmul(a, b, out=c)

    def timed() -> float:
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        return time.perf_counter() - t
    return timed


def gemm_gflops(n: int, repeats: int) -> float:
    timed = gemm_timer(n)
    return 2 * n**3 / min(timed() for _ in range(repeats)) / 1e9


def engine_throughput(config, data, epochs: int = 1) -> dict:
    """Training samples/s of the real training loop, from each epoch's own time (no evaluation, no
    loading). ``steady`` is the median over the epochs after the first (which runs a little slower:
    warm-up), ``mean`` the average over all of them (what a whole run of that length gets)."""
    from mnist_gui.training import EpochResult, TrainingSession

    session = TrainingSession(replace(config, epochs=epochs), data)
    rates = [session.train_x.shape[0] / ev.seconds for ev in session.run() if isinstance(ev, EpochResult)]
    return {"first_epoch": rates[0], "steady": float(np.median(rates[1:] or rates)), "mean": float(np.mean(rates)),
            "epochs": len(rates), "epoch_rates": rates}


def engine_fraction_of_gemm(config, data, epochs: int, probe_n: int = 1536, slice_seconds: float = 0.15) -> dict:
    """The engine's GFLOP/s as a fraction of the GEMM ceiling, both measured in the same moments.

    This machine has slow spells, seconds to a minute long, most likely a neighbour on the shared
    host (the guest sees no steal time): memory-bound work and two-thread GEMMs on 128-row batches
    then run up to 2x slower, while a large GEMM keeps its speed. Measured minutes apart, the
    ceiling and the training loop can therefore disagree by 2x.
    So they are interleaved finely: the real training loop trains for ``slice_seconds``, then one
    ``probe_n`` GEMM runs while the loop is suspended (at one of its progress events), and so on.
    Only slices of whole training batches within one epoch count (not the ones holding an epoch's
    end, validation or shuffling). ``fraction`` compares the summed FLOPs over the summed time of
    each side; ``slice_fractions`` is the per-slice ratio, for its spread.
    """
    from mnist_gui.training import BatchProgress, TrainingSession

    probe = gemm_timer(probe_n)
    # Progress events every ~10 ms are the points where the loop can be suspended; a probe runs once
    # the loop has trained ``slice_seconds`` since the last one.
    session = TrainingSession(replace(config, epochs=epochs), data, progress_interval=0.01)
    batch = session.config.batch_size
    flops_per_sample = 6 * config.n_params
    eng_time = eng_flops = gemm_time = 0.0
    slice_fractions = []
    slice_time = slice_flops = 0.0
    prev = None
    events = session.run()
    while True:
        t = time.perf_counter()
        ev = next(events, None)
        seconds = time.perf_counter() - t
        if ev is None:
            break
        if not isinstance(ev, BatchProgress):
            prev = None
            continue
        if prev is not None and prev.epoch == ev.epoch and ev.batch < ev.batches:
            slice_time += seconds
            slice_flops += (ev.step - prev.step) * batch * flops_per_sample
        prev = ev
        if slice_time >= slice_seconds or (ev.step == ev.total_steps and slice_time > 0):
            probe_seconds = probe()
            eng_time += slice_time
            eng_flops += slice_flops
            gemm_time += probe_seconds
            slice_fractions.append((slice_flops / slice_time) / (2 * probe_n**3 / probe_seconds))
            slice_time = slice_flops = 0.0
    n_slices = len(slice_fractions)
    gemm_gflops = 2 * probe_n**3 * n_slices / gemm_time / 1e9
    engine_gflops = eng_flops / eng_time / 1e9
    return {"fraction": engine_gflops / gemm_gflops, "engine_gflops": engine_gflops, "gemm_gflops": gemm_gflops,
            "samples_per_second": eng_flops / flops_per_sample / eng_time, "slices": n_slices,
            "slice_fractions": slice_fractions}


def time_to_accuracy(config, target: float, data_path=None) -> tuple[float | None, int, float]:
    """Seconds from start (loading included) until test accuracy >= target; (seconds, epoch, final acc)."""
    from mnist_gui.data import load_mnist
    from mnist_gui.training import EpochResult, TrainingSession

    t0 = time.perf_counter()
    data = load_mnist(data_path)
    session = TrainingSession(config, data)
    last = 0.0
    for ev in session.run(test_each_epoch=True):
        if isinstance(ev, EpochResult):
            last = ev.test_accuracy
            if ev.test_accuracy >= target:
                return time.perf_counter() - t0, ev.epoch, ev.test_accuracy
    return None, config.epochs, last


def peak_rss_of_training(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of ``mnist-gui train ARGS`` in a fresh process (which records its
    run in a temporary library, not the user's): :func:`mnist_gui.bench.memory.child_peak_mb`, the
    process's own high-water mark (a full run used to print 479 MB for a 215 MB training)."""
    from mnist_gui.bench.memory import child_peak_mb

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as library:
        peak = child_peak_mb(args, dict(os.environ, MNIST_GUI_DATA_DIR=library))
    return peak, time.perf_counter() - t


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}")


def augment_batch_ms(batch_size: int = 128, repeats: int = 300) -> dict:
    """Time :meth:`Augmenter.apply` on one batch with the default settings: median and best, in ms."""
    from mnist_gui.digits import PIXELS
    from mnist_gui.imaging.augment import Augmenter

    rng = np.random.default_rng(0)
    batch = (rng.random((batch_size, PIXELS)) < 0.2).astype(np.uint8) * 255
    out = np.empty_like(batch)
    aug = Augmenter()
    aug.apply(batch, rng, out)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        aug.apply(batch, rng, out)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {"median": float(np.median(ms)), "best": float(ms.min())}


def stroke_timings(side: int = 400, repeats: int = 10) -> dict:
    """The canvas rasterizer (:mod:`mnist_gui.imaging.strokes`), in ms: the median time of one new
    segment of a 22 px pen on a ``side`` px canvas (what each mouse move costs), and the best time of a
    whole re-render of 30 strokes of 30 points (undo, resize)."""
    from mnist_gui.imaging.strokes import Stroke, draw_segment, render

    rng = np.random.default_rng(0)
    img = np.zeros((side, side), np.uint8)
    points = [rng.uniform(0.2, 0.8, 2)]
    for _ in range(400):
        points.append(np.clip(points[-1] + rng.normal(0, 0.012, 2), 0, 1))
    segment = []
    for a, b in zip(points[:-1], points[1:]):
        t = time.perf_counter()
        draw_segment(img, a, b, 22 / side)
        segment.append(time.perf_counter() - t)
    drawing = [Stroke(22 / side, np.clip(rng.uniform(0.1, 0.9, 2) + np.cumsum(rng.normal(0, 0.02, (30, 2)), 0), 0, 1))
               for _ in range(30)]
    full = []
    for _ in range(repeats):
        t = time.perf_counter()
        render(drawing, side, img)
        full.append(time.perf_counter() - t)
    return {"segment_ms": float(np.median(segment) * 1e3), "render_ms": float(min(full) * 1e3)}

