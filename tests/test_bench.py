"""The benchmark's quick mode runs end to end and prints every section (timings are not asserted)."""

import json
import os
import subprocess
import sys


def test_quick_benchmark_prints_every_section(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "mnist_gui.bench", "--json", str(out)], capture_output=True,
                          text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = proc.stdout
    for label in ("reference loop", "GEMM ceiling", "engine 784-256-128-10", "fast preset", "time to 98.0%", "event-loop lateness",
                  "GUI training throughput", "draw -> prediction", "start-up", "peak RSS", "augmentation", "canvas rasterizer",
                  "4b. lateness, weights view + confusion matrix visible", "4b. GUI throughput / headless",
                  "11. inside view, one drawing update, 784-1024-1024-10", "12. opening the gallery, 10,000"):
        assert label in table, label
    r = json.loads(out.read_text())
    assert r["reference_epoch"]["seconds"] > 0 and r["reference_epoch"]["images"] == 11000 - 5000   # = an engine epoch
    assert r["gemm_gflops"] > 0 and r["engine_fast"]["samples_per_second"] > 0
    assert 0 < r["lateness_ms"]["p50"] <= r["lateness_ms"]["p99"] <= r["lateness_ms"]["max"] or \
        r["lateness_ms"]["p50"] == 0
    assert r["lateness_ms"]["ticks"] > 10
    for key in ("engine_256_128", "engine_fast"):
        share = r[key]["interleaved"]
        assert share["slices"] >= 1 and len(share["slice_fractions"]) == share["slices"]
        assert 0 < r[key]["fraction_of_gemm"] == share["engine_gflops"] / share["gemm_gflops"]
    assert len(r["gui_ratios"]) == 1 and len(r["headless_samples_per_second"]) == 2 and r["gui_throughput_ratio"] > 0
    turns = r["gui_throughput_turns"]
    assert turns["turns"] >= 1 and turns["gui_samples_per_second"] > 0 and turns["headless_samples_per_second"] > 0
    assert turns["ratio"] == turns["gui_samples_per_second"] / turns["headless_samples_per_second"]
    assert "taking turns every" in table
    assert r["draw_to_prediction_ms"]["median"] > 0 and r["startup_seconds"] > 0 and r["peak_rss_mb"] > 50
    assert 0 < r["augment_ms"]["best"] <= r["augment_ms"]["median"]
    assert r["strokes_ms"]["segment_ms"] > 0 and r["strokes_ms"]["render_ms"] > 0
    views = r["views_under_load"]
    assert views["lateness_ms"]["ticks"] > 10 and views["gui_throughput_turns"]["ratio"] > 0
    assert views["weight_tile_renders"] >= 1            # the weights view really was drawing
    assert 0 < r["inside_update_ms"]["median"] and 0 < r["inside_update_ms"]["training_median"]
    assert r["gallery_open_ms"]["images"] == 10000 and 0 < r["gallery_open_ms"]["median"] <= r["gallery_open_ms"]["max"]


def test_reference_loop_learns():
    """The loop the engine is measured against is a real training loop: its loss falls well below chance."""
    import numpy as np

    from mnist_gui.bench.reference import reference_epoch_seconds
    from mnist_gui.data import load_mnist

    data = load_mnist(None)
    x = data.train_images[:3000].astype(np.float32) / 255.0
    losses: list = []
    seconds = reference_epoch_seconds(x, data.train_labels[:3000], epochs=3, losses=losses)
    assert seconds > 0 and len(losses) == 3
    assert losses[0] < np.log(10) and losses[2] < 0.5 * losses[0]
