"""The library of runs: every trained (or imported) model with its record and curves, in the user's data folder.

Layout of a library folder (by default :func:`~mnist_gui.state.datadir.data_dir`)::

    runs/<id>/model.npz      the model (written first)
    runs/<id>/curves.json    per-batch and per-epoch curves (second; read only when they are shown)
    runs/<id>/record.json    name, dates, status, config, dataset, metrics... (last)
    current.json             which run is the current model, shared by the window and the command line
    trash/<id>.<time>.<hex>  deleted runs, until the deleting window ends (undo) or a day has passed

Why it is safe:

* **Every write is atomic** (:mod:`mnist_gui.atomic`), and a run's record is written last, so a run
  interrupted while it is written (killed, crashed, full disk) has no record; listing skips such a
  folder and removes it once it is an hour old (younger, another program may still be writing it).
  A failed write removes what it had written: the library is left as it was.
* **Ids cannot collide**: an id is the local time plus a random suffix, reserved by an exclusive
  ``mkdir``, so two windows, or the command line beside a window, never write the same folder.
  Renaming or deleting touches only that run's record or folder; there is no shared index to corrupt.
* **One bad file costs one run**: a record that is not valid JSON, or not what a record holds, is
  skipped with one warning (logged once; :attr:`RunLibrary.new_warnings` for a window's status bar).
* **Listing is cheap**: only the small records are read (never a model or curves file), and records
  whose file has not changed since the last listing are not parsed again.

The shipped model (``resources/pretrained.npz``) is always listed, with the id ``shipped``: it is
read-only (it cannot be renamed or deleted; the library never writes anything about it, so no damage
to the library folder can hide it). Its record is built from the model file's metadata entry alone.

Records keep keys they do not know (a newer version's, or another issue's metrics) when they are
rewritten, and ``metrics`` is an open dictionary: new metrics need no change here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from mnist_gui.atomic import atomic_write
from mnist_gui.files import open_regular
from mnist_gui.errors import LibraryError, ModelFileError, display_name
from mnist_gui.model import Model
from mnist_gui.model.file import load_model, read_metadata, save_model
from mnist_gui.resources_path import resource
from mnist_gui.state.curves import CurvesError, RunCurves

log = logging.getLogger("mnist_gui.library")

SHIPPED_ID = "shipped"
RUNS, TRASH, CURRENT = "runs", "trash", "current.json"
RECORD, MODEL, CURVES = "record.json", "model.npz", "curves.json"
STATUSES = ("completed", "stopped", "diverged", "unknown")
ORIGINS = ("trained", "continued", "imported", "shipped", "fine-tuned")
RECORD_FORMAT = 1
#: A run folder without a record older than this was abandoned by a killed writer: it is removed.
STALE_SECONDS = 3600
#: Deleted runs left in the trash by a window that did not end cleanly are removed after this.
TRASH_SECONDS = 24 * 3600
MAX_RECORD_BYTES = 1024 * 1024
MODEL_CACHE = 4
MAX_NAME = 200
_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
_TRASH = re.compile(r"^(\d{8}-\d{6}-[0-9a-f]{6})\.(\d+)\.[0-9a-f]+$")


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _timestamp(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except (TypeError, ValueError):
        return None


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _jsonable(value):
    """Non-finite floats (not valid JSON) become None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def short_architecture(architecture: str) -> str:
    """'784-256-128-10 relu' -> '256-128 relu' (every MNIST model takes 784 and gives 10)."""
    sizes, _, activation = architecture.partition(" ")
    parts = sizes.split("-")
    hidden = "-".join(parts[1:-1]) if len(parts) > 2 else "linear"
    return f"{hidden} {activation}".strip()


@dataclass(frozen=True)
class RunRecord:
    """What the library knows about one run without opening its model or curves."""

    id: str
    name: str
    created: str | None          # ISO 8601 with the UTC offset: when the run started (or was imported)
    finished: str | None         # when it ended
    duration: float | None       # seconds of training (pauses excluded)
    status: str                  # completed | stopped | diverged | unknown (an imported file that does not say)
    reason: str                  # how it ended, in a sentence
    origin: str                  # trained | continued | imported | shipped | fine-tuned
    config: dict | None
    dataset: dict | None         # {"source": ..., "checksum": ...}
    architecture: str            # "784-256-128-10 relu"
    epochs: int                  # epochs the model has been trained, a continued run's parents' included
    metrics: dict                # open: test_accuracy, val_accuracy, test_loss, ... (numbers or None)
    parent: str | None           # the run a continued run started from
    model_sha256: str | None
    model_path: Path
    folder: Path | None          # the run's folder (None: the shipped model)
    raw: dict                    # the record as read, unknown keys included (kept when it is rewritten)

    @property
    def readonly(self) -> bool:
        return self.id == SHIPPED_ID

    @property
    def test_accuracy(self) -> float | None:
        return _finite(self.metrics.get("test_accuracy"))

    @property
    def val_accuracy(self) -> float | None:
        return _finite(self.metrics.get("val_accuracy"))

    @property
    def created_timestamp(self) -> float | None:
        return _timestamp(self.created)

    def summary(self, current: bool = False) -> dict:
        """The record as plain JSON-able data: what ``mnist-gui runs --json`` prints and
        ``MainWindow.models()`` returns (``id``, ``name``, ``test_accuracy``, ``status``, ``current``...)."""
        return {"id": self.id, "name": self.name, "test_accuracy": self.test_accuracy, "status": self.status,
                "current": current, "val_accuracy": self.val_accuracy, "architecture": self.architecture,
                "created": self.created, "finished": self.finished, "duration": self.duration,
                "epochs": self.epochs, "origin": self.origin, "parent": self.parent, "readonly": self.readonly,
                "metrics": dict(self.metrics), "config": self.config, "dataset": self.dataset,
                "model_path": str(self.model_path), "folder": None if self.folder is None else str(self.folder)}


def _parse_record(folder: Path, raw) -> RunRecord:
    """A record from its parsed JSON; ValueError says what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if raw.get("format") != RECORD_FORMAT:
        raise ValueError(f"unknown record format {raw.get('format')!r}")
    if raw.get("id") != folder.name:
        raise ValueError(f"its id {raw.get('id')!r} is not its folder's name")

    def text(key: str, optional: bool = False) -> str | None:
        value = raw.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{key} is not text")
        return value

    def mapping(key: str) -> dict | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{key} is not an object")
        return value

    status, origin = text("status"), text("origin")
    if status not in STATUSES or origin not in ORIGINS:
        raise ValueError(f"unknown status {status!r} or origin {origin!r}")
    metrics = mapping("metrics") or {}
    for key, value in metrics.items():
        if value is not None and _finite(value) is None:
            raise ValueError(f"metric {key} is not a number")
    for key in ("test_accuracy", "val_accuracy", "pen_drawn_accuracy"):
        if metrics.get(key) is not None and not 0.0 <= metrics[key] <= 1.0:
            raise ValueError(f"{key} {metrics[key]!r} is not between 0 and 1")
    epochs = raw.get("epochs", 0)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError("epochs is not a count")
    parent = text("parent", optional=True)
    if parent is not None and parent != SHIPPED_ID and not _ID.match(parent):
        raise ValueError("parent is not a run id")
    duration = raw.get("duration")
    if duration is not None and _finite(duration) is None:
        raise ValueError("duration is not a number")
    return RunRecord(id=folder.name, name=text("name")[:MAX_NAME], created=text("created", True),
                     finished=text("finished", True), duration=_finite(duration), status=status,
                     reason=text("reason", True) or "", origin=origin, config=mapping("config"),
                     dataset=mapping("dataset"), architecture=text("architecture"), epochs=epochs,
                     metrics=dict(metrics), parent=parent, model_sha256=text("model_sha256", True),
                     model_path=folder / MODEL, folder=folder, raw=raw)


def default_name(config: dict | None, created: str | None, parent: RunRecord | None = None, epochs: int = 0) -> str:
    """'fast · 22 Nov 15:30' for a run, '<parent's name> +3 epochs' for a continued one."""
    if parent is not None:
        return f"{parent.name} +{epochs} epoch{'s' if epochs != 1 else ''}"[:MAX_NAME]
    base = (config or {}).get("preset") or "custom"
    try:
        when = datetime.fromisoformat(created).strftime("%d %b %H:%M") if created else ""
    except ValueError:
        when = ""
    return f"{base} · {when}" if when else str(base)


class RunLibrary:
    """A library folder (see the module docstring). Cheap to create; nothing is read until asked.

    One instance per thread: the job that records a run makes its own, so no state is shared.
    """

    def __init__(self, folder: str | os.PathLike, shipped: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder)
        self.runs_dir = self.folder / RUNS
        self.trash_dir = self.folder / TRASH
        self.shipped_path = Path(shipped) if shipped is not None else resource("pretrained.npz")
        self.warnings: list[str] = []       # every problem of the last listing
        self.new_warnings: list[str] = []   # problems the last listing (or curves read) found for the first time
        self._cache: dict[str, tuple[tuple, RunRecord | None, str | None]] = {}
        self._warned: set[tuple] = set()
        self._shipped: tuple[tuple, RunRecord | None] | None = None
        self._shipped_sha: tuple[tuple, str] | None = None
        self._models: dict[str, tuple[tuple, Model]] = {}   # least recently used first

    # -- listing ------------------------------------------------------------------------------
    def records(self) -> list[RunRecord]:
        """Every readable run: the shipped model first, then the runs by id (that is, by starting time)."""
        self.warnings, self.new_warnings = [], []
        found = [r for r in (self._shipped_record(),) if r is not None]
        try:
            entries = sorted(os.scandir(self.runs_dir), key=lambda e: e.name)
        except FileNotFoundError:
            entries = []
        except OSError as exc:
            self._warn(("runs",), f"{self.runs_dir}: cannot list the runs: {exc.strerror or exc}")
            entries = []
        now = time.time()
        seen = set()
        for entry in entries:
            if not _ID.match(entry.name):
                continue   # not a run: someone else's file, or a temporary one
            seen.add(entry.name)
            record = self._read_record(entry.path, now)
            if record is not None:
                found.append(record)
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        self._empty_old_trash(now)
        return found

    def _read_record(self, folder_path: str, now: float) -> RunRecord | None:
        # Plain strings until a record has to be parsed: 500 unchanged runs cost only their stat calls.
        path, name = os.path.join(folder_path, RECORD), os.path.basename(folder_path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._remove_if_abandoned(Path(folder_path), now)
            return None
        except OSError as exc:
            self._warn((name, "stat"), f"{path}: cannot read: {exc.strerror or exc}; run skipped")
            return None
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._cache.get(name)
        if cached is not None and cached[0] == signature:
            record, problem = cached[1], cached[2]
        else:
            folder = Path(folder_path)
            record, problem = None, None
            try:
                if st.st_size > MAX_RECORD_BYTES:
                    raise ValueError(f"{st.st_size:,} bytes, far more than a record holds")
                with open_regular(path) as fh:
                    record = _parse_record(folder, json.loads(fh.read(MAX_RECORD_BYTES + 1).decode("utf-8")))
                if not record.model_path.is_file():
                    raise ValueError(f"its model file {MODEL} is missing")
            except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
                record = None
                problem = (f"{path}: unreadable run record ({exc.strerror or exc})" if isinstance(exc, OSError)
                           else f"{path}: damaged run record ({exc}); this run is skipped")
            self._cache[name] = (signature, record, problem)
        if problem is not None:
            self._warn((name, signature), problem)
        return record

    def _warn(self, key: tuple, message: str) -> None:
        self.warnings.append(message)
        if key not in self._warned:
            self._warned.add(key)
            self.new_warnings.append(message)
            log.warning(message)

    def _remove_if_abandoned(self, folder: Path, now: float) -> None:
        """A run folder without a record: being written right now, or left by a writer that was killed."""
        with contextlib.suppress(OSError):
            if now - folder.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(folder)
                log.info("removed %s: a run that was never completely written", folder)

    def _empty_old_trash(self, now: float) -> None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.trash_dir):
                match = _TRASH.match(entry.name)
                if match and now - int(match.group(2)) > TRASH_SECONDS:
                    shutil.rmtree(entry.path, ignore_errors=True)

    def _shipped_record(self) -> RunRecord | None:
        path = self.shipped_path
        try:
            st = path.stat()
        except OSError:
            return None
        signature = (st.st_mtime_ns, st.st_size)
        if self._shipped is None or self._shipped[0] != signature:
            try:
                meta = read_metadata(path)
            except ModelFileError as exc:
                self._warn(("shipped", signature), f"the shipped model cannot be listed: {exc}")
                self._shipped = (signature, None)
                return None
            self._shipped = (signature, self._record_from_metadata(meta, SHIPPED_ID, "Shipped model", "shipped",
                                                                   path, None))
        return self._shipped[1]

    @staticmethod
    def _record_from_metadata(meta: dict, run_id: str, name: str, origin: str, model_path: Path,
                              folder: Path | None, sha: str | None = None, created: str | None = None) -> RunRecord:
        """A record for a model file we did not train here (the shipped one, an imported one)."""
        sizes = meta.get("architecture")
        activation = meta.get("activation") if isinstance(meta.get("activation"), str) else "relu"
        architecture = ("-".join(str(s) for s in sizes) if isinstance(sizes, list) else "?") + f" {activation}"
        status = meta.get("status") if meta.get("status") in STATUSES else "unknown"
        history = meta.get("history") if isinstance(meta.get("history"), list) else []
        config = meta.get("config") if isinstance(meta.get("config"), dict) else None
        dataset = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else None
        metrics = {k: _finite(meta.get(k)) for k in ("test_accuracy", "val_accuracy")}
        if _finite(meta.get("pen_drawn_accuracy")) is not None:   # measured on real pen-drawn digits
            metrics["pen_drawn_accuracy"] = _finite(meta.get("pen_drawn_accuracy"))
        raw = {"format": RECORD_FORMAT, "id": run_id, "name": name, "created": created, "finished": None,
               "duration": _finite(meta.get("train_seconds")), "status": status,
               "reason": "" if status == "unknown" else f"{status} (from the model file)", "origin": origin,
               "config": config, "dataset": dataset, "architecture": architecture, "epochs": len(history),
               "metrics": metrics, "parent": None, "model_sha256": sha}
        return RunRecord(id=run_id, name=name, created=created, finished=None, duration=raw["duration"],
                         status=status, reason=raw["reason"], origin=origin, config=config, dataset=dataset,
                         architecture=architecture, epochs=len(history), metrics=metrics, parent=None,
                         model_sha256=sha, model_path=model_path, folder=folder, raw=raw)

    def find(self, run_id: str) -> RunRecord | None:
        """The record of ``run_id``, or None if there is no such (readable) run."""
        if run_id == SHIPPED_ID:
            return self._shipped_record()
        if not isinstance(run_id, str) or not _ID.match(run_id):
            return None
        folder = self.runs_dir / run_id
        return self._read_record(str(folder), time.time()) if folder.is_dir() else None

    def get(self, run_id: str) -> RunRecord:
        record = self.find(run_id)
        if record is None:
            raise LibraryError(f"no run {run_id!r} in the library ({self.folder})")
        return record

    def resolve(self, text: str) -> RunRecord | None:
        """A run named by its id, a unique prefix of its id, or its exact name (for the command line)."""
        records = self.records()
        for test in (lambda r: r.id == text, lambda r: r.id.startswith(text) and len(text) >= 6,
                     lambda r: r.name == text):
            hits = [r for r in records if test(r)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise LibraryError(f"{text!r} names {len(hits)} runs; use the id ({', '.join(r.id for r in hits)})")
        return None

    # -- what a run holds ---------------------------------------------------------------------
    def load_model(self, run_id: str) -> Model:
        """The run's model, fully checked (:class:`ModelFileError` if its file is damaged). The last
        :data:`MODEL_CACHE` models loaded are kept (while their file is unchanged), so going back and
        forth between runs does not read them again; callers that change a model use a copy."""
        record = self.get(run_id)
        try:
            st = record.model_path.stat()
        except OSError as exc:
            raise ModelFileError(f"{record.model_path}: cannot read: {exc.strerror or exc}") from exc
        key = (str(record.model_path), st.st_mtime_ns, st.st_size)
        cached = self._models.pop(run_id, None)
        model = cached[1] if cached is not None and cached[0] == key else load_model(record.model_path)
        self._models[run_id] = (key, model)
        while len(self._models) > MODEL_CACHE:
            self._models.pop(next(iter(self._models)))
        return model

    def curves(self, run_id: str) -> RunCurves | None:
        """The run's curves, read now (None if it has none, or they are damaged: then a warning)."""
        self.new_warnings = []
        record = self.get(run_id)
        if record.folder is None:   # the shipped model: the epochs its file remembers
            try:
                meta = read_metadata(record.model_path)
            except ModelFileError:
                return None
            return RunCurves.from_history(meta.get("history"), record.test_accuracy)
        path = record.folder / CURVES
        try:
            with open_regular(path) as fh:
                return RunCurves.from_json(json.loads(fh.read().decode("utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError, RecursionError, CurvesError) as exc:
            self.new_warnings = [f"{path}: damaged curves ({exc}); shown without them"]
            log.warning(self.new_warnings[0])
            return None

    # -- the current model ----------------------------------------------------------------------
    def current_id(self) -> str | None:
        """The current model's id as remembered (None if nothing is, or what is has gone)."""
        try:
            with open_regular(self.folder / CURRENT) as fh:
                run_id = json.loads(fh.read(4096).decode("utf-8")).get("id")
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            return None
        return run_id if isinstance(run_id, str) and self.find(run_id) is not None else None

    def current(self) -> RunRecord | None:
        """The current model: the remembered one, else the shipped one (None if neither exists)."""
        run_id = self.current_id()
        return self.find(run_id) if run_id is not None else self._shipped_record()

    def set_current(self, run_id: str) -> None:
        self.get(run_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"id": run_id, "since": _now_iso()})
        self._write(self.folder / CURRENT, lambda fh: fh.write(text), "w", "remember the current model")

    # -- adding runs ----------------------------------------------------------------------------
    def add_training_run(self, model: Model, result, config, dataset: dict | None, curves: RunCurves | None,
                         created: str, parent: RunRecord | None = None, name: str | None = None,
                         fine_tune: dict | None = None) -> RunRecord:
        """Record a finished training (``result``: its :class:`~mnist_gui.training.TrainingFinished`)
        with its model and curves. :class:`LibraryError` if it cannot be written (nothing is left).

        ``fine_tune``: the run is a fine-tune of ``parent`` on the user's digits (origin ``fine-tuned``),
        and these are its figures (:func:`~mnist_gui.training.finetune.fine_tune`'s metrics): the numbers
        among them join the record's metrics (``my_digits_accuracy``, ``test_accuracy_before``...); it
        adds no epochs of training."""
        config_dict = config.to_dict() if hasattr(config, "to_dict") else config
        epochs = (parent.epochs if parent is not None else 0) + (0 if fine_tune is not None
                                                                 else result.epochs_completed)
        if fine_tune is not None:
            origin = "fine-tuned"
            n = fine_tune.get("n_digits")
            default = f"{parent.name if parent is not None else 'model'} + my {n} digits"[:MAX_NAME]
        else:
            origin = "continued" if parent is not None else "trained"
            default = default_name(config_dict, created, parent, result.epochs_completed)
        extra = {k: _finite(v) for k, v in (fine_tune or {}).items()
                 if k not in ("status", "seconds") and _finite(v) is not None}
        fields = {"name": name or default,
                  "created": created, "finished": _now_iso(), "duration": _finite(result.train_seconds),
                  "status": result.status if result.status in STATUSES else "unknown", "reason": result.reason,
                  "origin": origin, "config": config_dict,
                  "dataset": dataset, "architecture": model.describe(), "epochs": epochs,
                  "metrics": {**extra, "test_accuracy": _finite(result.test_accuracy),
                              # a fine-tune has no validation images (its held-out digits: my_digits_accuracy)
                              "val_accuracy": None if fine_tune is not None else _finite(result.val_accuracy),
                              "test_loss": _finite(result.test_loss),
                              **({} if _finite(result.pen_drawn_accuracy) is None
                                 else {"pen_drawn_accuracy": _finite(result.pen_drawn_accuracy)})},
                  "parent": None if parent is None else parent.id}
        if fine_tune is not None:
            fields["fine_tune"] = _jsonable({k: v for k, v in fine_tune.items()
                                             if k in ("before", "after", "my_digits_measured", "n_digits",
                                                      "n_held_out", "steps", "seconds")})
        return self._add(fields, lambda path: save_model(model, path), curves)

    def import_model(self, path: str | os.PathLike, name: str | None = None) -> tuple[RunRecord, bool]:
        """Bring a model file into the library: (its record, whether it was new). A file identical to
        a run already there (same bytes) gives that run. :class:`ModelFileError` if it is not a
        usable model, :class:`LibraryError` if it cannot be written."""
        source = Path(path)
        model = load_model(source)    # checks everything before anything is written
        sha = file_sha256(source)
        for record in self.records():
            if self._sha_of(record) == sha:
                return record, False
        meta = model.metadata
        created = _now_iso()
        # A file's name may hold anything (a newline, ESC, undecodable bytes): the run's name shows it escaped.
        name = display_name(" ".join((name or source.stem).split()))[:MAX_NAME] or "imported"
        partial = self._record_from_metadata(meta, "x", name, "imported", source, None, sha, created)
        fields = {k: v for k, v in partial.raw.items() if k not in ("format", "id")}
        fields["reason"] = f"imported from {display_name(source)}"
        fields["finished"] = created
        curves = RunCurves.from_history(meta.get("history"), model.test_accuracy)
        record = self._add(fields, lambda target: self._copy(source, target, sha), curves)
        return record, True

    def _sha_of(self, record: RunRecord) -> str | None:
        if record.model_sha256 or record.folder is not None:
            return record.model_sha256
        with contextlib.suppress(OSError):   # the shipped file: hashed once per instance
            st = record.model_path.stat()
            if self._shipped_sha is None or self._shipped_sha[0] != (st.st_mtime_ns, st.st_size):
                self._shipped_sha = ((st.st_mtime_ns, st.st_size), file_sha256(record.model_path))
            return self._shipped_sha[1]
        return None

    @staticmethod
    def _copy(source: Path, target: Path, sha: str) -> None:
        def write(fh) -> None:
            digest = hashlib.sha256()
            with open_regular(source) as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    fh.write(block)
            if digest.hexdigest() != sha:
                raise LibraryError(f"{display_name(source)} changed while it was imported; try again")
        atomic_write(target, write)

    def _add(self, fields: dict, write_model: Callable[[Path], None], curves: RunCurves | None) -> RunRecord:
        folder = self._reserve()
        try:
            write_model(folder / MODEL)
            fields = {"format": RECORD_FORMAT, "id": folder.name, **fields}
            fields["model_sha256"] = fields.get("model_sha256") or file_sha256(folder / MODEL)
            if curves is not None:
                text = json.dumps(_jsonable(curves.to_json()), allow_nan=False, separators=(",", ":"))
                atomic_write(folder / CURVES, lambda fh: fh.write(text), "w")
            record_text = json.dumps(_jsonable(fields), allow_nan=False, indent=1)
            atomic_write(folder / RECORD, lambda fh: fh.write(record_text), "w")   # last: the run now exists
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)    # the library as it was
            if isinstance(exc, (OSError, ModelFileError)):
                raise LibraryError(f"cannot record the run in {self.folder}: {_reason(exc)}") from exc
            raise
        return self.get(folder.name)

    def _reserve(self) -> Path:
        """A new, empty run folder whose id nobody else can take (exclusive mkdir)."""
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {self.runs_dir}: {_reason(exc)}") from exc
        for _ in range(100):
            run_id = _new_id()
            try:
                (self.runs_dir / run_id).mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise LibraryError(f"cannot create a run folder in {self.runs_dir}: {_reason(exc)}") from exc
            return self.runs_dir / run_id
        raise LibraryError(f"no free run id in {self.runs_dir}")

    # -- changing runs --------------------------------------------------------------------------
    def rename(self, run_id: str, name: str) -> RunRecord:
        name = display_name(" ".join(str(name).split()))[:MAX_NAME]
        if not name:
            raise LibraryError("a run's name cannot be empty")
        return self._rewrite(run_id, {"name": name}, "rename the run")

    def update_metrics(self, run_id: str, metrics: dict) -> RunRecord:
        """Add or replace metrics of a run (e.g. a pen-drawn accuracy measured later)."""
        record = self._writable(run_id)
        return self._rewrite(run_id, {"metrics": {**record.metrics, **_jsonable(dict(metrics))}}, "update the run")

    def _writable(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        if record.readonly:
            raise LibraryError("the shipped model is read-only: it cannot be renamed, changed or deleted")
        return record

    def _rewrite(self, run_id: str, changes: dict, what: str) -> RunRecord:
        record = self._writable(run_id)
        text = json.dumps(_jsonable({**record.raw, **changes}), allow_nan=False, indent=1)
        self._write(record.folder / RECORD, lambda fh: fh.write(text), "w", what)
        return self.get(run_id)

    def delete(self, run_id: str) -> str:
        """Move a run to the trash (one atomic rename); returns the token :meth:`restore` takes."""
        record = self._writable(run_id)
        token = f"{record.id}.{int(time.time())}.{secrets.token_hex(3)}"
        try:
            self.trash_dir.mkdir(parents=True, exist_ok=True)
            os.rename(record.folder, self.trash_dir / token)
        except OSError as exc:
            raise LibraryError(f"cannot delete {record.name!r}: {_reason(exc)}") from exc
        self._cache.pop(record.id, None)
        return token

    def restore(self, token: str) -> RunRecord:
        """Undo a :meth:`delete`."""
        match = _TRASH.match(token)
        source = self.trash_dir / token
        if match is None or not source.is_dir():
            raise LibraryError("the deleted run is no longer in the trash")
        target = self.runs_dir / match.group(1)
        if target.exists():
            raise LibraryError(f"a run {match.group(1)} exists again; the deleted one stays in {source}")
        try:
            os.rename(source, target)
        except OSError as exc:
            raise LibraryError(f"cannot restore the run: {_reason(exc)}") from exc
        return self.get(match.group(1))

    def purge(self, token: str) -> None:
        """Remove a deleted run for good (a window does this for its deletions when it closes)."""
        if _TRASH.match(token):
            shutil.rmtree(self.trash_dir / token, ignore_errors=True)

    def _write(self, path: Path, writer, mode: str, what: str) -> None:
        try:
            atomic_write(path, writer, mode)
        except OSError as exc:
            raise LibraryError(f"cannot {what}: {path}: {_reason(exc)}") from exc


def _new_id() -> str:
    """The local time to the second, then the millisecond (3 hex digits) and a random part (3 more): sorts
    by starting time even within a second (a model imported as the window opens and a quick run started
    just after keep their order, so the Models panel inserts the run instead of rebuilding), and two
    programs starting a run in the same millisecond still differ (the exclusive mkdir settles the rest)."""
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{int(now % 1 * 1000):03x}{secrets.randbelow(16**3):03x}"


def _reason(exc: BaseException) -> str:
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
