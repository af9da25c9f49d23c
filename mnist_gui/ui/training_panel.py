"""The training panel: a preset, the hyper-parameters, Train / Pause / Stop and the progress bar.

Every field is checked as the user types. An invalid field turns red and explains itself in its
tooltip; the Train button is disabled and its tooltip gives the first reason, so a bad value is
refused before any work starts. The final word belongs to :meth:`TrainingConfig.validate`, which
also catches what no single field can see (a network too large to fit in memory).

The panel asks, the main window decides: Train emits ``train_requested(config)`` and the window puts
the panel in its loading/training state; Pause, Resume and Stop emit ``pause_requested``,
``resume_requested`` and ``stop_requested`` and switch the buttons at once (they always succeed).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from mnist_gui.errors import ConfigError
from mnist_gui.nn import ACTIVATIONS, OPTIMIZERS, SCHEDULES
from mnist_gui.training import BOUNDS, BatchProgress, TrainingConfig, parse_hidden
from mnist_gui.training.presets import DEFAULT_PRESET, PRESETS
from mnist_gui.ui.status_text import StatusText

INVALID_STYLE = "QLineEdit[invalid=\"true\"] { border: 1px solid #d0342c; background: #fdeceb; }"
IDLE, LOADING, TRAINING, PAUSED, STOPPING = "idle", "loading", "training", "paused", "stopping"


def _parse_limit(text: str) -> int | None:
    if text.strip().lower() in ("", "all"):
        return None
    return BOUNDS["limit"].parse(text, "limit")


# The text fields: field name -> (label, parser raising ConfigError, tooltip). The numeric limits and
# their messages come from the one table the CLI's validation reads too (training.BOUNDS).
FIELDS = {
    "hidden": ("Hidden layers", parse_hidden, "Units per hidden layer, comma-separated (e.g. 256,128)."),
    **{key: (label, (lambda text, key=key: BOUNDS[key].parse(text, key)), BOUNDS[key].hint)
       for key, label in (("lr", "Learning rate"), ("batch_size", "Batch size"), ("epochs", "Epochs"),
                          ("l2", "L2 decay"), ("dropout", "Dropout"), ("seed", "Seed"))},
    "limit": ("Training images", _parse_limit, BOUNDS["limit"].hint),
}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"


class TrainingPanel(QGroupBox):
    """Preset, hyper-parameters, buttons and progress. Emits requests; the window sets the state."""

    train_requested = Signal(object)   # TrainingConfig
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self.setStyleSheet(INVALID_STYLE)
        self._state = IDLE
        self._errors: dict[str, str] = {}
        self._config: TrainingConfig | None = None
        self._n_train: int | None = None   # training images of the dataset in use, once known

        self.preset_combo = QComboBox()
        for name, preset in PRESETS.items():
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, preset.summary, Qt.ItemDataRole.ToolTipRole)
        self.preset_summary = QLabel()
        self.preset_summary.setWordWrap(True)
        self.preset_summary.setStyleSheet("color: palette(dark); font-size: 9pt;")
        self.activation_combo = QComboBox()
        self.activation_combo.addItems(list(ACTIVATIONS))
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.schedule_combo = QComboBox()
        self.schedule_combo.addItems(list(SCHEDULES))
        self.edits: dict[str, QLineEdit] = {}
        for key, (_, _, tip) in FIELDS.items():
            edit = QLineEdit()
            edit.setObjectName(f"{key}Field")
            edit.setToolTip(tip)
            edit.textChanged.connect(self._revalidate)
            self.edits[key] = edit
        self.edits["limit"].setPlaceholderText("all")
        self.augment_check = QCheckBox("Augment training images")
        self.augment_check.setObjectName("augmentCheck")
        self.augment_check.setToolTip("Randomly rotate, scale, shear, shift and thicken each batch, "
                                      "like real handwriting:\nslower to learn, better on drawn digits.")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Preset", self.preset_combo)
        form.addRow(self.preset_summary)
        form.addRow(FIELDS["hidden"][0], self.edits["hidden"])
        form.addRow("Activation", self.activation_combo)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow(FIELDS["lr"][0], self.edits["lr"])
        form.addRow("LR schedule", self.schedule_combo)
        for key in ("batch_size", "epochs", "l2", "dropout", "seed", "limit"):
            form.addRow(FIELDS[key][0], self.edits[key])
        form.addRow(self.augment_check)

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            b.setMinimumHeight(30)
            buttons.addWidget(b)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainingProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("ready")
        self.progress_bar.setTextVisible(True)
        self.detail_label = StatusText(" ")   # a QLabel would re-lay-out the window at every tick
        self.detail_label.setObjectName("trainingDetail")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.detail_label)
        layout.addStretch(1)

        self.train_button.clicked.connect(self.request_train)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.request_stop)
        self.preset_combo.currentTextChanged.connect(self.apply_preset)
        for combo in (self.activation_combo, self.optimizer_combo, self.schedule_combo):
            combo.currentTextChanged.connect(self._revalidate)
        self.augment_check.toggled.connect(self._revalidate)
        self.apply_preset(DEFAULT_PRESET)
        self.set_state(IDLE)

    # -- values -----------------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Fill every field from a preset."""
        preset = PRESETS.get(name) or PRESETS[DEFAULT_PRESET]
        if self.preset_combo.currentText() != preset.name:
            self.preset_combo.setCurrentText(preset.name)   # re-enters through currentTextChanged
            return
        cfg = preset.config
        self.preset_summary.setText(preset.summary)
        self.activation_combo.setCurrentText(cfg.activation)
        self.optimizer_combo.setCurrentText(cfg.optimizer)
        self.schedule_combo.setCurrentText(cfg.schedule)
        for key, edit in self.edits.items():
            edit.setText(_fmt(getattr(cfg, key)))
        self.augment_check.setChecked(cfg.augment)
        self._revalidate()

    def set_field(self, key: str, text: str) -> None:
        """Type ``text`` into one field (as a user would); for scripts and tests."""
        self.edits[key].setText(text)

    def config(self) -> TrainingConfig | None:
        """The configuration the fields describe, or None while any field is invalid."""
        return self._config

    def errors(self) -> dict[str, str]:
        """Field name -> why it is invalid; ``"dataset"`` when the dataset cannot hold the run (too few
        images for the validation split)."""
        return dict(self._errors)

    def validation_size(self) -> int:
        """Images a run from this panel holds out for validation (the preset's: no field sets it)."""
        return PRESETS[self.preset_combo.currentText()].config.val_size

    def set_dataset_size(self, n_train: int | None) -> None:
        """The number of training images of the dataset in use (None: not known yet): a run that
        cannot train on it (its validation split would take them all) disables Train, saying why."""
        self._n_train = n_train
        self._revalidate()

    def _revalidate(self, *_) -> None:
        errors: dict[str, str] = {}
        values = {}
        for key, (_, parse, _) in FIELDS.items():
            try:
                values[key] = parse(self.edits[key].text())
            except ConfigError as exc:
                errors[key] = str(exc)
        config = None
        if not errors:
            preset = PRESETS[self.preset_combo.currentText()]
            values.update(activation=self.activation_combo.currentText(),
                          optimizer=self.optimizer_combo.currentText(),
                          schedule=self.schedule_combo.currentText(),
                          augment=self.augment_check.isChecked())
            config = replace(preset.config, **values)
            # The preset's name is kept only while the run is exactly that preset.
            config = replace(config, preset=preset.name if config == preset.config else None)
            try:
                config.validate(n_train=self._n_train)
            except ConfigError as exc:   # what no single field can see (a network too large to train)
                key = exc.field if exc.field in self.edits else "dataset" if exc.field == "val_size" else "hidden"
                errors[key] = str(exc)
                config = None
        self._errors, self._config = errors, config
        for key, edit in self.edits.items():
            invalid = key in errors
            if edit.property("invalid") != invalid:
                edit.setProperty("invalid", invalid)
                edit.style().unpolish(edit)
                edit.style().polish(edit)
            edit.setToolTip(errors[key] if invalid else FIELDS[key][2])
        self._update_buttons()

    # -- state ------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        self._state = state
        editable = state == IDLE
        for w in (self.preset_combo, self.activation_combo, self.optimizer_combo, self.schedule_combo,
                  self.augment_check, *self.edits.values()):
            w.setEnabled(editable)
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self.pause_button.setEnabled(state in (TRAINING, PAUSED))
        self.stop_button.setEnabled(state in (LOADING, TRAINING, PAUSED))
        if state == LOADING:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("loading the dataset…")
        elif state == STOPPING:
            self.progress_bar.setFormat("stopping… (measuring test accuracy)")
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self._state != IDLE:
            self.train_button.setEnabled(False)
            self.train_button.setToolTip("training is in progress")
        elif self._errors:
            self.train_button.setEnabled(False)
            self.train_button.setToolTip("Cannot train: " + next(iter(self._errors.values())))
        else:
            self.train_button.setEnabled(True)
            self.train_button.setToolTip("Train a new network with these settings (the current model stays "
                                         "loaded until training ends)")

    # What the buttons (and the window's menu and shortcuts) do; each is a no-op when its button is off.
    def request_train(self) -> None:
        if self._state == IDLE and self._config is not None:
            self.train_requested.emit(self._config)

    def toggle_pause(self) -> None:
        if self._state == TRAINING:
            self.set_state(PAUSED)
            self.pause_requested.emit()
        elif self._state == PAUSED:
            self.set_state(TRAINING)
            self.resume_requested.emit()

    def request_stop(self) -> None:
        if self._state in (LOADING, TRAINING, PAUSED):
            self.set_state(STOPPING)
            self.stop_requested.emit()

    # -- progress ---------------------------------------------------------------------------------
    def show_started(self, info) -> None:
        """The job built the network (a :class:`~mnist_gui.jobs.TrainingStarted`)."""
        if self._state == LOADING:
            self.set_state(TRAINING)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("starting…")
        self.detail_label.setText(f"{info.description} · {info.n_params:,} parameters · {info.n_train:,} images")

    def show_progress(self, ev: BatchProgress) -> None:
        self.progress_bar.setValue(int(1000 * ev.step / max(1, ev.total_steps)))
        self.progress_bar.setFormat(f"epoch {ev.epoch}/{ev.epochs} · batch {ev.batch}/{ev.batches}")
        self.detail_label.setText(f"{ev.samples_per_second:,.0f} images/s · {_duration(ev.eta)} left · "
                                  f"loss {ev.smoothed_loss:.3f}" + (" · paused" if self._state == PAUSED else ""))

    def show_finished(self, result) -> None:
        """The run's :class:`~mnist_gui.training.TrainingFinished`: full bar if completed, and the summary."""
        if result.status == "completed":
            self.progress_bar.setValue(self.progress_bar.maximum())
        self.progress_bar.setFormat(("done" if result.status == "completed" else result.status) + " · %p%")
        self.detail_label.setText(f"{result.reason} · test accuracy {result.test_accuracy:.2%} · "
                                  f"{result.train_seconds:.1f} s, {result.samples_per_second:,.0f} images/s")

    def show_failed(self, message: str) -> None:
        self.progress_bar.setFormat("failed")
        self.detail_label.setText(message)

    # -- settings ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"preset": self.preset_combo.currentText(), "activation": self.activation_combo.currentText(),
                "optimizer": self.optimizer_combo.currentText(), "schedule": self.schedule_combo.currentText(),
                "augment": self.augment_check.isChecked(),
                **{key: edit.text() for key, edit in self.edits.items()}}

    def restore(self, d: dict) -> None:
        """Restore fields saved by :meth:`state_dict`; unknown or missing entries are ignored."""
        if not isinstance(d, dict):
            return
        text = {key: value for key, value in d.items() if isinstance(value, str) and len(value) <= 1000}
        if text.get("preset") in PRESETS:
            self.apply_preset(text["preset"])
        for combo, key in ((self.activation_combo, "activation"), (self.optimizer_combo, "optimizer"),
                           (self.schedule_combo, "schedule")):
            if key in text and combo.findText(text[key]) >= 0:
                combo.setCurrentText(text[key])
        for key, edit in self.edits.items():
            if key in text:
                edit.setText(text[key])
        if isinstance(d.get("augment"), bool):
            self.augment_check.setChecked(d["augment"])
        self._revalidate()
