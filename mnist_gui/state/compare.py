"""Runs side by side: their settings with the differences marked, and their metrics as files.

:func:`compare_rows` lines up what several records say (outcome, then every configuration setting,
then the dataset) with a flag on each row whose values differ: what the window's "Compare
configs" table shows. :func:`metrics_json` and :func:`metrics_csv` are the "export metrics" files,
:func:`write_metrics` writes one of them atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from mnist_gui.atomic import atomic_write
from mnist_gui.state.curves import RunCurves
from mnist_gui.state.library import RunRecord

MISSING = "—"
_EPOCH_COLUMNS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


@dataclass(frozen=True)
class ComparedRow:
    label: str
    values: tuple[str, ...]
    differs: bool
    section: str              # "run", "config" or "dataset"


def _show(value) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_show(v) for v in value)
    return str(value)


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def compare_rows(records: list[RunRecord]) -> list[ComparedRow]:
    """One row per fact, one value per run, ``differs`` set where the runs do not agree."""
    outcome = [("status", lambda r: r.status), ("test accuracy", lambda r: _percent(r.test_accuracy)),
               ("validation accuracy", lambda r: _percent(r.val_accuracy)),
               ("architecture", lambda r: r.architecture), ("epochs trained", lambda r: str(r.epochs)),
               ("training time", lambda r: _duration(r.duration)), ("origin", lambda r: r.origin),
               ("started", lambda r: (r.created or MISSING)[:16].replace("T", " "))]
    rows = []
    for label, get in outcome:
        values = tuple(get(r) for r in records)
        rows.append(ComparedRow(label, values, len(set(values)) > 1, "run"))
    extra: list[str] = []    # metrics added later (a pen-drawn accuracy...): shown as they come
    for r in records:
        extra += [k for k in r.metrics if k not in ("test_accuracy", "val_accuracy") and k not in extra]
    for key in extra:
        values = tuple(MISSING if r.metrics.get(key) is None else f"{r.metrics[key]:.4g}" for r in records)
        rows.append(ComparedRow(key.replace("_", " "), values, len(set(values)) > 1, "run"))
    keys: list[str] = []
    for r in records:
        keys += [k for k in (r.config or {}) if k not in keys]
    for key in keys:
        values = tuple(_show((r.config or {}).get(key)) if r.config is not None else MISSING for r in records)
        rows.append(ComparedRow(key, values, len(set(values)) > 1, "config"))
    for key in ("source", "checksum"):
        values = tuple(_show((r.dataset or {}).get(key)) for r in records)
        if key == "checksum":   # 64 hex digits: the first 12 tell datasets apart
            values = tuple(v if v == MISSING else v[:12] + "…" for v in values)
        rows.append(ComparedRow(f"dataset {key}", values, len(set(values)) > 1, "dataset"))
    return rows


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def metrics_json(runs: list[tuple[RunRecord, RunCurves | None]]) -> str:
    """A JSON list: each run's record (name, status, config, dataset, metrics...) and its epochs."""
    out = []
    for record, curves in runs:
        entry = record.summary()
        entry.pop("current", None)
        entry["epoch_history"] = [] if curves is None else curves.epochs
        out.append(entry)
    return json.dumps(_clean(out), indent=1, allow_nan=False)


def metrics_csv(runs: list[tuple[RunRecord, RunCurves | None]]) -> str:
    """Long form, one value a row: ``run_id, run_name, epoch, metric, value`` (final metrics have no
    epoch); several runs stack in one file, ready for a spreadsheet or a data frame."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run_id", "run_name", "epoch", "metric", "value"])
    for record, curves in runs:
        for key, value in record.metrics.items():
            writer.writerow([record.id, record.name, "", key, "" if value is None else repr(float(value))])
        if record.duration is not None:
            writer.writerow([record.id, record.name, "", "train_seconds", repr(record.duration)])
        for epoch in [] if curves is None else curves.epochs:
            for key in _EPOCH_COLUMNS:
                if epoch.get(key) is not None:
                    writer.writerow([record.id, record.name, epoch["epoch"], key, repr(float(epoch[key]))])
    return buffer.getvalue()


def write_metrics(path: str | os.PathLike, runs: list[tuple[RunRecord, RunCurves | None]]) -> str:
    """Write the runs' metrics to ``path``, as CSV if it ends in .csv, else JSON; returns the format."""
    fmt = "csv" if Path(path).suffix.lower() == ".csv" else "json"
    text = metrics_csv(runs) if fmt == "csv" else metrics_json(runs)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    return fmt


def series_csv(series: list[tuple[str, list[float], list[float]]], y_name: str) -> str:
    """A plot's data in long form: ``series, epoch, <y_name>``, one point a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["series", "epoch", y_name])
    for name, xs, ys in series:
        for x, y in zip(xs, ys):
            writer.writerow([name, repr(float(x)), repr(float(y))])
    return buffer.getvalue()
