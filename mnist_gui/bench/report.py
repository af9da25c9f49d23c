"""Benchmark: ``python -m mnist_gui.bench`` (quick, for CI) or ``--full`` (the README's numbers).

Everything is measured in one run on this machine and printed as one table, so figures can be
compared as ratios without trusting absolute timings from another day:

1. machine: float32 GEMM GFLOP/s of a large matrix product (the ceiling);
2. engine: training samples/s for 784-256-128-10 (batch 128, Adam) and for the ``fast`` preset, and
   the fraction of the ceiling that is, counting 6 x parameters FLOPs per sample;
   and against the reference loop (:mod:`mnist_gui.bench.reference`, a hand-written NumPy loop, same shape);
3. time to accuracy: wall time from "start training" (data loading included) until the test
   accuracy first reaches 98.0% with the ``fast`` preset, and 99.0% with the ``minute`` preset, also as
   a multiple of one reference-loop epoch measured in the same run (a figure that carries across machines);
4. window under load: event-loop lateness of a ~5 ms timer while the main window trains, and the
   training throughput inside the GUI relative to headless (the two taking turns every 0.25 s);
5. drawing: mouse move on the canvas -> updated prediction (preprocessing + forward pass);
6. start-up: process start -> main window shown and painted;
7. memory: peak RSS of a whole ``fast`` training run in a fresh process;
8. augmentation: one batch of 128 distorted (what ``--augment`` adds to every step);
9. canvas rasterizer: one new segment (each mouse move), and a whole drawing re-rendered;
10. library: listing 500 runs, cold and warm, and filling the Models panel (:mod:`mnist_gui.bench.library`);
4b. section 4 with the weights view and the confusion matrix visible;
11. the inside view: one drawing update for ``best``'s 784-1024-1024-10 network;
12. opening the gallery of the 10,000 test images.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from mnist_gui.bench.engine import (augment_batch_ms, engine_fraction_of_gemm, engine_throughput, gemm_gflops,
                                    machine_description, peak_rss_of_training, stroke_timings, time_to_accuracy)


def run(full: bool, include_gui: bool = True) -> dict:
    from mnist_gui.data import load_mnist
    from mnist_gui.training.presets import get_preset
    from mnist_gui.training import TrainingConfig

    results: dict = {"machine": machine_description(), "mode": "full" if full else "quick"}
    results["gemm_gflops"] = gemm_gflops(2048 if full else 1024, 10 if full else 3)

    data = load_mnist(None)
    if not full:  # a quick proof that every section runs, on a tenth of the data
        data = data.subset(11000, 2000)
    ref = TrainingConfig(hidden=(256, 128), optimizer="adam", batch_size=128, lr=1e-3)
    fast = get_preset("fast").config

    # The fast preset runs its whole schedule (5 epochs), the same run the window measurement makes.
    from mnist_gui.bench.reference import reference_epoch_seconds

    n_ref = data.train_images.shape[0] - ref.val_size   # an epoch of the engine: what validation leaves
    ref_images = data.train_images[:n_ref].astype(np.float32) / 255.0
    ref_epoch = reference_epoch_seconds(ref_images, data.train_labels[:n_ref], epochs=3 if full else 1)
    results["reference_epoch"] = {"seconds": ref_epoch, "images": n_ref, "samples_per_second": n_ref / ref_epoch}
    for key, cfg, epochs in (("engine_256_128", ref, 4 if full else 1), ("engine_fast", fast, fast.epochs if full else 1)):
        r = engine_throughput(cfg, data, epochs=epochs)
        share = engine_fraction_of_gemm(cfg, data, epochs=8 if full else 2, slice_seconds=0.15 if full else 0.05)
        results[key] = {**r, "samples_per_second": r["steady"], "gflops": r["steady"] * 6 * cfg.n_params / 1e9,
                        "fraction_of_gemm": share["fraction"], "interleaved": share}

    if full:
        secs, epoch, acc = time_to_accuracy(fast, 0.98)
        results["time_to_98"] = {"seconds": secs, "epoch": epoch, "test_accuracy": acc}
        secs, epoch, acc = time_to_accuracy(get_preset("minute").config, 0.99)
        results["time_to_99"] = {"seconds": secs, "epoch": epoch, "test_accuracy": acc,
                                 "reference_epochs": secs / ref_epoch if secs else None}
        rss, wall = peak_rss_of_training(["--preset", "fast"])
    else:
        rss, wall = peak_rss_of_training(["--preset", "fast", "--epochs", "1", "--limit", "5000"])
    results["peak_rss_mb"] = rss
    results["train_process_seconds"] = wall
    results["augment_ms"] = augment_batch_ms(repeats=300 if full else 30)
    results["strokes_ms"] = stroke_timings(repeats=10 if full else 3)
    from mnist_gui.bench.library import measure

    results["library"] = measure(500 if full else 50, repeats=5 if full else 1)

    if include_gui:
        from mnist_gui.bench.window import gui_measurements

        results.update(gui_measurements(full=full, data=data))
    return results


def format_table(r: dict) -> str:
    rows = [("machine", r["machine"], ""), ("mode", r["mode"], ""),
            ("1. GEMM ceiling (float32)", f"{r['gemm_gflops']:.0f} GFLOP/s (best product at the start); "
             f"{r['engine_256_128']['interleaved']['gemm_gflops']:.0f} interleaved with training", "")]
    ref = r["reference_epoch"]
    ratio = r["engine_256_128"]["samples_per_second"] / ref["samples_per_second"]
    rows.append(("2. reference loop (hand-written NumPy), same shape", f"{ref['samples_per_second']:,.0f} samples/s, "
                 f"one epoch of {ref['images']:,} images {ref['seconds']:.2f} s",
                 f"engine / reference {ratio:.2f}x (target >= 1.0x)"))
    for key, label in (("engine_256_128", "2. engine 784-256-128-10, batch 128, Adam"),
                       ("engine_fast", "2. engine, fast preset")):
        e = r[key]
        i = e["interleaved"]
        q10, q50, q90 = np.percentile(i["slice_fractions"], [10, 50, 90])
        rows.append((label, f"{e['samples_per_second']:,.0f} samples/s steady (first epoch {e['first_epoch']:,.0f})",
                     f"{e['fraction_of_gemm']:.0%} of GEMM, interleaved: {i['engine_gflops']:.0f} vs "
                     f"{i['gemm_gflops']:.0f} GFLOP/s over {i['slices']} slices (per slice p10/p50/p90 "
                     f"{q10:.0%}/{q50:.0%}/{q90:.0%}; target >= 60%)"))
    if "time_to_98" in r:
        t = r["time_to_98"]
        val = f"{t['seconds']:.1f} s (epoch {t['epoch']}, test {t['test_accuracy']:.4f})" if t["seconds"] else \
            f"not reached (best {t['test_accuracy']:.4f})"
        rows.append(("3. time to 98.0% test accuracy, fast", val, "target <= 10 s"))
        t = r["time_to_99"]
        val = f"{t['seconds']:.1f} s = {t['reference_epochs']:.0f} reference epochs (epoch {t['epoch']}, test " \
              f"{t['test_accuracy']:.4f})" if t["seconds"] else f"not reached (best {t['test_accuracy']:.4f})"
        rows.append(("3. time to 99.0% test accuracy, minute", val, "target <= 60 s"))
    else:
        rows.append(("3. time to 98.0% test accuracy", "skipped in quick mode", "run --full"))
    if "lateness_ms" in r:
        lat = r["lateness_ms"]
        rows.append(("4. event-loop lateness while training", f"p50 {lat['p50']:.1f} / p99 {lat['p99']:.1f} / "
                     f"max {lat['max']:.1f} ms ({lat['ticks']:,} ticks; max per round "
                     f"{', '.join(f'{x:.0f}' for x in lat['max_per_round'])})", "target p99 <= 20, max <= 50"))
        t = r["gui_throughput_turns"]
        rows.append(("4. GUI training throughput / headless", f"{t['ratio']:.2f}x taking turns every "
                     f"{t['turn_seconds']:g} s ({t['gui_samples_per_second']:,.0f} vs "
                     f"{t['headless_samples_per_second']:,.0f} samples/s, {t['turns']} turns); whole runs: "
                     f"{r['gui_throughput_ratio']:.2f}x median of {len(r['gui_ratios'])} "
                     f"({', '.join(f'{x:.2f}' for x in r['gui_ratios'])})", "target >= 0.9x"))
    if "views_under_load" in r:
        v = r["views_under_load"]
        lat, t = v["lateness_ms"], v["gui_throughput_turns"]
        rows.append(("4b. lateness, weights view + confusion matrix visible",
                     f"p50 {lat['p50']:.1f} / p99 {lat['p99']:.1f} / max {lat['max']:.1f} ms ({lat['ticks']:,} ticks; "
                     f"max per round {', '.join(f'{x:.0f}' for x in lat['max_per_round'])}; "
                     f"{v['weight_tile_renders']} tile renders)", "target p99 <= 20, max <= 50"))
        rows.append(("4b. GUI throughput / headless, the same views visible",
                     f"{t['ratio']:.2f}x taking turns every {t['turn_seconds']:g} s ({t['gui_samples_per_second']:,.0f} vs "
                     f"{t['headless_samples_per_second']:,.0f} samples/s, {t['turns']} turns); whole runs: "
                     f"{v['gui_throughput_ratio']:.2f}x median of {len(v['gui_ratios'])}", "target >= 0.9x"))
    if "draw_to_prediction_ms" in r:
        d = r["draw_to_prediction_ms"]
        e2e = f"; mouse move -> signal {d['end_to_end_median']:.1f} ms" if "end_to_end_median" in d else ""
        rows.append(("5. draw -> prediction (preprocess+forward+chart)",
                     f"median {d['median']:.2f} ms, p99 {d['p99']:.2f} ms{e2e}", "target <= 5 ms"))
    if "startup_seconds" in r:
        rows.append(("6. start-up to painted window", f"{r['startup_seconds']:.2f} s", "target <= 2 s"))
    rows.append(("7. peak RSS, whole training process", f"{r['peak_rss_mb']:.0f} MB", "target <= 350 MB"))
    rows.append(("8. augmentation, one batch of 128", f"median {r['augment_ms']['median']:.2f} ms, "
                 f"best {r['augment_ms']['best']:.2f} ms", ""))
    rows.append(("9. canvas rasterizer, 400 px, 22 px pen", f"one segment {r['strokes_ms']['segment_ms']:.3f} ms "
                 f"(median), 30 strokes re-rendered {r['strokes_ms']['render_ms']:.1f} ms", ""))
    if "library" in r:
        from mnist_gui.bench.library import describe

        rows.append(("10. library: list the runs", describe(r["library"]), "target < 1 s for 500"))
    if "inside_update_ms" in r:
        i = r["inside_update_ms"]
        rows.append((f"11. inside view, one drawing update, {i['network']}",
                     f"median {i['median']:.2f} ms, p99 {i['p99']:.2f} ms; while a training thread runs: median "
                     f"{i['training_median']:.2f} ms, p99 {i['training_p99']:.2f} ms", "target <= 5 ms"))
    if "gallery_open_ms" in r:
        g = r["gallery_open_ms"]
        rows.append((f"12. opening the gallery, {g['images']:,} test images",
                     f"median {g['median']:.1f} ms, max {g['max']:.1f} ms (evaluation ready); first opening "
                     f"with the evaluation computed in the worker: {g['first_with_evaluation']:.0f} ms",
                     "target <= 100 ms"))
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    return "\n".join(f"| {a:<{w0}} | {b:<{w1}} | {c} |" for a, b, c in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_gui.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the real measurements (a few minutes)")
    parser.add_argument("--no-gui", action="store_true", help="skip the window measurements (4-6, 4b, 11, 12)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = run(full=args.full, include_gui=not args.no_gui)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
